/*
 * Attest a local SEV-SNP guest: exactly as on Aleph, through the guest's agent (attested TLS,
 * plugin/aleph/ac-aleph-snp-attest.h) with the owner's SEV-SNP launch (sev/ac-snp-owner.h), whose
 * expectation is the prepared record's: its policy and its expected launch digest. Nothing of
 * the verification is repeated here.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "ac-localsev.h"
#include "ac-localsev-private.h"
#include "ac-localsev-store.h"

#include <json-glib/json-glib.h>
#include <openssl/crypto.h>
#include <string.h>

#include "ac-aleph-snp-attest.h"
#include "ac-codec.h"
#include "ac-error.h"
#include "ac-snp-owner.h"
#include "ac-time.h"

static void
snp_attest_wipe (gpointer data)
{
	GString *s = data;
	OPENSSL_cleanse (s->str, s->len);
	g_string_free (s, TRUE);
}

/* {"luks_passphrase": "…"} in memory wiped when freed */
static GBytes *
snp_attest_secrets (const gchar *passphrase)
{
	g_autoptr (JsonBuilder) b = json_builder_new ();
	g_autoptr (JsonNode) root = NULL;
	g_autoptr (JsonGenerator) gen = json_generator_new ();
	GString *out = g_string_new (NULL);

	json_builder_begin_object (b);
	json_builder_set_member_name (b, "luks_passphrase");
	json_builder_add_string_value (b, passphrase);
	json_builder_end_object (b);
	root = json_builder_get_root (b);
	json_generator_set_root (gen, root);
	json_generator_to_gstring (gen, out);
	/* the passphrase's copy in the tree goes with it */
	{
		JsonObject *o = json_node_get_object (root);
		JsonNode *v = json_object_get_member (o, "luks_passphrase");
		const gchar *copy = json_node_get_string (v);
		if (copy != NULL)
			OPENSSL_cleanse ((gpointer)copy, strlen (copy));
	}
	return g_bytes_new_with_free_func (out->str, out->len, snp_attest_wipe, out);
}

/**
 * ac_localsev_snp_attest:
 * @record: the prepared SEV-SNP launch (its policy and expected measurement are what the
 *   report must show)
 * @roots: the trusted ARKs
 * @certs: where the VCEK and its chain come from (given, or AMD KDS)
 * @agent_host: (not nullable): the agent's address, e.g. "127.0.0.1" for a port forward
 * @agent_port: its port on that address
 *
 * Returns: what was verified, or %NULL: the owner launch's errors (AC_ERROR_UNTRUSTED,
 * AC_ERROR_MISMATCH for another measurement or policy, AC_ERROR_REFUSED…), AC_ERROR_NETWORK
 * or AC_ERROR_REMOTE from the agent; %AC_ERROR_INVALID_INPUT for a record that is not an
 * SEV-SNP one or options without the owner's signer.
 */
AcLocalsevAttestation *
ac_localsev_snp_attest (const AcLocalsevOptions *opts,
                        const AcLocalsevRecord *record,
                        AcSnpRoots *roots,
                        const AcSnpCertSource *certs,
                        const gchar *agent_host,
                        guint16 agent_port,
                        const gchar *passphrase,
                        guint timeout_ms,
                        GCancellable *cancellable,
                        GError **error)
{
	g_autoptr (AcSnpOwnerLaunch) launch = NULL;
	g_autoptr (GBytes) secrets = NULL;
	g_autoptr (AcLocalsevAttestation) att = NULL;
	guint8 expected[AC_SNP_MEASUREMENT_SIZE];
	g_auto (GStrv) injected = NULL;
	const AcSnpVerifyResult *result;
	AcSnpVerifyExpect e = { 0 };

	g_return_val_if_fail (opts != NULL && record != NULL && roots != NULL && certs != NULL,
	                      NULL);
	g_return_val_if_fail (agent_host != NULL && passphrase != NULL, NULL);

	if (record->tee != AC_TEE_SNP) {
		g_set_error (
		    error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		    "domain '%s': the prepared launch is an SEV launch, not an SEV-SNP one",
		    record->domain);
		return NULL;
	}
	if (opts->snp_sign == NULL || opts->snp_owner == NULL
	    || g_ascii_strcasecmp (opts->snp_owner, record->owner) != 0) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "domain '%s': the guest accepts secrets signed by %s, whose address "
		             "is in its measured command line; the owner's key here is %s",
		             record->domain, record->owner,
		             opts->snp_owner != NULL ? opts->snp_owner : "not configured");
		return NULL;
	}
	if (!ac_codec_hex_decode_fixed ("launch record: expected-measurement",
	                                record->expected_measurement, AC_CODEC_HEX_LOWER, expected,
	                                sizeof expected, error))
		return NULL;

	/* the owner launch expects the prepared policy and launch digest, nothing else */
	ac_snp_verify_policy_init (&e.policy);
	e.policy.have_expected_policy = TRUE;
	e.policy.expected_policy = record->snp_policy;
	e.measurements = (const guint8 (*)[AC_SNP_MEASUREMENT_SIZE])expected;
	e.n_measurements = 1;
	launch = ac_snp_owner_launch_new (roots, certs, &e, opts->snp_sign, opts->snp_sign_data,
	                                  error);
	if (launch == NULL)
		return NULL;
	secrets = snp_attest_secrets (passphrase);
	injected = ac_aleph_snp_attest_unlock (agent_host, agent_port, launch, secrets, timeout_ms,
	                                       cancellable, error);
	if (injected == NULL) {
		g_prefix_error (error,
		                "domain '%s': SEV-SNP attestation through its agent at %s:%u: ",
		                record->domain, agent_host, agent_port);
		return NULL;
	}
	result = ac_snp_owner_launch_get_result (launch);
	att = g_new0 (AcLocalsevAttestation, 1);
	att->measurement
	    = ac_codec_hex_encode (result->report.measurement, AC_SNP_MEASUREMENT_SIZE);
	att->policy = (guint32)result->report.policy;
	att->generation = g_strdup (result->chain != NULL && result->chain->product_name != NULL
	                                ? result->chain->product_name
	                                : "unknown");
	att->session_id = g_strdup (record->session_id);
	att->time = ac_time_now_utc ();
	return g_steal_pointer (&att);
}

