/*
 * aleph-confidential devnet: SEV platform identities.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <errno.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <glib/gstdio.h>

#include "ac-devnet-identity.h"
#include "ac-error.h"
#include "ac-file.h"
#include "ac-secret.h"
#include "ac-sev-cert.h"

static gboolean
identity_exists (const gchar *dir)
{
	g_autofree gchar *p = g_build_filename (dir, "pdh_key.pem", NULL);
	g_autofree gchar *a = g_build_filename (dir, "ark.cert", NULL);
	return g_file_test (p, G_FILE_TEST_EXISTS) && g_file_test (a, G_FILE_TEST_EXISTS);
}

/* an SNP identity (CA or chip) is there once @marker is */
static gboolean
identity_has (const gchar *dir, const gchar *marker)
{
	g_autofree gchar *p = g_build_filename (dir, marker, NULL);
	return g_file_test (p, G_FILE_TEST_EXISTS);
}

/* a temporary identity directory (one level of subdirectories: an SNP chip's ca/) */
static void
rm_rf_flat (const gchar *dir)
{
	g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
	const gchar *name;
	if (d == NULL)
		return;
	while ((name = g_dir_read_name (d)) != NULL) {
		g_autofree gchar *p = g_build_filename (dir, name, NULL);
		if (g_file_test (p, G_FILE_TEST_IS_DIR) && !g_file_test (p, G_FILE_TEST_IS_SYMLINK))
			rm_rf_flat (p);
		else
			g_unlink (p);
	}
	g_rmdir (dir);
}

/* @saved: whether an identity was saved into @tmpdir, else the directory is removed */
static gboolean
identity_saved (const gchar *tmpdir, gboolean saved)
{
	if (!saved)
		rm_rf_flat (tmpdir);
	return saved;
}

/* renames a temporary sibling into place; loses the race gracefully (the winner's identity is
 * there when @marker is; NULL: an SEV identity) */
static gboolean
identity_publish (const gchar *tmpdir, const gchar *dir, const gchar *marker, GError **error)
{
	if (g_rename (tmpdir, dir) != 0) {
		int saved = errno;
		rm_rf_flat (tmpdir);
		if ((saved == ENOTEMPTY || saved == EEXIST)
		    && (marker != NULL ? identity_has (dir, marker) : identity_exists (dir)))
			return TRUE;
		g_set_error (error, AC_ERROR, AC_ERROR_IO, "renaming %s to %s: %s", tmpdir, dir,
		             g_strerror (saved));
		return FALSE;
	}
	return TRUE;
}

static gchar *
identity_tmpdir (const gchar *dir, GError **error)
{
	g_autofree gchar *parent = g_path_get_dirname (dir);
	g_autofree gchar *base = g_path_get_basename (dir);
	g_autofree gchar *tmpl = NULL;
	if (g_mkdir_with_parents (parent, 0700) != 0) {
		g_set_error (error, AC_ERROR, AC_ERROR_IO, "creating %s: %s", parent,
		             g_strerror (errno));
		return NULL;
	}
	tmpl = g_strdup_printf ("%s/.%s-XXXXXX", parent, base);
	if (g_mkdtemp_full (tmpl, 0700) == NULL) {
		g_set_error (error, AC_ERROR, AC_ERROR_IO, "creating %s: %s", tmpl,
		             g_strerror (errno));
		return NULL;
	}
	return g_steal_pointer (&tmpl);
}

AcSevPsp *
ac_devnet_identity_root (const gchar *dir, guint rsa_bits, GError **error)
{
	g_autoptr (AcSevPsp) psp = NULL;
	g_autofree gchar *tmp = NULL;

	if (identity_exists (dir))
		return ac_sev_psp_load (dir, error);
	psp = ac_sev_psp_new (rsa_bits, error);
	if (psp == NULL)
		return NULL;
	tmp = identity_tmpdir (dir, error);
	if (tmp == NULL || !identity_saved (tmp, ac_sev_psp_save (psp, tmp, error))
	    || !identity_publish (tmp, dir, NULL, error))
		return NULL;
	/* whoever won the race, use what is on disk */
	return ac_sev_psp_load (dir, error);
}

