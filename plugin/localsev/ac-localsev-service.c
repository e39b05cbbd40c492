/*
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The passphrase is read from a local libvirt's secret store only to build the launch secret;
 * every copy is cleansed, and it never reaches a message, a status or the record.
 */
#include "config.h"

#include "ac-localsev-service.h"

#include <libvirt/virterror.h>
#include <openssl/crypto.h>
#include <string.h>

#include "ac-error.h"
#include "ac-keyfile.h"
#include "ac-time.h"
#include "ac-codec.h"
#include "ac-localsev-domain.h"
#include "ac-localsev-image.h"
#include "ac-localsev-pin.h"
#include "ac-localsev-private.h"
#include "ac-localsev-service-private.h"
#include "ac-secret-store.h"
#include "ac-sev-cert.h"
#include "ac-virt.h"

G_DEFINE_AUTOPTR_CLEANUP_FUNC (virSecret, virSecretFree)

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

/* ---- where the passphrase lives ------------------------------------------------------------ */

/**
 * ac_localsev_service_secrets_connect:
 * @conn: (nullable): the connection the service manages domains through; only used (and
 *   then required) when @secrets_uri is NULL
 * @secrets_uri: (nullable): the configured local libvirt for the passphrase
 *
 * The rule of ac_secret_store_connect(), the one place that says which libvirt may keep a
 * passphrase.
 *
 * Returns: (transfer full): a connection to a libvirt on this machine, never a remote host's.
 */
virConnectPtr
ac_localsev_service_secrets_connect (virConnectPtr conn, const gchar *secrets_uri, GError **error)
{
	g_return_val_if_fail (conn != NULL || secrets_uri != NULL, NULL);
	return ac_secret_store_connect (conn, secrets_uri, error);
}

static void
ac_localsev_service_no_secret (GError **error, const gchar *domain, const gchar *source)
{
	g_set_error (
	    error, AC_ERROR, AC_ERROR_NOT_FOUND,
	    "domain '%s': no disk passphrase in libvirt's secret store for the disk %s "
	    "(a secret with <usage type='volume'><volume>%s</volume></usage>). The local "
	    "SEV flow injects the passphrase of an encrypted image: virt-alephd builds one "
	    "from the disk while the domain is shut off, or build it yourself with "
	    "'virt-aleph build --secret' and point the domain's disk at it; nothing was "
	    "prepared or injected",
	    domain, source, source);
}

/* the secret whose usage is the disk: NOT_FOUND when there is none, LIBVIRT when the store
 * cannot be asked (a driver without secrets, a lost connection) */
static virSecretPtr
ac_localsev_service_lookup_secret (virConnectPtr secrets_conn,
                                   virDomainPtr dom,
                                   const gchar *source,
                                   GError **error)
{
	g_autoptr (virConnect) own = NULL;
	const gchar *domain = virDomainGetName (dom);
	virSecretPtr secret;

	/* none given: the domain's own libvirt, when it is on this machine */
	if (secrets_conn == NULL) {
		own = ac_localsev_service_secrets_connect (virDomainGetConnect (dom), NULL, error);
		if (own == NULL)
			return NULL;
		secrets_conn = own;
	}
	secret = virSecretLookupByUsage (secrets_conn, VIR_SECRET_USAGE_TYPE_VOLUME, source);
	if (secret != NULL)
		return secret;
	if (virGetLastErrorCode () == VIR_ERR_NO_SECRET) {
		virResetLastError ();
		ac_localsev_service_no_secret (error, domain, source);
		return NULL;
	}
	ac_virt_set_error (
	    error,
	    "domain '%s': cannot look up the disk passphrase of %s in libvirt's secret "
	    "store",
	    domain, source);
	return NULL;
}

/* fail closed when the disk has no passphrase secret, before anything is prepared */
static gboolean
ac_localsev_service_has_secret (virConnectPtr secrets_conn,
                                virDomainPtr dom,
                                const gchar *source,
                                GError **error)
{
	g_autoptr (virSecret) secret = NULL;

	secret = ac_localsev_service_lookup_secret (secrets_conn, dom, source, error);
	return secret != NULL;
}

