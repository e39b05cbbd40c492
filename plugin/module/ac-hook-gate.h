/*
 * The hook's decisions for a tagged domain: the fail-closed gatekeeper.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
	AC_HOST_SEV_AUTO, /* detect: /dev/sev and kvm_amd's sev parameter */
	AC_HOST_SEV_YES,
	AC_HOST_SEV_NO,
} AcHostSev;

typedef struct {
	AcHostSev host_sev;
	AcHostSev host_snp; /* the same for SEV-SNP (kvm_amd's sev_snp parameter) */
	gchar *state_dir; /* where the hook records its decisions; NULL = none */
	gchar **owners;	  /* addresses whose signed launch records this host accepts */
	gchar *host_id;	  /* this host in those records; default its host name */
} AcHookConfig;

AcHookConfig *ac_hook_config_load (const gchar *path, GError **error);
void ac_hook_config_free (AcHookConfig *config);
gboolean ac_host_has_sev (AcHostSev setting);
gboolean ac_host_has_snp (AcHostSev setting);

gboolean ac_hook_gate (const AcHookConfig *config,
		       const gchar *domain,
		       const gchar *op,
		       const gchar *subop,
		       const gchar *xml,
		       gsize len,
		       GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (AcHookConfig, ac_hook_config_free)

G_END_DECLS
