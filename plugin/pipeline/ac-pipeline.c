/*
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Steps and what makes each resumable:
 *   build     image written to a temporary name by the builder, renamed when verified; the
 *             passphrase goes straight into libvirt's secret store. Done = image + secret.
 *   store     the CID is computed locally first; a STORE of that CID already signed by us is
 *             found on the CCN and reused, so a crash mid-upload never yields a second STORE.
 *   crn       the configured node, or the first confidential CRN of the list.
 *   instance  the signed INSTANCE is saved in the state BEFORE it is posted; a resume posts
 *             the same bytes again (same item_hash), so there is only ever one INSTANCE.
 *   notify    idempotent on the CRN.
 *   attest    session files saved before initialize; measurement verified against the pinned
 *             firmware with the session's TIK; only then the passphrase is sent.
 */
#include "config.h"

#include "ac-pipeline.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <glib/gstdio.h>
#include <string.h>

#include "ac-aleph-client.h"
#include "ac-aleph-payment.h"
#include "ac-aleph-util.h"
#include "ac-builder.h"
#include "ac-builder-verify.h"
#include "ac-car.h"
#include "ac-error.h"
#include "ac-image-build.h"
#include "ac-keyfile.h"
#include "ac-secret-store.h"
#include "ac-sev-chain.h"
#include "ac-sev-measure.h"
#include "ac-sev-policy.h"
#include "ac-sev-secret.h"
#include "ac-sev-session.h"
#include "ac-state.h"
#include "ac-tag.h"
#include "ac-virt.h"

#define DEFAULT_CHANNEL "ALEPH-CLOUDSOLUTIONS"
#define SESSION_NAME "vm"

AcPipelineConfig *
ac_pipeline_config_new (void)
{
	AcPipelineConfig *c = g_new0 (AcPipelineConfig, 1);
	c->state_dir = g_strdup (AC_STATEDIR);
	c->min_api_major = 0;
	c->min_api_minor = 17; /* the measurement formula: docs/protocols.md#launch-measurement */
	c->min_ccn_version = g_strdup (AC_PIPELINE_DEFAULT_MIN_CCN_VERSION);
	c->poll_first_ms = 500;
	c->poll_max_ms = 5000;
	c->timeout_s = 600;
	c->instance_seconds = 30;
	return c;
}

void
ac_pipeline_config_free (AcPipelineConfig *c)
{
	if (c == NULL)
		return;
	g_free (c->state_dir);
	g_free (c->key_file);
	g_free (c->channel);
	g_free (c->crn_list_url);
	g_strfreev (c->trusted_roots);
	g_free (c->secrets_uri);
	g_free (c->min_ccn_version);
	g_free (c);
}

/**
 * ac_pipeline_config_load:
 *
 * The [pipeline] group of the service's key file: state-dir, key-file, channel, crn-list,
 * trusted-roots (list of ARK files), secrets-uri, min-api (M.m: the SEV firmware API a platform
 * must report), min-ccn-version (M.m[.p]: the CCN's), poll-first-ms, poll-max-ms, timeout,
 * instance-seconds. A missing file gives the defaults.
 */
AcPipelineConfig *
ac_pipeline_config_load (const gchar *path, GError **error)
{
	g_autoptr(AcPipelineConfig) c = ac_pipeline_config_new ();
	g_autoptr(GKeyFile) kf = g_key_file_new ();
	g_autoptr(GError) local_error = NULL;
	g_autofree gchar *min_api = NULL;

	if (path == NULL)
		return g_steal_pointer (&c);
	/* the whole file is checked ([daemon] and [localsev] too): a mistake anywhere is refused */
	if (!ac_key_file_load_strict (kf, path, ac_service_config_keys, &local_error)) {
		if (g_error_matches (local_error, AC_ERROR, AC_ERROR_NOT_FOUND))
			return g_steal_pointer (&c);
		g_propagate_error (error, g_steal_pointer (&local_error));
		return NULL;
	}
#define STR(key, field)                                                              \
	if (g_key_file_has_key (kf, "pipeline", key, NULL)) {                         \
		g_free (c->field);                                                    \
		c->field = g_key_file_get_string (kf, "pipeline", key, NULL);        \
	}
	STR ("state-dir", state_dir);
	STR ("key-file", key_file);
	STR ("channel", channel);
	STR ("crn-list", crn_list_url);
	STR ("secrets-uri", secrets_uri);
	STR ("min-ccn-version", min_ccn_version);
#undef STR
	{
		guint v[3];
		if (!ac_version_parse (c->min_ccn_version, v)) {
			g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
				     "%s: [pipeline] min-ccn-version='%s': expected MAJOR.MINOR[.PATCH] such as %s",
				     path, c->min_ccn_version, AC_PIPELINE_DEFAULT_MIN_CCN_VERSION);
			return NULL;
		}
	}
	if (g_key_file_has_key (kf, "pipeline", "trusted-roots", NULL))
		c->trusted_roots = g_key_file_get_string_list (kf, "pipeline", "trusted-roots", NULL, NULL);
	min_api = g_key_file_get_string (kf, "pipeline", "min-api", NULL);
	if (min_api != NULL) {
		guint maj = 0, min = 0;
		if (sscanf (min_api, "%u.%u", &maj, &min) != 2 || maj > 255 || min > 255) {
			g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
				     "%s: [pipeline] min-api='%s': expected MAJOR.MINOR such as 0.17", path, min_api);
			return NULL;
		}
		c->min_api_major = (guint8)maj;
		c->min_api_minor = (guint8)min;
	}
#define UINT(key, field)                                                                       \
	if (!ac_key_file_get_positive (kf, path, ac_service_config_keys, "pipeline", key, &c->field, error)) \
		return NULL;
	UINT ("poll-first-ms", poll_first_ms);
	UINT ("poll-max-ms", poll_max_ms);
	UINT ("timeout", timeout_s);
	UINT ("instance-seconds", instance_seconds);
#undef UINT
	return g_steal_pointer (&c);
}

/* ---- context ---------------------------------------------------------------------------- */

typedef struct {
	const AcPipelineConfig *config;
	virConnectPtr conn;
	virDomainPtr dom;
	gchar *name;
	gchar *uuid;
	gchar *xml;
	AcTag *tag;
	AcTagDomain *info;
	AcState *state;
	AcStatus *status;
	AcPipelineStatusFunc status_func;
	gpointer user_data;
	AcEthAccount *account;
	AcHttpClient *http;
	AcCcnClient *ccn;
	GCancellable *cancellable;
	gint64 progress_written; /* monotonic µs of the last status written for the bytes */
	guint range_lo, range_hi; /* the status percentages the current step spans */
} AcPipeline;

static void
ac_pipeline_clear (AcPipeline *p)
{
	g_free (p->name);
	g_free (p->uuid);
	g_free (p->xml);
	ac_tag_free (p->tag);
	ac_tag_domain_free (p->info);
	ac_state_free (p->state);
	ac_status_free (p->status);
	if (p->account != NULL)
		ac_eth_account_free (p->account);
	if (p->ccn != NULL)
		ac_ccn_client_free (p->ccn);
	if (p->http != NULL)
		ac_http_client_free (p->http);
}

static void
report (AcPipeline *p, const gchar *state, const gchar *step, guint progress)
{
	g_free (p->status->state);
	g_free (p->status->step);
	p->status->state = g_strdup (state);
	p->status->step = g_strdup (step);
	p->status->progress = progress;
	p->status->done = 0;
	p->status->total = 0;
	p->range_lo = progress;
	p->range_hi = progress;
	ac_status_set_error (p->status, NULL, NULL);
	ac_state_log (p->state, "%s: %s (%u%%)", step, state, progress);
	if (p->status_func != NULL)
		p->status_func (p->status, p->user_data);
}

static void
report_failure (AcPipeline *p, const gchar *state, const gchar *step, const GError *error)
{
	g_free (p->status->state);
	p->status->state = g_strdup (state);
	p->status->done = 0;
	p->status->total = 0;
	p->range_hi = p->range_lo;
	ac_status_set_error (p->status, step, error);
	if (p->state != NULL)
		ac_state_log (p->state, "%s: %s: %s", step, state, error != NULL ? error->message : "?");
	if (p->status_func != NULL)
		p->status_func (p->status, p->user_data);
}

static gboolean
save (AcPipeline *p, GError **error)
{
	return ac_state_save (p->state, error);
}

static gboolean
check_cancelled (AcPipeline *p, GError **error)
{
	if (g_cancellable_is_cancelled (p->cancellable)) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_CANCELLED, "interrupted");
		return FALSE;
	}
	return TRUE;
}

/* ---- build ------------------------------------------------------------------------------ */

