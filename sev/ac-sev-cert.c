/*
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <string.h>

#include "ac-codec.h"
#include "ac-error.h"
#include "ac-file.h"
#include "ac-sev-cert.h"
#include "ac-sev-ossl-private.h"

/* SEV certificate offsets (docs/protocols.md#sev-certificates-and-the-chain) */
#define SEV_OFF_VERSION 0x000
#define SEV_OFF_API_MAJOR 0x004
#define SEV_OFF_API_MINOR 0x005
#define SEV_OFF_RESERVED 0x006
#define SEV_OFF_USAGE 0x008
#define SEV_OFF_ALGO 0x00c
#define SEV_OFF_CURVE 0x010
#define SEV_OFF_QX 0x014
#define SEV_OFF_QY 0x05c
#define SEV_OFF_KEY_PAD 0x0a4
#define SEV_OFF_SLOT0 0x414
#define SEV_SLOT_SIZE 0x208 /* usage(4) algo(4) sig(512) */
#define SEV_SIG_SIZE 512
#define SEV_CURVE_P384 2

struct _AcSevCert {
	gint refcount;
	guint8 data[AC_SEV_CERT_SIZE];
	EVP_PKEY *pubkey;
};

struct _AcAmdCert {
	gint refcount;
	guint8 *data;
	gsize len;
	guint32 usage;
	guint pubexp_bits;
	guint modulus_bits;
	EVP_PKEY *pubkey;
};

const gchar *
ac_sev_usage_to_string (guint32 usage)
{
	switch (usage) {
	case AC_SEV_USAGE_ARK:
		return "ARK";
	case AC_SEV_USAGE_ASK:
		return "ASK";
	case AC_SEV_USAGE_INVALID:
		return "none";
	case AC_SEV_USAGE_OCA:
		return "OCA";
	case AC_SEV_USAGE_PEK:
		return "PEK";
	case AC_SEV_USAGE_PDH:
		return "PDH";
	case AC_SEV_USAGE_CEK:
		return "CEK";
	default:
		return "unknown";
	}
}

const gchar *
ac_sev_algo_to_string (guint32 algo)
{
	switch (algo) {
	case AC_SEV_ALGO_INVALID:
		return "none";
	case AC_SEV_ALGO_RSA_SHA256:
		return "rsa-sha256";
	case AC_SEV_ALGO_ECDSA_SHA256:
		return "ecdsa-sha256";
	case AC_SEV_ALGO_ECDH_SHA256:
		return "ecdh-sha256";
	case AC_SEV_ALGO_RSA_SHA384:
		return "rsa-sha384";
	case AC_SEV_ALGO_ECDSA_SHA384:
		return "ecdsa-sha384";
	case AC_SEV_ALGO_ECDH_SHA384:
		return "ecdh-sha384";
	default:
		return "unknown";
	}
}

static gboolean
ac_sev_algo_is_ecdsa (guint32 algo)
{
	return algo == AC_SEV_ALGO_ECDSA_SHA256 || algo == AC_SEV_ALGO_ECDSA_SHA384;
}

static gboolean
ac_sev_algo_is_rsa (guint32 algo)
{
	return algo == AC_SEV_ALGO_RSA_SHA256 || algo == AC_SEV_ALGO_RSA_SHA384;
}

static const gchar *
ac_sev_algo_md (guint32 algo)
{
	return (algo & 0x100) ? "SHA384" : "SHA256";
}

/* ------------------------------------------------------------------------------------------ */
/* SEV certificate                                                                            */

AcSevCert *
ac_sev_cert_ref (AcSevCert *self)
{
	g_atomic_int_inc (&self->refcount);
	return self;
}

void
ac_sev_cert_unref (AcSevCert *self)
{
	if (self == NULL || !g_atomic_int_dec_and_test (&self->refcount))
		return;
	EVP_PKEY_free (self->pubkey);
	g_free (self);
}

/* the version field (32-bit little-endian at @p) of a @kind ("SEV", "AMD") certificate: 1 */
static gboolean
cert_check_version (const gchar *kind, const guint8 *p, GError **error)
{
	guint32 version = ac_sev_le32 (p);

	if (version != 1) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "%s certificate version is %u, expected 1", kind, version);
		return FALSE;
	}
	return TRUE;
}

