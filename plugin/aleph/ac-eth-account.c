/*
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <openssl/rand.h>
#include <secp256k1.h>
#include <secp256k1_recovery.h>

#include "ac-aleph-util.h"
#include "ac-codec.h"
#include "ac-error.h"
#include "ac-eth-account.h"
#include "ac-eth-keystore.h"
#include "ac-file.h"
#include "ac-keccak.h"
#include "ac-secret.h"

struct _AcEthAccount {
	guint8 seckey[AC_ETH_PRIVATE_KEY_LEN];
	guint8 pubkey[64];
	gchar address[43];
};

static secp256k1_context *
ac_secp256k1_context (void)
{
	static gsize once = 0;
	static secp256k1_context *ctx = NULL;

	if (g_once_init_enter (&once)) {
		guint8 seed[32];
		ctx = secp256k1_context_create (SECP256K1_CONTEXT_NONE);
		/* blinding against side channels; deterministic signatures are unaffected */
		if (RAND_bytes (seed, sizeof (seed)) == 1 &&
		    !secp256k1_context_randomize (ctx, seed))
			g_warning ("secp256k1 context blinding failed");
		ac_secret_wipe (seed, sizeof (seed));
		g_once_init_leave (&once, 1);
	}
	return ctx;
}

gchar *
ac_eth_address_checksum (const guint8 addr[AC_ETH_ADDRESS_LEN])
{
	g_autofree gchar *lower = ac_codec_hex_encode (addr, AC_ETH_ADDRESS_LEN);
	guint8 hash[AC_KECCAK256_LEN];
	GString *out = g_string_new ("0x");

	ac_keccak256 ((const guint8 *)lower, 40, hash);
	for (guint i = 0; i < 40; i++) {
		guint nibble = (i % 2 == 0) ? hash[i / 2] >> 4 : hash[i / 2] & 0xf;
		gchar c = lower[i];
		g_string_append_c (out, (nibble >= 8) ? g_ascii_toupper (c) : c);
	}
	return g_string_free (out, FALSE);
}

gchar *
ac_eth_address_from_public_key (const guint8 pub[64])
{
	guint8 hash[AC_KECCAK256_LEN];
	ac_keccak256 (pub, 64, hash);
	return ac_eth_address_checksum (hash + 12);
}

gboolean
ac_eth_address_parse (const gchar *text, guint8 addr[AC_ETH_ADDRESS_LEN], GError **error)
{
	gboolean has_upper = FALSE;
	gboolean has_lower = FALSE;
	g_autofree gchar *checksummed = NULL;

	if (text == NULL || strlen (text) != 42 || text[0] != '0' || text[1] != 'x') {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			     "address '%s' is not an Ethereum address, expected 0x and 40 hex digits",
			     text != NULL ? text : "(null)");
		return FALSE;
	}
	if (!ac_codec_hex_decode_fixed ("address", text, AC_CODEC_HEX_ALLOW_0X, addr,
					AC_ETH_ADDRESS_LEN, error))
		return FALSE;
	for (guint i = 2; i < 42; i++) {
		if (g_ascii_isupper (text[i]))
			has_upper = TRUE;
		else if (g_ascii_islower (text[i]))
			has_lower = TRUE;
	}
	if (has_upper && has_lower) {
		checksummed = ac_eth_address_checksum (addr);
		if (g_strcmp0 (checksummed, text) != 0) {
			g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
				     "address '%s' has a wrong EIP-55 checksum, expected %s", text,
				     checksummed);
			return FALSE;
		}
	}
	return TRUE;
}

gboolean
ac_eth_address_equal (const gchar *a, const gchar *b)
{
	return a != NULL && b != NULL && g_ascii_strcasecmp (a, b) == 0;
}

void
ac_eth_personal_digest (const guint8 *msg, gsize msg_len, guint8 digest[32])
{
	AcKeccak256 ctx;
	g_autofree gchar *prefix =
	    g_strdup_printf ("\x19" "Ethereum Signed Message:\n%" G_GSIZE_FORMAT, msg_len);

	ac_keccak256_init (&ctx);
	ac_keccak256_update (&ctx, (const guint8 *)prefix, strlen (prefix));
	ac_keccak256_update (&ctx, msg, msg_len);
	ac_keccak256_final (&ctx, digest);
}

