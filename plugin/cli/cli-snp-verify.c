/*
 * virt-aleph snp verify-report: an SEV-SNP attestation report verified as a guest owner
 * verifies it before a secret leaves (sev/ac-snp-verify.h): chain to AMD's root of the
 * product, the VCEK bound to the report's chip and TCB, the signature, the verifier's policy,
 * the expected launch digest and report data.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "ac-codec.h"
#include "ac-json-write.h"
#include "ac-snp-verify.h"
#include "cli-sev.h"
#include "cli-snp.h"

typedef struct {
	gchar *vcek, *chain, *trust_ark, *crl, *kds_url, *cache_dir, *product, *min_tcb, *policy;
	gchar *report_data, *at, *vmpl_max, *min_abi;
	gchar **measurements;
	gboolean kds, offline, check_crl, allow_below, allow_debug, allow_migrate, allow_vlek;
} VerifyOptions;

static void
verify_options_clear (VerifyOptions *o)
{
	g_free (o->vcek), g_free (o->chain), g_free (o->trust_ark), g_free (o->crl);
	g_free (o->kds_url), g_free (o->cache_dir), g_free (o->product), g_free (o->min_tcb);
	g_free (o->policy), g_free (o->report_data), g_free (o->at), g_free (o->vmpl_max);
	g_free (o->min_abi);
	g_strfreev (o->measurements);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (VerifyOptions, verify_options_clear)

AcSnpCert *
cli_snp_read_cert (const gchar *path, const gchar *what, GError **error)
{
	g_autoptr (GBytes) b = cli_sev_read_file (path, what, SEV_SMALL_FILE_MAX, error);
	if (b == NULL)
		return NULL;
	return ac_snp_cert_parse (g_bytes_get_data (b, NULL), g_bytes_get_size (b), path, error);
}

/* a cert_chain file: exactly the intermediate (ASK or ASVK) and the ARK, in either order */
static gboolean
verify_read_chain (const gchar *path, AcSnpCert **intermediate, AcSnpCert **ark, GError **error)
{
	g_autoptr (GBytes) b = cli_sev_read_file (path, "--chain", SEV_SMALL_FILE_MAX, error);
	g_autoptr (GPtrArray) certs = NULL;

	if (b == NULL)
		return FALSE;
	certs
	    = ac_snp_cert_parse_all (g_bytes_get_data (b, NULL), g_bytes_get_size (b), path, error);
	if (certs == NULL)
		return FALSE;
	if (certs->len != 2) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "--chain %s: expected one ASK (or ASVK) and one ARK, found %u "
		             "certificates",
		             path, certs->len);
		return FALSE;
	}
	for (guint i = 0; i < certs->len; i++) {
		AcSnpCert *c = g_ptr_array_index (certs, i);
		AcSnpCertRole role = ac_snp_cert_get_role (c);
		AcSnpCert **slot = role == AC_SNP_CERT_ARK ? ark
		                   : role == AC_SNP_CERT_ASK || role == AC_SNP_CERT_ASVK
		                       ? intermediate
		                       : NULL;
		if (slot == NULL || *slot != NULL) {
			g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			             "--chain %s: expected one ASK (or ASVK) and one ARK, but "
			             "certificate %u is a%s %s",
			             path, i + 1, slot == NULL ? "" : "nother",
			             ac_snp_cert_role_to_string (role));
			g_clear_pointer (intermediate, ac_snp_cert_unref);
			g_clear_pointer (ark, ac_snp_cert_unref);
			return FALSE;
		}
		*slot = ac_snp_cert_ref (c);
	}
	return TRUE;
}

