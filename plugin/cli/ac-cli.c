/*
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <stdio.h>

#include "ac-cli.h"
#include "ac-json-write.h"

/* --json, --quiet, --debug: callbacks rather than booleans, because a failing
 * g_option_context_parse() resets the booleans it set, and its error must still be JSON */
static gboolean
ac_cli_flag_cb (const gchar *option_name, const gchar *value, gpointer data, GError **error)
{
	AcCliGlobal *global = data;
	if (g_strcmp0 (option_name, "--json") == 0)
		global->json = TRUE;
	else if (g_strcmp0 (option_name, "--quiet") == 0 || g_strcmp0 (option_name, "-q") == 0)
		global->quiet = TRUE;
	else if (g_strcmp0 (option_name, "--debug") == 0)
		global->debug = TRUE;
	return TRUE;
}

/**
 * ac_cli_parse_timeout:
 *
 * A whole number of seconds from 1 to AC_CLI_TIMEOUT_MAX_S, for @option.
 */
gboolean
ac_cli_parse_timeout (const gchar *option, const gchar *value, guint *seconds, GError **error)
{
	guint64 v = 0;
	if (value == NULL ||
	    !g_ascii_string_to_unsigned (value, 10, 1, AC_CLI_TIMEOUT_MAX_S, &v, NULL)) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			     "%s '%s': expected a whole number of seconds from 1 to %u", option,
			     value != NULL ? value : "", AC_CLI_TIMEOUT_MAX_S);
		return FALSE;
	}
	*seconds = (guint)v;
	return TRUE;
}

static gboolean
ac_cli_timeout_cb (const gchar *option_name, const gchar *value, gpointer data, GError **error)
{
	AcCliGlobal *global = data;
	return ac_cli_parse_timeout ("--timeout", value, &global->timeout_s, error);
}

/**
 * ac_cli_option_context_new:
 *
 * An option context with the global options (--connect, --json, --quiet, --debug, --timeout) in its
 * main group, so they work after the command name too. Add the command's own entries with
 * g_option_context_add_main_entries().
 */
GOptionContext *
ac_cli_option_context_new (AcCliGlobal *global, const gchar *parameter_string, const gchar *summary)
{
	GOptionEntry entries[] = {
		{ "connect", 'c', 0, G_OPTION_ARG_STRING, &global->connect_uri,
		  "libvirt URI (default: qemu:///system)", "URI" },
		{ "json", 0, G_OPTION_FLAG_NO_ARG, G_OPTION_ARG_CALLBACK, (gpointer)ac_cli_flag_cb,
		  "machine-readable output (JSON; NDJSON progress events)", NULL },
		{ "quiet", 'q', G_OPTION_FLAG_NO_ARG, G_OPTION_ARG_CALLBACK,
		  (gpointer)ac_cli_flag_cb, "no progress output", NULL },
		{ "debug", 0, G_OPTION_FLAG_NO_ARG, G_OPTION_ARG_CALLBACK, (gpointer)ac_cli_flag_cb,
		  "print every input and intermediate value", NULL },
		{ "timeout", 0, 0, G_OPTION_ARG_CALLBACK, (gpointer)ac_cli_timeout_cb,
		  "give up on an HTTP call (connect, answer and retries) after SECONDS (default 120); "
		  "message send: also the wait for processing (default 600); --config: the wait for "
		  "the hosts to connect (default 30)", "SECONDS" },
		{ "password-file", 0, 0, G_OPTION_ARG_FILENAME, &global->password_file,
		  "the password of a JSON keystore key file (its first line); default: asked on the "
		  "terminal", "FILE" },
		{ NULL },
	};
	GOptionContext *context = g_option_context_new (parameter_string);
	GOptionGroup *main_group = g_option_group_new (NULL, NULL, NULL, global, NULL);
	g_option_context_set_main_group (context, main_group);
	g_option_context_set_summary (context, summary);
	g_option_context_add_main_entries (context, entries, NULL);
	return context;
}

gboolean
ac_cli_parse (GOptionContext *context, int *argc, char ***argv, GError **error)
{
	if (!g_option_context_parse (context, argc, argv, error)) {
		if (error != NULL && *error != NULL && (*error)->domain != AC_ERROR) {
			GError *e = *error;
			*error = g_error_new_literal (AC_ERROR, AC_ERROR_INVALID_INPUT, e->message);
			g_error_free (e);
		}
		return FALSE;
	}
	return TRUE;
}

/**
 * ac_cli_parse_args:
 * @n_args: how many arguments the command takes after its name
 * @expected: what it takes, for the error ("tag: expected one DOMAIN")
 *
 * ac_cli_parse(), then the count of what is left: "@expected, got N arguments", or when the
 * command takes none, "@expected, got 'FIRST'".
 */
gboolean
ac_cli_parse_args (GOptionContext *context,
                   int *argc,
                   char ***argv,
                   int n_args,
                   const gchar *expected,
                   GError **error)
{
	if (!ac_cli_parse (context, argc, argv, error))
		return FALSE;
	if (*argc - 1 == n_args)
		return TRUE;
	if (n_args == 0)
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT, "%s, got '%s'", expected,
		             (*argv)[1]);
	else
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT, "%s, got %d arguments",
		             expected, *argc - 1);
	return FALSE;
}

