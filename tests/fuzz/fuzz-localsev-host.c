/*
 * Fuzz target: what a host reports through virNodeGetSEVInfo (pdh, cert-chain, cpu0-id as
 * base64 strings; the host is the adversary) → strict base64 decoding, chain assembly and
 * verification against the built-in AMD roots. Input: the three strings separated by '\n'.
 * Property: a chain is returned exactly when no error is set, and a refusal is UNTRUSTED.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ac-error.h"
#include "ac-localsev-private.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
	static AcLocalsevOptions *opts = NULL;
	g_autofree gchar *text = g_strndup ((const gchar *)data, size);
	g_auto(GStrv) parts = g_strsplit (text, "\n", 3);
	g_autoptr(AcSevHostInfo) info = ac_sev_host_info_new ();
	g_autoptr(AcSevChain) chain = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *sha = NULL;
	guint n = g_strv_length (parts);

	if (opts == NULL) {
		opts = ac_localsev_options_new ("/nonexistent");
		opts->roots = ac_sev_roots_new_builtin ();
	}
	info->pdh = n > 0 ? g_strdup (parts[0]) : NULL;
	info->cert_chain = n > 1 ? g_strdup (parts[1]) : NULL;
	info->cpu0_id = n > 2 ? g_strdup (parts[2]) : NULL;
	chain = ac_localsev_prepare_host_chain ("fuzz", info, opts, &sha, NULL, &error);
	if ((chain == NULL) != (error != NULL))
		abort ();
	if (chain == NULL) {
		if (error->domain != AC_ERROR || error->code != AC_ERROR_UNTRUSTED)
			abort ();
		return 0;
	}
	if (sha == NULL || strlen (sha) != 64)
		abort ();
	(void)ac_sev_chain_verify (chain, opts->roots, NULL, NULL, NULL);
	return 0;
}
