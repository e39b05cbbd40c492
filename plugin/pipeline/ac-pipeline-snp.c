/*
 * The Aleph flow's SEV-SNP steps: the runtime the INSTANCE names (its manifest and bundle
 * fetched and checked, the launch digests computed here, never taken from anyone), and the
 * attestation over TLS to the guest's agent, after which, and only after which, the passphrase
 * leaves (plugin/aleph/ac-aleph-snp-attest.h, with the one verification of sev/).
 *
 * State: "runtime" {ref, owner, vcpus, port, measurements[{vcpu_type, launch}]} — done once
 * per tag and account, before the build (a bad runtime costs no build); "attest" {measurement,
 * product, chip, tcb, key (SHA-384 of the agent's TLS key), time} — a killed attestation
 * simply starts over with a new nonce (the agent accepts a second injection).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "ac-pipeline-private.h"

#include <openssl/crypto.h>
#include <string.h>

#include "ac-aleph-snp-attest.h"
#include "ac-aleph-snp-inject.h"
#include "ac-aleph-tee.h"
#include "ac-aleph-util.h"
#include "ac-codec.h"
#include "ac-error.h"
#include "ac-file.h"
#include "ac-snp-owner.h"
#include "ac-snp-runtime.h"
#include "ac-time.h"

const gchar *
ac_pipeline_snp_runtime_ref (AcPipeline *p)
{
	return p->tag->snp_runtime != NULL ? p->tag->snp_runtime : p->config->snp_runtime;
}

/* ---- runtime ---------------------------------------------------------------------------- */

static gboolean
runtime_current (AcPipeline *p, const gchar *ref, const gchar *owner, guint vcpus)
{
	JsonObject *o = ac_state_get_step (p->state, "runtime");
	return ac_state_step_done (p->state, "runtime")
	       && g_strcmp0 (ac_state_get_string (p->state, "runtime", "ref"), ref) == 0
	       && ac_eth_address_equal (ac_state_get_string (p->state, "runtime", "owner"), owner)
	       && ac_state_get_int (p->state, "runtime", "vcpus") == (gint64)vcpus && o != NULL
	       && json_object_has_member (o, "measurements");
}

gboolean
ac_pipeline_snp_runtime_step (AcPipeline *p, GError **error)
{
	const gchar *ref = ac_pipeline_snp_runtime_ref (p);
	g_autoptr (GBytes) manifest = NULL;
	g_autoptr (AcSnpRuntime) rt = NULL;
	g_autoptr (GBytes) bundle = NULL;
	AcSnpRuntimeFiles files = { 0 };
	g_autofree AcSnpRuntimeMeasurement *m = NULL;
	guint n = 0;
	const gchar *owner;
	guint vcpus;
	JsonObject *o;
	JsonArray *arr;
	gboolean ok;

	if (p->tag->tee != AC_TEE_SNP)
		return TRUE;
	if (ref == NULL)
		return ac_pipeline_snp_check_config (p, error);
	if (!ac_pipeline_ensure_clients (p, error))
		return FALSE;
	/* the owner rendered into the measured command line signs the INSTANCE: this account */
	owner = ac_eth_account_get_address (p->account);
	vcpus = ac_pipeline_instance_vcpus (p);
	if (runtime_current (p, ref, owner, vcpus))
		return TRUE;
	ac_pipeline_report (p, "publishing", "publish/runtime", 52);
	manifest = ac_ccn_fetch_stored (p->ccn, "runtime manifest", ref, AC_SNP_RUNTIME_MAX_SIZE,
	                                NULL, error);
	if (manifest == NULL)
		return FALSE;
	rt = ac_snp_runtime_parse (g_bytes_get_data (manifest, NULL), g_bytes_get_size (manifest),
	                           error);
	if (rt == NULL) {
		g_prefix_error (error, "runtime %s: ", ref);
		return FALSE;
	}
	bundle = ac_ccn_fetch_stored (p->ccn, "runtime bundle", rt->bundle_ref, rt->bundle_size,
	                              NULL, error);
	if (bundle == NULL)
		return FALSE;
	/* size and SHA-256 before a byte of it is decompressed */
	if (!ac_snp_runtime_check_bundle (rt, bundle, error)
	    || !ac_snp_runtime_extract (rt, bundle, &files, error))
		return FALSE;
	ok = ac_snp_runtime_expected_measurements (rt, &files, owner, vcpus, &m, &n, error);
	ac_snp_runtime_files_clear (&files);
	if (!ok) {
		g_prefix_error (error, "runtime %s: ", ref);
		return FALSE;
	}
	ac_state_reset_step (p->state, "runtime");
	ac_state_set_string (p->state, "runtime", "ref", ref);
	ac_state_set_string (p->state, "runtime", "owner", owner);
	ac_state_set_int (p->state, "runtime", "vcpus", vcpus);
	ac_state_set_int (p->state, "runtime", "port", rt->attestation_port);
	if (rt->name != NULL)
		ac_state_set_string (p->state, "runtime", "name", rt->name);
	o = ac_state_ensure_step (p->state, "runtime");
	arr = json_array_new ();
	for (guint i = 0; i < n; i++) {
		JsonObject *e = json_object_new ();
		g_autofree gchar *hex = ac_codec_hex_encode (m[i].launch, sizeof m[i].launch);
		json_object_set_string_member (e, "vcpu_type", m[i].vcpu_type);
		json_object_set_string_member (e, "launch", hex);
		json_array_add_object_element (arr, e);
		ac_state_log (p->state, "runtime %s: expected launch digest for %s: %s", ref,
		              m[i].vcpu_type, hex);
	}
	json_object_set_array_member (o, "measurements", arr);
	ac_state_mark_done (p->state, "runtime");
	/* another runtime or owner is another INSTANCE */
	if (!ac_state_get_bool (p->state, "instance", "posted"))
		ac_state_reset_step (p->state, "instance");
	return ac_pipeline_save (p, error);
}

