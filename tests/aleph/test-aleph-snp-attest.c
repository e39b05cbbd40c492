/*
 * The owner's attested TLS to an SEV-SNP guest's agent (ac_aleph_snp_attest_unlock) against a
 * software agent (test-aleph-snp-agent.c) on the software SNP firmware, over real TLS: the ok
 * path delivers the passphrase, checked by the agent with the owner's signature; every attack
 * is refused, and the agent's counters prove what reached it — for the attacks on the
 * certificate's report, not one application byte (the check runs inside the handshake).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <openssl/evp.h>
#include <string.h>

#include "ac-aleph-snp-attest.h"
#include "ac-aleph-snp-attest-private.h"
#include "ac-aleph-snp-inject.h"
#include "ac-error.h"
#include "ac-eth-account.h"
#include "ac-snp-firmware.h"
#include "test-aleph-snp-agent.h"
#include "../sev/test-snp-common.h"

G_DEFINE_AUTOPTR_CLEANUP_FUNC (EVP_PKEY, EVP_PKEY_free)

#define SECRETS "{\"luks_passphrase\":\"correct horse battery staple\"}"
#define HOST "127.0.0.1"
#define TIMEOUT_MS 10000

typedef struct {
	AcSnpFirmware *fw;
	AcSnpRoots *roots;
	SnpTestGuest guest; /* its launch inputs and the digest the owner computes */
	AcEthAccount *owner;
	SnpTestBoot boot;
} Fixture;

/* a guest launched by @fw with @policy: a fresh TLS key, its certificate carrying a report
 * bound to it */
static void
boot (Fixture *f, AcSnpFirmware *fw, guint64 policy, SnpTestBoot *b)
{
	snp_test_boot (b, fw, &f->guest.inputs, policy);
}

/* a Milan chip with its SNP component @snp_delta from the floor (bootloader and microcode one
 * above), and in *@roots roots that trust it */
static AcSnpFirmware *
firmware_new (gint snp_delta, AcSnpRoots **roots)
{
	AcSnpTcb tcb;

	snp_test_tcb_floor (AC_SNP_PRODUCT_MILAN, &tcb);
	tcb.bootloader++, tcb.microcode++;
	tcb.snp += snp_delta;
	return snp_test_firmware_new (AC_SNP_PRODUCT_MILAN, &tcb, roots);
}

static AcSnpFirmware *shared_fw;
static AcSnpRoots *shared_roots;

static void
fixture_setup (Fixture *f, gconstpointer data)
{
	g_autoptr (GError) error = NULL;
	guint8 key[32];

	/* one chip for all tests (on the program's CA, whose ARK and ASK take seconds to make) */
	if (shared_fw == NULL)
		shared_fw = firmware_new (+1, &shared_roots);
	f->fw = shared_fw;
	f->roots = shared_roots;
	ac_snp_firmware_set_attacks (f->fw, AC_SNP_FIRMWARE_ATTACK_NONE);
	memset (key, 0x42, sizeof key);
	f->owner = ac_eth_account_new_from_private_key (key, sizeof key, &error);
	g_assert_no_error (error);
	snp_test_guest_init (&f->guest,
	                     "console=ttyS0 owner=0x17c5185167401ed00cf5f5b2fc97d9bbfdb7d025", 2,
	                     "EPYC-v4");
	boot (f, f->fw, AC_SNP_POLICY_DEFAULT, &f->boot);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
	snp_test_boot_clear (&f->boot);
	ac_snp_firmware_set_attacks (f->fw, AC_SNP_FIRMWARE_ATTACK_NONE);
	ac_eth_account_free (f->owner);
	snp_test_guest_clear (&f->guest);
}

/* the owner's launch: certificates of @fw's chip, trusting @roots, the expected policy and
 * launch digest, signed by the owner's account */
static AcSnpOwnerLaunch *
owner_launch (Fixture *f, AcSnpFirmware *fw, AcSnpRoots *roots)
{
	return snp_test_owner_launch (fw, roots, f->guest.measurement, ac_aleph_snp_inject_sign,
	                              f->owner);
}

/* an honest agent's configuration for @b */
static TestSnpAgentConfig
agent_config (Fixture *f, SnpTestBoot *b)
{
	return test_snp_agent_config (b, ac_eth_account_get_address (f->owner));
}

