/*
 * CRN operation authentication: docs/protocols.md#crn-authentication-headers: (a) verbatim,
 * (b) negative, (c) computed.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "ac-aleph-util.h"
#include "ac-codec.h"
#include "ac-crn-auth.h"
#include "ac-error.h"
#include "ac-eth-account.h"

#define A_PUBKEY_PAYLOAD                                                                           \
	"7b227075626b6579223a207b22637276223a2022502d323536222c20226b7479223a20224543222c202278223a20" \
	"223962446f34754949686b735a5272677a31477972325050656d4334364e735f4730577144364d4d6a774673222c" \
	"202279223a20226f48343342786c7854334f3065733336685967713143372d61325a535a71456d5f6b56356e636c" \
	"79667a59227d2c2022616c67223a20224543445341222c2022646f6d61696e223a20226c6f63616c686f7374222c" \
	"202261646472657373223a2022307862413236623135333539314434363230666432413734304130463165463730" \
	"644164363532336230222c202265787069726573223a2022323031302d31322d32365431373a30353a35355a227d"
#define A_PUBKEY_SIG                                                                               \
	"0xea99ef5f1a10f2d103f94dce4f8650730315246e6d15cf9e5862c11adfd6482703cd1ec684a4f3dffb36ae5c4a" \
	"57b08a47108fe55e3b2454e45f6e63342e0f471b"
#define A_OP_PAYLOAD                                                                               \
	"7b2274696d65223a2022323031302d31322d32355431373a30353a35355a222c20226d6574686f64223a20224745" \
	"54222c202270617468223a20222f222c2022646f6d61696e223a20226c6f63616c686f7374227d"
#define A_OP_SIG                                                                                   \
	"6f737654cd00e4d4155d387509978e7a9a4d27f5b59c9492ac1dec7b09f9aecc58c9365526bbddd6211b65f40f49" \
	"56c50ab26f395f7170ce1698c11e28e25d3a"

static GDateTime *
at (const gchar *iso)
{
	GDateTime *dt = g_date_time_new_from_iso8601 (iso, NULL);
	g_assert_nonnull (dt);
	return dt;
}

static void
test_vector_a (void)
{
	const gchar *pk = "{\"sender\": \"x\", \"payload\": \"" A_PUBKEY_PAYLOAD
			  "\", \"signature\": \"" A_PUBKEY_SIG "\", \"content\": {\"domain\": \"localhost\"}}";
	const gchar *op = "{\"payload\": \"" A_OP_PAYLOAD "\", \"signature\": \"" A_OP_SIG "\"}";
	g_autoptr(GDateTime) now = at ("2010-12-25T17:05:55Z");
	g_autoptr(GDateTime) later = at ("2010-12-25T17:08:56Z");
	g_autoptr(GDateTime) expired = at ("2010-12-26T17:05:56Z");
	g_autofree gchar *sender = NULL;
	g_autoptr(GError) error = NULL;
	guint status = 0;

	g_assert_true (ac_crn_auth_verify_request (pk, op, "localhost", "GET", "/", now, &sender,
						   &status, &error));
	g_assert_no_error (error);
	g_assert_cmpuint (status, ==, 200);
	g_assert_cmpstr (sender, ==, "0xbA26b153591D4620fd2A740A0F1eF70dAd6523b0");

	/* each server-side check in its order */
	g_assert_false (ac_crn_auth_verify_request (pk, op, "crn.example.org", "GET", "/", now, NULL,
						    &status, &error));
	g_assert_cmpuint (status, ==, 401);
	g_assert_cmpstr (error->message, ==,
			 "Invalid domain: Signed: 'localhost' != Request: 'crn.example.org'");
	g_clear_error (&error);
	g_assert_false (ac_crn_auth_verify_request (pk, op, "localhost", "POST", "/", now, NULL,
						    &status, &error));
	g_assert_cmpuint (status, ==, 401);
	g_assert_true (g_str_has_prefix (error->message, "Invalid method."));
	g_clear_error (&error);
	g_assert_false (ac_crn_auth_verify_request (pk, op, "localhost", "GET", "/x", now, NULL,
						    &status, &error));
	g_assert_true (g_str_has_prefix (error->message, "Invalid path."));
	g_clear_error (&error);
	/* outside the ±2 min window */
	g_assert_false (ac_crn_auth_verify_request (pk, op, "localhost", "GET", "/", later, NULL,
						    &status, &error));
	g_assert_cmpuint (status, ==, 400);
	g_assert_cmpstr (error->message, ==, "Invalid X-SignedOperation fields");
	g_clear_error (&error);
	g_assert_false (ac_crn_auth_verify_request (pk, op, "localhost", "GET", "/", expired, NULL,
						    &status, &error));
	g_assert_cmpuint (status, ==, 401);
	g_assert_cmpstr (error->message, ==, "Token expired");
	g_clear_error (&error);
	g_assert_false (ac_crn_auth_verify_request (NULL, op, "localhost", "GET", "/", now, NULL,
						    &status, &error));
	g_assert_cmpstr (error->message, ==, "Missing X-SignedPubKey header");
	g_clear_error (&error);
	g_assert_false (ac_crn_auth_verify_request (pk, NULL, "localhost", "GET", "/", now, NULL,
						    &status, &error));
	g_assert_cmpstr (error->message, ==, "Missing X-SignedOperation header");
	g_clear_error (&error);
	g_assert_false (ac_crn_auth_verify_request ("nope", op, "localhost", "GET", "/", now, NULL,
						    &status, &error));
	g_assert_cmpstr (error->message, ==, "Invalid X-SignedPubKey format");
	g_clear_error (&error);
	/* a flipped bit of the ES256 signature */
	{
		g_autofree gchar *bad = g_strdup (op);
		gchar *p = strstr (bad, A_OP_SIG);
		p[10] = p[10] == '0' ? '1' : '0';
		g_assert_false (ac_crn_auth_verify_request (pk, bad, "localhost", "GET", "/", now,
							    NULL, &status, &error));
		g_assert_cmpuint (status, ==, 401);
		g_assert_cmpstr (error->message, ==, "Signature could not verified");
		g_clear_error (&error);
	}
}

