/*
 * aleph-confidential: bounded JSON and typed member readers (see ac-json.h).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "ac-json.h"

static gboolean
ac_json_is_space (gchar c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* the offset just past the first JSON value of @data (after leading white space), by its
 * brackets and strings; json-glib reads every value of "{…}{…}" and keeps one */
static gsize
ac_json_first_value_end (const gchar *data, gsize len)
{
	gsize i = 0;
	guint depth = 0;

	while (i < len && ac_json_is_space (data[i]))
		i++;
	if (i < len && data[i] == '"') {
		for (i++; i < len; i++) {
			if (data[i] == '\\')
				i++;
			else if (data[i] == '"')
				return i + 1;
		}
		return len;
	}
	if (i < len && data[i] != '{' && data[i] != '[') {
		/* a number, true, false or null: up to the next white space or structure */
		while (i < len && !ac_json_is_space (data[i])
		       && strchr ("{}[]\",:", data[i]) == NULL)
			i++;
		return i;
	}
	for (; i < len; i++) {
		gchar c = data[i];
		if (c == '"') {
			for (i++; i < len && data[i] != '"'; i++) {
				if (data[i] == '\\')
					i++;
			}
		} else if (c == '{' || c == '[') {
			depth++;
		} else if ((c == '}' || c == ']') && depth > 0 && --depth == 0) {
			return i + 1;
		}
	}
	return len;
}

/* json-glib recurses per nesting level: bound the depth before parsing */
static gboolean
ac_json_check_depth (const gchar *what, const gchar *data, gsize len, AcError code, GError **error)
{
	guint depth = 0;
	gboolean in_string = FALSE;

	for (gsize i = 0; i < len; i++) {
		gchar c = data[i];
		if (in_string) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_string = FALSE;
			continue;
		}
		if (c == '"') {
			in_string = TRUE;
		} else if (c == '{' || c == '[') {
			if (++depth > AC_JSON_MAX_DEPTH) {
				g_set_error (error, AC_ERROR, code,
				             "%s: JSON nested deeper than %d levels", what,
				             AC_JSON_MAX_DEPTH);
				return FALSE;
			}
		} else if ((c == '}' || c == ']') && depth > 0) {
			depth--;
		}
	}
	return TRUE;
}

/* members parsed per object, compared with the members the object keeps at its end: json-glib
 * (like json-c) keeps the last of two members of the same name */
typedef struct {
	GHashTable *counts; /* JsonObject → members seen */
	gboolean duplicate;
} AcJsonUnique;

static void
ac_json_unique_member (JsonParser *parser, JsonObject *object, const gchar *name, gpointer data)
{
	AcJsonUnique *u = data;
	g_hash_table_insert (
	    u->counts, object,
	    GUINT_TO_POINTER (GPOINTER_TO_UINT (g_hash_table_lookup (u->counts, object)) + 1));
}

static void
ac_json_unique_end (JsonParser *parser, JsonObject *object, gpointer data)
{
	AcJsonUnique *u = data;
	if (GPOINTER_TO_UINT (g_hash_table_lookup (u->counts, object))
	    != json_object_get_size (object))
		u->duplicate = TRUE;
	g_hash_table_remove (u->counts, object);
}

