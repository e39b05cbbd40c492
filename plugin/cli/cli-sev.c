/*
 * virt-aleph sev: verify-chain | session | measure | secret build | policy explain
 *
 * The guest owner's side of AMD SEV from the command line, replacing sevctl and checking what
 * virt-qemu-sev-validate checks (same option names for `measure`). Secrets (TEK, TIK, the
 * passphrase) are read from files only, never printed, and cleansed after use.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <json-glib/json-glib.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ac-cli.h"
#include "ac-codec.h"
#include "ac-file.h"
#include "ac-json.h"
#include "ac-secret.h"
#include "ac-sev-chain.h"
#include "ac-sev-measure.h"
#include "ac-sev-owner.h"
#include "ac-sev-policy.h"
#include "ac-sev-secret.h"
#include "ac-sev-session.h"
#include "cli-sev.h"

/* a copy in memory we own, for secrets that are cleansed after use: a regular file of at most
 * 64 KiB (a secret table entry is far smaller) */
static GBytes *
sev_read_secret_file (const gchar *path, const gchar *what, GError **error)
{
	GBytes *b = ac_file_read_bytes (path, 64 * 1024, error);
	if (b == NULL)
		g_prefix_error (error, "%s: ", what);
	return b;
}

/* base64 text, or a file holding base64 text or the raw bytes */
GBytes *
cli_sev_read_b64_arg (const gchar *value, gsize want, const gchar *what, GError **error)
{
	g_autofree gchar *text = NULL;
	guint8 *raw;
	gsize len = 0;

	if (value == NULL) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT, "%s is required", what);
		return NULL;
	}
	if (g_file_test (value, G_FILE_TEST_IS_REGULAR)) {
		g_autoptr(GBytes) b = cli_sev_read_file (value, what, SEV_SMALL_FILE_MAX, error);
		if (b == NULL)
			return NULL;
		if (g_bytes_get_size (b) == want)
			return g_steal_pointer (&b);
		text = g_strstrip (g_strndup (g_bytes_get_data (b, NULL), g_bytes_get_size (b)));
	} else {
		text = g_strstrip (g_strdup (value));
	}
	for (const gchar *p = text; *p != '\0'; p++) {
		if (!g_ascii_isalnum (*p) && *p != '+' && *p != '/' && *p != '=') {
			g_set_error (error,
				     AC_ERROR,
				     AC_ERROR_INVALID_INPUT,
				     "%s is neither a file nor base64 text",
				     what);
			return NULL;
		}
	}
	raw = ac_codec_base64_decode (what, text, want, want, AC_ERROR_INVALID_INPUT, &len, error);
	if (raw == NULL)
		return NULL;
	return g_bytes_new_take (raw, len);
}

/* the trusted roots: --ark/--ask (or --ca, ASK ‖ ARK as AMD distributes them) when given,
 * named after a matching built-in; else AMD's */
static AcSevRoots *
sev_roots_from_args (const gchar *ark_path, const gchar *ask_path, const gchar *ca_path, GError **error)
{
	g_autoptr(AcSevRoots) roots = NULL;
	g_autoptr(AcAmdCert) ark = NULL;
	g_autoptr(AcAmdCert) ask = NULL;
	const gchar *const *gens = ac_sev_builtin_generations ();
	const gchar *name = "given";

	if (ca_path != NULL) {
		g_autoptr(GBytes) ca = NULL;
		gsize used = 0, len = 0;
		const guint8 *p;
		if (ark_path != NULL || ask_path != NULL) {
			g_set_error_literal (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
					     "--ca cannot be combined with --ark/--ask");
			return NULL;
		}
		if ((ca = cli_sev_read_file (ca_path, "--ca", SEV_SMALL_FILE_MAX, error)) == NULL)
			return NULL;
		p = g_bytes_get_data (ca, &len);
		if ((ask = ac_amd_cert_parse (p, len, &used, error)) == NULL ||
		    (ark = ac_amd_cert_parse (p + used, len - used, NULL, error)) == NULL)
			return NULL;
	} else if (ark_path == NULL && ask_path == NULL) {
		return ac_sev_roots_new_builtin ();
	}
	if (ca_path == NULL && (ark_path == NULL || ask_path == NULL)) {
		g_set_error_literal (error,
				     AC_ERROR,
				     AC_ERROR_INVALID_INPUT,
				     "--ark and --ask go together (the trusted root and its signing key)");
		return NULL;
	}
	if (ca_path == NULL && ((ark = ac_amd_cert_parse_file (ark_path, error)) == NULL ||
				(ask = ac_amd_cert_parse_file (ask_path, error)) == NULL))
		return NULL;
	for (guint i = 0; gens[i] != NULL; i++) {
		g_autoptr(AcAmdCert) b = ac_sev_builtin_get_ark (gens[i], NULL);
		if (b != NULL && ac_amd_cert_same_key (b, ark))
			name = gens[i];
	}
	roots = ac_sev_roots_new ();
	if (!ac_sev_roots_add (roots, name, ark, ask, error))
		return NULL;
	return g_steal_pointer (&roots);
}

