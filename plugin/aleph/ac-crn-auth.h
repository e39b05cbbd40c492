/*
 * aleph-confidential: authentication of CRN control endpoints (aleph-vm operator_auth):
 * an ephemeral P-256 key certified by the wallet (X-SignedPubKey, EIP-191) and one ES256
 * signature per request (X-SignedOperation, raw r||s, RFC 6979 deterministic). Both the client
 * side and the server-side check (for devnet/) live here. Pure: no I/O.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

#include "ac-eth-account.h"

G_BEGIN_DECLS

#define AC_CRN_AUTH_MAX_SKEW_SECONDS 120

typedef struct _AcCrnAuth AcCrnAuth;

/* @expires: when the ephemeral key stops being accepted; @p256_key: NULL = a fresh random
 * key, else a 32-byte private scalar (test vectors) */
AcCrnAuth *ac_crn_auth_new (AcEthAccount *account,
			    const gchar *domain,
			    GDateTime *expires,
			    const guint8 *p256_key,
			    GError **error);
void ac_crn_auth_free (AcCrnAuth *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AcCrnAuth, ac_crn_auth_free)

const gchar *ac_crn_auth_get_pubkey_payload (AcCrnAuth *self); /* JSON text that is signed */
const gchar *ac_crn_auth_get_pubkey_header (AcCrnAuth *self);  /* X-SignedPubKey value */
const gchar *ac_crn_auth_get_domain (AcCrnAuth *self);
gboolean ac_crn_auth_is_expired (AcCrnAuth *self, GDateTime *now, gint64 margin_seconds);
/* X-SignedOperation value for one request at @now */
gchar *ac_crn_auth_sign_operation (AcCrnAuth *self,
				   const gchar *method,
				   const gchar *path,
				   GDateTime *now,
				   GError **error);

gchar *ac_crn_domain_from_url (const gchar *url, GError **error);

/* ES256 helpers: raw r||s over SHA-256(msg) */
gboolean ac_es256_sign_deterministic (const guint8 priv[32],
				      const guint8 *msg,
				      gsize msg_len,
				      guint8 sig[64],
				      GError **error);
gboolean ac_es256_verify (const guint8 x[32],
			  const guint8 y[32],
			  const guint8 *msg,
			  gsize msg_len,
			  const guint8 sig[64]);

/* Server side (aleph-vm authentication.py order). On failure @http_status is 400 or 401 and
 * the error message is the server's "error" text. */
gboolean ac_crn_auth_verify_request (const gchar *pubkey_header,
				     const gchar *operation_header,
				     const gchar *domain,
				     const gchar *method,
				     const gchar *path,
				     GDateTime *now,
				     gchar **sender_out,
				     guint *http_status,
				     GError **error);

G_END_DECLS
