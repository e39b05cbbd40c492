/*
 * `virt-aleph snp fetch-certs` against a local HTTP server that plays AMD KDS (a small Python
 * http.server that also answers query strings and logs each request): the real Milan reports'
 * VCEKs and chains are fetched, verified and written; the cache answers a second run and
 * --offline never contacts the server; wrong answers and untrusted chains fail with their
 * exit codes; a devnet's software chain verifies only with --trust-ark.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <string.h>

#include "ac-error.h"
#include "ac-sev-ossl-private.h"
#include "ac-snp-chain.h"
#include "ac-snp-kds.h"
#include "test-sev-common.h"
#include "../test-util.h"

static const gchar server_py[]
    = "import http.server, os, sys, threading, urllib.parse\n"
      "root = sys.argv[1]\n"
      "# gone with the test: its end of the pipe closes when it exits, aborts or is killed\n"
      "threading.Thread(target=lambda: (sys.stdin.buffer.read(), os._exit(0)), "
      "daemon=True).start()\n"
      "class H(http.server.BaseHTTPRequestHandler):\n"
      "    def do_GET(self):\n"
      "        with open(os.path.join(root, 'requests.log'), 'a') as log:\n"
      "            log.write(self.path + '\\n')\n"
      "        p = os.path.join(root, 'www', urllib.parse.quote(self.path, safe=''))\n"
      "        if not os.path.isfile(p):\n"
      "            self.send_response(404); self.end_headers(); return\n"
      "        d = open(p, 'rb').read()\n"
      "        self.send_response(200)\n"
      "        self.send_header('Content-Length', str(len(d)))\n"
      "        self.end_headers()\n"
      "        self.wfile.write(d)\n"
      "    def log_message(self, *a):\n"
      "        pass\n"
      "s = http.server.HTTPServer(('127.0.0.1', 0), H)\n"
      "print(s.server_address[1], flush=True)\n"
      "s.serve_forever()\n";

static gchar *tmpdir;

/* virt-aleph in the test's directory */
#define cli(out, ...) sev_test_cli (tmpdir, (out), NULL, __VA_ARGS__)
static gchar *base_url;
static GSubprocess *server;

static gchar *
vector (const gchar *dir, const gchar *name)
{
	return g_test_build_filename (G_TEST_DIST, "data", "snp", dir, name, NULL);
}

/* what the server answers for @url (a full URL under base_url) */
static void
serve (const gchar *url, GBytes *body)
{
	const gchar *path = url + strlen (base_url);
	g_autofree gchar *name = g_uri_escape_string (path, NULL, FALSE);
	g_autofree gchar *file = g_build_filename (tmpdir, "www", name, NULL);
	g_autoptr(GError) error = NULL;
	g_assert_true (g_file_set_contents (file, g_bytes_get_data (body, NULL),
	                                    g_bytes_get_size (body), &error));
}

static guint
requests (void)
{
	g_autofree gchar *log = g_build_filename (tmpdir, "requests.log", NULL);
	g_autofree gchar *text = NULL;
	guint n = 0;
	if (!g_file_get_contents (log, &text, NULL, NULL))
		return 0;
	for (const gchar *p = text; *p; p++)
		n += *p == '\n';
	return n;
}

typedef struct {
	guint64 tcb_raw;
	guint8 chip_id[64];
	AcSnpTcb tcb;
} Report;

static void
load_report (const gchar *path, Report *r)
{
	g_autoptr(GBytes) b = test_util_read_bytes (path);
	const guint8 *p = g_bytes_get_data (b, NULL);
	r->tcb_raw = 0;
	for (guint i = 0; i < 8; i++)
		r->tcb_raw |= (guint64)p[0x180 + i] << (8 * i);
	memcpy (r->chip_id, p + 0x1A0, 64);
	g_assert_true (ac_snp_tcb_decode (r->tcb_raw, AC_SNP_PRODUCT_MILAN, "tcb", &r->tcb, NULL));
}

/* serves the VCEK of @dir's report and its chain under Milan */
static void
serve_milan (const gchar *dir, const gchar *report, const gchar *vcek, const gchar *chain)
{
	g_autofree gchar *rp = vector (dir, report);
	g_autofree gchar *vp = vector (dir, vcek);
	g_autofree gchar *cp = vector (dir, chain);
	g_autoptr(GBytes) v = test_util_read_bytes (vp);
	g_autoptr(GBytes) c = test_util_read_bytes (cp);
	g_autofree gchar *vurl = NULL;
	g_autofree gchar *curl
	    = ac_snp_kds_cert_chain_url (base_url, AC_SNP_PRODUCT_MILAN, FALSE, NULL);
	Report r;
	load_report (rp, &r);
	vurl = ac_snp_kds_vcek_url (base_url, AC_SNP_PRODUCT_MILAN, r.chip_id, 64, &r.tcb, NULL);
	serve (vurl, v);
	serve (curl, c);
}

