/*
 * aleph-confidential: the files STOREs hold, from the CCN: whole and checked end to end
 * (ac_ccn_fetch_stored), or in parts with HTTP Range requests (ac_ccn_stored_open).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "ac-aleph-client.h"
#include "ac-aleph-client-private.h"
#include "ac-aleph-responses.h"
#include "ac-aleph-util.h"
#include "ac-error.h"
#include "ac-unixfs.h"

/* the CIDv0 of @data as kubo computes it with its defaults (ac-unixfs.h) */
static gboolean
cid_v0_matches (GBytes *data, const gchar *cid_text, GError **error)
{
	g_autoptr (AcUnixfsBuilder) b = ac_unixfs_builder_new (NULL, NULL);
	guint8 want[AC_CID_V0_LEN], got[AC_CID_V0_LEN];
	gsize len;
	const guint8 *p = g_bytes_get_data (data, &len);

	if (!ac_cid_v0_from_string (cid_text, want, error))
		return FALSE;
	if (!ac_unixfs_builder_update (b, p, len, error)
	    || !ac_unixfs_builder_finish (b, got, NULL, error))
		return FALSE;
	return memcmp (want, got, sizeof (want)) == 0;
}

/* GET @url, at most @max bytes */
static GBytes *
get_bounded (AcCcnClient *self, const gchar *url, guint64 max, GError **error)
{
	gsize saved = ac_http_client_get_max_body (self->http);
	g_autoptr (AcHttpResponse) r = NULL;
	const gchar *data;
	gsize len;

	ac_http_client_set_max_body (self->http, (gsize)MIN (max, (guint64)G_MAXSIZE));
	r = ac_http_request (self->http, "GET", url, NULL, NULL, NULL, AC_HTTP_IDEMPOTENT, error);
	ac_http_client_set_max_body (self->http, saved);
	if (r == NULL)
		return NULL;
	data = ac_http_response_get_data (r, &len);
	return g_bytes_new (data, len);
}

/* Where the file of the STORE @hash is: its URL, and what its hash is (@item_type "storage":
 * a SHA-256, "ipfs": a CIDv0). The STORE message is checked (its content hashes to @hash);
 * without one, @hash is taken as a storage file's own hash. */
