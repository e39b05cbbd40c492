/*
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Templates are user input: every member is checked for its type and range, unknown members are
 * refused (a typo must not silently fall back to a default), and every error names the field
 * ("template field 'disk.luks.key_size': ...") and what was expected. Variables: "${var.NAME}"
 * in any string value outside "variables" is replaced by the variable's value ("$$" is a
 * literal "$"); --var NAME=VALUE overrides a declared default.
 */

#include "config.h"

#include "ac-builder-template.h"

#include <openssl/evp.h>
#include <string.h>

#include "ac-codec.h"
#include "ac-error.h"
#include "ac-json.h"
#include "ac-size.h"

#define AC_TEMPLATE_MAX_SIZE (1024 * 1024)
#define AC_TEMPLATE_MAX_DEPTH 32

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

static const AcJsonScope tpl_scope = { "template", AC_ERROR_INVALID_INPUT };

static gboolean
tpl_size (JsonObject *o,
	  const gchar *path,
	  const gchar *name,
	  gboolean required,
	  guint64 min,
	  guint64 max,
	  guint64 align,
	  guint64 *out,
	  GError **error)
{
	JsonNode *n = json_object_get_member (o, name);
	g_autofree gchar *field = ac_json_field_path (path, name);
	guint64 v = 0;
	if (n == NULL) {
		if (required)
			return ac_json_fail (&tpl_scope, error, field, "missing: a size such as \"4GiB\" is required");
		return TRUE;
	}
	if (JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) == G_TYPE_INT64) {
		gint64 i = json_node_get_int (n);
		if (i < 0)
			return ac_json_fail (&tpl_scope, error, field, "%" G_GINT64_FORMAT ": expected a positive size", i);
		v = (guint64)i;
	} else if (JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) == G_TYPE_STRING) {
		g_autoptr(GError) local = NULL;
		if (!ac_size_parse (json_node_get_string (n), AC_SIZE_DEFAULT, &v, &local))
			return ac_json_fail (&tpl_scope, error, field, "%s", local->message);
	} else {
		return ac_json_fail (&tpl_scope, error, field, "%s: expected a size such as \"4GiB\" or a number of bytes",
				 ac_json_type_name (n));
	}
	if (v < min || v > max)
		return ac_json_fail (&tpl_scope, error, field, "%" G_GUINT64_FORMAT " bytes: expected %" G_GUINT64_FORMAT
				 " to %" G_GUINT64_FORMAT, v, min, max);
	if (v % align != 0)
		return ac_json_fail (&tpl_scope, error, field, "%" G_GUINT64_FORMAT " bytes: expected a multiple of %"
				 G_GUINT64_FORMAT, v, align);
	*out = v;
	return TRUE;
}

/* a path from the template: relative ones are relative to the template's folder */
static gchar *
tpl_resolve (const gchar *base_dir, const gchar *path)
{
	if (g_path_is_absolute (path) || base_dir == NULL)
		return g_strdup (path);
	return g_build_filename (base_dir, path, NULL);
}

static gboolean
tpl_is_uuid (const gchar *s)
{
	if (s == NULL || strlen (s) != 36)
		return FALSE;
	for (guint i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return FALSE;
		} else if (!g_ascii_isxdigit (s[i])) {
			return FALSE;
		}
	}
	return TRUE;
}

/* an absolute guest path without "." or ".." components */
static gboolean
tpl_guest_path_ok (const gchar *p)
{
	g_auto(GStrv) parts = NULL;
	if (p[0] != '/')
		return FALSE;
	parts = g_strsplit (p, "/", -1);
	for (guint i = 0; parts[i] != NULL; i++) {
		if (g_strcmp0 (parts[i], "..") == 0 || g_strcmp0 (parts[i], ".") == 0)
			return FALSE;
	}
	return TRUE;
}

/* ---- variables ---- */

static gchar *
tpl_substitute (const gchar *s,
                GHashTable *vars,
                GHashTable *used,
                const gchar *field,
                GError **error)
{
	g_autoptr(GString) out = g_string_new (NULL);
	const gchar *p = s;
	while (*p != '\0') {
		if (p[0] == '$' && p[1] == '$') {
			g_string_append_c (out, '$');
			p += 2;
		} else if (p[0] == '$' && p[1] == '{') {
			const gchar *end = strchr (p + 2, '}');
			g_autofree gchar *ref = NULL;
			const gchar *value;
			if (end == NULL) {
				ac_json_fail (&tpl_scope, error, field, "unterminated '${' in '%s'", s);
				return NULL;
			}
			ref = g_strndup (p + 2, (gsize)(end - p - 2));
			if (!g_str_has_prefix (ref, "var.")) {
				ac_json_fail (&tpl_scope, error, field, "'${%s}': expected a reference like ${var.NAME}", ref);
				return NULL;
			}
			value = vars != NULL ? g_hash_table_lookup (vars, ref + 4) : NULL;
			if (value == NULL) {
				ac_json_fail (&tpl_scope, error, field,
					  "'${%s}': no variable '%s' is declared in 'variables'", ref,
					  ref + 4);
				return NULL;
			}
			if (used != NULL)
				g_hash_table_add (used, g_strdup (ref + 4));
			g_string_append (out, value);
			if (out->len > 65536) {
				ac_json_fail (&tpl_scope, error, field, "value longer than 65536 characters after substitution");
				return NULL;
			}
			p = end + 1;
		} else {
			g_string_append_c (out, *p);
			p++;
		}
	}
	return g_string_free (g_steal_pointer (&out), FALSE);
}

static gboolean
tpl_substitute_node (JsonNode *node,
                     GHashTable *vars,
                     GHashTable *used,
                     const gchar *field,
                     guint depth,
                     GError **error)
{
	if (depth > AC_TEMPLATE_MAX_DEPTH)
		return ac_json_fail (&tpl_scope, error, field, "nested deeper than %u levels", AC_TEMPLATE_MAX_DEPTH);
	if (JSON_NODE_HOLDS_OBJECT (node)) {
		JsonObject *o = json_node_get_object (node);
		g_autoptr(GList) members = json_object_get_members (o);
		for (GList *l = members; l != NULL; l = l->next) {
			g_autofree gchar *f = ac_json_field_path (field, l->data);
			if (!tpl_substitute_node (json_object_get_member (o, l->data), vars, used,
			                          f, depth + 1, error))
				return FALSE;
		}
	} else if (JSON_NODE_HOLDS_ARRAY (node)) {
		JsonArray *a = json_node_get_array (node);
		for (guint i = 0; i < json_array_get_length (a); i++) {
			g_autofree gchar *f = g_strdup_printf ("%s[%u]", field, i);
			if (!tpl_substitute_node (json_array_get_element (a, i), vars, used, f,
			                          depth + 1, error))
				return FALSE;
		}
	} else if (JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING) {
		const gchar *s = json_node_get_string (node);
		if (strchr (s, '$') != NULL) {
			g_autofree gchar *r = tpl_substitute (s, vars, used, field, error);
			if (r == NULL)
				return FALSE;
			json_node_set_string (node, r);
		}
	}
	return TRUE;
}

