/*
 * virt-aleph snp fetch-certs: the VCEK of a report's chip and TCB, and its ASK/ARK chain (and
 * the ARK's CRL), from AMD KDS or a cache, verified to the built-in AMD root of the product
 * before anything is written.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>

#include "ac-codec.h"
#include "ac-file.h"
#include "ac-json.h"
#include "ac-snp-chain.h"
#include "ac-snp-kds.h"
#include "ac-snp-report.h"
#include "cli-sev.h"
#include "cli-snp.h"

/* what KDS needs: the chip and its reported TCB, from a report or from the options */
typedef struct {
	guint64 reported_tcb;
	guint8 chip_id[AC_SNP_CHIP_ID_SIZE];
	AcSnpProduct product; /* from CPUID (v3+), else unknown */
} SnpReportFields;

static gboolean
snp_certs_read_report (const gchar *path, SnpReportFields *out, GError **error)
{
	g_autoptr (GBytes) b = cli_sev_read_file (path, "report", SEV_SMALL_FILE_MAX, error);
	AcSnpReport report;

	if (b == NULL)
		return FALSE;
	if (!ac_snp_report_parse (g_bytes_get_data (b, NULL), g_bytes_get_size (b), &report,
	                          error)) {
		g_prefix_error (error, "report %s: ", path);
		return FALSE;
	}
	out->reported_tcb = report.tcb[AC_SNP_TCB_REPORTED];
	memcpy (out->chip_id, report.chip_id, sizeof out->chip_id);
	out->product = report.product;
	return TRUE;
}

static gboolean
snp_certs_write (const gchar *dir,
                 const gchar *name,
                 GBytes *data,
                 gboolean force,
                 GPtrArray *written,
                 GError **error)
{
	g_autofree gchar *path = g_build_filename (dir, name, NULL);
	if (!ac_file_replace_contents (path, g_bytes_get_data (data, NULL), g_bytes_get_size (data),
	                               force, 0644, error))
		return FALSE;
	g_ptr_array_add (written, g_steal_pointer (&path));
	return TRUE;
}

static GBytes *
snp_certs_pem_bytes (AcSnpCert *a, AcSnpCert *b)
{
	g_autofree gchar *pa = ac_snp_cert_to_pem (a);
	g_autofree gchar *pb = ac_snp_cert_to_pem (b);
	gchar *both = g_strconcat (pa, pb, NULL);
	return g_bytes_new_take (both, strlen (both));
}

/* the chip and its TCB, from the REPORT argument or --chip-id and --tcb, and the product */
static gboolean
snp_certs_target (int argc,
                  char **argv,
                  const gchar *chip_hex,
                  const gchar *tcb_text,
                  const gchar *product_text,
                  SnpReportFields *rep,
                  AcSnpProduct *product_out,
                  AcSnpTcb *tcb,
                  GError **error)
{
	static const guint8 zero[64] = { 0 };
	AcSnpProduct product = AC_SNP_PRODUCT_UNKNOWN;

	if (argc > 2) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "fetch-certs takes at most one REPORT, got %d arguments", argc - 1);
		return FALSE;
	}
	if ((argc == 2) == (chip_hex != NULL || tcb_text != NULL)) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		                     "give a REPORT or --chip-id and --tcb, not both");
		return FALSE;
	}
	if (product_text != NULL
	    && !ac_snp_product_from_string (product_text, "--product", &product, error))
		return FALSE;

	if (argc == 2) {
		if (!snp_certs_read_report (argv[1], rep, error))
			return FALSE;
		if (product == AC_SNP_PRODUCT_UNKNOWN) {
			product = rep->product;
		} else if (rep->product != AC_SNP_PRODUCT_UNKNOWN && rep->product != product) {
			g_set_error (error, AC_ERROR, AC_ERROR_MISMATCH,
			             "--product %s, but the report's CPUID says %s",
			             ac_snp_product_to_string (product),
			             ac_snp_product_to_string (rep->product));
			return FALSE;
		}
	} else {
		guint64 raw = 0;
		if (chip_hex == NULL || tcb_text == NULL) {
			g_set_error_literal (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			                     "--chip-id and --tcb go together");
			return FALSE;
		}
		if (!ac_codec_hex_decode_fixed ("--chip-id", chip_hex, 0, rep->chip_id, 64, error)
		    || !cli_sev_parse_uint (tcb_text, "--tcb", G_MAXUINT64, &raw, error))
			return FALSE;
		rep->reported_tcb = raw;
	}
	if (product == AC_SNP_PRODUCT_UNKNOWN) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		                     "give --product: a version 2 report (or a bare chip id) does "
		                     "not name its product");
		return FALSE;
	}
	if (!ac_snp_tcb_decode (rep->reported_tcb, product, "REPORTED_TCB", tcb, error))
		return FALSE;
	if (memcmp (rep->chip_id, zero, 64) == 0) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		                     "CHIP_ID is all zero (masked): KDS cannot name the chip's "
		                     "VCEK");
		return FALSE;
	}
	*product_out = product;
	return TRUE;
}

