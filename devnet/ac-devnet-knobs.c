/*
 * aleph-confidential devnet: fault knobs and attacks.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <math.h>

#include "ac-aleph-util.h"
#include "ac-devnet-knobs.h"
#include "ac-error.h"
#include "ac-json.h"

static const gchar *const endpoint_names[AC_DEVNET_EP_LAST] = {
	[AC_DEVNET_EP_MESSAGES_POST] = "messages.post",
	[AC_DEVNET_EP_MESSAGES_GET] = "messages.get",
	[AC_DEVNET_EP_MESSAGES_JSON] = "messages.json",
	[AC_DEVNET_EP_STORAGE_ADD_FILE] = "storage.add_file",
	[AC_DEVNET_EP_IPFS_ADD_FILE] = "ipfs.add_file",
	[AC_DEVNET_EP_IPFS_ADD_CAR] = "ipfs.add_car",
	[AC_DEVNET_EP_STORAGE_RAW] = "storage.raw",
	[AC_DEVNET_EP_CRNS_LIST] = "crns.json",
	[AC_DEVNET_EP_CCN_OTHER] = "ccn.other",
	[AC_DEVNET_EP_CRN_CERTIFICATES] = "crn.certificates",
	[AC_DEVNET_EP_CRN_NOTIFY] = "crn.notify",
	[AC_DEVNET_EP_CRN_INITIALIZE] = "crn.initialize",
	[AC_DEVNET_EP_CRN_MEASUREMENT] = "crn.measurement",
	[AC_DEVNET_EP_CRN_INJECT_SECRET] = "crn.inject_secret",
	[AC_DEVNET_EP_CRN_OPERATE] = "crn.operate",
	[AC_DEVNET_EP_CRN_OTHER] = "crn.other",
};

static const gchar *const attack_names[AC_DEVNET_ATTACK_LAST] = {
	[AC_DEVNET_ATTACK_NONE] = "none",
	[AC_DEVNET_ATTACK_SELF_SIGNED_CHAIN] = "self-signed-chain",
	[AC_DEVNET_ATTACK_SWAP_PDH] = "swap-pdh",
	[AC_DEVNET_ATTACK_OTHER_FIRMWARE] = "other-firmware",
	[AC_DEVNET_ATTACK_REPLAY_MEASUREMENT] = "replay-measurement",
	[AC_DEVNET_ATTACK_SNP_OTHER_CHIP] = "snp-other-chip",
	[AC_DEVNET_ATTACK_SNP_REPLAY] = "snp-replay",
	[AC_DEVNET_ATTACK_SNP_WRONG_MEASUREMENT] = "snp-wrong-measurement",
	[AC_DEVNET_ATTACK_SNP_TCB_BELOW_FLOOR] = "snp-tcb-below-floor",
	[AC_DEVNET_ATTACK_SNP_REVOKED_ASK] = "snp-revoked-ask",
	[AC_DEVNET_ATTACK_SNP_WRONG_RUNTIME] = "snp-wrong-runtime",
	[AC_DEVNET_ATTACK_SNP_DEBUG_POLICY] = "snp-debug-policy",
	[AC_DEVNET_ATTACK_SNP_RELAY] = "snp-relay",
	[AC_DEVNET_ATTACK_SNP_STALE_NONCE] = "snp-stale-nonce",
	[AC_DEVNET_ATTACK_SNP_EARLY_ASK] = "snp-early-ask",
};

const gchar *
ac_devnet_knobs_endpoint_to_string (AcDevnetEndpoint ep)
{
	if ((guint)ep >= AC_DEVNET_EP_LAST)
		return "unknown";
	return endpoint_names[ep];
}

gboolean
ac_devnet_knobs_endpoint_from_string (const gchar *name, AcDevnetEndpoint *ep)
{
	for (guint i = 0; i < AC_DEVNET_EP_LAST; i++) {
		if (g_strcmp0 (name, endpoint_names[i]) == 0) {
			*ep = (AcDevnetEndpoint)i;
			return TRUE;
		}
	}
	return FALSE;
}

const gchar *
ac_devnet_knobs_attack_to_string (AcDevnetAttack attack)
{
	if ((guint)attack >= AC_DEVNET_ATTACK_LAST)
		return "unknown";
	return attack_names[attack];
}

gboolean
ac_devnet_knobs_attack_from_string (const gchar *name, AcDevnetAttack *attack, GError **error)
{
	for (guint i = 0; i < AC_DEVNET_ATTACK_LAST; i++) {
		if (g_strcmp0 (name, attack_names[i]) == 0) {
			*attack = (AcDevnetAttack)i;
			return TRUE;
		}
	}
	g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
	             "attack '%s' is unknown, expected none, self-signed-chain, swap-pdh, "
	             "other-firmware, replay-measurement, snp-other-chip, snp-replay, "
	             "snp-wrong-measurement, snp-tcb-below-floor, snp-revoked-ask, "
	             "snp-wrong-runtime, snp-debug-policy, snp-relay, snp-stale-nonce or "
	             "snp-early-ask",
	             name != NULL ? name : "(null)");
	return FALSE;
}

static void
ac_devnet_fault_init (AcDevnetFault *f)
{
	f->rate = 0;
	f->status = 503;
	f->fail_next = 0;
	f->latency_ms = -1;
	f->drop_after = 0;
	f->drop_next = -1;
}

void
ac_devnet_knobs_init (AcDevnetKnobs *knobs, guint n_crns)
{
	memset (knobs, 0, sizeof (*knobs));
	for (guint i = 0; i < AC_DEVNET_EP_LAST; i++)
		ac_devnet_fault_init (&knobs->faults[i]);
	knobs->n_crns = MIN (n_crns, AC_DEVNET_MAX_CRNS);
	ac_payment_cutoffs_init_default (&knobs->payment_cutoffs);
}

static const struct {
	const gchar *name;
	gsize offset;
} cutoff_names[] = {
	{ "instance_hold", G_STRUCT_OFFSET (AcPaymentCutoffs, instance_hold) },
	{ "instance_superfluid", G_STRUCT_OFFSET (AcPaymentCutoffs, instance_superfluid) },
	{ "store_hold", G_STRUCT_OFFSET (AcPaymentCutoffs, store_hold) },
};

static gboolean
knob_cutoffs (JsonObject *o, AcPaymentCutoffs *cutoffs, GError **error)
{
	JsonNode *n = json_object_get_member (o, "payment_cutoffs");
	JsonObject *co;
	GList *members;
	AcPaymentCutoffs c = *cutoffs;

	if (n == NULL)
		return TRUE;
	if (!JSON_NODE_HOLDS_OBJECT (n)) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		                     "knob payment_cutoffs: expected an object");
		return FALSE;
	}
	co = json_node_get_object (n);
	members = json_object_get_members (co);
	for (GList *l = members; l != NULL; l = l->next) {
		const gchar *m = l->data;
		JsonNode *v = json_object_get_member (co, m);
		guint i;
		for (i = 0; i < G_N_ELEMENTS (cutoff_names); i++)
			if (g_strcmp0 (m, cutoff_names[i].name) == 0)
				break;
		if (i == G_N_ELEMENTS (cutoff_names)) {
			g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			             "knob payment_cutoffs.%s is unknown, expected instance_hold, "
			             "instance_superfluid or store_hold",
			             m);
			g_list_free (members);
			return FALSE;
		}
		if (!JSON_NODE_HOLDS_VALUE (v) || json_node_get_value_type (v) != G_TYPE_STRING
		    || !ac_payment_cutoff_parse (json_node_get_string (v),
		                                 G_STRUCT_MEMBER_P (&c, cutoff_names[i].offset),
		                                 error)) {
			if (error != NULL && *error == NULL)
				g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
				             "knob payment_cutoffs.%s: expected a date string", m);
			else
				g_prefix_error (error, "knob payment_cutoffs.%s: ", m);
			g_list_free (members);
			return FALSE;
		}
	}
	g_list_free (members);
	*cutoffs = c;
	return TRUE;
}

/* an integer member in [min, max] */
static gboolean
knob_int (JsonObject *o,
          const gchar *ctx,
          const gchar *name,
          gint64 min,
          gint64 max,
          gint64 *out,
          GError **error)
{
	JsonNode *n = json_object_get_member (o, name);
	gdouble d;
	if (n == NULL)
		return TRUE;
	if (!JSON_NODE_HOLDS_VALUE (n)
	    || (json_node_get_value_type (n) != G_TYPE_INT64
	        && json_node_get_value_type (n) != G_TYPE_DOUBLE)) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "knob %s%s is not a number, expected an integer in [%" G_GINT64_FORMAT
		             ", %" G_GINT64_FORMAT "]",
		             ctx, name, min, max);
		return FALSE;
	}
	d = json_node_get_double (n);
	if (json_node_get_value_type (n) == G_TYPE_INT64)
		d = (gdouble)json_node_get_int (n);
	if (!isfinite (d) || d != floor (d) || d < (gdouble)min || d > (gdouble)max) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "knob %s%s is %g, expected an integer in [%" G_GINT64_FORMAT
		             ", %" G_GINT64_FORMAT "]",
		             ctx, name, d, min, max);
		return FALSE;
	}
	*out = (gint64)d;
	return TRUE;
}

