/*
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "ac-car.h"
#include "ac-digest.h"
#include "ac-error.h"
#include "ac-file.h"

/* ---- header ---- */

gsize
ac_car_header_encode (const guint8 root[AC_CID_V0_LEN], guint8 out[AC_CAR_HEADER_V0_LEN])
{
	/* dag-cbor map, keys sorted by length: "roots" then "version" */
	static const guint8 head[] = { 0x38, 0xa2, 0x65, 'r', 'o', 'o', 't', 's', 0x81, 0xd8, 0x2a,
				       0x58, 0x23, 0x00 };
	static const guint8 tail[] = { 0x67, 'v', 'e', 'r', 's', 'i', 'o', 'n', 0x01 };
	gsize n = 0;

	memcpy (out, head, sizeof (head));
	n += sizeof (head);
	memcpy (out + n, root, AC_CID_V0_LEN);
	n += AC_CID_V0_LEN;
	memcpy (out + n, tail, sizeof (tail));
	n += sizeof (tail);
	g_assert (n == AC_CAR_HEADER_V0_LEN);
	return n;
}

static gsize
block_frame_prefix (const AcBlock *block, guint8 out[10 + AC_CID_V0_LEN])
{
	gsize n = ac_varint_encode (AC_CID_V0_LEN + block->size, out);
	memcpy (out + n, block->cid, AC_CID_V0_LEN);
	return n + AC_CID_V0_LEN;
}

/* set of sha256 digests already written (the same chunk twice is stored once) */
static guint
digest_hash (gconstpointer p)
{
	guint h;
	memcpy (&h, (const guint8 *)p + 2, sizeof (h));
	return h;
}

static gboolean
digest_equal (gconstpointer a, gconstpointer b)
{
	return memcmp (a, b, AC_CID_V0_LEN) == 0;
}

static gboolean
seen_before (GHashTable *seen, const guint8 cid[AC_CID_V0_LEN])
{
	if (g_hash_table_contains (seen, cid))
		return TRUE;
	g_hash_table_add (seen, g_memdup2 (cid, AC_CID_V0_LEN));
	return FALSE;
}

