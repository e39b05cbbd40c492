/*
 * The owner's attested TLS to an SEV-SNP guest's agent: see ac-aleph-snp-attest.h.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "ac-aleph-snp-attest.h"
#include "ac-aleph-snp-attest-private.h"

#include <errno.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <string.h>

#include "ac-codec.h"
#include "ac-error.h"
#include "ac-json.h"
#include "ac-snp-ratls.h"

#define FRESH_PATH "/.well-known/attestation"
#define INJECT_PATH "/confidential/inject-secret"
#define MAX_HEADERS 64
/* how much of the agent's error message a GError quotes */
#define AGENT_MESSAGE_MAX 200

typedef enum {
	CHANNEL_VERIFY_PLATFORM, /* the first connection: the platform is verified in the handshake
	                          */
	CHANNEL_CHECK_KEY,       /* a later one: its certificate must carry the attested key */
} ChannelKind;

typedef struct {
	ChannelKind kind;
	AcSnpOwnerLaunch *launch;
	GCancellable *cancellable;
	gchar *peer; /* host:port, for messages */
	gint64 deadline;
	guint timeout_ms;
	GSocketConnection *conn;
	SSL_CTX *ctx;
	SSL *ssl;
	/* what the certificate callback did */
	guint n_verify;
	gboolean verified;
	GError *verify_error;
	GBytes *cert_der;
	guint8 pk_raw[AC_SNP_RATLS_PK_RAW_SIZE];
} Channel;

static void
channel_free (Channel *ch)
{
	if (ch == NULL)
		return;
	if (ch->ssl != NULL)
		SSL_free (ch->ssl);
	if (ch->ctx != NULL)
		SSL_CTX_free (ch->ctx);
	if (ch->conn != NULL)
		g_io_stream_close (G_IO_STREAM (ch->conn), NULL, NULL);
	g_clear_object (&ch->conn);
	g_clear_error (&ch->verify_error);
	g_clear_pointer (&ch->cert_der, g_bytes_unref);
	g_free (ch->peer);
	g_free (ch);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Channel, channel_free)

static gchar *
openssl_errors (void)
{
	GString *s = g_string_new (NULL);
	unsigned long e;
	while ((e = ERR_get_error ()) != 0) {
		gchar buf[256];
		ERR_error_string_n (e, buf, sizeof buf);
		if (s->len > 0)
			g_string_append (s, "; ");
		g_string_append (s, buf);
	}
	if (s->len == 0)
		g_string_append (s, "no detail");
	return g_string_free (s, FALSE);
}

/*
 * The handshake's certificate check: OpenSSL calls it when the server's Certificate message
 * arrived, before the client sends anything else; a failure aborts the handshake with an alert.
 * Only the leaf counts: the agent's certificate is self-signed and carries its own evidence.
 */
static int
channel_verify_cb (X509_STORE_CTX *sctx, void *arg)
{
	Channel *ch = arg;
	X509 *leaf = X509_STORE_CTX_get0_cert (sctx);
	g_autoptr (GError) error = NULL;
	unsigned char *der = NULL;
	int len;
	gboolean ok;

	ch->n_verify++;
	if (ch->n_verify > 1) {
		g_set_error (&error, AC_ERROR, AC_ERROR_REFUSED,
		             "agent %s: a second certificate on one connection, refused", ch->peer);
		goto fail;
	}
	if (leaf == NULL) {
		g_set_error (&error, AC_ERROR, AC_ERROR_REFUSED, "agent %s: no server certificate",
		             ch->peer);
		goto fail;
	}
	len = i2d_X509 (leaf, &der);
	if (len <= 0) {
		g_set_error (&error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "agent %s: the server certificate does not encode", ch->peer);
		goto fail;
	}
	ch->cert_der = g_bytes_new (der, len);
	OPENSSL_free (der);
	if (ch->kind == CHANNEL_VERIFY_PLATFORM)
		ok = ac_snp_owner_launch_verify_platform (
		    ch->launch, g_bytes_get_data (ch->cert_der, NULL),
		    g_bytes_get_size (ch->cert_der), ch->cancellable, &error);
	else
		ok = ac_snp_owner_launch_check_channel (ch->launch,
		                                        g_bytes_get_data (ch->cert_der, NULL),
		                                        g_bytes_get_size (ch->cert_der), &error);
	if (!ok || !ac_snp_ratls_pk_raw_from_key (X509_get0_pubkey (leaf), ch->pk_raw, &error))
		goto fail;
	ch->verified = TRUE;
	return 1;
fail:
	g_clear_error (&ch->verify_error);
	ch->verify_error = g_steal_pointer (&error);
	X509_STORE_CTX_set_error (sctx, X509_V_ERR_APPLICATION_VERIFICATION);
	return 0;
}

