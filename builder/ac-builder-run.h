/*
 * aleph-confidential: the builder's side effects, undone in reverse order — external tools,
 * temporaries, mounts and loop devices, and SIGINT/SIGTERM turned into cancellation.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

gboolean ac_run_tool (const gchar *const *argv,
		      const gchar *const *env_extra,
		      GCancellable *cancellable,
		      gchar **stdout_out,
		      GError **error);
gboolean ac_run_tool_exists (const gchar *name);
void
ac_argv_add (GPtrArray *argv, const gchar *first, ...) G_GNUC_NULL_TERMINATED;

typedef struct _AcCleanup AcCleanup;

AcCleanup *ac_cleanup_new (void);
void ac_cleanup_add_path (AcCleanup *self, const gchar *path);
void ac_cleanup_add_mount (AcCleanup *self, const gchar *mountpoint);
gboolean ac_cleanup_forget (AcCleanup *self, const gchar *what);
gboolean ac_cleanup_run (AcCleanup *self, GError **error);
gboolean ac_cleanup_run_mounts (AcCleanup *self, GError **error);
void ac_cleanup_free (AcCleanup *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AcCleanup, ac_cleanup_free)

gboolean ac_remove_tree (const gchar *path, GError **error);
gchar *ac_make_workdir (const gchar *parent, GError **error);

typedef struct _AcSignalGuard AcSignalGuard;
AcSignalGuard *ac_signal_guard_new (GCancellable *cancellable);
void ac_signal_guard_free (AcSignalGuard *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AcSignalGuard, ac_signal_guard_free)

G_END_DECLS
