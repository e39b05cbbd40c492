/*
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "ac-sev-host.h"

#include "ac-error.h"

G_DEFINE_INTERFACE (AcSevHost, ac_sev_host, G_TYPE_OBJECT)

static void
ac_sev_host_default_init (AcSevHostInterface *iface)
{
}

const gchar *
ac_sev_domain_state_to_string (AcSevDomainState state)
{
	switch (state) {
	case AC_SEV_DOMAIN_STATE_SHUTOFF:
		return "shut off";
	case AC_SEV_DOMAIN_STATE_PAUSED:
		return "paused";
	case AC_SEV_DOMAIN_STATE_RUNNING:
		return "running";
	case AC_SEV_DOMAIN_STATE_OTHER:
	default:
		return "in another state";
	}
}

AcSevHostInfo *
ac_sev_host_info_new (void)
{
	return g_new0 (AcSevHostInfo, 1);
}

void
ac_sev_host_info_free (AcSevHostInfo *info)
{
	if (info == NULL)
		return;
	g_free (info->pdh);
	g_free (info->cert_chain);
	g_free (info->cpu0_id);
	g_free (info);
}

AcSevLaunchInfo *
ac_sev_launch_info_new (void)
{
	return g_new0 (AcSevLaunchInfo, 1);
}

void
ac_sev_launch_info_free (AcSevLaunchInfo *info)
{
	if (info == NULL)
		return;
	g_free (info->measurement);
	g_free (info);
}

AcSevHostSnpFacts *
ac_sev_host_snp_facts_new (void)
{
	return g_new0 (AcSevHostSnpFacts, 1);
}

void
ac_sev_host_snp_facts_free (AcSevHostSnpFacts *facts)
{
	if (facts == NULL)
		return;
	g_free (facts->domcaps);
	g_free (facts->domcaps_error);
	g_free (facts);
}

static gboolean
ac_sev_host_unimplemented (AcSevHost *self, const gchar *what, GError **error)
{
	g_set_error (error,
		     AC_ERROR,
		     AC_ERROR_UNSUPPORTED,
		     "SEV host %s does not implement %s",
		     G_OBJECT_TYPE_NAME (self),
		     what);
	return FALSE;
}

const gchar *
ac_sev_host_get_name (AcSevHost *self)
{
	AcSevHostInterface *iface;

	g_return_val_if_fail (AC_IS_SEV_HOST (self), NULL);
	iface = AC_SEV_HOST_GET_IFACE (self);
	if (iface->get_name == NULL)
		return G_OBJECT_TYPE_NAME (self);
	return iface->get_name (self);
}

/**
 * ac_sev_host_get_host_id:
 *
 * The host's name as the hook on it knows it (see [hook] host-id), written into the launch
 * records prepared for it.
 *
 * Returns: the name, or %NULL with %AC_ERROR_UNSUPPORTED when the host cannot tell it.
 */
gchar *
ac_sev_host_get_host_id (AcSevHost *self, GError **error)
{
	AcSevHostInterface *iface;

	g_return_val_if_fail (AC_IS_SEV_HOST (self), NULL);
	iface = AC_SEV_HOST_GET_IFACE (self);
	if (iface->get_host_id == NULL) {
		(void)ac_sev_host_unimplemented (self, "get_host_id", error);
		return NULL;
	}
	return iface->get_host_id (self, error);
}

AcSevHostInfo *
ac_sev_host_get_sev_info (AcSevHost *self, GError **error)
{
	AcSevHostInterface *iface;

	g_return_val_if_fail (AC_IS_SEV_HOST (self), NULL);
	iface = AC_SEV_HOST_GET_IFACE (self);
	if (iface->get_sev_info == NULL) {
		ac_sev_host_unimplemented (self, "get_sev_info", error);
		return NULL;
	}
	return iface->get_sev_info (self, error);
}

gboolean
ac_sev_host_get_domain_state (AcSevHost *self,
			      const gchar *domain,
			      AcSevDomainState *state,
			      GError **error)
{
	AcSevHostInterface *iface;

	g_return_val_if_fail (AC_IS_SEV_HOST (self), FALSE);
	g_return_val_if_fail (domain != NULL, FALSE);
	g_return_val_if_fail (state != NULL, FALSE);
	iface = AC_SEV_HOST_GET_IFACE (self);
	if (iface->get_domain_state == NULL)
		return ac_sev_host_unimplemented (self, "get_domain_state", error);
	return iface->get_domain_state (self, domain, state, error);
}

AcSevLaunchInfo *
ac_sev_host_get_launch_security_info (AcSevHost *self, const gchar *domain, GError **error)
{
	AcSevHostInterface *iface;

	g_return_val_if_fail (AC_IS_SEV_HOST (self), NULL);
	g_return_val_if_fail (domain != NULL, NULL);
	iface = AC_SEV_HOST_GET_IFACE (self);
	if (iface->get_launch_security_info == NULL) {
		ac_sev_host_unimplemented (self, "get_launch_security_info", error);
		return NULL;
	}
	return iface->get_launch_security_info (self, domain, error);
}

gboolean
ac_sev_host_set_launch_security_state (AcSevHost *self,
				       const gchar *domain,
				       const gchar *secret_header,
				       const gchar *secret,
				       gboolean has_address,
				       guint64 address,
				       GError **error)
{
	AcSevHostInterface *iface;

	g_return_val_if_fail (AC_IS_SEV_HOST (self), FALSE);
	g_return_val_if_fail (domain != NULL, FALSE);
	g_return_val_if_fail (secret_header != NULL, FALSE);
	g_return_val_if_fail (secret != NULL, FALSE);
	iface = AC_SEV_HOST_GET_IFACE (self);
	if (iface->set_launch_security_state == NULL)
		return ac_sev_host_unimplemented (self, "set_launch_security_state", error);
	return iface->set_launch_security_state (self,
						 domain,
						 secret_header,
						 secret,
						 has_address,
						 address,
						 error);
}

gboolean
ac_sev_host_resume (AcSevHost *self, const gchar *domain, GError **error)
{
	AcSevHostInterface *iface;

	g_return_val_if_fail (AC_IS_SEV_HOST (self), FALSE);
	g_return_val_if_fail (domain != NULL, FALSE);
	iface = AC_SEV_HOST_GET_IFACE (self);
	if (iface->resume == NULL)
		return ac_sev_host_unimplemented (self, "resume", error);
	return iface->resume (self, domain, error);
}

/**
 * ac_sev_host_get_snp_facts:
 *
 * What the host says about SEV-SNP through libvirt (versions, domain capabilities), for the
 * local flow to check; nothing of it is trusted.
 *
 * Returns: the facts, or %NULL with %AC_ERROR_UNSUPPORTED when the host cannot tell.
 */
AcSevHostSnpFacts *
ac_sev_host_get_snp_facts (AcSevHost *self, GError **error)
{
	AcSevHostInterface *iface;

	g_return_val_if_fail (AC_IS_SEV_HOST (self), NULL);
	iface = AC_SEV_HOST_GET_IFACE (self);
	if (iface->get_snp_facts == NULL) {
		(void)ac_sev_host_unimplemented (self, "get_snp_facts", error);
		return NULL;
	}
	return iface->get_snp_facts (self, error);
}
