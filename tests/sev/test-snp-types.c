/*
 * SEV-SNP product and TCB version: the layouts of the real reports' TCB values.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "ac-error.h"
#include "ac-snp-types.h"

static void
test_tcb_milan_real (void)
{
	g_autoptr (GError) error = NULL;
	AcSnpTcb tcb;

	/* the REPORTED_TCB of the two real Milan reports */
	g_assert_true (
	    ac_snp_tcb_decode (0x7308000000000003, AC_SNP_PRODUCT_MILAN, "tcb", &tcb, &error));
	g_assert_no_error (error);
	g_assert_cmpuint (tcb.bootloader, ==, 3);
	g_assert_cmpuint (tcb.tee, ==, 0);
	g_assert_cmpuint (tcb.snp, ==, 8);
	g_assert_cmpuint (tcb.microcode, ==, 115);
	g_assert_cmpuint (tcb.fmc, ==, 0);
	g_assert_cmpuint (ac_snp_tcb_encode (&tcb, AC_SNP_PRODUCT_MILAN), ==, 0x7308000000000003);

	g_assert_true (
	    ac_snp_tcb_decode (0xde1b000000000004, AC_SNP_PRODUCT_GENOA, "tcb", &tcb, &error));
	g_assert_cmpuint (tcb.bootloader, ==, 4);
	g_assert_cmpuint (tcb.snp, ==, 27);
	g_assert_cmpuint (tcb.microcode, ==, 222);
	{
		g_autofree gchar *s = ac_snp_tcb_to_string (&tcb, AC_SNP_PRODUCT_GENOA);
		g_assert_cmpstr (s, ==, "bl=4 tee=0 snp=27 ucode=222");
	}
}

static void
test_tcb_turin (void)
{
	g_autoptr (GError) error = NULL;
	AcSnpTcb tcb = { .fmc = 1, .bootloader = 2, .tee = 3, .snp = 4, .microcode = 5 }, back;
	guint64 raw = ac_snp_tcb_encode (&tcb, AC_SNP_PRODUCT_TURIN);

	g_assert_cmpuint (raw, ==, 0x0500000004030201);
	g_assert_true (ac_snp_tcb_decode (raw, AC_SNP_PRODUCT_TURIN, "tcb", &back, &error));
	g_assert_true (ac_snp_tcb_equal (&tcb, &back));
	{
		g_autofree gchar *s = ac_snp_tcb_to_string (&back, AC_SNP_PRODUCT_TURIN);
		g_assert_cmpstr (s, ==, "fmc=1 bl=2 tee=3 snp=4 ucode=5");
	}
	/* the same bytes read as Milan have reserved bytes set: refused, not misread */
	g_assert_false (
	    ac_snp_tcb_decode (raw, AC_SNP_PRODUCT_MILAN, "REPORTED_TCB", &back, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
	g_assert_nonnull (strstr (error->message, "REPORTED_TCB"));
	g_clear_error (&error);
	g_assert_false (ac_snp_tcb_decode (raw, AC_SNP_PRODUCT_UNKNOWN, "tcb", &back, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
}

static void
test_tcb_compare (void)
{
	AcSnpTcb floor = { .bootloader = 3, .snp = 8, .microcode = 115 };
	AcSnpTcb t = floor;

	g_assert_true (ac_snp_tcb_at_least (&t, &floor));
	t.microcode = 255;
	g_assert_true (ac_snp_tcb_at_least (&t, &floor));
	/* one component below is below, whatever the others (never compared as one number) */
	t.snp = 7;
	g_assert_false (ac_snp_tcb_at_least (&t, &floor));
	g_assert_false (ac_snp_tcb_equal (&t, &floor));
}

static void
test_product (void)
{
	g_autoptr (GError) error = NULL;
	AcSnpProduct p = AC_SNP_PRODUCT_UNKNOWN;

	g_assert_cmpint (ac_snp_product_from_cpuid (0x19, 0x01), ==, AC_SNP_PRODUCT_MILAN);
	g_assert_cmpint (ac_snp_product_from_cpuid (0x19, 0x11), ==, AC_SNP_PRODUCT_GENOA);
	g_assert_cmpint (ac_snp_product_from_cpuid (0x19, 0xa0), ==, AC_SNP_PRODUCT_GENOA);
	g_assert_cmpint (ac_snp_product_from_cpuid (0x1a, 0x02), ==, AC_SNP_PRODUCT_TURIN);
	g_assert_cmpint (ac_snp_product_from_cpuid (0x1a, 0x50), ==, AC_SNP_PRODUCT_UNKNOWN);
	g_assert_cmpint (ac_snp_product_from_cpuid (0x17, 0x01), ==, AC_SNP_PRODUCT_UNKNOWN);
	g_assert_cmpint (ac_snp_product_from_cpuid (0, 0), ==, AC_SNP_PRODUCT_UNKNOWN);

	g_assert_true (ac_snp_product_from_string ("GENOA", "--product", &p, &error));
	g_assert_cmpint (p, ==, AC_SNP_PRODUCT_GENOA);
	g_assert_cmpstr (ac_snp_product_to_string (p), ==, "Genoa");
	g_assert_false (ac_snp_product_from_string ("rome", "--product", &p, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
	g_assert_nonnull (strstr (error->message, "--product"));
	g_assert_nonnull (strstr (error->message, "rome"));
}

int
main (int argc, char **argv)
{
	g_test_init (&argc, &argv, NULL);
	g_test_add_func ("/snp/tcb/milan-real", test_tcb_milan_real);
	g_test_add_func ("/snp/tcb/turin", test_tcb_turin);
	g_test_add_func ("/snp/tcb/compare", test_tcb_compare);
	g_test_add_func ("/snp/product", test_product);
	return g_test_run ();
}