/* the verified files into @dir: every destination checked first, so a refusal leaves no
 * partial set behind; @written: their paths */
static gboolean
snp_certs_write_all (const gchar *dir,
                     AcSnpCert *vcek,
                     AcSnpCert *ask,
                     AcSnpCert *ark,
                     AcSnpCrl *crl,
                     gboolean force,
                     GPtrArray *written,
                     GError **error)
{
	g_autoptr (GBytes) vcek_der = NULL;
	g_autoptr (GBytes) chain_pem = NULL;

	if (g_mkdir_with_parents (dir, 0755) != 0) {
		g_set_error (error, AC_ERROR, AC_ERROR_IO, "--dir %s: %s", dir, g_strerror (errno));
		return FALSE;
	}
	for (guint i = 0; i < (crl != NULL ? 3u : 2u); i++) {
		static const gchar *const names[] = { "vcek.der", "cert_chain.pem", "crl.der" };
		g_autofree gchar *path = g_build_filename (dir, names[i], NULL);
		AcFileDest kind;
		if (!ac_file_check_destination (path, force, &kind, error))
			return FALSE;
	}
	vcek_der = ac_snp_cert_get_der (vcek);
	chain_pem = snp_certs_pem_bytes (ask, ark);
	if (!snp_certs_write (dir, "vcek.der", vcek_der, force, written, error)
	    || !snp_certs_write (dir, "cert_chain.pem", chain_pem, force, written, error))
		return FALSE;
	if (crl != NULL) {
		g_autoptr (GBytes) crl_der = ac_snp_crl_get_der (crl);
		if (!snp_certs_write (dir, "crl.der", crl_der, force, written, error))
			return FALSE;
	}
	return TRUE;
}

/* the verdict and the files written, as JSON (--json) or text */
static void
snp_certs_print (AcCliGlobal *global,
                 const AcSnpChainVerdict *v,
                 const gchar *tcb_str,
                 gboolean crl_checked,
                 const gchar *url,
                 GPtrArray *written)
{
	if (global->json) {
		g_autoptr (JsonBuilder) b = json_builder_new ();
		json_builder_begin_object (b);
		ac_json_builder_add_string (b, "verdict", "trusted");
		ac_json_builder_add_string (b, "product", ac_snp_product_to_string (v->product));
		ac_json_builder_add_string (b, "product_name", v->product_name);
		ac_json_builder_add_string (b, "tcb", tcb_str);
		ac_json_builder_add_boolean (b, "builtin_root", v->builtin_root);
		ac_json_builder_add_boolean (b, "crl_checked", crl_checked);
		ac_json_builder_add_string (b, "vcek_url", url);
		json_builder_set_member_name (b, "files");
		json_builder_begin_array (b);
		for (guint i = 0; i < written->len; i++)
			json_builder_add_string_value (b, g_ptr_array_index (written, i));
		json_builder_end_array (b);
		json_builder_end_object (b);
		ac_cli_print_json_builder (b);
	} else if (!global->quiet) {
		printf ("OK: the %s VCEK (%s, %s) verifies to the %s %s root%s\n", v->product_name,
		        tcb_str, "chip id matches",
		        v->builtin_root ? "built-in AMD" : "explicitly trusted",
		        ac_snp_product_to_string (v->product),
		        crl_checked ? "; the ASK is not revoked" : "");
		for (guint i = 0; i < written->len; i++)
			printf ("  wrote %s\n", (const gchar *)g_ptr_array_index (written, i));
	}
}

