/*
 * aleph-confidential: unit tests of the devnet's SEV-SNP instance parts, in-process — the
 * default runtime (tar, gzip, manifest) read back by the client's reader and measured; the
 * attest-agent's request parser and its answers (the
 * Aleph agent's status codes and texts, the owner's signature checked).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "ac-aleph-message.h"
#include "ac-aleph-snp-inject.h"
#include "ac-luks-disk.h"
#include "ac-devnet-runtime.h"
#include "ac-devnet-snp-agent.h"
#include "ac-error.h"
#include "ac-eth-account.h"
#include "ac-snp-runtime.h"
#include "ac-tar.h"

#define OWNER_KEY_BYTE 0x42
/* the address of the key 0x42…42 */
#define OWNER "0x17c5185167401ed00cf5f5b2fc97d9bbfdb7d025"

static GBytes *
runtime_file (const gchar *name)
{
	g_autofree gchar *path = g_build_filename (AC_DEVNET_SNP_RUNTIME_SOURCE_DIR, name, NULL);
	g_autoptr (GError) error = NULL;
	gchar *data = NULL;
	gsize len = 0;
	g_assert_true (g_file_get_contents (path, &data, &len, &error));
	return g_bytes_new_take (data, len);
}

static GBytes *
bundle_build (GBytes **files)
{
	const gchar *names[] = { AC_DEVNET_RUNTIME_MEMBER_OVMF, AC_DEVNET_RUNTIME_MEMBER_KERNEL,
		                 AC_DEVNET_RUNTIME_MEMBER_INITRD };
	g_autoptr (GError) error = NULL;
	GBytes *gz = ac_tar_gz_write (names, files, 3, &error);
	g_assert_no_error (error);
	return gz;
}

/* the bundle the devnet publishes is read back by the client's reader, byte for byte, and
 * its OVMF measures */
static void
test_runtime (void)
{
	g_autoptr (GError) error = NULL;
	GBytes *files[3]
	    = { runtime_file (AC_DEVNET_RUNTIME_OVMF), runtime_file (AC_DEVNET_RUNTIME_KERNEL),
		runtime_file (AC_DEVNET_RUNTIME_INITRD) };
	g_autoptr (GBytes) gz = bundle_build (files);
	g_autoptr (GBytes) again = bundle_build (files);
	g_autofree gchar *sha
	    = ac_aleph_sha256_hex (g_bytes_get_data (gz, NULL), g_bytes_get_size (gz));
	const gchar *ref = "1111111111111111111111111111111111111111111111111111111111111111";
	g_autofree gchar *manifest = ac_devnet_runtime_manifest (ref, sha, g_bytes_get_size (gz));
	g_autofree gchar *manifest2 = ac_devnet_runtime_manifest (ref, sha, g_bytes_get_size (gz));
	g_autoptr (AcSnpRuntime) rt = NULL;
	g_autoptr (JsonNode) node = NULL;
	g_autofree gchar *canonical = NULL;
	g_autofree AcSnpRuntimeMeasurement *ms = NULL;
	g_autofree gchar *cmdline = NULL;
	AcSnpRuntimeFiles out = { 0 };
	guint n = 0;

	/* deterministic: the same files give the same bundle and manifest */
	g_assert_true (g_bytes_equal (gz, again));
	g_assert_cmpstr (manifest, ==, manifest2);
	/* the gzip header: no name, mtime 0 */
	g_assert_cmpmem (g_bytes_get_data (gz, NULL), 3, "\x1f\x8b\x08", 3);
	g_assert_cmpuint (((const guint8 *)g_bytes_get_data (gz, NULL))[3], ==, 0);
	g_assert_cmpmem ((const guint8 *)g_bytes_get_data (gz, NULL) + 4, 4, "\0\0\0\0", 4);

	rt = ac_snp_runtime_parse (manifest, strlen (manifest), &error);
	g_assert_no_error (error);
	g_assert_cmpstr (rt->bundle_ref, ==, ref);
	g_assert_cmpuint (rt->bundle_size, ==, g_bytes_get_size (gz));
	g_assert_cmpuint (g_strv_length (rt->cpu_models), ==, 3);
	g_assert_cmpstr (rt->cpu_models[0], ==, "EPYC-v4");
	g_assert_cmpstr (rt->cpu_models[1], ==, "EPYC-Milan");
	g_assert_cmpstr (rt->cpu_models[2], ==, "EPYC-Genoa");
	g_assert_cmpuint (rt->attestation_port, ==, 8443);
	cmdline = ac_snp_runtime_render_cmdline (rt, "0x17C5185167401ED00CF5F5B2FC97D9BBFDB7D025",
	                                         &error);
	g_assert_cmpstr (cmdline, ==, "console=ttyS0 luks=1 owner=" OWNER);
	/* canonical: what a sorted, compact serialisation gives */
	node = json_from_string (manifest, &error);
	g_assert_no_error (error);
	canonical = json_to_string (node, FALSE);
	g_assert_cmpstr (canonical, ==, manifest);
	g_assert_nonnull (strstr (manifest, "{\"attestation\":[{\"protocol\":\"aleph.ra-tls\","));

	g_assert_true (ac_snp_runtime_check_bundle (rt, gz, &error));
	g_assert_true (ac_snp_runtime_extract (rt, gz, &out, &error));
	g_assert_no_error (error);
	g_assert_true (g_bytes_equal (out.ovmf, files[0]));
	g_assert_true (g_bytes_equal (out.kernel, files[1]));
	g_assert_true (g_bytes_equal (out.initrd, files[2]));
	/* the synthetic OVMF carries what a launch digest needs */
	g_assert_true (ac_snp_runtime_expected_measurements (rt, &out, OWNER, 2, &ms, &n, &error));
	g_assert_no_error (error);
	g_assert_cmpuint (n, ==, 3);
	g_assert_cmpmem (ms[0].launch, AC_SNP_LD_SIZE, ms[0].launch, AC_SNP_LD_SIZE);
	g_assert_true (memcmp (ms[0].launch, ms[1].launch, AC_SNP_LD_SIZE) != 0);
	ac_snp_runtime_files_clear (&out);
	for (guint i = 0; i < 3; i++)
		g_bytes_unref (files[i]);

	/* names the header cannot hold */
	{
		g_autofree gchar *long_name = g_strnfill (101, 'a');
		const gchar *names[] = { long_name };
		GBytes *one[] = { g_bytes_new_static ("x", 1) };
		g_autoptr (GBytes) t = ac_tar_gz_write (names, one, 1, &error);
		g_assert_null (t);
		g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
		g_clear_error (&error);
		g_bytes_unref (one[0]);
	}
}

