/*
 * aleph-confidential: the devnet's SEV-SNP side end to end — aleph-devnet spawned, a report
 * signed by a CRN's software SNP chip (/admin/snp/report), and `virt-aleph snp fetch-certs` /
 * `snp verify-report` against the devnet's KDS (/kds) with its ARK trusted explicitly:
 * verified; untrusted without the ARK; each snp-* attack knob refused with its exit code; the
 * chip kept across a restart (cached certificates still valid); a loosened state refused.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <openssl/rand.h>
#include <signal.h>
#include <sys/stat.h>

#include "ac-aleph-client.h"
#include "ac-codec.h"
#include "ac-error.h"
#include "ac-snp-report.h"
#include "test-devnet-common.h"

/* the devnet's SNP members of the ready line */
typedef struct {
	const gchar *kds;
	const gchar *ark;
	const gchar *product;
	const gchar *firmware;
	const gchar *chip_id[8];
} Snp;

static void
snp_of (TestDevnet *d, Snp *s)
{
	JsonObject *root = json_node_get_object (d->ready);
	JsonObject *snp = json_object_get_object_member (root, "snp");
	JsonArray *crns = json_object_get_array_member (root, "crns");

	memset (s, 0, sizeof *s);
	g_assert_nonnull (snp);
	s->kds = json_object_get_string_member (snp, "kds");
	s->ark = json_object_get_string_member (snp, "ark");
	s->product = json_object_get_string_member (snp, "product");
	s->firmware = json_object_get_string_member (
	    json_object_get_object_member (root, "firmware"), "path");
	for (guint i = 0; i < d->n_crns && i < 8; i++)
		s->chip_id[i] = json_object_get_string_member (
		    json_array_get_object_element (crns, i), "snp_chip_id");
	g_assert_cmpstr (s->product, ==, "Milan");
	g_assert_true (g_str_has_prefix (s->kds, d->admin));
	g_assert_true (g_str_has_suffix (s->kds, "/kds"));
}

/* a report of CRN @crn for @nonce (hex), written to @dir/@name; returns its path */
static gchar *
get_report (TestDevnet *d, guint crn, const gchar *nonce, const gchar *dir, const gchar *name)
{
	g_autofree gchar *url
	    = g_strdup_printf ("%s/admin/snp/report?crn=%u&report_data=%s", d->admin, crn, nonce);
	g_autofree gchar *path = g_build_filename (dir, name, NULL);
	g_autoptr (GError) error = NULL;
	guint status = 0;
	g_autoptr (GBytes) b = test_devnet_http (d, "GET", url, &status);
	g_assert_cmpuint (status, ==, 200);
	g_assert_cmpuint (g_bytes_get_size (b), ==, AC_SNP_REPORT_SIZE);
	g_assert_true (
	    g_file_set_contents (path, g_bytes_get_data (b, NULL), g_bytes_get_size (b), &error));
	g_assert_no_error (error);
	return g_steal_pointer (&path);
}

static gchar *
new_nonce (void)
{
	guint8 raw[AC_SNP_REPORT_DATA_SIZE];
	g_assert_cmpint (RAND_bytes (raw, sizeof raw), ==, 1);
	return ac_codec_hex_encode (raw, sizeof raw);
}

/* runs virt-aleph with @args (NULL-terminated); the exit status, stdout and stderr */
static gint
virt_aleph (gchar **out, gchar **err, const gchar *first, ...)
{
	g_autoptr (GPtrArray) argv = g_ptr_array_new ();
	g_autoptr (GSubprocess) p = NULL;
	g_autoptr (GError) error = NULL;
	g_autofree gchar *o = NULL, *e = NULL;
	const gchar *a;
	va_list ap;

	g_ptr_array_add (argv, (gpointer)g_getenv ("VIRT_ALEPH"));
	va_start (ap, first);
	for (a = first; a != NULL; a = va_arg (ap, const gchar *))
		g_ptr_array_add (argv, (gpointer)a);
	va_end (ap);
	g_ptr_array_add (argv, NULL);
	p = g_subprocess_newv ((const gchar *const *)argv->pdata,
	                       G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE,
	                       &error);
	g_assert_no_error (error);
	g_assert_true (g_subprocess_communicate_utf8 (p, NULL, NULL, &o, &e, &error));
	g_assert_no_error (error);
	g_test_message ("virt-aleph %s …: exit %d\n%s%s", first, g_subprocess_get_exit_status (p),
	                o, e);
	if (out != NULL)
		*out = g_steal_pointer (&o);
	if (err != NULL)
		*err = g_steal_pointer (&e);
	g_assert_true (g_subprocess_get_if_exited (p));
	return g_subprocess_get_exit_status (p);
}

