/*
 * Aleph's attested TLS for SEV-SNP: REPORT_DATA bindings, the agent certificate's report
 * extension (strict parser and builder).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <string.h>

#include "ac-codec.h"
#include "ac-error.h"
#include "ac-json.h"
#include "ac-sev-ossl-private.h"
#include "ac-snp-chain-private.h"
#include "ac-snp-ratls.h"

#define RATLS_JSON_MAX 8192
#define RATLS_CN "rcgen self signed cert"

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ASN1_OBJECT, ASN1_OBJECT_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (ASN1_OCTET_STRING, ASN1_OCTET_STRING_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (X509_EXTENSION, X509_EXTENSION_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (X509_NAME, X509_NAME_free)

static gboolean
check_pk_raw (const guint8 *pk_raw, gsize pk_len, GError **error)
{
	if (pk_raw == NULL || pk_len != AC_SNP_RATLS_PK_RAW_SIZE || pk_raw[0] != 0x04) {
		g_set_error (
		    error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		    "TLS public key: %" G_GSIZE_FORMAT " bytes starting 0x%02x, expected the "
		    "%d-byte uncompressed P-384 point (04 ‖ X ‖ Y)",
		    pk_raw != NULL ? pk_len : 0, pk_raw != NULL && pk_len > 0 ? pk_raw[0] : 0,
		    AC_SNP_RATLS_PK_RAW_SIZE);
		return FALSE;
	}
	return TRUE;
}

/* SHA-384 (@domain ‖ 0x00 ‖ @a ‖ @b) ‖ 0^16 */
static void
binding (const gchar *domain,
         const guint8 *a,
         gsize a_len,
         const guint8 *b,
         gsize b_len,
         guint8 out[AC_SNP_REPORT_DATA_SIZE])
{
	g_autoptr (EVP_MD_CTX) md = EVP_MD_CTX_new ();
	unsigned int n = 0;

	memset (out, 0, AC_SNP_REPORT_DATA_SIZE);
	if (md == NULL || EVP_DigestInit_ex (md, EVP_sha384 (), NULL) != 1
	    || EVP_DigestUpdate (md, domain, strlen (domain) + 1) != 1
	    || EVP_DigestUpdate (md, a, a_len) != 1
	    || (b_len > 0 && EVP_DigestUpdate (md, b, b_len) != 1)
	    || EVP_DigestFinal_ex (md, out, &n) != 1 || n != 48)
		g_error ("SHA-384 failed");
}

gboolean
ac_snp_ratls_key_binding (const guint8 *pk_raw,
                          gsize pk_len,
                          guint8 out[AC_SNP_REPORT_DATA_SIZE],
                          GError **error)
{
	if (!check_pk_raw (pk_raw, pk_len, error))
		return FALSE;
	binding (AC_SNP_RATLS_DOMAIN_TLS_KEY, pk_raw, pk_len, NULL, 0, out);
	return TRUE;
}

gboolean
ac_snp_ratls_fresh_binding (const guint8 *pk_raw,
                            gsize pk_len,
                            const guint8 *nonce,
                            gsize nonce_len,
                            guint8 out[AC_SNP_REPORT_DATA_SIZE],
                            GError **error)
{
	if (!check_pk_raw (pk_raw, pk_len, error))
		return FALSE;
	if (nonce == NULL || nonce_len == 0 || nonce_len > AC_SNP_RATLS_NONCE_MAX) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "nonce: %" G_GSIZE_FORMAT " bytes, expected 1 to %d",
		             nonce != NULL ? nonce_len : 0, AC_SNP_RATLS_NONCE_MAX);
		return FALSE;
	}
	binding (AC_SNP_RATLS_DOMAIN_FRESH, pk_raw, pk_len, nonce, nonce_len, out);
	return TRUE;
}

static gboolean
key_is_p384 (EVP_PKEY *key)
{
	gchar group[64] = "";
	return key != NULL && EVP_PKEY_get_base_id (key) == EVP_PKEY_EC
	       && EVP_PKEY_get_utf8_string_param (key, OSSL_PKEY_PARAM_GROUP_NAME, group,
	                                          sizeof group, NULL)
	              == 1
	       && strcmp (group, "secp384r1") == 0;
}