/**
 * ac_localsev_snp_attest_domain:
 * @dom: the started domain, as libvirt gives it now
 *
 * The local attest step for an SEV-SNP launch: see ac-localsev.h.
 */
AcLocalsevAttestation *
ac_localsev_snp_attest_domain (const AcLocalsevOptions *opts,
                               const AcDomain *dom,
                               const gchar *passphrase,
                               GCancellable *cancellable,
                               GError **error)
{
	g_autoptr (AcLocalsevRecord) r = NULL;
	g_autoptr (AcLocalsevAttestation) att = NULL;
	g_autoptr (AcSnpRoots) roots = NULL;
	g_autoptr (AcSnpKds) kds = NULL;
	g_autoptr (GError) error_local = NULL;
	g_autofree gchar *dir = NULL;
	AcSnpCertSource certs = { 0 };

	g_return_val_if_fail (opts != NULL && dom != NULL && passphrase != NULL, NULL);

	if (dom->name == NULL || !ac_localsev_store_check_uuid (dom->uuid, error))
		return NULL;
	dir = ac_localsev_store_domain_dir_full (opts->state_dir, dom->uuid, FALSE, error);
	if (dir == NULL)
		return NULL;
	r = ac_localsev_record_load_from (dir, dom->name, error);
	if (r == NULL)
		return NULL;
	if (r->tee != AC_TEE_SNP) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "domain '%s': the prepared launch is an SEV launch, attested with its "
		             "launch measurement, not through the guest's agent",
		             dom->name);
		return NULL;
	}
	/* the domain that runs is the one prepared (the hook checked it at its start) */
	if (!ac_localsev_gate_compare (r, dom, error))
		return NULL;
	if (opts->snp_agent_host == NULL || opts->snp_agent_port == 0) {
		g_set_error (error, AC_ERROR, AC_ERROR_NOT_FOUND,
		             "domain '%s': the guest's agent listens on its port %u; forward it to "
		             "this machine and give that address (snp-agent = HOST:PORT, "
		             "docs/snp.md#local-snp-hosts)",
		             dom->name, r->agent_port);
		return NULL;
	}
	roots = opts->snp_roots != NULL ? ac_snp_roots_ref (opts->snp_roots)
	                                : ac_snp_roots_new_builtin ();
	if (opts->snp_certs != NULL) {
		certs = *opts->snp_certs;
	} else {
		kds = ac_snp_kds_new (NULL, opts->kds_cache_dir, opts->kds_fetch,
		                      opts->kds_user_data);
		certs.kds = kds;
	}
	att = ac_localsev_snp_attest (opts, r, roots, &certs, opts->snp_agent_host,
	                              opts->snp_agent_port, passphrase, 0, cancellable, error);
	if (att == NULL)
		return NULL;
	r->state = AC_LOCALSEV_STATE_ATTESTED;
	g_free (r->state_time);
	r->state_time = g_strdup (att->time);
	g_free (r->measurement);
	r->measurement = g_strdup (att->measurement);
	if (!ac_localsev_record_save (dir, r, &error_local))
		g_warning ("domain '%s': attested, but %s", dom->name, error_local->message);
	return g_steal_pointer (&att);
}
