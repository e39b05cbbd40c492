/*
 * aleph-confidential: sizes such as "20GiB", "20G", "4GB", "512 MiB" or "512" (see ac-size.h).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "ac-size.h"

#include "ac-error.h"

static const struct {
	const gchar *suffix;
	guint64 factor;
} ac_size_units[] = {
	{ "B", 1 },
	{ "bytes", 1 },
	{ "KiB", 1ull << 10 },
	{ "K", 1ull << 10 },
	{ "k", 1ull << 10 },
	{ "KB", 1000ull },
	{ "MiB", 1ull << 20 },
	{ "M", 1ull << 20 },
	{ "MB", 1000000ull },
	{ "GiB", 1ull << 30 },
	{ "G", 1ull << 30 },
	{ "GB", 1000000000ull },
	{ "TiB", 1ull << 40 },
	{ "T", 1ull << 40 },
	{ "TB", 1000000000000ull },
};

static gboolean
ac_size_overflow (const gchar *text, GError **error)
{
	g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT, "invalid size '%s': too large", text);
	return FALSE;
}

/**
 * ac_size_parse:
 * @text: a whole number with an optional unit, as libvirt reads them: "20GiB", "512M", "4GB",
 *   "512 MiB", "512"
 * @flags: AC_SIZE_UNIT_REQUIRED where a bare number is ambiguous (the tag: Aleph counts MiB);
 *   AC_SIZE_BARE_MIB where a bare number means MiB (virt-aleph tag's --memory and --rootfs-size,
 *   as aleph-client's)
 *
 * B and bytes; K/M/G/T (and k) and KiB… are powers of 1024, KB/MB/GB/TB powers of 1000 (as
 * `truncate -s 4GB`). Spaces may separate the number from its unit; no sign, no fraction, no
 * overflow, nothing after the unit. Errors name @text and what was expected.
 */
gboolean
ac_size_parse (const gchar *text, AcSizeFlags flags, guint64 *bytes, GError **error)
{
	const gchar *p = text != NULL ? text : "";
	guint64 value = 0;
	gsize ndigits = 0;

	while (g_ascii_isdigit (*p)) {
		guint d = (guint)(*p - '0');
		if (value > (G_MAXUINT64 - d) / 10)
			return ac_size_overflow (text, error);
		value = value * 10 + d;
		p++;
		ndigits++;
	}
	while (*p == ' ')
		p++;
	if (ndigits == 0 || ndigits > 19) {
		g_set_error (
		    error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		    "invalid size '%s': expected a whole number with a unit, such as 20GiB",
		    text != NULL ? text : "");
		return FALSE;
	}
	if (*p == '\0' && (flags & AC_SIZE_BARE_MIB) != 0) {
		if (value > G_MAXUINT64 >> 20)
			return ac_size_overflow (text, error);
		*bytes = value << 20;
		return TRUE;
	}
	if (*p == '\0' && (flags & AC_SIZE_UNIT_REQUIRED) == 0) {
		*bytes = value;
		return TRUE;
	}
	for (guint i = 0; i < G_N_ELEMENTS (ac_size_units); i++) {
		if (g_strcmp0 (p, ac_size_units[i].suffix) != 0)
			continue;
		if (value != 0 && ac_size_units[i].factor > G_MAXUINT64 / value)
			return ac_size_overflow (text, error);
		*bytes = value * ac_size_units[i].factor;
		return TRUE;
	}
	g_set_error (
	    error, AC_ERROR, AC_ERROR_INVALID_INPUT,
	    "invalid size '%s': %s; expected one of B, KiB, MiB, GiB, TiB (or K, M, G, T), "
	    "KB, MB, GB, TB, as in 20GiB",
	    text, *p == '\0' ? "a unit is required" : "unknown unit");
	return FALSE;
}

/**
 * ac_size_format:
 *
 * The largest binary unit that represents @bytes exactly: "20GiB", "1536MiB", "17B".
 */
gchar *
ac_size_format (guint64 bytes)
{
	static const gchar *units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	guint u = 0;

	while (u + 1 < G_N_ELEMENTS (units) && bytes != 0 && (bytes & 1023) == 0) {
		bytes >>= 10;
		u++;
	}
	return g_strdup_printf ("%" G_GUINT64_FORMAT "%s", bytes, units[u]);
}
