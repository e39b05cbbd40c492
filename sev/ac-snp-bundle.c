/*
 * The members of an SEV-SNP runtime bundle, read out of its tar.gz in memory.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "ac-snp-bundle.h"

#include <gio/gio.h>
#include <string.h>

#include "ac-error.h"

#define BLOCK 512
/* the most the reader decompresses: a bundle is at most 4 GiB, its members far less */
#define MAX_TOTAL (G_GUINT64_CONSTANT (8) << 30)

typedef struct {
	GInputStream *in;
	guint64 total; /* decompressed bytes read */
} Reader;

/* @len bytes, or *eof at a clean end before the first byte */
static gboolean
bundle_read (Reader *r, guint8 *buf, gsize len, gboolean *eof, GError **error)
{
	g_autoptr (GError) error_local = NULL;
	gsize n = 0;

	if (r->total + len > MAX_TOTAL) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "runtime bundle: more than %" G_GUINT64_FORMAT
		             " bytes once decompressed",
		             (guint64)MAX_TOTAL);
		return FALSE;
	}
	if (!g_input_stream_read_all (r->in, buf, len, &n, NULL, &error_local)) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "runtime bundle: not a gzip stream: %s", error_local->message);
		return FALSE;
	}
	r->total += n;
	if (n == 0 && eof != NULL) {
		*eof = TRUE;
		return TRUE;
	}
	if (n != len) {
		g_set_error_literal (
		    error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		    "runtime bundle: the archive ends inside a header or a member");
		return FALSE;
	}
	return TRUE;
}

/* an octal field: optional leading spaces, 1 or more digits, then only NULs or spaces */
static gboolean
bundle_octal (const guint8 *f, gsize len, guint64 *out)
{
	guint64 v = 0;
	gsize i = 0;
	gboolean digits = FALSE;

	if (len > 0 && (f[0] & 0x80) != 0)
		return FALSE; /* base-256 */
	while (i < len && f[i] == ' ')
		i++;
	for (; i < len && f[i] >= '0' && f[i] <= '7'; i++) {
		if (v > (G_MAXUINT64 >> 3))
			return FALSE;
		v = (v << 3) | (guint64)(f[i] - '0');
		digits = TRUE;
	}
	for (; i < len; i++) {
		if (f[i] != '\0' && f[i] != ' ')
			return FALSE;
	}
	if (!digits)
		return FALSE;
	*out = v;
	return TRUE;
}

/* a NUL-terminated (or full) field as a string */
static gchar *
bundle_field (const guint8 *f, gsize len)
{
	gsize n = 0;
	while (n < len && f[n] != '\0')
		n++;
	return g_strndup ((const gchar *)f, n);
}

static gboolean
bundle_zero (const guint8 *b)
{
	for (guint i = 0; i < BLOCK; i++) {
		if (b[i] != 0)
			return FALSE;
	}
	return TRUE;
}

/* the header's checksum: the sum of its bytes with the checksum field read as spaces */
static gboolean
bundle_checksum_ok (const guint8 *h)
{
	guint64 want = 0, sum = 0;
	if (!bundle_octal (h + 148, 8, &want))
		return FALSE;
	for (guint i = 0; i < BLOCK; i++)
		sum += (i >= 148 && i < 156) ? ' ' : h[i];
	return sum == want;
}

/* reads @size bytes of data (and the padding to the block) into a new GBytes, or skips them;
 * memory grows with the data that arrives, not with the size a header claims */
static gboolean
bundle_data (Reader *r, guint64 size, GBytes **out, GError **error)
{
	guint8 buf[16 * BLOCK];
	guint64 left = (size + BLOCK - 1) / BLOCK * BLOCK;
	g_autoptr (GByteArray) data = out != NULL ? g_byte_array_new () : NULL;
	guint64 at = 0;

	while (left > 0) {
		gsize n = (gsize)MIN (left, (guint64)sizeof buf);
		if (!bundle_read (r, buf, n, NULL, error))
			return FALSE;
		if (data != NULL && at < size)
			g_byte_array_append (data, buf, (guint)MIN ((guint64)n, size - at));
		at += n;
		left -= n;
	}
	if (out != NULL)
		*out = g_byte_array_free_to_bytes (g_steal_pointer (&data));
	return TRUE;
}

/**
 * ac_snp_bundle_read_members:
 *
 * See ac-snp-bundle.h.
 */
