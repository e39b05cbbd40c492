/*
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <string.h>

#include "ac-error.h"
#include "ac-secret.h"
#include "ac-sev-measure.h"
#include "ac-sev-ossl-private.h"
#include "ac-sev-policy.h"
#include "ac-sev-psp.h"
#include "ac-sev-secret.h"
#include "ac-sev-session.h"

#define AC_SEV_PSP_MAX_GUESTS 64
#define AC_SEV_GPA_LIMIT      G_GUINT64_CONSTANT (0x100000000) /* 32-bit guest physical space */

typedef struct {
	guint64 gpa;
	GBytes *data;
} AcSevPspRegion;

typedef struct {
	guint32 handle;
	AcSevGuestState state;
	guint32 policy;
	guint8 tek[16];
	guint8 tik[16];
	EVP_MD_CTX *ld;
	guint8 measure[32];
	guint8 ld_final[32];
	GArray *regions; /* AcSevPspRegion, later writes shadow earlier ones */
} AcSevPspGuest;

struct _AcSevPsp {
	GMutex mutex;
	guint8 api_major;
	guint8 api_minor;
	guint8 build_id;
	gboolean es;
	gboolean unsigned_cek;
	guint8 state; /* 0 UNINIT, 1 INIT, 2 WORKING */
	guint8 id[AC_SEV_ID_SIZE];
	gboolean next_mnonce_set;
	guint8 next_mnonce[16];
	guint32 next_handle;
	AcSevChain *chain;
	EVP_PKEY *ark_key;
	EVP_PKEY *ask_key;
	EVP_PKEY *cek_key;
	EVP_PKEY *oca_key;
	EVP_PKEY *pek_key;
	EVP_PKEY *pdh_key;
	GHashTable *guests; /* handle → AcSevPspGuest */
	gchar *last_message;
};

const gchar *
ac_sev_status_to_string (AcSevStatus status)
{
	static const gchar *names[] = {
		"SUCCESS",	   "INVALID_PLATFORM_STATE", "INVALID_GUEST_STATE", "INVALID_CONFIG",
		"INVALID_LENGTH",  "ALREADY_OWNED",	     "INVALID_CERTIFICATE", "POLICY_FAILURE",
		"INACTIVE",	   "INVALID_ADDRESS",	     "BAD_SIGNATURE",	    "BAD_MEASUREMENT",
		"ASID_OWNED",	   "INVALID_ASID",	     "WBINVD_REQUIRED",	    "DF_FLUSH_REQUIRED",
		"INVALID_GUEST",   "INVALID_COMMAND",	     "ACTIVE",		    "HWERROR_PLATFORM",
		"HWERROR_UNSAFE",  "UNSUPPORTED",	     "INVALID_PARAM",	    "RESOURCE_LIMIT",
		"SECURE_DATA_INVALID",
	};
	if ((guint)status < G_N_ELEMENTS (names))
		return names[status];
	return "UNKNOWN";
}

static void
ac_sev_psp_region_clear (gpointer p)
{
	AcSevPspRegion *r = p;
	g_clear_pointer (&r->data, g_bytes_unref);
}

static void
ac_sev_psp_guest_free (AcSevPspGuest *g)
{
	EVP_MD_CTX_free (g->ld);
	g_array_unref (g->regions);
	ac_secret_wipe (g, sizeof (*g));
	g_free (g);
}