/* the launch digest of the guest /admin/snp/report speaks for, as an owner computes it */
static gchar *
expected_measurement (const Snp *s)
{
	gchar *out = NULL;
	g_assert_cmpint (virt_aleph (&out, NULL, "snp", "measure", "--ovmf", s->firmware, "--vcpus",
	                             "1", "--vcpu-type", "EPYC-Milan", NULL),
	                 ==, 0);
	return g_strstrip (out);
}

/* verify-report with the devnet's KDS and ARK, the CRL, the measurement and the nonce */
static gint
verify (const Snp *s,
        const gchar *report,
        const gchar *measurement,
        const gchar *nonce,
        const gchar *cache,
        gchar **err)
{
	if (cache != NULL)
		return virt_aleph (NULL, err, "snp", "verify-report", report, "--kds-url", s->kds,
		                   "--trust-ark", s->ark, "--check-crl", "--expected-measurement",
		                   measurement, "--expected-report-data", nonce, "--cache-dir",
		                   cache, NULL);
	return virt_aleph (NULL, err, "snp", "verify-report", report, "--kds-url", s->kds,
	                   "--trust-ark", s->ark, "--check-crl", "--expected-measurement",
	                   measurement, "--expected-report-data", nonce, NULL);
}

static void
set_attack (TestDevnet *d, guint crn, const gchar *attack)
{
	g_autofree gchar *body = g_strdup_printf ("{\"attacks\": {\"%u\": \"%s\"}}", crn, attack);
	guint status = 0;
	g_autoptr (JsonNode) k = test_devnet_admin (d, "POST", "/admin/knobs", body, &status);
	g_autofree gchar *idx = g_strdup_printf ("%u", crn);
	g_assert_cmpuint (status, ==, 200);
	g_assert_cmpstr (
	    json_object_get_string_member (
	        json_object_get_object_member (json_node_get_object (k), "attacks"), idx),
	    ==, attack);
}

static void
assert_contains (const gchar *text, const gchar *needle)
{
	if (strstr (text, needle) == NULL)
		g_error ("'%s' does not say '%s'", text, needle);
}

