/*
 * What the local SEV flow needs from a host: the platform's SEV information, a domain's
 * state and launch measurement, secret injection and resume. The real implementation calls
 * libvirt (AcSevHostLibvirt, also over qemu+ssh://); tests use AcSevHostFake, a host played by
 * the software PSP in sev/.
 *
 * Everything an implementation returns comes from the host, which SEV's threat model treats
 * as the adversary: the flow decodes and checks it (ac-localsev-prepare.c), implementations only
 * carry it.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

/* what virNodeGetSEVInfo gives (the VIR_NODE_SEV_* parameters) */
typedef struct {
	gchar *pdh;	   /* VIR_NODE_SEV_PDH: base64 of the 2084-byte PDH certificate */
	gchar *cert_chain; /* VIR_NODE_SEV_CERT_CHAIN: base64 of PEK‖OCA‖CEK (or a sevctl export) */
	gchar *cpu0_id;	   /* VIR_NODE_SEV_CPU0_ID: base64 of GET_ID for socket 0; nullable */
	guint cbitpos;	   /* VIR_NODE_SEV_CBITPOS */
	guint reduced_phys_bits; /* VIR_NODE_SEV_REDUCED_PHYS_BITS */
	guint max_guests;	 /* VIR_NODE_SEV_MAX_GUESTS; 0 when not reported */
	guint max_es_guests;	 /* VIR_NODE_SEV_MAX_ES_GUESTS; 0 when not reported */
} AcSevHostInfo;

/* what virDomainGetLaunchSecurityInfo gives (VIR_DOMAIN_LAUNCH_SECURITY_SEV_*) */
typedef struct {
	gchar *measurement; /* base64 of MEASURE ‖ MNONCE (48 bytes) */
	guint api_major;
	guint api_minor;
	guint build_id;
	guint policy;
} AcSevLaunchInfo;

/* what a host says about its SEV-SNP support through libvirt, unchecked (the local flow's
 * ac_localsev_snp_check_host() decides): the versions of libvirt (virConnectGetLibVersion) and
 * of the hypervisor (virConnectGetVersion, QEMU's), major * 1000000 + minor * 1000 + micro,
 * and the domain capabilities XML of an x86_64 q35 KVM guest (virConnectGetDomainCapabilities)
 * or NULL when the host gave none (domcaps_error says why) */
typedef struct {
	gulong libvirt_version;
	gulong qemu_version;
	gchar *domcaps;
	gchar *domcaps_error;
} AcSevHostSnpFacts;

typedef enum {
	AC_SEV_DOMAIN_STATE_SHUTOFF, /* not started (or crashed) */
	AC_SEV_DOMAIN_STATE_PAUSED,  /* started with --paused, CPUs not yet run */
	AC_SEV_DOMAIN_STATE_RUNNING,
	AC_SEV_DOMAIN_STATE_OTHER, /* blocked, shutting down, suspended to disk, ... */
} AcSevDomainState;

const gchar *ac_sev_domain_state_to_string (AcSevDomainState state);

AcSevHostInfo *ac_sev_host_info_new (void);
void ac_sev_host_info_free (AcSevHostInfo *info);
AcSevLaunchInfo *ac_sev_launch_info_new (void);
void ac_sev_launch_info_free (AcSevLaunchInfo *info);
AcSevHostSnpFacts *ac_sev_host_snp_facts_new (void);
void ac_sev_host_snp_facts_free (AcSevHostSnpFacts *facts);

#define AC_TYPE_SEV_HOST (ac_sev_host_get_type ())
G_DECLARE_INTERFACE (AcSevHost, ac_sev_host, AC, SEV_HOST, GObject)

struct _AcSevHostInterface {
	GTypeInterface parent_iface;

	/* a short description for messages, e.g. the connection URI */
	const gchar *(*get_name) (AcSevHost *self);
	/* the machine's own name as its hook knows it (its host name), for the launch records
	 * shipped to it; optional */
	gchar *(*get_host_id) (AcSevHost *self, GError **error);
	AcSevHostInfo *(*get_sev_info) (AcSevHost *self, GError **error);
	gboolean (*get_domain_state) (AcSevHost *self,
				      const gchar *domain,
				      AcSevDomainState *state,
				      GError **error);
	AcSevLaunchInfo *(*get_launch_security_info) (AcSevHost *self,
						      const gchar *domain,
						      GError **error);
	/* virDomainSetLaunchSecurityState: header and secret are base64 (ciphertext) */
	gboolean (*set_launch_security_state) (AcSevHost *self,
					       const gchar *domain,
					       const gchar *secret_header,
					       const gchar *secret,
					       gboolean has_address,
					       guint64 address,
					       GError **error);
	gboolean (*resume) (AcSevHost *self, const gchar *domain, GError **error);
	/* SEV-SNP through libvirt: versions and domain capabilities; optional */
	AcSevHostSnpFacts *(*get_snp_facts) (AcSevHost *self, GError **error);
};

/* @domain is a domain UUID (or name) as virsh takes it */
const gchar *ac_sev_host_get_name (AcSevHost *self);
gchar *ac_sev_host_get_host_id (AcSevHost *self, GError **error);
AcSevHostInfo *ac_sev_host_get_sev_info (AcSevHost *self, GError **error);
gboolean ac_sev_host_get_domain_state (AcSevHost *self,
				       const gchar *domain,
				       AcSevDomainState *state,
				       GError **error);
AcSevLaunchInfo *ac_sev_host_get_launch_security_info (AcSevHost *self,
						       const gchar *domain,
						       GError **error);
gboolean ac_sev_host_set_launch_security_state (AcSevHost *self,
						const gchar *domain,
						const gchar *secret_header,
						const gchar *secret,
						gboolean has_address,
						guint64 address,
						GError **error);
gboolean ac_sev_host_resume (AcSevHost *self, const gchar *domain, GError **error);
AcSevHostSnpFacts *ac_sev_host_get_snp_facts (AcSevHost *self, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (AcSevHostInfo, ac_sev_host_info_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AcSevLaunchInfo, ac_sev_launch_info_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AcSevHostSnpFacts, ac_sev_host_snp_facts_free)

G_END_DECLS
