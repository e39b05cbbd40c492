/*
 * virt-aleph devnet: runs the local Aleph network (aleph-devnet, devnet/) in the foreground.
 * The devnet is its own program (libsoup-3.0, sqlite3); this command finds it and hands over
 * its arguments: virt-aleph devnet --state-dir DIR [--crns N] | --config FILE.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <errno.h>
#include <unistd.h>

#include "ac-cli.h"

/* $ALEPH_DEVNET, beside this program (installed), the build tree, then $PATH */
static gchar *
devnet_find_program (void)
{
	const gchar *env = g_getenv ("ALEPH_DEVNET");
	g_autofree gchar *self = g_file_read_link ("/proc/self/exe", NULL);
	g_autofree gchar *dir = self != NULL ? g_path_get_dirname (self) : NULL;

	if (env != NULL && env[0] != '\0')
		return g_strdup (env);
	if (dir != NULL) {
		g_autofree gchar *beside = g_build_filename (dir, "aleph-devnet", NULL);
		g_autofree gchar *tree = g_build_filename (dir, "..", "..", "devnet", "aleph-devnet", NULL);
		if (g_file_test (beside, G_FILE_TEST_IS_EXECUTABLE))
			return g_steal_pointer (&beside);
		if (g_file_test (tree, G_FILE_TEST_IS_EXECUTABLE))
			return g_canonicalize_filename (tree, NULL);
	}
	return g_find_program_in_path ("aleph-devnet");
}

int
ac_cli_cmd_devnet (AcCliGlobal *global, int argc, char **argv)
{
	g_autofree gchar *program = devnet_find_program ();
	g_autoptr(GPtrArray) args = g_ptr_array_new ();
	g_autoptr(GError) error = NULL;

	if (program == NULL) {
		g_set_error_literal (&error,
				     AC_ERROR,
				     AC_ERROR_UNSUPPORTED,
				     "aleph-devnet is not installed (it is built when libsoup-3.0 and sqlite3 "
				     "are available); set ALEPH_DEVNET to its path");
		return ac_cli_fail (global, error);
	}
	g_ptr_array_add (args, program);
	for (int i = 1; i < argc; i++)
		g_ptr_array_add (args, argv[i]);
	if (global->debug)
		g_ptr_array_add (args, (gpointer) "--debug");
	g_ptr_array_add (args, NULL);
	execv (program, (char **)args->pdata);
	g_set_error (&error, AC_ERROR, AC_ERROR_IO, "running %s: %s", program, g_strerror (errno));
	return ac_cli_fail (global, error);
}
