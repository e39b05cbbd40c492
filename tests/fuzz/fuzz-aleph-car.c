/*
 * Fuzz the CARv1 reader and the dag-pb / UnixFS decoders on every block it yields.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <stdint.h>

#include "ac-car.h"
#include "ac-unixfs.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static gboolean
block_cb (const guint8 *cid, gsize cid_len, const guint8 *data, gsize data_len, gpointer user_data,
	  GError **error)
{
	AcDagPbNode *node = ac_dagpb_decode (data, data_len, NULL);
	if (node != NULL && node->data != NULL) {
		AcUnixfsData u;
		if (ac_unixfs_data_decode (node->data->data, node->data->len, &u, NULL))
			ac_unixfs_data_clear (&u);
	}
	ac_dagpb_node_free (node);
	return TRUE;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
	GPtrArray *roots = NULL;
	AcDagPbNode *node;

	if (size > 4 * 1024 * 1024)
		return 0;
	if (ac_car_parse (data, size, &roots, block_cb, NULL, NULL))
		g_ptr_array_unref (roots);
	/* the same bytes as a bare dag-pb node */
	node = ac_dagpb_decode (data, size, NULL);
	if (node != NULL && node->data != NULL) {
		AcUnixfsData u;
		if (ac_unixfs_data_decode (node->data->data, node->data->len, &u, NULL))
			ac_unixfs_data_clear (&u);
	}
	ac_dagpb_node_free (node);
	return 0;
}
