/*
 * The guest owner's AMD SEV launch: chain → session → measurement → secret, each step allowed
 * only after the one before (ac-tee-launch.c enforces the states).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <openssl/crypto.h>
#include <string.h>

#include "ac-error.h"
#include "ac-secret.h"
#include "ac-sev-owner.h"
#include "ac-sev-policy.h"
#include "ac-sev-secret-private.h"
#include "ac-sev-session.h"

struct _AcSevOwnerLaunch {
	AcTeeLaunch parent; /* first: the generic launch */
	guint32 policy;
	AcSevCert *pdh;             /* the platform's, once trusted */
	AcSevChainVerdict *verdict; /* NULL for an unverified PDH */
	AcSevSession *session;      /* a fresh session; NULL when resumed from stored keys */
	AcSecret *tek;              /* NULL when resumed to verify only */
	AcSecret *tik;
	guint8 measure[AC_SEV_MEASURE_BLOB_SIZE]; /* the verified LAUNCH_MEASURE */
	guint8 api_major;
	guint8 api_minor;
	guint8 ld[32];
	gboolean has_ld;
};

static gboolean
ac_sev_owner_launch_seal_impl (AcTeeLaunch *launch,
                               GBytes *table,
                               GBytes *fixed_iv,
                               AcTeeSealedSecret **sealed,
                               GError **error);
static void
ac_sev_owner_launch_finalize (AcTeeLaunch *launch);

static const AcTeeLaunchClass ac_sev_owner_launch_class = {
	.name = "SEV",
	.seal = ac_sev_owner_launch_seal_impl,
	.finalize = ac_sev_owner_launch_finalize,
};

AcSevOwnerLaunch *
ac_sev_owner_launch_new (guint32 policy)
{
	AcSevOwnerLaunch *self = g_new0 (AcSevOwnerLaunch, 1);
	ac_tee_launch_init (&self->parent, &ac_sev_owner_launch_class);
	self->policy = policy;
	return self;
}

static void
ac_sev_owner_launch_finalize (AcTeeLaunch *launch)
{
	AcSevOwnerLaunch *self = (AcSevOwnerLaunch *)launch;
	g_clear_pointer (&self->pdh, ac_sev_cert_unref);
	g_clear_pointer (&self->verdict, ac_sev_chain_verdict_free);
	g_clear_pointer (&self->session, ac_sev_session_free);
	g_clear_pointer (&self->tek, ac_secret_free);
	g_clear_pointer (&self->tik, ac_secret_free);
	ac_secret_wipe_free (self, sizeof (*self));
}

void
ac_sev_owner_launch_free (AcSevOwnerLaunch *self)
{
	if (self != NULL)
		ac_tee_launch_free (&self->parent);
}

AcTeeLaunch *
ac_sev_owner_launch_get_tee (AcSevOwnerLaunch *self)
{
	return &self->parent;
}

AcTeeLaunchState
ac_sev_owner_launch_get_state (AcSevOwnerLaunch *self)
{
	return ac_tee_launch_get_state (&self->parent);
}

guint32
ac_sev_owner_launch_get_policy (AcSevOwnerLaunch *self)
{
	return self->policy;
}

/**
 * ac_sev_owner_policy_check:
 * @whose: what reported or holds @actual ("the platform reports", "the session was made for")
 *
 * A policy that is not the launch's is %AC_ERROR_MISMATCH for every caller: the evidence (or
 * the session it is checked with) is not what the owner asked for.
 */
gboolean
ac_sev_owner_policy_check (guint32 expected, guint32 actual, const gchar *whose, GError **error)
{
	g_autofree gchar *want = NULL;
	g_autofree gchar *have = NULL;

	if (expected == actual)
		return TRUE;
	want = ac_sev_policy_to_names (expected);
	have = ac_sev_policy_to_names (actual);
	g_set_error (error, AC_ERROR, AC_ERROR_MISMATCH,
	             "policy: %s SEV policy 0x%x (%s), but the launch requires 0x%x (%s)", whose,
	             actual, have, expected, want);
	return FALSE;
}

/* ------------------------------------------------------------------------------------------ */
/* the platform                                                                               */

/**
 * ac_sev_owner_launch_verify_chain:
 * @generation: (nullable): the expected generation, or %NULL for any trusted root
 *
 * Verifies the platform's certificate chain up to @roots (%AC_ERROR_UNTRUSTED when it does
 * not lead there); its PDH is then the one sessions are made for.
 */
