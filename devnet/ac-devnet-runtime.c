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
#include "ac-error.h"

#define TAR_BLOCK 512

static void
tar_octal (guint8 *field, gsize width, guint64 value)
{
	/* width - 1 octal digits and a NUL */
	g_autofree gchar *text
	    = g_strdup_printf ("%0*" G_GINT64_MODIFIER "o", (int)(width - 1), value);
	memcpy (field, text, width - 1);
	field[width - 1] = '\0';
}

GBytes *
ac_devnet_runtime_tar (const gchar *const *names, GBytes *const *files, guint n, GError **error)
{
	g_autoptr (GByteArray) out = g_byte_array_new ();
	static const guint8 zeros[TAR_BLOCK] = { 0 };

	for (guint i = 0; i < n; i++) {
		guint8 h[TAR_BLOCK] = { 0 };
		gsize len = 0;
		const guint8 *p = g_bytes_get_data (files[i], &len);
		gsize nlen = strlen (names[i]);
		guint sum = 0;

		if (nlen == 0 || nlen > 100 || (guint64)len >= (G_GUINT64_CONSTANT (1) << 33)) {
			g_set_error (
			    error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			    "tar member '%s' of %" G_GSIZE_FORMAT
			    " bytes: expected a name of 1 to 100 bytes and less than 8 GiB",
			    names[i], len);
			return NULL;
		}
		memcpy (h, names[i], nlen);
		tar_octal (h + 100, 8, 0644);
		tar_octal (h + 108, 8, 0);
		tar_octal (h + 116, 8, 0);
		tar_octal (h + 124, 12, len);
		tar_octal (h + 136, 12, 0);
		memset (h + 148, ' ', 8);
		h[156] = '0';
		memcpy (h + 257, "ustar", 6);
		memcpy (h + 263, "00", 2);
		tar_octal (h + 329, 8, 0);
		tar_octal (h + 337, 8, 0);
		for (guint j = 0; j < TAR_BLOCK; j++)
			sum += h[j];
		tar_octal (h + 148, 7, sum);
		h[155] = ' ';
		g_byte_array_append (out, h, TAR_BLOCK);
		g_byte_array_append (out, p, (guint)len);
		if (len % TAR_BLOCK != 0)
			g_byte_array_append (out, zeros, TAR_BLOCK - (guint)(len % TAR_BLOCK));
	}
	g_byte_array_append (out, zeros, TAR_BLOCK);
	g_byte_array_append (out, zeros, TAR_BLOCK);
	return g_byte_array_free_to_bytes (g_steal_pointer (&out));
}

GBytes *
ac_devnet_runtime_gzip (GBytes *data, GError **error)
{
	/* no file info: the gzip header has no name and mtime 0 */
	g_autoptr (GZlibCompressor) z = g_zlib_compressor_new (G_ZLIB_COMPRESSOR_FORMAT_GZIP, 9);
	g_autoptr (GInputStream) in = g_memory_input_stream_new_from_bytes (data);
	g_autoptr (GInputStream) zin = g_converter_input_stream_new (in, G_CONVERTER (z));
	g_autoptr (GOutputStream) out = g_memory_output_stream_new_resizable ();

	if (g_output_stream_splice (
	        out, zin, G_OUTPUT_STREAM_SPLICE_CLOSE_SOURCE | G_OUTPUT_STREAM_SPLICE_CLOSE_TARGET,
	        NULL, error)
	    < 0)
		return NULL;
	return g_memory_output_stream_steal_as_bytes (G_MEMORY_OUTPUT_STREAM (out));
}

