/*
 * The generic launch seam: the state checks every implementation shares, so that "verified,
 * then and only then sealed" is enforced here once and not by each caller's convention.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "ac-error.h"
#include "ac-tee-launch.h"

void
ac_tee_sealed_secret_free (AcTeeSealedSecret *self)
{
	if (self == NULL)
		return;
	g_clear_pointer (&self->header, g_bytes_unref);
	g_clear_pointer (&self->payload, g_bytes_unref);
	g_free (self);
}

void
ac_tee_launch_init (AcTeeLaunch *self, const AcTeeLaunchClass *klass)
{
	g_return_if_fail (klass != NULL && klass->seal != NULL && klass->finalize != NULL);
	self->klass = klass;
	self->state = AC_TEE_LAUNCH_STATE_NEW;
}

void
ac_tee_launch_free (AcTeeLaunch *self)
{
	if (self == NULL)
		return;
	self->klass->finalize (self);
}

AcTeeLaunchState
ac_tee_launch_get_state (const AcTeeLaunch *self)
{
	return self->state;
}

const gchar *
ac_tee_launch_state_to_string (AcTeeLaunchState state)
{
	switch (state) {
	case AC_TEE_LAUNCH_STATE_NEW:
		return "new";
	case AC_TEE_LAUNCH_STATE_PLATFORM_TRUSTED:
		return "platform-trusted";
	case AC_TEE_LAUNCH_STATE_KEYED:
		return "keyed";
	case AC_TEE_LAUNCH_STATE_VERIFIED:
		return "verified";
	case AC_TEE_LAUNCH_STATE_FAILED:
		return "failed";
	}
	return "unknown";
}

/**
 * ac_tee_launch_require:
 * @step: what the caller is about to do, for the message ("make a session", "seal a secret")
 *
 * %AC_ERROR_REFUSED unless the launch is in state @need: a launch that failed a check refuses
 * every further step, and no step can be skipped.
 */
gboolean
ac_tee_launch_require (AcTeeLaunch *self, AcTeeLaunchState need, const gchar *step, GError **error)
{
	if (self->state == need)
		return TRUE;
	if (self->state == AC_TEE_LAUNCH_STATE_FAILED)
		g_set_error (error, AC_ERROR, AC_ERROR_REFUSED,
		             "%s launch: refusing to %s: a check of this launch failed",
		             self->klass->name, step);
	else
		g_set_error (error, AC_ERROR, AC_ERROR_REFUSED,
		             "%s launch: refusing to %s: the launch is %s, it must be %s first",
		             self->klass->name, step, ac_tee_launch_state_to_string (self->state),
		             ac_tee_launch_state_to_string (need));
	return FALSE;
}

void
ac_tee_launch_advance (AcTeeLaunch *self, AcTeeLaunchState state)
{
	g_return_if_fail (self->state != AC_TEE_LAUNCH_STATE_FAILED);
	self->state = state;
}

void
ac_tee_launch_fail (AcTeeLaunch *self)
{
	self->state = AC_TEE_LAUNCH_STATE_FAILED;
}

/**
 * ac_tee_launch_seal:
 * @secret: the secret table to send to the guest
 * @sealed: (out): the header and encrypted payload to hand to the host
 *
 * Only a verified launch seals; anything else is %AC_ERROR_REFUSED.
 */
gboolean
ac_tee_launch_seal (AcTeeLaunch *self,
                    GBytes *secret,
                    GBytes *fixed_iv,
                    AcTeeSealedSecret **sealed,
                    GError **error)
{
	g_return_val_if_fail (self != NULL && secret != NULL && sealed != NULL, FALSE);
	if (!ac_tee_launch_require (self, AC_TEE_LAUNCH_STATE_VERIFIED, "seal a secret", error))
		return FALSE;
	return self->klass->seal (self, secret, fixed_iv, sealed, error);
}
