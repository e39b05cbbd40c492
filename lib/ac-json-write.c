/*
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "ac-json-write.h"

/*
 * As json-glib 1.6's generator: '"' and '\\' escaped with a backslash, \b \f \n \r \t by name,
 * the other bytes from 0x01 to 0x1e and 0x7f as \u00xx; everything else (0x1f included, and
 * UTF-8 sequences) as is. The callers pass valid UTF-8 (g_utf8_make_valid for messages).
 */
void
ac_json_append_string (GString *out, const gchar *s)
{
	g_string_append_c (out, '"');
	for (const guchar *p = (const guchar *)s; *p != '\0'; p++) {
		switch (*p) {
		case '"':
		case '\\':
			g_string_append_c (out, '\\');
			g_string_append_c (out, (gchar)*p);
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
			if (*p < 0x1f || *p == 0x7f)
				g_string_append_printf (out, "\\u%04x", *p);
			else
				g_string_append_c (out, (gchar)*p);
		}
	}
	g_string_append_c (out, '"');
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
