/*
 * The one size grammar (ac-size): what the tag and the builder's templates accept.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "ac-error.h"
#include "ac-size.h"

static void
test_size_units (void)
{
	struct {
		const gchar *text;
		guint64 bytes;
		const gchar *canonical;
	} ok[] = {
		{ "20GiB", 20ull << 30, "20GiB" },
		{ "20G", 20ull << 30, "20GiB" },
		{ "4GB", 4000000000ull, "3906250KiB" },
		{ "512 MiB", 512ull << 20, "512MiB" },
		{ "1536M", 1536ull << 20, "1536MiB" },
		{ "17B", 17, "17B" },
		{ "17bytes", 17, "17B" },
		{ "2k", 2048, "2KiB" },
		{ "2TiB", 2ull << 40, "2TiB" },
		{ "16777215TiB", 16777215ull << 40, "16777215TiB" },
		{ "3TB", 3000000000000ull, "2929687500KiB" },
	};

	for (guint i = 0; i < G_N_ELEMENTS (ok); i++) {
		guint64 v = 0;
		g_autoptr (GError) error = NULL;
		g_autofree gchar *s = NULL;
		g_assert_true (ac_size_parse (ok[i].text, AC_SIZE_UNIT_REQUIRED, &v, &error));
		g_assert_no_error (error);
		g_assert_cmpuint (v, ==, ok[i].bytes);
		g_assert_true (ac_size_parse (ok[i].text, AC_SIZE_DEFAULT, &v, &error));
		g_assert_no_error (error);
		g_assert_cmpuint (v, ==, ok[i].bytes);
		s = ac_size_format (v);
		g_assert_cmpstr (s, ==, ok[i].canonical);
	}
}

static void
test_size_bare_number (void)
{
	guint64 v = 0;
	g_autoptr (GError) error = NULL;

	g_assert_true (ac_size_parse ("512", AC_SIZE_DEFAULT, &v, &error));
	g_assert_no_error (error);
	g_assert_cmpuint (v, ==, 512);
	g_assert_false (ac_size_parse ("512", AC_SIZE_UNIT_REQUIRED, &v, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
	g_assert_cmpstr (
	    error->message, ==,
	    "invalid size '512': a unit is required; expected one of B, KiB, MiB, GiB, "
	    "TiB (or K, M, G, T), KB, MB, GB, TB, as in 20GiB");
	g_clear_error (&error);
	/* aleph-client's --memory 4096: MiB; a unit still means what it says */
	g_assert_true (ac_size_parse ("4096", AC_SIZE_BARE_MIB, &v, &error));
	g_assert_no_error (error);
	g_assert_cmpuint (v, ==, 4096ull << 20);
	g_assert_true (ac_size_parse ("4096B", AC_SIZE_BARE_MIB, &v, &error));
	g_assert_cmpuint (v, ==, 4096);
	g_assert_true (ac_size_parse ("2GiB", AC_SIZE_BARE_MIB, &v, &error));
	g_assert_cmpuint (v, ==, 2ull << 30);
	g_assert_false (ac_size_parse ("17592186044416", AC_SIZE_BARE_MIB, &v, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
	g_assert_nonnull (strstr (error->message, "too large"));
}

static void
test_size_malformed (void)
{
	struct {
		const gchar *text;
		const gchar *why;
	} bad[] = {
		{ "", "expected a whole number with a unit" },
		{ "GiB", "expected a whole number with a unit" },
		{ "-1GiB", "expected a whole number with a unit" },
		{ "1.5GiB", "unknown unit" },
		{ "20 gib", "unknown unit" },
		{ "20GiB ", "unknown unit" },
		{ "0x10MiB", "unknown unit" },
		{ "99999999999999999999B", "too large" },
		{ "18446744073709551616", "too large" },
		{ "16777216TiB", "too large" },
	};

	for (guint f = 0; f < 2; f++) {
		for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
			guint64 v = 0;
			g_autoptr (GError) error = NULL;
			g_autofree gchar *named = g_strdup_printf ("'%s'", bad[i].text);
			g_assert_false (ac_size_parse (
			    bad[i].text, f == 0 ? AC_SIZE_DEFAULT : AC_SIZE_UNIT_REQUIRED, &v,
			    &error));
			g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
			g_assert_nonnull (strstr (error->message, named));
			g_assert_nonnull (strstr (error->message, bad[i].why));
		}
	}
}

int
main (int argc, char **argv)
{
	g_test_init (&argc, &argv, NULL);
	g_test_add_func ("/size/units", test_size_units);
	g_test_add_func ("/size/bare-number", test_size_bare_number);
	g_test_add_func ("/size/malformed", test_size_malformed);
	return g_test_run ();
}
