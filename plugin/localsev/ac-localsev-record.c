/*
 * The record of a prepared launch: its JSON, its file, its state, and the copy shipped signed
 * in the domain's metadata for a hook on another machine.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "ac-localsev.h"
#include "ac-localsev-private.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ac-error.h"
#include "ac-json.h"
#include "ac-time.h"
#include "ac-codec.h"
#include "ac-localsev-store.h"

#define RECORD_FILE "prepared.json"
#define RECORD_VERSION 2
#define RECORD_MAX (64 * 1024)

/* ------------------------------------------------------------------------------------------ */
/* the record                                                                                 */

static const gchar *state_names[] = { "prepared", "launched", "consumed", "attested" };

const gchar *
ac_localsev_record_state_to_string (AcLocalsevState state)
{
	if ((guint)state < G_N_ELEMENTS (state_names))
		return state_names[state];
	return "unknown";
}

void
ac_localsev_record_free (AcLocalsevRecord *record)
{
	if (record == NULL)
		return;
	g_free (record->domain);
	g_free (record->uuid);
	g_free (record->session_id);
	g_free (record->prepared);
	g_free (record->state_time);
	g_free (record->dh_cert);
	g_free (record->session);
	g_free (record->pdh_sha256);
	g_free (record->chain_generation);
	g_free (record->firmware_path);
	g_free (record->firmware_sha256);
	g_free (record->loader);
	g_free (record->disk_dev);
	g_free (record->disk_source);
	g_free (record->firmware);
	g_free (record->disk_type);
	g_free (record->disk_driver);
	g_free (record->disk_source_xml);
	g_free (record->disk_backing);
	g_free (record->expires);
	g_free (record->host);
	g_free (record->measurement);
	g_free (record->kernel);
	g_free (record->initrd);
	g_free (record->cmdline);
	g_free (record->cpu_model);
	g_free (record->owner);
	g_free (record->runtime_sha256);
	g_free (record->expected_measurement);
	g_free (record);
}

gchar *
ac_localsev_record_to_json (const AcLocalsevRecord *r)
{
	g_autoptr (JsonBuilder) b = json_builder_new ();
	g_autoptr (JsonNode) root = NULL;

	json_builder_begin_object (b);
	ac_json_builder_add_int (b, "version", RECORD_VERSION);
	ac_json_builder_add_string_or_null (b, "domain", r->domain);
	ac_json_builder_add_string_or_null (b, "uuid", r->uuid);
	ac_json_builder_add_string_or_null (b, "session-id", r->session_id);
	ac_json_builder_add_string_or_null (b, "prepared", r->prepared);
	ac_json_builder_add_string_or_null (b, "state",
	                                    ac_localsev_record_state_to_string (r->state));
	ac_json_builder_add_string_or_null (b, "state-time", r->state_time);
	ac_json_builder_add_int (b, "policy", r->policy);
	ac_json_builder_add_int (b, "cbitpos", r->cbitpos);
	ac_json_builder_add_int (b, "reduced-phys-bits", r->reduced_phys_bits);
	ac_json_builder_add_string_or_null (b, "dh-cert", r->dh_cert);
	ac_json_builder_add_string_or_null (b, "session", r->session);
	ac_json_builder_add_string_or_null (b, "pdh-sha256", r->pdh_sha256);
	ac_json_builder_add_string_or_null (b, "chain-generation", r->chain_generation);
	ac_json_builder_add_string_or_null (b, "firmware-path", r->firmware_path);
	ac_json_builder_add_string_or_null (b, "firmware-sha256", r->firmware_sha256);
	ac_json_builder_add_string_or_null (b, "loader", r->loader);
	ac_json_builder_add_int (b, "vcpus", r->vcpus);
	ac_json_builder_add_string_or_null (b, "disk-dev", r->disk_dev);
	ac_json_builder_add_string_or_null (b, "disk-source", r->disk_source);
	ac_json_builder_add_string_or_null (b, "firmware", r->firmware);
	ac_json_builder_add_string_or_null (b, "disk-type", r->disk_type);
	ac_json_builder_add_string_or_null (b, "disk-driver", r->disk_driver);
	ac_json_builder_add_string_or_null (b, "disk-source-xml", r->disk_source_xml);
	ac_json_builder_add_string_or_null (b, "disk-backing", r->disk_backing);
	ac_json_builder_add_string_or_null (b, "expires", r->expires);
	ac_json_builder_add_string_or_null (b, "host", r->host);
	ac_json_builder_add_string_or_null (b, "measurement", r->measurement);
	if (r->tee == AC_TEE_SNP) {
		g_autofree gchar *policy
		    = g_strdup_printf ("0x%" G_GINT64_MODIFIER "x", r->snp_policy);
		ac_json_builder_add_string_or_null (b, "tee", "snp");
		ac_json_builder_add_string_or_null (b, "snp-policy", policy);
		ac_json_builder_add_string_or_null (b, "kernel", r->kernel);
		ac_json_builder_add_string_or_null (b, "initrd", r->initrd);
		ac_json_builder_add_string_or_null (b, "cmdline", r->cmdline);
		ac_json_builder_add_string_or_null (b, "cpu-model", r->cpu_model);
		ac_json_builder_add_string_or_null (b, "owner", r->owner);
		ac_json_builder_add_string_or_null (b, "runtime-sha256", r->runtime_sha256);
		ac_json_builder_add_string_or_null (b, "expected-measurement",
		                                    r->expected_measurement);
		ac_json_builder_add_int (b, "agent-port", r->agent_port);
	}
	json_builder_end_object (b);
	root = json_builder_get_root (b);
	return json_to_string (root, TRUE);
}