/* waits until the socket is ready for what @ssl_ret asks, the deadline or the cancellable */
static gboolean
channel_wait (Channel *ch, int ssl_ret, const gchar *what, GError **error)
{
	int e = SSL_get_error (ch->ssl, ssl_ret);
	GSocket *sock = g_socket_connection_get_socket (ch->conn);
	GPollFD fds[2] = { { 0 } };
	guint n = 1;
	gint64 left;
	gint r;

	if (e == SSL_ERROR_ZERO_RETURN) {
		g_set_error (error, AC_ERROR, AC_ERROR_REMOTE, "agent %s: %s: the agent closed",
		             ch->peer, what);
		return FALSE;
	}
	if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
		g_autofree gchar *detail = openssl_errors ();
		g_set_error (error, AC_ERROR, AC_ERROR_NETWORK, "agent %s: %s: TLS error %d (%s)",
		             ch->peer, what, e, detail);
		return FALSE;
	}
	fds[0].fd = g_socket_get_fd (sock);
	fds[0].events = e == SSL_ERROR_WANT_READ ? G_IO_IN : G_IO_OUT;
	if (ch->cancellable != NULL && g_cancellable_make_pollfd (ch->cancellable, &fds[1]))
		n = 2;
	left = ch->deadline - g_get_monotonic_time ();
	r = left > 0 ? g_poll (fds, n, (gint)((left + 999) / 1000)) : 0;
	if (n == 2)
		g_cancellable_release_fd (ch->cancellable);
	if (g_cancellable_is_cancelled (ch->cancellable)) {
		g_set_error (error, AC_ERROR, AC_ERROR_CANCELLED, "agent %s: %s: cancelled",
		             ch->peer, what);
		return FALSE;
	}
	if (r < 0) {
		g_set_error (error, AC_ERROR, AC_ERROR_NETWORK, "agent %s: %s: poll: %s", ch->peer,
		             what, g_strerror (errno));
		return FALSE;
	}
	if (r == 0 || g_get_monotonic_time () >= ch->deadline) {
		g_set_error (error, AC_ERROR, AC_ERROR_NETWORK,
		             "agent %s: %s: no answer within %u ms", ch->peer, what,
		             ch->timeout_ms);
		return FALSE;
	}
	return TRUE;
}

