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

#include <glib/gstdio.h>
#include <libvirt/virterror.h>
#include <openssl/crypto.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ac-error.h"
#include "ac-image-build.h"
#include "ac-localsev-domain.h"
#include "ac-localsev-image.h"
#include "ac-secret-store.h"
#include "ac-localsev-service.h"
#include "ac-sev-host-fake.h"
#include "ac-sev-host-libvirt.h"
#include "ac-sev-secret.h"
#include "ac-virt.h"

#define PASSPHRASE "correct horse battery staple"
#define UUID "6a0d2d0b-2c8e-4f55-9f34-4e8b4b1f0c21"
#define NAME "conf-vm"

static AcSevPsp *psp = NULL;         /* the synthetic platform (tests/data/localsev/platform) */
static GString *logged = NULL;       /* every log line, to check no passphrase reaches one */
static AcSevPsp *psp_other = NULL;   /* another platform, trusted too */
static virConnectPtr secrets = NULL; /* secret:///embed, one per process */
static gchar *secrets_root = NULL;

G_DEFINE_AUTOPTR_CLEANUP_FUNC (virSecret, virSecretFree)

/* ---- a host whose domains are libvirt's (test driver) and whose SEV is the fake's -------- */

#define TEST_TYPE_HOST (test_host_get_type ())
G_DECLARE_FINAL_TYPE (TestHost, test_host, TEST, HOST, GObject)

struct _TestHost {
	GObject parent_instance;
	AcSevHost *fake;    /* SEV info, launch measurement, secret injection */
	AcSevHost *libvirt; /* domain state */
	virConnectPtr conn;
};

static void
test_host_iface_init (AcSevHostInterface *iface);
G_DEFINE_TYPE_WITH_CODE (TestHost,
                         test_host,
                         G_TYPE_OBJECT,
                         G_IMPLEMENT_INTERFACE (AC_TYPE_SEV_HOST, test_host_iface_init))

static const gchar *
test_host_get_name (AcSevHost *host)
{
	return "test:///default+fake-psp";
}

/* libvirt's: the test driver reports this machine's host name */
static gchar *
test_host_get_host_id (AcSevHost *host, GError **error)
{
	return ac_sev_host_get_host_id (TEST_HOST (host)->libvirt, error);
}

static AcSevHostInfo *
test_host_get_sev_info (AcSevHost *host, GError **error)
{
	return ac_sev_host_get_sev_info (TEST_HOST (host)->fake, error);
}

static gboolean
test_host_get_domain_state (AcSevHost *host,
                            const gchar *domain,
                            AcSevDomainState *state,
                            GError **error)
{
	return ac_sev_host_get_domain_state (TEST_HOST (host)->libvirt, domain, state, error);
}

static AcSevLaunchInfo *
test_host_get_launch_security_info (AcSevHost *host, const gchar *domain, GError **error)
{
	return ac_sev_host_get_launch_security_info (TEST_HOST (host)->fake, domain, error);
}

static gboolean
test_host_set_launch_security_state (AcSevHost *host,
                                     const gchar *domain,
                                     const gchar *hdr,
                                     const gchar *secret,
                                     gboolean has_address,
                                     guint64 address,
                                     GError **error)
{
	return ac_sev_host_set_launch_security_state (TEST_HOST (host)->fake, domain, hdr, secret,
	                                              has_address, address, error);
}

static gboolean
test_host_resume (AcSevHost *host, const gchar *domain, GError **error)
{
	return ac_sev_host_resume (TEST_HOST (host)->fake, domain, error)
	       && ac_sev_host_resume (TEST_HOST (host)->libvirt, domain, error);
}

static void
test_host_iface_init (AcSevHostInterface *iface)
{
	iface->get_name = test_host_get_name;
	iface->get_host_id = test_host_get_host_id;
	iface->get_sev_info = test_host_get_sev_info;
	iface->get_domain_state = test_host_get_domain_state;
	iface->get_launch_security_info = test_host_get_launch_security_info;
	iface->set_launch_security_state = test_host_set_launch_security_state;
	iface->resume = test_host_resume;
}

static void
test_host_finalize (GObject *object)
{
	TestHost *self = TEST_HOST (object);
	g_clear_object (&self->fake);
	g_clear_object (&self->libvirt);
	G_OBJECT_CLASS (test_host_parent_class)->finalize (object);
}

static void
test_host_class_init (TestHostClass *klass)
{
	G_OBJECT_CLASS (klass)->finalize = test_host_finalize;
}

static void
test_host_init (TestHost *self)
{
}

/* ---- fixture ------------------------------------------------------------------------------- */

typedef struct {
	gchar *tmp;
	gchar *firmware;
	gchar *disk;
	gchar *sha256;
	virConnectPtr conn;
	virDomainPtr dom;
	AcSevHostFake *fake;
	TestHost *host;
	AcLocalsevOptions *opts;
	AcStatus *status;    /* what the daemon would have recorded last */
	GPtrArray *statuses; /* of AcStatus: the intermediate ones (AcLocalsevServiceRun) */
	GCancellable *cancellable;
	guint cancel_at; /* cancel once a "building" status reaches this progress (0: never) */
} Fixture;

static gchar *
data_path (const gchar *rel)
{
	return g_test_build_filename (G_TEST_DIST, "data", "localsev", rel, NULL);
}

static gchar *
domain_xml (Fixture *f, const gchar *policy)
{
	g_autofree gchar *path = data_path ("domain.xml.in");
	g_autofree gchar *tmpl = NULL;
	g_autoptr (GString) s = NULL;

	g_assert_true (g_file_get_contents (path, &tmpl, NULL, NULL));
	s = g_string_new (tmpl);
	g_string_replace (s, "@POLICY@", policy, 0);
	g_string_replace (s, "@SHA256@", f->sha256, 0);
	g_string_replace (s, "@FIRMWARE@", f->firmware, 0);
	g_string_replace (s, "@DISK@", f->disk, 0);
	g_string_replace (s, "@VCPUS@", "1", 0);
	return g_string_free (g_steal_pointer (&s), FALSE);
}

