/*
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Layout (docs/protocols.md#disk-image-layout): GPT; p1 = ESP from 1 MiB; p2 = LUKS1 from the next MiB
 * boundary to the last MiB boundary before the backup GPT; the LUKS1 payload is an ext4 image
 * made with mkfs.ext4 -d (without orphan_file and metadata_csum_seed, which GRUB cannot read).
 * No loop device, no device-mapper, no mount: every piece is made as a file and copied or
 * encrypted into place.
 */

#include "config.h"

#include "ac-builder-assemble.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include "ac-builder-ext4.h"
#include "ac-builder-gpt.h"
#include "ac-error.h"
#include "ac-process.h"

void
ac_assemble_result_clear (AcAssembleResult *result)
{
	g_free (result->fs_image);
	g_free (result->esp_volume_id);
	g_free (result->fs_uuid);
	memset (result, 0, sizeof (*result));
}

/**
 * ac_assemble_layout:
 * @luks_data_offset: bytes of LUKS header before the payload
 *
 * Computes the partition layout of a disk image; fails when the pieces do not fit.
 */
gboolean
ac_assemble_layout (guint64 disk_size,
		    guint64 esp_size,
		    guint64 luks_data_offset,
		    AcAssembleResult *layout,
		    GError **error)
{
	guint64 end;
	if (disk_size % 512 != 0) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			     "disk size %" G_GUINT64_FORMAT " is not a multiple of 512 bytes", disk_size);
		return FALSE;
	}
	if (esp_size == 0 || esp_size % AC_MIB != 0) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			     "ESP size %" G_GUINT64_FORMAT " is not a positive multiple of 1 MiB",
			     esp_size);
		return FALSE;
	}
	layout->disk_size = disk_size;
	layout->esp_offset = AC_MIB;
	layout->esp_size = esp_size;
	layout->root_offset = layout->esp_offset + esp_size;
	end = disk_size > AC_GPT_BACKUP_BYTES ? (disk_size - AC_GPT_BACKUP_BYTES) / AC_MIB * AC_MIB : 0;
	if (end <= layout->root_offset + luks_data_offset + 8 * AC_MIB) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			     "disk size %" G_GUINT64_FORMAT " bytes is too small for a %" G_GUINT64_FORMAT
			     " MiB ESP, a LUKS header and a root filesystem of at least 8 MiB",
			     disk_size, esp_size / AC_MIB);
		return FALSE;
	}
	layout->root_size = end - layout->root_offset;
	layout->payload_offset = layout->root_offset + luks_data_offset;
	layout->payload_size = layout->root_size - luks_data_offset;
	return TRUE;
}

/**
 * ac_assemble_luks2_layout:
 * @luks_data_offset: bytes of LUKS2 header (both copies and the key slots) before the data
 *
 * The luks2-root layout: the header at 0, the encrypted filesystem from @luks_data_offset to
 * the end of the image (the data segment's size is "dynamic").
 */
gboolean
ac_assemble_luks2_layout (guint64 disk_size,
			  guint64 luks_data_offset,
			  AcAssembleResult *layout,
			  GError **error)
{
	if (disk_size % 512 != 0) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			     "disk size %" G_GUINT64_FORMAT " is not a multiple of 512 bytes", disk_size);
		return FALSE;
	}
	if (luks_data_offset == 0 || luks_data_offset % 512 != 0 ||
	    disk_size <= luks_data_offset + 8 * AC_MIB) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			     "disk size %" G_GUINT64_FORMAT " bytes is too small for a LUKS2 header of %"
			     G_GUINT64_FORMAT " bytes and a root filesystem of at least 8 MiB",
			     disk_size, luks_data_offset);
		return FALSE;
	}
	layout->disk_size = disk_size;
	layout->root_offset = 0;
	layout->root_size = disk_size;
	layout->payload_offset = luks_data_offset;
	layout->payload_size = disk_size - luks_data_offset;
	return TRUE;
}

