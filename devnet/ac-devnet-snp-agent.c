/*
 * aleph-confidential devnet: a software Aleph attest-agent (see ac-devnet-snp-agent.h).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ac-aleph-snp-inject.h"
#include "ac-aleph-util.h"
#include "ac-codec.h"
#include "ac-devnet-snp-agent.h"
#include "ac-error.h"
#include "ac-json.h"
#include "ac-secret.h"

/* a connection that sends nothing for this long is closed */
#define AGENT_IO_TIMEOUT_S 10

struct _AcDevnetSnpAgent {
	AcDevnetSnpAgentConfig config;
	gchar *owner;
	gchar *fresh_answer;
	gchar *inject_answer;
	gchar *hello;
	guint8 stale_nonce[AC_SNP_RATLS_NONCE_SIZE];
	int listen_fd;
	int stop_pipe[2];
	guint16 port;
	GThread *thread;
	GMutex lock; /* seen, conn_fd */
	int conn_fd; /* the connection being served, -1 */
	AcDevnetSnpAgentSeen seen;
};

/* ---- the request parser ---- */

void
ac_devnet_snp_agent_request_clear (AcDevnetSnpAgentRequest *req)
{
	g_clear_pointer (&req->method, g_free);
	g_clear_pointer (&req->path, g_free);
	g_clear_pointer (&req->query, g_free);
	req->body_offset = req->body_len = 0;
	req->status = 0;
}

static AcDevnetSnpAgentParse
parse_fail (AcDevnetSnpAgentRequest *req, guint status, GError **error, const gchar *fmt, ...)
    G_GNUC_PRINTF (4, 5);

static AcDevnetSnpAgentParse
parse_fail (AcDevnetSnpAgentRequest *req, guint status, GError **error, const gchar *fmt, ...)
{
	va_list ap;
	g_autofree gchar *text = NULL;
	va_start (ap, fmt);
	text = g_strdup_vprintf (fmt, ap);
	va_end (ap);
	ac_devnet_snp_agent_request_clear (req);
	req->status = status;
	g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT, "agent request: %s", text);
	return AC_DEVNET_SNP_AGENT_PARSE_ERROR;
}

static gboolean
is_tchar (guchar c)
{
	return g_ascii_isalnum (c) || strchr ("!#$%&'*+-.^_`|~", c) != NULL;
}

/* the request line: METHOD SP target SP HTTP/1.x */
static AcDevnetSnpAgentParse
parse_request_line (const gchar *line, gsize len, AcDevnetSnpAgentRequest *req, GError **error)
{
	gsize i = 0, m, t0, t1;
	const gchar *q;

	while (i < len && g_ascii_isupper (line[i]))
		i++;
	if (i == 0 || i > 16 || i >= len || line[i] != ' ')
		return parse_fail (req, 400, error, "the request line has no method");
	m = i++;
	t0 = i;
	while (i < len && line[i] > ' ' && line[i] < 0x7f)
		i++;
	t1 = i;
	if (t1 == t0 || line[t0] != '/' || i >= len || line[i] != ' ')
		return parse_fail (req, 400, error, "the request target is not an absolute path");
	i++;
	if (len - i != 8
	    || (memcmp (line + i, "HTTP/1.1", 8) != 0 && memcmp (line + i, "HTTP/1.0", 8) != 0))
		return parse_fail (req, 400, error, "expected HTTP/1.0 or HTTP/1.1");
	req->method = g_strndup (line, m);
	q = memchr (line + t0, '?', t1 - t0);
	if (q != NULL) {
		req->path = g_strndup (line + t0, (gsize)(q - (line + t0)));
		req->query = g_strndup (q + 1, (gsize)(line + t1 - (q + 1)));
	} else {
		req->path = g_strndup (line + t0, t1 - t0);
	}
	return AC_DEVNET_SNP_AGENT_PARSE_DONE;
}

