/*
 * aleph-confidential: the one hex, base64 and base64url codec. Decoders are strict: no white
 * space, no character outside the alphabet, padding only where the encoding has it; errors
 * name the input (@what) and what was expected.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

#include "ac-error.h"

G_BEGIN_DECLS

typedef enum {
	AC_CODEC_HEX_DEFAULT = 0,         /* 0-9, a-f and A-F */
	AC_CODEC_HEX_ALLOW_0X = 1 << 0,   /* an optional leading "0x" or "0X" */
	AC_CODEC_HEX_REQUIRE_0X = 1 << 1, /* a leading "0x" or "0X" is required */
	AC_CODEC_HEX_LOWER = 1 << 2,      /* digits a-f only: uppercase is refused */
} AcCodecHexFlags;

gchar *
ac_codec_hex_encode (const guint8 *data, gsize len);
gboolean
ac_codec_hex_is_valid (const gchar *text, gsize ndigits, AcCodecHexFlags flags);
GByteArray *
ac_codec_hex_decode (const gchar *what, const gchar *text, AcCodecHexFlags flags, GError **error);
gboolean
ac_codec_hex_decode_fixed (const gchar *what,
                           const gchar *text,
                           AcCodecHexFlags flags,
                           guint8 *out,
                           gsize len,
                           GError **error);

gchar *
ac_codec_base64_encode (const guint8 *data, gsize len);
gchar *
ac_codec_base64url_encode (const guint8 *data, gsize len);
guint8 *
ac_codec_base64_decode (const gchar *what,
                        const gchar *text,
                        gsize min_len,
                        gsize max_len,
                        AcError code,
                        gsize *out_len,
                        GError **error);
guint8 *
ac_codec_base64url_decode (const gchar *what,
                           const gchar *text,
                           gsize min_len,
                           gsize max_len,
                           AcError code,
                           gsize *out_len,
                           GError **error);

G_END_DECLS
