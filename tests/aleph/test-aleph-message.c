/*
 * Messages: content normalization fixtures (content/<case>.json → .item_content or .err), the
 * worked INSTANCE message (docs/protocols.md#the-worked-instance-message), item_hash, signing and
 * verification.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "ac-aleph-message.h"
#include "ac-aleph-tee.h"
#include "ac-aleph-util.h"
#include "ac-codec.h"
#include "ac-error.h"
#include "ac-eth-account.h"
#include "../sev/test-snp-common.h"
#include "../test-util.h"

#define CONTENT_DIR TEST_DATA_DIR "/content"

static AcEthAccount *
account_0101 (void)
{
	guint8 key[32];
	memset (key, 0x01, sizeof (key));
	return ac_eth_account_new_from_private_key (key, 32, NULL);
}

static JsonNode *
parse_file (const gchar *path)
{
	g_autofree gchar *data = test_util_read (path, NULL);
	g_autoptr (GError) error = NULL;
	JsonNode *node = ac_json_parse_untrusted (path, data, strlen (data), &error);
	g_assert_no_error (error);
	return node;
}

static const gchar *
type_of_case (const gchar *name)
{
	if (g_str_has_prefix (name, "instance"))
		return "INSTANCE";
	if (g_str_has_prefix (name, "store"))
		return "STORE";
	return "FORGET";
}

static void
test_content_fixtures (void)
{
	g_autoptr (GDir) dir = g_dir_open (CONTENT_DIR, 0, NULL);
	g_autoptr (AcEthAccount) account = account_0101 ();
	const gchar *name;
	guint ok = 0, refused = 0;

	g_assert_nonnull (dir);
	while ((name = g_dir_read_name (dir)) != NULL) {
		g_autofree gchar *base = NULL;
		g_autofree gchar *path = NULL;
		g_autofree gchar *err_path = NULL;
		g_autofree gchar *exp_path = NULL;
		g_autoptr (JsonNode) content = NULL;
		g_autoptr (AcAlephMessage) msg = NULL;
		g_autoptr (GError) error = NULL;

		if (!g_str_has_suffix (name, ".json"))
			continue;
		base = g_strndup (name, strlen (name) - 5);
		path = g_build_filename (CONTENT_DIR, name, NULL);
		err_path = g_strdup_printf ("%s/%s.err", CONTENT_DIR, base);
		exp_path = g_strdup_printf ("%s/%s.item_content", CONTENT_DIR, base);
		content = parse_file (path);
		msg = ac_aleph_message_build (type_of_case (base), content,
		                              ac_eth_account_get_address (account), NULL,
		                              1700000000.0, &error);
		if (g_file_test (err_path, G_FILE_TEST_EXISTS)) {
			g_autofree gchar *want = test_util_read (err_path, NULL);
			g_strchomp (want);
			if (msg != NULL)
				g_error ("%s: accepted, expected refusal '%s'", name, want);
			g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
			if (strstr (error->message, want) == NULL)
				g_error ("%s: error '%s' does not contain '%s'", name,
				         error->message, want);
			refused++;
		} else {
			g_autofree gchar *want = test_util_read (exp_path, NULL);
			g_assert_no_error (error);
			g_assert_cmpstr (msg->item_content, ==, want);
			ok++;
		}
	}
	g_assert_cmpuint (ok, >=, 3);
	g_assert_cmpuint (refused, >=, 10);
}

static void
test_worked_instance (void)
{
	g_autoptr (AcEthAccount) account = account_0101 ();
	g_autoptr (JsonNode) content = parse_file (CONTENT_DIR "/instance-worked.json");
	g_autoptr (GError) error = NULL;
	g_autoptr (AcAlephMessage) msg = NULL;
	g_autofree gchar *buf = NULL;
	g_autofree gchar *signer = NULL;
	g_autofree gchar *body = NULL;
	guint8 digest[32];
	g_autofree gchar *digest_hex = NULL;

	msg = ac_aleph_message_build ("INSTANCE", content, ac_eth_account_get_address (account),
	                              NULL, 1700000000.0, &error);
	g_assert_no_error (error);
	g_assert_cmpuint (strlen (msg->item_content), ==, 828);
	g_assert_cmpstr (msg->item_hash, ==,
	                 "95139dae69e0e9d2a7b195264f0d04fab023b4cfd7d1f2ae2bd22d7a60a66692");
	buf = ac_aleph_message_get_verification_buffer (msg);
	g_assert_cmpstr (buf, ==,
	                 "ETH\n0x1a642f0E3c3aF545E7AcBD38b07251B3990914F1\nINSTANCE\n"
	                 "95139dae69e0e9d2a7b195264f0d04fab023b4cfd7d1f2ae2bd22d7a60a66692");
	ac_eth_personal_digest ((const guint8 *)buf, strlen (buf), digest);
	digest_hex = ac_codec_hex_encode (digest, 32);
	g_assert_cmpstr (digest_hex, ==,
	                 "913c360701cebf880c39185e6d93ce99ec0504239bc12c8515221f13b8488b61");
	g_assert_true (ac_aleph_message_sign (msg, account, &error));
	g_assert_no_error (error);
	g_assert_cmpstr (
	    msg->signature, ==,
	    "0xad23c5a6f66b99d696ad6056d121a07d2ef8435f5221ac04887386ebcfe227c3199764ed"
	    "26d66be87967a9bc24c43dcfb070479bed72661e701b3aea59bdfb9d1c");
	g_assert_true (ac_aleph_message_verify (msg, &signer, &error));
	g_assert_cmpstr (signer, ==, "0x1a642f0E3c3aF545E7AcBD38b07251B3990914F1");

	/* the POST body of the worked INSTANCE (message time 1700000000.5) */
	msg->time = 1700000000.5;
	body = ac_aleph_message_post_body (msg, TRUE);
	g_assert_true (g_str_has_prefix (
	    body,
	    "{\"sync\":true,\"message\":{\"sender\":\"0x1a642f0E3c3aF545E7AcBD38b07251B3990914F1\","
	    "\"chain\":\"ETH\",\"signature\":\"0xad23c5a6"));
	g_assert_true (g_str_has_suffix (
	    body, "\"time\":1700000000.5,\"channel\":\"ALEPH-CLOUDSOLUTIONS\"}}"));

	/* round trip through JSON */
	{
		g_autoptr (AcAlephMessage) back
		    = ac_aleph_message_from_data (body, strlen (body), &error);
		g_autofree gchar *signer2 = NULL;
		g_assert_no_error (error);
		g_assert_cmpstr (back->item_content, ==, msg->item_content);
		g_assert_cmpfloat (back->time, ==, 1700000000.5);
		g_assert_true (ac_aleph_message_verify (back, &signer2, &error));
		g_assert_no_error (error);
	}
}

