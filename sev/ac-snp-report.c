/*
 * AMD SEV-SNP attestation report: parse, verify, render, build and sign.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>

#include "ac-snp-report.h"

#include "ac-codec.h"
#include "ac-error.h"
#include "ac-sev-ossl-private.h"
#include "ac-snp-policy.h"

/* offsets (docs/snp.md#the-attestation-report) */
#define OFF_VERSION 0x000
#define OFF_GUEST_SVN 0x004
#define OFF_POLICY 0x008
#define OFF_FAMILY_ID 0x010
#define OFF_IMAGE_ID 0x020
#define OFF_VMPL 0x030
#define OFF_SIG_ALGO 0x034
#define OFF_CURRENT_TCB 0x038
#define OFF_PLATFORM_INFO 0x040
#define OFF_KEY_INFO 0x048
#define OFF_RSVD_04C 0x04c
#define OFF_REPORT_DATA 0x050
#define OFF_MEASUREMENT 0x090
#define OFF_HOST_DATA 0x0c0
#define OFF_ID_KEY_DIGEST 0x0e0
#define OFF_AUTHOR_KEY_DIGEST 0x110
#define OFF_REPORT_ID 0x140
#define OFF_REPORT_ID_MA 0x160
#define OFF_REPORTED_TCB 0x180
#define OFF_CPUID_FAM 0x188
#define OFF_CPUID_MOD 0x189
#define OFF_CPUID_STEP 0x18a
#define OFF_RSVD_18B 0x18b
#define OFF_CHIP_ID 0x1a0
#define OFF_COMMITTED_TCB 0x1e0
#define OFF_CURRENT_BUILD 0x1e8
#define OFF_CURRENT_MINOR 0x1e9
#define OFF_CURRENT_MAJOR 0x1ea
#define OFF_RSVD_1EB 0x1eb
#define OFF_COMMITTED_BUILD 0x1ec
#define OFF_COMMITTED_MINOR 0x1ed
#define OFF_COMMITTED_MAJOR 0x1ee
#define OFF_RSVD_1EF 0x1ef
#define OFF_LAUNCH_TCB 0x1f0
#define OFF_LAUNCH_MIT 0x1f8
#define OFF_CURRENT_MIT 0x200
#define OFF_RSVD_208 0x208
#define OFF_SIG_R 0x2a0
#define OFF_SIG_S 0x2e8
#define OFF_SIG_RSVD 0x330

#define SIG_COMPONENT_SIZE 72
#define SIG_SIGNIFICANT 48

#define POLICY_MUST_BE_ONE AC_SNP_POLICY_RESERVED_MBO
#define POLICY_MBZ AC_SNP_POLICY_MBZ_MASK

static const gsize tcb_offsets[AC_SNP_TCB_N_KINDS] = {
	[AC_SNP_TCB_CURRENT] = OFF_CURRENT_TCB,
	[AC_SNP_TCB_REPORTED] = OFF_REPORTED_TCB,
	[AC_SNP_TCB_COMMITTED] = OFF_COMMITTED_TCB,
	[AC_SNP_TCB_LAUNCH] = OFF_LAUNCH_TCB,
};

static const struct {
	const gchar *name;
	guint64 bit;
} platform_bits[] = {
	{ "SMT_EN", AC_SNP_PLATFORM_SMT_EN },
	{ "TSME_EN", AC_SNP_PLATFORM_TSME_EN },
	{ "ECC_EN", AC_SNP_PLATFORM_ECC_EN },
	{ "RAPL_DIS", AC_SNP_PLATFORM_RAPL_DIS },
	{ "CIPHERTEXT_HIDING_EN", AC_SNP_PLATFORM_CIPHERTEXT_HIDING_EN },
	{ "ALIAS_CHECK_COMPLETE", AC_SNP_PLATFORM_ALIAS_CHECK_COMPLETE },
	{ "TIO_EN", AC_SNP_PLATFORM_TIO_EN },
};

const gchar *
ac_snp_signing_key_to_string (AcSnpSigningKey key)
{
	switch (key) {
	case AC_SNP_SIGNING_KEY_VCEK:
		return "VCEK";
	case AC_SNP_SIGNING_KEY_VLEK:
		return "VLEK";
	case AC_SNP_SIGNING_KEY_NONE:
		return "none";
	default:
		return "reserved";
	}
}

const gchar *
ac_snp_tcb_kind_to_string (AcSnpTcbKind kind)
{
	switch (kind) {
	case AC_SNP_TCB_CURRENT:
		return "current_tcb";
	case AC_SNP_TCB_REPORTED:
		return "reported_tcb";
	case AC_SNP_TCB_COMMITTED:
		return "committed_tcb";
	case AC_SNP_TCB_LAUNCH:
		return "launch_tcb";
	case AC_SNP_TCB_N_KINDS:
	default:
		return "tcb";
	}
}

