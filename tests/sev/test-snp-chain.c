/*
 * SEV-SNP certificate chain: every real VCEK verifies to the built-in ARK of its product and
 * signs its real report; each check refuses its tampered input; the software CA's chains are
 * trusted only when their root is added explicitly.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <glib/gstdio.h>
#include <openssl/ec.h>
#include <string.h>

#include "ac-error.h"
#include "ac-sev-ossl-private.h"
#include "ac-snp-chain-private.h"
#include "test-snp-common.h"

/* ---- helpers ---- */

/* a KDS cert_chain PEM: ASK (or ASVK) then ARK */
static void
load_chain (const gchar *dir, const gchar *name, AcSnpCert **mid, AcSnpCert **ark)
{
	g_autoptr(GBytes) b = snp_test_load (dir, name);
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) all = ac_snp_cert_parse_all (g_bytes_get_data (b, NULL),
	                                                   g_bytes_get_size (b), name, &error);
	g_assert_no_error (error);
	g_assert_cmpuint (all->len, ==, 2);
	*mid = ac_snp_cert_ref (g_ptr_array_index (all, 0));
	*ark = ac_snp_cert_ref (g_ptr_array_index (all, 1));
	g_assert_cmpint (ac_snp_cert_get_role (*ark), ==, AC_SNP_CERT_ARK);
}

/* the two report fields the chain binds to: REPORTED_TCB (u64 at 0x180), CHIP_ID (0x1A0) */
typedef struct {
	GBytes *bytes;
	guint64 reported_tcb;
	guint8 chip_id[64];
} Report;

static void
load_report (const gchar *dir, const gchar *name, Report *r)
{
	const guint8 *p;
	r->bytes = snp_test_load (dir, name);
	g_assert_cmpuint (g_bytes_get_size (r->bytes), ==, 0x4A0);
	p = g_bytes_get_data (r->bytes, NULL);
	r->reported_tcb = 0;
	for (guint i = 0; i < 8; i++)
		r->reported_tcb |= (guint64)p[0x180 + i] << (8 * i);
	memcpy (r->chip_id, p + 0x1A0, 64);
}

static GDateTime *
date (gint y, gint m, gint d)
{
	return g_date_time_new_utc (y, m, d, 0, 0, 0);
}

static AcSnpCert *
cert_with_flipped_byte (AcSnpCert *c, gssize offset_from_end)
{
	g_autoptr(GBytes) der = ac_snp_cert_get_der (c);
	gsize len = g_bytes_get_size (der);
	g_autofree guint8 *copy = g_memdup2 (g_bytes_get_data (der, NULL), len);
	g_autoptr(GError) error = NULL;
	AcSnpCert *out;
	copy[len - offset_from_end] ^= 0x01;
	out = ac_snp_cert_parse (copy, len, "tampered", &error);
	g_assert_no_error (error);
	return out;
}

static void
assert_error_mentions (GError *error, gint code, const gchar *needle)
{
	g_assert_error (error, AC_ERROR, code);
	if (strstr (error->message, needle) == NULL)
		g_error ("error '%s' does not mention '%s'", error->message, needle);
}

/* software CAs are slow to make (two RSA-4096 keys): one of each kind per run */
static AcSnpSoftCa *
soft_ca (AcSnpProduct product, gboolean vlek)
{
	static AcSnpSoftCa *cas[4][2];
	if (cas[product][vlek] == NULL) {
		g_autoptr(GError) error = NULL;
		cas[product][vlek] = ac_snp_soft_ca_new (product, vlek, &error);
		g_assert_no_error (error);
	}
	return cas[product][vlek];
}

static const AcSnpTcb soft_tcb
    = { .fmc = 0, .bootloader = 4, .tee = 0, .snp = 22, .microcode = 213 };

static void
soft_chip (guint8 chip[64])
{
	for (guint i = 0; i < 64; i++)
		chip[i] = (guint8)(0xa0 + i);
}

/* ---- the built-in roots ---- */

static void
test_builtin (void)
{
	static const struct {
		AcSnpProduct product;
		const gchar *file, *pin;
	} cases[] = {
		{ AC_SNP_PRODUCT_MILAN, "milan_ark.pem",
		  "1249f67f15cf229a4069195e1a9ce537d1765ef706a1f4a123c36be9518786515d25ecc007f366b5"
		  "64d2b3f31c48082e" },
		{ AC_SNP_PRODUCT_GENOA, "genoa_ark.pem",
		  "32ab53a6ce5ec14926207396e5c475ae768a6a9831b7e860b5acf2e1c1dff222bc5a8bfc43eb5e06"
		  "393189c1f246d880" },
		{ AC_SNP_PRODUCT_TURIN, "turin_ark.pem",
		  "3475f08a9727f8ac9a1deaea5f2a2097aa59d64d05c2a678c229c873e6359d3a6926287a2a22cd5f"
		  "88a385e333a2fcc5" },
	};
	for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
		g_autoptr(GError) error = NULL;
		g_autoptr(AcSnpCert) ark = ac_snp_builtin_get_ark (cases[i].product, &error);
		g_autoptr(AcSnpCert) ask = ac_snp_builtin_get_ask (cases[i].product, &error);
		g_autoptr(AcSnpCert) file = snp_test_cert ("amd-ark-ask", cases[i].file);
		g_autoptr(GBytes) a = ac_snp_cert_get_der (ark);
		g_autoptr(GBytes) b = ac_snp_cert_get_der (file);
		g_autofree gchar *spki = ac_snp_cert_spki_sha384 (ark);
		g_assert_no_error (error);
		g_assert_true (g_bytes_equal (a, b));
		g_assert_cmpstr (spki, ==, cases[i].pin);
		g_assert_cmpstr (ac_snp_builtin_ark_pin (cases[i].product), ==, cases[i].pin);
		g_assert_cmpint (ac_snp_cert_get_role (ark), ==, AC_SNP_CERT_ARK);
		g_assert_cmpint (ac_snp_cert_get_role (ask), ==, AC_SNP_CERT_ASK);
		g_assert_cmpint (ac_snp_cert_get_product (ask), ==, cases[i].product);
	}
	{
		g_autoptr(GError) error = NULL;
		g_assert_null (ac_snp_builtin_get_ark (AC_SNP_PRODUCT_UNKNOWN, &error));
		g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
	}
}

