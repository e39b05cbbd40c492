/*
 * The local SEV flow against a host played by the software PSP: every refusal (PDH swapped
 * after prepare, wrong firmware, policy, replayed or malformed measurement, API below the
 * minimum, not paused, state directory) with its error class, the input it names, and no
 * secret injected; the peer check of a record.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "test-localsev-common.h"

static void
test_pdh_swapped (Fixture *f, gconstpointer data)
{
	g_autofree gchar *xml = domain_xml (f, "0x1", 1);
	g_autoptr (AcTag) tag = tag_of (xml);
	g_autoptr (AcLocalsevPrepared) p = prepare (f, tag, xml);
	g_autoptr (GError) error = NULL;

	/* the host moves to another (also trusted) platform after prepare: our session cannot
	 * start there ... */
	ac_sev_host_fake_set_psp (f->fake, psp_other);
	g_assert_false (ac_sev_host_fake_start (f->fake, p->domain_xml, NULL, TRUE, &error));
	g_assert_nonnull (strstr (error->message, "LAUNCH_START"));
	g_clear_error (&error);
	/* ... so it launches without it; attest sees the PDH changed */
	ac_sev_host_fake_set_ignore_session (f->fake, TRUE);
	start (f, p->domain_xml, TRUE);
	attest_refused (f, tag, p->domain_xml, AC_ERROR_UNTRUSTED, "PDH changed", &error);
	g_assert_nonnull (strstr (error->message, "chain"));
}

static void
test_session_ignored (Fixture *f, gconstpointer data)
{
	g_autofree gchar *xml = domain_xml (f, "0x1", 1);
	g_autoptr (AcTag) tag = tag_of (xml);
	g_autoptr (AcLocalsevPrepared) p = prepare (f, tag, xml);
	g_autoptr (GError) error = NULL;

	/* same platform, but the host launches with keys of its own choosing */
	ac_sev_host_fake_set_ignore_session (f->fake, TRUE);
	start (f, p->domain_xml, TRUE);
	attest_refused (f, tag, p->domain_xml, AC_ERROR_MISMATCH, "measurement", &error);
}

/* ---- firmware ---- */

static void
test_wrong_firmware_file (Fixture *f, gconstpointer data)
{
	g_autofree gchar *xml = domain_xml (f, "0x1", 1);
	g_autoptr (AcTag) tag = tag_of (xml);
	g_autoptr (AcLocalsevPrepared) p = prepare (f, tag, xml);
	g_autofree gchar *other = data_path ("ovmf-other.fd");
	g_autoptr (GError) error = NULL;

	/* the host runs the right firmware, but the file the owner pinned changed on disk */
	start (f, p->domain_xml, TRUE);
	copy_file (other, f->firmware);
	attest_refused (f, tag, p->domain_xml, AC_ERROR_MISMATCH, "firmware hash", &error);
	g_assert_nonnull (strstr (error->message, f->sha256));
}

static void
test_wrong_firmware_loaded (Fixture *f, gconstpointer data)
{
	g_autofree gchar *xml = domain_xml (f, "0x1", 1);
	g_autoptr (AcTag) tag = tag_of (xml);
	g_autoptr (AcLocalsevPrepared) p = prepare (f, tag, xml);
	g_autofree gchar *other = data_path ("ovmf-other.fd");
	g_autoptr (GError) error = NULL;

	/* the host maps another firmware than the domain's loader */
	g_assert_true (ac_sev_host_fake_start (f->fake, p->domain_xml, other, TRUE, &error));
	g_assert_no_error (error);
	attest_refused (f, tag, p->domain_xml, AC_ERROR_MISMATCH, "measurement", &error);
}

static void
test_wrong_firmware_prepare (Fixture *f, gconstpointer data)
{
	g_autofree gchar *xml = domain_xml (f, "0x1", 1);
	g_autoptr (AcTag) tag = tag_of (xml);
	g_autofree gchar *other = data_path ("ovmf-other.fd");
	g_autoptr (GError) error = NULL;

	copy_file (other, f->firmware);
	g_assert_null (
	    ac_localsev_prepare (AC_SEV_HOST (f->fake), f->opts, tag, xml, NULL, &error));
	assert_refused (f, error, AC_ERROR_MISMATCH, "firmware hash");
}

/* ---- policy, API ---- */

