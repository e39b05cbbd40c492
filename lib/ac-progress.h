/*
 * aleph-confidential: weighted progress for long work, in the manner of fwupd's FuProgress.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib-object.h>
#include <stdio.h>

G_BEGIN_DECLS

#define AC_TYPE_PROGRESS (ac_progress_get_type ())
G_DECLARE_FINAL_TYPE (AcProgress, ac_progress, AC, PROGRESS, GObject)

/**
 * AcProgressOutput:
 * @AC_PROGRESS_OUTPUT_QUIET: print nothing (`--quiet`)
 * @AC_PROGRESS_OUTPUT_TTY: a bar redrawn in place on a terminal
 * @AC_PROGRESS_OUTPUT_JSON: one NDJSON event per change (`--json`)
 * @AC_PROGRESS_OUTPUT_LINES: one line per step change (stderr is not a terminal)
 */
typedef enum {
	AC_PROGRESS_OUTPUT_QUIET,
	AC_PROGRESS_OUTPUT_TTY,
	AC_PROGRESS_OUTPUT_JSON,
	AC_PROGRESS_OUTPUT_LINES,
} AcProgressOutput;

AcProgress *ac_progress_new (const gchar *id);
void ac_progress_add_step (AcProgress *self, const gchar *id, guint weight);
AcProgress *ac_progress_get_child (AcProgress *self);
void ac_progress_step_done (AcProgress *self);
void ac_progress_set_fraction (AcProgress *self, guint64 done, guint64 total);
void ac_progress_finished (AcProgress *self);

gdouble ac_progress_get_fraction (AcProgress *self);
gchar *ac_progress_get_step_path (AcProgress *self);
AcProgress *ac_progress_peek_child (AcProgress *self);
gboolean ac_progress_get_units (AcProgress *self, guint64 *done, guint64 *total);

AcProgressOutput ac_progress_output_pick (gboolean json, gboolean quiet, FILE *tty_stream);
void ac_progress_set_output (AcProgress *self, AcProgressOutput output, FILE *stream);

G_END_DECLS
