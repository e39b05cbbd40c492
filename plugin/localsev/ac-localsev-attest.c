/*
 * Attest a domain started paused, inject the disk passphrase, resume.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "ac-localsev.h"
#include "ac-localsev-private.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ac-error.h"
#include "ac-time.h"
#include "ac-codec.h"
#include "ac-localsev-domain.h"
#include "ac-localsev-store.h"
#include "ac-sev-cert.h"
#include "ac-sev-owner.h"
#include "ac-sev-policy.h"
#include "ac-sev-psp.h"
#include "ac-sev-secret.h"

void
ac_localsev_attestation_free (AcLocalsevAttestation *a)
{
	if (a == NULL)
		return;
	g_free (a->measurement);
	g_free (a->generation);
	g_free (a->session_id);
	g_free (a->time);
	g_free (a);
}

/* ------------------------------------------------------------------------------------------ */
/* attest                                                                                     */

/* marks the session used, atomically: exactly one attest can get past this */
static gboolean
ac_localsev_attest_claim (const gchar *dir, AcLocalsevRecord *r, GError **error)
{
	g_autofree gchar *name = g_strconcat (r->session_id, ".claimed", NULL);
	g_autofree gchar *path = g_build_filename (dir, name, NULL);
	int fd = open (path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);

	if (fd < 0) {
		if (errno == EEXIST) {
			g_set_error (
			    error, AC_ERROR, AC_ERROR_REFUSED,
			    "domain '%s': stale session: session %s was already used for a "
			    "launch measurement; a reused session lets the host forge "
			    "measurements — prepare a fresh session and start the domain again",
			    r->domain, r->session_id);
			return FALSE;
		}
		g_set_error (error, AC_ERROR, AC_ERROR_IO, "cannot mark session %s used: %s",
		             r->session_id, g_strerror (errno));
		return FALSE;
	}
	close (fd);
	r->state = AC_LOCALSEV_STATE_CONSUMED;
	g_free (r->state_time);
	r->state_time = ac_time_now_utc ();
	return ac_localsev_record_save (dir, r, error);
}

static void
ac_localsev_attest_progress_done (AcProgress *progress)
{
	if (progress != NULL)
		ac_progress_step_done (progress);
}

/* the launch prepared for the domain (its directory in *dir), still unused and still the
 * tag's and the domain's */
static AcLocalsevRecord *
ac_localsev_attest_record (const AcLocalsevOptions *opts,
                           const AcTag *tag,
                           const AcDomain *dom,
                           const gchar *name,
                           gchar **dir,
                           GError **error)
{
	g_autoptr (AcLocalsevRecord) r = NULL;
	g_autoptr (GError) error_local = NULL;

	*dir = ac_localsev_store_domain_dir_full (opts->state_dir, dom->uuid, FALSE, &error_local);
	if (*dir == NULL) {
		if (g_error_matches (error_local, AC_ERROR, AC_ERROR_NOT_FOUND))
			g_set_error (error, AC_ERROR, AC_ERROR_NOT_FOUND,
			             "no SEV launch was prepared for domain '%s' (%s)", name,
			             error_local->message);
		else
			g_propagate_error (error, g_steal_pointer (&error_local));
		return NULL;
	}
	r = ac_localsev_record_load_from (*dir, name, error);
	if (r == NULL)
		return NULL;
	/* an SEV-SNP launch is attested through the guest's agent (ac_localsev_snp_attest) */
	if (r->tee != AC_TEE_SEV || tag->tee != AC_TEE_SEV) {
		g_set_error (error, AC_ERROR, AC_ERROR_REFUSED,
		             "domain '%s': the prepared launch or the tag is SEV-SNP, which is "
		             "attested through the guest's agent, not with an SEV launch "
		             "measurement",
		             name);
		return NULL;
	}
	if (r->state == AC_LOCALSEV_STATE_CONSUMED || r->state == AC_LOCALSEV_STATE_ATTESTED) {
		g_set_error (
		    error, AC_ERROR, AC_ERROR_REFUSED,
		    "domain '%s': stale session: session %s was already %s (%s); a session "
		    "is used once — prepare a fresh one and start the domain again",
		    name, r->session_id, ac_localsev_record_state_to_string (r->state),
		    r->state_time != NULL ? r->state_time : "time unknown");
		return NULL;
	}
	/* the same fault, and class, as a platform reporting another policy */
	if (!ac_sev_owner_policy_check (tag->policy, r->policy, "the session was made for",
	                                &error_local)) {
		g_set_error (error, AC_ERROR, error_local->code,
		             "domain '%s': %s (session %s); prepare the launch again", name,
		             error_local->message, r->session_id);
		return NULL;
	}
	if (tag->firmware_sha256 == NULL
	    || g_ascii_strcasecmp (tag->firmware_sha256, r->firmware_sha256) != 0) {
		g_set_error (
		    error, AC_ERROR, AC_ERROR_MISMATCH,
		    "domain '%s': firmware hash: the tag pins %s but the launch was prepared "
		    "for firmware %s; prepare the launch again",
		    name, tag->firmware_sha256 != NULL ? tag->firmware_sha256 : "(none)",
		    r->firmware_sha256);
		return NULL;
	}
	if (!ac_localsev_gate_compare (r, dom, error))
		return NULL;
	return g_steal_pointer (&r);
}

