/*
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "ac-aleph-responses.h"
#include "ac-aleph-util.h"
#include "ac-codec.h"
#include "ac-error.h"

#define MAX_FIELD 4096

static const gchar *
obj_str (JsonObject *o, const gchar *name)
{
	JsonNode *n = o != NULL ? json_object_get_member (o, name) : NULL;
	if (n == NULL || !JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_STRING)
		return NULL;
	return json_node_get_string (n);
}

/* bounded copy: hostile strings never grow our memory or logs without limit */
static gchar *
obj_strdup (JsonObject *o, const gchar *name)
{
	const gchar *s = obj_str (o, name);
	if (s == NULL)
		return NULL;
	if (strlen (s) > MAX_FIELD) {
		const gchar *end = s + MAX_FIELD;
		/* cut on a character boundary */
		while (end > s && (*end & 0xc0) == 0x80)
			end--;
		return g_strndup (s, end - s);
	}
	return g_strdup (s);
}

static gboolean
obj_bool (JsonObject *o, const gchar *name)
{
	JsonNode *n = o != NULL ? json_object_get_member (o, name) : NULL;
	return n != NULL && JSON_NODE_HOLDS_VALUE (n) &&
	       json_node_get_value_type (n) == G_TYPE_BOOLEAN && json_node_get_boolean (n);
}

static gboolean
obj_int (JsonObject *o, const gchar *name, gint64 *out)
{
	JsonNode *n = o != NULL ? json_object_get_member (o, name) : NULL;
	if (n == NULL || !JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_INT64)
		return FALSE;
	*out = json_node_get_int (n);
	return TRUE;
}

static JsonObject *
obj_obj (JsonObject *o, const gchar *name)
{
	JsonNode *n = o != NULL ? json_object_get_member (o, name) : NULL;
	return (n != NULL && JSON_NODE_HOLDS_OBJECT (n)) ? json_node_get_object (n) : NULL;
}

static JsonArray *
obj_arr (JsonObject *o, const gchar *name)
{
	JsonNode *n = o != NULL ? json_object_get_member (o, name) : NULL;
	return (n != NULL && JSON_NODE_HOLDS_ARRAY (n)) ? json_node_get_array (n) : NULL;
}

static JsonNode *
parse_object (const gchar *what, const gchar *body, gsize len, GError **error)
{
	JsonNode *node = ac_json_parse_untrusted (what, body, len, error);
	if (node == NULL)
		return NULL;
	if (!JSON_NODE_HOLDS_OBJECT (node)) {
		json_node_unref (node);
		g_set_error (error, AC_ERROR, AC_ERROR_REMOTE, "%s: expected a JSON object", what);
		return NULL;
	}
	return node;
}

const gchar *
ac_message_status_to_string (AcMessageStatus status)
{
	switch (status) {
	case AC_MESSAGE_STATUS_PENDING:
		return "pending";
	case AC_MESSAGE_STATUS_PROCESSED:
		return "processed";
	case AC_MESSAGE_STATUS_REJECTED:
		return "rejected";
	case AC_MESSAGE_STATUS_FORGOTTEN:
		return "forgotten";
	case AC_MESSAGE_STATUS_REMOVING:
		return "removing";
	case AC_MESSAGE_STATUS_REMOVED:
		return "removed";
	case AC_MESSAGE_STATUS_UNKNOWN:
	default:
		return "unknown";
	}
}

AcMessageStatus
ac_message_status_from_string (const gchar *s)
{
	static const AcMessageStatus all[] = {
		AC_MESSAGE_STATUS_PENDING,   AC_MESSAGE_STATUS_PROCESSED, AC_MESSAGE_STATUS_REJECTED,
		AC_MESSAGE_STATUS_FORGOTTEN, AC_MESSAGE_STATUS_REMOVING,  AC_MESSAGE_STATUS_REMOVED,
	};
	for (guint i = 0; i < G_N_ELEMENTS (all); i++) {
		if (g_strcmp0 (s, ac_message_status_to_string (all[i])) == 0)
			return all[i];
	}
	return AC_MESSAGE_STATUS_UNKNOWN;
}

