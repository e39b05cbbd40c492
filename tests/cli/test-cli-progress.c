/*
 * virt-aleph's progress drawing (plugin/cli/ac-cli-progress.c): NDJSON events, a terminal bar,
 * step lines, nothing when quiet; a change that moves nothing draws nothing.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <json-glib/json-glib.h>
#include <stdio.h>
#include <string.h>

#include "ac-cli-progress.h"

static gchar *
capture (AcCliProgressOutput output)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream (&buf, &len);
	g_autoptr(AcProgress) p = ac_progress_new ("build");
	gchar *result;

	ac_cli_progress_attach (p, output, f);
	ac_progress_add_step (p, "assemble", 1);
	ac_progress_add_step (p, "encrypt", 1);
	for (guint i = 0; i <= 10; i++)
		ac_progress_set_fraction (ac_progress_get_child (p), i, 10);
	/* the same value again prints nothing new */
	ac_progress_set_fraction (ac_progress_get_child (p), 10, 10);
	ac_progress_step_done (p);
	ac_progress_step_done (p);
	fclose (f);
	result = g_strndup (buf, len);
	free (buf);
	return result;
}

static void
test_output_json (void)
{
	g_autofree gchar *out = capture (AC_CLI_PROGRESS_OUTPUT_JSON);
	g_auto(GStrv) lines = g_strsplit (out, "\n", -1);
	gdouble last = -1.0;
	guint n = 0;

	for (guint i = 0; lines[i] != NULL && lines[i][0] != '\0'; i++) {
		g_autoptr(JsonParser) parser = json_parser_new ();
		g_autoptr(GError) error = NULL;
		JsonObject *o;
		g_assert_true (json_parser_load_from_data (parser, lines[i], -1, &error));
		o = json_node_get_object (json_parser_get_root (parser));
		g_assert_cmpstr (json_object_get_string_member (o, "event"), ==, "progress");
		g_assert_cmpstr (json_object_get_string_member (o, "id"), ==, "build");
		g_assert_cmpfloat (json_object_get_double_member (o, "percent"), >=, last);
		last = json_object_get_double_member (o, "percent");
		n++;
	}
	g_assert_cmpfloat_with_epsilon (last, 100.0, 1e-9);
	/* one event per change: 11 fractions of the first step + 2 step changes, no duplicate */
	g_assert_cmpuint (n, ==, 13);
}

static void
test_output_quiet (void)
{
	g_autofree gchar *out = capture (AC_CLI_PROGRESS_OUTPUT_QUIET);
	g_assert_cmpstr (out, ==, "");
}

static void
test_output_tty_and_lines (void)
{
	g_autofree gchar *tty = capture (AC_CLI_PROGRESS_OUTPUT_TTY);
	g_autofree gchar *lines = capture (AC_CLI_PROGRESS_OUTPUT_LINES);
	g_assert_nonnull (strstr (tty, "\r"));
	g_assert_nonnull (strstr (tty, "100%"));
	g_assert_true (g_str_has_suffix (tty, "\n"));
	g_assert_cmpstr (lines, ==, "build: assemble\nbuild: encrypt\n");
	g_assert_cmpint (ac_cli_progress_output_pick (TRUE, TRUE, stderr), ==, AC_CLI_PROGRESS_OUTPUT_JSON);
	g_assert_cmpint (ac_cli_progress_output_pick (FALSE, TRUE, stderr), ==, AC_CLI_PROGRESS_OUTPUT_QUIET);
}

int
main (int argc, char **argv)
{
	g_test_init (&argc, &argv, NULL);
	g_test_add_func ("/cli/progress/json", test_output_json);
	g_test_add_func ("/cli/progress/quiet", test_output_quiet);
	g_test_add_func ("/cli/progress/tty-and-lines", test_output_tty_and_lines);
	return g_test_run ();
}
