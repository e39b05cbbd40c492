/*
 * The tar.gz reader (lib/ac-tar.h): archives written by GNU tar and Python's tarfile (the
 * independent writers a runtime bundle comes from: ustar, pax, GNU long names) are read, and
 * hostile archives built here byte by byte are refused with a reason.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <string.h>

#include "ac-error.h"
#include "ac-tar.h"

static const gchar *const names[] = { "ovmf/OVMF.fd", "boot/vmlinuz", NULL };

/* ---- writing archives here ---- */

static void
put_octal (guint8 *field, gsize len, guint64 v)
{
	g_autofree gchar *s = g_strdup_printf ("%0*" G_GINT64_MODIFIER "o", (int)len - 1, v);
	memcpy (field, s, MIN (strlen (s), len - 1));
}

static void
header (GByteArray *tar, const gchar *name, gchar type, guint64 size, gboolean bad_sum)
{
	guint8 h[512] = { 0 };
	guint sum = 0;

	memcpy (h, name, MIN (strlen (name), 100));
	put_octal (h + 100, 8, 0644);
	put_octal (h + 108, 8, 0);
	put_octal (h + 116, 8, 0);
	put_octal (h + 124, 12, size);
	put_octal (h + 136, 12, 0);
	h[156] = (guint8)type;
	memcpy (h + 257,
	        "ustar\0"
	        "00",
	        8);
	memset (h + 148, ' ', 8);
	for (guint i = 0; i < 512; i++)
		sum += h[i];
	put_octal (h + 148, 7, sum + (bad_sum ? 1 : 0));
	g_byte_array_append (tar, h, 512);
}

static void
data (GByteArray *tar, const gchar *bytes, gsize len)
{
	static const guint8 zero[512] = { 0 };
	g_byte_array_append (tar, (const guint8 *)bytes, len);
	if (len % 512)
		g_byte_array_append (tar, zero, 512 - len % 512);
}

static void
entry (GByteArray *tar, const gchar *name, gchar type, const gchar *content)
{
	header (tar, name, type, strlen (content), FALSE);
	data (tar, content, strlen (content));
}

static void
end (GByteArray *tar)
{
	static const guint8 zero[1024] = { 0 };
	g_byte_array_append (tar, zero, sizeof (zero));
}

static GBytes *
gzip (GByteArray *tar)
{
	g_autoptr (GZlibCompressor) z = g_zlib_compressor_new (G_ZLIB_COMPRESSOR_FORMAT_GZIP, 6);
	g_autoptr (GOutputStream) mem = g_memory_output_stream_new_resizable ();
	g_autoptr (GOutputStream) out = g_converter_output_stream_new (mem, G_CONVERTER (z));
	g_autoptr (GError) error = NULL;
	gsize written;

	g_assert_true (
	    g_output_stream_write_all (out, tar->data, tar->len, &written, NULL, &error));
	g_assert_true (g_output_stream_close (out, NULL, &error));
	g_assert_no_error (error);
	return g_memory_output_stream_steal_as_bytes (G_MEMORY_OUTPUT_STREAM (mem));
}

static gboolean
extract (GBytes *gz, guint64 max_member, guint64 max_total, GBytes **out, GError **error)
{
	return ac_tar_gz_extract ("bundle x", gz, names, max_member, max_total, out, error);
}

static void
assert_member (GBytes *b, const gchar *want)
{
	g_assert_nonnull (b);
	g_assert_cmpmem (g_bytes_get_data (b, NULL), g_bytes_get_size (b), want, strlen (want));
}

