/*
 * The members of an SEV-SNP runtime bundle read out of its tar.gz (ac_snp_bundle_read_members):
 * the synthetic runtime's bundle gives the files sev-snp-measure measured; archives made here,
 * one fault each, are refused with the fault named.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <gio/gio.h>
#include <string.h>

#include "ac-error.h"
#include "ac-snp-bundle.h"
#include "test-snp-common.h"

static AcSnpRuntime *
manifest (void)
{
	g_autoptr (GBytes) b = snp_test_load ("aleph-runtime", "manifest.json");
	g_autoptr (GError) error = NULL;
	AcSnpRuntime *rt
	    = ac_snp_runtime_parse (g_bytes_get_data (b, NULL), g_bytes_get_size (b), &error);
	g_assert_no_error (error);
	return rt;
}

static void
test_synthetic (void)
{
	g_autoptr (AcSnpRuntime) rt = manifest ();
	g_autoptr (GBytes) bundle = snp_test_load ("aleph-runtime", "bundle.tar.gz");
	g_autoptr (GBytes) ovmf
	    = snp_test_load ("sev-snp-measure", "fixtures/ovmf_AmdSev_suffix.bin");
	g_autoptr (GBytes) kernel = snp_test_load ("sev-snp-measure", "inputs/kernel.bin");
	g_autoptr (GBytes) initrd = snp_test_load ("sev-snp-measure", "inputs/initrd.bin");
	g_autoptr (GError) error = NULL;
	AcSnpRuntimeFiles files = { 0 };

	g_assert_true (ac_snp_runtime_check_bundle (rt, bundle, &error));
	g_assert_true (ac_snp_bundle_read_members (rt, bundle, &files, &error));
	g_assert_no_error (error);
	g_assert_true (g_bytes_equal (files.ovmf, ovmf));
	g_assert_true (g_bytes_equal (files.kernel, kernel));
	g_assert_true (g_bytes_equal (files.initrd, initrd));
	g_bytes_unref (files.ovmf);
	g_bytes_unref (files.kernel);
	g_bytes_unref (files.initrd);
}

/* ---- archives made here ---- */

/* a ustar header for @name (type @type, @size bytes); @magic NULL = POSIX ustar */
static void
header (GByteArray *tar, const gchar *name, gchar type, gsize size, gboolean bad_sum)
{
	guint8 h[512] = { 0 };
	guint sum = 0;
	gchar field[16];

	g_assert_cmpuint (strlen (name), <, 100);
	memcpy (h, name, strlen (name));
	memcpy (h + 100, "0000644", 7);
	memcpy (h + 108, "0000000", 7);
	memcpy (h + 116, "0000000", 7);
	g_snprintf (field, sizeof field, "%011" G_GSIZE_MODIFIER "o", size);
	memcpy (h + 124, field, 11);
	memcpy (h + 136, "00000000000", 11);
	h[156] = (guint8)type;
	memcpy (h + 257,
	        "ustar\0"
	        "00",
	        8);
	memset (h + 148, ' ', 8);
	for (guint i = 0; i < 512; i++)
		sum += h[i];
	g_snprintf (field, sizeof field, "%06o", sum + (bad_sum ? 1 : 0));
	memcpy (h + 148, field, 7);
	g_byte_array_append (tar, h, sizeof h);
}

static void
member (GByteArray *tar, const gchar *name, const gchar *data)
{
	gsize len = strlen (data);
	guint8 pad[512] = { 0 };
	header (tar, name, '0', len, FALSE);
	g_byte_array_append (tar, (const guint8 *)data, len);
	g_byte_array_append (tar, pad, (512 - len % 512) % 512);
}

static GBytes *
gzip (GByteArray *tar, gboolean end)
{
	guint8 zero[1024] = { 0 };
	g_autoptr (GZlibCompressor) z = g_zlib_compressor_new (G_ZLIB_COMPRESSOR_FORMAT_GZIP, 6);
	g_autoptr (GOutputStream) mem = g_memory_output_stream_new_resizable ();
	g_autoptr (GOutputStream) out = g_converter_output_stream_new (mem, G_CONVERTER (z));
	g_autoptr (GError) error = NULL;

	if (end)
		g_byte_array_append (tar, zero, sizeof zero);
	g_assert_true (g_output_stream_write_all (out, tar->data, tar->len, NULL, NULL, &error));
	g_assert_true (g_output_stream_close (out, NULL, &error));
	g_assert_no_error (error);
	return g_memory_output_stream_steal_as_bytes (G_MEMORY_OUTPUT_STREAM (mem));
}

