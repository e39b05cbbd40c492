/*
 * aleph-confidential: the network's payment rules by date (ac-aleph-payment).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "ac-aleph-payment.h"
#include "ac-error.h"

#define T_2026_03_11 1773187200.0
#define T_2027_01_01 1798761600.0

static void
test_cutoffs (void)
{
	const struct {
		const gchar *type;
		const gchar *payment;
		gdouble time;
		gboolean accepted;
	} cases[] = {
		{ "INSTANCE", "credit", T_2027_01_01 + 1e6, TRUE },
		{ "INSTANCE", "hold", T_2026_03_11 - 0.5, TRUE },
		{ "INSTANCE", "hold", T_2026_03_11, FALSE }, /* from the cutoff on */
		{ "INSTANCE", "superfluid", T_2026_03_11 - 1, TRUE },
		{ "INSTANCE", "superfluid", T_2026_03_11 + 1, FALSE },
		{ "STORE", "credit", T_2027_01_01 + 1, TRUE },
		{ "STORE", "hold", T_2027_01_01 - 1, TRUE },
		{ "STORE", "hold", T_2027_01_01, FALSE },
	};
	for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
		g_autoptr(GError) error = NULL;
		gboolean ok = ac_payment_check (NULL, cases[i].type, cases[i].payment, cases[i].time, &error);
		g_assert_cmpint (ok, ==, cases[i].accepted);
		if (!ok) {
			g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
			g_assert_nonnull (strstr (error->message, cases[i].payment));
			g_assert_nonnull (strstr (error->message, "credit"));
			g_assert_nonnull (strstr (error->message, cases[i].type[0] == 'I' ? "2026-03-11" : "2027-01-01"));
		}
	}
}

static void
test_unknown_and_moved (void)
{
	g_autoptr(GError) error = NULL;
	AcPaymentCutoffs c;
	gint64 t = 0;

	/* superfluid is not a STORE payment; nonsense is refused with the accepted values */
	g_assert_false (ac_payment_check (NULL, "STORE", "superfluid", 0, &error));
	g_assert_nonnull (strstr (error->message, "credit or hold"));
	g_clear_error (&error);
	g_assert_false (ac_payment_check (NULL, "INSTANCE", "card", 0, &error));
	g_assert_nonnull (strstr (error->message, "credit, hold or superfluid"));
	g_clear_error (&error);
	g_assert_cmpstr (ac_payment_default ("INSTANCE"), ==, "credit");
	g_assert_cmpstr (ac_payment_default ("STORE"), ==, "credit");

	/* cutoffs moved (the devnet's knobs): "never" and dates */
	ac_payment_cutoffs_init_default (&c);
	g_assert_true (ac_payment_cutoff_parse ("never", &c.instance_hold, &error));
	g_assert_true (ac_payment_check (&c, "INSTANCE", "hold", T_2027_01_01, &error));
	g_assert_true (ac_payment_cutoff_parse ("2020-01-01", &c.store_hold, &error));
	g_assert_false (ac_payment_check (&c, "STORE", "hold", T_2026_03_11, &error));
	g_clear_error (&error);
	g_assert_true (ac_payment_cutoff_parse ("2027-01-01T12:00:00Z", &t, &error));
	g_assert_cmpint (t, ==, (gint64)T_2027_01_01 + 12 * 3600);
	{
		g_autofree gchar *s = ac_payment_cutoff_to_string (t);
		g_assert_cmpstr (s, ==, "2027-01-01T12:00:00Z");
	}
	for (guint i = 0; i < 4; i++) {
		const gchar *bad[] = { "", "2027-13-01", "tomorrow", "2027-01-01x" };
		g_assert_false (ac_payment_cutoff_parse (bad[i], &t, &error));
		g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
		g_clear_error (&error);
	}
}

int
main (int argc, char **argv)
{
	g_test_init (&argc, &argv, NULL);
	g_test_add_func ("/aleph/payment/cutoffs", test_cutoffs);
	g_test_add_func ("/aleph/payment/unknown-and-moved", test_unknown_and_moved);
	return g_test_run ();
}