static gboolean
step_build (AcPipeline *p, AcProgress *progress, GError **error)
{
	g_autoptr (AcImageBuilt) built = NULL;
	AcImageBuildSpec spec = { 0 };
	virConnectPtr sconn;
	const gchar *image = ac_state_get_string (p->state, "build", "image");

	if (ac_state_step_done (p->state, "build") && image != NULL && g_file_test (image, G_FILE_TEST_EXISTS))
		return TRUE;
	report (p, "building", "build", 5);
	p->range_hi = 40; /* the build's bytes move the status from 5 to 40 % */
	if (virDomainIsActive (p->dom) == 1) {
		g_set_error (error, AC_ERROR, AC_ERROR_REFUSED,
			     "domain '%s' is running; its disk is encrypted from a consistent copy "
			     "only when it is shut off: 'virsh shutdown %s'",
			     p->name, p->name);
		return FALSE;
	}
	/* the passphrase goes into a local libvirt's secret store, and nowhere else */
	sconn = ac_secret_store_connect (p->conn, p->config->secrets_uri, error);
	if (sconn == NULL)
		return FALSE;
	spec.state_dir = p->config->state_dir;
	spec.name = p->name;
	spec.uuid = p->uuid;
	spec.domain_xml = p->xml;
	spec.disk_dev = p->tag->disk_dev;
	spec.secrets_conn = sconn;
	built = ac_image_build (&spec, progress, p->cancellable, error);
	virConnectClose (sconn);
	if (built == NULL)
		return FALSE;
	ac_state_reset_step (p->state, "build");
	ac_state_set_string (p->state, "build", "image", built->image_path);
	ac_state_set_string (p->state, "build", "sha256", built->image_sha256);
	ac_state_set_string (p->state, "build", "luksUuid", built->luks_uuid);
	ac_state_set_int (p->state, "build", "size", (gint64)built->image_size);
	ac_state_set_string (p->state, "build", "secret", built->secret_uuid);
	ac_state_set_string (p->state, "build", "manifest", built->manifest_path);
	ac_state_mark_done (p->state, "build");
	g_free (p->status->image_path);
	p->status->image_path = g_strdup (built->image_path);
	g_free (p->status->image_sha256);
	p->status->image_sha256 = g_strdup (built->image_sha256);
	g_free (p->status->image_luks_uuid);
	p->status->image_luks_uuid = g_strdup (built->luks_uuid);
	/* a new image makes everything after it stale */
	ac_state_reset_step (p->state, "store");
	ac_state_reset_step (p->state, "instance");
	ac_state_reset_step (p->state, "notify");
	ac_state_reset_step (p->state, "attest");
	return save (p, error);
}

/* ---- publish ---------------------------------------------------------------------------- */

static gboolean
ensure_clients (AcPipeline *p, GError **error)
{
	g_autofree gchar *key = NULL;
	if (p->ccn != NULL)
		return TRUE;
	key = p->config->key_file != NULL ? g_strdup (p->config->key_file) : ac_eth_default_key_path ();
	p->account = ac_eth_account_load_key_file (key, error);
	if (p->account == NULL)
		return FALSE;
	p->http = ac_http_client_new ();
	p->ccn = ac_ccn_client_new (p->tag->publish->api, p->http, error);
	if (p->ccn == NULL)
		return FALSE;
	ac_ccn_client_set_poll (p->ccn, p->config->poll_first_ms, p->config->poll_max_ms);
	return ac_ccn_client_set_store_payment (p->ccn, ac_payment_to_string (p->tag->publish->store_payment),
						error);
}

static const gchar *
channel (AcPipeline *p)
{
	return p->config->channel != NULL ? p->config->channel : DEFAULT_CHANNEL;
}

/* A STORE of @cid by our address, if the CCN has one. */
static gchar *
find_store (AcPipeline *p, const gchar *cid, GError **error)
{
	const gchar *addresses[] = { ac_eth_account_get_address (p->account), NULL };
	g_autoptr(GPtrArray) msgs = NULL;
	guint total = 0;

	msgs = ac_ccn_query_messages (p->ccn, NULL, "STORE", addresses, NULL, 1, 200, &total, error);
	if (msgs == NULL)
		return NULL;
	for (guint i = 0; i < msgs->len; i++) {
		AcAlephMessage *m = g_ptr_array_index (msgs, i);
		g_autoptr(JsonNode) content = ac_aleph_message_get_content (m, NULL);
		JsonObject *o;
		if (content == NULL || !JSON_NODE_HOLDS_OBJECT (content))
			continue;
		o = json_node_get_object (content);
		if (g_strcmp0 (json_object_get_string_member_with_default (o, "item_hash", ""), cid) == 0)
			return g_strdup (m->item_hash);
	}
	return NULL;
}

static gboolean
step_store (AcPipeline *p, AcProgress *progress, GError **error)
{
	const gchar *image = ac_state_get_string (p->state, "build", "image");
	const gchar *cid;
	g_autofree gchar *found = NULL;
	g_autoptr(AcAlephMessage) store = NULL;
	g_autofree gchar *uploaded = NULL;
	g_autoptr(GError) local_error = NULL;

	if (ac_state_step_done (p->state, "store"))
		return TRUE;
	report (p, "publishing", "publish/store", 40);
	p->range_hi = 50; /* the upload's bytes: 40 to 50 % */
	if (!ensure_clients (p, error))
		return FALSE;
	if (ac_state_get_string (p->state, "store", "cid") == NULL) {
		g_autofree gchar *c = ac_ipfs_file_cid_string (image, NULL, error);
		if (c == NULL)
			return FALSE;
		ac_state_set_string (p->state, "store", "cid", c);
		if (!save (p, error))
			return FALSE;
	}
	cid = ac_state_get_string (p->state, "store", "cid");

	/* resume: the upload and its STORE may have gone through before we were stopped */
	found = find_store (p, cid, &local_error);
	if (found == NULL && local_error != NULL) {
		g_propagate_error (error, g_steal_pointer (&local_error));
		return FALSE;
	}
	if (found == NULL) {
		uploaded = ac_ccn_upload_file (p->ccn, AC_CCN_UPLOAD_CAR, image, p->account, channel (p),
					       &store, progress, error);
		if (uploaded == NULL)
			return FALSE;
		if (g_strcmp0 (uploaded, cid) != 0) {
			g_set_error (error, AC_ERROR, AC_ERROR_MISMATCH,
				     "the CCN stored the image as %s, but its CID is %s", uploaded, cid);
			return FALSE;
		}
		found = g_strdup (store->item_hash);
	}
	ac_state_set_string (p->state, "store", "hash", found);
	ac_state_mark_done (p->state, "store");
	g_free (p->status->image_cid);
	p->status->image_cid = g_strdup (cid);
	g_free (p->status->store_hash);
	p->status->store_hash = g_strdup (found);
	return save (p, error);
}

/* ---- CRN -------------------------------------------------------------------------------- */

static gchar *
crn_list_url (AcPipeline *p)
{
	g_autoptr(GUri) u = NULL;
	if (p->config->crn_list_url != NULL)
		return g_strdup (p->config->crn_list_url);
	u = g_uri_parse (p->tag->publish->api, G_URI_FLAGS_NONE, NULL);
	if (u != NULL && g_strcmp0 (g_uri_get_scheme (u), "http") == 0)
		return g_strdup_printf ("%s/crns.json", p->tag->publish->api); /* a loopback devnet */
	return g_strdup (AC_ALEPH_DEFAULT_CRN_LIST);
}

static gboolean
step_crn (AcPipeline *p, GError **error)
{
	g_autofree gchar *url = NULL;
	g_autoptr(GPtrArray) crns = NULL;
	AcCrnInfo *chosen = NULL;

	if (ac_state_step_done (p->state, "crn"))
		return TRUE;
	report (p, "publishing", "publish/crn", 50);
	if (!ensure_clients (p, error))
		return FALSE;
	url = crn_list_url (p);
	crns = ac_crn_list_fetch (p->http, url, AC_CRN_FILTER_CONFIDENTIAL, error);
	if (crns == NULL)
		return FALSE;
	for (guint i = 0; i < crns->len && chosen == NULL; i++) {
		AcCrnInfo *c = g_ptr_array_index (crns, i);
		if (g_strcmp0 (p->tag->publish->crn, "auto") == 0 || g_strcmp0 (p->tag->publish->crn, c->hash) == 0)
			chosen = c;
	}
	if (chosen == NULL) {
		if (g_strcmp0 (p->tag->publish->crn, "auto") == 0)
			g_set_error (error, AC_ERROR, AC_ERROR_NOT_FOUND,
				     "no CRN with confidential support in %s", url);
		else
			g_set_error (error, AC_ERROR, AC_ERROR_NOT_FOUND,
				     "<aleph:publish crn='%s'>: no such CRN with confidential support in %s",
				     p->tag->publish->crn, url);
		return FALSE;
	}
	ac_state_set_string (p->state, "crn", "hash", chosen->hash);
	ac_state_set_string (p->state, "crn", "url", chosen->address);
	ac_state_mark_done (p->state, "crn");
	g_free (p->status->crn);
	p->status->crn = g_strdup (chosen->hash);
	g_free (p->status->crn_url);
	p->status->crn_url = g_strdup (chosen->address);
	return save (p, error);
}

/* ---- INSTANCE --------------------------------------------------------------------------- */

static guint64
domain_memory_mib (const gchar *xml)
{
	g_autoptr(GRegex) re = g_regex_new ("<memory(?: unit=['\"]([A-Za-z]+)['\"])?>(\\d+)</memory>", 0, 0, NULL);
	g_autoptr(GMatchInfo) m = NULL;
	guint64 v;
	g_autofree gchar *unit = NULL;
	g_autofree gchar *num = NULL;
	if (!g_regex_match (re, xml, 0, &m))
		return 0;
	unit = g_match_info_fetch (m, 1);
	num = g_match_info_fetch (m, 2);
	v = g_ascii_strtoull (num, NULL, 10);
	if (unit == NULL || unit[0] == '\0' || g_strcmp0 (unit, "KiB") == 0 || g_strcmp0 (unit, "k") == 0)
		return v / 1024;
	if (g_strcmp0 (unit, "MiB") == 0 || g_strcmp0 (unit, "M") == 0)
		return v;
	if (g_strcmp0 (unit, "GiB") == 0 || g_strcmp0 (unit, "G") == 0)
		return v * 1024;
	if (g_strcmp0 (unit, "b") == 0 || g_strcmp0 (unit, "bytes") == 0)
		return v >> 20;
	return v / 1024;
}

