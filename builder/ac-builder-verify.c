/*
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The image is read back as an untrusted file: every offset comes from the GPT or the LUKS
 * header and is bounds-checked before use.
 */

#include "config.h"

#include "ac-builder-verify.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <libcryptsetup.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ac-builder-assemble.h"
#include "ac-codec.h"
#include "ac-digest-file.h"
#include "ac-error.h"
#include "ac-json.h"
#include "ac-snp-luks2.h"
#include "ac-time.h"

#define AC_VERIFY_HEADER_MAX (4 * AC_MIB)

void
ac_verify_report_free (AcVerifyReport *report)
{
	if (report == NULL)
		return;
	g_free (report->disk_guid);
	ac_gpt_part_free (report->esp);
	ac_gpt_part_free (report->root);
	ac_luks_info_free (report->luks);
	g_free (report);
}

static AcGptPart *
ac_gpt_part_copy (const AcGptPart *p)
{
	AcGptPart *c = g_new0 (AcGptPart, 1);
	*c = *p;
	c->type = g_strdup (p->type);
	c->uuid = g_strdup (p->uuid);
	c->name = g_strdup (p->name);
	return c;
}

static gboolean
ac_verify_partitions (const gchar *image, AcVerifyReport *report, GError **error)
{
	g_autoptr(GPtrArray) parts = ac_gpt_read (image, &report->disk_guid, error);
	const guint64 last = report->disk_size - AC_GPT_BACKUP_BYTES;
	if (parts == NULL)
		return FALSE;
	if (parts->len != 2) {
		g_set_error (error, AC_ERROR, AC_ERROR_MISMATCH,
			     "%s has %u partitions: expected 2 (ESP, LUKS root)", image, parts->len);
		return FALSE;
	}
	for (guint i = 0; i < 2; i++) {
		AcGptPart *p = g_ptr_array_index (parts, i);
		const gchar *want = i == 0 ? AC_GPT_TYPE_ESP : AC_GPT_TYPE_LINUX;
		if (p->partno != i + 1 || g_strcmp0 (p->type, want) != 0) {
			g_set_error (error, AC_ERROR, AC_ERROR_MISMATCH,
				     "%s: partition %u has type %s: expected partition %u of type %s",
				     image, p->partno, p->type != NULL ? p->type : "(none)", i + 1, want);
			return FALSE;
		}
		if (p->start % AC_MIB != 0 || p->size == 0 || p->start < AC_MIB ||
		    p->start > last || p->size > last - p->start) {
			g_set_error (error, AC_ERROR, AC_ERROR_MISMATCH,
				     "%s: partition %u (start %" G_GUINT64_FORMAT ", size %" G_GUINT64_FORMAT
				     ") is not 1 MiB-aligned inside the usable area (1 MiB to %" G_GUINT64_FORMAT ")",
				     image, p->partno, p->start, p->size, last);
			return FALSE;
		}
	}
	report->esp = ac_gpt_part_copy (g_ptr_array_index (parts, 0));
	report->root = ac_gpt_part_copy (g_ptr_array_index (parts, 1));
	if (report->esp->start + report->esp->size > report->root->start) {
		g_set_error (error, AC_ERROR, AC_ERROR_MISMATCH, "%s: partitions 1 and 2 overlap", image);
		return FALSE;
	}
	return TRUE;
}

static gboolean
ac_verify_esp (int fd, const AcVerifyReport *report, GError **error)
{
	guint8 bs[512];
	if (!ac_pread_full (fd, bs, sizeof (bs), report->esp->start, error))
		return FALSE;
	if (bs[510] != 0x55 || bs[511] != 0xAA ||
	    (memcmp (bs + 54, "FAT", 3) != 0 && memcmp (bs + 82, "FAT32", 5) != 0)) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_MISMATCH,
				     "partition 1 does not start with a FAT boot sector");
		return FALSE;
	}
	return TRUE;
}

