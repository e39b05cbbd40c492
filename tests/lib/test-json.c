/*
 * Bounded JSON and the typed member readers (ac-json): limits, and errors that name the field.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "ac-error.h"
#include "ac-json.h"

static const AcJsonScope scope = { "manifest", AC_ERROR_INVALID_INPUT };

static JsonObject *
parse_object (const gchar *text, JsonNode **holder)
{
	g_autoptr (GError) error = NULL;
	*holder = ac_json_parse_bounded ("doc", text, strlen (text), 4096, AC_ERROR_REMOTE, &error);
	g_assert_no_error (error);
	g_assert_true (JSON_NODE_HOLDS_OBJECT (*holder));
	return json_node_get_object (*holder);
}

static void
test_parse_bounds (void)
{
	g_autoptr (GString) deep = g_string_new (NULL);
	struct {
		const gchar *text;
		gsize len;
		const gchar *message;
	} bad[] = {
		{ "", 0, "doc: empty body, expected JSON" },
		{ "{\"a\":1}", 7, "doc: JSON of 7 bytes exceeds the limit of 6" },
		{ "{\"a\":\0}", 7, "doc: JSON contains a NUL byte" },
		{ "{\"a\":\"\xff\"}", 9, "doc: JSON is not valid UTF-8" },
		{ "{}{}", 4,
		  "doc: trailing data at byte 2 after the JSON document: expected one "
		  "document only" },
		{ "{\"a\":}", 6, NULL },
	};

	for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
		g_autoptr (GError) error = NULL;
		g_autoptr (JsonNode) n = ac_json_parse_bounded (
		    "doc", bad[i].text, bad[i].len, i == 1 ? 6 : 4096, AC_ERROR_REMOTE, &error);
		g_assert_null (n);
		g_assert_error (error, AC_ERROR, AC_ERROR_REMOTE);
		if (bad[i].message != NULL)
			g_assert_cmpstr (error->message, ==, bad[i].message);
		else
			g_assert_true (g_str_has_prefix (error->message, "doc: invalid JSON: "));
	}
	for (guint i = 0; i < AC_JSON_MAX_DEPTH + 1; i++)
		g_string_append_c (deep, '[');
	for (guint i = 0; i < AC_JSON_MAX_DEPTH + 1; i++)
		g_string_append_c (deep, ']');
	{
		g_autoptr (GError) error = NULL;
		g_autoptr (JsonNode) n = ac_json_parse_bounded ("doc", deep->str, deep->len, 4096,
		                                                AC_ERROR_REMOTE, &error);
		g_assert_null (n);
		g_assert_cmpstr (error->message, ==, "doc: JSON nested deeper than 64 levels");
	}
	{
		/* 64 levels are fine, and a bracket inside a string does not count */
		g_autoptr (GError) error = NULL;
		g_autoptr (JsonNode) n = NULL;
		g_string_erase (deep, 0, 1);
		g_string_truncate (deep, deep->len - 1);
		g_string_insert (deep, 1, "\"[[[[\",");
		n = ac_json_parse_bounded ("doc", deep->str, deep->len, 4096, AC_ERROR_REMOTE,
		                           &error);
		g_assert_no_error (error);
		g_assert_nonnull (n);
	}
}

