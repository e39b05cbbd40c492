/*
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Web3 Secret Storage (version 3), as geth, eth-account and ethers write it:
 *   {"version":3, "address":"…", "crypto"|"Crypto":{"cipher":"aes-128-ctr",
 *    "cipherparams":{"iv":HEX16}, "ciphertext":HEX32, "kdf":"scrypt"|"pbkdf2",
 *    "kdfparams":{…,"dklen":32,"salt":HEX}, "mac":HEX32}, "id":…}
 * derived = KDF(password, salt); MAC = Keccak-256(derived[16..32] || ciphertext);
 * key = AES-128-CTR(derived[0..16], iv, ciphertext).
 * The file is untrusted input: every field is bounded before a byte of KDF work is done.
 */
#include "config.h"

#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "ac-codec.h"
#include "ac-error.h"
#include "ac-eth-keystore.h"
#include "ac-json.h"
#include "ac-keccak.h"

gboolean
ac_eth_keystore_is_json (const guint8 *data, gsize len)
{
	for (gsize i = 0; i < len; i++) {
		if (data[i] == ' ' || data[i] == '\t' || data[i] == '\r' || data[i] == '\n')
			continue;
		return data[i] == '{';
	}
	return FALSE;
}

void
ac_eth_keystore_free (AcEthKeystore *ks)
{
	if (ks == NULL)
		return;
	if (ks->salt != NULL)
		g_bytes_unref (ks->salt);
	g_free (ks->address);
	g_free (ks);
}

static gboolean
read_hex_fixed (const AcJsonScope *scope,
                JsonObject *o,
                const gchar *path,
                const gchar *name,
                guint8 *out,
                gsize len,
                GError **error)
{
	g_autofree gchar *text = NULL;
	g_autofree gchar *field = ac_json_field_path (path, name);

	if (!ac_json_read_string (scope, o, path, name, TRUE, len * 2 + 2, &text, error))
		return FALSE;
	if (!ac_codec_hex_decode_fixed (field, text, AC_CODEC_HEX_ALLOW_0X, out, len, NULL))
		return ac_json_fail (scope, error, field,
		                     "expected %" G_GSIZE_FORMAT " bytes in hexadecimal", len);
	return TRUE;
}

static gboolean
parse_kdfparams (const AcJsonScope *scope, AcEthKeystore *ks, JsonObject *crypto, GError **error)
{
	static const gchar *const scrypt_members[] = { "dklen", "n", "r", "p", "salt", NULL };
	static const gchar *const pbkdf2_members[] = { "dklen", "c", "prf", "salt", NULL };
	JsonObject *kp = NULL;
	g_autofree gchar *salt_hex = NULL;
	g_autoptr (GByteArray) salt = NULL;
	gint64 dklen = 0;

	if (!ac_json_read_object (scope, crypto, "crypto", "kdfparams", TRUE, &kp, error)
	    || !ac_json_check_members (
	        scope, kp, "crypto.kdfparams",
	        ks->kdf == AC_ETH_KEYSTORE_KDF_SCRYPT ? scrypt_members : pbkdf2_members, error))
		return FALSE;
	/* 32: the AES key and the MAC key; geth, eth-account and ethers all write 32 */
	if (!ac_json_read_int (scope, kp, "crypto.kdfparams", "dklen", TRUE, 32, 32, &dklen, NULL,
	                       error))
		return FALSE;
	if (!ac_json_read_string (scope, kp, "crypto.kdfparams", "salt", TRUE, 1024, &salt_hex,
	                          error))
		return FALSE;
	salt = ac_codec_hex_decode ("crypto.kdfparams.salt", salt_hex, AC_CODEC_HEX_ALLOW_0X, NULL);
	if (salt == NULL || salt->len == 0)
		return ac_json_fail (scope, error, "crypto.kdfparams.salt",
		                     "expected 1 to 512 bytes in hexadecimal");
	ks->salt = g_bytes_new (salt->data, salt->len);

	if (ks->kdf == AC_ETH_KEYSTORE_KDF_SCRYPT) {
		gint64 n = 0, r = 0, p = 0;
		if (!ac_json_read_int (scope, kp, "crypto.kdfparams", "n", TRUE, 2, 1ll << 30, &n,
		                       NULL, error)
		    || !ac_json_read_int (scope, kp, "crypto.kdfparams", "r", TRUE, 1, 64, &r, NULL,
		                          error)
		    || !ac_json_read_int (scope, kp, "crypto.kdfparams", "p", TRUE, 1, 16, &p, NULL,
		                          error))
			return FALSE;
		if ((n & (n - 1)) != 0)
			return ac_json_fail (scope, error, "crypto.kdfparams.n",
			                     "%" G_GINT64_FORMAT " is not a power of 2", n);
		if (128ull * (guint64)n * (guint64)r > AC_ETH_KEYSTORE_SCRYPT_MAX_MEM)
			return ac_json_fail (scope, error, "crypto.kdfparams.n",
			                     "scrypt with n=%" G_GINT64_FORMAT
			                     " r=%" G_GINT64_FORMAT
			                     " needs more than %llu MiB of memory",
			                     n, r, AC_ETH_KEYSTORE_SCRYPT_MAX_MEM >> 20);
		/* the work: 4 times geth's standard (n=2^18, r=8, p=1) at most */
		if ((guint64)n * (guint64)r * (guint64)p > (1ull << 23))
			return ac_json_fail (scope, error, "crypto.kdfparams.p",
			                     "scrypt with n=%" G_GINT64_FORMAT
			                     " r=%" G_GINT64_FORMAT " p=%" G_GINT64_FORMAT
			                     " is more work than accepted "
			                     "(n*r*p up to 2^23)",
			                     n, r, p);
		ks->n = (guint64)n;
		ks->r = (guint32)r;
		ks->p = (guint32)p;
	} else {
		g_autofree gchar *prf = NULL;
		gint64 c = 0;
		if (!ac_json_read_int (scope, kp, "crypto.kdfparams", "c", TRUE, 1,
		                       AC_ETH_KEYSTORE_PBKDF2_MAX_ITER, &c, NULL, error)
		    || !ac_json_read_string (scope, kp, "crypto.kdfparams", "prf", TRUE, 32, &prf,
		                             error))
			return FALSE;
		if (g_strcmp0 (prf, "hmac-sha256") != 0)
			return ac_json_fail (scope, error, "crypto.kdfparams.prf",
			                     "'%s': expected hmac-sha256", prf);
		ks->c = (guint32)c;
	}
	return TRUE;
}

