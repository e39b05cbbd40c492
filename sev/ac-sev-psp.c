/*
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <string.h>

#include "ac-error.h"
#include "ac-file.h"
#include "ac-secret.h"
#include "ac-sev-measure.h"
#include "ac-sev-ossl-private.h"
#include "ac-sev-psp-private.h"
#include "ac-sev-policy.h"
#include "ac-sev-psp.h"
#include "ac-sev-secret.h"
#include "ac-sev-session.h"

const gchar *
ac_sev_status_to_string (AcSevStatus status)
{
	static const gchar *names[] = {
		"SUCCESS",
		"INVALID_PLATFORM_STATE",
		"INVALID_GUEST_STATE",
		"INVALID_CONFIG",
		"INVALID_LENGTH",
		"ALREADY_OWNED",
		"INVALID_CERTIFICATE",
		"POLICY_FAILURE",
		"INACTIVE",
		"INVALID_ADDRESS",
		"BAD_SIGNATURE",
		"BAD_MEASUREMENT",
		"ASID_OWNED",
		"INVALID_ASID",
		"WBINVD_REQUIRED",
		"DF_FLUSH_REQUIRED",
		"INVALID_GUEST",
		"INVALID_COMMAND",
		"ACTIVE",
		"HWERROR_PLATFORM",
		"HWERROR_UNSAFE",
		"UNSUPPORTED",
		"INVALID_PARAM",
		"RESOURCE_LIMIT",
		"SECURE_DATA_INVALID",
	};
	if ((guint)status < G_N_ELEMENTS (names))
		return names[status];
	return "UNKNOWN";
}

void
ac_sev_psp_region_clear (gpointer p)
{
	AcSevPspRegion *r = p;
	g_clear_pointer (&r->data, g_bytes_unref);
}

void
ac_sev_psp_guest_free (AcSevPspGuest *g)
{
	EVP_MD_CTX_free (g->ld);
	g_array_unref (g->regions);
	ac_secret_wipe (g, sizeof (*g));
	g_free (g);
}

AcSevStatus
ac_sev_psp_fail (AcSevPsp *self, AcSevStatus status, const gchar *fmt, ...)
{
	va_list args;
	g_autofree gchar *msg = NULL;
	va_start (args, fmt);
	msg = g_strdup_vprintf (fmt, args);
	va_end (args);
	g_free (self->last_message);
	self->last_message = g_strdup_printf ("%s: %s", ac_sev_status_to_string (status), msg);
	g_debug ("software PSP: %s", self->last_message);
	return status;
}

static AcSevPsp *
ac_sev_psp_alloc (void)
{
	AcSevPsp *self = g_new0 (AcSevPsp, 1);
	g_mutex_init (&self->mutex);
	self->api_major = 0;
	self->api_minor = 24;
	self->build_id = 15;
	self->es = TRUE;
	self->state = 1;
	self->next_handle = 1;
	self->guests = g_hash_table_new_full (g_direct_hash, g_direct_equal, NULL,
	                                      (GDestroyNotify)ac_sev_psp_guest_free);
	return self;
}

void
ac_sev_psp_free (AcSevPsp *self)
{
	if (self == NULL)
		return;
	g_hash_table_unref (self->guests);
	if (self->chain != NULL)
		ac_sev_chain_unref (self->chain);
	EVP_PKEY_free (self->ark_key);
	EVP_PKEY_free (self->ask_key);
	EVP_PKEY_free (self->cek_key);
	EVP_PKEY_free (self->oca_key);
	EVP_PKEY_free (self->pek_key);
	EVP_PKEY_free (self->pdh_key);
	g_free (self->last_message);
	g_mutex_clear (&self->mutex);
	ac_secret_wipe (self, sizeof (*self));
	g_free (self);
}

/**
 * ac_sev_psp_new:
 * @rsa_bits: 4096 (Rome and later: SHA-384) or 2048 (Naples-style: SHA-256)
 *
 * A software PSP with a freshly generated identity (docs/protocols.md#the-software-psp).
 */
