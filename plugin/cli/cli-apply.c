/*
 * virt-aleph apply: the Aleph flow of a domain in the foreground, with progress.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <glib-unix.h>
#include <stdio.h>

#include "ac-cli.h"
#include "ac-localsev-service.h"
#include "ac-sev-host-libvirt.h"
#include "ac-pipeline.h"
#include "ac-progress.h"
#include "ac-status.h"
#include "ac-tag.h"
#include "ac-virt.h"

typedef struct {
	virDomainPtr dom;
	AcCliGlobal *global;
} ApplyCtx;

/* The configuration, the connection and the one DOMAIN argument of a pipeline command. */
static gboolean
pipeline_open (AcCliGlobal *global,
	       const gchar *command,
	       int argc,
	       char **argv,
	       const gchar *config_path,
	       AcPipelineConfig **config,
	       virConnectPtr *conn,
	       virDomainPtr *dom,
	       GError **error)
{
	if (argc != 2) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			     "%s: expected one DOMAIN, got %d arguments", command, argc - 1);
		return FALSE;
	}
	*config = ac_pipeline_config_load (config_path != NULL ? config_path : AC_DAEMON_CONF, error);
	if (*config == NULL)
		return FALSE;
	ac_virt_init ();
	*conn = ac_virt_connect (ac_cli_get_uri (global), error);
	if (*conn == NULL)
		return FALSE;
	*dom = ac_virt_lookup_domain (*conn, argv[1], error);
	return *dom != NULL;
}

static void
apply_status (const AcStatus *status, gpointer user_data)
{
	ApplyCtx *ctx = user_data;
	g_autofree gchar *text = ac_status_format (status);
	g_autoptr(AcStatus) copy = ac_status_parse (text, -1, NULL);
	g_autoptr(GError) error = NULL;
	g_autofree gchar *xml = NULL;

	if (copy == NULL)
		return;
	ac_status_touch (copy);
	g_free (text);
	text = ac_status_format (copy);
	if (!ac_virt_set_metadata (ctx->dom, AC_STATUS_PREFIX, AC_STATUS_NS, text, &error))
		g_printerr ("virt-aleph: warning: %s\n", error->message);
	if (ctx->global->json) {
		/* the same step events the status element records, as NDJSON */
		printf ("{\"event\":\"status\",\"state\":\"%s\",\"step\":\"%s\",\"progress\":%u}\n",
			copy->state, copy->step != NULL ? copy->step : "", copy->progress);
		fflush (stdout);
	}
}

static gboolean
on_signal (gpointer data)
{
	g_cancellable_cancel (data);
	return G_SOURCE_CONTINUE;
}

typedef struct {
	const AcPipelineConfig *config;
	virConnectPtr conn;
	ApplyCtx *ctx;
	AcProgress *progress;
	GError *error;
	gboolean ok;
	GMainLoop *loop;
} ApplyRun;

static void
apply_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
	ApplyRun *run = data;
	run->ok = ac_pipeline_run (run->config, run->conn, run->ctx->dom, apply_status, run->ctx,
				   run->progress, cancellable, &run->error);
	g_task_return_boolean (task, run->ok);
}

static void
apply_done (GObject *source, GAsyncResult *res, gpointer data)
{
	ApplyRun *run = data;
	g_main_loop_quit (run->loop);
}

int
ac_cli_cmd_apply (AcCliGlobal *global, int argc, char **argv)
{
	g_autofree gchar *config_path = NULL;
	g_autoptr(GOptionContext) ctx = ac_cli_option_context_new (global, "DOMAIN",
		"Run the Aleph flow of DOMAIN in the foreground: build the encrypted image, publish "
		"it and the instance, attest the CRN and inject the passphrase. Resumes where an "
		"earlier run (or virt-alephd) stopped; the status element follows every step.");
	const GOptionEntry entries[] = {
		{ "config", 0, 0, G_OPTION_ARG_FILENAME, &config_path,
		  "configuration ([pipeline] group; default " AC_DAEMON_CONF ")", "FILE" },
		{ NULL },
	};
	g_autoptr(GError) error = NULL;
	g_autoptr(virConnect) conn = NULL;
	g_autoptr(virDomain) dom = NULL;
	g_autoptr(AcPipelineConfig) config = NULL;
	g_autoptr(AcProgress) progress = NULL;
	g_autoptr(GCancellable) cancellable = g_cancellable_new ();
	g_autoptr(GTask) task = NULL;
	g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
	ApplyCtx actx = { 0 };
	ApplyRun run = { 0 };
	guint sigint, sigterm;

	g_option_context_add_main_entries (ctx, entries, NULL);
	if (!ac_cli_parse (ctx, &argc, &argv, &error))
		return ac_cli_fail (global, g_steal_pointer (&error));
	if (!pipeline_open (global, "apply", argc, argv, config_path, &config, &conn, &dom, &error))
		return ac_cli_fail (global, g_steal_pointer (&error));

	progress = ac_progress_new ("apply");
	ac_progress_set_output (progress, ac_progress_output_pick (global->json, global->quiet, stderr),
				global->json ? stdout : stderr);
	actx.dom = dom;
	actx.global = global;
	run.config = config;
	run.conn = conn;
	run.ctx = &actx;
	run.progress = progress;
	run.loop = loop;
	sigint = g_unix_signal_add (SIGINT, on_signal, cancellable);
	sigterm = g_unix_signal_add (SIGTERM, on_signal, cancellable);
	task = g_task_new (NULL, cancellable, apply_done, &run);
	g_task_set_task_data (task, &run, NULL);
	g_task_run_in_thread (task, apply_thread);
	g_main_loop_run (loop);
	g_source_remove (sigint);
	g_source_remove (sigterm);
	if (!run.ok)
		return ac_cli_fail (global, run.error);
	if (!global->quiet && !global->json)
		printf ("Domain '%s' runs on Aleph; see 'virt-aleph status %s'\n", argv[1], argv[1]);
	return AC_EXIT_OK;
}