int
cli_snp_cmd_fetch_certs (AcCliGlobal *global, int argc, char **argv)
{
	g_autofree gchar *chip_hex = NULL, *tcb_text = NULL, *product_text = NULL, *dir = NULL;
	g_autofree gchar *kds_url = NULL, *cache_dir = NULL, *trust_ark = NULL;
	gboolean offline = FALSE, crl = FALSE, force = FALSE;
	g_autoptr (GOptionContext) ctx = ac_cli_option_context_new (
	    global, "[REPORT]",
	    "Fetch the VCEK of an SEV-SNP attestation report's chip and TCB, and its ASK/ARK chain "
	    "(cert_chain), from AMD KDS or the cache; verify them to the built-in AMD root of the "
	    "product and the report's CHIP_ID and REPORTED_TCB; write vcek.der, cert_chain.pem "
	    "(and crl.der with --crl) into --dir. Without REPORT, give --chip-id, --tcb and "
	    "--product.");
	const GOptionEntry entries[] = {
		{ "chip-id", 0, 0, G_OPTION_ARG_STRING, &chip_hex,
		  "the CHIP_ID (128 hex digits) instead of a report", "HEX" },
		{ "tcb", 0, 0, G_OPTION_ARG_STRING, &tcb_text,
		  "the REPORTED_TCB as a u64 (decimal or 0x hex) instead of a report", "U64" },
		{ "product", 0, 0, G_OPTION_ARG_STRING, &product_text,
		  "milan, genoa or turin (required unless the report is version 3 or later)", "P" },
		{ "dir", 0, 0, G_OPTION_ARG_FILENAME, &dir, "where to write the files (default .)",
		  "DIR" },
		{ "kds-url", 0, 0, G_OPTION_ARG_STRING, &kds_url,
		  "the KDS base URL (default https://kdsintf.amd.com)", "URL" },
		{ "cache-dir", 0, 0, G_OPTION_ARG_FILENAME, &cache_dir,
		  "keep KDS answers here (default: no cache)", "DIR" },
		{ "offline", 0, 0, G_OPTION_ARG_NONE, &offline,
		  "never contact KDS: answer from --cache-dir only", NULL },
		{ "crl", 0, 0, G_OPTION_ARG_NONE, &crl,
		  "also fetch the ARK's CRL, verify it and check the ASK is not revoked", NULL },
		{ "trust-ark", 0, 0, G_OPTION_ARG_FILENAME, &trust_ark,
		  "also trust this ARK (PEM or DER; a devnet's software root)", "FILE" },
		{ "force", 0, 0, G_OPTION_ARG_NONE, &force, "replace existing files", NULL },
		{ NULL },
	};
	g_autoptr (GError) error = NULL;
	g_autoptr (AcSnpRoots) roots = ac_snp_roots_new_builtin ();
	g_autoptr (AcSnpKds) kds = NULL;
	g_autoptr (AcSnpCert) vcek = NULL;
	g_autoptr (AcSnpCert) ask = NULL;
	g_autoptr (AcSnpCert) ark = NULL;
	g_autoptr (AcSnpCrl) crl_obj = NULL;
	g_autoptr (AcSnpChainVerdict) v = NULL;
	g_autoptr (GPtrArray) written = g_ptr_array_new_with_free_func (g_free);
	g_autofree gchar *url = NULL;
	g_autofree gchar *tcb_str = NULL;
	SnpReportFields rep = { 0 };
	AcSnpProduct product = AC_SNP_PRODUCT_UNKNOWN;
	AcSnpTcb tcb;
	AcSnpChainExpect expect = { 0 };

	g_option_context_add_main_entries (ctx, entries, NULL);
	if (!ac_cli_parse (ctx, &argc, &argv, &error))
		return ac_cli_fail (global, g_steal_pointer (&error));
	if (!snp_certs_target (argc, argv, chip_hex, tcb_text, product_text, &rep, &product, &tcb,
	                       &error))
		return ac_cli_fail (global, g_steal_pointer (&error));
	if (trust_ark != NULL) {
		g_autoptr (AcSnpCert) root = cli_snp_read_cert (trust_ark, "--trust-ark", &error);
		if (root == NULL || !ac_snp_roots_add_trusted (roots, product, root, &error))
			return ac_cli_fail (global, g_steal_pointer (&error));
	}
	if (dir == NULL)
		dir = g_strdup (".");

	kds = cli_snp_kds_new (global, kds_url, cache_dir, offline, &error);
	if (kds == NULL)
		return ac_cli_fail (global, g_steal_pointer (&error));
	url = ac_snp_kds_vcek_url (ac_snp_kds_get_base_url (kds), product, rep.chip_id, 64, &tcb,
	                           NULL);
	tcb_str = ac_snp_tcb_to_string (&tcb, product);
	if (global->debug)
		fprintf (stderr, "debug: product %s, TCB %s, VCEK URL %s\n",
		         ac_snp_product_to_string (product), tcb_str, url);

	vcek = ac_snp_kds_get_vcek (kds, product, rep.chip_id, 64, &tcb, NULL, &error);
	if (vcek == NULL
	    || !ac_snp_kds_get_cert_chain (kds, product, FALSE, &ask, &ark, NULL, &error))
		return ac_cli_fail (global, g_steal_pointer (&error));
	expect.product = product;
	expect.chip_id = rep.chip_id;
	expect.chip_id_len = 64;
	expect.has_tcb = TRUE;
	expect.tcb = tcb;
	if (!ac_snp_chain_verify (roots, vcek, ask, ark, &expect, NULL, NULL, &v, &error))
		return ac_cli_fail (global, g_steal_pointer (&error));
	if (crl) {
		crl_obj = ac_snp_kds_get_crl (kds, product, FALSE, ark, NULL, NULL, &error);
		if (crl_obj == NULL || !ac_snp_crl_check (crl_obj, ask, &error))
			return ac_cli_fail (global, g_steal_pointer (&error));
	}

	/* verified: write */
	if (!snp_certs_write_all (dir, vcek, ask, ark, crl_obj, force, written, &error))
		return ac_cli_fail (global, g_steal_pointer (&error));
	snp_certs_print (global, v, tcb_str, crl_obj != NULL, url, written);
	return AC_EXIT_OK;
}
