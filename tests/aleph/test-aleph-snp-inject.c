/*
 * The owner's EIP-191 signature of an SEV-SNP secret injection and the agent's check, against
 * the synthetic Aleph vectors (cross-checked with ethers), and every refusal of the check.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <json-glib/json-glib.h>
#include <string.h>

#include "ac-aleph-snp-inject.h"
#include "ac-codec.h"
#include "ac-error.h"
#include "ac-snp-firmware.h"
#include "ac-snp-owner.h"
#include "../sev/test-snp-common.h"

static JsonObject *vectors;

static AcEthAccount *
owner (void)
{
	g_autoptr (GError) error = NULL;
	guint8 key[32];
	AcEthAccount *a;
	g_assert_true (ac_codec_hex_decode_fixed (
	    "key", json_object_get_string_member (vectors, "owner_private_key"),
	    AC_CODEC_HEX_DEFAULT, key, sizeof key, &error));
	a = ac_eth_account_new_from_private_key (key, sizeof key, &error);
	g_assert_no_error (error);
	g_assert_true (
	    ac_eth_address_equal (ac_eth_account_get_address (a),
	                          json_object_get_string_member (vectors, "owner_address")));
	return a;
}

static void
test_vectors (void)
{
	g_autoptr (AcEthAccount) account = owner ();
	JsonArray *cases = json_object_get_array_member (vectors, "owner_auth");

	for (guint i = 0; i < json_array_get_length (cases); i++) {
		JsonObject *c = json_array_get_object_element (cases, i);
		g_autofree gchar *secrets_json
		    = json_to_string (json_object_get_member (c, "secrets"), FALSE);
		g_autoptr (GError) error = NULL;
		g_autoptr (AcSnpSecrets) secrets = NULL;
		g_autoptr (GByteArray) pk = ac_codec_hex_decode (
		    "pk", json_object_get_string_member (c, "server_public_key_raw_hex"),
		    AC_CODEC_HEX_DEFAULT, &error);
		g_autoptr (GByteArray) want_digest = ac_codec_hex_decode (
		    "digest", json_object_get_string_member (c, "eip191_digest"),
		    AC_CODEC_HEX_DEFAULT, &error);
		const gchar *want_sig = json_object_get_string_member (c, "signature");
		const gchar *envelope = json_object_get_string_member (c, "envelope");
		const gchar *addr = json_object_get_string_member (c, "recovered_address");
		gchar payload[AC_SNP_INJECT_PAYLOAD_LEN + 1];
		guint8 sig[AC_SNP_INJECT_SIGNATURE_LEN];
		guint8 digest[32];
		g_autofree gchar *sig_hex = NULL;

		g_test_message ("case %s", json_object_get_string_member (c, "label"));
		secrets = ac_snp_secrets_parse_json (secrets_json, strlen (secrets_json), &error);
		g_assert_no_error (error);
		g_assert_true (ac_snp_inject_payload (pk->data, pk->len, secrets, payload, &error));
		ac_eth_personal_digest ((const guint8 *)payload, strlen (payload), digest);
		g_assert_cmpmem (digest, 32, want_digest->data, want_digest->len);
		/* RFC 6979: the very signature ethers and aleph-rs make */
		g_assert_true (
		    ac_aleph_snp_inject_sign (payload, strlen (payload), sig, account, &error));
		g_assert_no_error (error);
		sig_hex = ac_codec_hex_encode (sig, sizeof sig);
		g_assert_cmpstr (want_sig + 2, ==, sig_hex);

		if (ac_snp_secrets_get_size (secrets) == 0) {
			g_autoptr (GBytes) body = ac_aleph_snp_inject_body (
			    account, pk->data, pk->len, secrets, &error);
			g_assert_null (body);
			g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
			continue;
		}
		/* the agent's check accepts the vector's body (the client's member order) and ours
		 */
		{
			g_autoptr (AcSnpSecrets) got = NULL;
			g_autoptr (AcSnpSecrets) got2 = NULL;
			g_autoptr (GBytes) body = ac_aleph_snp_inject_body (
			    account, pk->data, pk->len, secrets, &error);
			g_autoptr (GBytes) a = NULL;
			g_autoptr (GBytes) b = NULL;
			g_assert_no_error (error);
			g_assert_true (ac_aleph_snp_inject_check (
			    envelope, strlen (envelope), pk->data, pk->len, addr, &got, &error));
			g_assert_no_error (error);
			g_assert_true (ac_aleph_snp_inject_check (g_bytes_get_data (body, NULL),
			                                          g_bytes_get_size (body), pk->data,
			                                          pk->len, addr, &got2, &error));
			g_assert_no_error (error);
			a = ac_snp_secrets_to_canonical (got);
			b = ac_snp_secrets_to_canonical (got2);
			g_assert_true (g_bytes_equal (a, b));
			g_assert_cmpstr (
			    g_bytes_get_data (a, NULL), ==,
			    json_object_get_string_member (c, "canonical_secrets_json"));
		}
	}
}

