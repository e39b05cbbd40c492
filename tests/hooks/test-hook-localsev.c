/*
 * The hook's gatekeeper for local SEV launches, end to end through the hook executable: a
 * launch prepared by the local SEV flow (fake host played by the software PSP) starts once;
 * the same session a second time, a changed session, policy, disk or firmware are refused
 * with the input named.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <gio/gio.h>
#include <string.h>

#include "ac-localsev.h"
#include "ac-sev-host-fake.h"
#include "ac-sev-psp.h"
#include "ac-tag.h"

static gchar *tmpdir;
static AcSevPsp *psp;

static gchar *
data_path (const gchar *rel)
{
	return g_test_build_filename (G_TEST_DIST, "data", "localsev", rel, NULL);
}

static gint
run_hook (const gchar *state_dir, const gchar *xml, gchar **err)
{
	g_autofree gchar *hook = g_test_build_filename (G_TEST_BUILT, "..", "hooks", "aleph-hook", NULL);
	g_autofree gchar *module = g_test_build_filename (G_TEST_BUILT, "..", "plugin", "module",
							  "libaleph-confidential.so", NULL);
	g_autofree gchar *conf_path = g_build_filename (tmpdir, "hook.conf", NULL);
	g_autofree gchar *conf = g_strdup_printf ("[hook]\nmodule=%s\nhost-sev=yes\nstate-dir=%s\n", module, state_dir);
	g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDIN_PIPE |
									      G_SUBPROCESS_FLAGS_STDOUT_SILENCE |
									      G_SUBPROCESS_FLAGS_STDERR_PIPE);
	g_autoptr(GSubprocess) proc = NULL;
	g_autoptr(GError) error = NULL;

	g_assert_true (g_file_set_contents (conf_path, conf, -1, NULL));
	g_subprocess_launcher_set_environ (launcher, NULL);
	g_subprocess_launcher_setenv (launcher, "ALEPH_CONFIDENTIAL_HOOK_CONF", conf_path, TRUE);
	proc = g_subprocess_launcher_spawn (launcher, &error, hook, "conf-vm", "prepare", "begin", "-", NULL);
	g_assert_no_error (error);
	g_assert_true (g_subprocess_communicate_utf8 (proc, xml, NULL, NULL, err, &error));
	g_assert_no_error (error);
	return g_subprocess_get_exit_status (proc);
}

/* A prepared launch: returns the domain XML the service would define. */
static gchar *
prepare (const gchar *state_dir)
{
	g_autofree gchar *tmpl = NULL;
	g_autofree gchar *fw_src = data_path ("ovmf-amdsev.fd");
	g_autofree gchar *firmware = g_build_filename (state_dir, "AMDSEV.fd", NULL);
	g_autofree gchar *disk = g_build_filename (state_dir, "disk.img", NULL);
	g_autofree gchar *in = data_path ("domain.xml.in");
	g_autofree gchar *fw = NULL;
	g_autofree gchar *sha = NULL;
	gsize len = 0;
	g_autoptr(GString) s = NULL;
	g_autoptr(AcTag) tag = NULL;
	g_autoptr(AcSevHostFake) fake = ac_sev_host_fake_new (psp, 51, 1);
	g_autoptr(AcLocalsevOptions) opts = ac_localsev_options_new (state_dir);
	g_autoptr(AcLocalsevPrepared) prepared = NULL;
	g_autoptr(GError) error = NULL;

	g_assert_true (g_file_get_contents (fw_src, &fw, &len, NULL));
	g_assert_true (g_file_set_contents (firmware, fw, (gssize)len, NULL));
	g_assert_true (g_file_set_contents (disk, "disk", -1, NULL));
	sha = g_compute_checksum_for_data (G_CHECKSUM_SHA256, (const guchar *)fw, len);
	g_assert_true (g_file_get_contents (in, &tmpl, NULL, NULL));
	s = g_string_new (tmpl);
	g_string_replace (s, "@POLICY@", "0x1", 0);
	g_string_replace (s, "@SHA256@", sha, 0);
	g_string_replace (s, "@FIRMWARE@", firmware, 0);
	g_string_replace (s, "@DISK@", disk, 0);
	g_string_replace (s, "@VCPUS@", "1", 0);
	tag = ac_tag_parse (s->str, -1, NULL, &error);
	g_assert_no_error (error);
	opts->roots = ac_sev_roots_new ();
	g_assert_true (ac_sev_roots_add (opts->roots, "test-platform", ac_sev_psp_get_ark (psp),
					 ac_sev_psp_get_ask (psp), &error));
	prepared = ac_localsev_prepare (AC_SEV_HOST (fake), opts, tag, s->str, NULL, &error);
	g_assert_no_error (error);
	return g_strdup (prepared->domain_xml);
}

