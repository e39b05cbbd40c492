/*
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "ac-aleph-client.h"
#include "ac-aleph-payment.h"
#include "ac-aleph-util.h"
#include "ac-car.h"
#include "ac-error.h"
#include "ac-file.h"

struct _AcCcnClient {
	gchar *api;
	AcHttpClient *http; /* borrowed */
	gchar *store_payment; /* payment.type of the STOREs we sign */
	guint poll_first_ms;
	guint poll_max_ms;
};

struct _AcCrnClient {
	gchar *base;
	gchar *domain;
	AcEthAccount *account; /* borrowed */
	AcHttpClient *http;    /* borrowed */
	AcCrnAuth *auth;
	guint poll_first_ms;
	guint poll_max_ms;
};

/* jittered exponential delay for polling: never a fixed sleep */
static guint
poll_delay (guint first_ms, guint max_ms, guint attempt)
{
	guint64 step = (guint64)first_ms << MIN (attempt, 16u);
	step = MIN (step, (guint64)max_ms);
	return (guint)(step / 2 + g_random_int_range (0, (gint32)MAX (step / 2, 1u) + 1));
}

/* ---- CCN ---- */

AcCcnClient *
ac_ccn_client_new (const gchar *api_url, AcHttpClient *http, GError **error)
{
	g_autofree gchar *api = ac_http_sanitize_base_url (api_url != NULL ? api_url
									   : AC_ALEPH_DEFAULT_API,
							   error);
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
			     "STORE payment '%s': expected credit or hold", payment != NULL ? payment : "");
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
	g_autoptr(GBytes) b = g_bytes_new (body, strlen (body));
	g_autoptr(AcHttpResponse) r = NULL;
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
	g_autoptr(AcHttpResponse) r = NULL;
	const gchar *data;
	gsize len;
	AcMessageInfo *info;

	if (!ac_item_hash_is_valid (item_hash)) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			     "'%s' is not an item hash", item_hash);
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
		g_autoptr(GError) error_local = NULL;
		g_autoptr(AcMessageInfo) info = ac_ccn_get_message_status (self, item_hash, &error_local);
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
				g_autoptr(AcMessageInfo) full = ac_ccn_get_message (self, item_hash, NULL);
				g_autofree gchar *why =
				    ac_message_info_describe_rejection (full != NULL ? full : info);
				g_set_error (error, AC_ERROR, AC_ERROR_REMOTE,
					     "message %s was %s", item_hash, why);
				return NULL;
			}
			case AC_MESSAGE_STATUS_FORGOTTEN:
			case AC_MESSAGE_STATUS_REMOVING:
			case AC_MESSAGE_STATUS_REMOVED:
				g_set_error (error, AC_ERROR, AC_ERROR_REMOTE,
					     "message %s is %s, it will never be processed", item_hash,
					     ac_message_status_to_string (info->status));
				return NULL;
			default:
				break;
			}
		}
		now = g_get_monotonic_time ();
		if (now >= deadline) {
			g_set_error (error, AC_ERROR, AC_ERROR_NETWORK,
				     "message %s still %s after %u s", item_hash,
				     last == AC_MESSAGE_STATUS_UNKNOWN ? "unknown to the CCN"
								       : ac_message_status_to_string (last),
				     timeout_ms / 1000);
			return NULL;
		}
		delay = poll_delay (self->poll_first_ms, self->poll_max_ms, attempt);
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
	g_autoptr(JsonObject) o = json_object_new ();
	g_autoptr(JsonNode) root = NULL;
	g_autofree gchar *body = NULL;
	g_autoptr(GBytes) b = NULL;
	g_autoptr(AcHttpResponse) r = NULL;
	g_autoptr(JsonNode) answer = NULL;
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
	if (answer == NULL || !JSON_NODE_HOLDS_OBJECT (answer) ||
	    !json_object_has_member (json_node_get_object (answer), "required_tokens")) {
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
ac_ccn_get_object (AcCcnClient *self, const gchar *url, const gchar *what, const gchar *no_api, GError **error)
{
	g_autoptr(AcHttpResponse) r = NULL;
	g_autoptr(JsonNode) answer = NULL;
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
			     "GET %s: HTTP %u: %s (is %s an Aleph API, a CCN?)", url, r->status, text,
			     self->api);
		return NULL;
	}
	answer = ac_json_parse_untrusted (what, data, len, error);
	if (answer == NULL) {
		g_prefix_error (error, "GET %s: ", url);
		return NULL;
	}
	if (!JSON_NODE_HOLDS_OBJECT (answer)) {
		g_set_error (error, AC_ERROR, AC_ERROR_REMOTE, "GET %s: the %s is not a JSON object", url, what);
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
	g_autoptr(JsonNode) answer = ac_ccn_get_object (self, url, "version", NULL, error);
	JsonNode *n;

	if (answer == NULL)
		return NULL;
	n = json_object_get_member (json_node_get_object (answer), "version");
	if (n == NULL || !JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_STRING) {
		g_set_error (error, AC_ERROR, AC_ERROR_REMOTE,
			     "GET %s: expected {\"version\": \"…\"}, as a CCN (pyaleph) answers", url);
		return NULL;
	}
	/* shown in messages: valid UTF-8, and bounded */
	return g_utf8_make_valid (json_node_get_string (n), (gssize)MIN (strlen (json_node_get_string (n)), 64));
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
			     "minimum CCN version '%s': expected MAJOR.MINOR[.PATCH] such as 0.5.0", min_version);
		return FALSE;
	}
	v = ac_ccn_get_version (self, error);
	if (v == NULL)
		return FALSE;
	if (!ac_version_parse (v, have)) {
		g_set_error (error, AC_ERROR, AC_ERROR_REMOTE,
			     "the CCN at %s reports version '%s', which is not MAJOR.MINOR[.PATCH]", self->api, v);
		return FALSE;
	}
	if (ac_version_compare (have, want) < 0) {
		g_set_error (error, AC_ERROR, AC_ERROR_REFUSED,
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
ac_ccn_get_credit_balance (AcCcnClient *self, const gchar *address, gdouble *credits, GError **error)
{
	g_autofree gchar *esc = g_uri_escape_string (address, NULL, FALSE);
	g_autofree gchar *url = g_strdup_printf ("%s/api/v0/addresses/%s/balance", self->api, esc);
	g_autoptr(JsonNode) answer = ac_ccn_get_object (self, url, "balance", "the CCN has no balance API", error);
	JsonNode *n;

	if (answer == NULL)
		return FALSE;
	n = json_object_get_member (json_node_get_object (answer), "credit_balance");
	if (n == NULL || !JSON_NODE_HOLDS_VALUE (n) ||
	    (json_node_get_value_type (n) != G_TYPE_INT64 && json_node_get_value_type (n) != G_TYPE_DOUBLE)) {
		g_set_error (error, AC_ERROR, AC_ERROR_NOT_FOUND, "GET %s: no credit_balance in the answer",
			     url);
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
	g_autoptr(GString) url = g_string_new (NULL);
	g_autoptr(AcHttpResponse) r = NULL;
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
	r = ac_http_request (self->http, "GET", url->str, NULL, NULL, NULL, AC_HTTP_IDEMPOTENT, error);
	if (r == NULL)
		return NULL;
	data = ac_http_response_get_data (r, &len);
	msgs = ac_ccn_parse_messages_page (data, len, total, error);
	if (msgs == NULL)
		g_prefix_error (error, "GET %s: ", url->str);
	return msgs;
}

/* a plain file streamed as a multipart part */
typedef struct {
	int fd;
	gchar *path;
	guint64 size;
} AcFileSource;

static gssize
file_source_read (gpointer user_data, guint8 *buf, gsize len, GError **error)
{
	AcFileSource *s = user_data;
	ssize_t n;
	do {
		n = read (s->fd, buf, len);
	} while (n < 0 && errno == EINTR);
	if (n < 0) {
		int errsv = errno;
		g_set_error (error, AC_ERROR, AC_ERROR_IO, "cannot read %s: %s", s->path,
			     g_strerror (errsv));
		return -1;
	}
	return n;
}

static gboolean
file_source_rewind (gpointer user_data, GError **error)
{
	AcFileSource *s = user_data;
	if (lseek (s->fd, 0, SEEK_SET) != 0) {
		int errsv = errno;
		g_set_error (error, AC_ERROR, AC_ERROR_IO, "cannot rewind %s: %s", s->path,
			     g_strerror (errsv));
		return FALSE;
	}
	return TRUE;
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

static gchar *
file_sha256 (int fd, const gchar *path, GError **error)
{
	g_autofree guint8 *buf = g_malloc (1024 * 1024);
	EVP_MD_CTX *md = EVP_MD_CTX_new ();
	guint8 out[32];
	unsigned int out_len = sizeof (out);
	ssize_t n;

	EVP_DigestInit_ex (md, EVP_sha256 (), NULL);
	while ((n = read (fd, buf, 1024 * 1024)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int errsv = errno;
			EVP_MD_CTX_free (md);
			g_set_error (error, AC_ERROR, AC_ERROR_IO, "cannot read %s: %s", path,
				     g_strerror (errsv));
			return NULL;
		}
		EVP_DigestUpdate (md, buf, (size_t)n);
	}
	EVP_DigestFinal_ex (md, out, &out_len);
	EVP_MD_CTX_free (md);
	if (lseek (fd, 0, SEEK_SET) != 0) {
		g_set_error (error, AC_ERROR, AC_ERROR_IO, "cannot rewind %s", path);
		return NULL;
	}
	return ac_hex_encode (out, sizeof (out));
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
	static const gchar *const endpoints[] = { "storage/add_file", "ipfs/add_file", "ipfs/add_car" };
	g_autofree gchar *url = g_strdup_printf ("%s/api/v0/%s", self->api, endpoints[kind]);
	g_autofree gchar *ours = NULL;
	g_autofree gchar *basename = g_path_get_basename (path);
	g_autofree gchar *metadata = NULL;
	g_autoptr(GBytes) metadata_bytes = NULL;
	g_autoptr(AcAlephMessage) store = NULL;
	g_autoptr(AcCarStream) car = NULL;
	g_autoptr(AcHttpResponse) r = NULL;
	g_autofree gchar *theirs = NULL;
	AcFileSource src = { -1, NULL, 0 };
	AcHttpPart parts[2];
	guint n_parts = 0;
	gdouble now = (gdouble)g_get_real_time () / G_USEC_PER_SEC; /* the STORE's date */
	const gchar *data;
	gsize len;

	memset (parts, 0, sizeof (parts));
	/* refused before the file is even read when the network's rules refuse it on this date */
	if (account != NULL && !ac_payment_check (NULL, "STORE", self->store_payment, now, error))
		return NULL;
	if (kind == AC_CCN_UPLOAD_CAR) {
		car = ac_car_stream_new (path, NULL, error);
		if (car == NULL)
			return NULL;
		ours = ac_cid_v0_to_string (ac_car_stream_get_root (car));
	} else {
		/* a regular file, opened without blocking on a FIFO; streamed, so no size bound */
		src.fd = ac_file_open_regular (path, G_MAXSIZE, &src.size, error);
		if (src.fd < 0)
			return NULL;
		src.path = (gchar *)path;
		ours = kind == AC_CCN_UPLOAD_STORAGE ? file_sha256 (src.fd, path, error)
						     : ac_ipfs_file_cid_string (path, NULL, error);
		if (ours == NULL) {
			close (src.fd);
			return NULL;
		}
	}
	if (account != NULL) {
		g_autoptr(JsonObject) content = json_object_new ();
		g_autoptr(JsonNode) cnode = NULL;
		g_autoptr(JsonObject) meta = json_object_new ();
		g_autoptr(JsonNode) mnode = NULL;
		g_autoptr(JsonObject) payment = json_object_new ();
		json_object_set_string_member (content, "item_type",
					       kind == AC_CCN_UPLOAD_STORAGE ? "storage" : "ipfs");
		json_object_set_string_member (content, "item_hash", ours);
		json_object_set_string_member (payment, "chain", "ETH");
		json_object_set_string_member (payment, "type", self->store_payment);
		json_object_set_object_member (content, "payment", json_object_ref (payment));
		cnode = json_node_init_object (json_node_alloc (), json_object_ref (content));
		store = ac_aleph_message_build ("STORE", cnode, ac_eth_account_get_address (account),
						channel, now, error);
		if (store == NULL || !ac_aleph_message_sign (store, account, error)) {
			if (src.fd >= 0)
				close (src.fd);
			return NULL;
		}
		json_object_set_member (meta, "message", ac_aleph_message_to_json (store));
		json_object_set_boolean_member (meta, "sync", TRUE);
		mnode = json_node_init_object (json_node_alloc (), json_object_ref (meta));
		metadata = ac_json_to_python_compact (mnode);
		metadata_bytes = g_bytes_new (metadata, strlen (metadata));
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
		parts[n_parts].read = file_source_read;
		parts[n_parts].rewind = file_source_rewind;
		parts[n_parts].user_data = &src;
		parts[n_parts].size = src.size;
	}
	n_parts++;
	/* content-addressed: resending the same bytes is harmless, so retries are allowed */
	r = ac_http_post_multipart (self->http, url, NULL, parts, n_parts,
				    AC_HTTP_IDEMPOTENT | AC_HTTP_ACCEPT_ANY_STATUS, progress, error);
	if (src.fd >= 0)
		close (src.fd);
	if (r == NULL)
		return NULL;
	data = ac_http_response_get_data (r, &len);
	if (r->status == 422 && store != NULL) {
		/* the STORE was processed and rejected: say why, with the network's error code */
		g_autoptr(AcMessageInfo) info = ac_ccn_get_message (self, store->item_hash, NULL);
		if (info != NULL && info->status == AC_MESSAGE_STATUS_REJECTED) {
			g_autofree gchar *why = ac_message_info_describe_rejection (info);
			g_set_error (error, AC_ERROR, AC_ERROR_REMOTE, "POST %s: the STORE %s of %s was %s",
				     url, store->item_hash, path, why);
			return NULL;
		}
	}
	if (r->status != 200 && r->status != 202) {
		g_autofree gchar *text = ac_http_error_text (data, len);
		const gchar *hint = r->status == 402 ? " (insufficient balance)"
				    : r->status == 403 ? " (the signature was refused)"
				    : r->status == 413 ? " (the file is above the node's upload limit)"
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
	if (store_out != NULL)
		*store_out = g_steal_pointer (&store);
	return g_steal_pointer (&theirs);
}

GPtrArray *
ac_crn_list_fetch (AcHttpClient *http, const gchar *list_url, AcCrnFilter filter, GError **error)
{
	const gchar *base = list_url != NULL ? list_url : AC_ALEPH_DEFAULT_CRN_LIST;
	g_autofree gchar *url = g_strdup_printf ("%s%cfilter_inactive=true", base,
						 strchr (base, '?') != NULL ? '&' : '?');
	g_autoptr(AcHttpResponse) r = NULL;
	const gchar *data;
	gsize len;
	GPtrArray *crns;

	r = ac_http_request (http, "GET", url, NULL, NULL, NULL, AC_HTTP_IDEMPOTENT, error);
	if (r == NULL)
		return NULL;
	data = ac_http_response_get_data (r, &len);
	crns = ac_crn_parse_list (data, len, filter, error);
	if (crns == NULL)
		g_prefix_error (error, "GET %s: ", url);
	return crns;
}

/* ---- CRN ---- */

AcCrnClient *
ac_crn_client_new (const gchar *crn_url, AcEthAccount *account, AcHttpClient *http, GError **error)
{
	g_autofree gchar *base = ac_http_sanitize_base_url (crn_url, error);
	g_autoptr(GUri) uri = NULL;
	AcCrnClient *self;

	if (base == NULL)
		return NULL;
	uri = g_uri_parse (base, G_URI_FLAGS_NONE, error);
	if (uri == NULL)
		return NULL;
	self = g_new0 (AcCrnClient, 1);
	self->domain = ac_crn_domain_from_url (base, NULL);
	self->base = g_steal_pointer (&base);
	self->account = account;
	self->http = http;
	self->poll_first_ms = 500;
	self->poll_max_ms = 5000;
	return self;
}

void
ac_crn_client_free (AcCrnClient *self)
{
	if (self == NULL)
		return;
	g_free (self->base);
	g_free (self->domain);
	ac_crn_auth_free (self->auth);
	g_free (self);
}

void
ac_crn_client_set_poll (AcCrnClient *self, guint first_ms, guint max_ms)
{
	self->poll_first_ms = MAX (first_ms, 1u);
	self->poll_max_ms = MAX (max_ms, first_ms);
}

/* the two auth headers for one request; the ephemeral key lives one day */
static GPtrArray *
signed_headers (AcCrnClient *self, const gchar *method, const gchar *path, GError **error)
{
	g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
	g_autoptr(GPtrArray) h = g_ptr_array_new_with_free_func (g_free);
	g_autofree gchar *op = NULL;

	if (self->account == NULL) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
				     "this CRN operation needs an account to sign it");
		return NULL;
	}
	if (self->auth == NULL || ac_crn_auth_is_expired (self->auth, now, 300)) {
		g_autoptr(GDateTime) exp = g_date_time_add_days (now, 1);
		ac_crn_auth_free (self->auth);
		self->auth = ac_crn_auth_new (self->account, self->domain, exp, NULL, error);
		if (self->auth == NULL)
			return NULL;
	}
	op = ac_crn_auth_sign_operation (self->auth, method, path, now, error);
	if (op == NULL)
		return NULL;
	g_ptr_array_add (h, g_strdup_printf ("X-SignedPubKey: %s", ac_crn_auth_get_pubkey_header (self->auth)));
	g_ptr_array_add (h, g_strdup_printf ("X-SignedOperation: %s", op));
	g_ptr_array_add (h, NULL);
	return g_steal_pointer (&h);
}

static gchar *
vm_path (AcCrnClient *self, const gchar *vm_hash, const gchar *op, GError **error)
{
	if (vm_hash == NULL || strlen (vm_hash) != 64 || !ac_item_hash_is_valid (vm_hash)) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			     "'%s' is not an INSTANCE item hash (64 hex digits)",
			     vm_hash != NULL ? vm_hash : "(null)");
		return NULL;
	}
	/* signed as the SDK signs it: the route alone, without the base URL's path prefix */
	return g_strdup_printf ("/control/machine/%s/%s", vm_hash, op);
}

static gchar *
url_of (AcCrnClient *self, const gchar *path)
{
	/* the base URL keeps its path prefix, if any */
	return g_strconcat (self->base, path, NULL);
}

static gboolean
expect_ok (AcHttpResponse *r, const gchar *method, const gchar *url, GError **error)
{
	const gchar *data;
	gsize len;
	g_autofree gchar *text = NULL;

	if (r->status >= 200 && r->status < 300)
		return TRUE;
	data = ac_http_response_get_data (r, &len);
	text = ac_http_error_text (data, len);
	g_set_error (error, AC_ERROR,
		     r->status == 404 ? AC_ERROR_NOT_FOUND
		     : (r->status == 401 || r->status == 403) ? AC_ERROR_PERMISSION
							      : AC_ERROR_REMOTE,
		     "%s %s: HTTP %u: %s", method, url, r->status, text);
	return FALSE;
}

/* Whether the CRN's error answer @r is the JSON {"code": @code, …} aleph-vm sends. */
static gboolean
crn_answer_code_is (AcHttpResponse *r, const gchar *code)
{
	g_autoptr(JsonParser) parser = json_parser_new ();
	JsonNode *root;
	const gchar *data;
	gsize len;

	data = ac_http_response_get_data (r, &len);
	if (data == NULL || !json_parser_load_from_data (parser, data, (gssize)len, NULL))
		return FALSE;
	root = json_parser_get_root (parser);
	if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
		return FALSE;
	return g_strcmp0 (json_object_get_string_member_with_default (json_node_get_object (root), "code", NULL),
			  code) == 0;
}

GBytes *
ac_crn_get_certificates (AcCrnClient *self, GError **error)
{
	g_autofree gchar *url = g_strdup_printf ("%s/about/certificates", self->base);
	g_autoptr(AcHttpResponse) r = ac_http_request (self->http, "GET", url, NULL, NULL, NULL,
						       AC_HTTP_IDEMPOTENT, error);
	gsize len;
	if (r == NULL)
		return NULL;
	(void)ac_http_response_get_data (r, &len);
	/* PDH‖PEK‖OCA‖CEK, 2084 bytes each; sev/ verifies the chain */
	if (len != 4 * 2084 && len != 2084) {
		g_set_error (error, AC_ERROR, AC_ERROR_REMOTE,
			     "GET %s: %" G_GSIZE_FORMAT " bytes, expected an SEV chain of 8336 bytes",
			     url, len);
		return NULL;
	}
	return g_bytes_ref (r->body);
}

gboolean
ac_crn_notify_allocation (AcCrnClient *self, const gchar *vm_hash, GError **error)
{
	g_autofree gchar *url = g_strdup_printf ("%s/control/allocation/notify", self->base);
	g_autofree gchar *body = NULL;
	g_autoptr(GBytes) b = NULL;
	g_autoptr(AcHttpResponse) r = NULL;
	const gchar *data;
	gsize len;

	if (!ac_item_hash_is_valid (vm_hash) || strlen (vm_hash) != 64) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			     "'%s' is not an INSTANCE item hash", vm_hash);
		return FALSE;
	}
	body = g_strdup_printf ("{\"instance\": \"%s\"}", vm_hash);
	b = g_bytes_new (body, strlen (body));
	/* idempotent on the CRN side (an allocated VM is kept) */
	r = ac_http_request (self->http, "POST", url, NULL, "application/json", b,
			     AC_HTTP_IDEMPOTENT | AC_HTTP_ACCEPT_ANY_STATUS | AC_HTTP_SLOW_ANSWER, error);
	if (r == NULL)
		return FALSE;
	data = ac_http_response_get_data (r, &len);
	if (!ac_crn_parse_notify (r->status, data, len, error)) {
		g_prefix_error (error, "POST %s: ", url);
		return FALSE;
	}
	return TRUE;
}

