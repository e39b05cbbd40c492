/*
 * Private to sev/: g_autoptr support for the OpenSSL types the library uses and small
 * crypto helpers shared by its files. Not installed, not included by public headers (other
 * components may define the same cleanup functions).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

G_BEGIN_DECLS

G_DEFINE_AUTOPTR_CLEANUP_FUNC (EVP_PKEY, EVP_PKEY_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (EVP_PKEY_CTX, EVP_PKEY_CTX_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (EVP_MD_CTX, EVP_MD_CTX_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (EVP_CIPHER_CTX, EVP_CIPHER_CTX_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BIGNUM, BN_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (ECDSA_SIG, ECDSA_SIG_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (OSSL_PARAM_BLD, OSSL_PARAM_BLD_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (OSSL_PARAM, OSSL_PARAM_free)

/* little-endian field helpers (callers check lengths first) */
static inline guint32
ac_sev_le32 (const guint8 *p)
{
	return (guint32)p[0] | ((guint32)p[1] << 8) | ((guint32)p[2] << 16) | ((guint32)p[3] << 24);
}

static inline void
ac_sev_put_le32 (guint8 *p, guint32 v)
{
	p[0] = v & 0xff;
	p[1] = (v >> 8) & 0xff;
	p[2] = (v >> 16) & 0xff;
	p[3] = (v >> 24) & 0xff;
}

static inline guint16
ac_sev_le16 (const guint8 *p)
{
	return (guint16)(p[0] | (p[1] << 8));
}

static inline void
ac_sev_put_le16 (guint8 *p, guint16 v)
{
	p[0] = v & 0xff;
	p[1] = (v >> 8) & 0xff;
}

gboolean ac_sev_all_zero (const guint8 *p, gsize len);
gboolean ac_sev_read_file (const gchar *path, gchar **data, gsize *len, GError **error);
void ac_sev_reverse_copy (guint8 *dst, const guint8 *src, gsize len);

gboolean ac_sev_openssl_error (GError **error, gint code, const gchar *what);

EVP_PKEY *ac_sev_ec_pubkey_from_le (const guint8 *qx72, const guint8 *qy72, GError **error);
gboolean ac_sev_ec_pubkey_to_le (EVP_PKEY *key, guint8 *qx72, guint8 *qy72, GError **error);
gboolean ac_sev_ecdsa_verify_le (EVP_PKEY *key,
				 const gchar *md,
				 const guint8 *msg,
				 gsize msglen,
				 const guint8 *sig_le144);
gboolean ac_sev_ecdsa_sign_le (EVP_PKEY *key,
			       const gchar *md,
			       const guint8 *msg,
			       gsize msglen,
			       guint8 *sig_le144,
			       GError **error);
EVP_PKEY *ac_sev_rsa_pubkey_from_le (const guint8 *n_le,
				     gsize n_len,
				     const guint8 *e_le,
				     gsize e_len,
				     GError **error);
gboolean ac_sev_rsa_pss_verify_le (EVP_PKEY *key,
				   const gchar *md,
				   const guint8 *msg,
				   gsize msglen,
				   const guint8 *sig_le,
				   gsize siglen);
gboolean ac_sev_rsa_pss_sign_le (EVP_PKEY *key,
				 const gchar *md,
				 const guint8 *msg,
				 gsize msglen,
				 guint8 *sig_le,
				 gsize siglen,
				 GError **error);
EVP_PKEY *ac_sev_ec_generate (GError **error);
EVP_PKEY *ac_sev_rsa_generate (guint bits, GError **error);
gboolean ac_sev_ecdh_x (EVP_PKEY *priv, EVP_PKEY *peer, guint8 z[48], GError **error);

gboolean ac_sev_hmac_sha256 (const guint8 *key,
			     gsize keylen,
			     const guint8 *msg,
			     gsize msglen,
			     guint8 out[32],
			     GError **error);
gboolean ac_sev_aes128_ctr (const guint8 key[16],
			    const guint8 iv[16],
			    const guint8 *in,
			    gsize len,
			    guint8 *out,
			    GError **error);
gboolean ac_sev_random (guint8 *buf, gsize len, GError **error);
EVP_PKEY *ac_sev_ec_key_from_private (const guint8 *d_be, gsize len, GError **error);

G_END_DECLS
