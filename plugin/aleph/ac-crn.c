/*
 * aleph-confidential: the CRN client (the CRN list, certificates, allocation, confidential launch,
 * operations)
 *
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
#include "ac-aleph-client-private.h"
#include "ac-aleph-payment.h"
#include "ac-aleph-util.h"
#include "ac-car.h"
#include "ac-error.h"
#include "ac-file.h"
#include "ac-secret.h"

struct _AcCrnClient {
	gchar *base;
	gchar *domain;
	AcEthAccount *account; /* borrowed */
	AcHttpClient *http;    /* borrowed */
	AcCrnAuth *auth;
	guint poll_first_ms;
	guint poll_max_ms;
};

GPtrArray *
ac_crn_list_fetch (AcHttpClient *http, const gchar *list_url, AcCrnFilter filter, GError **error)
{
	const gchar *base = list_url != NULL ? list_url : AC_ALEPH_DEFAULT_CRN_LIST;
	g_autofree gchar *url = g_strdup_printf ("%s%cfilter_inactive=true", base,
	                                         strchr (base, '?') != NULL ? '&' : '?');
	g_autoptr (AcHttpResponse) r = NULL;
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

AcCrnClient *
ac_crn_client_new (const gchar *crn_url, AcEthAccount *account, AcHttpClient *http, GError **error)
{
	g_autofree gchar *base = ac_http_sanitize_base_url (crn_url, error);
	g_autoptr (GUri) uri = NULL;
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
	g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
	g_autoptr (GPtrArray) h = g_ptr_array_new_with_free_func (g_free);
	g_autofree gchar *op = NULL;

	if (self->account == NULL) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		                     "this CRN operation needs an account to sign it");
		return NULL;
	}
	if (self->auth == NULL || ac_crn_auth_is_expired (self->auth, now, 300)) {
		g_autoptr (GDateTime) exp = g_date_time_add_days (now, 1);
		ac_crn_auth_free (self->auth);
		self->auth = ac_crn_auth_new (self->account, self->domain, exp, NULL, error);
		if (self->auth == NULL)
			return NULL;
	}
	op = ac_crn_auth_sign_operation (self->auth, method, path, now, error);
	if (op == NULL)
		return NULL;
	g_ptr_array_add (
	    h, g_strdup_printf ("X-SignedPubKey: %s", ac_crn_auth_get_pubkey_header (self->auth)));
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

/* the signed route @op of the VM @vm_hash: its @url, and the auth @headers of a @method on it */
static gboolean
vm_request_prepare (AcCrnClient *self,
                    const gchar *vm_hash,
                    const gchar *op,
                    gchar **url,
                    const gchar *method,
                    GPtrArray **headers,
                    GError **error)
{
	g_autofree gchar *path = vm_path (self, vm_hash, op, error);

	if (path == NULL)
		return FALSE;
	*url = url_of (self, path);
	*headers = signed_headers (self, method, path, error);
	return *headers != NULL;
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
	             r->status == 404                         ? AC_ERROR_NOT_FOUND
	             : (r->status == 401 || r->status == 403) ? AC_ERROR_PERMISSION
	                                                      : AC_ERROR_REMOTE,
	             "%s %s: HTTP %u: %s", method, url, r->status, text);
	return FALSE;
}

/* Whether the CRN's error answer @r is the JSON {"code": @code, …} aleph-vm sends. */
static gboolean
crn_answer_code_is (AcHttpResponse *r, const gchar *code)
{
	g_autoptr (JsonParser) parser = json_parser_new ();
	JsonNode *root;
	const gchar *data;
	gsize len;

	data = ac_http_response_get_data (r, &len);
	if (data == NULL || !json_parser_load_from_data (parser, data, (gssize)len, NULL))
		return FALSE;
	root = json_parser_get_root (parser);
	if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
		return FALSE;
	return g_strcmp0 (json_object_get_string_member_with_default (json_node_get_object (root),
	                                                              "code", NULL),
	                  code)
	       == 0;
}