gboolean
ac_sev_owner_launch_verify_chain (AcSevOwnerLaunch *self,
                                  AcSevChain *chain,
                                  AcSevRoots *roots,
                                  const gchar *generation,
                                  GError **error)
{
	g_autoptr (AcSevChainVerdict) verdict = NULL;

	if (!ac_tee_launch_require (&self->parent, AC_TEE_LAUNCH_STATE_NEW,
	                            "verify the platform's chain", error))
		return FALSE;
	if (!ac_sev_chain_verify (chain, roots, generation, &verdict, error)) {
		ac_tee_launch_fail (&self->parent);
		return FALSE;
	}
	self->verdict = g_steal_pointer (&verdict);
	self->pdh = ac_sev_cert_ref (ac_sev_chain_get_pdh (chain));
	ac_tee_launch_advance (&self->parent, AC_TEE_LAUNCH_STATE_PLATFORM_TRUSTED);
	return TRUE;
}

gboolean
ac_sev_owner_launch_accept_unverified_pdh (AcSevOwnerLaunch *self, AcSevCert *pdh, GError **error)
{
	if (!ac_tee_launch_require (&self->parent, AC_TEE_LAUNCH_STATE_NEW, "accept a platform key",
	                            error))
		return FALSE;
	if (!ac_sev_cert_require_usage (pdh, AC_SEV_USAGE_PDH, "the platform certificate", error)) {
		ac_tee_launch_fail (&self->parent);
		return FALSE;
	}
	self->pdh = ac_sev_cert_ref (pdh);
	ac_tee_launch_advance (&self->parent, AC_TEE_LAUNCH_STATE_PLATFORM_TRUSTED);
	return TRUE;
}

const AcSevChainVerdict *
ac_sev_owner_launch_get_verdict (AcSevOwnerLaunch *self)
{
	return self->verdict;
}

/* ------------------------------------------------------------------------------------------ */
/* the session                                                                                */

static AcSecret *
ac_sev_owner_key_copy (const guint8 *key)
{
	return ac_secret_new ((const gchar *)key, AC_SEV_KEY_SIZE);
}

gboolean
ac_sev_owner_launch_start_session (AcSevOwnerLaunch *self, GError **error)
{
	g_autoptr (AcSevSession) session = NULL;

	if (!ac_tee_launch_require (&self->parent, AC_TEE_LAUNCH_STATE_PLATFORM_TRUSTED,
	                            "make a session", error))
		return FALSE;
	session = ac_sev_session_new (self->pdh, self->policy, error);
	if (session == NULL) {
		ac_tee_launch_fail (&self->parent);
		return FALSE;
	}
	self->tek = ac_sev_owner_key_copy (ac_sev_session_get_tek (session));
	self->tik = ac_sev_owner_key_copy (ac_sev_session_get_tik (session));
	self->session = g_steal_pointer (&session);
	ac_tee_launch_advance (&self->parent, AC_TEE_LAUNCH_STATE_KEYED);
	return TRUE;
}

static gboolean
ac_sev_owner_launch_require_session (AcSevOwnerLaunch *self, GError **error)
{
	if (self->session != NULL)
		return TRUE;
	g_set_error_literal (error, AC_ERROR, AC_ERROR_INTERNAL,
	                     "SEV launch: no fresh session to persist (make one first)");
	return FALSE;
}

gchar *
ac_sev_owner_launch_get_godh_b64 (AcSevOwnerLaunch *self)
{
	return self->session != NULL ? ac_sev_session_get_godh_b64 (self->session) : NULL;
}

gchar *
ac_sev_owner_launch_get_session_b64 (AcSevOwnerLaunch *self)
{
	return self->session != NULL ? ac_sev_session_get_blob_b64 (self->session) : NULL;
}

const guint8 *
ac_sev_owner_launch_get_session_nonce (AcSevOwnerLaunch *self)
{
	return self->session != NULL ? ac_sev_session_get_nonce (self->session) : NULL;
}

/**
 * ac_sev_owner_launch_write_session:
 *
 * Persists the fresh session as `sevctl session --name NAME` does (ac_sev_session_write_files()):
 * the only way its keys leave the launch, so that a later run can resume it.
 */
gboolean
ac_sev_owner_launch_write_session (AcSevOwnerLaunch *self,
                                   const gchar *dir,
                                   const gchar *name,
                                   GError **error)
{
	if (!ac_sev_owner_launch_require_session (self, error))
		return FALSE;
	return ac_sev_session_write_files (self->session, dir, name, error);
}

