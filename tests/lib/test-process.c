/*
 * ac_process_harden() and ac_process_protect_memory(): the process cannot dump core, and a
 * protected buffer's pages are marked "dd" (do not dump) in /proc/self/smaps.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "test-vmflags.h"

#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "ac-process.h"

static void
test_harden (void)
{
	struct rlimit rl = { 1, 1 };
	ac_process_harden ();
	g_assert_cmpint (prctl (PR_GET_DUMPABLE, 0, 0, 0, 0), ==, 0);
	g_assert_cmpint (getrlimit (RLIMIT_CORE, &rl), ==, 0);
	g_assert_cmpuint (rl.rlim_cur, ==, 0);
	g_assert_cmpuint (rl.rlim_max, ==, 0);
}


static void
test_protect_memory (void)
{
	gsize page = (gsize)sysconf (_SC_PAGESIZE);
	gchar *buf = g_aligned_alloc0 (4, page, page);
	g_autofree gchar *before = vm_flags_of (buf);
	g_autofree gchar *after = NULL;
	g_assert_nonnull (before);
	g_assert_null (strstr (before, " dd "));
	ac_process_protect_memory (buf, 4 * page);
	after = vm_flags_of (buf);
	g_assert_nonnull (after);
	g_assert_nonnull (strstr (after, " dd "));
	(void)munlock (buf, 4 * page);
	g_aligned_free (buf);
}

int
main (int argc, char **argv)
{
	g_test_init (&argc, &argv, NULL);
	g_test_add_func ("/common/process/harden", test_harden);
	g_test_add_func ("/common/process/protect-memory", test_protect_memory);
	return g_test_run ();
}