const gchar *
ac_message_error_code_to_string (gint64 code)
{
	/* pyaleph src/aleph/types/message_status.py */
	switch (code) {
	case -1:
		return "INTERNAL_ERROR: the CCN failed while processing it";
	case 0:
		return "INVALID_FORMAT: the message or its content does not match the schema";
	case 1:
		return "INVALID_SIGNATURE: the signature does not match the sender";
	case 2:
		return "PERMISSION_DENIED: the sender may not act for content.address";
	case 3:
		return "CONTENT_UNAVAILABLE: the CCN could not fetch the content";
	case 4:
		return "FILE_UNAVAILABLE: a referenced file could not be fetched";
	case 5:
		return "BALANCE_INSUFFICIENT: not enough ALEPH tokens held for this";
	case 6:
		return "CREDIT_INSUFFICIENT: not enough credits for this";
	case 100:
		return "POST_AMEND_NO_TARGET: an amend POST names no ref";
	case 101:
		return "POST_AMEND_TARGET_NOT_FOUND: the POST an amend names does not exist";
	case 102:
		return "POST_AMEND_AMEND: an amend of an amend";
	case 200:
		return "STORE_REF_NOT_FOUND: the STORE named by ref does not exist";
	case 201:
		return "STORE_UPDATE_UPDATE: an update of an update";
	case 202:
		return "PAYMENT_REFUSED: this payment type is no longer accepted for this message "
		       "type (use credit)";
	case 300:
		return "VM_REF_NOT_FOUND: a referenced volume or message does not exist";
	case 301:
		return "VM_VOLUME_NOT_FOUND: a volume (e.g. rootfs.parent.ref) does not exist";
	case 302:
		return "VM_AMEND_NOT_ALLOWED: the VM does not allow amends";
	case 303:
		return "VM_UPDATE_UPDATE: an update of an update";
	case 304:
		return "VM_VOLUME_TOO_SMALL: rootfs.size_mib is smaller than the image";
	case 500:
		return "FORGET_NO_TARGET: the FORGET names nothing to forget";
	case 501:
		return "FORGET_TARGET_NOT_FOUND: a message to forget does not exist";
	case 502:
		return "FORGET_FORGET: a FORGET of a FORGET";
	case 503:
		return "FORGET_NOT_ALLOWED: the sender may not forget this message";
	case 504:
		return "FORGOTTEN_DUPLICATE: the message was forgotten and may not be sent again";
	default:
		return NULL;
	}
}

void
ac_post_result_clear (AcPostResult *r)
{
	g_clear_pointer (&r->publication_status, g_free);
	g_clear_pointer (&r->failed, g_free);
}

gchar *
ac_http_error_text (const gchar *body, gsize len)
{
	g_autoptr(JsonNode) node = NULL;
	GString *out;

	if (body == NULL || len == 0)
		return g_strdup ("(empty body)");
	node = ac_json_parse_untrusted ("error body", body, len, NULL);
	if (node != NULL && JSON_NODE_HOLDS_OBJECT (node)) {
		JsonObject *o = json_node_get_object (node);
		const gchar *keys[] = { "error", "message", "detail", "description", "reason" };
		for (guint i = 0; i < G_N_ELEMENTS (keys); i++) {
			if (obj_str (o, keys[i]) != NULL) {
				body = obj_str (o, keys[i]);
				len = strlen (body);
				break;
			}
		}
	}
	/* printable, single line, bounded */
	out = g_string_new (NULL);
	for (gsize i = 0; i < len && out->len < 512; i++) {
		guchar c = (guchar)body[i];
		if (c == '\n' || c == '\r' || c == '\t')
			g_string_append_c (out, ' ');
		else if (c < 0x20 || c == 0x7f)
			g_string_append_printf (out, "\\x%02x", c);
		else
			g_string_append_c (out, (gchar)c);
	}
	if (out->len >= 512)
		g_string_append (out, "…");
	if (!g_utf8_validate (out->str, -1, NULL)) {
		gchar *valid = g_utf8_make_valid (out->str, -1);
		g_string_assign (out, valid);
		g_free (valid);
	}
	return g_string_free (out, FALSE);
}

