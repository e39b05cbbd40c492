/*
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
#include "ac-localsev-domain.h"
#include "ac-localsev-pin.h"
#include "ac-sev-cert.h"
#include "ac-sev-policy.h"
#include "ac-sev-psp.h"
#include "ac-sev-secret.h"
#include "ac-sev-session.h"

#define RECORD_FILE    "prepared.json"
#define RECORD_VERSION 2
#define RECORD_MAX     (64 * 1024)

/* ------------------------------------------------------------------------------------------ */
/* options                                                                                    */

AcLocalsevOptions *
ac_localsev_options_new (const gchar *state_dir)
{
	AcLocalsevOptions *opts = g_new0 (AcLocalsevOptions, 1);
	opts->state_dir = g_strdup (state_dir != NULL ? state_dir : AC_STATEDIR);
	opts->min_api_major = AC_LOCALSEV_DEFAULT_MIN_API_MAJOR;
	opts->min_api_minor = AC_LOCALSEV_DEFAULT_MIN_API_MINOR;
	/* EPYC (23, 1, 2): QEMU's default model for SEV-ES guests in libvirt's examples */
	opts->cpu_family = 23;
	opts->cpu_model = 1;
	opts->cpu_stepping = 2;
	opts->vmsa_variant = AC_SEV_VMSA_LEGACY;
	opts->lifetime_s = AC_LOCALSEV_DEFAULT_LIFETIME_S;
	return opts;
}

void
ac_localsev_options_free (AcLocalsevOptions *opts)
{
	if (opts == NULL)
		return;
	g_free (opts->state_dir);
	if (opts->roots != NULL)
		ac_sev_roots_unref (opts->roots);
	g_free (opts->generation);
	g_free (opts->kds_cache_dir);
	if (opts->sign_data_free != NULL)
		opts->sign_data_free (opts->sign_data);
	g_free (opts);
}

/* ------------------------------------------------------------------------------------------ */
/* small helpers                                                                              */

static gchar *
ac_localsev_now (void)
{
	g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
	return g_date_time_format (now, "%Y-%m-%dT%H:%M:%SZ");
}

static gchar *
ac_localsev_hex (const guint8 *p, gsize len)
{
	static const gchar digits[] = "0123456789abcdef";
	gchar *s = g_malloc (2 * len + 1);
	for (gsize i = 0; i < len; i++) {
		s[2 * i] = digits[p[i] >> 4];
		s[2 * i + 1] = digits[p[i] & 0xf];
	}
	s[2 * len] = '\0';
	return s;
}

static gboolean
ac_localsev_is_hex (const gchar *s, gsize len)
{
	if (s == NULL || strlen (s) != len)
		return FALSE;
	for (gsize i = 0; i < len; i++) {
		if (!g_ascii_isxdigit (s[i]) || g_ascii_isupper (s[i]))
			return FALSE;
	}
	return TRUE;
}

/*
 * Strict base64 (RFC 4648 alphabet, padding only at the end, no whitespace): g_base64_decode
 * skips invalid characters, which would let a host smuggle anything through. The decoded
 * length must be within [@min_len, @max_len]; the text length is checked before decoding.
 */
guint8 *
ac_localsev_b64_decode (const gchar *text,
			const gchar *what,
			gsize min_len,
			gsize max_len,
			AcError code,
			gsize *out_len,
			GError **error)
{
	gsize n, pad = 0, len = 0;
	guint8 *out;

	if (text == NULL || text[0] == '\0') {
		g_set_error (error, AC_ERROR, code, "%s is missing", what);
		return NULL;
	}
	n = strnlen (text, 4 * (max_len / 3 + 1) + 1);
	if (n > 4 * (max_len / 3 + 1) || n % 4 != 0) {
		g_set_error (error,
			     AC_ERROR,
			     code,
			     "%s is not base64 of %" G_GSIZE_FORMAT " to %" G_GSIZE_FORMAT
			     " bytes (%" G_GSIZE_FORMAT " characters)",
			     what,
			     min_len,
			     max_len,
			     n);
		return NULL;
	}
	for (gsize i = 0; i < n; i++) {
		gchar c = text[i];
		if (c == '=') {
			if (i < n - 2) {
				g_set_error (error,
					     AC_ERROR,
					     code,
					     "%s is not base64: '=' at offset %" G_GSIZE_FORMAT,
					     what,
					     i);
				return NULL;
			}
			pad++;
			continue;
		}
		if (pad > 0 || !(g_ascii_isalnum (c) || c == '+' || c == '/')) {
			g_set_error (error,
				     AC_ERROR,
				     code,
				     "%s is not base64: unexpected character at offset %" G_GSIZE_FORMAT,
				     what,
				     i);
			return NULL;
		}
	}
	out = g_base64_decode (text, &len);
	if (len < min_len || len > max_len) {
		g_autofree gchar *want = min_len == max_len
					     ? g_strdup_printf ("%" G_GSIZE_FORMAT, min_len)
					     : g_strdup_printf ("%" G_GSIZE_FORMAT " to %" G_GSIZE_FORMAT,
								min_len,
								max_len);
		g_set_error (error,
			     AC_ERROR,
			     code,
			     "%s has %" G_GSIZE_FORMAT " bytes, expected %s",
			     what,
			     len,
			     want);
		OPENSSL_cleanse (out, len);
		g_free (out);
		return NULL;
	}
	*out_len = len;
	return out;
}

static gchar *
ac_localsev_sha256 (const guint8 *data, gsize len)
{
	return g_compute_checksum_for_data (G_CHECKSUM_SHA256, data, len);
}

/* ------------------------------------------------------------------------------------------ */
/* the private state directory                                                                */

static gboolean
ac_localsev_private_dir (const gchar *path, gboolean create, GError **error)
{
	struct stat st;

	if (!create && lstat (path, &st) != 0 && errno == ENOENT) {
		g_set_error (error,
			     AC_ERROR,
			     AC_ERROR_NOT_FOUND,
			     "state directory %s does not exist: nothing was prepared",
			     path);
		return FALSE;
	}
	if (create && mkdir (path, 0700) != 0 && errno != EEXIST) {
		g_set_error (error,
			     AC_ERROR,
			     AC_ERROR_IO,
			     "cannot create state directory %s: %s",
			     path,
			     g_strerror (errno));
		return FALSE;
	}
	if (lstat (path, &st) != 0) {
		g_set_error (error,
			     AC_ERROR,
			     AC_ERROR_IO,
			     "cannot read state directory %s: %s",
			     path,
			     g_strerror (errno));
		return FALSE;
	}
	if (!S_ISDIR (st.st_mode)) {
		g_set_error (error,
			     AC_ERROR,
			     AC_ERROR_PERMISSION,
			     "state directory %s is not a directory (a symlink?): refusing to keep "
			     "session keys there",
			     path);
		return FALSE;
	}
	if (st.st_uid != geteuid () || (st.st_mode & 077) != 0) {
		g_set_error (error,
			     AC_ERROR,
			     AC_ERROR_PERMISSION,
			     "state directory %s has mode %04o and owner %u, expected 0700 and "
			     "owner %u: refusing to keep session keys there",
			     path,
			     (guint)(st.st_mode & 07777),
			     (guint)st.st_uid,
			     (guint)geteuid ());
		return FALSE;
	}
	return TRUE;
}

static gboolean
ac_localsev_check_uuid (const gchar *uuid, GError **error)
{
	if (uuid == NULL || !g_uuid_string_is_valid (uuid)) {
		g_set_error (error,
			     AC_ERROR,
			     AC_ERROR_INVALID_INPUT,
			     "domain UUID '%s' is not a UUID",
			     uuid != NULL ? uuid : "(none)");
		return FALSE;
	}
	return TRUE;
}

static gchar *
ac_localsev_domain_dir_full (const gchar *state_dir,
			     const gchar *uuid,
			     gboolean create,
			     GError **error)
{
	g_autofree gchar *lower = NULL;
	g_autofree gchar *base = NULL;
	g_autofree gchar *dir = NULL;

	if (!ac_localsev_check_uuid (uuid, error))
		return NULL;
	if (state_dir == NULL || state_dir[0] == '\0') {
		g_set_error_literal (error,
				     AC_ERROR,
				     AC_ERROR_INVALID_INPUT,
				     "no state directory configured");
		return NULL;
	}
	if (create && g_mkdir_with_parents (state_dir, 0700) != 0) {
		g_set_error (error,
			     AC_ERROR,
			     AC_ERROR_IO,
			     "cannot create state directory %s: %s",
			     state_dir,
			     g_strerror (errno));
		return NULL;
	}
	lower = g_ascii_strdown (uuid, -1);
	base = g_build_filename (state_dir, "localsev", NULL);
	if (!ac_localsev_private_dir (base, create, error))
		return NULL;
	dir = g_build_filename (base, lower, NULL);
	if (!ac_localsev_private_dir (dir, create, error))
		return NULL;
	return g_steal_pointer (&dir);
}

/**
 * ac_localsev_domain_dir:
 *
 * Returns: `<state_dir>/localsev/<uuid>`, created with mode 0700 if missing and checked to be
 * a private directory of ours.
 */
gchar *
ac_localsev_domain_dir (const gchar *state_dir, const gchar *uuid, GError **error)
{
	return ac_localsev_domain_dir_full (state_dir, uuid, TRUE, error);
}

