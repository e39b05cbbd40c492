/*
 * AMD KDS for SEV-SNP: the URLs of the real reports (as the independent verifier built them),
 * and the client with a fake fetcher that counts its calls: the cache serves a second lookup,
 * offline never fetches, a hostile answer is refused and never cached.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>
#include <sys/stat.h>

#include "ac-error.h"
#include "ac-sev-ossl-private.h"
#include "ac-snp-chain-private.h"
#include "ac-snp-kds.h"
#include "test-snp-common.h"
#include "../test-util.h"

typedef struct {
	guint64 tcb_raw;
	guint8 chip_id[64];
} Report;

static void
load_report (const gchar *dir, const gchar *name, Report *r)
{
	g_autoptr(GBytes) b = snp_test_load (dir, name);
	const guint8 *p = g_bytes_get_data (b, NULL);
	g_assert_cmpuint (g_bytes_get_size (b), ==, 0x4A0);
	r->tcb_raw = 0;
	for (guint i = 0; i < 8; i++)
		r->tcb_raw |= (guint64)p[0x180 + i] << (8 * i);
	memcpy (r->chip_id, p + 0x1A0, 64);
}

/* ---- URLs ---- */

static void
test_urls_real (void)
{
	static const struct {
		const gchar *key, *dir, *report;
	} cases[] = {
		{ "virtee-sev-milan", "virtee-sev-milan", "report_milan.bin" },
		{ "go-sev-guest-milan", "go-sev-guest-milan", "attestation.bin" },
	};
	g_autoptr(JsonParser) parser = json_parser_new ();
	g_autoptr(GError) error = NULL;
	JsonObject *root = snp_test_json (parser, "expected_reports.json", NULL);

	for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
		Report r;
		AcSnpTcb tcb;
		g_autofree gchar *url = NULL;
		const gchar *want = json_object_get_string_member (
		    json_object_get_object_member (root, cases[i].key), "kds_vcek_url");
		load_report (cases[i].dir, cases[i].report, &r);
		g_assert_true (
		    ac_snp_tcb_decode (r.tcb_raw, AC_SNP_PRODUCT_MILAN, "tcb", &tcb, &error));
		url = ac_snp_kds_vcek_url (NULL, AC_SNP_PRODUCT_MILAN, r.chip_id, 64, &tcb, &error);
		g_assert_no_error (error);
		g_assert_cmpstr (url, ==, want);
	}
}

