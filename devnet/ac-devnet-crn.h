/*
 * aleph-confidential devnet: a CRN (aleph-vm subset) with its software PSP: certificates, notify,
 * the confidential launch, measurement, secret injection and the VM operations.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "ac-devnet-state.h"

G_BEGIN_DECLS

AcDevnetCrn *
ac_devnet_crn_new (AcDevnet *self, guint index, GError **error);

void
ac_devnet_crn_free (AcDevnetCrn *crn);

gboolean
ac_devnet_crn_prepare_attack (AcDevnetCrn *crn, AcDevnetAttack attack, GError **error);

AcDevnetEndpoint
ac_devnet_crn_classify (const gchar *method, const gchar *path);

gboolean
ac_devnet_crn_handle (AcDevnetCrn *crn,
                      AcDevnetEndpoint ep,
                      SoupServerMessage *msg,
                      const gchar *path);

G_END_DECLS