AcDevnetSnpAgentParse
ac_devnet_snp_agent_parse_request (const guint8 *data,
                                   gsize len,
                                   AcDevnetSnpAgentRequest *req,
                                   GError **error)
{
	const gchar *p = (const gchar *)data;
	const gchar *end = NULL;
	gsize head_len, pos, body_len = 0;
	gboolean have_length = FALSE;

	ac_devnet_snp_agent_request_clear (req);
	if (len >= 4)
		end = g_strstr_len (p, (gssize)MIN (len, (gsize)AC_DEVNET_SNP_AGENT_HEAD_MAX),
		                    "\r\n\r\n");
	if (memchr (p, '\0', MIN (len, (gsize)AC_DEVNET_SNP_AGENT_HEAD_MAX)) != NULL
	    && (end == NULL || (const gchar *)memchr (p, '\0', len) < end))
		return parse_fail (req, 400, error, "a NUL byte in the head");
	if (end == NULL) {
		if (len >= AC_DEVNET_SNP_AGENT_HEAD_MAX)
			return parse_fail (req, 431, error, "the head is larger than %d bytes",
			                   AC_DEVNET_SNP_AGENT_HEAD_MAX);
		return AC_DEVNET_SNP_AGENT_PARSE_MORE;
	}
	head_len = (gsize)(end - p);
	/* the request line */
	{
		const gchar *eol = g_strstr_len (p, (gssize)head_len + 2, "\r\n");
		AcDevnetSnpAgentParse r;
		r = parse_request_line (p, (gsize)(eol - p), req, error);
		if (r != AC_DEVNET_SNP_AGENT_PARSE_DONE)
			return r;
		pos = (gsize)(eol - p) + 2;
	}
	/* the header lines */
	while (pos < head_len + 2) {
		const gchar *line = p + pos;
		const gchar *eol = g_strstr_len (line, (gssize)(head_len + 2 - pos), "\r\n");
		gsize n = (gsize)(eol - line), colon = 0, v;
		g_autofree gchar *name = NULL;
		if (eol == NULL)
			return parse_fail (req, 400, error, "a header line without CRLF");
		while (colon < n && is_tchar ((guchar)line[colon]))
			colon++;
		if (colon == 0 || colon >= n || line[colon] != ':')
			return parse_fail (req, 400, error, "a header line without a name");
		for (v = colon + 1; v < n; v++) {
			guchar c = (guchar)line[v];
			if (c != '\t' && (c < ' ' || c == 0x7f))
				return parse_fail (req, 400, error,
				                   "a control character in a header");
		}
		name = g_ascii_strdown (line, (gssize)colon);
		if (g_strcmp0 (name, "transfer-encoding") == 0)
			return parse_fail (req, 501, error, "Transfer-Encoding is not supported");
		if (g_strcmp0 (name, "content-length") == 0) {
			g_autofree gchar *value = g_strndup (line + colon + 1, n - colon - 1);
			guint64 cl = 0;
			g_strstrip (value);
			if (have_length)
				return parse_fail (req, 400, error, "Content-Length given twice");
			if (value[0] == '\0' || strspn (value, "0123456789") != strlen (value)
			    || strlen (value) > 10
			    || !g_ascii_string_to_unsigned (value, 10, 0, G_MAXUINT64, &cl, NULL))
				return parse_fail (req, 400, error,
				                   "Content-Length is not a decimal number");
			if (cl > AC_SNP_INJECT_BODY_MAX)
				return parse_fail (req, 413, error,
				                   "a body of %" G_GUINT64_FORMAT
				                   " bytes, at most %d",
				                   cl, AC_SNP_INJECT_BODY_MAX);
			have_length = TRUE;
			body_len = (gsize)cl;
		}
		pos += n + 2;
	}
	req->body_offset = head_len + 4;
	req->body_len = body_len;
	if (len < req->body_offset + body_len)
		return AC_DEVNET_SNP_AGENT_PARSE_MORE;
	return AC_DEVNET_SNP_AGENT_PARSE_DONE;
}

/* ---- the answers ---- */

static gchar *
error_json (const gchar *fmt, ...) G_GNUC_PRINTF (1, 2);

static gchar *
error_json (const gchar *fmt, ...)
{
	g_autofree gchar *text = NULL;
	va_list ap;
	va_start (ap, fmt);
	text = g_strdup_vprintf (fmt, ap);
	va_end (ap);
	return ac_json_error_body (text);
}