/* runs the unlock against an agent of @config; returns what the agent saw (a copy) */
static TestSnpAgentSeen
unlock (const TestSnpAgentConfig *config,
        AcSnpOwnerLaunch *l,
        guint timeout_ms,
        gchar ***injected,
        GError **error)
{
	g_autoptr (TestSnpAgent) agent = test_snp_agent_start (config);
	g_autoptr (GBytes) secrets = g_bytes_new_static (SECRETS, strlen (SECRETS));
	TestSnpAgentSeen seen;

	*injected = ac_aleph_snp_attest_unlock (HOST, test_snp_agent_get_port (agent), l, secrets,
	                                        timeout_ms, NULL, error);
	seen = *test_snp_agent_stop (agent);
	seen.luks_passphrase = g_strdup (seen.luks_passphrase);
	return seen;
}

/* nothing but a handshake the client aborted reached the agent */
static void
assert_nothing_received (const TestSnpAgentSeen *seen)
{
	g_assert_cmpuint (seen->handshakes, ==, 0);
	g_assert_cmpuint (seen->failed, ==, 1);
	g_assert_cmpuint (seen->bytes, ==, 0);
	g_assert_cmpuint (seen->fresh, ==, 0);
	g_assert_cmpuint (seen->injections, ==, 0);
	g_assert_null (seen->luks_passphrase);
}

static void
test_ok (Fixture *f, gconstpointer data)
{
	g_autoptr (GError) error = NULL;
	g_autoptr (AcSnpOwnerLaunch) l = owner_launch (f, f->fw, f->roots);
	TestSnpAgentConfig c = agent_config (f, &f->boot);
	g_auto (GStrv) injected = NULL;
	TestSnpAgentSeen seen = unlock (&c, l, TIMEOUT_MS, &injected, &error);

	g_assert_no_error (error);
	g_assert_nonnull (injected);
	g_assert_cmpuint (g_strv_length (injected), ==, 1);
	g_assert_cmpstr (injected[0], ==, "luks_passphrase");
	g_assert_cmpint (ac_snp_owner_launch_get_state (l), ==, AC_TEE_LAUNCH_STATE_VERIFIED);
	/* two attested connections: the fresh report, then the injection */
	g_assert_cmpuint (seen.handshakes, ==, 2);
	g_assert_cmpuint (seen.failed, ==, 0);
	g_assert_cmpuint (seen.fresh, ==, 1);
	g_assert_cmpuint (seen.injections, ==, 1);
	g_assert_cmpuint (seen.injections_ok, ==, 1);
	g_assert_cmpstr (seen.luks_passphrase, ==, "correct horse battery staple");
	g_free (seen.luks_passphrase);
}

/* the certificate's report is refused inside the handshake: @code, nothing received */
static void
assert_refused_in_handshake (Fixture *f,
                             AcSnpFirmware *fw,
                             AcSnpRoots *roots,
                             const TestSnpAgentConfig *c,
                             gint code)
{
	g_autoptr (GError) error = NULL;
	g_autoptr (AcSnpOwnerLaunch) l = owner_launch (f, fw, roots);
	g_auto (GStrv) injected = NULL;
	TestSnpAgentSeen seen = unlock (c, l, TIMEOUT_MS, &injected, &error);

	g_assert_error (error, AC_ERROR, code);
	g_test_message ("refused: %s", error->message);
	g_assert_null (injected);
	g_assert_cmpint (ac_snp_owner_launch_get_state (l), ==, AC_TEE_LAUNCH_STATE_FAILED);
	assert_nothing_received (&seen);
}

/* a guest booted on @fw with @policy: its certificate refused in the handshake with @code */
static void
assert_boot_refused (Fixture *f, AcSnpFirmware *fw, AcSnpRoots *roots, guint64 policy, gint code)
{
	SnpTestBoot b = { 0 };
	TestSnpAgentConfig c;
	boot (f, fw, policy, &b);
	c = agent_config (f, &b);
	assert_refused_in_handshake (f, fw, roots, &c, code);
	snp_test_boot_clear (&b);
}

