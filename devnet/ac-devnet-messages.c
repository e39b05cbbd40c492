/*
 * aleph-confidential devnet: the message store as the handlers read it — a message's content,
 * its API JSON, the file behind a STORE, the aggregates and the delegations they carry.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "ac-aleph-util.h"
#include "ac-devnet-messages.h"
#include "ac-error.h"

JsonNode *
ac_devnet_messages_content (AcDevnet *self, const AcAlephMessage *msg, GError **error)
{
	g_autofree gchar *path = NULL;
	g_autofree gchar *text = NULL;
	gsize len = 0;
	guint64 size = 0;
	if (g_strcmp0 (msg->item_type, "inline") == 0)
		return ac_aleph_message_get_content (msg, error);
	path = ac_devnet_store_get_file (self->store, msg->item_hash, &size, NULL, NULL);
	if (path == NULL || size > AC_DEVNET_MESSAGES_MAX_JSON_CONTENT
	    || !g_file_get_contents (path, &text, &len, NULL)) {
		g_set_error (
		    error, AC_ERROR, AC_ERROR_NOT_FOUND,
		    "the %s content %s was not uploaded (add_json) or is larger than %u bytes",
		    msg->item_type, msg->item_hash, AC_DEVNET_MESSAGES_MAX_JSON_CONTENT);
		return NULL;
	}
	return ac_json_parse_untrusted ("content", text, len, error);
}

JsonNode *
ac_devnet_messages_to_api_json (AcDevnet *self, const AcDevnetMessageRow *row)
{
	g_autoptr (JsonNode) node = ac_aleph_message_to_json (row->msg);
	JsonObject *o = json_node_get_object (node);
	g_autoptr (JsonNode) content = ac_devnet_messages_content (self, row->msg, NULL);
	if (content != NULL)
		json_object_set_member (o, "content", g_steal_pointer (&content));
	json_object_set_boolean_member (o, "confirmed", FALSE);
	json_object_set_array_member (o, "confirmations", json_array_new ());
	return g_steal_pointer (&node);
}

gchar *
ac_devnet_messages_store_file (AcDevnet *self,
                               const gchar *store_hash,
                               guint64 *size,
                               GError **error)
{
	g_autoptr (AcDevnetMessageRow) row
	    = ac_devnet_store_get_message (self->store, store_hash, error);
	g_autoptr (JsonNode) content = NULL;
	const gchar *file_hash;
	gchar *path;

	if (row == NULL)
		return NULL;
	if (g_strcmp0 (row->status, "processed") != 0 || g_strcmp0 (row->msg->type, "STORE") != 0) {
		g_set_error (error, AC_ERROR, AC_ERROR_NOT_FOUND,
		             "%s is a %s %s message, expected a processed STORE", store_hash,
		             row->status, row->msg->type);
		return NULL;
	}
	content = ac_devnet_messages_content (self, row->msg, error);
	if (content == NULL)
		return NULL;
	file_hash = json_object_get_string_member_with_default (json_node_get_object (content),
	                                                        "item_hash", NULL);
	path = file_hash != NULL
	           ? ac_devnet_store_get_file (self->store, file_hash, size, NULL, error)
	           : NULL;
	if (path == NULL && (error == NULL || *error == NULL))
		g_set_error (error, AC_ERROR, AC_ERROR_NOT_FOUND,
		             "the file of STORE %s is not on this devnet", store_hash);
	return path;
}

gchar *
ac_devnet_messages_resolve_file (AcDevnet *self, const gchar *hash, guint64 *size, GError **error)
{
	g_autoptr (GError) local = NULL;
	g_autoptr (AcDevnetMessageRow) row
	    = ac_devnet_store_get_message (self->store, hash, &local);
	gchar *path;

	if (row != NULL || !g_error_matches (local, AC_ERROR, AC_ERROR_NOT_FOUND))
		return ac_devnet_messages_store_file (self, hash, size, error);
	path = ac_devnet_store_get_file (self->store, hash, size, NULL, error);
	if (path == NULL && (error == NULL || *error == NULL))
		g_set_error (error, AC_ERROR, AC_ERROR_NOT_FOUND,
		             "%s is neither a message nor a file of this devnet", hash);
	return path;
}

JsonObject *
ac_devnet_messages_aggregates (AcDevnet *self, const gchar *address, gchar **keys)
{
	gchar *types[] = { (gchar *)"AGGREGATE", NULL };
	gchar *addresses[] = { (gchar *)address, NULL };
	AcDevnetQuery q
	    = { .types = types, .addresses = addresses, .ascending = TRUE, .per_page = 10000 };
	g_autoptr (GPtrArray) rows = ac_devnet_store_query (self->store, &q, NULL, NULL);
	g_autoptr (JsonObject) data = json_object_new ();

	if (rows == NULL)
		return NULL;
	/* oldest first: later messages update the members of earlier ones (pyaleph's merge) */
	for (guint i = 0; i < rows->len; i++) {
		AcDevnetMessageRow *row = g_ptr_array_index (rows, i);
		g_autoptr (JsonNode) c = ac_devnet_messages_content (self, row->msg, NULL);
		JsonObject *co;
		const gchar *key;
		JsonNode *val;
		JsonObject *merged;
		GList *members;
		if (c == NULL || !JSON_NODE_HOLDS_OBJECT (c))
			continue;
		co = json_node_get_object (c);
		key = json_object_get_string_member_with_default (co, "key", NULL);
		val = json_object_get_member (co, "content");
		if (key == NULL || val == NULL || !JSON_NODE_HOLDS_OBJECT (val)
		    || !ac_eth_address_equal (
		        json_object_get_string_member_with_default (co, "address", ""), address))
			continue;
		if (keys != NULL && !g_strv_contains ((const gchar *const *)keys, key))
			continue;
		if (!json_object_has_member (data, key))
			json_object_set_object_member (data, key, json_object_new ());
		merged = json_object_get_object_member (data, key);
		members = json_object_get_members (json_node_get_object (val));
		for (GList *l = members; l != NULL; l = l->next)
			json_object_set_member (merged, l->data,
			                        json_node_copy (json_object_get_member (
			                            json_node_get_object (val), l->data)));
		g_list_free (members);
	}
	if (json_object_get_size (data) == 0)
		return NULL;
	return g_steal_pointer (&data);
}

