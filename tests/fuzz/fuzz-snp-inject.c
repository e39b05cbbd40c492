/*
 * Fuzz the agent-side parser of an SEV-SNP secret injection request (and the secrets JSON
 * parser): whatever parses renders to canonical JSON that parses back to the same secrets.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <stdint.h>

#include "ac-snp-inject.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static void
roundtrip (AcSnpSecrets *secrets)
{
	g_autoptr (GBytes) canonical = ac_snp_secrets_to_canonical (secrets);
	g_autoptr (AcSnpSecrets) back = ac_snp_secrets_parse_json (
	    g_bytes_get_data (canonical, NULL), g_bytes_get_size (canonical), NULL);
	g_autoptr (GBytes) again = NULL;
	g_assert_nonnull (back);
	again = ac_snp_secrets_to_canonical (back);
	g_assert_true (g_bytes_equal (again, canonical));
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
	g_autoptr (AcSnpSecrets) secrets = NULL;
	g_autoptr (AcSnpSecrets) flat = NULL;
	guint8 sig[AC_SNP_INJECT_SIGNATURE_LEN];
	gchar payload[AC_SNP_INJECT_PAYLOAD_LEN + 1];

	if (ac_snp_inject_body_parse ((const gchar *)data, size, &secrets, sig, NULL)) {
		roundtrip (secrets);
		g_assert_true (ac_snp_inject_payload (data, size, secrets, payload, NULL));
	}
	flat = ac_snp_secrets_parse_json ((const gchar *)data, size, NULL);
	if (flat != NULL)
		roundtrip (flat);
	return 0;
}
