/*
 * aleph-confidential: the CCN client (messages, prices, balances, queries, uploads)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ac-aleph-client.h"
#include "ac-aleph-client-private.h"
#include "ac-aleph-payment.h"
#include "ac-aleph-util.h"
#include "ac-car.h"
#include "ac-codec.h"
#include "ac-digest-file.h"
#include "ac-error.h"
#include "ac-file.h"
#include "ac-time.h"
#include "ac-unixfs.h"

AcCcnClient *
ac_ccn_client_new (const gchar *api_url, AcHttpClient *http, GError **error)
{
	g_autofree gchar *api
	    = ac_http_sanitize_base_url (api_url != NULL ? api_url : AC_ALEPH_DEFAULT_API, error);
	AcCcnClient *self;
	if (api == NULL)
		return NULL;
	self = g_new0 (AcCcnClient, 1);
	self->api = g_steal_pointer (&api);
	self->http = http;
	self->store_payment = g_strdup (ac_payment_default ("STORE"));
	self->poll_first_ms = 1000;
	self->poll_max_ms = 10000;
	return self;
}

void
ac_ccn_client_free (AcCcnClient *self)
{
	if (self == NULL)
		return;
	g_free (self->api);
	g_free (self->store_payment);
	g_free (self);
}

gboolean
ac_ccn_client_set_store_payment (AcCcnClient *self, const gchar *payment, GError **error)
{
	if (!ac_payment_type_is_known ("STORE", payment)) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "STORE payment '%s': expected credit or hold",
		             payment != NULL ? payment : "");
		return FALSE;
	}
	g_free (self->store_payment);
	self->store_payment = g_strdup (payment);
	return TRUE;
}

void
ac_ccn_client_set_poll (AcCcnClient *self, guint first_ms, guint max_ms)
{
	self->poll_first_ms = MAX (first_ms, 1u);
	self->poll_max_ms = MAX (max_ms, first_ms);
}

gboolean
ac_ccn_post_message (AcCcnClient *self,
                     const AcAlephMessage *msg,
                     gboolean sync,
                     AcPostResult *result,
                     GError **error)
{
	g_autofree gchar *url = g_strdup_printf ("%s/api/v0/messages", self->api);
	g_autofree gchar *body = ac_aleph_message_post_body (msg, sync);
	g_autoptr (GBytes) b = g_bytes_new (body, strlen (body));
	g_autoptr (AcHttpResponse) r = NULL;
	const gchar *data;
	gsize len;

	/* not retried: the caller polls the status instead of sending twice */
	r = ac_http_request (self->http, "POST", url, NULL, "application/json", b,
	                     AC_HTTP_ACCEPT_ANY_STATUS | (sync ? AC_HTTP_SLOW_ANSWER : 0), error);
	if (r == NULL)
		return FALSE;
	data = ac_http_response_get_data (r, &len);
	if (!ac_ccn_parse_post_response (r->status, data, len, result, error)) {
		g_prefix_error (error, "POST %s: ", url);
		return FALSE;
	}
	return TRUE;
}

static AcMessageInfo *
get_info (AcCcnClient *self, const gchar *item_hash, const gchar *suffix, GError **error)
{
	g_autofree gchar *url = NULL;
	g_autoptr (AcHttpResponse) r = NULL;
	const gchar *data;
	gsize len;
	AcMessageInfo *info;

	if (!ac_item_hash_is_valid (item_hash)) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT, "'%s' is not an item hash",
		             item_hash);
		return NULL;
	}
	url = g_strdup_printf ("%s/api/v0/messages/%s%s", self->api, item_hash, suffix);
	r = ac_http_request (self->http, "GET", url, NULL, NULL, NULL, AC_HTTP_IDEMPOTENT, error);
	if (r == NULL)
		return NULL;
	data = ac_http_response_get_data (r, &len);
	info = ac_ccn_parse_message_info (data, len, error);
	if (info == NULL)
		g_prefix_error (error, "GET %s: ", url);
	return info;
}

AcMessageInfo *
ac_ccn_get_message (AcCcnClient *self, const gchar *item_hash, GError **error)
{
	return get_info (self, item_hash, "", error);
}

