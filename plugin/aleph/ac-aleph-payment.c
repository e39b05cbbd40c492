/*
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The payment rules of Aleph's network, as pyaleph's message handlers apply them (read and run
 * in December 2026):
 *   - INSTANCE paid by "hold" or "superfluid" (pay-as-you-go streams) is rejected with error
 *     202 when dated on or after 2026-03-11 00:00 UTC; "credit" is the only accepted payment;
 *   - STORE paid by "hold" (the SDK's default, dumped when absent) is refused with HTTP 422 from
 *     2027-01-01 00:00 UTC; "credit" is accepted.
 * These dates are the only place the project states them; the devnet takes its defaults from
 * here and can move them (and its clock) for tests.
 */
#include "config.h"

#include "ac-aleph-payment.h"

#include <stdio.h>
#include <string.h>

#include "ac-error.h"
#include "ac-time.h"

#define CUTOFF_INSTANCE_HOLD       G_GINT64_CONSTANT (1773187200) /* 2026-03-11T00:00:00Z */
#define CUTOFF_INSTANCE_SUPERFLUID G_GINT64_CONSTANT (1773187200) /* 2026-03-11T00:00:00Z */
#define CUTOFF_STORE_HOLD          G_GINT64_CONSTANT (1798761600) /* 2027-01-01T00:00:00Z */

void
ac_payment_cutoffs_init_default (AcPaymentCutoffs *cutoffs)
{
	cutoffs->instance_hold = CUTOFF_INSTANCE_HOLD;
	cutoffs->instance_superfluid = CUTOFF_INSTANCE_SUPERFLUID;
	cutoffs->store_hold = CUTOFF_STORE_HOLD;
}

gboolean
ac_payment_type_is_known (const gchar *msg_type, const gchar *payment)
{
	if (g_strcmp0 (payment, "hold") == 0 || g_strcmp0 (payment, "credit") == 0)
		return TRUE;
	return g_strcmp0 (msg_type, "INSTANCE") == 0 && g_strcmp0 (payment, "superfluid") == 0;
}

const gchar *
ac_payment_default (const gchar *msg_type)
{
	(void)msg_type;
	return "credit";
}

gchar *
ac_payment_cutoff_to_string (gint64 cutoff)
{
	g_autoptr(GDateTime) dt = NULL;
	if (cutoff == G_MAXINT64)
		return g_strdup ("never");
	dt = g_date_time_new_from_unix_utc (cutoff);
	if (dt == NULL)
		return g_strdup_printf ("%" G_GINT64_FORMAT, cutoff);
	if (g_date_time_get_hour (dt) == 0 && g_date_time_get_minute (dt) == 0 &&
	    g_date_time_get_second (dt) == 0)
		return g_date_time_format (dt, "%Y-%m-%d");
	return ac_time_format_utc (dt);
}

gboolean
ac_payment_cutoff_parse (const gchar *text, gint64 *out, GError **error)
{
	g_autoptr(GTimeZone) utc = g_time_zone_new_utc ();
	g_autoptr(GDateTime) dt = NULL;
	guint y, m, d;
	gchar tail;

	if (g_strcmp0 (text, "never") == 0) {
		*out = G_MAXINT64;
		return TRUE;
	}
	if (text != NULL && strlen (text) == 10 && sscanf (text, "%4u-%2u-%2u%c", &y, &m, &d, &tail) == 3)
		dt = g_date_time_new_utc ((gint)y, (gint)m, (gint)d, 0, 0, 0);
	else if (text != NULL)
		dt = g_date_time_new_from_iso8601 (text, utc);
	if (dt == NULL) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			     "cutoff '%s': expected a date YYYY-MM-DD, an ISO 8601 date-time or 'never'",
			     text != NULL ? text : "");
		return FALSE;
	}
	*out = g_date_time_to_unix (dt);
	return TRUE;
}

gboolean
ac_payment_check (const AcPaymentCutoffs *cutoffs,
		  const gchar *msg_type,
		  const gchar *payment,
		  gdouble time,
		  GError **error)
{
	AcPaymentCutoffs defaults;
	gint64 cutoff = G_MAXINT64;
	g_autofree gchar *date = NULL;

	if (cutoffs == NULL) {
		ac_payment_cutoffs_init_default (&defaults);
		cutoffs = &defaults;
	}
	if (!ac_payment_type_is_known (msg_type, payment)) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			     "%s payment '%s': expected %s", msg_type, payment != NULL ? payment : "",
			     g_strcmp0 (msg_type, "INSTANCE") == 0 ? "credit, hold or superfluid"
								   : "credit or hold");
		return FALSE;
	}
	if (g_strcmp0 (msg_type, "INSTANCE") == 0 && g_strcmp0 (payment, "hold") == 0)
		cutoff = cutoffs->instance_hold;
	else if (g_strcmp0 (msg_type, "INSTANCE") == 0 && g_strcmp0 (payment, "superfluid") == 0)
		cutoff = cutoffs->instance_superfluid;
	else if (g_strcmp0 (msg_type, "STORE") == 0 && g_strcmp0 (payment, "hold") == 0)
		cutoff = cutoffs->store_hold;
	if (time < (gdouble)cutoff)
		return TRUE;
	date = ac_payment_cutoff_to_string (cutoff);
	g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		     "%s payment '%s' is refused by the Aleph network for messages dated from %s on "
		     "(error %d); use payment 'credit'",
		     msg_type, payment, date, AC_ALEPH_ERROR_PAYMENT_REFUSED);
	return FALSE;
}
