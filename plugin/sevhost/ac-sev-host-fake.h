/*
 * A host for tests, played by the software PSP (sev/ac-sev-psp.h): starting a domain runs
 * what QEMU does with the domain's <launchSecurity> — LAUNCH_START with its dhCert, session
 * and policy, LAUNCH_UPDATE_DATA over the firmware file, LAUNCH_UPDATE_VMSA per vCPU for
 * SEV-ES, LAUNCH_MEASURE — and the AcSevHost calls answer from the PSP. Injected secrets go
 * through LAUNCH_SECRET; the fake records what the PSP decrypted into guest memory.
 *
 * Attack knobs let tests play a dishonest host: swap the platform (another PSP, so another
 * PDH), launch without the owner's session, report another measurement or policy.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "ac-sev-host.h"
#include "ac-sev-measure.h"
#include "ac-sev-psp.h"

G_BEGIN_DECLS

#define AC_TYPE_SEV_HOST_FAKE (ac_sev_host_fake_get_type ())
G_DECLARE_FINAL_TYPE (AcSevHostFake, ac_sev_host_fake, AC, SEV_HOST_FAKE, GObject)

/* @psp is borrowed and must outlive the fake */
AcSevHostFake *ac_sev_host_fake_new (AcSevPsp *psp, guint cbitpos, guint reduced_phys_bits);

/* the platform for get_sev_info and later starts (domains keep the PSP they started on) */
void ac_sev_host_fake_set_psp (AcSevHostFake *self, AcSevPsp *psp);
/* the vCPU model QEMU would put in SEV-ES VMSAs */
void ac_sev_host_fake_set_cpu (AcSevHostFake *self,
			       guint family,
			       guint model,
			       guint stepping,
			       AcSevVmsaVariant variant);

/* what get_snp_facts answers (versions as libvirt gives them, e.g. 10005000; @domcaps NULL:
 * none); never called: the fake tells nothing about SEV-SNP (AC_ERROR_UNSUPPORTED) */
void ac_sev_host_fake_set_snp_facts (AcSevHostFake *self,
				     gulong libvirt_version,
				     gulong qemu_version,
				     const gchar *domcaps);

/* `virsh start [--paused]`: @firmware NULL = the domain's <os><loader> */
gboolean ac_sev_host_fake_start (AcSevHostFake *self,
				 const gchar *domain_xml,
				 const gchar *firmware,
				 gboolean paused,
				 GError **error);
/* `virsh destroy` */
gboolean ac_sev_host_fake_destroy (AcSevHostFake *self, const gchar *domain, GError **error);

/* attacks */
void ac_sev_host_fake_set_ignore_session (AcSevHostFake *self, gboolean ignore);
void ac_sev_host_fake_set_host_id (AcSevHostFake *self, const gchar *host_id);
gboolean ac_sev_host_fake_set_reported_measurement (AcSevHostFake *self,
						    const gchar *domain,
						    const gchar *measurement);
gboolean ac_sev_host_fake_set_reported_policy (AcSevHostFake *self,
					       const gchar *domain,
					       guint32 policy);

/* what the platform did */
const gchar *ac_sev_host_fake_get_measurement (AcSevHostFake *self, const gchar *domain);
guint ac_sev_host_fake_get_secret_count (AcSevHostFake *self, const gchar *domain);
GBytes *ac_sev_host_fake_get_secret (AcSevHostFake *self, const gchar *domain);
AcSevDomainState ac_sev_host_fake_get_state (AcSevHostFake *self, const gchar *domain);
guint ac_sev_host_fake_get_set_state_calls (AcSevHostFake *self);

G_END_DECLS