gboolean
ac_snp_bundle_read_members (const AcSnpRuntime *runtime,
                            GBytes *bundle,
                            AcSnpRuntimeFiles *files,
                            GError **error)
{
	g_autoptr (GInputStream) mem = NULL;
	g_autoptr (GConverter) gunzip = NULL;
	g_autoptr (GInputStream) in = NULL;
	const gchar *names[3];
	const gchar *what[3] = { "ovmf", "kernel", "initrd" };
	GBytes *found[3] = { NULL, NULL, NULL };
	Reader r = { 0 };
	guint8 h[BLOCK];

	g_return_val_if_fail (runtime != NULL && bundle != NULL && files != NULL, FALSE);
	names[0] = runtime->member_ovmf;
	names[1] = runtime->member_kernel;
	names[2] = runtime->member_initrd;

	mem = g_memory_input_stream_new_from_bytes (bundle);
	gunzip = G_CONVERTER (g_zlib_decompressor_new (G_ZLIB_COMPRESSOR_FORMAT_GZIP));
	in = g_converter_input_stream_new (mem, gunzip);
	r.in = in;
	for (;;) {
		g_autofree gchar *name = NULL;
		g_autofree gchar *prefix = NULL;
		g_autofree gchar *path = NULL;
		const gchar *rel;
		guint64 size = 0;
		gboolean eof = FALSE;
		gboolean posix;
		gint idx = -1;
		guint8 type;

		if (!bundle_read (&r, h, BLOCK, &eof, error))
			goto fail;
		if (eof || bundle_zero (h))
			break; /* the end of the archive (what follows is not read) */
		if (!bundle_checksum_ok (h)) {
			g_set_error_literal (
			    error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			    "runtime bundle: a tar header's checksum does not match");
			goto fail;
		}
		posix = memcmp (h + 257, "ustar\0", 6) == 0;
		if (!posix && memcmp (h + 257, "ustar ", 6) != 0) {
			g_set_error_literal (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			                     "runtime bundle: not a ustar archive");
			goto fail;
		}
		type = h[156];
		if (type == 'x' || type == 'g' || type == 'L' || type == 'K') {
			g_set_error (
			    error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			    "runtime bundle: a tar extension header (type '%c') is not "
			    "supported: it can rename a member for one reader and not another",
			    type);
			goto fail;
		}
		if (!bundle_octal (h + 124, 12, &size)) {
			g_set_error_literal (
			    error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			    "runtime bundle: a tar header's size is not an octal number");
			goto fail;
		}
		name = bundle_field (h, 100);
		prefix = posix ? bundle_field (h + 345, 155) : g_strdup ("");
		path = prefix[0] != '\0' ? g_strconcat (prefix, "/", name, NULL) : g_strdup (name);
		rel = g_str_has_prefix (path, "./") ? path + 2 : path;
		for (guint i = 0; i < G_N_ELEMENTS (names); i++) {
			if (g_strcmp0 (rel, names[i]) == 0)
				idx = (gint)i;
		}
		if (idx >= 0 && found[idx] != NULL) {
			g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			             "runtime bundle: the %s '%s' is in the archive more than once",
			             what[idx], names[idx]);
			goto fail;
		}
		if (type != '0' && type != '\0') {
			if (idx >= 0) {
				g_set_error (
				    error, AC_ERROR, AC_ERROR_INVALID_INPUT,
				    "runtime bundle: the %s '%s' is not a regular file (tar "
				    "type '%c')",
				    what[idx], names[idx],
				    type >= 0x20 && type < 0x7f ? type : '?');
				goto fail;
			}
			if (size != 0) {
				g_set_error_literal (
				    error, AC_ERROR, AC_ERROR_INVALID_INPUT,
				    "runtime bundle: a tar entry other than a file has data");
				goto fail;
			}
			continue;
		}
		if (idx >= 0 && size > AC_SNP_BUNDLE_MAX_MEMBER) {
			g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			             "runtime bundle: the %s '%s' has %" G_GUINT64_FORMAT
			             " bytes, more than %" G_GUINT64_FORMAT,
			             what[idx], names[idx], size,
			             (guint64)AC_SNP_BUNDLE_MAX_MEMBER);
			goto fail;
		}
		if (!bundle_data (&r, size, idx >= 0 ? &found[idx] : NULL, error))
			goto fail;
	}
	for (guint i = 0; i < G_N_ELEMENTS (names); i++) {
		if (found[i] == NULL) {
			g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			             "runtime bundle: the %s '%s' is not in the archive", what[i],
			             names[i]);
			goto fail;
		}
	}
	files->ovmf = found[0];
	files->kernel = found[1];
	files->initrd = found[2];
	return TRUE;
fail:
	for (guint i = 0; i < G_N_ELEMENTS (found); i++)
		g_clear_pointer (&found[i], g_bytes_unref);
	return FALSE;
}
