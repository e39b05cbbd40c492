/*
 * virt-aleph: the command-line front end of aleph-confidential.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <locale.h>
#include <stdio.h>
#include <string.h>

#include "ac-cli.h"
#include "ac-process.h"

/* Every command group registers here; keep sorted by name within a group. A command is run
 * by the front (its function) or by the module of its area (ac-cli.h), loaded only then. */
static const AcCliCommand commands[] = {
	{ "account", "show, create or import the Ethereum key that signs Aleph messages", NULL, "aleph", "ac_cli_cmd_account" },
	{ "message", "build, sign and verify Aleph messages (INSTANCE, STORE, FORGET)", NULL, "aleph", "ac_cli_cmd_message" },
	{ "ipfs", "CID and CAR of a file as kubo computes them", ac_cli_cmd_ipfs },
	{ "build", "build the encrypted disk image a template describes (GPT, ESP, LUKS1)", NULL, "flow", "ac_cli_cmd_build" },
	{ "sev", "AMD SEV: verify a chain, make a session, check a measurement, build a secret", NULL, "main", "ac_cli_cmd_sev" },
	{ "snp", "AMD SEV-SNP: show and verify a report, measure a launch, fetch certificates", ac_cli_cmd_snp },
	{ "apply", "run the Aleph flow of a domain in the foreground", NULL, "flow", "ac_cli_cmd_apply" },
	{ "attest", "attest a launch that waits for its secret, then send it", NULL, "flow", "ac_cli_cmd_attest" },
	{ "doctor", "check the host, the hook, the service, the account, SEV and the CRN", NULL, "flow", "ac_cli_cmd_doctor" },
	{ "logs", "show the event log of a domain's pipeline (not the VM's output: console)", NULL, "flow", "ac_cli_cmd_logs" },
	{ "console", "show the VM's own output from its CRN (aleph instance logs)", NULL, "flow", "ac_cli_cmd_console" },
	{ "stop", "stop a domain's instance on its CRN", NULL, "flow", "ac_cli_cmd_instance" },
	{ "reboot", "reboot a domain's instance on its CRN (attested again)", NULL, "flow", "ac_cli_cmd_instance" },
	{ "erase", "erase a domain's instance from its CRN", NULL, "flow", "ac_cli_cmd_instance" },
	{ "forget", "post a FORGET for a domain's INSTANCE (and image)", NULL, "flow", "ac_cli_cmd_instance" },
	{ "delete", "erase a domain's instance from its CRN, then forget it (aleph instance delete)", NULL, "flow", "ac_cli_cmd_instance" },
	{ "adopt", "attach an instance made with aleph-client to a domain (no message posted)", NULL, "flow", "ac_cli_cmd_adopt" },
	{ "tag", "add or replace the <aleph:confidential> element of a domain", NULL, "virt", "ac_cli_cmd_tag" },
	{ "untag", "remove the <aleph:confidential> element of a domain", NULL, "virt", "ac_cli_cmd_untag" },
	{ "status", "show the status the service recorded for a domain", NULL, "virt", "ac_cli_cmd_status" },
	{ "list", "list the tagged domains: mode, state, CRN, IPv6 and ssh hint", NULL, "virt", "ac_cli_cmd_list" },
	{ "validate", "check an <aleph:confidential> element or a domain XML file", NULL, "virt", "ac_cli_cmd_validate" },
	{ "devnet", "run a local Aleph network (CCN + software-SEV CRNs) in the foreground", NULL, "main", "ac_cli_cmd_devnet" },
};

static void
print_usage (FILE *out)
{
	fprintf (out,
		 "Usage: virt-aleph [--connect URI] [--json] [--quiet] [--debug] [--timeout SECONDS]\n"
		 "                  [--password-file FILE] COMMAND [ARGS…]\n"
		 "\n"
		 "Turn a libvirt domain into an Aleph Cloud confidential VM (AMD SEV).\n"
		 "\n"
		 "Commands:\n");
	for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
		fprintf (out, "  %-12s %s\n", commands[i].name, commands[i].summary);
	fprintf (out,
		 "\n"
		 "Run 'virt-aleph COMMAND --help' for the options of a command.\n"
		 "See virt-aleph(1) for exit codes.\n");
}

