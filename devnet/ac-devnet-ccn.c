/*
 * aleph-confidential devnet: the CCN (pyaleph) API subset — classifies a request and serves it:
 * POST messages, message/status GET, messages.json, aggregates, the CRN list and the version
 * here; the checks (ac-devnet-validate), processing (ac-devnet-process), uploads and raw files
 * (ac-devnet-upload) and the ledger's answers (ac-devnet-ledger) in their own files.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "ac-aleph-util.h"
#include "ac-devnet-ccn.h"
#include "ac-devnet-ledger.h"
#include "ac-devnet-messages.h"
#include "ac-devnet-process.h"
#include "ac-devnet-reply.h"
#include "ac-devnet-request.h"
#include "ac-devnet-upload.h"
#include "ac-json.h"
#include "ac-time.h"

AcDevnetEndpoint
ac_devnet_ccn_classify (const gchar *method, const gchar *path)
{
	gboolean get = g_strcmp0 (method, "GET") == 0 || g_strcmp0 (method, "HEAD") == 0;
	if (g_strcmp0 (path, "/api/v0/messages") == 0 && !get)
		return AC_DEVNET_EP_MESSAGES_POST;
	if (g_strcmp0 (path, "/api/v0/messages.json") == 0
	    || g_strcmp0 (path, "/api/v0/messages/page/1.json") == 0)
		return AC_DEVNET_EP_MESSAGES_JSON;
	if (g_str_has_prefix (path, "/api/v0/messages/"))
		return AC_DEVNET_EP_MESSAGES_GET;
	if (g_strcmp0 (path, "/api/v0/storage/add_file") == 0)
		return AC_DEVNET_EP_STORAGE_ADD_FILE;
	if (g_strcmp0 (path, "/api/v0/ipfs/add_file") == 0)
		return AC_DEVNET_EP_IPFS_ADD_FILE;
	if (g_strcmp0 (path, "/api/v0/ipfs/add_car") == 0)
		return AC_DEVNET_EP_IPFS_ADD_CAR;
	if (g_str_has_prefix (path, "/api/v0/storage/raw/") || g_str_has_prefix (path, "/ipfs/"))
		return AC_DEVNET_EP_STORAGE_RAW;
	if (g_strcmp0 (path, "/crns.json") == 0)
		return AC_DEVNET_EP_CRNS_LIST;
	return AC_DEVNET_EP_CCN_OTHER;
}

/* ---- message JSON ---- */

static JsonNode *
message_info_json (AcDevnet *self, const AcDevnetMessageRow *row, gboolean status_only)
{
	g_autoptr (JsonNode) node = json_node_new (JSON_NODE_OBJECT);
	JsonObject *o = json_object_new ();
	g_autofree gchar *rt = ac_time_format_isoformat (row->reception_time);
	json_node_take_object (node, o);
	json_object_set_string_member (o, "status", row->status);
	json_object_set_string_member (o, "item_hash", row->msg->item_hash);
	json_object_set_string_member (o, "reception_time", rt);
	if (status_only)
		return g_steal_pointer (&node);
	if (g_strcmp0 (row->status, "pending") == 0) {
		JsonArray *a = json_array_new ();
		json_array_add_element (a, ac_devnet_messages_to_api_json (self, row));
		json_object_set_array_member (o, "messages", a);
	} else {
		json_object_set_member (o, "message", ac_devnet_messages_to_api_json (self, row));
	}
	if (g_strcmp0 (row->status, "rejected") == 0) {
		json_object_set_int_member (o, "error_code",
		                            row->has_error_code ? row->error_code : -1);
		if (row->details != NULL) {
			JsonNode *d = ac_json_parse_untrusted ("details", row->details,
			                                       strlen (row->details), NULL);
			json_object_set_member (o, "details",
			                        d != NULL ? d : json_node_new (JSON_NODE_NULL));
		} else {
			json_object_set_null_member (o, "details");
		}
	}
	if (g_strcmp0 (row->status, "forgotten") == 0 && row->forgotten_by != NULL) {
		JsonNode *d = ac_json_parse_untrusted ("forgotten_by", row->forgotten_by,
		                                       strlen (row->forgotten_by), NULL);
		if (d != NULL)
			json_object_set_member (o, "forgotten_by", d);
	}
	return g_steal_pointer (&node);
}

/* ---- POST /api/v0/messages ---- */