static void
check_refused (const gchar *body, const guint8 *pk, gsize pk_len, const gchar *addr, gint code)
{
	g_autoptr (GError) error = NULL;
	g_autoptr (AcSnpSecrets) got = NULL;
	g_assert_false (
	    ac_aleph_snp_inject_check (body, strlen (body), pk, pk_len, addr, &got, &error));
	g_assert_null (got);
	g_assert_error (error, AC_ERROR, code);
	/* the secrets never show in a message */
	g_assert_null (strstr (error->message, "battery"));
}

static void
test_check_refuses (void)
{
	JsonObject *c = json_array_get_object_element (
	    json_object_get_array_member (vectors, "owner_auth"), 1);
	const gchar *envelope = json_object_get_string_member (c, "envelope");
	const gchar *addr = json_object_get_string_member (c, "recovered_address");
	g_autoptr (GError) error = NULL;
	g_autoptr (GByteArray) pk = ac_codec_hex_decode (
	    "pk", json_object_get_string_member (c, "server_public_key_raw_hex"),
	    AC_CODEC_HEX_DEFAULT, &error);
	g_autoptr (AcEthAccount) other = ac_eth_account_generate (&error);
	g_autofree gchar *upper = g_ascii_strup (addr, -1);
	g_autoptr (AcSnpSecrets) ok = NULL;

	/* the owner's address compares case-insensitively, as the agent does */
	upper[1] = 'x';
	g_assert_true (ac_aleph_snp_inject_check (envelope, strlen (envelope), pk->data, pk->len,
	                                          upper, &ok, &error));
	g_assert_no_error (error);

	/* another owner */
	check_refused (envelope, pk->data, pk->len, ac_eth_account_get_address (other),
	               AC_ERROR_REFUSED);
	/* another agent (another boot, a relay): the key in the text differs */
	pk->data[50] ^= 1;
	check_refused (envelope, pk->data, pk->len, addr, AC_ERROR_REFUSED);
	pk->data[50] ^= 1;
	/* another secret value */
	{
		g_autofree gchar *t = g_strdup (envelope);
		gchar *p = strstr (t, "staple");
		p[0] = 'S';
		check_refused (t, pk->data, pk->len, addr, AC_ERROR_REFUSED);
	}
	/* one secret more */
	{
		g_autoptr (GString) t = g_string_new (envelope);
		g_string_replace (t, "{\"luks", "{\"x\":\"1\",\"luks", 1);
		check_refused (t->str, pk->data, pk->len, addr, AC_ERROR_REFUSED);
	}
	/* the high-s twin of the signature (same r, n - s, v flipped) */
	{
		g_autoptr (GString) t = g_string_new (envelope);
		const gchar *sig = json_object_get_string_member (c, "signature");
		/* n - s (secp256k1 order n) */
		const gchar *s = "585c6be29849845a766ce66359b315ff3091de5660de2e83ecb5abe470440c18";
		const gchar *twin_s
		    = "a7a3941d67b67ba58993199ca64ce9ff8a1cfe904e6a71b7d31cb2a85ff23529";
		g_autofree gchar *twin = NULL;
		g_assert_nonnull (strstr (sig, s));
		twin = g_strdup_printf ("0x%.64s%s1c", sig + 2, twin_s);
		g_string_replace (t, sig, twin, 1);
		check_refused (t->str, pk->data, pk->len, addr, AC_ERROR_REFUSED);
	}
	/* a malformed body is the agent's 400, not 403 */
	check_refused ("{\"luks_passphrase\":\"battery\"}", pk->data, pk->len, addr,
	               AC_ERROR_INVALID_INPUT);
}

/* a body made for a fresh account and a fresh agent key passes the agent's check for that key
 * only */