/**
 * ac_copy_file_range_sparse:
 *
 * Copies @length bytes; holes of the input are skipped (the output must read as zeros there:
 * a freshly truncated file).
 */
gboolean
ac_copy_file_range_sparse (int in_fd,
			   guint64 in_off,
			   guint64 length,
			   int out_fd,
			   guint64 out_off,
			   GCancellable *cancellable,
			   GError **error)
{
	g_autofree guint8 *buf = g_malloc (AC_MIB);
	guint64 pos = 0;
	while (pos < length) {
		off_t data = lseek (in_fd, (off_t)(in_off + pos), SEEK_DATA);
		off_t hole;
		if (data < 0 && errno == ENXIO)
			break;
		if (data < 0)
			data = (off_t)(in_off + pos); /* no SEEK_DATA: copy everything */
		if ((guint64)data >= in_off + length)
			break;
		hole = lseek (in_fd, data, SEEK_HOLE);
		if (hole < 0 || (guint64)hole > in_off + length)
			hole = (off_t)(in_off + length);
		for (guint64 p = (guint64)data; p < (guint64)hole;) {
			gsize n = (gsize)MIN ((guint64)AC_MIB, (guint64)hole - p);
			if (g_cancellable_is_cancelled (cancellable)) {
				g_set_error_literal (error, AC_ERROR, AC_ERROR_CANCELLED,
						     "interrupted while copying");
				return FALSE;
			}
			if (!ac_pread_full (in_fd, buf, n, p, error))
				return FALSE;
			if (!ac_pwrite_full (out_fd, buf, n, out_off + (p - in_off), error))
				return FALSE;
			p += n;
		}
		pos = (guint64)hole - in_off;
	}
	return TRUE;
}

/* orphan_file exists from e2fsprogs 1.47 on; older mke2fs refuses to turn off what it lacks */
static gboolean
ac_assemble_mke2fs_has_orphan_file (void)
{
	const gchar *argv[] = { "mke2fs", "-V", NULL };
	g_autofree gchar *err = NULL;
	g_auto(GStrv) envp = ac_process_tool_environ (NULL);
	guint major = 0, minor = 0;
	if (!g_spawn_sync (NULL, (gchar **)argv, envp, G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL,
			   NULL, NULL, NULL, &err, NULL, NULL) ||
	    err == NULL || sscanf (err, "mke2fs %u.%u", &major, &minor) != 2)
		return TRUE;
	return major > 1 || (major == 1 && minor >= 47);
}

static gboolean
ac_assemble_make_ext4 (const AcAssembleSpec *spec,
		       const gchar *path,
		       guint64 size,
		       GCancellable *cancellable,
		       GError **error)
{
	g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
	g_autoptr(GPtrArray) env = g_ptr_array_new_with_free_func (g_free);
	g_autoptr(GString) features = g_string_new ("^metadata_csum_seed");
	g_autoptr(GString) ext = g_string_new ("root_owner=0:0");
	int fd;

	fd = open (path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || ftruncate (fd, (off_t)size) != 0) {
		g_set_error (error, AC_ERROR, AC_ERROR_IO, "cannot create %s: %s", path,
			     g_strerror (errno));
		if (fd >= 0)
			close (fd);
		return FALSE;
	}
	close (fd);
	if (ac_assemble_mke2fs_has_orphan_file ())
		g_string_append (features, ",^orphan_file");
	ac_argv_add (argv, "mkfs.ext4", "-q", "-F", "-b", "4096", "-O", features->str, NULL);
	if (spec->fs_label != NULL)
		ac_argv_add (argv, "-L", spec->fs_label, NULL);
	if (spec->fs_uuid != NULL) {
		ac_argv_add (argv, "-U", spec->fs_uuid, NULL);
		g_string_append_printf (ext, ",hash_seed=%s", spec->fs_uuid);
	}
	ac_argv_add (argv, "-E", ext->str, "-d", spec->root_dir, path, NULL);
	g_ptr_array_add (argv, NULL);
	if (spec->source_date_epoch >= 0) {
		g_ptr_array_add (env, g_strdup_printf ("E2FSPROGS_FAKE_TIME=%" G_GINT64_FORMAT,
						       spec->source_date_epoch));
		g_ptr_array_add (env, g_strdup_printf ("SOURCE_DATE_EPOCH=%" G_GINT64_FORMAT,
						       spec->source_date_epoch));
	}
	g_ptr_array_add (env, g_strdup ("MKE2FS_CONFIG=/etc/mke2fs.conf"));
	g_ptr_array_add (env, NULL);
	if (!ac_run_tool ((const gchar *const *)argv->pdata, (const gchar *const *)env->pdata,
			  cancellable, NULL, error))
		return FALSE;
	if (spec->source_date_epoch >= 0)
		return ac_ext4_clamp_times (path, spec->source_date_epoch, error);
	return TRUE;
}

