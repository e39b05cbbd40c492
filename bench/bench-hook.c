/*
 * The hook's per-call cost for an untagged domain, against a minimal executable that only
 * drains stdin, measured in the same run (interleaved, so load hits both alike).
 *   bench-hook HOOK BASELINE DOMAIN.xml [ITERATIONS]
 * Prints the median per-call wall time of each and their ratio (goal: ≤ 1.5x, ≪ 1 ms).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double
now_us (void)
{
	struct timespec ts;
	clock_gettime (CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

/* One call as libvirt makes it: argv NAME OP SUBOP -, the XML written to a pipe on stdin. */
static double
one_call (const char *exe, const char *xml, size_t len)
{
	int fds[2];
	pid_t pid;
	int status;
	double t0 = now_us ();

	if (pipe (fds) != 0)
		exit (1);
	pid = fork ();
	if (pid == 0) {
		int devnull = open ("/dev/null", O_WRONLY);
		dup2 (fds[0], 0);
		dup2 (devnull, 1);
		close (fds[0]);
		close (fds[1]);
		execl (exe, exe, "bench", "prepare", "begin", "-", (char *)NULL);
		_exit (127);
	}
	close (fds[0]);
	for (size_t off = 0; off < len;) {
		ssize_t n = write (fds[1], xml + off, len - off);
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	close (fds[1]);
	waitpid (pid, &status, 0);
	if (!WIFEXITED (status) || WEXITSTATUS (status) != 0) {
		fprintf (stderr, "%s failed\n", exe);
		exit (1);
	}
	return now_us () - t0;
}

static int
cmp (const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int
main (int argc, char **argv)
{
	FILE *f;
	char *xml;
	long len;
	int n = argc > 4 ? atoi (argv[4]) : 2000;
	double *th, *tb;

	if (argc < 4) {
		fprintf (stderr, "usage: bench-hook HOOK BASELINE DOMAIN.xml [ITERATIONS]\n");
		return 2;
	}
	f = fopen (argv[3], "rb");
	if (f == NULL)
		return 1;
	fseek (f, 0, SEEK_END);
	len = ftell (f);
	fseek (f, 0, SEEK_SET);
	xml = malloc ((size_t)len);
	if (fread (xml, 1, (size_t)len, f) != (size_t)len)
		return 1;
	fclose (f);
	th = calloc ((size_t)n, sizeof *th);
	tb = calloc ((size_t)n, sizeof *tb);
	for (int i = 0; i < 50; i++) { /* warm up page cache and loader */
		one_call (argv[1], xml, (size_t)len);
		one_call (argv[2], xml, (size_t)len);
	}
	for (int i = 0; i < n; i++) {
		th[i] = one_call (argv[1], xml, (size_t)len);
		tb[i] = one_call (argv[2], xml, (size_t)len);
	}
	qsort (th, (size_t)n, sizeof *th, cmp);
	qsort (tb, (size_t)n, sizeof *tb, cmp);
	printf ("untagged domain XML: %ld bytes, %d calls each\n", len, n);
	printf ("hook (50-aleph-confidential): median %.1f us, p90 %.1f us\n", th[n / 2],
	        th[n * 9 / 10]);
	printf ("baseline (drain stdin only):   median %.1f us, p90 %.1f us\n", tb[n / 2],
	        tb[n * 9 / 10]);
	printf ("ratio hook/baseline: %.2fx (goal <= 1.5x)\n", th[n / 2] / tb[n / 2]);
	free (th);
	free (tb);
	free (xml);
	return 0;
}
