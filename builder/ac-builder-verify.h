/*
 * aleph-confidential: checks an assembled image before anything is published, and describes
 * it in the artifact manifest.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

#include "ac-builder-gpt.h"
#include "ac-builder-luks.h"
#include "ac-builder-template.h"
#include "ac-secret.h"
#include "ac-builder-xts.h"
#include "ac-progress.h"

G_BEGIN_DECLS

typedef struct {
	AcImageLayout layout;   /* LUKS2_ROOT: no GPT, no ESP (disk_guid, esp, root NULL) */
	guint64 disk_size;
	gchar *disk_guid;
	AcGptPart *esp;
	AcGptPart *root;
	AcLuksInfo *luks;
	guint64 payload_offset; /* absolute */
	guint64 payload_size;
	gboolean payload_compared; /* decrypted payload compared with the filesystem image */
} AcVerifyReport;

void ac_verify_report_free (AcVerifyReport *report);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AcVerifyReport, ac_verify_report_free)

AcVerifyReport *ac_verify_image (const gchar *image,
				 const AcSecret *passphrase,
				 const gchar *fs_image,
				 const gchar *workdir,
				 const AcXtsOptions *xts,
				 AcProgress *progress,
				 GCancellable *cancellable,
				 GError **error);

AcVerifyReport *ac_verify_luks2_image (const gchar *image,
				       const AcSecret *passphrase,
				       const gchar *fs_image,
				       const AcXtsOptions *xts,
				       AcProgress *progress,
				       GCancellable *cancellable,
				       GError **error);

gboolean ac_verify_keyslot (const gchar *image,
			    const AcVerifyReport *report,
			    const AcSecret *secret,
			    gint slot,
			    const gchar *workdir,
			    GError **error);

gchar *ac_sha256_file (const gchar *path, GCancellable *cancellable, GError **error);

typedef struct {
	const gchar *image_path;
	guint64 image_size;
	const gchar *image_sha256;
	const gchar *cid;            /* (nullable): filled by the caller when IPFS code is there */
	const gchar *fs_sha256;      /* (nullable) */
	const gchar *esp_volume_id;  /* XXXX-XXXX */
	const gchar *fs_uuid;        /* (nullable) */
	const gchar *template_sha256; /* (nullable) */
	const gchar *template_name;  /* (nullable) */
	gboolean reproducible;
	gint64 source_date_epoch;    /* < 0: now */
	const AcVerifyReport *report;
} AcManifest;

gchar *ac_manifest_to_json (const AcManifest *manifest);

G_END_DECLS
