/*
 * AMD SEV certificates: the 2084-byte SEV certificate (CEK, OCA, PEK, PDH, guest-owner GODH)
 * and the AMD root/signing certificate (ARK, ASK). Parsing checks every length, version, usage
 * and algorithm field before use; nothing else in the library reads the raw bytes.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>
#include <openssl/evp.h>

#include "ac-secret.h"

G_BEGIN_DECLS

#define AC_SEV_CERT_SIZE 2084
#define AC_SEV_CERT_BODY_SIZE 0x414
#define AC_AMD_CERT_HEADER_SIZE 0x40
#define AC_AMD_CERT_SIZE_2048 832
#define AC_AMD_CERT_SIZE_4096 1600

typedef enum {
	AC_SEV_USAGE_ARK = 0x0000,
	AC_SEV_USAGE_ASK = 0x0013,
	AC_SEV_USAGE_INVALID = 0x1000,
	AC_SEV_USAGE_OCA = 0x1001,
	AC_SEV_USAGE_PEK = 0x1002,
	AC_SEV_USAGE_PDH = 0x1003,
	AC_SEV_USAGE_CEK = 0x1004,
} AcSevUsage;

typedef enum {
	AC_SEV_ALGO_INVALID = 0x000,
	AC_SEV_ALGO_RSA_SHA256 = 0x001,
	AC_SEV_ALGO_ECDSA_SHA256 = 0x002,
	AC_SEV_ALGO_ECDH_SHA256 = 0x003,
	AC_SEV_ALGO_RSA_SHA384 = 0x101,
	AC_SEV_ALGO_ECDSA_SHA384 = 0x102,
	AC_SEV_ALGO_ECDH_SHA384 = 0x103,
} AcSevAlgo;

const gchar *
ac_sev_usage_to_string (guint32 usage);
const gchar *
ac_sev_algo_to_string (guint32 algo);

/* ---- SEV certificate ---- */

typedef struct _AcSevCert AcSevCert;

AcSevCert *
ac_sev_cert_parse (const guint8 *data, gsize len, GError **error);
AcSevCert *
ac_sev_cert_parse_file (const gchar *path, GError **error);
AcSevCert *
ac_sev_cert_ref (AcSevCert *self);
void
ac_sev_cert_unref (AcSevCert *self);
AcSevCert *
ac_sev_cert_new_ec (guint32 usage,
                    guint32 algo,
                    guint8 api_major,
                    guint8 api_minor,
                    EVP_PKEY *key,
                    GError **error);

const guint8 *
ac_sev_cert_get_data (const AcSevCert *self); /* AC_SEV_CERT_SIZE bytes */
GBytes *
ac_sev_cert_to_bytes (const AcSevCert *self);
guint32
ac_sev_cert_get_usage (const AcSevCert *self);
guint32
ac_sev_cert_get_algo (const AcSevCert *self);
guint8
ac_sev_cert_get_api_major (const AcSevCert *self);
guint8
ac_sev_cert_get_api_minor (const AcSevCert *self);
guint32
ac_sev_cert_get_sig_usage (const AcSevCert *self, guint slot);
guint32
ac_sev_cert_get_sig_algo (const AcSevCert *self, guint slot);
gboolean
ac_sev_cert_slot_is_empty (const AcSevCert *self, guint slot);
EVP_PKEY *
ac_sev_cert_get_pubkey (const AcSevCert *self); /* borrowed */
gchar *
ac_sev_cert_fingerprint (const AcSevCert *self); /* SHA-256 of the body, hex */
gboolean
ac_sev_cert_require_usage (const AcSevCert *self, guint32 usage, const gchar *what, GError **error);

/* signature slots (0 or 1) */
gboolean
ac_sev_cert_sign (AcSevCert *self,
                  guint slot,
                  const AcSevCert *signer,
                  EVP_PKEY *signer_priv,
                  GError **error);
