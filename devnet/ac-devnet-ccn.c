/*
 * aleph-confidential devnet: the CCN (pyaleph) API subset — messages with real signature and
 * item_hash verification, the content schemas and VM rules, pending → processed with a delay,
 * message/status GET, messages.json, uploads (storage, IPFS file, CAR), raw file GET, and the
 * CRN list.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <math.h>

#include "ac-aleph-schema.h"
#include "ac-aleph-util.h"
#include "ac-devnet-car.h"
#include "ac-devnet-private.h"
#include "ac-error.h"
#include "ac-unixfs.h"

/* pyaleph's message error codes (aleph/types/message_status.py) */
#define ERR_INVALID_FORMAT 0
#define ERR_INVALID_SIGNATURE 1
#define ERR_PERMISSION_DENIED 2
#define ERR_CONTENT_UNAVAILABLE 3
#define ERR_FILE_UNAVAILABLE 4
#define ERR_CREDIT_INSUFFICIENT 6
#define ERR_VM_VOLUME_NOT_FOUND 301
#define ERR_VM_VOLUME_TOO_SMALL 304
#define ERR_FORGET_NOT_ALLOWED 503

typedef struct {
	SoupServerMessage *msg;
	guint timeout_id;
	AcDevnet *devnet;
	gchar *item_hash;
} AcDevnetWaiter;

AcDevnetEndpoint
ac_devnet_ccn_classify(const gchar *method, const gchar *path)
{
	gboolean get = g_strcmp0(method, "GET") == 0 || g_strcmp0(method, "HEAD") == 0;
	if (g_strcmp0(path, "/api/v0/messages") == 0 && !get)
		return AC_DEVNET_EP_MESSAGES_POST;
	if (g_strcmp0(path, "/api/v0/messages.json") == 0
	    || g_strcmp0(path, "/api/v0/messages/page/1.json") == 0)
		return AC_DEVNET_EP_MESSAGES_JSON;
	if (g_str_has_prefix(path, "/api/v0/messages/"))
		return AC_DEVNET_EP_MESSAGES_GET;
	if (g_strcmp0(path, "/api/v0/storage/add_file") == 0)
		return AC_DEVNET_EP_STORAGE_ADD_FILE;
	if (g_strcmp0(path, "/api/v0/ipfs/add_file") == 0)
		return AC_DEVNET_EP_IPFS_ADD_FILE;
	if (g_strcmp0(path, "/api/v0/ipfs/add_car") == 0)
		return AC_DEVNET_EP_IPFS_ADD_CAR;
	if (g_str_has_prefix(path, "/api/v0/storage/raw/") || g_str_has_prefix(path, "/ipfs/"))
		return AC_DEVNET_EP_STORAGE_RAW;
	if (g_strcmp0(path, "/crns.json") == 0)
		return AC_DEVNET_EP_CRNS_LIST;
	return AC_DEVNET_EP_CCN_OTHER;
}

#define AC_DEVNET_MAX_JSON_CONTENT (4 * 1024 * 1024)

JsonNode *
ac_devnet_message_content(AcDevnet *self, const AcAlephMessage *msg, GError **error)
{
	g_autofree gchar *path = NULL;
	g_autofree gchar *text = NULL;
	gsize len = 0;
	guint64 size = 0;
	if (g_strcmp0(msg->item_type, "inline") == 0)
		return ac_aleph_message_get_content(msg, error);
	path = ac_devnet_store_get_file(self->store, msg->item_hash, &size, NULL, NULL);
	if (path == NULL || size > AC_DEVNET_MAX_JSON_CONTENT
	    || !g_file_get_contents(path, &text, &len, NULL)) {
		g_set_error(
		    error, AC_ERROR, AC_ERROR_NOT_FOUND,
		    "the %s content %s was not uploaded (add_json) or is larger than %u bytes",
		    msg->item_type, msg->item_hash, AC_DEVNET_MAX_JSON_CONTENT);
		return NULL;
	}
	return ac_json_parse_untrusted("content", text, len, error);
}

/* ---- message JSON ---- */

JsonNode *
ac_devnet_message_to_api_json(AcDevnet *self, const AcDevnetMessageRow *row)
{
	g_autoptr(JsonNode) node = ac_aleph_message_to_json(row->msg);
	JsonObject *o = json_node_get_object(node);
	g_autoptr(JsonNode) content = ac_devnet_message_content(self, row->msg, NULL);
	if (content != NULL)
		json_object_set_member(o, "content", g_steal_pointer(&content));
	json_object_set_boolean_member(o, "confirmed", FALSE);
	json_object_set_array_member(o, "confirmations", json_array_new());
	return g_steal_pointer(&node);
}

static JsonNode *
message_info_json(AcDevnet *self, const AcDevnetMessageRow *row, gboolean status_only)
{
	g_autoptr(JsonNode) node = json_node_new(JSON_NODE_OBJECT);
	JsonObject *o = json_object_new();
	g_autofree gchar *rt = ac_devnet_iso8601(row->reception_time);
	json_node_take_object(node, o);
	json_object_set_string_member(o, "status", row->status);
	json_object_set_string_member(o, "item_hash", row->msg->item_hash);
	json_object_set_string_member(o, "reception_time", rt);
	if (status_only)
		return g_steal_pointer(&node);
	if (g_strcmp0(row->status, "pending") == 0) {
		JsonArray *a = json_array_new();
		json_array_add_element(a, ac_devnet_message_to_api_json(self, row));
		json_object_set_array_member(o, "messages", a);
	} else {
		json_object_set_member(o, "message", ac_devnet_message_to_api_json(self, row));
	}
	if (g_strcmp0(row->status, "rejected") == 0) {
		json_object_set_int_member(o, "error_code",
		                           row->has_error_code ? row->error_code : -1);
		if (row->details != NULL) {
			JsonNode *d = ac_json_parse_untrusted("details", row->details,
			                                      strlen(row->details), NULL);
			json_object_set_member(o, "details",
			                       d != NULL ? d : json_node_new(JSON_NODE_NULL));
		} else {
			json_object_set_null_member(o, "details");
		}
	}
	if (g_strcmp0(row->status, "forgotten") == 0 && row->forgotten_by != NULL) {
		JsonNode *d = ac_json_parse_untrusted("forgotten_by", row->forgotten_by,
		                                      strlen(row->forgotten_by), NULL);
		if (d != NULL)
			json_object_set_member(o, "forgotten_by", d);
	}
	return g_steal_pointer(&node);
}

static JsonNode *
post_result_json(const gchar *message_status)
{
	g_autoptr(JsonBuilder) b = json_builder_new();
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "publication_status");
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "status");
	json_builder_add_string_value(b, "success");
	json_builder_set_member_name(b, "failed");
	json_builder_begin_array(b);
	json_builder_end_array(b);
	json_builder_end_object(b);
	json_builder_set_member_name(b, "message_status");
	json_builder_add_string_value(b, message_status);
	json_builder_end_object(b);
	return json_builder_get_root(b);
}

static guint
status_to_http(const gchar *status)
{
	if (g_strcmp0(status, "processed") == 0 || g_strcmp0(status, "forgotten") == 0)
		return 200;
	if (g_strcmp0(status, "rejected") == 0)
		return 422;
	return 202;
}

/* ---- processing ---- */

static gchar *
details_json(const gchar *text)
{
	g_autoptr(JsonBuilder) b = json_builder_new();
	g_autoptr(JsonNode) node = NULL;
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "errors");
	json_builder_begin_array(b);
	json_builder_add_string_value(b, text);
	json_builder_end_array(b);
	json_builder_end_object(b);
	node = json_builder_get_root(b);
	return json_to_string(node, FALSE);
}

gchar *
ac_devnet_store_message_file(AcDevnet *self, const gchar *store_hash, guint64 *size, GError **error)
{
	g_autoptr(AcDevnetMessageRow) row
	    = ac_devnet_store_get_message(self->store, store_hash, error);
	g_autoptr(JsonNode) content = NULL;
	const gchar *file_hash;
	gchar *path;

	if (row == NULL)
		return NULL;
	if (g_strcmp0(row->status, "processed") != 0 || g_strcmp0(row->msg->type, "STORE") != 0) {
		g_set_error(error, AC_ERROR, AC_ERROR_NOT_FOUND,
		            "%s is a %s %s message, expected a processed STORE", store_hash,
		            row->status, row->msg->type);
		return NULL;
	}
	content = ac_devnet_message_content(self, row->msg, error);
	if (content == NULL)
		return NULL;
	file_hash = json_object_get_string_member_with_default(json_node_get_object(content),
	                                                       "item_hash", NULL);
	path = file_hash != NULL
	           ? ac_devnet_store_get_file(self->store, file_hash, size, NULL, error)
	           : NULL;
	if (path == NULL && (error == NULL || *error == NULL))
		g_set_error(error, AC_ERROR, AC_ERROR_NOT_FOUND,
		            "the file of STORE %s is not on this devnet", store_hash);
	return path;
}