/* ---- operations on the published instance ----------------------------------------------- */

static int
instance_command (AcCliGlobal *global, int argc, char **argv, const gchar *summary, const gchar *op)
{
	g_autofree gchar *config_path = NULL;
	g_autofree gchar *reason = NULL;
	gboolean image = FALSE;
	g_autoptr(GOptionContext) ctx = ac_cli_option_context_new (global, "DOMAIN", summary);
	const GOptionEntry entries[] = {
		{ "config", 0, 0, G_OPTION_ARG_FILENAME, &config_path,
		  "configuration ([pipeline] group; default " AC_DAEMON_CONF ")", "FILE" },
		{ NULL },
	};
	const GOptionEntry forget_entries[] = {
		{ "image", 0, 0, G_OPTION_ARG_NONE, &image, "forget the image's STORE too", NULL },
		{ "reason", 0, 0, G_OPTION_ARG_STRING, &reason, "reason recorded in the FORGET", "TEXT" },
		{ NULL },
	};
	g_autoptr(GError) error = NULL;
	g_autoptr(virConnect) conn = NULL;
	g_autoptr(virDomain) dom = NULL;
	g_autoptr(AcPipelineConfig) config = NULL;
	ApplyCtx actx = { 0 };
	gboolean ok;

	g_option_context_add_main_entries (ctx, entries, NULL);
	if (g_strcmp0 (op, "forget") == 0)
		g_option_context_add_main_entries (ctx, forget_entries, NULL);
	if (!ac_cli_parse (ctx, &argc, &argv, &error))
		return ac_cli_fail (global, g_steal_pointer (&error));
	if (!pipeline_open (global, op, argc, argv, config_path, &config, &conn, &dom, &error))
		return ac_cli_fail (global, g_steal_pointer (&error));
	actx.dom = dom;
	actx.global = global;
	if (g_strcmp0 (op, "forget") == 0)
		ok = ac_pipeline_forget (config, conn, dom, image, reason, apply_status, &actx, &error);
	else
		ok = ac_pipeline_operate (config, conn, dom, op, apply_status, &actx, &error);
	if (!ok)
		return ac_cli_fail (global, g_steal_pointer (&error));
	if (!global->quiet && !global->json)
		printf ("%s: done for domain '%s'\n", op, argv[1]);
	return AC_EXIT_OK;
}

int
ac_cli_cmd_stop (AcCliGlobal *global, int argc, char **argv)
{
	return instance_command (global, argc, argv, "Stop the domain's instance on its CRN.", "stop");
}

int
ac_cli_cmd_reboot (AcCliGlobal *global, int argc, char **argv)
{
	return instance_command (global, argc, argv,
				 "Reboot the domain's instance on its CRN; the service attests the new "
				 "launch before the passphrase goes again.",
				 "reboot");
}

int
ac_cli_cmd_erase (AcCliGlobal *global, int argc, char **argv)
{
	return instance_command (global, argc, argv,
				 "Erase the domain's instance from its CRN (its disk there is deleted; "
				 "the local image and the domain stay).",
				 "erase");
}

int
ac_cli_cmd_forget (AcCliGlobal *global, int argc, char **argv)
{
	return instance_command (global, argc, argv,
				 "Post a FORGET message for the domain's INSTANCE (with --image, its "
				 "image's STORE too).",
				 "forget");
}

