/*
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The local SEV service (virt-alephd, one worker per tagged domain): its options, which domains
 * are its own, and the dispatch by the state the host reports: the image and prepare of a shut
 * off domain (ac-localsev-service-prepare.c), the attestation of a started one
 * (ac-localsev-service-started.c). The passphrase is read from a local libvirt's secret store
 * (ac-localsev-service-secret.c) only to build the launch secret; every copy is cleansed, and
 * it never reaches a message, a status or the record.
 */
#include "config.h"

#include "ac-localsev-service.h"

#include <string.h>

#include "ac-error.h"
#include "ac-keyfile.h"
#include "ac-localsev-private.h"
#include "ac-localsev-service-private.h"
#include "ac-sev-cert.h"
#include "ac-virt.h"

/* ---- options -------------------------------------------------------------------------------- */

/**
 * ac_localsev_service_options_new:
 * @state_dir: (nullable): the service's state directory (NULL = the built-in default)
 * @trusted_roots: (nullable): ARK files of roots trusted besides AMD's (e.g. the devnet's);
 *   an ASK beside one, named like it with 'ask' for 'ark', is added with it
 *
 * The same trust configuration as the Aleph flow's [pipeline] section.
 */
AcLocalsevOptions *
ac_localsev_service_options_new (const gchar *state_dir,
                                 gchar **trusted_roots,
                                 guint8 min_api_major,
                                 guint8 min_api_minor,
                                 GError **error)
{
	g_autoptr (AcLocalsevOptions) opts = ac_localsev_options_new (state_dir);

	opts->min_api_major = min_api_major;
	opts->min_api_minor = min_api_minor;
	opts->roots = ac_sev_roots_new_builtin ();
	for (guint i = 0; trusted_roots != NULL && trusted_roots[i] != NULL; i++) {
		const gchar *path = trusted_roots[i];
		g_autoptr (AcAmdCert) ark = ac_amd_cert_parse_file (path, error);
		g_autoptr (AcAmdCert) ask = NULL;
		g_autofree gchar *ask_path = NULL;
		gchar *at;

		if (ark == NULL) {
			g_prefix_error (error, "trusted root %s: ", path);
			return NULL;
		}
		ask_path = g_strdup (path);
		at = g_strrstr (ask_path, "ark");
		if (at != NULL) {
			memcpy (at, "ask", 3);
			if (g_file_test (ask_path, G_FILE_TEST_EXISTS)) {
				ask = ac_amd_cert_parse_file (ask_path, error);
				if (ask == NULL) {
					g_prefix_error (error, "trusted root %s: ASK %s: ", path,
					                ask_path);
					return NULL;
				}
			}
		}
		if (!ac_sev_roots_add (opts->roots, path, ark, ask, error))
			return NULL;
	}
	return g_steal_pointer (&opts);
}

/**
 * ac_localsev_service_parse_agent:
 * @text: HOST:PORT, an IPv6 host in brackets ([::1]:8443)
 *
 * The [localsev] snp-agent value: where the SEV-SNP guest's agent port is forwarded.
 */
gboolean
ac_localsev_service_parse_agent (const gchar *text, gchar **host, guint16 *port, GError **error)
{
	g_autoptr (GSocketConnectable) addr = NULL;
	g_autoptr (GError) error_local = NULL;
	const gchar *colon = text != NULL ? strrchr (text, ':') : NULL;
	guint64 p = 0;

	if (colon == NULL || colon == text
	    || !g_ascii_string_to_unsigned (colon + 1, 10, 1, G_MAXUINT16, &p, NULL)) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "snp-agent '%s': expected HOST:PORT with a port 1-65535, such as "
		             "127.0.0.1:8443 or [::1]:8443",
		             text != NULL ? text : "");
		return FALSE;
	}
	addr = g_network_address_parse (text, 0, &error_local);
	if (addr == NULL) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "snp-agent '%s': expected HOST:PORT such as 127.0.0.1:8443: %s", text,
		             error_local->message);
		return FALSE;
	}
	*host = g_strdup (g_network_address_get_hostname (G_NETWORK_ADDRESS (addr)));
	*port = (guint16)g_network_address_get_port (G_NETWORK_ADDRESS (addr));
	return TRUE;
}

/**
 * ac_localsev_service_options_load_config:
 * @path: the service's configuration (virt-alephd.conf)
 * @required: a missing file is an error (else nothing is set)
 *
 * [localsev] snp-runtime (an absolute directory) and snp-agent (HOST:PORT) into @opts.
 */