/* copies the LUKS header region of partition 2 to a private file libcryptsetup can load */
static gchar *
ac_verify_extract_header (int fd, guint64 start, guint64 part_size, const gchar *workdir,
			  GError **error)
{
	g_autofree gchar *hdr_path = g_build_filename (workdir, "verify-header.img", NULL);
	gsize len = (gsize)MIN (part_size, (guint64)AC_VERIFY_HEADER_MAX);
	g_autofree guint8 *buf = g_malloc (len);
	gboolean ok;
	int hfd;
	if (!ac_pread_full (fd, buf, len, start, error))
		return NULL;
	hfd = open (hdr_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (hfd < 0) {
		g_set_error (error, AC_ERROR, AC_ERROR_IO, "cannot create %s: %s", hdr_path,
			     g_strerror (errno));
		return NULL;
	}
	ok = ac_pwrite_full (hfd, buf, len, 0, error);
	close (hfd);
	if (!ok) {
		g_unlink (hdr_path);
		return NULL;
	}
	return g_steal_pointer (&hdr_path);
}

/**
 * ac_verify_keyslot:
 *
 * Checks that @secret opens key slot @slot of the header in the image itself (e.g. the
 * initramfs keyfile, slot 1).
 */
gboolean
ac_verify_keyslot (const gchar *image,
		   const AcVerifyReport *report,
		   const AcSecret *secret,
		   gint slot,
		   const gchar *workdir,
		   GError **error)
{
	g_autofree gchar *hdr = NULL;
	g_autoptr(AcLuksInfo) info = NULL;
	int fd = open (image, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		g_set_error (error, AC_ERROR, AC_ERROR_IO, "cannot open %s: %s", image,
			     g_strerror (errno));
		return FALSE;
	}
	hdr = ac_verify_extract_header (fd, report->root->start, report->root->size, workdir, error);
	close (fd);
	if (hdr == NULL)
		return FALSE;
	info = ac_luks_open (hdr, secret, NULL, error);
	g_unlink (hdr);
	if (info == NULL)
		return FALSE;
	if (info->keyslot != slot) {
		g_set_error (error, AC_ERROR, AC_ERROR_MISMATCH,
			     "the secret opens key slot %d: expected slot %d", info->keyslot, slot);
		return FALSE;
	}
	return TRUE;
}

static gboolean
ac_verify_header (int fd,
		  const gchar *workdir,
		  const AcSecret *passphrase,
		  AcVerifyReport *report,
		  AcSecret **vk,
		  GError **error)
{
	g_autofree gchar *hdr_path = NULL;
	g_autoptr(GError) local = NULL;

	hdr_path = ac_verify_extract_header (fd, report->root->start, report->root->size, workdir,
					     error);
	if (hdr_path == NULL)
		return FALSE;
	report->luks = ac_luks_open (hdr_path, passphrase, vk, &local);
	g_unlink (hdr_path);
	if (report->luks == NULL) {
		g_set_error (error, AC_ERROR, AC_ERROR_MISMATCH, "partition 2: %s", local->message);
		return FALSE;
	}
	if (report->luks->keyslot != 0) {
		g_set_error (error, AC_ERROR, AC_ERROR_MISMATCH,
			     "the passphrase opens key slot %d: expected slot 0", report->luks->keyslot);
		return FALSE;
	}
	if (g_strcmp0 (report->luks->cipher, "aes") != 0 ||
	    g_strcmp0 (report->luks->cipher_mode, "xts-plain64") != 0) {
		g_set_error (error, AC_ERROR, AC_ERROR_MISMATCH,
			     "LUKS cipher %s-%s: expected aes-xts-plain64 (what GRUB and the builder use)",
			     report->luks->cipher, report->luks->cipher_mode);
		return FALSE;
	}
	if (report->luks->data_offset == 0 || report->luks->data_offset % 512 != 0 ||
	    report->luks->data_offset >= report->root->size) {
		g_set_error (error, AC_ERROR, AC_ERROR_MISMATCH,
			     "LUKS payload offset %" G_GUINT64_FORMAT " is outside partition 2 (%" G_GUINT64_FORMAT
			     " bytes)", report->luks->data_offset, report->root->size);
		return FALSE;
	}
	report->payload_offset = report->root->start + report->luks->data_offset;
	report->payload_size = report->root->size - report->luks->data_offset;
	return TRUE;
}

static gboolean
ac_verify_superblock (int fd, const AcVerifyReport *report, const AcSecret *vk, GError **error)
{
	guint8 sb[2048];
	if (!ac_pread_full (fd, sb, sizeof (sb), report->payload_offset, error))
		return FALSE;
	if (!ac_xts_crypt_sectors ((const guint8 *)vk->data, vk->len, FALSE, 0, sb, sizeof (sb),
				   error))
		return FALSE;
	if (sb[1024 + 56] != 0x53 || sb[1024 + 57] != 0xEF) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_MISMATCH,
				     "the decrypted payload does not start with an ext4 superblock");
		return FALSE;
	}
	return TRUE;
}

