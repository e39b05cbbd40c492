/*
 * The Aleph flow's attestation: the CRN's platform chain, the launch measurement verified
 * against the pinned firmware with the session's TIK, and only then the passphrase sent — the
 * sequence of sev/ac-sev-owner.h, persisted and resumed across runs.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "ac-pipeline-private.h"

#include <openssl/crypto.h>
#include <string.h>

#include "ac-error.h"
#include "ac-file.h"
#include "ac-secret-store.h"
#include "ac-sev-chain.h"
#include "ac-sev-measure.h"
#include "ac-sev-owner.h"
#include "ac-sev-policy.h"
#include "ac-sev-secret.h"

static AcSevRoots *
trusted_roots (AcPipeline *p, GError **error)
{
	g_autoptr (AcSevRoots) roots = ac_sev_roots_new_builtin ();
	for (guint i = 0; p->config->trusted_roots != NULL && p->config->trusted_roots[i] != NULL;
	     i++) {
		const gchar *path = p->config->trusted_roots[i];
		g_autoptr (AcAmdCert) ark = ac_amd_cert_parse_file (path, error);
		g_autofree gchar *ask_path = NULL;
		g_autoptr (AcAmdCert) ask = NULL;
		if (ark == NULL) {
			g_prefix_error (error, "trusted root %s: ", path);
			return NULL;
		}
		/* an ASK beside it, named like the ARK with 'ask' for 'ark', is optional */
		ask_path = g_strdup (path);
		if (g_strrstr (ask_path, "ark") != NULL) {
			memcpy (g_strrstr (ask_path, "ark"), "ask", 3);
			if (g_file_test (ask_path, G_FILE_TEST_EXISTS))
				ask = ac_amd_cert_parse_file (ask_path, NULL);
		}
		if (!ac_sev_roots_add (roots, path, ark, ask, error))
			return NULL;
	}
	return g_steal_pointer (&roots);
}

static GBytes *
firmware_bytes (AcPipeline *p, GError **error)
{
	g_autofree gchar *cache = g_build_filename (p->config->state_dir, "firmware", NULL);
	g_autofree gchar *cached = g_build_filename (cache, p->tag->firmware_sha256, NULL);
	g_autofree gchar *data = NULL;
	gsize len = 0;
	g_autofree gchar *sha = NULL;
	const gchar *from = NULL;

	if (p->tag->firmware_file != NULL) {
		/* named by the tag: a regular file within the bound, never a FIFO or a device */
		if (!ac_file_read_bounded (p->tag->firmware_file, AC_PIPELINE_MAX_FIRMWARE, &data,
		                           &len, error)) {
			g_prefix_error (error, "firmware file: ");
			return NULL;
		}
		from = p->tag->firmware_file;
	} else if (g_file_get_contents (cached, &data, &len, NULL)) {
		from = cached;
	} else {
		g_autoptr (GBytes) fetched
		    = ac_ccn_fetch_stored (p->ccn, "firmware STORE", p->tag->firmware_ref,
		                           AC_PIPELINE_MAX_FIRMWARE, NULL, error);
		if (fetched == NULL) {
			g_prefix_error (error, "<aleph:firmware ref='%s'>: ", p->tag->firmware_ref);
			return NULL;
		}
		data = g_memdup2 (g_bytes_get_data (fetched, &len), g_bytes_get_size (fetched));
		from = p->tag->firmware_ref;
	}
	sha = g_compute_checksum_for_data (G_CHECKSUM_SHA256, (const guchar *)data, len);
	if (g_strcmp0 (sha, p->tag->firmware_sha256) != 0) {
		g_set_error (error, AC_ERROR, AC_ERROR_MISMATCH,
		             "the firmware from %s has SHA-256 %s, not the pinned %s "
		             "(<aleph:firmware sha256=…>); refusing to attest against it",
		             from, sha, p->tag->firmware_sha256);
		return NULL;
	}
	if (from != cached && g_mkdir_with_parents (cache, 0700) == 0)
		(void)g_file_set_contents (cached, data, (gssize)len, NULL);
	return g_bytes_new_take (g_steal_pointer (&data), len);
}

/* Whether @m is the measurement recorded as @b64. */
static gboolean
measurement_is (const AcCrnMeasurement *m, const gchar *b64)
{
	g_autofree gchar *mine = g_base64_encode (m->launch_measure, sizeof m->launch_measure);
	return b64 != NULL && g_strcmp0 (mine, b64) == 0;
}