static gboolean
tpl_is_var_name (const gchar *name)
{
	if (name == NULL || !(g_ascii_isalpha (name[0]) || name[0] == '_'))
		return FALSE;
	for (const gchar *p = name; *p != '\0'; p++) {
		if (!g_ascii_isalnum (*p) && *p != '_' && *p != '-')
			return FALSE;
	}
	return strlen (name) <= 64;
}

/**
 * ac_template_parse_var:
 * @kv: "NAME=VALUE" from --var
 */
gboolean
ac_template_parse_var (GHashTable *vars, const gchar *kv, GError **error)
{
	const gchar *eq = strchr (kv, '=');
	g_autofree gchar *name = NULL;
	if (eq == NULL) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			     "--var '%s': expected NAME=VALUE", kv);
		return FALSE;
	}
	name = g_strndup (kv, (gsize)(eq - kv));
	if (!tpl_is_var_name (name)) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			     "--var '%s': the name must be letters, digits, '_' or '-', starting with "
			     "a letter or '_'", name);
		return FALSE;
	}
	g_hash_table_insert (vars, g_steal_pointer (&name), g_strdup (eq + 1));
	return TRUE;
}

/* ---- sections ---- */

static gboolean
tpl_parse_source (AcTemplate *self, JsonObject *o, GError **error)
{
	const gchar *path = "source";
	g_autofree gchar *type = NULL;
	AcTemplateSource *s = &self->source;

	if (!ac_json_read_string (&tpl_scope, o, path, "type", TRUE, 4096, &type, error))
		return FALSE;
	if (g_strcmp0 (type, "directory") == 0 || g_strcmp0 (type, "tarball") == 0) {
		const gchar *allowed[] = { "type", "path", NULL };
		g_autofree gchar *p = NULL;
		s->type = type[0] == 'd' ? AC_SOURCE_DIRECTORY : AC_SOURCE_TARBALL;
		if (!ac_json_check_members (&tpl_scope, o, path, allowed, error) ||
		    !ac_json_read_string (&tpl_scope, o, path, "path", TRUE, 4096, &p, error))
			return FALSE;
		s->path = tpl_resolve (self->base_dir, p);
	} else if (g_strcmp0 (type, "image") == 0) {
		const gchar *allowed[] = { "type", "path", "format", "partition", NULL };
		g_autofree gchar *p = NULL;
		s->type = AC_SOURCE_IMAGE;
		if (!ac_json_check_members (&tpl_scope, o, path, allowed, error) ||
		    !ac_json_read_string (&tpl_scope, o, path, "path", TRUE, 4096, &p, error) ||
		    !ac_json_read_string (&tpl_scope, o, path, "format", FALSE, 4096, &s->format, error) ||
		    !ac_json_read_string (&tpl_scope, o, path, "partition", FALSE, 4096, &s->partition, error))
			return FALSE;
		s->path = tpl_resolve (self->base_dir, p);
		if (s->format == NULL)
			s->format = g_strdup ("auto");
		if (g_strcmp0 (s->format, "auto") != 0 && g_strcmp0 (s->format, "raw") != 0 &&
		    g_strcmp0 (s->format, "qcow2") != 0)
			return ac_json_fail (&tpl_scope, error, "source.format", "'%s': expected raw, qcow2 or auto",
					 s->format);
		if (s->partition == NULL)
			s->partition = g_strdup ("auto");
		if (g_strcmp0 (s->partition, "auto") != 0) {
			guint64 n = 0;
			if (!g_ascii_string_to_unsigned (s->partition, 10, 1, 128, &n, NULL))
				return ac_json_fail (&tpl_scope, error, "source.partition",
						 "'%s': expected \"auto\" or a partition number 1 to 128",
						 s->partition);
		}
	} else if (g_strcmp0 (type, "libvirt-domain") == 0) {
		const gchar *allowed[] = { "type", "domain", "disk", NULL };
		s->type = AC_SOURCE_LIBVIRT_DOMAIN;
		if (!ac_json_check_members (&tpl_scope, o, path, allowed, error) ||
		    !ac_json_read_string (&tpl_scope, o, path, "domain", TRUE, 4096, &s->domain, error) ||
		    !ac_json_read_string (&tpl_scope, o, path, "disk", FALSE, 4096, &s->disk, error))
			return FALSE;
	} else if (g_strcmp0 (type, "debootstrap") == 0) {
		const gchar *allowed[] = { "type",    "distribution", "suite",      "mirror",
					   "variant", "include",      "components", NULL };
		s->type = AC_SOURCE_DEBOOTSTRAP;
		if (!ac_json_check_members (&tpl_scope, o, path, allowed, error) ||
		    !ac_json_read_string (&tpl_scope, o, path, "distribution", FALSE, 4096, &s->distribution, error) ||
		    !ac_json_read_string (&tpl_scope, o, path, "suite", TRUE, 4096, &s->suite, error) ||
		    !ac_json_read_string (&tpl_scope, o, path, "mirror", FALSE, 4096, &s->mirror, error) ||
		    !ac_json_read_string (&tpl_scope, o, path, "variant", FALSE, 4096, &s->variant, error) ||
		    !ac_json_read_strv (&tpl_scope, o, path, "include", 512, &s->include, error) ||
		    !ac_json_read_string (&tpl_scope, o, path, "components", FALSE, 4096, &s->components, error))
			return FALSE;
		if (s->distribution == NULL)
			s->distribution = g_strdup ("debian");
		if (g_strcmp0 (s->distribution, "debian") != 0 &&
		    g_strcmp0 (s->distribution, "ubuntu") != 0)
			return ac_json_fail (&tpl_scope, error, "source.distribution", "'%s': expected debian or ubuntu",
					 s->distribution);
		for (const gchar *c = s->suite; *c != '\0'; c++) {
			if (!g_ascii_isalnum (*c) && *c != '-')
				return ac_json_fail (&tpl_scope, error, "source.suite",
						 "'%s': expected a suite name (letters, digits, '-')",
						 s->suite);
		}
		if (s->mirror == NULL)
			s->mirror = g_strdup (s->distribution[0] == 'd' ? "http://deb.debian.org/debian"
									: "http://archive.ubuntu.com/ubuntu");
		if (!g_str_has_prefix (s->mirror, "http://") &&
		    !g_str_has_prefix (s->mirror, "https://") && !g_str_has_prefix (s->mirror, "file:///"))
			return ac_json_fail (&tpl_scope, error, "source.mirror",
					 "'%s': expected an http://, https:// or file:/// URL", s->mirror);
		if (s->variant != NULL && g_strcmp0 (s->variant, "minbase") != 0 &&
		    g_strcmp0 (s->variant, "buildd") != 0)
			return ac_json_fail (&tpl_scope, error, "source.variant", "'%s': expected minbase or buildd",
					 s->variant);
		for (guint i = 0; s->include != NULL && s->include[i] != NULL; i++) {
			const gchar *pkg = s->include[i];
			gboolean ok = g_ascii_isalnum (pkg[0]);
			for (const gchar *c = pkg; ok && *c != '\0'; c++)
				ok = g_ascii_isalnum (*c) || strchr ("+-.", *c) != NULL;
			if (!ok) {
				g_autofree gchar *f = g_strdup_printf ("source.include[%u]", i);
				return ac_json_fail (&tpl_scope, error, f, "'%s': expected a Debian package name", pkg);
			}
		}
		if (s->components != NULL) {
			for (const gchar *c = s->components; *c != '\0'; c++) {
				if (!g_ascii_isalnum (*c) && *c != ',' && *c != '-')
					return ac_json_fail (&tpl_scope, error, "source.components",
							 "'%s': expected comma-separated component names",
							 s->components);
			}
		}
	} else {
		return ac_json_fail (&tpl_scope, error, "source.type",
				 "'%s': expected directory, tarball, image, libvirt-domain or debootstrap",
				 type);
	}
	return TRUE;
}