static gint
ac_assemble_cmp_names (gconstpointer a, gconstpointer b)
{
	return g_strcmp0 (*(const gchar *const *)a, *(const gchar *const *)b);
}

static gboolean
ac_assemble_make_esp (const AcAssembleSpec *spec,
		      const gchar *path,
		      const gchar *volume_id,
		      GCancellable *cancellable,
		      GError **error)
{
	g_autofree gchar *blocks = g_strdup_printf ("%" G_GUINT64_FORMAT, spec->esp_size / 1024);
	g_autoptr(GPtrArray) env = g_ptr_array_new_with_free_func (g_free);
	g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);

	g_ptr_array_add (env, g_strdup ("MTOOLS_SKIP_CHECK=1"));
	if (spec->source_date_epoch >= 0)
		g_ptr_array_add (env, g_strdup_printf ("SOURCE_DATE_EPOCH=%" G_GINT64_FORMAT,
						       spec->source_date_epoch));
	g_ptr_array_add (env, NULL);

	ac_argv_add (argv, "mkfs.vfat", "-C", NULL);
	if (spec->esp_size >= 64 * AC_MIB)
		ac_argv_add (argv, "-F", "32", NULL);
	ac_argv_add (argv, "-n", "ESP", "-i", volume_id, NULL);
	if (spec->source_date_epoch >= 0)
		ac_argv_add (argv, "--invariant", NULL);
	ac_argv_add (argv, path, blocks, NULL);
	g_ptr_array_add (argv, NULL);
	if (!ac_run_tool ((const gchar *const *)argv->pdata, (const gchar *const *)env->pdata,
			  cancellable, NULL, error))
		return FALSE;

	if (spec->esp_dir != NULL) {
		g_autoptr(GError) local = NULL;
		g_autoptr(GDir) dir = g_dir_open (spec->esp_dir, 0, &local);
		g_autoptr(GPtrArray) mcopy = g_ptr_array_new_with_free_func (g_free);
		g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
		const gchar *name;
		if (dir == NULL) {
			g_set_error (error, AC_ERROR, AC_ERROR_NOT_FOUND, "ESP tree %s: %s",
				     spec->esp_dir, local->message);
			return FALSE;
		}
		while ((name = g_dir_read_name (dir)) != NULL)
			g_ptr_array_add (names, g_strdup (name));
		if (names->len == 0)
			return TRUE;
		/* a fixed order: readdir order is not reproducible */
		g_ptr_array_sort (names, ac_assemble_cmp_names);
		ac_argv_add (mcopy, "mcopy", "-s", "-p", "-m", "-Q", "-i", path, NULL);
		for (guint i = 0; i < names->len; i++)
			g_ptr_array_add (mcopy, g_build_filename (spec->esp_dir,
								  g_ptr_array_index (names, i), NULL));
		ac_argv_add (mcopy, "::/", NULL);
		g_ptr_array_add (mcopy, NULL);
		if (!ac_run_tool ((const gchar *const *)mcopy->pdata,
				  (const gchar *const *)env->pdata, cancellable, NULL, error))
			return FALSE;
	}
	return TRUE;
}

