/*
 * Fuzz the AMD certificate parser (ARK/ASK, RSA-2048/4096), its self-signature check and the
 * PDH_CERT_EXPORT split.
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
	gsize used = 0;
	g_autoptr(AcAmdCert) first = ac_amd_cert_parse (data, size, &used, NULL);
	if (first != NULL) {
		g_autoptr(AcAmdCert) second = NULL;
		g_autofree gchar *fp = ac_amd_cert_fingerprint (first);
		g_autofree gchar *id = ac_amd_cert_get_key_id_hex (first);
		g_assert_true (fp != NULL && id != NULL);
		g_assert_cmpuint (used, <=, size);
		(void)ac_amd_cert_verify (first, first, NULL);
		/* AMD's download layout: ASK ‖ ARK */
		second = ac_amd_cert_parse (data + used, size - used, NULL, NULL);
		if (second != NULL) {
			g_autoptr(AcSevRoots) roots = ac_sev_roots_new ();
			(void)ac_amd_cert_verify (first, second, NULL);
			(void)ac_sev_roots_add (roots, "fuzz", second, first, NULL);
		}
	}
	if (size >= 2084) {
		g_autoptr(AcSevChain) chain =
		    ac_sev_chain_parse_pdh_export (data, 2084, data + 2084, size - 2084, NULL);
		(void)chain;
	}
	return 0;
}