/* Returns: (transfer full): the passphrase as a C string in OPENSSL_malloc'd memory, for
 * OPENSSL_clear_free() */
static gchar *
ac_localsev_service_read_passphrase (virConnectPtr secrets_conn,
                                     const gchar *state_dir,
                                     virDomainPtr dom,
                                     const gchar *source,
                                     gsize *len_out,
                                     GError **error)
{
	g_autoptr (virSecret) secret = NULL;
	const gchar *domain = virDomainGetName (dom);
	char uuid[VIR_UUID_STRING_BUFLEN];
	guint8 *value;
	gsize n = 0;

	secret = ac_localsev_service_lookup_secret (secrets_conn, dom, source, error);
	if (secret == NULL)
		return NULL;
	if (virSecretGetUUIDString (secret, uuid) < 0) {
		ac_virt_set_error (
		    error, "domain '%s': cannot read the UUID of the passphrase secret of %s",
		    domain, source);
		return NULL;
	}
	value = ac_secret_store_get (virSecretGetConnect (secret), state_dir, uuid, &n, error);
	if (value == NULL) {
		g_prefix_error (error, "domain '%s': disk %s: ", domain, source);
		return NULL;
	}
	if (n == 0 || memchr (value, '\0', n) != NULL) {
		OPENSSL_clear_free (value, n + 1);
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "domain '%s': the passphrase secret of disk %s is %s; expected a "
		             "non-empty passphrase without NUL bytes",
		             domain, source, n == 0 ? "empty" : "binary (it holds a NUL byte)");
		return NULL;
	}
	*len_out = n;
	return (gchar *)value;
}

/* ---- helpers -------------------------------------------------------------------------------- */

static gchar *
ac_localsev_service_get_xml (virDomainPtr dom, guint flags, GError **error)
{
	char *xml = virDomainGetXMLDesc (dom, flags);
	gchar *result;
	if (xml == NULL) {
		ac_virt_set_error (error, "cannot read the XML of domain '%s'",
		                   virDomainGetName (dom));
		return NULL;
	}
	result = g_strdup (xml);
	free (xml);
	return result;
}

/* the domain model of @xml, read once for the whole run, and a refusal for a domain this
 * flow does not run (no valid tag, published, or a local mode other than sev) */
static AcDomain *
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

static gboolean
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

/* sha256 (hex) of the PDH the host reports now, or NULL when it reports none usable */
static gchar *
ac_localsev_service_host_pdh_sha256 (AcSevHost *host, GError **error)
{
	g_autoptr (AcSevHostInfo) info = ac_sev_host_get_sev_info (host, error);
	g_autofree guint8 *pdh = NULL;
	g_autofree gchar *what = NULL;
	gsize len = 0;

	if (info == NULL)
		return NULL;
	what = g_strdup_printf ("chain: host %s's pdh", ac_sev_host_get_name (host));
	pdh = ac_codec_base64_decode (what, info->pdh, AC_SEV_CERT_SIZE, AC_SEV_CERT_SIZE,
	                              AC_ERROR_UNTRUSTED, &len, error);
	if (pdh == NULL)
		return NULL;
	return g_compute_checksum_for_data (G_CHECKSUM_SHA256, pdh, len);
}

/*
 * Whether @record can still serve the next start of the domain as defined now: its session
 * unused, made for the platform the host reports now, for the tag's policy, firmware and disk,
 * and the definition carries exactly its <launchSecurity> (the gatekeeper's own check).
 */