static void
test_other_chip (Fixture *f, gconstpointer data)
{
	ac_snp_firmware_set_attacks (f->fw, AC_SNP_FIRMWARE_ATTACK_OTHER_CHIP);
	assert_boot_refused (f, f->fw, f->roots, AC_SNP_POLICY_DEFAULT, AC_ERROR_UNTRUSTED);
}

static void
test_untrusted_root (Fixture *f, gconstpointer data)
{
	g_autoptr (AcSnpRoots) none = ac_snp_roots_new ();
	TestSnpAgentConfig c = agent_config (f, &f->boot);
	/* the software ARK, not trusted (no --trust): only AMD's roots would be */
	assert_refused_in_handshake (f, f->fw, none, &c, AC_ERROR_UNTRUSTED);
}

static void
test_wrong_measurement (Fixture *f, gconstpointer data)
{
	ac_snp_firmware_set_attacks (f->fw, AC_SNP_FIRMWARE_ATTACK_WRONG_MEASUREMENT);
	assert_boot_refused (f, f->fw, f->roots, AC_SNP_POLICY_DEFAULT, AC_ERROR_MISMATCH);
}

static void
test_debug_policy (Fixture *f, gconstpointer data)
{
	assert_boot_refused (f, f->fw, f->roots, AC_SNP_POLICY_DEFAULT | AC_SNP_POLICY_DEBUG,
	                     AC_ERROR_REFUSED);
}

static void
test_tcb_below_floor (Fixture *f, gconstpointer data)
{
	g_autoptr (AcSnpRoots) roots = NULL;
	g_autoptr (AcSnpFirmware) old = firmware_new (-1, &roots);
	assert_boot_refused (f, old, roots, AC_SNP_POLICY_DEFAULT, AC_ERROR_REFUSED);
}

/* a relay: the genuine report (bound to the guest's key) in a certificate of the relay's own
 * key, with which it does the TLS */
static void
test_relay_key (Fixture *f, gconstpointer data)
{
	g_autoptr (GError) error = NULL;
	g_autoptr (EVP_PKEY) relay_key = ac_snp_ratls_key_generate (&error);
	g_autoptr (GBytes) report = NULL;
	g_autoptr (GBytes) relay_cert = NULL;
	guint8 rd[AC_SNP_REPORT_DATA_SIZE];
	TestSnpAgentConfig c = agent_config (f, &f->boot);

	g_assert_true (
	    ac_snp_ratls_key_binding (f->boot.pk_raw, AC_SNP_RATLS_PK_RAW_SIZE, rd, &error));
	report = ac_snp_guest_get_report (f->boot.guest, rd, 1, &error);
	g_assert_no_error (error);
	relay_cert = ac_snp_ratls_cert_build (relay_key, g_bytes_get_data (report, NULL),
	                                      g_bytes_get_size (report), &error);
	g_assert_no_error (error);
	c.cert = relay_cert;
	c.key = relay_key;
	assert_refused_in_handshake (f, f->fw, f->roots, &c, AC_ERROR_MISMATCH);
}

/* the injection's connection reaches another guest (genuine, same launch, another key): its
 * handshake is refused, the secret never sent */
static void
test_relay_injection (Fixture *f, gconstpointer data)
{
	g_autoptr (GError) error = NULL;
	g_autoptr (AcSnpOwnerLaunch) l = owner_launch (f, f->fw, f->roots);
	g_auto (GStrv) injected = NULL;
	SnpTestBoot other = { 0 };
	TestSnpAgentConfig c = agent_config (f, &f->boot);
	TestSnpAgentSeen seen;

	boot (f, f->fw, AC_SNP_POLICY_DEFAULT, &other);
	c.later_cert = other.cert;
	c.later_key = other.key;
	seen = unlock (&c, l, TIMEOUT_MS, &injected, &error);
	g_assert_error (error, AC_ERROR, AC_ERROR_MISMATCH);
	g_test_message ("refused: %s", error->message);
	g_assert_null (injected);
	g_assert_cmpuint (seen.handshakes, ==, 1);
	g_assert_cmpuint (seen.failed, ==, 1);
	g_assert_cmpuint (seen.fresh, ==, 1);
	g_assert_cmpuint (seen.injections, ==, 0);
	g_assert_null (seen.luks_passphrase);
	snp_test_boot_clear (&other);
}