/* The module a command runs in: its area's, but `tag --passphrase-file` checks the passphrase
 * against an image on the network, which the virt module cannot (it loads no network library,
 * and one process loads one module): the flow module, which has the tag commands too. */
static const gchar *
command_area (const AcCliCommand *c, int argc, char **argv)
{
	if (g_strcmp0 (c->name, "tag") != 0)
		return c->area;
	for (int i = 1; i < argc; i++) {
		if (g_strcmp0 (argv[i], "--") == 0)
			break;
		if (g_strcmp0 (argv[i], "--passphrase-file") == 0
		    || g_str_has_prefix (argv[i], "--passphrase-file="))
			return "flow";
	}
	return c->area;
}

int
main (int argc, char **argv)
{
	AcCliGlobal global = { 0 };
	int cmd_index = -1;
	int rc;

	/* passphrases and account keys pass through here: no core dump may hold them */
	ac_process_harden ();
	setlocale (LC_ALL, "");

	/* --json: stdout carries JSON only, so GLib's log messages all go to stderr */
	ac_cli_prescan (&global, argc, argv);
	if (global.json)
		g_log_writer_default_set_use_stderr (TRUE);

	/* The command is the first argument that is not an option (or an option's value). */
	for (int i = 1; i < argc; i++) {
		if (g_strcmp0 (argv[i], "--connect") == 0 || g_strcmp0 (argv[i], "-c") == 0 ||
		    g_strcmp0 (argv[i], "--timeout") == 0 || g_strcmp0 (argv[i], "--password-file") == 0) {
			i++;
			continue;
		}
		if (argv[i][0] != '-') {
			cmd_index = i;
			break;
		}
		if (g_strcmp0 (argv[i], "--version") == 0 || g_strcmp0 (argv[i], "-V") == 0) {
			if (global.json)
				printf ("{\"version\":\"%s\"}\n", PACKAGE_VERSION);
			else
				printf ("virt-aleph %s\n", PACKAGE_VERSION);
			return AC_EXIT_OK;
		}
		if (g_strcmp0 (argv[i], "--help") == 0 || g_strcmp0 (argv[i], "-h") == 0) {
			print_usage (stdout);
			return AC_EXIT_OK;
		}
	}
	if (cmd_index < 0) {
		if (global.json)
			return ac_cli_fail (
			    &global,
			    g_error_new_literal (AC_ERROR, AC_ERROR_INVALID_INPUT,
			                         "no COMMAND given: see 'virt-aleph --help'"));
		print_usage (stderr);
		return AC_EXIT_USAGE;
	}
	for (guint j = 0; j < G_N_ELEMENTS (commands); j++) {
		if (g_strcmp0 (argv[cmd_index], commands[j].name) != 0)
			continue;
		/* Hand the command its name as argv[0], with the global options kept after it
		 * so its option context parses them too. */
		g_autoptr(GPtrArray) args = g_ptr_array_new ();
		AcCliCommandFunc func = commands[j].func;
		if (func == NULL) {
			g_autoptr(GError) error = NULL;
			func = ac_cli_module_symbol (command_area (&commands[j], argc, argv),
			                             commands[j].symbol, &error);
			if (func == NULL)
				return ac_cli_fail (&global, g_steal_pointer (&error));
		}
		g_ptr_array_add (args, argv[cmd_index]);
		for (int i = 1; i < argc; i++) {
			if (i != cmd_index)
				g_ptr_array_add (args, argv[i]);
		}
		g_ptr_array_add (args, NULL);
		rc = func (&global, (int)args->len - 1, (char **)args->pdata);
		g_free (global.connect_uri);
		g_free (global.password_file);
		return rc;
	}
	if (global.json)
		return ac_cli_fail (&global,
		                    g_error_new (AC_ERROR, AC_ERROR_INVALID_INPUT,
		                                 "unknown command '%s': see 'virt-aleph --help'",
		                                 argv[cmd_index]));
	fprintf (stderr, "virt-aleph: unknown command '%s'\n\n", argv[cmd_index]);
	print_usage (stderr);
	return AC_EXIT_USAGE;
}