/* ------------------------------------------------------------------------------------------ */

static int
sev_cmd_verify_chain (AcCliGlobal *global, int argc, char **argv)
{
	g_autofree gchar *generation = NULL, *ark = NULL, *ask = NULL, *ca = NULL;
	g_autoptr(GOptionContext) ctx = ac_cli_option_context_new (global, "FILE",
		"Verify an SEV platform certificate chain (the `sevctl export` layout PDH‖PEK‖OCA‖CEK, "
		"or `export --full` with ASK‖ARK appended) up to a trusted root: the built-in AMD "
		"roots (Naples … Turin), or only the ARK/ASK given with --ark and --ask.");
	const GOptionEntry entries[] = {
		{ "generation", 0, 0, G_OPTION_ARG_STRING, &generation, "naples, rome, milan, genoa or turin (default: found by trying each)", "G" },
		{ "ark", 0, 0, G_OPTION_ARG_FILENAME, &ark, "trust this ARK (AMD format) instead of the built-in roots", "FILE" },
		{ "ask", 0, 0, G_OPTION_ARG_FILENAME, &ask, "the ASK that goes with --ark", "FILE" },
		{ "ca", 0, 0, G_OPTION_ARG_FILENAME, &ca, "trust this ASK ‖ ARK file (AMD's ask_ark_<gen>.cert) instead", "FILE" },
		{ NULL },
	};
	g_autoptr(GError) error = NULL;
	g_autoptr(AcSevRoots) roots = NULL;
	g_autoptr(AcSevChain) chain = NULL;
	g_autoptr(AcSevChainVerdict) v = NULL;
	AcSevCert *certs[4];
	const gchar *names[] = { "PDH", "PEK", "OCA", "CEK" };

	g_option_context_add_main_entries (ctx, entries, NULL);
	if (!ac_cli_parse_args (ctx, &argc, &argv, 1, "verify-chain takes one FILE", &error))
		return ac_cli_fail (global, g_steal_pointer (&error));
	if ((roots = sev_roots_from_args (ark, ask, ca, &error)) == NULL ||
	    (chain = ac_sev_chain_parse_file (argv[1], &error)) == NULL)
		return ac_cli_fail (global, g_steal_pointer (&error));
	if (generation != NULL) {
		g_autofree gchar *lower = g_ascii_strdown (generation, -1);
		g_free (generation);
		generation = g_steal_pointer (&lower);
	}
	certs[0] = ac_sev_chain_get_pdh (chain);
	certs[1] = ac_sev_chain_get_pek (chain);
	certs[2] = ac_sev_chain_get_oca (chain);
	certs[3] = ac_sev_chain_get_cek (chain);
	if (global->debug) {
		for (guint i = 0; i < 4; i++) {
			g_autofree gchar *fp = ac_sev_cert_fingerprint (certs[i]);
			fprintf (stderr, "debug: %s api %u.%u body sha256 %s\n", names[i],
				 ac_sev_cert_get_api_major (certs[i]), ac_sev_cert_get_api_minor (certs[i]), fp);
		}
	}
	if (!ac_sev_chain_verify (chain, roots, generation, &v, &error))
		return ac_cli_fail (global, g_steal_pointer (&error));
	if (global->json) {
		g_autoptr(JsonBuilder) b = json_builder_new ();
		json_builder_begin_object (b);
		ac_json_builder_add_string (b, "verdict", "trusted");
		ac_json_builder_add_string (b, "generation", v->generation);
		ac_json_builder_add_string (b, "ark_key_id", v->ark_key_id);
		ac_json_builder_add_string (b, "ask_key_id", v->ask_key_id);
		json_builder_set_member_name (b, "fingerprints");
		json_builder_begin_object (b);
		for (guint i = 0; i < 4; i++) {
			g_autofree gchar *fp = ac_sev_cert_fingerprint (certs[i]);
			g_autofree gchar *lower = g_ascii_strdown (names[i], -1);
			ac_json_builder_add_string (b, lower, fp);
		}
		json_builder_end_object (b);
		json_builder_end_object (b);
		ac_cli_print_json_builder_pretty (b);
	} else if (!global->quiet) {
		printf ("OK: the certificate chain leads to the trusted %s root\n", v->generation);
		printf ("  ARK key id %s\n  ASK key id %s\n", v->ark_key_id, v->ask_key_id);
		for (guint i = 0; i < 4; i++) {
			g_autofree gchar *fp = ac_sev_cert_fingerprint (certs[i]);
			printf ("  %s sha256 %s\n", names[i], fp);
		}
	}
	return AC_EXIT_OK;
}

