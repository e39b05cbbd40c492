/*
 * virt-aleph snp: the command group's dispatcher and usage.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "cli-snp.h"

/* one line per command, in the order the usage lists them */
static const CliSnpCommand snp_commands[] = {
	{ "report show", "REPORT", "show every field of an attestation report", NULL,
	  "cli_snp_cmd_report_show" },
	{ "policy explain", "POLICY", "explain a guest policy, bit by bit", NULL,
	  "cli_snp_cmd_policy_explain" },
	{ "verify-report", "REPORT", "verify an attestation report before trusting the guest",
	  cli_snp_cmd_verify_report, NULL },
	{ "measure", "", "launch digest of a QEMU + OVMF guest (sev-snp-measure)",
	  cli_snp_cmd_measure, NULL },
	{ "fetch-certs", "[REPORT]", "fetch and verify the VCEK and its ASK/ARK from AMD KDS", NULL,
	  "cli_snp_cmd_fetch_certs" },
	{ "make-runtime", "", "make an Aleph instance runtime (bundle + manifest) of your files",
	  NULL, "cli_snp_cmd_make_runtime" },
	{ NULL, NULL, NULL, NULL, NULL },
};

AcSnpKds *
cli_snp_kds_new (AcCliGlobal *global,
                 const gchar *base_url,
                 const gchar *cache_dir,
                 gboolean offline,
                 GError **error)
{
	AcSevKdsFetchFunc fetch = NULL;

	if (!offline) {
		fetch = ac_cli_module_symbol ("aleph", "ac_cli_kds_fetch", error);
		if (fetch == NULL)
			return NULL;
	}
	return ac_snp_kds_new (base_url, cache_dir, fetch, global);
}

static void
snp_usage (FILE *out)
{
	fprintf (out,
	         "Usage: virt-aleph snp COMMAND [OPTIONS…]\n\nAMD SEV-SNP guest-owner tools:\n");
	for (guint i = 0; snp_commands[i].name != NULL; i++) {
		g_autofree gchar *left
		    = g_strdup_printf ("%s %s", snp_commands[i].name, snp_commands[i].args);
		fprintf (out, "  %-30s %s\n", left, snp_commands[i].summary);
	}
	fprintf (out, "\nExit codes: 0 ok, 2 bad input, 3 refused, 4 untrusted chain, "
	              "5 mismatch, 6 network, 10 not found, 1 internal (docs/exit-codes.md).\n");
}

/* the command whose one or two words stand at argv[first…]; *@words is how many */
static const CliSnpCommand *
snp_lookup (int argc, char **argv, int first, int *words)
{
	for (guint i = 0; snp_commands[i].name != NULL; i++) {
		g_auto (GStrv) w = g_strsplit (snp_commands[i].name, " ", 2);
		if (g_strcmp0 (argv[first], w[0]) != 0)
			continue;
		if (w[1] == NULL) {
			*words = 1;
			return &snp_commands[i];
		}
		if (first + 1 < argc && g_strcmp0 (argv[first + 1], w[1]) == 0) {
			*words = 2;
			return &snp_commands[i];
		}
	}
	return NULL;
}

static gchar *
snp_names (void)
{
	g_autoptr (GString) s = g_string_new (NULL);
	for (guint i = 0; snp_commands[i].name != NULL; i++)
		g_string_append_printf (s, "%s%s", i > 0 ? ", " : "", snp_commands[i].name);
	return g_string_free (g_steal_pointer (&s), FALSE);
}

int
ac_cli_cmd_snp (AcCliGlobal *global, int argc, char **argv)
{
	const CliSnpCommand *cmd = NULL;
	g_autofree gchar *name = NULL;
	g_autoptr (GPtrArray) args = g_ptr_array_new ();
	int first = -1, words = 0;
	AcCliCommandFunc func;

	/* the command is the first non-option argument (global options may come before it) */
	for (int i = 1; i < argc; i++) {
		if (g_strcmp0 (argv[i], "--connect") == 0 || g_strcmp0 (argv[i], "-c") == 0
		    || g_strcmp0 (argv[i], "--timeout") == 0) {
			i++;
			continue;
		}
		if (argv[i][0] != '-') {
			first = i;
			break;
		}
	}
	if (first >= 0)
		cmd = snp_lookup (argc, argv, first, &words);
	if (cmd == NULL) {
		gboolean help = FALSE;
		g_autofree gchar *names = snp_names ();
		for (int i = 1; i < argc && first < 0; i++)
			help = help || g_strcmp0 (argv[i], "--help") == 0
			       || g_strcmp0 (argv[i], "-h") == 0;
		if (help) {
			snp_usage (stdout);
			return AC_EXIT_OK;
		}
		if (global->json)
			return ac_cli_fail (
			    global, g_error_new (AC_ERROR, AC_ERROR_INVALID_INPUT,
			                         "snp: %s%s%s: expected one of: %s",
			                         first < 0 ? "no command" : "unknown command '",
			                         first < 0 ? "" : argv[first], first < 0 ? "" : "'",
			                         names));
		if (first >= 0)
			fprintf (stderr, "virt-aleph snp: unknown command '%s'\n\n", argv[first]);
		snp_usage (stderr);
		return AC_EXIT_USAGE;
	}
	name = g_strdup_printf ("snp %s", cmd->name);
	g_ptr_array_add (args, name);
	for (int i = 1; i < argc; i++) {
		if (i < first || i >= first + words)
			g_ptr_array_add (args, argv[i]);
	}
	g_ptr_array_add (args, NULL);
	func = cmd->func;
	if (func == NULL) {
		g_autoptr (GError) error = NULL;
		func = ac_cli_module_symbol ("main", cmd->symbol, &error);
		if (func == NULL)
			return ac_cli_fail (global, g_steal_pointer (&error));
	}
	return func (global, (int)args->len - 1, (char **)args->pdata);
}