/* 48 bytes as 96 hex digits or base64 (sev-snp-measure prints either) */
static gboolean
verify_parse_digest (const gchar *text, guint8 out[AC_SNP_MEASUREMENT_SIZE], GError **error)
{
	g_autofree guint8 *b = NULL;
	gsize len = 0;

	if (strlen (text) == 2 * AC_SNP_MEASUREMENT_SIZE)
		return ac_codec_hex_decode_fixed ("--expected-measurement", text, 0, out,
		                                  AC_SNP_MEASUREMENT_SIZE, error);
	b = ac_codec_base64_decode ("--expected-measurement (96 hex digits or base64)", text,
	                            AC_SNP_MEASUREMENT_SIZE, AC_SNP_MEASUREMENT_SIZE,
	                            AC_ERROR_INVALID_INPUT, &len, error);
	if (b == NULL)
		return FALSE;
	memcpy (out, b, AC_SNP_MEASUREMENT_SIZE);
	return TRUE;
}

static gboolean
verify_parse_options (VerifyOptions *o,
                      AcSnpVerifyExpect *e,
                      GArray *measurements,
                      guint8 report_data[AC_SNP_REPORT_DATA_SIZE],
                      GDateTime **at,
                      GError **error)
{
	ac_snp_verify_policy_init (&e->policy);
	if (o->product != NULL
	    && !ac_snp_product_from_string (o->product, "--product", &e->policy.product, error))
		return FALSE;
	if (o->min_tcb != NULL) {
		if (!ac_snp_verify_policy_parse_tcb (o->min_tcb, "--min-tcb", &e->policy.min_tcb,
		                                     error))
			return FALSE;
		e->policy.have_min_tcb = TRUE;
	}
	e->policy.allow_tcb_below_default = o->allow_below;
	e->policy.allow_debug = o->allow_debug;
	e->policy.allow_migrate_ma = o->allow_migrate;
	e->policy.allow_vlek = o->allow_vlek;
	if (o->policy != NULL) {
		if (!ac_snp_policy_parse (o->policy, &e->policy.expected_policy, error)) {
			g_prefix_error (error, "--policy: ");
			return FALSE;
		}
		e->policy.have_expected_policy = TRUE;
	}
	if (o->vmpl_max != NULL) {
		guint64 v;
		if (!cli_sev_parse_uint (o->vmpl_max, "--vmpl-max", 3, &v, error))
			return FALSE;
		e->policy.vmpl_max = (guint)v;
	}
	if (o->min_abi != NULL) {
		guint64 major = 0, minor = 0;
		g_auto (GStrv) parts = g_strsplit (o->min_abi, ".", 3);
		if (g_strv_length (parts) != 2
		    || !cli_sev_parse_uint (parts[0], "--min-abi", 255, &major, error)
		    || !cli_sev_parse_uint (parts[1], "--min-abi", 255, &minor, error)) {
			g_clear_error (error);
			g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			             "--min-abi %s: expected MAJOR.MINOR (each 0 to 255)",
			             o->min_abi);
			return FALSE;
		}
		e->policy.min_abi_major = (guint8)major;
		e->policy.min_abi_minor = (guint8)minor;
	}
	for (guint i = 0; o->measurements != NULL && o->measurements[i] != NULL; i++) {
		guint8 d[AC_SNP_MEASUREMENT_SIZE];
		if (!verify_parse_digest (o->measurements[i], d, error))
			return FALSE;
		g_array_append_vals (measurements, d, 1);
	}
	e->measurements = (const guint8 (*)[AC_SNP_MEASUREMENT_SIZE])measurements->data;
	e->n_measurements = measurements->len;
	if (o->report_data != NULL) {
		if (!ac_codec_hex_decode_fixed ("--expected-report-data", o->report_data, 0,
		                                report_data, AC_SNP_REPORT_DATA_SIZE, error))
			return FALSE;
		e->report_data = report_data;
	}
	if (o->at != NULL) {
		*at = g_date_time_new_from_iso8601 (o->at, NULL);
		if (*at == NULL) {
			g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			             "--at %s: expected an ISO 8601 time with its zone "
			             "(2026-12-06T12:00:00Z)",
			             o->at);
			return FALSE;
		}
		e->at = *at;
	}
	return TRUE;
}

