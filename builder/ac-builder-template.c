/*
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Templates are user input: every member is checked for its type and range, unknown members are
 * refused (a typo must not silently fall back to a default), and every error names the field
 * ("template field 'disk.luks.key_size': ...") and what was expected. Variables: "${var.NAME}"
 * in any string value outside "variables" is replaced by the variable's value ("$$" is a
 * literal "$"); --var NAME=VALUE overrides a declared default.
 *
 * This file: the template's life (load, free) and its top level; the sections are read in
 * ac-builder-template-sections.c, the variables in ac-builder-template-vars.c.
 */

#include "config.h"

#include "ac-builder-template.h"

#include <string.h>

#include "ac-builder-template-private.h"
#include "ac-error.h"
#include "ac-file.h"
#include "ac-json.h"

#define AC_TEMPLATE_MAX_SIZE (1024 * 1024)

const AcJsonScope ac_template_scope = { "template", AC_ERROR_INVALID_INPUT };

static void
ac_template_provisioner_free (AcTemplateProvisioner *p)
{
	g_free (p->field);
	g_free (p->source);
	g_free (p->destination);
	g_strfreev (p->inline_cmds);
	g_free (p->script);
	g_strfreev (p->environment);
	g_free (p->mapper_name);
	g_free (p->kernel_cmdline);
	g_free (p);
}

void
ac_template_free (AcTemplate *self)
{
	if (self == NULL)
		return;
	g_free (self->name);
	g_free (self->base_dir);
	g_free (self->sha256);
	g_free (self->source.path);
	g_free (self->source.format);
	g_free (self->source.partition);
	g_free (self->source.domain);
	g_free (self->source.disk);
	g_free (self->source.distribution);
	g_free (self->source.suite);
	g_free (self->source.mirror);
	g_free (self->source.variant);
	g_strfreev (self->source.include);
	g_free (self->source.components);
	if (self->provisioners != NULL)
		g_ptr_array_unref (self->provisioners);
	g_free (self->filesystem);
	g_free (self->fs_label);
	g_free (self->cipher);
	g_free (self->cipher_mode);
	g_free (self->hash);
	g_free (self->passphrase_file);
	g_free (self->passphrase_env);
	g_free (self->output_path);
	g_free (self->manifest_path);
	g_free (self->seed);
	g_free (self->luks_uuid);
	g_free (self->disk_guid);
	g_free (self->fs_uuid);
	if (self->publish != NULL)
		json_node_unref (self->publish);
	g_strfreev (self->var_names);
	g_clear_pointer (&self->var_defaults, g_hash_table_unref);
	g_clear_pointer (&self->var_values, g_hash_table_unref);
	g_clear_pointer (&self->var_used, g_hash_table_unref);
	g_free (self);
}

const gchar *
ac_source_type_to_string (AcSourceType type)
{
	switch (type) {
	case AC_SOURCE_DIRECTORY:
		return "directory";
	case AC_SOURCE_TARBALL:
		return "tarball";
	case AC_SOURCE_IMAGE:
		return "image";
	case AC_SOURCE_LIBVIRT_DOMAIN:
		return "libvirt-domain";
	case AC_SOURCE_DEBOOTSTRAP:
		return "debootstrap";
	default:
		return "unknown";
	}
}

const gchar *
ac_provision_backend_to_string (AcProvisionBackend backend)
{
	return backend == AC_PROVISION_BACKEND_LIBGUESTFS ? "libguestfs" : "chroot";
}

const gchar *
ac_image_layout_to_string (AcImageLayout layout)
{
	return layout == AC_IMAGE_LAYOUT_LUKS2_ROOT ? "luks2-root" : "grub-luks1";
}

/* the template's top-level object, from at most AC_TEMPLATE_MAX_SIZE bytes of UTF-8 JSON */
static JsonNode *
tpl_load_root (const gchar *data, gsize len, GError **error)
{
	g_autoptr(JsonParser) parser = json_parser_new ();
	g_autoptr(GError) local = NULL;
	g_autoptr(JsonNode) root = NULL;

	if (len > AC_TEMPLATE_MAX_SIZE) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			     "template of %" G_GSIZE_FORMAT " bytes: expected at most %u", len,
			     AC_TEMPLATE_MAX_SIZE);
		return NULL;
	}
	if (memchr (data, '\0', len) != NULL || !g_utf8_validate (data, (gssize)len, NULL)) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
				     "template is not UTF-8 text");
		return NULL;
	}
	if (!json_parser_load_from_data (parser, data, (gssize)len, &local)) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT, "template is not valid JSON: %s",
			     local->message);
		return NULL;
	}
	if (json_parser_get_root (parser) != NULL)
		root = json_node_copy (json_parser_get_root (parser));
	if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root)) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
				     "template: expected a JSON object at the top level");
		return NULL;
	}
	return g_steal_pointer (&root);
}

