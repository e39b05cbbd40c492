/*
 * The status element (namespace AC_STATUS_NS) that virt-alephd writes into a domain's
 * metadata: state, step, progress, results of each step and the last error.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

#include "ac-tag.h"

G_BEGIN_DECLS

typedef struct {
	gchar *state;     /* invalid | ready | refused | queued | building | publishing |
			     attesting | running | failed | … */
	gchar *step;      /* the step the state refers to: validate, build, publish, … */
	guint progress;   /* 0..100 */
	gchar *updated;   /* RFC 3339 UTC; refreshed by virt-alephd while it works on the domain
			     (its heartbeat, every AC_STATUS_HEARTBEAT_S at least) */
	gchar *since;     /* RFC 3339 UTC: when the current state and step began */
	gchar *tag;       /* ac_status_tag_fingerprint() of the tag this status is about */
	guint64 done;     /* bytes done and to do in the current step (build, upload); 0 = none */
	guint64 total;
	/* image */
	gchar *image_path, *image_sha256, *image_cid, *image_luks_uuid;
	/* Aleph */
	gchar *store_hash, *instance_hash, *crn;
	gchar *crn_url, *ipv6; /* the CRN's address; the running VM's IPv6, as the CRN reports it */
	/* last attestation */
	gchar *attest_time, *attest_verdict, *attest_measurement, *attest_generation;
	gchar *attest_tee; /* the TEE attested: "SEV", "SEV-ES" or "SEV-SNP" */
	/* last error */
	gchar *error_code, *error_step, *error_message;
} AcStatus;

/* seconds between two writes of a status at most while virt-alephd works on its domain: a
 * status of work in progress older than a few of these means virt-alephd is not running */
#define AC_STATUS_HEARTBEAT_S 10

AcStatus *ac_status_new (void);
/* a new status carrying what the steps recorded in @current (image, Aleph, last attestation,
 * updated time) but no state, step, progress or error; @current is nullable */
AcStatus *ac_status_new_keeping_results (const AcStatus *current);
void ac_status_free (AcStatus *status);
gchar *ac_status_format (const AcStatus *status);
AcStatus *ac_status_parse (const gchar *xml, gssize len, GError **error);
gboolean ac_status_equal_ignoring_time (const AcStatus *a, const AcStatus *b);
void ac_status_set_error (AcStatus *status, const gchar *step, const GError *error);
void ac_status_touch (AcStatus *status);
gchar *ac_status_tag_fingerprint (const gchar *domain_xml);
gboolean ac_status_is_work_in_progress (const AcStatus *status);
gint64 ac_status_age_s (const gchar *rfc3339, GDateTime *now);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (AcStatus, ac_status_free)

G_END_DECLS
