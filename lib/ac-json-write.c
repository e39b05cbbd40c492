/*
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "ac-json-write.h"

/* whether @c is written as is in @style (the rest is escaped) */
static gboolean
ac_json_escape_as_is (gunichar c, AcJsonEscape style)
{
	if (c >= 0x20 && c <= 0x7e)
		return TRUE;
	switch (style) {
	case AC_JSON_ESCAPE_GLIB:
		return c == 0x1f || c >= 0x80;
	case AC_JSON_ESCAPE_ECMA:
		return c >= 0x7f;
	case AC_JSON_ESCAPE_ASCII:
	default:
		return FALSE;
	}
}

/* \uXXXX written digit by digit: what is escaped may be a secret's character, never left in a
 * formatter's temporary buffer */
static void
append_u (GString *out, gunichar v)
{
	static const gchar hex[] = "0123456789abcdef";
	gchar u[6] = { '\\', 'u' };

	for (guint i = 0; i < 4; i++)
		u[2 + i] = hex[(v >> (12 - 4 * i)) & 0xf];
	g_string_append_len (out, u, sizeof u);
}

/**
 * ac_json_append_escaped:
 * @len: the bytes of @s to write (a NUL among them is escaped as any control character)
 *
 * @s quoted and escaped in @style: '"' and '\\' with a backslash, \b \f \n \r \t by name,
 * the other characters @style does not keep as \uXXXX. AC_JSON_ESCAPE_ASCII reads @s as
 * UTF-8 (the callers pass valid UTF-8) and writes a character above U+FFFF as its two
 * UTF-16 halves; the other styles go byte by byte.
 */
void
ac_json_append_escaped (GString *out, const gchar *s, gsize len, AcJsonEscape style)
{
	const gchar *p = s;
	const gchar *end = s + len;

	g_string_append_c (out, '"');
	while (p < end) {
		gunichar c;
		if (style == AC_JSON_ESCAPE_ASCII) {
			c = g_utf8_get_char (p);
			p = g_utf8_next_char (p);
		} else {
			c = (guchar)*p++;
		}
		switch (c) {
		case '"':
		case '\\':
			g_string_append_c (out, '\\');
			g_string_append_c (out, (gchar)c);
			break;
		case '\b':
			g_string_append (out, "\\b");
			break;
		case '\f':
			g_string_append (out, "\\f");
			break;
		case '\n':
			g_string_append (out, "\\n");
			break;
		case '\r':
			g_string_append (out, "\\r");
			break;
		case '\t':
			g_string_append (out, "\\t");
			break;
		default:
			if (ac_json_escape_as_is (c, style)) {
				g_string_append_c (out, (gchar)c);
			} else if (c < 0x10000) {
				append_u (out, c);
			} else {
				gunichar v = c - 0x10000;
				append_u (out, 0xd800 + (v >> 10));
				append_u (out, 0xdc00 + (v & 0x3ff));
			}
		}
	}
	g_string_append_c (out, '"');
}

void
ac_json_append_string (GString *out, const gchar *s)
{
	ac_json_append_escaped (out, s, strlen (s), AC_JSON_ESCAPE_GLIB);
}

void
ac_json_writer_init (AcJsonWriter *w)
{
	memset (w, 0, sizeof (*w));
	w->out = g_string_new (NULL);
}

void
ac_json_writer_init_pretty (AcJsonWriter *w)
{
	ac_json_writer_init (w);
	w->pretty = TRUE;
}

static void
ac_json_writer_indent (AcJsonWriter *w, guint level)
{
	for (guint i = 0; i < level * 2; i++)
		g_string_append_c (w->out, ' ');
}

void
ac_json_writer_clear (AcJsonWriter *w)
{
	if (w->out != NULL)
		g_string_free (w->out, TRUE);
	w->out = NULL;
}

static void
ac_json_writer_member (AcJsonWriter *w, const gchar *name)
{
	g_return_if_fail (w->depth > 0 || name == NULL);
	if (w->depth == 0)
		return;
	if (w->need_comma[w->depth])
		g_string_append_c (w->out, ',');
	if (w->pretty) {
		/* json-glib: a line for each member, ended after the last one too (an empty
		 * object stays on its line: "{" and "}" with the indentation between) */
		g_string_append_c (w->out, '\n');
		ac_json_writer_indent (w, w->depth);
	}
	w->need_comma[w->depth] = TRUE;
	ac_json_append_string (w->out, name);
	g_string_append (w->out, w->pretty ? " : " : ":");
}

void
ac_json_writer_begin_object (AcJsonWriter *w, const gchar *name)
{
	g_return_if_fail (w->depth < AC_JSON_WRITER_MAX_DEPTH);
	ac_json_writer_member (w, name);
	g_string_append_c (w->out, '{');
	w->need_comma[++w->depth] = FALSE;
}

void
ac_json_writer_end_object (AcJsonWriter *w)
{
	g_return_if_fail (w->depth > 0);
	if (w->pretty && w->need_comma[w->depth])
		g_string_append_c (w->out, '\n');
	w->depth--;
	if (w->pretty)
		ac_json_writer_indent (w, w->depth);
	g_string_append_c (w->out, '}');
}

void
ac_json_writer_string (AcJsonWriter *w, const gchar *name, const gchar *value)
{
	ac_json_writer_member (w, name);
	if (value == NULL)
		g_string_append (w->out, "null");
	else
		ac_json_append_string (w->out, value);
}

void
ac_json_writer_int (AcJsonWriter *w, const gchar *name, gint64 value)
{
	ac_json_writer_member (w, name);
	g_string_append_printf (w->out, "%" G_GINT64_FORMAT, value);
}

void
ac_json_writer_boolean (AcJsonWriter *w, const gchar *name, gboolean value)
{
	ac_json_writer_member (w, name);
	g_string_append (w->out, value ? "true" : "false");
}

void
ac_json_writer_raw (AcJsonWriter *w, const gchar *name, const gchar *json)
{
	ac_json_writer_member (w, name);
	g_string_append (w->out, json);
}

const gchar *
ac_json_writer_get_text (AcJsonWriter *w)
{
	return w->out->str;
}