/* overwrite with zeros, then unlink; a missing file is fine */
static gboolean
ac_localsev_shred (const gchar *path, GError **error)
{
	int fd = open (path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;

	if (fd < 0) {
		if (errno == ENOENT)
			return TRUE;
		if (errno != ELOOP) {
			g_set_error (error,
				     AC_ERROR,
				     AC_ERROR_IO,
				     "cannot open %s to erase it: %s",
				     path,
				     g_strerror (errno));
			return FALSE;
		}
	} else {
		if (fstat (fd, &st) == 0 && S_ISREG (st.st_mode)) {
			guint8 zeros[4096] = { 0 };
			off_t left = st.st_size;
			while (left > 0) {
				ssize_t w = write (fd, zeros, MIN ((off_t)sizeof (zeros), left));
				if (w <= 0)
					break;
				left -= w;
			}
			(void)fsync (fd);
		}
		close (fd);
	}
	if (unlink (path) != 0 && errno != ENOENT) {
		g_set_error (error,
			     AC_ERROR,
			     AC_ERROR_IO,
			     "cannot remove %s: %s",
			     path,
			     g_strerror (errno));
		return FALSE;
	}
	return TRUE;
}

static const gchar *session_suffixes[] = { "_tek.bin", "_tik.bin", "_godh.b64", "_session.b64",
					   ".claimed" };

static gboolean
ac_localsev_shred_session (const gchar *dir, const gchar *session_id, GError **error)
{
	gboolean ok = TRUE;
	if (session_id == NULL)
		return TRUE;
	for (guint i = 0; i < G_N_ELEMENTS (session_suffixes); i++) {
		g_autofree gchar *base = g_strconcat (session_id, session_suffixes[i], NULL);
		g_autofree gchar *path = g_build_filename (dir, base, NULL);
		g_autoptr(GError) error_local = NULL;
		if (!ac_localsev_shred (path, &error_local)) {
			if (ok)
				g_propagate_error (error, g_steal_pointer (&error_local));
			ok = FALSE;
		}
	}
	return ok;
}

/* ------------------------------------------------------------------------------------------ */
/* the record                                                                                 */

static const gchar *state_names[] = { "prepared", "launched", "consumed", "attested" };

const gchar *
ac_localsev_state_to_string (AcLocalsevState state)
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
	g_free (record);
}

static void
add_str (JsonBuilder *b, const gchar *name, const gchar *value)
{
	json_builder_set_member_name (b, name);
	if (value != NULL)
		json_builder_add_string_value (b, value);
	else
		json_builder_add_null_value (b);
}

static void
add_int (JsonBuilder *b, const gchar *name, gint64 value)
{
	json_builder_set_member_name (b, name);
	json_builder_add_int_value (b, value);
}

gchar *
ac_localsev_record_to_json (const AcLocalsevRecord *r)
{
	g_autoptr(JsonBuilder) b = json_builder_new ();
	g_autoptr(JsonNode) root = NULL;

	json_builder_begin_object (b);
	add_int (b, "version", RECORD_VERSION);
	add_str (b, "domain", r->domain);
	add_str (b, "uuid", r->uuid);
	add_str (b, "session-id", r->session_id);
	add_str (b, "prepared", r->prepared);
	add_str (b, "state", ac_localsev_state_to_string (r->state));
	add_str (b, "state-time", r->state_time);
	add_int (b, "policy", r->policy);
	add_int (b, "cbitpos", r->cbitpos);
	add_int (b, "reduced-phys-bits", r->reduced_phys_bits);
	add_str (b, "dh-cert", r->dh_cert);
	add_str (b, "session", r->session);
	add_str (b, "pdh-sha256", r->pdh_sha256);
	add_str (b, "chain-generation", r->chain_generation);
	add_str (b, "firmware-path", r->firmware_path);
	add_str (b, "firmware-sha256", r->firmware_sha256);
	add_str (b, "loader", r->loader);
	add_int (b, "vcpus", r->vcpus);
	add_str (b, "disk-dev", r->disk_dev);
	add_str (b, "disk-source", r->disk_source);
	add_str (b, "firmware", r->firmware);
	add_str (b, "disk-type", r->disk_type);
	add_str (b, "disk-driver", r->disk_driver);
	add_str (b, "disk-source-xml", r->disk_source_xml);
	add_str (b, "disk-backing", r->disk_backing);
	add_str (b, "expires", r->expires);
	add_str (b, "host", r->host);
	add_str (b, "measurement", r->measurement);
	json_builder_end_object (b);
	root = json_builder_get_root (b);
	return json_to_string (root, TRUE);
}

/* a string member of a JSON object from a file of @what, e.g. "launch record" */
gboolean
ac_localsev_json_get_str (JsonObject *o,
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
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT, "%s: '%s' is missing", what, name);
		return FALSE;
	}
	if (!JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_STRING) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT, "%s: '%s' is not a string", what, name);
		return FALSE;
	}
	*out = g_strdup (json_node_get_string (n));
	return TRUE;
}

static gboolean
get_str (JsonObject *o, const gchar *name, gboolean required, gchar **out, GError **error)
{
	return ac_localsev_json_get_str (o, "launch record", name, required, out, error);
}

static gboolean
get_uint (JsonObject *o, const gchar *name, guint64 max, guint64 *out, GError **error)
{
	JsonNode *n = json_object_get_member (o, name);
	gint64 v;
	if (n == NULL || !JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_INT64) {
		g_set_error (error,
			     AC_ERROR,
			     AC_ERROR_INVALID_INPUT,
			     "launch record: '%s' is missing or not an integer",
			     name);
		return FALSE;
	}
	v = json_node_get_int (n);
	if (v < 0 || (guint64)v > max) {
		g_set_error (error,
			     AC_ERROR,
			     AC_ERROR_INVALID_INPUT,
			     "launch record: '%s' is %" G_GINT64_FORMAT ", expected 0 to %" G_GUINT64_FORMAT,
			     name,
			     v,
			     max);
		return FALSE;
	}
	*out = (guint64)v;
	return TRUE;
}

AcLocalsevRecord *
ac_localsev_record_from_json (const gchar *json, gssize len, GError **error)
{
	g_autoptr(JsonParser) parser = json_parser_new ();
	g_autoptr(GError) error_local = NULL;
	g_autoptr(AcLocalsevRecord) r = g_new0 (AcLocalsevRecord, 1);
	g_autofree gchar *state = NULL;
	JsonNode *root;
	JsonObject *o;
	guint64 v = 0;
	gsize n = len < 0 ? strlen (json) : (gsize)len;
	gboolean found = FALSE;

	if (n > RECORD_MAX) {
		g_set_error (error,
			     AC_ERROR,
			     AC_ERROR_INVALID_INPUT,
			     "launch record has %" G_GSIZE_FORMAT " bytes, more than %d",
			     n,
			     RECORD_MAX);
		return NULL;
	}
	if (!json_parser_load_from_data (parser, json, (gssize)n, &error_local)) {
		g_set_error (error,
			     AC_ERROR,
			     AC_ERROR_INVALID_INPUT,
			     "launch record is not JSON: %s",
			     error_local->message);
		return NULL;
	}
	root = json_parser_get_root (parser);
	if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root)) {
		g_set_error_literal (error,
				     AC_ERROR,
				     AC_ERROR_INVALID_INPUT,
				     "launch record is not a JSON object");
		return NULL;
	}
	o = json_node_get_object (root);
	if (!get_uint (o, "version", G_MAXUINT32, &v, error))
		return NULL;
	if (v != RECORD_VERSION) {
		g_set_error (error,
			     AC_ERROR,
			     AC_ERROR_INVALID_INPUT,
			     "launch record version %" G_GUINT64_FORMAT ", expected %d",
			     v,
			     RECORD_VERSION);
		return NULL;
	}
	if (!get_str (o, "domain", TRUE, &r->domain, error) ||
	    !get_str (o, "uuid", TRUE, &r->uuid, error) ||
	    !get_str (o, "session-id", TRUE, &r->session_id, error) ||
	    !get_str (o, "prepared", TRUE, &r->prepared, error) ||
	    !get_str (o, "state", TRUE, &state, error) ||
	    !get_str (o, "state-time", FALSE, &r->state_time, error) ||
	    !get_str (o, "dh-cert", TRUE, &r->dh_cert, error) ||
	    !get_str (o, "session", TRUE, &r->session, error) ||
	    !get_str (o, "pdh-sha256", TRUE, &r->pdh_sha256, error) ||
	    !get_str (o, "chain-generation", TRUE, &r->chain_generation, error) ||
	    !get_str (o, "firmware-path", TRUE, &r->firmware_path, error) ||
	    !get_str (o, "firmware-sha256", TRUE, &r->firmware_sha256, error) ||
	    !get_str (o, "loader", FALSE, &r->loader, error) ||
	    !get_str (o, "disk-dev", FALSE, &r->disk_dev, error) ||
	    !get_str (o, "disk-source", FALSE, &r->disk_source, error) ||
	    !get_str (o, "firmware", TRUE, &r->firmware, error) ||
	    !get_str (o, "disk-type", FALSE, &r->disk_type, error) ||
	    !get_str (o, "disk-driver", TRUE, &r->disk_driver, error) ||
	    !get_str (o, "disk-source-xml", FALSE, &r->disk_source_xml, error) ||
	    !get_str (o, "disk-backing", FALSE, &r->disk_backing, error) ||
	    !get_str (o, "expires", TRUE, &r->expires, error) ||
	    !get_str (o, "host", FALSE, &r->host, error) ||
	    !get_str (o, "measurement", FALSE, &r->measurement, error))
		return NULL;
	if (!get_uint (o, "policy", G_MAXUINT32, &v, error))
		return NULL;
	r->policy = (guint32)v;
	if (!get_uint (o, "cbitpos", 63, &v, error))
		return NULL;
	r->cbitpos = (guint)v;
	if (!get_uint (o, "reduced-phys-bits", 63, &v, error))
		return NULL;
	r->reduced_phys_bits = (guint)v;
	if (!get_uint (o, "vcpus", 4096, &v, error))
		return NULL;
	r->vcpus = (guint)v;
	for (guint i = 0; i < G_N_ELEMENTS (state_names); i++) {
		if (g_strcmp0 (state, state_names[i]) == 0) {
			r->state = (AcLocalsevState)i;
			found = TRUE;
		}
	}
	if (!found) {
		g_set_error (error,
			     AC_ERROR,
			     AC_ERROR_INVALID_INPUT,
			     "launch record: state '%s' is unknown",
			     state);
		return NULL;
	}
	if (!ac_localsev_check_uuid (r->uuid, error))
		return NULL;
	{
		g_autoptr(GDateTime) expires = g_date_time_new_from_iso8601 (r->expires, NULL);
		if (expires == NULL) {
			g_set_error (error,
				     AC_ERROR,
				     AC_ERROR_INVALID_INPUT,
				     "launch record: expires '%s' is not an ISO 8601 UTC time",
				     r->expires);
			return NULL;
		}
	}
	if (!ac_localsev_is_hex (r->session_id, 32) || !ac_localsev_is_hex (r->pdh_sha256, 64) ||
	    !ac_localsev_is_hex (r->firmware_sha256, 64)) {
		g_set_error_literal (error,
				     AC_ERROR,
				     AC_ERROR_INVALID_INPUT,
				     "launch record: session-id, pdh-sha256 or firmware-sha256 is not "
				     "lowercase hex of the expected length");
		return NULL;
	}
	return g_steal_pointer (&r);
}