static EVP_PKEY *
read_key (const gchar *dir, const gchar *name, GError **error)
{
	g_autofree gchar *base = g_strdup_printf ("%s_key.pem", name);
	g_autofree gchar *path = g_build_filename (dir, base, NULL);
	gboolean readable;
	EVP_PKEY *key = ac_sev_private_key_read (path, "devnet root key", &readable, error);

	if (key == NULL && readable)
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "devnet root key %s is not a PEM private key", path);
	return key;
}

static gboolean
write_key (const gchar *dir, const gchar *name, EVP_PKEY *key, GError **error)
{
	g_autofree gchar *base = g_strdup_printf ("%s_key.pem", name);
	g_autoptr (AcSecret) pem = ac_sev_private_key_to_pem (key);
	if (pem == NULL) {
		g_set_error (error, AC_ERROR, AC_ERROR_INTERNAL, "encoding the %s private key",
		             name);
		return FALSE;
	}
	return ac_file_replace_contents_in (dir, base, 0600, pem->data, pem->len, error);
}

static gboolean
copy_file (const gchar *from_dir, const gchar *to_dir, const gchar *name, int mode, GError **error)
{
	g_autofree gchar *src = g_build_filename (from_dir, name, NULL);
	g_autoptr (GError) error_local = NULL;
	g_autofree gchar *buf = NULL;
	gsize len = 0;
	gboolean ok;
	/* certificates and private keys: AC_SEV_KEY_FILE_MAX bounds them all */
	if (!ac_file_read_bounded (src, AC_SEV_KEY_FILE_MAX, &buf, &len, &error_local)) {
		if (g_error_matches (error_local, AC_ERROR, AC_ERROR_NOT_FOUND))
			g_set_error (error, AC_ERROR, AC_ERROR_NOT_FOUND,
			             "devnet root file %s is missing", src);
		else
			g_propagate_prefixed_error (error, g_steal_pointer (&error_local),
			                            "devnet root file: ");
		return FALSE;
	}
	ok = ac_file_replace_contents_in (to_dir, name, (guint)mode, buf, len, error);
	ac_secret_wipe (buf, len);
	return ok;
}

static EVP_PKEY *
ec_generate (GError **error)
{
	EVP_PKEY *k = EVP_EC_gen ("P-384");
	if (k == NULL)
		g_set_error_literal (error, AC_ERROR, AC_ERROR_INTERNAL,
		                     "generating a P-384 key failed");
	return k;
}

typedef struct {
	EVP_PKEY *keys[4]; /* cek, oca, pek, pdh */
	AcSevCert *certs[4];
	EVP_PKEY *ask_key;
} AcDevnetPlatformKeys;

static void
platform_keys_clear (AcDevnetPlatformKeys *pk)
{
	for (guint j = 0; j < 4; j++) {
		if (pk->keys[j] != NULL)
			EVP_PKEY_free (pk->keys[j]);
		if (pk->certs[j] != NULL)
			ac_sev_cert_unref (pk->certs[j]);
	}
	if (pk->ask_key != NULL)
		EVP_PKEY_free (pk->ask_key);
	memset (pk, 0, sizeof (*pk));
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (AcDevnetPlatformKeys, platform_keys_clear)

/* the layout of ac_sev_psp_new(): CEK ← ASK, OCA self-signed, PEK ← OCA and CEK, PDH ← PEK,
 * API 0.24 */
static gboolean
platform_generate (AcDevnetPlatformKeys *pk, AcAmdCert *ask, GError **error)
{
	for (guint i = 0; i < 4; i++) {
		if ((pk->keys[i] = ec_generate (error)) == NULL)
			return FALSE;
	}
	return ac_sev_psp_platform_certs (ask, pk->ask_key, 0, 24, pk->keys, pk->certs, error);
}

static gboolean
platform_write (AcDevnetPlatformKeys *pk, const gchar *tmp, const gchar *root_dir, GError **error)
{
	const gchar *names[4] = { "cek", "oca", "pek", "pdh" };
	guint8 id[AC_SEV_ID_SIZE];
	for (guint i = 0; i < 4; i++) {
		g_autofree gchar *base = g_strdup_printf ("%s.cert", names[i]);
		if (!ac_file_replace_contents_in (tmp, base, 0644,
		                                  ac_sev_cert_get_data (pk->certs[i]),
		                                  AC_SEV_CERT_SIZE, error)
		    || !write_key (tmp, names[i], pk->keys[i], error))
			return FALSE;
	}
	if (!copy_file (root_dir, tmp, "ark.cert", 0644, error)
	    || !copy_file (root_dir, tmp, "ask.cert", 0644, error)
	    || !copy_file (root_dir, tmp, "ark_key.pem", 0600, error)
	    || !copy_file (root_dir, tmp, "ask_key.pem", 0600, error))
		return FALSE;
	if (RAND_bytes (id, sizeof (id)) != 1) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_INTERNAL,
		                     "no random bytes for the chip id");
		return FALSE;
	}
	return ac_file_replace_contents_in (tmp, "id.bin", 0644, id, sizeof (id), error);
}

