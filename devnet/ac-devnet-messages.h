/*
 * aleph-confidential devnet: the message store as the handlers read it: a message's content, its
 * API JSON, the file behind a STORE, the aggregates and the delegations they carry.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "ac-devnet-state.h"

G_BEGIN_DECLS

#define AC_DEVNET_MESSAGES_MAX_JSON_CONTENT (4 * 1024 * 1024)

/* the content of a message: item_content, or the JSON file uploaded under its item_hash */
JsonNode *
ac_devnet_messages_content (AcDevnet *self, const AcAlephMessage *msg, GError **error);

JsonNode *
ac_devnet_messages_to_api_json (AcDevnet *self, const AcDevnetMessageRow *row);

/* the file behind a processed STORE message */
gchar *
ac_devnet_messages_store_file (AcDevnet *self,
                               const gchar *store_hash,
                               guint64 *size,
                               GError **error);

/* the file a hash names, as an SEV-SNP runtime reference or a bundle's ref is resolved: a
 * message with that hash must be a processed STORE (its file); when no message has it, the
 * file stored under that hash */
gchar *
ac_devnet_messages_resolve_file (AcDevnet *self, const gchar *hash, guint64 *size, GError **error);

/* the merged AGGREGATE contents of @address (keys NULL = all), or NULL when it has none */
JsonObject *
ac_devnet_messages_aggregates (AcDevnet *self, const gchar *address, gchar **keys);

/* @sender may act for @owner on messages/VMs of @type per the owner's "security" aggregate */
gboolean
ac_devnet_messages_is_delegate (AcDevnet *self,
                                const gchar *owner,
                                const gchar *sender,
                                const gchar *type);

G_END_DECLS
