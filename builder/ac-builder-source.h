/*
 * aleph-confidential: sources of the root tree — a directory, a tarball, a raw or qcow2 disk
 * image (a libvirt domain's disk is resolved to one by the caller), debootstrap.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

#include "ac-builder-run.h"
#include "ac-builder-template.h"

G_BEGIN_DECLS

gboolean ac_source_prepare (const AcTemplateSource *source,
			    const gchar *root,
			    const gchar *workdir,
			    AcCleanup *cleanup,
			    GCancellable *cancellable,
			    GError **error);

typedef struct {
	guint partno;   /* 0: the whole image */
	guint64 offset; /* bytes */
	guint64 size;
	gchar *fstype;  /* from blkid */
} AcSourceFs;

void ac_source_fs_free (AcSourceFs *fs);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AcSourceFs, ac_source_fs_free)

GPtrArray *ac_source_probe_image (const gchar *raw_path, GCancellable *cancellable, GError **error);

G_END_DECLS
