/*
 * The Aleph flow's context and its steps, shared by the files of the flow (ac-pipeline*.c)
 * and by its unit tests; not part of the pipeline's API (ac-pipeline.h).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <json-glib/json-glib.h>

#include "ac-aleph-client.h"
#include "ac-domain.h"
#include "ac-pipeline.h"
#include "ac-state.h"
#include "ac-tag.h"
#include "ac-virt.h"

G_BEGIN_DECLS

#define SESSION_NAME "vm"
/* the largest firmware file fetched from the network */
#define AC_PIPELINE_MAX_FIRMWARE (64 * 1024 * 1024)

typedef struct {
	const AcPipelineConfig *config;
	virConnectPtr conn;
	virDomainPtr dom;
	gchar *name;
	gchar *uuid;
	gchar *xml;
	AcDomain *domain; /* the domain model of @xml, read once */
	AcTag *tag;       /* domain's tag (owned by domain) */
	AcState *state;
	AcStatus *status;
	AcPipelineStatusFunc status_func;
	gpointer user_data;
	AcEthAccount *account;
	AcHttpClient *http;
	AcCcnClient *ccn;
	GCancellable *cancellable;
	gint64 progress_written;  /* monotonic µs of the last status written for the bytes */
	guint range_lo, range_hi; /* the status percentages the current step spans */
} AcPipeline;

/* ac-pipeline.c: the context, the status, the clients */
void
ac_pipeline_clear (AcPipeline *p);
void
ac_pipeline_report (AcPipeline *p, const gchar *state, const gchar *step, guint progress);
void
ac_pipeline_report_failure (AcPipeline *p,
                            const gchar *state,
                            const gchar *step,
                            const GError *error);
gboolean
ac_pipeline_save (AcPipeline *p, GError **error);
gboolean
ac_pipeline_ensure_clients (AcPipeline *p, GError **error);
const gchar *
ac_pipeline_channel (AcPipeline *p);
/* sets up the clients (ac_pipeline_ensure_clients()) when they are not yet */
AcCrnClient *
ac_pipeline_crn_client (AcPipeline *p, GError **error);

/* the domain's disk passphrase from the local secret store (OPENSSL_clear_free it) */
guint8 *
ac_pipeline_passphrase_get (AcPipeline *p, gsize *len, GError **error);

/* ac-pipeline-preflight.c */
gboolean
ac_pipeline_preflight_step (AcPipeline *p, GError **error);

/* ac-pipeline-rootfs.c: an existing image (<aleph:publish rootfs>) */
/* the largest image read whole for its LUKS header check, from a server that ignores HTTP Range
 * requests (its hash checked); with Range, only the header's bytes are read, of any image */
#define AC_PIPELINE_MAX_ROOTFS_CHECK ((guint64)256 * 1024 * 1024)
/* its passphrase: the libvirt secret of usage volume "aleph-rootfs:<STORE hash>" */
#define AC_PIPELINE_ROOTFS_USAGE_PREFIX "aleph-rootfs:"
gchar *
ac_pipeline_rootfs_secret_usage (const gchar *store_hash);
/* the passphrase checked against the image's LUKS header, nothing recorded; @size: the
 * image's size in bytes. AC_ERROR_MISMATCH when it opens no key slot. */
gboolean
ac_pipeline_rootfs_verify (AcPipeline *p,
                           const guint8 *passphrase,
                           gsize passphrase_len,
                           guint64 *size,
                           GError **error);
/* ac_pipeline_rootfs_verify(), then build and store recorded done */
gboolean
ac_pipeline_rootfs_check (AcPipeline *p,
                          const guint8 *passphrase,
                          gsize passphrase_len,
                          const gchar *secret_uuid,
                          GError **error);
/* the passphrase from the secret store, then ac_pipeline_rootfs_check(); once per image */
gboolean
ac_pipeline_rootfs_step (AcPipeline *p, GError **error);

/* ac-pipeline-adopt.c: an INSTANCE made elsewhere (aleph-client) recorded as the flow's */
gboolean
ac_pipeline_adopt_step (AcPipeline *p, const gchar *instance_hash, GError **error);

/* ac-pipeline-publish.c */
gboolean
ac_pipeline_publish_step_store (AcPipeline *p, AcProgress *progress, GError **error);
gboolean
ac_pipeline_publish_step_crn (AcPipeline *p, GError **error);
gboolean
ac_pipeline_publish_record_crn (AcPipeline *p, const gchar *node_hash, GError **error);
gboolean
ac_pipeline_publish_step_ports (AcPipeline *p, GError **error);
gboolean
ac_pipeline_publish_step_notify (AcPipeline *p, GError **error);

/* ac-pipeline-instance.c */
guint
ac_pipeline_instance_vcpus (AcPipeline *p);
JsonNode *
ac_pipeline_instance_content (AcPipeline *p, GError **error);
gboolean
ac_pipeline_instance_step (AcPipeline *p, AcProgress *progress, GError **error);

/* ac-pipeline-attest.c: the attest step and the check of a running instance (SEV, or
 * SEV-SNP's ac_pipeline_snp_attest() and ac_pipeline_snp_check_running()) */
gboolean
ac_pipeline_attest_step (AcPipeline *p, GError **error);
gboolean
ac_pipeline_attest_check_running (AcPipeline *p, AcPipelineRunning *outcome, GError **error);
gboolean
ac_pipeline_attest_done (AcPipeline *p, GError **error);
gboolean
ac_pipeline_record_ipv6 (AcPipeline *p, AcCrnClient *crn);

/* ac-pipeline-snp.c: SEV-SNP (tee AC_TEE_SNP) */
const gchar *
ac_pipeline_snp_runtime_ref (AcPipeline *p);
gboolean
ac_pipeline_snp_check_config (AcPipeline *p, GError **error);
gboolean
ac_pipeline_snp_runtime_step (AcPipeline *p, GError **error);
gboolean
ac_pipeline_snp_add_tee (AcPipeline *p, JsonBuilder *b, GError **error);
/* the attestation of ac_pipeline_attest_step() (ac-pipeline-attest.c) for SEV-SNP */
gboolean
ac_pipeline_snp_attest (AcPipeline *p, AcCrnClient *crn, GError **error);
/* … and of ac_pipeline_attest_check_running(), once the attest step is done */
gboolean
ac_pipeline_snp_check_running (AcPipeline *p,
                               AcCrnClient *crn,
                               AcPipelineRunning *outcome,
                               GError **error);

G_END_DECLS
