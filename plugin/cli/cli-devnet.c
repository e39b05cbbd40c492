/*
 * virt-aleph devnet: runs the local Aleph network (aleph-devnet, devnet/) in the foreground.
 * The devnet is its own program (libsoup-3.0, sqlite3); this command finds it and hands over
 * its arguments: virt-aleph devnet --state-dir DIR [--crns N] | --config FILE.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <errno.h>
#include <gio/gio.h>
#include <glib-unix.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ac-cli.h"

/* $ALEPH_DEVNET, beside this program (installed), the build tree, then $PATH */
static gchar *
devnet_find_program (void)
{
	const gchar *env = g_getenv ("ALEPH_DEVNET");
	g_autofree gchar *self = g_file_read_link ("/proc/self/exe", NULL);
	g_autofree gchar *dir = self != NULL ? g_path_get_dirname (self) : NULL;

	if (env != NULL && env[0] != '\0')
		return g_strdup (env);
	if (dir != NULL) {
		g_autofree gchar *beside = g_build_filename (dir, "aleph-devnet", NULL);
		g_autofree gchar *tree = g_build_filename (dir, "..", "..", "devnet", "aleph-devnet", NULL);
		if (g_file_test (beside, G_FILE_TEST_IS_EXECUTABLE))
			return g_steal_pointer (&beside);
		if (g_file_test (tree, G_FILE_TEST_IS_EXECUTABLE))
			return g_canonicalize_filename (tree, NULL);
	}
	return g_find_program_in_path ("aleph-devnet");
}

/* --json: the devnet runs as a child so that its failure becomes the JSON error object */
typedef struct {
	GMainLoop *loop;
	GSubprocess *proc;
	guint pending;   /* stdout, stderr, exit */
	gchar *last_err; /* the last line aleph-devnet wrote on stderr: its error */
} DevnetRun;

static void
devnet_read_next (DevnetRun *run, GDataInputStream *in);

static void
devnet_done_one (DevnetRun *run)
{
	if (--run->pending == 0)
		g_main_loop_quit (run->loop);
}

/* stdout carries JSON only: the ready line; anything else (log messages) goes to stderr */
static void
devnet_line_cb (GObject *source, GAsyncResult *res, gpointer data)
{
	DevnetRun *run = data;
	GDataInputStream *in = G_DATA_INPUT_STREAM (source);
	gboolean is_stdout = g_object_get_data (source, "stdout") != NULL;
	g_autofree gchar *raw = g_data_input_stream_read_line_finish (in, res, NULL, NULL);
	g_autofree gchar *line = NULL;

	if (raw == NULL) {
		g_object_unref (in);
		devnet_done_one (run);
		return;
	}
	line = g_utf8_make_valid (raw, -1);
	if (is_stdout) {
		g_autoptr (JsonNode) node = json_from_string (line, NULL);
		if (node != NULL && JSON_NODE_HOLDS_OBJECT (node)) {
			printf ("%s\n", line);
			fflush (stdout);
		} else {
			fprintf (stderr, "%s\n", line);
		}
	} else {
		fprintf (stderr, "%s\n", line);
		if (line[0] != '\0') {
			g_free (run->last_err);
			run->last_err = g_steal_pointer (&line);
		}
	}
	devnet_read_next (run, in);
}

static void
devnet_read_next (DevnetRun *run, GDataInputStream *in)
{
	g_data_input_stream_read_line_async (in, G_PRIORITY_DEFAULT, NULL, devnet_line_cb, run);
}

static void
devnet_watch (DevnetRun *run, GInputStream *stream, gboolean is_stdout)
{
	GDataInputStream *in = g_data_input_stream_new (stream);
	if (is_stdout)
		g_object_set_data (G_OBJECT (in), "stdout", GINT_TO_POINTER (1));
	devnet_read_next (run, in);
}

static void
devnet_wait_cb (GObject *source, GAsyncResult *res, gpointer data)
{
	g_subprocess_wait_finish (G_SUBPROCESS (source), res, NULL);
	devnet_done_one (data);
}

static gboolean
devnet_signal_cb (gpointer data)
{
	DevnetRun *run = data;
	/* the devnet stops cleanly on SIGTERM and SIGINT alike */
	g_subprocess_send_signal (run->proc, SIGTERM);
	return G_SOURCE_CONTINUE;
}

