/*
 * The local test server of test-aleph-http.c: its routes and its thread.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include <glib/gstdio.h>
#include <libsoup/soup.h>

#include "ac-aleph-client.h"
#include "ac-aleph-util.h"
#include "ac-car.h"
#include "ac-error.h"
#include "../test-util.h"
#include "test-aleph-http-server.h"

TestServer srv;

static void
reply (SoupServerMessage *msg, guint status, const gchar *ct, const gchar *body)
{
	soup_server_message_set_status (msg, status, NULL);
	soup_server_message_set_response (msg, ct, SOUP_MEMORY_COPY, body, strlen (body));
}

static gboolean
unpause_cb (gpointer data)
{
	SoupServerMessage *msg = data;
	reply (msg, 200, "application/json", "{\"late\":true}");
	soup_server_message_unpause (msg);
	return G_SOURCE_REMOVE;
}

static void
handle_misc (SoupServer *server,
             SoupServerMessage *msg,
             const char *path,
             GHashTable *query,
             gpointer data)
{
	g_mutex_lock (&srv.lock);
	if (g_strcmp0 (path, "/flaky") == 0) {
		if (++srv.flaky_get <= 2)
			reply (msg, 503, "application/json", "{\"error\": \"warming up\"}");
		else
			reply (msg, 200, "application/json", "{\"ok\": true}");
	} else if (g_strcmp0 (path, "/rate-limited") == 0) {
		/* twice "too many requests, come back in 1 s", then the answer */
		if (++srv.rate_limited <= 2) {
			soup_message_headers_replace (
			    soup_server_message_get_response_headers (msg), "Retry-After", "1");
			reply (msg, 429, "application/json", "{\"error\": \"slow down\"}");
		} else {
			reply (msg, 200, "application/json", "{\"ok\": true}");
		}
	} else if (g_strcmp0 (path, "/flaky-post") == 0) {
		srv.flaky_post++;
		reply (msg, 503, "text/plain", "backend down\nretry later");
	} else if (g_strcmp0 (path, "/slow") == 0) {
		GSource *s = g_timeout_source_new (10000);
		srv.slow++;
		soup_server_message_pause (msg);
		g_source_set_callback (s, unpause_cb, g_object_ref (msg), g_object_unref);
		g_source_attach (s, srv.ctx);
		g_source_unref (s);
	} else if (g_strcmp0 (path, "/big") == 0) {
		gchar *big = g_strnfill (200000, 'x');
		reply (msg, 200, "text/plain", big);
		g_free (big);
	} else if (g_str_has_prefix (path, "/cek/id/")) {
		gchar *cek = g_malloc (2084);
		memset (cek, 0x42, 2084);
		soup_server_message_set_status (msg, 200, NULL);
		soup_server_message_set_response (msg, "application/octet-stream", SOUP_MEMORY_TAKE,
		                                  cek, 2084);
	} else if (g_strcmp0 (path, "/missing") == 0) {
		reply (msg, 404, "application/json", "{\"error\": \"Hash not found\"}");
	} else if (g_strcmp0 (path, "/crns.json") == 0) {
		g_autofree gchar *body = NULL;
		g_file_get_contents (TEST_DATA_DIR "/responses/crns.json", &body, NULL, NULL);
		reply (msg, 200, "application/json", body);
	} else {
		reply (msg, 404, "text/plain", "no route");
	}
	g_mutex_unlock (&srv.lock);
}

