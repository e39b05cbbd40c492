/*
 * aleph-confidential devnet: a message's life on the CCN — accepted (pending), processed after
 * processing_delay_ms (processed or rejected), and the sync waiters answered then.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "ac-devnet-messages.h"
#include "ac-devnet-process.h"
#include "ac-devnet-reply.h"
#include "ac-devnet-validate.h"
#include "ac-error.h"
#include "ac-json.h"
#include "ac-time.h"

typedef struct {
	SoupServerMessage *msg;
	guint timeout_id;
	AcDevnet *devnet;
	gchar *item_hash;
} AcDevnetWaiter;

static void
ac_devnet_process_wake_waiters (AcDevnet *self, const gchar *item_hash, const gchar *status);

static JsonNode *
post_result_json (const gchar *message_status)
{
	g_autoptr (JsonBuilder) b = json_builder_new ();
	json_builder_begin_object (b);
	json_builder_set_member_name (b, "publication_status");
	json_builder_begin_object (b);
	ac_json_builder_add_string (b, "status", "success");
	json_builder_set_member_name (b, "failed");
	json_builder_begin_array (b);
	json_builder_end_array (b);
	json_builder_end_object (b);
	ac_json_builder_add_string (b, "message_status", message_status);
	json_builder_end_object (b);
	return json_builder_get_root (b);
}

guint
ac_devnet_process_status_to_http (const gchar *status)
{
	if (g_strcmp0 (status, "processed") == 0 || g_strcmp0 (status, "forgotten") == 0)
		return 200;
	if (g_strcmp0 (status, "rejected") == 0)
		return 422;
	return 202;
}

static gchar *
details_json (const gchar *text)
{
	g_autoptr (JsonBuilder) b = json_builder_new ();
	g_autoptr (JsonNode) node = NULL;
	json_builder_begin_object (b);
	json_builder_set_member_name (b, "errors");
	json_builder_begin_array (b);
	json_builder_add_string_value (b, text);
	json_builder_end_array (b);
	json_builder_end_object (b);
	node = json_builder_get_root (b);
	return json_to_string (node, FALSE);
}

void
ac_devnet_process_one (AcDevnet *self, const gchar *item_hash)
{
	g_autoptr (GError) error = NULL;
	g_autoptr (AcDevnetMessageRow) row
	    = ac_devnet_store_get_message (self->store, item_hash, &error);
	g_autofree gchar *details = NULL;
	g_autofree gchar *djson = NULL;
	gint64 code;

	if (row == NULL || g_strcmp0 (row->status, "pending") != 0)
		return;
	code = ac_devnet_validate_message (self, row->msg, &details);
	if (code > -1000) {
		djson = details_json (details);
		g_debug ("message %s rejected (%" G_GINT64_FORMAT "): %s", item_hash, code,
		         details);
		if (!ac_devnet_store_set_status (self->store, item_hash, "rejected", code, djson,
		                                 &error))
			g_warning ("%s", error->message);
		ac_devnet_process_wake_waiters (self, item_hash, "rejected");
		return;
	}
	if (g_strcmp0 (row->msg->type, "FORGET") == 0) {
		g_autoptr (JsonNode) content = ac_devnet_messages_content (self, row->msg, NULL);
		JsonNode *hn
		    = content != NULL
		          ? json_object_get_member (json_node_get_object (content), "hashes")
		          : NULL;
		JsonArray *ha
		    = hn != NULL && JSON_NODE_HOLDS_ARRAY (hn) ? json_node_get_array (hn) : NULL;
		for (guint i = 0; ha != NULL && i < json_array_get_length (ha); i++) {
			const gchar *h = json_array_get_string_element (ha, i);
			if (h != NULL
			    && !ac_devnet_store_set_forgotten (self->store, h, item_hash, &error)) {
				g_warning ("%s", error->message);
				g_clear_error (&error);
			}
		}
	}
	if (!ac_devnet_store_set_status (self->store, item_hash, "processed", -2000, NULL, &error))
		g_warning ("%s", error->message);
	ac_devnet_process_wake_waiters (self, item_hash, "processed");
}

void
ac_devnet_process_due (AcDevnet *self)
{
	g_autoptr (GError) error = NULL;
	g_autoptr (GPtrArray) due = NULL;
	if (self->store == NULL)
		return;
	due = ac_devnet_store_due_messages (self->store, ac_time_now_unix (), &error);
	if (due == NULL) {
		g_warning ("%s", error->message);
		return;
	}
	for (guint i = 0; i < due->len; i++)
		ac_devnet_process_one (self, g_ptr_array_index (due, i));
	ac_devnet_process_schedule (self);
}

static gboolean
process_cb (gpointer user_data)
{
	AcDevnet *self = user_data;
	self->process_source = 0;
	ac_devnet_process_due (self);
	return G_SOURCE_REMOVE;
}

void
ac_devnet_process_schedule (AcDevnet *self)
{
	gdouble next;
	gdouble delay;
	if (self->process_source != 0) {
		g_source_remove (self->process_source);
		self->process_source = 0;
	}
	if (self->store == NULL)
		return;
	next = ac_devnet_store_next_due (self->store);
	if (next < 0)
		return;
	delay = MAX (0, (next - ac_time_now_unix ()) * 1000.0) + 1;
	self->process_source = g_timeout_add ((guint)MIN (delay, 3600 * 1000.0), process_cb, self);
}

static void
waiter_free (AcDevnetWaiter *w)
{
	if (w->timeout_id != 0)
		g_source_remove (w->timeout_id);
	g_object_unref (w->msg);
	g_free (w->item_hash);
	g_free (w);
}

static void
waiter_reply (AcDevnetWaiter *w, const gchar *status)
{
	g_autoptr (JsonNode) node = post_result_json (status);
	ac_devnet_reply_json (w->msg, ac_devnet_process_status_to_http (status), node);
	soup_server_message_unpause (w->msg);
}

static gboolean
waiter_timeout_cb (gpointer user_data)
{
	AcDevnetWaiter *w = user_data;
	GPtrArray *list = g_hash_table_lookup (w->devnet->waiters, w->item_hash);
	w->timeout_id = 0;
	waiter_reply (w, "pending");
	if (list != NULL)
		g_ptr_array_remove (list, w); /* frees it */
	return G_SOURCE_REMOVE;
}

