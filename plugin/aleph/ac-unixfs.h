/*
 * aleph-confidential: the UnixFS file DAG exactly as kubo's `ipfs add` defaults build it —
 * CIDv0, 256 KiB fixed chunks, dag-pb leaves of type File, balanced layout with 174 links per
 * node — computed while streaming, and the dag-pb/UnixFS decoders. Pure: no I/O.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define AC_UNIXFS_CHUNK_SIZE 262144
#define AC_UNIXFS_MAX_LINKS 174
#define AC_CID_V0_LEN 34 /* multihash: 0x12 0x20 + sha256 */

/* One block, handed out in up to three parts so 256 KiB leaves are never copied. */
typedef struct {
	guint8 cid[AC_CID_V0_LEN];
	const guint8 *parts[3];
	gsize lens[3];
	gsize size;
} AcBlock;

typedef gboolean (*AcBlockFunc) (const AcBlock *block, gpointer user_data, GError **error);

typedef struct _AcUnixfsBuilder AcUnixfsBuilder;

AcUnixfsBuilder *ac_unixfs_builder_new (AcBlockFunc func, gpointer user_data);
void ac_unixfs_builder_free (AcUnixfsBuilder *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AcUnixfsBuilder, ac_unixfs_builder_free)

gboolean ac_unixfs_builder_update (AcUnixfsBuilder *self, const guint8 *data, gsize len, GError **error);
/* For readers that fill the chunk buffer in place: room left in the current chunk … */
guint8 *ac_unixfs_builder_get_buffer (AcUnixfsBuilder *self, gsize *room);
/* … and how many bytes were written there. */
gboolean ac_unixfs_builder_commit (AcUnixfsBuilder *self, gsize len, GError **error);
gboolean ac_unixfs_builder_finish (AcUnixfsBuilder *self,
				   guint8 root[AC_CID_V0_LEN],
				   guint64 *cumulative_size,
				   GError **error);
guint64 ac_unixfs_builder_get_bytes (AcUnixfsBuilder *self);

/* base58btc (CIDv0's text form; hex and base64 are in lib/ac-codec.h) */
gchar *ac_base58btc_encode (const guint8 *data, gsize len);
GByteArray *ac_base58btc_decode (const gchar *text, GError **error);
/* "Qm…": 46 base58 characters of a sha2-256 multihash */
gboolean ac_cid_v0_is_valid (const gchar *cid);
gchar *ac_cid_v0_to_string (const guint8 cid[AC_CID_V0_LEN]);
gboolean ac_cid_v0_from_string (const gchar *text, guint8 cid[AC_CID_V0_LEN], GError **error);

/* dag-pb decoding (strict: canonical field order, lengths checked) */
typedef struct {
	GByteArray *hash; /* CID bytes */
	gchar *name;      /* NULL when absent */
	guint64 tsize;
	gboolean has_tsize;
} AcDagPbLink;

typedef struct {
	GPtrArray *links; /* AcDagPbLink */
	GByteArray *data; /* NULL when absent */
} AcDagPbNode;

AcDagPbNode *ac_dagpb_decode (const guint8 *data, gsize len, GError **error);
void ac_dagpb_node_free (AcDagPbNode *node);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AcDagPbNode, ac_dagpb_node_free)

typedef struct {
	guint64 type;
	const guint8 *data; /* points into the decoded buffer */
	gsize data_len;
	gboolean has_data;
	guint64 filesize;
	gboolean has_filesize;
	GArray *blocksizes; /* guint64 */
} AcUnixfsData;

gboolean ac_unixfs_data_decode (const guint8 *data, gsize len, AcUnixfsData *out, GError **error);
void ac_unixfs_data_clear (AcUnixfsData *d);

/* varints (protobuf / multiformats) */
gsize ac_varint_encode (guint64 v, guint8 out[10]);
gboolean ac_varint_decode (const guint8 *data, gsize len, gsize *pos, guint64 *out);

G_END_DECLS