static gboolean
ac_localsev_service_record_usable (AcSevHost *host,
                                   const AcLocalsevRecord *record,
                                   const AcDomain *dom,
                                   const gchar *xml,
                                   gchar **why)
{
	g_autoptr (GError) error = NULL;
	g_autofree gchar *pdh_sha256 = NULL;
	const gchar *fw_path;
	const AcTag *tag = dom->tag;

	if (record->state != AC_LOCALSEV_STATE_PREPARED) {
		*why = g_strdup_printf ("session %s was %s", record->session_id,
		                        ac_localsev_record_state_to_string (record->state));
		return FALSE;
	}
	if (ac_localsev_record_needs_refresh (record, NULL)) {
		*why = g_strdup_printf ("session %s, prepared %s, expires %s", record->session_id,
		                        record->prepared, record->expires);
		return FALSE;
	}
	if (record->policy != tag->policy) {
		*why = g_strdup_printf ("the tag's policy is now 0x%x, the session's 0x%x",
		                        tag->policy, record->policy);
		return FALSE;
	}
	if (tag->firmware_sha256 == NULL || record->firmware_sha256 == NULL
	    || g_ascii_strcasecmp (tag->firmware_sha256, record->firmware_sha256) != 0) {
		*why = g_strdup ("the tag pins another firmware");
		return FALSE;
	}
	if (tag->disk_dev != NULL && g_strcmp0 (tag->disk_dev, record->disk_dev) != 0) {
		*why = g_strdup_printf ("the tag names disk %s, the session was made for %s",
		                        tag->disk_dev, record->disk_dev);
		return FALSE;
	}
	fw_path = tag->firmware_file != NULL ? tag->firmware_file : dom->loader;
	if (g_strcmp0 (fw_path, record->firmware_path) != 0) {
		*why = g_strdup_printf ("the firmware is now %s",
		                        fw_path != NULL ? fw_path : "(none)");
		return FALSE;
	}
	if (!ac_localsev_gate_check_prepared (record, xml, strlen (xml), &error)) {
		*why = g_strdup (error->message);
		return FALSE;
	}
	pdh_sha256 = ac_localsev_service_host_pdh_sha256 (host, &error);
	if (pdh_sha256 == NULL) {
		*why = g_strdup (error->message);
		return FALSE;
	}
	if (g_strcmp0 (pdh_sha256, record->pdh_sha256) != 0) {
		*why = g_strdup_printf ("the host's PDH changed (sha256 now %s)", pdh_sha256);
		return FALSE;
	}
	return TRUE;
}

/* the SEV-SNP counterpart: the launch unused, for the tag's policy and disk, the runtime and
 * owner configured now, and the definition exactly as prepared (the gatekeeper's check) */
static gboolean
ac_localsev_service_snp_record_usable (const AcLocalsevOptions *opts,
                                       const AcLocalsevRecord *record,
                                       const AcDomain *dom,
                                       const gchar *xml,
                                       gchar **why)
{
	g_autoptr (GError) error = NULL;
	g_autofree gchar *manifest = NULL;
	g_autofree gchar *text = NULL;
	g_autofree gchar *sha256 = NULL;
	gsize len = 0;
	const AcTag *tag = dom->tag;

	if (record->tee != AC_TEE_SNP) {
		*why = g_strdup ("the prepared launch is an SEV one");
		return FALSE;
	}
	if (record->state != AC_LOCALSEV_STATE_PREPARED) {
		*why = g_strdup_printf ("launch %s was %s", record->session_id,
		                        ac_localsev_record_state_to_string (record->state));
		return FALSE;
	}
	if (ac_localsev_record_needs_refresh (record, NULL)) {
		*why = g_strdup_printf ("launch %s, prepared %s, expires %s", record->session_id,
		                        record->prepared, record->expires);
		return FALSE;
	}
	if (record->snp_policy != tag->snp_policy) {
		*why = g_strdup_printf ("the tag's SNP policy is now 0x%" G_GINT64_MODIFIER
		                        "x, the launch's 0x%" G_GINT64_MODIFIER "x",
		                        tag->snp_policy, record->snp_policy);
		return FALSE;
	}
	if (tag->disk_dev != NULL && g_strcmp0 (tag->disk_dev, record->disk_dev) != 0) {
		*why = g_strdup_printf ("the tag names disk %s, the launch was made for %s",
		                        tag->disk_dev, record->disk_dev);
		return FALSE;
	}
	if (opts->snp_owner == NULL || record->owner == NULL
	    || g_ascii_strcasecmp (opts->snp_owner, record->owner) != 0) {
		*why = g_strdup ("the owner's key changed");
		return FALSE;
	}
	if (opts->snp_runtime == NULL) {
		*why = g_strdup ("no local SEV-SNP runtime is configured");
		return FALSE;
	}
	manifest = g_build_filename (opts->snp_runtime, "manifest.json", NULL);
	if (!g_file_get_contents (manifest, &text, &len, &error)) {
		*why = g_strdup (error->message);
		return FALSE;
	}
	sha256 = g_compute_checksum_for_data (G_CHECKSUM_SHA256, (const guchar *)text, len);
	if (g_strcmp0 (sha256, record->runtime_sha256) != 0) {
		*why = g_strdup_printf ("the runtime's manifest changed (sha256 now %s)", sha256);
		return FALSE;
	}
	if (!ac_localsev_gate_check_prepared (record, xml, strlen (xml), &error)) {
		*why = g_strdup (error->message);
		return FALSE;
	}
	return TRUE;
}