static gboolean
tpl_parse_provisioner (AcTemplate *self, JsonNode *node, guint idx, GError **error)
{
	g_autofree gchar *path = g_strdup_printf ("provisioners[%u]", idx);
	g_autofree gchar *type = NULL;
	AcTemplateProvisioner *p;
	JsonObject *o;

	if (!JSON_NODE_HOLDS_OBJECT (node))
		return ac_json_fail (&tpl_scope, error, path, "%s: expected an object", ac_json_type_name (node));
	o = json_node_get_object (node);
	if (!ac_json_read_string (&tpl_scope, o, path, "type", TRUE, 4096, &type, error))
		return FALSE;
	p = g_new0 (AcTemplateProvisioner, 1);
	p->field = g_strdup (path);
	g_ptr_array_add (self->provisioners, p);
	if (g_strcmp0 (type, "file") == 0) {
		const gchar *allowed[] = { "type", "source", "destination", "mode", NULL };
		g_autofree gchar *src = NULL;
		g_autofree gchar *mode = NULL;
		g_autofree gchar *f = ac_json_field_path (path, "destination");
		p->type = AC_PROVISIONER_FILE;
		if (!ac_json_check_members (&tpl_scope, o, path, allowed, error) ||
		    !ac_json_read_string (&tpl_scope, o, path, "source", TRUE, 4096, &src, error) ||
		    !ac_json_read_string (&tpl_scope, o, path, "destination", TRUE, 4096, &p->destination, error) ||
		    !ac_json_read_string (&tpl_scope, o, path, "mode", FALSE, 4096, &mode, error))
			return FALSE;
		p->source = tpl_resolve (self->base_dir, src);
		if (!tpl_guest_path_ok (p->destination))
			return ac_json_fail (&tpl_scope, error, f, "'%s': expected an absolute path without '.' or '..'",
					 p->destination);
		if (mode != NULL) {
			guint64 m = 0;
			g_autofree gchar *mf = ac_json_field_path (path, "mode");
			if (strlen (mode) > 4 ||
			    !g_ascii_string_to_unsigned (mode, 8, 0, 07777, &m, NULL))
				return ac_json_fail (&tpl_scope, error, mf, "'%s': expected an octal mode such as \"0644\"",
						 mode);
			p->mode = (guint)m | 0x80000000u; /* high bit: set */
		}
	} else if (g_strcmp0 (type, "shell") == 0) {
		const gchar *allowed[] = { "type", "inline", "script", "environment", NULL };
		g_autofree gchar *script = NULL;
		JsonObject *env = NULL;
		p->type = AC_PROVISIONER_SHELL;
		if (!ac_json_check_members (&tpl_scope, o, path, allowed, error) ||
		    !ac_json_read_strv (&tpl_scope, o, path, "inline", 4096, &p->inline_cmds, error) ||
		    !ac_json_read_string (&tpl_scope, o, path, "script", FALSE, 4096, &script, error) ||
		    !ac_json_read_object (&tpl_scope, o, path, "environment", FALSE, &env, error))
			return FALSE;
		if ((p->inline_cmds == NULL) == (script == NULL))
			return ac_json_fail (&tpl_scope, error, path, "expected exactly one of 'inline' and 'script'");
		if (script != NULL)
			p->script = tpl_resolve (self->base_dir, script);
		if (env != NULL) {
			g_autoptr(GStrvBuilder) b = g_strv_builder_new ();
			g_autoptr(GList) members = json_object_get_members (env);
			g_autofree gchar *epath = ac_json_field_path (path, "environment");
			for (GList *l = members; l != NULL; l = l->next) {
				g_autofree gchar *value = NULL;
				g_autofree gchar *ef = ac_json_field_path (epath, l->data);
				if (!tpl_is_var_name (l->data) || strchr (l->data, '-') != NULL)
					return ac_json_fail (&tpl_scope, error, ef, "expected a variable name: letters, "
								    "digits and '_'");
				if (!ac_json_read_string (&tpl_scope, env, epath, l->data, TRUE, 4096, &value, error))
					return FALSE;
				g_autofree gchar *kv = g_strdup_printf ("%s=%s", (gchar *)l->data, value);
				g_strv_builder_add (b, kv);
			}
			p->environment = g_strv_builder_end (b);
		}
	} else if (g_strcmp0 (type, "aleph") == 0) {
		const gchar *allowed[] = { "type", "mapper_name", "install_packages", "update_initramfs",
					   "install_grub", "kernel_cmdline", NULL };
		p->type = AC_PROVISIONER_ALEPH;
		p->install_packages = TRUE;
		p->update_initramfs = TRUE;
		p->install_grub = TRUE;
		if (!ac_json_check_members (&tpl_scope, o, path, allowed, error) ||
		    !ac_json_read_string (&tpl_scope, o, path, "mapper_name", FALSE, 4096, &p->mapper_name, error) ||
		    !ac_json_read_bool (&tpl_scope, o, path, "install_packages", FALSE, &p->install_packages, error) ||
		    !ac_json_read_bool (&tpl_scope, o, path, "update_initramfs", FALSE, &p->update_initramfs, error) ||
		    !ac_json_read_bool (&tpl_scope, o, path, "install_grub", FALSE, &p->install_grub, error) ||
		    !ac_json_read_string (&tpl_scope, o, path, "kernel_cmdline", FALSE, 4096, &p->kernel_cmdline, error))
			return FALSE;
		if (p->mapper_name == NULL)
			p->mapper_name = g_strdup ("cr_root");
		for (const gchar *c = p->mapper_name; *c != '\0'; c++) {
			if (!g_ascii_isalnum (*c) && *c != '_' && *c != '-') {
				g_autofree gchar *f = ac_json_field_path (path, "mapper_name");
				return ac_json_fail (&tpl_scope, error, f, "'%s': expected letters, digits, '_' or '-'",
						 p->mapper_name);
			}
		}
		if (p->kernel_cmdline != NULL && strpbrk (p->kernel_cmdline, "\n\"'\\$`;") != NULL) {
			g_autofree gchar *f = ac_json_field_path (path, "kernel_cmdline");
			return ac_json_fail (&tpl_scope, error, f, "expected kernel arguments without quotes, '$', '`', "
						   "';', '\\' or newlines");
		}
	} else {
		g_autofree gchar *f = ac_json_field_path (path, "type");
		return ac_json_fail (&tpl_scope, error, f, "'%s': expected file, shell or aleph", type);
	}
	return TRUE;
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

/* "provision_backend": "chroot" (default) or "libguestfs" (file and shell provisioners only; the
 * aleph provisioner always runs in the chroot) */
static gboolean
tpl_parse_provision_backend (AcTemplate *self, JsonObject *o, GError **error)
{
	g_autofree gchar *backend = NULL;
	if (!ac_json_read_string (&tpl_scope, o, "", "provision_backend", FALSE, 4096, &backend, error))
		return FALSE;
	if (backend == NULL || g_strcmp0 (backend, "chroot") == 0) {
		self->provision_backend = AC_PROVISION_BACKEND_CHROOT;
		return TRUE;
	}
	if (g_strcmp0 (backend, "libguestfs") != 0)
		return ac_json_fail (&tpl_scope, error, "provision_backend", "'%s': expected chroot or libguestfs",
				 backend);
#if !HAVE_LIBGUESTFS
	g_set_error (error, AC_ERROR, AC_ERROR_UNSUPPORTED,
		     "template field 'provision_backend': 'libguestfs': this build has no libguestfs "
		     "(rebuild with the meson option -Dlibguestfs=enabled and libguestfs-dev "
		     "installed), or use \"chroot\"");
	return FALSE;
#else
	self->provision_backend = AC_PROVISION_BACKEND_LIBGUESTFS;
	return TRUE;
#endif
}

static gboolean
tpl_parse_disk (AcTemplate *self, JsonObject *o, GError **error)
{
	const gchar *allowed[] = { "layout", "size", "esp_size", "filesystem", "label", "luks",
				   NULL };
	const gchar *luks_allowed[] = { "cipher", "key_size", "hash", "pbkdf_iterations", "uuid",
					NULL };
	JsonObject *luks = NULL;
	g_autofree gchar *cipher = NULL;
	g_autofree gchar *layout = NULL;
	gint64 v = 0;
	gboolean present = FALSE;

	self->esp_size = 100 * 1024 * 1024 - 1024 * 1024; /* Aleph: 1 MiB to 100 MiB */
	if (!ac_json_check_members (&tpl_scope, o, "disk", allowed, error) ||
	    !ac_json_read_string (&tpl_scope, o, "disk", "layout", FALSE, 4096, &layout, error))
		return FALSE;
	if (layout == NULL || g_strcmp0 (layout, "grub-luks1") == 0) {
		self->layout = AC_IMAGE_LAYOUT_GRUB_LUKS1;
	} else if (g_strcmp0 (layout, "luks2-root") == 0) {
		self->layout = AC_IMAGE_LAYOUT_LUKS2_ROOT;
		if (json_object_has_member (o, "esp_size"))
			return ac_json_fail (&tpl_scope, error, "disk.esp_size",
					     "the luks2-root layout has no ESP: remove it");
		self->esp_size = 0;
	} else {
		return ac_json_fail (&tpl_scope, error, "disk.layout",
				     "'%s': expected grub-luks1 (GPT, ESP, LUKS1 for GRUB) or "
				     "luks2-root (a LUKS2 root for an SEV-SNP runtime)",
				     layout);
	}
	if (!tpl_size (o, "disk", "size", TRUE, 64 * 1024 * 1024,
		       G_GUINT64_CONSTANT (1953125) * 1024 * 1024, 512, &self->disk_size, error) ||
	    !tpl_size (o, "disk", "esp_size", FALSE, 1024 * 1024, 4096ULL * 1024 * 1024,
		       1024 * 1024, &self->esp_size, error) ||
	    !ac_json_read_string (&tpl_scope, o, "disk", "filesystem", FALSE, 4096, &self->filesystem, error) ||
	    !ac_json_read_string (&tpl_scope, o, "disk", "label", FALSE, 4096, &self->fs_label, error) ||
	    !ac_json_read_object (&tpl_scope, o, "disk", "luks", FALSE, &luks, error))
		return FALSE;
	if (self->filesystem == NULL)
		self->filesystem = g_strdup ("ext4");
	if (g_strcmp0 (self->filesystem, "ext4") != 0)
		return ac_json_fail (&tpl_scope, error, "disk.filesystem",
				 "'%s': expected ext4 (the filesystem Aleph's GRUB reads)",
				 self->filesystem);
	if (self->fs_label != NULL && strlen (self->fs_label) > 16)
		return ac_json_fail (&tpl_scope, error, "disk.label", "'%s': expected at most 16 characters",
				 self->fs_label);
	if (self->layout == AC_IMAGE_LAYOUT_GRUB_LUKS1 &&
	    self->esp_size + 64 * 1024 * 1024 > self->disk_size)
		return ac_json_fail (&tpl_scope, error, "disk.esp_size",
				 "%" G_GUINT64_FORMAT " bytes leaves no room for the root partition in "
				 "a disk of %" G_GUINT64_FORMAT " bytes",
				 self->esp_size, self->disk_size);
	self->cipher = g_strdup ("aes");
	self->cipher_mode = g_strdup ("xts-plain64");
	self->key_bits = 512;
	self->hash = g_strdup ("sha256");
	if (luks == NULL)
		return TRUE;
	if (!ac_json_check_members (&tpl_scope, luks, "disk.luks", luks_allowed, error) ||
	    !ac_json_read_string (&tpl_scope, luks, "disk.luks", "cipher", FALSE, 4096, &cipher, error) ||
	    !ac_json_read_int (&tpl_scope, luks, "disk.luks", "key_size", 0, G_MAXINT32, &v, &present, error))
		return FALSE;
	if (cipher != NULL && g_strcmp0 (cipher, "aes-xts-plain64") != 0)
		return ac_json_fail (&tpl_scope, error, "disk.luks.cipher",
				 "'%s': expected aes-xts-plain64 (LUKS1 as GRUB's luks module reads it)",
				 cipher);
	if (present) {
		if (v != 256 && v != 512)
			return ac_json_fail (&tpl_scope, error, "disk.luks.key_size",
					 "%" G_GINT64_FORMAT ": expected 256 or 512 (bits of the XTS key)", v);
		self->key_bits = (guint)v;
	}
	if (!ac_json_read_string (&tpl_scope, luks, "disk.luks", "hash", FALSE, 4096, &self->hash, error))
		return FALSE;
	if (g_strcmp0 (self->hash, "sha256") != 0 && g_strcmp0 (self->hash, "sha512") != 0 &&
	    g_strcmp0 (self->hash, "sha1") != 0)
		return ac_json_fail (&tpl_scope, error, "disk.luks.hash",
				 "'%s': expected sha256, sha512 or sha1 (GRUB's gcry modules)",
				 self->hash);
	if (!ac_json_read_int (&tpl_scope, luks, "disk.luks", "pbkdf_iterations", 1000, 100000000, &v, &present, error))
		return FALSE;
	if (present)
		self->iterations = (guint32)v;
	if (!ac_json_read_string (&tpl_scope, luks, "disk.luks", "uuid", FALSE, 4096, &self->luks_uuid, error))
		return FALSE;
	if (self->luks_uuid != NULL && !tpl_is_uuid (self->luks_uuid))
		return ac_json_fail (&tpl_scope, error, "disk.luks.uuid",
				 "'%s': expected a UUID like 01234567-89ab-cdef-0123-456789abcdef",
				 self->luks_uuid);
	return TRUE;
}

static gboolean
tpl_parse_passphrase (AcTemplate *self, JsonObject *o, GError **error)
{
	const gchar *allowed[] = { "generate", "file", "env", "from_caller", NULL };
	gint64 v = 0;
	gboolean present = FALSE, caller = FALSE;
	guint n = 0;
	if (!ac_json_check_members (&tpl_scope, o, "passphrase", allowed, error) ||
	    !ac_json_read_int (&tpl_scope, o, "passphrase", "generate", 16, 512, &v, &present, error) ||
	    !ac_json_read_string (&tpl_scope, o, "passphrase", "file", FALSE, 4096, &self->passphrase_file, error) ||
	    !ac_json_read_string (&tpl_scope, o, "passphrase", "env", FALSE, 4096, &self->passphrase_env, error) ||
	    !ac_json_read_bool (&tpl_scope, o, "passphrase", "from_caller", FALSE, &caller, error))
		return FALSE;
	n = (present ? 1 : 0) + (self->passphrase_file != NULL ? 1 : 0) +
	    (self->passphrase_env != NULL ? 1 : 0) + (caller ? 1 : 0);
	if (n != 1)
		return ac_json_fail (&tpl_scope, error, "passphrase",
				 "expected exactly one of 'generate' (a length), 'file', 'env' and "
				 "'from_caller'");
	if (present) {
		self->passphrase_source = AC_PASSPHRASE_GENERATE;
		self->passphrase_length = (guint)v;
	} else if (self->passphrase_file != NULL) {
		g_autofree gchar *f = g_steal_pointer (&self->passphrase_file);
		self->passphrase_source = AC_PASSPHRASE_FILE;
		self->passphrase_file = tpl_resolve (self->base_dir, f);
	} else if (self->passphrase_env != NULL) {
		self->passphrase_source = AC_PASSPHRASE_ENV;
	} else {
		self->passphrase_source = AC_PASSPHRASE_CALLER;
	}
	return TRUE;
}

static gboolean
tpl_parse_output (AcTemplate *self, JsonObject *o, GError **error)
{
	const gchar *allowed[] = { "path", "manifest", NULL };
	g_autofree gchar *p = NULL;
	g_autofree gchar *m = NULL;
	if (!ac_json_check_members (&tpl_scope, o, "output", allowed, error) ||
	    !ac_json_read_string (&tpl_scope, o, "output", "path", TRUE, 4096, &p, error) ||
	    !ac_json_read_string (&tpl_scope, o, "output", "manifest", FALSE, 4096, &m, error))
		return FALSE;
	self->output_path = tpl_resolve (self->base_dir, p);
	self->manifest_path = m != NULL ? tpl_resolve (self->base_dir, m)
					: g_strconcat (self->output_path, ".manifest.json", NULL);
	if (g_strcmp0 (self->output_path, self->manifest_path) == 0)
		return ac_json_fail (&tpl_scope, error, "output.manifest", "'%s': the same file as output.path", m);
	return TRUE;
}

static gboolean
tpl_parse_reproducible (AcTemplate *self, JsonObject *o, GError **error)
{
	const gchar *allowed[] = { "source_date_epoch", "seed", "disk_guid", "filesystem_uuid",
				   NULL };
	gint64 v = 0;
	gboolean present = FALSE;
	if (!ac_json_check_members (&tpl_scope, o, "reproducible", allowed, error) ||
	    !ac_json_read_int (&tpl_scope, o, "reproducible", "source_date_epoch", 0, G_GINT64_CONSTANT (253402300799),
		      &v, &present, error) ||
	    !ac_json_read_string (&tpl_scope, o, "reproducible", "seed", TRUE, 4096, &self->seed, error) ||
	    !ac_json_read_string (&tpl_scope, o, "reproducible", "disk_guid", FALSE, 4096, &self->disk_guid, error) ||
	    !ac_json_read_string (&tpl_scope, o, "reproducible", "filesystem_uuid", FALSE, 4096, &self->fs_uuid, error))
		return FALSE;
	if (!present) {
		/* the environment's SOURCE_DATE_EPOCH, as reproducible-builds.org defines it */
		const gchar *env = g_getenv ("SOURCE_DATE_EPOCH");
		guint64 e = 0;
		if (env == NULL || !g_ascii_string_to_unsigned (env, 10, 0, G_GINT64_CONSTANT (253402300799),
								&e, NULL))
			return ac_json_fail (&tpl_scope, error, "reproducible.source_date_epoch",
					 "missing, and SOURCE_DATE_EPOCH is not set to a number of "
					 "seconds: one of them is required");
		v = (gint64)e;
	}
	if (self->disk_guid != NULL && !tpl_is_uuid (self->disk_guid))
		return ac_json_fail (&tpl_scope, error, "reproducible.disk_guid", "'%s': expected a UUID",
				 self->disk_guid);
	if (self->fs_uuid != NULL && !tpl_is_uuid (self->fs_uuid))
		return ac_json_fail (&tpl_scope, error, "reproducible.filesystem_uuid", "'%s': expected a UUID",
				 self->fs_uuid);
	self->reproducible = TRUE;
	self->source_date_epoch = v;
	return TRUE;
}

static gboolean
tpl_parse_publish (AcTemplate *self, JsonNode *node, GError **error)
{
	const gchar *allowed[] = { "api", "storage", "channel", "account", "payment", NULL };
	JsonObject *o;
	g_autofree gchar *api = NULL;
	g_autofree gchar *storage = NULL;
	g_autofree gchar *payment = NULL;
	g_autofree gchar *channel = NULL;
	g_autofree gchar *account = NULL;
	if (!JSON_NODE_HOLDS_OBJECT (node))
		return ac_json_fail (&tpl_scope, error, "publish", "%s: expected an object", ac_json_type_name (node));
	o = json_node_get_object (node);
	if (!ac_json_check_members (&tpl_scope, o, "publish", allowed, error)
	    || !ac_json_read_string (&tpl_scope, o, "publish", "api", FALSE, 4096, &api, error)
	    || !ac_json_read_string (&tpl_scope, o, "publish", "storage", FALSE, 4096, &storage,
	                             error)
	    || !ac_json_read_string (&tpl_scope, o, "publish", "payment", FALSE, 4096, &payment,
	                             error)
	    || !ac_json_read_string (&tpl_scope, o, "publish", "channel", FALSE, 4096, &channel,
	                             error)
	    || !ac_json_read_string (&tpl_scope, o, "publish", "account", FALSE, 4096, &account,
	                             error))
		return FALSE;
	if (payment != NULL && g_strcmp0 (payment, "credit") != 0 && g_strcmp0 (payment, "hold") != 0)
		return ac_json_fail (&tpl_scope, error, "publish.payment", "'%s': expected credit (the default) or hold",
				 payment);
	if (api != NULL && !g_str_has_prefix (api, "https://") && !g_str_has_prefix (api, "http://"))
		return ac_json_fail (&tpl_scope, error, "publish.api", "'%s': expected an http(s) URL", api);
	if (storage != NULL && g_strcmp0 (storage, "ipfs") != 0 && g_strcmp0 (storage, "storage") != 0)
		return ac_json_fail (&tpl_scope, error, "publish.storage", "'%s': expected ipfs or storage", storage);
	self->publish = json_node_copy (node);
	return TRUE;
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

/* the variables: declared defaults, then the caller's overrides (only of declared names) */
static GHashTable *
tpl_variables (AcTemplate *self,
               JsonObject *o,
               GHashTable *vars,
               GHashTable *origins,
               GError **error)
{
	g_autoptr(GHashTable) merged = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
	g_autoptr (GStrvBuilder) names = g_strv_builder_new ();
	JsonObject *sec = NULL;

	if (!ac_json_read_object (&tpl_scope, o, "", "variables", FALSE, &sec, error))
		return NULL;
	if (sec != NULL) {
		g_autoptr(GList) members = json_object_get_members (sec);
		if (g_list_length (members) > 256) {
			ac_json_fail (&tpl_scope, error, "variables", "%u variables: expected at most 256",
				  g_list_length (members));
			return NULL;
		}
		for (GList *l = members; l != NULL; l = l->next) {
			JsonNode *v = json_object_get_member (sec, l->data);
			g_autofree gchar *f = ac_json_field_path ("variables", l->data);
			if (!tpl_is_var_name (l->data)) {
				ac_json_fail (&tpl_scope, error, f, "expected a name of letters, digits, '_' or '-'");
				return NULL;
			}
			if (!JSON_NODE_HOLDS_VALUE (v) || json_node_get_value_type (v) != G_TYPE_STRING) {
				ac_json_fail (&tpl_scope, error, f, "%s: expected a string", ac_json_type_name (v));
				return NULL;
			}
			g_hash_table_insert (merged, g_strdup (l->data),
					     g_strdup (json_node_get_string (v)));
			g_strv_builder_add (names, l->data);
		}
	}
	self->var_names = g_strv_builder_end (names);
	self->var_defaults = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
	{
		GHashTableIter it;
		gpointer k, v;
		g_hash_table_iter_init (&it, merged);
		while (g_hash_table_iter_next (&it, &k, &v))
			g_hash_table_insert (self->var_defaults, g_strdup (k), g_strdup (v));
	}
	if (vars != NULL) {
		GHashTableIter it;
		gpointer k, v;
		g_hash_table_iter_init (&it, vars);
		while (g_hash_table_iter_next (&it, &k, &v)) {
			if (!g_hash_table_contains (merged, k)) {
				const gchar *origin
				    = origins != NULL ? g_hash_table_lookup (origins, k) : NULL;
				if (origin != NULL)
					g_set_error (
					    error, AC_ERROR, AC_ERROR_INVALID_INPUT,
					    "%s: variable '%s': the template declares no such "
					    "variable in 'variables'",
					    origin, (const gchar *)k);
				else
					g_set_error (
					    error, AC_ERROR, AC_ERROR_INVALID_INPUT,
					    "--var %s: the template declares no such variable in "
					    "'variables'",
					    (const gchar *)k);
				return NULL;
			}
			g_hash_table_insert (merged, g_strdup (k), g_strdup (v));
		}
	}
	return g_steal_pointer (&merged);
}

/* the variables substituted in every other member; @self->sha256, the digest of what will be
 * built, of the result */
static gboolean
tpl_substitute_all (AcTemplate *self, JsonNode *root, GHashTable *merged, GError **error)
{
	JsonObject *o = json_node_get_object (root);

	{
		g_autoptr(GList) members = json_object_get_members (o);
		for (GList *l = members; l != NULL; l = l->next) {
			if (g_strcmp0 (l->data, "variables") == 0)
				continue;
			if (!tpl_substitute_node (json_object_get_member (o, l->data), merged,
			                          self->var_used, l->data, 0, error))
				return FALSE;
		}
	}
	{
		g_autoptr(JsonGenerator) gen = json_generator_new ();
		g_autofree gchar *canon = NULL;
		gsize clen = 0;
		guint8 md[32];
		json_generator_set_root (gen, root);
		canon = json_generator_to_data (gen, &clen);
		EVP_Digest (canon, clen, md, NULL, EVP_sha256 (), NULL);
		self->sha256 = ac_codec_hex_encode (md, sizeof (md));
	}

	return TRUE;
}

/*
 * A grub-luks1 image published to Aleph boots with Aleph's SEV firmware: its GRUB unlocks the
 * root with the injected passphrase (GRUB_ENABLE_CRYPTODISK, a grub.cfg on the encrypted root)
 * and the guest's initramfs must then open it again with the slot-1 keyfile, or the boot stops
 * at a second passphrase prompt nobody can answer. That is the aleph provisioner's work; an
 * image without it would be uploaded and paid for, then never boot. Refused before anything is
 * built, naming the step to add. (luks2-root: the SEV-SNP runtime's initrd opens the image.)
 */
static gboolean
tpl_check_publish_sev (AcTemplate *self, GError **error)
{
	const AcTemplateProvisioner *aleph = NULL;
	if (self->publish == NULL)
		return TRUE;
	for (guint i = 0; i < self->provisioners->len; i++) {
		const AcTemplateProvisioner *p = g_ptr_array_index (self->provisioners, i);
		if (p->type == AC_PROVISIONER_ALEPH)
			aleph = p;
	}
	if (aleph == NULL)
		return ac_json_fail (
		    &tpl_scope, error, "provisioners",
		    "the image is published to Aleph for its SEV firmware "
		    "(disk.layout grub-luks1), which needs the guest set up for "
		    "GRUB's cryptodisk boot and the initramfs keyfile: add the aleph "
		    "provisioner, { \"type\": \"aleph\" }, after the other "
		    "provisioners (docs/builder.md#publishing-to-aleph), or build for "
		    "SEV-SNP with \"disk\": { \"layout\": \"luks2-root\" }");
	if (!aleph->update_initramfs) {
		g_autofree gchar *f = ac_json_field_path (aleph->field, "update_initramfs");
		return ac_json_fail (
		    &tpl_scope, error, f,
		    "false: the image is published to Aleph for its SEV firmware, "
		    "and its initramfs must carry the keyfile or the boot stops at a "
		    "second passphrase prompt: leave update_initramfs on "
		    "(docs/builder.md#publishing-to-aleph)");
	}
	return TRUE;
}

/* what the luks2-root layout has no use for: GRUB's setup, a key slot for a keyfile, a
 * reproducible header (libcryptsetup draws LUKS2's salts itself) */
static gboolean
tpl_check_layout (AcTemplate *self, GError **error)
{
	if (self->layout != AC_IMAGE_LAYOUT_LUKS2_ROOT)
		return tpl_check_publish_sev (self, error);
	for (guint i = 0; i < self->provisioners->len; i++) {
		AcTemplateProvisioner *p = g_ptr_array_index (self->provisioners, i);
		if (p->type == AC_PROVISIONER_ALEPH)
			return ac_json_fail (&tpl_scope, error, p->field,
					     "the aleph provisioner sets the guest up for GRUB's "
					     "cryptodisk boot: not for disk.layout luks2-root, whose "
					     "root the SEV-SNP runtime's initrd opens");
	}
	if (self->reproducible)
		return ac_json_fail (&tpl_scope, error, "reproducible",
				     "not available with disk.layout luks2-root: libcryptsetup "
				     "draws the LUKS2 header's salts at random");
	return TRUE;
}

/* each section of the template, in order */
static gboolean
tpl_parse_sections (AcTemplate *self, JsonObject *o, GError **error)
{
	JsonObject *sec = NULL;
	JsonNode *node;

	if (!ac_json_read_string (&tpl_scope, o, "", "name", FALSE, 4096, &self->name, error))
		return FALSE;
	node = json_object_get_member (o, "$schema");
	if (node != NULL
	    && (!JSON_NODE_HOLDS_VALUE (node)
	        || json_node_get_value_type (node) != G_TYPE_STRING)) {
		ac_json_fail (&tpl_scope, error, "$schema", "%s: expected a string",
		              ac_json_type_name (node));
		return FALSE;
	}
	node = json_object_get_member (o, "description");
	if (node != NULL && (!JSON_NODE_HOLDS_VALUE (node) ||
			     json_node_get_value_type (node) != G_TYPE_STRING)) {
		ac_json_fail (&tpl_scope, error, "description", "%s: expected a string", ac_json_type_name (node));
		return FALSE;
	}
	if (!ac_json_read_object (&tpl_scope, o, "", "source", TRUE, &sec, error) || !tpl_parse_source (self, sec, error))
		return FALSE;
	node = json_object_get_member (o, "provisioners");
	if (node != NULL) {
		JsonArray *a;
		if (!JSON_NODE_HOLDS_ARRAY (node)) {
			ac_json_fail (&tpl_scope, error, "provisioners", "%s: expected an array", ac_json_type_name (node));
			return FALSE;
		}
		a = json_node_get_array (node);
		if (json_array_get_length (a) > 256) {
			ac_json_fail (&tpl_scope, error, "provisioners", "%u entries: expected at most 256",
				  json_array_get_length (a));
			return FALSE;
		}
		for (guint i = 0; i < json_array_get_length (a); i++) {
			if (!tpl_parse_provisioner (self, json_array_get_element (a, i), i, error))
				return FALSE;
		}
	}
	if (!tpl_parse_provision_backend (self, o, error))
		return FALSE;
	if (!ac_json_read_object (&tpl_scope, o, "", "disk", TRUE, &sec, error) || !tpl_parse_disk (self, sec, error))
		return FALSE;
	if (!ac_json_read_object (&tpl_scope, o, "", "passphrase", FALSE, &sec, error))
		return FALSE;
	if (sec == NULL) {
		self->passphrase_source = AC_PASSPHRASE_GENERATE;
		self->passphrase_length = 32;
	} else if (!tpl_parse_passphrase (self, sec, error)) {
		return FALSE;
	}
	if (!ac_json_read_object (&tpl_scope, o, "", "output", TRUE, &sec, error) || !tpl_parse_output (self, sec, error))
		return FALSE;
	if (!ac_json_read_object (&tpl_scope, o, "", "reproducible", FALSE, &sec, error))
		return FALSE;
	if (sec != NULL) {
		if (!tpl_parse_reproducible (self, sec, error))
			return FALSE;
		if (self->iterations == 0) {
			ac_json_fail (&tpl_scope, error, "disk.luks.pbkdf_iterations",
				  "missing: reproducible builds need a fixed iteration count");
			return FALSE;
		}
		if (self->passphrase_source == AC_PASSPHRASE_GENERATE) {
			ac_json_fail (&tpl_scope, error, "passphrase",
				  "a generated passphrase cannot give reproducible bytes: use 'file', "
				  "'env' or 'from_caller'");
			return FALSE;
		}
	}
	node = json_object_get_member (o, "publish");
	if (node != NULL && !tpl_parse_publish (self, node, error))
		return FALSE;
	return tpl_check_layout (self, error);
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
	    || !ac_json_check_members (&tpl_scope, o, "", allowed, error))
		return NULL;
	merged = tpl_variables (self, o, vars, origins, error);
	if (merged == NULL || !tpl_substitute_all (self, root, merged, error) ||
	    !tpl_parse_sections (self, o, error))
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
	g_autoptr(GError) local = NULL;
	gsize len = 0;
	if (!g_file_get_contents (path, &data, &len, &local)) {
		g_set_error (error, AC_ERROR,
			     g_error_matches (local, G_FILE_ERROR, G_FILE_ERROR_NOENT) ? AC_ERROR_NOT_FOUND
										: AC_ERROR_IO,
			     "cannot read the template: %s", local->message);
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

/* ---- variable files (--var-file) ---- */

#define AC_VAR_FILE_MAX_SIZE (1024 * 1024)

/* one variable from @name line @line: a second setting of a name is an error naming both */
static gboolean
tpl_var_file_set (GHashTable *vars,
                  GHashTable *origins,
                  const gchar *name,
                  guint line,
                  const gchar *var,
                  const gchar *value,
                  GError **error)
{
	g_autofree gchar *origin = g_strdup_printf ("%s line %u", name, line);
	const gchar *first = g_hash_table_lookup (origins, var);
	if (!tpl_is_var_name (var)) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "%s: '%s': expected a variable name of letters, digits, '_' or '-', "
		             "starting with a letter or '_'",
		             origin, var);
		return FALSE;
	}
	if (first != NULL) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "%s: variable '%s' is set again (first by %s)", origin, var, first);
		return FALSE;
	}
	if (strlen (value) > 65536) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "%s: variable '%s': a value of %" G_GSIZE_FORMAT " bytes: expected at "
		             "most 65536",
		             origin, var, strlen (value));
		return FALSE;
	}
	g_hash_table_insert (origins, g_strdup (var), g_steal_pointer (&origin));
	g_hash_table_insert (vars, g_strdup (var), g_strdup (value));
	return TRUE;
}