/* a fresh report for an earlier nonce: refused before any injection */
static void
test_stale_nonce (Fixture *f, gconstpointer data)
{
	g_autoptr (GError) error = NULL;
	g_autoptr (AcSnpOwnerLaunch) l = owner_launch (f, f->fw, f->roots);
	g_auto (GStrv) injected = NULL;
	guint8 earlier[AC_SNP_RATLS_NONCE_SIZE];
	TestSnpAgentConfig c = agent_config (f, &f->boot);
	TestSnpAgentSeen seen;

	memset (earlier, 0x5a, sizeof earlier);
	c.stale_nonce = earlier;
	seen = unlock (&c, l, TIMEOUT_MS, &injected, &error);
	g_assert_error (error, AC_ERROR, AC_ERROR_MISMATCH);
	g_test_message ("refused: %s", error->message);
	g_assert_null (injected);
	g_assert_cmpint (ac_snp_owner_launch_get_state (l), ==, AC_TEE_LAUNCH_STATE_FAILED);
	g_assert_cmpuint (seen.handshakes, ==, 1);
	g_assert_cmpuint (seen.fresh, ==, 1);
	g_assert_cmpuint (seen.injections, ==, 0);
	g_assert_null (seen.luks_passphrase);
}

/* an HTTP answer with @status_line and @body, its Content-Length right (kept in @keep) */
static const gchar *
http (GPtrArray *keep, const gchar *status_line, const gchar *body)
{
	gchar *a = g_strdup_printf (
	    "%s\r\nContent-Type: application/json\r\nContent-Length: %" G_GSIZE_FORMAT "\r\n\r\n%s",
	    status_line, strlen (body), body);
	g_ptr_array_add (keep, a);
	return a;
}

/* agents that ask for the secret before the client could verify get nothing */
static void
test_asks_first (Fixture *f, gconstpointer data)
{
	const gchar *ask = "HTTP/1.1 307 Temporary Redirect\r\nLocation: "
	                   "/confidential/inject-secret\r\nContent-Length: 0\r\n\r\n";
	g_autoptr (GPtrArray) keep = g_ptr_array_new_with_free_func (g_free);
	const gchar *ask401
	    = http (keep, "HTTP/1.1 401 Unauthorized", "{\"error\":\"send the luks_passphrase\"}");
	/* an agent whose report does not verify, asking right after its handshake */
	{
		SnpTestBoot b = { 0 };
		TestSnpAgentConfig c;
		ac_snp_firmware_set_attacks (f->fw, AC_SNP_FIRMWARE_ATTACK_OTHER_CHIP);
		boot (f, f->fw, AC_SNP_POLICY_DEFAULT, &b);
		ac_snp_firmware_set_attacks (f->fw, AC_SNP_FIRMWARE_ATTACK_NONE);
		c = agent_config (f, &b);
		c.hello = ask;
		assert_refused_in_handshake (f, f->fw, f->roots, &c, AC_ERROR_UNTRUSTED);
		snp_test_boot_clear (&b);
	}
	/* a genuine agent that answers the nonce with a request for the secret: redirect,
	 * unsolicited answer */
	for (guint i = 0; i < 2; i++) {
		g_autoptr (GError) error = NULL;
		g_autoptr (AcSnpOwnerLaunch) l = owner_launch (f, f->fw, f->roots);
		g_auto (GStrv) injected = NULL;
		TestSnpAgentConfig c = agent_config (f, &f->boot);
		TestSnpAgentSeen seen;
		if (i == 0)
			c.fresh_answer = ask;
		else
			c.hello = ask401;
		seen = unlock (&c, l, TIMEOUT_MS, &injected, &error);
		g_assert_error (error, AC_ERROR, AC_ERROR_REMOTE);
		g_test_message ("refused: %s", error->message);
		g_assert_null (injected);
		g_assert_cmpint (ac_snp_owner_launch_get_state (l), !=,
		                 AC_TEE_LAUNCH_STATE_VERIFIED);
		g_assert_cmpuint (seen.handshakes, ==, 1);
		g_assert_cmpuint (seen.injections, ==, 0);
		g_assert_null (seen.luks_passphrase);
	}
}