gboolean
ac_ccn_parse_post_response (guint http_status,
			    const gchar *body,
			    gsize len,
			    AcPostResult *out,
			    GError **error)
{
	g_autoptr(JsonNode) node = NULL;
	JsonObject *o;
	JsonObject *pub;
	JsonArray *failed;

	memset (out, 0, sizeof (*out));
	if (http_status == 410) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_REMOTE,
				     "the CCN answered HTTP 410: this message was forgotten and cannot be "
				     "sent again");
		return FALSE;
	}
	if (http_status != 200 && http_status != 202 && http_status != 422) {
		g_autofree gchar *text = ac_http_error_text (body, len);
		g_set_error (error, AC_ERROR, AC_ERROR_REMOTE,
			     "the CCN refused the message: HTTP %u: %s", http_status, text);
		return FALSE;
	}
	node = ac_json_parse_untrusted ("POST /api/v0/messages", body, len, NULL);
	if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node)) {
		/* 422 before broadcast: a text body (the exception name, or pydantic JSON) */
		g_autofree gchar *text = ac_http_error_text (body, len);
		g_set_error (error, AC_ERROR, AC_ERROR_REMOTE,
			     "the CCN rejected the message envelope: HTTP %u: %s", http_status, text);
		return FALSE;
	}
	o = json_node_get_object (node);
	out->message_status = ac_message_status_from_string (obj_str (o, "message_status"));
	pub = obj_obj (o, "publication_status");
	out->publication_status = obj_strdup (pub, "status");
	failed = obj_arr (pub, "failed");
	if (failed != NULL && json_array_get_length (failed) > 0) {
		GString *s = g_string_new (NULL);
		for (guint i = 0; i < json_array_get_length (failed) && i < 8; i++) {
			JsonNode *e = json_array_get_element (failed, i);
			if (JSON_NODE_HOLDS_VALUE (e) && json_node_get_value_type (e) == G_TYPE_STRING &&
			    strlen (json_node_get_string (e)) < 64)
				g_string_append_printf (s, "%s%s", s->len ? "," : "",
							json_node_get_string (e));
		}
		out->failed = g_string_free (s, FALSE);
	}
	if (out->message_status == AC_MESSAGE_STATUS_UNKNOWN) {
		g_autofree gchar *text = ac_http_error_text (body, len);
		ac_post_result_clear (out);
		g_set_error (error, AC_ERROR, AC_ERROR_REMOTE,
			     "the CCN answered HTTP %u without a message_status: %s", http_status, text);
		return FALSE;
	}
	return TRUE;
}

void
ac_message_info_free (AcMessageInfo *info)
{
	if (info == NULL)
		return;
	g_free (info->item_hash);
	g_free (info->reception_time);
	g_free (info->details);
	g_free (info->reason);
	ac_aleph_message_free (info->message);
	g_free (info);
}

AcMessageInfo *
ac_ccn_parse_message_info (const gchar *body, gsize len, GError **error)
{
	g_autoptr(JsonNode) node = parse_object ("message status", body, len, error);
	g_autoptr(AcMessageInfo) info = NULL;
	JsonObject *o;
	JsonNode *details;
	JsonNode *message;

	if (node == NULL)
		return NULL;
	o = json_node_get_object (node);
	info = g_new0 (AcMessageInfo, 1);
	info->status = ac_message_status_from_string (obj_str (o, "status"));
	if (info->status == AC_MESSAGE_STATUS_UNKNOWN) {
		g_set_error (error, AC_ERROR, AC_ERROR_REMOTE,
			     "message status: unknown status '%s'",
			     obj_str (o, "status") != NULL ? obj_str (o, "status") : "(missing)");
		return NULL;
	}
	info->item_hash = obj_strdup (o, "item_hash");
	info->reception_time = obj_strdup (o, "reception_time");
	info->has_error_code = obj_int (o, "error_code", &info->error_code);
	info->reason = obj_strdup (o, "reason");
	details = json_object_get_member (o, "details");
	if (details != NULL && !JSON_NODE_HOLDS_NULL (details)) {
		g_autofree gchar *d = ac_json_to_python_compact (details);
		if (strlen (d) > MAX_FIELD)
			d[MAX_FIELD] = '\0';
		info->details = g_steal_pointer (&d);
	}
	message = json_object_get_member (o, "message");
	if (message == NULL) {
		/* pending: "messages":[…] */
		JsonArray *msgs = obj_arr (o, "messages");
		if (msgs != NULL && json_array_get_length (msgs) > 0)
			message = json_array_get_element (msgs, 0);
	}
	if (message != NULL && JSON_NODE_HOLDS_OBJECT (message))
		info->message = ac_aleph_message_from_json (message, NULL);
	return g_steal_pointer (&info);
}