gboolean
ac_snp_ratls_pk_raw_from_key (EVP_PKEY *key, guint8 out[AC_SNP_RATLS_PK_RAW_SIZE], GError **error)
{
	gsize n = 0;

	if (!key_is_p384 (key)) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		                     "TLS key: not an EC P-384 key");
		return FALSE;
	}
	if (EVP_PKEY_get_octet_string_param (key, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, out,
	                                     AC_SNP_RATLS_PK_RAW_SIZE, &n)
	        != 1
	    || n != AC_SNP_RATLS_PK_RAW_SIZE || out[0] != 0x04) {
		ERR_clear_error ();
		g_set_error_literal (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		                     "TLS key: its public point is not 97 bytes uncompressed");
		return FALSE;
	}
	return TRUE;
}

void
ac_snp_ratls_cert_free (AcSnpRatlsCert *self)
{
	if (self == NULL)
		return;
	g_clear_pointer (&self->spki_der, g_bytes_unref);
	g_free (self);
}

static gboolean
fail (GError **error, const gchar *fmt, ...) G_GNUC_PRINTF (2, 3);

static gboolean
fail (GError **error, const gchar *fmt, ...)
{
	va_list ap;
	g_autofree gchar *msg = NULL;

	ERR_clear_error ();
	va_start (ap, fmt);
	msg = g_strdup_vprintf (fmt, ap);
	va_end (ap);
	g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT, "agent certificate: %s", msg);
	return FALSE;
}

/**
 * ac_snp_ratls_parse_report_json:
 * @what: names the JSON in errors (e.g. "agent certificate: report extension")
 * @code: the #AcError of every refusal
 * @data_what: names the hex data in the error of its decoding
 * @max: the most bytes @json may have
 *
 * The agent's report as JSON, in its certificate and in a fresh report:
 * {"tee_type":"sev-snp","data":"<2368 lowercase hex>"} (an early agent's unsigned copies
 * "report_data" and "measurement" ignored). Fills @report with the decoded bytes, neither
 * parsed nor verified.
 */
gboolean
ac_snp_ratls_parse_report_json (const gchar *what,
                                AcError code,
                                const gchar *data_what,
                                const gchar *json,
                                gsize len,
                                gsize max,
                                guint8 report[AC_SNP_REPORT_SIZE],
                                GError **error)
{
	static const gchar *const allowed[]
	    = { "tee_type", "data", "report_data", "measurement", NULL };
	const AcJsonScope scope = { what, code };
	g_autoptr (JsonNode) root = NULL;
	g_autofree gchar *tee_type = NULL;
	g_autofree gchar *data = NULL;
	g_autoptr (GError) local_error = NULL;
	JsonObject *o;

	root = ac_json_parse_bounded (what, json, len, max, code, error);
	if (root == NULL)
		return FALSE;
	if (!JSON_NODE_HOLDS_OBJECT (root)) {
		g_set_error (error, AC_ERROR, code, "%s: JSON %s, expected an object", what,
		             ac_json_type_name (root));
		return FALSE;
	}
	o = json_node_get_object (root);
	if (!ac_json_check_members (&scope, o, NULL, allowed, error)
	    || !ac_json_read_string (&scope, o, NULL, "tee_type", TRUE, 64, &tee_type, error)
	    || !ac_json_read_string (&scope, o, NULL, "data", TRUE, 2 * AC_SNP_REPORT_SIZE, &data,
	                             error))
		return FALSE;
	if (strcmp (tee_type, "sev-snp") != 0) {
		g_set_error (error, AC_ERROR, code, "%s: tee_type \"%.64s\", expected \"sev-snp\"",
		             what, tee_type);
		return FALSE;
	}
	if (strlen (data) != 2 * AC_SNP_REPORT_SIZE) {
		g_set_error (error, AC_ERROR, code,
		             "%s: data of %" G_GSIZE_FORMAT
		             " hex digits, expected %d (a %d-byte report)",
		             what, strlen (data), 2 * AC_SNP_REPORT_SIZE, AC_SNP_REPORT_SIZE);
		return FALSE;
	}
	if (!ac_codec_hex_decode_fixed (data_what, data, AC_CODEC_HEX_LOWER, report,
	                                AC_SNP_REPORT_SIZE, &local_error)) {
		/* the codec's message, in the caller's class */
		g_set_error_literal (error, AC_ERROR, code, local_error->message);
		return FALSE;
	}
	return TRUE;
}

