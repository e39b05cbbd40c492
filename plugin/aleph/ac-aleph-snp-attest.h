/*
 * The owner's side of Aleph's attested TLS to an SEV-SNP guest's agent (HTTPS, port 8443 in the
 * guest), strictly in this order, each step only after the previous one succeeded:
 *
 *   1. TLS to the agent; inside the handshake's certificate check (OpenSSL's verify callback,
 *      before the client sends its Finished, so before any application byte),
 *      ac_snp_owner_launch_verify_platform() on the server certificate: the report it carries
 *      verified completely (chain to a trusted ARK, signature, TCB floor, policy, measurement,
 *      binding to the certificate's key). The self-signed certificate replaces PKI validation.
 *   2. GET /.well-known/attestation?nonce=<the launch's nonce> on that connection; the fresh
 *      report bound to that connection's key and the nonce (ac_snp_owner_launch_bind), then
 *      verified completely (ac_snp_owner_launch_verify).
 *   3. A new connection whose certificate must carry the attested key
 *      (ac_snp_owner_launch_check_channel, in the handshake again); only then POST
 *      /confidential/inject-secret with the sealed body (ac_snp_owner_launch_seal), and the
 *      agent's answer checked: it injected exactly the secrets sent.
 *
 * No session resumption, no renegotiation, no redirects, no proxies. The agent's answers are
 * parsed strictly (HTTP/1.x, Content-Length or read to close, bounded headers and bodies);
 * anything else is refused with AC_ERROR_REMOTE. Each connection has a deadline.
 * docs/snp.md#the-owners-client-over-tls.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

#include "ac-snp-owner.h"

G_BEGIN_DECLS

/* the agent's port inside the guest (the CRN maps it to a host port) */
#define AC_ALEPH_SNP_AGENT_PORT 8443
/* each connection (connect, handshake with its verification, request, answer) by default */
#define AC_ALEPH_SNP_ATTEST_TIMEOUT_MS 30000
/* the most the client reads of an answer's header section, of a fresh report's answer, of an
 * injection's answer */
#define AC_ALEPH_SNP_ATTEST_HEADERS_MAX 16384
#define AC_ALEPH_SNP_ATTEST_REPORT_BODY_MAX 16384
#define AC_ALEPH_SNP_ATTEST_INJECT_BODY_MAX 65536

/*
 * Steps 1 and 2 with the agent at @host:@port: @launch (state NEW) ends VERIFIED, or FAILED
 * when a check failed (its error: AC_ERROR_UNTRUSTED, AC_ERROR_MISMATCH, AC_ERROR_REFUSED…).
 * AC_ERROR_NETWORK for a connection, TLS or timeout failure (@timeout_ms per connection, 0 for
 * the default), AC_ERROR_REMOTE for an agent answer that is an error or malformed,
 * AC_ERROR_CANCELLED when @cancellable fires.
 */
gboolean
ac_aleph_snp_attest (const gchar *host,
                     guint16 port,
                     AcSnpOwnerLaunch *launch,
                     guint timeout_ms,
                     GCancellable *cancellable,
                     GError **error);

/*
 * Step 3, with @launch VERIFIED (AC_ERROR_REFUSED otherwise, nothing sent): @secrets as for
 * ac_snp_owner_launch_seal() ({"luks_passphrase":"…"}). Returns the names the agent injected
 * (exactly those of @secrets, else AC_ERROR_MISMATCH). A 403 from the agent (its key changed:
 * a reboot) or any other error answer is AC_ERROR_REMOTE with the agent's message.
 */
gchar **
ac_aleph_snp_attest_inject (const gchar *host,
                            guint16 port,
                            AcSnpOwnerLaunch *launch,
                            GBytes *secrets,
                            guint timeout_ms,
                            GCancellable *cancellable,
                            GError **error);

/* the three steps: ac_aleph_snp_attest() then ac_aleph_snp_attest_inject() */
gchar **
ac_aleph_snp_attest_unlock (const gchar *host,
                            guint16 port,
                            AcSnpOwnerLaunch *launch,
                            GBytes *secrets,
                            guint timeout_ms,
                            GCancellable *cancellable,
                            GError **error);

G_END_DECLS