gchar *
ac_snp_platform_info_to_names (guint64 platform_info)
{
	g_autoptr (GString) s = g_string_new (NULL);
	guint64 rest = platform_info & ~AC_SNP_PLATFORM_KNOWN_MASK;

	for (guint i = 0; i < G_N_ELEMENTS (platform_bits); i++) {
		if (platform_info & platform_bits[i].bit)
			g_string_append_printf (s, "%s%s", s->len ? "," : "",
			                        platform_bits[i].name);
	}
	for (guint b = 0; b < 64; b++) {
		if (rest & (G_GUINT64_CONSTANT (1) << b))
			g_string_append_printf (s, "%sbit%u", s->len ? "," : "", b);
	}
	if (s->len == 0)
		g_string_append (s, "none");
	return g_string_free (g_steal_pointer (&s), FALSE);
}

guint64
ac_snp_platform_info_from_name (const gchar *name)
{
	g_autofree gchar *norm = NULL;

	if (name == NULL)
		return 0;
	norm = g_strdelimit (g_ascii_strup (name, -1), "-", '_');
	for (guint i = 0; i < G_N_ELEMENTS (platform_bits); i++) {
		if (g_strcmp0 (norm, platform_bits[i].name) == 0)
			return platform_bits[i].bit;
	}
	return 0;
}

static guint64
le64 (const guint8 *p)
{
	return (guint64)ac_sev_le32 (p) | (guint64)ac_sev_le32 (p + 4) << 32;
}

static void
put_le64 (guint8 *p, guint64 v)
{
	ac_sev_put_le32 (p, (guint32)v);
	ac_sev_put_le32 (p + 4, (guint32)(v >> 32));
}

/* a reserved range that must be zero */
static gboolean
check_zero (const guint8 *raw, gsize off, gsize len, const gchar *what, GError **error)
{
	for (gsize i = 0; i < len; i++) {
		if (raw[off + i] != 0) {
			g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			             "SNP report: %s (0x%03" G_GSIZE_MODIFIER
			             "x-0x%03" G_GSIZE_MODIFIER
			             "x) must be zero, byte 0x%03" G_GSIZE_MODIFIER "x is 0x%02x",
			             what, off, off + len - 1, off + i, raw[off + i]);
			return FALSE;
		}
	}
	return TRUE;
}

static void
decode_fields (const guint8 *raw, AcSnpReport *r)
{
	r->version = ac_sev_le32 (raw + OFF_VERSION);
	r->guest_svn = ac_sev_le32 (raw + OFF_GUEST_SVN);
	r->policy = le64 (raw + OFF_POLICY);
	memcpy (r->family_id, raw + OFF_FAMILY_ID, sizeof r->family_id);
	memcpy (r->image_id, raw + OFF_IMAGE_ID, sizeof r->image_id);
	r->vmpl = ac_sev_le32 (raw + OFF_VMPL);
	r->signature_algo = ac_sev_le32 (raw + OFF_SIG_ALGO);
	for (guint k = 0; k < AC_SNP_TCB_N_KINDS; k++)
		r->tcb[k] = le64 (raw + tcb_offsets[k]);
	r->platform_info = le64 (raw + OFF_PLATFORM_INFO);
	r->key_info = ac_sev_le32 (raw + OFF_KEY_INFO);
	r->author_key_en = (r->key_info & 1) != 0;
	r->mask_chip_key = (r->key_info & 2) != 0;
	r->signing_key = (AcSnpSigningKey)((r->key_info >> 2) & 7);
	memcpy (r->report_data, raw + OFF_REPORT_DATA, sizeof r->report_data);
	memcpy (r->measurement, raw + OFF_MEASUREMENT, sizeof r->measurement);
	memcpy (r->host_data, raw + OFF_HOST_DATA, sizeof r->host_data);
	memcpy (r->id_key_digest, raw + OFF_ID_KEY_DIGEST, sizeof r->id_key_digest);
	memcpy (r->author_key_digest, raw + OFF_AUTHOR_KEY_DIGEST, sizeof r->author_key_digest);
	memcpy (r->report_id, raw + OFF_REPORT_ID, sizeof r->report_id);
	memcpy (r->report_id_ma, raw + OFF_REPORT_ID_MA, sizeof r->report_id_ma);
	r->cpuid_fam_id = raw[OFF_CPUID_FAM];
	r->cpuid_mod_id = raw[OFF_CPUID_MOD];
	r->cpuid_step = raw[OFF_CPUID_STEP];
	memcpy (r->chip_id, raw + OFF_CHIP_ID, sizeof r->chip_id);
	r->current_build = raw[OFF_CURRENT_BUILD];
	r->current_minor = raw[OFF_CURRENT_MINOR];
	r->current_major = raw[OFF_CURRENT_MAJOR];
	r->committed_build = raw[OFF_COMMITTED_BUILD];
	r->committed_minor = raw[OFF_COMMITTED_MINOR];
	r->committed_major = raw[OFF_COMMITTED_MAJOR];
	r->launch_mit_vector = le64 (raw + OFF_LAUNCH_MIT);
	r->current_mit_vector = le64 (raw + OFF_CURRENT_MIT);
	memcpy (r->signature_r, raw + OFF_SIG_R, SIG_COMPONENT_SIZE);
	memcpy (r->signature_s, raw + OFF_SIG_S, SIG_COMPONENT_SIZE);
	r->product = r->version >= 3 ? ac_snp_product_from_cpuid (r->cpuid_fam_id, r->cpuid_mod_id)
	                             : AC_SNP_PRODUCT_UNKNOWN;
	memcpy (r->raw, raw, AC_SNP_REPORT_SIZE);
}