static JsonNode *
ac_json_parse_bounded_full (const gchar *what,
                            const gchar *data,
                            gsize len,
                            gsize max_len,
                            AcError code,
                            gboolean unique,
                            GError **error)
{
	g_autoptr (JsonParser) parser = NULL;
	g_autoptr (GError) error_local = NULL;
	g_autoptr (GHashTable) counts = g_hash_table_new (NULL, NULL);
	AcJsonUnique u = { counts, FALSE };
	JsonNode *root;
	gsize end;

	if (data == NULL || len == 0) {
		g_set_error (error, AC_ERROR, code, "%s: empty body, expected JSON", what);
		return NULL;
	}
	if (len > max_len) {
		g_set_error (error, AC_ERROR, code,
		             "%s: JSON of %" G_GSIZE_FORMAT
		             " bytes exceeds the limit of %" G_GSIZE_FORMAT,
		             what, len, max_len);
		return NULL;
	}
	if (memchr (data, '\0', len) != NULL) {
		g_set_error (error, AC_ERROR, code, "%s: JSON contains a NUL byte", what);
		return NULL;
	}
	if (!ac_json_check_depth (what, data, len, code, error))
		return NULL;
	if (!g_utf8_validate (data, (gssize)len, NULL)) {
		g_set_error (error, AC_ERROR, code, "%s: JSON is not valid UTF-8", what);
		return NULL;
	}
	/* one document: "{…}{…}" or "{…}\n{…}" is not one message */
	end = ac_json_first_value_end (data, len);
	for (gsize i = end; i < len; i++) {
		if (!ac_json_is_space (data[i])) {
			g_set_error (error, AC_ERROR, code,
			             "%s: trailing data at byte %" G_GSIZE_FORMAT " after the JSON "
			             "document: expected one document only",
			             what, i);
			return NULL;
		}
	}
	parser = json_parser_new_immutable ();
	if (unique) {
		g_signal_connect (parser, "object-member", G_CALLBACK (ac_json_unique_member), &u);
		g_signal_connect (parser, "object-end", G_CALLBACK (ac_json_unique_end), &u);
	}
	if (!json_parser_load_from_data (parser, data, (gssize)len, &error_local)) {
		g_set_error (error, AC_ERROR, code, "%s: invalid JSON: %s", what,
		             error_local->message);
		return NULL;
	}
	if (u.duplicate) {
		g_set_error (
		    error, AC_ERROR, code,
		    "%s: an object has two members of the same name: expected unique names", what);
		return NULL;
	}
	root = json_parser_get_root (parser);
	if (root == NULL) {
		g_set_error (error, AC_ERROR, code, "%s: empty JSON document", what);
		return NULL;
	}
	return json_node_copy (root);
}

/**
 * ac_json_parse_bounded:
 * @what: names the document in errors
 * @max_len: the largest document accepted, in bytes
 * @code: the AC_ERROR code of a refusal (INVALID_INPUT for a user's file, REMOTE for an answer)
 *
 * Parses one JSON document of at most @max_len bytes and AC_JSON_MAX_DEPTH levels: no NUL,
 * valid UTF-8, nothing but white space after it. Returns a new node.
 */
JsonNode *
ac_json_parse_bounded (const gchar *what,
                       const gchar *data,
                       gsize len,
                       gsize max_len,
                       AcError code,
                       GError **error)
{
	return ac_json_parse_bounded_full (what, data, len, max_len, code, FALSE, error);
}

/**
 * ac_json_parse_bounded_unique:
 *
 * As ac_json_parse_bounded(), and an object with two members of the same name is refused:
 * for a document another parser reads too (which of the two it keeps is its own choice).
 */
JsonNode *
ac_json_parse_bounded_unique (const gchar *what,
                              const gchar *data,
                              gsize len,
                              gsize max_len,
                              AcError code,
                              GError **error)
{
	return ac_json_parse_bounded_full (what, data, len, max_len, code, TRUE, error);
}

/**
 * ac_json_type_name:
 *
 * What @node holds, for an error: "a string", "an integer", "null"…
 */
const gchar *
ac_json_type_name (JsonNode *node)
{
	if (JSON_NODE_HOLDS_NULL (node))
		return "null";
	if (JSON_NODE_HOLDS_OBJECT (node))
		return "an object";
	if (JSON_NODE_HOLDS_ARRAY (node))
		return "an array";
	switch (json_node_get_value_type (node)) {
	case G_TYPE_STRING:
		return "a string";
	case G_TYPE_BOOLEAN:
		return "a boolean";
	case G_TYPE_INT64:
		return "an integer";
	case G_TYPE_DOUBLE:
		return "a number";
	default:
		return "a value";
	}
}

gchar *
ac_json_field_path (const gchar *path, const gchar *name)
{
	if (path == NULL || path[0] == '\0')
		return g_strdup (name);
	return g_strdup_printf ("%s.%s", path, name);
}

