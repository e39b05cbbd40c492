/*
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "ac-process.h"

#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

/**
 * ac_process_harden:
 *
 * Called early in main() of every program that may hold a secret (a passphrase, a private
 * key): the process is made non-dumpable (no core file, no ptrace by same-uid processes, and
 * /proc/PID/mem and environ become root-only) and its core size limit is set to 0, which its
 * children inherit. Failures are ignored: hardening is best effort and never a reason to stop.
 */
void
ac_process_harden (void)
{
	struct rlimit none = { 0, 0 };
	(void)prctl (PR_SET_DUMPABLE, 0, 0, 0, 0);
	(void)setrlimit (RLIMIT_CORE, &none);
}

/**
 * ac_process_protect_memory:
 *
 * Keeps the pages holding [@addr, @addr + @len) out of core dumps (MADV_DONTDUMP) and out of
 * swap (mlock). Both are best effort: an unprivileged caller may be over RLIMIT_MEMLOCK. The
 * advice covers whole pages, so a buffer that shares its pages with others also hides them from
 * a dump; callers that can should allocate secrets page-aligned.
 */
void
ac_process_protect_memory (gpointer addr, gsize len)
{
	long page = sysconf (_SC_PAGESIZE);
	guintptr start, end;

	if (addr == NULL || len == 0 || page <= 0)
		return;
	start = (guintptr)addr & ~((guintptr)page - 1);
	end = ((guintptr)addr + len + (guintptr)page - 1) & ~((guintptr)page - 1);
#ifdef MADV_DONTDUMP
	(void)madvise ((void *)start, end - start, MADV_DONTDUMP);
#endif
	(void)mlock (addr, len);
}

/**
 * ac_process_tool_environ:
 * @extra: (nullable): "NAME=value" entries added (or overriding) at the end
 *
 * The environment of an external tool (cp, mkfs, tar, cryptsetup, qemu-img…): built from
 * scratch rather than inherited, so a secret the caller keeps in its environment (a template's
 * passphrase.env) never reaches a tool. Only PATH, TMPDIR and SOURCE_DATE_EPOCH are taken over,
 * with LANG=C and LC_ALL=C for parseable output.
 *
 * Returns: (transfer full): a NULL-terminated environment for g_spawn_*() or
 * g_subprocess_launcher_set_environ()
 */
gchar **
ac_process_tool_environ (const gchar *const *extra)
{
	static const gchar *const keep[] = { "PATH", "TMPDIR", "SOURCE_DATE_EPOCH", NULL };
	gchar **envp = g_new0 (gchar *, 1);

	envp = g_environ_setenv (envp, "PATH",
				 "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", TRUE);
	for (guint i = 0; keep[i] != NULL; i++) {
		const gchar *v = g_getenv (keep[i]);
		if (v != NULL)
			envp = g_environ_setenv (envp, keep[i], v, TRUE);
	}
	envp = g_environ_setenv (envp, "LANG", "C", TRUE);
	envp = g_environ_setenv (envp, "LC_ALL", "C", TRUE);
	for (guint i = 0; extra != NULL && extra[i] != NULL; i++) {
		g_auto(GStrv) kv = g_strsplit (extra[i], "=", 2);
		if (kv[0] != NULL && kv[1] != NULL && kv[0][0] != '\0')
			envp = g_environ_setenv (envp, kv[0], kv[1], TRUE);
	}
	return envp;
}
