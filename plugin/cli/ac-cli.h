/*
 * virt-aleph: shared command-line plumbing for every command group.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include "ac-domain.h"
#include "ac-error.h"
#include "ac-hosts.h"
#include "ac-http.h"
#include "ac-json-write.h"
#include "ac-status.h"

G_BEGIN_DECLS

/* Options every command accepts, before or after the command name. */
typedef struct {
	gchar *connect_uri; /* --connect / -c; NULL = $VIRT_ALEPH_DEFAULT_URI or qemu:///system */
	gboolean json;      /* --json: machine-readable output, NDJSON progress */
	gboolean quiet;     /* --quiet: no progress, no chatter */
	gboolean debug;     /* --debug: every input and intermediate value */
	guint timeout_s;    /* --timeout: bound of one whole HTTP call, and of the wait for a fleet's
	                       hosts to connect; 0 = the defaults */
	gchar *password_file; /* --password-file: a JSON keystore's password; NULL = ask */
} AcCliGlobal;

/* the longest --timeout accepted */
#define AC_CLI_TIMEOUT_MAX_S 86400

/*
 * A command: @argv[0] is the command name ("tag"); return an AcExitCode. Print errors with
 * ac_cli_fail(), which maps the error to its documented exit code.
 */
typedef int (*AcCliCommandFunc) (AcCliGlobal *global, int argc, char **argv);

/*
 * A command of the table of virt-aleph.c: run by the front itself (@func), or by the function
 * named @symbol of the module of @area (@func NULL), loaded when the command runs.
 */
typedef struct {
	const gchar *name;
	const gchar *summary;
	AcCliCommandFunc func;
	const gchar *area;
	const gchar *symbol;
} AcCliCommand;

/*
 * The modules (ac-cli-module.c). The front, virt-aleph, links GLib and OpenSSL only (the parts
 * of lib/ and sev/ that need nothing more, and the UnixFS and CAR code) and runs --version,
 * --help, the snp group's dispatcher, verify-report and measure, and ipfs itself (add and
 * upload call the module aleph): a verification, a launch digest or a CID starts no more
 * libraries than it uses. Every other command is in a module, opened when the command runs:
 *   main   sev, snp (but verify-report and measure),    json-glib, GIO; the rest of lib/ and
 *          devnet; the plumbing of the modules below   sev/
 *   aleph  account, message, ipfs add | upload          libcurl, libsecp256k1
 *   virt   tag, untag, status, list, validate           libvirt, libxml2
 *   flow   apply, attest, stop, reboot, erase, forget,  libvirt, the builder (libcryptsetup,
 *          logs, doctor, build                          libfdisk, libext2fs, libguestfs), libcurl
 * main is opened first and globally (RTLD_GLOBAL) whenever a module is: the others bind to its
 * symbols and to the front's. No module holds a copy of lib/, sev/ or this file's functions
 * (the front exports its part, main the rest). A process loads one module besides main at
 * most, so the plugin code two modules share is never loaded twice.
 */
gpointer ac_cli_module_symbol (const gchar *area, const gchar *symbol, GError **error);
gchar *ac_cli_module_path (const gchar *area);

/* ipfs add and ipfs upload: the network half of the front's ipfs command (module aleph) */
typedef gchar *(*AcCliIpfsAddFunc) (AcCliGlobal *global, const gchar *ipfs_api, const gchar *file,
				    GError **error);
typedef int (*AcCliIpfsUploadFunc) (AcCliGlobal *global, const gchar *api, int kind,
				    const gchar *key_file, const gchar *channel,
				    gboolean unauthenticated, const gchar *file);
gchar *ac_cli_ipfs_add (AcCliGlobal *global, const gchar *ipfs_api, const gchar *file, GError **error);
/* `tag --rootfs HASH --passphrase-file FILE` (module flow, which has the pipeline), before
 * the tag is set: the passphrase checked against the published image's LUKS header, then
 * stored; nothing written when it does not open it or the image cannot be fetched */
typedef gboolean (*AcCliStoreRootfsPassphraseFunc) (
    AcCliGlobal *global,
    const gchar *config_path,
    gpointer conn,     /* virConnectPtr */
    gpointer dom,      /* virDomainPtr */
    gconstpointer tag, /* const AcTag *: the new tag */
    const gchar *passphrase_file,
    GError **error);
gboolean
ac_cli_store_rootfs_passphrase (AcCliGlobal *global,
                                const gchar *config_path,
                                gpointer conn,
                                gpointer dom,
                                gconstpointer tag,
                                const gchar *passphrase_file,
                                GError **error);
int ac_cli_ipfs_upload (AcCliGlobal *global, const gchar *api, int kind, const gchar *key_file,
			const gchar *channel, gboolean unauthenticated, const gchar *file);

/* the KDS fetch of the snp commands (module aleph): an AcSevKdsFetchFunc whose user data is
 * the AcCliGlobal */
GBytes *ac_cli_kds_fetch (const gchar *url, gpointer global, GCancellable *cancellable,
			  GError **error);

/* the GOptionEntry of --config FILE of the commands that read virt-alephd's configuration's
 * [pipeline] group (AC_DAEMON_CONF, of config.h, by default) */
/* clang-format off */
#define AC_CLI_CONFIG_ENTRY(config_path)                                                           \
	{ "config", 0, 0, G_OPTION_ARG_FILENAME, (config_path),                                    \
	  "configuration ([pipeline] group; default " AC_DAEMON_CONF ")", "FILE" }
/* clang-format on */

GOptionContext *ac_cli_option_context_new (AcCliGlobal *global,
					   const gchar *parameter_string,
					   const gchar *summary);
