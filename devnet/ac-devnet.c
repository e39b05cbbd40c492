/*
 * aleph-confidential devnet: the dispatcher — configuration, listeners, request dispatch with
 * the fault knobs (to the CCN, a CRN or the admin endpoint), start/stop and the ready line.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <unistd.h>

#include "ac-aleph-util.h"
#include "ac-devnet-admin.h"
#include "ac-devnet-ccn.h"
#include "ac-devnet-crn.h"
#include "ac-devnet-identity.h"
#include "ac-devnet-ledger.h"
#include "ac-devnet-process.h"
#include "ac-devnet-reply.h"
#include "ac-devnet-runtime.h"
#include "ac-devnet-snp.h"
#include "ac-devnet-upload.h"
#include "ac-error.h"
#include "ac-file.h"
#include "ac-json.h"

#define AC_DEVNET_DEFAULT_FIRMWARE "/usr/share/ovmf/OVMF.fd"
#define AC_DEVNET_SNP_RUNTIME_DIR AC_PKGDATADIR "/devnet/snp-runtime"
#define AC_DEVNET_DEFAULT_MAX_UPLOAD (G_GUINT64_CONSTANT (1) << 30)
#define AC_DEVNET_MAX_CONFIG (256 * 1024)

/* ---- configuration ---- */

static gboolean
cfg_string (JsonObject *o, const gchar *name, const gchar *base_dir, gchar **out, GError **error)
{
	JsonNode *n = json_object_get_member (o, name);
	const gchar *s;
	if (n == NULL)
		return TRUE;
	if (!JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_STRING
	    || (s = json_node_get_string (n))[0] == '\0') {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "devnet configuration: %s is not a non-empty string", name);
		return FALSE;
	}
	g_free (*out);
	if (base_dir != NULL && !g_path_is_absolute (s))
		*out = g_build_filename (base_dir, s, NULL);
	else
		*out = g_strdup (s);
	return TRUE;
}

static gboolean
cfg_uint (JsonObject *o, const gchar *name, guint64 max, guint64 *out, GError **error)
{
	JsonNode *n = json_object_get_member (o, name);
	gint64 v;
	if (n == NULL)
		return TRUE;
	if (!JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_INT64
	    || (v = json_node_get_int (n)) < 0 || (guint64)v > max) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "devnet configuration: %s is not an integer in [0, %" G_GUINT64_FORMAT
		             "]",
		             name, max);
		return FALSE;
	}
	*out = (guint64)v;
	return TRUE;
}

static const gchar *const config_members[]
    = { "state_dir",  "root_dir", "trust_root",      "trust_root_ask", "firmware", "ccn_port",
	"admin_port", "crns",     "rsa_bits",        "max_upload",     "seed",     "api",
	"knobs",      "credits",  "default_credits", "snp_runtime",    NULL };

/* every member of the configuration is one of config_members */
static gboolean
config_check_members (JsonObject *o, GError **error)
{
	GList *members = json_object_get_members (o);
	for (GList *l = members; l != NULL; l = l->next) {
		if (!g_strv_contains (config_members, l->data)) {
			g_autofree gchar *all = g_strjoinv (", ", (gchar **)config_members);
			g_set_error (
			    error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			    "devnet configuration: member %s is unknown, expected one of %s",
			    (const gchar *)l->data, all);
			g_list_free (members);
			return FALSE;
		}
	}
	g_list_free (members);
	return TRUE;
}

/* the ports, rsa_bits, max_upload and seed */
static gboolean
config_numbers (AcDevnet *self, JsonObject *o, GError **error)
{
	guint64 v;

	v = 0;
	if (!cfg_uint (o, "ccn_port", 65535, &v, error))
		return FALSE;
	self->ccn_port = (guint)v;
	v = 0;
	if (!cfg_uint (o, "admin_port", 65535, &v, error))
		return FALSE;
	self->admin_port = (guint)v;
	v = 2048;
	if (!cfg_uint (o, "rsa_bits", 4096, &v, error))
		return FALSE;
	if (v != 2048 && v != 4096) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "devnet configuration: rsa_bits is %" G_GUINT64_FORMAT
		             ", expected 2048 or 4096",
		             v);
		return FALSE;
	}
	self->rsa_bits = (guint)v;
	v = AC_DEVNET_DEFAULT_MAX_UPLOAD;
	if (!cfg_uint (o, "max_upload", G_GUINT64_CONSTANT (1) << 40, &v, error))
		return FALSE;
	self->max_upload = v;
	if (json_object_has_member (o, "seed")) {
		v = 0;
		if (!cfg_uint (o, "seed", G_MAXUINT32, &v, error))
			return FALSE;
		self->rand = g_rand_new_with_seed ((guint32)v);
	}
	return TRUE;
}

