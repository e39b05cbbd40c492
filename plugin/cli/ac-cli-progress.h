/*
 * virt-aleph: drawing an AcProgress for the person or the script watching — a bar redrawn in
 * place on a terminal, one line per step otherwise, NDJSON events with --json.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <stdio.h>

#include "ac-progress.h"

G_BEGIN_DECLS

/**
 * AcCliProgressOutput:
 * @AC_CLI_PROGRESS_OUTPUT_QUIET: print nothing (`--quiet`)
 * @AC_CLI_PROGRESS_OUTPUT_TTY: a bar redrawn in place on a terminal
 * @AC_CLI_PROGRESS_OUTPUT_JSON: one NDJSON event per change (`--json`)
 * @AC_CLI_PROGRESS_OUTPUT_LINES: one line per step change (the stream is not a terminal)
 */
typedef enum {
	AC_CLI_PROGRESS_OUTPUT_QUIET,
	AC_CLI_PROGRESS_OUTPUT_TTY,
	AC_CLI_PROGRESS_OUTPUT_JSON,
	AC_CLI_PROGRESS_OUTPUT_LINES,
} AcCliProgressOutput;

AcCliProgressOutput
ac_cli_progress_output_pick (gboolean json, gboolean quiet, FILE *tty_stream);

/* the drawing itself, GLib only (ac-cli-progress.c, the front's) */
typedef struct _AcCliProgressView AcCliProgressView;
AcCliProgressView *
ac_cli_progress_view_new (const gchar *id, AcCliProgressOutput output, FILE *stream);
void
ac_cli_progress_view_draw (AcCliProgressView *view, gdouble fraction, const gchar *path);
void
ac_cli_progress_view_free (AcCliProgressView *view);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AcCliProgressView, ac_cli_progress_view_free)

/* an AcProgress drawn by a view (ac-cli-progress-attach.c, the main module's: GObject) */
void
ac_cli_progress_attach (AcProgress *progress, AcCliProgressOutput output, FILE *stream);

G_END_DECLS