gboolean
ac_crn_confidential_initialize (AcCrnClient *self,
				const gchar *vm_hash,
				GBytes *session_b64,
				GBytes *godh_b64,
				GError **error)
{
	g_autofree gchar *path = vm_path (self, vm_hash, "confidential/initialize", error);
	g_autofree gchar *url = NULL;
	g_autoptr(GPtrArray) h = NULL;
	g_autoptr(AcHttpResponse) r = NULL;
	g_autoptr(GError) local_error = NULL;
	AcHttpPart parts[2];

	if (path == NULL)
		return FALSE;
	url = url_of (self, path);
	h = signed_headers (self, "POST", path, error);
	if (h == NULL)
		return FALSE;
	/* file parts named like the fields, as aiohttp's FormData sends bytes values */
	memset (parts, 0, sizeof (parts));
	parts[0].name = "session";
	parts[0].filename = "session";
	parts[0].content_type = "application/octet-stream";
	parts[0].data = session_b64;
	parts[1].name = "godh";
	parts[1].filename = "godh";
	parts[1].content_type = "application/octet-stream";
	parts[1].data = godh_b64;
	r = ac_http_post_multipart (self->http, url, (const gchar *const *)h->pdata, parts, 2,
				    AC_HTTP_ACCEPT_ANY_STATUS, NULL, error);
	if (r == NULL)
		return FALSE;
	if (!expect_ok (r, "POST", url, &local_error)) {
		/* aleph-vm's 400 {"code": "vm_running"}: the launch runs already (with a session
		 * sent before); a class of its own, so that callers never read the text */
		if (r->status == 400 && crn_answer_code_is (r, "vm_running"))
			local_error->code = AC_ERROR_EXISTS;
		g_propagate_error (error, g_steal_pointer (&local_error));
		return FALSE;
	}
	return TRUE;
}