/* ------------------------------------------------------------------------------------------ */

static int
sev_cmd_session (AcCliGlobal *global, int argc, char **argv)
{
	g_autofree gchar *name = NULL, *dir = NULL, *generation = NULL, *ark = NULL, *ask = NULL;
	gboolean no_verify = FALSE;
	g_autoptr(GOptionContext) ctx = ac_cli_option_context_new (global, "PDH-FILE POLICY",
		"Create a fresh launch session for the platform whose PDH is in PDH-FILE, as `sevctl "
		"session` does: NAME_godh.b64, NAME_session.b64 (for QEMU dh-cert-file/session-file "
		"or libvirt <dhCert>/<session>) and NAME_tek.bin, NAME_tik.bin (mode 0600). PDH-FILE "
		"should be a whole chain (`sevctl export` layout), which is verified first; a bare "
		"PDH is only accepted with --no-verify.");
	const GOptionEntry entries[] = {
		{ "name", 'n', 0, G_OPTION_ARG_STRING, &name, "file name prefix (default: vm)", "NAME" },
		{ "dir", 0, 0, G_OPTION_ARG_FILENAME, &dir, "output directory (default: .)", "DIR" },
		{ "generation", 0, 0, G_OPTION_ARG_STRING, &generation, "expected generation of the chain", "G" },
		{ "ark", 0, 0, G_OPTION_ARG_FILENAME, &ark, "trust this ARK instead of the built-in roots", "FILE" },
		{ "ask", 0, 0, G_OPTION_ARG_FILENAME, &ask, "the ASK that goes with --ark", "FILE" },
		{ "no-verify", 0, 0, G_OPTION_ARG_NONE, &no_verify, "accept an unverified bare PDH (INSECURE: the host can read the secrets)", NULL },
		{ NULL },
	};
	g_autoptr(GError) error = NULL;
	g_autoptr(GBytes) file = NULL;
	g_autoptr(AcSevCert) pdh = NULL;
	g_autoptr(AcSevOwnerLaunch) s = NULL;
	guint32 policy = 0;
	const guint8 *data;
	gsize len = 0;
	const gchar *generation_found = NULL;

	g_option_context_add_main_entries (ctx, entries, NULL);
	if (!ac_cli_parse_args (ctx, &argc, &argv, 2, "session takes PDH-FILE and POLICY", &error))
		return ac_cli_fail (global, g_steal_pointer (&error));
	if (!ac_sev_policy_parse (argv[2], &policy, &error))
		return ac_cli_fail (global, g_steal_pointer (&error));
	if ((file = cli_sev_read_file (argv[1], "PDH file", SEV_SMALL_FILE_MAX, &error)) == NULL)
		return ac_cli_fail (global, g_steal_pointer (&error));
	data = g_bytes_get_data (file, &len);
	s = ac_sev_owner_launch_new (policy);
	if (len >= AC_SEV_CHAIN_EXPORT_SIZE) {
		g_autoptr(AcSevRoots) roots = sev_roots_from_args (ark, ask, NULL, &error);
		g_autoptr(AcSevChain) chain = NULL;
		if (roots == NULL || (chain = ac_sev_chain_parse (data, len, &error)) == NULL)
			return ac_cli_fail (global, g_steal_pointer (&error));
		pdh = ac_sev_cert_ref (ac_sev_chain_get_pdh (chain));
		if (!no_verify) {
			if (!ac_sev_owner_launch_verify_chain (s, chain, roots, generation, &error))
				return ac_cli_fail (global, g_steal_pointer (&error));
			generation_found = ac_sev_owner_launch_get_verdict (s)->generation;
		}
	} else {
		if (!no_verify)
			return ac_cli_fail (global, g_error_new (AC_ERROR, AC_ERROR_REFUSED,
				"%s holds %" G_GSIZE_FORMAT " bytes, not a certificate chain; a bare PDH "
				"cannot be verified (export the whole chain with `sevctl export`, or pass "
				"--no-verify to accept the risk)", argv[1], len));
		pdh = ac_sev_cert_parse (data, MIN (len, (gsize)AC_SEV_CERT_SIZE), &error);
		if (pdh == NULL || !ac_sev_cert_require_usage (pdh, AC_SEV_USAGE_PDH, "the first certificate of the PDH file", &error))
			return ac_cli_fail (global, g_steal_pointer (&error));
	}
	/* --no-verify: the PDH is taken as it is (INSECURE, said so below) */
	if ((generation_found == NULL && !ac_sev_owner_launch_accept_unverified_pdh (s, pdh, &error)) ||
	    !ac_sev_owner_launch_start_session (s, &error))
		return ac_cli_fail (global, g_steal_pointer (&error));
	cli_sev_debug_hex (global, "nonce", ac_sev_owner_launch_get_session_nonce (s), 16);
	if (global->debug) {
		g_autofree gchar *fp = ac_sev_cert_fingerprint (pdh);
		fprintf (stderr, "debug: policy 0x%x\ndebug: PDH sha256 %s\n", policy, fp);
	}
	if (!ac_sev_owner_launch_write_session (s, dir != NULL ? dir : ".", name != NULL ? name : "vm", &error))
		return ac_cli_fail (global, g_steal_pointer (&error));
	if (global->json) {
		g_autoptr(JsonBuilder) b = json_builder_new ();
		g_autofree gchar *godh = ac_sev_owner_launch_get_godh_b64 (s);
		g_autofree gchar *blob = ac_sev_owner_launch_get_session_b64 (s);
		g_autofree gchar *pol = g_strdup_printf ("0x%x", policy);
		json_builder_begin_object (b);
		ac_json_builder_add_string (b, "policy", pol);
		ac_json_builder_add_string (b, "dh_cert", godh);
		ac_json_builder_add_string (b, "session", blob);
		if (generation_found != NULL)
			ac_json_builder_add_string (b, "generation", generation_found);
		json_builder_end_object (b);
		ac_cli_print_json_builder_pretty (b);
	} else if (!global->quiet) {
		const gchar *n = name != NULL ? name : "vm";
		printf ("wrote %s_godh.b64, %s_session.b64, %s_tek.bin, %s_tik.bin for policy 0x%x%s%s%s\n",
			n, n, n, n, policy,
			generation_found != NULL ? " (chain verified: " : " (chain NOT verified)",
			generation_found != NULL ? generation_found : "",
			generation_found != NULL ? ")" : "");
	}
	return AC_EXIT_OK;
}