/* the rules of ac_snp_report_parse on decoded fields and their bytes */
static gboolean
check_report (const AcSnpReport *r, GError **error)
{
	const guint8 *raw = r->raw;

	if (r->version < AC_SNP_REPORT_VERSION_MIN || r->version > AC_SNP_REPORT_VERSION_MAX) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "SNP report: VERSION (0x000) is %u, expected %u to %u", r->version,
		             AC_SNP_REPORT_VERSION_MIN, AC_SNP_REPORT_VERSION_MAX);
		return FALSE;
	}
	if (r->signature_algo != AC_SNP_SIG_ALGO_ECDSA_P384_SHA384) {
		g_set_error (
		    error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		    "SNP report: SIGNATURE_ALGO (0x034) is %u, expected 1 (ECDSA P-384 with "
		    "SHA-384)",
		    r->signature_algo);
		return FALSE;
	}
	if (r->vmpl > AC_SNP_REPORT_VMPL_MAX) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "SNP report: VMPL (0x030) is %u, expected 0 to 3", r->vmpl);
		return FALSE;
	}
	if ((r->policy & POLICY_MUST_BE_ONE) == 0 || (r->policy & POLICY_MBZ) != 0) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "SNP report: POLICY (0x008) is 0x%" G_GINT64_MODIFIER
		             "x, expected bit 17 set and bits 63:26 zero",
		             r->policy);
		return FALSE;
	}
	if (r->key_info >> 5) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "SNP report: KEY_INFO (0x048) is 0x%x, bits 31:5 must be zero",
		             r->key_info);
		return FALSE;
	}
	if (r->signing_key != AC_SNP_SIGNING_KEY_VCEK && r->signing_key != AC_SNP_SIGNING_KEY_VLEK
	    && r->signing_key != AC_SNP_SIGNING_KEY_NONE) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "SNP report: KEY_INFO (0x048) SIGNING_KEY is %u, expected 0 (VCEK), 1 "
		             "(VLEK) or 7 (none)",
		             (guint)r->signing_key);
		return FALSE;
	}
	if (!r->author_key_en
	    && !check_zero (raw, OFF_AUTHOR_KEY_DIGEST, 48,
	                    "AUTHOR_KEY_DIGEST without AUTHOR_KEY_EN", error))
		return FALSE;
	if (!check_zero (raw, OFF_RSVD_04C, 4, "reserved", error)
	    || (r->version < 3
	        && !check_zero (raw, OFF_CPUID_FAM, 3, "CPUID fields of a version 2 report", error))
	    || !check_zero (raw, OFF_RSVD_18B, 21, "reserved", error)
	    || !check_zero (raw, OFF_RSVD_1EB, 1, "reserved", error)
	    || !check_zero (raw, OFF_RSVD_1EF, 1, "reserved", error)
	    || (r->version < 5
	        && !check_zero (raw, OFF_LAUNCH_MIT, 16, "mitigation vectors before version 5",
	                        error))
	    || !check_zero (raw, OFF_RSVD_208, OFF_SIG_R - OFF_RSVD_208, "reserved", error)
	    || !check_zero (raw, OFF_SIG_R + SIG_SIGNIFICANT, SIG_COMPONENT_SIZE - SIG_SIGNIFICANT,
	                    "signature R beyond 48 bytes", error)
	    || !check_zero (raw, OFF_SIG_S + SIG_SIGNIFICANT, SIG_COMPONENT_SIZE - SIG_SIGNIFICANT,
	                    "signature S beyond 48 bytes", error)
	    || !check_zero (raw, OFF_SIG_RSVD, AC_SNP_REPORT_SIZE - OFF_SIG_RSVD,
	                    "signature reserved", error))
		return FALSE;
	if (r->product != AC_SNP_PRODUCT_UNKNOWN) {
		for (guint k = 0; k < AC_SNP_TCB_N_KINDS; k++) {
			AcSnpTcb tcb;
			g_autofree gchar *what = g_strdup_printf (
			    "SNP report: %s (0x%03" G_GSIZE_MODIFIER "x)",
			    ac_snp_tcb_kind_to_string ((AcSnpTcbKind)k), tcb_offsets[k]);
			if (!ac_snp_tcb_decode (r->tcb[k], r->product, what, &tcb, error))
				return FALSE;
		}
		if (r->product == AC_SNP_PRODUCT_TURIN
		    && !check_zero (raw, OFF_CHIP_ID + 8, AC_SNP_CHIP_ID_SIZE - 8,
		                    "CHIP_ID of a Turin report beyond 8 bytes", error))
			return FALSE;
	}
	return TRUE;
}

