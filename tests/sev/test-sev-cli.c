/*
 * `virt-aleph sev` end to end: exit codes per error class, sevctl-compatible session files
 * accepted by the software PSP, measurement and secret vectors through the command line (a
 * secret only for a launch that verifies),
 * and expected-output fixtures (tests/data/sev/cli/).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "ac-error.h"
#include "ac-sev-psp.h"
#include "ac-sev-secret.h"
#include "ac-sev-session.h"
#include "test-sev-common.h"
#include "../test-util.h"

static gchar *tmpdir = NULL;

/* runs virt-aleph with the NULL-terminated arguments; returns the exit code */
#define cli(out, ...) sev_test_cli (tmpdir, (out), NULL, __VA_ARGS__)

static gchar *
data (const gchar *rel)
{
	return sev_test_path (rel);
}

static void
test_verify_chain (void)
{
	g_autofree gchar *rome = data ("real-chains/rome/chain_sev.bin");
	g_autofree gchar *naples_full = data ("real-chains/naples/chain_full.bin");
	g_autofree gchar *synth = data ("synthetic-platform/chain_sev.bin");
	g_autofree gchar *ark = data ("synthetic-platform/ark.cert");
	g_autofree gchar *ask = data ("synthetic-platform/ask.cert");
	g_autofree gchar *pdh = data ("real-chains/rome/pdh.cert");
	g_autofree gchar *out = NULL;

	g_assert_cmpint (cli (&out, "sev", "verify-chain", rome, NULL), ==, AC_EXIT_OK);
	g_assert_nonnull (strstr (out, "trusted rome root"));
	g_clear_pointer (&out, g_free);
	g_assert_cmpint (cli (&out, "--json", "sev", "verify-chain", naples_full, NULL), ==, AC_EXIT_OK);
	g_assert_nonnull (strstr (out, "\"generation\" : \"naples\""));
	g_assert_cmpint (cli (NULL, "sev", "verify-chain", "--generation", "milan", rome, NULL), ==, AC_EXIT_UNTRUSTED);
	g_assert_cmpint (cli (NULL, "sev", "verify-chain", "--generation", "zen", rome, NULL), ==, AC_EXIT_USAGE);
	/* a software PSP's chain: untrusted unless its ARK is given */
	g_assert_cmpint (cli (NULL, "sev", "verify-chain", synth, NULL), ==, AC_EXIT_UNTRUSTED);
	g_assert_cmpint (cli (NULL, "sev", "verify-chain", synth, "--ark", ark, "--ask", ask, NULL), ==, AC_EXIT_OK);
	g_assert_cmpint (cli (NULL, "sev", "verify-chain", synth, "--ark", ark, NULL), ==, AC_EXIT_USAGE);
	{
		g_autofree gchar *ca = data ("synthetic-platform/ask_ark.cert");
		g_assert_cmpint (cli (NULL, "sev", "verify-chain", synth, "--ca", ca, NULL), ==, AC_EXIT_OK);
		g_assert_cmpint (cli (NULL, "sev", "verify-chain", rome, "--ca", ca, NULL), ==, AC_EXIT_UNTRUSTED);
		g_assert_cmpint (cli (NULL, "sev", "verify-chain", synth, "--ca", ark, NULL), ==, AC_EXIT_USAGE);
	}
	/* the real Rome chain is not trusted under the synthetic root */
	g_assert_cmpint (cli (NULL, "sev", "verify-chain", rome, "--ark", ark, "--ask", ask, NULL), ==, AC_EXIT_UNTRUSTED);
	g_assert_cmpint (cli (NULL, "sev", "verify-chain", pdh, NULL), ==, AC_EXIT_USAGE);
	g_assert_cmpint (cli (NULL, "sev", "verify-chain", "/nonexistent", NULL), ==, AC_EXIT_NOT_FOUND);
	g_assert_cmpint (cli (NULL, "sev", "frobnicate", NULL), ==, AC_EXIT_USAGE);
}