AcCrnMeasurement *
ac_crn_confidential_measurement (AcCrnClient *self,
				 const gchar *vm_hash,
				 guint timeout_ms,
				 GError **error)
{
	g_autofree gchar *path = vm_path (self, vm_hash, "confidential/measurement", error);
	g_autofree gchar *url = NULL;
	gint64 deadline = g_get_monotonic_time () + (gint64)timeout_ms * 1000;

	if (path == NULL)
		return NULL;
	url = url_of (self, path);
	for (guint attempt = 0;; attempt++) {
		g_autoptr(GPtrArray) h = signed_headers (self, "GET", path, error);
		g_autoptr(AcHttpResponse) r = NULL;
		g_autoptr(GError) error_local = NULL;
		const gchar *data;
		gsize len;
		gint64 now;
		gboolean not_ready;

		if (h == NULL)
			return NULL;
		r = ac_http_request (self->http, "GET", url, (const gchar *const *)h->pdata, NULL, NULL,
				     AC_HTTP_ACCEPT_ANY_STATUS, &error_local);
		if (r == NULL) {
			if (!g_error_matches (error_local, AC_ERROR, AC_ERROR_NETWORK)) {
				/* also AC_ERROR_CANCELLED */
				g_propagate_error (error, g_steal_pointer (&error_local));
				return NULL;
			}
			not_ready = TRUE;
		} else {
			data = ac_http_response_get_data (r, &len);
			if (r->status == 200) {
				AcCrnMeasurement *m = ac_crn_parse_measurement (data, len, error);
				if (m == NULL)
					g_prefix_error (error, "GET %s: ", url);
				return m;
			}
			/* right after initialize: QEMU not started (403 "Operation not
			 * running") or QMP socket missing (500) */
			not_ready = r->status >= 500 ||
				    (r->status == 403 &&
				     g_strstr_len (data, (gssize)len, "not running") != NULL);
			if (!not_ready) {
				expect_ok (r, "GET", url, error);
				return NULL;
			}
			g_clear_error (&error_local);
			{
				g_autofree gchar *text = ac_http_error_text (data, len);
				error_local = g_error_new (AC_ERROR, AC_ERROR_REMOTE, "GET %s: HTTP %u: %s",
							   url, r->status, text);
			}
		}
		now = g_get_monotonic_time ();
		if (now >= deadline) {
			g_propagate_prefixed_error (error, g_steal_pointer (&error_local),
						    "the VM's measurement was not ready after %u s: ",
						    timeout_ms / 1000);
			return NULL;
		}
		{
			guint delay = poll_delay (self->poll_first_ms, self->poll_max_ms, attempt);
			delay = (guint)MIN ((gint64)delay, (deadline - now) / 1000 + 1);
			if (!ac_http_client_sleep (self->http, delay, error))
				return NULL;
		}
	}
}

