/*
 * The local SEV flow's view of a libvirt domain XML: the domain model (ac-domain.h, read once
 * with its bounded reader) under the flow's names; and writing a <launchSecurity>, a launch
 * record or a switched disk into a domain XML. The XML may come from a hostile host: lengths
 * are bounded and every field is optional until a caller requires it.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

#include "ac-domain.h"

G_BEGIN_DECLS

#define AC_LOCALSEV_DOMAIN_MAX_XML AC_DOMAIN_MAX_XML

/* The local flow reads the domain model (ac-domain.h): these are its names for it. */
typedef AcDomainDisk AcLocalsevDisk;
typedef AcDomain AcLocalsevDomain;

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
