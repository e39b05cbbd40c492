/*
 * aleph-confidential devnet: a message's life on the CCN: accepted (pending), processed after
 * processing_delay_ms (processed or rejected), the sync waiters answered then.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "ac-devnet-state.h"

G_BEGIN_DECLS

guint
ac_devnet_process_status_to_http (const gchar *status);

void
ac_devnet_process_one (AcDevnet *self, const gchar *item_hash);

void
ac_devnet_process_due (AcDevnet *self);

void
ac_devnet_process_schedule (AcDevnet *self);

void
ac_devnet_process_cancel_waiters (AcDevnet *self);

/* Accepts a message: FALSE with the 422 text when its envelope is malformed. @status_out gets
 * the status after (possibly immediate) processing. */
gboolean
ac_devnet_process_accept (AcDevnet *self, AcAlephMessage *m, gchar **status_out, GError **error);

/* answers with the broadcast result; FALSE when it paused @msg to wait (sync) */
gboolean
ac_devnet_process_reply_posted (AcDevnet *self,
                                SoupServerMessage *msg,
                                const gchar *item_hash,
                                const gchar *status,
                                gboolean sync,
                                JsonNode *extra);

G_END_DECLS
