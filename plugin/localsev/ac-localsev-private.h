/*
 * Internals of the local SEV flow shared between its files (ac-localsev-*.c) and with its fuzz
 * targets: the small helpers (ac-localsev-util.c), the record's file and JSON reader
 * (ac-localsev-record.c), the chain built from what a host reports (virNodeGetSEVInfo) and the
 * firmware (ac-localsev-prepare.c), the gatekeeper's comparison (ac-localsev-gate.c). Not for
 * other users.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <json-glib/json-glib.h>

#include "ac-error.h"
#include "ac-localsev-domain.h"
#include "ac-localsev.h"

G_BEGIN_DECLS

/* ---- ac-localsev-util.c ---- */

gchar *
ac_localsev_util_now (void);
gchar *
ac_localsev_util_hex (const guint8 *p, gsize len);
gboolean
ac_localsev_util_is_hex (const gchar *s, gsize len);
guint8 *
ac_localsev_util_b64_decode (const gchar *text,
                             const gchar *what,
                             gsize min_len,
                             gsize max_len,
                             AcError code,
                             gsize *out_len,
                             GError **error);
gchar *
ac_localsev_util_sha256 (const guint8 *data, gsize len);

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
