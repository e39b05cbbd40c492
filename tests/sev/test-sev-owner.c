/*
 * The owner-side launch (ac-sev-owner.h): only a verified launch seals, by the API and not by
 * convention; a wrong measurement, a policy that is not the launch's, an old firmware and an
 * untrusted chain each get their documented class (docs/exit-codes.md); a sealed secret is
 * accepted by the software PSP, from a fresh session and from one resumed from its files; and
 * the seal reproduces virt-qemu-sev-validate's packet for a launch it verified.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <glib/gstdio.h>

#include "ac-error.h"
#include "ac-sev-owner.h"
#include "ac-sev-policy.h"
#include "ac-sev-psp.h"
#include "ac-sev-secret.h"
#include "ac-sev-session.h"
#include "test-sev-common.h"

#define PASSPHRASE "correct horse battery staple"

static AcSevPsp *psp = NULL;

/* a launch on the software PSP, as a host runs it for the owner's session */
typedef struct {
	guint32 handle;
	guint8 blob[48];
	AcSevOwnerEvidence ev;
	GBytes *fw;
	AcSevLaunchInputs expected;
	guint32 secret_base;
} Launch;

static void
launch_clear (Launch *l)
{
	g_clear_pointer (&l->fw, g_bytes_unref);
}

static AcSevChain *
psp_chain (AcSevRoots **roots)
{
	g_autoptr (GError) error = NULL;
	guint8 pdh[2084], certs[6252];
	guint32 pdh_len = sizeof (pdh), certs_len = sizeof (certs);
	AcSevChain *chain;

	g_assert_cmpint (ac_sev_psp_pdh_cert_export (psp, pdh, &pdh_len, certs, &certs_len), ==,
	                 AC_SEV_STATUS_SUCCESS);
	chain = ac_sev_chain_parse_pdh_export (pdh, pdh_len, certs, certs_len, &error);
	g_assert_no_error (error);
	*roots = ac_sev_roots_new ();
	g_assert_true (ac_sev_roots_add (*roots, "devnet", ac_sev_psp_get_ark (psp),
	                                 ac_sev_psp_get_ask (psp), &error));
	g_assert_no_error (error);
	return chain;
}

/* an owner launch with a fresh session for a verified chain */
static AcSevOwnerLaunch *
owner_new (guint32 policy)
{
	g_autoptr (AcSevRoots) roots = NULL;
	g_autoptr (AcSevChain) chain = psp_chain (&roots);
	g_autoptr (AcSevOwnerLaunch) o = ac_sev_owner_launch_new (policy);
	g_autoptr (GError) error = NULL;

	g_assert_cmpint (ac_sev_owner_launch_get_state (o), ==, AC_TEE_LAUNCH_STATE_NEW);
	g_assert_true (ac_sev_owner_launch_verify_chain (o, chain, roots, NULL, &error));
	g_assert_no_error (error);
	g_assert_cmpstr (ac_sev_owner_launch_get_verdict (o)->generation, ==, "devnet");
	g_assert_cmpint (ac_sev_owner_launch_get_state (o), ==,
	                 AC_TEE_LAUNCH_STATE_PLATFORM_TRUSTED);
	g_assert_true (ac_sev_owner_launch_start_session (o, &error));
	g_assert_no_error (error);
	g_assert_cmpint (ac_sev_owner_launch_get_state (o), ==, AC_TEE_LAUNCH_STATE_KEYED);
	return g_steal_pointer (&o);
}