static void
test_parse_unique (void)
{
	/* json-glib keeps the last of two same-named members; the unique parser refuses them, at
	 * any depth, and takes what the plain one takes */
	const gchar *dups[] = {
		"{\"a\":1,\"a\":2}",
		"{\"o\":{\"e\":\"x\",\"f\":1,\"e\":\"y\"}}",
		"[{},{\"k\":[{\"z\":1,\"z\":1}]}]",
		"{\"a\":1,\"\\u0061\":2}",
	};
	const gchar *ok[] = { "{\"a\":{\"a\":{\"a\":1}},\"b\":{\"a\":2}}", "[{\"a\":1},{\"a\":1}]",
			      "{}", "[]" };

	for (guint i = 0; i < G_N_ELEMENTS (dups); i++) {
		g_autoptr (GError) error = NULL;
		g_autoptr (JsonNode) plain = ac_json_parse_bounded ("doc", dups[i], strlen (dups[i]),
		                                                    4096, AC_ERROR_REMOTE, &error);
		g_autoptr (JsonNode) n = NULL;
		g_assert_no_error (error);
		g_assert_nonnull (plain);
		n = ac_json_parse_bounded_unique ("doc", dups[i], strlen (dups[i]), 4096,
		                                  AC_ERROR_REMOTE, &error);
		g_assert_null (n);
		g_assert_error (error, AC_ERROR, AC_ERROR_REMOTE);
		g_assert_cmpstr (error->message, ==,
		                 "doc: an object has two members of the same name: expected unique "
		                 "names");
	}
	for (guint i = 0; i < G_N_ELEMENTS (ok); i++) {
		g_autoptr (GError) error = NULL;
		g_autoptr (JsonNode) n = ac_json_parse_bounded_unique ("doc", ok[i], strlen (ok[i]),
		                                                       4096, AC_ERROR_REMOTE, &error);
		g_assert_no_error (error);
		g_assert_nonnull (n);
	}
}

static void
test_read_typed (void)
{
	g_autoptr (JsonNode) holder = NULL;
	JsonObject *o = parse_object ("{\"name\":\"x\",\"n\":3,\"size\":42,\"on\":true,"
	                              "\"disk\":{\"k\":1},\"list\":[\"a\",\"b\"]}",
	                              &holder);
	g_autoptr (GError) error = NULL;
	g_autofree gchar *name = NULL;
	g_auto (GStrv) list = NULL;
	gint64 n = 0;
	guint64 size = 0;
	gboolean on = FALSE, present = FALSE;
	JsonObject *disk = NULL;
	JsonArray *arr = NULL;

	g_assert_true (ac_json_read_string (&scope, o, "", "name", TRUE, 16, &name, &error));
	g_assert_cmpstr (name, ==, "x");
	g_assert_true (ac_json_read_int (&scope, o, "", "n", TRUE, 0, 10, &n, &present, &error));
	g_assert_true (present);
	g_assert_cmpint (n, ==, 3);
	g_assert_true (
	    ac_json_read_int (&scope, o, "", "absent", FALSE, 0, 10, &n, &present, &error));
	g_assert_false (present);
	g_assert_true (ac_json_read_uint64 (&scope, o, "", "size", TRUE, &size, &error));
	g_assert_cmpuint (size, ==, 42);
	g_assert_true (ac_json_read_bool (&scope, o, "", "on", TRUE, &on, &error));
	g_assert_true (on);
	g_assert_true (ac_json_read_object (&scope, o, "", "disk", TRUE, &disk, &error));
	g_assert_nonnull (disk);
	g_assert_true (ac_json_read_array (&scope, o, "", "list", TRUE, 2, &arr, &error));
	g_assert_cmpuint (json_array_get_length (arr), ==, 2);
	g_assert_true (ac_json_read_strv (&scope, o, "", "list", 2, &list, &error));
	g_assert_cmpstr (list[1], ==, "b");
	g_assert_true (ac_json_read_object (&scope, o, "", "absent", FALSE, &disk, &error));
	g_assert_null (disk);
	g_assert_no_error (error);
}

static void
expect_error (gboolean ok, GError *error, const gchar *message)
{
	g_assert_false (ok);
	g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
	g_assert_cmpstr (error->message, ==, message);
	g_error_free (error);
}

