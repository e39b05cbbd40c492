/*
 * Fuzz target: ipfs/add_car uploads on the devnet CCN — CAR frames, CIDs, dag-pb and UnixFS
 * nodes, the DAG walk. Property: the file it extracts never exceeds the limit.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <gio/gio.h>
#include <stdint.h>
#include <stdlib.h>

#include "ac-devnet-car.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	g_autoptr(GOutputStream) out = g_memory_output_stream_new_resizable();
	g_autofree gchar *cid = NULL;
	guint64 fsize = 0;
	cid = ac_devnet_car_extract(data, size, 4 * 1024 * 1024, out, &fsize, NULL);
	if (cid != NULL
	    && (fsize > 4 * 1024 * 1024
	        || g_memory_output_stream_get_data_size(G_MEMORY_OUTPUT_STREAM(out)) != fsize))
		abort();
	return 0;
}