static gboolean
knob_fault (AcDevnetFault *f, const gchar *epname, JsonNode *node, GError **error)
{
	g_autofree gchar *ctx = g_strdup_printf ("faults.%s.", epname);
	JsonObject *o;
	JsonNode *rate;
	gint64 v;
	GList *members;

	if (!JSON_NODE_HOLDS_OBJECT (node)) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "knob faults.%s is not an object", epname);
		return FALSE;
	}
	o = json_node_get_object (node);
	members = json_object_get_members (o);
	for (GList *l = members; l != NULL; l = l->next) {
		const gchar *m = l->data;
		if (g_strcmp0 (m, "rate") != 0 && g_strcmp0 (m, "status") != 0
		    && g_strcmp0 (m, "fail_next") != 0 && g_strcmp0 (m, "latency_ms") != 0
		    && g_strcmp0 (m, "drop_after") != 0 && g_strcmp0 (m, "drop_next") != 0) {
			g_set_error (
			    error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			    "knob %s%s is unknown, expected rate, status, fail_next, latency_ms, "
			    "drop_after or drop_next",
			    ctx, m);
			g_list_free (members);
			return FALSE;
		}
	}
	g_list_free (members);

	rate = json_object_get_member (o, "rate");
	if (rate != NULL) {
		gdouble r;
		if (!JSON_NODE_HOLDS_VALUE (rate)
		    || (json_node_get_value_type (rate) != G_TYPE_DOUBLE
		        && json_node_get_value_type (rate) != G_TYPE_INT64)) {
			g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			             "knob %srate is not a number, expected 0..1", ctx);
			return FALSE;
		}
		r = json_node_get_value_type (rate) == G_TYPE_INT64
		        ? (gdouble)json_node_get_int (rate)
		        : json_node_get_double (rate);
		if (!isfinite (r) || r < 0 || r > 1) {
			g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			             "knob %srate is %g, expected 0..1", ctx, r);
			return FALSE;
		}
		f->rate = r;
	}
	v = f->status;
	if (!knob_int (o, ctx, "status", 400, 599, &v, error))
		return FALSE;
	f->status = (guint)v;
	v = f->fail_next;
	if (!knob_int (o, ctx, "fail_next", 0, 1000000, &v, error))
		return FALSE;
	f->fail_next = (guint)v;
	v = f->latency_ms;
	if (!knob_int (o, ctx, "latency_ms", -1, AC_DEVNET_MAX_LATENCY_MS, &v, error))
		return FALSE;
	f->latency_ms = (gint)v;
	v = (gint64)f->drop_after;
	if (!knob_int (o, ctx, "drop_after", 0, G_MAXINT64 / 2, &v, error))
		return FALSE;
	f->drop_after = (guint64)v;
	v = f->drop_next;
	if (!knob_int (o, ctx, "drop_next", -1, 1000000, &v, error))
		return FALSE;
	f->drop_next = (gint)v;
	return TRUE;
}

