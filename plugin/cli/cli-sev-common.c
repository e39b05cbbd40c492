/*
 * virt-aleph sev and snp: the readers and --debug output their commands share. In the front
 * (GLib and OpenSSL only): snp verify-report uses them, and the main module binds to them.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <stdio.h>
#include <unistd.h>

#include "ac-codec.h"
#include "ac-file.h"
#include "cli-sev.h"

void
cli_sev_debug_hex (AcCliGlobal *global, const gchar *what, const guint8 *p, gsize len)
{
	g_autofree gchar *h = NULL;
	if (!global->debug)
		return;
	h = ac_codec_hex_encode (p, len);
	fprintf (stderr, "debug: %s: %s\n", what, h);
}

void
cli_sev_debug_sha256 (AcCliGlobal *global, const gchar *what, GBytes *b)
{
	g_autofree gchar *h = NULL;
	if (!global->debug || b == NULL)
		return;
	h = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, b);
	fprintf (stderr, "debug: %s: %" G_GSIZE_FORMAT " bytes, sha256 %s\n", what,
	         g_bytes_get_size (b), h);
}

GBytes *
cli_sev_read_file (const gchar *path, const gchar *what, gsize max, GError **error)
{
	/* a regular file (not a FIFO, not /dev/zero), at most @max bytes, mapped */
	GBytes *b = ac_file_map_bytes (path, max, error);
	if (b == NULL)
		g_prefix_error (error, "%s: ", what);
	return b;
}

/* an unsigned integer option: decimal or 0x hex, at most @max */
gboolean
cli_sev_parse_uint (const gchar *text, const gchar *what, guint64 max, guint64 *out, GError **error)
{
	const gchar *digits = text;
	guint base = 10;
	if (text == NULL) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT, "%s is required", what);
		return FALSE;
	}
	if (g_str_has_prefix (text, "0x") || g_str_has_prefix (text, "0X")) {
		digits = text + 2;
		base = 16;
	}
	if (*digits == '\0' || !g_ascii_string_to_unsigned (digits, base, 0, max, out, NULL)) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "%s '%s' is invalid: expected a number from 0 to %" G_GUINT64_FORMAT,
		             what, text, max);
		return FALSE;
	}
	return TRUE;
}