static JsonObject *
obj_member(JsonObject *o, const gchar *name)
{
	JsonNode *n = o != NULL ? json_object_get_member(o, name) : NULL;
	return n != NULL && JSON_NODE_HOLDS_OBJECT(n) ? json_node_get_object(n) : NULL;
}

/* ---- payment: rules by date and a credit ledger ---- */

gdouble
ac_devnet_ccn_clock(AcDevnet *self)
{
	return ac_devnet_now() + (gdouble)self->knobs.clock_offset_s;
}

gint64
ac_devnet_credits_get(AcDevnet *self, const gchar *address)
{
	g_autofree gchar *key = g_ascii_strdown(address != NULL ? address : "", -1);
	gint64 *v = self->credits != NULL ? g_hash_table_lookup(self->credits, key) : NULL;
	return v != NULL ? *v : self->default_credits;
}

void
ac_devnet_credits_set(AcDevnet *self, const gchar *address, gint64 credits)
{
	gint64 *v = g_new(gint64, 1);
	*v = credits;
	if (self->credits == NULL)
		self->credits = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	g_hash_table_replace(self->credits, g_ascii_strdown(address, -1), v);
}

gint64
ac_devnet_instance_hourly_cost(JsonObject *content)
{
	JsonObject *res = obj_member(content, "resources");
	gint64 vcpus = res != NULL ? json_object_get_int_member_with_default(res, "vcpus", 1) : 1;
	return MAX(vcpus, 1) * AC_DEVNET_CREDITS_PER_VCPU_HOUR;
}

/* The network's payment rules on the later of the message's date and the CCN's clock, and
 * for credit INSTANCEs one hour of credit. -1000 when paid as the rules want. */
static gint64
ac_devnet_ccn_check_payment(AcDevnet *self, const AcAlephMessage *msg, JsonObject *co,
                            gchar **details)
{
	g_autoptr(GError) error = NULL;
	JsonObject *payment = obj_member(co, "payment");
	const gchar *ptype = payment != NULL
	                         ? json_object_get_string_member_with_default(payment, "type", "hold")
	                         : "hold"; /* aleph-message's default */
	gdouble when = MAX(msg->time, ac_devnet_ccn_clock(self));

	if (g_strcmp0(msg->type, "INSTANCE") != 0 && g_strcmp0(msg->type, "STORE") != 0)
		return -1000;
	if (!ac_payment_check(&self->knobs.payment_cutoffs, msg->type, ptype, when, &error)) {
		*details = g_strdup(error->message);
		return AC_ALEPH_ERROR_PAYMENT_REFUSED;
	}
	if (g_strcmp0(msg->type, "INSTANCE") == 0 && g_strcmp0(ptype, "credit") == 0) {
		gint64 cost = ac_devnet_instance_hourly_cost(co);
		gint64 have = ac_devnet_credits_get(self, msg->sender);
		if (have < cost) {
			*details = g_strdup_printf("credit balance %" G_GINT64_FORMAT
			                           " is below one hour of this instance (%" G_GINT64_FORMAT
			                           ")",
			                           have, cost);
			return ERR_CREDIT_INSUFFICIENT;
		}
	}
	return -1000;
}

/* returns the error code, or -1000 when the message is valid; @details gets the reason */
static gint64
ac_devnet_ccn_check(AcDevnet *self, const AcAlephMessage *msg, gchar **details)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *signer = NULL;
	g_autoptr(JsonNode) content = NULL;
	g_autoptr(JsonNode) normalized = NULL;
	JsonObject *co;
	const gchar *address;

	if (!ac_aleph_message_verify(msg, &signer, &error)) {
		*details = g_strdup(error->message);
		return ERR_INVALID_SIGNATURE;
	}
	content = ac_devnet_message_content(self, msg, &error);
	if (content == NULL && g_strcmp0(msg->item_type, "inline") != 0) {
		*details = g_strdup(error->message);
		return ERR_CONTENT_UNAVAILABLE;
	}
	if (content == NULL || !JSON_NODE_HOLDS_OBJECT(content)) {
		*details = g_strdup_printf("item_content: %s",
		                           error != NULL ? error->message : "not an object");
		return ERR_INVALID_FORMAT;
	}
	co = json_node_get_object(content);
	address = json_object_get_string_member_with_default(co, "address", NULL);
	if (address == NULL) {
		*details = g_strdup("content.address is missing");
		return ERR_INVALID_FORMAT;
	}
	if (!ac_eth_address_equal(address, msg->sender)
	    && !ac_devnet_is_delegate(self, address, msg->sender, msg->type)) {
		*details = g_strdup_printf("sender %s may not publish for address %s", msg->sender,
		                           address);
		return ERR_PERMISSION_DENIED;
	}
	if (ac_aleph_content_type_is_supported(msg->type)) {
		normalized = ac_aleph_content_normalize(msg->type, content, &error);
		if (normalized == NULL) {
			*details = g_strdup(error->message);
			return ERR_INVALID_FORMAT;
		}
	}
	{
		gint64 code = ac_devnet_ccn_check_payment(self, msg, co, details);
		if (code > -1000)
			return code;
	}
	if (g_strcmp0(msg->type, "STORE") == 0) {
		const gchar *h = json_object_get_string_member_with_default(co, "item_hash", NULL);
		g_autofree gchar *path
		    = h != NULL ? ac_devnet_store_get_file(self->store, h, NULL, NULL, NULL) : NULL;
		if (path == NULL) {
			*details = g_strdup_printf("file %s was never uploaded to this devnet",
			                           h != NULL ? h : "(none)");
			return ERR_FILE_UNAVAILABLE;
		}
	} else if (g_strcmp0(msg->type, "INSTANCE") == 0) {
		JsonObject *rootfs = obj_member(co, "rootfs");
		JsonObject *parent = obj_member(rootfs, "parent");
		const gchar *ref
		    = parent != NULL
		          ? json_object_get_string_member_with_default(parent, "ref", NULL)
		          : NULL;
		gint64 size_mib
		    = rootfs != NULL
		          ? json_object_get_int_member_with_default(rootfs, "size_mib", 0)
		          : 0;
		guint64 fsize = 0;
		g_autofree gchar *path = NULL;
		if (ref == NULL) {
			*details = g_strdup("rootfs.parent.ref is missing");
			return ERR_INVALID_FORMAT;
		}
		path = ac_devnet_store_message_file(self, ref, &fsize, &error);
		if (path == NULL) {
			*details = g_strdup_printf("rootfs.parent.ref %s: %s", ref, error->message);
			return ERR_VM_VOLUME_NOT_FOUND;
		}
		if (size_mib <= 0 || (guint64)size_mib * 1024 * 1024 < fsize) {
			*details = g_strdup_printf("rootfs.size_mib %" G_GINT64_FORMAT
			                           " MiB is smaller than "
			                           "the parent image (%" G_GUINT64_FORMAT " bytes)",
			                           size_mib, fsize);
			return ERR_VM_VOLUME_TOO_SMALL;
		}
	} else if (g_strcmp0(msg->type, "FORGET") == 0) {
		JsonNode *hn = json_object_get_member(co, "hashes");
		JsonArray *ha
		    = hn != NULL && JSON_NODE_HOLDS_ARRAY(hn) ? json_node_get_array(hn) : NULL;
		for (guint i = 0; ha != NULL && i < json_array_get_length(ha); i++) {
			const gchar *h = json_array_get_string_element(ha, i);
			g_autoptr(AcDevnetMessageRow) target
			    = h != NULL ? ac_devnet_store_get_message(self->store, h, NULL) : NULL;
			if (target != NULL && !ac_eth_address_equal(target->owner, msg->sender)) {
				*details = g_strdup_printf("%s may not forget %s", msg->sender, h);
				return ERR_FORGET_NOT_ALLOWED;
			}
		}
	}
	return -1000;
}

static void
ac_devnet_ccn_wake_waiters(AcDevnet *self, const gchar *item_hash, const gchar *status);