/* the platform is still the one the session was made for, and the domain waits paused */
static gboolean
ac_localsev_attest_host (AcSevHost *host,
                         const gchar *dir,
                         AcLocalsevRecord *r,
                         const AcDomain *dom,
                         const gchar *name,
                         GError **error)
{
	g_autoptr (AcSevHostInfo) info = NULL;
	g_autoptr (GError) error_local = NULL;
	g_autofree gchar *what = NULL;
	g_autofree guint8 *pdh = NULL;
	g_autofree gchar *pdh_sha256 = NULL;
	AcSevDomainState state = AC_SEV_DOMAIN_STATE_OTHER;
	gsize pdh_len = 0;

	info = ac_sev_host_get_sev_info (host, error);
	if (info == NULL)
		return FALSE;
	what = g_strdup_printf ("chain: host %s's pdh", ac_sev_host_get_name (host));
	pdh = ac_codec_base64_decode (what, info->pdh, AC_SEV_CERT_SIZE, AC_SEV_CERT_SIZE,
	                                   AC_ERROR_UNTRUSTED, &pdh_len, error);
	if (pdh == NULL)
		return FALSE;
	pdh_sha256 = g_compute_checksum_for_data (G_CHECKSUM_SHA256, pdh, pdh_len);
	if (g_strcmp0 (pdh_sha256, r->pdh_sha256) != 0) {
		g_set_error (error, AC_ERROR, AC_ERROR_UNTRUSTED,
		             "domain '%s': chain: host %s's PDH changed since the session was "
		             "prepared (PDH sha256 now %s, the session was made for %s); the host "
		             "cannot have launched with this session — prepare the launch again",
		             name, ac_sev_host_get_name (host), pdh_sha256, r->pdh_sha256);
		return FALSE;
	}
	if (!ac_sev_host_get_domain_state (host, dom->uuid, &state, error))
		return FALSE;
	if (state == AC_SEV_DOMAIN_STATE_SHUTOFF) {
		g_set_error (
		    error, AC_ERROR, AC_ERROR_NOT_FOUND,
		    "domain '%s' is not running, so there is no launch to attest: start it "
		    "paused with 'virsh start --paused %s'",
		    name, name);
		return FALSE;
	}
	if (state != AC_SEV_DOMAIN_STATE_PAUSED) {
		/* the launch happened with this session: it is burnt whatever comes next */
		if (state == AC_SEV_DOMAIN_STATE_RUNNING
		    && !ac_localsev_attest_claim (dir, r, &error_local))
			g_debug ("domain '%s': %s", name, error_local->message);
		g_set_error (
		    error, AC_ERROR, AC_ERROR_REFUSED,
		    "domain '%s' is %s, not paused: the secret can only be injected before "
		    "the guest runs. Stop it ('virsh destroy %s'), let a fresh session be "
		    "prepared, and start it paused with 'virsh start --paused %s'",
		    name, ac_sev_domain_state_to_string (state), name, name);
		return FALSE;
	}
	return TRUE;
}

