/*
 * virt-aleph build validate|inspect TEMPLATE: a template checked without building anything
 * (syntax, schema, variables, the files it refers to), or shown as it would build.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <errno.h>
#include <json-glib/json-glib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ac-aleph-client.h"
#include "ac-builder.h"
#include "ac-cli.h"
#include "cli-build.h"

typedef struct {
	GPtrArray *errors;   /* of gchar*: "FIELD 'VALUE': what is wrong" */
	GPtrArray *warnings; /* of gchar* */
} BuildCheck;

static void
build_check_file (BuildCheck *c,
                  const gchar *field,
                  const gchar *path,
                  GFileTest want,
                  const gchar *what)
{
	if (path == NULL)
		return;
	if (!g_file_test (path, G_FILE_TEST_EXISTS))
		g_ptr_array_add (
		    c->errors, g_strdup_printf ("%s '%s': no such file or directory (expected %s)",
		                                field, path, what));
	else if (!g_file_test (path, want))
		g_ptr_array_add (c->errors, g_strdup_printf ("%s '%s': not %s", field, path, what));
	else if (access (path, R_OK) != 0)
		g_ptr_array_add (c->errors, g_strdup_printf ("%s '%s': not readable (%s)", field,
		                                             path, g_strerror (errno)));
}

/* the folder the output goes to: it exists, or its nearest existing parent is a folder */
static void
build_check_output (BuildCheck *c, const gchar *field, const gchar *path, gboolean force)
{
	g_autofree gchar *dir = g_path_get_dirname (path);
	if (g_file_test (path, G_FILE_TEST_IS_DIR)) {
		g_ptr_array_add (c->errors,
		                 g_strdup_printf ("%s '%s': is a directory", field, path));
		return;
	}
	if (g_file_test (path, G_FILE_TEST_EXISTS) && !force)
		g_ptr_array_add (c->warnings,
		                 g_strdup_printf ("%s '%s' exists: build refuses to replace it "
		                                  "without --force",
		                                  field, path));
	while (!g_file_test (dir, G_FILE_TEST_EXISTS)) {
		gchar *up = g_path_get_dirname (dir);
		if (g_strcmp0 (up, dir) == 0) {
			g_free (up);
			break;
		}
		g_free (dir);
		dir = up;
	}
	if (!g_file_test (dir, G_FILE_TEST_IS_DIR))
		g_ptr_array_add (
		    c->errors, g_strdup_printf ("%s '%s': '%s' is not a folder", field, path, dir));
}

