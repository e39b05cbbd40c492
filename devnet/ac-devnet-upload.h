/*
 * aleph-confidential devnet: the CCN's file uploads (storage, IPFS file, CAR, JSON), the raw file
 * GET, and the firmware STORE published at startup.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "ac-devnet-state.h"

G_BEGIN_DECLS

gboolean
ac_devnet_upload_handle (AcDevnet *self, AcDevnetEndpoint ep, SoupServerMessage *msg);

void
ac_devnet_upload_add_json (AcDevnet *self, SoupServerMessage *msg, gboolean ipfs);

void
ac_devnet_upload_raw (AcDevnet *self, SoupServerMessage *msg, const gchar *path);

gboolean
ac_devnet_upload_publish_firmware (AcDevnet *self, GError **error);

G_END_DECLS
