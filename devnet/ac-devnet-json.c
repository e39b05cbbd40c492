/*
 * aleph-confidential devnet: typed readers of JSON members shared by the handlers.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "ac-devnet-json.h"

JsonObject *
ac_devnet_json_object_member (JsonObject *o, const gchar *name)
{
	JsonNode *n = o != NULL ? json_object_get_member (o, name) : NULL;
	return n != NULL && JSON_NODE_HOLDS_OBJECT (n) ? json_node_get_object (n) : NULL;
}
