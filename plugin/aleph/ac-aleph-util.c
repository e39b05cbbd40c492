/*
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ac-aleph-util.h"
#include "ac-error.h"
#include "ac-json-write.h"
#include "ac-json.h"

#define AC_ALEPH_UTIL_JSON_MAX_LEN (64 * 1024 * 1024)

void
ac_json_append_python_double (GString *out, gdouble value)
{
	gchar digits[64];
	gchar *e;
	gint exp10;
	gint prec;
	gchar mant[32];
	gsize nd = 0;
	gboolean neg;

	if (!isfinite (value)) {
		/* Python writes NaN/Infinity; JSON has none: the schema never allows them */
		g_string_append (out, isnan (value) ? "NaN" : (value > 0 ? "Infinity" : "-Infinity"));
		return;
	}
	if (value == 0) {
		g_string_append (out, signbit (value) ? "-0.0" : "0.0");
		return;
	}
	/* shortest round-tripping digits, like repr() */
	for (prec = 0; prec < 17; prec++) {
		g_snprintf (digits, sizeof (digits), "%.*e", prec, value);
		if (g_ascii_strtod (digits, NULL) == value)
			break;
	}
	neg = digits[0] == '-';
	e = strchr (digits, 'e');
	exp10 = atoi (e + 1);
	for (const gchar *p = digits + (neg ? 1 : 0); p < e; p++) {
		if (*p != '.')
			mant[nd++] = *p;
	}
	mant[nd] = '\0';
	while (nd > 1 && mant[nd - 1] == '0')
		mant[--nd] = '\0';
	if (neg)
		g_string_append_c (out, '-');
	if (exp10 < -4 || exp10 >= 16) {
		g_string_append_c (out, mant[0]);
		if (nd > 1) {
			g_string_append_c (out, '.');
			g_string_append (out, mant + 1);
		}
		g_string_append_printf (out, "e%c%02d", exp10 < 0 ? '-' : '+', ABS (exp10));
		return;
	}
	if (exp10 < 0) {
		g_string_append (out, "0.");
		for (gint i = -1; i > exp10; i--)
			g_string_append_c (out, '0');
		g_string_append (out, mant);
		return;
	}
	for (gint i = 0; i <= exp10; i++)
		g_string_append_c (out, (gsize)i < nd ? mant[i] : '0');
	g_string_append_c (out, '.');
	if ((gsize)exp10 + 1 < nd)
		g_string_append (out, mant + exp10 + 1);
	else
		g_string_append_c (out, '0');
}

void
ac_json_append_python_string (GString *out, const gchar *str)
{
	ac_json_append_escaped (out, str, strlen (str), AC_JSON_ESCAPE_ASCII);
}

static void
json_append_node (GString *out, JsonNode *node)
{
	switch (json_node_get_node_type (node)) {
	case JSON_NODE_NULL:
		g_string_append (out, "null");
		break;
	case JSON_NODE_VALUE: {
		GType t = json_node_get_value_type (node);
		if (t == G_TYPE_BOOLEAN)
			g_string_append (out, json_node_get_boolean (node) ? "true" : "false");
		else if (t == G_TYPE_INT64)
			g_string_append_printf (out, "%" G_GINT64_FORMAT, json_node_get_int (node));
		else if (t == G_TYPE_DOUBLE)
			ac_json_append_python_double (out, json_node_get_double (node));
		else
			ac_json_append_python_string (out, json_node_get_string (node));
		break;
	}
	case JSON_NODE_ARRAY: {
		JsonArray *arr = json_node_get_array (node);
		g_string_append_c (out, '[');
		for (guint i = 0; i < json_array_get_length (arr); i++) {
			if (i > 0)
				g_string_append_c (out, ',');
			json_append_node (out, json_array_get_element (arr, i));
		}
		g_string_append_c (out, ']');
		break;
	}
	case JSON_NODE_OBJECT: {
		JsonObject *obj = json_node_get_object (node);
		JsonObjectIter iter;
		const gchar *name;
		JsonNode *member;
		gboolean first = TRUE;
		g_string_append_c (out, '{');
		/* json-glib ≥ 1.6 iterates in insertion order */
		json_object_iter_init_ordered (&iter, obj);
		while (json_object_iter_next_ordered (&iter, &name, &member)) {
			if (!first)
				g_string_append_c (out, ',');
			first = FALSE;
			ac_json_append_python_string (out, name);
			g_string_append_c (out, ':');
			json_append_node (out, member);
		}
		g_string_append_c (out, '}');
		break;
	}
	}
}

gchar *
ac_json_to_python_compact (JsonNode *node)
{
	GString *out = g_string_new (NULL);
	json_append_node (out, node);
	return g_string_free (out, FALSE);
}

/* the bounds of an Aleph answer: 64 MiB, refused as AC_ERROR_REMOTE (lib/ac-json.h parses) */
JsonNode *
ac_json_parse_untrusted (const gchar *what, const gchar *data, gsize len, GError **error)
{
	return ac_json_parse_bounded (what, data, len, AC_ALEPH_UTIL_JSON_MAX_LEN, AC_ERROR_REMOTE,
				      error);
}

gboolean
ac_item_hash_is_valid (const gchar *hash)
{
	gsize len;

	if (hash == NULL)
		return FALSE;
	len = strlen (hash);
	if (len == 64) {
		for (gsize i = 0; i < len; i++) {
			if (!g_ascii_isxdigit (hash[i]) || g_ascii_isupper (hash[i]))
				return FALSE;
		}
		return TRUE;
	}
	if (ac_cid_v0_is_valid (hash))
		return TRUE;
	/* CIDv1 in base32 ("b…"), as aleph-message accepts it */
	if (len >= 59 && len <= 128 && hash[0] == 'b') {
		for (gsize i = 1; i < len; i++) {
			gchar c = hash[i];
			if (!((c >= 'a' && c <= 'z') || (c >= '2' && c <= '7')))
				return FALSE;
		}
		return TRUE;
	}
	return FALSE;
}

/**
 * ac_version_parse:
 *
 * MAJOR.MINOR[.PATCH], with an optional leading 'v' and anything after the numbers that
 * does not start with a digit or a dot (a pre-release, git describe or build suffix:
 * "0.10.2-3-gabc", "0.5.0rc1", "0.5.0+devnet"). A missing PATCH is 0.
 */
gboolean
ac_version_parse (const gchar *text, guint version[3])
{
	const gchar *p = text;
	guint n = 0;

	if (p == NULL)
		return FALSE;
	if (*p == 'v' || *p == 'V')
		p++;
	while (n < 3) {
		guint64 v = 0;
		const gchar *start = p;
		if (!g_ascii_isdigit (*p))
			return FALSE;
		while (g_ascii_isdigit (*p)) {
			v = v * 10 + (guint64)(*p - '0');
			if (v > G_MAXUINT)
				return FALSE;
			p++;
		}
		if (p - start > 9)
			return FALSE;
		version[n++] = (guint)v;
		if (*p != '.' || !g_ascii_isdigit (p[1]))
			break;
		p++;
	}
	if (n < 2 || g_ascii_isdigit (*p) || *p == '.')
		return FALSE;
	if (n < 3)
		version[2] = 0;
	return TRUE;
}

gint
ac_version_compare (const guint a[3], const guint b[3])
{
	for (guint i = 0; i < 3; i++) {
		if (a[i] != b[i])
			return a[i] < b[i] ? -1 : 1;
	}
	return 0;
}
