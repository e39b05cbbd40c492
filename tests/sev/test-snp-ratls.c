/*
 * Aleph's attested TLS for SEV-SNP: the REPORT_DATA bindings and the agent certificate, against
 * the synthetic Aleph vectors (tests/data/snp/aleph-synthetic), and every refusal of the parser.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <json-glib/json-glib.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <string.h>

#include "ac-codec.h"
#include "ac-error.h"
#include "ac-snp-chain-private.h"
#include "ac-snp-ratls.h"
#include "test-snp-common.h"

G_DEFINE_AUTOPTR_CLEANUP_FUNC (EVP_PKEY, EVP_PKEY_free)

static JsonObject *vectors;

static GByteArray *
vec_hex (const gchar *member)
{
	g_autoptr (GError) error = NULL;
	GByteArray *b = ac_codec_hex_decode (
	    member, json_object_get_string_member (vectors, member), AC_CODEC_HEX_DEFAULT, &error);
	g_assert_no_error (error);
	return b;
}

static EVP_PKEY *
synthetic_key (void)
{
	g_autoptr (GBytes) pem = snp_test_load ("aleph-synthetic", "ratls_key_synthetic.pem");
	BIO *bio = BIO_new_mem_buf (g_bytes_get_data (pem, NULL), (int)g_bytes_get_size (pem));
	EVP_PKEY *key = PEM_read_bio_PrivateKey (bio, NULL, NULL, NULL);
	BIO_free (bio);
	g_assert_nonnull (key);
	return key;
}

static void
test_bindings (void)
{
	g_autoptr (GByteArray) pk = vec_hex ("tls_public_key_raw");
	g_autoptr (GByteArray) bound = vec_hex ("key_bound_report_data");
	g_autoptr (GByteArray) fresh = vec_hex ("fresh_report_data");
	g_autoptr (GByteArray) nonce = vec_hex ("fresh_nonce");
	g_autoptr (GByteArray) legacy = vec_hex ("key_bound_report_data_WRONG_legacy_aleph_cvm");
	g_autoptr (GError) error = NULL;
	guint8 out[AC_SNP_REPORT_DATA_SIZE];
	guint8 legacy_hash[48];
	gsize n = sizeof legacy_hash;
	GChecksum *c;

	g_assert_cmpuint (pk->len, ==, AC_SNP_RATLS_PK_RAW_SIZE);
	g_assert_true (ac_snp_ratls_key_binding (pk->data, pk->len, out, &error));
	g_assert_no_error (error);
	g_assert_cmpmem (out, sizeof out, bound->data, bound->len);

	g_assert_cmpuint (nonce->len, ==, AC_SNP_RATLS_NONCE_SIZE);
	g_assert_true (
	    ac_snp_ratls_fresh_binding (pk->data, pk->len, nonce->data, nonce->len, out, &error));
	g_assert_no_error (error);
	g_assert_cmpmem (out, sizeof out, fresh->data, fresh->len);

	/* the insecure scheme of the prototype agent (SHA-384 of the key alone) is not ours */
	c = g_checksum_new (G_CHECKSUM_SHA384);
	g_checksum_update (c, pk->data, pk->len);
	g_checksum_get_digest (c, legacy_hash, &n);
	g_checksum_free (c);
	g_assert_cmpmem (legacy_hash, 48, legacy->data, 48);
	g_assert_true (ac_snp_ratls_key_binding (pk->data, pk->len, out, NULL));
	g_assert_true (memcmp (out, legacy->data, 48) != 0);

	/* one nonce byte more or different: another binding */
	nonce->data[31] ^= 1;
	g_assert_true (
	    ac_snp_ratls_fresh_binding (pk->data, pk->len, nonce->data, nonce->len, out, NULL));
	g_assert_true (memcmp (out, fresh->data, 64) != 0);
}

