/*
 * SEV-SNP attestation report: the two real Milan reports (fields as expected_reports.json
 * decodes them, signatures with their VCEKs), tampering in every part of the report, the
 * constant-time checks, the JSON rendering and the builder/signer round trip.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include <json-glib/json-glib.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "ac-codec.h"
#include "ac-error.h"
#include "ac-snp-report.h"
#include "test-snp-common.h"

typedef struct {
	const gchar *name; /* the key in expected_reports.json */
	const gchar *report;
	const gchar *vcek;
} RealReport;

static const RealReport real_reports[] = {
	{ "virtee-sev-milan", "virtee-sev-milan/report_milan.bin",
	  "virtee-sev-milan/vcek_milan.der" },
	{ "go-sev-guest-milan", "go-sev-guest-milan/attestation.bin",
	  "go-sev-guest-milan/vcek.der" },
};

/* the VCEK's public key, read with OpenSSL directly (the chain is not this file's concern) */
static EVP_PKEY *
load_vcek (const gchar *rel)
{
	g_autoptr (GBytes) der = snp_test_load (rel, NULL);
	const guchar *p = g_bytes_get_data (der, NULL);
	X509 *x = d2i_X509 (NULL, &p, (long)g_bytes_get_size (der));
	EVP_PKEY *key;

	g_assert_nonnull (x);
	key = X509_get_pubkey (x);
	X509_free (x);
	g_assert_nonnull (key);
	return key;
}

static guint8 *
load_raw (const gchar *rel)
{
	g_autoptr (GBytes) b = snp_test_load (rel, NULL);
	g_assert_cmpuint (g_bytes_get_size (b), ==, AC_SNP_REPORT_SIZE);
	return g_memdup2 (g_bytes_get_data (b, NULL), AC_SNP_REPORT_SIZE);
}

static JsonObject *
expected_for (JsonParser **keep, const gchar *name)
{
	*keep = json_parser_new ();
	return json_object_get_object_member (snp_test_json (*keep, "expected_reports.json", NULL),
	                                      name);
}

static void
assert_hex (const gchar *expected_hex, const guint8 *p, gsize len)
{
	g_autofree gchar *h = ac_codec_hex_encode (p, len);
	g_assert_cmpstr (h, ==, expected_hex);
}

