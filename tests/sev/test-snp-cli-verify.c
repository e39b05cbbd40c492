/*
 * `virt-aleph snp verify-report` end to end: the real Milan report up to AMD's built-in root,
 * and reports of the software SNP firmware with its certificates given as files or served by an
 * HTTP KDS (python3 -m http.server over the KDS paths), through a cache and offline; the exit
 * code of each refusal (untrusted 4, mismatch 5, refused 3, bad input 2, missing file 10).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <signal.h>
#include <string.h>

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <openssl/rand.h>

#include "ac-codec.h"
#include "ac-snp-firmware.h"
#include "ac-snp-kds.h"
#include "ac-snp-policy.h"
#include "test-sev-common.h"
#include "test-snp-common.h"
#include "../test-util.h"

static gchar *tmpdir;

/* virt-aleph with @args (NULL-terminated); the exit code, stdout in @out (optional) */
static gint
cli (gchar **out, const gchar *const *args)
{
	return sev_test_cli_run (tmpdir, args, out, NULL);
}

#define CLI(out, ...) cli (out, (const gchar *const[]){ __VA_ARGS__, NULL })

static gchar *
vector (const gchar *rel)
{
	return g_test_build_filename (G_TEST_DIST, "data", "snp", rel, NULL);
}

static gchar *
tmp_write (const gchar *name, GBytes *b)
{
	g_autoptr (GError) error = NULL;
	gchar *path = g_build_filename (tmpdir, name, NULL);
	g_autofree gchar *dir = g_path_get_dirname (path);
	g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
	g_assert_true (g_file_set_contents (path, g_bytes_get_data (b, NULL),
	                                    (gssize)g_bytes_get_size (b), &error));
	g_assert_no_error (error);
	return path;
}

/* ---- the real report ---- */

