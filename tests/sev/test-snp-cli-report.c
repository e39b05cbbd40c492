/*
 * `virt-aleph snp report show` and `virt-aleph snp policy explain` end to end: the real Milan
 * reports field by field (text and --json, against expected_reports.json), and the exit code
 * of every kind of bad input.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "ac-error.h"
#include "test-sev-common.h"
#include "../test-util.h"

static gchar *tmpdir = NULL;

/* runs virt-aleph with the NULL-terminated arguments; returns the exit code, stdout in @out and
 * stderr in @err (each optional) */
#define cli(out, err, ...) sev_test_cli (tmpdir, (out), (err), __VA_ARGS__)

static gchar *
data (const gchar *rel)
{
	return g_test_build_filename (G_TEST_DIST, "data", "snp", rel, NULL);
}

/* a copy of the virtee report with one byte changed, in tmpdir */
static gchar *
tampered (const gchar *name, gsize off, guint8 value, gsize len)
{
	g_autofree gchar *src = data ("virtee-sev-milan/report_milan.bin");
	g_autoptr (GError) error = NULL;
	g_autofree gchar *buf = NULL;
	gchar *path = g_build_filename (tmpdir, name, NULL);
	gsize n = 0;

	g_assert_true (g_file_get_contents (src, &buf, &n, &error));
	g_assert_cmpuint (n, ==, 1184);
	if (off < n)
		buf[off] = (gchar)value;
	g_assert_true (g_file_set_contents (path, buf, (gssize)len, &error));
	return path;
}

static JsonObject *
expected_report (JsonParser **keep, const gchar *name)
{
	g_autofree gchar *path = data ("expected_reports.json");
	g_autoptr (GError) error = NULL;
	JsonParser *p = json_parser_new ();

	g_assert_true (json_parser_load_from_file (p, path, &error));
	*keep = p;
	return json_object_get_object_member (
	    json_object_get_object_member (json_node_get_object (json_parser_get_root (p)), name),
	    "report");
}

static void
test_show_text (void)
{
	g_autofree gchar *virtee = data ("virtee-sev-milan/report_milan.bin");
	g_autofree gchar *out = NULL;
	g_autoptr (JsonParser) keep = NULL;
	JsonObject *e = expected_report (&keep, "virtee-sev-milan");
	g_autofree gchar *m = NULL;
	g_autofree gchar *c = NULL;

	g_assert_cmpint (cli (&out, NULL, "snp", "report", "show", virtee, NULL), ==, AC_EXIT_OK);
	m = g_strdup_printf ("\nmeasurement          %s\n",
	                     json_object_get_string_member (e, "measurement"));
	c = g_strdup_printf ("\nchip_id              %s\n",
	                     json_object_get_string_member (e, "chip_id"));
	g_assert_nonnull (strstr (out, m));
	g_assert_nonnull (strstr (out, c));
	g_assert_true (g_str_has_prefix (out, "version              2\n"));
	g_assert_nonnull (strstr (out, "\npolicy               0x30000 smt\n"));
	g_assert_nonnull (strstr (out, "\ncurrent_version      1.52.4\n"));
	g_assert_nonnull (strstr (out, "\nplatform_info        0x1 SMT_EN\n"));
	g_assert_nonnull (strstr (out, "signing_key=VCEK"));
	/* a version 2 report: the TCB components only with --product */
	g_assert_nonnull (strstr (out, "\nreported_tcb         0x7308000000000003 (not decoded"));
	g_clear_pointer (&out, g_free);
	g_assert_cmpint (
	    cli (&out, NULL, "snp", "report", "show", "--product", "milan", virtee, NULL), ==,
	    AC_EXIT_OK);
	g_assert_nonnull (
	    strstr (out, "\nreported_tcb         0x7308000000000003 bl=3 tee=0 snp=8 ucode=115\n"));
	g_assert_nonnull (strstr (out, "\nproduct              Milan (given)\n"));
}

