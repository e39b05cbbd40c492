/*
 * A reader of gzip-compressed tar archives that come from the network (and a deterministic
 * writer of small ones): it takes named members out into memory and writes nothing to disk, so a member's path is only ever compared, never
 * opened. ustar headers (checksum checked), POSIX pax extended headers (`path`, `size`) and GNU
 * long names are understood; everything is bounded. GLib/GIO only.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* the most members (entries of any type) an archive may hold */
#define AC_TAR_MAX_ENTRIES 4096
/* the longest pax extended header or GNU long name read */
#define AC_TAR_MAX_EXTENDED (64 * 1024)

/*
 * Reads the gzip-compressed tar archive @gz and returns in @out[i] the contents of the member
 * whose path is @names[i] (a NULL-terminated list of distinct relative paths; "./" prefixes of
 * the archive's paths are ignored). Each named member must be in the archive exactly once, as a
 * regular file of at most @max_member bytes; members not named are skipped whatever their type,
 * and at most @max_total bytes are decompressed in all (a "zip bomb" stops there). Errors are
 * AC_ERROR_INVALID_INPUT, prefixed with @what ("runtime bundle 1a2b…"); @out is then all NULL.
 */
gboolean
ac_tar_gz_extract (const gchar *what,
                   GBytes *gz,
                   const gchar *const *names,
                   guint64 max_member,
                   guint64 max_total,
                   GBytes **out,
                   GError **error);

/*
 * The reader's twin, for bundles made here: a gzip-compressed ustar archive of @n regular files
 * @names[i] (1 to 100 bytes each) with @files[i], in that order, written deterministically —
 * mode 0644, uid/gid 0, mtime 0, no owner names, no gzip name or time — so that the same files
 * always give the same bytes (and the same hash). AC_ERROR_INVALID_INPUT naming a member whose
 * name or size ustar cannot hold.
 */
GBytes *ac_tar_gz_write (const gchar *const *names,
			 GBytes *const *files,
			 guint n,
			 GError **error);

G_END_DECLS
