/*
 * virt-aleph's --json output of json-glib nodes: in the main module (cli-main.so), which links
 * json-glib; the front writes its own with ac-json-write.h (ac-cli.c).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <json-glib/json-glib.h>
#include <stdio.h>

#include "ac-cli.h"
#include "ac-json-write.h"

void
ac_cli_print_json (JsonNode *node)
{
	g_autofree gchar *text = json_to_string (node, FALSE);
	ac_cli_print_json_text (text);
}

void
ac_cli_print_json_builder (JsonBuilder *builder)
{
	g_autoptr (JsonNode) root = json_builder_get_root (builder);
	ac_cli_print_json (root);
}

void
ac_cli_print_json_pretty (JsonNode *node)
{
	g_autofree gchar *text = json_to_string (node, TRUE);
	printf ("%s\n", text);
}

void
ac_cli_print_json_builder_pretty (JsonBuilder *builder)
{
	g_autoptr (JsonNode) root = json_builder_get_root (builder);
	ac_cli_print_json_pretty (root);
}

/**
 * ac_cli_fail_with:
 * @error: (transfer full): the error to report
 * @extra: (nullable): members printed beside "error" with --json (the facts known so far)
 *
 * Prints the error and returns its exit code. With --json: one line
 * {"error":{"code":NAME,"exit":N,"message":TEXT},…@extra} on stdout (ac_cli_fail_json).
 */
int
ac_cli_fail_with (AcCliGlobal *global, GError *error, JsonObject *extra)
{
	g_auto (AcJsonWriter) w = { 0 };
	g_autoptr (GList) names = NULL;
	AcExitCode code;

	if (!global->json || extra == NULL)
		return ac_cli_fail (global, error);
	ac_json_writer_init (&w);
	code = ac_cli_fail_json (&w, error);
	names = json_object_get_members (extra);
	for (GList *l = names; l != NULL; l = l->next) {
		g_autofree gchar *text = NULL;
		if (g_strcmp0 (l->data, "error") == 0)
			continue;
		text = json_to_string (json_object_get_member (extra, l->data), FALSE);
		ac_json_writer_raw (&w, l->data, text);
	}
	ac_json_writer_end_object (&w);
	ac_cli_print_json_text (ac_json_writer_get_text (&w));
	g_error_free (error);
	return (int)code;
}