/* the @len reserved bytes at @p (offsets @range) of a @kind certificate: all zero */
static gboolean
cert_check_zero (const gchar *kind, const guint8 *p, gsize len, const gchar *range, GError **error)
{
	if (!ac_sev_all_zero (p, len)) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "%s certificate reserved bytes %s are not zero", kind, range);
		return FALSE;
	}
	return TRUE;
}

/**
 * ac_sev_cert_parse:
 *
 * Parses an SEV certificate: exactly 2084 bytes, version 1, reserved bytes zero, usage one of
 * OCA/PEK/PDH/CEK, algorithm ECDSA (ECDH for the PDH and GODH), curve P-384, coordinates of 48
 * significant bytes, unused key bytes zero, and a point on the curve. Signature slots are read
 * when verifying.
 */
AcSevCert *
ac_sev_cert_parse (const guint8 *data, gsize len, GError **error)
{
	g_autoptr (AcSevCert) self = NULL;
	guint32 usage, algo, curve;
	g_autoptr (GError) error_local = NULL;

	if (data == NULL || len != AC_SEV_CERT_SIZE) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "SEV certificate has %" G_GSIZE_FORMAT " bytes, expected %d",
		             data == NULL ? 0 : len, AC_SEV_CERT_SIZE);
		return NULL;
	}
	if (!cert_check_version ("SEV", data + SEV_OFF_VERSION, error)
	    || !cert_check_zero ("SEV", data + SEV_OFF_RESERVED, 2, "0x06-0x07", error))
		return NULL;
	usage = ac_sev_le32 (data + SEV_OFF_USAGE);
	algo = ac_sev_le32 (data + SEV_OFF_ALGO);
	if (usage != AC_SEV_USAGE_OCA && usage != AC_SEV_USAGE_PEK && usage != AC_SEV_USAGE_PDH
	    && usage != AC_SEV_USAGE_CEK) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "SEV certificate key usage is 0x%x, expected OCA (0x1001), PEK "
		             "(0x1002), PDH (0x1003) or CEK (0x1004)",
		             usage);
		return NULL;
	}
	if (usage == AC_SEV_USAGE_PDH) {
		if (algo != AC_SEV_ALGO_ECDH_SHA256 && algo != AC_SEV_ALGO_ECDH_SHA384) {
			g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			             "PDH certificate key algorithm is 0x%x, expected ECDH "
			             "(0x3 or 0x103)",
			             algo);
			return NULL;
		}
	} else if (!ac_sev_algo_is_ecdsa (algo)) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "%s certificate key algorithm is 0x%x, expected ECDSA (0x2 or 0x102)",
		             ac_sev_usage_to_string (usage), algo);
		return NULL;
	}
	curve = ac_sev_le32 (data + SEV_OFF_CURVE);
	if (curve != SEV_CURVE_P384) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "%s certificate curve is %u, expected 2 (P-384)",
		             ac_sev_usage_to_string (usage), curve);
		return NULL;
	}
	if (!ac_sev_all_zero (data + SEV_OFF_KEY_PAD, SEV_OFF_SLOT0 - SEV_OFF_KEY_PAD)) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "%s certificate has non-zero bytes after the public key "
		             "(0x0a4-0x413 must be zero)",
		             ac_sev_usage_to_string (usage));
		return NULL;
	}

	self = g_new0 (AcSevCert, 1);
	self->refcount = 1;
	memcpy (self->data, data, AC_SEV_CERT_SIZE);
	self->pubkey = ac_sev_ec_pubkey_from_le (self->data + SEV_OFF_QX, self->data + SEV_OFF_QY,
	                                         &error_local);
	if (self->pubkey == NULL) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "%s certificate public key is invalid: %s",
		             ac_sev_usage_to_string (usage), error_local->message);
		return NULL;
	}
	return g_steal_pointer (&self);
}

AcSevCert *
ac_sev_cert_parse_file (const gchar *path, GError **error)
{
	g_autofree gchar *buf = NULL;
	gsize len = 0;
	AcSevCert *cert;

	if (!ac_sev_read_file (path, &buf, &len, error))
		return NULL;
	cert = ac_sev_cert_parse ((const guint8 *)buf, len, error);
	if (cert == NULL)
		g_prefix_error (error, "%s: ", path);
	return cert;
}