static void
define (Fixture *f, const gchar *policy)
{
	g_autofree gchar *xml = domain_xml (f, policy);
	if (f->dom != NULL)
		virDomainFree (f->dom);
	f->dom = virDomainDefineXML (f->conn, xml);
	g_assert_nonnull (f->dom);
}

/* a secret the user defined for the disk; private='yes' ones cannot be read back */
static void
put_secret_private (Fixture *f, const gchar *value, gsize len, gboolean private)
{
	g_autofree gchar *path = g_markup_escape_text (f->disk, -1);
	g_autofree gchar *xml = g_strdup_printf ("<secret ephemeral='no' private='%s'>"
	                                         "<usage type='volume'><volume>%s</volume></usage>"
	                                         "</secret>",
	                                         private ? "yes" : "no", path);
	g_autoptr (virSecret) secret = virSecretDefineXML (secrets, xml, 0);
	g_assert_nonnull (secret);
	g_assert_cmpint (virSecretSetValue (secret, (const unsigned char *)value, len, 0), ==, 0);
}

static void
put_secret (Fixture *f, const gchar *value, gsize len)
{
	put_secret_private (f, value, len, FALSE);
}

static void
fixture_setup (Fixture *f, gconstpointer data)
{
	g_autoptr (GError) error = NULL;
	g_autofree gchar *fw_src = data_path ("ovmf-amdsev.fd");
	g_autofree gchar *ark = data_path ("platform/ark.cert");
	g_autofree gchar *buf = NULL;
	gsize len = 0;
	gchar *roots[] = { ark, NULL };

	f->tmp = g_dir_make_tmp ("localsev-svc-XXXXXX", &error);
	g_assert_no_error (error);
	f->firmware = g_build_filename (f->tmp, "AMDSEV.fd", NULL);
	g_assert_true (g_file_get_contents (fw_src, &buf, &len, NULL));
	g_assert_true (g_file_set_contents (f->firmware, buf, (gssize)len, NULL));
	f->sha256 = g_compute_checksum_for_data (G_CHECKSUM_SHA256, (const guchar *)buf, len);
	/* a new path per test: the secret store outlives the fixture */
	f->disk = g_build_filename (f->tmp, "conf-vm-encrypted.img", NULL);
	g_assert_true (g_file_set_contents (f->disk, "an encrypted image", -1, NULL));

	f->conn = ac_virt_connect ("test:///default", &error);
	g_assert_no_error (error);
	f->fake = ac_sev_host_fake_new (psp, 51, 1);
	ac_sev_psp_set_firmware (psp, 0, 24, 15);
	f->host = g_object_new (TEST_TYPE_HOST, NULL);
	f->host->fake = AC_SEV_HOST (g_object_ref (f->fake));
	f->host->libvirt = ac_sev_host_libvirt_new (f->conn);
	f->host->conn = f->conn;

	/* the daemon's trust configuration: AMD's roots and the platform's ARK (its ASK beside) */
	f->opts = ac_localsev_service_options_new (f->tmp, roots, 0, 17, &error);
	g_assert_no_error (error);
	g_assert_nonnull (f->opts);
	f->statuses = g_ptr_array_new_with_free_func ((GDestroyNotify)ac_status_free);
	f->cancellable = g_cancellable_new ();
	define (f, "0x1");
}

static void
rm_rf (const gchar *path)
{
	g_autoptr (GDir) d = g_dir_open (path, 0, NULL);
	const gchar *e;
	if (d != NULL) {
		while ((e = g_dir_read_name (d)) != NULL) {
			g_autofree gchar *p = g_build_filename (path, e, NULL);
			rm_rf (p);
		}
		g_rmdir (path);
	} else {
		g_unlink (path);
	}
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
	/* the secret stays (libvirt 9.0's embedded secret driver crashes in virSecretUndefine: a
	 * NULL callback); every test uses a disk path of its own, and the store goes at exit */
	if (f->dom != NULL) {
		if (virDomainIsActive (f->dom) == 1)
			virDomainDestroy (f->dom);
		virDomainUndefine (f->dom);
		virDomainFree (f->dom);
	}
	g_object_unref (f->host);
	g_object_unref (f->fake);
	virConnectClose (f->conn);
	ac_localsev_options_free (f->opts);
	if (f->status != NULL)
		ac_status_free (f->status);
	g_ptr_array_unref (f->statuses);
	g_object_unref (f->cancellable);
	rm_rf (f->tmp);
	g_free (f->tmp);
	g_free (f->firmware);
	g_free (f->disk);
	g_free (f->sha256);
}

/* ---- helpers -------------------------------------------------------------------------------- */

/* one daemon reconcile: the status it records, the error when there is one */
static gboolean
reconcile (Fixture *f, GError **error)
{
	AcStatus *st = NULL;
	gboolean ok = ac_localsev_service_reconcile (AC_SEV_HOST (f->host), f->opts, secrets,
	                                             f->dom, f->status, &st, error);
	g_assert_nonnull (st);
	if (ok)
		g_assert_null (st->error_message);
	else
		g_assert_nonnull (st->error_message);
	if (f->status != NULL)
		ac_status_free (f->status);
	f->status = st;
	return ok;
}

static void
on_status (const AcStatus *status, gpointer user_data)
{
	Fixture *f = user_data;
	g_autofree gchar *text = ac_status_format (status);
	g_ptr_array_add (f->statuses, ac_status_parse (text, -1, NULL));
	if (f->cancel_at != 0 && g_strcmp0 (status->state, "building") == 0
	    && status->progress >= f->cancel_at)
		g_cancellable_cancel (f->cancellable);
}

/* one reconcile as virt-alephd's worker runs it: intermediate statuses, cancellable */
static gboolean
reconcile_run (Fixture *f, GError **error)
{
	AcLocalsevServiceRun run = { NULL, on_status, f, f->cancellable };
	AcStatus *st = NULL;
	gboolean ok;

	g_ptr_array_set_size (f->statuses, 0);
	ok = ac_localsev_service_reconcile_full (AC_SEV_HOST (f->host), f->opts, &run, secrets,
	                                         f->dom, f->status, &st, error);
	g_assert_nonnull (st);
	if (f->status != NULL)
		ac_status_free (f->status);
	f->status = st;
	return ok;
}