GBytes *
ac_crn_get_certificates (AcCrnClient *self, GError **error)
{
	g_autofree gchar *url = g_strdup_printf ("%s/about/certificates", self->base);
	g_autoptr (AcHttpResponse) r
	    = ac_http_request (self->http, "GET", url, NULL, NULL, NULL, AC_HTTP_IDEMPOTENT, error);
	gsize len;
	if (r == NULL)
		return NULL;
	(void)ac_http_response_get_data (r, &len);
	/* PDH‖PEK‖OCA‖CEK, 2084 bytes each; sev/ verifies the chain */
	if (len != 4 * 2084 && len != 2084) {
		g_set_error (error, AC_ERROR, AC_ERROR_REMOTE,
		             "GET %s: %" G_GSIZE_FORMAT
		             " bytes, expected an SEV chain of 8336 bytes",
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
	g_autoptr (GBytes) b = NULL;
	g_autoptr (AcHttpResponse) r = NULL;
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
	                     AC_HTTP_IDEMPOTENT | AC_HTTP_ACCEPT_ANY_STATUS | AC_HTTP_SLOW_ANSWER,
	                     error);
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
	g_autofree gchar *url = NULL;
	g_autoptr (GPtrArray) h = NULL;
	g_autoptr (AcHttpResponse) r = NULL;
	g_autoptr (GError) local_error = NULL;
	AcHttpPart parts[2];

	if (!vm_request_prepare (self, vm_hash, "confidential/initialize", &url, "POST", &h, error))
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
		g_autoptr (GPtrArray) h = signed_headers (self, "GET", path, error);
		g_autoptr (AcHttpResponse) r = NULL;
		g_autoptr (GError) error_local = NULL;
		const gchar *data;
		gsize len;
		gint64 now;
		gboolean not_ready;

		if (h == NULL)
			return NULL;
		r = ac_http_request (self->http, "GET", url, (const gchar *const *)h->pdata, NULL,
		                     NULL, AC_HTTP_ACCEPT_ANY_STATUS, &error_local);
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
			not_ready = r->status >= 500
			            || (r->status == 403
			                && g_strstr_len (data, (gssize)len, "not running") != NULL);
			if (!not_ready) {
				expect_ok (r, "GET", url, error);
				return NULL;
			}
			g_clear_error (&error_local);
			{
				g_autofree gchar *text = ac_http_error_text (data, len);
				error_local
				    = g_error_new (AC_ERROR, AC_ERROR_REMOTE, "GET %s: HTTP %u: %s",
				                   url, r->status, text);
			}
		}
		now = g_get_monotonic_time ();
		if (now >= deadline) {
			g_propagate_prefixed_error (
			    error, g_steal_pointer (&error_local),
			    "the VM's measurement was not ready after %u s: ", timeout_ms / 1000);
			return NULL;
		}
		{
			guint delay = ac_aleph_client_poll_delay (self->poll_first_ms,
			                                          self->poll_max_ms, attempt);
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
	g_autofree gchar *url = NULL;
	g_autoptr (GPtrArray) h = NULL;
	g_autoptr (GBytes) b = NULL;
	g_autoptr (AcHttpResponse) r = NULL;
	GString *body;
	gboolean ok;

	if (!vm_request_prepare (self, vm_hash, "confidential/inject_secret", &url, "POST", &h,
	                         error))
		return FALSE;
	body = g_string_new ("{\"packet_header\": ");
	ac_json_append_python_string (body, packet_header_b64);
	g_string_append (body, ", \"secret\": ");
	ac_json_append_python_string (body, secret_b64);
	g_string_append (body, "}");
	b = g_bytes_new (body->str, body->len);
	/* the body holds the encrypted secret only (TEK never leaves us); still wipe it */
	ac_secret_wipe (body->str, body->len);
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
	g_autofree gchar *url = NULL;
	g_autoptr (GPtrArray) h = NULL;
	g_autoptr (AcHttpResponse) r = NULL;

	if (g_strcmp0 (operation, "stop") != 0 && g_strcmp0 (operation, "reboot") != 0
	    && g_strcmp0 (operation, "erase") != 0) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "CRN operation '%s' is not stop, reboot or erase", operation);
		return FALSE;
	}
	if (!vm_request_prepare (self, vm_hash, operation, &url, "POST", &h, error))
		return FALSE;
	r = ac_http_request (self->http, "POST", url, (const gchar *const *)h->pdata, NULL, NULL,
	                     AC_HTTP_ACCEPT_ANY_STATUS | AC_HTTP_SLOW_ANSWER, error);
	if (r == NULL)
		return FALSE;
	return expect_ok (r, "POST", url, error);
}

/**
 * ac_crn_get_logs:
 *
 * GET /control/machine/{ref}/logs, signed as reboot and erase are: the VM's console lines
 * as aleph-vm keeps them (its JSON endpoint, not the stream_logs websocket).
 */
GPtrArray *
ac_crn_get_logs (AcCrnClient *self, const gchar *vm_hash, GError **error)
{
	g_autofree gchar *url = NULL;
	g_autoptr (GPtrArray) h = NULL;
	g_autoptr (AcHttpResponse) r = NULL;
	const gchar *data;
	gsize len;
	GPtrArray *lines;

	if (!vm_request_prepare (self, vm_hash, "logs", &url, "GET", &h, error))
		return NULL;
	r = ac_http_request (self->http, "GET", url, (const gchar *const *)h->pdata, NULL, NULL,
	                     AC_HTTP_ACCEPT_ANY_STATUS | AC_HTTP_IDEMPOTENT, error);
	if (r == NULL || !expect_ok (r, "GET", url, error))
		return NULL;
	data = ac_http_response_get_data (r, &len);
	lines = ac_crn_parse_logs (data, len, error);
	if (lines == NULL)
		g_prefix_error (error, "GET %s: ", url);
	return lines;
}

GPtrArray *
ac_crn_list_executions (AcCrnClient *self, GError **error)
{
	g_autofree gchar *url = g_strdup_printf ("%s/about/executions/list", self->base);
	g_autoptr (AcHttpResponse) r
	    = ac_http_request (self->http, "GET", url, NULL, NULL, NULL, AC_HTTP_IDEMPOTENT, error);
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
