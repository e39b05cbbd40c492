/*
 * Benchmark of the devnet's two heavy server-side steps, each against a peer run on the same
 * machine in the same run:
 *  - the passphrase check (GPT → LUKS1 header copy → libcryptsetup) vs
 *    `cryptsetup open --test-passphrase` on the bare partition (process spawn included);
 *  - rebuilding a file from an uploaded CAR (every block hashed, DAG walked, file written) vs
 *    one SHA-256 pass over the same bytes (the floor: every byte must be hashed once).
 * Usage: bench-devnet [MIB] [RUNS]
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <openssl/evp.h>
#include <stdio.h>

#include "ac-car.h"
#include "ac-devnet-car.h"
#include "ac-luks-disk.h"

static void
run (const gchar *const *argv, const gchar *stdin_text)
{
	g_autoptr (GSubprocess) p = g_subprocess_newv (
	    argv, G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDERR_SILENCE, NULL);
	g_assert_nonnull (p);
	g_assert_true (g_subprocess_communicate_utf8 (p, stdin_text, NULL, NULL, NULL, NULL));
	if (!g_subprocess_get_successful (p))
		g_error ("%s failed", argv[0]);
}

int
main (int argc, char **argv)
{
	guint mib = argc > 1 ? (guint)atoi (argv[1]) : 64;
	guint runs = argc > 2 ? (guint)atoi (argv[2]) : 5;
	g_autofree gchar *dir = g_dir_make_tmp ("bench-devnet-XXXXXX", NULL);
	g_autofree gchar *img = g_build_filename (dir, "disk.img", NULL);
	g_autofree gchar *p2 = g_build_filename (dir, "p2.img", NULL);
	g_autofree gchar *key = g_build_filename (dir, "key", NULL);
	g_autofree gchar *file = g_build_filename (dir, "file.bin", NULL);
	g_autofree gchar *car = g_build_filename (dir, "file.car", NULL);
	g_autofree gchar *iff = g_strdup_printf ("if=%s", p2);
	g_autofree gchar *off = g_strdup_printf ("of=%s", img);
	const gchar *pass = "bench passphrase";
	gint64 t0, ours = 0, peer = 0;
	guint8 root[34];

	/* the image: GPT by sfdisk, LUKS1 by cryptsetup with 100 000 PBKDF2 iterations */
	{
		const gchar *t1[] = { "truncate", "-s", "8M", img, NULL };
		const gchar *t2[] = { "truncate", "-s", "3M", p2, NULL };
		const gchar *sf[] = { "sfdisk", "-q", img, NULL };
		const gchar *lk[] = { "cryptsetup", "luksFormat", "--batch-mode",
			              "--type",     "luks1",      "--pbkdf-force-iterations",
			              "100000",     "--key-file", key,
			              p2,           NULL };
		const gchar *dd[] = { "dd",           "status=none", "bs=512", "seek=4096",
			              "conv=notrunc", iff,           off,      NULL };
		run (t1, NULL);
		run (sf, "label: gpt\nstart=2048, size=2048, type=U\nstart=4096, type=L\n");
		run (t2, NULL);
		g_assert_true (
		    g_file_set_contents_full (key, pass, -1, G_FILE_SET_CONTENTS_NONE, 0600, NULL));
		run (lk, NULL);
		run (dd, NULL);
	}
	for (guint i = 0; i < runs; i++) {
		const gchar *tp[]
		    = { "cryptsetup", "open", "--test-passphrase", "--key-file", key, p2, NULL };
		gint slot = -1;
		t0 = g_get_monotonic_time ();
		if (!ac_luks_disk_luks_check_passphrase (img, dir, (const guint8 *)pass,
		                                         strlen (pass), &slot, NULL))
			g_error ("our passphrase check failed");
		ours += g_get_monotonic_time () - t0;
		t0 = g_get_monotonic_time ();
		run (tp, NULL);
		peer += g_get_monotonic_time () - t0;
	}
	printf (
	    "passphrase check: devnet %.1f ms, cryptsetup --test-passphrase %.1f ms, ratio %.2f\n",
	    ours / 1000.0 / runs, peer / 1000.0 / runs, (gdouble)ours / (gdouble)peer);

	/* CAR → file */
	{
		gsize size = (gsize)mib * 1024 * 1024;
		g_autofree guint8 *data = g_malloc (size);
		g_autoptr (GMappedFile) mf = NULL;
		guint8 md[32];
		unsigned int mdl = sizeof (md);
		for (gsize i = 0; i < size; i++)
			data[i] = (guint8)(i * 2654435761u >> 13);
		g_assert_true (g_file_set_contents (file, (const gchar *)data, (gssize)size, NULL));
		g_assert_true (ac_ipfs_file_write_car (file, car, TRUE, root, NULL, NULL, NULL));
		mf = g_mapped_file_new (car, FALSE, NULL);
		ours = peer = 0;
		for (guint i = 0; i < runs; i++) {
			g_autoptr (GOutputStream) out = g_memory_output_stream_new_resizable ();
			g_autofree gchar *cid = NULL;
			guint64 fsize = 0;
			t0 = g_get_monotonic_time ();
			cid = ac_devnet_car_extract (
			    (const guint8 *)g_mapped_file_get_contents (mf),
			    g_mapped_file_get_length (mf), G_MAXUINT64, out, &fsize, NULL);
			ours += g_get_monotonic_time () - t0;
			g_assert_nonnull (cid);
			g_assert_cmpuint (fsize, ==, size);
			t0 = g_get_monotonic_time ();
			EVP_Digest (data, size, md, &mdl, EVP_sha256 (), NULL);
			peer += g_get_monotonic_time () - t0;
		}
		printf ("CAR → file (%u MiB): devnet %.1f ms (%.0f MiB/s), one SHA-256 pass %.1f "
		        "ms, ratio %.2f\n",
		        mib, ours / 1000.0 / runs, mib / (ours / 1e6 / runs), peer / 1000.0 / runs,
		        (gdouble)ours / (gdouble)peer);
	}
	{
		const gchar *rm[] = { "rm", "-rf", dir, NULL };
		run (rm, NULL);
	}
	return 0;
}