/* ------------------------------------------------------------------------------------------ */

static int
sev_cmd_measure (AcCliGlobal *global, int argc, char **argv)
{
	g_auto(CliSevLaunchArgs) a = { 0 };
	g_auto(CliSevLaunch) l = { 0 };
	g_autoptr(GOptionContext) ctx = ac_cli_option_context_new (global, "",
		"Check a launch measurement offline against the expected firmware, kernel hashes "
		"and VMSAs (the options of virt-qemu-sev-validate). Exit 0 when it matches, 5 when "
		"it does not.");
	g_autoptr(GError) error = NULL;
	g_autoptr(AcSevOwnerLaunch) o = NULL;

	cli_sev_launch_add_entries (ctx, &a);
	if (!ac_cli_parse_args (ctx, &argc, &argv, 0, "measure takes no arguments besides options",
	                        &error))
		return ac_cli_fail (global, g_steal_pointer (&error));
	if (!cli_sev_launch_parse (&a, FALSE, &l, &error) || (o = cli_sev_launch_verify (global, &l, &error)) == NULL)
		return ac_cli_fail (global, g_steal_pointer (&error));
	if (global->json) {
		g_autoptr(JsonBuilder) b = json_builder_new ();
		g_autofree gchar *ldh = ac_codec_hex_encode (ac_sev_owner_launch_get_launch_digest (o), 32);
		json_builder_begin_object (b);
		ac_json_builder_add_string (b, "verdict", "match");
		ac_json_builder_add_string (b, "launch_digest", ldh);
		json_builder_end_object (b);
		ac_cli_print_json_builder_pretty (b);
	} else if (!global->quiet) {
		printf ("OK: the launch measurement matches the expected launch digest\n");
	}
	return AC_EXIT_OK;
}

