/*
 * aleph-confidential devnet: the checks of a message — the envelope (item_hash, signature) and
 * the content: schemas, permissions, volumes, FORGET rules, payment.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <math.h>

#include "ac-aleph-schema.h"
#include "ac-aleph-util.h"
#include "ac-devnet-json.h"
#include "ac-devnet-ledger.h"
#include "ac-devnet-messages.h"
#include "ac-devnet-validate.h"
#include "ac-error.h"

/* returns the error code, or -1000 when the message is valid; @details gets the reason */
gint64
ac_devnet_validate_message (AcDevnet *self, const AcAlephMessage *msg, gchar **details)
{
	g_autoptr (GError) error = NULL;
	g_autofree gchar *signer = NULL;
	g_autoptr (JsonNode) content = NULL;
	g_autoptr (JsonNode) normalized = NULL;
	JsonObject *co;
	const gchar *address;

	if (!ac_aleph_message_verify (msg, &signer, &error)) {
		*details = g_strdup (error->message);
		return AC_DEVNET_ERR_INVALID_SIGNATURE;
	}
	content = ac_devnet_messages_content (self, msg, &error);
	if (content == NULL && g_strcmp0 (msg->item_type, "inline") != 0) {
		*details = g_strdup (error->message);
		return AC_DEVNET_ERR_CONTENT_UNAVAILABLE;
	}
	if (content == NULL || !JSON_NODE_HOLDS_OBJECT (content)) {
		*details = g_strdup_printf ("item_content: %s",
		                            error != NULL ? error->message : "not an object");
		return AC_DEVNET_ERR_INVALID_FORMAT;
	}
	co = json_node_get_object (content);
	address = json_object_get_string_member_with_default (co, "address", NULL);
	if (address == NULL) {
		*details = g_strdup ("content.address is missing");
		return AC_DEVNET_ERR_INVALID_FORMAT;
	}
	if (!ac_eth_address_equal (address, msg->sender)
	    && !ac_devnet_messages_is_delegate (self, address, msg->sender, msg->type)) {
		*details = g_strdup_printf ("sender %s may not publish for address %s", msg->sender,
		                            address);
		return AC_DEVNET_ERR_PERMISSION_DENIED;
	}
	if (ac_aleph_content_type_is_supported (msg->type)) {
		normalized = ac_aleph_content_normalize (msg->type, content, &error);
		if (normalized == NULL) {
			*details = g_strdup (error->message);
			return AC_DEVNET_ERR_INVALID_FORMAT;
		}
	}
	{
		gint64 code = ac_devnet_ledger_check_payment (self, msg, co, details);
		if (code > -1000)
			return code;
	}
	if (g_strcmp0 (msg->type, "STORE") == 0) {
		const gchar *h = json_object_get_string_member_with_default (co, "item_hash", NULL);
		g_autofree gchar *path
		    = h != NULL ? ac_devnet_store_get_file (self->store, h, NULL, NULL, NULL)
		                : NULL;
		if (path == NULL) {
			*details = g_strdup_printf ("file %s was never uploaded to this devnet",
			                            h != NULL ? h : "(none)");
			return AC_DEVNET_ERR_FILE_UNAVAILABLE;
		}
	} else if (g_strcmp0 (msg->type, "INSTANCE") == 0) {
		JsonObject *rootfs = ac_devnet_json_object_member (co, "rootfs");
		JsonObject *parent = ac_devnet_json_object_member (rootfs, "parent");
		const gchar *ref
		    = parent != NULL
		          ? json_object_get_string_member_with_default (parent, "ref", NULL)
		          : NULL;
		gint64 size_mib
		    = rootfs != NULL
		          ? json_object_get_int_member_with_default (rootfs, "size_mib", 0)
		          : 0;
		guint64 fsize = 0;
		g_autofree gchar *path = NULL;
		if (ref == NULL) {
			*details = g_strdup ("rootfs.parent.ref is missing");
			return AC_DEVNET_ERR_INVALID_FORMAT;
		}
		path = ac_devnet_messages_store_file (self, ref, &fsize, &error);
		if (path == NULL) {
			*details
			    = g_strdup_printf ("rootfs.parent.ref %s: %s", ref, error->message);
			return AC_DEVNET_ERR_VM_VOLUME_NOT_FOUND;
		}
		if (size_mib <= 0 || (guint64)size_mib * 1024 * 1024 < fsize) {
			*details = g_strdup_printf (
			    "rootfs.size_mib %" G_GINT64_FORMAT " MiB is smaller than "
			    "the parent image (%" G_GUINT64_FORMAT " bytes)",
			    size_mib, fsize);
			return AC_DEVNET_ERR_VM_VOLUME_TOO_SMALL;
		}
	} else if (g_strcmp0 (msg->type, "FORGET") == 0) {
		JsonNode *hn = json_object_get_member (co, "hashes");
		JsonArray *ha
		    = hn != NULL && JSON_NODE_HOLDS_ARRAY (hn) ? json_node_get_array (hn) : NULL;
		for (guint i = 0; ha != NULL && i < json_array_get_length (ha); i++) {
			const gchar *h = json_array_get_string_element (ha, i);
			g_autoptr (AcDevnetMessageRow) target
			    = h != NULL ? ac_devnet_store_get_message (self->store, h, NULL) : NULL;
			if (target != NULL && !ac_eth_address_equal (target->owner, msg->sender)) {
				*details = g_strdup_printf ("%s may not forget %s", msg->sender, h);
				return AC_DEVNET_ERR_FORGET_NOT_ALLOWED;
			}
		}
	}
	return -1000;
}

gboolean
ac_devnet_validate_format (const AcAlephMessage *m, GError **error)
{
	if (g_strcmp0 (m->item_type, "inline") == 0) {
		g_autofree gchar *h = NULL;
		if (m->item_content == NULL) {
			g_set_error_literal (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			                     "inline message without item_content");
			return FALSE;
		}
		if (strlen (m->item_content) > AC_ALEPH_MAX_INLINE_SIZE) {
			g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			             "item_content is longer than %u characters",
			             AC_ALEPH_MAX_INLINE_SIZE);
			return FALSE;
		}
		h = ac_aleph_sha256_hex ((const guint8 *)m->item_content, strlen (m->item_content));
		if (g_strcmp0 (h, m->item_hash) != 0) {
			g_set_error (error, AC_ERROR, AC_ERROR_MISMATCH,
			             "item_hash %s is not sha256(item_content) %s", m->item_hash,
			             h);
			return FALSE;
		}
	} else if (m->item_content != NULL || !ac_item_hash_is_valid (m->item_hash)) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "%s message: item_hash or item_content is invalid", m->item_type);
		return FALSE;
	}
	if (!isfinite (m->time) || m->time < 0 || m->time > 9223372036.0) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		                     "message time is out of range");
		return FALSE;
	}
	return TRUE;
}