/* the nonce of "nonce=<hex>" in @query, as the hex crate decodes it (either case) */
static GByteArray *
fresh_nonce (const gchar *query, gchar **error_body)
{
	g_auto (GStrv) params = g_strsplit (query != NULL ? query : "", "&", -1);
	const gchar *hex = NULL;
	g_autoptr (GByteArray) out = NULL;
	gsize n;

	for (guint i = 0; params[i] != NULL; i++)
		if (g_str_has_prefix (params[i], "nonce="))
			hex = params[i] + strlen ("nonce=");
	if (hex == NULL) {
		*error_body = error_json ("missing query parameter nonce");
		return NULL;
	}
	n = strlen (hex);
	for (gsize i = 0; i < n; i++) {
		if (!g_ascii_isxdigit (hex[i])) {
			*error_body = error_json ("invalid hex nonce: Invalid character '%c' at "
			                          "position %" G_GSIZE_FORMAT,
			                          g_ascii_isprint (hex[i]) ? hex[i] : '?', i);
			return NULL;
		}
	}
	if (n % 2 != 0) {
		*error_body = error_json ("invalid hex nonce: Odd number of digits");
		return NULL;
	}
	if (n / 2 > AC_DEVNET_SNP_AGENT_NONCE_MAX) {
		*error_body
		    = error_json ("nonce too long: at most %d bytes (%d hex chars)",
		                  AC_DEVNET_SNP_AGENT_NONCE_MAX, 2 * AC_DEVNET_SNP_AGENT_NONCE_MAX);
		return NULL;
	}
	if (n == 0) {
		*error_body = error_json ("nonce too short: at least 1 byte");
		return NULL;
	}
	out = g_byte_array_sized_new ((guint)(n / 2));
	for (gsize i = 0; i < n; i += 2) {
		guint8 b = (guint8)(g_ascii_xdigit_value (hex[i]) << 4
		                    | g_ascii_xdigit_value (hex[i + 1]));
		g_byte_array_append (out, &b, 1);
	}
	return g_steal_pointer (&out);
}

static gchar *
answer_fresh (const AcDevnetSnpAgentConfig *config, const gchar *query, guint *status)
{
	g_autoptr (GError) error = NULL;
	g_autoptr (GByteArray) nonce = NULL;
	g_autoptr (GBytes) report = NULL;
	g_autofree gchar *hex = NULL;
	gchar *body = NULL;
	guint8 rd[AC_SNP_REPORT_DATA_SIZE];
	gboolean ok;

	nonce = fresh_nonce (query, &body);
	if (nonce == NULL) {
		*status = 400;
		return body;
	}
	if (config->stale_nonce != NULL)
		ok = ac_snp_ratls_fresh_binding (config->pk_raw, AC_SNP_RATLS_PK_RAW_SIZE,
		                                 config->stale_nonce, AC_SNP_RATLS_NONCE_SIZE, rd,
		                                 &error);
	else
		ok = ac_snp_ratls_fresh_binding (config->pk_raw, AC_SNP_RATLS_PK_RAW_SIZE,
		                                 nonce->data, nonce->len, rd, &error);
	if (ok)
		report = config->report (config->user_data, rd, &error);
	if (report == NULL) {
		*status = 500;
		return error_json ("attestation report: %s", error->message);
	}
	hex = ac_codec_hex_encode (g_bytes_get_data (report, NULL), g_bytes_get_size (report));
	*status = 200;
	return g_strdup_printf ("{\"tee_type\":\"sev-snp\",\"data\":\"%s\"}", hex);
}

/* the agent's validate_secrets, with its texts (a key is named, never a value) */
static gchar *
validate_secrets (JsonObject *secrets)
{
	g_autoptr (GList) members = json_object_get_members (secrets);
	guint n = json_object_get_size (secrets);

	if (n == 0)
		return error_json ("no secrets provided");
	if (n > AC_SNP_INJECT_MAX_SECRETS)
		return error_json ("too many secrets: max %d, got %u", AC_SNP_INJECT_MAX_SECRETS,
		                   n);
	for (GList *l = members; l != NULL; l = l->next) {
		const gchar *key = l->data;
		gsize klen = strlen (key);
		const gchar *value = json_object_get_string_member (secrets, key);
		gsize vlen = value != NULL ? strlen (value) : 0;
		if (klen == 0 || klen > AC_SNP_INJECT_KEY_MAX)
			return error_json ("secret key length must be 1-%d, got %" G_GSIZE_FORMAT,
			                   AC_SNP_INJECT_KEY_MAX, klen);
		for (gsize i = 0; i < klen; i++)
			if (!g_ascii_isalnum (key[i]) && key[i] != '_' && key[i] != '-')
				return error_json ("invalid secret key: must be "
				                   "alphanumeric/underscore/hyphen, got: %s",
				                   key);
		if (vlen > AC_SNP_INJECT_VALUE_MAX)
			return error_json ("secret value too large for key '%s': max %d bytes, got "
			                   "%" G_GSIZE_FORMAT,
			                   key, AC_SNP_INJECT_VALUE_MAX, vlen);
	}
	return NULL;
}

