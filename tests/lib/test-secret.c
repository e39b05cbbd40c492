/*
 * The one way to wipe raw key bytes (ac_secret_wipe, AcSecretBuf, ac_secret_bytes_new_take).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include <glib/gstdio.h>
#include <sys/stat.h>

#include "ac-error.h"
#include "ac-secret.h"

static void
test_wipe (void)
{
	guint8 key[16];
	g_auto (AcSecretBuf) buf = { 0 };

	memset (key, 0xa5, sizeof (key));
	ac_secret_wipe (key, sizeof (key));
	for (guint i = 0; i < sizeof (key); i++)
		g_assert_cmpuint (key[i], ==, 0);
	ac_secret_wipe (NULL, 4);
	memset (buf.data, 0x5a, sizeof (buf.data));
	ac_secret_buf_clear (&buf);
	for (guint i = 0; i < sizeof (buf.data); i++)
		g_assert_cmpuint (buf.data[i], ==, 0);
	ac_secret_wipe_free (g_memdup2 (key, sizeof (key)), sizeof (key));
}

static void
test_bytes (void)
{
	guint8 *data = g_malloc (8);
	GBytes *b;

	memcpy (data, "k3y-b1ts", 8);
	b = ac_secret_bytes_new_take (data, 8);
	g_assert_true (g_bytes_get_data (b, NULL) == (gconstpointer)data);
	g_assert_cmpmem (g_bytes_get_data (b, NULL), g_bytes_get_size (b), "k3y-b1ts", 8);
	g_bytes_unref (b);
}

/* ac_secret_read_password from a file: its first line, without \n or \r\n; empty, NUL, too
 * long and missing files are errors naming the option and the file */
static void
test_password_file (void)
{
	g_autofree gchar *dir = g_dir_make_tmp ("ac-secret-XXXXXX", NULL);
	g_autofree gchar *path = g_build_filename (dir, "pw", NULL);
	g_autofree gchar *big = g_strnfill (AC_SECRET_PASSWORD_MAX + 1, 'x');
	struct {
		const gchar *data;
		gssize len;
		const gchar *want; /* NULL: an error containing @error_text */
		const gchar *error_text;
	} cases[] = {
		{ "hunter2\n", -1, "hunter2", NULL },
		{ "hunter2\r\nsecond\n", -1, "hunter2", NULL },
		{ "no newline", -1, "no newline", NULL },
		{ " spaces kept ", -1, " spaces kept ", NULL },
		{ "\n", -1, NULL, "empty" },
		{ "", -1, NULL, "empty" },
		{ "a\0b\n", 4, NULL, "NUL" },
		{ big, -1, NULL, "" },
	};

	for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
		g_autoptr (GError) error = NULL;
		g_autoptr (AcSecret) s = NULL;
		g_assert_true (g_file_set_contents (path, cases[i].data, cases[i].len, NULL));
		s = ac_secret_read_password ("keystore k.json", path, "--password-file", &error);
		if (cases[i].want != NULL) {
			g_assert_no_error (error);
			g_assert_cmpstr (s->data, ==, cases[i].want);
			g_assert_cmpuint (s->len, ==, strlen (cases[i].want));
		} else {
			g_assert_null (s);
			g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
			g_assert_nonnull (strstr (error->message, "--password-file"));
			g_assert_nonnull (strstr (error->message, cases[i].error_text));
		}
	}
	{
		g_autoptr (GError) error = NULL;
		g_autofree gchar *missing = g_build_filename (dir, "missing", NULL);
		g_assert_null (ac_secret_read_password ("keystore k.json", missing, "--password-file", &error));
		g_assert_nonnull (error);
		g_assert_nonnull (strstr (error->message, missing));
	}
	g_unlink (path);
	g_rmdir (dir);
}

/* ac_secret_read_passphrase_file: one line of printable ASCII, its final \n or \r\n dropped;
 * a second line, a lone \r, NUL, non-ASCII, empty and over-long passphrases are refused naming
 * the option and the file; a FIFO is refused at once */
