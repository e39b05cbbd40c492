/*
 * The software SNP firmware saved and loaded (ac_snp_firmware_save/_load): the same chip, TCB
 * and chain after a reload, reports of the reloaded firmware verified with the chain read from
 * the saved files, and every tampered, loosened, foreign or symlinked state refused.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <openssl/rand.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "ac-error.h"
#include "ac-snp-firmware.h"
#include "ac-snp-verify.h"
#include "test-snp-common.h"
#include "../test-util.h"

/* one firmware (two RSA-4096 keys) for the whole program, saved once */
static AcSnpFirmware *fw;
static gchar *tmp;
static gchar *saved;

static gchar *
path_of (const gchar *dir, const gchar *name)
{
	return g_build_filename (dir, name, NULL);
}

static void
run (const gchar *cmd)
{
	g_assert_cmpint (system (cmd), ==, 0);
}

/* a fresh copy of the saved state (modes kept) */
static gchar *
copy_state (const gchar *name)
{
	gchar *dir = path_of (tmp, name);
	g_autofree gchar *cmd = g_strdup_printf ("rm -rf '%s' && cp -a '%s' '%s'", dir, saved, dir);
	run (cmd);
	return dir;
}

static void
write_text (const gchar *dir, const gchar *name, const gchar *text)
{
	g_autofree gchar *p = path_of (dir, name);
	g_autoptr (GError) error = NULL;
	g_assert_true (g_file_set_contents (p, text, -1, &error));
	g_assert_no_error (error);
}

static gchar *
read_text (const gchar *dir, const gchar *name)
{
	g_autofree gchar *p = path_of (dir, name);
	gchar *text = NULL;
	g_autoptr (GError) error = NULL;
	g_assert_true (g_file_get_contents (p, &text, NULL, &error));
	g_assert_no_error (error);
	return text;
}

static void
expect_refused (const gchar *dir, gint code, const gchar *needle)
{
	g_autoptr (GError) error = NULL;
	g_autoptr (AcSnpFirmware) f = ac_snp_firmware_load (dir, &error);
	g_assert_null (f);
	g_assert_error (error, AC_ERROR, code);
	if (needle != NULL && strstr (error->message, needle) == NULL)
		g_error ("'%s' does not name '%s'", error->message, needle);
}

/* firmware.ini with the first occurrence of @from replaced by @to */
static void
edit_state (const gchar *dir, const gchar *from, const gchar *to)
{
	g_autofree gchar *ini = read_text (dir, "firmware.ini");
	gchar *at = strstr (ini, from);
	g_autofree gchar *out = NULL;
	g_assert_nonnull (at);
	*at = '\0';
	out = g_strconcat (ini, to, at + strlen (from), NULL);
	write_text (dir, "firmware.ini", out);
}

static AcSnpCert *
read_cert (const gchar *dir, const gchar *name)
{
	g_autofree gchar *pem = read_text (dir, name);
	g_autoptr (GError) error = NULL;
	AcSnpCert *c = ac_snp_cert_parse ((const guint8 *)pem, strlen (pem), name, &error);
	g_assert_no_error (error);
	return c;
}

