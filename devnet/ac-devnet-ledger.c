/*
 * aleph-confidential devnet: the payment rules and the credit ledger — balances, the credits an
 * INSTANCE costs, the rules by date, price estimates and balance answers.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "ac-aleph-util.h"
#include "ac-devnet-json.h"
#include "ac-devnet-ledger.h"
#include "ac-devnet-reply.h"
#include "ac-devnet-request.h"
#include "ac-error.h"
#include "ac-json.h"
#include "ac-time.h"

/* {"0x…": N, …}: each account's credit balance; all checked before any is set */
gboolean
ac_devnet_ledger_credits_apply (AcDevnet *self, JsonNode *node, GError **error)
{
	JsonObject *o;
	GList *members;
	gboolean ok = TRUE;

	if (!JSON_NODE_HOLDS_OBJECT (node)) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		                     "credits: expected an object {\"0x<address>\": credits}");
		return FALSE;
	}
	o = json_node_get_object (node);
	members = json_object_get_members (o);
	for (GList *l = members; l != NULL && ok; l = l->next) {
		JsonNode *v = json_object_get_member (o, l->data);
		guint8 raw[20];
		if (!ac_eth_address_parse (l->data, raw, NULL) || !JSON_NODE_HOLDS_VALUE (v)
		    || json_node_get_value_type (v) != G_TYPE_INT64 || json_node_get_int (v) < 0) {
			g_set_error (
			    error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			    "credits: '%s' must be an Ethereum address with an integer >= 0",
			    (const gchar *)l->data);
			ok = FALSE;
		}
	}
	for (GList *l = members; l != NULL && ok; l = l->next)
		ac_devnet_ledger_credits_set (self, l->data,
		                              json_object_get_int_member (o, l->data));
	g_list_free (members);
	return ok;
}

gdouble
ac_devnet_ledger_clock (AcDevnet *self)
{
	return ac_time_now_unix () + (gdouble)self->knobs.clock_offset_s;
}

gint64
ac_devnet_ledger_credits_get (AcDevnet *self, const gchar *address)
{
	g_autofree gchar *key = g_ascii_strdown (address != NULL ? address : "", -1);
	gint64 *v = self->credits != NULL ? g_hash_table_lookup (self->credits, key) : NULL;
	return v != NULL ? *v : self->default_credits;
}

void
ac_devnet_ledger_credits_set (AcDevnet *self, const gchar *address, gint64 credits)
{
	gint64 *v = g_new (gint64, 1);
	*v = credits;
	if (self->credits == NULL)
		self->credits = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
	g_hash_table_replace (self->credits, g_ascii_strdown (address, -1), v);
}

gint64
ac_devnet_ledger_instance_hourly_cost (JsonObject *content)
{
	JsonObject *res = ac_devnet_json_object_member (content, "resources");
	gint64 vcpus = res != NULL ? json_object_get_int_member_with_default (res, "vcpus", 1) : 1;
	return MAX (vcpus, 1) * AC_DEVNET_CREDITS_PER_VCPU_HOUR;
}

/* The network's payment rules on the later of the message's date and the CCN's clock, and
 * for credit INSTANCEs one hour of credit. -1000 when paid as the rules want. */
gint64
ac_devnet_ledger_check_payment (AcDevnet *self,
                                const AcAlephMessage *msg,
                                JsonObject *co,
                                gchar **details)
{
	g_autoptr (GError) error = NULL;
	JsonObject *payment = ac_devnet_json_object_member (co, "payment");
	const gchar *ptype
	    = payment != NULL ? json_object_get_string_member_with_default (payment, "type", "hold")
	                      : "hold"; /* aleph-message's default */
	gdouble when = MAX (msg->time, ac_devnet_ledger_clock (self));

	if (g_strcmp0 (msg->type, "INSTANCE") != 0 && g_strcmp0 (msg->type, "STORE") != 0)
		return -1000;
	if (!ac_payment_check (&self->knobs.payment_cutoffs, msg->type, ptype, when, &error)) {
		*details = g_strdup (error->message);
		return AC_ALEPH_ERROR_PAYMENT_REFUSED;
	}
	if (g_strcmp0 (msg->type, "INSTANCE") == 0 && g_strcmp0 (ptype, "credit") == 0) {
		gint64 cost = ac_devnet_ledger_instance_hourly_cost (co);
		gint64 have = ac_devnet_ledger_credits_get (self, msg->sender);
		if (have < cost) {
			*details = g_strdup_printf (
			    "credit balance %" G_GINT64_FORMAT
			    " is below one hour of this instance (%" G_GINT64_FORMAT ")",
			    have, cost);
			return AC_DEVNET_ERR_CREDIT_INSUFFICIENT;
		}
	}
	return -1000;
}