gboolean
ac_json_fail (const AcJsonScope *scope, GError **error, const gchar *field, const gchar *fmt, ...)
{
	va_list args;
	g_autofree gchar *msg = NULL;

	va_start (args, fmt);
	msg = g_strdup_vprintf (fmt, args);
	va_end (args);
	g_set_error (error, AC_ERROR, scope->code, "%s field '%s': %s", scope->what, field, msg);
	return FALSE;
}

/**
 * ac_json_check_members:
 *
 * Refuses a member of @o not in @allowed, naming the allowed ones.
 */
gboolean
ac_json_check_members (const AcJsonScope *scope,
                       JsonObject *o,
                       const gchar *path,
                       const gchar *const *allowed,
                       GError **error)
{
	g_autoptr (GList) members = json_object_get_members (o);

	for (GList *l = members; l != NULL; l = l->next) {
		const gchar *name = l->data;
		if (!g_strv_contains (allowed, name)) {
			g_autofree gchar *field = ac_json_field_path (path, name);
			g_autofree gchar *list = g_strjoinv (", ", (gchar **)allowed);
			return ac_json_fail (scope, error, field,
			                     "unknown member: expected one of %s", list);
		}
	}
	return TRUE;
}

static gboolean
ac_json_holds (JsonNode *n, GType type)
{
	if (type == JSON_TYPE_OBJECT)
		return JSON_NODE_HOLDS_OBJECT (n);
	if (type == JSON_TYPE_ARRAY)
		return JSON_NODE_HOLDS_ARRAY (n);
	return JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) == type;
}

/* a member as a reader found it: its node (%NULL when absent), its field path for errors */
typedef struct {
	JsonNode *node;
	gchar *field;
} AcJsonMember;