gchar *
ac_message_info_describe_rejection (const AcMessageInfo *info)
{
	GString *s = g_string_new ("rejected");
	if (info->has_error_code) {
		const gchar *what = ac_message_error_code_to_string (info->error_code);
		g_string_append_printf (s, " with error %" G_GINT64_FORMAT " (%s)", info->error_code,
					what != NULL ? what : "unknown error code");
	}
	if (info->details != NULL)
		g_string_append_printf (s, "; details: %s", info->details);
	if (info->reason != NULL)
		g_string_append_printf (s, "; reason: %s", info->reason);
	return g_string_free (s, FALSE);
}

GPtrArray *
ac_ccn_parse_messages_page (const gchar *body, gsize len, guint *total, GError **error)
{
	g_autoptr(JsonNode) node = parse_object ("messages.json", body, len, error);
	g_autoptr(GPtrArray) out = NULL;
	JsonArray *msgs;
	gint64 t = 0;

	if (node == NULL)
		return NULL;
	msgs = obj_arr (json_node_get_object (node), "messages");
	if (msgs == NULL) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_REMOTE,
				     "messages.json: no \"messages\" array");
		return NULL;
	}
	out = g_ptr_array_new_with_free_func ((GDestroyNotify)ac_aleph_message_free);
	for (guint i = 0; i < json_array_get_length (msgs); i++) {
		g_autoptr(GError) error_local = NULL;
		AcAlephMessage *m = ac_aleph_message_from_json (json_array_get_element (msgs, i),
								&error_local);
		if (m == NULL) {
			g_set_error (error, AC_ERROR, AC_ERROR_REMOTE, "messages.json: message %u: %s",
				     i, error_local->message);
			return NULL;
		}
		g_ptr_array_add (out, m);
	}
	if (total != NULL) {
		*total = out->len;
		if (obj_int (json_node_get_object (node), "pagination_total", &t) && t >= 0 &&
		    t < G_MAXUINT)
			*total = (guint)t;
	}
	return g_steal_pointer (&out);
}

gchar *
ac_ccn_parse_upload (const gchar *body, gsize len, GError **error)
{
	g_autoptr(JsonNode) node = parse_object ("upload", body, len, error);
	JsonObject *o;
	const gchar *hash;

	if (node == NULL)
		return NULL;
	o = json_node_get_object (node);
	hash = obj_str (o, "hash");
	if (obj_str (o, "status") != NULL && g_strcmp0 (obj_str (o, "status"), "success") != 0) {
		g_autofree gchar *text = ac_http_error_text (body, len);
		g_set_error (error, AC_ERROR, AC_ERROR_REMOTE, "upload failed: %s", text);
		return NULL;
	}
	if (hash == NULL || !ac_item_hash_is_valid (hash)) {
		g_set_error (error, AC_ERROR, AC_ERROR_REMOTE,
			     "upload: the answer has no valid \"hash\" (got %s)",
			     hash != NULL ? "a malformed one" : "none");
		return NULL;
	}
	return g_strdup (hash);
}

gchar *
ac_ipfs_parse_add (const gchar *body, gsize len, guint64 *size_out, GError **error)
{
	g_autofree gchar *copy = NULL;
	g_auto(GStrv) lines = NULL;
	gchar *hash = NULL;

	if (body == NULL || len == 0 || len > 1024 * 1024) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_REMOTE,
				     "IPFS add: empty or oversized answer");
		return NULL;
	}
	copy = g_strndup (body, len);
	lines = g_strsplit (copy, "\n", 1024);
	for (guint i = 0; lines[i] != NULL; i++) {
		g_autoptr(JsonNode) node = NULL;
		JsonObject *o;
		const gchar *h;
		if (g_strstrip (lines[i])[0] == '\0')
			continue;
		node = ac_json_parse_untrusted ("IPFS add", lines[i], strlen (lines[i]), error);
		if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node)) {
			g_free (hash);
			if (error != NULL && *error == NULL)
				g_set_error_literal (error, AC_ERROR, AC_ERROR_REMOTE,
						     "IPFS add: a line is not a JSON object");
			return NULL;
		}
		o = json_node_get_object (node);
		h = obj_str (o, "Hash");
		if (h != NULL) {
			const gchar *size = obj_str (o, "Size");
			g_free (hash);
			hash = g_strdup (h);
			if (size_out != NULL)
				*size_out = size != NULL ? g_ascii_strtoull (size, NULL, 10) : 0;
		}
	}
	if (hash == NULL || !ac_item_hash_is_valid (hash) || strlen (hash) == 64) {
		g_free (hash);
		g_set_error_literal (error, AC_ERROR, AC_ERROR_REMOTE, "IPFS add: no CID in the answer");
		return NULL;
	}
	return hash;
}

