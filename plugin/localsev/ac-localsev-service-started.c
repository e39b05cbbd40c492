/*
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A started domain: attested (SEV: paused, the launch measured through the PSP; SEV-SNP: the
 * guest's agent and its report), and only then given the disk passphrase.
 */
#include "config.h"

#include "ac-localsev-service.h"

#include <openssl/crypto.h>
#include <string.h>

#include "ac-error.h"
#include "ac-localsev-private.h"
#include "ac-localsev-service-private.h"
#include "ac-time.h"
#include "ac-virt.h"

/* the status of a failed attest (with the verdict when it is one); takes @failure */
static gboolean
ac_localsev_service_attest_failed (const AcStatus *current,
                                   const AcLocalsevRecord *record,
                                   AcStatus **status,
                                   GError *failure_in,
                                   GError **error)
{
	g_autoptr (GError) failure = failure_in;
	gboolean verdict
	    = failure->domain == AC_ERROR
	      && (failure->code == AC_ERROR_MISMATCH || failure->code == AC_ERROR_UNTRUSTED);
	g_autofree gchar *when = ac_time_now_utc ();
	ac_localsev_service_status_fail (current, "attest", status, NULL, g_error_copy (failure));
	if (verdict)
		ac_localsev_service_status_set_attestation (
		    *status, when, failure->code == AC_ERROR_MISMATCH ? "mismatch" : "untrusted",
		    NULL, record->chain_generation);
	g_propagate_error (error, g_steal_pointer (&failure));
	return FALSE;
}

/*
 * A started SEV-SNP domain: the guest's agent, reached at the configured snp-agent address,
 * is attested (report verified against the prepared policy and measurement) and only then
 * given the disk passphrase. Running and attested: "running", unless @again (a guest that
 * booted again asks again; 'virt-aleph attest' verifies afresh).
 */
gboolean
ac_localsev_service_started_snp (const AcLocalsevOptions *opts,
                                 virConnectPtr secrets_conn,
                                 virDomainPtr dom,
                                 const AcDomain *domain,
                                 const AcLocalsevRecord *record,
                                 gboolean again,
                                 GCancellable *cancellable,
                                 const AcStatus *current,
                                 AcStatus **status,
                                 GError **error)
{
	const gchar *name = virDomainGetName (dom);
	g_autoptr (GError) failure = NULL;
	g_autoptr (AcLocalsevAttestation) att = NULL;
	AcStatus *st;

	if (record->state == AC_LOCALSEV_STATE_ATTESTED && !again) {
		*status = ac_localsev_service_status_running (current, record);
		return TRUE;
	}
	/* it was launched with this launch, whether or not the hook said so */
	if (record->state == AC_LOCALSEV_STATE_PREPARED
	    && !ac_localsev_record_mark_launched (opts->state_dir, record->uuid, &failure))
		return ac_localsev_service_status_fail (current, "attest", status, error,
		                                        g_steal_pointer (&failure));
#if HAVE_SECP256K1
	{
		gsize passphrase_len = 0;
		gchar *passphrase = ac_localsev_service_secret_read (secrets_conn, opts, dom, record,
		                                                    &passphrase_len, &failure);
		if (passphrase == NULL)
			return ac_localsev_service_status_fail (current, "attest", status, error,
			                                        g_steal_pointer (&failure));
		att = ac_localsev_snp_attest_domain (opts, domain, passphrase, cancellable,
		                                     &failure);
		OPENSSL_clear_free (passphrase, passphrase_len + 1);
	}
#else
	(void)secrets_conn;
	(void)domain;
	(void)cancellable;
	g_set_error (&failure, AC_ERROR, AC_ERROR_UNSUPPORTED,
	             "domain '%s': this build of aleph-confidential has no secp256k1, which the "
	             "SEV-SNP owner's signed injection needs",
	             name);
#endif
	if (att == NULL) {
		ac_localsev_service_attest_failed (current, record, status,
		                                   g_steal_pointer (&failure), error);
		g_free ((*status)->attest_tee);
		(*status)->attest_tee = g_strdup ("SEV-SNP");
		return FALSE;
	}
	g_message ("domain '%s': SEV-SNP report verified (measurement %s, %s), passphrase sent to "
	           "its agent",
	           name, att->measurement, att->generation);
	st = ac_localsev_service_status_new (current, "running", "attest");
	st->progress = 100;
	ac_localsev_service_status_set_attestation (st, att->time, "ok", att->measurement,
	                                            att->generation);
	g_free (st->attest_tee);
	st->attest_tee = g_strdup ("SEV-SNP");
	*status = st;
	return TRUE;
}