AcSevPsp *
ac_sev_psp_new (guint rsa_bits, GError **error)
{
	g_autoptr (AcSevPsp) self = ac_sev_psp_alloc ();
	guint8 ark_id[16], ask_id[16];
	g_autoptr (AcAmdCert) ark = NULL;
	g_autoptr (AcAmdCert) ask = NULL;
	EVP_PKEY *keys[4];
	AcSevCert *certs[4];

	if (rsa_bits != 2048 && rsa_bits != 4096) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "software PSP RSA size %u is invalid, expected 2048 or 4096",
		             rsa_bits);
		return NULL;
	}
	if (!ac_sev_random (ark_id, 16, error) || !ac_sev_random (ask_id, 16, error)
	    || !ac_sev_random (self->id, sizeof (self->id), error))
		return NULL;
	if ((self->ark_key = ac_sev_rsa_generate (rsa_bits, error)) == NULL
	    || (self->ask_key = ac_sev_rsa_generate (rsa_bits, error)) == NULL
	    || (self->cek_key = ac_sev_ec_generate (error)) == NULL
	    || (self->oca_key = ac_sev_ec_generate (error)) == NULL
	    || (self->pek_key = ac_sev_ec_generate (error)) == NULL
	    || (self->pdh_key = ac_sev_ec_generate (error)) == NULL)
		return NULL;

	ark = ac_amd_cert_new (AC_SEV_USAGE_ARK, ark_id, ark_id, self->ark_key, error);
	if (ark == NULL || !ac_amd_cert_sign (ark, ark, self->ark_key, error))
		return NULL;
	ask = ac_amd_cert_new (AC_SEV_USAGE_ASK, ask_id, ark_id, self->ask_key, error);
	if (ask == NULL || !ac_amd_cert_sign (ask, ark, self->ark_key, error))
		return NULL;
	keys[0] = self->cek_key;
	keys[1] = self->oca_key;
	keys[2] = self->pek_key;
	keys[3] = self->pdh_key;
	if (!ac_sev_psp_platform_certs (ask, self->ask_key, self->api_major, self->api_minor, keys,
	                                certs, error))
		return NULL;
	self->chain = ac_sev_chain_new (certs[3], certs[2], certs[1], certs[0], ask, ark);
	for (guint i = 0; i < 4; i++)
		ac_sev_cert_unref (certs[i]);
	return g_steal_pointer (&self);
}

/* ac_sev_psp_platform_certs()'s work; what it made so far stays in @certs on failure */
static gboolean
platform_certs_make (AcAmdCert *ask,
                     EVP_PKEY *ask_key,
                     guint8 api_major,
                     guint8 api_minor,
                     EVP_PKEY *const keys[4],
                     AcSevCert *certs[4],
                     GError **error)
{
	certs[0] = ac_sev_cert_new_ec (AC_SEV_USAGE_CEK, AC_SEV_ALGO_ECDSA_SHA256, 0, 14, keys[0],
	                               error);
	if (certs[0] == NULL || !ac_sev_cert_sign_by_amd (certs[0], 0, ask, ask_key, error))
		return FALSE;
	certs[1] = ac_sev_cert_new_ec (AC_SEV_USAGE_OCA, AC_SEV_ALGO_ECDSA_SHA256, api_major,
	                               api_minor, keys[1], error);
	if (certs[1] == NULL || !ac_sev_cert_sign (certs[1], 0, certs[1], keys[1], error))
		return FALSE;
	certs[2] = ac_sev_cert_new_ec (AC_SEV_USAGE_PEK, AC_SEV_ALGO_ECDSA_SHA256, api_major,
	                               api_minor, keys[2], error);
	if (certs[2] == NULL || !ac_sev_cert_sign (certs[2], 0, certs[1], keys[1], error)
	    || !ac_sev_cert_sign (certs[2], 1, certs[0], keys[0], error))
		return FALSE;
	certs[3] = ac_sev_cert_new_ec (AC_SEV_USAGE_PDH, AC_SEV_ALGO_ECDH_SHA256, api_major,
	                               api_minor, keys[3], error);
	return certs[3] != NULL && ac_sev_cert_sign (certs[3], 0, certs[2], keys[2], error);
}

/**
 * ac_sev_psp_platform_certs:
 * @ask: the ASK that signs the CEK, with its private key @ask_key
 *
 * CEK signed by the ASK, OCA self-signed, PEK signed by the OCA and the CEK, PDH signed by the
 * PEK; the OCA, PEK and PDH carry API version @api_major.@api_minor, the CEK 0.14. All four or
 * none: on failure @certs holds only %NULL.
 */
