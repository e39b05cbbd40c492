/*
 * aleph-confidential devnet: the clock and the time stamps of the CCN's answers.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

gdouble
ac_devnet_time_now (void);

gchar *
ac_devnet_time_iso8601 (gdouble t);

G_END_DECLS
