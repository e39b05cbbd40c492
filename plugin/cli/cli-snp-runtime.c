/*
 * virt-aleph snp make-runtime: an Aleph SEV-SNP instance runtime made from the owner's own
 * OVMF, kernel and initrd — the deterministic bundle (tar.gz) and its aleph-instance-runtime/1
 * manifest, ready to be published as two STOREs (docs/snp.md, "Your own runtime").
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <errno.h>
#include <json-glib/json-glib.h>
#include <stdio.h>
#include <string.h>

#include "ac-codec.h"
#include "ac-error.h"
#include "ac-file.h"
#include "ac-json.h"
#include "ac-snp-measure.h"
#include "ac-snp-runtime.h"
#include "ac-tar.h"
#include "cli-sev.h"
#include "cli-snp.h"

#define RUNTIME_FILE_MAX (512 * 1024 * 1024)
#define DEFAULT_CMDLINE "console=ttyS0 luks=1 owner={owner}"

typedef struct {
	gchar *ovmf, *kernel, *initrd, *cmdline, *name, *version, *output, *port;
	gchar **cpu_models;
	gboolean force;
} MakeArgs;

static void
make_args_clear (MakeArgs *a)
{
	g_free (a->ovmf), g_free (a->kernel), g_free (a->initrd), g_free (a->cmdline);
	g_free (a->name), g_free (a->version), g_free (a->output), g_free (a->port);
	g_strfreev (a->cpu_models);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (MakeArgs, make_args_clear)

/* the manifest (canonical JSON) of the runtime @a describes, whose bundle is @bundle (SHA-256
 * @sha); checked as a client and a CRN will read it */
static gchar *
make_runtime_manifest (const MakeArgs *a,
                       guint16 port,
                       const gchar *members[3],
                       GBytes *files[3],
                       GBytes *bundle,
                       const gchar *sha,
                       GError **error)
{
	static const gchar *default_models[] = { "EPYC-v4", "EPYC-Milan", "EPYC-Genoa", NULL };
	AcSnpRuntimeFiles rf = { files[0], files[1], files[2] };
	g_autofree AcSnpRuntimeMeasurement *m = NULL;
	g_autoptr (AcSnpRuntime) check = NULL;
	g_autofree gchar *json = NULL;
	AcSnpRuntime rt = { 0 };
	guint n = 0;

	rt.name = a->name;
	rt.version = a->version;
	rt.bundle_ref = (gchar *)sha;
	rt.bundle_size = g_bytes_get_size (bundle);
	if (!ac_codec_hex_decode_fixed ("bundle", sha, AC_CODEC_HEX_LOWER, rt.bundle_sha256,
	                                sizeof rt.bundle_sha256, error))
		return NULL;
	rt.member_ovmf = (gchar *)members[0];
	rt.member_kernel = (gchar *)members[1];
	rt.member_initrd = (gchar *)members[2];
	rt.cpu_models = a->cpu_models != NULL ? a->cpu_models : (gchar **)default_models;
	rt.cmdline_template = a->cmdline != NULL ? a->cmdline : (gchar *)DEFAULT_CMDLINE;
	rt.attestation_port = port;
	json = ac_snp_runtime_to_json (&rt);
	/* what a client and a CRN will read: the strict parser's rules (CPU models known,
	 * the template, the names), and the digests computable from these very files */
	check = ac_snp_runtime_parse (json, strlen (json), error);
	if (check == NULL) {
		g_prefix_error (error, "the runtime these options describe: ");
		return NULL;
	}
	if (!ac_snp_runtime_expected_measurements (
	        check, &rf, "0x0000000000000000000000000000000000000000", 1, &m, &n, error))
		return NULL;
	return g_steal_pointer (&json);
}

/* what was written, as JSON (--json) or with how to publish it */
static void
make_runtime_print (AcCliGlobal *global,
                    const gchar *bundle_path,
                    const gchar *manifest_path,
                    const gchar *sha,
                    gsize bundle_size)
{
	if (global->json) {
		g_autoptr (JsonBuilder) b = json_builder_new ();
		json_builder_begin_object (b);
		ac_json_builder_add_string (b, "bundle", bundle_path);
		ac_json_builder_add_string (b, "bundle_sha256", sha);
		ac_json_builder_add_int (b, "bundle_size", (gint64)bundle_size);
		ac_json_builder_add_string (b, "manifest", manifest_path);
		json_builder_end_object (b);
		ac_cli_print_json_builder (b);
	} else if (!global->quiet) {
		printf ("%s (SHA-256 %s, %" G_GSIZE_FORMAT " bytes)\n%s\n", bundle_path, sha,
		        bundle_size, manifest_path);
		printf (
		    "Publish both, the bundle first (storage engine: the manifest names it by its "
		    "SHA-256):\n  virt-aleph ipfs upload %s --engine storage\n  virt-aleph ipfs "
		    "upload %s --engine storage\nThe manifest's STORE item hash is the runtime.\n",
		    bundle_path, manifest_path);
	}
}

