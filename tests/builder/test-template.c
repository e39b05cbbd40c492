/*
 * Templates, libvirt-style fixtures: tests/data/builder/templates/<case>.json (with optional
 * <case>.vars, NAME=VALUE lines for --var) → <case>.expected (a dump of the parsed template) or
 * <case>.err (the exact error message; every one names the template field).
 * AC_TEST_REGENERATE=1 rewrites the expected files.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include "ac-builder-template.h"
#include "ac-error.h"

static void
dump_strv (GString *s, const gchar *key, gchar **v)
{
	if (v == NULL)
		return;
	for (guint i = 0; v[i] != NULL; i++)
		g_string_append_printf (s, "%s[%u]=%s\n", key, i, v[i]);
}

#define DUMP(key, val)                                                                             \
	do {                                                                                       \
		if ((val) != NULL)                                                                 \
			g_string_append_printf (s, "%s=%s\n", key, (const gchar *)(val));          \
	} while (0)

static gchar *
dump (const AcTemplate *t)
{
	GString *s = g_string_new (NULL);
	static const gchar *pass[] = { "generate", "file", "env", "caller" };
	DUMP ("name", t->name);
	DUMP ("sha256", t->sha256);
	DUMP ("source.type", ac_source_type_to_string (t->source.type));
	DUMP ("source.path", t->source.path);
	DUMP ("source.format", t->source.format);
	DUMP ("source.partition", t->source.partition);
	DUMP ("source.domain", t->source.domain);
	DUMP ("source.disk", t->source.disk);
	DUMP ("source.distribution", t->source.distribution);
	DUMP ("source.suite", t->source.suite);
	DUMP ("source.mirror", t->source.mirror);
	DUMP ("source.variant", t->source.variant);
	dump_strv (s, "source.include", t->source.include);
	DUMP ("source.components", t->source.components);
	for (guint i = 0; i < t->provisioners->len; i++) {
		AcTemplateProvisioner *p = g_ptr_array_index (t->provisioners, i);
		g_autofree gchar *k = NULL;
		static const gchar *types[] = { "file", "shell", "aleph" };
		g_string_append_printf (s, "%s.type=%s\n", p->field, types[p->type]);
		k = g_strdup_printf ("%s.inline", p->field);
		dump_strv (s, k, p->inline_cmds);
		g_free (k);
		k = g_strdup_printf ("%s.environment", p->field);
		dump_strv (s, k, p->environment);
		if (p->source != NULL)
			g_string_append_printf (s, "%s.source=%s\n", p->field, p->source);
		if (p->destination != NULL)
			g_string_append_printf (s, "%s.destination=%s\n", p->field, p->destination);
		if (p->mode != 0)
			g_string_append_printf (s, "%s.mode=%04o\n", p->field, p->mode & 07777);
		if (p->script != NULL)
			g_string_append_printf (s, "%s.script=%s\n", p->field, p->script);
		if (p->type == AC_PROVISIONER_ALEPH)
			g_string_append_printf (s,
						"%s.aleph=mapper:%s packages:%d initramfs:%d grub:%d "
						"cmdline:%s\n",
						p->field, p->mapper_name, p->install_packages,
						p->update_initramfs, p->install_grub,
						p->kernel_cmdline != NULL ? p->kernel_cmdline : "");
	}
	DUMP ("provision_backend", ac_provision_backend_to_string (t->provision_backend));
	if (t->layout != AC_IMAGE_LAYOUT_GRUB_LUKS1)
		DUMP ("disk.layout", ac_image_layout_to_string (t->layout));
	g_string_append_printf (s, "disk.size=%" G_GUINT64_FORMAT "\n", t->disk_size);
	g_string_append_printf (s, "disk.esp_size=%" G_GUINT64_FORMAT "\n", t->esp_size);
	DUMP ("disk.filesystem", t->filesystem);
	DUMP ("disk.label", t->fs_label);
	g_string_append_printf (s, "disk.luks=%s-%s %u bits %s iterations %u\n", t->cipher,
				t->cipher_mode, t->key_bits, t->hash, t->iterations);
	DUMP ("disk.luks.uuid", t->luks_uuid);
	g_string_append_printf (s, "passphrase=%s\n", pass[t->passphrase_source]);
	if (t->passphrase_source == AC_PASSPHRASE_GENERATE)
		g_string_append_printf (s, "passphrase.length=%u\n", t->passphrase_length);
	DUMP ("passphrase.file", t->passphrase_file);
	DUMP ("passphrase.env", t->passphrase_env);
	DUMP ("output.path", t->output_path);
	DUMP ("output.manifest", t->manifest_path);
	if (t->reproducible) {
		g_string_append_printf (s, "reproducible.source_date_epoch=%" G_GINT64_FORMAT "\n",
					t->source_date_epoch);
		DUMP ("reproducible.seed", t->seed);
		DUMP ("reproducible.disk_guid", t->disk_guid);
		DUMP ("reproducible.filesystem_uuid", t->fs_uuid);
	}
	if (t->publish != NULL) {
		g_autofree gchar *j = json_to_string (t->publish, FALSE);
		DUMP ("publish", j);
	}
	return g_string_free (s, FALSE);
}

static void
check_case (gconstpointer data)
{
	const gchar *json_path = data;
	g_autofree gchar *stem = g_strndup (json_path, strlen (json_path) - 5);
	g_autofree gchar *vars_path = g_strconcat (stem, ".vars", NULL);
	g_autofree gchar *exp_path = g_strconcat (stem, ".expected", NULL);
	g_autofree gchar *err_path = g_strconcat (stem, ".err", NULL);
	g_autoptr(GHashTable) vars = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
	g_autofree gchar *text = NULL;
	g_autofree gchar *got = NULL;
	g_autofree gchar *want = NULL;
	g_autoptr(AcTemplate) t = NULL;
	g_autoptr(GError) error = NULL;
	gsize len = 0;
	gboolean regen = g_getenv ("AC_TEST_REGENERATE") != NULL;

	g_assert_true (g_file_get_contents (json_path, &text, &len, NULL));
	if (g_file_test (vars_path, G_FILE_TEST_EXISTS)) {
		g_autofree gchar *v = NULL;
		g_auto(GStrv) lines = NULL;
		g_assert_true (g_file_get_contents (vars_path, &v, NULL, NULL));
		lines = g_strsplit (g_strstrip (v), "\n", -1);
		for (guint i = 0; lines[i] != NULL; i++) {
			g_assert_true (ac_template_parse_var (vars, lines[i], &error));
			g_assert_no_error (error);
		}
	}
	t = ac_template_new_from_data (text, len, "/base", vars, &error);
	if (t != NULL) {
		got = dump (t);
		if (regen)
			g_file_set_contents (exp_path, got, -1, NULL);
		g_assert_true (g_file_get_contents (exp_path, &want, NULL, NULL));
		g_assert_cmpstr (got, ==, want);
		g_assert_false (g_file_test (err_path, G_FILE_TEST_EXISTS));
	} else if (!HAVE_LIBGUESTFS && g_error_matches (error, AC_ERROR, AC_ERROR_UNSUPPORTED) &&
		   g_file_test (exp_path, G_FILE_TEST_EXISTS)) {
		/* a libguestfs template in a build without libguestfs: refused by field and option */
		g_assert_nonnull (strstr (error->message, "template field 'provision_backend'"));
		g_assert_nonnull (strstr (error->message, "-Dlibguestfs=enabled"));
	} else {
		g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
		got = g_strconcat (error->message, "\n", NULL);
		if (regen)
			g_file_set_contents (err_path, got, -1, NULL);
		g_assert_true (g_file_get_contents (err_path, &want, NULL, NULL));
		g_assert_cmpstr (got, ==, want);
		g_assert_false (g_file_test (exp_path, G_FILE_TEST_EXISTS));
	}
}

