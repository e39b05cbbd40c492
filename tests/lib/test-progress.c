/*
 * AcProgress: weighted fractions across nested steps, and its three outputs.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <json-glib/json-glib.h>
#include <stdio.h>
#include <string.h>

#include "ac-error.h"
#include "ac-progress.h"

static void
test_weights (void)
{
	g_autoptr(AcProgress) p = ac_progress_new ("apply");
	AcProgress *child;
	g_autofree gchar *path = NULL;
	guint64 done = 0, total = 0;

	ac_progress_add_step (p, "build", 60);
	ac_progress_add_step (p, "publish", 30);
	ac_progress_add_step (p, "attest", 10);
	g_assert_cmpfloat_with_epsilon (ac_progress_get_fraction (p), 0.0, 1e-9);

	child = ac_progress_get_child (p);
	ac_progress_add_step (child, "encrypt", 3);
	ac_progress_add_step (child, "verify", 1);
	/* no units yet; peeking creates no child */
	g_assert_false (ac_progress_get_units (p, &done, &total));
	g_assert_null (ac_progress_peek_child (child));
	ac_progress_set_fraction (ac_progress_get_child (child), 50, 100);
	/* build is 60 %: half of encrypt (3/4 of build) → 0.6 * 0.375 */
	g_assert_cmpfloat_with_epsilon (ac_progress_get_fraction (p), 0.225, 1e-9);
	path = ac_progress_get_step_path (p);
	g_assert_cmpstr (path, ==, "build/encrypt");
	/* the deepest step's units (the bytes a status shows), from the root */
	g_assert_true (ac_progress_get_units (p, &done, &total));
	g_assert_cmpuint (done, ==, 50);
	g_assert_cmpuint (total, ==, 100);
	g_assert_true (ac_progress_peek_child (p) == child);
	g_assert_cmpfloat_with_epsilon (ac_progress_get_fraction (ac_progress_peek_child (p)), 0.375, 1e-9);

	ac_progress_step_done (child);
	/* the step that reported them is over: no units until the next one reports */
	g_assert_false (ac_progress_get_units (p, &done, &total));
	g_assert_cmpfloat_with_epsilon (ac_progress_get_fraction (p), 0.45, 1e-9);
	ac_progress_step_done (p);
	g_assert_cmpfloat_with_epsilon (ac_progress_get_fraction (p), 0.6, 1e-9);
	ac_progress_step_done (p);
	ac_progress_step_done (p);
	g_assert_cmpfloat_with_epsilon (ac_progress_get_fraction (p), 1.0, 1e-9);
}

static gchar *
capture (AcProgressOutput output)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream (&buf, &len);
	g_autoptr(AcProgress) p = ac_progress_new ("build");
	gchar *result;

	ac_progress_set_output (p, output, f);
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
	g_autofree gchar *out = capture (AC_PROGRESS_OUTPUT_JSON);
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
	g_autofree gchar *out = capture (AC_PROGRESS_OUTPUT_QUIET);
	g_assert_cmpstr (out, ==, "");
}

static void
test_output_tty_and_lines (void)
{
	g_autofree gchar *tty = capture (AC_PROGRESS_OUTPUT_TTY);
	g_autofree gchar *lines = capture (AC_PROGRESS_OUTPUT_LINES);
	g_assert_nonnull (strstr (tty, "\r"));
	g_assert_nonnull (strstr (tty, "100%"));
	g_assert_true (g_str_has_suffix (tty, "\n"));
	g_assert_cmpstr (lines, ==, "build: assemble\nbuild: encrypt\n");
	g_assert_cmpint (ac_progress_output_pick (TRUE, TRUE, stderr), ==, AC_PROGRESS_OUTPUT_JSON);
	g_assert_cmpint (ac_progress_output_pick (FALSE, TRUE, stderr), ==, AC_PROGRESS_OUTPUT_QUIET);
}

static void
test_exit_codes (void)
{
	g_autoptr(GError) e1 = g_error_new_literal (AC_ERROR, AC_ERROR_UNTRUSTED, "x");
	g_autoptr(GError) e2 = g_error_new_literal (AC_ERROR, AC_ERROR_MISMATCH, "x");
	g_autoptr(GError) e3 = g_error_new_literal (G_FILE_ERROR, G_FILE_ERROR_NOENT, "x");
	g_autoptr(GError) e4 = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_FAILED, "x");
	g_assert_cmpint (ac_error_to_exit_code (NULL), ==, 0);
	g_assert_cmpint (ac_error_to_exit_code (e1), ==, AC_EXIT_UNTRUSTED);
	g_assert_cmpint (ac_error_to_exit_code (e2), ==, AC_EXIT_MISMATCH);
	g_assert_cmpint (ac_error_to_exit_code (e3), ==, AC_EXIT_NOT_FOUND);
	g_assert_cmpint (ac_error_to_exit_code (e4), ==, AC_EXIT_FAILURE);
	/* every code has a distinct exit status and a name */
	for (guint i = 0; i < AC_ERROR_LAST; i++) {
		g_autoptr(GError) a = g_error_new_literal (AC_ERROR, (gint)i, "x");
		g_assert_cmpstr (ac_error_code_to_string (i), !=, "unknown");
		for (guint j = i + 1; j < AC_ERROR_LAST; j++) {
			g_autoptr(GError) b = g_error_new_literal (AC_ERROR, (gint)j, "x");
			g_assert_cmpint (ac_error_to_exit_code (a), !=, ac_error_to_exit_code (b));
		}
	}
}

int
main (int argc, char **argv)
{
	g_test_init (&argc, &argv, NULL);
	g_test_add_func ("/common/progress/weights", test_weights);
	g_test_add_func ("/common/progress/json", test_output_json);
	g_test_add_func ("/common/progress/quiet", test_output_quiet);
	g_test_add_func ("/common/progress/tty-and-lines", test_output_tty_and_lines);
	g_test_add_func ("/common/exit-codes", test_exit_codes);
	return g_test_run ();
}
