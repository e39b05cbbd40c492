/*
 * aleph-confidential: hex, base64 and base64url, strict (see ac-codec.h).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "ac-codec.h"
#include "ac-secret.h"

/**
 * ac_codec_hex_encode:
 *
 * Lowercase hex of @data, two digits a byte.
 */
gchar *
ac_codec_hex_encode (const guint8 *data, gsize len)
{
	static const gchar digits[] = "0123456789abcdef";
	gchar *out = g_malloc (len * 2 + 1);

	for (gsize i = 0; i < len; i++) {
		out[2 * i] = digits[data[i] >> 4];
		out[2 * i + 1] = digits[data[i] & 0xf];
	}
	out[len * 2] = '\0';
	return out;
}

static gint
ac_codec_hex_value (gchar c, AcCodecHexFlags flags)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F' && (flags & AC_CODEC_HEX_LOWER) == 0)
		return c - 'A' + 10;
	return -1;
}

static const gchar *
ac_codec_hex_skip_0x (const gchar *text, AcCodecHexFlags flags, gboolean *ok)
{
	gboolean has = text[0] == '0' && (text[1] == 'x' || text[1] == 'X');

	*ok = has || (flags & AC_CODEC_HEX_REQUIRE_0X) == 0;
	if (has && (flags & (AC_CODEC_HEX_ALLOW_0X | AC_CODEC_HEX_REQUIRE_0X)) != 0)
		return text + 2;
	return text;
}

/**
 * ac_codec_hex_is_valid:
 * @ndigits: how many digits (after any 0x) are expected
 *
 * Whether @text is exactly @ndigits hex digits, with the case and prefix rules of @flags.
 */
gboolean
ac_codec_hex_is_valid (const gchar *text, gsize ndigits, AcCodecHexFlags flags)
{
	gboolean ok;

	if (text == NULL)
		return FALSE;
	text = ac_codec_hex_skip_0x (text, flags, &ok);
	if (!ok || strlen (text) != ndigits)
		return FALSE;
	for (gsize i = 0; i < ndigits; i++) {
		if (ac_codec_hex_value (text[i], flags) < 0)
			return FALSE;
	}
	return TRUE;
}

/**
 * ac_codec_hex_decode:
 *
 * Decodes an even number of hex digits; errors name @what.
 */
GByteArray *
ac_codec_hex_decode (const gchar *what, const gchar *text, AcCodecHexFlags flags, GError **error)
{
	g_autoptr (GByteArray) buf = NULL;
	gboolean ok;
	gsize len;

	if (text == NULL) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT, "%s: missing hex string",
		             what);
		return NULL;
	}
	text = ac_codec_hex_skip_0x (text, flags, &ok);
	if (!ok) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "%s: expected hex digits after 0x", what);
		return NULL;
	}
	len = strlen (text);
	if (len % 2 != 0) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "%s: hex string has an odd length (%" G_GSIZE_FORMAT " digits)", what,
		             len);
		return NULL;
	}
	buf = g_byte_array_sized_new ((guint)(len / 2));
	for (gsize i = 0; i < len; i += 2) {
		gint hi = ac_codec_hex_value (text[i], flags);
		gint lo = ac_codec_hex_value (text[i + 1], flags);
		guint8 b;
		if (hi < 0 || lo < 0) {
			g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			             "%s: invalid hex digit at offset %" G_GSIZE_FORMAT
			             ", expected 0-9a-f",
			             what, i + (hi < 0 ? 0 : 1));
			return NULL;
		}
		b = (guint8)((hi << 4) | lo);
		g_byte_array_append (buf, &b, 1);
	}
	return g_steal_pointer (&buf);
}

/**
 * ac_codec_hex_decode_fixed:
 *
 * Decodes exactly @len bytes of hex into @out.
 */
gboolean
ac_codec_hex_decode_fixed (const gchar *what,
                           const gchar *text,
                           AcCodecHexFlags flags,
                           guint8 *out,
                           gsize len,
                           GError **error)
{
	g_autoptr (GByteArray) buf = ac_codec_hex_decode (what, text, flags, error);

	if (buf == NULL)
		return FALSE;
	if (buf->len != len) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "%s: %u bytes of hex, expected %" G_GSIZE_FORMAT, what, buf->len, len);
		ac_secret_wipe (buf->data, buf->len);
		return FALSE;
	}
	memcpy (out, buf->data, len);
	ac_secret_wipe (buf->data, buf->len);
	return TRUE;
}

gchar *
ac_codec_base64_encode (const guint8 *data, gsize len)
{
	return g_base64_encode (data, len);
}

/**
 * ac_codec_base64url_encode:
 *
 * RFC 4648 section 5 without padding (as JWK and JWS write it).
 */
gchar *
ac_codec_base64url_encode (const guint8 *data, gsize len)
{
	gchar *b64 = g_base64_encode (data, len);
	gsize n = strlen (b64);

	while (n > 0 && b64[n - 1] == '=')
		b64[--n] = '\0';
	for (gsize i = 0; i < n; i++) {
		if (b64[i] == '+')
			b64[i] = '-';
		else if (b64[i] == '/')
			b64[i] = '_';
	}
	return b64;
}