gboolean
ac_sev_psp_platform_certs (AcAmdCert *ask,
                           EVP_PKEY *ask_key,
                           guint8 api_major,
                           guint8 api_minor,
                           EVP_PKEY *const keys[4],
                           AcSevCert *certs[4],
                           GError **error)
{
	memset (certs, 0, 4 * sizeof certs[0]);
	if (platform_certs_make (ask, ask_key, api_major, api_minor, keys, certs, error))
		return TRUE;
	for (guint i = 0; i < 4; i++)
		g_clear_pointer (&certs[i], ac_sev_cert_unref);
	return FALSE;
}

static EVP_PKEY *
ac_sev_psp_read_key (const gchar *dir, const gchar *name, GError **error)
{
	g_autofree gchar *base = g_strdup_printf ("%s_key.pem", name);
	g_autofree gchar *path = g_build_filename (dir, base, NULL);
	gboolean readable;
	EVP_PKEY *key = ac_sev_private_key_read (path, "software PSP key", &readable, error);

	if (key == NULL && readable)
		ac_sev_openssl_error (error, AC_ERROR_INVALID_INPUT, path);
	return key;
}

static gboolean
ac_sev_psp_check_pair (EVP_PKEY *priv, EVP_PKEY *pub, const gchar *what, GError **error)
{
	if (EVP_PKEY_eq (priv, pub) != 1) {
		g_set_error (
		    error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		    "software PSP identity: the %s private key does not match its certificate",
		    what);
		return FALSE;
	}
	return TRUE;
}

/**
 * ac_sev_psp_load:
 *
 * Loads an identity saved by ac_sev_psp_save() (the layout of vectors/sev/synthetic-platform:
 * `{ark,ask}.cert`, `{cek,oca,pek,pdh}.cert`, `<name>_key.pem`, optional `id.bin`). The chain
 * must verify with its own ARK and every key must match its certificate.
 */
AcSevPsp *
ac_sev_psp_load (const gchar *dir, GError **error)
{
	g_autoptr (AcSevPsp) self = ac_sev_psp_alloc ();
	const gchar *sev_names[] = { "pdh", "pek", "oca", "cek" };
	AcSevCert *sev[4] = { NULL };
	g_autoptr (AcAmdCert) ark = NULL;
	g_autoptr (AcAmdCert) ask = NULL;
	g_autoptr (AcSevRoots) roots = ac_sev_roots_new ();
	g_autofree gchar *ark_path = g_build_filename (dir, "ark.cert", NULL);
	g_autofree gchar *ask_path = g_build_filename (dir, "ask.cert", NULL);
	g_autofree gchar *id_path = g_build_filename (dir, "id.bin", NULL);
	g_autofree gchar *id = NULL;
	gsize id_len = 0;
	gboolean ok = TRUE;

	if ((ark = ac_amd_cert_parse_file (ark_path, error)) == NULL
	    || (ask = ac_amd_cert_parse_file (ask_path, error)) == NULL)
		return NULL;
	for (guint i = 0; i < 4 && ok; i++) {
		g_autofree gchar *base = g_strdup_printf ("%s.cert", sev_names[i]);
		g_autofree gchar *path = g_build_filename (dir, base, NULL);
		sev[i] = ac_sev_cert_parse_file (path, error);
		ok = sev[i] != NULL;
	}
	if (ok)
		self->chain = ac_sev_chain_new (sev[0], sev[1], sev[2], sev[3], ask, ark);
	for (guint i = 0; i < 4; i++) {
		if (sev[i] != NULL)
			ac_sev_cert_unref (sev[i]);
	}
	if (!ok)
		return NULL;
	if (!ac_sev_roots_add (roots, "software-psp", ark, ask, error)
	    || !ac_sev_chain_verify (self->chain, roots, NULL, NULL, error))
		return NULL;
	if ((self->ark_key = ac_sev_psp_read_key (dir, "ark", error)) == NULL
	    || (self->ask_key = ac_sev_psp_read_key (dir, "ask", error)) == NULL
	    || (self->cek_key = ac_sev_psp_read_key (dir, "cek", error)) == NULL
	    || (self->oca_key = ac_sev_psp_read_key (dir, "oca", error)) == NULL
	    || (self->pek_key = ac_sev_psp_read_key (dir, "pek", error)) == NULL
	    || (self->pdh_key = ac_sev_psp_read_key (dir, "pdh", error)) == NULL)
		return NULL;
	if (!ac_sev_psp_check_pair (self->ark_key, ac_amd_cert_get_pubkey (ark), "ARK", error)
	    || !ac_sev_psp_check_pair (self->ask_key, ac_amd_cert_get_pubkey (ask), "ASK", error)
	    || !ac_sev_psp_check_pair (self->cek_key,
	                               ac_sev_cert_get_pubkey (ac_sev_chain_get_cek (self->chain)),
	                               "CEK", error)
	    || !ac_sev_psp_check_pair (self->oca_key,
	                               ac_sev_cert_get_pubkey (ac_sev_chain_get_oca (self->chain)),
	                               "OCA", error)
	    || !ac_sev_psp_check_pair (self->pek_key,
	                               ac_sev_cert_get_pubkey (ac_sev_chain_get_pek (self->chain)),
	                               "PEK", error)
	    || !ac_sev_psp_check_pair (self->pdh_key,
	                               ac_sev_cert_get_pubkey (ac_sev_chain_get_pdh (self->chain)),
	                               "PDH", error))
		return NULL;
	/* (bounded: a larger file is no chip id either) */
	if (ac_file_read_bounded (id_path, AC_SEV_ID_SIZE, &id, &id_len, NULL)
	    && id_len == AC_SEV_ID_SIZE)
		memcpy (self->id, id, AC_SEV_ID_SIZE);
	else if (!ac_sev_random (self->id, sizeof (self->id), error))
		return NULL;
	return g_steal_pointer (&self);
}