static gboolean
ac_localsev_record_save (const gchar *dir, const AcLocalsevRecord *record, GError **error)
{
	g_autofree gchar *json = ac_localsev_record_to_json (record);
	g_autofree gchar *path = g_build_filename (dir, RECORD_FILE, NULL);
	g_autoptr(GError) error_local = NULL;

	if (!g_file_set_contents_full (path,
				       json,
				       -1,
				       G_FILE_SET_CONTENTS_CONSISTENT,
				       0600,
				       &error_local)) {
		g_set_error (error,
			     AC_ERROR,
			     AC_ERROR_IO,
			     "cannot write the launch record: %s",
			     error_local->message);
		return FALSE;
	}
	return TRUE;
}

static AcLocalsevRecord *
ac_localsev_record_load_from (const gchar *dir, const gchar *domain, GError **error)
{
	g_autofree gchar *path = g_build_filename (dir, RECORD_FILE, NULL);
	g_autofree gchar *json = NULL;
	g_autoptr(GError) error_local = NULL;
	gsize len = 0;
	AcLocalsevRecord *record;

	if (!g_file_get_contents (path, &json, &len, &error_local)) {
		if (g_error_matches (error_local, G_FILE_ERROR, G_FILE_ERROR_NOENT)) {
			g_set_error (error,
				     AC_ERROR,
				     AC_ERROR_NOT_FOUND,
				     "no SEV launch was prepared for domain '%s' (%s does not "
				     "exist): prepare one first",
				     domain,
				     path);
			return NULL;
		}
		g_set_error (error, AC_ERROR, AC_ERROR_IO, "%s", error_local->message);
		return NULL;
	}
	record = ac_localsev_record_from_json (json, (gssize)len, &error_local);
	if (record == NULL) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT, "%s: %s", path, error_local->message);
		return NULL;
	}
	return record;
}

AcLocalsevRecord *
ac_localsev_record_load (const gchar *state_dir, const gchar *uuid, GError **error)
{
	g_autofree gchar *dir = ac_localsev_domain_dir_full (state_dir, uuid, FALSE, error);
	if (dir == NULL)
		return NULL;
	return ac_localsev_record_load_from (dir, uuid, error);
}