/* {"secrets": {string: string…}, "signature": string}, as serde reads the envelope */
static gboolean
is_envelope (JsonNode *root)
{
	JsonObject *o;
	JsonNode *s, *sig;
	g_autoptr (GList) members = NULL;

	if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
		return FALSE;
	o = json_node_get_object (root);
	s = json_object_get_member (o, "secrets");
	sig = json_object_get_member (o, "signature");
	if (s == NULL || !JSON_NODE_HOLDS_OBJECT (s) || sig == NULL || !JSON_NODE_HOLDS_VALUE (sig)
	    || json_node_get_value_type (sig) != G_TYPE_STRING)
		return FALSE;
	members = json_object_get_members (json_node_get_object (s));
	for (GList *l = members; l != NULL; l = l->next) {
		JsonNode *v = json_object_get_member (json_node_get_object (s), l->data);
		if (!JSON_NODE_HOLDS_VALUE (v) || json_node_get_value_type (v) != G_TYPE_STRING)
			return FALSE;
	}
	return TRUE;
}

static gchar *
answer_inject (const AcDevnetSnpAgentConfig *config,
               const gchar *body,
               gsize len,
               guint *status,
               AcSnpSecrets **secrets_out)
{
	g_autoptr (JsonNode) root = NULL;
	g_autoptr (AcSnpSecrets) secrets = NULL;
	g_autoptr (GError) error = NULL;
	g_autoptr (GList) names = NULL;
	gchar *invalid;
	JsonBuilder *b;
	JsonNode *out;
	gchar *text;

	root = ac_json_parse_bounded ("injection request", body, len, AC_SNP_INJECT_BODY_MAX,
	                              AC_ERROR_INVALID_INPUT, NULL);
	if (!is_envelope (root)) {
		*status = 400;
		return error_json ("expected envelope body: {\"secrets\": {...}, \"signature\": "
		                   "\"0x...\"}");
	}
	invalid = validate_secrets (
	    json_object_get_object_member (json_node_get_object (root), "secrets"));
	if (invalid != NULL) {
		*status = 400;
		return invalid;
	}
	if (!ac_aleph_snp_inject_check (body, len, config->pk_raw, AC_SNP_RATLS_PK_RAW_SIZE,
	                                config->owner, &secrets, &error)) {
		g_debug ("agent: injection refused: %s", error->message);
		*status = 403;
		return error_json ("owner signature verification failed");
	}
	/* the names injected, sorted as the agent writes them */
	names = json_object_get_members (
	    json_object_get_object_member (json_node_get_object (root), "secrets"));
	names = g_list_sort (names, (GCompareFunc)strcmp);
	b = json_builder_new ();
	json_builder_begin_object (b);
	json_builder_set_member_name (b, "injected");
	json_builder_begin_array (b);
	for (GList *l = names; l != NULL; l = l->next)
		if (l->next == NULL || strcmp (l->data, l->next->data) != 0)
			json_builder_add_string_value (b, l->data);
	json_builder_end_array (b);
	json_builder_end_object (b);
	out = json_builder_get_root (b);
	text = json_to_string (out, FALSE);
	json_node_unref (out);
	g_object_unref (b);
	*status = 200;
	*secrets_out = g_steal_pointer (&secrets);
	return text;
}

gchar *
ac_devnet_snp_agent_answer (const AcDevnetSnpAgentConfig *config,
                            const AcDevnetSnpAgentRequest *req,
                            const guint8 *data,
                            guint *status,
                            AcSnpSecrets **secrets)
{
	*secrets = NULL;
	if (g_strcmp0 (req->path, "/.well-known/attestation") == 0) {
		if (g_strcmp0 (req->method, "GET") != 0) {
			*status = 405;
			return error_json ("method not allowed");
		}
		return answer_fresh (config, req->query, status);
	}
	if (g_strcmp0 (req->path, "/confidential/inject-secret") == 0) {
		if (g_strcmp0 (req->method, "POST") != 0) {
			*status = 405;
			return error_json ("method not allowed");
		}
		return answer_inject (config, (const gchar *)data + req->body_offset, req->body_len,
		                      status, secrets);
	}
	/* the real agent proxies the rest to the workload on 127.0.0.1:8080: none here */
	*status = 503;
	return error_json ("upstream unavailable: no workload listens on 127.0.0.1:8080");
}