/* what a template refers to on this machine; a libvirt domain is not looked up */
static void
build_check_references (const AcTemplate *tpl, BuildCheck *c)
{
	const AcTemplateSource *src = &tpl->source;
	switch (src->type) {
	case AC_SOURCE_DIRECTORY:
		build_check_file (c, "source.path", src->path, G_FILE_TEST_IS_DIR, "a directory");
		break;
	case AC_SOURCE_TARBALL:
		build_check_file (c, "source.path", src->path, G_FILE_TEST_IS_REGULAR,
		                  "a tarball file");
		break;
	case AC_SOURCE_IMAGE:
		build_check_file (c, "source.path", src->path, G_FILE_TEST_EXISTS, "a disk image");
		break;
	case AC_SOURCE_LIBVIRT_DOMAIN:
		g_ptr_array_add (
		    c->warnings,
		    g_strdup_printf ("source.domain '%s' is not looked up by validate: "
		                     "build asks libvirt for it (it must be shut off)",
		                     src->domain));
		break;
	case AC_SOURCE_DEBOOTSTRAP:
		if (src->mirror != NULL && g_str_has_prefix (src->mirror, "file:///"))
			build_check_file (c, "source.mirror", src->mirror + 7, G_FILE_TEST_IS_DIR,
			                  "a local mirror's directory");
		break;
	}
	for (guint i = 0; i < tpl->provisioners->len; i++) {
		const AcTemplateProvisioner *p = g_ptr_array_index (tpl->provisioners, i);
		g_autofree gchar *f = NULL;
		if (p->type == AC_PROVISIONER_FILE) {
			f = g_strdup_printf ("%s.source", p->field);
			build_check_file (c, f, p->source, G_FILE_TEST_EXISTS,
			                  "a file or directory");
		} else if (p->type == AC_PROVISIONER_SHELL && p->script != NULL) {
			f = g_strdup_printf ("%s.script", p->field);
			build_check_file (c, f, p->script, G_FILE_TEST_IS_REGULAR, "a script file");
		}
	}
	if (tpl->passphrase_source == AC_PASSPHRASE_FILE)
		build_check_file (c, "passphrase.file", tpl->passphrase_file,
		                  G_FILE_TEST_IS_REGULAR, "a file");
	if (tpl->passphrase_source == AC_PASSPHRASE_ENV && g_getenv (tpl->passphrase_env) == NULL)
		g_ptr_array_add (
		    c->warnings,
		    g_strdup_printf ("passphrase.env '%s' is not set here: build needs it",
		                     tpl->passphrase_env));
	if (tpl->publish != NULL) {
		JsonObject *o = json_node_get_object (tpl->publish);
		const gchar *account
		    = json_object_get_string_member_with_default (o, "account", NULL);
		g_autofree gchar *resolved = NULL;
		if (account != NULL) {
			resolved = g_path_is_absolute (account) || tpl->base_dir == NULL
			               ? g_strdup (account)
			               : g_build_filename (tpl->base_dir, account, NULL);
			build_check_file (c, "publish.account", resolved, G_FILE_TEST_IS_REGULAR,
			                  "a key file");
		}
	}
	build_check_output (c, "output.path", tpl->output_path, FALSE);
	build_check_output (c, "output.manifest", tpl->manifest_path, FALSE);
	for (guint i = 0; tpl->var_names[i] != NULL; i++) {
		if (!g_hash_table_contains (tpl->var_used, tpl->var_names[i]))
			g_ptr_array_add (c->warnings,
			                 g_strdup_printf ("variables.%s is declared but no string "
			                                  "uses ${var.%s}",
			                                  tpl->var_names[i], tpl->var_names[i]));
	}
}

static JsonArray *
build_strings_array (GPtrArray *a)
{
	JsonArray *out = json_array_new ();
	for (guint i = 0; i < a->len; i++)
		json_array_add_string_element (out, g_ptr_array_index (a, i));
	return out;
}

static int
build_validate (AcCliGlobal *global, const gchar *path, AcTemplate *tpl)
{
	BuildCheck c
	    = { g_ptr_array_new_with_free_func (g_free), g_ptr_array_new_with_free_func (g_free) };
	g_autoptr (GPtrArray) errors = c.errors;
	g_autoptr (GPtrArray) warnings = c.warnings;

	build_check_references (tpl, &c);
	if (errors->len > 0) {
		g_autoptr (JsonObject) extra = json_object_new ();
		g_autoptr (GString) msg = g_string_new (NULL);
		g_string_append_printf (msg, "%s: %u missing or unusable file reference%s: ", path,
		                        errors->len, errors->len > 1 ? "s" : "");
		for (guint i = 0; i < errors->len; i++)
			g_string_append_printf (msg, "%s%s", i > 0 ? "; " : "",
			                        (const gchar *)g_ptr_array_index (errors, i));
		json_object_set_boolean_member (extra, "valid", FALSE);
		json_object_set_array_member (extra, "problems", build_strings_array (errors));
		json_object_set_array_member (extra, "warnings", build_strings_array (warnings));
		if (!global->json) {
			for (guint i = 0; i < warnings->len; i++)
				fprintf (stderr, "virt-aleph: warning: %s\n",
				         (const gchar *)g_ptr_array_index (warnings, i));
		}
		return ac_cli_fail_with (
		    global, g_error_new_literal (AC_ERROR, AC_ERROR_NOT_FOUND, msg->str), extra);
	}
	if (global->json) {
		g_autoptr (JsonObject) o = json_object_new ();
		g_autoptr (JsonNode) node = NULL;
		json_object_set_string_member (o, "template", path);
		json_object_set_boolean_member (o, "valid", TRUE);
		json_object_set_string_member (o, "sha256", tpl->sha256);
		json_object_set_array_member (o, "warnings", build_strings_array (warnings));
		node = json_node_init_object (json_node_alloc (), o);
		ac_cli_print_json (node);
	} else {
		for (guint i = 0; i < warnings->len; i++)
			fprintf (stderr, "virt-aleph: warning: %s\n",
			         (const gchar *)g_ptr_array_index (warnings, i));
		printf ("%s: valid (sha256 %s)\n", path, tpl->sha256);
	}
	return AC_EXIT_OK;
}

