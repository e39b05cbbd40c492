/*
 * aleph-confidential devnet: the replies of every handler: JSON, plain text and {"error": …}.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "ac-devnet-reply.h"
#include "ac-json.h"

void
ac_devnet_reply_json (SoupServerMessage *msg, guint status, JsonNode *node)
{
	g_autofree gchar *text = json_to_string (node, FALSE);
	soup_server_message_set_status (msg, status, NULL);
	soup_server_message_set_response (msg, "application/json", SOUP_MEMORY_COPY, text,
	                                  strlen (text));
}

void
ac_devnet_reply_text (SoupServerMessage *msg, guint status, const gchar *text)
{
	soup_server_message_set_status (msg, status, NULL);
	soup_server_message_set_response (msg, "text/plain; charset=utf-8", SOUP_MEMORY_COPY, text,
	                                  strlen (text));
}

void
ac_devnet_reply_error (SoupServerMessage *msg, guint status, const gchar *fmt, ...)
{
	va_list args;
	g_autofree gchar *text = NULL;
	g_autoptr (JsonBuilder) b = json_builder_new ();
	g_autoptr (JsonNode) node = NULL;
	va_start (args, fmt);
	text = g_strdup_vprintf (fmt, args);
	va_end (args);
	json_builder_begin_object (b);
	ac_json_builder_add_string (b, "error", text);
	json_builder_end_object (b);
	node = json_builder_get_root (b);
	ac_devnet_reply_json (msg, status, node);
}

void
ac_devnet_reply_cors_preflight (SoupServerMessage *msg)
{
	SoupMessageHeaders *h = soup_server_message_get_response_headers (msg);
	soup_message_headers_replace (h, "Access-Control-Allow-Methods", "GET, POST, OPTIONS");
	soup_message_headers_replace (h, "Access-Control-Allow-Headers", "*");
	soup_server_message_set_status (msg, 204, NULL);
}
