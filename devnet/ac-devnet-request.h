/*
 * aleph-confidential devnet: the CRN's parsers of request bodies (hostile: any client can call
 * notify; signed requests still come from wallets we do not trust) — notify JSON,
 * confidential/initialize multipart, inject_secret JSON, bounded base64. Fuzzed by
 * tests/fuzz/fuzz-devnet-request.c.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>
#include <libsoup/soup.h>

G_BEGIN_DECLS

#define AC_DEVNET_B64_MAX (16 * 1024)
#define AC_DEVNET_SECRET_MAX 4096
#define AC_DEVNET_INITIALIZE_MAX (64 * 1024)

/* strict, padded base64 of at most AC_DEVNET_B64_MAX characters; @expect 0 = any length */
gboolean
ac_devnet_request_b64_decode (const gchar *what,
                              const gchar *text,
                              gsize text_len,
                              gsize expect,
                              GBytes **out,
                              GError **error);

/* {"instance": "<64 hex>"} */
gchar *
ac_devnet_request_parse_notify (const gchar *data, gsize len, GError **error);

/* multipart/form-data with file parts "session" (128 bytes in base64) and "godh" (2084);
 * @code gets aleph-vm's error code ("field_missing", "invalid_session") on failure */
gboolean
ac_devnet_request_parse_initialize (const gchar *content_type,
                                    GBytes *body,
                                    GBytes **session,
                                    GBytes **godh,
                                    const gchar **code,
                                    GError **error);

/* {"packet_header": b64, "secret": b64}: @json_ok tells whether the body was well-formed JSON
 * with both strings (the point where a secret has left its owner) */
gboolean
ac_devnet_request_parse_inject (const gchar *data,
                                gsize len,
                                gboolean *json_ok,
                                GBytes **header,
                                GBytes **secret,
                                GError **error);

/* the request body; an upload spooled to a file is mapped, not copied */
GBytes *
ac_devnet_request_body (SoupServerMessage *msg);

G_END_DECLS