/* ---- the real vectors ---- */

static void
verify_real (const gchar *dir,
             const gchar *vcek_name,
             const gchar *chain_name,
             const gchar *report_name,
             GDateTime *at,
             const AcSnpTcb *tcb)
{
	g_autoptr(AcSnpRoots) roots = ac_snp_roots_new_builtin ();
	g_autoptr(AcSnpCert) vcek = snp_test_cert (dir, vcek_name);
	g_autoptr(AcSnpCert) ask = NULL;
	g_autoptr(AcSnpCert) ark = NULL;
	Report r;
	AcSnpChainExpect expect = { 0 };

	load_chain (dir, chain_name, &ask, &ark);
	load_report (dir, report_name, &r);
	expect.chip_id = r.chip_id;
	expect.chip_id_len = 64;
	expect.has_tcb_raw = TRUE;
	expect.tcb_raw = r.reported_tcb;

	/* with the KDS chain, and with the built-in ASK/ARK */
	for (guint given = 0; given < 2; given++) {
		g_autoptr(GError) error = NULL;
		g_autoptr(AcSnpChainVerdict) v = NULL;
		g_autoptr(EVP_PKEY) key = NULL;
		const guint8 *report = g_bytes_get_data (r.bytes, NULL);

		g_assert_true (ac_snp_chain_verify (roots, vcek, given ? ask : NULL,
		                                    given ? ark : NULL, &expect, at, &key, &v,
		                                    &error));
		g_assert_no_error (error);
		g_assert_cmpint (v->product, ==, AC_SNP_PRODUCT_MILAN);
		g_assert_cmpint (v->signer, ==, AC_SNP_CERT_VCEK);
		g_assert_cmpstr (v->product_name, ==, "Milan-B0");
		g_assert_true (v->builtin_root);
		g_assert_true (v->chip_id_checked);
		g_assert_true (v->tcb_checked);
		g_assert_true (ac_snp_tcb_equal (&v->tcb, tcb));
		g_assert_cmpstr (v->ark_spki_sha384, ==,
		                 ac_snp_builtin_ark_pin (AC_SNP_PRODUCT_MILAN));
		/* the verified key is the one that signed the report (ECDSA P-384 SHA-384, r‖s LE)
		 */
		g_assert_true (
		    ac_sev_ecdsa_verify_le (key, "SHA384", report, 0x2A0, report + 0x2A0));
	}
	g_bytes_unref (r.bytes);
}

static void
test_real_virtee_milan (void)
{
	g_autoptr(GDateTime) at = date (2024, 6, 1);
	AcSnpTcb tcb = { .bootloader = 3, .tee = 0, .snp = 8, .microcode = 115 };
	verify_real ("virtee-sev-milan", "vcek_milan.der", "cert_chain_milan.pem",
	             "report_milan.bin", at, &tcb);
}

static void
test_real_gosevguest_milan (void)
{
	g_autoptr(GDateTime) at = date (2023, 6, 1);
	AcSnpTcb tcb = { .bootloader = 2, .tee = 0, .snp = 5, .microcode = 68 };
	verify_real ("go-sev-guest-milan", "vcek.der", "ask_ark_milan.pem", "attestation.bin", at,
	             &tcb);
}