static gboolean
stored_locate (AcCcnClient *self,
               const gchar *what,
               const gchar *hash,
               gchar **url,
               gchar **item_type_out,
               gchar **item_hash_out,
               gchar **sender,
               GError **error)
{
	g_autoptr (GError) local_error = NULL;
	g_autoptr (AcMessageInfo) info = NULL;
	g_autoptr (JsonNode) content = NULL;
	const gchar *item_hash = hash;
	const gchar *item_type = "storage";
	g_autofree gchar *content_hash = NULL;

	info = ac_ccn_get_message (self, hash, &local_error);
	if (info == NULL && !g_error_matches (local_error, AC_ERROR, AC_ERROR_NOT_FOUND)) {
		g_propagate_prefixed_error (error, g_steal_pointer (&local_error), "%s %s: ", what,
		                            hash);
		return FALSE;
	}
	if (info != NULL) {
		JsonObject *o;
		const AcAlephMessage *msg = info->message;
		if (msg == NULL || g_strcmp0 (msg->type, "STORE") != 0
		    || g_strcmp0 (msg->item_hash, hash) != 0 || msg->item_content == NULL) {
			g_set_error (
			    error, AC_ERROR, AC_ERROR_REMOTE,
			    "%s %s: the CCN does not answer with an inline STORE message of "
			    "that hash",
			    what, hash);
			return FALSE;
		}
		/* the message is the one the hash names: its content hashes to it */
		content_hash = ac_aleph_sha256_hex ((const guint8 *)msg->item_content,
		                                    strlen (msg->item_content));
		if (g_strcmp0 (content_hash, hash) != 0) {
			g_set_error (
			    error, AC_ERROR, AC_ERROR_MISMATCH,
			    "%s %s: the CCN's STORE message has content of another hash (%s)", what,
			    hash, content_hash);
			return FALSE;
		}
		content = ac_aleph_message_get_content (msg, error);
		if (content == NULL || !JSON_NODE_HOLDS_OBJECT (content)) {
			g_prefix_error (error, "%s %s: ", what, hash);
			return FALSE;
		}
		o = json_node_get_object (content);
		item_hash = json_object_get_string_member_with_default (o, "item_hash", NULL);
		item_type = json_object_get_string_member_with_default (o, "item_type", "storage");
		if (item_hash == NULL
		    || (g_strcmp0 (item_type, "storage") != 0
		        && g_strcmp0 (item_type, "ipfs") != 0)) {
			g_set_error (error, AC_ERROR, AC_ERROR_REMOTE,
			             "%s %s: the STORE names no storage or ipfs item", what, hash);
			return FALSE;
		}
		if (sender != NULL)
			*sender = g_strdup (msg->sender);
	}
	if (g_strcmp0 (item_type, "ipfs") == 0) {
		/* the CRN fetches IPFS items from a gateway; a loopback devnet is its own */
		g_autoptr (GUri) u = g_uri_parse (self->api, G_URI_FLAGS_NONE, NULL);
		gboolean loopback = u != NULL && g_strcmp0 (g_uri_get_scheme (u), "http") == 0;
		*url = g_strdup_printf ("%s/ipfs/%s",
		                        loopback ? self->api : "https://ipfs.aleph.im", item_hash);
	} else if (ac_item_hash_is_valid (item_hash)) {
		*url = g_strdup_printf ("%s/api/v0/storage/raw/%s", self->api, item_hash);
	} else {
		g_set_error (error, AC_ERROR, AC_ERROR_REMOTE, "%s %s: '%s' is not a storage hash",
		             what, hash, item_hash);
		return FALSE;
	}
	*item_type_out = g_strdup (item_type);
	*item_hash_out = g_strdup (item_hash);
	return TRUE;
}

/* @file (from @url) is the one its STORE names */
static gboolean
stored_verify (GBytes *file,
               const gchar *what,
               const gchar *hash,
               const gchar *url,
               const gchar *item_type,
               const gchar *item_hash,
               GError **error)
{
	g_autoptr (GError) local_error = NULL;

	if (g_strcmp0 (item_type, "ipfs") == 0) {
		if (!cid_v0_matches (file, item_hash, &local_error)) {
			g_set_error (error, AC_ERROR, AC_ERROR_MISMATCH,
			             "%s %s: the file from %s is not the CID %s%s%s", what, hash,
			             url, item_hash, local_error != NULL ? ": " : "",
			             local_error != NULL ? local_error->message : "");
			return FALSE;
		}
	} else {
		g_autofree gchar *sha
		    = ac_aleph_sha256_hex (g_bytes_get_data (file, NULL), g_bytes_get_size (file));
		if (g_strcmp0 (sha, item_hash) != 0) {
			g_set_error (error, AC_ERROR, AC_ERROR_MISMATCH,
			             "%s %s: the file from %s has SHA-256 %s, not %s", what, hash,
			             url, sha, item_hash);
			return FALSE;
		}
	}
	return TRUE;
}

GBytes *
ac_ccn_fetch_stored (AcCcnClient *self,
                     const gchar *what,
                     const gchar *hash,
                     guint64 max,
                     gchar **sender,
                     GError **error)
{
	g_autofree gchar *url = NULL;
	g_autofree gchar *item_type = NULL;
	g_autofree gchar *item_hash = NULL;
	g_autoptr (GBytes) file = NULL;

	if (sender != NULL)
		*sender = NULL;
	if (!stored_locate (self, what, hash, &url, &item_type, &item_hash, sender, error))
		return NULL;
	file = get_bounded (self, url, max, error);
	if (file == NULL) {
		g_prefix_error (error, "%s %s: ", what, hash);
		return NULL;
	}
	if (!stored_verify (file, what, hash, url, item_type, item_hash, error))
		return NULL;
	return g_steal_pointer (&file);
}