static void
handle_messages (SoupServer *server,
                 SoupServerMessage *msg,
                 const char *path,
                 GHashTable *query,
                 gpointer data)
{
	SoupMessageBody *body = soup_server_message_get_request_body (msg);
	g_mutex_lock (&srv.lock);
	if (srv.raw_hash != NULL && g_str_has_prefix (path, "/api/v0/messages/")
	    && g_str_has_prefix (path + strlen ("/api/v0/messages/"), srv.raw_hash)) {
		reply (msg, 404, "application/json", "{\"error\": \"Message not found\"}");
	} else if (g_strcmp0 (soup_server_message_get_method (msg), "POST") == 0
	           && g_strcmp0 (path, "/api/v0/messages") == 0) {
		g_autoptr (GError) error = NULL;
		g_autoptr (AcAlephMessage) m
		    = ac_aleph_message_from_data (body->data, body->length, &error);
		if (m == NULL || !ac_aleph_message_verify (m, NULL, &error)) {
			reply (msg, 422, "text/plain", "InvalidMessageFormat");
		} else if (g_strcmp0 (srv.post_mode, "processed") == 0) {
			reply (msg, 200, "application/json",
			       "{\"publication_status\":{\"status\":\"success\",\"failed\":[]},"
			       "\"message_status\":\"processed\"}");
		} else if (g_strcmp0 (srv.post_mode, "rejected") == 0) {
			reply (msg, 422, "application/json",
			       "{\"publication_status\":{\"status\":\"success\",\"failed\":[]},"
			       "\"message_status\":\"rejected\"}");
		} else if (g_strcmp0 (srv.post_mode, "envelope") == 0) {
			reply (msg, 422, "text/plain", "InvalidMessageFormat");
		} else if (g_strcmp0 (srv.post_mode, "gone") == 0) {
			reply (msg, 410, "text/plain", "Gone");
		} else {
			reply (msg, 202, "application/json",
			       "{\"publication_status\":{\"status\":\"warning\",\"failed\":["
			       "\"p2p\"]},\"message_status\":\"pending\"}");
		}
	} else if (g_str_has_prefix (path, "/api/v0/messages/" REJECTED_HASH)) {
		reply (
		    msg, 200, "application/json",
		    "{\"status\":\"rejected\",\"item_hash\":\"" REJECTED_HASH
		    "\",\"reception_time\":\"x\","
		    "\"error_code\":5,\"details\":{\"errors\":[{\"required_balance\":\"1000\"}]}}");
	} else if (g_str_has_prefix (path, "/api/v0/messages/" PENDING_HASH)) {
		reply (msg, 200, "application/json",
		       "{\"status\":\"pending\",\"item_hash\":\"" PENDING_HASH
		       "\",\"reception_time\":\"x\"}");
	} else if (g_str_has_prefix (path, "/api/v0/messages/") && strlen (path) >= 17 + 64) {
		/* any other message: unknown, pending, pending, processed */
		srv.status_calls++;
		if (srv.status_calls == 1)
			reply (msg, 404, "application/json", "{\"error\": \"Message not found\"}");
		else if (srv.status_calls <= 3)
			reply (msg, 200, "application/json",
			       "{\"status\":\"pending\",\"item_hash\":\"x\",\"reception_time\":"
			       "\"2026-01-01T00:00:00Z\"}");
		else
			reply (msg, 200, "application/json",
			       "{\"status\":\"processed\",\"item_hash\":\"x\",\"reception_time\":"
			       "\"2026-01-01T00:00:00Z\"}");
	} else if (g_strcmp0 (path, "/api/v0/price/estimate") == 0) {
		reply (msg, 200, "application/json",
		       "{\"required_tokens\":0.5,\"payment_type\":\"credit\",\"cost\":\"0.5\"}");
	} else if (g_strcmp0 (path, "/api/v0/messages.json") == 0) {
		g_autofree gchar *b = NULL;
		g_file_get_contents (TEST_DATA_DIR "/responses/messages-page.json", &b, NULL, NULL);
		reply (msg, 200, "application/json", b);
	} else {
		reply (msg, 404, "text/plain", "no route");
	}
	g_mutex_unlock (&srv.lock);
}

/* server side of the uploads: hash what arrived, check the STORE message in "metadata" */
/* a STORE's file, by parts (libsoup answers a Range request of a whole 200 with its 206) */
static void
handle_raw (SoupServerMessage *msg, const char *path)
{
	SoupMessageHeaders *req = soup_server_message_get_request_headers (msg);
	gsize len = 0;
	const guint8 *data = srv.raw_file != NULL ? g_bytes_get_data (srv.raw_file, &len) : NULL;
	SoupRange *ranges = NULL;
	int n = 0;

	srv.raw_gets++;
	if (srv.raw_hash == NULL || !g_str_has_suffix (path, srv.raw_hash)) {
		reply (msg, 404, "text/plain", "File not found");
		return;
	}
	if (soup_message_headers_get_ranges (req, len, &ranges, &n) && n == 1)
		srv.raw_sent += srv.raw_ignore_range
		                    ? (guint64)len
		                    : (guint64)(ranges[0].end - ranges[0].start + 1);
	else
		srv.raw_sent += len;
	if (ranges != NULL && srv.raw_lie) {
		/* the bytes asked for, labelled as bytes one further on */
		g_autofree gchar *cr = g_strdup_printf (
		    "bytes %" G_GINT64_FORMAT "-%" G_GINT64_FORMAT "/%" G_GSIZE_FORMAT,
		    ranges[0].start + 1, ranges[0].end + 1, len);
		soup_message_headers_replace (soup_server_message_get_response_headers (msg),
		                              "Content-Range", cr);
		soup_server_message_set_status (msg, 206, NULL);
		soup_server_message_set_response (msg, "application/octet-stream", SOUP_MEMORY_COPY,
		                                  (const char *)data + ranges[0].start,
		                                  (gsize)(ranges[0].end - ranges[0].start + 1));
		soup_message_headers_free_ranges (req, ranges);
		return;
	}
	if (ranges != NULL)
		soup_message_headers_free_ranges (req, ranges);
	if (srv.raw_ignore_range)
		soup_message_headers_remove (req, "Range");
	soup_server_message_set_status (msg, 200, NULL);
	soup_server_message_set_response (msg, "application/octet-stream", SOUP_MEMORY_COPY,
	                                  (const char *)data, len);
}

