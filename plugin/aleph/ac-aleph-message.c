/*
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "ac-aleph-message.h"
#include "ac-aleph-schema.h"
#include "ac-aleph-util.h"
#include "ac-codec.h"
#include "ac-digest.h"
#include "ac-error.h"

static const gchar *const message_types[] = { "POST",     "AGGREGATE", "STORE",
					      "PROGRAM",  "INSTANCE",  "FORGET", NULL };

void
ac_aleph_message_free (AcAlephMessage *self)
{
	if (self == NULL)
		return;
	g_free (self->sender);
	g_free (self->chain);
	g_free (self->signature);
	g_free (self->type);
	g_free (self->item_hash);
	g_free (self->item_type);
	g_free (self->item_content);
	g_free (self->channel);
	g_free (self);
}

gchar *
ac_aleph_sha256_hex (const guint8 *data, gsize len)
{
	guint8 md[AC_SHA256_SIZE];
	ac_sha256 (data, len, md);
	return ac_codec_hex_encode (md, sizeof (md));
}

AcAlephMessage *
ac_aleph_message_new_inline (const gchar *type,
			     const gchar *item_content,
			     const gchar *sender,
			     const gchar *chain,
			     const gchar *channel,
			     gdouble time)
{
	AcAlephMessage *self = g_new0 (AcAlephMessage, 1);
	self->type = g_strdup (type);
	self->sender = g_strdup (sender);
	self->chain = g_strdup (chain != NULL ? chain : "ETH");
	self->channel = g_strdup (channel != NULL ? channel : AC_ALEPH_DEFAULT_CHANNEL);
	self->time = time;
	self->item_type = g_strdup ("inline");
	self->item_content = g_strdup (item_content);
	self->item_hash = ac_aleph_sha256_hex ((const guint8 *)item_content, strlen (item_content));
	return self;
}

AcAlephMessage *
ac_aleph_message_build (const gchar *type,
			JsonNode *content,
			const gchar *sender,
			const gchar *channel,
			gdouble time,
			GError **error)
{
	g_autoptr(JsonNode) copy = NULL;
	g_autoptr(JsonNode) norm = NULL;
	g_autofree gchar *item_content = NULL;
	JsonObject *obj;

	if (content == NULL || !JSON_NODE_HOLDS_OBJECT (content)) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			     "%s content: expected a JSON object", type);
		return NULL;
	}
	if (channel != NULL && g_utf8_strlen (channel, -1) > 128) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			     "channel: %ld characters, the limit is 128", g_utf8_strlen (channel, -1));
		return NULL;
	}
	copy = json_node_copy (content);
	obj = json_node_get_object (copy);
	if (!json_object_has_member (obj, "address"))
		json_object_set_string_member (obj, "address", sender);
	if (!json_object_has_member (obj, "time"))
		json_object_set_double_member (obj, "time", time);
	norm = ac_aleph_content_normalize (type, copy, error);
	if (norm == NULL)
		return NULL;
	item_content = ac_json_to_python_compact (norm);
	if (strlen (item_content) > AC_ALEPH_MAX_INLINE_SIZE) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			     "%s content: %" G_GSIZE_FORMAT " bytes of JSON exceed the inline limit "
			     "of %d",
			     type, strlen (item_content), AC_ALEPH_MAX_INLINE_SIZE);
		return NULL;
	}
	return ac_aleph_message_new_inline (type, item_content, sender, "ETH", channel, time);
}

gchar *
ac_aleph_message_get_verification_buffer (const AcAlephMessage *self)
{
	return g_strdup_printf ("%s\n%s\n%s\n%s", self->chain, self->sender, self->type,
				self->item_hash);
}

gboolean
ac_aleph_message_sign (AcAlephMessage *self, AcEthAccount *account, GError **error)
{
	g_autofree gchar *buf = ac_aleph_message_get_verification_buffer (self);
	gchar *sig;

	if (!ac_eth_address_equal (self->sender, ac_eth_account_get_address (account))) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			     "message sender %s is not the signing account %s", self->sender,
			     ac_eth_account_get_address (account));
		return FALSE;
	}
	sig = ac_eth_account_sign_personal_hex (account, (const guint8 *)buf, strlen (buf), error);
	if (sig == NULL)
		return FALSE;
	g_free (self->signature);
	self->signature = sig;
	return TRUE;
}

gboolean
ac_aleph_message_verify (const AcAlephMessage *self, gchar **signer_out, GError **error)
{
	g_autofree gchar *buf = NULL;
	g_autofree gchar *signer = NULL;

	if (g_strcmp0 (self->item_type, "inline") == 0) {
		g_autofree gchar *h = NULL;
		if (self->item_content == NULL) {
			g_set_error_literal (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
					     "message: item_type is inline but item_content is missing");
			return FALSE;
		}
		h = ac_aleph_sha256_hex ((const guint8 *)self->item_content,
					 strlen (self->item_content));
		if (g_strcmp0 (h, self->item_hash) != 0) {
			g_set_error (error, AC_ERROR, AC_ERROR_MISMATCH,
				     "message item_hash %s differs from sha256(item_content) %s",
				     self->item_hash, h);
			return FALSE;
		}
	} else if (g_strcmp0 (self->item_type, "storage") == 0) {
		if (strlen (self->item_hash) != 64 || !ac_item_hash_is_valid (self->item_hash)) {
			g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
				     "message item_hash '%s' is not a storage hash (64 hex digits)",
				     self->item_hash);
			return FALSE;
		}
	} else if (g_strcmp0 (self->item_type, "ipfs") == 0) {
		if (strlen (self->item_hash) == 64 || !ac_item_hash_is_valid (self->item_hash)) {
			g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
				     "message item_hash '%s' is not an IPFS CID", self->item_hash);
			return FALSE;
		}
	}
	if (self->item_content != NULL && g_strcmp0 (self->item_type, "inline") != 0) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			     "message: item_content is present but item_type is %s", self->item_type);
		return FALSE;
	}
	if (self->signature == NULL) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
				     "message: no signature");
		return FALSE;
	}
	buf = ac_aleph_message_get_verification_buffer (self);
	if (!ac_eth_recover_personal ((const guint8 *)buf, strlen (buf), self->signature, &signer,
				      error)) {
		g_prefix_error (error, "message signature: ");
		return FALSE;
	}
	if (!ac_eth_address_equal (signer, self->sender)) {
		g_set_error (error, AC_ERROR, AC_ERROR_MISMATCH,
			     "message signature recovers to %s, not to the sender %s", signer,
			     self->sender);
		return FALSE;
	}
	if (signer_out != NULL)
		*signer_out = g_steal_pointer (&signer);
	return TRUE;
}

JsonNode *
ac_aleph_message_to_json (const AcAlephMessage *self)
{
	g_autoptr(JsonObject) obj = json_object_new ();

	json_object_set_string_member (obj, "sender", self->sender);
	json_object_set_string_member (obj, "chain", self->chain);
	if (self->signature != NULL)
		json_object_set_string_member (obj, "signature", self->signature);
	json_object_set_string_member (obj, "type", self->type);
	json_object_set_string_member (obj, "item_hash", self->item_hash);
	json_object_set_string_member (obj, "item_type", self->item_type);
	if (self->item_content != NULL)
		json_object_set_string_member (obj, "item_content", self->item_content);
	json_object_set_double_member (obj, "time", self->time);
	json_object_set_string_member (obj, "channel", self->channel);
	return json_node_init_object (json_node_alloc (), obj);
}

gchar *
ac_aleph_message_to_string (const AcAlephMessage *self)
{
	g_autoptr(JsonNode) node = ac_aleph_message_to_json (self);
	return ac_json_to_python_compact (node);
}

gchar *
ac_aleph_message_post_body (const AcAlephMessage *self, gboolean sync)
{
	g_autoptr(JsonObject) obj = json_object_new ();
	g_autoptr(JsonNode) node = NULL;

	json_object_set_boolean_member (obj, "sync", sync);
	json_object_set_member (obj, "message", ac_aleph_message_to_json (self));
	node = json_node_init_object (json_node_alloc (), obj);
	return ac_json_to_python_compact (node);
}

static gboolean
get_string (JsonObject *obj, const gchar *name, gboolean required, gsize max, gchar **out,
	    GError **error)
{
	JsonNode *n = json_object_get_member (obj, name);
	const gchar *s;

	if (n == NULL || JSON_NODE_HOLDS_NULL (n)) {
		if (required) {
			g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
				     "message.%s: required field is missing", name);
			return FALSE;
		}
		return TRUE;
	}
	if (!JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_STRING) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			     "message.%s: expected a string", name);
		return FALSE;
	}
	s = json_node_get_string (n);
	if (max > 0 && strlen (s) > max) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			     "message.%s: %" G_GSIZE_FORMAT " bytes, the limit is %" G_GSIZE_FORMAT,
			     name, strlen (s), max);
		return FALSE;
	}
	*out = g_strdup (s);
	return TRUE;
}

AcAlephMessage *
ac_aleph_message_from_json (JsonNode *node, GError **error)
{
	g_autoptr(AcAlephMessage) self = g_new0 (AcAlephMessage, 1);
	JsonObject *obj;
	JsonNode *t;

	if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node)) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
				     "message: expected a JSON object");
		return NULL;
	}
	obj = json_node_get_object (node);
	/* accept the POST body {"sync":…, "message":{…}} as well */
	if (!json_object_has_member (obj, "sender") && json_object_has_member (obj, "message")) {
		JsonNode *inner = json_object_get_member (obj, "message");
		if (JSON_NODE_HOLDS_OBJECT (inner))
			obj = json_node_get_object (inner);
	}
	if (!get_string (obj, "sender", TRUE, 256, &self->sender, error) ||
	    !get_string (obj, "chain", TRUE, 32, &self->chain, error) ||
	    !get_string (obj, "signature", FALSE, 4096, &self->signature, error) ||
	    !get_string (obj, "type", TRUE, 32, &self->type, error) ||
	    !get_string (obj, "item_hash", TRUE, 128, &self->item_hash, error) ||
	    !get_string (obj, "item_type", FALSE, 32, &self->item_type, error) ||
	    !get_string (obj, "item_content", FALSE, AC_ALEPH_MAX_INLINE_SIZE * 6,
			 &self->item_content, error) ||
	    !get_string (obj, "channel", FALSE, 512, &self->channel, error))
		return NULL;
	if (!g_strv_contains (message_types, self->type)) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			     "message.type: '%s' is not a message type", self->type);
		return NULL;
	}
	if (self->item_type == NULL) {
		/* pyaleph infers it from the hash */
		if (self->item_content != NULL)
			self->item_type = g_strdup ("inline");
		else if (strlen (self->item_hash) == 64)
			self->item_type = g_strdup ("storage");
		else
			self->item_type = g_strdup ("ipfs");
	}
	if (g_strcmp0 (self->item_type, "inline") != 0 && g_strcmp0 (self->item_type, "storage") != 0 &&
	    g_strcmp0 (self->item_type, "ipfs") != 0) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			     "message.item_type: '%s' is not inline, storage or ipfs", self->item_type);
		return NULL;
	}
	t = json_object_get_member (obj, "time");
	if (t == NULL || !JSON_NODE_HOLDS_VALUE (t) ||
	    (json_node_get_value_type (t) != G_TYPE_DOUBLE &&
	     json_node_get_value_type (t) != G_TYPE_INT64)) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
				     "message.time: expected a number");
		return NULL;
	}
	self->time = json_node_get_value_type (t) == G_TYPE_DOUBLE ? json_node_get_double (t)
								   : (gdouble)json_node_get_int (t);
	return g_steal_pointer (&self);
}

AcAlephMessage *
ac_aleph_message_from_data (const gchar *data, gsize len, GError **error)
{
	g_autoptr(JsonNode) node = ac_json_parse_untrusted ("message", data, len, error);
	if (node == NULL) {
		if (error != NULL && *error != NULL)
			(*error)->code = AC_ERROR_INVALID_INPUT;
		return NULL;
	}
	return ac_aleph_message_from_json (node, error);
}

JsonNode *
ac_aleph_message_get_content (const AcAlephMessage *self, GError **error)
{
	if (self->item_content == NULL) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			     "message %s has no inline content", self->item_hash);
		return NULL;
	}
	return ac_json_parse_untrusted ("item_content", self->item_content,
					strlen (self->item_content), error);
}
