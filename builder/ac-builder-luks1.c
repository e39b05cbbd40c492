/*
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * libcryptsetup draws the LUKS1 salts and anti-forensic stripes from the system RNG, so two
 * headers are never equal. Reproducible mode (identical inputs and passphrase → identical
 * image bytes) writes the header itself, following the LUKS1 on-disk format (header of 592
 * bytes, big-endian; 8 key slots; AF-split with 4000 stripes; key material encrypted with the
 * volume cipher under PBKDF2(passphrase, slot salt)), with every "random" byte drawn from a
 * deterministic stream. libcryptsetup then loads and opens the result in the verify step, and
 * the tests open it with cryptsetup and QEMU.
 *
 * The stream key is PBKDF2-SHA256(passphrase, "aleph-confidential/reproducible/1" || seed) with
 * the passphrase slot's iteration count: knowing the (public) seed does not reveal the volume
 * key, and guessing the passphrase through the stream costs what guessing it through slot 0
 * costs.
 */

#include "config.h"

#include "ac-builder-luks1.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <string.h>
#include <unistd.h>

#include "ac-builder-xts.h"
#include "ac-error.h"
#include "ac-secret.h"

#define LUKS1_PHDR_SIZE 592
#define LUKS1_STRIPES 4000
#define LUKS1_DIGEST_SIZE 20
#define LUKS1_SALT_SIZE 32
#define LUKS1_KEY_ENABLED 0x00AC71F3u
#define LUKS1_KEY_DISABLED 0x0000DEADu
#define LUKS1_ALIGN_KEYSLOTS 4096
#define LUKS1_DATA_ALIGNMENT (1024 * 1024)
#define LUKS1_MKD_ITERATIONS 1000
#define LUKS1_KEYFILE_ITERATIONS 1000

struct _AcDrbg {
	guint8 key[32];
};

void
ac_drbg_free (AcDrbg *self)
{
	if (self == NULL)
		return;
	ac_secret_wipe (self->key, sizeof (self->key));
	g_free (self);
}

AcDrbg *
ac_drbg_new (const AcSecret *passphrase, const gchar *seed, guint32 iterations, GError **error)
{
	g_autoptr(AcDrbg) self = g_new0 (AcDrbg, 1);
	g_autofree gchar *salt = g_strconcat ("aleph-confidential/reproducible/1", seed, NULL);
	if (seed == NULL || seed[0] == '\0') {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
				     "reproducible mode needs a non-empty seed");
		return NULL;
	}
	if (PKCS5_PBKDF2_HMAC (passphrase->data, (int)passphrase->len, (const guint8 *)salt,
			       (int)strlen (salt), (int)MAX (iterations, 1000u), EVP_sha256 (),
			       sizeof (self->key), self->key) != 1) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_INTERNAL, "PBKDF2 failed");
		return NULL;
	}
	return g_steal_pointer (&self);
}

/* block k of a label's stream = HMAC-SHA256(key, label || 0x00 || BE32(k)) */
void
ac_drbg_generate (AcDrbg *self, const gchar *label, guint8 *out, gsize len)
{
	gsize llen = strlen (label);
	g_autofree guint8 *msg = g_malloc (llen + 5);
	memcpy (msg, label, llen);
	msg[llen] = 0;
	for (guint32 k = 0; len > 0; k++) {
		guint8 block[32];
		unsigned int blen = 0;
		gsize n = MIN (len, sizeof (block));
		msg[llen + 1] = (guint8)(k >> 24);
		msg[llen + 2] = (guint8)(k >> 16);
		msg[llen + 3] = (guint8)(k >> 8);
		msg[llen + 4] = (guint8)k;
		HMAC (EVP_sha256 (), self->key, sizeof (self->key), msg, llen + 5, block, &blen);
		memcpy (out, block, n);
		ac_secret_wipe (block, sizeof (block));
		out += n;
		len -= n;
	}
}

/* an RFC 4122 version-4-shaped UUID drawn from the stream */
gchar *
ac_drbg_uuid (AcDrbg *self, const gchar *label)
{
	guint8 u[16];
	ac_drbg_generate (self, label, u, sizeof (u));
	u[6] = (u[6] & 0x0f) | 0x40;
	u[8] = (u[8] & 0x3f) | 0x80;
	return g_strdup_printf ("%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
				u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10],
				u[11], u[12], u[13], u[14], u[15]);
}

static void
put_be32 (guint8 *p, guint32 v)
{
	p[0] = (guint8)(v >> 24);
	p[1] = (guint8)(v >> 16);
	p[2] = (guint8)(v >> 8);
	p[3] = (guint8)v;
}

