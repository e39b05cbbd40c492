/*
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * No device-mapper is needed: libcryptsetup formats the header on a plain file, adds the key
 * slots and hands out the volume key; the payload is encrypted in user space (ac-builder-xts.c).
 */

#include "config.h"

#include "ac-builder-luks.h"

#include <errno.h>
#include <fcntl.h>
#include <libcryptsetup.h>
#include <unistd.h>

#include "ac-error.h"

/* a LUKS1 header with 8 slots of 4000 stripes of a 64-byte key is 2 MiB once aligned */
#define AC_LUKS_HEADER_FILE_SIZE (4 * 1024 * 1024)
/* LUKS2 as cryptsetup lays it out by default: 2 × 16 KiB of metadata and the key slots area
 * up to the data at 16 MiB; the file is larger than that, so the data segment is not empty */
#define AC_LUKS2_HEADER_FILE_SIZE (32 * 1024 * 1024)
#define AC_LUKS_KEYFILE_ITERATIONS 1000 /* LUKS1 minimum; the keyfile itself has 264 bits */

void
ac_luks_info_free (AcLuksInfo *info)
{
	if (info == NULL)
		return;
	g_free (info->uuid);
	g_free (info->cipher);
	g_free (info->cipher_mode);
	g_free (info->hash);
	g_free (info->pbkdf);
	g_free (info);
}

static void
ac_luks_log_cb (int level, const char *msg, void *usrptr)
{
	g_autofree gchar *line = g_strchomp (g_strdup (msg));
	g_debug ("libcryptsetup: %s", line);
}

static void
ac_crypt_free (struct crypt_device *cd)
{
	if (cd != NULL)
		crypt_free (cd);
}

static struct crypt_device *
ac_luks_init (const gchar *path, GError **error)
{
	struct crypt_device *cd = NULL;
	int rc = crypt_init (&cd, path);
	if (rc < 0) {
		g_set_error (error, AC_ERROR, AC_ERROR_IO, "libcryptsetup cannot open %s: %s", path,
			     g_strerror (-rc));
		return NULL;
	}
	crypt_set_log_callback (cd, ac_luks_log_cb, NULL);
	return cd;
}

static gboolean
ac_luks_set_pbkdf (struct crypt_device *cd, const gchar *hash, guint32 iterations, GError **error)
{
	struct crypt_pbkdf_type pbkdf = {
		.type = CRYPT_KDF_PBKDF2,
		.hash = hash,
		.time_ms = 2000,
	};
	int rc;
	if (iterations > 0) {
		pbkdf.iterations = iterations;
		pbkdf.flags = CRYPT_PBKDF_NO_BENCHMARK;
	}
	rc = crypt_set_pbkdf_type (cd, &pbkdf);
	if (rc < 0) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			     "PBKDF2-%s with %u iterations refused by libcryptsetup: %s", hash,
			     iterations, g_strerror (-rc));
		return FALSE;
	}
	return TRUE;
}

/* @secret (@what, for the message) into key slot @slot of @cd */
static gboolean
ac_luks_add_keyslot (struct crypt_device *cd,
                     int slot,
                     const gchar *what,
                     const AcSecret *secret,
                     GError **error)
{
	int rc = crypt_keyslot_add_by_volume_key (cd, slot, NULL, 0, secret->data, secret->len);
	if (rc < 0) {
		g_set_error (error, AC_ERROR, AC_ERROR_INTERNAL,
		             "libcryptsetup cannot add the %s to key slot %d: %s", what, slot,
		             g_strerror (-rc));
		return FALSE;
	}
	return TRUE;
}

/* The volume key of the header just formatted in @cd (opened with @passphrase) and where its
 * data starts; frees @cd. */
static gboolean
take_volume_key (struct crypt_device *cd,
		 const AcLuksParams *params,
		 const AcSecret *passphrase,
		 guint64 *data_offset,
		 AcSecret **volume_key,
		 GError **error)
{
	g_autoptr(AcSecret) vk = NULL;
	size_t vk_size = (size_t)crypt_get_volume_key_size (cd);
	int rc;

	vk = ac_secret_new_random_bytes (vk_size, error); /* overwritten below */
	if (vk == NULL) {
		ac_crypt_free (cd);
		return FALSE;
	}
	rc = crypt_volume_key_get (cd, 0, vk->data, &vk_size, passphrase->data, passphrase->len);
	if (rc < 0 || vk_size != params->key_bytes) {
		g_set_error (error, AC_ERROR, AC_ERROR_INTERNAL,
			     "libcryptsetup cannot hand out the volume key: %s",
			     rc < 0 ? g_strerror (-rc) : "unexpected key size");
		ac_crypt_free (cd);
		return FALSE;
	}
	*data_offset = crypt_get_data_offset (cd) * 512;
	ac_crypt_free (cd);
	if (volume_key != NULL)
		*volume_key = g_steal_pointer (&vk);
	return TRUE;
}

