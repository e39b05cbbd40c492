/*
 * A software Aleph attest-agent for tests: see test-aleph-snp-agent.h.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "test-aleph-snp-agent.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ac-aleph-snp-inject.h"
#include "ac-codec.h"
#include "ac-snp-inject.h"

#define REQUEST_MAX (AC_SNP_INJECT_BODY_MAX + 16384)

struct _TestSnpAgent {
	TestSnpAgentConfig config;
	int listen_fd;
	int stop_pipe[2];
	guint16 port;
	GThread *thread;
	TestSnpAgentSeen seen;
	gboolean stopped;
};

static SSL_CTX *
server_ctx (GBytes *cert_der, EVP_PKEY *key)
{
	SSL_CTX *ctx = SSL_CTX_new (TLS_server_method ());
	const unsigned char *p = g_bytes_get_data (cert_der, NULL);
	X509 *x = d2i_X509 (NULL, &p, g_bytes_get_size (cert_der));
	g_assert_nonnull (ctx);
	g_assert_nonnull (x);
	g_assert_cmpint (SSL_CTX_use_certificate (ctx, x), ==, 1);
	g_assert_cmpint (SSL_CTX_use_PrivateKey (ctx, key), ==, 1);
	SSL_CTX_set_min_proto_version (ctx, TLS1_2_VERSION);
	X509_free (x);
	return ctx;
}

static void
send_all (SSL *ssl, const gchar *data, gsize len)
{
	while (len > 0) {
		int n = SSL_write (ssl, data, (int)len);
		if (n <= 0)
			return;
		data += n;
		len -= n;
	}
}

static void
send_json (SSL *ssl, guint status, const gchar *json)
{
	g_autofree gchar *head = g_strdup_printf (
	    "HTTP/1.1 %u X\r\nContent-Type: application/json\r\nContent-Length: %" G_GSIZE_FORMAT
	    "\r\nConnection: close\r\n\r\n",
	    status, strlen (json));
	send_all (ssl, head, strlen (head));
	send_all (ssl, json, strlen (json));
}

/* reads one request: its head (NUL-terminated) and its body (Content-Length) */
static gboolean
read_request (TestSnpAgent *self, SSL *ssl, GByteArray *in, gsize *head_len, gsize *body_len)
{
	guint8 buf[4096];
	const guint8 *end = NULL;
	gsize want = 0;

	for (;;) {
		int n;
		if (end == NULL && in->len >= 4
		    && (end = memmem (in->data, in->len, "\r\n\r\n", 4)) != NULL) {
			g_autofree gchar *head = NULL;
			const gchar *cl;
			*head_len = end - in->data;
			head = g_ascii_strdown ((const gchar *)in->data, *head_len);
			cl = strstr (head, "\r\ncontent-length:");
			want = cl != NULL ? g_ascii_strtoull (cl + 17, NULL, 10) : 0;
			if (want > AC_SNP_INJECT_BODY_MAX)
				return FALSE;
		}
		if (end != NULL && in->len >= *head_len + 4 + want) {
			*body_len = want;
			return TRUE;
		}
		if (in->len > REQUEST_MAX)
			return FALSE;
		n = SSL_read (ssl, buf, sizeof buf);
		if (n <= 0)
			return FALSE;
		self->seen.bytes += n;
		g_byte_array_append (in, buf, n);
	}
}

static void
answer_fresh (TestSnpAgent *self, SSL *ssl, const gchar *query)
{
	g_autoptr (GError) error = NULL;
	g_autoptr (GByteArray) nonce = NULL;
	g_autoptr (GBytes) report = NULL;
	g_autofree gchar *hex = NULL;
	g_autofree gchar *json = NULL;
	guint8 rd[AC_SNP_REPORT_DATA_SIZE];

	self->seen.fresh++;
	if (self->config.fresh_answer != NULL) {
		send_all (ssl, self->config.fresh_answer, strlen (self->config.fresh_answer));
		return;
	}
	if (!g_str_has_prefix (query, "nonce=")
	    || (nonce = ac_codec_hex_decode ("nonce", query + 6, AC_CODEC_HEX_DEFAULT, &error))
	           == NULL
	    || nonce->len == 0 || nonce->len > AC_SNP_RATLS_NONCE_MAX) {
		send_json (ssl, 400, "{\"error\":\"invalid hex nonce\"}");
		return;
	}
	if (self->config.stale_nonce != NULL)
		g_assert_true (ac_snp_ratls_fresh_binding (
		    self->config.pk_raw, AC_SNP_RATLS_PK_RAW_SIZE, self->config.stale_nonce,
		    AC_SNP_RATLS_NONCE_SIZE, rd, &error));
	else
		g_assert_true (ac_snp_ratls_fresh_binding (self->config.pk_raw,
		                                           AC_SNP_RATLS_PK_RAW_SIZE, nonce->data,
		                                           nonce->len, rd, &error));
	report = ac_snp_guest_get_report (self->config.guest, rd, 1, &error);
	g_assert_no_error (error);
	hex = ac_codec_hex_encode (g_bytes_get_data (report, NULL), g_bytes_get_size (report));
	json = g_strdup_printf ("{\"tee_type\":\"sev-snp\",\"data\":\"%s\"}", hex);
	send_json (ssl, 200, json);
}

