/*
 * A test-only helper that exposes pure functions of the Aleph client to the npm peer tests:
 *   keccak FILE                  → hex Keccak-256 of the file
 *   personal-sign KEYFILE FILE   → EIP-191 signature of the file's bytes
 *   crn-auth KEYFILE DOMAIN METHOD PATH → the two CRN headers, one per line
 *   crn-verify DOMAIN METHOD PATH < headers → the sender, or the server's status and error
 *   compact FILE                 → Python-style compact JSON of each line
 *   snp-inject KEYHEX PKHEX SECRETS.json → the SEV-SNP injection body for that agent key
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "ac-aleph-snp-inject.h"
#include "ac-aleph-util.h"
#include "ac-codec.h"
#include "ac-crn-auth.h"
#include "ac-eth-account.h"
#include "ac-keccak.h"

int
main (int argc, char **argv)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *data = NULL;
	gsize len = 0;

	if (argc == 3 && g_strcmp0 (argv[1], "keccak") == 0) {
		guint8 out[32];
		g_autofree gchar *hex = NULL;
		if (!g_file_get_contents (argv[2], &data, &len, &error))
			g_error ("%s", error->message);
		ac_keccak256 ((const guint8 *)data, len, out);
		hex = ac_codec_hex_encode (out, 32);
		printf ("%s\n", hex);
		return 0;
	}
	if (argc == 4 && g_strcmp0 (argv[1], "personal-sign") == 0) {
		g_autoptr(AcEthAccount) a = ac_eth_account_load_key_file (argv[2], &error);
		g_autofree gchar *sig = NULL;
		if (a == NULL || !g_file_get_contents (argv[3], &data, &len, &error))
			g_error ("%s", error->message);
		sig = ac_eth_account_sign_personal_hex (a, (const guint8 *)data, len, &error);
		printf ("%s %s\n", ac_eth_account_get_address (a), sig);
		return 0;
	}
	if (argc == 6 && g_strcmp0 (argv[1], "crn-auth") == 0) {
		g_autoptr(AcEthAccount) a = ac_eth_account_load_key_file (argv[2], &error);
		g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
		g_autoptr(GDateTime) exp = g_date_time_add_days (now, 1);
		g_autoptr(AcCrnAuth) auth = NULL;
		g_autofree gchar *op = NULL;
		if (a == NULL)
			g_error ("%s", error->message);
		auth = ac_crn_auth_new (a, argv[3], exp, NULL, &error);
		if (auth == NULL)
			g_error ("%s", error->message);
		op = ac_crn_auth_sign_operation (auth, argv[4], argv[5], now, &error);
		if (op == NULL)
			g_error ("%s", error->message);
		printf ("%s\n%s\n", ac_crn_auth_get_pubkey_header (auth), op);
		return 0;
	}
	if (argc == 5 && g_strcmp0 (argv[1], "crn-verify") == 0) {
		/* the server-side check (devnet) on headers read from stdin, one per line */
		gchar pk[8192], op[8192];
		g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
		g_autofree gchar *sender = NULL;
		guint status = 0;
		if (fgets (pk, sizeof (pk), stdin) == NULL || fgets (op, sizeof (op), stdin) == NULL)
			g_error ("expected two header lines on stdin");
		g_strchomp (pk);
		g_strchomp (op);
		if (!ac_crn_auth_verify_request (pk, op, argv[2], argv[3], argv[4], now, &sender,
						 &status, &error)) {
			printf ("%u %s\n", status, error->message);
			return 1;
		}
		printf ("%s\n", sender);
		return 0;
	}
	if (argc == 5 && g_strcmp0 (argv[1], "snp-inject") == 0) {
		g_autoptr(AcEthAccount) a = NULL;
		g_autoptr(AcSnpSecrets) secrets = NULL;
		g_autoptr(GByteArray) pk = NULL;
		g_autoptr(GBytes) body = NULL;
		guint8 key[AC_ETH_PRIVATE_KEY_LEN];
		if (!ac_codec_hex_decode_fixed ("key", argv[2], AC_CODEC_HEX_ALLOW_0X, key, sizeof key,
		                                &error)
		    || (a = ac_eth_account_new_from_private_key (key, sizeof key, &error)) == NULL
		    || (pk = ac_codec_hex_decode ("pk", argv[3], AC_CODEC_HEX_DEFAULT, &error)) == NULL
		    || !g_file_get_contents (argv[4], &data, &len, &error)
		    || (secrets = ac_snp_secrets_parse_json (data, len, &error)) == NULL
		    || (body = ac_aleph_snp_inject_body (a, pk->data, pk->len, secrets, &error)) == NULL)
			g_error ("%s", error->message);
		fwrite (g_bytes_get_data (body, NULL), 1, g_bytes_get_size (body), stdout);
		return 0;
	}
	if (argc == 3 && g_strcmp0 (argv[1], "compact") == 0) {
		/* one JSON document per line in, its Python-style compact form per line out */
		g_auto(GStrv) lines = NULL;
		if (!g_file_get_contents (argv[2], &data, &len, &error))
			g_error ("%s", error->message);
		lines = g_strsplit (data, "\n", -1);
		for (guint i = 0; lines[i] != NULL; i++) {
			g_autoptr(JsonNode) node = NULL;
			g_autofree gchar *out = NULL;
			if (lines[i][0] == '\0')
				continue;
			node = ac_json_parse_untrusted ("line", lines[i], strlen (lines[i]), &error);
			if (node == NULL)
				g_error ("line %u: %s", i + 1, error->message);
			out = ac_json_to_python_compact (node);
			printf ("%s\n", out);
		}
		return 0;
	}
	fprintf (stderr, "usage: aleph-helper compact FILE | keccak FILE | personal-sign KEYFILE FILE | "
			 "crn-auth KEYFILE DOMAIN METHOD PATH | snp-inject KEYHEX PKHEX SECRETS\n");
	return 2;
}
