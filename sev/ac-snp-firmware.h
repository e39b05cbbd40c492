/*
 * A software SEV-SNP firmware, for the devnet and the tests, as ac-sev-psp.h is for SEV: a chip
 * of its own (CHIP_ID, TCB, product), its certificate chain (a software ARK and ASK — never an
 * AMD root: a verifier trusts them only through ac_snp_roots_add_trusted() — and a VCEK for
 * that chip and TCB), guests launched with the launch digest it computes from their inputs
 * (ac-snp-measure.h), attestation reports for the REPORT_DATA a guest chooses, and the answers
 * a KDS gives about this chip.
 *
 * Attack knobs make it behave as a hostile host could: sign with the VCEK of another chip,
 * replay an earlier report whatever the REPORT_DATA, report another launch digest. A TCB below
 * a verifier's floor is a firmware created with that TCB; a debug or migratable guest is a
 * launch with that policy.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

#include "ac-snp-chain.h"
#include "ac-snp-measure.h"
#include "ac-snp-report.h"

G_BEGIN_DECLS

typedef struct _AcSnpFirmware AcSnpFirmware;

/* a new chip of @product at @tcb (a fresh CHIP_ID — 8 significant bytes on Turin —, ARK, ASK
 * and VCEK valid from a day ago for a year) */
AcSnpFirmware *
ac_snp_firmware_new (AcSnpProduct product, const AcSnpTcb *tcb, GError **error);
/* a new chip of the product of @ca (an ARK/ASK CA, taken: the firmware owns it) at @tcb, its
 * VCEK issued by that CA: the chips of a devnet share one software ARK and ASK, as real chips
 * share AMD's */
AcSnpFirmware *
ac_snp_firmware_new_with_ca (AcSnpSoftCa *ca, const AcSnpTcb *tcb, GError **error);
void
ac_snp_firmware_free (AcSnpFirmware *self);

/*
 * Persistence, for a devnet that keeps its chips across restarts. @dir (created 0700, and
 * refused unless it is a directory of ours closed to others) gets ca/ (ac_snp_soft_ca_save()),
 * vcek.pem, vcek.key (PKCS#8 PEM, 0600) and firmware.ini (product, CHIP_ID, TCB, whether the
 * ASK is revoked). Attack knobs and guests are not saved.
 *
 * ac_snp_firmware_load() refuses (AC_ERROR_PERMISSION) a directory or file that is a symbolic
 * link, not a directory / regular file, owned by another user, a directory others can enter
 * or a file others can write, and a key others can read; a firmware.ini with an unknown or
 * missing key or a bad value (AC_ERROR_INVALID_INPUT); a CA that does not load
 * (ac_snp_soft_ca_load()) or is not the product's; a VCEK that does not verify to that CA for
 * the saved CHIP_ID and TCB (AC_ERROR_UNTRUSTED / AC_ERROR_MISMATCH) or whose key is not
 * vcek.key (AC_ERROR_INVALID_INPUT).
 */
gboolean
ac_snp_firmware_save (AcSnpFirmware *self, const gchar *dir, GError **error);
AcSnpFirmware *
ac_snp_firmware_load (const gchar *dir, GError **error);

AcSnpProduct
ac_snp_firmware_get_product (AcSnpFirmware *self);
void
ac_snp_firmware_get_tcb (AcSnpFirmware *self, AcSnpTcb *out);
/* 64 bytes */
const guint8 *
ac_snp_firmware_get_chip_id (AcSnpFirmware *self);
/* the chain, borrowed: the ARK to trust explicitly, the ASK, this chip's VCEK */
AcSnpCert *
ac_snp_firmware_get_ark (AcSnpFirmware *self);
AcSnpCert *
ac_snp_firmware_get_ask (AcSnpFirmware *self);
AcSnpCert *
ac_snp_firmware_get_vcek (AcSnpFirmware *self);
/* the ARK's CRL (empty unless ac_snp_firmware_revoke_ask() was called), valid for 30 days */
AcSnpCrl *
ac_snp_firmware_get_crl (AcSnpFirmware *self, GError **error);
void
ac_snp_firmware_revoke_ask (AcSnpFirmware *self);
/* revokes the ASK (TRUE) or takes it off the CRL again (FALSE), for a devnet's knob */
void
ac_snp_firmware_set_ask_revoked (AcSnpFirmware *self, gboolean revoked);
gboolean
ac_snp_firmware_get_ask_revoked (AcSnpFirmware *self);

/*
 * What the KDS answers for the path of @url after its base URL ("/vcek/v1/Milan/…?blSPL=…",
 * "/vcek/v1/Milan/cert_chain", "/vcek/v1/Milan/crl"): this chip's VCEK (DER) only for its own
 * hwID and TCB, the ASK and ARK (PEM), the CRL (DER). AC_ERROR_NOT_FOUND for anything else, as
 * the real service answers 404.
 */
GBytes *
ac_snp_firmware_kds_answer (AcSnpFirmware *self, const gchar *path, GError **error);

typedef enum {
	AC_SNP_FIRMWARE_ATTACK_NONE = 0,
	/* reports are signed by the VCEK of another chip (ac_snp_firmware_get_other_vcek()) */
	AC_SNP_FIRMWARE_ATTACK_OTHER_CHIP = 1 << 0,
	/* a report request returns the guest's previous report, whatever its REPORT_DATA */
	AC_SNP_FIRMWARE_ATTACK_REPLAY = 1 << 1,
	/* reports carry a launch digest with one bit changed */
	AC_SNP_FIRMWARE_ATTACK_WRONG_MEASUREMENT = 1 << 2,
} AcSnpFirmwareAttack;

void
ac_snp_firmware_set_attacks (AcSnpFirmware *self, AcSnpFirmwareAttack attacks);
/* the VCEK of the other chip the OTHER_CHIP attack signs with (borrowed; same ASK) */
AcSnpCert *
ac_snp_firmware_get_other_vcek (AcSnpFirmware *self, GError **error);

typedef struct _AcSnpGuest AcSnpGuest;

/* launches a guest from @inputs (its digest computed with ac_snp_launch_digest()) with the
 * guest @policy (ac_snp_policy_validate()); @host_data (nullable) is 32 bytes */
AcSnpGuest *
ac_snp_firmware_launch (AcSnpFirmware *self,
                        const AcSnpLaunchInputs *inputs,
                        guint64 policy,
                        const guint8 *host_data,
                        GError **error);
void
ac_snp_guest_free (AcSnpGuest *self);
/* the launch digest the firmware computed */
const guint8 *
ac_snp_guest_get_measurement (AcSnpGuest *self);
/* SNP_GET_REPORT from inside the guest: a version 3 report for @report_data (64 bytes) at
 * @vmpl (0 to 3), signed by the VCEK (the firmware must outlive its guests) */
GBytes *
ac_snp_guest_get_report (AcSnpGuest *self, const guint8 *report_data, guint vmpl, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (AcSnpFirmware, ac_snp_firmware_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AcSnpGuest, ac_snp_guest_free)

G_END_DECLS