/* ---- the server ---- */

static void
agent_event (AcDevnetSnpAgent *self, AcDevnetSnpAgentEventType type, gsize n, AcSnpSecrets *secrets)
{
	AcDevnetSnpAgentEvent e = { type, n, secrets };
	g_mutex_lock (&self->lock);
	switch (type) {
	case AC_DEVNET_SNP_AGENT_EVENT_HANDSHAKE:
		self->seen.handshakes++;
		break;
	case AC_DEVNET_SNP_AGENT_EVENT_HANDSHAKE_FAILED:
		self->seen.failed++;
		break;
	case AC_DEVNET_SNP_AGENT_EVENT_RECEIVED:
		self->seen.bytes += n;
		break;
	case AC_DEVNET_SNP_AGENT_EVENT_FRESH:
		self->seen.fresh++;
		break;
	case AC_DEVNET_SNP_AGENT_EVENT_INJECTION:
		self->seen.injections++;
		if (secrets != NULL)
			self->seen.injections_ok++;
		break;
	}
	g_mutex_unlock (&self->lock);
	if (self->config.event != NULL)
		self->config.event (self->config.user_data, &e);
}

static SSL_CTX *
server_ctx (GBytes *cert_der, EVP_PKEY *key)
{
	SSL_CTX *ctx = SSL_CTX_new (TLS_server_method ());
	const unsigned char *p = g_bytes_get_data (cert_der, NULL);
	X509 *x = d2i_X509 (NULL, &p, (long)g_bytes_get_size (cert_der));
	if (ctx == NULL || x == NULL || SSL_CTX_use_certificate (ctx, x) != 1
	    || SSL_CTX_use_PrivateKey (ctx, key) != 1) {
		X509_free (x);
		SSL_CTX_free (ctx);
		return NULL;
	}
	X509_free (x);
	SSL_CTX_set_min_proto_version (ctx, TLS1_2_VERSION);
	/* one boot, one key: no session tickets to resume with */
	SSL_CTX_set_options (ctx, SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION);
	SSL_CTX_set_session_cache_mode (ctx, SSL_SESS_CACHE_OFF);
	return ctx;
}

static void
send_all (SSL *ssl, const gchar *data, gsize len)
{
	while (len > 0) {
		int n = SSL_write (ssl, data, (int)MIN (len, (gsize)G_MAXINT));
		if (n <= 0)
			return;
		data += n;
		len -= (gsize)n;
	}
}

static const gchar *
reason (guint status)
{
	switch (status) {
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 403:
		return "Forbidden";
	case 405:
		return "Method Not Allowed";
	case 413:
		return "Payload Too Large";
	case 431:
		return "Request Header Fields Too Large";
	case 500:
		return "Internal Server Error";
	case 501:
		return "Not Implemented";
	default:
		return "Service Unavailable";
	}
}

static void
send_json (SSL *ssl, guint status, const gchar *json)
{
	g_autofree gchar *head = g_strdup_printf (
	    "HTTP/1.1 %u %s\r\nContent-Type: application/json\r\nContent-Length: %" G_GSIZE_FORMAT
	    "\r\n%sConnection: close\r\n\r\n",
	    status, reason (status), strlen (json),
	    status == 503   ? "X-Aleph-Agent-Error: true\r\nRetry-After: 1\r\n"
	    : status == 501 ? "X-Aleph-Agent-Error: true\r\n"
	                    : "");
	send_all (ssl, head, strlen (head));
	send_all (ssl, json, strlen (json));
}

/* reads until one request is complete; FALSE when the client went away (or an error was
 * answered) */