/* how many "building" statuses came with a progress below 100 (a build at work) */
static guint
building_statuses (Fixture *f)
{
	guint n = 0;
	for (guint i = 0; i < f->statuses->len; i++) {
		AcStatus *st = g_ptr_array_index (f->statuses, i);
		if (g_strcmp0 (st->state, "building") == 0 && st->progress < 100)
			n++;
	}
	return n;
}

static gchar *
inactive_xml (Fixture *f)
{
	char *x = virDomainGetXMLDesc (f->dom, VIR_DOMAIN_XML_INACTIVE);
	gchar *copy = g_strdup (x);
	g_assert_nonnull (x);
	free (x);
	return copy;
}

static AcLocalsevRecord *
record (Fixture *f)
{
	g_autoptr (GError) error = NULL;
	AcLocalsevRecord *r = ac_localsev_record_load (f->tmp, UUID, &error);
	g_assert_no_error (error);
	return r;
}

/* `virsh start [--paused]` with the hook's gatekeeper check and mark: the test driver's domain
 * and the PSP's launch from the same definition */
static void
start (Fixture *f, gboolean paused)
{
	g_autoptr (GError) error = NULL;
	g_autoptr (AcLocalsevRecord) r = record (f);
	g_autofree gchar *xml = inactive_xml (f);

	g_assert_true (ac_localsev_check_prepared (r, xml, strlen (xml), &error));
	g_assert_no_error (error);
	g_assert_true (ac_localsev_record_mark_launched (f->tmp, UUID, &error));
	g_assert_no_error (error);
	/* the test driver has no VIR_DOMAIN_START_PAUSED: started, then paused before anything
	 * looks at it */
	if (virDomainCreate (f->dom) < 0 || (paused && virDomainSuspend (f->dom) < 0))
		g_error ("test driver: cannot start: %s", virGetLastErrorMessage ());
	g_assert_true (ac_sev_host_fake_start (f->fake, xml, NULL, paused, &error));
	g_assert_no_error (error);
}

static void
destroy (Fixture *f)
{
	g_autoptr (GError) error = NULL;
	g_assert_cmpint (virDomainDestroy (f->dom), ==, 0);
	g_assert_true (ac_sev_host_fake_destroy (f->fake, UUID, &error));
	g_assert_no_error (error);
}

static void
assert_error (GError *error, gint code, const gchar *names)
{
	g_assert_nonnull (error);
	if (error->domain != AC_ERROR || error->code != code
	    || strstr (error->message, names) == NULL)
		g_error ("expected %s naming '%s', got %s: %s", ac_error_code_to_string (code),
		         names,
		         error->domain == AC_ERROR ? ac_error_code_to_string (error->code) : "?",
		         error->message);
	g_assert_null (strstr (error->message, PASSPHRASE));
}

static void
assert_nothing_injected (Fixture *f)
{
	g_assert_cmpuint (ac_sev_host_fake_get_set_state_calls (f->fake), ==, 0);
	g_assert_cmpuint (ac_sev_host_fake_get_secret_count (f->fake, UUID), ==, 0);
}

static void
assert_failed_status (Fixture *f, const gchar *step, gint code)
{
	g_assert_cmpstr (f->status->state, ==, "failed");
	g_assert_cmpstr (f->status->step, ==, step);
	g_assert_cmpstr (f->status->error_step, ==, step);
	g_assert_cmpstr (f->status->error_code, ==, ac_error_code_to_string (code));
	g_assert_null (strstr (f->status->error_message, PASSPHRASE));
}

/* the definition carries the record's launchSecurity; returns its session */
static gchar *
assert_defined_with (Fixture *f, const AcLocalsevRecord *r)
{
	g_autofree gchar *xml = inactive_xml (f);
	g_autoptr (AcLocalsevDomain) dom = NULL;
	g_autoptr (GError) error = NULL;

	dom = ac_localsev_domain_parse (xml, -1, &error);
	g_assert_no_error (error);
	g_assert_true (dom->has_launch_security);
	g_assert_cmpstr (dom->ls_type, ==, "sev");
	g_assert_cmpstr (dom->ls_cbitpos, ==, "51");
	g_assert_cmpstr (dom->ls_reduced_phys_bits, ==, "1");
	g_assert_cmpstr (dom->ls_dh_cert, ==, r->dh_cert);
	g_assert_cmpstr (dom->ls_session, ==, r->session);
	/* and the tag is still there */
	g_assert_nonnull (strstr (xml, "<aleph:confidential"));
	return g_strdup (dom->ls_session);
}

static void
check_secret (Fixture *f)
{
	g_autoptr (GBytes) secret = ac_sev_host_fake_get_secret (f->fake, UUID);
	g_autoptr (AcSevSecretTable) table = NULL;
	g_autoptr (GBytes) pw = NULL;
	g_autoptr (GError) error = NULL;

	g_assert_nonnull (secret);
	table = ac_sev_secret_table_parse (g_bytes_get_data (secret, NULL),
	                                   g_bytes_get_size (secret), &error);
	g_assert_no_error (error);
	pw = ac_sev_secret_table_lookup (table, AC_SEV_SECRET_GUID_DISK_PASSWORD);
	g_assert_nonnull (pw);
	g_assert_cmpmem (g_bytes_get_data (pw, NULL), g_bytes_get_size (pw), PASSPHRASE,
	                 sizeof (PASSPHRASE));
}

/* ---- prepare ------------------------------------------------------------------------------ */

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
	g_autoptr (AcLocalsevDomain) dom = NULL;
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
	dom = ac_localsev_domain_parse (xml, -1, &error);
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

	uuid = ac_secret_store_put (secrets, f->tmp, "store", image, (const guint8 *)"pass word", 9, &error);
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
	g_assert_null (ac_secret_store_put (secrets, f->tmp, "store", other, (const guint8 *)"x", 1, &error));
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

static gboolean
can_build (void)
{
	const gchar *tools[] = { "mkfs.ext4", "mcopy", "blkid", "qemu-img", NULL };
	if (geteuid () != 0) {
		g_test_skip ("building an image needs root (mounts)");
		return FALSE;
	}
	for (guint i = 0; tools[i] != NULL; i++) {
		g_autofree gchar *p = g_find_program_in_path (tools[i]);
		if (p == NULL) {
			g_test_skip_printf ("%s missing", tools[i]);
			return FALSE;
		}
	}
	return TRUE;
}