AcSevPsp *
ac_devnet_identity_platform (const gchar *dir, const gchar *root_dir, GError **error)
{
	g_autofree gchar *ask_path = g_build_filename (root_dir, "ask.cert", NULL);
	g_autoptr (AcAmdCert) ask = NULL;
	g_auto (AcDevnetPlatformKeys) pk = { 0 };
	g_autofree gchar *tmp = NULL;

	if (identity_exists (dir))
		return ac_sev_psp_load (dir, error);
	if ((ask = ac_amd_cert_parse_file (ask_path, error)) == NULL
	    || (pk.ask_key = read_key (root_dir, "ask", error)) == NULL)
		return NULL;
	if (!platform_generate (&pk, ask, error))
		return NULL;
	tmp = identity_tmpdir (dir, error);
	if (tmp == NULL || !identity_saved (tmp, platform_write (&pk, tmp, root_dir, error))
	    || !identity_publish (tmp, dir, NULL, error))
		return NULL;
	return ac_sev_psp_load (dir, error);
}

/* ---- SEV-SNP ---- */

AcSnpSoftCa *
ac_devnet_identity_snp_ca (const gchar *dir, GError **error)
{
	g_autoptr (AcSnpSoftCa) ca = NULL;
	g_autofree gchar *tmp = NULL;

	if (identity_has (dir, "ark.pem"))
		return ac_snp_soft_ca_load (dir, error);
	ca = ac_snp_soft_ca_new (AC_DEVNET_SNP_PRODUCT, FALSE, error);
	if (ca == NULL)
		return NULL;
	tmp = identity_tmpdir (dir, error);
	if (tmp == NULL || !identity_saved (tmp, ac_snp_soft_ca_save (ca, tmp, error))
	    || !identity_publish (tmp, dir, "ark.pem", error))
		return NULL;
	return ac_snp_soft_ca_load (dir, error);
}

AcSnpFirmware *
ac_devnet_identity_snp_firmware (const gchar *dir,
                                 const gchar *ca_dir,
                                 const AcSnpTcb *tcb,
                                 gboolean keep,
                                 GError **error)
{
	g_autoptr (AcSnpFirmware) fw = NULL;
	g_autofree gchar *tmp = NULL;
	AcSnpSoftCa *ca;

	if (keep && identity_has (dir, "firmware.ini"))
		return ac_snp_firmware_load (dir, error);
	ca = ac_snp_soft_ca_load (ca_dir, error);
	if (ca == NULL)
		return NULL;
	fw = ac_snp_firmware_new_with_ca (ca, tcb, error);
	if (fw == NULL || !keep)
		return g_steal_pointer (&fw);
	tmp = identity_tmpdir (dir, error);
	if (tmp == NULL || !identity_saved (tmp, ac_snp_firmware_save (fw, tmp, error))
	    || !identity_publish (tmp, dir, "firmware.ini", error))
		return NULL;
	return ac_snp_firmware_load (dir, error);
}