/* the owner's launch, resumed from the prepared session's keys and verified against the
 * pinned firmware: policy, firmware version, measurement (sev/ac-sev-owner.c) */
static AcSevOwnerLaunch *
ac_localsev_attest_verify (const AcLocalsevOptions *opts,
                           const AcTag *tag,
                           const gchar *dir,
                           AcLocalsevRecord *r,
                           const AcSevLaunchInfo *launch,
                           GBytes *fw,
                           const gchar *name,
                           GError **error)
{
	g_autoptr (AcSevOwnerLaunch) o = ac_sev_owner_launch_new (tag->policy);
	g_autoptr (GError) error_local = NULL;
	g_autofree gchar *what = NULL;
	g_autofree guint8 *blob = NULL;
	AcSevLaunchInputs in = { 0 };
	AcSevOwnerEvidence ev = { 0 };
	const guint8 *ld;
	gsize blob_len = 0;
	gboolean ok;

	what = g_strdup_printf ("domain '%s': measurement: the host's sev-measurement", name);
	blob = ac_codec_base64_decode (what, launch->measurement, AC_SEV_MEASURE_BLOB_SIZE,
	                                    AC_SEV_MEASURE_BLOB_SIZE, AC_ERROR_MISMATCH, &blob_len,
	                                    error);
	if (blob == NULL)
		return NULL;
	if (!ac_sev_owner_launch_resume_session (o, dir, r->session_id, error))
		return NULL;
	in.firmware = fw;
	in.num_cpus = (launch->policy & AC_SEV_POLICY_ES) ? MAX (r->vcpus, 1) : 0;
	in.cpu_family = opts->cpu_family;
	in.cpu_model = opts->cpu_model;
	in.cpu_stepping = opts->cpu_stepping;
	in.vmsa_variant = opts->vmsa_variant;
	ev = (AcSevOwnerEvidence){
		blob,          blob_len, launch->api_major, launch->api_minor, launch->build_id,
		launch->policy
	};
	ok = ac_sev_owner_launch_verify (o, &ev, &in, opts->min_api_major, opts->min_api_minor,
	                                 &error_local);
	ld = ac_sev_owner_launch_get_launch_digest (o);
	if (ld == NULL) {
		/* the policy or the firmware version */
		g_set_error (error, AC_ERROR, error_local->code, "domain '%s': %s", name,
		             error_local->message);
		return NULL;
	}
	{
		g_autofree gchar *ld_hex = ac_codec_hex_encode (ld, 32);
		g_autofree gchar *mnonce = ac_codec_hex_encode (blob + 32, 16);
		g_autofree gchar *measure = ac_codec_hex_encode (blob, 32);
		g_debug ("domain '%s': attestation inputs: firmware sha256 %s, launch digest %s, "
		         "policy 0x%x, API %u.%u build %u, mnonce %s, measurement %s, session %s",
		         name, r->firmware_sha256, ld_hex, launch->policy, launch->api_major,
		         launch->api_minor, launch->build_id, mnonce, measure, r->session_id);
	}
	if (!ok) {
		g_set_error (error, AC_ERROR, error_local->code,
		             "domain '%s': measurement: %s (session %s, firmware %s)", name,
		             error_local->message, r->session_id, r->firmware_path);
		return NULL;
	}
	return g_steal_pointer (&o);
}