static void
build_set_string (JsonObject *o, const gchar *name, const gchar *value)
{
	if (value != NULL)
		json_object_set_string_member (o, name, value);
}

static const gchar *
build_passphrase_name (AcPassphraseSource s)
{
	switch (s) {
	case AC_PASSPHRASE_GENERATE:
		return "generate";
	case AC_PASSPHRASE_FILE:
		return "file";
	case AC_PASSPHRASE_ENV:
		return "env";
	default:
		return "from_caller";
	}
}

static const gchar *
build_provisioner_name (AcProvisionerType t)
{
	return t == AC_PROVISIONER_FILE ? "file" : t == AC_PROVISIONER_SHELL ? "shell" : "aleph";
}

/* what inspect shows: the template after variable substitution, paths resolved */
static JsonObject *
build_inspect_object (const gchar *path, const AcTemplate *tpl, GHashTable *origins)
{
	JsonObject *o = json_object_new ();
	JsonArray *vars = json_array_new ();
	JsonObject *src = json_object_new ();
	JsonArray *provs = json_array_new ();
	JsonObject *disk = json_object_new ();
	JsonObject *luks = json_object_new ();
	JsonObject *pass = json_object_new ();
	JsonObject *out = json_object_new ();

	json_object_set_string_member (o, "template", path);
	if (tpl->name != NULL)
		json_object_set_string_member (o, "name", tpl->name);
	json_object_set_string_member (o, "sha256", tpl->sha256);
	for (guint i = 0; tpl->var_names[i] != NULL; i++) {
		const gchar *n = tpl->var_names[i];
		const gchar *from = g_hash_table_lookup (origins, n);
		JsonObject *v = json_object_new ();
		json_object_set_string_member (v, "name", n);
		json_object_set_string_member (v, "default",
		                               g_hash_table_lookup (tpl->var_defaults, n));
		json_object_set_string_member (v, "value",
		                               g_hash_table_lookup (tpl->var_values, n));
		json_object_set_string_member (v, "from", from != NULL ? from : "default");
		json_object_set_boolean_member (v, "used",
		                                g_hash_table_contains (tpl->var_used, n));
		json_array_add_object_element (vars, v);
	}
	json_object_set_array_member (o, "variables", vars);

	json_object_set_string_member (src, "type", ac_source_type_to_string (tpl->source.type));
	build_set_string (src, "path", tpl->source.path);
	build_set_string (src, "format", tpl->source.format);
	build_set_string (src, "partition", tpl->source.partition);
	build_set_string (src, "domain", tpl->source.domain);
	build_set_string (src, "disk", tpl->source.disk);
	build_set_string (src, "distribution", tpl->source.distribution);
	build_set_string (src, "suite", tpl->source.suite);
	build_set_string (src, "mirror", tpl->source.mirror);
	build_set_string (src, "variant", tpl->source.variant);
	build_set_string (src, "components", tpl->source.components);
	if (tpl->source.include != NULL) {
		JsonArray *a = json_array_new ();
		for (guint i = 0; tpl->source.include[i] != NULL; i++)
			json_array_add_string_element (a, tpl->source.include[i]);
		json_object_set_array_member (src, "include", a);
	}
	json_object_set_object_member (o, "source", src);

	json_object_set_string_member (o, "provision_backend",
	                               ac_provision_backend_to_string (tpl->provision_backend));
	for (guint i = 0; i < tpl->provisioners->len; i++) {
		const AcTemplateProvisioner *p = g_ptr_array_index (tpl->provisioners, i);
		JsonObject *po = json_object_new ();
		json_object_set_string_member (po, "type", build_provisioner_name (p->type));
		if (p->type == AC_PROVISIONER_FILE) {
			build_set_string (po, "source", p->source);
			build_set_string (po, "destination", p->destination);
			if (p->mode != 0) {
				g_autofree gchar *m = g_strdup_printf ("%04o", p->mode);
				json_object_set_string_member (po, "mode", m);
			}
		} else if (p->type == AC_PROVISIONER_SHELL) {
			if (p->inline_cmds != NULL)
				json_object_set_int_member (po, "inline",
				                            g_strv_length (p->inline_cmds));
			build_set_string (po, "script", p->script);
		} else {
			build_set_string (po, "mapper_name", p->mapper_name);
			json_object_set_boolean_member (po, "install_packages",
			                                p->install_packages);
			json_object_set_boolean_member (po, "update_initramfs",
			                                p->update_initramfs);
			json_object_set_boolean_member (po, "install_grub", p->install_grub);
			build_set_string (po, "kernel_cmdline", p->kernel_cmdline);
		}
		json_array_add_object_element (provs, po);
	}
	json_object_set_array_member (o, "provisioners", provs);

	json_object_set_string_member (disk, "layout", ac_image_layout_to_string (tpl->layout));
	json_object_set_int_member (disk, "size", (gint64)tpl->disk_size);
	if (tpl->layout == AC_IMAGE_LAYOUT_GRUB_LUKS1)
		json_object_set_int_member (disk, "esp_size", (gint64)tpl->esp_size);
	json_object_set_string_member (disk, "filesystem", tpl->filesystem);
	build_set_string (disk, "label", tpl->fs_label);
	{
		g_autofree gchar *cipher = g_strdup_printf ("%s-%s", tpl->cipher, tpl->cipher_mode);
		json_object_set_string_member (luks, "cipher", cipher);
	}
	json_object_set_int_member (luks, "key_size", tpl->key_bits);
	json_object_set_string_member (luks, "hash", tpl->hash);
	if (tpl->iterations != 0)
		json_object_set_int_member (luks, "pbkdf_iterations", tpl->iterations);
	else
		json_object_set_string_member (luks, "pbkdf_iterations", "benchmarked");
	json_object_set_object_member (disk, "luks", luks);
	json_object_set_object_member (o, "disk", disk);

	json_object_set_string_member (pass, "source",
	                               build_passphrase_name (tpl->passphrase_source));
	if (tpl->passphrase_source == AC_PASSPHRASE_GENERATE)
		json_object_set_int_member (pass, "length", tpl->passphrase_length);
	build_set_string (pass, "file", tpl->passphrase_file);
	build_set_string (pass, "env", tpl->passphrase_env);
	json_object_set_object_member (o, "passphrase", pass);

	json_object_set_boolean_member (o, "reproducible", tpl->reproducible);
	json_object_set_string_member (out, "image", tpl->output_path);
	json_object_set_string_member (out, "manifest", tpl->manifest_path);
	if (tpl->publish != NULL)
		json_object_set_member (out, "publish", json_node_copy (tpl->publish));
	json_object_set_object_member (o, "outputs", out);
	return o;
}