/**
 * ac_sev_cert_new_ec:
 *
 * A new certificate for the P-384 public key of @key, both signature slots empty (the GODH
 * form of sevctl, or an unsigned cert to sign with ac_sev_cert_sign()).
 */
AcSevCert *
ac_sev_cert_new_ec (guint32 usage,
                    guint32 algo,
                    guint8 api_major,
                    guint8 api_minor,
                    EVP_PKEY *key,
                    GError **error)
{
	guint8 buf[AC_SEV_CERT_SIZE] = { 0 };

	ac_sev_put_le32 (buf + SEV_OFF_VERSION, 1);
	buf[SEV_OFF_API_MAJOR] = api_major;
	buf[SEV_OFF_API_MINOR] = api_minor;
	ac_sev_put_le32 (buf + SEV_OFF_USAGE, usage);
	ac_sev_put_le32 (buf + SEV_OFF_ALGO, algo);
	ac_sev_put_le32 (buf + SEV_OFF_CURVE, SEV_CURVE_P384);
	if (!ac_sev_ec_pubkey_to_le (key, buf + SEV_OFF_QX, buf + SEV_OFF_QY, error))
		return NULL;
	for (guint slot = 0; slot < 2; slot++) {
		ac_sev_put_le32 (buf + SEV_OFF_SLOT0 + slot * SEV_SLOT_SIZE, AC_SEV_USAGE_INVALID);
		ac_sev_put_le32 (buf + SEV_OFF_SLOT0 + slot * SEV_SLOT_SIZE + 4,
		                 AC_SEV_ALGO_INVALID);
	}
	return ac_sev_cert_parse (buf, sizeof (buf), error);
}

const guint8 *
ac_sev_cert_get_data (const AcSevCert *self)
{
	return self->data;
}

GBytes *
ac_sev_cert_to_bytes (const AcSevCert *self)
{
	return g_bytes_new (self->data, AC_SEV_CERT_SIZE);
}

guint32
ac_sev_cert_get_usage (const AcSevCert *self)
{
	return ac_sev_le32 (self->data + SEV_OFF_USAGE);
}

guint32
ac_sev_cert_get_algo (const AcSevCert *self)
{
	return ac_sev_le32 (self->data + SEV_OFF_ALGO);
}

guint8
ac_sev_cert_get_api_major (const AcSevCert *self)
{
	return self->data[SEV_OFF_API_MAJOR];
}

guint8
ac_sev_cert_get_api_minor (const AcSevCert *self)
{
	return self->data[SEV_OFF_API_MINOR];
}

guint32
ac_sev_cert_get_sig_usage (const AcSevCert *self, guint slot)
{
	g_return_val_if_fail (slot < 2, AC_SEV_USAGE_INVALID);
	return ac_sev_le32 (self->data + SEV_OFF_SLOT0 + slot * SEV_SLOT_SIZE);
}

guint32
ac_sev_cert_get_sig_algo (const AcSevCert *self, guint slot)
{
	g_return_val_if_fail (slot < 2, AC_SEV_ALGO_INVALID);
	return ac_sev_le32 (self->data + SEV_OFF_SLOT0 + slot * SEV_SLOT_SIZE + 4);
}

static const guint8 *
ac_sev_cert_slot_sig (const AcSevCert *self, guint slot)
{
	return self->data + SEV_OFF_SLOT0 + slot * SEV_SLOT_SIZE + 8;
}

/* virtee's rule: a slot carries a signature only with a known signer usage and algorithm */
gboolean
ac_sev_cert_slot_is_empty (const AcSevCert *self, guint slot)
{
	guint32 usage = ac_sev_cert_get_sig_usage (self, slot);
	guint32 algo = ac_sev_cert_get_sig_algo (self, slot);
	gboolean usage_ok = usage == AC_SEV_USAGE_OCA || usage == AC_SEV_USAGE_CEK
	                    || usage == AC_SEV_USAGE_PEK || usage == AC_SEV_USAGE_PDH
	                    || usage == AC_SEV_USAGE_ARK || usage == AC_SEV_USAGE_ASK;
	gboolean algo_ok = ac_sev_algo_is_rsa (algo) || ac_sev_algo_is_ecdsa (algo);
	return !(usage_ok && algo_ok);
}

EVP_PKEY *
ac_sev_cert_get_pubkey (const AcSevCert *self)
{
	return self->pubkey;
}