gboolean
ac_crn_confidential_inject_secret (AcCrnClient *self,
				   const gchar *vm_hash,
				   const gchar *packet_header_b64,
				   const gchar *secret_b64,
				   GError **error)
{
	g_autofree gchar *path = vm_path (self, vm_hash, "confidential/inject_secret", error);
	g_autofree gchar *url = NULL;
	g_autoptr(GPtrArray) h = NULL;
	g_autoptr(GBytes) b = NULL;
	g_autoptr(AcHttpResponse) r = NULL;
	GString *body;
	gboolean ok;

	if (path == NULL)
		return FALSE;
	url = url_of (self, path);
	h = signed_headers (self, "POST", path, error);
	if (h == NULL)
		return FALSE;
	body = g_string_new ("{\"packet_header\": ");
	ac_json_append_python_string (body, packet_header_b64);
	g_string_append (body, ", \"secret\": ");
	ac_json_append_python_string (body, secret_b64);
	g_string_append (body, "}");
	b = g_bytes_new (body->str, body->len);
	/* the body holds the encrypted secret only (TEK never leaves us); still wipe it */
	memset (body->str, 0, body->len);
	g_string_free (body, TRUE);
	/* never retried: a second injection on a running VM fails (aleph-vm #668) */
	r = ac_http_request (self->http, "POST", url, (const gchar *const *)h->pdata,
			     "application/json", b, AC_HTTP_ACCEPT_ANY_STATUS, error);
	if (r == NULL)
		return FALSE;
	ok = expect_ok (r, "POST", url, error);
	return ok;
}

