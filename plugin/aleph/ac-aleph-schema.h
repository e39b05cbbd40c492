/*
 * aleph-confidential: the content schemas of INSTANCE, STORE and FORGET messages (aleph-message
 * 1.1 field order and limits). Normalizing a content object checks every limit (errors name the
 * field path), drops nulls, fills the defaults the Python SDK dumps and orders the members as
 * pydantic does, so our item_content is byte-identical to the SDK's. Pure: no I/O.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* @type: "INSTANCE", "STORE" or "FORGET" */
JsonNode *ac_aleph_content_normalize (const gchar *type, JsonNode *content, GError **error);
gboolean ac_aleph_content_type_is_supported (const gchar *type);

G_END_DECLS
