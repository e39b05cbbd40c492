/*
 * The guest owner's verification of an SEV-SNP report, whole: the real Milan reports with their
 * VCEKs up to AMD's built-in ARK; the software SNP firmware through its KDS answers, and each of
 * its attack knobs refused by the step that must refuse it.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <string.h>

#include "ac-codec.h"
#include "ac-error.h"
#include "ac-snp-firmware.h"
#include "ac-snp-verify.h"
#include "test-snp-common.h"
#include "../test-util.h"

/* the expected_reports.json member @key.report.@field, decoded from hex */
static GBytes *
expected_hex (const gchar *key, const gchar *field)
{
	g_autoptr (JsonParser) parser = json_parser_new ();
	g_autoptr (GError) error = NULL;
	JsonObject *o = json_object_get_object_member (
	    snp_test_json (parser, "expected_reports.json", NULL), key);
	GByteArray *a;

	o = json_object_get_object_member (o, "report");
	a = ac_codec_hex_decode (field, json_object_get_string_member (o, field), 0, &error);
	g_assert_no_error (error);
	return g_byte_array_free_to_bytes (a);
}

/* ---- the real reports ---- */

typedef struct {
	const gchar *key, *report, *vcek, *at;
	gboolean debug; /* a debug guest (policy bit 19) */
} RealCase;

static const RealCase real_cases[] = {
	{ "virtee-sev-milan", "report_milan.bin", "vcek_milan.der", "2026-08-18T00:00:00Z", FALSE },
	{ "go-sev-guest-milan", "attestation.bin", "vcek.der", "2023-06-01T00:00:00Z", TRUE },
};

/* these reports come from platforms below today's TCB floor (and one from a debug guest):
 * accepted only with a floor lowered (and debugging allowed) explicitly */
static void
real_expect (AcSnpVerifyExpect *e, GDateTime *at, gboolean debug)
{
	memset (e, 0, sizeof *e);
	ac_snp_verify_policy_init (&e->policy);
	e->policy.have_min_tcb = TRUE;
	e->policy.allow_tcb_below_default = TRUE;
	e->policy.allow_debug = debug;
	e->at = at;
}

