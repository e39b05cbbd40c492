/*
 * virt-aleph: drawing a progress. Each change is drawn once: a change that moves neither the
 * step nor the tenth of a percent draws nothing. GLib only (the front draws ipfs cid | car);
 * an AcProgress (GObject) is drawn by ac-cli-progress-attach.c, in the main module.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <math.h>
#include <unistd.h>

#include "ac-cli-progress.h"

struct _AcCliProgressView {
	AcCliProgressOutput output;
	FILE *stream;
	gchar *id;
	gint last_permille;
	gchar *last_path;
	gint64 start_us;
};

void
ac_cli_progress_view_free (AcCliProgressView *view)
{
	if (view == NULL)
		return;
	g_free (view->id);
	g_free (view->last_path);
	g_free (view);
}

static void
json_string (FILE *stream, const gchar *s)
{
	fputc ('"', stream);
	for (const guchar *p = (const guchar *)s; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			fprintf (stream, "\\%c", *p);
		else if (*p < 0x20)
			fprintf (stream, "\\u%04x", *p);
		else
			fputc (*p, stream);
	}
	fputc ('"', stream);
}

/**
 * ac_cli_progress_view_draw:
 * @fraction: 0.0 … 1.0 overall
 * @path: the current step path ("" for none)
 *
 * Draws a change (nothing for a %NULL @view), unless it moves neither the step nor the tenth of a
 * percent.
 */
void
ac_cli_progress_view_draw (AcCliProgressView *view, gdouble fraction, const gchar *path)
{
	gint permille = (gint)floor (fraction * 1000.0);
	gboolean path_changed;
	gdouble elapsed;
	FILE *s;

	if (view == NULL)
		return;
	path_changed = g_strcmp0 (path, view->last_path) != 0;
	elapsed = (g_get_monotonic_time () - view->start_us) / 1e6;
	s = view->stream;
	if (!path_changed && permille == view->last_permille)
		return;
	switch (view->output) {
	case AC_CLI_PROGRESS_OUTPUT_JSON:
		fprintf (s, "{\"event\":\"progress\",\"id\":");
		json_string (s, view->id);
		fprintf (s, ",\"step\":");
		json_string (s, path);
		fprintf (s, ",\"percent\":%.1f,\"elapsed\":%.3f}\n", permille / 10.0, elapsed);
		break;
	case AC_CLI_PROGRESS_OUTPUT_TTY: {
		const guint width = 30;
		guint filled = (guint)(fraction * width);
		fprintf (s, "\r\033[K[");
		for (guint i = 0; i < width; i++)
			fputc (i < filled ? '#' : ' ', s);
		fprintf (s, "] %3d%% %s", permille / 10, path);
		if (permille >= 1000)
			fputc ('\n', s);
		break;
	}
	case AC_CLI_PROGRESS_OUTPUT_LINES:
		if (path_changed && path[0] != '\0')
			fprintf (s, "%s: %s\n", view->id, path);
		break;
	case AC_CLI_PROGRESS_OUTPUT_QUIET:
	default:
		break;
	}
	fflush (s);
	view->last_permille = permille;
	g_free (view->last_path);
	view->last_path = g_strdup (path);
}

/**
 * ac_cli_progress_output_pick:
 *
 * The output a command should use: JSON if asked, nothing if quiet, a bar when
 * @tty_stream is a terminal, step lines otherwise.
 */
AcCliProgressOutput
ac_cli_progress_output_pick (gboolean json, gboolean quiet, FILE *tty_stream)
{
	if (json)
		return AC_CLI_PROGRESS_OUTPUT_JSON;
	if (quiet)
		return AC_CLI_PROGRESS_OUTPUT_QUIET;
	if (tty_stream != NULL && isatty (fileno (tty_stream)))
		return AC_CLI_PROGRESS_OUTPUT_TTY;
	return AC_CLI_PROGRESS_OUTPUT_LINES;
}

/**
 * ac_cli_progress_view_new:
 * @id: what the drawing calls the whole ("build")
 *
 * A drawing of a progress on @stream: %NULL when @output is quiet or @stream %NULL.
 */
AcCliProgressView *
ac_cli_progress_view_new (const gchar *id, AcCliProgressOutput output, FILE *stream)
{
	AcCliProgressView *view;

	if (output == AC_CLI_PROGRESS_OUTPUT_QUIET || stream == NULL)
		return NULL;
	view = g_new0 (AcCliProgressView, 1);
	view->output = output;
	view->stream = stream;
	view->id = g_strdup (id);
	view->last_permille = -1;
	view->start_us = g_get_monotonic_time ();
	return view;
}
