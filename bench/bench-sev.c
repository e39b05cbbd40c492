/*
 * Benchmark of the SEV guest-owner path (not a test).
 *  1. The full guest-owner flow per second, in-process: verify the real Rome chain against
 *     the built-in AMD roots, make a session, compute the launch digest (firmware, kernel
 *     hashes, SEV-ES VMSAs), check the measurement, build the secret packet.
 *  2. `virt-aleph sev measure` against libvirt's `virt-qemu-sev-validate` on identical inputs
 *     in the same run, printed as a ratio.
 * Usage: bench-sev VIRT_ALEPH TESTS_DATA_SEV_DIR [ITERATIONS]
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ac-sev-chain.h"
#include "ac-sev-measure.h"
#include "ac-sev-owner.h"
#include "ac-sev-policy.h"
#include "ac-sev-secret.h"
#include "ac-sev-session.h"
#include "bench-util.h"

static GBytes *
pseudo_random (gsize len, guint32 seed)
{
	guint8 *b = g_malloc (len);
	GRand *r = g_rand_new_with_seed (seed);
	for (gsize i = 0; i < len; i++)
		b[i] = (guint8)g_rand_int (r);
	g_rand_free (r);
	return g_bytes_new_take (b, len);
}

/* `virt-aleph sev measure` (@cli) against virt-qemu-sev-validate on identical inputs, each
 * run as a command (process start included), printed as a ratio */
static void
bench_measure (const gchar *cli,
               GBytes *fw,
               GBytes *kernel,
               GBytes *initrd,
               const gchar *cmdline,
               guint32 policy,
               guint iters)
{
	g_autoptr (GError) error = NULL;
	g_autofree gchar *tmp = NULL;

	tmp = g_dir_make_tmp ("bench-sev-XXXXXX", &error);
	g_assert_no_error (error);
	{
		g_autofree gchar *fw_p = g_build_filename (tmp, "OVMF.fd", NULL);
		g_autofree gchar *k_p = g_build_filename (tmp, "vmlinuz", NULL);
		g_autofree gchar *i_p = g_build_filename (tmp, "initrd", NULL);
		g_autofree gchar *tik_p = g_build_filename (tmp, "tik.bin", NULL);
		g_autofree gchar *tek_p = g_build_filename (tmp, "tek.bin", NULL);
		g_autofree gchar *m_arg = NULL;
		guint8 tik[16], tek[16], ld[32], blob[48];
		AcSevLaunchInputs in = { 0 };
		gdouble t_ours = 0, t_peer = 0;
		guint runs = MAX (iters / 4, 3);
		g_autofree gchar *o_fw = g_strdup_printf ("--firmware=%s", fw_p);
		g_autofree gchar *o_k = g_strdup_printf ("--kernel=%s", k_p);
		g_autofree gchar *o_i = g_strdup_printf ("--initrd=%s", i_p);
		g_autofree gchar *o_c = g_strdup_printf ("--cmdline=%s", cmdline);
		g_autofree gchar *o_tik = g_strdup_printf ("--tik=%s", tik_p);
		g_autofree gchar *o_tek = g_strdup_printf ("--tek=%s", tek_p);

		memset (tik, 0x11, 16);
		memset (tek, 0x22, 16);
		for (guint i = 0; i < 16; i++)
			blob[32 + i] = (guint8)i;
		bench_save (fw_p, g_bytes_get_data (fw, NULL), g_bytes_get_size (fw));
		bench_save (k_p, g_bytes_get_data (kernel, NULL), g_bytes_get_size (kernel));
		bench_save (i_p, g_bytes_get_data (initrd, NULL), g_bytes_get_size (initrd));
		bench_save (tik_p, tik, 16);
		bench_save (tek_p, tek, 16);
		in = bench_sev_launch_inputs (policy, fw, kernel, initrd, cmdline);
		g_assert_true (ac_sev_launch_digest (&in, ld, NULL));
		g_assert_true (
		    ac_sev_measurement_compute (tik, 1, 55, 24, policy, ld, blob + 32, blob, NULL));
		{
			g_autofree gchar *b64 = g_base64_encode (blob, 48);
			m_arg = g_strdup_printf ("--measurement=%s", b64);
		}
		/* identical inputs: one list of options for both */
		const gchar *args[] = { m_arg,
			                "--api-major=1",
			                "--api-minor=55",
			                "--build-id=24",
			                "--policy=5",
			                o_fw,
			                o_k,
			                o_i,
			                o_c,
			                "--num-cpus=4",
			                "--cpu-family=25",
			                "--cpu-model=1",
			                "--cpu-stepping=1",
			                o_tik,
			                o_tek,
			                NULL };
		const gchar *ours_head[] = { cli, "sev", "measure", NULL };
		const gchar *peer_head[]
		    = { "/usr/bin/python3", "/usr/bin/virt-qemu-sev-validate", NULL };
		g_autofree const gchar **ours_c = bench_argv_concat (ours_head, args);
		g_autofree const gchar **peer_c = bench_argv_concat (peer_head, args);
		for (guint r = 0; r < runs; r++) {
			t_ours += bench_run (ours_c);
			t_peer += bench_run (peer_c);
		}
		printf ("measure command, same inputs, %u runs each (process start included):\n",
		        runs);
		printf ("  virt-aleph sev measure   %.1f ms\n", 1e3 * t_ours / runs);
		printf ("  virt-qemu-sev-validate   %.1f ms\n", 1e3 * t_peer / runs);
		printf ("  ratio: virt-aleph is %.2fx the speed of virt-qemu-sev-validate\n",
		        t_peer / t_ours);
	}
	{
		g_autofree gchar *cmd = g_strdup_printf ("rm -rf '%s'", tmp);
		if (system (cmd) != 0)
			fprintf (stderr, "cannot remove %s\n", tmp);
	}
}