static void
test_sha256_vector (void)
{
	/* docs/protocols.md#a-real-network-message, element [0] of aleph-sdk-python
	 * tests/unit/messages.json */
	const gchar *c = "{\"type\":\"Permission\",\"address\":"
	                 "\"fishbsxxtW2iRwBgihKZEWGv4EMZ47G6ypx3P22Nhqx\","
	                 "\"content\":{\"datasetID\":"
	                 "\"55998e1e21ac4d9fbd7612194fc175407320eb2e53c4e02719850a6ccfac4f26\","
	                 "\"authorizer\":\"8zWzM8NVDrgqZMqcKhESsTumo1JTyhLjRDpBMZBCy394\","
	                 "\"status\":\"GRANTED\","
	                 "\"requestor\":\"FseBmSzpvpTTNiVyvTxSiVpyhQ5ChgViwCuvYNsfFqCS\",\"tags\":["
	                 "\"FseBmSzpvpTTNiVyvTxSiVpyhQ5ChgViwCuvYNsfFqCS\","
	                 "\"2JCJXePWQgBWZz4d7UuHFYhBwaPkuEhMrb4EEqf94qyu\"],"
	                 "\"executionCount\":0,\"maxExecutionCount\":1},\"time\":1693749978.337}";
	g_autofree gchar *h = ac_aleph_sha256_hex ((const guint8 *)c, strlen (c));
	g_autoptr (GError) error = NULL;
	g_autoptr (JsonNode) node = ac_json_parse_untrusted ("c", c, strlen (c), &error);
	g_autofree gchar *again = NULL;

	g_assert_cmpstr (h, ==, "24717e60ba577b17c1f47796a4c4e3de887cbf99ce3276157fe7015857d1ba47");
	/* our serializer reproduces Python's bytes for this content */
	g_assert_no_error (error);
	again = ac_json_to_python_compact (node);
	g_assert_cmpstr (again, ==, c);
}

