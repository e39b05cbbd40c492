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
#include "ac-file.h"
#include "ac-sev-chain.h"
#include "ac-sev-measure.h"
#include "ac-sev-policy.h"
#include "ac-sev-secret.h"
#include "ac-sev-session.h"

static void
sev_print_json (JsonBuilder *b)
{
	g_autoptr(JsonNode) root = json_builder_get_root (b);
	g_autofree gchar *text = json_to_string (root, TRUE);
	printf ("%s\n", text);
}

static void
sev_json_str (JsonBuilder *b, const gchar *name, const gchar *value)
{
	json_builder_set_member_name (b, name);
	json_builder_add_string_value (b, value);
}

static gchar *
sev_hex (const guint8 *p, gsize len)
{
	GString *s = g_string_sized_new (len * 2 + 1);
	for (gsize i = 0; i < len; i++)
		g_string_append_printf (s, "%02x", p[i]);
	return g_string_free (s, FALSE);
}

static void
sev_debug_hex (AcCliGlobal *global, const gchar *what, const guint8 *p, gsize len)
{
	g_autofree gchar *h = NULL;
	if (!global->debug)
		return;
	h = sev_hex (p, len);
	fprintf (stderr, "debug: %s: %s\n", what, h);
}

static void
sev_debug_sha256 (AcCliGlobal *global, const gchar *what, GBytes *b)
{
	g_autofree gchar *h = NULL;
	if (!global->debug || b == NULL)
		return;
	h = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, b);
	fprintf (stderr, "debug: %s: %" G_GSIZE_FORMAT " bytes, sha256 %s\n", what, g_bytes_get_size (b), h);
}

/* the bounds of the files mapped: certificates, chains, VMSAs, base64 values; firmware, kernel
 * and initrd images */
#define SEV_SMALL_FILE_MAX ((gsize)1 << 20)
#define SEV_IMAGE_FILE_MAX ((gsize)1 << 30)

static GBytes *
sev_read_file (const gchar *path, const gchar *what, gsize max, GError **error)
{
	g_autoptr(GError) error_local = NULL;
	g_autoptr(GMappedFile) map = NULL;
	/* a regular file (not a FIFO, not /dev/zero), at most @max bytes */
	int fd = ac_file_open_regular (path, max, NULL, error);

	if (fd < 0) {
		g_prefix_error (error, "%s: ", what);
		return NULL;
	}
	map = g_mapped_file_new_from_fd (fd, FALSE, &error_local);
	close (fd);
	if (map == NULL) {
		g_set_error (error,
			     AC_ERROR,
			     g_error_matches (error_local, G_FILE_ERROR, G_FILE_ERROR_NOENT)
				 ? AC_ERROR_NOT_FOUND
				 : AC_ERROR_IO,
			     "%s: %s",
			     what,
			     error_local->message);
		return NULL;
	}
	/* mapped, not copied: firmware, kernel and initrd can be large */
	return g_mapped_file_get_bytes (map);
}

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

/* an unsigned integer option: decimal or 0x hex, at most @max */
static gboolean
sev_parse_uint (const gchar *text, const gchar *what, guint64 max, guint64 *out, GError **error)
{
	const gchar *digits = text;
	guint base = 10;
	if (text == NULL) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT, "%s is required", what);
		return FALSE;
	}
	if (g_str_has_prefix (text, "0x") || g_str_has_prefix (text, "0X")) {
		digits = text + 2;
		base = 16;
	}
	if (*digits == '\0' || !g_ascii_string_to_unsigned (digits, base, 0, max, out, NULL)) {
		g_set_error (error,
			     AC_ERROR,
			     AC_ERROR_INVALID_INPUT,
			     "%s '%s' is invalid: expected a number from 0 to %" G_GUINT64_FORMAT,
			     what,
			     text,
			     max);
		return FALSE;
	}
	return TRUE;
}

/* base64 text, or a file holding base64 text or the raw bytes */
static GBytes *
sev_read_b64_arg (const gchar *value, gsize want, const gchar *what, GError **error)
{
	g_autofree gchar *text = NULL;
	guint8 *raw;
	gsize len = 0;

	if (value == NULL) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT, "%s is required", what);
		return NULL;
	}
	if (g_file_test (value, G_FILE_TEST_IS_REGULAR)) {
		g_autoptr(GBytes) b = sev_read_file (value, what, SEV_SMALL_FILE_MAX, error);
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
	raw = g_base64_decode (text, &len);
	if (len != want) {
		g_free (raw);
		g_set_error (error,
			     AC_ERROR,
			     AC_ERROR_INVALID_INPUT,
			     "%s decodes to %" G_GSIZE_FORMAT " bytes, expected %" G_GSIZE_FORMAT,
			     what,
			     len,
			     want);
		return NULL;
	}
	return g_bytes_new_take (raw, len);
}

