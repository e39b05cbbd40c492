/*
 * aleph-confidential: the one size grammar, for the tag (rootfs_size, memory) and the image
 * builder's templates (disk.size, disk.esp_size).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
	AC_SIZE_DEFAULT = 0,            /* a bare number is a number of bytes */
	AC_SIZE_UNIT_REQUIRED = 1 << 0, /* a bare number is refused (the tag: bytes or MiB?) */
	AC_SIZE_BARE_MIB = 1 << 1,      /* a bare number is a number of MiB (aleph-client's
	                                 * --memory and --rootfs-size, which virt-aleph tag takes) */
} AcSizeFlags;

gboolean
ac_size_parse (const gchar *text, AcSizeFlags flags, guint64 *bytes, GError **error);
gchar *
ac_size_format (guint64 bytes);

G_END_DECLS