/* a string member of a JSON object from a file of @what, e.g. "launch record" */
gboolean
ac_localsev_record_json_get_str (JsonObject *o,
                                 const gchar *what,
                                 const gchar *name,
                                 gboolean required,
                                 gchar **out,
                                 GError **error)
{
	JsonNode *n = json_object_get_member (o, name);
	if (n == NULL || JSON_NODE_HOLDS_NULL (n)) {
		if (!required)
			return TRUE;
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT, "%s: '%s' is missing", what,
		             name);
		return FALSE;
	}
	if (!JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_STRING) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT, "%s: '%s' is not a string",
		             what, name);
		return FALSE;
	}
	*out = g_strdup (json_node_get_string (n));
	return TRUE;
}

static gboolean
get_str (JsonObject *o, const gchar *name, gboolean required, gchar **out, GError **error)
{
	return ac_localsev_record_json_get_str (o, "launch record", name, required, out, error);
}

static gboolean
get_uint (JsonObject *o, const gchar *name, guint64 max, guint64 *out, GError **error)
{
	JsonNode *n = json_object_get_member (o, name);
	gint64 v;
	if (n == NULL || !JSON_NODE_HOLDS_VALUE (n)
	    || json_node_get_value_type (n) != G_TYPE_INT64) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "launch record: '%s' is missing or not an integer", name);
		return FALSE;
	}
	v = json_node_get_int (n);
	if (v < 0 || (guint64)v > max) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "launch record: '%s' is %" G_GINT64_FORMAT
		             ", expected 0 to %" G_GUINT64_FORMAT,
		             name, v, max);
		return FALSE;
	}
	*out = (guint64)v;
	return TRUE;
}