G_GNUC_PRINTF (3, 4)
static AcSevStatus
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
	self->guests = g_hash_table_new_full (g_direct_hash,
					      g_direct_equal,
					      NULL,
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
	g_autoptr(AcSevPsp) self = ac_sev_psp_alloc ();
	guint8 ark_id[16], ask_id[16];
	g_autoptr(AcAmdCert) ark = NULL;
	g_autoptr(AcAmdCert) ask = NULL;
	g_autoptr(AcSevCert) cek = NULL;
	g_autoptr(AcSevCert) oca = NULL;
	g_autoptr(AcSevCert) pek = NULL;
	g_autoptr(AcSevCert) pdh = NULL;

	if (rsa_bits != 2048 && rsa_bits != 4096) {
		g_set_error (error,
			     AC_ERROR,
			     AC_ERROR_INVALID_INPUT,
			     "software PSP RSA size %u is invalid, expected 2048 or 4096",
			     rsa_bits);
		return NULL;
	}
	if (!ac_sev_random (ark_id, 16, error) || !ac_sev_random (ask_id, 16, error) ||
	    !ac_sev_random (self->id, sizeof (self->id), error))
		return NULL;
	if ((self->ark_key = ac_sev_rsa_generate (rsa_bits, error)) == NULL ||
	    (self->ask_key = ac_sev_rsa_generate (rsa_bits, error)) == NULL ||
	    (self->cek_key = ac_sev_ec_generate (error)) == NULL ||
	    (self->oca_key = ac_sev_ec_generate (error)) == NULL ||
	    (self->pek_key = ac_sev_ec_generate (error)) == NULL ||
	    (self->pdh_key = ac_sev_ec_generate (error)) == NULL)
		return NULL;

	ark = ac_amd_cert_new (AC_SEV_USAGE_ARK, ark_id, ark_id, self->ark_key, error);
	if (ark == NULL || !ac_amd_cert_sign (ark, ark, self->ark_key, error))
		return NULL;
	ask = ac_amd_cert_new (AC_SEV_USAGE_ASK, ask_id, ark_id, self->ask_key, error);
	if (ask == NULL || !ac_amd_cert_sign (ask, ark, self->ark_key, error))
		return NULL;
	cek = ac_sev_cert_new_ec (AC_SEV_USAGE_CEK, AC_SEV_ALGO_ECDSA_SHA256, 0, 14, self->cek_key, error);
	if (cek == NULL || !ac_sev_cert_sign_by_amd (cek, 0, ask, self->ask_key, error))
		return NULL;
	oca = ac_sev_cert_new_ec (AC_SEV_USAGE_OCA,
				  AC_SEV_ALGO_ECDSA_SHA256,
				  self->api_major,
				  self->api_minor,
				  self->oca_key,
				  error);
	if (oca == NULL || !ac_sev_cert_sign (oca, 0, oca, self->oca_key, error))
		return NULL;
	pek = ac_sev_cert_new_ec (AC_SEV_USAGE_PEK,
				  AC_SEV_ALGO_ECDSA_SHA256,
				  self->api_major,
				  self->api_minor,
				  self->pek_key,
				  error);
	if (pek == NULL || !ac_sev_cert_sign (pek, 0, oca, self->oca_key, error) ||
	    !ac_sev_cert_sign (pek, 1, cek, self->cek_key, error))
		return NULL;
	pdh = ac_sev_cert_new_ec (AC_SEV_USAGE_PDH,
				  AC_SEV_ALGO_ECDH_SHA256,
				  self->api_major,
				  self->api_minor,
				  self->pdh_key,
				  error);
	if (pdh == NULL || !ac_sev_cert_sign (pdh, 0, pek, self->pek_key, error))
		return NULL;
	self->chain = ac_sev_chain_new (pdh, pek, oca, cek, ask, ark);
	return g_steal_pointer (&self);
}

static EVP_PKEY *
ac_sev_psp_read_key (const gchar *dir, const gchar *name, GError **error)
{
	g_autofree gchar *base = g_strdup_printf ("%s_key.pem", name);
	g_autofree gchar *path = g_build_filename (dir, base, NULL);
	g_autofree gchar *buf = NULL;
	gsize len = 0;
	BIO *bio;
	EVP_PKEY *key;

	if (!g_file_get_contents (path, &buf, &len, NULL)) {
		g_set_error (error, AC_ERROR, AC_ERROR_NOT_FOUND, "software PSP key %s is missing", path);
		return NULL;
	}
	bio = BIO_new_mem_buf (buf, (int)len);
	key = PEM_read_bio_PrivateKey (bio, NULL, NULL, NULL);
	BIO_free (bio);
	ac_secret_wipe (buf, len);
	if (key == NULL)
		ac_sev_openssl_error (error, AC_ERROR_INVALID_INPUT, path);
	return key;
}

