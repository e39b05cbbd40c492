/*
 * virt-aleph doctor: checks the host and the setup, the way `sevctl ok` does and more.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <curl/curl.h>
#include <libvirt/virterror.h>
#include <json-glib/json-glib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "ac-cli.h"
#include "ac-log.h"
#include "ac-eth-account.h"
#include "ac-file.h"
#include "ac-snp-chain.h"
#include "ac-hook-gate.h"
#include "ac-hosts.h"
#include "ac-localsev.h"
#include "ac-pipeline.h"
#include "ac-secret-store.h"
#include "ac-sev-host-libvirt.h"
#include "ac-state.h"
#include "ac-status.h"
#include "ac-tag.h"
#include "ac-virt.h"

typedef enum { CHECK_OK, CHECK_WARN, CHECK_FAIL, CHECK_SKIP } CheckResult;

typedef struct {
	AcCliGlobal *global;
	JsonBuilder *json;
	guint failed;
	AcExitCode first_exit;
	GString *failed_checks; /* names of the failed checks, for the --json error */
} Doctor;

static void
report (Doctor *d, const gchar *check, CheckResult r, AcExitCode exit_code, const gchar *format, ...) G_GNUC_PRINTF (5, 6);

static void
report (Doctor *d, const gchar *check, CheckResult r, AcExitCode exit_code, const gchar *format, ...)
{
	static const gchar *names[] = { "ok", "warning", "failed", "skipped" };
	static const gchar *marks[] = { "ok  ", "warn", "FAIL", "skip" };
	g_autofree gchar *detail = NULL;
	va_list args;

	va_start (args, format);
	detail = g_strdup_vprintf (format, args);
	va_end (args);
	if (r == CHECK_FAIL) {
		d->failed++;
		if (d->first_exit == AC_EXIT_OK)
			d->first_exit = exit_code;
		g_string_append_printf (d->failed_checks, "%s%s",
		                        d->failed_checks->len > 0 ? ", " : "", check);
	}
	if (d->json != NULL) {
		json_builder_begin_object (d->json);
		json_builder_set_member_name (d->json, "check");
		json_builder_add_string_value (d->json, check);
		json_builder_set_member_name (d->json, "result");
		json_builder_add_string_value (d->json, names[r]);
		json_builder_set_member_name (d->json, "detail");
		json_builder_add_string_value (d->json, detail);
		json_builder_end_object (d->json);
	} else {
		printf ("[%s] %-22s %s\n", marks[r], check, detail);
	}
}

/* The hook is installed and libvirtd runs it: a transient, paused, tagged domain with an
 * invalid tag must be refused by our gatekeeper before QEMU starts. */
static void
check_hook (Doctor *d, virConnectPtr conn)
{
	const gchar *xml =
		"<domain type='qemu'><name>aleph-doctor-probe</name><memory unit='MiB'>16</memory>"
		"<metadata><aleph:confidential xmlns:aleph='" AC_TAG_NS "'>"
		"<aleph:local mode='deny'/></aleph:confidential></metadata>"
		"<os><type arch='x86_64'>hvm</type></os><devices/></domain>";
	virDomainPtr dom = virDomainCreateXML (conn, xml, VIR_DOMAIN_START_PAUSED | VIR_DOMAIN_START_AUTODESTROY);
	virErrorPtr err;

	if (dom != NULL) {
		virDomainDestroy (dom);
		virDomainFree (dom);
		report (d, "hook", CHECK_FAIL, AC_EXIT_REFUSED,
			"libvirtd started a tagged domain without our hook refusing it: install "
			"50-aleph-confidential in libvirt's hooks/qemu.d and restart libvirtd "
			"(or 'kill -HUP' it)");
		return;
	}
	/* libvirt classifies the failure (VIR_ERR_HOOK_SCRIPT_FAILED); which of our hook's refusals it
	 * was, only the hook's stderr, quoted in the message, can tell */
	err = virGetLastError ();
	if (err == NULL || err->code != VIR_ERR_HOOK_SCRIPT_FAILED || err->message == NULL)
		report (d, "hook", CHECK_WARN, AC_EXIT_OK, "could not tell (the probe failed otherwise: %s)",
			err != NULL && err->message != NULL ? err->message : "unknown error");
	else if (strstr (err->message, "aleph-confidential: refusing") != NULL)
		report (d, "hook", CHECK_OK, AC_EXIT_OK, "installed and run by libvirtd (a probe domain was refused)");
	else if (strstr (err->message, "cannot load the aleph-confidential module") != NULL)
		report (d, "hook", CHECK_FAIL, AC_EXIT_REFUSED, "installed, but its module does not load: %s", err->message);
	else
		report (d, "hook", CHECK_WARN, AC_EXIT_OK, "could not tell (the probe failed otherwise: %s)",
			err != NULL && err->message != NULL ? err->message : "unknown error");
}

