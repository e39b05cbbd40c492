/*
 * Keccak-256, EIP-55, EIP-191 and the key file, against published vectors.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <glib/gstdio.h>

#include "ac-aleph-util.h"
#include "ac-codec.h"
#include "ac-error.h"
#include "ac-eth-account.h"
#include "ac-keccak.h"

static gchar *
keccak_hex (const gchar *s, gsize len)
{
	guint8 out[32];
	ac_keccak256 ((const guint8 *)s, len, out);
	return ac_codec_hex_encode (out, 32);
}

static void
test_keccak_vectors (void)
{
	struct {
		const gchar *in;
		const gchar *out;
	} v[] = {
		/* Keccak team / Ethereum yellow paper values */
		{ "", "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470" },
		{ "abc", "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45" },
		{ "The quick brown fox jumps over the lazy dog",
		  "4d741b6f1eb29cb2a9b9911c82f56fa8d73b04959d3d9d222895df6c0b28aa15" },
		{ "The quick brown fox jumps over the lazy dog.",
		  "578951e24efd62a3d63a86f7cd19aaa53c898fe287d2552133220370240b572d" },
		/* Solidity: keccak256("transfer(address,uint256)") selector a9059cbb */
		{ "transfer(address,uint256)",
		  "a9059cbb2ab09eb219583f4a59a5d0623ade346d962bcd4e46b11da047c9049b" },
	};
	for (guint i = 0; i < G_N_ELEMENTS (v); i++) {
		g_autofree gchar *h = keccak_hex (v[i].in, strlen (v[i].in));
		g_assert_cmpstr (h, ==, v[i].out);
	}
}

static void
test_keccak_incremental (void)
{
	/* every split point across the 136-byte rate gives the one-shot digest */
	guint8 data[600];
	guint8 one[32];
	for (guint i = 0; i < sizeof (data); i++)
		data[i] = (guint8)(i * 7 + 3);
	for (gsize len = 0; len <= sizeof (data); len += 17) {
		ac_keccak256 (data, len, one);
		for (gsize split = 0; split <= len; split += 5) {
			AcKeccak256 ctx;
			guint8 two[32];
			ac_keccak256_init (&ctx);
			ac_keccak256_update (&ctx, data, split);
			ac_keccak256_update (&ctx, data + split, len - split);
			ac_keccak256_final (&ctx, two);
			g_assert_cmpmem (one, 32, two, 32);
		}
	}
}

static void
test_eip55 (void)
{
	/* the EIP-55 specification's examples */
	const gchar *v[] = {
		"0x52908400098527886E0F7030069857D2E4169EE7",
		"0x8617E340B3D01FA5F11F306F4090FD50E238070D",
		"0xde709f2102306220921060314715629080e2fb77",
		"0x27b1fdb04752bbc536007a920d24acb045561c26",
		"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
		"0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
		"0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
		"0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
	};
	for (guint i = 0; i < G_N_ELEMENTS (v); i++) {
		guint8 addr[20];
		g_autoptr(GError) error = NULL;
		g_autofree gchar *cs = NULL;
		g_assert_true (ac_eth_address_parse (v[i], addr, &error));
		g_assert_no_error (error);
		cs = ac_eth_address_checksum (addr);
		g_assert_true (g_ascii_strcasecmp (cs, v[i]) == 0);
		if (i >= 4)
			g_assert_cmpstr (cs, ==, v[i]);
	}
	/* one flipped case breaks a mixed-case checksum */
	{
		guint8 addr[20];
		g_autoptr(GError) error = NULL;
		g_assert_false (ac_eth_address_parse ("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD",
						      addr, &error));
		g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
		g_assert_nonnull (strstr (error->message, "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"));
	}
}

static AcEthAccount *
account_from_hex (const gchar *hex)
{
	guint8 key[32];
	g_autoptr(GError) error = NULL;
	AcEthAccount *account;
	g_assert_true (ac_codec_hex_decode_fixed ("key", hex, AC_CODEC_HEX_ALLOW_0X, key, 32, &error));
	account = ac_eth_account_new_from_private_key (key, 32, &error);
	g_assert_no_error (error);
	return account;
}

