/*
 * virt-aleph snp measure: the SEV-SNP launch digest (the report's MEASUREMENT) of a QEMU + OVMF
 * guest, with sev-snp-measure's option names and output (one line, hex or base64). It runs in
 * the front (GLib and OpenSSL only, no module opened): a digest costs its hashing and a
 * process's start, not json-glib's and GIO's.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "ac-codec.h"
#include "ac-json-write.h"
#include "ac-snp-measure.h"
#include "cli-sev.h"
#include "cli-snp.h"

typedef struct {
	gchar *mode, *ovmf, *kernel, *initrd, *append, *vcpus, *vcpu_type, *vcpu_sig;
	gchar *vcpu_family, *vcpu_model, *vcpu_stepping, *vmm_type, *guest_features;
	gchar *output_format, *snp_ovmf_hash;
} SnpMeasureArgs;

static void
snp_measure_args_clear (SnpMeasureArgs *a)
{
	g_free (a->mode);
	g_free (a->ovmf);
	g_free (a->kernel);
	g_free (a->initrd);
	g_free (a->append);
	g_free (a->vcpus);
	g_free (a->vcpu_type);
	g_free (a->vcpu_sig);
	g_free (a->vcpu_family);
	g_free (a->vcpu_model);
	g_free (a->vcpu_stepping);
	g_free (a->vmm_type);
	g_free (a->guest_features);
	g_free (a->output_format);
	g_free (a->snp_ovmf_hash);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (SnpMeasureArgs, snp_measure_args_clear)

/* a firmware, kernel or initrd file; /dev/null is the empty file (as sev-snp-measure reads it) */
static GBytes *
snp_measure_read (const gchar *path, const gchar *what, GError **error)
{
	if (g_strcmp0 (path, "/dev/null") == 0)
		return g_bytes_new (NULL, 0);
	return cli_sev_read_file (path, what, SEV_IMAGE_FILE_MAX, error);
}

/* exactly one of --vcpu-type, --vcpu-sig, --vcpu-family (with --vcpu-model, --vcpu-stepping) */
static gboolean
snp_measure_vcpu_sig (const SnpMeasureArgs *a, guint32 *sig, GError **error)
{
	guint given = (a->vcpu_type != NULL) + (a->vcpu_sig != NULL) + (a->vcpu_family != NULL);
	guint64 f = 0, m = 0, s = 0;

	if (given != 1) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "%s: give one of --vcpu-type, --vcpu-sig or --vcpu-family (with "
		             "--vcpu-model and --vcpu-stepping)",
		             given == 0 ? "the vCPU model is missing"
		                        : "the vCPU model is given twice");
		return FALSE;
	}
	if ((a->vcpu_model != NULL || a->vcpu_stepping != NULL) && a->vcpu_family == NULL) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		                     "--vcpu-model and --vcpu-stepping go with --vcpu-family");
		return FALSE;
	}
	if (a->vcpu_type != NULL)
		return ac_snp_vcpu_sig_from_type (a->vcpu_type, sig, error);
	if (a->vcpu_sig != NULL) {
		guint64 v = 0;
		if (!cli_sev_parse_uint (a->vcpu_sig, "--vcpu-sig", G_MAXUINT32, &v, error))
			return FALSE;
		*sig = (guint32)v;
		return TRUE;
	}
	if (!cli_sev_parse_uint (a->vcpu_family, "--vcpu-family", G_MAXUINT32, &f, error)
	    || !cli_sev_parse_uint (a->vcpu_model, "--vcpu-model", G_MAXUINT32, &m, error)
	    || !cli_sev_parse_uint (a->vcpu_stepping, "--vcpu-stepping", G_MAXUINT32, &s, error))
		return FALSE;
	return ac_snp_vcpu_sig_from_fms (f, m, s, sig, error);
}

static void
snp_measure_trace (const AcSnpPageTrace *p, gpointer user_data)
{
	g_autofree gchar *c = ac_codec_hex_encode (p->contents, AC_SNP_LD_SIZE);
	g_autofree gchar *ld = ac_codec_hex_encode (p->ld, AC_SNP_LD_SIZE);
	g_autofree gchar *stage = NULL;

	if (p->stage == AC_SNP_STAGE_FIRMWARE)
		stage = g_strdup ("firmware");
	else if (p->stage == AC_SNP_STAGE_SECTION)
		stage = g_strdup_printf ("section %u %s", p->index,
		                         ac_snp_section_type_to_string (p->section_type));
	else
		stage = g_strdup_printf ("VMSA %u", p->index);
	fprintf (stderr,
	         "debug: page gpa=0x%" G_GINT64_MODIFIER "x type=%s contents=%s ld=%s (%s)\n",
	         p->gpa, ac_snp_page_type_to_string (p->type), c, ld, stage);
}

