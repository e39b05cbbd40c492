/*
 * `virt-aleph snp measure` end to end: sev-snp-measure's command line of every vector case
 * (tests/data/snp/sev-snp-measure/cases_output.txt) run as `virt-aleph snp measure` prints
 * sev-snp-measure's output; base64 and --json output; --debug prints the C6 page trace; bad
 * input exits 2 with a message naming what is wrong.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>

#include "ac-codec.h"
#include "ac-error.h"
#include "ac-snp-runtime.h"
#include "test-sev-common.h"
#include "test-snp-common.h"
#include "../test-util.h"

static gchar *tmpdir = NULL;

static gchar *
vec_dir (void)
{
	return g_test_build_filename (G_TEST_DIST, "data", "snp", "sev-snp-measure", NULL);
}

/* runs `virt-aleph ARGS…` in the vectors' directory: the exit code, stdout and stderr */
static gint
run (const gchar *const *args, gchar **out, gchar **err)
{
	g_autofree gchar *dir = vec_dir ();
	return sev_test_cli_run (dir, args, out, err);
}

G_GNUC_NULL_TERMINATED static gint
cli (gchar **out, gchar **err, const gchar *first, ...)
{
	g_autofree gchar *dir = vec_dir ();
	va_list ap;
	gint rc;

	va_start (ap, first);
	rc = sev_test_cli_va (dir, out, err, first, ap);
	va_end (ap);
	return rc;
}

/* sev-snp-measure's cases (SnpTestCase), each command line made `virt-aleph snp measure`'s:
 * "snp" "measure" for `sev-snp-measure`, and the Debian OVMF where meson says it is */
static GPtrArray *
cli_cases_load (void)
{
	GPtrArray *cases = snp_test_cases_load ();

	for (guint i = 0; i < cases->len; i++) {
		SnpTestCase *c = g_ptr_array_index (cases, i);
		GPtrArray *v = g_ptr_array_new ();

		g_assert_nonnull (c->argv);
		g_ptr_array_add (v, g_strdup ("snp"));
		g_ptr_array_add (v, g_strdup ("measure"));
		for (guint j = 1; c->argv[j] != NULL; j++) {
			if (strcmp (c->argv[j], "/usr/share/ovmf/OVMF.fd") == 0) {
				const gchar *fw = g_getenv ("SNP_DEBIAN_OVMF");
				g_assert_nonnull (fw);
				g_ptr_array_add (v, g_strdup (fw));
			} else {
				g_ptr_array_add (v, g_strdup (c->argv[j]));
			}
		}
		g_ptr_array_add (v, NULL);
		g_strfreev (c->argv);
		c->argv = (gchar **)g_ptr_array_free (v, FALSE);
	}
	g_assert_cmpuint (cases->len, ==, 15);
	return cases;
}

static void
test_case (gconstpointer data)
{
	const SnpTestCase *c = data;
	g_autofree gchar *out = NULL, *want = g_strdup_printf ("%s\n", c->expected);

	g_assert_cmpint (run ((const gchar *const *)c->argv, &out, NULL), ==, AC_EXIT_OK);
	g_assert_cmpstr (out, ==, want);
}

/* C6 with more options appended (the same argv otherwise) */
static gint
run_c6 (const GPtrArray *cases, gchar **out, gchar **err, const gchar *const *extra)
{
	const SnpTestCase *c6 = snp_test_case_find (cases, "C6");
	g_autoptr (GPtrArray) args = g_ptr_array_new ();

	for (guint i = 0; c6->argv[i] != NULL; i++)
		g_ptr_array_add (args, c6->argv[i]);
	for (guint i = 0; extra != NULL && extra[i] != NULL; i++)
		g_ptr_array_add (args, (gpointer)extra[i]);
	g_ptr_array_add (args, NULL);
	return run ((const gchar *const *)args->pdata, out, err);
}