static guint
domain_vcpus (const gchar *xml)
{
	g_autoptr(GRegex) re = g_regex_new ("<vcpu[^>]*>(\\d+)</vcpu>", 0, 0, NULL);
	g_autoptr(GMatchInfo) m = NULL;
	g_autofree gchar *num = NULL;
	if (!g_regex_match (re, xml, 0, &m))
		return 1;
	num = g_match_info_fetch (m, 1);
	return (guint)g_ascii_strtoull (num, NULL, 10);
}

static gchar *
default_ssh_key (void)
{
	g_autofree gchar *dir = g_build_filename (g_get_home_dir (), ".ssh", NULL);
	const gchar *names[] = { "id_ed25519.pub", "id_ecdsa.pub", "id_rsa.pub" };
	for (guint i = 0; i < G_N_ELEMENTS (names); i++) {
		g_autofree gchar *path = g_build_filename (dir, names[i], NULL);
		gchar *text = NULL;
		if (g_file_get_contents (path, &text, NULL, NULL))
			return g_strstrip (text);
	}
	return NULL;
}

static JsonNode *
instance_content (AcPipeline *p)
{
	const AcTagPublish *pub = p->tag->publish;
	g_autoptr(JsonBuilder) b = json_builder_new ();
	g_autofree gchar *ssh = pub->ssh_key != NULL ? g_strdup (pub->ssh_key) : default_ssh_key ();
	guint64 image_size = (guint64)ac_state_get_int (p->state, "build", "size");
	guint64 size_mib = pub->rootfs_size != 0 ? (pub->rootfs_size + (1 << 20) - 1) >> 20
						   : (image_size + (1 << 20) - 1) >> 20;
	guint64 memory_mib = pub->memory != 0 ? pub->memory >> 20 : domain_memory_mib (p->xml);

	json_builder_begin_object (b);
	json_builder_set_member_name (b, "address");
	json_builder_add_string_value (b, ac_eth_account_get_address (p->account));
	json_builder_set_member_name (b, "time");
	json_builder_add_double_value (b, (gdouble)g_get_real_time () / G_USEC_PER_SEC);
	json_builder_set_member_name (b, "allow_amend");
	json_builder_add_boolean_value (b, FALSE);
	json_builder_set_member_name (b, "metadata");
	json_builder_begin_object (b);
	json_builder_set_member_name (b, "name");
	json_builder_add_string_value (b, pub->name != NULL ? pub->name : p->name);
	json_builder_end_object (b);
	json_builder_set_member_name (b, "authorized_keys");
	if (ssh != NULL) {
		json_builder_begin_array (b);
		json_builder_add_string_value (b, ssh);
		json_builder_end_array (b);
	} else {
		json_builder_add_null_value (b);
	}
	json_builder_set_member_name (b, "variables");
	json_builder_add_null_value (b);
	json_builder_set_member_name (b, "environment");
	json_builder_begin_object (b);
	json_builder_set_member_name (b, "internet");
	json_builder_add_boolean_value (b, TRUE);
	json_builder_set_member_name (b, "aleph_api");
	json_builder_add_boolean_value (b, TRUE);
	json_builder_set_member_name (b, "hypervisor");
	json_builder_add_string_value (b, "qemu");
	json_builder_set_member_name (b, "trusted_execution");
	json_builder_begin_object (b);
	json_builder_set_member_name (b, "firmware");
	json_builder_add_string_value (b, p->tag->firmware_ref);
	json_builder_set_member_name (b, "policy");
	json_builder_add_int_value (b, p->tag->policy);
	json_builder_end_object (b);
	json_builder_set_member_name (b, "reproducible");
	json_builder_add_boolean_value (b, FALSE);
	json_builder_set_member_name (b, "shared_cache");
	json_builder_add_boolean_value (b, FALSE);
	json_builder_end_object (b);
	json_builder_set_member_name (b, "resources");
	json_builder_begin_object (b);
	json_builder_set_member_name (b, "vcpus");
	json_builder_add_int_value (b, pub->vcpus != 0 ? pub->vcpus : domain_vcpus (p->xml));
	json_builder_set_member_name (b, "memory");
	json_builder_add_int_value (b, (gint64)MAX (memory_mib, 1));
	json_builder_set_member_name (b, "seconds");
	json_builder_add_int_value (b, p->config->instance_seconds);
	json_builder_set_member_name (b, "published_ports");
	if (pub->ports != NULL && pub->ports->len > 0) {
		json_builder_begin_array (b);
		for (guint i = 0; i < pub->ports->len; i++) {
			AcTagPort *port = &g_array_index (pub->ports, AcTagPort, i);
			json_builder_begin_object (b);
			json_builder_set_member_name (b, "protocol");
			json_builder_add_string_value (b, port->udp ? "udp" : "tcp");
			json_builder_set_member_name (b, "port");
			json_builder_add_int_value (b, port->port);
			json_builder_end_object (b);
		}
		json_builder_end_array (b);
	} else {
		json_builder_add_null_value (b);
	}
	json_builder_end_object (b);
	json_builder_set_member_name (b, "payment");
	json_builder_begin_object (b);
	json_builder_set_member_name (b, "chain");
	json_builder_add_string_value (b, "ETH");
	json_builder_set_member_name (b, "receiver");
	json_builder_add_null_value (b);
	json_builder_set_member_name (b, "type");
	json_builder_add_string_value (b, ac_payment_to_string (pub->payment));
	json_builder_end_object (b);
	json_builder_set_member_name (b, "requirements");
	json_builder_begin_object (b);
	json_builder_set_member_name (b, "node");
	json_builder_begin_object (b);
	json_builder_set_member_name (b, "node_hash");
	json_builder_add_string_value (b, ac_state_get_string (p->state, "crn", "hash"));
	json_builder_end_object (b);
	json_builder_end_object (b);
	json_builder_set_member_name (b, "volumes");
	json_builder_begin_array (b);
	json_builder_end_array (b);
	json_builder_set_member_name (b, "rootfs");
	json_builder_begin_object (b);
	json_builder_set_member_name (b, "parent");
	json_builder_begin_object (b);
	json_builder_set_member_name (b, "ref");
	json_builder_add_string_value (b, ac_state_get_string (p->state, "store", "hash"));
	json_builder_set_member_name (b, "use_latest");
	json_builder_add_boolean_value (b, TRUE);
	json_builder_end_object (b);
	json_builder_set_member_name (b, "persistence");
	json_builder_add_string_value (b, "host");
	json_builder_set_member_name (b, "size_mib");
	json_builder_add_int_value (b, (gint64)size_mib);
	json_builder_end_object (b);
	json_builder_end_object (b);
	return json_builder_get_root (b);
}

/*
 * A saved INSTANCE is posted again on resume only while the network can still accept it: one
 * the CCN rejected, or whose payment the rules now refuse, is dropped so that the next run
 * builds a new message (from the tag as it is then).
 */
static gboolean
saved_instance_still_valid (AcPipeline *p, const gchar *saved, GError **error)
{
	g_autoptr(AcAlephMessage) msg = ac_aleph_message_from_data (saved, strlen (saved), NULL);
	g_autoptr(JsonNode) content = msg != NULL ? ac_aleph_message_get_content (msg, NULL) : NULL;
	g_autoptr(AcMessageInfo) info = NULL;
	g_autoptr(GError) local_error = NULL;
	JsonObject *payment = NULL;
	const gchar *ptype = "hold"; /* aleph-message's default */
	gboolean keep = TRUE;

	if (msg == NULL || content == NULL || !JSON_NODE_HOLDS_OBJECT (content)) {
		keep = FALSE;
	} else {
		JsonNode *pn = json_object_get_member (json_node_get_object (content), "payment");
		if (pn != NULL && JSON_NODE_HOLDS_OBJECT (pn))
			payment = json_node_get_object (pn);
		if (payment != NULL)
			ptype = json_object_get_string_member_with_default (payment, "type", "hold");
		if (!ac_payment_check (NULL, "INSTANCE", ptype, msg->time, &local_error)) {
			g_info ("%s: the saved INSTANCE %s is dropped: %s", p->name, msg->item_hash,
				local_error->message);
			keep = FALSE;
		}
	}
	if (keep && ac_state_get_bool (p->state, "instance", "posted")) {
		info = ac_ccn_get_message_status (p->ccn, msg->item_hash, &local_error);
		if (info == NULL && !g_error_matches (local_error, AC_ERROR, AC_ERROR_NOT_FOUND)) {
			g_propagate_error (error, g_steal_pointer (&local_error));
			return FALSE;
		}
		if (info != NULL && info->status == AC_MESSAGE_STATUS_REJECTED) {
			g_info ("%s: the INSTANCE %s was rejected by the CCN; a new one is built", p->name,
				msg->item_hash);
			keep = FALSE;
		}
	}
	if (keep)
		return TRUE;
	ac_state_reset_step (p->state, "instance");
	return save (p, error);
}

