/*
 * aleph-confidential devnet: typed readers of JSON members shared by the handlers.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

JsonObject *
ac_devnet_json_object_member (JsonObject *o, const gchar *name);

G_END_DECLS