static void
check_service (Doctor *d, gboolean local)
{
	g_autoptr(GDir) proc = NULL;
	g_autofree gchar *log = ac_log_where ("virt-alephd", NULL);
	const gchar *name;

	if (!local) {
		report (d, "service", CHECK_SKIP, AC_EXIT_OK, "remote libvirt: virt-alephd runs on the trusted machine, not checked here");
		return;
	}
	proc = g_dir_open ("/proc", 0, NULL);
	while (proc != NULL && (name = g_dir_read_name (proc)) != NULL) {
		g_autofree gchar *path = NULL;
		g_autofree gchar *comm = NULL;
		if (!g_ascii_isdigit (name[0]))
			continue;
		path = g_build_filename ("/proc", name, "comm", NULL);
		if (g_file_get_contents (path, &comm, NULL, NULL) && g_str_has_prefix (comm, "virt-alephd")) {
			report (d, "service", CHECK_OK, AC_EXIT_OK, "virt-alephd is running (pid %s); its log: %s",
				name, log);
			return;
		}
	}
	report (d, "service", CHECK_WARN, AC_EXIT_OK,
		"virt-alephd is not running: tagged domains are not reconciled until it is "
		"('systemctl start virt-alephd', or 'virt-aleph apply DOMAIN' by hand); its log: %s",
		log);
}

/* the SEV-SNP settings of the Aleph flow: the ARKs it trusts besides AMD's read as ARKs */
static void
check_snp_config (Doctor *d, const AcPipelineConfig *config)
{
	g_autoptr (GString) arks = g_string_new (NULL);

	if (config->snp_trusted_arks == NULL && config->snp_runtime == NULL) {
		report (d, "snp-config", CHECK_SKIP, AC_EXIT_OK,
		        "no [pipeline] snp-runtime nor snp-trusted-arks: SEV-SNP tags need a runtime "
		        "in the tag; reports are verified up to AMD's ARKs only");
		return;
	}
	for (guint i = 0; config->snp_trusted_arks != NULL && config->snp_trusted_arks[i] != NULL;
	     i++) {
		const gchar *path = config->snp_trusted_arks[i];
		g_autoptr (GError) error = NULL;
		g_autoptr (GBytes) b = ac_file_read_bytes (path, 64 * 1024, &error);
		g_autoptr (AcSnpCert) ark = NULL;
		if (b != NULL)
			ark = ac_snp_cert_parse (g_bytes_get_data (b, NULL), g_bytes_get_size (b),
			                         path, &error);
		if (ark == NULL || ac_snp_cert_get_role (ark) != AC_SNP_CERT_ARK) {
			report (d, "snp-config", CHECK_FAIL, AC_EXIT_USAGE,
			        "[pipeline] snp-trusted-arks: %s",
			        error != NULL ? error->message : "not an ARK certificate");
			return;
		}
		g_string_append_printf (arks, "%s%s (%s)", arks->len > 0 ? ", " : "", path,
		                        ac_snp_product_to_string (ac_snp_cert_get_product (ark)));
	}
	report (d, "snp-config", CHECK_OK, AC_EXIT_OK, "runtime %s; ARKs trusted besides AMD's: %s; KDS %s%s%s",
	        config->snp_runtime != NULL ? config->snp_runtime : "(from each tag)",
	        arks->len > 0 ? arks->str : "none", config->snp_kds != NULL ? config->snp_kds : "AMD's",
	        config->snp_min_tcb != NULL ? "; TCB floor raised to " : "",
	        config->snp_min_tcb != NULL ? config->snp_min_tcb : "");
}