static gchar *
file_sha256 (const gchar *path)
{
	g_autoptr (GError) error = NULL;
	g_autoptr (GMappedFile) map = g_mapped_file_new (path, FALSE, &error);
	g_assert_no_error (error);
	return g_compute_checksum_for_data (G_CHECKSUM_SHA256,
	                                    (const guchar *)g_mapped_file_get_contents (map),
	                                    g_mapped_file_get_length (map));
}

static void
run_ok (const gchar *const *argv)
{
	g_autoptr (GError) error = NULL;
	gint status = 0;
	g_autofree gchar *err = NULL;
	g_spawn_sync (NULL, (gchar **)argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL,
	              NULL, NULL, NULL, &err, &status, &error);
	g_assert_no_error (error);
	if (!g_spawn_check_wait_status (status, NULL))
		g_error ("%s failed: %s", argv[0], err);
}

/*
 * The domain on a plain disk (a real, tiny ext4 root filesystem, no secret), its tag naming
 * the firmware file and its loader another one. Returns the disk's sha256.
 */
static gchar *
use_plain_disk (Fixture *f)
{
	g_autofree gchar *tree = g_build_filename (f->tmp, "tree", NULL);
	g_autofree gchar *etc = g_build_filename (tree, "etc", NULL);
	g_autofree gchar *bin = g_build_filename (tree, "usr", "bin", NULL);
	g_autofree gchar *hostname = g_build_filename (etc, "hostname", NULL);
	g_autofree gchar *xml = NULL;
	g_autofree gchar *old_tag = NULL;
	g_autofree gchar *new_tag = NULL;
	g_autofree gchar *old_loader = NULL;
	g_autoptr (GString) s = NULL;

	g_assert_cmpint (g_mkdir_with_parents (etc, 0755), ==, 0);
	g_assert_cmpint (g_mkdir_with_parents (bin, 0755), ==, 0);
	g_assert_true (g_file_set_contents (hostname, "conf-vm\n", -1, NULL));
	g_free (f->disk);
	f->disk = g_build_filename (f->tmp, "conf-vm-plain.img", NULL);
	{
		const gchar *argv[]
		    = { "mkfs.ext4", "-q", "-F", "-L", "rootfs", "-d", tree, f->disk, "32M", NULL };
		run_ok (argv);
	}
	xml = domain_xml (f, "0x1");
	s = g_string_new (xml);
	old_tag = g_strdup_printf ("<aleph:firmware sha256=\"%s\"/>", f->sha256);
	new_tag = g_strdup_printf ("<aleph:firmware sha256=\"%s\" file=\"%s\"/>", f->sha256,
	                           f->firmware);
	g_assert_cmpuint (g_string_replace (s, old_tag, new_tag, 0), ==, 1);
	old_loader = g_strdup_printf ("'pflash'>%s</loader>", f->firmware);
	g_assert_cmpuint (
	    g_string_replace (s, old_loader, "'pflash'>/nonexistent/OVMF.fd</loader>", 0), ==, 1);
	if (f->dom != NULL)
		virDomainFree (f->dom);
	f->dom = virDomainDefineXML (f->conn, s->str);
	g_assert_nonnull (f->dom);
	return file_sha256 (f->disk);
}

static gchar *
image_path (Fixture *f)
{
	return g_strdup_printf ("%s/images/%s.img", f->tmp, UUID);
}

/* the passphrase of @image as the local store holds it */
static GBytes *
stored_passphrase (Fixture *f, const gchar *image, gchar **secret_uuid)
{
	g_autoptr (virSecret) secret
	    = virSecretLookupByUsage (secrets, VIR_SECRET_USAGE_TYPE_VOLUME, image);
	char uuid[VIR_UUID_STRING_BUFLEN];
	unsigned char *value;
	size_t len = 0;
	GBytes *bytes;
	char *desc;

	g_assert_nonnull (secret);
	desc = virSecretGetXMLDesc (secret, 0);
	g_assert_nonnull (desc);
	g_assert_nonnull (strstr (desc, "<usage type='volume'>"));
	g_assert_nonnull (strstr (desc, image));
	/* private: nobody who can open the libvirt connection reads it back */
	g_assert_nonnull (strstr (desc, "private='yes'"));
	free (desc);
	value = virSecretGetValue (secret, &len, 0);
	g_assert_null (value);
	virResetLastError ();
	/* the service's copy: 0600 in its 0700 directory */
	g_assert_cmpint (virSecretGetUUIDString (secret, uuid), ==, 0);
	{
		g_autofree gchar *dir = g_build_filename (f->tmp, "secrets", NULL);
		g_autofree gchar *copy = g_build_filename (dir, uuid, NULL);
		gchar *data = NULL;
		struct stat st;
		g_assert_cmpint (stat (dir, &st), ==, 0);
		g_assert_cmpint (st.st_mode & 0777, ==, 0700);
		g_assert_cmpint (stat (copy, &st), ==, 0);
		g_assert_cmpint (st.st_mode & 0777, ==, 0600);
		g_assert_true (g_file_get_contents (copy, &data, &len, NULL));
		g_assert_cmpuint (len, >=, 16);
		bytes = g_bytes_new_take (data, len);
	}
	if (secret_uuid != NULL)
		*secret_uuid = g_strdup (uuid);
	return bytes;
}

static gboolean
contains_bytes (const gchar *text, GBytes *needle)
{
	g_autofree gchar *s
	    = g_strndup (g_bytes_get_data (needle, NULL), g_bytes_get_size (needle));
	return text != NULL && strstr (text, s) != NULL;
}