/* ------------------------------------------------------------------------------------------ */

/* a new file, a regular one with --force, a character device or - (stdout): ac_file_out_open() */
static gboolean
sev_write_out (const gchar *path, gboolean force, const guint8 *data, gsize len, GError **error)
{
	return ac_file_replace_contents (path, data, len, force, 0644, error);
}

/* the luks-key entry from a one-line passphrase file */
static gboolean
sev_table_add_passphrase (AcSevSecretTable *t, const gchar *pass_file, GError **error)
{
	g_autoptr (AcSecret) pass
	    = ac_secret_read_passphrase_file (pass_file, "--passphrase-file", error);

	return pass != NULL
	       && ac_sev_secret_table_add (t, "luks-key", (const guint8 *)pass->data, pass->len,
	                                   error);
}

/* the secret table: --passphrase-file, then each --secret GUID:FILE */
static GBytes *
sev_secret_table (const gchar *pass_file, GStrv secrets, const gchar *format_s, GError **error)
{
	g_autoptr(AcSevSecretTable) t = ac_sev_secret_table_new ();
	AcSevSecretTableFormat format = AC_SEV_SECRET_TABLE_ALEPH;

	if (format_s != NULL && !ac_sev_secret_table_format_from_string (format_s, &format, error))
		return NULL;
	if (pass_file != NULL && !sev_table_add_passphrase (t, pass_file, error))
		return NULL;
	for (guint i = 0; secrets != NULL && secrets[i] != NULL; i++) {
		const gchar *colon = strchr (secrets[i], ':');
		g_autofree gchar *guid = NULL;
		g_autoptr(GBytes) d = NULL;
		gboolean ok;
		if (colon == NULL) {
			g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT, "--secret '%s' is invalid: expected GUID:FILE", secrets[i]);
			return NULL;
		}
		guid = g_strndup (secrets[i], colon - secrets[i]);
		if ((d = sev_read_secret_file (colon + 1, "--secret", error)) == NULL)
			return NULL;
		ok = ac_sev_secret_table_add (t, guid, g_bytes_get_data (d, NULL), g_bytes_get_size (d), error);
		ac_secret_wipe ((gpointer)g_bytes_get_data (d, NULL), g_bytes_get_size (d));
		if (!ok)
			return NULL;
	}
	if (ac_sev_secret_table_get_size (t) == 0) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_INVALID_INPUT, "nothing to send: give --passphrase-file or --secret");
		return NULL;
	}
	return ac_sev_secret_table_build (t, format, error);
}