/* ---- shut off: prepare ---------------------------------------------------------------------- */

/* ---- shut off: the image, then prepare ------------------------------------------------- */

typedef struct {
	const AcStatus *current;
	const AcLocalsevServiceRun *run;
} AcLocalsevServiceReport;

static void
ac_localsev_service_on_build_progress (guint percent, gpointer user_data)
{
	AcLocalsevServiceReport *report = user_data;
	g_autoptr (AcStatus) st = NULL;

	if (report->run == NULL || report->run->status_func == NULL)
		return;
	st = ac_localsev_service_status_new (report->current, "building", "build");
	st->progress = percent;
	report->run->status_func (st, report->run->user_data);
}

/* a launch prepared earlier that can still serve the next start: nothing to write */
static gboolean
ac_localsev_service_record_serves (AcSevHost *host,
                                   const AcLocalsevOptions *opts,
                                   const gchar *uuid,
                                   const gchar *name,
                                   const AcDomain *domain,
                                   const gchar *xml)
{
	g_autoptr (AcLocalsevRecord) record = NULL;
	g_autoptr (GError) error_local = NULL;
	g_autofree gchar *why = NULL;

	record = ac_localsev_record_load (opts->state_dir, uuid, &error_local);
	if (record != NULL
	    && (domain->tag->tee == AC_TEE_SNP
	            ? ac_localsev_service_snp_record_usable (opts, record, domain, xml, &why)
	            : ac_localsev_service_record_usable (host, record, domain, xml, &why))) {
		g_debug ("domain '%s': session %s prepared at %s still serves the next start", name,
		         record->session_id, record->prepared);
		return TRUE;
	}
	if (record != NULL)
		g_debug ("domain '%s': preparing a fresh launch: %s", name, why);
	else
		g_debug ("domain '%s': preparing a launch: %s", name, error_local->message);
	return FALSE;
}

/* a remote host's tag must be the one the owner approved (pinned when first seen) */
static gboolean
ac_localsev_service_pin_check (AcSevHost *host,
                               const AcLocalsevOptions *opts,
                               const gchar *uuid,
                               const gchar *name,
                               const AcTag *tag,
                               GError **error)
{
	gboolean pinned_now = FALSE;

	if (!opts->pin_tags)
		return TRUE;
	if (!ac_localsev_pin_check (opts->state_dir, uuid, name, tag, &pinned_now, error))
		return FALSE;
	if (pinned_now)
		g_message ("domain '%s': the tag on host %s, seen for the first time, is now "
		           "the approved one; changes made on that host will be refused until "
		           "approved with 'virt-aleph tag %s --approve'",
		           name, ac_sev_host_get_name (host), name);
	return TRUE;
}