static void
test_show_json (void)
{
	static const struct {
		const gchar *name, *file;
	} reports[] = {
		{ "virtee-sev-milan", "virtee-sev-milan/report_milan.bin" },
		{ "go-sev-guest-milan", "go-sev-guest-milan/attestation.bin" },
	};
	static const gchar *const hex_fields[]
	    = { "measurement",  "report_data",   "chip_id",           "host_data", "report_id",
		"report_id_ma", "id_key_digest", "author_key_digest", "family_id", "image_id" };

	for (guint i = 0; i < G_N_ELEMENTS (reports); i++) {
		g_autofree gchar *path = data (reports[i].file);
		g_autofree gchar *out = NULL;
		g_autofree gchar *pol = NULL;
		g_autoptr (JsonParser) keep = NULL;
		g_autoptr (JsonParser) p = json_parser_new ();
		g_autoptr (GError) error = NULL;
		JsonObject *e = expected_report (&keep, reports[i].name);
		JsonObject *o, *t, *et;

		g_assert_cmpint (cli (&out, NULL, "--json", "snp", "report", "show", "--product",
		                      "milan", path, NULL),
		                 ==, AC_EXIT_OK);
		/* one document on one line */
		g_assert_null (strchr (g_strstrip (out), '\n'));
		g_assert_true (json_parser_load_from_data (p, out, -1, &error));
		g_assert_no_error (error);
		o = json_node_get_object (json_parser_get_root (p));
		for (guint f = 0; f < G_N_ELEMENTS (hex_fields); f++)
			g_assert_cmpstr (json_object_get_string_member (o, hex_fields[f]), ==,
			                 json_object_get_string_member (e, hex_fields[f]));
		pol = g_strdup_printf ("0x%" G_GINT64_MODIFIER "x",
		                       (guint64)json_object_get_int_member (e, "policy"));
		g_assert_cmpstr (json_object_get_string_member (o, "policy"), ==, pol);
		g_assert_cmpint (json_object_get_int_member (o, "version"), ==,
		                 json_object_get_int_member (e, "version"));
		g_assert_cmpint (json_object_get_int_member (o, "vmpl"), ==,
		                 json_object_get_int_member (e, "vmpl"));
		g_assert_cmpstr (json_object_get_string_member (o, "signing_key"), ==,
		                 json_object_get_string_member (e, "signing_key"));
		g_assert_cmpstr (json_object_get_string_member (o, "committed_version"), ==,
		                 json_object_get_string_member (e, "committed_version"));
		g_assert_cmpstr (json_object_get_string_member (o, "signature_s"), ==,
		                 json_object_get_string_member (e, "sig_s_le"));
		t = json_object_get_object_member (o, "launch_tcb");
		et = json_object_get_object_member (e, "launch_tcb");
		g_assert_cmpint (json_object_get_int_member (t, "snp"), ==,
		                 json_object_get_int_member (et, "snp"));
		g_assert_cmpint (json_object_get_int_member (t, "bootloader"), ==,
		                 json_object_get_int_member (et, "bootloader"));
	}
}

static void
test_show_bad_input (void)
{
	g_autofree gchar *hex = data ("virtee-sev-milan/report_milan.hex");
	g_autofree gchar *virtee = data ("virtee-sev-milan/report_milan.bin");
	g_autofree gchar *missing = g_build_filename (tmpdir, "missing.bin", NULL);
	g_autofree gchar *shortf = tampered ("short.bin", G_MAXSIZE, 0, 1183);
	g_autofree gchar *reserved = tampered ("reserved.bin", 0x04c, 1, 1184);
	g_autofree gchar *algo = tampered ("algo.bin", 0x034, 2, 1184);
	g_autofree gchar *version = tampered ("version.bin", 0x000, 6, 1184);
	g_autofree gchar *out = NULL;
	g_autofree gchar *err = NULL;

	/* hex text is not a report: the message says what the file must hold */
	g_assert_cmpint (cli (NULL, &err, "snp", "report", "show", hex, NULL), ==, AC_EXIT_USAGE);
	g_assert_nonnull (strstr (err, "2368 bytes, expected exactly 1184"));
	g_assert_nonnull (strstr (err, "raw binary report"));
	g_assert_cmpint (cli (NULL, NULL, "snp", "report", "show", shortf, NULL), ==,
	                 AC_EXIT_USAGE);
	g_clear_pointer (&err, g_free);
	g_assert_cmpint (cli (NULL, &err, "snp", "report", "show", reserved, NULL), ==,
	                 AC_EXIT_USAGE);
	g_assert_nonnull (strstr (err, "0x04c"));
	g_assert_cmpint (cli (NULL, NULL, "snp", "report", "show", algo, NULL), ==, AC_EXIT_USAGE);
	g_assert_cmpint (cli (NULL, NULL, "snp", "report", "show", version, NULL), ==,
	                 AC_EXIT_USAGE);
	g_assert_cmpint (cli (NULL, NULL, "snp", "report", "show", missing, NULL), ==,
	                 AC_EXIT_NOT_FOUND);
	g_assert_cmpint (cli (NULL, NULL, "snp", "report", "show", NULL), ==, AC_EXIT_USAGE);
	g_assert_cmpint (cli (NULL, NULL, "snp", "report", "show", virtee, virtee, NULL), ==,
	                 AC_EXIT_USAGE);
	g_assert_cmpint (
	    cli (NULL, NULL, "snp", "report", "show", "--product", "rome", virtee, NULL), ==,
	    AC_EXIT_USAGE);
	/* --json: the error object, with the exit code */
	g_assert_cmpint (cli (&out, NULL, "--json", "snp", "report", "show", algo, NULL), ==,
	                 AC_EXIT_USAGE);
	g_assert_nonnull (strstr (out, "\"exit\":2"));
	g_assert_nonnull (strstr (out, "SIGNATURE_ALGO"));
	/* a version 3 report whose CPUID names Genoa, shown as Milan: a mismatch */
	{
		g_autofree gchar *v3 = g_build_filename (tmpdir, "v3.bin", NULL);
		g_autoptr (GError) error = NULL;
		g_autofree gchar *buf = NULL;
		gsize n = 0;
		g_assert_true (g_file_get_contents (virtee, &buf, &n, &error));
		buf[0] = 3;
		buf[0x188] = 0x19;
		buf[0x189] = 0x11;
		g_assert_true (g_file_set_contents (v3, buf, (gssize)n, &error));
		g_clear_pointer (&out, g_free);
		g_assert_cmpint (cli (&out, NULL, "snp", "report", "show", v3, NULL), ==,
		                 AC_EXIT_OK);
		g_assert_nonnull (strstr (out, "Genoa (from the report's CPUID)"));
		g_assert_nonnull (strstr (out, "bl=3 tee=0 snp=8 ucode=115"));
		g_assert_cmpint (
		    cli (NULL, NULL, "snp", "report", "show", "--product", "milan", v3, NULL), ==,
		    AC_EXIT_MISMATCH);
	}
}