static void
test_output_formats (gconstpointer data)
{
	const SnpTestCase *c6 = snp_test_case_find (data, "C6");
	g_autofree guint8 *raw = NULL;
	g_autofree gchar *b64 = NULL, *out = NULL, *want = NULL;
	g_autoptr (JsonParser) p = json_parser_new ();
	g_autoptr (GError) error = NULL;
	JsonObject *o;
	gsize n = 0;

	raw = sev_test_unhex (c6->expected, &n);
	b64 = g_base64_encode (raw, n);
	want = g_strdup_printf ("%s\n", b64);
	{
		const gchar *extra[] = { "--output-format", "base64", NULL };
		g_assert_cmpint (run_c6 (data, &out, NULL, extra), ==, AC_EXIT_OK);
		g_assert_cmpstr (out, ==, want);
		g_clear_pointer (&out, g_free);
	}
	{
		const gchar *extra[] = { "--json", NULL };
		g_assert_cmpint (run_c6 (data, &out, NULL, extra), ==, AC_EXIT_OK);
		g_assert_true (json_parser_load_from_data (p, out, -1, &error));
		o = json_node_get_object (json_parser_get_root (p));
		g_assert_cmpstr (json_object_get_string_member (o, "measurement"), ==,
		                 c6->expected);
		g_assert_cmpstr (json_object_get_string_member (o, "output_format"), ==, "hex");
		g_assert_cmpstr (json_object_get_string_member (o, "vcpu_sig"), ==, "0x800f12");
		g_assert_cmpint (json_object_get_int_member (o, "vcpus"), ==, 2);
		g_assert_true (json_object_get_boolean_member (o, "kernel_hashes"));
	}
}

/* --debug: every page on stderr; the digest after each step of trace_C6.txt is among them, in
 * order, and stdout stays the one line */
static void
test_debug_trace (gconstpointer data)
{
	const SnpTestCase *c6 = snp_test_case_find (data, "C6");
	g_autofree gchar *dir = vec_dir ();
	g_autofree gchar *tpath = g_build_filename (dir, "trace_C6.txt", NULL);
	g_autofree gchar *trace = NULL, *out = NULL, *err = NULL;
	g_autofree gchar *want = g_strdup_printf ("%s\n", c6->expected);
	g_auto (GStrv) lines = NULL;
	const gchar *extra[] = { "--debug", NULL };
	const gchar *pos;
	guint steps = 0, pages = 0;

	g_assert_true (g_file_get_contents (tpath, &trace, NULL, NULL));
	g_assert_cmpint (run_c6 (data, &out, &err, extra), ==, AC_EXIT_OK);
	g_assert_cmpstr (out, ==, want);
	for (pos = err; (pos = strstr (pos, "debug: page gpa=")) != NULL; pos++)
		pages++;
	g_assert_cmpuint (pages, ==, 34);
	g_assert_nonnull (strstr (err, "debug: page gpa=0xfffff000 type=NORMAL "));
	g_assert_nonnull (strstr (err, "debug: page gpa=0x80d000 type=SECRETS "));
	g_assert_nonnull (strstr (err, "debug: page gpa=0x80e000 type=CPUID "));
	g_assert_nonnull (strstr (err, "debug: page gpa=0xfffffffff000 type=VMSA "));
	lines = g_strsplit (trace, "\n", -1);
	pos = err;
	for (guint i = 0; lines[i] != NULL; i++) {
		g_autofree gchar *needle = NULL;
		const gchar *sp;
		if (!g_str_has_prefix (lines[i], "  after "))
			continue;
		sp = strrchr (g_strchomp (lines[i]), ' ');
		needle = g_strdup_printf (" ld=%s ", sp + 1);
		pos = strstr (pos, needle);
		g_assert_nonnull (pos);
		steps++;
	}
	g_assert_cmpuint (steps, ==, 10);
}

/* the other ways to the same C6 digest: the vCPU by family/model/stepping, the firmware
 * digest precomputed by --mode snp:ovmf-hash */