/* the SEV-SNP members of a record (tee "snp"): all required, each of its form */
static gboolean
ac_localsev_record_snp_from_json (JsonObject *o, AcLocalsevRecord *r, GError **error)
{
	g_autofree gchar *policy = NULL;
	guint64 v = 0;

	if (r->dh_cert != NULL || r->session != NULL || r->pdh_sha256 != NULL
	    || r->chain_generation != NULL) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		                     "launch record: an SEV-SNP launch has no SEV session "
		                     "(dh-cert, session, pdh-sha256, chain-generation)");
		return FALSE;
	}
	if (!get_str (o, "snp-policy", TRUE, &policy, error)
	    || !get_str (o, "kernel", TRUE, &r->kernel, error)
	    || !get_str (o, "initrd", TRUE, &r->initrd, error)
	    || !get_str (o, "cmdline", TRUE, &r->cmdline, error)
	    || !get_str (o, "cpu-model", TRUE, &r->cpu_model, error)
	    || !get_str (o, "owner", TRUE, &r->owner, error)
	    || !get_str (o, "runtime-sha256", TRUE, &r->runtime_sha256, error)
	    || !get_str (o, "expected-measurement", TRUE, &r->expected_measurement, error)
	    || !get_uint (o, "agent-port", G_MAXUINT16, &v, error))
		return FALSE;
	r->agent_port = (guint)v;
	if (!g_str_has_prefix (policy, "0x")
	    || !g_ascii_string_to_unsigned (policy + 2, 16, 0, G_MAXUINT64, &r->snp_policy, NULL)) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "launch record: snp-policy '%s' is not a 0x hex number", policy);
		return FALSE;
	}
	if (!ac_codec_hex_is_valid (r->expected_measurement, 96, AC_CODEC_HEX_LOWER)
	    || !ac_codec_hex_is_valid (r->runtime_sha256, 64, AC_CODEC_HEX_LOWER)
	    || !ac_codec_hex_is_valid (r->owner, 40, AC_CODEC_HEX_REQUIRE_0X)) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		                     "launch record: expected-measurement, runtime-sha256 or owner "
		                     "is not hex of the expected length");
		return FALSE;
	}
	return TRUE;
}

/* the record's top-level object: at most RECORD_MAX bytes of JSON, of RECORD_VERSION */
static JsonObject *
record_parse_object (const gchar *json, gssize len, GError **error)
{
	g_autoptr (JsonParser) parser = json_parser_new ();
	g_autoptr (GError) error_local = NULL;
	gsize n = len < 0 ? strlen (json) : (gsize)len;
	JsonNode *root;
	JsonObject *o;
	guint64 v = 0;

	if (n > RECORD_MAX) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "launch record has %" G_GSIZE_FORMAT " bytes, more than %d", n,
		             RECORD_MAX);
		return NULL;
	}
	if (!json_parser_load_from_data (parser, json, (gssize)n, &error_local)) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "launch record is not JSON: %s", error_local->message);
		return NULL;
	}
	root = json_parser_get_root (parser);
	if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root)) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		                     "launch record is not a JSON object");
		return NULL;
	}
	o = json_node_get_object (root);
	if (!get_uint (o, "version", G_MAXUINT32, &v, error))
		return NULL;
	if (v != RECORD_VERSION) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "launch record version %" G_GUINT64_FORMAT ", expected %d", v,
		             RECORD_VERSION);
		return NULL;
	}
	return json_object_ref (o);
}

/* "tee": sev (or none, the records before SEV-SNP) or snp */
static gboolean
record_read_tee (JsonObject *o, AcLocalsevRecord *r, GError **error)
{
	g_autofree gchar *tee = NULL;

	if (!get_str (o, "tee", FALSE, &tee, error))
		return FALSE;
	if (tee == NULL || g_strcmp0 (tee, "sev") == 0) {
		r->tee = AC_TEE_SEV;
	} else if (g_strcmp0 (tee, "snp") == 0) {
		r->tee = AC_TEE_SNP;
	} else {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "launch record: tee '%s' is unknown, expected sev or snp", tee);
		return FALSE;
	}
	return TRUE;
}

/* the numbers: policy, cbitpos, reduced-phys-bits, vcpus, each in its range */
static gboolean
record_read_numbers (JsonObject *o, AcLocalsevRecord *r, GError **error)
{
	guint64 v = 0;

	if (!get_uint (o, "policy", G_MAXUINT32, &v, error))
		return FALSE;
	r->policy = (guint32)v;
	if (!get_uint (o, "cbitpos", 63, &v, error))
		return FALSE;
	r->cbitpos = (guint)v;
	if (!get_uint (o, "reduced-phys-bits", 63, &v, error))
		return FALSE;
	r->reduced_phys_bits = (guint)v;
	if (!get_uint (o, "vcpus", 4096, &v, error))
		return FALSE;
	r->vcpus = (guint)v;
	return TRUE;
}

