/*
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * mkfs.ext4 -d copies each file's ctime, which no one can set: a tree made a second later gives
 * other bytes. For reproducible images every in-use inode gets ctime = SOURCE_DATE_EPOCH (and
 * atime, mtime, crtime clamped to it) through libext2fs, which also rewrites inode checksums.
 */

#include "config.h"

#include "ac-builder-ext4.h"

#include "ac-error.h"

#ifdef AC_HAVE_EXT2FS
#include <ext2fs/ext2fs.h>

gboolean
ac_ext4_clamp_times (const gchar *path, gint64 epoch, GError **error)
{
	ext2_filsys fs = NULL;
	ext2_inode_scan scan = NULL;
	g_autofree guint8 *buf = NULL;
	ext2_ino_t ino = 0;
	errcode_t rc;
	guint isize;

	rc = ext2fs_open (path, EXT2_FLAG_RW | EXT2_FLAG_64BITS, 0, 0, unix_io_manager, &fs);
	if (rc != 0) {
		g_set_error (error, AC_ERROR, AC_ERROR_IO, "libext2fs cannot open %s: error %ld", path,
			     (long)rc);
		return FALSE;
	}
	isize = EXT2_INODE_SIZE (fs->super);
	buf = g_malloc0 (MAX (isize, sizeof (struct ext2_inode_large)));
	rc = ext2fs_open_inode_scan (fs, 0, &scan);
	while (rc == 0) {
		struct ext2_inode_large *inode = (struct ext2_inode_large *)buf;
		rc = ext2fs_get_next_inode_full (scan, &ino, (struct ext2_inode *)buf, isize);
		if (rc != 0 || ino == 0)
			break;
		if (inode->i_links_count == 0)
			continue;
		inode->i_ctime = (__u32)epoch;
		if ((gint64)inode->i_atime > epoch)
			inode->i_atime = (__u32)epoch;
		if ((gint64)inode->i_mtime > epoch)
			inode->i_mtime = (__u32)epoch;
		if (isize > EXT2_GOOD_OLD_INODE_SIZE) {
			if (inode->i_extra_isize >= 8)
				inode->i_ctime_extra = 0;
			if (inode->i_extra_isize >= 24 && (gint64)inode->i_crtime > epoch) {
				inode->i_crtime = (__u32)epoch;
				inode->i_crtime_extra = 0;
			}
		}
		rc = ext2fs_write_inode_full (fs, ino, (struct ext2_inode *)buf, isize);
	}
	if (scan != NULL)
		ext2fs_close_inode_scan (scan);
	if (rc != 0) {
		g_set_error (error, AC_ERROR, AC_ERROR_IO, "libext2fs: rewriting inode %u of %s: error %ld",
			     ino, path, (long)rc);
		ext2fs_close_free (&fs);
		return FALSE;
	}
	rc = ext2fs_close_free (&fs);
	if (rc != 0) {
		g_set_error (error, AC_ERROR, AC_ERROR_IO, "libext2fs cannot close %s: error %ld", path,
			     (long)rc);
		return FALSE;
	}
	return TRUE;
}
#else
gboolean
ac_ext4_clamp_times (const gchar *path, gint64 epoch, GError **error)
{
	g_set_error_literal (error, AC_ERROR, AC_ERROR_UNSUPPORTED,
			     "reproducible images need libext2fs (built without it)");
	return FALSE;
}
#endif
