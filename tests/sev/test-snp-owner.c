/*
 * The guest owner's SEV-SNP launch on Aleph (AcSnpOwnerLaunch) against the software SNP
 * firmware playing an Aleph guest's agent: a TLS key per boot, a certificate carrying a report
 * bound to it, fresh reports for the owner's nonce. The ok path, a relay (a report bound to
 * another TLS key), a stale nonce, another guest, a wrong launch, sealing out of order, and a
 * failed check leaving the launch failed for good.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <openssl/evp.h>
#include <string.h>

#include "ac-codec.h"
#include "ac-error.h"
#include "ac-snp-firmware.h"
#include "ac-snp-owner.h"
#include "test-snp-common.h"

G_DEFINE_AUTOPTR_CLEANUP_FUNC (EVP_PKEY, EVP_PKEY_free)

typedef struct {
	AcSnpFirmware *fw;
	AcSnpRoots *roots;
	SnpTestGuest guest;
	SnpTestBoot agent; /* an Aleph guest as its agent shows it */
	/* what the fake signer saw */
	gchar signed_text[AC_SNP_INJECT_PAYLOAD_LEN + 1];
	guint n_signed;
} Fixture;

/* a signer that records the text and returns a fixed signature (secp256k1 is plugin/aleph's;
 * tests/aleph checks the real one) */
static gboolean
fake_sign (const gchar *payload,
           gsize len,
           guint8 sig[AC_SNP_INJECT_SIGNATURE_LEN],
           gpointer data,
           GError **error)
{
	Fixture *f = data;
	g_assert_cmpuint (len, ==, AC_SNP_INJECT_PAYLOAD_LEN);
	memcpy (f->signed_text, payload, len);
	f->signed_text[len] = '\0';
	f->n_signed++;
	memset (sig, 0xab, AC_SNP_INJECT_SIGNATURE_LEN);
	sig[64] = 28;
	return TRUE;
}

/* the fixture's guest launched with @policy, its agent's key and certificate in @a */
static void
agent_boot (Fixture *f, SnpTestBoot *a, guint64 policy)
{
	snp_test_boot (a, f->fw, &f->guest.inputs, policy);
}

/* GET /.well-known/attestation?nonce=: a report for the fresh binding of @pk_raw and @nonce */
static GBytes *
agent_fresh (SnpTestBoot *a, const guint8 *pk_raw, const guint8 *nonce)
{
	g_autoptr (GError) error = NULL;
	guint8 rd[AC_SNP_REPORT_DATA_SIZE];
	GBytes *r;
	g_assert_true (ac_snp_ratls_fresh_binding (pk_raw, AC_SNP_RATLS_PK_RAW_SIZE, nonce,
	                                           AC_SNP_RATLS_NONCE_SIZE, rd, &error));
	r = ac_snp_guest_get_report (a->guest, rd, 1, &error);
	g_assert_no_error (error);
	return r;
}

static void
fixture_setup (Fixture *f, gconstpointer data)
{
	f->fw = snp_test_firmware_new (AC_SNP_PRODUCT_MILAN, NULL, &f->roots);
	/* the owner computes the launch digest on its side */
	snp_test_guest_init (
	    &f->guest, "console=ttyS0 luks=1 owner=0x17c5185167401ed00cf5f5b2fc97d9bbfdb7d025", 2,
	    "EPYC-v4");
	agent_boot (f, &f->agent, AC_SNP_POLICY_DEFAULT);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
	snp_test_boot_clear (&f->agent);
	ac_snp_roots_unref (f->roots);
	ac_snp_firmware_free (f->fw);
	snp_test_guest_clear (&f->guest);
}

static AcSnpOwnerLaunch *
owner_launch (Fixture *f)
{
	return snp_test_owner_launch (f->fw, f->roots, f->guest.measurement, fake_sign, f);
}

