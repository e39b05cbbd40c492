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

#include <glib/gstdio.h>
#include <libxml/parser.h>
#include <libxml/relaxng.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "ac-error.h"
#include "ac-localsev.h"
#include "ac-localsev-domain.h"
#include "ac-sev-host-fake.h"
#include "ac-sev-policy.h"
#include "ac-sev-secret.h"
#if HAVE_LIBVIRT
#include "ac-virt.h"
#endif

#define PASSPHRASE "correct horse battery staple"
#define UUID	   "6a0d2d0b-2c8e-4f55-9f34-4e8b4b1f0c21"

static AcSevPsp *psp = NULL;	    /* the synthetic platform (tests/data/localsev/platform) */
static AcSevPsp *psp_other = NULL; /* another platform, also trusted */

typedef struct {
	gchar *tmp;
	gchar *firmware;
	gchar *disk;
	gchar *sha256;
	AcSevHostFake *fake;
	AcLocalsevOptions *opts;
} Fixture;

static gchar *
data_path (const gchar *rel)
{
	return g_test_build_filename (G_TEST_DIST, "data", "localsev", rel, NULL);
}

static void
copy_file (const gchar *from, const gchar *to)
{
	g_autofree gchar *buf = NULL;
	gsize len = 0;
	g_autoptr(GError) error = NULL;
	g_assert_true (g_file_get_contents (from, &buf, &len, &error));
	g_assert_true (g_file_set_contents (to, buf, (gssize)len, &error));
	g_assert_no_error (error);
}

static void
fixture_setup (Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *fw_src = data_path ("ovmf-amdsev.fd");
	g_autofree gchar *buf = NULL;
	gsize len = 0;

	f->tmp = g_dir_make_tmp ("localsev-XXXXXX", &error);
	g_assert_no_error (error);
	f->firmware = g_build_filename (f->tmp, "AMDSEV.fd", NULL);
	copy_file (fw_src, f->firmware);
	g_assert_true (g_file_get_contents (f->firmware, &buf, &len, NULL));
	f->sha256 = g_compute_checksum_for_data (G_CHECKSUM_SHA256, (const guchar *)buf, len);
	f->disk = g_build_filename (f->tmp, "conf-vm-encrypted.img", NULL);
	g_assert_true (g_file_set_contents (f->disk, "not really a disk", -1, NULL));
	f->fake = ac_sev_host_fake_new (psp, 51, 1);
	f->opts = ac_localsev_options_new (f->tmp);
	f->opts->roots = ac_sev_roots_new ();
	g_assert_true (ac_sev_roots_add (f->opts->roots,
					 "test-platform",
					 ac_sev_psp_get_ark (psp),
					 ac_sev_psp_get_ask (psp),
					 &error));
	g_assert_true (ac_sev_roots_add (f->opts->roots,
					 "other-platform",
					 ac_sev_psp_get_ark (psp_other),
					 ac_sev_psp_get_ask (psp_other),
					 &error));
	g_assert_no_error (error);
	ac_sev_psp_set_firmware (psp, 0, 24, 15);
	ac_sev_psp_set_export_unsigned_cek (psp, FALSE);
}

static void
rm_rf (const gchar *path)
{
	g_autoptr(GDir) d = g_dir_open (path, 0, NULL);
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
	rm_rf (f->tmp);
	g_free (f->tmp);
	g_free (f->firmware);
	g_free (f->disk);
	g_free (f->sha256);
	g_object_unref (f->fake);
	ac_localsev_options_free (f->opts);
}

static gchar *
domain_xml (Fixture *f, const gchar *policy, guint vcpus)
{
	g_autofree gchar *path = data_path ("domain.xml.in");
	g_autofree gchar *tmpl = NULL;
	g_autoptr(GString) s = NULL;
	g_autofree gchar *vcpu_str = g_strdup_printf ("%u", vcpus);

	g_assert_true (g_file_get_contents (path, &tmpl, NULL, NULL));
	s = g_string_new (tmpl);
	g_string_replace (s, "@POLICY@", policy, 0);
	g_string_replace (s, "@SHA256@", f->sha256, 0);
	g_string_replace (s, "@FIRMWARE@", f->firmware, 0);
	g_string_replace (s, "@DISK@", f->disk, 0);
	g_string_replace (s, "@VCPUS@", vcpu_str, 0);
	return g_string_free (g_steal_pointer (&s), FALSE);
}

static AcTag *
tag_of (const gchar *xml)
{
	g_autoptr(GError) error = NULL;
	AcTag *tag = ac_tag_parse (xml, -1, NULL, &error);
	g_assert_no_error (error);
	g_assert_nonnull (tag);
	return tag;
}

static AcLocalsevPrepared *
prepare (Fixture *f, const AcTag *tag, const gchar *xml)
{
	g_autoptr(GError) error = NULL;
	AcLocalsevPrepared *p = ac_localsev_prepare (AC_SEV_HOST (f->fake), f->opts, tag, xml, NULL, &error);
	g_assert_no_error (error);
	g_assert_nonnull (p);
	return p;
}

static void
start (Fixture *f, const gchar *xml, gboolean paused)
{
	g_autoptr(GError) error = NULL;
	g_assert_true (ac_sev_host_fake_start (f->fake, xml, NULL, paused, &error));
	g_assert_no_error (error);
}

