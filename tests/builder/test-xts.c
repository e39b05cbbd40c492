/*
 * The streaming AES-XTS pipeline: agreement with a straight single-threaded loop and with an
 * independent implementation (Python's cryptography, when present), hole handling, verify
 * detecting a change, cancellation.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <fcntl.h>
#include <unistd.h>

#include "ac-builder-test-util.h"
#include "ac-builder-xts.h"
#include "ac-error.h"

static const guint8 test_key[64] = {
	0x27, 0x18, 0x28, 0x18, 0x28, 0x45, 0x90, 0x45, 0x23, 0x53, 0x60, 0x28, 0x74, 0x71, 0x35, 0x26,
	0x62, 0x49, 0x77, 0x57, 0x24, 0x70, 0x93, 0x69, 0x99, 0x59, 0x57, 0x49, 0x66, 0x96, 0x76, 0x27,
	0x31, 0x41, 0x59, 0x26, 0x53, 0x58, 0x97, 0x93, 0x23, 0x84, 0x62, 0x64, 0x33, 0x83, 0x27, 0x95,
	0x02, 0x88, 0x41, 0x97, 0x16, 0x93, 0x99, 0x37, 0x51, 0x05, 0x82, 0x09, 0x74, 0x94, 0x45, 0x92,
};

/* a plaintext file with data, a hole in the middle and a hole at the end */
static gchar *
make_plain (const gchar *dir, guint64 size, guint64 hole_start, guint64 hole_end)
{
	gchar *path = g_build_filename (dir, "plain.img", NULL);
	int fd = open (path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	guint8 buf[4096];
	GRand *rand = g_rand_new_with_seed (42);
	g_assert_cmpint (fd, >=, 0);
	g_assert_cmpint (ftruncate (fd, (off_t)size), ==, 0);
	for (guint64 off = 0; off < size; off += sizeof (buf)) {
		if (off >= hole_start && off < hole_end)
			continue;
		if (off + sizeof (buf) > size - 3 * 65536) /* last 192 KiB: hole */
			break;
		for (guint i = 0; i < sizeof (buf); i++)
			buf[i] = (guint8)g_rand_int (rand);
		g_assert_cmpint (pwrite (fd, buf, sizeof (buf), (off_t)off), ==, sizeof (buf));
	}
	g_rand_free (rand);
	close (fd);
	return path;
}

static void
test_xts_pipeline_matches_loop (void)
{
	g_autofree gchar *dir = ac_test_mkdtemp ();
	const guint64 size = 5 * 1024 * 1024 + 3 * 512; /* not a multiple of any chunk size */
	g_autofree gchar *plain = make_plain (dir, size, 1024 * 1024, 3 * 1024 * 1024);
	g_autofree gchar *ref = NULL;
	gsize ref_len = 0;
	g_autoptr(GError) error = NULL;
	const struct {
		gsize chunk;
		guint workers;
		guint depth;
	} configs[] = { { 0, 0, 0 }, { 512, 1, 1 }, { 65536, 3, 4 }, { 4096 * 3, 2, 7 } };

	/* reference: the whole plaintext encrypted in one call of the plain loop */
	g_file_get_contents (plain, &ref, &ref_len, &error);
	g_assert_no_error (error);
	g_assert_cmpuint (ref_len, ==, size);
	g_assert_true (ac_xts_crypt_sectors (test_key, 64, TRUE, 0, (guint8 *)ref, ref_len, &error));
	g_assert_no_error (error);

	for (guint c = 0; c < G_N_ELEMENTS (configs); c++) {
		g_autofree gchar *out = g_build_filename (dir, "out.img", NULL);
		AcXtsOptions opts = { configs[c].chunk, configs[c].workers, configs[c].depth, FALSE };
		AcXtsStats stats = { 0 };
		g_autofree gchar *got = NULL;
		gsize got_len = 0;
		int in_fd = open (plain, O_RDONLY);
		int out_fd = open (out, O_RDWR | O_CREAT | O_TRUNC, 0600);
		const guint64 out_off = 12345 * 512; /* written at an offset, as into partition 2 */

		g_assert_true (ac_xts_encrypt_file_range (test_key, 64, in_fd, 0, size, out_fd, out_off,
							  &opts, NULL, NULL, &stats, &error));
		g_assert_no_error (error);
		g_assert_cmpuint (stats.bytes, ==, size);
		/* the 2 MiB hole was not read (whole chunks of it at least) */
		if (configs[c].chunk != 0 && configs[c].chunk <= 65536)
			g_assert_cmpuint (stats.hole_bytes, >=, 2 * 1024 * 1024);
		g_file_get_contents (out, &got, &got_len, &error);
		g_assert_no_error (error);
		g_assert_cmpuint (got_len, ==, out_off + size);
		g_assert_true (memcmp (got + out_off, ref, size) == 0);

		/* verify accepts it, then rejects a one-bit change in the ciphertext */
		g_assert_true (ac_xts_verify_file_range (test_key, 64, out_fd, out_off, size, in_fd, 0,
							 &opts, NULL, NULL, NULL, &error));
		g_assert_no_error (error);
		{
			guint8 b;
			const off_t flip = (off_t)(out_off + 2 * 1024 * 1024 + 700); /* inside the hole */
			g_assert_cmpint (pread (out_fd, &b, 1, flip), ==, 1);
			b ^= 0x10;
			g_assert_cmpint (pwrite (out_fd, &b, 1, flip), ==, 1);
		}
		g_assert_false (ac_xts_verify_file_range (test_key, 64, out_fd, out_off, size, in_fd,
							  0, &opts, NULL, NULL, NULL, &error));
		g_assert_error (error, AC_ERROR, AC_ERROR_MISMATCH);
		/* names the sector holding the changed byte: the whole 16-byte XTS block changes */
		g_assert_nonnull (strstr (error->message, "(sector 4097)"));
		g_clear_error (&error);
		close (in_fd);
		close (out_fd);
		g_unlink (out);
	}
	g_unlink (plain);
	g_rmdir (dir);
}

/* Agreement with Python's cryptography package (XTS with a 16-byte little-endian tweak). */
static void
test_xts_independent (void)
{
	g_autofree gchar *dir = ac_test_mkdtemp ();
	const guint64 size = 64 * 1024;
	g_autofree gchar *plain = make_plain (dir, size + 3 * 65536, size, size);
	g_autofree gchar *key_hex = NULL;
	g_autofree gchar *out = NULL;
	g_autofree gchar *ref = NULL;
	gsize ref_len = 0;
	g_autoptr(GError) error = NULL;
	g_autoptr(GString) hex = g_string_new (NULL);
	const gchar *script =
		"import sys\n"
		"from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes\n"
		"key = bytes.fromhex(sys.argv[1]); data = open(sys.argv[2], 'rb').read()\n"
		"first = int(sys.argv[3]); out = bytearray()\n"
		"for i in range(0, len(data), 512):\n"
		"    tweak = (first + i // 512).to_bytes(16, 'little')\n"
		"    e = Cipher(algorithms.AES(key), modes.XTS(tweak)).encryptor()\n"
		"    out += e.update(data[i:i+512]) + e.finalize()\n"
		"sys.stdout.write(out.hex())\n";
	const gchar *argv[] = { "python3", "-c", script, NULL, plain, "1000000", NULL };
	gint rc;

	for (guint i = 0; i < 64; i++)
		g_string_append_printf (hex, "%02x", test_key[i]);
	argv[3] = hex->str;
	rc = ac_test_run (argv, NULL, &out);
	if (rc != 0) {
		g_test_skip ("python3 with the cryptography package is not available");
		return;
	}
	g_file_get_contents (plain, &ref, &ref_len, &error);
	g_assert_no_error (error);
	g_assert_true (ac_xts_crypt_sectors (test_key, 64, TRUE, 1000000, (guint8 *)ref, ref_len,
					     &error));
	g_assert_no_error (error);
	{
		g_autoptr(GString) mine = g_string_new (NULL);
		for (gsize i = 0; i < ref_len; i++)
			g_string_append_printf (mine, "%02x", (guint8)ref[i]);
		g_assert_cmpstr (mine->str, ==, out);
	}
	/* decrypting gives the plaintext back */
	g_assert_true (ac_xts_crypt_sectors (test_key, 64, FALSE, 1000000, (guint8 *)ref, ref_len,
					     &error));
	{
		g_autofree gchar *again = NULL;
		g_file_get_contents (plain, &again, NULL, NULL);
		g_assert_true (memcmp (again, ref, ref_len) == 0);
	}
	g_unlink (plain);
	g_rmdir (dir);
}

/* skip_holes: the plaintext's holes stay holes in the output (and are skipped by verify) */
static void
test_xts_skip_holes (void)
{
	g_autofree gchar *dir = ac_test_mkdtemp ();
	const guint64 size = 4 * 1024 * 1024;
	g_autofree gchar *plain = make_plain (dir, size + 3 * 65536, 1024 * 1024, 3 * 1024 * 1024);
	g_autofree gchar *out = g_build_filename (dir, "out.img", NULL);
	g_autoptr(GError) error = NULL;
	AcXtsOptions opts = { 65536, 2, 4, TRUE };
	AcXtsStats stats = { 0 };
	guint8 buf[4096];
	int in_fd = open (plain, O_RDONLY);
	int out_fd = open (out, O_RDWR | O_CREAT | O_TRUNC, 0600);
	g_assert_cmpint (ftruncate (out_fd, (off_t)size), ==, 0);
	g_assert_true (ac_xts_encrypt_file_range (test_key, 64, in_fd, 0, size, out_fd, 0, &opts,
						  NULL, NULL, &stats, &error));
	g_assert_no_error (error);
	g_assert_cmpuint (stats.hole_bytes, >=, 2 * 1024 * 1024);
	/* inside the plaintext's hole the output was not written: zeros, not ciphertext */
	g_assert_cmpint (pread (out_fd, buf, sizeof (buf), 2 * 1024 * 1024), ==, sizeof (buf));
	for (guint i = 0; i < sizeof (buf); i++)
		g_assert_cmpuint (buf[i], ==, 0);
	/* outside it: ciphertext */
	g_assert_cmpint (pread (out_fd, buf, sizeof (buf), 0), ==, sizeof (buf));
	g_assert_false (buf[0] == 0 && memcmp (buf, buf + 1, sizeof (buf) - 1) == 0);
	g_assert_true (ac_xts_verify_file_range (test_key, 64, out_fd, 0, size, in_fd, 0, &opts,
						 NULL, NULL, NULL, &error));
	g_assert_no_error (error);
	/* without skip_holes the zeros of the output's hole do not decrypt to the plaintext */
	opts.skip_holes = FALSE;
	g_assert_false (ac_xts_verify_file_range (test_key, 64, out_fd, 0, size, in_fd, 0, &opts,
						  NULL, NULL, NULL, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_MISMATCH);
	close (in_fd);
	close (out_fd);
	ac_test_rm_rf (dir);
}

static void
test_xts_bad_input (void)
{
	g_autoptr(GError) error = NULL;
	guint8 buf[1024] = { 0 };
	guint8 same[64];
	memset (same, 7, sizeof (same));
	g_assert_false (ac_xts_crypt_sectors (test_key, 48, TRUE, 0, buf, 512, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
	g_clear_error (&error);
	g_assert_false (ac_xts_crypt_sectors (test_key, 64, TRUE, 0, buf, 700, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
	g_clear_error (&error);
	/* OpenSSL refuses a key whose two halves are equal (a degenerate XTS key) */
	g_assert_false (ac_xts_crypt_sectors (same, 64, TRUE, 0, buf, 512, &error));
	g_assert_nonnull (error);
}

static void
test_xts_cancel (void)
{
	g_autofree gchar *dir = ac_test_mkdtemp ();
	const guint64 size = 4 * 1024 * 1024;
	g_autofree gchar *plain = make_plain (dir, size + 3 * 65536, 0, 0);
	g_autofree gchar *out = g_build_filename (dir, "out.img", NULL);
	g_autoptr(GCancellable) cancellable = g_cancellable_new ();
	g_autoptr(GError) error = NULL;
	int in_fd = open (plain, O_RDONLY);
	int out_fd = open (out, O_RDWR | O_CREAT | O_TRUNC, 0600);
	g_cancellable_cancel (cancellable);
	g_assert_false (ac_xts_encrypt_file_range (test_key, 64, in_fd, 0, size, out_fd, 0, NULL,
						   NULL, cancellable, NULL, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_CANCELLED);
	g_clear_error (&error);
	/* a read past the end of the input fails with an I/O error, not a hang */
	g_assert_false (ac_xts_encrypt_file_range (test_key, 64, in_fd, 0, 64 * 1024 * 1024, out_fd,
						   0, NULL, NULL, NULL, NULL, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_IO);
	close (in_fd);
	close (out_fd);
	g_unlink (out);
	g_unlink (plain);
	g_rmdir (dir);
}

int
main (int argc, char **argv)
{
	g_test_init (&argc, &argv, NULL);
	g_test_add_func ("/builder/xts/pipeline-matches-loop", test_xts_pipeline_matches_loop);
	g_test_add_func ("/builder/xts/independent", test_xts_independent);
	g_test_add_func ("/builder/xts/skip-holes", test_xts_skip_holes);
	g_test_add_func ("/builder/xts/bad-input", test_xts_bad_input);
	g_test_add_func ("/builder/xts/cancel", test_xts_cancel);
	return g_test_run ();
}
