/*
 * aleph-confidential: the Python-compatible compact JSON serializer used for item_content.
 * Pure: no I/O.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include "ac-unixfs.h" /* base58btc and CIDv0 */

G_BEGIN_DECLS

/* Writes @node as compact JSON the way Python's json.dumps(separators=(",", ":")) does with
 * ensure_ascii=True: members in their order, floats in repr() form ("1700000000.0"). */
gchar *ac_json_to_python_compact (JsonNode *node);
void ac_json_append_python_double (GString *out, gdouble value);
void ac_json_append_python_string (GString *out, const gchar *str);

/* ac_json_parse_bounded() with the bounds of an Aleph answer (64 MiB, AC_ERROR_REMOTE) */
JsonNode *ac_json_parse_untrusted (const gchar *what, const gchar *data, gsize len, GError **error);

gboolean ac_item_hash_is_valid (const gchar *hash);
/* "0.5.1", "v0.5", "0.10.2-3-gabc", "0.5.0+devnet.1" → {major, minor, patch} */
gboolean ac_version_parse (const gchar *text, guint version[3]);
gint ac_version_compare (const guint a[3], const guint b[3]);

G_END_DECLS
