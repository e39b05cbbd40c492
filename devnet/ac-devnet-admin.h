/*
 * aleph-confidential devnet: the admin endpoint for the tests (no auth, loopback): knobs, credits,
 * per-VM counters, per-endpoint stats, the ready line.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "ac-devnet-state.h"

G_BEGIN_DECLS

void
ac_devnet_admin_handle (SoupServer *server,
                        SoupServerMessage *msg,
                        const char *path,
                        GHashTable *query,
                        gpointer user_data);

G_END_DECLS