static int
build_inspect (AcCliGlobal *global, const gchar *path, const AcTemplate *tpl, GHashTable *origins)
{
	g_autoptr (JsonObject) o = build_inspect_object (path, tpl, origins);
	JsonArray *a;
	JsonObject *x;

	if (global->json) {
		g_autoptr (JsonNode) node = json_node_init_object (json_node_alloc (), o);
		ac_cli_print_json (node);
		return AC_EXIT_OK;
	}
	printf ("template %s%s%s%s\nsha256 %s\n", path, tpl->name != NULL ? " (" : "",
	        tpl->name != NULL ? tpl->name : "", tpl->name != NULL ? ")" : "", tpl->sha256);
	a = json_object_get_array_member (o, "variables");
	printf ("variables:%s\n", json_array_get_length (a) == 0 ? " none" : "");
	for (guint i = 0; i < json_array_get_length (a); i++) {
		JsonObject *v = json_array_get_object_element (a, i);
		printf ("  %s = \"%s\" (default \"%s\"; from %s%s)\n",
		        json_object_get_string_member (v, "name"),
		        json_object_get_string_member (v, "value"),
		        json_object_get_string_member (v, "default"),
		        json_object_get_string_member (v, "from"),
		        json_object_get_boolean_member (v, "used") ? "" : "; unused");
	}
	x = json_object_get_object_member (o, "source");
	printf ("source: %s", json_object_get_string_member (x, "type"));
	{
		static const gchar *keys[]
		    = { "path",         "format", "partition", "domain",  "disk",
			"distribution", "suite",  "mirror",    "variant", "components" };
		for (guint i = 0; i < G_N_ELEMENTS (keys); i++) {
			if (json_object_has_member (x, keys[i]))
				printf (" %s=%s", keys[i],
				        json_object_get_string_member (x, keys[i]));
		}
		if (tpl->source.include != NULL) {
			g_autofree gchar *inc = g_strjoinv (",", tpl->source.include);
			printf (" include=%s", inc);
		}
	}
	printf ("\nprovisioners (%s):%s\n", ac_provision_backend_to_string (tpl->provision_backend),
	        tpl->provisioners->len == 0 ? " none" : "");
	for (guint i = 0; i < tpl->provisioners->len; i++) {
		const AcTemplateProvisioner *p = g_ptr_array_index (tpl->provisioners, i);
		printf ("  %u. %s", i + 1, build_provisioner_name (p->type));
		if (p->type == AC_PROVISIONER_FILE)
			printf (" %s -> %s", p->source, p->destination);
		else if (p->type == AC_PROVISIONER_SHELL && p->script != NULL)
			printf (" script %s", p->script);
		else if (p->type == AC_PROVISIONER_SHELL)
			printf (" %u inline command%s", g_strv_length (p->inline_cmds),
			        g_strv_length (p->inline_cmds) == 1 ? "" : "s");
		else
			printf (" mapper %s", p->mapper_name);
		printf ("\n");
	}
	if (tpl->layout == AC_IMAGE_LAYOUT_LUKS2_ROOT)
		printf ("disk: %" G_GUINT64_FORMAT " bytes, luks2-root (no ESP): %s in LUKS2 %s-%s "
		        "%u-bit key, PBKDF2-%s\n",
		        tpl->disk_size, tpl->filesystem, tpl->cipher, tpl->cipher_mode, tpl->key_bits,
		        tpl->hash);
	else
		printf ("disk: %" G_GUINT64_FORMAT " bytes, ESP %" G_GUINT64_FORMAT
		        " bytes, %s, LUKS1 %s-%s %u-bit key, %s\n",
		        tpl->disk_size, tpl->esp_size, tpl->filesystem, tpl->cipher, tpl->cipher_mode,
		        tpl->key_bits, tpl->hash);
	printf ("passphrase: %s\n", build_passphrase_name (tpl->passphrase_source));
	printf ("outputs:\n  image %s\n  manifest %s\n", tpl->output_path, tpl->manifest_path);
	if (tpl->publish != NULL) {
		JsonObject *p = json_node_get_object (tpl->publish);
		printf ("  publish to %s (%s)\n",
		        json_object_get_string_member_with_default (p, "api", AC_ALEPH_DEFAULT_API),
		        json_object_get_string_member_with_default (p, "storage", "ipfs"));
	}
	return AC_EXIT_OK;
}

