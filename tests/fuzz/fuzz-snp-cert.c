/*
 * Fuzz the SEV-SNP certificate parsers: one or several X.509 certificates (PEM or DER) with the
 * AMD KDS extensions of a VCEK/VLEK decoded, chain verification against the built-in AMD roots,
 * and the ARK's CRL.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <stdint.h>

#include "ac-snp-chain.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
	static AcSnpRoots *roots = NULL;
	static AcSnpCert *milan_ark = NULL;
	static GDateTime *at = NULL;
	g_autoptr(GPtrArray) certs = NULL;
	g_autoptr(AcSnpCrl) crl = NULL;

	if (roots == NULL) {
		roots = ac_snp_roots_new_builtin ();
		milan_ark = ac_snp_builtin_get_ark (AC_SNP_PRODUCT_MILAN, NULL);
		at = g_date_time_new_utc (2024, 6, 1, 0, 0, 0);
	}
	certs = ac_snp_cert_parse_all (data, size, "fuzz", NULL);
	if (certs != NULL) {
		AcSnpCert *leaf = NULL, *mid = NULL, *ark = NULL;
		for (guint i = 0; i < certs->len; i++) {
			AcSnpCert *c = g_ptr_array_index (certs, i);
			const AcSnpKdsExtensions *kds = ac_snp_cert_get_kds (c);
			g_autofree gchar *spki = ac_snp_cert_spki_sha384 (c);
			g_autofree gchar *serial = ac_snp_cert_get_serial_hex (c);
			g_autoptr(GBytes) der = ac_snp_cert_get_der (c);
			g_assert_nonnull (ac_snp_cert_get_common_name (c));
			(void)ac_snp_cert_get_not_after (c);
			switch (ac_snp_cert_get_role (c)) {
			case AC_SNP_CERT_VCEK:
			case AC_SNP_CERT_VLEK:
				g_assert_nonnull (kds);
				g_assert_nonnull (kds->product_name);
				g_assert_cmpuint (kds->hwid_len, <=, 64);
				leaf = c;
				break;
			case AC_SNP_CERT_ASK:
			case AC_SNP_CERT_ASVK:
				g_assert_null (kds);
				mid = c;
				break;
			case AC_SNP_CERT_ARK:
				ark = c;
				break;
			default:
				break;
			}
		}
		if (leaf != NULL) {
			guint8 chip[64] = { 0 };
			AcSnpChainExpect expect = { .chip_id = chip,
				                    .chip_id_len = 64,
				                    .has_tcb_raw = TRUE,
				                    .tcb_raw = 0 };
			(void)ac_snp_chain_verify (roots, leaf, mid, ark, NULL, at, NULL, NULL,
			                           NULL);
			(void)ac_snp_chain_verify (roots, leaf, mid, ark, &expect, at, NULL, NULL,
			                           NULL);
		}
	}
	crl = ac_snp_crl_parse (data, size, "fuzz", NULL);
	if (crl != NULL && milan_ark != NULL) {
		(void)ac_snp_crl_verify (crl, milan_ark, at, NULL);
		(void)ac_snp_crl_check (crl, milan_ark, NULL);
	}
	return 0;
}
