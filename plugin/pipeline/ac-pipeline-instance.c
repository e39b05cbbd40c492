/*
 * The Aleph flow's INSTANCE: its content from the tag and the domain, signed and saved before
 * it is posted, posted again on resume only while the network can still accept it.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "ac-json.h"
#include "ac-pipeline-private.h"

#include <string.h>

#include "ac-aleph-payment.h"
#include "ac-aleph-tee.h"
#include "ac-error.h"

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

guint
ac_pipeline_instance_vcpus (AcPipeline *p)
{
	const AcTagPublish *pub = p->tag->publish;
	return pub->vcpus != 0 ? pub->vcpus : MAX (p->domain->vcpus, 1u);
}

JsonNode *
ac_pipeline_instance_content (AcPipeline *p, GError **error)
{
	const AcTagPublish *pub = p->tag->publish;
	g_autoptr (JsonBuilder) b = json_builder_new ();
	g_autofree gchar *ssh = pub->ssh_key != NULL ? g_strdup (pub->ssh_key) : default_ssh_key ();
	guint64 image_size = (guint64)ac_state_get_int (p->state, "build", "size");
	guint64 size_mib = pub->rootfs_size != 0 ? (pub->rootfs_size + (1 << 20) - 1) >> 20
	                                         : (image_size + (1 << 20) - 1) >> 20;
	guint64 memory_mib = (pub->memory != 0 ? pub->memory : p->domain->memory) >> 20;

	json_builder_begin_object (b);
	ac_json_builder_add_string (b, "address", ac_eth_account_get_address (p->account));
	json_builder_set_member_name (b, "time");
	json_builder_add_double_value (b, (gdouble)g_get_real_time () / G_USEC_PER_SEC);
	ac_json_builder_add_boolean (b, "allow_amend", FALSE);
	json_builder_set_member_name (b, "metadata");
	json_builder_begin_object (b);
	ac_json_builder_add_string (b, "name", pub->name != NULL ? pub->name : p->name);
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
	ac_json_builder_add_boolean (b, "internet", TRUE);
	ac_json_builder_add_boolean (b, "aleph_api", TRUE);
	ac_json_builder_add_string (b, "hypervisor", "qemu");
	if (p->tag->tee == AC_TEE_SNP) {
		/* the runtime and the launch digests computed for it (ac-pipeline-snp.c) */
		if (!ac_pipeline_snp_add_tee (p, b, error))
			return NULL;
	} else {
		ac_aleph_tee_add_sev (b, p->tag->firmware_ref, p->tag->policy);
	}
	ac_json_builder_add_boolean (b, "reproducible", FALSE);
	ac_json_builder_add_boolean (b, "shared_cache", FALSE);
	json_builder_end_object (b);
	json_builder_set_member_name (b, "resources");
	json_builder_begin_object (b);
	ac_json_builder_add_int (b, "vcpus", ac_pipeline_instance_vcpus (p));
	ac_json_builder_add_int (b, "memory", (gint64)MAX (memory_mib, 1));
	ac_json_builder_add_int (b, "seconds", p->config->instance_seconds);
	json_builder_set_member_name (b, "published_ports");
	if (pub->ports != NULL && pub->ports->len > 0) {
		json_builder_begin_array (b);
		for (guint i = 0; i < pub->ports->len; i++) {
			AcTagPort *port = &g_array_index (pub->ports, AcTagPort, i);
			json_builder_begin_object (b);
			ac_json_builder_add_string (b, "protocol", port->udp ? "udp" : "tcp");
			ac_json_builder_add_int (b, "port", port->port);
			json_builder_end_object (b);
		}
		json_builder_end_array (b);
	} else {
		json_builder_add_null_value (b);
	}
	json_builder_end_object (b);
	json_builder_set_member_name (b, "payment");
	json_builder_begin_object (b);
	ac_json_builder_add_string (b, "chain", "ETH");
	json_builder_set_member_name (b, "receiver");
	json_builder_add_null_value (b);
	ac_json_builder_add_string (b, "type", ac_payment_to_string (pub->payment));
	json_builder_end_object (b);
	json_builder_set_member_name (b, "requirements");
	json_builder_begin_object (b);
	json_builder_set_member_name (b, "node");
	json_builder_begin_object (b);
	ac_json_builder_add_string (b, "node_hash", ac_state_get_string (p->state, "crn", "hash"));
	json_builder_end_object (b);
	json_builder_end_object (b);
	json_builder_set_member_name (b, "volumes");
	json_builder_begin_array (b);
	json_builder_end_array (b);
	json_builder_set_member_name (b, "rootfs");
	json_builder_begin_object (b);
	json_builder_set_member_name (b, "parent");
	json_builder_begin_object (b);
	ac_json_builder_add_string (b, "ref", ac_state_get_string (p->state, "store", "hash"));
	ac_json_builder_add_boolean (b, "use_latest", TRUE);
	json_builder_end_object (b);
	ac_json_builder_add_string (b, "persistence", "host");
	ac_json_builder_add_int (b, "size_mib", (gint64)size_mib);
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
	g_autoptr (AcAlephMessage) msg = ac_aleph_message_from_data (saved, strlen (saved), NULL);
	g_autoptr (JsonNode) content
	    = msg != NULL ? ac_aleph_message_get_content (msg, NULL) : NULL;
	g_autoptr (AcMessageInfo) info = NULL;
	g_autoptr (GError) local_error = NULL;
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
			ptype
			    = json_object_get_string_member_with_default (payment, "type", "hold");
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
			g_info ("%s: the INSTANCE %s was rejected by the CCN; a new one is built",
			        p->name, msg->item_hash);
			keep = FALSE;
		}
	}
	if (keep)
		return TRUE;
	ac_state_reset_step (p->state, "instance");
	return ac_pipeline_save (p, error);
}