gboolean
ac_localsev_record_mark_launched (const gchar *state_dir, const gchar *uuid, GError **error)
{
	g_autofree gchar *dir = ac_localsev_domain_dir_full (state_dir, uuid, FALSE, error);
	g_autoptr(AcLocalsevRecord) record = NULL;

	if (dir == NULL)
		return FALSE;
	record = ac_localsev_record_load_from (dir, uuid, error);
	if (record == NULL)
		return FALSE;
	if (record->state != AC_LOCALSEV_STATE_PREPARED) {
		g_set_error (error,
			     AC_ERROR,
			     AC_ERROR_REFUSED,
			     "stale session: session %s of domain '%s' is already %s",
			     record->session_id,
			     record->domain,
			     ac_localsev_state_to_string (record->state));
		return FALSE;
	}
	/* the load, check and save above race with a concurrent start of the same session: the
	 * session's marker, created with O_EXCL, lets exactly one of them through */
	if (!ac_localsev_session_mark_used (state_dir, record->session_id, error))
		return FALSE;
	record->state = AC_LOCALSEV_STATE_LAUNCHED;
	g_free (record->state_time);
	record->state_time = ac_localsev_now ();
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
static gchar *
ac_localsev_launch_record_element (const AcLocalsevOptions *opts,
				   const AcLocalsevRecord *r,
				   GError **error)
{
	g_autofree gchar *json = ac_localsev_record_to_json (r);
	g_autofree gchar *signer = NULL;
	g_autofree gchar *signature = NULL;
	g_autofree gchar *b64 = NULL;

	signature = opts->sign ((const guint8 *)json, strlen (json), &signer, opts->sign_data, error);
	if (signature == NULL) {
		g_prefix_error (error, "cannot sign the launch record of domain '%s': ", r->domain);
		return NULL;
	}
	if (!ac_localsev_is_0x_hex (signer, 40) || !ac_localsev_is_0x_hex (signature, 130)) {
		g_set_error (error,
			     AC_ERROR,
			     AC_ERROR_INTERNAL,
			     "the signer of the launch record gave a malformed address or signature");
		return NULL;
	}
	b64 = g_base64_encode ((const guchar *)json, strlen (json));
	return g_strdup_printf ("<" AC_LAUNCH_PREFIX ":launch xmlns:" AC_LAUNCH_PREFIX "=\"" AC_LAUNCH_NS
				"\" signer=\"%s\" signature=\"%s\">%s</" AC_LAUNCH_PREFIX ":launch>",
				signer,
				signature,
				b64);
}

/**
 * ac_localsev_launch_record_read:
 *
 * The launch record a domain carries in its metadata, decoded and parsed but not verified:
 * the signature is the caller's to check (the hook's gatekeeper against its trusted owners).
 *
 * Returns: the record, or %NULL with %AC_ERROR_NOT_FOUND when there is none and
 * %AC_ERROR_REFUSED when it is malformed.
 */
AcLocalsevRecord *
ac_localsev_launch_record_read (const gchar *domain_xml,
				gsize len,
				GBytes **payload,
				gchar **signer,
				gchar **signature,
				GError **error)
{
	g_autoptr(AcLocalsevDomain) dom = NULL;
	g_autoptr(GError) error_local = NULL;
	g_autofree guint8 *json = NULL;
	gsize json_len = 0;
	AcLocalsevRecord *record;

	g_return_val_if_fail (domain_xml != NULL, NULL);

	dom = ac_localsev_domain_parse (domain_xml, (gssize)len, error);
	if (dom == NULL)
		return NULL;
	if (!dom->has_launch_record) {
		g_set_error (error,
			     AC_ERROR,
			     AC_ERROR_NOT_FOUND,
			     "domain '%s' carries no launch record (<metadata><launch xmlns='%s'>)",
			     dom->name != NULL ? dom->name : "?",
			     AC_LAUNCH_NS);
		return NULL;
	}
	if (!ac_localsev_is_0x_hex (dom->launch_signer, 40) ||
	    !ac_localsev_is_0x_hex (dom->launch_signature, 130)) {
		g_set_error (error,
			     AC_ERROR,
			     AC_ERROR_REFUSED,
			     "the launch record of domain '%s' is not signed (signer='0x' and 40 hex "
			     "digits, signature='0x' and 130 hex digits expected)",
			     dom->name != NULL ? dom->name : "?");
		return NULL;
	}
	json = ac_localsev_b64_decode (dom->launch_record,
				       "the launch record",
				       1,
				       RECORD_MAX,
				       AC_ERROR_REFUSED,
				       &json_len,
				       error);
	if (json == NULL)
		return NULL;
	record = ac_localsev_record_from_json ((const gchar *)json, (gssize)json_len, &error_local);
	if (record == NULL) {
		g_set_error (error,
			     AC_ERROR,
			     AC_ERROR_REFUSED,
			     "domain '%s': %s",
			     dom->name != NULL ? dom->name : "?",
			     error_local->message);
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
ac_localsev_same_host (const gchar *a, const gchar *b)
{
	gsize n = strlen (b);
	if (g_ascii_strcasecmp (a, b) == 0)
		return TRUE;
	return strchr (b, '.') == NULL && n > 0 && g_ascii_strncasecmp (a, b, n) == 0 && a[n] == '.';
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
	g_autoptr(GDateTime) prepared = g_date_time_new_from_iso8601 (record->prepared, NULL);
	g_autoptr(GDateTime) expires = g_date_time_new_from_iso8601 (record->expires, NULL);
	g_autoptr(GDateTime) at = now != NULL ? g_date_time_ref (now) : g_date_time_new_now_utc ();
	g_autoptr(GDateTime) half = NULL;

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
	g_autoptr(GDateTime) expires = NULL;
	g_autoptr(GDateTime) at = now != NULL ? g_date_time_ref (now) : g_date_time_new_now_utc ();

	g_return_val_if_fail (record != NULL, FALSE);
	g_return_val_if_fail (host_id != NULL, FALSE);

	if (record->host == NULL || !ac_localsev_same_host (record->host, host_id)) {
		g_set_error (error,
			     AC_ERROR,
			     AC_ERROR_REFUSED,
			     "its launch record was prepared for host '%s', and this host is '%s' "
			     "([hook] host-id in %s); a record serves the host it was made for only",
			     record->host != NULL ? record->host : "(none)",
			     host_id,
			     AC_HOOK_CONF);
		return FALSE;
	}
	expires = g_date_time_new_from_iso8601 (record->expires, NULL);
	if (expires == NULL || g_date_time_compare (at, expires) >= 0) {
		g_set_error (error,
			     AC_ERROR,
			     AC_ERROR_REFUSED,
			     "its launch record (session %s, prepared %s) expired at %s; virt-alephd "
			     "prepares a fresh one: check 'virt-aleph status %s'",
			     record->session_id,
			     record->prepared,
			     record->expires != NULL ? record->expires : "(unknown)",
			     record->domain);
		return FALSE;
	}
	return TRUE;
}

/**
 * ac_localsev_session_mark_used:
 *
 * The one-start rule for sessions prepared on another machine: the first start of
 * @session_id creates its marker, every later one is refused. Markers are never removed
 * (each is an empty file; a session id is 128 random bits).
 */
gboolean
ac_localsev_session_mark_used (const gchar *state_dir, const gchar *session_id, GError **error)
{
	g_autofree gchar *dir = NULL;
	g_autofree gchar *path = NULL;
	int fd;

	if (!ac_localsev_is_hex (session_id, 32)) {
		g_set_error (error,
			     AC_ERROR,
			     AC_ERROR_REFUSED,
			     "session id '%s' is not 32 lowercase hex digits",
			     session_id != NULL ? session_id : "(none)");
		return FALSE;
	}
	dir = g_build_filename (state_dir, "hook", "sessions", NULL);
	if (g_mkdir_with_parents (dir, 0700) != 0) {
		g_set_error (error,
			     AC_ERROR,
			     AC_ERROR_IO,
			     "cannot create %s: %s",
			     dir,
			     g_strerror (errno));
		return FALSE;
	}
	path = g_build_filename (dir, session_id, NULL);
	fd = g_open (path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		int saved = errno;
		if (saved == EEXIST)
			g_set_error (error,
				     AC_ERROR,
				     AC_ERROR_REFUSED,
				     "stale session: session %s was already used for a start (a "
				     "session serves one launch only); the service must prepare a "
				     "fresh one",
				     session_id);
		else
			g_set_error (error,
				     AC_ERROR,
				     AC_ERROR_IO,
				     "cannot record that session %s is used: %s",
				     session_id,
				     g_strerror (saved));
		return FALSE;
	}
	g_close (fd, NULL);
	return TRUE;
}

void
ac_localsev_prepared_free (AcLocalsevPrepared *prepared)
{
	if (prepared == NULL)
		return;
	ac_localsev_record_free (prepared->record);
	g_free (prepared->launch_security);
	g_free (prepared->domain_xml);
	g_free (prepared);
}

void
ac_localsev_attestation_free (AcLocalsevAttestation *a)
{
	if (a == NULL)
		return;
	g_free (a->measurement);
	g_free (a->generation);
	g_free (a->session_id);
	g_free (a->time);
	g_free (a);
}

/* ------------------------------------------------------------------------------------------ */
/* firmware                                                                                   */

/* the firmware bytes and their SHA-256; the pinned hash must match */
static GBytes *
ac_localsev_firmware_load (const gchar *path,
			   const gchar *pinned_sha256,
			   gchar **sha256_out,
			   GError **error)
{
	g_autoptr(GError) error_local = NULL;
	g_autoptr(GMappedFile) map = NULL;
	g_autoptr(GBytes) fw = NULL;
	g_autofree gchar *sha = NULL;
	gsize len;

	map = g_mapped_file_new (path, FALSE, &error_local);
	if (map == NULL) {
		g_set_error (error,
			     AC_ERROR,
			     g_error_matches (error_local, G_FILE_ERROR, G_FILE_ERROR_NOENT)
				 ? AC_ERROR_NOT_FOUND
				 : AC_ERROR_IO,
			     "firmware: %s",
			     error_local->message);
		return NULL;
	}
	fw = g_mapped_file_get_bytes (map);
	len = g_bytes_get_size (fw);
	if (len == 0 || len > AC_LOCALSEV_MAX_FIRMWARE || len % 16 != 0) {
		g_set_error (error,
			     AC_ERROR,
			     AC_ERROR_INVALID_INPUT,
			     "firmware %s has %" G_GSIZE_FORMAT " bytes, expected a non-empty "
			     "multiple of 16 up to %d (an OVMF image for SEV)",
			     path,
			     len,
			     AC_LOCALSEV_MAX_FIRMWARE);
		return NULL;
	}
	sha = ac_localsev_sha256 (g_bytes_get_data (fw, NULL), len);
	if (pinned_sha256 == NULL || g_ascii_strcasecmp (sha, pinned_sha256) != 0) {
		g_set_error (error,
			     AC_ERROR,
			     AC_ERROR_MISMATCH,
			     "firmware hash: %s has sha256 %s, but the tag pins %s",
			     path,
			     sha,
			     pinned_sha256 != NULL ? pinned_sha256 : "(none)");
		return NULL;
	}
	if (sha256_out != NULL)
		*sha256_out = g_steal_pointer (&sha);
	/* the mapping goes away with @map; keep a copy */
	return g_bytes_new (g_bytes_get_data (fw, NULL), len);
}

/* ------------------------------------------------------------------------------------------ */
/* the host's chain                                                                           */

AcSevChain *
ac_localsev_host_chain (const gchar *name,
			const AcSevHostInfo *info,
			const AcLocalsevOptions *opts,
			gchar **pdh_sha256,
			GCancellable *cancellable,
			GError **error)
{
	g_autofree guint8 *pdh = NULL;
	g_autofree guint8 *certs = NULL;
	g_autofree gchar *what_pdh = g_strdup_printf ("chain: host %s's pdh", name);
	g_autofree gchar *what_chain = g_strdup_printf ("chain: host %s's cert-chain", name);
	g_autoptr(AcSevChain) chain = NULL;
	g_autoptr(GError) error_local = NULL;
	gsize pdh_len = 0, certs_len = 0;

	pdh = ac_localsev_b64_decode (info->pdh,
				      what_pdh,
				      AC_SEV_CERT_SIZE,
				      AC_SEV_CERT_SIZE,
				      AC_ERROR_UNTRUSTED,
				      &pdh_len,
				      error);
	if (pdh == NULL)
		return NULL;
	certs = ac_localsev_b64_decode (info->cert_chain,
					what_chain,
					3 * AC_SEV_CERT_SIZE,
					AC_SEV_CHAIN_EXPORT_SIZE + 2 * AC_AMD_CERT_SIZE_4096,
					AC_ERROR_UNTRUSTED,
					&certs_len,
					error);
	if (certs == NULL)
		return NULL;
	if (certs_len == 3 * AC_SEV_CERT_SIZE) {
		/* what QEMU/libvirt report: PEK ‖ OCA ‖ CEK */
		chain = ac_sev_chain_parse_pdh_export (pdh, pdh_len, certs, certs_len, &error_local);
	} else {
		/* a sevctl export (PDH ‖ PEK ‖ OCA ‖ CEK [‖ ASK ‖ ARK]) */
		chain = ac_sev_chain_parse (certs, certs_len, &error_local);
		if (chain != NULL &&
		    memcmp (ac_sev_cert_get_data (ac_sev_chain_get_pdh (chain)), pdh, AC_SEV_CERT_SIZE) != 0) {
			g_set_error (error,
				     AC_ERROR,
				     AC_ERROR_UNTRUSTED,
				     "chain: host %s reports a pdh that differs from the PDH in its "
				     "cert-chain",
				     name);
			return NULL;
		}
	}
	if (chain == NULL) {
		g_set_error (error,
			     AC_ERROR,
			     AC_ERROR_UNTRUSTED,
			     "chain: host %s's SEV certificates are malformed: %s",
			     name,
			     error_local->message);
		return NULL;
	}

	/* real firmware exports the CEK unsigned: take AMD's signed one by chip id */
	if ((opts->kds_fetch != NULL || opts->kds_cache_dir != NULL) && info->cpu0_id != NULL) {
		g_autofree gchar *what_id = g_strdup_printf ("chain: host %s's cpu0-id", name);
		g_autofree guint8 *id = NULL;
		g_autoptr(AcSevCert) cek = NULL;
		gsize id_len = 0;

		id = ac_localsev_b64_decode (info->cpu0_id,
					     what_id,
					     AC_SEV_ID_SIZE,
					     AC_SEV_ID_SIZE,
					     AC_ERROR_UNTRUSTED,
					     &id_len,
					     error);
		if (id == NULL)
			return NULL;
		cek = ac_sev_kds_get_cek (id,
					  id_len,
					  opts->kds_cache_dir,
					  opts->kds_fetch,
					  opts->kds_user_data,
					  cancellable,
					  &error_local);
		if (cek == NULL) {
			g_set_error (error,
				     AC_ERROR,
				     error_local->code,
				     "chain: the CEK of host %s from AMD KDS: %s",
				     name,
				     error_local->message);
			return NULL;
		}
		ac_sev_chain_set_cek (chain, cek);
	}
	if (pdh_sha256 != NULL)
		*pdh_sha256 = ac_localsev_sha256 (pdh, pdh_len);
	return g_steal_pointer (&chain);
}

/* ------------------------------------------------------------------------------------------ */
/* prepare                                                                                    */

static gchar *
ac_localsev_launch_security_xml (const AcLocalsevRecord *r)
{
	return g_strdup_printf ("<launchSecurity type='sev'>\n"
				"    <cbitpos>%u</cbitpos>\n"
				"    <reducedPhysBits>%u</reducedPhysBits>\n"
				"    <policy>0x%04x</policy>\n"
				"    <dhCert>%s</dhCert>\n"
				"    <session>%s</session>\n"
				"  </launchSecurity>",
				r->cbitpos,
				r->reduced_phys_bits,
				r->policy,
				r->dh_cert,
				r->session);
}

/**
 * ac_localsev_prepare:
 * @tag: the owner's intent (policy, firmware hash, disk)
 * @domain_xml: the domain as it will be defined (with its disk and loader in place)
 *
 * Verifies the host's SEV chain, makes a fresh launch session, keeps TEK/TIK in the domain's
 * private state directory and records what was prepared. Any earlier session of the domain is
 * erased. The caller defines `prepared->domain_xml` with libvirt.
 */
AcLocalsevPrepared *
ac_localsev_prepare (AcSevHost *host,
		     const AcLocalsevOptions *opts,
		     const AcTag *tag,
		     const gchar *domain_xml,
		     GCancellable *cancellable,
		     GError **error)
{
	g_autoptr(AcLocalsevDomain) dom = NULL;
	g_autoptr(AcSevHostInfo) info = NULL;
	g_autoptr(AcSevChain) chain = NULL;
	g_autoptr(AcSevRoots) roots = NULL;
	g_autoptr(AcSevChainVerdict) verdict = NULL;
	g_autoptr(AcSevSession) session = NULL;
	g_autoptr(AcLocalsevRecord) r = NULL;
	g_autoptr(AcLocalsevRecord) old = NULL;
	g_autoptr(AcLocalsevPrepared) prepared = NULL;
	g_autoptr(GError) error_local = NULL;
	g_autoptr(GBytes) fw = NULL;
	g_autofree gchar *dir = NULL;
	g_autofree gchar *pdh_sha256 = NULL;
	g_autofree gchar *fw_sha256 = NULL;
	g_autofree gchar *host_id = NULL;
	AcLocalsevDisk *disk;
	const gchar *fw_path;
	guint8 id[16];

	g_return_val_if_fail (AC_IS_SEV_HOST (host), NULL);
	g_return_val_if_fail (opts != NULL, NULL);
	g_return_val_if_fail (tag != NULL, NULL);
	g_return_val_if_fail (domain_xml != NULL, NULL);

	dom = ac_localsev_domain_parse (domain_xml, -1, error);
	if (dom == NULL)
		return NULL;
	if (dom->name == NULL || !ac_localsev_check_uuid (dom->uuid, error)) {
		if (dom->name == NULL)
			g_set_error_literal (error,
					     AC_ERROR,
					     AC_ERROR_INVALID_INPUT,
					     "domain XML has no <name>");
		return NULL;
	}
	if (opts->pin_tags) {
		gboolean pinned_now = FALSE;
		if (!ac_localsev_tag_pin_check (opts->state_dir, dom->uuid, dom->name, tag, &pinned_now, error))
			return NULL;
		if (pinned_now)
			g_message ("domain '%s': the tag on host %s, seen for the first time, is now the "
				   "approved one; changes made on that host will be refused until approved "
				   "with 'virt-aleph tag %s --approve'",
				   dom->name,
				   ac_sev_host_get_name (host),
				   dom->name);
	}
	if (!ac_sev_policy_validate (tag->policy, error))
		return NULL;
	if (dom->has_kernel) {
		g_set_error (error,
			     AC_ERROR,
			     AC_ERROR_UNSUPPORTED,
			     "domain '%s' boots a kernel directly (<os><kernel>); the local SEV flow "
			     "measures firmware-only launches (the firmware boots the encrypted disk)",
			     dom->name);
		return NULL;
	}

	/* the firmware QEMU will measure: the tag's local copy, else the domain's loader */
	fw_path = tag->firmware_file != NULL ? tag->firmware_file : dom->loader;
	if (fw_path == NULL) {
		g_set_error (error,
			     AC_ERROR,
			     AC_ERROR_INVALID_INPUT,
			     "domain '%s' names no firmware: set <os><loader> to the SEV OVMF image "
			     "whose sha256 the tag pins (%s)",
			     dom->name,
			     tag->firmware_sha256);
		return NULL;
	}
	fw = ac_localsev_firmware_load (fw_path, tag->firmware_sha256, &fw_sha256, error);
	if (fw == NULL)
		return NULL;

	/* the host the record is for: a hook on another machine checks it is its own */
	host_id = ac_sev_host_get_host_id (host, &error_local);
	if (host_id == NULL && opts->sign != NULL) {
		g_propagate_prefixed_error (error,
					    g_steal_pointer (&error_local),
					    "domain '%s': the launch record must name its host: ",
					    dom->name);
		return NULL;
	}
	g_clear_error (&error_local);

	disk = ac_localsev_domain_find_disk (dom, tag->disk_dev);
	if (disk == NULL) {
		g_set_error (error,
			     AC_ERROR,
			     AC_ERROR_INVALID_INPUT,
			     "domain '%s' has no disk %s%s%s",
			     dom->name,
			     tag->disk_dev != NULL ? "with target dev '" : "",
			     tag->disk_dev != NULL ? tag->disk_dev : "at all",
			     tag->disk_dev != NULL ? "'" : "");
		return NULL;
	}

	/* the host's chain, verified up to a trusted root */
	info = ac_sev_host_get_sev_info (host, error);
	if (info == NULL)
		return NULL;
	if (info->cbitpos == 0 || info->cbitpos > 63 || info->reduced_phys_bits > 63) {
		g_set_error (error,
			     AC_ERROR,
			     AC_ERROR_UNTRUSTED,
			     "host %s reports cbitpos %u and reduced-phys-bits %u, expected 1-63 "
			     "and 0-63",
			     ac_sev_host_get_name (host),
			     info->cbitpos,
			     info->reduced_phys_bits);
		return NULL;
	}
	chain = ac_localsev_host_chain (ac_sev_host_get_name (host), info, opts, &pdh_sha256, cancellable, error);
	if (chain == NULL)
		return NULL;
	roots = opts->roots != NULL ? ac_sev_roots_ref (opts->roots) : ac_sev_roots_new_builtin ();
	if (!ac_sev_chain_verify (chain, roots, opts->generation, &verdict, &error_local)) {
		g_set_error (error,
			     AC_ERROR,
			     error_local->code,
			     "chain: the SEV certificate chain of host %s does not verify: %s",
			     ac_sev_host_get_name (host),
			     error_local->message);
		return NULL;
	}
	g_debug ("host %s: chain verified to root '%s' (ARK %s, ASK %s), PDH sha256 %s",
		 ac_sev_host_get_name (host),
		 verdict->generation,
		 verdict->ark_key_id,
		 verdict->ask_key_id,
		 pdh_sha256);

	/* a fresh session for this launch */
	session = ac_sev_session_new (ac_sev_chain_get_pdh (chain), tag->policy, error);
	if (session == NULL)
		return NULL;
	if (g_cancellable_set_error_if_cancelled (cancellable, &error_local)) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_CANCELLED, error_local->message);
		return NULL;
	}

	dir = ac_localsev_domain_dir (opts->state_dir, dom->uuid, error);
	if (dir == NULL)
		return NULL;
	old = ac_localsev_record_load_from (dir, dom->name, &error_local);
	if (old == NULL) {
		if (!g_error_matches (error_local, AC_ERROR, AC_ERROR_NOT_FOUND))
			g_warning ("replacing an unreadable launch record of domain '%s': %s",
				   dom->name,
				   error_local->message);
		g_clear_error (&error_local);
	}

	r = g_new0 (AcLocalsevRecord, 1);
	if (RAND_bytes (id, sizeof (id)) != 1) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_INTERNAL, "RAND_bytes failed");
		return NULL;
	}
	r->session_id = ac_localsev_hex (id, sizeof (id));
	r->domain = g_strdup (dom->name);
	r->uuid = g_strdup (dom->uuid);
	r->prepared = ac_localsev_now ();
	r->state = AC_LOCALSEV_STATE_PREPARED;
	r->state_time = g_strdup (r->prepared);
	r->policy = tag->policy;
	r->cbitpos = info->cbitpos;
	r->reduced_phys_bits = info->reduced_phys_bits;
	r->dh_cert = ac_sev_session_get_godh_b64 (session);
	r->session = ac_sev_session_get_blob_b64 (session);
	r->pdh_sha256 = g_steal_pointer (&pdh_sha256);
	r->chain_generation = g_strdup (verdict->generation);
	r->firmware_path = g_strdup (fw_path);
	r->firmware_sha256 = g_steal_pointer (&fw_sha256);
	r->loader = g_strdup (dom->loader);
	r->vcpus = (tag->policy & AC_SEV_POLICY_ES) ? MAX (dom->vcpus, 1) : dom->vcpus;
	r->disk_dev = g_strdup (disk->dev);
	r->disk_source = g_strdup (disk->source);
	r->firmware = g_strdup (dom->firmware);
	r->disk_type = g_strdup (disk->type);
	r->disk_driver = g_strdup (disk->driver);
	r->disk_source_xml = g_strdup (disk->source_xml);
	r->disk_backing = g_strdup (disk->backing);
	{
		g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
		g_autoptr(GDateTime) expires = g_date_time_add_seconds (now, MAX (opts->lifetime_s, 60));
		r->expires = g_date_time_format (expires, "%Y-%m-%dT%H:%M:%SZ");
	}
	r->host = g_steal_pointer (&host_id);

	prepared = g_new0 (AcLocalsevPrepared, 1);
	prepared->launch_security = ac_localsev_launch_security_xml (r);
	prepared->domain_xml = ac_localsev_domain_set_launch_security (domain_xml,
								       prepared->launch_security,
								       error);
	if (prepared->domain_xml == NULL)
		return NULL;
	if (opts->sign != NULL) {
		g_autofree gchar *element = ac_localsev_launch_record_element (opts, r, error);
		g_autofree gchar *with_record = NULL;
		if (element == NULL)
			return NULL;
		with_record = ac_localsev_domain_set_launch_record (prepared->domain_xml, element, error);
		if (with_record == NULL)
			return NULL;
		g_free (prepared->domain_xml);
		prepared->domain_xml = g_steal_pointer (&with_record);
	}

	/* keys first, then the record that points at them, then the old session goes */
	if (!ac_sev_session_write_files (session, dir, r->session_id, error))
		return NULL;
	if (!ac_localsev_record_save (dir, r, error)) {
		(void)ac_localsev_shred_session (dir, r->session_id, NULL);
		return NULL;
	}
	if (old != NULL && g_strcmp0 (old->session_id, r->session_id) != 0 &&
	    !ac_localsev_shred_session (dir, old->session_id, &error_local)) {
		g_warning ("domain '%s': %s", dom->name, error_local->message);
		g_clear_error (&error_local);
	}
	g_debug ("domain '%s': prepared session %s (policy 0x%x, cbitpos %u, reducedPhysBits %u)",
		 r->domain,
		 r->session_id,
		 r->policy,
		 r->cbitpos,
		 r->reduced_phys_bits);
	prepared->record = g_steal_pointer (&r);
	return g_steal_pointer (&prepared);
}