static void
test_policy_reported (Fixture *f, gconstpointer data)
{
	g_autofree gchar *xml = domain_xml (f, "0x1", 1);
	g_autoptr (AcTag) tag = tag_of (xml);
	g_autoptr (AcLocalsevPrepared) p = prepare (f, tag, xml);
	g_autoptr (GError) error = NULL;

	start (f, p->domain_xml, TRUE);
	g_assert_true (ac_sev_host_fake_set_reported_policy (f->fake, UUID, 0x0));
	g_assert_null (ac_localsev_attest (AC_SEV_HOST (f->fake), f->opts, tag, p->domain_xml,
	                                   PASSPHRASE, NULL, &error));
	/* a policy that is not the tag's is a mismatch, as for every caller (docs/exit-codes.md) */
	assert_refused (f, error, AC_ERROR_MISMATCH, "policy");
	g_assert_nonnull (strstr (error->message, "0x0"));
}

static void
test_policy_tag_changed (Fixture *f, gconstpointer data)
{
	g_autofree gchar *xml = domain_xml (f, "0x1", 1);
	g_autofree gchar *xml3 = domain_xml (f, "0x3", 1);
	g_autoptr (AcTag) tag = tag_of (xml);
	g_autoptr (AcTag) tag3 = tag_of (xml3);
	g_autoptr (AcLocalsevPrepared) p = prepare (f, tag, xml);
	g_autoptr (GError) error = NULL;

	start (f, p->domain_xml, TRUE);
	g_assert_null (ac_localsev_attest (AC_SEV_HOST (f->fake), f->opts, tag3, p->domain_xml,
	                                   PASSPHRASE, NULL, &error));
	/* the session's policy is not the tag's: the same fault and class as a reported one */
	assert_refused (f, error, AC_ERROR_MISMATCH, "policy");
	g_assert_nonnull (strstr (error->message, "the session was made for SEV policy 0x1"));
}

static void
test_api_minimum (Fixture *f, gconstpointer data)
{
	g_autofree gchar *xml = domain_xml (f, "0x1", 1);
	g_autoptr (AcTag) tag = tag_of (xml);
	g_autoptr (AcLocalsevPrepared) p = prepare (f, tag, xml);
	g_autoptr (GError) error = NULL;

	/* firmware 0.16 measures (legacy form) and reports truthfully: below the minimum 0.17 */
	ac_sev_psp_set_firmware (psp, 0, 16, 3);
	start (f, p->domain_xml, TRUE);
	attest_refused (f, tag, p->domain_xml, AC_ERROR_REFUSED, "API version", &error);
	g_assert_nonnull (strstr (error->message, "0.16"));
	g_assert_nonnull (strstr (error->message, "0.17"));
}

static void
test_api_minimum_configurable (Fixture *f, gconstpointer data)
{
	g_autofree gchar *xml = domain_xml (f, "0x1", 1);
	g_autoptr (AcTag) tag = tag_of (xml);
	g_autoptr (AcLocalsevPrepared) p = prepare (f, tag, xml);
	g_autoptr (GError) error = NULL;

	/* 0.24 is above the default but below a configured 1.0 */
	f->opts->min_api_major = 1;
	f->opts->min_api_minor = 0;
	start (f, p->domain_xml, TRUE);
	attest_refused (f, tag, p->domain_xml, AC_ERROR_REFUSED, "API version", &error);
	g_assert_nonnull (strstr (error->message, "1.0"));
}

/* ---- measurement replay ---- */