gboolean
ac_localsev_service_options_load_config (AcLocalsevOptions *opts,
                                         const gchar *path,
                                         gboolean required,
                                         GError **error)
{
	g_autoptr (GKeyFile) kf = g_key_file_new ();
	g_autoptr (GError) error_local = NULL;
	g_autofree gchar *runtime = NULL;
	g_autofree gchar *agent = NULL;

	g_return_val_if_fail (opts != NULL && path != NULL, FALSE);
	if (!ac_key_file_load_strict (kf, path, ac_service_config_keys, &error_local)) {
		if (!required && g_error_matches (error_local, AC_ERROR, AC_ERROR_NOT_FOUND))
			return TRUE;
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT, "config %s",
		             error_local->message);
		return FALSE;
	}
	runtime = g_key_file_get_string (kf, "localsev", "snp-runtime", NULL);
	if (runtime != NULL) {
		if (!g_path_is_absolute (runtime)) {
			g_set_error (
			    error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			    "config %s: [localsev] snp-runtime '%s': expected the absolute "
			    "path of a local SEV-SNP runtime directory",
			    path, runtime);
			return FALSE;
		}
		g_free (opts->snp_runtime);
		opts->snp_runtime = g_steal_pointer (&runtime);
	}
	agent = g_key_file_get_string (kf, "localsev", "snp-agent", NULL);
	if (agent != NULL) {
		g_autofree gchar *host = NULL;
		guint16 port = 0;
		if (!ac_localsev_service_parse_agent (agent, &host, &port, error)) {
			g_prefix_error (error, "config %s: [localsev] ", path);
			return FALSE;
		}
		g_free (opts->snp_agent_host);
		opts->snp_agent_host = g_steal_pointer (&host);
		opts->snp_agent_port = port;
	}
	return TRUE;
}

/* ---- which domains are ours --------------------------------------------------------------- */

gboolean
ac_localsev_service_host_has_sev (AcSevHost *host)
{
	g_autoptr (AcSevHostInfo) info = NULL;
	g_autoptr (GError) error = NULL;

	g_return_val_if_fail (AC_IS_SEV_HOST (host), FALSE);
	info = ac_sev_host_get_sev_info (host, &error);
	if (info == NULL) {
		g_debug ("host %s: no SEV: %s", ac_sev_host_get_name (host), error->message);
		return FALSE;
	}
	return TRUE;
}

/**
 * ac_localsev_service_snp_check_host:
 *
 * Whether @host can launch the SEV-SNP guest this flow prepares: what its libvirt says
 * (versions, domain capabilities) against ac_localsev_snp_check_host(). %AC_ERROR_UNSUPPORTED
 * naming the versions needed and found otherwise.
 */
gboolean
ac_localsev_service_snp_check_host (AcSevHost *host, GError **error)
{
	g_autoptr (AcSevHostSnpFacts) facts = NULL;
	g_autoptr (GError) error_local = NULL;
	guint cbitpos = 0, rpb = 0;

	g_return_val_if_fail (AC_IS_SEV_HOST (host), FALSE);
	facts = ac_sev_host_get_snp_facts (host, &error_local);
	if (facts == NULL) {
		g_set_error (
		    error, AC_ERROR, AC_ERROR_UNSUPPORTED,
		    "host %s cannot tell whether it launches SEV-SNP guests (the local "
		    "SEV-SNP flow needs libvirt >= 10.5.0 and QEMU >= 9.1.0 with 'sev-snp' "
		    "in its domain capabilities): %s",
		    ac_sev_host_get_name (host), error_local->message);
		return FALSE;
	}
	return ac_localsev_snp_check_host (ac_sev_host_get_name (host), facts, &cbitpos, &rpb,
	                                   error);
}

gboolean
ac_localsev_service_host_has_snp (AcSevHost *host)
{
	g_autoptr (GError) error = NULL;

	if (!ac_localsev_service_snp_check_host (host, &error)) {
		g_debug ("%s", error->message);
		return FALSE;
	}
	return TRUE;
}

/**
 * ac_localsev_service_applies:
 *
 * Whether the local flow runs this tagged domain: no <aleph:publish> (the Aleph flow's), and
 * the local mode after defaults is `sev` (`test` and `deny` are the hook's business alone).
 * An unset mode is `sev` only when the host has the tag's TEE: SEV for an SEV tag, SEV-SNP
 * (ac_localsev_service_snp_check_host()) for an SNP tag, which is only ever launched as an
 * SEV-SNP guest. An SNP tag with mode `sev` on a host without SEV-SNP is the flow's too: it
 * refuses it with what the host lacks.
 */