static int
open_input (const gchar *path, guint64 *size, GError **error)
{
	struct stat st;
	/* O_NONBLOCK: a FIFO does not block the open; cleared below for the regular file */
	int fd = open (path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	int flags;

	if (fd < 0) {
		int errsv = errno;
		g_set_error (error, AC_ERROR, errsv == ENOENT ? AC_ERROR_NOT_FOUND : AC_ERROR_IO,
			     "cannot open %s: %s", path, g_strerror (errsv));
		return -1;
	}
	if (fstat (fd, &st) != 0 || !S_ISREG (st.st_mode)) {
		close (fd);
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			     "%s is not a regular file: expected a file to add", path);
		return -1;
	}
	flags = fcntl (fd, F_GETFL);
	if (flags >= 0)
		(void)fcntl (fd, F_SETFL, flags & ~O_NONBLOCK);
	*size = (guint64)st.st_size;
	posix_fadvise (fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	return fd;
}

/* reads into the builder's chunk buffer; returns FALSE on error, sets *eof */
static gboolean
feed_from_fd (AcUnixfsBuilder *b, int fd, const gchar *path, gboolean *eof, GError **error)
{
	gsize room;
	guint8 *buf = ac_unixfs_builder_get_buffer (b, &room);
	ssize_t n;

	do {
		n = read (fd, buf, room);
	} while (n < 0 && errno == EINTR);
	if (n < 0) {
		int errsv = errno;
		g_set_error (error, AC_ERROR, AC_ERROR_IO, "cannot read %s: %s", path,
			     g_strerror (errsv));
		return FALSE;
	}
	*eof = (n == 0);
	if (n == 0)
		return TRUE;
	return ac_unixfs_builder_commit (b, (gsize)n, error);
}

/* ---- CID only ---- */

typedef struct {
	GHashTable *seen;
	guint64 car_size;
} AcCidCtx;

static gboolean
cid_block_cb (const AcBlock *block, gpointer user_data, GError **error)
{
	AcCidCtx *ctx = user_data;
	guint8 frame[10 + AC_CID_V0_LEN];
	if (!seen_before (ctx->seen, block->cid))
		ctx->car_size += block_frame_prefix (block, frame) + block->size;
	return TRUE;
}

gboolean
ac_ipfs_file_cid (const gchar *path,
		  guint8 root[AC_CID_V0_LEN],
		  guint64 *file_size,
		  guint64 *car_size,
		  AcCarProgressFunc progress,
		  gpointer progress_data,
		  GError **error)
{
	AcCidCtx ctx = { 0 };
	g_autoptr(GHashTable) seen = g_hash_table_new_full (digest_hash, digest_equal, g_free, NULL);
	g_autoptr(AcUnixfsBuilder) b = NULL;
	guint64 size = 0;
	gboolean eof = FALSE;
	int fd;

	fd = open_input (path, &size, error);
	if (fd < 0)
		return FALSE;
	ctx.seen = seen;
	ctx.car_size = AC_CAR_HEADER_V0_LEN;
	b = ac_unixfs_builder_new (cid_block_cb, &ctx);
	while (!eof) {
		if (!feed_from_fd (b, fd, path, &eof, error)) {
			close (fd);
			return FALSE;
		}
		if (progress != NULL)
			progress (ac_unixfs_builder_get_bytes (b), MAX (size, 1), progress_data);
	}
	close (fd);
	if (!ac_unixfs_builder_finish (b, root, NULL, error))
		return FALSE;
	if (file_size != NULL)
		*file_size = ac_unixfs_builder_get_bytes (b);
	if (car_size != NULL)
		*car_size = ctx.car_size;
	return TRUE;
}

gchar *
ac_ipfs_file_cid_string (const gchar *path,
			 AcCarProgressFunc progress,
			 gpointer progress_data,
			 GError **error)
{
	guint8 root[AC_CID_V0_LEN];
	if (!ac_ipfs_file_cid (path, root, NULL, NULL, progress, progress_data, error))
		return NULL;
	return ac_cid_v0_to_string (root);
}

/* ---- CAR file ---- */

typedef struct {
	int fd;
	const gchar *path;
	GHashTable *seen;
	guint8 *buf; /* write coalescing */
	gsize buf_len;
	gsize buf_cap;
} AcCarFileCtx;

static gboolean
car_file_flush (AcCarFileCtx *ctx, GError **error)
{
	if (!ac_file_write_all (ctx->fd, ctx->path, ctx->buf, ctx->buf_len, error))
		return FALSE;
	ctx->buf_len = 0;
	return TRUE;
}

static gboolean
car_file_append (AcCarFileCtx *ctx, const guint8 *data, gsize len, GError **error)
{
	while (len > 0) {
		gsize take;
		if (ctx->buf_len == ctx->buf_cap && !car_file_flush (ctx, error))
			return FALSE;
		take = MIN (len, ctx->buf_cap - ctx->buf_len);
		memcpy (ctx->buf + ctx->buf_len, data, take);
		ctx->buf_len += take;
		data += take;
		len -= take;
	}
	return TRUE;
}

static gboolean
car_file_block_cb (const AcBlock *block, gpointer user_data, GError **error)
{
	AcCarFileCtx *ctx = user_data;
	guint8 frame[10 + AC_CID_V0_LEN];
	gsize n;

	if (seen_before (ctx->seen, block->cid))
		return TRUE;
	n = block_frame_prefix (block, frame);
	if (block->size >= 65536) {
		/* leaves go out with writev, without a copy through our buffer */
		struct iovec iov[4];
		guint niov = 0;
		gsize total = n;
		gsize done = 0;
		if (!car_file_flush (ctx, error))
			return FALSE;
		iov[niov].iov_base = frame;
		iov[niov++].iov_len = n;
		for (guint i = 0; i < 3; i++) {
			if (block->lens[i] == 0)
				continue;
			iov[niov].iov_base = (void *)block->parts[i];
			iov[niov++].iov_len = block->lens[i];
			total += block->lens[i];
		}
		while (done < total) {
			ssize_t w = writev (ctx->fd, iov, (int)niov);
			gsize adv;
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0) {
				int errsv = errno;
				g_set_error (error, AC_ERROR, AC_ERROR_IO, "cannot write %s: %s",
					     ctx->path, g_strerror (errsv));
				return FALSE;
			}
			done += (gsize)w;
			/* partial write: drop what went out */
			adv = (gsize)w;
			for (guint i = 0; i < niov && adv > 0; i++) {
				gsize take = MIN (adv, iov[i].iov_len);
				iov[i].iov_base = (guint8 *)iov[i].iov_base + take;
				iov[i].iov_len -= take;
				adv -= take;
			}
		}
		return TRUE;
	}
	if (!car_file_append (ctx, frame, n, error))
		return FALSE;
	for (guint i = 0; i < 3; i++) {
		if (block->lens[i] > 0 &&
		    !car_file_append (ctx, block->parts[i], block->lens[i], error))
			return FALSE;
	}
	return TRUE;
}

