/*
 * virt-aleph sev: the launch `measure` and `secret build` verify (the options of
 * virt-qemu-sev-validate), parsed into the owner's evidence and expectation, and verified
 * through the owner-side launch (sev/ac-sev-owner.h): `secret build` seals only for a launch
 * verified here.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <openssl/crypto.h>
#include <stdio.h>

#include "ac-sev-policy.h"
#include "ac-sev-session.h"
#include "cli-sev.h"

/* a key file read straight into locked memory */
static AcSecret *
cli_sev_launch_read_key (const gchar *path, gsize len, const gchar *what, GError **error)
{
	static const gchar zero[32] = { 0 };
	g_autoptr (AcSecret) key = ac_secret_new (zero, len);

	if (!ac_sev_key_file_read (path, (guint8 *)key->data, len, what, error))
		return NULL;
	return g_steal_pointer (&key);
}

/* TEK/TIK from --tik/--tek files or --tk (TEK ‖ TIK, 32 bytes); *tek stays %NULL when no TEK is
 * given and none is needed */
static gboolean
cli_sev_launch_read_keys (const gchar *tik_path,
                          const gchar *tek_path,
                          const gchar *tk_path,
                          gboolean need_tek,
                          AcSecret **tik,
                          AcSecret **tek,
                          GError **error)
{
	if (tk_path != NULL) {
		g_autoptr (AcSecret) tk = NULL;
		if (tik_path != NULL || tek_path != NULL) {
			g_set_error_literal (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			                     "--tk cannot be combined with --tik/--tek");
			return FALSE;
		}
		if ((tk = cli_sev_launch_read_key (tk_path, 32, "--tk (TEK ‖ TIK)", error)) == NULL)
			return FALSE;
		*tek = ac_secret_new (tk->data, 16);
		*tik = ac_secret_new (tk->data + 16, 16);
		return TRUE;
	}
	if (tik_path == NULL) {
		g_set_error_literal (
		    error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		    "the TIK is required: --tik FILE (with --tek FILE) or --tk FILE");
		return FALSE;
	}
	if ((*tik = cli_sev_launch_read_key (tik_path, 16, "--tik", error)) == NULL)
		return FALSE;
	if (tek_path != NULL)
		return (*tek = cli_sev_launch_read_key (tek_path, 16, "--tek", error)) != NULL;
	if (need_tek) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		                     "the TEK is required: --tek FILE or --tk FILE");
		return FALSE;
	}
	return TRUE;
}

void
cli_sev_launch_args_clear (CliSevLaunchArgs *a)
{
	gchar **fields[] = { &a->measurement, &a->api_major,       &a->api_minor, &a->build_id,
		             &a->policy,      &a->expected_policy, &a->min_api,   &a->firmware,
		             &a->kernel,      &a->initrd,          &a->cmdline,   &a->num_cpus,
		             &a->vmsa0,       &a->vmsa1,           &a->variant,   &a->family,
		             &a->model,       &a->stepping,        &a->tik,       &a->tek,
		             &a->tk };
	for (guint i = 0; i < G_N_ELEMENTS (fields); i++)
		g_clear_pointer (fields[i], g_free);
}

