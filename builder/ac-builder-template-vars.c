/*
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A template's variables: "${var.NAME}" in any string value outside "variables" is replaced by
 * the variable's value ("$$" is a literal "$"); --var NAME=VALUE and --var-file override a
 * declared default, and only a declared one.
 */

#include "config.h"

#include <openssl/evp.h>
#include <string.h>

#include "ac-builder-template-private.h"
#include "ac-codec.h"
#include "ac-error.h"
#include "ac-file.h"
#include "ac-json.h"

#define AC_TEMPLATE_MAX_DEPTH 32

static gchar *
tpl_substitute (const gchar *s,
                GHashTable *vars,
                GHashTable *used,
                const gchar *field,
                GError **error)
{
	g_autoptr(GString) out = g_string_new (NULL);
	const gchar *p = s;
	while (*p != '\0') {
		if (p[0] == '$' && p[1] == '$') {
			g_string_append_c (out, '$');
			p += 2;
		} else if (p[0] == '$' && p[1] == '{') {
			const gchar *end = strchr (p + 2, '}');
			g_autofree gchar *ref = NULL;
			const gchar *value;
			if (end == NULL) {
				ac_json_fail (&ac_template_scope, error, field, "unterminated '${' in '%s'", s);
				return NULL;
			}
			ref = g_strndup (p + 2, (gsize)(end - p - 2));
			if (!g_str_has_prefix (ref, "var.")) {
				ac_json_fail (&ac_template_scope, error, field, "'${%s}': expected a reference like ${var.NAME}", ref);
				return NULL;
			}
			value = vars != NULL ? g_hash_table_lookup (vars, ref + 4) : NULL;
			if (value == NULL) {
				ac_json_fail (&ac_template_scope, error, field,
					  "'${%s}': no variable '%s' is declared in 'variables'", ref,
					  ref + 4);
				return NULL;
			}
			if (used != NULL)
				g_hash_table_add (used, g_strdup (ref + 4));
			g_string_append (out, value);
			if (out->len > 65536) {
				ac_json_fail (&ac_template_scope, error, field, "value longer than 65536 characters after substitution");
				return NULL;
			}
			p = end + 1;
		} else {
			g_string_append_c (out, *p);
			p++;
		}
	}
	return g_string_free (g_steal_pointer (&out), FALSE);
}

static gboolean
tpl_substitute_node (JsonNode *node,
                     GHashTable *vars,
                     GHashTable *used,
                     const gchar *field,
                     guint depth,
                     GError **error)
{
	if (depth > AC_TEMPLATE_MAX_DEPTH)
		return ac_json_fail (&ac_template_scope, error, field, "nested deeper than %u levels", AC_TEMPLATE_MAX_DEPTH);
	if (JSON_NODE_HOLDS_OBJECT (node)) {
		JsonObject *o = json_node_get_object (node);
		g_autoptr(GList) members = json_object_get_members (o);
		for (GList *l = members; l != NULL; l = l->next) {
			g_autofree gchar *f = ac_json_field_path (field, l->data);
			if (!tpl_substitute_node (json_object_get_member (o, l->data), vars, used,
			                          f, depth + 1, error))
				return FALSE;
		}
	} else if (JSON_NODE_HOLDS_ARRAY (node)) {
		JsonArray *a = json_node_get_array (node);
		for (guint i = 0; i < json_array_get_length (a); i++) {
			g_autofree gchar *f = g_strdup_printf ("%s[%u]", field, i);
			if (!tpl_substitute_node (json_array_get_element (a, i), vars, used, f,
			                          depth + 1, error))
				return FALSE;
		}
	} else if (JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING) {
		const gchar *s = json_node_get_string (node);
		if (strchr (s, '$') != NULL) {
			g_autofree gchar *r = tpl_substitute (s, vars, used, field, error);
			if (r == NULL)
				return FALSE;
			json_node_set_string (node, r);
		}
	}
	return TRUE;
}

gboolean
ac_template_vars_name_ok (const gchar *name)
{
	if (name == NULL || !(g_ascii_isalpha (name[0]) || name[0] == '_'))
		return FALSE;
	for (const gchar *p = name; *p != '\0'; p++) {
		if (!g_ascii_isalnum (*p) && *p != '_' && *p != '-')
			return FALSE;
	}
	return strlen (name) <= 64;
}