static void
test_round_trip (void)
{
	g_autoptr (GError) error = NULL;
	g_autoptr (AcSnpFirmware) back = ac_snp_firmware_load (saved, &error);
	g_autoptr (GBytes) a = NULL, b = NULL;
	AcSnpTcb t1, t2;
	GStatBuf st;

	g_assert_no_error (error);
	g_assert_nonnull (back);
	g_assert_cmpint (ac_snp_firmware_get_product (back), ==, AC_SNP_PRODUCT_MILAN);
	g_assert_cmpmem (ac_snp_firmware_get_chip_id (back), 64, ac_snp_firmware_get_chip_id (fw),
	                 64);
	ac_snp_firmware_get_tcb (fw, &t1);
	ac_snp_firmware_get_tcb (back, &t2);
	g_assert_cmpmem (&t1, sizeof t1, &t2, sizeof t2);
	g_assert_true (ac_snp_firmware_get_ask_revoked (back));
	a = ac_snp_cert_get_der (ac_snp_firmware_get_ark (fw));
	b = ac_snp_cert_get_der (ac_snp_firmware_get_ark (back));
	g_assert_true (g_bytes_equal (a, b));
	g_clear_pointer (&a, g_bytes_unref);
	g_clear_pointer (&b, g_bytes_unref);
	a = ac_snp_cert_get_der (ac_snp_firmware_get_vcek (fw));
	b = ac_snp_cert_get_der (ac_snp_firmware_get_vcek (back));
	g_assert_true (g_bytes_equal (a, b));
	/* the KDS answers are the same chip's */
	{
		g_autoptr (GBytes) va = NULL, vb = NULL;
		g_autofree gchar *url = ac_snp_kds_vcek_url (
		    "", AC_SNP_PRODUCT_MILAN, ac_snp_firmware_get_chip_id (fw), 64, &t1, &error);
		g_assert_no_error (error);
		va = ac_snp_firmware_kds_answer (fw, url, &error);
		g_assert_no_error (error);
		vb = ac_snp_firmware_kds_answer (back, url, &error);
		g_assert_no_error (error);
		g_assert_true (g_bytes_equal (va, vb));
	}
	/* modes: the directory and the keys closed to others */
	g_assert_cmpint (g_stat (saved, &st), ==, 0);
	g_assert_cmpuint (st.st_mode & 0777, ==, 0700);
	{
		g_autofree gchar *k = path_of (saved, "vcek.key");
		g_autofree gchar *ca = path_of (saved, "ca/ask.key");
		g_assert_cmpint (g_stat (k, &st), ==, 0);
		g_assert_cmpuint (st.st_mode & 0777, ==, 0600);
		g_assert_cmpint (g_stat (ca, &st), ==, 0);
		g_assert_cmpuint (st.st_mode & 0777, ==, 0600);
	}
}

/* the reloaded firmware's reports verify with the chain read from the saved files (and its
 * CRL lists the ASK that was revoked before the save) */
static void
test_reports_verify (void)
{
	g_autoptr (GError) error = NULL;
	g_autoptr (AcSnpFirmware) back = ac_snp_firmware_load (saved, &error);
	g_autofree gchar *ca_dir = path_of (saved, "ca");
	g_autoptr (AcSnpCert) ark = read_cert (ca_dir, "ark.pem");
	g_autoptr (AcSnpCert) ask = read_cert (ca_dir, "ask.pem");
	g_autoptr (AcSnpCert) vcek = read_cert (saved, "vcek.pem");
	g_autoptr (AcSnpRoots) roots = ac_snp_roots_new ();
	g_autoptr (AcSnpGuest) guest = NULL;
	g_autoptr (GBytes) report = NULL;
	g_autoptr (AcSnpVerifyResult) result = NULL;
	g_autofree gchar *ovmf_path
	    = g_test_build_filename (G_TEST_DIST, "data", "snp", "sev-snp-measure", "fixtures",
	                             "ovmf_AmdSev_suffix.bin", NULL);
	gchar *ovmf_data = NULL;
	gsize ovmf_len = 0;
	g_autoptr (GBytes) ovmf = NULL;
	AcSnpLaunchInputs inputs = { 0 };
	guint8 measurement[AC_SNP_MEASUREMENT_SIZE];
	guint8 report_data[AC_SNP_REPORT_DATA_SIZE];
	AcSnpCertSource certs = { .leaf = vcek, .intermediate = ask, .ark = ark };
	AcSnpVerifyExpect e = { 0 };

	g_assert_no_error (error);
	g_assert_true (g_file_get_contents (ovmf_path, &ovmf_data, &ovmf_len, &error));
	ovmf = g_bytes_new_take (ovmf_data, ovmf_len);
	inputs.firmware = ovmf;
	inputs.vcpus = 1;
	g_assert_true (ac_snp_vcpu_sig_from_type ("EPYC-Milan", &inputs.vcpu_sig, &error));
	inputs.guest_features = AC_SNP_GUEST_FEATURES_DEFAULT;
	g_assert_true (ac_snp_launch_digest (&inputs, measurement, &error));
	g_assert_no_error (error);
	g_assert_cmpint (RAND_bytes (report_data, sizeof report_data), ==, 1);

	guest = ac_snp_firmware_launch (back, &inputs, AC_SNP_POLICY_DEFAULT, NULL, &error);
	g_assert_no_error (error);
	report = ac_snp_guest_get_report (guest, report_data, 0, &error);
	g_assert_no_error (error);
	g_assert_true (ac_snp_roots_add_trusted (roots, AC_SNP_PRODUCT_MILAN, ark, &error));
	ac_snp_verify_policy_init (&e.policy);
	e.measurements = (const guint8 (*)[AC_SNP_MEASUREMENT_SIZE])measurement;
	e.n_measurements = 1;
	e.report_data = report_data;
	g_assert_true (ac_snp_verify_report (g_bytes_get_data (report, NULL),
	                                     g_bytes_get_size (report), roots, &certs, &e, &result,
	                                     NULL, &error));
	g_assert_no_error (error);
	g_assert_true (result->measurement_checked);
	g_assert_true (result->report_data_checked);
	g_assert_cmpmem (result->report.chip_id, 64, ac_snp_firmware_get_chip_id (fw), 64);
	/* the revocation was saved: the CRL of the reloaded firmware refuses the ASK */
	{
		g_autoptr (AcSnpCrl) crl = ac_snp_firmware_get_crl (back, &error);
		g_assert_no_error (error);
		certs.crl = crl;
		g_assert_false (ac_snp_verify_report (g_bytes_get_data (report, NULL),
		                                      g_bytes_get_size (report), roots, &certs, &e,
		                                      NULL, NULL, &error));
		g_assert_error (error, AC_ERROR, AC_ERROR_UNTRUSTED);
	}
}

