/*
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "test-localsev-common.h"
#include "test-localsev-util.h"

AcSevPsp *psp = NULL;
AcSevPsp *psp_other = NULL;

gchar *
data_path (const gchar *rel)
{
	return g_test_build_filename (G_TEST_DIST, "data", "localsev", rel, NULL);
}

void
copy_file (const gchar *from, const gchar *to)
{
	g_autofree gchar *buf = NULL;
	gsize len = 0;
	g_autoptr (GError) error = NULL;
	g_assert_true (g_file_get_contents (from, &buf, &len, &error));
	g_assert_true (g_file_set_contents (to, buf, (gssize)len, &error));
	g_assert_no_error (error);
}

void
fixture_setup (Fixture *f, gconstpointer data)
{
	g_autoptr (GError) error = NULL;
	g_autofree gchar *fw_src = data_path ("ovmf-amdsev.fd");
	g_autofree gchar *buf = NULL;
	gsize len = 0;

	f->tmp = test_util_mkdtemp ("localsev-XXXXXX");
	f->firmware = g_build_filename (f->tmp, "AMDSEV.fd", NULL);
	copy_file (fw_src, f->firmware);
	g_assert_true (g_file_get_contents (f->firmware, &buf, &len, NULL));
	f->sha256 = g_compute_checksum_for_data (G_CHECKSUM_SHA256, (const guchar *)buf, len);
	f->disk = g_build_filename (f->tmp, "conf-vm-encrypted.img", NULL);
	g_assert_true (g_file_set_contents (f->disk, "not really a disk", -1, NULL));
	f->fake = ac_sev_host_fake_new (psp, 51, 1);
	f->opts = ac_localsev_options_new (f->tmp);
	f->opts->roots = ac_sev_roots_new ();
	g_assert_true (ac_sev_roots_add (f->opts->roots, "test-platform", ac_sev_psp_get_ark (psp),
	                                 ac_sev_psp_get_ask (psp), &error));
	g_assert_true (ac_sev_roots_add (f->opts->roots, "other-platform",
	                                 ac_sev_psp_get_ark (psp_other),
	                                 ac_sev_psp_get_ask (psp_other), &error));
	g_assert_no_error (error);
	ac_sev_psp_set_firmware (psp, 0, 24, 15);
	ac_sev_psp_set_export_unsigned_cek (psp, FALSE);
}

void
fixture_teardown (Fixture *f, gconstpointer data)
{
	test_util_rm_rf (f->tmp);
	g_free (f->tmp);
	g_free (f->firmware);
	g_free (f->disk);
	g_free (f->sha256);
	g_object_unref (f->fake);
	ac_localsev_options_free (f->opts);
}

gchar *
domain_xml (Fixture *f, const gchar *policy, guint vcpus)
{
	return test_localsev_domain_xml (policy, f->sha256, f->firmware, f->disk, vcpus);
}

AcTag *
tag_of (const gchar *xml)
{
	g_autoptr (GError) error = NULL;
	AcTag *tag = ac_tag_parse (xml, -1, NULL, &error);
	g_assert_no_error (error);
	g_assert_nonnull (tag);
	return tag;
}

AcLocalsevPrepared *
prepare (Fixture *f, const AcTag *tag, const gchar *xml)
{
	g_autoptr (GError) error = NULL;
	AcLocalsevPrepared *p
	    = ac_localsev_prepare (AC_SEV_HOST (f->fake), f->opts, tag, xml, NULL, &error);
	g_assert_no_error (error);
	g_assert_nonnull (p);
	return p;
}

void
start (Fixture *f, const gchar *xml, gboolean paused)
{
	g_autoptr (GError) error = NULL;
	g_assert_true (ac_sev_host_fake_start (f->fake, xml, NULL, paused, &error));
	g_assert_no_error (error);
}

/* the refusal has the class and names the input; nothing reached the PSP's LAUNCH_SECRET */
void
assert_refused (Fixture *f, GError *error, gint code, const gchar *names)
{
	test_localsev_assert_error (error, code, names);
	g_assert_cmpuint (ac_sev_host_fake_get_set_state_calls (f->fake), ==, 0);
	g_assert_cmpuint (ac_sev_host_fake_get_secret_count (f->fake, UUID), ==, 0);
	/* and the passphrase appears in no message */
	g_assert_null (strstr (error->message, PASSPHRASE));
}

void
attest_refused (Fixture *f,
                const AcTag *tag,
                const gchar *xml,
                gint code,
                const gchar *names,
                GError **error)
{
	g_assert_null (
	    ac_localsev_attest (AC_SEV_HOST (f->fake), f->opts, tag, xml, PASSPHRASE, NULL, error));
	assert_refused (f, *error, code, names);
}