int
main (int argc, char **argv)
{
	const gchar *cli, *data;
	guint iters = argc > 3 ? (guint)atoi (argv[3]) : 20;
	g_autoptr (GError) error = NULL;
	g_autoptr (AcSevRoots) roots = NULL;
	g_autoptr (GBytes) chain_bytes = NULL;
	g_autoptr (GBytes) suffix = NULL;
	g_autoptr (GBytes) prefix = NULL;
	g_autoptr (GBytes) fw = NULL;
	g_autoptr (GBytes) kernel = NULL;
	g_autoptr (GBytes) initrd = NULL;
	g_autoptr (GByteArray) fwa = g_byte_array_new ();
	g_autoptr (GBytes) table = NULL;
	gdouble t_chain = 0, t_session = 0, t_digest = 0, t_verify = 0, t_secret = 0;
	gint64 t0;
	const gchar *cmdline = "console=ttyS0 root=/dev/mapper/cr_root ro";
	guint32 policy = 0x5;

	if (argc < 3) {
		fprintf (stderr, "usage: %s VIRT_ALEPH TESTS_DATA_SEV_DIR [ITERATIONS]\n", argv[0]);
		return 2;
	}
	cli = argv[1];
	data = argv[2];
	roots = ac_sev_roots_new_builtin ();
	chain_bytes = bench_load (data, "real-chains/rome/chain_full.bin");
	suffix = bench_load (data, "measurement/ovmf_AmdSev_suffix.bin");
	/* an OVMF-sized image (4 MiB) ending in a real AmdSev footer, a 12 MiB kernel, 48 MiB
	 * initrd */
	prefix = pseudo_random (4 * 1024 * 1024 - g_bytes_get_size (suffix), 1);
	g_byte_array_append (fwa, g_bytes_get_data (prefix, NULL), g_bytes_get_size (prefix));
	g_byte_array_append (fwa, g_bytes_get_data (suffix, NULL), g_bytes_get_size (suffix));
	fw = g_byte_array_free_to_bytes (g_steal_pointer (&fwa));
	kernel = pseudo_random (12 * 1024 * 1024, 2);
	initrd = pseudo_random (48 * 1024 * 1024, 3);
	table = ac_sev_secret_table_build_aleph_passphrase ("correct horse battery staple", &error);
	g_assert_no_error (error);

	/* ---- 1. the flow ---- */
	for (guint i = 0; i < iters; i++) {
		g_autoptr (AcSevChain) chain = NULL;
		g_autoptr (AcSevOwnerLaunch) fresh = ac_sev_owner_launch_new (policy);
		g_autoptr (AcSevOwnerLaunch) o = ac_sev_owner_launch_new (policy);
		g_autoptr (AcSecret) tek = ac_secret_new_random_bytes (16, NULL);
		g_autoptr (AcSecret) tik = ac_secret_new_random_bytes (16, NULL);
		g_autoptr (AcTeeSealedSecret) sealed = NULL;
		AcSevOwnerEvidence ev = { 0 };
		AcSevLaunchInputs in = { 0 };
		guint8 ld[32], blob[48] = { 0 };

		t0 = g_get_monotonic_time ();
		chain = ac_sev_chain_parse (g_bytes_get_data (chain_bytes, NULL),
		                            g_bytes_get_size (chain_bytes), &error);
		g_assert_no_error (error);
		g_assert_true (
		    ac_sev_owner_launch_verify_chain (fresh, chain, roots, NULL, &error));
		t_chain += (g_get_monotonic_time () - t0) / 1e6;

		t0 = g_get_monotonic_time ();
		g_assert_true (ac_sev_owner_launch_start_session (fresh, &error));
		t_session += (g_get_monotonic_time () - t0) / 1e6;

		t0 = g_get_monotonic_time ();
		in = bench_sev_launch_inputs (policy, fw, kernel, initrd, cmdline);
		g_assert_true (ac_sev_launch_digest (&in, ld, &error));
		t_digest += (g_get_monotonic_time () - t0) / 1e6;

		/* the platform's answer (not timed): MEASURE ‖ MNONCE, for a session whose keys the
		 * bench knows (the fresh one keeps its own) */
		g_assert_true (ac_sev_measurement_compute ((const guint8 *)tik->data, 1, 55, 24,
		                                           policy, ld, blob + 32, blob, NULL));
		g_assert_true (ac_sev_owner_launch_resume_keys (o, tek, tik, &error));
		ev = (AcSevOwnerEvidence){ blob, sizeof (blob), 1, 55, 24, policy };
		t0 = g_get_monotonic_time ();
		/* the digest again, then the measurement */
		g_assert_true (ac_sev_owner_launch_verify (o, &ev, &in, 0, 0, &error));
		t_verify += (g_get_monotonic_time () - t0) / 1e6;

		t0 = g_get_monotonic_time ();
		g_assert_true (ac_sev_owner_launch_seal (o, table, NULL, &sealed, &error));
		t_secret += (g_get_monotonic_time () - t0) / 1e6;
	}
	{
		/* the owner's verify computes the digest itself: its own share is what is left */
		gdouble total = t_chain + t_session + t_verify + t_secret;
		t_verify = MAX (t_verify - t_digest, 0);
		printf ("guest-owner flow (4 MiB firmware, 12 MiB kernel, 48 MiB initrd, SEV-ES 4 "
		        "vCPUs), %u runs:\n",
		        iters);
		printf ("  %.2f flows/s (%.1f ms each): chain %.2f ms, session %.2f ms, digest "
		        "%.2f ms, "
		        "verify %.3f ms, secret %.3f ms\n",
		        iters / total, 1e3 * total / iters, 1e3 * t_chain / iters,
		        1e3 * t_session / iters, 1e3 * t_digest / iters, 1e3 * t_verify / iters,
		        1e3 * t_secret / iters);
		printf ("  without the digest (what depends on image size): %.1f flows/s\n",
		        iters / (total - t_digest));
	}

	/* ---- 2. `measure` against virt-qemu-sev-validate, same inputs ---- */
	bench_measure (cli, fw, kernel, initrd, cmdline, policy, iters);
	return 0;
}