/* TCP, then TLS with the certificate check of @kind */
static Channel *
channel_open (const gchar *host,
              guint16 port,
              ChannelKind kind,
              AcSnpOwnerLaunch *launch,
              guint timeout_ms,
              GCancellable *cancellable,
              GError **error)
{
	g_autoptr (Channel) ch = g_new0 (Channel, 1);
	g_autoptr (GSocketClient) client = g_socket_client_new ();
	g_autoptr (GError) local = NULL;
	GSocket *sock;
	const void *peer_der;
	X509 *peer;
	int r;

	ch->kind = kind;
	ch->launch = launch;
	ch->cancellable = cancellable;
	ch->timeout_ms = timeout_ms != 0 ? timeout_ms : AC_ALEPH_SNP_ATTEST_TIMEOUT_MS;
	ch->deadline = g_get_monotonic_time () + (gint64)ch->timeout_ms * 1000;
	ch->peer = g_strdup_printf (strchr (host, ':') != NULL ? "[%s]:%u" : "%s:%u", host, port);

	/* a direct connection: a proxy would be one more party between us and the guest */
	g_socket_client_set_enable_proxy (client, FALSE);
	g_socket_client_set_timeout (client, (ch->timeout_ms + 999) / 1000);
	ch->conn = g_socket_client_connect_to_host (client, host, port, cancellable, &local);
	if (ch->conn == NULL) {
		gboolean cancelled = g_error_matches (local, G_IO_ERROR, G_IO_ERROR_CANCELLED);
		g_set_error (error, AC_ERROR, cancelled ? AC_ERROR_CANCELLED : AC_ERROR_NETWORK,
		             "agent %s: connect: %s", ch->peer, local->message);
		return NULL;
	}
	sock = g_socket_connection_get_socket (ch->conn);
	g_socket_set_blocking (sock, FALSE);

	ERR_clear_error ();
	ch->ctx = SSL_CTX_new (TLS_client_method ());
	if (ch->ctx == NULL || !SSL_CTX_set_min_proto_version (ch->ctx, TLS1_2_VERSION)) {
		g_autofree gchar *detail = openssl_errors ();
		g_set_error (error, AC_ERROR, AC_ERROR_INTERNAL, "TLS context: %s", detail);
		return NULL;
	}
	/* every connection verifies a certificate: no session resumption (it would skip the
	 * callback), no renegotiation (a second certificate) */
	SSL_CTX_set_session_cache_mode (ch->ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_options (ch->ctx, SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION);
	SSL_CTX_set_verify (ch->ctx, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_cert_verify_callback (ch->ctx, channel_verify_cb, ch);
	ch->ssl = SSL_new (ch->ctx);
	if (ch->ssl == NULL || !SSL_set_fd (ch->ssl, g_socket_get_fd (sock))) {
		g_autofree gchar *detail = openssl_errors ();
		g_set_error (error, AC_ERROR, AC_ERROR_INTERNAL, "TLS connection: %s", detail);
		return NULL;
	}
	/* no SNI: the agent's certificate names "localhost", and it is its report that counts */
	while ((r = SSL_connect (ch->ssl)) != 1) {
		if (ch->verify_error != NULL) {
			g_propagate_error (error, g_steal_pointer (&ch->verify_error));
			return NULL;
		}
		if (!channel_wait (ch, r, "TLS handshake", error))
			return NULL;
	}
	/* the handshake ran our check on the certificate it completed with */
	peer = SSL_get0_peer_certificate (ch->ssl);
	if (!ch->verified || ch->n_verify != 1 || peer == NULL
	    || SSL_get_verify_result (ch->ssl) != X509_V_OK) {
		g_set_error (error, AC_ERROR, AC_ERROR_REFUSED,
		             "agent %s: the TLS handshake completed without the certificate check",
		             ch->peer);
		return NULL;
	}
	{
		unsigned char *der = NULL;
		int len = i2d_X509 (peer, &der);
		gsize vlen;
		peer_der = g_bytes_get_data (ch->cert_der, &vlen);
		gboolean same = len > 0 && (gsize)len == vlen && memcmp (der, peer_der, vlen) == 0;
		OPENSSL_free (der);
		if (!same) {
			g_set_error (
			    error, AC_ERROR, AC_ERROR_REFUSED,
			    "agent %s: the TLS session's certificate is not the one checked",
			    ch->peer);
			return NULL;
		}
	}
	return g_steal_pointer (&ch);
}

static gboolean
channel_write (Channel *ch, const guint8 *data, gsize len, GError **error)
{
	gsize done = 0;
	while (done < len) {
		int n = SSL_write (ch->ssl, data + done, (int)MIN (len - done, 1 << 20));
		if (n > 0) {
			done += n;
			continue;
		}
		if (!channel_wait (ch, n, "sending the request", error))
			return FALSE;
	}
	return TRUE;
}

/* reads some bytes; 0 at a clean close (close_notify), -1 with @error */
static gssize
channel_read (Channel *ch, guint8 *buf, gsize len, gboolean eof_ok, GError **error)
{
	for (;;) {
		int n = SSL_read (ch->ssl, buf, (int)MIN (len, G_MAXINT));
		if (n > 0)
			return n;
		if (eof_ok && SSL_get_error (ch->ssl, n) == SSL_ERROR_ZERO_RETURN)
			return 0;
		if (!channel_wait (ch, n, "reading the answer", error))
			return -1;
	}
}

typedef struct {
	guint status;
	GBytes *body;
} Answer;

static void
answer_clear (Answer *a)
{
	g_clear_pointer (&a->body, g_bytes_unref);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Answer, answer_clear)

static gboolean
remote_fail (const gchar *peer, const gchar *what, GError **error, const gchar *fmt, ...)
    G_GNUC_PRINTF (4, 5);

static gboolean
remote_fail (const gchar *peer, const gchar *what, GError **error, const gchar *fmt, ...)
{
	va_list ap;
	g_autofree gchar *msg = NULL;
	va_start (ap, fmt);
	msg = g_strdup_vprintf (fmt, ap);
	va_end (ap);
	g_set_error (error, AC_ERROR, AC_ERROR_REMOTE, "agent %s: %s: %s", peer, what, msg);
	return FALSE;
}

static gboolean
is_token_char (gchar c)
{
	return g_ascii_isalnum (c) || strchr ("!#$%&'*+-.^_`|~", c) != NULL;
}

/*
 * Parses the header section @head (up to and without the blank line): "HTTP/1.x NNN reason",
 * then "Name: value" lines. @content_length is -1 without Content-Length.
 */
gboolean
ac_aleph_snp_attest_parse_head (const gchar *peer,
                                const gchar *what,
                                gchar *head,
                                guint *status,
                                gint64 *content_length,
                                GError **error)
{
	g_auto (GStrv) lines = g_strsplit (head, "\r\n", -1);
	guint n = g_strv_length (lines);
	const gchar *l = lines[0];

	*content_length = -1;
	if (n > MAX_HEADERS + 1)
		return remote_fail (peer, what, error, "%u header lines, at most %d", n - 1,
		                    MAX_HEADERS);
	if (!(g_str_has_prefix (l, "HTTP/1.1 ") || g_str_has_prefix (l, "HTTP/1.0 "))
	    || !g_ascii_isdigit (l[9]) || !g_ascii_isdigit (l[10]) || !g_ascii_isdigit (l[11])
	    || (l[12] != ' ' && l[12] != '\0') || l[9] < '1' || l[9] > '5')
		return remote_fail (
		    peer, what, error,
		    "not an HTTP/1.x status line (expected \"HTTP/1.1 NNN reason\")");
	*status = (l[9] - '0') * 100 + (l[10] - '0') * 10 + (l[11] - '0');
	for (guint i = 1; i < n; i++) {
		gchar *line = lines[i];
		gchar *colon = strchr (line, ':');
		const gchar *name = line;
		gchar *value;

		for (const gchar *p = line; *p != '\0'; p++)
			if ((guchar)*p < 0x20 && *p != '\t')
				return remote_fail (peer, what, error,
				                    "header line %u has a control character", i);
		if (colon == NULL || colon == line)
			return remote_fail (peer, what, error,
			                    "header line %u is not \"Name: value\"", i);
		*colon = '\0';
		for (const gchar *p = name; *p != '\0'; p++)
			if (!is_token_char (*p))
				return remote_fail (peer, what, error,
				                    "header line %u: a name with '%c'", i, *p);
		value = g_strstrip (colon + 1);
		if (g_ascii_strcasecmp (name, "Transfer-Encoding") == 0)
			return remote_fail (peer, what, error,
			                    "Transfer-Encoding \"%.40s\" (the client reads only "
			                    "Content-Length or to the end of the connection)",
			                    value);
		if (g_ascii_strcasecmp (name, "Content-Length") == 0) {
			guint64 v = 0;
			if (*content_length >= 0)
				return remote_fail (peer, what, error,
				                    "two Content-Length headers");
			if (*value == '\0' || strlen (value) > 12)
				return remote_fail (peer, what, error, "Content-Length \"%.20s\"",
				                    value);
			for (const gchar *p = value; *p != '\0'; p++) {
				if (!g_ascii_isdigit (*p))
					return remote_fail (
					    peer, what, error,
					    "Content-Length \"%.20s\", expected digits", value);
				v = v * 10 + (*p - '0');
			}
			*content_length = (gint64)v;
		}
	}
	return TRUE;
}

/* one request, its answer: status and body (at most @max_body bytes) */
static gboolean
channel_exchange (Channel *ch,
                  const gchar *what,
                  const gchar *method,
                  const gchar *path,
                  GBytes *body,
                  gsize max_body,
                  Answer *answer,
                  GError **error)
{
	g_autoptr (GString) req = g_string_new (NULL);
	g_autoptr (GByteArray) in = g_byte_array_new ();
	g_autofree gchar *head = NULL;
	gint64 content_length;
	gsize head_end = 0, body_len;
	guint8 buf[4096];

	g_string_append_printf (req,
	                        "%s %s HTTP/1.1\r\nHost: %s\r\nAccept: application/json\r\n"
	                        "Connection: close\r\n",
	                        method, path, ch->peer);
	if (body != NULL)
		g_string_append_printf (
		    req,
		    "Content-Type: application/json\r\nContent-Length: %" G_GSIZE_FORMAT "\r\n",
		    g_bytes_get_size (body));
	g_string_append (req, "\r\n");
	if (!channel_write (ch, (const guint8 *)req->str, req->len, error)
	    || (body != NULL
	        && !channel_write (ch, g_bytes_get_data (body, NULL), g_bytes_get_size (body),
	                           error)))
		return FALSE;

	/* the header section */
	for (;;) {
		gssize n;
		const guint8 *end = NULL;
		if (in->len >= 4)
			end = memmem (in->data, in->len, "\r\n\r\n", 4);
		if (end != NULL) {
			head_end = end - in->data;
			break;
		}
		if (in->len > AC_ALEPH_SNP_ATTEST_HEADERS_MAX)
			return remote_fail (ch->peer, what, error, "a header section over %d bytes",
			                    AC_ALEPH_SNP_ATTEST_HEADERS_MAX);
		n = channel_read (ch, buf, sizeof buf, TRUE, error);
		if (n < 0)
			return FALSE;
		if (n == 0)
			return remote_fail (ch->peer, what, error,
			                    in->len == 0 ? "closed without an answer"
			                                 : "closed within the header section");
		g_byte_array_append (in, buf, n);
	}
	if (head_end > AC_ALEPH_SNP_ATTEST_HEADERS_MAX)
		return remote_fail (ch->peer, what, error, "a header section over %d bytes",
		                    AC_ALEPH_SNP_ATTEST_HEADERS_MAX);
	if (memchr (in->data, '\0', head_end) != NULL)
		return remote_fail (ch->peer, what, error, "a NUL byte in the header section");
	head = g_strndup ((const gchar *)in->data, head_end);
	if (!ac_aleph_snp_attest_parse_head (ch->peer, what, head, &answer->status, &content_length,
	                                     error))
		return FALSE;
	g_byte_array_remove_range (in, 0, head_end + 4);

	/* the body: Content-Length bytes, or everything up to the agent's close */
	if (content_length > (gint64)max_body)
		return remote_fail (ch->peer, what, error,
		                    "a body of %" G_GINT64_FORMAT
		                    " bytes, at most %" G_GSIZE_FORMAT,
		                    content_length, max_body);
	for (;;) {
		gssize n;
		if (content_length >= 0 && in->len >= (gsize)content_length)
			break;
		if (in->len > max_body)
			return remote_fail (ch->peer, what, error,
			                    "a body over %" G_GSIZE_FORMAT " bytes", max_body);
		n = channel_read (ch, buf, sizeof buf, TRUE, error);
		if (n < 0)
			return FALSE;
		if (n == 0 && content_length >= 0)
			return remote_fail (ch->peer, what, error,
			                    "closed after %u of %" G_GINT64_FORMAT " body bytes",
			                    in->len, content_length);
		if (n == 0)
			break;
		g_byte_array_append (in, buf, n);
	}
	body_len = in->len;
	if (content_length >= 0 && body_len != (gsize)content_length)
		return remote_fail (ch->peer, what, error,
		                    "%" G_GSIZE_FORMAT
		                    " bytes after the headers, Content-Length %" G_GINT64_FORMAT,
		                    body_len, content_length);
	answer->body = g_bytes_new (in->data, body_len);
	return TRUE;
}

/* the agent's {"error":"…"}, printable and cut, or a note that it has none */
static gchar *
agent_message (GBytes *body)
{
	g_autoptr (JsonNode) root = NULL;
	g_autofree gchar *msg = NULL;
	const AcJsonScope scope = { "agent error", AC_ERROR_REMOTE };
	gsize len;
	const gchar *data = g_bytes_get_data (body, &len);
	GString *s;

	root = ac_json_parse_bounded ("agent error", data, len, AC_ALEPH_SNP_ATTEST_INJECT_BODY_MAX,
	                              AC_ERROR_REMOTE, NULL);
	if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root)
	    || !ac_json_read_string (&scope, json_node_get_object (root), NULL, "error", TRUE, 4096,
	                             &msg, NULL))
		return g_strdup ("no error message");
	s = g_string_new ("\"");
	for (const gchar *p = msg; *p != '\0' && s->len < AGENT_MESSAGE_MAX; p++)
		g_string_append_c (s, g_ascii_isprint (*p) ? *p : '?');
	if (strlen (msg) > AGENT_MESSAGE_MAX)
		g_string_append (s, "…");
	g_string_append_c (s, '"');
	return g_string_free (s, FALSE);
}