static gchar *
ac_assemble_random_volume_id (void)
{
	return g_strdup_printf ("%08X", g_random_int ());
}

/* the identifiers ac_assemble() derives and owns for the length of the build */
typedef struct {
	gchar *luks;
	gchar *disk;
	gchar *esp;
	gchar *root;
	gchar *fs;
	gchar *volid;
} AcAssembleIds;

static void
ac_assemble_ids_clear (AcAssembleIds *ids)
{
	g_free (ids->volid);
	g_free (ids->fs);
	g_free (ids->root);
	g_free (ids->esp);
	g_free (ids->disk);
	g_free (ids->luks);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (AcAssembleIds, ac_assemble_ids_clear)

/* reproducible mode: every identifier not given comes from the stream */
static gboolean
ac_assemble_derive_ids (AcAssembleSpec *spec, AcAssembleIds *ids, GError **error)
{
	if (spec->drbg == NULL)
		return TRUE;
	if (spec->luks.uuid == NULL)
		spec->luks.uuid = ids->luks = ac_drbg_uuid (spec->drbg, "uuid/luks");
	if (spec->disk_guid == NULL)
		spec->disk_guid = ids->disk = ac_drbg_uuid (spec->drbg, "uuid/disk");
	if (spec->esp_uuid == NULL)
		spec->esp_uuid = ids->esp = ac_drbg_uuid (spec->drbg, "uuid/esp-partition");
	if (spec->root_uuid == NULL)
		spec->root_uuid = ids->root = ac_drbg_uuid (spec->drbg, "uuid/root-partition");
	if (spec->fs_uuid == NULL)
		spec->fs_uuid = ids->fs = ac_drbg_uuid (spec->drbg, "uuid/filesystem");
	if (spec->esp_volume_id == NULL) {
		guint8 v[4];
		ac_drbg_generate (spec->drbg, "id/esp-volume", v, sizeof (v));
		spec->esp_volume_id = ids->volid =
			g_strdup_printf ("%02X%02X%02X%02X", v[0], v[1], v[2], v[3]);
	}
	if (spec->source_date_epoch < 0) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
				     "reproducible mode needs SOURCE_DATE_EPOCH");
		return FALSE;
	}
	return TRUE;
}

/* the ESP's volume id in upper case: the one given, or a random one */
static gchar *
ac_assemble_volume_id (const AcAssembleSpec *spec, GError **error)
{
	if (spec->esp_volume_id != NULL) {
		if (strlen (spec->esp_volume_id) != 8 ||
		    strspn (spec->esp_volume_id, "0123456789abcdefABCDEF") != 8) {
			g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
				     "ESP volume id '%s': expected 8 hexadecimal digits",
				     spec->esp_volume_id);
			return NULL;
		}
		return g_ascii_strup (spec->esp_volume_id, -1);
	}
	return ac_assemble_random_volume_id ();
}

