/*
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include <curl/curl.h>

#include "ac-aleph-responses.h"
#include "ac-error.h"
#include "ac-http.h"

struct _AcHttpClient {
	guint connect_ms;
	guint total_ms; /* one attempt of a request */
	guint idle_ms;  /* no byte flowing ends an attempt of a request */
	guint call_ms;  /* the whole request, retries included */
	guint stall_ms; /* uploads: under 1 KiB/s for this long */
	guint max_retries;
	guint base_delay_ms;
	gsize max_body;
	gboolean too_large; /* the last request's answer went past max_body */
	gchar *user_agent;
	GCancellable *cancellable;
};

typedef struct {
	GByteArray *buf;
	gsize max;
	gboolean overflow;
} AcHttpSink;

typedef struct {
	const AcHttpPart *part;
	GError *error;
	AcProgress *progress;
	guint64 *sent;
	guint64 total;
} AcHttpPartCtx;

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CURL, curl_easy_cleanup)

void
ac_http_response_free (AcHttpResponse *r)
{
	if (r == NULL)
		return;
	if (r->body != NULL)
		g_bytes_unref (r->body);
	g_free (r->content_type);
	g_free (r->content_range);
	g_free (r->url);
	g_free (r);
}

const gchar *
ac_http_response_get_data (AcHttpResponse *r, gsize *len)
{
	return g_bytes_get_data (r->body, len);
}

AcHttpClient *
ac_http_client_new (void)
{
	static gsize once = 0;
	AcHttpClient *self;

	if (g_once_init_enter (&once)) {
		curl_global_init (CURL_GLOBAL_DEFAULT);
		g_once_init_leave (&once, 1);
	}
	self = g_new0 (AcHttpClient, 1);
	self->connect_ms = 10000;
	self->total_ms = 120000;
	self->idle_ms = 30000;
	self->call_ms = 120000;
	self->stall_ms = 60000;
	self->max_retries = 4;
	self->base_delay_ms = 500;
	self->max_body = 16 * 1024 * 1024;
	self->user_agent = g_strdup_printf ("virt-aleph/%s", PACKAGE_VERSION);
	return self;
}

void
ac_http_client_free (AcHttpClient *self)
{
	if (self == NULL)
		return;
	g_free (self->user_agent);
	g_clear_object (&self->cancellable);
	g_free (self);
}

void
ac_http_client_set_cancellable (AcHttpClient *self, GCancellable *cancellable)
{
	g_set_object (&self->cancellable, cancellable);
}

static gboolean
check_cancelled (AcHttpClient *self, GError **error)
{
	if (self->cancellable != NULL && g_cancellable_is_cancelled (self->cancellable)) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_CANCELLED, "cancelled");
		return FALSE;
	}
	return TRUE;
}

gboolean
ac_http_client_sleep (AcHttpClient *self, guint ms, GError **error)
{
	gint64 end = g_get_monotonic_time () + (gint64)ms * 1000;
	for (;;) {
		gint64 now = g_get_monotonic_time ();
		if (!check_cancelled (self, error))
			return FALSE;
		if (now >= end)
			return TRUE;
		g_usleep ((gulong)MIN (end - now, (gint64)20000));
	}
}

/* one attempt: cancellation and the idle limit, checked by libcurl's progress callback (at
 * least once a second, even when nothing flows) */
typedef struct {
	AcHttpClient *self;
	gint64 idle_us; /* 0 = no idle limit */
	gint64 last_activity;
	curl_off_t dl;
	curl_off_t ul;
	gboolean idle_expired;
} AcHttpXfer;

static int
xferinfo_cb (void *user_data, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
	     curl_off_t ulnow)
{
	AcHttpXfer *x = user_data;
	gint64 now;

	if (x->self->cancellable != NULL && g_cancellable_is_cancelled (x->self->cancellable))
		return 1;
	if (x->idle_us <= 0)
		return 0;
	now = g_get_monotonic_time ();
	if (dlnow != x->dl || ulnow != x->ul) {
		x->dl = dlnow;
		x->ul = ulnow;
		x->last_activity = now;
	} else if (now - x->last_activity >= x->idle_us) {
		x->idle_expired = TRUE;
		return 1;
	}
	return 0;
}

