/*
 * Fuzz target: the runtime bundle's tar reader (ac_snp_bundle_read_members). The input is the
 * tar archive itself, gzip-compressed here, so that mutations reach the headers; the manifest
 * is the synthetic runtime's (tests/data/snp/aleph-runtime). Properties: no crash, and members
 * are returned only all three, each within its bound.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <gio/gio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ac-snp-bundle.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static const gchar manifest[]
    = "{\"attestation\":[{\"protocol\":\"aleph.ra-tls\",\"transport\":{\"port\":8443,\"type\":"
      "\"tcp\"},\"version\":\"1\"}],\"boot\":{\"cmdline_template\":\"console=ttyS0 luks=1 "
      "owner={owner}\",\"cpu_models\":[\"EPYC-v4\"],\"kernel_hashes\":true,\"method\":\"qemu-"
      "direct-kernel\"},\"bundle\":{\"members\":{\"initrd\":\"boot/initrd.img\",\"kernel\":"
      "\"boot/vmlinuz\",\"ovmf\":\"ovmf/OVMF.fd\"},\"ref\":\"f9a8f18eb603dfde16954014dbcfa12d51"
      "040edff02c017fdaf6021a63d92205\",\"sha256\":\"f9a8f18eb603dfde16954014dbcfa12d51040edff02"
      "c017fdaf6021a63d92205\",\"size\":1828},\"format\":\"aleph-instance-runtime\","
      "\"format_version\":1,\"platform\":\"sev_snp\"}";

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
	static AcSnpRuntime *rt;
	g_autoptr (GZlibCompressor) z = NULL;
	g_autoptr (GOutputStream) mem = NULL;
	g_autoptr (GOutputStream) out = NULL;
	g_autoptr (GBytes) bundle = NULL;
	AcSnpRuntimeFiles files = { 0 };

	if (rt == NULL) {
		rt = ac_snp_runtime_parse (manifest, strlen (manifest), NULL);
		if (rt == NULL)
			abort ();
	}
	z = g_zlib_compressor_new (G_ZLIB_COMPRESSOR_FORMAT_GZIP, 1);
	mem = g_memory_output_stream_new_resizable ();
	out = g_converter_output_stream_new (mem, G_CONVERTER (z));
	if (!g_output_stream_write_all (out, data, size, NULL, NULL, NULL)
	    || !g_output_stream_close (out, NULL, NULL))
		abort ();
	bundle = g_memory_output_stream_steal_as_bytes (G_MEMORY_OUTPUT_STREAM (mem));
	if (!ac_snp_bundle_read_members (rt, bundle, &files, NULL)) {
		if (files.ovmf != NULL || files.kernel != NULL || files.initrd != NULL)
			abort ();
		return 0;
	}
	if (files.ovmf == NULL || files.kernel == NULL || files.initrd == NULL
	    || g_bytes_get_size (files.kernel) > AC_SNP_BUNDLE_MAX_MEMBER)
		abort ();
	g_bytes_unref (files.ovmf);
	g_bytes_unref (files.kernel);
	g_bytes_unref (files.initrd);
	return 0;
}
