/*
 * The time stamps (ac-time): the exact text the status, hook records, manifests, CRN headers
 * and the devnet write.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "ac-time.h"

static void
test_time_utc (void)
{
	g_autoptr (GTimeZone) tz = g_time_zone_new_offset (2 * 3600);
	g_autoptr (GDateTime) local = g_date_time_new (tz, 2026, 12, 6, 5, 7, 9.000042);
	g_autofree gchar *s = ac_time_format_utc (local);
	g_autofree gchar *us = ac_time_format_utc_usec (local);
	g_autofree gchar *u = ac_time_format_unix_utc (1700000000);
	g_autofree gchar *now = ac_time_now_utc ();

	g_assert_cmpstr (s, ==, "2026-12-06T03:07:09Z");
	g_assert_cmpstr (us, ==, "2026-12-06T03:07:09.000042Z");
	g_assert_cmpstr (u, ==, "2023-11-14T22:13:20Z");
	g_assert_cmpuint (strlen (now), ==, 20);
	g_assert_true (g_str_has_suffix (now, "Z"));
	g_assert_cmpfloat (ac_time_now_unix (), >, 1700000000.0);
}

static void
test_time_isoformat (void)
{
	g_autofree gchar *a = ac_time_format_isoformat (1700000000.5);
	g_autofree gchar *b = ac_time_format_isoformat (1700000000.0);
	g_autofree gchar *c = ac_time_format_isoformat (-1e12);

	g_assert_cmpstr (a, ==, "2023-11-14T22:13:20.500000+00:00");
	g_assert_cmpstr (b, ==, "2023-11-14T22:13:20.000000+00:00");
	g_assert_cmpstr (c, ==, "1970-01-01T00:00:00.000000+00:00");
}

int
main (int argc, char **argv)
{
	g_test_init (&argc, &argv, NULL);
	g_test_add_func ("/time/utc", test_time_utc);
	g_test_add_func ("/time/isoformat", test_time_isoformat);
	return g_test_run ();
}