/* knob faults: {"<endpoint>": {…fault…}, …} */
static gboolean
knob_faults (AcDevnetKnobs *k, JsonNode *fn, GError **error)
{
	GList *members;
	JsonObject *fo;
	if (!JSON_NODE_HOLDS_OBJECT (fn)) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		                     "knob faults is not an object of endpoint names");
		return FALSE;
	}
	fo = json_node_get_object (fn);
	members = json_object_get_members (fo);
	for (GList *l = members; l != NULL; l = l->next) {
		const gchar *name = l->data;
		AcDevnetEndpoint ep;
		if (!ac_devnet_knobs_endpoint_from_string (name, &ep)) {
			g_autoptr (GString) all = g_string_new (NULL);
			for (guint i = 0; i < AC_DEVNET_EP_LAST; i++)
				g_string_append_printf (all, "%s%s", i ? ", " : "",
				                        endpoint_names[i]);
			g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			             "knob faults.%s: unknown endpoint, expected one of %s", name,
			             all->str);
			g_list_free (members);
			return FALSE;
		}
		if (!knob_fault (&k->faults[ep], name, json_object_get_member (fo, name), error)) {
			g_list_free (members);
			return FALSE;
		}
	}
	g_list_free (members);
	return TRUE;
}

/* knob attacks: {"<CRN index>": "<attack name>", …} */
static gboolean
knob_attacks (AcDevnetKnobs *k, JsonNode *an, GError **error)
{
	GList *members;
	JsonObject *ao;
	if (!JSON_NODE_HOLDS_OBJECT (an)) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		                     "knob attacks is not an object of CRN indexes");
		return FALSE;
	}
	ao = json_node_get_object (an);
	members = json_object_get_members (ao);
	for (GList *l = members; l != NULL; l = l->next) {
		const gchar *key = l->data;
		JsonNode *val = json_object_get_member (ao, key);
		guint64 idx = 0;
		AcDevnetAttack attack;
		if (!g_ascii_string_to_unsigned (key, 10, 0, k->n_crns > 0 ? k->n_crns - 1 : 0,
		                                 &idx, NULL)
		    || k->n_crns == 0) {
			g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			             "knob attacks.%s: not a CRN index, expected 0..%u", key,
			             k->n_crns > 0 ? k->n_crns - 1 : 0);
			g_list_free (members);
			return FALSE;
		}
		if (!JSON_NODE_HOLDS_VALUE (val)
		    || json_node_get_value_type (val) != G_TYPE_STRING) {
			g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			             "knob attacks.%s is not a string", key);
			g_list_free (members);
			return FALSE;
		}
		if (!ac_devnet_knobs_attack_from_string (json_node_get_string (val), &attack,
		                                         error)) {
			g_prefix_error (error, "knob attacks.%s: ", key);
			g_list_free (members);
			return FALSE;
		}
		k->attacks[idx] = attack;
	}
	g_list_free (members);
	return TRUE;
}