static gboolean
ccn_post_message (AcDevnet *self, SoupServerMessage *msg)
{
	g_autoptr (GBytes) body = ac_devnet_request_body (msg);
	g_autoptr (GError) error = NULL;
	g_autoptr (JsonNode) root = NULL;
	g_autoptr (AcAlephMessage) m = NULL;
	g_autofree gchar *status = NULL;
	JsonNode *mnode;
	JsonNode *syncn;
	gboolean sync = FALSE;
	gsize len = 0;
	const gchar *data = g_bytes_get_data (body, &len);

	root = ac_json_parse_untrusted ("request", data, len, &error);
	if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root)) {
		ac_devnet_reply_text (msg, 422, "InvalidMessageFormat");
		return TRUE;
	}
	mnode = json_object_get_member (json_node_get_object (root), "message");
	syncn = json_object_get_member (json_node_get_object (root), "sync");
	if (syncn != NULL && JSON_NODE_HOLDS_VALUE (syncn)
	    && json_node_get_value_type (syncn) == G_TYPE_BOOLEAN)
		sync = json_node_get_boolean (syncn);
	if (mnode == NULL || (m = ac_aleph_message_from_json (mnode, &error)) == NULL
	    || !ac_devnet_process_accept (self, m, &status, &error)) {
		g_debug ("POST /api/v0/messages: %s",
		         error != NULL ? error->message : "no message");
		ac_devnet_reply_text (msg, 422, "InvalidMessageFormat");
		return TRUE;
	}
	return ac_devnet_process_reply_posted (self, msg, m->item_hash, status, sync, NULL);
}

/* ---- GET messages ---- */

static void
ccn_get_message (AcDevnet *self, SoupServerMessage *msg, const gchar *path)
{
	const gchar *rest = path + strlen ("/api/v0/messages/");
	g_autofree gchar *hash = NULL;
	gboolean status_only = FALSE;
	g_autoptr (AcDevnetMessageRow) row = NULL;
	g_autoptr (JsonNode) node = NULL;

	if (g_str_has_suffix (rest, "/status")) {
		hash = g_strndup (rest, strlen (rest) - strlen ("/status"));
		status_only = TRUE;
	} else {
		hash = g_strdup (rest);
	}
	if (!ac_item_hash_is_valid (hash)) {
		ac_devnet_reply_error (msg, 422, "'%s' is not an item hash", hash);
		return;
	}
	ac_devnet_process_due (self);
	row = ac_devnet_store_get_message (self->store, hash, NULL);
	if (row == NULL) {
		ac_devnet_reply_error (msg, 404, "Message not found");
		return;
	}
	node = message_info_json (self, row, status_only);
	ac_devnet_reply_json (msg, 200, node);
}

static gchar **
query_list (GHashTable *query, const gchar *name)
{
	const gchar *v = query != NULL ? g_hash_table_lookup (query, name) : NULL;
	g_auto (GStrv) parts = NULL;
	g_autoptr (GPtrArray) out = g_ptr_array_new_with_free_func (g_free);
	if (v == NULL || v[0] == '\0')
		return NULL;
	parts = g_strsplit (v, ",", 1000);
	for (guint i = 0; parts[i] != NULL; i++) {
		g_strstrip (parts[i]);
		if (parts[i][0] != '\0')
			g_ptr_array_add (out, g_strdup (parts[i]));
	}
	g_ptr_array_add (out, NULL);
	return (gchar **)g_ptr_array_free (g_steal_pointer (&out), FALSE);
}

static guint
query_uint (GHashTable *query, const gchar *name, guint def, guint max)
{
	const gchar *v = query != NULL ? g_hash_table_lookup (query, name) : NULL;
	guint64 out = def;
	if (v == NULL || !g_ascii_string_to_unsigned (v, 10, 0, max, &out, NULL))
		return def;
	return (guint)out;
}