static void
test_session_with_psp (void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(AcSevPsp) psp = ac_sev_psp_new (2048, &error);
	g_autofree gchar *id = g_build_filename (tmpdir, "psp", NULL);
	g_autofree gchar *chain = g_build_filename (id, "chain_sev.bin", NULL);
	g_autofree gchar *pdh = g_build_filename (id, "pdh.cert", NULL);
	g_autofree gchar *ark = g_build_filename (id, "ark.cert", NULL);
	g_autofree gchar *ask = g_build_filename (id, "ask.cert", NULL);
	g_autofree gchar *godh_b64 = NULL;
	g_autofree gchar *sess_b64 = NULL;
	g_autofree guint8 *godh = NULL;
	g_autofree guint8 *sess = NULL;
	gsize godh_len = 0, sess_len = 0;
	guint8 tik[16];
	guint32 handle = 0;
	GStatBuf st;
	g_autofree gchar *a_tik = g_build_filename (tmpdir, "a_tik.bin", NULL);
	g_autofree gchar *vm1_godh = g_build_filename (tmpdir, "vm1_godh.b64", NULL);
	g_autofree gchar *vm1_sess = g_build_filename (tmpdir, "vm1_session.b64", NULL);
	g_autofree gchar *vm1_tik = g_build_filename (tmpdir, "vm1_tik.bin", NULL);
	g_autofree gchar *vm_sess = g_build_filename (tmpdir, "vm_session.b64", NULL);

	g_assert_no_error (error);
	g_assert_true (ac_sev_psp_save (psp, id, &error));
	/* untrusted chain: refused, nothing written */
	g_assert_cmpint (cli (NULL, "sev", "session", chain, "1", "--name", "a", NULL), ==, AC_EXIT_UNTRUSTED);
	g_assert_false (g_file_test (a_tik, G_FILE_TEST_EXISTS));
	/* a bare PDH is refused without --no-verify */
	g_assert_cmpint (cli (NULL, "sev", "session", pdh, "1", "--name", "a", NULL), ==, AC_EXIT_REFUSED);
	g_assert_cmpint (cli (NULL, "sev", "session", chain, "0x40", "--name", "a", "--ark", ark, "--ask", ask, NULL), ==, AC_EXIT_USAGE);
	/* trusted: the files, as sevctl names them */
	g_assert_cmpint (cli (NULL, "sev", "session", chain, "nodbg", "--name", "vm1", "--ark", ark, "--ask", ask, NULL), ==, AC_EXIT_OK);
	g_assert_true (g_file_get_contents (vm1_godh, &godh_b64, NULL, NULL));
	g_assert_true (g_file_get_contents (vm1_sess, &sess_b64, NULL, NULL));
	g_assert_null (strchr (godh_b64, '\n'));
	godh = g_base64_decode (godh_b64, &godh_len);
	sess = g_base64_decode (sess_b64, &sess_len);
	g_assert_cmpuint (godh_len, ==, 2084);
	g_assert_cmpuint (sess_len, ==, 128);
	g_assert_cmpint (g_stat (vm1_tik, &st), ==, 0);
	g_assert_cmpint (st.st_mode & 0777, ==, 0600);
	g_assert_true (ac_sev_key_file_read (vm1_tik, tik, 16, "TIK", NULL));
	/* the PSP accepts the session for policy 1, and not for another policy */
	g_assert_cmpint (ac_sev_psp_launch_start (psp, &handle, 3, godh, 2084, sess, 128), ==, AC_SEV_STATUS_POLICY_FAILURE);
	g_assert_cmpint (ac_sev_psp_launch_start (psp, &handle, 1, godh, 2084, sess, 128), ==, AC_SEV_STATUS_SUCCESS);
	/* never overwrite a session */
	g_assert_cmpint (cli (NULL, "sev", "session", chain, "1", "--name", "vm1", "--ark", ark, "--ask", ask, NULL), ==, AC_EXIT_EXISTS);
	/* bare PDH with --no-verify, default name vm */
	g_assert_cmpint (cli (NULL, "sev", "session", pdh, "3", "--no-verify", NULL), ==, AC_EXIT_OK);
	g_assert_true (g_file_test (vm_sess, G_FILE_TEST_EXISTS));
}