/**
 * ac_sev_owner_launch_resume_keys:
 *
 * Resumes a session made earlier (by ac_sev_owner_launch_start_session() for a verified chain
 * and this policy, then persisted): the launch still has to be verified with its TIK before
 * anything is sealed. Allowed before or after the chain is verified again.
 */
gboolean
ac_sev_owner_launch_resume_keys (AcSevOwnerLaunch *self,
                                 const AcSecret *tek,
                                 const AcSecret *tik,
                                 GError **error)
{
	AcTeeLaunchState state = ac_tee_launch_get_state (&self->parent);

	if (state != AC_TEE_LAUNCH_STATE_PLATFORM_TRUSTED
	    && !ac_tee_launch_require (&self->parent, AC_TEE_LAUNCH_STATE_NEW, "resume a session",
	                               error))
		return FALSE;
	if (tik == NULL || tik->len != AC_SEV_KEY_SIZE
	    || (tek != NULL && tek->len != AC_SEV_KEY_SIZE)) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "SEV launch: session keys of %" G_GSIZE_FORMAT
		             " (TIK) and %" G_GSIZE_FORMAT " (TEK) bytes, expected 16 each",
		             tik != NULL ? tik->len : 0, tek != NULL ? tek->len : 0);
		ac_tee_launch_fail (&self->parent);
		return FALSE;
	}
	self->tik = ac_secret_dup (tik);
	self->tek = tek != NULL ? ac_secret_dup (tek) : NULL;
	ac_tee_launch_advance (&self->parent, AC_TEE_LAUNCH_STATE_KEYED);
	return TRUE;
}

static AcSecret *
ac_sev_owner_key_file_read (const gchar *dir, const gchar *name, const gchar *key, GError **error)
{
	g_autofree gchar *base = g_strdup_printf ("%s_%s.bin", name, key);
	g_autofree gchar *path = g_build_filename (dir, base, NULL);
	static const gchar zero[AC_SEV_KEY_SIZE] = { 0 };
	/* read straight into locked memory */
	g_autoptr (AcSecret) secret = ac_secret_new (zero, sizeof (zero));

	if (!ac_sev_key_file_read (path, (guint8 *)secret->data, AC_SEV_KEY_SIZE, key, error))
		return NULL;
	return g_steal_pointer (&secret);
}

gboolean
ac_sev_owner_launch_resume_session (AcSevOwnerLaunch *self,
                                    const gchar *dir,
                                    const gchar *name,
                                    GError **error)
{
	g_autoptr (AcSecret) tek = NULL;
	g_autoptr (AcSecret) tik = NULL;

	tik = ac_sev_owner_key_file_read (dir, name, "tik", error);
	if (tik == NULL)
		return FALSE;
	tek = ac_sev_owner_key_file_read (dir, name, "tek", error);
	if (tek == NULL)
		return FALSE;
	return ac_sev_owner_launch_resume_keys (self, tek, tik, error);
}

/* ------------------------------------------------------------------------------------------ */
/* the measurement                                                                            */

static gboolean
ac_sev_owner_launch_check (AcSevOwnerLaunch *self,
                           const AcSevOwnerEvidence *ev,
                           const AcSevLaunchInputs *expected,
                           guint8 min_api_major,
                           guint8 min_api_minor,
                           GError **error)
{
	AcSevLaunchInputs in = *expected;

	if (!ac_sev_owner_policy_check (self->policy, ev->policy, "the platform reports", error))
		return FALSE;
	if (ev->api_major > 255 || ev->api_minor > 255 || ev->build_id > 255) {
		g_set_error (
		    error, AC_ERROR, AC_ERROR_MISMATCH,
		    "API version: the platform reports firmware %u.%u build %u, which is not "
		    "an SEV firmware version (8-bit fields)",
		    ev->api_major, ev->api_minor, ev->build_id);
		return FALSE;
	}
	if (ev->api_major < min_api_major
	    || (ev->api_major == min_api_major && ev->api_minor < min_api_minor)) {
		g_set_error (error, AC_ERROR, AC_ERROR_REFUSED,
		             "API version: the platform's SEV firmware API %u.%u is older than the "
		             "required minimum %u.%u",
		             ev->api_major, ev->api_minor, min_api_major, min_api_minor);
		return FALSE;
	}
	in.policy = self->policy;
	if (!ac_sev_launch_digest (&in, self->ld, error))
		return FALSE;
	self->has_ld = TRUE;
	return ac_sev_measurement_verify (ev->blob, ev->blob_len, (const guint8 *)self->tik->data,
	                                  (guint8)ev->api_major, (guint8)ev->api_minor,
	                                  (guint8)ev->build_id, self->policy, self->ld, error);
}

