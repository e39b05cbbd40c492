/*
 * SEV guest policy (u32 passed to LAUNCH_START): parse, validate, explain.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define AC_SEV_POLICY_NODBG 0x01u
#define AC_SEV_POLICY_NOKS 0x02u
#define AC_SEV_POLICY_ES 0x04u
#define AC_SEV_POLICY_NOSEND 0x08u
#define AC_SEV_POLICY_DOMAIN 0x10u
#define AC_SEV_POLICY_SEV 0x20u
#define AC_SEV_POLICY_RESERVED_MASK 0x0000ffc0u
#define AC_SEV_POLICY_API_MAJOR_SHIFT 16
#define AC_SEV_POLICY_API_MINOR_SHIFT 24

/* Aleph's CRNs launch every VM with this policy (docs/protocols.md#guest-policy). */
#define AC_SEV_POLICY_DEFAULT AC_SEV_POLICY_NODBG

gboolean ac_sev_policy_parse (const gchar *text, guint32 *policy, GError **error);
gboolean ac_sev_policy_validate (guint32 policy, GError **error);
gchar *ac_sev_policy_to_names (guint32 policy);
gchar *ac_sev_policy_explain (guint32 policy);

G_END_DECLS
