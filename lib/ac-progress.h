/*
 * aleph-confidential: weighted progress for long work, in the manner of fwupd's FuProgress.
 * It reports (::changed); the CLI draws (plugin/cli/ac-cli-progress.h).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

#define AC_TYPE_PROGRESS (ac_progress_get_type ())
G_DECLARE_FINAL_TYPE (AcProgress, ac_progress, AC, PROGRESS, GObject)

AcProgress *ac_progress_new (const gchar *id);
void ac_progress_add_step (AcProgress *self, const gchar *id, guint weight);
AcProgress *ac_progress_get_child (AcProgress *self);
void ac_progress_step_done (AcProgress *self);
void ac_progress_set_fraction (AcProgress *self, guint64 done, guint64 total);
void ac_progress_finished (AcProgress *self);

const gchar *ac_progress_get_id (AcProgress *self);
gdouble ac_progress_get_fraction (AcProgress *self);
gchar *ac_progress_get_step_path (AcProgress *self);
AcProgress *ac_progress_peek_child (AcProgress *self);
gboolean ac_progress_get_units (AcProgress *self, guint64 *done, guint64 *total);


G_END_DECLS