/* the passphrase's table sealed for the verified launch, into the firmware's secret area */
static gboolean
ac_localsev_attest_inject (AcSevHost *host,
                           AcSevOwnerLaunch *o,
                           AcSevOvmf *ovmf,
                           GBytes *table,
                           const AcDomain *dom,
                           const gchar *name,
                           GError **error)
{
	g_autoptr (AcTeeSealedSecret) sealed = NULL;
	g_autofree gchar *hdr_b64 = NULL;
	g_autofree gchar *payload_b64 = NULL;
	guint32 secret_base = 0, secret_size = 0;
	gboolean has_secret_area = FALSE;

	if (ac_sev_ovmf_get_secret_area (ovmf, &secret_base, &secret_size, NULL)
	    && secret_size > 0) {
		has_secret_area = TRUE;
		if (g_bytes_get_size (table) > secret_size) {
			g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			             "domain '%s': the secret table has %" G_GSIZE_FORMAT " bytes, "
			             "more than the firmware's %u-byte secret area",
			             name, g_bytes_get_size (table), secret_size);
			return FALSE;
		}
	}
	if (!ac_sev_owner_launch_seal (o, table, NULL, &sealed, error))
		return FALSE;
	hdr_b64 = g_base64_encode (g_bytes_get_data (sealed->header, NULL),
	                           g_bytes_get_size (sealed->header));
	payload_b64 = g_base64_encode (g_bytes_get_data (sealed->payload, NULL),
	                               g_bytes_get_size (sealed->payload));
	return ac_sev_host_set_launch_security_state (host, dom->uuid, hdr_b64, payload_b64,
	                                              has_secret_area, secret_base, error);
}

/* done: the record says so, the keys are of no further use */
static AcLocalsevAttestation *
ac_localsev_attest_finish (const gchar *dir,
                           AcLocalsevRecord *r,
                           const AcSevLaunchInfo *launch,
                           const gchar *name)
{
	g_autoptr (GError) error_local = NULL;
	AcLocalsevAttestation *att;

	r->state = AC_LOCALSEV_STATE_ATTESTED;
	g_free (r->state_time);
	r->state_time = ac_time_now_utc ();
	r->measurement = g_strdup (launch->measurement);
	if (!ac_localsev_record_save (dir, r, &error_local)) {
		g_warning ("domain '%s': %s", name, error_local->message);
		g_clear_error (&error_local);
	}
	for (guint i = 0; i < 2; i++) {
		g_autofree gchar *base
		    = g_strconcat (r->session_id, ac_localsev_store_session_suffixes[i], NULL);
		g_autofree gchar *path = g_build_filename (dir, base, NULL);
		if (!ac_localsev_store_shred (path, &error_local)) {
			g_warning ("domain '%s': %s", name, error_local->message);
			g_clear_error (&error_local);
		}
	}
	att = g_new0 (AcLocalsevAttestation, 1);
	att->measurement = g_strdup (launch->measurement);
	att->api_major = launch->api_major;
	att->api_minor = launch->api_minor;
	att->build_id = launch->build_id;
	att->policy = launch->policy;
	att->generation = g_strdup (r->chain_generation);
	att->session_id = g_strdup (r->session_id);
	att->time = g_strdup (r->state_time);
	return att;
}

/**
 * ac_localsev_attest:
 * @tag: the owner's intent (policy, pinned firmware hash)
 * @domain_xml: the domain as libvirt reports it (name, UUID, launchSecurity)
 * @passphrase: the disk passphrase (printable ASCII)
 * @progress: (nullable): steps record, host, measurement, verify, inject, resume
 *
 * Attests a domain started paused with the prepared session and, only when everything
 * verifies, injects the passphrase and resumes it. The session is burnt as soon as a launch
 * measurement of it was read, whatever the verdict. The verification and the seal are
 * sev/ac-sev-owner.c's, as for every caller.
 *
 * Errors (docs/exit-codes.md#attestation-faults): %AC_ERROR_REFUSED for a stale session, an
 * API version below the minimum, a domain not paused; %AC_ERROR_UNTRUSTED when the host's
 * PDH is not the one the session was made for; %AC_ERROR_MISMATCH for a policy that is not
 * the tag's (reported, or the session's), the firmware hash or the measurement;
 * %AC_ERROR_NOT_FOUND when nothing was prepared or the domain is not started.
 */
