/*
 * The guest owner's AMD SEV launch, the one place where "verify the launch, then and only then
 * seal the secret" is written: the platform's chain verified → a session made (or the keys of a
 * stored one resumed) → the launch measurement verified → the secret sealed. Each step refuses
 * unless the one before it succeeded; a failed check refuses every later step. Implements
 * the generic AcTeeLaunch (ac-tee-launch.h).
 *
 * Errors, the same for every caller (docs/exit-codes.md): the chain %AC_ERROR_UNTRUSTED; the
 * reported policy not the launch's, the launch digest or measurement not the expected one, a
 * firmware version that is not 8-bit %AC_ERROR_MISMATCH; a firmware API below the minimum, a
 * step out of order or after a failed check %AC_ERROR_REFUSED.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

#include "ac-secret.h"
#include "ac-sev-chain.h"
#include "ac-sev-measure.h"
#include "ac-tee-launch.h"

G_BEGIN_DECLS

/* what the host reports about the launch: LAUNCH_MEASURE and the platform's status */
typedef struct {
	const guint8 *blob; /* MEASURE (32) ‖ MNONCE (16) */
	gsize blob_len;
	guint api_major; /* as reported: a value above 255 is not an SEV firmware version */
	guint api_minor;
	guint build_id;
	guint32 policy; /* the policy the platform reports for the launch */
} AcSevOwnerEvidence;

typedef struct _AcSevOwnerLaunch AcSevOwnerLaunch;

/* @policy: the guest policy the owner requires (the tag's) */
AcSevOwnerLaunch *
ac_sev_owner_launch_new (guint32 policy);
void
ac_sev_owner_launch_free (AcSevOwnerLaunch *self);
AcTeeLaunch *
ac_sev_owner_launch_get_tee (AcSevOwnerLaunch *self);
AcTeeLaunchState
ac_sev_owner_launch_get_state (AcSevOwnerLaunch *self);
guint32
ac_sev_owner_launch_get_policy (AcSevOwnerLaunch *self);

/* ---- the platform ---- */

gboolean
ac_sev_owner_launch_verify_chain (AcSevOwnerLaunch *self,
                                  AcSevChain *chain,
                                  AcSevRoots *roots,
                                  const gchar *generation,
                                  GError **error);
/* a PDH taken without a chain to verify it (`virt-aleph sev session --no-verify`): INSECURE,
 * the host can read what is sealed; never used by the flows */
gboolean
ac_sev_owner_launch_accept_unverified_pdh (AcSevOwnerLaunch *self, AcSevCert *pdh, GError **error);
/* the verified chain's verdict; %NULL before, or for an unverified PDH */
const AcSevChainVerdict *
ac_sev_owner_launch_get_verdict (AcSevOwnerLaunch *self);

/* ---- the session ---- */

/* a fresh session for the platform's PDH and the launch's policy */
gboolean
ac_sev_owner_launch_start_session (AcSevOwnerLaunch *self, GError **error);
/* what the host launches with, and the files `sevctl session` writes (the keys mode 0600), so
 * that a later run can resume */
gchar *
ac_sev_owner_launch_get_godh_b64 (AcSevOwnerLaunch *self);
gchar *
ac_sev_owner_launch_get_session_b64 (AcSevOwnerLaunch *self);
const guint8 *
ac_sev_owner_launch_get_session_nonce (AcSevOwnerLaunch *self);
gboolean
ac_sev_owner_launch_write_session (AcSevOwnerLaunch *self,
                                   const gchar *dir,
                                   const gchar *name,
                                   GError **error);
/* the keys of a session made earlier for this launch's policy (its chain verified then, or
 * again now): @tek may be %NULL to verify without sealing; each 16 bytes */
gboolean
ac_sev_owner_launch_resume_keys (AcSevOwnerLaunch *self,
                                 const AcSecret *tek,
                                 const AcSecret *tik,
                                 GError **error);
/* the same from the files ac_sev_owner_launch_write_session() wrote: DIR/NAME_tek.bin, _tik.bin */
gboolean
ac_sev_owner_launch_resume_session (AcSevOwnerLaunch *self,
                                    const gchar *dir,
                                    const gchar *name,
                                    GError **error);

/* ---- the measurement ---- */

/* @expected: the launch the owner expects (its policy is the launch's, whatever is set there);
 * firmware API below @min_api_major.@min_api_minor is refused */
gboolean
ac_sev_owner_launch_verify (AcSevOwnerLaunch *self,
                            const AcSevOwnerEvidence *evidence,
                            const AcSevLaunchInputs *expected,
                            guint8 min_api_major,
                            guint8 min_api_minor,
                            GError **error);
/* the expected launch digest (32 bytes) once computed by ac_sev_owner_launch_verify(), even
 * when the measurement then did not match; %NULL before */
const guint8 *
ac_sev_owner_launch_get_launch_digest (AcSevOwnerLaunch *self);

/* ---- the secret ---- */

/* @table: a secret table (ac-sev-secret.h); only a verified launch seals, with its TEK and TIK
 * bound to the verified measurement; @fixed_iv (nullable, 16 bytes) for reproducible tests */
gboolean
ac_sev_owner_launch_seal (AcSevOwnerLaunch *self,
                          GBytes *table,
                          GBytes *fixed_iv,
                          AcTeeSealedSecret **sealed,
                          GError **error);

/* the policy check every caller makes: %AC_ERROR_MISMATCH naming @whose policy differs */
gboolean
ac_sev_owner_policy_check (guint32 expected, guint32 actual, const gchar *whose, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (AcSevOwnerLaunch, ac_sev_owner_launch_free)

G_END_DECLS