/* NAME=VALUE lines; blank lines and lines starting with '#' are skipped; the value is taken as
 * it is (no quotes, no escapes, no spaces around '=') */
static gboolean
tpl_var_file_lines (const gchar *data,
                    gsize len,
                    const gchar *name,
                    GHashTable *vars,
                    GHashTable *origins,
                    GError **error)
{
	const gchar *p = data, *end = data + len;
	guint line = 0;
	while (p < end) {
		const gchar *nl = memchr (p, '\n', (gsize)(end - p));
		const gchar *stop = nl != NULL ? nl : end;
		g_autofree gchar *text = NULL;
		const gchar *eq, *first;
		gsize n = (gsize)(stop - p);
		line++;
		if (n > 0 && p[n - 1] == '\r')
			n--;
		text = g_strndup (p, n);
		p = nl != NULL ? nl + 1 : end;
		first = text;
		while (*first == ' ' || *first == '\t')
			first++;
		if (*first == '\0' || *first == '#')
			continue;
		eq = strchr (text, '=');
		if (eq == NULL || eq == text) {
			g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			             "%s line %u: expected NAME=VALUE (or a '#' comment)", name,
			             line);
			return FALSE;
		}
		{
			g_autofree gchar *var = g_strndup (text, (gsize)(eq - text));
			if (!tpl_var_file_set (vars, origins, name, line, var, eq + 1, error))
				return FALSE;
		}
	}
	return TRUE;
}