static void
check_secret_is (Fixture *f, GBytes *passphrase)
{
	g_autoptr (GBytes) secret = ac_sev_host_fake_get_secret (f->fake, UUID);
	g_autoptr (AcSevSecretTable) table = NULL;
	g_autoptr (GBytes) pw = NULL;
	g_autoptr (GError) error = NULL;
	gsize len = g_bytes_get_size (passphrase);

	g_assert_nonnull (secret);
	table = ac_sev_secret_table_parse (g_bytes_get_data (secret, NULL),
	                                   g_bytes_get_size (secret), &error);
	g_assert_no_error (error);
	pw = ac_sev_secret_table_lookup (table, AC_SEV_SECRET_GUID_DISK_PASSWORD);
	g_assert_nonnull (pw);
	/* the passphrase and its NUL, as GRUB reads it */
	g_assert_cmpuint (g_bytes_get_size (pw), ==, len + 1);
	g_assert_cmpmem (g_bytes_get_data (pw, NULL), len, g_bytes_get_data (passphrase, NULL),
	                 len);
}

static guint
count_images (Fixture *f)
{
	g_autofree gchar *dir = g_build_filename (f->tmp, "images", NULL);
	g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
	const gchar *e;
	guint n = 0;
	while (d != NULL && (e = g_dir_read_name (d)) != NULL) {
		if (g_str_has_suffix (e, ".img") || g_str_has_prefix (e, "ac-build-"))
			n++;
	}
	return n;
}

/* a plain disk all the way to an attested launch: built, switched, prepared, attested */
static void
test_image_plain_to_attested (Fixture *f, gconstpointer data)
{
	g_autoptr (GError) error = NULL;
	g_autofree gchar *sum0 = NULL;
	g_autofree gchar *sum1 = NULL;
	g_autofree gchar *image = image_path (f);
	g_autofree gchar *xml = NULL;
	g_autofree gchar *source = NULL;
	g_autofree gchar *format = NULL;
	g_autofree gchar *secret_uuid = NULL;
	g_autofree gchar *text = NULL;
	g_autofree gchar *state_json = NULL;
	g_autoptr (GBytes) passphrase = NULL;
	g_autoptr (AcLocalsevDomain) dom = NULL;
	g_autoptr (AcLocalsevRecord) r = NULL;
	g_autoptr (AcLocalsevImageState) state = NULL;
	AcStatus *first, *last;
	struct stat st0, st1;

	if (!can_build ())
		return;
	sum0 = use_plain_disk (f);
	g_assert_cmpint (stat (f->disk, &st0), ==, 0);

	g_assert_true (reconcile_run (f, &error));
	g_assert_no_error (error);

	/* the statuses: building from 0 with progress, then the image, then prepared */
	g_assert_cmpuint (building_statuses (f), >=, 2);
	first = g_ptr_array_index (f->statuses, 0);
	g_assert_cmpstr (first->state, ==, "building");
	g_assert_cmpstr (first->step, ==, "build");
	g_assert_cmpuint (first->progress, ==, 0);
	last = g_ptr_array_index (f->statuses, f->statuses->len - 1);
	g_assert_cmpstr (last->state, ==, "building");
	g_assert_cmpuint (last->progress, ==, 100);
	g_assert_cmpstr (last->image_path, ==, image);
	g_assert_cmpstr (f->status->state, ==, "prepared");
	g_assert_cmpstr (f->status->step, ==, "prepare");
	g_assert_null (f->status->error_message);
	g_assert_cmpstr (f->status->image_path, ==, image);
	sum1 = file_sha256 (image);
	g_assert_cmpstr (f->status->image_sha256, ==, sum1);
	g_assert_true (g_uuid_string_is_valid (f->status->image_luks_uuid));
	g_clear_pointer (&sum1, g_free);

	/* redefined onto the image: raw, the tag's firmware as loader, everything else kept */
	xml = inactive_xml (f);
	dom = ac_localsev_domain_parse (xml, -1, &error);
	g_assert_no_error (error);
	g_assert_true (ac_image_disk_source (dom, "vda", &source, &format, NULL, &error));
	g_assert_no_error (error);
	g_assert_cmpstr (source, ==, image);
	g_assert_cmpstr (format, ==, "raw");
	g_assert_cmpstr (dom->loader, ==, f->firmware);
	/* one disk (the model lists CD-ROMs too: only disks count) */
	{
		guint disks = 0;
		for (guint i = 0; i < dom->disks->len; i++) {
			AcLocalsevDisk *d = g_ptr_array_index (dom->disks, i);
			disks += g_strcmp0 (d->device, "disk") == 0 ? 1 : 0;
		}
		g_assert_cmpuint (disks, ==, 1);
	}
	g_assert_true (dom->has_launch_security);
	g_assert_nonnull (strstr (xml, "<memory unit='KiB'>1048576</memory>"));
	g_assert_nonnull (strstr (xml, "<target dev='sda' bus='sata'/>"));
	g_assert_nonnull (strstr (xml, "<aleph:confidential"));

	/* the original disk: byte for byte, not even touched */
	sum1 = file_sha256 (f->disk);
	g_assert_cmpstr (sum1, ==, sum0);
	g_assert_cmpint (stat (f->disk, &st1), ==, 0);
	g_assert_cmpint (st1.st_mtime, ==, st0.st_mtime);
	g_assert_cmpint (st1.st_ino, ==, st0.st_ino);

	/* the passphrase: in the local secret store, for the image; in no status, state or log */
	passphrase = stored_passphrase (f, image, &secret_uuid);
	state = ac_localsev_image_state_load (f->tmp, UUID, &error);
	g_assert_no_error (error);
	g_assert_cmpint (state->phase, ==, AC_LOCALSEV_IMAGE_SWITCHED);
	g_assert_cmpstr (state->original, ==, f->disk);
	g_assert_cmpstr (state->target, ==, image);
	g_assert_cmpstr (state->secret, ==, secret_uuid);
	g_assert_cmpstr (state->sha256, ==, f->status->image_sha256);
	state_json = ac_localsev_image_state_to_json (state);
	g_assert_false (contains_bytes (state_json, passphrase));
	text = ac_status_format (f->status);
	g_assert_false (contains_bytes (text, passphrase));
	g_assert_false (contains_bytes (logged->str, passphrase));
	g_assert_nonnull (strstr (logged->str, "the original"));

	/* prepared for the image; started paused; attested with that very passphrase */
	r = record (f);
	g_assert_cmpstr (r->disk_source, ==, image);
	g_assert_cmpstr (r->loader, ==, f->firmware);
	start (f, TRUE);
	g_assert_true (reconcile (f, &error));
	g_assert_no_error (error);
	g_assert_cmpstr (f->status->state, ==, "running");
	g_assert_cmpstr (f->status->attest_verdict, ==, "ok");
	g_assert_cmpstr (f->status->image_path, ==, image);
	check_secret_is (f, passphrase);
	g_assert_false (contains_bytes (logged->str, passphrase));
}

