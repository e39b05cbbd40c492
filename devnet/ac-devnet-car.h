/*
 * aleph-confidential devnet: the file inside an uploaded CAR (ipfs/add_car) — every block's
 * hash checked by the CAR reader, then the UnixFS DAG walked from the single CIDv0 root and
 * the file written out so CRNs can fetch it. Hostile input: bounded depth, size and counts.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define AC_DEVNET_CAR_MAX_DEPTH 32

/* Writes the file to @out (may be NULL: only check); returns the root CID (base58 CIDv0). */
gchar *
ac_devnet_car_extract (const guint8 *data,
                       gsize len,
                       guint64 max_file_size,
                       GOutputStream *out,
                       guint64 *file_size,
                       GError **error);

G_END_DECLS