/* the decrypted payload equals @fs_image (when given) byte for byte */
static gboolean
ac_verify_payload (int fd,
		   AcVerifyReport *report,
		   const AcSecret *vk,
		   const gchar *fs_image,
		   const AcXtsOptions *xts,
		   AcProgress *progress,
		   GCancellable *cancellable,
		   GError **error)
{
	struct stat st;
	gboolean ok;
	int pfd;

	if (fs_image == NULL)
		return TRUE;
	pfd = open (fs_image, O_RDONLY | O_CLOEXEC);
	if (pfd < 0 || fstat (pfd, &st) != 0) {
		g_set_error (error, AC_ERROR, AC_ERROR_IO, "cannot open %s: %s", fs_image,
			     g_strerror (errno));
		if (pfd >= 0)
			close (pfd);
		return FALSE;
	}
	if ((guint64)st.st_size != report->payload_size) {
		g_set_error (error, AC_ERROR, AC_ERROR_MISMATCH,
			     "the filesystem image has %" G_GUINT64_FORMAT " bytes: the payload has %"
			     G_GUINT64_FORMAT, (guint64)st.st_size, report->payload_size);
		close (pfd);
		return FALSE;
	}
	ok = ac_xts_verify_file_range ((const guint8 *)vk->data, vk->len, fd,
				       report->payload_offset, report->payload_size, pfd, 0, xts,
				       ac_progress_get_child (progress), cancellable, NULL, error);
	close (pfd);
	if (ok)
		report->payload_compared = TRUE;
	return ok;
}

static gboolean ac_verify_luks2_header (const gchar *image,
					const AcSecret *passphrase,
					AcVerifyReport *report,
					AcSecret **vk,
					GError **error);

/* both layouts: open @image, check its size, the layout's header and the first data block,
 * then the whole payload against @fs_image */
static AcVerifyReport *
verify_layout (AcImageLayout layout,
	       const gchar *image,
	       const AcSecret *passphrase,
	       const gchar *fs_image,
	       const gchar *workdir,
	       const AcXtsOptions *xts,
	       AcProgress *progress,
	       GCancellable *cancellable,
	       GError **error)
{
	g_autoptr(AcVerifyReport) report = g_new0 (AcVerifyReport, 1);
	g_autoptr(AcProgress) own_progress = NULL;
	g_autoptr(AcSecret) vk = NULL;
	/* the GRUB layout holds a GPT, an ESP and the LUKS1 partition: at least 4 MiB */
	guint64 min_size = layout == AC_IMAGE_LAYOUT_GRUB_LUKS1 ? 4 * AC_MIB : 512;
	struct stat st;
	gboolean ok;
	int fd;

	report->layout = layout;
	if (progress == NULL)
		progress = own_progress = ac_progress_new ("local");
	ac_progress_add_step (progress, "layout", 2);
	ac_progress_add_step (progress, "payload", 98);
	fd = open (image, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat (fd, &st) != 0) {
		g_set_error (error, AC_ERROR, errno == ENOENT ? AC_ERROR_NOT_FOUND : AC_ERROR_IO,
			     "cannot open %s: %s", image, g_strerror (errno));
		if (fd >= 0)
			close (fd);
		return NULL;
	}
	report->disk_size = (guint64)st.st_size;
	if (report->disk_size % 512 != 0 || report->disk_size < min_size) {
		g_set_error (error, AC_ERROR, AC_ERROR_MISMATCH,
			     "%s has %" G_GUINT64_FORMAT " bytes: expected a multiple of 512%s", image,
			     report->disk_size, min_size > 512 ? ", at least 4 MiB" : "");
		close (fd);
		return NULL;
	}
	if (layout == AC_IMAGE_LAYOUT_LUKS2_ROOT)
		ok = ac_verify_luks2_header (image, passphrase, report, &vk, error);
	else
		ok = ac_verify_partitions (image, report, error) && ac_verify_esp (fd, report, error) &&
		     ac_verify_header (fd, workdir, passphrase, report, &vk, error);
	if (!ok || !ac_verify_superblock (fd, report, vk, error)) {
		close (fd);
		return NULL;
	}
	ac_progress_step_done (progress);
	ok = ac_verify_payload (fd, report, vk, fs_image, xts, progress, cancellable, error);
	close (fd);
	if (!ok)
		return NULL;
	ac_progress_step_done (progress);
	return g_steal_pointer (&report);
}

