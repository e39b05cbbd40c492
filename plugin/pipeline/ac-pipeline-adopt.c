/*
 * Adoption: an INSTANCE created elsewhere (aleph instance create --confidential) attached to a
 * tagged domain, so that status, attest, reboot, erase, forget and delete work on it. The
 * INSTANCE comes from the network: it must be signed by this account, processed, confidential
 * and the one the domain's tag describes (the same image, TEE, firmware or runtime, policy).
 * Nothing is posted; the state records what the flow would have recorded up to the CRN's
 * notification, and the next step is the attestation.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "ac-pipeline-private.h"

#include <string.h>

#include "ac-aleph-util.h"
#include "ac-error.h"

static const gchar *
member_string (JsonObject *o, const gchar *name)
{
	JsonNode *n = o != NULL ? json_object_get_member (o, name) : NULL;
	if (n == NULL || !JSON_NODE_HOLDS_VALUE (n)
	    || json_node_get_value_type (n) != G_TYPE_STRING)
		return NULL;
	return json_node_get_string (n);
}

static JsonObject *
member_object (JsonObject *o, const gchar *name)
{
	JsonNode *n = o != NULL ? json_object_get_member (o, name) : NULL;
	return n != NULL && JSON_NODE_HOLDS_OBJECT (n) ? json_node_get_object (n) : NULL;
}

/* a whole number member in 0..G_MAXINT64, or -1 */
static gint64
member_uint (JsonObject *o, const gchar *name)
{
	JsonNode *n = o != NULL ? json_object_get_member (o, name) : NULL;
	if (n == NULL || !JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_INT64)
		return -1;
	return json_node_get_int (n) >= 0 ? json_node_get_int (n) : -1;
}

/* the INSTANCE's trusted_execution against the tag's TEE */
static gboolean
check_tee (AcPipeline *p, const gchar *hash, JsonObject *te, GError **error)
{
	const gchar *mode = member_string (te, "mode");
	gint64 policy = member_uint (te, "policy");
	gboolean snp = g_strcmp0 (mode, "sev_snp") == 0;

	if (snp != (p->tag->tee == AC_TEE_SNP)) {
		g_set_error (
		    error, AC_ERROR, AC_ERROR_MISMATCH,
		    "INSTANCE %s is an %s instance, but the tag of domain '%s' asks for %s", hash,
		    snp ? "SEV-SNP" : "SEV", p->name, ac_tag_get_tee_name (p->tag));
		return FALSE;
	}
	if (snp) {
		const gchar *runtime = member_string (te, "runtime");
		const gchar *ours = ac_pipeline_snp_runtime_ref (p);
		if (policy < 0 || (guint64)policy != p->tag->snp_policy) {
			g_set_error (error, AC_ERROR, AC_ERROR_MISMATCH,
			             "INSTANCE %s: SNP policy %" G_GINT64_FORMAT
			             " is not the tag's 0x%" G_GINT64_MODIFIER "x",
			             hash, policy, p->tag->snp_policy);
			return FALSE;
		}
		if (runtime == NULL || g_strcmp0 (runtime, ours) != 0) {
			g_set_error (
			    error, AC_ERROR, AC_ERROR_MISMATCH,
			    "INSTANCE %s boots the runtime %s, not %s (<aleph:sev runtime> or "
			    "[pipeline] snp-runtime)",
			    hash, runtime != NULL ? runtime : "(none)",
			    ours != NULL ? ours : "(none configured)");
			return FALSE;
		}
		return TRUE;
	}
	if (g_strcmp0 (member_string (te, "firmware"), p->tag->firmware_ref) != 0) {
		g_set_error (error, AC_ERROR, AC_ERROR_MISMATCH,
		             "INSTANCE %s boots the firmware %s, not the tag's <aleph:firmware "
		             "ref='%s'>",
		             hash,
		             member_string (te, "firmware") != NULL ? member_string (te, "firmware")
		                                                    : "(none)",
		             p->tag->firmware_ref);
		return FALSE;
	}
	if (policy < 0 || (guint64)policy != p->tag->policy) {
		g_set_error (error, AC_ERROR, AC_ERROR_MISMATCH,
		             "INSTANCE %s: SEV policy %" G_GINT64_FORMAT " is not the tag's 0x%x",
		             hash, policy, p->tag->policy);
		return FALSE;
	}
	return TRUE;
}

/* the INSTANCE message @hash names: inline, signed by this account, processed; its content,
 * whose address is this account's */
static JsonNode *
adopt_fetch (AcPipeline *p, const gchar *hash, AcMessageInfo **info_out, GError **error)
{
	g_autoptr (AcMessageInfo) info = NULL;
	g_autoptr (JsonNode) content = NULL;
	g_autofree gchar *signer = NULL;
	const gchar *ours = ac_eth_account_get_address (p->account);
	const AcAlephMessage *msg;
	JsonObject *o;

	info = ac_ccn_get_message (p->ccn, hash, error);
	if (info == NULL)
		return NULL;
	msg = info->message;
	if (msg == NULL || g_strcmp0 (msg->type, "INSTANCE") != 0
	    || g_strcmp0 (msg->item_hash, hash) != 0 || msg->item_content == NULL) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "%s is not an inline INSTANCE message on %s", hash,
		             p->tag->publish->api);
		return NULL;
	}
	if (!ac_aleph_message_verify (msg, &signer, error)) {
		g_prefix_error (error, "INSTANCE %s: ", hash);
		return NULL;
	}
	if (g_ascii_strcasecmp (signer, ours) != 0 || g_ascii_strcasecmp (msg->sender, ours) != 0) {
		g_set_error (
		    error, AC_ERROR, AC_ERROR_REFUSED,
		    "INSTANCE %s is signed by %s, not by this account (%s): only an instance "
		    "of the configured key is adopted",
		    hash, signer, ours);
		return NULL;
	}
	if (info->status != AC_MESSAGE_STATUS_PROCESSED) {
		g_set_error (error, AC_ERROR, AC_ERROR_REFUSED,
		             "INSTANCE %s is not a processed message on the network (%s)", hash,
		             ac_message_status_to_string (info->status));
		return NULL;
	}
	content = ac_aleph_message_get_content (msg, error);
	if (content == NULL)
		return NULL;
	o = JSON_NODE_HOLDS_OBJECT (content) ? json_node_get_object (content) : NULL;
	if (o == NULL
	    || g_ascii_strcasecmp (member_string (o, "address") ? member_string (o, "address") : "",
	                           ours)
	           != 0) {
		g_set_error (error, AC_ERROR, AC_ERROR_REFUSED,
		             "INSTANCE %s: its content's address is not this account's (%s)", hash,
		             ours);
		return NULL;
	}
	*info_out = g_steal_pointer (&info);
	return g_steal_pointer (&content);
}