gboolean
ac_sev_cert_verify (const AcSevCert *self, const AcSevCert *signer, guint *slot, GError **error);

/* ---- AMD certificate (ARK, ASK) ---- */

typedef struct _AcAmdCert AcAmdCert;

AcAmdCert *
ac_amd_cert_parse (const guint8 *data, gsize len, gsize *consumed, GError **error);
AcAmdCert *
ac_amd_cert_parse_file (const gchar *path, GError **error);
AcAmdCert *
ac_amd_cert_ref (AcAmdCert *self);
void
ac_amd_cert_unref (AcAmdCert *self);
AcAmdCert *
ac_amd_cert_new (guint32 usage,
                 const guint8 key_id[16],
                 const guint8 certifying_id[16],
                 EVP_PKEY *rsa_key,
                 GError **error);

const guint8 *
ac_amd_cert_get_data (const AcAmdCert *self, gsize *len);
GBytes *
ac_amd_cert_to_bytes (const AcAmdCert *self);
guint32
ac_amd_cert_get_usage (const AcAmdCert *self);
const guint8 *
ac_amd_cert_get_key_id (const AcAmdCert *self); /* 16 bytes */
const guint8 *
ac_amd_cert_get_certifying_id (const AcAmdCert *self); /* 16 bytes */
gchar *
ac_amd_cert_get_key_id_hex (const AcAmdCert *self);
guint
ac_amd_cert_get_modulus_bits (const AcAmdCert *self);
EVP_PKEY *
ac_amd_cert_get_pubkey (const AcAmdCert *self); /* borrowed */
gchar *
ac_amd_cert_fingerprint (const AcAmdCert *self); /* SHA-256/384 of the body, hex */
gboolean
ac_amd_cert_same_key (const AcAmdCert *a, const AcAmdCert *b);

gboolean
ac_amd_cert_sign (AcAmdCert *self, const AcAmdCert *signer, EVP_PKEY *signer_priv, GError **error);
gboolean
ac_amd_cert_verify (const AcAmdCert *self, const AcAmdCert *signer, GError **error);

/* a CEK slot signed by the ASK (RSA-PSS, SHA-256 for 2048-bit ASKs, SHA-384 for 4096) */
gboolean
ac_sev_cert_sign_by_amd (AcSevCert *self,
                         guint slot,
                         const AcAmdCert *signer,
                         EVP_PKEY *signer_priv,
                         GError **error);
gboolean
ac_sev_cert_verify_by_amd (const AcSevCert *self,
                           const AcAmdCert *signer,
                           guint *slot,
                           GError **error);

/* a private key as PEM (PKCS#8), for the software PSPs' and devnet's key files: @key encoded
 * into self-wiping memory, NULL when OpenSSL cannot (its error queue says why); @pem decoded,
 * NULL when it holds no PEM private key */
AcSecret *
ac_sev_private_key_to_pem (EVP_PKEY *key);
EVP_PKEY *
ac_sev_private_key_from_pem (const gchar *pem, gsize len);
/* the largest private key file read: a PEM RSA-4096 or P-384 key is a few KiB */
#define AC_SEV_KEY_FILE_MAX (64 * 1024)
/* the PEM private key file @path, a regular file of at most %AC_SEV_KEY_FILE_MAX bytes
 * (ac_file_read_bounded()), what was read wiped. %NULL with *@readable FALSE and @error when
 * it cannot be read: "@what PATH is missing" (%AC_ERROR_NOT_FOUND), else "@what: <why>" (one
 * larger than the limit: %AC_ERROR_INVALID_INPUT, naming the file and the limit). %NULL with
 * *@readable TRUE and @error untouched when it holds no PEM private key: the caller words that
 * (OpenSSL's error queue says why) */
EVP_PKEY *
ac_sev_private_key_read (const gchar *path, const gchar *what, gboolean *readable, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (AcSevCert, ac_sev_cert_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AcAmdCert, ac_amd_cert_unref)

G_END_DECLS