/* the tagged disk of @domain has a source whose passphrase is in @secrets_conn's store */
static gboolean
ac_localsev_service_check_disk (virConnectPtr secrets_conn,
                                virDomainPtr dom,
                                const gchar *name,
                                const AcDomain *domain,
                                GError **error)
{
	const AcTag *tag = domain->tag;
	AcDomainDisk *disk = ac_domain_get_tagged_disk (domain);

	if (disk == NULL || disk->source == NULL) {
		g_set_error (
		    error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		    "domain '%s': %s%s%s; the local SEV flow needs the encrypted image as a "
		    "file or block device source",
		    name, disk == NULL ? "no disk" : "disk ",
		    disk == NULL ? (tag->disk_dev != NULL ? " with target dev " : " at all")
		                 : disk->dev,
		    disk == NULL ? (tag->disk_dev != NULL ? tag->disk_dev : "")
		                 : " has no <source>");
		return FALSE;
	}
	if (!ac_localsev_service_has_secret (secrets_conn, dom, disk->source, error))
		return FALSE;
	return TRUE;
}

/* prepares the launch and defines the domain with it; what libvirt kept must pass the gate */
static gboolean
ac_localsev_service_define_prepared (AcSevHost *host,
                                     const AcLocalsevOptions *opts,
                                     const AcTag *tag,
                                     virDomainPtr dom,
                                     const gchar *name,
                                     const gchar *xml,
                                     const AcDomain *domain,
                                     gboolean *redefined,
                                     GError **error)
{
	g_autoptr (AcLocalsevPrepared) prepared = NULL;
	g_autoptr (GError) error_local = NULL;
	g_autofree gchar *back = NULL;
	virDomainPtr defined;

	prepared = ac_localsev_prepare_domain (host, opts, tag, xml, domain, NULL, error);
	if (prepared == NULL)
		return FALSE;
	defined = virDomainDefineXML (virDomainGetConnect (dom), prepared->domain_xml);
	if (defined == NULL) {
		ac_virt_set_error (
		    error, "domain '%s': cannot define it with the prepared <launchSecurity>",
		    name);
		return FALSE;
	}
	if (redefined != NULL)
		*redefined = TRUE;
	/* what libvirt kept is what the hook will see: it must pass the gatekeeper */
	back = ac_localsev_service_get_xml (defined, VIR_DOMAIN_XML_INACTIVE, error);
	virDomainFree (defined);
	if (back == NULL)
		return FALSE;
	if (!ac_localsev_gate_check_prepared (prepared->record, back, strlen (back),
	                                      &error_local)) {
		g_set_error (error, AC_ERROR, AC_ERROR_LIBVIRT,
		             "domain '%s': the definition libvirt kept differs from the prepared "
		             "launch: %s",
		             name, error_local->message);
		return FALSE;
	}
	if (prepared->record->tee == AC_TEE_SNP)
		g_message ("domain '%s': prepared SEV-SNP launch %s (policy 0x%" G_GINT64_MODIFIER
		           "x, expected measurement %s); start it with 'virsh start %s': its "
		           "agent is attested and unlocked through %s:%u",
		           name, prepared->record->session_id, prepared->record->snp_policy,
		           prepared->record->expected_measurement, name,
		           opts->snp_agent_host != NULL ? opts->snp_agent_host
		                                        : "(snp-agent unset)",
		           opts->snp_agent_port);
	else
		g_message ("domain '%s': prepared SEV session %s (policy 0x%x, chain to '%s'); "
		           "start it with 'virsh start --paused %s'",
		           name, prepared->record->session_id, prepared->record->policy,
		           prepared->record->chain_generation, name);
	return TRUE;
}

/* the domain redefined onto its image: its XML and model read again, once */
static gboolean
ac_localsev_service_reread (virDomainPtr dom,
                            const gchar *name,
                            gchar **xml,
                            AcDomain **domain,
                            GError **error)
{
	g_clear_pointer (xml, g_free);
	g_clear_pointer (domain, ac_domain_free);
	*xml = ac_localsev_service_get_xml (dom, VIR_DOMAIN_XML_INACTIVE | VIR_DOMAIN_XML_SECURE,
	                                    error);
	if (*xml != NULL)
		*domain = ac_localsev_service_domain (name, *xml, error);
	return *domain != NULL;
}