void
ac_crn_info_free (AcCrnInfo *crn)
{
	if (crn == NULL)
		return;
	g_free (crn->hash);
	g_free (crn->name);
	g_free (crn->address);
	g_free (crn->version);
	g_free (crn->payment_receiver_address);
	g_free (crn->terms_and_conditions);
	g_free (crn);
}

static gboolean
array_has_string (JsonArray *a, const gchar *s)
{
	for (guint i = 0; a != NULL && i < json_array_get_length (a); i++) {
		JsonNode *e = json_array_get_element (a, i);
		if (JSON_NODE_HOLDS_VALUE (e) && json_node_get_value_type (e) == G_TYPE_STRING &&
		    g_strcmp0 (json_node_get_string (e), s) == 0)
			return TRUE;
	}
	return FALSE;
}

GPtrArray *
ac_crn_parse_list (const gchar *body, gsize len, AcCrnFilter filter, GError **error)
{
	g_autoptr(JsonNode) node = parse_object ("CRN list", body, len, error);
	g_autoptr(GPtrArray) out = NULL;
	JsonArray *crns;

	if (node == NULL)
		return NULL;
	crns = obj_arr (json_node_get_object (node), "crns");
	if (crns == NULL) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_REMOTE, "CRN list: no \"crns\" array");
		return NULL;
	}
	out = g_ptr_array_new_with_free_func ((GDestroyNotify)ac_crn_info_free);
	for (guint i = 0; i < json_array_get_length (crns); i++) {
		JsonNode *e = json_array_get_element (crns, i);
		JsonObject *o;
		JsonArray *features;
		g_autoptr(AcCrnInfo) crn = NULL;
		const gchar *hash;

		if (!JSON_NODE_HOLDS_OBJECT (e))
			continue;
		o = json_node_get_object (e);
		hash = obj_str (o, "hash");
		/* a node we could never address in requirements.node.node_hash is useless */
		if (hash == NULL || strlen (hash) != 64 || !ac_item_hash_is_valid (hash) ||
		    obj_str (o, "address") == NULL)
			continue;
		crn = g_new0 (AcCrnInfo, 1);
		crn->hash = g_strdup (hash);
		crn->name = obj_strdup (o, "name");
		crn->address = obj_strdup (o, "address");
		crn->version = obj_strdup (o, "version");
		crn->payment_receiver_address = obj_strdup (o, "payment_receiver_address");
		if (crn->payment_receiver_address == NULL)
			crn->payment_receiver_address = obj_strdup (o, "stream_reward");
		crn->terms_and_conditions = obj_strdup (o, "terms_and_conditions");
		if (crn->terms_and_conditions != NULL && crn->terms_and_conditions[0] == '\0')
			g_clear_pointer (&crn->terms_and_conditions, g_free);
		crn->confidential_support = obj_bool (o, "confidential_support");
		crn->qemu_support = obj_bool (o, "qemu_support");
		crn->gpu_support = obj_bool (o, "gpu_support");
		features = obj_arr (obj_obj (obj_obj (obj_obj (o, "system_usage"), "properties"), "cpu"),
				    "features");
		crn->sev = array_has_string (features, "sev");
		crn->sev_es = array_has_string (features, "sev_es");
		crn->sev_snp = array_has_string (features, "sev_snp");
		if ((filter & AC_CRN_FILTER_CONFIDENTIAL) &&
		    !(crn->confidential_support && crn->qemu_support))
			continue;
		if ((filter & AC_CRN_FILTER_SNP) &&
		    !(crn->confidential_support && crn->qemu_support && crn->sev_snp))
			continue;
		if ((filter & AC_CRN_FILTER_QEMU) && !crn->qemu_support)
			continue;
		if ((filter & AC_CRN_FILTER_GPU) && !crn->gpu_support)
			continue;
		g_ptr_array_add (out, g_steal_pointer (&crn));
	}
	return g_steal_pointer (&out);
}