static gboolean
ac_devnet_knobs_apply_obj (AcDevnetKnobs *k, JsonObject *o, GError **error)
{
	GList *members = json_object_get_members (o);
	gint64 v;

	for (GList *l = members; l != NULL; l = l->next) {
		const gchar *m = l->data;
		if (g_strcmp0 (m, "latency_ms") != 0 && g_strcmp0 (m, "processing_delay_ms") != 0
		    && g_strcmp0 (m, "clock_skew_s") != 0 && g_strcmp0 (m, "faults") != 0
		    && g_strcmp0 (m, "attacks") != 0 && g_strcmp0 (m, "clock_offset_s") != 0
		    && g_strcmp0 (m, "payment_cutoffs") != 0
		    && g_strcmp0 (m, "ignore_range") != 0) {
			g_set_error (
			    error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			    "knob %s is unknown, expected latency_ms, processing_delay_ms, "
			    "clock_skew_s, clock_offset_s, payment_cutoffs, ignore_range, faults "
			    "or "
			    "attacks",
			    m);
			g_list_free (members);
			return FALSE;
		}
	}
	g_list_free (members);

	v = k->latency_ms;
	if (!knob_int (o, "", "latency_ms", 0, AC_DEVNET_MAX_LATENCY_MS, &v, error))
		return FALSE;
	k->latency_ms = (guint)v;
	v = k->processing_delay_ms;
	if (!knob_int (o, "", "processing_delay_ms", 0, 3600 * 1000, &v, error))
		return FALSE;
	k->processing_delay_ms = (guint)v;
	v = k->clock_skew_s;
	if (!knob_int (o, "", "clock_skew_s", -86400 * 365, 86400 * 365, &v, error))
		return FALSE;
	k->clock_skew_s = v;
	v = k->clock_offset_s;
	if (!knob_int (o, "", "clock_offset_s", -86400LL * 365 * 20, 86400LL * 365 * 20, &v, error))
		return FALSE;
	k->clock_offset_s = v;
	if (!knob_cutoffs (o, &k->payment_cutoffs, error))
		return FALSE;
	if (json_object_has_member (o, "ignore_range")) {
		JsonNode *n = json_object_get_member (o, "ignore_range");
		if (!JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_BOOLEAN) {
			g_set_error_literal (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			                     "knob ignore_range: expected true or false");
			return FALSE;
		}
		k->ignore_range = json_node_get_boolean (n);
	}

	if (json_object_has_member (o, "faults")
	    && !knob_faults (k, json_object_get_member (o, "faults"), error))
		return FALSE;
	if (json_object_has_member (o, "attacks")
	    && !knob_attacks (k, json_object_get_member (o, "attacks"), error))
		return FALSE;
	return TRUE;
}

