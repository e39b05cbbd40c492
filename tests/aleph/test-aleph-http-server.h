/*
 * The local test server of test-aleph-http.c (libsoup, in a thread of its own): a CCN
 * (messages, uploads checked server-side), a CRN whose signed endpoints verify the caller,
 * flaky, slow and rate-limited routes, and an https twin with a self-signed certificate.
 * The counters in srv say what the server saw.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>
#include <libsoup/soup.h>

#define VM_HASH "95139dae69e0e9d2a7b195264f0d04fab023b4cfd7d1f2ae2bd22d7a60a66692"
#define REJECTED_HASH "aaaa39dae69e0e9d2a7b195264f0d04fab023b4cfd7d1f2ae2bd22d7a60a6669"
#define PENDING_HASH "bbbb39dae69e0e9d2a7b195264f0d04fab023b4cfd7d1f2ae2bd22d7a60a6669"

typedef struct {
	GMainContext *ctx;
	GMainLoop *loop;
	SoupServer *server;
	GThread *thread;
	gchar *base;
	GMutex lock;
	GCond ready;
	gboolean started;
	/* counters */
	guint flaky_get;
	guint flaky_post;
	guint rate_limited;
	guint slow;
	guint status_calls;
	guint measurement_calls;
	guint uploads;
	gboolean liar;
	gchar *last_auth_error;
	gchar *post_mode;  /* processed | pending | rejected | envelope | gone */
	guint prefixed_ok; /* signed operations under /prefix verified on the route alone */
	gchar *prefixed_content_type; /* what a bodyless operation sent as Content-Type */
	/* /api/v0/storage/raw/RAW_HASH: raw_file (no STORE message of that hash), a 206 for a
	 * Range request unless raw_ignore_range (then 200, the whole file); raw_lie: a 206 whose
	 * Content-Range names other bytes. raw_gets and raw_sent: the requests and body bytes */
	gchar *raw_hash;
	GBytes *raw_file;
	gboolean raw_ignore_range;
	gboolean raw_lie;
	guint raw_gets;
	guint64 raw_sent;
	SoupServer *tls_server;
	gchar *tls_base;
	gchar *tls_dir;
} TestServer;

extern TestServer srv;

/* makes the certificate, starts the server thread and waits until both servers listen */
void
test_aleph_http_server_start (void);
/* stops the thread, drops what is pending and frees the state */
void
test_aleph_http_server_stop (void);