gchar *
ac_devnet_runtime_manifest (const gchar *bundle_ref, const gchar *sha256, guint64 size)
{
	g_autoptr (JsonBuilder) b = json_builder_new ();
	g_autoptr (JsonNode) root = NULL;
	g_autoptr (JsonGenerator) gen = json_generator_new ();

	/* every object's members in byte order: the canonical form */
	json_builder_begin_object (b);
	json_builder_set_member_name (b, "attestation");
	json_builder_begin_array (b);
	json_builder_begin_object (b);
	json_builder_set_member_name (b, "protocol");
	json_builder_add_string_value (b, "aleph.ra-tls");
	json_builder_set_member_name (b, "transport");
	json_builder_begin_object (b);
	json_builder_set_member_name (b, "port");
	json_builder_add_int_value (b, AC_DEVNET_RUNTIME_PORT);
	json_builder_set_member_name (b, "type");
	json_builder_add_string_value (b, "tcp");
	json_builder_end_object (b);
	json_builder_set_member_name (b, "version");
	json_builder_add_string_value (b, "1");
	json_builder_end_object (b);
	json_builder_end_array (b);
	json_builder_set_member_name (b, "boot");
	json_builder_begin_object (b);
	json_builder_set_member_name (b, "cmdline_template");
	json_builder_add_string_value (b, AC_DEVNET_RUNTIME_CMDLINE);
	json_builder_set_member_name (b, "cpu_models");
	json_builder_begin_array (b);
	json_builder_add_string_value (b, "EPYC-v4");
	json_builder_add_string_value (b, "EPYC-Milan");
	json_builder_add_string_value (b, "EPYC-Genoa");
	json_builder_end_array (b);
	json_builder_set_member_name (b, "kernel_hashes");
	json_builder_add_boolean_value (b, TRUE);
	json_builder_set_member_name (b, "method");
	json_builder_add_string_value (b, "qemu-direct-kernel");
	json_builder_end_object (b);
	json_builder_set_member_name (b, "bundle");
	json_builder_begin_object (b);
	json_builder_set_member_name (b, "members");
	json_builder_begin_object (b);
	json_builder_set_member_name (b, "initrd");
	json_builder_add_string_value (b, AC_DEVNET_RUNTIME_MEMBER_INITRD);
	json_builder_set_member_name (b, "kernel");
	json_builder_add_string_value (b, AC_DEVNET_RUNTIME_MEMBER_KERNEL);
	json_builder_set_member_name (b, "ovmf");
	json_builder_add_string_value (b, AC_DEVNET_RUNTIME_MEMBER_OVMF);
	json_builder_end_object (b);
	json_builder_set_member_name (b, "ref");
	json_builder_add_string_value (b, bundle_ref);
	json_builder_set_member_name (b, "sha256");
	json_builder_add_string_value (b, sha256);
	json_builder_set_member_name (b, "size");
	json_builder_add_int_value (b, (gint64)size);
	json_builder_end_object (b);
	json_builder_set_member_name (b, "format");
	json_builder_add_string_value (b, "aleph-instance-runtime");
	json_builder_set_member_name (b, "format_version");
	json_builder_add_int_value (b, 1);
	json_builder_set_member_name (b, "name");
	json_builder_add_string_value (b, "aleph-devnet-instance-runtime");
	json_builder_set_member_name (b, "platform");
	json_builder_add_string_value (b, "sev_snp");
	json_builder_set_member_name (b, "source");
	json_builder_begin_object (b);
	json_builder_set_member_name (b, "build");
	json_builder_add_string_value (b, "aleph-devnet: synthetic stand-ins, the devnet boots "
	                                  "nothing");
	json_builder_set_member_name (b, "repo");
	json_builder_add_string_value (b, "aleph-confidential devnet/data/snp-runtime");
	json_builder_set_member_name (b, "rev");
	json_builder_add_string_value (b, PACKAGE_VERSION);
	json_builder_end_object (b);
	json_builder_set_member_name (b, "version");
	json_builder_add_string_value (b, "1");
	json_builder_end_object (b);
	root = json_builder_get_root (b);
	json_generator_set_root (gen, root);
	json_generator_set_pretty (gen, FALSE);
	return json_generator_to_data (gen, NULL);
}

static GBytes *
read_file (const gchar *dir, const gchar *name, GError **error)
{
	g_autofree gchar *path = g_build_filename (dir, name, NULL);
	gchar *data = NULL;
	gsize len = 0;
	if (!g_file_get_contents (path, &data, &len, error)) {
		g_prefix_error (error, "devnet SEV-SNP runtime (\"snp_runtime\"): ");
		return NULL;
	}
	if (len == 0 || len > AC_DEVNET_RUNTIME_MAX_FILE) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "devnet SEV-SNP runtime: %s has %" G_GSIZE_FORMAT
		             " bytes, expected 1 to %d",
		             path, len, AC_DEVNET_RUNTIME_MAX_FILE);
		g_free (data);
		return NULL;
	}
	return g_bytes_new_take (data, len);
}

gboolean
ac_devnet_runtime_publish (AcDevnet *self, GError **error)
{
	const gchar *names[] = { AC_DEVNET_RUNTIME_MEMBER_OVMF, AC_DEVNET_RUNTIME_MEMBER_KERNEL,
		                 AC_DEVNET_RUNTIME_MEMBER_INITRD };
	const gchar *files[]
	    = { AC_DEVNET_RUNTIME_OVMF, AC_DEVNET_RUNTIME_KERNEL, AC_DEVNET_RUNTIME_INITRD };
	GBytes *contents[G_N_ELEMENTS (files)] = { NULL };
	g_autoptr (GBytes) tar = NULL;
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
	tar = ac_devnet_runtime_tar (names, contents, G_N_ELEMENTS (names), error);
	if (tar == NULL || (bundle = ac_devnet_runtime_gzip (tar, error)) == NULL)
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
