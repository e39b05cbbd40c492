/*
 * OpenSSL 3 EVP helpers for the SEV formats: little-endian key and signature fields,
 * RSA-PSS with salt = digest length, ECDSA/ECDH on P-384, HMAC-SHA-256, AES-128-CTR.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <string.h>

#include "ac-error.h"
#include "ac-secret.h"
#include "ac-file.h"
#include "ac-sev-ossl-private.h"

gboolean
ac_sev_all_zero (const guint8 *p, gsize len)
{
	guint8 acc = 0;
	for (gsize i = 0; i < len; i++)
		acc |= p[i];
	return acc == 0;
}

void
ac_sev_reverse_copy (guint8 *dst, const guint8 *src, gsize len)
{
	for (gsize i = 0; i < len; i++)
		dst[i] = src[len - 1 - i];
}

/* Sets @error with the OpenSSL error queue's last reason; always returns FALSE. */
gboolean
ac_sev_openssl_error (GError **error, gint code, const gchar *what)
{
	unsigned long e = ERR_peek_last_error ();
	gchar buf[256] = "no OpenSSL error";
	if (e != 0)
		ERR_error_string_n (e, buf, sizeof (buf));
	ERR_clear_error ();
	g_set_error (error, AC_ERROR, code, "%s failed: %s", what, buf);
	return FALSE;
}

/* the @selection key of algorithm @name that the parameters in @bld make, or NULL (the OpenSSL
 * error queue says why) */
static EVP_PKEY *
ac_sev_key_from_params (OSSL_PARAM_BLD *bld, const gchar *name, int selection)
{
	g_autoptr (OSSL_PARAM) params = OSSL_PARAM_BLD_to_param (bld);
	g_autoptr (EVP_PKEY_CTX) kctx = EVP_PKEY_CTX_new_from_name (NULL, name, NULL);
	EVP_PKEY *pkey = NULL;

	if (params == NULL || kctx == NULL || EVP_PKEY_fromdata_init (kctx) <= 0
	    || EVP_PKEY_fromdata (kctx, &pkey, selection, params) <= 0)
		return NULL;
	return pkey;
}

EVP_PKEY *
ac_sev_ec_pubkey_from_le (const guint8 *qx72, const guint8 *qy72, GError **error)
{
	guint8 pt[97];
	EVP_PKEY *pkey = NULL;
	g_autoptr(OSSL_PARAM_BLD) bld = NULL;
	g_autoptr(EVP_PKEY_CTX) cctx = NULL;

	/* P-384 coordinates have 48 significant bytes; the upper 24 must be zero */
	if (!ac_sev_all_zero (qx72 + 48, 24) || !ac_sev_all_zero (qy72 + 48, 24)) {
		g_set_error_literal (error,
				     AC_ERROR,
				     AC_ERROR_INVALID_INPUT,
				     "P-384 public key coordinate has non-zero bytes 48-71 "
				     "(expected a 48-byte value zero-padded to 72)");
		return NULL;
	}
	pt[0] = 0x04;
	ac_sev_reverse_copy (pt + 1, qx72, 48);
	ac_sev_reverse_copy (pt + 49, qy72, 48);

	bld = OSSL_PARAM_BLD_new ();
	if (bld == NULL ||
	    !OSSL_PARAM_BLD_push_utf8_string (bld, OSSL_PKEY_PARAM_GROUP_NAME, "secp384r1", 0) ||
	    !OSSL_PARAM_BLD_push_octet_string (bld, OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof (pt))) {
		ac_sev_openssl_error (error, AC_ERROR_INTERNAL, "building EC parameters");
		return NULL;
	}
	pkey = ac_sev_key_from_params (bld, "EC", EVP_PKEY_PUBLIC_KEY);
	if (pkey == NULL) {
		ac_sev_openssl_error (error,
				      AC_ERROR_INVALID_INPUT,
				      "loading the P-384 public key (point not on the curve?)");
		return NULL;
	}
	cctx = EVP_PKEY_CTX_new_from_pkey (NULL, pkey, NULL);
	if (cctx == NULL || EVP_PKEY_public_check (cctx) != 1) {
		EVP_PKEY_free (pkey);
		ac_sev_openssl_error (error,
				      AC_ERROR_INVALID_INPUT,
				      "checking the P-384 public key (point not on the curve)");
		return NULL;
	}
	return pkey;
}

