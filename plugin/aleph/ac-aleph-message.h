/*
 * aleph-confidential: signed Aleph messages — item_content, item_hash, verification buffer,
 * EIP-191 signature and verification, JSON envelope. Pure: no I/O (devnet/ reuses it).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include "ac-eth-account.h"

G_BEGIN_DECLS

#define AC_ALEPH_DEFAULT_CHANNEL "ALEPH-CLOUDSOLUTIONS"
#define AC_ALEPH_MAX_INLINE_SIZE 200000 /* pyaleph's limit on item_content */

typedef struct {
	gchar *sender;
	gchar *chain;
	gchar *signature; /* NULL until signed */
	gchar *type;
	gchar *item_hash;
	gchar *item_type;    /* "inline", "storage" or "ipfs" */
	gchar *item_content; /* inline only, exactly the bytes that are hashed */
	gdouble time;
	gchar *channel;
} AcAlephMessage;

void ac_aleph_message_free (AcAlephMessage *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AcAlephMessage, ac_aleph_message_free)

gchar *ac_aleph_sha256_hex (const guint8 *data, gsize len);

/* Normalizes @content (schema checks, SDK field order; fills address/time when absent) and
 * builds an unsigned inline message. */
AcAlephMessage *ac_aleph_message_build (const gchar *type,
					JsonNode *content,
					const gchar *sender,
					const gchar *channel,
					gdouble time,
					GError **error);
/* An inline message over @item_content as is (for contents we did not build). */
AcAlephMessage *ac_aleph_message_new_inline (const gchar *type,
					     const gchar *item_content,
					     const gchar *sender,
					     const gchar *chain,
					     const gchar *channel,
					     gdouble time);

gchar *ac_aleph_message_get_verification_buffer (const AcAlephMessage *self);
gboolean ac_aleph_message_sign (AcAlephMessage *self, AcEthAccount *account, GError **error);

/* Checks item_type against item_hash, sha256(item_content) == item_hash for inline messages,
 * and that the signature recovers to sender. @signer_out gets the recovered address. */
gboolean ac_aleph_message_verify (const AcAlephMessage *self, gchar **signer_out, GError **error);

JsonNode *ac_aleph_message_to_json (const AcAlephMessage *self);
gchar *ac_aleph_message_to_string (const AcAlephMessage *self); /* compact JSON */
AcAlephMessage *ac_aleph_message_from_json (JsonNode *node, GError **error);
AcAlephMessage *ac_aleph_message_from_data (const gchar *data, gsize len, GError **error);
/* the body of POST /api/v0/messages */
gchar *ac_aleph_message_post_body (const AcAlephMessage *self, gboolean sync);
/* parsed item_content of an inline message */
JsonNode *ac_aleph_message_get_content (const AcAlephMessage *self, GError **error);

G_END_DECLS