static void
test_equivalent_options (gconstpointer data)
{
	const SnpTestCase *c6 = snp_test_case_find (data, "C6");
	g_autofree gchar *want = g_strdup_printf ("%s\n", c6->expected);
	g_autofree gchar *seed = NULL, *out = NULL;
	g_autoptr (GPtrArray) args = g_ptr_array_new ();

	g_assert_cmpint (cli (&seed, NULL, "snp", "measure", "--mode", "snp:ovmf-hash", "--ovmf",
	                      "fixtures/ovmf_AmdSev_suffix.bin", NULL),
	                 ==, AC_EXIT_OK);
	g_strstrip (seed);
	g_assert_cmpuint (strlen (seed), ==, 96);
	/* C6's options with --vcpu-type EPYC-v4 replaced, and the seed added */
	for (guint i = 0; c6->argv[i] != NULL; i++) {
		if (strcmp (c6->argv[i], "--vcpu-type") == 0) {
			g_assert_cmpstr (c6->argv[i + 1], ==, "EPYC-v4");
			i++;
			continue;
		}
		g_ptr_array_add (args, c6->argv[i]);
	}
	g_ptr_array_add (args, (gpointer) "--vcpu-family");
	g_ptr_array_add (args, (gpointer) "23");
	g_ptr_array_add (args, (gpointer) "--vcpu-model");
	g_ptr_array_add (args, (gpointer) "1");
	g_ptr_array_add (args, (gpointer) "--vcpu-stepping");
	g_ptr_array_add (args, (gpointer) "2");
	g_ptr_array_add (args, NULL);
	g_assert_cmpint (run ((const gchar *const *)args->pdata, &out, NULL), ==, AC_EXIT_OK);
	g_assert_cmpstr (out, ==, want);
	g_clear_pointer (&out, g_free);
	g_ptr_array_remove_index (args, args->len - 1);
	g_ptr_array_add (args, (gpointer) "--snp-ovmf-hash");
	g_ptr_array_add (args, seed);
	g_ptr_array_add (args, NULL);
	g_assert_cmpint (run ((const gchar *const *)args->pdata, &out, NULL), ==, AC_EXIT_OK);
	g_assert_cmpstr (out, ==, want);
	g_clear_pointer (&out, g_free);
	/* a wrong seed gives another digest */
	seed[0] = seed[0] == '0' ? '1' : '0';
	g_assert_cmpint (run ((const gchar *const *)args->pdata, &out, NULL), ==, AC_EXIT_OK);
	g_assert_cmpstr (out, !=, want);
}

static gchar *
write_tmp (const gchar *name, const guint8 *data, gsize len)
{
	gchar *path = g_build_filename (tmpdir, name, NULL);
	g_assert_true (g_file_set_contents (path, (const gchar *)data, (gssize)len, NULL));
	return path;
}

static void
expect_usage (const gchar *needle, const gchar *const *args)
{
	g_autofree gchar *out = NULL, *err = NULL;
	g_assert_cmpint (run (args, &out, &err), ==, AC_EXIT_USAGE);
	g_assert_cmpstr (out, ==, "");
	if (strstr (err, needle) == NULL)
		g_error ("stderr '%s' does not say '%s'", err, needle);
}