static void
handle_upload (SoupServer *server,
               SoupServerMessage *msg,
               const char *path,
               GHashTable *query,
               gpointer data)
{
	SoupMessageBody *body = soup_server_message_get_request_body (msg);
	g_autoptr (GBytes) bytes = soup_message_body_flatten (body);
	g_autoptr (SoupMultipart) mp = soup_multipart_new_from_message (
	    soup_server_message_get_request_headers (msg), bytes);
	GBytes *file = NULL;
	GBytes *meta = NULL;
	g_autofree gchar *hash = NULL;
	g_autofree gchar *answer = NULL;

	g_mutex_lock (&srv.lock);
	if (g_str_has_prefix (path, "/api/v0/storage/raw/")) {
		handle_raw (msg, path);
		g_mutex_unlock (&srv.lock);
		return;
	}
	srv.uploads++;
	for (int i = 0; mp != NULL && i < soup_multipart_get_length (mp); i++) {
		SoupMessageHeaders *h;
		GBytes *b;
		g_autoptr (GHashTable) params = NULL;
		soup_multipart_get_part (mp, i, &h, &b);
		if (soup_message_headers_get_content_disposition (h, NULL, &params)) {
			const gchar *name = g_hash_table_lookup (params, "name");
			if (g_strcmp0 (name, "file") == 0)
				file = b;
			else if (g_strcmp0 (name, "metadata") == 0)
				meta = b;
		}
	}
	if (file == NULL) {
		reply (msg, 422, "text/plain", "file field is missing");
		g_mutex_unlock (&srv.lock);
		return;
	}
	if (g_str_has_suffix (path, "storage/add_file")) {
		gsize len;
		const guint8 *d = g_bytes_get_data (file, &len);
		hash = ac_aleph_sha256_hex (d, len);
	} else if (g_str_has_suffix (path, "ipfs/add_file")
	           || g_str_has_suffix (path, "/api/v0/add")) {
		g_autoptr (AcUnixfsBuilder) b = ac_unixfs_builder_new (NULL, NULL);
		guint8 root[AC_CID_V0_LEN];
		gsize len;
		const guint8 *d = g_bytes_get_data (file, &len);
		ac_unixfs_builder_update (b, d, len, NULL);
		ac_unixfs_builder_finish (b, root, NULL, NULL);
		hash = ac_cid_v0_to_string (root);
	} else {
		g_autoptr (GPtrArray) roots = NULL;
		g_autoptr (GError) error = NULL;
		gsize len;
		const guint8 *d = g_bytes_get_data (file, &len);
		if (!ac_car_parse (d, len, &roots, NULL, NULL, &error) || roots->len != 1) {
			reply (msg, 422, "text/plain", "bad CAR");
			g_mutex_unlock (&srv.lock);
			return;
		}
		hash = ac_base58btc_encode (((GByteArray *)roots->pdata[0])->data,
		                            ((GByteArray *)roots->pdata[0])->len);
	}
	if (meta != NULL) {
		gsize len;
		const gchar *d = g_bytes_get_data (meta, &len);
		g_autoptr (GError) error = NULL;
		g_autoptr (AcAlephMessage) m = ac_aleph_message_from_data (d, len, &error);
		g_autoptr (JsonNode) content
		    = m != NULL ? ac_aleph_message_get_content (m, NULL) : NULL;
		if (m == NULL || !ac_aleph_message_verify (m, NULL, NULL) || content == NULL
		    || g_strcmp0 (json_object_get_string_member (json_node_get_object (content),
		                                                 "item_hash"),
		                  hash)
		           != 0) {
			reply (msg, 403, "text/plain", "bad metadata");
			g_mutex_unlock (&srv.lock);
			return;
		}
	}
	if (srv.liar) {
		/* the last character: another digest, still a well-formed CID (a change near the
		 * front can break the multihash prefix, which is another error) */
		gsize last = strlen (hash) - 1;
		hash[last] = hash[last] == 'a' ? 'b' : 'a';
	}
	if (g_str_has_suffix (path, "/api/v0/add"))
		answer
		    = g_strdup_printf ("{\"Name\":\"f\",\"Hash\":\"%s\",\"Size\":\"12\"}\n", hash);
	else
		answer = g_strdup_printf (
		    "{\"status\":\"success\",\"hash\":\"%s\",\"name\":\"f\",\"size\":1}", hash);
	reply (msg, 200, "application/json", answer);
	g_mutex_unlock (&srv.lock);
}