/* virt-aleph build validate|inspect [OPTIONS] TEMPLATE */
static int
build_check_cmd (AcCliGlobal *global, gboolean inspect, int argc, char **argv)
{
	g_auto (GStrv) vars_kv = NULL;
	g_auto (GStrv) var_files = NULL;
	g_autoptr (GOptionContext) ctx = ac_cli_option_context_new (
	    global, "TEMPLATE",
	    inspect ? "Show what a template builds: its variables (default, value, where the value "
	              "comes from), source, provisioners, disk and outputs, after substitution."
	            : "Check a template without building anything: JSON syntax, every member "
	              "against the schema's rules, the variables (--var, --var-file), and the "
	              "files it refers to (source, provisioners' files and scripts, passphrase "
	              "file, publish account, the output's folder).");
	const GOptionEntry entries[] = { CLI_BUILD_VAR_ENTRIES (&vars_kv, &var_files), { NULL } };
	g_autoptr (GError) error = NULL;
	g_autoptr (GHashTable) vars
	    = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
	g_autoptr (GHashTable) origins
	    = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
	g_autoptr (AcTemplate) tpl = NULL;

	g_option_context_add_main_entries (ctx, entries, NULL);
	if (!ac_cli_parse_args (ctx, &argc, &argv, 1, "expected one TEMPLATE", &error)
	    || !cli_build_check_stdin (argv[1], var_files, FALSE, &error))
		return ac_cli_fail (global, g_steal_pointer (&error));
	if (!cli_build_load_vars (vars_kv, var_files, vars, origins, &error))
		return ac_cli_fail (global, g_steal_pointer (&error));
	tpl = ac_template_new_from_file_full (argv[1], vars, origins, &error);
	if (tpl == NULL) {
		g_autoptr (JsonObject) extra = json_object_new ();
		if (!inspect)
			json_object_set_boolean_member (extra, "valid", FALSE);
		return ac_cli_fail_with (global, g_steal_pointer (&error), extra);
	}
	return inspect ? build_inspect (global, argv[1], tpl, origins)
	               : build_validate (global, argv[1], tpl);
}