gchar *
ac_sev_cert_fingerprint (const AcSevCert *self)
{
	return g_compute_checksum_for_data (G_CHECKSUM_SHA256, self->data, AC_SEV_CERT_BODY_SIZE);
}

gboolean
ac_sev_cert_require_usage (const AcSevCert *self, guint32 usage, const gchar *what, GError **error)
{
	guint32 have = ac_sev_cert_get_usage (self);
	if (have != usage) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "%s has key usage %s (0x%x), expected %s (0x%x)", what,
		             ac_sev_usage_to_string (have), have, ac_sev_usage_to_string (usage),
		             usage);
		return FALSE;
	}
	return TRUE;
}

/**
 * ac_sev_cert_sign:
 *
 * Signs the body of @self with @signer_priv (the private key of @signer) into @slot, as
 * ECDSA with the hash of @signer's algorithm.
 */
gboolean
ac_sev_cert_sign (AcSevCert *self,
                  guint slot,
                  const AcSevCert *signer,
                  EVP_PKEY *signer_priv,
                  GError **error)
{
	guint8 *p;
	guint32 algo = ac_sev_cert_get_algo (signer);

	g_return_val_if_fail (slot < 2, FALSE);
	if (!ac_sev_algo_is_ecdsa (algo)) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "a %s key (algorithm %s) cannot sign certificates",
		             ac_sev_usage_to_string (ac_sev_cert_get_usage (signer)),
		             ac_sev_algo_to_string (algo));
		return FALSE;
	}
	p = self->data + SEV_OFF_SLOT0 + slot * SEV_SLOT_SIZE;
	memset (p, 0, SEV_SLOT_SIZE);
	ac_sev_put_le32 (p, ac_sev_cert_get_usage (signer));
	ac_sev_put_le32 (p + 4, algo);
	return ac_sev_ecdsa_sign_le (signer_priv, ac_sev_algo_md (algo), self->data,
	                             AC_SEV_CERT_BODY_SIZE, p + 8, error);
}

/**
 * ac_sev_cert_verify:
 * @slot: (out) (optional): the slot that verified
 *
 * Verifies that @signer signed @self: a slot whose usage is @signer's usage and whose
 * algorithm is @signer's must hold a valid ECDSA signature over the body.
 */
gboolean
ac_sev_cert_verify (const AcSevCert *self, const AcSevCert *signer, guint *slot, GError **error)
{
	guint32 s_usage = ac_sev_cert_get_usage (signer);
	guint32 s_algo = ac_sev_cert_get_algo (signer);
	gboolean found = FALSE;

	if (!ac_sev_algo_is_ecdsa (s_algo)) {
		g_set_error (error, AC_ERROR, AC_ERROR_UNTRUSTED,
		             "%s cannot be a signer (key algorithm %s)",
		             ac_sev_usage_to_string (s_usage), ac_sev_algo_to_string (s_algo));
		return FALSE;
	}
	for (guint i = 0; i < 2; i++) {
		if (ac_sev_cert_slot_is_empty (self, i))
			continue;
		if (ac_sev_cert_get_sig_usage (self, i) != s_usage
		    || ac_sev_cert_get_sig_algo (self, i) != s_algo)
			continue;
		found = TRUE;
		if (ac_sev_ecdsa_verify_le (signer->pubkey, ac_sev_algo_md (s_algo), self->data,
		                            AC_SEV_CERT_BODY_SIZE,
		                            ac_sev_cert_slot_sig (self, i))) {
			if (slot != NULL)
				*slot = i;
			return TRUE;
		}
	}
	if (!found) {
		g_set_error (error, AC_ERROR, AC_ERROR_UNTRUSTED,
		             "%s has no signature slot by %s (usage 0x%x, algorithm %s)",
		             ac_sev_usage_to_string (ac_sev_cert_get_usage (self)),
		             ac_sev_usage_to_string (s_usage), s_usage,
		             ac_sev_algo_to_string (s_algo));
		return FALSE;
	}
	g_set_error (error, AC_ERROR, AC_ERROR_UNTRUSTED,
	             "%s signature by %s does not verify (certificate altered or signed by "
	             "another key)",
	             ac_sev_usage_to_string (ac_sev_cert_get_usage (self)),
	             ac_sev_usage_to_string (s_usage));
	return FALSE;
}