/* a CRN behind a path prefix: aleph-vm sees (and the SDK signs) the route without it */
static void
handle_prefixed (SoupServer *server,
                 SoupServerMessage *msg,
                 const char *path,
                 GHashTable *query,
                 gpointer data)
{
	SoupMessageHeaders *hdrs = soup_server_message_get_request_headers (msg);
	g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
	g_autoptr (GError) error = NULL;
	guint status = 0;

	g_mutex_lock (&srv.lock);
	g_free (srv.prefixed_content_type);
	srv.prefixed_content_type = g_strdup (soup_message_headers_get_one (hdrs, "Content-Type"));
	if (ac_crn_auth_verify_request (soup_message_headers_get_one (hdrs, "X-SignedPubKey"),
	                                soup_message_headers_get_one (hdrs, "X-SignedOperation"),
	                                "127.0.0.1", soup_server_message_get_method (msg),
	                                path + strlen ("/prefix"), now, NULL, &status, &error)) {
		srv.prefixed_ok++;
		reply (msg, 200, "application/json", "{}");
	} else {
		reply (msg, status, "text/plain", error->message);
	}
	g_mutex_unlock (&srv.lock);
}

static void
handle_crn (SoupServer *server,
            SoupServerMessage *msg,
            const char *path,
            GHashTable *query,
            gpointer data)
{
	SoupMessageHeaders *hdrs = soup_server_message_get_request_headers (msg);
	const gchar *method = soup_server_message_get_method (msg);
	g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
	g_autoptr (GError) error = NULL;
	guint status = 0;

	g_mutex_lock (&srv.lock);
	if (g_strcmp0 (path, "/about/certificates") == 0) {
		gchar *chain = g_malloc0 (8336);
		soup_server_message_set_status (msg, 200, NULL);
		soup_server_message_set_response (msg, "application/octet-stream", SOUP_MEMORY_TAKE,
		                                  chain, 8336);
	} else if (g_strcmp0 (path, "/control/allocation/notify") == 0) {
		reply (msg, 200, "application/json",
		       "{\"success\":true,\"successful\":true,\"failing\":[],\"errors\":{}}");
	} else if (g_strcmp0 (path, "/about/executions/list") == 0) {
		reply (msg, 200, "application/json",
		       "{\"" VM_HASH
		       "\":{\"networking\":{\"ipv4\":\"10.0.0.2\",\"ipv6\":\"fd00::2\","
		       "\"host_ipv4\":\"192.0.2.7\",\"mapped_ports\":{"
		       "\"22\":{\"host\":24022,\"tcp\":true,\"udp\":false},"
		       "\"53\":{\"host\":24053,\"tcp\":false,\"udp\":true},"
		       "\"80\":{\"host\":\"24080\",\"tcp\":true},"
		       "\"8443\":{\"host\":24443,\"tcp\":true,\"udp\":false},"
		       "\"9000\":{\"host\":70000,\"tcp\":true}}},"
		       "\"vm_type\":\"instance\",\"awaiting_confidential_init\":true}}");
	} else if (!ac_crn_auth_verify_request (
	               soup_message_headers_get_one (hdrs, "X-SignedPubKey"),
	               soup_message_headers_get_one (hdrs, "X-SignedOperation"), "127.0.0.1",
	               method, path, now, NULL, &status, &error)) {
		g_autofree gchar *b = g_strdup_printf ("{\"error\": \"%s\"}", error->message);
		g_free (srv.last_auth_error);
		srv.last_auth_error = g_strdup (error->message);
		reply (msg, status, "application/json", b);
	} else if (g_str_has_suffix (path, "/confidential/measurement")) {
		if (++srv.measurement_calls == 1)
			reply (msg, 403, "text/plain", "Operation not running");
		else if (srv.measurement_calls == 2)
			reply (msg, 500, "text/plain", "500 Internal Server Error");
		else
			reply (msg, 200, "application/json",
			       "{\"sev_info\":{\"enabled\":true,\"api_major\":1,\"api_minor\":55,"
			       "\"build_id\":24,\"policy\":1,\"state\":\"launch-secret\","
			       "\"handle\":1},"
			       "\"launch_measure\":\"R2wQthf3yzZK/"
			       "e9IMaOtOEVtxcnWe79TdfYOrsYZ9skAAQIDBAUGBwgJCgsMDQ4P\"}");
	} else if (g_str_has_suffix (path, "/confidential/initialize")) {
		SoupMessageBody *body = soup_server_message_get_request_body (msg);
		g_autoptr (GBytes) bytes = soup_message_body_flatten (body);
		g_autoptr (SoupMultipart) mp = soup_multipart_new_from_message (hdrs, bytes);
		guint file_parts = 0;
		for (int i = 0; mp != NULL && i < soup_multipart_get_length (mp); i++) {
			SoupMessageHeaders *h;
			GBytes *b;
			g_autoptr (GHashTable) params = NULL;
			soup_multipart_get_part (mp, i, &h, &b);
			/* aiohttp parses a part as a file field only with a filename */
			if (soup_message_headers_get_content_disposition (h, NULL, &params)
			    && g_hash_table_lookup (params, "filename") != NULL
			    && (g_strcmp0 (g_hash_table_lookup (params, "name"), "session") == 0
			        || g_strcmp0 (g_hash_table_lookup (params, "name"), "godh") == 0))
				file_parts++;
		}
		if (file_parts == 2
		    && g_strstr_len (g_bytes_get_data (bytes, NULL),
		                     (gssize)g_bytes_get_size (bytes), "session-of-a-running-vm")
		           != NULL)
			reply (msg, 400, "application/json",
			       "{\"code\":\"vm_running\",\"description\":\"Operation not allowed, "
			       "instance already running\"}");
		else if (file_parts == 2
		         && g_strstr_len (g_bytes_get_data (bytes, NULL),
		                          (gssize)g_bytes_get_size (bytes), "session-refused")
		                != NULL)
			reply (msg, 400, "application/json",
			       "{\"code\":\"vm_not_ready\",\"description\":\"instance already "
			       "running soon\"}");
		else if (file_parts == 2)
			reply (msg, 200, "text/plain", "Started VM with ref " VM_HASH);
		else
			reply (msg, 400, "application/json",
			       "{\"code\":\"field_missing\",\"description\":\"Session field is "
			       "missing\"}");
	} else if (g_str_has_suffix (path, "/confidential/inject_secret")) {
		reply (
		    msg, 200, "application/json",
		    "{\"status\": {\"status\":\"running\",\"singlestep\":false,\"running\":true}}");
	} else if (g_str_has_suffix (path, "/stop")) {
		reply (msg, 200, "text/plain", "Stopped VM");
	} else {
		reply (msg, 404, "text/plain", "No virtual machine with ref x");
	}
	g_mutex_unlock (&srv.lock);
}

