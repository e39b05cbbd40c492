/*
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The source is never modified: trees and tarballs are copied or extracted into the work
 * directory; images are opened read-only (a qcow2 is first converted to a raw copy) and their
 * root filesystem is mounted read-only without journal replay, copied, and unmounted.
 */

#include "config.h"

#include "ac-builder-source.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <glib/gstdio.h>
#include <libfdisk/libfdisk.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ac-error.h"

void
ac_source_fs_free (AcSourceFs *fs)
{
	if (fs == NULL)
		return;
	g_free (fs->fstype);
	g_free (fs);
}

static gboolean
ac_source_copy_tree (const gchar *from, const gchar *root, GCancellable *cancellable,
		     GError **error)
{
	g_autofree gchar *from_dot = g_build_filename (from, ".", NULL);
	/* -a keeps owners, modes, links, xattrs; --one-file-system skips /proc etc. of a live tree */
	const gchar *argv[] = { "cp", "-a", "--one-file-system", "--no-target-directory", from_dot,
				root, NULL };
	return ac_run_tool (argv, NULL, cancellable, NULL, error);
}

static gboolean
ac_source_directory (const AcTemplateSource *src, const gchar *root, GCancellable *cancellable,
		     GError **error)
{
	if (!g_file_test (src->path, G_FILE_TEST_IS_DIR)) {
		g_set_error (error, AC_ERROR, AC_ERROR_NOT_FOUND,
			     "source.path '%s': not a directory", src->path);
		return FALSE;
	}
	return ac_source_copy_tree (src->path, root, cancellable, error);
}

static gboolean
ac_source_tarball (const AcTemplateSource *src, const gchar *root, GCancellable *cancellable,
		   GError **error)
{
	/* GNU tar detects the compression, refuses ".." members and strips leading "/" */
	const gchar *argv[] = { "tar", "--extract", "--file", src->path, "--directory", root,
				"--numeric-owner", "--same-permissions", "--same-owner", "--xattrs",
				"--xattrs-include=*", "--acls", NULL };
	if (!g_file_test (src->path, G_FILE_TEST_IS_REGULAR)) {
		g_set_error (error, AC_ERROR, AC_ERROR_NOT_FOUND, "source.path '%s': no such file",
			     src->path);
		return FALSE;
	}
	return ac_run_tool (argv, NULL, cancellable, NULL, error);
}

static gchar *
ac_source_blkid_type (const gchar *path, guint64 offset, guint64 size, GCancellable *cancellable)
{
	g_autofree gchar *off = g_strdup_printf ("%" G_GUINT64_FORMAT, offset);
	g_autofree gchar *sz = g_strdup_printf ("%" G_GUINT64_FORMAT, size);
	const gchar *argv[] = { "blkid", "--probe", "--offset", off, "--size", sz, "--output",
				"export", path, NULL };
	g_autofree gchar *out = NULL;
	g_auto(GStrv) lines = NULL;
	if (!ac_run_tool (argv, NULL, cancellable, &out, NULL) || out == NULL)
		return NULL;
	lines = g_strsplit (out, "\n", -1);
	for (guint i = 0; lines[i] != NULL; i++) {
		if (g_str_has_prefix (lines[i], "TYPE="))
			return g_strdup (lines[i] + 5);
	}
	return NULL;
}

/**
 * ac_source_probe_image:
 *
 * Lists the filesystems of a raw image: each partition of its GPT or MBR, or the whole image
 * when it has no partition table, with the filesystem type blkid reports.
 */