gboolean
ac_devnet_knobs_apply (AcDevnetKnobs *knobs, JsonNode *patch, GError **error)
{
	AcDevnetKnobs copy = *knobs;
	if (patch == NULL || !JSON_NODE_HOLDS_OBJECT (patch)) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		                     "knobs: expected a JSON object");
		return FALSE;
	}
	if (!ac_devnet_knobs_apply_obj (&copy, json_node_get_object (patch), error))
		return FALSE;
	*knobs = copy;
	return TRUE;
}

gboolean
ac_devnet_knobs_apply_data (AcDevnetKnobs *knobs, const gchar *data, gsize len, GError **error)
{
	g_autoptr (JsonNode) node = ac_json_parse_untrusted ("knobs", data, len, error);
	if (node == NULL)
		return FALSE;
	return ac_devnet_knobs_apply (knobs, node, error);
}

JsonNode *
ac_devnet_knobs_to_json (const AcDevnetKnobs *k)
{
	g_autoptr (JsonBuilder) b = json_builder_new ();
	json_builder_begin_object (b);
	ac_json_builder_add_int (b, "latency_ms", k->latency_ms);
	ac_json_builder_add_int (b, "processing_delay_ms", k->processing_delay_ms);
	ac_json_builder_add_int (b, "clock_skew_s", k->clock_skew_s);
	ac_json_builder_add_int (b, "clock_offset_s", k->clock_offset_s);
	ac_json_builder_add_boolean (b, "ignore_range", k->ignore_range);
	json_builder_set_member_name (b, "payment_cutoffs");
	json_builder_begin_object (b);
	for (guint i = 0; i < G_N_ELEMENTS (cutoff_names); i++) {
		g_autofree gchar *d = ac_payment_cutoff_to_string (
		    G_STRUCT_MEMBER (gint64, &k->payment_cutoffs, cutoff_names[i].offset));
		ac_json_builder_add_string (b, cutoff_names[i].name, d);
	}
	json_builder_end_object (b);
	json_builder_set_member_name (b, "faults");
	json_builder_begin_object (b);
	for (guint i = 0; i < AC_DEVNET_EP_LAST; i++) {
		const AcDevnetFault *f = &k->faults[i];
		json_builder_set_member_name (b, endpoint_names[i]);
		json_builder_begin_object (b);
		json_builder_set_member_name (b, "rate");
		json_builder_add_double_value (b, f->rate);
		ac_json_builder_add_int (b, "status", f->status);
		ac_json_builder_add_int (b, "fail_next", f->fail_next);
		ac_json_builder_add_int (b, "latency_ms", f->latency_ms);
		ac_json_builder_add_int (b, "drop_after", (gint64)f->drop_after);
		ac_json_builder_add_int (b, "drop_next", f->drop_next);
		json_builder_end_object (b);
	}
	json_builder_end_object (b);
	json_builder_set_member_name (b, "attacks");
	json_builder_begin_object (b);
	for (guint i = 0; i < k->n_crns; i++) {
		g_autofree gchar *key = g_strdup_printf ("%u", i);
		ac_json_builder_add_string (b, key,
		                            ac_devnet_knobs_attack_to_string (k->attacks[i]));
	}
	json_builder_end_object (b);
	json_builder_end_object (b);
	return json_builder_get_root (b);
}

guint
ac_devnet_knobs_take_fault (AcDevnetKnobs *knobs, AcDevnetEndpoint ep, gdouble roll)
{
	AcDevnetFault *f;
	if ((guint)ep >= AC_DEVNET_EP_LAST)
		return 0;
	f = &knobs->faults[ep];
	if (f->fail_next > 0) {
		f->fail_next--;
		return f->status;
	}
	if (f->rate > 0 && roll < f->rate)
		return f->status;
	return 0;
}

guint
ac_devnet_knobs_get_latency (const AcDevnetKnobs *knobs, AcDevnetEndpoint ep)
{
	if ((guint)ep < AC_DEVNET_EP_LAST && knobs->faults[ep].latency_ms >= 0)
		return (guint)knobs->faults[ep].latency_ms;
	return knobs->latency_ms;
}

guint64
ac_devnet_knobs_take_drop (AcDevnetKnobs *knobs, AcDevnetEndpoint ep)
{
	AcDevnetFault *f;
	if ((guint)ep >= AC_DEVNET_EP_LAST)
		return 0;
	f = &knobs->faults[ep];
	if (f->drop_after == 0 || f->drop_next == 0)
		return 0;
	if (f->drop_next > 0)
		f->drop_next--;
	return f->drop_after;
}
