/*
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "ac-builder-run.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <glib-unix.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ac-error.h"
#include "ac-process.h"

static void
ac_run_child_setup (gpointer user_data)
{
	/* own process group: a cancel kills the tool and everything it started */
	(void)setpgid (0, 0);
}

gboolean
ac_run_tool_exists (const gchar *name)
{
	g_autofree gchar *path = g_find_program_in_path (name);
	return path != NULL;
}

/**
 * ac_argv_add:
 * @argv: an argument vector being built (its free function is g_free())
 * @first: the first argument to append, then more, ending with %NULL
 *
 * Appends copies of the arguments to @argv; the caller adds the final %NULL.
 */
void
ac_argv_add (GPtrArray *argv, const gchar *first, ...)
{
	va_list ap;

	va_start (ap, first);
	for (const gchar *arg = first; arg != NULL; arg = va_arg (ap, const gchar *))
		g_ptr_array_add (argv, g_strdup (arg));
	va_end (ap);
}

static gchar *
ac_run_tail (const gchar *text, gsize max)
{
	g_autofree gchar *stripped = g_strstrip (g_strdup (text != NULL ? text : ""));
	gsize len = strlen (stripped);
	if (len <= max)
		return g_steal_pointer (&stripped);
	return g_strdup_printf ("…%s", stripped + len - max);
}

/**
 * ac_run_tool:
 * @argv: the tool and its arguments; never a secret (argv is world-readable in /proc)
 * @env_extra: (nullable): "NAME=value" entries added to the environment
 *
 * Runs a tool to completion in its own process group, capturing its output. The tool's
 * environment is ac_process_tool_environ() (PATH, TMPDIR, LC_ALL=C…) plus @env_extra, never
 * the caller's: a secret kept there does not reach the tool.
 * On cancellation the group gets SIGTERM, then SIGKILL, and the call fails with
 * %AC_ERROR_CANCELLED. A non-zero exit fails with the tail of the tool's stderr.
 */
gboolean
ac_run_tool (const gchar *const *argv,
	     const gchar *const *env_extra,
	     GCancellable *cancellable,
	     gchar **stdout_out,
	     GError **error)
{
	g_autoptr(GSubprocessLauncher) launcher = NULL;
	g_autoptr(GSubprocess) proc = NULL;
	g_autoptr(GError) local = NULL;
	g_autofree gchar *out = NULL;
	g_autofree gchar *err = NULL;
	g_autofree gchar *cmdline = g_strjoinv (" ", (gchar **)argv);
	g_auto(GStrv) envp = ac_process_tool_environ (env_extra);

	g_debug ("running %s", cmdline);
	if (g_cancellable_is_cancelled (cancellable)) {
		g_set_error (error, AC_ERROR, AC_ERROR_CANCELLED, "interrupted before running %s",
			     argv[0]);
		return FALSE;
	}
	launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE |
					      G_SUBPROCESS_FLAGS_STDERR_PIPE |
					      G_SUBPROCESS_FLAGS_STDIN_PIPE);
	/* a clean environment: the caller's may hold a secret (passphrase.env) */
	g_subprocess_launcher_set_environ (launcher, envp);
	g_subprocess_launcher_set_child_setup (launcher, ac_run_child_setup, NULL, NULL);
	proc = g_subprocess_launcher_spawnv (launcher, argv, &local);
	if (proc == NULL) {
		g_set_error (error, AC_ERROR,
			     g_error_matches (local, G_SPAWN_ERROR, G_SPAWN_ERROR_NOENT)
				     ? AC_ERROR_UNSUPPORTED
				     : AC_ERROR_IO,
			     "cannot run %s: %s", argv[0], local->message);
		return FALSE;
	}
	if (!g_subprocess_communicate_utf8 (proc, "", cancellable, &out, &err, &local)) {
		const gchar *id = g_subprocess_get_identifier (proc);
		if (id != NULL) {
			pid_t pid = (pid_t)g_ascii_strtoll (id, NULL, 10);
			(void)kill (-pid, SIGTERM);
			for (guint i = 0; i < 50 && kill (-pid, 0) == 0; i++) {
				if (g_subprocess_get_if_exited (proc))
					break;
				g_usleep (100 * 1000);
			}
			(void)kill (-pid, SIGKILL);
		}
		g_subprocess_wait (proc, NULL, NULL);
		if (g_error_matches (local, G_IO_ERROR, G_IO_ERROR_CANCELLED)) {
			g_set_error (error, AC_ERROR, AC_ERROR_CANCELLED, "interrupted while running %s",
				     argv[0]);
		} else {
			g_set_error (error, AC_ERROR, AC_ERROR_IO, "%s: %s", argv[0], local->message);
		}
		return FALSE;
	}
	if (!g_subprocess_get_if_exited (proc) || g_subprocess_get_exit_status (proc) != 0) {
		g_autofree gchar *tail = ac_run_tail (err != NULL && err[0] != '\0' ? err : out, 600);
		if (g_subprocess_get_if_signaled (proc)) {
			g_set_error (error, AC_ERROR, AC_ERROR_IO, "%s was killed by signal %d: %s",
				     argv[0], g_subprocess_get_term_sig (proc), tail);
		} else {
			g_set_error (error, AC_ERROR, AC_ERROR_IO, "%s failed with exit status %d: %s",
				     argv[0], g_subprocess_get_exit_status (proc), tail);
		}
		return FALSE;
	}
	if (stdout_out != NULL)
		*stdout_out = g_steal_pointer (&out);
	return TRUE;
}