/* a started domain's live definition, UUID and the launch prepared for it */
static gboolean
ac_localsev_service_started_load (const AcLocalsevOptions *opts,
                                  virDomainPtr dom,
                                  AcDomain **domain_out,
                                  gchar **uuid_out,
                                  AcLocalsevRecord **record_out,
                                  GError **error)
{
	const gchar *name = virDomainGetName (dom);
	g_autofree gchar *xml = ac_virt_get_xml (dom, error);
	g_autoptr (AcDomain) domain = NULL;
	g_autofree gchar *uuid = NULL;
	g_autoptr (AcLocalsevRecord) record = NULL;

	if (xml == NULL)
		return FALSE;
	domain = ac_localsev_service_domain (name, xml, error);
	if (domain == NULL || !ac_localsev_service_uuid (dom, &uuid, error))
		return FALSE;
	record = ac_localsev_record_load (opts->state_dir, uuid, error);
	if (record == NULL) {
		g_prefix_error (
		    error,
		    "domain '%s' runs, but virt-alephd prepared no %s launch for it "
		    "(tagged while running, or the hook is not installed): stop it, let "
		    "virt-alephd prepare a launch, and start it with 'virsh start %s%s'. ",
		    name, domain->tag->tee == AC_TEE_SNP ? "SEV-SNP" : "SEV",
		    domain->tag->tee == AC_TEE_SNP ? "" : "--paused ", name);
		return FALSE;
	}
	*domain_out = g_steal_pointer (&domain);
	*uuid_out = g_steal_pointer (&uuid);
	*record_out = g_steal_pointer (&record);
	return TRUE;
}

/* a paused SEV domain: the passphrase (fail closed without one), then the attestation, which
 * injects it and resumes the guest */
static gboolean
ac_localsev_service_started_sev (AcSevHost *host,
                                 const AcLocalsevOptions *opts,
                                 virConnectPtr secrets_conn,
                                 virDomainPtr dom,
                                 const AcDomain *domain,
                                 const AcLocalsevRecord *record,
                                 const AcStatus *current,
                                 AcStatus **status,
                                 GError **error)
{
	g_autoptr (GError) failure = NULL;
	g_autoptr (AcLocalsevAttestation) att = NULL;
	gsize passphrase_len = 0;
	gchar *passphrase;
	AcStatus *st;

	passphrase = ac_localsev_service_secret_read (secrets_conn, opts, dom, record,
	                                              &passphrase_len, &failure);
	if (passphrase == NULL)
		return ac_localsev_service_status_fail (current, "attest", status, error,
		                                        g_steal_pointer (&failure));
	att = ac_localsev_attest_domain (host, opts, domain->tag, domain, passphrase, NULL,
	                                 &failure);
	OPENSSL_clear_free (passphrase, passphrase_len + 1);
	if (att == NULL)
		return ac_localsev_service_attest_failed (current, record, status,
		                                          g_steal_pointer (&failure), error);
	g_message ("domain '%s': attested (measurement %s, chain to '%s'), passphrase injected, "
	           "resumed",
	           virDomainGetName (dom), att->measurement, att->generation);
	st = ac_localsev_service_status_new (current, "running", "attest");
	st->progress = 100;
	ac_localsev_service_status_set_attestation (st, att->time, "ok", att->measurement,
	                                            att->generation);
	*status = st;
	return TRUE;
}

/**
 * ac_localsev_service_started:
 *
 * For a started domain. Paused (started with 'virsh start --paused'): attest with the
 * passphrase from the secret store and resume. Running and attested: "running". Running and
 * not attested: the guest ran before a secret could be injected — refused, with how to start
 * it. A record not yet marked launched (the hook did not run) is marked now, so its session
 * is never prepared for another start.
 *
 * Errors: %AC_ERROR_REFUSED when it runs unpaused (names 'virsh start --paused DOMAIN');
 * %AC_ERROR_NOT_FOUND when nothing was prepared or the disk has no passphrase secret (nothing
 * injected, the session not burnt); those of ac_localsev_attest().
 */