gboolean ac_cli_parse (GOptionContext *context, int *argc, char ***argv, GError **error);
/* ac_cli_parse(), then exactly @n_args arguments after the command name, else an error that
 * says @expected */
gboolean ac_cli_parse_args (GOptionContext *context, int *argc, char ***argv, int n_args,
			    const gchar *expected, GError **error);
void ac_cli_prescan (AcCliGlobal *global, int argc, char **argv);
int ac_cli_fail (AcCliGlobal *global, GError *error);
/* a command line the command does not take: its help (not with --json), then @msg */
int
ac_cli_usage_error (AcCliGlobal *global, GOptionContext *ctx, const gchar *msg);
AcExitCode ac_cli_fail_json (AcJsonWriter *w, const GError *error);
int ac_cli_fail_with (AcCliGlobal *global, GError *error, JsonObject *extra);
AcError ac_cli_error_from_exit_code (gint exit_code);
gboolean ac_cli_error_from_string (const gchar *name, AcError *code);
const gchar *ac_cli_get_uri (AcCliGlobal *global);
/* virt-alephd's hosts (ac-hosts.h): a fleet's, and the state dir of the one a command talks to */
GPtrArray *
ac_cli_config_hosts (AcCliGlobal *global,
                     const gchar *config_path,
                     const gchar *state_dir,
                     GError **error);
void
ac_cli_scope_state_dir (AcCliGlobal *global, const gchar *config_path, gchar **state_dir);
gboolean ac_cli_parse_timeout (const gchar *option, const gchar *value, guint *seconds,
			       GError **error);
AcHttpClient *ac_cli_http_client_new (AcCliGlobal *global); /* ac-cli-http.c (modules) */

/*
 * --json output on stdout, flushed. One-shot commands print one document (one compact line,
 * or indented by ac_cli_print_json_pretty() for tag, untag, status, doctor, sev, account
 * and message); streams (apply, stop …, status --follow) print NDJSON events, one compact line
 * each, ending with {"event":"result",…} or the error object.
 */
void ac_cli_print_json_text (const gchar *text);
/* ac-cli-json.c (main module): json-glib's nodes */
void ac_cli_print_json (JsonNode *node);
void ac_cli_print_json_builder (JsonBuilder *builder);
/* the document indented over several lines, as tag, untag, status, doctor, sev, account and
 * message print it */
void
ac_cli_print_json_pretty (JsonNode *node);
void
ac_cli_print_json_builder_pretty (JsonBuilder *builder);
/* ac-cli-status.c (modules virt, flow) */
void ac_cli_json_add_status (JsonBuilder *builder, const AcStatus *status);
gchar *ac_cli_status_event_to_string (const gchar *domain, const AcStatus *status);

/* What list and status share (cli-list.c). */
const gchar *ac_cli_tag_mode (const AcTag *tag, gboolean json);
gchar *ac_cli_ssh_hint (const AcStatus *status);
gboolean ac_cli_status_tag_changed (const AcStatus *status, const AcDomain *domain);
gboolean ac_cli_status_instance_kept (const AcStatus *status);
gchar *ac_cli_format_bytes (guint64 bytes);
const AcHost *
ac_cli_find_domain_host (AcCliGlobal *global, GPtrArray *hosts, const gchar *name, GError **error);
/* A connection to each host of a fleet, all opened at once (cli-list.c): an array parallel to
 * the hosts, of AcCliHostConn */
typedef struct {
	gpointer conn; /* virConnectPtr; %NULL when it could not be opened: @error says why */
	GError *error;
} AcCliHostConn;
GPtrArray *ac_cli_connect_hosts (AcCliGlobal *global, GPtrArray *hosts);
int ac_cli_hosts_done (int exit_code);
/* how long a fleet's hosts are waited for when --timeout is not given */
#define AC_CLI_HOST_WAIT_S 30

/* Command groups, one file each; the front's cli-snp.c and cli-ipfs.c, the main module's
 * cli-sev.c, cli-devnet.c. */
int ac_cli_cmd_tag (AcCliGlobal *global, int argc, char **argv);
int ac_cli_cmd_untag (AcCliGlobal *global, int argc, char **argv);
int ac_cli_cmd_status (AcCliGlobal *global, int argc, char **argv);
int ac_cli_cmd_list (AcCliGlobal *global, int argc, char **argv);
int ac_cli_cmd_validate (AcCliGlobal *global, int argc, char **argv);
int ac_cli_cmd_apply (AcCliGlobal *global, int argc, char **argv);
/* stop, reboot, erase, forget and delete, by their name in @argv[0] */
int ac_cli_cmd_instance (AcCliGlobal *global, int argc, char **argv);
int ac_cli_cmd_adopt (AcCliGlobal *global, int argc, char **argv);
int ac_cli_cmd_logs (AcCliGlobal *global, int argc, char **argv);
int ac_cli_cmd_console (AcCliGlobal *global, int argc, char **argv);
int ac_cli_cmd_doctor (AcCliGlobal *global, int argc, char **argv);
int ac_cli_cmd_attest (AcCliGlobal *global, int argc, char **argv);
int ac_cli_cmd_account (AcCliGlobal *global, int argc, char **argv);
int ac_cli_cmd_message (AcCliGlobal *global, int argc, char **argv);
int ac_cli_cmd_ipfs (AcCliGlobal *global, int argc, char **argv);
int ac_cli_cmd_sev (AcCliGlobal *global, int argc, char **argv);
int ac_cli_cmd_snp (AcCliGlobal *global, int argc, char **argv);
int ac_cli_cmd_build (AcCliGlobal *global, int argc, char **argv);
int ac_cli_cmd_devnet (AcCliGlobal *global, int argc, char **argv);

G_END_DECLS