gboolean
ac_sev_ec_pubkey_to_le (EVP_PKEY *key, guint8 *qx72, guint8 *qy72, GError **error)
{
	g_autoptr(BIGNUM) x = NULL;
	g_autoptr(BIGNUM) y = NULL;
	if (!EVP_PKEY_get_bn_param (key, OSSL_PKEY_PARAM_EC_PUB_X, &x) ||
	    !EVP_PKEY_get_bn_param (key, OSSL_PKEY_PARAM_EC_PUB_Y, &y))
		return ac_sev_openssl_error (error, AC_ERROR_INTERNAL, "reading the EC point");
	if (BN_bn2lebinpad (x, qx72, 72) != 72 || BN_bn2lebinpad (y, qy72, 72) != 72)
		return ac_sev_openssl_error (error, AC_ERROR_INTERNAL, "encoding the EC point");
	return TRUE;
}

static guchar *
ac_sev_ecdsa_der_from_le (const guint8 *sig_le144, int *derlen)
{
	g_autoptr(ECDSA_SIG) sig = ECDSA_SIG_new ();
	BIGNUM *r = BN_lebin2bn (sig_le144, 72, NULL);
	BIGNUM *s = BN_lebin2bn (sig_le144 + 72, 72, NULL);
	guchar *der = NULL;

	if (sig == NULL || r == NULL || s == NULL || !ECDSA_SIG_set0 (sig, r, s)) {
		BN_free (r);
		BN_free (s);
		return NULL;
	}
	*derlen = i2d_ECDSA_SIG (sig, &der);
	if (*derlen <= 0)
		return NULL;
	return der;
}

gboolean
ac_sev_ecdsa_verify_le (EVP_PKEY *key,
			const gchar *md,
			const guint8 *msg,
			gsize msglen,
			const guint8 *sig_le144)
{
	g_autoptr(EVP_MD_CTX) mctx = EVP_MD_CTX_new ();
	int derlen = 0;
	guchar *der = ac_sev_ecdsa_der_from_le (sig_le144, &derlen);
	gboolean ok;

	if (der == NULL || mctx == NULL) {
		OPENSSL_free (der);
		ERR_clear_error ();
		return FALSE;
	}
	ok = EVP_DigestVerifyInit_ex (mctx, NULL, md, NULL, NULL, key, NULL) == 1 &&
	     EVP_DigestVerify (mctx, der, (size_t)derlen, msg, msglen) == 1;
	OPENSSL_free (der);
	ERR_clear_error ();
	return ok;
}

gboolean
ac_sev_ecdsa_sign_le (EVP_PKEY *key,
		      const gchar *md,
		      const guint8 *msg,
		      gsize msglen,
		      guint8 *sig_le144,
		      GError **error)
{
	g_autoptr(EVP_MD_CTX) mctx = EVP_MD_CTX_new ();
	g_autoptr(ECDSA_SIG) sig = NULL;
	guchar der[160];
	size_t derlen = sizeof (der);
	const guchar *p = der;
	const BIGNUM *r = NULL;
	const BIGNUM *s = NULL;

	if (mctx == NULL || EVP_DigestSignInit_ex (mctx, NULL, md, NULL, NULL, key, NULL) != 1 ||
	    EVP_DigestSign (mctx, der, &derlen, msg, msglen) != 1)
		return ac_sev_openssl_error (error, AC_ERROR_INTERNAL, "ECDSA signing");
	sig = d2i_ECDSA_SIG (NULL, &p, (long)derlen);
	if (sig == NULL)
		return ac_sev_openssl_error (error, AC_ERROR_INTERNAL, "decoding the ECDSA signature");
	ECDSA_SIG_get0 (sig, &r, &s);
	if (BN_bn2lebinpad (r, sig_le144, 72) != 72 || BN_bn2lebinpad (s, sig_le144 + 72, 72) != 72)
		return ac_sev_openssl_error (error, AC_ERROR_INTERNAL, "encoding the ECDSA signature");
	return TRUE;
}

EVP_PKEY *
ac_sev_rsa_pubkey_from_le (const guint8 *n_le,
			   gsize n_len,
			   const guint8 *e_le,
			   gsize e_len,
			   GError **error)
{
	g_autoptr(BIGNUM) n = BN_lebin2bn (n_le, (int)n_len, NULL);
	g_autoptr(BIGNUM) e = BN_lebin2bn (e_le, (int)e_len, NULL);
	g_autoptr(OSSL_PARAM_BLD) bld = OSSL_PARAM_BLD_new ();
	EVP_PKEY *pkey = NULL;

	if (n == NULL || e == NULL || bld == NULL) {
		ac_sev_openssl_error (error, AC_ERROR_INTERNAL, "allocating RSA parameters");
		return NULL;
	}
	/* the modulus must really have its nominal size; the exponent must be odd and > 1 */
	if ((gsize)BN_num_bits (n) != n_len * 8) {
		g_set_error (error,
			     AC_ERROR,
			     AC_ERROR_INVALID_INPUT,
			     "RSA modulus has %d significant bits, expected %" G_GSIZE_FORMAT,
			     BN_num_bits (n),
			     n_len * 8);
		return NULL;
	}
	if (!BN_is_odd (e) || BN_is_one (e) || BN_num_bits (e) > 64) {
		g_set_error_literal (error,
				     AC_ERROR,
				     AC_ERROR_INVALID_INPUT,
				     "RSA public exponent is invalid (expected an odd value > 1 "
				     "of at most 64 bits, normally 65537)");
		return NULL;
	}
	if (!OSSL_PARAM_BLD_push_BN (bld, OSSL_PKEY_PARAM_RSA_N, n) ||
	    !OSSL_PARAM_BLD_push_BN (bld, OSSL_PKEY_PARAM_RSA_E, e)) {
		ac_sev_openssl_error (error, AC_ERROR_INTERNAL, "building RSA parameters");
		return NULL;
	}
	pkey = ac_sev_key_from_params (bld, "RSA", EVP_PKEY_PUBLIC_KEY);
	if (pkey == NULL) {
		ac_sev_openssl_error (error, AC_ERROR_INVALID_INPUT, "loading the RSA public key");
		return NULL;
	}
	return pkey;
}

