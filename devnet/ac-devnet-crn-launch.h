/*
 * aleph-confidential devnet: a CRN's confidential launch: initialize, measurement, inject_secret
 * and the VM operations (reboot, stop, erase), each answering its request.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "ac-devnet-state.h"

G_BEGIN_DECLS

void
ac_devnet_crn_launch_initialize (AcDevnetCrn *crn, SoupServerMessage *msg, const gchar *path);

void
ac_devnet_crn_launch_measurement (AcDevnetCrn *crn, SoupServerMessage *msg, const gchar *path);

void
ac_devnet_crn_launch_inject_secret (AcDevnetCrn *crn, SoupServerMessage *msg, const gchar *path);

void
ac_devnet_crn_launch_operate (AcDevnetCrn *crn, SoupServerMessage *msg, const gchar *path);

G_END_DECLS