/**
 * ac_template_parse_var:
 * @kv: "NAME=VALUE" from --var
 */
gboolean
ac_template_parse_var (GHashTable *vars, const gchar *kv, GError **error)
{
	const gchar *eq = strchr (kv, '=');
	g_autofree gchar *name = NULL;
	if (eq == NULL) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			     "--var '%s': expected NAME=VALUE", kv);
		return FALSE;
	}
	name = g_strndup (kv, (gsize)(eq - kv));
	if (!ac_template_vars_name_ok (name)) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			     "--var '%s': the name must be letters, digits, '_' or '-', starting with "
			     "a letter or '_'", name);
		return FALSE;
	}
	g_hash_table_insert (vars, g_steal_pointer (&name), g_strdup (eq + 1));
	return TRUE;
}

/* the variables: declared defaults, then the caller's overrides (only of declared names) */
GHashTable *
ac_template_vars_merge (AcTemplate *self,
               JsonObject *o,
               GHashTable *vars,
               GHashTable *origins,
               GError **error)
{
	g_autoptr(GHashTable) merged = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
	g_autoptr (GStrvBuilder) names = g_strv_builder_new ();
	JsonObject *sec = NULL;

	if (!ac_json_read_object (&ac_template_scope, o, "", "variables", FALSE, &sec, error))
		return NULL;
	if (sec != NULL) {
		g_autoptr(GList) members = json_object_get_members (sec);
		if (g_list_length (members) > 256) {
			ac_json_fail (&ac_template_scope, error, "variables", "%u variables: expected at most 256",
				  g_list_length (members));
			return NULL;
		}
		for (GList *l = members; l != NULL; l = l->next) {
			JsonNode *v = json_object_get_member (sec, l->data);
			g_autofree gchar *f = ac_json_field_path ("variables", l->data);
			if (!ac_template_vars_name_ok (l->data)) {
				ac_json_fail (&ac_template_scope, error, f, "expected a name of letters, digits, '_' or '-'");
				return NULL;
			}
			if (!JSON_NODE_HOLDS_VALUE (v) || json_node_get_value_type (v) != G_TYPE_STRING) {
				ac_json_fail (&ac_template_scope, error, f, "%s: expected a string", ac_json_type_name (v));
				return NULL;
			}
			g_hash_table_insert (merged, g_strdup (l->data),
					     g_strdup (json_node_get_string (v)));
			g_strv_builder_add (names, l->data);
		}
	}
	self->var_names = g_strv_builder_end (names);
	self->var_defaults = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
	{
		GHashTableIter it;
		gpointer k, v;
		g_hash_table_iter_init (&it, merged);
		while (g_hash_table_iter_next (&it, &k, &v))
			g_hash_table_insert (self->var_defaults, g_strdup (k), g_strdup (v));
	}
	if (vars != NULL) {
		GHashTableIter it;
		gpointer k, v;
		g_hash_table_iter_init (&it, vars);
		while (g_hash_table_iter_next (&it, &k, &v)) {
			if (!g_hash_table_contains (merged, k)) {
				const gchar *origin
				    = origins != NULL ? g_hash_table_lookup (origins, k) : NULL;
				if (origin != NULL)
					g_set_error (
					    error, AC_ERROR, AC_ERROR_INVALID_INPUT,
					    "%s: variable '%s': the template declares no such "
					    "variable in 'variables'",
					    origin, (const gchar *)k);
				else
					g_set_error (
					    error, AC_ERROR, AC_ERROR_INVALID_INPUT,
					    "--var %s: the template declares no such variable in "
					    "'variables'",
					    (const gchar *)k);
				return NULL;
			}
			g_hash_table_insert (merged, g_strdup (k), g_strdup (v));
		}
	}
	return g_steal_pointer (&merged);
}

/* the variables substituted in every other member; @self->sha256, the digest of what will be
 * built, of the result */