AcMessageInfo *
ac_ccn_get_message_status (AcCcnClient *self, const gchar *item_hash, GError **error)
{
	return get_info (self, item_hash, "/status", error);
}

AcMessageInfo *
ac_ccn_wait_processed (AcCcnClient *self,
                       const gchar *item_hash,
                       guint timeout_ms,
                       AcProgress *progress,
                       GError **error)
{
	gint64 deadline = g_get_monotonic_time () + (gint64)timeout_ms * 1000;
	AcMessageStatus last = AC_MESSAGE_STATUS_UNKNOWN;

	for (guint attempt = 0;; attempt++) {
		g_autoptr (GError) error_local = NULL;
		g_autoptr (AcMessageInfo) info
		    = ac_ccn_get_message_status (self, item_hash, &error_local);
		gint64 now;
		guint delay;

		if (info == NULL) {
			/* just posted: the CCN may not know it yet */
			if (!g_error_matches (error_local, AC_ERROR, AC_ERROR_NOT_FOUND)) {
				g_propagate_error (error, g_steal_pointer (&error_local));
				return NULL;
			}
		} else {
			last = info->status;
			switch (info->status) {
			case AC_MESSAGE_STATUS_PROCESSED:
				if (progress != NULL)
					ac_progress_set_fraction (progress, 1, 1);
				return ac_ccn_get_message (self, item_hash, error);
			case AC_MESSAGE_STATUS_REJECTED: {
				g_autoptr (AcMessageInfo) full
				    = ac_ccn_get_message (self, item_hash, NULL);
				g_autofree gchar *why = ac_message_info_describe_rejection (
				    full != NULL ? full : info);
				g_set_error (error, AC_ERROR, AC_ERROR_REMOTE, "message %s was %s",
				             item_hash, why);
				return NULL;
			}
			case AC_MESSAGE_STATUS_FORGOTTEN:
			case AC_MESSAGE_STATUS_REMOVING:
			case AC_MESSAGE_STATUS_REMOVED:
				g_set_error (error, AC_ERROR, AC_ERROR_REMOTE,
				             "message %s is %s, it will never be processed",
				             item_hash, ac_message_status_to_string (info->status));
				return NULL;
			default:
				break;
			}
		}
		now = g_get_monotonic_time ();
		if (now >= deadline) {
			g_set_error (error, AC_ERROR, AC_ERROR_NETWORK,
			             "message %s still %s after %u s", item_hash,
			             last == AC_MESSAGE_STATUS_UNKNOWN
			                 ? "unknown to the CCN"
			                 : ac_message_status_to_string (last),
			             timeout_ms / 1000);
			return NULL;
		}
		delay
		    = ac_aleph_client_poll_delay (self->poll_first_ms, self->poll_max_ms, attempt);
		delay = (guint)MIN ((gint64)delay, (deadline - now) / 1000 + 1);
		if (!ac_http_client_sleep (self->http, delay, error))
			return NULL;
	}
}

gchar *
ac_ccn_price_estimate (AcCcnClient *self, const AcAlephMessage *msg, GError **error)
{
	g_autofree gchar *url = g_strdup_printf ("%s/api/v0/price/estimate", self->api);
	AcAlephMessage copy = *msg;
	g_autofree gchar *dummy = g_strconcat ("0x", NULL);
	g_autoptr (JsonObject) o = json_object_new ();
	g_autoptr (JsonNode) root = NULL;
	g_autofree gchar *body = NULL;
	g_autoptr (GBytes) b = NULL;
	g_autoptr (AcHttpResponse) r = NULL;
	g_autoptr (JsonNode) answer = NULL;
	const gchar *data;
	gsize len;

	{
		GString *s = g_string_new ("0x");
		for (guint i = 0; i < 130; i++)
			g_string_append_c (s, '0');
		g_free (dummy);
		dummy = g_string_free (s, FALSE);
	}
	copy.signature = dummy;
	json_object_set_member (o, "message", ac_aleph_message_to_json (&copy));
	root = json_node_init_object (json_node_alloc (), o);
	body = ac_json_to_python_compact (root);
	b = g_bytes_new (body, strlen (body));
	r = ac_http_request (self->http, "POST", url, NULL, "application/json", b,
	                     AC_HTTP_IDEMPOTENT, error);
	if (r == NULL)
		return NULL;
	data = ac_http_response_get_data (r, &len);
	answer = ac_json_parse_untrusted ("price estimate", data, len, error);
	if (answer == NULL || !JSON_NODE_HOLDS_OBJECT (answer)
	    || !json_object_has_member (json_node_get_object (answer), "required_tokens")) {
		if (error != NULL && *error == NULL)
			g_set_error_literal (error, AC_ERROR, AC_ERROR_REMOTE,
			                     "price estimate: no required_tokens in the answer");
		g_prefix_error (error, "POST %s: ", url);
		return NULL;
	}
	return ac_json_to_python_compact (answer);
}

