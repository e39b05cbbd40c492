/*
 * Aleph's owner-authenticated secret injection, the part without secp256k1: the secrets and
 * the agent's limits, the canonical JSON (against the synthetic Aleph vectors and Python's
 * json.dumps on hostile strings), the signed text, the request body and its strict parser.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <json-glib/json-glib.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include "ac-codec.h"
#include "ac-error.h"
#include "ac-snp-inject.h"
#include "test-snp-common.h"

static JsonObject *vectors;

static void
test_vectors (void)
{
	JsonArray *cases = json_object_get_array_member (vectors, "owner_auth");

	g_assert_cmpuint (json_array_get_length (cases), ==, 3);
	for (guint i = 0; i < json_array_get_length (cases); i++) {
		JsonObject *c = json_array_get_object_element (cases, i);
		g_autofree gchar *secrets_json
		    = json_to_string (json_object_get_member (c, "secrets"), FALSE);
		g_autoptr (GError) error = NULL;
		g_autoptr (AcSnpSecrets) secrets = NULL;
		g_autoptr (GBytes) canonical = NULL;
		g_autoptr (GByteArray) pk = ac_codec_hex_decode (
		    "pk", json_object_get_string_member (c, "server_public_key_raw_hex"),
		    AC_CODEC_HEX_DEFAULT, &error);
		const gchar *want = json_object_get_string_member (c, "canonical_secrets_json");
		gchar payload[AC_SNP_INJECT_PAYLOAD_LEN + 1];

		g_test_message ("case %s", json_object_get_string_member (c, "label"));
		g_assert_no_error (error);
		secrets = ac_snp_secrets_parse_json (secrets_json, strlen (secrets_json), &error);
		g_assert_no_error (error);
		canonical = ac_snp_secrets_to_canonical (secrets);
		g_assert_cmpmem (g_bytes_get_data (canonical, NULL), g_bytes_get_size (canonical),
		                 want, strlen (want));
		g_assert_true (ac_snp_inject_payload (pk->data, pk->len, secrets, payload, &error));
		g_assert_no_error (error);
		g_assert_cmpstr (payload, ==, json_object_get_string_member (c, "payload"));
		g_assert_cmpuint (strlen (payload), ==, AC_SNP_INJECT_PAYLOAD_LEN);

		/* the body with the vector's signature; the vector's own body (secrets in the
		 * client's order) parses back to the same secrets and signature */
		{
			const gchar *sig_hex = json_object_get_string_member (c, "signature");
			const gchar *envelope = json_object_get_string_member (c, "envelope");
			guint8 sig[AC_SNP_INJECT_SIGNATURE_LEN];
			guint8 sig2[AC_SNP_INJECT_SIGNATURE_LEN];
			g_autoptr (GBytes) body = NULL;
			g_autoptr (AcSnpSecrets) back = NULL;
			g_autoptr (GBytes) back_canonical = NULL;
			g_autofree gchar *expect_body = NULL;

			g_assert_true (ac_codec_hex_decode_fixed (
			    "sig", sig_hex, AC_CODEC_HEX_ALLOW_0X, sig, sizeof sig, &error));
			body = ac_snp_inject_body (secrets, sig, &error);
			if (ac_snp_secrets_get_size (secrets) == 0) {
				/* the agent answers 400 "no secrets provided": never sent */
				g_assert_null (body);
				g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
				g_clear_error (&error);
				g_assert_false (ac_snp_inject_body_parse (
				    envelope, strlen (envelope), &back, sig2, &error));
				g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
				continue;
			}
			g_assert_no_error (error);
			expect_body = g_strdup_printf ("{\"secrets\":%s,\"signature\":\"%s\"}",
			                               want, sig_hex);
			g_assert_cmpmem (g_bytes_get_data (body, NULL), g_bytes_get_size (body),
			                 expect_body, strlen (expect_body));
			g_assert_true (ac_snp_inject_body_parse (envelope, strlen (envelope), &back,
			                                         sig2, &error));
			g_assert_no_error (error);
			g_assert_cmpmem (sig2, sizeof sig2, sig, sizeof sig);
			back_canonical = ac_snp_secrets_to_canonical (back);
			g_assert_true (g_bytes_equal (back_canonical, canonical));
		}
	}
}

