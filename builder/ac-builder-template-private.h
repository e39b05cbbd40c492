/*
 * What the files of the template share (ac-builder-template*.c): not for other callers, who
 * take ac-builder-template.h.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "ac-builder-template.h"
#include "ac-json.h"

G_BEGIN_DECLS

/* every error of a template names its field: "template field 'disk.size': ..." */
extern const AcJsonScope ac_template_scope;

/* ac-builder-template-vars.c */
gboolean
ac_template_vars_name_ok (const gchar *name);
GHashTable *
ac_template_vars_merge (AcTemplate *self,
                        JsonObject *o,
                        GHashTable *vars,
                        GHashTable *origins,
                        GError **error);
gboolean
ac_template_vars_substitute (AcTemplate *self, JsonNode *root, GHashTable *merged, GError **error);

/* ac-builder-template-sections.c */
gboolean
ac_template_sections_parse (AcTemplate *self, JsonObject *o, GError **error);

G_END_DECLS