/* ---- removal of trees, never crossing into another filesystem ---- */

static int
ac_remove_one (const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	if (flag == FTW_DP)
		return rmdir (path) == 0 || errno == ENOENT ? 0 : -1;
	return unlink (path) == 0 || errno == ENOENT ? 0 : -1;
}

/**
 * ac_remove_tree:
 *
 * Removes a file or a directory tree without following symlinks and without descending into
 * mount points (a mount left behind makes the removal fail instead of emptying the mounted
 * filesystem).
 */
gboolean
ac_remove_tree (const gchar *path, GError **error)
{
	struct stat st;
	if (lstat (path, &st) != 0) {
		if (errno == ENOENT)
			return TRUE;
		g_set_error (error, AC_ERROR, AC_ERROR_IO, "cannot stat %s: %s", path,
			     g_strerror (errno));
		return FALSE;
	}
	if (!S_ISDIR (st.st_mode)) {
		if (unlink (path) != 0 && errno != ENOENT) {
			g_set_error (error, AC_ERROR, AC_ERROR_IO, "cannot remove %s: %s", path,
				     g_strerror (errno));
			return FALSE;
		}
		return TRUE;
	}
	if (nftw (path, ac_remove_one, 32, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) != 0) {
		g_set_error (error, AC_ERROR, AC_ERROR_IO, "cannot remove the tree %s: %s", path,
			     g_strerror (errno));
		return FALSE;
	}
	return TRUE;
}

gchar *
ac_make_workdir (const gchar *parent, GError **error)
{
	g_autofree gchar *tmpl = g_build_filename (parent != NULL ? parent : g_get_tmp_dir (),
						   "ac-build-XXXXXX", NULL);
	if (g_mkdtemp_full (tmpl, 0700) == NULL) {
		g_set_error (error, AC_ERROR, AC_ERROR_IO, "cannot create a work directory in %s: %s",
			     parent != NULL ? parent : g_get_tmp_dir (), g_strerror (errno));
		return NULL;
	}
	return g_steal_pointer (&tmpl);
}

/* ---- the cleanup stack ---- */

typedef enum {
	AC_CLEANUP_PATH,
	AC_CLEANUP_MOUNT,
} AcCleanupKind;

typedef struct {
	AcCleanupKind kind;
	gchar *what;
} AcCleanupItem;

struct _AcCleanup {
	GPtrArray *items; /* of AcCleanupItem, in the order they were added */
};

static void
ac_cleanup_item_free (gpointer data)
{
	AcCleanupItem *item = data;
	g_free (item->what);
	g_free (item);
}

AcCleanup *
ac_cleanup_new (void)
{
	AcCleanup *self = g_new0 (AcCleanup, 1);
	self->items = g_ptr_array_new_with_free_func (ac_cleanup_item_free);
	return self;
}

static void
ac_cleanup_add (AcCleanup *self, AcCleanupKind kind, const gchar *what)
{
	AcCleanupItem *item = g_new0 (AcCleanupItem, 1);
	item->kind = kind;
	item->what = g_strdup (what);
	g_ptr_array_add (self->items, item);
}

void
ac_cleanup_add_path (AcCleanup *self, const gchar *path)
{
	ac_cleanup_add (self, AC_CLEANUP_PATH, path);
}

void
ac_cleanup_add_mount (AcCleanup *self, const gchar *mountpoint)
{
	ac_cleanup_add (self, AC_CLEANUP_MOUNT, mountpoint);
}

/* Keep @what (the last registration of it): it was renamed into place or undone already. */
gboolean
ac_cleanup_forget (AcCleanup *self, const gchar *what)
{
	for (guint i = self->items->len; i > 0; i--) {
		AcCleanupItem *item = g_ptr_array_index (self->items, i - 1);
		if (g_strcmp0 (item->what, what) == 0) {
			g_ptr_array_remove_index (self->items, i - 1);
			return TRUE;
		}
	}
	return FALSE;
}

static gboolean
ac_cleanup_item_run (AcCleanupItem *item, GError **error)
{
	switch (item->kind) {
	case AC_CLEANUP_PATH:
		return ac_remove_tree (item->what, error);
	case AC_CLEANUP_MOUNT:
		if (umount2 (item->what, 0) == 0 || errno == EINVAL || errno == ENOENT)
			return TRUE;
		/* busy: detach now, the kernel finishes when the last user leaves */
		if (umount2 (item->what, MNT_DETACH) == 0)
			return TRUE;
		g_set_error (error, AC_ERROR, AC_ERROR_IO, "cannot unmount %s: %s", item->what,
			     g_strerror (errno));
		return FALSE;
	default:
		g_assert_not_reached ();
	}
}