void
attest_ok (Fixture *f, const AcTag *tag, const gchar *xml)
{
	g_autoptr (AcLocalsevAttestation) att = NULL;
	g_autoptr (GError) error = NULL;

	att = ac_localsev_attest (AC_SEV_HOST (f->fake), f->opts, tag, xml, PASSPHRASE, NULL,
	                          &error);
	g_assert_no_error (error);
	g_assert_nonnull (att);
	check_secret (f);
}

void
assert_mode (const gchar *path, guint mode)
{
	struct stat st;
	g_assert_cmpint (lstat (path, &st), ==, 0);
	g_assert_cmpuint (st.st_mode & 07777, ==, mode);
}

gchar *
session_file (Fixture *f, const AcLocalsevRecord *r, const gchar *suffix)
{
	g_autofree gchar *base = g_strconcat (r->session_id, suffix, NULL);
	return g_build_filename (f->tmp, "localsev", UUID, base, NULL);
}

#define LIBVIRT_DOMAIN_RNG "/usr/share/libvirt/schemas/domain.rng"

/* libvirt's own schema accepts the domain prepare wrote (an independent check of the
 * <launchSecurity> element: its names, order and value formats) */
void
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
void
assert_libvirt_round_trip (const AcLocalsevRecord *record, const gchar *xml)
{
#if HAVE_LIBVIRT
	g_autoptr (GError) error = NULL;
	g_autoptr (virConnect) conn = NULL;
	g_autoptr (virDomain) dom = NULL;
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

void
check_secret (Fixture *f)
{
	test_localsev_check_injected (f->fake, UUID, PASSPHRASE, strlen (PASSPHRASE));
}

void
happy_path (Fixture *f, const gchar *policy, guint vcpus)
{
	g_autofree gchar *xml = domain_xml (f, policy, vcpus);
	g_autoptr (AcTag) tag = tag_of (xml);
	g_autoptr (AcLocalsevPrepared) p = prepare (f, tag, xml);
	g_autoptr (AcLocalsevAttestation) att = NULL;
	g_autoptr (AcLocalsevRecord) r = NULL;
	g_autoptr (AcDomain) dom = NULL;
	g_autoptr (AcProgress) progress = ac_progress_new ("attest");
	g_autoptr (GError) error = NULL;
	g_autofree gchar *dir = g_build_filename (f->tmp, "localsev", UUID, NULL);
	g_autofree gchar *tek = session_file (f, p->record, "_tek.bin");
	g_autofree gchar *tik = session_file (f, p->record, "_tik.bin");
	g_autofree gchar *record_json = g_build_filename (dir, "prepared.json", NULL);

	/* what prepare made: launchSecurity in the domain, the gatekeeper lets it through */
	dom = ac_domain_parse (p->domain_xml, -1, &error);
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
	g_assert_true (ac_localsev_gate_check_prepared (p->record, p->domain_xml,
	                                                strlen (p->domain_xml), &error));
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
	g_assert_cmpint (ac_sev_host_fake_get_state (f->fake, UUID), ==,
	                 AC_SEV_DOMAIN_STATE_PAUSED);
	att = ac_localsev_attest (AC_SEV_HOST (f->fake), f->opts, tag, p->domain_xml, PASSPHRASE,
	                          progress, &error);
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
	g_assert_cmpint (ac_sev_host_fake_get_state (f->fake, UUID), ==,
	                 AC_SEV_DOMAIN_STATE_RUNNING);

	/* the record says attested; the keys are gone */
	r = ac_localsev_record_load (f->tmp, UUID, &error);
	g_assert_no_error (error);
	g_assert_cmpint (r->state, ==, AC_LOCALSEV_STATE_ATTESTED);
	g_assert_cmpstr (r->measurement, ==, att->measurement);
	g_assert_false (g_file_test (tek, G_FILE_TEST_EXISTS));
	g_assert_false (g_file_test (tik, G_FILE_TEST_EXISTS));
}

int
localsev_test_run (void)
{
	g_autoptr (GError) error = NULL;
	g_autofree gchar *dir = NULL;
	int rc;

	dir = data_path ("platform");
	psp = ac_sev_psp_load (dir, &error);
	g_assert_no_error (error);
	psp_other = ac_sev_psp_new (2048, &error);
	g_assert_no_error (error);
	rc = g_test_run ();
	ac_sev_psp_free (psp);
	ac_sev_psp_free (psp_other);
	return rc;
}