static gpointer
server_thread (gpointer data)
{
	g_autoptr (GError) error = NULL;
	GSList *uris;

	g_main_context_push_thread_default (srv.ctx);
	srv.server = soup_server_new (NULL, NULL);
	soup_server_add_handler (srv.server, "/api/v0/messages", handle_messages, NULL, NULL);
	soup_server_add_handler (srv.server, "/api/v0/price", handle_messages, NULL, NULL);
	soup_server_add_handler (srv.server, "/api/v0/messages.json", handle_messages, NULL, NULL);
	soup_server_add_handler (srv.server, "/api/v0/storage", handle_upload, NULL, NULL);
	soup_server_add_handler (srv.server, "/api/v0/ipfs", handle_upload, NULL, NULL);
	soup_server_add_handler (srv.server, "/api/v0/add", handle_upload, NULL, NULL);
	soup_server_add_handler (srv.server, "/control", handle_crn, NULL, NULL);
	soup_server_add_handler (srv.server, "/prefix", handle_prefixed, NULL, NULL);
	soup_server_add_handler (srv.server, "/about", handle_crn, NULL, NULL);
	soup_server_add_handler (srv.server, NULL, handle_misc, NULL, NULL);
	if (!soup_server_listen_local (srv.server, 0, SOUP_SERVER_LISTEN_IPV4_ONLY, &error))
		g_error ("listen: %s", error->message);
	uris = soup_server_get_uris (srv.server);
	srv.base = g_uri_to_string (uris->data);
	g_slist_free_full (uris, (GDestroyNotify)g_uri_unref);
	if (g_str_has_suffix (srv.base, "/"))
		srv.base[strlen (srv.base) - 1] = '\0';
	/* an https server with a self-signed certificate */
	if (srv.tls_dir != NULL) {
		g_autofree gchar *crt = g_build_filename (srv.tls_dir, "c.pem", NULL);
		g_autofree gchar *key = g_build_filename (srv.tls_dir, "k.pem", NULL);
		g_autoptr (GTlsCertificate) cert
		    = g_tls_certificate_new_from_files (crt, key, &error);
		if (cert != NULL) {
			srv.tls_server = soup_server_new ("tls-certificate", cert, NULL);
			soup_server_add_handler (srv.tls_server, NULL, handle_misc, NULL, NULL);
			if (soup_server_listen_local (
			        srv.tls_server, 0,
			        SOUP_SERVER_LISTEN_IPV4_ONLY | SOUP_SERVER_LISTEN_HTTPS, &error)) {
				uris = soup_server_get_uris (srv.tls_server);
				srv.tls_base = g_uri_to_string (uris->data);
				g_slist_free_full (uris, (GDestroyNotify)g_uri_unref);
			}
		}
		if (srv.tls_base == NULL)
			g_error ("https test server: %s",
			         error != NULL ? error->message : "no certificate");
	}
	g_mutex_lock (&srv.lock);
	srv.started = TRUE;
	g_cond_signal (&srv.ready);
	g_mutex_unlock (&srv.lock);
	g_main_loop_run (srv.loop);
	g_clear_object (&srv.tls_server);
	g_object_unref (srv.server);
	g_main_context_pop_thread_default (srv.ctx);
	return NULL;
}