static gboolean
ac_sev_psp_write (const gchar *dir,
                  const gchar *name,
                  const guint8 *data,
                  gsize len,
                  int mode,
                  GError **error)
{
	/* an exclusive temporary beside it, then renamed over it: never through a link */
	return ac_file_replace_contents_in (dir, name, (guint)mode, data, len, error);
}

static gboolean
ac_sev_psp_write_key (const gchar *dir, const gchar *name, EVP_PKEY *key, GError **error)
{
	g_autofree gchar *base = g_strdup_printf ("%s_key.pem", name);
	g_autoptr (AcSecret) pem = ac_sev_private_key_to_pem (key);

	if (pem == NULL)
		return ac_sev_openssl_error (error, AC_ERROR_INTERNAL, "encoding a private key");
	return ac_sev_psp_write (dir, base, (const guint8 *)pem->data, pem->len, 0600, error);
}

/**
 * ac_sev_psp_save:
 *
 * Writes the identity to @dir (created 0700): certificates, the `sevctl export --full` chain,
 * the ARK alone (to be trusted explicitly by verifiers), private keys (0600), the chip id.
 */
gboolean
ac_sev_psp_save (AcSevPsp *self, const gchar *dir, GError **error)
{
	AcSevCert *sev[4]
	    = { ac_sev_chain_get_pdh (self->chain), ac_sev_chain_get_pek (self->chain),
		ac_sev_chain_get_oca (self->chain), ac_sev_chain_get_cek (self->chain) };
	const gchar *names[] = { "pdh", "pek", "oca", "cek" };
	EVP_PKEY *keys[] = { self->pdh_key, self->pek_key, self->oca_key, self->cek_key };
	g_autoptr (GBytes) chain_sev = ac_sev_chain_to_bytes (self->chain, FALSE);
	g_autoptr (GBytes) chain_full = ac_sev_chain_to_bytes (self->chain, TRUE);
	const guint8 *p;
	gsize len = 0;

	if (g_mkdir_with_parents (dir, 0700) != 0) {
		g_set_error (error, AC_ERROR, AC_ERROR_IO, "cannot create %s: %s", dir,
		             g_strerror (errno));
		return FALSE;
	}
	for (guint i = 0; i < 4; i++) {
		g_autofree gchar *base = g_strdup_printf ("%s.cert", names[i]);
		if (!ac_sev_psp_write (dir, base, ac_sev_cert_get_data (sev[i]), AC_SEV_CERT_SIZE,
		                       0644, error)
		    || !ac_sev_psp_write_key (dir, names[i], keys[i], error))
			return FALSE;
	}
	p = ac_amd_cert_get_data (ac_sev_chain_get_ark (self->chain), &len);
	if (!ac_sev_psp_write (dir, "ark.cert", p, len, 0644, error))
		return FALSE;
	p = ac_amd_cert_get_data (ac_sev_chain_get_ask (self->chain), &len);
	if (!ac_sev_psp_write (dir, "ask.cert", p, len, 0644, error))
		return FALSE;
	p = g_bytes_get_data (chain_sev, &len);
	if (!ac_sev_psp_write (dir, "chain_sev.bin", p, len, 0644, error))
		return FALSE;
	p = g_bytes_get_data (chain_full, &len);
	if (!ac_sev_psp_write (dir, "chain_full.bin", p, len, 0644, error))
		return FALSE;
	return ac_sev_psp_write_key (dir, "ark", self->ark_key, error)
	       && ac_sev_psp_write_key (dir, "ask", self->ask_key, error)
	       && ac_sev_psp_write (dir, "id.bin", self->id, sizeof (self->id), 0644, error);
}