/* the fields of the 1184 bytes at @raw into *@out, when they pass check_report() */
static gboolean
decode_checked (const guint8 *raw, AcSnpReport *out, GError **error)
{
	AcSnpReport r;

	memset (&r, 0, sizeof r);
	decode_fields (raw, &r);
	if (!check_report (&r, error))
		return FALSE;
	*out = r;
	return TRUE;
}

gboolean
ac_snp_report_parse (const guint8 *data, gsize len, AcSnpReport *out, GError **error)
{
	g_return_val_if_fail (out != NULL, FALSE);
	if (data == NULL || len != AC_SNP_REPORT_SIZE) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "SNP report: %" G_GSIZE_FORMAT " bytes, expected exactly %u", len,
		             AC_SNP_REPORT_SIZE);
		return FALSE;
	}
	return decode_checked (data, out, error);
}

gboolean
ac_snp_report_get_tcb (const AcSnpReport *report,
                       AcSnpTcbKind kind,
                       AcSnpProduct product,
                       AcSnpTcb *out,
                       GError **error)
{
	g_autofree gchar *what = NULL;

	g_return_val_if_fail (report != NULL && out != NULL, FALSE);
	g_return_val_if_fail (kind < AC_SNP_TCB_N_KINDS, FALSE);
	if (product != AC_SNP_PRODUCT_UNKNOWN && report->product != AC_SNP_PRODUCT_UNKNOWN
	    && product != report->product) {
		g_set_error (error, AC_ERROR, AC_ERROR_MISMATCH,
		             "SNP report: the CPUID fields (family 0x%02x, model 0x%02x) name %s, "
		             "expected %s",
		             report->cpuid_fam_id, report->cpuid_mod_id,
		             ac_snp_product_to_string (report->product),
		             ac_snp_product_to_string (product));
		return FALSE;
	}
	if (product == AC_SNP_PRODUCT_UNKNOWN)
		product = report->product;
	if (product == AC_SNP_PRODUCT_UNKNOWN) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "SNP report: %s cannot be decoded: a version %u report does not name "
		             "its product, give it (milan, genoa or turin)",
		             ac_snp_tcb_kind_to_string (kind), report->version);
		return FALSE;
	}
	what = g_strdup_printf ("SNP report: %s", ac_snp_tcb_kind_to_string (kind));
	return ac_snp_tcb_decode (report->tcb[kind], product, what, out, error);
}

gboolean
ac_snp_report_chip_id_is_zero (const AcSnpReport *report)
{
	return ac_sev_all_zero (report->chip_id, sizeof report->chip_id);
}

/* ---- signature ---------------------------------------------------------------------- */

static gboolean
key_is_p384 (EVP_PKEY *key)
{
	gchar group[64] = "";
	size_t len = 0;

	if (key == NULL || EVP_PKEY_get_base_id (key) != EVP_PKEY_EC)
		return FALSE;
	if (!EVP_PKEY_get_utf8_string_param (key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group,
	                                     &len)) {
		ERR_clear_error ();
		return FALSE;
	}
	return g_strcmp0 (group, "secp384r1") == 0;
}

