/*
 * The guest owner's SEV-SNP launch on Aleph: the agent's certificate verified, a fresh report
 * bound to this channel and this launch's nonce, verified, then the injection sealed. Each
 * report goes through ac_snp_verify_report(); the states are ac-tee-launch.c's.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <string.h>

#include "ac-codec.h"
#include "ac-error.h"
#include "ac-secret.h"
#include "ac-snp-owner.h"

struct _AcSnpOwnerLaunch {
	AcTeeLaunch parent; /* first: the generic launch */
	AcSnpRoots *roots;
	AcSnpCertSource certs; /* certificates and CRL referenced; the KDS borrowed */
	AcSnpVerifyExpect expect;
	guint8 (*measurements)[AC_SNP_MEASUREMENT_SIZE]; /* expect.measurements, owned */
	AcSnpInjectSignFunc sign;
	gpointer sign_data;
	guint8 nonce[AC_SNP_RATLS_NONCE_SIZE];
	guint8 pk_raw[AC_SNP_RATLS_PK_RAW_SIZE]; /* the attested key, PLATFORM_TRUSTED on */
	AcSnpVerifyResult *platform;             /* the certificate's report */
	GBytes *fresh;                           /* the fresh report, KEYED on */
	guint8 fresh_binding[AC_SNP_REPORT_DATA_SIZE];
	AcSnpVerifyResult *verified; /* the fresh report, VERIFIED */
};

static gboolean
ac_snp_owner_launch_seal_impl (AcTeeLaunch *launch,
                               GBytes *secrets,
                               GBytes *fixed_iv,
                               AcTeeSealedSecret **sealed,
                               GError **error);
static void
ac_snp_owner_launch_finalize (AcTeeLaunch *launch);

static const AcTeeLaunchClass ac_snp_owner_launch_class = {
	.name = "SEV-SNP",
	.seal = ac_snp_owner_launch_seal_impl,
	.finalize = ac_snp_owner_launch_finalize,
};

AcSnpOwnerLaunch *
ac_snp_owner_launch_new (AcSnpRoots *roots,
                         const AcSnpCertSource *certs,
                         const AcSnpVerifyExpect *expect,
                         AcSnpInjectSignFunc sign,
                         gpointer sign_data,
                         GError **error)
{
	AcSnpOwnerLaunch *self;

	g_return_val_if_fail (roots != NULL && certs != NULL && expect != NULL, NULL);
	if (!expect->policy.have_expected_policy) {
		g_set_error_literal (
		    error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		    "SEV-SNP launch: no expected guest policy (the INSTANCE message's "
		    "policy must be pinned)");
		return NULL;
	}
	if (expect->n_measurements == 0 || expect->measurements == NULL) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		                     "SEV-SNP launch: no expected measurement");
		return NULL;
	}
	if (expect->report_data != NULL) {
		g_set_error_literal (
		    error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		    "SEV-SNP launch: an expected report_data was given; the launch "
		    "binds the agent's TLS key and its own nonce itself");
		return NULL;
	}
	if (sign == NULL) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		                     "SEV-SNP launch: no owner signer for the injection");
		return NULL;
	}
	self = g_new0 (AcSnpOwnerLaunch, 1);
	ac_tee_launch_init (&self->parent, &ac_snp_owner_launch_class);
	self->roots = ac_snp_roots_ref (roots);
	self->certs = *certs;
	if (self->certs.leaf != NULL)
		ac_snp_cert_ref (self->certs.leaf);
	if (self->certs.intermediate != NULL)
		ac_snp_cert_ref (self->certs.intermediate);
	if (self->certs.ark != NULL)
		ac_snp_cert_ref (self->certs.ark);
	if (self->certs.crl != NULL)
		ac_snp_crl_ref (self->certs.crl);
	self->expect = *expect;
	self->measurements = g_memdup2 (expect->measurements,
	                                (gsize)expect->n_measurements * AC_SNP_MEASUREMENT_SIZE);
	self->expect.measurements = (const guint8 (*)[AC_SNP_MEASUREMENT_SIZE])self->measurements;
	if (self->expect.at != NULL)
		g_date_time_ref (self->expect.at);
	self->sign = sign;
	self->sign_data = sign_data;
	if (RAND_bytes (self->nonce, sizeof self->nonce) != 1)
		g_error ("SEV-SNP launch: no random bytes for the nonce");
	return self;
}