static void
test_measure (void)
{
	g_autofree gchar *fw = data ("measurement/sevctl_OVMF.amdsev.fd_trimmed.bin");
	g_autofree gchar *tik = data ("measurement/sevctl_tik1.bin");
	g_autofree gchar *k = data ("measurement/sevctl_vmlinuz-fake");
	g_autofree gchar *i = data ("measurement/sevctl_initrd-fake");
	g_autofree gchar *v0 = data ("measurement/sevctl_vmsa0.bin");
	g_autofree gchar *v1 = data ("measurement/sevctl_vmsa1.bin");
	const gchar *m_fw = "oMDewIouJSpbpNRHj7Mk3p08H2dPZQdsZMU14qIymBnDE/q1EcIWsVBbGy6pkDxA";
	const gchar *m_k = "h3auYbWQnVW7EGLWN4Hf9SN0oEYMPU2sK4bLnefWPwvDE/q1EcIWsVBbGy6pkDxA";
	const gchar *m_es = "/o0nzDKE5XgtVnUZWPhUea/WZYrTKLExR7KCwuMdbActvpWfXTFk21KMZIAAhQny";
	g_autofree gchar *out = NULL;

	g_assert_cmpint (cli (NULL, "sev", "measure", "--measurement", m_fw, "--api-major", "1", "--api-minor", "40",
			      "--build-id", "40", "--policy", "3", "--firmware", fw, "--tik", tik, NULL), ==, AC_EXIT_OK);
	g_assert_cmpint (cli (NULL, "sev", "measure", "--measurement", m_k, "--api-major", "1", "--api-minor", "40",
			      "--build-id", "40", "--policy", "3", "--firmware", fw, "--kernel", k, "--initrd", i,
			      "--cmdline", "foo bar baz fake kernel=cmdline", "--tik", tik, NULL), ==, AC_EXIT_OK);
	/* SEV-ES, given VMSAs, and VMSAs built from the vCPU model */
	g_assert_cmpint (cli (NULL, "sev", "measure", "--measurement", m_es, "--api-major", "1", "--api-minor", "49",
			      "--build-id", "6", "--policy", "5", "--firmware", fw, "--num-cpus", "4",
			      "--vmsa-cpu0", v0, "--vmsa-cpu1", v1, "--tik", tik, NULL), ==, AC_EXIT_OK);
	g_assert_cmpint (cli (&out, "--debug", "sev", "measure", "--measurement", m_es, "--api-major", "1", "--api-minor", "49",
			      "--build-id", "6", "--policy", "5", "--firmware", fw, "--num-cpus", "4",
			      "--cpu-family", "25", "--cpu-model", "1", "--cpu-stepping", "1", "--tik", tik, NULL), ==, AC_EXIT_OK);
	/* mismatches */
	g_assert_cmpint (cli (NULL, "sev", "measure", "--measurement", m_fw, "--api-major", "1", "--api-minor", "41",
			      "--build-id", "40", "--policy", "3", "--firmware", fw, "--tik", tik, NULL), ==, AC_EXIT_MISMATCH);
	g_assert_cmpint (cli (NULL, "sev", "measure", "--measurement", m_k, "--api-major", "1", "--api-minor", "40",
			      "--build-id", "40", "--policy", "3", "--firmware", fw, "--kernel", k, "--initrd", i,
			      "--cmdline", "foo bar baz fake kernel=cmdline ", "--tik", tik, NULL), ==, AC_EXIT_MISMATCH);
	/* the reported policy must be the requested one; the API a minimum */
	g_assert_cmpint (cli (NULL, "sev", "measure", "--measurement", m_fw, "--api-major", "1", "--api-minor", "40",
			      "--build-id", "40", "--policy", "3", "--expected-policy", "0x1", "--firmware", fw, "--tik", tik, NULL),
			 ==, AC_EXIT_MISMATCH);
	g_assert_cmpint (cli (NULL, "sev", "measure", "--measurement", m_fw, "--api-major", "1", "--api-minor", "40",
			      "--build-id", "40", "--policy", "3", "--min-api", "1.41", "--firmware", fw, "--tik", tik, NULL),
			 ==, AC_EXIT_REFUSED);
	/* bad input */
	g_assert_cmpint (cli (NULL, "sev", "measure", "--measurement", m_fw, "--api-major", "1", "--api-minor", "40",
			      "--build-id", "40", "--policy", "3", "--tik", tik, NULL), ==, AC_EXIT_USAGE);
	g_assert_cmpint (cli (NULL, "sev", "measure", "--measurement", "AAAA", "--api-major", "1", "--api-minor", "40",
			      "--build-id", "40", "--policy", "3", "--firmware", fw, "--tik", tik, NULL), ==, AC_EXIT_USAGE);
	g_assert_cmpint (cli (NULL, "sev", "measure", "--measurement", m_fw, "--api-major", "256", "--api-minor", "40",
			      "--build-id", "40", "--policy", "3", "--firmware", fw, "--tik", tik, NULL), ==, AC_EXIT_USAGE);
	g_assert_cmpint (cli (NULL, "sev", "measure", "--measurement", m_fw, "--api-major", "1", "--api-minor", "40",
			      "--build-id", "40", "--policy", "3", "--firmware", fw, "--tik", fw, NULL), ==, AC_EXIT_USAGE);
	g_assert_cmpint (cli (NULL, "sev", "measure", "--measurement", m_es, "--api-major", "1", "--api-minor", "49",
			      "--build-id", "6", "--policy", "5", "--firmware", fw, "--tik", tik, NULL), ==, AC_EXIT_USAGE);
}

