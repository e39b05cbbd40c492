/*
 * Fuzz the SEV certificate parser (2084-byte CEK/OCA/PEK/PDH/GODH) and the chain layouts
 * (`sevctl export` and `export --full`) with verification against the built-in AMD roots.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <stdint.h>

#include "ac-sev-chain.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
	static AcSevRoots *roots = NULL;
	g_autoptr(AcSevCert) cert = NULL;
	g_autoptr(AcSevChain) chain = NULL;

	if (roots == NULL)
		roots = ac_sev_roots_new_builtin ();
	cert = ac_sev_cert_parse (data, size, NULL);
	if (cert != NULL) {
		g_autofree gchar *fp = ac_sev_cert_fingerprint (cert);
		g_assert_nonnull (fp);
		for (guint i = 0; i < 2; i++) {
			(void)ac_sev_cert_slot_is_empty (cert, i);
			(void)ac_sev_cert_get_sig_usage (cert, i);
		}
		if (ac_sev_cert_get_usage (cert) != AC_SEV_USAGE_PDH)
			(void)ac_sev_cert_verify (cert, cert, NULL, NULL);
	}
	chain = ac_sev_chain_parse (data, size, NULL);
	if (chain != NULL) {
		g_autoptr(GBytes) again = ac_sev_chain_to_bytes (chain, ac_sev_chain_get_ark (chain) != NULL);
		g_assert_cmpuint (g_bytes_get_size (again), ==, size);
		(void)ac_sev_chain_verify (chain, roots, NULL, NULL, NULL);
	}
	return 0;
}