/* the image file, created exclusively at its full size; -1 on error */
static int
ac_assemble_create_output (const AcAssembleSpec *spec,
			   const gchar *output_path,
			   AcCleanup *cleanup,
			   GError **error)
{
	int out_fd = open (output_path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (out_fd < 0) {
		g_set_error (error, AC_ERROR, errno == EEXIST ? AC_ERROR_EXISTS : AC_ERROR_IO,
			     "cannot create %s: %s", output_path, g_strerror (errno));
		return -1;
	}
	ac_cleanup_add_path (cleanup, output_path);
	if (ftruncate (out_fd, (off_t)spec->disk_size) != 0) {
		g_set_error (error, AC_ERROR, AC_ERROR_IO, "cannot size %s to %" G_GUINT64_FORMAT
			     " bytes: %s", output_path, spec->disk_size, g_strerror (errno));
		close (out_fd);
		return -1;
	}
	return out_fd;
}

static void
ac_assemble_add_part (GPtrArray *parts,
		      guint partno,
		      guint64 start,
		      guint64 size,
		      const gchar *type,
		      const gchar *uuid,
		      const gchar *name)
{
	AcGptPart *part = g_new0 (AcGptPart, 1);

	part->partno = partno;
	part->type = g_strdup (type);
	part->start = start;
	part->uuid = g_strdup (uuid);
	part->size = size;
	part->name = g_strdup (name);
	g_ptr_array_add (parts, part);
}

static gboolean
ac_assemble_write_gpt (const AcAssembleSpec *spec,
		       const gchar *output_path,
		       const AcAssembleResult *result,
		       GError **error)
{
	g_autoptr(GPtrArray) parts = g_ptr_array_new_with_free_func ((GDestroyNotify)ac_gpt_part_free);

	ac_assemble_add_part (parts, 1, result->esp_offset, result->esp_size, AC_GPT_TYPE_ESP,
			      spec->esp_uuid, "ESP");
	ac_assemble_add_part (parts, 2, result->root_offset, result->root_size, AC_GPT_TYPE_LINUX,
			      spec->root_uuid, "cr_root");
	return ac_gpt_write (output_path, spec->disk_guid, parts, error);
}

/* @path opened for reading; -1 with @error */
static int
ac_assemble_open_input (const gchar *path, GError **error)
{
	int fd = open (path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		g_set_error (error, AC_ERROR, AC_ERROR_IO, "cannot open %s: %s", path,
			     g_strerror (errno));
	return fd;
}

/* the first @len bytes of @path into the open image @out_fd at @out_off (holes kept) */
static gboolean
ac_assemble_copy_in (const gchar *path,
		     guint64 len,
		     int out_fd,
		     guint64 out_off,
		     GCancellable *cancellable,
		     GError **error)
{
	int in_fd = ac_assemble_open_input (path, error);
	gboolean ok;

	if (in_fd < 0)
		return FALSE;
	ok = ac_copy_file_range_sparse (in_fd, 0, len, out_fd, out_off, cancellable, error);
	close (in_fd);
	return ok;
}

/* the ESP image into p1 and the LUKS header into p2 of the open image @out_fd */
static gboolean
ac_assemble_copy_headers (int out_fd,
			  const gchar *esp_img,
			  const gchar *hdr_img,
			  guint64 data_offset,
			  const AcAssembleResult *result,
			  GCancellable *cancellable,
			  GError **error)
{
	g_autofree guint8 *hdr = NULL;
	int in_fd;
	gboolean ok;

	/* ESP into p1 */
	if (!ac_assemble_copy_in (esp_img, result->esp_size, out_fd, result->esp_offset,
				  cancellable, error))
		return FALSE;

	/* LUKS header into p2 */
	in_fd = ac_assemble_open_input (hdr_img, error);
	if (in_fd < 0)
		return FALSE;
	hdr = g_malloc (data_offset);
	ok = ac_pread_full (in_fd, hdr, data_offset, 0, error) &&
	     ac_pwrite_full (out_fd, hdr, data_offset, result->root_offset, error);
	close (in_fd);
	return ok;
}

/* the root filesystem step: @fs_img (registered in @cleanup), the ext4 that fills the payload,
 * kept in @result for verification */
static gboolean
ac_assemble_root_fs (const AcAssembleSpec *spec,
		     const gchar *fs_img,
		     AcCleanup *cleanup,
		     AcProgress *progress,
		     GCancellable *cancellable,
		     AcAssembleResult *result,
		     GError **error)
{
	ac_cleanup_add_path (cleanup, fs_img);
	if (!ac_assemble_make_ext4 (spec, fs_img, result->payload_size, cancellable, error)) {
		g_prefix_error (error, "making the root filesystem: ");
		return FALSE;
	}
	result->fs_image = g_strdup (fs_img);
	result->fs_uuid = g_strdup (spec->fs_uuid);
	ac_progress_step_done (progress);
	return TRUE;
}

/* the payload: @fs_img encrypted into p2 after the header; closes @out_fd */
static gboolean
ac_assemble_encrypt_payload (const AcAssembleSpec *spec,
			     const AcSecret *vk,
			     const gchar *fs_img,
			     int out_fd,
			     const gchar *output_path,
			     AcProgress *progress,
			     GCancellable *cancellable,
			     AcAssembleResult *result,
			     GError **error)
{
	int in_fd = ac_assemble_open_input (fs_img, error);
	gboolean ok;

	if (in_fd < 0) {
		close (out_fd);
		return FALSE;
	}
	ok = ac_xts_encrypt_file_range ((const guint8 *)vk->data, vk->len, in_fd, 0,
					result->payload_size, out_fd, result->payload_offset,
					&spec->xts, ac_progress_get_child (progress), cancellable,
					&result->encrypt_stats, error);
	close (in_fd);
	if (ok && fsync (out_fd) != 0) {
		g_set_error (error, AC_ERROR, AC_ERROR_IO, "cannot flush %s: %s", output_path,
			     g_strerror (errno));
		ok = FALSE;
	}
	if (close (out_fd) != 0 && ok) {
		g_set_error (error, AC_ERROR, AC_ERROR_IO, "cannot close %s: %s", output_path,
			     g_strerror (errno));
		ok = FALSE;
	}
	return ok;
}

/* layout luks2-root: the LUKS2 header, then the ext4 of the root tree encrypted after it */
static gboolean
ac_assemble_luks2_root (const AcAssembleSpec *spec,
			const AcSecret *passphrase,
			const gchar *output_path,
			AcCleanup *cleanup,
			AcProgress *progress,
			GCancellable *cancellable,
			AcAssembleResult *result,
			GError **error)
{
	g_autofree gchar *fs_img = g_build_filename (spec->workdir, "rootfs.img", NULL);
	g_autofree gchar *hdr_img = g_build_filename (spec->workdir, "luks2-header.img", NULL);
	g_autoptr(AcSecret) vk = NULL;
	guint64 data_offset = 0;
	int out_fd;

	if (spec->drbg != NULL) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_UNSUPPORTED,
				     "the luks2-root layout cannot be reproducible: libcryptsetup "
				     "draws the LUKS2 header's salts at random");
		return FALSE;
	}
	ac_progress_add_step (progress, "luks-header", 5);
	ac_progress_add_step (progress, "filesystem", 12);
	ac_progress_add_step (progress, "encrypt", 83);

	/* the header first: its size decides the filesystem's */
	ac_cleanup_add_path (cleanup, hdr_img);
	if (!ac_luks2_format (hdr_img, &spec->luks, passphrase, &data_offset, &vk, error) ||
	    !ac_assemble_luks2_layout (spec->disk_size, data_offset, result, error))
		return FALSE;
	ac_progress_step_done (progress);

	if (!ac_assemble_root_fs (spec, fs_img, cleanup, progress, cancellable, result, error))
		return FALSE;

	out_fd = ac_assemble_create_output (spec, output_path, cleanup, error);
	if (out_fd < 0)
		return FALSE;
	if (!ac_assemble_copy_in (hdr_img, data_offset, out_fd, 0, cancellable, error)) {
		close (out_fd);
		return FALSE;
	}
	if (!ac_assemble_encrypt_payload (spec, vk, fs_img, out_fd, output_path, progress,
					  cancellable, result, error))
		return FALSE;
	ac_progress_step_done (progress);
	return TRUE;
}