static gboolean
config_crns (AcDevnet *self, JsonObject *o, GError **error)
{
	guint64 v;
	JsonNode *crns;
	JsonArray *crn_array = NULL;

	/* "crns": a count, or one object per CRN {"port": N, "attack": "...", "snp": false} */
	self->n_crns = 1;
	crns = json_object_get_member (o, "crns");
	if (crns != NULL && JSON_NODE_HOLDS_ARRAY (crns)) {
		crn_array = json_node_get_array (crns);
		self->n_crns = json_array_get_length (crn_array);
	} else if (crns != NULL) {
		v = 1;
		if (!cfg_uint (o, "crns", AC_DEVNET_MAX_CRNS, &v, error))
			return FALSE;
		self->n_crns = (guint)v;
	}
	if (self->n_crns > AC_DEVNET_MAX_CRNS) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "devnet configuration: %u CRNs, expected at most %u", self->n_crns,
		             AC_DEVNET_MAX_CRNS);
		return FALSE;
	}
	ac_devnet_knobs_init (&self->knobs, self->n_crns);
	for (guint i = 0; crn_array != NULL && i < self->n_crns; i++) {
		JsonNode *cn = json_array_get_element (crn_array, i);
		JsonObject *co;
		const gchar *attack;
		if (!JSON_NODE_HOLDS_OBJECT (cn)) {
			g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			             "devnet configuration: crns[%u] is not an object", i);
			return FALSE;
		}
		co = json_node_get_object (cn);
		v = 0;
		if (!cfg_uint (co, "port", 65535, &v, error)) {
			g_prefix_error (error, "crns[%u]: ", i);
			return FALSE;
		}
		self->crn_ports[i] = (guint)v;
		if (json_object_has_member (co, "snp")) {
			JsonNode *sn = json_object_get_member (co, "snp");
			if (!JSON_NODE_HOLDS_VALUE (sn)
			    || json_node_get_value_type (sn) != G_TYPE_BOOLEAN) {
				g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
				             "devnet configuration: crns[%u].snp is not true or false",
				             i);
				return FALSE;
			}
			self->crn_no_snp[i] = !json_node_get_boolean (sn);
		}
		attack = json_object_has_member (co, "attack")
		             ? json_object_get_string_member_with_default (co, "attack", NULL)
		             : "none";
		if (!ac_devnet_knobs_attack_from_string (attack, &self->knobs.attacks[i], error)) {
			g_prefix_error (error, "devnet configuration: crns[%u]: ", i);
			return FALSE;
		}
	}
	return TRUE;
}

/* "api": [major, minor, build_id] of the PSP firmware */
static gboolean
config_api (AcDevnet *self, JsonObject *o, GError **error)
{
	JsonNode *api = json_object_get_member (o, "api");
	if (api != NULL) {
		JsonArray *a;
		gint64 vals[3];
		if (!JSON_NODE_HOLDS_ARRAY (api)
		    || json_array_get_length (a = json_node_get_array (api)) != 3) {
			g_set_error_literal (
			    error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			    "devnet configuration: api is not [major, minor, build_id]");
			return FALSE;
		}
		for (guint i = 0; i < 3; i++) {
			JsonNode *e = json_array_get_element (a, i);
			if (!JSON_NODE_HOLDS_VALUE (e)
			    || json_node_get_value_type (e) != G_TYPE_INT64
			    || (vals[i] = json_node_get_int (e)) < 0 || vals[i] > 255) {
				g_set_error_literal (
				    error, AC_ERROR, AC_ERROR_INVALID_INPUT,
				    "devnet configuration: api values must be integers 0..255");
				return FALSE;
			}
		}
		self->api_major = (guint8)vals[0];
		self->api_minor = (guint8)vals[1];
		self->build_id = (guint8)vals[2];
	}
	return TRUE;
}