GPtrArray *
ac_source_probe_image (const gchar *raw_path, GCancellable *cancellable, GError **error)
{
	g_autoptr(GPtrArray) found = g_ptr_array_new_with_free_func ((GDestroyNotify)ac_source_fs_free);
	struct fdisk_context *cxt = fdisk_new_context ();
	struct stat st;
	int rc;

	if (stat (raw_path, &st) != 0) {
		g_set_error (error, AC_ERROR, AC_ERROR_NOT_FOUND, "source image '%s': %s", raw_path,
			     g_strerror (errno));
		fdisk_unref_context (cxt);
		return NULL;
	}
	if (S_ISBLK (st.st_mode)) {
		/* a block device (a libvirt disk of type 'block'): its size from the kernel */
		guint64 bytes = 0;
		int fd = open (raw_path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || ioctl (fd, BLKGETSIZE64, &bytes) != 0) {
			g_set_error (error, AC_ERROR, AC_ERROR_IO, "source image '%s': cannot get its size",
				     raw_path);
			if (fd >= 0)
				close (fd);
			fdisk_unref_context (cxt);
			return NULL;
		}
		close (fd);
		st.st_size = (off_t)bytes;
	}
	fdisk_disable_dialogs (cxt, 1);
	rc = fdisk_assign_device (cxt, raw_path, 1);
	if (rc == 0 && fdisk_has_label (cxt)) {
		struct fdisk_table *tb = NULL;
		if (fdisk_get_partitions (cxt, &tb) == 0) {
			struct fdisk_iter *itr = fdisk_new_iter (FDISK_ITER_FORWARD);
			struct fdisk_partition *pa = NULL;
			while (fdisk_table_next_partition (tb, itr, &pa) == 0) {
				AcSourceFs *fs;
				guint64 off = (guint64)fdisk_partition_get_start (pa) * 512;
				guint64 size = (guint64)fdisk_partition_get_size (pa) * 512;
				if (!fdisk_partition_has_start (pa) || !fdisk_partition_has_size (pa) ||
				    off >= (guint64)st.st_size || size > (guint64)st.st_size - off)
					continue; /* outside the file: not ours to read */
				fs = g_new0 (AcSourceFs, 1);
				fs->partno = (guint)fdisk_partition_get_partno (pa) + 1;
				fs->offset = off;
				fs->size = size;
				fs->fstype = ac_source_blkid_type (raw_path, off, size, cancellable);
				g_ptr_array_add (found, fs);
			}
			fdisk_free_iter (itr);
			fdisk_unref_table (tb);
		}
	} else {
		AcSourceFs *fs = g_new0 (AcSourceFs, 1);
		fs->size = (guint64)st.st_size;
		fs->fstype = ac_source_blkid_type (raw_path, 0, fs->size, cancellable);
		g_ptr_array_add (found, fs);
	}
	if (rc == 0)
		fdisk_deassign_device (cxt, 1);
	fdisk_unref_context (cxt);
	return g_steal_pointer (&found);
}

static gboolean
ac_source_is_root_fstype (const gchar *t)
{
	return g_strcmp0 (t, "ext4") == 0 || g_strcmp0 (t, "ext3") == 0 ||
	       g_strcmp0 (t, "ext2") == 0 || g_strcmp0 (t, "xfs") == 0 || g_strcmp0 (t, "btrfs") == 0;
}

static gboolean
ac_source_mount (const gchar *raw, const AcSourceFs *fs, const gchar *mnt, AcCleanup *cleanup,
		 GCancellable *cancellable, GError **error)
{
	g_autofree gchar *opts = NULL;
	const gchar *norecover = g_str_has_prefix (fs->fstype, "ext") ? ",noload"
				 : g_strcmp0 (fs->fstype, "xfs") == 0 ? ",norecovery"
				 : "";
	const gchar *argv[] = { "mount", "-t", fs->fstype, "-o", NULL, raw, mnt, NULL };
	if (geteuid () != 0) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_PERMISSION,
				     "reading a disk image source needs root (a read-only loop mount)");
		return FALSE;
	}
	opts = g_strdup_printf ("ro,loop,nodev,nosuid,noexec,offset=%" G_GUINT64_FORMAT
				",sizelimit=%" G_GUINT64_FORMAT "%s",
				fs->offset, fs->size, norecover);
	argv[4] = opts;
	if (g_mkdir_with_parents (mnt, 0700) != 0) {
		g_set_error (error, AC_ERROR, AC_ERROR_IO, "cannot create %s: %s", mnt,
			     g_strerror (errno));
		return FALSE;
	}
	ac_cleanup_add_path (cleanup, mnt);
	if (!ac_run_tool (argv, NULL, cancellable, NULL, error))
		return FALSE;
	ac_cleanup_add_mount (cleanup, mnt);
	return TRUE;
}

static gboolean
ac_source_unmount (const gchar *mnt, AcCleanup *cleanup, GError **error)
{
	if (umount2 (mnt, 0) != 0) {
		g_set_error (error, AC_ERROR, AC_ERROR_IO, "cannot unmount %s: %s", mnt,
			     g_strerror (errno));
		return FALSE;
	}
	ac_cleanup_forget (cleanup, mnt);
	g_rmdir (mnt);
	ac_cleanup_forget (cleanup, mnt);
	return TRUE;
}

/* the source's format: as given, or with "auto" what qemu-img finds (raw or qcow2) */
static gboolean
ac_source_image_format (const AcTemplateSource *src,
			gchar **format_out,
			GCancellable *cancellable,
			GError **error)
{
	g_autofree gchar *format = g_strdup (src->format);
	if (g_strcmp0 (format, "auto") == 0) {
		const gchar *argv[] = { "qemu-img", "info", "--output=json", src->path, NULL };
		g_autofree gchar *out = NULL;
		g_autoptr(JsonParser) parser = json_parser_new ();
		JsonObject *o;
		if (!ac_run_tool (argv, NULL, cancellable, &out, error))
			return FALSE;
		if (!json_parser_load_from_data (parser, out, -1, NULL) ||
		    !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser))) {
			g_set_error (error, AC_ERROR, AC_ERROR_IO, "qemu-img info on %s gave no JSON",
				     src->path);
			return FALSE;
		}
		o = json_node_get_object (json_parser_get_root (parser));
		g_free (format);
		format = g_strdup (json_object_get_string_member_with_default (o, "format", ""));
		if (g_strcmp0 (format, "raw") != 0 && g_strcmp0 (format, "qcow2") != 0) {
			g_set_error (error, AC_ERROR, AC_ERROR_UNSUPPORTED,
				     "source.path '%s' is a %s image: expected raw or qcow2", src->path,
				     format);
			return FALSE;
		}
	}
	*format_out = g_steal_pointer (&format);
	return TRUE;
}