/**
 * ac_eth_keystore_parse:
 * @what: the file, for errors ("keystore /root/.aleph-im/private-keys/me.json")
 *
 * Parses and bounds a V3 keystore (no key derivation yet).
 */
AcEthKeystore *
ac_eth_keystore_parse (const gchar *what, const gchar *data, gsize len, GError **error)
{
	AcJsonScope scope = { what, AC_ERROR_INVALID_INPUT };
	g_autoptr (JsonNode) root = NULL;
	g_autoptr (AcEthKeystore) ks = g_new0 (AcEthKeystore, 1);
	JsonObject *o, *crypto = NULL, *cp = NULL;
	g_autofree gchar *cipher = NULL, *kdf = NULL;
	gint64 version = 0;

	root = ac_json_parse_bounded (what, data, len, AC_ETH_KEYSTORE_MAX_SIZE,
	                              AC_ERROR_INVALID_INPUT, error);
	if (root == NULL)
		return NULL;
	if (!JSON_NODE_HOLDS_OBJECT (root)) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "%s: a JSON %s, expected a keystore object", what,
		             ac_json_type_name (root));
		return NULL;
	}
	o = json_node_get_object (root);
	if (!ac_json_read_int (&scope, o, NULL, "version", TRUE, 3, 3, &version, NULL, error))
		return NULL;
	/* ethers writes "Crypto", geth and eth-account "crypto" */
	if (json_object_has_member (o, "Crypto") && !json_object_has_member (o, "crypto")) {
		if (!ac_json_read_object (&scope, o, NULL, "Crypto", TRUE, &crypto, error))
			return NULL;
	} else if (!ac_json_read_object (&scope, o, NULL, "crypto", TRUE, &crypto, error)) {
		return NULL;
	}
	if (!ac_json_read_string (&scope, o, NULL, "address", FALSE, 42, &ks->address, error))
		return NULL;
	if (ks->address != NULL) {
		guint8 addr[20];
		if (!ac_codec_hex_decode_fixed ("address", ks->address, AC_CODEC_HEX_ALLOW_0X, addr,
		                                sizeof (addr), NULL)) {
			ac_json_fail (&scope, error, "address", "expected 20 bytes in hexadecimal");
			return NULL;
		}
	}
	if (!ac_json_read_string (&scope, crypto, "crypto", "cipher", TRUE, 32, &cipher, error))
		return NULL;
	if (g_strcmp0 (cipher, "aes-128-ctr") != 0) {
		ac_json_fail (&scope, error, "crypto.cipher", "'%s': expected aes-128-ctr", cipher);
		return NULL;
	}
	if (!ac_json_read_object (&scope, crypto, "crypto", "cipherparams", TRUE, &cp, error)
	    || !read_hex_fixed (&scope, cp, "crypto.cipherparams", "iv", ks->iv, sizeof (ks->iv),
	                        error)
	    || !read_hex_fixed (&scope, crypto, "crypto", "ciphertext", ks->ciphertext,
	                        sizeof (ks->ciphertext), error)
	    || !read_hex_fixed (&scope, crypto, "crypto", "mac", ks->mac, sizeof (ks->mac), error))
		return NULL;
	if (!ac_json_read_string (&scope, crypto, "crypto", "kdf", TRUE, 32, &kdf, error))
		return NULL;
	if (g_strcmp0 (kdf, "scrypt") == 0) {
		ks->kdf = AC_ETH_KEYSTORE_KDF_SCRYPT;
	} else if (g_strcmp0 (kdf, "pbkdf2") == 0) {
		ks->kdf = AC_ETH_KEYSTORE_KDF_PBKDF2;
	} else {
		ac_json_fail (&scope, error, "crypto.kdf", "'%s': expected scrypt or pbkdf2", kdf);
		return NULL;
	}
	if (!parse_kdfparams (&scope, ks, crypto, error))
		return NULL;
	return g_steal_pointer (&ks);
}