gboolean
ac_snp_report_verify_signature (const AcSnpReport *report, EVP_PKEY *vcek_pub, GError **error)
{
	const guint8 *raw;
	guint32 algo, key_info;
	g_autoptr (ECDSA_SIG) sig = NULL;
	g_autoptr (EVP_MD_CTX) mctx = NULL;
	BIGNUM *r = NULL, *s = NULL;
	guchar *der = NULL;
	int derlen;
	gboolean ok;

	g_return_val_if_fail (report != NULL, FALSE);
	raw = report->raw;
	if (!key_is_p384 (vcek_pub)) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		                     "SNP report signature: the VCEK key is not an EC P-384 key");
		return FALSE;
	}
	algo = ac_sev_le32 (raw + OFF_SIG_ALGO);
	if (algo != AC_SNP_SIG_ALGO_ECDSA_P384_SHA384) {
		g_set_error (
		    error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		    "SNP report: SIGNATURE_ALGO (0x034) is %u, expected 1 (ECDSA P-384 with "
		    "SHA-384)",
		    algo);
		return FALSE;
	}
	key_info = ac_sev_le32 (raw + OFF_KEY_INFO);
	if (((key_info >> 2) & 7) == AC_SNP_SIGNING_KEY_NONE) {
		g_set_error_literal (
		    error, AC_ERROR, AC_ERROR_UNTRUSTED,
		    "SNP report: KEY_INFO.SIGNING_KEY is 7: the report is not signed");
		return FALSE;
	}
	if (!ac_sev_all_zero (raw + OFF_SIG_R + SIG_SIGNIFICANT,
	                      SIG_COMPONENT_SIZE - SIG_SIGNIFICANT)
	    || !ac_sev_all_zero (raw + OFF_SIG_S + SIG_SIGNIFICANT,
	                         SIG_COMPONENT_SIZE - SIG_SIGNIFICANT)) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_UNTRUSTED,
		                     "SNP report signature: R or S is longer than 48 bytes");
		return FALSE;
	}
	sig = ECDSA_SIG_new ();
	r = BN_lebin2bn (raw + OFF_SIG_R, SIG_SIGNIFICANT, NULL);
	s = BN_lebin2bn (raw + OFF_SIG_S, SIG_SIGNIFICANT, NULL);
	if (sig == NULL || r == NULL || s == NULL || !ECDSA_SIG_set0 (sig, r, s)) {
		BN_free (r);
		BN_free (s);
		return ac_sev_openssl_error (error, AC_ERROR_INTERNAL,
		                             "building the ECDSA signature");
	}
	derlen = i2d_ECDSA_SIG (sig, &der);
	if (derlen <= 0)
		return ac_sev_openssl_error (error, AC_ERROR_INTERNAL,
		                             "encoding the ECDSA signature");
	mctx = EVP_MD_CTX_new ();
	ok = mctx != NULL
	     && EVP_DigestVerifyInit_ex (mctx, NULL, "SHA384", NULL, NULL, vcek_pub, NULL) == 1
	     && EVP_DigestVerify (mctx, der, (size_t)derlen, raw, AC_SNP_REPORT_SIGNED_SIZE) == 1;
	OPENSSL_free (der);
	ERR_clear_error ();
	if (!ok) {
		g_set_error_literal (
		    error, AC_ERROR, AC_ERROR_UNTRUSTED,
		    "SNP report signature does not verify with the VCEK (ECDSA P-384 "
		    "SHA-384 over bytes 0x000-0x29f)");
		return FALSE;
	}
	return TRUE;
}

/* ---- constant-time checks -------------------------------------------------------- */

static gboolean
check_ct (const guint8 *have, const guint8 *want, gsize len, const gchar *field, GError **error)
{
	g_autofree gchar *h = NULL;
	g_autofree gchar *w = NULL;

	if (CRYPTO_memcmp (have, want, len) == 0)
		return TRUE;
	h = ac_codec_hex_encode (have, len);
	w = ac_codec_hex_encode (want, len);
	g_set_error (error, AC_ERROR, AC_ERROR_MISMATCH, "SNP report: %s is %s, expected %s", field,
	             h, w);
	return FALSE;
}

gboolean
ac_snp_report_check_measurement (const AcSnpReport *report,
                                 const guint8 expected[AC_SNP_MEASUREMENT_SIZE],
                                 GError **error)
{
	g_return_val_if_fail (report != NULL && expected != NULL, FALSE);
	return check_ct (report->raw + OFF_MEASUREMENT, expected, AC_SNP_MEASUREMENT_SIZE,
	                 "MEASUREMENT", error);
}

gboolean
ac_snp_report_check_report_data (const AcSnpReport *report,
                                 const guint8 expected[AC_SNP_REPORT_DATA_SIZE],
                                 GError **error)
{
	g_return_val_if_fail (report != NULL && expected != NULL, FALSE);
	return check_ct (report->raw + OFF_REPORT_DATA, expected, AC_SNP_REPORT_DATA_SIZE,
	                 "REPORT_DATA", error);
}

/* ---- renderings ------------------------------------------------------------------ */

/* the product TCBs are decoded with: the report's, else @given */
static AcSnpProduct
render_product (const AcSnpReport *r, AcSnpProduct given)
{
	return r->product != AC_SNP_PRODUCT_UNKNOWN ? r->product : given;
}

static const gchar *
product_source (const AcSnpReport *r, AcSnpProduct given)
{
	if (r->product != AC_SNP_PRODUCT_UNKNOWN)
		return "report";
	return given != AC_SNP_PRODUCT_UNKNOWN ? "given" : "unknown";
}

typedef struct {
	GString *s;
	gboolean first;
} Json;

static void
json_key (Json *j, const gchar *key)
{
	g_string_append_printf (j->s, "%s\n  \"%s\" : ", j->first ? "" : ",", key);
	j->first = FALSE;
}

static void
json_uint (Json *j, const gchar *key, guint64 v)
{
	json_key (j, key);
	g_string_append_printf (j->s, "%" G_GUINT64_FORMAT, v);
}

static void
json_str (Json *j, const gchar *key, const gchar *v)
{
	/* only our own names and hex digits: nothing to escape */
	json_key (j, key);
	g_string_append_printf (j->s, "\"%s\"", v);
}

static void
json_bool (Json *j, const gchar *key, gboolean v)
{
	json_key (j, key);
	g_string_append (j->s, v ? "true" : "false");
}

static void
json_u64 (Json *j, const gchar *key, guint64 v)
{
	g_autofree gchar *t = g_strdup_printf ("0x%" G_GINT64_MODIFIER "x", v);
	json_str (j, key, t);
}