/**
 * ac_verify_image:
 * @fs_image: (nullable): the plaintext filesystem image the payload must decrypt to
 *
 * Checks the partition table (two 1 MiB-aligned partitions, ESP then Linux, within the disk),
 * the ESP boot sector, that @passphrase opens key slot 0 of the LUKS1 header on partition 2,
 * and that the decrypted payload equals @fs_image byte for byte (or at least starts with an ext4
 * superblock when no image is given).
 */
AcVerifyReport *
ac_verify_image (const gchar *image,
		 const AcSecret *passphrase,
		 const gchar *fs_image,
		 const gchar *workdir,
		 const AcXtsOptions *xts,
		 AcProgress *progress,
		 GCancellable *cancellable,
		 GError **error)
{
	return verify_layout (AC_IMAGE_LAYOUT_GRUB_LUKS1, image, passphrase, fs_image, workdir, xts,
			      progress, cancellable, error);
}

/* the layout luks2-root: what the SEV-SNP guest checks, then what the builder wrote */
static gboolean
ac_verify_luks2_header (const gchar *image,
			const AcSecret *passphrase,
			AcVerifyReport *report,
			AcSecret **vk,
			GError **error)
{
	g_autoptr(AcLuks2Header) checked = NULL;
	g_autoptr(GError) local = NULL;
	AcLuksInfo *info;

	/* the guest's own check (every key slot and segment aes-xts-plain64…) */
	checked = ac_luks2_check_file (image, error);
	if (checked == NULL)
		return FALSE;
	report->luks = ac_luks2_open (image, passphrase, vk, &local);
	if (report->luks == NULL) {
		g_set_error (error, AC_ERROR, AC_ERROR_MISMATCH, "%s", local->message);
		return FALSE;
	}
	info = report->luks;
	if (info->keyslot != 0 || checked->keyslots != 1) {
		g_set_error (error, AC_ERROR, AC_ERROR_MISMATCH,
			     "the passphrase opens key slot %d of %u: expected slot 0, the only one",
			     info->keyslot, checked->keyslots);
		return FALSE;
	}
	if (g_strcmp0 (info->cipher, "aes") != 0 || g_strcmp0 (info->cipher_mode, "xts-plain64") != 0 ||
	    info->sector_size != AC_XTS_SECTOR || checked->sector_size != AC_XTS_SECTOR) {
		g_set_error (error, AC_ERROR, AC_ERROR_MISMATCH,
			     "LUKS2 cipher %s-%s with %u-byte sectors: expected aes-xts-plain64 with "
			     "512-byte sectors (what the builder encrypts)",
			     info->cipher, info->cipher_mode, info->sector_size);
		return FALSE;
	}
	if (g_strcmp0 (info->uuid, checked->uuid) != 0 ||
	    info->data_offset != checked->data_offset || checked->crypt_segments != 1 ||
	    checked->segments != 1) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_MISMATCH,
				     "libcryptsetup and the guest's check read the LUKS2 header "
				     "differently, or it has more than one segment");
		return FALSE;
	}
	if (info->data_offset == 0 || info->data_offset % 512 != 0 ||
	    info->data_offset >= report->disk_size) {
		g_set_error (error, AC_ERROR, AC_ERROR_MISMATCH,
			     "LUKS2 data offset %" G_GUINT64_FORMAT " is outside the image (%"
			     G_GUINT64_FORMAT " bytes)", info->data_offset, report->disk_size);
		return FALSE;
	}
	report->payload_offset = info->data_offset;
	report->payload_size = report->disk_size - info->data_offset;
	return TRUE;
}

