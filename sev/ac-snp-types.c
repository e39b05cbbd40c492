/*
 * AMD SEV-SNP product and TCB version.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "ac-snp-types.h"

#include "ac-error.h"

const gchar *
ac_snp_product_to_string (AcSnpProduct product)
{
	switch (product) {
	case AC_SNP_PRODUCT_MILAN:
		return "Milan";
	case AC_SNP_PRODUCT_GENOA:
		return "Genoa";
	case AC_SNP_PRODUCT_TURIN:
		return "Turin";
	case AC_SNP_PRODUCT_UNKNOWN:
	default:
		return "unknown";
	}
}

gboolean
ac_snp_product_from_string (const gchar *text, const gchar *what, AcSnpProduct *out, GError **error)
{
	static const AcSnpProduct all[] = {
		AC_SNP_PRODUCT_MILAN,
		AC_SNP_PRODUCT_GENOA,
		AC_SNP_PRODUCT_TURIN,
	};
	for (guint i = 0; text != NULL && i < G_N_ELEMENTS (all); i++) {
		if (g_ascii_strcasecmp (text, ac_snp_product_to_string (all[i])) == 0) {
			*out = all[i];
			return TRUE;
		}
	}
	g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
	             "%s: '%s' is not an SEV-SNP product (expected milan, genoa or turin)", what,
	             text != NULL ? text : "");
	return FALSE;
}

AcSnpProduct
ac_snp_product_from_cpuid (guint8 family, guint8 model)
{
	if (family == 0x19) {
		if (model <= 0x0f)
			return AC_SNP_PRODUCT_MILAN;
		if ((model >= 0x10 && model <= 0x1f) || (model >= 0xa0 && model <= 0xaf))
			return AC_SNP_PRODUCT_GENOA;
	}
	if (family == 0x1a && model <= 0x11)
		return AC_SNP_PRODUCT_TURIN;
	return AC_SNP_PRODUCT_UNKNOWN;
}

gboolean
ac_snp_tcb_decode (guint64 raw,
                   AcSnpProduct product,
                   const gchar *what,
                   AcSnpTcb *out,
                   GError **error)
{
	guint8 b[8];
	for (guint i = 0; i < 8; i++)
		b[i] = (guint8)(raw >> (8 * i));
	memset (out, 0, sizeof *out);
	switch (product) {
	case AC_SNP_PRODUCT_MILAN:
	case AC_SNP_PRODUCT_GENOA:
		if (b[2] | b[3] | b[4] | b[5])
			break;
		out->bootloader = b[0];
		out->tee = b[1];
		out->snp = b[6];
		out->microcode = b[7];
		return TRUE;
	case AC_SNP_PRODUCT_TURIN:
		if (b[4] | b[5] | b[6])
			break;
		out->fmc = b[0];
		out->bootloader = b[1];
		out->tee = b[2];
		out->snp = b[3];
		out->microcode = b[7];
		return TRUE;
	case AC_SNP_PRODUCT_UNKNOWN:
	default:
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "%s: the TCB layout depends on the product, which is not known", what);
		return FALSE;
	}
	g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
	             "%s: 0x%016" G_GINT64_MODIFIER "x has a non-zero reserved byte for %s", what,
	             raw, ac_snp_product_to_string (product));
	return FALSE;
}

guint64
ac_snp_tcb_encode (const AcSnpTcb *tcb, AcSnpProduct product)
{
	if (product == AC_SNP_PRODUCT_TURIN)
		return (guint64)tcb->fmc | (guint64)tcb->bootloader << 8 | (guint64)tcb->tee << 16
		       | (guint64)tcb->snp << 24 | (guint64)tcb->microcode << 56;
	g_return_val_if_fail (product != AC_SNP_PRODUCT_UNKNOWN, 0);
	return (guint64)tcb->bootloader | (guint64)tcb->tee << 8 | (guint64)tcb->snp << 48
	       | (guint64)tcb->microcode << 56;
}

gboolean
ac_snp_tcb_at_least (const AcSnpTcb *tcb, const AcSnpTcb *floor)
{
	return tcb->fmc >= floor->fmc && tcb->bootloader >= floor->bootloader
	       && tcb->tee >= floor->tee && tcb->snp >= floor->snp
	       && tcb->microcode >= floor->microcode;
}

gboolean
ac_snp_tcb_equal (const AcSnpTcb *a, const AcSnpTcb *b)
{
	return a->fmc == b->fmc && a->bootloader == b->bootloader && a->tee == b->tee
	       && a->snp == b->snp && a->microcode == b->microcode;
}

gchar *
ac_snp_tcb_to_string (const AcSnpTcb *tcb, AcSnpProduct product)
{
	g_autofree gchar *rest = g_strdup_printf ("bl=%u tee=%u snp=%u ucode=%u", tcb->bootloader,
	                                          tcb->tee, tcb->snp, tcb->microcode);
	if (product == AC_SNP_PRODUCT_TURIN)
		return g_strdup_printf ("fmc=%u %s", tcb->fmc, rest);
	return g_steal_pointer (&rest);
}
