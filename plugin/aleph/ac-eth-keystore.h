/*
 * aleph-confidential: Ethereum V3 JSON keystores (the newer aleph SDK's, geth's, ethers'):
 * scrypt or PBKDF2-HMAC-SHA256, AES-128-CTR, a Keccak-256 MAC over the key's second half and
 * the ciphertext.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

#include "ac-secret.h"

G_BEGIN_DECLS

/* the largest keystore file read (geth's are about 500 bytes) */
#define AC_ETH_KEYSTORE_MAX_SIZE (64 * 1024)
/* the most memory scrypt may use (128 * N * r bytes): 1 GiB, 4 times geth's standard */
#define AC_ETH_KEYSTORE_SCRYPT_MAX_MEM (1024ull * 1024 * 1024)
/* the most PBKDF2 iterations (geth: 262144) */
#define AC_ETH_KEYSTORE_PBKDF2_MAX_ITER 10000000u

typedef enum {
	AC_ETH_KEYSTORE_KDF_SCRYPT,
	AC_ETH_KEYSTORE_KDF_PBKDF2,
} AcEthKeystoreKdf;

typedef struct {
	AcEthKeystoreKdf kdf;
	guint64 n;    /* scrypt: N, a power of 2 */
	guint32 r, p; /* scrypt */
	guint32 c;    /* pbkdf2: iterations */
	GBytes *salt;
	guint8 iv[16];
	guint8 ciphertext[32];
	guint8 mac[32];
	gchar *address; /* nullable: "0x…" as the file has it, checked against the key */
} AcEthKeystore;

/* whether @data looks like a JSON keystore rather than a raw 32-byte key ('{' first) */
gboolean
ac_eth_keystore_is_json (const guint8 *data, gsize len);

AcEthKeystore *
ac_eth_keystore_parse (const gchar *what, const gchar *data, gsize len, GError **error);
/* the private key, or NULL: a wrong password is AC_ERROR_MISMATCH naming @what */
AcSecret *
ac_eth_keystore_decrypt (const gchar *what,
                         const AcEthKeystore *ks,
                         const AcSecret *password,
                         GError **error);
void
ac_eth_keystore_free (AcEthKeystore *ks);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AcEthKeystore, ac_eth_keystore_free)

G_END_DECLS