/**
 * ac_cleanup_run:
 *
 * Undoes everything registered, newest first, going on after a failure; reports the first
 * failure. The stack is empty afterwards.
 */
gboolean
ac_cleanup_run (AcCleanup *self, GError **error)
{
	GError *first = NULL;
	while (self->items->len > 0) {
		AcCleanupItem *item = g_ptr_array_index (self->items, self->items->len - 1);
		g_autoptr(GError) local = NULL;
		g_debug ("cleanup: %s", item->what);
		if (!ac_cleanup_item_run (item, &local)) {
			g_warning ("cleanup: %s", local->message);
			if (first == NULL)
				first = g_steal_pointer (&local);
		}
		g_ptr_array_remove_index (self->items, self->items->len - 1);
	}
	if (first != NULL) {
		g_propagate_error (error, first);
		return FALSE;
	}
	return TRUE;
}

/**
 * ac_cleanup_run_mounts:
 *
 * For --on-error=abort: undoes mounts and loop devices (never worth keeping: they pin the
 * tree and hold host resources) and forgets the paths, which stay for inspection.
 */
gboolean
ac_cleanup_run_mounts (AcCleanup *self, GError **error)
{
	g_autoptr(GPtrArray) keep = g_ptr_array_new ();
	for (guint i = 0; i < self->items->len; i++) {
		AcCleanupItem *item = g_ptr_array_index (self->items, i);
		if (item->kind == AC_CLEANUP_PATH)
			g_ptr_array_add (keep, item);
	}
	for (guint i = 0; i < keep->len; i++)
		g_ptr_array_remove (self->items, g_ptr_array_index (keep, i)); /* keeps the order */
	return ac_cleanup_run (self, error);
}

void
ac_cleanup_free (AcCleanup *self)
{
	if (self == NULL)
		return;
	if (self->items->len > 0)
		(void)ac_cleanup_run (self, NULL);
	g_ptr_array_unref (self->items);
	g_free (self);
}

/* ---- SIGINT/SIGTERM/SIGHUP → cancellation ---- */

struct _AcSignalGuard {
	GMainContext *context;
	GMainLoop *loop;
	GThread *thread;
	GCancellable *cancellable;
	GSource *sources[3];
};

static gboolean
ac_signal_guard_cb (gpointer user_data)
{
	AcSignalGuard *self = user_data;
	g_cancellable_cancel (self->cancellable);
	return G_SOURCE_CONTINUE;
}

static gpointer
ac_signal_guard_thread (gpointer user_data)
{
	AcSignalGuard *self = user_data;
	g_main_context_push_thread_default (self->context);
	g_main_loop_run (self->loop);
	g_main_context_pop_thread_default (self->context);
	return NULL;
}

/**
 * ac_signal_guard_new:
 *
 * Until freed, SIGINT, SIGTERM and SIGHUP cancel @cancellable instead of killing the process,
 * so every step unwinds and the cleanup stack runs. Handled in a thread of its own: the build
 * itself is synchronous.
 */
AcSignalGuard *
ac_signal_guard_new (GCancellable *cancellable)
{
	static const gint signals[] = { SIGINT, SIGTERM, SIGHUP };
	AcSignalGuard *self = g_new0 (AcSignalGuard, 1);
	self->context = g_main_context_new ();
	self->loop = g_main_loop_new (self->context, FALSE);
	self->cancellable = g_object_ref (cancellable);
	for (guint i = 0; i < G_N_ELEMENTS (signals); i++) {
		self->sources[i] = g_unix_signal_source_new (signals[i]);
		g_source_set_callback (self->sources[i], ac_signal_guard_cb, self, NULL);
		g_source_attach (self->sources[i], self->context);
	}
	self->thread = g_thread_new ("ac-signals", ac_signal_guard_thread, self);
	return self;
}

static gboolean
ac_signal_guard_quit_cb (gpointer user_data)
{
	g_main_loop_quit (user_data);
	return G_SOURCE_REMOVE;
}

void
ac_signal_guard_free (AcSignalGuard *self)
{
	if (self == NULL)
		return;
	/* an idle in the guard's context: works even if the loop has not started running yet */
	g_main_context_invoke (self->context, ac_signal_guard_quit_cb, self->loop);
	g_thread_join (self->thread);
	for (guint i = 0; i < G_N_ELEMENTS (self->sources); i++) {
		g_source_destroy (self->sources[i]);
		g_source_unref (self->sources[i]);
	}
	g_main_loop_unref (self->loop);
	g_main_context_unref (self->context);
	g_object_unref (self->cancellable);
	g_free (self);
}