static void
test_vector_b_wrong_key (void)
{
	/* aleph-vm tests/supervisor/test_authentication.py test_require_jwk_authentication_wrong_key,
	 * verbatim: the payload names 0xB25db57d… but was signed by 0x547f2851… → 401 */
	const gchar *payload_hex =
	    "7b227075626b6579223a207b22637276223a2022502d323536222c20226b7479223a20224543222c202278223a"
	    "202273765759314e5652614a683231527834576a765f67657057772d714d436f774d76304a52353057327a7545"
	    "222c202279223a2022794950424d6135474e7a49555878656c513762415a5f437776303875763448774d4c4945"
	    "6c656c43534473227d2c2022616c67223a20224543445341222c2022646f6d61696e223a20226c6f63616c686f"
	    "7374222c202261646472657373223a2022307842323564623537643234304438353132366262364234384661"
	    "633635343837323161343537343538222c202265787069726573223a2022323032332d30352d30325431303a34"
	    "343a34322e3735343939345a227d";
	const gchar *sig = "0x58e1498a6c4f88ac1982e7147ff49405ffe1b9633e048bb74cf741abb05ce0b63bb406"
			   "f3079f641ae89f597654ecd2a704d37ffbf86a28e462140033cc0eedcb1c";
	const gchar *op = "{\"payload\": \"" A_OP_PAYLOAD "\", \"signature\": \"" A_OP_SIG "\"}";
	g_autoptr(GByteArray) payload = NULL;
	g_autofree gchar *pk = NULL;
	g_autofree gchar *rec = NULL;
	g_autoptr(GDateTime) now = at ("2010-12-25T17:05:55Z");
	g_autoptr(GError) error = NULL;
	guint status = 0;

	payload = ac_codec_hex_decode ("payload", payload_hex, AC_CODEC_HEX_DEFAULT, NULL);
	g_assert_nonnull (payload);
	g_assert_nonnull (g_strstr_len ((const gchar *)payload->data, payload->len,
					"0xB25db57d240D85126bb6B48Fac6548721a457458"));
	g_assert_true (ac_eth_recover_personal (payload->data, payload->len, sig, &rec, &error));
	g_assert_no_error (error);
	g_assert_cmpstr (rec, ==, "0x547f2851B16F2004E63C8FFf1f2E7f6cf533c34a");
	pk = g_strdup_printf ("{\"payload\": \"%s\", \"signature\": \"%s\"}", payload_hex, sig);
	g_assert_false (ac_crn_auth_verify_request (pk, op, "localhost", "GET", "/", now, NULL,
						    &status, &error));
	g_assert_cmpuint (status, ==, 401);
	g_assert_cmpstr (error->message, ==, "Invalid signature");
}