/* {"message": {…}} → the credits one hour costs: INSTANCE by its vCPUs, STORE by its size */
void
ac_devnet_ledger_price_estimate (AcDevnet *self, SoupServerMessage *msg)
{
	g_autoptr (GBytes) body = ac_devnet_request_body (msg);
	gsize len = 0;
	const gchar *data = g_bytes_get_data (body, &len);
	g_autoptr (GError) error = NULL;
	g_autoptr (JsonNode) root = ac_json_parse_untrusted ("price estimate", data, len, &error);
	JsonObject *m = root != NULL && JSON_NODE_HOLDS_OBJECT (root)
	                    ? ac_devnet_json_object_member (json_node_get_object (root), "message")
	                    : NULL;
	const gchar *type
	    = m != NULL ? json_object_get_string_member_with_default (m, "type", NULL) : NULL;
	const gchar *ic = m != NULL
	                      ? json_object_get_string_member_with_default (m, "item_content", NULL)
	                      : NULL;
	g_autoptr (JsonNode) content
	    = ic != NULL ? ac_json_parse_untrusted ("item_content", ic, strlen (ic), NULL) : NULL;
	JsonObject *co = content != NULL && JSON_NODE_HOLDS_OBJECT (content)
	                     ? json_node_get_object (content)
	                     : NULL;
	JsonObject *payment = ac_devnet_json_object_member (co, "payment");
	g_autoptr (JsonBuilder) b = json_builder_new ();
	g_autoptr (JsonNode) node = NULL;
	gint64 cost;

	if (co == NULL || type == NULL) {
		ac_devnet_reply_error (msg, 422,
		                       "price estimate: expected {\"message\": {…}} with "
		                       "type and inline item_content");
		return;
	}
	if (g_strcmp0 (type, "INSTANCE") == 0) {
		cost = ac_devnet_ledger_instance_hourly_cost (co);
	} else {
		/* a STORE: one credit per started GiB of content.size */
		gint64 size = json_object_get_int_member_with_default (co, "size", 0);
		cost = size > 0 ? (size + (G_GINT64_CONSTANT (1) << 30) - 1) >> 30 : 0;
	}
	json_builder_begin_object (b);
	ac_json_builder_add_int (b, "required_tokens", 0);
	json_builder_set_member_name (b, "payment_type");
	json_builder_add_string_value (
	    b, payment != NULL
	           ? json_object_get_string_member_with_default (payment, "type", "hold")
	           : "hold");
	json_builder_set_member_name (b, "cost");
	{
		g_autofree gchar *c = g_strdup_printf ("%" G_GINT64_FORMAT, cost);
		json_builder_add_string_value (b, c);
	}
	ac_json_builder_add_int (b, "required_credits", cost);
	json_builder_end_object (b);
	node = json_builder_get_root (b);
	(void)self;
	ac_devnet_reply_json (msg, 200, node);
}

/* GET /api/v0/addresses/{address}/balance: no tokens here, the devnet's credit ledger */
void
ac_devnet_ledger_balance (AcDevnet *self, SoupServerMessage *msg, const gchar *path)
{
	g_autofree gchar *address
	    = g_strndup (path + strlen ("/api/v0/addresses/"),
	                 strlen (path) - strlen ("/api/v0/addresses/") - strlen ("/balance"));
	g_autoptr (JsonBuilder) b = json_builder_new ();
	g_autoptr (JsonNode) node = NULL;
	guint8 raw[AC_ETH_ADDRESS_LEN];

	if (!ac_eth_address_parse (address, raw, NULL)) {
		ac_devnet_reply_error (msg, 422, "'%s' is not an Ethereum address", address);
		return;
	}
	json_builder_begin_object (b);
	ac_json_builder_add_string (b, "address", address);
	ac_json_builder_add_int (b, "balance", 0);
	ac_json_builder_add_int (b, "locked_amount", 0);
	ac_json_builder_add_int (b, "credit_balance", ac_devnet_ledger_credits_get (self, address));
	json_builder_end_object (b);
	node = json_builder_get_root (b);
	ac_devnet_reply_json (msg, 200, node);
}
