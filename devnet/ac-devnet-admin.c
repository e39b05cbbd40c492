/*
 * aleph-confidential devnet: the admin endpoint for the tests (no auth, loopback) — knobs,
 * credits, per-VM counters, per-endpoint stats, the ready line.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "ac-aleph-util.h"
#include "ac-devnet-admin.h"
#include "ac-devnet-crn.h"
#include "ac-devnet-ledger.h"
#include "ac-devnet-process.h"
#include "ac-devnet-reply.h"
#include "ac-devnet-request.h"
#include "ac-devnet-snp.h"
#include "ac-json.h"

static JsonNode *
vm_row_to_json (const AcDevnetVmRow *r)
{
	g_autoptr (JsonBuilder) b = json_builder_new ();
	json_builder_begin_object (b);
	ac_json_builder_add_int (b, "crn", r->crn);
	ac_json_builder_add_string (b, "vm_hash", r->vm_hash);
	ac_json_builder_add_string (b, "state", r->state);
	ac_json_builder_add_string (b, "owner", r->owner);
	ac_json_builder_add_int (b, "launches", r->launches);
	ac_json_builder_add_int (b, "measurements", r->measurements);
	ac_json_builder_add_int (b, "inject_attempts", r->inject_attempts);
	ac_json_builder_add_int (b, "secrets_released", r->secrets_released);
	ac_json_builder_add_boolean (b, "secret_released", r->secrets_released > 0);
	ac_json_builder_add_int (b, "passphrase_checks", r->passphrase_checks);
	ac_json_builder_add_int (b, "passphrase_ok", r->passphrase_ok);
	ac_json_builder_add_boolean (b, "passphrase_check_passed", r->passphrase_ok > 0);
	ac_json_builder_add_int (b, "agent_handshakes", r->agent_handshakes);
	ac_json_builder_add_int (b, "agent_bytes", (gint64)r->agent_bytes);
	ac_json_builder_add_int (b, "fresh_reports", r->fresh_reports);
	json_builder_set_member_name (b, "last_error");
	if (r->last_error != NULL)
		json_builder_add_string_value (b, r->last_error);
	else
		json_builder_add_null_value (b);
	json_builder_end_object (b);
	return json_builder_get_root (b);
}

static void
admin_vms (AcDevnet *self, SoupServerMessage *msg, const gchar *filter)
{
	g_autoptr (GError) error = NULL;
	g_autoptr (GPtrArray) rows = ac_devnet_store_list_vms (self->store, &error);
	g_autoptr (JsonArray) arr = json_array_new ();
	g_autoptr (JsonNode) node = json_node_new (JSON_NODE_OBJECT);
	g_autoptr (JsonObject) o = json_object_new ();
	guint secrets = 0;

	if (rows == NULL) {
		ac_devnet_reply_error (msg, 500, "%s", error->message);
		return;
	}
	for (guint i = 0; i < rows->len; i++) {
		AcDevnetVmRow *r = g_ptr_array_index (rows, i);
		if (filter != NULL && g_strcmp0 (filter, r->vm_hash) != 0)
			continue;
		secrets += r->secrets_released;
		json_array_add_element (arr, vm_row_to_json (r));
	}
	if (filter != NULL && json_array_get_length (arr) == 0) {
		ac_devnet_reply_error (msg, 404, "no VM %s on any CRN", filter);
		return;
	}
	json_object_set_int_member (o, "secrets_released", secrets);
	json_object_set_boolean_member (o, "any_secret_released", secrets > 0);
	json_object_set_array_member (o, "vms", json_array_ref (arr));
	json_node_set_object (node, o);
	ac_devnet_reply_json (msg, 200, node);
}

static void
admin_stats (AcDevnet *self, SoupServerMessage *msg)
{
	g_autoptr (JsonBuilder) b = json_builder_new ();
	g_autoptr (JsonNode) node = NULL;
	json_builder_begin_object (b);
	for (guint i = 0; i < AC_DEVNET_EP_LAST; i++) {
		json_builder_set_member_name (b, ac_devnet_knobs_endpoint_to_string (i));
		json_builder_begin_object (b);
		ac_json_builder_add_int (b, "requests", (gint64)self->stat_requests[i]);
		ac_json_builder_add_int (b, "injected", (gint64)self->stat_injected[i]);
		ac_json_builder_add_int (b, "dropped", (gint64)self->stat_dropped[i]);
		json_builder_end_object (b);
	}
	json_builder_end_object (b);
	node = json_builder_get_root (b);
	ac_devnet_reply_json (msg, 200, node);
}

static void
admin_knobs_update (AcDevnet *self, SoupServerMessage *msg)
{
	g_autoptr (GBytes) body = ac_devnet_request_body (msg);
	g_autoptr (GError) error = NULL;
	g_autoptr (JsonNode) out = NULL;
	AcDevnetKnobs k = self->knobs;
	gsize len = 0;
	const gchar *data = g_bytes_get_data (body, &len);

	if (!ac_devnet_knobs_apply_data (&k, data, len, &error)) {
		ac_devnet_reply_error (msg, 400, "%s", error->message);
		return;
	}
	for (guint i = 0; i < self->n_crns; i++) {
		if (k.attacks[i] != self->knobs.attacks[i]
		    && !ac_devnet_crn_prepare_attack (self->crns[i], k.attacks[i], &error)) {
			ac_devnet_reply_error (msg, 500, "%s", error->message);
			return;
		}
	}
	self->knobs = k;
	ac_devnet_process_schedule (self);
	out = ac_devnet_knobs_to_json (&self->knobs);
	ac_devnet_reply_json (msg, 200, out);
}

void
ac_devnet_admin_handle (SoupServer *server,
                        SoupServerMessage *msg,
                        const char *path,
                        GHashTable *query,
                        gpointer user_data)
{
	AcDevnet *self = user_data;
	const gchar *method = soup_server_message_get_method (msg);

	if (ac_devnet_snp_admin_handle (self, msg, path, query))
		return;
	if (g_strcmp0 (path, "/admin/knobs") == 0) {
		if (g_strcmp0 (method, "GET") == 0) {
			g_autoptr (JsonNode) node = ac_devnet_knobs_to_json (&self->knobs);
			ac_devnet_reply_json (msg, 200, node);
		} else if (g_strcmp0 (method, "POST") == 0 || g_strcmp0 (method, "PUT") == 0
		           || g_strcmp0 (method, "PATCH") == 0) {
			admin_knobs_update (self, msg);
		} else {
			ac_devnet_reply_error (msg, 405, "%s /admin/knobs: expected GET or POST",
			                       method);
		}
		return;
	}
	if (g_strcmp0 (path, "/admin/credits") == 0 && g_strcmp0 (method, "POST") == 0) {
		g_autoptr (GBytes) body = ac_devnet_request_body (msg);
		gsize len = 0;
		const gchar *data = g_bytes_get_data (body, &len);
		g_autoptr (GError) error = NULL;
		g_autoptr (JsonNode) node = ac_json_parse_untrusted ("credits", data, len, &error);
		if (node == NULL || !ac_devnet_ledger_credits_apply (self, node, &error)) {
			ac_devnet_reply_error (msg, 400, "%s", error->message);
			return;
		}
		ac_devnet_reply_json (msg, 200, node);
		return;
	}
	if (g_strcmp0 (method, "GET") != 0) {
		ac_devnet_reply_error (msg, 405, "%s %s: expected GET", method, path);
		return;
	}
	if (g_strcmp0 (path, "/admin/vms") == 0) {
		admin_vms (self, msg, NULL);
	} else if (g_str_has_prefix (path, "/admin/vms/")) {
		const gchar *h = path + strlen ("/admin/vms/");
		if (!ac_item_hash_is_valid (h)) {
			ac_devnet_reply_error (msg, 400, "'%s' is not an item hash", h);
			return;
		}
		admin_vms (self, msg, h);
	} else if (g_strcmp0 (path, "/admin/stats") == 0) {
		admin_stats (self, msg);
	} else if (g_strcmp0 (path, "/admin/info") == 0) {
		g_autofree gchar *line = ac_devnet_get_ready_line (self);
		soup_server_message_set_status (msg, 200, NULL);
		soup_server_message_set_response (msg, "application/json", SOUP_MEMORY_COPY, line,
		                                  strlen (line));
	} else {
		ac_devnet_reply_error (msg, 404, "no admin endpoint %s", path);
	}
}
