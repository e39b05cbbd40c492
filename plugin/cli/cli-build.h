/*
 * virt-aleph build: cli-build.c builds; cli-build-check.c is `build validate` and
 * `build inspect`.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

#include "ac-cli.h"

G_BEGIN_DECLS

/* cli-build.c: the variables of --var-file (in order) and --var (overriding), @origins:
 * name → where its value comes from */
gboolean
cli_build_load_vars (gchar **vars_kv,
                     gchar **var_files,
                     GHashTable *vars,
                     GHashTable *origins,
                     GError **error);

/* cli-build.c: standard input read once at most: by the template (-), a --var-file - or
 * --passphrase-stdin */
gboolean
cli_build_check_stdin (const gchar *template_path,
                       gchar **var_files,
                       gboolean pass_stdin,
                       GError **error);

/* --var and --var-file, of build, build validate and build inspect: the GOptionEntry lines,
 * into GStrv @vars_kv and @var_files */
/* clang-format off */
#define CLI_BUILD_VAR_ENTRIES(vars_kv, var_files)                                                  \
	{ "var", 0, 0, G_OPTION_ARG_STRING_ARRAY, (vars_kv),                                       \
	  "set a template variable (repeatable; overrides --var-file)", "NAME=VALUE" },            \
	{ "var-file", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, (var_files),                              \
	  "template variables from a file: a JSON object of strings, or NAME=VALUE lines "         \
	  "(repeatable)", "FILE" }
/* clang-format on */

/* cli-build-check.c */
int
cli_build_check_word (int argc, char **argv);
int
cli_build_check_run (AcCliGlobal *global, int word, int argc, char **argv);

G_END_DECLS