static void
test_bindings_refuse (void)
{
	g_autoptr (GByteArray) pk = vec_hex ("tls_public_key_raw");
	guint8 nonce[AC_SNP_RATLS_NONCE_MAX + 1] = { 0 };
	guint8 out[AC_SNP_REPORT_DATA_SIZE];
	GError *error = NULL;

	g_assert_false (ac_snp_ratls_key_binding (pk->data, pk->len - 1, out, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
	g_assert_nonnull (strstr (error->message, "96 bytes"));
	g_clear_error (&error);
	pk->data[0] = 0x02; /* a compressed point is not what is bound */
	g_assert_false (ac_snp_ratls_key_binding (pk->data, pk->len, out, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
	g_clear_error (&error);
	pk->data[0] = 0x04;
	g_assert_false (ac_snp_ratls_fresh_binding (pk->data, pk->len, nonce, 0, out, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
	g_clear_error (&error);
	g_assert_false (
	    ac_snp_ratls_fresh_binding (pk->data, pk->len, nonce, sizeof nonce, out, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
	g_assert_nonnull (strstr (error->message, "65 bytes"));
	g_clear_error (&error);
	g_assert_true (ac_snp_ratls_fresh_binding (pk->data, pk->len, nonce, AC_SNP_RATLS_NONCE_MAX,
	                                           out, &error));
	g_assert_no_error (error);
}

static void
test_cert_synthetic (void)
{
	g_autoptr (GBytes) der = snp_test_load ("aleph-synthetic", "ratls_cert_synthetic.der");
	g_autoptr (GByteArray) pk = vec_hex ("tls_public_key_raw");
	g_autoptr (GByteArray) spki = vec_hex ("tls_spki_der");
	g_autoptr (GByteArray) bound = vec_hex ("key_bound_report_data");
	g_autoptr (AcSnpRatlsCert) cert = NULL;
	g_autoptr (EVP_PKEY) key = synthetic_key ();
	g_autoptr (GError) error = NULL;
	guint8 from_key[AC_SNP_RATLS_PK_RAW_SIZE];
	AcSnpReport report;

	cert = ac_snp_ratls_cert_parse (g_bytes_get_data (der, NULL), g_bytes_get_size (der),
	                                &error);
	g_assert_no_error (error);
	g_assert_nonnull (cert);
	g_assert_cmpmem (cert->pk_raw, sizeof cert->pk_raw, pk->data, pk->len);
	g_assert_cmpmem (g_bytes_get_data (cert->spki_der, NULL), g_bytes_get_size (cert->spki_der),
	                 spki->data, spki->len);
	g_assert_cmpmem (cert->key_binding, sizeof cert->key_binding, bound->data, bound->len);
	/* the report in the extension carries the key-bound REPORT_DATA and parses strictly */
	g_assert_true (ac_snp_report_parse (cert->report, sizeof cert->report, &report, &error));
	g_assert_no_error (error);
	g_assert_true (ac_snp_report_check_report_data (&report, cert->key_binding, &error));
	g_assert_no_error (error);
	/* the key file is the certificate's key */
	g_assert_true (ac_snp_ratls_pk_raw_from_key (key, from_key, &error));
	g_assert_no_error (error);
	g_assert_cmpmem (from_key, sizeof from_key, pk->data, pk->len);
}

/* the to-be-signed part of a certificate */
static GBytes *
tbs_of (const guint8 *der, gsize len)
{
	const unsigned char *p = der;
	g_autoptr (X509) x = d2i_X509 (NULL, &p, (long)len);
	unsigned char *tbs = NULL;
	int n;
	GBytes *b;
	g_assert_nonnull (x);
	n = i2d_re_X509_tbs (x, &tbs);
	g_assert_cmpint (n, >, 0);
	b = g_bytes_new (tbs, (gsize)n);
	OPENSSL_free (tbs);
	return b;
}

static void
test_cert_build (void)
{
	g_autoptr (GBytes) vector = snp_test_load ("aleph-synthetic", "ratls_cert_synthetic.der");
	g_autoptr (EVP_PKEY) key = synthetic_key ();
	g_autoptr (AcSnpRatlsCert) ref = ac_snp_ratls_cert_parse (g_bytes_get_data (vector, NULL),
	                                                          g_bytes_get_size (vector), NULL);
	g_autoptr (AcSnpRatlsCert) again = NULL;
	g_autoptr (GBytes) built = NULL;
	g_autoptr (GBytes) tbs_vector = NULL;
	g_autoptr (GBytes) tbs_built = NULL;
	g_autoptr (GError) error = NULL;
	g_autoptr (EVP_PKEY) fresh = NULL;

	g_assert_nonnull (ref);
	built = ac_snp_ratls_cert_build (key, ref->report, sizeof ref->report, &error);
	g_assert_no_error (error);
	/* what the Aleph agent signs, byte for byte (only the ECDSA signature differs) */
	tbs_vector = tbs_of (g_bytes_get_data (vector, NULL), g_bytes_get_size (vector));
	tbs_built = tbs_of (g_bytes_get_data (built, NULL), g_bytes_get_size (built));
	g_assert_true (g_bytes_equal (tbs_vector, tbs_built));
	again = ac_snp_ratls_cert_parse (g_bytes_get_data (built, NULL), g_bytes_get_size (built),
	                                 &error);
	g_assert_no_error (error);
	g_assert_cmpmem (again->report, sizeof again->report, ref->report, sizeof ref->report);
	g_assert_cmpmem (again->pk_raw, sizeof again->pk_raw, ref->pk_raw, sizeof ref->pk_raw);

	/* a fresh key: another TLS key, another binding */
	fresh = ac_snp_ratls_key_generate (&error);
	g_assert_no_error (error);
	g_clear_pointer (&built, g_bytes_unref);
	g_clear_pointer (&again, ac_snp_ratls_cert_free);
	built = ac_snp_ratls_cert_build (fresh, ref->report, sizeof ref->report, &error);
	g_assert_no_error (error);
	again = ac_snp_ratls_cert_parse (g_bytes_get_data (built, NULL), g_bytes_get_size (built),
	                                 &error);
	g_assert_no_error (error);
	g_assert_true (memcmp (again->key_binding, ref->key_binding, 64) != 0);

	/* refusals of the builder */
	g_assert_null (ac_snp_ratls_cert_build (key, ref->report, sizeof ref->report - 1, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
	g_clear_error (&error);
	{
		g_autoptr (EVP_PKEY) p256 = EVP_EC_gen ("P-256");
		g_assert_null (
		    ac_snp_ratls_cert_build (p256, ref->report, sizeof ref->report, &error));
		g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
	}
}

/* a hostile certificate: the report extension's extnValue content is @wrap (0: @json itself,
 * 1: a DER OCTET STRING of it, 2: that plus a trailing byte), @count copies, @critical */
static GBytes *
craft (EVP_PKEY *key,
       const gchar *json,
       gint wrap,
       guint count,
       gboolean critical,
       const EVP_MD *md)
{
	g_autoptr (X509) x = X509_new ();
	X509_NAME *name = X509_NAME_new ();
	ASN1_OBJECT *oid = OBJ_txt2obj (AC_SNP_RATLS_OID, 1);
	ASN1_OCTET_STRING *inner = ASN1_OCTET_STRING_new ();
	ASN1_OCTET_STRING *value = ASN1_OCTET_STRING_new ();
	unsigned char *buf = NULL;
	int n;
	unsigned char *der = NULL;
	GBytes *out;

	X509_set_version (x, X509_VERSION_3);
	ASN1_INTEGER_set (X509_get_serialNumber (x), 1);
	X509_NAME_add_entry_by_txt (name, "CN", MBSTRING_UTF8, (const unsigned char *)"t", -1, -1,
	                            0);
	X509_set_subject_name (x, name);
	X509_set_issuer_name (x, name);
	X509_NAME_free (name);
	ASN1_TIME_set_string (X509_getm_notBefore (x), "750101000000Z");
	ASN1_TIME_set_string (X509_getm_notAfter (x), "40960101000000Z");
	X509_set_pubkey (x, key);
	ASN1_OCTET_STRING_set (inner, (const unsigned char *)json, (int)strlen (json));
	if (wrap == 0) {
		ASN1_OCTET_STRING_set (value, (const unsigned char *)json, (int)strlen (json));
	} else {
		n = i2d_ASN1_OCTET_STRING (inner, &buf);
		buf = OPENSSL_realloc (buf, n + 1);
		buf[n] = 0;
		ASN1_OCTET_STRING_set (value, buf, wrap == 2 ? n + 1 : n);
		OPENSSL_free (buf);
	}
	for (guint i = 0; i < count; i++) {
		X509_EXTENSION *e = X509_EXTENSION_create_by_OBJ (NULL, oid, critical, value);
		X509_add_ext (x, e, -1);
		X509_EXTENSION_free (e);
	}
	ASN1_OCTET_STRING_free (inner);
	ASN1_OCTET_STRING_free (value);
	ASN1_OBJECT_free (oid);
	g_assert_cmpint (X509_sign (x, key, md), >, 0);
	n = i2d_X509 (x, &der);
	out = g_bytes_new (der, (gsize)n);
	OPENSSL_free (der);
	return out;
}

static void
refuse (GBytes *der, const gchar *message_part)
{
	g_autoptr (GError) error = NULL;
	g_autoptr (AcSnpRatlsCert) cert = ac_snp_ratls_cert_parse (g_bytes_get_data (der, NULL),
	                                                           g_bytes_get_size (der), &error);
	g_assert_null (cert);
	g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
	if (strstr (error->message, message_part) == NULL)
		g_error ("expected \"%s\" in: %s", message_part, error->message);
}

static void
test_cert_refuse (void)
{
	g_autoptr (GBytes) vector = snp_test_load ("aleph-synthetic", "ratls_cert_synthetic.der");
	g_autoptr (EVP_PKEY) key = synthetic_key ();
	g_autoptr (AcSnpRatlsCert) ref = ac_snp_ratls_cert_parse (g_bytes_get_data (vector, NULL),
	                                                          g_bytes_get_size (vector), NULL);
	g_autofree gchar *hex = ac_codec_hex_encode (ref->report, sizeof ref->report);
	g_autofree gchar *good
	    = g_strdup_printf ("{\"tee_type\":\"sev-snp\",\"data\":\"%s\"}", hex);
	g_autofree gchar *upper = g_ascii_strup (hex, -1);
	const gsize len = g_bytes_get_size (vector);
	const guint8 *v = g_bytes_get_data (vector, NULL);

	/* the crafting itself makes certificates the parser accepts */
	{
		g_autoptr (GBytes) ok = craft (key, good, 1, 1, FALSE, EVP_sha384 ());
		g_autoptr (AcSnpRatlsCert) c = ac_snp_ratls_cert_parse (
		    g_bytes_get_data (ok, NULL), g_bytes_get_size (ok), NULL);
		g_assert_nonnull (c);
		g_assert_cmpmem (c->report, sizeof c->report, ref->report, sizeof ref->report);
	}
	/* the early agent's unsigned copies are ignored, not read */
	{
		g_autofree gchar *j = g_strdup_printf (
		    "{\"tee_type\":\"sev-snp\",\"data\":\"%s\",\"report_data\":\"00\","
		    "\"measurement\":\"11\"}",
		    hex);
		g_autoptr (GBytes) ok = craft (key, j, 1, 1, FALSE, EVP_sha384 ());
		g_autoptr (AcSnpRatlsCert) c = ac_snp_ratls_cert_parse (
		    g_bytes_get_data (ok, NULL), g_bytes_get_size (ok), NULL);
		g_assert_nonnull (c);
	}
	/* bytes */
	{
		g_autoptr (GBytes) b = g_bytes_new (v, len - 1);
		refuse (b, "not one DER X.509 certificate");
	}
	{
		g_autofree guint8 *t = g_malloc (len + 1);
		g_autoptr (GBytes) b = NULL;
		memcpy (t, v, len);
		t[len] = 0;
		b = g_bytes_new (t, len + 1);
		refuse (b, "trailing bytes");
	}
	{
		g_autoptr (GBytes) b = g_bytes_new (v, 0);
		refuse (b, "0 bytes");
	}
	{
		/* one bit of the signature */
		g_autofree guint8 *t = g_memdup2 (v, len);
		g_autoptr (GBytes) b = NULL;
		t[len - 5] ^= 1;
		b = g_bytes_new (t, len);
		refuse (b, "self-signature");
	}
	{
		/* one bit of the report in the extension: the signature no longer covers it */
		g_autofree guint8 *t = g_memdup2 (v, len);
		g_autoptr (GBytes) b = NULL;
		t[400] ^= 1;
		b = g_bytes_new (t, len);
		refuse (b, "");
	}
	/* the extension */
	{
		g_autoptr (GBytes) b = craft (key, good, 1, 0, FALSE, EVP_sha384 ());
		refuse (b, "0 report extensions");
	}
	{
		g_autoptr (GBytes) b = craft (key, good, 1, 2, FALSE, EVP_sha384 ());
		refuse (b, "2 report extensions");
	}
	{
		g_autoptr (GBytes) b = craft (key, good, 1, 1, TRUE, EVP_sha384 ());
		refuse (b, "critical");
	}
	{
		g_autoptr (GBytes) b = craft (key, good, 0, 1, FALSE, EVP_sha384 ());
		refuse (b, "not one DER OCTET STRING");
	}
	{
		g_autoptr (GBytes) b = craft (key, good, 2, 1, FALSE, EVP_sha384 ());
		refuse (b, "trailing bytes");
	}
	/* the JSON */
	{
		g_autofree gchar *j
		    = g_strdup_printf ("{\"tee_type\":\"tdx\",\"data\":\"%s\"}", hex);
		g_autoptr (GBytes) b = craft (key, j, 1, 1, FALSE, EVP_sha384 ());
		refuse (b, "tee_type \"tdx\"");
	}
	{
		g_autofree gchar *j
		    = g_strdup_printf ("{\"tee_type\":\"sev-snp\",\"data\":\"%s\"}", upper);
		g_autoptr (GBytes) b = craft (key, j, 1, 1, FALSE, EVP_sha384 ());
		refuse (b, "data");
	}
	{
		g_autofree gchar *j
		    = g_strdup_printf ("{\"tee_type\":\"sev-snp\",\"data\":\"%.2366s\"}", hex);
		g_autoptr (GBytes) b = craft (key, j, 1, 1, FALSE, EVP_sha384 ());
		refuse (b, "2366 hex digits");
	}
	{
		g_autofree gchar *j
		    = g_strdup_printf ("{\"tee_type\":\"sev-snp\",\"data\":\"%s00\"}", hex);
		g_autoptr (GBytes) b = craft (key, j, 1, 1, FALSE, EVP_sha384 ());
		refuse (b, "data");
	}
	{
		g_autofree gchar *j = g_strdup_printf (
		    "{\"tee_type\":\"sev-snp\",\"data\":\"%s\",\"verified\":true}", hex);
		g_autoptr (GBytes) b = craft (key, j, 1, 1, FALSE, EVP_sha384 ());
		refuse (b, "verified");
	}
	{
		g_autoptr (GBytes) b
		    = craft (key, "{\"tee_type\":\"sev-snp\"}", 1, 1, FALSE, EVP_sha384 ());
		refuse (b, "data");
	}
	{
		g_autofree gchar *j = g_strdup_printf ("[\"sev-snp\",\"%s\"]", hex);
		g_autoptr (GBytes) b = craft (key, j, 1, 1, FALSE, EVP_sha384 ());
		refuse (b, "expected an object");
	}
	{
		g_autofree gchar *j = g_strdup_printf ("%s trailing", good);
		g_autoptr (GBytes) b = craft (key, j, 1, 1, FALSE, EVP_sha384 ());
		refuse (b, "trailing");
	}
	/* the key and the signature */
	{
		g_autoptr (EVP_PKEY) p256 = EVP_EC_gen ("P-256");
		g_autoptr (GBytes) b = craft (p256, good, 1, 1, FALSE, EVP_sha384 ());
		refuse (b, "not EC P-384");
	}
	{
		g_autoptr (GBytes) b = craft (key, good, 1, 1, FALSE, EVP_sha256 ());
		refuse (b, "ecdsa-with-SHA384");
	}
}

int
main (int argc, char **argv)
{
	g_autoptr (JsonParser) parser = json_parser_new ();

	g_test_init (&argc, &argv, NULL);
	vectors = snp_test_json (parser, "aleph-synthetic", "aleph_vectors.json");

	g_test_add_func ("/snp/ratls/bindings", test_bindings);
	g_test_add_func ("/snp/ratls/bindings-refuse", test_bindings_refuse);
	g_test_add_func ("/snp/ratls/cert-synthetic", test_cert_synthetic);
	g_test_add_func ("/snp/ratls/cert-build", test_cert_build);
	g_test_add_func ("/snp/ratls/cert-refuse", test_cert_refuse);
	return g_test_run ();
}