/* "default_credits" and "credits" */
static gboolean
config_credits (AcDevnet *self, JsonObject *o, GError **error)
{
	if (json_object_has_member (o, "default_credits")) {
		JsonNode *n = json_object_get_member (o, "default_credits");
		if (!JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_INT64
		    || json_node_get_int (n) < 0) {
			g_set_error_literal (
			    error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			    "devnet configuration: default_credits is not an integer >= 0");
			return FALSE;
		}
		self->default_credits = json_node_get_int (n);
	}
	if (json_object_has_member (o, "credits")
	    && !ac_devnet_ledger_credits_apply (self, json_object_get_member (o, "credits"),
	                                        error)) {
		g_prefix_error (error, "devnet configuration: ");
		return FALSE;
	}
	return TRUE;
}

static gboolean
ac_devnet_parse_config (AcDevnet *self, JsonNode *root, GError **error)
{
	JsonObject *o;

	if (!JSON_NODE_HOLDS_OBJECT (root)) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		                     "devnet configuration: expected a JSON object");
		return FALSE;
	}
	o = json_node_get_object (root);
	if (!config_check_members (o, error))
		return FALSE;
	if (!cfg_string (o, "state_dir", self->base_dir, &self->state_dir, error)
	    || !cfg_string (o, "root_dir", self->base_dir, &self->root_dir, error)
	    || !cfg_string (o, "trust_root", self->base_dir, &self->trust_root, error)
	    || !cfg_string (o, "trust_root_ask", self->base_dir, &self->trust_root_ask, error)
	    || !cfg_string (o, "firmware", self->base_dir, &self->firmware_src, error)
	    || !cfg_string (o, "snp_runtime", self->base_dir, &self->snp_runtime_dir, error))
		return FALSE;
	if (self->state_dir == NULL) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		                     "devnet configuration: state_dir is missing");
		return FALSE;
	}
	if (!config_numbers (self, o, error) || !config_crns (self, o, error))
		return FALSE;

	self->default_credits = 1000000;
	self->api_major = 1;
	self->api_minor = 55;
	self->build_id = 24;
	if (!config_api (self, o, error))
		return FALSE;
	if (!config_credits (self, o, error))
		return FALSE;
	if (json_object_has_member (o, "knobs")
	    && !ac_devnet_knobs_apply (&self->knobs, json_object_get_member (o, "knobs"), error)) {
		g_prefix_error (error, "devnet configuration: ");
		return FALSE;
	}
	if (self->root_dir == NULL)
		self->root_dir = g_build_filename (self->state_dir, "root", NULL);
	if (self->trust_root == NULL)
		self->trust_root = g_build_filename (self->state_dir, "trust", "ark.cert", NULL);
	if (self->trust_root_ask == NULL) {
		g_autofree gchar *dir = g_path_get_dirname (self->trust_root);
		self->trust_root_ask = g_build_filename (dir, "ask.cert", NULL);
	}
	if (self->firmware_src == NULL)
		self->firmware_src = g_strdup (AC_DEVNET_DEFAULT_FIRMWARE);
	/* the installed runtime, else the source tree's (a devnet run from the build tree) */
	if (self->snp_runtime_dir == NULL)
		self->snp_runtime_dir
		    = g_strdup (g_file_test (AC_DEVNET_SNP_RUNTIME_DIR, G_FILE_TEST_IS_DIR)
		                    ? AC_DEVNET_SNP_RUNTIME_DIR
		                    : AC_DEVNET_SNP_RUNTIME_SOURCE_DIR);
	if (self->rand == NULL)
		self->rand = g_rand_new ();
	return TRUE;
}

