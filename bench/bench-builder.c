/*
 * bench-builder: throughput of the builder's encryption stage (streaming, pipelined AES-XTS
 * plain64 into a LUKS1 payload) on an image of SIZE MiB (default 2048), against
 *   - the peer:  qemu-img convert into a LUKS image (aes-256-xts-plain64), the same input,
 *                same run; its header made beforehand, untimed, with the PBKDF pinned;
 *   - the limit: openssl speed -evp aes-256-xts on 512-byte blocks (one core, and -multi N).
 * Prints ratios, and the peak RSS of the encrypting process (a child, measured with wait4),
 * which must stay under 64 MiB whatever the image size. A peer or limit that fails fails the
 * benchmark (exit 1): no ratio without both runs.
 *
 *   bench-builder [SIZE_MIB] [DIR]
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <fcntl.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ac-builder-xts.h"

static gdouble
now_s (void)
{
	return (gdouble)g_get_monotonic_time () / G_USEC_PER_SEC;
}

static gdouble
openssl_speed (guint multi)
{
	g_autofree gchar *cmd
	    = multi > 1 ? g_strdup_printf (
	          "openssl speed -elapsed -seconds 3 -bytes 512 -multi %u -evp aes-256-xts ", multi)
	                : g_strdup (
	                    "openssl speed -elapsed -seconds 3 -bytes 512 -evp aes-256-xts");
	g_autofree gchar *out = NULL;
	g_autofree gchar *err = NULL;
	g_auto (GStrv) lines = NULL;
	if (!g_spawn_command_line_sync (cmd, &out, &err, NULL, NULL) || out == NULL)
		return 0;
	lines = g_strsplit (out, "\n", -1);
	for (guint i = 0; lines[i] != NULL; i++) {
		gdouble k = 0;
		const gchar *p = strstr (lines[i], "AES-256-XTS");
		if (p == NULL)
			p = strstr (lines[i], "aes-256-xts");
		if (p != NULL && sscanf (p + 11, " %lfk", &k) == 1 && k > 0)
			return k * 1000.0 / 1048576.0; /* MiB/s */
	}
	return 0;
}

static void
bench_cleanup (const gchar *dir,
               const gchar *in,
               const gchar *out,
               const gchar *peer,
               const gchar *pass)
{
	g_unlink (in);
	g_unlink (out);
	g_unlink (peer);
	g_unlink (pass);
	g_rmdir (dir);
}

/* @cmd, or FALSE having said why and cleaned up */
static gboolean
run_peer (const gchar *cmd,
          const gchar *dir,
          const gchar *in,
          const gchar *out,
          const gchar *peer,
          const gchar *pass)
{
	g_autofree gchar *err = NULL;
	g_autoptr (GError) error = NULL;
	gint status = 0;
	if (g_spawn_command_line_sync (cmd, NULL, &err, &status, &error)
	    && g_spawn_check_wait_status (status, &error))
		return TRUE;
	fprintf (stderr, "bench-builder: FAILED: the peer, %s: %s\n%s", cmd, error->message,
	         err != NULL ? err : "");
	bench_cleanup (dir, in, out, peer, pass);
	return FALSE;
}

/* a dense (not sparse) input of @size bytes at @in: holes would be skipped and flatter us;
 * then in the page cache, as a freshly made filesystem image is in a build */