/* the path of the source as a raw image: the source itself, or a qcow2 converted */
static gchar *
ac_source_image_raw (const AcTemplateSource *src,
		     const gchar *format,
		     const gchar *workdir,
		     AcCleanup *cleanup,
		     GCancellable *cancellable,
		     GError **error)
{
	if (g_strcmp0 (format, "qcow2") == 0) {
		const gchar *argv[] = { "qemu-img", "convert", "-f", "qcow2", "-O", "raw", "-S", "4k",
					src->path, NULL, NULL };
		g_autofree gchar *raw = g_build_filename (workdir, "source.raw", NULL);
		argv[9] = raw;
		ac_cleanup_add_path (cleanup, raw);
		/* -U is not used: a qcow2 in use by a running VM must not be read */
		if (!ac_run_tool (argv, NULL, cancellable, NULL, error)) {
			g_prefix_error (error, "source.path '%s': ", src->path);
			return NULL;
		}
		return g_steal_pointer (&raw);
	}
	return g_strdup (src->path);
}

/* the filesystem source.partition names, which must be a root filesystem */
static AcSourceFs *
ac_source_named_partition (const AcTemplateSource *src, GPtrArray *fss, GError **error)
{
	guint64 want = g_ascii_strtoull (src->partition, NULL, 10);
	AcSourceFs *chosen = NULL;
	for (guint i = 0; i < fss->len; i++) {
		AcSourceFs *fs = g_ptr_array_index (fss, i);
		if (fs->partno == want)
			chosen = fs;
	}
	if (chosen == NULL) {
		g_set_error (error, AC_ERROR, AC_ERROR_NOT_FOUND,
			     "source.partition %s: the image has no such partition", src->partition);
		return NULL;
	}
	if (!ac_source_is_root_fstype (chosen->fstype)) {
		g_set_error (error, AC_ERROR, AC_ERROR_UNSUPPORTED,
			     "source.partition %s holds %s: expected ext2/3/4, xfs or btrfs",
			     src->partition, chosen->fstype != NULL ? chosen->fstype : "no filesystem");
		return NULL;
	}
	return chosen;
}

/* the root filesystem: the Linux filesystem with /etc and /usr (or the only one) */
static AcSourceFs *
ac_source_find_root (const AcTemplateSource *src,
		     GPtrArray *fss,
		     const gchar *raw,
		     const gchar *mnt,
		     AcCleanup *cleanup,
		     GCancellable *cancellable,
		     GError **error)
{
	g_autoptr(GPtrArray) candidates = g_ptr_array_new ();
	AcSourceFs *chosen = NULL;
	for (guint i = 0; i < fss->len; i++) {
		AcSourceFs *fs = g_ptr_array_index (fss, i);
		if (g_strcmp0 (fs->fstype, "crypto_LUKS") == 0) {
			g_set_error (error, AC_ERROR, AC_ERROR_UNSUPPORTED,
				     "source.path '%s': partition %u is already LUKS-encrypted",
				     src->path, fs->partno);
			return NULL;
		}
		if (ac_source_is_root_fstype (fs->fstype))
			g_ptr_array_add (candidates, fs);
	}
	if (candidates->len == 0) {
		g_set_error (error, AC_ERROR, AC_ERROR_NOT_FOUND,
			     "source.path '%s': no Linux root filesystem found (ext2/3/4, xfs, btrfs)",
			     src->path);
		return NULL;
	}
	for (guint i = 0; i < candidates->len && chosen == NULL; i++) {
		AcSourceFs *fs = g_ptr_array_index (candidates, i);
		g_autofree gchar *etc = g_build_filename (mnt, "etc", NULL);
		g_autofree gchar *usr = g_build_filename (mnt, "usr", NULL);
		if (candidates->len == 1) {
			chosen = fs;
			break;
		}
		if (!ac_source_mount (raw, fs, mnt, cleanup, cancellable, error))
			return NULL;
		if (g_file_test (etc, G_FILE_TEST_IS_DIR) && g_file_test (usr, G_FILE_TEST_IS_DIR))
			chosen = fs;
		if (!ac_source_unmount (mnt, cleanup, error))
			return NULL;
	}
	if (chosen == NULL) {
		g_set_error (error, AC_ERROR, AC_ERROR_NOT_FOUND,
			     "source.path '%s': %u Linux filesystems, none with /etc and /usr: "
			     "name one with source.partition",
			     src->path, candidates->len);
		return NULL;
	}
	return chosen;
}