static void
test_secret_build (void)
{
	g_autofree gchar *tik = data ("measurement/sevctl_tik1.bin");
	g_autofree gchar *tek = data ("secret/sevctl_tek1.bin");
	g_autofree gchar *fw = data ("measurement/sevctl_OVMF.amdsev.fd_trimmed.bin");
	g_autofree gchar *s1 = data ("secret/sevctl_secret1.txt");
	g_autofree gchar *spec1 = g_strdup_printf ("luks-key:%s", s1);
	g_autofree gchar *want_hdr = sev_test_load_text ("secret/libvirt_hdr1.b64");
	g_autofree gchar *want_pay = sev_test_load_text ("secret/libvirt_payload1.b64");
	g_autofree gchar *hdr = g_build_filename (tmpdir, "hdr.bin", NULL);
	g_autofree gchar *pay = g_build_filename (tmpdir, "pay.bin", NULL);
	g_autofree gchar *hdr2 = g_build_filename (tmpdir, "hdr2.b64", NULL);
	g_autofree gchar *pw = g_build_filename (tmpdir, "pw.txt", NULL);
	g_autofree gchar *out = NULL;
	g_autofree gchar *text = NULL;
	gsize len = 0;
	/* the launch libvirt's virt-qemu-sev-validate verified and answered (secret/vectors.json
	 * "libvirt-luks-key"): API 1.40 build 40, policy 3, the trimmed OVMF */
	const gchar *blob = "oMDewIouJSpbpNRHj7Mk3p08H2dPZQdsZMU14qIymBnDE/q1EcIWsVBbGy6pkDxA";
#define LAUNCH "--measurement", blob, "--api-major", "1", "--api-minor", "40", "--build-id", "40", \
	       "--policy", "3", "--firmware", fw, "--tik", tik, "--tek", tek

	/* verified, then sealed: libvirt's packet, raw files */
	g_assert_cmpint (cli (NULL, "sev", "secret", "build", LAUNCH, "--iv", "rFR07U3TLH2YnsUj2SVZ7A==",
			      "--format", "libvirt", "--secret", spec1, "--header-out", hdr, "--payload-out", pay,
			      "--binary", NULL), ==, AC_EXIT_OK);
	g_assert_true (g_file_get_contents (hdr, &text, &len, NULL));
	{
		g_autofree gchar *b = g_base64_encode ((const guchar *)text, len);
		g_assert_cmpstr (b, ==, want_hdr);
	}
	g_clear_pointer (&text, g_free);
	g_assert_true (g_file_get_contents (pay, &text, &len, NULL));
	{
		g_autofree gchar *b = g_base64_encode ((const guchar *)text, len);
		g_assert_cmpstr (b, ==, want_pay);
	}
	/* --launch-measure-blob names the same measurement */
	g_assert_cmpint (cli (&out, "sev", "secret", "build", "--launch-measure-blob", blob, "--api-major", "1",
			      "--api-minor", "40", "--build-id", "40", "--policy", "3", "--firmware", fw, "--tik", tik,
			      "--tek", tek, "--iv", "rFR07U3TLH2YnsUj2SVZ7A==", "--format", "libvirt", "--secret", spec1,
			      NULL), ==, AC_EXIT_OK);
	g_assert_nonnull (strstr (out, want_hdr));
	g_clear_pointer (&out, g_free);
	/* Aleph's format from a passphrase file (trailing newline dropped), CRN API JSON: the
	 * packet opens, for this launch, to Aleph's table of the passphrase */
	g_assert_true (g_file_set_contents (pw, "MY-LUKS-PASSPHRASE\n", -1, NULL));
	g_assert_cmpint (g_chmod (pw, 0600), ==, 0);
	g_assert_cmpint (cli (&out, "--json", "sev", "secret", "build", LAUNCH, "--passphrase-file", pw, NULL), ==, AC_EXIT_OK);
	g_assert_null (strstr (out, "MY-LUKS"));
	{
		g_autoptr(JsonParser) parser = json_parser_new ();
		g_autoptr(GBytes) k_tek = sev_test_load ("secret/sevctl_tek1.bin");
		g_autoptr(GBytes) k_tik = sev_test_load ("measurement/sevctl_tik1.bin");
		g_autoptr(GBytes) want = ac_sev_secret_table_build_aleph_passphrase ("MY-LUKS-PASSPHRASE", NULL);
		g_autoptr(GBytes) got = NULL;
		g_autoptr(GError) error = NULL;
		g_autofree guint8 *m = NULL, *h = NULL, *p = NULL;
		gsize mlen = 0, hlen = 0, plen = 0;
		JsonObject *o;
		g_assert_true (json_parser_load_from_data (parser, out, -1, &error));
		o = json_node_get_object (json_parser_get_root (parser));
		h = g_base64_decode (json_object_get_string_member (o, "packet_header"), &hlen);
		p = g_base64_decode (json_object_get_string_member (o, "secret"), &plen);
		m = g_base64_decode (blob, &mlen);
		g_assert_true (ac_sev_secret_packet_open (g_bytes_get_data (k_tek, NULL), g_bytes_get_data (k_tik, NULL), m,
							  1, 40, h, hlen, p, plen, &got, &error));
		g_assert_no_error (error);
		g_assert_true (g_bytes_equal (got, want));
	}
	/* a launch that does not verify gets no secret, and no file is written */
	g_assert_cmpint (cli (NULL, "sev", "secret", "build", "--measurement", blob, "--api-major", "1", "--api-minor", "41",
			      "--build-id", "40", "--policy", "3", "--firmware", fw, "--tik", tik, "--tek", tek,
			      "--passphrase-file", pw, "--header-out", hdr2, NULL), ==, AC_EXIT_MISMATCH);
	g_assert_false (g_file_test (hdr2, G_FILE_TEST_EXISTS));
	g_assert_cmpint (cli (NULL, "sev", "secret", "build", LAUNCH, "--expected-policy", "0x1", "--passphrase-file", pw,
			      "--header-out", hdr2, NULL), ==, AC_EXIT_MISMATCH);
	g_assert_cmpint (cli (NULL, "sev", "secret", "build", LAUNCH, "--min-api", "1.41", "--passphrase-file", pw,
			      "--header-out", hdr2, NULL), ==, AC_EXIT_REFUSED);
	g_assert_false (g_file_test (hdr2, G_FILE_TEST_EXISTS));
	/* nor without the launch's inputs */
	g_assert_cmpint (cli (NULL, "sev", "secret", "build", "--tik", tik, "--tek", tek, "--measurement", blob,
			      "--passphrase-file", pw, NULL), ==, AC_EXIT_USAGE);
	/* refusals */
	g_assert_cmpint (cli (NULL, "sev", "secret", "build", "--measurement", blob, "--api-major", "1", "--api-minor", "40",
			      "--build-id", "40", "--policy", "3", "--firmware", fw, "--tik", tik, "--passphrase-file", pw,
			      NULL), ==, AC_EXIT_USAGE); /* no TEK */
	g_assert_cmpint (cli (NULL, "sev", "secret", "build", LAUNCH, NULL), ==, AC_EXIT_USAGE); /* nothing to send */
	g_assert_cmpint (cli (NULL, "sev", "secret", "build", "--measurement", "Zm9v", "--api-major", "1", "--api-minor", "40",
			      "--build-id", "40", "--policy", "3", "--firmware", fw, "--tik", tik, "--tek", tek,
			      "--passphrase-file", pw, NULL), ==, AC_EXIT_USAGE);
	g_assert_cmpint (cli (NULL, "sev", "secret", "build", LAUNCH, "--secret", "not-a-guid:/etc/hostname", NULL), ==, AC_EXIT_USAGE);
	g_assert_cmpint (cli (NULL, "sev", "secret", "build", LAUNCH, "--format", "xml", "--passphrase-file", pw, NULL), ==, AC_EXIT_USAGE);
	g_assert_cmpint (cli (NULL, "sev", "secret", "build", LAUNCH, "--launch-measure-blob", blob, "--passphrase-file", pw,
			      NULL), ==, AC_EXIT_USAGE);
#undef LAUNCH
}