/* the refusal has the class and names the input; nothing reached the PSP's LAUNCH_SECRET */
static void
assert_refused (Fixture *f, GError *error, gint code, const gchar *names)
{
	g_assert_nonnull (error);
	if (error->domain != AC_ERROR || error->code != code || strstr (error->message, names) == NULL)
		g_error ("expected %s naming '%s', got %s: %s",
			 ac_error_code_to_string (code),
			 names,
			 error->domain == AC_ERROR ? ac_error_code_to_string (error->code) : "?",
			 error->message);
	g_assert_cmpuint (ac_sev_host_fake_get_set_state_calls (f->fake), ==, 0);
	g_assert_cmpuint (ac_sev_host_fake_get_secret_count (f->fake, UUID), ==, 0);
	/* and the passphrase appears in no message */
	g_assert_null (strstr (error->message, PASSPHRASE));
}

static void
assert_mode (const gchar *path, guint mode)
{
	struct stat st;
	g_assert_cmpint (lstat (path, &st), ==, 0);
	g_assert_cmpuint (st.st_mode & 07777, ==, mode);
}

static gchar *
session_file (Fixture *f, const AcLocalsevRecord *r, const gchar *suffix)
{
	g_autofree gchar *base = g_strconcat (r->session_id, suffix, NULL);
	return g_build_filename (f->tmp, "localsev", UUID, base, NULL);
}

#define LIBVIRT_DOMAIN_RNG "/usr/share/libvirt/schemas/domain.rng"

/* libvirt's own schema accepts the domain prepare wrote (an independent check of the
 * <launchSecurity> element: its names, order and value formats) */
static void
assert_libvirt_valid (const gchar *xml)
{
	xmlRelaxNGParserCtxtPtr pctx;
	xmlRelaxNGPtr schema;
	xmlRelaxNGValidCtxtPtr vctx;
	xmlDocPtr doc;
	int rc;

	if (!g_file_test (LIBVIRT_DOMAIN_RNG, G_FILE_TEST_EXISTS)) {
		g_test_incomplete ("libvirt's domain.rng is not installed");
		return;
	}
	pctx = xmlRelaxNGNewParserCtxt (LIBVIRT_DOMAIN_RNG);
	schema = xmlRelaxNGParse (pctx);
	g_assert_nonnull (schema);
	vctx = xmlRelaxNGNewValidCtxt (schema);
	doc = xmlReadMemory (xml, (int)strlen (xml), "domain.xml", NULL, XML_PARSE_NONET);
	g_assert_nonnull (doc);
	rc = xmlRelaxNGValidateDoc (vctx, doc);
	if (rc != 0)
		g_error ("libvirt's domain schema rejects the prepared domain:\n%s", xml);
	xmlFreeDoc (doc);
	xmlRelaxNGFreeValidCtxt (vctx);
	xmlRelaxNGFree (schema);
	xmlRelaxNGFreeParserCtxt (pctx);
}

/* ---- the happy path ---- */

/* libvirt's parser and formatter (test driver, in-process) keep what prepare wrote: the XML the
 * hook will see passes the gatekeeper */
static void
assert_libvirt_round_trip (const AcLocalsevRecord *record, const gchar *xml)
{
#if HAVE_LIBVIRT
	g_autoptr(GError) error = NULL;
	g_autoptr(virConnect) conn = NULL;
	g_autoptr(virDomain) dom = NULL;
	g_autofree gchar *back = NULL;

	ac_virt_init ();
	conn = ac_virt_connect ("test:///default", &error);
	g_assert_no_error (error);
	dom = virDomainDefineXML (conn, xml);
	g_assert_nonnull (dom);
	back = ac_virt_get_xml (dom, &error);
	g_assert_no_error (error);
	g_assert_nonnull (strstr (back, "<launchSecurity type='sev'>"));
	g_assert_true (ac_localsev_gate_check_prepared (record, back, strlen (back), &error));
	g_assert_no_error (error);
#else
	g_test_message ("built without libvirt: no round trip through libvirt's parser");
#endif
}

static void
check_secret (Fixture *f)
{
	g_autoptr(GBytes) secret = ac_sev_host_fake_get_secret (f->fake, UUID);
	g_autoptr(AcSevSecretTable) table = NULL;
	g_autoptr(GBytes) pw = NULL;
	g_autoptr(GError) error = NULL;

	g_assert_nonnull (secret);
	table = ac_sev_secret_table_parse (g_bytes_get_data (secret, NULL), g_bytes_get_size (secret), &error);
	g_assert_no_error (error);
	g_assert_cmpuint (ac_sev_secret_table_get_size (table), ==, 1);
	pw = ac_sev_secret_table_lookup (table, AC_SEV_SECRET_GUID_DISK_PASSWORD);
	g_assert_nonnull (pw);
	/* Aleph's format: the passphrase and its NUL, which GRUB requires */
	g_assert_cmpmem (g_bytes_get_data (pw, NULL), g_bytes_get_size (pw), PASSPHRASE, sizeof (PASSPHRASE));
}

