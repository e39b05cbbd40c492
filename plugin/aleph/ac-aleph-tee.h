/*
 * aleph-confidential: the environment.trusted_execution member of an INSTANCE, for the legacy
 * SEV flow (firmware + policy) and for SEV-SNP (mode "sev_snp": policy, runtime, expected
 * launch digests). Only builds JSON; ac_aleph_message_build() checks the result against the
 * schema limits (ac-aleph-schema.c). docs/snp.md, "Aleph: INSTANCE and runtime".
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

#define AC_ALEPH_SNP_LAUNCH_SIZE 48
/* aleph-message's MAX_MEASUREMENTS */
#define AC_ALEPH_MAX_MEASUREMENTS 16
/* measurements[].vcpu_type: at most this many characters */
#define AC_ALEPH_VCPU_TYPE_MAX 64

/* one expected launch digest: measurements[] = {platform, registers.launch, vcpu_type} */
typedef struct {
	const gchar *vcpu_type; /* nullable: the QEMU -cpu model it was computed for */
	guint8 launch[AC_ALEPH_SNP_LAUNCH_SIZE];
} AcAlephSnpMeasurement;

/* adds "trusted_execution": {"firmware": @firmware_ref, "policy": @policy} to the object
 * @b is building */
void
ac_aleph_tee_add_sev (JsonBuilder *b, const gchar *firmware_ref, guint32 policy);

/*
 * adds "trusted_execution": {"policy", "mode": "sev_snp", "runtime", "measurements": [{
 * "platform": "sev_snp", "registers": {"launch": hex}, "vcpu_type"}]} (no firmware) to the
 * object @b is building. Refuses (AC_ERROR_INVALID_INPUT, nothing added) a runtime that is not
 * 64 lowercase hex digits, 0 or more than AC_ALEPH_MAX_MEASUREMENTS measurements, a vCPU type
 * longer than AC_ALEPH_VCPU_TYPE_MAX and the same vCPU type twice.
 */
gboolean
ac_aleph_tee_add_snp (JsonBuilder *b,
                      guint64 policy,
                      const gchar *runtime,
                      const AcAlephSnpMeasurement *measurements,
                      guint n_measurements,
                      GError **error);

G_END_DECLS