static void
test_read_errors (void)
{
	g_autoptr (JsonNode) holder = NULL;
	JsonObject *o = parse_object ("{\"name\":\"\",\"n\":11,\"s\":\"4\",\"neg\":-1,\"on\":1,"
	                              "\"d\":{\"x\":[1,\"a\",2]},\"long\":\"abcdef\"}",
	                              &holder);
	JsonObject *d = json_object_get_object_member (o, "d");
	const gchar *const allowed[] = { "y", "z", NULL };
	gchar *str = NULL;
	g_auto (GStrv) strv = NULL;
	gint64 n = 0;
	guint64 u = 0;
	gboolean b = FALSE, ok;
	JsonObject *obj = NULL;
	JsonArray *arr = NULL;
	GError *e = NULL;

	ok = ac_json_read_string (&scope, o, "", "name", TRUE, 16, &str, &e);
	expect_error (ok, e, "manifest field 'name': empty: expected a non-empty string");
	e = NULL;
	ok = ac_json_read_string (&scope, o, "", "long", TRUE, 3, &str, &e);
	expect_error (ok, e, "manifest field 'long': 6 characters: expected at most 3");
	e = NULL;
	ok = ac_json_read_string (&scope, o, "top", "absent", TRUE, 16, &str, &e);
	expect_error (ok, e, "manifest field 'top.absent': missing: a string is required");
	e = NULL;
	ok = ac_json_read_int (&scope, o, "", "n", FALSE, 0, 10, &n, NULL, &e);
	expect_error (ok, e, "manifest field 'n': 11: expected an integer from 0 to 10");
	e = NULL;
	ok = ac_json_read_int (&scope, o, "", "s", FALSE, 0, 10, &n, NULL, &e);
	expect_error (ok, e, "manifest field 's': a string: expected an integer from 0 to 10");
	e = NULL;
	ok = ac_json_read_int (&scope, o, "p", "absent", TRUE, 0, 10, &n, NULL, &e);
	expect_error (ok, e,
	              "manifest field 'p.absent': missing: an integer from 0 to 10 is required");
	e = NULL;
	ok = ac_json_read_uint64 (&scope, o, "", "neg", TRUE, &u, &e);
	expect_error (ok, e,
	              "manifest field 'neg': a negative integer: expected a non-negative integer");
	e = NULL;
	ok = ac_json_read_bool (&scope, o, "", "on", TRUE, &b, &e);
	expect_error (ok, e, "manifest field 'on': an integer: expected true or false");
	e = NULL;
	ok = ac_json_read_object (&scope, o, "", "n", TRUE, &obj, &e);
	expect_error (ok, e, "manifest field 'n': an integer: expected an object");
	e = NULL;
	ok = ac_json_read_array (&scope, d, "d", "x", TRUE, 2, &arr, &e);
	expect_error (ok, e, "manifest field 'd.x': 3 entries: expected at most 2");
	e = NULL;
	ok = ac_json_read_strv (&scope, d, "d", "x", 4, &strv, &e);
	expect_error (ok, e, "manifest field 'd.x[0]': an integer: expected a string");
	e = NULL;
	ok = ac_json_check_members (&scope, d, "d", allowed, &e);
	expect_error (ok, e, "manifest field 'd.x': unknown member: expected one of y, z");
	g_assert_null (str);
	g_assert_null (strv);
	g_assert_cmpint (n, ==, 0);
	g_assert_false (b);
}

/* expect_error(), and *@e ready for the next call */
static void
expect_fail (gboolean ok, GError **e, const gchar *message)
{
	expect_error (ok, *e, message);
	*e = NULL;
}