static void
test_policy_explain (void)
{
	g_autofree gchar *out = NULL;
	g_autoptr (JsonParser) p = json_parser_new ();
	g_autoptr (GError) error = NULL;
	JsonObject *o;

	g_assert_cmpint (cli (&out, NULL, "snp", "policy", "explain", "0x30000", NULL), ==,
	                 AC_EXIT_OK);
	g_assert_true (g_str_has_prefix (out, "policy 0x30000\n"));
	g_assert_nonnull (strstr (out, "SMT                set"));
	g_assert_nonnull (strstr (out, "DEBUG              clear"));
	g_clear_pointer (&out, g_free);
	g_assert_cmpint (cli (&out, NULL, "snp", "policy", "explain", "smt,debug,abi=1.51", NULL),
	                 ==, AC_EXIT_OK);
	g_assert_true (g_str_has_prefix (out, "policy 0xb0133\n"));
	g_assert_nonnull (strstr (out, "DEBUG ALLOWED"));
	g_clear_pointer (&out, g_free);
	g_assert_cmpint (cli (&out, NULL, "--json", "snp", "policy", "explain", "0xb0000", NULL),
	                 ==, AC_EXIT_OK);
	g_assert_true (json_parser_load_from_data (p, out, -1, &error));
	o = json_node_get_object (json_parser_get_root (p));
	g_assert_cmpstr (json_object_get_string_member (o, "policy"), ==, "0xb0000");
	g_assert_cmpint (json_object_get_int_member (o, "value"), ==, 0xb0000);
	g_assert_cmpstr (json_object_get_string_member (o, "names"), ==, "smt,debug");
	g_assert_true (json_object_get_boolean_member (o, "debug"));
	g_assert_false (json_object_get_boolean_member (o, "migrate_ma"));

	g_assert_cmpint (cli (NULL, NULL, "snp", "policy", "explain", "0x10000", NULL), ==,
	                 AC_EXIT_USAGE);
	g_assert_cmpint (cli (NULL, NULL, "snp", "policy", "explain", "0x4030000", NULL), ==,
	                 AC_EXIT_USAGE);
	g_assert_cmpint (cli (NULL, NULL, "snp", "policy", "explain", "bogus", NULL), ==,
	                 AC_EXIT_USAGE);
	g_assert_cmpint (cli (NULL, NULL, "snp", "policy", "explain", NULL), ==, AC_EXIT_USAGE);
}

int
main (int argc, char **argv)
{
	g_autoptr (GError) error = NULL;
	int rc;

	g_test_init (&argc, &argv, NULL);
	g_assert_nonnull (g_getenv ("VIRT_ALEPH"));
	tmpdir = test_util_mkdtemp ("test-snp-cli-XXXXXX");
	g_test_add_func ("/snp/cli/report-show/text", test_show_text);
	g_test_add_func ("/snp/cli/report-show/json", test_show_json);
	g_test_add_func ("/snp/cli/report-show/bad-input", test_show_bad_input);
	g_test_add_func ("/snp/cli/policy-explain", test_policy_explain);
	rc = g_test_run ();
	{
		g_autoptr (GDir) d = g_dir_open (tmpdir, 0, NULL);
		const gchar *n;
		while (d != NULL && (n = g_dir_read_name (d)) != NULL) {
			g_autofree gchar *f = g_build_filename (tmpdir, n, NULL);
			g_unlink (f);
		}
		g_rmdir (tmpdir);
	}
	g_free (tmpdir);
	return rc;
}