/* hostile answers to the nonce: each refused with AC_ERROR_REMOTE, nothing injected */
static void
test_hostile_answers (Fixture *f, gconstpointer data)
{
	g_autoptr (GPtrArray) keep = g_ptr_array_new_with_free_func (g_free);
	g_autofree gchar *big = g_strdup_printf ("HTTP/1.1 200 OK\r\nX: %0*d\r\n\r\n", 20000, 0);
	g_autofree gchar *hex = g_strnfill (2 * AC_SNP_REPORT_SIZE, 'a');
	g_autofree gchar *upper
	    = g_strdup_printf ("{\"tee_type\":\"sev-snp\",\"data\":\"A%s\"}", hex + 1);
	g_autofree gchar *extra
	    = g_strdup_printf ("{\"tee_type\":\"sev-snp\",\"data\":\"%s\",\"x\":1}", hex);
	g_autofree gchar *shorter
	    = g_strdup_printf ("{\"tee_type\":\"sev-snp\",\"data\":\"%s\"}", hex + 2);
	g_autofree gchar *tdx = g_strdup_printf ("{\"tee_type\":\"tdx\",\"data\":\"%s\"}", hex);
	g_autofree gchar *huge
	    = g_strdup_printf ("{\"tee_type\":\"sev-snp\",\"data\":\"%s%s%s\"}", hex, hex, hex + 1);
	const gchar *cases[] = {
		"garbage\r\n\r\n",
		"HTTP/2 200\r\n\r\n{}",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 99999999\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n{}",
		"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n{\"tee_type\":",
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}trailing",
		"HTTP/1.1 200 OK\r\nBad Header\r\n\r\n",
		"HTTP/1.1 200 OK\r\nX: a\x01b\r\n\r\n",
		big,
		"",
		http (keep, "HTTP/1.1 200 OK", "[]"),
		http (keep, "HTTP/1.1 200 OK", "{\"tee_type\":"),
		http (keep, "HTTP/1.1 200 OK", tdx),
		http (keep, "HTTP/1.1 200 OK", upper),
		http (keep, "HTTP/1.1 200 OK", extra),
		http (keep, "HTTP/1.1 200 OK", shorter),
		http (keep, "HTTP/1.1 200 OK", huge),
		http (keep, "HTTP/1.1 500 Oops", "{\"error\":\"\\u0001boom\"}"),
		http (keep, "HTTP/1.1 400 Bad Request", "{\"error\":\"invalid hex nonce\"}"),
	};

	for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
		g_autoptr (GError) error = NULL;
		g_autoptr (AcSnpOwnerLaunch) l = owner_launch (f, f->fw, f->roots);
		g_auto (GStrv) injected = NULL;
		TestSnpAgentConfig c = agent_config (f, &f->boot);
		TestSnpAgentSeen seen;
		c.fresh_answer = cases[i];
		seen = unlock (&c, l, TIMEOUT_MS, &injected, &error);
		g_assert_error (error, AC_ERROR, AC_ERROR_REMOTE);
		g_test_message ("case %u: %s", i, error->message);
		g_assert_null (injected);
		g_assert_cmpint (ac_snp_owner_launch_get_state (l), ==,
		                 AC_TEE_LAUNCH_STATE_PLATFORM_TRUSTED);
		g_assert_cmpuint (seen.fresh, ==, 1);
		g_assert_cmpuint (seen.injections, ==, 0);
	}
}

