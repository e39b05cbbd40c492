/*
 * aleph-confidential devnet: CRN request body parsers.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <fcntl.h>
#include <unistd.h>
#include <libsoup/soup.h>

#include "ac-aleph-util.h"
#include "ac-codec.h"
#include "ac-devnet-request.h"
#include "ac-error.h"
#include "ac-sev-cert.h"
#include "ac-sev-secret.h"
#include "ac-sev-session.h"

gboolean
ac_devnet_request_b64_decode (const gchar *what,
                              const gchar *text,
                              gsize text_len,
                              gsize expect,
                              GBytes **out,
                              GError **error)
{
	g_autofree gchar *copy = NULL;
	guint8 *raw;
	gsize len = 0;
	if (text == NULL || text_len == 0 || text_len > AC_DEVNET_B64_MAX) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "%s: %" G_GSIZE_FORMAT " characters of base64, expected 1..%u", what,
		             text != NULL ? text_len : 0, AC_DEVNET_B64_MAX);
		return FALSE;
	}
	copy = g_strndup (text, text_len);
	if (strlen (copy) != text_len) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT, "%s contains a NUL byte",
		             what);
		return FALSE;
	}
	g_strstrip (copy);
	/* white space around the field is tolerated (a multipart part may end in a newline) */
	raw = ac_codec_base64_decode (what, copy, expect != 0 ? expect : 1,
	                              expect != 0 ? expect : AC_DEVNET_B64_MAX / 4 * 3,
	                              AC_ERROR_INVALID_INPUT, &len, error);
	if (raw == NULL)
		return FALSE;
	*out = g_bytes_new_take (raw, len);
	return TRUE;
}

gchar *
ac_devnet_request_parse_notify (const gchar *data, gsize len, GError **error)
{
	g_autoptr (JsonNode) root = ac_json_parse_untrusted ("notify", data, len, NULL);
	const gchar *hash;
	hash = root != NULL && JSON_NODE_HOLDS_OBJECT (root)
	           ? json_object_get_string_member_with_default (json_node_get_object (root),
	                                                         "instance", NULL)
	           : NULL;
	if (hash == NULL || strlen (hash) != 64 || !ac_item_hash_is_valid (hash)) {
		g_set_error_literal (
		    error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		    "Body is not a valid VMNotification: {\"instance\": \"<item hash>\"} expected");
		return NULL;
	}
	return g_strdup (hash);
}

gboolean
ac_devnet_request_parse_initialize (const gchar *content_type,
                                    GBytes *body,
                                    GBytes **session,
                                    GBytes **godh,
                                    const gchar **code,
                                    GError **error)
{
	g_autoptr (SoupMessageHeaders) h = soup_message_headers_new (SOUP_MESSAGE_HEADERS_REQUEST);
	g_autoptr (GBytes) session_b64 = NULL;
	g_autoptr (GBytes) godh_b64 = NULL;
	SoupMultipart *mp;

	g_autoptr (GBytes) terminated = NULL;
	gsize blen = body != NULL ? g_bytes_get_size (body) : 0;
	guint8 *copy;

	if (blen > AC_DEVNET_INITIALIZE_MAX) {
		*code = "field_missing";
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "the initialize body is %" G_GSIZE_FORMAT
		             " bytes, expected at most %u",
		             blen, AC_DEVNET_INITIALIZE_MAX);
		return FALSE;
	}
	/* libsoup's multipart parser runs strstr() over the body: it must end with a NUL */
	copy = g_malloc (blen + 1);
	if (blen > 0)
		memcpy (copy, g_bytes_get_data (body, NULL), blen);
	copy[blen] = '\0';
	terminated = g_bytes_new_take (copy, blen);
	if (content_type != NULL)
		soup_message_headers_replace (h, "Content-Type", content_type);
	mp = soup_multipart_new_from_message (h, terminated);
	for (int i = 0; mp != NULL && i < soup_multipart_get_length (mp); i++) {
		SoupMessageHeaders *ph = NULL;
		GBytes *pb = NULL;
		g_autofree gchar *disposition = NULL;
		GHashTable *params = NULL;
		const gchar *name;
		if (!soup_multipart_get_part (mp, i, &ph, &pb)
		    || !soup_message_headers_get_content_disposition (ph, &disposition, &params))
			continue;
		name = g_hash_table_lookup (params, "name");
		/* aiohttp's post.get(...).file: only file parts (with a filename) count */
		if (g_hash_table_lookup (params, "filename") != NULL) {
			if (g_strcmp0 (name, "session") == 0 && session_b64 == NULL)
				session_b64 = g_bytes_ref (pb);
			else if (g_strcmp0 (name, "godh") == 0 && godh_b64 == NULL)
				godh_b64 = g_bytes_ref (pb);
		}
		g_hash_table_unref (params);
	}
	if (mp != NULL)
		soup_multipart_free (mp);
	*code = "field_missing";
	if (session_b64 == NULL) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		                     "Session field is missing");
		return FALSE;
	}
	if (godh_b64 == NULL) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		                     "godh field is missing. Please provide a GODH file");
		return FALSE;
	}
	*code = "invalid_session";
	return ac_devnet_request_b64_decode ("session", g_bytes_get_data (session_b64, NULL),
	                                     g_bytes_get_size (session_b64), AC_SEV_SESSION_SIZE,
	                                     session, error)
	       && ac_devnet_request_b64_decode ("godh", g_bytes_get_data (godh_b64, NULL),
	                                        g_bytes_get_size (godh_b64), AC_SEV_CERT_SIZE, godh,
	                                        error);
}