/**
 * ac_assemble:
 * @keyfile: (nullable): the initramfs keyfile for key slot 1
 * @output_path: created (must not exist); registered in @cleanup
 *
 * Builds the whole image: ext4 from @spec->root_dir, the ESP, the GPT, the LUKS1 header and the
 * encrypted payload; with the luks2-root layout, the LUKS2 header at 0 and the encrypted ext4
 * after it (no ESP, no GPT, @keyfile must be NULL). The plaintext filesystem image stays in the work directory (for
 * verification) and is registered in @cleanup.
 */
gboolean
ac_assemble (const AcAssembleSpec *spec_in,
	     const AcSecret *passphrase,
	     const AcSecret *keyfile,
	     const gchar *output_path,
	     AcCleanup *cleanup,
	     AcProgress *progress,
	     GCancellable *cancellable,
	     AcAssembleResult *result,
	     GError **error)
{
	AcAssembleSpec spec_copy = *spec_in;
	const AcAssembleSpec *spec = &spec_copy;
	g_auto(AcAssembleIds) ids = { 0 };
	g_autofree gchar *esp_img = g_build_filename (spec->workdir, "esp.img", NULL);
	g_autofree gchar *fs_img = g_build_filename (spec->workdir, "rootfs.img", NULL);
	g_autofree gchar *hdr_img = g_build_filename (spec->workdir, "luks-header.img", NULL);
	g_autofree gchar *volume_id = NULL;
	g_autoptr(AcProgress) own_progress = NULL;
	g_autoptr(AcSecret) vk = NULL;
	guint64 data_offset = 0;
	int out_fd;

	if (!ac_assemble_derive_ids (&spec_copy, &ids, error))
		return FALSE;
	volume_id = ac_assemble_volume_id (spec, error);
	if (volume_id == NULL)
		return FALSE;

	if (progress == NULL)
		progress = own_progress = ac_progress_new ("local");
	if (spec->layout == AC_IMAGE_LAYOUT_LUKS2_ROOT) {
		if (keyfile != NULL) {
			g_set_error_literal (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
					     "the luks2-root layout has one key slot, the passphrase's: "
					     "no keyfile");
			return FALSE;
		}
		return ac_assemble_luks2_root (spec, passphrase, output_path, cleanup, progress,
					       cancellable, result, error);
	}
	ac_progress_add_step (progress, "luks-header", 5);
	ac_progress_add_step (progress, "filesystem", 10);
	ac_progress_add_step (progress, "esp", 2);
	ac_progress_add_step (progress, "partition", 1);
	ac_progress_add_step (progress, "encrypt", 82);

	/* the LUKS header first: its size decides the filesystem size */
	ac_cleanup_add_path (cleanup, hdr_img);
	if (spec->drbg != NULL) {
		if (!ac_luks1_write (hdr_img, &spec->luks, passphrase, keyfile, spec->drbg,
				     &data_offset, &vk, error))
			return FALSE;
	} else if (!ac_luks_format (hdr_img, &spec->luks, passphrase, keyfile, &data_offset, &vk,
				    error)) {
		return FALSE;
	}
	if (!ac_assemble_layout (spec->disk_size, spec->esp_size, data_offset, result, error))
		return FALSE;
	ac_progress_step_done (progress);

	if (!ac_assemble_root_fs (spec, fs_img, cleanup, progress, cancellable, result, error))
		return FALSE;

	ac_cleanup_add_path (cleanup, esp_img);
	if (!ac_assemble_make_esp (spec, esp_img, volume_id, cancellable, error)) {
		g_prefix_error (error, "making the ESP: ");
		return FALSE;
	}
	result->esp_volume_id = g_strdup_printf ("%.4s-%.4s", volume_id, volume_id + 4);
	ac_progress_step_done (progress);

	out_fd = ac_assemble_create_output (spec, output_path, cleanup, error);
	if (out_fd < 0)
		return FALSE;
	if (!ac_assemble_write_gpt (spec, output_path, result, error) ||
	    !ac_assemble_copy_headers (out_fd, esp_img, hdr_img, data_offset, result, cancellable,
				       error)) {
		close (out_fd);
		return FALSE;
	}
	ac_progress_step_done (progress);

	if (!ac_assemble_encrypt_payload (spec, vk, fs_img, out_fd, output_path, progress,
					  cancellable, result, error))
		return FALSE;
	ac_progress_step_done (progress);
	return TRUE;
}
