/*
 * aleph-confidential: the image's GPT, written and read back with libfdisk.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define AC_GPT_TYPE_ESP "C12A7328-F81F-11D2-BA4B-00A0C93EC93B"
#define AC_GPT_TYPE_LINUX "0FC63DAF-8483-4772-8E79-3D69D8477DE4"

typedef struct {
	guint partno;   /* 1-based */
	guint64 start;  /* bytes */
	guint64 size;   /* bytes */
	gchar *type;    /* GUID, upper case */
	gchar *uuid;    /* GUID, upper case; NULL = random when writing */
	gchar *name;
} AcGptPart;

void ac_gpt_part_free (AcGptPart *part);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AcGptPart, ac_gpt_part_free)

gboolean ac_gpt_write (const gchar *path, const gchar *disk_guid, GPtrArray *parts, GError **error);
GPtrArray *ac_gpt_read (const gchar *path, gchar **disk_guid, GError **error);

G_END_DECLS
