/*
 * Aleph's owner-authenticated secret injection: secrets, canonical JSON, the signed text and
 * the request body.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "ac-codec.h"
#include "ac-error.h"
#include "ac-json-write.h"
#include "ac-json.h"
#include "ac-secret.h"
#include "ac-snp-inject.h"

struct _AcSnpSecrets {
	GTree *map; /* key (gchar*) → AcSecret*, sorted by byte */
};

static gint
key_cmp (gconstpointer a, gconstpointer b, gpointer unused)
{
	return strcmp (a, b);
}

AcSnpSecrets *
ac_snp_secrets_new (void)
{
	AcSnpSecrets *self = g_new0 (AcSnpSecrets, 1);
	self->map = g_tree_new_full (key_cmp, NULL, g_free, (GDestroyNotify)ac_secret_free);
	return self;
}

void
ac_snp_secrets_free (AcSnpSecrets *self)
{
	if (self == NULL)
		return;
	g_tree_destroy (self->map);
	g_free (self);
}

guint
ac_snp_secrets_get_size (AcSnpSecrets *self)
{
	return (guint)g_tree_nnodes (self->map);
}

const gchar *
ac_snp_secrets_lookup (AcSnpSecrets *self, const gchar *key, gsize *len)
{
	AcSecret *s = g_tree_lookup (self->map, key);
	if (s == NULL)
		return NULL;
	if (len != NULL)
		*len = s->len;
	return s->data;
}

static gboolean
key_valid (const gchar *key, GError **error)
{
	gsize n = key != NULL ? strlen (key) : 0;

	if (n == 0 || n > AC_SNP_INJECT_KEY_MAX) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "secret name: %" G_GSIZE_FORMAT " characters, expected 1 to %d", n,
		             AC_SNP_INJECT_KEY_MAX);
		return FALSE;
	}
	for (gsize i = 0; i < n; i++) {
		if (!g_ascii_isalnum (key[i]) && key[i] != '_' && key[i] != '-') {
			g_autofree gchar *shown = g_strescape (key, NULL);
			g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			             "secret name \"%s\": character %" G_GSIZE_FORMAT
			             " is not a letter, digit, '_' or '-'",
			             shown, i + 1);
			return FALSE;
		}
	}
	return TRUE;
}

gboolean
ac_snp_secrets_add (AcSnpSecrets *self,
                    const gchar *key,
                    const gchar *value,
                    gsize value_len,
                    GError **error)
{
	if (!key_valid (key, error))
		return FALSE;
	if (g_tree_lookup (self->map, key) != NULL) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "secret \"%s\": given twice, expected once", key);
		return FALSE;
	}
	if (ac_snp_secrets_get_size (self) >= AC_SNP_INJECT_MAX_SECRETS) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "secret \"%s\": more than %d secrets", key, AC_SNP_INJECT_MAX_SECRETS);
		return FALSE;
	}
	if (value == NULL || value_len > AC_SNP_INJECT_VALUE_MAX) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "secret \"%s\": a value of %" G_GSIZE_FORMAT
		             " bytes, expected at most %d",
		             key, value != NULL ? value_len : 0, AC_SNP_INJECT_VALUE_MAX);
		return FALSE;
	}
	if (memchr (value, '\0', value_len) != NULL
	    || !g_utf8_validate (value, (gssize)value_len, NULL)) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "secret \"%s\": its value is not UTF-8 text without NUL", key);
		return FALSE;
	}
	g_tree_insert (self->map, g_strdup (key), ac_secret_new (value, value_len));
	return TRUE;
}

/* a JSON string's "\u0000" would come out of json-glib as a C string cut short: a value
 * silently truncated. Backslashes only occur inside strings in valid JSON. */
static gboolean
no_escaped_nul (const gchar *what, const gchar *json, gsize len, GError **error)
{
	for (gsize i = 0; json != NULL && i + 1 < len; i++) {
		if (json[i] != '\\')
			continue;
		if (json[i + 1] == 'u' && i + 5 < len && memcmp (json + i + 2, "0000", 4) == 0) {
			g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			             "%s: a string holds \\u0000 at byte %" G_GSIZE_FORMAT
			             ", expected text without NUL",
			             what, i);
			return FALSE;
		}
		i++; /* skip the escaped character */
	}
	return TRUE;
}

