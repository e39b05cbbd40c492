/*
 * Fuzz the SEV-SNP attestation report parser (and what reads a parsed report: renderings, TCB
 * decoding, the verifier's policy, the signature check, the builder), and the guest policy and
 * TCB text parsers on the same bytes.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include <json-glib/json-glib.h>
#include <openssl/ec.h>

#include "ac-snp-policy.h"
#include "ac-snp-report.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static void
fuzz_report (const uint8_t *data, size_t size)
{
	static EVP_PKEY *key = NULL;
	AcSnpReport r, again;
	AcSnpVerifyPolicy p;

	if (!ac_snp_report_parse (data, size, &r, NULL))
		return;
	g_assert_cmpuint (size, ==, AC_SNP_REPORT_SIZE);
	if (key == NULL)
		key = EVP_EC_gen ("secp384r1");
	for (guint prod = AC_SNP_PRODUCT_UNKNOWN; prod <= AC_SNP_PRODUCT_TURIN; prod++) {
		g_autofree gchar *json = ac_snp_report_to_json (&r, (AcSnpProduct)prod);
		g_autofree gchar *text = ac_snp_report_to_text (&r, (AcSnpProduct)prod);
		g_autoptr (JsonNode) node = json_from_string (json, NULL);
		/* the JSON rendering is always valid JSON */
		g_assert_nonnull (node);
		g_assert_nonnull (text);
		for (guint k = 0; k < AC_SNP_TCB_N_KINDS; k++) {
			AcSnpTcb tcb;
			(void)ac_snp_report_get_tcb (&r, (AcSnpTcbKind)k, (AcSnpProduct)prod, &tcb,
			                             NULL);
		}
		ac_snp_verify_policy_init (&p);
		p.product = (AcSnpProduct)prod;
		(void)ac_snp_verify_policy_check (&p, &r, NULL);
	}
	/* a random key never verifies a parsed report */
	g_assert_false (ac_snp_report_verify_signature (&r, key, NULL));
	/* what parses, builds back to the same signed bytes */
	again = r;
	g_assert_true (ac_snp_report_build (&again, NULL));
	g_assert_cmpmem (again.raw, AC_SNP_REPORT_SIGNED_SIZE, data, AC_SNP_REPORT_SIGNED_SIZE);
}

static void
fuzz_text (const uint8_t *data, size_t size)
{
	g_autofree gchar *text = g_strndup ((const gchar *)data, MIN (size, 256));
	guint64 policy = 0, back = 0;
	AcSnpTcb tcb;

	if (ac_snp_policy_parse (text, &policy, NULL)) {
		g_autofree gchar *names = ac_snp_policy_to_names (policy);
		g_autofree gchar *explain = ac_snp_policy_explain (policy);
		g_assert_true (ac_snp_policy_parse (names, &back, NULL));
		g_assert_cmpuint (back, ==, policy);
		g_assert_nonnull (explain);
	}
	(void)ac_snp_verify_policy_parse_tcb (text, "fuzz", &tcb, NULL);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
	fuzz_report (data, size);
	fuzz_text (data, size);
	return 0;
}
