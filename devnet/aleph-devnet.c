/*
 * aleph-devnet: runs a local Aleph network (CCN + CRNs with software SEV PSPs) on loopback.
 * When every listener is bound it prints one JSON line on stdout (URLs, trust root, firmware)
 * and serves until SIGTERM or SIGINT.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <glib-unix.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include "ac-devnet.h"
#include "ac-error.h"
#include "ac-json.h"

#if !defined(__SANITIZE_ADDRESS__)
/* a crash says so on stderr (the tests that spawn us only see a closed port otherwise) */
static void
fatal_signal_cb (int sig)
{
	static const char msg[] = "aleph-devnet: fatal signal, aborting\n";
	ssize_t rc = write (STDERR_FILENO, msg, sizeof (msg) - 1);
	(void)rc;
	signal (sig, SIG_DFL);
	raise (sig);
}
#endif

static gboolean
quit_cb (gpointer user_data)
{
	g_main_loop_quit (user_data);
	return G_SOURCE_REMOVE;
}

int
main (int argc, char **argv)
{
	g_autoptr (GOptionContext) ctx
	    = g_option_context_new ("- a local Aleph network for tests and demos");
	g_autoptr (GError) error = NULL;
	g_autoptr (AcDevnet) devnet = NULL;
	g_autoptr (GMainLoop) loop = NULL;
	g_autofree gchar *config = NULL;
	g_autofree gchar *line = NULL;
	g_autofree gchar *state_dir = NULL;
	gint crns = 1;
	gboolean debug = FALSE;
	gboolean version = FALSE;
	const GOptionEntry entries[] = {
		{ "config", 'c', 0, G_OPTION_ARG_FILENAME, &config, "JSON configuration file",
		  "FILE" },
		{ "state-dir", 0, 0, G_OPTION_ARG_FILENAME, &state_dir,
		  "without --config: the state directory (everything else default)", "DIR" },
		{ "crns", 0, 0, G_OPTION_ARG_INT, &crns,
		  "without --config: how many CRNs (default 1)", "N" },
		{ "debug", 0, 0, G_OPTION_ARG_NONE, &debug, "log every request decision", NULL },
		{ "version", 'V', 0, G_OPTION_ARG_NONE, &version, "print the version and exit",
		  NULL },
		{ NULL },
	};

	setlocale (LC_ALL, "");
#if !defined(__SANITIZE_ADDRESS__) /* ASan reports those itself */
	signal (SIGSEGV, fatal_signal_cb);
	signal (SIGBUS, fatal_signal_cb);
	signal (SIGFPE, fatal_signal_cb);
	signal (SIGILL, fatal_signal_cb);
#endif
	g_option_context_add_main_entries (ctx, entries, NULL);
	g_option_context_set_description (
	    ctx, "The configuration names the state directory, the ports (0 = ephemeral), "
	         "the number of CRNs and their attacks, the trust-root output path and the "
	         "knobs; see devnet/README.md.\n"
	         "stdout: one JSON line when ready. Exit codes as virt-aleph(1).");
	if (!g_option_context_parse (ctx, &argc, &argv, &error)) {
		g_printerr ("aleph-devnet: %s\n", error->message);
		return AC_EXIT_USAGE;
	}
	if (version) {
		printf ("aleph-devnet %s\n", PACKAGE_VERSION);
		return AC_EXIT_OK;
	}
	if (debug)
		g_setenv ("G_MESSAGES_DEBUG", "all", TRUE);
	if (config == NULL && state_dir == NULL) {
		g_printerr ("aleph-devnet: --config FILE or --state-dir DIR is required\n");
		return AC_EXIT_USAGE;
	}
	if (config != NULL) {
		devnet = ac_devnet_new_from_file (config, &error);
	} else {
		g_autoptr (JsonBuilder) b = json_builder_new ();
		g_autoptr (JsonNode) node = NULL;
		g_autofree gchar *json = NULL;
		g_autofree gchar *cwd = g_get_current_dir ();
		json_builder_begin_object (b);
		ac_json_builder_add_string (b, "state_dir", state_dir);
		ac_json_builder_add_int (b, "crns", crns);
		json_builder_end_object (b);
		node = json_builder_get_root (b);
		json = json_to_string (node, FALSE);
		devnet = ac_devnet_new_from_json (json, cwd, &error);
	}
	if (devnet == NULL || !ac_devnet_start (devnet, &error)) {
		g_printerr ("aleph-devnet: %s\n", error->message);
		return ac_error_to_exit_code (error);
	}
	loop = g_main_loop_new (NULL, FALSE);
	g_unix_signal_add (SIGTERM, quit_cb, loop);
	g_unix_signal_add (SIGINT, quit_cb, loop);
	line = ac_devnet_get_ready_line (devnet);
	fprintf (stdout, "%s\n", line);
	fflush (stdout);
	g_main_loop_run (loop);
	ac_devnet_stop (devnet);
	return AC_EXIT_OK;
}