/* the state by its name, the UUID's form, the expiry an ISO 8601 time */
static gboolean
record_check (AcLocalsevRecord *r, const gchar *state, GError **error)
{
	g_autoptr (GDateTime) expires = NULL;
	gboolean found = FALSE;

	for (guint i = 0; i < G_N_ELEMENTS (state_names); i++) {
		if (g_strcmp0 (state, state_names[i]) == 0) {
			r->state = (AcLocalsevState)i;
			found = TRUE;
		}
	}
	if (!found) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "launch record: state '%s' is unknown", state);
		return FALSE;
	}
	if (!ac_localsev_store_check_uuid (r->uuid, error))
		return FALSE;
	expires = g_date_time_new_from_iso8601 (r->expires, NULL);
	if (expires == NULL) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "launch record: expires '%s' is not an ISO 8601 UTC time", r->expires);
		return FALSE;
	}
	return TRUE;
}

AcLocalsevRecord *
ac_localsev_record_from_json (const gchar *json, gssize len, GError **error)
{
	g_autoptr (AcLocalsevRecord) r = g_new0 (AcLocalsevRecord, 1);
	g_autoptr (JsonObject) o = record_parse_object (json, len, error);
	g_autofree gchar *state = NULL;

	if (o == NULL || !record_read_tee (o, r, error))
		return NULL;
	if (!get_str (o, "domain", TRUE, &r->domain, error)
	    || !get_str (o, "uuid", TRUE, &r->uuid, error)
	    || !get_str (o, "session-id", TRUE, &r->session_id, error)
	    || !get_str (o, "prepared", TRUE, &r->prepared, error)
	    || !get_str (o, "state", TRUE, &state, error)
	    || !get_str (o, "state-time", FALSE, &r->state_time, error)
	    || !get_str (o, "dh-cert", r->tee == AC_TEE_SEV, &r->dh_cert, error)
	    || !get_str (o, "session", r->tee == AC_TEE_SEV, &r->session, error)
	    || !get_str (o, "pdh-sha256", r->tee == AC_TEE_SEV, &r->pdh_sha256, error)
	    || !get_str (o, "chain-generation", r->tee == AC_TEE_SEV, &r->chain_generation, error)
	    || !get_str (o, "firmware-path", TRUE, &r->firmware_path, error)
	    || !get_str (o, "firmware-sha256", TRUE, &r->firmware_sha256, error)
	    || !get_str (o, "loader", FALSE, &r->loader, error)
	    || !get_str (o, "disk-dev", FALSE, &r->disk_dev, error)
	    || !get_str (o, "disk-source", FALSE, &r->disk_source, error)
	    || !get_str (o, "firmware", TRUE, &r->firmware, error)
	    || !get_str (o, "disk-type", FALSE, &r->disk_type, error)
	    || !get_str (o, "disk-driver", TRUE, &r->disk_driver, error)
	    || !get_str (o, "disk-source-xml", FALSE, &r->disk_source_xml, error)
	    || !get_str (o, "disk-backing", FALSE, &r->disk_backing, error)
	    || !get_str (o, "expires", TRUE, &r->expires, error)
	    || !get_str (o, "host", FALSE, &r->host, error)
	    || !get_str (o, "measurement", FALSE, &r->measurement, error))
		return NULL;
	if (!record_read_numbers (o, r, error) || !record_check (r, state, error))
		return NULL;
	if (r->tee == AC_TEE_SNP && !ac_localsev_record_snp_from_json (o, r, error))
		return NULL;
	if (!ac_codec_hex_is_valid (r->session_id, 32, AC_CODEC_HEX_LOWER)
	    || (r->tee == AC_TEE_SEV
	        && !ac_codec_hex_is_valid (r->pdh_sha256, 64, AC_CODEC_HEX_LOWER))
	    || !ac_codec_hex_is_valid (r->firmware_sha256, 64, AC_CODEC_HEX_LOWER)) {
		g_set_error_literal (
		    error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		    "launch record: session-id, pdh-sha256 or firmware-sha256 is not "
		    "lowercase hex of the expected length");
		return NULL;
	}
	return g_steal_pointer (&r);
}

gboolean
ac_localsev_record_save (const gchar *dir, const AcLocalsevRecord *record, GError **error)
{
	g_autofree gchar *json = ac_localsev_record_to_json (record);
	g_autofree gchar *path = g_build_filename (dir, RECORD_FILE, NULL);

	return ac_localsev_store_write (path, json, G_FILE_SET_CONTENTS_NONE,
	                                "write the launch record", error);
}