/*
 * GET @url of the CCN: its answer, a JSON object. @no_api (nullable) names what a 404 means
 * (%AC_ERROR_NOT_FOUND); any other failure is %AC_ERROR_REMOTE naming the URL.
 */
static JsonNode *
ac_ccn_get_object (AcCcnClient *self,
                   const gchar *url,
                   const gchar *what,
                   const gchar *no_api,
                   GError **error)
{
	g_autoptr (AcHttpResponse) r = NULL;
	g_autoptr (JsonNode) answer = NULL;
	const gchar *data;
	gsize len;

	r = ac_http_request (self->http, "GET", url, NULL, NULL, NULL,
	                     AC_HTTP_IDEMPOTENT | AC_HTTP_ACCEPT_ANY_STATUS, error);
	if (r == NULL)
		return NULL;
	data = ac_http_response_get_data (r, &len);
	if (r->status == 404 && no_api != NULL) {
		g_set_error (error, AC_ERROR, AC_ERROR_NOT_FOUND, "GET %s: %s", url, no_api);
		return NULL;
	}
	if (r->status != 200) {
		g_autofree gchar *text = ac_http_error_text (data, len);
		g_set_error (error, AC_ERROR, AC_ERROR_REMOTE,
		             "GET %s: HTTP %u: %s (is %s an Aleph API, a CCN?)", url, r->status,
		             text, self->api);
		return NULL;
	}
	answer = ac_json_parse_untrusted (what, data, len, error);
	if (answer == NULL) {
		g_prefix_error (error, "GET %s: ", url);
		return NULL;
	}
	if (!JSON_NODE_HOLDS_OBJECT (answer)) {
		g_set_error (error, AC_ERROR, AC_ERROR_REMOTE,
		             "GET %s: the %s is not a JSON object", url, what);
		return NULL;
	}
	return g_steal_pointer (&answer);
}

/**
 * ac_ccn_get_version:
 *
 * The version the CCN reports (GET /api/v0/version, pyaleph's {"version": "…"}).
 */
gchar *
ac_ccn_get_version (AcCcnClient *self, GError **error)
{
	g_autofree gchar *url = g_strdup_printf ("%s/api/v0/version", self->api);
	g_autoptr (JsonNode) answer = ac_ccn_get_object (self, url, "version", NULL, error);
	JsonNode *n;

	if (answer == NULL)
		return NULL;
	n = json_object_get_member (json_node_get_object (answer), "version");
	if (n == NULL || !JSON_NODE_HOLDS_VALUE (n)
	    || json_node_get_value_type (n) != G_TYPE_STRING) {
		g_set_error (error, AC_ERROR, AC_ERROR_REMOTE,
		             "GET %s: expected {\"version\": \"…\"}, as a CCN (pyaleph) answers",
		             url);
		return NULL;
	}
	/* shown in messages: valid UTF-8, and bounded */
	return g_utf8_make_valid (json_node_get_string (n),
	                          (gssize)MIN (strlen (json_node_get_string (n)), 64));
}

/**
 * ac_ccn_check_version:
 * @min_version: the oldest version accepted (MAJOR.MINOR[.PATCH])
 * @version: (out) (optional): the version the CCN reports
 *
 * Whether the CCN answers, with a version at least @min_version: refused (%AC_ERROR_REFUSED)
 * naming both versions when it is older, %AC_ERROR_REMOTE when its answer is no version.
 */
