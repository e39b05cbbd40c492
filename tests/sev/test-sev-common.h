/*
 * Helpers shared by the sev test programs (header-only).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>
#include <openssl/pem.h>
#include <string.h>

static inline gchar *
sev_test_path (const gchar *rel)
{
	return g_test_build_filename (G_TEST_DIST, "data", "sev", rel, NULL);
}

static inline GBytes *
sev_test_load (const gchar *rel)
{
	g_autofree gchar *path = sev_test_path (rel);
	g_autoptr (GError) error = NULL;
	gchar *buf = NULL;
	gsize len = 0;
	if (!g_file_get_contents (path, &buf, &len, &error))
		g_error ("%s", error->message);
	return g_bytes_new_take (buf, len);
}

static inline gchar *
sev_test_load_text (const gchar *rel)
{
	g_autoptr (GBytes) b = sev_test_load (rel);
	return g_strstrip (g_strndup (g_bytes_get_data (b, NULL), g_bytes_get_size (b)));
}

/* the PEM private key tests/data/sev/@rel; the test fails without it */
static inline EVP_PKEY *
sev_test_load_key (const gchar *rel)
{
	g_autofree gchar *path = sev_test_path (rel);
	FILE *f = fopen (path, "r");
	EVP_PKEY *k;
	g_assert_nonnull (f);
	k = PEM_read_PrivateKey (f, NULL, NULL, NULL);
	fclose (f);
	g_assert_nonnull (k);
	return k;
}

/* runs $VIRT_ALEPH in @cwd with the arguments from @first up to a NULL: its exit code (as
 * sev_test_cli_run()) */
static inline gint
sev_test_cli (const gchar *cwd, gchar **out, gchar **err, const gchar *first, ...)
    G_GNUC_NULL_TERMINATED;

static inline guint8 *
sev_test_unhex (const gchar *hex, gsize *len)
{
	gsize n = strlen (hex) / 2;
	guint8 *out = g_malloc (n + 1);
	for (gsize i = 0; i < n; i++)
		out[i] = (guint8)((g_ascii_xdigit_value (hex[2 * i]) << 4)
		                  | g_ascii_xdigit_value (hex[2 * i + 1]));
	if (len != NULL)
		*len = n;
	return out;
}

static inline gchar *
sev_test_hex (const guint8 *p, gsize len)
{
	GString *s = g_string_new (NULL);
	for (gsize i = 0; i < len; i++)
		g_string_append_printf (s, "%02x", p[i]);
	return g_string_free (s, FALSE);
}

#define sev_assert_hex(p, len, expected)                                                           \
	G_STMT_START                                                                               \
	{                                                                                          \
		g_autofree gchar *_h = sev_test_hex ((p), (len));                                  \
		g_assert_cmpstr (_h, ==, (expected));                                              \
	}                                                                                          \
	G_STMT_END

/* runs $VIRT_ALEPH with @args (NULL-terminated) in @cwd; the exit code (-1 when killed), its
 * standard output and error in @out and @err (each optional; the error also in the test log) */
static inline gint
sev_test_cli_run (const gchar *cwd, const gchar *const *args, gchar **out, gchar **err)
{
	g_autoptr (GPtrArray) argv = g_ptr_array_new ();
	g_autoptr (GError) error = NULL;
	g_autofree gchar *e = NULL;
	gint status = 0;

	g_ptr_array_add (argv, (gpointer)g_getenv ("VIRT_ALEPH"));
	for (guint i = 0; args[i] != NULL; i++)
		g_ptr_array_add (argv, (gpointer)args[i]);
	g_ptr_array_add (argv, NULL);
	g_assert_true (g_spawn_sync (cwd, (gchar **)argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL,
	                             out, &e, &status, &error));
	g_assert_no_error (error);
	g_test_message ("stderr: %s", e);
	if (err != NULL)
		*err = g_steal_pointer (&e);
	return WIFEXITED (status) ? WEXITSTATUS (status) : -1;
}

/* the same with the arguments after @first up to a NULL */
static inline gint
sev_test_cli_va (const gchar *cwd, gchar **out, gchar **err, const gchar *first, va_list ap)
{
	g_autoptr (GPtrArray) args = g_ptr_array_new ();

	for (const gchar *a = first; a != NULL; a = va_arg (ap, const gchar *))
		g_ptr_array_add (args, (gpointer)a);
	g_ptr_array_add (args, NULL);
	return sev_test_cli_run (cwd, (const gchar *const *)args->pdata, out, err);
}

static inline gint
sev_test_cli (const gchar *cwd, gchar **out, gchar **err, const gchar *first, ...)
{
	va_list ap;
	gint rc;

	va_start (ap, first);
	rc = sev_test_cli_va (cwd, out, err, first, ap);
	va_end (ap);
	return rc;
}
