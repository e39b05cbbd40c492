/*
 * The local service for SEV-SNP domains (<aleph:sev type='snp'>), on a host whose domains are
 * libvirt's test driver's and whose SEV-SNP facts are the fake's: a host without SEV-SNP
 * refuses with the versions needed and found and changes nothing; a host with it gets the
 * disk built into a LUKS2 image (the luks2-root layout the runtime's initrd opens) and the
 * launch prepared; a running domain that is not the prepared launch is refused before its
 * agent is asked. And the [localsev] snp-runtime / snp-agent configuration keys.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "test-localsev-service-common.h"
#include "test-localsev-util.h"

#include "ac-localsev-service-private.h"
#if HAVE_SECP256K1
#include "ac-aleph-snp-inject.h"
#include "ac-eth-account.h"
#include "ac-snp-firmware.h"
#include "test-aleph-snp-agent.h"
#endif

/* the owner of tests/data/snp/aleph-runtime's expected digests */
#define OWNER "0x9319AD3B7A8E0EE24F2E639C40D8ED124C5520BA"

static gint
run (const gchar *const *argv, gchar **out)
{
	g_autoptr (GError) error = NULL;
	gint status = 0;
	g_spawn_sync (NULL, (gchar **)argv, NULL,
	              G_SPAWN_SEARCH_PATH | (out == NULL ? G_SPAWN_STDOUT_TO_DEV_NULL : 0), NULL,
	              NULL, out, NULL, &status, &error);
	g_assert_no_error (error);
	return g_spawn_check_wait_status (status, NULL) ? 0 : 1;
}

static void
set_host (Fixture *f, gulong libvirt, gulong qemu, const gchar *domcaps_file)
{
	g_autofree gchar *path
	    = g_test_build_filename (G_TEST_DIST, "data", "localsev", "snp", domcaps_file, NULL);
	g_autofree gchar *caps = test_util_read (path, NULL);
	ac_sev_host_fake_set_snp_facts (f->fake, libvirt, qemu, caps);
}

/* the local runtime (as `tar -xzf bundle.tar.gz` leaves it) in the options; returns the
 * manifest's sha256 */
static gchar *
use_runtime (Fixture *f)
{
	g_autofree gchar *runtime = g_build_filename (f->tmp, "runtime", NULL);
	gchar *sha256 = test_localsev_snp_runtime (runtime);

	g_free (f->opts->snp_runtime);
	f->opts->snp_runtime = g_strdup (runtime);
	g_free (f->opts->snp_owner);
	f->opts->snp_owner = g_strdup (OWNER);
	return sha256;
}

/* the domain, tagged for SEV-SNP (mode @mode, NULL = unset), on f->disk */
static void
define_snp (Fixture *f, const gchar *mode)
{
	g_autofree gchar *path
	    = g_test_build_filename (G_TEST_DIST, "data", "localsev", "snp", "domain.xml.in", NULL);
	g_autofree gchar *tmpl = test_util_read (path, NULL);
	g_autoptr (GString) s = g_string_new (tmpl);
	g_autofree gchar *sha = use_runtime (f);

	g_string_replace (s, "snp-vm", NAME, 0);
	g_string_replace (s, "@RUNTIME@", sha, 0);
	g_string_replace (s, "@DISK@", f->disk, 0);
	g_string_replace (s, "@VCPUS@", "1", 0);
	/* the test driver refuses firmware autoselection with a readonly loader */
	g_assert_cmpuint (g_string_replace (s, "<os firmware='efi'>", "<os>", 0), ==, 1);
	if (mode == NULL)
		g_assert_cmpuint (g_string_replace (s, "<aleph:local mode=\"sev\"/>", "", 0), ==,
		                  1);
	if (f->dom != NULL) {
		virDomainUndefine (f->dom);
		virDomainFree (f->dom);
	}
	f->dom = virDomainDefineXML (f->conn, s->str);
	if (f->dom == NULL)
		g_error ("cannot define the SNP domain: %s", virGetLastErrorMessage ());
}

