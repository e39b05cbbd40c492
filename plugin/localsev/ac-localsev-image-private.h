/*
 * Internals of the local SEV flow's disk image (ac-localsev-image*.c): the image state's
 * clock and libvirt's storage API (download, upload, volume lookup). Not for other users.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <libvirt/libvirt.h>

#include "ac-progress.h"

G_BEGIN_DECLS

G_DEFINE_AUTOPTR_CLEANUP_FUNC (virStorageVol, virStorageVolFree)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (virStoragePool, virStoragePoolFree)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (virStream, virStreamFree)

/* ---- ac-localsev-image-state.c ---- */


/* ---- ac-localsev-image-storage.c ---- */

typedef struct {
	int fd;         /* the file read or written; -1: into @sum only */
	GChecksum *sum; /* nullable */
	GCancellable *cancellable;
	AcProgress *progress;
	guint64 done;
	guint64 total;
	gboolean cancelled;
	int saved_errno;
} AcLocalsevImageStreamIo;

gboolean
ac_localsev_image_storage_download (virStorageVolPtr vol,
                                    AcLocalsevImageStreamIo *io,
                                    gboolean sparse,
                                    const gchar *what,
                                    GError **error);
gboolean
ac_localsev_image_storage_upload (virStorageVolPtr vol,
                                  AcLocalsevImageStreamIo *io,
                                  const gchar *what,
                                  GError **error);
/* the volume at @path; refreshes the active pools once when none has it */
virStorageVolPtr
ac_localsev_image_storage_lookup_path (virConnectPtr conn, const gchar *path, GError **error);
gboolean
ac_localsev_image_storage_volume_exists (virConnectPtr conn,
                                         const gchar *path,
                                         gboolean *exists,
                                         GError **error);
/* a volume name no build used in @pool: <uuid>.img, <uuid>-2.img, … */
gchar *
ac_localsev_image_storage_unused_name (virStoragePoolPtr pool, const gchar *uuid, GError **error);

G_END_DECLS