void
cli_sev_launch_add_entries (GOptionContext *ctx, CliSevLaunchArgs *a)
{
	const GOptionEntry entries[] = {
		{ "measurement", 'm', 0, G_OPTION_ARG_STRING, &a->measurement,
		  "base64 of the 48-byte LAUNCH_MEASURE blob (or a file)", "B64" },
		{ "api-major", 0, 0, G_OPTION_ARG_STRING, &a->api_major, "SEV firmware API major",
		  "N" },
		{ "api-minor", 0, 0, G_OPTION_ARG_STRING, &a->api_minor, "SEV firmware API minor",
		  "N" },
		{ "build-id", 0, 0, G_OPTION_ARG_STRING, &a->build_id, "SEV firmware build id",
		  "N" },
		{ "policy", 0, 0, G_OPTION_ARG_STRING, &a->policy,
		  "the guest policy the platform reports", "POLICY" },
		{ "firmware", 'f', 0, G_OPTION_ARG_FILENAME, &a->firmware,
		  "the OVMF firmware image", "FILE" },
		{ "kernel", 'k', 0, G_OPTION_ARG_FILENAME, &a->kernel,
		  "kernel of a direct boot with kernel hashes", "FILE" },
		{ "initrd", 'r', 0, G_OPTION_ARG_FILENAME, &a->initrd, "initrd", "FILE" },
		{ "cmdline", 'e', 0, G_OPTION_ARG_STRING, &a->cmdline, "kernel command line",
		  "TEXT" },
		{ "num-cpus", 'n', 0, G_OPTION_ARG_STRING, &a->num_cpus, "number of vCPUs (SEV-ES)",
		  "N" },
		{ "vmsa-cpu0", '0', 0, G_OPTION_ARG_FILENAME, &a->vmsa0,
		  "VMSA of the boot vCPU (SEV-ES)", "FILE" },
		{ "vmsa-cpu1", '1', 0, G_OPTION_ARG_FILENAME, &a->vmsa1,
		  "VMSA of the other vCPUs (SEV-ES)", "FILE" },
		{ "cpu-family", 0, 0, G_OPTION_ARG_STRING, &a->family,
		  "vCPU family, to build the VMSAs", "N" },
		{ "cpu-model", 0, 0, G_OPTION_ARG_STRING, &a->model, "vCPU model", "N" },
		{ "cpu-stepping", 0, 0, G_OPTION_ARG_STRING, &a->stepping, "vCPU stepping", "N" },
		{ "vmsa-variant", 0, 0, G_OPTION_ARG_STRING, &a->variant,
		  "built VMSAs: legacy (KVM_SEV_ES_INIT, default) or init2", "V" },
		{ "tik", 0, 0, G_OPTION_ARG_FILENAME, &a->tik, "TIK file (16 bytes)", "FILE" },
		{ "tek", 0, 0, G_OPTION_ARG_FILENAME, &a->tek,
		  "TEK file (16 bytes; not needed to measure)", "FILE" },
		{ "tk", 0, 0, G_OPTION_ARG_FILENAME, &a->tk, "TEK ‖ TIK file (32 bytes)", "FILE" },
		{ "expected-policy", 0, 0, G_OPTION_ARG_STRING, &a->expected_policy,
		  "the policy requested at launch; the reported one must equal it", "POLICY" },
		{ "min-api", 0, 0, G_OPTION_ARG_STRING, &a->min_api,
		  "minimum firmware API version MAJOR.MINOR (default 0.0)", "M.m" },
		{ NULL },
	};
	g_option_context_add_main_entries (ctx, entries, NULL);
}

void
cli_sev_launch_clear (CliSevLaunch *l)
{
	GBytes **bytes[] = { &l->blob, &l->fw, &l->k, &l->r, &l->v0, &l->v1 };
	for (guint i = 0; i < G_N_ELEMENTS (bytes); i++)
		g_clear_pointer (bytes[i], g_bytes_unref);
	g_clear_pointer (&l->tik, ac_secret_free);
	g_clear_pointer (&l->tek, ac_secret_free);
}

/* the numbers: firmware version, policies, minimum API, vCPUs */
static gboolean
cli_sev_launch_parse_numbers (const CliSevLaunchArgs *a, CliSevLaunch *l, GError **error)
{
	guint64 maj = 0, min = 0, build = 0, ncpu = 0, fam = 0, mod = 0, step = 0, p = 0;
	guint64 min_maj = 0, min_min = 0;

	if (!cli_sev_parse_uint (a->api_major, "--api-major", 255, &maj, error)
	    || !cli_sev_parse_uint (a->api_minor, "--api-minor", 255, &min, error)
	    || !cli_sev_parse_uint (a->build_id, "--build-id", 255, &build, error))
		return FALSE;
	if (a->policy == NULL) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		                     "--policy is required");
		return FALSE;
	}
	/* the reported policy is a number; any bits are reported as they are */
	if (g_ascii_isdigit (a->policy[0])) {
		if (!cli_sev_parse_uint (a->policy, "--policy", G_MAXUINT32, &p, error))
			return FALSE;
		l->ev.policy = (guint32)p;
	} else if (!ac_sev_policy_parse (a->policy, &l->ev.policy, error)) {
		return FALSE;
	}
	l->launch_policy = l->ev.policy;
	if (a->expected_policy != NULL
	    && !ac_sev_policy_parse (a->expected_policy, &l->launch_policy, error))
		return FALSE;
	if (a->min_api != NULL) {
		g_auto (GStrv) parts = g_strsplit (a->min_api, ".", -1);
		if (g_strv_length (parts) != 2
		    || !cli_sev_parse_uint (parts[0], "--min-api major", 255, &min_maj, NULL)
		    || !cli_sev_parse_uint (parts[1], "--min-api minor", 255, &min_min, NULL)) {
			g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			             "--min-api '%s' is invalid: expected MAJOR.MINOR such as 0.17",
			             a->min_api);
			return FALSE;
		}
	}
	if ((a->num_cpus != NULL
	     && !cli_sev_parse_uint (a->num_cpus, "--num-cpus", 512, &ncpu, error))
	    || (a->family != NULL
	        && !cli_sev_parse_uint (a->family, "--cpu-family", 255, &fam, error))
	    || (a->model != NULL && !cli_sev_parse_uint (a->model, "--cpu-model", 255, &mod, error))
	    || (a->stepping != NULL
	        && !cli_sev_parse_uint (a->stepping, "--cpu-stepping", 15, &step, error)))
		return FALSE;
	l->ev.api_major = (guint)maj;
	l->ev.api_minor = (guint)min;
	l->ev.build_id = (guint)build;
	l->min_major = (guint8)min_maj;
	l->min_minor = (guint8)min_min;
	l->in.num_cpus = (guint)ncpu;
	l->in.cpu_family = (guint)fam;
	l->in.cpu_model = (guint)mod;
	l->in.cpu_stepping = (guint)step;
	return TRUE;
}