static gboolean
parse_extension (X509 *x, guint8 *report, GError **error)
{
	g_autoptr (ASN1_OBJECT) oid = OBJ_txt2obj (AC_SNP_RATLS_OID, 1);
	g_autoptr (ASN1_OCTET_STRING) inner = NULL;
	X509_EXTENSION *ext = NULL;
	const ASN1_OCTET_STRING *value;
	const unsigned char *p;
	guint found = 0;

	if (oid == NULL)
		return fail (error, "OpenSSL does not know the OID %s", AC_SNP_RATLS_OID);
	for (int i = 0; i < X509_get_ext_count (x); i++) {
		X509_EXTENSION *e = X509_get_ext (x, i);
		if (OBJ_cmp (X509_EXTENSION_get_object (e), oid) == 0) {
			ext = e;
			found++;
		}
	}
	if (found != 1)
		return fail (error, "%u report extensions (%s), expected exactly one", found,
		             AC_SNP_RATLS_OID);
	if (X509_EXTENSION_get_critical (ext))
		return fail (error, "the report extension is marked critical, expected not");
	value = X509_EXTENSION_get_data (ext);
	p = ASN1_STRING_get0_data (value);
	inner = d2i_ASN1_OCTET_STRING (NULL, &p, ASN1_STRING_length (value));
	if (inner == NULL || p != ASN1_STRING_get0_data (value) + ASN1_STRING_length (value))
		return fail (error, "the report extension's value is not one DER OCTET STRING%s",
		             inner != NULL ? " (trailing bytes)" : "");
	if (!ac_snp_ratls_parse_report_json (
	        "agent certificate: report extension", AC_ERROR_INVALID_INPUT,
	        "agent certificate: report extension data",
	        (const gchar *)ASN1_STRING_get0_data (inner), ASN1_STRING_length (inner),
	        RATLS_JSON_MAX, report, error)) {
		ERR_clear_error ();
		return FALSE;
	}
	return TRUE;
}

AcSnpRatlsCert *
ac_snp_ratls_cert_parse (const guint8 *der, gsize len, GError **error)
{
	g_autoptr (AcSnpRatlsCert) self = NULL;
	g_autoptr (X509) x = NULL;
	const unsigned char *p = der;
	const ASN1_BIT_STRING *bits;
	EVP_PKEY *key;
	unsigned char *spki = NULL;
	int spki_len;

	if (der == NULL || len == 0 || len > AC_SNP_RATLS_CERT_MAX) {
		fail (error, "%" G_GSIZE_FORMAT " bytes, expected 1 to %d", der != NULL ? len : 0,
		      AC_SNP_RATLS_CERT_MAX);
		return NULL;
	}
	x = d2i_X509 (NULL, &p, (long)len);
	if (x == NULL || p != der + len) {
		fail (error, "not one DER X.509 certificate%s",
		      x != NULL ? " (trailing bytes)" : "");
		return NULL;
	}
	key = X509_get0_pubkey (x);
	if (!key_is_p384 (key)) {
		fail (error, "the key is not EC P-384");
		return NULL;
	}
	if (X509_get_signature_nid (x) != NID_ecdsa_with_SHA384) {
		fail (error, "signed with %s, expected ecdsa-with-SHA384",
		      OBJ_nid2sn (X509_get_signature_nid (x)));
		return NULL;
	}
	if (X509_verify (x, key) != 1) {
		fail (error, "its self-signature does not verify with its own key");
		return NULL;
	}
	bits = X509_get0_pubkey_bitstr (x);
	if (bits == NULL || ASN1_STRING_length (bits) != AC_SNP_RATLS_PK_RAW_SIZE
	    || ASN1_STRING_get0_data (bits)[0] != 0x04) {
		fail (error, "its subjectPublicKey is not a %d-byte uncompressed point",
		      AC_SNP_RATLS_PK_RAW_SIZE);
		return NULL;
	}
	self = g_new0 (AcSnpRatlsCert, 1);
	memcpy (self->pk_raw, ASN1_STRING_get0_data (bits), AC_SNP_RATLS_PK_RAW_SIZE);
	if (!parse_extension (x, self->report, error))
		return NULL;
	spki_len = i2d_X509_PUBKEY (X509_get_X509_PUBKEY (x), &spki);
	if (spki_len <= 0) {
		fail (error, "its SubjectPublicKeyInfo does not encode");
		return NULL;
	}
	self->spki_der = g_bytes_new (spki, (gsize)spki_len);
	OPENSSL_free (spki);
	if (!ac_snp_ratls_key_binding (self->pk_raw, sizeof self->pk_raw, self->key_binding, error))
		return NULL;
	return g_steal_pointer (&self);
}