/* "30 s", "1.5 s" */
static gchar *
ms_text (guint64 ms)
{
	if (ms % 1000 == 0)
		return g_strdup_printf ("%" G_GUINT64_FORMAT " s", ms / 1000);
	return g_strdup_printf ("%.1f s", (gdouble)ms / 1000.0);
}

void
ac_http_client_set_timeouts (AcHttpClient *self, guint connect_ms, guint total_ms)
{
	self->connect_ms = connect_ms;
	self->total_ms = total_ms;
}

void
ac_http_client_set_idle_timeout (AcHttpClient *self, guint idle_ms)
{
	self->idle_ms = idle_ms;
}

void
ac_http_client_set_call_timeout (AcHttpClient *self, guint call_ms)
{
	self->call_ms = call_ms;
}

void
ac_http_client_set_stall_timeout (AcHttpClient *self, guint stall_ms)
{
	self->stall_ms = stall_ms;
}

void
ac_http_client_set_retries (AcHttpClient *self, guint max_retries, guint base_delay_ms)
{
	self->max_retries = max_retries;
	self->base_delay_ms = base_delay_ms;
}

void
ac_http_client_set_max_body (AcHttpClient *self, gsize max_body)
{
	self->max_body = max_body;
}

gsize
ac_http_client_get_max_body (AcHttpClient *self)
{
	return self->max_body;
}

gboolean
ac_http_client_last_answer_too_large (AcHttpClient *self)
{
	return self->too_large;
}

/* full jitter around an exponential step, capped at 30 s */
guint
ac_http_client_backoff_ms (AcHttpClient *self, guint attempt)
{
	guint64 step = (guint64)self->base_delay_ms << MIN (attempt, 16u);
	step = MIN (step, (guint64)30000);
	return (guint)(step / 2 + g_random_int_range (0, (gint32)MAX (step / 2, 1u) + 1));
}

gchar *
ac_http_sanitize_base_url (const gchar *url, GError **error)
{
	g_autofree gchar *full = NULL;
	g_autoptr(GUri) uri = NULL;
	gsize n;

	if (url == NULL || url[0] == '\0') {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_INVALID_INPUT, "empty URL");
		return NULL;
	}
	full = strstr (url, "://") != NULL ? g_strdup (url) : g_strconcat ("https://", url, NULL);
	n = strlen (full);
	while (n > 0 && full[n - 1] == '/')
		full[--n] = '\0';
	uri = g_uri_parse (full, G_URI_FLAGS_NONE, NULL);
	if (uri == NULL || g_uri_get_host (uri) == NULL ||
	    (g_strcmp0 (g_uri_get_scheme (uri), "https") != 0 &&
	     g_strcmp0 (g_uri_get_scheme (uri), "http") != 0)) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			     "URL '%s' is not an http(s) URL with a host", url);
		return NULL;
	}
	return g_steal_pointer (&full);
}

static size_t
sink_write (char *ptr, size_t size, size_t nmemb, void *user_data)
{
	AcHttpSink *sink = user_data;
	gsize n = size * nmemb;
	if (sink->buf->len + n > sink->max) {
		sink->overflow = TRUE;
		return 0; /* aborts the transfer */
	}
	g_byte_array_append (sink->buf, (const guint8 *)ptr, (guint)n);
	return n;
}

/* the longest Retry-After honoured; a longer one is cut to this */
#define RETRY_AFTER_MAX_MS 60000

static gboolean
curl_error_is_transient (CURLcode rc)
{
	switch (rc) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		return TRUE;
	default:
		return FALSE;
	}
}