static void
test_urls_turin_and_others (void)
{
	g_autoptr(GError) error = NULL;
	guint8 chip[64] = { 0x1e, 0x55, 0x0a, 0x8e, 0xe5, 0xcf, 0x9f, 0x4d };
	AcSnpTcb tcb = { .fmc = 1, .bootloader = 2, .tee = 3, .snp = 4, .microcode = 109 };
	g_autofree gchar *turin = ac_snp_kds_vcek_url (
	    "http://127.0.0.1:8080/", AC_SNP_PRODUCT_TURIN, chip, 64, &tcb, &error);
	g_autofree gchar *vlek = ac_snp_kds_vlek_url (NULL, AC_SNP_PRODUCT_GENOA, &tcb, &error);
	g_autofree gchar *chain
	    = ac_snp_kds_cert_chain_url (NULL, AC_SNP_PRODUCT_GENOA, FALSE, &error);
	g_autofree gchar *vchain
	    = ac_snp_kds_cert_chain_url (NULL, AC_SNP_PRODUCT_TURIN, TRUE, &error);
	g_autofree gchar *crl = ac_snp_kds_crl_url (NULL, AC_SNP_PRODUCT_MILAN, FALSE, &error);
	g_autofree gchar *vcrl
	    = ac_snp_kds_crl_url ("https://kds.example//", AC_SNP_PRODUCT_MILAN, TRUE, &error);
	g_assert_no_error (error);
	/* Turin: the 8-byte hwID, fmcSPL first */
	g_assert_cmpstr (turin, ==,
	                 "http://127.0.0.1:8080/vcek/v1/Turin/1e550a8ee5cf9f4d"
	                 "?fmcSPL=01&blSPL=02&teeSPL=03&snpSPL=04&ucodeSPL=109");
	g_assert_cmpstr (vlek, ==,
	                 "https://kdsintf.amd.com/vlek/v1/Genoa/cert"
	                 "?blSPL=02&teeSPL=03&snpSPL=04&ucodeSPL=109");
	g_assert_cmpstr (chain, ==, "https://kdsintf.amd.com/vcek/v1/Genoa/cert_chain");
	g_assert_cmpstr (vchain, ==, "https://kdsintf.amd.com/vlek/v1/Turin/cert_chain");
	g_assert_cmpstr (crl, ==, "https://kdsintf.amd.com/vcek/v1/Milan/crl");
	g_assert_cmpstr (vcrl, ==, "https://kds.example/vlek/v1/Milan/crl");
	g_assert_null (ac_snp_kds_vcek_url (NULL, AC_SNP_PRODUCT_UNKNOWN, chip, 64, &tcb, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
	g_clear_error (&error);
	g_assert_null (ac_snp_kds_vcek_url (NULL, AC_SNP_PRODUCT_MILAN, chip, 8, &tcb, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
}

/* ---- the client ---- */

typedef struct {
	GHashTable *answers; /* url → GBytes */
	guint calls;
	gchar *cache;
	Report milan;
	AcSnpTcb milan_tcb;
} Fake;

static GBytes *
fake_fetch (const gchar *url, gpointer user_data, GCancellable *cancellable, GError **error)
{
	Fake *f = user_data;
	GBytes *b = g_hash_table_lookup (f->answers, url);
	f->calls++;
	if (b == NULL) {
		g_set_error (error, AC_ERROR, AC_ERROR_REMOTE, "GET %s: 404", url);
		return NULL;
	}
	return g_bytes_ref (b);
}

static void
fake_setup (Fake *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	f->answers = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
	                                    (GDestroyNotify)g_bytes_unref);
	f->calls = 0;
	f->cache = test_util_mkdtemp ("test-snp-kds-XXXXXX");
	load_report ("virtee-sev-milan", "report_milan.bin", &f->milan);
	g_assert_true (ac_snp_tcb_decode (f->milan.tcb_raw, AC_SNP_PRODUCT_MILAN, "tcb",
	                                  &f->milan_tcb, &error));
}

static void
fake_teardown (Fake *f, gconstpointer data)
{
	g_hash_table_unref (f->answers);
	test_util_rm_rf (f->cache);
	g_free (f->cache);
}

static void
fake_serve (Fake *f, const gchar *url, GBytes *body)
{
	g_hash_table_replace (f->answers, g_strdup (url), g_bytes_ref (body));
}

static gchar *
milan_vcek_url (Fake *f, const gchar *base)
{
	return ac_snp_kds_vcek_url (base, AC_SNP_PRODUCT_MILAN, f->milan.chip_id, 64, &f->milan_tcb,
	                            NULL);
}

static void
test_vcek_cache (Fake *f, gconstpointer data)
{
	g_autoptr(GBytes) vcek = snp_test_load ("virtee-sev-milan", "vcek_milan.der");
	g_autofree gchar *url = milan_vcek_url (f, NULL);
	g_autoptr(GError) error = NULL;
	GStatBuf st;

	fake_serve (f, url, vcek);
	for (guint round = 0; round < 3; round++) {
		/* a new client each round: the cache persists on disk */
		g_autoptr(AcSnpKds) kds = ac_snp_kds_new (NULL, f->cache, fake_fetch, f);
		g_autoptr(AcSnpCert) c = ac_snp_kds_get_vcek (
		    kds, AC_SNP_PRODUCT_MILAN, f->milan.chip_id, 64, &f->milan_tcb, NULL, &error);
		g_autoptr(GBytes) der = NULL;
		g_assert_no_error (error);
		der = ac_snp_cert_get_der (c);
		g_assert_true (g_bytes_equal (der, vcek));
		g_assert_cmpuint (f->calls, ==, 1);
	}
	/* the cache directory is private */
	{
		GDir *d = g_dir_open (f->cache, 0, NULL);
		g_autofree gchar *sub = g_build_filename (f->cache, g_dir_read_name (d), NULL);
		g_dir_close (d);
		g_assert_cmpint (g_stat (sub, &st), ==, 0);
		g_assert_cmpint (st.st_mode & 0777, ==, 0700);
	}
	/* offline: served from the cache, never fetched */
	{
		g_autoptr(AcSnpKds) kds = ac_snp_kds_new (NULL, f->cache, fake_fetch, f);
		g_autoptr(AcSnpCert) c = NULL;
		ac_snp_kds_set_offline (kds, TRUE);
		c = ac_snp_kds_get_vcek (kds, AC_SNP_PRODUCT_MILAN, f->milan.chip_id, 64,
		                         &f->milan_tcb, NULL, &error);
		g_assert_no_error (error);
		g_assert_nonnull (c);
		g_assert_cmpuint (f->calls, ==, 1);
	}
	/* another base URL has its own cache */
	{
		g_autoptr(AcSnpKds) kds
		    = ac_snp_kds_new ("http://127.0.0.1:1", f->cache, fake_fetch, f);
		g_assert_null (ac_snp_kds_get_vcek (kds, AC_SNP_PRODUCT_MILAN, f->milan.chip_id, 64,
		                                    &f->milan_tcb, NULL, &error));
		g_assert_error (error, AC_ERROR, AC_ERROR_REMOTE);
		g_assert_cmpuint (f->calls, ==, 2);
	}
}

static void
test_offline (Fake *f, gconstpointer data)
{
	g_autoptr(GBytes) vcek = snp_test_load ("virtee-sev-milan", "vcek_milan.der");
	g_autofree gchar *url = milan_vcek_url (f, NULL);
	g_autoptr(AcSnpKds) kds = ac_snp_kds_new (NULL, f->cache, fake_fetch, f);
	g_autoptr(AcSnpKds) none = ac_snp_kds_new (NULL, NULL, NULL, NULL);
	g_autoptr(AcSnpCert) ask = NULL;
	g_autoptr(AcSnpCert) ark = NULL;
	g_autoptr(GError) error = NULL;

	fake_serve (f, url, vcek);
	ac_snp_kds_set_offline (kds, TRUE);
	g_assert_null (ac_snp_kds_get_vcek (kds, AC_SNP_PRODUCT_MILAN, f->milan.chip_id, 64,
	                                    &f->milan_tcb, NULL, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_NOT_FOUND);
	g_clear_error (&error);
	g_assert_false (
	    ac_snp_kds_get_cert_chain (kds, AC_SNP_PRODUCT_MILAN, FALSE, &ask, &ark, NULL, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_NOT_FOUND);
	g_clear_error (&error);
	/* no fetcher at all is offline too */
	g_assert_null (ac_snp_kds_get_vcek (none, AC_SNP_PRODUCT_MILAN, f->milan.chip_id, 64,
	                                    &f->milan_tcb, NULL, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_NOT_FOUND);
	g_assert_cmpuint (f->calls, ==, 0);
}

static void
hostile (Fake *f, AcSnpKds *kds, GBytes *answer, const gchar *needle)
{
	g_autofree gchar *url = milan_vcek_url (f, NULL);
	g_autoptr(GError) error = NULL;
	guint before = f->calls;
	fake_serve (f, url, answer);
	g_assert_null (ac_snp_kds_get_vcek (kds, AC_SNP_PRODUCT_MILAN, f->milan.chip_id, 64,
	                                    &f->milan_tcb, NULL, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_REMOTE);
	if (strstr (error->message, needle) == NULL)
		g_error ("'%s' does not mention '%s'", error->message, needle);
	g_assert_cmpuint (f->calls, ==, before + 1);
}

static void
test_hostile (Fake *f, gconstpointer data)
{
	g_autoptr(AcSnpKds) kds = ac_snp_kds_new (NULL, f->cache, fake_fetch, f);
	g_autoptr(AcSnpKds) offline = ac_snp_kds_new (NULL, f->cache, NULL, NULL);
	g_autofree guint8 *big = g_malloc0 (1 << 20);
	g_autoptr(GBytes) oversized = g_bytes_new_take (g_steal_pointer (&big), 1 << 20);
	g_autoptr(GBytes) garbage = g_bytes_new_static ("<html>rate limited</html>", 25);
	g_autoptr(GBytes) empty = g_bytes_new_static ("", 0);
	g_autoptr(GBytes) other_chip = snp_test_load ("go-sev-guest-milan", "vcek.der");
	g_autoptr(GBytes) ask = snp_test_load ("amd-ark-ask", "milan_ask.pem");
	g_autoptr(GError) error = NULL;
	g_autoptr(AcSnpCert) mid = NULL;
	g_autoptr(AcSnpCert) ark = NULL;
	g_autoptr(GBytes) turin_chain
	    = snp_test_load ("virtee-sev-turin-chain", "cert_chain_turin.pem");
	g_autofree gchar *chain_url
	    = ac_snp_kds_cert_chain_url (NULL, AC_SNP_PRODUCT_MILAN, FALSE, NULL);

	hostile (f, kds, oversized, "1048576 bytes");
	hostile (f, kds, garbage, "not a DER X.509 certificate");
	hostile (f, kds, empty, "0 bytes");
	hostile (f, kds, other_chip, "another chip");
	hostile (f, kds, ask, "not a VCEK");
	/* nothing was cached */
	g_assert_null (ac_snp_kds_get_vcek (offline, AC_SNP_PRODUCT_MILAN, f->milan.chip_id, 64,
	                                    &f->milan_tcb, NULL, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_NOT_FOUND);
	g_clear_error (&error);
	/* a cert_chain of another product */
	fake_serve (f, chain_url, turin_chain);
	g_assert_false (
	    ac_snp_kds_get_cert_chain (kds, AC_SNP_PRODUCT_MILAN, FALSE, &mid, &ark, NULL, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_REMOTE);
}

static void
test_cert_chain (Fake *f, gconstpointer data)
{
	g_autoptr(GBytes) chain = snp_test_load ("virtee-sev-milan", "cert_chain_milan.pem");
	g_autofree gchar *url
	    = ac_snp_kds_cert_chain_url ("http://kds.test", AC_SNP_PRODUCT_MILAN, FALSE, NULL);
	g_autoptr(GError) error = NULL;

	fake_serve (f, url, chain);
	for (guint round = 0; round < 2; round++) {
		g_autoptr(AcSnpKds) kds
		    = ac_snp_kds_new ("http://kds.test/", f->cache, fake_fetch, f);
		g_autoptr(AcSnpCert) ask = NULL;
		g_autoptr(AcSnpCert) ark = NULL;
		g_autofree gchar *spki = NULL;
		g_assert_true (ac_snp_kds_get_cert_chain (kds, AC_SNP_PRODUCT_MILAN, FALSE, &ask,
		                                          &ark, NULL, &error));
		g_assert_no_error (error);
		g_assert_cmpint (ac_snp_cert_get_role (ask), ==, AC_SNP_CERT_ASK);
		spki = ac_snp_cert_spki_sha384 (ark);
		g_assert_cmpstr (spki, ==, ac_snp_builtin_ark_pin (AC_SNP_PRODUCT_MILAN));
		g_assert_cmpuint (f->calls, ==, 1);
	}
}

static void
test_crl (Fake *f, gconstpointer data)
{
	g_autoptr(AcSnpSoftCa) ca = NULL;
	g_autoptr(AcSnpCrl) served = NULL;
	g_autoptr(GBytes) der = NULL;
	g_autoptr(AcSnpCert) amd_ark = ac_snp_builtin_get_ark (AC_SNP_PRODUCT_MILAN, NULL);
	g_autofree gchar *url
	    = ac_snp_kds_crl_url ("http://kds.test", AC_SNP_PRODUCT_MILAN, FALSE, NULL);
	g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
	g_autoptr(GDateTime) later = g_date_time_add_days (now, 60);
	g_autoptr(GError) error = NULL;
	AcSnpCert *ask;

	ca = ac_snp_soft_ca_new (AC_SNP_PRODUCT_MILAN, FALSE, &error);
	g_assert_no_error (error);
	ask = ac_snp_soft_ca_get_intermediate (ca);
	served = ac_snp_soft_ca_issue_crl (ca, &ask, 1, NULL, 30, &error);
	g_assert_no_error (error);
	der = ac_snp_crl_get_der (served);
	fake_serve (f, url, der);

	/* signed by another ARK: refused, not cached */
	{
		g_autoptr(AcSnpKds) kds
		    = ac_snp_kds_new ("http://kds.test", f->cache, fake_fetch, f);
		g_assert_null (ac_snp_kds_get_crl (kds, AC_SNP_PRODUCT_MILAN, FALSE, amd_ark, NULL,
		                                   NULL, &error));
		g_assert_error (error, AC_ERROR, AC_ERROR_UNTRUSTED);
		g_clear_error (&error);
		g_assert_cmpuint (f->calls, ==, 1);
	}
	for (guint round = 0; round < 2; round++) {
		g_autoptr(AcSnpKds) kds
		    = ac_snp_kds_new ("http://kds.test", f->cache, fake_fetch, f);
		g_autoptr(AcSnpCrl) crl
		    = ac_snp_kds_get_crl (kds, AC_SNP_PRODUCT_MILAN, FALSE,
		                          ac_snp_soft_ca_get_ark (ca), NULL, NULL, &error);
		g_assert_no_error (error);
		g_assert_false (ac_snp_crl_check (crl, ask, &error));
		g_assert_error (error, AC_ERROR, AC_ERROR_UNTRUSTED);
		g_clear_error (&error);
		g_assert_cmpuint (f->calls, ==, 2);
	}
	/* past nextUpdate: fetched again (and still stale, so refused); offline: refused */
	{
		g_autoptr(AcSnpKds) kds
		    = ac_snp_kds_new ("http://kds.test", f->cache, fake_fetch, f);
		g_assert_null (ac_snp_kds_get_crl (kds, AC_SNP_PRODUCT_MILAN, FALSE,
		                                   ac_snp_soft_ca_get_ark (ca), later, NULL,
		                                   &error));
		g_assert_error (error, AC_ERROR, AC_ERROR_UNTRUSTED);
		g_clear_error (&error);
		g_assert_cmpuint (f->calls, ==, 3);
		ac_snp_kds_set_offline (kds, TRUE);
		g_assert_null (ac_snp_kds_get_crl (kds, AC_SNP_PRODUCT_MILAN, FALSE,
		                                   ac_snp_soft_ca_get_ark (ca), later, NULL,
		                                   &error));
		g_assert_error (error, AC_ERROR, AC_ERROR_UNTRUSTED);
		g_assert_cmpuint (f->calls, ==, 3);
	}
}

static void
test_corrupt_cache (Fake *f, gconstpointer data)
{
	g_autoptr(GBytes) vcek = snp_test_load ("virtee-sev-milan", "vcek_milan.der");
	g_autofree gchar *url = milan_vcek_url (f, NULL);
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) files = g_ptr_array_new_with_free_func (g_free);

	fake_serve (f, url, vcek);
	{
		g_autoptr(AcSnpKds) kds = ac_snp_kds_new (NULL, f->cache, fake_fetch, f);
		g_autoptr(AcSnpCert) c = ac_snp_kds_get_vcek (
		    kds, AC_SNP_PRODUCT_MILAN, f->milan.chip_id, 64, &f->milan_tcb, NULL, &error);
		g_assert_no_error (error);
	}
	/* overwrite the cached file with another chip's VCEK: not served, fetched again */
	{
		GDir *d = g_dir_open (f->cache, 0, NULL);
		g_autofree gchar *dir
		    = g_build_filename (f->cache, g_dir_read_name (d), "Milan", NULL);
		GDir *m = g_dir_open (dir, 0, NULL);
		g_autofree gchar *file = g_build_filename (dir, g_dir_read_name (m), NULL);
		g_autoptr(GBytes) other = snp_test_load ("go-sev-guest-milan", "vcek.der");
		g_dir_close (m);
		g_dir_close (d);
		g_assert_true (g_file_set_contents (file, g_bytes_get_data (other, NULL),
		                                    g_bytes_get_size (other), NULL));
	}
	{
		g_autoptr(AcSnpKds) kds = ac_snp_kds_new (NULL, f->cache, fake_fetch, f);
		g_autoptr(AcSnpCert) c = ac_snp_kds_get_vcek (
		    kds, AC_SNP_PRODUCT_MILAN, f->milan.chip_id, 64, &f->milan_tcb, NULL, &error);
		g_autoptr(GBytes) der = NULL;
		g_assert_no_error (error);
		der = ac_snp_cert_get_der (c);
		g_assert_true (g_bytes_equal (der, vcek));
		g_assert_cmpuint (f->calls, ==, 2);
	}
}

int
main (int argc, char **argv)
{
	g_test_init (&argc, &argv, NULL);
	g_test_add_func ("/snp/kds/urls/real", test_urls_real);
	g_test_add_func ("/snp/kds/urls/turin-and-others", test_urls_turin_and_others);
	g_test_add ("/snp/kds/vcek-cache", Fake, NULL, fake_setup, test_vcek_cache, fake_teardown);
	g_test_add ("/snp/kds/offline", Fake, NULL, fake_setup, test_offline, fake_teardown);
	g_test_add ("/snp/kds/hostile", Fake, NULL, fake_setup, test_hostile, fake_teardown);
	g_test_add ("/snp/kds/cert-chain", Fake, NULL, fake_setup, test_cert_chain, fake_teardown);
	g_test_add ("/snp/kds/crl", Fake, NULL, fake_setup, test_crl, fake_teardown);
	g_test_add ("/snp/kds/corrupt-cache", Fake, NULL, fake_setup, test_corrupt_cache,
	            fake_teardown);
	return g_test_run ();
}