void
ac_sev_psp_set_firmware (AcSevPsp *self, guint8 api_major, guint8 api_minor, guint8 build_id)
{
	g_mutex_lock (&self->mutex);
	self->api_major = api_major;
	self->api_minor = api_minor;
	self->build_id = build_id;
	g_mutex_unlock (&self->mutex);
}

void
ac_sev_psp_get_firmware (AcSevPsp *self, guint8 *api_major, guint8 *api_minor, guint8 *build_id)
{
	*api_major = self->api_major;
	*api_minor = self->api_minor;
	*build_id = self->build_id;
}

void
ac_sev_psp_set_es (AcSevPsp *self, gboolean es)
{
	self->es = es;
}

void
ac_sev_psp_set_export_unsigned_cek (AcSevPsp *self, gboolean unsigned_cek)
{
	g_mutex_lock (&self->mutex);
	self->unsigned_cek = unsigned_cek;
	g_mutex_unlock (&self->mutex);
}

void
ac_sev_psp_set_next_mnonce (AcSevPsp *self, const guint8 mnonce[16])
{
	g_mutex_lock (&self->mutex);
	memcpy (self->next_mnonce, mnonce, 16);
	self->next_mnonce_set = TRUE;
	g_mutex_unlock (&self->mutex);
}

AcSevChain *
ac_sev_psp_get_chain (AcSevPsp *self)
{
	return self->chain;
}

AcAmdCert *
ac_sev_psp_get_ark (AcSevPsp *self)
{
	return ac_sev_chain_get_ark (self->chain);
}

AcAmdCert *
ac_sev_psp_get_ask (AcSevPsp *self)
{
	return ac_sev_chain_get_ask (self->chain);
}

const gchar *
ac_sev_psp_get_last_message (AcSevPsp *self)
{
	return self->last_message;
}

/* ------------------------------------------------------------------------------------------ */
/* platform commands                                                                          */

AcSevStatus
ac_sev_psp_platform_status (AcSevPsp *self, guint8 out[AC_SEV_PLATFORM_STATUS_SIZE])
{
	g_mutex_lock (&self->mutex);
	memset (out, 0, AC_SEV_PLATFORM_STATUS_SIZE);
	out[0] = self->api_major;
	out[1] = self->api_minor;
	out[2] = self->state;
	out[3] = 0; /* self-owned */
	ac_sev_put_le16 (out + 4, self->es ? 1 : 0);
	out[6] = 0;
	out[7] = self->build_id;
	ac_sev_put_le32 (out + 8, g_hash_table_size (self->guests));
	g_mutex_unlock (&self->mutex);
	return AC_SEV_STATUS_SUCCESS;
}

/**
 * ac_sev_psp_pdh_cert_export:
 *
 * PDH_CERT_EXPORT: the PDH into @pdh (2084 bytes) and PEK‖OCA‖CEK into @certs (6252). With a
 * buffer too small, writes the needed lengths and returns INVALID_LENGTH.
 */