/* the packet: --header-out/--payload-out files, JSON (the CRN API's inject_secret body) or text */
static gboolean
sev_secret_output (AcCliGlobal *global, AcTeeSealedSecret *sealed, const gchar *hdr_out, const gchar *pay_out,
		   gboolean binary, gboolean force, GError **error)
{
	gsize hlen = 0, plen = 0;
	const guint8 *hdr = g_bytes_get_data (sealed->header, &hlen);
	const guint8 *pay = g_bytes_get_data (sealed->payload, &plen);
	g_autofree gchar *hdr_b64 = g_base64_encode (hdr, hlen);
	g_autofree gchar *pay_b64 = g_base64_encode (pay, plen);

	cli_sev_debug_hex (global, "packet header", hdr, hlen);
	if (hdr_out != NULL &&
	    !(binary ? sev_write_out (hdr_out, force, hdr, hlen, error)
		     : sev_write_out (hdr_out, force, (const guint8 *)hdr_b64, strlen (hdr_b64), error)))
		return FALSE;
	if (pay_out != NULL &&
	    !(binary ? sev_write_out (pay_out, force, pay, plen, error)
		     : sev_write_out (pay_out, force, (const guint8 *)pay_b64, strlen (pay_b64), error)))
		return FALSE;
	if (global->json) {
		g_autoptr(JsonBuilder) b = json_builder_new ();
		json_builder_begin_object (b);
		ac_json_builder_add_string (b, "packet_header", hdr_b64);
		ac_json_builder_add_string (b, "secret", pay_b64);
		json_builder_end_object (b);
		ac_cli_print_json_builder_pretty (b);
	} else if (!global->quiet && (hdr_out == NULL || pay_out == NULL)) {
		printf ("packet_header: %s\nsecret: %s\n", hdr_b64, pay_b64);
	}
	return TRUE;
}

