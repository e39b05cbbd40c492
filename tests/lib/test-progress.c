/*
 * AcProgress: weighted fractions across nested steps, and what it reports to a listener.
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

static void
changed_cb (AcProgress *p, gdouble fraction, const gchar *path, gpointer user_data)
{
	GString *log = user_data;
	g_string_append_printf (log, "%.2f %s\n", fraction, path);
}

/* what a listener is told: every move of a leaf, from the root, with the step path */
static void
test_changed (void)
{
	g_autoptr(AcProgress) p = ac_progress_new ("build");
	g_autoptr(GString) log = g_string_new (NULL);

	g_assert_cmpstr (ac_progress_get_id (p), ==, "build");
	g_signal_connect (p, "changed", G_CALLBACK (changed_cb), log);
	ac_progress_add_step (p, "assemble", 1);
	ac_progress_add_step (p, "encrypt", 3);
	ac_progress_set_fraction (ac_progress_get_child (p), 1, 2);
	ac_progress_step_done (p);
	ac_progress_set_fraction (ac_progress_get_child (p), 2, 3);
	ac_progress_step_done (p);
	g_assert_cmpstr (log->str, ==,
			 "0.12 assemble\n"
			 "0.25 encrypt\n"
			 "0.75 encrypt\n"
			 "1.00 \n");
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
	g_test_add_func ("/common/progress/changed", test_changed);
	g_test_add_func ("/common/exit-codes", test_exit_codes);
	return g_test_run ();
}