static void
test_real (void)
{
	for (guint i = 0; i < G_N_ELEMENTS (real_cases); i++) {
		const RealCase *c = &real_cases[i];
		g_autoptr (GBytes) report = snp_test_load (c->key, c->report);
		g_autoptr (AcSnpCert) vcek = snp_test_cert (c->key, c->vcek);
		g_autoptr (AcSnpRoots) roots = ac_snp_roots_new_builtin ();
		g_autoptr (GDateTime) at = g_date_time_new_from_iso8601 (c->at, NULL);
		g_autoptr (GBytes) measurement = expected_hex (c->key, "measurement");
		g_autoptr (GBytes) report_data = expected_hex (c->key, "report_data");
		const guint8 (*ms)[AC_SNP_MEASUREMENT_SIZE] = g_bytes_get_data (measurement, NULL);
		guint8 other[2][AC_SNP_MEASUREMENT_SIZE];
		AcSnpCertSource certs = { .leaf = vcek };
		AcSnpVerifyExpect e;
		g_autoptr (AcSnpVerifyResult) result = NULL;
		g_autoptr (GError) error = NULL;
		gboolean ok;

		g_test_message ("%s", c->key);
		g_assert_cmpuint (g_bytes_get_size (measurement), ==, AC_SNP_MEASUREMENT_SIZE);
		real_expect (&e, at, c->debug);
		/* the expected digest second of two: which one matched is reported */
		memset (other[0], 0x5a, sizeof other[0]);
		memcpy (other[1], ms[0], sizeof other[1]);
		e.measurements = (const guint8 (*)[AC_SNP_MEASUREMENT_SIZE])other;
		e.n_measurements = 2;
		e.report_data = g_bytes_get_data (report_data, NULL);
		ok = ac_snp_verify_report (g_bytes_get_data (report, NULL),
		                           g_bytes_get_size (report), roots, &certs, &e, &result,
		                           NULL, &error);
		g_assert_no_error (error);
		g_assert_true (ok);
		g_assert_cmpint (result->chain->product, ==, AC_SNP_PRODUCT_MILAN);
		g_assert_true (result->chain->builtin_root);
		g_assert_true (result->chain->chip_id_checked);
		g_assert_true (result->chain->tcb_checked);
		g_assert_true (result->measurement_checked);
		g_assert_cmpuint (result->measurement_index, ==, 1);
		g_assert_true (result->report_data_checked);
		g_assert_false (result->crl_checked);

		/* today's floor refuses them */
		ac_snp_verify_policy_init (&e.policy);
		g_assert_false (ac_snp_verify_report (g_bytes_get_data (report, NULL),
		                                      g_bytes_get_size (report), roots, &certs, &e,
		                                      NULL, NULL, &error));
		g_assert_error (error, AC_ERROR, AC_ERROR_REFUSED);
		g_test_message ("%s", error->message);
		g_clear_error (&error);

		/* only the other digest expected */
		real_expect (&e, at, c->debug);
		e.measurements = (const guint8 (*)[AC_SNP_MEASUREMENT_SIZE])other;
		e.n_measurements = 1;
		g_assert_false (ac_snp_verify_report (g_bytes_get_data (report, NULL),
		                                      g_bytes_get_size (report), roots, &certs, &e,
		                                      NULL, NULL, &error));
		g_assert_error (error, AC_ERROR, AC_ERROR_MISMATCH);
		g_assert_nonnull (strstr (error->message, "MEASUREMENT"));
		g_clear_error (&error);

		/* a VCEK valid then is not valid years after its notAfter */
		{
			g_autoptr (GDateTime) late = g_date_time_add_years (at, 8);
			real_expect (&e, late, c->debug);
			g_assert_false (ac_snp_verify_report (g_bytes_get_data (report, NULL),
			                                      g_bytes_get_size (report), roots,
			                                      &certs, &e, NULL, NULL, &error));
			g_assert_error (error, AC_ERROR, AC_ERROR_UNTRUSTED);
			g_clear_error (&error);
		}

		/* given as another product */
		real_expect (&e, at, c->debug);
		e.policy.product = AC_SNP_PRODUCT_GENOA;
		g_assert_false (ac_snp_verify_report (g_bytes_get_data (report, NULL),
		                                      g_bytes_get_size (report), roots, &certs, &e,
		                                      NULL, NULL, &error));
		g_assert_error (error, AC_ERROR, AC_ERROR_MISMATCH);
		g_clear_error (&error);

		/* no certificate and no KDS */
		{
			AcSnpCertSource none = { 0 };
			real_expect (&e, at, c->debug);
			e.policy.product = AC_SNP_PRODUCT_MILAN;
			g_assert_false (ac_snp_verify_report (g_bytes_get_data (report, NULL),
			                                      g_bytes_get_size (report), roots,
			                                      &none, &e, NULL, NULL, &error));
			g_assert_error (error, AC_ERROR, AC_ERROR_NOT_FOUND);
			g_clear_error (&error);
		}
	}
}

