/*
 * virt-aleph: drawing an AcProgress (a GObject: the main module's) with ac-cli-progress.c.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "ac-cli-progress.h"

static void
draw_cb (AcProgress *progress, gdouble fraction, const gchar *path, gpointer user_data)
{
	ac_cli_progress_view_draw (user_data, fraction, path);
}

static void
view_free_cb (gpointer data, GClosure *closure)
{
	ac_cli_progress_view_free (data);
}

/**
 * ac_cli_progress_attach:
 * @progress: the root of a progress tree
 *
 * Draws every change of @progress on @stream for as long as @progress lives.
 */
void
ac_cli_progress_attach (AcProgress *progress, AcCliProgressOutput output, FILE *stream)
{
	AcCliProgressView *view;

	g_return_if_fail (AC_IS_PROGRESS (progress));
	view = ac_cli_progress_view_new (ac_progress_get_id (progress), output, stream);
	if (view == NULL)
		return;
	g_signal_connect_data (progress, "changed", G_CALLBACK (draw_cb), view, view_free_cb, 0);
}
