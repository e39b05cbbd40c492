/*
 * The guest owner's SEV-SNP launch on Aleph (an AcTeeLaunch, like ac-sev-owner.h for SEV): the
 * guest's agent serves attested TLS (ac-snp-ratls.h), the owner verifies it, asks a fresh report
 * for its own nonce on that channel, and only then seals the owner-authenticated injection of
 * its secrets (ac-snp-inject.h) for that channel's key. Every report is verified by
 * ac_snp_verify_report() — this file adds the bindings and the order, not a second verifier.
 *
 *   NEW → PLATFORM_TRUSTED   ac_snp_owner_launch_verify_platform (the TLS server certificate):
 *                            its report verified completely — the VCEK chain to a trusted ARK
 *                            for the report's chip, signature, policy (equal to the expected
 *                            one), measurement (one of the expected), REPORT_DATA = the key
 *                            binding of the certificate's own key. Nothing but the nonce
 *                            request may be sent before this step succeeded.
 *       → KEYED              ac_snp_owner_launch_bind (the fresh report for our nonce, and the
 *                            key of the connection it came on): that key is the attested one
 *                            and the report's REPORT_DATA is the fresh binding of that key and
 *                            this launch's nonce (a relay or a stale report stops here)
 *       → VERIFIED           ac_snp_owner_launch_verify: the fresh report verified completely
 *                            with that REPORT_DATA, from the same chip and the same guest
 *                            (CHIP_ID, REPORT_ID, MEASUREMENT) as the certificate's
 *   seal (ac_tee_launch_seal / ac_snp_owner_launch_seal): the request body of the injection,
 *   signed by the owner's signer for the attested key.
 *
 * A failed check makes the launch FAILED for good (every later step AC_ERROR_REFUSED); a step
 * out of order is AC_ERROR_REFUSED.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

#include "ac-snp-inject.h"
#include "ac-snp-ratls.h"
#include "ac-snp-verify.h"
#include "ac-tee-launch.h"

G_BEGIN_DECLS

typedef struct _AcSnpOwnerLaunch AcSnpOwnerLaunch;

/*
 * A launch that trusts @roots and finds certificates through @certs (copied; its KDS is
 * borrowed and must outlive the launch), and expects what @expect says: its policy must pin the
 * guest policy (have_expected_policy) and it must list 1 or more measurements; its report_data
 * must be NULL (the launch computes it). @sign (with @sign_data, borrowed) signs the
 * injection. NULL with AC_ERROR_INVALID_INPUT otherwise.
 */
AcSnpOwnerLaunch *
ac_snp_owner_launch_new (AcSnpRoots *roots,
                         const AcSnpCertSource *certs,
                         const AcSnpVerifyExpect *expect,
                         AcSnpInjectSignFunc sign,
                         gpointer sign_data,
                         GError **error);
void
ac_snp_owner_launch_free (AcSnpOwnerLaunch *self);
AcTeeLaunch *
ac_snp_owner_launch_get_tee (AcSnpOwnerLaunch *self);
AcTeeLaunchState
ac_snp_owner_launch_get_state (AcSnpOwnerLaunch *self);

/* NEW → PLATFORM_TRUSTED, from the DER certificate the agent's TLS server presented */
gboolean
ac_snp_owner_launch_verify_platform (AcSnpOwnerLaunch *self,
                                     const guint8 *cert_der,
                                     gsize len,
                                     GCancellable *cancellable,
                                     GError **error);

/* the attested TLS key (97 bytes) and this launch's nonce (AC_SNP_RATLS_NONCE_SIZE random
 * bytes, drawn when the launch is made) and its hex for "?nonce=" */
const guint8 *
ac_snp_owner_launch_get_pk_raw (AcSnpOwnerLaunch *self);
const guint8 *
ac_snp_owner_launch_get_nonce (AcSnpOwnerLaunch *self);
gchar *
ac_snp_owner_launch_get_nonce_hex (AcSnpOwnerLaunch *self);

/* PLATFORM_TRUSTED → KEYED: @report (the fresh report's bytes) arrived on a connection whose
 * server key is @channel_pk_raw; AC_ERROR_MISMATCH for another key or another binding */
gboolean
ac_snp_owner_launch_bind (AcSnpOwnerLaunch *self,
                          const guint8 *channel_pk_raw,
                          gsize pk_len,
                          const guint8 *report,
                          gsize len,
                          GError **error);

/* KEYED → VERIFIED */
gboolean
ac_snp_owner_launch_verify (AcSnpOwnerLaunch *self, GCancellable *cancellable, GError **error);

/* what the last verification found (the fresh report once VERIFIED); NULL before */
const AcSnpVerifyResult *
ac_snp_owner_launch_get_result (AcSnpOwnerLaunch *self);

/* for a later connection (the fresh report's or the injection's), once PLATFORM_TRUSTED:
 * AC_ERROR_MISMATCH unless its server certificate (DER) parses and carries the attested key;
 * the launch state does not change */
gboolean
ac_snp_owner_launch_check_channel (AcSnpOwnerLaunch *self,
                                   const guint8 *cert_der,
                                   gsize len,
                                   GError **error);

/*
 * Seals @secrets (a JSON object of strings: 1 to 16, the agent's rules, e.g.
 * {"luks_passphrase": "…"}) for the attested key: @sealed's header is the text signed
 * (AC_SNP_INJECT_PAYLOAD_LEN bytes), its payload the request body for POST
 * /confidential/inject-secret (wiped when freed). AC_ERROR_REFUSED unless VERIFIED.
 */
gboolean
ac_snp_owner_launch_seal (AcSnpOwnerLaunch *self,
                          GBytes *secrets,
                          AcTeeSealedSecret **sealed,
                          GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (AcSnpOwnerLaunch, ac_snp_owner_launch_free)

G_END_DECLS
