/*
 * Fuzz what the platform parses at LAUNCH_START (the GODH certificate and the 128-byte session
 * blob, through the software PSP), and the OVMF footer table the guest owner reads from a
 * firmware image, and ATTESTATION reports. Input: LE32 policy ‖ GODH (2084) ‖ session (128), or any bytes as firmware.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "ac-sev-measure.h"
#include "ac-sev-psp.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
	static AcSevPsp *psp = NULL;
	g_autoptr(AcSevOvmf) ovmf = NULL;

	if (psp == NULL) {
		psp = ac_sev_psp_new (2048, NULL);
		g_assert_nonnull (psp);
	}
	if (size >= 4) {
		guint32 policy = data[0] | data[1] << 8 | (guint32)data[2] << 16 | (guint32)data[3] << 24;
		gsize rest = size - 4;
		guint32 dh_len = rest >= 2084 ? 2084 : (guint32)rest;
		guint32 s_len = rest > 2084 ? (guint32)MIN (rest - 2084, 256) : 0;
		guint32 handle = 0;
		AcSevStatus st = ac_sev_psp_launch_start (psp, &handle, policy, data + 4, dh_len,
							  data + 4 + dh_len, s_len);
		if (st == AC_SEV_STATUS_SUCCESS) {
			guint8 out[48];
			guint32 len = sizeof (out);
			g_assert_cmpint (ac_sev_psp_launch_measure (psp, handle, out, &len), ==, 0);
			g_assert_cmpint (ac_sev_psp_decommission (psp, handle), ==, 0);
		}
	}
	/* an ATTESTATION report from the platform */
	{
		static const guint8 zero[32] = { 0 };
		(void)ac_sev_attestation_report_verify (
		    data, size, ac_sev_cert_get_pubkey (ac_sev_chain_get_pek (ac_sev_psp_get_chain (psp))),
		    zero, zero, 0, NULL);
	}
	ovmf = ac_sev_ovmf_parse (data, size, NULL);
	if (ovmf != NULL) {
		guint32 a = 0, b = 0;
		(void)ac_sev_ovmf_get_es_reset_addr (ovmf, &a, NULL);
		(void)ac_sev_ovmf_get_hash_table (ovmf, &a, &b, NULL);
		(void)ac_sev_ovmf_get_secret_area (ovmf, &a, &b, NULL);
	}
	return 0;
}