AcEthAccount *
ac_eth_account_new_from_private_key (const guint8 *key, gsize key_len, GError **error)
{
	secp256k1_context *ctx = ac_secp256k1_context ();
	secp256k1_pubkey pub;
	guint8 ser[65];
	size_t ser_len = sizeof (ser);
	g_autofree gchar *address = NULL;
	AcEthAccount *self;

	if (key_len != AC_ETH_PRIVATE_KEY_LEN) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			     "private key of %" G_GSIZE_FORMAT " bytes, expected 32", key_len);
		return NULL;
	}
	if (!secp256k1_ec_seckey_verify (ctx, key)) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
				     "private key is not a valid secp256k1 scalar (zero or ≥ n)");
		return NULL;
	}
	if (!secp256k1_ec_pubkey_create (ctx, &pub, key)) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_INTERNAL,
				     "secp256k1 could not derive the public key");
		return NULL;
	}
	secp256k1_ec_pubkey_serialize (ctx, ser, &ser_len, &pub, SECP256K1_EC_UNCOMPRESSED);
	self = g_new0 (AcEthAccount, 1);
	memcpy (self->seckey, key, AC_ETH_PRIVATE_KEY_LEN);
	memcpy (self->pubkey, ser + 1, 64);
	address = ac_eth_address_from_public_key (self->pubkey);
	g_strlcpy (self->address, address, sizeof (self->address));
	return self;
}

AcEthAccount *
ac_eth_account_generate (GError **error)
{
	guint8 key[AC_ETH_PRIVATE_KEY_LEN];
	AcEthAccount *self = NULL;

	for (guint i = 0; i < 16 && self == NULL; i++) {
		if (RAND_bytes (key, sizeof (key)) != 1) {
			g_set_error_literal (error, AC_ERROR, AC_ERROR_INTERNAL,
					     "OpenSSL RAND_bytes failed to produce a key");
			break;
		}
		if (secp256k1_ec_seckey_verify (ac_secp256k1_context (), key))
			self = ac_eth_account_new_from_private_key (key, sizeof (key), error);
	}
	ac_secret_wipe (key, sizeof (key));
	return self;
}

void
ac_eth_account_free (AcEthAccount *self)
{
	if (self == NULL)
		return;
	ac_secret_wipe (self->seckey, sizeof (self->seckey));
	g_free (self);
}

const gchar *
ac_eth_account_get_address (AcEthAccount *self)
{
	return self->address;
}

const guint8 *
ac_eth_account_get_public_key (AcEthAccount *self)
{
	return self->pubkey;
}

/**
 * ac_eth_default_key_path:
 *
 * The key aleph-client and its SDK use when none is named: $ALEPH_PRIVATE_KEY_FILE when set,
 * else in the SDK's private-keys directory ($XDG_DATA_HOME or the home directory, then
 * .aleph-im/private-keys/) default.key when it exists (the SDK's link to the chosen key),
 * else ethereum.key (which need not exist: account create makes it).
 */
gchar *
ac_eth_default_key_path (void)
{
	const gchar *env = g_getenv ("ALEPH_PRIVATE_KEY_FILE");
	const gchar *xdg = g_getenv ("XDG_DATA_HOME");
	const gchar *base = (xdg != NULL && xdg[0] != '\0') ? xdg : g_get_home_dir ();
	g_autofree gchar *dir = NULL;
	g_autofree gchar *link = NULL;
	struct stat st;

	if (env != NULL && env[0] != '\0')
		return g_strdup (env);
	dir = g_build_filename (base, ".aleph-im", "private-keys", NULL);
	link = g_build_filename (dir, "default.key", NULL);
	/* present, even dangling: then its error names it, rather than another key being used */
	if (lstat (link, &st) == 0)
		return g_steal_pointer (&link);
	return g_build_filename (dir, "ethereum.key", NULL);
}