static gboolean
ac_sev_psp_check_pair (EVP_PKEY *priv, EVP_PKEY *pub, const gchar *what, GError **error)
{
	if (EVP_PKEY_eq (priv, pub) != 1) {
		g_set_error (error,
			     AC_ERROR,
			     AC_ERROR_INVALID_INPUT,
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
	g_autoptr(AcSevPsp) self = ac_sev_psp_alloc ();
	const gchar *sev_names[] = { "pdh", "pek", "oca", "cek" };
	AcSevCert *sev[4] = { NULL };
	g_autoptr(AcAmdCert) ark = NULL;
	g_autoptr(AcAmdCert) ask = NULL;
	g_autoptr(AcSevRoots) roots = ac_sev_roots_new ();
	g_autofree gchar *ark_path = g_build_filename (dir, "ark.cert", NULL);
	g_autofree gchar *ask_path = g_build_filename (dir, "ask.cert", NULL);
	g_autofree gchar *id_path = g_build_filename (dir, "id.bin", NULL);
	g_autofree gchar *id = NULL;
	gsize id_len = 0;
	gboolean ok = TRUE;

	if ((ark = ac_amd_cert_parse_file (ark_path, error)) == NULL ||
	    (ask = ac_amd_cert_parse_file (ask_path, error)) == NULL)
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
	if (!ac_sev_roots_add (roots, "software-psp", ark, ask, error) ||
	    !ac_sev_chain_verify (self->chain, roots, NULL, NULL, error))
		return NULL;
	if ((self->ark_key = ac_sev_psp_read_key (dir, "ark", error)) == NULL ||
	    (self->ask_key = ac_sev_psp_read_key (dir, "ask", error)) == NULL ||
	    (self->cek_key = ac_sev_psp_read_key (dir, "cek", error)) == NULL ||
	    (self->oca_key = ac_sev_psp_read_key (dir, "oca", error)) == NULL ||
	    (self->pek_key = ac_sev_psp_read_key (dir, "pek", error)) == NULL ||
	    (self->pdh_key = ac_sev_psp_read_key (dir, "pdh", error)) == NULL)
		return NULL;
	if (!ac_sev_psp_check_pair (self->ark_key, ac_amd_cert_get_pubkey (ark), "ARK", error) ||
	    !ac_sev_psp_check_pair (self->ask_key, ac_amd_cert_get_pubkey (ask), "ASK", error) ||
	    !ac_sev_psp_check_pair (self->cek_key,
				    ac_sev_cert_get_pubkey (ac_sev_chain_get_cek (self->chain)),
				    "CEK",
				    error) ||
	    !ac_sev_psp_check_pair (self->oca_key,
				    ac_sev_cert_get_pubkey (ac_sev_chain_get_oca (self->chain)),
				    "OCA",
				    error) ||
	    !ac_sev_psp_check_pair (self->pek_key,
				    ac_sev_cert_get_pubkey (ac_sev_chain_get_pek (self->chain)),
				    "PEK",
				    error) ||
	    !ac_sev_psp_check_pair (self->pdh_key,
				    ac_sev_cert_get_pubkey (ac_sev_chain_get_pdh (self->chain)),
				    "PDH",
				    error))
		return NULL;
	if (g_file_get_contents (id_path, &id, &id_len, NULL) && id_len == AC_SEV_ID_SIZE)
		memcpy (self->id, id, AC_SEV_ID_SIZE);
	else if (!ac_sev_random (self->id, sizeof (self->id), error))
		return NULL;
	return g_steal_pointer (&self);
}

static gboolean
ac_sev_psp_write (const gchar *dir, const gchar *name, const guint8 *data, gsize len, int mode, GError **error)
{
	g_autofree gchar *path = g_build_filename (dir, name, NULL);
	g_autoptr(GError) error_local = NULL;
	if (!g_file_set_contents_full (path,
				       (const gchar *)data,
				       (gssize)len,
				       G_FILE_SET_CONTENTS_CONSISTENT,
				       mode,
				       &error_local)) {
		g_set_error (error, AC_ERROR, AC_ERROR_IO, "%s", error_local->message);
		return FALSE;
	}
	return TRUE;
}

static gboolean
ac_sev_psp_write_key (const gchar *dir, const gchar *name, EVP_PKEY *key, GError **error)
{
	g_autofree gchar *base = g_strdup_printf ("%s_key.pem", name);
	BIO *bio = BIO_new (BIO_s_mem ());
	char *p = NULL;
	long len;
	gboolean ok;

	if (bio == NULL || PEM_write_bio_PrivateKey (bio, key, NULL, NULL, 0, NULL, NULL) != 1) {
		BIO_free (bio);
		return ac_sev_openssl_error (error, AC_ERROR_INTERNAL, "encoding a private key");
	}
	len = BIO_get_mem_data (bio, &p);
	ok = ac_sev_psp_write (dir, base, (const guint8 *)p, (gsize)len, 0600, error);
	ac_secret_wipe (p, (gsize)len);
	BIO_free (bio);
	return ok;
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
	AcSevCert *sev[4] = { ac_sev_chain_get_pdh (self->chain), ac_sev_chain_get_pek (self->chain),
			      ac_sev_chain_get_oca (self->chain), ac_sev_chain_get_cek (self->chain) };
	const gchar *names[] = { "pdh", "pek", "oca", "cek" };
	EVP_PKEY *keys[] = { self->pdh_key, self->pek_key, self->oca_key, self->cek_key };
	g_autoptr(GBytes) chain_sev = ac_sev_chain_to_bytes (self->chain, FALSE);
	g_autoptr(GBytes) chain_full = ac_sev_chain_to_bytes (self->chain, TRUE);
	const guint8 *p;
	gsize len = 0;

	if (g_mkdir_with_parents (dir, 0700) != 0) {
		g_set_error (error, AC_ERROR, AC_ERROR_IO, "cannot create %s: %s", dir, g_strerror (errno));
		return FALSE;
	}
	for (guint i = 0; i < 4; i++) {
		g_autofree gchar *base = g_strdup_printf ("%s.cert", names[i]);
		if (!ac_sev_psp_write (dir, base, ac_sev_cert_get_data (sev[i]), AC_SEV_CERT_SIZE, 0644, error) ||
		    !ac_sev_psp_write_key (dir, names[i], keys[i], error))
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
	return ac_sev_psp_write_key (dir, "ark", self->ark_key, error) &&
	       ac_sev_psp_write_key (dir, "ask", self->ask_key, error) &&
	       ac_sev_psp_write (dir, "id.bin", self->id, sizeof (self->id), 0644, error);
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
	if (pdh == NULL || certs == NULL || *pdh_len < AC_SEV_CERT_SIZE ||
	    *certs_len < 3 * AC_SEV_CERT_SIZE) {
		*pdh_len = AC_SEV_CERT_SIZE;
		*certs_len = 3 * AC_SEV_CERT_SIZE;
		st = ac_sev_psp_fail (self, AC_SEV_STATUS_INVALID_LENGTH, "PDH_CERT_EXPORT buffers too small");
	} else {
		memcpy (pdh, ac_sev_cert_get_data (ac_sev_chain_get_pdh (self->chain)), AC_SEV_CERT_SIZE);
		memcpy (certs, ac_sev_cert_get_data (ac_sev_chain_get_pek (self->chain)), AC_SEV_CERT_SIZE);
		memcpy (certs + AC_SEV_CERT_SIZE,
			ac_sev_cert_get_data (ac_sev_chain_get_oca (self->chain)),
			AC_SEV_CERT_SIZE);
		memcpy (certs + 2 * AC_SEV_CERT_SIZE,
			ac_sev_cert_get_data (ac_sev_chain_get_cek (self->chain)),
			AC_SEV_CERT_SIZE);
		if (self->unsigned_cek) {
			/* both slots empty: usage 0x1000, algorithm 0, zero signature */
			guint8 *cek = certs + 2 * AC_SEV_CERT_SIZE;
			memset (cek + AC_SEV_CERT_BODY_SIZE, 0, AC_SEV_CERT_SIZE - AC_SEV_CERT_BODY_SIZE);
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
		st = ac_sev_psp_fail (self, AC_SEV_STATUS_INVALID_LENGTH, "GET_ID buffer too small");
	} else {
		memcpy (buf, self->id, AC_SEV_ID_SIZE);
		*len = AC_SEV_ID_SIZE;
	}
	g_mutex_unlock (&self->mutex);
	return st;
}

/* ------------------------------------------------------------------------------------------ */
/* guest commands                                                                             */

static AcSevPspGuest *
ac_sev_psp_lookup (AcSevPsp *self, guint32 handle, AcSevStatus *st, const gchar *cmd)
{
	AcSevPspGuest *g = g_hash_table_lookup (self->guests, GUINT_TO_POINTER (handle));
	if (g == NULL)
		*st = ac_sev_psp_fail (self, AC_SEV_STATUS_INVALID_GUEST, "%s: no guest with handle %u", cmd, handle);
	return g;
}

static gboolean
ac_sev_psp_need_state (AcSevPsp *self, AcSevPspGuest *g, AcSevGuestState want, AcSevStatus *st, const gchar *cmd)
{
	if (g->state != want) {
		*st = ac_sev_psp_fail (self,
				       AC_SEV_STATUS_INVALID_GUEST_STATE,
				       "%s: guest %u is in state %u, expected %u",
				       cmd,
				       g->handle,
				       g->state,
				       want);
		return FALSE;
	}
	return TRUE;
}

/* the GODH: version 1, curve P-384, a point on the curve; usage, algorithm and signatures
 * are ignored as by real firmware */
static EVP_PKEY *
ac_sev_psp_parse_godh (const guint8 *dh)
{
	g_autoptr(GError) error = NULL;
	if (ac_sev_le32 (dh) != 1 || ac_sev_le32 (dh + 0x10) != 2)
		return NULL;
	return ac_sev_ec_pubkey_from_le (dh + 0x14, dh + 0x5c, &error);
}

static AcSevStatus
ac_sev_psp_launch_start_locked (AcSevPsp *self,
				guint32 *handle,
				guint32 policy,
				const guint8 *dh,
				guint32 dh_len,
				const guint8 *session,
				guint32 session_len)
{
	g_autoptr(EVP_PKEY) godh = NULL;
	AcSevPspGuest *g;
	guint8 z[48], master[16], kek[16], kik[16], mac[32], tk[32], pol[4];
	guint32 pol_api = policy >> 16;
	guint32 fw_api = ((guint32)self->api_minor << 8) | self->api_major;
	gboolean ok;

	if (self->state == 0)
		return ac_sev_psp_fail (self, AC_SEV_STATUS_INVALID_PLATFORM_STATE, "platform not initialized");
	if ((policy & AC_SEV_POLICY_ES) && !self->es)
		return ac_sev_psp_fail (self,
					AC_SEV_STATUS_POLICY_FAILURE,
					"policy 0x%x asks for SEV-ES, the platform was initialized without it",
					policy);
	if (policy & AC_SEV_POLICY_RESERVED_MASK)
		return ac_sev_psp_fail (self, AC_SEV_STATUS_POLICY_FAILURE, "policy 0x%x sets reserved bits", policy);
	/* API_MAJOR (bits 16-23) and API_MINOR (24-31) are minimums */
	if ((pol_api & 0xff) > self->api_major ||
	    ((pol_api & 0xff) == self->api_major && (pol_api >> 8) > self->api_minor)) {
		return ac_sev_psp_fail (self,
					AC_SEV_STATUS_POLICY_FAILURE,
					"policy 0x%x needs firmware API %u.%u, platform has %u.%u (0x%x)",
					policy,
					pol_api & 0xff,
					pol_api >> 8,
					self->api_major,
					self->api_minor,
					fw_api);
	}
	if (g_hash_table_size (self->guests) >= AC_SEV_PSP_MAX_GUESTS)
		return ac_sev_psp_fail (self, AC_SEV_STATUS_RESOURCE_LIMIT, "too many guests");
	if (*handle != 0)
		return ac_sev_psp_fail (self, AC_SEV_STATUS_INVALID_GUEST, "handle %u: LAUNCH_START needs handle 0", *handle);

	g = g_new0 (AcSevPspGuest, 1);
	g->regions = g_array_new (FALSE, TRUE, sizeof (AcSevPspRegion));
	g_array_set_clear_func (g->regions, ac_sev_psp_region_clear);
	g->policy = policy;

	if (dh_len == 0 && session_len == 0) {
		/* unattested launch: keys nobody outside knows */
		if (!ac_sev_random (g->tek, 16, NULL) || !ac_sev_random (g->tik, 16, NULL)) {
			ac_sev_psp_guest_free (g);
			return ac_sev_psp_fail (self, AC_SEV_STATUS_HWERROR_PLATFORM, "no randomness");
		}
	} else {
		if (dh == NULL || session == NULL || dh_len != AC_SEV_CERT_SIZE ||
		    session_len != AC_SEV_SESSION_SIZE) {
			ac_sev_psp_guest_free (g);
			return ac_sev_psp_fail (self,
						AC_SEV_STATUS_INVALID_LENGTH,
						"GODH %u bytes (expected 2084), session %u bytes (expected 128)",
						dh_len,
						session_len);
		}
		godh = ac_sev_psp_parse_godh (dh);
		if (godh == NULL) {
			ac_sev_psp_guest_free (g);
			return ac_sev_psp_fail (self, AC_SEV_STATUS_INVALID_CERTIFICATE, "GODH certificate is invalid");
		}
		ok = ac_sev_ecdh_x (self->pdh_key, godh, z, NULL) &&
		     ac_sev_kdf (z, 48, "sev-master-secret", session, 16, master, NULL) &&
		     ac_sev_kdf (master, 16, "sev-kek", NULL, 0, kek, NULL) &&
		     ac_sev_kdf (master, 16, "sev-kik", NULL, 0, kik, NULL) &&
		     ac_sev_hmac_sha256 (kik, 16, session + 0x10, 32, mac, NULL);
		ac_secret_wipe (z, sizeof (z));
		ac_secret_wipe (master, sizeof (master));
		ac_secret_wipe (kik, sizeof (kik));
		if (!ok) {
			ac_secret_wipe (kek, sizeof (kek));
			ac_sev_psp_guest_free (g);
			return ac_sev_psp_fail (self, AC_SEV_STATUS_HWERROR_PLATFORM, "key derivation failed");
		}
		if (CRYPTO_memcmp (mac, session + 0x40, 32) != 0) {
			ac_secret_wipe (kek, sizeof (kek));
			ac_sev_psp_guest_free (g);
			return ac_sev_psp_fail (self,
						AC_SEV_STATUS_BAD_SIGNATURE,
						"session wrap MAC does not verify (session made for another PDH?)");
		}
		ok = ac_sev_aes128_ctr (kek, session + 0x30, session + 0x10, 32, tk, NULL);
		ac_secret_wipe (kek, sizeof (kek));
		if (!ok) {
			ac_sev_psp_guest_free (g);
			return ac_sev_psp_fail (self, AC_SEV_STATUS_HWERROR_PLATFORM, "unwrap failed");
		}
		memcpy (g->tek, tk, 16);
		memcpy (g->tik, tk + 16, 16);
		ac_secret_wipe (tk, sizeof (tk));
		ac_sev_put_le32 (pol, policy);
		if (!ac_sev_hmac_sha256 (g->tik, 16, pol, 4, mac, NULL) ||
		    CRYPTO_memcmp (mac, session + 0x60, 32) != 0) {
			ac_sev_psp_guest_free (g);
			return ac_sev_psp_fail (self,
						AC_SEV_STATUS_POLICY_FAILURE,
						"policy MAC does not verify for policy 0x%x",
						policy);
		}
	}
	g->handle = self->next_handle++;
	g->state = AC_SEV_GUEST_STATE_LUPDATE;
	g->ld = EVP_MD_CTX_new ();
	if (g->ld == NULL || EVP_DigestInit_ex (g->ld, EVP_sha256 (), NULL) != 1) {
		ac_sev_psp_guest_free (g);
		return ac_sev_psp_fail (self, AC_SEV_STATUS_HWERROR_PLATFORM, "SHA-256 failed");
	}
	g_hash_table_insert (self->guests, GUINT_TO_POINTER (g->handle), g);
	self->state = 2;
	*handle = g->handle;
	return AC_SEV_STATUS_SUCCESS;
}

/**
 * ac_sev_psp_launch_start:
 * @handle: (inout): 0 on input; the new guest's handle on success
 * @dh_cert: (nullable): the guest owner's GODH certificate (2084 bytes) or none
 * @session: (nullable): the 128-byte session blob or none (unattested launch)
 */
AcSevStatus
ac_sev_psp_launch_start (AcSevPsp *self,
			 guint32 *handle,
			 guint32 policy,
			 const guint8 *dh_cert,
			 guint32 dh_len,
			 const guint8 *session,
			 guint32 session_len)
{
	AcSevStatus st;
	g_mutex_lock (&self->mutex);
	st = ac_sev_psp_launch_start_locked (self, handle, policy, dh_cert, dh_len, session, session_len);
	g_mutex_unlock (&self->mutex);
	return st;
}

static void
ac_sev_psp_store (AcSevPspGuest *g, guint64 gpa, const guint8 *data, gsize len)
{
	AcSevPspRegion r = { gpa, g_bytes_new (data, len) };
	g_array_append_val (g->regions, r);
}

static AcSevStatus
ac_sev_psp_update_data_locked (AcSevPsp *self, guint32 handle, guint64 gpa, const guint8 *data, guint32 len)
{
	AcSevStatus st = AC_SEV_STATUS_SUCCESS;
	AcSevPspGuest *g = ac_sev_psp_lookup (self, handle, &st, "LAUNCH_UPDATE_DATA");

	if (g == NULL ||
	    !ac_sev_psp_need_state (self, g, AC_SEV_GUEST_STATE_LUPDATE, &st, "LAUNCH_UPDATE_DATA"))
		return st;
	if (data == NULL || len == 0 || len % 16 != 0)
		return ac_sev_psp_fail (self,
					AC_SEV_STATUS_INVALID_LENGTH,
					"LAUNCH_UPDATE_DATA length %u is not a non-zero multiple of 16",
					len);
	if (gpa % 16 != 0 || gpa + len > AC_SEV_GPA_LIMIT)
		return ac_sev_psp_fail (self,
					AC_SEV_STATUS_INVALID_ADDRESS,
					"LAUNCH_UPDATE_DATA address 0x%" G_GINT64_MODIFIER "x is unaligned "
					"or outside guest memory",
					gpa);
	if (EVP_DigestUpdate (g->ld, data, len) != 1)
		return ac_sev_psp_fail (self, AC_SEV_STATUS_HWERROR_PLATFORM, "SHA-256 failed");
	ac_sev_psp_store (g, gpa, data, len);
	return AC_SEV_STATUS_SUCCESS;
}

AcSevStatus
ac_sev_psp_launch_update_data (AcSevPsp *self,
			       guint32 handle,
			       guint64 gpa,
			       const guint8 *data,
			       guint32 len)
{
	AcSevStatus st;
	g_mutex_lock (&self->mutex);
	st = ac_sev_psp_update_data_locked (self, handle, gpa, data, len);
	g_mutex_unlock (&self->mutex);
	return st;
}

static AcSevStatus
ac_sev_psp_update_vmsa_locked (AcSevPsp *self, guint32 handle, const guint8 *vmsa, guint32 len)
{
	AcSevStatus st = AC_SEV_STATUS_SUCCESS;
	AcSevPspGuest *g = ac_sev_psp_lookup (self, handle, &st, "LAUNCH_UPDATE_VMSA");

	if (g == NULL ||
	    !ac_sev_psp_need_state (self, g, AC_SEV_GUEST_STATE_LUPDATE, &st, "LAUNCH_UPDATE_VMSA"))
		return st;
	if ((g->policy & AC_SEV_POLICY_ES) == 0)
		return ac_sev_psp_fail (self,
					AC_SEV_STATUS_POLICY_FAILURE,
					"LAUNCH_UPDATE_VMSA for guest %u whose policy 0x%x lacks SEV-ES",
					handle,
					g->policy);
	if (vmsa == NULL || len != AC_SEV_VMSA_SIZE)
		return ac_sev_psp_fail (self,
					AC_SEV_STATUS_INVALID_LENGTH,
					"LAUNCH_UPDATE_VMSA length %u, expected 4096",
					len);
	if (EVP_DigestUpdate (g->ld, vmsa, len) != 1)
		return ac_sev_psp_fail (self, AC_SEV_STATUS_HWERROR_PLATFORM, "SHA-256 failed");
	return AC_SEV_STATUS_SUCCESS;
}

AcSevStatus
ac_sev_psp_launch_update_vmsa (AcSevPsp *self, guint32 handle, const guint8 *vmsa, guint32 len)
{
	AcSevStatus st;
	g_mutex_lock (&self->mutex);
	st = ac_sev_psp_update_vmsa_locked (self, handle, vmsa, len);
	g_mutex_unlock (&self->mutex);
	return st;
}

static AcSevStatus
ac_sev_psp_measure_locked (AcSevPsp *self, guint32 handle, guint8 *out, guint32 *len)
{
	AcSevStatus st = AC_SEV_STATUS_SUCCESS;
	AcSevPspGuest *g = ac_sev_psp_lookup (self, handle, &st, "LAUNCH_MEASURE");
	guint8 ld[32], mnonce[16];
	unsigned int ldlen = sizeof (ld);

	if (g == NULL ||
	    !ac_sev_psp_need_state (self, g, AC_SEV_GUEST_STATE_LUPDATE, &st, "LAUNCH_MEASURE"))
		return st;
	if (out == NULL || *len < AC_SEV_MEASURE_BLOB_SIZE) {
		*len = AC_SEV_MEASURE_BLOB_SIZE;
		return ac_sev_psp_fail (self, AC_SEV_STATUS_INVALID_LENGTH, "LAUNCH_MEASURE buffer too small");
	}
	if (self->next_mnonce_set) {
		memcpy (mnonce, self->next_mnonce, 16);
		self->next_mnonce_set = FALSE;
	} else if (!ac_sev_random (mnonce, 16, NULL)) {
		return ac_sev_psp_fail (self, AC_SEV_STATUS_HWERROR_PLATFORM, "no randomness");
	}
	if (EVP_DigestFinal_ex (g->ld, ld, &ldlen) != 1)
		return ac_sev_psp_fail (self, AC_SEV_STATUS_HWERROR_PLATFORM, "SHA-256 failed");
	if (!ac_sev_measurement_compute (g->tik,
					 self->api_major,
					 self->api_minor,
					 self->build_id,
					 g->policy,
					 ld,
					 mnonce,
					 g->measure,
					 NULL))
		return ac_sev_psp_fail (self, AC_SEV_STATUS_HWERROR_PLATFORM, "HMAC failed");
	memcpy (g->ld_final, ld, 32);
	memcpy (out, g->measure, 32);
	memcpy (out + 32, mnonce, 16);
	*len = AC_SEV_MEASURE_BLOB_SIZE;
	g->state = AC_SEV_GUEST_STATE_LSECRET;
	return AC_SEV_STATUS_SUCCESS;
}

/**
 * ac_sev_psp_launch_measure:
 * @out: (out caller-allocates): MEASURE ‖ MNONCE (48 bytes)
 * @len: (inout): the size of @out; 48 on return
 */
AcSevStatus
ac_sev_psp_launch_measure (AcSevPsp *self, guint32 handle, guint8 *out, guint32 *len)
{
	AcSevStatus st;
	g_mutex_lock (&self->mutex);
	st = ac_sev_psp_measure_locked (self, handle, out, len);
	g_mutex_unlock (&self->mutex);
	return st;
}

static AcSevStatus
ac_sev_psp_secret_locked (AcSevPsp *self,
			  guint32 handle,
			  const guint8 *hdr,
			  guint32 hdr_len,
			  guint64 gpa,
			  guint32 guest_len,
			  const guint8 *trans,
			  guint32 trans_len)
{
	AcSevStatus st = AC_SEV_STATUS_SUCCESS;
	AcSevPspGuest *g = ac_sev_psp_lookup (self, handle, &st, "LAUNCH_SECRET");
	g_autoptr(GBytes) plain = NULL;
	g_autoptr(GError) error = NULL;
	guint32 flags;

	if (g == NULL ||
	    !ac_sev_psp_need_state (self, g, AC_SEV_GUEST_STATE_LSECRET, &st, "LAUNCH_SECRET"))
		return st;
	if (hdr == NULL || hdr_len != AC_SEV_SECRET_HEADER_SIZE)
		return ac_sev_psp_fail (self,
					AC_SEV_STATUS_INVALID_LENGTH,
					"LAUNCH_SECRET header has %u bytes, expected 52",
					hdr_len);
	flags = ac_sev_le32 (hdr);
	if (flags & 1)
		return ac_sev_psp_fail (self, AC_SEV_STATUS_UNSUPPORTED, "compressed secrets are not supported");
	if (flags != 0)
		return ac_sev_psp_fail (self, AC_SEV_STATUS_INVALID_PARAM, "LAUNCH_SECRET flags 0x%x", flags);
	if (trans == NULL || trans_len == 0 || guest_len != trans_len || trans_len % 16 != 0 ||
	    trans_len > AC_SEV_SECRET_MAX_PAYLOAD)
		return ac_sev_psp_fail (self,
					AC_SEV_STATUS_INVALID_LENGTH,
					"LAUNCH_SECRET guest length %u, transport length %u (expected equal "
					"non-zero multiples of 16)",
					guest_len,
					trans_len);
	if (gpa % 16 != 0 || gpa + guest_len > AC_SEV_GPA_LIMIT)
		return ac_sev_psp_fail (self,
					AC_SEV_STATUS_INVALID_ADDRESS,
					"LAUNCH_SECRET address 0x%" G_GINT64_MODIFIER "x",
					gpa);
	if (!ac_sev_secret_packet_open (g->tek,
					g->tik,
					g->measure,
					self->api_major,
					self->api_minor,
					hdr,
					hdr_len,
					trans,
					trans_len,
					&plain,
					&error)) {
		return ac_sev_psp_fail (self,
					g_error_matches (error, AC_ERROR, AC_ERROR_MISMATCH)
					    ? AC_SEV_STATUS_BAD_MEASUREMENT
					    : AC_SEV_STATUS_INVALID_PARAM,
					"LAUNCH_SECRET: %s",
					error->message);
	}
	{
		AcSevPspRegion r = { gpa, g_bytes_ref (plain) };
		g_array_append_val (g->regions, r);
	}
	return AC_SEV_STATUS_SUCCESS;
}

AcSevStatus
ac_sev_psp_launch_secret (AcSevPsp *self,
			  guint32 handle,
			  const guint8 *hdr,
			  guint32 hdr_len,
			  guint64 guest_gpa,
			  guint32 guest_len,
			  const guint8 *trans,
			  guint32 trans_len)
{
	AcSevStatus st;
	g_mutex_lock (&self->mutex);
	st = ac_sev_psp_secret_locked (self, handle, hdr, hdr_len, guest_gpa, guest_len, trans, trans_len);
	g_mutex_unlock (&self->mutex);
	return st;
}

AcSevStatus
ac_sev_psp_launch_finish (AcSevPsp *self, guint32 handle)
{
	AcSevStatus st = AC_SEV_STATUS_SUCCESS;
	AcSevPspGuest *g;
	g_mutex_lock (&self->mutex);
	g = ac_sev_psp_lookup (self, handle, &st, "LAUNCH_FINISH");
	if (g != NULL && ac_sev_psp_need_state (self, g, AC_SEV_GUEST_STATE_LSECRET, &st, "LAUNCH_FINISH")) {
		g->state = AC_SEV_GUEST_STATE_RUNNING;
		ac_secret_wipe (g->tek, sizeof (g->tek));
		ac_secret_wipe (g->tik, sizeof (g->tik));
	}
	g_mutex_unlock (&self->mutex);
	return st;
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
	g_autoptr(GError) error = NULL;

	if (g == NULL)
		return st;
	if (g->state != AC_SEV_GUEST_STATE_LSECRET && g->state != AC_SEV_GUEST_STATE_RUNNING)
		return ac_sev_psp_fail (self,
					AC_SEV_STATUS_INVALID_GUEST_STATE,
					"ATTESTATION: guest %u is in state %u, expected LSECRET or RUNNING",
					handle,
					g->state);
	if (out == NULL || *len < AC_SEV_ATTESTATION_REPORT_SIZE) {
		*len = AC_SEV_ATTESTATION_REPORT_SIZE;
		return ac_sev_psp_fail (self, AC_SEV_STATUS_INVALID_LENGTH, "ATTESTATION buffer too small");
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