static void
ac_devnet_ccn_process_one(AcDevnet *self, const gchar *item_hash)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(AcDevnetMessageRow) row
	    = ac_devnet_store_get_message(self->store, item_hash, &error);
	g_autofree gchar *details = NULL;
	g_autofree gchar *djson = NULL;
	gint64 code;

	if (row == NULL || g_strcmp0(row->status, "pending") != 0)
		return;
	code = ac_devnet_ccn_check(self, row->msg, &details);
	if (code > -1000) {
		djson = details_json(details);
		g_debug("message %s rejected (%" G_GINT64_FORMAT "): %s", item_hash, code, details);
		if (!ac_devnet_store_set_status(self->store, item_hash, "rejected", code, djson,
		                                &error))
			g_warning("%s", error->message);
		ac_devnet_ccn_wake_waiters(self, item_hash, "rejected");
		return;
	}
	if (g_strcmp0(row->msg->type, "FORGET") == 0) {
		g_autoptr(JsonNode) content = ac_devnet_message_content(self, row->msg, NULL);
		JsonNode *hn = content != NULL
		                   ? json_object_get_member(json_node_get_object(content), "hashes")
		                   : NULL;
		JsonArray *ha
		    = hn != NULL && JSON_NODE_HOLDS_ARRAY(hn) ? json_node_get_array(hn) : NULL;
		for (guint i = 0; ha != NULL && i < json_array_get_length(ha); i++) {
			const gchar *h = json_array_get_string_element(ha, i);
			if (h != NULL
			    && !ac_devnet_store_set_forgotten(self->store, h, item_hash, &error)) {
				g_warning("%s", error->message);
				g_clear_error(&error);
			}
		}
	}
	if (!ac_devnet_store_set_status(self->store, item_hash, "processed", -2000, NULL, &error))
		g_warning("%s", error->message);
	ac_devnet_ccn_wake_waiters(self, item_hash, "processed");
}

void
ac_devnet_ccn_process_due(AcDevnet *self)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) due = NULL;
	if (self->store == NULL)
		return;
	due = ac_devnet_store_due_messages(self->store, ac_devnet_now(), &error);
	if (due == NULL) {
		g_warning("%s", error->message);
		return;
	}
	for (guint i = 0; i < due->len; i++)
		ac_devnet_ccn_process_one(self, g_ptr_array_index(due, i));
	ac_devnet_ccn_schedule(self);
}

static gboolean
process_cb(gpointer user_data)
{
	AcDevnet *self = user_data;
	self->process_source = 0;
	ac_devnet_ccn_process_due(self);
	return G_SOURCE_REMOVE;
}

void
ac_devnet_ccn_schedule(AcDevnet *self)
{
	gdouble next;
	gdouble delay;
	if (self->process_source != 0) {
		g_source_remove(self->process_source);
		self->process_source = 0;
	}
	if (self->store == NULL)
		return;
	next = ac_devnet_store_next_due(self->store);
	if (next < 0)
		return;
	delay = MAX(0, (next - ac_devnet_now()) * 1000.0) + 1;
	self->process_source = g_timeout_add((guint)MIN(delay, 3600 * 1000.0), process_cb, self);
}

/* ---- sync waiters ---- */

static void
waiter_free(AcDevnetWaiter *w)
{
	if (w->timeout_id != 0)
		g_source_remove(w->timeout_id);
	g_object_unref(w->msg);
	g_free(w->item_hash);
	g_free(w);
}

static void
waiter_reply(AcDevnetWaiter *w, const gchar *status)
{
	g_autoptr(JsonNode) node = post_result_json(status);
	ac_devnet_reply_json(w->msg, status_to_http(status), node);
	soup_server_message_unpause(w->msg);
}

static gboolean
waiter_timeout_cb(gpointer user_data)
{
	AcDevnetWaiter *w = user_data;
	GPtrArray *list = g_hash_table_lookup(w->devnet->waiters, w->item_hash);
	w->timeout_id = 0;
	waiter_reply(w, "pending");
	if (list != NULL)
		g_ptr_array_remove(list, w); /* frees it */
	return G_SOURCE_REMOVE;
}

static void
ac_devnet_ccn_wake_waiters(AcDevnet *self, const gchar *item_hash, const gchar *status)
{
	GPtrArray *list = g_hash_table_lookup(self->waiters, item_hash);
	if (list == NULL)
		return;
	for (guint i = 0; i < list->len; i++)
		waiter_reply(g_ptr_array_index(list, i), status);
	g_hash_table_remove(self->waiters, item_hash);
}

void
ac_devnet_ccn_cancel_waiters(AcDevnet *self)
{
	GHashTableIter it;
	gpointer value;
	g_hash_table_iter_init(&it, self->waiters);
	while (g_hash_table_iter_next(&it, NULL, &value)) {
		GPtrArray *list = value;
		for (guint i = 0; i < list->len; i++)
			waiter_reply(g_ptr_array_index(list, i), "pending");
	}
	g_hash_table_remove_all(self->waiters);
}

static void
ac_devnet_ccn_wait(AcDevnet *self, SoupServerMessage *msg, const gchar *item_hash)
{
	AcDevnetWaiter *w = g_new0(AcDevnetWaiter, 1);
	GPtrArray *list = g_hash_table_lookup(self->waiters, item_hash);
	if (list == NULL) {
		list = g_ptr_array_new_with_free_func((GDestroyNotify)waiter_free);
		g_hash_table_insert(self->waiters, g_strdup(item_hash), list);
	}
	w->msg = g_object_ref(msg);
	w->devnet = self;
	w->item_hash = g_strdup(item_hash);
	w->timeout_id = g_timeout_add(AC_DEVNET_SYNC_TIMEOUT_MS, waiter_timeout_cb, w);
	g_ptr_array_add(list, w);
	soup_server_message_pause(msg);
}

/* ---- POST /api/v0/messages and the metadata of uploads ---- */

static gboolean
format_check(const AcAlephMessage *m, GError **error)
{
	if (g_strcmp0(m->item_type, "inline") == 0) {
		g_autofree gchar *h = NULL;
		if (m->item_content == NULL) {
			g_set_error_literal(error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			                    "inline message without item_content");
			return FALSE;
		}
		if (strlen(m->item_content) > AC_ALEPH_MAX_INLINE_SIZE) {
			g_set_error(error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			            "item_content is longer than %u characters",
			            AC_ALEPH_MAX_INLINE_SIZE);
			return FALSE;
		}
		h = ac_aleph_sha256_hex((const guint8 *)m->item_content, strlen(m->item_content));
		if (g_strcmp0(h, m->item_hash) != 0) {
			g_set_error(error, AC_ERROR, AC_ERROR_MISMATCH,
			            "item_hash %s is not sha256(item_content) %s", m->item_hash, h);
			return FALSE;
		}
	} else if (m->item_content != NULL || !ac_item_hash_is_valid(m->item_hash)) {
		g_set_error(error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		            "%s message: item_hash or item_content is invalid", m->item_type);
		return FALSE;
	}
	if (!isfinite(m->time) || m->time < 0 || m->time > 9223372036.0) {
		g_set_error_literal(error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		                    "message time is out of range");
		return FALSE;
	}
	return TRUE;
}

/* Accepts a message: FALSE with the 422 text when its envelope is malformed. @status_out gets
 * the status after (possibly immediate) processing. */
static gboolean
ac_devnet_ccn_accept(AcDevnet *self, AcAlephMessage *m, gchar **status_out, GError **error)
{
	g_autoptr(GError) error_local = NULL;
	g_autoptr(AcDevnetMessageRow) existing = NULL;
	g_autoptr(JsonNode) content = NULL;
	const gchar *owner = NULL;
	const gchar *ref = NULL;
	gdouble now = ac_devnet_now();

	if (!format_check(m, error))
		return FALSE;
	existing = ac_devnet_store_get_message(self->store, m->item_hash, NULL);
	/* pyaleph processes a new copy of a rejected message again (rejected → pending): its
	 * envelope (signature, sender) may be right this time, the item_hash being the content's */
	if (existing != NULL && g_strcmp0(existing->status, "rejected") != 0) {
		*status_out = g_strdup(existing->status);
		return TRUE;
	}
	g_clear_pointer(&existing, ac_devnet_message_row_free);
	content = ac_devnet_message_content(self, m, NULL);
	if (content != NULL && JSON_NODE_HOLDS_OBJECT(content)) {
		owner = json_object_get_string_member_with_default(json_node_get_object(content),
		                                                   "address", NULL);
		ref = json_object_get_string_member_with_default(json_node_get_object(content),
		                                                 "ref", NULL);
	}
	if (!ac_devnet_store_insert_message(self->store, m, now,
	                                    now + self->knobs.processing_delay_ms / 1000.0, owner,
	                                    ref, &error_local)) {
		g_set_error(error, AC_ERROR, AC_ERROR_INTERNAL, "%s", error_local->message);
		return FALSE;
	}
	if (self->knobs.processing_delay_ms == 0)
		ac_devnet_ccn_process_one(self, m->item_hash);
	else
		ac_devnet_ccn_schedule(self);
	existing = ac_devnet_store_get_message(self->store, m->item_hash, NULL);
	*status_out = g_strdup(existing != NULL ? existing->status : "pending");
	return TRUE;
}