static void
test_addresses (void)
{
	struct {
		const gchar *key;
		const gchar *address;
	} v[] = {
		{ "0x0000000000000000000000000000000000000000000000000000000000000001",
		  "0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf" },
		{ "0x0000000000000000000000000000000000000000000000000000000000000002",
		  "0x2B5AD5c4795c026514f8317c7a215E218DcCD6cF" },
		/* docs/protocols.md#the-worked-instance-message */
		{ "0x0101010101010101010101010101010101010101010101010101010101010101",
		  "0x1a642f0E3c3aF545E7AcBD38b07251B3990914F1" },
	};
	for (guint i = 0; i < G_N_ELEMENTS (v); i++) {
		g_autoptr(AcEthAccount) a = account_from_hex (v[i].key);
		g_assert_cmpstr (ac_eth_account_get_address (a), ==, v[i].address);
	}
	/* zero and n are not keys */
	{
		guint8 zero[32] = { 0 };
		g_autoptr(GError) error = NULL;
		g_autoptr(AcEthAccount) a = ac_eth_account_new_from_private_key (zero, 32, &error);
		g_assert_null (a);
		g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
	}
}

static void
test_eth_account_doc_example (void)
{
	/* eth-account documentation: sign_message(encode_defunct(text="I♥SF")) */
	g_autoptr(AcEthAccount) a = account_from_hex (
	    "0xb25c7db31feed9122727bf0939dc769a96564b2de4c4726d035b36ecf1e5b364");
	g_autoptr(GError) error = NULL;
	const gchar *msg = "I\xe2\x99\xa5SF";
	g_autofree gchar *sig = ac_eth_account_sign_personal_hex (a, (const guint8 *)msg,
								  strlen (msg), &error);
	g_autofree gchar *rec = NULL;
	g_assert_no_error (error);
	g_assert_cmpstr (sig, ==,
			 "0xe6ca9bba58c88611fad66a6ce8f996908195593807c4b38bd528d2cff09d4eb33e5bfbbf"
			 "4d3e39b1a2fd816a7680c19ebebaf3a141b239934ad43cb33fcec8ce1c");
	g_assert_true (ac_eth_recover_personal ((const guint8 *)msg, strlen (msg), sig, &rec, &error));
	g_assert_cmpstr (rec, ==, ac_eth_account_get_address (a));
}

static void
test_recover_network_message (void)
{
	/* docs/protocols.md#a-real-network-message: (aleph-sdk-python tests/unit/messages.json) */
	const gchar *buf = "ETH\n0x51A58800b26AA1451aaA803d1746687cB88E0501\nAGGREGATE\n"
			   "a17588da875f17a0775d7d80a87a2e1719edef401671d4a65936746c00a6a234";
	const gchar *sig = "0x7a808edfecf2abac1606612ab7f9d52ff31eea7e2bc549824187eae9107a9c1a"
			   "46ece07ec1cb28411d08394304c651b578658d2de4af30ca1a0526441dc543c11b";
	g_autofree gchar *rec = NULL;
	g_autofree gchar *rec2 = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *tampered = g_strdup (buf);

	g_assert_true (ac_eth_recover_personal ((const guint8 *)buf, strlen (buf), sig, &rec, &error));
	g_assert_no_error (error);
	g_assert_cmpstr (rec, ==, "0x51A58800b26AA1451aaA803d1746687cB88E0501");
	/* any change of the buffer gives another signer */
	tampered[strlen (tampered) - 1] = '5';
	g_assert_true (ac_eth_recover_personal ((const guint8 *)tampered, strlen (tampered), sig,
						&rec2, &error));
	g_assert_cmpstr (rec2, !=, rec);
	/* (r, n - s) with v flipped recovers the same signer: a malleable high-s signature,
	 * refused (EIP-2) */
	{
		const gchar *high_s =
		    "0x7a808edfecf2abac1606612ab7f9d52ff31eea7e2bc549824187eae9107a9c1a"
		    "b9131f813e34d7bee2f7c6bcfb39ae4942494fb8ca996f71a5cd3848b270fd801c";
		g_autofree gchar *rec3 = NULL;
		g_assert_false (ac_eth_recover_personal ((const guint8 *)buf, strlen (buf), high_s,
							 &rec3, &error));
		g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
		g_assert_nonnull (strstr (error->message, "high-s"));
		g_assert_null (rec3);
	}
}