/* the tag's size grammar (ac-size): "20G" and "512 MiB" as in a tag, or a bare number of bytes */
static gchar *
size_template (const gchar *size, const gchar *esp)
{
	return g_strdup_printf ("{ \"source\": { \"type\": \"directory\", \"path\": \"r\" }, \"disk\": "
				"{ \"size\": \"%s\", \"esp_size\": \"%s\" }, \"output\": { \"path\": "
				"\"o\" } }",
				size, esp);
}

static void
test_sizes (void)
{
	struct {
		const gchar *size, *esp;
		guint64 disk_size, esp_size;
	} ok[] = {
		{ "20G", "64M", 20ull << 30, 64ull << 20 },
		{ "4GB", "1 MiB", 4000000000ull, 1ull << 20 },
		{ "1073741824", "2097152", 1ull << 30, 2ull << 20 },
		{ "1T", "4k", 1ull << 40, 0 },
	};
	for (guint i = 0; i < G_N_ELEMENTS (ok); i++) {
		g_autofree gchar *text = size_template (ok[i].size, ok[i].esp);
		g_autoptr(AcTemplate) t = NULL;
		g_autoptr(GError) error = NULL;
		t = ac_template_new_from_data (text, strlen (text), NULL, NULL, &error);
		if (ok[i].esp_size == 0) {
			/* parsed, then refused by the field's own rule, naming the field */
			g_assert_null (t);
			g_assert_cmpstr (error->message, ==,
					 "template field 'disk.esp_size': 4096 bytes: expected 1048576 to "
					 "4294967296");
			continue;
		}
		g_assert_no_error (error);
		g_assert_cmpuint (t->disk_size, ==, ok[i].disk_size);
		g_assert_cmpuint (t->esp_size, ==, ok[i].esp_size);
	}
	{
		g_autofree gchar *text = size_template ("20 gib", "64M");
		g_autoptr(GError) error = NULL;
		g_autoptr(AcTemplate) t = ac_template_new_from_data (text, strlen (text), NULL, NULL, &error);
		g_assert_null (t);
		g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
		g_assert_nonnull (strstr (error->message, "template field 'disk.size': invalid size "
							  "'20 gib': unknown unit"));
	}
}