static AcTag *
tag_now (Fixture *f)
{
	g_autoptr (GError) error = NULL;
	g_autofree gchar *xml = inactive_xml (f);
	AcTag *tag = ac_tag_parse (xml, -1, NULL, &error);
	g_assert_no_error (error);
	return tag;
}

static gboolean
exists (Fixture *f, const gchar *rel)
{
	g_autofree gchar *path = g_build_filename (f->tmp, rel, NULL);
	return g_file_test (path, G_FILE_TEST_EXISTS);
}

/* ---- a host without SEV-SNP: refused, nothing changed ------------------------------------ */

static void
assert_refused_unchanged (Fixture *f, const gchar *before, const gchar *const *names)
{
	g_autoptr (GError) error = NULL;
	g_autofree gchar *after = NULL;

	g_assert_false (reconcile (f, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_UNSUPPORTED);
	for (guint i = 0; names[i] != NULL; i++) {
		if (strstr (error->message, names[i]) == NULL)
			g_error ("'%s' not in: %s", names[i], error->message);
		g_assert_nonnull (strstr (f->status->error_message, names[i]));
	}
	g_assert_cmpstr (f->status->state, ==, "refused");
	g_assert_cmpstr (f->status->step, ==, "prepare");
	g_assert_cmpstr (f->status->error_code, ==, "unsupported");
	/* nothing built, prepared or defined */
	after = inactive_xml (f);
	g_assert_cmpstr (after, ==, before);
	g_assert_false (exists (f, "images"));
	g_assert_false (exists (f, "localsev/" UUID "/prepared.json"));
	g_assert_false (exists (f, "localsev/" UUID "/image.json"));
}

static void
test_refused_old_host (Fixture *f, gconstpointer data)
{
	const gchar *names[]
	    = { "libvirt >= 10.5.0", "QEMU >= 9.1.0", "found libvirt 9.0.0", "QEMU 7.2.0", NULL };
	g_autofree gchar *before = NULL;

	define_snp (f, "sev");
	before = inactive_xml (f);
	/* this machine: Debian 12's libvirt 9.0 and QEMU 7.2, no sev-snp */
	set_host (f, 9000000, 7002000, "domcaps-sev.xml");
	assert_refused_unchanged (f, before, names);
	/* again: the same refusal, still nothing */
	assert_refused_unchanged (f, before, names);
}

static void
test_refused_no_facts (Fixture *f, gconstpointer data)
{
	const gchar *names[] = { "libvirt >= 10.5.0", "QEMU >= 9.1.0", NULL };
	g_autofree gchar *before = NULL;

	/* the fake tells nothing about SEV-SNP */
	define_snp (f, "sev");
	before = inactive_xml (f);
	assert_refused_unchanged (f, before, names);
}

static void
test_applies (Fixture *f, gconstpointer data)
{
	g_autoptr (AcTag) explicit = NULL;
	g_autoptr (AcTag) unset = NULL;

	define_snp (f, "sev");
	explicit = tag_now (f);
	define_snp (f, NULL);
	unset = tag_now (f);

	/* an old host: mode sev is the flow's (it refuses with the versions), unset is deny */
	set_host (f, 9000000, 7002000, "domcaps-sev.xml");
	g_assert_false (ac_localsev_service_host_has_snp (AC_SEV_HOST (f->host)));
	g_assert_true (ac_localsev_service_applies (AC_SEV_HOST (f->host), explicit));
	g_assert_false (ac_localsev_service_applies (AC_SEV_HOST (f->host), unset));
	/* SEV alone never stands in for SNP: the fake reports SEV all along */
	g_assert_true (ac_localsev_service_host_has_sev (AC_SEV_HOST (f->host)));

	set_host (f, 10005000, 9001000, "domcaps-snp.xml");
	g_assert_true (ac_localsev_service_host_has_snp (AC_SEV_HOST (f->host)));
	g_assert_true (ac_localsev_service_applies (AC_SEV_HOST (f->host), explicit));
	g_assert_true (ac_localsev_service_applies (AC_SEV_HOST (f->host), unset));
}

/* ---- a host with SEV-SNP: the LUKS2 image, then the launch --------------------------------- */

/* the tools the luks2-root layout's build runs */
static const gchar *const build_tools[] = { "mkfs.ext4", "blkid", "qemu-img", "cryptsetup", NULL };

/* f->disk: a plain disk, a tiny ext4 root filesystem */
static void
plain_disk (Fixture *f)
{
	g_autofree gchar *tree = g_build_filename (f->tmp, "tree", NULL);
	g_autofree gchar *etc = g_build_filename (tree, "etc", NULL);
	g_autofree gchar *sbin = g_build_filename (tree, "sbin", NULL);
	g_autofree gchar *hostname = g_build_filename (etc, "hostname", NULL);
	g_autofree gchar *init = g_build_filename (sbin, "init", NULL);

	g_assert_cmpint (g_mkdir_with_parents (etc, 0755), ==, 0);
	g_assert_cmpint (g_mkdir_with_parents (sbin, 0755), ==, 0);
	g_assert_true (g_file_set_contents (hostname, "conf-vm\n", -1, NULL));
	g_assert_true (g_file_set_contents (init, "#!/bin/sh\n", -1, NULL));
	g_free (f->disk);
	f->disk = g_build_filename (f->tmp, "conf-vm-plain.img", NULL);
	{
		const gchar *argv[]
		    = { "mkfs.ext4", "-q", "-F", "-L", "rootfs", "-d", tree, f->disk, "32M", NULL };
		g_assert_cmpint (run (argv, NULL), ==, 0);
	}
}

static void
test_image_luks2_prepared (Fixture *f, gconstpointer data)
{
	g_autoptr (GError) error = NULL;
	g_autoptr (AcLocalsevRecord) r = NULL;
	g_autoptr (AcLocalsevImageState) image = NULL;
	g_autoptr (AcDomain) dom = NULL;
	g_autofree gchar *xml = NULL;
	g_autofree gchar *dump = NULL;
	g_autofree gchar *plain = NULL;
	unsigned long version = 0;
	gboolean ok;

	if (!can_build (build_tools))
		return;
	plain_disk (f);
	plain = g_strdup (f->disk);
	define_snp (f, "sev");
	set_host (f, 10005000, 9001000, "domcaps-snp.xml");

	ok = reconcile_run (f, &error);
	g_assert_cmpint (virConnectGetLibVersion (f->conn, &version), ==, 0);

	/* the image: built from the plain disk in the luks2-root layout, the domain on it */
	image = ac_localsev_image_state_load (f->tmp, UUID, NULL);
	g_assert_nonnull (image);
	g_assert_cmpstr (image->original, ==, plain);
	g_assert_cmpint (image->phase, ==, AC_LOCALSEV_IMAGE_SWITCHED);
	{
		const gchar *argv[] = { "cryptsetup", "luksDump", image->target, NULL };
		g_assert_cmpint (run (argv, &dump), ==, 0);
		g_assert_nonnull (strstr (dump, "Version:       \t2\n"));
		g_assert_nonnull (strstr (dump, image->luks_uuid));
	}
	g_assert_cmpstr (f->status->image_path, ==, image->target);
	g_assert_cmpstr (f->status->image_luks_uuid, ==, image->luks_uuid);
	xml = inactive_xml (f);
	dom = ac_domain_parse (xml, -1, &error);
	g_assert_no_error (dom == NULL ? error : NULL);
	g_assert_cmpstr (ac_domain_get_tagged_disk (dom)->source, ==, image->target);

	/* the launch: prepared for the image, the runtime's boot measured for the owner */
	r = record (f);
	g_assert_cmpint (r->tee, ==, AC_TEE_SNP);
	g_assert_cmpint (r->state, ==, AC_LOCALSEV_STATE_PREPARED);
	g_assert_cmpstr (r->disk_source, ==, image->target);
	g_assert_cmpuint (strlen (r->expected_measurement), ==, 96);
	g_assert_nonnull (strstr (r->cmdline, "9319ad3b7a8e0ee24f2e639c40d8ed124c5520ba"));

	if (version >= 10005000) {
		/* a libvirt that knows <launchSecurity type='sev-snp'> keeps it */
		g_assert_no_error (error);
		g_assert_true (ok);
		g_assert_cmpstr (f->status->state, ==, "prepared");
		g_assert_nonnull (strstr (xml, "sev-snp"));
	} else {
		/* this machine's libvirt 9.0 test driver does not: the definition is refused
		 * and the domain stays on its image, unprepared */
		g_assert_false (ok);
		g_assert_error (error, AC_ERROR, AC_ERROR_LIBVIRT);
		g_assert_cmpstr (f->status->state, ==, "failed");
		g_assert_cmpstr (f->status->error_step, ==, "prepare");
		g_assert_null (strstr (xml, "launchSecurity"));
	}
	g_clear_error (&error);

	/* again: the image is not built twice */
	g_ptr_array_set_size (f->statuses, 0);
	reconcile_run (f, &error);
	g_clear_error (&error);
	g_assert_cmpuint (building_statuses (f), ==, 0);
	{
		g_autoptr (AcLocalsevImageState) again
		    = ac_localsev_image_state_load (f->tmp, UUID, NULL);
		g_assert_cmpstr (again->target, ==, image->target);
		g_assert_cmpstr (again->sha256, ==, image->sha256);
	}

	/* started as something else than the prepared launch (no sev-snp here): refused before
	 * the agent is asked, nothing sent */
	if (version < 10005000) {
		g_autoptr (AcLocalsevRecord) after = NULL;
		g_free (f->opts->snp_agent_host);
		f->opts->snp_agent_host = g_strdup ("127.0.0.1");
		f->opts->snp_agent_port = 9; /* nothing listens: a contact would be an error */
		g_assert_cmpint (virDomainCreate (f->dom), ==, 0);
		g_assert_false (reconcile (f, &error));
		g_assert_error (error, AC_ERROR, AC_ERROR_REFUSED);
		g_assert_nonnull (strstr (error->message, "launchSecurity"));
		g_assert_cmpstr (f->status->state, ==, "failed");
		g_assert_cmpstr (f->status->step, ==, "attest");
		g_assert_cmpstr (f->status->attest_tee, ==, "SEV-SNP");
		after = record (f);
		g_assert_cmpint (after->state, ==, AC_LOCALSEV_STATE_LAUNCHED);
	}
}

#if HAVE_SECP256K1
/* ---- a host with SEV-SNP: the attest step unlocks through the guest's agent --------------- */

/*
 * The service's attest step for the domain as prepared (what libvirt >= 10.5 keeps; this
 * machine's test driver keeps no sev-snp, so the step is given the prepared definition): the
 * guest booted by the software SNP firmware from exactly what that definition names, its agent
 * the tests' software agent at the configured snp-agent address. The passphrase of the LUKS2
 * image the service built reaches the agent, signed by the owner; the status says running,
 * tee SEV-SNP; the record attested.
 */
static void
test_attest_unlocks (Fixture *f, gconstpointer data)
{
	g_autoptr (GError) error = NULL;
	g_autoptr (AcEthAccount) owner = NULL;
	g_autoptr (AcTag) tag = NULL;
	g_autoptr (AcLocalsevPrepared) prepared = NULL;
	g_autoptr (AcDomain) model = NULL;
	g_autoptr (AcLocalsevImageState) image = NULL;
	g_autoptr (AcLocalsevRecord) r = NULL;
	g_autoptr (AcLocalsevRecord) after = NULL;
	g_autoptr (AcSnpFirmware) fw = NULL;
	g_autoptr (AcSnpRoots) roots = NULL;
	g_auto (SnpTestBoot) boot = { 0 };
	g_autoptr (TestSnpAgent) agent = NULL;
	g_autofree gchar *xml = NULL;
	g_autofree gchar *stored = NULL;
	g_autofree gchar *copy = NULL;
	AcSnpCertSource certs = { 0 };
	TestSnpAgentConfig c;
	const TestSnpAgentSeen *seen;
	AcStatus *st = NULL;
	guint8 secret[32];

	if (!can_build (build_tools))
		return;
	/* the owner's key: its address measured in the command line, its signature on the secret */
	memset (secret, 0x42, sizeof secret);
	owner = ac_eth_account_new_from_private_key (secret, sizeof secret, &error);
	g_assert_no_error (error);
	plain_disk (f);
	define_snp (f, "sev");
	set_host (f, 10005000, 9001000, "domcaps-snp.xml");
	g_free (f->opts->snp_owner);
	f->opts->snp_owner = g_strdup (ac_eth_account_get_address (owner));
	f->opts->snp_sign = ac_aleph_snp_inject_sign;
	f->opts->snp_sign_data = owner;

	/* built and prepared by the service (the test driver then refuses the definition) */
	reconcile_run (f, &error);
	g_clear_error (&error);
	image = ac_localsev_image_state_load (f->tmp, UUID, &error);
	g_assert_no_error (error);
	xml = inactive_xml (f);
	tag = ac_tag_parse (xml, -1, NULL, &error);
	g_assert_no_error (error);
	prepared = ac_localsev_prepare (AC_SEV_HOST (f->host), f->opts, tag, xml, NULL, &error);
	g_assert_no_error (error);
	model = ac_domain_parse (prepared->domain_xml, -1, &error);
	g_assert_no_error (error);
	g_assert_cmpstr (ac_domain_get_tagged_disk (model)->source, ==, image->target);

	/* a software chip boots it; its agent listens where snp-agent says */
	fw = snp_test_firmware_new (AC_SNP_PRODUCT_MILAN, NULL, &roots);
	test_localsev_snp_boot (&boot, fw, model, prepared->record->snp_policy);
	c = test_snp_agent_config (&boot, ac_eth_account_get_address (owner));
	agent = test_snp_agent_start (&c);
	g_free (f->opts->snp_agent_host);
	f->opts->snp_agent_host = g_strdup ("127.0.0.1");
	f->opts->snp_agent_port = test_snp_agent_get_port (agent);
	certs = snp_test_cert_source (fw);
	f->opts->snp_roots = ac_snp_roots_ref (roots);
	f->opts->snp_certs = &certs;

	/* started: the attest step */
	g_assert_cmpint (virDomainCreate (f->dom), ==, 0);
	r = record (f);
	g_assert_true (ac_localsev_service_started_snp (f->opts, secrets, f->dom, model, r, FALSE,
	                                                NULL, f->status, &st, &error));
	g_assert_no_error (error);
	g_assert_cmpstr (st->state, ==, "running");
	g_assert_cmpstr (st->step, ==, "attest");
	g_assert_cmpstr (st->attest_tee, ==, "SEV-SNP");
	g_assert_cmpstr (st->attest_verdict, ==, "ok");
	g_assert_cmpstr (st->attest_measurement, ==, prepared->record->expected_measurement);
	ac_status_free (st);
	st = NULL;
	seen = test_snp_agent_stop (agent);
	g_assert_cmpuint (seen->injections_ok, ==, 1);
	/* what reached the agent is the image's passphrase, from the local store */
	copy = g_build_filename (f->tmp, "secrets", image->secret, NULL);
	g_assert_true (g_file_get_contents (copy, &stored, NULL, NULL));
	g_assert_cmpstr (seen->luks_passphrase, ==, stored);
	after = record (f);
	g_assert_cmpint (after->state, ==, AC_LOCALSEV_STATE_ATTESTED);
	g_assert_cmpstr (after->measurement, ==, after->expected_measurement);

	/* the next event: running, nothing asked (the agent is gone) */
	g_assert_true (ac_localsev_service_started_snp (f->opts, secrets, f->dom, model, after,
	                                                FALSE, NULL, NULL, &st, &error));
	g_assert_no_error (error);
	g_assert_cmpstr (st->state, ==, "running");
	g_assert_cmpstr (st->attest_tee, ==, "SEV-SNP");
	ac_status_free (st);
	st = NULL;
	/* 'virt-aleph attest' asks again: the agent is gone, a network failure, nothing sent */
	g_assert_false (ac_localsev_service_started_snp (f->opts, secrets, f->dom, model, after,
	                                                 TRUE, NULL, NULL, &st, &error));
	g_assert_nonnull (error);
	g_assert_cmpstr (st->state, ==, "failed");
	g_assert_cmpstr (st->step, ==, "attest");
	ac_status_free (st);
	g_assert_null (strstr (logged->str, stored));
	f->opts->snp_certs = NULL;
}
#endif

/* ---- the configuration keys ------------------------------------------------------------- */

static void
test_config (Fixture *f, gconstpointer data)
{
	struct {
		const gchar *body;
		const gchar *runtime;
		const gchar *host;
		guint port;
		const gchar *error; /* NULL = valid */
	} cases[] = {
		{ "[localsev]\nsnp-runtime=/srv/snp-runtime\nsnp-agent=127.0.0.1:8443\n",
		  "/srv/snp-runtime", "127.0.0.1", 8443, NULL },
		{ "[localsev]\nsnp-agent=[::1]:18443\n", NULL, "::1", 18443, NULL },
		{ "[localsev]\nsnp-agent=localhost:1\n", NULL, "localhost", 1, NULL },
		{ "[localsev]\npool=images\n", NULL, NULL, 0, NULL },
		{ "[localsev]\nsnp-runtime=relative/dir\n", NULL, NULL, 0, "absolute path" },
		{ "[localsev]\nsnp-agent=127.0.0.1\n", NULL, NULL, 0, "HOST:PORT" },
		{ "[localsev]\nsnp-agent=127.0.0.1:0\n", NULL, NULL, 0, "HOST:PORT" },
		{ "[localsev]\nsnp-agent=127.0.0.1:65536\n", NULL, NULL, 0, "HOST:PORT" },
		{ "[localsev]\nsnp-agent=:8443\n", NULL, NULL, 0, "HOST:PORT" },
		{ "[localsev]\nsnp-agent=\n", NULL, NULL, 0, "snp-agent" },
		{ "[localsev]\nsnp-agents=1.2.3.4:5\n", NULL, NULL, 0, "snp-agents" },
	};
	g_autofree gchar *path = g_build_filename (f->tmp, "virt-alephd.conf", NULL);
	g_autofree gchar *missing = g_build_filename (f->tmp, "none.conf", NULL);

	for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
		g_autoptr (AcLocalsevOptions) opts = ac_localsev_options_new (f->tmp);
		g_autoptr (GError) error = NULL;
		gboolean ok;

		g_assert_true (g_file_set_contents (path, cases[i].body, -1, NULL));
		ok = ac_localsev_service_options_load_config (opts, path, TRUE, &error);
		if (cases[i].error != NULL) {
			g_assert_false (ok);
			g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
			if (strstr (error->message, cases[i].error) == NULL)
				g_error ("case %u: '%s' not in: %s", i, cases[i].error,
				         error->message);
			continue;
		}
		g_assert_no_error (error);
		g_assert_true (ok);
		g_assert_cmpstr (opts->snp_runtime, ==, cases[i].runtime);
		g_assert_cmpstr (opts->snp_agent_host, ==, cases[i].host);
		g_assert_cmpuint (opts->snp_agent_port, ==, cases[i].port);
	}
	/* the default configuration may be absent; a named one may not */
	{
		g_autoptr (AcLocalsevOptions) opts = ac_localsev_options_new (f->tmp);
		g_autoptr (GError) error = NULL;
		g_assert_true (
		    ac_localsev_service_options_load_config (opts, missing, FALSE, &error));
		g_assert_no_error (error);
		g_assert_false (
		    ac_localsev_service_options_load_config (opts, missing, TRUE, &error));
		g_assert_nonnull (error);
	}
}

#define ADD(path, fn)                                                                              \
	g_test_add ("/localsev/service/snp/" path, Fixture, NULL, fixture_setup, fn,               \
	            fixture_teardown)

int
main (int argc, char **argv)
{
	int rc;

	localsev_service_test_init (&argc, &argv);
	ADD ("refused-old-host", test_refused_old_host);
	ADD ("refused-no-facts", test_refused_no_facts);
	ADD ("applies", test_applies);
	ADD ("image-luks2-prepared", test_image_luks2_prepared);
	ADD ("config", test_config);
#if HAVE_SECP256K1
	ADD ("attest-unlocks", test_attest_unlocks);
#endif
	rc = g_test_run ();
	g_assert_null (strstr (logged->str, PASSPHRASE));
	return rc;
}