static void
ccn_messages_json (AcDevnet *self, SoupServerMessage *msg, GHashTable *query)
{
	g_auto (GStrv) hashes = query_list (query, "hashes");
	g_auto (GStrv) types = query_list (query, "msgTypes");
	g_auto (GStrv) type1 = query_list (query, "msgType");
	g_auto (GStrv) addresses = query_list (query, "addresses");
	g_auto (GStrv) refs = query_list (query, "refs");
	g_auto (GStrv) channels = query_list (query, "channels");
	const gchar *sort = query != NULL ? g_hash_table_lookup (query, "sortOrder") : NULL;
	AcDevnetQuery q = {
		.hashes = hashes,
		.types = types != NULL ? types : type1,
		.addresses = addresses,
		.refs = refs,
		.channels = channels,
		.ascending = g_strcmp0 (sort, "1") == 0,
		.page = query_uint (query, "page", 1, 1000000),
		.per_page = query_uint (query, "pagination", 20, 10000),
	};
	g_autoptr (GError) error = NULL;
	g_autoptr (GPtrArray) rows = NULL;
	g_autoptr (JsonNode) node = json_node_new (JSON_NODE_OBJECT);
	JsonObject *o = json_object_new ();
	JsonArray *arr = json_array_new ();
	guint total = 0;

	json_node_take_object (node, o);
	json_object_set_array_member (o, "messages", arr);
	ac_devnet_process_due (self);
	rows = ac_devnet_store_query (self->store, &q, &total, &error);
	if (rows == NULL) {
		ac_devnet_reply_error (msg, 500, "%s", error->message);
		return;
	}
	for (guint i = 0; i < rows->len; i++)
		json_array_add_element (
		    arr, ac_devnet_messages_to_api_json (self, g_ptr_array_index (rows, i)));
	json_object_set_int_member (o, "pagination_page", MAX (q.page, 1));
	json_object_set_int_member (o, "pagination_total", total);
	json_object_set_int_member (o, "pagination_per_page", q.per_page > 0 ? q.per_page : 20);
	json_object_set_string_member (o, "pagination_item", "messages");
	ac_devnet_reply_json (msg, 200, node);
}

/* ---- aggregates (the "security" key carries delegations) ---- */

static void
ccn_aggregates (AcDevnet *self, SoupServerMessage *msg, const gchar *path, GHashTable *query)
{
	g_autofree gchar *address
	    = g_strndup (path + strlen ("/api/v0/aggregates/"),
	                 strlen (path) - strlen ("/api/v0/aggregates/") - strlen (".json"));
	g_auto (GStrv) keys = query_list (query, "keys");
	g_autoptr (JsonObject) data = NULL;
	g_autoptr (JsonNode) node = json_node_new (JSON_NODE_OBJECT);
	JsonObject *o = json_object_new ();
	guint8 raw[AC_ETH_ADDRESS_LEN];

	json_node_take_object (node, o);
	if (!ac_eth_address_parse (address, raw, NULL)) {
		ac_devnet_reply_error (msg, 422, "'%s' is not an address", address);
		return;
	}
	ac_devnet_process_due (self);
	data = ac_devnet_messages_aggregates (self, address, keys);
	if (data == NULL) {
		ac_devnet_reply_error (msg, 404, "No aggregate found");
		return;
	}
	json_object_set_string_member (o, "address", address);
	json_object_set_object_member (o, "data", g_steal_pointer (&data));
	ac_devnet_reply_json (msg, 200, node);
}

/* ---- CRN list ---- */

static JsonNode *
crn_list_json (AcDevnet *self)
{
	g_autoptr (JsonBuilder) b = json_builder_new ();
	g_autofree gchar *now = ac_time_format_isoformat (ac_time_now_unix ());
	json_builder_begin_object (b);
	ac_json_builder_add_string (b, "last_refresh", now);
	json_builder_set_member_name (b, "crns");
	json_builder_begin_array (b);
	for (guint i = 0; i < self->n_crns; i++) {
		AcDevnetCrn *crn = self->crns[i];
		json_builder_begin_object (b);
		ac_json_builder_add_string (b, "hash", crn->hash);
		ac_json_builder_add_string (b, "name", crn->name);
		ac_json_builder_add_string (b, "address", crn->url);
		ac_json_builder_add_string (b, "version", "devnet-" PACKAGE_VERSION);
		ac_json_builder_add_boolean (b, "confidential_support", TRUE);
		ac_json_builder_add_boolean (b, "qemu_support", TRUE);
		ac_json_builder_add_boolean (b, "gpu_support", FALSE);
		ac_json_builder_add_string (b, "payment_receiver_address",
		                            ac_eth_account_get_address (self->account));
		ac_json_builder_add_string (b, "stream_reward",
		                            ac_eth_account_get_address (self->account));
		ac_json_builder_add_string (b, "terms_and_conditions", "");
		json_builder_set_member_name (b, "inactive_since");
		json_builder_add_null_value (b);
		json_builder_set_member_name (b, "system_usage");
		json_builder_begin_object (b);
		json_builder_set_member_name (b, "properties");
		json_builder_begin_object (b);
		json_builder_set_member_name (b, "cpu");
		json_builder_begin_object (b);
		ac_json_builder_add_string (b, "architecture", "x86_64");
		ac_json_builder_add_string (b, "vendor", "AuthenticAMD");
		json_builder_set_member_name (b, "features");
		json_builder_begin_array (b);
		json_builder_add_string_value (b, "sev");
		json_builder_add_string_value (b, "sev_es");
		if (!self->crn_no_snp[i])
			json_builder_add_string_value (b, "sev_snp");
		json_builder_end_array (b);
		json_builder_end_object (b);
		json_builder_end_object (b);
		json_builder_end_object (b);
		json_builder_end_object (b);
	}
	json_builder_end_array (b);
	json_builder_end_object (b);
	return json_builder_get_root (b);
}