static void
test_real_turin (void)
{
	g_autoptr(AcSnpRoots) roots = ac_snp_roots_new_builtin ();
	g_autoptr(AcSnpCert) vcek = snp_test_cert ("virtee-sev-turin-chain", "vcek_turin.der");
	g_autoptr(AcSnpCert) ask = NULL;
	g_autoptr(AcSnpCert) ark = NULL;
	g_autoptr(AcSnpChainVerdict) v = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(GDateTime) at = date (2025, 1, 1);
	const AcSnpKdsExtensions *kds = ac_snp_cert_get_kds (vcek);
	static const guint8 hwid[8] = { 0x1e, 0x55, 0x0a, 0x8e, 0xe5, 0xcf, 0x9f, 0x4d };
	guint8 chip[64] = { 0 };
	AcSnpTcb tcb = { .fmc = 0, .bootloader = 0, .tee = 0, .snp = 0, .microcode = 9 };
	AcSnpChainExpect expect = { .product = AC_SNP_PRODUCT_TURIN,
		                    .chip_id = chip,
		                    .chip_id_len = 64,
		                    .has_tcb_raw = TRUE };

	/* a Turin report's CHIP_ID: the 8-byte id, zero-padded */
	memcpy (chip, hwid, 8);
	expect.tcb_raw = ac_snp_tcb_encode (&tcb, AC_SNP_PRODUCT_TURIN);
	load_chain ("virtee-sev-turin-chain", "cert_chain_turin.pem", &ask, &ark);
	g_assert_nonnull (kds);
	g_assert_cmpint (kds->struct_version, ==, 1);
	g_assert_true (kds->has_fmc);
	g_assert_cmpuint (kds->hwid_len, ==, 8);
	g_assert_true (ac_snp_chain_verify (roots, vcek, ask, ark, &expect, at, NULL, &v, &error));
	g_assert_no_error (error);
	g_assert_cmpint (v->product, ==, AC_SNP_PRODUCT_TURIN);
	g_assert_cmpstr (v->product_name, ==, "Turin");
	g_assert_true (ac_snp_tcb_equal (&v->tcb, &tcb));
	g_assert_true (v->chip_id_checked && v->tcb_checked);

	/* another Turin chip; the fmc component differs */
	chip[7] ^= 1;
	g_assert_false (
	    ac_snp_chain_verify (roots, vcek, ask, ark, &expect, at, NULL, NULL, &error));
	assert_error_mentions (error, AC_ERROR_MISMATCH, "hwID");
	g_clear_error (&error);
	chip[7] ^= 1;
	tcb.fmc = 1;
	expect.tcb_raw = ac_snp_tcb_encode (&tcb, AC_SNP_PRODUCT_TURIN);
	g_assert_false (
	    ac_snp_chain_verify (roots, vcek, ask, ark, &expect, at, NULL, NULL, &error));
	assert_error_mentions (error, AC_ERROR_MISMATCH, "fmc=0");
}

/* the go-sev-guest chains of Genoa and Turin, and the VLEK chains: same ARKs as the built-in
 * ones; the ASVKs are named SEV-VLEK-{Product} and signed by them */
static void
test_real_chains (void)
{
	static const struct {
		const gchar *file;
		AcSnpProduct product;
		AcSnpCertRole mid;
	} cases[] = {
		{ "gosevguest_ask_ark_genoa.pem", AC_SNP_PRODUCT_GENOA, AC_SNP_CERT_ASK },
		{ "gosevguest_ask_ark_genoa_vlek.pem", AC_SNP_PRODUCT_GENOA, AC_SNP_CERT_ASVK },
		{ "gosevguest_ask_ark_turin_vcek.pem", AC_SNP_PRODUCT_TURIN, AC_SNP_CERT_ASK },
		{ "gosevguest_ask_ark_turin_vlek.pem", AC_SNP_PRODUCT_TURIN, AC_SNP_CERT_ASVK },
	};
	for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
		g_autoptr(AcSnpCert) mid = NULL;
		g_autoptr(AcSnpCert) ark = NULL;
		g_autofree gchar *spki = NULL;
		load_chain ("amd-ark-ask", cases[i].file, &mid, &ark);
		spki = ac_snp_cert_spki_sha384 (ark);
		g_assert_cmpstr (spki, ==, ac_snp_builtin_ark_pin (cases[i].product));
		g_assert_cmpint (ac_snp_cert_get_role (mid), ==, cases[i].mid);
		g_assert_cmpint (ac_snp_cert_get_product (mid), ==, cases[i].product);
	}
}

/* ---- tampering with the real chain ---- */

typedef struct {
	AcSnpRoots *roots;
	AcSnpCert *vcek, *ask, *ark;
	Report r;
	AcSnpChainExpect expect;
	GDateTime *at;
} Milan;

static void
milan_setup (Milan *m)
{
	m->roots = ac_snp_roots_new_builtin ();
	m->vcek = snp_test_cert ("virtee-sev-milan", "vcek_milan.der");
	load_chain ("virtee-sev-milan", "cert_chain_milan.pem", &m->ask, &m->ark);
	load_report ("virtee-sev-milan", "report_milan.bin", &m->r);
	m->expect = (AcSnpChainExpect){ .product = AC_SNP_PRODUCT_MILAN,
		                        .chip_id = m->r.chip_id,
		                        .chip_id_len = 64,
		                        .has_tcb_raw = TRUE,
		                        .tcb_raw = m->r.reported_tcb };
	m->at = date (2024, 6, 1);
}

static void
milan_teardown (Milan *m)
{
	ac_snp_roots_unref (m->roots);
	ac_snp_cert_unref (m->vcek);
	ac_snp_cert_unref (m->ask);
	ac_snp_cert_unref (m->ark);
	g_bytes_unref (m->r.bytes);
	g_date_time_unref (m->at);
}

static void
milan_refused (Milan *m,
               AcSnpCert *vcek,
               AcSnpCert *ask,
               AcSnpCert *ark,
               GDateTime *at,
               gint code,
               const gchar *needle)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(EVP_PKEY) key = NULL;
	g_assert_false (
	    ac_snp_chain_verify (m->roots, vcek, ask, ark, &m->expect, at, &key, NULL, &error));
	g_assert_null (key);
	assert_error_mentions (error, code, needle);
}

