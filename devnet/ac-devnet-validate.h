/*
 * aleph-confidential devnet: the checks of a message: the envelope (item_hash, signature) and the
 * content (schemas, permissions, volumes, FORGET rules, payment).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "ac-devnet-state.h"

G_BEGIN_DECLS

/* returns the error code, or -1000 when the message is valid; @details gets the reason */
gint64
ac_devnet_validate_message (AcDevnet *self, const AcAlephMessage *msg, gchar **details);

gboolean
ac_devnet_validate_format (const AcAlephMessage *m, GError **error);

G_END_DECLS
