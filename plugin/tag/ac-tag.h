/*
 * The <aleph:confidential> element: the user's intent, as a C model.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define AC_TAG_NS "https://aleph.cloud/ns/libvirt/confidential/1"
#define AC_TAG_PREFIX "aleph"
#define AC_STATUS_NS "https://aleph.cloud/ns/libvirt/confidential-status/1"
#define AC_STATUS_PREFIX "alephst"

/* Aleph's published confidential firmware (docs/protocols.md#firmware). */
#define AC_TAG_DEFAULT_FIRMWARE_SHA256 \
	"89b76b0e64fe9015084fbffdf8ac98185bafc688bfe7a0b398585c392d03c7ee"
#define AC_TAG_DEFAULT_FIRMWARE_REF \
	"ba5bb13f3abca960b101a759be162b229e2b7e93ecad9d1307e54de887f177ff"
#define AC_TAG_DEFAULT_API "https://api2.aleph.im"

typedef enum {
	AC_LOCAL_MODE_UNSET, /* default: sev when the host has SEV, deny otherwise */
	AC_LOCAL_MODE_SEV,
	AC_LOCAL_MODE_TEST,
	AC_LOCAL_MODE_DENY,
} AcLocalMode;

/* which AMD technology the guest is launched with (<aleph:sev type>) */
typedef enum {
	AC_TEE_SEV, /* SEV or SEV-ES: the ES bit of the SEV policy says which */
	AC_TEE_SNP, /* SEV-SNP: snp_policy */
} AcTeeType;

typedef enum {
	AC_PAYMENT_HOLD,
	AC_PAYMENT_SUPERFLUID,
	AC_PAYMENT_CREDIT,
} AcPayment;

typedef struct {
	guint16 port;
	gboolean udp;
} AcTagPort;

typedef struct {
	gchar *api;           /* CCN base URL; default AC_TAG_DEFAULT_API */
	gchar *crn;           /* "auto" or a 64-hex node hash */
	AcPayment payment;    /* the INSTANCE's; default credit */
	AcPayment store_payment; /* the image STORE's: hold or credit; default credit */
	gchar *rootfs;        /* STORE item hash of an existing encrypted image to boot instead
			       * of building one (lowercase hex); NULL = build from the disk */
	guint64 rootfs_size;  /* bytes; 0 = the size of the encrypted image */
	guint vcpus;          /* 0 = the domain's <vcpu> */
	guint64 memory;       /* bytes; 0 = the domain's <memory> */
	gchar *name;          /* instance name; NULL = the domain name */
	gchar *ssh_key;       /* an OpenSSH public key; NULL = ~/.ssh/ *.pub of the user */
	GArray *ports;        /* of AcTagPort; NULL or empty = none */
} AcTagPublish;

typedef struct {
	gchar *disk_dev;          /* target dev of the disk to encrypt; NULL = first disk */
	AcTeeType tee;            /* default AC_TEE_SEV */
	guint32 policy;           /* SEV guest policy; default 0x1 (AC_TEE_SEV only) */
	guint64 snp_policy;       /* SNP guest policy; default 0x30000 (AC_TEE_SNP only) */
	gchar *snp_runtime;       /* AC_TEE_SNP: STORE item hash of the aleph-instance-runtime/1
				   * manifest; NULL = the configuration's */
	gchar *firmware_sha256;   /* lowercase hex */
	gchar *firmware_ref;      /* STORE item hash of the firmware */
	gchar *firmware_file;     /* optional local copy of the firmware */
	AcLocalMode local_mode;
	AcTagPublish *publish;    /* NULL: not deployed to Aleph */
} AcTag;

/* What the tag was found in, when parsed from a whole domain. */
typedef struct {
	gchar *name;
	gchar *uuid;
	gchar *type;        /* <domain type='…'> */
	GPtrArray *disks;   /* target dev of every <disk device='disk'>, in order */
	gboolean has_launch_security;
	gchar *launch_security_type;
	gchar *launch_security_policy; /* text of <launchSecurity><policy> */
	gchar *qemu_element; /* the first element of libvirt's QEMU namespace outside <metadata>
			      * (<qemu:commandline>, <qemu:override>…), as prefix:name; NULL if none */
} AcTagDomain;

#define AC_LIBVIRT_QEMU_NS "http://libvirt.org/schemas/domain/qemu/1.0"

AcTag *ac_tag_new (void);
void ac_tag_free (AcTag *tag);
void ac_tag_domain_free (AcTagDomain *dom);

AcTag *ac_tag_parse (const gchar *xml, gssize len, AcTagDomain **domain_out, GError **error);
gboolean ac_tag_xml_has_tag (const gchar *xml, gsize len);
AcTagDomain *ac_tag_domain_parse (const gchar *xml, gssize len, GError **error);
gchar *ac_tag_format (const AcTag *tag);
gboolean ac_tag_validate (const AcTag *tag, const AcTagDomain *domain, GError **error);
gboolean ac_tag_equal (const AcTag *a, const AcTag *b);

AcLocalMode ac_tag_get_effective_local_mode (const AcTag *tag, gboolean host_has_sev);
const gchar *ac_tee_type_to_string (AcTeeType tee);
/* "SEV", "SEV-ES" or "SEV-SNP": what the tag launches */
const gchar *ac_tag_get_tee_name (const AcTag *tag);
const gchar *ac_local_mode_to_string (AcLocalMode mode);
const gchar *ac_payment_to_string (AcPayment payment);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (AcTag, ac_tag_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AcTagDomain, ac_tag_domain_free)

G_END_DECLS