/* answers with the broadcast result; FALSE when it paused @msg to wait (sync) */
static gboolean
ac_devnet_ccn_reply_posted(AcDevnet *self,
                           SoupServerMessage *msg,
                           const gchar *item_hash,
                           const gchar *status,
                           gboolean sync,
                           JsonNode *extra)
{
	g_autoptr(JsonNode) node = NULL;
	if (sync && g_strcmp0(status, "pending") == 0 && extra == NULL) {
		ac_devnet_ccn_wait(self, msg, item_hash);
		return FALSE;
	}
	if (extra != NULL) {
		ac_devnet_reply_json(msg, status_to_http(status), extra);
		return TRUE;
	}
	node = post_result_json(status);
	ac_devnet_reply_json(msg, status_to_http(status), node);
	return TRUE;
}

static gboolean
ccn_post_message(AcDevnet *self, SoupServerMessage *msg)
{
	g_autoptr(GBytes) body = ac_devnet_request_body(msg);
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonNode) root = NULL;
	g_autoptr(AcAlephMessage) m = NULL;
	g_autofree gchar *status = NULL;
	JsonNode *mnode;
	JsonNode *syncn;
	gboolean sync = FALSE;
	gsize len = 0;
	const gchar *data = g_bytes_get_data(body, &len);

	root = ac_json_parse_untrusted("request", data, len, &error);
	if (root == NULL || !JSON_NODE_HOLDS_OBJECT(root)) {
		ac_devnet_reply_text(msg, 422, "InvalidMessageFormat");
		return TRUE;
	}
	mnode = json_object_get_member(json_node_get_object(root), "message");
	syncn = json_object_get_member(json_node_get_object(root), "sync");
	if (syncn != NULL && JSON_NODE_HOLDS_VALUE(syncn)
	    && json_node_get_value_type(syncn) == G_TYPE_BOOLEAN)
		sync = json_node_get_boolean(syncn);
	if (mnode == NULL || (m = ac_aleph_message_from_json(mnode, &error)) == NULL
	    || !ac_devnet_ccn_accept(self, m, &status, &error)) {
		g_debug("POST /api/v0/messages: %s", error != NULL ? error->message : "no message");
		ac_devnet_reply_text(msg, 422, "InvalidMessageFormat");
		return TRUE;
	}
	return ac_devnet_ccn_reply_posted(self, msg, m->item_hash, status, sync, NULL);
}

/* ---- GET messages ---- */

static void
ccn_get_message(AcDevnet *self, SoupServerMessage *msg, const gchar *path)
{
	const gchar *rest = path + strlen("/api/v0/messages/");
	g_autofree gchar *hash = NULL;
	gboolean status_only = FALSE;
	g_autoptr(AcDevnetMessageRow) row = NULL;
	g_autoptr(JsonNode) node = NULL;

	if (g_str_has_suffix(rest, "/status")) {
		hash = g_strndup(rest, strlen(rest) - strlen("/status"));
		status_only = TRUE;
	} else {
		hash = g_strdup(rest);
	}
	if (!ac_item_hash_is_valid(hash)) {
		ac_devnet_reply_error(msg, 422, "'%s' is not an item hash", hash);
		return;
	}
	ac_devnet_ccn_process_due(self);
	row = ac_devnet_store_get_message(self->store, hash, NULL);
	if (row == NULL) {
		ac_devnet_reply_error(msg, 404, "Message not found");
		return;
	}
	node = message_info_json(self, row, status_only);
	ac_devnet_reply_json(msg, 200, node);
}

static gchar **
query_list(GHashTable *query, const gchar *name)
{
	const gchar *v = query != NULL ? g_hash_table_lookup(query, name) : NULL;
	g_auto(GStrv) parts = NULL;
	g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func(g_free);
	if (v == NULL || v[0] == '\0')
		return NULL;
	parts = g_strsplit(v, ",", 1000);
	for (guint i = 0; parts[i] != NULL; i++) {
		g_strstrip(parts[i]);
		if (parts[i][0] != '\0')
			g_ptr_array_add(out, g_strdup(parts[i]));
	}
	g_ptr_array_add(out, NULL);
	return (gchar **)g_ptr_array_free(g_steal_pointer(&out), FALSE);
}

static guint
query_uint(GHashTable *query, const gchar *name, guint def, guint max)
{
	const gchar *v = query != NULL ? g_hash_table_lookup(query, name) : NULL;
	guint64 out = def;
	if (v == NULL || !g_ascii_string_to_unsigned(v, 10, 0, max, &out, NULL))
		return def;
	return (guint)out;
}

static void
ccn_messages_json(AcDevnet *self, SoupServerMessage *msg, GHashTable *query)
{
	g_auto(GStrv) hashes = query_list(query, "hashes");
	g_auto(GStrv) types = query_list(query, "msgTypes");
	g_auto(GStrv) type1 = query_list(query, "msgType");
	g_auto(GStrv) addresses = query_list(query, "addresses");
	g_auto(GStrv) refs = query_list(query, "refs");
	g_auto(GStrv) channels = query_list(query, "channels");
	const gchar *sort = query != NULL ? g_hash_table_lookup(query, "sortOrder") : NULL;
	AcDevnetQuery q = {
		.hashes = hashes,
		.types = types != NULL ? types : type1,
		.addresses = addresses,
		.refs = refs,
		.channels = channels,
		.ascending = g_strcmp0(sort, "1") == 0,
		.page = query_uint(query, "page", 1, 1000000),
		.per_page = query_uint(query, "pagination", 20, 10000),
	};
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) rows = NULL;
	g_autoptr(JsonNode) node = json_node_new(JSON_NODE_OBJECT);
	JsonObject *o = json_object_new();
	JsonArray *arr = json_array_new();
	guint total = 0;

	json_node_take_object(node, o);
	json_object_set_array_member(o, "messages", arr);
	ac_devnet_ccn_process_due(self);
	rows = ac_devnet_store_query(self->store, &q, &total, &error);
	if (rows == NULL) {
		ac_devnet_reply_error(msg, 500, "%s", error->message);
		return;
	}
	for (guint i = 0; i < rows->len; i++)
		json_array_add_element(
		    arr, ac_devnet_message_to_api_json(self, g_ptr_array_index(rows, i)));
	json_object_set_int_member(o, "pagination_page", MAX(q.page, 1));
	json_object_set_int_member(o, "pagination_total", total);
	json_object_set_int_member(o, "pagination_per_page", q.per_page > 0 ? q.per_page : 20);
	json_object_set_string_member(o, "pagination_item", "messages");
	ac_devnet_reply_json(msg, 200, node);
}

/* ---- uploads ---- */

typedef struct {
	GBytes *file;
	gchar *filename;
	GBytes *metadata;
} AcDevnetUploadParts;