static void
test_tamper_product (void)
{
	Milan m;
	g_autoptr(AcSnpCert) genoa_ark = NULL;
	g_autoptr(AcSnpCert) genoa_ask = NULL;
	milan_setup (&m);
	genoa_ark = ac_snp_builtin_get_ark (AC_SNP_PRODUCT_GENOA, NULL);
	genoa_ask = ac_snp_builtin_get_ask (AC_SNP_PRODUCT_GENOA, NULL);

	/* the Genoa ARK for a Milan VCEK and ASK */
	milan_refused (&m, m.vcek, m.ask, genoa_ark, m.at, AC_ERROR_UNTRUSTED, "link ARK");
	/* the Genoa ASK under the Milan ARK */
	milan_refused (&m, m.vcek, genoa_ask, m.ark, m.at, AC_ERROR_UNTRUSTED, "ASK ← ARK");
	/* the caller expects Genoa; the VCEK says Milan-B0 */
	m.expect.product = AC_SNP_PRODUCT_GENOA;
	milan_refused (&m, m.vcek, m.ask, m.ark, m.at, AC_ERROR_MISMATCH, "expected Genoa");
	/* the ARK in the ASK's place and vice versa */
	m.expect.product = AC_SNP_PRODUCT_UNKNOWN;
	milan_refused (&m, m.vcek, m.ark, m.ask, m.at, AC_ERROR_UNTRUSTED, "ARK");
	milan_teardown (&m);
}

static void
test_tamper_chip_tcb (void)
{
	Milan m;
	Report other;
	milan_setup (&m);
	load_report ("go-sev-guest-milan", "attestation.bin", &other);

	/* the report of another chip (go-sev-guest's) against the virtee VCEK */
	m.expect.chip_id = other.chip_id;
	milan_refused (&m, m.vcek, m.ask, m.ark, m.at, AC_ERROR_MISMATCH, "another chip");
	m.expect.chip_id = m.r.chip_id;
	/* a different reported TCB: the other report's, then snp + 1 */
	m.expect.tcb_raw = other.reported_tcb;
	milan_refused (&m, m.vcek, m.ask, m.ark, m.at, AC_ERROR_MISMATCH, "snp=8");
	m.expect.tcb_raw = m.r.reported_tcb + ((guint64)1 << 48);
	milan_refused (&m, m.vcek, m.ask, m.ark, m.at, AC_ERROR_MISMATCH, "snp=9");
	/* a decoded TCB instead of the raw one */
	m.expect.has_tcb_raw = FALSE;
	m.expect.has_tcb = TRUE;
	m.expect.tcb = (AcSnpTcb){ .bootloader = 3, .snp = 8, .microcode = 114 };
	milan_refused (&m, m.vcek, m.ask, m.ark, m.at, AC_ERROR_MISMATCH, "ucode=114");
	/* a chip id of the wrong size */
	m.expect.has_tcb = FALSE;
	m.expect.chip_id_len = 8;
	milan_refused (&m, m.vcek, m.ask, m.ark, m.at, AC_ERROR_INVALID_INPUT, "64");
	g_bytes_unref (other.bytes);
	milan_teardown (&m);
}

static void
test_tamper_dates (void)
{
	Milan m;
	g_autoptr(GDateTime) after = date (2030, 4, 4);  /* VCEK notAfter 2030-04-03 19:23:43 */
	g_autoptr(GDateTime) before = date (2023, 4, 3); /* notBefore 2023-04-03 19:23:43 */
	g_autoptr(GDateTime) ark_gone = date (2046, 1, 1);
	g_autoptr(GDateTime) last_second = g_date_time_new_utc (2030, 4, 3, 19, 23, 43);
	g_autoptr(GError) error = NULL;
	milan_setup (&m);
	milan_refused (&m, m.vcek, m.ask, m.ark, after, AC_ERROR_UNTRUSTED, "link VCEK");
	milan_refused (&m, m.vcek, m.ask, m.ark, before, AC_ERROR_UNTRUSTED, "not at 2023-04-03");
	milan_refused (&m, m.vcek, m.ask, m.ark, ark_gone, AC_ERROR_UNTRUSTED, "link ARK");
	g_assert_true (ac_snp_chain_verify (m.roots, m.vcek, m.ask, m.ark, &m.expect, last_second,
	                                    NULL, NULL, &error));
	g_assert_no_error (error);
	milan_teardown (&m);
}

static void
test_tamper_signatures (void)
{
	Milan m;
	g_autoptr(AcSnpCert) vcek = NULL;
	g_autoptr(AcSnpCert) ask = NULL;
	g_autoptr(AcSnpCert) ark = NULL;
	milan_setup (&m);
	/* the last byte of each DER is in its signature */
	vcek = cert_with_flipped_byte (m.vcek, 1);
	ask = cert_with_flipped_byte (m.ask, 1);
	ark = cert_with_flipped_byte (m.ark, 1);
	milan_refused (&m, vcek, m.ask, m.ark, m.at, AC_ERROR_UNTRUSTED, "VCEK ← ASK");
	milan_refused (&m, m.vcek, ask, m.ark, m.at, AC_ERROR_UNTRUSTED, "ASK ← ARK");
	milan_refused (&m, m.vcek, m.ask, ark, m.at, AC_ERROR_UNTRUSTED, "ARK (self-signature)");
	milan_teardown (&m);
}

/* ---- software chains ---- */

