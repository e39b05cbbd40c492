/*
 * Writing a domain XML for the local SEV flow: a <launchSecurity>, a launch record or a
 * switched disk. The flow reads a domain XML with the domain model (ac-domain.h, read once with
 * its bounded reader); these writers read their input with the same reader.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

#include "ac-domain.h"

G_BEGIN_DECLS

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

/* @xml for an SEV-SNP direct kernel boot: <os> without a firmware attribute, <nvram>,
 * <firmware> or <dtb>, with <loader readonly='yes' type='pflash' stateless='yes'>@loader</loader>,
 * <kernel>, <initrd> and <cmdline> after its <type>; <cpu mode='custom' match='exact'><model
 * fallback='forbid'>@cpu_model</model></cpu> in place of any <cpu> */
gchar *ac_localsev_domain_set_snp_boot (const gchar *xml,
				       const gchar *loader,
				       const gchar *kernel,
				       const gchar *initrd,
				       const gchar *cmdline,
				       const gchar *cpu_model,
				       GError **error);

G_END_DECLS