static void
test_bad_input (void)
{
	const gchar *fx = "fixtures/ovmf_AmdSev_suffix.bin";
	g_autofree gchar *dir = vec_dir ();
	g_autofree gchar *fxp = g_build_filename (dir, fx, NULL);
	g_autofree gchar *img = NULL, *odd = NULL, *bad = NULL, *json_out = NULL;
	gsize len = 0;

	g_assert_true (g_file_get_contents (fxp, &img, &len, NULL));
	odd = write_tmp ("odd.bin", (const guint8 *)img, len - 1);
	/* the SEV metadata signature broken */
	{
		gchar *p = memmem (img, len, "ASEV", 4);
		g_assert_nonnull (p);
		p[0] = 'X';
		bad = write_tmp ("bad.bin", (const guint8 *)img, len);
	}
#define ARGS(...) ((const gchar *const[]){ "snp", "measure", __VA_ARGS__, NULL })
	expect_usage ("--ovmf is required", ARGS ("--vcpus", "1", "--vcpu-type", "EPYC-v4"));
	expect_usage ("--vcpus N is required", ARGS ("--ovmf", fx, "--vcpu-type", "EPYC-v4"));
	expect_usage ("vCPU type 'EPYC-v9' is unknown",
	              ARGS ("--ovmf", fx, "--vcpus", "1", "--vcpu-type", "EPYC-v9"));
	expect_usage ("the vCPU model is missing", ARGS ("--ovmf", fx, "--vcpus", "1"));
	expect_usage ("given twice", ARGS ("--ovmf", fx, "--vcpus", "1", "--vcpu-type", "EPYC-v4",
	                                   "--vcpu-sig", "0x800f12"));
	expect_usage ("--vcpu-model '' is invalid",
	              ARGS ("--ovmf", fx, "--vcpus", "1", "--vcpu-family", "23", "--vcpu-model", "",
	                    "--vcpu-stepping", "2"));
	expect_usage ("--vcpus '0x10000' is invalid",
	              ARGS ("--ovmf", fx, "--vcpus", "0x10000", "--vcpu-type", "EPYC-v4"));
	expect_usage ("number of vCPUs 0 is invalid",
	              ARGS ("--ovmf", fx, "--vcpus", "0", "--vcpu-type", "EPYC-v4"));
	expect_usage ("SNPActive", ARGS ("--ovmf", fx, "--vcpus", "1", "--vcpu-type", "EPYC-v4",
	                                 "--guest-features", "0x20"));
	expect_usage ("not supported", ARGS ("--ovmf", fx, "--vcpus", "1", "--vcpu-type", "EPYC-v4",
	                                     "--vmm-type", "ec2"));
	expect_usage ("--mode 'sev' is not supported",
	              ARGS ("--mode", "sev", "--ovmf", fx, "--vcpus", "1"));
	expect_usage ("--output-format 'bin'", ARGS ("--ovmf", fx, "--vcpus", "1", "--vcpu-type",
	                                             "EPYC-v4", "--output-format", "bin"));
	expect_usage ("need --kernel", ARGS ("--ovmf", fx, "--vcpus", "1", "--vcpu-type", "EPYC-v4",
	                                     "--append", "console=ttyS0"));
	expect_usage ("--snp-ovmf-hash", ARGS ("--ovmf", fx, "--vcpus", "1", "--vcpu-type",
	                                       "EPYC-v4", "--snp-ovmf-hash", "abcd"));
	expect_usage ("SNP_KERNEL_HASHES",
	              ARGS ("--ovmf", "fixtures/ovmf_OvmfX64_suffix.bin", "--vcpus", "1",
	                    "--vcpu-type", "EPYC-v4", "--kernel", "inputs/kernel.bin"));
	expect_usage ("multiple of 4096",
	              ARGS ("--ovmf", odd, "--vcpus", "1", "--vcpu-type", "EPYC-v4"));
	expect_usage ("multiple of 4096", ARGS ("--mode", "snp:ovmf-hash", "--ovmf", odd));
	expect_usage ("\"ASEV\"", ARGS ("--ovmf", bad, "--vcpus", "1", "--vcpu-type", "EPYC-v4"));
	expect_usage ("Unknown option", ARGS ("--ovmf", fx, "--frobnicate"));
	/* a missing file is not found (10), not bad input */
	g_assert_cmpint (cli (NULL, NULL, "snp", "measure", "--ovmf", "/nonexistent/OVMF.fd",
	                      "--vcpus", "1", "--vcpu-type", "EPYC-v4", NULL),
	                 ==, AC_EXIT_NOT_FOUND);
	/* --json: the error as an object on stdout, the same exit code */
	g_assert_cmpint (cli (&json_out, NULL, "--json", "snp", "measure", "--ovmf", bad, "--vcpus",
	                      "1", "--vcpu-type", "EPYC-v4", NULL),
	                 ==, AC_EXIT_USAGE);
	g_assert_nonnull (strstr (json_out, "ASEV"));
#undef ARGS
}