static int
sev_cmd_secret_build (AcCliGlobal *global, int argc, char **argv)
{
	g_auto(CliSevLaunchArgs) a = { 0 };
	g_auto(CliSevLaunch) l = { 0 };
	g_autofree gchar *blob_arg = NULL, *pass_file = NULL, *format_s = NULL, *hdr_out = NULL,
			 *pay_out = NULL, *iv_arg = NULL;
	g_auto(GStrv) secrets = NULL;
	gboolean binary = FALSE, force = FALSE;
	g_autoptr(GOptionContext) ctx = ac_cli_option_context_new (global, "",
		"Verify a launch as `measure` does and, only when it matches, build its "
		"LAUNCH_SECRET packet: the secret table (Aleph's format by default: the one Aleph's "
		"GRUB unlocks), encrypted with the TEK and bound to the verified measurement with "
		"the TIK. Writes base64 (QEMU sev-inject-launch-secret, virsh domsetlaunchsecstate, "
		"the CRN API) or raw bytes (--binary, as sevctl).");
	const GOptionEntry entries[] = {
		{ "launch-measure-blob", 0, 0, G_OPTION_ARG_STRING, &blob_arg, "same as --measurement", "B64" },
		{ "secret", 's', 0, G_OPTION_ARG_STRING_ARRAY, &secrets, "an entry GUID-or-alias:FILE (alias luks-key); repeatable", "GUID:FILE" },
		{ "passphrase-file", 0, 0, G_OPTION_ARG_FILENAME, &pass_file, "the disk passphrase (one line) for the luks-key entry", "FILE" },
		{ "format", 0, 0, G_OPTION_ARG_STRING, &format_s, "table format: aleph (default), libvirt or sevctl", "F" },
		{ "header-out", 0, 0, G_OPTION_ARG_FILENAME, &hdr_out, "where the packet header goes (- for stdout)", "FILE" },
		{ "payload-out", 0, 0, G_OPTION_ARG_FILENAME, &pay_out, "where the encrypted table goes (- for stdout)", "FILE" },
		{ "binary", 0, 0, G_OPTION_ARG_NONE, &binary, "write raw bytes instead of base64", NULL },
		{ "force", 0, 0, G_OPTION_ARG_NONE, &force, "replace existing --header-out/--payload-out files", NULL },
		{ "iv", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_STRING, &iv_arg, "fixed IV (tests only)", "B64" },
		{ NULL },
	};
	g_autoptr(GError) error = NULL;
	g_autoptr(GBytes) iv = NULL;
	g_autoptr(GBytes) table = NULL;
	g_autoptr(AcSevOwnerLaunch) o = NULL;
	g_autoptr(AcTeeSealedSecret) sealed = NULL;

	cli_sev_launch_add_entries (ctx, &a);
	g_option_context_add_main_entries (ctx, entries, NULL);
	if (!ac_cli_parse_args (ctx, &argc, &argv, 0,
	                        "secret build takes no arguments besides options", &error))
		return ac_cli_fail (global, g_steal_pointer (&error));
	if (blob_arg != NULL && a.measurement != NULL)
		return ac_cli_fail (global, g_error_new_literal (AC_ERROR, AC_ERROR_INVALID_INPUT, "give --launch-measure-blob or --measurement, not both"));
	if (blob_arg != NULL)
		a.measurement = g_steal_pointer (&blob_arg);
	if ((iv_arg != NULL && (iv = cli_sev_read_b64_arg (iv_arg, 16, "--iv", &error)) == NULL) ||
	    (table = sev_secret_table (pass_file, secrets, format_s, &error)) == NULL)
		return ac_cli_fail (global, g_steal_pointer (&error));
	if (global->debug)
		fprintf (stderr, "debug: table %" G_GSIZE_FORMAT " bytes\n", g_bytes_get_size (table));
	/* verified, then and only then sealed */
	if (!cli_sev_launch_parse (&a, TRUE, &l, &error) || (o = cli_sev_launch_verify (global, &l, &error)) == NULL ||
	    !ac_sev_owner_launch_seal (o, table, iv, &sealed, &error) ||
	    !sev_secret_output (global, sealed, hdr_out, pay_out, binary, force, &error))
		return ac_cli_fail (global, g_steal_pointer (&error));
	return AC_EXIT_OK;
}

/* ------------------------------------------------------------------------------------------ */

static int
sev_cmd_policy_explain (AcCliGlobal *global, int argc, char **argv)
{
	g_autoptr(GOptionContext) ctx = ac_cli_option_context_new (global, "POLICY",
		"Explain an SEV guest policy given as a number (0x1) or flag names (nodbg,noks,es).");
	g_autoptr(GError) error = NULL;
	guint32 policy = 0;

	if (!ac_cli_parse_args (ctx, &argc, &argv, 1, "policy explain takes one POLICY", &error))
		return ac_cli_fail (global, g_steal_pointer (&error));
	if (!ac_sev_policy_parse (argv[1], &policy, &error))
		return ac_cli_fail (global, g_steal_pointer (&error));
	if (global->json) {
		g_autoptr(JsonBuilder) b = json_builder_new ();
		g_autofree gchar *hex = g_strdup_printf ("0x%x", policy);
		g_autofree gchar *names = ac_sev_policy_to_names (policy);
		json_builder_begin_object (b);
		ac_json_builder_add_string (b, "policy", hex);
		ac_json_builder_add_string (b, "names", names);
		ac_json_builder_add_int (b, "value", policy);
		json_builder_end_object (b);
		ac_cli_print_json_builder_pretty (b);
	} else {
		g_autofree gchar *text = ac_sev_policy_explain (policy);
		printf ("%s", text);
	}
	return AC_EXIT_OK;
}