/* the measurement, the images, the VMSA layout and the keys */
gboolean
cli_sev_launch_parse (const CliSevLaunchArgs *a, gboolean need_tek, CliSevLaunch *l, GError **error)
{
	if (!cli_sev_launch_parse_numbers (a, l, error))
		return FALSE;
	if ((l->blob = cli_sev_read_b64_arg (a->measurement, AC_SEV_MEASURE_BLOB_SIZE,
	                                     "--measurement", error))
	    == NULL)
		return FALSE;
	if (a->firmware == NULL) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		                     "--firmware is required");
		return FALSE;
	}
	if ((l->fw = cli_sev_read_file (a->firmware, "--firmware", SEV_IMAGE_FILE_MAX, error))
	        == NULL
	    || (a->kernel != NULL
	        && (l->k = cli_sev_read_file (a->kernel, "--kernel", SEV_IMAGE_FILE_MAX, error))
	               == NULL)
	    || (a->initrd != NULL
	        && (l->r = cli_sev_read_file (a->initrd, "--initrd", SEV_IMAGE_FILE_MAX, error))
	               == NULL)
	    || (a->vmsa0 != NULL
	        && (l->v0 = cli_sev_read_file (a->vmsa0, "--vmsa-cpu0", SEV_SMALL_FILE_MAX, error))
	               == NULL)
	    || (a->vmsa1 != NULL
	        && (l->v1 = cli_sev_read_file (a->vmsa1, "--vmsa-cpu1", SEV_SMALL_FILE_MAX, error))
	               == NULL))
		return FALSE;
	if (!cli_sev_launch_read_keys (a->tik, a->tek, a->tk, need_tek, &l->tik, &l->tek, error))
		return FALSE;
	l->ev.blob = g_bytes_get_data (l->blob, &l->ev.blob_len);
	l->in.firmware = l->fw;
	l->in.kernel = l->k;
	l->in.initrd = l->r;
	l->in.cmdline = a->cmdline;
	l->in.vmsa_cpu0 = l->v0;
	l->in.vmsa_cpu1 = l->v1;
	l->in.vmsa_variant = AC_SEV_VMSA_LEGACY;
	if (a->variant != NULL && g_strcmp0 (a->variant, "legacy") != 0) {
		if (g_strcmp0 (a->variant, "init2") != 0) {
			g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			             "--vmsa-variant '%s' is invalid: expected legacy or init2",
			             a->variant);
			return FALSE;
		}
		l->in.vmsa_variant = AC_SEV_VMSA_INIT2;
	}
	if (a->cmdline != NULL && l->k == NULL) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		                     "--cmdline needs --kernel");
		return FALSE;
	}
	return TRUE;
}

