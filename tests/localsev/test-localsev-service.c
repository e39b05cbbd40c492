/*
 * The service side of the local SEV flow (ac-localsev-service.h) as virt-alephd drives it:
 * domains defined in libvirt's test driver (their state, definitions and metadata), the SEV
 * platform played by the software PSP through the fake host, and the passphrase in an
 * embedded libvirt secret store (secret:///embed), because the test driver has no secrets.
 * The image tests build real encrypted images from a plain ext4 disk (root: mounts).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "test-localsev-service-common.h"

#include "ac-localsev-service-private.h"

static void
test_prepare (Fixture *f, gconstpointer data)
{
	g_autoptr (GError) error = NULL;
	g_autoptr (AcLocalsevRecord) r = NULL;
	g_autofree gchar *session = NULL;
	g_autofree gchar *xml0 = inactive_xml (f);
	gboolean redefined = FALSE;
	AcStatus *st = NULL;

	put_secret (f, PASSPHRASE, strlen (PASSPHRASE));
	g_assert_null (strstr (xml0, "<launchSecurity"));
	g_assert_true (ac_localsev_service_prepare (AC_SEV_HOST (f->host), f->opts, secrets, f->dom,
	                                            NULL, &redefined, &st, &error));
	g_assert_no_error (error);
	g_assert_true (redefined);
	g_assert_cmpstr (st->state, ==, "prepared");
	g_assert_cmpstr (st->step, ==, "prepare");
	g_assert_cmpuint (st->progress, ==, 100);
	g_assert_null (st->error_message);
	ac_status_free (st);

	r = record (f);
	g_assert_cmpint (r->state, ==, AC_LOCALSEV_STATE_PREPARED);
	g_assert_true (
	    g_str_has_suffix (r->chain_generation, "ark.cert")); /* the configured root */
	g_assert_cmpstr (r->disk_source, ==, f->disk);
	g_assert_cmpstr (r->firmware_sha256, ==, f->sha256);
	session = assert_defined_with (f, r);
	g_assert_nonnull (session);
	assert_nothing_injected (f);
	/* a disk with its passphrase secret is used as it is: nothing built */
	{
		g_autofree gchar *images = g_build_filename (f->tmp, "images", NULL);
		g_autoptr (GError) error_state = NULL;
		g_autoptr (AcLocalsevImageState) state
		    = ac_localsev_image_state_load (f->tmp, UUID, &error_state);
		g_assert_null (state);
		g_assert_error (error_state, AC_ERROR, AC_ERROR_NOT_FOUND);
		g_assert_false (g_file_test (images, G_FILE_TEST_EXISTS));
	}
}

/* a prepared, unused launch is left alone: no new session, no redefinition */
static void
test_second_reconcile_idle (Fixture *f, gconstpointer data)
{
	g_autoptr (GError) error = NULL;
	g_autoptr (AcLocalsevRecord) r1 = NULL;
	g_autoptr (AcLocalsevRecord) r2 = NULL;
	g_autofree gchar *xml1 = NULL;
	g_autofree gchar *xml2 = NULL;
	gboolean redefined = TRUE;
	AcStatus *st = NULL;

	put_secret (f, PASSPHRASE, strlen (PASSPHRASE));
	g_assert_true (reconcile (f, &error));
	g_assert_no_error (error);
	r1 = record (f);
	xml1 = inactive_xml (f);

	g_assert_true (ac_localsev_service_prepare (AC_SEV_HOST (f->host), f->opts, secrets, f->dom,
	                                            f->status, &redefined, &st, &error));
	g_assert_no_error (error);
	g_assert_false (redefined);
	g_assert_cmpstr (st->state, ==, "prepared");
	g_assert_true (ac_status_equal_ignoring_time (st, f->status));
	ac_status_free (st);
	g_assert_true (reconcile (f, &error));
	r2 = record (f);
	xml2 = inactive_xml (f);
	g_assert_cmpstr (r1->session_id, ==, r2->session_id);
	g_assert_cmpstr (r1->prepared, ==, r2->prepared);
	g_assert_cmpstr (xml1, ==, xml2);
}