gboolean
ac_devnet_messages_is_delegate (AcDevnet *self,
                                const gchar *owner,
                                const gchar *sender,
                                const gchar *type)
{
	gchar *keys[] = { (gchar *)"security", NULL };
	g_autoptr (JsonObject) data
	    = owner != NULL ? ac_devnet_messages_aggregates (self, owner, keys) : NULL;
	JsonObject *sec = data != NULL ? json_object_get_object_member (data, "security") : NULL;
	JsonNode *an = sec != NULL ? json_object_get_member (sec, "authorizations") : NULL;
	JsonArray *auths
	    = an != NULL && JSON_NODE_HOLDS_ARRAY (an) ? json_node_get_array (an) : NULL;

	for (guint i = 0; auths != NULL && i < json_array_get_length (auths); i++) {
		JsonNode *e = json_array_get_element (auths, i);
		JsonObject *eo = JSON_NODE_HOLDS_OBJECT (e) ? json_node_get_object (e) : NULL;
		JsonNode *tn;
		JsonArray *types;
		gboolean type_ok = FALSE;
		if (eo == NULL
		    || !ac_eth_address_equal (
		        json_object_get_string_member_with_default (eo, "address", ""), sender))
			continue;
		tn = json_object_get_member (eo, "types");
		types = tn != NULL && JSON_NODE_HOLDS_ARRAY (tn) ? json_node_get_array (tn) : NULL;
		if (types == NULL || json_array_get_length (types) == 0)
			return TRUE;
		for (guint j = 0; j < json_array_get_length (types) && !type_ok; j++)
			type_ok = g_strcmp0 (json_array_get_string_element (types, j), type) == 0;
		if (type_ok)
			return TRUE;
	}
	return FALSE;
}
