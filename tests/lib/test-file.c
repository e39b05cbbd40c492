/* ac-file: bounded reads of regular files, outputs through an exclusive temporary file. */
#include "config.h"

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "ac-error.h"
#include "ac-file.h"
#include "../test-util.h"

static guint
count_entries (const gchar *dir)
{
	g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
	guint n = 0;
	while (d != NULL && g_dir_read_name (d) != NULL)
		n++;
	return n;
}

static void
test_read_bounded (void)
{
	g_autofree gchar *dir = test_util_mkdtemp ("ac-file-XXXXXX");
	g_autofree gchar *path = g_build_filename (dir, "in", NULL);
	g_autofree gchar *fifo = g_build_filename (dir, "fifo", NULL);
	g_autoptr(GError) error = NULL;
	g_autofree gchar *data = NULL;
	gsize len = 0;

	g_assert_true (g_file_set_contents (path, "0123456789", 10, NULL));
	g_assert_true (ac_file_read_bounded (path, 10, &data, &len, &error));
	g_assert_no_error (error);
	g_assert_cmpuint (len, ==, 10);
	g_assert_cmpstr (data, ==, "0123456789");
	g_clear_pointer (&data, g_free);

	/* one byte above the limit */
	g_assert_false (ac_file_read_bounded (path, 9, &data, &len, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
	g_assert_nonnull (strstr (error->message, "too large"));
	g_clear_error (&error);

	/* a device: refused before any read, however large it would grow */
	g_assert_false (ac_file_read_bounded ("/dev/zero", 1 << 20, &data, &len, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
	g_assert_nonnull (strstr (error->message, "/dev/zero is not a regular file"));
	g_clear_error (&error);

	/* a FIFO without a writer: the open does not block */
	g_assert_cmpint (mkfifo (fifo, 0600), ==, 0);
	g_assert_false (ac_file_read_bounded (fifo, 1 << 20, &data, &len, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
	g_assert_nonnull (strstr (error->message, "not a regular file"));
	g_clear_error (&error);

	g_assert_false (ac_file_read_bounded (dir, 1 << 20, &data, &len, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
	g_clear_error (&error);

	g_assert_cmpint (ac_file_open_regular ("/nonexistent/x", 1, NULL, &error), ==, -1);
	g_assert_error (error, AC_ERROR, AC_ERROR_NOT_FOUND);
	g_clear_error (&error);

	/* mapped: the same rules */
	{
		g_autoptr (GBytes) b = ac_file_map_bytes (path, 10, &error);
		g_assert_no_error (error);
		g_assert_cmpmem (g_bytes_get_data (b, NULL), g_bytes_get_size (b), "0123456789",
		                 10);
		g_assert_null (ac_file_map_bytes (path, 9, &error));
		g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
		g_clear_error (&error);
		g_assert_null (ac_file_map_bytes (fifo, 1 << 20, &error));
		g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
		g_assert_nonnull (strstr (error->message, "not a regular file"));
		g_clear_error (&error);
	}

	/* a secret's file: group and others may not access it; checked on the file opened */
	g_assert_cmpint (g_chmod (path, 0640), ==, 0);
	g_assert_false (
	    ac_file_read_bounded_full (path, 10, AC_FILE_READ_PRIVATE, &data, &len, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_PERMISSION);
	g_assert_nonnull (strstr (error->message, "has mode 0640"));
	g_clear_error (&error);
	g_assert_true (ac_file_read_bounded (path, 10, &data, &len, &error));
	g_clear_pointer (&data, g_free);
	g_assert_cmpint (g_chmod (path, 0600), ==, 0);
	g_assert_true (
	    ac_file_read_bounded_full (path, 10, AC_FILE_READ_PRIVATE, &data, &len, &error));
	g_assert_no_error (error);
	test_util_rm_rf (dir);
}

static void
test_destination (void)
{
	g_autofree gchar *dir = test_util_mkdtemp ("ac-file-XXXXXX");
	g_autofree gchar *path = g_build_filename (dir, "out", NULL);
	g_autofree gchar *fifo = g_build_filename (dir, "fifo", NULL);
	g_autoptr(GError) error = NULL;
	AcFileDest kind;

	g_assert_true (ac_file_check_destination (path, FALSE, &kind, &error));
	g_assert_cmpint (kind, ==, AC_FILE_DEST_NEW);
	g_assert_true (ac_file_check_destination ("-", FALSE, &kind, &error));
	g_assert_cmpint (kind, ==, AC_FILE_DEST_STDOUT);
	g_assert_true (ac_file_check_destination ("/dev/null", FALSE, &kind, &error));
	g_assert_cmpint (kind, ==, AC_FILE_DEST_IN_PLACE);
	g_assert_true (g_file_set_contents (path, "old", -1, NULL));
	g_assert_false (ac_file_check_destination (path, FALSE, &kind, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_EXISTS);
	g_clear_error (&error);
	g_assert_true (ac_file_check_destination (path, TRUE, &kind, &error));
	g_assert_cmpint (kind, ==, AC_FILE_DEST_REPLACE);
	g_assert_cmpint (mkfifo (fifo, 0600), ==, 0);
	g_assert_false (ac_file_check_destination (fifo, TRUE, &kind, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
	g_clear_error (&error);
	g_assert_false (ac_file_check_destination (dir, TRUE, &kind, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
	test_util_rm_rf (dir);
}

static void
test_out (void)
{
	g_autofree gchar *dir = test_util_mkdtemp ("ac-file-XXXXXX");
	g_autofree gchar *path = g_build_filename (dir, "out", NULL);
	g_autofree gchar *tmp = NULL;
	g_autofree gchar *data = NULL;
	g_autoptr(GError) error = NULL;
	struct stat st;
	int fd;

	/* the temporary file: beside the destination, random, new, not a symlink followed */
	fd = ac_file_create_temp (path, 0600, &tmp, &error);
	g_assert_no_error (error);
	g_assert_cmpint (fd, >=, 0);
	g_assert_true (g_str_has_prefix (tmp, dir));
	g_assert_true (strstr (tmp, "/.out.") != NULL);
	g_assert_cmpint (fstat (fd, &st), ==, 0);
	g_assert_cmpint (st.st_mode & 0777, ==, 0600);
	g_assert_cmpint (fcntl (fd, F_GETFD) & FD_CLOEXEC, !=, 0);
	close (fd);
	g_unlink (tmp);

	/* freed uncommitted: the destination stays as it was, nothing left behind */
	g_assert_true (g_file_set_contents (path, "old", -1, NULL));
	{
		g_autoptr(AcFileOut) out = ac_file_out_open (path, TRUE, 0644, &error);
		g_assert_no_error (error);
		g_assert_true (ac_file_write_all (ac_file_out_get_fd (out), "out", "new", 3, &error));
	}
	g_assert_true (g_file_get_contents (path, &data, NULL, NULL));
	g_assert_cmpstr (data, ==, "old");
	g_clear_pointer (&data, g_free);
	g_assert_cmpuint (count_entries (dir), ==, 1);

	g_assert_false (ac_file_replace_contents (path, "new", 3, FALSE, 0644, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_EXISTS);
	g_clear_error (&error);
	g_assert_true (ac_file_replace_contents (path, "new", 3, TRUE, 0644, &error));
	g_assert_no_error (error);
	g_assert_true (g_file_get_contents (path, &data, NULL, NULL));
	g_assert_cmpstr (data, ==, "new");
	g_clear_pointer (&data, g_free);
	g_assert_cmpuint (count_entries (dir), ==, 1);

	/* by directory and name: replaces what is there, with the mode asked for */
	g_assert_true (ac_file_replace_contents_in (dir, "out", 0600, "in dir", 6, &error));
	g_assert_no_error (error);
	g_assert_true (g_file_get_contents (path, &data, NULL, NULL));
	g_assert_cmpstr (data, ==, "in dir");
	g_clear_pointer (&data, g_free);
	g_assert_cmpint (stat (path, &st), ==, 0);
	g_assert_cmpuint (st.st_mode & 0777, ==, 0600);
	g_assert_cmpuint (count_entries (dir), ==, 1);

	/* (a character device written in place: tests/cli/test_cli_files.py, on a device it makes,
	 * never on the system's /dev/null) */
	test_util_rm_rf (dir);
}

/* a failed read of a local file: not-found when it does not exist, I/O for anything else */
static void
test_read_error (void)
{
	g_autofree gchar *dir = test_util_mkdtemp ("ac-file-XXXXXX");
	g_autofree gchar *missing = g_build_filename (dir, "missing", NULL);
	g_autoptr (GError) file_error = NULL;
	g_autoptr (GError) error = NULL;
	g_autofree gchar *data = NULL;
	g_autofree gchar *expected = NULL;

	g_assert_false (g_file_get_contents (missing, &data, NULL, &file_error));
	ac_file_set_read_error (&error, file_error, "the %s file", "input");
	g_assert_error (error, AC_ERROR, AC_ERROR_NOT_FOUND);
	expected = g_strdup_printf ("the input file: %s", file_error->message);
	g_assert_cmpstr (error->message, ==, expected);
	g_clear_error (&error);
	g_clear_error (&file_error);

	/* a directory exists: an I/O error, not a missing file */
	g_assert_false (g_file_get_contents (dir, &data, NULL, &file_error));
	g_assert_false (g_error_matches (file_error, G_FILE_ERROR, G_FILE_ERROR_NOENT));
	ac_file_set_read_error (&error, file_error, "firmware");
	g_assert_error (error, AC_ERROR, AC_ERROR_IO);
	g_assert_true (g_str_has_prefix (error->message, "firmware: "));
	g_clear_error (&error);

	/* %NULL: nothing to set */
	ac_file_set_read_error (NULL, file_error, "firmware");
	test_util_rm_rf (dir);
}

/* standard input grows its buffer as it reads (no size known in advance): the contents come
 * whole across the growths, and the limit holds */
static void
test_read_stdin_grows (void)
{
	g_autofree gchar *dir = test_util_mkdtemp ("ac-file-XXXXXX");
	g_autofree gchar *path = g_build_filename (dir, "in", NULL);
	g_autofree gchar *big = g_malloc (300 * 1024);
	g_autoptr(GError) error = NULL;
	g_autofree gchar *data = NULL;
	gsize len = 0;
	int saved = dup (STDIN_FILENO);
	int fd;

	for (gsize i = 0; i < 300 * 1024; i++)
		big[i] = (gchar)('a' + i % 26);
	g_assert_true (g_file_set_contents (path, big, 300 * 1024, NULL));

	fd = open (path, O_RDONLY);
	g_assert_cmpint (dup2 (fd, STDIN_FILENO), ==, STDIN_FILENO);
	g_assert_true (ac_file_read_bounded ("-", 300 * 1024, &data, &len, &error));
	g_assert_no_error (error);
	g_assert_cmpuint (len, ==, 300 * 1024);
	g_assert_cmpmem (data, len, big, 300 * 1024);
	g_assert_cmpint (data[len], ==, '\0');
	g_clear_pointer (&data, g_free);

	/* one byte above the limit, found after two growths */
	g_assert_cmpint (lseek (STDIN_FILENO, 0, SEEK_SET), ==, 0);
	g_assert_false (ac_file_read_bounded ("-", 300 * 1024 - 1, &data, &len, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
	g_assert_nonnull (strstr (error->message, "standard input is too large"));
	g_assert_null (data);

	g_assert_cmpint (dup2 (saved, STDIN_FILENO), ==, STDIN_FILENO);
	close (saved);
	close (fd);
	test_util_rm_rf (dir);
}

int
main (int argc, char **argv)
{
	g_test_init (&argc, &argv, NULL);
	g_test_add_func ("/file/read-bounded", test_read_bounded);
	g_test_add_func ("/file/read-stdin-grows", test_read_stdin_grows);
	g_test_add_func ("/file/destination", test_destination);
	g_test_add_func ("/file/out", test_out);
	g_test_add_func ("/file/read-error", test_read_error);
	return g_test_run ();
}