gboolean
ac_ccn_check_version (AcCcnClient *self, const gchar *min_version, gchar **version, GError **error)
{
	g_autofree gchar *v = NULL;
	guint have[3], want[3];

	if (!ac_version_parse (min_version, want)) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "minimum CCN version '%s': expected MAJOR.MINOR[.PATCH] such as 0.5.0",
		             min_version);
		return FALSE;
	}
	v = ac_ccn_get_version (self, error);
	if (v == NULL)
		return FALSE;
	if (!ac_version_parse (v, have)) {
		g_set_error (error, AC_ERROR, AC_ERROR_REMOTE,
		             "the CCN at %s reports version '%s', which is not MAJOR.MINOR[.PATCH]",
		             self->api, v);
		return FALSE;
	}
	if (ac_version_compare (have, want) < 0) {
		g_set_error (
		    error, AC_ERROR, AC_ERROR_REFUSED,
		    "the CCN at %s runs version %s, older than %s, the oldest accepted: use "
		    "another API or lower the minimum",
		    self->api, v, min_version);
		return FALSE;
	}
	if (version != NULL)
		*version = g_steal_pointer (&v);
	return TRUE;
}

gboolean
ac_ccn_get_credit_balance (AcCcnClient *self,
                           const gchar *address,
                           gdouble *credits,
                           GError **error)
{
	g_autofree gchar *esc = g_uri_escape_string (address, NULL, FALSE);
	g_autofree gchar *url = g_strdup_printf ("%s/api/v0/addresses/%s/balance", self->api, esc);
	g_autoptr (JsonNode) answer
	    = ac_ccn_get_object (self, url, "balance", "the CCN has no balance API", error);
	JsonNode *n;

	if (answer == NULL)
		return FALSE;
	n = json_object_get_member (json_node_get_object (answer), "credit_balance");
	if (n == NULL || !JSON_NODE_HOLDS_VALUE (n)
	    || (json_node_get_value_type (n) != G_TYPE_INT64
	        && json_node_get_value_type (n) != G_TYPE_DOUBLE)) {
		g_set_error (error, AC_ERROR, AC_ERROR_NOT_FOUND,
		             "GET %s: no credit_balance in the answer", url);
		return FALSE;
	}
	*credits = json_node_get_value_type (n) == G_TYPE_INT64 ? (gdouble)json_node_get_int (n)
	                                                        : json_node_get_double (n);
	return TRUE;
}

static void
append_list (GString *q, const gchar *name, const gchar *const *values)
{
	g_autofree gchar *joined = NULL;
	g_autofree gchar *esc = NULL;
	if (values == NULL || values[0] == NULL)
		return;
	joined = g_strjoinv (",", (gchar **)values);
	esc = g_uri_escape_string (joined, ",", FALSE);
	g_string_append_printf (q, "&%s=%s", name, esc);
}

GPtrArray *
ac_ccn_query_messages (AcCcnClient *self,
                       const gchar *const *hashes,
                       const gchar *msg_type,
                       const gchar *const *addresses,
                       const gchar *const *refs,
                       guint page,
                       guint per_page,
                       guint *total,
                       GError **error)
{
	g_autoptr (GString) url = g_string_new (NULL);
	g_autoptr (AcHttpResponse) r = NULL;
	const gchar *data;
	gsize len;
	GPtrArray *msgs;

	g_string_printf (url, "%s/api/v0/messages.json?page=%u&pagination=%u", self->api,
	                 MAX (page, 1u), CLAMP (per_page, 1u, 500u));
	append_list (url, "hashes", hashes);
	append_list (url, "addresses", addresses);
	append_list (url, "refs", refs);
	if (msg_type != NULL) {
		g_autofree gchar *esc = g_uri_escape_string (msg_type, NULL, FALSE);
		g_string_append_printf (url, "&msgType=%s", esc);
	}
	r = ac_http_request (self->http, "GET", url->str, NULL, NULL, NULL, AC_HTTP_IDEMPOTENT,
	                     error);
	if (r == NULL)
		return NULL;
	data = ac_http_response_get_data (r, &len);
	msgs = ac_ccn_parse_messages_page (data, len, total, error);
	if (msgs == NULL)
		g_prefix_error (error, "GET %s: ", url->str);
	return msgs;
}