static void
check_account (Doctor *d, const AcPipelineConfig *config)
{
	g_autofree gchar *path = config->key_file != NULL ? g_strdup (config->key_file) : ac_eth_default_key_path ();
	g_autoptr(GError) error = NULL;
	g_autoptr(AcEthAccount) account = NULL;

	if (!g_file_test (path, G_FILE_TEST_EXISTS)) {
		report (d, "account", CHECK_WARN, AC_EXIT_OK, "no key at %s: 'virt-aleph account create' makes one", path);
		return;
	}
	account = ac_eth_account_load_key_file_full (path, config->key_password_file, &error);
	if (account == NULL)
		report (d, "account", CHECK_FAIL, ac_error_to_exit_code (error), "%s", error->message);
	else
		report (d, "account", CHECK_OK, AC_EXIT_OK, "%s (%s)", ac_eth_account_get_address (account), path);
}

/*
 * The hook finds what the local SEV flow prepared: in virt-alephd's state directory when
 * libvirt runs on this machine, in the signed record of a domain's metadata on a remote host
 * (whose hook must then trust the owner's address).
 */
static void
check_hook_config (Doctor *d, const AcPipelineConfig *config, gboolean local)
{
	const gchar *path = g_getenv ("ALEPH_CONFIDENTIAL_HOOK_CONF");
	g_autoptr(GError) error = NULL;
	g_autoptr(AcHookConfig) hook = NULL;
	g_autofree gchar *hook_dir = NULL;
	g_autofree gchar *service_dir = NULL;

	if (path == NULL)
		path = AC_HOOK_CONF;
	if (!local) {
		g_autofree gchar *key = config->key_file != NULL ? g_strdup (config->key_file) : ac_eth_default_key_path ();
		g_autoptr(AcEthAccount) account = ac_eth_account_load_key_file_full (key, config->key_password_file, NULL);
		if (account == NULL)
			report (d, "hook-config", CHECK_WARN, AC_EXIT_OK,
				"remote host: the launches virt-alephd prepares reach its hook signed with the "
				"owner's key, and there is none at %s ('virt-aleph account create')", key);
		else
			report (d, "hook-config", CHECK_SKIP, AC_EXIT_OK,
				"remote host: its hook admits local SEV launches prepared here only with "
				"'owners=%s' in the [hook] group of its aleph-confidential.conf",
				ac_eth_account_get_address (account));
		return;
	}
	hook = ac_hook_config_load (path, &error);
	if (hook == NULL) {
		report (d, "hook-config", CHECK_FAIL, ac_error_to_exit_code (error), "%s", error->message);
		return;
	}
	hook_dir = g_canonicalize_filename (hook->state_dir, "/");
	service_dir = g_canonicalize_filename (config->state_dir, "/");
	if (g_strcmp0 (hook_dir, service_dir) == 0)
		report (d, "hook-config", CHECK_OK, AC_EXIT_OK, "the hook and virt-alephd share %s", hook_dir);
	else
		report (d, "hook-config", CHECK_WARN, AC_EXIT_OK,
			"the hook reads %s (%s) but virt-alephd keeps its launch records in %s: every "
			"local SEV start would be refused; set state-dir in one of them",
			hook_dir, path, service_dir);
}