/* ------------------------------------------------------------------------------------------ */
/* the gatekeeper's comparison                                                                */

static gboolean
ac_localsev_parse_small (const gchar *text, guint *out)
{
	guint64 v = 0;
	if (text == NULL || !g_ascii_string_to_unsigned (text, 10, 0, 63, &v, NULL))
		return FALSE;
	*out = (guint)v;
	return TRUE;
}

/* longer values are shown by where they part (base64), or by their length (markup) */
#define DIFF_SHOW_MAX	     128
#define DIFF_SHOW_MAX_MARKUP 1024

static gboolean
ac_localsev_differs (GError **error,
		     const gchar *domain,
		     const gchar *input,
		     const gchar *prepared,
		     const gchar *found)
{
	g_autofree gchar *detail = NULL;
	/* the canonical texts of elements are read whole; base64 is not */
	gsize max = (prepared != NULL && strchr (prepared, '<') != NULL) ||
			    (found != NULL && strchr (found, '<') != NULL)
			? DIFF_SHOW_MAX_MARKUP
			: DIFF_SHOW_MAX;

	if (prepared != NULL && found != NULL && (strlen (prepared) > max || strlen (found) > max)) {
		gsize i = 0;
		while (prepared[i] != '\0' && prepared[i] == found[i])
			i++;
		detail = g_strdup_printf ("prepared %" G_GSIZE_FORMAT " characters, the domain's "
					  "%" G_GSIZE_FORMAT " characters differ from character %" G_GSIZE_FORMAT,
					  strlen (prepared),
					  strlen (found),
					  i + 1);
	} else {
		g_autofree gchar *p = prepared == NULL ? g_strdup ("nothing")
				      : strlen (prepared) > max
					  ? g_strdup_printf ("%" G_GSIZE_FORMAT " characters", strlen (prepared))
					  : g_strdup_printf ("'%s'", prepared);
		g_autofree gchar *f = found == NULL ? g_strdup ("none")
				      : strlen (found) > max
					  ? g_strdup_printf ("%" G_GSIZE_FORMAT " characters", strlen (found))
					  : g_strdup_printf ("'%s'", found);
		detail = g_strdup_printf ("prepared %s, the domain has %s", p, f);
	}
	g_set_error (error,
		     AC_ERROR,
		     AC_ERROR_REFUSED,
		     "domain '%s': %s differs from what was prepared (%s); prepare the launch again",
		     domain,
		     input,
		     detail);
	return FALSE;
}