static gssize
car_source_read (gpointer user_data, guint8 *buf, gsize len, GError **error)
{
	return ac_car_stream_read (user_data, buf, len, error);
}

static gboolean
car_source_rewind (gpointer user_data, GError **error)
{
	return ac_car_stream_rewind (user_data, error);
}

/* the signed STORE of an upload (sent with it as its metadata part, in @metadata) */
static AcAlephMessage *
upload_store_message (AcCcnClient *self,
                      AcCcnUploadKind kind,
                      const gchar *item_hash,
                      AcEthAccount *account,
                      const gchar *channel,
                      gdouble now,
                      GBytes **metadata,
                      GError **error)
{
	g_autoptr (JsonObject) content = json_object_new ();
	g_autoptr (JsonNode) cnode = NULL;
	g_autoptr (JsonObject) meta = json_object_new ();
	g_autoptr (JsonNode) mnode = NULL;
	g_autoptr (JsonObject) payment = json_object_new ();
	g_autoptr (AcAlephMessage) store = NULL;
	gchar *text;
	json_object_set_string_member (content, "item_type",
	                               kind == AC_CCN_UPLOAD_STORAGE ? "storage" : "ipfs");
	json_object_set_string_member (content, "item_hash", item_hash);
	json_object_set_string_member (payment, "chain", "ETH");
	json_object_set_string_member (payment, "type", self->store_payment);
	json_object_set_object_member (content, "payment", json_object_ref (payment));
	cnode = json_node_init_object (json_node_alloc (), json_object_ref (content));
	store = ac_aleph_message_build ("STORE", cnode, ac_eth_account_get_address (account),
	                                channel, now, error);
	if (store == NULL || !ac_aleph_message_sign (store, account, error))
		return NULL;
	json_object_set_member (meta, "message", ac_aleph_message_to_json (store));
	json_object_set_boolean_member (meta, "sync", TRUE);
	mnode = json_node_init_object (json_node_alloc (), json_object_ref (meta));
	text = ac_json_to_python_compact (mnode);
	*metadata = g_bytes_new_take (text, strlen (text));
	return g_steal_pointer (&store);
}

/* the CID or hash the node says it stored, checked against @ours */
static gchar *
upload_answer (AcCcnClient *self,
               AcHttpResponse *r,
               const gchar *url,
               const gchar *path,
               AcAlephMessage *store,
               const gchar *ours,
               GError **error)
{
	g_autofree gchar *theirs = NULL;
	const gchar *data;
	gsize len;
	data = ac_http_response_get_data (r, &len);
	if (r->status == 422 && store != NULL) {
		/* the STORE was processed and rejected: say why, with the network's error code */
		g_autoptr (AcMessageInfo) info = ac_ccn_get_message (self, store->item_hash, NULL);
		if (info != NULL && info->status == AC_MESSAGE_STATUS_REJECTED) {
			g_autofree gchar *why = ac_message_info_describe_rejection (info);
			g_set_error (error, AC_ERROR, AC_ERROR_REMOTE,
			             "POST %s: the STORE %s of %s was %s", url, store->item_hash,
			             path, why);
			return NULL;
		}
	}
	if (r->status != 200 && r->status != 202) {
		g_autofree gchar *text = ac_http_error_text (data, len);
		const gchar *hint = r->status == 402   ? " (insufficient balance)"
		                    : r->status == 403 ? " (the signature was refused)"
		                    : r->status == 413
		                        ? " (the file is above the node's upload limit)"
		                        : "";
		g_set_error (error, AC_ERROR, AC_ERROR_REMOTE, "POST %s: HTTP %u%s: %s", url,
		             r->status, hint, text);
		return NULL;
	}
	theirs = ac_ccn_parse_upload (data, len, error);
	if (theirs == NULL) {
		g_prefix_error (error, "POST %s: ", url);
		return NULL;
	}
	if (g_strcmp0 (theirs, ours) != 0) {
		g_set_error (error, AC_ERROR, AC_ERROR_MISMATCH,
		             "POST %s: the node stored %s as %s, we computed %s", url, path, theirs,
		             ours);
		return NULL;
	}
	return g_steal_pointer (&theirs);
}