gboolean
ac_crn_operate (AcCrnClient *self, const gchar *vm_hash, const gchar *operation, GError **error)
{
	g_autofree gchar *path = NULL;
	g_autofree gchar *url = NULL;
	g_autoptr(GPtrArray) h = NULL;
	g_autoptr(AcHttpResponse) r = NULL;

	if (g_strcmp0 (operation, "stop") != 0 && g_strcmp0 (operation, "reboot") != 0 &&
	    g_strcmp0 (operation, "erase") != 0) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			     "CRN operation '%s' is not stop, reboot or erase", operation);
		return FALSE;
	}
	path = vm_path (self, vm_hash, operation, error);
	if (path == NULL)
		return FALSE;
	url = url_of (self, path);
	h = signed_headers (self, "POST", path, error);
	if (h == NULL)
		return FALSE;
	r = ac_http_request (self->http, "POST", url, (const gchar *const *)h->pdata, NULL, NULL,
			     AC_HTTP_ACCEPT_ANY_STATUS | AC_HTTP_SLOW_ANSWER, error);
	if (r == NULL)
		return FALSE;
	return expect_ok (r, "POST", url, error);
}

GPtrArray *
ac_crn_list_executions (AcCrnClient *self, GError **error)
{
	g_autofree gchar *url = g_strdup_printf ("%s/about/executions/list", self->base);
	g_autoptr(AcHttpResponse) r = ac_http_request (self->http, "GET", url, NULL, NULL, NULL,
						       AC_HTTP_IDEMPOTENT, error);
	const gchar *data;
	gsize len;
	GPtrArray *list;
	if (r == NULL)
		return NULL;
	data = ac_http_response_get_data (r, &len);
	list = ac_crn_parse_executions (data, len, error);
	if (list == NULL)
		g_prefix_error (error, "GET %s: ", url);
	return list;
}

