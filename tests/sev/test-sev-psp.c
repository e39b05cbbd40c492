/*
 * The software PSP: the synthetic platform's end-to-end launch (e2e.json), full guest owner ↔
 * PSP round trips for SEV and SEV-ES policies on generated identities (RSA-4096 and Naples-
 * style RSA-2048), trust only through an explicitly given ARK, and every refusal's status code.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <json-glib/json-glib.h>
#include <glib/gstdio.h>
#include <openssl/hmac.h>

#include "ac-error.h"
#include "ac-sev-measure.h"
#include "ac-sev-policy.h"
#include "ac-sev-psp.h"
#include "ac-sev-secret-private.h"
#include "ac-sev-session.h"
#include "test-sev-common.h"
#include "../test-util.h"

static AcSevPsp *psp4096 = NULL;
static AcSevPsp *psp2048 = NULL;

#define assert_status(expr, want)                                                              \
	G_STMT_START                                                                           \
	{                                                                                      \
		AcSevStatus _st = (expr);                                                      \
		if (_st != (want))                                                             \
			g_error ("%s: got %s, expected %s (%s)",                               \
				 #expr,                                                        \
				 ac_sev_status_to_string (_st),                                \
				 ac_sev_status_to_string (want),                               \
				 ac_sev_psp_get_last_message (psp) ? ac_sev_psp_get_last_message (psp) : "-"); \
	}                                                                                      \
	G_STMT_END

static void
test_synthetic_self_test (void)
{
	g_autofree gchar *dir = sev_test_path ("synthetic-platform");
	g_autoptr(GError) error = NULL;
	g_autoptr(AcSevPsp) psp = ac_sev_psp_load (dir, &error);
	g_autoptr(JsonParser) parser = json_parser_new ();
	g_autofree gchar *e2e_path = sev_test_path ("synthetic-platform/e2e.json");
	g_autoptr(GBytes) godh = sev_test_load ("synthetic-platform/godh.cert");
	g_autoptr(GBytes) fw = sev_test_load ("measurement/sevctl_OVMF.amdsev.fd_trimmed.bin");
	g_autoptr(GBytes) v0 = sev_test_load ("measurement/sevctl_vmsa0.bin");
	g_autoptr(GBytes) v1 = sev_test_load ("measurement/sevctl_vmsa1.bin");
	const gchar *launches[] = { "sev", "sev_es" };
	guint8 mnonce[16];

	g_assert_no_error (error);
	g_assert_true (json_parser_load_from_file (parser, e2e_path, NULL));
	for (guint i = 0; i < 16; i++)
		mnonce[i] = 0x40 + i;
	ac_sev_psp_set_firmware (psp, 0, 24, 15);
	for (guint l = 0; l < G_N_ELEMENTS (launches); l++) {
		JsonObject *o = json_object_get_object_member (
		    json_object_get_object_member (json_node_get_object (json_parser_get_root (parser)), "launches"),
		    launches[l]);
		JsonObject *sec = json_object_get_object_member (o, "secret");
		guint32 policy = json_object_get_int_member (o, "policy");
		g_autofree gchar *sess_rel = g_strdup_printf ("synthetic-platform/session_%s.bin", launches[l]);
		g_autofree gchar *hdr_rel = g_strdup_printf ("synthetic-platform/secret_%s_header.bin", launches[l]);
		g_autofree gchar *pay_rel = g_strdup_printf ("synthetic-platform/secret_%s_payload.bin", launches[l]);
		g_autoptr(GBytes) session = sev_test_load (sess_rel);
		g_autoptr(GBytes) hdr = sev_test_load (hdr_rel);
		g_autoptr(GBytes) pay = sev_test_load (pay_rel);
		g_autoptr(GBytes) table = NULL;
		guint32 handle = 0;
		guint8 blob[48];
		guint32 blob_len = sizeof (blob);
		g_autofree gchar *b64 = NULL;
		guint64 fw_gpa = G_GUINT64_CONSTANT (0x100000000) - g_bytes_get_size (fw);

		assert_status (ac_sev_psp_launch_start (psp, &handle, policy, g_bytes_get_data (godh, NULL), 2084,
							g_bytes_get_data (session, NULL), 128),
			       AC_SEV_STATUS_SUCCESS);
		assert_status (ac_sev_psp_launch_update_data (psp, handle, fw_gpa, g_bytes_get_data (fw, NULL),
							      g_bytes_get_size (fw)),
			       AC_SEV_STATUS_SUCCESS);
		if (policy & AC_SEV_POLICY_ES) {
			assert_status (ac_sev_psp_launch_update_vmsa (psp, handle, g_bytes_get_data (v0, NULL), 4096),
				       AC_SEV_STATUS_SUCCESS);
			assert_status (ac_sev_psp_launch_update_vmsa (psp, handle, g_bytes_get_data (v1, NULL), 4096),
				       AC_SEV_STATUS_SUCCESS);
		}
		ac_sev_psp_set_next_mnonce (psp, mnonce);
		assert_status (ac_sev_psp_launch_measure (psp, handle, blob, &blob_len), AC_SEV_STATUS_SUCCESS);
		b64 = g_base64_encode (blob, sizeof (blob));
		g_assert_cmpstr (b64, ==, json_object_get_string_member (o, "launch_measure_blob_b64"));
		assert_status (ac_sev_psp_launch_secret (psp, handle, g_bytes_get_data (hdr, NULL), 52, 0x80c000,
							 g_bytes_get_size (pay), g_bytes_get_data (pay, NULL),
							 g_bytes_get_size (pay)),
			       AC_SEV_STATUS_SUCCESS);
		table = ac_sev_psp_guest_read (psp, handle, 0x80c000, g_bytes_get_size (pay));
		g_assert_nonnull (table);
		sev_assert_hex (g_bytes_get_data (table, NULL), g_bytes_get_size (table),
				json_object_get_string_member (sec, "table_plaintext_hex"));
		assert_status (ac_sev_psp_launch_finish (psp, handle), AC_SEV_STATUS_SUCCESS);
		assert_status (ac_sev_psp_decommission (psp, handle), AC_SEV_STATUS_SUCCESS);
	}
}

static void
check_trust (AcSevPsp *psp, const gchar *gen_name)
{
	g_autoptr(AcSevRoots) amd = ac_sev_roots_new_builtin ();
	g_autoptr(AcSevRoots) mine = ac_sev_roots_new_builtin ();
	g_autoptr(GError) error = NULL;
	g_autoptr(AcSevChainVerdict) v = NULL;
	g_autoptr(GBytes) sev_only = ac_sev_chain_to_bytes (ac_sev_psp_get_chain (psp), FALSE);
	g_autoptr(AcSevChain) exported = NULL;

	/* AMD roots alone refuse it, in both layouts */
	g_assert_false (ac_sev_chain_verify (ac_sev_psp_get_chain (psp), amd, NULL, NULL, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_UNTRUSTED);
	g_clear_error (&error);
	exported = ac_sev_chain_parse (g_bytes_get_data (sev_only, NULL), g_bytes_get_size (sev_only), &error);
	g_assert_no_error (error);
	g_assert_false (ac_sev_chain_verify (exported, amd, NULL, NULL, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_UNTRUSTED);
	g_clear_error (&error);

	/* with its ARK given explicitly it verifies, named as given */
	g_assert_true (ac_sev_roots_add (mine, gen_name, ac_sev_psp_get_ark (psp), ac_sev_psp_get_ask (psp), &error));
	g_assert_true (ac_sev_chain_verify (ac_sev_psp_get_chain (psp), mine, NULL, &v, &error));
	g_assert_no_error (error);
	g_assert_cmpstr (v->generation, ==, gen_name);
	g_clear_pointer (&v, ac_sev_chain_verdict_free);
	g_assert_true (ac_sev_chain_verify (exported, mine, NULL, &v, &error));
	g_assert_cmpstr (v->generation, ==, gen_name);
	g_assert_cmpuint (v->pek_oca_slot, ==, 0);
	g_assert_cmpuint (v->pek_cek_slot, ==, 1);
}

static void
test_trust (void)
{
	check_trust (psp4096, "devnet");
	check_trust (psp2048, "devnet-naples");
}

/* guest owner ↔ PSP: verify chain, session, launch, measure, verify, secret, read back */
static void
round_trip (AcSevPsp *psp, guint32 policy, guint ncpus)
{
	g_autoptr(AcSevRoots) roots = ac_sev_roots_new ();
	g_autoptr(GError) error = NULL;
	g_autoptr(AcSevChain) chain = NULL;
	g_autoptr(AcSevSession) s = NULL;
	g_autoptr(GBytes) fw = sev_test_load ("measurement/ovmf_AmdSev_suffix.bin");
	g_autoptr(GBytes) kernel = g_bytes_new_static ("kernel-image", 12);
	g_autoptr(GBytes) initrd = g_bytes_new_static ("initrd-image", 12);
	g_autoptr(GBytes) table = NULL;
	g_autoptr(GBytes) payload = NULL;
	g_autoptr(GBytes) read = NULL;
	g_autoptr(AcSevSecretTable) parsed = NULL;
	g_autoptr(GBytes) pw = NULL;
	guint8 pdh[2084], certs[6252], blob[48], ld[32], hdr[52];
	guint8 table_hashes[AC_SEV_KERNEL_HASHES_TABLE_SIZE];
	guint32 pdh_len = sizeof (pdh), certs_len = sizeof (certs), blob_len = 48, handle = 0;
	guint8 status[12];
	guint8 maj, min, build;
	AcSevLaunchInputs in = { 0 };
	g_autoptr(AcSevOvmf) ovmf = NULL;
	guint32 hbase = 0, hsize = 0, sbase = 0, ssize = 0, reset = 0;

	/* the guest owner fetches the platform's certificates and verifies them */
	assert_status (ac_sev_psp_pdh_cert_export (psp, pdh, &pdh_len, certs, &certs_len), AC_SEV_STATUS_SUCCESS);
	chain = ac_sev_chain_parse_pdh_export (pdh, pdh_len, certs, certs_len, &error);
	g_assert_no_error (error);
	g_assert_true (ac_sev_roots_add (roots, "devnet", ac_sev_psp_get_ark (psp), ac_sev_psp_get_ask (psp), &error));
	g_assert_true (ac_sev_chain_verify (chain, roots, NULL, NULL, &error));
	g_assert_no_error (error);
	s = ac_sev_session_new (ac_sev_chain_get_pdh (chain), policy, &error);
	g_assert_no_error (error);

	/* the host launches */
	assert_status (ac_sev_psp_launch_start (psp, &handle, policy,
						ac_sev_cert_get_data (ac_sev_session_get_godh_cert (s)), 2084,
						ac_sev_session_get_blob (s), 128),
		       AC_SEV_STATUS_SUCCESS);
	ovmf = ac_sev_ovmf_parse (g_bytes_get_data (fw, NULL), g_bytes_get_size (fw), &error);
	g_assert_no_error (error);
	g_assert_true (ac_sev_ovmf_get_hash_table (ovmf, &hbase, &hsize, NULL));
	g_assert_true (ac_sev_ovmf_get_secret_area (ovmf, &sbase, &ssize, NULL));
	g_assert_true (ac_sev_ovmf_get_es_reset_addr (ovmf, &reset, NULL));
	assert_status (ac_sev_psp_launch_update_data (psp, handle, G_GUINT64_CONSTANT (0x100000000) - 4096,
						      g_bytes_get_data (fw, NULL), 4096),
		       AC_SEV_STATUS_SUCCESS);
	g_assert_true (ac_sev_kernel_hashes_table (g_bytes_get_data (kernel, NULL), 12, g_bytes_get_data (initrd, NULL), 12,
						   "console=ttyS0", table_hashes, NULL));
	assert_status (ac_sev_psp_launch_update_data (psp, handle, hbase, table_hashes, sizeof (table_hashes)),
		       AC_SEV_STATUS_SUCCESS);
	if (policy & AC_SEV_POLICY_ES) {
		guint8 vmsa[4096];
		for (guint c = 0; c < ncpus; c++) {
			ac_sev_vmsa_build (c == 0, reset, ac_sev_cpu_signature (25, 1, 1), AC_SEV_VMSA_LEGACY, vmsa);
			assert_status (ac_sev_psp_launch_update_vmsa (psp, handle, vmsa, 4096), AC_SEV_STATUS_SUCCESS);
		}
	}
	assert_status (ac_sev_psp_launch_measure (psp, handle, blob, &blob_len), AC_SEV_STATUS_SUCCESS);
	assert_status (ac_sev_psp_platform_status (psp, status), AC_SEV_STATUS_SUCCESS);
	maj = status[0];
	min = status[1];
	build = status[7];
	g_assert_cmpuint (status[4] & 1, ==, 1); /* config.ES */

	/* the guest owner recomputes the digest and checks */
	in.policy = policy;
	in.firmware = fw;
	in.kernel = kernel;
	in.initrd = initrd;
	in.cmdline = "console=ttyS0";
	in.num_cpus = ncpus;
	in.cpu_family = 25;
	in.cpu_model = 1;
	in.cpu_stepping = 1;
	g_assert_true (ac_sev_launch_digest (&in, ld, &error));
	g_assert_no_error (error);
	g_assert_true (ac_sev_launch_check_platform (policy, policy, maj, min, 0, 17, &error));
	g_assert_true (ac_sev_measurement_verify (blob, 48, ac_sev_session_get_tik (s), maj, min, build, policy, ld, &error));
	g_assert_no_error (error);
	/* a different cmdline would not verify */
	{
		guint8 ld2[32];
		in.cmdline = "console=ttyS0 init=/bin/sh";
		g_assert_true (ac_sev_launch_digest (&in, ld2, NULL));
		g_assert_false (ac_sev_measurement_verify (blob, 48, ac_sev_session_get_tik (s), maj, min, build, policy, ld2, &error));
		g_assert_error (error, AC_ERROR, AC_ERROR_MISMATCH);
		g_clear_error (&error);
	}

	/* the secret, in Aleph's format */
	table = ac_sev_secret_table_build_aleph_passphrase ("correct horse battery staple", &error);
	g_assert_no_error (error);
	g_assert_true (ac_sev_secret_packet_build (ac_sev_session_get_tek (s), ac_sev_session_get_tik (s), blob, maj, min,
						   NULL, table, hdr, &payload, &error));
	g_assert_no_error (error);
	/* a tampered packet is refused, the right one accepted */
	{
		guint8 bad[52];
		memcpy (bad, hdr, 52);
		bad[30] ^= 1;
		assert_status (ac_sev_psp_launch_secret (psp, handle, bad, 52, sbase, g_bytes_get_size (payload),
							 g_bytes_get_data (payload, NULL), g_bytes_get_size (payload)),
			       AC_SEV_STATUS_BAD_MEASUREMENT);
	}
	assert_status (ac_sev_psp_launch_secret (psp, handle, hdr, 52, sbase, g_bytes_get_size (payload),
						 g_bytes_get_data (payload, NULL), g_bytes_get_size (payload)),
		       AC_SEV_STATUS_SUCCESS);
	read = ac_sev_psp_guest_read (psp, handle, sbase, g_bytes_get_size (table));
	g_assert_nonnull (read);
	g_assert_true (g_bytes_equal (read, table));
	parsed = ac_sev_secret_table_parse (g_bytes_get_data (read, NULL), g_bytes_get_size (read), &error);
	g_assert_no_error (error);
	pw = ac_sev_secret_table_lookup (parsed, "luks-key");
	g_assert_cmpmem (g_bytes_get_data (pw, NULL), g_bytes_get_size (pw), "correct horse battery staple", 29);
	/* ATTESTATION: a PEK-signed report of the same launch digest, for the owner's nonce */
	{
		guint8 report[AC_SEV_ATTESTATION_REPORT_SIZE + 8], nonce[16];
		guint32 rlen = 10;
		EVP_PKEY *pek = ac_sev_cert_get_pubkey (ac_sev_chain_get_pek (chain));
		memset (nonce, 0x5a, sizeof (nonce));
		assert_status (ac_sev_psp_attestation (psp, handle, nonce, report, &rlen), AC_SEV_STATUS_INVALID_LENGTH);
		g_assert_cmpuint (rlen, ==, AC_SEV_ATTESTATION_REPORT_SIZE);
		rlen = sizeof (report);
		assert_status (ac_sev_psp_attestation (psp, handle, nonce, report, &rlen), AC_SEV_STATUS_SUCCESS);
		g_assert_cmpuint (rlen, ==, AC_SEV_ATTESTATION_REPORT_SIZE);
		g_assert_true (ac_sev_attestation_report_verify (report, rlen, pek, nonce, ld, policy, &error));
		g_assert_no_error (error);
		g_assert_false (ac_sev_attestation_report_verify (report, rlen, pek, nonce, ld, policy ^ 2, &error));
		g_assert_error (error, AC_ERROR, AC_ERROR_MISMATCH);
		g_clear_error (&error);
		nonce[0] ^= 1;
		g_assert_false (ac_sev_attestation_report_verify (report, rlen, pek, nonce, ld, policy, &error));
		g_assert_error (error, AC_ERROR, AC_ERROR_MISMATCH);
		g_clear_error (&error);
		report[20] ^= 1; /* inside the signed bytes */
		g_assert_false (ac_sev_attestation_report_verify (report, rlen, pek, nonce, ld, policy, &error));
		g_assert_error (error, AC_ERROR, AC_ERROR_UNTRUSTED);
		g_clear_error (&error);
		/* signed by another key (the CEK) */
		g_assert_false (ac_sev_attestation_report_verify (report, rlen,
								  ac_sev_cert_get_pubkey (ac_sev_chain_get_cek (chain)),
								  nonce, ld, policy, &error));
		g_assert_error (error, AC_ERROR, AC_ERROR_UNTRUSTED);
		g_clear_error (&error);
	}
	assert_status (ac_sev_psp_launch_finish (psp, handle), AC_SEV_STATUS_SUCCESS);
	/* after FINISH no more secrets */
	assert_status (ac_sev_psp_launch_secret (psp, handle, hdr, 52, sbase, g_bytes_get_size (payload),
						 g_bytes_get_data (payload, NULL), g_bytes_get_size (payload)),
		       AC_SEV_STATUS_INVALID_GUEST_STATE);
	assert_status (ac_sev_psp_decommission (psp, handle), AC_SEV_STATUS_SUCCESS);
}

static void
test_round_trips (void)
{
	round_trip (psp4096, 0x1, 0);
	round_trip (psp4096, 0x3, 0);
	round_trip (psp4096, 0x5, 1);
	round_trip (psp4096, 0x7, 4);
	round_trip (psp2048, 0x1, 0);
	round_trip (psp2048, 0x5, 2);
}

static void
test_refusals (void)
{
	AcSevPsp *psp = psp4096;
	g_autoptr(GError) error = NULL;
	AcSevChain *chain = ac_sev_psp_get_chain (psp);
	g_autoptr(AcSevSession) s = ac_sev_session_new (ac_sev_chain_get_pdh (chain), 1, &error);
	g_autoptr(AcSevPsp) other = NULL;
	const guint8 *godh = ac_sev_cert_get_data (ac_sev_session_get_godh_cert (s));
	guint8 blob[128], dh[2084], out[48], pdh[2084], certs[6252];
	guint32 handle = 0, len = 48, pdh_len = 100, certs_len = 6252;
	guint32 policy = 0;
	AcSevGuestState state;

	/* buffers too small: lengths written back */
	assert_status (ac_sev_psp_pdh_cert_export (psp, pdh, &pdh_len, certs, &certs_len), AC_SEV_STATUS_INVALID_LENGTH);
	g_assert_cmpuint (pdh_len, ==, 2084);
	g_assert_cmpuint (certs_len, ==, 6252);

	/* the policy MAC binds the policy */
	assert_status (ac_sev_psp_launch_start (psp, &handle, 3, godh, 2084, ac_sev_session_get_blob (s), 128),
		       AC_SEV_STATUS_POLICY_FAILURE);
	/* wrap MAC */
	memcpy (blob, ac_sev_session_get_blob (s), 128);
	blob[0x15] ^= 1;
	assert_status (ac_sev_psp_launch_start (psp, &handle, 1, godh, 2084, blob, 128), AC_SEV_STATUS_BAD_SIGNATURE);
	/* a nonce change changes the keys */
	memcpy (blob, ac_sev_session_get_blob (s), 128);
	blob[0] ^= 1;
	assert_status (ac_sev_psp_launch_start (psp, &handle, 1, godh, 2084, blob, 128), AC_SEV_STATUS_BAD_SIGNATURE);
	/* GODH on another curve / off the curve */
	memcpy (dh, godh, 2084);
	dh[0x10] = 1;
	assert_status (ac_sev_psp_launch_start (psp, &handle, 1, dh, 2084, ac_sev_session_get_blob (s), 128),
		       AC_SEV_STATUS_INVALID_CERTIFICATE);
	memcpy (dh, godh, 2084);
	dh[0x14] ^= 1;
	assert_status (ac_sev_psp_launch_start (psp, &handle, 1, dh, 2084, ac_sev_session_get_blob (s), 128),
		       AC_SEV_STATUS_INVALID_CERTIFICATE);
	/* lengths */
	assert_status (ac_sev_psp_launch_start (psp, &handle, 1, godh, 2083, ac_sev_session_get_blob (s), 128),
		       AC_SEV_STATUS_INVALID_LENGTH);
	assert_status (ac_sev_psp_launch_start (psp, &handle, 1, godh, 2084, ac_sev_session_get_blob (s), 127),
		       AC_SEV_STATUS_INVALID_LENGTH);
	/* reserved bits, API minimum above the firmware's */
	assert_status (ac_sev_psp_launch_start (psp, &handle, 0x41, NULL, 0, NULL, 0), AC_SEV_STATUS_POLICY_FAILURE);
	assert_status (ac_sev_psp_launch_start (psp, &handle, 0x01 | (0x63u << 16), NULL, 0, NULL, 0),
		       AC_SEV_STATUS_POLICY_FAILURE);
	/* a session made for another platform's PDH */
	other = ac_sev_psp_new (2048, &error);
	g_assert_no_error (error);
	{
		AcSevPsp *save = psp;
		psp = other;
		assert_status (ac_sev_psp_launch_start (psp, &handle, 1, godh, 2084, ac_sev_session_get_blob (s), 128),
			       AC_SEV_STATUS_BAD_SIGNATURE);
		/* SEV-ES policy on a platform initialized without ES */
		ac_sev_psp_set_es (psp, FALSE);
		assert_status (ac_sev_psp_launch_start (psp, &handle, 5, NULL, 0, NULL, 0), AC_SEV_STATUS_POLICY_FAILURE);
		psp = save;
	}
	/* guest state machine, on an unattested launch */
	handle = 0;
	assert_status (ac_sev_psp_launch_start (psp, &handle, 1, NULL, 0, NULL, 0), AC_SEV_STATUS_SUCCESS);
	g_assert_cmpuint (handle, !=, 0);
	assert_status (ac_sev_psp_guest_status (psp, handle, &policy, &state), AC_SEV_STATUS_SUCCESS);
	g_assert_cmpuint (state, ==, AC_SEV_GUEST_STATE_LUPDATE);
	g_assert_cmpuint (policy, ==, 1);
	{
		guint8 page[4096] = { 0 };
		assert_status (ac_sev_psp_launch_update_vmsa (psp, handle, page, 4096), AC_SEV_STATUS_POLICY_FAILURE);
		assert_status (ac_sev_psp_launch_update_data (psp, handle, 0x1000, page, 15), AC_SEV_STATUS_INVALID_LENGTH);
		assert_status (ac_sev_psp_launch_update_data (psp, handle, 0x1001, page, 16), AC_SEV_STATUS_INVALID_ADDRESS);
		assert_status (ac_sev_psp_launch_update_data (psp, handle, G_GUINT64_CONSTANT (0xfffffff0), page, 32),
			       AC_SEV_STATUS_INVALID_ADDRESS);
		assert_status (ac_sev_psp_launch_secret (psp, handle, page, 52, 0x1000, 16, page, 16),
			       AC_SEV_STATUS_INVALID_GUEST_STATE);
		assert_status (ac_sev_psp_launch_finish (psp, handle), AC_SEV_STATUS_INVALID_GUEST_STATE);
	}
	len = 47;
	assert_status (ac_sev_psp_launch_measure (psp, handle, out, &len), AC_SEV_STATUS_INVALID_LENGTH);
	g_assert_cmpuint (len, ==, 48);
	{
		guint8 report[AC_SEV_ATTESTATION_REPORT_SIZE], nonce[16] = { 0 };
		guint32 rlen = sizeof (report);
		assert_status (ac_sev_psp_attestation (psp, handle, nonce, report, &rlen), AC_SEV_STATUS_INVALID_GUEST_STATE);
	}
	assert_status (ac_sev_psp_launch_measure (psp, handle, out, &len), AC_SEV_STATUS_SUCCESS);
	assert_status (ac_sev_psp_launch_measure (psp, handle, out, &len), AC_SEV_STATUS_INVALID_GUEST_STATE);
	{
		guint8 hdr[52] = { 0 };
		guint8 pay[32] = { 0 };
		assert_status (ac_sev_psp_launch_secret (psp, handle, hdr, 51, 0x1000, 32, pay, 32), AC_SEV_STATUS_INVALID_LENGTH);
		assert_status (ac_sev_psp_launch_secret (psp, handle, hdr, 52, 0x1000, 16, pay, 32), AC_SEV_STATUS_INVALID_LENGTH);
		assert_status (ac_sev_psp_launch_secret (psp, handle, hdr, 52, 0x1000, 30, pay, 30), AC_SEV_STATUS_INVALID_LENGTH);
		assert_status (ac_sev_psp_launch_secret (psp, handle, hdr, 52, 0x1008, 32, pay, 32), AC_SEV_STATUS_INVALID_ADDRESS);
		hdr[0] = 1;
		assert_status (ac_sev_psp_launch_secret (psp, handle, hdr, 52, 0x1000, 32, pay, 32), AC_SEV_STATUS_UNSUPPORTED);
		hdr[0] = 2;
		assert_status (ac_sev_psp_launch_secret (psp, handle, hdr, 52, 0x1000, 32, pay, 32), AC_SEV_STATUS_INVALID_PARAM);
		hdr[0] = 0;
		assert_status (ac_sev_psp_launch_secret (psp, handle, hdr, 52, 0x1000, 32, pay, 32), AC_SEV_STATUS_BAD_MEASUREMENT);
	}
	assert_status (ac_sev_psp_launch_finish (psp, handle), AC_SEV_STATUS_SUCCESS);
	assert_status (ac_sev_psp_decommission (psp, handle), AC_SEV_STATUS_SUCCESS);
	assert_status (ac_sev_psp_decommission (psp, handle), AC_SEV_STATUS_INVALID_GUEST);
	assert_status (ac_sev_psp_launch_measure (psp, 9999, out, &len), AC_SEV_STATUS_INVALID_GUEST);
}

/* API < 0.17: measurement and secret MAC without the 0x04/major/minor/build prefix and MEASURE */
static void
test_legacy_firmware (void)
{
	AcSevPsp *psp = psp2048;
	g_autoptr(GError) error = NULL;
	g_autoptr(AcSevSession) s = ac_sev_session_new (ac_sev_chain_get_pdh (ac_sev_psp_get_chain (psp)), 1, &error);
	g_autoptr(GBytes) fw = sev_test_load ("measurement/sevctl_OVMF.amdsev.fd_trimmed.bin");
	g_autoptr(GBytes) table = ac_sev_secret_table_build_aleph_passphrase ("legacy", NULL);
	g_autoptr(GBytes) p_new = NULL;
	g_autoptr(GBytes) p_old = NULL;
	guint8 blob[48], ld[32], msg[52], mac[32], h_new[52], h_old[52];
	guint32 handle = 0, len = 48;
	unsigned int mlen = 32;
	gsize ldlen = 32;
	g_autoptr(GChecksum) c = g_checksum_new (G_CHECKSUM_SHA256);

	ac_sev_psp_set_firmware (psp, 0, 16, 3);
	assert_status (ac_sev_psp_launch_start (psp, &handle, 1, ac_sev_cert_get_data (ac_sev_session_get_godh_cert (s)), 2084,
						ac_sev_session_get_blob (s), 128), AC_SEV_STATUS_SUCCESS);
	assert_status (ac_sev_psp_launch_update_data (psp, handle, 0xfffff000, g_bytes_get_data (fw, NULL), 4096),
		       AC_SEV_STATUS_SUCCESS);
	assert_status (ac_sev_psp_launch_measure (psp, handle, blob, &len), AC_SEV_STATUS_SUCCESS);
	/* HMAC(TIK, LE32(policy) ‖ LD ‖ MNONCE), computed here with plain HMAC */
	g_checksum_update (c, g_bytes_get_data (fw, NULL), 4096);
	g_checksum_get_digest (c, ld, &ldlen);
	msg[0] = 1;
	msg[1] = msg[2] = msg[3] = 0;
	memcpy (msg + 4, ld, 32);
	memcpy (msg + 36, blob + 32, 16);
	g_assert_nonnull (HMAC (EVP_sha256 (), ac_sev_session_get_tik (s), 16, msg, sizeof (msg), mac, &mlen));
	g_assert_cmpmem (mac, 32, blob, 32);
	g_assert_true (ac_sev_measurement_verify (blob, 48, ac_sev_session_get_tik (s), 0, 16, 3, 1, ld, &error));
	g_assert_no_error (error);
	/* the modern secret MAC form is refused by legacy firmware, the legacy one accepted */
	g_assert_true (ac_sev_secret_packet_build (ac_sev_session_get_tek (s), ac_sev_session_get_tik (s), blob, 0, 17,
						   NULL, table, h_new, &p_new, NULL));
	g_assert_true (ac_sev_secret_packet_build (ac_sev_session_get_tek (s), ac_sev_session_get_tik (s), blob, 0, 16,
						   NULL, table, h_old, &p_old, NULL));
	assert_status (ac_sev_psp_launch_secret (psp, handle, h_new, 52, 0x80c000, g_bytes_get_size (p_new),
						 g_bytes_get_data (p_new, NULL), g_bytes_get_size (p_new)),
		       AC_SEV_STATUS_BAD_MEASUREMENT);
	assert_status (ac_sev_psp_launch_secret (psp, handle, h_old, 52, 0x80c000, g_bytes_get_size (p_old),
						 g_bytes_get_data (p_old, NULL), g_bytes_get_size (p_old)),
		       AC_SEV_STATUS_SUCCESS);
	assert_status (ac_sev_psp_decommission (psp, handle), AC_SEV_STATUS_SUCCESS);
	ac_sev_psp_set_firmware (psp, 0, 24, 15);
}

static GBytes *
fake_kds (const gchar *url, gpointer user_data, GCancellable *cancellable, GError **error)
{
	AcSevPsp *psp = user_data;
	guint8 id[64];
	guint32 len = sizeof (id);
	g_autofree gchar *want = NULL;
	g_assert_cmpint (ac_sev_psp_get_id (psp, id, &len), ==, AC_SEV_STATUS_SUCCESS);
	want = ac_sev_kds_cek_url (id, len);
	if (g_strcmp0 (url, want) != 0) {
		g_set_error (error, AC_ERROR, AC_ERROR_REMOTE, "404 for %s", url);
		return NULL;
	}
	return ac_sev_cert_to_bytes (ac_sev_chain_get_cek (ac_sev_psp_get_chain (psp)));
}

/* firmware-like export: unsigned CEK; the chain verifies only after the KDS CEK is put in */
static void
test_unsigned_cek_and_kds (void)
{
	AcSevPsp *psp = psp4096;
	g_autoptr(GError) error = NULL;
	g_autoptr(AcSevRoots) roots = ac_sev_roots_new ();
	g_autoptr(AcSevChain) chain = NULL;
	g_autoptr(AcSevCert) cek = NULL;
	g_autofree gchar *cache = g_dir_make_tmp ("ac-sev-kds-XXXXXX", NULL);
	guint8 pdh[2084], certs[6252], id[64];
	guint32 pdh_len = sizeof (pdh), certs_len = sizeof (certs), id_len = sizeof (id);

	ac_sev_psp_set_export_unsigned_cek (psp, TRUE);
	assert_status (ac_sev_psp_pdh_cert_export (psp, pdh, &pdh_len, certs, &certs_len), AC_SEV_STATUS_SUCCESS);
	ac_sev_psp_set_export_unsigned_cek (psp, FALSE);
	chain = ac_sev_chain_parse_pdh_export (pdh, pdh_len, certs, certs_len, &error);
	g_assert_no_error (error);
	g_assert_true (ac_sev_cert_slot_is_empty (ac_sev_chain_get_cek (chain), 0));
	g_assert_true (ac_sev_roots_add (roots, "devnet", ac_sev_psp_get_ark (psp), ac_sev_psp_get_ask (psp), &error));
	g_assert_false (ac_sev_chain_verify (chain, roots, NULL, NULL, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_UNTRUSTED);
	g_assert_nonnull (strstr (error->message, "CEK ← ASK"));
	g_clear_error (&error);
	assert_status (ac_sev_psp_get_id (psp, id, &id_len), AC_SEV_STATUS_SUCCESS);
	cek = ac_sev_kds_get_cek (id, id_len, cache, fake_kds, psp, NULL, &error);
	g_assert_no_error (error);
	ac_sev_chain_set_cek (chain, cek);
	g_assert_true (ac_sev_chain_verify (chain, roots, NULL, NULL, &error));
	g_assert_no_error (error);
	test_util_rm_rf (cache);
}

static void
test_save_load (void)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *tmp = g_dir_make_tmp ("ac-sev-psp-XXXXXX", NULL);
	g_autofree gchar *dir = g_build_filename (tmp, "identity", NULL);
	g_autoptr(AcSevPsp) loaded = NULL;
	g_autoptr(GBytes) a = ac_sev_chain_to_bytes (ac_sev_psp_get_chain (psp2048), TRUE);
	g_autoptr(GBytes) b = NULL;
	guint8 id1[64], id2[64];
	guint32 l1 = 64, l2 = 64;

	g_assert_true (ac_sev_psp_save (psp2048, dir, &error));
	g_assert_no_error (error);
	loaded = ac_sev_psp_load (dir, &error);
	g_assert_no_error (error);
	b = ac_sev_chain_to_bytes (ac_sev_psp_get_chain (loaded), TRUE);
	g_assert_true (g_bytes_equal (a, b));
	g_assert_cmpint (ac_sev_psp_get_id (psp2048, id1, &l1), ==, 0);
	g_assert_cmpint (ac_sev_psp_get_id (loaded, id2, &l2), ==, 0);
	g_assert_cmpmem (id1, 64, id2, 64);
	/* a key that does not match its certificate is refused */
	{
		g_autofree gchar *src = g_build_filename (dir, "oca_key.pem", NULL);
		g_autofree gchar *dst = g_build_filename (dir, "pek_key.pem", NULL);
		g_autofree gchar *buf = NULL;
		g_autoptr(AcSevPsp) bad = NULL;
		g_assert_true (g_file_get_contents (src, &buf, NULL, NULL));
		g_assert_true (g_file_set_contents (dst, buf, -1, NULL));
		bad = ac_sev_psp_load (dir, &error);
		g_assert_null (bad);
		g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
	}
	test_util_rm_rf (tmp);
}

/* the private key files are read bounded: up to AC_SEV_KEY_FILE_MAX bytes; above, an error
 * naming the file and the limit; missing, not-found */
static void
test_key_files_bounded (void)
{
	g_autoptr (GError) error = NULL;
	g_autofree gchar *tmp = g_dir_make_tmp ("ac-sev-psp-XXXXXX", NULL);
	g_autofree gchar *dir = g_build_filename (tmp, "identity", NULL);
	g_autofree gchar *ark_key = g_build_filename (dir, "ark_key.pem", NULL);
	g_autofree gchar *limit = g_strdup_printf ("%u", AC_SEV_KEY_FILE_MAX);
	g_autofree gchar *pem = NULL;
	g_autoptr (AcSevPsp) loaded = NULL;

	g_assert_true (ac_sev_psp_save (psp2048, dir, &error));
	g_assert_no_error (error);
	g_assert_true (g_file_get_contents (ark_key, &pem, NULL, NULL));

	test_util_write_padded (ark_key, pem, AC_SEV_KEY_FILE_MAX);
	loaded = ac_sev_psp_load (dir, &error);
	g_assert_no_error (error);
	g_assert_nonnull (loaded);
	g_clear_pointer (&loaded, ac_sev_psp_free);

	test_util_write_padded (ark_key, pem, AC_SEV_KEY_FILE_MAX + 1);
	loaded = ac_sev_psp_load (dir, &error);
	g_assert_null (loaded);
	g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
	g_assert_true (g_str_has_prefix (error->message, "software PSP key: "));
	g_assert_nonnull (strstr (error->message, ark_key));
	g_assert_nonnull (strstr (error->message, "too large"));
	g_assert_nonnull (strstr (error->message, limit));
	g_clear_error (&error);

	g_assert_cmpint (g_unlink (ark_key), ==, 0);
	loaded = ac_sev_psp_load (dir, &error);
	g_assert_null (loaded);
	g_assert_error (error, AC_ERROR, AC_ERROR_NOT_FOUND);
	g_assert_nonnull (strstr (error->message, "is missing"));
	test_util_rm_rf (tmp);
}

int
main (int argc, char **argv)
{
	g_autoptr(GError) error = NULL;
	int rc;
	g_test_init (&argc, &argv, NULL);
	psp4096 = ac_sev_psp_new (4096, &error);
	g_assert_no_error (error);
	psp2048 = ac_sev_psp_new (2048, &error);
	g_assert_no_error (error);
	g_test_add_func ("/sev/psp/synthetic-self-test", test_synthetic_self_test);
	g_test_add_func ("/sev/psp/trust", test_trust);
	g_test_add_func ("/sev/psp/round-trips", test_round_trips);
	g_test_add_func ("/sev/psp/refusals", test_refusals);
	g_test_add_func ("/sev/psp/legacy-firmware", test_legacy_firmware);
	g_test_add_func ("/sev/psp/unsigned-cek-and-kds", test_unsigned_cek_and_kds);
	g_test_add_func ("/sev/psp/save-load", test_save_load);
	g_test_add_func ("/sev/psp/key-files-bounded", test_key_files_bounded);
	rc = g_test_run ();
	ac_sev_psp_free (psp4096);
	ac_sev_psp_free (psp2048);
	return rc;
}