static void
test_vector_c (void)
{
	guint8 wallet[32], eph[32];
	g_autoptr(AcEthAccount) account = NULL;
	g_autoptr(AcCrnAuth) auth = NULL;
	g_autoptr(GDateTime) t = at ("2030-01-01T00:00:00Z");
	g_autoptr(GError) error = NULL;
	g_autofree gchar *op = NULL;
	g_autofree gchar *sender = NULL;
	const gchar *path = "/control/machine/"
			    "95139dae69e0e9d2a7b195264f0d04fab023b4cfd7d1f2ae2bd22d7a60a66692/"
			    "confidential/measurement";
	const gchar *want_payload =
	    "{\"pubkey\": {\"crv\": \"P-256\", \"kty\": \"EC\", \"x\": "
	    "\"VQ9HEAPz35fD31Bqx5f2ch-xoft7j2-D0iRJimXIjiQ\", \"y\": "
	    "\"E2CT1wEuUJpzcVy9CwCjzA_0tcAbP_oZarH7MnA2uOY\"}, \"alg\": \"ECDSA\", \"domain\": "
	    "\"crn.example.org\", \"address\": \"0x1a642f0E3c3aF545E7AcBD38b07251B3990914F1\", "
	    "\"expires\": \"2030-01-01T00:00:00.000000Z\", \"chain\": \"ETH\"}";
	g_autofree gchar *want_hex = ac_codec_hex_encode ((const guint8 *)want_payload, strlen (want_payload));
	g_autofree gchar *want_header = g_strdup_printf (
	    "{\"sender\": \"0x1a642f0E3c3aF545E7AcBD38b07251B3990914F1\", \"payload\": \"%s\", "
	    "\"signature\": "
	    "\"0x1657eac8e68937501e7dd18f5e79240c9f182e0840170de3a310400301ac38eb10e5de2b50f38a7ec93d"
	    "c56cb7f5c71bd51babe8d0c04e3eac95d313d71392501c\", \"content\": {\"domain\": "
	    "\"crn.example.org\"}}",
	    want_hex);
	const gchar *want_op_json =
	    "{\"time\": \"2030-01-01T00:00:00.000000Z\", \"method\": \"GET\", \"path\": "
	    "\"/control/machine/95139dae69e0e9d2a7b195264f0d04fab023b4cfd7d1f2ae2bd22d7a60a66692/"
	    "confidential/measurement\", \"domain\": \"crn.example.org\"}";
	g_autofree gchar *want_op_hex = ac_codec_hex_encode ((const guint8 *)want_op_json, strlen (want_op_json));
	g_autofree gchar *want_op = g_strdup_printf (
	    "{\"payload\": \"%s\", \"signature\": "
	    "\"a4edddbc2c8018d7625c541642ddc24f48ef9cfb47e93fb792afe0046c9c7a85c02e964fe208ea5e84f3d9"
	    "575511f8518bce857a424d9eb47e9d9722bb0efda1\"}",
	    want_op_hex);
	guint status;

	memset (wallet, 0x01, 32);
	memset (eph, 0x02, 32);
	account = ac_eth_account_new_from_private_key (wallet, 32, &error);
	g_assert_no_error (error);
	auth = ac_crn_auth_new (account, "crn.example.org", t, eph, &error);
	g_assert_no_error (error);
	g_assert_cmpstr (ac_crn_auth_get_pubkey_payload (auth), ==, want_payload);
	g_assert_cmpstr (ac_crn_auth_get_pubkey_header (auth), ==, want_header);
	op = ac_crn_auth_sign_operation (auth, "GET", path, t, &error);
	g_assert_no_error (error);
	g_assert_cmpstr (op, ==, want_op);

	/* our own check accepts it a minute before expiry */
	{
		g_autoptr(GDateTime) now = g_date_time_add_seconds (t, -60);
		g_autofree gchar *op2 = ac_crn_auth_sign_operation (auth, "GET", path, now, &error);
		g_assert_true (ac_crn_auth_verify_request (ac_crn_auth_get_pubkey_header (auth), op2,
							   "crn.example.org", "GET", path, now,
							   &sender, &status, &error));
		g_assert_no_error (error);
		g_assert_cmpstr (sender, ==, "0x1a642f0E3c3aF545E7AcBD38b07251B3990914F1");
	}
}