int
cli_snp_cmd_make_runtime (AcCliGlobal *global, int argc, char **argv)
{
	g_auto (MakeArgs) a = { 0 };
	g_autoptr (GOptionContext) ctx = ac_cli_option_context_new (
	    global, "",
	    "Make an Aleph SEV-SNP instance runtime of your own OVMF (with SNP metadata and a "
	    "kernel-hashes page), kernel and initrd: OUTPUT/bundle.tar.gz (deterministic: the same "
	    "files give the same bytes) and OUTPUT/manifest.json (aleph-instance-runtime/1, "
	    "canonical JSON; bundle.ref is the bundle's SHA-256, its storage item hash). Publish "
	    "both with 'virt-aleph ipfs upload FILE --engine storage': the manifest's STORE item "
	    "hash is the runtime a tag names (<aleph:sev type='snp' runtime='…'/>) or [pipeline] "
	    "snp-runtime.");
	const GOptionEntry entries[] = {
		{ "ovmf", 0, 0, G_OPTION_ARG_FILENAME, &a.ovmf, "the OVMF image (required)",
		  "PATH" },
		{ "kernel", 0, 0, G_OPTION_ARG_FILENAME, &a.kernel, "the kernel (required)",
		  "PATH" },
		{ "initrd", 0, 0, G_OPTION_ARG_FILENAME, &a.initrd,
		  "the initrd that opens the LUKS2 root (required)", "PATH" },
		{ "cmdline-template", 0, 0, G_OPTION_ARG_STRING, &a.cmdline,
		  "the measured command line, with {owner} once (default " DEFAULT_CMDLINE ")",
		  "TEMPLATE" },
		{ "cpu-model", 0, 0, G_OPTION_ARG_STRING_ARRAY, &a.cpu_models,
		  "a QEMU CPU model the digests are computed for, repeatable (default EPYC-v4, "
		  "EPYC-Milan, EPYC-Genoa)",
		  "MODEL" },
		{ "port", 0, 0, G_OPTION_ARG_STRING, &a.port,
		  "the guest agent's attestation port (default 8443)", "PORT" },
		{ "name", 0, 0, G_OPTION_ARG_STRING, &a.name, "the runtime's name", "NAME" },
		{ "version", 0, 0, G_OPTION_ARG_STRING, &a.version, "the runtime's version",
		  "VERSION" },
		{ "output", 'o', 0, G_OPTION_ARG_FILENAME, &a.output,
		  "the directory of bundle.tar.gz and manifest.json (required; created)", "DIR" },
		{ "force", 'f', 0, G_OPTION_ARG_NONE, &a.force, "replace existing files", NULL },
		{ NULL },
	};
	g_autoptr (GError) error = NULL;
	GBytes *files[3] = { NULL };
	const gchar *members[] = { "ovmf/OVMF.fd", "boot/vmlinuz", "boot/initrd.img" };
	g_autoptr (GBytes) bundle = NULL;
	g_autofree gchar *sha = NULL;
	g_autofree gchar *json = NULL;
	g_autofree gchar *bundle_path = NULL, *manifest_path = NULL;
	guint64 port = 8443;
	int rc = AC_EXIT_OK;

	g_option_context_add_main_entries (ctx, entries, NULL);
	if (!ac_cli_parse_args (ctx, &argc, &argv, 0,
	                        "make-runtime takes no arguments besides options", &error))
		return ac_cli_fail (global, g_steal_pointer (&error));
	if (a.ovmf == NULL || a.kernel == NULL || a.initrd == NULL || a.output == NULL)
		return ac_cli_fail (global,
		                    g_error_new_literal (AC_ERROR, AC_ERROR_INVALID_INPUT,
		                                         "--ovmf, --kernel, --initrd and --output "
		                                         "are required"));
	if (a.port != NULL && !cli_sev_parse_uint (a.port, "--port", 65535, &port, &error))
		return ac_cli_fail (global, g_steal_pointer (&error));
	if (port == 0)
		return ac_cli_fail (global, g_error_new_literal (AC_ERROR, AC_ERROR_INVALID_INPUT,
		                                                 "--port 0: expected 1 to 65535"));
	if ((files[0] = cli_sev_read_file (a.ovmf, "--ovmf", RUNTIME_FILE_MAX, &error)) == NULL
	    || (files[1] = cli_sev_read_file (a.kernel, "--kernel", RUNTIME_FILE_MAX, &error))
	           == NULL
	    || (files[2] = cli_sev_read_file (a.initrd, "--initrd", RUNTIME_FILE_MAX, &error))
	           == NULL)
		goto fail;
	bundle = ac_tar_gz_write (members, files, 3, &error);
	if (bundle == NULL)
		goto fail;
	sha = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, bundle);
	json = make_runtime_manifest (&a, (guint16)port, members, files, bundle, sha, &error);
	if (json == NULL)
		goto fail;
	if (g_mkdir_with_parents (a.output, 0755) != 0) {
		error = g_error_new (AC_ERROR, AC_ERROR_IO, "cannot create %s: %s", a.output,
		                     g_strerror (errno));
		goto fail;
	}
	bundle_path = g_build_filename (a.output, "bundle.tar.gz", NULL);
	manifest_path = g_build_filename (a.output, "manifest.json", NULL);
	if (!ac_file_replace_contents (bundle_path, g_bytes_get_data (bundle, NULL),
	                               g_bytes_get_size (bundle), a.force, 0644, &error)
	    || !ac_file_replace_contents (manifest_path, json, strlen (json), a.force, 0644,
	                                  &error))
		goto fail;
	make_runtime_print (global, bundle_path, manifest_path, sha, g_bytes_get_size (bundle));
	goto out;
fail:
	rc = ac_cli_fail (global, g_steal_pointer (&error));
out:
	for (guint i = 0; i < G_N_ELEMENTS (files); i++)
		if (files[i] != NULL)
			g_bytes_unref (files[i]);
	return rc;
}