/* a keystore's key, its password from @password_file or the terminal */
static AcEthAccount *
ac_eth_account_from_keystore (const gchar *path, const gchar *data, gsize len,
			      const gchar *password_file, GError **error)
{
	g_autofree gchar *what = g_strdup_printf ("keystore %s", path);
	g_autoptr (AcEthKeystore) ks = ac_eth_keystore_parse (what, data, len, error);
	g_autoptr (AcSecret) password = NULL;
	g_autoptr (AcSecret) key = NULL;
	g_autoptr (AcEthAccount) self = NULL;

	if (ks == NULL)
		return NULL;
	password = ac_secret_read_password (what, password_file, "--password-file", error);
	if (password == NULL)
		return NULL;
	key = ac_eth_keystore_decrypt (what, ks, password, error);
	if (key == NULL)
		return NULL;
	self = ac_eth_account_new_from_private_key ((const guint8 *)key->data, key->len, error);
	if (self == NULL) {
		g_prefix_error (error, "%s: ", what);
		return NULL;
	}
	if (ks->address != NULL) {
		g_autofree gchar *addr = g_str_has_prefix (ks->address, "0x") ||
						 g_str_has_prefix (ks->address, "0X")
					     ? g_strdup (ks->address)
					     : g_strconcat ("0x", ks->address, NULL);
		if (!ac_eth_address_equal (addr, self->address)) {
			g_set_error (error, AC_ERROR, AC_ERROR_MISMATCH,
				     "%s: its key is the one of %s, but the file says address %s",
				     what, self->address, ks->address);
			return NULL;
		}
	}
	return g_steal_pointer (&self);
}

/**
 * ac_eth_account_load_key_file_full:
 * @path: aleph-client's raw 32-byte key file, or an Ethereum V3 JSON keystore (the newer
 *   SDK's); a symbolic link is followed (the SDK's default.key is one)
 * @password_file: (nullable): a keystore's password (one line); NULL: asked on the terminal
 *
 * The file must be a regular file that neither group nor others may read or write.
 */
AcEthAccount *
ac_eth_account_load_key_file_full (const gchar *path, const gchar *password_file,
				   GError **error)
{
	g_autoptr (GError) error_local = NULL;
	gchar *data = NULL;
	const guint8 *buf;
	gsize got = 0;
	AcEthAccount *self;

	/* a regular file (a FIFO is refused, never waited on) that group and others cannot
	 * access, of at most a keystore's size; checked on the file opened */
	if (!ac_file_read_bounded_full (path, AC_ETH_KEYSTORE_MAX_SIZE, AC_FILE_READ_PRIVATE, &data,
	                                &got, &error_local)) {
		gboolean missing = g_error_matches (error_local, AC_ERROR, AC_ERROR_NOT_FOUND);
		g_set_error (error, AC_ERROR, error_local->code, "key file: %s%s",
		             error_local->message,
		             missing ? " (create one with 'virt-aleph account create' or import "
		                       "one with 'virt-aleph account import')"
		                     : "");
		return NULL;
	}
	buf = (const guint8 *)data;
	if (got == AC_ETH_PRIVATE_KEY_LEN) {
		self = ac_eth_account_new_from_private_key (buf, AC_ETH_PRIVATE_KEY_LEN, error);
		if (self == NULL)
			g_prefix_error (error, "key file %s: ", path);
	} else if (ac_eth_keystore_is_json (buf, got)) {
		self = ac_eth_account_from_keystore (path, (const gchar *)buf, got, password_file,
						     error);
	} else {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "key file %s holds %" G_GSIZE_FORMAT
		             " bytes, expected the 32 raw bytes of aleph-client's ethereum.key or "
		             "an Ethereum V3 JSON keystore",
		             path, got);
		self = NULL;
	}
	ac_secret_wipe_free (data, got + 1);
	return self;
}

AcEthAccount *
ac_eth_account_load_key_file (const gchar *path, GError **error)
{
	return ac_eth_account_load_key_file_full (path, NULL, error);
}

gboolean
ac_eth_account_save_key_file (AcEthAccount *self, const gchar *path, GError **error)
{
	g_autofree gchar *dir = g_path_get_dirname (path);
	g_autofree gchar *what = g_strdup_printf ("key file %s", path);
	int fd;

	if (g_mkdir_with_parents (dir, 0700) != 0) {
		int errsv = errno;
		g_set_error (error, AC_ERROR, AC_ERROR_IO, "cannot create directory %s: %s", dir,
			     g_strerror (errsv));
		return FALSE;
	}
	fd = open (path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		int errsv = errno;
		g_set_error (error, AC_ERROR, errsv == EEXIST ? AC_ERROR_EXISTS : AC_ERROR_IO,
			     "cannot create key file %s: %s%s", path, g_strerror (errsv),
			     errsv == EEXIST ? " (refusing to overwrite an existing key)" : "");
		return FALSE;
	}
	if (!ac_file_write_all (fd, what, self->seckey, AC_ETH_PRIVATE_KEY_LEN, error)) {
		close (fd);
		(void)g_unlink (path);
		return FALSE;
	}
	if (fsync (fd) != 0 || close (fd) != 0) {
		int errsv = errno;
		(void)g_unlink (path);
		g_set_error (error, AC_ERROR, AC_ERROR_IO, "cannot write key file %s: %s", path,
			     g_strerror (errsv));
		return FALSE;
	}
	return TRUE;
}

