/*
 * aleph-confidential: time stamps (see ac-time.h).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <math.h>

#include "ac-time.h"

gchar *
ac_time_format_utc (GDateTime *dt)
{
	g_autoptr (GDateTime) utc = g_date_time_to_utc (dt);
	return g_date_time_format (utc, "%Y-%m-%dT%H:%M:%SZ");
}

gchar *
ac_time_now_utc (void)
{
	g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
	return ac_time_format_utc (now);
}

gchar *
ac_time_format_unix_utc (gint64 unix_seconds)
{
	g_autoptr (GDateTime) dt = g_date_time_new_from_unix_utc (unix_seconds);
	if (dt == NULL)
		return NULL;
	return ac_time_format_utc (dt);
}

gchar *
ac_time_format_utc_usec (GDateTime *dt)
{
	g_autoptr (GDateTime) utc = g_date_time_to_utc (dt);
	return g_strdup_printf ("%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", g_date_time_get_year (utc),
	                        g_date_time_get_month (utc), g_date_time_get_day_of_month (utc),
	                        g_date_time_get_hour (utc), g_date_time_get_minute (utc),
	                        g_date_time_get_second (utc), g_date_time_get_microsecond (utc));
}

gchar *
ac_time_format_isoformat (gdouble unix_seconds)
{
	g_autoptr (GDateTime) dt = g_date_time_new_from_unix_utc ((gint64)floor (unix_seconds));
	g_autoptr (GDateTime) dt2 = NULL;

	if (dt == NULL)
		return g_strdup ("1970-01-01T00:00:00.000000+00:00");
	dt2 = g_date_time_add (dt,
	                       (GTimeSpan)((unix_seconds - floor (unix_seconds)) * G_USEC_PER_SEC));
	return g_date_time_format (dt2 != NULL ? dt2 : dt, "%Y-%m-%dT%H:%M:%S.%f+00:00");
}

gdouble
ac_time_now_unix (void)
{
	return (gdouble)g_get_real_time () / G_USEC_PER_SEC;
}