/* confidential, and the instance the tag describes: its image, TEE and CRN (*@node) */
static gboolean
adopt_check_content (AcPipeline *p,
                     const gchar *hash,
                     JsonObject *o,
                     const gchar **node_out,
                     GError **error)
{
	JsonObject *te = member_object (member_object (o, "environment"), "trusted_execution");
	const gchar *ref;
	const gchar *node;

	if (te == NULL) {
		g_set_error (error, AC_ERROR, AC_ERROR_REFUSED,
		             "INSTANCE %s is not confidential (no environment.trusted_execution)",
		             hash);
		return FALSE;
	}
	ref = member_string (member_object (member_object (o, "rootfs"), "parent"), "ref");
	if (ref == NULL || !ac_item_hash_is_valid (ref)) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "INSTANCE %s names no rootfs image (rootfs.parent.ref)", hash);
		return FALSE;
	}
	if (p->tag->publish->rootfs == NULL
	    || g_ascii_strcasecmp (p->tag->publish->rootfs, ref) != 0) {
		g_set_error (
		    error, AC_ERROR, AC_ERROR_MISMATCH,
		    "INSTANCE %s boots the image %s, but the tag of domain '%s' %s%s; tag "
		    "it first: 'virt-aleph tag %s --rootfs %s --passphrase-file FILE'",
		    hash, ref, p->name,
		    p->tag->publish->rootfs != NULL ? "names the image " : "builds its own image",
		    p->tag->publish->rootfs != NULL ? p->tag->publish->rootfs : "", p->name, ref);
		return FALSE;
	}
	if (!check_tee (p, hash, te, error))
		return FALSE;
	node = member_string (member_object (member_object (o, "requirements"), "node"),
	                      "node_hash");
	if (node == NULL || !ac_item_hash_is_valid (node)) {
		g_set_error (
		    error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		    "INSTANCE %s names no CRN (requirements.node.node_hash): a confidential "
		    "instance runs on the node it names",
		    hash);
		return FALSE;
	}
	*node_out = node;
	return TRUE;
}

gboolean
ac_pipeline_adopt_step (AcPipeline *p, const gchar *instance_hash, GError **error)
{
	g_autofree gchar *hash = NULL;
	const gchar *recorded = ac_state_get_string (p->state, "instance", "hash");
	g_autoptr (AcMessageInfo) info = NULL;
	g_autoptr (JsonNode) content = NULL;
	g_autofree gchar *text = NULL;
	const gchar *node = NULL;

	if (!ac_item_hash_is_valid (instance_hash)) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "adopt: '%s' is not an INSTANCE item hash (64 hexadecimal digits)",
		             instance_hash);
		return FALSE;
	}
	hash = g_ascii_strdown (instance_hash, -1);
	if (recorded != NULL) {
		if (g_strcmp0 (recorded, hash) == 0 && ac_state_step_done (p->state, "notify"))
			return TRUE; /* adopted already */
		g_set_error (error, AC_ERROR, AC_ERROR_EXISTS,
		             "domain '%s' has its INSTANCE %s already; 'virt-aleph delete %s' ends "
		             "it before another is adopted",
		             p->name, recorded, p->name);
		return FALSE;
	}
	ac_pipeline_report (p, "adopting", "adopt", 5);
	if (!ac_pipeline_ensure_clients (p, error))
		return FALSE;
	content = adopt_fetch (p, hash, &info, error);
	if (content == NULL
	    || !adopt_check_content (p, hash, json_node_get_object (content), &node, error))
		return FALSE;

	/* the image and its passphrase (checked against its LUKS header), the CRN, the runtime */
	if (!ac_pipeline_rootfs_step (p, error) || !ac_pipeline_publish_record_crn (p, node, error)
	    || !ac_pipeline_snp_runtime_step (p, error))
		return FALSE;

	text = ac_aleph_message_to_string (info->message);
	ac_state_reset_step (p->state, "instance");
	ac_state_set_string (p->state, "instance", "message", text);
	ac_state_set_string (p->state, "instance", "hash", hash);
	ac_state_set_bool (p->state, "instance", "posted", TRUE);
	ac_state_set_bool (p->state, "instance", "adopted", TRUE);
	ac_state_mark_done (p->state, "instance");
	ac_state_mark_done (p->state, "notify");
	ac_state_reset_step (p->state, "attest");
	g_free (p->status->instance_hash);
	p->status->instance_hash = g_strdup (hash);
	ac_state_log (p->state, "adopt: INSTANCE %s on CRN %s", hash, node);
	return ac_pipeline_save (p, error);
}