static void
ac_localsev_service_report_built (const AcLocalsevServiceRun *run, const AcStatus *current)
{
	g_autoptr (AcStatus) built = ac_localsev_service_status_new (current, "building", "build");
	built->progress = 100;
	run->status_func (built, run->user_data);
}

static gboolean
ac_localsev_service_prepare_run (AcSevHost *host,
                                 const AcLocalsevOptions *opts,
                                 const AcLocalsevServiceRun *run,
                                 virConnectPtr secrets_conn,
                                 virDomainPtr dom,
                                 const AcStatus *current,
                                 gboolean *redefined,
                                 AcStatus **status,
                                 GError **error)
{
	const gchar *name;
	g_autoptr (GError) failure = NULL;
	g_autofree gchar *xml = NULL;
	g_autofree gchar *uuid = NULL;
	g_autoptr (AcDomain) domain = NULL;
	const AcTag *tag;
	g_autoptr (virConnect) own_secrets = NULL;
	g_autoptr (AcLocalsevImageState) image = NULL;
	g_autoptr (AcStatus) with_image = NULL;
	AcLocalsevImageContext ictx = { 0 };
	AcLocalsevServiceReport report = { current, run };
	gboolean switched = FALSE;
	AcStatus *st;

	g_return_val_if_fail (AC_IS_SEV_HOST (host), FALSE);
	g_return_val_if_fail (opts != NULL, FALSE);
	g_return_val_if_fail (dom != NULL, FALSE);
	g_return_val_if_fail (status != NULL, FALSE);

	if (redefined != NULL)
		*redefined = FALSE;
	name = virDomainGetName (dom);
	/* SECURE: a redefinition must keep what only the secure XML carries (e.g. VNC passwords) */
	xml = ac_localsev_service_get_xml (dom, VIR_DOMAIN_XML_INACTIVE | VIR_DOMAIN_XML_SECURE,
	                                   &failure);
	if (xml == NULL)
		return ac_localsev_service_status_fail (current, "prepare", status, error,
		                                        g_steal_pointer (&failure));
	domain = ac_localsev_service_domain (name, xml, &failure);
	if (domain == NULL)
		return ac_localsev_service_status_fail (current, "prepare", status, error,
		                                        g_steal_pointer (&failure));
	tag = domain->tag;
	if (!ac_localsev_service_uuid (dom, &uuid, &failure))
		return ac_localsev_service_status_fail (current, "prepare", status, error,
		                                        g_steal_pointer (&failure));

	/* a remote host's copy of the tag is not the owner's word: nothing is built for a tag
	 * the owner did not approve (ac-localsev-pin.h; prepare checks it again) */
	if (!ac_localsev_service_pin_check (host, opts, uuid, name, tag, &failure))
		return ac_localsev_service_status_fail (current, "prepare", status, error,
		                                        g_steal_pointer (&failure));

	/* SEV-SNP: the host first; one that cannot launch it gets nothing built or defined */
	if (tag->tee == AC_TEE_SNP && !ac_localsev_service_snp_check_host (host, &failure)) {
		g_prefix_error (&failure, "domain '%s': ", name);
		return ac_localsev_service_status_refuse (current, "prepare", status, error,
		                                          g_steal_pointer (&failure));
	}

	/* the disk must be an encrypted image whose passphrase is in the local store before a
	 * launch is prepared that would wait for it: used as it is, or built now */
	if (secrets_conn == NULL) {
		own_secrets = ac_localsev_service_secrets_connect (virDomainGetConnect (dom), NULL,
		                                                   &failure);
		if (own_secrets == NULL)
			return ac_localsev_service_status_fail (current, "prepare", status, error,
			                                        g_steal_pointer (&failure));
		secrets_conn = own_secrets;
	}
	ictx.state_dir = opts->state_dir;
	ictx.pool = run != NULL ? run->pool : NULL;
	ictx.secrets_conn = secrets_conn;
	ictx.progress_func = ac_localsev_service_on_build_progress;
	ictx.user_data = &report;
	ictx.cancellable = run != NULL ? run->cancellable : NULL;
	/* an SEV-SNP runtime's initrd opens a LUKS2 root filesystem; SEV's firmware a LUKS1 disk */
	ictx.layout
	    = tag->tee == AC_TEE_SNP ? AC_IMAGE_LAYOUT_LUKS2_ROOT : AC_IMAGE_LAYOUT_GRUB_LUKS1;
	if (!ac_localsev_image_ensure (&ictx, dom, domain, &switched, &image, &failure)) {
		if (switched && redefined != NULL)
			*redefined = TRUE;
		return ac_localsev_service_status_fail (current, "build", status, error,
		                                        g_steal_pointer (&failure));
	}
	if (image != NULL) {
		with_image = ac_localsev_service_status_with_image (current, image);
		current = with_image;
	}
	if (switched) {
		if (redefined != NULL)
			*redefined = TRUE;
		/* built: say so (with the image) before the launch is prepared */
		if (run != NULL && run->status_func != NULL)
			ac_localsev_service_report_built (run, current);
		if (!ac_localsev_service_reread (dom, name, &xml, &domain, &failure))
			return ac_localsev_service_status_fail (current, "prepare", status, error,
			                                        g_steal_pointer (&failure));
		tag = domain->tag;
	}

	if (!ac_localsev_service_check_disk (secrets_conn, dom, name, domain, &failure))
		return ac_localsev_service_status_fail (current, "prepare", status, error,
		                                        g_steal_pointer (&failure));

	/* a launch prepared earlier that can still serve: nothing to write */
	if (ac_localsev_service_record_serves (host, opts, uuid, name, domain, xml)) {
		st = ac_localsev_service_status_new (current, "prepared", "prepare");
		st->progress = 100;
		*status = st;
		return TRUE;
	}

	if (!ac_localsev_service_define_prepared (host, opts, tag, dom, name, xml, domain,
	                                          redefined, &failure))
		return ac_localsev_service_status_fail (current, "prepare", status, error,
		                                        g_steal_pointer (&failure));
	st = ac_localsev_service_status_new (current, "prepared", "prepare");
	st->progress = 100;
	*status = st;
	return TRUE;
}