static gboolean
measurement_seen (AcPipeline *p, const AcCrnMeasurement *m)
{
	JsonObject *o = ac_state_get_step (p->state, "attest");
	JsonArray *seen = o != NULL && json_object_has_member (o, "answered")
	                      ? json_object_get_array_member (o, "answered")
	                      : NULL;
	for (guint i = 0; seen != NULL && i < json_array_get_length (seen); i++) {
		if (measurement_is (m, json_array_get_string_element (seen, i)))
			return TRUE;
	}
	return FALSE;
}

/* Whether the CRN lists the VM's QEMU as running (paused or not: ask the measurement). */
static gboolean
crn_vm_running (AcCrnClient *crn, const gchar *vm)
{
	g_autoptr (GPtrArray) list = ac_crn_list_executions (crn, NULL);
	for (guint i = 0; list != NULL && i < list->len; i++) {
		AcCrnExecution *e = g_ptr_array_index (list, i);
		if (g_strcmp0 (e->vm_hash, vm) == 0)
			return e->running && !e->awaiting_confidential_init;
	}
	return FALSE;
}

/* The attest step done: the passphrase went to a verified launch (verdict ok); saved. */
gboolean
ac_pipeline_attest_done (AcPipeline *p, GError **error)
{
	g_free (p->status->attest_verdict);
	p->status->attest_verdict = g_strdup ("ok");
	ac_state_mark_done (p->state, "attest");
	return ac_pipeline_save (p, error);
}

/*
 * The IPv6 the CRN reports for the running VM, into the status and the state (for `virt-aleph
 * list`, `status` and their ssh hint). Returns TRUE when it changed what was recorded; a CRN
 * that does not answer, or has no address yet, changes nothing.
 */
gboolean
ac_pipeline_record_ipv6 (AcPipeline *p, AcCrnClient *crn)
{
	const gchar *vm = ac_state_get_string (p->state, "instance", "hash");
	g_autoptr (GError) local_error = NULL;
	g_autoptr (GPtrArray) list = ac_crn_list_executions (crn, &local_error);

	if (list == NULL) {
		g_info ("%s: the CRN's execution list: %s", p->name, local_error->message);
		return FALSE;
	}
	for (guint i = 0; i < list->len; i++) {
		AcCrnExecution *e = g_ptr_array_index (list, i);
		if (g_strcmp0 (e->vm_hash, vm) != 0 || e->ipv6 == NULL || e->ipv6[0] == '\0'
		    || g_strcmp0 (e->ipv6, p->status->ipv6) == 0)
			continue;
		g_free (p->status->ipv6);
		p->status->ipv6 = g_strdup (e->ipv6);
		ac_state_set_string (p->state, "attest", "ipv6", e->ipv6);
		ac_state_log (p->state, "running: the CRN gives the VM the IPv6 %s", e->ipv6);
		if (!ac_pipeline_save (p, &local_error))
			g_warning ("%s: %s", p->name, local_error->message);
		return TRUE;
	}
	return FALSE;
}

/* the CRN's platform chain verified into a new launch for the tag's policy */
static AcSevOwnerLaunch *
attest_platform (AcPipeline *p, AcCrnClient *crn, GError **error)
{
	g_autoptr (GBytes) certs = NULL;
	g_autoptr (AcSevChain) chain = NULL;
	g_autoptr (AcSevRoots) roots = NULL;
	g_autoptr (AcSevOwnerLaunch) launch = NULL;

	ac_pipeline_report (p, "attesting", "attest/chain", 75);
	certs = ac_crn_get_certificates (crn, error);
	if (certs == NULL)
		return NULL;
	chain
	    = ac_sev_chain_parse (g_bytes_get_data (certs, NULL), g_bytes_get_size (certs), error);
	if (chain == NULL) {
		g_prefix_error (error, "the CRN's /about/certificates: ");
		return NULL;
	}
	roots = trusted_roots (p, error);
	if (roots == NULL)
		return NULL;
	launch = ac_sev_owner_launch_new (p->tag->policy);
	if (!ac_sev_owner_launch_verify_chain (launch, chain, roots, NULL, error)) {
		g_prefix_error (error, "the CRN's platform certificate chain: ");
		return NULL;
	}
	g_free (p->status->attest_generation);
	p->status->attest_generation
	    = g_strdup (ac_sev_owner_launch_get_verdict (launch)->generation);
	return g_steal_pointer (&launch);
}

