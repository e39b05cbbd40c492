/*
 * What the benchmarks share: their input files, sorting timings, command lines that differ
 * only in their first words.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

#include "ac-sev-measure.h"

G_BEGIN_DECLS

/* the contents of @dir/@rel (@rel %NULL: of @dir itself); exits 1 when it cannot be read */
GBytes *
bench_load (const gchar *dir, const gchar *rel);
/* writes @len bytes of @data to @path; exits 1 when it cannot */
void
bench_save (const gchar *path, const void *data, gsize len);
/* one run of @argv (argv[0] searched in $PATH), its output to /dev/null, in seconds; exits 1
 * when it cannot start or does not exit 0 (no ratio without a run). posix_spawn (a vfork): the
 * time is the command's, not that of a fork copying the benchmark's page tables */
gdouble
bench_run (const gchar *const *argv);
/* for qsort() and g_array_sort() of gdouble timings */
gint
bench_cmp_double (gconstpointer a, gconstpointer b);
/* @head's words then @tail's, %NULL-terminated (the strings are not copied): g_free() it */
const gchar **
bench_argv_concat (const gchar *const *head, const gchar *const *tail);

/* SEV launch inputs as the benchmarks measure them: 4 vCPUs of an EPYC Milan (family 25,
 * model 1, stepping 1); @kernel, @initrd and @cmdline may be %NULL */
AcSevLaunchInputs
bench_sev_launch_inputs (guint32 policy,
                         GBytes *fw,
                         GBytes *kernel,
                         GBytes *initrd,
                         const gchar *cmdline);

G_END_DECLS
