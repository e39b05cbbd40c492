/*
 * GUIDs in the UEFI mixed-endian byte order (first three groups little-endian), as every SEV
 * structure stores them.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

gboolean ac_sev_guid_from_string (const gchar *str, guint8 out[16], GError **error);
gchar *ac_sev_guid_to_string (const guint8 guid[16]);

G_END_DECLS