EVP_PKEY *
ac_snp_ratls_key_generate (GError **error)
{
	EVP_PKEY *key = EVP_EC_gen ("P-384");
	if (key == NULL) {
		ERR_clear_error ();
		g_set_error_literal (error, AC_ERROR, AC_ERROR_INTERNAL,
		                     "generating an EC P-384 key failed");
	}
	return key;
}

static gboolean
build_fail (GError **error, const gchar *what)
{
	ERR_clear_error ();
	g_set_error (error, AC_ERROR, AC_ERROR_INTERNAL, "building the agent certificate: %s",
	             what);
	return FALSE;
}

GBytes *
ac_snp_ratls_cert_build (EVP_PKEY *key, const guint8 *report, gsize report_len, GError **error)
{
	g_autoptr (X509) x = NULL;
	g_autoptr (X509_NAME) name = NULL;
	g_autoptr (ASN1_OBJECT) oid = NULL;
	g_autoptr (ASN1_OCTET_STRING) inner = NULL;
	g_autoptr (ASN1_OCTET_STRING) value = NULL;
	g_autoptr (X509_EXTENSION) ext = NULL;
	g_autoptr (X509_EXTENSION) san = NULL;
	g_autofree gchar *hex = NULL;
	g_autofree gchar *json = NULL;
	unsigned char *inner_der = NULL;
	unsigned char *der = NULL;
	int inner_len, len;
	X509V3_CTX ctx;
	GBytes *out;

	if (report == NULL || report_len != AC_SNP_REPORT_SIZE) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "agent certificate: a report of %" G_GSIZE_FORMAT
		             " bytes, expected %d",
		             report != NULL ? report_len : 0, AC_SNP_REPORT_SIZE);
		return NULL;
	}
	if (!key_is_p384 (key)) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		                     "agent certificate: the key is not EC P-384");
		return NULL;
	}
	x = X509_new ();
	name = X509_NAME_new ();
	if (x == NULL || name == NULL || X509_set_version (x, X509_VERSION_3) != 1
	    || ASN1_INTEGER_set (X509_get_serialNumber (x), 1) != 1
	    || X509_NAME_add_entry_by_txt (name, "CN", MBSTRING_UTF8,
	                                   (const unsigned char *)RATLS_CN, -1, -1, 0)
	           != 1
	    || X509_set_subject_name (x, name) != 1 || X509_set_issuer_name (x, name) != 1
	    || ASN1_TIME_set_string (X509_getm_notBefore (x), "750101000000Z") != 1
	    || ASN1_TIME_set_string (X509_getm_notAfter (x), "40960101000000Z") != 1
	    || X509_set_pubkey (x, key) != 1) {
		build_fail (error, "its fields");
		return NULL;
	}
	X509V3_set_ctx (&ctx, x, x, NULL, NULL, 0);
	san = X509V3_EXT_conf_nid (NULL, &ctx, NID_subject_alt_name, "DNS:localhost");
	if (san == NULL || X509_add_ext (x, san, -1) != 1) {
		build_fail (error, "its subjectAltName");
		return NULL;
	}
	hex = ac_codec_hex_encode (report, report_len);
	json = g_strdup_printf ("{\"tee_type\":\"sev-snp\",\"data\":\"%s\"}", hex);
	inner = ASN1_OCTET_STRING_new ();
	value = ASN1_OCTET_STRING_new ();
	oid = OBJ_txt2obj (AC_SNP_RATLS_OID, 1);
	if (inner == NULL || value == NULL || oid == NULL
	    || ASN1_OCTET_STRING_set (inner, (const unsigned char *)json, (int)strlen (json)) != 1
	    || (inner_len = i2d_ASN1_OCTET_STRING (inner, &inner_der)) <= 0) {
		build_fail (error, "its report extension");
		return NULL;
	}
	if (ASN1_OCTET_STRING_set (value, inner_der, inner_len) != 1) {
		OPENSSL_free (inner_der);
		build_fail (error, "its report extension");
		return NULL;
	}
	OPENSSL_free (inner_der);
	ext = X509_EXTENSION_create_by_OBJ (NULL, oid, 0, value);
	if (ext == NULL || X509_add_ext (x, ext, -1) != 1) {
		build_fail (error, "its report extension");
		return NULL;
	}
	if (X509_sign (x, key, EVP_sha384 ()) <= 0) {
		build_fail (error, "signing it");
		return NULL;
	}
	len = i2d_X509 (x, &der);
	if (len <= 0) {
		build_fail (error, "encoding it");
		return NULL;
	}
	out = g_bytes_new (der, (gsize)len);
	OPENSSL_free (der);
	return out;
}