/* the agent's answer to the injection must list exactly what was sent */
static void
test_injected_answer (Fixture *f, gconstpointer data)
{
	g_autoptr (GPtrArray) keep = g_ptr_array_new_with_free_func (g_free);
	const gchar *answers[] = {
		http (keep, "HTTP/1.1 200 OK", "{\"injected\":[\"other\"]}"),
		http (keep, "HTTP/1.1 200 OK", "{\"injected\":[]}"),
		http (keep, "HTTP/1.1 200 OK",
		      "{\"injected\":[\"luks_passphrase\",\"luks_passphrase\"]}"),
	};
	for (guint i = 0; i < G_N_ELEMENTS (answers); i++) {
		g_autoptr (GError) error = NULL;
		g_autoptr (AcSnpOwnerLaunch) l = owner_launch (f, f->fw, f->roots);
		g_auto (GStrv) injected = NULL;
		TestSnpAgentConfig c = agent_config (f, &f->boot);
		TestSnpAgentSeen seen;
		c.inject_answer = answers[i];
		seen = unlock (&c, l, TIMEOUT_MS, &injected, &error);
		g_assert_error (error, AC_ERROR, AC_ERROR_MISMATCH);
		g_test_message ("answer %u: %s", i, error->message);
		g_assert_null (injected);
		g_assert_cmpuint (seen.injections_ok, ==, 1);
		g_free (seen.luks_passphrase);
	}
	/* an answer that is no answer */
	{
		g_autoptr (GError) error = NULL;
		g_autoptr (AcSnpOwnerLaunch) l = owner_launch (f, f->fw, f->roots);
		g_auto (GStrv) injected = NULL;
		TestSnpAgentConfig c = agent_config (f, &f->boot);
		TestSnpAgentSeen seen;
		c.inject_answer
		    = http (keep, "HTTP/1.1 200 OK", "{\"injected\":\"luks_passphrase\"}");
		seen = unlock (&c, l, TIMEOUT_MS, &injected, &error);
		g_assert_error (error, AC_ERROR, AC_ERROR_REMOTE);
		g_assert_null (injected);
		g_free (seen.luks_passphrase);
	}
}

/* a 403 (the agent's key changed, or another owner) is the agent's error, surfaced */
static void
test_other_owner (Fixture *f, gconstpointer data)
{
	g_autoptr (GError) error = NULL;
	g_autoptr (AcSnpOwnerLaunch) l = owner_launch (f, f->fw, f->roots);
	g_auto (GStrv) injected = NULL;
	TestSnpAgentConfig c = agent_config (f, &f->boot);
	TestSnpAgentSeen seen;

	c.owner = "0x0000000000000000000000000000000000000001";
	seen = unlock (&c, l, TIMEOUT_MS, &injected, &error);
	g_assert_error (error, AC_ERROR, AC_ERROR_REMOTE);
	g_assert_nonnull (strstr (error->message, "HTTP 403"));
	g_assert_nonnull (strstr (error->message, "owner signature verification failed"));
	g_assert_null (injected);
	g_assert_cmpuint (seen.injections, ==, 1);
	g_assert_cmpuint (seen.injections_ok, ==, 0);
}

static void
test_timeout (Fixture *f, gconstpointer data)
{
	g_autoptr (GError) error = NULL;
	g_autoptr (AcSnpOwnerLaunch) l = owner_launch (f, f->fw, f->roots);
	g_auto (GStrv) injected = NULL;
	TestSnpAgentConfig c = agent_config (f, &f->boot);
	gint64 start = g_get_monotonic_time ();
	TestSnpAgentSeen seen;

	c.silent = TRUE;
	seen = unlock (&c, l, 1500, &injected, &error);
	g_assert_error (error, AC_ERROR, AC_ERROR_NETWORK);
	g_assert_nonnull (strstr (error->message, "no answer within 1500 ms"));
	g_assert_cmpint (g_get_monotonic_time () - start, <, 8 * G_USEC_PER_SEC);
	g_assert_cmpuint (seen.injections, ==, 0);
}

/* out of order: an injection with a launch not verified sends nothing, connects nowhere */
static void
test_inject_unverified (Fixture *f, gconstpointer data)
{
	g_autoptr (GError) error = NULL;
	g_autoptr (AcSnpOwnerLaunch) l = owner_launch (f, f->fw, f->roots);
	g_autoptr (GBytes) secrets = g_bytes_new_static (SECRETS, strlen (SECRETS));
	TestSnpAgentConfig c = agent_config (f, &f->boot);
	g_autoptr (TestSnpAgent) agent = test_snp_agent_start (&c);
	g_auto (GStrv) injected = ac_aleph_snp_attest_inject (HOST, test_snp_agent_get_port (agent),
	                                                      l, secrets, TIMEOUT_MS, NULL, &error);
	const TestSnpAgentSeen *seen = test_snp_agent_stop (agent);

	g_assert_error (error, AC_ERROR, AC_ERROR_REFUSED);
	g_assert_null (injected);
	g_assert_cmpuint (seen->handshakes + seen->failed, ==, 0);
}