/* LUKS1 diffuse: each digest-sized block j becomes H(BE32(j) || block), truncated */
static gboolean
luks1_diffuse (const EVP_MD *md, guint8 *buf, gsize len)
{
	gsize ds = (gsize)EVP_MD_get_size (md);
	guint8 out[EVP_MAX_MD_SIZE];
	for (gsize j = 0; j * ds < len; j++) {
		gsize n = MIN (ds, len - j * ds);
		guint8 iv[4];
		EVP_MD_CTX *ctx = EVP_MD_CTX_new ();
		gboolean ok;
		put_be32 (iv, (guint32)j);
		ok = ctx != NULL && EVP_DigestInit_ex (ctx, md, NULL) == 1 &&
		     EVP_DigestUpdate (ctx, iv, 4) == 1 && EVP_DigestUpdate (ctx, buf + j * ds, n) == 1 &&
		     EVP_DigestFinal_ex (ctx, out, NULL) == 1;
		EVP_MD_CTX_free (ctx);
		if (!ok)
			return FALSE;
		memcpy (buf + j * ds, out, n);
	}
	ac_secret_wipe (out, sizeof (out));
	return TRUE;
}

/* AF-split @key into @stripes stripes; the random stripes come from the stream */
static gboolean
luks1_af_split (const EVP_MD *md, AcDrbg *drbg, const gchar *label, const guint8 *key, gsize klen,
		guint8 *out)
{
	g_autofree guint8 *d = g_malloc0 (klen);
	ac_drbg_generate (drbg, label, out, klen * (LUKS1_STRIPES - 1));
	for (guint i = 0; i < LUKS1_STRIPES - 1; i++) {
		for (gsize b = 0; b < klen; b++)
			d[b] ^= out[i * klen + b];
		if (!luks1_diffuse (md, d, klen))
			return FALSE;
	}
	for (gsize b = 0; b < klen; b++)
		out[(LUKS1_STRIPES - 1) * klen + b] = d[b] ^ key[b];
	ac_secret_wipe (d, klen);
	return TRUE;
}

static gboolean
luks1_slot (const EVP_MD *md,
	    guint8 *phdr,
	    guint8 *area,
	    guint slot,
	    guint32 km_offset_sectors,
	    const AcSecret *secret,
	    guint32 iterations,
	    const AcSecret *vk,
	    AcDrbg *drbg,
	    GError **error)
{
	guint8 *ks = phdr + 208 + slot * 48;
	guint8 salt[LUKS1_SALT_SIZE];
	g_autofree gchar *salt_label = g_strdup_printf ("luks1/slot%u/salt", slot);
	g_autofree gchar *af_label = g_strdup_printf ("luks1/slot%u/af", slot);
	gsize km_len = vk->len * LUKS1_STRIPES;
	gsize km_padded = (km_len + 511) / 512 * 512;
	g_autoptr(AcSecret) slot_key = ac_secret_new_random_bytes (vk->len, error);
	g_autofree guint8 *km = NULL;

	if (slot_key == NULL)
		return FALSE;
	ac_drbg_generate (drbg, salt_label, salt, sizeof (salt));
	if (PKCS5_PBKDF2_HMAC (secret->data, (int)secret->len, salt, sizeof (salt), (int)iterations,
			       md, (int)vk->len, (guint8 *)slot_key->data) != 1) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_INTERNAL, "PBKDF2 failed");
		return FALSE;
	}
	km = g_malloc0 (km_padded);
	if (!luks1_af_split (md, drbg, af_label, (const guint8 *)vk->data, vk->len, km)) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_INTERNAL, "LUKS1 AF-split failed");
		return FALSE;
	}
	if (!ac_xts_crypt_sectors ((const guint8 *)slot_key->data, slot_key->len, TRUE, 0, km,
				   km_padded, error))
		return FALSE;
	memcpy (area + (gsize)km_offset_sectors * 512, km, km_padded);
	ac_secret_wipe (km, km_padded);
	put_be32 (ks, LUKS1_KEY_ENABLED);
	put_be32 (ks + 4, iterations);
	memcpy (ks + 8, salt, sizeof (salt));
	return TRUE;
}

/**
 * ac_luks1_write:
 *
 * Same contract as ac_luks_format() (aes-xts-plain64 only; @params->uuid required; explicit
 * iterations), with every salt, stripe and the volume key drawn from @drbg.
 */