static void
verify_print (AcCliGlobal *global, const AcSnpVerifyResult *r)
{
	g_autofree gchar *tcb = ac_snp_tcb_to_string (&r->chain->tcb, r->chain->product);
	g_autofree gchar *measurement
	    = ac_codec_hex_encode (r->report.measurement, AC_SNP_MEASUREMENT_SIZE);
	g_autofree gchar *chip = ac_codec_hex_encode (r->report.chip_id, AC_SNP_CHIP_ID_SIZE);
	g_autofree gchar *policy = ac_snp_policy_to_names (r->report.policy);
	const gchar *root = r->chain->builtin_root ? "AMD (built-in)" : "explicitly trusted";

	if (global->json) {
		/* json-glib's rendering without json-glib: the front links GLib and OpenSSL only */
		g_auto (AcJsonWriter) w = { 0 };
		ac_json_writer_init (&w);
		ac_json_writer_begin_object (&w, NULL);
		ac_json_writer_boolean (&w, "verified", TRUE);
		ac_json_writer_string (&w, "product", ac_snp_product_to_string (r->chain->product));
		ac_json_writer_string (&w, "signer", ac_snp_cert_role_to_string (r->chain->signer));
		ac_json_writer_string (&w, "root", r->chain->builtin_root ? "builtin" : "trusted");
		ac_json_writer_string (&w, "ark_spki_sha384", r->chain->ark_spki_sha384);
		ac_json_writer_string (&w, "tcb", tcb);
		ac_json_writer_string (&w, "chip_id", chip);
		ac_json_writer_string (&w, "policy", policy);
		ac_json_writer_int (&w, "vmpl", r->report.vmpl);
		ac_json_writer_string (&w, "measurement", measurement);
		ac_json_writer_boolean (&w, "measurement_checked", r->measurement_checked);
		ac_json_writer_boolean (&w, "report_data_checked", r->report_data_checked);
		ac_json_writer_boolean (&w, "crl_checked", r->crl_checked);
		ac_json_writer_end_object (&w);
		ac_cli_print_json_text (ac_json_writer_get_text (&w));
		return;
	}
	if (global->quiet)
		return;
	printf ("SNP report verified: %s %s, chain to the %s ARK\n",
	        ac_snp_product_to_string (r->chain->product),
	        ac_snp_cert_role_to_string (r->chain->signer), root);
	printf ("  reported TCB  %s (the VCEK's)\n", tcb);
	printf ("  policy        %s, VMPL %u\n", policy, r->report.vmpl);
	printf ("  measurement   %s (%s)\n", measurement,
	        r->measurement_checked ? "expected" : "NOT CHECKED: no --expected-measurement");
	printf ("  report data   %s\n",
	        r->report_data_checked ? "expected" : "NOT CHECKED: no --expected-report-data");
	printf ("  CRL           %s\n",
	        r->crl_checked ? "checked, ASK not revoked" : "not checked");
}

