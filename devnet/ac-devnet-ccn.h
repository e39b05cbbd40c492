/*
 * aleph-confidential devnet: the CCN (pyaleph API subset): classifies a request and serves it from
 * the message, upload and ledger files; answers the CRN list and the version itself.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "ac-devnet-state.h"

G_BEGIN_DECLS

AcDevnetEndpoint
ac_devnet_ccn_classify (const gchar *method, const gchar *path);

/* returns FALSE when it took the message over (paused: sync wait) */
gboolean
ac_devnet_ccn_handle (AcDevnet *self,
                      AcDevnetEndpoint ep,
                      SoupServerMessage *msg,
                      const gchar *path,
                      GHashTable *query);

G_END_DECLS
