/*
 * Fuzz target: --var-file of `virt-aleph build` (a variable file may come with a template from
 * anyone). Properties: no crash or leak; a file that parses gives only valid variable names,
 * each with the line it came from; every refusal is an INVALID_INPUT error that names the file.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ac-builder-template.h"
#include "ac-error.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
	g_autoptr (GHashTable) vars
	    = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
	g_autoptr (GHashTable) origins
	    = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
	g_autoptr (GError) error = NULL;
	GHashTableIter it;
	gpointer k, v;

	if (!ac_template_parse_var_file ((const gchar *)data, size, "vars", vars, origins,
	                                 &error)) {
		if (error == NULL || error->domain != AC_ERROR
		    || error->code != AC_ERROR_INVALID_INPUT
		    || !g_str_has_prefix (error->message, "vars"))
			abort ();
		return 0;
	}
	if (g_hash_table_size (vars) != g_hash_table_size (origins))
		abort ();
	g_hash_table_iter_init (&it, vars);
	while (g_hash_table_iter_next (&it, &k, &v)) {
		const gchar *name = k;
		const gchar *origin = g_hash_table_lookup (origins, name);
		g_autoptr (GHashTable) one
		    = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
		g_autofree gchar *kv = g_strdup_printf ("%s=%s", name, (const gchar *)v);
		/* the name is one --var accepts too */
		if (!ac_template_parse_var (one, kv, NULL))
			abort ();
		if (origin == NULL || !g_str_has_prefix (origin, "vars line ")
		    || strlen ((const gchar *)v) > 65536 || !g_utf8_validate (v, -1, NULL))
			abort ();
	}
	return 0;
}