/* a report verified end to end; untrusted without the ARK; the KDS's answers */
static void
test_snp_verify (void)
{
	g_autoptr (GError) error = NULL;
	g_autoptr (TestDevnet) d = test_devnet_start ("", 2, &error);
	g_autofree gchar *nonce = new_nonce ();
	g_autofree gchar *m = NULL;
	g_autofree gchar *report = NULL;
	g_autofree gchar *certs = NULL;
	g_autofree gchar *cache = NULL;
	g_autofree gchar *out = NULL;
	g_autofree gchar *err = NULL;
	Snp s;

	g_assert_no_error (error);
	snp_of (d, &s);
	g_assert_cmpuint (strlen (s.chip_id[0]), ==, 128);
	g_assert_cmpstr (s.chip_id[0], !=, s.chip_id[1]);
	/* the ARK file is the one the admin endpoint serves */
	{
		g_autofree gchar *url = g_strdup_printf ("%s/admin/snp/ark.pem", d->admin);
		g_autofree gchar *file = NULL;
		guint status = 0;
		g_autoptr (GBytes) b = test_devnet_http (d, "GET", url, &status);
		g_assert_cmpuint (status, ==, 200);
		g_assert_true (g_file_get_contents (s.ark, &file, NULL, &error));
		g_assert_cmpmem (file, strlen (file), g_bytes_get_data (b, NULL),
		                 g_bytes_get_size (b));
		assert_contains (file, "-----BEGIN CERTIFICATE-----");
	}
	m = expected_measurement (&s);
	report = get_report (d, 1, nonce, d->dir, "report.bin");
	/* the report is CRN 1's chip's, with the nonce */
	{
		g_autofree gchar *data = NULL;
		gsize len = 0;
		AcSnpReport r;
		g_autofree gchar *chip = NULL, *rd = NULL;
		g_assert_true (g_file_get_contents (report, &data, &len, &error));
		g_assert_true (ac_snp_report_parse ((const guint8 *)data, len, &r, &error));
		g_assert_no_error (error);
		chip = ac_codec_hex_encode (r.chip_id, sizeof r.chip_id);
		rd = ac_codec_hex_encode (r.report_data, sizeof r.report_data);
		g_assert_cmpstr (chip, ==, s.chip_id[1]);
		g_assert_cmpstr (rd, ==, nonce);
	}

	/* fetch-certs: the VCEK of that chip and TCB, the chain and the CRL, verified */
	certs = g_build_filename (d->dir, "certs", NULL);
	g_assert_cmpint (virt_aleph (&out, NULL, "snp", "fetch-certs", report, "--kds-url", s.kds,
	                             "--trust-ark", s.ark, "--crl", "--dir", certs, NULL),
	                 ==, 0);
	assert_contains (out, "explicitly trusted");
	for (guint i = 0; i < 3; i++) {
		const gchar *names[] = { "vcek.der", "cert_chain.pem", "crl.der" };
		g_autofree gchar *p = g_build_filename (certs, names[i], NULL);
		g_assert_true (g_file_test (p, G_FILE_TEST_IS_REGULAR));
	}
	/* verify-report: verified, with the CRL, the measurement and the nonce */
	cache = g_build_filename (d->dir, "kds-cache", NULL);
	g_assert_cmpint (verify (&s, report, m, nonce, cache, NULL), ==, 0);
	/* the devnet's ARK is not AMD's: without --trust-ark, untrusted (exit 4) */
	g_assert_cmpint (virt_aleph (NULL, &err, "snp", "verify-report", report, "--kds-url", s.kds,
	                             "--check-crl", NULL),
	                 ==, 4);
	assert_contains (err, "ARK");
	g_clear_pointer (&err, g_free);
	/* another nonce expected: mismatch (exit 5) */
	{
		g_autofree gchar *other = new_nonce ();
		g_assert_cmpint (verify (&s, report, m, other, NULL, NULL), ==, 5);
	}
	/* the KDS answers 404 about a chip it does not have, 400 for a bad nonce */
	{
		g_autofree gchar *url
		    = g_strdup_printf ("%s/vcek/v1/Milan/%0128d?blSPL=05&teeSPL=01"
		                       "&snpSPL=23&ucodeSPL=214",
		                       s.kds, 1);
		g_autofree gchar *bad
		    = g_strdup_printf ("%s/admin/snp/report?report_data=00", d->admin);
		guint status = 0;
		g_autoptr (GBytes) b = test_devnet_http (d, "GET", url, &status);
		g_autoptr (GBytes) b2 = NULL;
		g_assert_cmpuint (status, ==, 404);
		b2 = test_devnet_http (d, "GET", bad, &status);
		g_assert_cmpuint (status, ==, 400);
	}
	g_assert_cmpint (test_devnet_stop (d), ==, 0);
}

/* each snp-* knob refused by the step that must refuse it, with its exit code */
static void
test_snp_attacks (void)
{
	g_autoptr (GError) error = NULL;
	g_autoptr (TestDevnet) d = test_devnet_start ("", 1, &error);
	g_autofree gchar *m = NULL;
	g_autofree gchar *err = NULL;
	Snp s;
	static const struct {
		const gchar *attack;
		gint exit;
		const gchar *says;
	} cases[] = {
		{ "snp-other-chip", 4, "signature" },
		{ "snp-wrong-measurement", 5, "MEASUREMENT" },
		{ "snp-tcb-below-floor", 3, "TCB below" },
		{ "snp-revoked-ask", 4, "revoked" },
	};

	g_assert_no_error (error);
	snp_of (d, &s);
	m = expected_measurement (&s);
	for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
		g_autofree gchar *nonce = new_nonce ();
		g_autofree gchar *name = g_strdup_printf ("%s.bin", cases[i].attack);
		g_autofree gchar *report = NULL;

		set_attack (d, 0, cases[i].attack);
		report = get_report (d, 0, nonce, d->dir, name);
		/* no cache: the CRL is fetched afresh */
		g_assert_cmpint (verify (&s, report, m, nonce, NULL, &err), ==, cases[i].exit);
		assert_contains (err, cases[i].says);
		g_clear_pointer (&err, g_free);
		/* the knob taken off: verified again */
		set_attack (d, 0, "none");
		g_free (report);
		report = get_report (d, 0, nonce, d->dir, name);
		g_assert_cmpint (verify (&s, report, m, nonce, NULL, NULL), ==, 0);
	}
	/* replay: a genuine report, then the same bytes whatever the nonce (exit 5) */
	{
		g_autofree gchar *n1 = new_nonce ();
		g_autofree gchar *n2 = new_nonce ();
		g_autofree gchar *r1 = get_report (d, 0, n1, d->dir, "replay-1.bin");
		g_autofree gchar *r2 = NULL;
		g_autofree gchar *b1 = NULL, *b2 = NULL;
		gsize l1 = 0, l2 = 0;

		g_assert_cmpint (verify (&s, r1, m, n1, NULL, NULL), ==, 0);
		set_attack (d, 0, "snp-replay");
		r2 = get_report (d, 0, n2, d->dir, "replay-2.bin");
		g_assert_true (g_file_get_contents (r1, &b1, &l1, NULL));
		g_assert_true (g_file_get_contents (r2, &b2, &l2, NULL));
		g_assert_cmpmem (b1, l1, b2, l2);
		g_assert_cmpint (verify (&s, r2, m, n2, NULL, &err), ==, 5);
		assert_contains (err, "REPORT_DATA");
		g_clear_pointer (&err, g_free);
	}
	/* an unknown knob is refused */
	{
		guint status = 0;
		g_autoptr (JsonNode) k = test_devnet_admin (
		    d, "POST", "/admin/knobs", "{\"attacks\": {\"0\": \"snp-nothing\"}}", &status);
		g_assert_cmpuint (status, ==, 400);
	}
	g_assert_cmpint (test_devnet_stop (d), ==, 0);
}

