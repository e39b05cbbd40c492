/*
 * The Ethereum half of Aleph's owner-authenticated secret injection into an SEV-SNP guest
 * (sev/ac-snp-inject.h has the rest): the owner's EIP-191 signature over the text that binds the
 * secrets to the agent's TLS key, the complete request body, and the agent's check of a body
 * (for the devnet's software agent).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

#include "ac-eth-account.h"
#include "ac-snp-inject.h"

G_BEGIN_DECLS

/* an AcSnpInjectSignFunc: EIP-191 personal_sign of @payload with the AcEthAccount @account
 * (RFC 6979, low s, v 27 or 28) */
gboolean
ac_aleph_snp_inject_sign (const gchar *payload,
                          gsize len,
                          guint8 signature[AC_SNP_INJECT_SIGNATURE_LEN],
                          gpointer account,
                          GError **error);

/* the request body for @secrets, signed by @account for the agent key @pk_raw */
GBytes *
ac_aleph_snp_inject_body (AcEthAccount *account,
                          const guint8 *pk_raw,
                          gsize pk_len,
                          AcSnpSecrets *secrets,
                          GError **error);

/*
 * The agent's check of a request body: parsed strictly (ac_snp_inject_body_parse()), the text
 * rebuilt with the agent's own key @pk_raw and the received secrets, the signer's address
 * recovered and compared with @owner_address case-insensitively. AC_ERROR_INVALID_INPUT for a
 * malformed body (the agent's 400), AC_ERROR_REFUSED for a signature of anyone else or over
 * anything else (the agent's 403). @secrets receives the secrets on success.
 */
gboolean
ac_aleph_snp_inject_check (const gchar *body,
                           gsize len,
                           const guint8 *pk_raw,
                           gsize pk_len,
                           const gchar *owner_address,
                           AcSnpSecrets **secrets,
                           GError **error);

G_END_DECLS
