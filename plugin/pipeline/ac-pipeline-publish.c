/*
 * The Aleph flow's publishing steps: the image's STORE, the CRN, the ports AGGREGATE and the
 * CRN's allocation notice.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "ac-json.h"
#include "ac-pipeline-private.h"

#include <string.h>

#include "ac-aleph-payment.h"
#include "ac-aleph-util.h"
#include "ac-car.h"
#include "ac-error.h"
#include "ac-time.h"

/* A STORE of @cid by our address, if the CCN has one. */
static gchar *
find_store (AcPipeline *p, const gchar *cid, GError **error)
{
	const gchar *addresses[] = { ac_eth_account_get_address (p->account), NULL };
	g_autoptr (GPtrArray) msgs = NULL;
	guint total = 0;

	msgs
	    = ac_ccn_query_messages (p->ccn, NULL, "STORE", addresses, NULL, 1, 200, &total, error);
	if (msgs == NULL)
		return NULL;
	for (guint i = 0; i < msgs->len; i++) {
		AcAlephMessage *m = g_ptr_array_index (msgs, i);
		g_autoptr (JsonNode) content = ac_aleph_message_get_content (m, NULL);
		JsonObject *o;
		if (content == NULL || !JSON_NODE_HOLDS_OBJECT (content))
			continue;
		o = json_node_get_object (content);
		if (g_strcmp0 (json_object_get_string_member_with_default (o, "item_hash", ""), cid)
		    == 0)
			return g_strdup (m->item_hash);
	}
	return NULL;
}