/* every reader's "missing" and "wrong type" message, as each reader had it on its own */
static void
test_read_member_messages (void)
{
	g_autoptr (JsonNode) holder = NULL;
	JsonObject *o = parse_object ("{\"s\":\"x\",\"f\":1.5,\"z\":null,\"a\":[1]}", &holder);
	gchar *str = NULL;
	g_auto (GStrv) strv = NULL;
	guint64 u = 0;
	gboolean b = FALSE, ok;
	JsonObject *obj = NULL;
	JsonArray *arr = NULL;
	GError *e = NULL;

	ok = ac_json_read_uint64 (&scope, o, "p", "m", TRUE, &u, &e);
	expect_fail (ok, &e, "manifest field 'p.m': missing: an integer is required");
	ok = ac_json_read_uint64 (&scope, o, "", "f", TRUE, &u, &e);
	expect_fail (ok, &e, "manifest field 'f': a number: expected a non-negative integer");
	ok = ac_json_read_bool (&scope, o, "", "m", TRUE, &b, &e);
	expect_fail (ok, &e, "manifest field 'm': missing: true or false is required");
	ok = ac_json_read_object (&scope, o, "", "m", TRUE, &obj, &e);
	expect_fail (ok, &e, "manifest field 'm': missing: an object is required");
	ok = ac_json_read_array (&scope, o, "", "m", TRUE, 4, &arr, &e);
	expect_fail (ok, &e, "manifest field 'm': missing: an array is required");
	ok = ac_json_read_array (&scope, o, "", "z", TRUE, 4, &arr, &e);
	expect_fail (ok, &e, "manifest field 'z': null: expected an array");
	ok = ac_json_read_string (&scope, o, "", "a", TRUE, 4, &str, &e);
	expect_fail (ok, &e, "manifest field 'a': an array: expected a string");
	ok = ac_json_read_strv (&scope, o, "", "s", 4, &strv, &e);
	expect_fail (ok, &e, "manifest field 's': a string: expected an array of strings");
	ok = ac_json_read_strv (&scope, o, "", "a", 0, &strv, &e);
	expect_fail (ok, &e, "manifest field 'a': 1 entries: expected at most 0");
	/* absent and optional: no error, nothing written */
	g_assert_true (ac_json_read_uint64 (&scope, o, "", "m", FALSE, &u, &e));
	g_assert_true (ac_json_read_bool (&scope, o, "", "m", FALSE, &b, &e));
	g_assert_true (ac_json_read_string (&scope, o, "", "m", FALSE, 4, &str, &e));
	g_assert_true (ac_json_read_strv (&scope, o, "", "m", 4, &strv, &e));
	g_assert_true (ac_json_read_array (&scope, o, "", "m", FALSE, 4, &arr, &e));
	g_assert_null (arr);
	g_assert_no_error (e);
	g_assert_null (str);
	g_assert_null (strv);
	g_assert_cmpuint (u, ==, 0);
	g_assert_false (b);
}

/* the member helpers write what the json_builder_* calls they stand for write */
static void
test_builder_members (void)
{
	g_autoptr(JsonBuilder) b = json_builder_new ();
	g_autoptr(JsonNode) root = NULL;
	g_autofree gchar *text = NULL;

	json_builder_begin_object (b);
	ac_json_builder_add_string (b, "s", "v");
	ac_json_builder_add_int (b, "i", -3);
	ac_json_builder_add_boolean (b, "t", TRUE);
	ac_json_builder_begin_member_object (b, "o");
	ac_json_builder_add_string_or_null (b, "set", "x");
	ac_json_builder_add_string_or_null (b, "unset", NULL);
	ac_json_builder_add_string_opt (b, "opt", "y");
	ac_json_builder_add_string_opt (b, "none", NULL);
	json_builder_end_object (b);
	json_builder_end_object (b);
	root = json_builder_get_root (b);
	text = json_to_string (root, FALSE);
	g_assert_cmpstr (text, ==,
	                 "{\"s\":\"v\",\"i\":-3,\"t\":true,\"o\":{\"set\":\"x\",\"unset\":null,"
	                 "\"opt\":\"y\"}}");
}

/* the devnet's refusals: one member, compact, the message escaped */
static void
test_error_body (void)
{
	g_autofree gchar *plain = ac_json_error_body ("no secrets provided");
	g_autofree gchar *quoted = ac_json_error_body ("a \"b\"\n\\c");

	g_assert_cmpstr (plain, ==, "{\"error\":\"no secrets provided\"}");
	g_assert_cmpstr (quoted, ==, "{\"error\":\"a \\\"b\\\"\\n\\\\c\"}");
}

int
main (int argc, char **argv)
{
	g_test_init (&argc, &argv, NULL);
	g_test_add_func ("/json/parse-bounds", test_parse_bounds);
	g_test_add_func ("/json/parse-unique", test_parse_unique);
	g_test_add_func ("/json/read-typed", test_read_typed);
	g_test_add_func ("/json/read-errors", test_read_errors);
	g_test_add_func ("/json/read-member-messages", test_read_member_messages);
	g_test_add_func ("/json/builder-members", test_builder_members);
	g_test_add_func ("/json/error-body", test_error_body);
	return g_test_run ();
}