AcLocalsevAttestation *
ac_localsev_attest (AcSevHost *host,
                    const AcLocalsevOptions *opts,
                    const AcTag *tag,
                    const gchar *domain_xml,
                    const gchar *passphrase,
                    AcProgress *progress,
                    GError **error)
{
	g_autoptr (AcDomain) dom = NULL;

	g_return_val_if_fail (domain_xml != NULL, NULL);
	dom = ac_domain_parse (domain_xml, -1, error);
	if (dom == NULL)
		return NULL;
	return ac_localsev_attest_domain (host, opts, tag, dom, passphrase, progress, error);
}

/**
 * ac_localsev_attest_domain:
 * @dom: the domain's model, already read
 *
 * ac_localsev_attest() for a caller that holds the domain's model.
 */
AcLocalsevAttestation *
ac_localsev_attest_domain (AcSevHost *host,
                           const AcLocalsevOptions *opts,
                           const AcTag *tag,
                           const AcDomain *dom,
                           const gchar *passphrase,
                           AcProgress *progress,
                           GError **error)
{
	g_autoptr (AcLocalsevRecord) r = NULL;
	g_autoptr (AcSevLaunchInfo) launch = NULL;
	g_autoptr (AcSevOwnerLaunch) o = NULL;
	g_autoptr (GBytes) fw = NULL;
	g_autoptr (GBytes) table = NULL;
	g_autoptr (AcSevOvmf) ovmf = NULL;
	g_autoptr (GError) error_local = NULL;
	g_autofree gchar *dir = NULL;
	const gchar *name;

	g_return_val_if_fail (AC_IS_SEV_HOST (host), NULL);
	g_return_val_if_fail (opts != NULL, NULL);
	g_return_val_if_fail (tag != NULL, NULL);
	g_return_val_if_fail (dom != NULL, NULL);

	if (progress != NULL) {
		ac_progress_add_step (progress, "record", 5);
		ac_progress_add_step (progress, "host", 10);
		ac_progress_add_step (progress, "measurement", 10);
		ac_progress_add_step (progress, "verify", 45);
		ac_progress_add_step (progress, "inject", 20);
		ac_progress_add_step (progress, "resume", 10);
	}

	/* what was prepared, and is the domain still that? */
	if (!ac_localsev_store_check_uuid (dom->uuid, error))
		return NULL;
	name = dom->name != NULL ? dom->name : dom->uuid;
	/* the passphrase is checked before anything can burn the session */
	table = ac_sev_secret_table_build_aleph_passphrase (passphrase, error);
	if (table == NULL)
		return NULL;
	r = ac_localsev_attest_record (opts, tag, dom, name, &dir, error);
	if (r == NULL)
		return NULL;
	ac_localsev_attest_progress_done (progress);

	if (!ac_localsev_attest_host (host, dir, r, dom, name, error))
		return NULL;
	ac_localsev_attest_progress_done (progress);

	/* the launch measurement: from here on the session is used */
	launch = ac_sev_host_get_launch_security_info (host, dom->uuid, error);
	if (launch == NULL)
		return NULL;
	if (!ac_localsev_attest_claim (dir, r, error))
		return NULL;
	ac_localsev_attest_progress_done (progress);

	fw = ac_localsev_prepare_firmware_load (r->firmware_path, tag->firmware_sha256, NULL,
	                                        &error_local);
	if (fw == NULL) {
		g_set_error (error, AC_ERROR, error_local->code, "domain '%s': %s", name,
		             error_local->message);
		return NULL;
	}
	ovmf = ac_sev_ovmf_parse (g_bytes_get_data (fw, NULL), g_bytes_get_size (fw), error);
	if (ovmf == NULL)
		return NULL;
	o = ac_localsev_attest_verify (opts, tag, dir, r, launch, fw, name, error);
	if (o == NULL)
		return NULL;
	ac_localsev_attest_progress_done (progress);

	if (!ac_localsev_attest_inject (host, o, ovmf, table, dom, name, error))
		return NULL;
	g_clear_pointer (&o, ac_sev_owner_launch_free);
	g_clear_pointer (&table, g_bytes_unref);
	ac_localsev_attest_progress_done (progress);

	if (!ac_sev_host_resume (host, dom->uuid, error))
		return NULL;
	ac_localsev_attest_progress_done (progress);
	return ac_localsev_attest_finish (dir, r, launch, name);
}