AcLocalsevRecord *
ac_localsev_record_load_from (const gchar *dir, const gchar *domain, GError **error)
{
	g_autofree gchar *path = g_build_filename (dir, RECORD_FILE, NULL);
	g_autofree gchar *json = NULL;
	g_autoptr (GError) error_local = NULL;
	gsize len = 0;
	AcLocalsevRecord *record;

	if (!g_file_get_contents (path, &json, &len, &error_local)) {
		if (g_error_matches (error_local, G_FILE_ERROR, G_FILE_ERROR_NOENT)) {
			g_set_error (error, AC_ERROR, AC_ERROR_NOT_FOUND,
			             "no SEV launch was prepared for domain '%s' (%s does not "
			             "exist): prepare one first",
			             domain, path);
			return NULL;
		}
		g_set_error (error, AC_ERROR, AC_ERROR_IO, "%s", error_local->message);
		return NULL;
	}
	record = ac_localsev_record_from_json (json, (gssize)len, &error_local);
	if (record == NULL) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT, "%s: %s", path,
		             error_local->message);
		return NULL;
	}
	return record;
}

AcLocalsevRecord *
ac_localsev_record_load (const gchar *state_dir, const gchar *uuid, GError **error)
{
	g_autofree gchar *dir = ac_localsev_store_domain_dir_full (state_dir, uuid, FALSE, error);
	if (dir == NULL)
		return NULL;
	return ac_localsev_record_load_from (dir, uuid, error);
}

gboolean
ac_localsev_record_mark_launched (const gchar *state_dir, const gchar *uuid, GError **error)
{
	g_autofree gchar *dir = ac_localsev_store_domain_dir_full (state_dir, uuid, FALSE, error);
	g_autoptr (AcLocalsevRecord) record = NULL;

	if (dir == NULL)
		return FALSE;
	record = ac_localsev_record_load_from (dir, uuid, error);
	if (record == NULL)
		return FALSE;
	if (record->state != AC_LOCALSEV_STATE_PREPARED) {
		g_set_error (error, AC_ERROR, AC_ERROR_REFUSED,
		             "stale session: session %s of domain '%s' is already %s",
		             record->session_id, record->domain,
		             ac_localsev_record_state_to_string (record->state));
		return FALSE;
	}
	/* the load, check and save above race with a concurrent start of the same session: the
	 * session's marker, created with O_EXCL, lets exactly one of them through */
	if (!ac_localsev_record_session_mark_used (state_dir, record->session_id, error))
		return FALSE;
	record->state = AC_LOCALSEV_STATE_LAUNCHED;
	g_free (record->state_time);
	record->state_time = ac_time_now_utc ();
	return ac_localsev_record_save (dir, record, error);
}

/* ------------------------------------------------------------------------------------------ */
/* the record shipped in the domain's metadata                                                */

