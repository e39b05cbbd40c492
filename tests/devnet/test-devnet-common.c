/*
 * aleph-confidential: helpers of the devnet tests.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <sys/prctl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib/gstdio.h>

#include "ac-aleph-util.h"
#include "ac-error.h"
#include "test-devnet-common.h"
#include "../test-util.h"

static gchar *shared_dir = NULL;

static void
shared_dir_cleanup (void)
{
	if (shared_dir != NULL && g_getenv ("AC_TEST_KEEP") == NULL)
		test_util_rm_rf (shared_dir);
}

const gchar *
test_shared_dir (void)
{
	if (shared_dir == NULL) {
		shared_dir = test_util_mkdtemp ("ac-devnet-test-XXXXXX");
		atexit (shared_dir_cleanup);
	}
	return shared_dir;
}

static const gchar *
member (JsonNode *n, const gchar *name)
{
	return json_object_get_string_member_with_default (json_node_get_object (n), name, NULL);
}

/* the devnet dies with the test process, even when a test aborts */
static void
child_setup (gpointer user_data)
{
	prctl (PR_SET_PDEATHSIG, SIGTERM);
}

TestDevnet *
test_devnet_start (const gchar *config_members, guint n_crns, GError **error)
{
	return test_devnet_start_in (NULL, config_members, n_crns, error);
}

TestDevnet *
test_devnet_start_in (const gchar *dir, const gchar *config_members, guint n_crns, GError **error)
{
	g_autoptr (TestDevnet) d = g_new0 (TestDevnet, 1);
	g_autofree gchar *config = NULL;
	g_autofree gchar *cfgpath = NULL;
	g_autofree gchar *root_dir = g_build_filename (test_shared_dir (), "devnet-root", NULL);
	const gchar *binary = g_getenv ("ALEPH_DEVNET");
	GString *line = g_string_new (NULL);
	gint64 start, deadline;
	JsonArray *crns;
	gchar *argv[4];

	g_assert_nonnull (binary);
	d->stdout_fd = -1;
	if (dir != NULL) {
		d->dir = g_strdup (dir);
	} else {
		d->dir = g_build_filename (test_shared_dir (), "devnet-XXXXXX", NULL);
		g_assert_nonnull (g_mkdtemp (d->dir));
	}
	config = g_strdup_printf (
	    "{\"state_dir\": \"state\", \"root_dir\": \"%s\", \"crns\": %u%s%s}", root_dir, n_crns,
	    config_members[0] != '\0' ? ", " : "", config_members);
	cfgpath = g_build_filename (d->dir, "devnet.json", NULL);
	g_assert_true (g_file_set_contents (cfgpath, config, -1, NULL));
	argv[0] = (gchar *)binary;
	argv[1] = (gchar *)"--config";
	argv[2] = cfgpath;
	argv[3] = NULL;
	start = g_get_monotonic_time ();
	if (!g_spawn_async_with_pipes (d->dir, argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD, child_setup,
	                               NULL, &d->pid, NULL, &d->stdout_fd, NULL, error)) {
		g_string_free (line, TRUE);
		return NULL;
	}
	/* the ready line */
	deadline = start + 20 * G_USEC_PER_SEC;
	while (strchr (line->str, '\n') == NULL) {
		struct pollfd p = { d->stdout_fd, POLLIN, 0 };
		gint64 left = (deadline - g_get_monotonic_time ()) / 1000;
		gchar buf[4096];
		ssize_t n;
		if (left <= 0 || poll (&p, 1, (int)left) <= 0) {
			g_set_error (error, AC_ERROR, AC_ERROR_NETWORK,
			             "aleph-devnet printed no ready line");
			g_string_free (line, TRUE);
			return NULL;
		}
		n = read (d->stdout_fd, buf, sizeof (buf));
		if (n <= 0) {
			g_set_error (error, AC_ERROR, AC_ERROR_INTERNAL,
			             "aleph-devnet exited before it was ready");
			g_string_free (line, TRUE);
			return NULL;
		}
		g_string_append_len (line, buf, n);
	}
	d->startup_us = g_get_monotonic_time () - start;
	d->ready = json_from_string (line->str, error);
	g_string_free (line, TRUE);
	if (d->ready == NULL)
		return NULL;
	d->ccn = member (d->ready, "ccn");
	d->admin = member (d->ready, "admin");
	d->crn_list = member (d->ready, "crn_list");
	d->ark = json_object_get_string_member (
	    json_object_get_object_member (json_node_get_object (d->ready), "trust_root"), "ark");
	d->ask = json_object_get_string_member (
	    json_object_get_object_member (json_node_get_object (d->ready), "trust_root"), "ask");
	d->fw_item_hash = json_object_get_string_member (
	    json_object_get_object_member (json_node_get_object (d->ready), "firmware"),
	    "item_hash");
	d->fw_sha256 = json_object_get_string_member (
	    json_object_get_object_member (json_node_get_object (d->ready), "firmware"), "sha256");
	crns = json_object_get_array_member (json_node_get_object (d->ready), "crns");
	d->n_crns = json_array_get_length (crns);
	for (guint i = 0; i < d->n_crns && i < 8; i++) {
		JsonObject *c = json_array_get_object_element (crns, i);
		d->crn_url[i] = json_object_get_string_member (c, "url");
		d->crn_hash[i] = json_object_get_string_member (c, "hash");
	}
	d->http = ac_http_client_new ();
	ac_http_client_set_retries (d->http, 3, 20);
	return g_steal_pointer (&d);
}

