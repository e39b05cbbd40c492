/*
 * The status element the service writes for a domain of the local SEV flow: what each step
 * reports, keeping what earlier steps recorded.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "ac-localsev-service-private.h"

#include "ac-sev-policy.h"

/* a status keeping what earlier steps recorded in @current */
AcStatus *
ac_localsev_service_status_new (const AcStatus *current, const gchar *state, const gchar *step)
{
	AcStatus *st = ac_status_new_keeping_results (current);
	st->state = g_strdup (state);
	st->step = g_strdup (step);
	return st;
}

gboolean
ac_localsev_service_status_fail (const AcStatus *current,
                                 const gchar *step,
                                 AcStatus **status,
                                 GError **error,
                                 GError *failure)
{
	AcStatus *st = ac_localsev_service_status_new (current, "failed", step);
	st->progress = 0;
	ac_status_set_error (st, step, failure);
	*status = st;
	g_propagate_error (error, failure);
	return FALSE;
}

/* *status = refused at @step (what the host or configuration lacks), @failure to @error */
gboolean
ac_localsev_service_status_refuse (const AcStatus *current,
                                   const gchar *step,
                                   AcStatus **status,
                                   GError **error,
                                   GError *failure)
{
	/* a failure whose state says the domain cannot run here as configured */
	(void)ac_localsev_service_status_fail (current, step, status, error, failure);
	g_free ((*status)->state);
	(*status)->state = g_strdup ("refused");
	return FALSE;
}

void
ac_localsev_service_status_set_attestation (AcStatus *st,
                                            const gchar *time,
                                            const gchar *verdict,
                                            const gchar *measurement,
                                            const gchar *generation)
{
	g_free (st->attest_time);
	g_free (st->attest_verdict);
	g_free (st->attest_measurement);
	g_free (st->attest_generation);
	st->attest_time = g_strdup (time);
	st->attest_verdict = g_strdup (verdict);
	st->attest_measurement = g_strdup (measurement);
	st->attest_generation = g_strdup (generation);
}

/* @current with the image this flow built for the domain */
AcStatus *
ac_localsev_service_status_with_image (const AcStatus *current, const AcLocalsevImageState *image)
{
	AcStatus *st = ac_localsev_service_status_new (
	    current, current != NULL ? current->state : "building",
	    current != NULL ? current->step : "build");
	if (current != NULL) {
		st->progress = current->progress;
		st->error_code = g_strdup (current->error_code);
		st->error_step = g_strdup (current->error_step);
		st->error_message = g_strdup (current->error_message);
	}
	g_free (st->image_path);
	st->image_path = g_strdup (image->target);
	g_free (st->image_sha256);
	st->image_sha256 = g_strdup (image->sha256);
	g_free (st->image_luks_uuid);
	st->image_luks_uuid = g_strdup (image->luks_uuid);
	return st;
}

AcStatus *
ac_localsev_service_status_running (const AcStatus *current, const AcLocalsevRecord *record)
{
	AcStatus *st = ac_localsev_service_status_new (current, "running", "attest");
	st->progress = 100;
	ac_localsev_service_status_set_attestation (st, record->state_time, "ok",
	                                            record->measurement, record->chain_generation);
	g_free (st->attest_tee);
	st->attest_tee = g_strdup (record->tee == AC_TEE_SNP             ? "SEV-SNP"
	                           : (record->policy & AC_SEV_POLICY_ES) ? "SEV-ES"
	                                                                 : "SEV");
	return st;
}

/* a copy of @current (or the initial status): nothing to say yet */
AcStatus *
ac_localsev_service_status_unchanged (const AcStatus *current)
{
	AcStatus *st;

	st = ac_localsev_service_status_new (current, current != NULL ? current->state : "ready",
	                                     current != NULL ? current->step : "prepare");
	st->progress = current != NULL ? current->progress : 0;
	if (current != NULL) {
		st->error_code = g_strdup (current->error_code);
		st->error_step = g_strdup (current->error_step);
		st->error_message = g_strdup (current->error_message);
	}
	return st;
}