gchar *
ac_ccn_upload_file (AcCcnClient *self,
                    AcCcnUploadKind kind,
                    const gchar *path,
                    AcEthAccount *account,
                    const gchar *channel,
                    AcAlephMessage **store_out,
                    AcProgress *progress,
                    GError **error)
{
	static const gchar *const endpoints[]
	    = { "storage/add_file", "ipfs/add_file", "ipfs/add_car" };
	g_autofree gchar *url = g_strdup_printf ("%s/api/v0/%s", self->api, endpoints[kind]);
	g_autofree gchar *ours = NULL;
	g_autofree gchar *basename = g_path_get_basename (path);
	g_autoptr (GBytes) metadata_bytes = NULL;
	g_autoptr (AcAlephMessage) store = NULL;
	g_autoptr (AcCarStream) car = NULL;
	g_autoptr (AcHttpResponse) r = NULL;
	g_autofree gchar *theirs = NULL;
	AcAlephFileSource src = { -1, NULL, 0 };
	AcHttpPart parts[2];
	guint n_parts = 0;
	gdouble now = ac_time_now_unix (); /* the STORE's date */

	memset (parts, 0, sizeof (parts));
	/* refused before the file is even read when the network's rules refuse it on this date */
	if (account != NULL && !ac_payment_check (NULL, "STORE", self->store_payment, now, error))
		return NULL;
	if (kind == AC_CCN_UPLOAD_CAR) {
		car = ac_car_stream_new (path, NULL, NULL, error);
		if (car == NULL)
			return NULL;
		ours = ac_cid_v0_to_string (ac_car_stream_get_root (car));
	} else {
		/* a regular file, opened without blocking on a FIFO; streamed, so no size bound */
		src.fd = ac_file_open_regular (path, G_MAXSIZE, &src.size, error);
		if (src.fd < 0)
			return NULL;
		src.path = (gchar *)path;
		ours = kind == AC_CCN_UPLOAD_STORAGE
		           ? ac_sha256_fd_hex (src.fd, path, NULL, error)
		           : ac_ipfs_file_cid_string (path, NULL, NULL, error);
		if (ours == NULL) {
			close (src.fd);
			return NULL;
		}
	}
	if (account != NULL) {
		store = upload_store_message (self, kind, ours, account, channel, now,
		                              &metadata_bytes, error);
		if (store == NULL) {
			if (src.fd >= 0)
				close (src.fd);
			return NULL;
		}
		parts[n_parts].name = "metadata";
		parts[n_parts].content_type = "application/json";
		parts[n_parts].data = metadata_bytes;
		n_parts++;
	}
	parts[n_parts].name = "file";
	if (car != NULL) {
		g_autofree gchar *car_name = g_strdup_printf ("%s.car", basename);
		parts[n_parts].filename = g_intern_string (car_name);
		parts[n_parts].content_type = "application/vnd.ipld.car";
		parts[n_parts].read = car_source_read;
		parts[n_parts].rewind = car_source_rewind;
		parts[n_parts].user_data = car;
		parts[n_parts].size = ac_car_stream_get_size (car);
	} else {
		parts[n_parts].filename = g_intern_string (basename);
		parts[n_parts].content_type = "application/octet-stream";
		parts[n_parts].read = ac_aleph_client_file_source_read;
		parts[n_parts].rewind = ac_aleph_client_file_source_rewind;
		parts[n_parts].user_data = &src;
		parts[n_parts].size = src.size;
	}
	n_parts++;
	/* content-addressed: resending the same bytes is harmless, so retries are allowed */
	r = ac_http_post_multipart (self->http, url, NULL, parts, n_parts,
	                            AC_HTTP_IDEMPOTENT | AC_HTTP_ACCEPT_ANY_STATUS, progress,
	                            error);
	if (src.fd >= 0)
		close (src.fd);
	if (r == NULL)
		return NULL;
	theirs = upload_answer (self, r, url, path, store, ours, error);
	if (theirs == NULL)
		return NULL;
	if (store_out != NULL)
		*store_out = g_steal_pointer (&store);
	return g_steal_pointer (&theirs);
}