static void
upload_parts_clear(AcDevnetUploadParts *p)
{
	g_clear_pointer(&p->file, g_bytes_unref);
	g_clear_pointer(&p->metadata, g_bytes_unref);
	g_clear_pointer(&p->filename, g_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(AcDevnetUploadParts, upload_parts_clear)

static gboolean
upload_parse(SoupServerMessage *msg, gboolean allow_raw, AcDevnetUploadParts *parts, GError **error)
{
	SoupMessageHeaders *h = soup_server_message_get_request_headers(msg);
	g_autoptr(GBytes) body = ac_devnet_request_body(msg);
	const gchar *ctype = soup_message_headers_get_content_type(h, NULL);
	SoupMultipart *mp;

	if (ctype == NULL || g_ascii_strcasecmp(ctype, "multipart/form-data") != 0) {
		if (!allow_raw) {
			g_set_error(error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			            "expected multipart/form-data with a \"file\" part, got %s",
			            ctype != NULL ? ctype : "no Content-Type");
			return FALSE;
		}
		parts->file = g_bytes_ref(body);
		return TRUE;
	}
	mp = soup_multipart_new_from_message(h, body);
	if (mp == NULL) {
		g_set_error_literal(error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		                    "the multipart body is malformed");
		return FALSE;
	}
	for (int i = 0; i < soup_multipart_get_length(mp); i++) {
		SoupMessageHeaders *ph = NULL;
		GBytes *pb = NULL;
		g_autofree gchar *disposition = NULL;
		GHashTable *params = NULL;
		const gchar *name;
		if (!soup_multipart_get_part(mp, i, &ph, &pb))
			continue;
		if (!soup_message_headers_get_content_disposition(ph, &disposition, &params))
			continue;
		name = g_hash_table_lookup(params, "name");
		if (g_strcmp0(name, "file") == 0 && parts->file == NULL) {
			parts->file = g_bytes_ref(pb);
			parts->filename = g_strdup(g_hash_table_lookup(params, "filename"));
		} else if (g_strcmp0(name, "metadata") == 0 && parts->metadata == NULL) {
			parts->metadata = g_bytes_ref(pb);
		}
		g_hash_table_unref(params);
	}
	soup_multipart_free(mp);
	if (parts->file == NULL) {
		g_set_error_literal(error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		                    "the multipart body has no \"file\" part");
		return FALSE;
	}
	return TRUE;
}

/* the STORE message in a metadata part: {"message": {...}, "sync": bool} */
static AcAlephMessage *
upload_metadata(GBytes *metadata,
                const gchar *item_type,
                const gchar *file_hash,
                gboolean *sync,
                GError **error)
{
	gsize len = 0;
	const gchar *data = g_bytes_get_data(metadata, &len);
	g_autoptr(JsonNode) root = ac_json_parse_untrusted("metadata", data, len, error);
	g_autoptr(AcAlephMessage) m = NULL;
	g_autoptr(JsonNode) content = NULL;
	JsonNode *syncn;
	JsonObject *co;
	if (root == NULL)
		return NULL;
	if (!JSON_NODE_HOLDS_OBJECT(root)
	    || !json_object_has_member(json_node_get_object(root), "message")) {
		g_set_error_literal(error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		                    "metadata: no \"message\" object");
		return NULL;
	}
	syncn = json_object_get_member(json_node_get_object(root), "sync");
	if (syncn != NULL && JSON_NODE_HOLDS_VALUE(syncn)
	    && json_node_get_value_type(syncn) == G_TYPE_BOOLEAN)
		*sync = json_node_get_boolean(syncn);
	m = ac_aleph_message_from_json(
	    json_object_get_member(json_node_get_object(root), "message"), error);
	if (m == NULL)
		return NULL;
	if (g_strcmp0(m->type, "STORE") != 0) {
		g_set_error(error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		            "metadata: message type %s, expected STORE", m->type);
		return NULL;
	}
	content = ac_aleph_message_get_content(m, error);
	if (content == NULL)
		return NULL;
	if (!JSON_NODE_HOLDS_OBJECT(content)) {
		g_set_error_literal(error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		                    "metadata: STORE content is not an object");
		return NULL;
	}
	co = json_node_get_object(content);
	if (g_strcmp0(json_object_get_string_member_with_default(co, "item_hash", NULL), file_hash)
	    != 0) {
		g_set_error(error, AC_ERROR, AC_ERROR_MISMATCH,
		            "metadata: STORE item_hash %s differs from the uploaded file's %s",
		            json_object_get_string_member_with_default(co, "item_hash", "(none)"),
		            file_hash);
		return NULL;
	}
	if (g_strcmp0(json_object_get_string_member_with_default(co, "item_type", NULL), item_type)
	    != 0) {
		g_set_error(error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		            "metadata: STORE item_type %s, expected %s",
		            json_object_get_string_member_with_default(co, "item_type", "(none)"),
		            item_type);
		return NULL;
	}
	return g_steal_pointer(&m);
}

static gboolean
save_file(AcDevnet *self,
          const gchar *hash,
          const gchar *kind,
          GBytes *data,
          const gchar *tmp_path,
          GError **error)
{
	g_autofree gchar *path = g_build_filename(self->files_dir, hash, NULL);
	gsize len = 0;
	const gchar *p = data != NULL ? g_bytes_get_data(data, &len) : NULL;
	if (tmp_path != NULL) {
		struct stat st;
		if (g_rename(tmp_path, path) != 0 || g_stat(path, &st) != 0) {
			g_set_error(error, AC_ERROR, AC_ERROR_IO, "storing %s: %s", path,
			            g_strerror(errno));
			return FALSE;
		}
		len = (gsize)st.st_size;
	} else {
		g_autoptr(GError) error_local = NULL;
		if (!g_file_set_contents_full(path, p != NULL ? p : "", (gssize)len,
		                              G_FILE_SET_CONTENTS_NONE, 0600, &error_local)) {
			g_set_error(error, AC_ERROR, AC_ERROR_IO, "%s", error_local->message);
			return FALSE;
		}
	}
	return ac_devnet_store_put_file(self->store, hash, kind, len, path, error);
}

static JsonNode *
upload_result(const gchar *hash, const gchar *name, gint64 size)
{
	g_autoptr(JsonBuilder) b = json_builder_new();
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "status");
	json_builder_add_string_value(b, "success");
	json_builder_set_member_name(b, "hash");
	json_builder_add_string_value(b, hash);
	if (name != NULL) {
		json_builder_set_member_name(b, "name");
		json_builder_add_string_value(b, name);
	}
	if (size >= 0) {
		json_builder_set_member_name(b, "size");
		json_builder_add_int_value(b, size);
	}
	json_builder_end_object(b);
	return json_builder_get_root(b);
}

static gchar *
unixfs_cid(GBytes *data, GError **error)
{
	g_autoptr(AcUnixfsBuilder) ub = ac_unixfs_builder_new(NULL, NULL);
	guint8 root[AC_CID_V0_LEN];
	gsize len = 0;
	const guint8 *p = g_bytes_get_data(data, &len);
	if (!ac_unixfs_builder_update(ub, p, len, error)
	    || !ac_unixfs_builder_finish(ub, root, NULL, error))
		return NULL;
	return ac_cid_v0_to_string(root);
}

static gboolean
ccn_upload(AcDevnet *self, AcDevnetEndpoint ep, SoupServerMessage *msg)
{
	g_auto(AcDevnetUploadParts) parts = { 0 };
	g_autoptr(GError) error = NULL;
	g_autofree gchar *hash = NULL;
	g_autofree gchar *tmp_path = NULL;
	g_autoptr(AcAlephMessage) store = NULL;
	g_autofree gchar *status = NULL;
	g_autoptr(JsonNode) result = NULL;
	const gchar *kind = ep == AC_DEVNET_EP_STORAGE_ADD_FILE ? "storage" : "ipfs";
	gboolean sync = FALSE;
	guint64 size = 0;

	if (!upload_parse(msg, ep == AC_DEVNET_EP_STORAGE_ADD_FILE, &parts, &error)) {
		ac_devnet_reply_error(msg, 422, "%s", error->message);
		return TRUE;
	}
	size = g_bytes_get_size(parts.file);
	if (ep != AC_DEVNET_EP_IPFS_ADD_CAR && size > self->max_upload) {
		ac_devnet_reply_error(msg, 413,
		                      "file of %" G_GUINT64_FORMAT
		                      " bytes is larger than the %" G_GUINT64_FORMAT "-byte limit",
		                      size, self->max_upload);
		return TRUE;
	}
	if (ep == AC_DEVNET_EP_STORAGE_ADD_FILE) {
		gsize len = 0;
		const guint8 *p = g_bytes_get_data(parts.file, &len);
		hash = ac_aleph_sha256_hex(p, len);
	} else if (ep == AC_DEVNET_EP_IPFS_ADD_FILE) {
		hash = unixfs_cid(parts.file, &error);
	} else {
		/* the CAR's file goes to a temporary, renamed once the root is accepted */
		g_autoptr(GFileOutputStream) out = NULL;
		g_autoptr(GFile) f = NULL;
		gsize len = 0;
		const guint8 *p = g_bytes_get_data(parts.file, &len);
		int fd;
		tmp_path = g_build_filename(self->work_dir, "car-XXXXXX", NULL);
		fd = g_mkstemp_full(tmp_path, O_RDWR | O_CLOEXEC, 0600);
		if (fd < 0) {
			ac_devnet_reply_error(msg, 500, "creating %s: %s", tmp_path,
			                      g_strerror(errno));
			return TRUE;
		}
		close(fd);
		f = g_file_new_for_path(tmp_path);
		out = g_file_replace(f, NULL, FALSE, G_FILE_CREATE_PRIVATE, NULL, &error);
		if (out != NULL)
			hash = ac_devnet_car_extract(p, len, self->max_upload, G_OUTPUT_STREAM(out),
			                             &size, &error);
		if (out != NULL
		    && !g_output_stream_close(G_OUTPUT_STREAM(out), NULL,
		                              hash != NULL ? &error : NULL))
			g_clear_pointer(&hash, g_free);
	}
	if (hash == NULL) {
		if (tmp_path != NULL)
			g_unlink(tmp_path);
		ac_devnet_reply_error(msg, 422, "%s", error->message);
		return TRUE;
	}
	if (parts.metadata != NULL) {
		store = upload_metadata(parts.metadata, kind, hash, &sync, &error);
		if (store == NULL) {
			if (tmp_path != NULL)
				g_unlink(tmp_path);
			ac_devnet_reply_error(msg, 422, "%s", error->message);
			return TRUE;
		}
	}
	if (!save_file(self, hash, kind, tmp_path == NULL ? parts.file : NULL, tmp_path, &error)) {
		if (tmp_path != NULL)
			g_unlink(tmp_path);
		ac_devnet_reply_error(msg, 500, "%s", error->message);
		return TRUE;
	}
	result = upload_result(hash,
	                       ep == AC_DEVNET_EP_STORAGE_ADD_FILE
	                           ? NULL
	                           : (parts.filename != NULL ? parts.filename : hash),
	                       ep == AC_DEVNET_EP_STORAGE_ADD_FILE ? -1 : (gint64)size);
	if (store == NULL) {
		ac_devnet_reply_json(msg, 200, result);
		return TRUE;
	}
	if (!ac_devnet_ccn_accept(self, store, &status, &error)) {
		ac_devnet_reply_text(msg, 422, "InvalidMessageFormat");
		return TRUE;
	}
	if (g_strcmp0(status, "rejected") == 0) {
		g_autoptr(AcDevnetMessageRow) row
		    = ac_devnet_store_get_message(self->store, store->item_hash, NULL);
		ac_devnet_reply_error(msg, 422, "STORE message rejected: %s",
		                      row != NULL && row->details != NULL ? row->details : "?");
		return TRUE;
	}
	/* pyaleph answers with the upload result and the broadcast's status code */
	ac_devnet_reply_json(msg, status_to_http(status), result);
	return TRUE;
}

static void
ccn_add_json(AcDevnet *self, SoupServerMessage *msg, gboolean ipfs)
{
	g_autoptr(GBytes) body = ac_devnet_request_body(msg);
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonNode) node = NULL;
	g_autoptr(JsonNode) result = NULL;
	g_autofree gchar *hash = NULL;
	gsize len = 0;
	const gchar *data = g_bytes_get_data(body, &len);

	if (len > AC_DEVNET_MAX_JSON_CONTENT) {
		ac_devnet_reply_error(msg, 413,
		                      "JSON of %" G_GSIZE_FORMAT " bytes is larger than %u", len,
		                      AC_DEVNET_MAX_JSON_CONTENT);
		return;
	}
	node = ac_json_parse_untrusted("add_json", data, len, &error);
	if (node == NULL) {
		ac_devnet_reply_error(msg, 422, "%s", error->message);
		return;
	}
	hash = ipfs ? unixfs_cid(body, &error) : ac_aleph_sha256_hex((const guint8 *)data, len);
	if (hash == NULL || !save_file(self, hash, ipfs ? "ipfs" : "storage", body, NULL, &error)) {
		ac_devnet_reply_error(msg, 500, "%s", error->message);
		return;
	}
	result = upload_result(hash, NULL, -1);
	ac_devnet_reply_json(msg, 200, result);
}

