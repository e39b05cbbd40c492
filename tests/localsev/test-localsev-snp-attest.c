/*
 * Attesting a local SEV-SNP guest through its agent, as on Aleph: a launch prepared by the local
 * flow (fake host, the synthetic runtime), the guest booted by the software SNP firmware from
 * exactly the files and command line the prepared domain names (what QEMU would measure), its
 * agent the tests' software agent (tests/aleph/test-aleph-snp-agent.c) over real TLS. The
 * passphrase reaches the agent, signed by the owner, only when the guest is the prepared one.
 * Nothing here boots a real guest.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "ac-aleph-snp-inject.h"
#include "ac-error.h"
#include "ac-eth-account.h"
#include "ac-localsev.h"
#include "ac-sev-host-fake.h"
#include "ac-snp-firmware.h"
#include "test-aleph-snp-agent.h"
#include "../test-util.h"
#include "test-localsev-util.h"

#define UUID "6a0d2d0b-2c8e-4f55-9f34-4e8b4b1f0c21"
#define PASSPHRASE "correct horse battery staple"
#define HOST "127.0.0.1"
#define TIMEOUT_MS 10000

static AcSnpFirmware *fw;
static AcSnpRoots *roots;

typedef struct {
	gchar *tmp;
	gchar *runtime;
	AcEthAccount *owner;
	AcLocalsevOptions *opts;
	AcLocalsevPrepared *prepared;
	/* the booted guest and its agent's TLS identity */
	SnpTestBoot boot;
} Fixture;

/* the local flow prepares an SNP launch for the owner's key */
static void
fixture_setup (Fixture *f, gconstpointer data)
{
	g_autofree gchar *in
	    = g_test_build_filename (G_TEST_DIST, "data", "localsev", "snp", "domain.xml.in", NULL);
	g_autofree gchar *caps_path = g_test_build_filename (G_TEST_DIST, "data", "localsev", "snp",
	                                                     "domcaps-snp.xml", NULL);
	g_autofree gchar *tmpl = test_util_read (in, NULL);
	g_autofree gchar *caps = test_util_read (caps_path, NULL);
	g_autofree gchar *disk = NULL;
	g_autofree gchar *sha = NULL;
	g_autoptr (GString) s = g_string_new (tmpl);
	g_autoptr (AcSevHostFake) fake = ac_sev_host_fake_new (NULL, 51, 1);
	g_autoptr (AcTag) tag = NULL;
	g_autoptr (GError) error = NULL;
	guint8 key[32];

	f->tmp = test_util_mkdtemp ("localsnp-attest-XXXXXX");
	f->runtime = g_build_filename (f->tmp, "runtime", NULL);
	sha = test_localsev_snp_runtime (f->runtime);
	disk = g_build_filename (f->tmp, "disk.img", NULL);
	g_assert_true (g_file_set_contents (disk, "disk", -1, NULL));
	g_string_replace (s, "@RUNTIME@", sha, 0);
	g_string_replace (s, "@DISK@", disk, 0);
	g_string_replace (s, "@VCPUS@", "2", 0);
	tag = ac_tag_parse (s->str, -1, NULL, &error);
	g_assert_no_error (error);

	memset (key, 0x42, sizeof key);
	f->owner = ac_eth_account_new_from_private_key (key, sizeof key, &error);
	g_assert_no_error (error);
	f->opts = ac_localsev_options_new (f->tmp);
	f->opts->snp_runtime = g_strdup (f->runtime);
	f->opts->snp_owner = g_strdup (ac_eth_account_get_address (f->owner));
	f->opts->snp_sign = ac_aleph_snp_inject_sign;
	f->opts->snp_sign_data = f->owner;
	ac_sev_host_fake_set_snp_facts (fake, 10005000, 9001000, caps);
	f->prepared = ac_localsev_prepare (AC_SEV_HOST (fake), f->opts, tag, s->str, NULL, &error);
	g_assert_no_error (error);
	g_assert_nonnull (f->prepared);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
	snp_test_boot_clear (&f->boot);
	ac_localsev_prepared_free (f->prepared);
	ac_localsev_options_free (f->opts);
	ac_eth_account_free (f->owner);
	test_util_rm_rf (f->tmp);
	g_free (f->tmp);
	g_free (f->runtime);
}

/* the host starts the domain @xml: the firmware launches it from the files, command line, vCPU
 * count and CPU model the domain names, with @policy; its agent gets a fresh key and a
 * certificate carrying a report bound to it */
