/*
 * Helpers shared by the builder tests: running the independent tools (qemu-img, cryptsetup,
 * sfdisk, mtools, e2fsprogs) and making small trees.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>
#include <glib/gstdio.h>

/* Runs @argv with @input on stdin; returns the exit status (-1: could not run). */
static inline gint
ac_test_run (const gchar *const *argv, const gchar *input, gchar **out)
{
	g_autoptr(GSubprocess) proc = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *o = NULL;
	g_autofree gchar *e = NULL;
	proc = g_subprocess_newv (argv, G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE |
					G_SUBPROCESS_FLAGS_STDERR_PIPE, &error);
	if (proc == NULL) {
		g_test_message ("cannot run %s: %s", argv[0], error->message);
		return -1;
	}
	if (!g_subprocess_communicate_utf8 (proc, input != NULL ? input : "", NULL, &o, &e, &error)) {
		g_test_message ("%s: %s", argv[0], error->message);
		return -1;
	}
	if (!g_subprocess_get_if_exited (proc))
		return -1;
	if (g_subprocess_get_exit_status (proc) != 0)
		g_test_message ("%s exited %d: %s%s", argv[0], g_subprocess_get_exit_status (proc),
				o != NULL ? o : "", e != NULL ? e : "");
	if (out != NULL)
		*out = g_steal_pointer (&o);
	return g_subprocess_get_exit_status (proc);
}

static inline gboolean
ac_test_have (const gchar *tool)
{
	g_autofree gchar *p = g_find_program_in_path (tool);
	return p != NULL;
}

static inline void
ac_test_write (const gchar *dir, const gchar *rel, const gchar *content, guint mode)
{
	g_autofree gchar *path = g_build_filename (dir, rel, NULL);
	g_autofree gchar *parent = g_path_get_dirname (path);
	g_autoptr(GError) error = NULL;
	g_assert_cmpint (g_mkdir_with_parents (parent, 0755), ==, 0);
	g_file_set_contents (path, content, -1, &error);
	g_assert_no_error (error);
	g_assert_cmpint (g_chmod (path, mode), ==, 0);
}

static inline gchar *
ac_test_mkdtemp (void)
{
	g_autoptr(GError) error = NULL;
	gchar *dir = g_dir_make_tmp ("ac-builder-test-XXXXXX", &error);
	g_assert_no_error (error);
	return dir;
}

static inline void
ac_test_rm_rf (const gchar *path)
{
	const gchar *argv[] = { "rm", "-rf", "--one-file-system", path, NULL };
	if (path != NULL)
		ac_test_run (argv, NULL, NULL);
}