gboolean
ac_template_vars_substitute (AcTemplate *self, JsonNode *root, GHashTable *merged, GError **error)
{
	JsonObject *o = json_node_get_object (root);

	{
		g_autoptr(GList) members = json_object_get_members (o);
		for (GList *l = members; l != NULL; l = l->next) {
			if (g_strcmp0 (l->data, "variables") == 0)
				continue;
			if (!tpl_substitute_node (json_object_get_member (o, l->data), merged,
			                          self->var_used, l->data, 0, error))
				return FALSE;
		}
	}
	{
		g_autoptr(JsonGenerator) gen = json_generator_new ();
		g_autofree gchar *canon = NULL;
		gsize clen = 0;
		guint8 md[32];
		json_generator_set_root (gen, root);
		canon = json_generator_to_data (gen, &clen);
		EVP_Digest (canon, clen, md, NULL, EVP_sha256 (), NULL);
		self->sha256 = ac_codec_hex_encode (md, sizeof (md));
	}

	return TRUE;
}

#define AC_VAR_FILE_MAX_SIZE (1024 * 1024)

/* one variable from @name line @line: a second setting of a name is an error naming both */
static gboolean
tpl_var_file_set (GHashTable *vars,
                  GHashTable *origins,
                  const gchar *name,
                  guint line,
                  const gchar *var,
                  const gchar *value,
                  GError **error)
{
	g_autofree gchar *origin = g_strdup_printf ("%s line %u", name, line);
	const gchar *first = g_hash_table_lookup (origins, var);
	if (!ac_template_vars_name_ok (var)) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "%s: '%s': expected a variable name of letters, digits, '_' or '-', "
		             "starting with a letter or '_'",
		             origin, var);
		return FALSE;
	}
	if (first != NULL) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "%s: variable '%s' is set again (first by %s)", origin, var, first);
		return FALSE;
	}
	if (strlen (value) > 65536) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "%s: variable '%s': a value of %" G_GSIZE_FORMAT " bytes: expected at "
		             "most 65536",
		             origin, var, strlen (value));
		return FALSE;
	}
	g_hash_table_insert (origins, g_strdup (var), g_steal_pointer (&origin));
	g_hash_table_insert (vars, g_strdup (var), g_strdup (value));
	return TRUE;
}

/* NAME=VALUE lines; blank lines and lines starting with '#' are skipped; the value is taken as
 * it is (no quotes, no escapes, no spaces around '=') */
static gboolean
tpl_var_file_lines (const gchar *data,
                    gsize len,
                    const gchar *name,
                    GHashTable *vars,
                    GHashTable *origins,
                    GError **error)
{
	const gchar *p = data, *end = data + len;
	guint line = 0;
	while (p < end) {
		const gchar *nl = memchr (p, '\n', (gsize)(end - p));
		const gchar *stop = nl != NULL ? nl : end;
		g_autofree gchar *text = NULL;
		const gchar *eq, *first;
		gsize n = (gsize)(stop - p);
		line++;
		if (n > 0 && p[n - 1] == '\r')
			n--;
		text = g_strndup (p, n);
		p = nl != NULL ? nl + 1 : end;
		first = text;
		while (*first == ' ' || *first == '\t')
			first++;
		if (*first == '\0' || *first == '#')
			continue;
		eq = strchr (text, '=');
		if (eq == NULL || eq == text) {
			g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			             "%s line %u: expected NAME=VALUE (or a '#' comment)", name,
			             line);
			return FALSE;
		}
		{
			g_autofree gchar *var = g_strndup (text, (gsize)(eq - text));
			if (!tpl_var_file_set (vars, origins, name, line, var, eq + 1, error))
				return FALSE;
		}
	}
	return TRUE;
}

typedef struct {
	GHashTable *lines; /* "OBJECT-POINTER NAME" → line */
	gchar *duplicate;  /* the first duplicate member: its name */
	guint duplicate_line;
	guint first_line;
} VarFileJson;

static void
tpl_var_file_member (JsonParser *parser, JsonObject *object, const gchar *member, gpointer data)
{
	VarFileJson *st = data;
	g_autofree gchar *key = g_strdup_printf ("%p %s", (void *)object, member);
	guint line = (guint)json_parser_get_current_line (parser);
	gpointer seen = g_hash_table_lookup (st->lines, key);
	if (seen != NULL && st->duplicate == NULL) {
		st->duplicate = g_strdup (member);
		st->duplicate_line = line;
		st->first_line = GPOINTER_TO_UINT (seen);
	}
	if (seen == NULL)
		g_hash_table_insert (st->lines, g_steal_pointer (&key), GUINT_TO_POINTER (line));
}

