/*
 * virt-aleph snp report show | policy explain: an SEV-SNP attestation report, field by field,
 * and a guest policy, bit by bit.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <stdio.h>

#include <json-glib/json-glib.h>

#include "ac-json.h"
#include "ac-snp-policy.h"
#include "ac-snp-report.h"
#include "cli-sev.h"
#include "cli-snp.h"

/* `snp report show REPORT`: REPORT is the raw 1184-byte report, as the guest's
 * SNP_GET_REPORT returns it (not hex, not base64) */
int
cli_snp_cmd_report_show (AcCliGlobal *global, int argc, char **argv)
{
	g_autofree gchar *product_s = NULL;
	const GOptionEntry entries[] = {
		{ "product", 0, 0, G_OPTION_ARG_STRING, &product_s,
		  "milan, genoa or turin: decode the TCB versions of a version 2 report (which "
		  "does "
		  "not name its product); must match a version 3+ report's CPUID",
		  "P" },
		{ NULL },
	};
	g_autoptr (GOptionContext) ctx = ac_cli_option_context_new (
	    global, "REPORT",
	    "Show every field of an SEV-SNP attestation report: REPORT is the raw 1184-byte "
	    "report (binary, as SNP_GET_REPORT returns it). The signature is not checked.");
	g_autoptr (GError) error = NULL;
	g_autoptr (GBytes) bytes = NULL;
	AcSnpProduct product = AC_SNP_PRODUCT_UNKNOWN;
	AcSnpReport report;

	g_option_context_add_main_entries (ctx, entries, NULL);
	if (!ac_cli_parse_args (ctx, &argc, &argv, 1, "snp report show takes one REPORT file",
	                        &error))
		return ac_cli_fail (global, g_steal_pointer (&error));
	if (product_s != NULL
	    && !ac_snp_product_from_string (product_s, "--product", &product, &error))
		return ac_cli_fail (global, g_steal_pointer (&error));
	bytes = cli_sev_read_file (argv[1], "REPORT", SEV_SMALL_FILE_MAX, &error);
	if (bytes == NULL)
		return ac_cli_fail (global, g_steal_pointer (&error));
	cli_sev_debug_sha256 (global, "REPORT", bytes);
	if (!ac_snp_report_parse (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes), &report,
	                          &error)) {
		if (g_bytes_get_size (bytes) != AC_SNP_REPORT_SIZE)
			return ac_cli_fail (
			    global,
			    g_error_new (AC_ERROR, AC_ERROR_INVALID_INPUT,
			                 "%s: %s (the file must hold the raw binary report, "
			                 "not hex or base64)",
			                 argv[1], error->message));
		g_prefix_error (&error, "%s: ", argv[1]);
		return ac_cli_fail (global, g_steal_pointer (&error));
	}
	if (product != AC_SNP_PRODUCT_UNKNOWN && report.product != AC_SNP_PRODUCT_UNKNOWN
	    && product != report.product)
		return ac_cli_fail (
		    global,
		    g_error_new (AC_ERROR, AC_ERROR_MISMATCH,
		                 "%s: the report's CPUID (family 0x%02x, model 0x%02x) names %s, "
		                 "--product says %s",
		                 argv[1], report.cpuid_fam_id, report.cpuid_mod_id,
		                 ac_snp_product_to_string (report.product),
		                 ac_snp_product_to_string (product)));
	if (global->json) {
		g_autofree gchar *text = ac_snp_report_to_json (&report, product);
		g_autoptr (JsonNode) node = json_from_string (text, &error);
		if (node == NULL)
			return ac_cli_fail (global, g_error_new (AC_ERROR, AC_ERROR_INTERNAL,
			                                         "rendering the report: %s",
			                                         error->message));
		ac_cli_print_json (node);
	} else {
		g_autofree gchar *text = ac_snp_report_to_text (&report, product);
		printf ("%s", text);
	}
	return AC_EXIT_OK;
}

/* `snp policy explain POLICY` */
int
cli_snp_cmd_policy_explain (AcCliGlobal *global, int argc, char **argv)
{
	g_autoptr (GOptionContext) ctx = ac_cli_option_context_new (
	    global, "POLICY",
	    "Explain an SEV-SNP guest policy given as a number (0x30000) or flag names "
	    "(smt,single-socket,abi=1.51).");
	g_autoptr (GError) error = NULL;
	guint64 policy = 0;

	if (!ac_cli_parse_args (ctx, &argc, &argv, 1, "snp policy explain takes one POLICY",
	                        &error))
		return ac_cli_fail (global, g_steal_pointer (&error));
	if (!ac_snp_policy_parse (argv[1], &policy, &error))
		return ac_cli_fail (global, g_steal_pointer (&error));
	if (global->json) {
		g_autoptr (JsonBuilder) b = json_builder_new ();
		g_autofree gchar *hex = g_strdup_printf ("0x%" G_GINT64_MODIFIER "x", policy);
		g_autofree gchar *names = ac_snp_policy_to_names (policy);
		json_builder_begin_object (b);
		ac_json_builder_add_string (b, "policy", hex);
		/* a valid policy is below 2^26: exact as a JSON number */
		ac_json_builder_add_int (b, "value", (gint64)policy);
		ac_json_builder_add_string (b, "names", names);
		json_builder_set_member_name (b, "abi_major");
		json_builder_add_int_value (b, (gint64)((policy & AC_SNP_POLICY_ABI_MAJOR_MASK)
		                                        >> AC_SNP_POLICY_ABI_MAJOR_SHIFT));
		ac_json_builder_add_int (b, "abi_minor",
		                         (gint64)(policy & AC_SNP_POLICY_ABI_MINOR_MASK));
		ac_json_builder_add_boolean (b, "debug", (policy & AC_SNP_POLICY_DEBUG) != 0);
		ac_json_builder_add_boolean (b, "migrate_ma",
		                             (policy & AC_SNP_POLICY_MIGRATE_MA) != 0);
		ac_json_builder_add_boolean (b, "smt", (policy & AC_SNP_POLICY_SMT) != 0);
		ac_json_builder_add_boolean (b, "single_socket",
		                             (policy & AC_SNP_POLICY_SINGLE_SOCKET) != 0);
		json_builder_end_object (b);
		ac_cli_print_json_builder (b);
	} else {
		g_autofree gchar *text = ac_snp_policy_explain (policy);
		printf ("%s", text);
	}
	return AC_EXIT_OK;
}