/* a launch past half of its lifetime is prepared again before its record expires */
static void
test_aged_launch_refreshed (Fixture *f, gconstpointer data)
{
	g_autoptr (GError) error = NULL;
	g_autoptr (AcLocalsevRecord) r1 = NULL;
	g_autoptr (AcLocalsevRecord) r2 = NULL;
	g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
	g_autoptr (GDateTime) prepared = g_date_time_add_days (now, -5);
	g_autoptr (GDateTime) expires = g_date_time_add_days (now, 2);
	g_autoptr (GDateTime) expires2 = NULL;
	g_autofree gchar *path = g_strdup_printf ("%s/localsev/%s/prepared.json", f->tmp, UUID);
	g_autofree gchar *json = NULL;
	g_autofree gchar *unused = NULL;

	put_secret (f, PASSPHRASE, strlen (PASSPHRASE));
	g_assert_true (reconcile (f, &error));
	g_assert_no_error (error);
	r1 = record (f);
	/* a fresh record lives the default week */
	expires2 = g_date_time_new_from_iso8601 (r1->expires, NULL);
	g_assert_nonnull (expires2);
	g_assert_cmpint (g_date_time_difference (expires2, now) / G_TIME_SPAN_SECOND, >=,
	                 AC_LOCALSEV_DEFAULT_LIFETIME_S - 60);
	g_assert_nonnull (r1->host);
	g_assert_cmpstr (r1->host, !=, "");
	/* five days later, two before it expires */
	g_free (r1->prepared);
	g_free (r1->expires);
	r1->prepared = g_date_time_format (prepared, "%Y-%m-%dT%H:%M:%SZ");
	r1->expires = g_date_time_format (expires, "%Y-%m-%dT%H:%M:%SZ");
	json = ac_localsev_record_to_json (r1);
	g_assert_true (g_file_set_contents (path, json, -1, &error));
	g_assert_true (reconcile (f, &error));
	g_assert_no_error (error);
	g_assert_cmpstr (f->status->state, ==, "prepared");
	r2 = record (f);
	g_assert_cmpstr (r2->session_id, !=, r1->session_id);
	g_assert_false (ac_localsev_record_needs_refresh (r2, NULL));
	unused = assert_defined_with (f, r2);
}

/* a launch used the session: the next reconcile of the stopped domain prepares a fresh one */
static void
test_fresh_after_launch (Fixture *f, gconstpointer data)
{
	g_autoptr (GError) error = NULL;
	g_autoptr (AcLocalsevRecord) r1 = NULL;
	g_autoptr (AcLocalsevRecord) r2 = NULL;
	g_autoptr (AcLocalsevRecord) r3 = NULL;
	g_autofree gchar *s1 = NULL;
	g_autofree gchar *s2 = NULL;
	g_autofree gchar *s3 = NULL;
	g_autofree gchar *tek1 = NULL;

	put_secret (f, PASSPHRASE, strlen (PASSPHRASE));
	g_assert_true (reconcile (f, &error));
	r1 = record (f);
	s1 = assert_defined_with (f, r1);
	tek1 = g_strdup_printf ("%s/localsev/%s/%s_tek.bin", f->tmp, UUID, r1->session_id);
	g_assert_true (g_file_test (tek1, G_FILE_TEST_EXISTS));

	/* launched (the hook marked it), attested, stopped */
	start (f, TRUE);
	g_assert_true (reconcile (f, &error));
	g_assert_no_error (error);
	g_assert_cmpstr (f->status->state, ==, "running");
	destroy (f);
	g_assert_true (reconcile (f, &error));
	g_assert_no_error (error);
	g_assert_cmpstr (f->status->state, ==, "prepared");
	r2 = record (f);
	g_assert_cmpint (r2->state, ==, AC_LOCALSEV_STATE_PREPARED);
	g_assert_cmpstr (r2->session_id, !=, r1->session_id);
	s2 = assert_defined_with (f, r2);
	g_assert_cmpstr (s2, !=, s1);
	g_assert_cmpstr (r2->dh_cert, !=, r1->dh_cert);
	g_assert_false (g_file_test (tek1, G_FILE_TEST_EXISTS));
	/* the last attestation stays in the status */
	g_assert_cmpstr (f->status->attest_verdict, ==, "ok");

	/* launched but never attested (e.g. destroyed while paused): fresh too */
	start (f, TRUE);
	destroy (f);
	g_assert_true (reconcile (f, &error));
	g_assert_no_error (error);
	r3 = record (f);
	g_assert_cmpstr (r3->session_id, !=, r2->session_id);
	s3 = assert_defined_with (f, r3);
	g_assert_cmpstr (s3, !=, s2);
}

/* the tag changed (policy) while a launch was prepared: prepared again for the new policy */
static void
test_tag_changed (Fixture *f, gconstpointer data)
{
	g_autoptr (GError) error = NULL;
	g_autoptr (AcLocalsevRecord) r1 = NULL;
	g_autoptr (AcLocalsevRecord) r2 = NULL;
	g_autofree gchar *xml = NULL;
	g_autoptr (AcDomain) dom = NULL;
	g_autofree gchar *unused = NULL;

	put_secret (f, PASSPHRASE, strlen (PASSPHRASE));
	g_assert_true (reconcile (f, &error));
	r1 = record (f);
	define (f, "0x3"); /* the user edits the tag; the definition loses launchSecurity too */
	g_assert_true (reconcile (f, &error));
	g_assert_no_error (error);
	r2 = record (f);
	g_assert_cmpstr (r2->session_id, !=, r1->session_id);
	g_assert_cmpuint (r2->policy, ==, 0x3);
	xml = inactive_xml (f);
	dom = ac_domain_parse (xml, -1, &error);
	g_assert_no_error (error);
	g_assert_cmpuint (g_ascii_strtoull (dom->ls_policy, NULL, 16), ==, 0x3);
	unused = assert_defined_with (f, r2);
}