AcSevStatus
ac_sev_psp_pdh_cert_export (AcSevPsp *self,
                            guint8 *pdh,
                            guint32 *pdh_len,
                            guint8 *certs,
                            guint32 *certs_len)
{
	AcSevStatus st = AC_SEV_STATUS_SUCCESS;
	g_mutex_lock (&self->mutex);
	if (pdh == NULL || certs == NULL || *pdh_len < AC_SEV_CERT_SIZE
	    || *certs_len < 3 * AC_SEV_CERT_SIZE) {
		*pdh_len = AC_SEV_CERT_SIZE;
		*certs_len = 3 * AC_SEV_CERT_SIZE;
		st = ac_sev_psp_fail (self, AC_SEV_STATUS_INVALID_LENGTH,
		                      "PDH_CERT_EXPORT buffers too small");
	} else {
		memcpy (pdh, ac_sev_cert_get_data (ac_sev_chain_get_pdh (self->chain)),
		        AC_SEV_CERT_SIZE);
		memcpy (certs, ac_sev_cert_get_data (ac_sev_chain_get_pek (self->chain)),
		        AC_SEV_CERT_SIZE);
		memcpy (certs + AC_SEV_CERT_SIZE,
		        ac_sev_cert_get_data (ac_sev_chain_get_oca (self->chain)),
		        AC_SEV_CERT_SIZE);
		memcpy (certs + 2 * AC_SEV_CERT_SIZE,
		        ac_sev_cert_get_data (ac_sev_chain_get_cek (self->chain)),
		        AC_SEV_CERT_SIZE);
		if (self->unsigned_cek) {
			/* both slots empty: usage 0x1000, algorithm 0, zero signature */
			guint8 *cek = certs + 2 * AC_SEV_CERT_SIZE;
			memset (cek + AC_SEV_CERT_BODY_SIZE, 0,
			        AC_SEV_CERT_SIZE - AC_SEV_CERT_BODY_SIZE);
			ac_sev_put_le32 (cek + AC_SEV_CERT_BODY_SIZE, AC_SEV_USAGE_INVALID);
			ac_sev_put_le32 (cek + AC_SEV_CERT_BODY_SIZE + 0x208, AC_SEV_USAGE_INVALID);
		}
		*pdh_len = AC_SEV_CERT_SIZE;
		*certs_len = 3 * AC_SEV_CERT_SIZE;
	}
	g_mutex_unlock (&self->mutex);
	return st;
}

AcSevStatus
ac_sev_psp_get_id (AcSevPsp *self, guint8 *buf, guint32 *len)
{
	AcSevStatus st = AC_SEV_STATUS_SUCCESS;
	g_mutex_lock (&self->mutex);
	if (buf == NULL || *len < AC_SEV_ID_SIZE) {
		*len = AC_SEV_ID_SIZE;
		st = ac_sev_psp_fail (self, AC_SEV_STATUS_INVALID_LENGTH,
		                      "GET_ID buffer too small");
	} else {
		memcpy (buf, self->id, AC_SEV_ID_SIZE);
		*len = AC_SEV_ID_SIZE;
	}
	g_mutex_unlock (&self->mutex);
	return st;
}

/* ------------------------------------------------------------------------------------------ */
/* guest commands                                                                             */

AcSevPspGuest *
ac_sev_psp_lookup (AcSevPsp *self, guint32 handle, AcSevStatus *st, const gchar *cmd)
{
	AcSevPspGuest *g = g_hash_table_lookup (self->guests, GUINT_TO_POINTER (handle));
	if (g == NULL)
		*st = ac_sev_psp_fail (self, AC_SEV_STATUS_INVALID_GUEST,
		                       "%s: no guest with handle %u", cmd, handle);
	return g;
}

AcSevPspGuest *
ac_sev_psp_lookup_in_state (AcSevPsp *self,
                            guint32 handle,
                            AcSevGuestState want,
                            AcSevStatus *st,
                            const gchar *cmd)
{
	AcSevPspGuest *g = ac_sev_psp_lookup (self, handle, st, cmd);
	if (g != NULL && g->state != want) {
		*st = ac_sev_psp_fail (self, AC_SEV_STATUS_INVALID_GUEST_STATE,
		                       "%s: guest %u is in state %u, expected %u", cmd, g->handle,
		                       g->state, want);
		return NULL;
	}
	return g;
}

