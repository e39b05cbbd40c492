/*
 * ac_json_writer: what json-glib's json_to_string (node, FALSE) writes, byte for byte, for
 * every byte in a string and for the shapes virt-aleph's front writes (nested objects,
 * strings, null, integers, booleans).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <json-glib/json-glib.h>

#include "ac-json-write.h"

static gchar *
glib_text_full (JsonObject *o, gboolean pretty)
{
	g_autoptr (JsonNode) node = json_node_init_object (json_node_alloc (), o);
	return json_to_string (node, pretty);
}

static gchar *
glib_text (JsonObject *o)
{
	return glib_text_full (o, FALSE);
}

/* each byte from 0x01 to 0xff, alone and between others, as a value and as a member name */
static void
test_every_byte (void)
{
	for (guint c = 1; c < 256; c++) {
		gchar s[] = { 'a', (gchar)c, 'b', '\0' };
		g_autoptr (JsonObject) o = json_object_new ();
		g_autofree gchar *expected = NULL;
		g_auto (AcJsonWriter) w = { 0 };

		json_object_set_string_member (o, s, s);
		expected = glib_text (o);
		ac_json_writer_init (&w);
		ac_json_writer_begin_object (&w, NULL);
		ac_json_writer_string (&w, s, s);
		ac_json_writer_end_object (&w);
		g_assert_cmpstr (ac_json_writer_get_text (&w), ==, expected);
	}
}

static void
shapes (gboolean pretty)
{
	g_autoptr (JsonObject) o = json_object_new ();
	JsonObject *inner = json_object_new ();
	g_autofree gchar *expected = NULL;
	g_auto (AcJsonWriter) w = { 0 };

	json_object_set_boolean_member (o, "verified", TRUE);
	json_object_set_boolean_member (o, "checked", FALSE);
	json_object_set_string_member (o, "product", "Milan");
	json_object_set_string_member (o, "none", NULL);
	json_object_set_string_member (o, "utf8", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
	json_object_set_string_member (o, "empty", "");
	json_object_set_int_member (o, "vmpl", 0);
	json_object_set_int_member (o, "min", G_MININT64);
	json_object_set_int_member (o, "max", G_MAXINT64);
	json_object_set_string_member (inner, "code", "invalid-input");
	json_object_set_int_member (inner, "exit", 2);
	json_object_set_object_member (inner, "empty", json_object_new ());
	json_object_set_object_member (o, "error", inner);
	json_object_set_string_member (o, "last", "\"quoted\\\"\n");
	expected = glib_text_full (o, pretty);

	if (pretty)
		ac_json_writer_init_pretty (&w);
	else
		ac_json_writer_init (&w);
	ac_json_writer_begin_object (&w, NULL);
	ac_json_writer_boolean (&w, "verified", TRUE);
	ac_json_writer_boolean (&w, "checked", FALSE);
	ac_json_writer_string (&w, "product", "Milan");
	ac_json_writer_string (&w, "none", NULL);
	ac_json_writer_string (&w, "utf8", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
	ac_json_writer_string (&w, "empty", "");
	ac_json_writer_int (&w, "vmpl", 0);
	ac_json_writer_int (&w, "min", G_MININT64);
	ac_json_writer_int (&w, "max", G_MAXINT64);
	ac_json_writer_begin_object (&w, "error");
	ac_json_writer_string (&w, "code", "invalid-input");
	ac_json_writer_int (&w, "exit", 2);
	ac_json_writer_begin_object (&w, "empty");
	ac_json_writer_end_object (&w);
	ac_json_writer_end_object (&w);
	ac_json_writer_string (&w, "last", "\"quoted\\\"\n");
	ac_json_writer_end_object (&w);
	g_assert_cmpstr (ac_json_writer_get_text (&w), ==, expected);
}

static void
test_shapes (void)
{
	shapes (FALSE);
}

/* json_to_string (node, TRUE): what virt-aleph ipfs prints */
static void
test_shapes_pretty (void)
{
	shapes (TRUE);
}

/* an empty document and one of a single member, pretty */
static void
test_pretty_small (void)
{
	g_autoptr (JsonObject) empty = json_object_new ();
	g_autoptr (JsonObject) one = json_object_new ();
	g_autofree gchar *e_empty = glib_text_full (empty, TRUE);
	g_autofree gchar *e_one = NULL;
	g_auto (AcJsonWriter) w = { 0 };
	g_auto (AcJsonWriter) w1 = { 0 };

	json_object_set_string_member (one, "cid", "Qm");
	e_one = glib_text_full (one, TRUE);
	ac_json_writer_init_pretty (&w);
	ac_json_writer_begin_object (&w, NULL);
	ac_json_writer_end_object (&w);
	g_assert_cmpstr (ac_json_writer_get_text (&w), ==, e_empty);
	ac_json_writer_init_pretty (&w1);
	ac_json_writer_begin_object (&w1, NULL);
	ac_json_writer_string (&w1, "cid", "Qm");
	ac_json_writer_end_object (&w1);
	g_assert_cmpstr (ac_json_writer_get_text (&w1), ==, e_one);
}

/* the three styles over the same bytes: a NUL inside, control characters, 0x1f, 0x7f, the
 * named escapes, two- and four-byte UTF-8 */
static void
test_escape_styles (void)
{
	static const gchar in[] = "a\0\x01\x1f\x7f\"\\\b\f\n\r\t/\xc3\xa9\xf0\x9f\x98\x80";
	static const struct {
		AcJsonEscape style;
		const gchar *out;
	} v[] = {
		{ AC_JSON_ESCAPE_GLIB, "\"a\\u0000\\u0001\x1f\\u007f\\\"\\\\\\b\\f\\n\\r\\t/"
		                       "\xc3\xa9\xf0\x9f\x98\x80\"" },
		{ AC_JSON_ESCAPE_ECMA, "\"a\\u0000\\u0001\\u001f\x7f\\\"\\\\\\b\\f\\n\\r\\t/"
		                       "\xc3\xa9\xf0\x9f\x98\x80\"" },
		{ AC_JSON_ESCAPE_ASCII, "\"a\\u0000\\u0001\\u001f\\u007f\\\"\\\\\\b\\f\\n\\r\\t/"
		                        "\\u00e9\\ud83d\\ude00\"" },
	};

	for (guint i = 0; i < G_N_ELEMENTS (v); i++) {
		g_autoptr (GString) s = g_string_new (NULL);
		ac_json_append_escaped (s, in, sizeof in - 1, v[i].style);
		g_assert_cmpstr (s->str, ==, v[i].out);
	}
	/* @len bounds the input: nothing past it is read */
	{
		g_autoptr (GString) s = g_string_new (NULL);
		ac_json_append_escaped (s, "abc", 2, AC_JSON_ESCAPE_ECMA);
		g_assert_cmpstr (s->str, ==, "\"ab\"");
	}
}

int
main (int argc, char **argv)
{
	g_test_init (&argc, &argv, NULL);
	g_test_add_func ("/json-write/every-byte", test_every_byte);
	g_test_add_func ("/json-write/shapes", test_shapes);
	g_test_add_func ("/json-write/shapes-pretty", test_shapes_pretty);
	g_test_add_func ("/json-write/pretty-small", test_pretty_small);
	g_test_add_func ("/json-write/escape-styles", test_escape_styles);
	return g_test_run ();
}
