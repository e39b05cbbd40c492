/*
 * ac_run_tool() and ac_process_tool_environ(): an external tool gets a clean environment, never
 * the caller's (where a template's passphrase.env lives). No root needed.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "ac-builder-run.h"
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

int
main (int argc, char **argv)
{
	g_test_init (&argc, &argv, NULL);
	g_test_add_func ("/builder/run/tool-clean-environment", test_run_tool_clean_environment);
	g_test_add_func ("/builder/run/tool-environ", test_tool_environ);
	return g_test_run ();
}