/* --debug: the VMSAs the digest is computed with */
static void
cli_sev_launch_debug_vmsas (AcCliGlobal *global, const CliSevLaunch *l)
{
	g_autoptr (AcSevOvmf) ovmf = NULL;
	guint32 reset = 0;

	fprintf (stderr, "debug: vCPUs %u\n", l->in.num_cpus);
	if (l->v0 != NULL) {
		cli_sev_debug_sha256 (global, "VMSA cpu0 (given)", l->v0);
		cli_sev_debug_sha256 (global, "VMSA cpu1 (given)", l->v1);
		return;
	}
	ovmf = ac_sev_ovmf_parse (g_bytes_get_data (l->fw, NULL), g_bytes_get_size (l->fw), NULL);
	if (ovmf != NULL && ac_sev_ovmf_get_es_reset_addr (ovmf, &reset, NULL)) {
		guint32 sig
		    = ac_sev_cpu_signature (l->in.cpu_family, l->in.cpu_model, l->in.cpu_stepping);
		guint8 *b0 = g_malloc (AC_SEV_VMSA_SIZE);
		guint8 *b1 = g_malloc (AC_SEV_VMSA_SIZE);
		g_autoptr (GBytes) g0 = NULL;
		g_autoptr (GBytes) g1 = NULL;
		ac_sev_vmsa_build (TRUE, reset, sig, l->in.vmsa_variant, b0);
		ac_sev_vmsa_build (FALSE, reset, sig, l->in.vmsa_variant, b1);
		g0 = g_bytes_new_take (b0, AC_SEV_VMSA_SIZE);
		g1 = g_bytes_new_take (b1, AC_SEV_VMSA_SIZE);
		fprintf (stderr,
		         "debug: AP reset address 0x%08x, CPUID signature 0x%08x, %s layout\n",
		         reset, sig,
		         l->in.vmsa_variant == AC_SEV_VMSA_INIT2 ? "KVM_SEV_INIT2" : "legacy");
		cli_sev_debug_sha256 (global, "VMSA cpu0 (built)", g0);
		cli_sev_debug_sha256 (global, "VMSA cpu1 (built)", g1);
	}
}

/* --debug: every input of the digest and the measurement */
static void
cli_sev_launch_debug (AcCliGlobal *global, const CliSevLaunch *l)
{
	g_autofree gchar *names = NULL;

	if (!global->debug)
		return;
	names = ac_sev_policy_to_names (l->ev.policy);
	fprintf (stderr, "debug: API %u.%u build %u\n", l->ev.api_major, l->ev.api_minor,
	         l->ev.build_id);
	fprintf (stderr, "debug: policy 0x%x (%s)\n", l->ev.policy, names);
	cli_sev_debug_sha256 (global, "firmware", l->fw);
	cli_sev_debug_sha256 (global, "kernel", l->k);
	cli_sev_debug_sha256 (global, "initrd", l->r);
	if (l->in.cmdline != NULL)
		fprintf (stderr, "debug: cmdline '%s'\n", l->in.cmdline);
	if (l->k != NULL) {
		guint8 table[AC_SEV_KERNEL_HASHES_TABLE_SIZE];
		if (ac_sev_kernel_hashes_table (
		        g_bytes_get_data (l->k, NULL), g_bytes_get_size (l->k),
		        l->r != NULL ? g_bytes_get_data (l->r, NULL) : NULL,
		        l->r != NULL ? g_bytes_get_size (l->r) : 0, l->in.cmdline, table, NULL))
			cli_sev_debug_hex (global, "kernel hashes table", table, sizeof (table));
	}
	if (l->ev.policy & AC_SEV_POLICY_ES)
		cli_sev_launch_debug_vmsas (global, l);
	cli_sev_debug_hex (global, "MNONCE", l->ev.blob + 32, 16);
	cli_sev_debug_hex (global, "reported MEASURE", l->ev.blob, 32);
}

/* the owner's launch, resumed from the session's keys and verified: the only launch that
 * `secret build` seals for */
AcSevOwnerLaunch *
cli_sev_launch_verify (AcCliGlobal *global, const CliSevLaunch *l, GError **error)
{
	g_autoptr (AcSevOwnerLaunch) o = ac_sev_owner_launch_new (l->launch_policy);
	const guint8 *ld;
	gboolean ok;

	cli_sev_launch_debug (global, l);
	if (!ac_sev_owner_launch_resume_keys (o, l->tek, l->tik, error))
		return NULL;
	ok = ac_sev_owner_launch_verify (o, &l->ev, &l->in, l->min_major, l->min_minor, error);
	ld = ac_sev_owner_launch_get_launch_digest (o);
	if (global->debug && ld != NULL) {
		guint8 expected[32];
		cli_sev_debug_hex (global, "launch digest", ld, 32);
		if (ac_sev_measurement_compute ((const guint8 *)l->tik->data,
		                                (guint8)l->ev.api_major, (guint8)l->ev.api_minor,
		                                (guint8)l->ev.build_id, l->launch_policy, ld,
		                                l->ev.blob + 32, expected, NULL))
			cli_sev_debug_hex (global, "expected MEASURE", expected, 32);
		ac_secret_wipe (expected, sizeof (expected));
	}
	return ok ? g_steal_pointer (&o) : NULL;
}
