/*
 * Fuzz the parser of an Aleph agent's attested-TLS certificate (DER, the report extension and
 * its JSON), and the bindings of whatever key it yields.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "ac-snp-ratls.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
	g_autoptr (AcSnpRatlsCert) cert = ac_snp_ratls_cert_parse (data, size, NULL);
	guint8 out[AC_SNP_REPORT_DATA_SIZE];

	if (cert != NULL) {
		AcSnpReport report;
		g_assert_true (
		    ac_snp_ratls_key_binding (cert->pk_raw, sizeof cert->pk_raw, out, NULL));
		g_assert_true (memcmp (out, cert->key_binding, sizeof out) == 0);
		g_assert_cmpuint (g_bytes_get_size (cert->spki_der), >, AC_SNP_RATLS_PK_RAW_SIZE);
		(void)ac_snp_report_parse (cert->report, sizeof cert->report, &report, NULL);
	}
	if (size >= AC_SNP_RATLS_PK_RAW_SIZE)
		(void)ac_snp_ratls_fresh_binding (data, AC_SNP_RATLS_PK_RAW_SIZE,
		                                  data + AC_SNP_RATLS_PK_RAW_SIZE,
		                                  size - AC_SNP_RATLS_PK_RAW_SIZE, out, NULL);
	return 0;
}
