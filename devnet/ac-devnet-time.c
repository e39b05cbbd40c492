/*
 * aleph-confidential devnet: the clock and the time stamps of the CCN's answers.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <math.h>

#include "ac-devnet-time.h"

gdouble
ac_devnet_time_now (void)
{
	return (gdouble)g_get_real_time () / G_USEC_PER_SEC;
}

gchar *
ac_devnet_time_iso8601 (gdouble t)
{
	g_autoptr (GDateTime) dt = g_date_time_new_from_unix_utc ((gint64)floor (t));
	g_autoptr (GDateTime) dt2 = NULL;
	if (dt == NULL)
		return g_strdup ("1970-01-01T00:00:00.000000+00:00");
	dt2 = g_date_time_add (dt, (GTimeSpan)((t - floor (t)) * G_USEC_PER_SEC));
	return g_date_time_format (dt2 != NULL ? dt2 : dt, "%Y-%m-%dT%H:%M:%S.%f+00:00");
}