void
ac_crn_measurement_free (AcCrnMeasurement *m)
{
	if (m == NULL)
		return;
	g_free (m->state);
	g_free (m);
}

static gboolean
get_u8 (JsonObject *o, const gchar *name, guint8 *out, GError **error)
{
	gint64 v;
	if (!obj_int (o, name, &v) || v < 0 || v > 255) {
		g_set_error (error, AC_ERROR, AC_ERROR_REMOTE,
			     "measurement: sev_info.%s is missing or not in 0..255", name);
		return FALSE;
	}
	*out = (guint8)v;
	return TRUE;
}

AcCrnMeasurement *
ac_crn_parse_measurement (const gchar *body, gsize len, GError **error)
{
	g_autoptr(JsonNode) node = parse_object ("measurement", body, len, error);
	g_autoptr(AcCrnMeasurement) m = NULL;
	g_autofree guint8 *lm = NULL;
	JsonObject *o, *info;
	const gchar *b64;
	gsize lm_len = 0;
	gint64 policy;

	if (node == NULL)
		return NULL;
	o = json_node_get_object (node);
	info = obj_obj (o, "sev_info");
	b64 = obj_str (o, "launch_measure");
	if (info == NULL || b64 == NULL) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_REMOTE,
				     "measurement: expected sev_info and launch_measure");
		return NULL;
	}
	m = g_new0 (AcCrnMeasurement, 1);
	m->enabled = obj_bool (info, "enabled");
	if (!get_u8 (info, "api_major", &m->api_major, error) ||
	    !get_u8 (info, "api_minor", &m->api_minor, error) ||
	    !get_u8 (info, "build_id", &m->build_id, error))
		return NULL;
	if (!obj_int (info, "policy", &policy) || policy < 0 || policy > G_MAXUINT32) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_REMOTE,
				     "measurement: sev_info.policy is missing or not a 32-bit value");
		return NULL;
	}
	m->policy = (guint32)policy;
	m->state = obj_strdup (info, "state");
	(void)obj_int (info, "handle", &m->handle);
	/* 48 bytes: 64 base64 characters */
	lm = ac_codec_base64_decode ("measurement: launch_measure", b64, 48, 48, AC_ERROR_REMOTE,
				    &lm_len, error);
	if (lm == NULL)
		return NULL;
	memcpy (m->launch_measure, lm, 48);
	return g_steal_pointer (&m);
}

void
ac_crn_execution_free (AcCrnExecution *e)
{
	if (e == NULL)
		return;
	g_free (e->vm_hash);
	g_free (e->ipv4);
	g_free (e->ipv6);
	g_free (e->host_ipv4);
	if (e->mapped_tcp != NULL)
		g_array_unref (e->mapped_tcp);
	g_free (e);
}

guint16
ac_crn_execution_mapped_port (const AcCrnExecution *e, guint16 guest)
{
	for (guint i = 0; e->mapped_tcp != NULL && i < e->mapped_tcp->len; i++) {
		const AcCrnMappedPort *m = &g_array_index (e->mapped_tcp, AcCrnMappedPort, i);
		if (m->guest == guest)
			return m->host;
	}
	return 0;
}

/* networking.mapped_ports: {"8443": {"host": 24013, "tcp": true, "udp": false}, …}; entries
 * that are not TCP, or not ports, are left out */
static GArray *
parse_mapped_ports (JsonObject *net)
{
	JsonObject *ports = obj_obj (net, "mapped_ports");
	GArray *out = g_array_new (FALSE, TRUE, sizeof (AcCrnMappedPort));
	JsonObjectIter iter;
	const gchar *name;
	JsonNode *member;

	if (ports == NULL)
		return out;
	json_object_iter_init_ordered (&iter, ports);
	while (json_object_iter_next_ordered (&iter, &name, &member)) {
		AcCrnMappedPort m = { 0 };
		guint64 guest;
		gint64 host;
		if (!JSON_NODE_HOLDS_OBJECT (member)
		    || !g_ascii_string_to_unsigned (name, 10, 1, 65535, &guest, NULL)
		    || !obj_bool (json_node_get_object (member), "tcp")
		    || !obj_int (json_node_get_object (member), "host", &host) || host < 1
		    || host > 65535)
			continue;
		m.guest = (guint16)guest;
		m.host = (guint16)host;
		g_array_append_val (out, m);
	}
	return out;
}