/* built once: the next reconciles build nothing; switched back to the original by its owner,
 * the image (maybe with newer data) is neither built over nor switched to */
static void
test_image_idempotent (Fixture *f, gconstpointer data)
{
	g_autoptr (GError) error = NULL;
	g_autofree gchar *sum0 = NULL;
	g_autofree gchar *image = image_path (f);
	g_autofree gchar *uuid1 = NULL;
	g_autofree gchar *uuid2 = NULL;
	g_autofree gchar *plain_xml = NULL;
	g_autofree gchar *xml = NULL;
	g_autoptr (GBytes) p1 = NULL;
	g_autoptr (GBytes) p2 = NULL;
	virDomainPtr back;
	struct stat st0, st1;

	if (!can_build ())
		return;
	sum0 = use_plain_disk (f);
	plain_xml = inactive_xml (f);
	g_assert_true (reconcile_run (f, &error));
	g_assert_no_error (error);
	g_assert_cmpint (stat (image, &st0), ==, 0);
	p1 = stored_passphrase (f, image, &uuid1);

	g_assert_true (reconcile_run (f, &error));
	g_assert_no_error (error);
	g_assert_cmpuint (building_statuses (f), ==, 0);
	g_assert_cmpuint (f->statuses->len, ==, 0);
	g_assert_cmpstr (f->status->state, ==, "prepared");
	g_assert_cmpstr (f->status->image_path, ==, image);
	g_assert_cmpint (stat (image, &st1), ==, 0);
	g_assert_cmpint (st1.st_ino, ==, st0.st_ino);
	g_assert_cmpint (st1.st_mtime, ==, st0.st_mtime);
	g_assert_cmpuint (count_images (f), ==, 1);
	p2 = stored_passphrase (f, image, &uuid2);
	g_assert_cmpstr (uuid1, ==, uuid2);
	g_assert_true (g_bytes_equal (p1, p2));

	/* the owner points the disk back at the original */
	back = virDomainDefineXML (f->conn, plain_xml);
	g_assert_nonnull (back);
	virDomainFree (back);
	g_assert_false (reconcile_run (f, &error));
	assert_error (error, AC_ERROR_REFUSED, image);
	g_assert_nonnull (strstr (error->message, "in use since"));
	g_assert_nonnull (strstr (error->message, f->disk));
	assert_failed_status (f, "build", AC_ERROR_REFUSED);
	g_assert_cmpuint (building_statuses (f), ==, 0);
	g_assert_cmpint (stat (image, &st1), ==, 0);
	g_assert_cmpint (st1.st_mtime, ==, st0.st_mtime);
	g_assert_cmpuint (count_images (f), ==, 1);
	xml = inactive_xml (f);
	g_assert_nonnull (strstr (xml, f->disk));
	g_assert_null (strstr (xml, image));
	{
		g_autofree gchar *sum1 = file_sha256 (f->disk);
		g_assert_cmpstr (sum1, ==, sum0);
	}
}

/* stopped after the build, before the redefinition: the next run only redefines */
static void
test_image_resume_after_build (Fixture *f, gconstpointer data)
{
	g_autoptr (GError) error = NULL;
	g_autoptr (GError) error_load = NULL;
	g_autofree gchar *sum0 = NULL;
	g_autofree gchar *image = image_path (f);
	g_autofree gchar *xml = NULL;
	g_autofree gchar *uuid1 = NULL;
	g_autofree gchar *uuid2 = NULL;
	g_autoptr (GBytes) p1 = NULL;
	g_autoptr (GBytes) p2 = NULL;
	g_autoptr (AcLocalsevImageState) state = NULL;
	struct stat st0, st1;

	if (!can_build ())
		return;
	sum0 = use_plain_disk (f);
	f->cancel_at = 100; /* the build finished: interrupted before the redefinition */
	g_assert_false (reconcile_run (f, &error));
	assert_error (error, AC_ERROR_CANCELLED, "before the domain was redefined");
	g_clear_error (&error);
	xml = inactive_xml (f);
	g_assert_nonnull (strstr (xml, f->disk));
	g_assert_null (strstr (xml, "<launchSecurity"));
	g_assert_null (ac_localsev_record_load (f->tmp, UUID, &error_load));
	state = ac_localsev_image_state_load (f->tmp, UUID, &error);
	g_assert_no_error (error);
	g_assert_cmpint (state->phase, ==, AC_LOCALSEV_IMAGE_BUILT);
	g_assert_cmpint (stat (image, &st0), ==, 0);
	p1 = stored_passphrase (f, image, &uuid1);

	f->cancel_at = 0;
	g_cancellable_reset (f->cancellable);
	g_assert_true (reconcile_run (f, &error));
	g_assert_no_error (error);
	g_assert_cmpuint (building_statuses (f), ==, 0);
	g_assert_cmpstr (f->status->state, ==, "prepared");
	g_assert_cmpint (stat (image, &st1), ==, 0);
	g_assert_cmpint (st1.st_ino, ==, st0.st_ino);
	g_assert_cmpint (st1.st_mtime, ==, st0.st_mtime);
	g_assert_cmpuint (count_images (f), ==, 1);
	p2 = stored_passphrase (f, image, &uuid2);
	g_assert_cmpstr (uuid1, ==, uuid2);
	g_assert_true (g_bytes_equal (p1, p2));
	g_clear_pointer (&xml, g_free);
	xml = inactive_xml (f);
	g_assert_nonnull (strstr (xml, image));
	g_assert_nonnull (strstr (xml, "<launchSecurity"));
	{
		g_autofree gchar *sum1 = file_sha256 (f->disk);
		g_assert_cmpstr (sum1, ==, sum0);
	}
}

/* stopped mid-build: nothing left behind, the next run builds afresh; the work directory a
 * SIGKILL leaves is removed by the next build */