static void
assert_tcb (JsonObject *exp, const AcSnpReport *r, AcSnpTcbKind kind)
{
	g_autoptr (GError) error = NULL;
	JsonObject *t = json_object_get_object_member (exp, ac_snp_tcb_kind_to_string (kind));
	g_autofree gchar *raw = g_strdup_printf ("%016" G_GINT64_MODIFIER "x", r->tcb[kind]);
	AcSnpTcb tcb;

	g_assert_cmpstr (raw, ==, json_object_get_string_member (t, "raw"));
	/* a version 2 report does not say its product: decoded only when it is given */
	g_assert_false (ac_snp_report_get_tcb (r, kind, AC_SNP_PRODUCT_UNKNOWN, &tcb, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
	g_assert_nonnull (strstr (error->message, ac_snp_tcb_kind_to_string (kind)));
	g_clear_error (&error);
	g_assert_true (ac_snp_report_get_tcb (r, kind, AC_SNP_PRODUCT_MILAN, &tcb, &error));
	g_assert_no_error (error);
	g_assert_cmpint (tcb.bootloader, ==, json_object_get_int_member (t, "bootloader"));
	g_assert_cmpint (tcb.tee, ==, json_object_get_int_member (t, "tee"));
	g_assert_cmpint (tcb.snp, ==, json_object_get_int_member (t, "snp"));
	g_assert_cmpint (tcb.microcode, ==, json_object_get_int_member (t, "microcode"));
}

static void
test_real_fields (void)
{
	for (guint i = 0; i < G_N_ELEMENTS (real_reports); i++) {
		g_autoptr (JsonParser) keep = NULL;
		g_autoptr (GError) error = NULL;
		g_autofree guint8 *raw = load_raw (real_reports[i].report);
		JsonObject *all = expected_for (&keep, real_reports[i].name);
		JsonObject *e = json_object_get_object_member (all, "report");
		g_autofree gchar *cur = NULL;
		g_autofree gchar *com = NULL;
		AcSnpReport r;

		g_assert_true (ac_snp_report_parse (raw, AC_SNP_REPORT_SIZE, &r, &error));
		g_assert_no_error (error);
		g_assert_cmpint (r.version, ==, json_object_get_int_member (e, "version"));
		g_assert_cmpint (r.guest_svn, ==, json_object_get_int_member (e, "guest_svn"));
		g_assert_cmpint (r.policy, ==, json_object_get_int_member (e, "policy"));
		g_assert_cmpint (r.vmpl, ==, json_object_get_int_member (e, "vmpl"));
		g_assert_cmpint (r.signature_algo, ==,
		                 json_object_get_int_member (e, "signature_algo"));
		g_assert_cmpint (r.platform_info, ==,
		                 json_object_get_int_member (e, "platform_info"));
		g_assert_cmpint (r.key_info, ==, json_object_get_int_member (e, "key_info"));
		g_assert_cmpint (r.author_key_en, ==,
		                 json_object_get_int_member (e, "author_key_en"));
		g_assert_cmpint (r.mask_chip_key, ==,
		                 json_object_get_int_member (e, "mask_chip_key"));
		g_assert_cmpstr (ac_snp_signing_key_to_string (r.signing_key), ==,
		                 json_object_get_string_member (e, "signing_key"));
#define HEX(field) assert_hex (json_object_get_string_member (e, #field), r.field, sizeof r.field)
		HEX (family_id);
		HEX (image_id);
		HEX (report_data);
		HEX (measurement);
		HEX (host_data);
		HEX (id_key_digest);
		HEX (author_key_digest);
		HEX (report_id);
		HEX (report_id_ma);
		HEX (chip_id);
#undef HEX
		assert_hex (json_object_get_string_member (e, "sig_r_le"), r.signature_r, 72);
		assert_hex (json_object_get_string_member (e, "sig_s_le"), r.signature_s, 72);
		for (guint k = 0; k < AC_SNP_TCB_N_KINDS; k++)
			assert_tcb (e, &r, (AcSnpTcbKind)k);
		cur = g_strdup_printf ("%u.%u.%u", r.current_major, r.current_minor,
		                       r.current_build);
		com = g_strdup_printf ("%u.%u.%u", r.committed_major, r.committed_minor,
		                       r.committed_build);
		g_assert_cmpstr (cur, ==, json_object_get_string_member (e, "current_version"));
		g_assert_cmpstr (com, ==, json_object_get_string_member (e, "committed_version"));
		/* version 2: no CPUID fields, so no product, and nothing after them */
		g_assert_cmpint (r.product, ==, AC_SNP_PRODUCT_UNKNOWN);
		g_assert_cmpuint (r.cpuid_fam_id | r.cpuid_mod_id | r.cpuid_step, ==, 0);
		g_assert_cmpuint (r.launch_mit_vector | r.current_mit_vector, ==, 0);
		g_assert_false (ac_snp_report_chip_id_is_zero (&r));
		g_assert_cmpmem (r.raw, AC_SNP_REPORT_SIZE, raw, AC_SNP_REPORT_SIZE);
	}
}

static void
test_real_signature (void)
{
	for (guint i = 0; i < G_N_ELEMENTS (real_reports); i++) {
		g_autoptr (GError) error = NULL;
		g_autofree guint8 *raw = load_raw (real_reports[i].report);
		EVP_PKEY *vcek = load_vcek (real_reports[i].vcek);
		EVP_PKEY *other = load_vcek (real_reports[1 - i].vcek);
		AcSnpReport r;

		g_assert_true (ac_snp_report_parse (raw, AC_SNP_REPORT_SIZE, &r, &error));
		g_assert_true (ac_snp_report_verify_signature (&r, vcek, &error));
		g_assert_no_error (error);
		/* the other report's VCEK (another chip) does not verify it */
		g_assert_false (ac_snp_report_verify_signature (&r, other, &error));
		g_assert_error (error, AC_ERROR, AC_ERROR_UNTRUSTED);
		g_clear_error (&error);
		EVP_PKEY_free (vcek);
		EVP_PKEY_free (other);
	}
}

/* a bit flipped anywhere in the signed bytes: refused by the parser or by the signature */
static void
test_tamper_signed_area (void)
{
	for (guint i = 0; i < G_N_ELEMENTS (real_reports); i++) {
		g_autofree guint8 *raw = load_raw (real_reports[i].report);
		EVP_PKEY *vcek = load_vcek (real_reports[i].vcek);
		guint parsed = 0;

		for (gsize off = 0; off < AC_SNP_REPORT_SIGNED_SIZE; off++) {
			g_autoptr (GError) error = NULL;
			guint8 bit = (guint8)(1u << (off % 8));
			AcSnpReport r;

			raw[off] ^= bit;
			if (ac_snp_report_parse (raw, AC_SNP_REPORT_SIZE, &r, &error)) {
				parsed++;
				g_assert_false (ac_snp_report_verify_signature (&r, vcek, &error));
				g_assert_error (error, AC_ERROR, AC_ERROR_UNTRUSTED);
			} else {
				g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
			}
			raw[off] ^= bit;
		}
		/* most flips land in fields: the signature, not the parser, refused them */
		g_assert_cmpuint (parsed, >, 400);
		EVP_PKEY_free (vcek);
	}
}

static void
test_tamper_signature (void)
{
	g_autofree guint8 *raw = load_raw (real_reports[0].report);
	EVP_PKEY *vcek = load_vcek (real_reports[0].vcek);
	/* significant bytes of R and S: the parser accepts, the signature check refuses */
	static const gsize sig_offsets[] = { 0x2a0, 0x2a0 + 47, 0x2e8, 0x2e8 + 20 };
	/* the padding of R and S and the reserved rest: the parser refuses */
	static const gsize pad_offsets[] = { 0x2a0 + 48, 0x2e8 + 71, 0x330, 0x49f };
	AcSnpReport r;

	for (guint i = 0; i < G_N_ELEMENTS (sig_offsets); i++) {
		g_autoptr (GError) error = NULL;
		raw[sig_offsets[i]] ^= 0x01;
		g_assert_true (ac_snp_report_parse (raw, AC_SNP_REPORT_SIZE, &r, &error));
		g_assert_false (ac_snp_report_verify_signature (&r, vcek, &error));
		g_assert_error (error, AC_ERROR, AC_ERROR_UNTRUSTED);
		raw[sig_offsets[i]] ^= 0x01;
	}
	for (guint i = 0; i < G_N_ELEMENTS (pad_offsets); i++) {
		g_autoptr (GError) error = NULL;
		raw[pad_offsets[i]] = 0x01;
		g_assert_false (ac_snp_report_parse (raw, AC_SNP_REPORT_SIZE, &r, &error));
		g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
		raw[pad_offsets[i]] = 0;
	}
	/* R and S zero */
	{
		g_autoptr (GError) error = NULL;
		g_autofree guint8 *z = g_memdup2 (raw, AC_SNP_REPORT_SIZE);
		memset (z + 0x2a0, 0, 144);
		g_assert_true (ac_snp_report_parse (z, AC_SNP_REPORT_SIZE, &r, &error));
		g_assert_false (ac_snp_report_verify_signature (&r, vcek, &error));
		g_assert_error (error, AC_ERROR, AC_ERROR_UNTRUSTED);
	}
	/* the check reads the bytes, not the fields: changing a field after parsing changes
	 * nothing, changing raw is caught */
	{
		g_autoptr (GError) error = NULL;
		g_assert_true (ac_snp_report_parse (raw, AC_SNP_REPORT_SIZE, &r, &error));
		r.raw[0x2a0 + 50] = 1;
		g_assert_false (ac_snp_report_verify_signature (&r, vcek, &error));
		g_assert_error (error, AC_ERROR, AC_ERROR_UNTRUSTED);
	}
	EVP_PKEY_free (vcek);
}

static void
put32 (guint8 *p, guint32 v)
{
	for (guint i = 0; i < 4; i++)
		p[i] = (guint8)(v >> (8 * i));
}

/* @raw changed by @mutate must be refused by the parser with a message containing @needle */
static void
assert_refused (const guint8 *orig, gsize off, const guint8 *bytes, gsize n, const gchar *needle)
{
	g_autoptr (GError) error = NULL;
	g_autofree guint8 *raw = g_memdup2 (orig, AC_SNP_REPORT_SIZE);
	AcSnpReport r;

	memcpy (raw + off, bytes, n);
	g_assert_false (ac_snp_report_parse (raw, AC_SNP_REPORT_SIZE, &r, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
	g_test_message ("0x%03zx: %s", off, error->message);
	g_assert_nonnull (strstr (error->message, needle));
}

static void
test_tamper_structure (void)
{
	g_autofree guint8 *raw = load_raw (real_reports[0].report);
	guint8 v[4];
	static const guint8 one = 1;
	static const struct {
		gsize off;
		const gchar *needle;
	} reserved[] = {
		{ 0x04c, "0x04c" },
		{ 0x04f, "0x04c" },
		{ 0x18b, "0x18b" },
		{ 0x19f, "0x18b" },
		{ 0x1eb, "0x1eb" },
		{ 0x1ef, "0x1ef" },
		{ 0x208, "0x208" },
		{ 0x29f, "0x208" },
		{ 0x330, "signature reserved" },
		{ 0x2a0 + 60, "signature R" },
		{ 0x2e8 + 48, "signature S" },
		/* version 2: the CPUID bytes and the mitigation vectors must be zero */
		{ 0x188, "CPUID" },
		{ 0x18a, "CPUID" },
		{ 0x1f8, "mitigation" },
		{ 0x207, "mitigation" },
		/* no AUTHOR_KEY_EN, so no author key digest */
		{ 0x110, "AUTHOR_KEY_DIGEST" },
	};

	for (guint i = 0; i < G_N_ELEMENTS (reserved); i++)
		assert_refused (raw, reserved[i].off, &one, 1, reserved[i].needle);
	/* versions */
	put32 (v, 1);
	assert_refused (raw, 0x000, v, 4, "VERSION");
	put32 (v, 0);
	assert_refused (raw, 0x000, v, 4, "VERSION");
	put32 (v, 6);
	assert_refused (raw, 0x000, v, 4, "is 6");
	/* signature algorithms */
	put32 (v, 0);
	assert_refused (raw, 0x034, v, 4, "SIGNATURE_ALGO");
	put32 (v, 2);
	assert_refused (raw, 0x034, v, 4, "SIGNATURE_ALGO");
	/* VMPL */
	put32 (v, 4);
	assert_refused (raw, 0x030, v, 4, "VMPL");
	/* KEY_INFO: MBZ bits and reserved SIGNING_KEY values */
	put32 (v, 1u << 5);
	assert_refused (raw, 0x048, v, 4, "KEY_INFO");
	for (guint32 k = 2; k <= 6; k++) {
		put32 (v, k << 2);
		assert_refused (raw, 0x048, v, 4, "SIGNING_KEY");
	}
	/* POLICY: bit 17 must be one, bits 63:26 zero */
	{
		guint8 p[8] = { 0x00, 0x00, 0x01, 0, 0, 0, 0, 0 }; /* 0x10000: bit 17 clear */
		assert_refused (raw, 0x008, p, 8, "POLICY");
		p[2] = 0x03;
		p[3] = 0x04; /* bit 26 */
		assert_refused (raw, 0x008, p, 8, "POLICY");
		p[3] = 0;
		p[7] = 0x80;
		assert_refused (raw, 0x008, p, 8, "POLICY");
	}
	/* sizes */
	{
		g_autoptr (GError) error = NULL;
		g_autofree guint8 *longer = g_malloc0 (AC_SNP_REPORT_SIZE + 1);
		AcSnpReport r;
		memcpy (longer, raw, AC_SNP_REPORT_SIZE);
		g_assert_false (ac_snp_report_parse (raw, AC_SNP_REPORT_SIZE - 1, &r, &error));
		g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
		g_assert_nonnull (strstr (error->message, "1183 bytes"));
		g_clear_error (&error);
		g_assert_false (ac_snp_report_parse (longer, AC_SNP_REPORT_SIZE + 1, &r, &error));
		g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
		g_clear_error (&error);
		g_assert_false (ac_snp_report_parse (raw, 0, &r, &error));
		g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
		g_clear_error (&error);
		g_assert_false (ac_snp_report_parse (NULL, AC_SNP_REPORT_SIZE, &r, &error));
		g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
	}
	/* the same bytes as version 3 name a product from their (zero) CPUID: family 0 is none,
	 * so it stays unknown rather than guessed */
	{
		g_autoptr (GError) error = NULL;
		g_autofree guint8 *r3 = g_memdup2 (raw, AC_SNP_REPORT_SIZE);
		AcSnpReport r;
		put32 (r3, 3);
		g_assert_true (ac_snp_report_parse (r3, AC_SNP_REPORT_SIZE, &r, &error));
		g_assert_cmpint (r.product, ==, AC_SNP_PRODUCT_UNKNOWN);
		/* Milan CPUID: the TCBs decode; as Turin the Milan TCB has a reserved byte set */
		r3[0x188] = 0x19;
		r3[0x189] = 0x01;
		g_assert_true (ac_snp_report_parse (r3, AC_SNP_REPORT_SIZE, &r, &error));
		g_assert_cmpint (r.product, ==, AC_SNP_PRODUCT_MILAN);
		r3[0x188] = 0x1a;
		r3[0x189] = 0x02;
		g_assert_false (ac_snp_report_parse (r3, AC_SNP_REPORT_SIZE, &r, &error));
		g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
		g_assert_nonnull (strstr (error->message, "current_tcb"));
	}
}

static void
test_get_tcb_product (void)
{
	g_autoptr (GError) error = NULL;
	g_autofree guint8 *raw = load_raw (real_reports[0].report);
	AcSnpReport r;
	AcSnpTcb tcb;

	raw[0] = 3;
	raw[0x188] = 0x19;
	raw[0x189] = 0x11; /* Genoa */
	g_assert_true (ac_snp_report_parse (raw, AC_SNP_REPORT_SIZE, &r, &error));
	g_assert_cmpint (r.product, ==, AC_SNP_PRODUCT_GENOA);
	g_assert_true (
	    ac_snp_report_get_tcb (&r, AC_SNP_TCB_REPORTED, AC_SNP_PRODUCT_UNKNOWN, &tcb, &error));
	g_assert_cmpuint (tcb.snp, ==, 8);
	g_assert_true (
	    ac_snp_report_get_tcb (&r, AC_SNP_TCB_REPORTED, AC_SNP_PRODUCT_GENOA, &tcb, &error));
	/* a product that contradicts the report's CPUID */
	g_assert_false (
	    ac_snp_report_get_tcb (&r, AC_SNP_TCB_REPORTED, AC_SNP_PRODUCT_MILAN, &tcb, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_MISMATCH);
	g_assert_nonnull (strstr (error->message, "Genoa"));
}

static void
test_check_ct (void)
{
	g_autoptr (GError) error = NULL;
	g_autofree guint8 *raw = load_raw (real_reports[0].report);
	guint8 m[48];
	g_autofree guint8 *d = NULL;
	AcSnpReport r;

	g_assert_true (ac_snp_report_parse (raw, AC_SNP_REPORT_SIZE, &r, &error));
	g_assert_true (
	    ac_codec_hex_decode_fixed ("measurement",
	                               "7a1e5c266c0108dbc9bb94fa926951320940915d0aafb42464bd88b579e"
	                               "a158d3e1a0dc39b2c60bd95b9c480cd81841f",
	                               AC_CODEC_HEX_DEFAULT, m, sizeof m, &error));
	g_assert_no_error (error);
	d = g_memdup2 (raw + 0x50, 64);
	g_assert_true (ac_snp_report_check_measurement (&r, m, &error));
	g_assert_true (ac_snp_report_check_report_data (&r, d, &error));
	g_assert_no_error (error);
	m[47] ^= 1;
	g_assert_false (ac_snp_report_check_measurement (&r, m, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_MISMATCH);
	g_assert_nonnull (strstr (error->message, "MEASUREMENT"));
	g_assert_nonnull (strstr (error->message, "7a1e5c26"));
	g_clear_error (&error);
	d[0] ^= 0x80;
	g_assert_false (ac_snp_report_check_report_data (&r, d, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_MISMATCH);
	g_assert_nonnull (strstr (error->message, "REPORT_DATA"));
}

static void
test_json (void)
{
	for (guint i = 0; i < G_N_ELEMENTS (real_reports); i++) {
		g_autoptr (JsonParser) keep = NULL;
		g_autoptr (JsonParser) p = json_parser_new ();
		g_autoptr (GError) error = NULL;
		g_autofree guint8 *raw = load_raw (real_reports[i].report);
		JsonObject *e = json_object_get_object_member (
		    expected_for (&keep, real_reports[i].name), "report");
		g_autofree gchar *json = NULL;
		g_autofree gchar *pol = NULL;
		JsonObject *o, *t;
		AcSnpReport r;

		g_assert_true (ac_snp_report_parse (raw, AC_SNP_REPORT_SIZE, &r, &error));
		json = ac_snp_report_to_json (&r, AC_SNP_PRODUCT_MILAN);
		g_assert_true (json_parser_load_from_data (p, json, -1, &error));
		g_assert_no_error (error);
		o = json_node_get_object (json_parser_get_root (p));
		pol = g_strdup_printf ("0x%" G_GINT64_MODIFIER "x",
		                       (guint64)json_object_get_int_member (e, "policy"));
		g_assert_cmpstr (json_object_get_string_member (o, "policy"), ==, pol);
		g_assert_cmpstr (json_object_get_string_member (o, "measurement"), ==,
		                 json_object_get_string_member (e, "measurement"));
		g_assert_cmpstr (json_object_get_string_member (o, "chip_id"), ==,
		                 json_object_get_string_member (e, "chip_id"));
		g_assert_cmpstr (json_object_get_string_member (o, "signature_r"), ==,
		                 json_object_get_string_member (e, "sig_r_le"));
		g_assert_cmpstr (json_object_get_string_member (o, "current_version"), ==,
		                 json_object_get_string_member (e, "current_version"));
		g_assert_cmpstr (json_object_get_string_member (o, "product"), ==, "Milan");
		g_assert_cmpstr (json_object_get_string_member (o, "product_source"), ==, "given");
		g_assert_cmpstr (json_object_get_string_member (o, "platform_info_flags"), ==,
		                 "SMT_EN");
		t = json_object_get_object_member (o, "reported_tcb");
		g_assert_cmpint (
		    json_object_get_int_member (t, "microcode"), ==,
		    json_object_get_int_member (json_object_get_object_member (e, "reported_tcb"),
		                                "microcode"));
		/* without a product: the raw values only */
		g_clear_pointer (&json, g_free);
		json = ac_snp_report_to_json (&r, AC_SNP_PRODUCT_UNKNOWN);
		g_assert_true (json_parser_load_from_data (p, json, -1, &error));
		o = json_node_get_object (json_parser_get_root (p));
		t = json_object_get_object_member (o, "launch_tcb");
		g_assert_false (json_object_has_member (t, "microcode"));
		g_assert_true (json_object_has_member (t, "raw"));
		g_assert_cmpstr (json_object_get_string_member (o, "product_source"), ==,
		                 "unknown");
	}
}

static void
fill (guint8 *p, gsize n, guint8 seed)
{
	for (gsize i = 0; i < n; i++)
		p[i] = (guint8)(seed + i * 7);
}

static void
test_build_sign (void)
{
	g_autoptr (GError) error = NULL;
	EVP_PKEY *key = EVP_EC_gen ("secp384r1");
	EVP_PKEY *other = EVP_EC_gen ("secp384r1");
	AcSnpTcb tcb = { .bootloader = 9, .tee = 0, .snp = 21, .microcode = 84 };
	AcSnpReport b, back;

	g_assert_nonnull (key);
	memset (&b, 0, sizeof b);
	b.version = 5;
	b.guest_svn = 7;
	b.policy = 0x30000;
	fill (b.family_id, 16, 1);
	fill (b.image_id, 16, 2);
	b.vmpl = 1;
	b.signature_algo = 1;
	for (guint k = 0; k < AC_SNP_TCB_N_KINDS; k++)
		b.tcb[k] = ac_snp_tcb_encode (&tcb, AC_SNP_PRODUCT_GENOA);
	b.platform_info = AC_SNP_PLATFORM_SMT_EN | AC_SNP_PLATFORM_ALIAS_CHECK_COMPLETE;
	b.signing_key = AC_SNP_SIGNING_KEY_VCEK;
	b.mask_chip_key = TRUE;
	fill (b.report_data, 64, 3);
	fill (b.measurement, 48, 4);
	fill (b.host_data, 32, 5);
	fill (b.id_key_digest, 48, 6);
	fill (b.report_id, 32, 7);
	memset (b.report_id_ma, 0xff, 32);
	b.cpuid_fam_id = 0x19;
	b.cpuid_mod_id = 0x11;
	b.cpuid_step = 1;
	fill (b.chip_id, 64, 8);
	b.current_major = 1;
	b.current_minor = 55;
	b.current_build = 35;
	b.committed_major = 1;
	b.committed_minor = 55;
	b.committed_build = 30;
	b.launch_mit_vector = 3;
	b.current_mit_vector = 7;
	g_assert_true (ac_snp_report_build (&b, &error));
	g_assert_no_error (error);
	g_assert_cmpint (b.product, ==, AC_SNP_PRODUCT_GENOA);
	g_assert_cmpuint (b.key_info, ==, 2);
	g_assert_true (ac_snp_report_sign (&b, key, &error));
	g_assert_no_error (error);

	g_assert_true (ac_snp_report_parse (b.raw, AC_SNP_REPORT_SIZE, &back, &error));
	g_assert_no_error (error);
	/* every field comes back */
	g_assert_cmpmem (&back, sizeof back, &b, sizeof b);
	g_assert_true (ac_snp_report_verify_signature (&back, key, &error));
	g_assert_no_error (error);
	g_assert_false (ac_snp_report_verify_signature (&back, other, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_UNTRUSTED);
	g_clear_error (&error);

	/* what a parser refuses cannot be built */
	{
		AcSnpReport bad = b;
		bad.version = 2; /* CPUID fields and mitigation vectors in version 2 */
		g_assert_false (ac_snp_report_build (&bad, &error));
		g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
		g_clear_error (&error);
		bad = b;
		bad.cpuid_fam_id = 0x1a;
		bad.cpuid_mod_id = 0x02; /* Turin: a 64-byte chip id and Genoa TCBs */
		g_assert_false (ac_snp_report_build (&bad, &error));
		g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
		g_clear_error (&error);
		bad = b;
		bad.policy = 0x10000;
		g_assert_false (ac_snp_report_build (&bad, &error));
		g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
		g_clear_error (&error);
	}
	/* unsigned reports (SIGNING_KEY 7) cannot be signed nor verified */
	{
		AcSnpReport none = b;
		none.signing_key = AC_SNP_SIGNING_KEY_NONE;
		g_assert_true (ac_snp_report_build (&none, &error));
		g_assert_false (ac_snp_report_sign (&none, key, &error));
		g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
		g_clear_error (&error);
		g_assert_false (ac_snp_report_verify_signature (&none, key, &error));
		g_assert_error (error, AC_ERROR, AC_ERROR_UNTRUSTED);
		g_clear_error (&error);
	}
	/* keys that are not P-384 */
	{
		EVP_PKEY *p256 = EVP_EC_gen ("prime256v1");
		g_assert_false (ac_snp_report_sign (&b, p256, &error));
		g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
		g_clear_error (&error);
		g_assert_false (ac_snp_report_verify_signature (&back, p256, &error));
		g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
		g_clear_error (&error);
		EVP_PKEY_free (p256);
	}
	/* a Turin report: 8-byte chip id, Turin TCB layout */
	{
		AcSnpReport t = b;
		AcSnpTcb tt = { .fmc = 3, .bootloader = 4, .tee = 0, .snp = 8, .microcode = 12 };
		AcSnpTcb got;
		t.cpuid_fam_id = 0x1a;
		t.cpuid_mod_id = 0x02;
		memset (t.chip_id + 8, 0, 56);
		for (guint k = 0; k < AC_SNP_TCB_N_KINDS; k++)
			t.tcb[k] = ac_snp_tcb_encode (&tt, AC_SNP_PRODUCT_TURIN);
		g_assert_true (ac_snp_report_build (&t, &error));
		g_assert_true (ac_snp_report_sign (&t, key, &error));
		g_assert_true (ac_snp_report_parse (t.raw, AC_SNP_REPORT_SIZE, &back, &error));
		g_assert_no_error (error);
		g_assert_cmpint (back.product, ==, AC_SNP_PRODUCT_TURIN);
		g_assert_true (ac_snp_report_get_tcb (&back, AC_SNP_TCB_LAUNCH,
		                                      AC_SNP_PRODUCT_UNKNOWN, &got, &error));
		g_assert_true (ac_snp_tcb_equal (&got, &tt));
		g_assert_true (ac_snp_report_verify_signature (&back, key, &error));
	}
	EVP_PKEY_free (key);
	EVP_PKEY_free (other);
}

int
main (int argc, char **argv)
{
	g_test_init (&argc, &argv, NULL);
	g_test_add_func ("/snp/report/real/fields", test_real_fields);
	g_test_add_func ("/snp/report/real/signature", test_real_signature);
	g_test_add_func ("/snp/report/tamper/signed-area", test_tamper_signed_area);
	g_test_add_func ("/snp/report/tamper/signature", test_tamper_signature);
	g_test_add_func ("/snp/report/tamper/structure", test_tamper_structure);
	g_test_add_func ("/snp/report/tcb-product", test_get_tcb_product);
	g_test_add_func ("/snp/report/check-ct", test_check_ct);
	g_test_add_func ("/snp/report/json", test_json);
	g_test_add_func ("/snp/report/build-sign", test_build_sign);
	return g_test_run ();
}