static gboolean
check_status (Channel *ch, const gchar *what, Answer *a, GError **error)
{
	g_autofree gchar *msg = NULL;
	if (a->status == 200)
		return TRUE;
	msg = agent_message (a->body);
	if (a->status >= 300 && a->status < 400)
		return remote_fail (ch->peer, what, error, "HTTP %u (a redirect, not followed): %s",
		                    a->status, msg);
	return remote_fail (ch->peer, what, error, "HTTP %u, expected 200: %s", a->status, msg);
}

/* {"tee_type":"sev-snp","data":"<2368 lowercase hex>"} (an early agent's unsigned copies
 * "report_data" and "measurement" ignored, as in the certificate) */
gboolean
ac_aleph_snp_attest_parse_fresh (const gchar *peer,
                                 GBytes *body,
                                 guint8 report[AC_SNP_REPORT_SIZE],
                                 GError **error)
{
	g_autofree gchar *what = g_strdup_printf ("agent %s: fresh report", peer);
	gsize len;
	const gchar *json = g_bytes_get_data (body, &len);

	return ac_snp_ratls_parse_report_json (what, AC_ERROR_REMOTE, what, json, len,
	                                       AC_ALEPH_SNP_ATTEST_REPORT_BODY_MAX, report, error);
}

gboolean
ac_aleph_snp_attest (const gchar *host,
                     guint16 port,
                     AcSnpOwnerLaunch *launch,
                     guint timeout_ms,
                     GCancellable *cancellable,
                     GError **error)
{
	g_autoptr (Channel) ch = NULL;
	g_auto (Answer) answer = { 0 };
	g_autofree gchar *nonce = NULL;
	g_autofree gchar *path = NULL;
	guint8 report[AC_SNP_REPORT_SIZE];

	g_return_val_if_fail (host != NULL && launch != NULL, FALSE);
	if (ac_snp_owner_launch_get_state (launch) != AC_TEE_LAUNCH_STATE_NEW) {
		g_set_error (error, AC_ERROR, AC_ERROR_REFUSED,
		             "attestation of %s: the launch is not new (state %d): one launch "
		             "attests once",
		             host, ac_snp_owner_launch_get_state (launch));
		return FALSE;
	}
	/* 1: nothing but the ClientHello leaves before the platform is verified */
	ch = channel_open (host, port, CHANNEL_VERIFY_PLATFORM, launch, timeout_ms, cancellable,
	                   error);
	if (ch == NULL)
		return FALSE;
	/* 2: the fresh report for our nonce, on this attested connection */
	nonce = ac_snp_owner_launch_get_nonce_hex (launch);
	path = g_strdup_printf (FRESH_PATH "?nonce=%s", nonce);
	if (!channel_exchange (ch, "fresh report", "GET", path, NULL,
	                       AC_ALEPH_SNP_ATTEST_REPORT_BODY_MAX, &answer, error)
	    || !check_status (ch, "fresh report", &answer, error)
	    || !ac_aleph_snp_attest_parse_fresh (ch->peer, answer.body, report, error))
		return FALSE;
	return ac_snp_owner_launch_bind (launch, ch->pk_raw, sizeof ch->pk_raw, report,
	                                 sizeof report, error)
	       && ac_snp_owner_launch_verify (launch, cancellable, error);
}

