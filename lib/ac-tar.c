/*
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * ac-tar.h: named members of a gzip-compressed tar archive, into memory.
 */
#include "config.h"

#include "ac-tar.h"

#include <gio/gio.h>
#include <string.h>

#include "ac-error.h"

#define BLOCK 512

typedef struct {
	const gchar *what;
	GInputStream *in;
	guint64 read;
	guint64 max_total;
} TarReader;

static gboolean
read_exact (TarReader *r, guint8 *buf, gsize len, GError **error)
{
	gsize got = 0;
	g_autoptr (GError) local = NULL;

	if (r->read + len > r->max_total) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "%s: more than %" G_GUINT64_FORMAT " bytes once decompressed", r->what,
		             r->max_total);
		return FALSE;
	}
	if (!g_input_stream_read_all (r->in, buf, len, &got, NULL, &local)) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "%s: not a readable gzip stream: %s", r->what, local->message);
		return FALSE;
	}
	r->read += got;
	if (got != len) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "%s: the archive ends in the middle of an entry", r->what);
		return FALSE;
	}
	return TRUE;
}

/* reads @size bytes and the padding to the next block; into @out when not NULL */
static gboolean
read_data (TarReader *r, guint64 size, guint8 *out, GError **error)
{
	guint8 scratch[16 * BLOCK];
	guint64 padded = (size + BLOCK - 1) / BLOCK * BLOCK;

	if (out != NULL && !read_exact (r, out, size, error))
		return FALSE;
	for (guint64 left = out != NULL ? padded - size : padded; left > 0;) {
		gsize n = (gsize)MIN (left, sizeof (scratch));
		if (!read_exact (r, scratch, n, error))
			return FALSE;
		left -= n;
	}
	return TRUE;
}

/* an octal number field (digits, then spaces or NULs); base-256 and anything else refused */
static gboolean
parse_octal (const guint8 *field, gsize len, guint64 *out)
{
	guint64 v = 0;
	gsize i = 0;
	gboolean digits = FALSE;

	while (i < len && field[i] == ' ')
		i++;
	for (; i < len && field[i] >= '0' && field[i] <= '7'; i++) {
		if (v > (G_MAXUINT64 >> 3))
			return FALSE;
		v = (v << 3) | (guint64)(field[i] - '0');
		digits = TRUE;
	}
	for (; i < len; i++)
		if (field[i] != ' ' && field[i] != '\0')
			return FALSE;
	*out = v;
	return digits;
}

/* a NUL-terminated (or full-width) text field */
static gchar *
field_string (const guint8 *field, gsize len)
{
	gsize n = 0;
	while (n < len && field[n] != '\0')
		n++;
	return g_strndup ((const gchar *)field, n);
}

static gboolean
check_header (TarReader *r, const guint8 *h, GError **error)
{
	guint64 want;
	guint64 sum_unsigned = 0;
	gint64 sum_signed = 0;

	if (memcmp (h + 257,
	            "ustar\0"
	            "00",
	            8)
	        != 0
	    && memcmp (h + 257, "ustar  \0", 8) != 0) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "%s: not a ustar archive (an entry without the \"ustar\" magic)",
		             r->what);
		return FALSE;
	}
	for (guint i = 0; i < BLOCK; i++) {
		guint8 c = (i >= 148 && i < 156) ? ' ' : h[i];
		sum_unsigned += c;
		sum_signed += (gint8)c;
	}
	if (!parse_octal (h + 148, 8, &want)
	    || (want != sum_unsigned && (gint64)want != sum_signed)) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "%s: an entry header's checksum does not match its bytes", r->what);
		return FALSE;
	}
	return TRUE;
}

/* the records of a pax extended header: "LEN KEY=VALUE\n" each; path and size are kept */
static gboolean
parse_pax (TarReader *r, const gchar *data, gsize len, gchar **path, gint64 *size, GError **error)
{
	gsize pos = 0;

	while (pos < len) {
		gsize rec_len = 0, i = pos;
		const gchar *rec, *eq, *end;

		while (i < len && g_ascii_isdigit (data[i]) && rec_len < len) {
			rec_len = rec_len * 10 + (gsize)(data[i] - '0');
			i++;
		}
		if (i == pos || i >= len || data[i] != ' ' || rec_len > len - pos
		    || rec_len <= i - pos + 1 || data[pos + rec_len - 1] != '\n') {
			g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			             "%s: a malformed pax extended header", r->what);
			return FALSE;
		}
		rec = data + i + 1;
		end = data + pos + rec_len - 1;
		eq = memchr (rec, '=', (gsize)(end - rec));
		if (eq == NULL || eq == rec) {
			g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			             "%s: a pax record without KEY=VALUE", r->what);
			return FALSE;
		}
		if ((gsize)(eq - rec) == 4 && memcmp (rec, "path", 4) == 0) {
			g_free (*path);
			*path = g_strndup (eq + 1, (gsize)(end - eq - 1));
			if (strlen (*path) != (gsize)(end - eq - 1)) {
				g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
				             "%s: a pax path with a NUL byte", r->what);
				return FALSE;
			}
		} else if ((gsize)(eq - rec) == 4 && memcmp (rec, "size", 4) == 0) {
			g_autofree gchar *v = g_strndup (eq + 1, (gsize)(end - eq - 1));
			guint64 n;
			if (!g_ascii_string_to_unsigned (v, 10, 0, G_MAXINT64, &n, NULL)) {
				g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
				             "%s: a pax size that is not a number", r->what);
				return FALSE;
			}
			*size = (gint64)n;
		}
		pos += rec_len;
	}
	return TRUE;
}