AcDevnet *
ac_devnet_new_from_json (const gchar *json, const gchar *base_dir, GError **error)
{
	g_autoptr (AcDevnet) self = g_new0 (AcDevnet, 1);
	g_autoptr (JsonNode) root = NULL;
	self->base_dir = g_strdup (base_dir);
	self->waiters = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
	                                       (GDestroyNotify)g_ptr_array_unref);
	self->deferred = g_hash_table_new (g_direct_hash, g_direct_equal);
	root = ac_json_parse_untrusted ("devnet configuration", json, strlen (json), error);
	if (root == NULL) {
		/* a bad file of ours, not a server's answer */
		if (error != NULL && *error != NULL)
			(*error)->code = AC_ERROR_INVALID_INPUT;
		return NULL;
	}
	if (!ac_devnet_parse_config (self, root, error))
		return NULL;
	return g_steal_pointer (&self);
}

AcDevnet *
ac_devnet_new_from_file (const gchar *config_path, GError **error)
{
	g_autofree gchar *text = NULL;
	g_autofree gchar *dir = NULL;
	g_autofree gchar *abs = NULL;
	gsize len = 0;
	if (!ac_file_read_bounded (config_path, AC_FILE_MAX_DEFAULT, &text, &len, error)) {
		g_prefix_error (error, "devnet configuration: ");
		return NULL;
	}
	if (len > AC_DEVNET_MAX_CONFIG || strlen (text) != len) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "devnet configuration %s: not a text file of at most %u bytes",
		             config_path, AC_DEVNET_MAX_CONFIG);
		return NULL;
	}
	abs = g_canonicalize_filename (config_path, NULL);
	dir = g_path_get_dirname (abs);
	return ac_devnet_new_from_json (text, dir, error);
}

void
ac_devnet_free (AcDevnet *self)
{
	if (self == NULL)
		return;
	ac_devnet_stop (self);
	for (guint i = 0; i < AC_DEVNET_MAX_CRNS; i++)
		ac_devnet_crn_free (self->crns[i]);
	if (self->root != NULL)
		ac_sev_psp_free (self->root);
	if (self->account != NULL)
		ac_eth_account_free (self->account);
	if (self->rand != NULL)
		g_rand_free (self->rand);
	g_hash_table_unref (self->waiters);
	g_hash_table_unref (self->deferred);
	if (self->credits != NULL)
		g_hash_table_unref (self->credits);
	g_free (self->base_dir);
	g_free (self->state_dir);
	g_free (self->root_dir);
	g_free (self->trust_root);
	g_free (self->trust_root_ask);
	g_free (self->firmware_src);
	g_free (self->files_dir);
	g_free (self->work_dir);
	g_free (self->firmware_path);
	g_free (self->firmware_sha256);
	g_free (self->firmware_item_hash);
	g_free (self->snp_ca_dir);
	g_free (self->snp_ark_path);
	g_free (self->snp_runtime_dir);
	g_free (self->snp_runtime_item_hash);
	if (self->snp_ark != NULL)
		ac_snp_cert_unref (self->snp_ark);
	g_free (self->ccn_url);
	g_free (self->admin_url);
	g_free (self);
}

/* ---- dispatch ---- */

typedef struct {
	AcDevnet *devnet;
	guint source_id;
	AcDevnetCrn *crn; /* NULL: the CCN */
	SoupServerMessage *msg;
	AcDevnetEndpoint ep;
	gchar *path;
	GHashTable *query;
} AcDevnetDeferred;

static void
deferred_free (AcDevnetDeferred *d)
{
	g_object_unref (d->msg);
	g_free (d->path);
	if (d->query != NULL)
		g_hash_table_unref (d->query);
	g_free (d);
}

static gboolean
ac_devnet_serve (AcDevnet *self,
                 AcDevnetCrn *crn,
                 AcDevnetEndpoint ep,
                 SoupServerMessage *msg,
                 const gchar *path,
                 GHashTable *query)
{
	guint status = ac_devnet_knobs_take_fault (&self->knobs, ep, g_rand_double (self->rand));
	if (status != 0) {
		self->stat_injected[ep]++;
		ac_devnet_reply_error (msg, status, "devnet: injected failure of %s (HTTP %u)",
		                       ac_devnet_knobs_endpoint_to_string (ep), status);
		return TRUE;
	}
	if (crn != NULL)
		return ac_devnet_crn_handle (crn, ep, msg, path);
	return ac_devnet_ccn_handle (self, ep, msg, path, query);
}