static void
check_sev (Doctor *d, virConnectPtr conn, gboolean local)
{
	virTypedParameterPtr params = NULL;
	int nparams = 0;

	if (local) {
		gboolean dev = g_file_test ("/dev/sev", G_FILE_TEST_EXISTS);
		gboolean kvm = ac_host_has_sev (AC_HOST_SEV_AUTO);
		if (!kvm)
			report (d, "local-sev", CHECK_WARN, AC_EXIT_OK,
				"this host cannot run SEV guests (%s); tagged domains start here only "
				"with <aleph:local mode='test'/> and deploy to Aleph with <aleph:publish/>",
				dev ? "kvm_amd sev is not enabled" : "no /dev/sev");
		else
			report (d, "local-sev", CHECK_OK, AC_EXIT_OK, "/dev/sev present and kvm_amd sev enabled");
	}
	if (virNodeGetSEVInfo (conn, &params, &nparams, 0) < 0) {
		virErrorPtr err = virGetLastError ();
		report (d, "libvirt-sev", local ? CHECK_SKIP : CHECK_WARN, AC_EXIT_OK, "libvirt reports no SEV: %s",
			err != NULL && err->message != NULL ? err->message : "unknown");
		return;
	}
	report (d, "libvirt-sev", CHECK_OK, AC_EXIT_OK, "libvirt reports SEV (%d parameters)", nparams);
	virTypedParamsFree (params, nparams);
}

/* SEV-SNP readiness, the local flow's own check (ac_localsev_snp_check_host): libvirt and QEMU
 * new enough and sev-snp in the domain capabilities; on this machine, kvm_amd's sev_snp too */
static void
check_snp (Doctor *d, virConnectPtr conn, gboolean local)
{
	g_autoptr (AcSevHost) host = ac_sev_host_libvirt_new (conn);
	g_autoptr (AcSevHostSnpFacts) facts = NULL;
	g_autoptr (GError) error = NULL;
	guint cbitpos = 0, rpb = 0;

	if (local) {
		gboolean dev = g_file_test ("/dev/sev", G_FILE_TEST_EXISTS);
		if (!ac_host_has_snp (AC_HOST_SEV_AUTO))
			report (d, "local-snp", CHECK_WARN, AC_EXIT_OK,
				"this host cannot run SEV-SNP guests (%s); domains tagged "
				"<aleph:sev type='snp'> start here only with <aleph:local mode='test'/>",
				dev ? "kvm_amd sev_snp is not enabled" : "no /dev/sev");
		else
			report (d, "local-snp", CHECK_OK, AC_EXIT_OK,
				"/dev/sev present and kvm_amd sev_snp enabled");
	}
	facts = ac_sev_host_get_snp_facts (host, &error);
	if (facts == NULL) {
		report (d, "libvirt-snp", CHECK_WARN, AC_EXIT_OK, "%s", error->message);
		return;
	}
	if (!ac_localsev_snp_check_host (ac_sev_host_get_name (host), facts, &cbitpos, &rpb,
					 &error)) {
		report (d, "libvirt-snp", CHECK_WARN, AC_EXIT_OK, "%s", error->message);
		return;
	}
	report (d, "libvirt-snp", CHECK_OK, AC_EXIT_OK,
		"libvirt and QEMU launch SEV-SNP guests (<launchSecurity type='sev-snp'>, cbitpos "
		"%u, reducedPhysBits %u)",
		cbitpos, rpb);
}

typedef struct {
	time_t date;
} HeaderData;

static size_t
header_cb (char *buffer, size_t size, size_t nitems, void *user)
{
	HeaderData *h = user;
	size_t len = size * nitems;
	if (len > 5 && g_ascii_strncasecmp (buffer, "date:", 5) == 0) {
		g_autofree gchar *v = g_strstrip (g_strndup (buffer + 5, len - 5));
		h->date = curl_getdate (v, NULL);
	}
	return len;
}

