/*
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "ac-builder-gpt.h"

#include <libfdisk/libfdisk.h>

#include "ac-error.h"

void
ac_gpt_part_free (AcGptPart *part)
{
	if (part == NULL)
		return;
	g_free (part->type);
	g_free (part->uuid);
	g_free (part->name);
	g_free (part);
}

static void
ac_fdisk_context_unref (struct fdisk_context *cxt)
{
	if (cxt == NULL)
		return;
	(void)fdisk_deassign_device (cxt, 1);
	fdisk_unref_context (cxt);
}

static struct fdisk_context *
ac_fdisk_open (const gchar *path, gboolean readonly, GError **error)
{
	struct fdisk_context *cxt = fdisk_new_context ();
	int rc;
	if (cxt == NULL) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_INTERNAL, "libfdisk: out of memory");
		return NULL;
	}
	fdisk_disable_dialogs (cxt, 1);
	rc = fdisk_assign_device (cxt, path, readonly ? 1 : 0);
	if (rc != 0) {
		g_set_error (error, AC_ERROR, AC_ERROR_IO, "libfdisk cannot open %s: %s", path,
			     g_strerror (-rc));
		fdisk_unref_context (cxt);
		return NULL;
	}
	return cxt;
}

/**
 * ac_gpt_write:
 * @disk_guid: (nullable): fixed disk GUID (reproducible mode) or %NULL for a random one
 * @parts: (element-type AcGptPart): partitions with byte offsets and sizes, multiples of 512
 *
 * Writes a protective MBR, the primary and the backup GPT on @path (a regular file of the final
 * size).
 */
gboolean
ac_gpt_write (const gchar *path, const gchar *disk_guid, GPtrArray *parts, GError **error)
{
	struct fdisk_context *cxt = ac_fdisk_open (path, FALSE, error);
	struct fdisk_label *lb;
	int rc;

	if (cxt == NULL)
		return FALSE;
	rc = fdisk_create_disklabel (cxt, "gpt");
	if (rc != 0) {
		g_set_error (error, AC_ERROR, AC_ERROR_IO, "libfdisk cannot create a GPT on %s: %s",
			     path, g_strerror (-rc));
		ac_fdisk_context_unref (cxt);
		return FALSE;
	}
	if (fdisk_get_sector_size (cxt) != 512) {
		g_set_error (error, AC_ERROR, AC_ERROR_UNSUPPORTED,
			     "%s has %lu-byte sectors: expected 512", path, fdisk_get_sector_size (cxt));
		ac_fdisk_context_unref (cxt);
		return FALSE;
	}
	if (disk_guid != NULL && (rc = fdisk_set_disklabel_id_from_string (cxt, disk_guid)) != 0) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			     "disk GUID '%s' refused by libfdisk: %s", disk_guid, g_strerror (-rc));
		ac_fdisk_context_unref (cxt);
		return FALSE;
	}
	lb = fdisk_get_label (cxt, NULL);
	for (guint i = 0; i < parts->len; i++) {
		AcGptPart *p = g_ptr_array_index (parts, i);
		struct fdisk_partition *pa = fdisk_new_partition ();
		struct fdisk_parttype *type = fdisk_label_parse_parttype (lb, p->type);
		size_t partno = 0;
		if (p->start % 512 != 0 || p->size % 512 != 0 || p->size == 0) {
			g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
				     "partition %u: start %" G_GUINT64_FORMAT " / size %" G_GUINT64_FORMAT
				     " are not positive multiples of 512", p->partno, p->start, p->size);
			fdisk_unref_parttype (type);
			fdisk_unref_partition (pa);
			ac_fdisk_context_unref (cxt);
			return FALSE;
		}
		fdisk_partition_set_partno (pa, p->partno - 1);
		fdisk_partition_set_start (pa, p->start / 512);
		fdisk_partition_set_size (pa, p->size / 512);
		fdisk_partition_set_type (pa, type);
		if (p->name != NULL)
			fdisk_partition_set_name (pa, p->name);
		if (p->uuid != NULL)
			fdisk_partition_set_uuid (pa, p->uuid);
		rc = fdisk_add_partition (cxt, pa, &partno);
		fdisk_unref_parttype (type);
		fdisk_unref_partition (pa);
		if (rc != 0) {
			g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
				     "libfdisk refused partition %u (start %" G_GUINT64_FORMAT
				     ", size %" G_GUINT64_FORMAT " bytes) on %s: %s",
				     p->partno, p->start, p->size, path, g_strerror (-rc));
			ac_fdisk_context_unref (cxt);
			return FALSE;
		}
	}
	rc = fdisk_write_disklabel (cxt);
	if (rc != 0) {
		g_set_error (error, AC_ERROR, AC_ERROR_IO, "libfdisk cannot write the GPT to %s: %s",
			     path, g_strerror (-rc));
		ac_fdisk_context_unref (cxt);
		return FALSE;
	}
	rc = fdisk_deassign_device (cxt, 0);
	fdisk_unref_context (cxt);
	if (rc != 0) {
		g_set_error (error, AC_ERROR, AC_ERROR_IO, "closing %s after partitioning: %s", path,
			     g_strerror (-rc));
		return FALSE;
	}
	return TRUE;
}