static void
test_soft_untrusted_by_default (void)
{
	AcSnpSoftCa *ca = soft_ca (AC_SNP_PRODUCT_MILAN, FALSE);
	g_autoptr(AcSnpRoots) builtin = ac_snp_roots_new_builtin ();
	g_autoptr(AcSnpRoots) devnet = ac_snp_roots_new ();
	g_autoptr(EVP_PKEY) key = ac_sev_ec_generate (NULL);
	g_autoptr(EVP_PKEY) verified = NULL;
	g_autoptr(AcSnpCert) vcek = NULL;
	g_autoptr(AcSnpChainVerdict) v = NULL;
	g_autoptr(GError) error = NULL;
	guint8 chip[64];
	AcSnpChainExpect expect
	    = { .chip_id = chip, .chip_id_len = 64, .has_tcb = TRUE, .tcb = soft_tcb };

	soft_chip (chip);
	vcek = ac_snp_soft_ca_issue_vcek (ca, chip, 64, &soft_tcb, key, NULL, 30, &error);
	g_assert_no_error (error);
	g_assert_cmpint (ac_snp_cert_get_role (vcek), ==, AC_SNP_CERT_VCEK);

	/* the built-in roots: the self-made ARK is not AMD's */
	g_assert_false (ac_snp_chain_verify (builtin, vcek, ac_snp_soft_ca_get_intermediate (ca),
	                                     ac_snp_soft_ca_get_ark (ca), &expect, NULL, NULL, NULL,
	                                     &error));
	assert_error_mentions (error, AC_ERROR_UNTRUSTED, "neither AMD's pinned Milan root");
	g_clear_error (&error);
	/* nor does its VCEK verify under AMD's ASK */
	g_assert_false (
	    ac_snp_chain_verify (builtin, vcek, NULL, NULL, &expect, NULL, NULL, NULL, &error));
	assert_error_mentions (error, AC_ERROR_UNTRUSTED, "VCEK ← ASK");
	g_clear_error (&error);
	/* an empty root set */
	g_assert_false (ac_snp_chain_verify (devnet, vcek, ac_snp_soft_ca_get_intermediate (ca),
	                                     NULL, &expect, NULL, NULL, NULL, &error));
	assert_error_mentions (error, AC_ERROR_UNTRUSTED, "no trusted root");
	g_clear_error (&error);

	/* trusted explicitly: verifies, and says it is not a built-in root */
	g_assert_true (ac_snp_roots_add_trusted (devnet, AC_SNP_PRODUCT_MILAN,
	                                         ac_snp_soft_ca_get_ark (ca), &error));
	g_assert_no_error (error);
	g_assert_true (ac_snp_chain_verify (devnet, vcek, ac_snp_soft_ca_get_intermediate (ca),
	                                    NULL, &expect, NULL, &verified, &v, &error));
	g_assert_no_error (error);
	g_assert_false (v->builtin_root);
	g_assert_true (v->tcb_checked && v->chip_id_checked);
	g_assert_cmpint (EVP_PKEY_eq (verified, key), ==, 1);
	/* a software root never stands in for a real one: its built-in ASK is not used */
	g_assert_false (
	    ac_snp_chain_verify (devnet, vcek, NULL, NULL, &expect, NULL, NULL, NULL, &error));
	assert_error_mentions (error, AC_ERROR_UNTRUSTED, "no ASK given");
	g_clear_error (&error);
	/* a root for another product is refused */
	g_assert_false (ac_snp_roots_add_trusted (devnet, AC_SNP_PRODUCT_GENOA,
	                                          ac_snp_soft_ca_get_ark (ca), &error));
	assert_error_mentions (error, AC_ERROR_UNTRUSTED, "not the root of product Genoa");
}

static void
soft_refused (AcSnpSoftCa *ca, AcSnpCert *leaf, gint code, const gchar *needle)
{
	g_autoptr(AcSnpRoots) roots = ac_snp_roots_new ();
	g_autoptr(GError) error = NULL;
	g_assert_true (ac_snp_roots_add_trusted (roots, ac_snp_soft_ca_get_product (ca),
	                                         ac_snp_soft_ca_get_ark (ca), &error));
	g_assert_false (ac_snp_chain_verify (roots, leaf, ac_snp_soft_ca_get_intermediate (ca),
	                                     NULL, NULL, NULL, NULL, NULL, &error));
	assert_error_mentions (error, code, needle);
}

static void
test_soft_pss_salt_and_curve (void)
{
	AcSnpSoftCa *ca = soft_ca (AC_SNP_PRODUCT_MILAN, FALSE);
	g_autoptr(EVP_PKEY) key = ac_sev_ec_generate (NULL);
	g_autoptr(EVP_PKEY) p256 = EVP_EC_gen ("prime256v1");
	g_autoptr(AcSnpCert) salted = NULL;
	g_autoptr(AcSnpCert) curve = NULL;
	g_autoptr(GError) error = NULL;
	guint8 chip[64];
	AcSnpSoftLeafSpec spec = { .role = AC_SNP_CERT_VCEK,
		                   .hwid = chip,
		                   .hwid_len = 64,
		                   .tcb = &soft_tcb,
		                   .key = key,
		                   .salt_len = 32 };

	soft_chip (chip);
	salted = ac_snp_soft_ca_issue_leaf (ca, &spec, &error);
	g_assert_no_error (error);
	soft_refused (ca, salted, AC_ERROR_UNTRUSTED, "salt length 32, expected 48");

	spec.salt_len = 0;
	spec.key = p256;
	curve = ac_snp_soft_ca_issue_leaf (ca, &spec, &error);
	g_assert_no_error (error);
	soft_refused (ca, curve, AC_ERROR_UNTRUSTED, "expected EC P-384");
}