void
test_aleph_http_server_start (void)
{
	g_mutex_init (&srv.lock);
	g_cond_init (&srv.ready);
	srv.ctx = g_main_context_new ();
	srv.loop = g_main_loop_new (srv.ctx, FALSE);
	/* self-signed certificate for the https server */
	srv.tls_dir = test_util_mkdtemp ("ac-tls-XXXXXX");
	{
		g_autofree gchar *crt = g_build_filename (srv.tls_dir, "c.pem", NULL);
		g_autofree gchar *key = g_build_filename (srv.tls_dir, "k.pem", NULL);
		const gchar *req_argv[] = { "openssl",
			                    "req",
			                    "-x509",
			                    "-newkey",
			                    "ec",
			                    "-pkeyopt",
			                    "ec_paramgen_curve:P-256",
			                    "-nodes",
			                    "-subj",
			                    "/CN=127.0.0.1",
			                    "-days",
			                    "1",
			                    "-keyout",
			                    key,
			                    "-out",
			                    crt,
			                    NULL };
		gint st = 0;
		if (!g_spawn_sync (NULL, (gchar **)req_argv, NULL,
		                   G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL
		                       | G_SPAWN_STDERR_TO_DEV_NULL,
		                   NULL, NULL, NULL, NULL, &st, NULL)
		    || !g_spawn_check_wait_status (st, NULL))
			g_error ("openssl req failed: cannot make the test certificate");
	}
	srv.thread = g_thread_new ("server", server_thread, NULL);
	g_mutex_lock (&srv.lock);
	while (!srv.started)
		g_cond_wait (&srv.ready, &srv.lock);
	g_mutex_unlock (&srv.lock);
}

void
test_aleph_http_server_stop (void)
{
	g_main_loop_quit (srv.loop);
	g_thread_join (srv.thread);
	/* drop sources still pending (the paused /slow requests) */
	while (g_main_context_iteration (srv.ctx, FALSE))
		;
	g_main_loop_unref (srv.loop);
	g_main_context_unref (srv.ctx);
	g_free (srv.base);
	g_free (srv.tls_base);
	test_util_rm_rf (srv.tls_dir);
	g_free (srv.tls_dir);
	g_free (srv.post_mode);
	g_free (srv.last_auth_error);
	g_free (srv.raw_hash);
	if (srv.raw_file != NULL)
		g_bytes_unref (srv.raw_file);
}
