/*
 * bench-startup: whole-process time of short virt-aleph commands, where start-up dominates,
 * against a peer doing the same job, measured in the same run (runs interleaved; the targets
 * are judged on the medians, the fastest runs are printed beside them):
 *   - virt-aleph --version              vs  openssl version           target: within 2x
 *   - virt-aleph sev measure (4 MiB     vs  virt-qemu-sev-validate     target: 10x faster
 *     firmware, SEV-ES, 4 vCPUs)            (identical inputs)
 *   - virt-aleph ipfs cid (4 KiB file)  vs  sha256sum                  target: within 3x
 * A command of either side that fails (exit status, signal, cannot start) fails the benchmark:
 * no ratio is printed from a run that did not happen. Exits 1 when a target is missed.
 *
 *   bench-startup VIRT_ALEPH TESTS_DATA_SEV_DIR [RUNS]
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <glib/gstdio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ac-sev-measure.h"
#include "bench-util.h"

static gdouble
median (GArray *a)
{
	g_array_sort (a, bench_cmp_double);
	return g_array_index (a, gdouble, a->len / 2);
}

/* after median(): the array is sorted */
static gdouble
fastest (GArray *a)
{
	return g_array_index (a, gdouble, 0);
}

typedef struct {
	const gchar *label;
	const gchar *ours_name;
	const gchar *peer_name;
	const gchar *const *ours;
	const gchar *const *peer;
	gboolean faster; /* target: ours at least @target times faster; else within @target x */
	gdouble target;
} Pair;

/* both sides once (a warm page cache, and a failure shows before any timing), then @runs
 * interleaved runs; prints the medians and the ratio; FALSE when the target is missed */
static gboolean
bench_pair (const Pair *p, guint runs)
{
	g_autoptr (GArray) t_ours = g_array_new (FALSE, FALSE, sizeof (gdouble));
	g_autoptr (GArray) t_peer = g_array_new (FALSE, FALSE, sizeof (gdouble));
	gdouble ours, peer;
	gboolean ok;

	bench_run (p->ours);
	bench_run (p->peer);
	for (guint i = 0; i < runs; i++) {
		gdouble t = bench_run (p->ours);
		g_array_append_val (t_ours, t);
		t = bench_run (p->peer);
		g_array_append_val (t_peer, t);
	}
	ours = median (t_ours);
	peer = median (t_peer);
	printf ("%s (median of %u runs each):\n", p->label, runs);
	/* the fastest run too: what is left when nothing else on the machine got in the way */
	printf ("  %-28s %7.2f ms  (fastest %.2f ms)\n", p->ours_name, 1e3 * ours,
	        1e3 * fastest (t_ours));
	printf ("  %-28s %7.2f ms  (fastest %.2f ms)\n", p->peer_name, 1e3 * peer,
	        1e3 * fastest (t_peer));
	if (p->faster) {
		ok = peer / ours >= p->target;
		printf ("  ratio: virt-aleph is %.2fx faster (target: at least %.0fx)  %s\n",
		        peer / ours, p->target, ok ? "ok" : "MISSED");
	} else {
		ok = ours / peer <= p->target;
		printf ("  ratio: virt-aleph takes %.2fx the time (target: within %.0fx)  %s\n",
		        ours / peer, p->target, ok ? "ok" : "MISSED");
	}
	return ok;
}

