/*
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench-util.h"

extern char **environ;

GBytes *
bench_load (const gchar *dir, const gchar *rel)
{
	g_autofree gchar *path = g_build_filename (dir, rel, NULL);
	g_autoptr (GError) error = NULL;
	gchar *buf = NULL;
	gsize len = 0;
	if (!g_file_get_contents (path, &buf, &len, &error)) {
		fprintf (stderr, "%s\n", error->message);
		exit (1);
	}
	return g_bytes_new_take (buf, len);
}

void
bench_save (const gchar *path, const void *data, gsize len)
{
	g_autoptr (GError) error = NULL;
	if (!g_file_set_contents (path, data, (gssize)len, &error)) {
		fprintf (stderr, "%s\n", error->message);
		exit (1);
	}
}

gdouble
bench_run (const gchar *const *argv)
{
	posix_spawn_file_actions_t fa;
	gint64 t0;
	pid_t pid;
	int status = 0, rc;

	posix_spawn_file_actions_init (&fa);
	posix_spawn_file_actions_addopen (&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen (&fa, 2, "/dev/null", O_WRONLY, 0);
	t0 = g_get_monotonic_time ();
	rc = posix_spawnp (&pid, argv[0], &fa, NULL, (char *const *)argv, environ);
	posix_spawn_file_actions_destroy (&fa);
	if (rc != 0) {
		fprintf (stderr, "cannot run %s: %s\n", argv[0], g_strerror (rc));
		exit (1);
	}
	if (waitpid (pid, &status, 0) != pid || !WIFEXITED (status) || WEXITSTATUS (status) != 0) {
		g_autofree gchar *cmd = g_strjoinv (" ", (gchar **)argv);
		fprintf (stderr, "FAILED: '%s' (wait status 0x%x): no ratio without a run\n", cmd,
		         status);
		exit (1);
	}
	return (g_get_monotonic_time () - t0) / 1e6;
}

gint
bench_cmp_double (gconstpointer a, gconstpointer b)
{
	gdouble x = *(const gdouble *)a, y = *(const gdouble *)b;
	return x < y ? -1 : x > y;
}

const gchar **
bench_argv_concat (const gchar *const *head, const gchar *const *tail)
{
	guint nh = g_strv_length ((gchar **)head), nt = g_strv_length ((gchar **)tail);
	const gchar **v = g_new0 (const gchar *, nh + nt + 1);
	memcpy (v, head, nh * sizeof (gchar *));
	memcpy (v + nh, tail, nt * sizeof (gchar *));
	return v;
}

AcSevLaunchInputs
bench_sev_launch_inputs (guint32 policy,
                         GBytes *fw,
                         GBytes *kernel,
                         GBytes *initrd,
                         const gchar *cmdline)
{
	AcSevLaunchInputs in = { .policy = policy,
		                 .firmware = fw,
		                 .kernel = kernel,
		                 .initrd = initrd,
		                 .cmdline = cmdline,
		                 .num_cpus = 4,
		                 .cpu_family = 25,
		                 .cpu_model = 1,
		                 .cpu_stepping = 1 };
	return in;
}