static gboolean
deferred_cb (gpointer user_data)
{
	AcDevnetDeferred *d = user_data;
	/* the hash table does not own it: the source's destroy notify frees it */
	g_hash_table_remove (d->devnet->deferred, GUINT_TO_POINTER (d->source_id));
	if (ac_devnet_serve (d->devnet, d->crn, d->ep, d->msg, d->path, d->query))
		soup_server_message_unpause (d->msg);
	return G_SOURCE_REMOVE;
}

static void
ac_devnet_dispatch (AcDevnet *self,
                    AcDevnetCrn *crn,
                    SoupServerMessage *msg,
                    const gchar *path,
                    GHashTable *query)
{
	const gchar *method = soup_server_message_get_method (msg);
	AcDevnetEndpoint ep = crn != NULL ? ac_devnet_crn_classify (method, path)
	                                  : ac_devnet_ccn_classify (method, path);
	guint latency;

	self->stat_requests[ep]++;
	/* permissive CORS, as aleph-vm and pyaleph (the TS SDK runs in browsers too) */
	soup_message_headers_replace (soup_server_message_get_response_headers (msg),
	                              "Access-Control-Allow-Origin", "*");
	latency = ac_devnet_knobs_get_latency (&self->knobs, ep);
	if (latency > 0) {
		AcDevnetDeferred *d = g_new0 (AcDevnetDeferred, 1);
		d->devnet = self;
		d->crn = crn;
		d->msg = g_object_ref (msg);
		d->ep = ep;
		d->path = g_strdup (path);
		d->query = query != NULL ? g_hash_table_ref (query) : NULL;
		soup_server_message_pause (msg);
		d->source_id = g_timeout_add_full (G_PRIORITY_DEFAULT, latency, deferred_cb, d,
		                                   (GDestroyNotify)deferred_free);
		g_hash_table_insert (self->deferred, GUINT_TO_POINTER (d->source_id), d);
		return;
	}
	ac_devnet_serve (self, crn, ep, msg, path, query);
}

static void
ccn_cb (SoupServer *server,
        SoupServerMessage *msg,
        const char *path,
        GHashTable *query,
        gpointer user_data)
{
	ac_devnet_dispatch (user_data, NULL, msg, path, query);
}

static void
crn_cb (SoupServer *server,
        SoupServerMessage *msg,
        const char *path,
        GHashTable *query,
        gpointer user_data)
{
	AcDevnetCrn *crn = user_data;
	ac_devnet_dispatch (crn->devnet, crn, msg, path, query);
}

/* ---- uploads: byte counting, size limit and the drop knob ---- */

typedef struct {
	AcDevnet *devnet;
	AcDevnetCrn *crn;
	int spool_fd; /* uploads: the body goes to a file in the work directory */
	guint64 received;
	guint64 drop_after; /* 0 = never */
	AcDevnetEndpoint ep;
	gboolean closed;
} AcDevnetUpload;

static void
upload_close (SoupServerMessage *msg, AcDevnetUpload *up)
{
	GSocket *sock = soup_server_message_get_socket (msg);
	up->closed = TRUE;
	if (sock != NULL) {
		g_socket_shutdown (sock, TRUE, TRUE, NULL);
		g_socket_close (sock, NULL);
	}
}

static void
upload_got_chunk (SoupServerMessage *msg, GBytes *chunk, gpointer user_data)
{
	AcDevnetUpload *up = user_data;
	if (up->closed)
		return;
	up->received += g_bytes_get_size (chunk);
	if (up->spool_fd >= 0) {
		gsize len = 0;
		const guint8 *p = g_bytes_get_data (chunk, &len);
		while (len > 0) {
			ssize_t n = write (up->spool_fd, p, len);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				g_warning ("spooling an upload: %s", g_strerror (errno));
				upload_close (msg, up);
				return;
			}
			p += n;
			len -= (gsize)n;
		}
	}
	if (up->drop_after > 0 && up->received >= up->drop_after) {
		up->devnet->stat_dropped[up->ep]++;
		g_debug ("dropping the connection of %s after %" G_GUINT64_FORMAT " bytes",
		         ac_devnet_knobs_endpoint_to_string (up->ep), up->received);
		upload_close (msg, up);
		return;
	}
	if (up->received > up->devnet->max_upload + 64 * 1024) {
		g_debug ("closing an upload larger than %" G_GUINT64_FORMAT " bytes",
		         up->devnet->max_upload);
		upload_close (msg, up);
	}
}