static gboolean
ac_source_image (const AcTemplateSource *src,
		 const gchar *root,
		 const gchar *workdir,
		 AcCleanup *cleanup,
		 GCancellable *cancellable,
		 GError **error)
{
	g_autofree gchar *format = NULL;
	g_autofree gchar *raw = NULL;
	g_autofree gchar *mnt = g_build_filename (workdir, "source-mnt", NULL);
	g_autoptr(GPtrArray) fss = NULL;
	AcSourceFs *chosen = NULL;

	if (!g_file_test (src->path, G_FILE_TEST_IS_REGULAR) &&
	    !g_file_test (src->path, G_FILE_TEST_EXISTS)) {
		g_set_error (error, AC_ERROR, AC_ERROR_NOT_FOUND, "source.path '%s': no such image",
			     src->path);
		return FALSE;
	}
	if (!ac_source_image_format (src, &format, cancellable, error))
		return FALSE;
	raw = ac_source_image_raw (src, format, workdir, cleanup, cancellable, error);
	if (raw == NULL)
		return FALSE;
	fss = ac_source_probe_image (raw, cancellable, error);
	if (fss == NULL)
		return FALSE;
	if (g_strcmp0 (src->partition, "auto") != 0)
		chosen = ac_source_named_partition (src, fss, error);
	else
		chosen = ac_source_find_root (src, fss, raw, mnt, cleanup, cancellable, error);
	if (chosen == NULL)
		return FALSE;
	g_debug ("source: partition %u (%s) at %" G_GUINT64_FORMAT, chosen->partno, chosen->fstype,
		 chosen->offset);
	if (!ac_source_mount (raw, chosen, mnt, cleanup, cancellable, error))
		return FALSE;
	if (!ac_source_copy_tree (mnt, root, cancellable, error))
		return FALSE;
	return ac_source_unmount (mnt, cleanup, error);
}

static gboolean
ac_source_debootstrap (const AcTemplateSource *src, const gchar *root, GCancellable *cancellable,
		       GError **error)
{
	g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
	if (geteuid () != 0) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_PERMISSION, "debootstrap needs root");
		return FALSE;
	}
	if (!ac_run_tool_exists ("debootstrap")) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_UNSUPPORTED,
				     "source.type debootstrap: debootstrap is not installed");
		return FALSE;
	}
	ac_argv_add (argv, "debootstrap", "--merged-usr", NULL);
	if (src->variant != NULL)
		g_ptr_array_add (argv, g_strdup_printf ("--variant=%s", src->variant));
	if (src->include != NULL && src->include[0] != NULL) {
		g_autofree gchar *inc = g_strjoinv (",", src->include);
		g_ptr_array_add (argv, g_strdup_printf ("--include=%s", inc));
	}
	if (src->components != NULL)
		g_ptr_array_add (argv, g_strdup_printf ("--components=%s", src->components));
	ac_argv_add (argv, src->suite, root, src->mirror, NULL);
	g_ptr_array_add (argv, NULL);
	if (!ac_run_tool ((const gchar *const *)argv->pdata, NULL, cancellable, NULL, error)) {
		g_prefix_error (error, "source debootstrap %s from %s: ", src->suite, src->mirror);
		return FALSE;
	}
	return TRUE;
}

/**
 * ac_source_prepare:
 * @root: an existing empty directory that receives the tree
 *
 * Fills @root from the template's source. A libvirt-domain source must have been resolved to
 * an image by the caller (the builder knows nothing of libvirt).
 */
gboolean
ac_source_prepare (const AcTemplateSource *source,
		   const gchar *root,
		   const gchar *workdir,
		   AcCleanup *cleanup,
		   GCancellable *cancellable,
		   GError **error)
{
	switch (source->type) {
	case AC_SOURCE_DIRECTORY:
		return ac_source_directory (source, root, cancellable, error);
	case AC_SOURCE_TARBALL:
		return ac_source_tarball (source, root, cancellable, error);
	case AC_SOURCE_IMAGE:
		return ac_source_image (source, root, workdir, cleanup, cancellable, error);
	case AC_SOURCE_DEBOOTSTRAP:
		return ac_source_debootstrap (source, root, cancellable, error);
	case AC_SOURCE_LIBVIRT_DOMAIN:
	default:
		g_set_error (error, AC_ERROR, AC_ERROR_UNSUPPORTED,
			     "source.type %s: must be resolved to a disk image by the caller "
			     "(virt-aleph build does this)",
			     ac_source_type_to_string (source->type));
		return FALSE;
	}
}