/* {"injected":["<key>",…]}: exactly the keys sent, each once */
gchar **
ac_aleph_snp_attest_parse_injected (const gchar *peer,
                                    GBytes *body,
                                    AcSnpSecrets *sent,
                                    GError **error)
{
	static const gchar *const allowed[] = { "injected", NULL };
	g_autofree gchar *what = g_strdup_printf ("agent %s: injection answer", peer);
	const AcJsonScope scope = { what, AC_ERROR_REMOTE };
	g_autoptr (JsonNode) root = NULL;
	g_auto (GStrv) names = NULL;
	gsize len;
	const gchar *json = g_bytes_get_data (body, &len);
	guint n;

	root = ac_json_parse_bounded (what, json, len, AC_ALEPH_SNP_ATTEST_INJECT_BODY_MAX,
	                              AC_ERROR_REMOTE, error);
	if (root == NULL)
		return NULL;
	if (!JSON_NODE_HOLDS_OBJECT (root)) {
		remote_fail (peer, "injection answer", error, "JSON %s, expected an object",
		             ac_json_type_name (root));
		return NULL;
	}
	if (!ac_json_check_members (&scope, json_node_get_object (root), NULL, allowed, error)
	    || !ac_json_read_strv (&scope, json_node_get_object (root), NULL, "injected",
	                           AC_SNP_INJECT_MAX_SECRETS, &names, error))
		return NULL;
	if (names == NULL) {
		remote_fail (peer, "injection answer", error, "no \"injected\" member");
		return NULL;
	}
	n = g_strv_length (names);
	for (guint i = 0; i < n; i++) {
		if (ac_snp_secrets_lookup (sent, names[i], NULL) == NULL) {
			g_set_error (error, AC_ERROR, AC_ERROR_MISMATCH,
			             "agent %s: injection answer: \"%.64s\" injected, a secret not "
			             "sent",
			             peer, names[i]);
			return NULL;
		}
		for (guint j = 0; j < i; j++)
			if (strcmp (names[i], names[j]) == 0) {
				g_set_error (error, AC_ERROR, AC_ERROR_MISMATCH,
				             "agent %s: injection answer: \"%.64s\" listed twice",
				             peer, names[i]);
				return NULL;
			}
	}
	if (n != ac_snp_secrets_get_size (sent)) {
		g_set_error (error, AC_ERROR, AC_ERROR_MISMATCH,
		             "agent %s: injection answer: %u secrets injected, %u sent", peer, n,
		             ac_snp_secrets_get_size (sent));
		return NULL;
	}
	return g_steal_pointer (&names);
}