GPtrArray *
ac_crn_parse_executions (const gchar *body, gsize len, GError **error)
{
	g_autoptr(JsonNode) node = parse_object ("executions", body, len, error);
	g_autoptr(GPtrArray) out = NULL;
	JsonObjectIter iter;
	const gchar *name;
	JsonNode *member;

	if (node == NULL)
		return NULL;
	out = g_ptr_array_new_with_free_func ((GDestroyNotify)ac_crn_execution_free);
	json_object_iter_init_ordered (&iter, json_node_get_object (node));
	while (json_object_iter_next_ordered (&iter, &name, &member)) {
		JsonObject *o, *net;
		AcCrnExecution *e;
		if (!JSON_NODE_HOLDS_OBJECT (member) || !ac_item_hash_is_valid (name))
			continue;
		o = json_node_get_object (member);
		net = obj_obj (o, "networking");
		e = g_new0 (AcCrnExecution, 1);
		e->vm_hash = g_strdup (name);
		e->ipv4 = obj_strdup (net, "ipv4");
		if (e->ipv4 == NULL)
			e->ipv4 = obj_strdup (net, "ipv4_ip");
		e->ipv6 = obj_strdup (net, "ipv6");
		if (e->ipv6 == NULL)
			e->ipv6 = obj_strdup (net, "ipv6_ip");
		e->host_ipv4 = obj_strdup (net, "host_ipv4");
		e->mapped_tcp = parse_mapped_ports (net);
		e->awaiting_confidential_init = obj_bool (o, "awaiting_confidential_init");
		e->running = json_object_has_member (o, "running") ? obj_bool (o, "running")
								   : !e->awaiting_confidential_init;
		g_ptr_array_add (out, e);
	}
	return g_steal_pointer (&out);
}

void
ac_crn_log_line_free (AcCrnLogLine *l)
{
	if (l == NULL)
		return;
	g_free (l->stream);
	g_free (l->time);
	g_free (l->message);
	g_free (l);
}

/* a line the guest (or the CRN) wrote, made safe to print: valid UTF-8, bounded, every control
 * character but tab escaped as \xNN (no terminal escape sequence gets through), and the
 * backslash doubled so that an escape cannot be forged */
static gchar *
log_text (const gchar *s)
{
	g_autofree gchar *valid = g_utf8_make_valid (s, -1);
	GString *out = g_string_new (NULL);

	for (const gchar *p = valid; *p != '\0' && out->len < MAX_FIELD;) {
		gunichar c = g_utf8_get_char (p);
		const gchar *next = g_utf8_next_char (p);
		if (c == '\\')
			g_string_append (out, "\\\\");
		else if ((c < 0x20 && c != '\t') || c == 0x7f || (c >= 0x80 && c < 0xa0))
			g_string_append_printf (out, "\\x%02x", (guint)c);
		else
			g_string_append_len (out, p, next - p);
		p = next;
	}
	return g_string_free (out, FALSE);
}

/**
 * ac_crn_parse_logs:
 *
 * aleph-vm's answer to GET /control/machine/{ref}/logs: a JSON array of
 * {"SYSLOG_IDENTIFIER", "MESSAGE", "file": "stdout"|"stderr", "__REALTIME_TIMESTAMP"}
 * (journald's fields); an entry without a string MESSAGE is skipped, anything else is
 * bounded and sanitized.
 */
