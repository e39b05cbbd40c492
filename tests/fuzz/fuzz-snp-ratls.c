/*
 * Fuzz the parser of an Aleph agent's attested-TLS certificate. An input starting with "X"
 * is the report extension's value (the OCTET STRING holding the JSON, and the JSON) put in a
 * certificate the target signs, so that mutations reach the extension parser past the
 * self-signature check; any other input is parsed as the certificate's DER. Whatever parses
 * yields a key whose binding is the one computed again.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <openssl/x509v3.h>
#include <stdint.h>
#include <string.h>

#include "ac-snp-ratls.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

/* a certificate like the agent's whose report extension's value is @value */
static GBytes *
sign_with_value (EVP_PKEY *key, const uint8_t *value, size_t len)
{
	X509 *x = X509_new ();
	X509_NAME *name = X509_NAME_new ();
	ASN1_OBJECT *oid = OBJ_txt2obj (AC_SNP_RATLS_OID, 1);
	ASN1_OCTET_STRING *v = ASN1_OCTET_STRING_new ();
	X509_EXTENSION *ext;
	unsigned char *der = NULL;
	int n;
	GBytes *out = NULL;

	X509_set_version (x, X509_VERSION_3);
	ASN1_INTEGER_set (X509_get_serialNumber (x), 1);
	X509_NAME_add_entry_by_txt (name, "CN", MBSTRING_UTF8, (const unsigned char *)"f", -1, -1,
	                            0);
	X509_set_subject_name (x, name);
	X509_set_issuer_name (x, name);
	ASN1_TIME_set_string (X509_getm_notBefore (x), "750101000000Z");
	ASN1_TIME_set_string (X509_getm_notAfter (x), "40960101000000Z");
	X509_set_pubkey (x, key);
	ASN1_OCTET_STRING_set (v, value, (int)len);
	ext = X509_EXTENSION_create_by_OBJ (NULL, oid, 0, v);
	X509_add_ext (x, ext, -1);
	if (X509_sign (x, key, EVP_sha384 ()) > 0 && (n = i2d_X509 (x, &der)) > 0) {
		out = g_bytes_new (der, (gsize)n);
		OPENSSL_free (der);
	}
	X509_EXTENSION_free (ext);
	ASN1_OCTET_STRING_free (v);
	ASN1_OBJECT_free (oid);
	X509_NAME_free (name);
	X509_free (x);
	return out;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
	static EVP_PKEY *key = NULL;
	g_autoptr (GBytes) crafted = NULL;
	g_autoptr (AcSnpRatlsCert) cert = NULL;
	guint8 out[AC_SNP_REPORT_DATA_SIZE];

	if (key == NULL)
		key = ac_snp_ratls_key_generate (NULL);
	if (size >= 1 && data[0] == 'X' && size <= 16384) {
		crafted = sign_with_value (key, data + 1, size - 1);
		if (crafted == NULL)
			return 0;
		cert = ac_snp_ratls_cert_parse (g_bytes_get_data (crafted, NULL),
		                                g_bytes_get_size (crafted), NULL);
	} else {
		cert = ac_snp_ratls_cert_parse (data, size, NULL);
	}
	if (cert != NULL) {
		AcSnpReport report;
		g_assert_true (
		    ac_snp_ratls_key_binding (cert->pk_raw, sizeof cert->pk_raw, out, NULL));
		g_assert_true (memcmp (out, cert->key_binding, sizeof out) == 0);
		g_assert_cmpuint (g_bytes_get_size (cert->spki_der), >, AC_SNP_RATLS_PK_RAW_SIZE);
		(void)ac_snp_report_parse (cert->report, sizeof cert->report, &report, NULL);
	}
	if (size >= AC_SNP_RATLS_PK_RAW_SIZE)
		(void)ac_snp_ratls_fresh_binding (data, AC_SNP_RATLS_PK_RAW_SIZE,
		                                  data + AC_SNP_RATLS_PK_RAW_SIZE,
		                                  size - AC_SNP_RATLS_PK_RAW_SIZE, out, NULL);
	return 0;
}