/* the host launches the guest with @o's session and measures it */
static void
host_launch (AcSevOwnerLaunch *o, guint32 policy, Launch *l)
{
	g_autoptr (GError) error = NULL;
	g_autofree gchar *godh_b64 = ac_sev_owner_launch_get_godh_b64 (o);
	g_autofree gchar *session_b64 = ac_sev_owner_launch_get_session_b64 (o);
	g_autofree guint8 *godh = NULL, *session = NULL;
	g_autoptr (AcSevOvmf) ovmf = NULL;
	gsize godh_len = 0, session_len = 0;
	guint32 blob_len = sizeof (l->blob), ssize = 0;
	guint8 status[12];

	godh = g_base64_decode (godh_b64, &godh_len);
	session = g_base64_decode (session_b64, &session_len);
	g_assert_cmpuint (godh_len, ==, 2084);
	g_assert_cmpuint (session_len, ==, 128);
	l->fw = sev_test_load ("measurement/ovmf_AmdSev_suffix.bin");
	ovmf = ac_sev_ovmf_parse (g_bytes_get_data (l->fw, NULL), g_bytes_get_size (l->fw), &error);
	g_assert_no_error (error);
	g_assert_true (ac_sev_ovmf_get_secret_area (ovmf, &l->secret_base, &ssize, NULL));
	g_assert_cmpint (
	    ac_sev_psp_launch_start (psp, &l->handle, policy, godh, 2084, session, 128), ==,
	    AC_SEV_STATUS_SUCCESS);
	g_assert_cmpint (ac_sev_psp_launch_update_data (psp, l->handle,
	                                                G_GUINT64_CONSTANT (0x100000000) - 4096,
	                                                g_bytes_get_data (l->fw, NULL), 4096),
	                 ==, AC_SEV_STATUS_SUCCESS);
	g_assert_cmpint (ac_sev_psp_launch_measure (psp, l->handle, l->blob, &blob_len), ==,
	                 AC_SEV_STATUS_SUCCESS);
	g_assert_cmpint (ac_sev_psp_platform_status (psp, status), ==, AC_SEV_STATUS_SUCCESS);
	l->ev.blob = l->blob;
	l->ev.blob_len = blob_len;
	l->ev.api_major = status[0];
	l->ev.api_minor = status[1];
	l->ev.build_id = status[7];
	l->ev.policy = policy;
	l->expected.policy = policy;
	l->expected.firmware = l->fw;
}

static GBytes *
passphrase_table (void)
{
	g_autoptr (GError) error = NULL;
	GBytes *table = ac_sev_secret_table_build_aleph_passphrase (PASSPHRASE, &error);
	g_assert_no_error (error);
	return table;
}

/* the PSP accepts @sealed for @l and the guest reads @table */
static void
assert_psp_accepts (Launch *l, AcTeeSealedSecret *sealed, GBytes *table)
{
	g_autoptr (GBytes) read = NULL;
	gsize hlen = 0, plen = 0;
	const guint8 *h = g_bytes_get_data (sealed->header, &hlen);
	const guint8 *p = g_bytes_get_data (sealed->payload, &plen);

	g_assert_cmpuint (hlen, ==, AC_SEV_SECRET_HEADER_SIZE);
	g_assert_cmpint (
	    ac_sev_psp_launch_secret (psp, l->handle, h, hlen, l->secret_base, plen, p, plen), ==,
	    AC_SEV_STATUS_SUCCESS);
	read = ac_sev_psp_guest_read (psp, l->handle, l->secret_base, g_bytes_get_size (table));
	g_assert_nonnull (read);
	g_assert_true (g_bytes_equal (read, table));
}