/* the chips are kept in the state directory: the same CHIP_ID and ARK after a restart, and the
 * certificates cached from the first run verify the new run's reports offline; a state others
 * can enter is refused at start */
static void
test_snp_restart (void)
{
	g_autoptr (GError) error = NULL;
	g_autoptr (TestDevnet) d = test_devnet_start ("", 1, &error);
	g_autoptr (TestDevnet) again = NULL;
	g_autofree gchar *nonce = new_nonce ();
	g_autofree gchar *m = NULL;
	g_autofree gchar *report = NULL;
	g_autofree gchar *cache = NULL;
	g_autofree gchar *chip = NULL;
	g_autofree gchar *kds = NULL;
	g_autofree gchar *ark = NULL;
	g_autofree gchar *ark2 = NULL;
	Snp s, s2;

	g_assert_no_error (error);
	snp_of (d, &s);
	m = expected_measurement (&s);
	cache = g_build_filename (d->dir, "kds-cache", NULL);
	report = get_report (d, 0, nonce, d->dir, "first.bin");
	g_assert_cmpint (verify (&s, report, m, nonce, cache, NULL), ==, 0);
	chip = g_strdup (s.chip_id[0]);
	kds = g_strdup (s.kds);
	g_assert_true (g_file_get_contents (s.ark, &ark, NULL, NULL));
	g_assert_cmpint (test_devnet_stop (d), ==, 0);

	again = test_devnet_start_in (d->dir, "", 1, &error);
	g_assert_no_error (error);
	snp_of (again, &s2);
	g_assert_cmpstr (s2.chip_id[0], ==, chip);
	g_assert_true (g_file_get_contents (s2.ark, &ark2, NULL, NULL));
	g_assert_cmpstr (ark2, ==, ark);
	g_free (report);
	g_free (nonce);
	nonce = new_nonce ();
	report = get_report (again, 0, nonce, again->dir, "second.bin");
	/* offline, from the cache of the first run's KDS */
	g_assert_cmpint (virt_aleph (NULL, NULL, "snp", "verify-report", report, "--kds-url", kds,
	                             "--offline", "--cache-dir", cache, "--trust-ark", s2.ark,
	                             "--expected-measurement", m, "--expected-report-data", nonce,
	                             NULL),
	                 ==, 0);
	/* and online with the new KDS */
	g_assert_cmpint (verify (&s2, report, m, nonce, NULL, NULL), ==, 0);
	g_assert_cmpint (test_devnet_stop (again), ==, 0);

	/* the chip's state opened to others: the devnet refuses to start */
	{
		g_autofree gchar *snp_dir
		    = g_build_filename (d->dir, "state", "devnet-crn-0", "snp", NULL);
		g_autoptr (TestDevnet) third = NULL;
		g_assert_cmpint (g_chmod (snp_dir, 0755), ==, 0);
		third = test_devnet_start_in (d->dir, "", 1, &error);
		g_assert_null (third);
		g_assert_nonnull (error);
	}
}

int
main (int argc, char **argv)
{
	g_test_init (&argc, &argv, NULL);
	signal (SIGPIPE, SIG_IGN);
	g_assert_nonnull (g_getenv ("VIRT_ALEPH"));
	g_test_add_func ("/devnet/snp/verify", test_snp_verify);
	g_test_add_func ("/devnet/snp/attacks", test_snp_attacks);
	g_test_add_func ("/devnet/snp/restart", test_snp_restart);
	return g_test_run ();
}
