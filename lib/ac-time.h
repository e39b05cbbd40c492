/*
 * aleph-confidential: the time stamps this project writes (status, hook records, manifests,
 * CRN headers, the devnet's CCN answers).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* RFC 3339 in UTC to the second: "2026-12-06T03:00:01Z" */
gchar *
ac_time_format_utc (GDateTime *dt);
gchar *
ac_time_now_utc (void);
gchar *
ac_time_format_unix_utc (gint64 unix_seconds);

/* RFC 3339 in UTC to the microsecond: "2026-12-06T03:00:01.000042Z" */
gchar *
ac_time_format_utc_usec (GDateTime *dt);

/* Python's datetime.isoformat() of a UTC time (what a CCN writes):
 * "2026-12-06T03:00:01.000042+00:00" for @unix_seconds with a fraction */
gchar *
ac_time_format_isoformat (gdouble unix_seconds);

/* seconds since the epoch with a fraction, as Aleph messages carry them */
gdouble
ac_time_now_unix (void);

G_END_DECLS