gboolean
ac_localsev_service_applies (AcSevHost *host, const AcTag *tag)
{
	gboolean has_tee;

	g_return_val_if_fail (AC_IS_SEV_HOST (host), FALSE);
	g_return_val_if_fail (tag != NULL, FALSE);

	if (tag->publish != NULL)
		return FALSE;
	switch (tag->local_mode) {
	case AC_LOCAL_MODE_SEV:
		return TRUE;
	case AC_LOCAL_MODE_UNSET:
		has_tee = tag->tee == AC_TEE_SNP ? ac_localsev_service_host_has_snp (host)
		                                 : ac_localsev_service_host_has_sev (host);
		return ac_tag_get_effective_local_mode (tag, has_tee) == AC_LOCAL_MODE_SEV;
	case AC_LOCAL_MODE_TEST:
	case AC_LOCAL_MODE_DENY:
	default:
		return FALSE;
	}
}

/* ---- helpers -------------------------------------------------------------------------------- */

/* the domain model of @xml, read once for the whole run, and a refusal for a domain this
 * flow does not run (no valid tag, published, or a local mode other than sev) */
AcDomain *
ac_localsev_service_domain (const gchar *name, const gchar *xml, GError **error)
{
	g_autoptr (AcDomain) domain = ac_domain_parse (xml, -1, error);
	const AcTag *tag;

	if (domain != NULL && domain->tag == NULL)
		g_propagate_error (error, g_error_copy (domain->tag_error));
	if (domain == NULL || domain->tag == NULL) {
		g_prefix_error (error, "domain '%s': ", name);
		return NULL;
	}
	tag = domain->tag;
	if (tag->publish != NULL) {
		g_set_error (
		    error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		    "domain '%s' has <aleph:publish>: the Aleph flow runs it, not the local "
		    "SEV flow",
		    name);
		return NULL;
	}
	if (tag->local_mode == AC_LOCAL_MODE_TEST || tag->local_mode == AC_LOCAL_MODE_DENY) {
		g_set_error (
		    error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		    "domain '%s' has <aleph:local mode='%s'/>: the local SEV flow runs only "
		    "mode 'sev'",
		    name, ac_local_mode_to_string (tag->local_mode));
		return NULL;
	}
	return g_steal_pointer (&domain);
}

gboolean
ac_localsev_service_uuid (virDomainPtr dom, gchar **uuid_out, GError **error)
{
	char uuid[VIR_UUID_STRING_BUFLEN];
	if (virDomainGetUUIDString (dom, uuid) < 0) {
		ac_virt_set_error (error, "cannot read the UUID of domain '%s'",
		                   virDomainGetName (dom));
		return FALSE;
	}
	*uuid_out = g_ascii_strdown (uuid, -1);
	return TRUE;
}

/* ---- dispatch ----------------------------------------------------------------------------- */

/**
 * ac_localsev_service_reconcile_full:
 *
 * What virt-alephd calls (from a worker thread) for every event of a domain this flow runs
 * (ac_localsev_service_applies()): by the state the host reports, the image and prepare (shut
 * off) or attest (started).
 */
gboolean
ac_localsev_service_reconcile_full (AcSevHost *host,
                                    const AcLocalsevOptions *opts,
                                    const AcLocalsevServiceRun *run,
                                    virConnectPtr secrets_conn,
                                    virDomainPtr dom,
                                    const AcStatus *current,
                                    AcStatus **status,
                                    GError **error)
{
	g_autoptr (GError) failure = NULL;
	g_autofree gchar *uuid = NULL;
	AcSevDomainState state = AC_SEV_DOMAIN_STATE_OTHER;

	g_return_val_if_fail (AC_IS_SEV_HOST (host), FALSE);
	g_return_val_if_fail (dom != NULL, FALSE);
	g_return_val_if_fail (status != NULL, FALSE);

	if (!ac_localsev_service_uuid (dom, &uuid, &failure)
	    || !ac_sev_host_get_domain_state (host, uuid, &state, &failure))
		return ac_localsev_service_status_fail (current, "prepare", status, error,
		                                        g_steal_pointer (&failure));
	if (state == AC_SEV_DOMAIN_STATE_SHUTOFF)
		return ac_localsev_service_prepare_run (host, opts, run, secrets_conn, dom, current,
		                                        NULL, status, error);
	return ac_localsev_service_started_run (host, opts, secrets_conn, dom, FALSE,
	                                        run != NULL ? run->cancellable : NULL, current,
	                                        status, error);
}

/**
 * ac_localsev_service_reconcile:
 *
 * ac_localsev_service_reconcile_full() without intermediate statuses or cancellation.
 */
gboolean
ac_localsev_service_reconcile (AcSevHost *host,
                               const AcLocalsevOptions *opts,
                               virConnectPtr secrets_conn,
                               virDomainPtr dom,
                               const AcStatus *current,
                               AcStatus **status,
                               GError **error)
{
	return ac_localsev_service_reconcile_full (host, opts, NULL, secrets_conn, dom, current,
	                                           status, error);
}