static void
test_image_resume_mid_build (Fixture *f, gconstpointer data)
{
	g_autoptr (GError) error = NULL;
	g_autoptr (GError) error_state = NULL;
	g_autofree gchar *sum0 = NULL;
	g_autofree gchar *image = image_path (f);
	g_autofree gchar *stale = NULL;
	g_autofree gchar *stale_file = NULL;
	g_autofree gchar *xml = NULL;

	if (!can_build ())
		return;
	sum0 = use_plain_disk (f);
	f->cancel_at = 5;
	g_assert_false (reconcile_run (f, &error));
	assert_error (error, AC_ERROR_CANCELLED, "");
	g_clear_error (&error);
	g_assert_cmpuint (count_images (f), ==, 0);
	g_assert_null (ac_localsev_image_state_load (f->tmp, UUID, &error_state));
	g_assert_error (error_state, AC_ERROR, AC_ERROR_NOT_FOUND);
	xml = inactive_xml (f);
	g_assert_nonnull (strstr (xml, f->disk));

	stale = g_build_filename (f->tmp, "images", "ac-build-K1LL3D", NULL);
	stale_file = g_build_filename (stale, "rootfs.img", NULL);
	g_assert_cmpint (g_mkdir_with_parents (stale, 0700), ==, 0);
	g_assert_true (g_file_set_contents (stale_file, "half a build", -1, NULL));
	f->cancel_at = 0;
	g_cancellable_reset (f->cancellable);
	g_assert_true (reconcile_run (f, &error));
	g_assert_no_error (error);
	g_assert_cmpuint (building_statuses (f), >, 0);
	g_assert_false (g_file_test (stale, G_FILE_TEST_EXISTS));
	g_assert_true (g_file_test (image, G_FILE_TEST_IS_REGULAR));
	g_assert_cmpuint (count_images (f), ==, 1);
	g_assert_cmpstr (f->status->state, ==, "prepared");
	{
		g_autofree gchar *sum1 = file_sha256 (f->disk);
		g_assert_cmpstr (sum1, ==, sum0);
	}
}

/* a state the flow cannot read is not "nothing built": refused, nothing built over */
static void
test_image_state_unreadable (Fixture *f, gconstpointer data)
{
	g_autoptr (GError) error = NULL;
	g_autofree gchar *dir = NULL;
	g_autofree gchar *path = NULL;

	dir = ac_localsev_domain_dir (f->tmp, UUID, &error);
	g_assert_no_error (error);
	path = g_build_filename (dir, "image.json", NULL);
	g_assert_true (
	    g_file_set_contents (path, "{ \"version\": 1, \"phase\": \"switched\"", -1, NULL));
	g_assert_false (reconcile (f, &error));
	assert_error (error, AC_ERROR_INVALID_INPUT, "image.json");
	assert_failed_status (f, "build", AC_ERROR_INVALID_INPUT);
	g_assert_cmpuint (count_images (f), ==, 0);
}

/* the storage API path wants the disk in a pool: refused with what to do, nothing built */
static void
test_image_storage_not_a_volume (Fixture *f, gconstpointer data)
{
	g_autoptr (GError) error = NULL;
	AcLocalsevServiceRun run = { "default-pool", on_status, f, f->cancellable };
	AcStatus *st = NULL;

	g_assert_false (ac_localsev_service_reconcile_full (AC_SEV_HOST (f->host), f->opts, &run,
	                                                    secrets, f->dom, NULL, &st, &error));
	assert_error (error, AC_ERROR_INVALID_INPUT, "is not a volume of a storage pool");
	g_assert_nonnull (strstr (error->message, f->disk));
	g_assert_nonnull (strstr (error->message, "disk vda"));
	g_assert_nonnull (strstr (error->message, "pool-define-as"));
	g_assert_cmpstr (st->state, ==, "failed");
	g_assert_cmpstr (st->error_step, ==, "build");
	ac_status_free (st);
	g_assert_cmpuint (count_images (f), ==, 0);
}

static void
test_image_switch_disk (Fixture *f, gconstpointer data)
{
	g_autoptr (GError) error = NULL;
	const gchar *xml
	    = "<domain type='kvm'><name>x</name><os><type>hvm</type></os><devices>"
	      "<disk type='block' device='disk'><source dev='/dev/vg/x'><seclabel "
	      "model='dac' relabel='no'/></source><backingStore type='file'><format "
	      "type='qcow2'/><source file='/b.qcow2'/></backingStore><target dev='vda' "
	      "bus='virtio'/><boot order='1'/></disk>"
	      "<disk type='file' device='disk'><driver name='qemu' type='qcow2' cache='none'/>"
	      "<source file='/other.qcow2'/><target dev='vdb'/></disk></devices></domain>";
	g_autofree gchar *out = NULL;
	g_autofree gchar *out2 = NULL;
	g_autofree gchar *source = NULL;
	g_autofree gchar *format = NULL;
	g_autoptr (AcLocalsevDomain) dom = NULL;
	g_autoptr (AcLocalsevDomain) dom2 = NULL;

	out = ac_localsev_domain_switch_disk (xml, "vda", "/img/a&b.img", "/fw/OVMF.fd", &error);
	g_assert_no_error (error);
	dom = ac_localsev_domain_parse (out, -1, &error);
	g_assert_no_error (error);
	g_assert_true (ac_image_disk_source (dom, "vda", &source, &format, NULL, &error));
	g_assert_cmpstr (source, ==, "/img/a&b.img");
	g_assert_cmpstr (format, ==, "raw");
	g_clear_pointer (&source, g_free);
	g_clear_pointer (&format, g_free);
	g_assert_true (ac_image_disk_source (dom, "vdb", &source, &format, NULL, &error));
	g_assert_cmpstr (source, ==, "/other.qcow2"); /* the other disk untouched */
	g_assert_cmpstr (format, ==, "qcow2");
	g_assert_null (strstr (out, "backingStore"));
	g_assert_null (strstr (out, "/dev/vg/x"));
	g_assert_nonnull (strstr (out, "<boot order=\"1\"/>"));
	g_assert_nonnull (strstr (out, "<disk type=\"file\" device=\"disk\">"));
	g_assert_nonnull (
	    strstr (out, "<loader readonly=\"yes\" type=\"rom\">/fw/OVMF.fd</loader>"));
	g_assert_cmpstr (dom->loader, ==, "/fw/OVMF.fd");

	/* an existing loader keeps its attributes; no loader asked: the loader is left alone */
	out2 = ac_localsev_domain_switch_disk (out, "vda", "/img/c.img", "/fw/AMDSEV.fd", &error);
	g_assert_no_error (error);
	g_assert_nonnull (
	    strstr (out2, "<loader readonly=\"yes\" type=\"rom\">/fw/AMDSEV.fd</loader>"));
	g_clear_pointer (&out, g_free);
	out = ac_localsev_domain_switch_disk (out2, "vda", "/img/d.img", NULL, &error);
	g_assert_no_error (error);
	dom2 = ac_localsev_domain_parse (out, -1, &error);
	g_assert_cmpstr (dom2->loader, ==, "/fw/AMDSEV.fd");
	g_clear_pointer (&out2, g_free);
	out2 = ac_localsev_domain_switch_disk (xml, "vdz", "/img/x.img", NULL, &error);
	g_assert_null (out2);
	g_assert_error (error, AC_ERROR, AC_ERROR_NOT_FOUND);
}

