/*
 * aleph-confidential devnet: the replies of every handler: JSON, plain text and {"error": …}.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "ac-devnet-reply.h"
#include "ac-json.h"

static void
reply_body (SoupServerMessage *msg, guint status, const gchar *type, const gchar *text)
{
	soup_server_message_set_status (msg, status, NULL);
	soup_server_message_set_response (msg, type, SOUP_MEMORY_COPY, text, strlen (text));
}

void
ac_devnet_reply_json (SoupServerMessage *msg, guint status, JsonNode *node)
{
	g_autofree gchar *text = json_to_string (node, FALSE);
	reply_body (msg, status, "application/json", text);
}

void
ac_devnet_reply_text (SoupServerMessage *msg, guint status, const gchar *text)
{
	reply_body (msg, status, "text/plain; charset=utf-8", text);
}

void
ac_devnet_reply_bytes (SoupServerMessage *msg, GBytes *bytes)
{
	soup_server_message_set_status (msg, 200, NULL);
	soup_message_headers_replace (soup_server_message_get_response_headers (msg),
	                              "Content-Type", "application/octet-stream");
	soup_message_body_append_bytes (soup_server_message_get_response_body (msg), bytes);
}

void
ac_devnet_reply_error (SoupServerMessage *msg, guint status, const gchar *fmt, ...)
{
	va_list args;
	g_autofree gchar *text = NULL;
	g_autofree gchar *body = NULL;
	va_start (args, fmt);
	text = g_strdup_vprintf (fmt, args);
	va_end (args);
	body = ac_json_error_body (text);
	reply_body (msg, status, "application/json", body);
}

void
ac_devnet_reply_cors_preflight (SoupServerMessage *msg)
{
	SoupMessageHeaders *h = soup_server_message_get_response_headers (msg);
	soup_message_headers_replace (h, "Access-Control-Allow-Methods", "GET, POST, OPTIONS");
	soup_message_headers_replace (h, "Access-Control-Allow-Headers", "*");
	soup_server_message_set_status (msg, 204, NULL);
}