static void
answer_inject (TestSnpAgent *self, SSL *ssl, const gchar *body, gsize len)
{
	g_autoptr (GError) error = NULL;
	g_autoptr (AcSnpSecrets) secrets = NULL;
	const gchar *luks;

	self->seen.injections++;
	if (!ac_aleph_snp_inject_check (body, len, self->config.pk_raw, AC_SNP_RATLS_PK_RAW_SIZE,
	                                self->config.owner, &secrets, &error)) {
		if (g_error_matches (error, AC_ERROR, AC_ERROR_REFUSED))
			send_json (ssl, 403, "{\"error\":\"owner signature verification failed\"}");
		else
			send_json (ssl, 400, "{\"error\":\"expected envelope body\"}");
		return;
	}
	self->seen.injections_ok++;
	luks = ac_snp_secrets_lookup (secrets, AC_SNP_INJECT_LUKS_KEY, NULL);
	if (luks != NULL) {
		g_free (self->seen.luks_passphrase);
		self->seen.luks_passphrase = g_strdup (luks);
	}
	if (self->config.inject_answer != NULL)
		send_all (ssl, self->config.inject_answer, strlen (self->config.inject_answer));
	else
		send_json (ssl, 200,
		           luks != NULL && ac_snp_secrets_get_size (secrets) == 1
		               ? "{\"injected\":[\"luks_passphrase\"]}"
		               : "{\"injected\":[]}");
}

static void
serve (TestSnpAgent *self, int fd, guint index)
{
	gboolean later = index > 0 && self->config.later_cert != NULL;
	SSL_CTX *ctx = server_ctx (later ? self->config.later_cert : self->config.cert,
	                           later ? self->config.later_key : self->config.key);
	SSL *ssl = SSL_new (ctx);
	g_autoptr (GByteArray) in = g_byte_array_new ();
	g_autofree gchar *head = NULL;
	gsize head_len = 0, body_len = 0;
	gchar **words = NULL;

	SSL_set_fd (ssl, fd);
	if (SSL_accept (ssl) != 1) {
		self->seen.failed++;
		goto out;
	}
	self->seen.handshakes++;
	if (self->config.hello != NULL)
		send_all (ssl, self->config.hello, strlen (self->config.hello));
	if (!read_request (self, ssl, in, &head_len, &body_len))
		goto out;
	if (self->config.silent) {
		guint8 b;
		/* until the client gives up */
		while (SSL_read (ssl, &b, 1) > 0)
			self->seen.bytes++;
		goto out;
	}
	head = g_strndup ((const gchar *)in->data, head_len);
	words = g_strsplit (head, " ", 3);
	if (g_strv_length (words) == 3 && strcmp (words[0], "GET") == 0
	    && g_str_has_prefix (words[1], "/.well-known/attestation?"))
		answer_fresh (self, ssl, words[1] + strlen ("/.well-known/attestation?"));
	else if (g_strv_length (words) == 3 && strcmp (words[0], "POST") == 0
	         && strcmp (words[1], "/confidential/inject-secret") == 0)
		answer_inject (self, ssl, (const gchar *)in->data + head_len + 4, body_len);
	else
		send_json (ssl, 404, "{\"error\":\"not found\"}");
	SSL_shutdown (ssl);
out:
	g_strfreev (words);
	SSL_free (ssl);
	SSL_CTX_free (ctx);
	ERR_clear_error ();
}

static gpointer
agent_thread (gpointer data)
{
	TestSnpAgent *self = data;
	for (guint index = 0;; index++) {
		struct pollfd fds[2]
		    = { { self->listen_fd, POLLIN, 0 }, { self->stop_pipe[0], POLLIN, 0 } };
		struct timeval tv = { 10, 0 };
		int fd;
		if (poll (fds, 2, -1) < 0 || (fds[1].revents & POLLIN))
			break;
		fd = accept (self->listen_fd, NULL, NULL);
		if (fd < 0)
			continue;
		setsockopt (fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
		setsockopt (fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
		serve (self, fd, index);
		close (fd);
	}
	return NULL;
}

TestSnpAgent *
test_snp_agent_start (const TestSnpAgentConfig *config)
{
	TestSnpAgent *self = g_new0 (TestSnpAgent, 1);
	struct sockaddr_in addr = { 0 };
	socklen_t alen = sizeof addr;

	self->config = *config;
	self->listen_fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	g_assert_cmpint (self->listen_fd, >=, 0);
	addr.sin_family = AF_INET;
	addr.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
	g_assert_cmpint (bind (self->listen_fd, (struct sockaddr *)&addr, sizeof addr), ==, 0);
	g_assert_cmpint (listen (self->listen_fd, 8), ==, 0);
	g_assert_cmpint (getsockname (self->listen_fd, (struct sockaddr *)&addr, &alen), ==, 0);
	self->port = ntohs (addr.sin_port);
	g_assert_cmpint (pipe (self->stop_pipe), ==, 0);
	self->thread = g_thread_new ("snp-agent", agent_thread, self);
	return self;
}

guint16
test_snp_agent_get_port (TestSnpAgent *self)
{
	return self->port;
}

gsize
test_snp_agent_peek_bytes (TestSnpAgent *self)
{
	return self->seen.bytes;
}

const TestSnpAgentSeen *
test_snp_agent_stop (TestSnpAgent *self)
{
	if (!self->stopped) {
		g_assert_cmpint (write (self->stop_pipe[1], "x", 1), ==, 1);
		g_thread_join (self->thread);
		self->thread = NULL;
		self->stopped = TRUE;
	}
	return &self->seen;
}

void
test_snp_agent_free (TestSnpAgent *self)
{
	if (self == NULL)
		return;
	test_snp_agent_stop (self);
	close (self->listen_fd);
	close (self->stop_pipe[0]);
	close (self->stop_pipe[1]);
	g_free (self->seen.luks_passphrase);
	g_free (self);
}