gboolean
ac_ipfs_file_write_car (const gchar *path,
			const gchar *out_path,
			gboolean force,
			guint8 root[AC_CID_V0_LEN],
			AcCarProgressFunc progress,
			gpointer progress_data,
			GError **error)
{
	g_autoptr(GHashTable) seen = g_hash_table_new_full (digest_hash, digest_equal, g_free, NULL);
	g_autoptr(AcUnixfsBuilder) b = NULL;
	g_autoptr(AcFileOut) out = NULL;
	g_autofree guint8 *buf = g_malloc (1024 * 1024);
	guint8 header[AC_CAR_HEADER_V0_LEN];
	guint8 first_root[AC_CID_V0_LEN] = { 0x12, 0x20 };
	AcCarFileCtx ctx = { 0 };
	AcFileDest kind;
	guint64 size = 0;
	gboolean eof = FALSE;
	gboolean ok = TRUE;
	gboolean seekable;
	int in_fd;

	if (!ac_file_check_destination (out_path, force, &kind, error))
		return FALSE;
	/* a temporary file is patched at the end; a device or standard output cannot be: the
	 * root is computed first (one more pass over the input) */
	seekable = kind == AC_FILE_DEST_NEW || kind == AC_FILE_DEST_REPLACE;
	if (!seekable && !ac_ipfs_file_cid (path, first_root, NULL, NULL, NULL, NULL, error))
		return FALSE;
	in_fd = open_input (path, &size, error);
	if (in_fd < 0)
		return FALSE;
	out = ac_file_out_open (out_path, force, 0644, error);
	if (out == NULL) {
		close (in_fd);
		return FALSE;
	}
	ctx.fd = ac_file_out_get_fd (out);
	ctx.path = ac_file_out_get_path (out);
	ctx.seen = seen;
	ctx.buf = buf;
	ctx.buf_cap = 1024 * 1024;
	/* the header is fixed-size for CIDv0 roots: a placeholder now, the root at the end */
	ac_car_header_encode (first_root, header);
	ok = car_file_append (&ctx, header, sizeof (header), error);
	b = ac_unixfs_builder_new (car_file_block_cb, &ctx);
	while (ok && !eof) {
		ok = feed_from_fd (b, in_fd, path, &eof, error);
		if (ok && progress != NULL)
			progress (ac_unixfs_builder_get_bytes (b), MAX (size, 1), progress_data);
	}
	close (in_fd);
	if (ok)
		ok = ac_unixfs_builder_finish (b, root, NULL, error) && car_file_flush (&ctx, error);
	if (ok && !seekable && memcmp (root, first_root, AC_CID_V0_LEN) != 0) {
		g_set_error (error, AC_ERROR, AC_ERROR_MISMATCH,
			     "%s changed while its CAR was written", path);
		ok = FALSE;
	}
	if (ok && seekable) {
		ac_car_header_encode (root, header);
		if (pwrite (ctx.fd, header, sizeof (header), 0) != (ssize_t)sizeof (header)) {
			int errsv = errno;
			g_set_error (error, AC_ERROR, AC_ERROR_IO, "cannot write %s: %s", ctx.path,
				     g_strerror (errsv));
			ok = FALSE;
		}
	}
	/* uncommitted, the temporary file is removed and OUT left as it was */
	return ok && ac_file_out_commit (out, error);
}