static AcSnpSecrets *
secrets_from_object (JsonObject *o, const gchar *what, GError **error)
{
	g_autoptr (AcSnpSecrets) self = ac_snp_secrets_new ();
	JsonObjectIter it;
	const gchar *name;
	JsonNode *member;

	json_object_iter_init (&it, o);
	while (json_object_iter_next (&it, &name, &member)) {
		const gchar *value;
		if (!JSON_NODE_HOLDS_VALUE (member)
		    || json_node_get_value_type (member) != G_TYPE_STRING) {
			g_autofree gchar *shown = g_strescape (name, NULL);
			g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			             "%s: secret \"%.80s\": a %s, expected a string", what, shown,
			             ac_json_type_name (member));
			return NULL;
		}
		value = json_node_get_string (member);
		if (!ac_snp_secrets_add (self, name, value, strlen (value), error))
			return NULL;
	}
	return g_steal_pointer (&self);
}

AcSnpSecrets *
ac_snp_secrets_parse_json (const gchar *json, gsize len, GError **error)
{
	const AcJsonScope scope = { "secrets", AC_ERROR_INVALID_INPUT };
	g_autoptr (JsonNode) root = NULL;
	g_autoptr (AcSnpSecrets) self = NULL;

	if (!no_escaped_nul ("secrets", json, len, error))
		return NULL;
	root = ac_json_parse_bounded (scope.what, json, len, AC_SNP_INJECT_BODY_MAX,
	                              AC_ERROR_INVALID_INPUT, error);
	if (root == NULL)
		return NULL;
	if (!JSON_NODE_HOLDS_OBJECT (root)) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "secrets: JSON %s, expected an object of strings",
		             ac_json_type_name (root));
		return NULL;
	}
	self = secrets_from_object (json_node_get_object (root), "secrets", error);
	if (self == NULL)
		return NULL;
	return g_steal_pointer (&self);
}

static gboolean
append_member (gpointer key, gpointer value, gpointer data)
{
	GString *out = data;
	AcSecret *s = value;
	if (out->str[out->len - 1] != '{')
		g_string_append_c (out, ',');
	ac_json_append_escaped (out, key, strlen (key), AC_JSON_ESCAPE_ECMA);
	g_string_append_c (out, ':');
	ac_json_append_escaped (out, s->data, s->len, AC_JSON_ESCAPE_ECMA);
	return FALSE;
}

/* a GString whose buffer ends up in a wiping GBytes: sized once so it never reallocates
 * (a reallocation would leave a copy of the secrets behind) */
static GString *
secret_string_new (AcSnpSecrets *self, gsize extra)
{
	gsize need = 2 + extra;
	GTreeNode *n;
	for (n = g_tree_node_first (self->map); n != NULL; n = g_tree_node_next (n)) {
		AcSecret *s = g_tree_node_value (n);
		/* every byte escaped as \u00xx at worst, quotes, colon, comma */
		need += 6 * (strlen (g_tree_node_key (n)) + s->len) + 6;
	}
	return g_string_sized_new (need);
}

static GBytes *
secret_string_free_to_bytes (GString *s)
{
	gsize len = s->len;
	return ac_secret_bytes_new_take (g_string_free (s, FALSE), len);
}

GBytes *
ac_snp_secrets_to_canonical (AcSnpSecrets *self)
{
	GString *out = secret_string_new (self, 0);
	g_string_append_c (out, '{');
	g_tree_foreach (self->map, append_member, out);
	g_string_append_c (out, '}');
	return secret_string_free_to_bytes (out);
}

gboolean
ac_snp_inject_payload (const guint8 *pk_raw,
                       gsize pk_len,
                       AcSnpSecrets *secrets,
                       gchar out[AC_SNP_INJECT_PAYLOAD_LEN + 1],
                       GError **error)
{
	g_autoptr (GBytes) canonical = NULL;
	g_autofree gchar *key_hash = NULL;
	g_autofree gchar *secrets_hash = NULL;
	gsize n;

	if (pk_raw == NULL || pk_len == 0) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		                     "injection: no TLS public key to bind the secrets to");
		return FALSE;
	}
	canonical = ac_snp_secrets_to_canonical (secrets);
	key_hash = g_compute_checksum_for_data (G_CHECKSUM_SHA384, pk_raw, pk_len);
	secrets_hash = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, canonical);
	n = (gsize)g_snprintf (out, AC_SNP_INJECT_PAYLOAD_LEN + 1, "%s|%s|%s", AC_SNP_INJECT_DOMAIN,
	                       key_hash, secrets_hash);
	g_assert (n == AC_SNP_INJECT_PAYLOAD_LEN);
	return TRUE;
}