gboolean
ac_luks1_write (const gchar *header_path,
		const AcLuksParams *params,
		const AcSecret *passphrase,
		const AcSecret *keyfile,
		AcDrbg *drbg,
		guint64 *data_offset,
		AcSecret **volume_key,
		GError **error)
{
	const EVP_MD *md = EVP_get_digestbyname (params->hash);
	g_autoptr(AcSecret) vk = NULL;
	g_autofree guint8 *area = NULL;
	guint8 *phdr;
	guint32 slot_sectors, payload;
	gsize total;
	guint8 mk_salt[LUKS1_SALT_SIZE];
	gboolean ok;
	int fd;

	if (g_strcmp0 (params->cipher, "aes") != 0 ||
	    g_strcmp0 (params->cipher_mode, "xts-plain64") != 0 ||
	    (params->key_bytes != 32 && params->key_bytes != 64)) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			     "reproducible mode supports aes-xts-plain64 with 256- or 512-bit keys, not "
			     "%s-%s with %u bits", params->cipher, params->cipher_mode,
			     params->key_bytes * 8);
		return FALSE;
	}
	if (md == NULL || strlen (params->hash) >= 32) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT, "unknown hash '%s'", params->hash);
		return FALSE;
	}
	if (params->iterations < 1000) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			     "reproducible mode needs explicit PBKDF2 iterations (at least 1000), got %u",
			     params->iterations);
		return FALSE;
	}
	if (params->uuid == NULL || strlen (params->uuid) >= 40) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
				     "reproducible mode needs a fixed LUKS UUID");
		return FALSE;
	}
	slot_sectors = (guint32)(((params->key_bytes * LUKS1_STRIPES + LUKS1_ALIGN_KEYSLOTS - 1) /
				  LUKS1_ALIGN_KEYSLOTS * LUKS1_ALIGN_KEYSLOTS) / 512);
	payload = LUKS1_ALIGN_KEYSLOTS / 512 + 8 * slot_sectors;
	payload = (payload + LUKS1_DATA_ALIGNMENT / 512 - 1) / (LUKS1_DATA_ALIGNMENT / 512) *
		  (LUKS1_DATA_ALIGNMENT / 512);
	total = (gsize)payload * 512;
	area = g_malloc0 (total);
	phdr = area;

	vk = ac_secret_new_random_bytes (params->key_bytes, error);
	if (vk == NULL)
		return FALSE;
	ac_drbg_generate (drbg, "luks1/volume-key", (guint8 *)vk->data, vk->len);
	ac_drbg_generate (drbg, "luks1/mk-digest-salt", mk_salt, sizeof (mk_salt));

	memcpy (phdr, "LUKS\xba\xbe", 6);
	phdr[6] = 0;
	phdr[7] = 1;
	strncpy ((gchar *)phdr + 8, params->cipher, 31);
	strncpy ((gchar *)phdr + 40, params->cipher_mode, 31);
	strncpy ((gchar *)phdr + 72, params->hash, 31);
	put_be32 (phdr + 104, payload);
	put_be32 (phdr + 108, params->key_bytes);
	if (PKCS5_PBKDF2_HMAC (vk->data, (int)vk->len, mk_salt, sizeof (mk_salt),
			       LUKS1_MKD_ITERATIONS, md, LUKS1_DIGEST_SIZE, phdr + 112) != 1) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_INTERNAL, "PBKDF2 failed");
		return FALSE;
	}
	memcpy (phdr + 132, mk_salt, sizeof (mk_salt));
	put_be32 (phdr + 164, LUKS1_MKD_ITERATIONS);
	strncpy ((gchar *)phdr + 168, params->uuid, 39);
	for (guint i = 0; i < 8; i++) {
		guint8 *ks = phdr + 208 + i * 48;
		put_be32 (ks, LUKS1_KEY_DISABLED);
		put_be32 (ks + 40, LUKS1_ALIGN_KEYSLOTS / 512 + i * slot_sectors);
		put_be32 (ks + 44, LUKS1_STRIPES);
	}
	if (!luks1_slot (md, phdr, area, 0, LUKS1_ALIGN_KEYSLOTS / 512, passphrase, params->iterations,
			 vk, drbg, error))
		return FALSE;
	if (keyfile != NULL &&
	    !luks1_slot (md, phdr, area, 1, LUKS1_ALIGN_KEYSLOTS / 512 + slot_sectors, keyfile,
			 LUKS1_KEYFILE_ITERATIONS, vk, drbg, error))
		return FALSE;

	fd = open (header_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		g_set_error (error, AC_ERROR, errno == EEXIST ? AC_ERROR_EXISTS : AC_ERROR_IO,
			     "cannot create %s: %s", header_path, g_strerror (errno));
		return FALSE;
	}
	/* a little room after the header, as libcryptsetup wants a device at least that large */
	ok = ac_pwrite_full (fd, area, total, 0, error) && ftruncate (fd, (off_t)total + 1024 * 1024) == 0;
	close (fd);
	if (!ok) {
		if (error != NULL && *error == NULL)
			g_set_error (error, AC_ERROR, AC_ERROR_IO, "cannot write %s", header_path);
		return FALSE;
	}
	*data_offset = total;
	if (volume_key != NULL)
		*volume_key = g_steal_pointer (&vk);
	return TRUE;
}