static void
test_prepared_starts_once (void)
{
	g_autofree gchar *state = g_build_filename (tmpdir, "once", NULL);
	g_autofree gchar *xml = NULL;
	g_autofree gchar *err = NULL;
	g_autofree gchar *err2 = NULL;

	g_assert_cmpint (g_mkdir_with_parents (state, 0700), ==, 0);
	xml = prepare (state);
	g_assert_cmpint (run_hook (state, xml, &err), ==, 0);
	g_assert_cmpstr (err, ==, "");
	/* a session is good for one launch */
	g_assert_cmpint (run_hook (state, xml, &err2), ==, 3);
	g_assert_nonnull (strstr (err2, "refusing to start domain 'conf-vm'"));
}

static void
test_tampered (gconstpointer data)
{
	const gchar *what = data;
	g_autofree gchar *state = g_build_filename (tmpdir, what, NULL);
	g_autofree gchar *xml = NULL;
	g_autofree gchar *err = NULL;
	g_autoptr(GString) s = NULL;

	g_assert_cmpint (g_mkdir_with_parents (state, 0700), ==, 0);
	xml = prepare (state);
	s = g_string_new (xml);
	if (g_strcmp0 (what, "session") == 0) {
		/* flip one base64 character of the session blob */
		gchar *p = strstr (s->str, "<session>");
		g_assert_nonnull (p);
		p += strlen ("<session>") + 10;
		*p = *p == 'A' ? 'B' : 'A';
	} else if (g_strcmp0 (what, "disk") == 0) {
		g_assert_cmpuint (g_string_replace (s, "disk.img", "other.img", 0), ==, 1);
	} else if (g_strcmp0 (what, "firmware") == 0) {
		g_assert_cmpuint (g_string_replace (s, "AMDSEV.fd</loader>", "OVMF.fd</loader>", 0), ==, 1);
	}
	g_assert_cmpint (run_hook (state, s->str, &err), ==, 3);
	g_assert_nonnull (strstr (err, "refusing to start domain 'conf-vm'"));
	g_test_message ("%s: %s", what, err);
	g_assert_nonnull (strstr (err, what));
}

int
main (int argc, char **argv)
{
	g_autofree gchar *platform = NULL;
	g_autoptr(GError) error = NULL;
	int rc;

	g_test_init (&argc, &argv, NULL);
	platform = data_path ("platform");
	psp = ac_sev_psp_load (platform, &error);
	g_assert_no_error (error);
	tmpdir = g_dir_make_tmp ("ac-test-hook-localsev-XXXXXX", NULL);
	g_test_add_func ("/hook/localsev/prepared-starts-once", test_prepared_starts_once);
	g_test_add_data_func ("/hook/localsev/tampered/session", "session", test_tampered);
	g_test_add_data_func ("/hook/localsev/tampered/disk", "disk", test_tampered);
	g_test_add_data_func ("/hook/localsev/tampered/firmware", "firmware", test_tampered);
	rc = g_test_run ();
	{
		g_autofree gchar *cmd = g_strdup_printf ("rm -rf '%s'", tmpdir);
		(void)!system (cmd);
	}
	ac_sev_psp_free (psp);
	return rc;
}