int
cli_snp_cmd_verify_report (AcCliGlobal *global, int argc, char **argv)
{
	g_auto (VerifyOptions) o = { 0 };
	const GOptionEntry entries[] = {
		{ "vcek", 0, 0, G_OPTION_ARG_FILENAME, &o.vcek,
		  "the VCEK (or VLEK) that signed the report, PEM or DER", "FILE" },
		{ "chain", 0, 0, G_OPTION_ARG_FILENAME, &o.chain,
		  "its ASK (or ASVK) and ARK, PEM (KDS cert_chain); default: the built-in ones",
		  "FILE" },
		{ "kds", 0, 0, G_OPTION_ARG_NONE, &o.kds,
		  "fetch what is not given (VCEK, cert_chain, CRL) from KDS", NULL },
		{ "kds-url", 0, 0, G_OPTION_ARG_STRING, &o.kds_url,
		  "the KDS base URL (default https://kdsintf.amd.com; implies --kds)", "URL" },
		{ "cache-dir", 0, 0, G_OPTION_ARG_FILENAME, &o.cache_dir,
		  "keep KDS answers here (certificates are immutable)", "DIR" },
		{ "offline", 0, 0, G_OPTION_ARG_NONE, &o.offline,
		  "never contact KDS: answer from --cache-dir only", NULL },
		{ "crl", 0, 0, G_OPTION_ARG_FILENAME, &o.crl,
		  "the ARK's CRL (DER): the ASK must not be on it", "FILE" },
		{ "check-crl", 0, 0, G_OPTION_ARG_NONE, &o.check_crl,
		  "fetch the ARK's CRL from KDS and check the ASK is not revoked", NULL },
		{ "trust-ark", 0, 0, G_OPTION_ARG_FILENAME, &o.trust_ark,
		  "also trust this ARK (a devnet's software root; never one a host sent)", "FILE" },
		{ "product", 0, 0, G_OPTION_ARG_STRING, &o.product,
		  "milan, genoa or turin (a version 2 report does not say)", "P" },
		{ "expected-measurement", 0, 0, G_OPTION_ARG_STRING_ARRAY, &o.measurements,
		  "the launch digest expected (hex or base64; repeat for any of several)",
		  "DIGEST" },
		{ "expected-report-data", 0, 0, G_OPTION_ARG_STRING, &o.report_data,
		  "the REPORT_DATA expected (128 hex digits)", "HEX" },
		{ "min-tcb", 0, 0, G_OPTION_ARG_STRING, &o.min_tcb,
		  "raise the TCB floor (bl=N,tee=N,snp=N,ucode=N[,fmc=N])", "TCB" },
		{ "allow-tcb-below-default", 0, 0, G_OPTION_ARG_NONE, &o.allow_below,
		  "let --min-tcb lower the built-in floor (INSECURE for production)", NULL },
		{ "policy", 0, 0, G_OPTION_ARG_STRING, &o.policy,
		  "the guest policy the launch asked for: the report's must equal it", "POLICY" },
		{ "allow-debug", 0, 0, G_OPTION_ARG_NONE, &o.allow_debug,
		  "accept a debug guest (INSECURE: the host reads its memory)", NULL },
		{ "allow-migrate-ma", 0, 0, G_OPTION_ARG_NONE, &o.allow_migrate,
		  "accept a guest with a migration agent", NULL },
		{ "allow-vlek", 0, 0, G_OPTION_ARG_NONE, &o.allow_vlek,
		  "accept a report signed by a VLEK", NULL },
		{ "vmpl-max", 0, 0, G_OPTION_ARG_STRING, &o.vmpl_max,
		  "the highest VMPL accepted (default 1)", "N" },
		{ "min-abi", 0, 0, G_OPTION_ARG_STRING, &o.min_abi,
		  "the oldest SNP firmware ABI accepted (MAJOR.MINOR)", "M.m" },
		{ "at", 0, 0, G_OPTION_ARG_STRING, &o.at,
		  "check certificate validity at this time instead of now (ISO 8601)", "TIME" },
		{ NULL },
	};
	g_autoptr (GOptionContext) ctx = ac_cli_option_context_new (
	    global, "REPORT",
	    "Verify an SEV-SNP attestation report (the raw 1184 bytes) as a guest owner does "
	    "before sending a secret: the VCEK's chain to AMD's root of the product, the VCEK "
	    "bound to the report's CHIP_ID and REPORTED_TCB, the signature, the TCB floor and "
	    "guest policy, then the expected launch digest and report data. The VCEK comes "
	    "from --vcek or KDS (--kds).");
	g_autoptr (GError) error = NULL;
	g_autoptr (GBytes) bytes = NULL;
	g_autoptr (GArray) measurements = g_array_new (FALSE, FALSE, AC_SNP_MEASUREMENT_SIZE);
	g_autoptr (GDateTime) at = NULL;
	g_autoptr (AcSnpRoots) roots = ac_snp_roots_new_builtin ();
	g_autoptr (AcSnpCert) vcek = NULL;
	g_autoptr (AcSnpCert) intermediate = NULL;
	g_autoptr (AcSnpCert) ark = NULL;
	g_autoptr (AcSnpCrl) crl = NULL;
	g_autoptr (AcSnpKds) kds = NULL;
	g_autoptr (AcSnpVerifyResult) result = NULL;
	guint8 report_data[AC_SNP_REPORT_DATA_SIZE];
	AcSnpVerifyExpect e = { 0 };
	AcSnpCertSource certs = { 0 };

	/* before OpenSSL's first use: what that costs is most of this command's time */
	ac_snp_verify_process_init ();
	g_option_context_add_main_entries (ctx, entries, NULL);
	if (!ac_cli_parse_args (ctx, &argc, &argv, 1, "snp verify-report takes one REPORT file",
	                        &error))
		return ac_cli_fail (global, g_steal_pointer (&error));
	if (!verify_parse_options (&o, &e, measurements, report_data, &at, &error))
		return ac_cli_fail (global, g_steal_pointer (&error));

	if (o.trust_ark != NULL) {
		g_autoptr (AcSnpCert) trusted
		    = cli_snp_read_cert (o.trust_ark, "--trust-ark", &error);
		if (trusted == NULL
		    || !ac_snp_roots_add_trusted (roots, ac_snp_cert_get_product (trusted), trusted,
		                                  &error))
			return ac_cli_fail (global, g_steal_pointer (&error));
	}
	if (o.vcek != NULL && (vcek = cli_snp_read_cert (o.vcek, "--vcek", &error)) == NULL)
		return ac_cli_fail (global, g_steal_pointer (&error));
	if (o.chain != NULL && !verify_read_chain (o.chain, &intermediate, &ark, &error))
		return ac_cli_fail (global, g_steal_pointer (&error));
	if (o.crl != NULL) {
		g_autoptr (GBytes) b
		    = cli_sev_read_file (o.crl, "--crl", SEV_SMALL_FILE_MAX, &error);
		if (b == NULL
		    || (crl = ac_snp_crl_parse (g_bytes_get_data (b, NULL), g_bytes_get_size (b),
		                                o.crl, &error))
		           == NULL)
			return ac_cli_fail (global, g_steal_pointer (&error));
	}
	if (o.kds || o.kds_url != NULL || o.offline || o.check_crl) {
		kds = cli_snp_kds_new (global, o.kds_url, o.cache_dir, o.offline, &error);
		if (kds == NULL)
			return ac_cli_fail (global, g_steal_pointer (&error));
	}

	bytes = cli_sev_read_file (argv[1], "REPORT", SEV_SMALL_FILE_MAX, &error);
	if (bytes == NULL)
		return ac_cli_fail (global, g_steal_pointer (&error));
	cli_sev_debug_sha256 (global, "REPORT", bytes);
	certs.leaf = vcek;
	certs.intermediate = intermediate;
	certs.ark = ark;
	certs.crl = crl;
	certs.kds = kds;
	certs.check_crl = o.check_crl;
	if (!ac_snp_verify_report (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes), roots,
	                           &certs, &e, &result, NULL, &error)) {
		if (g_error_matches (error, AC_ERROR, AC_ERROR_NOT_FOUND) && vcek == NULL
		    && kds == NULL)
			g_prefix_error (&error, "%s: give --vcek FILE or --kds: ", argv[1]);
		else
			g_prefix_error (&error, "%s: ", argv[1]);
		return ac_cli_fail (global, g_steal_pointer (&error));
	}
	verify_print (global, result);
	return AC_EXIT_OK;
}