gboolean
ac_eth_account_sign_personal (AcEthAccount *self,
			      const guint8 *msg,
			      gsize msg_len,
			      guint8 sig[AC_ETH_SIGNATURE_LEN],
			      GError **error)
{
	secp256k1_context *ctx = ac_secp256k1_context ();
	secp256k1_ecdsa_recoverable_signature rsig;
	guint8 digest[32];
	int recid = 0;

	ac_eth_personal_digest (msg, msg_len, digest);
	/* NULL nonce function = RFC 6979; libsecp256k1 always returns low-s */
	if (!secp256k1_ecdsa_sign_recoverable (ctx, &rsig, digest, self->seckey, NULL, NULL)) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_INTERNAL, "secp256k1 signing failed");
		return FALSE;
	}
	secp256k1_ecdsa_recoverable_signature_serialize_compact (ctx, sig, &recid, &rsig);
	sig[64] = (guint8)(27 + recid);
	return TRUE;
}

gchar *
ac_eth_account_sign_personal_hex (AcEthAccount *self,
				  const guint8 *msg,
				  gsize msg_len,
				  GError **error)
{
	guint8 sig[AC_ETH_SIGNATURE_LEN];
	g_autofree gchar *hex = NULL;

	if (!ac_eth_account_sign_personal (self, msg, msg_len, sig, error))
		return NULL;
	hex = ac_codec_hex_encode (sig, sizeof (sig));
	return g_strconcat ("0x", hex, NULL);
}

gboolean
ac_eth_recover_personal (const guint8 *msg,
			 gsize msg_len,
			 const gchar *signature_hex,
			 gchar **address_out,
			 GError **error)
{
	secp256k1_context *ctx = ac_secp256k1_context ();
	secp256k1_ecdsa_recoverable_signature rsig;
	secp256k1_pubkey pub;
	guint8 sig[AC_ETH_SIGNATURE_LEN];
	guint8 digest[32];
	guint8 ser[65];
	size_t ser_len = sizeof (ser);
	int recid;

	if (!ac_codec_hex_decode_fixed ("signature", signature_hex, AC_CODEC_HEX_ALLOW_0X, sig,
					sizeof (sig), error))
		return FALSE;
	if (sig[64] >= 27)
		recid = sig[64] - 27;
	else
		recid = sig[64];
	if (recid < 0 || recid > 3) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			     "signature: recovery byte v=%u, expected 27 or 28", sig[64]);
		return FALSE;
	}
	if (!secp256k1_ecdsa_recoverable_signature_parse_compact (ctx, &rsig, sig, recid)) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
				     "signature: r or s is out of range");
		return FALSE;
	}
	/* EIP-2: only s <= n/2, so (r, n - s) is not a second valid signature of the same
	 * message; our signer (libsecp256k1) and the usual wallets make low-s ones */
	{
		secp256k1_ecdsa_signature plain;
		if (!secp256k1_ecdsa_signature_parse_compact (ctx, &plain, sig) ||
		    secp256k1_ecdsa_signature_normalize (ctx, NULL, &plain)) {
			g_set_error_literal (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
					     "signature: s is above half the curve order (a malleable "
					     "high-s signature; EIP-2 accepts only s <= n/2)");
			return FALSE;
		}
	}
	ac_eth_personal_digest (msg, msg_len, digest);
	if (!secp256k1_ecdsa_recover (ctx, &pub, &rsig, digest)) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_MISMATCH,
				     "signature: no public key recovers from it");
		return FALSE;
	}
	secp256k1_ec_pubkey_serialize (ctx, ser, &ser_len, &pub, SECP256K1_EC_UNCOMPRESSED);
	*address_out = ac_eth_address_from_public_key (ser + 1);
	return TRUE;
}