static gboolean
read_request (AcDevnetSnpAgent *self, SSL *ssl, GByteArray *in, AcDevnetSnpAgentRequest *req)
{
	guint8 buf[4096];
	for (;;) {
		g_autoptr (GError) error = NULL;
		AcDevnetSnpAgentParse r;
		int n;
		if (in->len > 0) {
			r = ac_devnet_snp_agent_parse_request (in->data, in->len, req, &error);
			if (r == AC_DEVNET_SNP_AGENT_PARSE_DONE)
				return TRUE;
			if (r == AC_DEVNET_SNP_AGENT_PARSE_ERROR) {
				g_autofree gchar *body = error_json ("%s", error->message);
				send_json (ssl, req->status, body);
				return FALSE;
			}
		}
		n = SSL_read (ssl, buf, sizeof buf);
		if (n <= 0)
			return FALSE;
		agent_event (self, AC_DEVNET_SNP_AGENT_EVENT_RECEIVED, (gsize)n, NULL);
		g_byte_array_append (in, buf, (guint)n);
	}
}

static void
serve (AcDevnetSnpAgent *self, int fd, guint index)
{
	const AcDevnetSnpAgentConfig *c = &self->config;
	gboolean later = index > 0 && c->later_cert != NULL && c->later_key != NULL;
	SSL_CTX *ctx = server_ctx (later ? c->later_cert : c->cert, later ? c->later_key : c->key);
	SSL *ssl = NULL;
	g_autoptr (GByteArray) in = g_byte_array_new ();
	AcDevnetSnpAgentRequest req = { 0 };
	g_autoptr (AcSnpSecrets) secrets = NULL;
	g_autofree gchar *body = NULL;
	guint status = 0;
	gboolean fresh, inject;

	if (ctx == NULL) {
		g_warning ("agent: the certificate or key does not load");
		goto out;
	}
	ssl = SSL_new (ctx);
	SSL_set_fd (ssl, fd);
	if (SSL_accept (ssl) != 1) {
		agent_event (self, AC_DEVNET_SNP_AGENT_EVENT_HANDSHAKE_FAILED, 0, NULL);
		goto out;
	}
	agent_event (self, AC_DEVNET_SNP_AGENT_EVENT_HANDSHAKE, 0, NULL);
	if (c->hello != NULL)
		send_all (ssl, c->hello, strlen (c->hello));
	if (!read_request (self, ssl, in, &req))
		goto out;
	if (c->silent) {
		guint8 b;
		/* until the client gives up */
		while (SSL_read (ssl, &b, 1) > 0)
			agent_event (self, AC_DEVNET_SNP_AGENT_EVENT_RECEIVED, 1, NULL);
		goto out;
	}
	fresh = g_strcmp0 (req.path, "/.well-known/attestation") == 0;
	inject = g_strcmp0 (req.path, "/confidential/inject-secret") == 0
	         && g_strcmp0 (req.method, "POST") == 0;
	if (fresh)
		agent_event (self, AC_DEVNET_SNP_AGENT_EVENT_FRESH, 0, NULL);
	if (fresh && c->fresh_answer != NULL) {
		send_all (ssl, c->fresh_answer, strlen (c->fresh_answer));
		goto shutdown;
	}
	body = ac_devnet_snp_agent_answer (c, &req, in->data, &status, &secrets);
	if (inject)
		agent_event (self, AC_DEVNET_SNP_AGENT_EVENT_INJECTION, req.body_len, secrets);
	if (inject && secrets != NULL && c->inject_answer != NULL)
		send_all (ssl, c->inject_answer, strlen (c->inject_answer));
	else
		send_json (ssl, status, body);
shutdown:
	SSL_shutdown (ssl);
out:
	/* the request may hold a secret: wipe our copy */
	if (in->len > 0)
		ac_secret_wipe (in->data, in->len);
	ac_devnet_snp_agent_request_clear (&req);
	SSL_free (ssl);
	SSL_CTX_free (ctx);
	ERR_clear_error ();
}

