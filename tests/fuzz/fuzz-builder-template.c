/*
 * Fuzz target: builder templates (a template may come from anyone who hands the user one).
 * Properties: no crash or leak; a template that parses satisfies the invariants the builder
 * relies on; every refusal is an INVALID_INPUT error that names the template or --var.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ac-builder-template.h"
#include "ac-error.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
	g_autoptr(GHashTable) vars = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
	g_autoptr(AcTemplate) t = NULL;
	g_autoptr(GError) error = NULL;

	g_hash_table_insert (vars, g_strdup ("size"), g_strdup ("1GiB"));
	t = ac_template_new_from_data ((const gchar *)data, size, "/base", NULL, &error);
	if (t == NULL) {
		if (error == NULL || error->domain != AC_ERROR || error->code != AC_ERROR_INVALID_INPUT)
			abort ();
		if (!g_str_has_prefix (error->message, "template") &&
		    !g_str_has_prefix (error->message, "--var"))
			abort ();
		/* again with a variable: "declares no such variable" is the only new refusal */
		g_clear_error (&error);
		t = ac_template_new_from_data ((const gchar *)data, size, "/base", vars, &error);
		if (t == NULL && error == NULL)
			abort ();
		if (t == NULL)
			return 0;
	}
	if (t->output_path == NULL || t->manifest_path == NULL || t->sha256 == NULL ||
	    strlen (t->sha256) != 64)
		abort ();
	if (t->disk_size < 64 * 1024 * 1024 || t->disk_size % 512 != 0 ||
	    t->esp_size % (1024 * 1024) != 0 || t->esp_size + 64 * 1024 * 1024 > t->disk_size)
		abort ();
	if (t->key_bits != 256 && t->key_bits != 512)
		abort ();
	if (t->iterations != 0 && t->iterations < 1000)
		abort ();
	if (t->reproducible && (t->seed == NULL || t->source_date_epoch < 0 || t->iterations == 0))
		abort ();
	for (guint i = 0; i < t->provisioners->len; i++) {
		AcTemplateProvisioner *p = g_ptr_array_index (t->provisioners, i);
		if (p->type == AC_PROVISIONER_FILE &&
		    (p->destination == NULL || p->destination[0] != '/' ||
		     strstr (p->destination, "/../") != NULL || g_str_has_suffix (p->destination, "/..")))
			abort ();
		if (p->type == AC_PROVISIONER_SHELL && (p->inline_cmds == NULL) == (p->script == NULL))
			abort ();
	}
	if (t->source.type == AC_SOURCE_DEBOOTSTRAP && (t->source.suite == NULL ||
							t->source.mirror == NULL))
		abort ();
	return 0;
}