/* ------------------------------------------------------------------------------------------ */
/* AMD certificate                                                                            */

#define AMD_OFF_VERSION 0x00
#define AMD_OFF_KEY_ID 0x04
#define AMD_OFF_CERTIFYING 0x14
#define AMD_OFF_USAGE 0x24
#define AMD_OFF_RESERVED 0x28
#define AMD_OFF_PUBEXP_BITS 0x38
#define AMD_OFF_MODULUS_BITS 0x3c

AcAmdCert *
ac_amd_cert_ref (AcAmdCert *self)
{
	g_atomic_int_inc (&self->refcount);
	return self;
}

void
ac_amd_cert_unref (AcAmdCert *self)
{
	if (self == NULL || !g_atomic_int_dec_and_test (&self->refcount))
		return;
	EVP_PKEY_free (self->pubkey);
	g_free (self->data);
	g_free (self);
}

static gsize
ac_amd_cert_body_len (const AcAmdCert *self)
{
	return AC_AMD_CERT_HEADER_SIZE + self->pubexp_bits / 8 + self->modulus_bits / 8;
}

/**
 * ac_amd_cert_parse:
 * @consumed: (out) (optional): where the certificate ends; when %NULL the certificate must
 *   fill @len exactly
 *
 * Parses an ARK or ASK: version 1, usage ARK (0x00) or ASK (0x13), reserved bytes zero, public
 * exponent and modulus of 2048 or 4096 bits (the same size), the signature present.
 */
AcAmdCert *
ac_amd_cert_parse (const guint8 *data, gsize len, gsize *consumed, GError **error)
{
	g_autoptr (AcAmdCert) self = NULL;
	guint32 usage, pe_bits, mod_bits;
	gsize total;
	g_autoptr (GError) error_local = NULL;

	if (data == NULL || len < AC_AMD_CERT_HEADER_SIZE) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "AMD certificate has %" G_GSIZE_FORMAT
		             " bytes, expected at least the %d-byte header",
		             data == NULL ? 0 : len, AC_AMD_CERT_HEADER_SIZE);
		return NULL;
	}
	if (!cert_check_version ("AMD", data + AMD_OFF_VERSION, error))
		return NULL;
	usage = ac_sev_le32 (data + AMD_OFF_USAGE);
	if (usage != AC_SEV_USAGE_ARK && usage != AC_SEV_USAGE_ASK) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "AMD certificate key usage is 0x%x, expected ARK (0x0) or ASK (0x13)",
		             usage);
		return NULL;
	}
	if (!cert_check_zero ("AMD", data + AMD_OFF_RESERVED, 16, "0x28-0x37", error))
		return NULL;
	pe_bits = ac_sev_le32 (data + AMD_OFF_PUBEXP_BITS);
	mod_bits = ac_sev_le32 (data + AMD_OFF_MODULUS_BITS);
	if ((mod_bits != 2048 && mod_bits != 4096) || pe_bits != mod_bits) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "AMD %s certificate has public exponent size %u and modulus size %u "
		             "bits, expected both 2048 or both 4096",
		             ac_sev_usage_to_string (usage), pe_bits, mod_bits);
		return NULL;
	}
	total = AC_AMD_CERT_HEADER_SIZE + pe_bits / 8 + 2 * (mod_bits / 8);
	if (len < total || (consumed == NULL && len != total)) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "AMD %s certificate has %" G_GSIZE_FORMAT
		             " bytes, expected %" G_GSIZE_FORMAT " for RSA-%u%s",
		             ac_sev_usage_to_string (usage), len, total, mod_bits,
		             len == total - mod_bits / 8 ? " (the signature is missing)" : "");
		return NULL;
	}
	self = g_new0 (AcAmdCert, 1);
	self->refcount = 1;
	self->data = g_memdup2 (data, total);
	self->len = total;
	self->usage = usage;
	self->pubexp_bits = pe_bits;
	self->modulus_bits = mod_bits;
	self->pubkey = ac_sev_rsa_pubkey_from_le (
	    self->data + AC_AMD_CERT_HEADER_SIZE + pe_bits / 8, mod_bits / 8,
	    self->data + AC_AMD_CERT_HEADER_SIZE, pe_bits / 8, &error_local);
	if (self->pubkey == NULL) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "AMD %s certificate public key is invalid: %s",
		             ac_sev_usage_to_string (usage), error_local->message);
		return NULL;
	}
	if (consumed != NULL)
		*consumed = total;
	return g_steal_pointer (&self);
}