static void
ccn_raw(AcDevnet *self, SoupServerMessage *msg, const gchar *path)
{
	const gchar *hash = g_str_has_prefix(path, "/ipfs/")
	                        ? path + strlen("/ipfs/")
	                        : path + strlen("/api/v0/storage/raw/");
	g_autofree gchar *file = NULL;
	g_autoptr(GMappedFile) mf = NULL;
	g_autoptr(GBytes) bytes = NULL;
	g_autoptr(GError) error = NULL;

	if (!ac_item_hash_is_valid(hash)) {
		ac_devnet_reply_error(msg, 422, "'%s' is not a file hash", hash);
		return;
	}
	file = ac_devnet_store_get_file(self->store, hash, NULL, NULL, NULL);
	if (file == NULL) {
		ac_devnet_reply_error(msg, 404, "File not found");
		return;
	}
	mf = g_mapped_file_new(file, FALSE, &error);
	if (mf == NULL) {
		ac_devnet_reply_error(msg, 500, "%s", error->message);
		return;
	}
	bytes = g_mapped_file_get_bytes(mf);
	soup_server_message_set_status(msg, 200, NULL);
	soup_message_headers_replace(soup_server_message_get_response_headers(msg), "Content-Type",
	                             "application/octet-stream");
	soup_message_body_append_bytes(soup_server_message_get_response_body(msg), bytes);
}

/* ---- aggregates (the "security" key carries delegations) ---- */

JsonObject *
ac_devnet_aggregates(AcDevnet *self, const gchar *address, gchar **keys)
{
	gchar *types[] = { (gchar *)"AGGREGATE", NULL };
	gchar *addresses[] = { (gchar *)address, NULL };
	AcDevnetQuery q
	    = { .types = types, .addresses = addresses, .ascending = TRUE, .per_page = 10000 };
	g_autoptr(GPtrArray) rows = ac_devnet_store_query(self->store, &q, NULL, NULL);
	g_autoptr(JsonObject) data = json_object_new();

	if (rows == NULL)
		return NULL;
	/* oldest first: later messages update the members of earlier ones (pyaleph's merge) */
	for (guint i = 0; i < rows->len; i++) {
		AcDevnetMessageRow *row = g_ptr_array_index(rows, i);
		g_autoptr(JsonNode) c = ac_devnet_message_content(self, row->msg, NULL);
		JsonObject *co;
		const gchar *key;
		JsonNode *val;
		JsonObject *merged;
		GList *members;
		if (c == NULL || !JSON_NODE_HOLDS_OBJECT(c))
			continue;
		co = json_node_get_object(c);
		key = json_object_get_string_member_with_default(co, "key", NULL);
		val = json_object_get_member(co, "content");
		if (key == NULL || val == NULL || !JSON_NODE_HOLDS_OBJECT(val)
		    || !ac_eth_address_equal(
		        json_object_get_string_member_with_default(co, "address", ""), address))
			continue;
		if (keys != NULL && !g_strv_contains((const gchar *const *)keys, key))
			continue;
		if (!json_object_has_member(data, key))
			json_object_set_object_member(data, key, json_object_new());
		merged = json_object_get_object_member(data, key);
		members = json_object_get_members(json_node_get_object(val));
		for (GList *l = members; l != NULL; l = l->next)
			json_object_set_member(merged, l->data,
			                       json_node_copy(json_object_get_member(
			                           json_node_get_object(val), l->data)));
		g_list_free(members);
	}
	if (json_object_get_size(data) == 0)
		return NULL;
	return g_steal_pointer(&data);
}

gboolean
ac_devnet_is_delegate(AcDevnet *self, const gchar *owner, const gchar *sender, const gchar *type)
{
	gchar *keys[] = { (gchar *)"security", NULL };
	g_autoptr(JsonObject) data = owner != NULL ? ac_devnet_aggregates(self, owner, keys) : NULL;
	JsonObject *sec = data != NULL ? json_object_get_object_member(data, "security") : NULL;
	JsonNode *an = sec != NULL ? json_object_get_member(sec, "authorizations") : NULL;
	JsonArray *auths = an != NULL && JSON_NODE_HOLDS_ARRAY(an) ? json_node_get_array(an) : NULL;

	for (guint i = 0; auths != NULL && i < json_array_get_length(auths); i++) {
		JsonNode *e = json_array_get_element(auths, i);
		JsonObject *eo = JSON_NODE_HOLDS_OBJECT(e) ? json_node_get_object(e) : NULL;
		JsonNode *tn;
		JsonArray *types;
		gboolean type_ok = FALSE;
		if (eo == NULL
		    || !ac_eth_address_equal(
		        json_object_get_string_member_with_default(eo, "address", ""), sender))
			continue;
		tn = json_object_get_member(eo, "types");
		types = tn != NULL && JSON_NODE_HOLDS_ARRAY(tn) ? json_node_get_array(tn) : NULL;
		if (types == NULL || json_array_get_length(types) == 0)
			return TRUE;
		for (guint j = 0; j < json_array_get_length(types) && !type_ok; j++)
			type_ok = g_strcmp0(json_array_get_string_element(types, j), type) == 0;
		if (type_ok)
			return TRUE;
	}
	return FALSE;
}