static void
boot (Fixture *f, const gchar *xml, guint64 policy)
{
	g_autoptr (GError) error = NULL;
	g_autoptr (AcDomain) dom = ac_domain_parse (xml, -1, &error);

	g_assert_no_error (error);
	test_localsev_snp_boot (&f->boot, fw, dom, policy);
}

/* ac_localsev_snp_attest against the agent of the booted guest; what the agent saw (a copy) */
static TestSnpAgentSeen
attest (Fixture *f, AcLocalsevAttestation **att, GError **error)
{
	AcSnpCertSource certs = snp_test_cert_source (fw);
	TestSnpAgentConfig c
	    = test_snp_agent_config (&f->boot, ac_eth_account_get_address (f->owner));
	g_autoptr (TestSnpAgent) agent = NULL;
	TestSnpAgentSeen seen;

	agent = test_snp_agent_start (&c);
	*att = ac_localsev_snp_attest (f->opts, f->prepared->record, roots, &certs, HOST,
	                               test_snp_agent_get_port (agent), PASSPHRASE, TIMEOUT_MS,
	                               NULL, error);
	seen = *test_snp_agent_stop (agent);
	seen.luks_passphrase = g_strdup (seen.luks_passphrase);
	return seen;
}

/* the prepared domain, started as prepared: verified, the passphrase delivered */
static void
test_ok (Fixture *f, gconstpointer data)
{
	g_autoptr (GError) error = NULL;
	g_autoptr (AcLocalsevAttestation) att = NULL;
	TestSnpAgentSeen seen;

	boot (f, f->prepared->domain_xml, f->prepared->record->snp_policy);
	seen = attest (f, &att, &error);
	g_assert_no_error (error);
	g_assert_nonnull (att);
	/* the report's measurement is the one prepare recorded */
	g_assert_cmpstr (att->measurement, ==, f->prepared->record->expected_measurement);
	g_assert_cmphex (att->policy, ==, 0x30000);
	g_assert_cmpstr (att->session_id, ==, f->prepared->record->session_id);
	g_assert_cmpuint (seen.injections, ==, 1);
	g_assert_cmpuint (seen.injections_ok, ==, 1);
	g_assert_cmpstr (seen.luks_passphrase, ==, PASSPHRASE);
	g_free (seen.luks_passphrase);
}

/* the host boots something else than what was prepared: nothing is sent */
static void
test_refused (Fixture *f, gconstpointer data)
{
	const gchar *what = data;
	g_autoptr (GError) error = NULL;
	g_autoptr (AcLocalsevAttestation) att = NULL;
	g_autoptr (GString) s = g_string_new (f->prepared->domain_xml);
	guint64 policy = f->prepared->record->snp_policy;
	gint code = AC_ERROR_MISMATCH;
	TestSnpAgentSeen seen;

	if (g_strcmp0 (what, "cmdline") == 0) {
		g_assert_cmpuint (g_string_replace (s, "luks=1 ", "luks=1 init=/bin/sh ", 1), ==,
		                  1);
	} else if (g_strcmp0 (what, "vcpus") == 0) {
		g_assert_cmpuint (g_string_replace (s, ">2</vcpu>", ">4</vcpu>", 1), ==, 1);
	} else if (g_strcmp0 (what, "cpu") == 0) {
		g_assert_cmpuint (g_string_replace (s, "EPYC-v4", "EPYC-Milan", 1), ==, 1);
	} else if (g_strcmp0 (what, "debug") == 0) {
		policy |= AC_SNP_POLICY_DEBUG;
		code = AC_ERROR_REFUSED;
	}
	boot (f, s->str, policy);
	seen = attest (f, &att, &error);
	g_assert_null (att);
	g_assert_error (error, AC_ERROR, code);
	g_test_message ("%s: %s", what, error->message);
	g_assert_null (strstr (error->message, PASSPHRASE));
	g_assert_cmpuint (seen.injections, ==, 0);
	g_assert_null (seen.luks_passphrase);
}

/* another owner's key than the one measured in the command line, an SEV record: refused
 * before anything is sent */
static void
test_wrong_inputs (Fixture *f, gconstpointer data)
{
	g_autoptr (GError) error = NULL;
	g_autoptr (AcLocalsevAttestation) att = NULL;
	TestSnpAgentSeen seen;

	boot (f, f->prepared->domain_xml, f->prepared->record->snp_policy);
	g_free (f->opts->snp_owner);
	f->opts->snp_owner = g_strdup ("0x9319ad3b7a8e0ee24f2e639c40d8ed124c5520ba");
	seen = attest (f, &att, &error);
	g_assert_null (att);
	g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
	g_assert_cmpuint (seen.handshakes, ==, 0);
	g_assert_cmpuint (seen.injections, ==, 0);
	g_clear_error (&error);

	g_free (f->opts->snp_owner);
	f->opts->snp_owner = g_strdup (ac_eth_account_get_address (f->owner));
	f->prepared->record->tee = AC_TEE_SEV;
	seen = attest (f, &att, &error);
	g_assert_null (att);
	g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
	g_assert_cmpuint (seen.handshakes, ==, 0);
	f->prepared->record->tee = AC_TEE_SNP;
}