gchar **
ac_aleph_snp_attest_inject (const gchar *host,
                            guint16 port,
                            AcSnpOwnerLaunch *launch,
                            GBytes *secrets,
                            guint timeout_ms,
                            GCancellable *cancellable,
                            GError **error)
{
	g_autoptr (Channel) ch = NULL;
	g_autoptr (AcTeeSealedSecret) sealed = NULL;
	g_autoptr (AcSnpSecrets) sent = NULL;
	g_auto (Answer) answer = { 0 };

	g_return_val_if_fail (host != NULL && launch != NULL && secrets != NULL, NULL);
	if (ac_snp_owner_launch_get_state (launch) != AC_TEE_LAUNCH_STATE_VERIFIED) {
		g_set_error (error, AC_ERROR, AC_ERROR_REFUSED,
		             "injection into %s: the launch is not verified (state %d): nothing "
		             "sent",
		             host, ac_snp_owner_launch_get_state (launch));
		return NULL;
	}
	/* the names, to check the agent's answer (the seal checks the same rules) */
	sent = ac_snp_secrets_parse_json (g_bytes_get_data (secrets, NULL),
	                                  g_bytes_get_size (secrets), error);
	if (sent == NULL || !ac_snp_owner_launch_seal (launch, secrets, &sealed, error))
		return NULL;
	/* 3: a new connection, and only one that presents the attested key */
	ch = channel_open (host, port, CHANNEL_CHECK_KEY, launch, timeout_ms, cancellable, error);
	if (ch == NULL)
		return NULL;
	if (!channel_exchange (ch, "injection", "POST", INJECT_PATH, sealed->payload,
	                       AC_ALEPH_SNP_ATTEST_INJECT_BODY_MAX, &answer, error)
	    || !check_status (ch, "injection", &answer, error))
		return NULL;
	return ac_aleph_snp_attest_parse_injected (ch->peer, answer.body, sent, error);
}

gchar **
ac_aleph_snp_attest_unlock (const gchar *host,
                            guint16 port,
                            AcSnpOwnerLaunch *launch,
                            GBytes *secrets,
                            guint timeout_ms,
                            GCancellable *cancellable,
                            GError **error)
{
	if (!ac_aleph_snp_attest (host, port, launch, timeout_ms, cancellable, error))
		return NULL;
	return ac_aleph_snp_attest_inject (host, port, launch, secrets, timeout_ms, cancellable,
	                                   error);
}