static void
ccn_aggregates(AcDevnet *self, SoupServerMessage *msg, const gchar *path, GHashTable *query)
{
	g_autofree gchar *address
	    = g_strndup(path + strlen("/api/v0/aggregates/"),
	                strlen(path) - strlen("/api/v0/aggregates/") - strlen(".json"));
	g_auto(GStrv) keys = query_list(query, "keys");
	g_autoptr(JsonObject) data = NULL;
	g_autoptr(JsonNode) node = json_node_new(JSON_NODE_OBJECT);
	JsonObject *o = json_object_new();
	guint8 raw[AC_ETH_ADDRESS_LEN];

	json_node_take_object(node, o);
	if (!ac_eth_address_parse(address, raw, NULL)) {
		ac_devnet_reply_error(msg, 422, "'%s' is not an address", address);
		return;
	}
	ac_devnet_ccn_process_due(self);
	data = ac_devnet_aggregates(self, address, keys);
	if (data == NULL) {
		ac_devnet_reply_error(msg, 404, "No aggregate found");
		return;
	}
	json_object_set_string_member(o, "address", address);
	json_object_set_object_member(o, "data", g_steal_pointer(&data));
	ac_devnet_reply_json(msg, 200, node);
}

/* ---- CRN list ---- */

JsonNode *
ac_devnet_crn_list_json(AcDevnet *self)
{
	g_autoptr(JsonBuilder) b = json_builder_new();
	g_autofree gchar *now = ac_devnet_iso8601(ac_devnet_now());
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "last_refresh");
	json_builder_add_string_value(b, now);
	json_builder_set_member_name(b, "crns");
	json_builder_begin_array(b);
	for (guint i = 0; i < self->n_crns; i++) {
		AcDevnetCrn *crn = self->crns[i];
		json_builder_begin_object(b);
		json_builder_set_member_name(b, "hash");
		json_builder_add_string_value(b, crn->hash);
		json_builder_set_member_name(b, "name");
		json_builder_add_string_value(b, crn->name);
		json_builder_set_member_name(b, "address");
		json_builder_add_string_value(b, crn->url);
		json_builder_set_member_name(b, "version");
		json_builder_add_string_value(b, "devnet-" PACKAGE_VERSION);
		json_builder_set_member_name(b, "confidential_support");
		json_builder_add_boolean_value(b, TRUE);
		json_builder_set_member_name(b, "qemu_support");
		json_builder_add_boolean_value(b, TRUE);
		json_builder_set_member_name(b, "gpu_support");
		json_builder_add_boolean_value(b, FALSE);
		json_builder_set_member_name(b, "payment_receiver_address");
		json_builder_add_string_value(b, ac_eth_account_get_address(self->account));
		json_builder_set_member_name(b, "stream_reward");
		json_builder_add_string_value(b, ac_eth_account_get_address(self->account));
		json_builder_set_member_name(b, "terms_and_conditions");
		json_builder_add_string_value(b, "");
		json_builder_set_member_name(b, "inactive_since");
		json_builder_add_null_value(b);
		json_builder_set_member_name(b, "system_usage");
		json_builder_begin_object(b);
		json_builder_set_member_name(b, "properties");
		json_builder_begin_object(b);
		json_builder_set_member_name(b, "cpu");
		json_builder_begin_object(b);
		json_builder_set_member_name(b, "architecture");
		json_builder_add_string_value(b, "x86_64");
		json_builder_set_member_name(b, "vendor");
		json_builder_add_string_value(b, "AuthenticAMD");
		json_builder_set_member_name(b, "features");
		json_builder_begin_array(b);
		json_builder_add_string_value(b, "sev");
		json_builder_add_string_value(b, "sev_es");
		json_builder_end_array(b);
		json_builder_end_object(b);
		json_builder_end_object(b);
		json_builder_end_object(b);
		json_builder_end_object(b);
	}
	json_builder_end_array(b);
	json_builder_end_object(b);
	return json_builder_get_root(b);
}

/* ---- the firmware STORE published at startup ---- */

gboolean
ac_devnet_publish_firmware(AcDevnet *self, GError **error)
{
	g_autoptr(GMappedFile) mf = NULL;
	g_autoptr(GError) error_local = NULL;
	g_autoptr(GBytes) bytes = NULL;
	g_autoptr(JsonBuilder) b = json_builder_new();
	g_autoptr(JsonNode) content = NULL;
	g_autoptr(AcAlephMessage) m = NULL;
	g_autofree gchar *status = NULL;
	g_autofree gchar *marker = g_build_filename(self->state_dir, "firmware-store.txt", NULL);
	g_autofree gchar *known = NULL;
	gsize len = 0;
	const guint8 *p;

	mf = g_mapped_file_new(self->firmware_src, FALSE, &error_local);
	if (mf == NULL) {
		g_set_error(error, AC_ERROR, AC_ERROR_NOT_FOUND,
		            "devnet firmware %s: %s (install the ovmf package or set \"firmware\")",
		            self->firmware_src, error_local->message);
		return FALSE;
	}
	bytes = g_mapped_file_get_bytes(mf);
	p = g_bytes_get_data(bytes, &len);
	if (len == 0 || len % 16 != 0 || len > 64 * 1024 * 1024) {
		g_set_error(error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		            "devnet firmware %s: %" G_GSIZE_FORMAT
		            " bytes, expected a non-empty multiple of 16 up to 64 MiB",
		            self->firmware_src, len);
		return FALSE;
	}
	self->firmware_sha256 = ac_aleph_sha256_hex(p, len);
	if (!save_file(self, self->firmware_sha256, "storage", bytes, NULL, error))
		return FALSE;
	self->firmware_path
	    = ac_devnet_store_get_file(self->store, self->firmware_sha256, NULL, NULL, error);
	if (self->firmware_path == NULL)
		return FALSE;

	/* one STORE per firmware file and state directory */
	if (g_file_get_contents(marker, &known, NULL, NULL)) {
		g_auto(GStrv) f = g_strsplit(g_strstrip(known), " ", 2);
		if (g_strv_length(f) == 2 && g_strcmp0(f[0], self->firmware_sha256) == 0
		    && ac_item_hash_is_valid(f[1])) {
			g_autoptr(AcDevnetMessageRow) row
			    = ac_devnet_store_get_message(self->store, f[1], NULL);
			if (row != NULL && g_strcmp0(row->status, "processed") == 0) {
				self->firmware_item_hash = g_strdup(f[1]);
				return TRUE;
			}
		}
	}
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "address");
	json_builder_add_string_value(b, ac_eth_account_get_address(self->account));
	json_builder_set_member_name(b, "time");
	json_builder_add_double_value(b, floor(ac_devnet_now()));
	json_builder_set_member_name(b, "item_type");
	json_builder_add_string_value(b, "storage");
	json_builder_set_member_name(b, "item_hash");
	json_builder_add_string_value(b, self->firmware_sha256);
	json_builder_set_member_name(b, "metadata");
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "name");
	json_builder_add_string_value(b, "devnet confidential firmware");
	json_builder_end_object(b);
	json_builder_end_object(b);
	content = json_builder_get_root(b);
	m = ac_aleph_message_build("STORE", content, ac_eth_account_get_address(self->account),
	                           AC_ALEPH_DEFAULT_CHANNEL, floor(ac_devnet_now()), error);
	if (m == NULL || !ac_aleph_message_sign(m, self->account, error))
		return FALSE;
	if (!ac_devnet_store_insert_message(self->store, m, ac_devnet_now(), 0,
	                                    ac_eth_account_get_address(self->account), NULL, error))
		return FALSE;
	ac_devnet_ccn_process_one(self, m->item_hash);
	{
		g_autoptr(AcDevnetMessageRow) row
		    = ac_devnet_store_get_message(self->store, m->item_hash, error);
		if (row == NULL)
			return FALSE;
		if (g_strcmp0(row->status, "processed") != 0) {
			g_set_error(error, AC_ERROR, AC_ERROR_INTERNAL,
			            "the devnet's own firmware STORE was %s: %s", row->status,
			            row->details != NULL ? row->details : "?");
			return FALSE;
		}
	}
	self->firmware_item_hash = g_strdup(m->item_hash);
	known = g_strdup_printf("%s %s\n", self->firmware_sha256, m->item_hash);
	if (!g_file_set_contents_full(marker, known, -1, G_FILE_SET_CONTENTS_NONE, 0644,
	                              &error_local)) {
		g_set_error(error, AC_ERROR, AC_ERROR_IO, "%s", error_local->message);
		return FALSE;
	}
	return TRUE;
}