static void
test_help_lists_options (void)
{
	g_autofree gchar *out = NULL;
	const gchar *opts[]
	    = { "--ovmf",          "--kernel",        "--initrd",   "--append",
		"--vcpus",         "--vcpu-type",     "--vcpu-sig", "--vcpu-family",
		"--vcpu-model",    "--vcpu-stepping", "--vmm-type", "--guest-features",
		"--output-format", "--snp-ovmf-hash", "--mode" };

	g_assert_cmpint (cli (&out, NULL, "snp", "measure", "--help", NULL), ==, AC_EXIT_OK);
	for (guint i = 0; i < G_N_ELEMENTS (opts); i++)
		g_assert_nonnull (strstr (out, opts[i]));
	g_clear_pointer (&out, g_free);
	g_assert_cmpint (cli (&out, NULL, "snp", "--help", NULL), ==, AC_EXIT_OK);
	g_assert_nonnull (strstr (out, "  measure "));
}

/* make-runtime of C6's inputs: a manifest the strict parser reads back to the same bytes, a
 * bundle holding exactly those files, and the launch digest a client computes from them for
 * C6's owner and vCPUs is sev-snp-measure's C6 (the same bundle again, byte for byte) */
static void
test_make_runtime (gconstpointer data)
{
	const SnpTestCase *c6 = snp_test_case_find (data, "C6");
	g_autofree gchar *outdir = g_build_filename (tmpdir, "runtime", NULL);
	g_autofree gchar *manifest_path = g_build_filename (outdir, "manifest.json", NULL);
	g_autofree gchar *bundle_path = g_build_filename (outdir, "bundle.tar.gz", NULL);
	g_autofree gchar *dir = vec_dir ();
	g_autofree gchar *out = NULL, *err = NULL, *json = NULL, *again = NULL;
	g_autoptr (GBytes) manifest = NULL, bundle = NULL, bundle2 = NULL;
	g_autoptr (AcSnpRuntime) rt = NULL;
	g_autoptr (GError) error = NULL;
	g_autofree AcSnpRuntimeMeasurement *m = NULL;
	g_autofree gchar *digest = NULL;
	AcSnpRuntimeFiles files = { 0 };
	guint n = 0;
	const gchar *inputs[]
	    = { "fixtures/ovmf_AmdSev_suffix.bin", "inputs/kernel.bin", "inputs/initrd.bin" };

	g_assert_cmpint (cli (&out, &err, "snp", "make-runtime", "--ovmf", inputs[0], "--kernel",
	                      inputs[1], "--initrd", inputs[2], "--cpu-model", "EPYC-v4",
	                      "--cpu-model", "EPYC-Milan", "--name", "test", "--output", outdir,
	                      NULL),
	                 ==, AC_EXIT_OK);
	g_assert_nonnull (strstr (out, "--engine storage"));
	manifest = test_util_read_bytes (manifest_path);
	bundle = test_util_read_bytes (bundle_path);
	json = g_strndup (g_bytes_get_data (manifest, NULL), g_bytes_get_size (manifest));
	rt = ac_snp_runtime_parse (json, strlen (json), &error);
	g_assert_no_error (error);
	again = ac_snp_runtime_to_json (rt);
	g_assert_cmpstr (again, ==, json);
	g_assert_cmpuint (g_strv_length (rt->cpu_models), ==, 2);
	g_assert_cmpuint (rt->attestation_port, ==, 8443);
	g_assert_true (ac_snp_runtime_check_bundle (rt, bundle, &error));
	g_assert_true (ac_snp_runtime_extract (rt, bundle, &files, &error));
	g_assert_no_error (error);
	for (guint i = 0; i < G_N_ELEMENTS (inputs); i++) {
		g_autofree gchar *path = g_build_filename (dir, inputs[i], NULL);
		g_autoptr (GBytes) want = test_util_read_bytes (path);
		GBytes *got = i == 0 ? files.ovmf : i == 1 ? files.kernel : files.initrd;
		g_assert_true (g_bytes_equal (got, want));
	}
	g_assert_true (ac_snp_runtime_expected_measurements (
	    rt, &files, "0x9319ad3b7a8e0ee24f2e639c40d8ed124c5520ba", 2, &m, &n, &error));
	g_assert_no_error (error);
	digest = ac_codec_hex_encode (m[0].launch, AC_SNP_LD_SIZE);
	g_assert_cmpstr (digest, ==, c6->expected);
	ac_snp_runtime_files_clear (&files);

	/* the files are there: replaced only with --force, and then the same bytes */
	g_clear_pointer (&out, g_free);
	g_clear_pointer (&err, g_free);
	g_assert_cmpint (cli (&out, &err, "snp", "make-runtime", "--ovmf", inputs[0], "--kernel",
	                      inputs[1], "--initrd", inputs[2], "--output", outdir, NULL),
	                 ==, AC_EXIT_EXISTS);
	g_clear_pointer (&out, g_free);
	g_clear_pointer (&err, g_free);
	g_assert_cmpint (cli (&out, &err, "snp", "make-runtime", "--ovmf", inputs[0], "--kernel",
	                      inputs[1], "--initrd", inputs[2], "--cpu-model", "EPYC-v4",
	                      "--cpu-model", "EPYC-Milan", "--name", "test", "--output", outdir,
	                      "--force", NULL),
	                 ==, AC_EXIT_OK);
	bundle2 = test_util_read_bytes (bundle_path);
	g_assert_true (g_bytes_equal (bundle, bundle2));

	/* what a client would refuse is refused here: a CPU model the digest does not know, a
	 * template without {owner}, a firmware that is not an SNP OVMF */
	g_clear_pointer (&err, g_free);
	g_assert_cmpint (cli (NULL, &err, "snp", "make-runtime", "--ovmf", inputs[0], "--kernel",
	                      inputs[1], "--initrd", inputs[2], "--cpu-model", "Pentium",
	                      "--output", outdir, "--force", NULL),
	                 ==, AC_EXIT_USAGE);
	g_assert_nonnull (strstr (err, "Pentium"));
	g_clear_pointer (&err, g_free);
	g_assert_cmpint (cli (NULL, &err, "snp", "make-runtime", "--ovmf", inputs[0], "--kernel",
	                      inputs[1], "--initrd", inputs[2], "--cmdline-template",
	                      "console=ttyS0", "--output", outdir, "--force", NULL),
	                 ==, AC_EXIT_USAGE);
	g_assert_nonnull (strstr (err, "{owner}"));
	g_clear_pointer (&err, g_free);
	g_assert_cmpint (cli (NULL, &err, "snp", "make-runtime", "--ovmf", inputs[1], "--kernel",
	                      inputs[1], "--initrd", inputs[2], "--output", outdir, "--force",
	                      NULL),
	                 ==, AC_EXIT_USAGE);
	g_remove (manifest_path);
	g_remove (bundle_path);
	g_rmdir (outdir);
}