gboolean
ac_pipeline_instance_step (AcPipeline *p, AcProgress *progress, GError **error)
{
	const gchar *saved;
	g_autoptr (AcAlephMessage) msg = NULL;
	g_autoptr (AcMessageInfo) info = NULL;
	g_autoptr (GError) local_error = NULL;

	if (ac_state_step_done (p->state, "instance"))
		return TRUE;
	ac_pipeline_report (p, "publishing", "publish/instance", 60);
	if (!ac_pipeline_ensure_clients (p, error))
		return FALSE;
	saved = ac_state_get_string (p->state, "instance", "message");
	if (saved != NULL && !saved_instance_still_valid (p, saved, error))
		return FALSE;
	saved = ac_state_get_string (p->state, "instance", "message");
	if (saved == NULL) {
		g_autoptr (JsonNode) content = ac_pipeline_instance_content (p, error);
		g_autofree gchar *text = NULL;
		gdouble now = (gdouble)g_get_real_time () / G_USEC_PER_SEC;
		if (content == NULL)
			return FALSE;
		/* refused before signing when the network's rules refuse this payment today */
		if (!ac_payment_check (NULL, "INSTANCE",
		                       ac_payment_to_string (p->tag->publish->payment), now,
		                       error)) {
			g_prefix_error (error, "<aleph:publish payment='%s'>: ",
			                ac_payment_to_string (p->tag->publish->payment));
			return FALSE;
		}
		msg = ac_aleph_message_build ("INSTANCE", content,
		                              ac_eth_account_get_address (p->account),
		                              ac_pipeline_channel (p), now, error);
		if (msg == NULL || !ac_aleph_message_sign (msg, p->account, error))
			return FALSE;
		/* saved before it is posted: a resume posts these very bytes again */
		text = ac_aleph_message_to_string (msg);
		ac_state_set_string (p->state, "instance", "message", text);
		ac_state_set_string (p->state, "instance", "hash", msg->item_hash);
		if (!ac_pipeline_save (p, error))
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
		if (!ac_pipeline_save (p, error))
			return FALSE;
	}
	ac_pipeline_report (p, "publishing", "publish/wait", 65);
	g_clear_pointer (&info, ac_message_info_free);
	info = ac_ccn_wait_processed (p->ccn, msg->item_hash, p->config->timeout_s * 1000, progress,
	                              error);
	if (info == NULL)
		return FALSE;
	ac_state_mark_done (p->state, "instance");
	return ac_pipeline_save (p, error);
}