static void
test_real (void)
{
	g_autofree gchar *report = vector ("virtee-sev-milan/report_milan.bin");
	g_autofree gchar *vcek = vector ("virtee-sev-milan/vcek_milan.der");
	g_autofree gchar *chain = vector ("virtee-sev-milan/cert_chain_milan.pem");
	g_autofree gchar *other = vector ("go-sev-guest-milan/vcek.der");
	g_autofree gchar *out = NULL;
	const gchar *ms = "7a1e5c266c0108dbc9bb94fa926951320940915d0aafb42464bd88b579ea158d"
	                  "3e1a0dc39b2c60bd95b9c480cd81841f";

	/* below today's floor: refused, accepted only with the floor lowered explicitly */
	g_assert_cmpint (CLI (NULL, "snp", "verify-report", report, "--vcek", vcek, "--at",
	                      "2026-08-18T00:00:00Z"),
	                 ==, 3);
	g_assert_cmpint (CLI (NULL, "snp", "verify-report", report, "--vcek", vcek, "--at",
	                      "2026-08-18T00:00:00Z", "--min-tcb", "bl=0"),
	                 ==, 3);
	g_assert_cmpint (CLI (&out, "--json", "snp", "verify-report", report, "--vcek", vcek,
	                      "--chain", chain, "--at", "2026-08-18T00:00:00Z", "--min-tcb", "bl=0",
	                      "--allow-tcb-below-default", "--expected-measurement", ms, "--policy",
	                      "smt"),
	                 ==, 0);
	g_assert_nonnull (strstr (out, "\"verified\":true"));
	g_assert_nonnull (strstr (out, "\"root\":\"builtin\""));
	g_assert_nonnull (strstr (out, "\"measurement_checked\":true"));
	/* another chip's VCEK; another launch digest; a time after the VCEK expired */
	g_assert_cmpint (CLI (NULL, "snp", "verify-report", report, "--vcek", other, "--at",
	                      "2026-08-18T00:00:00Z", "--min-tcb", "bl=0",
	                      "--allow-tcb-below-default"),
	                 ==, 5);
	g_assert_cmpint (CLI (NULL, "snp", "verify-report", report, "--vcek", vcek, "--at",
	                      "2026-08-18T00:00:00Z", "--min-tcb", "bl=0",
	                      "--allow-tcb-below-default", "--expected-measurement",
	                      "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
	                 ==, 5);
	g_assert_cmpint (CLI (NULL, "snp", "verify-report", report, "--vcek", vcek, "--at",
	                      "2031-01-01T00:00:00Z", "--min-tcb", "bl=0",
	                      "--allow-tcb-below-default"),
	                 ==, 4);
	/* a version 2 report with no VCEK and no product: nothing says what it is */
	g_assert_cmpint (CLI (NULL, "snp", "verify-report", report), ==, 2);
	g_assert_cmpint (CLI (NULL, "snp", "verify-report", report, "--product", "milan"), ==, 10);
}

static void
test_bad_input (void)
{
	g_autofree gchar *report = vector ("virtee-sev-milan/report_milan.bin");
	g_autofree gchar *vcek = vector ("virtee-sev-milan/vcek_milan.der");

	g_assert_cmpint (CLI (NULL, "snp", "verify-report"), ==, 2);
	g_assert_cmpint (CLI (NULL, "snp", "verify-report", "/nonexistent/report.bin"), ==, 10);
	g_assert_cmpint (CLI (NULL, "snp", "verify-report", report, "--vcek", "/nonexistent"), ==,
	                 10);
	g_assert_cmpint (CLI (NULL, "snp", "verify-report", report, "--vcek", report), ==, 2);
	g_assert_cmpint (CLI (NULL, "snp", "verify-report", report, "--chain", vcek), ==, 2);
	g_assert_cmpint (CLI (NULL, "snp", "verify-report", report, "--vcek", vcek,
	                      "--expected-report-data", "zz"),
	                 ==, 2);
	g_assert_cmpint (CLI (NULL, "snp", "verify-report", report, "--vcek", vcek,
	                      "--expected-measurement", "0123"),
	                 ==, 2);
	g_assert_cmpint (
	    CLI (NULL, "snp", "verify-report", report, "--vcek", vcek, "--at", "yesterday"), ==, 2);
	g_assert_cmpint (
	    CLI (NULL, "snp", "verify-report", report, "--vcek", vcek, "--min-tcb", "bl=256"), ==,
	    2);
	g_assert_cmpint (
	    CLI (NULL, "snp", "verify-report", report, "--vcek", vcek, "--policy", "0x1"), ==, 2);
	g_assert_cmpint (
	    CLI (NULL, "snp", "verify-report", report, "--vcek", vcek, "--vmpl-max", "4"), ==, 2);
	g_assert_cmpint (
	    CLI (NULL, "snp", "verify-report", report, "--vcek", vcek, "--min-abi", "1"), ==, 2);
}

/* ---- the software firmware ---- */

typedef struct {
	AcSnpFirmware *fw;
	gchar *report, *debug_report, *vcek, *chain, *ark, *crl, *revoked_crl;
	gchar *measurement, *measurement_b64, *report_data;
	gchar *kds_root; /* a directory laid out as the KDS paths */
} Firmware;

static void
firmware_make (Firmware *f)
{
	g_autoptr (GError) error = NULL;
	g_autoptr (GBytes) ovmf = NULL;
	g_autoptr (AcSnpGuest) guest = NULL;
	g_autoptr (AcSnpGuest) debug_guest = NULL;
	g_autoptr (GBytes) report = NULL;
	g_autoptr (GBytes) der = NULL;
	g_autoptr (AcSnpCrl) crl = NULL;
	g_autofree gchar *ovmf_path = vector ("sev-snp-measure/fixtures/ovmf_AmdSev_suffix.bin");
	g_autofree gchar *ovmf_data = NULL;
	AcSnpLaunchInputs in = { 0 };
	AcSnpTcb tcb;
	guint8 rd[AC_SNP_REPORT_DATA_SIZE];
	gsize len = 0;
	const gchar *paths[3];
	g_autofree gchar *vcek_path = NULL, *chain_path = NULL, *crl_path = NULL;

	snp_test_tcb_floor (AC_SNP_PRODUCT_MILAN, &tcb);
	tcb.microcode++;
	f->fw = snp_test_firmware_new (AC_SNP_PRODUCT_MILAN, &tcb, NULL);
	g_assert_true (g_file_get_contents (ovmf_path, &ovmf_data, &len, &error));
	ovmf = g_bytes_new_take (g_steal_pointer (&ovmf_data), len);
	in.firmware = ovmf;
	in.vcpus = 4;
	in.guest_features = AC_SNP_GUEST_FEATURES_DEFAULT;
	g_assert_true (ac_snp_vcpu_sig_from_type ("EPYC-Milan", &in.vcpu_sig, &error));
	guest = ac_snp_firmware_launch (f->fw, &in, AC_SNP_POLICY_DEFAULT, NULL, &error);
	g_assert_no_error (error);
	debug_guest = ac_snp_firmware_launch (
	    f->fw, &in, AC_SNP_POLICY_DEFAULT | AC_SNP_POLICY_DEBUG, NULL, &error);
	g_assert_no_error (error);
	g_assert_cmpint (RAND_bytes (rd, sizeof rd), ==, 1);
	f->report_data = ac_codec_hex_encode (rd, sizeof rd);
	f->measurement = ac_codec_hex_encode (ac_snp_guest_get_measurement (guest), 48);
	f->measurement_b64 = ac_codec_base64_encode (ac_snp_guest_get_measurement (guest), 48);

	report = ac_snp_guest_get_report (guest, rd, 1, &error);
	g_assert_no_error (error);
	f->report = tmp_write ("fw/report.bin", report);
	g_clear_pointer (&report, g_bytes_unref);
	report = ac_snp_guest_get_report (debug_guest, rd, 1, &error);
	f->debug_report = tmp_write ("fw/debug-report.bin", report);

	der = ac_snp_cert_get_der (ac_snp_firmware_get_vcek (f->fw));
	f->vcek = tmp_write ("fw/vcek.der", der);
	g_clear_pointer (&der, g_bytes_unref);
	der = ac_snp_firmware_kds_answer (f->fw, "/vcek/v1/Milan/cert_chain", &error);
	g_assert_no_error (error);
	f->chain = tmp_write ("fw/cert_chain.pem", der);
	g_clear_pointer (&der, g_bytes_unref);
	{
		g_autofree gchar *pem = ac_snp_cert_to_pem (ac_snp_firmware_get_ark (f->fw));
		g_autoptr (GBytes) b = g_bytes_new (pem, strlen (pem));
		f->ark = tmp_write ("fw/ark.pem", b);
	}
	g_assert_no_error (error);
	crl = ac_snp_firmware_get_crl (f->fw, &error);
	der = ac_snp_crl_get_der (crl);
	f->crl = tmp_write ("fw/crl.der", der);
	g_clear_pointer (&der, g_bytes_unref);
	g_clear_pointer (&crl, ac_snp_crl_unref);
	ac_snp_firmware_revoke_ask (f->fw);
	crl = ac_snp_firmware_get_crl (f->fw, &error);
	der = ac_snp_crl_get_der (crl);
	f->revoked_crl = tmp_write ("fw/revoked-crl.der", der);
	g_clear_pointer (&der, g_bytes_unref);

	/* the KDS tree: what the firmware answers for each path (the query string is not part
	 * of a file name) */
	vcek_path = ac_snp_kds_vcek_url ("", AC_SNP_PRODUCT_MILAN,
	                                 ac_snp_firmware_get_chip_id (f->fw), 64, &tcb, &error);
	*strchr (vcek_path, '?') = '\0';
	chain_path = ac_snp_kds_cert_chain_url ("", AC_SNP_PRODUCT_MILAN, FALSE, &error);
	crl_path = ac_snp_kds_crl_url ("", AC_SNP_PRODUCT_MILAN, FALSE, &error);
	paths[0] = vcek_path, paths[1] = chain_path, paths[2] = crl_path;
	f->kds_root = g_build_filename (tmpdir, "kds", NULL);
	for (guint i = 0; i < 3; i++) {
		g_autofree gchar *rel = g_build_filename ("kds", paths[i], NULL);
		g_autofree gchar *written = NULL;
		g_autoptr (GBytes) b = NULL;

		g_clear_pointer (&crl, ac_snp_crl_unref);
		if (i == 0) {
			b = ac_snp_cert_get_der (ac_snp_firmware_get_vcek (f->fw));
		} else if (i == 1) {
			b = ac_snp_firmware_kds_answer (f->fw, paths[i], &error);
		} else {
			/* the CRL of before the revocation */
			gchar *c = NULL;
			gsize n = 0;
			g_assert_true (g_file_get_contents (f->crl, &c, &n, &error));
			b = g_bytes_new_take (c, n);
		}
		g_assert_no_error (error);
		written = tmp_write (rel, b);
	}
}

static void
firmware_clear (Firmware *f)
{
	ac_snp_firmware_free (f->fw);
	g_free (f->report), g_free (f->debug_report), g_free (f->vcek), g_free (f->chain);
	g_free (f->ark), g_free (f->crl), g_free (f->revoked_crl), g_free (f->measurement);
	g_free (f->measurement_b64), g_free (f->report_data), g_free (f->kds_root);
}

static void
test_firmware_files (void)
{
	Firmware f = { 0 };
	g_autofree gchar *out = NULL;

	firmware_make (&f);
	/* given as files, the software ARK trusted explicitly */
	g_assert_cmpint (CLI (&out, "--json", "snp", "verify-report", f.report, "--vcek", f.vcek,
	                      "--chain", f.chain, "--trust-ark", f.ark, "--crl", f.crl,
	                      "--expected-measurement", f.measurement, "--expected-report-data",
	                      f.report_data, "--policy", "0x30000"),
	                 ==, 0);
	g_assert_nonnull (strstr (out, "\"root\":\"trusted\""));
	g_assert_nonnull (strstr (out, "\"report_data_checked\":true"));
	g_assert_nonnull (strstr (out, "\"crl_checked\":true"));
	g_assert_cmpint (CLI (NULL, "snp", "verify-report", f.report, "--vcek", f.vcek, "--chain",
	                      f.chain, "--trust-ark", f.ark, "--expected-measurement",
	                      f.measurement_b64),
	                 ==, 0);
	/* not an AMD root unless trusted */
	g_assert_cmpint (
	    CLI (NULL, "snp", "verify-report", f.report, "--vcek", f.vcek, "--chain", f.chain), ==,
	    4);
	/* another launch digest expected, other report data, another policy */
	g_assert_cmpint (CLI (NULL, "snp", "verify-report", f.report, "--vcek", f.vcek, "--chain",
	                      f.chain, "--trust-ark", f.ark, "--expected-report-data",
	                      "00000000000000000000000000000000000000000000000000000000000000000000"
	                      "000000000000000000000000000000000000000000000000000000000000"),
	                 ==, 5);
	g_assert_cmpint (CLI (NULL, "snp", "verify-report", f.report, "--vcek", f.vcek, "--chain",
	                      f.chain, "--trust-ark", f.ark, "--policy", "smt,single-socket"),
	                 ==, 3);
	/* a debug guest: refused unless allowed */
	g_assert_cmpint (CLI (NULL, "snp", "verify-report", f.debug_report, "--vcek", f.vcek,
	                      "--chain", f.chain, "--trust-ark", f.ark),
	                 ==, 3);
	g_assert_cmpint (CLI (NULL, "snp", "verify-report", f.debug_report, "--vcek", f.vcek,
	                      "--chain", f.chain, "--trust-ark", f.ark, "--allow-debug"),
	                 ==, 0);
	/* VMPL 1 accepted by default, not with --vmpl-max 0 */
	g_assert_cmpint (CLI (NULL, "snp", "verify-report", f.report, "--vcek", f.vcek, "--chain",
	                      f.chain, "--trust-ark", f.ark, "--vmpl-max", "0"),
	                 ==, 3);
	/* the ASK revoked */
	g_assert_cmpint (CLI (NULL, "snp", "verify-report", f.report, "--vcek", f.vcek, "--chain",
	                      f.chain, "--trust-ark", f.ark, "--crl", f.revoked_crl),
	                 ==, 4);
	firmware_clear (&f);
}

/* python3 -m http.server over @root on a free port; its pid and URL */
static GPid
http_server_start (const gchar *root, gchar **url)
{
	const gchar *argv[] = { "python3", "-u",        "-m",          "http.server", "0",
		                "--bind",  "127.0.0.1", "--directory", root,          NULL };
	g_autoptr (GError) error = NULL;
	g_autoptr (GIOChannel) ch = NULL;
	g_autofree gchar *line = NULL;
	GPid pid;
	gint out_fd;
	guint port = 0;

	/* its stderr not the test's: a server left behind by a failed test must not hold the
	 * test's output open */
	g_assert_true (g_spawn_async_with_pipes (NULL, (gchar **)argv, NULL,
	                                         G_SPAWN_SEARCH_PATH | G_SPAWN_STDERR_TO_DEV_NULL,
	                                         NULL, NULL, &pid, NULL, &out_fd, NULL, &error));
	g_assert_no_error (error);
	ch = g_io_channel_unix_new (out_fd);
	g_io_channel_set_close_on_unref (ch, TRUE);
	/* "Serving HTTP on 127.0.0.1 port 40123 (http://127.0.0.1:40123/) ..." */
	g_assert_cmpint (g_io_channel_read_line (ch, &line, NULL, NULL, &error), ==,
	                 G_IO_STATUS_NORMAL);
	g_assert_true (sscanf (strstr (line, "port ") + 5, "%u", &port) == 1);
	*url = g_strdup_printf ("http://127.0.0.1:%u", port);
	return pid;
}

static void
test_firmware_kds (void)
{
	Firmware f = { 0 };
	g_autofree gchar *url = NULL;
	g_autofree gchar *cache = NULL;
	g_autofree gchar *empty = NULL;
	g_autofree gchar *out = NULL;
	GPid pid;

	firmware_make (&f);
	cache = g_build_filename (tmpdir, "kds-cache", NULL);
	empty = g_build_filename (tmpdir, "empty-cache", NULL);
	pid = http_server_start (f.kds_root, &url);
	/* VCEK, cert_chain and CRL from the KDS, into the cache */
	g_assert_cmpint (CLI (&out, "--json", "snp", "verify-report", f.report, "--kds-url", url,
	                      "--cache-dir", cache, "--check-crl", "--trust-ark", f.ark,
	                      "--expected-measurement", f.measurement),
	                 ==, 0);
	g_assert_nonnull (strstr (out, "\"crl_checked\":true"));
	kill (pid, SIGTERM);
	g_spawn_close_pid (pid);
	/* the server gone: offline, from the cache of that KDS alone */
	g_assert_cmpint (CLI (NULL, "snp", "verify-report", f.report, "--offline", "--kds-url", url,
	                      "--cache-dir", cache, "--check-crl", "--trust-ark", f.ark),
	                 ==, 0);
	/* offline with an empty cache: not found; online with the server gone: network */
	g_assert_cmpint (CLI (NULL, "snp", "verify-report", f.report, "--offline", "--kds-url", url,
	                      "--cache-dir", empty, "--trust-ark", f.ark),
	                 ==, 10);
	g_assert_cmpint (CLI (NULL, "--timeout", "5", "snp", "verify-report", f.report, "--kds-url",
	                      url, "--trust-ark", f.ark),
	                 ==, 6);
	firmware_clear (&f);
}

int
main (int argc, char **argv)
{
	g_autoptr (GError) error = NULL;
	int ret;

	g_test_init (&argc, &argv, NULL);
	g_assert_nonnull (g_getenv ("VIRT_ALEPH"));
	tmpdir = test_util_mkdtemp ("snp-cli-verify-XXXXXX");
	g_test_add_func ("/snp/cli/verify-report/real", test_real);
	g_test_add_func ("/snp/cli/verify-report/bad-input", test_bad_input);
	g_test_add_func ("/snp/cli/verify-report/firmware-files", test_firmware_files);
	g_test_add_func ("/snp/cli/verify-report/firmware-kds", test_firmware_kds);
	ret = g_test_run ();
	test_util_rm_rf (tmpdir);
	return ret;
}