static gpointer
agent_thread (gpointer data)
{
	AcDevnetSnpAgent *self = data;
	for (guint index = 0;; index++) {
		struct pollfd fds[2]
		    = { { self->listen_fd, POLLIN, 0 }, { self->stop_pipe[0], POLLIN, 0 } };
		struct timeval tv = { AGENT_IO_TIMEOUT_S, 0 };
		int fd;
		if (poll (fds, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (fds[1].revents != 0)
			break;
		fd = accept4 (self->listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		setsockopt (fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
		setsockopt (fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
		g_mutex_lock (&self->lock);
		self->conn_fd = fd;
		g_mutex_unlock (&self->lock);
		serve (self, fd, index);
		g_mutex_lock (&self->lock);
		self->conn_fd = -1;
		g_mutex_unlock (&self->lock);
		close (fd);
	}
	return NULL;
}

AcDevnetSnpAgent *
ac_devnet_snp_agent_start (const AcDevnetSnpAgentConfig *config, GError **error)
{
	g_autoptr (AcDevnetSnpAgent) self = g_new0 (AcDevnetSnpAgent, 1);
	struct sockaddr_in addr = { 0 };
	socklen_t alen = sizeof addr;

	g_return_val_if_fail (config->cert != NULL && config->key != NULL, NULL);
	g_return_val_if_fail (config->report != NULL && config->owner != NULL, NULL);
	self->listen_fd = -1;
	self->conn_fd = -1;
	self->stop_pipe[0] = self->stop_pipe[1] = -1;
	g_mutex_init (&self->lock);
	self->config = *config;
	self->config.cert = g_bytes_ref (config->cert);
	EVP_PKEY_up_ref (config->key);
	if (config->later_cert != NULL && config->later_key != NULL) {
		self->config.later_cert = g_bytes_ref (config->later_cert);
		EVP_PKEY_up_ref (config->later_key);
	} else {
		self->config.later_cert = NULL;
		self->config.later_key = NULL;
	}
	self->config.owner = self->owner = g_strdup (config->owner);
	self->config.fresh_answer = self->fresh_answer = g_strdup (config->fresh_answer);
	self->config.inject_answer = self->inject_answer = g_strdup (config->inject_answer);
	self->config.hello = self->hello = g_strdup (config->hello);
	if (config->stale_nonce != NULL) {
		memcpy (self->stale_nonce, config->stale_nonce, sizeof self->stale_nonce);
		self->config.stale_nonce = self->stale_nonce;
	}
	self->listen_fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	addr.sin_family = AF_INET;
	addr.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
	if (self->listen_fd < 0
	    || bind (self->listen_fd, (struct sockaddr *)&addr, sizeof addr) != 0
	    || listen (self->listen_fd, 16) != 0
	    || getsockname (self->listen_fd, (struct sockaddr *)&addr, &alen) != 0
	    || pipe2 (self->stop_pipe, O_CLOEXEC) != 0) {
		g_set_error (error, AC_ERROR, AC_ERROR_IO, "agent: listening on 127.0.0.1: %s",
		             g_strerror (errno));
		return NULL;
	}
	self->port = ntohs (addr.sin_port);
	self->thread = g_thread_new ("snp-agent", agent_thread, self);
	return g_steal_pointer (&self);
}

guint16
ac_devnet_snp_agent_get_port (AcDevnetSnpAgent *self)
{
	return self->port;
}

void
ac_devnet_snp_agent_get_seen (AcDevnetSnpAgent *self, AcDevnetSnpAgentSeen *out)
{
	g_mutex_lock (&self->lock);
	*out = self->seen;
	g_mutex_unlock (&self->lock);
}

void
ac_devnet_snp_agent_stop (AcDevnetSnpAgent *self)
{
	if (self->thread == NULL)
		return;
	if (write (self->stop_pipe[1], "x", 1) != 1)
		g_warning ("agent: cannot signal its thread: %s", g_strerror (errno));
	/* a connection being served ends now, not at its read timeout */
	g_mutex_lock (&self->lock);
	if (self->conn_fd >= 0)
		shutdown (self->conn_fd, SHUT_RDWR);
	g_mutex_unlock (&self->lock);
	g_thread_join (self->thread);
	self->thread = NULL;
}

void
ac_devnet_snp_agent_free (AcDevnetSnpAgent *self)
{
	if (self == NULL)
		return;
	ac_devnet_snp_agent_stop (self);
	if (self->listen_fd >= 0)
		close (self->listen_fd);
	if (self->stop_pipe[0] >= 0)
		close (self->stop_pipe[0]);
	if (self->stop_pipe[1] >= 0)
		close (self->stop_pipe[1]);
	g_clear_pointer (&self->config.cert, g_bytes_unref);
	g_clear_pointer (&self->config.key, EVP_PKEY_free);
	g_clear_pointer (&self->config.later_cert, g_bytes_unref);
	g_clear_pointer (&self->config.later_key, EVP_PKEY_free);
	g_free (self->owner);
	g_free (self->fresh_answer);
	g_free (self->inject_answer);
	g_free (self->hello);
	g_mutex_clear (&self->lock);
	g_free (self);
}