/* ---- parts of a STORE's file, by HTTP Range requests ---- */

struct _AcCcnStoredFile {
	AcCcnClient *ccn; /* borrowed */
	gchar *what;
	gchar *hash;
	gchar *url;
	GByteArray *head; /* the file's bytes from offset 0 read so far (the whole file if whole) */
	guint64 size;
	gboolean whole; /* read whole, its hash checked */
};

void
ac_ccn_stored_file_free (AcCcnStoredFile *f)
{
	if (f == NULL)
		return;
	g_free (f->what);
	g_free (f->hash);
	g_free (f->url);
	if (f->head != NULL)
		g_byte_array_unref (f->head);
	g_free (f);
}

/* GET bytes [@offset, @offset + @len) of @f's URL, at most @max bytes of answer (a 200 is the
 * whole file); the response, its status 200 or 206 */
static AcHttpResponse *
stored_get_range (AcCcnStoredFile *f, guint64 offset, gsize len, gsize max, GError **error)
{
	AcHttpClient *http = f->ccn->http;
	gsize saved = ac_http_client_get_max_body (http);
	g_autofree gchar *range = g_strdup_printf (
	    "Range: bytes=%" G_GUINT64_FORMAT "-%" G_GUINT64_FORMAT, offset, offset + len - 1);
	/* identity: a range of the bytes of the file, not of a compressed form of it */
	const gchar *headers[] = { range, "Accept-Encoding: identity", NULL };
	AcHttpResponse *r;

	ac_http_client_set_max_body (http, max);
	r = ac_http_request (http, "GET", f->url, headers, NULL, NULL, AC_HTTP_IDEMPOTENT, error);
	ac_http_client_set_max_body (http, saved);
	if (r != NULL && r->status != 200 && r->status != 206) {
		g_set_error (error, AC_ERROR, AC_ERROR_REMOTE,
		             "GET %s (%s): HTTP %u, expected 206 or 200", f->url, range + 7,
		             r->status);
		ac_http_response_free (r);
		return NULL;
	}
	return r;
}

/* a 206 answer to the request of [@offset, @offset + @len): exactly those bytes of a file of
 * @f->size (0: not known yet) */
static gboolean
stored_check_partial (AcCcnStoredFile *f,
                      AcHttpResponse *r,
                      guint64 offset,
                      gsize len,
                      GError **error)
{
	guint64 start = 0, end = 0, total = 0;
	gsize got = g_bytes_get_size (r->body);

	if (!ac_http_parse_content_range (r->content_range, &start, &end, &total, error)) {
		g_prefix_error (error, "GET %s: HTTP 206: ", f->url);
		return FALSE;
	}
	if (start != offset || end - start + 1 != got || got > len
	    || (f->size != 0 && total != f->size) || (got < len && end + 1 != total)) {
		g_set_error (error, AC_ERROR, AC_ERROR_REMOTE,
		             "GET %s: HTTP 206 with %" G_GSIZE_FORMAT
		             " bytes as '%s', not bytes %" G_GUINT64_FORMAT "-%" G_GUINT64_FORMAT
		             " of the file",
		             f->url, got, r->content_range, offset, offset + len - 1);
		return FALSE;
	}
	f->size = total;
	return TRUE;
}

