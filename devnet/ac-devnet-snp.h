/*
 * aleph-confidential devnet: SEV-SNP — each CRN's software SNP firmware (a chip kept in its
 * state directory, its VCEK issued by the devnet's one software SNP CA), the KDS for those
 * chips (/kds/vcek/v1/… on the admin listener), the ARK to trust, and signed reports for the
 * tests (/admin/snp/report, a stand-in for the agent inside a guest), with the snp-* attacks.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "ac-devnet-state.h"

G_BEGIN_DECLS

/* the SNP CA (in <root_dir>/snp-ca, made once) and its ARK written to <trust dir>/snp-ark.pem */
gboolean
ac_devnet_snp_start (AcDevnet *self, GError **error);
/* the CRN's chip, loaded from <crn dir>/snp or made there */
gboolean
ac_devnet_snp_crn_new (AcDevnetCrn *crn, GError **error);
void
ac_devnet_snp_crn_free (AcDevnetCrn *crn);
/* what an snp-* attack needs before it is set (snp-tcb-below-floor: the old chip) */
gboolean
ac_devnet_snp_prepare_attack (AcDevnetCrn *crn, AcDevnetAttack attack, GError **error);
/* applies the snp-* knobs to the chips (attacks, the ASK on the CRL): before any report */
void
ac_devnet_snp_sync (AcDevnet *self);
/* GET /kds/…, /admin/snp/ark.pem, /admin/snp/report; FALSE: not an SNP path */
gboolean
ac_devnet_snp_admin_handle (AcDevnet *self,
                            SoupServerMessage *msg,
                            const gchar *path,
                            GHashTable *query);
/* the ready line's "snp" member ({"product", "kds", "ark"}) */
void
ac_devnet_snp_ready (AcDevnet *self, JsonBuilder *b);
/* the CRN's CHIP_ID, hex (its KDS hwID) */
gchar *
ac_devnet_snp_crn_chip_id (AcDevnetCrn *crn);

G_END_DECLS