/* ---- pull stream ---- */

struct _AcCarStream {
	gchar *path;
	int fd;
	guint8 root[AC_CID_V0_LEN];
	guint64 car_size;
	guint64 file_size;
	guint64 produced;
	AcUnixfsBuilder *builder;
	GHashTable *seen;
	GByteArray *queue;
	gsize queue_pos;
	gboolean eof;
	gboolean finished;
	AcCarProgressFunc progress;
	gpointer progress_data;
};

static gboolean
stream_block_cb (const AcBlock *block, gpointer user_data, GError **error)
{
	AcCarStream *self = user_data;
	guint8 frame[10 + AC_CID_V0_LEN];
	gsize n;

	if (seen_before (self->seen, block->cid))
		return TRUE;
	n = block_frame_prefix (block, frame);
	g_byte_array_append (self->queue, frame, (guint)n);
	for (guint i = 0; i < 3; i++) {
		if (block->lens[i] > 0)
			g_byte_array_append (self->queue, block->parts[i], (guint)block->lens[i]);
	}
	return TRUE;
}

void
ac_car_stream_free (AcCarStream *self)
{
	if (self == NULL)
		return;
	if (self->fd >= 0)
		close (self->fd);
	ac_unixfs_builder_free (self->builder);
	if (self->seen != NULL)
		g_hash_table_unref (self->seen);
	if (self->queue != NULL)
		g_byte_array_unref (self->queue);
	g_free (self->path);
	g_free (self);
}

gboolean
ac_car_stream_rewind (AcCarStream *self, GError **error)
{
	guint8 header[AC_CAR_HEADER_V0_LEN];

	if (lseek (self->fd, 0, SEEK_SET) != 0) {
		int errsv = errno;
		g_set_error (error, AC_ERROR, AC_ERROR_IO, "cannot rewind %s: %s", self->path,
			     g_strerror (errsv));
		return FALSE;
	}
	ac_unixfs_builder_free (self->builder);
	self->builder = ac_unixfs_builder_new (stream_block_cb, self);
	g_hash_table_remove_all (self->seen);
	g_byte_array_set_size (self->queue, 0);
	self->queue_pos = 0;
	self->eof = FALSE;
	self->finished = FALSE;
	self->produced = 0;
	ac_car_header_encode (self->root, header);
	g_byte_array_append (self->queue, header, sizeof (header));
	return TRUE;
}

AcCarStream *
ac_car_stream_new (const gchar *path,
		   AcCarProgressFunc progress,
		   gpointer progress_data,
		   GError **error)
{
	g_autoptr(AcCarStream) self = g_new0 (AcCarStream, 1);
	guint64 size = 0;

	self->fd = -1;
	self->path = g_strdup (path);
	if (!ac_ipfs_file_cid (path, self->root, &self->file_size, &self->car_size, NULL, NULL,
			       error))
		return NULL;
	self->fd = open_input (path, &size, error);
	if (self->fd < 0)
		return NULL;
	if (size != self->file_size) {
		g_set_error (error, AC_ERROR, AC_ERROR_IO, "%s changed size while being read", path);
		return NULL;
	}
	self->seen = g_hash_table_new_full (digest_hash, digest_equal, g_free, NULL);
	self->queue = g_byte_array_sized_new (AC_UNIXFS_CHUNK_SIZE + 4096);
	self->progress = progress;
	self->progress_data = progress_data;
	if (!ac_car_stream_rewind (self, error))
		return NULL;
	return g_steal_pointer (&self);
}

const guint8 *
ac_car_stream_get_root (AcCarStream *self)
{
	return self->root;
}

guint64
ac_car_stream_get_size (AcCarStream *self)
{
	return self->car_size;
}