static void
assert_refused (GByteArray *tar, const gchar *reason)
{
	g_autoptr (GBytes) gz = gzip (tar);
	g_autoptr (GError) error = NULL;
	GBytes *out[2] = { (GBytes *)0x1, (GBytes *)0x1 };

	g_assert_false (extract (gz, 1 << 20, 1 << 24, out, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
	g_assert_true (g_str_has_prefix (error->message, "bundle x: "));
	if (strstr (error->message, reason) == NULL)
		g_error ("'%s' does not say '%s'", error->message, reason);
	g_assert_null (out[0]);
	g_assert_null (out[1]);
}

/* ---- archives of independent writers ---- */

static void
run (const gchar *cmd, const gchar *dir)
{
	g_autoptr (GError) error = NULL;
	g_autofree gchar *err = NULL;
	gint status = 0;
	g_autofree gchar *full = g_strdup_printf ("sh -c 'cd %s && %s'", dir, cmd);
	g_assert_true (g_spawn_command_line_sync (full, NULL, &err, &status, &error));
	g_assert_no_error (error);
	if (!g_spawn_check_wait_status (status, NULL))
		g_error ("%s: %s", cmd, err);
}

static void
writer_tree (const gchar *dir)
{
	g_autofree gchar *ovmf = g_build_filename (dir, "ovmf", NULL);
	g_autofree gchar *boot = g_build_filename (dir, "boot", NULL);
	g_autofree gchar *long_dir = g_build_filename (dir, "boot",
	                                               "a-directory-name-long-enough-"
	                                               "to-need-more-than-the-"
	                                               "hundred-bytes-of-a-ustar-"
	                                               "name-field-xxxxxxxxxxxxxxxx",
	                                               NULL);
	g_autofree gchar *f1 = g_build_filename (ovmf, "OVMF.fd", NULL);
	g_autofree gchar *f2 = g_build_filename (boot, "vmlinuz", NULL);
	g_autofree gchar *f3 = g_build_filename (long_dir, "other", NULL);
	g_autofree gchar *link = g_build_filename (dir, "link", NULL);

	g_assert_cmpint (g_mkdir_with_parents (ovmf, 0700), ==, 0);
	g_assert_cmpint (g_mkdir_with_parents (long_dir, 0700), ==, 0);
	g_assert_true (g_file_set_contents (f1, "firmware bytes", -1, NULL));
	g_assert_true (g_file_set_contents (f2, "kernel bytes", -1, NULL));
	g_assert_true (g_file_set_contents (f3, "not asked for", -1, NULL));
	g_assert_cmpint (symlink ("boot/vmlinuz", link), ==, 0);
}

static void
check_writer (const gchar *cmd)
{
	g_autofree gchar *dir = g_dir_make_tmp ("test-tar-XXXXXX", NULL);
	g_autofree gchar *tgz = g_build_filename (dir, "out.tar.gz", NULL);
	g_autoptr (GError) error = NULL;
	g_autoptr (GBytes) gz = NULL;
	GBytes *out[2] = { NULL };

	writer_tree (dir);
	run (cmd, dir);
	{
		gchar *contents;
		gsize len;
		g_assert_true (g_file_get_contents (tgz, &contents, &len, &error));
		gz = g_bytes_new_take (contents, len);
	}
	g_assert_true (extract (gz, 1 << 20, 1 << 24, out, &error));
	g_assert_no_error (error);
	assert_member (out[0], "firmware bytes");
	assert_member (out[1], "kernel bytes");
	g_bytes_unref (out[0]);
	g_bytes_unref (out[1]);
	run ("rm -rf ovmf boot link out.tar.gz", dir);
	g_assert_cmpint (g_rmdir (dir), ==, 0);
}

static void
test_gnu_tar (void)
{
	/* GNU tar's own format: a GNU long name ('L') for the deep file, "./" prefixes */
	check_writer ("tar --format=gnu -czf out.tar.gz ./ovmf ./boot ./link");
}

static void
test_pax_tar (void)
{
	/* POSIX pax: an extended header carries the long path */
	check_writer ("tar --format=pax -czf out.tar.gz ovmf boot link");
}

static void
test_python_tarfile (void)
{
	/* Python's default (pax, with a pax header for each float mtime) */
	check_writer ("python3 -c \"import tarfile; t = tarfile.open(\\\"out.tar.gz\\\", "
	              "\\\"w:gz\\\"); [t.add(p) for p in (\\\"link\\\", \\\"boot\\\", "
	              "\\\"ovmf\\\")]; t.close()\"");
}

/* ---- hostile archives ---- */

static void
test_hostile (void)
{
	g_autoptr (GByteArray) t = NULL;

	/* a member missing */
	t = g_byte_array_new ();
	entry (t, "ovmf/OVMF.fd", '0', "fw");
	end (t);
	assert_refused (t, "no member 'boot/vmlinuz'");
	g_clear_pointer (&t, g_byte_array_unref);

	/* a named member that is a symbolic link (to a file the host chose) */
	t = g_byte_array_new ();
	entry (t, "ovmf/OVMF.fd", '0', "fw");
	entry (t, "boot/vmlinuz", '2', "");
	end (t);
	assert_refused (t, "member 'boot/vmlinuz' is not a regular file (tar type '2')");
	g_clear_pointer (&t, g_byte_array_unref);

	/* twice: which one a reader takes is a choice the host could exploit */
	t = g_byte_array_new ();
	entry (t, "ovmf/OVMF.fd", '0', "fw");
	entry (t, "boot/vmlinuz", '0', "k1");
	entry (t, "./boot/vmlinuz", '0', "k2");
	end (t);
	assert_refused (t, "member 'boot/vmlinuz' is in the archive twice");
	g_clear_pointer (&t, g_byte_array_unref);

	/* a header whose checksum is off by one */
	t = g_byte_array_new ();
	header (t, "ovmf/OVMF.fd", '0', 2, TRUE);
	data (t, "fw", 2);
	end (t);
	assert_refused (t, "checksum");
	g_clear_pointer (&t, g_byte_array_unref);

	/* cut in the middle of a member */
	t = g_byte_array_new ();
	header (t, "ovmf/OVMF.fd", '0', 4096, FALSE);
	data (t, "fw", 2);
	assert_refused (t, "ends in the middle of an entry");
	g_clear_pointer (&t, g_byte_array_unref);

	/* a member larger than allowed */
	t = g_byte_array_new ();
	header (t, "ovmf/OVMF.fd", '0', (1 << 20) + 1, FALSE);
	end (t);
	assert_refused (t, "member 'ovmf/OVMF.fd' has 1048577 bytes (at most 1048576)");
	g_clear_pointer (&t, g_byte_array_unref);

	/* a pax header that lies about its record length */
	t = g_byte_array_new ();
	header (t, "PaxHeader", 'x', 20, FALSE);
	data (t, "99 path=boot/vmlinuz", 20);
	end (t);
	assert_refused (t, "malformed pax extended header");
	g_clear_pointer (&t, g_byte_array_unref);

	/* not a tar archive at all (an old v7 header without the magic) */
	t = g_byte_array_new ();
	entry (t, "ovmf/OVMF.fd", '0', "fw");
	memset (t->data + 257, 0, 8);
	end (t);
	assert_refused (t, "not a ustar archive");
	g_clear_pointer (&t, g_byte_array_unref);
}

static void
test_pax_renames (void)
{
	/* the pax path wins over the header's name: "decoy" is the kernel */
	g_autoptr (GByteArray) t = g_byte_array_new ();
	g_autoptr (GBytes) gz = NULL;
	g_autoptr (GError) error = NULL;
	GBytes *out[2] = { NULL };
	const gchar pax[] = "21 path=boot/vmlinuz\n";

	entry (t, "ovmf/OVMF.fd", '0', "fw");
	header (t, "PaxHeader", 'x', strlen (pax), FALSE);
	data (t, pax, strlen (pax));
	entry (t, "decoy", '0', "kernel");
	end (t);
	gz = gzip (t);
	g_assert_true (extract (gz, 1 << 20, 1 << 24, out, &error));
	g_assert_no_error (error);
	assert_member (out[0], "fw");
	assert_member (out[1], "kernel");
	g_bytes_unref (out[0]);
	g_bytes_unref (out[1]);
}

static void
test_bomb (void)
{
	/* 64 MiB of zeroes in an unnamed member compress to almost nothing: the total stops it */
	g_autoptr (GByteArray) t = g_byte_array_new ();
	g_autoptr (GBytes) gz = NULL;
	g_autoptr (GError) error = NULL;
	GBytes *out[2] = { NULL };

	header (t, "padding", '0', 64 << 20, FALSE);
	g_byte_array_set_size (t, t->len + (64 << 20));
	memset (t->data + 512, 0, 64 << 20);
	end (t);
	gz = gzip (t);
	g_assert_cmpuint (g_bytes_get_size (gz), <, 1 << 20);
	g_assert_false (extract (gz, 1 << 20, 16 << 20, out, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
	g_assert_nonnull (strstr (error->message, "more than 16777216 bytes once decompressed"));
}

static void
test_not_gzip (void)
{
	g_autoptr (GBytes) junk = g_bytes_new_static ("PK\3\4 not a gzip stream", 22);
	g_autoptr (GError) error = NULL;
	GBytes *out[2] = { NULL };

	g_assert_false (extract (junk, 1 << 20, 1 << 24, out, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
	g_assert_nonnull (strstr (error->message, "not a readable gzip stream"));
}

/* the writer: deterministic, read back by GNU tar and by the reader */
static void
test_write (void)
{
	g_autoptr (GBytes) a = g_bytes_new_static ("firmware bytes", 14);
	g_autoptr (GBytes) b = g_bytes_new_static ("kernel bytes", 12);
	GBytes *files[] = { a, b };
	g_autoptr (GError) error = NULL;
	g_autoptr (GBytes) gz = ac_tar_gz_write (names, files, 2, &error);
	g_autoptr (GBytes) again = ac_tar_gz_write (names, files, 2, &error);
	g_autofree gchar *dir = g_dir_make_tmp ("test-tar-XXXXXX", NULL);
	g_autofree gchar *path = g_build_filename (dir, "out.tar.gz", NULL);
	g_autofree gchar *kernel = g_build_filename (dir, "boot", "vmlinuz", NULL);
	g_autofree gchar *listing = NULL;
	g_autofree gchar *content = NULL;
	GBytes *out[2] = { NULL };

	g_assert_no_error (error);
	g_assert_true (g_bytes_equal (gz, again));
	/* gzip without a name or a time */
	g_assert_cmpmem (g_bytes_get_data (gz, NULL), 8, "\x1f\x8b\x08\0\0\0\0\0", 8);
	g_assert_true (extract (gz, 1 << 20, 1 << 24, out, &error));
	g_assert_no_error (error);
	assert_member (out[0], "firmware bytes");
	assert_member (out[1], "kernel bytes");
	g_bytes_unref (out[0]);
	g_bytes_unref (out[1]);
	/* GNU tar lists and extracts it: root-owned, 0644, 1970 */
	g_assert_true (g_file_set_contents (path, g_bytes_get_data (gz, NULL),
	                                    (gssize)g_bytes_get_size (gz), NULL));
	g_autofree gchar *list_cmd = g_strdup_printf ("tar -tvzf %s --numeric-owner", path);
	g_assert_true (g_spawn_command_line_sync (list_cmd, &listing, NULL, NULL, &error));
	g_assert_nonnull (
	    strstr (listing, "-rw-r--r-- 0/0              14 1970-01-01 00:00 ovmf/OVMF.fd"));
	run ("tar -xzf out.tar.gz", dir);
	g_assert_true (g_file_get_contents (kernel, &content, NULL, &error));
	g_assert_cmpstr (content, ==, "kernel bytes");
	run ("rm -rf ovmf boot out.tar.gz", dir);
	g_assert_cmpint (g_rmdir (dir), ==, 0);

	/* a name the header cannot hold */
	{
		g_autofree gchar *long_name = g_strnfill (101, 'a');
		const gchar *bad[] = { long_name, NULL };
		g_autoptr (GBytes) t = ac_tar_gz_write (bad, files, 1, &error);
		g_assert_null (t);
		g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
	}
}

int
main (int argc, char **argv)
{
	g_test_init (&argc, &argv, NULL);
	g_test_add_func ("/lib/tar/gnu-tar", test_gnu_tar);
	g_test_add_func ("/lib/tar/pax-tar", test_pax_tar);
	g_test_add_func ("/lib/tar/python-tarfile", test_python_tarfile);
	g_test_add_func ("/lib/tar/pax-renames", test_pax_renames);
	g_test_add_func ("/lib/tar/hostile", test_hostile);
	g_test_add_func ("/lib/tar/bomb", test_bomb);
	g_test_add_func ("/lib/tar/not-gzip", test_not_gzip);
	g_test_add_func ("/lib/tar/write", test_write);
	return g_test_run ();
}
