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

/* publishes @bytes with a STORE message (metadata.name @name) signed by the devnet's account,
 * once per content and state directory (@marker_name, a file in the state directory, remembers
 * the STORE of the last content); the file's SHA-256, its path in the store and the STORE's
 * item hash */
gboolean
ac_devnet_upload_publish_store (AcDevnet *self,
                                GBytes *bytes,
                                const gchar *name,
                                const gchar *marker_name,
                                gchar **sha256_out,
                                gchar **path_out,
                                gchar **item_hash_out,
                                GError **error);

gboolean
ac_devnet_upload_publish_firmware (AcDevnet *self, GError **error);

G_END_DECLS
