/*
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "ac-localsev.h"
#include "ac-localsev-private.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ac-error.h"
#include "ac-localsev-store.h"

/* ------------------------------------------------------------------------------------------ */
/* options                                                                                    */

AcLocalsevOptions *
ac_localsev_options_new (const gchar *state_dir)
{
	AcLocalsevOptions *opts = g_new0 (AcLocalsevOptions, 1);
	opts->state_dir = g_strdup (state_dir != NULL ? state_dir : AC_STATEDIR);
	opts->min_api_major = AC_LOCALSEV_DEFAULT_MIN_API_MAJOR;
	opts->min_api_minor = AC_LOCALSEV_DEFAULT_MIN_API_MINOR;
	/* EPYC (23, 1, 2): QEMU's default model for SEV-ES guests in libvirt's examples */
	opts->cpu_family = 23;
	opts->cpu_model = 1;
	opts->cpu_stepping = 2;
	opts->vmsa_variant = AC_SEV_VMSA_LEGACY;
	opts->lifetime_s = AC_LOCALSEV_DEFAULT_LIFETIME_S;
	return opts;
}

void
ac_localsev_options_free (AcLocalsevOptions *opts)
{
	if (opts == NULL)
		return;
	g_free (opts->state_dir);
	if (opts->roots != NULL)
		ac_sev_roots_unref (opts->roots);
	g_free (opts->generation);
	g_free (opts->kds_cache_dir);
	g_free (opts->snp_runtime);
	g_free (opts->snp_owner);
	g_free (opts->snp_agent_host);
	if (opts->snp_roots != NULL)
		ac_snp_roots_unref (opts->snp_roots);
	if (opts->sign_data_free != NULL)
		opts->sign_data_free (opts->sign_data);
	g_free (opts);
}

/**
 * ac_localsev_forget:
 *
 * Erases what the flow keeps for a domain (session keys are overwritten before removal).
 */
gboolean
ac_localsev_forget (const gchar *state_dir, const gchar *uuid, GError **error)
{
	g_autofree gchar *dir = ac_localsev_store_domain_dir_full (state_dir, uuid, FALSE, error);
	g_autoptr (GDir) d = NULL;
	g_autoptr (GError) error_local = NULL;
	const gchar *entry;

	if (dir == NULL)
		return FALSE;
	d = g_dir_open (dir, 0, &error_local);
	if (d == NULL) {
		g_set_error (error, AC_ERROR, AC_ERROR_IO, "%s", error_local->message);
		return FALSE;
	}
	while ((entry = g_dir_read_name (d)) != NULL) {
		g_autofree gchar *path = g_build_filename (dir, entry, NULL);
		if (!ac_localsev_store_shred (path, error))
			return FALSE;
	}
	if (rmdir (dir) != 0) {
		g_set_error (error, AC_ERROR, AC_ERROR_IO, "cannot remove %s: %s", dir,
		             g_strerror (errno));
		return FALSE;
	}
	return TRUE;
}
