/*
 * Helpers shared by the test suites: a scratch directory made and removed with everything below
 * it, a data file read whole, copied or written padded to a size, a result compared with its expected file. Header-only:
 * include it with a relative path ("../test-util.h").
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>

/* a new private directory from @tmpl (g_dir_make_tmp's template); the test fails without one */
static inline gchar *
test_util_mkdtemp (const gchar *tmpl)
{
	g_autoptr (GError) error = NULL;
	gchar *dir = g_dir_make_tmp (tmpl, &error);

	g_assert_no_error (error);
	g_assert_nonnull (dir);
	return dir;
}

/* writes @path: @text, then newlines up to @size bytes in all (a file of an exact size that
 * still parses: PEM and most text formats ignore what follows) */
static inline void
test_util_write_padded (const gchar *path, const gchar *text, gsize size)
{
	g_autofree gchar *buf = g_malloc (size);
	gsize n = strlen (text);

	g_assert_cmpuint (n, <=, size);
	memcpy (buf, text, n);
	memset (buf + n, '\n', size - n);
	g_assert_true (g_file_set_contents (path, buf, (gssize)size, NULL));
}

/* removes @path and, when it is a directory, everything below it; a symbolic link is removed,
 * never followed; NULL or a missing path is nothing to do */
static inline void
test_util_rm_rf (const gchar *path)
{
	struct stat st;

	if (path == NULL || g_lstat (path, &st) != 0)
		return;
	if (S_ISDIR (st.st_mode)) {
		g_autoptr (GDir) d = g_dir_open (path, 0, NULL);
		const gchar *e;

		while (d != NULL && (e = g_dir_read_name (d)) != NULL) {
			g_autofree gchar *p = g_build_filename (path, e, NULL);
			test_util_rm_rf (p);
		}
		(void)g_rmdir (path);
	} else {
		(void)g_unlink (path);
	}
}

/* the whole file at @path, NUL-terminated, its length in @len (nullable); the test fails
 * without it */
static inline gchar *
test_util_read (const gchar *path, gsize *len)
{
	g_autoptr (GError) error = NULL;
	gchar *data = NULL;

	if (!g_file_get_contents (path, &data, len, &error))
		g_error ("%s", error->message);
	return data;
}

static inline GBytes *
test_util_read_bytes (const gchar *path)
{
	gsize len = 0;
	gchar *data = test_util_read (path, &len);
	return g_bytes_new_take (data, len);
}

/* the file @from copied to @rel below @dir, the directories between made; the test fails
 * otherwise */
static inline void
test_util_copy_to (const gchar *from, const gchar *dir, const gchar *rel)
{
	g_autoptr (GError) error = NULL;
	g_autofree gchar *to = g_build_filename (dir, rel, NULL);
	g_autofree gchar *parent = g_path_get_dirname (to);
	gsize len = 0;
	g_autofree gchar *data = test_util_read (from, &len);

	g_assert_cmpint (g_mkdir_with_parents (parent, 0755), ==, 0);
	g_file_set_contents (to, data, (gssize)len, &error);
	g_assert_no_error (error);
}

/* @actual equals the content of @path; with AC_TEST_REGENERATE set, @path is rewritten with it
 * instead (the fixtures' expected files) */
static inline void
test_util_compare_or_regenerate (const gchar *path, const gchar *actual)
{
	g_autofree gchar *expected = NULL;

	if (g_getenv ("AC_TEST_REGENERATE") != NULL) {
		g_autoptr (GError) error = NULL;
		g_assert_true (g_file_set_contents (path, actual, -1, &error));
		return;
	}
	expected = test_util_read (path, NULL);
	g_assert_cmpstr (actual, ==, expected);
}