static void
json_hex (Json *j, const gchar *key, const guint8 *p, gsize len)
{
	g_autofree gchar *h = ac_codec_hex_encode (p, len);
	json_str (j, key, h);
}

static void
json_tcb (Json *j, const AcSnpReport *r, AcSnpTcbKind kind, AcSnpProduct product)
{
	AcSnpTcb tcb;

	json_key (j, ac_snp_tcb_kind_to_string (kind));
	g_string_append_printf (j->s, "{ \"raw\" : \"0x%016" G_GINT64_MODIFIER "x\"", r->tcb[kind]);
	if (product != AC_SNP_PRODUCT_UNKNOWN
	    && ac_snp_tcb_decode (r->tcb[kind], product, "tcb", &tcb, NULL)) {
		if (product == AC_SNP_PRODUCT_TURIN)
			g_string_append_printf (j->s, ", \"fmc\" : %u", tcb.fmc);
		g_string_append_printf (j->s,
		                        ", \"bootloader\" : %u, \"tee\" : %u, \"snp\" : %u, "
		                        "\"microcode\" : %u",
		                        tcb.bootloader, tcb.tee, tcb.snp, tcb.microcode);
	}
	g_string_append (j->s, " }");
}

gchar *
ac_snp_report_to_json (const AcSnpReport *r, AcSnpProduct given)
{
	Json j = { g_string_new ("{"), TRUE };
	AcSnpProduct product = render_product (r, given);
	g_autofree gchar *platform = ac_snp_platform_info_to_names (r->platform_info);
	g_autofree gchar *policy = ac_snp_policy_to_names (r->policy);
	g_autofree gchar *cur
	    = g_strdup_printf ("%u.%u.%u", r->current_major, r->current_minor, r->current_build);
	g_autofree gchar *com = g_strdup_printf ("%u.%u.%u", r->committed_major, r->committed_minor,
	                                         r->committed_build);

	json_uint (&j, "version", r->version);
	json_uint (&j, "guest_svn", r->guest_svn);
	json_u64 (&j, "policy", r->policy);
	json_str (&j, "policy_flags", policy);
	json_hex (&j, "family_id", r->family_id, sizeof r->family_id);
	json_hex (&j, "image_id", r->image_id, sizeof r->image_id);
	json_uint (&j, "vmpl", r->vmpl);
	json_uint (&j, "signature_algo", r->signature_algo);
	json_tcb (&j, r, AC_SNP_TCB_CURRENT, product);
	json_u64 (&j, "platform_info", r->platform_info);
	json_str (&j, "platform_info_flags", platform);
	json_uint (&j, "key_info", r->key_info);
	json_bool (&j, "author_key_en", r->author_key_en);
	json_bool (&j, "mask_chip_key", r->mask_chip_key);
	json_str (&j, "signing_key", ac_snp_signing_key_to_string (r->signing_key));
	json_hex (&j, "report_data", r->report_data, sizeof r->report_data);
	json_hex (&j, "measurement", r->measurement, sizeof r->measurement);
	json_hex (&j, "host_data", r->host_data, sizeof r->host_data);
	json_hex (&j, "id_key_digest", r->id_key_digest, sizeof r->id_key_digest);
	json_hex (&j, "author_key_digest", r->author_key_digest, sizeof r->author_key_digest);
	json_hex (&j, "report_id", r->report_id, sizeof r->report_id);
	json_hex (&j, "report_id_ma", r->report_id_ma, sizeof r->report_id_ma);
	json_tcb (&j, r, AC_SNP_TCB_REPORTED, product);
	json_uint (&j, "cpuid_fam_id", r->cpuid_fam_id);
	json_uint (&j, "cpuid_mod_id", r->cpuid_mod_id);
	json_uint (&j, "cpuid_step", r->cpuid_step);
	json_str (&j, "product", ac_snp_product_to_string (product));
	json_str (&j, "product_source", product_source (r, given));
	json_hex (&j, "chip_id", r->chip_id, sizeof r->chip_id);
	json_tcb (&j, r, AC_SNP_TCB_COMMITTED, product);
	json_str (&j, "current_version", cur);
	json_uint (&j, "current_major", r->current_major);
	json_uint (&j, "current_minor", r->current_minor);
	json_uint (&j, "current_build", r->current_build);
	json_str (&j, "committed_version", com);
	json_uint (&j, "committed_major", r->committed_major);
	json_uint (&j, "committed_minor", r->committed_minor);
	json_uint (&j, "committed_build", r->committed_build);
	json_tcb (&j, r, AC_SNP_TCB_LAUNCH, product);
	json_u64 (&j, "launch_mit_vector", r->launch_mit_vector);
	json_u64 (&j, "current_mit_vector", r->current_mit_vector);
	json_hex (&j, "signature_r", r->signature_r, sizeof r->signature_r);
	json_hex (&j, "signature_s", r->signature_s, sizeof r->signature_s);
	g_string_append (j.s, "\n}");
	return g_string_free (j.s, FALSE);
}