/* the flow's attest step for the started domain: the record, the domain compared with it, the
 * configured agent address; the record then says attested */
static void
test_attest_domain (Fixture *f, gconstpointer data)
{
	AcSnpCertSource certs = snp_test_cert_source (fw);
	g_autoptr (GError) error = NULL;
	g_autoptr (AcDomain) dom = ac_domain_parse (f->prepared->domain_xml, -1, &error);
	g_autoptr (AcLocalsevAttestation) att = NULL;
	g_autoptr (AcLocalsevRecord) r = NULL;
	g_autoptr (TestSnpAgent) agent = NULL;
	TestSnpAgentConfig c;
	const TestSnpAgentSeen *seen;

	g_assert_no_error (error);
	f->opts->snp_roots = ac_snp_roots_ref (roots);
	f->opts->snp_certs = &certs;
	/* no agent address: said so, nothing tried */
	att = ac_localsev_snp_attest_domain (f->opts, dom, PASSPHRASE, NULL, &error);
	g_assert_null (att);
	g_assert_error (error, AC_ERROR, AC_ERROR_NOT_FOUND);
	g_assert_nonnull (strstr (error->message, "snp-agent"));
	g_clear_error (&error);

	boot (f, f->prepared->domain_xml, f->prepared->record->snp_policy);
	c = test_snp_agent_config (&f->boot, ac_eth_account_get_address (f->owner));
	agent = test_snp_agent_start (&c);
	f->opts->snp_agent_host = g_strdup (HOST);
	f->opts->snp_agent_port = test_snp_agent_get_port (agent);

	/* a domain that is not the prepared one: refused before any connection */
	{
		g_autoptr (GString) s = g_string_new (f->prepared->domain_xml);
		g_autoptr (AcDomain) edited = NULL;
		g_string_replace (s, "luks=1 ", "luks=1 init=/bin/sh ", 1);
		edited = ac_domain_parse (s->str, -1, &error);
		g_assert_no_error (error);
		att = ac_localsev_snp_attest_domain (f->opts, edited, PASSPHRASE, NULL, &error);
		g_assert_null (att);
		g_assert_error (error, AC_ERROR, AC_ERROR_REFUSED);
		g_assert_nonnull (strstr (error->message, "<cmdline>"));
		g_clear_error (&error);
		g_assert_cmpuint (test_snp_agent_peek_bytes (agent), ==, 0);
	}

	att = ac_localsev_snp_attest_domain (f->opts, dom, PASSPHRASE, NULL, &error);
	g_assert_no_error (error);
	g_assert_nonnull (att);
	seen = test_snp_agent_stop (agent);
	g_assert_cmpuint (seen->injections_ok, ==, 1);
	g_assert_cmpstr (seen->luks_passphrase, ==, PASSPHRASE);
	r = ac_localsev_record_load (f->tmp, UUID, &error);
	g_assert_no_error (error);
	g_assert_cmpint (r->state, ==, AC_LOCALSEV_STATE_ATTESTED);
	g_assert_cmpstr (r->measurement, ==, r->expected_measurement);
	f->opts->snp_certs = NULL;
}

int
main (int argc, char **argv)
{
	int rc;

	g_test_init (&argc, &argv, NULL);
	/* one software chip for all tests (its ARK and ASK take seconds to make) */
	fw = snp_test_firmware_new (AC_SNP_PRODUCT_MILAN, NULL, &roots);
#define ADD(path, data, fn)                                                                        \
	g_test_add ("/localsnp/attest/" path, Fixture, data, fixture_setup, fn, fixture_teardown)
	ADD ("ok", NULL, test_ok);
	ADD ("refused/cmdline", "cmdline", test_refused);
	ADD ("refused/vcpus", "vcpus", test_refused);
	ADD ("refused/cpu", "cpu", test_refused);
	ADD ("refused/debug", "debug", test_refused);
	ADD ("wrong-inputs", NULL, test_wrong_inputs);
	ADD ("domain", NULL, test_attest_domain);
#undef ADD
	rc = g_test_run ();
	ac_snp_roots_unref (roots);
	ac_snp_firmware_free (fw);
	return rc;
}