gint
test_devnet_stop (TestDevnet *d)
{
	gint64 deadline;
	int status = 0;
	if (d->pid == 0)
		return -1;
	kill (d->pid, SIGTERM);
	deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
	while (g_get_monotonic_time () < deadline) {
		pid_t r = waitpid (d->pid, &status, WNOHANG);
		if (r == d->pid) {
			d->pid = 0;
			return WIFEXITED (status) ? WEXITSTATUS (status) : 128 + WTERMSIG (status);
		}
		g_usleep (10000);
	}
	return -1;
}

void
test_devnet_free (TestDevnet *d)
{
	if (d == NULL)
		return;
	if (d->pid != 0) {
		kill (d->pid, SIGKILL);
		waitpid (d->pid, NULL, 0);
	}
	if (d->stdout_fd >= 0)
		close (d->stdout_fd);
	if (d->http != NULL)
		ac_http_client_free (d->http);
	if (d->ready != NULL)
		json_node_unref (d->ready);
	g_free (d->dir);
	g_free (d);
}

JsonNode *
test_devnet_admin (TestDevnet *d,
                   const gchar *method,
                   const gchar *path,
                   const gchar *body,
                   guint *status)
{
	g_autofree gchar *url = g_strdup_printf ("%s%s", d->admin, path);
	g_autoptr (GBytes) b = body != NULL ? g_bytes_new (body, strlen (body)) : NULL;
	g_autoptr (GError) error = NULL;
	g_autoptr (AcHttpResponse) r
	    = ac_http_request (d->http, method, url, NULL, body != NULL ? "application/json" : NULL,
	                       b, AC_HTTP_ACCEPT_ANY_STATUS, &error);
	const gchar *data;
	gsize len;
	g_assert_no_error (error);
	if (status != NULL)
		*status = r->status;
	data = ac_http_response_get_data (r, &len);
	{
		g_autofree gchar *text = g_strndup (data, len);
		JsonNode *n = json_from_string (text, &error);
		g_assert_no_error (error);
		g_assert_nonnull (n);
		return n;
	}
}

gint64
test_devnet_vm_counter (TestDevnet *d, const gchar *vm_hash, const gchar *field)
{
	g_autofree gchar *path = g_strdup_printf ("/admin/vms/%s", vm_hash);
	guint status = 0;
	g_autoptr (JsonNode) n = test_devnet_admin (d, "GET", path, NULL, &status);
	JsonArray *vms;
	gint64 sum = 0;
	if (status == 404)
		return 0;
	g_assert_cmpuint (status, ==, 200);
	vms = json_object_get_array_member (json_node_get_object (n), "vms");
	for (guint i = 0; i < json_array_get_length (vms); i++)
		sum += json_object_get_int_member (json_array_get_object_element (vms, i), field);
	return sum;
}

gint64
test_devnet_stat (TestDevnet *d, const gchar *endpoint, const gchar *field)
{
	g_autoptr (JsonNode) n = test_devnet_admin (d, "GET", "/admin/stats", NULL, NULL);
	return json_object_get_int_member (
	    json_object_get_object_member (json_node_get_object (n), endpoint), field);
}