static gboolean
platform (AcSnpOwnerLaunch *l, GBytes *cert, GError **error)
{
	return ac_snp_owner_launch_verify_platform (l, g_bytes_get_data (cert, NULL),
	                                            g_bytes_get_size (cert), NULL, error);
}

static gboolean
bind (AcSnpOwnerLaunch *l, const guint8 *pk_raw, GBytes *report, GError **error)
{
	return ac_snp_owner_launch_bind (l, pk_raw, AC_SNP_RATLS_PK_RAW_SIZE,
	                                 g_bytes_get_data (report, NULL), g_bytes_get_size (report),
	                                 error);
}

static void
assert_failed_for_good (AcSnpOwnerLaunch *l, Fixture *f)
{
	g_autoptr (GError) error = NULL;
	g_autoptr (AcTeeSealedSecret) sealed = NULL;
	g_autoptr (GBytes) secrets = g_bytes_new_static ("{\"luks_passphrase\":\"x\"}", 23);

	g_assert_cmpint (ac_snp_owner_launch_get_state (l), ==, AC_TEE_LAUNCH_STATE_FAILED);
	/* even the genuine evidence is refused now */
	g_assert_false (platform (l, f->agent.cert, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_REFUSED);
	g_clear_error (&error);
	g_assert_false (ac_snp_owner_launch_verify (l, NULL, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_REFUSED);
	g_clear_error (&error);
	g_assert_false (ac_snp_owner_launch_check_channel (
	    l, g_bytes_get_data (f->agent.cert, NULL), g_bytes_get_size (f->agent.cert), &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_REFUSED);
	g_clear_error (&error);
	g_assert_false (ac_snp_owner_launch_seal (l, secrets, &sealed, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_REFUSED);
	g_assert_null (sealed);
	g_assert_cmpuint (f->n_signed, ==, 0);
	g_assert_cmpint (ac_snp_owner_launch_get_state (l), ==, AC_TEE_LAUNCH_STATE_FAILED);
}

static void
test_ok (Fixture *f, gconstpointer data)
{
	g_autoptr (AcSnpOwnerLaunch) l = owner_launch (f);
	g_autoptr (GError) error = NULL;
	g_autoptr (GBytes) fresh = NULL;
	g_autoptr (AcTeeSealedSecret) sealed = NULL;
	g_autoptr (GBytes) secrets = NULL;
	g_autoptr (AcSnpSecrets) expect_secrets = NULL;
	g_autofree gchar *nonce_hex = ac_snp_owner_launch_get_nonce_hex (l);
	const AcSnpVerifyResult *r;
	gchar want_text[AC_SNP_INJECT_PAYLOAD_LEN + 1];
	const gchar *json
	    = "{\"luks_passphrase\":\"correct horse\",\"authorized_keys\":\"ssh-ed25519 A\"}";

	g_assert_cmpint (ac_snp_owner_launch_get_state (l), ==, AC_TEE_LAUNCH_STATE_NEW);
	g_assert_cmpuint (strlen (nonce_hex), ==, 2 * AC_SNP_RATLS_NONCE_SIZE);
	g_assert_true (platform (l, f->agent.cert, &error));
	g_assert_no_error (error);
	g_assert_cmpint (ac_snp_owner_launch_get_state (l), ==,
	                 AC_TEE_LAUNCH_STATE_PLATFORM_TRUSTED);
	g_assert_cmpmem (ac_snp_owner_launch_get_pk_raw (l), AC_SNP_RATLS_PK_RAW_SIZE,
	                 f->agent.pk_raw, AC_SNP_RATLS_PK_RAW_SIZE);
	r = ac_snp_owner_launch_get_result (l);
	g_assert_true (r->measurement_checked && r->report_data_checked);

	fresh = agent_fresh (&f->agent, f->agent.pk_raw, ac_snp_owner_launch_get_nonce (l));
	g_assert_true (bind (l, f->agent.pk_raw, fresh, &error));
	g_assert_no_error (error);
	g_assert_cmpint (ac_snp_owner_launch_get_state (l), ==, AC_TEE_LAUNCH_STATE_KEYED);
	g_assert_true (ac_snp_owner_launch_verify (l, NULL, &error));
	g_assert_no_error (error);
	g_assert_cmpint (ac_snp_owner_launch_get_state (l), ==, AC_TEE_LAUNCH_STATE_VERIFIED);
	r = ac_snp_owner_launch_get_result (l);
	g_assert_cmpmem (r->report.measurement, AC_SNP_MEASUREMENT_SIZE, f->guest.measurement,
	                 AC_SNP_MEASUREMENT_SIZE);
	g_assert_cmpmem (r->report.raw, AC_SNP_REPORT_SIZE, g_bytes_get_data (fresh, NULL),
	                 AC_SNP_REPORT_SIZE);

	/* the injection's connection presents the attested key */
	g_assert_true (ac_snp_owner_launch_check_channel (
	    l, g_bytes_get_data (f->agent.cert, NULL), g_bytes_get_size (f->agent.cert), &error));
	g_assert_no_error (error);

	/* sealed through the generic seam: the text signed is bound to the attested key */
	secrets = g_bytes_new_static (json, strlen (json));
	g_assert_true (
	    ac_tee_launch_seal (ac_snp_owner_launch_get_tee (l), secrets, NULL, &sealed, &error));
	g_assert_no_error (error);
	g_assert_cmpuint (f->n_signed, ==, 1);
	expect_secrets = ac_snp_secrets_parse_json (json, strlen (json), &error);
	g_assert_true (ac_snp_inject_payload (f->agent.pk_raw, AC_SNP_RATLS_PK_RAW_SIZE,
	                                      expect_secrets, want_text, &error));
	g_assert_cmpstr (f->signed_text, ==, want_text);
	g_assert_cmpmem (g_bytes_get_data (sealed->header, NULL), g_bytes_get_size (sealed->header),
	                 want_text, AC_SNP_INJECT_PAYLOAD_LEN);
	{
		g_autoptr (AcSnpSecrets) got = NULL;
		g_autoptr (GBytes) a = NULL;
		g_autoptr (GBytes) b = NULL;
		guint8 sig[AC_SNP_INJECT_SIGNATURE_LEN];
		g_assert_true (ac_snp_inject_body_parse (g_bytes_get_data (sealed->payload, NULL),
		                                         g_bytes_get_size (sealed->payload), &got,
		                                         sig, &error));
		g_assert_no_error (error);
		g_assert_cmpuint (sig[0], ==, 0xab);
		a = ac_snp_secrets_to_canonical (got);
		b = ac_snp_secrets_to_canonical (expect_secrets);
		g_assert_true (g_bytes_equal (a, b));
	}
	/* a fixed IV means nothing here */
	{
		g_autoptr (GBytes) iv = g_bytes_new_static ("0123456789abcdef", 16);
		g_autoptr (AcTeeSealedSecret) s2 = NULL;
		g_assert_false (
		    ac_tee_launch_seal (ac_snp_owner_launch_get_tee (l), secrets, iv, &s2, &error));
		g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
		g_clear_error (&error);
	}
	/* nothing to inject, or a malformed map: refused, the launch stays verified */
	{
		g_autoptr (GBytes) empty = g_bytes_new_static ("{}", 2);
		g_autoptr (GBytes) bad = g_bytes_new_static ("{\"a b\":\"x\"}", 11);
		g_autoptr (AcTeeSealedSecret) s2 = NULL;
		g_assert_false (ac_snp_owner_launch_seal (l, empty, &s2, &error));
		g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
		g_clear_error (&error);
		g_assert_false (ac_snp_owner_launch_seal (l, bad, &s2, &error));
		g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
		g_clear_error (&error);
		g_assert_cmpint (ac_snp_owner_launch_get_state (l), ==,
		                 AC_TEE_LAUNCH_STATE_VERIFIED);
	}
	/* another server for the injection (another key, e.g. after a reboot) */
	{
		SnpTestBoot other = { 0 };
		agent_boot (f, &other, AC_SNP_POLICY_DEFAULT);
		g_assert_false (ac_snp_owner_launch_check_channel (
		    l, g_bytes_get_data (other.cert, NULL), g_bytes_get_size (other.cert), &error));
		g_assert_error (error, AC_ERROR, AC_ERROR_MISMATCH);
		snp_test_boot_clear (&other);
	}
}

static void
test_seal_before_verified (Fixture *f, gconstpointer data)
{
	g_autoptr (AcSnpOwnerLaunch) l = owner_launch (f);
	g_autoptr (GBytes) secrets = g_bytes_new_static ("{\"luks_passphrase\":\"x\"}", 23);
	g_autoptr (GBytes) fresh = NULL;
	GError *error = NULL;
	AcTeeSealedSecret *sealed = NULL;

	for (guint step = 0; step < 3; step++) {
		if (step == 1)
			g_assert_true (platform (l, f->agent.cert, NULL));
		if (step == 2) {
			fresh = agent_fresh (&f->agent, f->agent.pk_raw,
			                     ac_snp_owner_launch_get_nonce (l));
			g_assert_true (bind (l, f->agent.pk_raw, fresh, NULL));
		}
		g_assert_false (ac_snp_owner_launch_seal (l, secrets, &sealed, &error));
		g_assert_error (error, AC_ERROR, AC_ERROR_REFUSED);
		g_assert_nonnull (strstr (error->message, "verified first"));
		g_clear_error (&error);
		g_assert_null (sealed);
	}
	g_assert_cmpuint (f->n_signed, ==, 0);
	/* refusing an early seal is not a failed check: the launch goes on */
	g_assert_cmpint (ac_snp_owner_launch_get_state (l), ==, AC_TEE_LAUNCH_STATE_KEYED);
	/* steps out of order are refused too */
	g_assert_false (platform (l, f->agent.cert, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_REFUSED);
	g_clear_error (&error);
	g_assert_true (ac_snp_owner_launch_verify (l, NULL, &error));
	g_assert_no_error (error);
	g_assert_true (ac_snp_owner_launch_seal (l, secrets, &sealed, &error));
	g_assert_no_error (error);
	ac_tee_sealed_secret_free (sealed);
	{
		/* binding before the certificate was verified */
		g_autoptr (AcSnpOwnerLaunch) l2 = owner_launch (f);
		g_assert_false (bind (l2, f->agent.pk_raw, fresh, &error));
		g_assert_error (error, AC_ERROR, AC_ERROR_REFUSED);
		g_clear_error (&error);
		g_assert_false (ac_snp_owner_launch_verify (l2, NULL, &error));
		g_assert_error (error, AC_ERROR, AC_ERROR_REFUSED);
		g_clear_error (&error);
		g_assert_cmpint (ac_snp_owner_launch_get_state (l2), ==, AC_TEE_LAUNCH_STATE_NEW);
	}
}

/* a relay: a server with its own TLS key presents the genuine guest's report (bound to the
 * guest's key) */
static void
test_relay_certificate (Fixture *f, gconstpointer data)
{
	g_autoptr (AcSnpOwnerLaunch) l = owner_launch (f);
	g_autoptr (GError) error = NULL;
	g_autoptr (EVP_PKEY) attacker = ac_snp_ratls_key_generate (NULL);
	g_autoptr (AcSnpRatlsCert) genuine = ac_snp_ratls_cert_parse (
	    g_bytes_get_data (f->agent.cert, NULL), g_bytes_get_size (f->agent.cert), NULL);
	g_autoptr (GBytes) relay
	    = ac_snp_ratls_cert_build (attacker, genuine->report, sizeof genuine->report, NULL);

	g_assert_false (platform (l, relay, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_MISMATCH);
	g_assert_nonnull (strstr (error->message, "the agent's certificate"));
	g_assert_nonnull (strstr (error->message, "REPORT_DATA"));
	assert_failed_for_good (l, f);
}

/* a relay of the fresh report: the genuine guest was asked for a report bound to another key
 * (the relay's), or the fresh report arrives on another connection */
static void
test_relay_fresh (Fixture *f, gconstpointer data)
{
	g_autoptr (GError) error = NULL;
	g_autoptr (EVP_PKEY) attacker = ac_snp_ratls_key_generate (NULL);
	guint8 attacker_pk[AC_SNP_RATLS_PK_RAW_SIZE];

	g_assert_true (ac_snp_ratls_pk_raw_from_key (attacker, attacker_pk, NULL));
	{
		g_autoptr (AcSnpOwnerLaunch) l = owner_launch (f);
		g_autoptr (GBytes) fresh = NULL;
		g_assert_true (platform (l, f->agent.cert, NULL));
		fresh = agent_fresh (&f->agent, attacker_pk, ac_snp_owner_launch_get_nonce (l));
		g_assert_false (bind (l, f->agent.pk_raw, fresh, &error));
		g_assert_error (error, AC_ERROR, AC_ERROR_MISMATCH);
		g_assert_nonnull (strstr (error->message, "relayed or stale"));
		g_clear_error (&error);
		assert_failed_for_good (l, f);
	}
	{
		g_autoptr (AcSnpOwnerLaunch) l = owner_launch (f);
		g_autoptr (GBytes) fresh = NULL;
		g_assert_true (platform (l, f->agent.cert, NULL));
		fresh = agent_fresh (&f->agent, attacker_pk, ac_snp_owner_launch_get_nonce (l));
		g_assert_false (bind (l, attacker_pk, fresh, &error));
		g_assert_error (error, AC_ERROR, AC_ERROR_MISMATCH);
		g_assert_nonnull (strstr (error->message, "not the attested one"));
		g_clear_error (&error);
		assert_failed_for_good (l, f);
	}
}

/* a stale report: one made for an earlier launch's nonce, or the firmware replaying the
 * certificate's report */
static void
test_stale_nonce (Fixture *f, gconstpointer data)
{
	g_autoptr (GError) error = NULL;
	g_autoptr (GBytes) old = NULL;
	{
		g_autoptr (AcSnpOwnerLaunch) first = owner_launch (f);
		g_assert_true (platform (first, f->agent.cert, NULL));
		old = agent_fresh (&f->agent, f->agent.pk_raw,
		                   ac_snp_owner_launch_get_nonce (first));
		g_assert_true (bind (first, f->agent.pk_raw, old, &error));
		g_assert_true (ac_snp_owner_launch_verify (first, NULL, &error));
		g_assert_no_error (error);
	}
	{
		g_autoptr (AcSnpOwnerLaunch) l = owner_launch (f);
		g_assert_true (platform (l, f->agent.cert, NULL));
		g_assert_false (bind (l, f->agent.pk_raw, old, &error));
		g_assert_error (error, AC_ERROR, AC_ERROR_MISMATCH);
		g_assert_nonnull (strstr (error->message, "relayed or stale"));
		g_clear_error (&error);
		assert_failed_for_good (l, f);
	}
	{
		g_autoptr (AcSnpOwnerLaunch) l = owner_launch (f);
		g_autoptr (GBytes) replayed = NULL;
		g_assert_true (platform (l, f->agent.cert, NULL));
		ac_snp_firmware_set_attacks (f->fw, AC_SNP_FIRMWARE_ATTACK_REPLAY);
		replayed
		    = agent_fresh (&f->agent, f->agent.pk_raw, ac_snp_owner_launch_get_nonce (l));
		ac_snp_firmware_set_attacks (f->fw, AC_SNP_FIRMWARE_ATTACK_NONE);
		g_assert_false (bind (l, f->agent.pk_raw, replayed, &error));
		g_assert_error (error, AC_ERROR, AC_ERROR_MISMATCH);
		g_clear_error (&error);
		assert_failed_for_good (l, f);
	}
}

/* a fresh report from another guest of the same chip and launch, bound to our key and nonce:
 * signed and bound, but not the guest whose certificate was verified */
static void
test_other_guest (Fixture *f, gconstpointer data)
{
	g_autoptr (AcSnpOwnerLaunch) l = owner_launch (f);
	g_autoptr (GError) error = NULL;
	g_autoptr (GBytes) fresh = NULL;
	SnpTestBoot other = { 0 };

	agent_boot (f, &other, AC_SNP_POLICY_DEFAULT);
	g_assert_true (platform (l, f->agent.cert, NULL));
	fresh = agent_fresh (&other, f->agent.pk_raw, ac_snp_owner_launch_get_nonce (l));
	g_assert_true (bind (l, f->agent.pk_raw, fresh, &error));
	g_assert_no_error (error);
	g_assert_false (ac_snp_owner_launch_verify (l, NULL, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_MISMATCH);
	g_assert_nonnull (strstr (error->message, "REPORT_ID"));
	snp_test_boot_clear (&other);
	assert_failed_for_good (l, f);
}

/* a guest launched from something else (the firmware reports another digest), one with the
 * debug policy, a report signed by another chip's VCEK, a fresh report that fails its own
 * verification: each fails the step for good */
static void
test_failed_checks (Fixture *f, gconstpointer data)
{
	g_autoptr (GError) error = NULL;
	{
		g_autoptr (AcSnpOwnerLaunch) l = owner_launch (f);
		SnpTestBoot wrong = { 0 };
		ac_snp_firmware_set_attacks (f->fw, AC_SNP_FIRMWARE_ATTACK_WRONG_MEASUREMENT);
		agent_boot (f, &wrong, AC_SNP_POLICY_DEFAULT);
		ac_snp_firmware_set_attacks (f->fw, AC_SNP_FIRMWARE_ATTACK_NONE);
		g_assert_false (platform (l, wrong.cert, &error));
		g_assert_error (error, AC_ERROR, AC_ERROR_MISMATCH);
		g_test_message ("wrong measurement: %s", error->message);
		g_assert_nonnull (strstr (error->message, "MEASUREMENT"));
		g_clear_error (&error);
		snp_test_boot_clear (&wrong);
		assert_failed_for_good (l, f);
	}
	{
		g_autoptr (AcSnpOwnerLaunch) l = owner_launch (f);
		SnpTestBoot debug = { 0 };
		agent_boot (f, &debug, AC_SNP_POLICY_DEFAULT | AC_SNP_POLICY_DEBUG);
		g_assert_false (platform (l, debug.cert, &error));
		g_assert_nonnull (error);
		g_test_message ("debug policy: %s", error->message);
		g_assert_true (error->code == AC_ERROR_REFUSED || error->code == AC_ERROR_MISMATCH);
		g_clear_error (&error);
		snp_test_boot_clear (&debug);
		assert_failed_for_good (l, f);
	}
	{
		g_autoptr (AcSnpOwnerLaunch) l = owner_launch (f);
		SnpTestBoot other_chip = { 0 };
		ac_snp_firmware_set_attacks (f->fw, AC_SNP_FIRMWARE_ATTACK_OTHER_CHIP);
		agent_boot (f, &other_chip, AC_SNP_POLICY_DEFAULT);
		ac_snp_firmware_set_attacks (f->fw, AC_SNP_FIRMWARE_ATTACK_NONE);
		g_assert_false (platform (l, other_chip.cert, &error));
		g_assert_error (error, AC_ERROR, AC_ERROR_UNTRUSTED);
		g_clear_error (&error);
		snp_test_boot_clear (&other_chip);
		assert_failed_for_good (l, f);
	}
	{
		/* the fresh report signed by another chip's VCEK: bound, then refused */
		g_autoptr (AcSnpOwnerLaunch) l = owner_launch (f);
		g_autoptr (GBytes) fresh = NULL;
		g_assert_true (platform (l, f->agent.cert, NULL));
		ac_snp_firmware_set_attacks (f->fw, AC_SNP_FIRMWARE_ATTACK_OTHER_CHIP);
		fresh = agent_fresh (&f->agent, f->agent.pk_raw, ac_snp_owner_launch_get_nonce (l));
		ac_snp_firmware_set_attacks (f->fw, AC_SNP_FIRMWARE_ATTACK_NONE);
		g_assert_true (bind (l, f->agent.pk_raw, fresh, NULL));
		g_assert_false (ac_snp_owner_launch_verify (l, NULL, &error));
		g_assert_error (error, AC_ERROR, AC_ERROR_UNTRUSTED);
		g_clear_error (&error);
		assert_failed_for_good (l, f);
	}
	{
		/* not a certificate at all */
		g_autoptr (AcSnpOwnerLaunch) l = owner_launch (f);
		g_autoptr (GBytes) junk = g_bytes_new_static ("junk", 4);
		g_assert_false (platform (l, junk, &error));
		g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
		g_clear_error (&error);
		assert_failed_for_good (l, f);
	}
}

static void
test_new_refuses (Fixture *f, gconstpointer data)
{
	AcSnpCertSource certs = { 0 };
	AcSnpVerifyExpect e = { 0 };
	guint8 rd[AC_SNP_REPORT_DATA_SIZE] = { 0 };
	GError *error = NULL;

	ac_snp_verify_policy_init (&e.policy);
	e.measurements = (const guint8 (*)[AC_SNP_MEASUREMENT_SIZE])f->guest.measurement;
	e.n_measurements = 1;
	/* no policy pin */
	g_assert_null (ac_snp_owner_launch_new (f->roots, &certs, &e, fake_sign, f, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
	g_clear_error (&error);
	e.policy.have_expected_policy = TRUE;
	e.policy.expected_policy = AC_SNP_POLICY_DEFAULT;
	e.n_measurements = 0;
	g_assert_null (ac_snp_owner_launch_new (f->roots, &certs, &e, fake_sign, f, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
	g_clear_error (&error);
	e.n_measurements = 1;
	e.report_data = rd;
	g_assert_null (ac_snp_owner_launch_new (f->roots, &certs, &e, fake_sign, f, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
	g_clear_error (&error);
	e.report_data = NULL;
	g_assert_null (ac_snp_owner_launch_new (f->roots, &certs, &e, NULL, NULL, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
	g_clear_error (&error);
	/* two launches draw two nonces */
	{
		g_autoptr (AcSnpOwnerLaunch) a
		    = ac_snp_owner_launch_new (f->roots, &certs, &e, fake_sign, f, NULL);
		g_autoptr (AcSnpOwnerLaunch) b
		    = ac_snp_owner_launch_new (f->roots, &certs, &e, fake_sign, f, NULL);
		g_assert_true (memcmp (ac_snp_owner_launch_get_nonce (a),
		                       ac_snp_owner_launch_get_nonce (b), AC_SNP_RATLS_NONCE_SIZE)
		               != 0);
	}
}

int
main (int argc, char **argv)
{
	g_test_init (&argc, &argv, NULL);
#define ADD(path, func)                                                                            \
	g_test_add ("/snp/owner/" path, Fixture, NULL, fixture_setup, func, fixture_teardown)
	ADD ("ok", test_ok);
	ADD ("seal-before-verified", test_seal_before_verified);
	ADD ("relay-certificate", test_relay_certificate);
	ADD ("relay-fresh", test_relay_fresh);
	ADD ("stale-nonce", test_stale_nonce);
	ADD ("other-guest", test_other_guest);
	ADD ("failed-checks", test_failed_checks);
	ADD ("new-refuses", test_new_refuses);
	return g_test_run ();
}