static AcSevStatus
ac_sev_psp_attestation_locked (AcSevPsp *self,
                               guint32 handle,
                               const guint8 mnonce[16],
                               guint8 *out,
                               guint32 *len)
{
	AcSevStatus st = AC_SEV_STATUS_SUCCESS;
	AcSevPspGuest *g = ac_sev_psp_lookup (self, handle, &st, "ATTESTATION");
	g_autoptr (GError) error = NULL;

	if (g == NULL)
		return st;
	if (g->state != AC_SEV_GUEST_STATE_LSECRET && g->state != AC_SEV_GUEST_STATE_RUNNING)
		return ac_sev_psp_fail (
		    self, AC_SEV_STATUS_INVALID_GUEST_STATE,
		    "ATTESTATION: guest %u is in state %u, expected LSECRET or RUNNING", handle,
		    g->state);
	if (out == NULL || *len < AC_SEV_ATTESTATION_REPORT_SIZE) {
		*len = AC_SEV_ATTESTATION_REPORT_SIZE;
		return ac_sev_psp_fail (self, AC_SEV_STATUS_INVALID_LENGTH,
		                        "ATTESTATION buffer too small");
	}
	memset (out, 0, AC_SEV_ATTESTATION_REPORT_SIZE);
	memcpy (out, mnonce, 16);
	memcpy (out + 16, g->ld_final, 32);
	ac_sev_put_le32 (out + 48, g->policy);
	ac_sev_put_le32 (out + 0x34, AC_SEV_USAGE_PEK);
	ac_sev_put_le32 (out + 0x38, AC_SEV_ALGO_ECDSA_SHA256);
	if (!ac_sev_ecdsa_sign_le (self->pek_key, "SHA256", out, 0x34, out + 0x40, &error))
		return ac_sev_psp_fail (self, AC_SEV_STATUS_HWERROR_PLATFORM, "%s", error->message);
	*len = AC_SEV_ATTESTATION_REPORT_SIZE;
	return AC_SEV_STATUS_SUCCESS;
}

AcSevStatus
ac_sev_psp_attestation (AcSevPsp *self,
                        guint32 handle,
                        const guint8 mnonce[16],
                        guint8 *out,
                        guint32 *len)
{
	AcSevStatus st;
	g_mutex_lock (&self->mutex);
	st = ac_sev_psp_attestation_locked (self, handle, mnonce, out, len);
	g_mutex_unlock (&self->mutex);
	return st;
}

AcSevStatus
ac_sev_psp_decommission (AcSevPsp *self, guint32 handle)
{
	AcSevStatus st = AC_SEV_STATUS_SUCCESS;
	g_mutex_lock (&self->mutex);
	if (ac_sev_psp_lookup (self, handle, &st, "DECOMMISSION") != NULL)
		g_hash_table_remove (self->guests, GUINT_TO_POINTER (handle));
	if (g_hash_table_size (self->guests) == 0)
		self->state = 1;
	g_mutex_unlock (&self->mutex);
	return st;
}

AcSevStatus
ac_sev_psp_guest_status (AcSevPsp *self, guint32 handle, guint32 *policy, AcSevGuestState *state)
{
	AcSevStatus st = AC_SEV_STATUS_SUCCESS;
	AcSevPspGuest *g;
	g_mutex_lock (&self->mutex);
	g = ac_sev_psp_lookup (self, handle, &st, "GUEST_STATUS");
	if (g != NULL) {
		*policy = g->policy;
		*state = g->state;
	}
	g_mutex_unlock (&self->mutex);
	return st;
}

GBytes *
ac_sev_psp_guest_read (AcSevPsp *self, guint32 handle, guint64 gpa, gsize len)
{
	GBytes *result = NULL;
	AcSevPspGuest *g;
	g_mutex_lock (&self->mutex);
	g = g_hash_table_lookup (self->guests, GUINT_TO_POINTER (handle));
	/* the latest write covering the whole range wins */
	for (guint i = g != NULL ? g->regions->len : 0; i > 0 && result == NULL; i--) {
		AcSevPspRegion *r = &g_array_index (g->regions, AcSevPspRegion, i - 1);
		gsize rlen = g_bytes_get_size (r->data);
		if (gpa >= r->gpa && gpa + len <= r->gpa + rlen)
			result = g_bytes_new_from_bytes (r->data, gpa - r->gpa, len);
	}
	g_mutex_unlock (&self->mutex);
	return result;
}