static void
ac_snp_owner_launch_finalize (AcTeeLaunch *launch)
{
	AcSnpOwnerLaunch *self = (AcSnpOwnerLaunch *)launch;
	g_clear_pointer (&self->roots, ac_snp_roots_unref);
	g_clear_pointer (&self->certs.leaf, ac_snp_cert_unref);
	g_clear_pointer (&self->certs.intermediate, ac_snp_cert_unref);
	g_clear_pointer (&self->certs.ark, ac_snp_cert_unref);
	g_clear_pointer (&self->certs.crl, ac_snp_crl_unref);
	g_clear_pointer (&self->expect.at, g_date_time_unref);
	g_clear_pointer (&self->measurements, g_free);
	g_clear_pointer (&self->platform, ac_snp_verify_result_free);
	g_clear_pointer (&self->fresh, g_bytes_unref);
	g_clear_pointer (&self->verified, ac_snp_verify_result_free);
	ac_secret_wipe_free (self, sizeof (*self));
}

void
ac_snp_owner_launch_free (AcSnpOwnerLaunch *self)
{
	if (self != NULL)
		ac_tee_launch_free (&self->parent);
}

AcTeeLaunch *
ac_snp_owner_launch_get_tee (AcSnpOwnerLaunch *self)
{
	return &self->parent;
}

AcTeeLaunchState
ac_snp_owner_launch_get_state (AcSnpOwnerLaunch *self)
{
	return ac_tee_launch_get_state (&self->parent);
}

const guint8 *
ac_snp_owner_launch_get_pk_raw (AcSnpOwnerLaunch *self)
{
	return self->pk_raw;
}

const guint8 *
ac_snp_owner_launch_get_nonce (AcSnpOwnerLaunch *self)
{
	return self->nonce;
}

gchar *
ac_snp_owner_launch_get_nonce_hex (AcSnpOwnerLaunch *self)
{
	return ac_codec_hex_encode (self->nonce, sizeof self->nonce);
}

const AcSnpVerifyResult *
ac_snp_owner_launch_get_result (AcSnpOwnerLaunch *self)
{
	return self->verified != NULL ? self->verified : self->platform;
}

/* a launch step's failed check: the launch fails for good, the message says which step */
static gboolean
step_failed (AcSnpOwnerLaunch *self, GError **error, GError *cause, const gchar *step)
{
	ac_tee_launch_fail (&self->parent);
	g_prefix_error (&cause, "SEV-SNP launch: %s: ", step);
	g_propagate_error (error, cause);
	return FALSE;
}

/* ac_snp_verify_report() with the launch's expectations and @report_data */
static gboolean
verify_with (AcSnpOwnerLaunch *self,
             const guint8 *report,
             gsize len,
             const guint8 *report_data,
             AcSnpVerifyResult **result,
             GCancellable *cancellable,
             GError **error)
{
	AcSnpVerifyExpect e = self->expect;
	e.report_data = report_data;
	return ac_snp_verify_report (report, len, self->roots, &self->certs, &e, result,
	                             cancellable, error);
}