static void
test_replayed_measurement (Fixture *f, gconstpointer data)
{
	g_autofree gchar *xml = domain_xml (f, "0x1", 1);
	g_autoptr (AcTag) tag = tag_of (xml);
	g_autoptr (AcLocalsevPrepared) p1 = prepare (f, tag, xml);
	g_autoptr (AcLocalsevPrepared) p2 = NULL;
	g_autoptr (AcLocalsevAttestation) att = NULL;
	g_autoptr (GError) error = NULL;
	g_autofree gchar *old = NULL;
	guint calls;

	/* launch 1 attests fine */
	start (f, p1->domain_xml, TRUE);
	att = ac_localsev_attest (AC_SEV_HOST (f->fake), f->opts, tag, p1->domain_xml, PASSPHRASE,
	                          NULL, &error);
	g_assert_no_error (error);
	old = g_strdup (att->measurement);
	calls = ac_sev_host_fake_get_set_state_calls (f->fake);
	g_assert_cmpuint (calls, ==, 1);

	/* launch 2 with a fresh session: the host replays launch 1's measurement */
	g_assert_true (ac_sev_host_fake_destroy (f->fake, UUID, &error));
	p2 = prepare (f, tag, xml);
	start (f, p2->domain_xml, TRUE);
	g_assert_true (ac_sev_host_fake_set_reported_measurement (f->fake, UUID, old));
	g_assert_null (ac_localsev_attest (AC_SEV_HOST (f->fake), f->opts, tag, p2->domain_xml,
	                                   PASSPHRASE, NULL, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_MISMATCH);
	g_assert_nonnull (strstr (error->message, "measurement"));
	g_assert_cmpuint (ac_sev_host_fake_get_set_state_calls (f->fake), ==, calls);
	g_assert_cmpuint (ac_sev_host_fake_get_secret_count (f->fake, UUID), ==, 0);
}

static void
test_malformed_measurement (Fixture *f, gconstpointer data)
{
	g_autofree gchar *xml = domain_xml (f, "0x1", 1);
	g_autoptr (AcTag) tag = tag_of (xml);
	const gchar *bad[]
	    = { "", "AAAA", "not base64 at all!",
		"ciFfBp6M/oU3uOIeMG2XyS/YYBZY8nbw7LZKZgw+FNdAQUJDREVGR0hJSktMTU5P\n" };

	for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
		g_autoptr (AcLocalsevPrepared) p = prepare (f, tag, xml);
		g_autoptr (GError) error = NULL;
		start (f, p->domain_xml, TRUE);
		g_assert_true (ac_sev_host_fake_set_reported_measurement (f->fake, UUID, bad[i]));
		attest_refused (f, tag, p->domain_xml, AC_ERROR_MISMATCH, "measurement", &error);
		g_assert_true (ac_sev_host_fake_destroy (f->fake, UUID, NULL));
	}
}

/* ---- domain state ---- */

static void
test_not_paused (Fixture *f, gconstpointer data)
{
	g_autofree gchar *xml = domain_xml (f, "0x1", 1);
	g_autoptr (AcTag) tag = tag_of (xml);
	g_autoptr (AcLocalsevPrepared) p = prepare (f, tag, xml);
	g_autoptr (GError) error = NULL;
	g_autoptr (AcLocalsevRecord) r = NULL;

	/* not started at all */
	g_assert_true (ac_sev_host_fake_start (f->fake, p->domain_xml, NULL, TRUE, &error));
	g_assert_true (ac_sev_host_fake_destroy (f->fake, UUID, &error));
	attest_refused (f, tag, p->domain_xml, AC_ERROR_NOT_FOUND, "virsh start --paused conf-vm",
	                &error);
	g_clear_error (&error);

	/* started without --paused: too late for a secret, and the session is burnt */
	start (f, p->domain_xml, FALSE);
	attest_refused (f, tag, p->domain_xml, AC_ERROR_REFUSED, "virsh start --paused conf-vm",
	                &error);
	g_assert_nonnull (strstr (error->message, "not paused"));
	r = ac_localsev_record_load (f->tmp, UUID, NULL);
	g_assert_cmpint (r->state, ==, AC_LOCALSEV_STATE_CONSUMED);
}

static void
test_nothing_prepared (Fixture *f, gconstpointer data)
{
	g_autofree gchar *xml = domain_xml (f, "0x1", 1);
	g_autoptr (AcTag) tag = tag_of (xml);
	g_autoptr (GError) error = NULL;

	attest_refused (f, tag, xml, AC_ERROR_NOT_FOUND, "no SEV launch was prepared", &error);
}

/* the running domain's definition must still be the prepared one */
static void
test_definition_changed (Fixture *f, gconstpointer data)
{
	g_autofree gchar *xml = domain_xml (f, "0x1", 1);
	g_autoptr (AcTag) tag = tag_of (xml);
	g_autoptr (AcLocalsevPrepared) p = prepare (f, tag, xml);
	g_autoptr (GError) error = NULL;
	g_autoptr (GString) changed = g_string_new (p->domain_xml);

	start (f, p->domain_xml, TRUE);
	g_assert_cmpuint (
	    g_string_replace (changed, f->disk, "/var/lib/libvirt/images/plain.img", 0), ==, 1);
	attest_refused (f, tag, changed->str, AC_ERROR_REFUSED, "source of disk vda", &error);
}