/* ---- dispatch ---- */

gboolean
ac_devnet_ccn_handle (AcDevnet *self,
                      AcDevnetEndpoint ep,
                      SoupServerMessage *msg,
                      const gchar *path,
                      GHashTable *query)
{
	const gchar *method = soup_server_message_get_method (msg);
	gboolean get = g_strcmp0 (method, "GET") == 0 || g_strcmp0 (method, "HEAD") == 0;

	switch (ep) {
	case AC_DEVNET_EP_MESSAGES_POST:
		return ccn_post_message (self, msg);
	case AC_DEVNET_EP_MESSAGES_GET:
		if (!get)
			break;
		ccn_get_message (self, msg, path);
		return TRUE;
	case AC_DEVNET_EP_MESSAGES_JSON:
		if (!get)
			break;
		ccn_messages_json (self, msg, query);
		return TRUE;
	case AC_DEVNET_EP_STORAGE_ADD_FILE:
	case AC_DEVNET_EP_IPFS_ADD_FILE:
	case AC_DEVNET_EP_IPFS_ADD_CAR:
		if (g_strcmp0 (method, "POST") != 0)
			break;
		return ac_devnet_upload_handle (self, ep, msg);
	case AC_DEVNET_EP_STORAGE_RAW:
		if (!get)
			break;
		ac_devnet_upload_raw (self, msg, path);
		return TRUE;
	case AC_DEVNET_EP_CRNS_LIST:
		if (!get)
			break;
		{
			g_autoptr (JsonNode) node = crn_list_json (self);
			ac_devnet_reply_json (msg, 200, node);
		}
		return TRUE;
	default:
		if (g_strcmp0 (method, "OPTIONS") == 0) {
			ac_devnet_reply_cors_preflight (msg);
			return TRUE;
		}
		if (get && g_str_has_prefix (path, "/api/v0/aggregates/")
		    && g_str_has_suffix (path, ".json")
		    && strlen (path) > strlen ("/api/v0/aggregates/.json")) {
			ccn_aggregates (self, msg, path, query);
			return TRUE;
		}
		if (!get
		    && (g_strcmp0 (path, "/api/v0/storage/add_json") == 0
		        || g_strcmp0 (path, "/api/v0/ipfs/add_json") == 0)) {
			ac_devnet_upload_add_json (self, msg,
			                           g_str_has_prefix (path, "/api/v0/ipfs/"));
			return TRUE;
		}
		if (get
		    && (g_strcmp0 (path, "/api/v0/version") == 0
		        || g_strcmp0 (path, "/version") == 0)) {
			/* pyaleph: {"version": __version__} */
			g_autoptr (JsonNode) node = json_node_new (JSON_NODE_OBJECT);
			JsonObject *o = json_object_new ();
			json_object_set_string_member (o, "version", AC_DEVNET_CCN_VERSION);
			json_node_take_object (node, o);
			ac_devnet_reply_json (msg, 200, node);
			return TRUE;
		}
		if (g_strcmp0 (path, "/api/v0/price/estimate") == 0 && !get) {
			ac_devnet_ledger_price_estimate (self, msg);
			return TRUE;
		}
		if (get && g_str_has_prefix (path, "/api/v0/addresses/")
		    && g_str_has_suffix (path, "/balance")) {
			ac_devnet_ledger_balance (self, msg, path);
			return TRUE;
		}
		ac_devnet_reply_error (msg, 404, "no devnet CCN endpoint %s %s", method, path);
		return TRUE;
	}
	ac_devnet_reply_error (msg, 405, "%s is not allowed on %s", method, path);
	return TRUE;
}