/* a fresh session, persisted so that a later run resumes it (attest_verify) */
static gboolean
attest_session (AcPipeline *p, AcSevOwnerLaunch *launch, gboolean fresh_session, GError **error)
{
	if (!fresh_session)
		return TRUE;
	ac_pipeline_report (p, "attesting", "attest/session", 78);
	if (!ac_sev_owner_launch_start_session (launch, error)
	    || !ac_sev_owner_launch_write_session (launch, ac_state_get_dir (p->state),
	                                           SESSION_NAME, error))
		return FALSE;
	ac_state_set_bool (p->state, "attest", "session", TRUE);
	ac_state_set_bool (p->state, "attest", "initialized", FALSE);
	ac_state_set_bool (p->state, "attest", "injecting", FALSE);
	return ac_pipeline_save (p, error);
}

/* the CRN launches with the saved session: if a killed run had sent it already, the CRN says
 * the VM is running, and the launch with this very session goes on */
static gboolean
attest_initialize (AcPipeline *p, AcCrnClient *crn, const gchar *vm, GError **error)
{
	g_autofree gchar *godh_path = ac_state_get_path (p->state, SESSION_NAME "_godh.b64");
	g_autofree gchar *blob_path = ac_state_get_path (p->state, SESSION_NAME "_session.b64");
	g_autofree gchar *godh = NULL, *blob = NULL;
	gsize godh_len = 0, blob_len = 0;
	g_autoptr (GBytes) godh_b = NULL, blob_b = NULL;
	g_autoptr (GError) init_error = NULL;
	g_autoptr (AcCrnMeasurement) already = NULL;

	if (ac_state_get_bool (p->state, "attest", "initialized"))
		return TRUE;
	if (!g_file_get_contents (godh_path, &godh, &godh_len, error)
	    || !g_file_get_contents (blob_path, &blob, &blob_len, error))
		return FALSE;
	godh_b = g_bytes_new_take (g_steal_pointer (&godh), godh_len);
	blob_b = g_bytes_new_take (g_steal_pointer (&blob), blob_len);
	ac_pipeline_report (p, "attesting", "attest/initialize", 80);
	/* only the owner can initialize: a launch waiting with a measurement is ours */
	already = ac_crn_confidential_measurement (crn, vm, 0, NULL);
	if (already == NULL
	    && !ac_crn_confidential_initialize (crn, vm, blob_b, godh_b, &init_error)) {
		if (!g_error_matches (init_error, AC_ERROR, AC_ERROR_EXISTS)) {
			g_propagate_error (error, g_steal_pointer (&init_error));
			return FALSE;
		}
		g_debug ("initialize: the CRN already runs the launch of our saved session");
	}
	ac_state_set_bool (p->state, "attest", "initialized", TRUE);
	return ac_pipeline_save (p, error);
}

/* a killed run may have verified the launch and sent the passphrase: then the VM runs and no
 * launch waits for a secret any more (*done); else *m is the measurement read, if any */
static gboolean
attest_already_injected (AcPipeline *p,
                         AcCrnClient *crn,
                         const gchar *vm,
                         AcCrnMeasurement **m,
                         gboolean *done,
                         GError **error)
{
	*done = FALSE;
	if (!ac_state_get_bool (p->state, "attest", "injecting"))
		return TRUE;
	*m = ac_crn_confidential_measurement (crn, vm, 0, NULL);
	if ((*m == NULL && crn_vm_running (crn, vm))
	    || (*m != NULL && g_strcmp0 ((*m)->state, "launch-secret") != 0
	        && measurement_is (*m, ac_state_get_string (p->state, "attest", "measurement")))) {
		ac_state_log (p->state, "attest: the VM already runs with the verified launch");
		*done = TRUE;
		return ac_pipeline_attest_done (p, error);
	}
	return TRUE;
}

