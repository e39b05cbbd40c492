/*
 * Strict key files (lib/ac-keyfile.c): unknown groups and keys, a '#' in a value
 * (GKeyFile keeps an inline comment as part of the value), malformed numbers; every message
 * names the file, the group/key and what is accepted.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>

#include "ac-error.h"
#include "ac-keyfile.h"

static const AcKeyFileKey table[] = {
	{ "daemon", "connect", AC_KEY_TEXT, "a libvirt URI" },
	{ "daemon", "monitor-interval", AC_KEY_POSITIVE, "seconds > 0" },
	{ "pipeline", "state-dir", AC_KEY_NONEMPTY, "a directory" },
	{ NULL, NULL, AC_KEY_TEXT, NULL },
};

static gboolean
check (const gchar *text, GError **error)
{
	g_autoptr (GKeyFile) kf = g_key_file_new ();
	g_assert_true (g_key_file_load_from_data (kf, text, -1, G_KEY_FILE_NONE, NULL));
	return ac_key_file_check (kf, "/etc/test.conf", table, error);
}

static void
test_valid (void)
{
	g_autoptr (GError) error = NULL;
	g_assert_true (check ("# a comment\n[daemon]\n# "
	                      "another\nconnect=qemu:///system\n\n[pipeline]\nstate-dir=/x\n",
	                      &error));
	g_assert_no_error (error);
	g_assert_true (check ("", &error));
	g_assert_no_error (error);
}

static void
test_inline_comment (void)
{
	g_autoptr (GError) error = NULL;
	g_assert_false (check ("[daemon]\nconnect=qemu:///system   # any libvirt URI\n", &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
	g_assert_cmpstr (
	    error->message, ==,
	    "/etc/test.conf: [daemon] connect='qemu:///system   # any libvirt URI': a '#' is not a "
	    "comment after a value; put comments on their own lines (expected a libvirt URI)");
}

static void
test_unknown (void)
{
	g_autoptr (GError) error = NULL;
	g_assert_false (check ("[daemon]\nconect=qemu:///system\n", &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
	g_assert_cmpstr (error->message, ==,
	                 "/etc/test.conf: [daemon] unknown key 'conect'; expected one of connect, "
	                 "monitor-interval");
	g_clear_error (&error);
	g_assert_false (check ("[deamon]\nconnect=qemu:///system\n", &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
	g_assert_cmpstr (error->message, ==,
	                 "/etc/test.conf: unknown group [deamon]; expected [daemon], [pipeline]");
}

static void
test_positive (void)
{
	const gchar *bad[] = { "0", "-3", "5s", "soon", "" };
	for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
		g_autoptr (GKeyFile) kf = g_key_file_new ();
		g_autoptr (GError) error = NULL;
		g_autofree gchar *text
		    = g_strdup_printf ("[daemon]\nmonitor-interval=%s\n", bad[i]);
		g_autofree gchar *want = g_strdup_printf (
		    "/etc/test.conf: [daemon] monitor-interval='%s': expected seconds > 0", bad[i]);
		guint v = 7;
		g_assert_true (g_key_file_load_from_data (kf, text, -1, G_KEY_FILE_NONE, NULL));
		g_assert_false (ac_key_file_get_positive (kf, "/etc/test.conf", table, "daemon",
		                                          "monitor-interval", &v, &error));
		g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
		g_assert_cmpstr (error->message, ==, want);
		g_assert_cmpuint (v, ==, 7);
	}
	{
		g_autoptr (GKeyFile) kf = g_key_file_new ();
		g_autoptr (GError) error = NULL;
		guint v = 7;
		g_assert_true (
		    g_key_file_load_from_data (kf, "[daemon]\n", -1, G_KEY_FILE_NONE, NULL));
		g_assert_true (ac_key_file_get_positive (kf, "f", table, "daemon",
		                                         "monitor-interval", &v, &error));
		g_assert_cmpuint (v, ==, 7);
		g_assert_true (g_key_file_load_from_data (kf, "[daemon]\nmonitor-interval=12\n", -1,
		                                          G_KEY_FILE_NONE, NULL));
		g_assert_true (ac_key_file_get_positive (kf, "f", table, "daemon",
		                                         "monitor-interval", &v, &error));
		g_assert_no_error (error);
		g_assert_cmpuint (v, ==, 12);
	}
}

/* the kinds of the table are checked by ac_key_file_check() itself, for every loader */
static void
test_kinds (void)
{
	g_autoptr (GError) error = NULL;
	g_assert_false (check ("[daemon]\nmonitor-interval=30s\n", &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
	g_assert_cmpstr (error->message, ==,
	                 "/etc/test.conf: [daemon] monitor-interval='30s': expected seconds > 0");
	g_clear_error (&error);
	g_assert_false (check ("[pipeline]\nstate-dir=\n", &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
	g_assert_cmpstr (error->message, ==,
	                 "/etc/test.conf: [pipeline] state-dir is empty: expected a directory");
	g_clear_error (&error);
	g_assert_true (check ("[daemon]\nconnect=\nmonitor-interval=5\n", &error));
	g_assert_no_error (error);
}

static void
test_load (void)
{
	g_autofree gchar *dir = g_dir_make_tmp ("ac-test-keyfile-XXXXXX", NULL);
	g_autofree gchar *missing = g_build_filename (dir, "missing.conf", NULL);
	g_autofree gchar *bad = g_build_filename (dir, "bad.conf", NULL);
	g_autoptr (GKeyFile) kf = g_key_file_new ();
	g_autoptr (GError) error = NULL;

	g_assert_false (ac_key_file_load_strict (kf, missing, table, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_NOT_FOUND);
	g_assert_nonnull (strstr (error->message, missing));
	g_clear_error (&error);
	/* a device or a FIFO is refused at once: /dev/zero was read until memory ran out, a
	 * FIFO waited on for ever (a hook, a service, every command reads a configuration) */
	{
		g_autofree gchar *fifo = g_build_filename (dir, "fifo.conf", NULL);
		const gchar *paths[] = { "/dev/zero", fifo };
		g_assert_cmpint (mkfifo (fifo, 0600), ==, 0);
		for (guint i = 0; i < G_N_ELEMENTS (paths); i++) {
			g_assert_false (ac_key_file_load_strict (kf, paths[i], table, &error));
			g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
			g_assert_nonnull (strstr (error->message, "is not a regular file"));
			g_clear_error (&error);
		}
		g_unlink (fifo);
	}
	g_assert_true (g_file_set_contents (bad, "not a key file\n", -1, NULL));
	g_assert_false (ac_key_file_load_strict (kf, bad, table, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
	g_assert_true (g_str_has_prefix (error->message, bad));
	g_clear_error (&error);
	g_assert_true (g_file_set_contents (bad, "[pipeline]\nstate-dir=/x # here\n", -1, NULL));
	g_assert_false (ac_key_file_load_strict (kf, bad, table, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
	g_assert_nonnull (strstr (error->message, "[pipeline] state-dir='/x # here'"));
	g_unlink (bad);
	g_rmdir (dir);
}

/* the real tables: every key named once, every row says what it accepts */
static void
test_tables (void)
{
	const AcKeyFileKey *tables[] = { ac_service_config_keys, ac_hook_config_keys };
	for (guint t = 0; t < G_N_ELEMENTS (tables); t++) {
		for (const AcKeyFileKey *k = tables[t]; k->group != NULL; k++) {
			g_assert_nonnull (k->key);
			g_assert_nonnull (k->expected);
			g_assert_true (ac_key_file_expected (tables[t], k->group, k->key)
			               == k->expected);
		}
	}
	g_assert_null (
	    ac_key_file_expected (ac_service_config_keys, "pipeline", "store-payment-typo"));
}

int
main (int argc, char **argv)
{
	g_test_init (&argc, &argv, NULL);
	g_test_add_func ("/keyfile/valid", test_valid);
	g_test_add_func ("/keyfile/inline-comment", test_inline_comment);
	g_test_add_func ("/keyfile/unknown", test_unknown);
	g_test_add_func ("/keyfile/positive", test_positive);
	g_test_add_func ("/keyfile/kinds", test_kinds);
	g_test_add_func ("/keyfile/load", test_load);
	g_test_add_func ("/keyfile/tables", test_tables);
	return g_test_run ();
}