AcAmdCert *
ac_amd_cert_parse_file (const gchar *path, GError **error)
{
	g_autofree gchar *buf = NULL;
	gsize len = 0;
	AcAmdCert *cert;

	if (!ac_sev_read_file (path, &buf, &len, error))
		return NULL;
	cert = ac_amd_cert_parse ((const guint8 *)buf, len, NULL, error);
	if (cert == NULL)
		g_prefix_error (error, "%s: ", path);
	return cert;
}

/**
 * ac_amd_cert_new:
 *
 * A new, unsigned AMD certificate for @rsa_key (2048 or 4096 bits, exponent fields as wide as
 * the modulus); sign it with ac_amd_cert_sign().
 */
AcAmdCert *
ac_amd_cert_new (guint32 usage,
                 const guint8 key_id[16],
                 const guint8 certifying_id[16],
                 EVP_PKEY *rsa_key,
                 GError **error)
{
	g_autoptr (BIGNUM) n = NULL;
	g_autoptr (BIGNUM) e = NULL;
	guint bits = (guint)EVP_PKEY_get_bits (rsa_key);
	gsize total;
	g_autofree guint8 *buf = NULL;

	if (bits != 2048 && bits != 4096) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "AMD certificates use RSA-2048 or RSA-4096 keys, not %u bits", bits);
		return NULL;
	}
	if (!EVP_PKEY_get_bn_param (rsa_key, "n", &n)
	    || !EVP_PKEY_get_bn_param (rsa_key, "e", &e)) {
		ac_sev_openssl_error (error, AC_ERROR_INTERNAL, "reading the RSA key");
		return NULL;
	}
	total = AC_AMD_CERT_HEADER_SIZE + 3 * (bits / 8);
	buf = g_malloc0 (total);
	ac_sev_put_le32 (buf + AMD_OFF_VERSION, 1);
	memcpy (buf + AMD_OFF_KEY_ID, key_id, 16);
	memcpy (buf + AMD_OFF_CERTIFYING, certifying_id, 16);
	ac_sev_put_le32 (buf + AMD_OFF_USAGE, usage);
	ac_sev_put_le32 (buf + AMD_OFF_PUBEXP_BITS, bits);
	ac_sev_put_le32 (buf + AMD_OFF_MODULUS_BITS, bits);
	if (BN_bn2lebinpad (e, buf + AC_AMD_CERT_HEADER_SIZE, (int)bits / 8) < 0
	    || BN_bn2lebinpad (n, buf + AC_AMD_CERT_HEADER_SIZE + bits / 8, (int)bits / 8) < 0) {
		ac_sev_openssl_error (error, AC_ERROR_INTERNAL, "encoding the RSA key");
		return NULL;
	}
	return ac_amd_cert_parse (buf, total, NULL, error);
}

const guint8 *
ac_amd_cert_get_data (const AcAmdCert *self, gsize *len)
{
	if (len != NULL)
		*len = self->len;
	return self->data;
}

GBytes *
ac_amd_cert_to_bytes (const AcAmdCert *self)
{
	return g_bytes_new (self->data, self->len);
}

guint32
ac_amd_cert_get_usage (const AcAmdCert *self)
{
	return self->usage;
}

const guint8 *
ac_amd_cert_get_key_id (const AcAmdCert *self)
{
	return self->data + AMD_OFF_KEY_ID;
}

const guint8 *
ac_amd_cert_get_certifying_id (const AcAmdCert *self)
{
	return self->data + AMD_OFF_CERTIFYING;
}

gchar *
ac_amd_cert_get_key_id_hex (const AcAmdCert *self)
{
	return ac_codec_hex_encode (ac_amd_cert_get_key_id (self), 16);
}

guint
ac_amd_cert_get_modulus_bits (const AcAmdCert *self)
{
	return self->modulus_bits;
}

EVP_PKEY *
ac_amd_cert_get_pubkey (const AcAmdCert *self)
{
	return self->pubkey;
}

gchar *
ac_amd_cert_fingerprint (const AcAmdCert *self)
{
	return g_compute_checksum_for_data (self->modulus_bits == 2048 ? G_CHECKSUM_SHA256
	                                                               : G_CHECKSUM_SHA384,
	                                    self->data, ac_amd_cert_body_len (self));
}