/* the launch inputs of @dom against @r; the session state is not looked at */
static gboolean
ac_localsev_compare (const AcLocalsevRecord *r, AcLocalsevDomain *dom, GError **error)
{
	const gchar *name = r->domain;
	guint32 policy = 0;
	guint v = 0;
	AcLocalsevDisk *disk;

	if (g_strcmp0 (dom->uuid, r->uuid) != 0)
		return ac_localsev_differs (error, name, "the domain UUID", r->uuid, dom->uuid);
	if (!dom->has_launch_security || g_strcmp0 (dom->ls_type, "sev") != 0) {
		g_set_error (error,
			     AC_ERROR,
			     AC_ERROR_REFUSED,
			     "domain '%s': launchSecurity: the domain has %s, but a "
			     "<launchSecurity type='sev'> was prepared; without it the guest runs "
			     "unencrypted",
			     name,
			     dom->has_launch_security ? "another <launchSecurity> type"
						      : "no <launchSecurity>");
		return FALSE;
	}
	if (dom->ls_policy == NULL || !ac_sev_policy_parse (dom->ls_policy, &policy, NULL) ||
	    policy != r->policy) {
		g_autofree gchar *want = g_strdup_printf ("0x%04x", r->policy);
		return ac_localsev_differs (error, name, "launchSecurity <policy>", want, dom->ls_policy);
	}
	if (!ac_localsev_parse_small (dom->ls_cbitpos, &v) || v != r->cbitpos) {
		g_autofree gchar *want = g_strdup_printf ("%u", r->cbitpos);
		return ac_localsev_differs (error, name, "launchSecurity <cbitpos>", want, dom->ls_cbitpos);
	}
	if (!ac_localsev_parse_small (dom->ls_reduced_phys_bits, &v) || v != r->reduced_phys_bits) {
		g_autofree gchar *want = g_strdup_printf ("%u", r->reduced_phys_bits);
		return ac_localsev_differs (error,
					    name,
					    "launchSecurity <reducedPhysBits>",
					    want,
					    dom->ls_reduced_phys_bits);
	}
	if (g_strcmp0 (dom->ls_dh_cert, r->dh_cert) != 0)
		return ac_localsev_differs (error, name, "launchSecurity <dhCert>", r->dh_cert, dom->ls_dh_cert);
	if (g_strcmp0 (dom->ls_session, r->session) != 0)
		return ac_localsev_differs (error, name, "launchSecurity <session>", r->session, dom->ls_session);
	if (g_strcmp0 (dom->ls_kernel_hashes, "yes") == 0 || dom->has_kernel)
		return ac_localsev_differs (error,
					    name,
					    "the boot method",
					    "firmware boot",
					    "direct kernel boot (kernelHashes)");
	if (g_strcmp0 (dom->loader, r->loader) != 0)
		return ac_localsev_differs (error, name, "the firmware <loader>", r->loader, dom->loader);
	if (g_strcmp0 (dom->firmware, r->firmware) != 0)
		return ac_localsev_differs (error,
					    name,
					    "the firmware (<os firmware>, <loader>, <nvram>)",
					    r->firmware,
					    dom->firmware);
	if ((r->policy & AC_SEV_POLICY_ES) && MAX (dom->vcpus, 1) != r->vcpus) {
		g_autofree gchar *want = g_strdup_printf ("%u", r->vcpus);
		g_autofree gchar *have = g_strdup_printf ("%u", MAX (dom->vcpus, 1));
		return ac_localsev_differs (error, name, "<vcpu> (measured in SEV-ES VMSAs)", want, have);
	}
	disk = ac_localsev_domain_find_disk (dom, r->disk_dev);
	if (disk == NULL) {
		g_set_error (error,
			     AC_ERROR,
			     AC_ERROR_REFUSED,
			     "domain '%s': disk: the domain has no disk '%s', the one prepared (source "
			     "'%s'); prepare the launch again",
			     name,
			     r->disk_dev != NULL ? r->disk_dev : "(first)",
			     r->disk_source != NULL ? r->disk_source : "none");
		return FALSE;
	}
	if (g_strcmp0 (disk->source, r->disk_source) != 0) {
		g_autofree gchar *what = g_strdup_printf ("disk: the source of disk %s", r->disk_dev);
		return ac_localsev_differs (error, name, what, r->disk_source, disk->source);
	}
	/* the same name can be another disk: a block device, a network or pool volume, another
	 * format, or a chain whose top is the prepared file */
	{
		const struct {
			const gchar *what;
			const gchar *prepared;
			const gchar *found;
		} parts[] = {
			{ "type (<disk type>)", r->disk_type, disk->type },
			{ "format (<driver>)", r->disk_driver, disk->driver },
			{ "<source>", r->disk_source_xml, disk->source_xml },
			{ "<backingStore>", r->disk_backing, disk->backing },
		};
		for (guint i = 0; i < G_N_ELEMENTS (parts); i++) {
			g_autofree gchar *what = NULL;
			if (g_strcmp0 (parts[i].prepared, parts[i].found) == 0)
				continue;
			what = g_strdup_printf ("disk: the %s of disk %s", parts[i].what, r->disk_dev);
			return ac_localsev_differs (error, name, what, parts[i].prepared, parts[i].found);
		}
	}
	return TRUE;
}

/**
 * ac_localsev_check_prepared:
 * @record: what the service prepared for the domain
 * @domain_xml: the domain about to start (the hook's stdin)
 *
 * The gatekeeper's decision, without any I/O: the start is allowed only when the domain's
 * <launchSecurity> (policy, cbitpos, reducedPhysBits, dhCert, session), firmware loader, disk
 * and vCPUs (SEV-ES) are the prepared ones and the session was not used yet.
 *
 * Returns: %FALSE with %AC_ERROR_REFUSED naming the input that differs.
 */
gboolean
ac_localsev_check_prepared (const AcLocalsevRecord *record,
			    const gchar *domain_xml,
			    gsize len,
			    GError **error)
{
	g_autoptr(AcLocalsevDomain) dom = NULL;
	g_autoptr(GError) error_local = NULL;

	g_return_val_if_fail (record != NULL, FALSE);
	g_return_val_if_fail (domain_xml != NULL, FALSE);

	dom = ac_localsev_domain_parse (domain_xml, (gssize)len, &error_local);
	if (dom == NULL) {
		g_set_error (error,
			     AC_ERROR,
			     AC_ERROR_REFUSED,
			     "domain '%s': %s",
			     record->domain,
			     error_local->message);
		return FALSE;
	}
	if (record->state != AC_LOCALSEV_STATE_PREPARED) {
		g_set_error (error,
			     AC_ERROR,
			     AC_ERROR_REFUSED,
			     "domain '%s': stale session: session %s was already %s (%s); a "
			     "session serves one launch only, so the service must prepare a fresh one",
			     record->domain,
			     record->session_id,
			     ac_localsev_state_to_string (record->state),
			     record->state_time != NULL ? record->state_time : "time unknown");
		return FALSE;
	}
	return ac_localsev_compare (record, dom, error);
}