static void
test_fetch_report (void)
{
	g_autofree gchar *report = vector ("virtee-sev-milan", "report_milan.bin");
	g_autofree gchar *vcek_path = vector ("virtee-sev-milan", "vcek_milan.der");
	g_autofree gchar *out_dir = g_build_filename (tmpdir, "out1", NULL);
	g_autofree gchar *written = g_build_filename (out_dir, "vcek.der", NULL);
	g_autofree gchar *chain = g_build_filename (out_dir, "cert_chain.pem", NULL);
	g_autofree gchar *cache = g_build_filename (tmpdir, "cache1", NULL);
	g_autofree gchar *out = NULL;
	g_autoptr(GBytes) want = test_util_read_bytes (vcek_path);
	g_autoptr(GBytes) got = NULL;
	g_autoptr(GBytes) chain_bytes = NULL;
	g_autoptr(GPtrArray) certs = NULL;
	guint before;

	serve_milan ("virtee-sev-milan", "report_milan.bin", "vcek_milan.der",
	             "cert_chain_milan.pem");
	before = requests ();
	g_assert_cmpint (cli (&out, "--json", "snp", "fetch-certs", "--product", "milan",
	                      "--kds-url", base_url, "--cache-dir", cache, "--dir", out_dir, report,
	                      NULL),
	                 ==, AC_EXIT_OK);
	g_assert_nonnull (strstr (out, "\"verdict\":\"trusted\""));
	g_assert_nonnull (strstr (out, "\"product_name\":\"Milan-B0\""));
	g_assert_nonnull (strstr (out, "bl=3 tee=0 snp=8 ucode=115"));
	g_assert_cmpuint (requests (), ==, before + 2);
	got = test_util_read_bytes (written);
	g_assert_true (g_bytes_equal (got, want));
	chain_bytes = test_util_read_bytes (chain);
	certs = ac_snp_cert_parse_all (g_bytes_get_data (chain_bytes, NULL),
	                               g_bytes_get_size (chain_bytes), "chain", NULL);
	g_assert_cmpuint (certs->len, ==, 2);
	g_assert_cmpint (ac_snp_cert_get_role (g_ptr_array_index (certs, 0)), ==, AC_SNP_CERT_ASK);
	g_assert_cmpint (ac_snp_cert_get_role (g_ptr_array_index (certs, 1)), ==, AC_SNP_CERT_ARK);

	/* again: the files exist (--force replaces them); the cache answers, --offline too */
	/* only cert_chain.pem is in the way: nothing is written */
	g_assert_cmpint (g_remove (written), ==, 0);
	g_assert_cmpint (cli (NULL, "snp", "fetch-certs", "--product", "milan", "--kds-url",
	                      base_url, "--cache-dir", cache, "--dir", out_dir, report, NULL),
	                 ==, AC_EXIT_EXISTS);
	g_assert_false (g_file_test (written, G_FILE_TEST_EXISTS));
	g_assert_cmpint (cli (NULL, "snp", "fetch-certs", "--product", "milan", "--kds-url",
	                      base_url, "--cache-dir", cache, "--dir", out_dir, "--force", report,
	                      NULL),
	                 ==, AC_EXIT_OK);
	g_assert_cmpint (cli (NULL, "snp", "fetch-certs", "--product", "milan", "--kds-url",
	                      base_url, "--cache-dir", cache, "--dir", out_dir, "--force",
	                      "--offline", report, NULL),
	                 ==, AC_EXIT_OK);
	g_assert_cmpuint (requests (), ==, before + 2);
	/* offline with an empty cache: nothing found, the server never asked */
	g_assert_cmpint (cli (NULL, "snp", "fetch-certs", "--product", "milan", "--kds-url",
	                      base_url, "--offline", "--dir", out_dir, "--force", report, NULL),
	                 ==, AC_EXIT_NOT_FOUND);
	g_assert_cmpuint (requests (), ==, before + 2);
	/* a version 2 report does not name its product */
	g_assert_cmpint (cli (NULL, "snp", "fetch-certs", "--kds-url", base_url, report, NULL), ==,
	                 AC_EXIT_USAGE);
}

