/*
 * The local SEV flow against a host played by the software PSP: prepare → start paused →
 * attest → the PSP decrypts the passphrase into guest memory; and every refusal (untrusted
 * chain, PDH swapped after prepare, wrong firmware, policy, replayed measurement, reused
 * session, API below the minimum, not paused) with its error class, the input it names, and
 * no secret injected.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "test-localsev-common.h"

static void
test_happy_sev (Fixture *f, gconstpointer data)
{
	happy_path (f, "0x1", 2);
}

static void
test_happy_policy3 (Fixture *f, gconstpointer data)
{
	happy_path (f, "0x3", 1);
}

static void
test_happy_es (Fixture *f, gconstpointer data)
{
	happy_path (f, "0x5", 2);
}

/* SEV-ES with KVM_SEV_INIT2 VMSAs and another vCPU model, configured on both sides */
static void
test_happy_es_init2 (Fixture *f, gconstpointer data)
{
	ac_sev_host_fake_set_cpu (f->fake, 25, 1, 1, AC_SEV_VMSA_INIT2);
	f->opts->cpu_family = 25;
	f->opts->cpu_model = 1;
	f->opts->cpu_stepping = 1;
	f->opts->vmsa_variant = AC_SEV_VMSA_INIT2;
	happy_path (f, "0x5", 4);
}

/* the owner expects another vCPU model than the host runs: the VMSAs differ */
static void
test_es_cpu_differs (Fixture *f, gconstpointer data)
{
	g_autofree gchar *xml = domain_xml (f, "0x5", 2);
	g_autoptr (AcTag) tag = tag_of (xml);
	g_autoptr (AcLocalsevPrepared) p = prepare (f, tag, xml);
	g_autoptr (GError) error = NULL;

	ac_sev_host_fake_set_cpu (f->fake, 25, 1, 1, AC_SEV_VMSA_LEGACY); /* EPYC-Milan */
	start (f, p->domain_xml, TRUE);
	attest_refused (f, tag, p->domain_xml, AC_ERROR_MISMATCH, "measurement", &error);
}

/* ---- sessions ---- */