static void
test_random_key_roundtrip (void)
{
	g_autoptr(AcEthAccount) account = ac_eth_account_generate (NULL);
	g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
	g_autoptr(GDateTime) exp = g_date_time_add_days (now, 1);
	g_autoptr(GError) error = NULL;
	g_autoptr(AcCrnAuth) a1 = ac_crn_auth_new (account, "crn.example.org", exp, NULL, &error);
	g_autoptr(AcCrnAuth) a2 = ac_crn_auth_new (account, "crn.example.org", exp, NULL, &error);
	g_autofree gchar *op = NULL;
	guint status;

	g_assert_no_error (error);
	/* two sessions never share an ephemeral key */
	g_assert_cmpstr (ac_crn_auth_get_pubkey_payload (a1), !=, ac_crn_auth_get_pubkey_payload (a2));
	op = ac_crn_auth_sign_operation (a1, "POST", "/control/machine/x/stop", now, &error);
	g_assert_no_error (error);
	g_assert_true (ac_crn_auth_verify_request (ac_crn_auth_get_pubkey_header (a1), op,
						   "crn.example.org", "POST",
						   "/control/machine/x/stop", now, NULL, &status,
						   &error));
	g_assert_no_error (error);
	/* the operation signed with key 1 does not verify under key 2 */
	g_assert_false (ac_crn_auth_verify_request (ac_crn_auth_get_pubkey_header (a2), op,
						    "crn.example.org", "POST",
						    "/control/machine/x/stop", now, NULL, &status,
						    &error));
	g_assert_cmpstr (error->message, ==, "Signature could not verified");
	g_clear_error (&error);
	g_assert_null (ac_crn_auth_sign_operation (a1, "PUT", "/", now, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
	g_clear_error (&error);
	g_assert_null (ac_crn_auth_sign_operation (a1, "GET", "/a?b=c", now, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
}

static void
test_rfc6979_p256 (void)
{
	/* RFC 6979 A.2.5, P-256 with SHA-256 */
	guint8 x[32], sig[64];
	g_autofree gchar *hex = NULL;
	g_autoptr(GError) error = NULL;
	struct {
		const gchar *msg;
		const gchar *rs;
	} v[] = {
		{ "sample", "efd48b2aacb6a8fd1140dd9cd45e81d69d2c877b56aaf991c34d0ea84eaf3716"
			    "f7cb1c942d657c41d436c7a1b6e29f65f3e900dbb9aff4064dc4ab2f843acda8" },
		{ "test", "f1abb023518351cd71d881567b1ea663ed3efcf6c5132b354f28d3b0b7d38367"
			  "019f4113742a2b14bd25926b49c649155f267e60d3814b4c0cc84250e46f0083" },
	};
	g_assert_true (ac_codec_hex_decode_fixed ("x", "c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721",
						  AC_CODEC_HEX_DEFAULT, x, 32, NULL));
	for (guint i = 0; i < G_N_ELEMENTS (v); i++) {
		g_assert_true (ac_es256_sign_deterministic (x, (const guint8 *)v[i].msg,
							    strlen (v[i].msg), sig, &error));
		g_assert_no_error (error);
		g_free (hex);
		hex = ac_codec_hex_encode (sig, 64);
		g_assert_cmpstr (hex, ==, v[i].rs);
	}
}

static void
test_domain_from_url (void)
{
	struct {
		const gchar *url;
		const gchar *domain;
	} v[] = {
		{ "https://CRN.Example.org:4443/some/path", "crn.example.org" },
		{ "crn.example.org", "crn.example.org" },
		{ "http://[::1]:8080/", "::1" },
	};
	for (guint i = 0; i < G_N_ELEMENTS (v); i++) {
		g_autoptr(GError) error = NULL;
		g_autofree gchar *d = ac_crn_domain_from_url (v[i].url, &error);
		g_assert_no_error (error);
		g_assert_cmpstr (d, ==, v[i].domain);
	}
}

int
main (int argc, char **argv)
{
	g_test_init (&argc, &argv, NULL);
	g_test_add_func ("/aleph/crn-auth/vector-a", test_vector_a);
	g_test_add_func ("/aleph/crn-auth/vector-b-wrong-key", test_vector_b_wrong_key);
	g_test_add_func ("/aleph/crn-auth/vector-c", test_vector_c);
	g_test_add_func ("/aleph/crn-auth/random-key-roundtrip", test_random_key_roundtrip);
	g_test_add_func ("/aleph/crn-auth/domain-from-url", test_domain_from_url);
	g_test_add_func ("/aleph/crn-auth/rfc6979-p256", test_rfc6979_p256);
	return g_test_run ();
}
