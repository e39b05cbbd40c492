/*
 * The Aleph flow's pre-flight: what can be checked in seconds before the long work.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "ac-pipeline-private.h"

#include "ac-aleph-payment.h"
#include "ac-error.h"
#include "ac-time.h"

/* The credits the CCN estimates for one hour of @content ("required_credits", else "cost"). */
static gboolean
estimate_credits (AcPipeline *p,
                  const gchar *type,
                  JsonNode *content,
                  gdouble *cost,
                  GError **error)
{
	g_autoptr (AcAlephMessage) msg = NULL;
	g_autofree gchar *answer = NULL;
	g_autoptr (JsonNode) node = NULL;
	JsonObject *o;
	JsonNode *n;

	msg = ac_aleph_message_build (type, content, ac_eth_account_get_address (p->account),
	                              ac_pipeline_channel (p),
	                              ac_time_now_unix (), error);
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
	else if (n != NULL && JSON_NODE_HOLDS_VALUE (n)
	         && (json_node_get_value_type (n) == G_TYPE_INT64
	             || json_node_get_value_type (n) == G_TYPE_DOUBLE))
		*cost = json_node_get_value_type (n) == G_TYPE_INT64
		            ? (gdouble)json_node_get_int (n)
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
gboolean
ac_pipeline_preflight_step (AcPipeline *p, GError **error)
{
	const AcTagPublish *pub = p->tag->publish;
	gdouble now = ac_time_now_unix ();
	g_autoptr (JsonNode) content = NULL;
	g_autoptr (GError) local_error = NULL;
	gdouble cost = 0, image_cost = 0, credits = 0;

	if (ac_state_step_done (p->state, "instance"))
		return TRUE;
	/* the SNP roots the attestation will trust, before anything is built */
	if (p->tag->tee == AC_TEE_SNP && !ac_pipeline_snp_check_config (p, error))
		return FALSE;
	if (!ac_state_step_done (p->state, "store")
	    && !ac_payment_check (NULL, "STORE", ac_payment_to_string (pub->store_payment), now,
	                          error)) {
		g_prefix_error (error, "<aleph:publish storePayment='%s'>: ",
		                ac_payment_to_string (pub->store_payment));
		return FALSE;
	}
	if (!ac_payment_check (NULL, "INSTANCE", ac_payment_to_string (pub->payment), now, error)) {
		g_prefix_error (
		    error, "<aleph:publish payment='%s'>: ", ac_payment_to_string (pub->payment));
		return FALSE;
	}
	if (!ac_pipeline_ensure_clients (p, error))
		return FALSE;
	/* the API answers, and speaks what this client needs */
	{
		g_autofree gchar *version = NULL;
		g_autoptr (GError) version_error = NULL;
		if (!ac_ccn_check_version (p->ccn, p->config->min_ccn_version, &version,
		                           &version_error)) {
			if (g_error_matches (version_error, AC_ERROR, AC_ERROR_REFUSED))
				g_prefix_error (
				    &version_error,
				    "<aleph:publish api='%s'> ([pipeline] min-ccn-version=%s): ",
				    pub->api, p->config->min_ccn_version);
			else
				g_prefix_error (&version_error,
				                "<aleph:publish api='%s'>: ", pub->api);
			g_propagate_error (error, g_steal_pointer (&version_error));
			return FALSE;
		}
		ac_state_log (p->state, "pre-flight: the CCN at %s runs version %s", pub->api,
		              version);
	}
	/* an existing image: its passphrase opens its LUKS header, or nothing is posted */
	if (pub->rootfs != NULL && !ac_pipeline_rootfs_step (p, error))
		return FALSE;
	/* an SNP runtime fetched, checked and measured before the build: a bad one costs none */
	if (!ac_pipeline_publish_step_crn (p, error) || !ac_pipeline_snp_runtime_step (p, error))
		return FALSE;
	if (pub->payment != AC_PAYMENT_CREDIT)
		return TRUE;
	content = ac_pipeline_instance_content (p, error);
	if (content == NULL)
		return FALSE;
	{
		/* before the build and the upload: a placeholder reference prices the same, and
		 * without rootfsSize the image's size is not known yet (the smallest is priced) */
		JsonObject *rootfs
		    = json_object_get_object_member (json_node_get_object (content), "rootfs");
		if (ac_state_get_string (p->state, "store", "hash") == NULL)
			json_object_set_string_member (
			    json_object_get_object_member (rootfs, "parent"), "ref",
			    "0000000000000000000000000000000000000000000000000000000000000000");
		if (json_object_get_int_member_with_default (rootfs, "size_mib", 0) == 0)
			json_object_set_int_member (rootfs, "size_mib", 1);
	}
	if (!ac_state_step_done (p->state, "store") && pub->store_payment == AC_PAYMENT_CREDIT) {
		/* the image's STORE at its largest (rootfsSize) or its smallest size; a CCN that
		 * prices only files it has leaves the image out of the sum */
		g_autofree gchar *text
		    = g_strdup_printf ("{\"item_type\": \"ipfs\", \"item_hash\": "
		                       "\"QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH\","
		                       " \"size\": %" G_GUINT64_FORMAT
		                       ", \"payment\": {\"chain\": \"ETH\", \"type\": \"credit\"}}",
		                       MAX (pub->rootfs_size, (guint64)1 << 20));
		g_autoptr (JsonNode) store = json_from_string (text, NULL);
		if (!estimate_credits (p, "STORE", store, &image_cost, &local_error)) {
			g_info ("%s: the image's price is not estimated: %s", p->name,
			        local_error->message);
			g_clear_error (&local_error);
			image_cost = 0;
		}
	}
	if (!estimate_credits (p, "INSTANCE", content, &cost, &local_error)
	    || !ac_ccn_get_credit_balance (p->ccn, ac_eth_account_get_address (p->account),
	                                   &credits, &local_error)) {
		if (!g_error_matches (local_error, AC_ERROR, AC_ERROR_NOT_FOUND)) {
			g_propagate_error (error, g_steal_pointer (&local_error));
			return FALSE;
		}
		g_info ("%s: credit pre-flight skipped: %s", p->name, local_error->message);
		return TRUE;
	}
	cost += image_cost;
	if (credits < cost) {
		g_set_error (
		    error, AC_ERROR, AC_ERROR_REFUSED,
		    "account %s has %.0f credits, but the CCN estimates %.0f credits for one hour "
		    "of this instance and its image: add credits before publishing",
		    ac_eth_account_get_address (p->account), credits, cost);
		return FALSE;
	}
	return TRUE;
}