static const gchar *
strip_dot_slash (const gchar *path)
{
	while (path[0] == '.' && path[1] == '/')
		path += 2;
	return path;
}

static gboolean
extract (TarReader *r,
         const gchar *const *names,
         guint n_names,
         guint64 max_member,
         GBytes **out,
         GError **error)
{
	guint8 h[BLOCK];
	g_autofree gchar *pending_path = NULL; /* from a pax 'x' header or a GNU 'L' name */
	gint64 pending_size = -1;

	for (guint entries = 0;; entries++) {
		g_autofree gchar *path = NULL;
		guint64 size;
		gchar type;
		guint i;

		if (!read_exact (r, h, BLOCK, error))
			return FALSE;
		if (h[0] == '\0') {
			gboolean zero = TRUE;
			for (guint j = 0; j < BLOCK && zero; j++)
				zero = h[j] == '\0';
			if (zero)
				break; /* the end-of-archive blocks */
		}
		if (entries >= AC_TAR_MAX_ENTRIES) {
			g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			             "%s: more than %u entries", r->what, AC_TAR_MAX_ENTRIES);
			return FALSE;
		}
		if (!check_header (r, h, error))
			return FALSE;
		type = (gchar)h[156];
		if (!parse_octal (h + 124, 12, &size)) {
			g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			             "%s: an entry with an unreadable size field", r->what);
			return FALSE;
		}
		if (type == 'x' || type == 'g' || type == 'L' || type == 'K') {
			g_autofree gchar *data = NULL;
			if (size > AC_TAR_MAX_EXTENDED) {
				g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
				             "%s: an extended header of %" G_GUINT64_FORMAT
				             " bytes (at most %u)",
				             r->what, size, AC_TAR_MAX_EXTENDED);
				return FALSE;
			}
			data = g_malloc0 (size + 1);
			if (!read_data (r, size, (guint8 *)data, error))
				return FALSE;
			if (type == 'x'
			    && !parse_pax (r, data, size, &pending_path, &pending_size, error))
				return FALSE;
			if (type == 'L') {
				g_free (pending_path);
				pending_path = g_strdup (data); /* up to the first NUL */
			}
			continue; /* 'g' (global) and 'K' (a long link target) change nothing here
			           */
		}
		if (pending_size >= 0)
			size = (guint64)pending_size;
		if (pending_path != NULL) {
			path = g_steal_pointer (&pending_path);
		} else if (memcmp (h + 257, "ustar\0", 6) == 0 && h[345] != '\0') {
			g_autofree gchar *prefix = field_string (h + 345, 155);
			g_autofree gchar *name = field_string (h, 100);
			path = g_strconcat (prefix, "/", name, NULL);
		} else {
			path = field_string (h, 100);
		}
		pending_size = -1;

		for (i = 0; i < n_names; i++)
			if (strcmp (strip_dot_slash (path), names[i]) == 0)
				break;
		if (i == n_names) {
			if (!read_data (r, size, NULL, error))
				return FALSE;
			continue;
		}
		if (type != '0' && type != '\0') {
			g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			             "%s: member '%s' is not a regular file (tar type '%c')",
			             r->what, names[i], g_ascii_isprint (type) ? type : '?');
			return FALSE;
		}
		if (out[i] != NULL) {
			g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			             "%s: member '%s' is in the archive twice", r->what, names[i]);
			return FALSE;
		}
		if (size > max_member) {
			g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			             "%s: member '%s' has %" G_GUINT64_FORMAT
			             " bytes (at most %" G_GUINT64_FORMAT ")",
			             r->what, names[i], size, max_member);
			return FALSE;
		}
		{
			guint8 *data = g_malloc (MAX (size, 1));
			if (!read_data (r, size, data, error)) {
				g_free (data);
				return FALSE;
			}
			out[i] = g_bytes_new_take (data, size);
		}
	}
	for (guint i = 0; i < n_names; i++) {
		if (out[i] == NULL) {
			g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			             "%s: no member '%s' in the archive", r->what, names[i]);
			return FALSE;
		}
	}
	return TRUE;
}