/* the same key and identity: key id, usage, exponent and modulus */
gboolean
ac_amd_cert_same_key (const AcAmdCert *a, const AcAmdCert *b)
{
	gsize blen = ac_amd_cert_body_len (a);
	return a->modulus_bits == b->modulus_bits && a->pubexp_bits == b->pubexp_bits
	       && memcmp (a->data, b->data, blen) == 0;
}

static const gchar *
ac_amd_md_for_bits (guint bits)
{
	return bits == 2048 ? "SHA256" : "SHA384";
}

gboolean
ac_amd_cert_sign (AcAmdCert *self, const AcAmdCert *signer, EVP_PKEY *signer_priv, GError **error)
{
	gsize body = ac_amd_cert_body_len (self);
	if (signer->modulus_bits != self->modulus_bits) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "RSA-%u signer cannot fill an RSA-%u certificate's signature field",
		             signer->modulus_bits, self->modulus_bits);
		return FALSE;
	}
	if (!ac_sev_rsa_pss_sign_le (signer_priv, ac_amd_md_for_bits (signer->modulus_bits),
	                             self->data, body, self->data + body, self->modulus_bits / 8,
	                             error))
		return FALSE;
	return TRUE;
}

/**
 * ac_amd_cert_verify:
 *
 * @self's certifying id must be @signer's key id, and its RSA-PSS signature (salt = digest
 * length; SHA-256 for 2048-bit signers, SHA-384 for 4096) must verify with @signer's key.
 */
gboolean
ac_amd_cert_verify (const AcAmdCert *self, const AcAmdCert *signer, GError **error)
{
	gsize body = ac_amd_cert_body_len (self);

	if (memcmp (ac_amd_cert_get_certifying_id (self), ac_amd_cert_get_key_id (signer), 16)
	    != 0) {
		g_autofree gchar *want
		    = ac_codec_hex_encode (ac_amd_cert_get_certifying_id (self), 16);
		g_autofree gchar *have = ac_amd_cert_get_key_id_hex (signer);
		g_set_error (error, AC_ERROR, AC_ERROR_UNTRUSTED,
		             "%s was certified by key id %s, but the signer's key id is %s",
		             ac_sev_usage_to_string (self->usage), want, have);
		return FALSE;
	}
	if (signer->usage != AC_SEV_USAGE_ARK) {
		g_set_error (
		    error, AC_ERROR, AC_ERROR_UNTRUSTED, "%s is signed by an %s, expected the ARK",
		    ac_sev_usage_to_string (self->usage), ac_sev_usage_to_string (signer->usage));
		return FALSE;
	}
	if (signer->modulus_bits != self->modulus_bits
	    || !ac_sev_rsa_pss_verify_le (signer->pubkey, ac_amd_md_for_bits (signer->modulus_bits),
	                                  self->data, body, self->data + body,
	                                  self->modulus_bits / 8)) {
		g_set_error (error, AC_ERROR, AC_ERROR_UNTRUSTED,
		             "%s RSA-PSS signature by the ARK does not verify",
		             ac_sev_usage_to_string (self->usage));
		return FALSE;
	}
	return TRUE;
}

gboolean
ac_sev_cert_sign_by_amd (AcSevCert *self,
                         guint slot,
                         const AcAmdCert *signer,
                         EVP_PKEY *signer_priv,
                         GError **error)
{
	guint8 *p;
	guint bytes = signer->modulus_bits / 8;

	g_return_val_if_fail (slot < 2, FALSE);
	p = self->data + SEV_OFF_SLOT0 + slot * SEV_SLOT_SIZE;
	memset (p, 0, SEV_SLOT_SIZE);
	ac_sev_put_le32 (p, signer->usage);
	ac_sev_put_le32 (p + 4, signer->modulus_bits == 2048 ? AC_SEV_ALGO_RSA_SHA256
	                                                     : AC_SEV_ALGO_RSA_SHA384);
	return ac_sev_rsa_pss_sign_le (signer_priv, ac_amd_md_for_bits (signer->modulus_bits),
	                               self->data, AC_SEV_CERT_BODY_SIZE, p + 8, bytes, error);
}