static gboolean
step_instance (AcPipeline *p, AcProgress *progress, GError **error)
{
	const gchar *saved;
	g_autoptr(AcAlephMessage) msg = NULL;
	g_autoptr(AcMessageInfo) info = NULL;
	g_autoptr(GError) local_error = NULL;

	if (ac_state_step_done (p->state, "instance"))
		return TRUE;
	report (p, "publishing", "publish/instance", 60);
	if (!ensure_clients (p, error))
		return FALSE;
	saved = ac_state_get_string (p->state, "instance", "message");
	if (saved != NULL && !saved_instance_still_valid (p, saved, error))
		return FALSE;
	saved = ac_state_get_string (p->state, "instance", "message");
	if (saved == NULL) {
		g_autoptr(JsonNode) content = instance_content (p);
		g_autofree gchar *text = NULL;
		gdouble now = (gdouble)g_get_real_time () / G_USEC_PER_SEC;
		/* refused before signing when the network's rules refuse this payment today */
		if (!ac_payment_check (NULL, "INSTANCE", ac_payment_to_string (p->tag->publish->payment), now,
				       error)) {
			g_prefix_error (error, "<aleph:publish payment='%s'>: ",
					ac_payment_to_string (p->tag->publish->payment));
			return FALSE;
		}
		msg = ac_aleph_message_build ("INSTANCE", content, ac_eth_account_get_address (p->account),
					      channel (p), now, error);
		if (msg == NULL || !ac_aleph_message_sign (msg, p->account, error))
			return FALSE;
		/* saved before it is posted: a resume posts these very bytes again */
		text = ac_aleph_message_to_string (msg);
		ac_state_set_string (p->state, "instance", "message", text);
		ac_state_set_string (p->state, "instance", "hash", msg->item_hash);
		if (!save (p, error))
			return FALSE;
	} else {
		msg = ac_aleph_message_from_data (saved, strlen (saved), error);
		if (msg == NULL)
			return FALSE;
	}
	g_free (p->status->instance_hash);
	p->status->instance_hash = g_strdup (msg->item_hash);

	if (!ac_state_get_bool (p->state, "instance", "posted")) {
		AcPostResult result = { 0 };
		info = ac_ccn_get_message_status (p->ccn, msg->item_hash, &local_error);
		if (info == NULL) {
			if (!g_error_matches (local_error, AC_ERROR, AC_ERROR_NOT_FOUND)) {
				g_propagate_error (error, g_steal_pointer (&local_error));
				return FALSE;
			}
			if (!ac_ccn_post_message (p->ccn, msg, TRUE, &result, error)) {
				ac_post_result_clear (&result);
				return FALSE;
			}
			ac_post_result_clear (&result);
		}
		ac_state_set_bool (p->state, "instance", "posted", TRUE);
		if (!save (p, error))
			return FALSE;
	}
	report (p, "publishing", "publish/wait", 65);
	g_clear_pointer (&info, ac_message_info_free);
	info = ac_ccn_wait_processed (p->ccn, msg->item_hash, p->config->timeout_s * 1000, progress, error);
	if (info == NULL)
		return FALSE;
	ac_state_mark_done (p->state, "instance");
	return save (p, error);
}

/* ---- pre-flight ------------------------------------------------------------------------ */

/* The credits the CCN estimates for one hour of @content ("required_credits", else "cost"). */
static gboolean
estimate_credits (AcPipeline *p, const gchar *type, JsonNode *content, gdouble *cost, GError **error)
{
	g_autoptr(AcAlephMessage) msg = NULL;
	g_autofree gchar *answer = NULL;
	g_autoptr(JsonNode) node = NULL;
	JsonObject *o;
	JsonNode *n;

	msg = ac_aleph_message_build (type, content, ac_eth_account_get_address (p->account),
				      channel (p), (gdouble)g_get_real_time () / G_USEC_PER_SEC, error);
	if (msg == NULL)
		return FALSE;
	answer = ac_ccn_price_estimate (p->ccn, msg, error);
	if (answer == NULL)
		return FALSE;
	node = json_from_string (answer, NULL);
	o = node != NULL && JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
	n = o != NULL ? json_object_get_member (o, "required_credits") : NULL;
	if (n == NULL && o != NULL)
		n = json_object_get_member (o, "cost");
	if (n != NULL && JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) == G_TYPE_STRING)
		*cost = g_ascii_strtod (json_node_get_string (n), NULL);
	else if (n != NULL && JSON_NODE_HOLDS_VALUE (n) &&
		 (json_node_get_value_type (n) == G_TYPE_INT64 || json_node_get_value_type (n) == G_TYPE_DOUBLE))
		*cost = json_node_get_value_type (n) == G_TYPE_INT64 ? (gdouble)json_node_get_int (n)
									 : json_node_get_double (n);
	else {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_NOT_FOUND,
				     "the price estimate has no required_credits or cost");
		return FALSE;
	}
	return TRUE;
}

/*
 * Before the long work: the key file, the API, the payments the network's rules accept today,
 * the CRN, and (for credit) the account's credit balance against the CCN's estimate of one
 * hour. Fails in seconds with both numbers, instead of after the build.
 */
static gboolean
step_preflight (AcPipeline *p, GError **error)
{
	const AcTagPublish *pub = p->tag->publish;
	gdouble now = (gdouble)g_get_real_time () / G_USEC_PER_SEC;
	g_autoptr(JsonNode) content = NULL;
	g_autoptr(GError) local_error = NULL;
	gdouble cost = 0, image_cost = 0, credits = 0;

	if (ac_state_step_done (p->state, "instance"))
		return TRUE;
	if (!ac_state_step_done (p->state, "store") &&
	    !ac_payment_check (NULL, "STORE", ac_payment_to_string (pub->store_payment), now, error)) {
		g_prefix_error (error, "<aleph:publish storePayment='%s'>: ", ac_payment_to_string (pub->store_payment));
		return FALSE;
	}
	if (!ac_payment_check (NULL, "INSTANCE", ac_payment_to_string (pub->payment), now, error)) {
		g_prefix_error (error, "<aleph:publish payment='%s'>: ", ac_payment_to_string (pub->payment));
		return FALSE;
	}
	if (!ensure_clients (p, error))
		return FALSE;
	/* the API answers, and speaks what this client needs */
	{
		g_autofree gchar *version = NULL;
		g_autoptr(GError) version_error = NULL;
		if (!ac_ccn_check_version (p->ccn, p->config->min_ccn_version, &version, &version_error)) {
			if (g_error_matches (version_error, AC_ERROR, AC_ERROR_REFUSED))
				g_prefix_error (&version_error, "<aleph:publish api='%s'> ([pipeline] min-ccn-version=%s): ",
						pub->api, p->config->min_ccn_version);
			else
				g_prefix_error (&version_error, "<aleph:publish api='%s'>: ", pub->api);
			g_propagate_error (error, g_steal_pointer (&version_error));
			return FALSE;
		}
		ac_state_log (p->state, "pre-flight: the CCN at %s runs version %s", pub->api, version);
	}
	if (!step_crn (p, error))
		return FALSE;
	if (pub->payment != AC_PAYMENT_CREDIT)
		return TRUE;
	content = instance_content (p);
	{
		/* before the build and the upload: a placeholder reference prices the same, and
		 * without rootfsSize the image's size is not known yet (the smallest is priced) */
		JsonObject *rootfs = json_object_get_object_member (json_node_get_object (content), "rootfs");
		if (ac_state_get_string (p->state, "store", "hash") == NULL)
			json_object_set_string_member (json_object_get_object_member (rootfs, "parent"), "ref",
						       "0000000000000000000000000000000000000000000000000000000000000000");
		if (json_object_get_int_member_with_default (rootfs, "size_mib", 0) == 0)
			json_object_set_int_member (rootfs, "size_mib", 1);
	}
	if (!ac_state_step_done (p->state, "store") && pub->store_payment == AC_PAYMENT_CREDIT) {
		/* the image's STORE at its largest (rootfsSize) or its smallest size; a CCN that
		 * prices only files it has leaves the image out of the sum */
		g_autofree gchar *text = g_strdup_printf (
		    "{\"item_type\": \"ipfs\", \"item_hash\": \"QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH\","
		    " \"size\": %" G_GUINT64_FORMAT ", \"payment\": {\"chain\": \"ETH\", \"type\": \"credit\"}}",
		    MAX (pub->rootfs_size, (guint64)1 << 20));
		g_autoptr(JsonNode) store = json_from_string (text, NULL);
		if (!estimate_credits (p, "STORE", store, &image_cost, &local_error)) {
			g_info ("%s: the image's price is not estimated: %s", p->name, local_error->message);
			g_clear_error (&local_error);
			image_cost = 0;
		}
	}
	if (!estimate_credits (p, "INSTANCE", content, &cost, &local_error) ||
	    !ac_ccn_get_credit_balance (p->ccn, ac_eth_account_get_address (p->account), &credits,
					&local_error)) {
		if (!g_error_matches (local_error, AC_ERROR, AC_ERROR_NOT_FOUND)) {
			g_propagate_error (error, g_steal_pointer (&local_error));
			return FALSE;
		}
		g_info ("%s: credit pre-flight skipped: %s", p->name, local_error->message);
		return TRUE;
	}
	cost += image_cost;
	if (credits < cost) {
		g_set_error (error, AC_ERROR, AC_ERROR_REFUSED,
			     "account %s has %.0f credits, but the CCN estimates %.0f credits for one hour "
			     "of this instance and its image: add credits before publishing",
			     ac_eth_account_get_address (p->account), credits, cost);
		return FALSE;
	}
	return TRUE;
}

/* ---- published ports -------------------------------------------------------------------- */

/*
 * The ports of the tag, in the port-forwarding AGGREGATE Aleph's client publishes:
 * {"<vm hash>":{"ports":{"22":{"tcp":true,"udp":false}}}}. Saved before it is posted, like
 * the INSTANCE, so a resume posts the same message.
 */