/* a JSON object of strings; json-glib keeps the last of duplicate members: the signal each
 * member emits finds them */
static gboolean
tpl_var_file_json (const gchar *data,
                   gsize len,
                   const gchar *name,
                   GHashTable *vars,
                   GHashTable *origins,
                   GError **error)
{
	g_autoptr (JsonParser) parser = json_parser_new ();
	g_autoptr (GError) local = NULL;
	g_autoptr (GList) members = NULL;
	VarFileJson st
	    = { g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL), NULL, 0, 0 };
	JsonObject *o;
	gboolean ok = FALSE;

	g_signal_connect (parser, "object-member", G_CALLBACK (tpl_var_file_member), &st);
	if (!json_parser_load_from_data (parser, data, (gssize)len, &local)) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT, "%s: not valid JSON: %s",
		             name, local->message);
		goto out;
	}
	if (st.duplicate != NULL) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "%s line %u: member '%s' is set again (first on line %u)", name,
		             st.duplicate_line, st.duplicate, st.first_line);
		goto out;
	}
	if (json_parser_get_root (parser) == NULL
	    || !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser))) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "%s: expected a JSON object of variable names and string values",
		             name);
		goto out;
	}
	o = json_node_get_object (json_parser_get_root (parser));
	members = json_object_get_members (o);
	for (GList *l = members; l != NULL; l = l->next) {
		JsonNode *v = json_object_get_member (o, l->data);
		g_autofree gchar *key
		    = g_strdup_printf ("%p %s", (void *)o, (const gchar *)l->data);
		guint line = GPOINTER_TO_UINT (g_hash_table_lookup (st.lines, key));
		if (!JSON_NODE_HOLDS_VALUE (v) || json_node_get_value_type (v) != G_TYPE_STRING) {
			g_set_error (
			    error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			    "%s line %u: variable '%s': %s: expected a string (variables are "
			    "strings: write \"4\", not 4)",
			    name, line, (const gchar *)l->data, ac_json_type_name (v));
			goto out;
		}
		if (!tpl_var_file_set (vars, origins, name, line, l->data, json_node_get_string (v),
		                       error))
			goto out;
	}
	ok = TRUE;
out:
	g_hash_table_unref (st.lines);
	g_free (st.duplicate);
	return ok;
}

/**
 * ac_template_parse_var_file:
 * @name: the file's name, for the errors
 * @vars: where the variables go (name → value)
 * @origins: name → "FILE line N", for later errors; a name already there (another file) is an
 *   error
 *
 * A --var-file: a JSON object of strings, or NAME=VALUE lines. Strict: a line that is neither,
 * a name set twice, a value that is not a string are errors naming the file and the line.
 */
gboolean
ac_template_parse_var_file (const gchar *data,
                            gsize len,
                            const gchar *name,
                            GHashTable *vars,
                            GHashTable *origins,
                            GError **error)
{
	gsize i = 0;
	if (len > AC_VAR_FILE_MAX_SIZE) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "%s: %" G_GSIZE_FORMAT " bytes: expected at most %u", name, len,
		             AC_VAR_FILE_MAX_SIZE);
		return FALSE;
	}
	if (memchr (data, '\0', len) != NULL || !g_utf8_validate (data, (gssize)len, NULL)) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT, "%s: not UTF-8 text", name);
		return FALSE;
	}
	while (i < len && g_ascii_isspace (data[i]))
		i++;
	if (i < len && data[i] == '{')
		return tpl_var_file_json (data, len, name, vars, origins, error);
	return tpl_var_file_lines (data, len, name, vars, origins, error);
}

gboolean
ac_template_read_var_file (const gchar *path, GHashTable *vars, GHashTable *origins, GError **error)
{
	g_autofree gchar *data = NULL;
	gsize len = 0;
	if (!ac_file_read_bounded (path, AC_FILE_MAX_DEFAULT, &data, &len, error)) {
		g_prefix_error (error, "--var-file: ");
		return FALSE;
	}
	return ac_template_parse_var_file (data, len, path, vars, origins, error);
}