static void
test_policy_explain (void)
{
	const gchar *cases[][2] = { { "nodbg,es", "cli/policy-explain-nodbg-es.expected" },
				    { "0x33", "cli/policy-explain-0x33.expected" } };
	for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
		g_autofree gchar *out = NULL;
		g_autoptr(GBytes) want = sev_test_load (cases[i][1]);
		g_assert_cmpint (cli (&out, "sev", "policy", "explain", cases[i][0], NULL), ==, AC_EXIT_OK);
		g_assert_cmpmem (out, strlen (out), g_bytes_get_data (want, NULL), g_bytes_get_size (want));
	}
	g_assert_cmpint (cli (NULL, "sev", "policy", "explain", "0x100", NULL), ==, AC_EXIT_USAGE);
	g_assert_cmpint (cli (NULL, "sev", "policy", "explain", "nodbg,bogus", NULL), ==, AC_EXIT_USAGE);
}

int
main (int argc, char **argv)
{
	g_autoptr(GError) error = NULL;
	int rc;
	g_test_init (&argc, &argv, NULL);
	if (g_getenv ("VIRT_ALEPH") == NULL)
		g_error ("VIRT_ALEPH (the virt-aleph executable) is not set");
	tmpdir = test_util_mkdtemp ("ac-sev-cli-XXXXXX");
	g_test_add_func ("/sev/cli/verify-chain", test_verify_chain);
	g_test_add_func ("/sev/cli/session-with-psp", test_session_with_psp);
	g_test_add_func ("/sev/cli/measure", test_measure);
	g_test_add_func ("/sev/cli/secret-build", test_secret_build);
	g_test_add_func ("/sev/cli/policy-explain", test_policy_explain);
	rc = g_test_run ();
	test_util_rm_rf (tmpdir);
	g_free (tmpdir);
	return rc;
}