static void
test_fresh_session (Fixture *f, gconstpointer data)
{
	g_autofree gchar *xml = domain_xml (f, "0x1", 1);
	g_autoptr (AcTag) tag = tag_of (xml);
	g_autoptr (AcLocalsevPrepared) p1 = prepare (f, tag, xml);
	g_autofree gchar *tek1 = session_file (f, p1->record, "_tek.bin");
	g_autoptr (AcLocalsevPrepared) p2 = prepare (f, tag, xml);
	g_autofree gchar *tek2 = session_file (f, p2->record, "_tek.bin");
	g_autoptr (AcLocalsevAttestation) att = NULL;
	g_autoptr (GError) error = NULL;

	g_assert_cmpstr (p1->record->session_id, !=, p2->record->session_id);
	g_assert_cmpstr (p1->record->session, !=, p2->record->session);
	g_assert_cmpstr (p1->record->dh_cert, !=, p2->record->dh_cert);
	/* the first session's keys are erased, the second's kept */
	g_assert_false (g_file_test (tek1, G_FILE_TEST_EXISTS));
	g_assert_true (g_file_test (tek2, G_FILE_TEST_EXISTS));

	/* a start with the superseded session is refused by the gatekeeper and by attest */
	g_assert_false (ac_localsev_gate_check_prepared (p2->record, p1->domain_xml,
	                                                 strlen (p1->domain_xml), &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_REFUSED);
	g_assert_nonnull (strstr (error->message, "<dhCert>"));
	g_clear_error (&error);
	start (f, p1->domain_xml, TRUE);
	att = ac_localsev_attest (AC_SEV_HOST (f->fake), f->opts, tag, p1->domain_xml, PASSPHRASE,
	                          NULL, &error);
	g_assert_null (att);
	assert_refused (f, error, AC_ERROR_REFUSED, "<dhCert>");
}

static void
test_reused_session (Fixture *f, gconstpointer data)
{
	g_autofree gchar *xml = domain_xml (f, "0x1", 1);
	g_autoptr (AcTag) tag = tag_of (xml);
	g_autoptr (AcLocalsevPrepared) p = prepare (f, tag, xml);
	g_autoptr (AcLocalsevAttestation) att = NULL;
	g_autoptr (AcLocalsevAttestation) att2 = NULL;
	g_autoptr (AcLocalsevRecord) r = NULL;
	g_autoptr (GError) error = NULL;

	start (f, p->domain_xml, TRUE);
	att = ac_localsev_attest (AC_SEV_HOST (f->fake), f->opts, tag, p->domain_xml, PASSPHRASE,
	                          NULL, &error);
	g_assert_no_error (error);
	g_assert_cmpuint (ac_sev_host_fake_get_secret_count (f->fake, UUID), ==, 1);

	/* the host restarts the guest with the same session and asks again */
	g_assert_true (ac_sev_host_fake_destroy (f->fake, UUID, &error));
	start (f, p->domain_xml, TRUE);
	g_assert_cmpuint (ac_sev_host_fake_get_set_state_calls (f->fake), ==, 1);
	att2 = ac_localsev_attest (AC_SEV_HOST (f->fake), f->opts, tag, p->domain_xml, PASSPHRASE,
	                           NULL, &error);
	g_assert_null (att2);
	g_assert_error (error, AC_ERROR, AC_ERROR_REFUSED);
	g_assert_nonnull (strstr (error->message, "stale session"));
	g_assert_cmpuint (ac_sev_host_fake_get_set_state_calls (f->fake), ==, 1);
	g_assert_cmpuint (ac_sev_host_fake_get_secret_count (f->fake, UUID), ==, 0);
	g_clear_error (&error);

	/* and the gatekeeper would have refused that start */
	r = ac_localsev_record_load (f->tmp, UUID, &error);
	g_assert_no_error (error);
	g_assert_false (
	    ac_localsev_gate_check_prepared (r, p->domain_xml, strlen (p->domain_xml), &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_REFUSED);
	g_assert_nonnull (strstr (error->message, "stale session"));
}

/* a failed attestation burns the session too: no second try with the same keys */
static void
test_failed_attest_burns_session (Fixture *f, gconstpointer data)
{
	g_autofree gchar *xml = domain_xml (f, "0x1", 1);
	g_autoptr (AcTag) tag = tag_of (xml);
	g_autoptr (AcLocalsevPrepared) p = prepare (f, tag, xml);
	g_autoptr (GError) error = NULL;
	g_autofree gchar *real = NULL;

	start (f, p->domain_xml, TRUE);
	real = g_strdup (ac_sev_host_fake_get_measurement (f->fake, UUID));
	g_assert_true (ac_sev_host_fake_set_reported_policy (f->fake, UUID, 0x3));
	g_assert_null (ac_localsev_attest (AC_SEV_HOST (f->fake), f->opts, tag, p->domain_xml,
	                                   PASSPHRASE, NULL, &error));
	assert_refused (f, error, AC_ERROR_MISMATCH, "policy");
	g_clear_error (&error);
	/* now the host tells the truth, but the session was used */
	g_assert_true (ac_sev_host_fake_set_reported_policy (f->fake, UUID, 0x1));
	g_assert_null (ac_localsev_attest (AC_SEV_HOST (f->fake), f->opts, tag, p->domain_xml,
	                                   PASSPHRASE, NULL, &error));
	assert_refused (f, error, AC_ERROR_REFUSED, "stale session");
}

static void
test_mark_launched (Fixture *f, gconstpointer data)
{
	g_autofree gchar *xml = domain_xml (f, "0x1", 1);
	g_autoptr (AcTag) tag = tag_of (xml);
	g_autoptr (AcLocalsevPrepared) p = prepare (f, tag, xml);
	g_autoptr (AcLocalsevRecord) r = NULL;
	g_autoptr (GError) error = NULL;

	/* the hook lets the first start through and records it ... */
	g_assert_true (ac_localsev_record_mark_launched (f->tmp, UUID, &error));
	g_assert_no_error (error);
	r = ac_localsev_record_load (f->tmp, UUID, &error);
	g_assert_cmpint (r->state, ==, AC_LOCALSEV_STATE_LAUNCHED);
	/* ... a second start with the same session is refused ... */
	g_assert_false (
	    ac_localsev_gate_check_prepared (r, p->domain_xml, strlen (p->domain_xml), &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_REFUSED);
	g_clear_error (&error);
	g_assert_false (ac_localsev_record_mark_launched (f->tmp, UUID, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_REFUSED);
	g_clear_error (&error);
	/* ... and the launched one attests */
	start (f, p->domain_xml, TRUE);
	attest_ok (f, tag, p->domain_xml);
}

/* ---- the chain ---- */

static void
test_untrusted_chain (Fixture *f, gconstpointer data)
{
	g_autofree gchar *xml = domain_xml (f, "0x1", 1);
	g_autoptr (AcTag) tag = tag_of (xml);
	g_autoptr (AcLocalsevPrepared) p = NULL;
	g_autoptr (GError) error = NULL;
	g_autofree gchar *dir = g_build_filename (f->tmp, "localsev", NULL);

	/* AMD's roots only: the PSP's ARK is not among them */
	g_clear_pointer (&f->opts->roots, ac_sev_roots_unref);
	p = ac_localsev_prepare (AC_SEV_HOST (f->fake), f->opts, tag, xml, NULL, &error);
	g_assert_null (p);
	assert_refused (f, error, AC_ERROR_UNTRUSTED, "chain");
	g_assert_nonnull (strstr (error->message, "CEK"));
	/* nothing was kept */
	g_assert_false (g_file_test (dir, G_FILE_TEST_EXISTS));
	g_clear_error (&error);

	/* a root given explicitly but another one required by name */
	f->opts->roots = ac_sev_roots_new ();
	g_assert_true (ac_sev_roots_add (f->opts->roots, "other-platform",
	                                 ac_sev_psp_get_ark (psp_other),
	                                 ac_sev_psp_get_ask (psp_other), NULL));
	p = ac_localsev_prepare (AC_SEV_HOST (f->fake), f->opts, tag, xml, NULL, &error);
	g_assert_null (p);
	assert_refused (f, error, AC_ERROR_UNTRUSTED, "chain");
}

/* a host that reports other SEV information than its platform's */
#define TEST_TYPE_HOST (test_host_get_type ())
G_DECLARE_FINAL_TYPE (TestHost, test_host, TEST, HOST, GObject)

struct _TestHost {
	GObject parent_instance;
	AcSevHost *inner;
	gchar *pdh;
	gchar *cert_chain;
};

static void
test_host_iface_init (AcSevHostInterface *iface);
G_DEFINE_TYPE_WITH_CODE (TestHost,
                         test_host,
                         G_TYPE_OBJECT,
                         G_IMPLEMENT_INTERFACE (AC_TYPE_SEV_HOST, test_host_iface_init))

static AcSevHostInfo *
test_host_get_sev_info (AcSevHost *host, GError **error)
{
	TestHost *self = TEST_HOST (host);
	AcSevHostInfo *info = ac_sev_host_get_sev_info (self->inner, error);
	if (info == NULL)
		return NULL;
	if (self->pdh != NULL) {
		g_free (info->pdh);
		info->pdh = g_strdup (self->pdh);
	}
	if (self->cert_chain != NULL) {
		g_free (info->cert_chain);
		info->cert_chain = g_strdup (self->cert_chain);
	}
	return info;
}

static void
test_host_iface_init (AcSevHostInterface *iface)
{
	iface->get_sev_info = test_host_get_sev_info;
}

static void
test_host_finalize (GObject *object)
{
	TestHost *self = TEST_HOST (object);
	g_object_unref (self->inner);
	g_free (self->pdh);
	g_free (self->cert_chain);
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

static gchar *
b64_of_chain (AcSevPsp *which, gboolean full)
{
	g_autoptr (GBytes) b = ac_sev_chain_to_bytes (ac_sev_psp_get_chain (which), full);
	return g_base64_encode (g_bytes_get_data (b, NULL), g_bytes_get_size (b));
}

static void
test_host_info (Fixture *f, gconstpointer data)
{
	g_autofree gchar *xml = domain_xml (f, "0x1", 1);
	g_autoptr (AcTag) tag = tag_of (xml);
	g_autoptr (AcSevHostInfo) info = ac_sev_host_get_sev_info (AC_SEV_HOST (f->fake), NULL);
	g_autoptr (AcSevHostInfo) other = NULL;
	g_autofree gchar *pdh_short = NULL;
	g_autofree gchar *garbage = NULL;
	guint8 zeros[3 * 2084] = { 0 };
	struct {
		const gchar *pdh;
		const gchar *chain;
		gint code; /* -1: accepted */
		const gchar *names;
	} cases[8];
	guint n = 0;
	g_autofree gchar *pdh_nl = NULL;
	g_autofree gchar *export = b64_of_chain (psp, FALSE);
	g_autofree gchar *export_full = b64_of_chain (psp, TRUE);
	g_autofree gchar *export_other = b64_of_chain (psp_other, FALSE);

	/* what the fake reports is what libvirt reports: PDH and PEK‖OCA‖CEK */
	g_assert_nonnull (info);
	g_assert_cmpuint (strlen (info->pdh), ==, 2780);
	g_assert_cmpuint (strlen (info->cert_chain), ==, 8336);
	g_assert_cmpuint (info->cbitpos, ==, 51);
	g_assert_cmpuint (info->reduced_phys_bits, ==, 1);
	g_assert_nonnull (info->cpu0_id);
	ac_sev_host_fake_set_psp (f->fake, psp_other);
	other = ac_sev_host_get_sev_info (AC_SEV_HOST (f->fake), NULL);
	ac_sev_host_fake_set_psp (f->fake, psp);
	g_assert_cmpstr (other->pdh, !=, info->pdh);

	pdh_nl = g_strdup_printf ("%.76s\n%s", info->pdh, info->pdh + 76);
	pdh_short = g_strndup (info->pdh, 2000);
	garbage = g_base64_encode (zeros, sizeof (zeros));
	cases[n++] = (typeof (cases[0])){ pdh_nl, NULL, AC_ERROR_UNTRUSTED, "pdh is not base64" };
	cases[n++] = (typeof (cases[0])){ pdh_short, NULL, AC_ERROR_UNTRUSTED, "expected 2084" };
	cases[n++] = (typeof (cases[0])){ NULL, garbage, AC_ERROR_UNTRUSTED, "malformed" };
	cases[n++] = (typeof (cases[0])){ other->pdh, NULL, AC_ERROR_UNTRUSTED, "PDH ← PEK" };
	cases[n++]
	    = (typeof (cases[0])){ NULL, export_other, AC_ERROR_UNTRUSTED, "differs from the PDH" };
	/* a sevctl export (with or without ASK ‖ ARK) is accepted as the chain */
	cases[n++] = (typeof (cases[0])){ NULL, export, -1, NULL };
	cases[n++] = (typeof (cases[0])){ NULL, export_full, -1, NULL };
	for (guint i = 0; i < n; i++) {
		g_autoptr (TestHost) host = g_object_new (TEST_TYPE_HOST, NULL);
		g_autoptr (AcLocalsevPrepared) p = NULL;
		g_autoptr (GError) error = NULL;
		host->inner = g_object_ref (AC_SEV_HOST (f->fake));
		host->pdh = g_strdup (cases[i].pdh);
		host->cert_chain = g_strdup (cases[i].chain);
		p = ac_localsev_prepare (AC_SEV_HOST (host), f->opts, tag, xml, NULL, &error);
		if (cases[i].code < 0) {
			g_assert_no_error (error);
			g_assert_nonnull (p);
			continue;
		}
		g_assert_null (p);
		assert_refused (f, error, cases[i].code, cases[i].names);
		g_assert_nonnull (strstr (error->message, "chain"));
	}
}

typedef struct {
	AcSevPsp *cek_of; /* whose CEK the "KDS" answers with */
	guint calls;
	gchar *url;
} KdsFake;

static GBytes *
kds_fetch (const gchar *url, gpointer user_data, GCancellable *cancellable, GError **error)
{
	KdsFake *kds = user_data;
	kds->calls++;
	g_free (kds->url);
	kds->url = g_strdup (url);
	return ac_sev_cert_to_bytes (ac_sev_chain_get_cek (ac_sev_psp_get_chain (kds->cek_of)));
}

/* real firmware exports its CEK unsigned; the ASK-signed one comes from AMD KDS by chip id */
static void
test_kds (Fixture *f, gconstpointer data)
{
	g_autofree gchar *xml = domain_xml (f, "0x1", 1);
	g_autoptr (AcTag) tag = tag_of (xml);
	g_autoptr (AcSevHostInfo) info = ac_sev_host_get_sev_info (AC_SEV_HOST (f->fake), NULL);
	g_autofree guint8 *certs = NULL;
	g_autofree guint8 *id = NULL;
	g_autofree gchar *id_hex = NULL;
	g_autofree gchar *want_url = NULL;
	gsize certs_len = 0, id_len = 0;
	KdsFake kds = { psp, 0, NULL };
	guint8 *slot;

	/* the host's chain with the CEK's ASK signature removed (an empty slot) */
	certs = g_base64_decode (info->cert_chain, &certs_len);
	g_assert_cmpuint (certs_len, ==, 3 * 2084);
	slot = certs + 2 * 2084 + 0x414;
	memset (slot, 0, 4 + 4 + 512);
	slot[1] = 0x10; /* usage 0x1000: empty */
	id = g_base64_decode (info->cpu0_id, &id_len);
	g_assert_cmpuint (id_len, ==, 64);
	{
		GString *h = g_string_new (NULL);
		for (gsize i = 0; i < id_len; i++)
			g_string_append_printf (h, "%02x", id[i]);
		id_hex = g_string_free (h, FALSE);
	}
	want_url = g_strconcat (AC_SEV_KDS_URL "/cek/id/", id_hex, NULL);

	for (guint round = 0; round < 3; round++) {
		g_autoptr (TestHost) host = g_object_new (TEST_TYPE_HOST, NULL);
		g_autoptr (AcLocalsevPrepared) p = NULL;
		g_autoptr (GError) error = NULL;
		host->inner = g_object_ref (AC_SEV_HOST (f->fake));
		host->cert_chain = g_base64_encode (certs, certs_len);
		if (round == 0) {
			/* without KDS the unsigned CEK does not verify */
			p = ac_localsev_prepare (AC_SEV_HOST (host), f->opts, tag, xml, NULL,
			                         &error);
			g_assert_null (p);
			assert_refused (f, error, AC_ERROR_UNTRUSTED, "CEK");
			continue;
		}
		f->opts->kds_fetch = kds_fetch;
		f->opts->kds_user_data = &kds;
		kds.cek_of = round == 1 ? psp : psp_other;
		p = ac_localsev_prepare (AC_SEV_HOST (host), f->opts, tag, xml, NULL, &error);
		g_assert_cmpuint (kds.calls, ==, round);
		g_assert_cmpstr (kds.url, ==, want_url);
		if (round == 1) {
			/* AMD's signed CEK completes the chain */
			g_assert_no_error (error);
			g_assert_nonnull (p);
			g_assert_cmpstr (p->record->chain_generation, ==, "test-platform");
		} else {
			/* a CEK of another chip does not sign this PEK */
			g_assert_null (p);
			assert_refused (f, error, AC_ERROR_UNTRUSTED, "PEK ← CEK");
		}
	}
	g_free (kds.url);
}

/* the same with the platform itself exporting the unsigned CEK, as firmware does, through
 * to an attested launch */
static void
test_kds_firmware_cek (Fixture *f, gconstpointer data)
{
	g_autofree gchar *xml = domain_xml (f, "0x1", 1);
	g_autoptr (AcTag) tag = tag_of (xml);
	g_autoptr (AcLocalsevPrepared) p = NULL;
	g_autoptr (GError) error = NULL;
	g_autofree gchar *cache = g_build_filename (f->tmp, "kds-cache", NULL);
	KdsFake kds = { psp, 0, NULL };

	ac_sev_psp_set_export_unsigned_cek (psp, TRUE);
	p = ac_localsev_prepare (AC_SEV_HOST (f->fake), f->opts, tag, xml, NULL, &error);
	g_assert_null (p);
	assert_refused (f, error, AC_ERROR_UNTRUSTED, "CEK");
	g_clear_error (&error);

	f->opts->kds_fetch = kds_fetch;
	f->opts->kds_user_data = &kds;
	f->opts->kds_cache_dir = g_strdup (cache);
	p = prepare (f, tag, xml);
	g_assert_cmpuint (kds.calls, ==, 1);
	/* the second prepare is served from the cache */
	g_clear_pointer (&p, ac_localsev_prepared_free);
	p = prepare (f, tag, xml);
	g_assert_cmpuint (kds.calls, ==, 1);
	start (f, p->domain_xml, TRUE);
	attest_ok (f, tag, p->domain_xml);
	g_free (kds.url);
}

int
main (int argc, char **argv)
{
	g_test_init (&argc, &argv, NULL);

#define T(path, fn)                                                                                \
	g_test_add ("/localsev/" path, Fixture, NULL, fixture_setup, fn, fixture_teardown)
	T ("happy/sev", test_happy_sev);
	T ("happy/policy-3", test_happy_policy3);
	T ("happy/sev-es", test_happy_es);
	T ("happy/sev-es-init2", test_happy_es_init2);
	T ("measurement/es-cpu-differs", test_es_cpu_differs);
	T ("session/fresh", test_fresh_session);
	T ("session/reused", test_reused_session);
	T ("session/failed-attest-burns", test_failed_attest_burns_session);
	T ("session/mark-launched", test_mark_launched);
	T ("chain/untrusted", test_untrusted_chain);
	T ("chain/host-info", test_host_info);
	T ("chain/kds", test_kds);
	T ("chain/kds-firmware-cek", test_kds_firmware_cek);
#undef T
	return localsev_test_run ();
}