static guint8 *
ac_codec_base64_check_length (const gchar *what,
                              guint8 *out,
                              gsize len,
                              gsize min_len,
                              gsize max_len,
                              AcError code,
                              gsize *out_len,
                              GError **error)
{
	if (len < min_len || len > max_len) {
		g_autofree gchar *want
		    = min_len == max_len
		          ? g_strdup_printf ("%" G_GSIZE_FORMAT, min_len)
		          : g_strdup_printf ("%" G_GSIZE_FORMAT " to %" G_GSIZE_FORMAT, min_len,
		                             max_len);
		g_set_error (error, AC_ERROR, code, "%s has %" G_GSIZE_FORMAT " bytes, expected %s",
		             what, len, want);
		ac_secret_wipe (out, len);
		g_free (out);
		return NULL;
	}
	*out_len = len;
	return out;
}

static gboolean
ac_codec_base64_bad_length (const gchar *what,
                            gsize n,
                            gsize min_len,
                            gsize max_len,
                            AcError code,
                            GError **error)
{
	g_set_error (error, AC_ERROR, code,
	             "%s is not base64 of %" G_GSIZE_FORMAT " to %" G_GSIZE_FORMAT
	             " bytes (%" G_GSIZE_FORMAT " characters)",
	             what, min_len, max_len, n);
	return FALSE;
}

/**
 * ac_codec_base64_decode:
 * @min_len: the fewest decoded bytes accepted
 * @max_len: the most decoded bytes accepted (the text length is checked before decoding)
 * @code: the AC_ERROR code of a refusal (the input's owner: INVALID_INPUT, REMOTE…)
 *
 * Strict base64 (RFC 4648 alphabet, padding to a multiple of 4 and only at the end, no white
 * space): g_base64_decode skips invalid characters, which would let anything through. The
 * result is wiped before it is freed on a length error.
 */
guint8 *
ac_codec_base64_decode (const gchar *what,
                        const gchar *text,
                        gsize min_len,
                        gsize max_len,
                        AcError code,
                        gsize *out_len,
                        GError **error)
{
	gsize n, pad = 0, len = 0;
	guint8 *out;

	if (text == NULL || text[0] == '\0') {
		g_set_error (error, AC_ERROR, code, "%s is missing", what);
		return NULL;
	}
	n = strnlen (text, 4 * (max_len / 3 + 1) + 1);
	if (n > 4 * (max_len / 3 + 1) || n % 4 != 0) {
		ac_codec_base64_bad_length (what, n, min_len, max_len, code, error);
		return NULL;
	}
	for (gsize i = 0; i < n; i++) {
		gchar c = text[i];
		if (c == '=') {
			if (i < n - 2) {
				g_set_error (error, AC_ERROR, code,
				             "%s is not base64: '=' at offset %" G_GSIZE_FORMAT,
				             what, i);
				return NULL;
			}
			pad++;
			continue;
		}
		if (pad > 0 || !(g_ascii_isalnum (c) || c == '+' || c == '/')) {
			g_set_error (
			    error, AC_ERROR, code,
			    "%s is not base64: unexpected character at offset %" G_GSIZE_FORMAT,
			    what, i);
			return NULL;
		}
	}
	out = g_base64_decode (text, &len);
	return ac_codec_base64_check_length (what, out, len, min_len, max_len, code, out_len,
	                                     error);
}

/**
 * ac_codec_base64url_decode:
 *
 * Strict base64url (RFC 4648 section 5: '-' and '_', no padding, no white space), with the length
 * rules of ac_codec_base64_decode().
 */
guint8 *
ac_codec_base64url_decode (const gchar *what,
                           const gchar *text,
                           gsize min_len,
                           gsize max_len,
                           AcError code,
                           gsize *out_len,
                           GError **error)
{
	g_autofree gchar *std = NULL;
	gsize n, len = 0;
	guint8 *out;

	if (text == NULL || text[0] == '\0') {
		g_set_error (error, AC_ERROR, code, "%s is missing", what);
		return NULL;
	}
	n = strnlen (text, 4 * (max_len / 3 + 1) + 1);
	if (n > 4 * (max_len / 3 + 1) || n % 4 == 1) {
		ac_codec_base64_bad_length (what, n, min_len, max_len, code, error);
		return NULL;
	}
	std = g_malloc (n + 4);
	for (gsize i = 0; i < n; i++) {
		gchar c = text[i];
		if (!(g_ascii_isalnum (c) || c == '-' || c == '_')) {
			g_set_error (
			    error, AC_ERROR, code,
			    "%s is not base64url: unexpected character at offset %" G_GSIZE_FORMAT,
			    what, i);
			return NULL;
		}
		std[i] = c == '-' ? '+' : c == '_' ? '/' : c;
	}
	while (n % 4 != 0)
		std[n++] = '=';
	std[n] = '\0';
	out = g_base64_decode (std, &len);
	ac_secret_wipe (std, n);
	return ac_codec_base64_check_length (what, out, len, min_len, max_len, code, out_len,
	                                     error);
}
