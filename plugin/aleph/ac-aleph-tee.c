/*
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "ac-aleph-tee.h"

#include "ac-codec.h"
#include "ac-error.h"
#include "ac-json.h"

void
ac_aleph_tee_add_sev (JsonBuilder *b, const gchar *firmware_ref, guint32 policy)
{
	json_builder_set_member_name (b, "trusted_execution");
	json_builder_begin_object (b);
	ac_json_builder_add_string (b, "firmware", firmware_ref);
	ac_json_builder_add_int (b, "policy", policy);
	json_builder_end_object (b);
}

static gboolean
check_snp (const gchar *runtime,
           const AcAlephSnpMeasurement *measurements,
           guint n_measurements,
           GError **error)
{
	if (runtime == NULL || !ac_codec_hex_is_valid (runtime, 64, AC_CODEC_HEX_LOWER)) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "SEV-SNP INSTANCE runtime '%s': expected the item hash of the runtime "
		             "manifest's STORE (64 lowercase hex digits)",
		             runtime != NULL ? runtime : "(none)");
		return FALSE;
	}
	if (n_measurements == 0 || n_measurements > AC_ALEPH_MAX_MEASUREMENTS) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "SEV-SNP INSTANCE: %u measurements, expected 1 to %u (one per CPU "
		             "model of the runtime)",
		             n_measurements, AC_ALEPH_MAX_MEASUREMENTS);
		return FALSE;
	}
	for (guint i = 0; i < n_measurements; i++) {
		const gchar *t = measurements[i].vcpu_type;
		if (t != NULL
		    && (t[0] == '\0' || g_utf8_strlen (t, -1) > AC_ALEPH_VCPU_TYPE_MAX
		        || !g_utf8_validate (t, -1, NULL))) {
			g_set_error (
			    error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			    "SEV-SNP INSTANCE measurements[%u].vcpu_type '%.80s': expected "
			    "1 to %d characters (a QEMU CPU model such as EPYC-v4)",
			    i, t, AC_ALEPH_VCPU_TYPE_MAX);
			return FALSE;
		}
		for (guint j = 0; j < i && t != NULL; j++) {
			if (g_strcmp0 (measurements[j].vcpu_type, t) == 0) {
				g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
				             "SEV-SNP INSTANCE measurements[%u].vcpu_type '%s': "
				             "already given for measurements[%u]",
				             i, t, j);
				return FALSE;
			}
		}
	}
	return TRUE;
}

gboolean
ac_aleph_tee_add_snp (JsonBuilder *b,
                      guint64 policy,
                      const gchar *runtime,
                      const AcAlephSnpMeasurement *measurements,
                      guint n_measurements,
                      GError **error)
{
	if (!check_snp (runtime, measurements, n_measurements, error))
		return FALSE;
	json_builder_set_member_name (b, "trusted_execution");
	json_builder_begin_object (b);
	ac_json_builder_add_int (b, "policy", (gint64)policy);
	ac_json_builder_add_string (b, "mode", "sev_snp");
	ac_json_builder_add_string (b, "runtime", runtime);
	json_builder_set_member_name (b, "measurements");
	json_builder_begin_array (b);
	for (guint i = 0; i < n_measurements; i++) {
		g_autofree gchar *hex
		    = ac_codec_hex_encode (measurements[i].launch, AC_ALEPH_SNP_LAUNCH_SIZE);
		json_builder_begin_object (b);
		ac_json_builder_add_string (b, "platform", "sev_snp");
		json_builder_set_member_name (b, "registers");
		json_builder_begin_object (b);
		ac_json_builder_add_string (b, "launch", hex);
		json_builder_end_object (b);
		if (measurements[i].vcpu_type != NULL) {
			ac_json_builder_add_string (b, "vcpu_type", measurements[i].vcpu_type);
		}
		json_builder_end_object (b);
	}
	json_builder_end_array (b);
	json_builder_end_object (b);
	return TRUE;
}