/* the file @path of @size bytes, created exclusively (mode 0600) */
static gboolean
ac_luks_create_file (const gchar *path, goffset size, GError **error)
{
	int fd = open (path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		g_set_error (error, AC_ERROR, errno == EEXIST ? AC_ERROR_EXISTS : AC_ERROR_IO,
			     "cannot create %s: %s", path, g_strerror (errno));
		return FALSE;
	}
	if (ftruncate (fd, size) != 0) {
		g_set_error (error, AC_ERROR, AC_ERROR_IO, "cannot size %s: %s", path,
			     g_strerror (errno));
		close (fd);
		return FALSE;
	}
	close (fd);
	return TRUE;
}

/*
 * What both formats start with: @params checked (@iterations_rule says the PBKDF2 minimum),
 * @header_path created (@size bytes), formatted as @type with @type_params, and key slot 0
 * opened by @passphrase. Returns: the device, or NULL with @error.
 */
static struct crypt_device *
ac_luks_format_start (const gchar *header_path,
		      goffset size,
		      const gchar *type,
		      void *type_params,
		      const gchar *iterations_rule,
		      const AcLuksParams *params,
		      const AcSecret *passphrase,
		      GError **error)
{
	struct crypt_device *cd = NULL;
	int rc;

	if (params->key_bytes != 32 && params->key_bytes != 64) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			     "LUKS key size %u bits: expected 256 or 512 (AES-128/256-XTS)",
			     params->key_bytes * 8);
		return NULL;
	}
	if (params->iterations != 0 && params->iterations < 1000) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT, "PBKDF2 iterations %u: %s",
			     params->iterations, iterations_rule);
		return NULL;
	}
	if (!ac_luks_create_file (header_path, size, error))
		return NULL;
	cd = ac_luks_init (header_path, error);
	if (cd == NULL)
		return NULL;
	if (!ac_luks_set_pbkdf (cd, params->hash, params->iterations, error)) {
		ac_crypt_free (cd);
		return NULL;
	}
	rc = crypt_format (cd, type, params->cipher, params->cipher_mode, params->uuid, NULL,
			   params->key_bytes, type_params);
	if (rc < 0) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			     "libcryptsetup cannot format %s with %s-%s, %u-bit key, %s: %s", type,
			     params->cipher, params->cipher_mode, params->key_bytes * 8, params->hash,
			     g_strerror (-rc));
		ac_crypt_free (cd);
		return NULL;
	}
	if (!ac_luks_add_keyslot (cd, 0, "passphrase", passphrase, error)) {
		ac_crypt_free (cd);
		return NULL;
	}
	return cd;
}

/**
 * ac_luks_format:
 * @header_path: created (must not exist), mode 0600; holds the header afterwards
 * @keyfile: (nullable): a second secret for key slot 1 (the initramfs keyfile)
 * @data_offset: (out): where the payload starts, in bytes from the header start
 * @volume_key: (out): the generated volume key
 *
 * Formats a LUKS1 header on a plain file: key slot 0 opens with @passphrase, slot 1 with
 * @keyfile. Nothing secret is written to disk in clear.
 */
gboolean
ac_luks_format (const gchar *header_path,
		const AcLuksParams *params,
		const AcSecret *passphrase,
		const AcSecret *keyfile,
		guint64 *data_offset,
		AcSecret **volume_key,
		GError **error)
{
	struct crypt_params_luks1 luks1 = { .hash = params->hash };
	struct crypt_device *cd;

	cd = ac_luks_format_start (header_path, AC_LUKS_HEADER_FILE_SIZE, CRYPT_LUKS1, &luks1,
				   "LUKS1 needs at least 1000", params, passphrase, error);
	if (cd == NULL)
		return FALSE;
	if (keyfile != NULL
	    && (!ac_luks_set_pbkdf (cd, params->hash, AC_LUKS_KEYFILE_ITERATIONS, error)
	        || !ac_luks_add_keyslot (cd, 1, "keyfile", keyfile, error))) {
		ac_crypt_free (cd);
		return FALSE;
	}
	return take_volume_key (cd, params, passphrase, data_offset, volume_key, error);
}

/**
 * ac_luks2_format:
 * @header_path: created (must not exist), mode 0600; holds the header afterwards
 * @data_offset: (out): where the data segment starts, in bytes from the header start
 * @volume_key: (out): the generated volume key
 *
 * Formats a LUKS2 header on a plain file for an SEV-SNP root image: @params' cipher for the
 * data segment and key slot 0 (the only one; @passphrase opens it), 512-byte sectors (what
 * ac-builder-xts.c encrypts), PBKDF2 with @params' hash and iterations (docs/builder.md says
 * why not Argon2), the data segment's size "dynamic": up to the end of the file.
 */