int
main (int argc, char **argv)
{
	const gchar *cli, *data;
	guint runs = argc > 3 ? (guint)atoi (argv[3]) : 30;
	g_autoptr (GError) error = NULL;
	g_autofree gchar *tmp = NULL, *fw_p = NULL, *tik_p = NULL, *tek_p = NULL, *small_p = NULL;
	g_autofree gchar *o_fw = NULL, *o_tik = NULL, *o_tek = NULL, *m_arg = NULL, *openssl = NULL;
	g_autofree gchar *sha256sum = NULL, *python = NULL, *validate = NULL;
	g_autoptr (GBytes) suffix = NULL;
	g_autoptr (GBytes) fw = NULL;
	guint8 tik[16], tek[16], ld[32], blob[48], small[4096];
	AcSevLaunchInputs in = { 0 };
	gboolean ok = TRUE;

	if (argc < 3 || runs == 0) {
		fprintf (stderr, "usage: %s VIRT_ALEPH TESTS_DATA_SEV_DIR [RUNS]\n", argv[0]);
		return 2;
	}
	cli = argv[1];
	data = argv[2];
	openssl = g_find_program_in_path ("openssl");
	sha256sum = g_find_program_in_path ("sha256sum");
	/* the system's python3, the one libvirt's script is packaged for (lxml, cryptography) */
	python = g_file_test ("/usr/bin/python3", G_FILE_TEST_IS_EXECUTABLE)
	             ? g_strdup ("/usr/bin/python3")
	             : g_find_program_in_path ("python3");
	validate = g_find_program_in_path ("virt-qemu-sev-validate");
	if (openssl == NULL || sha256sum == NULL || python == NULL || validate == NULL) {
		fprintf (stderr,
		         "bench-startup: FAILED: a peer is missing (openssl, sha256sum, python3, "
		         "virt-qemu-sev-validate must all be in $PATH)\n");
		return 1;
	}

	tmp = g_dir_make_tmp ("bench-startup-XXXXXX", &error);
	g_assert_no_error (error);
	fw_p = g_build_filename (tmp, "OVMF.fd", NULL);
	tik_p = g_build_filename (tmp, "tik.bin", NULL);
	tek_p = g_build_filename (tmp, "tek.bin", NULL);
	small_p = g_build_filename (tmp, "small.bin", NULL);

	/* a 4 MiB firmware ending in a real AmdSev footer (SEV-ES reset address), and the
	 * measurement a platform would return for it */
	{
		g_autoptr (GByteArray) a = g_byte_array_sized_new (4 * 1024 * 1024);
		GRand *r = g_rand_new_with_seed (1);
		suffix = bench_load (data, "measurement/ovmf_AmdSev_suffix.bin");
		g_byte_array_set_size (a, 4 * 1024 * 1024 - g_bytes_get_size (suffix));
		for (guint i = 0; i < a->len; i++)
			a->data[i] = (guint8)g_rand_int (r);
		g_rand_free (r);
		g_byte_array_append (a, g_bytes_get_data (suffix, NULL), g_bytes_get_size (suffix));
		fw = g_byte_array_free_to_bytes (g_steal_pointer (&a));
	}
	memset (tik, 0x11, sizeof (tik));
	memset (tek, 0x22, sizeof (tek));
	for (guint i = 0; i < 16; i++)
		blob[32 + i] = (guint8)i;
	in = bench_sev_launch_inputs (0x5, fw, NULL, NULL, NULL);
	if (!ac_sev_launch_digest (&in, ld, &error)
	    || !ac_sev_measurement_compute (tik, 1, 55, 24, in.policy, ld, blob + 32, blob,
	                                    &error)) {
		fprintf (stderr, "bench-startup: %s\n", error->message);
		return 1;
	}
	{
		g_autofree gchar *b64 = g_base64_encode (blob, sizeof (blob));
		m_arg = g_strdup_printf ("--measurement=%s", b64);
	}
	bench_save (fw_p, g_bytes_get_data (fw, NULL), g_bytes_get_size (fw));
	bench_save (tik_p, tik, sizeof (tik));
	bench_save (tek_p, tek, sizeof (tek));
	for (guint i = 0; i < sizeof (small); i++)
		small[i] = (guint8)(i * 7 + 3);
	bench_save (small_p, small, sizeof (small));
	o_fw = g_strdup_printf ("--firmware=%s", fw_p);
	o_tik = g_strdup_printf ("--tik=%s", tik_p);
	o_tek = g_strdup_printf ("--tek=%s", tek_p);

	printf ("bench-startup: %s, %u CPUs\n", cli, g_get_num_processors ());
	{
		const gchar *ours[] = { cli, "--version", NULL };
		const gchar *peer[] = { openssl, "version", NULL };
		Pair p = { "start-up", "virt-aleph --version", "openssl version", ours, peer, FALSE,
			   2 };
		ok = bench_pair (&p, runs) && ok;
	}
	{
		/* identical inputs: one list of options for both */
		const gchar *args[] = { m_arg,
			                "--api-major=1",
			                "--api-minor=55",
			                "--build-id=24",
			                "--policy=5",
			                o_fw,
			                "--num-cpus=4",
			                "--cpu-family=25",
			                "--cpu-model=1",
			                "--cpu-stepping=1",
			                o_tik,
			                o_tek,
			                NULL };
		const gchar *ours_head[] = { cli, "sev", "measure", NULL };
		const gchar *peer_head[] = { python, validate, NULL };
		g_autofree const gchar **ours = bench_argv_concat (ours_head, args);
		g_autofree const gchar **peer = bench_argv_concat (peer_head, args);
		Pair p = { "measure a launch (4 MiB firmware, SEV-ES, 4 vCPUs), identical inputs",
			   "virt-aleph sev measure",
			   "virt-qemu-sev-validate",
			   ours,
			   peer,
			   TRUE,
			   10 };
		ok = bench_pair (&p, MAX (runs / 3, 5)) && ok;
	}
	{
		const gchar *ours[] = { cli, "--quiet", "ipfs", "cid", small_p, NULL };
		const gchar *peer[] = { sha256sum, small_p, NULL };
		Pair p = { "hash a 4 KiB file",
			   "virt-aleph ipfs cid",
			   "sha256sum",
			   ours,
			   peer,
			   FALSE,
			   3 };
		ok = bench_pair (&p, runs) && ok;
	}

	g_unlink (fw_p);
	g_unlink (tik_p);
	g_unlink (tek_p);
	g_unlink (small_p);
	g_rmdir (tmp);
	printf ("%s\n", ok ? "all targets met" : "a target was MISSED");
	return ok ? 0 : 1;
}