static gboolean
step_ports (AcPipeline *p, GError **error)
{
	const AcTagPublish *pub = p->tag->publish;
	const gchar *saved;
	g_autoptr(AcAlephMessage) msg = NULL;
	AcPostResult result = { 0 };
	gboolean ok;

	if (pub->ports == NULL || pub->ports->len == 0 || ac_state_step_done (p->state, "ports"))
		return TRUE;
	report (p, "publishing", "publish/ports", 68);
	if (!ensure_clients (p, error))
		return FALSE;
	saved = ac_state_get_string (p->state, "ports", "message");
	if (saved == NULL) {
		g_autoptr(JsonBuilder) b = json_builder_new ();
		g_autoptr(JsonNode) content = NULL;
		g_autoptr(JsonGenerator) gen = json_generator_new ();
		g_autofree gchar *text = NULL;
		gdouble now = (gdouble)g_get_real_time () / G_USEC_PER_SEC;
		json_builder_begin_object (b);
		json_builder_set_member_name (b, "address");
		json_builder_add_string_value (b, ac_eth_account_get_address (p->account));
		json_builder_set_member_name (b, "time");
		json_builder_add_double_value (b, now);
		json_builder_set_member_name (b, "key");
		json_builder_add_string_value (b, "port-forwarding");
		json_builder_set_member_name (b, "content");
		json_builder_begin_object (b);
		json_builder_set_member_name (b, ac_state_get_string (p->state, "instance", "hash"));
		json_builder_begin_object (b);
		json_builder_set_member_name (b, "ports");
		json_builder_begin_object (b);
		/* one entry per port number, with both protocols when both are published */
		for (guint i = 0; i < pub->ports->len; i++) {
			AcTagPort *port = &g_array_index (pub->ports, AcTagPort, i);
			g_autofree gchar *num = g_strdup_printf ("%u", port->port);
			gboolean tcp = FALSE, udp = FALSE, first = TRUE;
			for (guint j = 0; j < pub->ports->len; j++) {
				AcTagPort *other = &g_array_index (pub->ports, AcTagPort, j);
				if (other->port != port->port)
					continue;
				if (j < i)
					first = FALSE;
				if (other->udp)
					udp = TRUE;
				else
					tcp = TRUE;
			}
			if (!first)
				continue;
			json_builder_set_member_name (b, num);
			json_builder_begin_object (b);
			json_builder_set_member_name (b, "tcp");
			json_builder_add_boolean_value (b, tcp);
			json_builder_set_member_name (b, "udp");
			json_builder_add_boolean_value (b, udp);
			json_builder_end_object (b);
		}
		json_builder_end_object (b);
		json_builder_end_object (b);
		json_builder_end_object (b);
		json_builder_end_object (b);
		content = json_builder_get_root (b);
		json_generator_set_root (gen, content);
		text = json_generator_to_data (gen, NULL);
		msg = ac_aleph_message_new_inline ("AGGREGATE", text, ac_eth_account_get_address (p->account), "ETH",
						   channel (p), now);
		if (msg == NULL || !ac_aleph_message_sign (msg, p->account, error))
			return FALSE;
		g_free (text);
		text = ac_aleph_message_to_string (msg);
		ac_state_set_string (p->state, "ports", "message", text);
		if (!save (p, error))
			return FALSE;
	} else {
		msg = ac_aleph_message_from_data (saved, strlen (saved), error);
		if (msg == NULL)
			return FALSE;
	}
	ok = ac_ccn_post_message (p->ccn, msg, TRUE, &result, error);
	ac_post_result_clear (&result);
	if (!ok)
		return FALSE;
	ac_state_set_string (p->state, "ports", "hash", msg->item_hash);
	ac_state_mark_done (p->state, "ports");
	return save (p, error);
}

/* ---- CRN notify and attestation --------------------------------------------------------- */

static AcCrnClient *
crn_client (AcPipeline *p, GError **error)
{
	AcCrnClient *crn = ac_crn_client_new (ac_state_get_string (p->state, "crn", "url"), p->account, p->http, error);
	if (crn != NULL)
		ac_crn_client_set_poll (crn, p->config->poll_first_ms, p->config->poll_max_ms);
	return crn;
}

static gboolean
step_notify (AcPipeline *p, GError **error)
{
	g_autoptr(AcCrnClient) crn = NULL;
	if (ac_state_step_done (p->state, "notify"))
		return TRUE;
	report (p, "publishing", "publish/notify", 70);
	if (!ensure_clients (p, error))
		return FALSE;
	crn = crn_client (p, error);
	if (crn == NULL)
		return FALSE;
	if (!ac_crn_notify_allocation (crn, ac_state_get_string (p->state, "instance", "hash"), error))
		return FALSE;
	ac_state_mark_done (p->state, "notify");
	return save (p, error);
}

static AcSevRoots *
trusted_roots (AcPipeline *p, GError **error)
{
	g_autoptr(AcSevRoots) roots = ac_sev_roots_new_builtin ();
	for (guint i = 0; p->config->trusted_roots != NULL && p->config->trusted_roots[i] != NULL; i++) {
		const gchar *path = p->config->trusted_roots[i];
		g_autoptr(AcAmdCert) ark = ac_amd_cert_parse_file (path, error);
		g_autofree gchar *ask_path = NULL;
		g_autoptr(AcAmdCert) ask = NULL;
		if (ark == NULL) {
			g_prefix_error (error, "trusted root %s: ", path);
			return NULL;
		}
		/* an ASK beside it, named like the ARK with 'ask' for 'ark', is optional */
		ask_path = g_strdup (path);
		if (g_strrstr (ask_path, "ark") != NULL) {
			memcpy (g_strrstr (ask_path, "ark"), "ask", 3);
			if (g_file_test (ask_path, G_FILE_TEST_EXISTS))
				ask = ac_amd_cert_parse_file (ask_path, NULL);
		}
		if (!ac_sev_roots_add (roots, path, ark, ask, error))
			return NULL;
	}
	return g_steal_pointer (&roots);
}

static GBytes *
firmware_bytes (AcPipeline *p, GError **error)
{
	g_autofree gchar *cache = g_build_filename (p->config->state_dir, "firmware", NULL);
	g_autofree gchar *cached = g_build_filename (cache, p->tag->firmware_sha256, NULL);
	g_autofree gchar *data = NULL;
	gsize len = 0;
	g_autofree gchar *sha = NULL;
	const gchar *from = NULL;

	if (p->tag->firmware_file != NULL) {
		if (!g_file_get_contents (p->tag->firmware_file, &data, &len, error))
			return NULL;
		from = p->tag->firmware_file;
	} else if (g_file_get_contents (cached, &data, &len, NULL)) {
		from = cached;
	} else {
		g_autoptr(AcMessageInfo) info = ac_ccn_get_message (p->ccn, p->tag->firmware_ref, error);
		g_autoptr(JsonNode) content = NULL;
		g_autofree gchar *url = NULL;
		g_autoptr(AcHttpResponse) r = NULL;
		const gchar *item_hash;
		const gchar *item_type;
		const gchar *body;
		if (info == NULL || info->message == NULL) {
			if (info != NULL)
				g_set_error (error, AC_ERROR, AC_ERROR_REMOTE, "the CCN did not return the firmware STORE %s",
					     p->tag->firmware_ref);
			g_prefix_error (error, "<aleph:firmware ref='%s'>: ", p->tag->firmware_ref);
			return NULL;
		}
		content = ac_aleph_message_get_content (info->message, error);
		if (content == NULL || !JSON_NODE_HOLDS_OBJECT (content)) {
			g_prefix_error (error, "firmware STORE %s: ", p->tag->firmware_ref);
			return NULL;
		}
		item_hash = json_object_get_string_member_with_default (json_node_get_object (content), "item_hash", NULL);
		item_type = json_object_get_string_member_with_default (json_node_get_object (content), "item_type", "storage");
		if (item_hash == NULL) {
			g_set_error (error, AC_ERROR, AC_ERROR_REMOTE, "firmware STORE %s has no item_hash", p->tag->firmware_ref);
			return NULL;
		}
		if (g_strcmp0 (item_type, "ipfs") == 0) {
			/* the CRN fetches IPFS items from a gateway; a loopback devnet is its own */
			g_autoptr(GUri) u = g_uri_parse (p->tag->publish->api, G_URI_FLAGS_NONE, NULL);
			gboolean loopback = u != NULL && g_strcmp0 (g_uri_get_scheme (u), "http") == 0;
			url = g_strdup_printf ("%s/ipfs/%s", loopback ? p->tag->publish->api : "https://ipfs.aleph.im",
					       item_hash);
		} else {
			url = g_strdup_printf ("%s/api/v0/storage/raw/%s", p->tag->publish->api, item_hash);
		}
		r = ac_http_request (p->http, "GET", url, NULL, NULL, NULL, AC_HTTP_IDEMPOTENT, error);
		if (r == NULL)
			return NULL;
		body = ac_http_response_get_data (r, &len);
		data = g_memdup2 (body, len);
		from = url;
	}
	sha = g_compute_checksum_for_data (G_CHECKSUM_SHA256, (const guchar *)data, len);
	if (g_strcmp0 (sha, p->tag->firmware_sha256) != 0) {
		g_set_error (error, AC_ERROR, AC_ERROR_MISMATCH,
			     "the firmware from %s has SHA-256 %s, not the pinned %s "
			     "(<aleph:firmware sha256=…>); refusing to attest against it",
			     from, sha, p->tag->firmware_sha256);
		return NULL;
	}
	if (from != cached && g_mkdir_with_parents (cache, 0700) == 0)
		(void)g_file_set_contents (cached, data, (gssize)len, NULL);
	return g_bytes_new_take (g_steal_pointer (&data), len);
}

static gboolean
read_session_key (AcPipeline *p, const gchar *what, guint8 out[16], GError **error)
{
	g_autofree gchar *file = g_strdup_printf ("%s_%s.bin", SESSION_NAME, what);
	g_autofree gchar *path = ac_state_get_path (p->state, file);
	return ac_sev_key_file_read (path, out, 16, what, error);
}