gboolean
ac_snp_owner_launch_verify_platform (AcSnpOwnerLaunch *self,
                                     const guint8 *cert_der,
                                     gsize len,
                                     GCancellable *cancellable,
                                     GError **error)
{
	g_autoptr (AcSnpRatlsCert) cert = NULL;
	GError *local = NULL;

	if (!ac_tee_launch_require (&self->parent, AC_TEE_LAUNCH_STATE_NEW,
	                            "verify the agent's certificate", error))
		return FALSE;
	cert = ac_snp_ratls_cert_parse (cert_der, len, &local);
	if (cert == NULL
	    || !verify_with (self, cert->report, sizeof cert->report, cert->key_binding,
	                     &self->platform, cancellable, &local))
		return step_failed (self, error, local, "the agent's certificate");
	memcpy (self->pk_raw, cert->pk_raw, sizeof self->pk_raw);
	ac_tee_launch_advance (&self->parent, AC_TEE_LAUNCH_STATE_PLATFORM_TRUSTED);
	return TRUE;
}

gboolean
ac_snp_owner_launch_bind (AcSnpOwnerLaunch *self,
                          const guint8 *channel_pk_raw,
                          gsize pk_len,
                          const guint8 *report,
                          gsize len,
                          GError **error)
{
	AcSnpReport parsed;
	GError *local = NULL;

	if (!ac_tee_launch_require (&self->parent, AC_TEE_LAUNCH_STATE_PLATFORM_TRUSTED,
	                            "bind the fresh report", error))
		return FALSE;
	if (channel_pk_raw == NULL || pk_len != AC_SNP_RATLS_PK_RAW_SIZE
	    || CRYPTO_memcmp (channel_pk_raw, self->pk_raw, AC_SNP_RATLS_PK_RAW_SIZE) != 0) {
		g_autofree gchar *want = ac_codec_hex_encode (self->pk_raw, 8);
		g_set_error (&local, AC_ERROR, AC_ERROR_MISMATCH,
		             "the connection's TLS key is not the attested one (%s…): another "
		             "server answered",
		             want);
		return step_failed (self, error, local, "the fresh report");
	}
	/* the binding is checked here on the report as received, and again under its
	 * signature when the launch verifies it */
	if (!ac_snp_ratls_fresh_binding (self->pk_raw, sizeof self->pk_raw, self->nonce,
	                                 sizeof self->nonce, self->fresh_binding, &local)
	    || !ac_snp_report_parse (report, len, &parsed, &local)
	    || !ac_snp_report_check_report_data (&parsed, self->fresh_binding, &local)) {
		if (local->code == AC_ERROR_MISMATCH)
			g_prefix_error (&local,
			                "not bound to this connection's key and this launch's "
			                "nonce (a relayed or stale report): ");
		return step_failed (self, error, local, "the fresh report");
	}
	self->fresh = g_bytes_new (report, len);
	ac_tee_launch_advance (&self->parent, AC_TEE_LAUNCH_STATE_KEYED);
	return TRUE;
}

static gboolean
same_field (const guint8 *a, const guint8 *b, gsize n, const gchar *field, GError **error)
{
	g_autofree gchar *ha = NULL;
	g_autofree gchar *hb = NULL;

	if (CRYPTO_memcmp (a, b, n) == 0)
		return TRUE;
	ha = ac_codec_hex_encode (a, n);
	hb = ac_codec_hex_encode (b, n);
	g_set_error (error, AC_ERROR, AC_ERROR_MISMATCH,
	             "%s %s differs from the certificate report's %s: not the same guest", field,
	             ha, hb);
	return FALSE;
}

gboolean
ac_snp_owner_launch_verify (AcSnpOwnerLaunch *self, GCancellable *cancellable, GError **error)
{
	g_autoptr (AcSnpVerifyResult) result = NULL;
	GError *local = NULL;

	if (!ac_tee_launch_require (&self->parent, AC_TEE_LAUNCH_STATE_KEYED,
	                            "verify the fresh report", error))
		return FALSE;
	if (!verify_with (self, g_bytes_get_data (self->fresh, NULL),
	                  g_bytes_get_size (self->fresh), self->fresh_binding, &result, cancellable,
	                  &local)
	    || !same_field (result->report.chip_id, self->platform->report.chip_id,
	                    AC_SNP_CHIP_ID_SIZE, "CHIP_ID", &local)
	    || !same_field (result->report.report_id, self->platform->report.report_id,
	                    sizeof result->report.report_id, "REPORT_ID", &local)
	    || !same_field (result->report.measurement, self->platform->report.measurement,
	                    AC_SNP_MEASUREMENT_SIZE, "MEASUREMENT", &local))
		return step_failed (self, error, local, "the fresh report");
	self->verified = g_steal_pointer (&result);
	ac_tee_launch_advance (&self->parent, AC_TEE_LAUNCH_STATE_VERIFIED);
	return TRUE;
}

