/*
 * aleph-confidential devnet: the default SEV-SNP instance runtime (see ac-devnet-runtime.h).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <gio/gio.h>
#include <string.h>

#include "ac-devnet-runtime.h"
#include "ac-devnet-upload.h"
#include "ac-codec.h"
#include "ac-error.h"
#include "ac-file.h"
#include "ac-snp-runtime.h"
#include "ac-tar.h"

gchar *
ac_devnet_runtime_manifest (const gchar *bundle_ref, const gchar *sha256, guint64 size)
{
	gchar *cpu_models[]
	    = { (gchar *)"EPYC-v4", (gchar *)"EPYC-Milan", (gchar *)"EPYC-Genoa", NULL };
	AcSnpRuntime rt = {
		.name = (gchar *)"aleph-devnet-instance-runtime",
		.version = (gchar *)"1",
		.bundle_ref = (gchar *)bundle_ref,
		.bundle_size = size,
		.member_ovmf = (gchar *)AC_DEVNET_RUNTIME_MEMBER_OVMF,
		.member_kernel = (gchar *)AC_DEVNET_RUNTIME_MEMBER_KERNEL,
		.member_initrd = (gchar *)AC_DEVNET_RUNTIME_MEMBER_INITRD,
		.cpu_models = cpu_models,
		.cmdline_template = (gchar *)AC_DEVNET_RUNTIME_CMDLINE,
		.attestation_port = AC_DEVNET_RUNTIME_PORT,
		.source_repo = (gchar *)"aleph-confidential devnet/data/snp-runtime",
		.source_rev = (gchar *)PACKAGE_VERSION,
		.source_build
		= (gchar *)"aleph-devnet: synthetic stand-ins, the devnet boots nothing",
	};
	if (!ac_codec_hex_decode_fixed ("bundle sha256", sha256, AC_CODEC_HEX_LOWER,
	                                rt.bundle_sha256, sizeof rt.bundle_sha256, NULL))
		return NULL;
	return ac_snp_runtime_to_json (&rt);
}

static GBytes *
read_file (const gchar *dir, const gchar *name, GError **error)
{
	g_autofree gchar *path = g_build_filename (dir, name, NULL);
	g_autoptr (GBytes) data = ac_file_read_bytes (path, AC_DEVNET_RUNTIME_MAX_FILE, error);
	if (data == NULL) {
		g_prefix_error (error, "devnet SEV-SNP runtime (\"snp_runtime\"): ");
		return NULL;
	}
	if (g_bytes_get_size (data) == 0) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "devnet SEV-SNP runtime: %s is empty, expected 1 to %d bytes", path,
		             AC_DEVNET_RUNTIME_MAX_FILE);
		return NULL;
	}
	return g_steal_pointer (&data);
}

gboolean
ac_devnet_runtime_publish (AcDevnet *self, GError **error)
{
	const gchar *names[] = { AC_DEVNET_RUNTIME_MEMBER_OVMF, AC_DEVNET_RUNTIME_MEMBER_KERNEL,
		                 AC_DEVNET_RUNTIME_MEMBER_INITRD };
	const gchar *files[]
	    = { AC_DEVNET_RUNTIME_OVMF, AC_DEVNET_RUNTIME_KERNEL, AC_DEVNET_RUNTIME_INITRD };
	GBytes *contents[G_N_ELEMENTS (files)] = { NULL };
	g_autoptr (GBytes) bundle = NULL;
	g_autoptr (GBytes) manifest_bytes = NULL;
	g_autofree gchar *bundle_sha = NULL;
	g_autofree gchar *bundle_hash = NULL;
	g_autofree gchar *manifest = NULL;
	g_autofree gchar *manifest_sha = NULL;
	gboolean ok = FALSE;

	for (guint i = 0; i < G_N_ELEMENTS (files); i++) {
		contents[i] = read_file (self->snp_runtime_dir, files[i], error);
		if (contents[i] == NULL)
			goto out;
	}
	bundle = ac_tar_gz_write (names, contents, G_N_ELEMENTS (names), error);
	if (bundle == NULL)
		goto out;
	if (!ac_devnet_upload_publish_store (self, bundle, "devnet SEV-SNP runtime bundle",
	                                     "snp-runtime-bundle-store.txt", &bundle_sha, NULL,
	                                     &bundle_hash, error))
		goto out;
	manifest = ac_devnet_runtime_manifest (bundle_hash, bundle_sha, g_bytes_get_size (bundle));
	manifest_bytes = g_bytes_new (manifest, strlen (manifest));
	ok = ac_devnet_upload_publish_store (
	    self, manifest_bytes, "devnet SEV-SNP runtime manifest", "snp-runtime-store.txt",
	    &manifest_sha, NULL, &self->snp_runtime_item_hash, error);
out:
	for (guint i = 0; i < G_N_ELEMENTS (contents); i++)
		if (contents[i] != NULL)
			g_bytes_unref (contents[i]);
	return ok;
}
