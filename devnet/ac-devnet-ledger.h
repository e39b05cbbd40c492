/*
 * aleph-confidential devnet: the payment rules and the credit ledger (kept in memory, never spent):
 * balances, the credits an INSTANCE costs, the rules by date, price estimates and balance answers.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "ac-devnet-state.h"

G_BEGIN_DECLS

#define AC_DEVNET_CREDITS_PER_VCPU_HOUR 10

/* {"0x…": N, …}: each account's credit balance; all checked before any is set */
gboolean
ac_devnet_ledger_credits_apply (AcDevnet *self, JsonNode *node, GError **error);

/* the CCN's clock for the payment rules: now + knobs.clock_offset_s */
gdouble
ac_devnet_ledger_clock (AcDevnet *self);

gint64
ac_devnet_ledger_credits_get (AcDevnet *self, const gchar *address);

void
ac_devnet_ledger_credits_set (AcDevnet *self, const gchar *address, gint64 credits);

/* the credits one hour of an INSTANCE content costs */
gint64
ac_devnet_ledger_instance_hourly_cost (JsonObject *content);

/* The network's payment rules on the later of the message's date and the CCN's clock, and
 * for credit INSTANCEs one hour of credit. -1000 when paid as the rules want. */
gint64
ac_devnet_ledger_check_payment (AcDevnet *self,
                                const AcAlephMessage *msg,
                                JsonObject *co,
                                gchar **details);

/* {"message": {…}} → the credits one hour costs: INSTANCE by its vCPUs, STORE by its size */
void
ac_devnet_ledger_price_estimate (AcDevnet *self, SoupServerMessage *msg);

/* GET /api/v0/addresses/{address}/balance: no tokens here, the devnet's credit ledger */
void
ac_devnet_ledger_balance (AcDevnet *self, SoupServerMessage *msg, const gchar *path);

G_END_DECLS