/* ---- dispatch ---- */

/* {"message": {…}} → the credits one hour costs: INSTANCE by its vCPUs, STORE by its size */
static void
ccn_price_estimate(AcDevnet *self, SoupServerMessage *msg)
{
	g_autoptr(GBytes) body = ac_devnet_request_body(msg);
	gsize len = 0;
	const gchar *data = g_bytes_get_data(body, &len);
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonNode) root = ac_json_parse_untrusted("price estimate", data, len, &error);
	JsonObject *m = root != NULL && JSON_NODE_HOLDS_OBJECT(root)
	                    ? obj_member(json_node_get_object(root), "message")
	                    : NULL;
	const gchar *type = m != NULL ? json_object_get_string_member_with_default(m, "type", NULL)
	                              : NULL;
	const gchar *ic = m != NULL
	                      ? json_object_get_string_member_with_default(m, "item_content", NULL)
	                      : NULL;
	g_autoptr(JsonNode) content
	    = ic != NULL ? ac_json_parse_untrusted("item_content", ic, strlen(ic), NULL) : NULL;
	JsonObject *co = content != NULL && JSON_NODE_HOLDS_OBJECT(content)
	                     ? json_node_get_object(content)
	                     : NULL;
	JsonObject *payment = obj_member(co, "payment");
	g_autoptr(JsonBuilder) b = json_builder_new();
	g_autoptr(JsonNode) node = NULL;
	gint64 cost;

	if (co == NULL || type == NULL) {
		ac_devnet_reply_error(msg, 422, "price estimate: expected {\"message\": {…}} with "
		                                "type and inline item_content");
		return;
	}
	if (g_strcmp0(type, "INSTANCE") == 0) {
		cost = ac_devnet_instance_hourly_cost(co);
	} else {
		/* a STORE: one credit per started GiB of content.size */
		gint64 size = json_object_get_int_member_with_default(co, "size", 0);
		cost = size > 0 ? (size + (G_GINT64_CONSTANT(1) << 30) - 1) >> 30 : 0;
	}
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "required_tokens");
	json_builder_add_int_value(b, 0);
	json_builder_set_member_name(b, "payment_type");
	json_builder_add_string_value(
	    b, payment != NULL ? json_object_get_string_member_with_default(payment, "type", "hold")
	                       : "hold");
	json_builder_set_member_name(b, "cost");
	{
		g_autofree gchar *c = g_strdup_printf("%" G_GINT64_FORMAT, cost);
		json_builder_add_string_value(b, c);
	}
	json_builder_set_member_name(b, "required_credits");
	json_builder_add_int_value(b, cost);
	json_builder_end_object(b);
	node = json_builder_get_root(b);
	(void)self;
	ac_devnet_reply_json(msg, 200, node);
}

/* GET /api/v0/addresses/{address}/balance: no tokens here, the devnet's credit ledger */
static void
ccn_balance(AcDevnet *self, SoupServerMessage *msg, const gchar *path)
{
	g_autofree gchar *address = g_strndup(path + strlen("/api/v0/addresses/"),
	                                      strlen(path) - strlen("/api/v0/addresses/")
	                                          - strlen("/balance"));
	g_autoptr(JsonBuilder) b = json_builder_new();
	g_autoptr(JsonNode) node = NULL;
	guint8 raw[AC_ETH_ADDRESS_LEN];

	if (!ac_eth_address_parse(address, raw, NULL)) {
		ac_devnet_reply_error(msg, 422, "'%s' is not an Ethereum address", address);
		return;
	}
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "address");
	json_builder_add_string_value(b, address);
	json_builder_set_member_name(b, "balance");
	json_builder_add_int_value(b, 0);
	json_builder_set_member_name(b, "locked_amount");
	json_builder_add_int_value(b, 0);
	json_builder_set_member_name(b, "credit_balance");
	json_builder_add_int_value(b, ac_devnet_credits_get(self, address));
	json_builder_end_object(b);
	node = json_builder_get_root(b);
	ac_devnet_reply_json(msg, 200, node);
}

gboolean
ac_devnet_ccn_handle(AcDevnet *self,
                     AcDevnetEndpoint ep,
                     SoupServerMessage *msg,
                     const gchar *path,
                     GHashTable *query)
{
	const gchar *method = soup_server_message_get_method(msg);
	gboolean get = g_strcmp0(method, "GET") == 0 || g_strcmp0(method, "HEAD") == 0;

	switch (ep) {
	case AC_DEVNET_EP_MESSAGES_POST:
		return ccn_post_message(self, msg);
	case AC_DEVNET_EP_MESSAGES_GET:
		if (!get)
			break;
		ccn_get_message(self, msg, path);
		return TRUE;
	case AC_DEVNET_EP_MESSAGES_JSON:
		if (!get)
			break;
		ccn_messages_json(self, msg, query);
		return TRUE;
	case AC_DEVNET_EP_STORAGE_ADD_FILE:
	case AC_DEVNET_EP_IPFS_ADD_FILE:
	case AC_DEVNET_EP_IPFS_ADD_CAR:
		if (g_strcmp0(method, "POST") != 0)
			break;
		return ccn_upload(self, ep, msg);
	case AC_DEVNET_EP_STORAGE_RAW:
		if (!get)
			break;
		ccn_raw(self, msg, path);
		return TRUE;
	case AC_DEVNET_EP_CRNS_LIST:
		if (!get)
			break;
		{
			g_autoptr(JsonNode) node = ac_devnet_crn_list_json(self);
			ac_devnet_reply_json(msg, 200, node);
		}
		return TRUE;
	default:
		if (g_strcmp0(method, "OPTIONS") == 0) {
			SoupMessageHeaders *h = soup_server_message_get_response_headers(msg);
			soup_message_headers_replace(h, "Access-Control-Allow-Methods",
			                             "GET, POST, OPTIONS");
			soup_message_headers_replace(h, "Access-Control-Allow-Headers", "*");
			soup_server_message_set_status(msg, 204, NULL);
			return TRUE;
		}
		if (get && g_str_has_prefix(path, "/api/v0/aggregates/")
		    && g_str_has_suffix(path, ".json")
		    && strlen(path) > strlen("/api/v0/aggregates/.json")) {
			ccn_aggregates(self, msg, path, query);
			return TRUE;
		}
		if (!get
		    && (g_strcmp0(path, "/api/v0/storage/add_json") == 0
		        || g_strcmp0(path, "/api/v0/ipfs/add_json") == 0)) {
			ccn_add_json(self, msg, g_str_has_prefix(path, "/api/v0/ipfs/"));
			return TRUE;
		}
		if (get
		    && (g_strcmp0(path, "/api/v0/version") == 0 || g_strcmp0(path, "/version") == 0)) {
			/* pyaleph: {"version": __version__} */
			g_autoptr(JsonNode) node = json_node_new(JSON_NODE_OBJECT);
			JsonObject *o = json_object_new();
			json_object_set_string_member(o, "version", AC_DEVNET_CCN_VERSION);
			json_node_take_object(node, o);
			ac_devnet_reply_json(msg, 200, node);
			return TRUE;
		}
		if (g_strcmp0(path, "/api/v0/price/estimate") == 0 && !get) {
			ccn_price_estimate(self, msg);
			return TRUE;
		}
		if (get && g_str_has_prefix(path, "/api/v0/addresses/")
		    && g_str_has_suffix(path, "/balance")) {
			ccn_balance(self, msg, path);
			return TRUE;
		}
		ac_devnet_reply_error(msg, 404, "no devnet CCN endpoint %s %s", method, path);
		return TRUE;
	}
	ac_devnet_reply_error(msg, 405, "%s is not allowed on %s", method, path);
	return TRUE;
}