gssize
ac_car_stream_read (AcCarStream *self, guint8 *buf, gsize len, GError **error)
{
	gsize avail;

	while (self->queue_pos == self->queue->len && !self->finished) {
		g_byte_array_set_size (self->queue, 0);
		self->queue_pos = 0;
		if (!self->eof) {
			if (!feed_from_fd (self->builder, self->fd, self->path, &self->eof, error))
				return -1;
		} else {
			guint8 root[AC_CID_V0_LEN];
			if (!ac_unixfs_builder_finish (self->builder, root, NULL, error))
				return -1;
			self->finished = TRUE;
			if (memcmp (root, self->root, AC_CID_V0_LEN) != 0) {
				g_set_error (error, AC_ERROR, AC_ERROR_MISMATCH,
					     "%s changed while being uploaded: its CID differs from "
					     "the first pass",
					     self->path);
				return -1;
			}
		}
	}
	avail = self->queue->len - self->queue_pos;
	if (avail == 0)
		return 0;
	len = MIN (len, avail);
	memcpy (buf, self->queue->data + self->queue_pos, len);
	self->queue_pos += len;
	self->produced += len;
	if (self->progress != NULL)
		self->progress (self->produced, MAX (self->car_size, 1), self->progress_data);
	return (gssize)len;
}

/* ---- reader ---- */

static gboolean
cbor_read_head (const guint8 *d, gsize len, gsize *pos, guint *major, guint64 *arg)
{
	guint8 ib;
	guint ai;
	gsize need;

	if (*pos >= len)
		return FALSE;
	ib = d[(*pos)++];
	*major = ib >> 5;
	ai = ib & 0x1f;
	if (ai < 24) {
		*arg = ai;
		return TRUE;
	}
	if (ai > 27)
		return FALSE; /* no indefinite lengths in dag-cbor */
	need = (gsize)1 << (ai - 24);
	if (len - *pos < need)
		return FALSE;
	*arg = 0;
	for (gsize i = 0; i < need; i++)
		*arg = (*arg << 8) | d[(*pos)++];
	return TRUE;
}

static gboolean
car_header_parse (const guint8 *d, gsize len, GPtrArray *roots, GError **error)
{
	gsize pos = 0;
	guint major;
	guint64 n, arg;
	gboolean have_version = FALSE, have_roots = FALSE;

	if (!cbor_read_head (d, len, &pos, &major, &n) || major != 5 || n > 8) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
				     "CAR header: not a dag-cbor map");
		return FALSE;
	}
	for (guint64 i = 0; i < n; i++) {
		const guint8 *key;
		if (!cbor_read_head (d, len, &pos, &major, &arg) || major != 3 || arg > len - pos) {
			g_set_error_literal (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
					     "CAR header: bad map key");
			return FALSE;
		}
		key = d + pos;
		pos += (gsize)arg;
		if (arg == 7 && memcmp (key, "version", 7) == 0) {
			if (!cbor_read_head (d, len, &pos, &major, &arg) || major != 0 || arg != 1) {
				g_set_error_literal (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
						     "CAR header: version is not 1");
				return FALSE;
			}
			have_version = TRUE;
		} else if (arg == 5 && memcmp (key, "roots", 5) == 0) {
			guint64 count;
			if (!cbor_read_head (d, len, &pos, &major, &count) || major != 4 ||
			    count > 64) {
				g_set_error_literal (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
						     "CAR header: roots is not an array");
				return FALSE;
			}
			for (guint64 r = 0; r < count; r++) {
				GByteArray *cid;
				if (!cbor_read_head (d, len, &pos, &major, &arg) || major != 6 ||
				    arg != 42 || !cbor_read_head (d, len, &pos, &major, &arg) ||
				    major != 2 || arg < 2 || arg > len - pos || d[pos] != 0x00) {
					g_set_error_literal (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
							     "CAR header: root is not a tag-42 CID");
					return FALSE;
				}
				cid = g_byte_array_new ();
				g_byte_array_append (cid, d + pos + 1, (guint)arg - 1);
				g_ptr_array_add (roots, cid);
				pos += (gsize)arg;
			}
			have_roots = TRUE;
		} else {
			g_set_error_literal (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
					     "CAR header: unknown key");
			return FALSE;
		}
	}
	if (pos != len || !have_version || !have_roots) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
				     "CAR header: missing version or roots, or trailing bytes");
		return FALSE;
	}
	return TRUE;
}