/* Whether @m is the measurement recorded as @b64. */
static gboolean
measurement_is (const AcCrnMeasurement *m, const gchar *b64)
{
	g_autofree gchar *mine = g_base64_encode (m->launch_measure, sizeof m->launch_measure);
	return b64 != NULL && g_strcmp0 (mine, b64) == 0;
}

static gboolean
measurement_seen (AcPipeline *p, const AcCrnMeasurement *m)
{
	JsonObject *o = ac_state_get_step (p->state, "attest");
	JsonArray *seen = o != NULL && json_object_has_member (o, "answered") ? json_object_get_array_member (o, "answered") : NULL;
	for (guint i = 0; seen != NULL && i < json_array_get_length (seen); i++) {
		if (measurement_is (m, json_array_get_string_element (seen, i)))
			return TRUE;
	}
	return FALSE;
}

/* Whether the CRN lists the VM's QEMU as running (paused or not: ask the measurement). */
static gboolean
crn_vm_running (AcCrnClient *crn, const gchar *vm)
{
	g_autoptr(GPtrArray) list = ac_crn_list_executions (crn, NULL);
	for (guint i = 0; list != NULL && i < list->len; i++) {
		AcCrnExecution *e = g_ptr_array_index (list, i);
		if (g_strcmp0 (e->vm_hash, vm) == 0)
			return e->running && !e->awaiting_confidential_init;
	}
	return FALSE;
}

/*
 * The IPv6 the CRN reports for the running VM, into the status and the state (for `virt-aleph
 * list`, `status` and their ssh hint). Returns TRUE when it changed what was recorded; a CRN
 * that does not answer, or has no address yet, changes nothing.
 */
static gboolean
record_ipv6 (AcPipeline *p, AcCrnClient *crn)
{
	const gchar *vm = ac_state_get_string (p->state, "instance", "hash");
	g_autoptr(GError) local_error = NULL;
	g_autoptr(GPtrArray) list = ac_crn_list_executions (crn, &local_error);

	if (list == NULL) {
		g_info ("%s: the CRN's execution list: %s", p->name, local_error->message);
		return FALSE;
	}
	for (guint i = 0; i < list->len; i++) {
		AcCrnExecution *e = g_ptr_array_index (list, i);
		if (g_strcmp0 (e->vm_hash, vm) != 0 || e->ipv6 == NULL || e->ipv6[0] == '\0' ||
		    g_strcmp0 (e->ipv6, p->status->ipv6) == 0)
			continue;
		g_free (p->status->ipv6);
		p->status->ipv6 = g_strdup (e->ipv6);
		ac_state_set_string (p->state, "attest", "ipv6", e->ipv6);
		ac_state_log (p->state, "running: the CRN gives the VM the IPv6 %s", e->ipv6);
		if (!save (p, &local_error))
			g_warning ("%s: %s", p->name, local_error->message);
		return TRUE;
	}
	return FALSE;
}

/* Verifies the platform and the launch, then injects the passphrase. */
static gboolean
attest (AcPipeline *p, AcCrnClient *crn, gboolean fresh_session, GError **error)
{
	const gchar *vm = ac_state_get_string (p->state, "instance", "hash");
	g_autoptr(GBytes) certs = NULL;
	g_autoptr(AcSevChain) chain = NULL;
	g_autoptr(AcSevRoots) roots = NULL;
	g_autoptr(AcSevChainVerdict) verdict = NULL;
	g_autoptr(AcCrnMeasurement) m = NULL;
	g_autoptr(GBytes) firmware = NULL;
	g_autoptr(GBytes) table = NULL;
	g_autoptr(GBytes) payload = NULL;
	AcSevLaunchInputs inputs = { 0 };
	guint8 ld[32], tik[16], tek[16], header[AC_SEV_SECRET_HEADER_SIZE];
	g_autofree gchar *header_b64 = NULL, *payload_b64 = NULL, *measurement_b64 = NULL;
	g_autoptr(GDateTime) now = NULL;
	guint8 *passphrase = NULL;
	gsize passphrase_len = 0;
	virConnectPtr sconn;
	gboolean ok;

	report (p, "attesting", "attest/chain", 75);
	certs = ac_crn_get_certificates (crn, error);
	if (certs == NULL)
		return FALSE;
	chain = ac_sev_chain_parse (g_bytes_get_data (certs, NULL), g_bytes_get_size (certs), error);
	if (chain == NULL) {
		g_prefix_error (error, "the CRN's /about/certificates: ");
		return FALSE;
	}
	roots = trusted_roots (p, error);
	if (roots == NULL)
		return FALSE;
	if (!ac_sev_chain_verify (chain, roots, NULL, &verdict, error)) {
		g_prefix_error (error, "the CRN's platform certificate chain: ");
		return FALSE;
	}
	g_free (p->status->attest_generation);
	p->status->attest_generation = g_strdup (verdict->generation);
	/* the firmware first: nothing is sent to the CRN if we cannot check its measurement */
	firmware = firmware_bytes (p, error);
	if (firmware == NULL)
		return FALSE;

	if (fresh_session) {
		g_autoptr(AcSevSession) session = NULL;
		report (p, "attesting", "attest/session", 78);
		session = ac_sev_session_new (ac_sev_chain_get_pdh (chain), p->tag->policy, error);
		if (session == NULL)
			return FALSE;
		if (!ac_sev_session_write_files (session, ac_state_get_dir (p->state), SESSION_NAME, error))
			return FALSE;
		ac_state_set_bool (p->state, "attest", "session", TRUE);
		ac_state_set_bool (p->state, "attest", "initialized", FALSE);
		ac_state_set_bool (p->state, "attest", "injecting", FALSE);
		if (!save (p, error))
			return FALSE;
	}
	if (!ac_state_get_bool (p->state, "attest", "initialized")) {
		/* the session saved before: if a killed run had sent it already, the CRN says the VM
		 * is running (400), and the launch with this very session goes on */
		g_autofree gchar *godh_path = ac_state_get_path (p->state, SESSION_NAME "_godh.b64");
		g_autofree gchar *blob_path = ac_state_get_path (p->state, SESSION_NAME "_session.b64");
		g_autofree gchar *godh = NULL, *blob = NULL;
		gsize godh_len = 0, blob_len = 0;
		g_autoptr(GBytes) godh_b = NULL, blob_b = NULL;
		g_autoptr(GError) init_error = NULL;
		if (!g_file_get_contents (godh_path, &godh, &godh_len, error) ||
		    !g_file_get_contents (blob_path, &blob, &blob_len, error))
			return FALSE;
		godh_b = g_bytes_new_take (g_steal_pointer (&godh), godh_len);
		blob_b = g_bytes_new_take (g_steal_pointer (&blob), blob_len);
		g_autoptr(AcCrnMeasurement) already = NULL;
		report (p, "attesting", "attest/initialize", 80);
		/* only the owner can initialize: a launch waiting with a measurement is ours */
		already = ac_crn_confidential_measurement (crn, vm, 0, NULL);
		if (already == NULL && !ac_crn_confidential_initialize (crn, vm, blob_b, godh_b, &init_error)) {
			if (strstr (init_error->message, "vm_running") == NULL &&
			    strstr (init_error->message, "already running") == NULL) {
				g_propagate_error (error, g_steal_pointer (&init_error));
				return FALSE;
			}
			g_debug ("initialize: the CRN already runs the launch of our saved session");
		}
		ac_state_set_bool (p->state, "attest", "initialized", TRUE);
		if (!save (p, error))
			return FALSE;
	}

	report (p, "attesting", "attest/measurement", 85);
	if (ac_state_get_bool (p->state, "attest", "injecting")) {
		/* a killed run may have verified the launch and sent the passphrase: then the VM
		 * runs and no launch waits for a secret any more */
		m = ac_crn_confidential_measurement (crn, vm, 0, NULL);
		if ((m == NULL && crn_vm_running (crn, vm)) ||
		    (m != NULL && g_strcmp0 (m->state, "launch-secret") != 0 &&
		     measurement_is (m, ac_state_get_string (p->state, "attest", "measurement")))) {
			ac_state_log (p->state, "attest: the VM already runs with the verified launch");
			g_free (p->status->attest_verdict);
			p->status->attest_verdict = g_strdup ("ok");
			ac_state_mark_done (p->state, "attest");
			return save (p, error);
		}
	}
	if (m == NULL)
		m = ac_crn_confidential_measurement (crn, vm, p->config->timeout_s * 1000, error);
	if (m == NULL)
		return FALSE;
	/* a measurement carries the launch's nonce: one already answered with a secret is a
	 * replay (after a reboot the same session's TIK still verifies it) */
	if (measurement_seen (p, m)) {
		g_set_error (error, AC_ERROR, AC_ERROR_MISMATCH,
			     "the CRN presents a launch measurement that was already answered (its "
			     "nonce is replayed); refusing to send the passphrase again for it");
		return FALSE;
	}
	if (!ac_sev_launch_check_platform (p->tag->policy, m->policy, m->api_major, m->api_minor,
					   p->config->min_api_major, p->config->min_api_minor, error))
		return FALSE;
	inputs.policy = p->tag->policy;
	inputs.firmware = firmware;
	if (!ac_sev_launch_digest (&inputs, ld, error))
		return FALSE;
	if (!read_session_key (p, "tik", tik, error))
		return FALSE;
	measurement_b64 = g_base64_encode (m->launch_measure, sizeof m->launch_measure);
	now = g_date_time_new_now_utc ();
	g_free (p->status->attest_time);
	p->status->attest_time = g_date_time_format (now, "%Y-%m-%dT%H:%M:%SZ");
	g_free (p->status->attest_measurement);
	p->status->attest_measurement = g_strdup (measurement_b64);
	if (!ac_sev_measurement_verify (m->launch_measure, sizeof m->launch_measure, tik, m->api_major,
					m->api_minor, m->build_id, m->policy, ld, error)) {
		OPENSSL_cleanse (tik, sizeof tik);
		g_free (p->status->attest_verdict);
		p->status->attest_verdict = g_strdup ("mismatch");
		return FALSE;
	}

	/* verified: now, and only now, the passphrase */
	report (p, "attesting", "attest/inject", 92);
	sconn = ac_secret_store_connect (p->conn, p->config->secrets_uri, error);
	if (sconn == NULL || !read_session_key (p, "tek", tek, error)) {
		OPENSSL_cleanse (tik, sizeof tik);
		if (sconn != NULL)
			virConnectClose (sconn);
		return FALSE;
	}
	passphrase = ac_secret_store_get (sconn, p->config->state_dir, ac_state_get_string (p->state, "build", "secret"), &passphrase_len, error);
	virConnectClose (sconn);
	ok = passphrase != NULL;
	if (ok) {
		table = ac_sev_secret_table_build_aleph_passphrase ((const gchar *)passphrase, error);
		OPENSSL_clear_free (passphrase, passphrase_len);
		ok = table != NULL &&
		     ac_sev_secret_packet_build (tek, tik, m->launch_measure, m->api_major, m->api_minor, NULL,
						 table, header, &payload, error);
	}
	OPENSSL_cleanse (tik, sizeof tik);
	OPENSSL_cleanse (tek, sizeof tek);
	if (!ok)
		return FALSE;
	header_b64 = g_base64_encode (header, sizeof header);
	payload_b64 = g_base64_encode (g_bytes_get_data (payload, NULL), g_bytes_get_size (payload));
	ac_state_set_bool (p->state, "attest", "injecting", TRUE);
	ac_state_set_string (p->state, "attest", "measurement", measurement_b64);
	ac_state_set_string (p->state, "attest", "time", p->status->attest_time);
	ac_state_set_string (p->state, "attest", "generation", verdict->generation);
	if (!save (p, error))
		return FALSE;
	if (!ac_crn_confidential_inject_secret (crn, vm, header_b64, payload_b64, error))
		return FALSE;
	{
		/* remember every answered measurement: its nonce must never come back */
		JsonObject *o = ac_state_ensure_step (p->state, "attest");
		JsonArray *seen = json_object_has_member (o, "answered") ? json_object_get_array_member (o, "answered") : NULL;
		if (seen == NULL) {
			seen = json_array_new ();
			json_object_set_array_member (o, "answered", seen);
		}
		json_array_add_string_element (seen, measurement_b64);
	}
	g_free (p->status->attest_verdict);
	p->status->attest_verdict = g_strdup ("ok");
	ac_state_set_string (p->state, "attest", "measurement", measurement_b64);
	ac_state_set_string (p->state, "attest", "time", p->status->attest_time);
	ac_state_set_string (p->state, "attest", "generation", verdict->generation);
	ac_state_mark_done (p->state, "attest");
	return save (p, error);
}