int
main (int argc, char **argv)
{
	g_autoptr (GPtrArray) cases = NULL;
	int ret;

	g_test_init (&argc, &argv, NULL);
	g_assert_nonnull (g_getenv ("VIRT_ALEPH"));
	tmpdir = g_dir_make_tmp ("snp-cli-XXXXXX", NULL);
	cases = cli_cases_load ();
	for (guint i = 0; i < cases->len; i++) {
		const SnpTestCase *c = g_ptr_array_index (cases, i);
		g_autofree gchar *name = g_strdup_printf ("/snp/cli/measure/vectors/%s", c->name);
		g_test_add_data_func (name, c, test_case);
	}
	g_test_add_data_func ("/snp/cli/measure/output-formats", cases, test_output_formats);
	g_test_add_data_func ("/snp/cli/measure/debug-trace", cases, test_debug_trace);
	g_test_add_data_func ("/snp/cli/measure/equivalent-options", cases,
	                      test_equivalent_options);
	g_test_add_func ("/snp/cli/measure/bad-input", test_bad_input);
	g_test_add_data_func ("/snp/cli/make-runtime", cases, test_make_runtime);
	g_test_add_func ("/snp/cli/measure/help", test_help_lists_options);
	ret = g_test_run ();
	for (guint i = 0; i < 2; i++) {
		g_autofree gchar *f
		    = g_build_filename (tmpdir, i == 0 ? "odd.bin" : "bad.bin", NULL);
		g_remove (f);
	}
	g_rmdir (tmpdir);
	g_free (tmpdir);
	return ret;
}
