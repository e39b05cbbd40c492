/*
 * aleph-confidential devnet: CAR → file.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <gio/gio.h>

#include "ac-car.h"
#include "ac-devnet-car.h"
#include "ac-error.h"
#include "ac-unixfs.h"

typedef struct {
	GHashTable *blocks; /* GBytes(cid) → GBytes(data, pointing into the CAR) */
	const guint8 *car;
	guint64 max_file_size;
	guint64 written;
	GOutputStream *out;
	guint visits;
} AcDevnetCarCtx;

static gboolean
car_block_cb (const guint8 *cid,
              gsize cid_len,
              const guint8 *data,
              gsize data_len,
              gpointer user_data,
              GError **error)
{
	AcDevnetCarCtx *ctx = user_data;
	g_hash_table_replace (ctx->blocks, g_bytes_new (cid, cid_len),
	                      g_bytes_new_static (data, data_len));
	return TRUE;
}

static gboolean
car_emit (AcDevnetCarCtx *ctx, const guint8 *data, gsize len, GError **error)
{
	if (len > ctx->max_file_size - ctx->written) {
		g_set_error (error, AC_ERROR, AC_ERROR_REFUSED,
		             "CAR: the file is larger than the %" G_GUINT64_FORMAT "-byte limit",
		             ctx->max_file_size);
		return FALSE;
	}
	ctx->written += len;
	if (ctx->out != NULL && len > 0) {
		g_autoptr (GError) error_local = NULL;
		if (!g_output_stream_write_all (ctx->out, data, len, NULL, NULL, &error_local)) {
			g_set_error (error, AC_ERROR, AC_ERROR_IO, "writing the CAR's file: %s",
			             error_local->message);
			return FALSE;
		}
	}
	return TRUE;
}

/* codec of a CID: 0x70 dag-pb (and every CIDv0), 0x55 raw; 0 when unparsable */
static guint64
cid_codec (const guint8 *cid, gsize len)
{
	gsize pos = 0;
	guint64 version, codec;
	if (len == AC_CID_V0_LEN && cid[0] == 0x12 && cid[1] == 0x20)
		return 0x70;
	if (!ac_varint_decode (cid, len, &pos, &version) || version != 1
	    || !ac_varint_decode (cid, len, &pos, &codec))
		return 0;
	return codec;
}

static gboolean
car_walk (AcDevnetCarCtx *ctx, const guint8 *cid, gsize cid_len, guint depth, GError **error)
{
	g_autoptr (GBytes) key = g_bytes_new (cid, cid_len);
	GBytes *block = g_hash_table_lookup (ctx->blocks, key);
	g_autoptr (AcDagPbNode) node = NULL;
	AcUnixfsData ud;
	guint64 codec = cid_codec (cid, cid_len);
	gsize blen = 0;
	const guint8 *bdata;
	gboolean ok = TRUE;

	if (depth > AC_DEVNET_CAR_MAX_DEPTH) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "CAR: the DAG is deeper than %u levels", AC_DEVNET_CAR_MAX_DEPTH);
		return FALSE;
	}
	if (++ctx->visits > 16 * 1024 * 1024) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		                     "CAR: too many block visits");
		return FALSE;
	}
	if (block == NULL) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		                     "CAR: a block the DAG links to is missing from the CAR");
		return FALSE;
	}
	bdata = g_bytes_get_data (block, &blen);
	if (codec == 0x55)
		return car_emit (ctx, bdata, blen, error);
	if (codec != 0x70) {
		g_set_error (error, AC_ERROR, AC_ERROR_UNSUPPORTED,
		             "CAR: codec 0x%" G_GINT64_MODIFIER
		             "x is not supported, expected dag-pb or raw",
		             codec);
		return FALSE;
	}
	node = ac_dagpb_decode (bdata, blen, error);
	if (node == NULL)
		return FALSE;
	if (node->data == NULL) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		                     "CAR: a dag-pb node has no UnixFS data");
		return FALSE;
	}
	if (!ac_unixfs_data_decode (node->data->data, node->data->len, &ud, error))
		return FALSE;
	if (ud.type != 2 && ud.type != 0) {
		g_set_error (error, AC_ERROR, AC_ERROR_UNSUPPORTED,
		             "CAR: UnixFS node type %" G_GUINT64_FORMAT " is not a file", ud.type);
		ac_unixfs_data_clear (&ud);
		return FALSE;
	}
	if (ud.has_data && ud.data_len > 0)
		ok = car_emit (ctx, ud.data, ud.data_len, error);
	ac_unixfs_data_clear (&ud);
	for (guint i = 0; ok && i < node->links->len; i++) {
		AcDagPbLink *link = g_ptr_array_index (node->links, i);
		ok = car_walk (ctx, link->hash->data, link->hash->len, depth + 1, error);
	}
	return ok;
}

gchar *
ac_devnet_car_extract (const guint8 *data,
                       gsize len,
                       guint64 max_file_size,
                       GOutputStream *out,
                       guint64 *file_size,
                       GError **error)
{
	g_autoptr (GPtrArray) roots = NULL;
	g_autoptr (GHashTable) blocks
	    = g_hash_table_new_full (g_bytes_hash, g_bytes_equal, (GDestroyNotify)g_bytes_unref,
	                             (GDestroyNotify)g_bytes_unref);
	AcDevnetCarCtx ctx = {
		.blocks = blocks,
		.car = data,
		.max_file_size = max_file_size,
		.out = out,
	};
	GByteArray *root;

	if (data == NULL || len == 0) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_INVALID_INPUT, "CAR: empty upload");
		return NULL;
	}
	if (!ac_car_parse (data, len, &roots, car_block_cb, &ctx, error))
		return NULL;
	if (roots->len != 1) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "CAR: %u roots, expected exactly one", roots->len);
		return NULL;
	}
	root = g_ptr_array_index (roots, 0);
	if (root->len != AC_CID_V0_LEN || root->data[0] != 0x12 || root->data[1] != 0x20) {
		g_set_error_literal (
		    error, AC_ERROR, AC_ERROR_UNSUPPORTED,
		    "CAR: the root is not a CIDv0 (Qm…), the form a STORE item_hash takes");
		return NULL;
	}
	if (!car_walk (&ctx, root->data, root->len, 0, error))
		return NULL;
	if (file_size != NULL)
		*file_size = ctx.written;
	return ac_cid_v0_to_string (root->data);
}