static gboolean
make_input (const gchar *in, guint64 size)
{
	g_autofree guint8 *buf = g_malloc (1024 * 1024);
	int fd = open (in, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	GRand *r = g_rand_new_with_seed (1);

	for (guint i = 0; i < 1024 * 1024 / 4; i++)
		((guint32 *)buf)[i] = g_rand_int (r);
	g_rand_free (r);
	for (guint64 o = 0; o < size; o += 1024 * 1024) {
		buf[0] = (guint8)(o >> 20);
		if (pwrite (fd, buf, 1024 * 1024, (off_t)o) != 1024 * 1024)
			return FALSE;
	}
	fsync (fd);
	close (fd);
	fd = open (in, O_RDONLY);
	while (read (fd, buf, 1024 * 1024) > 0)
		;
	close (fd);
	return TRUE;
}

/* ours, in a child so its peak RSS (@ru) is its own: @in encrypted into @out (a file on disk,
 * synced), or into /dev/null when @out is NULL (the encryption stage alone) */
static gboolean
run_ours (const guint8 *key,
          gsize key_len,
          const gchar *in,
          const gchar *out,
          guint64 size,
          struct rusage *ru)
{
	int status = 0;
	pid_t pid = fork ();

	if (pid == 0) {
		GError *error = NULL;
		int ifd = open (in, O_RDONLY);
		int ofd = out != NULL ? open (out, O_RDWR | O_CREAT | O_TRUNC, 0600)
		                      : open ("/dev/null", O_WRONLY);
		if (ifd < 0 || ofd < 0 || (out != NULL && ftruncate (ofd, (off_t)size) != 0))
			_exit (1);
		if (!ac_xts_encrypt_file_range (key, key_len, ifd, 0, size, ofd, 0, NULL, NULL,
		                                NULL, NULL, &error)) {
			fprintf (stderr, "%s\n", error->message);
			_exit (1);
		}
		if (out != NULL)
			fdatasync (ofd);
		_exit (0);
	}
	if (wait4 (pid, &status, 0, ru) != pid || !WIFEXITED (status)
	    || WEXITSTATUS (status) != 0) {
		fprintf (stderr, "bench-builder: FAILED: ours, the encryption (wait status 0x%x)\n",
		         status);
		return FALSE;
	}
	return TRUE;
}

int
main (int argc, char **argv)
{
	guint64 mib = argc > 1 ? g_ascii_strtoull (argv[1], NULL, 10) : 2048;
	const gchar *base = argc > 2 ? argv[2] : g_get_tmp_dir ();
	g_autofree gchar *dir = g_build_filename (base, "bench-builder-XXXXXX", NULL);
	g_autofree gchar *in = NULL;
	g_autofree gchar *out = NULL;
	g_autofree gchar *peer = NULL;
	g_autofree gchar *pass = NULL;
	guint8 key[64];
	guint64 size = mib * 1024 * 1024;
	gdouble t, ours = 0, stage = 0, qemu = 0, ssl1, ssln;
	struct rusage ru;

	if (mib == 0 || g_mkdtemp (dir) == NULL) {
		fprintf (stderr, "usage: bench-builder [SIZE_MIB] [DIR]\n");
		return 2;
	}
	in = g_build_filename (dir, "plain.img", NULL);
	out = g_build_filename (dir, "ours.img", NULL);
	peer = g_build_filename (dir, "peer.luks", NULL);
	pass = g_build_filename (dir, "pass", NULL);
	for (guint i = 0; i < sizeof (key); i++)
		key[i] = (guint8)(i * 37 + 11);

	if (!make_input (in, size))
		return 1;
	printf ("bench-builder: %" G_GUINT64_FORMAT " MiB image in %s, %u CPUs\n", mib, dir,
	        g_get_num_processors ());

	/* ours: first into /dev/null (the encryption stage alone: reading, encrypting, writing
	 * calls), then to a file on disk */
	t = now_s ();
	if (!run_ours (key, sizeof (key), in, NULL, size, &ru)) {
		bench_cleanup (dir, in, out, peer, pass);
		return 1;
	}
	stage = (gdouble)mib / (now_s () - t);
	printf ("  ours, encryption stage (to /dev/null): %8.1f MiB/s   peak RSS %ld MiB%s\n",
	        stage, ru.ru_maxrss / 1024, ru.ru_maxrss / 1024 < 64 ? "" : "  ** over 64 MiB **");

	t = now_s ();
	if (!run_ours (key, sizeof (key), in, out, size, &ru)) {
		bench_cleanup (dir, in, out, peer, pass);
		return 1;
	}
	ours = (gdouble)mib / (now_s () - t);
	printf ("  ours, to a file on disk (fdatasync):   %8.1f MiB/s   peak RSS %ld MiB%s\n", ours,
	        ru.ru_maxrss / 1024, ru.ru_maxrss / 1024 < 64 ? "" : "  ** over 64 MiB **");
	g_unlink (out);

	/* the peer. Its LUKS header is made first, untimed, as ours is: qemu-img benchmarks the
	 * PBKDF for a second or more of CPU on every create, which is no part of the encryption;
	 * the key comes from a secret object, hash-alg and iter-time are pinned, so the load of
	 * the machine changes the iteration count, never the outcome. Then the timed part, the
	 * encryption: convert -n into that header. A peer that fails fails the benchmark. */
	{
		g_autofree gchar *create = NULL;
		g_autofree gchar *convert = NULL;
		g_autofree gchar *sync = g_strdup_printf ("sync %s", peer);
		g_file_set_contents (pass, "bench passphrase", -1, NULL);
		create = g_strdup_printf (
		    "qemu-img create -q -f luks --object secret,id=s0,file=%s "
		    "-o key-secret=s0,cipher-alg=aes-256,cipher-mode=xts,"
		    "ivgen-alg=plain64,hash-alg=sha256,iter-time=10 %s %" G_GUINT64_FORMAT,
		    pass, peer, size);
		convert = g_strdup_printf (
		    "qemu-img convert -n -f raw --object secret,id=s0,file=%s "
		    "--target-image-opts %s driver=luks,key-secret=s0,file.filename=%s",
		    pass, in, peer);
		if (!run_peer (create, dir, in, out, peer, pass))
			return 1;
		t = now_s ();
		if (!run_peer (convert, dir, in, out, peer, pass))
			return 1;
		g_spawn_command_line_sync (sync, NULL, NULL, NULL, NULL);
		qemu = (gdouble)mib / (now_s () - t);
		g_unlink (peer);
	}
	ssl1 = openssl_speed (1);
	ssln = openssl_speed (g_get_num_processors ());
	if (ssl1 <= 0 || ssln <= 0) {
		fprintf (stderr,
		         "bench-builder: FAILED: the limit, openssl speed -evp aes-256-xts, "
		         "gave no figure\n");
		bench_cleanup (dir, in, out, peer, pass);
		return 1;
	}
	printf ("  peer qemu-img convert to LUKS (disk):  %8.1f MiB/s\n", qemu);
	printf ("  limit openssl speed aes-256-xts 512B:  %8.1f MiB/s (1 core), %.1f MiB/s (%u)\n",
	        ssl1, ssln, g_get_num_processors ());
	printf ("  ratio ours/qemu-img (both to disk)        %.2f\n", ours / qemu);
	printf ("  ratio encryption stage/openssl (%u cores)  %.2f\n", g_get_num_processors (),
	        stage / ssln);
	bench_cleanup (dir, in, out, peer, pass);
	return 0;
}