GPtrArray *
ac_crn_parse_logs (const gchar *body, gsize len, GError **error)
{
	g_autoptr (JsonNode) node = ac_json_parse_untrusted ("logs", body, len, error);
	g_autoptr (GPtrArray) out = NULL;
	JsonArray *a;

	if (node == NULL)
		return NULL;
	if (!JSON_NODE_HOLDS_ARRAY (node)) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_REMOTE,
				     "logs: expected a JSON array of log entries");
		return NULL;
	}
	a = json_node_get_array (node);
	if (json_array_get_length (a) > AC_CRN_LOGS_MAX_LINES) {
		g_set_error (error, AC_ERROR, AC_ERROR_REMOTE,
			     "logs: %u entries, more than the %u accepted", json_array_get_length (a),
			     AC_CRN_LOGS_MAX_LINES);
		return NULL;
	}
	out = g_ptr_array_new_with_free_func ((GDestroyNotify)ac_crn_log_line_free);
	for (guint i = 0; i < json_array_get_length (a); i++) {
		JsonNode *n = json_array_get_element (a, i);
		JsonObject *o = JSON_NODE_HOLDS_OBJECT (n) ? json_node_get_object (n) : NULL;
		const gchar *message = obj_str (o, "MESSAGE");
		const gchar *stream = obj_str (o, "file");
		JsonNode *t = o != NULL ? json_object_get_member (o, "__REALTIME_TIMESTAMP") : NULL;
		AcCrnLogLine *l;
		gint64 ts;

		if (message == NULL)
			continue;
		l = g_new0 (AcCrnLogLine, 1);
		l->message = log_text (message);
		l->stream = log_text (stream != NULL ? stream : "stdout");
		if (t != NULL && JSON_NODE_HOLDS_VALUE (t) &&
		    json_node_get_value_type (t) == G_TYPE_STRING)
			l->time = log_text (json_node_get_string (t));
		else if (obj_int (o, "__REALTIME_TIMESTAMP", &ts))
			l->time = g_strdup_printf ("%" G_GINT64_FORMAT, ts);
		g_ptr_array_add (out, l);
	}
	return g_steal_pointer (&out);
}

gboolean
ac_crn_parse_notify (guint http_status, const gchar *body, gsize len, GError **error)
{
	g_autoptr(JsonNode) node = ac_json_parse_untrusted ("allocation", body, len, NULL);
	JsonObject *o = (node != NULL && JSON_NODE_HOLDS_OBJECT (node)) ? json_node_get_object (node)
									 : NULL;

	if (http_status == 200 && o != NULL && obj_bool (o, "success"))
		return TRUE;
	if (o != NULL && obj_obj (o, "errors") != NULL) {
		g_autofree gchar *errs = NULL;
		JsonNode *n = json_object_get_member (o, "errors");
		errs = ac_json_to_python_compact (n);
		if (strlen (errs) > 512)
			errs[512] = '\0';
		g_set_error (error, AC_ERROR, AC_ERROR_REMOTE,
			     "the CRN could not allocate the instance: HTTP %u: %s", http_status, errs);
		return FALSE;
	}
	{
		g_autofree gchar *text = ac_http_error_text (body, len);
		g_set_error (error, AC_ERROR, AC_ERROR_REMOTE,
			     "the CRN could not allocate the instance: HTTP %u: %s", http_status, text);
	}
	return FALSE;
}

gboolean
ac_http_parse_content_range (const gchar *value,
                             guint64 *start,
                             guint64 *end,
                             guint64 *total,
                             GError **error)
{
	const gchar *p = value;
	guint64 v[3] = { 0, 0, 0 };
	const gchar seps[3] = { '-', '/', '\0' };

	if (value == NULL || !g_str_has_prefix (value, "bytes ")) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_REMOTE,
		                     "no Content-Range of the form 'bytes START-END/SIZE'");
		return FALSE;
	}
	p += strlen ("bytes ");
	for (guint i = 0; i < 3; i++) {
		guint n = 0;
		/* at most 19 digits: no overflow of a guint64 */
		while (g_ascii_isdigit (*p) && n < 19) {
			v[i] = v[i] * 10 + (guint64)(*p - '0');
			p++;
			n++;
		}
		if (n == 0 || *p != seps[i]) {
			g_autofree gchar *shown = g_strescape (value, NULL);
			g_set_error (error, AC_ERROR, AC_ERROR_REMOTE,
			             "Content-Range '%.80s' is not 'bytes START-END/SIZE'", shown);
			return FALSE;
		}
		if (seps[i] != '\0')
			p++;
	}
	if (v[0] > v[1] || v[1] >= v[2]) {
		g_autofree gchar *shown = g_strescape (value, NULL);
		g_set_error (error, AC_ERROR, AC_ERROR_REMOTE,
		             "Content-Range '%.80s': a range outside the file", shown);
		return FALSE;
	}
	*start = v[0];
	*end = v[1];
	*total = v[2];
	return TRUE;
}