gboolean
ac_snp_owner_launch_check_channel (AcSnpOwnerLaunch *self,
                                   const guint8 *cert_der,
                                   gsize len,
                                   GError **error)
{
	g_autoptr (AcSnpRatlsCert) cert = NULL;
	AcTeeLaunchState state = ac_tee_launch_get_state (&self->parent);

	if ((state == AC_TEE_LAUNCH_STATE_NEW || state == AC_TEE_LAUNCH_STATE_FAILED)
	    && !ac_tee_launch_require (&self->parent, AC_TEE_LAUNCH_STATE_PLATFORM_TRUSTED,
	                               "check a connection", error))
		return FALSE;
	cert = ac_snp_ratls_cert_parse (cert_der, len, error);
	if (cert == NULL)
		return FALSE;
	if (CRYPTO_memcmp (cert->pk_raw, self->pk_raw, sizeof self->pk_raw) != 0) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_MISMATCH,
		                     "SEV-SNP launch: the connection's TLS key is not the attested "
		                     "one (another server, or the guest rebooted: attest again)");
		return FALSE;
	}
	return TRUE;
}

static gboolean
ac_snp_owner_launch_seal_impl (AcTeeLaunch *launch,
                               GBytes *secrets_json,
                               GBytes *fixed_iv,
                               AcTeeSealedSecret **sealed,
                               GError **error)
{
	AcSnpOwnerLaunch *self = (AcSnpOwnerLaunch *)launch;
	g_autoptr (AcSnpSecrets) secrets = NULL;
	g_autoptr (AcTeeSealedSecret) out = NULL;
	gchar payload[AC_SNP_INJECT_PAYLOAD_LEN + 1];
	guint8 sig[AC_SNP_INJECT_SIGNATURE_LEN];
	GBytes *body;

	if (fixed_iv != NULL) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		                     "SEV-SNP launch: the injection takes no IV (its signature is "
		                     "deterministic)");
		return FALSE;
	}
	secrets = ac_snp_secrets_parse_json (g_bytes_get_data (secrets_json, NULL),
	                                     g_bytes_get_size (secrets_json), error);
	if (secrets == NULL)
		return FALSE;
	if (ac_snp_secrets_get_size (secrets) == 0) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		                     "SEV-SNP launch: no secret to inject");
		return FALSE;
	}
	if (!ac_snp_inject_payload (self->pk_raw, sizeof self->pk_raw, secrets, payload, error))
		return FALSE;
	if (!self->sign (payload, AC_SNP_INJECT_PAYLOAD_LEN, sig, self->sign_data, error)) {
		g_prefix_error (error, "SEV-SNP launch: signing the injection: ");
		return FALSE;
	}
	body = ac_snp_inject_body (secrets, sig, error);
	if (body == NULL)
		return FALSE;
	out = g_new0 (AcTeeSealedSecret, 1);
	out->header = g_bytes_new (payload, AC_SNP_INJECT_PAYLOAD_LEN);
	out->payload = body;
	*sealed = g_steal_pointer (&out);
	return TRUE;
}

gboolean
ac_snp_owner_launch_seal (AcSnpOwnerLaunch *self,
                          GBytes *secrets,
                          AcTeeSealedSecret **sealed,
                          GError **error)
{
	return ac_tee_launch_seal (&self->parent, secrets, NULL, sealed, error);
}