static void
text_line (GString *s, const gchar *name, const gchar *fmt, ...) G_GNUC_PRINTF (3, 4);

static void
text_line (GString *s, const gchar *name, const gchar *fmt, ...)
{
	va_list ap;
	g_string_append_printf (s, "%-20s ", name);
	va_start (ap, fmt);
	g_string_append_vprintf (s, fmt, ap);
	va_end (ap);
	g_string_append_c (s, '\n');
}

static void
text_hex (GString *s, const gchar *name, const guint8 *p, gsize len)
{
	g_autofree gchar *h = ac_codec_hex_encode (p, len);
	text_line (s, name, "%s", h);
}

static void
text_tcb (GString *s, const AcSnpReport *r, AcSnpTcbKind kind, AcSnpProduct product)
{
	AcSnpTcb tcb;
	g_autofree gchar *parts = NULL;

	if (product != AC_SNP_PRODUCT_UNKNOWN
	    && ac_snp_tcb_decode (r->tcb[kind], product, "tcb", &tcb, NULL))
		parts = ac_snp_tcb_to_string (&tcb, product);
	else if (product != AC_SNP_PRODUCT_UNKNOWN)
		parts = g_strdup_printf ("(a reserved byte is set for %s)",
		                         ac_snp_product_to_string (product));
	else
		parts = g_strdup ("(not decoded: the product is not known)");
	text_line (s, ac_snp_tcb_kind_to_string (kind), "0x%016" G_GINT64_MODIFIER "x %s",
	           r->tcb[kind], parts);
}

gchar *
ac_snp_report_to_text (const AcSnpReport *r, AcSnpProduct given)
{
	g_autoptr (GString) s = g_string_new (NULL);
	AcSnpProduct product = render_product (r, given);
	g_autofree gchar *platform = ac_snp_platform_info_to_names (r->platform_info);
	g_autofree gchar *policy = ac_snp_policy_to_names (r->policy);

	text_line (s, "version", "%u", r->version);
	text_line (s, "guest_svn", "%u", r->guest_svn);
	text_line (s, "policy", "0x%" G_GINT64_MODIFIER "x %s", r->policy, policy);
	text_hex (s, "family_id", r->family_id, sizeof r->family_id);
	text_hex (s, "image_id", r->image_id, sizeof r->image_id);
	text_line (s, "vmpl", "%u", r->vmpl);
	text_line (s, "signature_algo", "%u (ECDSA P-384 SHA-384)", r->signature_algo);
	text_line (s, "platform_info", "0x%" G_GINT64_MODIFIER "x %s", r->platform_info, platform);
	text_line (s, "key_info", "0x%x signing_key=%s author_key_en=%u mask_chip_key=%u",
	           r->key_info, ac_snp_signing_key_to_string (r->signing_key), r->author_key_en,
	           r->mask_chip_key);
	text_hex (s, "report_data", r->report_data, sizeof r->report_data);
	text_hex (s, "measurement", r->measurement, sizeof r->measurement);
	text_hex (s, "host_data", r->host_data, sizeof r->host_data);
	text_hex (s, "id_key_digest", r->id_key_digest, sizeof r->id_key_digest);
	text_hex (s, "author_key_digest", r->author_key_digest, sizeof r->author_key_digest);
	text_hex (s, "report_id", r->report_id, sizeof r->report_id);
	text_hex (s, "report_id_ma", r->report_id_ma, sizeof r->report_id_ma);
	if (r->version >= 3)
		text_line (s, "cpuid", "family 0x%02x model 0x%02x stepping 0x%02x",
		           r->cpuid_fam_id, r->cpuid_mod_id, r->cpuid_step);
	else
		text_line (s, "cpuid", "(not in a version %u report)", r->version);
	if (product == AC_SNP_PRODUCT_UNKNOWN)
		text_line (s, "product", "unknown (not named by the report, not given)");
	else
		text_line (s, "product", "%s (%s)", ac_snp_product_to_string (product),
		           r->product != AC_SNP_PRODUCT_UNKNOWN ? "from the report's CPUID"
		                                                : "given");
	text_hex (s, "chip_id", r->chip_id, sizeof r->chip_id);
	for (guint k = 0; k < AC_SNP_TCB_N_KINDS; k++)
		text_tcb (s, r, (AcSnpTcbKind)k, product);
	text_line (s, "current_version", "%u.%u.%u", r->current_major, r->current_minor,
	           r->current_build);
	text_line (s, "committed_version", "%u.%u.%u", r->committed_major, r->committed_minor,
	           r->committed_build);
	if (r->version >= 5) {
		text_line (s, "launch_mit_vector", "0x%016" G_GINT64_MODIFIER "x",
		           r->launch_mit_vector);
		text_line (s, "current_mit_vector", "0x%016" G_GINT64_MODIFIER "x",
		           r->current_mit_vector);
	}
	text_hex (s, "signature_r", r->signature_r, sizeof r->signature_r);
	text_hex (s, "signature_s", r->signature_s, sizeof r->signature_s);
	return g_string_free (g_steal_pointer (&s), FALSE);
}

