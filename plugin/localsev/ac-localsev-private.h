/*
 * Internals of ac-localsev.c shared with its fuzz targets: the strict base64 decoder and the
 * chain built from what a host reports (virNodeGetSEVInfo). Not for other users.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "ac-error.h"
#include "ac-localsev.h"

G_BEGIN_DECLS

guint8 *ac_localsev_b64_decode (const gchar *text,
				const gchar *what,
				gsize min_len,
				gsize max_len,
				AcError code,
				gsize *out_len,
				GError **error);
AcSevChain *ac_localsev_host_chain (const gchar *host_name,
				    const AcSevHostInfo *info,
				    const AcLocalsevOptions *opts,
				    gchar **pdh_sha256,
				    GCancellable *cancellable,
				    GError **error);

G_END_DECLS