static void
test_tampered (void)
{
	g_autofree gchar *d = NULL;
	g_autoptr (GError) error = NULL;

	/* the CHIP_ID changed (one digit): the VCEK is another chip's */
	d = copy_state ("chip");
	{
		gchar *ini = read_text (d, "firmware.ini");
		gchar *at = strstr (ini, "chip_id=") + 8 + 10;
		*at = *at == '0' ? '1' : '0';
		write_text (d, "firmware.ini", ini);
		g_free (ini);
	}
	expect_refused (d, AC_ERROR_MISMATCH, "vcek.pem");
	g_clear_pointer (&d, g_free);

	/* the TCB raised: the VCEK is for another TCB */
	{
		AcSnpTcb t;
		g_autofree gchar *from = NULL, *to = NULL;
		ac_snp_firmware_get_tcb (fw, &t);
		from = g_strdup_printf ("snp=%u\n", t.snp);
		to = g_strdup_printf ("snp=%u\n", t.snp + 1);
		d = copy_state ("tcb");
		edit_state (d, from, to);
		expect_refused (d, AC_ERROR_MISMATCH, "vcek.pem");
		g_clear_pointer (&d, g_free);
		/* out of range */
		d = copy_state ("tcb-range");
		edit_state (d, from, "snp=256\n");
		expect_refused (d, AC_ERROR_INVALID_INPUT, "snp");
		g_clear_pointer (&d, g_free);
	}
	/* another product: not the CA's */
	d = copy_state ("product");
	edit_state (d, "product=Milan", "product=Genoa");
	expect_refused (d, AC_ERROR_INVALID_INPUT, "Genoa");
	g_clear_pointer (&d, g_free);
	/* an unknown key, a missing key, a bad boolean */
	d = copy_state ("unknown");
	edit_state (d, "ask_revoked=", "debug=1\nask_revoked=");
	expect_refused (d, AC_ERROR_INVALID_INPUT, "debug");
	g_clear_pointer (&d, g_free);
	d = copy_state ("missing");
	edit_state (d, "tee=", "x_tee=");
	expect_refused (d, AC_ERROR_INVALID_INPUT, NULL);
	g_clear_pointer (&d, g_free);
	d = copy_state ("revoked");
	edit_state (d, "ask_revoked=true", "ask_revoked=maybe");
	expect_refused (d, AC_ERROR_INVALID_INPUT, "ask_revoked");
	g_clear_pointer (&d, g_free);

	/* the VCEK key replaced by another P-384 key */
	d = copy_state ("key");
	{
		g_autoptr (AcSnpFirmware) other = NULL;
		g_autofree gchar *odir = path_of (tmp, "other-key-src");
		g_autofree gchar *okey = NULL;
		g_autofree gchar *cmd = NULL;
		/* a firmware on the same CA (its own chip and VCEK key) */
		g_autofree gchar *ca_dir = path_of (saved, "ca");
		AcSnpSoftCa *ca = ac_snp_soft_ca_load (ca_dir, &error);
		AcSnpTcb t;
		g_assert_no_error (error);
		ac_snp_firmware_get_tcb (fw, &t);
		other = ac_snp_firmware_new_with_ca (ca, &t, &error);
		g_assert_no_error (error);
		g_assert_true (ac_snp_firmware_save (other, odir, &error));
		g_assert_no_error (error);
		okey = path_of (odir, "vcek.key");
		cmd = g_strdup_printf ("cp -p '%s' '%s/vcek.key'", okey, d);
		run (cmd);
		expect_refused (d, AC_ERROR_INVALID_INPUT, "vcek.key");
		g_clear_pointer (&d, g_free);
		/* the other chip's VCEK with this chip's state: issued by the same CA, but for
		 * another CHIP_ID */
		d = copy_state ("vcek");
		g_free (cmd);
		cmd = g_strdup_printf ("cp -p '%s/vcek.pem' '%s/vcek.key' '%s/'", odir, odir, d);
		run (cmd);
		expect_refused (d, AC_ERROR_MISMATCH, "vcek.pem");
		g_clear_pointer (&d, g_free);
		/* a VCEK from another CA */
		d = copy_state ("foreign-ca");
		{
			AcSnpTcb t2;
			g_autoptr (AcSnpFirmware) f2 = NULL;
			g_autofree gchar *f2dir = path_of (tmp, "foreign-ca-src");
			ac_snp_firmware_get_tcb (fw, &t2);
			f2 = ac_snp_firmware_new (AC_SNP_PRODUCT_MILAN, &t2, &error);
			g_assert_no_error (error);
			g_assert_true (ac_snp_firmware_save (f2, f2dir, &error));
			g_assert_no_error (error);
			g_free (cmd);
			cmd = g_strdup_printf ("cp -p '%s/vcek.pem' '%s/vcek.key' '%s/'", f2dir,
			                       f2dir, d);
			run (cmd);
			expect_refused (d, AC_ERROR_UNTRUSTED, "vcek.pem");
			/* ... and its whole CA with it: the CHIP_ID still differs */
			g_free (cmd);
			cmd = g_strdup_printf ("cp -p '%s'/ca/* '%s/ca/'", f2dir, d);
			run (cmd);
			expect_refused (d, AC_ERROR_MISMATCH, "vcek.pem");
		}
		g_clear_pointer (&d, g_free);
	}
	/* a certificate that is not one */
	d = copy_state ("garbage");
	write_text (d, "vcek.pem",
	            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
	expect_refused (d, AC_ERROR_INVALID_INPUT, NULL);
	g_clear_pointer (&d, g_free);
	/* a missing file */
	d = copy_state ("gone");
	{
		g_autofree gchar *p = path_of (d, "vcek.key");
		g_assert_cmpint (g_unlink (p), ==, 0);
	}
	expect_refused (d, AC_ERROR_NOT_FOUND, "vcek.key");
	g_clear_pointer (&d, g_free);
}

static void
chmod_path (const gchar *dir, const gchar *name, guint mode)
{
	g_autofree gchar *p = name != NULL ? path_of (dir, name) : g_strdup (dir);
	g_assert_cmpint (g_chmod (p, mode), ==, 0);
}

static void
test_permissions (void)
{
	g_autofree gchar *d = NULL;

	/* keys others can read */
	d = copy_state ("vcek-key-mode");
	chmod_path (d, "vcek.key", 0640);
	expect_refused (d, AC_ERROR_PERMISSION, "vcek.key");
	g_clear_pointer (&d, g_free);
	d = copy_state ("ca-key-mode");
	chmod_path (d, "ca/ark.key", 0604);
	expect_refused (d, AC_ERROR_PERMISSION, "ark.key");
	g_clear_pointer (&d, g_free);
	/* a directory others can enter */
	d = copy_state ("dir-mode");
	chmod_path (d, NULL, 0755);
	expect_refused (d, AC_ERROR_PERMISSION, NULL);
	g_clear_pointer (&d, g_free);
	d = copy_state ("ca-dir-mode");
	chmod_path (d, "ca", 0711);
	expect_refused (d, AC_ERROR_PERMISSION, "ca");
	g_clear_pointer (&d, g_free);
	/* a state file others can write */
	d = copy_state ("ini-mode");
	chmod_path (d, "firmware.ini", 0666);
	expect_refused (d, AC_ERROR_PERMISSION, "firmware.ini");
	g_clear_pointer (&d, g_free);

	/* symbolic links: the directory, a certificate, a key (even to the genuine files) */
	{
		g_autofree gchar *link = path_of (tmp, "link-dir");
		g_assert_cmpint (symlink (saved, link), ==, 0);
		expect_refused (link, AC_ERROR_PERMISSION, "symbolic link");
	}
	d = copy_state ("link-file");
	{
		g_autofree gchar *p = path_of (d, "vcek.pem");
		g_autofree gchar *target = path_of (saved, "vcek.pem");
		g_assert_cmpint (g_unlink (p), ==, 0);
		g_assert_cmpint (symlink (target, p), ==, 0);
		expect_refused (d, AC_ERROR_PERMISSION, "symbolic link");
	}
	g_clear_pointer (&d, g_free);
	d = copy_state ("link-key");
	{
		g_autofree gchar *p = path_of (d, "ca/ask.key");
		g_autofree gchar *target = path_of (saved, "ca/ask.key");
		g_assert_cmpint (g_unlink (p), ==, 0);
		g_assert_cmpint (symlink (target, p), ==, 0);
		expect_refused (d, AC_ERROR_PERMISSION, "symbolic link");
	}
	g_clear_pointer (&d, g_free);

	/* another user's files (only root can hand a file to another user) */
	if (geteuid () == 0) {
		d = copy_state ("foreign-owner");
		{
			g_autofree gchar *p = path_of (d, "vcek.key");
			g_assert_cmpint (chown (p, 65534, 65534), ==, 0);
			expect_refused (d, AC_ERROR_PERMISSION, "owner 65534");
			g_assert_cmpint (chown (p, 0, 0), ==, 0);
			g_assert_cmpint (chown (d, 65534, 65534), ==, 0);
			expect_refused (d, AC_ERROR_PERMISSION, "owner 65534");
		}
		g_clear_pointer (&d, g_free);
	} else {
		g_test_message ("not root: the foreign-owner case needs chown");
	}

	/* save refuses a directory others can enter (it would put keys there) */
	{
		g_autoptr (GError) error = NULL;
		g_autofree gchar *open_dir = path_of (tmp, "open");
		g_assert_cmpint (g_mkdir (open_dir, 0755), ==, 0);
		g_assert_cmpint (g_chmod (open_dir, 0755), ==, 0);
		g_assert_false (ac_snp_firmware_save (fw, open_dir, &error));
		g_assert_error (error, AC_ERROR, AC_ERROR_PERMISSION);
	}
	/* nor over a ca/ others can enter */
	d = copy_state ("open-ca");
	chmod_path (d, "ca", 0755);
	{
		g_autoptr (GError) error = NULL;
		g_assert_false (ac_snp_firmware_save (fw, d, &error));
		g_assert_error (error, AC_ERROR, AC_ERROR_PERMISSION);
	}
	g_clear_pointer (&d, g_free);
}

int
main (int argc, char **argv)
{
	g_autoptr (GError) error = NULL;
	int rc;

	g_test_init (&argc, &argv, NULL);
	fw = snp_test_firmware_new (AC_SNP_PRODUCT_MILAN, NULL, NULL);
	ac_snp_firmware_revoke_ask (fw);
	tmp = test_util_mkdtemp ("snp-fw-state-XXXXXX");
	saved = path_of (tmp, "saved");
	g_assert_true (ac_snp_firmware_save (fw, saved, &error));
	g_assert_no_error (error);

	g_test_add_func ("/snp-firmware-state/round-trip", test_round_trip);
	g_test_add_func ("/snp-firmware-state/reports-verify", test_reports_verify);
	g_test_add_func ("/snp-firmware-state/tampered", test_tampered);
	g_test_add_func ("/snp-firmware-state/permissions", test_permissions);
	rc = g_test_run ();
	test_util_rm_rf (tmp);
	ac_snp_firmware_free (fw);
	g_free (saved);
	g_free (tmp);
	return rc;
}
