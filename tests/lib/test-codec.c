/*
 * The one hex/base64/base64url codec (ac-codec): round trips and malformed inputs.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "ac-codec.h"
#include "ac-error.h"

static void
test_hex_encode (void)
{
	const guint8 data[] = { 0x00, 0x01, 0xab, 0xff };
	g_autofree gchar *hex = ac_codec_hex_encode (data, sizeof (data));
	g_autofree gchar *empty = ac_codec_hex_encode (data, 0);

	g_assert_cmpstr (hex, ==, "0001abff");
	g_assert_cmpstr (empty, ==, "");
}

static void
test_hex_decode (void)
{
	g_autoptr (GError) error = NULL;
	g_autoptr (GByteArray) a
	    = ac_codec_hex_decode ("key", "00aBfF", AC_CODEC_HEX_DEFAULT, &error);
	g_autoptr (GByteArray) b = NULL;
	guint8 fixed[2];

	g_assert_no_error (error);
	g_assert_cmpuint (a->len, ==, 3);
	g_assert_cmpuint (a->data[1], ==, 0xab);
	g_assert_cmpuint (a->data[2], ==, 0xff);

	b = ac_codec_hex_decode ("key", "0x0102", AC_CODEC_HEX_ALLOW_0X, &error);
	g_assert_no_error (error);
	g_assert_cmpuint (b->len, ==, 2);

	g_assert_true (
	    ac_codec_hex_decode_fixed ("id", "0X0a0b", AC_CODEC_HEX_ALLOW_0X, fixed, 2, &error));
	g_assert_no_error (error);
	g_assert_cmpuint (fixed[0], ==, 0x0a);
	g_assert_cmpuint (fixed[1], ==, 0x0b);
}

static void
test_hex_malformed (void)
{
	struct {
		const gchar *text;
		AcCodecHexFlags flags;
		const gchar *message;
	} bad[] = {
		{ "abc", AC_CODEC_HEX_DEFAULT, "key: hex string has an odd length (3 digits)" },
		{ "zz", AC_CODEC_HEX_DEFAULT,
		  "key: invalid hex digit at offset 0, expected 0-9a-f" },
		{ "0g", AC_CODEC_HEX_DEFAULT,
		  "key: invalid hex digit at offset 1, expected 0-9a-f" },
		{ "AB", AC_CODEC_HEX_LOWER, "key: invalid hex digit at offset 0, expected 0-9a-f" },
		{ "0x01", AC_CODEC_HEX_DEFAULT,
		  "key: invalid hex digit at offset 1, expected 0-9a-f" },
		{ "01", AC_CODEC_HEX_REQUIRE_0X, "key: expected hex digits after 0x" },
		{ " 01", AC_CODEC_HEX_DEFAULT, "key: hex string has an odd length (3 digits)" },
		{ "01 ", AC_CODEC_HEX_DEFAULT, "key: hex string has an odd length (3 digits)" },
		{ NULL, AC_CODEC_HEX_DEFAULT, "key: missing hex string" },
	};
	guint8 out[4];

	for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
		g_autoptr (GError) error = NULL;
		g_autoptr (GByteArray) a
		    = ac_codec_hex_decode ("key", bad[i].text, bad[i].flags, &error);
		g_assert_null (a);
		g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
		g_assert_cmpstr (error->message, ==, bad[i].message);
	}
	{
		g_autoptr (GError) error = NULL;
		g_assert_false (ac_codec_hex_decode_fixed ("id", "0102", 0, out, 4, &error));
		g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
		g_assert_cmpstr (error->message, ==, "id: 2 bytes of hex, expected 4");
	}
}

static void
test_hex_is_valid (void)
{
	g_assert_true (ac_codec_hex_is_valid ("00ff", 4, AC_CODEC_HEX_DEFAULT));
	g_assert_true (ac_codec_hex_is_valid ("00FF", 4, AC_CODEC_HEX_DEFAULT));
	g_assert_false (ac_codec_hex_is_valid ("00FF", 4, AC_CODEC_HEX_LOWER));
	g_assert_false (ac_codec_hex_is_valid ("00ff", 6, AC_CODEC_HEX_DEFAULT));
	g_assert_false (ac_codec_hex_is_valid ("00fg", 4, AC_CODEC_HEX_DEFAULT));
	g_assert_false (ac_codec_hex_is_valid (NULL, 0, AC_CODEC_HEX_DEFAULT));
	g_assert_true (ac_codec_hex_is_valid ("0xAb", 2, AC_CODEC_HEX_REQUIRE_0X));
	g_assert_false (ac_codec_hex_is_valid ("Ab", 2, AC_CODEC_HEX_REQUIRE_0X));
	g_assert_false (ac_codec_hex_is_valid ("0xAb", 2, AC_CODEC_HEX_DEFAULT));
}

static void
test_base64 (void)
{
	const guint8 data[] = { 0xfb, 0xff, 0xfe, 0x01, 0x02 };
	g_autofree gchar *b64 = ac_codec_base64_encode (data, sizeof (data));
	g_autofree gchar *url = ac_codec_base64url_encode (data, sizeof (data));
	g_autofree guint8 *back = NULL;
	g_autofree guint8 *back_url = NULL;
	g_autoptr (GError) error = NULL;
	gsize len = 0;

	g_assert_cmpstr (b64, ==, "+//+AQI=");
	g_assert_cmpstr (url, ==, "-__-AQI");
	back = ac_codec_base64_decode ("blob", b64, 1, 8, AC_ERROR_INVALID_INPUT, &len, &error);
	g_assert_no_error (error);
	g_assert_cmpmem (back, len, data, sizeof (data));
	back_url = ac_codec_base64url_decode ("jwk x", url, 5, 5, AC_ERROR_REMOTE, &len, &error);
	g_assert_no_error (error);
	g_assert_cmpmem (back_url, len, data, sizeof (data));
}

static void
test_base64_malformed (void)
{
	struct {
		const gchar *text;
		gboolean url;
		const gchar *message;
	} bad[] = {
		{ "", FALSE, "blob is missing" },
		{ NULL, TRUE, "blob is missing" },
		{ "AAA", FALSE, "blob is not base64 of 2 to 6 bytes (3 characters)" },
		{ "AAAAAAAAAAAAA", FALSE, "blob is not base64 of 2 to 6 bytes (13 characters)" },
		{ "AAAAAAAAAAAA", FALSE, "blob has 9 bytes, expected 2 to 6" },
		{ "AA=A", FALSE, "blob is not base64: unexpected character at offset 3" },
		{ "A=A=", FALSE, "blob is not base64: '=' at offset 1" },
		{ "AA A", FALSE, "blob is not base64: unexpected character at offset 2" },
		{ "AA\nA", FALSE, "blob is not base64: unexpected character at offset 2" },
		{ "-_AA", FALSE, "blob is not base64: unexpected character at offset 0" },
		{ "AA==", FALSE, "blob has 1 bytes, expected 2 to 6" },
		{ "A", TRUE, "blob is not base64 of 2 to 6 bytes (1 characters)" },
		{ "AA+A", TRUE, "blob is not base64url: unexpected character at offset 2" },
		{ "AAA=", TRUE, "blob is not base64url: unexpected character at offset 3" },
		{ "AA", TRUE, "blob has 1 bytes, expected 2 to 6" },
	};

	for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
		g_autoptr (GError) error = NULL;
		gsize len = 0;
		g_autofree guint8 *out
		    = bad[i].url ? ac_codec_base64url_decode ("blob", bad[i].text, 2, 6,
		                                              AC_ERROR_REMOTE, &len, &error)
		                 : ac_codec_base64_decode ("blob", bad[i].text, 2, 6,
		                                           AC_ERROR_REMOTE, &len, &error);
		g_assert_null (out);
		g_assert_error (error, AC_ERROR, AC_ERROR_REMOTE);
		g_assert_cmpstr (error->message, ==, bad[i].message);
	}
}

int
main (int argc, char **argv)
{
	g_test_init (&argc, &argv, NULL);
	g_test_add_func ("/codec/hex/encode", test_hex_encode);
	g_test_add_func ("/codec/hex/decode", test_hex_decode);
	g_test_add_func ("/codec/hex/malformed", test_hex_malformed);
	g_test_add_func ("/codec/hex/is-valid", test_hex_is_valid);
	g_test_add_func ("/codec/base64/round-trip", test_base64);
	g_test_add_func ("/codec/base64/malformed", test_base64_malformed);
	return g_test_run ();
}