/* the index of the first argument that is neither an option nor an option's value */
static int
build_first_word (int argc, char **argv)
{
	static const gchar *with_value[]
	    = { "--var",     "--var-file", "--on-error", "--passphrase-out", "--config",
		"--workdir", "--connect",  "-c",         "--timeout",        NULL };
	for (int i = 1; i < argc; i++) {
		if (g_strcmp0 (argv[i], "--") == 0)
			return i + 1 < argc ? i + 1 : -1;
		if (g_strv_contains (with_value, argv[i])) {
			i++;
			continue;
		}
		if (argv[i][0] != '-' || argv[i][1] == '\0')
			return i;
	}
	return -1;
}

/**
 * cli_build_check_word:
 *
 * Returns: the position of "validate" or "inspect" in the arguments of `virt-aleph build`
 *   (the first argument that is neither an option nor an option's value), or -1 for a build.
 */
int
cli_build_check_word (int argc, char **argv)
{
	int word = build_first_word (argc, argv);

	if (word > 0
	    && (g_strcmp0 (argv[word], "validate") == 0
	        || g_strcmp0 (argv[word], "inspect") == 0))
		return word;
	return -1;
}

/* virt-aleph build validate|inspect: @argv without argv[@word], named "ARGV0 WORD" */
int
cli_build_check_run (AcCliGlobal *global, int word, int argc, char **argv)
{
	gboolean inspect = argv[word][0] == 'i';
	g_autofree gchar *prgname = g_strdup_printf ("%s %s", argv[0], argv[word]);
	g_autoptr (GPtrArray) rest = g_ptr_array_new ();
	g_ptr_array_add (rest, prgname);
	for (int i = 1; i < argc; i++) {
		if (i != word)
			g_ptr_array_add (rest, argv[i]);
	}
	g_ptr_array_add (rest, NULL);
	g_set_prgname (prgname);
	return build_check_cmd (global, inspect, (int)rest->len - 1, (char **)rest->pdata);
}
