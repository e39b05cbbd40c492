/*
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The sections of a template (source, provisioners, provision_backend, disk, passphrase,
 * output, reproducible, publish), each member checked for its type and range, and the checks
 * across sections (what a layout or a publication needs), after the variables are substituted.
 */

#include "config.h"

#include <string.h>

#include "ac-builder-template-private.h"
#include "ac-error.h"
#include "ac-json.h"
#include "ac-size.h"

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
			return ac_json_fail (&ac_template_scope, error, field, "missing: a size such as \"4GiB\" is required");
		return TRUE;
	}
	if (JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) == G_TYPE_INT64) {
		gint64 i = json_node_get_int (n);
		if (i < 0)
			return ac_json_fail (&ac_template_scope, error, field, "%" G_GINT64_FORMAT ": expected a positive size", i);
		v = (guint64)i;
	} else if (JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) == G_TYPE_STRING) {
		g_autoptr(GError) local = NULL;
		if (!ac_size_parse (json_node_get_string (n), AC_SIZE_DEFAULT, &v, &local))
			return ac_json_fail (&ac_template_scope, error, field, "%s", local->message);
	} else {
		return ac_json_fail (&ac_template_scope, error, field, "%s: expected a size such as \"4GiB\" or a number of bytes",
				 ac_json_type_name (n));
	}
	if (v < min || v > max)
		return ac_json_fail (&ac_template_scope, error, field, "%" G_GUINT64_FORMAT " bytes: expected %" G_GUINT64_FORMAT
				 " to %" G_GUINT64_FORMAT, v, min, max);
	if (v % align != 0)
		return ac_json_fail (&ac_template_scope, error, field, "%" G_GUINT64_FORMAT " bytes: expected a multiple of %"
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


static gboolean
tpl_parse_source (AcTemplate *self, JsonObject *o, GError **error)
{
	const gchar *path = "source";
	g_autofree gchar *type = NULL;
	AcTemplateSource *s = &self->source;

	if (!ac_json_read_string (&ac_template_scope, o, path, "type", TRUE, 4096, &type, error))
		return FALSE;
	if (g_strcmp0 (type, "directory") == 0 || g_strcmp0 (type, "tarball") == 0) {
		const gchar *allowed[] = { "type", "path", NULL };
		g_autofree gchar *p = NULL;
		s->type = type[0] == 'd' ? AC_SOURCE_DIRECTORY : AC_SOURCE_TARBALL;
		if (!ac_json_check_members (&ac_template_scope, o, path, allowed, error) ||
		    !ac_json_read_string (&ac_template_scope, o, path, "path", TRUE, 4096, &p, error))
			return FALSE;
		s->path = tpl_resolve (self->base_dir, p);
	} else if (g_strcmp0 (type, "image") == 0) {
		const gchar *allowed[] = { "type", "path", "format", "partition", NULL };
		g_autofree gchar *p = NULL;
		s->type = AC_SOURCE_IMAGE;
		if (!ac_json_check_members (&ac_template_scope, o, path, allowed, error) ||
		    !ac_json_read_string (&ac_template_scope, o, path, "path", TRUE, 4096, &p, error) ||
		    !ac_json_read_string (&ac_template_scope, o, path, "format", FALSE, 4096, &s->format, error) ||
		    !ac_json_read_string (&ac_template_scope, o, path, "partition", FALSE, 4096, &s->partition, error))
			return FALSE;
		s->path = tpl_resolve (self->base_dir, p);
		if (s->format == NULL)
			s->format = g_strdup ("auto");
		if (g_strcmp0 (s->format, "auto") != 0 && g_strcmp0 (s->format, "raw") != 0 &&
		    g_strcmp0 (s->format, "qcow2") != 0)
			return ac_json_fail (&ac_template_scope, error, "source.format", "'%s': expected raw, qcow2 or auto",
					 s->format);
		if (s->partition == NULL)
			s->partition = g_strdup ("auto");
		if (g_strcmp0 (s->partition, "auto") != 0) {
			guint64 n = 0;
			if (!g_ascii_string_to_unsigned (s->partition, 10, 1, 128, &n, NULL))
				return ac_json_fail (&ac_template_scope, error, "source.partition",
						 "'%s': expected \"auto\" or a partition number 1 to 128",
						 s->partition);
		}
	} else if (g_strcmp0 (type, "libvirt-domain") == 0) {
		const gchar *allowed[] = { "type", "domain", "disk", NULL };
		s->type = AC_SOURCE_LIBVIRT_DOMAIN;
		if (!ac_json_check_members (&ac_template_scope, o, path, allowed, error) ||
		    !ac_json_read_string (&ac_template_scope, o, path, "domain", TRUE, 4096, &s->domain, error) ||
		    !ac_json_read_string (&ac_template_scope, o, path, "disk", FALSE, 4096, &s->disk, error))
			return FALSE;
	} else if (g_strcmp0 (type, "debootstrap") == 0) {
		const gchar *allowed[] = { "type",    "distribution", "suite",      "mirror",
					   "variant", "include",      "components", NULL };
		s->type = AC_SOURCE_DEBOOTSTRAP;
		if (!ac_json_check_members (&ac_template_scope, o, path, allowed, error) ||
		    !ac_json_read_string (&ac_template_scope, o, path, "distribution", FALSE, 4096, &s->distribution, error) ||
		    !ac_json_read_string (&ac_template_scope, o, path, "suite", TRUE, 4096, &s->suite, error) ||
		    !ac_json_read_string (&ac_template_scope, o, path, "mirror", FALSE, 4096, &s->mirror, error) ||
		    !ac_json_read_string (&ac_template_scope, o, path, "variant", FALSE, 4096, &s->variant, error) ||
		    !ac_json_read_strv (&ac_template_scope, o, path, "include", 512, &s->include, error) ||
		    !ac_json_read_string (&ac_template_scope, o, path, "components", FALSE, 4096, &s->components, error))
			return FALSE;
		if (s->distribution == NULL)
			s->distribution = g_strdup ("debian");
		if (g_strcmp0 (s->distribution, "debian") != 0 &&
		    g_strcmp0 (s->distribution, "ubuntu") != 0)
			return ac_json_fail (&ac_template_scope, error, "source.distribution", "'%s': expected debian or ubuntu",
					 s->distribution);
		for (const gchar *c = s->suite; *c != '\0'; c++) {
			if (!g_ascii_isalnum (*c) && *c != '-')
				return ac_json_fail (&ac_template_scope, error, "source.suite",
						 "'%s': expected a suite name (letters, digits, '-')",
						 s->suite);
		}
		if (s->mirror == NULL)
			s->mirror = g_strdup (s->distribution[0] == 'd' ? "http://deb.debian.org/debian"
									: "http://archive.ubuntu.com/ubuntu");
		if (!g_str_has_prefix (s->mirror, "http://") &&
		    !g_str_has_prefix (s->mirror, "https://") && !g_str_has_prefix (s->mirror, "file:///"))
			return ac_json_fail (&ac_template_scope, error, "source.mirror",
					 "'%s': expected an http://, https:// or file:/// URL", s->mirror);
		if (s->variant != NULL && g_strcmp0 (s->variant, "minbase") != 0 &&
		    g_strcmp0 (s->variant, "buildd") != 0)
			return ac_json_fail (&ac_template_scope, error, "source.variant", "'%s': expected minbase or buildd",
					 s->variant);
		for (guint i = 0; s->include != NULL && s->include[i] != NULL; i++) {
			const gchar *pkg = s->include[i];
			gboolean ok = g_ascii_isalnum (pkg[0]);
			for (const gchar *c = pkg; ok && *c != '\0'; c++)
				ok = g_ascii_isalnum (*c) || strchr ("+-.", *c) != NULL;
			if (!ok) {
				g_autofree gchar *f = g_strdup_printf ("source.include[%u]", i);
				return ac_json_fail (&ac_template_scope, error, f, "'%s': expected a Debian package name", pkg);
			}
		}
		if (s->components != NULL) {
			for (const gchar *c = s->components; *c != '\0'; c++) {
				if (!g_ascii_isalnum (*c) && *c != ',' && *c != '-')
					return ac_json_fail (&ac_template_scope, error, "source.components",
							 "'%s': expected comma-separated component names",
							 s->components);
			}
		}
	} else {
		return ac_json_fail (&ac_template_scope, error, "source.type",
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
		return ac_json_fail (&ac_template_scope, error, path, "%s: expected an object", ac_json_type_name (node));
	o = json_node_get_object (node);
	if (!ac_json_read_string (&ac_template_scope, o, path, "type", TRUE, 4096, &type, error))
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
		if (!ac_json_check_members (&ac_template_scope, o, path, allowed, error) ||
		    !ac_json_read_string (&ac_template_scope, o, path, "source", TRUE, 4096, &src, error) ||
		    !ac_json_read_string (&ac_template_scope, o, path, "destination", TRUE, 4096, &p->destination, error) ||
		    !ac_json_read_string (&ac_template_scope, o, path, "mode", FALSE, 4096, &mode, error))
			return FALSE;
		p->source = tpl_resolve (self->base_dir, src);
		if (!tpl_guest_path_ok (p->destination))
			return ac_json_fail (&ac_template_scope, error, f, "'%s': expected an absolute path without '.' or '..'",
					 p->destination);
		if (mode != NULL) {
			guint64 m = 0;
			g_autofree gchar *mf = ac_json_field_path (path, "mode");
			if (strlen (mode) > 4 ||
			    !g_ascii_string_to_unsigned (mode, 8, 0, 07777, &m, NULL))
				return ac_json_fail (&ac_template_scope, error, mf, "'%s': expected an octal mode such as \"0644\"",
						 mode);
			p->mode = (guint)m | 0x80000000u; /* high bit: set */
		}
	} else if (g_strcmp0 (type, "shell") == 0) {
		const gchar *allowed[] = { "type", "inline", "script", "environment", NULL };
		g_autofree gchar *script = NULL;
		JsonObject *env = NULL;
		p->type = AC_PROVISIONER_SHELL;
		if (!ac_json_check_members (&ac_template_scope, o, path, allowed, error) ||
		    !ac_json_read_strv (&ac_template_scope, o, path, "inline", 4096, &p->inline_cmds, error) ||
		    !ac_json_read_string (&ac_template_scope, o, path, "script", FALSE, 4096, &script, error) ||
		    !ac_json_read_object (&ac_template_scope, o, path, "environment", FALSE, &env, error))
			return FALSE;
		if ((p->inline_cmds == NULL) == (script == NULL))
			return ac_json_fail (&ac_template_scope, error, path, "expected exactly one of 'inline' and 'script'");
		if (script != NULL)
			p->script = tpl_resolve (self->base_dir, script);
		if (env != NULL) {
			g_autoptr(GStrvBuilder) b = g_strv_builder_new ();
			g_autoptr(GList) members = json_object_get_members (env);
			g_autofree gchar *epath = ac_json_field_path (path, "environment");
			for (GList *l = members; l != NULL; l = l->next) {
				g_autofree gchar *value = NULL;
				g_autofree gchar *ef = ac_json_field_path (epath, l->data);
				if (!ac_template_vars_name_ok (l->data) || strchr (l->data, '-') != NULL)
					return ac_json_fail (&ac_template_scope, error, ef, "expected a variable name: letters, "
								    "digits and '_'");
				if (!ac_json_read_string (&ac_template_scope, env, epath, l->data, TRUE, 4096, &value, error))
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
		if (!ac_json_check_members (&ac_template_scope, o, path, allowed, error) ||
		    !ac_json_read_string (&ac_template_scope, o, path, "mapper_name", FALSE, 4096, &p->mapper_name, error) ||
		    !ac_json_read_bool (&ac_template_scope, o, path, "install_packages", FALSE, &p->install_packages, error) ||
		    !ac_json_read_bool (&ac_template_scope, o, path, "update_initramfs", FALSE, &p->update_initramfs, error) ||
		    !ac_json_read_bool (&ac_template_scope, o, path, "install_grub", FALSE, &p->install_grub, error) ||
		    !ac_json_read_string (&ac_template_scope, o, path, "kernel_cmdline", FALSE, 4096, &p->kernel_cmdline, error))
			return FALSE;
		if (p->mapper_name == NULL)
			p->mapper_name = g_strdup ("cr_root");
		for (const gchar *c = p->mapper_name; *c != '\0'; c++) {
			if (!g_ascii_isalnum (*c) && *c != '_' && *c != '-') {
				g_autofree gchar *f = ac_json_field_path (path, "mapper_name");
				return ac_json_fail (&ac_template_scope, error, f, "'%s': expected letters, digits, '_' or '-'",
						 p->mapper_name);
			}
		}
		if (p->kernel_cmdline != NULL && strpbrk (p->kernel_cmdline, "\n\"'\\$`;") != NULL) {
			g_autofree gchar *f = ac_json_field_path (path, "kernel_cmdline");
			return ac_json_fail (&ac_template_scope, error, f, "expected kernel arguments without quotes, '$', '`', "
						   "';', '\\' or newlines");
		}
	} else {
		g_autofree gchar *f = ac_json_field_path (path, "type");
		return ac_json_fail (&ac_template_scope, error, f, "'%s': expected file, shell or aleph", type);
	}
	return TRUE;
}

/* "provision_backend": "chroot" (default) or "libguestfs" (file and shell provisioners only; the
 * aleph provisioner always runs in the chroot) */
static gboolean
tpl_parse_provision_backend (AcTemplate *self, JsonObject *o, GError **error)
{
	g_autofree gchar *backend = NULL;
	if (!ac_json_read_string (&ac_template_scope, o, "", "provision_backend", FALSE, 4096, &backend, error))
		return FALSE;
	if (backend == NULL || g_strcmp0 (backend, "chroot") == 0) {
		self->provision_backend = AC_PROVISION_BACKEND_CHROOT;
		return TRUE;
	}
	if (g_strcmp0 (backend, "libguestfs") != 0)
		return ac_json_fail (&ac_template_scope, error, "provision_backend", "'%s': expected chroot or libguestfs",
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
	if (!ac_json_check_members (&ac_template_scope, o, "disk", allowed, error) ||
	    !ac_json_read_string (&ac_template_scope, o, "disk", "layout", FALSE, 4096, &layout, error))
		return FALSE;
	if (layout == NULL || g_strcmp0 (layout, "grub-luks1") == 0) {
		self->layout = AC_IMAGE_LAYOUT_GRUB_LUKS1;
	} else if (g_strcmp0 (layout, "luks2-root") == 0) {
		self->layout = AC_IMAGE_LAYOUT_LUKS2_ROOT;
		if (json_object_has_member (o, "esp_size"))
			return ac_json_fail (&ac_template_scope, error, "disk.esp_size",
					     "the luks2-root layout has no ESP: remove it");
		self->esp_size = 0;
	} else {
		return ac_json_fail (&ac_template_scope, error, "disk.layout",
				     "'%s': expected grub-luks1 (GPT, ESP, LUKS1 for GRUB) or "
				     "luks2-root (a LUKS2 root for an SEV-SNP runtime)",
				     layout);
	}
	if (!tpl_size (o, "disk", "size", TRUE, 64 * 1024 * 1024,
		       G_GUINT64_CONSTANT (1953125) * 1024 * 1024, 512, &self->disk_size, error) ||
	    !tpl_size (o, "disk", "esp_size", FALSE, 1024 * 1024, 4096ULL * 1024 * 1024,
		       1024 * 1024, &self->esp_size, error) ||
	    !ac_json_read_string (&ac_template_scope, o, "disk", "filesystem", FALSE, 4096, &self->filesystem, error) ||
	    !ac_json_read_string (&ac_template_scope, o, "disk", "label", FALSE, 4096, &self->fs_label, error) ||
	    !ac_json_read_object (&ac_template_scope, o, "disk", "luks", FALSE, &luks, error))
		return FALSE;
	if (self->filesystem == NULL)
		self->filesystem = g_strdup ("ext4");
	if (g_strcmp0 (self->filesystem, "ext4") != 0)
		return ac_json_fail (&ac_template_scope, error, "disk.filesystem",
				 "'%s': expected ext4 (the filesystem Aleph's GRUB reads)",
				 self->filesystem);
	if (self->fs_label != NULL && strlen (self->fs_label) > 16)
		return ac_json_fail (&ac_template_scope, error, "disk.label", "'%s': expected at most 16 characters",
				 self->fs_label);
	if (self->layout == AC_IMAGE_LAYOUT_GRUB_LUKS1 &&
	    self->esp_size + 64 * 1024 * 1024 > self->disk_size)
		return ac_json_fail (&ac_template_scope, error, "disk.esp_size",
				 "%" G_GUINT64_FORMAT " bytes leaves no room for the root partition in "
				 "a disk of %" G_GUINT64_FORMAT " bytes",
				 self->esp_size, self->disk_size);
	self->cipher = g_strdup ("aes");
	self->cipher_mode = g_strdup ("xts-plain64");
	self->key_bits = 512;
	self->hash = g_strdup ("sha256");
	if (luks == NULL)
		return TRUE;
	if (!ac_json_check_members (&ac_template_scope, luks, "disk.luks", luks_allowed, error) ||
	    !ac_json_read_string (&ac_template_scope, luks, "disk.luks", "cipher", FALSE, 4096, &cipher, error) ||
	    !ac_json_read_int (&ac_template_scope, luks, "disk.luks", "key_size", FALSE, 0, G_MAXINT32, &v, &present, error))
		return FALSE;
	if (cipher != NULL && g_strcmp0 (cipher, "aes-xts-plain64") != 0)
		return ac_json_fail (&ac_template_scope, error, "disk.luks.cipher",
				 "'%s': expected aes-xts-plain64 (LUKS1 as GRUB's luks module reads it)",
				 cipher);
	if (present) {
		if (v != 256 && v != 512)
			return ac_json_fail (&ac_template_scope, error, "disk.luks.key_size",
					 "%" G_GINT64_FORMAT ": expected 256 or 512 (bits of the XTS key)", v);
		self->key_bits = (guint)v;
	}
	if (!ac_json_read_string (&ac_template_scope, luks, "disk.luks", "hash", FALSE, 4096, &self->hash, error))
		return FALSE;
	if (g_strcmp0 (self->hash, "sha256") != 0 && g_strcmp0 (self->hash, "sha512") != 0 &&
	    g_strcmp0 (self->hash, "sha1") != 0)
		return ac_json_fail (&ac_template_scope, error, "disk.luks.hash",
				 "'%s': expected sha256, sha512 or sha1 (GRUB's gcry modules)",
				 self->hash);
	if (!ac_json_read_int (&ac_template_scope, luks, "disk.luks", "pbkdf_iterations", FALSE, 1000, 100000000, &v, &present, error))
		return FALSE;
	if (present)
		self->iterations = (guint32)v;
	if (!ac_json_read_string (&ac_template_scope, luks, "disk.luks", "uuid", FALSE, 4096, &self->luks_uuid, error))
		return FALSE;
	if (self->luks_uuid != NULL && !tpl_is_uuid (self->luks_uuid))
		return ac_json_fail (&ac_template_scope, error, "disk.luks.uuid",
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
	if (!ac_json_check_members (&ac_template_scope, o, "passphrase", allowed, error) ||
	    !ac_json_read_int (&ac_template_scope, o, "passphrase", "generate", FALSE, 16, 512, &v, &present, error) ||
	    !ac_json_read_string (&ac_template_scope, o, "passphrase", "file", FALSE, 4096, &self->passphrase_file, error) ||
	    !ac_json_read_string (&ac_template_scope, o, "passphrase", "env", FALSE, 4096, &self->passphrase_env, error) ||
	    !ac_json_read_bool (&ac_template_scope, o, "passphrase", "from_caller", FALSE, &caller, error))
		return FALSE;
	n = (present ? 1 : 0) + (self->passphrase_file != NULL ? 1 : 0) +
	    (self->passphrase_env != NULL ? 1 : 0) + (caller ? 1 : 0);
	if (n != 1)
		return ac_json_fail (&ac_template_scope, error, "passphrase",
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
	if (!ac_json_check_members (&ac_template_scope, o, "output", allowed, error) ||
	    !ac_json_read_string (&ac_template_scope, o, "output", "path", TRUE, 4096, &p, error) ||
	    !ac_json_read_string (&ac_template_scope, o, "output", "manifest", FALSE, 4096, &m, error))
		return FALSE;
	self->output_path = tpl_resolve (self->base_dir, p);
	self->manifest_path = m != NULL ? tpl_resolve (self->base_dir, m)
					: g_strconcat (self->output_path, ".manifest.json", NULL);
	if (g_strcmp0 (self->output_path, self->manifest_path) == 0)
		return ac_json_fail (&ac_template_scope, error, "output.manifest", "'%s': the same file as output.path", m);
	return TRUE;
}

static gboolean
tpl_parse_reproducible (AcTemplate *self, JsonObject *o, GError **error)
{
	const gchar *allowed[] = { "source_date_epoch", "seed", "disk_guid", "filesystem_uuid",
				   NULL };
	gint64 v = 0;
	gboolean present = FALSE;
	if (!ac_json_check_members (&ac_template_scope, o, "reproducible", allowed, error) ||
	    !ac_json_read_int (&ac_template_scope, o, "reproducible", "source_date_epoch", FALSE, 0, G_GINT64_CONSTANT (253402300799),
		      &v, &present, error) ||
	    !ac_json_read_string (&ac_template_scope, o, "reproducible", "seed", TRUE, 4096, &self->seed, error) ||
	    !ac_json_read_string (&ac_template_scope, o, "reproducible", "disk_guid", FALSE, 4096, &self->disk_guid, error) ||
	    !ac_json_read_string (&ac_template_scope, o, "reproducible", "filesystem_uuid", FALSE, 4096, &self->fs_uuid, error))
		return FALSE;
	if (!present) {
		/* the environment's SOURCE_DATE_EPOCH, as reproducible-builds.org defines it */
		const gchar *env = g_getenv ("SOURCE_DATE_EPOCH");
		guint64 e = 0;
		if (env == NULL || !g_ascii_string_to_unsigned (env, 10, 0, G_GINT64_CONSTANT (253402300799),
								&e, NULL))
			return ac_json_fail (&ac_template_scope, error, "reproducible.source_date_epoch",
					 "missing, and SOURCE_DATE_EPOCH is not set to a number of "
					 "seconds: one of them is required");
		v = (gint64)e;
	}
	if (self->disk_guid != NULL && !tpl_is_uuid (self->disk_guid))
		return ac_json_fail (&ac_template_scope, error, "reproducible.disk_guid", "'%s': expected a UUID",
				 self->disk_guid);
	if (self->fs_uuid != NULL && !tpl_is_uuid (self->fs_uuid))
		return ac_json_fail (&ac_template_scope, error, "reproducible.filesystem_uuid", "'%s': expected a UUID",
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
		return ac_json_fail (&ac_template_scope, error, "publish", "%s: expected an object", ac_json_type_name (node));
	o = json_node_get_object (node);
	if (!ac_json_check_members (&ac_template_scope, o, "publish", allowed, error)
	    || !ac_json_read_string (&ac_template_scope, o, "publish", "api", FALSE, 4096, &api, error)
	    || !ac_json_read_string (&ac_template_scope, o, "publish", "storage", FALSE, 4096, &storage,
	                             error)
	    || !ac_json_read_string (&ac_template_scope, o, "publish", "payment", FALSE, 4096, &payment,
	                             error)
	    || !ac_json_read_string (&ac_template_scope, o, "publish", "channel", FALSE, 4096, &channel,
	                             error)
	    || !ac_json_read_string (&ac_template_scope, o, "publish", "account", FALSE, 4096, &account,
	                             error))
		return FALSE;
	if (payment != NULL && g_strcmp0 (payment, "credit") != 0 && g_strcmp0 (payment, "hold") != 0)
		return ac_json_fail (&ac_template_scope, error, "publish.payment", "'%s': expected credit (the default) or hold",
				 payment);
	if (api != NULL && !g_str_has_prefix (api, "https://") && !g_str_has_prefix (api, "http://"))
		return ac_json_fail (&ac_template_scope, error, "publish.api", "'%s': expected an http(s) URL", api);
	if (storage != NULL && g_strcmp0 (storage, "ipfs") != 0 && g_strcmp0 (storage, "storage") != 0)
		return ac_json_fail (&ac_template_scope, error, "publish.storage", "'%s': expected ipfs or storage", storage);
	self->publish = json_node_copy (node);
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
		    &ac_template_scope, error, "provisioners",
		    "the image is published to Aleph for its SEV firmware "
		    "(disk.layout grub-luks1), which needs the guest set up for "
		    "GRUB's cryptodisk boot and the initramfs keyfile: add the aleph "
		    "provisioner, { \"type\": \"aleph\" }, after the other "
		    "provisioners (docs/builder.md#publishing-to-aleph), or build for "
		    "SEV-SNP with \"disk\": { \"layout\": \"luks2-root\" }");
	if (!aleph->update_initramfs) {
		g_autofree gchar *f = ac_json_field_path (aleph->field, "update_initramfs");
		return ac_json_fail (
		    &ac_template_scope, error, f,
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
			return ac_json_fail (&ac_template_scope, error, p->field,
					     "the aleph provisioner sets the guest up for GRUB's "
					     "cryptodisk boot: not for disk.layout luks2-root, whose "
					     "root the SEV-SNP runtime's initrd opens");
	}
	if (self->reproducible)
		return ac_json_fail (&ac_template_scope, error, "reproducible",
				     "not available with disk.layout luks2-root: libcryptsetup "
				     "draws the LUKS2 header's salts at random");
	return TRUE;
}

/* each section of the template, in order */
gboolean
ac_template_sections_parse (AcTemplate *self, JsonObject *o, GError **error)
{
	JsonObject *sec = NULL;
	JsonNode *node;

	if (!ac_json_read_string (&ac_template_scope, o, "", "name", FALSE, 4096, &self->name, error))
		return FALSE;
	node = json_object_get_member (o, "$schema");
	if (node != NULL
	    && (!JSON_NODE_HOLDS_VALUE (node)
	        || json_node_get_value_type (node) != G_TYPE_STRING)) {
		ac_json_fail (&ac_template_scope, error, "$schema", "%s: expected a string",
		              ac_json_type_name (node));
		return FALSE;
	}
	node = json_object_get_member (o, "description");
	if (node != NULL && (!JSON_NODE_HOLDS_VALUE (node) ||
			     json_node_get_value_type (node) != G_TYPE_STRING)) {
		ac_json_fail (&ac_template_scope, error, "description", "%s: expected a string", ac_json_type_name (node));
		return FALSE;
	}
	if (!ac_json_read_object (&ac_template_scope, o, "", "source", TRUE, &sec, error) || !tpl_parse_source (self, sec, error))
		return FALSE;
	node = json_object_get_member (o, "provisioners");
	if (node != NULL) {
		JsonArray *a;
		if (!JSON_NODE_HOLDS_ARRAY (node)) {
			ac_json_fail (&ac_template_scope, error, "provisioners", "%s: expected an array", ac_json_type_name (node));
			return FALSE;
		}
		a = json_node_get_array (node);
		if (json_array_get_length (a) > 256) {
			ac_json_fail (&ac_template_scope, error, "provisioners", "%u entries: expected at most 256",
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
	if (!ac_json_read_object (&ac_template_scope, o, "", "disk", TRUE, &sec, error) || !tpl_parse_disk (self, sec, error))
		return FALSE;
	if (!ac_json_read_object (&ac_template_scope, o, "", "passphrase", FALSE, &sec, error))
		return FALSE;
	if (sec == NULL) {
		self->passphrase_source = AC_PASSPHRASE_GENERATE;
		self->passphrase_length = 32;
	} else if (!tpl_parse_passphrase (self, sec, error)) {
		return FALSE;
	}
	if (!ac_json_read_object (&ac_template_scope, o, "", "output", TRUE, &sec, error) || !tpl_parse_output (self, sec, error))
		return FALSE;
	if (!ac_json_read_object (&ac_template_scope, o, "", "reproducible", FALSE, &sec, error))
		return FALSE;
	if (sec != NULL) {
		if (!tpl_parse_reproducible (self, sec, error))
			return FALSE;
		if (self->iterations == 0) {
			ac_json_fail (&ac_template_scope, error, "disk.luks.pbkdf_iterations",
				  "missing: reproducible builds need a fixed iteration count");
			return FALSE;
		}
		if (self->passphrase_source == AC_PASSPHRASE_GENERATE) {
			ac_json_fail (&ac_template_scope, error, "passphrase",
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