/**
 * ac_localsev_service_prepare:
 *
 * For an inactive domain. First its encrypted image: a disk with a passphrase secret is used
 * as it is, any other is built into one and the domain redefined onto it
 * (ac_localsev_image_ensure()). Then keeps a prepared launch that can still serve (no write at
 * all), or prepares a fresh one — host chain verified, new session — and defines the domain
 * with its <launchSecurity>; the definition libvirt keeps is checked against the record the
 * way the hook will check it.
 *
 * Errors: at step "build", those of ac_localsev_image_ensure() (the builder's, a disk that
 * cannot be read, %AC_ERROR_NOT_FOUND for an image of ours that lost its secret, …); at step
 * "prepare", those of ac_localsev_prepare() (%AC_ERROR_UNTRUSTED for the chain,
 * %AC_ERROR_UNSUPPORTED for a host without SEV, …); %AC_ERROR_LIBVIRT when the definition
 * cannot be written; %AC_ERROR_REFUSED when the passphrase would be on a remote host.
 */
gboolean
ac_localsev_service_prepare (AcSevHost *host,
                             const AcLocalsevOptions *opts,
                             virConnectPtr secrets_conn,
                             virDomainPtr dom,
                             const AcStatus *current,
                             gboolean *redefined,
                             AcStatus **status,
                             GError **error)
{
	return ac_localsev_service_prepare_run (host, opts, NULL, secrets_conn, dom, current,
	                                        redefined, status, error);
}

/* ---- started: attest -------------------------------------------------------------------- */