/* --debug: what the digest is made of, before the pages */
static void
snp_measure_debug_inputs (AcCliGlobal *global, const AcSnpLaunchInputs *in, GError **error)
{
	g_autoptr (AcSnpOvmf) ovmf = NULL;
	const AcSnpSection *s;
	guint n = 0;
	guint32 hgpa = 0;

	if (!global->debug)
		return;
	cli_sev_debug_sha256 (global, "ovmf", in->firmware);
	cli_sev_debug_sha256 (global, "kernel", in->kernel);
	cli_sev_debug_sha256 (global, "initrd", in->initrd);
	if (in->cmdline != NULL)
		fprintf (stderr, "debug: append: %s\n", in->cmdline);
	/* a bad image is reported by the digest itself */
	ovmf = ac_snp_ovmf_parse (in->firmware, error);
	if (ovmf == NULL)
		return;
	fprintf (stderr,
	         "debug: vcpus=%u vcpu_sig=0x%x guest_features=0x%" G_GINT64_MODIFIER
	         "x ovmf_gpa=0x%" G_GINT64_MODIFIER "x ap_eip=0x%x\n",
	         in->vcpus, in->vcpu_sig, in->guest_features, ac_snp_ovmf_get_gpa (ovmf),
	         ac_snp_ovmf_get_ap_eip (ovmf));
	s = ac_snp_ovmf_get_sections (ovmf, &n);
	for (guint i = 0; i < n; i++)
		fprintf (stderr, "debug: section %u gpa=0x%x size=0x%x type=0x%x (%s)\n", i,
		         s[i].gpa, s[i].size, s[i].type, ac_snp_section_type_to_string (s[i].type));
	if (in->kernel != NULL && ac_snp_ovmf_get_hashes_table_gpa (ovmf, &hgpa)) {
		guint8 table[AC_SEV_KERNEL_HASHES_TABLE_SIZE];
		if (ac_sev_kernel_hashes_table (
		        g_bytes_get_data (in->kernel, NULL), g_bytes_get_size (in->kernel),
		        in->initrd != NULL ? g_bytes_get_data (in->initrd, NULL) : NULL,
		        in->initrd != NULL ? g_bytes_get_size (in->initrd) : 0, in->cmdline, table,
		        NULL)) {
			g_autofree gchar *note = g_strdup_printf ("hashes table at gpa 0x%x", hgpa);
			cli_sev_debug_hex (global, note, table, sizeof (table));
		}
	}
}

/* mode snp: the launch inputs from the options (@seed holds --snp-ovmf-hash; *@kernel and
 * *@initrd the files read, which @in points at) */
static gboolean
snp_measure_inputs (const SnpMeasureArgs *a,
                    GBytes *fw,
                    AcSnpLaunchInputs *in,
                    guint8 seed[AC_SNP_LD_SIZE],
                    GBytes **kernel,
                    GBytes **initrd,
                    GError **error)
{
	guint64 v = 0;

	if ((a->initrd != NULL || a->append != NULL) && a->kernel == NULL) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		                     "--initrd and --append need --kernel");
		return FALSE;
	}
	if (a->vcpus == NULL) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		                     "--vcpus N is required in mode snp");
		return FALSE;
	}
	if (!cli_sev_parse_uint (a->vcpus, "--vcpus", AC_SNP_MAX_VCPUS, &v, error))
		return FALSE;
	in->vcpus = (guint)v;
	if (!snp_measure_vcpu_sig (a, &in->vcpu_sig, error))
		return FALSE;
	in->guest_features = AC_SNP_GUEST_FEATURES_DEFAULT;
	if (a->guest_features != NULL
	    && !cli_sev_parse_uint (a->guest_features, "--guest-features", G_MAXUINT64,
	                            &in->guest_features, error))
		return FALSE;
	if (!ac_snp_guest_features_check (in->guest_features, error)
	    || (a->vmm_type != NULL
	        && !ac_snp_vmm_type_from_string (a->vmm_type, &in->vmm_type, error)))
		return FALSE;
	if (a->snp_ovmf_hash != NULL) {
		if (!ac_codec_hex_decode_fixed ("--snp-ovmf-hash", a->snp_ovmf_hash,
		                                AC_CODEC_HEX_DEFAULT, seed, AC_SNP_LD_SIZE, error))
			return FALSE;
		in->ovmf_hash = seed;
	}
	if (a->kernel != NULL
	    && (*kernel = snp_measure_read (a->kernel, "--kernel", error)) == NULL)
		return FALSE;
	if (a->initrd != NULL
	    && (*initrd = snp_measure_read (a->initrd, "--initrd", error)) == NULL)
		return FALSE;
	in->firmware = fw;
	in->kernel = *kernel;
	in->initrd = *initrd;
	in->cmdline = a->append;
	return TRUE;
}

