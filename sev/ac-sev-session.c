/*
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <string.h>
#include <unistd.h>

#include "ac-error.h"
#include "ac-secret.h"
#include "ac-file.h"
#include "ac-sev-ossl-private.h"
#include "ac-sev-session.h"

struct _AcSevSession {
	guint32 policy;
	AcSevCert *godh;
	guint8 nonce[16];
	guint8 tek[16];
	guint8 tik[16];
	guint8 blob[AC_SEV_SESSION_SIZE];
};

/**
 * ac_sev_kdf:
 *
 * NIST SP 800-108 counter mode with HMAC-SHA-256 and a *little-endian* 32-bit counter and
 * length (not OpenSSL's KBKDF): K(1) = HMAC(key, LE32(1) ‖ label ‖ 0x00 ‖ context ‖ LE32(128)),
 * truncated to 16 bytes.
 */
gboolean
ac_sev_kdf (const guint8 *key,
	    gsize keylen,
	    const gchar *label,
	    const guint8 *context,
	    gsize contextlen,
	    guint8 out[16],
	    GError **error)
{
	gsize labellen = strlen (label);
	gsize msglen = 4 + labellen + 1 + contextlen + 4;
	g_autofree guint8 *msg = g_malloc (msglen);
	guint8 k[32];
	gboolean ok;

	ac_sev_put_le32 (msg, 1);
	memcpy (msg + 4, label, labellen);
	msg[4 + labellen] = 0;
	if (contextlen > 0)
		memcpy (msg + 5 + labellen, context, contextlen);
	ac_sev_put_le32 (msg + 5 + labellen + contextlen, 128);
	ok = ac_sev_hmac_sha256 (key, keylen, msg, msglen, k, error);
	if (ok)
		memcpy (out, k, 16);
	ac_secret_wipe (k, sizeof (k));
	ac_secret_wipe (msg, msglen);
	return ok;
}

/**
 * ac_sev_session_blob_build:
 *
 * master = KDF(Z, "sev-master-secret", nonce); KEK = KDF(master, "sev-kek");
 * KIK = KDF(master, "sev-kik"); blob = nonce ‖ AES-128-CTR(KEK, wrap_iv, TEK ‖ TIK) ‖ wrap_iv ‖
 * HMAC(KIK, wrap_tk) ‖ HMAC(TIK, LE32(policy)).
 */
gboolean
ac_sev_session_blob_build (const guint8 *z,
			   gsize zlen,
			   const guint8 nonce[16],
			   const guint8 wrap_iv[16],
			   const guint8 tek[16],
			   const guint8 tik[16],
			   guint32 policy,
			   guint8 blob[AC_SEV_SESSION_SIZE],
			   GError **error)
{
	guint8 master[16], kek[16], kik[16], tk[32], pol[4];
	gboolean ok;

	memcpy (tk, tek, 16);
	memcpy (tk + 16, tik, 16);
	ac_sev_put_le32 (pol, policy);
	memcpy (blob, nonce, 16);
	memcpy (blob + 0x30, wrap_iv, 16);
	ok = ac_sev_kdf (z, zlen, "sev-master-secret", nonce, 16, master, error) &&
	     ac_sev_kdf (master, 16, "sev-kek", NULL, 0, kek, error) &&
	     ac_sev_kdf (master, 16, "sev-kik", NULL, 0, kik, error) &&
	     ac_sev_aes128_ctr (kek, wrap_iv, tk, 32, blob + 0x10, error) &&
	     ac_sev_hmac_sha256 (kik, 16, blob + 0x10, 32, blob + 0x40, error) &&
	     ac_sev_hmac_sha256 (tik, 16, pol, 4, blob + 0x60, error);
	ac_secret_wipe (master, sizeof (master));
	ac_secret_wipe (kek, sizeof (kek));
	ac_secret_wipe (kik, sizeof (kik));
	ac_secret_wipe (tk, sizeof (tk));
	return ok;
}