static void
test_fetch_chip_tcb (void)
{
	g_autofree gchar *report = vector ("go-sev-guest-milan", "attestation.bin");
	g_autofree gchar *virtee = vector ("virtee-sev-milan", "vcek_milan.der");
	g_autofree gchar *out_dir = g_build_filename (tmpdir, "out2", NULL);
	g_autofree gchar *hex = NULL;
	g_autofree gchar *tcb = NULL;
	g_autofree gchar *tcb_snp = NULL;
	g_autofree gchar *url = NULL;
	g_autofree gchar *genoa_url = NULL;
	g_autoptr(GBytes) other = test_util_read_bytes (virtee);
	Report r;
	AcSnpTcb t;

	serve_milan ("go-sev-guest-milan", "attestation.bin", "vcek.der", "ask_ark_milan.pem");
	load_report (report, &r);
	hex = sev_test_hex (r.chip_id, 64);
	tcb = g_strdup_printf ("0x%" G_GINT64_MODIFIER "x", r.tcb_raw);
	g_assert_cmpint (cli (NULL, "snp", "fetch-certs", "--chip-id", hex, "--tcb", tcb,
	                      "--product", "milan", "--kds-url", base_url, "--dir", out_dir, NULL),
	                 ==, AC_EXIT_OK);
	/* KDS answers with another chip's VCEK (for a TCB with snp + 1) */
	t = r.tcb;
	t.snp++;
	url = ac_snp_kds_vcek_url (base_url, AC_SNP_PRODUCT_MILAN, r.chip_id, 64, &t, NULL);
	serve (url, other);
	tcb_snp
	    = g_strdup_printf ("%" G_GUINT64_FORMAT, ac_snp_tcb_encode (&t, AC_SNP_PRODUCT_MILAN));
	g_assert_cmpint (cli (NULL, "snp", "fetch-certs", "--chip-id", hex, "--tcb", tcb_snp,
	                      "--product", "milan", "--kds-url", base_url, "--dir", out_dir,
	                      "--force", NULL),
	                 ==, AC_EXIT_REMOTE);
	/* the Milan VCEK where Genoa's is asked for */
	genoa_url
	    = ac_snp_kds_vcek_url (base_url, AC_SNP_PRODUCT_GENOA, r.chip_id, 64, &r.tcb, NULL);
	{
		g_autofree gchar *p = vector ("go-sev-guest-milan", "vcek.der");
		g_autoptr(GBytes) v = test_util_read_bytes (p);
		serve (genoa_url, v);
	}
	g_assert_cmpint (cli (NULL, "snp", "fetch-certs", "--chip-id", hex, "--tcb", tcb,
	                      "--product", "genoa", "--kds-url", base_url, "--dir", out_dir,
	                      "--force", NULL),
	                 ==, AC_EXIT_REMOTE);
	/* malformed options */
	g_assert_cmpint (cli (NULL, "snp", "fetch-certs", "--chip-id", "abcd", "--tcb", tcb,
	                      "--product", "milan", "--kds-url", base_url, NULL),
	                 ==, AC_EXIT_USAGE);
	g_assert_cmpint (cli (NULL, "snp", "fetch-certs", "--chip-id", hex, "--product", "milan",
	                      "--kds-url", base_url, NULL),
	                 ==, AC_EXIT_USAGE);
	g_assert_cmpint (cli (NULL, "snp", "fetch-certs", "--chip-id", hex, "--tcb", tcb,
	                      "--product", "venice", "--kds-url", base_url, NULL),
	                 ==, AC_EXIT_USAGE);
	/* the CRL: KDS answers garbage */
	{
		g_autofree gchar *crl_url
		    = ac_snp_kds_crl_url (base_url, AC_SNP_PRODUCT_MILAN, FALSE, NULL);
		g_autoptr(GBytes) junk = g_bytes_new_static ("not a CRL", 9);
		serve (crl_url, junk);
		g_assert_cmpint (cli (NULL, "snp", "fetch-certs", "--chip-id", hex, "--tcb", tcb,
		                      "--product", "milan", "--kds-url", base_url, "--dir", out_dir,
		                      "--force", "--crl", NULL),
		                 ==, AC_EXIT_REMOTE);
	}
}

