/*
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <json-glib/json-glib.h>
#include <stdio.h>

#include "ac-cli.h"

/**
 * ac_cli_option_context_new:
 *
 * An option context with the global options (--connect, --json, --quiet, --debug) in its
 * main group, so they work after the command name too. Add the command's own entries with
 * g_option_context_add_main_entries().
 */
GOptionContext *
ac_cli_option_context_new (AcCliGlobal *global, const gchar *parameter_string, const gchar *summary)
{
	GOptionEntry entries[] = {
		{ "connect", 'c', 0, G_OPTION_ARG_STRING, &global->connect_uri,
		  "libvirt URI (default: qemu:///system)", "URI" },
		{ "json", 0, 0, G_OPTION_ARG_NONE, &global->json,
		  "machine-readable output (JSON; NDJSON progress events)", NULL },
		{ "quiet", 'q', 0, G_OPTION_ARG_NONE, &global->quiet, "no progress output", NULL },
		{ "debug", 0, 0, G_OPTION_ARG_NONE, &global->debug,
		  "print every input and intermediate value", NULL },
		{ NULL },
	};
	GOptionContext *context = g_option_context_new (parameter_string);
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
 * ac_cli_fail:
 * @error: (transfer full): the error to report
 *
 * Prints the error (as JSON with --json) and returns its exit code.
 */
int
ac_cli_fail (AcCliGlobal *global, GError *error)
{
	AcExitCode code = ac_error_to_exit_code (error);
	const gchar *kind = error->domain == AC_ERROR ? ac_error_code_to_string (error->code)
						      : "internal";
	if (global->json) {
		g_autoptr(JsonBuilder) b = json_builder_new ();
		g_autoptr(JsonNode) root = NULL;
		g_autofree gchar *text = NULL;
		json_builder_begin_object (b);
		json_builder_set_member_name (b, "error");
		json_builder_begin_object (b);
		json_builder_set_member_name (b, "code");
		json_builder_add_string_value (b, kind);
		json_builder_set_member_name (b, "exit");
		json_builder_add_int_value (b, code);
		json_builder_set_member_name (b, "message");
		json_builder_add_string_value (b, error->message);
		json_builder_end_object (b);
		json_builder_end_object (b);
		root = json_builder_get_root (b);
		text = json_to_string (root, FALSE);
		fprintf (stdout, "%s\n", text);
	} else {
		fprintf (stderr, "virt-aleph: %s\n", error->message);
	}
	g_error_free (error);
	return (int)code;
}