static void
ac_json_member_clear (AcJsonMember *m)
{
	g_free (m->field);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (AcJsonMember, ac_json_member_clear)

/*
 * The readers' common start: member @name of @o in *@m. FALSE (with @error) when it is absent
 * but @required ("missing: @what is required") or, @type other than G_TYPE_INVALID, when it
 * holds something else ("…: expected @what"); the caller checks the rest.
 */
static gboolean
ac_json_member (const AcJsonScope *scope,
                JsonObject *o,
                GType type,
                const gchar *what,
                const gchar *path,
                const gchar *name,
                gboolean required,
                AcJsonMember *m,
                GError **error)
{
	m->node = json_object_get_member (o, name);
	m->field = ac_json_field_path (path, name);
	if (m->node == NULL) {
		if (required)
			return ac_json_fail (scope, error, m->field, "missing: %s is required",
			                     what);
		return TRUE;
	}
	if (type != G_TYPE_INVALID && !ac_json_holds (m->node, type))
		return ac_json_fail (scope, error, m->field, "%s: expected %s",
		                     ac_json_type_name (m->node), what);
	return TRUE;
}

/* at most @max entries in @a */
static gboolean
array_within (const AcJsonScope *scope, const gchar *field, JsonArray *a, guint max, GError **error)
{
	if (json_array_get_length (a) > max)
		return ac_json_fail (scope, error, field, "%u entries: expected at most %u",
		                     json_array_get_length (a), max);
	return TRUE;
}

/**
 * ac_json_read_string:
 * @max_len: the longest string accepted, in bytes
 *
 * A non-empty string member.
 */
gboolean
ac_json_read_string (const AcJsonScope *scope,
                     JsonObject *o,
                     const gchar *path,
                     const gchar *name,
                     gboolean required,
                     gsize max_len,
                     gchar **out,
                     GError **error)
{
	g_auto (AcJsonMember) m = { 0 };
	const gchar *s;

	if (!ac_json_member (scope, o, G_TYPE_STRING, "a string", path, name, required, &m, error))
		return FALSE;
	if (m.node == NULL)
		return TRUE;
	s = json_node_get_string (m.node);
	if (s[0] == '\0')
		return ac_json_fail (scope, error, m.field, "empty: expected a non-empty string");
	if (strlen (s) > max_len)
		return ac_json_fail (scope, error, m.field,
		                     "%zu characters: expected at most %" G_GSIZE_FORMAT,
		                     strlen (s), max_len);
	g_free (*out);
	*out = g_strdup (s);
	return TRUE;
}

/**
 * ac_json_read_int:
 * @present: (nullable): set to whether the member was there
 *
 * An integer member within [@min, @max]; its absence fails when @required ("missing: an
 * integer from @min to @max is required").
 */
gboolean
ac_json_read_int (const AcJsonScope *scope,
                  JsonObject *o,
                  const gchar *path,
                  const gchar *name,
                  gboolean required,
                  gint64 min,
                  gint64 max,
                  gint64 *out,
                  gboolean *present,
                  GError **error)
{
	g_auto (AcJsonMember) m = { 0 };
	gint64 v;

	if (present != NULL)
		*present = FALSE;
	/* the range is in every message: checked here, not by ac_json_member() */
	if (!ac_json_member (scope, o, G_TYPE_INVALID, NULL, path, name, FALSE, &m, error))
		return FALSE;
	if (m.node == NULL && required)
		return ac_json_fail (scope, error, m.field,
		                     "missing: an integer from %" G_GINT64_FORMAT
		                     " to %" G_GINT64_FORMAT " is required",
		                     min, max);
	if (m.node == NULL)
		return TRUE;
	if (!ac_json_holds (m.node, G_TYPE_INT64))
		return ac_json_fail (scope, error, m.field,
		                     "%s: expected an integer from %" G_GINT64_FORMAT
		                     " to %" G_GINT64_FORMAT,
		                     ac_json_type_name (m.node), min, max);
	v = json_node_get_int (m.node);
	if (v < min || v > max)
		return ac_json_fail (scope, error, m.field,
		                     "%" G_GINT64_FORMAT
		                     ": expected an integer from %" G_GINT64_FORMAT
		                     " to %" G_GINT64_FORMAT,
		                     v, min, max);
	*out = v;
	if (present != NULL)
		*present = TRUE;
	return TRUE;
}

/**
 * ac_json_read_uint64:
 *
 * A non-negative integer member (json-glib reads integers as gint64: up to 2^63 - 1).
 */
gboolean
ac_json_read_uint64 (const AcJsonScope *scope,
                     JsonObject *o,
                     const gchar *path,
                     const gchar *name,
                     gboolean required,
                     guint64 *out,
                     GError **error)
{
	g_auto (AcJsonMember) m = { 0 };

	if (!ac_json_member (scope, o, G_TYPE_INVALID, "an integer", path, name, required, &m,
	                     error))
		return FALSE;
	if (m.node == NULL)
		return TRUE;
	if (!ac_json_holds (m.node, G_TYPE_INT64) || json_node_get_int (m.node) < 0)
		return ac_json_fail (scope, error, m.field, "%s: expected a non-negative integer",
		                     ac_json_holds (m.node, G_TYPE_INT64)
		                         ? "a negative integer"
		                         : ac_json_type_name (m.node));
	*out = (guint64)json_node_get_int (m.node);
	return TRUE;
}

gboolean
ac_json_read_bool (const AcJsonScope *scope,
                   JsonObject *o,
                   const gchar *path,
                   const gchar *name,
                   gboolean required,
                   gboolean *out,
                   GError **error)
{
	g_auto (AcJsonMember) m = { 0 };

	if (!ac_json_member (scope, o, G_TYPE_BOOLEAN, "true or false", path, name, required, &m,
	                     error))
		return FALSE;
	if (m.node == NULL)
		return TRUE;
	*out = json_node_get_boolean (m.node);
	return TRUE;
}

/**
 * ac_json_read_object:
 *
 * An object member; *@out is NULL when it is absent and optional.
 */
gboolean
ac_json_read_object (const AcJsonScope *scope,
                     JsonObject *o,
                     const gchar *path,
                     const gchar *name,
                     gboolean required,
                     JsonObject **out,
                     GError **error)
{
	g_auto (AcJsonMember) m = { 0 };

	*out = NULL;
	if (!ac_json_member (scope, o, JSON_TYPE_OBJECT, "an object", path, name, required, &m,
	                     error))
		return FALSE;
	if (m.node == NULL)
		return TRUE;
	*out = json_node_get_object (m.node);
	return TRUE;
}

/**
 * ac_json_read_array:
 * @max: the most elements accepted
 *
 * An array member; *@out is NULL when it is absent and optional.
 */
gboolean
ac_json_read_array (const AcJsonScope *scope,
                    JsonObject *o,
                    const gchar *path,
                    const gchar *name,
                    gboolean required,
                    guint max,
                    JsonArray **out,
                    GError **error)
{
	g_auto (AcJsonMember) m = { 0 };

	*out = NULL;
	if (!ac_json_member (scope, o, JSON_TYPE_ARRAY, "an array", path, name, required, &m,
	                     error))
		return FALSE;
	if (m.node == NULL)
		return TRUE;
	if (!array_within (scope, m.field, json_node_get_array (m.node), max, error))
		return FALSE;
	*out = json_node_get_array (m.node);
	return TRUE;
}

/**
 * ac_json_read_strv:
 *
 * An optional array of at most @max strings; an element's error names it ("field[2]").
 */
gboolean
ac_json_read_strv (const AcJsonScope *scope,
                   JsonObject *o,
                   const gchar *path,
                   const gchar *name,
                   guint max,
                   gchar ***out,
                   GError **error)
{
	g_auto (AcJsonMember) m = { 0 };
	g_autoptr (GStrvBuilder) b = g_strv_builder_new ();
	JsonArray *a;

	if (!ac_json_member (scope, o, JSON_TYPE_ARRAY, "an array of strings", path, name, FALSE,
	                     &m, error))
		return FALSE;
	if (m.node == NULL)
		return TRUE;
	a = json_node_get_array (m.node);
	if (!array_within (scope, m.field, a, max, error))
		return FALSE;
	for (guint i = 0; i < json_array_get_length (a); i++) {
		JsonNode *e = json_array_get_element (a, i);
		if (!ac_json_holds (e, G_TYPE_STRING)) {
			g_autofree gchar *ef = g_strdup_printf ("%s[%u]", m.field, i);
			return ac_json_fail (scope, error, ef, "%s: expected a string",
			                     ac_json_type_name (e));
		}
		g_strv_builder_add (b, json_node_get_string (e));
	}
	g_strfreev (*out);
	*out = g_strv_builder_end (b);
	return TRUE;
}

void
ac_json_builder_add_string (JsonBuilder *b, const gchar *name, const gchar *value)
{
	json_builder_set_member_name (b, name);
	json_builder_add_string_value (b, value);
}

void
ac_json_builder_add_int (JsonBuilder *b, const gchar *name, gint64 value)
{
	json_builder_set_member_name (b, name);
	json_builder_add_int_value (b, value);
}

void
ac_json_builder_add_boolean (JsonBuilder *b, const gchar *name, gboolean value)
{
	json_builder_set_member_name (b, name);
	json_builder_add_boolean_value (b, value);
}

void
ac_json_builder_add_string_or_null (JsonBuilder *b, const gchar *name, const gchar *value)
{
	json_builder_set_member_name (b, name);
	if (value == NULL)
		json_builder_add_null_value (b);
	else
		json_builder_add_string_value (b, value);
}

void
ac_json_builder_begin_member_object (JsonBuilder *b, const gchar *name)
{
	json_builder_set_member_name (b, name);
	json_builder_begin_object (b);
}

/* a %NULL @value: no member at all */
void
ac_json_builder_add_string_opt (JsonBuilder *b, const gchar *name, const gchar *value)
{
	if (value == NULL)
		return;
	ac_json_builder_add_string (b, name, value);
}

gchar *
ac_json_error_body (const gchar *message)
{
	g_autoptr (JsonBuilder) b = json_builder_new ();
	g_autoptr (JsonNode) root = NULL;

	json_builder_begin_object (b);
	ac_json_builder_add_string (b, "error", message);
	json_builder_end_object (b);
	root = json_builder_get_root (b);
	return json_to_string (root, FALSE);
}