gboolean
ac_sev_rsa_pss_verify_le (EVP_PKEY *key,
			  const gchar *md,
			  const guint8 *msg,
			  gsize msglen,
			  const guint8 *sig_le,
			  gsize siglen)
{
	g_autoptr(EVP_MD_CTX) mctx = EVP_MD_CTX_new ();
	EVP_PKEY_CTX *pctx = NULL;
	g_autofree guint8 *sig_be = g_malloc (siglen);
	gboolean ok;

	if ((gsize)EVP_PKEY_get_size (key) != siglen)
		return FALSE;
	ac_sev_reverse_copy (sig_be, sig_le, siglen);
	ok = mctx != NULL &&
	     EVP_DigestVerifyInit_ex (mctx, &pctx, md, NULL, NULL, key, NULL) == 1 &&
	     EVP_PKEY_CTX_set_rsa_padding (pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
	     EVP_PKEY_CTX_set_rsa_pss_saltlen (pctx, RSA_PSS_SALTLEN_DIGEST) == 1 &&
	     EVP_DigestVerify (mctx, sig_be, siglen, msg, msglen) == 1;
	ERR_clear_error ();
	return ok;
}

gboolean
ac_sev_rsa_pss_sign_le (EVP_PKEY *key,
			const gchar *md,
			const guint8 *msg,
			gsize msglen,
			guint8 *sig_le,
			gsize siglen,
			GError **error)
{
	g_autoptr(EVP_MD_CTX) mctx = EVP_MD_CTX_new ();
	EVP_PKEY_CTX *pctx = NULL;
	g_autofree guint8 *sig_be = g_malloc (siglen);
	size_t len = siglen;

	if ((gsize)EVP_PKEY_get_size (key) != siglen) {
		g_set_error (error,
			     AC_ERROR,
			     AC_ERROR_INTERNAL,
			     "RSA key size %d does not match the signature field (%" G_GSIZE_FORMAT
			     " bytes)",
			     EVP_PKEY_get_size (key),
			     siglen);
		return FALSE;
	}
	if (mctx == NULL || EVP_DigestSignInit_ex (mctx, &pctx, md, NULL, NULL, key, NULL) != 1 ||
	    EVP_PKEY_CTX_set_rsa_padding (pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
	    EVP_PKEY_CTX_set_rsa_pss_saltlen (pctx, RSA_PSS_SALTLEN_DIGEST) != 1 ||
	    EVP_DigestSign (mctx, sig_be, &len, msg, msglen) != 1 || len != siglen)
		return ac_sev_openssl_error (error, AC_ERROR_INTERNAL, "RSA-PSS signing");
	ac_sev_reverse_copy (sig_le, sig_be, siglen);
	return TRUE;
}

EVP_PKEY *
ac_sev_ec_generate (GError **error)
{
	EVP_PKEY *pkey = EVP_EC_gen ("secp384r1");
	if (pkey == NULL)
		ac_sev_openssl_error (error, AC_ERROR_INTERNAL, "generating a P-384 key");
	return pkey;
}

EVP_PKEY *
ac_sev_rsa_generate (guint bits, GError **error)
{
	EVP_PKEY *pkey = EVP_RSA_gen (bits);
	if (pkey == NULL)
		ac_sev_openssl_error (error, AC_ERROR_INTERNAL, "generating an RSA key");
	return pkey;
}

/* Z = x-coordinate of priv·peer, 48 bytes big-endian with leading zeros kept */
gboolean
ac_sev_ecdh_x (EVP_PKEY *priv, EVP_PKEY *peer, guint8 z[48], GError **error)
{
	g_autoptr(EVP_PKEY_CTX) ctx = EVP_PKEY_CTX_new_from_pkey (NULL, priv, NULL);
	size_t len = 48;
	if (ctx == NULL || EVP_PKEY_derive_init (ctx) != 1 ||
	    EVP_PKEY_derive_set_peer (ctx, peer) != 1 || EVP_PKEY_derive (ctx, z, &len) != 1 ||
	    len != 48)
		return ac_sev_openssl_error (error, AC_ERROR_INTERNAL, "ECDH key agreement");
	return TRUE;
}

gboolean
ac_sev_hmac_sha256 (const guint8 *key,
		    gsize keylen,
		    const guint8 *msg,
		    gsize msglen,
		    guint8 out[32],
		    GError **error)
{
	size_t outlen = 0;
	static const guint8 empty = 0;
	if (EVP_Q_mac (NULL,
		       "HMAC",
		       NULL,
		       "SHA256",
		       NULL,
		       key,
		       keylen,
		       msg != NULL ? msg : &empty,
		       msglen,
		       out,
		       32,
		       &outlen) == NULL ||
	    outlen != 32)
		return ac_sev_openssl_error (error, AC_ERROR_INTERNAL, "HMAC-SHA-256");
	return TRUE;
}

gboolean
ac_sev_aes128_ctr (const guint8 key[16],
		   const guint8 iv[16],
		   const guint8 *in,
		   gsize len,
		   guint8 *out,
		   GError **error)
{
	g_autoptr(EVP_CIPHER_CTX) ctx = EVP_CIPHER_CTX_new ();
	int outl = 0;
	int finl = 0;

	if (len > G_MAXINT) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT, "AES-CTR input too long");
		return FALSE;
	}
	if (ctx == NULL || EVP_EncryptInit_ex2 (ctx, EVP_aes_128_ctr (), key, iv, NULL) != 1 ||
	    (len > 0 && EVP_EncryptUpdate (ctx, out, &outl, in, (int)len) != 1) ||
	    EVP_EncryptFinal_ex (ctx, out + outl, &finl) != 1 || (gsize)(outl + finl) != len)
		return ac_sev_openssl_error (error, AC_ERROR_INTERNAL, "AES-128-CTR");
	return TRUE;
}

