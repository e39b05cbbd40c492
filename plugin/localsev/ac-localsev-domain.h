/*
 * The parts of a libvirt domain XML the local SEV flow looks at: identity, firmware loader,
 * disks, vCPUs and <launchSecurity>; and writing a <launchSecurity> into a domain XML.
 * The XML may come from a hostile host: lengths are bounded and every field is optional
 * until a caller requires it.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define AC_LOCALSEV_DOMAIN_MAX_XML (4 * 1024 * 1024)

/* The prepared launch, shipped in the domain's <metadata> for a hook on another machine:
 * <launch xmlns=AC_LAUNCH_NS signer="0x…" signature="0x…">base64 of the record JSON</launch> */
#define AC_LAUNCH_NS	 "https://aleph.cloud/ns/libvirt/confidential-launch/1"
#define AC_LAUNCH_PREFIX "aleph-launch"

typedef struct {
	gchar *dev;    /* <target dev> */
	gchar *source; /* <source file|dev|volume|name>, or NULL */
	/* what decides which bytes the guest reads, in a canonical text (attributes sorted,
	 * whitespace and comments dropped) that two readers of one disk agree on: */
	gchar *type;	/* <disk type>, or NULL */
	gchar *driver;	/* <driver>'s name and type, e.g. <driver name="qemu" type="raw"/> */
	gchar *source_xml; /* the whole <source> (pool, protocol, hosts, slices…) or NULL */
	gchar *backing; /* a <backingStore> with content, or NULL (none, or the empty one) */
} AcLocalsevDisk;

typedef struct {
	gchar *name;
	gchar *uuid; /* lowercase */
	gchar *loader; /* <os><loader> text: the firmware path */
	/* the firmware as a canonical text: <os firmware>, the whole <loader> and <nvram> and
	 * <os><firmware>; "" when the domain names none */
	gchar *firmware;
	guint vcpus;   /* <vcpu>; 0 when absent */
	GPtrArray *disks; /* of AcLocalsevDisk, <disk device='disk'> in order */
	gboolean has_kernel; /* <os><kernel> (direct kernel boot) */

	/* <launchSecurity> */
	gboolean has_launch_security;
	gchar *ls_type;
	gchar *ls_kernel_hashes;
	gchar *ls_policy;
	gchar *ls_cbitpos;
	gchar *ls_reduced_phys_bits;
	gchar *ls_dh_cert; /* whitespace removed */
	gchar *ls_session; /* whitespace removed */

	/* <metadata><launch xmlns=AC_LAUNCH_NS> */
	gboolean has_launch_record;
	gchar *launch_record; /* base64, whitespace removed */
	gchar *launch_signer;
	gchar *launch_signature;
} AcLocalsevDomain;

AcLocalsevDomain *ac_localsev_domain_parse (const gchar *xml, gssize len, GError **error);
void ac_localsev_domain_free (AcLocalsevDomain *self);
AcLocalsevDisk *ac_localsev_domain_find_disk (AcLocalsevDomain *self, const gchar *dev);

/* @xml with every <launchSecurity> replaced by @launch_security (one element) */
gchar *ac_localsev_domain_set_launch_security (const gchar *xml,
					       const gchar *launch_security,
					       GError **error);

/* @xml with every <metadata> element in AC_LAUNCH_NS replaced by @launch (one element; a
 * <metadata> is added when there is none) */
gchar *ac_localsev_domain_set_launch_record (const gchar *xml, const gchar *launch, GError **error);

/* @xml (a whole domain) with disk @dev's source switched to the file @path in raw format and,
 * when @loader is set, <os><loader> set to it; nothing else changed */
gchar *ac_localsev_domain_switch_disk (const gchar *xml,
				      const gchar *dev,
				      const gchar *path,
				      const gchar *loader,
				      GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (AcLocalsevDomain, ac_localsev_domain_free)

G_END_DECLS