static void
assert_seal_refused (AcSevOwnerLaunch *o, GBytes *table)
{
	g_autoptr (GError) error = NULL;
	g_autoptr (AcTeeSealedSecret) sealed = NULL;

	g_assert_false (ac_sev_owner_launch_seal (o, table, NULL, &sealed, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_REFUSED);
	g_assert_null (sealed);
	/* the generic seam refuses the same way */
	g_clear_error (&error);
	g_assert_false (
	    ac_tee_launch_seal (ac_sev_owner_launch_get_tee (o), table, NULL, &sealed, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_REFUSED);
}

/* ---- the whole sequence ---- */

static void
test_verified_launch_seals (void)
{
	g_autoptr (AcSevOwnerLaunch) o = owner_new (AC_SEV_POLICY_NODBG);
	g_autoptr (GBytes) table = passphrase_table ();
	g_autoptr (AcTeeSealedSecret) sealed = NULL;
	g_autoptr (GError) error = NULL;
	Launch l = { 0 };

	host_launch (o, AC_SEV_POLICY_NODBG, &l);
	g_assert_null (ac_sev_owner_launch_get_launch_digest (o));
	g_assert_true (ac_sev_owner_launch_verify (o, &l.ev, &l.expected, 0, 17, &error));
	g_assert_no_error (error);
	g_assert_nonnull (ac_sev_owner_launch_get_launch_digest (o));
	g_assert_cmpint (ac_sev_owner_launch_get_state (o), ==, AC_TEE_LAUNCH_STATE_VERIFIED);
	/* through the generic seam, as a second TEE generation would be used */
	g_assert_true (
	    ac_tee_launch_seal (ac_sev_owner_launch_get_tee (o), table, NULL, &sealed, &error));
	g_assert_no_error (error);
	assert_psp_accepts (&l, sealed, table);
	launch_clear (&l);
}

/* ---- sealing before verification: refused at every earlier state ---- */

static void
test_seal_before_verify_refused (void)
{
	g_autoptr (AcSevRoots) roots = NULL;
	g_autoptr (AcSevChain) chain = psp_chain (&roots);
	g_autoptr (AcSevOwnerLaunch) o = ac_sev_owner_launch_new (AC_SEV_POLICY_NODBG);
	g_autoptr (AcSevOwnerLaunch) resumed = ac_sev_owner_launch_new (AC_SEV_POLICY_NODBG);
	g_autoptr (AcSevOwnerLaunch) other = NULL;
	g_autoptr (AcSecret) key = ac_secret_new ("0123456789abcdef", 16);
	g_autoptr (GBytes) table = passphrase_table ();
	g_autoptr (GError) error = NULL;
	Launch l = { 0 };

	assert_seal_refused (o, table);
	/* nor can a session be made for a platform not trusted yet */
	g_assert_false (ac_sev_owner_launch_start_session (o, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_REFUSED);
	g_clear_error (&error);
	g_assert_true (ac_sev_owner_launch_verify_chain (o, chain, roots, NULL, &error));
	assert_seal_refused (o, table);
	/* nor a measurement verified without a session */
	other = owner_new (AC_SEV_POLICY_NODBG);
	host_launch (other, AC_SEV_POLICY_NODBG, &l);
	g_assert_false (ac_sev_owner_launch_verify (o, &l.ev, &l.expected, 0, 0, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_REFUSED);
	g_clear_error (&error);
	g_assert_true (ac_sev_owner_launch_start_session (o, &error));
	g_assert_no_error (error);
	assert_seal_refused (o, table);
	/* a resumed session too: its keys alone do not make a verified launch */
	g_assert_true (ac_sev_owner_launch_resume_keys (resumed, key, key, &error));
	g_assert_no_error (error);
	g_assert_cmpint (ac_sev_owner_launch_get_state (resumed), ==, AC_TEE_LAUNCH_STATE_KEYED);
	assert_seal_refused (resumed, table);
	launch_clear (&l);
}

/* ---- a wrong measurement ---- */

static void
test_wrong_measurement_refuses (void)
{
	g_autoptr (AcSevOwnerLaunch) o = owner_new (AC_SEV_POLICY_NODBG);
	g_autoptr (GBytes) table = passphrase_table ();
	g_autoptr (GBytes) other_fw = sev_test_load ("measurement/ovmf_OvmfX64_suffix.bin");
	g_autoptr (GError) error = NULL;
	AcSevLaunchInputs other = { 0 };
	Launch l = { 0 };

	host_launch (o, AC_SEV_POLICY_NODBG, &l);
	/* the host ran another firmware than the owner expects */
	other = l.expected;
	other.firmware = other_fw;
	g_assert_false (ac_sev_owner_launch_verify (o, &l.ev, &other, 0, 0, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_MISMATCH);
	g_assert_nonnull (strstr (error->message, "launch measurement"));
	g_clear_error (&error);
	g_assert_cmpint (ac_sev_owner_launch_get_state (o), ==, AC_TEE_LAUNCH_STATE_FAILED);
	assert_seal_refused (o, table);
	/* a failed launch stays failed: no second try, even with the right expectation */
	g_assert_false (ac_sev_owner_launch_verify (o, &l.ev, &l.expected, 0, 0, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_REFUSED);
	assert_seal_refused (o, table);
	launch_clear (&l);

	/* a tampered MEASURE, against the right firmware */
	{
		g_autoptr (AcSevOwnerLaunch) o2 = owner_new (AC_SEV_POLICY_NODBG);
		Launch l2 = { 0 };
		host_launch (o2, AC_SEV_POLICY_NODBG, &l2);
		l2.blob[3] ^= 0x10;
		g_clear_error (&error);
		g_assert_false (
		    ac_sev_owner_launch_verify (o2, &l2.ev, &l2.expected, 0, 0, &error));
		g_assert_error (error, AC_ERROR, AC_ERROR_MISMATCH);
		assert_seal_refused (o2, table);
		launch_clear (&l2);
	}
}

/* ---- the policy, the firmware version ---- */

static void
test_policy_mismatch (void)
{
	g_autoptr (GBytes) table = passphrase_table ();
	g_autoptr (GError) error = NULL;

	/* the platform reports another policy than the launch's (the tag's): MISMATCH, exit 5 */
	{
		g_autoptr (AcSevOwnerLaunch) o = owner_new (AC_SEV_POLICY_NODBG);
		Launch l = { 0 };
		host_launch (o, AC_SEV_POLICY_NODBG, &l);
		l.ev.policy = AC_SEV_POLICY_NODBG | AC_SEV_POLICY_NOKS;
		g_assert_false (ac_sev_owner_launch_verify (o, &l.ev, &l.expected, 0, 0, &error));
		g_assert_error (error, AC_ERROR, AC_ERROR_MISMATCH);
		g_assert_nonnull (strstr (error->message, "policy"));
		g_assert_nonnull (strstr (error->message, "0x3"));
		g_assert_cmpint (ac_error_to_exit_code (error), ==, AC_EXIT_MISMATCH);
		assert_seal_refused (o, table);
		launch_clear (&l);
	}
	/* the check every caller uses for a stored session's policy gives the same class */
	g_clear_error (&error);
	g_assert_true (ac_sev_owner_policy_check (1, 1, "the session was made for", &error));
	g_assert_false (ac_sev_owner_policy_check (1, 5, "the session was made for", &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_MISMATCH);
	g_assert_nonnull (strstr (error->message, "the session was made for SEV policy 0x5"));
}

static void
test_firmware_version (void)
{
	g_autoptr (GBytes) table = passphrase_table ();
	g_autoptr (GError) error = NULL;
	/* below the minimum: REFUSED, exit 3 */
	{
		g_autoptr (AcSevOwnerLaunch) o = owner_new (AC_SEV_POLICY_NODBG);
		Launch l = { 0 };
		host_launch (o, AC_SEV_POLICY_NODBG, &l);
		g_assert_false (ac_sev_owner_launch_verify (o, &l.ev, &l.expected,
		                                            (guint8)l.ev.api_major,
		                                            (guint8)(l.ev.api_minor + 1), &error));
		g_assert_error (error, AC_ERROR, AC_ERROR_REFUSED);
		g_assert_nonnull (strstr (error->message, "older than the required minimum"));
		assert_seal_refused (o, table);
		launch_clear (&l);
	}
	/* not an 8-bit version: MISMATCH */
	{
		g_autoptr (AcSevOwnerLaunch) o = owner_new (AC_SEV_POLICY_NODBG);
		Launch l = { 0 };
		host_launch (o, AC_SEV_POLICY_NODBG, &l);
		l.ev.build_id = 256;
		g_clear_error (&error);
		g_assert_false (ac_sev_owner_launch_verify (o, &l.ev, &l.expected, 0, 0, &error));
		g_assert_error (error, AC_ERROR, AC_ERROR_MISMATCH);
		g_assert_nonnull (strstr (error->message, "API version"));
		launch_clear (&l);
	}
}

/* ---- the chain ---- */

static void
test_untrusted_chain (void)
{
	g_autoptr (AcSevRoots) mine = NULL;
	g_autoptr (AcSevChain) chain = psp_chain (&mine);
	g_autoptr (AcSevRoots) amd = ac_sev_roots_new_builtin ();
	g_autoptr (AcSevOwnerLaunch) o = ac_sev_owner_launch_new (AC_SEV_POLICY_NODBG);
	g_autoptr (GBytes) table = passphrase_table ();
	g_autoptr (GError) error = NULL;

	/* the software PSP's chain does not lead to an AMD root: UNTRUSTED, exit 4 */
	g_assert_false (ac_sev_owner_launch_verify_chain (o, chain, amd, NULL, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_UNTRUSTED);
	g_assert_cmpint (ac_error_to_exit_code (error), ==, AC_EXIT_UNTRUSTED);
	g_assert_null (ac_sev_owner_launch_get_verdict (o));
	g_clear_error (&error);
	/* and the launch goes no further, not even with the right roots */
	g_assert_false (ac_sev_owner_launch_start_session (o, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_REFUSED);
	g_clear_error (&error);
	g_assert_false (ac_sev_owner_launch_verify_chain (o, chain, mine, NULL, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_REFUSED);
	assert_seal_refused (o, table);
}

/* ---- resuming from stored keys ---- */

static void
test_resume_from_files (void)
{
	g_autofree gchar *dir = g_dir_make_tmp ("test-sev-owner-XXXXXX", NULL);
	g_autoptr (AcSevOwnerLaunch) o = owner_new (AC_SEV_POLICY_NODBG);
	g_autoptr (AcSevOwnerLaunch) resumed = ac_sev_owner_launch_new (AC_SEV_POLICY_NODBG);
	g_autoptr (AcSevOwnerLaunch) absent = ac_sev_owner_launch_new (AC_SEV_POLICY_NODBG);
	g_autoptr (GBytes) table = passphrase_table ();
	g_autoptr (AcTeeSealedSecret) sealed = NULL;
	g_autoptr (GError) error = NULL;
	Launch l = { 0 };
	const gchar *names[] = { "s_tek.bin", "s_tik.bin", "s_godh.b64", "s_session.b64" };

	g_assert_nonnull (dir);
	g_assert_true (ac_sev_owner_launch_write_session (o, dir, "s", &error));
	g_assert_no_error (error);
	host_launch (o, AC_SEV_POLICY_NODBG, &l);
	/* a later run: only the files remain */
	g_clear_pointer (&o, ac_sev_owner_launch_free);
	g_assert_true (ac_sev_owner_launch_resume_session (resumed, dir, "s", &error));
	g_assert_no_error (error);
	assert_seal_refused (resumed, table);
	g_assert_true (ac_sev_owner_launch_verify (resumed, &l.ev, &l.expected, 0, 0, &error));
	g_assert_no_error (error);
	g_assert_true (ac_sev_owner_launch_seal (resumed, table, NULL, &sealed, &error));
	g_assert_no_error (error);
	assert_psp_accepts (&l, sealed, table);
	/* missing key files are an error naming the key, and leave the launch unkeyed */
	g_assert_false (ac_sev_owner_launch_resume_session (absent, dir, "none", &error));
	g_assert_nonnull (error);
	g_assert_nonnull (strstr (error->message, "tik"));
	g_assert_cmpint (ac_sev_owner_launch_get_state (absent), ==, AC_TEE_LAUNCH_STATE_NEW);
	for (guint i = 0; i < G_N_ELEMENTS (names); i++) {
		g_autofree gchar *p = g_build_filename (dir, names[i], NULL);
		g_assert_cmpint (g_unlink (p), ==, 0);
	}
	g_assert_cmpint (g_rmdir (dir), ==, 0);
	launch_clear (&l);
}

/* the launch libvirt's virt-qemu-sev-validate verified and answered (secret/vectors.json
 * "libvirt-luks-key"): resumed from the TEK and TIK, verified, sealed with its IV, the packet
 * is libvirt's; without the TEK the launch verifies but cannot seal */
static void
test_resume_keys_libvirt_vector (void)
{
	g_autoptr (GBytes) tik_b = sev_test_load ("measurement/sevctl_tik1.bin");
	g_autoptr (GBytes) tek_b = sev_test_load ("secret/sevctl_tek1.bin");
	g_autoptr (GBytes) fw = sev_test_load ("measurement/sevctl_OVMF.amdsev.fd_trimmed.bin");
	g_autoptr (GBytes) value = sev_test_load ("secret/sevctl_secret1.txt");
	g_autofree gchar *want_hdr = sev_test_load_text ("secret/libvirt_hdr1.b64");
	g_autofree gchar *want_pay = sev_test_load_text ("secret/libvirt_payload1.b64");
	g_autoptr (AcSecret) tik = ac_secret_new (g_bytes_get_data (tik_b, NULL), 16);
	g_autoptr (AcSecret) tek = ac_secret_new (g_bytes_get_data (tek_b, NULL), 16);
	g_autoptr (AcSevSecretTable) t = ac_sev_secret_table_new ();
	g_autoptr (GBytes) table = NULL;
	g_autoptr (GBytes) iv = NULL;
	g_autoptr (AcTeeSealedSecret) sealed = NULL;
	g_autoptr (GError) error = NULL;
	g_autofree guint8 *blob = NULL;
	g_autofree guint8 *iv_raw = NULL;
	g_autofree gchar *hdr = NULL, *pay = NULL;
	gsize blob_len = 0, iv_len = 0;
	AcSevLaunchInputs expected = { .policy = 3, .firmware = fw };
	AcSevOwnerEvidence ev = { 0 };

	blob = g_base64_decode ("oMDewIouJSpbpNRHj7Mk3p08H2dPZQdsZMU14qIymBnDE/q1EcIWsVBbGy6pkDxA",
	                        &blob_len);
	iv_raw = g_base64_decode ("rFR07U3TLH2YnsUj2SVZ7A==", &iv_len);
	iv = g_bytes_new (iv_raw, iv_len);
	ev = (AcSevOwnerEvidence){ blob, blob_len, 1, 40, 40, 3 };
	g_assert_true (ac_sev_secret_table_add (t, "luks-key", g_bytes_get_data (value, NULL),
	                                        g_bytes_get_size (value), &error));
	table = ac_sev_secret_table_build (t, AC_SEV_SECRET_TABLE_LIBVIRT, &error);
	g_assert_no_error (error);
	{
		g_autoptr (AcSevOwnerLaunch) o = ac_sev_owner_launch_new (3);
		g_assert_true (ac_sev_owner_launch_resume_keys (o, tek, tik, &error));
		g_assert_true (ac_sev_owner_launch_verify (o, &ev, &expected, 0, 0, &error));
		g_assert_no_error (error);
		g_assert_true (ac_sev_owner_launch_seal (o, table, iv, &sealed, &error));
		g_assert_no_error (error);
		hdr = g_base64_encode (g_bytes_get_data (sealed->header, NULL),
		                       g_bytes_get_size (sealed->header));
		pay = g_base64_encode (g_bytes_get_data (sealed->payload, NULL),
		                       g_bytes_get_size (sealed->payload));
		g_assert_cmpstr (hdr, ==, want_hdr);
		g_assert_cmpstr (pay, ==, want_pay);
	}
	{
		g_autoptr (AcSevOwnerLaunch) o = ac_sev_owner_launch_new (3);
		g_autoptr (AcTeeSealedSecret) none = NULL;
		g_assert_true (ac_sev_owner_launch_resume_keys (o, NULL, tik, &error));
		g_assert_true (ac_sev_owner_launch_verify (o, &ev, &expected, 0, 0, &error));
		g_assert_no_error (error);
		g_assert_false (ac_sev_owner_launch_seal (o, table, iv, &none, &error));
		g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
		g_assert_nonnull (strstr (error->message, "TEK"));
	}
}

int
main (int argc, char **argv)
{
	g_autofree gchar *dir = NULL;
	g_autoptr (GError) error = NULL;
	int rc;

	g_test_init (&argc, &argv, NULL);
	dir = sev_test_path ("synthetic-platform");
	psp = ac_sev_psp_load (dir, &error);
	g_assert_no_error (error);
	ac_sev_psp_set_firmware (psp, 0, 24, 15);
	g_test_add_func ("/sev/owner/verified-launch-seals", test_verified_launch_seals);
	g_test_add_func ("/sev/owner/seal-before-verify-refused", test_seal_before_verify_refused);
	g_test_add_func ("/sev/owner/wrong-measurement", test_wrong_measurement_refuses);
	g_test_add_func ("/sev/owner/policy-mismatch", test_policy_mismatch);
	g_test_add_func ("/sev/owner/firmware-version", test_firmware_version);
	g_test_add_func ("/sev/owner/untrusted-chain", test_untrusted_chain);
	g_test_add_func ("/sev/owner/resume-from-files", test_resume_from_files);
	g_test_add_func ("/sev/owner/resume-keys-libvirt-vector", test_resume_keys_libvirt_vector);
	rc = g_test_run ();
	g_clear_pointer (&psp, ac_sev_psp_free);
	return rc;
}