/* the expected launch digests the runtime step computed, for the INSTANCE and the launch */
static guint
runtime_measurements (AcPipeline *p, AcAlephSnpMeasurement **out, GError **error)
{
	JsonObject *o = ac_state_get_step (p->state, "runtime");
	JsonArray *arr = o != NULL && json_object_has_member (o, "measurements")
	                     ? json_object_get_array_member (o, "measurements")
	                     : NULL;
	guint n = arr != NULL ? json_array_get_length (arr) : 0;
	g_autofree AcAlephSnpMeasurement *m = NULL;

	if (n == 0 || n > AC_ALEPH_MAX_MEASUREMENTS) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_INTERNAL,
		                     "the runtime step recorded no expected measurement");
		return 0;
	}
	m = g_new0 (AcAlephSnpMeasurement, n);
	for (guint i = 0; i < n; i++) {
		JsonObject *e = json_array_get_object_element (arr, i);
		m[i].vcpu_type = json_object_get_string_member_with_default (e, "vcpu_type", NULL);
		if (!ac_codec_hex_decode_fixed (
		        "runtime measurement",
		        json_object_get_string_member_with_default (e, "launch", ""),
		        AC_CODEC_HEX_LOWER, m[i].launch, sizeof m[i].launch, error))
			return 0;
	}
	*out = g_steal_pointer (&m);
	return n;
}

gboolean
ac_pipeline_snp_add_tee (AcPipeline *p, JsonBuilder *b, GError **error)
{
	g_autofree AcAlephSnpMeasurement *m = NULL;
	guint n = runtime_measurements (p, &m, error);
	return n > 0
	       && ac_aleph_tee_add_snp (b, p->tag->snp_policy, ac_pipeline_snp_runtime_ref (p), m,
	                                n, error);
}

/* ---- attestation ---------------------------------------------------------------------- */

/* the built-in AMD ARKs and the configuration's (the devnet's software ARK) */
static AcSnpRoots *
snp_roots (AcPipeline *p, GError **error)
{
	g_autoptr (AcSnpRoots) roots = ac_snp_roots_new_builtin ();
	for (guint i = 0;
	     p->config->snp_trusted_arks != NULL && p->config->snp_trusted_arks[i] != NULL; i++) {
		const gchar *path = p->config->snp_trusted_arks[i];
		g_autoptr (GBytes) b = ac_file_read_bytes (path, 64 * 1024, error);
		g_autoptr (AcSnpCert) ark = NULL;
		if (b != NULL)
			ark = ac_snp_cert_parse (g_bytes_get_data (b, NULL), g_bytes_get_size (b),
			                         path, error);
		if (ark == NULL
		    || !ac_snp_roots_add_trusted (roots, ac_snp_cert_get_product (ark), ark,
		                                  error)) {
			g_prefix_error (error, "[pipeline] snp-trusted-arks: ");
			return NULL;
		}
	}
	return g_steal_pointer (&roots);
}