typedef struct {
	GHashTable *lines; /* "OBJECT-POINTER NAME" → line */
	gchar *duplicate;  /* the first duplicate member: its name */
	guint duplicate_line;
	guint first_line;
} VarFileJson;

static void
tpl_var_file_member (JsonParser *parser, JsonObject *object, const gchar *member, gpointer data)
{
	VarFileJson *st = data;
	g_autofree gchar *key = g_strdup_printf ("%p %s", (void *)object, member);
	guint line = (guint)json_parser_get_current_line (parser);
	gpointer seen = g_hash_table_lookup (st->lines, key);
	if (seen != NULL && st->duplicate == NULL) {
		st->duplicate = g_strdup (member);
		st->duplicate_line = line;
		st->first_line = GPOINTER_TO_UINT (seen);
	}
	if (seen == NULL)
		g_hash_table_insert (st->lines, g_steal_pointer (&key), GUINT_TO_POINTER (line));
}

/* a JSON object of strings; json-glib keeps the last of duplicate members: the signal each
 * member emits finds them */
static gboolean
tpl_var_file_json (const gchar *data,
                   gsize len,
                   const gchar *name,
                   GHashTable *vars,
                   GHashTable *origins,
                   GError **error)
{
	g_autoptr (JsonParser) parser = json_parser_new ();
	g_autoptr (GError) local = NULL;
	g_autoptr (GList) members = NULL;
	VarFileJson st
	    = { g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL), NULL, 0, 0 };
	JsonObject *o;
	gboolean ok = FALSE;

	g_signal_connect (parser, "object-member", G_CALLBACK (tpl_var_file_member), &st);
	if (!json_parser_load_from_data (parser, data, (gssize)len, &local)) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT, "%s: not valid JSON: %s",
		             name, local->message);
		goto out;
	}
	if (st.duplicate != NULL) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "%s line %u: member '%s' is set again (first on line %u)", name,
		             st.duplicate_line, st.duplicate, st.first_line);
		goto out;
	}
	if (json_parser_get_root (parser) == NULL
	    || !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser))) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "%s: expected a JSON object of variable names and string values",
		             name);
		goto out;
	}
	o = json_node_get_object (json_parser_get_root (parser));
	members = json_object_get_members (o);
	for (GList *l = members; l != NULL; l = l->next) {
		JsonNode *v = json_object_get_member (o, l->data);
		g_autofree gchar *key
		    = g_strdup_printf ("%p %s", (void *)o, (const gchar *)l->data);
		guint line = GPOINTER_TO_UINT (g_hash_table_lookup (st.lines, key));
		if (!JSON_NODE_HOLDS_VALUE (v) || json_node_get_value_type (v) != G_TYPE_STRING) {
			g_set_error (
			    error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			    "%s line %u: variable '%s': %s: expected a string (variables are "
			    "strings: write \"4\", not 4)",
			    name, line, (const gchar *)l->data, ac_json_type_name (v));
			goto out;
		}
		if (!tpl_var_file_set (vars, origins, name, line, l->data, json_node_get_string (v),
		                       error))
			goto out;
	}
	ok = TRUE;