gboolean
ac_tar_gz_extract (const gchar *what,
                   GBytes *gz,
                   const gchar *const *names,
                   guint64 max_member,
                   guint64 max_total,
                   GBytes **out,
                   GError **error)
{
	g_autoptr (GInputStream) mem = NULL;
	g_autoptr (GZlibDecompressor) gunzip = NULL;
	g_autoptr (GInputStream) in = NULL;
	TarReader r = { what, NULL, 0, max_total };
	guint n = g_strv_length ((gchar **)names);
	gboolean ok;

	g_return_val_if_fail (what != NULL && gz != NULL && names != NULL && out != NULL, FALSE);
	for (guint i = 0; i < n; i++)
		out[i] = NULL;
	mem = g_memory_input_stream_new_from_bytes (gz);
	gunzip = g_zlib_decompressor_new (G_ZLIB_COMPRESSOR_FORMAT_GZIP);
	in = g_converter_input_stream_new (mem, G_CONVERTER (gunzip));
	r.in = in;
	ok = extract (&r, names, n, max_member, out, error);
	if (!ok)
		for (guint i = 0; i < n; i++)
			g_clear_pointer (&out[i], g_bytes_unref);
	return ok;
}

static void
put_octal (guint8 *field, gsize width, guint64 value)
{
	/* width - 1 octal digits and a NUL */
	g_autofree gchar *text
	    = g_strdup_printf ("%0*" G_GINT64_MODIFIER "o", (int)(width - 1), value);
	memcpy (field, text, width - 1);
	field[width - 1] = '\0';
}

GBytes *
ac_tar_gz_write (const gchar *const *names, GBytes *const *files, guint n, GError **error)
{
	static const guint8 zeros[BLOCK] = { 0 };
	g_autoptr (GByteArray) tar = g_byte_array_new ();
	g_autoptr (GBytes) plain = NULL;
	g_autoptr (GZlibCompressor) z = g_zlib_compressor_new (G_ZLIB_COMPRESSOR_FORMAT_GZIP, 9);
	g_autoptr (GInputStream) in = NULL;
	g_autoptr (GInputStream) zin = NULL;
	g_autoptr (GOutputStream) out = g_memory_output_stream_new_resizable ();

	for (guint i = 0; i < n; i++) {
		guint8 h[BLOCK] = { 0 };
		gsize len = 0;
		const guint8 *p = g_bytes_get_data (files[i], &len);
		gsize nlen = strlen (names[i]);
		guint sum = 0;

		if (nlen == 0 || nlen > 100 || (guint64)len >= (G_GUINT64_CONSTANT (1) << 33)
		    || len > G_MAXUINT - 2 * BLOCK) {
			g_set_error (
			    error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			    "tar member '%s' of %" G_GSIZE_FORMAT
			    " bytes: expected a name of 1 to 100 bytes and less than 4 GiB",
			    names[i], len);
			return NULL;
		}
		memcpy (h, names[i], nlen);
		put_octal (h + 100, 8, 0644);
		put_octal (h + 108, 8, 0);
		put_octal (h + 116, 8, 0);
		put_octal (h + 124, 12, len);
		put_octal (h + 136, 12, 0);
		memset (h + 148, ' ', 8);
		h[156] = '0';
		memcpy (h + 257,
		        "ustar\0"
		        "00",
		        8);
		put_octal (h + 329, 8, 0);
		put_octal (h + 337, 8, 0);
		for (guint j = 0; j < BLOCK; j++)
			sum += h[j];
		put_octal (h + 148, 7, sum);
		h[155] = ' ';
		g_byte_array_append (tar, h, BLOCK);
		g_byte_array_append (tar, p, (guint)len);
		if (len % BLOCK != 0)
			g_byte_array_append (tar, zeros, BLOCK - (guint)(len % BLOCK));
	}
	g_byte_array_append (tar, zeros, BLOCK);
	g_byte_array_append (tar, zeros, BLOCK);
	plain = g_byte_array_free_to_bytes (g_steal_pointer (&tar));
	/* no file info: the gzip header has no name and mtime 0 */
	in = g_memory_input_stream_new_from_bytes (plain);
	zin = g_converter_input_stream_new (in, G_CONVERTER (z));
	if (g_output_stream_splice (
	        out, zin, G_OUTPUT_STREAM_SPLICE_CLOSE_SOURCE | G_OUTPUT_STREAM_SPLICE_CLOSE_TARGET,
	        NULL, error)
	    < 0)
		return NULL;
	return g_memory_output_stream_steal_as_bytes (G_MEMORY_OUTPUT_STREAM (out));
}
