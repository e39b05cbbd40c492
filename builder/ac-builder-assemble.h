/*
 * aleph-confidential: the assembler — root tree → GPT image with an ESP and a LUKS1 root, or
 * (layout luks2-root) one LUKS2 container holding the root filesystem.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

#include "ac-builder-luks.h"
#include "ac-builder-luks1.h"
#include "ac-builder-run.h"
#include "ac-builder-template.h"
#include "ac-secret.h"
#include "ac-builder-xts.h"
#include "ac-progress.h"

G_BEGIN_DECLS

#define AC_MIB (G_GUINT64_CONSTANT (1024) * 1024)
#define AC_GPT_BACKUP_BYTES (33 * 512) /* backup header + 128 entries of 128 bytes */

typedef struct {
	AcImageLayout layout;    /* GRUB_LUKS1 (default) or LUKS2_ROOT (no ESP, no GPT) */
	guint64 disk_size;       /* bytes, multiple of 512 */
	guint64 esp_size;        /* bytes, multiple of 1 MiB */
	const gchar *esp_dir;    /* (nullable) tree copied into the ESP */
	const gchar *root_dir;   /* tree of the root filesystem */
	const gchar *fs_label;   /* (nullable) ext4 label */
	AcLuksParams luks;       /* luks.uuid: fixed in reproducible mode, else NULL = random */
	gint64 source_date_epoch; /* < 0: not reproducible */
	const gchar *disk_guid;  /* (nullable) fixed GPT disk GUID */
	const gchar *esp_uuid;   /* (nullable) fixed partition GUID of p1 */
	const gchar *root_uuid;  /* (nullable) fixed partition GUID of p2 */
	const gchar *fs_uuid;    /* (nullable) ext4 UUID (also its hash seed) */
	const gchar *esp_volume_id; /* (nullable) FAT volume id, 8 hex digits */
	AcDrbg *drbg;            /* (nullable) reproducible mode: salts, keys and unset ids from it */
	const gchar *workdir;    /* private (0700) directory for the temporaries */
	AcXtsOptions xts;
} AcAssembleSpec;

typedef struct {
	guint64 disk_size;
	guint64 esp_offset;
	guint64 esp_size;
	guint64 root_offset; /* partition 2; LUKS2_ROOT: 0, the whole image */
	guint64 root_size;
	guint64 payload_offset; /* absolute offset of the encrypted filesystem */
	guint64 payload_size;
	gchar *fs_image;        /* plaintext filesystem image in the workdir, for verification */
	gchar *esp_volume_id;   /* as fstab names it: XXXX-XXXX */
	gchar *fs_uuid;         /* (nullable): when fixed */
	AcXtsStats encrypt_stats;
} AcAssembleResult;

void ac_assemble_result_clear (AcAssembleResult *result);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (AcAssembleResult, ac_assemble_result_clear)

gboolean ac_assemble_layout (guint64 disk_size,
			     guint64 esp_size,
			     guint64 luks_data_offset,
			     AcAssembleResult *layout,
			     GError **error);

gboolean ac_assemble_luks2_layout (guint64 disk_size,
				   guint64 luks_data_offset,
				   AcAssembleResult *layout,
				   GError **error);

gboolean ac_assemble (const AcAssembleSpec *spec,
		      const AcSecret *passphrase,
		      const AcSecret *keyfile,
		      const gchar *output_path,
		      AcCleanup *cleanup,
		      AcProgress *progress,
		      GCancellable *cancellable,
		      AcAssembleResult *result,
		      GError **error);

gboolean ac_copy_file_range_sparse (int in_fd,
				    guint64 in_off,
				    guint64 length,
				    int out_fd,
				    guint64 out_off,
				    GCancellable *cancellable,
				    GError **error);

G_END_DECLS
