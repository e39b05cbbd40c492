/*
 * AcSevHost over libvirt: virNodeGetSEVInfo, virDomainGetState,
 * virDomainGetLaunchSecurityInfo, virDomainSetLaunchSecurityState, virDomainResume — for a
 * local host (qemu:///system) or a remote one (qemu+ssh://host/system).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <libvirt/libvirt.h>

#include "ac-sev-host.h"

G_BEGIN_DECLS

#define AC_TYPE_SEV_HOST_LIBVIRT (ac_sev_host_libvirt_get_type ())
G_DECLARE_FINAL_TYPE (AcSevHostLibvirt, ac_sev_host_libvirt, AC, SEV_HOST_LIBVIRT, GObject)

/* takes a reference on @conn */
AcSevHost *ac_sev_host_libvirt_new (virConnectPtr conn);

G_END_DECLS