gboolean
ac_devnet_request_parse_inject (const gchar *data,
                                gsize len,
                                gboolean *json_ok,
                                GBytes **header,
                                GBytes **secret,
                                GError **error)
{
	g_autoptr (JsonNode) root = ac_json_parse_untrusted ("inject_secret", data, len, NULL);
	g_autoptr (GBytes) hdr = NULL;
	g_autoptr (GBytes) sec = NULL;
	const gchar *hdr_b64 = NULL, *sec_b64 = NULL;
	JsonObject *o;

	*json_ok = FALSE;
	if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root)) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		                     "Body is not valid JSON");
		return FALSE;
	}
	o = json_node_get_object (root);
	hdr_b64 = json_object_get_string_member_with_default (o, "packet_header", NULL);
	sec_b64 = json_object_get_string_member_with_default (o, "secret", NULL);
	if (hdr_b64 == NULL || sec_b64 == NULL) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		                     "packet_header and secret (strings) are required");
		return FALSE;
	}
	*json_ok = TRUE;
	if (!ac_devnet_request_b64_decode ("packet_header", hdr_b64, strlen (hdr_b64),
	                                   AC_SEV_SECRET_HEADER_SIZE, &hdr, error)
	    || !ac_devnet_request_b64_decode ("secret", sec_b64, strlen (sec_b64), 0, &sec, error))
		return FALSE;
	if (g_bytes_get_size (sec) == 0 || g_bytes_get_size (sec) % 16 != 0
	    || g_bytes_get_size (sec) > AC_DEVNET_SECRET_MAX) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "secret is %" G_GSIZE_FORMAT
		             " bytes, expected a multiple of 16 up to %u",
		             g_bytes_get_size (sec), AC_DEVNET_SECRET_MAX);
		return FALSE;
	}
	*header = g_steal_pointer (&hdr);
	*secret = g_steal_pointer (&sec);
	return TRUE;
}

GBytes *
ac_devnet_request_body (SoupServerMessage *msg)
{
	SoupMessageBody *body = soup_server_message_get_request_body (msg);
	const gchar *spool = g_object_get_data (G_OBJECT (msg), "ac-devnet-spool");
	/* uploads were spooled to a file as they arrived: map it rather than copy it. Like
	 * soup_message_body_flatten(), the bytes are followed by a NUL that is not counted
	 * (libsoup's multipart parser relies on it). */
	if (spool != NULL) {
		g_autoptr (GMappedFile) mf = NULL;
		g_autoptr (GBytes) all = NULL;
		if (g_object_get_data (G_OBJECT (msg), "ac-devnet-spool-nul") == NULL) {
			int fd = open (spool, O_WRONLY | O_APPEND | O_CLOEXEC);
			gboolean ok = fd >= 0 && write (fd, "", 1) == 1;
			if (fd >= 0)
				close (fd);
			if (!ok)
				return g_bytes_new (NULL, 0);
			g_object_set_data (G_OBJECT (msg), "ac-devnet-spool-nul",
			                   GINT_TO_POINTER (1));
		}
		mf = g_mapped_file_new (spool, FALSE, NULL);
		if (mf == NULL || g_mapped_file_get_length (mf) < 1)
			return g_bytes_new (NULL, 0);
		all = g_mapped_file_get_bytes (mf);
		return g_bytes_new_from_bytes (all, 0, g_bytes_get_size (all) - 1);
	}
	return soup_message_body_flatten (body);
}
