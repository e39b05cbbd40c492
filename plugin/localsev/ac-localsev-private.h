/*
 * Internals of the local SEV flow shared between its files (ac-localsev-*.c) and with its fuzz
 * targets: the record's file and JSON reader (ac-localsev-record.c), the chain built from what
 * a host reports (virNodeGetSEVInfo) and the firmware (ac-localsev-prepare.c), the
 * gatekeeper's comparison (ac-localsev-gate.c). Not for other users. The generic helpers
 * (hex, base64, time stamps) are lib/'s.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <json-glib/json-glib.h>

#include "ac-error.h"
#include "ac-codec.h"
#include "ac-localsev-domain.h"
#include "ac-time.h"
#include "ac-localsev.h"

G_BEGIN_DECLS

/* ---- ac-localsev-record.c ---- */

gboolean
ac_localsev_record_json_get_str (JsonObject *o,
                                 const gchar *what,
                                 const gchar *name,
                                 gboolean required,
                                 gchar **out,
                                 GError **error);
gboolean
ac_localsev_record_save (const gchar *dir, const AcLocalsevRecord *record, GError **error);
AcLocalsevRecord *
ac_localsev_record_load_from (const gchar *dir, const gchar *domain, GError **error);
/* the <launch> element for @r, signed with opts->sign */
gchar *
ac_localsev_record_launch_element (const AcLocalsevOptions *opts,
                                   const AcLocalsevRecord *r,
                                   GError **error);

/* ---- ac-localsev-prepare.c ---- */

AcSevChain *
ac_localsev_prepare_host_chain (const gchar *host_name,
                                const AcSevHostInfo *info,
                                const AcLocalsevOptions *opts,
                                gchar **pdh_sha256,
                                GCancellable *cancellable,
                                GError **error);
/* the firmware bytes and their SHA-256; the pinned hash must match */
GBytes *
ac_localsev_prepare_firmware_load (const gchar *path,
                                   const gchar *pinned_sha256,
                                   gchar **sha256_out,
                                   GError **error);

/* ---- ac-localsev-gate.c ---- */

/* the launch inputs of @dom against @r; the session state is not looked at */
gboolean
ac_localsev_gate_compare (const AcLocalsevRecord *r, AcDomain *dom, GError **error);

G_END_DECLS
