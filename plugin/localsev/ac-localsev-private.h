/*
 * Internals of the local SEV flow shared between its files (ac-localsev-*.c) and with its fuzz
 * targets: the record's file and JSON reader (ac-localsev-record.c), the chain built from what
 * a host reports (virNodeGetSEVInfo) and the firmware (ac-localsev-prepare.c), the
 * gatekeeper's comparison (ac-localsev-gate.c). Not for other users. The generic helpers
 * (hex, base64, time stamps) are lib/'s.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <json-glib/json-glib.h>

#include "ac-error.h"
#include "ac-codec.h"
#include "ac-localsev-domain.h"
#include "ac-time.h"
#include "ac-localsev.h"
#include "ac-snp-runtime.h"

G_BEGIN_DECLS

/* ---- ac-localsev-record.c ---- */

gboolean
ac_localsev_record_json_get_str (JsonObject *o,
                                 const gchar *what,
                                 const gchar *name,
                                 gboolean required,
                                 gchar **out,
                                 GError **error);
gboolean
ac_localsev_record_save (const gchar *dir, const AcLocalsevRecord *record, GError **error);
AcLocalsevRecord *
ac_localsev_record_load_from (const gchar *dir, const gchar *domain, GError **error);
/* the <launch> element for @r, signed with opts->sign */
gchar *
ac_localsev_record_launch_element (const AcLocalsevOptions *opts,
                                   const AcLocalsevRecord *r,
                                   GError **error);

/* ---- ac-localsev-prepare.c ---- */

AcSevChain *
ac_localsev_prepare_host_chain (const gchar *host_name,
                                const AcSevHostInfo *info,
                                const AcLocalsevOptions *opts,
                                gchar **pdh_sha256,
                                GCancellable *cancellable,
                                GError **error);
/* the firmware bytes and their SHA-256; the pinned hash must match */
GBytes *
ac_localsev_prepare_firmware_load (const gchar *path,
                                   const gchar *pinned_sha256,
                                   gchar **sha256_out,
                                   GError **error);
/* what an SEV and an SEV-SNP prepare share: the record's common part, its disk, the host it
 * is for, the last cancellation point, the domain XML with <launchSecurity> (by r->tee) */
AcLocalsevRecord *
ac_localsev_prepare_record_new (const AcLocalsevOptions *opts, const AcDomain *dom, GError **error);
void
ac_localsev_prepare_record_set_disk (AcLocalsevRecord *r, const AcDomainDisk *disk);
AcDomainDisk *
ac_localsev_prepare_find_disk (const AcDomain *dom, const AcTag *tag, GError **error);
gboolean
ac_localsev_prepare_host_id (AcSevHost *host,
                             const AcLocalsevOptions *opts,
                             const AcDomain *dom,
                             gchar **host_id,
                             GError **error);
gboolean
ac_localsev_prepare_check_cancelled (GCancellable *cancellable, GError **error);
AcLocalsevPrepared *
ac_localsev_prepare_domain_xml (const AcLocalsevOptions *opts,
                                const AcLocalsevRecord *r,
                                const gchar *domain_xml,
                                GError **error);

/* ---- ac-localsev-gate.c ---- */

/* the launch inputs of @dom against @r; the session state is not looked at */
gboolean
ac_localsev_gate_compare (const AcLocalsevRecord *r, const AcDomain *dom, GError **error);
/* the disk part of it (SEV and SEV-SNP alike) */
gboolean
ac_localsev_gate_compare_disk (const AcLocalsevRecord *r, const AcDomain *dom, GError **error);
/* parts of it SEV and SEV-SNP share: <launchSecurity type='@type'> (without it the guest runs
 * @without), its cbitpos and reducedPhysBits, the firmware */
gboolean
ac_localsev_gate_compare_type (const AcLocalsevRecord *r,
                               const AcDomain *dom,
                               const gchar *type,
                               const gchar *without,
                               GError **error);
gboolean
ac_localsev_gate_compare_cbits (const AcLocalsevRecord *r, const AcDomain *dom, GError **error);
gboolean
ac_localsev_gate_compare_firmware (const AcLocalsevRecord *r,
                                   const AcDomain *dom,
                                   GError **error);
/* FALSE with AC_ERROR_REFUSED: @input of the domain differs from what was prepared */
gboolean
ac_localsev_gate_differs (GError **error,
                          const gchar *domain,
                          const gchar *input,
                          const gchar *prepared,
                          const gchar *found);

/* ---- ac-localsev-snp.c ---- */

/* what <domainCapabilities><features> says of SEV and launchSecurity */
typedef struct {
	gboolean sev;     /* <sev supported='yes'> with cbitpos and reducedPhysBits */
	guint cbitpos;
	guint reduced_phys_bits;
	gboolean sev_snp; /* "sev-snp" among <launchSecurity supported='yes'>'s sectype values */
	gchar *sectypes;  /* those values, for messages */
} AcLocalsevSnpDomcaps;

void
ac_localsev_snp_domcaps_clear (AcLocalsevSnpDomcaps *caps);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (AcLocalsevSnpDomcaps, ac_localsev_snp_domcaps_clear)
gboolean
ac_localsev_snp_parse_domcaps (const gchar *xml,
                               gsize len,
                               AcLocalsevSnpDomcaps *out,
                               GError **error);

/* a local runtime: the manifest and its members read */
typedef struct {
	AcSnpRuntime *runtime;
	gchar *dir;
	gchar *manifest_sha256;
	gchar *ovmf_path, *kernel_path, *initrd_path;
	AcSnpRuntimeFiles files;
} AcLocalsevSnpRuntime;

void
ac_localsev_snp_runtime_free (AcLocalsevSnpRuntime *rt);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AcLocalsevSnpRuntime, ac_localsev_snp_runtime_free)
AcLocalsevSnpRuntime *
ac_localsev_snp_runtime_load (const gchar *dir, const gchar *pin, GError **error);

AcLocalsevPrepared *
ac_localsev_snp_prepare (AcSevHost *host,
                         const AcLocalsevOptions *opts,
                         const AcTag *tag,
                         const gchar *domain_xml,
                         const AcDomain *dom,
                         GCancellable *cancellable,
                         GError **error);
gboolean
ac_localsev_gate_compare_snp (const AcLocalsevRecord *r, const AcDomain *dom, GError **error);

G_END_DECLS