/* the passphrase of the prepared launch's disk (fail closed without one) */
static gchar *
ac_localsev_service_passphrase (virConnectPtr secrets_conn,
                                const AcLocalsevOptions *opts,
                                virDomainPtr dom,
                                const AcLocalsevRecord *record,
                                gsize *len,
                                GError **error)
{
	const gchar *name = virDomainGetName (dom);

	if (record->disk_source == NULL) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "domain '%s': the prepared launch names no disk source for disk %s",
		             name, record->disk_dev != NULL ? record->disk_dev : "(none)");
		return NULL;
	}
	return ac_localsev_service_read_passphrase (secrets_conn, opts->state_dir, dom,
	                                            record->disk_source, len, error);
}

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
		gchar *passphrase = ac_localsev_service_passphrase (secrets_conn, opts, dom, record,
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
static gboolean
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
	g_autofree gchar *xml = NULL;
	g_autofree gchar *uuid = NULL;
	g_autoptr (AcDomain) domain = NULL;
	g_autoptr (AcLocalsevRecord) record = NULL;
	g_autoptr (AcLocalsevAttestation) att = NULL;
	AcSevDomainState state = AC_SEV_DOMAIN_STATE_OTHER;
	gchar *passphrase;
	gsize passphrase_len = 0;
	AcStatus *st;

	g_return_val_if_fail (AC_IS_SEV_HOST (host), FALSE);
	g_return_val_if_fail (opts != NULL, FALSE);
	g_return_val_if_fail (dom != NULL, FALSE);
	g_return_val_if_fail (status != NULL, FALSE);

	name = virDomainGetName (dom);
	xml = ac_localsev_service_get_xml (dom, 0, &failure);
	if (xml == NULL)
		return ac_localsev_service_status_fail (current, "attest", status, error,
		                                        g_steal_pointer (&failure));
	domain = ac_localsev_service_domain (name, xml, &failure);
	if (domain == NULL)
		return ac_localsev_service_status_fail (current, "attest", status, error,
		                                        g_steal_pointer (&failure));
	if (!ac_localsev_service_uuid (dom, &uuid, &failure))
		return ac_localsev_service_status_fail (current, "attest", status, error,
		                                        g_steal_pointer (&failure));
	record = ac_localsev_record_load (opts->state_dir, uuid, &failure);
	if (record == NULL) {
		g_prefix_error (
		    &failure,
		    "domain '%s' runs, but virt-alephd prepared no %s launch for it "
		    "(tagged while running, or the hook is not installed): stop it, let "
		    "virt-alephd prepare a launch, and start it with 'virsh start %s%s'. ",
		    name, domain->tag->tee == AC_TEE_SNP ? "SEV-SNP" : "SEV",
		    domain->tag->tee == AC_TEE_SNP ? "" : "--paused ", name);
		return ac_localsev_service_status_fail (current, "attest", status, error,
		                                        g_steal_pointer (&failure));
	}
	if (!ac_sev_host_get_domain_state (host, uuid, &state, &failure))
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

	/* paused: the passphrase (fail closed without one), then attest */
	passphrase = ac_localsev_service_passphrase (secrets_conn, opts, dom, record,
	                                             &passphrase_len, &failure);
	if (passphrase == NULL)
		return ac_localsev_service_status_fail (current, "attest", status, error,
		                                        g_steal_pointer (&failure));
	att = ac_localsev_attest_domain (host, opts, domain->tag, domain, passphrase, NULL,
	                                 &failure);
	OPENSSL_clear_free (passphrase, passphrase_len + 1);
	if (att == NULL) {
		return ac_localsev_service_attest_failed (current, record, status,
		                                          g_steal_pointer (&failure), error);
	}
	g_message ("domain '%s': attested (measurement %s, chain to '%s'), passphrase injected, "
	           "resumed",
	           name, att->measurement, att->generation);
	st = ac_localsev_service_status_new (current, "running", "attest");
	st->progress = 100;
	ac_localsev_service_status_set_attestation (st, att->time, "ok", att->measurement,
	                                            att->generation);
	*status = st;
	return TRUE;
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
