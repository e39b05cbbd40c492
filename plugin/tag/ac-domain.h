/*
 * The domain model: a libvirt domain XML read once, with the bounded reader, into the facts
 * every user needs (the tag checks, the image build, the local SEV flow, the service and the
 * CLI): identity, memory, vCPUs, disks with their full source, the firmware, <launchSecurity>,
 * the shipped launch record and the parsed <aleph:confidential>. The XML may come from a
 * hostile host: its size is bounded, it is read without network or entity expansion, and an
 * element libvirt takes once is refused when repeated.
 *
 * One rule says which disk is the tagged disk (docs/tag.md#the-tagged-disk):
 * ac_domain_get_tagged_disk().
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

#include "ac-tag.h"

G_BEGIN_DECLS

/* the largest domain XML read; a larger one is refused (fail closed), never truncated */
#define AC_DOMAIN_MAX_XML (4 * 1024 * 1024)

/* The prepared launch, shipped in the domain's <metadata> for a hook on another machine:
 * <launch xmlns=AC_LAUNCH_NS signer="0x…" signature="0x…">base64 of the record JSON</launch> */
#define AC_LAUNCH_NS "https://aleph.cloud/ns/libvirt/confidential-launch/1"
#define AC_LAUNCH_PREFIX "aleph-launch"

typedef struct {
	gchar *dev;         /* <target dev>, or NULL */
	gchar *device;      /* <disk device>: "disk" (also when absent), "cdrom", "floppy", "lun" */
	gchar *source;      /* <source file|dev|volume|name>, or NULL */
	gchar *source_file; /* <source file>, or NULL */
	gchar *source_dev;  /* <source dev>, or NULL */
	gchar *format;      /* <driver type>, or NULL */
	/* what decides which bytes the guest reads, in a canonical text (attributes sorted,
	 * whitespace and comments dropped) that two readers of one disk agree on: */
	gchar *type;       /* <disk type>, or NULL */
	gchar *driver;     /* <driver>'s name and type, e.g. <driver name="qemu" type="raw"/> */
	gchar *source_xml; /* the whole <source> (pool, protocol, hosts, slices…) or NULL */
	gchar *backing;    /* a <backingStore> with content, or NULL (none, or the empty one) */
} AcDomainDisk;

typedef struct {
	gchar *name;
	gchar *uuid;    /* lowercase */
	gchar *type;    /* <domain type>: kvm, qemu… */
	guint64 memory; /* <memory> in bytes; 0 when absent */
	guint vcpus;    /* <vcpu>; 0 when absent */
	gchar *loader;  /* <os><loader> text: the firmware path */
	/* the firmware as a canonical text: <os firmware>, the whole <loader> and <nvram> and
	 * <os><firmware>; "" when the domain names none */
	gchar *firmware;
	gboolean has_kernel; /* <os><kernel> (direct kernel boot) */
	/* direct kernel boot, the texts as written (not trimmed: QEMU measures them so) */
	gchar *os_kernel;  /* <os><kernel>, or NULL */
	gchar *os_initrd;  /* <os><initrd>, or NULL */
	gchar *os_cmdline; /* <os><cmdline>, or NULL */
	gchar *os_dtb;     /* <os><dtb>, or NULL */
	/* <cpu mode> and <cpu><model> (the vCPU model: SEV-SNP measures its signature) */
	gboolean has_cpu;
	gchar *cpu_mode;
	gchar *cpu_model;
	/* the first element of libvirt's QEMU namespace outside <metadata> (<qemu:commandline>,
	 * <qemu:override>…), as prefix:name; NULL if none */
	gchar *qemu_element;
	GPtrArray *disks; /* of AcDomainDisk: every <devices><disk>, in order (CD-ROMs too) */

	/* <launchSecurity> */
	gboolean has_launch_security;
	gchar *ls_type;
	gchar *ls_kernel_hashes;
	gchar *ls_policy;
	gchar *ls_cbitpos;
	gchar *ls_reduced_phys_bits;
	gchar *ls_dh_cert;    /* whitespace removed */
	gchar *ls_session;    /* whitespace removed */
	gchar *ls_author_key; /* SEV-SNP: authorKey='yes|no', or NULL */
	gchar *ls_vcek;       /* SEV-SNP: vcek='yes|no', or NULL */
	/* the first child element of <launchSecurity> that is none of cbitpos, reducedPhysBits,
	 * policy, dhCert, session (SEV-SNP's idBlock, idAuth, hostData, guestVisibleWorkarounds or
	 * anything else), as its name; NULL if none */
	gchar *ls_other;

	/* <metadata><launch xmlns=AC_LAUNCH_NS> */
	gboolean has_launch_record;
	gchar *launch_record; /* base64, whitespace removed */
	gchar *launch_signer;
	gchar *launch_signature;

	/* <metadata><aleph:confidential>: the tag, parsed and validated against this domain;
	 * NULL with tag_error set when the domain has none (AC_ERROR_NOT_FOUND) or when it is
	 * invalid (AC_ERROR_INVALID_INPUT, naming what is wrong) */
	AcTag *tag;
	GError *tag_error;
	gchar *tag_xml; /* the first element of AC_TAG_NS in <metadata> as written, or NULL */
} AcDomain;

AcDomain *
ac_domain_parse (const gchar *xml, gssize len, GError **error);
void
ac_domain_free (AcDomain *self);

gboolean
ac_domain_is_tagged (const AcDomain *self);
AcDomainDisk *
ac_domain_find_disk (const AcDomain *self, const gchar *dev);
AcDomainDisk *
ac_domain_get_tagged_disk (const AcDomain *self);
AcTagDomain *
ac_domain_get_tag_info (const AcDomain *self);
gchar *
ac_domain_get_tag_fingerprint (const AcDomain *self);

/* The bounded, network-free reader behind ac_domain_parse(), for the writers of a domain XML
 * (ac-localsev-domain.c): a document whose root is <domain>, or %NULL with an error. */
struct _xmlDoc *
ac_domain_read_xml (const gchar *xml, gssize len, GError **error);
/* the libxml2 options it reads with (network-free, quiet, CDATA as text), for the fragments
 * those writers put in (the user includes <libxml/parser.h>), and g_autoptr() of a document */
#define AC_DOMAIN_XML_OPTS                                                                         \
	(XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_NOCDATA)
typedef struct _xmlDoc AcDomainXmlDoc;
void
ac_domain_xml_doc_free (AcDomainXmlDoc *doc);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AcDomainXmlDoc, ac_domain_xml_doc_free)
/* what those writers look for in it: an element @name in no namespace, the first such child of
 * @parent (or %NULL), a <launch> in AC_LAUNCH_NS whatever its prefix, the text content of @n
 * without the white space around it (never %NULL) */
struct _xmlNode;
gboolean
ac_domain_xml_is_elem (struct _xmlNode *n, const gchar *name);
struct _xmlNode *
ac_domain_xml_first_child (struct _xmlNode *parent, const gchar *name);
gboolean
ac_domain_xml_is_launch_record (struct _xmlNode *n);
gchar *
ac_domain_xml_text (struct _xmlNode *n);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (AcDomain, ac_domain_free)

G_END_DECLS