static void
spool_free (gpointer data)
{
	g_unlink (data);
	g_free (data);
}

static void
upload_got_headers (SoupServerMessage *msg, gpointer user_data)
{
	AcDevnetUpload *up = user_data;
	GUri *uri = soup_server_message_get_uri (msg);
	const gchar *method = soup_server_message_get_method (msg);
	const gchar *path = uri != NULL ? g_uri_get_path (uri) : "/";
	goffset clen;
	SoupMessageHeaders *h = soup_server_message_get_request_headers (msg);

	up->ep = up->crn != NULL ? ac_devnet_crn_classify (method, path)
	                         : ac_devnet_ccn_classify (method, path);
	if (up->crn == NULL && up->spool_fd < 0
	    && (up->ep == AC_DEVNET_EP_STORAGE_ADD_FILE || up->ep == AC_DEVNET_EP_IPFS_ADD_FILE
	        || up->ep == AC_DEVNET_EP_IPFS_ADD_CAR)) {
		gchar *spool = g_build_filename (up->devnet->work_dir, "upload-XXXXXX", NULL);
		up->spool_fd = g_mkstemp_full (spool, O_RDWR | O_CLOEXEC, 0600);
		if (up->spool_fd >= 0) {
			soup_message_body_set_accumulate (
			    soup_server_message_get_request_body (msg), FALSE);
			g_object_set_data_full (G_OBJECT (msg), "ac-devnet-spool", spool,
			                        spool_free);
		} else {
			g_free (spool);
		}
	}
	up->drop_after = ac_devnet_knobs_take_drop (&up->devnet->knobs, up->ep);
	clen = soup_message_headers_get_content_length (h);
	if (soup_message_headers_get_encoding (h) == SOUP_ENCODING_CONTENT_LENGTH
	    && (guint64)clen > up->devnet->max_upload + 64 * 1024) {
		/* answered before the body is read; libsoup then closes the connection */
		ac_devnet_reply_error (msg, 413,
		                       "request body of %" G_GINT64_FORMAT
		                       " bytes is larger than the %" G_GUINT64_FORMAT "-byte limit",
		                       (gint64)clen, up->devnet->max_upload);
	}
}

static void
upload_free_notify (gpointer data, GClosure *closure)
{
	AcDevnetUpload *up = data;
	if (up->spool_fd >= 0)
		close (up->spool_fd);
	g_free (up);
}

static void
request_started_cb (SoupServer *server, SoupServerMessage *msg, gpointer user_data)
{
	AcDevnetUpload *up = g_new0 (AcDevnetUpload, 1);
	up->spool_fd = -1;
	up->devnet = g_object_get_data (G_OBJECT (server), "ac-devnet");
	up->crn = user_data;
	g_signal_connect_data (msg, "got-headers", G_CALLBACK (upload_got_headers), up, NULL, 0);
	g_signal_connect_data (msg, "got-chunk", G_CALLBACK (upload_got_chunk), up,
	                       upload_free_notify, 0);
}

static SoupServer *
ac_devnet_listen (AcDevnet *self,
                  AcDevnetCrn *crn,
                  guint port,
                  SoupServerCallback cb,
                  gpointer data,
                  gchar **url,
                  GError **error)
{
	g_autoptr (SoupServer) server
	    = soup_server_new ("server-header", "aleph-devnet/" PACKAGE_VERSION, NULL);
	g_autoptr (GError) error_local = NULL;
	g_autoptr (GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
	g_autoptr (GSocketAddress) addr = g_inet_socket_address_new (lo, (guint16)port);
	GSList *uris;
	GUri *uri;

	g_object_set_data (G_OBJECT (server), "ac-devnet", self);
	soup_server_add_handler (server, NULL, cb, data, NULL);
	if (cb != NULL)
		g_signal_connect (server, "request-started", G_CALLBACK (request_started_cb), crn);
	if (!soup_server_listen (server, addr, 0, &error_local)) {
		g_set_error (error, AC_ERROR, AC_ERROR_NETWORK, "listening on %s:%u: %s",
		             AC_DEVNET_HOST, port, error_local->message);
		return NULL;
	}
	uris = soup_server_get_uris (server);
	if (uris == NULL) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_INTERNAL,
		                     "the server has no URI after listen");
		return NULL;
	}
	uri = uris->data;
	*url = g_strdup_printf ("http://%s:%d", AC_DEVNET_HOST, g_uri_get_port (uri));
	g_slist_free_full (uris, (GDestroyNotify)g_uri_unref);
	return g_steal_pointer (&server);
}