void
ac_sev_session_free (AcSevSession *self)
{
	if (self == NULL)
		return;
	if (self->godh != NULL)
		ac_sev_cert_unref (self->godh);
	ac_secret_wipe (self, sizeof (*self));
	g_free (self);
}

/**
 * ac_sev_session_new_full:
 * @pdh: the platform's PDH (verify its chain first)
 * @godh_priv: (nullable): the guest owner's P-384 key; %NULL generates a fresh one
 * @params: (nullable): nonce, wrap IV, TEK and TIK; %NULL draws them at random
 */
AcSevSession *
ac_sev_session_new_full (AcSevCert *pdh,
			 guint32 policy,
			 EVP_PKEY *godh_priv,
			 const AcSevSessionParams *params,
			 GError **error)
{
	g_autoptr(AcSevSession) self = g_new0 (AcSevSession, 1);
	g_autoptr(EVP_PKEY) fresh = NULL;
	guint8 wrap_iv[16];
	guint8 z[48];
	gboolean ok;

	if (!ac_sev_cert_require_usage (pdh, AC_SEV_USAGE_PDH, "platform certificate", error))
		return NULL;
	self->policy = policy;
	if (godh_priv == NULL) {
		fresh = ac_sev_ec_generate (error);
		if (fresh == NULL)
			return NULL;
		godh_priv = fresh;
	}
	if (params != NULL) {
		memcpy (self->nonce, params->nonce, 16);
		memcpy (wrap_iv, params->wrap_iv, 16);
		memcpy (self->tek, params->tek, 16);
		memcpy (self->tik, params->tik, 16);
	} else if (!ac_sev_random (self->nonce, 16, error) || !ac_sev_random (wrap_iv, 16, error) ||
		   !ac_sev_random (self->tek, 16, error) || !ac_sev_random (self->tik, 16, error)) {
		return NULL;
	}
	self->godh = ac_sev_cert_new_ec (AC_SEV_USAGE_PDH, AC_SEV_ALGO_ECDH_SHA256, 0, 0, godh_priv, error);
	if (self->godh == NULL)
		return NULL;
	if (!ac_sev_ecdh_x (godh_priv, ac_sev_cert_get_pubkey (pdh), z, error))
		return NULL;
	ok = ac_sev_session_blob_build (z,
					sizeof (z),
					self->nonce,
					wrap_iv,
					self->tek,
					self->tik,
					policy,
					self->blob,
					error);
	ac_secret_wipe (z, sizeof (z));
	if (!ok)
		return NULL;
	return g_steal_pointer (&self);
}

AcSevSession *
ac_sev_session_new (AcSevCert *pdh, guint32 policy, GError **error)
{
	return ac_sev_session_new_full (pdh, policy, NULL, NULL, error);
}

guint32
ac_sev_session_get_policy (AcSevSession *self)
{
	return self->policy;
}

const guint8 *
ac_sev_session_get_blob (AcSevSession *self)
{
	return self->blob;
}

const guint8 *
ac_sev_session_get_nonce (AcSevSession *self)
{
	return self->nonce;
}

AcSevCert *
ac_sev_session_get_godh_cert (AcSevSession *self)
{
	return self->godh;
}

const guint8 *
ac_sev_session_get_tek (AcSevSession *self)
{
	return self->tek;
}

const guint8 *
ac_sev_session_get_tik (AcSevSession *self)
{
	return self->tik;
}

gchar *
ac_sev_session_get_godh_b64 (AcSevSession *self)
{
	return g_base64_encode (ac_sev_cert_get_data (self->godh), AC_SEV_CERT_SIZE);
}

gchar *
ac_sev_session_get_blob_b64 (AcSevSession *self)
{
	return g_base64_encode (self->blob, AC_SEV_SESSION_SIZE);
}