AcCcnStoredFile *
ac_ccn_stored_open (AcCcnClient *self,
                    const gchar *what,
                    const gchar *hash,
                    gsize head,
                    guint64 max_whole,
                    GError **error)
{
	g_autoptr (AcCcnStoredFile) f = g_new0 (AcCcnStoredFile, 1);
	g_autofree gchar *item_type = NULL;
	g_autofree gchar *item_hash = NULL;
	g_autoptr (AcHttpResponse) r = NULL;
	gsize len = 0;
	const guint8 *data;

	f->ccn = self;
	f->what = g_strdup (what);
	f->hash = g_strdup (hash);
	if (!stored_locate (self, what, hash, &f->url, &item_type, &item_hash, NULL, error))
		return NULL;
	r = stored_get_range (f, 0, MAX (head, 1), (gsize)MIN (max_whole, (guint64)G_MAXSIZE),
	                      error);
	if (r == NULL) {
		/* a body past the bound: a whole file instead of a range */
		if (ac_http_client_last_answer_too_large (self->http))
			g_prefix_error (error,
			                "the server ignores Range requests and the file is "
			                "larger than %" G_GUINT64_FORMAT " bytes: ",
			                max_whole);
		g_prefix_error (error, "%s %s: ", what, hash);
		return NULL;
	}
	data = g_bytes_get_data (r->body, &len);
	if (r->status == 206 && !stored_check_partial (f, r, 0, MAX (head, 1), error)) {
		g_prefix_error (error, "%s %s: ", what, hash);
		return NULL;
	}
	f->head = g_byte_array_sized_new ((guint)len);
	g_byte_array_append (f->head, data, (guint)len);
	if (r->status == 200 || len == f->size) {
		/* the whole file: a server that ignores Range, or a file within @head */
		if (!stored_verify (r->body, what, hash, f->url, item_type, item_hash, error))
			return NULL;
		f->size = len;
		f->whole = TRUE;
	}
	return g_steal_pointer (&f);
}

guint64
ac_ccn_stored_file_get_size (AcCcnStoredFile *f)
{
	return f->size;
}

gboolean
ac_ccn_stored_file_is_whole (AcCcnStoredFile *f)
{
	return f->whole;
}

gboolean
ac_ccn_stored_file_read (AcCcnStoredFile *f, guint64 offset, guint8 *buf, gsize len, GError **error)
{
	g_autoptr (AcHttpResponse) r = NULL;
	guint64 have = f->head->len;
	guint64 from;
	gsize want;

	if (offset > f->size || len > f->size - offset) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "%s %s: bytes %" G_GUINT64_FORMAT "-%" G_GUINT64_FORMAT
		             " lie beyond its end (%" G_GUINT64_FORMAT " bytes)",
		             f->what, f->hash, offset, offset + len - 1, f->size);
		return FALSE;
	}
	if (offset + len <= have) {
		memcpy (buf, f->head->data + offset, len);
		return TRUE;
	}
	/* what follows the bytes read so far extends them; a part further on is read alone */
	from = offset <= have && offset + len - have <= AC_CCN_STORED_MAX_READ ? have : offset;
	want = (gsize)(offset + len - from);
	if (want > AC_CCN_STORED_MAX_READ) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "%s %s: a read of %" G_GSIZE_FORMAT " bytes, more than %u at once",
		             f->what, f->hash, want, AC_CCN_STORED_MAX_READ);
		return FALSE;
	}
	r = stored_get_range (f, from, want, want, error);
	if (r == NULL || r->status != 206 || !stored_check_partial (f, r, from, want, error)
	    || g_bytes_get_size (r->body) != want) {
		if (r != NULL && error != NULL && *error == NULL)
			g_set_error (error, AC_ERROR, AC_ERROR_REMOTE,
			             "GET %s: no answer of bytes %" G_GUINT64_FORMAT
			             "-%" G_GUINT64_FORMAT " (HTTP %u)",
			             f->url, from, from + want - 1, r->status);
		g_prefix_error (error, "%s %s: ", f->what, f->hash);
		return FALSE;
	}
	if (from == have) {
		g_byte_array_append (f->head, g_bytes_get_data (r->body, NULL), (guint)want);
		memcpy (buf, f->head->data + offset, len);
	} else {
		memcpy (buf, g_bytes_get_data (r->body, NULL), len);
	}
	return TRUE;
}