/* A template in Packer's own shape (its JSON form): top-level 'builders', 'post-processors',
 * 'min_packer_version' or 'sensitive-variables', or Packer's {{user `NAME`}} interpolation in
 * any string. One message names what was seen, says what our format is and where its mapping
 * from Packer's vocabulary is, instead of the first unknown member. */
static gboolean
tpl_check_packer (JsonObject *o, const gchar *data, gsize len, GError **error)
{
	static const gchar *members[] = { "builders", "post-processors", "min_packer_version",
					  "sensitive-variables", NULL };
	g_autoptr (GString) seen = g_string_new (NULL);

	for (guint i = 0; members[i] != NULL; i++) {
		if (json_object_has_member (o, members[i]))
			g_string_append_printf (seen, "%s'%s'", seen->len > 0 ? ", " : "top-level ",
						members[i]);
	}
	if (g_strstr_len (data, (gssize)len, "{{user") != NULL
	    || g_strstr_len (data, (gssize)len, "{{ user") != NULL)
		g_string_append_printf (seen, "%s'{{user ...}}'", seen->len > 0 ? ", " : "");
	if (seen->len == 0)
		return TRUE;
	g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		     "template: a Packer template (%s): virt-aleph build takes Packer-style "
		     "templates, not Packer-compatible ones ('source' for 'builders', "
		     "${var.NAME} for {{user `NAME`}}, the manifest written beside the image "
		     "for 'post-processors'); see docs/builder.md, section \"Coming from Packer\"",
		     seen->str);
	return FALSE;
}

/**
 * ac_template_new_from_data:
 * @base_dir: (nullable): the folder relative paths are resolved against
 * @vars: (nullable): --var overrides (name → value)
 */
static AcTemplate *
tpl_new (const gchar *data,
         gsize len,
         const gchar *base_dir,
         GHashTable *vars,
         GHashTable *origins,
         GError **error)
{
	const gchar *allowed[] = { "$schema", "name", "description", "variables", "source",
				   "provisioners", "provision_backend", "disk", "passphrase", "output",
				   "reproducible", "publish", NULL };
	g_autoptr(AcTemplate) self = g_new0 (AcTemplate, 1);
	g_autoptr(GHashTable) merged = NULL;
	g_autoptr(JsonNode) root = NULL;
	JsonObject *o;

	self->source_date_epoch = -1;
	self->base_dir = g_strdup (base_dir);
	self->provisioners = g_ptr_array_new_with_free_func (
		(GDestroyNotify)ac_template_provisioner_free);
	self->var_used = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
	root = tpl_load_root (data, len, error);
	if (root == NULL)
		return NULL;
	o = json_node_get_object (root);
	if (!tpl_check_packer (o, data, len, error)
	    || !ac_json_check_members (&ac_template_scope, o, "", allowed, error))
		return NULL;
	merged = ac_template_vars_merge (self, o, vars, origins, error);
	if (merged == NULL || !ac_template_vars_substitute (self, root, merged, error) ||
	    !ac_template_sections_parse (self, o, error))
		return NULL;
	self->var_values = g_steal_pointer (&merged);
	return g_steal_pointer (&self);
}

AcTemplate *
ac_template_new_from_data (const gchar *data,
                           gsize len,
                           const gchar *base_dir,
                           GHashTable *vars,
                           GError **error)
{
	return tpl_new (data, len, base_dir, vars, NULL, error);
}

/**
 * ac_template_new_from_file_full:
 * @origins: (nullable): where each of @vars comes from ("vars.txt line 3"), for the errors
 */
AcTemplate *
ac_template_new_from_file_full (const gchar *path,
                                GHashTable *vars,
                                GHashTable *origins,
                                GError **error)
{
	g_autofree gchar *data = NULL;
	g_autofree gchar *dir = NULL;
	g_autofree gchar *abs = NULL;
	gsize len = 0;
	if (!ac_file_read_bounded (path, AC_FILE_MAX_DEFAULT, &data, &len, error)) {
		g_prefix_error (error, "cannot read the template: ");
		return NULL;
	}
	abs = g_canonicalize_filename (path, NULL);
	dir = g_path_get_dirname (abs);
	return tpl_new (data, len, dir, vars, origins, error);
}

AcTemplate *
ac_template_new_from_file (const gchar *path, GHashTable *vars, GError **error)
{
	return ac_template_new_from_file_full (path, vars, NULL, error);
}