int
ac_cli_cmd_logs (AcCliGlobal *global, int argc, char **argv)
{
	g_autofree gchar *config_path = NULL;
	g_autoptr(GOptionContext) ctx = ac_cli_option_context_new (global, "DOMAIN",
		"Show the event log of the domain's pipeline (steps, errors; never secrets).");
	const GOptionEntry entries[] = {
		{ "config", 0, 0, G_OPTION_ARG_FILENAME, &config_path,
		  "configuration ([pipeline] group; default " AC_DAEMON_CONF ")", "FILE" },
		{ NULL },
	};
	g_autoptr(GError) error = NULL;
	g_autoptr(virConnect) conn = NULL;
	g_autoptr(virDomain) dom = NULL;
	g_autoptr(AcPipelineConfig) config = NULL;
	g_autofree gchar *path = NULL;
	g_autofree gchar *text = NULL;
	char uuid[VIR_UUID_STRING_BUFLEN];

	g_option_context_add_main_entries (ctx, entries, NULL);
	if (!ac_cli_parse (ctx, &argc, &argv, &error))
		return ac_cli_fail (global, g_steal_pointer (&error));
	if (!pipeline_open (global, "logs", argc, argv, config_path, &config, &conn, &dom, &error))
		return ac_cli_fail (global, g_steal_pointer (&error));
	virDomainGetUUIDString (dom, uuid);
	path = ac_pipeline_log_path (config, uuid);
	if (!g_file_get_contents (path, &text, NULL, &error)) {
		g_clear_error (&error);
		return ac_cli_fail (global, g_error_new (AC_ERROR, AC_ERROR_NOT_FOUND,
							 "no pipeline log for domain '%s' (%s)", argv[1], path));
	}
	fputs (text, stdout);
	return AC_EXIT_OK;
}

/*
 * virt-aleph attest: attest now what waits for a secret — a published instance whose CRN
 * restarted it, or a local SEV domain started paused.
 */
int
ac_cli_cmd_attest (AcCliGlobal *global, int argc, char **argv)
{
	g_autofree gchar *config_path = NULL;
	g_autoptr(GOptionContext) ctx = ac_cli_option_context_new (global, "DOMAIN",
		"Attest DOMAIN's launch that waits for its secret, and only then send it: a "
		"published instance after its CRN restarted it, or a local SEV domain started with "
		"'virsh start --paused'.");
	const GOptionEntry entries[] = {
		{ "config", 0, 0, G_OPTION_ARG_FILENAME, &config_path,
		  "configuration ([pipeline] group; default " AC_DAEMON_CONF ")", "FILE" },
		{ NULL },
	};
	g_autoptr(GError) error = NULL;
	g_autoptr(virConnect) conn = NULL;
	g_autoptr(virDomain) dom = NULL;
	g_autoptr(AcPipelineConfig) config = NULL;
	g_autofree gchar *xml = NULL;
	g_autoptr(AcTag) tag = NULL;
	ApplyCtx actx = { 0 };

	g_option_context_add_main_entries (ctx, entries, NULL);
	if (!ac_cli_parse (ctx, &argc, &argv, &error) ||
	    !pipeline_open (global, "attest", argc, argv, config_path, &config, &conn, &dom, &error))
		return ac_cli_fail (global, g_steal_pointer (&error));
	xml = ac_virt_get_xml (dom, &error);
	if (xml == NULL || (tag = ac_tag_parse (xml, -1, NULL, &error)) == NULL)
		return ac_cli_fail (global, g_steal_pointer (&error));
	actx.dom = dom;
	actx.global = global;
	if (tag->publish != NULL) {
		gboolean again = FALSE;
		if (!ac_pipeline_check_running (config, conn, dom, apply_status, &actx, &again, &error))
			return ac_cli_fail (global, g_steal_pointer (&error));
		if (!global->quiet && !global->json)
			printf ("%s\n", again ? "Attested and sent the passphrase to the restarted instance."
					      : "Nothing waits for a secret: the instance runs (or is not attested yet; see 'virt-aleph status').");
		return AC_EXIT_OK;
	} else {
		g_autoptr(AcSevHost) host = ac_sev_host_libvirt_new (conn);
		g_autoptr(AcLocalsevOptions) opts = NULL;
		g_autoptr(AcStatus) current = ac_status_parse (xml, -1, NULL);
		g_autoptr(AcStatus) st = NULL;
		virConnectPtr secrets = NULL;
		gboolean ok;

		opts = ac_localsev_service_options_new (config->state_dir, config->trusted_roots,
							config->min_api_major, config->min_api_minor, &error);
		if (opts == NULL)
			return ac_cli_fail (global, g_steal_pointer (&error));
		secrets = ac_localsev_service_secrets_connect (conn, config->secrets_uri, &error);
		if (secrets == NULL)
			return ac_cli_fail (global, g_steal_pointer (&error));
		ok = ac_localsev_service_started (host, opts, secrets, dom, current, &st, &error);
		virConnectClose (secrets);
		if (st != NULL)
			apply_status (st, &actx);
		if (!ok)
			return ac_cli_fail (global, g_steal_pointer (&error));
		if (!global->quiet && !global->json)
			printf ("Attested; the passphrase went to domain '%s' only after the check.\n", argv[1]);
		return AC_EXIT_OK;
	}
}