static void
test_soft_extensions (void)
{
	AcSnpSoftCa *milan = soft_ca (AC_SNP_PRODUCT_MILAN, FALSE);
	AcSnpSoftCa *turin = soft_ca (AC_SNP_PRODUCT_TURIN, FALSE);
	g_autoptr(EVP_PKEY) key = ac_sev_ec_generate (NULL);
	g_autoptr(AcSnpCert) fmc = NULL;
	g_autoptr(AcSnpCert) nofmc = NULL;
	g_autoptr(AcSnpCert) venice = NULL;
	g_autoptr(AcSnpCert) ok = NULL;
	g_autoptr(GError) error = NULL;
	guint8 chip[64];
	AcSnpSoftLeafSpec spec = {
		.role = AC_SNP_CERT_VCEK, .hwid = chip, .hwid_len = 64, .tcb = &soft_tcb, .key = key
	};

	soft_chip (chip);
	/* fmcSPL on Milan; none on Turin */
	spec.add_fmc = TRUE;
	fmc = ac_snp_soft_ca_issue_leaf (milan, &spec, &error);
	g_assert_no_error (error);
	soft_refused (milan, fmc, AC_ERROR_UNTRUSTED, "fmcSPL extension (Turin only)");
	spec.add_fmc = FALSE;
	spec.omit_fmc = TRUE;
	spec.hwid_len = 8;
	nofmc = ac_snp_soft_ca_issue_leaf (turin, &spec, &error);
	g_assert_no_error (error);
	soft_refused (turin, nofmc, AC_ERROR_UNTRUSTED, "without the fmcSPL extension");
	/* a 64-byte hwID on Turin */
	spec.omit_fmc = FALSE;
	spec.hwid_len = 64;
	ok = ac_snp_soft_ca_issue_leaf (turin, &spec, &error);
	g_assert_no_error (error);
	soft_refused (turin, ok, AC_ERROR_UNTRUSTED, "hwID has 64 bytes");
	/* a product name that is no known product */
	spec.product_name = "Venice";
	spec.hwid_len = 8;
	venice = ac_snp_soft_ca_issue_leaf (turin, &spec, &error);
	g_assert_no_error (error);
	soft_refused (turin, venice, AC_ERROR_UNTRUSTED, "productName1 'Venice'");
	/* a VCEK without its hwID does not even parse */
	spec.product_name = NULL;
	spec.hwid = NULL;
	g_assert_null (ac_snp_soft_ca_issue_leaf (turin, &spec, &error));
	assert_error_mentions (error, AC_ERROR_INVALID_INPUT, "hwID");
}