out:
	g_hash_table_unref (st.lines);
	g_free (st.duplicate);
	return ok;
}

/**
 * ac_template_parse_var_file:
 * @name: the file's name, for the errors
 * @vars: where the variables go (name → value)
 * @origins: name → "FILE line N", for later errors; a name already there (another file) is an
 *   error
 *
 * A --var-file: a JSON object of strings, or NAME=VALUE lines. Strict: a line that is neither,
 * a name set twice, a value that is not a string are errors naming the file and the line.
 */
gboolean
ac_template_parse_var_file (const gchar *data,
                            gsize len,
                            const gchar *name,
                            GHashTable *vars,
                            GHashTable *origins,
                            GError **error)
{
	gsize i = 0;
	if (len > AC_VAR_FILE_MAX_SIZE) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "%s: %" G_GSIZE_FORMAT " bytes: expected at most %u", name, len,
		             AC_VAR_FILE_MAX_SIZE);
		return FALSE;
	}
	if (memchr (data, '\0', len) != NULL || !g_utf8_validate (data, (gssize)len, NULL)) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT, "%s: not UTF-8 text", name);
		return FALSE;
	}
	while (i < len && g_ascii_isspace (data[i]))
		i++;
	if (i < len && data[i] == '{')
		return tpl_var_file_json (data, len, name, vars, origins, error);
	return tpl_var_file_lines (data, len, name, vars, origins, error);
}

gboolean
ac_template_read_var_file (const gchar *path, GHashTable *vars, GHashTable *origins, GError **error)
{
	g_autofree gchar *data = NULL;
	g_autoptr (GError) local = NULL;
	gsize len = 0;
	if (!g_file_get_contents (path, &data, &len, &local)) {
		g_set_error (error, AC_ERROR,
		             g_error_matches (local, G_FILE_ERROR, G_FILE_ERROR_NOENT)
		                 ? AC_ERROR_NOT_FOUND
		                 : AC_ERROR_IO,
		             "--var-file: %s", local->message);
		return FALSE;
	}
	return ac_template_parse_var_file (data, len, path, vars, origins, error);
}