gboolean
ac_localsev_service_started_run (AcSevHost *host,
                                 const AcLocalsevOptions *opts,
                                 virConnectPtr secrets_conn,
                                 virDomainPtr dom,
                                 gboolean again,
                                 GCancellable *cancellable,
                                 const AcStatus *current,
                                 AcStatus **status,
                                 GError **error)
{
	const gchar *name;
	g_autoptr (GError) failure = NULL;
	g_autofree gchar *uuid = NULL;
	g_autoptr (AcDomain) domain = NULL;
	g_autoptr (AcLocalsevRecord) record = NULL;
	AcSevDomainState state = AC_SEV_DOMAIN_STATE_OTHER;

	g_return_val_if_fail (AC_IS_SEV_HOST (host), FALSE);
	g_return_val_if_fail (opts != NULL, FALSE);
	g_return_val_if_fail (dom != NULL, FALSE);
	g_return_val_if_fail (status != NULL, FALSE);

	name = virDomainGetName (dom);
	if (!ac_localsev_service_started_load (opts, dom, &domain, &uuid, &record, &failure)
	    || !ac_sev_host_get_domain_state (host, uuid, &state, &failure))
		return ac_localsev_service_status_fail (current, "attest", status, error,
		                                        g_steal_pointer (&failure));

	if (record->tee == AC_TEE_SNP) {
		if (state == AC_SEV_DOMAIN_STATE_RUNNING || state == AC_SEV_DOMAIN_STATE_PAUSED)
			return ac_localsev_service_started_snp (opts, secrets_conn, dom, domain,
			                                        record, again, cancellable, current,
			                                        status, error);
		if (state != AC_SEV_DOMAIN_STATE_SHUTOFF) {
			*status = ac_localsev_service_status_unchanged (current);
			return TRUE;
		}
	}

	/* attested earlier: running (or paused by its user since) */
	if (record->state == AC_LOCALSEV_STATE_ATTESTED
	    && (state == AC_SEV_DOMAIN_STATE_RUNNING || state == AC_SEV_DOMAIN_STATE_PAUSED)) {
		*status = ac_localsev_service_status_running (current, record);
		return TRUE;
	}
	if (state == AC_SEV_DOMAIN_STATE_SHUTOFF) {
		g_set_error (
		    &failure, AC_ERROR, AC_ERROR_NOT_FOUND,
		    "domain '%s' is not running, so there is no launch to attest: start it "
		    "%s %s'",
		    name,
		    record->tee == AC_TEE_SNP ? "with 'virsh start"
		                              : "paused with 'virsh start --paused",
		    name);
		return ac_localsev_service_status_fail (current, "attest", status, error,
		                                        g_steal_pointer (&failure));
	}
	if (state != AC_SEV_DOMAIN_STATE_RUNNING && state != AC_SEV_DOMAIN_STATE_PAUSED) {
		/* shutting down, crashed, …: the next event says more */
		*status = ac_localsev_service_status_unchanged (current);
		return TRUE;
	}

	/* it was launched with this session, whether or not the hook said so */
	if (record->state == AC_LOCALSEV_STATE_PREPARED
	    && !ac_localsev_record_mark_launched (opts->state_dir, uuid, &failure))
		return ac_localsev_service_status_fail (current, "attest", status, error,
		                                        g_steal_pointer (&failure));

	if (state == AC_SEV_DOMAIN_STATE_RUNNING) {
		g_set_error (
		    &failure, AC_ERROR, AC_ERROR_REFUSED,
		    "domain '%s' was started without --paused: its CPUs ran before the disk "
		    "passphrase could be injected, so it cannot be attested and will not "
		    "unlock its disk. Stop it ('virsh destroy %s'); virt-alephd then "
		    "prepares a fresh SEV session, and start it with 'virsh start --paused "
		    "%s'",
		    name, name, name);
		return ac_localsev_service_status_fail (current, "attest", status, error,
		                                        g_steal_pointer (&failure));
	}

	return ac_localsev_service_started_sev (host, opts, secrets_conn, dom, domain, record,
	                                        current, status, error);
}

gboolean
ac_localsev_service_started (AcSevHost *host,
                             const AcLocalsevOptions *opts,
                             virConnectPtr secrets_conn,
                             virDomainPtr dom,
                             const AcStatus *current,
                             AcStatus **status,
                             GError **error)
{
	return ac_localsev_service_started_run (host, opts, secrets_conn, dom, FALSE, NULL, current,
	                                        status, error);
}

/**
 * ac_localsev_service_attest_now:
 *
 * What 'virt-aleph attest DOMAIN' does for a local domain: ac_localsev_service_started(), but
 * an SEV-SNP guest that runs is attested through its agent even when an earlier boot was (a
 * guest that booted again waits for its passphrase again).
 */
gboolean
ac_localsev_service_attest_now (AcSevHost *host,
                                const AcLocalsevOptions *opts,
                                virConnectPtr secrets_conn,
                                virDomainPtr dom,
                                GCancellable *cancellable,
                                const AcStatus *current,
                                AcStatus **status,
                                GError **error)
{
	return ac_localsev_service_started_run (host, opts, secrets_conn, dom, TRUE, cancellable,
	                                        current, status, error);
}