/* TEK/TIK from --tik/--tek files or --tk (TEK ‖ TIK, 32 bytes) */
static gboolean
sev_read_keys (const gchar *tik_path,
	       const gchar *tek_path,
	       const gchar *tk_path,
	       gboolean need_tek,
	       guint8 tik[16],
	       guint8 tek[16],
	       GError **error)
{
	if (tk_path != NULL) {
		guint8 tk[32];
		if (tik_path != NULL || tek_path != NULL) {
			g_set_error_literal (error,
					     AC_ERROR,
					     AC_ERROR_INVALID_INPUT,
					     "--tk cannot be combined with --tik/--tek");
			return FALSE;
		}
		if (!ac_sev_key_file_read (tk_path, tk, 32, "--tk (TEK ‖ TIK)", error))
			return FALSE;
		memcpy (tek, tk, 16);
		memcpy (tik, tk + 16, 16);
		OPENSSL_cleanse (tk, sizeof (tk));
		return TRUE;
	}
	if (tik_path == NULL) {
		g_set_error_literal (error,
				     AC_ERROR,
				     AC_ERROR_INVALID_INPUT,
				     "the TIK is required: --tik FILE (with --tek FILE) or --tk FILE");
		return FALSE;
	}
	if (!ac_sev_key_file_read (tik_path, tik, 16, "--tik", error))
		return FALSE;
	if (tek_path != NULL)
		return ac_sev_key_file_read (tek_path, tek, 16, "--tek", error);
	if (need_tek) {
		g_set_error_literal (error,
				     AC_ERROR,
				     AC_ERROR_INVALID_INPUT,
				     "the TEK is required: --tek FILE or --tk FILE");
		return FALSE;
	}
	memset (tek, 0, 16);
	return TRUE;
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
		if ((ca = sev_read_file (ca_path, "--ca", SEV_SMALL_FILE_MAX, error)) == NULL)
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
	if (!ac_cli_parse (ctx, &argc, &argv, &error))
		return ac_cli_fail (global, g_steal_pointer (&error));
	if (argc != 2)
		return ac_cli_fail (global, g_error_new (AC_ERROR, AC_ERROR_INVALID_INPUT, "verify-chain takes one FILE, got %d arguments", argc - 1));
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
		sev_json_str (b, "verdict", "trusted");
		sev_json_str (b, "generation", v->generation);
		sev_json_str (b, "ark_key_id", v->ark_key_id);
		sev_json_str (b, "ask_key_id", v->ask_key_id);
		json_builder_set_member_name (b, "fingerprints");
		json_builder_begin_object (b);
		for (guint i = 0; i < 4; i++) {
			g_autofree gchar *fp = ac_sev_cert_fingerprint (certs[i]);
			g_autofree gchar *lower = g_ascii_strdown (names[i], -1);
			sev_json_str (b, lower, fp);
		}
		json_builder_end_object (b);
		json_builder_end_object (b);
		sev_print_json (b);
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
	g_autoptr(AcSevSession) s = NULL;
	guint32 policy = 0;
	const guint8 *data;
	gsize len = 0;
	const gchar *generation_found = NULL;
	g_autoptr(AcSevChainVerdict) v = NULL;

	g_option_context_add_main_entries (ctx, entries, NULL);
	if (!ac_cli_parse (ctx, &argc, &argv, &error))
		return ac_cli_fail (global, g_steal_pointer (&error));
	if (argc != 3)
		return ac_cli_fail (global, g_error_new (AC_ERROR, AC_ERROR_INVALID_INPUT, "session takes PDH-FILE and POLICY, got %d arguments", argc - 1));
	if (!ac_sev_policy_parse (argv[2], &policy, &error))
		return ac_cli_fail (global, g_steal_pointer (&error));
	if ((file = sev_read_file (argv[1], "PDH file", SEV_SMALL_FILE_MAX, &error)) == NULL)
		return ac_cli_fail (global, g_steal_pointer (&error));
	data = g_bytes_get_data (file, &len);
	if (len >= AC_SEV_CHAIN_EXPORT_SIZE) {
		g_autoptr(AcSevRoots) roots = sev_roots_from_args (ark, ask, NULL, &error);
		g_autoptr(AcSevChain) chain = NULL;
		if (roots == NULL || (chain = ac_sev_chain_parse (data, len, &error)) == NULL)
			return ac_cli_fail (global, g_steal_pointer (&error));
		if (!no_verify) {
			if (!ac_sev_chain_verify (chain, roots, generation, &v, &error))
				return ac_cli_fail (global, g_steal_pointer (&error));
			generation_found = v->generation;
		}
		pdh = ac_sev_cert_ref (ac_sev_chain_get_pdh (chain));
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
	if ((s = ac_sev_session_new (pdh, policy, &error)) == NULL)
		return ac_cli_fail (global, g_steal_pointer (&error));
	sev_debug_hex (global, "nonce", ac_sev_session_get_nonce (s), 16);
	if (global->debug) {
		g_autofree gchar *fp = ac_sev_cert_fingerprint (pdh);
		fprintf (stderr, "debug: policy 0x%x\ndebug: PDH sha256 %s\n", policy, fp);
	}
	if (!ac_sev_session_write_files (s, dir != NULL ? dir : ".", name != NULL ? name : "vm", &error))
		return ac_cli_fail (global, g_steal_pointer (&error));
	if (global->json) {
		g_autoptr(JsonBuilder) b = json_builder_new ();
		g_autofree gchar *godh = ac_sev_session_get_godh_b64 (s);
		g_autofree gchar *blob = ac_sev_session_get_blob_b64 (s);
		g_autofree gchar *pol = g_strdup_printf ("0x%x", policy);
		json_builder_begin_object (b);
		sev_json_str (b, "policy", pol);
		sev_json_str (b, "dh_cert", godh);
		sev_json_str (b, "session", blob);
		if (generation_found != NULL)
			sev_json_str (b, "generation", generation_found);
		json_builder_end_object (b);
		sev_print_json (b);
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
	g_autofree gchar *measurement = NULL, *api_major = NULL, *api_minor = NULL, *build_id = NULL,
			 *policy_s = NULL, *firmware = NULL, *kernel = NULL, *initrd = NULL,
			 *cmdline = NULL, *num_cpus = NULL, *vmsa0 = NULL, *vmsa1 = NULL,
			 *family = NULL, *model = NULL, *stepping = NULL, *tik_p = NULL, *tek_p = NULL,
			 *tk_p = NULL, *expected_policy = NULL, *min_api = NULL, *variant = NULL;
	g_autoptr(GOptionContext) ctx = ac_cli_option_context_new (global, "",
		"Check a launch measurement offline against the expected firmware, kernel hashes "
		"and VMSAs (the options of virt-qemu-sev-validate). Exit 0 when it matches, 5 when "
		"it does not.");
	const GOptionEntry entries[] = {
		{ "measurement", 'm', 0, G_OPTION_ARG_STRING, &measurement, "base64 of the 48-byte LAUNCH_MEASURE blob", "B64" },
		{ "api-major", 0, 0, G_OPTION_ARG_STRING, &api_major, "SEV firmware API major", "N" },
		{ "api-minor", 0, 0, G_OPTION_ARG_STRING, &api_minor, "SEV firmware API minor", "N" },
		{ "build-id", 0, 0, G_OPTION_ARG_STRING, &build_id, "SEV firmware build id", "N" },
		{ "policy", 0, 0, G_OPTION_ARG_STRING, &policy_s, "the guest policy the platform reports", "POLICY" },
		{ "firmware", 'f', 0, G_OPTION_ARG_FILENAME, &firmware, "the OVMF firmware image", "FILE" },
		{ "kernel", 'k', 0, G_OPTION_ARG_FILENAME, &kernel, "kernel of a direct boot with kernel hashes", "FILE" },
		{ "initrd", 'r', 0, G_OPTION_ARG_FILENAME, &initrd, "initrd", "FILE" },
		{ "cmdline", 'e', 0, G_OPTION_ARG_STRING, &cmdline, "kernel command line", "TEXT" },
		{ "num-cpus", 'n', 0, G_OPTION_ARG_STRING, &num_cpus, "number of vCPUs (SEV-ES)", "N" },
		{ "vmsa-cpu0", '0', 0, G_OPTION_ARG_FILENAME, &vmsa0, "VMSA of the boot vCPU (SEV-ES)", "FILE" },
		{ "vmsa-cpu1", '1', 0, G_OPTION_ARG_FILENAME, &vmsa1, "VMSA of the other vCPUs (SEV-ES)", "FILE" },
		{ "cpu-family", 0, 0, G_OPTION_ARG_STRING, &family, "vCPU family, to build the VMSAs", "N" },
		{ "cpu-model", 0, 0, G_OPTION_ARG_STRING, &model, "vCPU model", "N" },
		{ "cpu-stepping", 0, 0, G_OPTION_ARG_STRING, &stepping, "vCPU stepping", "N" },
		{ "vmsa-variant", 0, 0, G_OPTION_ARG_STRING, &variant, "built VMSAs: legacy (KVM_SEV_ES_INIT, default) or init2", "V" },
		{ "tik", 0, 0, G_OPTION_ARG_FILENAME, &tik_p, "TIK file (16 bytes)", "FILE" },
		{ "tek", 0, 0, G_OPTION_ARG_FILENAME, &tek_p, "TEK file (16 bytes; not needed to measure)", "FILE" },
		{ "tk", 0, 0, G_OPTION_ARG_FILENAME, &tk_p, "TEK ‖ TIK file (32 bytes)", "FILE" },
		{ "expected-policy", 0, 0, G_OPTION_ARG_STRING, &expected_policy, "the policy requested at launch; the reported one must equal it", "POLICY" },
		{ "min-api", 0, 0, G_OPTION_ARG_STRING, &min_api, "minimum firmware API version MAJOR.MINOR (default 0.0)", "M.m" },
		{ NULL },
	};
	g_autoptr(GError) error = NULL;
	guint64 maj = 0, min = 0, build = 0, ncpu = 0, fam = 0, mod = 0, step = 0;
	guint64 min_maj = 0, min_min = 0;
	guint32 policy = 0, want_policy = 0;
	guint8 tik[16], tek[16], ld[32], expected[32];
	AcSevLaunchInputs in = { 0 };
	g_autoptr(GBytes) blob = NULL;
	g_autoptr(GBytes) fw = NULL;
	g_autoptr(GBytes) k = NULL;
	g_autoptr(GBytes) r = NULL;
	g_autoptr(GBytes) v0 = NULL;
	g_autoptr(GBytes) v1 = NULL;
	gboolean ok;

	g_option_context_add_main_entries (ctx, entries, NULL);
	if (!ac_cli_parse (ctx, &argc, &argv, &error))
		return ac_cli_fail (global, g_steal_pointer (&error));
	if (argc != 1)
		return ac_cli_fail (global, g_error_new (AC_ERROR, AC_ERROR_INVALID_INPUT, "measure takes no arguments besides options, got '%s'", argv[1]));
	if (!sev_parse_uint (api_major, "--api-major", 255, &maj, &error) ||
	    !sev_parse_uint (api_minor, "--api-minor", 255, &min, &error) ||
	    !sev_parse_uint (build_id, "--build-id", 255, &build, &error))
		return ac_cli_fail (global, g_steal_pointer (&error));
	if (policy_s == NULL)
		return ac_cli_fail (global, g_error_new_literal (AC_ERROR, AC_ERROR_INVALID_INPUT, "--policy is required"));
	{
		guint64 p = 0;
		/* the reported policy is a number; any bits are reported as they are */
		if (g_ascii_isdigit (policy_s[0])) {
			if (!sev_parse_uint (policy_s, "--policy", G_MAXUINT32, &p, &error))
				return ac_cli_fail (global, g_steal_pointer (&error));
			policy = (guint32)p;
		} else if (!ac_sev_policy_parse (policy_s, &policy, &error)) {
			return ac_cli_fail (global, g_steal_pointer (&error));
		}
	}
	if (expected_policy != NULL && !ac_sev_policy_parse (expected_policy, &want_policy, &error))
		return ac_cli_fail (global, g_steal_pointer (&error));
	if (min_api != NULL) {
		g_auto(GStrv) parts = g_strsplit (min_api, ".", -1);
		if (g_strv_length (parts) != 2 || !sev_parse_uint (parts[0], "--min-api major", 255, &min_maj, NULL) ||
		    !sev_parse_uint (parts[1], "--min-api minor", 255, &min_min, NULL))
			return ac_cli_fail (global, g_error_new (AC_ERROR, AC_ERROR_INVALID_INPUT, "--min-api '%s' is invalid: expected MAJOR.MINOR such as 0.17", min_api));
	}
	if ((blob = sev_read_b64_arg (measurement, AC_SEV_MEASURE_BLOB_SIZE, "--measurement", &error)) == NULL)
		return ac_cli_fail (global, g_steal_pointer (&error));
	if (firmware == NULL)
		return ac_cli_fail (global, g_error_new_literal (AC_ERROR, AC_ERROR_INVALID_INPUT, "--firmware is required"));
	if ((fw = sev_read_file (firmware, "--firmware", SEV_IMAGE_FILE_MAX, &error)) == NULL)
		return ac_cli_fail (global, g_steal_pointer (&error));
	if (kernel != NULL && (k = sev_read_file (kernel, "--kernel", SEV_IMAGE_FILE_MAX, &error)) == NULL)
		return ac_cli_fail (global, g_steal_pointer (&error));
	if (initrd != NULL && (r = sev_read_file (initrd, "--initrd", SEV_IMAGE_FILE_MAX, &error)) == NULL)
		return ac_cli_fail (global, g_steal_pointer (&error));
	if (vmsa0 != NULL && (v0 = sev_read_file (vmsa0, "--vmsa-cpu0", SEV_SMALL_FILE_MAX, &error)) == NULL)
		return ac_cli_fail (global, g_steal_pointer (&error));
	if (vmsa1 != NULL && (v1 = sev_read_file (vmsa1, "--vmsa-cpu1", SEV_SMALL_FILE_MAX, &error)) == NULL)
		return ac_cli_fail (global, g_steal_pointer (&error));
	if ((num_cpus != NULL && !sev_parse_uint (num_cpus, "--num-cpus", 512, &ncpu, &error)) ||
	    (family != NULL && !sev_parse_uint (family, "--cpu-family", 255, &fam, &error)) ||
	    (model != NULL && !sev_parse_uint (model, "--cpu-model", 255, &mod, &error)) ||
	    (stepping != NULL && !sev_parse_uint (stepping, "--cpu-stepping", 15, &step, &error)))
		return ac_cli_fail (global, g_steal_pointer (&error));
	if (!sev_read_keys (tik_p, tek_p, tk_p, FALSE, tik, tek, &error))
		return ac_cli_fail (global, g_steal_pointer (&error));
	OPENSSL_cleanse (tek, sizeof (tek));

	in.policy = policy;
	in.firmware = fw;
	in.kernel = k;
	in.initrd = r;
	in.cmdline = cmdline;
	in.num_cpus = (guint)ncpu;
	in.vmsa_cpu0 = v0;
	in.vmsa_cpu1 = v1;
	in.cpu_family = (guint)fam;
	in.cpu_model = (guint)mod;
	in.cpu_stepping = (guint)step;
	in.vmsa_variant = AC_SEV_VMSA_LEGACY;
	if (variant != NULL && g_strcmp0 (variant, "legacy") != 0) {
		if (g_strcmp0 (variant, "init2") != 0)
			return ac_cli_fail (global, g_error_new (AC_ERROR, AC_ERROR_INVALID_INPUT, "--vmsa-variant '%s' is invalid: expected legacy or init2", variant));
		in.vmsa_variant = AC_SEV_VMSA_INIT2;
	}
	if (cmdline != NULL && k == NULL)
		return ac_cli_fail (global, g_error_new_literal (AC_ERROR, AC_ERROR_INVALID_INPUT, "--cmdline needs --kernel"));

	if (global->debug) {
		g_autofree gchar *names = ac_sev_policy_to_names (policy);
		fprintf (stderr, "debug: API %u.%u build %u\n", (guint)maj, (guint)min, (guint)build);
		fprintf (stderr, "debug: policy 0x%x (%s)\n", policy, names);
		sev_debug_sha256 (global, "firmware", fw);
		sev_debug_sha256 (global, "kernel", k);
		sev_debug_sha256 (global, "initrd", r);
		if (cmdline != NULL)
			fprintf (stderr, "debug: cmdline '%s'\n", cmdline);
		if (k != NULL) {
			guint8 table[AC_SEV_KERNEL_HASHES_TABLE_SIZE];
			if (ac_sev_kernel_hashes_table (g_bytes_get_data (k, NULL), g_bytes_get_size (k),
							r != NULL ? g_bytes_get_data (r, NULL) : NULL,
							r != NULL ? g_bytes_get_size (r) : 0, cmdline, table, NULL))
				sev_debug_hex (global, "kernel hashes table", table, sizeof (table));
		}
		if (policy & AC_SEV_POLICY_ES) {
			fprintf (stderr, "debug: vCPUs %u\n", (guint)ncpu);
			if (v0 != NULL) {
				sev_debug_sha256 (global, "VMSA cpu0 (given)", v0);
				sev_debug_sha256 (global, "VMSA cpu1 (given)", v1);
			} else {
				g_autoptr(AcSevOvmf) ovmf = ac_sev_ovmf_parse (g_bytes_get_data (fw, NULL), g_bytes_get_size (fw), NULL);
				guint32 reset = 0;
				if (ovmf != NULL && ac_sev_ovmf_get_es_reset_addr (ovmf, &reset, NULL)) {
					guint32 sig = ac_sev_cpu_signature ((guint)fam, (guint)mod, (guint)step);
					guint8 *b0 = g_malloc (AC_SEV_VMSA_SIZE);
					guint8 *b1 = g_malloc (AC_SEV_VMSA_SIZE);
					g_autoptr(GBytes) g0 = NULL;
					g_autoptr(GBytes) g1 = NULL;
					ac_sev_vmsa_build (TRUE, reset, sig, in.vmsa_variant, b0);
					ac_sev_vmsa_build (FALSE, reset, sig, in.vmsa_variant, b1);
					g0 = g_bytes_new_take (b0, AC_SEV_VMSA_SIZE);
					g1 = g_bytes_new_take (b1, AC_SEV_VMSA_SIZE);
					fprintf (stderr, "debug: AP reset address 0x%08x, CPUID signature 0x%08x, %s layout\n",
						 reset, sig, in.vmsa_variant == AC_SEV_VMSA_INIT2 ? "KVM_SEV_INIT2" : "legacy");
					sev_debug_sha256 (global, "VMSA cpu0 (built)", g0);
					sev_debug_sha256 (global, "VMSA cpu1 (built)", g1);
				}
			}
		}
		sev_debug_hex (global, "MNONCE", (const guint8 *)g_bytes_get_data (blob, NULL) + 32, 16);
		sev_debug_hex (global, "reported MEASURE", g_bytes_get_data (blob, NULL), 32);
	}
	if (!ac_sev_launch_digest (&in, ld, &error)) {
		OPENSSL_cleanse (tik, sizeof (tik));
		return ac_cli_fail (global, g_steal_pointer (&error));
	}
	sev_debug_hex (global, "launch digest", ld, 32);
	if (global->debug &&
	    ac_sev_measurement_compute (tik, (guint8)maj, (guint8)min, (guint8)build, policy, ld,
					(const guint8 *)g_bytes_get_data (blob, NULL) + 32, expected, NULL))
		sev_debug_hex (global, "expected MEASURE", expected, 32);
	ok = ac_sev_measurement_verify (g_bytes_get_data (blob, NULL), g_bytes_get_size (blob), tik,
					(guint8)maj, (guint8)min, (guint8)build, policy, ld, &error);
	OPENSSL_cleanse (tik, sizeof (tik));
	if (!ok)
		return ac_cli_fail (global, g_steal_pointer (&error));
	if (!ac_sev_launch_check_platform (expected_policy != NULL ? want_policy : policy, policy,
					   (guint8)maj, (guint8)min, (guint8)min_maj, (guint8)min_min, &error))
		return ac_cli_fail (global, g_steal_pointer (&error));
	if (global->json) {
		g_autoptr(JsonBuilder) b = json_builder_new ();
		g_autofree gchar *ldh = sev_hex (ld, 32);
		json_builder_begin_object (b);
		sev_json_str (b, "verdict", "match");
		sev_json_str (b, "launch_digest", ldh);
		json_builder_end_object (b);
		sev_print_json (b);
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

static int
sev_cmd_secret_build (AcCliGlobal *global, int argc, char **argv)
{
	g_autofree gchar *tik_p = NULL, *tek_p = NULL, *tk_p = NULL, *blob_arg = NULL,
			 *measurement = NULL, *api_major = NULL, *api_minor = NULL, *pass_file = NULL,
			 *format_s = NULL, *hdr_out = NULL, *pay_out = NULL, *iv_arg = NULL;
	g_auto(GStrv) secrets = NULL;
	gboolean binary = FALSE, force = FALSE;
	g_autoptr(GOptionContext) ctx = ac_cli_option_context_new (global, "",
		"Build a LAUNCH_SECRET packet: the secret table (Aleph's format by default: the one "
		"Aleph's GRUB unlocks), encrypted with the TEK and bound to the launch measurement "
		"with the TIK. Writes base64 (QEMU sev-inject-launch-secret, virsh "
		"domsetlaunchsecstate, the CRN API) or raw bytes (--binary, as sevctl).");
	const GOptionEntry entries[] = {
		{ "tik", 0, 0, G_OPTION_ARG_FILENAME, &tik_p, "TIK file (16 bytes)", "FILE" },
		{ "tek", 0, 0, G_OPTION_ARG_FILENAME, &tek_p, "TEK file (16 bytes)", "FILE" },
		{ "tk", 0, 0, G_OPTION_ARG_FILENAME, &tk_p, "TEK ‖ TIK file (32 bytes)", "FILE" },
		{ "launch-measure-blob", 0, 0, G_OPTION_ARG_STRING, &blob_arg, "the verified LAUNCH_MEASURE blob (base64 or file)", "B64" },
		{ "measurement", 'm', 0, G_OPTION_ARG_STRING, &measurement, "same as --launch-measure-blob", "B64" },
		{ "api-major", 0, 0, G_OPTION_ARG_STRING, &api_major, "firmware API major (API < 0.17 uses the legacy MAC)", "N" },
		{ "api-minor", 0, 0, G_OPTION_ARG_STRING, &api_minor, "firmware API minor", "N" },
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
	g_autoptr(AcSevSecretTable) t = ac_sev_secret_table_new ();
	g_autoptr(GBytes) blob = NULL;
	g_autoptr(GBytes) iv = NULL;
	g_autoptr(GBytes) table = NULL;
	g_autoptr(GBytes) payload = NULL;
	AcSevSecretTableFormat format = AC_SEV_SECRET_TABLE_ALEPH;
	guint64 maj = 1, min = 0;
	guint8 tik[16], tek[16], hdr[AC_SEV_SECRET_HEADER_SIZE];
	g_autofree gchar *hdr_b64 = NULL;
	g_autofree gchar *pay_b64 = NULL;
	gboolean ok;

	g_option_context_add_main_entries (ctx, entries, NULL);
	if (!ac_cli_parse (ctx, &argc, &argv, &error))
		return ac_cli_fail (global, g_steal_pointer (&error));
	if (argc != 1)
		return ac_cli_fail (global, g_error_new (AC_ERROR, AC_ERROR_INVALID_INPUT, "secret build takes no arguments besides options, got '%s'", argv[1]));
	if (format_s != NULL && !ac_sev_secret_table_format_from_string (format_s, &format, &error))
		return ac_cli_fail (global, g_steal_pointer (&error));
	if (blob_arg != NULL && measurement != NULL)
		return ac_cli_fail (global, g_error_new_literal (AC_ERROR, AC_ERROR_INVALID_INPUT, "give --launch-measure-blob or --measurement, not both"));
	if ((blob = sev_read_b64_arg (blob_arg != NULL ? blob_arg : measurement, AC_SEV_MEASURE_BLOB_SIZE,
				      "--launch-measure-blob", &error)) == NULL)
		return ac_cli_fail (global, g_steal_pointer (&error));
	if ((api_major != NULL && !sev_parse_uint (api_major, "--api-major", 255, &maj, &error)) ||
	    (api_minor != NULL && !sev_parse_uint (api_minor, "--api-minor", 255, &min, &error)))
		return ac_cli_fail (global, g_steal_pointer (&error));
	if (iv_arg != NULL && (iv = sev_read_b64_arg (iv_arg, 16, "--iv", &error)) == NULL)
		return ac_cli_fail (global, g_steal_pointer (&error));
	if (pass_file != NULL) {
		g_autoptr(GBytes) pw = sev_read_secret_file (pass_file, "--passphrase-file", &error);
		gsize len;
		const guint8 *p;
		if (pw == NULL)
			return ac_cli_fail (global, g_steal_pointer (&error));
		p = g_bytes_get_data (pw, &len);
		/* one line: drop the trailing newline an editor adds */
		if (len > 0 && p[len - 1] == '\n')
			len--;
		if (len > 0 && p[len - 1] == '\r')
			len--;
		if (len == 0 || memchr (p, '\0', len) != NULL) {
			OPENSSL_cleanse ((gpointer)p, g_bytes_get_size (pw));
			return ac_cli_fail (global, g_error_new (AC_ERROR, AC_ERROR_INVALID_INPUT, "--passphrase-file %s is empty or contains a NUL byte", pass_file));
		}
		ok = ac_sev_secret_table_add (t, "luks-key", p, len, &error);
		OPENSSL_cleanse ((gpointer)p, g_bytes_get_size (pw));
		if (!ok)
			return ac_cli_fail (global, g_steal_pointer (&error));
	}
	for (guint i = 0; secrets != NULL && secrets[i] != NULL; i++) {
		const gchar *colon = strchr (secrets[i], ':');
		g_autofree gchar *guid = NULL;
		g_autoptr(GBytes) d = NULL;
		if (colon == NULL)
			return ac_cli_fail (global, g_error_new (AC_ERROR, AC_ERROR_INVALID_INPUT, "--secret '%s' is invalid: expected GUID:FILE", secrets[i]));
		guid = g_strndup (secrets[i], colon - secrets[i]);
		if ((d = sev_read_secret_file (colon + 1, "--secret", &error)) == NULL)
			return ac_cli_fail (global, g_steal_pointer (&error));
		ok = ac_sev_secret_table_add (t, guid, g_bytes_get_data (d, NULL), g_bytes_get_size (d), &error);
		OPENSSL_cleanse ((gpointer)g_bytes_get_data (d, NULL), g_bytes_get_size (d));
		if (!ok)
			return ac_cli_fail (global, g_steal_pointer (&error));
	}
	if (ac_sev_secret_table_get_size (t) == 0)
		return ac_cli_fail (global, g_error_new_literal (AC_ERROR, AC_ERROR_INVALID_INPUT, "nothing to send: give --passphrase-file or --secret"));
	if ((table = ac_sev_secret_table_build (t, format, &error)) == NULL)
		return ac_cli_fail (global, g_steal_pointer (&error));
	if (!sev_read_keys (tik_p, tek_p, tk_p, TRUE, tik, tek, &error))
		return ac_cli_fail (global, g_steal_pointer (&error));
	ok = ac_sev_secret_packet_build (tek, tik, g_bytes_get_data (blob, NULL), (guint8)maj, (guint8)min,
					 iv != NULL ? g_bytes_get_data (iv, NULL) : NULL, table, hdr,
					 &payload, &error);
	OPENSSL_cleanse (tik, sizeof (tik));
	OPENSSL_cleanse (tek, sizeof (tek));
	if (!ok)
		return ac_cli_fail (global, g_steal_pointer (&error));
	sev_debug_hex (global, "MEASURE", g_bytes_get_data (blob, NULL), 32);
	sev_debug_hex (global, "packet header", hdr, sizeof (hdr));
	if (global->debug)
		fprintf (stderr, "debug: table %" G_GSIZE_FORMAT " bytes, %u entries\n",
			 g_bytes_get_size (table), ac_sev_secret_table_get_size (t));
	hdr_b64 = g_base64_encode (hdr, sizeof (hdr));
	pay_b64 = g_base64_encode (g_bytes_get_data (payload, NULL), g_bytes_get_size (payload));
	if (hdr_out != NULL &&
	    !(binary ? sev_write_out (hdr_out, force, hdr, sizeof (hdr), &error)
		     : sev_write_out (hdr_out, force, (const guint8 *)hdr_b64, strlen (hdr_b64), &error)))
		return ac_cli_fail (global, g_steal_pointer (&error));
	if (pay_out != NULL &&
	    !(binary ? sev_write_out (pay_out, force, g_bytes_get_data (payload, NULL), g_bytes_get_size (payload), &error)
		     : sev_write_out (pay_out, force, (const guint8 *)pay_b64, strlen (pay_b64), &error)))
		return ac_cli_fail (global, g_steal_pointer (&error));
	if (global->json) {
		/* the CRN API's inject_secret body */
		g_autoptr(JsonBuilder) b = json_builder_new ();
		json_builder_begin_object (b);
		sev_json_str (b, "packet_header", hdr_b64);
		sev_json_str (b, "secret", pay_b64);
		json_builder_end_object (b);
		sev_print_json (b);
	} else if (!global->quiet && (hdr_out == NULL || pay_out == NULL)) {
		printf ("packet_header: %s\nsecret: %s\n", hdr_b64, pay_b64);
	}
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

	if (!ac_cli_parse (ctx, &argc, &argv, &error))
		return ac_cli_fail (global, g_steal_pointer (&error));
	if (argc != 2)
		return ac_cli_fail (global, g_error_new (AC_ERROR, AC_ERROR_INVALID_INPUT, "policy explain takes one POLICY, got %d arguments", argc - 1));
	if (!ac_sev_policy_parse (argv[1], &policy, &error))
		return ac_cli_fail (global, g_steal_pointer (&error));
	if (global->json) {
		g_autoptr(JsonBuilder) b = json_builder_new ();
		g_autofree gchar *hex = g_strdup_printf ("0x%x", policy);
		g_autofree gchar *names = ac_sev_policy_to_names (policy);
		json_builder_begin_object (b);
		sev_json_str (b, "policy", hex);
		sev_json_str (b, "names", names);
		json_builder_set_member_name (b, "value");
		json_builder_add_int_value (b, policy);
		json_builder_end_object (b);
		sev_print_json (b);
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