gboolean
ac_pipeline_publish_step_store (AcPipeline *p, AcProgress *progress, GError **error)
{
	const gchar *image = ac_state_get_string (p->state, "build", "image");
	const gchar *cid;
	g_autofree gchar *found = NULL;
	g_autoptr (AcAlephMessage) store = NULL;
	g_autofree gchar *uploaded = NULL;
	g_autoptr (GError) local_error = NULL;

	if (ac_state_step_done (p->state, "store"))
		return TRUE;
	ac_pipeline_report (p, "publishing", "publish/store", 40);
	p->range_hi = 50; /* the upload's bytes: 40 to 50 % */
	if (!ac_pipeline_ensure_clients (p, error))
		return FALSE;
	if (ac_state_get_string (p->state, "store", "cid") == NULL) {
		g_autofree gchar *c = ac_ipfs_file_cid_string (image, NULL, NULL, error);
		if (c == NULL)
			return FALSE;
		ac_state_set_string (p->state, "store", "cid", c);
		if (!ac_pipeline_save (p, error))
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
		uploaded = ac_ccn_upload_file (p->ccn, AC_CCN_UPLOAD_CAR, image, p->account,
		                               ac_pipeline_channel (p), &store, progress, error);
		if (uploaded == NULL)
			return FALSE;
		if (g_strcmp0 (uploaded, cid) != 0) {
			g_set_error (error, AC_ERROR, AC_ERROR_MISMATCH,
			             "the CCN stored the image as %s, but its CID is %s", uploaded,
			             cid);
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
	return ac_pipeline_save (p, error);
}

/* ---- CRN -------------------------------------------------------------------------------- */

static gchar *
crn_list_url (AcPipeline *p)
{
	g_autoptr (GUri) u = NULL;
	if (p->config->crn_list_url != NULL)
		return g_strdup (p->config->crn_list_url);
	u = g_uri_parse (p->tag->publish->api, G_URI_FLAGS_NONE, NULL);
	if (u != NULL && g_strcmp0 (g_uri_get_scheme (u), "http") == 0)
		return g_strdup_printf ("%s/crns.json",
		                        p->tag->publish->api); /* a loopback devnet */
	return g_strdup (AC_ALEPH_DEFAULT_CRN_LIST);
}

static gboolean
step_crn_for (AcPipeline *p, const gchar *wanted, GError **error)
{
	g_autofree gchar *url = NULL;
	g_autoptr (GPtrArray) crns = NULL;
	AcCrnInfo *chosen = NULL;
	gboolean snp;

	if (!ac_pipeline_ensure_clients (p, error))
		return FALSE;
	url = crn_list_url (p);
	snp = p->tag->tee == AC_TEE_SNP;
	crns = ac_crn_list_fetch (p->http, url, AC_CRN_FILTER_CONFIDENTIAL, error);
	if (crns == NULL)
		return FALSE;
	for (guint i = 0; i < crns->len && chosen == NULL; i++) {
		AcCrnInfo *c = g_ptr_array_index (crns, i);
		gboolean named = g_strcmp0 (wanted, c->hash) == 0;
		if (!named && g_strcmp0 (wanted, "auto") != 0)
			continue;
		/* an SNP tag runs only on a node that advertises SEV-SNP: never on an SEV one */
		if (snp && !c->sev_snp) {
			if (named) {
				g_set_error (error, AC_ERROR, AC_ERROR_REFUSED,
				             "<aleph:publish crn='%s'>: this CRN does not advertise "
				             "SEV-SNP (no \"sev_snp\" in its CPU features in %s), and "
				             "<aleph:sev type='snp'> never runs as an SEV instance; "
				             "choose an SNP CRN or crn='auto'",
				             c->hash, url);
				return FALSE;
			}
			continue;
		}
		chosen = c;
	}
	if (chosen == NULL) {
		const gchar *what = snp ? "SEV-SNP support (\"sev_snp\" in its CPU features)"
		                        : "confidential support";
		if (g_strcmp0 (wanted, "auto") == 0)
			g_set_error (error, AC_ERROR, AC_ERROR_NOT_FOUND, "no CRN with %s in %s",
			             what, url);
		else
			g_set_error (error, AC_ERROR, AC_ERROR_NOT_FOUND,
			             "<aleph:publish crn='%s'>: no such CRN with %s in %s",
			             wanted, what, url);
		return FALSE;
	}
	ac_state_set_string (p->state, "crn", "hash", chosen->hash);
	ac_state_set_string (p->state, "crn", "url", chosen->address);
	ac_state_mark_done (p->state, "crn");
	g_free (p->status->crn);
	p->status->crn = g_strdup (chosen->hash);
	g_free (p->status->crn_url);
	p->status->crn_url = g_strdup (chosen->address);
	return ac_pipeline_save (p, error);
}

gboolean
ac_pipeline_publish_step_crn (AcPipeline *p, GError **error)
{
	if (ac_state_step_done (p->state, "crn"))
		return TRUE;
	ac_pipeline_report (p, "publishing", "publish/crn", 50);
	return step_crn_for (p, p->tag->publish->crn, error);
}

/* the CRN @node_hash (an adopted INSTANCE's), from the CRN list as the tag's would be */
gboolean
ac_pipeline_publish_record_crn (AcPipeline *p, const gchar *node_hash, GError **error)
{
	ac_state_reset_step (p->state, "crn");
	return step_crn_for (p, node_hash, error);
}

/* ---- published ports -------------------------------------------------------------------- */

/*
 * The ports of the tag, in the port-forwarding AGGREGATE Aleph's client publishes:
 * {"<vm hash>":{"ports":{"22":{"tcp":true,"udp":false}}}}. Saved before it is posted, like
 * the INSTANCE, so a resume posts the same message.
 */
gboolean
ac_pipeline_publish_step_ports (AcPipeline *p, GError **error)
{
	const AcTagPublish *pub = p->tag->publish;
	const gchar *saved;
	g_autoptr (AcAlephMessage) msg = NULL;
	AcPostResult result = { 0 };
	gboolean ok;

	if (pub->ports == NULL || pub->ports->len == 0 || ac_state_step_done (p->state, "ports"))
		return TRUE;
	ac_pipeline_report (p, "publishing", "publish/ports", 68);
	if (!ac_pipeline_ensure_clients (p, error))
		return FALSE;
	saved = ac_state_get_string (p->state, "ports", "message");
	if (saved == NULL) {
		g_autoptr (JsonBuilder) b = json_builder_new ();
		g_autoptr (JsonNode) content = NULL;
		g_autoptr (JsonGenerator) gen = json_generator_new ();
		g_autofree gchar *text = NULL;
		gdouble now = ac_time_now_unix ();
		json_builder_begin_object (b);
		ac_json_builder_add_string (b, "address", ac_eth_account_get_address (p->account));
		json_builder_set_member_name (b, "time");
		json_builder_add_double_value (b, now);
		ac_json_builder_add_string (b, "key", "port-forwarding");
		json_builder_set_member_name (b, "content");
		json_builder_begin_object (b);
		json_builder_set_member_name (b,
		                              ac_state_get_string (p->state, "instance", "hash"));
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
			ac_json_builder_add_boolean (b, "tcp", tcp);
			ac_json_builder_add_boolean (b, "udp", udp);
			json_builder_end_object (b);
		}
		json_builder_end_object (b);
		json_builder_end_object (b);
		json_builder_end_object (b);
		json_builder_end_object (b);
		content = json_builder_get_root (b);
		json_generator_set_root (gen, content);
		text = json_generator_to_data (gen, NULL);
		msg = ac_aleph_message_new_inline ("AGGREGATE", text,
		                                   ac_eth_account_get_address (p->account), "ETH",
		                                   ac_pipeline_channel (p), now);
		if (msg == NULL || !ac_aleph_message_sign (msg, p->account, error))
			return FALSE;
		g_free (text);
		text = ac_aleph_message_to_string (msg);
		ac_state_set_string (p->state, "ports", "message", text);
		if (!ac_pipeline_save (p, error))
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
	return ac_pipeline_save (p, error);
}

gboolean
ac_pipeline_publish_step_notify (AcPipeline *p, GError **error)
{
	g_autoptr (AcCrnClient) crn = NULL;
	if (ac_state_step_done (p->state, "notify"))
		return TRUE;
	ac_pipeline_report (p, "publishing", "publish/notify", 70);
	crn = ac_pipeline_crn_client (p, error);
	if (crn == NULL)
		return FALSE;
	if (!ac_crn_notify_allocation (crn, ac_state_get_string (p->state, "instance", "hash"),
	                               error))
		return FALSE;
	ac_state_mark_done (p->state, "notify");
	return ac_pipeline_save (p, error);
}