static void
happy_path (Fixture *f, const gchar *policy, guint vcpus)
{
	g_autofree gchar *xml = domain_xml (f, policy, vcpus);
	g_autoptr(AcTag) tag = tag_of (xml);
	g_autoptr(AcLocalsevPrepared) p = prepare (f, tag, xml);
	g_autoptr(AcLocalsevAttestation) att = NULL;
	g_autoptr(AcLocalsevRecord) r = NULL;
	g_autoptr(AcLocalsevDomain) dom = NULL;
	g_autoptr(AcProgress) progress = ac_progress_new ("attest");
	g_autoptr(GError) error = NULL;
	g_autofree gchar *dir = g_build_filename (f->tmp, "localsev", UUID, NULL);
	g_autofree gchar *tek = session_file (f, p->record, "_tek.bin");
	g_autofree gchar *tik = session_file (f, p->record, "_tik.bin");
	g_autofree gchar *record_json = g_build_filename (dir, "prepared.json", NULL);

	/* what prepare made: launchSecurity in the domain, the gatekeeper lets it through */
	dom = ac_localsev_domain_parse (p->domain_xml, -1, &error);
	g_assert_no_error (error);
	g_assert_true (dom->has_launch_security);
	g_assert_cmpstr (dom->ls_type, ==, "sev");
	g_assert_cmpstr (dom->ls_cbitpos, ==, "51");
	g_assert_cmpstr (dom->ls_reduced_phys_bits, ==, "1");
	g_assert_cmpstr (dom->ls_dh_cert, ==, p->record->dh_cert);
	g_assert_cmpstr (dom->ls_session, ==, p->record->session);
	g_assert_cmpuint (strlen (p->record->dh_cert), ==, 2780); /* base64 of 2084 bytes */
	g_assert_cmpuint (strlen (p->record->session), ==, 172);  /* base64 of 128 bytes */
	g_assert_cmpstr (p->record->chain_generation, ==, "test-platform");
	g_assert_cmpstr (p->record->firmware_sha256, ==, f->sha256);
	g_assert_cmpstr (p->record->disk_source, ==, f->disk);
	g_assert_true (ac_localsev_gate_check_prepared (p->record, p->domain_xml, strlen (p->domain_xml), &error));
	g_assert_no_error (error);
	assert_libvirt_valid (xml);
	assert_libvirt_valid (p->domain_xml);
	assert_libvirt_round_trip (p->record, p->domain_xml);
	/* the domain without it would be refused */
	g_assert_false (ac_localsev_gate_check_prepared (p->record, xml, strlen (xml), &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_REFUSED);
	g_clear_error (&error);

	/* keys private; the record holds no key */
	assert_mode (dir, 0700);
	assert_mode (tek, 0600);
	assert_mode (tik, 0600);
	{
		g_autofree gchar *json = NULL;
		g_autofree guint8 *tik_bytes = NULL;
		gsize len = 0;
		g_autofree gchar *tik_b64 = NULL;
		g_assert_true (g_file_get_contents (record_json, &json, NULL, NULL));
		g_assert_true (g_file_get_contents (tik, (gchar **)&tik_bytes, &len, NULL));
		g_assert_cmpuint (len, ==, 16);
		tik_b64 = g_base64_encode (tik_bytes, len);
		g_assert_null (strstr (json, tik_b64));
		assert_mode (record_json, 0600);
	}

	/* the host launches it paused; the owner attests */
	start (f, p->domain_xml, TRUE);
	g_assert_cmpint (ac_sev_host_fake_get_state (f->fake, UUID), ==, AC_SEV_DOMAIN_STATE_PAUSED);
	att = ac_localsev_attest (AC_SEV_HOST (f->fake), f->opts, tag, p->domain_xml, PASSPHRASE, progress, &error);
	g_assert_no_error (error);
	g_assert_nonnull (att);
	g_assert_cmpfloat (ac_progress_get_fraction (progress), ==, 1.0);
	g_assert_cmpstr (att->measurement, ==, ac_sev_host_fake_get_measurement (f->fake, UUID));
	g_assert_cmpuint (att->api_major, ==, 0);
	g_assert_cmpuint (att->api_minor, ==, 24);
	g_assert_cmpuint (att->build_id, ==, 15);
	g_assert_cmpuint (att->policy, ==, tag->policy);
	g_assert_cmpstr (att->generation, ==, "test-platform");
	g_assert_cmpstr (att->session_id, ==, p->record->session_id);

	/* the PSP decrypted exactly the passphrase; the guest runs */
	g_assert_cmpuint (ac_sev_host_fake_get_secret_count (f->fake, UUID), ==, 1);
	check_secret (f);
	g_assert_cmpint (ac_sev_host_fake_get_state (f->fake, UUID), ==, AC_SEV_DOMAIN_STATE_RUNNING);

	/* the record says attested; the keys are gone */
	r = ac_localsev_record_load (f->tmp, UUID, &error);
	g_assert_no_error (error);
	g_assert_cmpint (r->state, ==, AC_LOCALSEV_STATE_ATTESTED);
	g_assert_cmpstr (r->measurement, ==, att->measurement);
	g_assert_false (g_file_test (tek, G_FILE_TEST_EXISTS));
	g_assert_false (g_file_test (tik, G_FILE_TEST_EXISTS));
}

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
	g_autoptr(AcTag) tag = tag_of (xml);
	g_autoptr(AcLocalsevPrepared) p = prepare (f, tag, xml);
	g_autoptr(GError) error = NULL;

	ac_sev_host_fake_set_cpu (f->fake, 25, 1, 1, AC_SEV_VMSA_LEGACY); /* EPYC-Milan */
	start (f, p->domain_xml, TRUE);
	g_assert_null (ac_localsev_attest (AC_SEV_HOST (f->fake), f->opts, tag, p->domain_xml, PASSPHRASE, NULL, &error));
	assert_refused (f, error, AC_ERROR_MISMATCH, "measurement");
}

/* ---- sessions ---- */