/**
 * ac_sev_cert_verify_by_amd:
 *
 * Verifies the ASK signature of a CEK: a slot with usage ASK (0x13) and the RSA algorithm
 * matching the ASK size (RSA_SHA256 for 2048 bits, RSA_SHA384 for 4096), RSA-PSS over the body.
 */
gboolean
ac_sev_cert_verify_by_amd (const AcSevCert *self,
                           const AcAmdCert *signer,
                           guint *slot,
                           GError **error)
{
	guint32 want_algo
	    = signer->modulus_bits == 2048 ? AC_SEV_ALGO_RSA_SHA256 : AC_SEV_ALGO_RSA_SHA384;
	gboolean found = FALSE;

	for (guint i = 0; i < 2; i++) {
		const guint8 *sig = ac_sev_cert_slot_sig (self, i);
		if (ac_sev_cert_slot_is_empty (self, i))
			continue;
		if (ac_sev_cert_get_sig_usage (self, i) != signer->usage
		    || ac_sev_cert_get_sig_algo (self, i) != want_algo)
			continue;
		found = TRUE;
		/* the rest of the 512-byte field after the signature must be zero */
		if (!ac_sev_all_zero (sig + signer->modulus_bits / 8,
		                      SEV_SIG_SIZE - signer->modulus_bits / 8))
			continue;
		if (ac_sev_rsa_pss_verify_le (
		        signer->pubkey, ac_amd_md_for_bits (signer->modulus_bits), self->data,
		        AC_SEV_CERT_BODY_SIZE, sig, signer->modulus_bits / 8)) {
			if (slot != NULL)
				*slot = i;
			return TRUE;
		}
	}
	if (!found) {
		g_set_error (error, AC_ERROR, AC_ERROR_UNTRUSTED,
		             "%s has no signature slot by an RSA-%u %s (usage 0x%x, algorithm %s)",
		             ac_sev_usage_to_string (ac_sev_cert_get_usage (self)),
		             signer->modulus_bits, ac_sev_usage_to_string (signer->usage),
		             signer->usage, ac_sev_algo_to_string (want_algo));
		return FALSE;
	}
	g_set_error (error, AC_ERROR, AC_ERROR_UNTRUSTED,
	             "%s RSA-PSS signature by the %s does not verify",
	             ac_sev_usage_to_string (ac_sev_cert_get_usage (self)),
	             ac_sev_usage_to_string (signer->usage));
	return FALSE;
}

AcSecret *
ac_sev_private_key_to_pem (EVP_PKEY *key)
{
	BIO *bio = BIO_new (BIO_s_mem ());
	char *p = NULL;
	long len;
	AcSecret *pem;

	if (bio == NULL || PEM_write_bio_PrivateKey (bio, key, NULL, NULL, 0, NULL, NULL) != 1) {
		BIO_free (bio);
		return NULL;
	}
	len = BIO_get_mem_data (bio, &p);
	pem = ac_secret_new (p, (gsize)len);
	OPENSSL_cleanse (p, (gsize)len);
	BIO_free (bio);
	return pem;
}

EVP_PKEY *
ac_sev_private_key_from_pem (const gchar *pem, gsize len)
{
	BIO *bio = BIO_new_mem_buf (pem, (int)len);
	EVP_PKEY *key = bio != NULL ? PEM_read_bio_PrivateKey (bio, NULL, NULL, NULL) : NULL;
	BIO_free (bio);
	return key;
}

EVP_PKEY *
ac_sev_private_key_read (const gchar *path, const gchar *what, gboolean *readable, GError **error)
{
	g_autoptr (GError) error_local = NULL;
	g_autofree gchar *buf = NULL;
	gsize len = 0;
	EVP_PKEY *key;

	*readable = ac_file_read_bounded (path, AC_SEV_KEY_FILE_MAX, &buf, &len, &error_local);
	if (!*readable) {
		if (g_error_matches (error_local, AC_ERROR, AC_ERROR_NOT_FOUND))
			g_set_error (error, AC_ERROR, AC_ERROR_NOT_FOUND, "%s %s is missing", what,
			             path);
		else
			g_propagate_prefixed_error (error, g_steal_pointer (&error_local),
			                            "%s: ", what);
		return NULL;
	}
	key = ac_sev_private_key_from_pem (buf, len);
	ac_secret_wipe (buf, len);
	return key;
}