/* a private secret the user defined, with no copy of ours: the attest fails closed, saying so */
static void
test_private_secret_without_copy (Fixture *f, gconstpointer data)
{
	g_autoptr (GError) error = NULL;

	put_secret_private (f, PASSPHRASE, strlen (PASSPHRASE), TRUE);
	g_assert_true (reconcile (f, &error));
	g_assert_no_error (error);
	start (f, TRUE);
	g_assert_false (reconcile (f, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_NOT_FOUND);
	g_assert_nonnull (strstr (error->message, "is private and this machine keeps no copy"));
	g_assert_cmpstr (f->status->state, ==, "failed");
	g_assert_cmpuint (ac_sev_host_fake_get_secret_count (f->fake, UUID), ==, 0);
}

/* the store: a private secret and the service's copy (replacing and undefining, which the
 * embedded secret driver of libvirt 9.0 crashes on, are tried by tests/integration) */
static void
test_secret_store_copy (Fixture *f, gconstpointer data)
{
	g_autoptr (GError) error = NULL;
	g_autofree gchar *image = g_build_filename (f->tmp, "store.img", NULL);
	g_autofree gchar *other = g_build_filename (f->tmp, "other.img", NULL);
	g_autofree gchar *dir = g_build_filename (f->tmp, "secrets", NULL);
	g_autofree gchar *uuid = NULL;
	g_autofree gchar *copy = NULL;
	guint8 *value;
	gsize len = 0;

	uuid = ac_secret_store_put (secrets, f->tmp, "store", image, (const guint8 *)"pass word", 9,
	                            &error);
	g_assert_no_error (error);
	copy = ac_secret_store_copy_path (f->tmp, uuid);
	g_assert_true (g_file_test (copy, G_FILE_TEST_IS_REGULAR));
	value = ac_secret_store_get (secrets, f->tmp, uuid, &len, &error);
	g_assert_no_error (error);
	g_assert_cmpmem (value, len, "pass word", 9);
	g_assert_cmpint (value[len], ==, 0);
	OPENSSL_clear_free (value, len + 1);
	/* a path for a UUID is a UUID's only */
	g_assert_null (ac_secret_store_copy_path (f->tmp, "../../etc/shadow"));
	/* a loose copy directory is refused before libvirt is touched */
	g_assert_cmpint (chmod (dir, 0755), ==, 0);
	g_assert_null (
	    ac_secret_store_put (secrets, f->tmp, "store", other, (const guint8 *)"x", 1, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_REFUSED);
	g_assert_nonnull (strstr (error->message, "mode 0700"));
	g_assert_null (virSecretLookupByUsage (secrets, VIR_SECRET_USAGE_TYPE_VOLUME, other));
	virResetLastError ();
}

/* ---- started -------------------------------------------------------------------------------- */

static void
test_started_paused (Fixture *f, gconstpointer data)
{
	g_autoptr (GError) error = NULL;
	g_autoptr (AcLocalsevRecord) r = NULL;
	AcSevDomainState state = AC_SEV_DOMAIN_STATE_OTHER;
	int lstate = 0, reason = 0;

	put_secret (f, PASSPHRASE, strlen (PASSPHRASE));
	g_assert_true (reconcile (f, &error));
	start (f, TRUE);
	g_assert_cmpint (virDomainGetState (f->dom, &lstate, &reason, 0), ==, 0);
	g_assert_cmpint (lstate, ==, VIR_DOMAIN_PAUSED);

	g_assert_true (reconcile (f, &error));
	g_assert_no_error (error);
	g_assert_cmpstr (f->status->state, ==, "running");
	g_assert_cmpstr (f->status->step, ==, "attest");
	g_assert_cmpuint (f->status->progress, ==, 100);
	g_assert_cmpstr (f->status->attest_verdict, ==, "ok");
	g_assert_cmpstr (f->status->attest_measurement, ==,
	                 ac_sev_host_fake_get_measurement (f->fake, UUID));
	g_assert_true (g_str_has_suffix (f->status->attest_generation, "ark.cert"));
	g_assert_nonnull (f->status->attest_time);
	/* the PSP decrypted exactly the passphrase; both sides run */
	g_assert_cmpuint (ac_sev_host_fake_get_secret_count (f->fake, UUID), ==, 1);
	check_secret (f);
	g_assert_cmpint (ac_sev_host_fake_get_state (f->fake, UUID), ==,
	                 AC_SEV_DOMAIN_STATE_RUNNING);
	g_assert_true (ac_sev_host_get_domain_state (AC_SEV_HOST (f->host), UUID, &state, &error));
	g_assert_cmpint (state, ==, AC_SEV_DOMAIN_STATE_RUNNING);
	r = record (f);
	g_assert_cmpint (r->state, ==, AC_LOCALSEV_STATE_ATTESTED);
	/* the passphrase is in no status field */
	{
		g_autofree gchar *text = ac_status_format (f->status);
		g_assert_null (strstr (text, PASSPHRASE));
	}

	/* the next event (resumed) changes nothing and injects nothing more */
	g_assert_true (reconcile (f, &error));
	g_assert_no_error (error);
	g_assert_cmpstr (f->status->state, ==, "running");
	g_assert_cmpuint (ac_sev_host_fake_get_set_state_calls (f->fake), ==, 1);
}

static void
test_started_unpaused (Fixture *f, gconstpointer data)
{
	g_autoptr (GError) error = NULL;
	g_autoptr (AcLocalsevRecord) r1 = NULL;
	g_autoptr (AcLocalsevRecord) r2 = NULL;

	put_secret (f, PASSPHRASE, strlen (PASSPHRASE));
	g_assert_true (reconcile (f, &error));
	r1 = record (f);
	start (f, FALSE);
	g_assert_false (reconcile (f, &error));
	assert_error (error, AC_ERROR_REFUSED, "start it with 'virsh start --paused " NAME "'");
	g_assert_nonnull (strstr (error->message, "without --paused"));
	assert_failed_status (f, "attest", AC_ERROR_REFUSED);
	g_assert_nonnull (strstr (f->status->error_message, "virsh start --paused " NAME));
	assert_nothing_injected (f);
	g_clear_error (&error);

	/* stopped: a fresh session, never the burnt one */
	destroy (f);
	g_assert_true (reconcile (f, &error));
	g_assert_no_error (error);
	r2 = record (f);
	g_assert_cmpstr (r2->session_id, !=, r1->session_id);
}

/* the hook did not run (not installed): the session is still taken as used */
static void
test_started_without_hook (Fixture *f, gconstpointer data)
{
	g_autoptr (GError) error = NULL;
	g_autoptr (AcLocalsevRecord) r1 = NULL;
	g_autoptr (AcLocalsevRecord) r2 = NULL;
	g_autofree gchar *xml = NULL;

	put_secret (f, PASSPHRASE, strlen (PASSPHRASE));
	g_assert_true (reconcile (f, &error));
	r1 = record (f);
	xml = inactive_xml (f);
	g_assert_cmpint (virDomainCreate (f->dom), ==, 0);
	g_assert_true (ac_sev_host_fake_start (f->fake, xml, NULL, FALSE, &error));
	g_assert_false (reconcile (f, &error));
	assert_error (error, AC_ERROR_REFUSED, "virsh start --paused");
	g_clear_error (&error);
	r2 = record (f);
	g_assert_cmpint (r2->state, ==, AC_LOCALSEV_STATE_LAUNCHED);
	destroy (f);
	g_assert_true (reconcile (f, &error));
	g_clear_pointer (&r2, ac_localsev_record_free);
	r2 = record (f);
	g_assert_cmpstr (r2->session_id, !=, r1->session_id);
}

/* ---- fail closed ---------------------------------------------------------------------------- */

/* no passphrase secret: the flow builds an image from the disk; a disk without a Linux root
 * filesystem cannot be one, and nothing is prepared */
static void
test_no_secret_prepare (Fixture *f, gconstpointer data)
{
	g_autoptr (GError) error = NULL;
	g_autoptr (GError) error_load = NULL;
	g_autofree gchar *xml = NULL;
	g_autofree gchar *content = NULL;
	g_autofree gchar *image = g_strdup_printf ("%s/images/%s.img", f->tmp, UUID);

	g_assert_false (reconcile (f, &error));
	assert_error (error, AC_ERROR_NOT_FOUND, "no Linux root filesystem");
	g_assert_nonnull (strstr (error->message, f->disk));
	assert_failed_status (f, "build", AC_ERROR_NOT_FOUND);
	g_assert_nonnull (strstr (f->status->error_message, "building the encrypted image"));
	/* nothing prepared: no record, no launchSecurity, so the hook refuses a start */
	g_assert_null (ac_localsev_record_load (f->tmp, UUID, &error_load));
	g_assert_error (error_load, AC_ERROR, AC_ERROR_NOT_FOUND);
	xml = inactive_xml (f);
	g_assert_null (strstr (xml, "<launchSecurity"));
	g_assert_nonnull (strstr (xml, f->disk));
	/* the disk only read, nothing left behind */
	g_assert_true (g_file_get_contents (f->disk, &content, NULL, NULL));
	g_assert_cmpstr (content, ==, "an encrypted image");
	g_assert_false (g_file_test (image, G_FILE_TEST_EXISTS));
}

/* the secret went away between prepare and the start (the state is made with the flow's own
 * prepare, as the store cannot undefine here): nothing injected, the session not burnt */
static void
test_no_secret_attest (Fixture *f, gconstpointer data)
{
	g_autoptr (GError) error = NULL;
	g_autoptr (AcLocalsevRecord) r = NULL;
	g_autoptr (AcLocalsevPrepared) p = NULL;
	g_autoptr (AcTag) tag = NULL;
	g_autofree gchar *xml = inactive_xml (f);
	virDomainPtr defined;

	tag = ac_tag_parse (xml, -1, NULL, &error);
	g_assert_no_error (error);
	p = ac_localsev_prepare (AC_SEV_HOST (f->host), f->opts, tag, xml, NULL, &error);
	g_assert_no_error (error);
	defined = virDomainDefineXML (f->conn, p->domain_xml);
	g_assert_nonnull (defined);
	virDomainFree (defined);
	start (f, TRUE);
	g_assert_false (reconcile (f, &error));
	assert_error (error, AC_ERROR_NOT_FOUND, "virt-aleph build");
	g_assert_nonnull (strstr (error->message, f->disk));
	assert_failed_status (f, "attest", AC_ERROR_NOT_FOUND);
	assert_nothing_injected (f);
	g_assert_cmpint (ac_sev_host_fake_get_state (f->fake, UUID), ==,
	                 AC_SEV_DOMAIN_STATE_PAUSED);
	r = record (f);
	g_assert_cmpint (r->state, ==, AC_LOCALSEV_STATE_LAUNCHED);
	g_clear_error (&error);

	/* the owner stores the passphrase: the same launch is attested */
	put_secret (f, PASSPHRASE, strlen (PASSPHRASE));
	g_assert_true (reconcile (f, &error));
	g_assert_no_error (error);
	g_assert_cmpstr (f->status->state, ==, "running");
	check_secret (f);
}

/* a passphrase with a NUL byte cannot be GRUB's: refused before anything is injected */
static void
test_bad_secret (Fixture *f, gconstpointer data)
{
	g_autoptr (GError) error = NULL;
	g_autoptr (AcLocalsevRecord) r = NULL;

	put_secret (f, "pass\0word", 9);
	g_assert_true (reconcile (f, &error));
	g_assert_no_error (error);
	start (f, TRUE);
	g_assert_false (reconcile (f, &error));
	assert_error (error, AC_ERROR_INVALID_INPUT, "NUL");
	assert_failed_status (f, "attest", AC_ERROR_INVALID_INPUT);
	assert_nothing_injected (f);
	r = record (f);
	g_assert_cmpint (r->state, ==, AC_LOCALSEV_STATE_LAUNCHED);
}

/* a store that cannot be asked is not "no secret": a libvirt error (the daemon retries) */
static void
test_store_unavailable (Fixture *f, gconstpointer data)
{
	g_autoptr (GError) error = NULL;
	AcStatus *st = NULL;

	g_assert_false (ac_localsev_service_reconcile (AC_SEV_HOST (f->host), f->opts, f->conn,
	                                               f->dom, NULL, &st, &error));
	assert_error (error, AC_ERROR_LIBVIRT, "cannot look up the disk passphrase");
	g_assert_cmpstr (st->state, ==, "failed");
	g_clear_pointer (&st, ac_status_free);
	g_clear_error (&error);
	/* none given: the domain's own (local) libvirt is asked, the same answer */
	g_assert_false (ac_localsev_service_reconcile (AC_SEV_HOST (f->host), f->opts, NULL, f->dom,
	                                               NULL, &st, &error));
	assert_error (error, AC_ERROR_LIBVIRT, "cannot look up the disk passphrase");
	ac_status_free (st);
	assert_nothing_injected (f);
}

/* the host's chain leads to no trusted root: nothing prepared, nothing injected */
static void
test_untrusted_prepare (Fixture *f, gconstpointer data)
{
	g_autoptr (GError) error = NULL;
	g_autoptr (GError) error_load = NULL;
	g_autofree gchar *xml = NULL;

	/* AMD's roots only, as without trusted-roots in the configuration */
	ac_localsev_options_free (f->opts);
	f->opts = ac_localsev_service_options_new (f->tmp, NULL, 0, 17, &error);
	g_assert_no_error (error);
	put_secret (f, PASSPHRASE, strlen (PASSPHRASE));
	g_assert_false (reconcile (f, &error));
	assert_error (error, AC_ERROR_UNTRUSTED, "chain");
	assert_failed_status (f, "prepare", AC_ERROR_UNTRUSTED);
	g_assert_null (ac_localsev_record_load (f->tmp, UUID, &error_load));
	xml = inactive_xml (f);
	g_assert_null (strstr (xml, "<launchSecurity"));
	assert_nothing_injected (f);
}

/* the host swaps its platform after prepare: attest refuses (untrusted), nothing injected */
static void
test_untrusted_attest (Fixture *f, gconstpointer data)
{
	g_autoptr (GError) error = NULL;

	put_secret (f, PASSPHRASE, strlen (PASSPHRASE));
	g_assert_true (reconcile (f, &error));
	start (f, TRUE);
	ac_sev_host_fake_set_psp (f->fake, psp_other);
	g_assert_false (reconcile (f, &error));
	assert_error (error, AC_ERROR_UNTRUSTED, "chain");
	assert_failed_status (f, "attest", AC_ERROR_UNTRUSTED);
	g_assert_cmpstr (f->status->attest_verdict, ==, "untrusted");
	g_assert_null (f->status->attest_measurement);
	assert_nothing_injected (f);
	g_assert_cmpint (ac_sev_host_fake_get_state (f->fake, UUID), ==,
	                 AC_SEV_DOMAIN_STATE_PAUSED);
}

/* the host reports another measurement: mismatch, nothing injected */
static void
test_mismatch_attest (Fixture *f, gconstpointer data)
{
	g_autoptr (GError) error = NULL;
	g_autofree gchar *m = NULL;

	put_secret (f, PASSPHRASE, strlen (PASSPHRASE));
	g_assert_true (reconcile (f, &error));
	start (f, TRUE);
	m = g_strdup (ac_sev_host_fake_get_measurement (f->fake, UUID));
	m[0] = m[0] == 'A' ? 'B' : 'A';
	g_assert_true (ac_sev_host_fake_set_reported_measurement (f->fake, UUID, m));
	g_assert_false (reconcile (f, &error));
	assert_error (error, AC_ERROR_MISMATCH, "measurement");
	g_assert_cmpstr (f->status->attest_verdict, ==, "mismatch");
	assert_nothing_injected (f);
	g_clear_error (&error);

	/* the session is burnt: the next event does not try again */
	g_assert_false (reconcile (f, &error));
	assert_error (error, AC_ERROR_REFUSED, "stale session");
	assert_nothing_injected (f);
	g_clear_error (&error);

	/* stopped: a fresh launch is prepared, and an honest host's is attested */
	destroy (f);
	g_assert_true (reconcile (f, &error));
	g_assert_no_error (error);
	g_assert_cmpstr (f->status->state, ==, "prepared");
	start (f, TRUE);
	g_assert_true (reconcile (f, &error));
	g_assert_no_error (error);
	g_assert_cmpstr (f->status->attest_verdict, ==, "ok");
	check_secret (f);
}

/* attested, then paused by its user (virsh suspend): still attested, nothing injected again */
static void
test_suspended_after_attest (Fixture *f, gconstpointer data)
{
	g_autoptr (GError) error = NULL;

	put_secret (f, PASSPHRASE, strlen (PASSPHRASE));
	g_assert_true (reconcile (f, &error));
	start (f, TRUE);
	g_assert_true (reconcile (f, &error));
	g_assert_cmpint (virDomainSuspend (f->dom), ==, 0);
	g_assert_true (reconcile (f, &error));
	g_assert_no_error (error);
	g_assert_cmpstr (f->status->state, ==, "running");
	g_assert_cmpstr (f->status->attest_verdict, ==, "ok");
	g_assert_cmpuint (ac_sev_host_fake_get_set_state_calls (f->fake), ==, 1);
}

/* tagged while it ran: nothing prepared; told how to start it */
static void
test_running_unprepared (Fixture *f, gconstpointer data)
{
	g_autoptr (GError) error = NULL;

	put_secret (f, PASSPHRASE, strlen (PASSPHRASE));
	g_assert_cmpint (virDomainCreate (f->dom), ==, 0);
	g_assert_false (reconcile (f, &error));
	assert_error (error, AC_ERROR_NOT_FOUND, "virsh start --paused " NAME);
	assert_failed_status (f, "attest", AC_ERROR_NOT_FOUND);
	assert_nothing_injected (f);
}

/* a PDH changed while a launch waits: prepared afresh (for the new, trusted, platform) */
static void
test_pdh_changed_reprepares (Fixture *f, gconstpointer data)
{
	g_autoptr (GError) error = NULL;
	g_autoptr (AcLocalsevRecord) r1 = NULL;
	g_autoptr (AcLocalsevRecord) r2 = NULL;
	g_autoptr (AcSevRoots) roots = ac_sev_roots_new ();

	g_assert_true (ac_sev_roots_add (roots, "test-platform", ac_sev_psp_get_ark (psp),
	                                 ac_sev_psp_get_ask (psp), &error));
	g_assert_true (ac_sev_roots_add (roots, "other-platform", ac_sev_psp_get_ark (psp_other),
	                                 ac_sev_psp_get_ask (psp_other), &error));
	ac_sev_roots_unref (f->opts->roots);
	f->opts->roots = g_steal_pointer (&roots);
	put_secret (f, PASSPHRASE, strlen (PASSPHRASE));
	g_assert_true (reconcile (f, &error));
	r1 = record (f);
	g_assert_cmpstr (r1->chain_generation, ==, "test-platform");
	ac_sev_host_fake_set_psp (f->fake, psp_other);
	g_assert_true (reconcile (f, &error));
	g_assert_no_error (error);
	r2 = record (f);
	g_assert_cmpstr (r2->chain_generation, ==, "other-platform");
	g_assert_cmpstr (r2->pdh_sha256, !=, r1->pdh_sha256);
}

/* ---- the encrypted image ------------------------------------------------------------------- */

/* ---- configuration and scope -------------------------------------------------------------- */

static void
test_secrets_connect (Fixture *f, gconstpointer data)
{
	g_autoptr (GError) error = NULL;
	virConnectPtr c;

	c = ac_localsev_service_secrets_connect (f->conn, "qemu+ssh://sev-host.example/system",
	                                         &error);
	g_assert_null (c);
	assert_error (error, AC_ERROR_REFUSED, "qemu+ssh://sev-host.example/system");
	g_clear_error (&error);
	c = ac_localsev_service_secrets_connect (f->conn, "qemu://sev-host.example/system", &error);
	g_assert_null (c);
	g_assert_error (error, AC_ERROR, AC_ERROR_REFUSED);
	g_clear_error (&error);
	/* the managing connection itself, when it is local */
	c = ac_localsev_service_secrets_connect (f->conn, NULL, &error);
	g_assert_no_error (error);
	g_assert_true (c == f->conn);
	virConnectClose (c);
	/* a configured local one (secret:///embed cannot be opened twice in a process) */
	c = ac_localsev_service_secrets_connect (f->conn, "test:///default", &error);
	g_assert_no_error (error);
	g_assert_nonnull (c);
	virConnectClose (c);
	/* a local unix transport is local; a remote host behind one is not */
	c = ac_localsev_service_secrets_connect (f->conn, "qemu+unix:///system?socket=/nonexistent",
	                                         &error);
	g_assert_null (c);
	g_assert_error (error, AC_ERROR, AC_ERROR_LIBVIRT); /* tried: local, but no daemon there */
	g_clear_error (&error);
	c = ac_localsev_service_secrets_connect (f->conn, "qemu+unix://other-host/system", &error);
	g_assert_null (c);
	g_assert_error (error, AC_ERROR, AC_ERROR_REFUSED);
}

static AcTag *
tag_from (const gchar *body)
{
	g_autofree gchar *xml
	    = g_strdup_printf ("<domain type='kvm'><name>t</name><metadata>"
	                       "<aleph:confidential xmlns:aleph='" AC_TAG_NS "'>%s"
	                       "</aleph:confidential></metadata><devices><disk type='file' "
	                       "device='disk'><source file='/d.img'/><target dev='vda'/>"
	                       "</disk></devices></domain>",
	                       body);
	g_autoptr (GError) error = NULL;
	AcTag *tag = ac_tag_parse (xml, -1, NULL, &error);
	g_assert_no_error (error);
	return tag;
}

static void
test_applies (Fixture *f, gconstpointer data)
{
	g_autoptr (AcTag) unset = tag_from ("");
	g_autoptr (AcTag) sev = tag_from ("<aleph:local mode='sev'/>");
	g_autoptr (AcTag) test = tag_from ("<aleph:local mode='test'/>");
	g_autoptr (AcTag) deny = tag_from ("<aleph:local mode='deny'/>");
	g_autoptr (AcTag) publish = tag_from ("<aleph:local mode='sev'/><aleph:publish/>");
	g_autoptr (AcTag) snp = tag_from ("<aleph:sev type='snp'/>");
	g_autoptr (AcTag) snp_sev = tag_from ("<aleph:sev type='snp'/><aleph:local mode='sev'/>");
	AcSevHost *nosev = f->host->libvirt; /* the test driver: virNodeGetSEVInfo unsupported */

	g_assert_true (ac_localsev_service_host_has_sev (AC_SEV_HOST (f->host)));
	g_assert_false (ac_localsev_service_host_has_sev (nosev));
	g_assert_true (ac_localsev_service_applies (AC_SEV_HOST (f->host), unset));
	g_assert_false (ac_localsev_service_applies (nosev, unset));
	g_assert_true (ac_localsev_service_applies (AC_SEV_HOST (f->host), sev));
	g_assert_true (ac_localsev_service_applies (nosev, sev)); /* and says why it cannot */
	g_assert_false (ac_localsev_service_applies (AC_SEV_HOST (f->host), test));
	g_assert_false (ac_localsev_service_applies (AC_SEV_HOST (f->host), deny));
	g_assert_false (ac_localsev_service_applies (AC_SEV_HOST (f->host), publish));
	/* an SNP tag is never prepared as an SEV launch: SEV alone is not SEV-SNP, so an unset
	 * mode is deny here; mode sev is the flow's, which refuses it naming what the host lacks
	 * (test-localsev-service-snp.c) */
	g_assert_false (ac_localsev_service_applies (AC_SEV_HOST (f->host), snp));
	g_assert_true (ac_localsev_service_applies (AC_SEV_HOST (f->host), snp_sev));
}

/* mode sev on a host without SEV: the status says so, nothing is written */
static void
test_host_without_sev (Fixture *f, gconstpointer data)
{
	g_autoptr (GError) error = NULL;
	AcStatus *st = NULL;

	put_secret (f, PASSPHRASE, strlen (PASSPHRASE));
	g_assert_false (ac_localsev_service_reconcile (f->host->libvirt, f->opts, secrets, f->dom,
	                                               NULL, &st, &error));
	assert_error (error, AC_ERROR_UNSUPPORTED, "virNodeGetSEVInfo");
	g_assert_cmpstr (st->state, ==, "failed");
	g_assert_cmpstr (st->error_code, ==, "unsupported");
	ac_status_free (st);
}

static void
test_options (Fixture *f, gconstpointer data)
{
	g_autoptr (GError) error = NULL;
	g_autofree gchar *bad = g_build_filename (f->tmp, "bogus-ark.cert", NULL);
	g_autofree gchar *missing = g_build_filename (f->tmp, "missing-ark.cert", NULL);
	gchar *roots_bad[] = { bad, NULL };
	gchar *roots_missing[] = { missing, NULL };
	AcLocalsevOptions *opts;

	g_assert_cmpuint (f->opts->min_api_minor, ==, 17);
	g_assert_cmpuint (ac_sev_roots_get_size (f->opts->roots), >, 1);
	g_assert_true (g_file_set_contents (bad, "not a certificate", -1, NULL));
	opts = ac_localsev_service_options_new (f->tmp, roots_bad, 0, 17, &error);
	g_assert_null (opts);
	g_assert_nonnull (error);
	g_assert_nonnull (strstr (error->message, bad));
	g_clear_error (&error);
	opts = ac_localsev_service_options_new (f->tmp, roots_missing, 0, 17, &error);
	g_assert_null (opts);
	g_assert_nonnull (strstr (error->message, missing));
	g_clear_error (&error);
	opts = ac_localsev_service_options_new (NULL, NULL, 1, 2, &error);
	g_assert_no_error (error);
	g_assert_cmpuint (opts->min_api_major, ==, 1);
	g_assert_cmpuint (opts->min_api_minor, ==, 2);
	ac_localsev_options_free (opts);
}

/* a published domain is the Aleph flow's: refused, nothing prepared */
static void
test_published_refused (Fixture *f, gconstpointer data)
{
	g_autoptr (GError) error = NULL;
	g_autofree gchar *xml = domain_xml (f, "0x1");
	g_autoptr (GString) s = g_string_new (xml);

	g_string_replace (s, "<aleph:local mode=\"sev\"/>",
	                  "<aleph:local mode=\"sev\"/><aleph:publish/>", 0);
	virDomainFree (f->dom);
	f->dom = virDomainDefineXML (f->conn, s->str);
	g_assert_nonnull (f->dom);
	put_secret (f, PASSPHRASE, strlen (PASSPHRASE));
	g_assert_false (reconcile (f, &error));
	assert_error (error, AC_ERROR_INVALID_INPUT, "<aleph:publish>");
}

/* a domain gone under the service: libvirt's reason reaches the error, which says not found */
static void
test_get_xml_gone (Fixture *f, gconstpointer data)
{
	g_autoptr (GError) error = NULL;
	g_autofree gchar *xml = NULL;

	g_assert_cmpint (virDomainUndefine (f->dom), ==, 0);
	xml = ac_virt_get_xml_flags (f->dom, VIR_DOMAIN_XML_INACTIVE, &error);
	g_assert_null (xml);
	g_assert_error (error, AC_ERROR, AC_ERROR_NOT_FOUND);
	g_assert_true (
	    g_str_has_prefix (error->message, "cannot read the XML of domain '" NAME "': "));
	g_assert_null (strstr (error->message, "unknown libvirt error"));
	g_clear_error (&error);

	/* without a GError, libvirt's reason stays for a caller's own wording (virt-aleph build's
	 * "cannot get the XML of domain …") */
	g_assert_null (ac_virt_get_xml_flags (f->dom, VIR_DOMAIN_XML_INACTIVE, NULL));
	ac_virt_set_error (&error, "cannot get the XML of domain %s", NAME);
	g_assert_error (error, AC_ERROR, AC_ERROR_NOT_FOUND);
	g_assert_true (
	    g_str_has_prefix (error->message, "cannot get the XML of domain " NAME ": "));
	g_assert_null (strstr (error->message, "unknown libvirt error"));
}

int
main (int argc, char **argv)
{
	localsev_service_test_init (&argc, &argv);

#define T(path, fn)                                                                                \
	g_test_add ("/localsev/service/" path, Fixture, NULL, fixture_setup, fn, fixture_teardown)
	T ("prepare/writes", test_prepare);
	T ("prepare/unused-kept", test_second_reconcile_idle);
	T ("prepare/aged-refreshed", test_aged_launch_refreshed);
	T ("secret/store-copy", test_secret_store_copy);
	T ("secret/private-without-copy", test_private_secret_without_copy);
	T ("prepare/fresh-after-launch", test_fresh_after_launch);
	T ("prepare/tag-changed", test_tag_changed);
	T ("prepare/pdh-changed", test_pdh_changed_reprepares);
	T ("started/paused-attested", test_started_paused);
	T ("started/unpaused", test_started_unpaused);
	T ("started/without-hook", test_started_without_hook);
	T ("secret/missing-prepare", test_no_secret_prepare);
	T ("secret/missing-attest", test_no_secret_attest);
	T ("secret/binary", test_bad_secret);
	T ("secret/store-unavailable", test_store_unavailable);
	T ("chain/untrusted-prepare", test_untrusted_prepare);
	T ("chain/untrusted-attest", test_untrusted_attest);
	T ("measurement/mismatch", test_mismatch_attest);
	T ("started/suspended-after-attest", test_suspended_after_attest);
	T ("started/running-unprepared", test_running_unprepared);
	T ("host/no-sev", test_host_without_sev);
	T ("config/secrets-connect", test_secrets_connect);
	T ("config/applies", test_applies);
	T ("config/options", test_options);
	T ("config/published", test_published_refused);
	T ("helpers/get-xml-gone", test_get_xml_gone);
#undef T
	return localsev_service_test_run ();
}