/* one report verified with the VCEK of the other real chip: its hwID is not this CHIP_ID */
static void
test_real_other_chip (void)
{
	g_autoptr (GBytes) report = snp_test_load ("virtee-sev-milan", "report_milan.bin");
	g_autoptr (AcSnpCert) vcek = snp_test_cert ("go-sev-guest-milan", "vcek.der");
	g_autoptr (AcSnpRoots) roots = ac_snp_roots_new_builtin ();
	g_autoptr (GDateTime) at = g_date_time_new_from_iso8601 ("2026-08-18T00:00:00Z", NULL);
	AcSnpCertSource certs = { .leaf = vcek };
	AcSnpVerifyExpect e;
	g_autoptr (GError) error = NULL;

	real_expect (&e, at, FALSE);
	g_assert_false (ac_snp_verify_report (g_bytes_get_data (report, NULL),
	                                      g_bytes_get_size (report), roots, &certs, &e, NULL,
	                                      NULL, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_MISMATCH);
}

/* every byte of the signed area flipped in turn (one bit each) is refused, whichever step
 * notices it: the parser, the chain's extension match, the signature */
static void
test_real_tamper (void)
{
	g_autoptr (GBytes) report = snp_test_load ("virtee-sev-milan", "report_milan.bin");
	g_autoptr (AcSnpCert) vcek = snp_test_cert ("virtee-sev-milan", "vcek_milan.der");
	g_autoptr (AcSnpRoots) roots = ac_snp_roots_new_builtin ();
	g_autoptr (GDateTime) at = g_date_time_new_from_iso8601 ("2026-08-18T00:00:00Z", NULL);
	AcSnpCertSource certs = { .leaf = vcek };
	AcSnpVerifyExpect e;
	guint8 buf[AC_SNP_REPORT_SIZE];

	real_expect (&e, at, FALSE);
	g_assert_cmpuint (g_bytes_get_size (report), ==, sizeof buf);
	for (guint off = 0; off < AC_SNP_REPORT_SIGNED_SIZE + 2 * 72; off++) {
		g_autoptr (GError) error = NULL;
		memcpy (buf, g_bytes_get_data (report, NULL), sizeof buf);
		buf[off] ^= 1u << (off % 8);
		g_assert_false (
		    ac_snp_verify_report (buf, sizeof buf, roots, &certs, &e, NULL, NULL, &error));
		g_assert_nonnull (error);
	}
}

/* ---- the software firmware ---- */

#define KDS_BASE "https://kds.test"

typedef struct {
	AcSnpFirmware *fw;
	guint calls;
} FakeKds;

static GBytes *
fake_kds_fetch (const gchar *url, gpointer user_data, GCancellable *cancellable, GError **error)
{
	FakeKds *k = user_data;
	k->calls++;
	g_assert_true (g_str_has_prefix (url, KDS_BASE "/"));
	return ac_snp_firmware_kds_answer (k->fw, url + strlen (KDS_BASE), error);
}

typedef struct {
	AcSnpFirmware *fw;
	AcSnpRoots *roots;
	FakeKds kds_state;
	AcSnpKds *kds;
	gchar *cache;
	SnpTestGuest guest;
	guint8 report_data[AC_SNP_REPORT_DATA_SIZE];
} Fixture;

/* the built-in floor of @product plus one in every component: a platform up to date */
static void
tcb_above_floor (AcSnpProduct product, AcSnpTcb *tcb)
{
	snp_test_tcb_floor (product, tcb);
	tcb->bootloader++, tcb->tee++, tcb->snp++, tcb->microcode++;
	if (product == AC_SNP_PRODUCT_TURIN)
		tcb->fmc++;
}

static void
fixture_setup_product (Fixture *f, AcSnpProduct product, const AcSnpTcb *tcb_or_null)
{
	g_autoptr (GError) error = NULL;
	AcSnpTcb tcb;

	if (tcb_or_null != NULL)
		tcb = *tcb_or_null;
	else
		tcb_above_floor (product, &tcb);
	f->fw = snp_test_firmware_new (product, &tcb, &f->roots);
	f->kds_state.fw = f->fw;
	f->cache = test_util_mkdtemp ("snp-verify-XXXXXX");
	f->kds = ac_snp_kds_new (KDS_BASE, f->cache, fake_kds_fetch, &f->kds_state);

	snp_test_guest_init (&f->guest, "console=ttyS0 root=/dev/vda", 2, "EPYC-Milan");
	g_assert_cmpint (RAND_bytes (f->report_data, sizeof f->report_data), ==, 1);
}

static void
fixture_setup (Fixture *f, gconstpointer data)
{
	fixture_setup_product (f, AC_SNP_PRODUCT_MILAN, NULL);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
	ac_snp_kds_free (f->kds);
	ac_snp_roots_unref (f->roots);
	ac_snp_firmware_free (f->fw);
	snp_test_guest_clear (&f->guest);
	if (f->cache != NULL) {
		test_util_rm_rf (f->cache);
		g_free (f->cache);
	}
}

/* the owner's expectations for a launch of f->guest.inputs with report data f->report_data */
static void
fixture_expect (Fixture *f, AcSnpVerifyExpect *e)
{
	memset (e, 0, sizeof *e);
	ac_snp_verify_policy_init (&e->policy);
	e->policy.have_expected_policy = TRUE;
	e->policy.expected_policy = AC_SNP_POLICY_DEFAULT;
	e->measurements = (const guint8 (*)[AC_SNP_MEASUREMENT_SIZE])f->guest.measurement;
	e->n_measurements = 1;
	e->report_data = f->report_data;
}

/* launches with @policy, asks a report at @vmpl, verifies it through the KDS (CRL checked) */
static gboolean
fixture_run (Fixture *f, guint64 policy, guint vmpl, AcSnpVerifyResult **result, GError **error)
{
	g_autoptr (AcSnpGuest) guest = NULL;
	g_autoptr (GBytes) report = NULL;
	AcSnpCertSource certs = { .kds = f->kds, .check_crl = TRUE };
	AcSnpVerifyExpect e;
	g_autoptr (GError) local = NULL;

	guest = ac_snp_firmware_launch (f->fw, &f->guest.inputs, policy, NULL, &local);
	g_assert_no_error (local);
	report = ac_snp_guest_get_report (guest, f->report_data, vmpl, &local);
	g_assert_no_error (local);
	fixture_expect (f, &e);
	e.policy.expected_policy = policy;
	return ac_snp_verify_report (g_bytes_get_data (report, NULL), g_bytes_get_size (report),
	                             f->roots, &certs, &e, result, NULL, error);
}

static void
test_fw_ok (Fixture *f, gconstpointer data)
{
	g_autoptr (AcSnpVerifyResult) result = NULL;
	g_autoptr (GError) error = NULL;
	guint calls;

	g_assert_true (fixture_run (f, AC_SNP_POLICY_DEFAULT, 1, &result, &error));
	g_assert_no_error (error);
	g_assert_false (result->chain->builtin_root);
	g_assert_true (result->crl_checked);
	g_assert_true (result->measurement_checked);
	g_assert_true (result->report_data_checked);
	g_assert_cmpmem (result->report.chip_id, 64, ac_snp_firmware_get_chip_id (f->fw), 64);
	/* VCEK, cert_chain and CRL fetched once; a second verification is served by the cache
	 * (the CRL is current) */
	calls = f->kds_state.calls;
	g_assert_cmpuint (calls, ==, 3);
	g_assert_true (fixture_run (f, AC_SNP_POLICY_DEFAULT, 0, NULL, &error));
	g_assert_no_error (error);
	g_assert_cmpuint (f->kds_state.calls, ==, calls);
}

static void
test_fw_products (void)
{
	static const AcSnpProduct products[]
	    = { AC_SNP_PRODUCT_MILAN, AC_SNP_PRODUCT_GENOA, AC_SNP_PRODUCT_TURIN };
	for (guint i = 0; i < G_N_ELEMENTS (products); i++) {
		Fixture f = { 0 };
		g_autoptr (AcSnpVerifyResult) result = NULL;
		g_autoptr (GError) error = NULL;

		fixture_setup_product (&f, products[i], NULL);
		g_assert_true (fixture_run (&f, AC_SNP_POLICY_DEFAULT, 1, &result, &error));
		g_assert_no_error (error);
		g_assert_cmpint (result->chain->product, ==, products[i]);
		g_assert_cmpint (result->report.product, ==, products[i]);
		fixture_teardown (&f, NULL);
	}
}

/* the software root is not AMD's: with the built-in roots, the chain is untrusted */
static void
test_fw_not_amd (Fixture *f, gconstpointer data)
{
	g_autoptr (GError) error = NULL;
	ac_snp_roots_unref (f->roots);
	f->roots = ac_snp_roots_new_builtin ();
	g_assert_false (fixture_run (f, AC_SNP_POLICY_DEFAULT, 1, NULL, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_UNTRUSTED);
}

/* signed by another chip's VCEK: the VCEK fetched for this CHIP_ID does not verify the
 * signature; the other chip's VCEK, given, does not match the CHIP_ID */
static void
test_fw_other_chip (Fixture *f, gconstpointer data)
{
	g_autoptr (AcSnpGuest) guest = NULL;
	g_autoptr (GBytes) report = NULL;
	AcSnpCertSource certs = { .kds = f->kds };
	AcSnpVerifyExpect e;
	g_autoptr (GError) error = NULL;

	ac_snp_firmware_set_attacks (f->fw, AC_SNP_FIRMWARE_ATTACK_OTHER_CHIP);
	g_assert_false (fixture_run (f, AC_SNP_POLICY_DEFAULT, 1, NULL, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_UNTRUSTED);
	g_assert_nonnull (strstr (error->message, "signature"));
	g_clear_error (&error);

	guest
	    = ac_snp_firmware_launch (f->fw, &f->guest.inputs, AC_SNP_POLICY_DEFAULT, NULL, &error);
	report = ac_snp_guest_get_report (guest, f->report_data, 1, &error);
	g_assert_no_error (error);
	certs.leaf = ac_snp_firmware_get_other_vcek (f->fw, &error);
	fixture_expect (f, &e);
	g_assert_false (ac_snp_verify_report (g_bytes_get_data (report, NULL),
	                                      g_bytes_get_size (report), f->roots, &certs, &e, NULL,
	                                      NULL, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_MISMATCH);
}

/* a replayed report carries the first request's REPORT_DATA, not the fresh nonce */
static void
test_fw_replay (Fixture *f, gconstpointer data)
{
	g_autoptr (GError) error = NULL;

	g_assert_true (fixture_run (f, AC_SNP_POLICY_DEFAULT, 1, NULL, &error));
	ac_snp_firmware_set_attacks (f->fw, AC_SNP_FIRMWARE_ATTACK_REPLAY);
	{
		g_autoptr (AcSnpGuest) guest = NULL;
		g_autoptr (GBytes) first = NULL;
		g_autoptr (GBytes) second = NULL;
		AcSnpCertSource certs = { .kds = f->kds };
		AcSnpVerifyExpect e;

		guest = ac_snp_firmware_launch (f->fw, &f->guest.inputs, AC_SNP_POLICY_DEFAULT,
		                                NULL, &error);
		first = ac_snp_guest_get_report (guest, f->report_data, 1, &error);
		g_assert_cmpint (RAND_bytes (f->report_data, sizeof f->report_data), ==, 1);
		second = ac_snp_guest_get_report (guest, f->report_data, 1, &error);
		g_assert_no_error (error);
		g_assert_true (g_bytes_equal (first, second));
		fixture_expect (f, &e);
		g_assert_false (ac_snp_verify_report (g_bytes_get_data (second, NULL),
		                                      g_bytes_get_size (second), f->roots, &certs,
		                                      &e, NULL, NULL, &error));
		g_assert_error (error, AC_ERROR, AC_ERROR_MISMATCH);
		g_assert_nonnull (strstr (error->message, "REPORT_DATA"));
	}
}

static void
test_fw_wrong_measurement (Fixture *f, gconstpointer data)
{
	g_autoptr (GError) error = NULL;
	ac_snp_firmware_set_attacks (f->fw, AC_SNP_FIRMWARE_ATTACK_WRONG_MEASUREMENT);
	g_assert_false (fixture_run (f, AC_SNP_POLICY_DEFAULT, 1, NULL, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_MISMATCH);
	g_assert_nonnull (strstr (error->message, "MEASUREMENT"));
}

/* a guest launched in debug mode, or with a migration agent, is refused by the policy */
static void
test_fw_policy (Fixture *f, gconstpointer data)
{
	const guint64 bad[] = { AC_SNP_POLICY_DEFAULT | AC_SNP_POLICY_DEBUG,
		                AC_SNP_POLICY_DEFAULT | AC_SNP_POLICY_MIGRATE_MA };
	for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
		g_autoptr (GError) error = NULL;
		g_assert_false (fixture_run (f, bad[i], 1, NULL, &error));
		g_assert_error (error, AC_ERROR, AC_ERROR_REFUSED);
	}
	{
		g_autoptr (GError) error = NULL;
		g_assert_false (fixture_run (f, AC_SNP_POLICY_DEFAULT, 2, NULL, &error));
		g_assert_error (error, AC_ERROR, AC_ERROR_REFUSED);
		g_assert_nonnull (strstr (error->message, "VMPL"));
	}
}

/* a platform one microcode version below the floor */
static void
test_fw_tcb_below_floor (void)
{
	Fixture f = { 0 };
	AcSnpTcb tcb;
	g_autoptr (GError) error = NULL;

	snp_test_tcb_floor (AC_SNP_PRODUCT_MILAN, &tcb);
	tcb.microcode--;
	fixture_setup_product (&f, AC_SNP_PRODUCT_MILAN, &tcb);
	g_assert_false (fixture_run (&f, AC_SNP_POLICY_DEFAULT, 1, NULL, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_REFUSED);
	g_assert_nonnull (strstr (error->message, "ucode"));
	fixture_teardown (&f, NULL);
}

static void
test_fw_revoked (Fixture *f, gconstpointer data)
{
	g_autoptr (GError) error = NULL;
	ac_snp_firmware_revoke_ask (f->fw);
	g_assert_false (fixture_run (f, AC_SNP_POLICY_DEFAULT, 1, NULL, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_UNTRUSTED);
}

/* offline with an empty cache: nothing fetched, the VCEK not found */
static void
test_fw_offline (Fixture *f, gconstpointer data)
{
	g_autoptr (GError) error = NULL;
	ac_snp_kds_set_offline (f->kds, TRUE);
	g_assert_false (fixture_run (f, AC_SNP_POLICY_DEFAULT, 1, NULL, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_NOT_FOUND);
	g_assert_cmpuint (f->kds_state.calls, ==, 0);
}

/* ---- ac_snp_verify_process_init(): each case in a fresh process (OpenSSL's first use) ---- */

/* the real Milan report verified once, and the DRBG its ECDSA blinding instantiated */
static gchar *
process_init_verify (const gchar *cnf_text)
{
	g_autoptr (GError) error = NULL;
	g_autofree gchar *dir = g_dir_make_tmp ("test-snp-verify-XXXXXX", &error);
	g_autofree gchar *cnf = g_build_filename (dir, "openssl.cnf", NULL);
	const RealCase *c = &real_cases[0];
	g_autoptr (GBytes) report = NULL;
	g_autoptr (AcSnpCert) vcek = NULL;
	g_autoptr (AcSnpRoots) roots = NULL;
	g_autoptr (GDateTime) at = g_date_time_new_from_iso8601 (c->at, NULL);
	AcSnpCertSource certs = { 0 };
	AcSnpVerifyExpect e;
	EVP_RAND_CTX *drbg;
	gchar *name;

	g_assert_no_error (error);
	g_assert_true (g_file_set_contents (cnf, cnf_text, -1, &error));
	/* read when OpenSSL loads its configuration: after the call below */
	g_setenv ("OPENSSL_CONF", cnf, TRUE);
	ac_snp_verify_process_init ();
	report = snp_test_load (c->key, c->report);
	vcek = snp_test_cert (c->key, c->vcek);
	roots = ac_snp_roots_new_builtin ();
	certs.leaf = vcek;
	real_expect (&e, at, c->debug);
	g_assert_true (ac_snp_verify_report (g_bytes_get_data (report, NULL),
	                                     g_bytes_get_size (report), roots, &certs, &e, NULL,
	                                     NULL, &error));
	g_assert_no_error (error);
	drbg = RAND_get0_primary (NULL);
	g_assert_nonnull (drbg);
	g_assert_cmpuint (EVP_RAND_get_strength (drbg), >=, 128);
	name = g_strdup (EVP_RAND_get0_name (EVP_RAND_CTX_get0_rand (drbg)));
	g_unlink (cnf);
	g_rmdir (dir);
	return name;
}

/* no [random] section: HASH-DRBG (strength 256), and the report verifies */
static void
test_process_init_default (void)
{
	if (g_test_subprocess ()) {
		g_autofree gchar *name = process_init_verify ("# empty\n");
		g_assert_cmpstr (name, ==, "HASH-DRBG");
		g_assert_cmpuint (EVP_RAND_get_strength (RAND_get0_primary (NULL)), ==, 256);
		return;
	}
	g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
	g_test_trap_assert_passed ();
}

/* the administrator's [random] section of openssl.cnf still decides */
static void
test_process_init_config_wins (void)
{
	if (g_test_subprocess ()) {
		g_autofree gchar *name = process_init_verify ("openssl_conf = openssl_init\n"
		                                              "[openssl_init]\n"
		                                              "random = random_sect\n"
		                                              "[random_sect]\n"
		                                              "random = CTR-DRBG\n"
		                                              "cipher = AES-128-CTR\n");
		g_assert_cmpstr (name, ==, "CTR-DRBG");
		return;
	}
	g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
	g_test_trap_assert_passed ();
}

int
main (int argc, char **argv)
{
	g_test_init (&argc, &argv, NULL);
	g_test_add_func ("/snp/verify/real", test_real);
	g_test_add_func ("/snp/verify/process-init-default", test_process_init_default);
	g_test_add_func ("/snp/verify/process-init-config-wins", test_process_init_config_wins);
	g_test_add_func ("/snp/verify/real-other-chip", test_real_other_chip);
	g_test_add_func ("/snp/verify/real-tamper", test_real_tamper);
	g_test_add_func ("/snp/verify/firmware-products", test_fw_products);
	g_test_add_func ("/snp/verify/firmware-tcb-below-floor", test_fw_tcb_below_floor);
#define FW_TEST(path, func)                                                                        \
	g_test_add ("/snp/verify/firmware-" path, Fixture, NULL, fixture_setup, func,              \
	            fixture_teardown)
	FW_TEST ("ok", test_fw_ok);
	FW_TEST ("not-amd", test_fw_not_amd);
	FW_TEST ("other-chip", test_fw_other_chip);
	FW_TEST ("replay", test_fw_replay);
	FW_TEST ("wrong-measurement", test_fw_wrong_measurement);
	FW_TEST ("policy", test_fw_policy);
	FW_TEST ("revoked", test_fw_revoked);
	FW_TEST ("offline", test_fw_offline);
	return g_test_run ();
}