/* ------------------------------------------------------------------------------------------ */
/* attest                                                                                     */

typedef struct {
	guint8 tek[AC_SEV_KEY_SIZE];
	guint8 tik[AC_SEV_KEY_SIZE];
} AcLocalsevKeys;

static void
ac_localsev_keys_free (AcLocalsevKeys *keys)
{
	if (keys == NULL)
		return;
	OPENSSL_cleanse (keys, sizeof (*keys));
	g_free (keys);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (AcLocalsevKeys, ac_localsev_keys_free)

static AcLocalsevKeys *
ac_localsev_keys_load (const gchar *dir, const gchar *session_id, GError **error)
{
	g_autoptr(AcLocalsevKeys) keys = g_new0 (AcLocalsevKeys, 1);
	g_autofree gchar *tek_name = g_strconcat (session_id, "_tek.bin", NULL);
	g_autofree gchar *tik_name = g_strconcat (session_id, "_tik.bin", NULL);
	g_autofree gchar *tek = g_build_filename (dir, tek_name, NULL);
	g_autofree gchar *tik = g_build_filename (dir, tik_name, NULL);

	if (!ac_sev_key_file_read (tek, keys->tek, AC_SEV_KEY_SIZE, "session TEK", error))
		return NULL;
	if (!ac_sev_key_file_read (tik, keys->tik, AC_SEV_KEY_SIZE, "session TIK", error))
		return NULL;
	return g_steal_pointer (&keys);
}

/* marks the session used, atomically: exactly one attest can get past this */
static gboolean
ac_localsev_claim (const gchar *dir, AcLocalsevRecord *r, GError **error)
{
	g_autofree gchar *name = g_strconcat (r->session_id, ".claimed", NULL);
	g_autofree gchar *path = g_build_filename (dir, name, NULL);
	int fd = open (path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);

	if (fd < 0) {
		if (errno == EEXIST) {
			g_set_error (error,
				     AC_ERROR,
				     AC_ERROR_REFUSED,
				     "domain '%s': stale session: session %s was already used for a "
				     "launch measurement; a reused session lets the host forge "
				     "measurements — prepare a fresh session and start the domain again",
				     r->domain,
				     r->session_id);
			return FALSE;
		}
		g_set_error (error,
			     AC_ERROR,
			     AC_ERROR_IO,
			     "cannot mark session %s used: %s",
			     r->session_id,
			     g_strerror (errno));
		return FALSE;
	}
	close (fd);
	r->state = AC_LOCALSEV_STATE_CONSUMED;
	g_free (r->state_time);
	r->state_time = ac_localsev_now ();
	return ac_localsev_record_save (dir, r, error);
}

static void
ac_localsev_progress_done (AcProgress *progress)
{
	if (progress != NULL)
		ac_progress_step_done (progress);
}

/**
 * ac_localsev_attest:
 * @tag: the owner's intent (policy, pinned firmware hash)
 * @domain_xml: the domain as libvirt reports it (name, UUID, launchSecurity)
 * @passphrase: the disk passphrase (printable ASCII)
 * @progress: (nullable): steps record, host, measurement, verify, inject, resume
 *
 * Attests a domain started paused with the prepared session and, only when everything
 * verifies, injects the passphrase and resumes it. The session is burnt as soon as a launch
 * measurement of it was read, whatever the verdict.
 *
 * Errors: %AC_ERROR_REFUSED for a stale session, a policy or API version below the minimum,
 * a domain not paused; %AC_ERROR_UNTRUSTED when the host's PDH is not the one the session was
 * made for; %AC_ERROR_MISMATCH for the firmware hash or the measurement; %AC_ERROR_NOT_FOUND
 * when nothing was prepared or the domain is not started.
 */
AcLocalsevAttestation *
ac_localsev_attest (AcSevHost *host,
		    const AcLocalsevOptions *opts,
		    const AcTag *tag,
		    const gchar *domain_xml,
		    const gchar *passphrase,
		    AcProgress *progress,
		    GError **error)
{
	g_autoptr(AcLocalsevDomain) dom = NULL;
	g_autoptr(AcLocalsevRecord) r = NULL;
	g_autoptr(AcSevHostInfo) info = NULL;
	g_autoptr(AcSevLaunchInfo) launch = NULL;
	g_autoptr(AcLocalsevKeys) keys = NULL;
	g_autoptr(AcLocalsevAttestation) att = NULL;
	g_autoptr(GBytes) fw = NULL;
	g_autoptr(GBytes) table = NULL;
	g_autoptr(GBytes) payload = NULL;
	g_autoptr(AcSevOvmf) ovmf = NULL;
	g_autoptr(GError) error_local = NULL;
	g_autofree gchar *dir = NULL;
	g_autofree guint8 *pdh = NULL;
	g_autofree gchar *pdh_sha256 = NULL;
	g_autofree guint8 *blob = NULL;
	g_autofree gchar *hdr_b64 = NULL;
	g_autofree gchar *payload_b64 = NULL;
	g_autofree gchar *what = NULL;
	AcSevDomainState state = AC_SEV_DOMAIN_STATE_OTHER;
	AcSevLaunchInputs in = { 0 };
	guint8 ld[32];
	guint8 hdr[AC_SEV_SECRET_HEADER_SIZE];
	gsize pdh_len = 0, blob_len = 0;
	guint32 secret_base = 0, secret_size = 0;
	gboolean has_secret_area = FALSE;
	const gchar *name;

	g_return_val_if_fail (AC_IS_SEV_HOST (host), NULL);
	g_return_val_if_fail (opts != NULL, NULL);
	g_return_val_if_fail (tag != NULL, NULL);
	g_return_val_if_fail (domain_xml != NULL, NULL);

	if (progress != NULL) {
		ac_progress_add_step (progress, "record", 5);
		ac_progress_add_step (progress, "host", 10);
		ac_progress_add_step (progress, "measurement", 10);
		ac_progress_add_step (progress, "verify", 45);
		ac_progress_add_step (progress, "inject", 20);
		ac_progress_add_step (progress, "resume", 10);
	}

	/* what was prepared, and is the domain still that? */
	dom = ac_localsev_domain_parse (domain_xml, -1, error);
	if (dom == NULL)
		return NULL;
	if (!ac_localsev_check_uuid (dom->uuid, error))
		return NULL;
	name = dom->name != NULL ? dom->name : dom->uuid;
	/* the passphrase is checked before anything can burn the session */
	table = ac_sev_secret_table_build_aleph_passphrase (passphrase, error);
	if (table == NULL)
		return NULL;
	dir = ac_localsev_domain_dir_full (opts->state_dir, dom->uuid, FALSE, &error_local);
	if (dir == NULL) {
		if (g_error_matches (error_local, AC_ERROR, AC_ERROR_NOT_FOUND))
			g_set_error (error,
				     AC_ERROR,
				     AC_ERROR_NOT_FOUND,
				     "no SEV launch was prepared for domain '%s' (%s)",
				     name,
				     error_local->message);
		else
			g_propagate_error (error, g_steal_pointer (&error_local));
		return NULL;
	}
	r = ac_localsev_record_load_from (dir, name, error);
	if (r == NULL)
		return NULL;
	if (r->state == AC_LOCALSEV_STATE_CONSUMED || r->state == AC_LOCALSEV_STATE_ATTESTED) {
		g_set_error (error,
			     AC_ERROR,
			     AC_ERROR_REFUSED,
			     "domain '%s': stale session: session %s was already %s (%s); a session "
			     "is used once — prepare a fresh one and start the domain again",
			     name,
			     r->session_id,
			     ac_localsev_state_to_string (r->state),
			     r->state_time != NULL ? r->state_time : "time unknown");
		return NULL;
	}
	if (tag->policy != r->policy) {
		g_set_error (error,
			     AC_ERROR,
			     AC_ERROR_REFUSED,
			     "domain '%s': policy: the tag asks for 0x%x but session %s was prepared "
			     "for 0x%x; prepare the launch again",
			     name,
			     tag->policy,
			     r->session_id,
			     r->policy);
		return NULL;
	}
	if (tag->firmware_sha256 == NULL ||
	    g_ascii_strcasecmp (tag->firmware_sha256, r->firmware_sha256) != 0) {
		g_set_error (error,
			     AC_ERROR,
			     AC_ERROR_MISMATCH,
			     "domain '%s': firmware hash: the tag pins %s but the launch was prepared "
			     "for firmware %s; prepare the launch again",
			     name,
			     tag->firmware_sha256 != NULL ? tag->firmware_sha256 : "(none)",
			     r->firmware_sha256);
		return NULL;
	}
	if (!ac_localsev_compare (r, dom, error))
		return NULL;
	ac_localsev_progress_done (progress);

	/* the platform must still be the one the session was made for */
	info = ac_sev_host_get_sev_info (host, error);
	if (info == NULL)
		return NULL;
	what = g_strdup_printf ("chain: host %s's pdh", ac_sev_host_get_name (host));
	pdh = ac_localsev_b64_decode (info->pdh,
				      what,
				      AC_SEV_CERT_SIZE,
				      AC_SEV_CERT_SIZE,
				      AC_ERROR_UNTRUSTED,
				      &pdh_len,
				      error);
	if (pdh == NULL)
		return NULL;
	pdh_sha256 = ac_localsev_sha256 (pdh, pdh_len);
	if (g_strcmp0 (pdh_sha256, r->pdh_sha256) != 0) {
		g_set_error (error,
			     AC_ERROR,
			     AC_ERROR_UNTRUSTED,
			     "domain '%s': chain: host %s's PDH changed since the session was "
			     "prepared (PDH sha256 now %s, the session was made for %s); the host "
			     "cannot have launched with this session — prepare the launch again",
			     name,
			     ac_sev_host_get_name (host),
			     pdh_sha256,
			     r->pdh_sha256);
		return NULL;
	}
	if (!ac_sev_host_get_domain_state (host, dom->uuid, &state, error))
		return NULL;
	if (state == AC_SEV_DOMAIN_STATE_SHUTOFF) {
		g_set_error (error,
			     AC_ERROR,
			     AC_ERROR_NOT_FOUND,
			     "domain '%s' is not running, so there is no launch to attest: start it "
			     "paused with 'virsh start --paused %s'",
			     name,
			     name);
		return NULL;
	}
	if (state != AC_SEV_DOMAIN_STATE_PAUSED) {
		/* the launch happened with this session: it is burnt whatever comes next */
		if (state == AC_SEV_DOMAIN_STATE_RUNNING &&
		    !ac_localsev_claim (dir, r, &error_local))
			g_debug ("domain '%s': %s", name, error_local->message);
		g_set_error (error,
			     AC_ERROR,
			     AC_ERROR_REFUSED,
			     "domain '%s' is %s, not paused: the secret can only be injected before "
			     "the guest runs. Stop it ('virsh destroy %s'), let a fresh session be "
			     "prepared, and start it paused with 'virsh start --paused %s'",
			     name,
			     ac_sev_domain_state_to_string (state),
			     name,
			     name);
		return NULL;
	}
	ac_localsev_progress_done (progress);

	/* the launch measurement: from here on the session is used */
	launch = ac_sev_host_get_launch_security_info (host, dom->uuid, error);
	if (launch == NULL)
		return NULL;
	if (!ac_localsev_claim (dir, r, error))
		return NULL;
	ac_localsev_progress_done (progress);

	/* verify: policy, API version, firmware, measurement */
	if (launch->policy != tag->policy) {
		g_autofree gchar *want = ac_sev_policy_to_names (tag->policy);
		g_autofree gchar *have = ac_sev_policy_to_names (launch->policy);
		g_set_error (error,
			     AC_ERROR,
			     AC_ERROR_REFUSED,
			     "domain '%s': policy: the host reports SEV policy 0x%x (%s), but the tag "
			     "asks for 0x%x (%s)",
			     name,
			     launch->policy,
			     have,
			     tag->policy,
			     want);
		return NULL;
	}
	if (launch->api_major > 255 || launch->api_minor > 255 || launch->build_id > 255) {
		g_set_error (error,
			     AC_ERROR,
			     AC_ERROR_MISMATCH,
			     "domain '%s': API version: the host reports firmware %u.%u build %u, "
			     "which is not an SEV firmware version (8-bit fields)",
			     name,
			     launch->api_major,
			     launch->api_minor,
			     launch->build_id);
		return NULL;
	}
	if (launch->api_major < opts->min_api_major ||
	    (launch->api_major == opts->min_api_major && launch->api_minor < opts->min_api_minor)) {
		g_set_error (error,
			     AC_ERROR,
			     AC_ERROR_REFUSED,
			     "domain '%s': API version: the host's SEV firmware API %u.%u is older "
			     "than the required minimum %u.%u",
			     name,
			     launch->api_major,
			     launch->api_minor,
			     opts->min_api_major,
			     opts->min_api_minor);
		return NULL;
	}
	{
		g_autofree gchar *what_m = g_strdup_printf ("domain '%s': measurement: the host's "
							    "sev-measurement",
							    name);
		blob = ac_localsev_b64_decode (launch->measurement,
					       what_m,
					       AC_SEV_MEASURE_BLOB_SIZE,
					       AC_SEV_MEASURE_BLOB_SIZE,
					       AC_ERROR_MISMATCH,
					       &blob_len,
					       error);
		if (blob == NULL)
			return NULL;
	}
	fw = ac_localsev_firmware_load (r->firmware_path, tag->firmware_sha256, NULL, &error_local);
	if (fw == NULL) {
		g_set_error (error,
			     AC_ERROR,
			     error_local->code,
			     "domain '%s': %s",
			     name,
			     error_local->message);
		return NULL;
	}
	ovmf = ac_sev_ovmf_parse (g_bytes_get_data (fw, NULL), g_bytes_get_size (fw), error);
	if (ovmf == NULL)
		return NULL;
	in.policy = launch->policy;
	in.firmware = fw;
	in.num_cpus = (launch->policy & AC_SEV_POLICY_ES) ? MAX (r->vcpus, 1) : 0;
	in.cpu_family = opts->cpu_family;
	in.cpu_model = opts->cpu_model;
	in.cpu_stepping = opts->cpu_stepping;
	in.vmsa_variant = opts->vmsa_variant;
	if (!ac_sev_launch_digest (&in, ld, error))
		return NULL;
	keys = ac_localsev_keys_load (dir, r->session_id, error);
	if (keys == NULL)
		return NULL;
	{
		g_autofree gchar *ld_hex = ac_localsev_hex (ld, sizeof (ld));
		g_autofree gchar *mnonce = ac_localsev_hex (blob + 32, 16);
		g_autofree gchar *measure = ac_localsev_hex (blob, 32);
		g_debug ("domain '%s': attestation inputs: firmware sha256 %s, launch digest %s, "
			 "policy 0x%x, API %u.%u build %u, mnonce %s, measurement %s, session %s",
			 name,
			 r->firmware_sha256,
			 ld_hex,
			 launch->policy,
			 launch->api_major,
			 launch->api_minor,
			 launch->build_id,
			 mnonce,
			 measure,
			 r->session_id);
	}
	if (!ac_sev_measurement_verify (blob,
					blob_len,
					keys->tik,
					(guint8)launch->api_major,
					(guint8)launch->api_minor,
					(guint8)launch->build_id,
					launch->policy,
					ld,
					&error_local)) {
		g_set_error (error,
			     AC_ERROR,
			     error_local->code,
			     "domain '%s': measurement: %s (session %s, firmware %s)",
			     name,
			     error_local->message,
			     r->session_id,
			     r->firmware_path);
		return NULL;
	}
	ac_localsev_progress_done (progress);

	/* the secret: the passphrase in Aleph's table, sealed for this launch */
	if (ac_sev_ovmf_get_secret_area (ovmf, &secret_base, &secret_size, NULL) && secret_size > 0) {
		has_secret_area = TRUE;
		if (g_bytes_get_size (table) > secret_size) {
			g_set_error (error,
				     AC_ERROR,
				     AC_ERROR_INVALID_INPUT,
				     "domain '%s': the secret table has %" G_GSIZE_FORMAT " bytes, "
				     "more than the firmware's %u-byte secret area",
				     name,
				     g_bytes_get_size (table),
				     secret_size);
			return NULL;
		}
	}
	if (!ac_sev_secret_packet_build (keys->tek,
					 keys->tik,
					 blob,
					 (guint8)launch->api_major,
					 (guint8)launch->api_minor,
					 NULL,
					 table,
					 hdr,
					 &payload,
					 error))
		return NULL;
	g_clear_pointer (&keys, ac_localsev_keys_free);
	g_clear_pointer (&table, g_bytes_unref);
	hdr_b64 = g_base64_encode (hdr, sizeof (hdr));
	payload_b64 = g_base64_encode (g_bytes_get_data (payload, NULL), g_bytes_get_size (payload));
	if (!ac_sev_host_set_launch_security_state (host,
						    dom->uuid,
						    hdr_b64,
						    payload_b64,
						    has_secret_area,
						    secret_base,
						    error))
		return NULL;
	ac_localsev_progress_done (progress);

	if (!ac_sev_host_resume (host, dom->uuid, error))
		return NULL;
	ac_localsev_progress_done (progress);

	/* done: the keys are of no further use */
	r->state = AC_LOCALSEV_STATE_ATTESTED;
	g_free (r->state_time);
	r->state_time = ac_localsev_now ();
	r->measurement = g_strdup (launch->measurement);
	if (!ac_localsev_record_save (dir, r, &error_local)) {
		g_warning ("domain '%s': %s", name, error_local->message);
		g_clear_error (&error_local);
	}
	for (guint i = 0; i < 2; i++) {
		g_autofree gchar *base = g_strconcat (r->session_id, session_suffixes[i], NULL);
		g_autofree gchar *path = g_build_filename (dir, base, NULL);
		if (!ac_localsev_shred (path, &error_local)) {
			g_warning ("domain '%s': %s", name, error_local->message);
			g_clear_error (&error_local);
		}
	}

	att = g_new0 (AcLocalsevAttestation, 1);
	att->measurement = g_strdup (launch->measurement);
	att->api_major = launch->api_major;
	att->api_minor = launch->api_minor;
	att->build_id = launch->build_id;
	att->policy = launch->policy;
	att->generation = g_strdup (r->chain_generation);
	att->session_id = g_strdup (r->session_id);
	att->time = g_strdup (r->state_time);
	return g_steal_pointer (&att);
}

/**
 * ac_localsev_forget:
 *
 * Erases what the flow keeps for a domain (session keys are overwritten before removal).
 */
gboolean
ac_localsev_forget (const gchar *state_dir, const gchar *uuid, GError **error)
{
	g_autofree gchar *dir = ac_localsev_domain_dir_full (state_dir, uuid, FALSE, error);
	g_autoptr(GDir) d = NULL;
	g_autoptr(GError) error_local = NULL;
	const gchar *entry;

	if (dir == NULL)
		return FALSE;
	d = g_dir_open (dir, 0, &error_local);
	if (d == NULL) {
		g_set_error (error, AC_ERROR, AC_ERROR_IO, "%s", error_local->message);
		return FALSE;
	}
	while ((entry = g_dir_read_name (d)) != NULL) {
		g_autofree gchar *path = g_build_filename (dir, entry, NULL);
		if (!ac_localsev_shred (path, error))
			return FALSE;
	}
	if (rmdir (dir) != 0) {
		g_set_error (error,
			     AC_ERROR,
			     AC_ERROR_IO,
			     "cannot remove %s: %s",
			     dir,
			     g_strerror (errno));
		return FALSE;
	}
	return TRUE;
}