static void
test_cancelled (Fixture *f, gconstpointer data)
{
	g_autoptr (GError) error = NULL;
	g_autoptr (AcSnpOwnerLaunch) l = owner_launch (f, f->fw, f->roots);
	g_autoptr (GCancellable) cancellable = g_cancellable_new ();
	TestSnpAgentConfig c = agent_config (f, &f->boot);
	g_autoptr (TestSnpAgent) agent = test_snp_agent_start (&c);

	g_cancellable_cancel (cancellable);
	g_assert_false (ac_aleph_snp_attest (HOST, test_snp_agent_get_port (agent), l, TIMEOUT_MS,
	                                     cancellable, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_CANCELLED);
	g_assert_cmpuint (test_snp_agent_stop (agent)->bytes, ==, 0);
}

#define KDS_BASE "https://kds.test"

/* a KDS answering for the firmware's chip; records when it was asked */
typedef struct {
	AcSnpFirmware *fw;
	TestSnpAgent *agent;
	guint calls;
	gsize agent_bytes_at_fetch;
	gboolean down;
} FakeKds;

static GBytes *
fake_kds_fetch (const gchar *url, gpointer user_data, GCancellable *cancellable, GError **error)
{
	FakeKds *k = user_data;
	/* the first fetch is the certificate's, in the handshake (the fresh report's
	 * verification may fetch again, after the nonce request) */
	if (k->calls++ == 0)
		k->agent_bytes_at_fetch = test_snp_agent_peek_bytes (k->agent);
	if (k->down) {
		g_set_error (error, AC_ERROR, AC_ERROR_NETWORK, "GET %s: KDS unreachable", url);
		return NULL;
	}
	g_assert_true (g_str_has_prefix (url, KDS_BASE "/"));
	return ac_snp_firmware_kds_answer (k->fw, url + strlen (KDS_BASE), error);
}

/* the VCEK is not given: the certificate callback fetches it from the KDS, inside the
 * handshake, before the agent received anything; a KDS that fails refuses the handshake */
static void
test_kds_in_handshake (Fixture *f, gconstpointer data)
{
	for (guint down = 0; down < 2; down++) {
		g_autoptr (GError) error = NULL;
		g_autoptr (GBytes) secrets = g_bytes_new_static (SECRETS, strlen (SECRETS));
		FakeKds k = { .fw = f->fw, .down = down, .agent_bytes_at_fetch = G_MAXSIZE };
		g_autoptr (AcSnpKds) kds = ac_snp_kds_new (KDS_BASE, NULL, fake_kds_fetch, &k);
		AcSnpCertSource certs = { .intermediate = ac_snp_firmware_get_ask (f->fw),
			                  .ark = ac_snp_firmware_get_ark (f->fw),
			                  .kds = kds };
		AcSnpVerifyExpect e = { 0 };
		g_autoptr (AcSnpOwnerLaunch) l = NULL;
		TestSnpAgentConfig c = agent_config (f, &f->boot);
		g_autoptr (TestSnpAgent) agent = test_snp_agent_start (&c);
		g_auto (GStrv) injected = NULL;
		const TestSnpAgentSeen *seen;

		ac_snp_verify_policy_init (&e.policy);
		e.policy.have_expected_policy = TRUE;
		e.policy.expected_policy = AC_SNP_POLICY_DEFAULT;
		e.measurements = (const guint8 (*)[AC_SNP_MEASUREMENT_SIZE])f->guest.measurement;
		e.n_measurements = 1;
		l = ac_snp_owner_launch_new (f->roots, &certs, &e, ac_aleph_snp_inject_sign,
		                             f->owner, &error);
		g_assert_no_error (error);
		k.agent = agent;
		injected = ac_aleph_snp_attest_unlock (HOST, test_snp_agent_get_port (agent), l,
		                                       secrets, TIMEOUT_MS, NULL, &error);
		seen = test_snp_agent_stop (agent);
		g_assert_cmpuint (k.calls, >=, 1);
		g_assert_cmpuint (k.agent_bytes_at_fetch, ==, 0);
		if (!down) {
			g_assert_no_error (error);
			g_assert_nonnull (injected);
			g_assert_cmpstr (seen->luks_passphrase, ==, "correct horse battery staple");
		} else {
			g_assert_error (error, AC_ERROR, AC_ERROR_NETWORK);
			g_test_message ("refused: %s", error->message);
			g_assert_null (injected);
			assert_nothing_received (seen);
		}
	}
}

/* the fresh report's body, parsed alone: the report bytes, or a refusal naming the peer */
static void
test_parse_fresh (void)
{
	g_autofree gchar *hex = g_strnfill (2 * AC_SNP_REPORT_SIZE, 'a');
	g_autofree gchar *ok = g_strdup_printf (
	    "{\"tee_type\":\"sev-snp\",\"data\":\"%s\",\"report_data\":\"00\"}", hex);
	g_autofree gchar *upper
	    = g_strdup_printf ("{\"tee_type\":\"sev-snp\",\"data\":\"A%s\"}", hex + 1);
	g_autofree gchar *shorter
	    = g_strdup_printf ("{\"tee_type\":\"sev-snp\",\"data\":\"%s\"}", hex + 2);
	g_autofree gchar *tdx = g_strdup_printf ("{\"tee_type\":\"tdx\",\"data\":\"%s\"}", hex);
	const struct {
		const gchar *body;
		const gchar *message;
	} refused[] = {
		{ "[]", "agent peer: fresh report: JSON an array, expected an object" },
		{ "{\"tee_type\":\"sev-snp\",\"x\":1}",
		  "agent peer: fresh report field 'x': unknown member: expected one of tee_type, "
		  "data, report_data, measurement" },
		{ "{\"tee_type\":\"sev-snp\"}",
		  "agent peer: fresh report field 'data': missing: a string is required" },
		{ tdx, "agent peer: fresh report: tee_type \"tdx\", expected \"sev-snp\"" },
		{ shorter,
		  "agent peer: fresh report: data of 2366 hex digits, expected 2368 (a 1184-byte "
		  "report)" },
		{ upper,
		  "agent peer: fresh report: invalid hex digit at offset 0, expected 0-9a-f" },
	};
	guint8 report[AC_SNP_REPORT_SIZE];

	{
		g_autoptr (GError) error = NULL;
		g_autoptr (GBytes) body = g_bytes_new (ok, strlen (ok));
		g_assert_true (ac_aleph_snp_attest_parse_fresh ("peer", body, report, &error));
		g_assert_no_error (error);
		for (guint i = 0; i < sizeof (report); i++)
			g_assert_cmpuint (report[i], ==, 0xaa);
	}
	for (guint i = 0; i < G_N_ELEMENTS (refused); i++) {
		g_autoptr (GError) error = NULL;
		g_autoptr (GBytes) body = g_bytes_new (refused[i].body, strlen (refused[i].body));
		g_assert_false (ac_aleph_snp_attest_parse_fresh ("peer", body, report, &error));
		g_assert_error (error, AC_ERROR, AC_ERROR_REMOTE);
		g_test_message ("case %u: %s", i, error->message);
		g_assert_cmpstr (error->message, ==, refused[i].message);
	}
}

int
main (int argc, char **argv)
{
	int ret;
	g_test_init (&argc, &argv, NULL);
#define ADD(name, fn)                                                                              \
	g_test_add ("/aleph/snp-attest/" name, Fixture, NULL, fixture_setup, fn, fixture_teardown)
	ADD ("ok", test_ok);
	ADD ("other-chip", test_other_chip);
	ADD ("untrusted-root", test_untrusted_root);
	ADD ("wrong-measurement", test_wrong_measurement);
	ADD ("debug-policy", test_debug_policy);
	ADD ("tcb-below-floor", test_tcb_below_floor);
	ADD ("relay-key", test_relay_key);
	ADD ("relay-injection", test_relay_injection);
	ADD ("stale-nonce", test_stale_nonce);
	ADD ("asks-first", test_asks_first);
	ADD ("hostile-answers", test_hostile_answers);
	ADD ("injected-answer", test_injected_answer);
	ADD ("other-owner", test_other_owner);
	ADD ("timeout", test_timeout);
	ADD ("inject-unverified", test_inject_unverified);
	ADD ("cancelled", test_cancelled);
	ADD ("kds-in-handshake", test_kds_in_handshake);
	g_test_add_func ("/aleph/snp-attest/parse-fresh", test_parse_fresh);
	ret = g_test_run ();
	g_clear_pointer (&shared_roots, ac_snp_roots_unref);
	g_clear_pointer (&shared_fw, ac_snp_firmware_free);
	return ret;
}