static void
test_roundtrip (void)
{
	g_autoptr (GError) error = NULL;
	g_autoptr (AcEthAccount) account = ac_eth_account_generate (&error);
	g_autoptr (AcSnpSecrets) secrets = ac_snp_secrets_new ();
	g_autoptr (AcSnpSecrets) got = NULL;
	g_autoptr (GBytes) body = NULL;
	guint8 pk[97];
	gsize len = 0;

	g_assert_no_error (error);
	pk[0] = 4;
	for (guint i = 1; i < sizeof pk; i++)
		pk[i] = (guint8)g_random_int ();
	g_assert_true (ac_snp_secrets_add (secrets, AC_SNP_INJECT_LUKS_KEY, "p\"a\\s\ns é",
	                                   strlen ("p\"a\\s\ns é"), &error));
	body = ac_aleph_snp_inject_body (account, pk, sizeof pk, secrets, &error);
	g_assert_no_error (error);
	g_assert_true (ac_aleph_snp_inject_check (
	    g_bytes_get_data (body, NULL), g_bytes_get_size (body), pk, sizeof pk,
	    ac_eth_account_get_address (account), &got, &error));
	g_assert_no_error (error);
	g_assert_cmpstr (ac_snp_secrets_lookup (got, AC_SNP_INJECT_LUKS_KEY, &len), ==,
	                 "p\"a\\s\ns é");
	pk[1] ^= 0x80;
	g_clear_pointer (&got, ac_snp_secrets_free);
	g_assert_false (ac_aleph_snp_inject_check (
	    g_bytes_get_data (body, NULL), g_bytes_get_size (body), pk, sizeof pk,
	    ac_eth_account_get_address (account), &got, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_REFUSED);
	g_assert_null (ac_aleph_snp_inject_body (NULL, pk, sizeof pk, secrets, NULL));
}

/* the owner's SEV-SNP launch sealing with the account's signer, against a software guest: the
 * agent's check accepts the body for its own key and the owner's address, and only those */
static void
test_owner_launch (void)
{
	g_autoptr (GError) error = NULL;
	g_autoptr (AcEthAccount) account = owner ();
	g_autoptr (AcSnpFirmware) fw = NULL;
	g_autoptr (AcSnpRoots) roots = NULL;
	g_auto (SnpTestGuest) guest = { 0 };
	g_auto (SnpTestBoot) agent = { 0 };
	g_autoptr (GBytes) fresh = NULL;
	g_autoptr (AcSnpOwnerLaunch) l = NULL;
	g_autoptr (AcTeeSealedSecret) sealed = NULL;
	g_autoptr (AcSnpSecrets) got = NULL;
	g_autoptr (GBytes) secrets = g_bytes_new_static ("{\"luks_passphrase\":\"battery\"}", 29);
	g_autofree gchar *cmdline
	    = g_strdup_printf ("console=ttyS0 luks=1 owner=%s",
	                       json_object_get_string_member (vectors, "owner_address"));
	guint8 rd[AC_SNP_REPORT_DATA_SIZE];
	AcSnpTcb tcb;

	snp_test_tcb_floor (AC_SNP_PRODUCT_GENOA, &tcb);
	tcb.snp++;
	fw = snp_test_firmware_new (AC_SNP_PRODUCT_GENOA, &tcb, &roots);
	snp_test_guest_init (&guest, cmdline, 2, "EPYC-v4");
	/* the agent */
	snp_test_boot (&agent, fw, &guest.inputs, AC_SNP_POLICY_DEFAULT);
	/* the owner */
	l = snp_test_owner_launch (fw, roots, guest.measurement, ac_aleph_snp_inject_sign, account);
	g_assert_true (ac_snp_owner_launch_verify_platform (
	    l, g_bytes_get_data (agent.cert, NULL), g_bytes_get_size (agent.cert), NULL, &error));
	g_assert_no_error (error);
	g_assert_true (ac_snp_ratls_fresh_binding (agent.pk_raw, sizeof agent.pk_raw,
	                                           ac_snp_owner_launch_get_nonce (l),
	                                           AC_SNP_RATLS_NONCE_SIZE, rd, &error));
	fresh = ac_snp_guest_get_report (agent.guest, rd, 1, &error);
	g_assert_true (ac_snp_owner_launch_bind (l, agent.pk_raw, sizeof agent.pk_raw,
	                                         g_bytes_get_data (fresh, NULL),
	                                         g_bytes_get_size (fresh), &error));
	g_assert_true (ac_snp_owner_launch_verify (l, NULL, &error));
	g_assert_no_error (error);
	g_assert_true (ac_snp_owner_launch_seal (l, secrets, &sealed, &error));
	g_assert_no_error (error);
	/* the agent's check */
	g_assert_true (ac_aleph_snp_inject_check (
	    g_bytes_get_data (sealed->payload, NULL), g_bytes_get_size (sealed->payload),
	    agent.pk_raw, sizeof agent.pk_raw, ac_eth_account_get_address (account), &got, &error));
	g_assert_no_error (error);
	g_assert_cmpstr (ac_snp_secrets_lookup (got, AC_SNP_INJECT_LUKS_KEY, NULL), ==, "battery");
	g_clear_pointer (&got, ac_snp_secrets_free);
	/* another boot of the guest (another key) refuses it: the agent answers 403 */
	agent.pk_raw[20] ^= 1;
	g_assert_false (ac_aleph_snp_inject_check (
	    g_bytes_get_data (sealed->payload, NULL), g_bytes_get_size (sealed->payload),
	    agent.pk_raw, sizeof agent.pk_raw, ac_eth_account_get_address (account), &got, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_REFUSED);
}

int
main (int argc, char **argv)
{
	g_autofree gchar *path = NULL;
	g_autoptr (JsonParser) parser = json_parser_new ();
	g_autoptr (GError) error = NULL;

	g_test_init (&argc, &argv, NULL);
	path = g_test_build_filename (G_TEST_DIST, "data", "snp", "aleph-synthetic",
	                              "aleph_vectors.json", NULL);
	g_assert_true (json_parser_load_from_file (parser, path, &error));
	g_assert_no_error (error);
	vectors = json_node_get_object (json_parser_get_root (parser));

	g_test_add_func ("/aleph/snp-inject/vectors", test_vectors);
	g_test_add_func ("/aleph/snp-inject/check-refuses", test_check_refuses);
	g_test_add_func ("/aleph/snp-inject/roundtrip", test_roundtrip);
	g_test_add_func ("/aleph/snp-inject/owner-launch", test_owner_launch);
	return g_test_run ();
}