/**
 * ac_verify_luks2_image:
 * @fs_image: (nullable): the plaintext filesystem image the data segment must decrypt to
 *
 * The layout luks2-root: the header passes the SEV-SNP guest's check (ac_luks2_check_file()),
 * libcryptsetup loads it, @passphrase opens key slot 0 (the only one), the cipher is
 * aes-xts-plain64 with 512-byte sectors, the data segment starts with an ext4 superblock and
 * decrypts to @fs_image byte for byte.
 */
AcVerifyReport *
ac_verify_luks2_image (const gchar *image,
		       const AcSecret *passphrase,
		       const gchar *fs_image,
		       const AcXtsOptions *xts,
		       AcProgress *progress,
		       GCancellable *cancellable,
		       GError **error)
{
	return verify_layout (AC_IMAGE_LAYOUT_LUKS2_ROOT, image, passphrase, fs_image, NULL, xts,
			      progress, cancellable, error);
}

gchar *
ac_sha256_file (const gchar *path, GCancellable *cancellable, GError **error)
{
	gchar *hex;
	int fd = open (path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		g_set_error (error, AC_ERROR, errno == ENOENT ? AC_ERROR_NOT_FOUND : AC_ERROR_IO,
		             "cannot open %s: %s", path, g_strerror (errno));
		return NULL;
	}
	hex = ac_sha256_fd_hex (fd, path, cancellable, error);
	close (fd);
	return hex;
}

static void
ac_manifest_add_part (JsonBuilder *b, const gchar *name, const AcGptPart *p)
{
	ac_json_builder_begin_member_object (b, name);
	ac_json_builder_add_int (b, "number", p->partno);
	ac_json_builder_add_int (b, "offset", (gint64)p->start);
	ac_json_builder_add_int (b, "size", (gint64)p->size);
	ac_json_builder_add_string (b, "type", p->type);
	ac_json_builder_add_string (b, "uuid", p->uuid);
}

/**
 * ac_manifest_to_json:
 *
 * The artifact manifest: sizes, digests, identifiers, the template digest and the tool version.
 * Member order is fixed, so identical builds give identical manifests. Never holds a secret.
 */
static void
ac_manifest_add_filesystem (JsonBuilder *b, const AcManifest *m)
{
	ac_json_builder_begin_member_object (b, "filesystem");
	ac_json_builder_add_string (b, "type", "ext4");
	ac_json_builder_add_string_or_null (b, "uuid", m->fs_uuid);
	ac_json_builder_add_string_or_null (b, "sha256", m->fs_sha256);
	json_builder_end_object (b);
}

/* "luks" begun: what both LUKS versions' headers tell first */
static void
ac_manifest_begin_luks (JsonBuilder *b, gint version, const AcVerifyReport *r)
{
	ac_json_builder_begin_member_object (b, "luks");
	ac_json_builder_add_int (b, "version", version);
	ac_json_builder_add_string (b, "uuid", r->luks->uuid);
	ac_json_builder_add_string (b, "cipher", "aes-xts-plain64");
	ac_json_builder_add_int (b, "key_size", r->luks->key_bytes * 8);
}

/* "layout" of luks2-root: the LUKS2 header and the filesystem in its data segment */
static void
ac_manifest_add_luks2_layout (JsonBuilder *b, const AcManifest *m)
{
	const AcVerifyReport *r = m->report;

	ac_json_builder_begin_member_object (b, "layout");
	ac_json_builder_add_string (b, "type", "luks2-root");
	ac_manifest_begin_luks (b, 2, r);
	ac_json_builder_add_int (b, "sector_size", r->luks->sector_size);
	ac_json_builder_add_string (b, "pbkdf", r->luks->pbkdf);
	ac_json_builder_add_string (b, "hash", r->luks->hash);
	ac_json_builder_add_int (b, "pbkdf_iterations", r->luks->iterations);
	ac_json_builder_add_int (b, "payload_offset", (gint64)r->payload_offset);
	ac_json_builder_add_int (b, "payload_size", (gint64)r->payload_size);
	json_builder_end_object (b);
	ac_manifest_add_filesystem (b, m);
	json_builder_end_object (b);
}