static gboolean
check_count (AcSnpSecrets *secrets, const gchar *what, GError **error)
{
	guint n = ac_snp_secrets_get_size (secrets);
	if (n == 0 || n > AC_SNP_INJECT_MAX_SECRETS) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "%s: %u secrets, expected 1 to %d", what, n,
		             AC_SNP_INJECT_MAX_SECRETS);
		return FALSE;
	}
	return TRUE;
}

GBytes *
ac_snp_inject_body (AcSnpSecrets *secrets,
                    const guint8 signature[AC_SNP_INJECT_SIGNATURE_LEN],
                    GError **error)
{
	g_autofree gchar *sig_hex = NULL;
	GString *out;

	if (!check_count (secrets, "injection", error))
		return NULL;
	if (signature[64] != 27 && signature[64] != 28) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "injection: signature recovery byte v=%u, expected 27 or 28",
		             signature[64]);
		return NULL;
	}
	sig_hex = ac_codec_hex_encode (signature, AC_SNP_INJECT_SIGNATURE_LEN);
	out = secret_string_new (secrets, 64 + 2 * AC_SNP_INJECT_SIGNATURE_LEN);
	g_string_append (out, "{\"secrets\":{");
	g_tree_foreach (secrets->map, append_member, out);
	g_string_append_printf (out, "},\"signature\":\"0x%s\"}", sig_hex);
	return secret_string_free_to_bytes (out);
}

gboolean
ac_snp_inject_body_parse (const gchar *body,
                          gsize len,
                          AcSnpSecrets **secrets,
                          guint8 signature[AC_SNP_INJECT_SIGNATURE_LEN],
                          GError **error)
{
	static const gchar *const allowed[] = { "secrets", "signature", NULL };
	const AcJsonScope scope = { "injection request", AC_ERROR_INVALID_INPUT };
	g_autoptr (JsonNode) root = NULL;
	g_autoptr (AcSnpSecrets) parsed = NULL;
	g_autofree gchar *sig_hex = NULL;
	JsonObject *o;
	JsonNode *s;

	if (!no_escaped_nul ("injection request", body, len, error))
		return FALSE;
	root = ac_json_parse_bounded (scope.what, body, len, AC_SNP_INJECT_BODY_MAX,
	                              AC_ERROR_INVALID_INPUT, error);
	if (root == NULL)
		return FALSE;
	if (!JSON_NODE_HOLDS_OBJECT (root)) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "injection request: JSON %s, expected {\"secrets\": {...}, "
		             "\"signature\": \"0x...\"}",
		             ac_json_type_name (root));
		return FALSE;
	}
	o = json_node_get_object (root);
	if (!ac_json_check_members (&scope, o, NULL, allowed, error)
	    || !ac_json_read_string (&scope, o, NULL, "signature", TRUE, 2 + 130, &sig_hex, error))
		return FALSE;
	if (!g_str_has_prefix (sig_hex, "0x")
	    || !ac_codec_hex_decode_fixed ("injection request field 'signature'", sig_hex + 2,
	                                   AC_CODEC_HEX_DEFAULT, signature,
	                                   AC_SNP_INJECT_SIGNATURE_LEN, error)) {
		if (error != NULL && *error == NULL)
			g_set_error_literal (
			    error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			    "injection request field 'signature': expected \"0x\" and "
			    "130 hex digits");
		return FALSE;
	}
	if (signature[64] != 0 && signature[64] != 1 && signature[64] != 27
	    && signature[64] != 28) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "injection request field 'signature': recovery byte v=%u, expected 0, "
		             "1, 27 or 28",
		             signature[64]);
		return FALSE;
	}
	s = json_object_get_member (o, "secrets");
	if (s == NULL || !JSON_NODE_HOLDS_OBJECT (s)) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "injection request field 'secrets': %s, expected an object of strings",
		             s != NULL ? ac_json_type_name (s) : "missing");
		return FALSE;
	}
	parsed = secrets_from_object (json_node_get_object (s), "injection request", error);
	if (parsed == NULL)
		return FALSE;
	if (!check_count (parsed, "injection request", error))
		return FALSE;
	*secrets = g_steal_pointer (&parsed);
	return TRUE;
}