/* ------------------------------------------------------------------------------------------ */

static void
sev_usage (FILE *out)
{
	fprintf (out,
		 "Usage: virt-aleph sev COMMAND [OPTIONS…]\n"
		 "\n"
		 "AMD SEV guest-owner tools:\n"
		 "  verify-chain FILE       verify a platform certificate chain up to a trusted root\n"
		 "  session PDH POLICY      create a launch session (sevctl-compatible files)\n"
		 "  measure                 check a launch measurement (virt-qemu-sev-validate options)\n"
		 "  secret build            build a launch secret packet\n"
		 "  policy explain POLICY   explain a guest policy\n"
		 "\n"
		 "Exit codes: 0 ok, 2 bad input, 3 refused, 4 untrusted chain, 5 mismatch, 1 internal.\n");
}

int
ac_cli_cmd_sev (AcCliGlobal *global, int argc, char **argv)
{
	g_autofree gchar *name = NULL;
	const gchar *sub;
	int skip = 2;
	int (*func) (AcCliGlobal *, int, char **) = NULL;
	g_autoptr(GPtrArray) args = g_ptr_array_new ();
	int first = -1;

	/* the subcommand is the first non-option argument (global options may come before it) */
	for (int i = 1; i < argc; i++) {
		if (g_strcmp0 (argv[i], "--connect") == 0 || g_strcmp0 (argv[i], "-c") == 0) {
			i++;
			continue;
		}
		if (argv[i][0] != '-') {
			first = i;
			break;
		}
	}
	if (first < 0) {
		gboolean help = FALSE;
		for (int i = 1; i < argc; i++)
			help = help || g_strcmp0 (argv[i], "--help") == 0
			       || g_strcmp0 (argv[i], "-h") == 0;
		if (!help && global->json)
			return ac_cli_fail (
			    global,
			    g_error_new_literal (AC_ERROR, AC_ERROR_INVALID_INPUT,
			                         "sev: expected verify-chain, session, measure, "
			                         "secret build or policy explain"));
		sev_usage (help ? stdout : stderr);
		return help ? AC_EXIT_OK : AC_EXIT_USAGE;
	}
	sub = argv[first];
	if (g_strcmp0 (sub, "verify-chain") == 0) {
		func = sev_cmd_verify_chain;
		skip = 1;
	} else if (g_strcmp0 (sub, "session") == 0) {
		func = sev_cmd_session;
		skip = 1;
	} else if (g_strcmp0 (sub, "measure") == 0) {
		func = sev_cmd_measure;
		skip = 1;
	} else if (g_strcmp0 (sub, "secret") == 0 && first + 1 < argc && g_strcmp0 (argv[first + 1], "build") == 0) {
		func = sev_cmd_secret_build;
	} else if (g_strcmp0 (sub, "policy") == 0 && first + 1 < argc && g_strcmp0 (argv[first + 1], "explain") == 0) {
		func = sev_cmd_policy_explain;
	} else if (global->json) {
		return ac_cli_fail (
		    global,
		    g_error_new (AC_ERROR, AC_ERROR_INVALID_INPUT,
		                 "sev: unknown command '%s': expected verify-chain, session, "
		                 "measure, secret build or policy explain",
		                 sub));
	} else {
		fprintf (stderr, "virt-aleph sev: unknown command '%s'\n\n", sub);
		sev_usage (stderr);
		return AC_EXIT_USAGE;
	}
	name = skip == 1 ? g_strdup_printf ("sev %s", sub) : g_strdup_printf ("sev %s %s", sub, argv[first + 1]);
	g_ptr_array_add (args, name);
	for (int i = 1; i < argc; i++) {
		if (i >= first && i < first + skip)
			continue;
		g_ptr_array_add (args, argv[i]);
	}
	g_ptr_array_add (args, NULL);
	return func (global, (int)args->len - 1, (char **)args->pdata);
}