/**
 * ac_gpt_read:
 *
 * Reads the GPT of @path; fails unless there is a valid GPT (libfdisk checks both headers and
 * their CRCs). Returns the partitions in table order.
 */
GPtrArray *
ac_gpt_read (const gchar *path, gchar **disk_guid, GError **error)
{
	struct fdisk_context *cxt = ac_fdisk_open (path, TRUE, error);
	struct fdisk_table *tb = NULL;
	struct fdisk_iter *itr = NULL;
	struct fdisk_partition *pa = NULL;
	g_autoptr(GPtrArray) parts = g_ptr_array_new_with_free_func ((GDestroyNotify)ac_gpt_part_free);
	int rc;

	if (cxt == NULL)
		return NULL;
	if (!fdisk_has_label (cxt) || !fdisk_is_labeltype (cxt, FDISK_DISKLABEL_GPT)) {
		g_set_error (error, AC_ERROR, AC_ERROR_MISMATCH, "%s has no valid GPT", path);
		ac_fdisk_context_unref (cxt);
		return NULL;
	}
	if (disk_guid != NULL) {
		char *id = NULL;
		if (fdisk_get_disklabel_id (cxt, &id) == 0 && id != NULL) {
			*disk_guid = g_ascii_strup (id, -1);
			free (id);
		}
	}
	rc = fdisk_get_partitions (cxt, &tb);
	if (rc != 0) {
		g_set_error (error, AC_ERROR, AC_ERROR_MISMATCH, "cannot read the partitions of %s: %s",
			     path, g_strerror (-rc));
		ac_fdisk_context_unref (cxt);
		return NULL;
	}
	itr = fdisk_new_iter (FDISK_ITER_FORWARD);
	while (fdisk_table_next_partition (tb, itr, &pa) == 0) {
		AcGptPart *p = g_new0 (AcGptPart, 1);
		struct fdisk_parttype *type = fdisk_partition_get_type (pa);
		const gchar *uuid = fdisk_partition_get_uuid (pa);
		const gchar *name = fdisk_partition_get_name (pa);
		p->partno = (guint)fdisk_partition_get_partno (pa) + 1;
		p->start = (guint64)fdisk_partition_get_start (pa) * 512;
		p->size = (guint64)fdisk_partition_get_size (pa) * 512;
		p->type = type != NULL ? g_ascii_strup (fdisk_parttype_get_string (type), -1) : NULL;
		p->uuid = uuid != NULL ? g_ascii_strup (uuid, -1) : NULL;
		p->name = g_strdup (name);
		g_ptr_array_add (parts, p);
	}
	fdisk_free_iter (itr);
	fdisk_unref_table (tb);
	ac_fdisk_context_unref (cxt);
	return g_steal_pointer (&parts);
}