/* a devnet KDS: the software CA's chain, trusted only with --trust-ark; its CRL checked */
static void
test_fetch_devnet (void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(AcSnpSoftCa) ca = ac_snp_soft_ca_new (AC_SNP_PRODUCT_GENOA, FALSE, &error);
	g_autoptr(EVP_PKEY) key = ac_sev_ec_generate (NULL);
	g_autoptr(AcSnpCert) vcek = NULL;
	g_autoptr(AcSnpCrl) crl = NULL;
	g_autoptr(GBytes) vcek_der = NULL;
	g_autoptr(GBytes) crl_der = NULL;
	g_autoptr(GBytes) chain = NULL;
	g_autoptr(GBytes) crl_written = NULL;
	g_autofree gchar *ark_pem = NULL;
	g_autofree gchar *ask_pem = NULL;
	g_autofree gchar *ark_file = g_build_filename (tmpdir, "devnet-ark.pem", NULL);
	g_autofree gchar *out_dir = g_build_filename (tmpdir, "out3", NULL);
	g_autofree gchar *crl_file = g_build_filename (out_dir, "crl.der", NULL);
	g_autofree gchar *hex = NULL;
	g_autofree gchar *tcb = NULL;
	g_autofree gchar *url = NULL;
	g_autofree gchar *out = NULL;
	AcSnpTcb t = { .bootloader = 9, .tee = 0, .snp = 23, .microcode = 72 };
	guint8 chip[64];

	g_assert_no_error (error);
	for (guint i = 0; i < 64; i++)
		chip[i] = (guint8)(i * 7 + 1);
	vcek = ac_snp_soft_ca_issue_vcek (ca, chip, 64, &t, key, NULL, 30, &error);
	g_assert_no_error (error);
	crl = ac_snp_soft_ca_issue_crl (ca, NULL, 0, NULL, 30, &error);
	g_assert_no_error (error);
	vcek_der = ac_snp_cert_get_der (vcek);
	crl_der = ac_snp_crl_get_der (crl);
	ark_pem = ac_snp_cert_to_pem (ac_snp_soft_ca_get_ark (ca));
	ask_pem = ac_snp_cert_to_pem (ac_snp_soft_ca_get_intermediate (ca));
	{
		gchar *both = g_strconcat (ask_pem, ark_pem, NULL);
		chain = g_bytes_new_take (both, strlen (both));
	}
	g_assert_true (g_file_set_contents (ark_file, ark_pem, -1, NULL));
	url = ac_snp_kds_vcek_url (base_url, AC_SNP_PRODUCT_GENOA, chip, 64, &t, NULL);
	serve (url, vcek_der);
	g_clear_pointer (&url, g_free);
	url = ac_snp_kds_cert_chain_url (base_url, AC_SNP_PRODUCT_GENOA, FALSE, NULL);
	serve (url, chain);
	g_clear_pointer (&url, g_free);
	url = ac_snp_kds_crl_url (base_url, AC_SNP_PRODUCT_GENOA, FALSE, NULL);
	serve (url, crl_der);
	hex = sev_test_hex (chip, 64);
	tcb = g_strdup_printf ("%" G_GUINT64_FORMAT, ac_snp_tcb_encode (&t, AC_SNP_PRODUCT_GENOA));

	g_assert_cmpint (cli (NULL, "snp", "fetch-certs", "--chip-id", hex, "--tcb", tcb,
	                      "--product", "genoa", "--kds-url", base_url, "--dir", out_dir, NULL),
	                 ==, AC_EXIT_UNTRUSTED);
	g_assert_false (g_file_test (out_dir, G_FILE_TEST_EXISTS)); /* nothing written */
	g_assert_cmpint (cli (&out, "--json", "snp", "fetch-certs", "--chip-id", hex, "--tcb", tcb,
	                      "--product", "genoa", "--kds-url", base_url, "--dir", out_dir,
	                      "--crl", "--trust-ark", ark_file, NULL),
	                 ==, AC_EXIT_OK);
	g_assert_nonnull (strstr (out, "\"builtin_root\":false"));
	g_assert_nonnull (strstr (out, "\"crl_checked\":true"));
	crl_written = test_util_read_bytes (crl_file);
	g_assert_true (g_bytes_equal (crl_written, crl_der));
}

int
main (int argc, char **argv)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GDataInputStream) in = NULL;
	g_autofree gchar *port = NULL;
	g_autofree gchar *www = NULL;
	int rc;

	g_test_init (&argc, &argv, NULL);
	tmpdir = test_util_mkdtemp ("test-snp-certs-cli-XXXXXX");
	www = g_build_filename (tmpdir, "www", NULL);
	g_assert_cmpint (g_mkdir (www, 0700), ==, 0);
	server = g_subprocess_new (G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE,
	                           &error, "python3", "-c", server_py, tmpdir, NULL);
	g_assert_no_error (error);
	in = g_data_input_stream_new (g_subprocess_get_stdout_pipe (server));
	port = g_data_input_stream_read_line (in, NULL, NULL, &error);
	g_assert_no_error (error);
	g_assert_nonnull (port);
	base_url = g_strdup_printf ("http://127.0.0.1:%s", port);

	g_test_add_func ("/snp/cli/fetch-certs/report", test_fetch_report);
	g_test_add_func ("/snp/cli/fetch-certs/chip-tcb", test_fetch_chip_tcb);
	g_test_add_func ("/snp/cli/fetch-certs/devnet", test_fetch_devnet);
	rc = g_test_run ();

	g_subprocess_force_exit (server);
	g_subprocess_wait (server, NULL, NULL);
	g_object_unref (server);
	test_util_rm_rf (tmpdir);
	g_free (base_url);
	g_free (tmpdir);
	return rc;
}
