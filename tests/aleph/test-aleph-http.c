/*
 * The HTTP clients against a local test server (libsoup) and a raw socket server that resets
 * connections mid-upload: retries only for idempotent calls, timeouts, 5xx, error texts, the
 * CCN message flow (200/202/422, polling, rejection in words), streamed uploads checked by the
 * server, the CRN signed endpoints verified server-side, measurement polling.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>
#include <sys/wait.h>

#include <glib/gstdio.h>
#include <libsoup/soup.h>

#include "ac-aleph-client.h"
#include "ac-aleph-responses.h"
#include "ac-aleph-util.h"
#include "ac-car.h"
#include "ac-codec.h"
#include "ac-error.h"
#include "../test-util.h"
#include "test-aleph-http-server.h"

static gchar *
url (const gchar *path)
{
	return g_strconcat (srv.base, path, NULL);
}

static AcHttpClient *
fast_client (void)
{
	AcHttpClient *h = ac_http_client_new ();
	ac_http_client_set_timeouts (h, 2000, 10000);
	ac_http_client_set_retries (h, 3, 20);
	return h;
}

static void
test_retry_idempotent (void)
{
	g_autoptr (AcHttpClient) h = fast_client ();
	g_autoptr (GError) error = NULL;
	g_autofree gchar *u = url ("/flaky");
	g_autoptr (AcHttpResponse) r
	    = ac_http_request (h, "GET", u, NULL, NULL, NULL, AC_HTTP_IDEMPOTENT, &error);
	g_assert_no_error (error);
	g_assert_cmpuint (r->status, ==, 200);
	g_assert_cmpuint (r->attempts, ==, 3);
}

static void
test_no_retry_post (void)
{
	g_autoptr (AcHttpClient) h = fast_client ();
	g_autoptr (GError) error = NULL;
	g_autofree gchar *u = url ("/flaky-post");
	g_autoptr (GBytes) b = g_bytes_new_static ("{}", 2);
	g_autoptr (AcHttpResponse) r
	    = ac_http_request (h, "POST", u, NULL, "application/json", b, 0, &error);
	g_assert_null (r);
	g_assert_error (error, AC_ERROR, AC_ERROR_REMOTE);
	/* the URL, the status and the server's own message (on one line) */
	g_assert_nonnull (strstr (error->message, u));
	g_assert_nonnull (strstr (error->message, "HTTP 503"));
	g_assert_nonnull (strstr (error->message, "backend down retry later"));
	g_assert_cmpuint (srv.flaky_post, ==, 1);
	/* the same call marked idempotent is retried max_retries times */
	g_clear_error (&error);
	r = ac_http_request (h, "POST", u, NULL, "application/json", b, AC_HTTP_IDEMPOTENT, &error);
	g_assert_null (r);
	g_assert_cmpuint (srv.flaky_post, ==, 1 + 4);
}

/* 429 is retried even for a POST (the server did not process it), after its Retry-After */
static void
test_rate_limited (void)
{
	g_autoptr (AcHttpClient) h = fast_client ();
	g_autoptr (GError) error = NULL;
	g_autofree gchar *u = url ("/rate-limited");
	g_autoptr (GBytes) b = g_bytes_new_static ("{}", 2);
	gint64 t0 = g_get_monotonic_time ();
	g_autoptr (AcHttpResponse) r
	    = ac_http_request (h, "POST", u, NULL, "application/json", b, 0, &error);
	g_assert_no_error (error);
	g_assert_cmpuint (r->status, ==, 200);
	g_assert_cmpuint (r->attempts, ==, 3);
	/* two waits of Retry-After: 1 s, not the client's 20 ms backoff */
	g_assert_cmpint (g_get_monotonic_time () - t0, >=, 2 * G_USEC_PER_SEC);
}

static void
test_timeout (void)
{
	g_autoptr (AcHttpClient) h = ac_http_client_new ();
	g_autoptr (GError) error = NULL;
	g_autofree gchar *u = url ("/slow");
	gint64 t0 = g_get_monotonic_time ();
	g_autoptr (AcHttpResponse) r = NULL;

	ac_http_client_set_timeouts (h, 1000, 400);
	ac_http_client_set_retries (h, 1, 10);
	r = ac_http_request (h, "GET", u, NULL, NULL, NULL, AC_HTTP_IDEMPOTENT, &error);
	g_assert_null (r);
	g_assert_error (error, AC_ERROR, AC_ERROR_NETWORK);
	g_assert_nonnull (strstr (error->message, "2 attempts"));
	g_assert_cmpuint (srv.slow, ==, 2);
	g_assert_cmpint (g_get_monotonic_time () - t0, <,
	                 5000000); /* the server would take 10 s per attempt */
}