/* ---- Kubo ---- */

gchar *
ac_ipfs_node_add (AcHttpClient *http,
		  const gchar *api_url,
		  const gchar *path,
		  AcProgress *progress,
		  GError **error)
{
	g_autofree gchar *base = ac_http_sanitize_base_url (api_url, error);
	g_autofree gchar *url = NULL;
	g_autofree gchar *ours = NULL;
	g_autofree gchar *theirs = NULL;
	g_autofree gchar *basename = g_path_get_basename (path);
	g_autoptr(AcHttpResponse) r = NULL;
	AcFileSource src = { -1, (gchar *)path, 0 };
	AcHttpPart part;
	const gchar *data;
	gsize len;

	if (base == NULL)
		return NULL;
	ours = ac_ipfs_file_cid_string (path, NULL, error);
	if (ours == NULL)
		return NULL;
	src.fd = ac_file_open_regular (path, G_MAXSIZE, &src.size, error);
	if (src.fd < 0)
		return NULL;
	/* kubo's defaults, spelled out so a node configured otherwise still matches us */
	url = g_strdup_printf ("%s/api/v0/add?cid-version=0&chunker=size-262144&raw-leaves=false"
			       "&pin=true&progress=false",
			       base);
	memset (&part, 0, sizeof (part));
	part.name = "file";
	part.filename = basename;
	part.content_type = "application/octet-stream";
	part.read = file_source_read;
	part.rewind = file_source_rewind;
	part.user_data = &src;
	part.size = src.size;
	r = ac_http_post_multipart (http, url, NULL, &part, 1, AC_HTTP_IDEMPOTENT, progress, error);
	close (src.fd);
	if (r == NULL)
		return NULL;
	data = ac_http_response_get_data (r, &len);
	theirs = ac_ipfs_parse_add (data, len, NULL, error);
	if (theirs == NULL) {
		g_prefix_error (error, "POST %s: ", url);
		return NULL;
	}
	if (g_strcmp0 (theirs, ours) != 0) {
		g_set_error (error, AC_ERROR, AC_ERROR_MISMATCH,
			     "the IPFS node at %s returned CID %s for %s, we computed %s", base,
			     theirs, path, ours);
		return NULL;
	}
	return g_steal_pointer (&theirs);
}

/* ---- AMD KDS ---- */

GBytes *
ac_aleph_kds_fetch (const gchar *url, gpointer user_data, GCancellable *cancellable, GError **error)
{
	g_autoptr(AcHttpClient) own = NULL;
	AcHttpClient *http = user_data;
	g_autoptr(AcHttpResponse) r = NULL;

	if (g_cancellable_set_error_if_cancelled (cancellable, error))
		return NULL;
	if (!g_str_has_prefix (url, "https://") && !g_str_has_prefix (url, "http://")) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT, "KDS URL '%s' is not http(s)", url);
		return NULL;
	}
	if (http == NULL) {
		own = ac_http_client_new ();
		ac_http_client_set_max_body (own, 64 * 1024);
		http = own;
	}
	r = ac_http_request (http, "GET", url, NULL, NULL, NULL, AC_HTTP_IDEMPOTENT, error);
	if (r == NULL)
		return NULL;
	if (g_bytes_get_size (r->body) > 64 * 1024) {
		g_set_error (error, AC_ERROR, AC_ERROR_REMOTE, "GET %s: %" G_GSIZE_FORMAT
			     " bytes, more than a KDS certificate", url, g_bytes_get_size (r->body));
		return NULL;
	}
	return g_bytes_ref (r->body);
}