/* ---- start / stop ---- */

static gboolean
mkdir_private (const gchar *dir, GError **error)
{
	if (g_mkdir_with_parents (dir, 0700) != 0) {
		g_set_error (error, AC_ERROR, AC_ERROR_IO, "creating %s: %s", dir,
		             g_strerror (errno));
		return FALSE;
	}
	return TRUE;
}

static gboolean
write_public (const gchar *path, GBytes *data, GError **error)
{
	g_autofree gchar *dir = g_path_get_dirname (path);
	gsize len = 0;
	const gchar *p = g_bytes_get_data (data, &len);
	if (g_mkdir_with_parents (dir, 0755) != 0) {
		g_set_error (error, AC_ERROR, AC_ERROR_IO, "creating %s: %s", dir,
		             g_strerror (errno));
		return FALSE;
	}
	return ac_file_replace_contents (path, p, len, TRUE, 0644, error);
}

static gboolean
ac_devnet_load_account (AcDevnet *self, GError **error)
{
	g_autofree gchar *path = g_build_filename (self->state_dir, "devnet-ethereum.key", NULL);
	if (g_file_test (path, G_FILE_TEST_EXISTS)) {
		self->account = ac_eth_account_load_key_file (path, error);
		return self->account != NULL;
	}
	self->account = ac_eth_account_generate (error);
	if (self->account == NULL)
		return FALSE;
	return ac_eth_account_save_key_file (self->account, path, error);
}

gboolean
ac_devnet_start (AcDevnet *self, GError **error)
{
	g_autofree gchar *db = NULL;
	g_autoptr (GBytes) ark = NULL;
	g_autoptr (GBytes) ask = NULL;

	if (self->started)
		return TRUE;
	self->files_dir = g_build_filename (self->state_dir, "files", NULL);
	self->work_dir = g_build_filename (self->state_dir, "work", NULL);
	if (!mkdir_private (self->state_dir, error) || !mkdir_private (self->files_dir, error)
	    || !mkdir_private (self->work_dir, error))
		return FALSE;

	/* the devnet root and the trust inputs a client must be given explicitly */
	self->root = ac_devnet_identity_root (self->root_dir, self->rsa_bits, error);
	if (self->root == NULL)
		return FALSE;
	ark = ac_amd_cert_to_bytes (ac_sev_psp_get_ark (self->root));
	ask = ac_amd_cert_to_bytes (ac_sev_psp_get_ask (self->root));
	if (!write_public (self->trust_root, ark, error)
	    || !write_public (self->trust_root_ask, ask, error))
		return FALSE;
	/* SEV-SNP: the devnet's software ARK/ASK, and that ARK to trust explicitly */
	if (!ac_devnet_snp_start (self, error))
		return FALSE;

	db = g_build_filename (self->state_dir, "devnet.sqlite", NULL);
	self->store = ac_devnet_store_open (db, error);
	if (self->store == NULL)
		return FALSE;
	if (!ac_devnet_load_account (self, error)
	    || !ac_devnet_upload_publish_firmware (self, error)
	    || !ac_devnet_runtime_publish (self, error))
		return FALSE;

	for (guint i = 0; i < self->n_crns; i++) {
		self->crns[i] = ac_devnet_crn_new (self, i, error);
		if (self->crns[i] == NULL)
			return FALSE;
		if (!ac_devnet_crn_prepare_attack (self->crns[i], self->knobs.attacks[i], error))
			return FALSE;
		self->crns[i]->server
		    = ac_devnet_listen (self, self->crns[i], self->crn_ports[i], crn_cb,
		                        self->crns[i], &self->crns[i]->url, error);
		if (self->crns[i]->server == NULL)
			return FALSE;
	}
	self->ccn
	    = ac_devnet_listen (self, NULL, self->ccn_port, ccn_cb, self, &self->ccn_url, error);
	if (self->ccn == NULL)
		return FALSE;
	self->admin = ac_devnet_listen (self, NULL, self->admin_port, ac_devnet_admin_handle, self,
	                                &self->admin_url, error);
	if (self->admin == NULL)
		return FALSE;
	self->started = TRUE;
	ac_devnet_process_due (self);
	return TRUE;
}

