/*
 * ac_run_tool() and ac_process_tool_environ(): an external tool gets a clean environment, never
 * the caller's (where a template's passphrase.env lives). No root needed.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "../lib/test-vmflags.h"

#include <stdio.h>

#include "ac-builder-run.h"
#include "ac-secret.h"
#include "ac-error.h"
#include "ac-process.h"

static void
test_run_tool_clean_environment (void)
{
	const gchar *argv[] = { "env", NULL };
	const gchar *extra[] = { "AC_TEST_EXTRA=given", NULL };
	g_autoptr(GError) error = NULL;
	g_autofree gchar *out = NULL;

	g_setenv ("AC_TEST_RUN_SECRET", "run-secret-4f9c", TRUE);
	g_setenv ("TMPDIR", "/tmp", TRUE);
	g_assert_true (ac_run_tool (argv, extra, NULL, &out, &error));
	g_unsetenv ("AC_TEST_RUN_SECRET");
	g_assert_no_error (error);
	g_assert_null (strstr (out, "AC_TEST_RUN_SECRET"));
	g_assert_null (strstr (out, "run-secret-4f9c"));
	g_assert_nonnull (strstr (out, "AC_TEST_EXTRA=given\n"));
	g_assert_nonnull (strstr (out, "LC_ALL=C\n"));
	g_assert_nonnull (strstr (out, "TMPDIR=/tmp\n"));
	g_assert_nonnull (strstr (out, "PATH="));
}

static void
test_tool_environ (void)
{
	const gchar *extra[] = { "LC_ALL=POSIX", "NOVALUE", NULL };
	g_auto(GStrv) envp = NULL;

	g_setenv ("AC_TEST_RUN_SECRET", "run-secret-4f9c", TRUE);
	g_setenv ("HOME", "/root", TRUE);
	envp = ac_process_tool_environ (extra);
	g_unsetenv ("AC_TEST_RUN_SECRET");
	g_assert_null (g_environ_getenv (envp, "AC_TEST_RUN_SECRET"));
	g_assert_cmpstr (g_environ_getenv (envp, "PATH"), ==, g_getenv ("PATH"));
	g_assert_cmpstr (g_environ_getenv (envp, "LANG"), ==, "C");
	g_assert_cmpstr (g_environ_getenv (envp, "LC_ALL"), ==, "POSIX"); /* extra overrides */
	g_assert_null (g_environ_getenv (envp, "NOVALUE"));
	g_assert_null (g_environ_getenv (envp, "HOME"));
}

/* ac_argv_add() appends copies, in order, up to the NULL; the caller terminates the vector */
static void
test_argv_add (void)
{
	g_autoptr (GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
	gchar value[] = "value";

	ac_argv_add (argv, "tool", "-x", NULL);
	ac_argv_add (argv, value, NULL);
	value[0] = 'V';
	ac_argv_add (argv, "last", NULL);
	g_assert_cmpuint (argv->len, ==, 4);
	g_assert_cmpstr (g_ptr_array_index (argv, 0), ==, "tool");
	g_assert_cmpstr (g_ptr_array_index (argv, 1), ==, "-x");
	g_assert_cmpstr (g_ptr_array_index (argv, 2), ==, "value");
	g_assert_cmpstr (g_ptr_array_index (argv, 3), ==, "last");
}

/* a secret's pages are left out of core dumps ("dd"), whichever way it was made */
static void
test_secret_not_dumped (void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(AcSecret) given = ac_secret_new ("a passphrase", 12);
	g_autoptr(AcSecret) made = ac_secret_generate_passphrase (32, &error);
	g_autofree gchar *f1 = vm_flags_of (given->data);
	g_autofree gchar *f2 = NULL;
	g_assert_no_error (error);
	f2 = vm_flags_of (made->data);
	g_assert_nonnull (f1);
	g_assert_nonnull (f2);
	g_assert_nonnull (strstr (f1, " dd "));
	g_assert_nonnull (strstr (f2, " dd "));
	g_assert_cmpstr (given->data, ==, "a passphrase");
}

int
main (int argc, char **argv)
{
	g_test_init (&argc, &argv, NULL);
	g_test_add_func ("/builder/run/tool-clean-environment", test_run_tool_clean_environment);
	g_test_add_func ("/builder/run/tool-environ", test_tool_environ);
	g_test_add_func ("/builder/run/argv-add", test_argv_add);
	g_test_add_func ("/builder/run/secret-not-dumped", test_secret_not_dumped);
	return g_test_run ();
}
