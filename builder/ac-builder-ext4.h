/*
 * aleph-confidential: fixing ext4 inode times for reproducible images (libext2fs).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

gboolean ac_ext4_clamp_times (const gchar *path, gint64 epoch, GError **error);

G_END_DECLS