static void
test_image_state_json (Fixture *f, gconstpointer data)
{
	g_autoptr (GError) error = NULL;
	AcLocalsevImageState s = { 0 };
	g_autofree gchar *json = NULL;
	g_autoptr (AcLocalsevImageState) back = NULL;

	s.domain = (gchar *)"d";
	s.disk_dev = (gchar *)"vda";
	s.original = (gchar *)"/o.img";
	s.original_format = (gchar *)"qcow2";
	s.image = (gchar *)"/s/images/u.img";
	s.target = (gchar *)"/pool/u.img";
	s.pool = (gchar *)"images";
	s.volume = (gchar *)"u.img";
	s.sha256 = (gchar *)"ab";
	s.luks_uuid = (gchar *)"u";
	s.size = 268435456;
	s.secret = (gchar *)"6a0d2d0b-2c8e-4f55-9f34-4e8b4b1f0c21";
	s.phase = AC_LOCALSEV_IMAGE_UPLOADED;
	s.built = (gchar *)"2024-01-01T00:00:00Z";
	json = ac_localsev_image_state_to_json (&s);
	back = ac_localsev_image_state_from_json (json, -1, &error);
	g_assert_no_error (error);
	g_assert_cmpstr (back->original, ==, "/o.img");
	g_assert_cmpstr (back->original_format, ==, "qcow2");
	g_assert_cmpstr (back->target, ==, "/pool/u.img");
	g_assert_cmpstr (back->pool, ==, "images");
	g_assert_cmpstr (back->volume, ==, "u.img");
	g_assert_cmpuint (back->size, ==, 268435456);
	g_assert_cmpint (back->phase, ==, AC_LOCALSEV_IMAGE_UPLOADED);
	g_assert_null (back->switched);
	g_clear_pointer (&back, ac_localsev_image_state_free);
	back = ac_localsev_image_state_from_json (
	    "{\"version\":1,\"original\":\"/o\",\"secret\":\"x\",\"phase\":\"switched\"}", -1,
	    &error);
	g_assert_null (back); /* switched to what? */
	g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
	g_clear_error (&error);
	back = ac_localsev_image_state_from_json (
	    "{\"version\":1,\"original\":\"/o\",\"secret\":\"x\",\"phase\":\"done\"}", -1, &error);
	g_assert_null (back);
	g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
}

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

static GLogWriterOutput
capture_writer (GLogLevelFlags level, const GLogField *fields, gsize n_fields, gpointer user_data)
{
	for (gsize i = 0; i < n_fields; i++) {
		if (g_strcmp0 (fields[i].key, "MESSAGE") == 0 && fields[i].length < 0)
			g_string_append_printf (logged, "%s\n", (const gchar *)fields[i].value);
	}
	return g_log_writer_default (level, fields, n_fields, user_data);
}

int
main (int argc, char **argv)
{
	g_autoptr (GError) error = NULL;
	g_autofree gchar *dir = NULL;
	g_autofree gchar *uri = NULL;
	int rc;

	logged = g_string_new (NULL);
	g_log_set_writer_func (capture_writer, NULL, NULL);
	g_test_init (&argc, &argv, NULL);
	ac_virt_init ();
	/* the embedded secret driver needs an event loop */
	g_assert_cmpint (virEventRegisterDefaultImpl (), ==, 0);
	dir = data_path ("platform");
	psp = ac_sev_psp_load (dir, &error);
	g_assert_no_error (error);
	psp_other = ac_sev_psp_new (2048, &error);
	g_assert_no_error (error);
	secrets_root = g_dir_make_tmp ("localsev-svc-secrets-XXXXXX", &error);
	g_assert_no_error (error);
	uri = g_strdup_printf ("secret:///embed?root=%s", secrets_root);
	secrets = virConnectOpen (uri);
	if (secrets == NULL)
		g_error ("cannot open %s: %s", uri, virGetLastErrorMessage ());

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
	T ("image/plain-to-attested", test_image_plain_to_attested);
	T ("image/idempotent", test_image_idempotent);
	T ("image/resume-after-build", test_image_resume_after_build);
	T ("image/resume-mid-build", test_image_resume_mid_build);
	T ("image/state-unreadable", test_image_state_unreadable);
	T ("image/storage-not-a-volume", test_image_storage_not_a_volume);
	T ("image/switch-disk", test_image_switch_disk);
	T ("image/state-json", test_image_state_json);
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
#undef T
	rc = g_test_run ();
	/* the flow logged (what reaches the writer: messages and up, debug with G_MESSAGES_DEBUG),
	 * and never the passphrase */
	g_assert_nonnull (strstr (logged->str, "prepared SEV session"));
	g_assert_null (strstr (logged->str, PASSPHRASE));
	g_string_free (logged, TRUE);
	virConnectClose (secrets);
	rm_rf (secrets_root);
	g_free (secrets_root);
	ac_sev_psp_free (psp);
	ac_sev_psp_free (psp_other);
	return rc;
}