/* CID length inside a block frame: v0 = 34-byte multihash; v1 = version, codec, multihash */
static gboolean
cid_parse (const guint8 *d, gsize len, gsize *cid_len, const guint8 **digest, guint64 *hash_code,
	   gsize *digest_len)
{
	gsize pos = 0;
	guint64 version, codec, code, mlen;

	if (len >= 2 && d[0] == 0x12 && d[1] == 0x20) {
		if (len < AC_CID_V0_LEN)
			return FALSE;
		*cid_len = AC_CID_V0_LEN;
		*digest = d + 2;
		*hash_code = 0x12;
		*digest_len = 32;
		return TRUE;
	}
	if (!ac_varint_decode (d, len, &pos, &version) || version != 1 ||
	    !ac_varint_decode (d, len, &pos, &codec) || !ac_varint_decode (d, len, &pos, &code) ||
	    !ac_varint_decode (d, len, &pos, &mlen) || mlen > 64 || mlen > len - pos)
		return FALSE;
	*digest = d + pos;
	*digest_len = (gsize)mlen;
	*hash_code = code;
	*cid_len = pos + (gsize)mlen;
	return TRUE;
}

gboolean
ac_car_parse (const guint8 *data,
	      gsize len,
	      GPtrArray **roots_out,
	      AcCarBlockFunc func,
	      gpointer user_data,
	      GError **error)
{
	g_autoptr(GPtrArray) roots = g_ptr_array_new_with_free_func ((GDestroyNotify)g_byte_array_unref);
	gsize pos = 0;
	guint64 hlen;

	if (!ac_varint_decode (data, len, &pos, &hlen) || hlen == 0 || hlen > len - pos) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
				     "CAR: truncated or empty header");
		return FALSE;
	}
	if (!car_header_parse (data + pos, (gsize)hlen, roots, error))
		return FALSE;
	pos += (gsize)hlen;
	while (pos < len) {
		guint64 flen;
		gsize cid_len, digest_len;
		const guint8 *digest;
		guint64 hash_code;
		const guint8 *frame;
		if (!ac_varint_decode (data, len, &pos, &flen) || flen == 0 || flen > len - pos) {
			g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
				     "CAR: truncated block frame at offset %" G_GSIZE_FORMAT, pos);
			return FALSE;
		}
		frame = data + pos;
		if (!cid_parse (frame, (gsize)flen, &cid_len, &digest, &hash_code, &digest_len)) {
			g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
				     "CAR: bad CID at offset %" G_GSIZE_FORMAT, pos);
			return FALSE;
		}
		if (hash_code == 0x12) {
			guint8 md[AC_SHA256_SIZE];
			if (digest_len != 32) {
				g_set_error_literal (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
						     "CAR: sha2-256 digest is not 32 bytes");
				return FALSE;
			}
			ac_sha256 (frame + cid_len, (gsize)flen - cid_len, md);
			if (memcmp (md, digest, 32) != 0) {
				g_set_error (error, AC_ERROR, AC_ERROR_MISMATCH,
					     "CAR: block at offset %" G_GSIZE_FORMAT
					     " does not hash to its CID",
					     pos);
				return FALSE;
			}
		} else {
			g_set_error (error, AC_ERROR, AC_ERROR_UNSUPPORTED,
				     "CAR: hash function 0x%" G_GINT64_MODIFIER "x is not supported",
				     hash_code);
			return FALSE;
		}
		if (func != NULL &&
		    !func (frame, cid_len, frame + cid_len, (gsize)flen - cid_len, user_data, error))
			return FALSE;
		pos += (gsize)flen;
	}
	if (roots_out != NULL)
		*roots_out = g_steal_pointer (&roots);
	return TRUE;
}