/* ---- builder --------------------------------------------------------------------- */

static void
encode_fields (const AcSnpReport *r, guint8 *raw)
{
	guint32 key_info = (r->author_key_en ? 1u : 0u) | (r->mask_chip_key ? 2u : 0u)
	                   | (((guint32)r->signing_key & 7u) << 2);

	memset (raw, 0, AC_SNP_REPORT_SIZE);
	ac_sev_put_le32 (raw + OFF_VERSION, r->version);
	ac_sev_put_le32 (raw + OFF_GUEST_SVN, r->guest_svn);
	put_le64 (raw + OFF_POLICY, r->policy);
	memcpy (raw + OFF_FAMILY_ID, r->family_id, sizeof r->family_id);
	memcpy (raw + OFF_IMAGE_ID, r->image_id, sizeof r->image_id);
	ac_sev_put_le32 (raw + OFF_VMPL, r->vmpl);
	ac_sev_put_le32 (raw + OFF_SIG_ALGO, r->signature_algo);
	for (guint k = 0; k < AC_SNP_TCB_N_KINDS; k++)
		put_le64 (raw + tcb_offsets[k], r->tcb[k]);
	put_le64 (raw + OFF_PLATFORM_INFO, r->platform_info);
	ac_sev_put_le32 (raw + OFF_KEY_INFO, key_info);
	memcpy (raw + OFF_REPORT_DATA, r->report_data, sizeof r->report_data);
	memcpy (raw + OFF_MEASUREMENT, r->measurement, sizeof r->measurement);
	memcpy (raw + OFF_HOST_DATA, r->host_data, sizeof r->host_data);
	memcpy (raw + OFF_ID_KEY_DIGEST, r->id_key_digest, sizeof r->id_key_digest);
	memcpy (raw + OFF_AUTHOR_KEY_DIGEST, r->author_key_digest, sizeof r->author_key_digest);
	memcpy (raw + OFF_REPORT_ID, r->report_id, sizeof r->report_id);
	memcpy (raw + OFF_REPORT_ID_MA, r->report_id_ma, sizeof r->report_id_ma);
	raw[OFF_CPUID_FAM] = r->cpuid_fam_id;
	raw[OFF_CPUID_MOD] = r->cpuid_mod_id;
	raw[OFF_CPUID_STEP] = r->cpuid_step;
	memcpy (raw + OFF_CHIP_ID, r->chip_id, sizeof r->chip_id);
	raw[OFF_CURRENT_BUILD] = r->current_build;
	raw[OFF_CURRENT_MINOR] = r->current_minor;
	raw[OFF_CURRENT_MAJOR] = r->current_major;
	raw[OFF_COMMITTED_BUILD] = r->committed_build;
	raw[OFF_COMMITTED_MINOR] = r->committed_minor;
	raw[OFF_COMMITTED_MAJOR] = r->committed_major;
	put_le64 (raw + OFF_LAUNCH_MIT, r->launch_mit_vector);
	put_le64 (raw + OFF_CURRENT_MIT, r->current_mit_vector);
}

gboolean
ac_snp_report_build (AcSnpReport *report, GError **error)
{
	g_autofree guint8 *raw = g_malloc0 (AC_SNP_REPORT_SIZE);

	g_return_val_if_fail (report != NULL, FALSE);
	encode_fields (report, raw);
	return decode_checked (raw, report, error);
}

gboolean
ac_snp_report_sign (AcSnpReport *report, EVP_PKEY *key, GError **error)
{
	guint8 sig[2 * SIG_COMPONENT_SIZE];
	AcSnpReport check;

	g_return_val_if_fail (report != NULL, FALSE);
	if (!key_is_p384 (key)) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		                     "SNP report signing: the key is not an EC P-384 key");
		return FALSE;
	}
	/* the bytes to sign must be a report a parser accepts */
	memset (report->raw + OFF_SIG_R, 0, AC_SNP_REPORT_SIZE - OFF_SIG_R);
	if (!ac_snp_report_parse (report->raw, AC_SNP_REPORT_SIZE, &check, error))
		return FALSE;
	if (check.signing_key == AC_SNP_SIGNING_KEY_NONE) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		                     "SNP report signing: KEY_INFO.SIGNING_KEY is 7 (none)");
		return FALSE;
	}
	if (!ac_sev_ecdsa_sign_le (key, "SHA384", report->raw, AC_SNP_REPORT_SIGNED_SIZE, sig,
	                           error))
		return FALSE;
	memcpy (report->raw + OFF_SIG_R, sig, SIG_COMPONENT_SIZE);
	memcpy (report->raw + OFF_SIG_S, sig + SIG_COMPONENT_SIZE, SIG_COMPONENT_SIZE);
	memcpy (report->signature_r, sig, SIG_COMPONENT_SIZE);
	memcpy (report->signature_s, sig + SIG_COMPONENT_SIZE, SIG_COMPONENT_SIZE);
	return TRUE;
}