gboolean
ac_luks2_format (const gchar *header_path,
		 const AcLuksParams *params,
		 const AcSecret *passphrase,
		 guint64 *data_offset,
		 AcSecret **volume_key,
		 GError **error)
{
	struct crypt_params_luks2 luks2 = { .sector_size = 512 };
	struct crypt_device *cd;

	cd = ac_luks_format_start (header_path, AC_LUKS2_HEADER_FILE_SIZE, CRYPT_LUKS2, &luks2,
				   "expected at least 1000", params, passphrase, error);
	if (cd == NULL)
		return FALSE;
	return take_volume_key (cd, params, passphrase, data_offset, volume_key, error);
}

static AcLuksInfo *
ac_luks_open_type (const gchar *header_path,
		   const gchar *type,
		   const AcSecret *secret,
		   AcSecret **volume_key,
		   GError **error);

/**
 * ac_luks2_open:
 * @path: a file with a LUKS2 header at its start
 * @secret: the passphrase of one of the slots
 * @volume_key: (out) (optional): the volume key it unlocks
 *
 * Loads the LUKS2 header of @path and checks that @secret opens a key slot.
 */
AcLuksInfo *
ac_luks2_open (const gchar *path,
	       const AcSecret *secret,
	       AcSecret **volume_key,
	       GError **error)
{
	return ac_luks_open_type (path, CRYPT_LUKS2, secret, volume_key, error);
}

/**
 * ac_luks_open:
 * @secret: a passphrase or keyfile of one of the slots
 * @volume_key: (out) (optional): the volume key it unlocks
 *
 * Loads a LUKS1 header from a file and checks that @secret opens a key slot (the volume key
 * digest matches).
 */
AcLuksInfo *
ac_luks_open (const gchar *header_path,
	      const AcSecret *secret,
	      AcSecret **volume_key,
	      GError **error)
{
	return ac_luks_open_type (header_path, CRYPT_LUKS1, secret, volume_key, error);
}

static AcLuksInfo *
ac_luks_open_type (const gchar *header_path,
		   const gchar *type,
		   const AcSecret *secret,
		   AcSecret **volume_key,
		   GError **error)
{
	const gchar *name = g_strcmp0 (type, CRYPT_LUKS2) == 0 ? "LUKS2" : "LUKS1";
	struct crypt_device *cd = ac_luks_init (header_path, error);
	g_autoptr(AcLuksInfo) info = NULL;
	g_autoptr(AcSecret) vk = NULL;
	size_t vk_size;
	int rc;

	if (cd == NULL)
		return NULL;
	rc = crypt_load (cd, type, NULL);
	if (rc < 0) {
		g_set_error (error, AC_ERROR, AC_ERROR_MISMATCH, "%s has no valid %s header: %s",
			     header_path, name, g_strerror (-rc));
		ac_crypt_free (cd);
		return NULL;
	}
	vk_size = (size_t)crypt_get_volume_key_size (cd);
	if (vk_size == 0 || vk_size > 512) {
		g_set_error (error, AC_ERROR, AC_ERROR_MISMATCH, "%s: volume key size %zu", header_path,
			     vk_size);
		ac_crypt_free (cd);
		return NULL;
	}
	vk = ac_secret_new_random_bytes (vk_size, error);
	if (vk == NULL) {
		ac_crypt_free (cd);
		return NULL;
	}
	rc = crypt_volume_key_get (cd, CRYPT_ANY_SLOT, vk->data, &vk_size, secret->data, secret->len);
	if (rc < 0) {
		g_set_error (error, AC_ERROR, AC_ERROR_MISMATCH,
			     "the secret opens no key slot of the %s header in %s", name, header_path);
		ac_crypt_free (cd);
		return NULL;
	}
	info = g_new0 (AcLuksInfo, 1);
	info->keyslot = rc;
	info->uuid = g_strdup (crypt_get_uuid (cd));
	info->cipher = g_strdup (crypt_get_cipher (cd));
	info->cipher_mode = g_strdup (crypt_get_cipher_mode (cd));
	info->key_bytes = (guint)vk_size;
	info->data_offset = crypt_get_data_offset (cd) * 512;
	info->version = g_strcmp0 (type, CRYPT_LUKS2) == 0 ? 2 : 1;
	info->sector_size = (guint32)crypt_get_sector_size (cd);
	{
		struct crypt_pbkdf_type pbkdf = { 0 };
		if (crypt_keyslot_get_pbkdf (cd, rc, &pbkdf) == 0) {
			info->hash = g_strdup (pbkdf.hash);
			info->pbkdf = g_strdup (pbkdf.type);
			info->iterations = pbkdf.iterations;
		}
	}
	ac_crypt_free (cd);
	if (volume_key != NULL)
		*volume_key = g_steal_pointer (&vk);
	return g_steal_pointer (&info);
}