GBytes *
test_devnet_http (TestDevnet *d, const gchar *method, const gchar *url, guint *status)
{
	g_autoptr (GError) error = NULL;
	g_autoptr (AcHttpResponse) r = ac_http_request (d->http, method, url, NULL, NULL, NULL,
	                                                AC_HTTP_ACCEPT_ANY_STATUS, &error);
	const gchar *data;
	gsize len = 0;
	g_assert_no_error (error);
	*status = r->status;
	data = ac_http_response_get_data (r, &len);
	return g_bytes_new (data, len);
}

static void
run (const gchar *const *argv, const gchar *stdin_path)
{
	g_autoptr (GError) error = NULL;
	g_autofree gchar *err = NULL;
	gint status = 0;
	g_assert_true (g_spawn_sync (NULL, (gchar **)argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL,
	                             NULL, &err, &status, &error));
	g_assert_no_error (error);
	if (!g_spawn_check_wait_status (status, NULL))
		g_error ("%s failed: %s", argv[0], err);
}

static void
run_stdin (const gchar *const *argv, const gchar *text)
{
	g_autoptr (GSubprocess) p = g_subprocess_newv (
	    argv, G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE, NULL);
	g_autoptr (GError) error = NULL;
	g_autofree gchar *err = NULL;
	g_assert_nonnull (p);
	g_assert_true (g_subprocess_communicate_utf8 (p, text, NULL, NULL, &err, &error));
	g_assert_no_error (error);
	if (!g_subprocess_get_successful (p))
		g_error ("%s failed: %s", argv[0], err);
}

gchar *
test_make_image (const gchar *dir, const gchar *name, const gchar *passphrase, guint size_mib)
{
	g_autofree gchar *img = g_build_filename (dir, name, NULL);
	g_autofree gchar *p2 = g_strdup_printf ("%s.p2", img);
	g_autofree gchar *size = g_strdup_printf ("%uM", size_mib);
	g_autofree gchar *seek = g_strdup_printf ("of=%s", img);
	g_autofree gchar *iff = g_strdup_printf ("if=%s", p2);
	const gchar *truncate_img[] = { "truncate", "-s", size, img, NULL };
	const gchar *truncate_p2[] = { "truncate", "-s", "3M", p2, NULL };
	const gchar *sfdisk[] = { "sfdisk", "-q", img, NULL };
	g_autofree gchar *keyfile = g_strdup_printf ("%s.key", img);
	const gchar *luks[] = { "cryptsetup", "luksFormat", "--batch-mode",
		                "--type",     "luks1",      "--pbkdf-force-iterations",
		                "1000",       "--hash",     "sha256",
		                "--key-file", keyfile,      p2,
		                NULL };
	const gchar *dd[]
	    = { "dd", "status=none", "bs=512", "seek=4096", "conv=notrunc", iff, seek, NULL };

	g_assert_cmpuint (size_mib, >=, 6);
	run (truncate_img, NULL);
	run_stdin (sfdisk, "label: gpt\n"
	                   "start=2048, size=2048, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B\n"
	                   "start=4096, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4\n");
	run (truncate_p2, NULL);
	/* the passphrase goes through a 0600 file, never argv */
	g_assert_true (g_file_set_contents_full (keyfile, passphrase, -1, G_FILE_SET_CONTENTS_NONE,
	                                         0600, NULL));
	run (luks, NULL);
	g_unlink (keyfile);
	run (dd, NULL);
	g_unlink (p2);
	return g_steal_pointer (&img);
}

gboolean
test_devnet_publish (AcCcnClient *ccn,
                     AcEthAccount *account,
                     AcAlephMessage *msg,
                     guint timeout_ms,
                     GError **error)
{
	g_autoptr (AcMessageInfo) info = NULL;
	AcPostResult res = { 0 };
	gboolean ok;

	if (!ac_aleph_message_sign (msg, account, error))
		return FALSE;
	ok = ac_ccn_post_message (ccn, msg, TRUE, &res, error);
	ac_post_result_clear (&res);
	if (!ok)
		return FALSE;
	info = ac_ccn_wait_processed (ccn, msg->item_hash, timeout_ms, NULL, error);
	return info != NULL;
}
