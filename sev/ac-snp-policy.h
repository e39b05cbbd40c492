/*
 * AMD SEV-SNP guest policy (the u64 the guest is launched with, copied into every report):
 * parse, validate, explain; and the guest owner's verification policy (AcSnpVerifyPolicy): what
 * a report must show to be accepted — TCB floor per product, no debug, no migration agent, VMPL,
 * firmware ABI, platform features, signing key, the expected launch policy.
 * docs/snp.md#policy describes the bits, the defaults and why.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

#include "ac-snp-report.h"
#include "ac-snp-types.h"

G_BEGIN_DECLS

/* ---- the guest policy ---- */

#define AC_SNP_POLICY_ABI_MINOR_MASK G_GUINT64_CONSTANT (0xff)
#define AC_SNP_POLICY_ABI_MAJOR_SHIFT 8
#define AC_SNP_POLICY_ABI_MAJOR_MASK G_GUINT64_CONSTANT (0xff00)
#define AC_SNP_POLICY_SMT (G_GUINT64_CONSTANT (1) << 16)
#define AC_SNP_POLICY_RESERVED_MBO (G_GUINT64_CONSTANT (1) << 17) /* must be one */
#define AC_SNP_POLICY_MIGRATE_MA (G_GUINT64_CONSTANT (1) << 18)
#define AC_SNP_POLICY_DEBUG (G_GUINT64_CONSTANT (1) << 19)
#define AC_SNP_POLICY_SINGLE_SOCKET (G_GUINT64_CONSTANT (1) << 20)
#define AC_SNP_POLICY_CXL_ALLOW (G_GUINT64_CONSTANT (1) << 21)
#define AC_SNP_POLICY_MEM_AES_256_XTS (G_GUINT64_CONSTANT (1) << 22)
#define AC_SNP_POLICY_RAPL_DIS (G_GUINT64_CONSTANT (1) << 23)
#define AC_SNP_POLICY_CIPHERTEXT_HIDING (G_GUINT64_CONSTANT (1) << 24)
#define AC_SNP_POLICY_PAGE_SWAP_DISABLE (G_GUINT64_CONSTANT (1) << 25)
#define AC_SNP_POLICY_MBZ_MASK (~G_GUINT64_CONSTANT (0) << 26)

/* QEMU's, libvirt's and Aleph's default: SMT allowed, bit 17; no debug, no migration agent */
#define AC_SNP_POLICY_DEFAULT G_GUINT64_CONSTANT (0x30000)

/*
 * @text: a number ("0x30000", "196608"), or flag names joined by commas ("smt,single-socket",
 * "abi=1.51" for the minimum ABI, "none" for no flag): smt, migrate-ma, debug, single-socket,
 * cxl-allow, mem-aes-256-xts, rapl-dis, ciphertext-hiding, page-swap-disable. Bit 17 (reserved,
 * must be one) is implied by the names form and required in a number. The result is validated.
 * AC_ERROR_INVALID_INPUT naming the text and the offending part.
 */
gboolean
ac_snp_policy_parse (const gchar *text, guint64 *policy, GError **error);
/* bit 17 set and bits 63:26 zero; AC_ERROR_INVALID_INPUT otherwise */
gboolean
ac_snp_policy_validate (guint64 policy, GError **error);
/* the names form of @policy ("smt,debug,abi=1.51"; "none"); parses back to @policy when valid */
gchar *
ac_snp_policy_to_names (guint64 policy);
/* multi-line: every bit named, with what it means set or clear */
gchar *
ac_snp_policy_explain (guint64 policy);

/* ---- what a verifier accepts ---- */

/*
 * Initialise with ac_snp_verify_policy_init() (the defaults below), then change fields.
 * Defaults: product from the report; the built-in TCB floor of the product; debug and migration
 * agent refused; VMPL 0 or 1; no minimum firmware ABI; single-socket and no-SMT not required;
 * no platform-info requirement; VCEK only; any launch policy.
 */
typedef struct {
	/* the product: must match the report's CPUID product (version 3+); required for a
	 * version 2 report, which does not name it. AC_SNP_PRODUCT_UNKNOWN: the report's */
	AcSnpProduct product;
	/* a TCB floor that raises the built-in one (component by component); replaces it,
	 * lower components included, only with @allow_tcb_below_default */
	gboolean have_min_tcb;
	AcSnpTcb min_tcb;
	gboolean allow_tcb_below_default;
	/* guest policy bits 19 and 18 */
	gboolean allow_debug;
	gboolean allow_migrate_ma;
	/* the firmware (CURRENT and COMMITTED major.minor) must be at least this */
	guint8 min_abi_major;
	guint8 min_abi_minor;
	/* guest policy bit 20 must be set / bit 16 must be clear */
	gboolean require_single_socket;
	gboolean require_no_smt;
	/* the report's VMPL must be at most this (default 1) */
	guint vmpl_max;
	/* PLATFORM_INFO bits that must be set / must be clear (AC_SNP_PLATFORM_*) */
	guint64 platform_required;
	guint64 platform_forbidden;
	/* accept reports signed by a VLEK (default: VCEK only) */
	gboolean allow_vlek;
	/* the report's POLICY must equal @expected_policy */
	gboolean have_expected_policy;
	guint64 expected_policy;
} AcSnpVerifyPolicy;

void
ac_snp_verify_policy_init (AcSnpVerifyPolicy *policy);

/*
 * The built-in TCB floor of @product (@cpuid_model: the report's CPUID_MOD_ID, or -1 when not
 * known): Milan bl 4 tee 0 snp 22 ucode 213; Genoa bl 9 tee 0 snp 21 ucode 84 (ucode 28 for the
 * Zen 4c models 0xA0-0xAF); Turin fmc 3 bl 4 tee 0 snp 8 ucode 12. FALSE for an unknown product.
 */
gboolean
ac_snp_verify_policy_builtin_floor (AcSnpProduct product, gint cpuid_model, AcSnpTcb *out);
/* the floor @policy applies to a report of @product / @cpuid_model (see the struct) */
gboolean
ac_snp_verify_policy_effective_floor (const AcSnpVerifyPolicy *policy,
                                      AcSnpProduct product,
                                      gint cpuid_model,
                                      AcSnpTcb *out);
/* "bl=4,tee=0,snp=22,ucode=213" (commas or spaces; fmc= for Turin; every named component at most
 * 255; components not named are 0) into @out; AC_ERROR_INVALID_INPUT naming @what otherwise */
gboolean
ac_snp_verify_policy_parse_tcb (const gchar *text,
                                const gchar *what,
                                AcSnpTcb *out,
                                GError **error);

/*
 * Checks a parsed report against @policy (the signature and the chain are checked elsewhere):
 * signing key, expected launch policy, debug, migration agent, single socket, SMT, VMPL,
 * firmware ABI (current and committed), platform info, CHIP_ID (not masked for a VCEK), product,
 * and the TCB floor on all four TCB versions (launch, reported, current, committed). The first
 * rule that fails gives AC_ERROR_REFUSED naming the field, its value and the requirement (for
 * the TCB floor: every component below it).
 */
gboolean
ac_snp_verify_policy_check (const AcSnpVerifyPolicy *policy,
                            const AcSnpReport *report,
                            GError **error);

G_END_DECLS