/**
 * ac_cli_prescan:
 *
 * Sets --json, --quiet and --debug from the whole command line before a command parses it:
 * for what is reported before that (no command, an unknown command or subcommand) and for
 * devnet, which hands its options to aleph-devnet.
 */
void
ac_cli_prescan (AcCliGlobal *global, int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (g_strcmp0 (argv[i], "--") == 0)
			break;
		if (g_strcmp0 (argv[i], "--json") == 0)
			global->json = TRUE;
		else if (g_strcmp0 (argv[i], "--quiet") == 0 || g_strcmp0 (argv[i], "-q") == 0)
			global->quiet = TRUE;
		else if (g_strcmp0 (argv[i], "--debug") == 0)
			global->debug = TRUE;
	}
}

const gchar *
ac_cli_get_uri (AcCliGlobal *global)
{
	const gchar *env;
	if (global->connect_uri != NULL)
		return global->connect_uri;
	env = g_getenv ("VIRT_ALEPH_DEFAULT_URI");
	if (env != NULL && env[0] != '\0')
		return env;
	env = g_getenv ("LIBVIRT_DEFAULT_URI");
	if (env != NULL && env[0] != '\0')
		return env;
	return "qemu:///system";
}

/**
 * ac_cli_error_from_exit_code:
 *
 * The error class of a documented exit code (AC_ERROR_INTERNAL for unknown ones): for the
 * `code` of errors of other domains, and for exit codes of other programs (aleph-devnet).
 */
AcError
ac_cli_error_from_exit_code (gint exit_code)
{
	for (gint c = 0; c < AC_ERROR_LAST; c++) {
		GError e = { AC_ERROR, c, NULL };
		if ((gint)ac_error_to_exit_code (&e) == exit_code)
			return (AcError)c;
	}
	return AC_ERROR_INTERNAL;
}

/**
 * ac_cli_error_from_string:
 *
 * The code named @name by ac_error_code_to_string() (a status element's errorCode).
 */
gboolean
ac_cli_error_from_string (const gchar *name, AcError *code)
{
	if (name == NULL)
		return FALSE;
	for (gint c = 0; c < AC_ERROR_LAST; c++) {
		if (g_strcmp0 (ac_error_code_to_string ((AcError)c), name) == 0) {
			*code = (AcError)c;
			return TRUE;
		}
	}
	return FALSE;
}

/**
 * ac_cli_print_json_text:
 *
 * One --json document or event, @text, as one line on stdout, flushed.
 */
void
ac_cli_print_json_text (const gchar *text)
{
	printf ("%s\n", text);
	fflush (stdout);
}

/**
 * ac_cli_fail_json:
 *
 * The --json error object of @error ({"error":{"code":NAME,"exit":N,"message":TEXT}}, NAME the
 * class of the exit code for errors of other domains too), left open in @w for members beside
 * "error"; and its exit code.
 */
AcExitCode
ac_cli_fail_json (AcJsonWriter *w, const GError *error)
{
	AcExitCode code = ac_error_to_exit_code (error);
	const gchar *kind = error->domain == AC_ERROR
	                        ? ac_error_code_to_string (error->code)
	                        : ac_error_code_to_string (ac_cli_error_from_exit_code (code));
	g_autofree gchar *message = g_utf8_make_valid (error->message, -1);

	ac_json_writer_begin_object (w, NULL);
	ac_json_writer_begin_object (w, "error");
	ac_json_writer_string (w, "code", kind);
	ac_json_writer_int (w, "exit", code);
	ac_json_writer_string (w, "message", message);
	ac_json_writer_end_object (w);
	return code;
}

/**
 * ac_cli_fail:
 * @error: (transfer full): the error to report
 *
 * Prints the error (as JSON with --json, ac_cli_fail_json) and returns its exit code.
 */
int
ac_cli_fail (AcCliGlobal *global, GError *error)
{
	AcExitCode code = ac_error_to_exit_code (error);
	if (global->json) {
		g_auto (AcJsonWriter) w = { 0 };
		ac_json_writer_init (&w);
		code = ac_cli_fail_json (&w, error);
		ac_json_writer_end_object (&w);
		ac_cli_print_json_text (ac_json_writer_get_text (&w));
	} else {
		fprintf (stderr, "virt-aleph: %s\n", error->message);
	}
	g_error_free (error);
	return (int)code;
}

/**
 * ac_cli_usage_error:
 *
 * A command line @ctx does not take: its help on stderr (not with --json), then @msg as an
 * AC_ERROR_INVALID_INPUT through ac_cli_fail().
 */
int
ac_cli_usage_error (AcCliGlobal *global, GOptionContext *ctx, const gchar *msg)
{
	g_autofree gchar *help = g_option_context_get_help (ctx, TRUE, NULL);
	if (!global->json)
		fprintf (stderr, "%s\n", help);
	return ac_cli_fail (global, g_error_new_literal (AC_ERROR, AC_ERROR_INVALID_INPUT, msg));
}