/* what the attestation needs is there, before anything is built: a runtime, readable roots */
gboolean
ac_pipeline_snp_check_config (AcPipeline *p, GError **error)
{
	g_autoptr (AcSnpRoots) roots = NULL;

	if (ac_pipeline_snp_runtime_ref (p) == NULL) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		                     "<aleph:sev type='snp'> needs the runtime it boots: "
		                     "runtime='<STORE item hash of an aleph-instance-runtime/1 "
		                     "manifest>' on the tag, or [pipeline] snp-runtime in the "
		                     "service's configuration (the devnet prints its own in its "
		                     "ready line, snp.runtime)");
		return FALSE;
	}
	roots = snp_roots (p, error);
	return roots != NULL;
}

typedef struct {
	AcSnpRoots *roots;
	AcSnpKds *kds;
	AcAlephSnpMeasurement *measurements;
	guint8 (*launch)[AC_SNP_MEASUREMENT_SIZE];
	AcSnpOwnerLaunch *owner;
	gchar *host; /* the agent's address */
	guint16 port;
} SnpLaunch;

static void
snp_launch_clear (SnpLaunch *l)
{
	g_clear_pointer (&l->owner, ac_snp_owner_launch_free);
	g_clear_pointer (&l->roots, ac_snp_roots_unref);
	g_clear_pointer (&l->kds, ac_snp_kds_free);
	g_clear_pointer (&l->measurements, g_free);
	g_clear_pointer (&l->launch, g_free);
	g_clear_pointer (&l->host, g_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (SnpLaunch, snp_launch_clear)

/* a new launch for this instance: its policy, the runtime's measurements, the owner's key */
static gboolean
snp_launch_new (AcPipeline *p, SnpLaunch *l, GError **error)
{
	g_autofree gchar *cache = g_build_filename (p->config->state_dir, "kds", NULL);
	AcSnpVerifyExpect expect = { 0 };
	AcSnpCertSource certs = { 0 };
	guint n;

	l->roots = snp_roots (p, error);
	if (l->roots == NULL)
		return FALSE;
	n = runtime_measurements (p, &l->measurements, error);
	if (n == 0)
		return FALSE;
	l->launch = g_malloc0_n (n, AC_SNP_MEASUREMENT_SIZE);
	for (guint i = 0; i < n; i++)
		memcpy (l->launch[i], l->measurements[i].launch, AC_SNP_MEASUREMENT_SIZE);
	l->kds = ac_snp_kds_new (p->config->snp_kds, cache, ac_aleph_kds_fetch, p->http);
	certs.kds = l->kds;
	certs.check_crl = TRUE; /* the ARK's CRL from the KDS: a revoked ASK is refused */
	ac_snp_verify_policy_init (&expect.policy);
	expect.policy.have_expected_policy = TRUE;
	expect.policy.expected_policy = p->tag->snp_policy;
	if (p->config->snp_min_tcb != NULL) {
		if (!ac_snp_verify_policy_parse_tcb (p->config->snp_min_tcb,
		                                     "[pipeline] snp-min-tcb",
		                                     &expect.policy.min_tcb, error))
			return FALSE;
		expect.policy.have_min_tcb = TRUE;
	}
	expect.measurements = (const guint8 (*)[AC_SNP_MEASUREMENT_SIZE])l->launch;
	expect.n_measurements = n;
	l->owner = ac_snp_owner_launch_new (l->roots, &certs, &expect, ac_aleph_snp_inject_sign,
	                                    p->account, error);
	return l->owner != NULL;
}

/* the agent's address: the CRN's host address and the port it maps to the runtime's */
static gboolean
find_agent (AcPipeline *p,
            AcCrnClient *crn,
            guint timeout_ms,
            gchar **host,
            guint16 *port,
            GError **error)
{
	const gchar *vm = ac_state_get_string (p->state, "instance", "hash");
	guint16 guest_port = (guint16)ac_state_get_int (p->state, "runtime", "port");
	gint64 deadline = g_get_monotonic_time () + (gint64)timeout_ms * 1000;
	guint delay = p->config->poll_first_ms;

	for (;;) {
		g_autoptr (GError) local_error = NULL;
		g_autoptr (GPtrArray) list = ac_crn_list_executions (crn, &local_error);
		for (guint i = 0; list != NULL && i < list->len; i++) {
			AcCrnExecution *e = g_ptr_array_index (list, i);
			guint16 mapped;
			if (g_strcmp0 (e->vm_hash, vm) != 0)
				continue;
			mapped = ac_crn_execution_mapped_port (e, guest_port);
			if (e->host_ipv4 == NULL || mapped == 0)
				break;
			/* an address, never a name to resolve: the CRN chose it */
			if (!g_hostname_is_ip_address (e->host_ipv4)) {
				g_set_error (
				    error, AC_ERROR, AC_ERROR_REMOTE,
				    "the CRN gives '%s' as the VM's host address, not an IP "
				    "address",
				    e->host_ipv4);
				return FALSE;
			}
			*host = g_strdup (e->host_ipv4);
			*port = mapped;
			return TRUE;
		}
		if (g_cancellable_is_cancelled (p->cancellable)) {
			g_set_error_literal (error, AC_ERROR, AC_ERROR_CANCELLED, "interrupted");
			return FALSE;
		}
		if (g_get_monotonic_time () >= deadline) {
			if (local_error != NULL)
				g_propagate_prefixed_error (
				    error, g_steal_pointer (&local_error),
				    "the CRN's execution list (looking for the VM's agent): ");
			else
				g_set_error (error, AC_ERROR, AC_ERROR_REMOTE,
				             "the CRN does not list VM %s with its address and the "
				             "port mapped to the agent's %u after %u s",
				             vm, guest_port, timeout_ms / 1000);
			return FALSE;
		}
		g_usleep ((gulong)delay * 1000);
		delay = MIN (delay * 2, p->config->poll_max_ms);
	}
}

static gchar *
pk_digest (AcSnpOwnerLaunch *launch)
{
	return g_compute_checksum_for_data (
	    G_CHECKSUM_SHA384, ac_snp_owner_launch_get_pk_raw (launch), AC_SNP_RATLS_PK_RAW_SIZE);
}

/* what the verified report says, into the status and the state */
static void
record_verified (AcPipeline *p, SnpLaunch *l)
{
	const AcSnpVerifyResult *r = ac_snp_owner_launch_get_result (l->owner);
	const gchar *vcpu_type = l->measurements[r->measurement_index].vcpu_type;
	g_autofree gchar *measurement
	    = ac_codec_hex_encode (r->report.measurement, sizeof r->report.measurement);
	g_autofree gchar *chip = ac_codec_hex_encode (r->report.chip_id, sizeof r->report.chip_id);
	g_autofree gchar *time = ac_time_now_utc ();
	const gchar *product = ac_snp_product_to_string (r->chain->product);
	g_autofree gchar *tcb = ac_snp_tcb_to_string (&r->chain->tcb, r->chain->product);
	g_autofree gchar *key = pk_digest (l->owner);

	g_free (p->status->attest_time);
	p->status->attest_time = g_strdup (time);
	g_free (p->status->attest_measurement);
	p->status->attest_measurement = g_strdup (measurement);
	g_free (p->status->attest_generation);
	p->status->attest_generation = g_strdup (product);
	g_free (p->status->attest_tee);
	p->status->attest_tee = g_strdup (ac_tag_get_tee_name (p->tag));
	ac_state_set_string (p->state, "attest", "time", time);
	ac_state_set_string (p->state, "attest", "measurement", measurement);
	ac_state_set_string (p->state, "attest", "generation", product);
	ac_state_set_string (p->state, "attest", "chip", chip);
	ac_state_set_string (p->state, "attest", "tcb", tcb);
	ac_state_set_string (p->state, "attest", "key", key);
	ac_state_log (
	    p->state,
	    "attest: report verified: %s chip %.16s…, TCB %s, policy 0x%" G_GINT64_MODIFIER
	    "x, launch digest %s (%s), TLS key SHA-384 %.16s…",
	    product, chip, tcb, r->report.policy, measurement,
	    vcpu_type != NULL ? vcpu_type : "no CPU model", key);
}

static GBytes *
secrets_json (AcPipeline *p, GError **error)
{
	g_autoptr (AcSnpSecrets) secrets = ac_snp_secrets_new ();
	gsize len = 0;
	guint8 *passphrase = ac_pipeline_passphrase_get (p, &len, error);
	gboolean ok;

	if (passphrase == NULL)
		return NULL;
	ok = ac_snp_secrets_add (secrets, "luks_passphrase", (const gchar *)passphrase, len, error);
	OPENSSL_clear_free (passphrase, len);
	return ok ? ac_snp_secrets_to_canonical (secrets) : NULL;
}

/* the agent found, a new launch, and its report verified (steps 1-2: nothing secret sent);
 * @report: the steps go into the status (not for the checks of a running instance) */
static gboolean
snp_verify (AcPipeline *p, AcCrnClient *crn, gboolean report, SnpLaunch *l, GError **error)
{
	g_autoptr (GError) local_error = NULL;

	if (report)
		ac_pipeline_report (p, "attesting", "attest/agent", 75);
	/* a running instance's check does not wait for a VM the CRN does not list (yet) */
	if (!find_agent (p, crn, report ? p->config->timeout_s * 1000 : 0, &l->host, &l->port,
	                 error)
	    || !snp_launch_new (p, l, error))
		return FALSE;
	if (report)
		ac_pipeline_report (p, "attesting", "attest/verify", 85);
	if (!ac_aleph_snp_attest (l->host, l->port, l->owner, p->config->timeout_s * 1000,
	                          p->cancellable, &local_error)) {
		if (g_error_matches (local_error, AC_ERROR, AC_ERROR_MISMATCH)
		    || g_error_matches (local_error, AC_ERROR, AC_ERROR_UNTRUSTED)
		    || g_error_matches (local_error, AC_ERROR, AC_ERROR_REFUSED)) {
			g_free (p->status->attest_verdict);
			p->status->attest_verdict = g_strdup (
			    g_error_matches (local_error, AC_ERROR, AC_ERROR_MISMATCH) ? "mismatch"
			                                                               : "refused");
		}
		g_propagate_error (error, g_steal_pointer (&local_error));
		return FALSE;
	}
	return TRUE;
}

/* step 3, for the launch snp_verify() verified: now, and only now, the passphrase */
static gboolean
snp_inject (AcPipeline *p, SnpLaunch *l, GError **error)
{
	g_autoptr (GBytes) secrets = NULL;
	g_auto (GStrv) injected = NULL;

	record_verified (p, l);
	if (!ac_pipeline_save (p, error))
		return FALSE;
	ac_pipeline_report (p, "attesting", "attest/inject", 92);
	secrets = secrets_json (p, error);
	if (secrets == NULL)
		return FALSE;
	injected = ac_aleph_snp_attest_inject (l->host, l->port, l->owner, secrets,
	                                       p->config->timeout_s * 1000, p->cancellable, error);
	if (injected == NULL)
		return FALSE;
	ac_state_log (p->state, "attest: the agent at %s:%u took the passphrase", l->host, l->port);
	return ac_pipeline_attest_done (p, error);
}

gboolean
ac_pipeline_snp_attest (AcPipeline *p, AcCrnClient *crn, GError **error)
{
	g_auto (SnpLaunch) l = { 0 };

	return snp_verify (p, crn, TRUE, &l, error) && snp_inject (p, &l, error);
}

/*
 * For a running SNP instance: the agent attested again. A TLS key other than the one the
 * passphrase went to means a new boot (each boot makes its own key), whose initrd waits for
 * the passphrase: it goes to that boot, verified like the first.
 */
gboolean
ac_pipeline_snp_check_running (AcPipeline *p,
                               AcCrnClient *crn,
                               AcPipelineRunning *outcome,
                               GError **error)
{
	g_auto (SnpLaunch) l = { 0 };
	g_autoptr (GError) local_error = NULL;
	g_autofree gchar *key = NULL;

	if (!snp_verify (p, crn, FALSE, &l, &local_error)) {
		if (g_error_matches (local_error, AC_ERROR, AC_ERROR_NETWORK)
		    || g_error_matches (local_error, AC_ERROR, AC_ERROR_REMOTE)) {
			/* unreachable for now (a reboot in progress) */
			*outcome = AC_PIPELINE_RUNNING_UNREACHABLE;
			g_propagate_error (error, g_steal_pointer (&local_error));
			return FALSE;
		}
		ac_pipeline_report_failure (p, "failed", "attest", local_error);
		g_propagate_error (error, g_steal_pointer (&local_error));
		return FALSE;
	}
	key = pk_digest (l.owner);
	if (g_strcmp0 (key, ac_state_get_string (p->state, "attest", "key")) == 0) {
		if (ac_pipeline_record_ipv6 (p, crn))
			ac_pipeline_report (p, "running", "running", 100);
		return TRUE;
	}
	g_message ("domain '%s': the agent serves a new TLS key (the VM booted again): the "
	           "passphrase goes to the new boot, verified",
	           p->name);
	/* not attested until the new boot has it: a kill here resumes with the attest step */
	ac_state_reset_step (p->state, "attest");
	if (!snp_inject (p, &l, &local_error)) {
		ac_pipeline_report_failure (p, "failed", "attest", local_error);
		g_propagate_error (error, g_steal_pointer (&local_error));
		return FALSE;
	}
	*outcome = AC_PIPELINE_RUNNING_ATTESTED;
	ac_pipeline_report (p, "running", "running", 100);
	return TRUE;
}
