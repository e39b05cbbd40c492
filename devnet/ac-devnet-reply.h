/*
 * aleph-confidential devnet: the replies of every handler: JSON, plain text, bytes and
 * {"error": …}.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

G_BEGIN_DECLS

void
ac_devnet_reply_json (SoupServerMessage *msg, guint status, JsonNode *node);

void
ac_devnet_reply_text (SoupServerMessage *msg, guint status, const gchar *text);

/* 200, application/octet-stream: @bytes */
void
ac_devnet_reply_bytes (SoupServerMessage *msg, GBytes *bytes);

void
ac_devnet_reply_error (SoupServerMessage *msg, guint status, const gchar *fmt, ...)
    G_GNUC_PRINTF (3, 4);

/* an OPTIONS preflight (the CCN and the CRNs allow any origin, as pyaleph and aleph-vm) */
void
ac_devnet_reply_cors_preflight (SoupServerMessage *msg);

G_END_DECLS