/**
 * ac_eth_keystore_decrypt:
 *
 * Derives the key of @password, checks the MAC (in constant time) and decrypts. A MAC that
 * differs is a wrong password (or a corrupted file): AC_ERROR_MISMATCH, naming @what.
 */
AcSecret *
ac_eth_keystore_decrypt (const gchar *what,
                         const AcEthKeystore *ks,
                         const AcSecret *password,
                         GError **error)
{
	g_auto (AcSecretBuf) derived = { 0 };
	g_auto (AcSecretBuf) key = { 0 };
	guint8 mac[AC_KECCAK256_LEN];
	AcKeccak256 kctx;
	gsize salt_len = 0;
	const guint8 *salt = g_bytes_get_data (ks->salt, &salt_len);
	EVP_CIPHER_CTX *cctx = NULL;
	int outl = 0, finl = 0;
	gboolean ok;

	if (ks->kdf == AC_ETH_KEYSTORE_KDF_SCRYPT)
		ok = EVP_PBE_scrypt (password->data, password->len, salt, salt_len, ks->n, ks->r,
		                     ks->p, AC_ETH_KEYSTORE_SCRYPT_MAX_MEM + 64 * 1024 * 1024,
		                     derived.data, 32)
		     == 1;
	else
		ok = PKCS5_PBKDF2_HMAC (password->data, (int)password->len, salt, (int)salt_len,
		                        (int)ks->c, EVP_sha256 (), 32, derived.data)
		     == 1;
	if (!ok) {
		g_set_error (error, AC_ERROR, AC_ERROR_INTERNAL,
		             "%s: OpenSSL could not derive the key (%s)", what,
		             ks->kdf == AC_ETH_KEYSTORE_KDF_SCRYPT ? "scrypt" : "pbkdf2");
		return NULL;
	}
	ac_keccak256_init (&kctx);
	ac_keccak256_update (&kctx, derived.data + 16, 16);
	ac_keccak256_update (&kctx, ks->ciphertext, sizeof (ks->ciphertext));
	ac_keccak256_final (&kctx, mac);
	ac_secret_wipe (&kctx, sizeof (kctx));
	if (CRYPTO_memcmp (mac, ks->mac, sizeof (mac)) != 0) {
		g_set_error (error, AC_ERROR, AC_ERROR_MISMATCH,
		             "%s: wrong password (the keystore's MAC does not match the key the "
		             "password derives)",
		             what);
		return NULL;
	}
	cctx = EVP_CIPHER_CTX_new ();
	ok = cctx != NULL
	     && EVP_DecryptInit_ex (cctx, EVP_aes_128_ctr (), NULL, derived.data, ks->iv) == 1
	     && EVP_DecryptUpdate (cctx, key.data, &outl, ks->ciphertext,
	                           (int)sizeof (ks->ciphertext))
	            == 1
	     && EVP_DecryptFinal_ex (cctx, key.data + outl, &finl) == 1 && outl + finl == 32;
	EVP_CIPHER_CTX_free (cctx);
	if (!ok) {
		g_set_error (error, AC_ERROR, AC_ERROR_INTERNAL, "%s: AES-128-CTR failed", what);
		return NULL;
	}
	return ac_secret_new ((const gchar *)key.data, 32);
}