/* "layout": the GPT, the ESP, and the root partition with its LUKS header and filesystem */
static void
ac_manifest_add_layout (JsonBuilder *b, const AcManifest *m)
{
	const AcVerifyReport *r = m->report;

	if (r->layout == AC_IMAGE_LAYOUT_LUKS2_ROOT) {
		ac_manifest_add_luks2_layout (b, m);
		return;
	}

	ac_json_builder_begin_member_object (b, "layout");
	ac_json_builder_add_string (b, "partition_table", "gpt");
	ac_json_builder_add_string (b, "disk_guid", r->disk_guid);
	ac_manifest_add_part (b, "esp", r->esp);
	ac_json_builder_add_string (b, "filesystem", "vfat");
	ac_json_builder_add_string (b, "volume_id", m->esp_volume_id);
	json_builder_end_object (b);
	ac_manifest_add_part (b, "root", r->root);
	ac_manifest_begin_luks (b, 1, r);
	ac_json_builder_add_string (b, "hash", r->luks->hash);
	ac_json_builder_add_int (b, "payload_offset", (gint64)r->payload_offset);
	ac_json_builder_add_int (b, "payload_size", (gint64)r->payload_size);
	ac_json_builder_add_string (b, "mapper_name", "cr_root");
	json_builder_end_object (b);
	ac_manifest_add_filesystem (b, m);
	json_builder_end_object (b); /* root */
	json_builder_end_object (b); /* layout */
}

gchar *
ac_manifest_to_json (const AcManifest *m)
{
	g_autoptr(JsonBuilder) b = json_builder_new ();
	g_autoptr(JsonGenerator) gen = json_generator_new ();
	g_autoptr(JsonNode) root = NULL;
	g_autoptr(GDateTime) when = NULL;
	g_autofree gchar *created = NULL;
	g_autofree gchar *basename = g_path_get_basename (m->image_path);
	const AcVerifyReport *r = m->report;

	when = m->source_date_epoch >= 0 ? g_date_time_new_from_unix_utc (m->source_date_epoch)
					 : g_date_time_new_now_utc ();
	created = ac_time_format_utc (when);

	json_builder_begin_object (b);
	ac_json_builder_add_string (b, "format", "aleph-confidential/image-manifest/1");
	ac_json_builder_begin_member_object (b, "image");
	ac_json_builder_add_string (b, "file", basename);
	ac_json_builder_add_string (b, "format", "raw");
	ac_json_builder_add_int (b, "size", (gint64)m->image_size);
	ac_json_builder_add_string (b, "sha256", m->image_sha256);
	ac_json_builder_add_string_or_null (b, "cid", m->cid);
	json_builder_end_object (b);

	ac_manifest_add_layout (b, m);

	ac_json_builder_begin_member_object (b, "verified");
	/* luks2_guest_check, ac_luks2_check_header(): what the SEV-SNP guest checks before it
	 * opens it */
	ac_json_builder_add_boolean (b,
				     r->layout == AC_IMAGE_LAYOUT_LUKS2_ROOT ? "luks2_guest_check"
									     : "partition_table",
				     TRUE);
	ac_json_builder_add_int (b, "luks_passphrase_slot", r->luks->keyslot);
	ac_json_builder_add_boolean (b, "payload_equals_filesystem", r->payload_compared);
	json_builder_end_object (b);

	ac_json_builder_begin_member_object (b, "template");
	ac_json_builder_add_string_or_null (b, "name", m->template_name);
	ac_json_builder_add_string_or_null (b, "sha256", m->template_sha256);
	json_builder_end_object (b);

	ac_json_builder_begin_member_object (b, "tool");
	ac_json_builder_add_string (b, "name", PACKAGE_NAME);
	ac_json_builder_add_string (b, "version", PACKAGE_VERSION);
	ac_json_builder_add_string (b, "libcryptsetup", AC_CRYPTSETUP_VERSION);
	json_builder_end_object (b);

	ac_json_builder_add_boolean (b, "reproducible", m->reproducible);
	ac_json_builder_add_string (b, "created", created);
	json_builder_end_object (b);

	root = json_builder_get_root (b);
	json_generator_set_root (gen, root);
	json_generator_set_pretty (gen, TRUE);
	return json_generator_to_data (gen, NULL);
}
