/*
 * aleph-confidential: bounded JSON parsing and typed member readers whose errors name the
 * field ("template field 'disk.luks.key_size': a string: expected an integer from 0 to 1").
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include "ac-error.h"

G_BEGIN_DECLS

#define AC_JSON_MAX_DEPTH 64

JsonNode *
ac_json_parse_bounded (const gchar *what,
                       const gchar *data,
                       gsize len,
                       gsize max_len,
                       AcError code,
                       GError **error);
/* the same, refusing an object with two members of the same name */
JsonNode *
ac_json_parse_bounded_unique (const gchar *what,
                              const gchar *data,
                              gsize len,
                              gsize max_len,
                              AcError code,
                              GError **error);

/*
 * Where the members come from: errors read "@what field 'PATH': …" with @code.
 * PATH is "@path.NAME" (NAME alone at the top level).
 */
typedef struct {
	const gchar *what;
	AcError code;
} AcJsonScope;

const gchar *
ac_json_type_name (JsonNode *node);
gchar *
ac_json_field_path (const gchar *path, const gchar *name);
gboolean
ac_json_fail (const AcJsonScope *scope, GError **error, const gchar *field, const gchar *fmt, ...)
    G_GNUC_PRINTF (4, 5);
gboolean
ac_json_check_members (const AcJsonScope *scope,
                       JsonObject *o,
                       const gchar *path,
                       const gchar *const *allowed,
                       GError **error);

/* All readers: a missing member is an error when @required, else leaves *@out unchanged. */
gboolean
ac_json_read_string (const AcJsonScope *scope,
                     JsonObject *o,
                     const gchar *path,
                     const gchar *name,
                     gboolean required,
                     gsize max_len,
                     gchar **out,
                     GError **error);
gboolean
ac_json_read_int (const AcJsonScope *scope,
                  JsonObject *o,
                  const gchar *path,
                  const gchar *name,
                  gboolean required,
                  gint64 min,
                  gint64 max,
                  gint64 *out,
                  gboolean *present,
                  GError **error);
gboolean
ac_json_read_uint64 (const AcJsonScope *scope,
                     JsonObject *o,
                     const gchar *path,
                     const gchar *name,
                     gboolean required,
                     guint64 *out,
                     GError **error);
gboolean
ac_json_read_bool (const AcJsonScope *scope,
                   JsonObject *o,
                   const gchar *path,
                   const gchar *name,
                   gboolean required,
                   gboolean *out,
                   GError **error);
gboolean
ac_json_read_object (const AcJsonScope *scope,
                     JsonObject *o,
                     const gchar *path,
                     const gchar *name,
                     gboolean required,
                     JsonObject **out,
                     GError **error);
gboolean
ac_json_read_array (const AcJsonScope *scope,
                    JsonObject *o,
                    const gchar *path,
                    const gchar *name,
                    gboolean required,
                    guint max,
                    JsonArray **out,
                    GError **error);
gboolean
ac_json_read_strv (const AcJsonScope *scope,
                   JsonObject *o,
                   const gchar *path,
                   const gchar *name,
                   guint max,
                   gchar ***out,
                   GError **error);

/* JsonBuilder members, each @name then its value, in an object begun by the caller: for the
 * writers that build with json-glib (the image manifest, the SNP runtime file) */
void
ac_json_builder_add_int (JsonBuilder *b, const gchar *name, gint64 value);
void
ac_json_builder_add_string (JsonBuilder *b, const gchar *name, const gchar *value);
void
ac_json_builder_add_boolean (JsonBuilder *b, const gchar *name, gboolean value);
/* a %NULL @value: no member at all */
void
ac_json_builder_add_string_opt (JsonBuilder *b, const gchar *name, const gchar *value);
/* a %NULL @value is written as null (json_object_set_string_member() writes the same) */
void
ac_json_builder_add_string_or_null (JsonBuilder *b, const gchar *name, const gchar *value);
/* @name, then an object begun: end it with json_builder_end_object() */
void
ac_json_builder_begin_member_object (JsonBuilder *b, const gchar *name);

/* {"error": @message} as compact JSON text: the body of an HTTP refusal (the devnet's) */
gchar *
ac_json_error_body (const gchar *message);

G_END_DECLS
