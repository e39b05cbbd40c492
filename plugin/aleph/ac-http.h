/*
 * aleph-confidential: the HTTP client of the Aleph client (libcurl). Timeouts (10 s to connect,
 * 30 s without a byte per attempt, 2 min for the whole call with its retries; uploads: a stall
 * limit only), retries with jittered exponential backoff only for idempotent calls on 5xx and
 * connection errors, and for any call on 429 (waiting at least Retry-After, up to a minute), TLS verification always on, proxy variables honoured (libcurl reads
 * http_proxy/https_proxy/no_proxy), bounded response bodies, errors naming the method, the URL,
 * the HTTP status and the server's own message. Streaming multipart uploads.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>
#include <glib.h>

#include "ac-progress.h"

G_BEGIN_DECLS

typedef struct _AcHttpClient AcHttpClient;

typedef struct {
	guint status;
	GBytes *body;
	gchar *content_type;
	gchar *content_range; /* nullable: the Content-Range header of a 206 (or 416) */
	gchar *url;           /* the URL that was asked */
	guint attempts;
} AcHttpResponse;

void ac_http_response_free (AcHttpResponse *r);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AcHttpResponse, ac_http_response_free)
const gchar *ac_http_response_get_data (AcHttpResponse *r, gsize *len);

AcHttpClient *ac_http_client_new (void);
void ac_http_client_free (AcHttpClient *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AcHttpClient, ac_http_client_free)

/* @connect_ms: to set up a connection; @total_ms: one attempt of a request (not uploads) */
void ac_http_client_set_timeouts (AcHttpClient *self, guint connect_ms, guint total_ms);
/* requests (not uploads): an attempt ends when no byte flows for @idle_ms (default 30 s) */
void ac_http_client_set_idle_timeout (AcHttpClient *self, guint idle_ms);
/* requests (not uploads): the whole call, every attempt and retry wait together, ends after
 * @call_ms (default 2 min; 0 = no bound) */
void ac_http_client_set_call_timeout (AcHttpClient *self, guint call_ms);
/* uploads: no total limit, but fail when fewer than 1 KiB/s flow for @stall_ms */
void ac_http_client_set_stall_timeout (AcHttpClient *self, guint stall_ms);
void ac_http_client_set_retries (AcHttpClient *self, guint max_retries, guint base_delay_ms);
void ac_http_client_set_max_body (AcHttpClient *self, gsize max_body);
gsize ac_http_client_get_max_body (AcHttpClient *self);
/* whether the last request failed because its answer was larger than the max_body bound */
gboolean ac_http_client_last_answer_too_large (AcHttpClient *self);
guint ac_http_client_backoff_ms (AcHttpClient *self, guint attempt);
/* A cancelled @cancellable aborts transfers, retries and polling with AC_ERROR_CANCELLED. */
void ac_http_client_set_cancellable (AcHttpClient *self, GCancellable *cancellable);
/* sleeps @ms unless cancelled first (then FALSE with AC_ERROR_CANCELLED) */
gboolean ac_http_client_sleep (AcHttpClient *self, guint ms, GError **error);

typedef enum {
	AC_HTTP_IDEMPOTENT = 1 << 0,      /* may be retried on 5xx and connection errors */
	AC_HTTP_ACCEPT_ANY_STATUS = 1 << 1, /* the caller interprets 4xx/5xx bodies itself */
	AC_HTTP_SLOW_ANSWER = 1 << 2,     /* the server works before it answers (starts a VM,
					   * processes a message): no idle limit, only the bound
					   * of the whole call */
} AcHttpFlags;

AcHttpResponse *ac_http_request (AcHttpClient *self,
				 const gchar *method,
				 const gchar *url,
				 const gchar *const *headers, /* "Name: value", NULL-terminated */
				 const gchar *content_type,
				 GBytes *body,
				 AcHttpFlags flags,
				 GError **error);

/* A streamed multipart part: @read fills up to @len bytes and returns the count, 0 at the end,
 * -1 with @error set; @rewind restarts it for a retry. Or a small in-memory part (@data). */
typedef gssize (*AcHttpReadFunc) (gpointer user_data, guint8 *buf, gsize len, GError **error);
typedef gboolean (*AcHttpRewindFunc) (gpointer user_data, GError **error);

typedef struct {
	const gchar *name;
	const gchar *filename;     /* NULL = a plain form field */
	const gchar *content_type; /* NULL = none */
	GBytes *data;
	AcHttpReadFunc read;
	AcHttpRewindFunc rewind;
	gpointer user_data;
	guint64 size; /* of the streamed part */
} AcHttpPart;

AcHttpResponse *ac_http_post_multipart (AcHttpClient *self,
					const gchar *url,
					const gchar *const *headers,
					const AcHttpPart *parts,
					guint n_parts,
					AcHttpFlags flags,
					AcProgress *progress,
					GError **error);

/* "https://" when no scheme; no trailing '/' (the SDK's sanitize_url) */
gchar *ac_http_sanitize_base_url (const gchar *url, GError **error);

G_END_DECLS