void
ac_devnet_stop (AcDevnet *self)
{
	if (self->process_source != 0) {
		g_source_remove (self->process_source);
		self->process_source = 0;
	}
	ac_devnet_process_cancel_waiters (self);
	{
		/* requests held by a latency knob are dropped with their connection */
		GHashTableIter it;
		gpointer key;
		g_hash_table_iter_init (&it, self->deferred);
		while (g_hash_table_iter_next (&it, &key, NULL)) {
			g_hash_table_iter_remove (&it);
			g_source_remove (GPOINTER_TO_UINT (key));
		}
	}
	for (guint i = 0; i < AC_DEVNET_MAX_CRNS; i++) {
		if (self->crns[i] != NULL && self->crns[i]->server != NULL) {
			soup_server_disconnect (self->crns[i]->server);
			g_clear_object (&self->crns[i]->server);
		}
	}
	if (self->ccn != NULL) {
		soup_server_disconnect (self->ccn);
		g_clear_object (&self->ccn);
	}
	if (self->admin != NULL) {
		soup_server_disconnect (self->admin);
		g_clear_object (&self->admin);
	}
	g_clear_pointer (&self->store, ac_devnet_store_free);
	self->started = FALSE;
}

gchar *
ac_devnet_get_ready_line (AcDevnet *self)
{
	g_autoptr (JsonBuilder) b = json_builder_new ();
	g_autoptr (JsonNode) node = NULL;
	g_autofree gchar *crn_list = g_strdup_printf ("%s/crns.json", self->ccn_url);

	json_builder_begin_object (b);
	ac_json_builder_add_boolean (b, "ready", TRUE);
	ac_json_builder_add_int (b, "pid", getpid ());
	ac_json_builder_add_string (b, "ccn", self->ccn_url);
	ac_json_builder_add_string (b, "crn_list", crn_list);
	ac_json_builder_add_string (b, "admin", self->admin_url);
	json_builder_set_member_name (b, "crns");
	json_builder_begin_array (b);
	for (guint i = 0; i < self->n_crns; i++) {
		AcDevnetCrn *crn = self->crns[i];
		gchar *chip_id;
		json_builder_begin_object (b);
		ac_json_builder_add_int (b, "index", i);
		ac_json_builder_add_string (b, "url", crn->url);
		ac_json_builder_add_string (b, "hash", crn->hash);
		json_builder_set_member_name (b, "attack");
		json_builder_add_string_value (
		    b, ac_devnet_knobs_attack_to_string (self->knobs.attacks[i]));
		ac_json_builder_add_string (b, "snp_chip_id",
		                            chip_id = ac_devnet_snp_crn_chip_id (crn));
		g_free (chip_id);
		json_builder_end_object (b);
	}
	json_builder_end_array (b);
	json_builder_set_member_name (b, "trust_root");
	json_builder_begin_object (b);
	ac_json_builder_add_string (b, "ark", self->trust_root);
	ac_json_builder_add_string (b, "ask", self->trust_root_ask);
	json_builder_end_object (b);
	ac_devnet_snp_ready (self, b);
	json_builder_set_member_name (b, "firmware");
	json_builder_begin_object (b);
	ac_json_builder_add_string (b, "item_hash", self->firmware_item_hash);
	ac_json_builder_add_string (b, "sha256", self->firmware_sha256);
	ac_json_builder_add_string (b, "path", self->firmware_path);
	json_builder_end_object (b);
	ac_json_builder_add_string (b, "state_dir", self->state_dir);
	json_builder_end_object (b);
	node = json_builder_get_root (b);
	return json_to_string (node, FALSE);
}
