/*
 * AMD SEV-SNP: the two values every SNP part shares — the product (processor generation, which
 * selects the AMD root, the KDS path and the TCB layout) and the TCB version (security patch
 * levels of the firmware components, 8 bytes whose layout depends on the product).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
	AC_SNP_PRODUCT_UNKNOWN = 0,
	AC_SNP_PRODUCT_MILAN,
	AC_SNP_PRODUCT_GENOA,
	AC_SNP_PRODUCT_TURIN,
} AcSnpProduct;

/* "Milan", "Genoa", "Turin" (the KDS path segment), "unknown" */
const gchar *
ac_snp_product_to_string (AcSnpProduct product);
/* case-insensitive "milan", "genoa", "turin"; AC_ERROR_INVALID_INPUT naming @what otherwise */
gboolean
ac_snp_product_from_string (const gchar *text,
                            const gchar *what,
                            AcSnpProduct *out,
                            GError **error);
/* the product of a combined CPUID family and model (report v3+ CPUID_FAM_ID, CPUID_MOD_ID):
 * family 0x19 models 0x00-0x0F Milan, 0x10-0x1F and 0xA0-0xAF Genoa; family 0x1A models
 * 0x00-0x11 Turin; AC_SNP_PRODUCT_UNKNOWN for anything else (never guessed) */
AcSnpProduct
ac_snp_product_from_cpuid (guint8 family, guint8 model);

/* one TCB version, by component; @fmc exists on Turin only (0 elsewhere) */
typedef struct {
	guint8 fmc;
	guint8 bootloader;
	guint8 tee;
	guint8 snp;
	guint8 microcode;
} AcSnpTcb;

/* decodes the 8 bytes (little-endian u64 @raw) in @product's layout: Milan/Genoa
 * {bl, tee, 0, 0, 0, 0, snp, ucode}, Turin {fmc, bl, tee, snp, 0, 0, 0, ucode}. FALSE with
 * AC_ERROR_INVALID_INPUT naming @what when a reserved byte is not zero or the product is unknown */
gboolean
ac_snp_tcb_decode (guint64 raw,
                   AcSnpProduct product,
                   const gchar *what,
                   AcSnpTcb *out,
                   GError **error);
/* the inverse of ac_snp_tcb_decode (for a software firmware and tests); @product must be known */
guint64
ac_snp_tcb_encode (const AcSnpTcb *tcb, AcSnpProduct product);
/* TRUE when every component of @tcb is >= the same component of @floor (never as one number) */
gboolean
ac_snp_tcb_at_least (const AcSnpTcb *tcb, const AcSnpTcb *floor);
gboolean
ac_snp_tcb_equal (const AcSnpTcb *a, const AcSnpTcb *b);
/* "bl=3 tee=0 snp=8 ucode=115" (Turin: "fmc=0 bl=… ") */
gchar *
ac_snp_tcb_to_string (const AcSnpTcb *tcb, AcSnpProduct product);

G_END_DECLS
