/*
 * Small generic helpers of the local SEV flow: hex, base64, SHA-256, the time.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "ac-localsev-private.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ac-error.h"

/* ------------------------------------------------------------------------------------------ */
/* small helpers                                                                              */

gchar *
ac_localsev_util_now (void)
{
	g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
	return g_date_time_format (now, "%Y-%m-%dT%H:%M:%SZ");
}

gchar *
ac_localsev_util_hex (const guint8 *p, gsize len)
{
	static const gchar digits[] = "0123456789abcdef";
	gchar *s = g_malloc (2 * len + 1);
	for (gsize i = 0; i < len; i++) {
		s[2 * i] = digits[p[i] >> 4];
		s[2 * i + 1] = digits[p[i] & 0xf];
	}
	s[2 * len] = '\0';
	return s;
}

gboolean
ac_localsev_util_is_hex (const gchar *s, gsize len)
{
	if (s == NULL || strlen (s) != len)
		return FALSE;
	for (gsize i = 0; i < len; i++) {
		if (!g_ascii_isxdigit (s[i]) || g_ascii_isupper (s[i]))
			return FALSE;
	}
	return TRUE;
}

/*
 * Strict base64 (RFC 4648 alphabet, padding only at the end, no whitespace): g_base64_decode
 * skips invalid characters, which would let a host smuggle anything through. The decoded
 * length must be within [@min_len, @max_len]; the text length is checked before decoding.
 */
guint8 *
ac_localsev_util_b64_decode (const gchar *text,
                             const gchar *what,
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
		g_set_error (error, AC_ERROR, code,
		             "%s is not base64 of %" G_GSIZE_FORMAT " to %" G_GSIZE_FORMAT
		             " bytes (%" G_GSIZE_FORMAT " characters)",
		             what, min_len, max_len, n);
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
	if (len < min_len || len > max_len) {
		g_autofree gchar *want
		    = min_len == max_len
		          ? g_strdup_printf ("%" G_GSIZE_FORMAT, min_len)
		          : g_strdup_printf ("%" G_GSIZE_FORMAT " to %" G_GSIZE_FORMAT, min_len,
		                             max_len);
		g_set_error (error, AC_ERROR, code, "%s has %" G_GSIZE_FORMAT " bytes, expected %s",
		             what, len, want);
		OPENSSL_cleanse (out, len);
		g_free (out);
		return NULL;
	}
	*out_len = len;
	return out;
}

gchar *
ac_localsev_util_sha256 (const guint8 *data, gsize len)
{
	return g_compute_checksum_for_data (G_CHECKSUM_SHA256, data, len);
}
