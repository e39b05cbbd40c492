/*
 * virt-aleph apply: the Aleph flow of a domain in the foreground, with progress.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <glib-unix.h>
#include <json-glib/json-glib.h>
#include <stdio.h>
#include <string.h>

#include "ac-cli.h"
#include "ac-aleph-responses.h"
#include "ac-cli-progress.h"
#include "ac-json.h"
#include "ac-log.h"
#include "ac-localsev-service.h"
#if HAVE_SECP256K1
#include "ac-localsev-owner.h"
#endif
#include "ac-sev-host-libvirt.h"
#include "ac-pipeline.h"
#include "ac-progress.h"
#include "ac-status.h"
#include "ac-status-writer.h"
#include "ac-tag.h"
#include "ac-virt.h"

/* A pipeline command's configuration, connection and DOMAIN (pipeline_open), and what its
 * statuses reported. */
typedef struct {
	AcCliGlobal *global;
	AcPipelineConfig *config;
	virConnectPtr conn;
	virDomainPtr dom;
	AcStatus *last; /* the last status reported, for the --json result */
	AcStatusWriter *writer; /* apply: only changes, with the heartbeat of work in progress */
} ApplyCtx;

static void
apply_ctx_clear (ApplyCtx *ctx)
{
	g_clear_pointer (&ctx->writer, ac_status_writer_free);
	g_clear_pointer (&ctx->last, ac_status_free);
	g_clear_pointer (&ctx->config, ac_pipeline_config_free);
	if (ctx->dom != NULL)
		virDomainFree (ctx->dom);
	if (ctx->conn != NULL)
		virConnectClose (ctx->conn);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (ApplyCtx, apply_ctx_clear)

/* The configuration --config names (default AC_DAEMON_CONF), with the state dir of the host the
 * command talks to and --password-file's key password. */
static AcPipelineConfig *
pipeline_config_load (AcCliGlobal *global, const gchar *config_path, GError **error)
{
	AcPipelineConfig *config
	    = ac_pipeline_config_load (config_path != NULL ? config_path : AC_DAEMON_CONF, error);

	if (config == NULL)
		return NULL;
	/* a fleet's host keeps its state apart */
	ac_cli_scope_state_dir (global, config_path, &config->state_dir);
	if (global->password_file != NULL) {
		g_free (config->key_password_file);
		config->key_password_file = g_strdup (global->password_file);
	}
	return config;
}

/* The configuration, the connection and @domain of a pipeline command, into @actx. */
static gboolean
pipeline_open (ApplyCtx *actx,
               AcCliGlobal *global,
               const gchar *domain,
               const gchar *config_path,
               GError **error)
{
	actx->global = global;
	actx->config = pipeline_config_load (global, config_path, error);
	if (actx->config == NULL)
		return FALSE;
	ac_virt_init ();
	actx->conn = ac_virt_connect (ac_cli_get_uri (global), error);
	if (actx->conn == NULL)
		return FALSE;
	actx->dom = ac_virt_lookup_domain (actx->conn, domain, error);
	return actx->dom != NULL;
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
	if (ctx->writer != NULL) {
		ac_status_free (copy);
		copy = ac_status_writer_write (ctx->writer, status);
		if (copy == NULL)
			return;
	} else {
		ac_status_touch (copy);
		g_free (text);
		text = ac_status_format (copy);
		if (!ac_virt_set_metadata (ctx->dom, AC_STATUS_PREFIX, AC_STATUS_NS, text, &error))
			g_printerr ("virt-aleph: warning: %s\n", error->message);
	}
	if (ctx->global->json) {
		/* the same step events the status element records, as NDJSON */
		g_autofree gchar *line
		    = ac_cli_status_event_to_string (virDomainGetName (ctx->dom), copy);
		printf ("%s\n", line);
		fflush (stdout);
	}
	if (ctx->last != NULL)
		ac_status_free (ctx->last);
	ctx->last = g_steal_pointer (&copy);
}

/* The facts of the pipeline state a script needs (read only; NULL if there is none yet). */
static JsonObject *
state_read (const AcPipelineConfig *config, virDomainPtr dom)
{
	char uuid[VIR_UUID_STRING_BUFLEN];
	g_autofree gchar *path = NULL;
	g_autoptr (JsonParser) parser = json_parser_new ();
	JsonNode *root;

	if (virDomainGetUUIDString (dom, uuid) < 0)
		return NULL;
	path = g_build_filename (config->state_dir, "domains", uuid, "state.json", NULL);
	if (!json_parser_load_from_file (parser, path, NULL))
		return NULL;
	root = json_parser_get_root (parser);
	if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
		return NULL;
	return json_object_ref (json_node_get_object (root));
}

/* state[step][key] when it holds a value of @type */
static JsonNode *
state_value (JsonObject *state, const gchar *step, const gchar *key, GType type)
{
	JsonNode *n;
	if (state == NULL || !json_object_has_member (state, step))
		return NULL;
	n = json_object_get_member (state, step);
	if (!JSON_NODE_HOLDS_OBJECT (n))
		return NULL;
	n = json_object_get_member (json_node_get_object (n), key);
	if (n == NULL || !JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != type)
		return NULL;
	return n;
}

static const gchar *
state_string (JsonObject *state, const gchar *step, const gchar *key)
{
	JsonNode *n = state_value (state, step, key, G_TYPE_STRING);
	return n != NULL ? json_node_get_string (n) : NULL;
}

/* Starts the last NDJSON line of a --json stream, {"event":"result","command":…,"domain":…;
 * the caller adds its facts and ends it with result_end(). */
static JsonBuilder *
result_begin (ApplyCtx *ctx, const gchar *command)
{
	JsonBuilder *b = json_builder_new ();
	json_builder_begin_object (b);
	ac_json_builder_add_string_opt (b, "event", "result");
	ac_json_builder_add_string_opt (b, "command", command);
	ac_json_builder_add_string_opt (b, "domain", virDomainGetName (ctx->dom));
	return b;
}

static void
result_end (JsonBuilder *b)
{
	json_builder_end_object (b);
	ac_cli_print_json_builder (b);
}

/* --json: the command's result with the last status reported; FALSE without --json, when
 * the caller says what happened in words */
static gboolean
result_status (ApplyCtx *ctx, const gchar *command)
{
	g_autoptr (JsonBuilder) b = NULL;

	if (!ctx->global->json)
		return FALSE;
	b = result_begin (ctx, command);
	if (ctx->last != NULL)
		ac_cli_json_add_status (b, ctx->last);
	result_end (b);
	return TRUE;
}

/* The hash of the FORGET the pipeline just posted, from its event log. */
static gchar *
log_last_forget (const AcPipelineConfig *config, virDomainPtr dom)
{
	char uuid[VIR_UUID_STRING_BUFLEN];
	g_autofree gchar *path = NULL;
	g_autofree gchar *text = NULL;
	g_auto (GStrv) lines = NULL;

	if (virDomainGetUUIDString (dom, uuid) < 0)
		return NULL;
	path = ac_pipeline_log_path (config, uuid);
	if (!g_file_get_contents (path, &text, NULL, NULL))
		return NULL;
	lines = g_strsplit (text, "\n", -1);
	for (guint i = g_strv_length (lines); i > 0; i--) {
		const gchar *p = strstr (lines[i - 1], " forget: FORGET ");
		const gchar *end;
		if (p == NULL)
			continue;
		p += strlen (" forget: FORGET ");
		end = strchr (p, ' ');
		return end != NULL ? g_strndup (p, end - p) : NULL;
	}
	return NULL;
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

/* The local flow's options from the configuration: [pipeline]'s trust and state directory,
 * [localsev] snp-runtime and snp-agent, and the owner's key (the SEV-SNP owner). */
static AcLocalsevOptions *
local_options (const AcPipelineConfig *config, const gchar *config_path, GError **error)
{
	g_autoptr (AcLocalsevOptions) opts = NULL;

	opts = ac_localsev_service_options_new (config->state_dir, config->trusted_roots,
						config->min_api_major, config->min_api_minor, error);
	if (opts == NULL)
		return NULL;
	if (!ac_localsev_service_options_load_config (
		opts, config_path != NULL ? config_path : AC_DAEMON_CONF, config_path != NULL, error))
		return NULL;
#if HAVE_SECP256K1
	if (!ac_localsev_options_set_owner_key (opts, config->key_file, config->key_password_file,
						FALSE, NULL, error))
		return NULL;
#endif
	return g_steal_pointer (&opts);
}

/* The local flow on @actx's domain, in the foreground: virt-alephd's step for the domain's
 * state now (apply), or the attestation of its launch that waits for its secret (@attest);
 * the statuses through apply_status(). @current: the domain's status element (nullable). */
static gboolean
local_run (ApplyCtx *actx,
           const gchar *config_path,
           const AcStatus *current,
           gboolean attest,
           GError **error)
{
	g_autoptr (AcSevHost) host = ac_sev_host_libvirt_new (actx->conn);
	g_autoptr (AcLocalsevOptions) opts = NULL;
	g_autoptr (AcStatus) st = NULL;
	virConnectPtr secrets = NULL;
	AcLocalsevServiceRun run = { .status_func = apply_status, .user_data = actx };
	gboolean ok;

	opts = local_options (actx->config, config_path, error);
	if (opts == NULL)
		return FALSE;
	secrets
	    = ac_localsev_service_secrets_connect (actx->conn, actx->config->secrets_uri, error);
	if (secrets == NULL)
		return FALSE;
	if (attest)
		ok = ac_localsev_service_attest_now (host, opts, secrets, actx->dom, NULL, current,
		                                     &st, error);
	else
		ok = ac_localsev_service_reconcile_full (host, opts, &run, secrets, actx->dom,
		                                         current, &st, error);
	virConnectClose (secrets);
	if (st != NULL)
		apply_status (st, actx);
	return ok;
}

/* virt-aleph apply on a domain without <aleph:publish>: the local flow, once, in the
 * foreground (virt-alephd's step for the domain's state now) */
static int
apply_local (ApplyCtx *actx, const gchar *config_path, const gchar *xml, const AcTag *tag)
{
	AcCliGlobal *global = actx->global;
	virDomainPtr dom = actx->dom;
	g_autoptr (GError) error = NULL;
	g_autoptr (AcStatus) current = NULL;

	if (tag->local_mode == AC_LOCAL_MODE_TEST || tag->local_mode == AC_LOCAL_MODE_DENY) {
		g_set_error (&error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			     "domain '%s' has no <aleph:publish> and <aleph:local mode='%s'/>: "
			     "neither the Aleph flow nor the local flow runs it",
			     virDomainGetName (dom), ac_local_mode_to_string (tag->local_mode));
		return ac_cli_fail (global, g_steal_pointer (&error));
	}
	current = ac_status_parse (xml, -1, NULL);
	if (!local_run (actx, config_path, current, FALSE, &error))
		return ac_cli_fail (global, g_steal_pointer (&error));
	if (!result_status (actx, "apply") && !global->quiet) {
		printf ("Domain '%s': %s; see 'virt-aleph status %s'\n", virDomainGetName (dom),
			actx->last != NULL && actx->last->state != NULL ? actx->last->state : "done",
			virDomainGetName (dom));
	}
	return AC_EXIT_OK;
}

static void
apply_done (GObject *source, GAsyncResult *res, gpointer data)
{
	ApplyRun *run = data;
	g_main_loop_quit (run->loop);
}

/**
 * ac_cli_store_rootfs_passphrase:
 *
 * For `virt-aleph tag --rootfs HASH --passphrase-file FILE` (module virt, which must not load
 * the network's libraries), before the tag @tag is set: the passphrase checked against the
 * published image's LUKS header, then stored in the secret store the flow reads.
 */
gboolean
ac_cli_store_rootfs_passphrase (AcCliGlobal *global,
                                const gchar *config_path,
                                gpointer conn,
                                gpointer dom,
                                gconstpointer tag,
                                const gchar *passphrase_file,
                                GError **error)
{
	g_autoptr (AcPipelineConfig) config = pipeline_config_load (global, config_path, error);

	if (config == NULL)
		return FALSE;
	return ac_pipeline_store_rootfs_passphrase (config, conn, dom, tag, passphrase_file, error);
}

int
ac_cli_cmd_apply (AcCliGlobal *global, int argc, char **argv)
{
	g_autofree gchar *config_path = NULL;
	g_autofree gchar *passphrase_file = NULL;
	g_autoptr(GOptionContext) ctx = ac_cli_option_context_new (global, "DOMAIN",
		"Run the Aleph flow of DOMAIN in the foreground: build the encrypted image, publish "
		"it and the instance, attest the CRN and inject the passphrase. Resumes where an "
		"earlier run (or virt-alephd) stopped; the status element follows every step. A "
		"domain without <aleph:publish> runs the local flow's step for its state instead "
		"(shut off: its image built and a SEV or SEV-SNP launch prepared; started: attested).");
	const GOptionEntry entries[] = {
		AC_CLI_CONFIG_ENTRY (&config_path),
		{ "passphrase-file", 0, 0, G_OPTION_ARG_FILENAME, &passphrase_file,
		  "with <aleph:publish rootfs>: the existing image's passphrase (alone on one line "
		  "of FILE), "
		  "checked against its LUKS header and kept in libvirt's secret store",
		  "FILE" },
		{ NULL },
	};
	g_autoptr(GError) error = NULL;
	g_auto (ApplyCtx) actx = { 0 };
	g_autofree gchar *xml = NULL;
	g_autofree gchar *fingerprint = NULL;
	g_autoptr (AcTag) tag = NULL;
	g_autoptr(AcProgress) progress = NULL;
	g_autoptr(GCancellable) cancellable = g_cancellable_new ();
	g_autoptr(GTask) task = NULL;
	g_autoptr (GMainLoop) loop = g_main_loop_new (NULL, FALSE);
	ApplyRun run = { 0 };
	guint sigint, sigterm, heartbeat;

	g_option_context_add_main_entries (ctx, entries, NULL);
	if (!ac_cli_parse_args (ctx, &argc, &argv, 1, "apply: expected one DOMAIN", &error)
	    || !pipeline_open (&actx, global, argv[1], config_path, &error))
		return ac_cli_fail (global, g_steal_pointer (&error));
	xml = ac_virt_get_xml (actx.dom, &error);
	if (xml == NULL || (tag = ac_tag_parse (xml, -1, NULL, &error)) == NULL)
		return ac_cli_fail (global, g_steal_pointer (&error));
	if (tag->publish == NULL)
		return apply_local (&actx, config_path, xml, tag);
	if (passphrase_file != NULL
	    && !ac_pipeline_set_rootfs_passphrase (actx.config, actx.conn, actx.dom,
	                                           passphrase_file, &error))
		return ac_cli_fail (global, g_steal_pointer (&error));

	progress = ac_progress_new ("apply");
	ac_cli_progress_attach (progress,
	                        ac_cli_progress_output_pick (global->json, global->quiet, stderr),
	                        global->json ? stdout : stderr);
	fingerprint = ac_status_tag_fingerprint (xml);
	actx.writer = ac_status_writer_new (actx.dom, fingerprint);
	heartbeat = ac_status_writer_add_heartbeat (actx.writer);
	run.config = actx.config;
	run.conn = actx.conn;
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
	g_source_remove (heartbeat);
	if (!run.ok)
		return ac_cli_fail (global, run.error);
	if (!result_status (&actx, "apply") && !global->quiet) {
		printf ("Domain '%s' runs on Aleph; see 'virt-aleph status %s'\n", argv[1], argv[1]);
	}
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
		AC_CLI_CONFIG_ENTRY (&config_path),
		{ NULL },
	};
	const GOptionEntry forget_entries[] = {
		{ "image", 0, 0, G_OPTION_ARG_NONE, &image, "forget the image's STORE too", NULL },
		{ "reason", 0, 0, G_OPTION_ARG_STRING, &reason, "reason recorded in the FORGET", "TEXT" },
		{ NULL },
	};
	g_autoptr (GError) error = NULL;
	g_auto (ApplyCtx) actx = { 0 };
	g_autoptr (JsonObject) state = NULL;
	g_autofree gchar *expected = NULL;
	/* delete = erase, then forget (aleph-client's 'instance delete') */
	gboolean forgets = g_strcmp0 (op, "forget") == 0 || g_strcmp0 (op, "delete") == 0;
	gboolean ok;

	g_option_context_add_main_entries (ctx, entries, NULL);
	if (forgets)
		g_option_context_add_main_entries (ctx, forget_entries, NULL);
	expected = g_strdup_printf ("%s: expected one DOMAIN", op);
	if (!ac_cli_parse_args (ctx, &argc, &argv, 1, expected, &error)
	    || !pipeline_open (&actx, global, argv[1], config_path, &error))
		return ac_cli_fail (global, g_steal_pointer (&error));
	/* what the operation acts on, before it clears it (forget) */
	state = state_read (actx.config, actx.dom);
	if (g_strcmp0 (op, "delete") == 0) {
		ok = ac_pipeline_operate (actx.config, actx.conn, actx.dom, "erase", apply_status,
		                          &actx, &error);
		if (!ok)
			g_prefix_error (&error, "delete: erase failed, no FORGET posted: ");
		else
			ok = ac_pipeline_forget (actx.config, actx.conn, actx.dom, image, reason,
			                         apply_status, &actx, &error);
	} else if (forgets) {
		ok = ac_pipeline_forget (actx.config, actx.conn, actx.dom, image, reason,
		                         apply_status, &actx, &error);
	} else {
		ok = ac_pipeline_operate (actx.config, actx.conn, actx.dom, op, apply_status, &actx,
		                          &error);
	}
	if (!ok)
		return ac_cli_fail (global, g_steal_pointer (&error));
	if (global->json) {
		g_autoptr (JsonBuilder) b = result_begin (&actx, op);
		const gchar *instance = state_string (state, "instance", "hash");
		const gchar *store = state_string (state, "store", "hash");
		/* the instance (and image) operated on, as they were before */
		ac_json_builder_add_string_opt (b, "state",
		                                actx.last != NULL ? actx.last->state : NULL);
		ac_json_builder_add_string_opt (b, "instance", instance);
		ac_json_builder_add_string_opt (b, "crn", state_string (state, "crn", "hash"));
		ac_json_builder_add_string_opt (b, "crnUrl", state_string (state, "crn", "url"));
		ac_json_builder_add_string_opt (b, "store", store);
		if (forgets) {
			g_autofree gchar *forget = log_last_forget (actx.config, actx.dom);
			JsonNode *adopted = state_value (state, "store", "adopted", G_TYPE_BOOLEAN);
			/* an adopted STORE is the user's: the FORGET left it out */
			ac_pipeline_json_add_forget_hashes (
			    b, "forgotten", instance,
			    adopted != NULL && json_node_get_boolean (adopted) ? NULL : store, image);
			ac_json_builder_add_string_opt (b, "forgetMessage", forget);
		}
		result_end (b);
	} else if (!global->quiet) {
		printf ("%s: done for domain '%s'\n", op, argv[1]);
	}
	return AC_EXIT_OK;
}

/* the commands instance_command() runs: virt-aleph.c names their symbol for each */
static const struct {
	const gchar *op;
	const gchar *summary;
} instance_commands[] = {
	{ "stop", "Stop the domain's instance on its CRN." },
	{ "reboot", "Reboot the domain's instance on its CRN; the service attests the new launch "
	            "before the passphrase goes again." },
	{ "erase", "Erase the domain's instance from its CRN (its disk there is deleted; the local "
	           "image and the domain stay)." },
	{ "forget",
	  "Post a FORGET message for the domain's INSTANCE (with --image, its image's STORE "
	  "too)." },
	{ "delete",
	  "Delete the domain's instance as 'aleph instance delete' does: erase it from its "
	  "CRN, then post a FORGET for its INSTANCE (with --image, its image's STORE too). "
	  "The local image and the domain stay." },
};

/* stop, reboot, erase, forget and delete: @argv[0] says which */
int
ac_cli_cmd_instance (AcCliGlobal *global, int argc, char **argv)
{
	for (guint i = 0; i < G_N_ELEMENTS (instance_commands); i++) {
		if (g_strcmp0 (argv[0], instance_commands[i].op) == 0)
			return instance_command (global, argc, argv, instance_commands[i].summary,
			                         instance_commands[i].op);
	}
	return ac_cli_fail (global,
	                    g_error_new (AC_ERROR, AC_ERROR_INTERNAL,
	                                 "'%s' is not an operation on an instance", argv[0]));
}

int
ac_cli_cmd_adopt (AcCliGlobal *global, int argc, char **argv)
{
	g_autofree gchar *config_path = NULL;
	g_autofree gchar *passphrase_file = NULL;
	g_autoptr (GOptionContext) ctx = ac_cli_option_context_new (
	    global, "DOMAIN INSTANCE_HASH",
	    "Attach an instance created with aleph-client (aleph instance create --confidential) "
	    "to DOMAIN, so that status, attest, reboot, erase, forget and delete work on it. The "
	    "INSTANCE must be signed by the configured key, confidential and the one DOMAIN's tag "
	    "describes (tag it first with --rootfs, the INSTANCE's rootfs.parent.ref); its image's "
	    "passphrase must open the image's LUKS header. Nothing is posted; 'virt-aleph apply "
	    "DOMAIN' then attests it and sends the passphrase.");
	const GOptionEntry entries[] = {
		AC_CLI_CONFIG_ENTRY (&config_path),
		{ "passphrase-file", 0, 0, G_OPTION_ARG_FILENAME, &passphrase_file,
		  "the image's passphrase (alone on one line of FILE), checked against its LUKS "
		  "header and "
		  "kept in libvirt's secret store",
		  "FILE" },
		{ NULL },
	};
	g_autoptr (GError) error = NULL;
	g_auto (ApplyCtx) actx = { 0 };
	g_autofree gchar *hash = NULL;

	g_option_context_add_main_entries (ctx, entries, NULL);
	if (!ac_cli_parse_args (ctx, &argc, &argv, 2, "adopt: expected DOMAIN INSTANCE_HASH",
	                        &error))
		return ac_cli_fail (global, g_steal_pointer (&error));
	hash = g_strdup (argv[2]);
	if (!pipeline_open (&actx, global, argv[1], config_path, &error))
		return ac_cli_fail (global, g_steal_pointer (&error));
	if (passphrase_file != NULL
	    && !ac_pipeline_set_rootfs_passphrase (actx.config, actx.conn, actx.dom,
	                                           passphrase_file, &error))
		return ac_cli_fail (global, g_steal_pointer (&error));
	if (!ac_pipeline_adopt (actx.config, actx.conn, actx.dom, hash, apply_status, &actx,
	                        &error))
		return ac_cli_fail (global, g_steal_pointer (&error));
	if (!result_status (&actx, "adopt") && !global->quiet) {
		printf ("Domain '%s' is INSTANCE %s; 'virt-aleph apply %s' attests it\n", argv[1],
		        hash, argv[1]);
	}
	return AC_EXIT_OK;
}

int
ac_cli_cmd_logs (AcCliGlobal *global, int argc, char **argv)
{
	g_autofree gchar *config_path = NULL;
	g_autoptr(GOptionContext) ctx = ac_cli_option_context_new (global, "DOMAIN",
		"Show the event log of the domain's pipeline: what virt-alephd and 'virt-aleph apply' "
		"did (steps, errors; never secrets). Not the VM's own output: that is 'virt-aleph "
		"console'.");
	const GOptionEntry entries[] = {
		AC_CLI_CONFIG_ENTRY (&config_path),
		{ NULL },
	};
	g_autoptr(GError) error = NULL;
	g_auto (ApplyCtx) actx = { 0 };
	g_autofree gchar *path = NULL;
	g_autofree gchar *text = NULL;
	g_autofree gchar *service_log = NULL;
	char uuid[VIR_UUID_STRING_BUFLEN];

	g_option_context_add_main_entries (ctx, entries, NULL);
	if (!ac_cli_parse_args (ctx, &argc, &argv, 1, "logs: expected one DOMAIN", &error)
	    || !pipeline_open (&actx, global, argv[1], config_path, &error))
		return ac_cli_fail (global, g_steal_pointer (&error));
	virDomainGetUUIDString (actx.dom, uuid);
	path = ac_pipeline_log_path (actx.config, uuid);
	/* the pipeline's log holds its steps; the service's own messages are in the system's log */
	service_log = ac_log_where ("virt-alephd", uuid);
	if (!g_file_get_contents (path, &text, NULL, &error)) {
		g_clear_error (&error);
		return ac_cli_fail (global, g_error_new (AC_ERROR, AC_ERROR_NOT_FOUND,
							 "no pipeline log for domain '%s' (%s); virt-alephd's own "
							 "log: %s",
							 argv[1], path, service_log));
	}
	if (global->json) {
		/* {"domain":…,"log":PATH,"events":[{"time":…,"message":…},…]} */
		g_autoptr (JsonBuilder) b = json_builder_new ();
		g_autofree gchar *valid = g_utf8_make_valid (text, -1);
		g_auto (GStrv) lines = g_strsplit (valid, "\n", -1);
		g_autofree gchar *path_display = g_filename_display_name (path);
		json_builder_begin_object (b);
		ac_json_builder_add_string_opt (b, "domain", virDomainGetName (actx.dom));
		ac_json_builder_add_string_opt (b, "log", path_display);
		ac_json_builder_add_string_opt (b, "serviceLog", service_log);
		json_builder_set_member_name (b, "events");
		json_builder_begin_array (b);
		for (guint i = 0; lines[i] != NULL; i++) {
			const gchar *space = strchr (lines[i], ' ');
			if (lines[i][0] == '\0')
				continue;
			json_builder_begin_object (b);
			json_builder_set_member_name (b, "time");
			if (space != NULL && space > lines[i] && space[-1] == 'Z') {
				g_autofree gchar *when = g_strndup (lines[i], space - lines[i]);
				json_builder_add_string_value (b, when);
				ac_json_builder_add_string_opt (b, "message", space + 1);
			} else {
				json_builder_add_null_value (b);
				ac_json_builder_add_string_opt (b, "message", lines[i]);
			}
			json_builder_end_object (b);
		}
		json_builder_end_array (b);
		json_builder_end_object (b);
		ac_cli_print_json_builder (b);
	} else {
		fputs (text, stdout);
		if (!global->quiet)
			fprintf (stderr, "virt-alephd's own log: %s\n", service_log);
	}
	return AC_EXIT_OK;
}

/* ---- console: the VM's own log on its CRN ------------------------------------------------- */

typedef struct {
	AcCliGlobal *global;
	const gchar *domain;
	gboolean follow;
	guint printed; /* lines of the CRN's log printed so far */
} ConsoleCtx;

/* a line of the CRN's log, as members of the object being built */
static void
console_add_line (JsonBuilder *b, const AcCrnLogLine *l)
{
	ac_json_builder_add_string_opt (b, "stream", l->stream);
	ac_json_builder_add_string_opt (b, "time", l->time);
	ac_json_builder_add_string_opt (b, "message", l->message);
}

static void
console_print_line (ConsoleCtx *c, const AcCrnLogLine *l, const gchar *instance,
		    const gchar *crn_url)
{
	if (c->global->json && c->follow) {
		g_autoptr (JsonBuilder) b = json_builder_new ();
		json_builder_begin_object (b);
		ac_json_builder_add_string_opt (b, "event", "console");
		ac_json_builder_add_string_opt (b, "domain", c->domain);
		ac_json_builder_add_string_opt (b, "instance", instance);
		console_add_line (b, l);
		json_builder_end_object (b);
		ac_cli_print_json_builder (b);
	} else if (!c->global->json) {
		printf ("%s\n", l->message);
	}
}

static gboolean
console_lines (GPtrArray *lines, const gchar *instance, const gchar *crn_url, gpointer user_data)
{
	ConsoleCtx *c = user_data;

	if (c->global->json && !c->follow) {
		g_autoptr (JsonBuilder) b = json_builder_new ();
		json_builder_begin_object (b);
		ac_json_builder_add_string_opt (b, "domain", c->domain);
		ac_json_builder_add_string_opt (b, "instance", instance);
		ac_json_builder_add_string_opt (b, "crnUrl", crn_url);
		json_builder_set_member_name (b, "lines");
		json_builder_begin_array (b);
		for (guint i = 0; i < lines->len; i++) {
			const AcCrnLogLine *l = g_ptr_array_index (lines, i);
			json_builder_begin_object (b);
			console_add_line (b, l);
			json_builder_end_object (b);
		}
		json_builder_end_array (b);
		json_builder_end_object (b);
		ac_cli_print_json_builder (b);
		return FALSE;
	}
	/* the CRN answers its whole log each time: print what is new; a shorter log is a new
	 * one (the VM was erased and started again), printed from its start */
	if (lines->len < c->printed) {
		if (!c->global->json && !c->global->quiet)
			fprintf (stderr, "virt-aleph: the CRN's log of the instance started anew\n");
		c->printed = 0;
	}
	for (guint i = c->printed; i < lines->len; i++)
		console_print_line (c, g_ptr_array_index (lines, i), instance, crn_url);
	c->printed = lines->len;
	fflush (stdout);
	return c->follow;
}

int
ac_cli_cmd_console (AcCliGlobal *global, int argc, char **argv)
{
	g_autofree gchar *config_path = NULL;
	g_autofree gchar *interval_text = NULL;
	gboolean follow = FALSE;
	guint interval_s = 2;
	g_autoptr(GOptionContext) ctx = ac_cli_option_context_new (global, "DOMAIN",
		"Show the console of the domain's instance: the VM's own output (serial console, "
		"stdout and stderr) as its CRN keeps it, what 'aleph instance logs' shows. A signed "
		"GET of aleph-vm's /control/machine/{ref}/logs. Not the pipeline's log: that is "
		"'virt-aleph logs'.");
	const GOptionEntry entries[] = {
		{ "follow", 'f', 0, G_OPTION_ARG_NONE, &follow,
		  "keep printing new lines until interrupted (the CRN is asked again every "
		  "--interval seconds)", NULL },
		{ "interval", 0, 0, G_OPTION_ARG_STRING, &interval_text,
		  "--follow: seconds between two requests (default 2)", "SECONDS" },
		AC_CLI_CONFIG_ENTRY (&config_path),
		{ NULL },
	};
	g_autoptr(GError) error = NULL;
	g_auto (ApplyCtx) actx = { 0 };
	ConsoleCtx c = { global, NULL, FALSE, 0 };

	g_option_context_add_main_entries (ctx, entries, NULL);
	if (!ac_cli_parse_args (ctx, &argc, &argv, 1, "console: expected one DOMAIN", &error))
		return ac_cli_fail (global, g_steal_pointer (&error));
	if (interval_text != NULL &&
	    !ac_cli_parse_timeout ("--interval", interval_text, &interval_s, &error))
		return ac_cli_fail (global, g_steal_pointer (&error));
	if (!pipeline_open (&actx, global, argv[1], config_path, &error))
		return ac_cli_fail (global, g_steal_pointer (&error));
	c.domain = virDomainGetName (actx.dom);
	c.follow = follow;
	if (!ac_pipeline_console (actx.config, actx.conn, actx.dom, follow ? interval_s * 1000 : 0,
	                          console_lines, &c, &error))
		return ac_cli_fail (global, g_steal_pointer (&error));
	return AC_EXIT_OK;
}

/* what 'virt-aleph attest' found on a published instance, in words */
static const gchar *
attest_outcome_text (AcPipelineRunning outcome, AcTeeType tee)
{
	switch (outcome) {
	case AC_PIPELINE_RUNNING_ATTESTED:
		return tee == AC_TEE_SNP
		           ? "Attested: the report verified, the passphrase went to the instance's boot."
		           : "Attested and sent the passphrase to the restarted instance.";
	case AC_PIPELINE_RUNNING_NOT_ATTESTED:
		return "Not attested yet: the flow attests the instance when it reaches that step "
		       "(see 'virt-aleph status').";
	default:
		return tee == AC_TEE_SNP
		           ? "Nothing waits for a secret: the agent attested the boot the passphrase "
		             "already went to."
		           : "Nothing waits for a secret: the instance runs.";
	}
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
		"Attest DOMAIN's launch that waits for its secret, and only then send it: an adopted "
		"instance (virt-aleph adopt) not attested yet, a published instance after its CRN "
		"restarted it, a local SEV domain started with 'virsh start --paused', or a local "
		"SEV-SNP domain's guest agent (snp-agent).");
	const GOptionEntry entries[] = {
		AC_CLI_CONFIG_ENTRY (&config_path),
		{ NULL },
	};
	g_autoptr(GError) error = NULL;
	g_auto (ApplyCtx) actx = { 0 };
	g_autofree gchar *xml = NULL;
	g_autoptr (AcTag) tag = NULL;

	g_option_context_add_main_entries (ctx, entries, NULL);
	if (!ac_cli_parse_args (ctx, &argc, &argv, 1, "attest: expected one DOMAIN", &error)
	    || !pipeline_open (&actx, global, argv[1], config_path, &error))
		return ac_cli_fail (global, g_steal_pointer (&error));
	xml = ac_virt_get_xml (actx.dom, &error);
	if (xml == NULL || (tag = ac_tag_parse (xml, -1, NULL, &error)) == NULL)
		return ac_cli_fail (global, g_steal_pointer (&error));
	if (tag->publish != NULL) {
		AcPipelineRunning outcome;
		gboolean again;
		if (!ac_pipeline_check_running (actx.config, actx.conn, actx.dom, apply_status,
		                                &actx, &outcome, &error)) {
			if (outcome == AC_PIPELINE_RUNNING_UNREACHABLE)
				g_prefix_error (&error, "nothing attested: %s did not answer: ",
				                tag->tee == AC_TEE_SNP ? "the instance's guest agent"
				                                       : "the CRN");
			return ac_cli_fail (global, g_steal_pointer (&error));
		}
		again = outcome == AC_PIPELINE_RUNNING_ATTESTED;
		if (global->json) {
			g_autoptr (JsonBuilder) b = result_begin (&actx, "attest");
			if (actx.last != NULL)
				ac_cli_json_add_status (b, actx.last);
			ac_json_builder_add_boolean (b, "published", TRUE);
			ac_json_builder_add_boolean (b, "attested", again);
			result_end (b);
		} else if (!global->quiet) {
			printf ("%s\n", attest_outcome_text (outcome, tag->tee));
		}
		return AC_EXIT_OK;
	} else {
		g_autoptr (AcStatus) current = ac_status_parse (xml, -1, NULL);

		if (!local_run (&actx, config_path, current, TRUE, &error))
			return ac_cli_fail (global, g_steal_pointer (&error));
		if (global->json) {
			g_autoptr (JsonBuilder) b = result_begin (&actx, "attest");
			if (actx.last != NULL)
				ac_cli_json_add_status (b, actx.last);
			ac_json_builder_add_boolean (b, "published", FALSE);
			ac_json_builder_add_boolean (b, "attested", TRUE);
			result_end (b);
		} else if (!global->quiet) {
			printf ("Attested; the passphrase went to domain '%s' only after the check.\n", argv[1]);
		}
		return AC_EXIT_OK;
	}
}
