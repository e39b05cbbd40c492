/*
 * virt-aleph snp: AMD SEV-SNP guest-owner tools. cli-snp.c dispatches; each command lives in
 * its own file (cli-snp-report.c, cli-snp-measure.c, cli-snp-certs.c, …) and adds its line to
 * the table in cli-snp.c. The dispatcher, verify-report and measure are the front's (GLib and
 * OpenSSL only); the other commands are the main module's (ac-cli.h).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

#include "ac-cli.h"
#include "ac-snp-kds.h"

G_BEGIN_DECLS

/* a command: argv[0] is "snp NAME"; returns an AcExitCode (errors through ac_cli_fail) */
typedef struct {
	const gchar *name; /* "measure", or two words "report show" */
	const gchar *args; /* for the usage line: "REPORT" */
	const gchar *summary;
	AcCliCommandFunc func; /* the front's (verify-report, measure), or NULL: */
	const gchar *symbol;   /* the main module's function */
} CliSnpCommand;

/* cli-snp-report.c */
int
cli_snp_cmd_report_show (AcCliGlobal *global, int argc, char **argv);
int
cli_snp_cmd_policy_explain (AcCliGlobal *global, int argc, char **argv);
/* cli-snp-verify.c */
int
cli_snp_cmd_verify_report (AcCliGlobal *global, int argc, char **argv);
/* cli-snp-measure.c (the front) */
int
cli_snp_cmd_measure (AcCliGlobal *global, int argc, char **argv);
/* cli-snp-runtime.c */
int
cli_snp_cmd_make_runtime (AcCliGlobal *global, int argc, char **argv);
/* cli-snp-certs.c */
int
cli_snp_cmd_fetch_certs (AcCliGlobal *global, int argc, char **argv);

/* cli-snp-verify.c: a certificate, PEM or DER, from the file @path of option @what (--vcek) */
AcSnpCert *
cli_snp_read_cert (const gchar *path, const gchar *what, GError **error);

/* a KDS client for @global's options: @base_url (NULL: AMD's), @cache_dir (nullable); online,
 * its fetch is the aleph module's (the front links no HTTP library), loaded here */
AcSnpKds *
cli_snp_kds_new (AcCliGlobal *global,
                 const gchar *base_url,
                 const gchar *cache_dir,
                 gboolean offline,
                 GError **error);

G_END_DECLS