/* the launch measurement, verified against the pinned firmware with the session's TIK */
static gboolean
attest_verify (AcPipeline *p,
               AcSevOwnerLaunch *launch,
               const AcCrnMeasurement *m,
               GBytes *firmware,
               const gchar *measurement_b64,
               GError **error)
{
	AcSevLaunchInputs expected = { .policy = p->tag->policy, .firmware = firmware };
	AcSevOwnerEvidence ev = { m->launch_measure, sizeof m->launch_measure,
		                  m->api_major,      m->api_minor,
		                  m->build_id,       m->policy };
	g_autoptr (GError) local_error = NULL;
	g_autoptr (GDateTime) now = NULL;
	gboolean ok;

	/* a measurement carries the launch's nonce: one already answered with a secret is a
	 * replay (after a reboot the same session's TIK still verifies it) */
	if (measurement_seen (p, m)) {
		g_set_error (error, AC_ERROR, AC_ERROR_MISMATCH,
		             "the CRN presents a launch measurement that was already answered (its "
		             "nonce is replayed); refusing to send the passphrase again for it");
		return FALSE;
	}
	/* a session made by an earlier run: its keys, from the files that run persisted */
	if (ac_sev_owner_launch_get_state (launch) == AC_TEE_LAUNCH_STATE_PLATFORM_TRUSTED
	    && !ac_sev_owner_launch_resume_session (launch, ac_state_get_dir (p->state),
	                                            SESSION_NAME, error))
		return FALSE;
	ok = ac_sev_owner_launch_verify (launch, &ev, &expected, p->config->min_api_major,
	                                 p->config->min_api_minor, &local_error);
	/* the policy and the firmware version passed: the measurement itself was compared */
	if (ac_sev_owner_launch_get_launch_digest (launch) != NULL) {
		now = g_date_time_new_now_utc ();
		g_free (p->status->attest_time);
		p->status->attest_time = g_date_time_format (now, "%Y-%m-%dT%H:%M:%SZ");
		g_free (p->status->attest_measurement);
		p->status->attest_measurement = g_strdup (measurement_b64);
		g_free (p->status->attest_tee);
		p->status->attest_tee = g_strdup (ac_tag_get_tee_name (p->tag));
		if (!ok && g_error_matches (local_error, AC_ERROR, AC_ERROR_MISMATCH)) {
			g_free (p->status->attest_verdict);
			p->status->attest_verdict = g_strdup ("mismatch");
		}
	}
	if (!ok)
		g_propagate_error (error, g_steal_pointer (&local_error));
	return ok;
}

/* the passphrase, sealed for the verified launch */
static AcTeeSealedSecret *
attest_seal (AcPipeline *p, AcSevOwnerLaunch *launch, GError **error)
{
	g_autoptr (GBytes) table = NULL;
	AcTeeSealedSecret *sealed = NULL;
	gsize passphrase_len = 0;
	guint8 *passphrase = ac_pipeline_passphrase_get (p, &passphrase_len, error);

	if (passphrase == NULL)
		return NULL;
	table = ac_sev_secret_table_build_aleph_passphrase ((const gchar *)passphrase, error);
	OPENSSL_clear_free (passphrase, passphrase_len);
	if (table == NULL || !ac_sev_owner_launch_seal (launch, table, NULL, &sealed, error))
		return NULL;
	return sealed;
}

/* the sealed passphrase sent, and every answered measurement remembered */
static gboolean
attest_inject (AcPipeline *p,
               AcCrnClient *crn,
               const gchar *vm,
               AcSevOwnerLaunch *launch,
               const gchar *measurement_b64,
               GError **error)
{
	const gchar *generation = ac_sev_owner_launch_get_verdict (launch)->generation;
	g_autoptr (AcTeeSealedSecret) sealed = NULL;
	g_autofree gchar *header_b64 = NULL, *payload_b64 = NULL;
	JsonObject *o;
	JsonArray *seen;

	ac_pipeline_report (p, "attesting", "attest/inject", 92);
	sealed = attest_seal (p, launch, error);
	if (sealed == NULL)
		return FALSE;
	header_b64 = g_base64_encode (g_bytes_get_data (sealed->header, NULL),
	                              g_bytes_get_size (sealed->header));
	payload_b64 = g_base64_encode (g_bytes_get_data (sealed->payload, NULL),
	                               g_bytes_get_size (sealed->payload));
	ac_state_set_bool (p->state, "attest", "injecting", TRUE);
	ac_state_set_string (p->state, "attest", "measurement", measurement_b64);
	ac_state_set_string (p->state, "attest", "time", p->status->attest_time);
	ac_state_set_string (p->state, "attest", "generation", generation);
	if (!ac_pipeline_save (p, error))
		return FALSE;
	if (!ac_crn_confidential_inject_secret (crn, vm, header_b64, payload_b64, error))
		return FALSE;
	/* remember every answered measurement: its nonce must never come back */
	o = ac_state_ensure_step (p->state, "attest");
	seen = json_object_has_member (o, "answered") ? json_object_get_array_member (o, "answered")
	                                              : NULL;
	if (seen == NULL) {
		seen = json_array_new ();
		json_object_set_array_member (o, "answered", seen);
	}
	json_array_add_string_element (seen, measurement_b64);
	ac_state_set_string (p->state, "attest", "measurement", measurement_b64);
	ac_state_set_string (p->state, "attest", "time", p->status->attest_time);
	ac_state_set_string (p->state, "attest", "generation", generation);
	return ac_pipeline_attest_done (p, error);
}