static void
test_fresh_session (Fixture *f, gconstpointer data)
{
	g_autofree gchar *xml = domain_xml (f, "0x1", 1);
	g_autoptr(AcTag) tag = tag_of (xml);
	g_autoptr(AcLocalsevPrepared) p1 = prepare (f, tag, xml);
	g_autofree gchar *tek1 = session_file (f, p1->record, "_tek.bin");
	g_autoptr(AcLocalsevPrepared) p2 = prepare (f, tag, xml);
	g_autofree gchar *tek2 = session_file (f, p2->record, "_tek.bin");
	g_autoptr(AcLocalsevAttestation) att = NULL;
	g_autoptr(GError) error = NULL;

	g_assert_cmpstr (p1->record->session_id, !=, p2->record->session_id);
	g_assert_cmpstr (p1->record->session, !=, p2->record->session);
	g_assert_cmpstr (p1->record->dh_cert, !=, p2->record->dh_cert);
	/* the first session's keys are erased, the second's kept */
	g_assert_false (g_file_test (tek1, G_FILE_TEST_EXISTS));
	g_assert_true (g_file_test (tek2, G_FILE_TEST_EXISTS));

	/* a start with the superseded session is refused by the gatekeeper and by attest */
	g_assert_false (ac_localsev_gate_check_prepared (p2->record, p1->domain_xml, strlen (p1->domain_xml), &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_REFUSED);
	g_assert_nonnull (strstr (error->message, "<dhCert>"));
	g_clear_error (&error);
	start (f, p1->domain_xml, TRUE);
	att = ac_localsev_attest (AC_SEV_HOST (f->fake), f->opts, tag, p1->domain_xml, PASSPHRASE, NULL, &error);
	g_assert_null (att);
	assert_refused (f, error, AC_ERROR_REFUSED, "<dhCert>");
}

static void
test_reused_session (Fixture *f, gconstpointer data)
{
	g_autofree gchar *xml = domain_xml (f, "0x1", 1);
	g_autoptr(AcTag) tag = tag_of (xml);
	g_autoptr(AcLocalsevPrepared) p = prepare (f, tag, xml);
	g_autoptr(AcLocalsevAttestation) att = NULL;
	g_autoptr(AcLocalsevAttestation) att2 = NULL;
	g_autoptr(AcLocalsevRecord) r = NULL;
	g_autoptr(GError) error = NULL;

	start (f, p->domain_xml, TRUE);
	att = ac_localsev_attest (AC_SEV_HOST (f->fake), f->opts, tag, p->domain_xml, PASSPHRASE, NULL, &error);
	g_assert_no_error (error);
	g_assert_cmpuint (ac_sev_host_fake_get_secret_count (f->fake, UUID), ==, 1);

	/* the host restarts the guest with the same session and asks again */
	g_assert_true (ac_sev_host_fake_destroy (f->fake, UUID, &error));
	start (f, p->domain_xml, TRUE);
	g_assert_cmpuint (ac_sev_host_fake_get_set_state_calls (f->fake), ==, 1);
	att2 = ac_localsev_attest (AC_SEV_HOST (f->fake), f->opts, tag, p->domain_xml, PASSPHRASE, NULL, &error);
	g_assert_null (att2);
	g_assert_error (error, AC_ERROR, AC_ERROR_REFUSED);
	g_assert_nonnull (strstr (error->message, "stale session"));
	g_assert_cmpuint (ac_sev_host_fake_get_set_state_calls (f->fake), ==, 1);
	g_assert_cmpuint (ac_sev_host_fake_get_secret_count (f->fake, UUID), ==, 0);
	g_clear_error (&error);

	/* and the gatekeeper would have refused that start */
	r = ac_localsev_record_load (f->tmp, UUID, &error);
	g_assert_no_error (error);
	g_assert_false (ac_localsev_gate_check_prepared (r, p->domain_xml, strlen (p->domain_xml), &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_REFUSED);
	g_assert_nonnull (strstr (error->message, "stale session"));
}

/* a failed attestation burns the session too: no second try with the same keys */
static void
test_failed_attest_burns_session (Fixture *f, gconstpointer data)
{
	g_autofree gchar *xml = domain_xml (f, "0x1", 1);
	g_autoptr(AcTag) tag = tag_of (xml);
	g_autoptr(AcLocalsevPrepared) p = prepare (f, tag, xml);
	g_autoptr(GError) error = NULL;
	g_autofree gchar *real = NULL;

	start (f, p->domain_xml, TRUE);
	real = g_strdup (ac_sev_host_fake_get_measurement (f->fake, UUID));
	g_assert_true (ac_sev_host_fake_set_reported_policy (f->fake, UUID, 0x3));
	g_assert_null (ac_localsev_attest (AC_SEV_HOST (f->fake), f->opts, tag, p->domain_xml, PASSPHRASE, NULL, &error));
	assert_refused (f, error, AC_ERROR_REFUSED, "policy");
	g_clear_error (&error);
	/* now the host tells the truth, but the session was used */
	g_assert_true (ac_sev_host_fake_set_reported_policy (f->fake, UUID, 0x1));
	g_assert_null (ac_localsev_attest (AC_SEV_HOST (f->fake), f->opts, tag, p->domain_xml, PASSPHRASE, NULL, &error));
	assert_refused (f, error, AC_ERROR_REFUSED, "stale session");
}

static void
test_mark_launched (Fixture *f, gconstpointer data)
{
	g_autofree gchar *xml = domain_xml (f, "0x1", 1);
	g_autoptr(AcTag) tag = tag_of (xml);
	g_autoptr(AcLocalsevPrepared) p = prepare (f, tag, xml);
	g_autoptr(AcLocalsevRecord) r = NULL;
	g_autoptr(AcLocalsevAttestation) att = NULL;
	g_autoptr(GError) error = NULL;

	/* the hook lets the first start through and records it ... */
	g_assert_true (ac_localsev_record_mark_launched (f->tmp, UUID, &error));
	g_assert_no_error (error);
	r = ac_localsev_record_load (f->tmp, UUID, &error);
	g_assert_cmpint (r->state, ==, AC_LOCALSEV_STATE_LAUNCHED);
	/* ... a second start with the same session is refused ... */
	g_assert_false (ac_localsev_gate_check_prepared (r, p->domain_xml, strlen (p->domain_xml), &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_REFUSED);
	g_clear_error (&error);
	g_assert_false (ac_localsev_record_mark_launched (f->tmp, UUID, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_REFUSED);
	g_clear_error (&error);
	/* ... and the launched one attests */
	start (f, p->domain_xml, TRUE);
	att = ac_localsev_attest (AC_SEV_HOST (f->fake), f->opts, tag, p->domain_xml, PASSPHRASE, NULL, &error);
	g_assert_no_error (error);
	check_secret (f);
}

/* ---- the chain ---- */

static void
test_untrusted_chain (Fixture *f, gconstpointer data)
{
	g_autofree gchar *xml = domain_xml (f, "0x1", 1);
	g_autoptr(AcTag) tag = tag_of (xml);
	g_autoptr(AcLocalsevPrepared) p = NULL;
	g_autoptr(GError) error = NULL;
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
	g_assert_true (ac_sev_roots_add (f->opts->roots, "other-platform", ac_sev_psp_get_ark (psp_other),
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

static void test_host_iface_init (AcSevHostInterface *iface);
G_DEFINE_TYPE_WITH_CODE (TestHost, test_host, G_TYPE_OBJECT,
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
	g_autoptr(GBytes) b = ac_sev_chain_to_bytes (ac_sev_psp_get_chain (which), full);
	return g_base64_encode (g_bytes_get_data (b, NULL), g_bytes_get_size (b));
}

static void
test_host_info (Fixture *f, gconstpointer data)
{
	g_autofree gchar *xml = domain_xml (f, "0x1", 1);
	g_autoptr(AcTag) tag = tag_of (xml);
	g_autoptr(AcSevHostInfo) info = ac_sev_host_get_sev_info (AC_SEV_HOST (f->fake), NULL);
	g_autoptr(AcSevHostInfo) other = NULL;
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
	cases[n++] = (typeof (cases[0])){ NULL, export_other, AC_ERROR_UNTRUSTED, "differs from the PDH" };
	/* a sevctl export (with or without ASK ‖ ARK) is accepted as the chain */
	cases[n++] = (typeof (cases[0])){ NULL, export, -1, NULL };
	cases[n++] = (typeof (cases[0])){ NULL, export_full, -1, NULL };
	for (guint i = 0; i < n; i++) {
		g_autoptr(TestHost) host = g_object_new (TEST_TYPE_HOST, NULL);
		g_autoptr(AcLocalsevPrepared) p = NULL;
		g_autoptr(GError) error = NULL;
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
	g_autoptr(AcTag) tag = tag_of (xml);
	g_autoptr(AcSevHostInfo) info = ac_sev_host_get_sev_info (AC_SEV_HOST (f->fake), NULL);
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
		g_autoptr(TestHost) host = g_object_new (TEST_TYPE_HOST, NULL);
		g_autoptr(AcLocalsevPrepared) p = NULL;
		g_autoptr(GError) error = NULL;
		host->inner = g_object_ref (AC_SEV_HOST (f->fake));
		host->cert_chain = g_base64_encode (certs, certs_len);
		if (round == 0) {
			/* without KDS the unsigned CEK does not verify */
			p = ac_localsev_prepare (AC_SEV_HOST (host), f->opts, tag, xml, NULL, &error);
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
	g_autoptr(AcTag) tag = tag_of (xml);
	g_autoptr(AcLocalsevPrepared) p = NULL;
	g_autoptr(AcLocalsevAttestation) att = NULL;
	g_autoptr(GError) error = NULL;
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
	att = ac_localsev_attest (AC_SEV_HOST (f->fake), f->opts, tag, p->domain_xml, PASSPHRASE, NULL, &error);
	g_assert_no_error (error);
	check_secret (f);
	g_free (kds.url);
}

static void
test_pdh_swapped (Fixture *f, gconstpointer data)
{
	g_autofree gchar *xml = domain_xml (f, "0x1", 1);
	g_autoptr(AcTag) tag = tag_of (xml);
	g_autoptr(AcLocalsevPrepared) p = prepare (f, tag, xml);
	g_autoptr(GError) error = NULL;

	/* the host moves to another (also trusted) platform after prepare: our session cannot
	 * start there ... */
	ac_sev_host_fake_set_psp (f->fake, psp_other);
	g_assert_false (ac_sev_host_fake_start (f->fake, p->domain_xml, NULL, TRUE, &error));
	g_assert_nonnull (strstr (error->message, "LAUNCH_START"));
	g_clear_error (&error);
	/* ... so it launches without it; attest sees the PDH changed */
	ac_sev_host_fake_set_ignore_session (f->fake, TRUE);
	start (f, p->domain_xml, TRUE);
	g_assert_null (ac_localsev_attest (AC_SEV_HOST (f->fake), f->opts, tag, p->domain_xml, PASSPHRASE, NULL, &error));
	assert_refused (f, error, AC_ERROR_UNTRUSTED, "PDH changed");
	g_assert_nonnull (strstr (error->message, "chain"));
}

static void
test_session_ignored (Fixture *f, gconstpointer data)
{
	g_autofree gchar *xml = domain_xml (f, "0x1", 1);
	g_autoptr(AcTag) tag = tag_of (xml);
	g_autoptr(AcLocalsevPrepared) p = prepare (f, tag, xml);
	g_autoptr(GError) error = NULL;

	/* same platform, but the host launches with keys of its own choosing */
	ac_sev_host_fake_set_ignore_session (f->fake, TRUE);
	start (f, p->domain_xml, TRUE);
	g_assert_null (ac_localsev_attest (AC_SEV_HOST (f->fake), f->opts, tag, p->domain_xml, PASSPHRASE, NULL, &error));
	assert_refused (f, error, AC_ERROR_MISMATCH, "measurement");
}

/* ---- firmware ---- */

static void
test_wrong_firmware_file (Fixture *f, gconstpointer data)
{
	g_autofree gchar *xml = domain_xml (f, "0x1", 1);
	g_autoptr(AcTag) tag = tag_of (xml);
	g_autoptr(AcLocalsevPrepared) p = prepare (f, tag, xml);
	g_autofree gchar *other = data_path ("ovmf-other.fd");
	g_autoptr(GError) error = NULL;

	/* the host runs the right firmware, but the file the owner pinned changed on disk */
	start (f, p->domain_xml, TRUE);
	copy_file (other, f->firmware);
	g_assert_null (ac_localsev_attest (AC_SEV_HOST (f->fake), f->opts, tag, p->domain_xml, PASSPHRASE, NULL, &error));
	assert_refused (f, error, AC_ERROR_MISMATCH, "firmware hash");
	g_assert_nonnull (strstr (error->message, f->sha256));
}

static void
test_wrong_firmware_loaded (Fixture *f, gconstpointer data)
{
	g_autofree gchar *xml = domain_xml (f, "0x1", 1);
	g_autoptr(AcTag) tag = tag_of (xml);
	g_autoptr(AcLocalsevPrepared) p = prepare (f, tag, xml);
	g_autofree gchar *other = data_path ("ovmf-other.fd");
	g_autoptr(GError) error = NULL;

	/* the host maps another firmware than the domain's loader */
	g_assert_true (ac_sev_host_fake_start (f->fake, p->domain_xml, other, TRUE, &error));
	g_assert_no_error (error);
	g_assert_null (ac_localsev_attest (AC_SEV_HOST (f->fake), f->opts, tag, p->domain_xml, PASSPHRASE, NULL, &error));
	assert_refused (f, error, AC_ERROR_MISMATCH, "measurement");
}

static void
test_wrong_firmware_prepare (Fixture *f, gconstpointer data)
{
	g_autofree gchar *xml = domain_xml (f, "0x1", 1);
	g_autoptr(AcTag) tag = tag_of (xml);
	g_autofree gchar *other = data_path ("ovmf-other.fd");
	g_autoptr(GError) error = NULL;

	copy_file (other, f->firmware);
	g_assert_null (ac_localsev_prepare (AC_SEV_HOST (f->fake), f->opts, tag, xml, NULL, &error));
	assert_refused (f, error, AC_ERROR_MISMATCH, "firmware hash");
}

/* ---- policy, API ---- */

static void
test_policy_reported (Fixture *f, gconstpointer data)
{
	g_autofree gchar *xml = domain_xml (f, "0x1", 1);
	g_autoptr(AcTag) tag = tag_of (xml);
	g_autoptr(AcLocalsevPrepared) p = prepare (f, tag, xml);
	g_autoptr(GError) error = NULL;

	start (f, p->domain_xml, TRUE);
	g_assert_true (ac_sev_host_fake_set_reported_policy (f->fake, UUID, 0x0));
	g_assert_null (ac_localsev_attest (AC_SEV_HOST (f->fake), f->opts, tag, p->domain_xml, PASSPHRASE, NULL, &error));
	assert_refused (f, error, AC_ERROR_REFUSED, "policy");
	g_assert_nonnull (strstr (error->message, "0x0"));
}

static void
test_policy_tag_changed (Fixture *f, gconstpointer data)
{
	g_autofree gchar *xml = domain_xml (f, "0x1", 1);
	g_autofree gchar *xml3 = domain_xml (f, "0x3", 1);
	g_autoptr(AcTag) tag = tag_of (xml);
	g_autoptr(AcTag) tag3 = tag_of (xml3);
	g_autoptr(AcLocalsevPrepared) p = prepare (f, tag, xml);
	g_autoptr(GError) error = NULL;

	start (f, p->domain_xml, TRUE);
	g_assert_null (ac_localsev_attest (AC_SEV_HOST (f->fake), f->opts, tag3, p->domain_xml, PASSPHRASE, NULL, &error));
	assert_refused (f, error, AC_ERROR_REFUSED, "policy");
}

static void
test_api_minimum (Fixture *f, gconstpointer data)
{
	g_autofree gchar *xml = domain_xml (f, "0x1", 1);
	g_autoptr(AcTag) tag = tag_of (xml);
	g_autoptr(AcLocalsevPrepared) p = prepare (f, tag, xml);
	g_autoptr(GError) error = NULL;

	/* firmware 0.16 measures (legacy form) and reports truthfully: below the minimum 0.17 */
	ac_sev_psp_set_firmware (psp, 0, 16, 3);
	start (f, p->domain_xml, TRUE);
	g_assert_null (ac_localsev_attest (AC_SEV_HOST (f->fake), f->opts, tag, p->domain_xml, PASSPHRASE, NULL, &error));
	assert_refused (f, error, AC_ERROR_REFUSED, "API version");
	g_assert_nonnull (strstr (error->message, "0.16"));
	g_assert_nonnull (strstr (error->message, "0.17"));
}

static void
test_api_minimum_configurable (Fixture *f, gconstpointer data)
{
	g_autofree gchar *xml = domain_xml (f, "0x1", 1);
	g_autoptr(AcTag) tag = tag_of (xml);
	g_autoptr(AcLocalsevPrepared) p = prepare (f, tag, xml);
	g_autoptr(GError) error = NULL;

	/* 0.24 is above the default but below a configured 1.0 */
	f->opts->min_api_major = 1;
	f->opts->min_api_minor = 0;
	start (f, p->domain_xml, TRUE);
	g_assert_null (ac_localsev_attest (AC_SEV_HOST (f->fake), f->opts, tag, p->domain_xml, PASSPHRASE, NULL, &error));
	assert_refused (f, error, AC_ERROR_REFUSED, "API version");
	g_assert_nonnull (strstr (error->message, "1.0"));
}

/* ---- measurement replay ---- */

static void
test_replayed_measurement (Fixture *f, gconstpointer data)
{
	g_autofree gchar *xml = domain_xml (f, "0x1", 1);
	g_autoptr(AcTag) tag = tag_of (xml);
	g_autoptr(AcLocalsevPrepared) p1 = prepare (f, tag, xml);
	g_autoptr(AcLocalsevPrepared) p2 = NULL;
	g_autoptr(AcLocalsevAttestation) att = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *old = NULL;
	guint calls;

	/* launch 1 attests fine */
	start (f, p1->domain_xml, TRUE);
	att = ac_localsev_attest (AC_SEV_HOST (f->fake), f->opts, tag, p1->domain_xml, PASSPHRASE, NULL, &error);
	g_assert_no_error (error);
	old = g_strdup (att->measurement);
	calls = ac_sev_host_fake_get_set_state_calls (f->fake);
	g_assert_cmpuint (calls, ==, 1);

	/* launch 2 with a fresh session: the host replays launch 1's measurement */
	g_assert_true (ac_sev_host_fake_destroy (f->fake, UUID, &error));
	p2 = prepare (f, tag, xml);
	start (f, p2->domain_xml, TRUE);
	g_assert_true (ac_sev_host_fake_set_reported_measurement (f->fake, UUID, old));
	g_assert_null (ac_localsev_attest (AC_SEV_HOST (f->fake), f->opts, tag, p2->domain_xml, PASSPHRASE, NULL, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_MISMATCH);
	g_assert_nonnull (strstr (error->message, "measurement"));
	g_assert_cmpuint (ac_sev_host_fake_get_set_state_calls (f->fake), ==, calls);
	g_assert_cmpuint (ac_sev_host_fake_get_secret_count (f->fake, UUID), ==, 0);
}

static void
test_malformed_measurement (Fixture *f, gconstpointer data)
{
	g_autofree gchar *xml = domain_xml (f, "0x1", 1);
	g_autoptr(AcTag) tag = tag_of (xml);
	const gchar *bad[] = { "", "AAAA", "not base64 at all!", "ciFfBp6M/oU3uOIeMG2XyS/YYBZY8nbw7LZKZgw+FNdAQUJDREVGR0hJSktMTU5P\n" };

	for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
		g_autoptr(AcLocalsevPrepared) p = prepare (f, tag, xml);
		g_autoptr(GError) error = NULL;
		start (f, p->domain_xml, TRUE);
		g_assert_true (ac_sev_host_fake_set_reported_measurement (f->fake, UUID, bad[i]));
		g_assert_null (ac_localsev_attest (AC_SEV_HOST (f->fake), f->opts, tag, p->domain_xml, PASSPHRASE, NULL, &error));
		assert_refused (f, error, AC_ERROR_MISMATCH, "measurement");
		g_assert_true (ac_sev_host_fake_destroy (f->fake, UUID, NULL));
	}
}

/* ---- domain state ---- */

static void
test_not_paused (Fixture *f, gconstpointer data)
{
	g_autofree gchar *xml = domain_xml (f, "0x1", 1);
	g_autoptr(AcTag) tag = tag_of (xml);
	g_autoptr(AcLocalsevPrepared) p = prepare (f, tag, xml);
	g_autoptr(GError) error = NULL;
	g_autoptr(AcLocalsevRecord) r = NULL;

	/* not started at all */
	g_assert_true (ac_sev_host_fake_start (f->fake, p->domain_xml, NULL, TRUE, &error));
	g_assert_true (ac_sev_host_fake_destroy (f->fake, UUID, &error));
	g_assert_null (ac_localsev_attest (AC_SEV_HOST (f->fake), f->opts, tag, p->domain_xml, PASSPHRASE, NULL, &error));
	assert_refused (f, error, AC_ERROR_NOT_FOUND, "virsh start --paused conf-vm");
	g_clear_error (&error);

	/* started without --paused: too late for a secret, and the session is burnt */
	start (f, p->domain_xml, FALSE);
	g_assert_null (ac_localsev_attest (AC_SEV_HOST (f->fake), f->opts, tag, p->domain_xml, PASSPHRASE, NULL, &error));
	assert_refused (f, error, AC_ERROR_REFUSED, "virsh start --paused conf-vm");
	g_assert_nonnull (strstr (error->message, "not paused"));
	r = ac_localsev_record_load (f->tmp, UUID, NULL);
	g_assert_cmpint (r->state, ==, AC_LOCALSEV_STATE_CONSUMED);
}

static void
test_nothing_prepared (Fixture *f, gconstpointer data)
{
	g_autofree gchar *xml = domain_xml (f, "0x1", 1);
	g_autoptr(AcTag) tag = tag_of (xml);
	g_autoptr(GError) error = NULL;

	g_assert_null (ac_localsev_attest (AC_SEV_HOST (f->fake), f->opts, tag, xml, PASSPHRASE, NULL, &error));
	assert_refused (f, error, AC_ERROR_NOT_FOUND, "no SEV launch was prepared");
}

/* the running domain's definition must still be the prepared one */
static void
test_definition_changed (Fixture *f, gconstpointer data)
{
	g_autofree gchar *xml = domain_xml (f, "0x1", 1);
	g_autoptr(AcTag) tag = tag_of (xml);
	g_autoptr(AcLocalsevPrepared) p = prepare (f, tag, xml);
	g_autoptr(GError) error = NULL;
	g_autoptr(GString) changed = g_string_new (p->domain_xml);

	start (f, p->domain_xml, TRUE);
	g_assert_cmpuint (g_string_replace (changed, f->disk, "/var/lib/libvirt/images/plain.img", 0), ==, 1);
	g_assert_null (ac_localsev_attest (AC_SEV_HOST (f->fake), f->opts, tag, changed->str, PASSPHRASE, NULL, &error));
	assert_refused (f, error, AC_ERROR_REFUSED, "source of disk vda");
}

/* a bad passphrase is refused before the session is touched */
static void
test_bad_passphrase (Fixture *f, gconstpointer data)
{
	g_autofree gchar *xml = domain_xml (f, "0x1", 1);
	g_autoptr(AcTag) tag = tag_of (xml);
	g_autoptr(AcLocalsevPrepared) p = prepare (f, tag, xml);
	g_autoptr(AcLocalsevAttestation) att = NULL;
	g_autoptr(GError) error = NULL;
	const gchar *bad[] = { NULL, "", "caf\xc3\xa9 au lait", "line\nbreak" };

	start (f, p->domain_xml, TRUE);
	for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
		g_assert_null (ac_localsev_attest (AC_SEV_HOST (f->fake), f->opts, tag, p->domain_xml, bad[i], NULL, &error));
		assert_refused (f, error, AC_ERROR_INVALID_INPUT, "passphrase");
		g_clear_error (&error);
	}
	att = ac_localsev_attest (AC_SEV_HOST (f->fake), f->opts, tag, p->domain_xml, PASSPHRASE, NULL, &error);
	g_assert_no_error (error);
	check_secret (f);
}

/* ---- state directory ---- */

static void
test_state_dir_permissions (Fixture *f, gconstpointer data)
{
	g_autofree gchar *xml = domain_xml (f, "0x1", 1);
	g_autoptr(AcTag) tag = tag_of (xml);
	g_autoptr(AcLocalsevPrepared) p = prepare (f, tag, xml);
	g_autofree gchar *dir = g_build_filename (f->tmp, "localsev", UUID, NULL);
	g_autoptr(GError) error = NULL;

	g_assert_cmpint (g_chmod (dir, 0755), ==, 0);
	g_assert_null (ac_localsev_prepare (AC_SEV_HOST (f->fake), f->opts, tag, xml, NULL, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_PERMISSION);
	g_assert_nonnull (strstr (error->message, dir));
	g_clear_error (&error);
	start (f, p->domain_xml, TRUE);
	g_assert_null (ac_localsev_attest (AC_SEV_HOST (f->fake), f->opts, tag, p->domain_xml, PASSPHRASE, NULL, &error));
	assert_refused (f, error, AC_ERROR_PERMISSION, "0755");
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
peer_run (Fixture *f, const AcLocalsevRecord *r, const gchar *measurement, const gchar *firmware, guint ncpus)
{
	g_autoptr(GPtrArray) a = g_ptr_array_new_with_free_func (g_free);
	g_autofree gchar *tek = session_file (f, r, "_tek.bin");
	g_autofree gchar *tik = session_file (f, r, "_tik.bin");
	g_autoptr(GError) error = NULL;
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
	g_assert_true (g_spawn_sync (NULL, (gchar **)a->pdata, NULL, G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL,
				     NULL, NULL, NULL, NULL, &status, &error));
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
	g_autoptr(AcTag) tag = tag_of (xml);
	g_autoptr(AcLocalsevPrepared) p = prepare (f, tag, xml);
	g_autoptr(AcLocalsevAttestation) att = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *other = data_path ("ovmf-other.fd");
	const gchar *m;

	if (!g_file_test (PEER, G_FILE_TEST_EXISTS)) {
		g_test_skip ("virt-qemu-sev-validate is not installed (package libvirt-clients-qemu)");
		return;
	}
	start (f, p->domain_xml, TRUE);
	m = ac_sev_host_fake_get_measurement (f->fake, UUID);
	g_assert_cmpint (peer_run (f, p->record, m, f->firmware, vcpus), ==, 0);
	g_assert_cmpint (peer_run (f, p->record, m, other, vcpus), ==, 1);
	att = ac_localsev_attest (AC_SEV_HOST (f->fake), f->opts, tag, p->domain_xml, PASSPHRASE, NULL, &error);
	g_assert_no_error (error);
	check_secret (f);
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
	g_autofree gchar *path = g_test_build_filename (G_TEST_DIST, "data", "localsev", "check", "ok.xml", NULL);
	g_autofree gchar *xml = NULL;
	g_autofree gchar *out = NULL;
	g_autofree gchar *out2 = NULL;
	g_autoptr(AcLocalsevDomain) dom = NULL;
	g_autoptr(GError) error = NULL;
	const gchar *ls = "<launchSecurity type='sev'><cbitpos>47</cbitpos><reducedPhysBits>1</reducedPhysBits>"
			  "<policy>0x0001</policy><dhCert>AAAA</dhCert><session>BBBB</session></launchSecurity>";

	g_assert_true (g_file_get_contents (path, &xml, NULL, NULL));
	out = ac_localsev_domain_set_launch_security (xml, ls, &error);
	g_assert_no_error (error);
	dom = ac_localsev_domain_parse (out, -1, &error);
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
	g_autoptr(GError) error = NULL;
	g_autofree gchar *dir = NULL;

	g_test_init (&argc, &argv, NULL);
	dir = data_path ("platform");
	psp = ac_sev_psp_load (dir, &error);
	g_assert_no_error (error);
	psp_other = ac_sev_psp_new (2048, &error);
	g_assert_no_error (error);

#define T(path, fn) g_test_add ("/localsev/" path, Fixture, NULL, fixture_setup, fn, fixture_teardown)
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
	T ("chain/pdh-swapped", test_pdh_swapped);
	T ("chain/kds", test_kds);
	T ("chain/kds-firmware-cek", test_kds_firmware_cek);
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
	{
		int rc = g_test_run ();
		ac_sev_psp_free (psp);
		ac_sev_psp_free (psp_other);
		return rc;
	}
}