static void
test_vars (void)
{
	g_autoptr(GHashTable) vars = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
	g_autoptr(GError) error = NULL;
	g_assert_true (ac_template_parse_var (vars, "size=4GiB", &error));
	g_assert_true (ac_template_parse_var (vars, "empty=", &error));
	g_assert_true (ac_template_parse_var (vars, "eq=a=b", &error));
	g_assert_cmpstr (g_hash_table_lookup (vars, "eq"), ==, "a=b");
	g_assert_cmpstr (g_hash_table_lookup (vars, "empty"), ==, "");
	g_assert_false (ac_template_parse_var (vars, "novalue", &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
	g_clear_error (&error);
	g_assert_false (ac_template_parse_var (vars, "1x=2", &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
}

/* a template or --var-file that cannot be read: not-found when missing, I/O otherwise */
static void
test_unreadable_files (void)
{
	g_autoptr (GHashTable) vars
	    = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
	g_autoptr (GError) error = NULL;
	g_autoptr (AcTemplate) t = NULL;

	t = ac_template_new_from_file ("/nonexistent/template.json", NULL, &error);
	g_assert_null (t);
	g_assert_error (error, AC_ERROR, AC_ERROR_NOT_FOUND);
	g_assert_true (g_str_has_prefix (error->message, "cannot read the template: "));
	g_assert_nonnull (strstr (error->message, "/nonexistent/template.json"));
	g_clear_error (&error);
	/* a directory, a device, a FIFO: refused at once (/dev/zero was read until memory ran
	 * out, a FIFO waited on for ever) */
	{
		g_autofree gchar *dir = g_dir_make_tmp ("ac-template-XXXXXX", NULL);
		g_autofree gchar *fifo = g_build_filename (dir, "fifo", NULL);
		const gchar *paths[] = { "/", "/dev/zero", fifo };
		g_assert_cmpint (mkfifo (fifo, 0600), ==, 0);
		for (guint i = 0; i < G_N_ELEMENTS (paths); i++) {
			t = ac_template_new_from_file (paths[i], NULL, &error);
			g_assert_null (t);
			g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
			g_assert_true (
			    g_str_has_prefix (error->message, "cannot read the template: "));
			g_assert_nonnull (strstr (error->message, "is not a regular file"));
			g_clear_error (&error);
			g_assert_false (ac_template_read_var_file (paths[i], vars, NULL, &error));
			g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
			g_assert_true (g_str_has_prefix (error->message, "--var-file: "));
			g_assert_nonnull (strstr (error->message, "is not a regular file"));
			g_clear_error (&error);
		}
		g_unlink (fifo);
		g_rmdir (dir);
	}

	g_assert_false (ac_template_read_var_file ("/nonexistent/vars", vars, NULL, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_NOT_FOUND);
	g_assert_true (g_str_has_prefix (error->message, "--var-file: "));
}

/* SOURCE_DATE_EPOCH from the environment when the template has none */
static void
test_source_date_epoch_env (void)
{
	const gchar *text = "{ \"source\": { \"type\": \"directory\", \"path\": \"r\" }, \"disk\": "
			    "{ \"size\": \"1GiB\", \"luks\": { \"pbkdf_iterations\": 1000 } }, "
			    "\"passphrase\": { \"from_caller\": true }, \"output\": { \"path\": \"o\" }, "
			    "\"reproducible\": { \"seed\": \"x\" } }";
	g_autoptr(AcTemplate) t = NULL;
	g_autoptr(GError) error = NULL;
	g_setenv ("SOURCE_DATE_EPOCH", "1234567890", TRUE);
	t = ac_template_new_from_data (text, strlen (text), NULL, NULL, &error);
	g_assert_no_error (error);
	g_assert_cmpint (t->source_date_epoch, ==, 1234567890);
	g_clear_pointer (&t, ac_template_free);
	g_setenv ("SOURCE_DATE_EPOCH", "yesterday", TRUE);
	t = ac_template_new_from_data (text, strlen (text), NULL, NULL, &error);
	g_assert_null (t);
	g_assert_nonnull (strstr (error->message, "'reproducible.source_date_epoch'"));
	g_unsetenv ("SOURCE_DATE_EPOCH");
}

int
main (int argc, char **argv)
{
	g_autofree gchar *dir = NULL;
	g_autoptr(GDir) d = NULL;
	g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
	const gchar *name;

	g_test_init (&argc, &argv, NULL);
	g_unsetenv ("SOURCE_DATE_EPOCH");
	dir = g_test_build_filename (G_TEST_DIST, "data", "builder", "templates", NULL);
	d = g_dir_open (dir, 0, NULL);
	g_assert_nonnull (d);
	while ((name = g_dir_read_name (d)) != NULL) {
		if (g_str_has_suffix (name, ".json"))
			g_ptr_array_add (names, g_strdup (name));
	}
	g_assert_cmpuint (names->len, >=, 20);
	for (guint i = 0; i < names->len; i++) {
		const gchar *n = g_ptr_array_index (names, i);
		g_autofree gchar *test = g_strdup_printf ("/builder/template/%.*s",
							  (int)(strlen (n) - 5), n);
		g_test_add_data_func_full (test, g_build_filename (dir, n, NULL), check_case, g_free);
	}
	g_test_add_func ("/builder/template/sizes", test_sizes);
	g_test_add_func ("/builder/template/vars", test_vars);
	g_test_add_func ("/builder/template/unreadable-files", test_unreadable_files);
	g_test_add_func ("/builder/template/source-date-epoch-env", test_source_date_epoch_env);
	return g_test_run ();
}
