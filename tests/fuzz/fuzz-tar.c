/*
 * Fuzz the tar.gz reader (lib/ac-tar.h) that takes a runtime bundle's members out: the input
 * is the decompressed tar stream, compressed here, so the fuzzer works on the tar headers
 * rather than on gzip's checksums.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <gio/gio.h>
#include <stdint.h>

#include "ac-tar.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
	static const gchar *const names[]
	    = { "ovmf/OVMF.fd", "boot/vmlinuz", "boot/initrd.img", NULL };
	g_autoptr (GZlibCompressor) z = g_zlib_compressor_new (G_ZLIB_COMPRESSOR_FORMAT_GZIP, 1);
	g_autoptr (GOutputStream) mem = g_memory_output_stream_new_resizable ();
	g_autoptr (GOutputStream) out = g_converter_output_stream_new (mem, G_CONVERTER (z));
	g_autoptr (GBytes) gz = NULL;
	GBytes *members[3] = { NULL };
	gsize written;

	if (!g_output_stream_write_all (out, data, size, &written, NULL, NULL)
	    || !g_output_stream_close (out, NULL, NULL))
		return 0;
	gz = g_memory_output_stream_steal_as_bytes (G_MEMORY_OUTPUT_STREAM (mem));
	if (ac_tar_gz_extract ("fuzz", gz, names, 1 << 20, 1 << 24, members, NULL)) {
		for (guint i = 0; i < 3; i++) {
			g_assert_nonnull (members[i]);
			g_assert_cmpuint (g_bytes_get_size (members[i]), <=, 1 << 20);
			g_bytes_unref (members[i]);
		}
	} else {
		for (guint i = 0; i < 3; i++)
			g_assert_null (members[i]);
	}
	return 0;
}