static void
assert_refused (GBytes *bundle, const gchar *names)
{
	g_autoptr (AcSnpRuntime) rt = manifest ();
	g_autoptr (GError) error = NULL;
	AcSnpRuntimeFiles files = { 0 };

	g_assert_false (ac_snp_bundle_read_members (rt, bundle, &files, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
	g_test_message ("refused: %s", error->message);
	if (strstr (error->message, names) == NULL)
		g_error ("'%s' does not name '%s'", error->message, names);
	g_assert_null (files.ovmf);
	g_assert_null (files.kernel);
	g_assert_null (files.initrd);
}

static void
test_made (void)
{
	g_autoptr (AcSnpRuntime) rt = manifest ();
	g_autoptr (GError) error = NULL;

	/* the three members, in another order, with a directory and "./" names: read */
	{
		g_autoptr (GByteArray) tar = g_byte_array_new ();
		g_autoptr (GBytes) bundle = NULL;
		AcSnpRuntimeFiles files = { 0 };
		header (tar, "./boot/", '5', 0, FALSE);
		member (tar, "./boot/initrd.img", "initrd");
		member (tar, "README", "skipped");
		member (tar, "boot/vmlinuz", "kernel");
		member (tar, "ovmf/OVMF.fd", "ovmf");
		bundle = gzip (tar, TRUE);
		g_assert_true (ac_snp_bundle_read_members (rt, bundle, &files, &error));
		g_assert_no_error (error);
		g_assert_cmpmem (g_bytes_get_data (files.kernel, NULL),
		                 g_bytes_get_size (files.kernel), "kernel", 6);
		g_assert_cmpmem (g_bytes_get_data (files.initrd, NULL),
		                 g_bytes_get_size (files.initrd), "initrd", 6);
		g_bytes_unref (files.ovmf);
		g_bytes_unref (files.kernel);
		g_bytes_unref (files.initrd);
	}
	/* faults */
	{
		g_autoptr (GByteArray) tar = g_byte_array_new ();
		g_autoptr (GBytes) bundle = NULL;
		member (tar, "boot/vmlinuz", "kernel");
		member (tar, "ovmf/OVMF.fd", "ovmf");
		bundle = gzip (tar, TRUE);
		assert_refused (bundle, "the initrd 'boot/initrd.img' is not in the archive");
	}
	{
		g_autoptr (GByteArray) tar = g_byte_array_new ();
		g_autoptr (GBytes) bundle = NULL;
		member (tar, "boot/vmlinuz", "kernel");
		member (tar, "boot/initrd.img", "initrd");
		member (tar, "ovmf/OVMF.fd", "ovmf");
		member (tar, "boot/vmlinuz", "another kernel");
		bundle = gzip (tar, TRUE);
		assert_refused (bundle,
		                "the kernel 'boot/vmlinuz' is in the archive more than once");
	}
	{
		g_autoptr (GByteArray) tar = g_byte_array_new ();
		g_autoptr (GBytes) bundle = NULL;
		header (tar, "boot/vmlinuz", '2', 0, FALSE);
		bundle = gzip (tar, TRUE);
		assert_refused (bundle, "is not a regular file");
	}
	{
		g_autoptr (GByteArray) tar = g_byte_array_new ();
		g_autoptr (GBytes) bundle = NULL;
		member (tar, "PaxHeaders/x", "30 path=boot/vmlinuz\n");
		tar->data[156] = 'x';
		/* the checksum is for type '0': recompute it */
		{
			guint sum = 0;
			gchar field[8];
			memset (tar->data + 148, ' ', 8);
			for (guint i = 0; i < 512; i++)
				sum += tar->data[i];
			g_snprintf (field, sizeof field, "%06o", sum);
			memcpy (tar->data + 148, field, 7);
		}
		bundle = gzip (tar, TRUE);
		assert_refused (bundle, "extension header (type 'x')");
	}
	{
		g_autoptr (GByteArray) tar = g_byte_array_new ();
		g_autoptr (GBytes) bundle = NULL;
		header (tar, "boot/vmlinuz", '0', 6, TRUE);
		bundle = gzip (tar, TRUE);
		assert_refused (bundle, "checksum");
	}
	{
		g_autoptr (GByteArray) tar = g_byte_array_new ();
		g_autoptr (GBytes) bundle = NULL;
		header (tar, "boot/vmlinuz", '0', 100000, FALSE);
		bundle = gzip (tar, FALSE);
		assert_refused (bundle, "ends inside");
	}
	{
		g_autoptr (GBytes) bundle = g_bytes_new_static ("not gzip at all", 15);
		assert_refused (bundle, "not a gzip stream");
	}
}

int
main (int argc, char **argv)
{
	g_test_init (&argc, &argv, NULL);
	g_test_add_func ("/snp/bundle/synthetic", test_synthetic);
	g_test_add_func ("/snp/bundle/made", test_made);
	return g_test_run ();
}
