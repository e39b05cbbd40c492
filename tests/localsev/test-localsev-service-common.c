/*
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "test-localsev-service-common.h"
#include "test-localsev-util.h"

AcSevPsp *psp = NULL;         /* the synthetic platform (tests/data/localsev/platform) */
GString *logged = NULL;       /* every log line, to check no passphrase reaches one */
AcSevPsp *psp_other = NULL;   /* another platform, trusted too */
virConnectPtr secrets = NULL; /* secret:///embed, one per process */
gchar *secrets_root = NULL;

/* ---- a host whose domains are libvirt's (test driver) and whose SEV is the fake's -------- */

#define TEST_TYPE_HOST (test_host_get_type ())

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

static AcSevHostSnpFacts *
test_host_get_snp_facts (AcSevHost *host, GError **error)
{
	return ac_sev_host_get_snp_facts (TEST_HOST (host)->fake, error);
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
	iface->get_snp_facts = test_host_get_snp_facts;
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

gchar *
data_path (const gchar *rel)
{
	return g_test_build_filename (G_TEST_DIST, "data", "localsev", rel, NULL);
}

gchar *
domain_xml (Fixture *f, const gchar *policy)
{
	return test_localsev_domain_xml (policy, f->sha256, f->firmware, f->disk, 1);
}

void
define (Fixture *f, const gchar *policy)
{
	g_autofree gchar *xml = domain_xml (f, policy);
	if (f->dom != NULL)
		virDomainFree (f->dom);
	f->dom = virDomainDefineXML (f->conn, xml);
	g_assert_nonnull (f->dom);
}

/* a secret the user defined for the disk; private='yes' ones cannot be read back */
void
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

void
put_secret (Fixture *f, const gchar *value, gsize len)
{
	put_secret_private (f, value, len, FALSE);
}

void
fixture_setup (Fixture *f, gconstpointer data)
{
	g_autoptr (GError) error = NULL;
	g_autofree gchar *fw_src = data_path ("ovmf-amdsev.fd");
	g_autofree gchar *ark = data_path ("platform/ark.cert");
	g_autofree gchar *buf = NULL;
	gsize len = 0;
	gchar *roots[] = { ark, NULL };

	f->tmp = test_util_mkdtemp ("localsev-svc-XXXXXX");
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

void
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
	test_util_rm_rf (f->tmp);
	g_free (f->tmp);
	g_free (f->firmware);
	g_free (f->disk);
	g_free (f->sha256);
}

/* ---- helpers -------------------------------------------------------------------------------- */

/* one daemon reconcile: the status it records, the error when there is one */
gboolean
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

void
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
gboolean
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
guint
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

gchar *
inactive_xml (Fixture *f)
{
	char *x = virDomainGetXMLDesc (f->dom, VIR_DOMAIN_XML_INACTIVE);
	gchar *copy = g_strdup (x);
	g_assert_nonnull (x);
	free (x);
	return copy;
}

AcLocalsevRecord *
record (Fixture *f)
{
	g_autoptr (GError) error = NULL;
	AcLocalsevRecord *r = ac_localsev_record_load (f->tmp, UUID, &error);
	g_assert_no_error (error);
	return r;
}

/* `virsh start [--paused]` with the hook's gatekeeper check and mark: the test driver's domain
 * and the PSP's launch from the same definition */
void
start (Fixture *f, gboolean paused)
{
	g_autoptr (GError) error = NULL;
	g_autoptr (AcLocalsevRecord) r = record (f);
	g_autofree gchar *xml = inactive_xml (f);

	g_assert_true (ac_localsev_gate_check_prepared (r, xml, strlen (xml), &error));
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

void
destroy (Fixture *f)
{
	g_autoptr (GError) error = NULL;
	g_assert_cmpint (virDomainDestroy (f->dom), ==, 0);
	g_assert_true (ac_sev_host_fake_destroy (f->fake, UUID, &error));
	g_assert_no_error (error);
}

void
assert_error (GError *error, gint code, const gchar *names)
{
	test_localsev_assert_error (error, code, names);
	g_assert_null (strstr (error->message, PASSPHRASE));
}

void
assert_nothing_injected (Fixture *f)
{
	g_assert_cmpuint (ac_sev_host_fake_get_set_state_calls (f->fake), ==, 0);
	g_assert_cmpuint (ac_sev_host_fake_get_secret_count (f->fake, UUID), ==, 0);
}

void
assert_failed_status (Fixture *f, const gchar *step, gint code)
{
	g_assert_cmpstr (f->status->state, ==, "failed");
	g_assert_cmpstr (f->status->step, ==, step);
	g_assert_cmpstr (f->status->error_step, ==, step);
	g_assert_cmpstr (f->status->error_code, ==, ac_error_code_to_string (code));
	g_assert_null (strstr (f->status->error_message, PASSPHRASE));
}

/* the definition carries the record's launchSecurity; returns its session */
gchar *
assert_defined_with (Fixture *f, const AcLocalsevRecord *r)
{
	g_autofree gchar *xml = inactive_xml (f);
	g_autoptr (AcDomain) dom = NULL;
	g_autoptr (GError) error = NULL;

	dom = ac_domain_parse (xml, -1, &error);
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

gboolean
can_build (const gchar *const *tools)
{
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

void
check_secret (Fixture *f)
{
	test_localsev_check_injected (f->fake, UUID, PASSPHRASE, strlen (PASSPHRASE));
}

/* ---- prepare ------------------------------------------------------------------------------ */

static GLogWriterOutput
capture_writer (GLogLevelFlags level, const GLogField *fields, gsize n_fields, gpointer user_data)
{
	for (gsize i = 0; i < n_fields; i++) {
		if (g_strcmp0 (fields[i].key, "MESSAGE") == 0 && fields[i].length < 0)
			g_string_append_printf (logged, "%s\n", (const gchar *)fields[i].value);
	}
	return g_log_writer_default (level, fields, n_fields, user_data);
}

/* logs captured, platforms loaded, the embedded secret driver open */
void
localsev_service_test_init (int *argc, char ***argv)
{
	g_autoptr (GError) error = NULL;
	g_autofree gchar *dir = NULL;
	g_autofree gchar *uri = NULL;

	logged = g_string_new (NULL);
	g_log_set_writer_func (capture_writer, NULL, NULL);
	g_test_init (argc, argv, NULL);
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
}

/* runs the tests, then checks what was logged and frees it all */
int
localsev_service_test_run (void)
{
	int rc = g_test_run ();

	/* the flow logged (what reaches the writer: messages and up, debug with G_MESSAGES_DEBUG),
	 * and never the passphrase */
	g_assert_nonnull (strstr (logged->str, "prepared SEV session"));
	g_assert_null (strstr (logged->str, PASSPHRASE));
	g_string_free (logged, TRUE);
	virConnectClose (secrets);
	test_util_rm_rf (secrets_root);
	g_free (secrets_root);
	ac_sev_psp_free (psp);
	ac_sev_psp_free (psp_other);
	return rc;
}