static gboolean
step_attest (AcPipeline *p, GError **error)
{
	g_autoptr(AcCrnClient) crn = NULL;
	if (ac_state_step_done (p->state, "attest"))
		return TRUE;
	if (!ensure_clients (p, error))
		return FALSE;
	crn = crn_client (p, error);
	if (crn == NULL)
		return FALSE;
	/* a session saved by an earlier (killed) run is reused for the same launch */
	if (!attest (p, crn, !ac_state_get_bool (p->state, "attest", "session"), error))
		return FALSE;
	record_ipv6 (p, crn);
	return TRUE;
}

/* ---- driver ----------------------------------------------------------------------------- */

static void
restore_status (AcPipeline *p)
{
	p->status->image_path = g_strdup (ac_state_get_string (p->state, "build", "image"));
	p->status->image_sha256 = g_strdup (ac_state_get_string (p->state, "build", "sha256"));
	p->status->image_luks_uuid = g_strdup (ac_state_get_string (p->state, "build", "luksUuid"));
	p->status->image_cid = g_strdup (ac_state_get_string (p->state, "store", "cid"));
	p->status->store_hash = g_strdup (ac_state_get_string (p->state, "store", "hash"));
	p->status->instance_hash = g_strdup (ac_state_get_string (p->state, "instance", "hash"));
	p->status->crn = g_strdup (ac_state_get_string (p->state, "crn", "hash"));
	p->status->crn_url = g_strdup (ac_state_get_string (p->state, "crn", "url"));
	p->status->ipv6 = g_strdup (ac_state_get_string (p->state, "attest", "ipv6"));
	p->status->attest_time = g_strdup (ac_state_get_string (p->state, "attest", "time"));
	p->status->attest_measurement = g_strdup (ac_state_get_string (p->state, "attest", "measurement"));
	p->status->attest_generation = g_strdup (ac_state_get_string (p->state, "attest", "generation"));
	if (ac_state_step_done (p->state, "attest"))
		p->status->attest_verdict = g_strdup ("ok");
}

static gboolean
ac_pipeline_init (AcPipeline *p,
		  const AcPipelineConfig *config,
		  virConnectPtr conn,
		  virDomainPtr dom,
		  AcPipelineStatusFunc status_func,
		  gpointer user_data,
		  GError **error)
{
	char uuid[VIR_UUID_STRING_BUFLEN];
	const gchar *recorded_tag;
	g_autofree gchar *canonical = NULL;

	p->config = config;
	p->conn = conn;
	p->dom = dom;
	p->status_func = status_func;
	p->user_data = user_data;
	p->name = g_strdup (virDomainGetName (dom));
	if (virDomainGetUUIDString (dom, uuid) < 0) {
		ac_virt_set_error (error, "domain '%s'", p->name);
		return FALSE;
	}
	p->uuid = g_strdup (uuid);
	p->xml = ac_virt_get_xml (dom, error);
	if (p->xml == NULL)
		return FALSE;
	p->tag = ac_tag_parse (p->xml, -1, &p->info, error);
	if (p->tag == NULL)
		return FALSE;
	if (p->tag->publish == NULL) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			     "domain '%s' has no <aleph:publish>: it is not deployed to Aleph", p->name);
		return FALSE;
	}
	p->state = ac_state_load (config->state_dir, p->uuid, error);
	if (p->state == NULL)
		return FALSE;
	p->status = ac_status_new ();
	restore_status (p);

	/* the tag the published instance was made from: a change after publishing is not
	 * silently applied to a running instance */
	canonical = ac_tag_format (p->tag);
	recorded_tag = ac_state_get_string (p->state, "tag", "canonical");
	if (recorded_tag == NULL) {
		ac_state_set_string (p->state, "tag", "canonical", canonical);
		if (!save (p, error))
			return FALSE;
	} else if (g_strcmp0 (recorded_tag, canonical) != 0 && ac_state_get_bool (p->state, "instance", "posted")) {
		g_set_error (error, AC_ERROR, AC_ERROR_REFUSED,
			     "the tag of domain '%s' changed after its INSTANCE %s was published; end "
			     "that instance first ('virt-aleph erase %s'), then the new tag is deployed",
			     p->name, ac_state_get_string (p->state, "instance", "hash"), p->name);
		return FALSE;
	} else if (g_strcmp0 (recorded_tag, canonical) != 0) {
		ac_state_set_string (p->state, "tag", "canonical", canonical);
		ac_state_reset_step (p->state, "crn");
		if (!save (p, error))
			return FALSE;
	}
	return TRUE;
}

/*
 * The bytes of the build and of the upload, into the status as they go: the percentage within
 * the step's range, and done/total, written at most once a second (each write is a change of
 * the domain's metadata).
 */
static void
progress_changed_cb (AcProgress *progress, gdouble fraction, const gchar *path, gpointer user_data)
{
	AcPipeline *p = user_data;
	AcProgress *step = ac_progress_peek_child (progress);
	guint64 done = 0, total = 0;
	gint64 now = g_get_monotonic_time ();
	gdouble local;

	if (p->status == NULL || p->range_hi <= p->range_lo || step == NULL ||
	    !ac_progress_get_units (progress, &done, &total))
		return;
	if (done < total && now - p->progress_written < G_USEC_PER_SEC)
		return;
	local = ac_progress_get_fraction (step);
	p->status->progress = p->range_lo + (guint)(local * (p->range_hi - p->range_lo));
	p->status->done = done;
	p->status->total = total;
	p->progress_written = now;
	if (p->status_func != NULL)
		p->status_func (p->status, p->user_data);
}

/**
 * ac_pipeline_run:
 *
 * Runs (or resumes) the Aleph flow of @dom to the running state. On failure the status
 * carries the error and the step; calling it again resumes.
 */