static void
test_real_network_message (void)
{
	/* the real message: signature and hash of a real AGGREGATE; the content is not needed to
	 * verify the signature, so check a storage-typed copy (item_hash only) */
	g_autoptr (AcAlephMessage) msg = g_new0 (AcAlephMessage, 1);
	g_autofree gchar *signer = NULL;
	g_autoptr (GError) error = NULL;

	msg->chain = g_strdup ("ETH");
	msg->sender = g_strdup ("0x51A58800b26AA1451aaA803d1746687cB88E0501");
	msg->type = g_strdup ("AGGREGATE");
	msg->item_type = g_strdup ("storage");
	msg->item_hash
	    = g_strdup ("a17588da875f17a0775d7d80a87a2e1719edef401671d4a65936746c00a6a234");
	msg->signature
	    = g_strdup ("0x7a808edfecf2abac1606612ab7f9d52ff31eea7e2bc549824187eae9107a9c1a"
	                "46ece07ec1cb28411d08394304c651b578658d2de4af30ca1a0526441dc543c11b");
	msg->channel = g_strdup ("UNSLASHED");
	msg->time = 1693923684.147;
	g_assert_true (ac_aleph_message_verify (msg, &signer, &error));
	g_assert_no_error (error);
	g_assert_cmpstr (signer, ==, "0x51A58800b26AA1451aaA803d1746687cB88E0501");
	/* another sender with the same signature is refused */
	g_free (msg->sender);
	msg->sender = g_strdup ("0x1a642f0E3c3aF545E7AcBD38b07251B3990914F1");
	g_assert_false (ac_aleph_message_verify (msg, NULL, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_MISMATCH);
}

static void
test_verify_refusals (void)
{
	g_autoptr (AcEthAccount) account = account_0101 ();
	g_autoptr (AcEthAccount) other = ac_eth_account_generate (NULL);
	g_autoptr (JsonNode) content = parse_file (CONTENT_DIR "/forget.json");
	g_autoptr (GError) error = NULL;
	g_autoptr (AcAlephMessage) msg = ac_aleph_message_build (
	    "FORGET", content, ac_eth_account_get_address (account), "TEST", 1700000000.25, &error);
	gchar *orig;

	g_assert_no_error (error);
	/* signing with a key that is not the sender is refused */
	g_assert_false (ac_aleph_message_sign (msg, other, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
	g_clear_error (&error);
	/* unsigned */
	g_assert_false (ac_aleph_message_verify (msg, NULL, &error));
	g_clear_error (&error);
	g_assert_true (ac_aleph_message_sign (msg, account, &error));
	g_assert_true (ac_aleph_message_verify (msg, NULL, &error));
	/* content changed after signing: item_hash mismatch */
	orig = msg->item_content;
	msg->item_content = g_strdup_printf ("%s ", orig);
	g_assert_false (ac_aleph_message_verify (msg, NULL, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_MISMATCH);
	g_clear_error (&error);
	g_free (msg->item_content);
	msg->item_content = orig;
	/* channel is not signed (as in Aleph), type is */
	g_free (msg->type);
	msg->type = g_strdup ("POST");
	g_assert_false (ac_aleph_message_verify (msg, NULL, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_MISMATCH);
	g_clear_error (&error);
	/* inline content on an ipfs message */
	g_free (msg->item_type);
	msg->item_type = g_strdup ("ipfs");
	g_assert_false (ac_aleph_message_verify (msg, NULL, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
}

static void
test_parse_refusals (void)
{
	const gchar *bad[] = {
		"[]",
		"{\"chain\":\"ETH\"}",
		"{\"sender\":\"0x1\",\"chain\":\"ETH\",\"type\":\"WHAT\",\"item_hash\":\"a\","
		"\"time\":1}",
		"{\"sender\":\"0x1\",\"chain\":\"ETH\",\"type\":\"POST\",\"item_hash\":\"a\","
		"\"time\":\"1\"}",
		"{\"sender\":\"0x1\",\"chain\":\"ETH\",\"type\":\"POST\",\"item_hash\":\"a\","
		"\"time\":1,\"item_type\":\"x\"}",
		"{\"sender\":5}",
		"{\"sender\":\"a\"",
	};
	for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
		g_autoptr (GError) error = NULL;
		g_autoptr (AcAlephMessage) m
		    = ac_aleph_message_from_data (bad[i], strlen (bad[i]), &error);
		g_assert_null (m);
		g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
	}
}

/* one JSON document: json-glib alone read "{…}{…}" and kept one of the values */
static void
test_one_document (void)
{
	const gchar *ok[] = { "{}",       " {\"a\":\"}{\"}\n", "{\"a\":\"\\\"}{\"}\r\n\t ",
		              "[1,[2]] ", "\"x\\\"y\"\n",      "12",
		              "null\n" };
	const gchar *bad[] = { "{}{}",
		               "{\"a\":1}\n{\"a\":2}",
		               "{\"a\":\"}\"}{}",
		               "[1][2]",
		               "{} x",
		               "\"a\" \"b\"",
		               "1 2",
		               "true false",
		               "{}]",
		               "{\"a\":1}}" };

	for (guint i = 0; i < G_N_ELEMENTS (ok); i++) {
		g_autoptr (GError) error = NULL;
		g_autoptr (JsonNode) node
		    = ac_json_parse_untrusted ("doc", ok[i], strlen (ok[i]), &error);
		g_assert_no_error (error);
		g_assert_nonnull (node);
	}
	for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
		g_autoptr (GError) error = NULL;
		g_autoptr (JsonNode) node
		    = ac_json_parse_untrusted ("doc", bad[i], strlen (bad[i]), &error);
		g_test_message ("%s -> %s", bad[i], error != NULL ? error->message : "accepted");
		g_assert_null (node);
		g_assert_nonnull (error);
		g_assert_nonnull (strstr (error->message, "doc: "));
	}
}

/* The SNP INSTANCE the builder makes from the runtime's expected digests (vectors C6, C7:
 * EPYC-v4 and EPYC-Genoa) is the one of content/instance-snp.json, byte for byte, and it
 * passes the schema; what the schema would refuse is refused before anything is built. */
static void
test_snp_instance (void)
{
	g_autoptr (AcEthAccount) account = account_0101 ();
	g_autoptr (JsonNode) fixture = parse_file (CONTENT_DIR "/instance-snp.json");
	g_autoptr (JsonBuilder) b = json_builder_new ();
	g_autoptr (JsonNode) tee = NULL;
	g_autoptr (AcAlephMessage) msg = NULL;
	g_autoptr (GError) error = NULL;
	g_autofree gchar *want = test_util_read (CONTENT_DIR "/instance-snp.item_content", NULL);
	const gchar *runtime = "c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00";
	AcAlephSnpMeasurement m[AC_ALEPH_MAX_MEASUREMENTS + 1]
	    = { { "EPYC-v4", { 0 } }, { "EPYC-Genoa", { 0 } } };
	JsonObject *env;

	snp_test_vector_digest ("C6", m[0].launch);
	snp_test_vector_digest ("C7", m[1].launch);
	json_builder_begin_object (b);
	g_assert_true (ac_aleph_tee_add_snp (b, 0x30000, runtime, m, 2, &error));
	g_assert_no_error (error);
	json_builder_end_object (b);
	tee = json_builder_get_root (b);
	env = json_object_get_object_member (json_node_get_object (fixture), "environment");
	json_object_set_member (
	    env, "trusted_execution",
	    json_object_dup_member (json_node_get_object (tee), "trusted_execution"));
	msg = ac_aleph_message_build ("INSTANCE", fixture, ac_eth_account_get_address (account),
	                              NULL, 1700000000.0, &error);
	g_assert_no_error (error);
	g_assert_cmpstr (msg->item_content, ==, want);
	g_assert_null (strstr (msg->item_content, "firmware"));

	/* refusals: nothing is added to the builder */
	{
		struct {
			const gchar *runtime;
			guint n;
			const gchar *type1;
			const gchar *msg;
		} bad[] = {
			{ NULL, 2, "EPYC-Genoa", "runtime '(none)'" },
			{ "C0FFEE00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00", 2,
			  "EPYC-Genoa", "64 lowercase hex digits" },
			{ runtime, 0, "EPYC-Genoa", "0 measurements, expected 1 to 16" },
			{ runtime, 17, "EPYC-Genoa", "17 measurements, expected 1 to 16" },
			{ runtime, 2, "EPYC-v4",
			  "measurements[1].vcpu_type 'EPYC-v4': already given" },
			{ runtime, 2, "", "measurements[1].vcpu_type '': expected 1 to 64" },
			{ runtime, 2,
			  "EPYC-0123456789012345678901234567890123456789012345678901234567890",
			  "expected 1 to 64 characters" },
		};
		for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
			g_autoptr (JsonBuilder) b2 = json_builder_new ();
			g_autoptr (JsonNode) root = NULL;
			g_autoptr (GError) e = NULL;
			AcAlephSnpMeasurement mm[AC_ALEPH_MAX_MEASUREMENTS + 1];
			for (guint j = 0; j < G_N_ELEMENTS (mm); j++)
				mm[j] = (AcAlephSnpMeasurement){ NULL, { 0 } };
			mm[0].vcpu_type = "EPYC-v4";
			mm[1].vcpu_type = bad[i].type1;
			json_builder_begin_object (b2);
			g_assert_false (
			    ac_aleph_tee_add_snp (b2, 0x30000, bad[i].runtime, mm, bad[i].n, &e));
			g_assert_error (e, AC_ERROR, AC_ERROR_INVALID_INPUT);
			g_assert_nonnull (strstr (e->message, bad[i].msg));
			json_builder_end_object (b2);
			root = json_builder_get_root (b2);
			g_assert_cmpuint (json_object_get_size (json_node_get_object (root)), ==,
			                  0);
		}
	}
}

int
main (int argc, char **argv)
{
	g_test_init (&argc, &argv, NULL);
	g_test_add_func ("/aleph/message/content-fixtures", test_content_fixtures);
	g_test_add_func ("/aleph/message/one-document", test_one_document);
	g_test_add_func ("/aleph/message/snp-instance", test_snp_instance);
	g_test_add_func ("/aleph/message/worked-instance", test_worked_instance);
	g_test_add_func ("/aleph/message/sha256-vector", test_sha256_vector);
	g_test_add_func ("/aleph/message/real-network-message", test_real_network_message);
	g_test_add_func ("/aleph/message/verify-refusals", test_verify_refusals);
	g_test_add_func ("/aleph/message/parse-refusals", test_parse_refusals);
	return g_test_run ();
}