/**
 * ac_sev_owner_launch_verify:
 * @evidence: what the host reports
 * @expected: the firmware (and kernel hashes, VMSAs) the owner expects
 *
 * Checks, in this order, the reported policy (%AC_ERROR_MISMATCH), the firmware version
 * (%AC_ERROR_MISMATCH when not 8-bit, %AC_ERROR_REFUSED below the minimum), then recomputes
 * the launch digest and the measurement with the session's TIK (%AC_ERROR_MISMATCH, constant
 * time). Only then can the launch seal; a failure ends the launch. A verified launch can verify
 * a new measurement of the same session (a relaunch): sealing then binds to the new one.
 */
gboolean
ac_sev_owner_launch_verify (AcSevOwnerLaunch *self,
                            const AcSevOwnerEvidence *evidence,
                            const AcSevLaunchInputs *expected,
                            guint8 min_api_major,
                            guint8 min_api_minor,
                            GError **error)
{
	g_return_val_if_fail (evidence != NULL && expected != NULL, FALSE);

	/* a verified launch may verify again: the same session relaunched (a reboot) measures
	 * anew, and what is sealed from then on is bound to the new measurement */
	if (ac_tee_launch_get_state (&self->parent) != AC_TEE_LAUNCH_STATE_VERIFIED
	    && !ac_tee_launch_require (&self->parent, AC_TEE_LAUNCH_STATE_KEYED,
	                               "verify the launch measurement", error))
		return FALSE;
	if (!ac_sev_owner_launch_check (self, evidence, expected, min_api_major, min_api_minor,
	                                error)) {
		ac_tee_launch_fail (&self->parent);
		return FALSE;
	}
	memcpy (self->measure, evidence->blob, AC_SEV_MEASURE_BLOB_SIZE);
	self->api_major = (guint8)evidence->api_major;
	self->api_minor = (guint8)evidence->api_minor;
	ac_tee_launch_advance (&self->parent, AC_TEE_LAUNCH_STATE_VERIFIED);
	return TRUE;
}

const guint8 *
ac_sev_owner_launch_get_launch_digest (AcSevOwnerLaunch *self)
{
	return self->has_ld ? self->ld : NULL;
}

/* ------------------------------------------------------------------------------------------ */
/* the secret                                                                                 */

static gboolean
ac_sev_owner_launch_seal_impl (AcTeeLaunch *launch,
                               GBytes *table,
                               GBytes *fixed_iv,
                               AcTeeSealedSecret **sealed,
                               GError **error)
{
	AcSevOwnerLaunch *self = (AcSevOwnerLaunch *)launch;
	g_autoptr (AcTeeSealedSecret) out = NULL;
	guint8 header[AC_SEV_SECRET_HEADER_SIZE];
	GBytes *payload = NULL;

	if (self->tek == NULL) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		                     "SEV launch: resumed without its TEK, it can be verified but "
		                     "cannot seal a secret");
		return FALSE;
	}
	if (fixed_iv != NULL && g_bytes_get_size (fixed_iv) != 16) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "SEV launch: a secret's IV has %" G_GSIZE_FORMAT " bytes, expected 16",
		             g_bytes_get_size (fixed_iv));
		return FALSE;
	}
	if (!ac_sev_secret_packet_build (
	        (const guint8 *)self->tek->data, (const guint8 *)self->tik->data, self->measure,
	        self->api_major, self->api_minor,
	        fixed_iv != NULL ? g_bytes_get_data (fixed_iv, NULL) : NULL, table, header,
	        &payload, error))
		return FALSE;
	out = g_new0 (AcTeeSealedSecret, 1);
	out->header = g_bytes_new (header, sizeof (header));
	out->payload = payload;
	*sealed = g_steal_pointer (&out);
	return TRUE;
}

/**
 * ac_sev_owner_launch_seal:
 * @sealed: (out): the 52-byte LAUNCH_SECRET header and the encrypted table
 *
 * %AC_ERROR_REFUSED unless the launch's measurement was verified.
 */
gboolean
ac_sev_owner_launch_seal (AcSevOwnerLaunch *self,
                          GBytes *table,
                          GBytes *fixed_iv,
                          AcTeeSealedSecret **sealed,
                          GError **error)
{
	return ac_tee_launch_seal (&self->parent, table, fixed_iv, sealed, error);
}