/* creates @path (which must not exist) with @mode and writes @data */
static gboolean
ac_sev_write_new_file (const gchar *path, const guint8 *data, gsize len, int mode, GError **error)
{
	int fd = open (path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
	gsize done = 0;

	if (fd < 0) {
		int e = errno;
		g_set_error (error,
			     AC_ERROR,
			     e == EEXIST ? AC_ERROR_EXISTS : AC_ERROR_IO,
			     "cannot create %s: %s%s",
			     path,
			     g_strerror (e),
			     e == EEXIST ? " (a session is never reused; pick another name)" : "");
		return FALSE;
	}
	while (done < len) {
		ssize_t n = write (fd, data + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int e = errno;
			close (fd);
			unlink (path);
			g_set_error (error, AC_ERROR, AC_ERROR_IO, "writing %s: %s", path, g_strerror (e));
			return FALSE;
		}
		done += (gsize)n;
	}
	if (fsync (fd) != 0 || close (fd) != 0) {
		int e = errno;
		unlink (path);
		g_set_error (error, AC_ERROR, AC_ERROR_IO, "writing %s: %s", path, g_strerror (e));
		return FALSE;
	}
	return TRUE;
}

/**
 * ac_sev_session_write_files:
 *
 * Writes what `sevctl session --name NAME` writes: `NAME_godh.b64` and `NAME_session.b64`
 * (base64, no newline) and `NAME_tek.bin`, `NAME_tik.bin` (16 raw bytes, mode 0600). Existing
 * files are never overwritten.
 */
gboolean
ac_sev_session_write_files (AcSevSession *self, const gchar *dir, const gchar *name, GError **error)
{
	g_autofree gchar *godh = ac_sev_session_get_godh_b64 (self);
	g_autofree gchar *blob = ac_sev_session_get_blob_b64 (self);
	struct {
		const gchar *suffix;
		const guint8 *data;
		gsize len;
		int mode;
	} files[] = {
		{ "tek.bin", self->tek, 16, 0600 },
		{ "tik.bin", self->tik, 16, 0600 },
		{ "godh.b64", (const guint8 *)godh, strlen (godh), 0644 },
		{ "session.b64", (const guint8 *)blob, strlen (blob), 0644 },
	};

	if (name == NULL || name[0] == '\0' || strchr (name, '/') != NULL) {
		g_set_error (error,
			     AC_ERROR,
			     AC_ERROR_INVALID_INPUT,
			     "session name '%s' is invalid: expected a non-empty name without '/'",
			     name != NULL ? name : "");
		return FALSE;
	}
	for (guint i = 0; i < G_N_ELEMENTS (files); i++) {
		g_autofree gchar *base = g_strdup_printf ("%s_%s", name, files[i].suffix);
		g_autofree gchar *path = g_build_filename (dir, base, NULL);
		if (!ac_sev_write_new_file (path, files[i].data, files[i].len, files[i].mode, error)) {
			/* do not leave half a session behind */
			for (guint j = 0; j < i; j++) {
				g_autofree gchar *b = g_strdup_printf ("%s_%s", name, files[j].suffix);
				g_autofree gchar *p = g_build_filename (dir, b, NULL);
				unlink (p);
			}
			return FALSE;
		}
	}
	return TRUE;
}

gboolean
ac_sev_key_file_read (const gchar *path, guint8 *out, gsize len, const gchar *what, GError **error)
{
	g_autofree gchar *buf = NULL;
	gsize got = 0;
	gboolean ok = TRUE;

	/* a key file is a few bytes: a regular file of at most 4 KiB */
	if (!ac_file_read_bounded (path, 4096, &buf, &got, error)) {
		g_prefix_error (error, "%s: ", what);
		return FALSE;
	}
	if (got != len) {
		g_set_error (error,
			     AC_ERROR,
			     AC_ERROR_INVALID_INPUT,
			     "%s %s has %" G_GSIZE_FORMAT " bytes, expected %" G_GSIZE_FORMAT,
			     what,
			     path,
			     got,
			     len);
		ok = FALSE;
	} else {
		memcpy (out, buf, len);
	}
	ac_secret_wipe (buf, got);
	return ok;
}