/* 0x + @len lowercase or uppercase hex digits */
static gboolean
ac_localsev_is_0x_hex (const gchar *s, gsize len)
{
	if (s == NULL || strlen (s) != len + 2 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X'))
		return FALSE;
	for (gsize i = 2; i < len + 2; i++) {
		if (!g_ascii_isxdigit (s[i]))
			return FALSE;
	}
	return TRUE;
}

/* the <launch> element for @r, signed with opts->sign */
gchar *
ac_localsev_record_launch_element (const AcLocalsevOptions *opts,
                                   const AcLocalsevRecord *r,
                                   GError **error)
{
	g_autofree gchar *json = ac_localsev_record_to_json (r);
	g_autofree gchar *signer = NULL;
	g_autofree gchar *signature = NULL;
	g_autofree gchar *b64 = NULL;

	signature
	    = opts->sign ((const guint8 *)json, strlen (json), &signer, opts->sign_data, error);
	if (signature == NULL) {
		g_prefix_error (error, "cannot sign the launch record of domain '%s': ", r->domain);
		return NULL;
	}
	if (!ac_localsev_is_0x_hex (signer, 40) || !ac_localsev_is_0x_hex (signature, 130)) {
		g_set_error (
		    error, AC_ERROR, AC_ERROR_INTERNAL,
		    "the signer of the launch record gave a malformed address or signature");
		return NULL;
	}
	b64 = g_base64_encode ((const guchar *)json, strlen (json));
	return g_strdup_printf (
	    "<" AC_LAUNCH_PREFIX ":launch xmlns:" AC_LAUNCH_PREFIX "=\"" AC_LAUNCH_NS
	    "\" signer=\"%s\" signature=\"%s\">%s</" AC_LAUNCH_PREFIX ":launch>",
	    signer, signature, b64);
}

/**
 * ac_localsev_record_launch_read:
 *
 * The launch record a domain carries in its metadata, decoded and parsed but not verified:
 * the signature is the caller's to check (the hook's gatekeeper against its trusted owners).
 *
 * Returns: the record, or %NULL with %AC_ERROR_NOT_FOUND when there is none and
 * %AC_ERROR_REFUSED when it is malformed.
 */
AcLocalsevRecord *
ac_localsev_record_launch_read (const gchar *domain_xml,
                                gsize len,
                                GBytes **payload,
                                gchar **signer,
                                gchar **signature,
                                GError **error)
{
	g_autoptr (AcDomain) dom = NULL;
	g_autoptr (GError) error_local = NULL;
	g_autofree guint8 *json = NULL;
	gsize json_len = 0;
	AcLocalsevRecord *record;

	g_return_val_if_fail (domain_xml != NULL, NULL);

	dom = ac_domain_parse (domain_xml, (gssize)len, error);
	if (dom == NULL)
		return NULL;
	if (!dom->has_launch_record) {
		g_set_error (error, AC_ERROR, AC_ERROR_NOT_FOUND,
		             "domain '%s' carries no launch record (<metadata><launch xmlns='%s'>)",
		             dom->name != NULL ? dom->name : "?", AC_LAUNCH_NS);
		return NULL;
	}
	if (!ac_localsev_is_0x_hex (dom->launch_signer, 40)
	    || !ac_localsev_is_0x_hex (dom->launch_signature, 130)) {
		g_set_error (
		    error, AC_ERROR, AC_ERROR_REFUSED,
		    "the launch record of domain '%s' is not signed (signer='0x' and 40 hex "
		    "digits, signature='0x' and 130 hex digits expected)",
		    dom->name != NULL ? dom->name : "?");
		return NULL;
	}
	json = ac_codec_base64_decode ("the launch record", dom->launch_record, 1, RECORD_MAX,
	                               AC_ERROR_REFUSED, &json_len, error);
	if (json == NULL)
		return NULL;
	record = ac_localsev_record_from_json ((const gchar *)json, (gssize)json_len, &error_local);
	if (record == NULL) {
		g_set_error (error, AC_ERROR, AC_ERROR_REFUSED, "domain '%s': %s",
		             dom->name != NULL ? dom->name : "?", error_local->message);
		return NULL;
	}
	if (payload != NULL)
		*payload = g_bytes_new (json, json_len);
	if (signer != NULL)
		*signer = g_strdup (dom->launch_signer);
	if (signature != NULL)
		*signature = g_strdup (dom->launch_signature);
	return record;
}

/* @a names the same machine as @b: equal, or the fully qualified form of a short name */
static gboolean
ac_localsev_record_same_host (const gchar *a, const gchar *b)
{
	gsize n = strlen (b);
	if (g_ascii_strcasecmp (a, b) == 0)
		return TRUE;
	return strchr (b, '.') == NULL && n > 0 && g_ascii_strncasecmp (a, b, n) == 0
	       && a[n] == '.';
}

/**
 * ac_localsev_record_needs_refresh:
 * @now: (nullable): %NULL = now
 *
 * Whether half of the record's lifetime has passed: the service then prepares a fresh
 * launch, so that a record is never close to its expiry when a start comes.
 */
gboolean
ac_localsev_record_needs_refresh (const AcLocalsevRecord *record, GDateTime *now)
{
	g_autoptr (GDateTime) prepared = g_date_time_new_from_iso8601 (record->prepared, NULL);
	g_autoptr (GDateTime) expires = g_date_time_new_from_iso8601 (record->expires, NULL);
	g_autoptr (GDateTime) at = now != NULL ? g_date_time_ref (now) : g_date_time_new_now_utc ();
	g_autoptr (GDateTime) half = NULL;

	if (prepared == NULL || expires == NULL)
		return TRUE;
	half = g_date_time_add (prepared, g_date_time_difference (expires, prepared) / 2);
	return g_date_time_compare (at, half) >= 0;
}

/**
 * ac_localsev_record_check_shipped:
 * @host_id: this machine's host id ([hook] host-id, default its host name)
 * @now: (nullable): the time to judge expiry at; %NULL = now
 *
 * A record shipped in a domain's metadata serves only the host it was prepared for, and
 * only until it expires: a signed record copied to another host, or kept for later, is
 * refused there.
 *
 * Returns: %FALSE with %AC_ERROR_REFUSED naming the host or the expiry.
 */
gboolean
ac_localsev_record_check_shipped (const AcLocalsevRecord *record,
                                  const gchar *host_id,
                                  GDateTime *now,
                                  GError **error)
{
	g_autoptr (GDateTime) expires = NULL;
	g_autoptr (GDateTime) at = now != NULL ? g_date_time_ref (now) : g_date_time_new_now_utc ();

	g_return_val_if_fail (record != NULL, FALSE);
	g_return_val_if_fail (host_id != NULL, FALSE);

	if (record->host == NULL || !ac_localsev_record_same_host (record->host, host_id)) {
		g_set_error (
		    error, AC_ERROR, AC_ERROR_REFUSED,
		    "its launch record was prepared for host '%s', and this host is '%s' "
		    "([hook] host-id in %s); a record serves the host it was made for only",
		    record->host != NULL ? record->host : "(none)", host_id, AC_HOOK_CONF);
		return FALSE;
	}
	expires = g_date_time_new_from_iso8601 (record->expires, NULL);
	if (expires == NULL || g_date_time_compare (at, expires) >= 0) {
		g_set_error (
		    error, AC_ERROR, AC_ERROR_REFUSED,
		    "its launch record (session %s, prepared %s) expired at %s; virt-alephd "
		    "prepares a fresh one: check 'virt-aleph status %s'",
		    record->session_id, record->prepared,
		    record->expires != NULL ? record->expires : "(unknown)", record->domain);
		return FALSE;
	}
	return TRUE;
}

/**
 * ac_localsev_record_session_mark_used:
 *
 * The one-start rule for sessions prepared on another machine: the first start of
 * @session_id creates its marker, every later one is refused. Markers are never removed
 * (each is an empty file; a session id is 128 random bits).
 */
gboolean
ac_localsev_record_session_mark_used (const gchar *state_dir,
                                      const gchar *session_id,
                                      GError **error)
{
	g_autofree gchar *dir = NULL;
	g_autofree gchar *path = NULL;
	int fd;

	if (!ac_codec_hex_is_valid (session_id, 32, AC_CODEC_HEX_LOWER)) {
		g_set_error (error, AC_ERROR, AC_ERROR_REFUSED,
		             "session id '%s' is not 32 lowercase hex digits",
		             session_id != NULL ? session_id : "(none)");
		return FALSE;
	}
	dir = g_build_filename (state_dir, "hook", "sessions", NULL);
	if (g_mkdir_with_parents (dir, 0700) != 0) {
		g_set_error (error, AC_ERROR, AC_ERROR_IO, "cannot create %s: %s", dir,
		             g_strerror (errno));
		return FALSE;
	}
	path = g_build_filename (dir, session_id, NULL);
	fd = g_open (path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		int saved = errno;
		if (saved == EEXIST)
			g_set_error (error, AC_ERROR, AC_ERROR_REFUSED,
			             "stale session: session %s was already used for a start (a "
			             "session serves one launch only); the service must prepare a "
			             "fresh one",
			             session_id);
		else
			g_set_error (error, AC_ERROR, AC_ERROR_IO,
			             "cannot record that session %s is used: %s", session_id,
			             g_strerror (saved));
		return FALSE;
	}
	g_close (fd, NULL);
	return TRUE;
}