gboolean
ac_pipeline_run (const AcPipelineConfig *config,
		 virConnectPtr conn,
		 virDomainPtr dom,
		 AcPipelineStatusFunc status_func,
		 gpointer user_data,
		 AcProgress *progress,
		 GCancellable *cancellable,
		 GError **error)
{
	AcPipeline p = { 0 };
	g_autoptr(GError) local_error = NULL;
	gboolean ok;
	const gchar *step = "validate";
	gulong handler;

	p.cancellable = cancellable;
	ac_progress_add_step (progress, "build", 50);
	ac_progress_add_step (progress, "publish", 35);
	ac_progress_add_step (progress, "attest", 15);
	ok = ac_pipeline_init (&p, config, conn, dom, status_func, user_data, &local_error);
	handler = g_signal_connect (progress, "changed", G_CALLBACK (progress_changed_cb), &p);
	if (ok)
		ok = step_preflight (&p, &local_error);
	if (ok) {
		step = "build";
		ok = step_build (&p, ac_progress_get_child (progress), &local_error);
	}
	if (ok) {
		ac_progress_step_done (progress);
		step = "publish";
		ok = check_cancelled (&p, &local_error) &&
		     step_store (&p, ac_progress_get_child (progress), &local_error) &&
		     step_crn (&p, &local_error) &&
		     step_instance (&p, NULL, &local_error) &&
		     step_ports (&p, &local_error) &&
		     step_notify (&p, &local_error);
	}
	if (ok) {
		ac_progress_step_done (progress);
		step = "attest";
		ok = check_cancelled (&p, &local_error) && step_attest (&p, &local_error);
	}
	if (ok) {
		ac_progress_step_done (progress);
		report (&p, "running", "running", 100);
	} else if (p.status != NULL) {
		report_failure (&p, g_error_matches (local_error, AC_ERROR, AC_ERROR_CANCELLED) ? "interrupted" : "failed",
				step, local_error);
	}
	g_signal_handler_disconnect (progress, handler);
	ac_pipeline_clear (&p);
	if (!ok) {
		g_propagate_error (error, g_steal_pointer (&local_error));
		return FALSE;
	}
	return TRUE;
}

/**
 * ac_pipeline_check_running:
 *
 * For a running instance: when the CRN rebooted the VM, QEMU waits paused with a new
 * measurement (new mnonce) for a new secret. Verify and inject again, with the same session.
 */
static gboolean
check_running (AcPipeline *p, gboolean *reattested, GError **error)
{
	g_autoptr(AcCrnClient) crn = NULL;
	g_autoptr(AcCrnMeasurement) m = NULL;

	if (!ac_state_step_done (p->state, "attest"))
		return TRUE;
	if (!ensure_clients (p, error) || (crn = crn_client (p, error)) == NULL)
		return FALSE;
	m = ac_crn_confidential_measurement (crn, ac_state_get_string (p->state, "instance", "hash"), 1, NULL);
	if (m == NULL || g_strcmp0 (m->state, "launch-secret") != 0) {
		/* running (or unreachable for now): nothing waits for a secret; the CRN may have
		 * given the VM its address since */
		if (record_ipv6 (p, crn))
			report (p, "running", "running", 100);
		return TRUE;
	}
	g_message ("domain '%s': the CRN restarted the VM (a launch waits for its secret): attesting again", p->name);
	if (!attest (p, crn, FALSE, error)) {
		report_failure (p, "failed", "attest", error != NULL ? *error : NULL);
		return FALSE;
	}
	*reattested = TRUE;
	report (p, "running", "running", 100);
	return TRUE;
}

/**
 * ac_pipeline_check_running:
 *
 * For a running instance: when the CRN rebooted the VM, QEMU waits paused with a new
 * measurement (new mnonce) for a new secret. Verify and inject again, with the same session.
 */
gboolean
ac_pipeline_check_running (const AcPipelineConfig *config,
			   virConnectPtr conn,
			   virDomainPtr dom,
			   AcPipelineStatusFunc status_func,
			   gpointer user_data,
			   gboolean *reattested,
			   GError **error)
{
	AcPipeline p = { 0 };
	gboolean ok;

	*reattested = FALSE;
	ok = ac_pipeline_init (&p, config, conn, dom, status_func, user_data, error) &&
	     check_running (&p, reattested, error);
	ac_pipeline_clear (&p);
	return ok;
}

/* The session keys live until the instance ends (erase, forget), then go. */
static void
forget_session (AcPipeline *p)
{
	const gchar *files[] = { SESSION_NAME "_tek.bin", SESSION_NAME "_tik.bin", SESSION_NAME "_godh.b64",
				 SESSION_NAME "_session.b64" };
	for (guint i = 0; i < G_N_ELEMENTS (files); i++) {
		g_autofree gchar *path = ac_state_get_path (p->state, files[i]);
		(void)g_unlink (path);
	}
}

/**
 * ac_pipeline_operate:
 * @operation: stop, reboot or erase
 *
 * A signed operation on the instance's CRN. After erase the VM is gone from the CRN: the
 * next run notifies it again and attests a new launch.
 */
gboolean
ac_pipeline_operate (const AcPipelineConfig *config,
		     virConnectPtr conn,
		     virDomainPtr dom,
		     const gchar *operation,
		     AcPipelineStatusFunc status_func,
		     gpointer user_data,
		     GError **error)
{
	AcPipeline p = { 0 };
	g_autoptr(AcCrnClient) crn = NULL;
	gboolean ok = ac_pipeline_init (&p, config, conn, dom, status_func, user_data, error);

	if (ok && !ac_state_step_done (p.state, "notify")) {
		g_set_error (error, AC_ERROR, AC_ERROR_NOT_FOUND,
			     "domain '%s' has no instance on a CRN yet", p.name);
		ok = FALSE;
	}
	ok = ok && ensure_clients (&p, error) && (crn = crn_client (&p, error)) != NULL &&
	     ac_crn_operate (crn, ac_state_get_string (p.state, "instance", "hash"), operation, error);
	if (ok) {
		ac_state_log (p.state, "%s: done on CRN %s", operation, ac_state_get_string (p.state, "crn", "hash"));
		if (g_strcmp0 (operation, "erase") == 0) {
			forget_session (&p);
			ac_state_reset_step (p.state, "notify");
			ac_state_reset_step (p.state, "attest");
			/* the VM and its address are gone with it */
			g_clear_pointer (&p.status->ipv6, g_free);
			ok = save (&p, error);
			report (&p, "erased", "erase", 0);
		} else if (g_strcmp0 (operation, "stop") == 0) {
			report (&p, "stopped", "stop", 0);
		} else {
			/* rebooted: the VM waits for a new attestation; the monitor does it */
			report (&p, "running", "reboot", 100);
		}
	}
	ac_pipeline_clear (&p);
	return ok;
}

/**
 * ac_pipeline_forget:
 *
 * Posts a FORGET of the INSTANCE (and, with @image, of the image's STORE), then clears them
 * from the state: the next run publishes anew.
 */
gboolean
ac_pipeline_forget (const AcPipelineConfig *config,
		    virConnectPtr conn,
		    virDomainPtr dom,
		    gboolean image,
		    const gchar *reason,
		    AcPipelineStatusFunc status_func,
		    gpointer user_data,
		    GError **error)
{
	AcPipeline p = { 0 };
	g_autoptr(JsonBuilder) b = json_builder_new ();
	g_autoptr(JsonNode) content = NULL;
	g_autoptr(AcAlephMessage) msg = NULL;
	AcPostResult result = { 0 };
	const gchar *instance;
	const gchar *store;
	gboolean ok = ac_pipeline_init (&p, config, conn, dom, status_func, user_data, error);

	instance = ok ? ac_state_get_string (p.state, "instance", "hash") : NULL;
	store = ok ? ac_state_get_string (p.state, "store", "hash") : NULL;
	if (ok && instance == NULL && (!image || store == NULL)) {
		g_set_error (error, AC_ERROR, AC_ERROR_NOT_FOUND, "domain '%s' has nothing published to forget", p.name);
		ok = FALSE;
	}
	if (ok)
		ok = ensure_clients (&p, error);
	if (ok) {
		json_builder_begin_object (b);
		json_builder_set_member_name (b, "address");
		json_builder_add_string_value (b, ac_eth_account_get_address (p.account));
		json_builder_set_member_name (b, "time");
		json_builder_add_double_value (b, (gdouble)g_get_real_time () / G_USEC_PER_SEC);
		json_builder_set_member_name (b, "hashes");
		json_builder_begin_array (b);
		if (instance != NULL)
			json_builder_add_string_value (b, instance);
		if (image && store != NULL)
			json_builder_add_string_value (b, store);
		json_builder_end_array (b);
		json_builder_set_member_name (b, "reason");
		json_builder_add_string_value (b, reason != NULL ? reason : "forgotten with virt-aleph");
		json_builder_end_object (b);
		content = json_builder_get_root (b);
		msg = ac_aleph_message_build ("FORGET", content, ac_eth_account_get_address (p.account), channel (&p),
					      (gdouble)g_get_real_time () / G_USEC_PER_SEC, error);
		ok = msg != NULL && ac_aleph_message_sign (msg, p.account, error) &&
		     ac_ccn_post_message (p.ccn, msg, TRUE, &result, error);
		ac_post_result_clear (&result);
	}
	if (ok) {
		ac_state_log (p.state, "forget: FORGET %s posted", msg->item_hash);
		forget_session (&p);
		ac_state_reset_step (p.state, "instance");
		ac_state_reset_step (p.state, "notify");
		ac_state_reset_step (p.state, "attest");
		ac_state_reset_step (p.state, "crn");
		if (image)
			ac_state_reset_step (p.state, "store");
		ok = save (&p, error);
		g_clear_pointer (&p.status->instance_hash, g_free);
		g_clear_pointer (&p.status->crn, g_free);
		g_clear_pointer (&p.status->crn_url, g_free);
		g_clear_pointer (&p.status->ipv6, g_free);
		if (image)
			g_clear_pointer (&p.status->store_hash, g_free);
		report (&p, "forgotten", "forget", 0);
	}
	ac_pipeline_clear (&p);
	return ok;
}

/**
 * ac_pipeline_log_path:
 *
 * The event log of a domain (`virt-aleph logs`).
 */
gchar *
ac_pipeline_log_path (const AcPipelineConfig *config, const gchar *uuid)
{
	return g_build_filename (config->state_dir, "domains", uuid, "log", NULL);
}
