/*
 * Small helpers over the libvirt API: errors into GError, domain lookup, the metadata
 * elements of both namespaces.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>
#include <libvirt/libvirt.h>

G_BEGIN_DECLS

G_DEFINE_AUTOPTR_CLEANUP_FUNC (virConnect, virConnectClose)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (virDomain, virDomainFree)

void ac_virt_init (void);
void ac_virt_set_error (GError **error, const gchar *format, ...) G_GNUC_PRINTF (2, 3);
virConnectPtr ac_virt_connect (const gchar *uri, GError **error);
typedef struct _AcVirtOpening AcVirtOpening;
AcVirtOpening *ac_virt_connect_begin (const gchar *uri);
virConnectPtr ac_virt_connect_end (AcVirtOpening *op, gint64 deadline, GError **error);
gboolean ac_virt_connect_pending (void);
virDomainPtr ac_virt_lookup_domain (virConnectPtr conn, const gchar *name, GError **error);
gchar *ac_virt_get_xml (virDomainPtr dom, GError **error);
gchar *ac_virt_get_xml_flags (virDomainPtr dom, guint flags, GError **error);
gboolean ac_virt_set_metadata (virDomainPtr dom,
			       const gchar *prefix,
			       const gchar *ns,
			       const gchar *element,
			       GError **error);
gchar *ac_virt_get_metadata (virDomainPtr dom, const gchar *ns, GError **error);

G_END_DECLS