gboolean
ac_sev_random (guint8 *buf, gsize len, GError **error)
{
	if (RAND_bytes (buf, (int)len) != 1)
		return ac_sev_openssl_error (error, AC_ERROR_INTERNAL, "random bytes");
	return TRUE;
}

/* a P-384 key pair from its private scalar (big-endian), the public point computed */
EVP_PKEY *
ac_sev_ec_key_from_private (const guint8 *d_be, gsize len, GError **error)
{
	g_autoptr(BIGNUM) d = BN_bin2bn (d_be, (int)len, NULL);
	EC_GROUP *group = EC_GROUP_new_by_curve_name (NID_secp384r1);
	EC_POINT *q = NULL;
	guint8 pub[97];
	g_autoptr(OSSL_PARAM_BLD) bld = OSSL_PARAM_BLD_new ();
	EVP_PKEY *pkey = NULL;
	gboolean ok;

	ok = d != NULL && group != NULL && bld != NULL && !BN_is_zero (d) &&
	     BN_cmp (d, EC_GROUP_get0_order (group)) < 0 && (q = EC_POINT_new (group)) != NULL &&
	     EC_POINT_mul (group, q, d, NULL, NULL, NULL) == 1 &&
	     EC_POINT_point2oct (group, q, POINT_CONVERSION_UNCOMPRESSED, pub, sizeof (pub), NULL) ==
		 sizeof (pub) &&
	     OSSL_PARAM_BLD_push_utf8_string (bld, OSSL_PKEY_PARAM_GROUP_NAME, "secp384r1", 0) &&
	     OSSL_PARAM_BLD_push_octet_string (bld, OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof (pub)) &&
	     OSSL_PARAM_BLD_push_BN (bld, OSSL_PKEY_PARAM_PRIV_KEY, d);
	EC_POINT_free (q);
	EC_GROUP_free (group);
	if (!ok) {
		ac_sev_openssl_error (error, AC_ERROR_INVALID_INPUT, "loading the P-384 private key");
		return NULL;
	}
	pkey = ac_sev_key_from_params (bld, "EC", EVP_PKEY_KEYPAIR);
	if (pkey == NULL) {
		ac_sev_openssl_error (error, AC_ERROR_INVALID_INPUT, "loading the P-384 private key");
		return NULL;
	}
	return pkey;
}

/* A file's contents: a regular file of at most 1 MiB (certificates and chains are a few KiB),
 * read without blocking on a FIFO or growing on /dev/zero (ac_file_read_bounded()); a missing
 * file is AC_ERROR_NOT_FOUND. */
gboolean
ac_sev_read_file (const gchar *path, gchar **data, gsize *len, GError **error)
{
	return ac_file_read_bounded (path, 1024 * 1024, data, len, error);
}