int
cli_snp_cmd_measure (AcCliGlobal *global, int argc, char **argv)
{
	g_auto (SnpMeasureArgs) a = { 0 };
	g_autoptr (GOptionContext) ctx = ac_cli_option_context_new (
	    global, "",
	    "Compute the SEV-SNP launch digest (the attestation report's MEASUREMENT) of a QEMU "
	    "guest with this OVMF, direct-boot kernel, initrd and command line, vCPUs and guest "
	    "features, as sev-snp-measure does (same options, same output). --mode "
	    "snp:ovmf-hash prints the digest of the firmware pages alone, for --snp-ovmf-hash. "
	    "--debug prints every page's contribution (gpa, type, contents, digest) on stderr.");
	const GOptionEntry entries[] = {
		{ "mode", 0, 0, G_OPTION_ARG_STRING, &a.mode, "snp (default) or snp:ovmf-hash",
		  "MODE" },
		{ "ovmf", 0, 0, G_OPTION_ARG_FILENAME, &a.ovmf, "the OVMF image (required)",
		  "PATH" },
		{ "kernel", 0, 0, G_OPTION_ARG_FILENAME, &a.kernel,
		  "kernel of a direct boot with kernel hashes", "PATH" },
		{ "initrd", 0, 0, G_OPTION_ARG_FILENAME, &a.initrd, "initrd (with --kernel)",
		  "PATH" },
		{ "append", 0, 0, G_OPTION_ARG_STRING, &a.append,
		  "kernel command line (with --kernel)", "CMDLINE" },
		{ "vcpus", 0, 0, G_OPTION_ARG_STRING, &a.vcpus, "number of vCPUs (required)", "N" },
		{ "vcpu-type", 0, 0, G_OPTION_ARG_STRING, &a.vcpu_type,
		  "QEMU -cpu model (EPYC-v4, EPYC-Milan, EPYC-Genoa, …)", "CPUTYPE" },
		{ "vcpu-sig", 0, 0, G_OPTION_ARG_STRING, &a.vcpu_sig,
		  "vCPU signature (CPUID 1 EAX)", "VALUE" },
		{ "vcpu-family", 0, 0, G_OPTION_ARG_STRING, &a.vcpu_family, "vCPU family",
		  "FAMILY" },
		{ "vcpu-model", 0, 0, G_OPTION_ARG_STRING, &a.vcpu_model, "vCPU model", "MODEL" },
		{ "vcpu-stepping", 0, 0, G_OPTION_ARG_STRING, &a.vcpu_stepping, "vCPU stepping",
		  "STEPPING" },
		{ "vmm-type", 0, 0, G_OPTION_ARG_STRING, &a.vmm_type,
		  "VMM type: QEMU (default; ec2 and gce are not supported)", "VMMTYPE" },
		{ "guest-features", 0, 0, G_OPTION_ARG_STRING, &a.guest_features,
		  "VMSA sev_features (default 0x1)", "VALUE" },
		{ "output-format", 0, 0, G_OPTION_ARG_STRING, &a.output_format,
		  "hex (default) or base64", "FORMAT" },
		{ "snp-ovmf-hash", 0, 0, G_OPTION_ARG_STRING, &a.snp_ovmf_hash,
		  "precomputed digest of the firmware pages (hex)", "HASH" },
		{ NULL },
	};
	g_autoptr (GError) error = NULL;
	g_autoptr (GBytes) fw = NULL, kernel = NULL, initrd = NULL;
	AcSnpLaunchInputs in = { 0 };
	guint8 seed[AC_SNP_LD_SIZE], ld[AC_SNP_LD_SIZE];
	gboolean ovmf_hash_mode = FALSE, base64 = FALSE;
	g_autofree gchar *out = NULL;

	g_option_context_add_main_entries (ctx, entries, NULL);
	if (!ac_cli_parse_args (ctx, &argc, &argv, 0, "measure takes no arguments besides options",
	                        &error))
		return ac_cli_fail (global, g_steal_pointer (&error));
	if (a.mode != NULL && strcmp (a.mode, "snp:ovmf-hash") == 0)
		ovmf_hash_mode = TRUE;
	else if (a.mode != NULL && strcmp (a.mode, "snp") != 0)
		return ac_cli_fail (
		    global, g_error_new (AC_ERROR, AC_ERROR_INVALID_INPUT,
		                         "--mode '%s' is not supported, expected snp or "
		                         "snp:ovmf-hash (SEV and SEV-ES: virt-aleph sev measure)",
		                         a.mode));
	if (a.output_format != NULL && strcmp (a.output_format, "base64") == 0)
		base64 = TRUE;
	else if (a.output_format != NULL && strcmp (a.output_format, "hex") != 0)
		return ac_cli_fail (
		    global, g_error_new (AC_ERROR, AC_ERROR_INVALID_INPUT,
		                         "--output-format '%s' is unknown, expected hex or base64",
		                         a.output_format));
	if (a.ovmf == NULL)
		return ac_cli_fail (global, g_error_new_literal (AC_ERROR, AC_ERROR_INVALID_INPUT,
		                                                 "--ovmf is required"));
	if ((fw = snp_measure_read (a.ovmf, "--ovmf", &error)) == NULL)
		return ac_cli_fail (global, g_steal_pointer (&error));

	if (ovmf_hash_mode) {
		/* the image is checked as for a launch (sev-snp-measure parses it too) */
		g_autoptr (AcSnpOvmf) ovmf = ac_snp_ovmf_parse (fw, &error);
		if (ovmf == NULL || !ac_snp_ovmf_hash (fw, ld, &error))
			return ac_cli_fail (global, g_steal_pointer (&error));
	} else {
		if (!snp_measure_inputs (&a, fw, &in, seed, &kernel, &initrd, &error))
			return ac_cli_fail (global, g_steal_pointer (&error));
		snp_measure_debug_inputs (global, &in, NULL);
		if (global->debug)
			in.trace = snp_measure_trace;
		if (!ac_snp_launch_digest (&in, ld, &error))
			return ac_cli_fail (global, g_steal_pointer (&error));
	}

	out = base64 ? ac_codec_base64_encode (ld, sizeof (ld))
	             : ac_codec_hex_encode (ld, sizeof (ld));
	if (global->json) {
		/* json-glib's compact rendering, written by lib's writer: the front links GLib and
		 * OpenSSL only */
		g_auto (AcJsonWriter) w = { 0 };
		ac_json_writer_init (&w);
		ac_json_writer_begin_object (&w, NULL);
		ac_json_writer_string (&w, "mode", ovmf_hash_mode ? "snp:ovmf-hash" : "snp");
		ac_json_writer_string (&w, "measurement", out);
		ac_json_writer_string (&w, "output_format", base64 ? "base64" : "hex");
		if (!ovmf_hash_mode) {
			g_autofree gchar *sig = g_strdup_printf ("0x%x", in.vcpu_sig);
			g_autofree gchar *feat
			    = g_strdup_printf ("0x%" G_GINT64_MODIFIER "x", in.guest_features);
			ac_json_writer_int (&w, "vcpus", in.vcpus);
			ac_json_writer_string (&w, "vcpu_sig", sig);
			ac_json_writer_string (&w, "guest_features", feat);
			ac_json_writer_string (&w, "vmm_type", "QEMU");
			ac_json_writer_boolean (&w, "kernel_hashes", kernel != NULL);
		}
		ac_json_writer_end_object (&w);
		ac_cli_print_json_text (ac_json_writer_get_text (&w));
	} else {
		/* the value is the output, even with --quiet */
		printf ("%s\n", out);
	}
	return AC_EXIT_OK;
}