static void
test_payload_binds (void)
{
	g_autoptr (AcSnpSecrets) a = ac_snp_secrets_new ();
	g_autoptr (AcSnpSecrets) b = ac_snp_secrets_new ();
	g_autoptr (GError) error = NULL;
	guint8 pk[97] = { 4 };
	gchar p1[AC_SNP_INJECT_PAYLOAD_LEN + 1], p2[AC_SNP_INJECT_PAYLOAD_LEN + 1];

	g_assert_true (ac_snp_secrets_add (a, AC_SNP_INJECT_LUKS_KEY, "pass", 4, &error));
	g_assert_true (ac_snp_secrets_add (b, AC_SNP_INJECT_LUKS_KEY, "pasS", 4, &error));
	g_assert_no_error (error);
	g_assert_true (ac_snp_inject_payload (pk, sizeof pk, a, p1, &error));
	g_assert_true (ac_snp_inject_payload (pk, sizeof pk, b, p2, &error));
	g_assert_cmpstr (p1, !=, p2); /* another secret */
	pk[96] = 1;
	g_assert_true (ac_snp_inject_payload (pk, sizeof pk, a, p2, &error));
	g_assert_cmpstr (p1, !=, p2); /* another agent key */
	g_assert_true (g_str_has_prefix (p1, AC_SNP_INJECT_DOMAIN "|"));
	g_assert_false (ac_snp_inject_payload (pk, 0, a, p2, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
}

/* the canonical JSON is what Python's json.dumps (sort_keys, compact, ensure_ascii=False)
 * writes, which the Aleph agent's serde_json rendering equals */
static void
test_canonical_python (void)
{
	static const gchar *const values[] = {
		"plain",
		"quote \" backslash \\ slash /",
		"\b\f\n\r\t \x01\x1f\x7f end",
		"caf\xc3\xa9 \xe2\x80\xa8 \xf0\x9f\x94\x91",
		"\\u0041 looks like an escape",
		"",
	};
	g_autoptr (AcSnpSecrets) s = ac_snp_secrets_new ();
	g_autoptr (GBytes) canonical = NULL;
	g_autoptr (GError) error = NULL;
	g_autoptr (GString) input = g_string_new (NULL);
	g_autofree gchar *out = NULL;
	g_autofree gchar *tmp = NULL;
	gint status = 0;
	const gchar *script = "import json,sys\n"
	                      "d={}\n"
	                      "for l in open(sys.argv[1]):\n"
	                      "  k,_,v=l.rstrip('\\n').partition(' ')\n"
	                      "  d[k]=bytes.fromhex(v).decode('utf-8')\n"
	                      "sys.stdout.buffer.write(json.dumps(d,sort_keys=True,"
	                      "separators=(',',':'),ensure_ascii=False).encode('utf-8'))\n";
	gchar *argv[] = { (gchar *)"python3", (gchar *)"-c", (gchar *)script, NULL, NULL };
	gint fd;

	/* to Python as lines "key hex(value)" (json-glib writes some control bytes raw) */
	for (guint i = 0; i < G_N_ELEMENTS (values); i++) {
		/* keys in an order that is not the sorted one */
		g_autofree gchar *key = g_strdup_printf ("%c-key_%u", "zZa9-_"[i], i);
		g_assert_true (ac_snp_secrets_add (s, key, values[i], strlen (values[i]), &error));
		g_assert_no_error (error);
		g_autofree gchar *hex
		    = ac_codec_hex_encode ((const guint8 *)values[i], strlen (values[i]));
		g_string_append_printf (input, "%s %s\n", key, hex);
	}
	fd = g_file_open_tmp ("snp-inject-XXXXXX.json", &tmp, &error);
	g_assert_no_error (error);
	close (fd);
	g_assert_true (g_file_set_contents (tmp, input->str, -1, &error));
	argv[3] = tmp;
	g_assert_true (g_spawn_sync (NULL, argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &out, NULL,
	                             &status, &error));
	g_assert_no_error (error);
	g_unlink (tmp);
	g_assert_true (g_spawn_check_wait_status (status, &error));
	canonical = ac_snp_secrets_to_canonical (s);
	g_assert_cmpmem (g_bytes_get_data (canonical, NULL), g_bytes_get_size (canonical), out,
	                 strlen (out));
	/* and it parses back to the same secrets */
	{
		g_autoptr (AcSnpSecrets) back = ac_snp_secrets_parse_json (
		    g_bytes_get_data (canonical, NULL), g_bytes_get_size (canonical), &error);
		g_autoptr (GBytes) again = NULL;
		g_assert_no_error (error);
		again = ac_snp_secrets_to_canonical (back);
		g_assert_true (g_bytes_equal (again, canonical));
	}
}

static void
expect_add_fails (AcSnpSecrets *s,
                  const gchar *key,
                  const gchar *value,
                  gsize len,
                  const gchar *part)
{
	g_autoptr (GError) error = NULL;
	g_assert_false (ac_snp_secrets_add (s, key, value, len, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
	if (strstr (error->message, part) == NULL)
		g_error ("expected \"%s\" in: %s", part, error->message);
	/* the value never shows in a message */
	if (len > 3)
		g_assert_null (strstr (error->message, value));
}

static void
test_secrets_limits (void)
{
	g_autoptr (AcSnpSecrets) s = ac_snp_secrets_new ();
	g_autofree gchar *big = g_malloc0 (AC_SNP_INJECT_VALUE_MAX + 2);
	g_autofree gchar *long_key = g_strnfill (AC_SNP_INJECT_KEY_MAX + 1, 'k');
	g_autoptr (GError) error = NULL;
	gsize len = 0;

	memset (big, 'x', AC_SNP_INJECT_VALUE_MAX + 1);
	expect_add_fails (s, "", "v", 1, "0 characters");
	expect_add_fails (s, long_key, "v", 1, "65 characters");
	expect_add_fails (s, "a/b", "hunter2hunt", 11, "character 2");
	expect_add_fails (s, "..", "hunter2hunt", 11, "character 1");
	expect_add_fails (s, "k", big, AC_SNP_INJECT_VALUE_MAX + 1, "65537 bytes");
	expect_add_fails (s, "k", "hun\0ter2hunt2", 12, "without NUL");
	expect_add_fails (s, "k", "hun\xffter2hunt2", 12, "UTF-8");
	g_assert_true (ac_snp_secrets_add (s, "k", big, AC_SNP_INJECT_VALUE_MAX, &error));
	g_assert_no_error (error);
	expect_add_fails (s, "k", "hunter2hunt", 11, "twice");
	long_key[AC_SNP_INJECT_KEY_MAX] = '\0';
	for (guint i = 1; i < AC_SNP_INJECT_MAX_SECRETS; i++) {
		g_autofree gchar *k = g_strdup_printf ("k%u", i);
		g_assert_true (ac_snp_secrets_add (s, k, "v", 1, &error));
	}
	expect_add_fails (s, long_key, "hunter2hunt", 11, "more than 16");
	g_assert_cmpuint (ac_snp_secrets_get_size (s), ==, AC_SNP_INJECT_MAX_SECRETS);
	g_assert_cmpstr (ac_snp_secrets_lookup (s, "k3", &len), ==, "v");
	g_assert_cmpuint (len, ==, 1);
	g_assert_null (ac_snp_secrets_lookup (s, "nope", NULL));
}

static void
parse_fails (const gchar *body, const gchar *part)
{
	g_autoptr (GError) error = NULL;
	g_autoptr (AcSnpSecrets) s = NULL;
	guint8 sig[AC_SNP_INJECT_SIGNATURE_LEN];
	g_assert_false (ac_snp_inject_body_parse (body, strlen (body), &s, sig, &error));
	g_assert_null (s);
	g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
	if (strstr (error->message, part) == NULL)
		g_error ("%s: expected \"%s\" in: %s", body, part, error->message);
}

#define SIG27                                                                                      \
	"0x"                                                                                       \
	"f68f4ff5d93ec570ec544070bd6f30ef6836d9c4aea43c33c97a526255a7a70f"                         \
	"64df67a5e398cf144141fc84f2020e80d58a1ded89535b4990364759c976c27f1b"
#define SIG00                                                                                      \
	"0x"                                                                                       \
	"f68f4ff5d93ec570ec544070bd6f30ef6836d9c4aea43c33c97a526255a7a70f"                         \
	"64df67a5e398cf144141fc84f2020e80d58a1ded89535b4990364759c976c27f00"

static void
test_body_parse (void)
{
	g_autoptr (GError) error = NULL;
	g_autoptr (AcSnpSecrets) s = NULL;
	g_autoptr (GString) many = g_string_new ("{\"secrets\":{");
	guint8 sig[AC_SNP_INJECT_SIGNATURE_LEN];
	const gchar *ok = "{\"signature\":\"" SIG00 "\",\"secrets\":{\"b\":\"2\",\"a\":\"1\"}}";

	/* member order is free, v 0 is the agent's too */
	g_assert_true (ac_snp_inject_body_parse (ok, strlen (ok), &s, sig, &error));
	g_assert_no_error (error);
	g_assert_cmpuint (ac_snp_secrets_get_size (s), ==, 2);
	g_assert_cmpuint (sig[64], ==, 0);

	parse_fails ("", "empty");
	parse_fails ("[]", "expected {\"secrets\"");
	parse_fails ("{\"luks_passphrase\":\"x\"}",
	             "luks_passphrase"); /* the flat V-PROGRAM form */
	parse_fails ("{\"secrets\":{\"a\":\"1\"}}", "signature");
	parse_fails ("{\"secrets\":{\"a\":\"1\"},\"signature\":\"" SIG27 "\",\"x\":1}", "'x'");
	parse_fails ("{\"secrets\":{},\"signature\":\"" SIG27 "\"}", "0 secrets");
	parse_fails ("{\"secrets\":[\"a\"],\"signature\":\"" SIG27 "\"}", "expected an object");
	parse_fails ("{\"secrets\":{\"a\":1},\"signature\":\"" SIG27 "\"}", "expected a string");
	parse_fails ("{\"secrets\":{\"a\":null},\"signature\":\"" SIG27 "\"}", "expected a string");
	parse_fails ("{\"secrets\":{\"a b\":\"1\"},\"signature\":\"" SIG27 "\"}", "secret name");
	parse_fails ("{\"secrets\":{\"a\":\"x\\u0000y\"},\"signature\":\"" SIG27 "\"}", "\\u0000");
	parse_fails ("{\"secrets\":{\"a\":\"1\"},\"signature\":\"" SIG27 "00\"}", "signature");
	parse_fails ("{\"secrets\":{\"a\":\"1\"},\"signature\":\"f68f\"}", "signature");
	parse_fails ("{\"secrets\":{\"a\":\"1\"},\"signature\":\"0x"
	             "f68f4ff5d93ec570ec544070bd6f30ef6836d9c4aea43c33c97a526255a7a70f"
	             "64df67a5e398cf144141fc84f2020e80d58a1ded89535b4990364759c976c27f1d\"}",
	             "v=29");
	parse_fails ("{\"secrets\":{\"a\":\"1\"},\"signature\":\"" SIG27 "\"} {}", "trailing");
	for (guint i = 0; i <= AC_SNP_INJECT_MAX_SECRETS; i++)
		g_string_append_printf (many, "%s\"k%u\":\"v\"", i ? "," : "", i);
	g_string_append (many, "},\"signature\":\"" SIG27 "\"}");
	parse_fails (many->str, "more than 16");
	/* a literal backslash-u in a value is text, not a NUL */
	{
		const gchar *lit
		    = "{\"secrets\":{\"a\":\"\\\\u0000\"},\"signature\":\"" SIG27 "\"}";
		g_autoptr (AcSnpSecrets) t = NULL;
		g_assert_true (ac_snp_inject_body_parse (lit, strlen (lit), &t, sig, &error));
		g_assert_no_error (error);
		g_assert_cmpstr (ac_snp_secrets_lookup (t, "a", NULL), ==, "\\u0000");
	}
	/* the body builder refuses a v the agent would not take from us */
	{
		guint8 bad[AC_SNP_INJECT_SIGNATURE_LEN] = { 0 };
		g_assert_null (ac_snp_inject_body (s, bad, &error));
		g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
	}
}

int
main (int argc, char **argv)
{
	g_autoptr (JsonParser) parser = json_parser_new ();

	g_test_init (&argc, &argv, NULL);
	vectors = snp_test_json (parser, "aleph-synthetic", "aleph_vectors.json");

	g_test_add_func ("/snp/inject/vectors", test_vectors);
	g_test_add_func ("/snp/inject/payload-binds", test_payload_binds);
	g_test_add_func ("/snp/inject/canonical-python", test_canonical_python);
	g_test_add_func ("/snp/inject/secrets-limits", test_secrets_limits);
	g_test_add_func ("/snp/inject/body-parse", test_body_parse);
	return g_test_run ();
}