static void
test_soft_vlek (void)
{
	AcSnpSoftCa *ca = soft_ca (AC_SNP_PRODUCT_GENOA, TRUE);
	AcSnpSoftCa *vcek_ca = soft_ca (AC_SNP_PRODUCT_MILAN, FALSE);
	g_autoptr(AcSnpRoots) roots = ac_snp_roots_new ();
	g_autoptr(EVP_PKEY) key = ac_sev_ec_generate (NULL);
	g_autoptr(AcSnpCert) vlek = NULL;
	g_autoptr(AcSnpChainVerdict) v = NULL;
	g_autoptr(GError) error = NULL;
	guint8 chip[64];
	AcSnpChainExpect expect = { .product = AC_SNP_PRODUCT_GENOA,
		                    .chip_id = chip,
		                    .chip_id_len = 64,
		                    .has_tcb = TRUE,
		                    .tcb = soft_tcb };

	soft_chip (chip);
	g_assert_cmpint (ac_snp_cert_get_role (ac_snp_soft_ca_get_intermediate (ca)), ==,
	                 AC_SNP_CERT_ASVK);
	vlek = ac_snp_soft_ca_issue_vlek (ca, "aleph-devnet", &soft_tcb, key, NULL, 30, &error);
	g_assert_no_error (error);
	g_assert_cmpuint (ac_snp_cert_get_kds (vlek)->hwid_len, ==, 0);
	g_assert_true (ac_snp_roots_add_trusted (roots, AC_SNP_PRODUCT_GENOA,
	                                         ac_snp_soft_ca_get_ark (ca), &error));
	g_assert_true (ac_snp_chain_verify (roots, vlek, ac_snp_soft_ca_get_intermediate (ca), NULL,
	                                    &expect, NULL, NULL, &v, &error));
	g_assert_no_error (error);
	g_assert_cmpint (v->signer, ==, AC_SNP_CERT_VLEK);
	g_assert_cmpstr (v->csp_id, ==, "aleph-devnet");
	g_assert_false (v->chip_id_checked); /* a VLEK has no hwID */
	g_assert_true (v->tcb_checked);
	g_assert_null (ac_snp_soft_ca_issue_vcek (ca, chip, 64, &soft_tcb, key, NULL, 30, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
	g_clear_error (&error);
	/* a VLEK under an ASK (a VCEK's signer) */
	g_assert_true (ac_snp_roots_add_trusted (roots, AC_SNP_PRODUCT_MILAN,
	                                         ac_snp_soft_ca_get_ark (vcek_ca), &error));
	g_assert_false (ac_snp_chain_verify (roots, vlek, ac_snp_soft_ca_get_intermediate (vcek_ca),
	                                     NULL, NULL, NULL, NULL, NULL, &error));
	assert_error_mentions (error, AC_ERROR_UNTRUSTED, "VLEK");
}

static void
test_crl (void)
{
	AcSnpSoftCa *ca = soft_ca (AC_SNP_PRODUCT_MILAN, FALSE);
	AcSnpCert *ask = ac_snp_soft_ca_get_intermediate (ca);
	g_autoptr(AcSnpCert) amd_ark = ac_snp_builtin_get_ark (AC_SNP_PRODUCT_MILAN, NULL);
	g_autoptr(AcSnpCrl) empty = NULL;
	g_autoptr(AcSnpCrl) revoking = NULL;
	g_autoptr(AcSnpCrl) again = NULL;
	g_autoptr(GBytes) der = NULL;
	g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
	g_autoptr(GDateTime) later = g_date_time_add_days (now, 40);
	g_autoptr(GError) error = NULL;

	empty = ac_snp_soft_ca_issue_crl (ca, NULL, 0, NULL, 30, &error);
	g_assert_no_error (error);
	g_assert_true (ac_snp_crl_verify (empty, ac_snp_soft_ca_get_ark (ca), NULL, &error));
	g_assert_no_error (error);
	g_assert_true (ac_snp_crl_check (empty, ask, &error));
	g_assert_no_error (error);
	revoking = ac_snp_soft_ca_issue_crl (ca, &ask, 1, NULL, 30, &error);
	g_assert_no_error (error);
	der = ac_snp_crl_get_der (revoking);
	again = ac_snp_crl_parse (g_bytes_get_data (der, NULL), g_bytes_get_size (der), "crl",
	                          &error);
	g_assert_no_error (error);
	g_assert_true (ac_snp_crl_verify (again, ac_snp_soft_ca_get_ark (ca), NULL, &error));
	g_assert_false (ac_snp_crl_check (again, ask, &error));
	assert_error_mentions (error, AC_ERROR_UNTRUSTED, "revoked");
	g_clear_error (&error);
	/* signed by another ARK; stale */
	g_assert_false (ac_snp_crl_verify (again, amd_ark, NULL, &error));
	assert_error_mentions (error, AC_ERROR_UNTRUSTED, "CRL ← ARK");
	g_clear_error (&error);
	g_assert_false (ac_snp_crl_verify (again, ac_snp_soft_ca_get_ark (ca), later, &error));
	assert_error_mentions (error, AC_ERROR_UNTRUSTED, "stale");
	g_clear_error (&error);
	/* a certificate the ARK did not issue */
	g_assert_false (ac_snp_crl_check (again, amd_ark, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
	g_clear_error (&error);
	/* garbage */
	g_assert_null (ac_snp_crl_parse ((const guint8 *)"\x30\x03\x02\x01\x00", 5, "crl", &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
}

static void
test_soft_save_load (void)
{
	AcSnpSoftCa *ca = soft_ca (AC_SNP_PRODUCT_MILAN, FALSE);
	g_autoptr(GError) error = NULL;
	g_autofree gchar *dir = g_dir_make_tmp ("test-snp-soft-XXXXXX", &error);
	g_autofree gchar *sub = g_build_filename (dir, "ca", NULL);
	g_autofree gchar *ark_key = g_build_filename (sub, "ark.key", NULL);
	g_autofree gchar *ask_key = g_build_filename (sub, "ask.key", NULL);
	g_autofree gchar *swapped = g_build_filename (sub, "swap", NULL);
	g_autoptr(AcSnpSoftCa) loaded = NULL;
	g_autoptr(AcSnpRoots) roots = ac_snp_roots_new ();
	g_autoptr(EVP_PKEY) key = ac_sev_ec_generate (NULL);
	g_autoptr(AcSnpCert) vcek = NULL;
	g_autoptr(GBytes) a = NULL;
	g_autoptr(GBytes) b = NULL;
	guint8 chip[64];
	GStatBuf st;

	g_assert_no_error (error);
	soft_chip (chip);
	g_assert_true (ac_snp_soft_ca_save (ca, sub, &error));
	g_assert_no_error (error);
	g_assert_cmpint (g_stat (sub, &st), ==, 0);
	g_assert_cmpint (st.st_mode & 0777, ==, 0700);
	g_assert_cmpint (g_stat (ark_key, &st), ==, 0);
	g_assert_cmpint (st.st_mode & 0777, ==, 0600);
	loaded = ac_snp_soft_ca_load (sub, &error);
	g_assert_no_error (error);
	a = ac_snp_cert_get_der (ac_snp_soft_ca_get_ark (loaded));
	b = ac_snp_cert_get_der (ac_snp_soft_ca_get_ark (ca));
	g_assert_true (g_bytes_equal (a, b));
	/* the loaded CA issues VCEKs that verify under the original root */
	vcek = ac_snp_soft_ca_issue_vcek (loaded, chip, 64, &soft_tcb, key, NULL, 30, &error);
	g_assert_no_error (error);
	g_assert_true (ac_snp_roots_add_trusted (roots, AC_SNP_PRODUCT_MILAN,
	                                         ac_snp_soft_ca_get_ark (ca), &error));
	g_assert_true (ac_snp_chain_verify (roots, vcek, ac_snp_soft_ca_get_intermediate (ca), NULL,
	                                    NULL, NULL, NULL, NULL, &error));
	g_assert_no_error (error);
	g_clear_pointer (&loaded, ac_snp_soft_ca_free);

	/* a readable key is refused; swapped keys do not match their certificates */
	g_assert_cmpint (g_chmod (ark_key, 0640), ==, 0);
	g_assert_null (ac_snp_soft_ca_load (sub, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_PERMISSION);
	g_clear_error (&error);
	g_assert_cmpint (g_chmod (ark_key, 0600), ==, 0);
	g_assert_cmpint (g_rename (ark_key, swapped), ==, 0);
	g_assert_cmpint (g_rename (ask_key, ark_key), ==, 0);
	g_assert_cmpint (g_rename (swapped, ask_key), ==, 0);
	g_assert_null (ac_snp_soft_ca_load (sub, &error));
	assert_error_mentions (error, AC_ERROR_INVALID_INPUT, "is not the key of ARK-Milan");

	{
		const gchar *names[]
		    = { "ark.pem", "ask.pem", "cert_chain.pem", "ark.key", "ask.key" };
		for (guint i = 0; i < G_N_ELEMENTS (names); i++) {
			g_autofree gchar *p = g_build_filename (sub, names[i], NULL);
			g_remove (p);
		}
		g_remove (sub);
		g_remove (dir);
	}
}

/* ---- parsing ---- */

static void
test_parse (void)
{
	g_autoptr(AcSnpCert) vcek = snp_test_cert ("virtee-sev-milan", "vcek_milan.der");
	g_autoptr(GBytes) der = ac_snp_cert_get_der (vcek);
	g_autofree gchar *pem = ac_snp_cert_to_pem (vcek);
	g_autofree gchar *serial = ac_snp_cert_get_serial_hex (vcek);
	g_autoptr(AcSnpCert) from_pem = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree guint8 *longer = NULL;
	const AcSnpKdsExtensions *kds = ac_snp_cert_get_kds (vcek);
	gsize len = g_bytes_get_size (der);

	g_assert_cmpstr (serial, ==, "0");
	g_assert_cmpint (kds->struct_version, ==, 0);
	g_assert_false (kds->has_fmc);
	g_assert_cmpuint (kds->hwid_len, ==, 64);
	{
		g_autoptr(AcSnpCert) ask = snp_test_cert ("amd-ark-ask", "milan_ask.pem");
		g_assert_null (ac_snp_cert_get_kds (ask));
	}
	from_pem = ac_snp_cert_parse ((const guint8 *)pem, strlen (pem), "pem", &error);
	g_assert_no_error (error);
	g_assert_cmpint (ac_snp_cert_get_product (from_pem), ==, AC_SNP_PRODUCT_MILAN);

	/* trailing bytes, truncation, two PEM certificates where one is expected, garbage */
	longer = g_malloc (len + 1);
	memcpy (longer, g_bytes_get_data (der, NULL), len);
	longer[len] = 0;
	g_assert_null (ac_snp_cert_parse (longer, len + 1, "vcek", &error));
	assert_error_mentions (error, AC_ERROR_INVALID_INPUT, "trailing");
	g_clear_error (&error);
	g_assert_null (ac_snp_cert_parse (longer, len - 1, "vcek", &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
	g_clear_error (&error);
	{
		g_autoptr(GBytes) chain = snp_test_load ("virtee-sev-milan", "cert_chain_milan.pem");
		g_assert_null (ac_snp_cert_parse (g_bytes_get_data (chain, NULL),
		                                  g_bytes_get_size (chain), "chain", &error));
		assert_error_mentions (error, AC_ERROR_INVALID_INPUT, "expected one");
		g_clear_error (&error);
	}
	g_assert_null (ac_snp_cert_parse ((const guint8 *)"-----BEGIN CERTIFICATE-----\nAAAA\n", 33,
	                                  "pem", &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
	g_clear_error (&error);
	g_assert_null (ac_snp_cert_parse ((const guint8 *)"", 0, "empty", &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
}

int
main (int argc, char **argv)
{
	g_test_init (&argc, &argv, NULL);
	g_test_add_func ("/snp/chain/builtin", test_builtin);
	g_test_add_func ("/snp/chain/real/virtee-milan", test_real_virtee_milan);
	g_test_add_func ("/snp/chain/real/go-sev-guest-milan", test_real_gosevguest_milan);
	g_test_add_func ("/snp/chain/real/turin", test_real_turin);
	g_test_add_func ("/snp/chain/real/chains", test_real_chains);
	g_test_add_func ("/snp/chain/tamper/product", test_tamper_product);
	g_test_add_func ("/snp/chain/tamper/chip-tcb", test_tamper_chip_tcb);
	g_test_add_func ("/snp/chain/tamper/dates", test_tamper_dates);
	g_test_add_func ("/snp/chain/tamper/signatures", test_tamper_signatures);
	g_test_add_func ("/snp/chain/soft/untrusted-by-default", test_soft_untrusted_by_default);
	g_test_add_func ("/snp/chain/soft/pss-salt-curve", test_soft_pss_salt_and_curve);
	g_test_add_func ("/snp/chain/soft/extensions", test_soft_extensions);
	g_test_add_func ("/snp/chain/soft/vlek", test_soft_vlek);
	g_test_add_func ("/snp/chain/soft/save-load", test_soft_save_load);
	g_test_add_func ("/snp/chain/crl", test_crl);
	g_test_add_func ("/snp/chain/parse", test_parse);
	return g_test_run ();
}
