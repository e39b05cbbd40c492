/*
 * The guest owner's side of a confidential launch, independent of the TEE generation: a launch
 * object moves through its states (the platform trusted, a channel keyed to this launch, the
 * launch's evidence verified) and only a verified launch seals a secret for the guest. AMD SEV
 * implements it in ac-sev-owner.h; a second generation (SEV-SNP: report verified, key bound,
 * secret sent over the attested channel) is a second implementation of AcTeeLaunchClass, not a
 * new copy of the sequence.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
	AC_TEE_LAUNCH_STATE_NEW,              /* nothing about the platform is trusted yet */
	AC_TEE_LAUNCH_STATE_PLATFORM_TRUSTED, /* the platform's identity verified to a root */
	AC_TEE_LAUNCH_STATE_KEYED,            /* the owner's channel keys for this launch exist */
	AC_TEE_LAUNCH_STATE_VERIFIED,         /* the launch's evidence verified: sealing allowed */
	AC_TEE_LAUNCH_STATE_FAILED,           /* a check failed: the launch refuses everything */
} AcTeeLaunchState;

/* what a seal produces: the header the platform checks and the encrypted secret */
typedef struct {
	GBytes *header;
	GBytes *payload;
} AcTeeSealedSecret;

void
ac_tee_sealed_secret_free (AcTeeSealedSecret *self);

typedef struct _AcTeeLaunch AcTeeLaunch;

/* an implementation: @seal is only ever called in AC_TEE_LAUNCH_STATE_VERIFIED */
typedef struct {
	const gchar *name; /* the TEE generation, for messages: "SEV", "SEV-SNP" */
	gboolean (*seal) (AcTeeLaunch *self,
	                  GBytes *secret,
	                  GBytes *fixed_iv,
	                  AcTeeSealedSecret **sealed,
	                  GError **error);
	void (*finalize) (AcTeeLaunch *self);
} AcTeeLaunchClass;

/* embedded first in an implementation's struct; implementations only touch it through the
 * functions below */
struct _AcTeeLaunch {
	const AcTeeLaunchClass *klass;
	AcTeeLaunchState state;
};

void
ac_tee_launch_init (AcTeeLaunch *self, const AcTeeLaunchClass *klass);
void
ac_tee_launch_free (AcTeeLaunch *self);
AcTeeLaunchState
ac_tee_launch_get_state (const AcTeeLaunch *self);
const gchar *
ac_tee_launch_state_to_string (AcTeeLaunchState state);

/* for implementations: a step that needs state @need (and refuses in any other); then the
 * step's outcome: ac_tee_launch_advance on success, ac_tee_launch_fail on a failed check */
gboolean
ac_tee_launch_require (AcTeeLaunch *self, AcTeeLaunchState need, const gchar *step, GError **error);
void
ac_tee_launch_advance (AcTeeLaunch *self, AcTeeLaunchState state);
void
ac_tee_launch_fail (AcTeeLaunch *self);

/* seals @secret for the launch: AC_ERROR_REFUSED unless the launch is verified; @fixed_iv
 * (nullable) makes the output reproducible (tests only) */
gboolean
ac_tee_launch_seal (AcTeeLaunch *self,
                    GBytes *secret,
                    GBytes *fixed_iv,
                    AcTeeSealedSecret **sealed,
                    GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (AcTeeSealedSecret, ac_tee_sealed_secret_free)

G_END_DECLS
