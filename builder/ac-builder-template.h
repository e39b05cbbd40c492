/*
 * aleph-confidential: builder templates (JSON; schemas/builder-template.schema.json).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

typedef enum {
	AC_SOURCE_DIRECTORY,
	AC_SOURCE_TARBALL,
	AC_SOURCE_IMAGE,
	AC_SOURCE_LIBVIRT_DOMAIN,
	AC_SOURCE_DEBOOTSTRAP,
} AcSourceType;

typedef struct {
	AcSourceType type;
	gchar *path;         /* directory, tarball, image: resolved against the template's folder */
	gchar *format;       /* image: "raw", "qcow2" or "auto" */
	gchar *partition;    /* image: "auto" or a partition number */
	gchar *domain;       /* libvirt-domain: name or UUID */
	gchar *disk;         /* libvirt-domain: target dev ("vda"); NULL = first disk */
	gchar *distribution; /* debootstrap: "debian" or "ubuntu" */
	gchar *suite;        /* debootstrap: "bookworm" */
	gchar *mirror;       /* debootstrap */
	gchar *variant;      /* debootstrap: "minbase", "buildd", "fakechroot" or NULL */
	gchar **include;     /* debootstrap: extra packages */
	gchar *components;   /* debootstrap: "main,contrib" */
} AcTemplateSource;

typedef enum {
	AC_PROVISIONER_FILE,
	AC_PROVISIONER_SHELL,
	AC_PROVISIONER_ALEPH,
} AcProvisionerType;

typedef struct {
	AcProvisionerType type;
	gchar *field;        /* "provisioners[2]": where errors point */
	/* file */
	gchar *source;       /* resolved against the template's folder */
	gchar *destination;  /* absolute path inside the guest */
	guint mode;          /* 0 = keep the source's mode */
	/* shell */
	gchar **inline_cmds;
	gchar *script;       /* resolved against the template's folder */
	gchar **environment; /* "NAME=value" */
	/* aleph */
	gchar *mapper_name;  /* "cr_root" */
	gboolean install_packages;
	gboolean update_initramfs;
	gboolean install_grub;
	gchar *kernel_cmdline; /* extra kernel arguments */
} AcTemplateProvisioner;

typedef enum {
	AC_PROVISION_BACKEND_CHROOT,     /* chroot(8) on the host (the default) */
	AC_PROVISION_BACKEND_LIBGUESTFS, /* file and shell provisioners in a libguestfs appliance */
} AcProvisionBackend;

/* what the image is (docs/builder.md#layouts) */
typedef enum {
	AC_IMAGE_LAYOUT_GRUB_LUKS1, /* "grub-luks1" (default): GPT, ESP, LUKS1 root partition that
	                             * GRUB's cryptodisk opens (Aleph's SEV firmware) */
	AC_IMAGE_LAYOUT_LUKS2_ROOT, /* "luks2-root": one LUKS2 container over the whole file holding
	                             * the ext4 root; an SEV-SNP runtime's initrd opens it */
} AcImageLayout;

typedef enum {
	AC_PASSPHRASE_GENERATE,
	AC_PASSPHRASE_FILE,
	AC_PASSPHRASE_ENV,
	AC_PASSPHRASE_CALLER, /* given by the caller (CLI stdin, the service) */
} AcPassphraseSource;

typedef struct {
	gchar *name;
	gchar *base_dir;
	gchar *sha256; /* digest of the template after variable substitution */
	AcTemplateSource source;
	GPtrArray *provisioners; /* of AcTemplateProvisioner */
	AcProvisionBackend provision_backend;
	AcImageLayout layout;
	guint64 disk_size;
	guint64 esp_size; /* 0 with AC_IMAGE_LAYOUT_LUKS2_ROOT */
	gchar *filesystem; /* "ext4" */
	gchar *fs_label;
	gchar *cipher;      /* "aes" */
	gchar *cipher_mode; /* "xts-plain64" */
	guint key_bits;
	gchar *hash;
	guint32 iterations; /* 0 = benchmark */
	AcPassphraseSource passphrase_source;
	guint passphrase_length;
	gchar *passphrase_file;
	gchar *passphrase_env;
	gchar *output_path;
	gchar *manifest_path;
	gboolean reproducible;
	gint64 source_date_epoch; /* -1 unless reproducible */
	gchar *seed;
	gchar *luks_uuid;
	gchar *disk_guid;
	gchar *fs_uuid;
	JsonNode *publish; /* (nullable) object, passed on untouched to the publisher */
	/* variables: declared names in order, their defaults, the values used, and the names a
	 * string references (inspect, validate) */
	gchar **var_names;
	GHashTable *var_defaults;
	GHashTable *var_values;
	GHashTable *var_used;
} AcTemplate;

void ac_template_free (AcTemplate *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AcTemplate, ac_template_free)

AcTemplate *ac_template_new_from_data (const gchar *data,
				       gsize len,
				       const gchar *base_dir,
				       GHashTable *vars,
				       GError **error);
AcTemplate *ac_template_new_from_file (const gchar *path, GHashTable *vars, GError **error);
AcTemplate *
ac_template_new_from_file_full (const gchar *path,
                                GHashTable *vars,
                                GHashTable *origins,
                                GError **error);
gboolean ac_template_parse_var (GHashTable *vars, const gchar *kv, GError **error);
gboolean
ac_template_parse_var_file (const gchar *data,
                            gsize len,
                            const gchar *name,
                            GHashTable *vars,
                            GHashTable *origins,
                            GError **error);
gboolean
ac_template_read_var_file (const gchar *path,
                           GHashTable *vars,
                           GHashTable *origins,
                           GError **error);
const gchar *ac_source_type_to_string (AcSourceType type);
const gchar *ac_provision_backend_to_string (AcProvisionBackend backend);
const gchar *ac_image_layout_to_string (AcImageLayout layout);

G_END_DECLS