static int
devnet_run_json (AcCliGlobal *global, GPtrArray *args)
{
	g_autoptr (GError) error = NULL;
	g_autoptr (GSubprocess) proc = NULL;
	g_autoptr (GMainLoop) loop = g_main_loop_new (NULL, FALSE);
	DevnetRun run = { loop, NULL, 3, NULL };
	g_autofree gchar *last_err = NULL;
	const gchar *msg;
	guint sigint, sigterm;
	gint status;

	proc = g_subprocess_newv ((const gchar *const *)args->pdata,
	                          G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE,
	                          &error);
	if (proc == NULL)
		return ac_cli_fail (global,
		                    g_error_new (AC_ERROR, AC_ERROR_IO, "running %s: %s",
		                                 (const gchar *)args->pdata[0], error->message));
	run.proc = proc;
	devnet_watch (&run, g_subprocess_get_stdout_pipe (proc), TRUE);
	devnet_watch (&run, g_subprocess_get_stderr_pipe (proc), FALSE);
	g_subprocess_wait_async (proc, NULL, devnet_wait_cb, &run);
	sigint = g_unix_signal_add (SIGINT, devnet_signal_cb, &run);
	sigterm = g_unix_signal_add (SIGTERM, devnet_signal_cb, &run);
	g_main_loop_run (loop);
	g_source_remove (sigint);
	g_source_remove (sigterm);
	last_err = run.last_err;
	if (!g_subprocess_get_if_exited (proc))
		return ac_cli_fail (global, g_error_new (AC_ERROR, AC_ERROR_INTERNAL,
		                                         "aleph-devnet was killed by signal %d",
		                                         g_subprocess_get_term_sig (proc)));
	status = g_subprocess_get_exit_status (proc);
	if (status == AC_EXIT_OK)
		return AC_EXIT_OK;
	/* aleph-devnet's exit codes are virt-aleph's; its message is its last line */
	msg = last_err != NULL ? last_err : "aleph-devnet failed";
	if (g_str_has_prefix (msg, "aleph-devnet: "))
		msg += strlen ("aleph-devnet: ");
	return ac_cli_fail (global, g_error_new (AC_ERROR, ac_cli_error_from_exit_code (status),
	                                         "devnet: %s", msg));
}

int
ac_cli_cmd_devnet (AcCliGlobal *global, int argc, char **argv)
{
	g_autofree gchar *program = devnet_find_program ();
	g_autoptr(GPtrArray) args = g_ptr_array_new ();
	g_autoptr(GError) error = NULL;
	gboolean rest = FALSE;

	if (program == NULL) {
		g_set_error_literal (&error,
				     AC_ERROR,
				     AC_ERROR_UNSUPPORTED,
				     "aleph-devnet is not installed (it is built when libsoup-3.0 and sqlite3 "
				     "are available); set ALEPH_DEVNET to its path");
		return ac_cli_fail (global, error);
	}
	g_ptr_array_add (args, program);
	for (int i = 1; i < argc; i++) {
		/* virt-aleph's global options are not aleph-devnet's (its -c is --config) */
		if (!rest
		    && (g_strcmp0 (argv[i], "--json") == 0 || g_strcmp0 (argv[i], "--quiet") == 0
		        || g_strcmp0 (argv[i], "-q") == 0 || g_strcmp0 (argv[i], "--debug") == 0
		        || g_str_has_prefix (argv[i], "--connect=")))
			continue;
		if (!rest && g_strcmp0 (argv[i], "--connect") == 0) {
			i++;
			continue;
		}
		rest = rest || g_strcmp0 (argv[i], "--") == 0;
		g_ptr_array_add (args, argv[i]);
	}
	if (global->debug)
		g_ptr_array_add (args, (gpointer) "--debug");
	g_ptr_array_add (args, NULL);
	if (global->json)
		return devnet_run_json (global, args);
	execv (program, (char **)args->pdata);
	g_set_error (&error, AC_ERROR, AC_ERROR_IO, "running %s: %s", program, g_strerror (errno));
	return ac_cli_fail (global, error);
}