/* a bad passphrase is refused before the session is touched */
static void
test_bad_passphrase (Fixture *f, gconstpointer data)
{
	g_autofree gchar *xml = domain_xml (f, "0x1", 1);
	g_autoptr (AcTag) tag = tag_of (xml);
	g_autoptr (AcLocalsevPrepared) p = prepare (f, tag, xml);
	g_autoptr (GError) error = NULL;
	const gchar *bad[] = { NULL, "", "caf\xc3\xa9 au lait", "line\nbreak" };

	start (f, p->domain_xml, TRUE);
	for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
		g_assert_null (ac_localsev_attest (AC_SEV_HOST (f->fake), f->opts, tag,
		                                   p->domain_xml, bad[i], NULL, &error));
		assert_refused (f, error, AC_ERROR_INVALID_INPUT, "passphrase");
		g_clear_error (&error);
	}
	attest_ok (f, tag, p->domain_xml);
}

/* ---- state directory ---- */

static void
test_state_dir_permissions (Fixture *f, gconstpointer data)
{
	g_autofree gchar *xml = domain_xml (f, "0x1", 1);
	g_autoptr (AcTag) tag = tag_of (xml);
	g_autoptr (AcLocalsevPrepared) p = prepare (f, tag, xml);
	g_autofree gchar *dir = g_build_filename (f->tmp, "localsev", UUID, NULL);
	g_autoptr (GError) error = NULL;

	g_assert_cmpint (g_chmod (dir, 0755), ==, 0);
	g_assert_null (
	    ac_localsev_prepare (AC_SEV_HOST (f->fake), f->opts, tag, xml, NULL, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_PERMISSION);
	g_assert_nonnull (strstr (error->message, dir));
	g_clear_error (&error);
	start (f, p->domain_xml, TRUE);
	attest_refused (f, tag, p->domain_xml, AC_ERROR_PERMISSION, "0755", &error);
	g_clear_error (&error);

	/* forget erases everything of the domain */
	g_assert_cmpint (g_chmod (dir, 0700), ==, 0);
	g_assert_true (ac_localsev_forget (f->tmp, UUID, &error));
	g_assert_no_error (error);
	g_assert_false (g_file_test (dir, G_FILE_TEST_EXISTS));
}

/* ---- agreement with libvirt's virt-qemu-sev-validate ---- */

#define PEER "/usr/bin/virt-qemu-sev-validate"

static gint
peer_run (Fixture *f,
          const AcLocalsevRecord *r,
          const gchar *measurement,
          const gchar *firmware,
          guint ncpus)
{
	g_autoptr (GPtrArray) a = g_ptr_array_new_with_free_func (g_free);
	g_autofree gchar *tek = session_file (f, r, "_tek.bin");
	g_autofree gchar *tik = session_file (f, r, "_tik.bin");
	g_autoptr (GError) error = NULL;
	gint status = 0;

	g_ptr_array_add (a, g_strdup ("/usr/bin/python3"));
	g_ptr_array_add (a, g_strdup (PEER));
	g_ptr_array_add (a, g_strdup ("--quiet"));
	g_ptr_array_add (a, g_strdup_printf ("--measurement=%s", measurement));
	g_ptr_array_add (a, g_strdup ("--api-major=0"));
	g_ptr_array_add (a, g_strdup ("--api-minor=24"));
	g_ptr_array_add (a, g_strdup ("--build-id=15"));
	g_ptr_array_add (a, g_strdup_printf ("--policy=%u", r->policy));
	g_ptr_array_add (a, g_strdup_printf ("--firmware=%s", firmware));
	if (r->policy & AC_SEV_POLICY_ES) {
		g_ptr_array_add (a, g_strdup_printf ("--num-cpus=%u", ncpus));
		g_ptr_array_add (a, g_strdup ("--cpu-family=23"));
		g_ptr_array_add (a, g_strdup ("--cpu-model=1"));
		g_ptr_array_add (a, g_strdup ("--cpu-stepping=2"));
	}
	g_ptr_array_add (a, g_strdup_printf ("--tik=%s", tik));
	g_ptr_array_add (a, g_strdup_printf ("--tek=%s", tek));
	g_ptr_array_add (a, NULL);
	g_assert_true (g_spawn_sync (NULL, (gchar **)a->pdata, NULL,
	                             G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL, NULL,
	                             NULL, NULL, NULL, &status, &error));
	g_assert_no_error (error);
	g_assert_true (WIFEXITED (status));
	g_assert_true (WEXITSTATUS (status) == 0 || WEXITSTATUS (status) == 1);
	return WEXITSTATUS (status);
}

/* the session files prepare keeps and the launch the host made with <launchSecurity> verify
 * with libvirt's tool exactly when they verify with ours */
static void
peer_check (Fixture *f, const gchar *policy, guint vcpus)
{
	g_autofree gchar *xml = domain_xml (f, policy, vcpus);
	g_autoptr (AcTag) tag = tag_of (xml);
	g_autoptr (AcLocalsevPrepared) p = prepare (f, tag, xml);
	g_autofree gchar *other = data_path ("ovmf-other.fd");
	const gchar *m;

	if (!g_file_test (PEER, G_FILE_TEST_EXISTS)) {
		g_test_skip (
		    "virt-qemu-sev-validate is not installed (package libvirt-clients-qemu)");
		return;
	}
	start (f, p->domain_xml, TRUE);
	m = ac_sev_host_fake_get_measurement (f->fake, UUID);
	g_assert_cmpint (peer_run (f, p->record, m, f->firmware, vcpus), ==, 0);
	g_assert_cmpint (peer_run (f, p->record, m, other, vcpus), ==, 1);
	attest_ok (f, tag, p->domain_xml);
}

static void
test_peer_sev (Fixture *f, gconstpointer data)
{
	peer_check (f, "0x1", 1);
}

static void
test_peer_es (Fixture *f, gconstpointer data)
{
	peer_check (f, "0x5", 2);
}

/* ---- domain XML helpers ---- */

static void
test_set_launch_security (void)
{
	g_autofree gchar *path
	    = g_test_build_filename (G_TEST_DIST, "data", "localsev", "check", "ok.xml", NULL);
	g_autofree gchar *xml = NULL;
	g_autofree gchar *out = NULL;
	g_autofree gchar *out2 = NULL;
	g_autoptr (AcDomain) dom = NULL;
	g_autoptr (GError) error = NULL;
	const gchar *ls
	    = "<launchSecurity type='sev'><cbitpos>47</cbitpos><reducedPhysBits>1</reducedPhysBits>"
	      "<policy>0x0001</policy><dhCert>AAAA</dhCert><session>BBBB</session></"
	      "launchSecurity>";

	g_assert_true (g_file_get_contents (path, &xml, NULL, NULL));
	out = ac_localsev_domain_set_launch_security (xml, ls, &error);
	g_assert_no_error (error);
	dom = ac_domain_parse (out, -1, &error);
	g_assert_no_error (error);
	g_assert_cmpstr (dom->ls_cbitpos, ==, "47");
	g_assert_cmpstr (dom->ls_dh_cert, ==, "AAAA");
	g_assert_cmpstr (dom->ls_session, ==, "BBBB");
	/* exactly one launchSecurity, the metadata kept */
	g_assert_nonnull (strstr (out, "<aleph:confidential"));
	g_assert_true (strstr (out, "<launchSecurity") == g_strrstr (out, "<launchSecurity"));
	/* idempotent */
	out2 = ac_localsev_domain_set_launch_security (out, ls, &error);
	g_assert_cmpstr (out, ==, out2);
}

int
main (int argc, char **argv)
{
	g_test_init (&argc, &argv, NULL);

#define T(path, fn)                                                                                \
	g_test_add ("/localsev/" path, Fixture, NULL, fixture_setup, fn, fixture_teardown)
	T ("chain/pdh-swapped", test_pdh_swapped);
	T ("measurement/session-ignored", test_session_ignored);
	T ("measurement/replayed", test_replayed_measurement);
	T ("measurement/malformed", test_malformed_measurement);
	T ("firmware/file-changed", test_wrong_firmware_file);
	T ("firmware/host-loads-other", test_wrong_firmware_loaded);
	T ("firmware/prepare", test_wrong_firmware_prepare);
	T ("policy/reported", test_policy_reported);
	T ("policy/tag-changed", test_policy_tag_changed);
	T ("api/minimum", test_api_minimum);
	T ("api/configurable", test_api_minimum_configurable);
	T ("state/not-paused", test_not_paused);
	T ("state/nothing-prepared", test_nothing_prepared);
	T ("state/definition-changed", test_definition_changed);
	T ("state/permissions", test_state_dir_permissions);
	T ("state/bad-passphrase", test_bad_passphrase);
	T ("peer/sev", test_peer_sev);
	T ("peer/sev-es", test_peer_es);
#undef T
	g_test_add_func ("/localsev/domain/set-launch-security", test_set_launch_security);
	return localsev_test_run ();
}