static void
test_recover_errors (void)
{
	const gchar *msg = "x";
	g_autofree gchar *rec = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *bad_v = g_strconcat ("0x", "11", NULL);

	g_assert_false (ac_eth_recover_personal ((const guint8 *)msg, 1, "0x1234", &rec, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
	g_clear_error (&error);
	/* v = 0x21 */
	{
		GString *s = g_string_new ("0x");
		for (guint i = 0; i < 64; i++)
			g_string_append (s, "01");
		g_string_append (s, "21");
		g_assert_false (ac_eth_recover_personal ((const guint8 *)msg, 1, s->str, &rec, &error));
		g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
		g_string_free (s, TRUE);
	}
}

static void
test_key_file (void)
{
	g_autofree gchar *dir = g_dir_make_tmp ("ac-aleph-key-XXXXXX", NULL);
	g_autofree gchar *path = g_build_filename (dir, "sub", "ethereum.key", NULL);
	g_autoptr(GError) error = NULL;
	g_autoptr(AcEthAccount) a = ac_eth_account_generate (&error);
	g_autoptr(AcEthAccount) b = NULL;
	g_autoptr(AcEthAccount) c = NULL;
	g_autofree gchar *contents = NULL;
	gsize len = 0;
	struct stat st;

	g_assert_no_error (error);
	g_assert_true (ac_eth_account_save_key_file (a, path, &error));
	g_assert_no_error (error);
	g_assert_cmpint (g_stat (path, &st), ==, 0);
	g_assert_cmpint (st.st_mode & 0777, ==, 0600);
	g_assert_true (g_file_get_contents (path, &contents, &len, NULL));
	g_assert_cmpuint (len, ==, 32);
	b = ac_eth_account_load_key_file (path, &error);
	g_assert_no_error (error);
	g_assert_cmpstr (ac_eth_account_get_address (a), ==, ac_eth_account_get_address (b));

	/* never overwrites */
	g_assert_false (ac_eth_account_save_key_file (b, path, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_EXISTS);
	g_clear_error (&error);

	/* group-readable: refused, with the fix */
	g_assert_cmpint (g_chmod (path, 0640), ==, 0);
	c = ac_eth_account_load_key_file (path, &error);
	g_assert_null (c);
	g_assert_error (error, AC_ERROR, AC_ERROR_PERMISSION);
	g_assert_nonnull (strstr (error->message, "chmod 600"));
	g_clear_error (&error);
	g_assert_cmpint (g_chmod (path, 0600), ==, 0);

	/* wrong length */
	g_assert_true (g_file_set_contents (path, "0123456789abcdef0123456789abcdef\n", -1, NULL));
	g_assert_cmpint (g_chmod (path, 0600), ==, 0);
	c = ac_eth_account_load_key_file (path, &error);
	g_assert_null (c);
	g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
	g_clear_error (&error);

	/* missing: the way to make one */
	c = ac_eth_account_load_key_file ("/nonexistent/ethereum.key", &error);
	g_assert_null (c);
	g_assert_error (error, AC_ERROR, AC_ERROR_NOT_FOUND);
	g_assert_nonnull (strstr (error->message, "/nonexistent/ethereum.key"));
	g_assert_nonnull (strstr (error->message, "virt-aleph account create"));
	g_clear_error (&error);

	/* a FIFO in its place: refused at once, never waited on */
	g_unlink (path);
	g_assert_cmpint (mkfifo (path, 0600), ==, 0);
	c = ac_eth_account_load_key_file (path, &error);
	g_assert_null (c);
	g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
	g_assert_nonnull (strstr (error->message, "not a regular file"));
	g_clear_error (&error);

	g_unlink (path);
	{
		g_autofree gchar *sub = g_path_get_dirname (path);
		g_rmdir (sub);
	}
	g_rmdir (dir);
}

/* a write that fails (over the file size limit): the key file's name and the cause, and no
 * partial key left behind */
static void
test_key_file_write_fails (void)
{
	g_autofree gchar *dir = NULL;
	g_autofree gchar *path = NULL;
	g_autofree gchar *want = NULL;

	if (g_test_subprocess ()) {
		g_autoptr (GError) error = NULL;
		g_autoptr (AcEthAccount) a = ac_eth_account_generate (&error);
		struct rlimit none = { 0, 0 };
		g_assert_no_error (error);
		signal (SIGXFSZ, SIG_IGN);
		g_assert_cmpint (setrlimit (RLIMIT_FSIZE, &none), ==, 0);
		g_assert_false (
		    ac_eth_account_save_key_file (a, g_getenv ("AC_TEST_KEY_PATH"), &error));
		g_assert_error (error, AC_ERROR, AC_ERROR_IO);
		g_print ("%s\n", error->message);
		g_assert_false (g_file_test (g_getenv ("AC_TEST_KEY_PATH"), G_FILE_TEST_EXISTS));
		return;
	}
	dir = g_dir_make_tmp ("ac-aleph-key-XXXXXX", NULL);
	path = g_build_filename (dir, "ethereum.key", NULL);
	want = g_strdup_printf ("cannot write key file %s: File too large\n", path);
	g_setenv ("AC_TEST_KEY_PATH", path, TRUE);
	g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
	g_unsetenv ("AC_TEST_KEY_PATH");
	g_test_trap_assert_passed ();
	g_test_trap_assert_stdout (want);
	g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
	g_rmdir (dir);
}

static void
test_base58 (void)
{
	/* multihash of sha256("") as CIDv0 and the Bitcoin base58 test vectors */
	struct {
		const gchar *hex;
		const gchar *b58;
	} v[] = {
		{ "", "" },
		{ "61", "2g" },
		{ "626262", "a3gV" },
		{ "636363", "aPEr" },
		{ "00000000000000000000", "1111111111" },
		{ "00eb15231dfceb60925886b67d065299925915aeb172c06647", "1NS17iag9jJgTHD1VXjvLCEnZuQ3rJDE9L" },
		{ "516b6fcd0f", "ABnLTmg" },
		{ "572e4794", "3EFU7m" },
		{ "10c8511e", "Rt5zm" },
	};
	for (guint i = 0; i < G_N_ELEMENTS (v); i++) {
		g_autoptr(GByteArray) bin = NULL;
		g_autoptr(GByteArray) back = NULL;
		g_autofree gchar *enc = NULL;
		g_autofree gchar *hex2 = NULL;
		bin = ac_codec_hex_decode ("v", v[i].hex, AC_CODEC_HEX_DEFAULT, NULL);
		g_assert_nonnull (bin);
		enc = ac_base58btc_encode (bin->data, bin->len);
		g_assert_cmpstr (enc, ==, v[i].b58);
		back = ac_base58btc_decode (v[i].b58, NULL);
		g_assert_nonnull (back);
		hex2 = ac_codec_hex_encode (back->data, back->len);
		g_assert_cmpstr (hex2, ==, v[i].hex);
	}
	g_assert_null (ac_base58btc_decode ("0OIl", NULL));
}

static void
test_python_float (void)
{
	struct {
		gdouble v;
		const gchar *s;
	} v[] = {
		{ 1700000000.0, "1700000000.0" }, { 1700000000.5, "1700000000.5" },
		{ 1693923684.147, "1693923684.147" }, { 0.1, "0.1" }, { 1e16, "1e+16" },
		{ 1e-5, "1e-05" }, { 0.0001, "0.0001" }, { 123456789012345678.0, "1.2345678901234568e+17" },
		{ -2.5, "-2.5" }, { 9223372036.0, "9223372036.0" }, { 1.5e300, "1.5e+300" },
	};
	for (guint i = 0; i < G_N_ELEMENTS (v); i++) {
		g_autoptr(GString) s = g_string_new (NULL);
		ac_json_append_python_double (s, v[i].v);
		g_assert_cmpstr (s->str, ==, v[i].s);
	}
	{
		g_autoptr(GString) s = g_string_new (NULL);
		ac_json_append_python_string (s, "a\"\\\n\x01/\xc3\xa9\xf0\x9f\x98\x80\x7f");
		g_assert_cmpstr (s->str, ==, "\"a\\\"\\\\\\n\\u0001/\\u00e9\\ud83d\\ude00\\u007f\"");
	}
}

int
main (int argc, char **argv)
{
	g_test_init (&argc, &argv, NULL);
	g_test_add_func ("/aleph/keccak/vectors", test_keccak_vectors);
	g_test_add_func ("/aleph/keccak/incremental", test_keccak_incremental);
	g_test_add_func ("/aleph/eth/eip55", test_eip55);
	g_test_add_func ("/aleph/eth/addresses", test_addresses);
	g_test_add_func ("/aleph/eth/eth-account-doc-example", test_eth_account_doc_example);
	g_test_add_func ("/aleph/eth/recover-network-message", test_recover_network_message);
	g_test_add_func ("/aleph/eth/recover-errors", test_recover_errors);
	g_test_add_func ("/aleph/eth/key-file", test_key_file);
	g_test_add_func ("/aleph/eth/key-file-write-fails", test_key_file_write_fails);
	g_test_add_func ("/aleph/util/base58", test_base58);
	g_test_add_func ("/aleph/util/python-float", test_python_float);
	return g_test_run ();
}
