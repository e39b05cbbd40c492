/*
 * aleph-confidential: CARv1 for UnixFS files — a streaming writer (file → CAR file, or a pull
 * stream for uploads, never the whole file in memory), the CID of a file like
 * `ipfs add --only-hash`, and a strict CAR reader that checks every block's hash.
 * Pure apart from reading the input file and writing the output file (no network).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

#include "ac-unixfs.h"

G_BEGIN_DECLS

#define AC_CAR_HEADER_V0_LEN 57 /* varint(56) + dag-cbor {"roots":[CIDv0],"version":1} */

/* @done of @total bytes of the input read (@total at least 1): GLib's and OpenSSL's code only
 * (virt-aleph's front links this file), so a caller with an AcProgress passes its own callback */
typedef void (*AcCarProgressFunc) (guint64 done, guint64 total, gpointer user_data);

gsize ac_car_header_encode (const guint8 root[AC_CID_V0_LEN], guint8 out[AC_CAR_HEADER_V0_LEN]);

/* CID (and CAR size) of a file: one pass, constant memory */
gboolean ac_ipfs_file_cid (const gchar *path,
			   guint8 root[AC_CID_V0_LEN],
			   guint64 *file_size,
			   guint64 *car_size,
			   AcCarProgressFunc progress,
			   gpointer progress_data,
			   GError **error);
gchar *ac_ipfs_file_cid_string (const gchar *path,
				AcCarProgressFunc progress,
				gpointer progress_data,
				GError **error);

/* Writes a temporary file beside @out_path then renames it over @out_path (an existing regular
 * file only with @force; a character device or "-" is written in place): see ac_file_out_open() */
gboolean ac_ipfs_file_write_car (const gchar *path,
				 const gchar *out_path,
				 gboolean force,
				 guint8 root[AC_CID_V0_LEN],
				 AcCarProgressFunc progress,
				 gpointer progress_data,
				 GError **error);

/* Pull stream of the CAR of a file, for uploads. Computes the root first (one pass), then
 * produces the CAR on demand: memory stays at one chunk plus the pending parents. */
typedef struct _AcCarStream AcCarStream;
AcCarStream *ac_car_stream_new (const gchar *path,
				AcCarProgressFunc progress,
				gpointer progress_data,
				GError **error);
void ac_car_stream_free (AcCarStream *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AcCarStream, ac_car_stream_free)
const guint8 *ac_car_stream_get_root (AcCarStream *self);
guint64 ac_car_stream_get_size (AcCarStream *self);
/* returns bytes written into @buf, 0 at the end, -1 on error */
gssize ac_car_stream_read (AcCarStream *self, guint8 *buf, gsize len, GError **error);
gboolean ac_car_stream_rewind (AcCarStream *self, GError **error);

/* Reader: @func gets each block after its hash was checked (sha2-256 CIDs only). */
typedef gboolean (*AcCarBlockFunc) (const guint8 *cid,
				    gsize cid_len,
				    const guint8 *data,
				    gsize data_len,
				    gpointer user_data,
				    GError **error);
gboolean ac_car_parse (const guint8 *data,
		       gsize len,
		       GPtrArray **roots_out, /* GByteArray CID bytes */
		       AcCarBlockFunc func,
		       gpointer user_data,
		       GError **error);

G_END_DECLS
