/*
 * The Aleph flow's configuration: the [pipeline] group of the service's key file.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "ac-pipeline.h"

#include <stdio.h>

#include "ac-aleph-util.h"
#include "ac-error.h"
#include "ac-keyfile.h"
#include "ac-snp-policy.h"

AcPipelineConfig *
ac_pipeline_config_new (void)
{
	AcPipelineConfig *c = g_new0 (AcPipelineConfig, 1);
	c->state_dir = g_strdup (AC_STATEDIR);
	c->min_api_major = 0;
	c->min_api_minor = 17; /* the measurement formula: docs/protocols.md#launch-measurement */
	c->min_ccn_version = g_strdup (AC_PIPELINE_DEFAULT_MIN_CCN_VERSION);
	c->poll_first_ms = 500;
	c->poll_max_ms = 5000;
	c->timeout_s = 600;
	c->instance_seconds = 30;
	return c;
}

void
ac_pipeline_config_free (AcPipelineConfig *c)
{
	if (c == NULL)
		return;
	g_free (c->state_dir);
	g_free (c->key_file);
	g_free (c->key_password_file);
	g_free (c->channel);
	g_free (c->crn_list_url);
	g_strfreev (c->trusted_roots);
	g_free (c->secrets_uri);
	g_free (c->min_ccn_version);
	g_free (c->snp_runtime);
	g_strfreev (c->snp_trusted_arks);
	g_free (c->snp_kds);
	g_free (c->snp_min_tcb);
	g_free (c);
}

/**
 * ac_pipeline_config_load:
 *
 * The [pipeline] group of the service's key file: state-dir, key-file, channel, crn-list,
 * trusted-roots (list of ARK files), secrets-uri, min-api (M.m: the SEV firmware API a platform
 * must report), min-ccn-version (M.m[.p]: the CCN's), poll-first-ms, poll-max-ms, timeout,
 * instance-seconds; for SEV-SNP snp-runtime, snp-trusted-arks, snp-kds, snp-min-tcb. A missing
 * file gives the defaults.
 */
AcPipelineConfig *
ac_pipeline_config_load (const gchar *path, GError **error)
{
	g_autoptr (AcPipelineConfig) c = ac_pipeline_config_new ();
	g_autoptr (GKeyFile) kf = g_key_file_new ();
	g_autoptr (GError) local_error = NULL;
	g_autofree gchar *min_api = NULL;

	if (path == NULL)
		return g_steal_pointer (&c);
	/* the whole file is checked ([daemon] and [localsev] too): a mistake anywhere is refused */
	if (!ac_key_file_load_strict (kf, path, ac_service_config_keys, &local_error)) {
		if (g_error_matches (local_error, AC_ERROR, AC_ERROR_NOT_FOUND))
			return g_steal_pointer (&c);
		g_propagate_error (error, g_steal_pointer (&local_error));
		return NULL;
	}
#define STR(key, field)                                                                            \
	if (g_key_file_has_key (kf, "pipeline", key, NULL)) {                                      \
		g_free (c->field);                                                                 \
		c->field = g_key_file_get_string (kf, "pipeline", key, NULL);                      \
	}
	STR ("state-dir", state_dir);
	STR ("key-file", key_file);
	STR ("key-password-file", key_password_file);
	STR ("channel", channel);
	STR ("crn-list", crn_list_url);
	STR ("secrets-uri", secrets_uri);
	STR ("min-ccn-version", min_ccn_version);
	STR ("snp-runtime", snp_runtime);
	STR ("snp-kds", snp_kds);
	STR ("snp-min-tcb", snp_min_tcb);
#undef STR
	if (c->snp_runtime != NULL && !ac_item_hash_is_valid (c->snp_runtime)) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "%s: [pipeline] snp-runtime='%s': expected the item hash (64 hex "
		             "digits) of the STORE message of an aleph-instance-runtime/1 manifest",
		             path, c->snp_runtime);
		return NULL;
	}
	if (c->snp_min_tcb != NULL) {
		AcSnpTcb floor;
		g_autofree gchar *what = g_strdup_printf ("%s: [pipeline] snp-min-tcb", path);
		if (!ac_snp_verify_policy_parse_tcb (c->snp_min_tcb, what, &floor, error))
			return NULL;
	}
	if (g_key_file_has_key (kf, "pipeline", "snp-trusted-arks", NULL))
		c->snp_trusted_arks
		    = g_key_file_get_string_list (kf, "pipeline", "snp-trusted-arks", NULL, NULL);
	{
		guint v[3];
		if (!ac_version_parse (c->min_ccn_version, v)) {
			g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			             "%s: [pipeline] min-ccn-version='%s': expected "
			             "MAJOR.MINOR[.PATCH] such as %s",
			             path, c->min_ccn_version, AC_PIPELINE_DEFAULT_MIN_CCN_VERSION);
			return NULL;
		}
	}
	if (g_key_file_has_key (kf, "pipeline", "trusted-roots", NULL))
		c->trusted_roots
		    = g_key_file_get_string_list (kf, "pipeline", "trusted-roots", NULL, NULL);
	min_api = g_key_file_get_string (kf, "pipeline", "min-api", NULL);
	if (min_api != NULL) {
		guint maj = 0, min = 0;
		if (sscanf (min_api, "%u.%u", &maj, &min) != 2 || maj > 255 || min > 255) {
			g_set_error (
			    error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			    "%s: [pipeline] min-api='%s': expected MAJOR.MINOR such as 0.17", path,
			    min_api);
			return NULL;
		}
		c->min_api_major = (guint8)maj;
		c->min_api_minor = (guint8)min;
	}
#define UINT(key, field)                                                                           \
	if (!ac_key_file_get_positive (kf, path, ac_service_config_keys, "pipeline", key,          \
	                               &c->field, error))                                          \
		return NULL;
	UINT ("poll-first-ms", poll_first_ms);
	UINT ("poll-max-ms", poll_max_ms);
	UINT ("timeout", timeout_s);
	UINT ("instance-seconds", instance_seconds);
#undef UINT
	return g_steal_pointer (&c);
}