/* The CRN answers, and its clock is within its signed-operation window (±2 min). */
static void
check_crn (Doctor *d, const gchar *crn_url)
{
	CURL *curl = curl_easy_init ();
	HeaderData h = { -1 };
	g_autofree gchar *url = g_strdup_printf ("%s/about/certificates", crn_url);
	CURLcode rc;
	long status = 0;
	gint64 skew;

	curl_easy_setopt (curl, CURLOPT_URL, url);
	curl_easy_setopt (curl, CURLOPT_NOBODY, 1L);
	curl_easy_setopt (curl, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt (curl, CURLOPT_HEADERDATA, &h);
	curl_easy_setopt (curl, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
	curl_easy_setopt (curl, CURLOPT_TIMEOUT_MS, 10000L);
	rc = curl_easy_perform (curl);
	curl_easy_getinfo (curl, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup (curl);
	if (rc != CURLE_OK) {
		report (d, "crn", CHECK_FAIL, AC_EXIT_NETWORK, "%s: %s", url, curl_easy_strerror (rc));
		return;
	}
	report (d, "crn", status < 500 ? CHECK_OK : CHECK_FAIL, AC_EXIT_REMOTE, "%s answered HTTP %ld", crn_url, status);
	if (h.date < 0) {
		report (d, "clock", CHECK_WARN, AC_EXIT_OK, "the CRN sent no Date header: clock skew unknown");
		return;
	}
	skew = (gint64)h.date - (gint64)time (NULL);
	if (ABS (skew) > 120)
		report (d, "clock", CHECK_FAIL, AC_EXIT_REFUSED,
			"this clock is %+" G_GINT64_FORMAT " s off the CRN's; its signed operations accept "
			"±2 min, so initialize/measurement/inject will be refused: synchronise the clock",
			-skew);
	else if (ABS (skew) > 60)
		report (d, "clock", CHECK_WARN, AC_EXIT_OK, "%+" G_GINT64_FORMAT " s off the CRN's (limit ±120 s)", -skew);
	else
		report (d, "clock", CHECK_OK, AC_EXIT_OK, "within %" G_GINT64_FORMAT " s of the CRN's", ABS (skew));
}

/* From what a failed attestation reported, the likely cause. */
static void
check_attestation (Doctor *d, const AcStatus *st, const AcTag *tag)
{
	const gchar *msg;
	if (st == NULL || st->error_message == NULL || g_strcmp0 (st->error_step, "attest") != 0) {
		report (d, "attestation", CHECK_OK, AC_EXIT_OK, "%s",
			st != NULL && st->attest_verdict != NULL ? "last attestation passed" : "no failed attestation");
		return;
	}
	msg = st->error_message;
	if (g_strcmp0 (st->error_code, "untrusted") == 0)
		report (d, "attestation", CHECK_FAIL, AC_EXIT_UNTRUSTED,
			"the CRN's certificate chain does not lead to AMD's roots (or a root you trust "
			"explicitly, such as the devnet's): the node is not a genuine SEV platform, or its "
			"CEK is not AMD-signed. %s", msg);
	else if (strstr (msg, "firmware") != NULL)
		report (d, "attestation", CHECK_FAIL, AC_EXIT_MISMATCH,
			"the firmware differs from the pinned sha256 %s: the node serves another OVMF, or the "
			"tag pins the wrong one. %s", tag != NULL ? tag->firmware_sha256 : "?", msg);
	else if (strstr (msg, "policy") != NULL)
		report (d, "attestation", CHECK_FAIL, AC_EXIT_MISMATCH,
			"the node launched with another policy than the tag's 0x%x (Aleph's CRNs use 0x1). %s",
			tag != NULL ? tag->policy : 0, msg);
	else if (g_strcmp0 (st->error_code, "mismatch") == 0)
		report (d, "attestation", CHECK_FAIL, AC_EXIT_MISMATCH,
			"the launch measurement does not match: another firmware or policy, a session "
			"the node did not use (stale or swapped PDH), or a replayed measurement. %s", msg);
	else {
		/* the class the status recorded, when it names one */
		AcError code = AC_ERROR_INTERNAL;
		GError e = { AC_ERROR, 0, NULL };
		ac_cli_error_from_string (st->error_code, &code);
		e.code = code;
		report (d, "attestation", CHECK_FAIL, ac_error_to_exit_code (&e), "%s", msg);
	}
}

/* DOMAIN's tag, and what its status says of its attestation; *crn from its saved state when
 * the owner named none */
static void
check_domain (Doctor *d, virConnect *conn, AcPipelineConfig *config, const gchar *name, gchar **crn)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(virDomain) dom = ac_virt_lookup_domain (conn, name, &error);
	g_autofree gchar *xml = dom != NULL ? ac_virt_get_xml (dom, &error) : NULL;
	g_autoptr(AcTag) tag = NULL;
	g_autoptr(AcStatus) st = NULL;
	if (xml == NULL) {
		report (d, "domain", CHECK_FAIL, ac_error_to_exit_code (error), "%s", error->message);
		return;
	}
	tag = ac_tag_parse (xml, -1, NULL, &error);
	st = ac_status_parse (xml, -1, NULL);
	if (tag == NULL)
		report (d, "tag", CHECK_FAIL, ac_error_to_exit_code (error), "%s", error->message);
	else
		report (d, "tag", CHECK_OK, AC_EXIT_OK, "valid");
	if (st != NULL && st->crn != NULL && *crn == NULL) {
		/* the CRN's URL is in the Aleph flow's saved state */
		char uuid[VIR_UUID_STRING_BUFLEN];
		g_autoptr(AcState) state = NULL;
		virDomainGetUUIDString (dom, uuid);
		state = ac_state_peek (config->state_dir, uuid, NULL);
		if (state != NULL)
			*crn = g_strdup (ac_state_get_string (state, "crn", "url"));
	}
	check_attestation (d, st, tag);
}

/* A fleet ([host NAME] groups): one line per host, its connection; a failure names the host. */
static void
check_hosts (Doctor *d, GPtrArray *hosts)
{
	g_autoptr (GPtrArray) conns = NULL;
	if (hosts->len < 2)
		return;
	conns = ac_cli_connect_hosts (d->global, hosts);
	for (guint i = 0; i < hosts->len; i++) {
		const AcHost *h = g_ptr_array_index (hosts, i);
		AcCliHostConn *hc = g_ptr_array_index (conns, i);
		g_autofree gchar *check = g_strdup_printf ("host %s", h->name);
		unsigned long ver = 0;
		if (hc->conn == NULL) {
			report (d, check, CHECK_FAIL, AC_EXIT_LIBVIRT, "%s", hc->error->message);
			continue;
		}
		virConnectGetLibVersion (hc->conn, &ver);
		report (d, check, CHECK_OK, AC_EXIT_OK, "%s (libvirt %lu.%lu.%lu; state %s)", h->uri,
		        ver / 1000000, (ver / 1000) % 1000, ver % 1000, h->state_dir);
	}
}

static int
doctor_run (AcCliGlobal *global, int argc, char **argv)
{
	g_autofree gchar *config_path = NULL;
	g_autofree gchar *crn = NULL;
	gboolean probe = TRUE;
	g_autoptr(GOptionContext) ctx = ac_cli_option_context_new (global, "[DOMAIN]",
		"Check libvirt, the hook, the service, the account, SEV support, and for DOMAIN its "
		"CRN, the clock skew against it and the likely cause of a failed attestation.");
	const GOptionEntry entries[] = {
		AC_CLI_CONFIG_ENTRY (&config_path),
		{ "crn", 0, 0, G_OPTION_ARG_STRING, &crn, "also check this CRN (base URL)", "URL" },
		{ "no-probe", 0, G_OPTION_FLAG_REVERSE, G_OPTION_ARG_NONE, &probe,
		  "do not probe the hook with a transient domain", NULL },
		{ NULL },
	};
	g_autoptr(GError) error = NULL;
	g_autoptr(AcPipelineConfig) config = NULL;
	g_autoptr(virConnect) conn = NULL;
	g_autoptr(JsonBuilder) json = NULL;
	g_autoptr (GString) failed_checks = g_string_new (NULL);
	Doctor d = { global, NULL, 0, AC_EXIT_OK, failed_checks };
	const gchar *uri;
	gboolean local;
	g_autoptr (GPtrArray) hosts = NULL;

	g_option_context_add_main_entries (ctx, entries, NULL);
	if (!ac_cli_parse (ctx, &argc, &argv, &error))
		return ac_cli_fail (global, g_steal_pointer (&error));
	if (argc > 2)
		return ac_cli_fail (global, g_error_new (AC_ERROR, AC_ERROR_INVALID_INPUT,
							 "doctor: expected at most one DOMAIN"));
	if (global->json) {
		json = json_builder_new ();
		json_builder_begin_array (json);
		d.json = json;
	}
	/* a configuration error is one failed check; the others run on the defaults */
	config = ac_pipeline_config_load (config_path != NULL ? config_path : AC_DAEMON_CONF, &error);
	/* its hosts (an absent file: the default one), two of one name or one URI twice refused */
	if (config != NULL)
		hosts = ac_hosts_load (config_path != NULL ? config_path : AC_DAEMON_CONF, FALSE,
		                       global->connect_uri, ac_cli_get_uri (global), config->state_dir,
		                       &error);
	if (config == NULL || hosts == NULL) {
		report (&d, "config", CHECK_FAIL, ac_error_to_exit_code (error), "%s", error->message);
		g_clear_error (&error);
		g_clear_pointer (&config, ac_pipeline_config_free);
		config = ac_pipeline_config_load (NULL, NULL);
	} else {
		const gchar *path = config_path != NULL ? config_path : AC_DAEMON_CONF;
		report (&d, "config", CHECK_OK, AC_EXIT_OK, "%s%s", path,
			g_file_test (path, G_FILE_TEST_EXISTS) ? "" : " (absent: the defaults)");
	}
	if (global->password_file != NULL) {
		g_free (config->key_password_file);
		config->key_password_file = g_strdup (global->password_file);
	}
	ac_virt_init ();
	if (hosts != NULL)
		check_hosts (&d, hosts);
	ac_cli_scope_state_dir (global, config_path, &config->state_dir);
	uri = ac_cli_get_uri (global);
	local = ac_secret_store_uri_is_local (uri);
	ac_virt_init ();
	conn = ac_virt_connect (uri, &error);
	if (conn == NULL) {
		report (&d, "libvirt", CHECK_FAIL, AC_EXIT_LIBVIRT, "%s", error->message);
	} else {
		unsigned long ver = 0;
		virConnectGetLibVersion (conn, &ver);
		report (&d, "libvirt", CHECK_OK, AC_EXIT_OK, "%s (libvirt %lu.%lu.%lu)", uri, ver / 1000000,
			(ver / 1000) % 1000, ver % 1000);
		if (probe)
			check_hook (&d, conn);
		else
			report (&d, "hook", CHECK_SKIP, AC_EXIT_OK, "--no-probe");
	}
	check_service (&d, local);
	check_hook_config (&d, config, local);
	check_account (&d, config);
	check_snp_config (&d, config);
	if (conn != NULL) {
		check_sev (&d, conn, local);
		check_snp (&d, conn, local);
	}

	if (argc == 2 && conn != NULL)
		check_domain (&d, conn, config, argv[1], &crn);
	if (crn != NULL)
		check_crn (&d, crn);

	if (json != NULL) {
		g_autoptr (JsonNode) root = NULL;
		json_builder_end_array (json);
		root = json_builder_get_root (json);
		if (d.failed > 0) {
			/* the error of the first failure's class, every check beside it */
			g_autoptr (JsonObject) extra = json_object_new ();
			json_object_set_member (extra, "checks", g_steal_pointer (&root));
			return ac_cli_fail_with (
			    global,
			    g_error_new (AC_ERROR, ac_cli_error_from_exit_code (d.first_exit),
			                 "%u check%s failed: %s", d.failed,
			                 d.failed == 1 ? "" : "s", d.failed_checks->str),
			    extra);
		}
		ac_cli_print_json_pretty (root);
	} else {
		printf ("%s\n", d.failed == 0 ? "No problem found." : "Problems found: see FAIL above.");
	}
	return d.failed == 0 ? AC_EXIT_OK : (int)d.first_exit;
}

int
ac_cli_cmd_doctor (AcCliGlobal *global, int argc, char **argv)
{
	return ac_cli_hosts_done (doctor_run (global, argc, argv));
}