static void
ac_devnet_process_wake_waiters (AcDevnet *self, const gchar *item_hash, const gchar *status)
{
	GPtrArray *list = g_hash_table_lookup (self->waiters, item_hash);
	if (list == NULL)
		return;
	for (guint i = 0; i < list->len; i++)
		waiter_reply (g_ptr_array_index (list, i), status);
	g_hash_table_remove (self->waiters, item_hash);
}

void
ac_devnet_process_cancel_waiters (AcDevnet *self)
{
	GHashTableIter it;
	gpointer value;
	g_hash_table_iter_init (&it, self->waiters);
	while (g_hash_table_iter_next (&it, NULL, &value)) {
		GPtrArray *list = value;
		for (guint i = 0; i < list->len; i++)
			waiter_reply (g_ptr_array_index (list, i), "pending");
	}
	g_hash_table_remove_all (self->waiters);
}

static void
ac_devnet_process_wait (AcDevnet *self, SoupServerMessage *msg, const gchar *item_hash)
{
	AcDevnetWaiter *w = g_new0 (AcDevnetWaiter, 1);
	GPtrArray *list = g_hash_table_lookup (self->waiters, item_hash);
	if (list == NULL) {
		list = g_ptr_array_new_with_free_func ((GDestroyNotify)waiter_free);
		g_hash_table_insert (self->waiters, g_strdup (item_hash), list);
	}
	w->msg = g_object_ref (msg);
	w->devnet = self;
	w->item_hash = g_strdup (item_hash);
	w->timeout_id = g_timeout_add (AC_DEVNET_SYNC_TIMEOUT_MS, waiter_timeout_cb, w);
	g_ptr_array_add (list, w);
	soup_server_message_pause (msg);
}

/* Accepts a message: FALSE with the 422 text when its envelope is malformed. @status_out gets
 * the status after (possibly immediate) processing. */
gboolean
ac_devnet_process_accept (AcDevnet *self, AcAlephMessage *m, gchar **status_out, GError **error)
{
	g_autoptr (GError) error_local = NULL;
	g_autoptr (AcDevnetMessageRow) existing = NULL;
	g_autoptr (JsonNode) content = NULL;
	const gchar *owner = NULL;
	const gchar *ref = NULL;
	gdouble now = ac_time_now_unix ();

	if (!ac_devnet_validate_format (m, error))
		return FALSE;
	existing = ac_devnet_store_get_message (self->store, m->item_hash, NULL);
	/* pyaleph processes a new copy of a rejected message again (rejected → pending): its
	 * envelope (signature, sender) may be right this time, the item_hash being the content's */
	if (existing != NULL && g_strcmp0 (existing->status, "rejected") != 0) {
		*status_out = g_strdup (existing->status);
		return TRUE;
	}
	g_clear_pointer (&existing, ac_devnet_store_message_row_free);
	content = ac_devnet_messages_content (self, m, NULL);
	if (content != NULL && JSON_NODE_HOLDS_OBJECT (content)) {
		owner = json_object_get_string_member_with_default (json_node_get_object (content),
		                                                    "address", NULL);
		ref = json_object_get_string_member_with_default (json_node_get_object (content),
		                                                  "ref", NULL);
	}
	if (!ac_devnet_store_insert_message (self->store, m, now,
	                                     now + self->knobs.processing_delay_ms / 1000.0, owner,
	                                     ref, &error_local)) {
		g_set_error (error, AC_ERROR, AC_ERROR_INTERNAL, "%s", error_local->message);
		return FALSE;
	}
	if (self->knobs.processing_delay_ms == 0)
		ac_devnet_process_one (self, m->item_hash);
	else
		ac_devnet_process_schedule (self);
	existing = ac_devnet_store_get_message (self->store, m->item_hash, NULL);
	*status_out = g_strdup (existing != NULL ? existing->status : "pending");
	return TRUE;
}

/* answers with the broadcast result; FALSE when it paused @msg to wait (sync) */
gboolean
ac_devnet_process_reply_posted (AcDevnet *self,
                                SoupServerMessage *msg,
                                const gchar *item_hash,
                                const gchar *status,
                                gboolean sync,
                                JsonNode *extra)
{
	g_autoptr (JsonNode) node = NULL;
	if (sync && g_strcmp0 (status, "pending") == 0 && extra == NULL) {
		ac_devnet_process_wait (self, msg, item_hash);
		return FALSE;
	}
	if (extra != NULL) {
		ac_devnet_reply_json (msg, ac_devnet_process_status_to_http (status), extra);
		return TRUE;
	}
	node = post_result_json (status);
	ac_devnet_reply_json (msg, ac_devnet_process_status_to_http (status), node);
	return TRUE;
}
