/*
 * The LAUNCH_SECRET packet builder that takes raw keys: private to sev/. Outside sev/ a secret
 * is sealed only through a verified launch (ac_sev_owner_launch_seal(), ac-sev-owner.h); the
 * sev/ tests use this to check the packet format against upstream vectors.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

#include "ac-sev-secret.h"

G_BEGIN_DECLS

gboolean
ac_sev_secret_packet_build (const guint8 tek[16],
                            const guint8 tik[16],
                            const guint8 measure[32],
                            guint8 api_major,
                            guint8 api_minor,
                            const guint8 *iv,
                            GBytes *table,
                            guint8 header[AC_SEV_SECRET_HEADER_SIZE],
                            GBytes **payload,
                            GError **error);

G_END_DECLS