static AcDevnetSnpAgentParse
parse (const gchar *text, AcDevnetSnpAgentRequest *req)
{
	g_autoptr (GError) error = NULL;
	AcDevnetSnpAgentParse r
	    = ac_devnet_snp_agent_parse_request ((const guint8 *)text, strlen (text), req, &error);
	if (r == AC_DEVNET_SNP_AGENT_PARSE_ERROR)
		g_test_message ("%.60s…: %s", text, error->message);
	return r;
}

static void
test_agent_parse (void)
{
	AcDevnetSnpAgentRequest req = { 0 };
	g_autofree gchar *big = g_strdup_printf ("GET / HTTP/1.1\r\nX: %0*d\r\n\r\n",
	                                         AC_DEVNET_SNP_AGENT_HEAD_MAX, 0);
	struct {
		const gchar *text;
		guint status;
	} bad[] = {
		{ "get / HTTP/1.1\r\n\r\n", 400 },
		{ "GET nope HTTP/1.1\r\n\r\n", 400 },
		{ "GET / HTTP/2\r\n\r\n", 400 },
		{ "GET  / HTTP/1.1\r\n\r\n", 400 },
		{ "GET / HTTP/1.1\r\nNoColon\r\n\r\n", 400 },
		{ "GET / HTTP/1.1\r\nX: a\x01"
		  "b\r\n\r\n",
		  400 },
		{ "POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx", 400 },
		{ "POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400 },
		{ "POST / HTTP/1.1\r\nContent-Length: 0x10\r\n\r\n", 400 },
		{ "POST / HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n", 413 },
		{ "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 501 },
		{ big, 431 },
	};

	g_assert_cmpint (
	    parse ("GET /.well-known/attestation?nonce=00ff HTTP/1.1\r\nHost: x\r\n\r\n", &req), ==,
	    AC_DEVNET_SNP_AGENT_PARSE_DONE);
	g_assert_cmpstr (req.method, ==, "GET");
	g_assert_cmpstr (req.path, ==, "/.well-known/attestation");
	g_assert_cmpstr (req.query, ==, "nonce=00ff");
	g_assert_cmpuint (req.body_len, ==, 0);
	g_assert_cmpint (parse ("GET / HTTP/1.1\r\nHost: x\r\n", &req), ==,
	                 AC_DEVNET_SNP_AGENT_PARSE_MORE);
	g_assert_cmpint (parse ("POST /x HTTP/1.0\r\ncontent-length: 4\r\n\r\nab", &req), ==,
	                 AC_DEVNET_SNP_AGENT_PARSE_MORE);
	g_assert_cmpint (parse ("POST /x HTTP/1.0\r\ncontent-length: 4\r\n\r\nabcd", &req), ==,
	                 AC_DEVNET_SNP_AGENT_PARSE_DONE);
	g_assert_cmpuint (req.body_len, ==, 4);
	g_assert_cmpuint (req.body_offset, ==,
	                  strlen ("POST /x HTTP/1.0\r\ncontent-length: 4\r\n\r\n"));
	g_assert_null (req.query);
	for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
		g_assert_cmpint (parse (bad[i].text, &req), ==, AC_DEVNET_SNP_AGENT_PARSE_ERROR);
		g_assert_cmpuint (req.status, ==, bad[i].status);
	}
	ac_devnet_snp_agent_request_clear (&req);
}

static guint report_calls;
static guint8 last_report_data[64];

static GBytes *
fake_report (gpointer user_data, const guint8 *report_data, GError **error)
{
	report_calls++;
	memcpy (last_report_data, report_data, 64);
	return g_bytes_new_static ("\x01\x02", 2);
}

/* one request through the parser and the answer */
static gchar *
answer (const AcDevnetSnpAgentConfig *c, const gchar *text, guint *status, AcSnpSecrets **secrets)
{
	AcDevnetSnpAgentRequest req = { 0 };
	gchar *body;
	g_assert_cmpint (parse (text, &req), ==, AC_DEVNET_SNP_AGENT_PARSE_DONE);
	body = ac_devnet_snp_agent_answer (c, &req, (const guint8 *)text, status, secrets);
	ac_devnet_snp_agent_request_clear (&req);
	return body;
}

static gchar *
post (const AcDevnetSnpAgentConfig *c, const gchar *json, guint *status, AcSnpSecrets **secrets)
{
	g_autofree gchar *text = g_strdup_printf (
	    "POST /confidential/inject-secret HTTP/1.1\r\nContent-Length: %" G_GSIZE_FORMAT
	    "\r\n\r\n%s",
	    strlen (json), json);
	return answer (c, text, status, secrets);
}

static void
test_agent_answers (void)
{
	g_autoptr (GError) error = NULL;
	AcDevnetSnpAgentConfig c = { 0 };
	g_autoptr (AcEthAccount) owner = NULL;
	g_autoptr (AcEthAccount) other = NULL;
	g_autoptr (AcSnpSecrets) secrets = NULL;
	guint8 key[32];
	guint status = 0;

	memset (key, OWNER_KEY_BYTE, sizeof key);
	owner = ac_eth_account_new_from_private_key (key, sizeof key, &error);
	g_assert_no_error (error);
	other = ac_eth_account_generate (&error);
	g_assert_no_error (error);
	c.pk_raw[0] = 0x04;
	memset (c.pk_raw + 1, 0x33, sizeof c.pk_raw - 1);
	c.owner = "0x17C5185167401ED00CF5F5B2FC97D9BBFDB7D025"; /* any case */
	c.report = fake_report;

	/* the fresh report: bound to the key and the nonce, either hex case */
	{
		g_autofree gchar *b
		    = answer (&c, "GET /.well-known/attestation?nonce=00FF10 HTTP/1.1\r\n\r\n",
		              &status, &secrets);
		guint8 rd[64];
		const guint8 nonce[] = { 0x00, 0xff, 0x10 };
		g_assert_cmpuint (status, ==, 200);
		g_assert_cmpstr (b, ==, "{\"tee_type\":\"sev-snp\",\"data\":\"0102\"}");
		g_assert_true (
		    ac_snp_ratls_fresh_binding (c.pk_raw, sizeof c.pk_raw, nonce, 3, rd, &error));
		g_assert_cmpmem (last_report_data, 64, rd, 64);
	}
	{
		struct {
			const gchar *request;
			const gchar *body;
		} cases[] = {
			{ "GET /.well-known/attestation?nonce=0g HTTP/1.1\r\n\r\n",
			  "{\"error\":\"invalid hex nonce: Invalid character 'g' at position "
			  "1\"}" },
			{ "GET /.well-known/attestation?nonce=abc HTTP/1.1\r\n\r\n",
			  "{\"error\":\"invalid hex nonce: Odd number of digits\"}" },
			{ "GET /.well-known/attestation HTTP/1.1\r\n\r\n",
			  "{\"error\":\"missing query parameter nonce\"}" },
		};
		guint before = report_calls;
		for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
			g_autofree gchar *b = answer (&c, cases[i].request, &status, &secrets);
			g_assert_cmpuint (status, ==, 400);
			g_assert_cmpstr (b, ==, cases[i].body);
		}
		{
			g_autofree gchar *hex = g_strnfill (2 * 65, 'a');
			g_autofree gchar *req = g_strdup_printf (
			    "GET /.well-known/attestation?nonce=%s HTTP/1.1\r\n\r\n", hex);
			g_autofree gchar *b = answer (&c, req, &status, &secrets);
			g_assert_cmpuint (status, ==, 400);
			g_assert_cmpstr (b, ==,
			                 "{\"error\":\"nonce too long: at most 64 bytes (128 hex "
			                 "chars)\"}");
		}
		g_assert_cmpuint (report_calls, ==, before);
	}

	/* the injection: envelope, validation, owner's signature */
	{
		struct {
			const gchar *json;
			guint status;
			const gchar *body;
		} cases[] = {
			{ "{\"luks_passphrase\":\"x\"}", 400,
			  "{\"error\":\"expected envelope body: {\\\"secrets\\\": {...}, "
			  "\\\"signature\\\": \\\"0x...\\\"}\"}" },
			{ "{\"secrets\":{\"a\":1},\"signature\":\"0x\"}", 400, NULL },
			{ "{\"secrets\":{},\"signature\":\"0x00\"}", 400,
			  "{\"error\":\"no secrets provided\"}" },
			{ "{\"secrets\":{\"a b\":\"x\"},\"signature\":\"0x00\"}", 400,
			  "{\"error\":\"invalid secret key: must be "
			  "alphanumeric/underscore/hyphen, "
			  "got: a b\"}" },
			{ "{\"secrets\":{\"luks_passphrase\":\"x\"},\"signature\":\"0x00\"}", 403,
			  "{\"error\":\"owner signature verification failed\"}" },
		};
		for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
			g_autofree gchar *b = post (&c, cases[i].json, &status, &secrets);
			g_assert_cmpuint (status, ==, cases[i].status);
			if (cases[i].body != NULL)
				g_assert_cmpstr (b, ==, cases[i].body);
			g_assert_null (secrets);
		}
	}
	for (guint who = 0; who < 2; who++) {
		g_autoptr (AcSnpSecrets) s = ac_snp_secrets_new ();
		g_autoptr (GBytes) body = NULL;
		g_autofree gchar *json = NULL;
		g_autofree gchar *b = NULL;
		g_assert_true (ac_snp_secrets_add (s, "luks_passphrase", "hunter2", 7, &error));
		body = ac_aleph_snp_inject_body (who == 0 ? owner : other, c.pk_raw,
		                                 sizeof c.pk_raw, s, &error);
		g_assert_no_error (error);
		json = g_strndup (g_bytes_get_data (body, NULL), g_bytes_get_size (body));
		b = post (&c, json, &status, &secrets);
		if (who == 0) {
			g_assert_cmpuint (status, ==, 200);
			g_assert_cmpstr (b, ==, "{\"injected\":[\"luks_passphrase\"]}");
			g_assert_nonnull (secrets);
			g_assert_cmpstr (ac_snp_secrets_lookup (secrets, "luks_passphrase", NULL),
			                 ==, "hunter2");
			g_clear_pointer (&secrets, ac_snp_secrets_free);
		} else {
			g_assert_cmpuint (status, ==, 403);
			g_assert_null (secrets);
		}
	}

	/* anything else: the workload's place, none here */
	{
		g_autofree gchar *b = answer (&c, "GET / HTTP/1.1\r\n\r\n", &status, &secrets);
		g_assert_cmpuint (status, ==, 503);
	}
	{
		g_autofree gchar *b = answer (
		    &c, "PUT /confidential/inject-secret HTTP/1.1\r\n\r\n", &status, &secrets);
		g_assert_cmpuint (status, ==, 405);
	}
}

int
main (int argc, char **argv)
{
	g_test_init (&argc, &argv, NULL);
	g_test_add_func ("/devnet/snp/runtime", test_runtime);
	g_test_add_func ("/devnet/snp/agent-parse", test_agent_parse);
	g_test_add_func ("/devnet/snp/agent-answers", test_agent_answers);
	return g_test_run ();
}
