/*
 * aleph-confidential devnet: SEV platform identities. One devnet root (ARK + ASK, RSA) signs the
 * CEK of every CRN's software PSP; a client trusts them only when given that root explicitly.
 * Identities live in the state directory (ac_sev_psp_save() layout) and are reused on restart.
 * SEV-SNP likewise: one devnet SNP CA (a software ARK + ASK) issues the VCEK of every CRN's
 * software SNP firmware (ac_snp_firmware_save() layout, reused on restart).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

#include "ac-sev-psp.h"
#include "ac-snp-firmware.h"

G_BEGIN_DECLS

/* Loads the identity saved in @dir, or generates one with its own ARK/ASK of @rsa_bits and
 * saves it there (atomically: concurrent creators end up with the same identity). */
AcSevPsp *
ac_devnet_identity_root (const gchar *dir, guint rsa_bits, GError **error);

/* Loads the identity in @dir, or makes one whose CEK is signed by the ASK of the root in
 * @root_dir (fresh P-384 CEK, OCA, PEK, PDH) and saves it there. */
AcSevPsp *
ac_devnet_identity_platform (const gchar *dir, const gchar *root_dir, GError **error);

/* SEV-SNP: the devnet's chips are of one product and share one software ARK and ASK */
#define AC_DEVNET_SNP_PRODUCT AC_SNP_PRODUCT_MILAN

/* Loads the software SNP CA (ARK + ASK, RSA-4096) saved in @dir, or generates one and saves
 * it there (atomically, as the root above). */
AcSnpSoftCa *
ac_devnet_identity_snp_ca (const gchar *dir, GError **error);

/* Loads the SNP chip saved in @dir (ac_snp_firmware_load(): a tampered or foreign state is an
 * error, never replaced), or makes one at @tcb on the CA in @ca_dir and saves it there; with
 * @keep FALSE, a new chip that is not saved. */
AcSnpFirmware *
ac_devnet_identity_snp_firmware (const gchar *dir,
                                 const gchar *ca_dir,
                                 const AcSnpTcb *tcb,
                                 gboolean keep,
                                 GError **error);

G_END_DECLS