static void
test_passphrase_file (void)
{
	g_autofree gchar *dir = g_dir_make_tmp ("ac-secret-XXXXXX", NULL);
	g_autofree gchar *path = g_build_filename (dir, "pass", NULL);
	g_autofree gchar *fifo = g_build_filename (dir, "fifo", NULL);
	g_autofree gchar *longest = g_strnfill (512, 'p');
	g_autofree gchar *too_long = g_strnfill (513, 'p');
	struct {
		const gchar *data;
		gssize len;
		const gchar *want; /* NULL: an error containing @error_text */
		const gchar *error_text;
	} cases[] = {
		{ "correct horse\n", -1, "correct horse", NULL },
		{ "correct horse\r\n", -1, "correct horse", NULL },
		{ "no newline", -1, "no newline", NULL },
		{ " spaces kept ", -1, " spaces kept ", NULL },
		{ longest, -1, longest, NULL },
		{ "first\nsecond\n", -1, NULL, "more than one line" },
		{ "first\n\n", -1, NULL, "more than one line" },
		{ "lone cr\r", -1, NULL, "not printable ASCII" },
		{ "tab\there", -1, NULL, "not printable ASCII" },
		{ "caf\xc3\xa9", -1, NULL, "not printable ASCII" },
		{ "a\0b\n", 4, NULL, "not printable ASCII" },
		{ "\n", -1, NULL, "0 characters" },
		{ "", -1, NULL, "0 characters" },
		{ too_long, -1, NULL, "513 characters" },
	};

	for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
		g_autoptr (GError) error = NULL;
		g_autoptr (AcSecret) s = NULL;
		g_assert_true (g_file_set_contents (path, cases[i].data, cases[i].len, NULL));
		g_assert_cmpint (g_chmod (path, 0600), ==, 0);
		s = ac_secret_read_passphrase_file (path, "--passphrase-file", &error);
		if (cases[i].want != NULL) {
			g_assert_no_error (error);
			g_assert_cmpstr (s->data, ==, cases[i].want);
			g_assert_cmpuint (s->len, ==, strlen (cases[i].want));
		} else {
			g_assert_null (s);
			g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
			g_assert_true (g_str_has_prefix (error->message, "--passphrase-file: "));
			g_assert_nonnull (strstr (error->message, path));
			g_assert_nonnull (strstr (error->message, cases[i].error_text));
			/* never quoted */
			g_assert_null (strstr (error->message, "first"));
		}
	}
	/* a passphrase group or others may read has leaked: refused, whatever it holds */
	for (guint i = 0; i < 3; i++) {
		static const guint modes[] = { 0640, 0604, 0620 };
		g_autoptr (GError) error = NULL;
		g_autofree gchar *want = g_strdup_printf ("has mode %04o", modes[i]);
		g_assert_true (g_file_set_contents (path, "correct horse\n", -1, NULL));
		g_assert_cmpint (g_chmod (path, modes[i]), ==, 0);
		g_assert_null (ac_secret_read_passphrase_file (path, "passphrase.file", &error));
		g_assert_error (error, AC_ERROR, AC_ERROR_PERMISSION);
		g_assert_true (g_str_has_prefix (error->message, "passphrase.file: "));
		g_assert_nonnull (strstr (error->message, want));
		g_assert_nonnull (strstr (error->message, "chmod 600"));
		g_assert_null (strstr (error->message, "horse"));
	}
	/* standard input has no mode to check */
	g_assert_cmpint (mkfifo (fifo, 0600), ==, 0);
	{
		g_autoptr (GError) error = NULL;
		g_assert_null (ac_secret_read_passphrase_file (fifo, "passphrase.file", &error));
		g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
		g_assert_true (g_str_has_prefix (error->message, "passphrase.file: "));
		g_assert_nonnull (strstr (error->message, "not a regular file"));
	}
	{
		g_autoptr (GError) error = NULL;
		g_autofree gchar *missing = g_build_filename (dir, "missing", NULL);
		g_assert_null (
		    ac_secret_read_passphrase_file (missing, "--passphrase-file", &error));
		g_assert_error (error, AC_ERROR, AC_ERROR_NOT_FOUND);
		g_assert_nonnull (strstr (error->message, missing));
	}
	g_unlink (fifo);
	g_unlink (path);
	g_rmdir (dir);
}

int
main (int argc, char **argv)
{
	g_test_init (&argc, &argv, NULL);
	g_test_add_func ("/secret/wipe", test_wipe);
	g_test_add_func ("/secret/bytes", test_bytes);
	g_test_add_func ("/secret/password-file", test_password_file);
	g_test_add_func ("/secret/passphrase-file", test_passphrase_file);
	return g_test_run ();
}