static void
apply_common (AcHttpClient *self, CURL *curl, const gchar *method, const gchar *url,
	      struct curl_slist *headers, AcHttpSink *sink, gboolean upload, guint attempt_ms,
	      AcHttpXfer *xfer)
{
	curl_easy_setopt (curl, CURLOPT_URL, url);
	curl_easy_setopt (curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt (curl, CURLOPT_PROTOCOLS_STR, "http,https");
	/* a redirect never downgrades https to http */
	curl_easy_setopt (curl, CURLOPT_REDIR_PROTOCOLS_STR,
			  g_str_has_prefix (url, "https:") ? "https" : "http,https");
	/* TLS verification is never turned off */
	curl_easy_setopt (curl, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt (curl, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt (curl, CURLOPT_USERAGENT, self->user_agent);
	curl_easy_setopt (curl, CURLOPT_CONNECTTIMEOUT_MS, (long)self->connect_ms);
	if (upload) {
		/* a big upload has no total limit, only a stall limit */
		curl_easy_setopt (curl, CURLOPT_LOW_SPEED_LIMIT, 1024L);
		curl_easy_setopt (curl, CURLOPT_LOW_SPEED_TIME, (long)MAX (self->stall_ms / 1000, 1u));
	} else if (attempt_ms > 0) {
		curl_easy_setopt (curl, CURLOPT_TIMEOUT_MS, (long)attempt_ms);
	}
	curl_easy_setopt (curl, CURLOPT_WRITEFUNCTION, sink_write);
	curl_easy_setopt (curl, CURLOPT_WRITEDATA, sink);
	curl_easy_setopt (curl, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt (curl, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt (curl, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt (curl, CURLOPT_XFERINFOFUNCTION, xferinfo_cb);
	curl_easy_setopt (curl, CURLOPT_XFERINFODATA, xfer);
	if (g_strcmp0 (method, "GET") == 0) {
		curl_easy_setopt (curl, CURLOPT_FOLLOWLOCATION, 1L);
		curl_easy_setopt (curl, CURLOPT_MAXREDIRS, 3L);
	} else if (g_strcmp0 (method, "POST") != 0) {
		curl_easy_setopt (curl, CURLOPT_CUSTOMREQUEST, method);
	}
}

static gchar *
describe_url (const gchar *url)
{
	/* URLs carry no secrets here, but never echo credentials if a user put some in */
	g_autoptr(GUri) uri = g_uri_parse (url, G_URI_FLAGS_NONE, NULL);
	if (uri != NULL && g_uri_get_userinfo (uri) != NULL) {
		g_autoptr(GUri) clean = g_uri_build (G_URI_FLAGS_NONE, g_uri_get_scheme (uri), NULL,
						     g_uri_get_host (uri), g_uri_get_port (uri),
						     g_uri_get_path (uri), g_uri_get_query (uri), NULL);
		return g_uri_to_string (clean);
	}
	return g_strdup (url);
}

typedef gboolean (*AcHttpPrepareFunc) (CURL *curl, gpointer user_data, GError **error);

/* what an attempt that failed with @rc waited for, in words */
static gchar *
describe_failure (AcHttpClient *self, CURL *curl, CURLcode rc, const AcHttpXfer *xfer,
		  gboolean upload, guint attempt_ms, gboolean call_expired, const gchar *errbuf)
{
	curl_off_t connect_us = 0;
	long header_size = 0;

	curl_easy_getinfo (curl, CURLINFO_CONNECT_TIME_T, &connect_us);
	curl_easy_getinfo (curl, CURLINFO_HEADER_SIZE, &header_size);
	if (rc == CURLE_ABORTED_BY_CALLBACK && xfer->idle_expired) {
		g_autofree gchar *t = ms_text (self->idle_ms);
		if (connect_us == 0)
			return g_strdup_printf ("no connection within %s", t);
		if (header_size == 0 && xfer->dl == 0)
			return g_strdup_printf ("connected, but no first byte of the answer within %s", t);
		return g_strdup_printf ("the answer stalled: no byte for %s", t);
	}
	if (rc == CURLE_OPERATION_TIMEDOUT) {
		g_autofree gchar *t = NULL;
		if (connect_us == 0 && !call_expired) {
			t = ms_text (self->connect_ms);
			return g_strdup_printf ("no connection within %s", t);
		}
		if (upload) {
			t = ms_text (self->stall_ms);
			return g_strdup_printf ("the upload stalled: under 1 KiB/s for %s", t);
		}
		if (!call_expired) {
			t = ms_text (attempt_ms);
			return g_strdup_printf ("no complete answer within %s", t);
		}
		return g_strdup (connect_us == 0 ? "no connection yet"
				 : header_size == 0 ? "no first byte of the answer yet"
				 : "the answer not complete yet");
	}
	return g_strdup_printf ("%s%s%s", curl_easy_strerror (rc), errbuf[0] ? ": " : "", errbuf);
}

static void
set_call_expired (AcHttpClient *self, const gchar *method, const gchar *shown, guint attempt,
		  const gchar *last, GError **error)
{
	g_autofree gchar *t = ms_text (self->call_ms);
	g_set_error (error, AC_ERROR, AC_ERROR_NETWORK,
		     "%s %s: gave up after %s, the limit of the whole call (connect, answer and "
		     "retries; %u attempt%s, last: %s)",
		     method, shown, t, attempt, attempt == 1 ? "" : "s", last);
}

/* the answer of a finished transfer, or the error its status means */
static AcHttpResponse *
response_new (CURL *curl, GByteArray **buf, const gchar *method, const gchar *url,
	      const gchar *shown, long status, guint attempt, AcHttpFlags flags, GError **error)
{
	AcHttpResponse *r;
	const char *ct = NULL;
	if (status >= 400 && (flags & AC_HTTP_ACCEPT_ANY_STATUS) == 0) {
		g_autofree gchar *text = ac_http_error_text ((const gchar *)(*buf)->data, (*buf)->len);
		g_set_error (error, AC_ERROR, status == 404 ? AC_ERROR_NOT_FOUND : AC_ERROR_REMOTE,
			     "%s %s: HTTP %ld: %s", method, shown, status, text);
		return NULL;
	}
	r = g_new0 (AcHttpResponse, 1);
	r->status = (guint)status;
	r->url = g_strdup (url);
	r->attempts = attempt;
	curl_easy_getinfo (curl, CURLINFO_CONTENT_TYPE, &ct);
	r->content_type = g_strdup (ct);
	{
		/* the last request's (after redirects), for the answers to a Range request */
		struct curl_header *h = NULL;
		if (curl_easy_header (curl, "Content-Range", 0, CURLH_HEADER, -1, &h) == CURLHE_OK)
			r->content_range = g_strdup (h->value);
	}
	r->body = g_byte_array_free_to_bytes (g_steal_pointer (buf));
	return r;
}

static AcHttpResponse *
perform (AcHttpClient *self, const gchar *method, const gchar *url, const gchar *const *headers,
	 AcHttpFlags flags, gboolean upload, AcHttpPrepareFunc prepare, gpointer prepare_data,
	 GError **(*part_error) (gpointer), GError **error)
{
	g_autofree gchar *shown = describe_url (url);
	guint attempt = 0;
	/* uploads have no total bound (a big image takes long), only their stall limit */
	gint64 deadline = (!upload && self->call_ms > 0)
	                      ? g_get_monotonic_time () + (gint64)self->call_ms * 1000 : 0;

	self->too_large = FALSE;
	for (;;) {
		g_autoptr(CURL) curl = curl_easy_init ();
		g_autoptr(GByteArray) buf = g_byte_array_new ();
		struct curl_slist *hdrs = NULL;
		AcHttpSink sink = { buf, self->max_body, FALSE };
		gboolean idle_limit = !upload && (flags & AC_HTTP_SLOW_ANSWER) == 0;
		AcHttpXfer xfer = { self, idle_limit ? (gint64)self->idle_ms * 1000 : 0, 0, 0, 0, FALSE };
		char errbuf[CURL_ERROR_SIZE] = { 0 };
		gboolean idempotent = (flags & AC_HTTP_IDEMPOTENT) != 0;
		gboolean retry = FALSE;
		gboolean call_expired = FALSE;
		g_autofree gchar *why = NULL;
		guint retry_after_ms = 0;
		guint attempt_ms = upload ? 0 : self->total_ms;
		CURLcode rc;
		long status = 0;

		if (curl == NULL) {
			g_set_error_literal (error, AC_ERROR, AC_ERROR_INTERNAL, "curl_easy_init failed");
			return NULL;
		}
		if (!check_cancelled (self, error)) {
			g_prefix_error (error, "%s %s: ", method, shown);
			return NULL;
		}
		if (deadline != 0) {
			gint64 left_ms = (deadline - g_get_monotonic_time ()) / 1000;
			left_ms = MAX (left_ms, 1);
			attempt_ms = attempt_ms > 0 ? (guint)MIN ((gint64)attempt_ms, left_ms) : (guint)left_ms;
		}
		for (guint i = 0; headers != NULL && headers[i] != NULL; i++)
			hdrs = curl_slist_append (hdrs, headers[i]);
		hdrs = curl_slist_append (hdrs, "Expect:");
		apply_common (self, curl, method, url, hdrs, &sink, upload, attempt_ms, &xfer);
		curl_easy_setopt (curl, CURLOPT_ERRORBUFFER, errbuf);
		if (prepare != NULL && !prepare (curl, prepare_data, error)) {
			curl_slist_free_all (hdrs);
			return NULL;
		}
		attempt++;
		xfer.last_activity = g_get_monotonic_time ();
		rc = curl_easy_perform (curl);
		curl_slist_free_all (hdrs);
		/* curl's timers fire at or just after the deadline */
		call_expired = deadline != 0 && g_get_monotonic_time () >= deadline - 20000;
		if (rc == CURLE_ABORTED_BY_CALLBACK && part_error != NULL &&
		    *part_error (prepare_data) != NULL) {
			g_propagate_error (error, g_steal_pointer (part_error (prepare_data)));
			return NULL;
		}
		if (rc == CURLE_ABORTED_BY_CALLBACK && !check_cancelled (self, error)) {
			g_prefix_error (error, "%s %s: ", method, shown);
			return NULL;
		}
		if (rc == CURLE_WRITE_ERROR && sink.overflow) {
			self->too_large = TRUE;
			g_set_error (error, AC_ERROR, AC_ERROR_REMOTE,
				     "%s %s: the answer exceeds %" G_GSIZE_FORMAT " bytes", method,
				     shown, self->max_body);
			return NULL;
		}
		if (rc == CURLE_READ_ERROR && part_error != NULL && *part_error (prepare_data) != NULL) {
			g_propagate_error (error, g_steal_pointer (part_error (prepare_data)));
			return NULL;
		}
		if (rc != CURLE_OK) {
			gboolean transient = curl_error_is_transient (rc) ||
			                     (rc == CURLE_ABORTED_BY_CALLBACK && xfer.idle_expired);
			why = describe_failure (self, curl, rc, &xfer, upload, attempt_ms, call_expired,
						errbuf);
			retry = idempotent && transient && attempt <= self->max_retries;
			if (call_expired && transient) {
				set_call_expired (self, method, shown, attempt, why, error);
				return NULL;
			}
			if (!retry) {
				g_set_error (error, AC_ERROR, AC_ERROR_NETWORK, "%s %s: %s (after %u attempt%s)",
					     method, shown, why, attempt, attempt == 1 ? "" : "s");
				return NULL;
			}
		} else {
			curl_easy_getinfo (curl, CURLINFO_RESPONSE_CODE, &status);
			/* 429: the server did not process the request (RFC 6585), so even a POST may
			 * go again; 429 and 503 say when with Retry-After */
			if (((status >= 500 && idempotent) || status == 429) && attempt <= self->max_retries) {
				curl_off_t after = 0;
				retry = TRUE;
				why = g_strdup_printf ("HTTP %ld", status);
				if ((status == 429 || status == 503) &&
				    curl_easy_getinfo (curl, CURLINFO_RETRY_AFTER, &after) == CURLE_OK && after > 0)
					retry_after_ms = (guint)MIN ((guint64)after * 1000, RETRY_AFTER_MAX_MS);
			} else {
				return response_new (curl, &buf, method, url, shown, status, attempt, flags,
						     error);
			}
		}
		if (retry) {
			guint delay = MAX (ac_http_client_backoff_ms (self, attempt - 1), retry_after_ms);
			/* no wait that would end past the bound of the whole call */
			if (deadline != 0 && g_get_monotonic_time () + (gint64)delay * 1000 >= deadline) {
				set_call_expired (self, method, shown, attempt, why, error);
				return NULL;
			}
			g_debug ("%s %s: %s, retry %u in %u ms", method, shown, why, attempt, delay);
			if (!ac_http_client_sleep (self, delay, error)) {
				g_prefix_error (error, "%s %s: ", method, shown);
				return NULL;
			}
		}
	}
}

typedef struct {
	const gchar *content_type;
	GBytes *body;
} AcSimpleBody;

static gboolean
prepare_simple (CURL *curl, gpointer user_data, GError **error)
{
	AcSimpleBody *b = user_data;
	if (b->body != NULL) {
		gsize len;
		const gchar *data = g_bytes_get_data (b->body, &len);
		curl_easy_setopt (curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
		curl_easy_setopt (curl, CURLOPT_POSTFIELDS, data != NULL ? data : "");
	}
	return TRUE;
}

AcHttpResponse *
ac_http_request (AcHttpClient *self,
		 const gchar *method,
		 const gchar *url,
		 const gchar *const *headers,
		 const gchar *content_type,
		 GBytes *body,
		 AcHttpFlags flags,
		 GError **error)
{
	g_autoptr(GPtrArray) h = g_ptr_array_new_with_free_func (g_free);
	AcSimpleBody b = { content_type, body };

	for (guint i = 0; headers != NULL && headers[i] != NULL; i++)
		g_ptr_array_add (h, g_strdup (headers[i]));
	if (content_type != NULL)
		g_ptr_array_add (h, g_strdup_printf ("Content-Type: %s", content_type));
	else if (g_strcmp0 (method, "POST") == 0)
		/* a bodyless POST: no form content type (curl's default for POSTFIELDS) */
		g_ptr_array_add (h, g_strdup ("Content-Type:"));
	g_ptr_array_add (h, g_strdup ("Accept: application/json"));
	g_ptr_array_add (h, NULL);
	if (g_strcmp0 (method, "POST") == 0 && body == NULL) {
		static const gchar empty[] = "";
		g_autoptr(GBytes) e = g_bytes_new_static (empty, 0);
		b.body = e;
		return perform (self, method, url, (const gchar *const *)h->pdata, flags, FALSE,
				prepare_simple, &b, NULL, error);
	}
	return perform (self, method, url, (const gchar *const *)h->pdata, flags, FALSE,
			prepare_simple, &b, NULL, error);
}

/* ---- multipart ---- */

typedef struct {
	const AcHttpPart *parts;
	guint n_parts;
	AcHttpPartCtx *ctxs;
	curl_mime *mime;
	GError *error;
	AcProgress *progress;
	guint64 sent;
	guint64 total;
} AcMultipart;

static size_t
part_read (char *buffer, size_t size, size_t nitems, void *arg)
{
	AcHttpPartCtx *ctx = arg;
	gssize n;

	if (ctx->error != NULL)
		return CURL_READFUNC_ABORT;
	n = ctx->part->read (ctx->part->user_data, (guint8 *)buffer, size * nitems, &ctx->error);
	if (n < 0) {
		if (ctx->error == NULL)
			ctx->error = g_error_new_literal (AC_ERROR, AC_ERROR_IO, "upload source failed");
		return CURL_READFUNC_ABORT;
	}
	*ctx->sent += (guint64)n;
	if (ctx->progress != NULL)
		ac_progress_set_fraction (ctx->progress, *ctx->sent, MAX (ctx->total, 1));
	return (size_t)n;
}

static int
part_seek (void *arg, curl_off_t offset, int origin)
{
	AcHttpPartCtx *ctx = arg;
	/* curl rewinds to 0 when it resends the body (redirect, auth): nothing else is asked */
	if (offset != 0 || origin != SEEK_SET || ctx->part->rewind == NULL)
		return CURL_SEEKFUNC_CANTSEEK;
	if (!ctx->part->rewind (ctx->part->user_data, &ctx->error))
		return CURL_SEEKFUNC_FAIL;
	return CURL_SEEKFUNC_OK;
}

static GError **
multipart_error (gpointer user_data)
{
	AcMultipart *m = user_data;
	for (guint i = 0; i < m->n_parts; i++) {
		if (m->ctxs[i].error != NULL) {
			if (m->error == NULL)
				m->error = g_steal_pointer (&m->ctxs[i].error);
			else
				g_clear_error (&m->ctxs[i].error);
		}
	}
	return &m->error;
}

static gboolean
prepare_multipart (CURL *curl, gpointer user_data, GError **error)
{
	AcMultipart *m = user_data;

	if (m->mime != NULL)
		curl_mime_free (m->mime);
	m->mime = curl_mime_init (curl);
	m->sent = 0;
	for (guint i = 0; i < m->n_parts; i++) {
		const AcHttpPart *p = &m->parts[i];
		curl_mimepart *part = curl_mime_addpart (m->mime);
		curl_mime_name (part, p->name);
		if (p->filename != NULL)
			curl_mime_filename (part, p->filename);
		if (p->content_type != NULL)
			curl_mime_type (part, p->content_type);
		if (p->read != NULL) {
			/* a retry starts the stream again */
			if (p->rewind != NULL && !p->rewind (p->user_data, error))
				return FALSE;
			m->ctxs[i].part = p;
			m->ctxs[i].progress = m->progress;
			m->ctxs[i].sent = &m->sent;
			m->ctxs[i].total = m->total;
			curl_mime_data_cb (part, (curl_off_t)p->size, part_read, part_seek, NULL,
					   &m->ctxs[i]);
		} else {
			gsize len = 0;
			const gchar *data = p->data != NULL ? g_bytes_get_data (p->data, &len) : "";
			curl_mime_data (part, data != NULL ? data : "", len);
		}
	}
	curl_easy_setopt (curl, CURLOPT_MIMEPOST, m->mime);
	return TRUE;
}

AcHttpResponse *
ac_http_post_multipart (AcHttpClient *self,
			const gchar *url,
			const gchar *const *headers,
			const AcHttpPart *parts,
			guint n_parts,
			AcHttpFlags flags,
			AcProgress *progress,
			GError **error)
{
	g_autoptr(GPtrArray) h = g_ptr_array_new_with_free_func (g_free);
	g_autofree AcHttpPartCtx *ctxs = g_new0 (AcHttpPartCtx, n_parts);
	AcMultipart m = { parts, n_parts, ctxs, NULL, NULL, progress, 0, 0 };
	AcHttpResponse *r;

	for (guint i = 0; i < n_parts; i++) {
		gsize len = 0;
		if (parts[i].read != NULL)
			m.total += parts[i].size;
		else if (parts[i].data != NULL)
			(void)g_bytes_get_data (parts[i].data, &len);
		m.total += len;
	}
	for (guint i = 0; headers != NULL && headers[i] != NULL; i++)
		g_ptr_array_add (h, g_strdup (headers[i]));
	g_ptr_array_add (h, g_strdup ("Accept: application/json"));
	g_ptr_array_add (h, NULL);
	r = perform (self, "POST", url, (const gchar *const *)h->pdata, flags, TRUE,
		     prepare_multipart, &m, multipart_error, error);
	if (m.mime != NULL)
		curl_mime_free (m.mime);
	g_clear_error (&m.error);
	for (guint i = 0; i < n_parts; i++)
		g_clear_error (&ctxs[i].error);
	return r;
}