/* Verifies the platform and the launch, then injects the passphrase: the sequence is
 * sev/ac-sev-owner.c's, which seals only for a verified launch. */
static gboolean
attest (AcPipeline *p, AcCrnClient *crn, gboolean fresh_session, GError **error)
{
	const gchar *vm = ac_state_get_string (p->state, "instance", "hash");
	g_autoptr (AcSevOwnerLaunch) launch = NULL;
	g_autoptr (AcCrnMeasurement) m = NULL;
	g_autoptr (GBytes) firmware = NULL;
	g_autofree gchar *measurement_b64 = NULL;
	gboolean done = FALSE;

	launch = attest_platform (p, crn, error);
	if (launch == NULL)
		return FALSE;
	/* the firmware first: nothing is sent to the CRN if we cannot check its measurement */
	firmware = firmware_bytes (p, error);
	if (firmware == NULL)
		return FALSE;
	if (!attest_session (p, launch, fresh_session, error)
	    || !attest_initialize (p, crn, vm, error))
		return FALSE;
	ac_pipeline_report (p, "attesting", "attest/measurement", 85);
	if (!attest_already_injected (p, crn, vm, &m, &done, error))
		return FALSE;
	if (done)
		return TRUE;
	if (m == NULL)
		m = ac_crn_confidential_measurement (crn, vm, p->config->timeout_s * 1000, error);
	if (m == NULL)
		return FALSE;
	measurement_b64 = g_base64_encode (m->launch_measure, sizeof m->launch_measure);
	/* verified: now, and only now, the passphrase */
	return attest_verify (p, launch, m, firmware, measurement_b64, error)
	       && attest_inject (p, crn, vm, launch, measurement_b64, error);
}

gboolean
ac_pipeline_attest_step (AcPipeline *p, GError **error)
{
	g_autoptr (AcCrnClient) crn = NULL;
	if (ac_state_step_done (p->state, "attest"))
		return TRUE;
	crn = ac_pipeline_crn_client (p, error);
	if (crn == NULL)
		return FALSE;
	/* SEV: a session saved by an earlier (killed) run is reused for the same launch */
	if (p->tag->tee == AC_TEE_SNP
	        ? !ac_pipeline_snp_attest (p, crn, error)
	        : !attest (p, crn, !ac_state_get_bool (p->state, "attest", "session"), error))
		return FALSE;
	ac_pipeline_record_ipv6 (p, crn);
	return TRUE;
}

/*
 * For a running instance: when the CRN rebooted the VM, QEMU waits paused with a new
 * measurement (new mnonce) for a new secret. Verify and inject again, with the same session.
 * SEV-SNP: ac_pipeline_snp_check_running().
 */
gboolean
ac_pipeline_attest_check_running (AcPipeline *p, AcPipelineRunning *outcome, GError **error)
{
	g_autoptr (AcCrnClient) crn = NULL;
	g_autoptr (AcCrnMeasurement) m = NULL;
	g_autoptr (GError) local_error = NULL;

	if (!ac_state_step_done (p->state, "attest")) {
		*outcome = AC_PIPELINE_RUNNING_NOT_ATTESTED;
		return TRUE;
	}
	if ((crn = ac_pipeline_crn_client (p, error)) == NULL)
		return FALSE;
	if (p->tag->tee == AC_TEE_SNP)
		return ac_pipeline_snp_check_running (p, crn, outcome, error);
	m = ac_crn_confidential_measurement (
	    crn, ac_state_get_string (p->state, "instance", "hash"), 1, &local_error);
	if (g_error_matches (local_error, AC_ERROR, AC_ERROR_NETWORK)) {
		*outcome = AC_PIPELINE_RUNNING_UNREACHABLE;
		g_propagate_error (error, g_steal_pointer (&local_error));
		return FALSE;
	}
	if (m == NULL || g_strcmp0 (m->state, "launch-secret") != 0) {
		/* running (the CRN serves no measurement while the VM runs): nothing waits for a
		 * secret; the CRN may have given the VM its address since */
		if (ac_pipeline_record_ipv6 (p, crn))
			ac_pipeline_report (p, "running", "running", 100);
		return TRUE;
	}
	g_message ("domain '%s': the CRN restarted the VM (a launch waits for its secret): "
	           "attesting again",
	           p->name);
	if (!attest (p, crn, FALSE, error)) {
		ac_pipeline_report_failure (p, "failed", "attest", error != NULL ? *error : NULL);
		return FALSE;
	}
	*outcome = AC_PIPELINE_RUNNING_ATTESTED;
	ac_pipeline_report (p, "running", "running", 100);
	return TRUE;
}