/* a peer that accepts connections (the kernel does, from the backlog) and never answers */
static int
mute_listener (gchar **base)
{
	int fd = socket (AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { 0 };
	socklen_t alen = sizeof (a);

	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
	g_assert_cmpint (bind (fd, (struct sockaddr *)&a, sizeof (a)), ==, 0);
	g_assert_cmpint (listen (fd, 16), ==, 0);
	g_assert_cmpint (getsockname (fd, (struct sockaddr *)&a, &alen), ==, 0);
	*base = g_strdup_printf ("http://127.0.0.1:%u", ntohs (a.sin_port));
	return fd;
}

static void
test_mute_peer (void)
{
	g_autoptr (AcHttpClient) h = ac_http_client_new ();
	g_autoptr (GError) error = NULL;
	g_autofree gchar *base = NULL;
	g_autofree gchar *u = NULL;
	g_autoptr (AcHttpResponse) r = NULL;
	g_autoptr (GBytes) b = g_bytes_new_static ("{}", 2);
	int fd = mute_listener (&base);
	gint64 t0, dt;

	u = g_strconcat (base, "/never", NULL);
	/* the defaults were 4 retries of 120 s each: ten minutes */
	ac_http_client_set_idle_timeout (h, 1000);
	ac_http_client_set_call_timeout (h, 3000);
	ac_http_client_set_retries (h, 4, 10);

	/* a GET is retried, but all attempts together end at the bound of the whole call */
	t0 = g_get_monotonic_time ();
	r = ac_http_request (h, "GET", u, NULL, NULL, NULL, AC_HTTP_IDEMPOTENT, &error);
	dt = g_get_monotonic_time () - t0;
	g_assert_null (r);
	g_assert_error (error, AC_ERROR, AC_ERROR_NETWORK);
	g_test_message ("GET: %s (%" G_GINT64_FORMAT " ms)", error->message, dt / 1000);
	g_assert_nonnull (strstr (error->message, u));
	g_assert_nonnull (strstr (error->message, "whole call"));
	g_assert_nonnull (strstr (error->message, "first byte"));
	g_assert_cmpint (dt, >=, 2 * G_USEC_PER_SEC);
	g_assert_cmpint (dt, <, 5 * G_USEC_PER_SEC);
	g_clear_error (&error);

	/* a POST is not retried: the first stall ends it */
	t0 = g_get_monotonic_time ();
	r = ac_http_request (h, "POST", u, NULL, "application/json", b, 0, &error);
	dt = g_get_monotonic_time () - t0;
	g_assert_null (r);
	g_assert_error (error, AC_ERROR, AC_ERROR_NETWORK);
	g_test_message ("POST: %s (%" G_GINT64_FORMAT " ms)", error->message, dt / 1000);
	g_assert_nonnull (strstr (error->message, u));
	g_assert_nonnull (strstr (error->message, "no first byte of the answer within 1 s"));
	g_assert_cmpint (dt, <, 3 * G_USEC_PER_SEC);
	g_clear_error (&error);

	/* a server that works before it answers has the whole call, not the idle limit */
	t0 = g_get_monotonic_time ();
	r = ac_http_request (h, "POST", u, NULL, "application/json", b, AC_HTTP_SLOW_ANSWER,
	                     &error);
	dt = g_get_monotonic_time () - t0;
	g_assert_null (r);
	g_assert_error (error, AC_ERROR, AC_ERROR_NETWORK);
	g_assert_nonnull (strstr (error->message, u));
	g_assert_nonnull (strstr (error->message, "3 s, the limit of the whole call"));
	g_assert_cmpint (dt, >=, 2500000);
	g_assert_cmpint (dt, <, 5 * G_USEC_PER_SEC);
	g_clear_error (&error);

	/* however many retries are allowed, the bound of the whole call ends them */
	{
		g_autoptr (AcHttpClient) d = ac_http_client_new ();
		ac_http_client_set_idle_timeout (d, 500);
		ac_http_client_set_retries (d, 1000, 10);
		ac_http_client_set_call_timeout (d, 1500);
		t0 = g_get_monotonic_time ();
		r = ac_http_request (d, "GET", u, NULL, NULL, NULL, AC_HTTP_IDEMPOTENT, &error);
		dt = g_get_monotonic_time () - t0;
		g_assert_error (error, AC_ERROR, AC_ERROR_NETWORK);
		g_assert_nonnull (strstr (error->message, "1.5 s, the limit of the whole call"));
		g_assert_cmpint (dt, <, 3 * G_USEC_PER_SEC);
	}
	close (fd);
}

static void
test_connection_refused_and_limits (void)
{
	g_autoptr (AcHttpClient) h = fast_client ();
	g_autoptr (GError) error = NULL;
	g_autofree gchar *big = url ("/big");
	g_autofree gchar *missing = url ("/missing");
	g_autoptr (AcHttpResponse) r = NULL;
	int fd = socket (AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { 0 };
	socklen_t alen = sizeof (a);
	g_autofree gchar *closed = NULL;

	/* a port nobody listens on */
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
	g_assert_cmpint (bind (fd, (struct sockaddr *)&a, sizeof (a)), ==, 0);
	g_assert_cmpint (getsockname (fd, (struct sockaddr *)&a, &alen), ==, 0);
	close (fd);
	closed = g_strdup_printf ("http://127.0.0.1:%u/x", ntohs (a.sin_port));
	r = ac_http_request (h, "GET", closed, NULL, NULL, NULL, AC_HTTP_IDEMPOTENT, &error);
	g_assert_null (r);
	g_assert_error (error, AC_ERROR, AC_ERROR_NETWORK);
	g_assert_nonnull (strstr (error->message, closed));
	g_assert_nonnull (strstr (error->message, "4 attempts"));
	g_clear_error (&error);

	ac_http_client_set_max_body (h, 100000);
	r = ac_http_request (h, "GET", big, NULL, NULL, NULL, 0, &error);
	g_assert_null (r);
	g_assert_error (error, AC_ERROR, AC_ERROR_REMOTE);
	g_clear_error (&error);

	r = ac_http_request (h, "GET", missing, NULL, NULL, NULL, AC_HTTP_IDEMPOTENT, &error);
	g_assert_null (r);
	g_assert_error (error, AC_ERROR, AC_ERROR_NOT_FOUND);
	g_assert_nonnull (strstr (error->message, "Hash not found"));
}

static AcEthAccount *
account_0101 (void)
{
	guint8 key[32];
	memset (key, 1, 32);
	return ac_eth_account_new_from_private_key (key, 32, NULL);
}

static void
test_ccn_messages (void)
{
	g_autoptr (AcHttpClient) h = fast_client ();
	g_autoptr (AcEthAccount) account = account_0101 ();
	g_autoptr (GError) error = NULL;
	g_autoptr (AcCcnClient) ccn = ac_ccn_client_new (srv.base, h, &error);
	g_autoptr (AcAlephMessage) msg = NULL;
	g_autoptr (JsonNode) content = NULL;
	g_autoptr (AcMessageInfo) info = NULL;
	g_autofree gchar *price = NULL;
	g_autofree gchar *forget = g_strdup ("{\"hashes\":[\"" VM_HASH "\"]}");
	AcPostResult res;
	const gchar *modes[] = { "processed", "pending", "rejected" };
	const AcMessageStatus want[] = { AC_MESSAGE_STATUS_PROCESSED, AC_MESSAGE_STATUS_PENDING,
		                         AC_MESSAGE_STATUS_REJECTED };

	g_assert_no_error (error);
	ac_ccn_client_set_poll (ccn, 10, 50);
	content = json_from_string (forget, NULL);
	msg = ac_aleph_message_build ("FORGET", content, ac_eth_account_get_address (account), NULL,
	                              1700000000.0, &error);
	g_assert_true (ac_aleph_message_sign (msg, account, &error));
	for (guint i = 0; i < G_N_ELEMENTS (modes); i++) {
		g_free (srv.post_mode);
		srv.post_mode = g_strdup (modes[i]);
		g_assert_true (ac_ccn_post_message (ccn, msg, TRUE, &res, &error));
		g_assert_no_error (error);
		g_assert_cmpint (res.message_status, ==, want[i]);
		ac_post_result_clear (&res);
	}
	/* 422 with a text body: the envelope was refused before broadcast */
	g_free (srv.post_mode);
	srv.post_mode = g_strdup ("envelope");
	g_assert_false (ac_ccn_post_message (ccn, msg, TRUE, &res, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_REMOTE);
	g_assert_nonnull (strstr (error->message, "InvalidMessageFormat"));
	g_assert_nonnull (strstr (error->message, "HTTP 422"));
	g_clear_error (&error);
	/* 410: the message was forgotten, said as such (not as a refusal) */
	g_free (srv.post_mode);
	srv.post_mode = g_strdup ("gone");
	g_assert_false (ac_ccn_post_message (ccn, msg, TRUE, &res, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_REMOTE);
	g_assert_nonnull (strstr (error->message, "forgotten"));
	g_assert_null (strstr (error->message, "refused"));
	g_clear_error (&error);

	/* polling: 404, pending, pending, processed */
	info = ac_ccn_wait_processed (ccn, VM_HASH, 10000, NULL, &error);
	g_assert_no_error (error);
	g_assert_cmpint (info->status, ==, AC_MESSAGE_STATUS_PROCESSED);
	g_assert_cmpuint (srv.status_calls, >=, 4);
	/* a rejection in words */
	g_clear_pointer (&info, ac_message_info_free);
	info = ac_ccn_wait_processed (ccn, REJECTED_HASH, 10000, NULL, &error);
	g_assert_null (info);
	g_assert_error (error, AC_ERROR, AC_ERROR_REMOTE);
	g_assert_nonnull (strstr (error->message, "BALANCE_INSUFFICIENT"));
	g_assert_nonnull (strstr (error->message, "required_balance"));
	g_clear_error (&error);

	price = ac_ccn_price_estimate (ccn, msg, &error);
	g_assert_no_error (error);
	g_assert_nonnull (strstr (price, "required_tokens"));

	{
		guint total = 0;
		g_autoptr (GPtrArray) page
		    = ac_ccn_query_messages (ccn, (const gchar *[]){ VM_HASH, NULL }, "INSTANCE",
		                             NULL, NULL, 1, 20, &total, &error);
		g_assert_no_error (error);
		g_assert_cmpuint (page->len, ==, 1);
		g_assert_cmpuint (total, ==, 1);
	}
}

static gchar *
random_file (const gchar *name, gsize size)
{
	g_autofree guint8 *d = g_malloc (MAX (size, 1));
	gchar *path = g_build_filename (g_get_tmp_dir (), name, NULL);
	for (gsize i = 0; i < size; i++)
		d[i] = (guint8)g_random_int ();
	g_assert_true (g_file_set_contents (path, (const gchar *)d, (gssize)size, NULL));
	return path;
}

static void
test_uploads (void)
{
	g_autoptr (AcHttpClient) h = fast_client ();
	g_autoptr (AcEthAccount) account = account_0101 ();
	g_autoptr (GError) error = NULL;
	g_autoptr (AcCcnClient) ccn = ac_ccn_client_new (srv.base, h, &error);
	g_autofree gchar *path = random_file ("ac-upload-test.bin", 3 * 262144 + 17);
	g_autofree gchar *cid = ac_ipfs_file_cid_string (path, NULL, NULL, NULL);
	g_autoptr (AcProgress) progress = ac_progress_new ("upload");
	g_autoptr (GMappedFile) mapped = g_mapped_file_new (path, FALSE, NULL);
	g_autofree gchar *sha256 = g_compute_checksum_for_data (
	    G_CHECKSUM_SHA256, (const guchar *)g_mapped_file_get_contents (mapped),
	    g_mapped_file_get_length (mapped));
	AcCcnUploadKind kinds[] = { AC_CCN_UPLOAD_STORAGE, AC_CCN_UPLOAD_IPFS, AC_CCN_UPLOAD_CAR };

	for (guint i = 0; i < G_N_ELEMENTS (kinds); i++) {
		g_autoptr (AcAlephMessage) store = NULL;
		g_autofree gchar *hash = ac_ccn_upload_file (ccn, kinds[i], path, account, NULL,
		                                             &store, progress, &error);
		g_assert_no_error (error);
		g_assert_nonnull (store);
		if (kinds[i] == AC_CCN_UPLOAD_STORAGE)
			g_assert_cmpstr (hash, ==, sha256); /* the file's, computed by GLib */
		else
			g_assert_cmpstr (hash, ==, cid);
		/* unauthenticated */
		g_free (hash);
		hash = ac_ccn_upload_file (ccn, kinds[i], path, NULL, NULL, NULL, NULL, &error);
		g_assert_no_error (error);
	}
	g_assert_cmpfloat (ac_progress_get_fraction (progress), >, 0.99);
	/* a node that answers another hash is caught */
	srv.liar = TRUE;
	{
		g_autofree gchar *hash = ac_ccn_upload_file (ccn, AC_CCN_UPLOAD_IPFS, path, NULL,
		                                             NULL, NULL, NULL, &error);
		g_assert_null (hash);
		g_assert_error (error, AC_ERROR, AC_ERROR_MISMATCH);
		g_clear_error (&error);
		hash = ac_ipfs_node_add (h, srv.base, path, NULL, &error);
		g_assert_null (hash);
		g_assert_error (error, AC_ERROR, AC_ERROR_MISMATCH);
		g_clear_error (&error);
	}
	srv.liar = FALSE;
	{
		g_autofree gchar *hash = ac_ipfs_node_add (h, srv.base, path, NULL, &error);
		g_assert_no_error (error);
		g_assert_cmpstr (hash, ==, cid);
	}
	g_unlink (path);
}

/* ---- a raw server that resets the first connection mid-upload ---- */
typedef struct {
	int fd;
	guint port;
	guint connections;
	gchar *answer;
	guint resets;
} RawServer;

static gpointer
raw_thread (gpointer data)
{
	RawServer *rs = data;
	for (;;) {
		int c = accept (rs->fd, NULL, NULL);
		g_autoptr (GString) req = g_string_new (NULL);
		gchar buf[65536];
		gsize content_length = 0;
		gssize header_end = -1;
		if (c < 0)
			return NULL;
		rs->connections++;
		while (TRUE) {
			ssize_t n = read (c, buf, sizeof (buf));
			const gchar *e;
			if (n <= 0)
				break;
			g_string_append_len (req, buf, n);
			if (header_end < 0 && (e = strstr (req->str, "\r\n\r\n")) != NULL) {
				const gchar *cl = strcasestr (req->str, "content-length:");
				header_end = e - req->str + 4;
				if (cl != NULL && cl < e)
					content_length = g_ascii_strtoull (cl + 15, NULL, 10);
			}
			if (rs->connections <= rs->resets && req->len > 100000) {
				/* RST in the middle of the body */
				struct linger l = { 1, 0 };
				setsockopt (c, SOL_SOCKET, SO_LINGER, &l, sizeof (l));
				break;
			}
			if (header_end >= 0 && req->len >= (gsize)header_end + content_length) {
				g_autofree gchar *resp = g_strdup_printf (
				    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
				    "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
				    strlen (rs->answer), rs->answer);
				if (write (c, resp, strlen (resp)) < 0)
					break;
				break;
			}
		}
		close (c);
	}
}

static void
test_reset_mid_upload (void)
{
	g_autoptr (AcHttpClient) h = fast_client ();
	g_autoptr (GError) error = NULL;
	g_autofree gchar *path = random_file ("ac-reset-test.bin", 2 * 1024 * 1024);
	g_autofree gchar *cid = ac_ipfs_file_cid_string (path, NULL, NULL, NULL);
	RawServer rs = { 0 };
	struct sockaddr_in a = { 0 };
	socklen_t alen = sizeof (a);
	g_autofree gchar *base = NULL;
	g_autoptr (AcCcnClient) ccn = NULL;
	g_autofree gchar *hash = NULL;
	GThread *raw;

	rs.fd = socket (AF_INET, SOCK_STREAM, 0);
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
	g_assert_cmpint (bind (rs.fd, (struct sockaddr *)&a, sizeof (a)), ==, 0);
	g_assert_cmpint (listen (rs.fd, 4), ==, 0);
	getsockname (rs.fd, (struct sockaddr *)&a, &alen);
	rs.answer = g_strdup_printf ("{\"status\":\"success\",\"hash\":\"%s\"}", cid);
	rs.resets = 2;
	raw = g_thread_new ("raw", raw_thread, &rs);
	base = g_strdup_printf ("http://127.0.0.1:%u", ntohs (a.sin_port));
	ccn = ac_ccn_client_new (base, h, &error);

	/* two resets, then the upload goes through from the start of the file */
	hash = ac_ccn_upload_file (ccn, AC_CCN_UPLOAD_IPFS, path, NULL, NULL, NULL, NULL, &error);
	g_assert_no_error (error);
	g_assert_cmpstr (hash, ==, cid);
	g_assert_cmpuint (rs.connections, ==, 3);

	/* no retries left: the reset is a network error naming the URL */
	g_clear_pointer (&hash, g_free);
	rs.connections = 0;
	ac_http_client_set_retries (h, 0, 10);
	hash = ac_ccn_upload_file (ccn, AC_CCN_UPLOAD_CAR, path, NULL, NULL, NULL, NULL, &error);
	g_assert_null (hash);
	g_assert_error (error, AC_ERROR, AC_ERROR_NETWORK);
	g_assert_nonnull (strstr (error->message, "/api/v0/ipfs/add_car"));
	shutdown (rs.fd, SHUT_RDWR);
	g_thread_join (raw);
	close (rs.fd);
	g_free (rs.answer);
	g_unlink (path);
}

static void
test_crn (void)
{
	g_autoptr (AcHttpClient) h = fast_client ();
	g_autoptr (AcEthAccount) account = account_0101 ();
	g_autoptr (GError) error = NULL;
	g_autoptr (AcCrnClient) crn = ac_crn_client_new (srv.base, account, h, &error);
	g_autoptr (GBytes) certs = NULL;
	g_autoptr (GBytes) session = g_bytes_new_static ("c2Vzc2lvbg==", 12);
	g_autoptr (GBytes) godh = g_bytes_new_static ("Z29kaA==", 8);
	g_autoptr (AcCrnMeasurement) m = NULL;
	g_autoptr (GPtrArray) execs = NULL;
	g_autofree gchar *lm_hex = NULL;

	g_assert_no_error (error);
	ac_crn_client_set_poll (crn, 10, 50);
	certs = ac_crn_get_certificates (crn, &error);
	g_assert_no_error (error);
	g_assert_cmpuint (g_bytes_get_size (certs), ==, 8336);
	g_assert_true (ac_crn_notify_allocation (crn, VM_HASH, &error));
	g_assert_true (ac_crn_confidential_initialize (crn, VM_HASH, session, godh, &error));
	g_assert_no_error (error);
	/* a launch that runs already is told by aleph-vm's code, not by its text */
	{
		g_autoptr (GBytes) running = g_bytes_new_static ("session-of-a-running-vm", 23);
		g_autoptr (GBytes) refused = g_bytes_new_static ("session-refused", 15);
		g_assert_false (
		    ac_crn_confidential_initialize (crn, VM_HASH, running, godh, &error));
		g_assert_error (error, AC_ERROR, AC_ERROR_EXISTS);
		g_assert_nonnull (strstr (error->message, "HTTP 400"));
		g_clear_error (&error);
		g_assert_false (
		    ac_crn_confidential_initialize (crn, VM_HASH, refused, godh, &error));
		g_assert_error (error, AC_ERROR, AC_ERROR_REMOTE);
		g_clear_error (&error);
	}
	/* "not running", 500 (no QMP yet), then the measurement: polled, not slept */
	m = ac_crn_confidential_measurement (crn, VM_HASH, 10000, &error);
	g_assert_no_error (error);
	g_assert_cmpuint (srv.measurement_calls, ==, 3);
	g_assert_cmpuint (m->api_minor, ==, 55);
	lm_hex = ac_codec_hex_encode (m->launch_measure, 32);
	g_assert_cmpstr (lm_hex, ==,
	                 "476c10b617f7cb364afdef4831a3ad38456dc5c9d67bbf5375f60eaec619f6c9");
	g_assert_true (ac_crn_confidential_inject_secret (crn, VM_HASH, "AAAA", "BBBB", &error));
	g_assert_no_error (error);
	g_assert_true (ac_crn_operate (crn, VM_HASH, "stop", &error));
	g_assert_no_error (error);
	g_assert_null (srv.last_auth_error);
	execs = ac_crn_list_executions (crn, &error);
	g_assert_no_error (error);
	g_assert_cmpuint (execs->len, ==, 1);
	g_assert_true (((AcCrnExecution *)execs->pdata[0])->awaiting_confidential_init);
	/* aleph-vm 2.0's port mapping: TCP ports only, numbers only, within range */
	{
		const AcCrnExecution *e = execs->pdata[0];
		g_assert_cmpstr (e->host_ipv4, ==, "192.0.2.7");
		g_assert_cmpuint (ac_crn_execution_mapped_port (e, 8443), ==, 24443);
		g_assert_cmpuint (ac_crn_execution_mapped_port (e, 22), ==, 24022);
		g_assert_cmpuint (ac_crn_execution_mapped_port (e, 53), ==, 0);
		g_assert_cmpuint (ac_crn_execution_mapped_port (e, 80), ==, 0);
		g_assert_cmpuint (ac_crn_execution_mapped_port (e, 9000), ==, 0);
		g_assert_cmpuint (e->mapped_tcp->len, ==, 2);
	}

	/* behind a path prefix: the route is signed without it, and a bodyless operation sends
	 * no form content type */
	{
		g_autofree gchar *base = url ("/prefix");
		g_autoptr (AcCrnClient) pc = ac_crn_client_new (base, account, h, &error);
		g_assert_no_error (error);
		g_assert_true (ac_crn_operate (pc, VM_HASH, "reboot", &error));
		g_assert_no_error (error);
		g_assert_cmpuint (srv.prefixed_ok, ==, 1);
		g_assert_null (srv.prefixed_content_type);
	}

	/* an unsigned request to a signed endpoint: the server's words come back */
	{
		g_autofree gchar *u = url ("/control/machine/" VM_HASH "/reboot");
		g_autoptr (AcHttpResponse) r
		    = ac_http_request (h, "POST", u, NULL, NULL, NULL, 0, &error);
		g_assert_null (r);
		g_assert_error (error, AC_ERROR, AC_ERROR_REMOTE);
		g_assert_nonnull (strstr (error->message, "Missing X-SignedPubKey header"));
		g_assert_nonnull (strstr (error->message, "HTTP 400"));
	}
}

static void
test_crn_list (void)
{
	g_autoptr (AcHttpClient) h = fast_client ();
	g_autoptr (GError) error = NULL;
	g_autofree gchar *u = url ("/crns.json");
	g_autoptr (GPtrArray) all = ac_crn_list_fetch (h, u, AC_CRN_FILTER_NONE, &error);
	g_autoptr (GPtrArray) conf = ac_crn_list_fetch (h, u, AC_CRN_FILTER_CONFIDENTIAL, &error);
	g_autoptr (GPtrArray) snp = ac_crn_list_fetch (h, u, AC_CRN_FILTER_SNP, &error);
	g_assert_no_error (error);
	g_assert_cmpuint (all->len, ==, 5);
	g_assert_cmpuint (conf->len, ==, 2);
	g_assert_true (((AcCrnInfo *)conf->pdata[0])->sev);
	g_assert_false (((AcCrnInfo *)conf->pdata[0])->sev_snp);
	g_assert_cmpstr (((AcCrnInfo *)conf->pdata[0])->address, ==, "https://crn1.example.org");
	/* SEV-SNP: only the confidential QEMU node that lists sev_snp, never an SEV-only one */
	g_assert_cmpuint (snp->len, ==, 1);
	g_assert_true (((AcCrnInfo *)snp->pdata[0])->sev_snp);
	g_assert_cmpstr (((AcCrnInfo *)snp->pdata[0])->address, ==, "https://crn4.example.org");
}

static void
test_cli_send (void)
{
	/* virt-aleph message send/status against the local CCN */
	const gchar *cli = g_getenv ("VIRT_ALEPH");
	g_autofree gchar *dir = test_util_mkdtemp ("ac-cli-send-XXXXXX");
	g_autofree gchar *key = g_build_filename (dir, "k", NULL);
	g_autofree gchar *content = g_build_filename (dir, "c.json", NULL);
	g_autofree gchar *msg = g_build_filename (dir, "m.json", NULL);
	g_autofree gchar *out = NULL;
	g_autofree gchar *err = NULL;
	guint8 k[32];
	gint status = 0;

	if (cli == NULL) {
		g_test_skip ("VIRT_ALEPH is not set (virt-aleph not built)");
		return;
	}
	memset (k, 1, 32);
	g_assert_true (g_file_set_contents (key, (const gchar *)k, 32, NULL));
	g_chmod (key, 0600);
	g_assert_true (g_file_set_contents (content, "{\"hashes\":[\"" VM_HASH "\"]}", -1, NULL));
	{
		const gchar *argv[] = { cli, "message", "build", "FORGET",  content, "--key-file",
			                key, "-o",      msg,     "--quiet", NULL };
		g_assert_true (g_spawn_sync (NULL, (gchar **)argv, NULL, G_SPAWN_DEFAULT, NULL,
		                             NULL, NULL, NULL, &status, NULL));
		g_assert_cmpint (status, ==, 0);
	}
	/* 202 pending, then polled until processed */
	g_free (srv.post_mode);
	srv.post_mode = g_strdup ("pending");
	srv.status_calls = 0;
	{
		const gchar *argv[] = { cli,      "message",   "send", msg,       "--api",
			                srv.base, "--timeout", "20",   "--quiet", NULL };
		g_assert_true (g_spawn_sync (NULL, (gchar **)argv, NULL, G_SPAWN_DEFAULT, NULL,
		                             NULL, &out, &err, &status, NULL));
		g_assert_true (g_spawn_check_wait_status (status, NULL));
		g_assert_nonnull (strstr (out, "processed"));
		g_assert_cmpuint (srv.status_calls, >=, 4);
	}
	/* a rejected message: exit 7 with the error code in words */
	{
		const gchar *argv[]
		    = { cli, "message", "status", REJECTED_HASH, "--api", srv.base, NULL };
		g_clear_pointer (&out, g_free);
		g_assert_true (g_spawn_sync (NULL, (gchar **)argv, NULL, G_SPAWN_DEFAULT, NULL,
		                             NULL, &out, NULL, &status, NULL));
		g_assert_true (WIFEXITED (status) && WEXITSTATUS (status) == 7);
		g_assert_nonnull (strstr (out, "BALANCE_INSUFFICIENT"));
	}
	/* the envelope refused before broadcast: exit 7, the server's text shown */
	g_free (srv.post_mode);
	srv.post_mode = g_strdup ("envelope");
	{
		const gchar *argv[] = { cli, "message", "send", msg, "--api", srv.base, NULL };
		g_clear_pointer (&err, g_free);
		g_assert_true (g_spawn_sync (NULL, (gchar **)argv, NULL, G_SPAWN_DEFAULT, NULL,
		                             NULL, NULL, &err, &status, NULL));
		g_assert_true (WIFEXITED (status) && WEXITSTATUS (status) == 7);
		g_assert_nonnull (strstr (err, "InvalidMessageFormat"));
	}
	test_util_rm_rf (dir);
}

static void
test_proxy_env (void)
{
	/* libcurl honours http_proxy: a host that does not exist is reached through our server */
	g_autoptr (AcHttpClient) h = fast_client ();
	g_autoptr (GError) error = NULL;
	g_autoptr (AcHttpResponse) r = NULL;
	guint before = srv.flaky_get;

	g_setenv ("http_proxy", srv.base, TRUE);
	r = ac_http_request (h, "GET", "http://aleph.invalid/flaky", NULL, NULL, NULL,
	                     AC_HTTP_IDEMPOTENT, &error);
	g_unsetenv ("http_proxy");
	g_assert_no_error (error);
	g_assert_cmpuint (r->status, ==, 200);
	g_assert_cmpuint (srv.flaky_get, >, before);
}

static void
test_tls_always_verified (void)
{
	/* a self-signed certificate is refused: verification cannot be turned off */
	g_autoptr (AcHttpClient) h = ac_http_client_new ();
	g_autoptr (GError) error = NULL;
	g_autofree gchar *u = g_strconcat (srv.tls_base, "flaky", NULL);
	g_autoptr (AcHttpResponse) r = NULL;

	/* generous: the handshake counts in the connect timeout, and CI machines are busy */
	ac_http_client_set_timeouts (h, 30000, 60000);
	r = ac_http_request (h, "GET", u, NULL, NULL, NULL, 0, &error);
	g_assert_null (r);
	g_assert_error (error, AC_ERROR, AC_ERROR_NETWORK);
	g_test_message ("%s", error->message);
	g_assert_nonnull (strstr (error->message, "certificate"));
	g_assert_nonnull (strstr (error->message, u));
}

static void
test_sanitize_url (void)
{
	struct {
		const gchar *in;
		const gchar *out;
	} v[] = {
		{ "api2.aleph.im", "https://api2.aleph.im" },
		{ "https://api2.aleph.im///", "https://api2.aleph.im" },
		{ "http://127.0.0.1:4024/", "http://127.0.0.1:4024" },
		{ "https://crn.example.org/prefix/", "https://crn.example.org/prefix" },
		{ "ftp://example.org", NULL },
		{ "", NULL },
		{ "https://", NULL },
	};
	for (guint i = 0; i < G_N_ELEMENTS (v); i++) {
		g_autoptr (GError) error = NULL;
		g_autofree gchar *o = ac_http_sanitize_base_url (v[i].in, &error);
		g_assert_cmpstr (o, ==, v[i].out);
		if (v[i].out == NULL)
			g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
	}
}

static gpointer
cancel_later (gpointer data)
{
	g_usleep (300000);
	g_cancellable_cancel (data);
	return NULL;
}

static void
test_cancel (void)
{
	g_autoptr (AcHttpClient) h = ac_http_client_new ();
	g_autoptr (GCancellable) c = g_cancellable_new ();
	g_autoptr (GError) error = NULL;
	g_autofree gchar *u = url ("/slow");
	g_autoptr (AcHttpResponse) r = NULL;
	g_autoptr (AcCcnClient) ccn = NULL;
	g_autoptr (AcMessageInfo) info = NULL;
	gint64 t0 = g_get_monotonic_time ();
	GThread *t;

	/* a transfer the server would answer in 10 s */
	ac_http_client_set_cancellable (h, c);
	t = g_thread_new ("cancel", cancel_later, c);
	r = ac_http_request (h, "GET", u, NULL, NULL, NULL, AC_HTTP_IDEMPOTENT, &error);
	g_thread_join (t);
	g_assert_null (r);
	g_assert_error (error, AC_ERROR, AC_ERROR_CANCELLED);
	g_assert_cmpint (g_get_monotonic_time () - t0, <, 5000000);
	g_clear_error (&error);

	/* polling a message that stays pending */
	g_cancellable_reset (c);
	ccn = ac_ccn_client_new (srv.base, h, &error);
	ac_ccn_client_set_poll (ccn, 50, 200);
	t0 = g_get_monotonic_time ();
	t = g_thread_new ("cancel", cancel_later, c);
	info = ac_ccn_wait_processed (ccn, PENDING_HASH, 60000, NULL, &error);
	g_thread_join (t);
	g_assert_null (info);
	g_assert_error (error, AC_ERROR, AC_ERROR_CANCELLED);
	g_assert_cmpint (g_get_monotonic_time () - t0, <, 5000000);
}

static void
test_kds_fetch (void)
{
	g_autoptr (AcHttpClient) h = fast_client ();
	g_autoptr (GError) error = NULL;
	g_autofree gchar *u = url ("/cek/id/00112233");
	g_autofree gchar *missing = url ("/missing");
	g_autoptr (GCancellable) c = g_cancellable_new ();
	g_autoptr (GBytes) b = ac_aleph_kds_fetch (u, h, NULL, &error);
	g_assert_no_error (error);
	g_assert_cmpuint (g_bytes_get_size (b), ==, 2084);
	g_assert_null (ac_aleph_kds_fetch (missing, h, NULL, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_NOT_FOUND);
	g_clear_error (&error);
	g_cancellable_cancel (c);
	g_assert_null (ac_aleph_kds_fetch (u, h, c, &error));
	g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
}

/* aleph-vm's JSON logs, as hostile input: escapes never reach a terminal, bounds hold */
static void
test_crn_logs_parse (void)
{
	g_autoptr (GError) error = NULL;
	const gchar *body =
	    "[{\"SYSLOG_IDENTIFIER\":\"vm-x-stdout\",\"MESSAGE\":\"boot \\u001b]0;owned\\u0007 ok\",\"file\":\"stdout\","
	    "\"__REALTIME_TIMESTAMP\":\"2026-12-06 10:00:00\"},"
	    "{\"MESSAGE\":\"a\\\\x1b b\\r\\n\",\"file\":\"stderr\",\"__REALTIME_TIMESTAMP\":1765015200000000},"
	    "{\"file\":\"stdout\"}, 7, {\"MESSAGE\":\"\\u009b2J\\u00e9t\\u00e9\"}]";
	g_autoptr (GPtrArray) lines = ac_crn_parse_logs (body, strlen (body), &error);
	AcCrnLogLine *l;

	g_assert_no_error (error);
	g_assert_cmpuint (lines->len, ==, 3);
	l = lines->pdata[0];
	g_assert_cmpstr (l->message, ==, "boot \\x1b]0;owned\\x07 ok");
	g_assert_cmpstr (l->stream, ==, "stdout");
	g_assert_cmpstr (l->time, ==, "2026-12-06 10:00:00");
	l = lines->pdata[1];
	/* a backslash of the guest's is doubled: "\\x1b" it wrote is not an escape we made */
	g_assert_cmpstr (l->message, ==, "a\\\\x1b b\\x0d\\x0a");
	g_assert_cmpstr (l->stream, ==, "stderr");
	g_assert_cmpstr (l->time, ==, "1765015200000000");
	l = lines->pdata[2];
	/* C1 CSI escaped, the rest of UTF-8 kept; no file: stdout */
	g_assert_cmpstr (l->message, ==, "\\x9b2J\xc3\xa9t\xc3\xa9");
	g_assert_cmpstr (l->stream, ==, "stdout");
	g_assert_null (l->time);
	g_assert_null (ac_crn_parse_logs ("{}", 2, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_REMOTE);
}

/* a STORE's file read in parts (HTTP Range), whole from a server that ignores Range, and a
 * 206 that lies refused */
static void
test_stored_ranges (void)
{
	g_autoptr (AcHttpClient) h = fast_client ();
	g_autoptr (GError) error = NULL;
	g_autoptr (AcCcnClient) ccn = ac_ccn_client_new (srv.base, h, &error);
	g_autoptr (AcCcnStoredFile) f = NULL;
	gsize len = 3 * 1024 * 1024 + 17;
	guint8 *data = g_malloc (len);
	guint8 buf[4096];
	const gsize mib = 1024 * 1024;

	g_assert_no_error (error);
	for (gsize i = 0; i < len; i++)
		data[i] = (guint8)(i * 7 + i / 251);
	g_mutex_lock (&srv.lock);
	srv.raw_file = g_bytes_new_take (data, len);
	srv.raw_hash = ac_aleph_sha256_hex (data, len);
	srv.raw_sent = 0;
	g_mutex_unlock (&srv.lock);

	/* Range honoured: the first MiB, then the parts asked for */
	f = ac_ccn_stored_open (ccn, "test file", srv.raw_hash, mib, mib, &error);
	g_assert_no_error (error);
	g_assert_cmpuint (ac_ccn_stored_file_get_size (f), ==, len);
	g_assert_false (ac_ccn_stored_file_is_whole (f));
	g_assert_true (ac_ccn_stored_file_read (f, 100, buf, 100, &error));
	g_assert_cmpmem (buf, 100, data + 100, 100);
	g_assert_true (ac_ccn_stored_file_read (f, 2 * mib, buf, sizeof (buf), &error));
	g_assert_cmpmem (buf, sizeof (buf), data + 2 * mib, sizeof (buf));
	g_assert_true (ac_ccn_stored_file_read (f, mib - 10, buf, 20, &error)); /* extends */
	g_assert_cmpmem (buf, 20, data + mib - 10, 20);
	g_assert_true (ac_ccn_stored_file_read (f, len - 10, buf, 10, &error));
	g_assert_cmpmem (buf, 10, data + len - 10, 10);
	g_assert_no_error (error);
	g_assert_false (ac_ccn_stored_file_read (f, len - 5, buf, 10, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
	g_clear_error (&error);
	g_assert_cmpuint (srv.raw_sent, <, len / 2);
	g_clear_pointer (&f, ac_ccn_stored_file_free);

	/* Range ignored: the whole file, within the bound, its hash checked */
	srv.raw_ignore_range = TRUE;
	f = ac_ccn_stored_open (ccn, "test file", srv.raw_hash, mib, 4 * mib, &error);
	g_assert_no_error (error);
	g_assert_true (ac_ccn_stored_file_is_whole (f));
	g_assert_cmpuint (ac_ccn_stored_file_get_size (f), ==, len);
	g_assert_true (ac_ccn_stored_file_read (f, 2 * mib, buf, sizeof (buf), &error));
	g_assert_cmpmem (buf, sizeof (buf), data + 2 * mib, sizeof (buf));
	g_clear_pointer (&f, ac_ccn_stored_file_free);
	/* ... beyond the bound: refused, saying why */
	f = ac_ccn_stored_open (ccn, "test file", srv.raw_hash, mib, 2 * mib, &error);
	g_assert_null (f);
	g_assert_nonnull (error);
	g_assert_nonnull (strstr (error->message, "ignores Range requests"));
	g_assert_nonnull (strstr (error->message, srv.raw_hash));
	g_clear_error (&error);

	/* a 206 that labels the bytes as others is refused */
	srv.raw_ignore_range = FALSE;
	srv.raw_lie = TRUE;
	f = ac_ccn_stored_open (ccn, "test file", srv.raw_hash, mib, 4 * mib, &error);
	g_assert_null (f);
	g_assert_error (error, AC_ERROR, AC_ERROR_REMOTE);
	g_clear_error (&error);

	g_mutex_lock (&srv.lock);
	srv.raw_lie = FALSE;
	g_clear_pointer (&srv.raw_hash, g_free);
	g_mutex_unlock (&srv.lock);
}

/* Content-Range: "bytes START-END/SIZE" only */
static void
test_content_range (void)
{
	const gchar *bad[] = { NULL,
		               "",
		               "bytes",
		               "bytes 0-9/*",
		               "bytes */10",
		               "bytes 5-4/10",
		               "bytes 0-10/10",
		               "bytes 0-9/10 ",
		               "items 0-9/10",
		               "bytes -1-9/10",
		               "bytes 0-9/99999999999999999999",
		               "bytes 0-9/10,1" };
	guint64 a = 0, b = 0, t = 0;

	g_assert_true (
	    ac_http_parse_content_range ("bytes 0-1048575/5368709120", &a, &b, &t, NULL));
	g_assert_cmpuint (a, ==, 0);
	g_assert_cmpuint (b, ==, 1048575);
	g_assert_cmpuint (t, ==, 5368709120);
	g_assert_true (ac_http_parse_content_range ("bytes 9-9/10", &a, &b, &t, NULL));
	for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
		g_autoptr (GError) error = NULL;
		g_assert_false (ac_http_parse_content_range (bad[i], &a, &b, &t, &error));
		g_assert_error (error, AC_ERROR, AC_ERROR_REMOTE);
	}
}

int
main (int argc, char **argv)
{
	int rc;
	g_test_init (&argc, &argv, NULL);
	/* proxies of the environment must not catch loopback traffic */
	g_setenv ("no_proxy", "127.0.0.1,localhost", TRUE);
	test_aleph_http_server_start ();

	g_test_add_func ("/aleph/http/retry-idempotent", test_retry_idempotent);
	g_test_add_func ("/aleph/http/no-retry-post", test_no_retry_post);
	g_test_add_func ("/aleph/http/rate-limited", test_rate_limited);
	g_test_add_func ("/aleph/http/timeout", test_timeout);
	g_test_add_func ("/aleph/http/mute-peer", test_mute_peer);
	g_test_add_func ("/aleph/http/refused-and-limits", test_connection_refused_and_limits);
	g_test_add_func ("/aleph/http/reset-mid-upload", test_reset_mid_upload);
	g_test_add_func ("/aleph/ccn/messages", test_ccn_messages);
	g_test_add_func ("/aleph/ccn/uploads", test_uploads);
	g_test_add_func ("/aleph/crn/endpoints", test_crn);
	g_test_add_func ("/aleph/crn/list", test_crn_list);
	g_test_add_func ("/aleph/crn/logs-parse", test_crn_logs_parse);
	g_test_add_func ("/aleph/kds/fetch", test_kds_fetch);
	g_test_add_func ("/aleph/http/proxy-env", test_proxy_env);
	g_test_add_func ("/aleph/http/cancel", test_cancel);
	g_test_add_func ("/aleph/http/sanitize-url", test_sanitize_url);
	g_test_add_func ("/aleph/http/tls-always-verified", test_tls_always_verified);
	g_test_add_func ("/aleph/ccn/cli-send", test_cli_send);
	g_test_add_func ("/aleph/ccn/stored-ranges", test_stored_ranges);
	g_test_add_func ("/aleph/http/content-range", test_content_range);
	rc = g_test_run ();
	test_aleph_http_server_stop ();
	return rc;
}
