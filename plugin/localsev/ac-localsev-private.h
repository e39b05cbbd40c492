/*
 * Internals of ac-localsev.c shared with its fuzz targets and the other files of the flow: the
 * strict base64 decoder, the chain built from what a host reports (virNodeGetSEVInfo), and the
 * reader of string members of the flow's JSON files. Not for other users.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <json-glib/json-glib.h>

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

gboolean ac_localsev_json_get_str (JsonObject *o,
				   const gchar *what,
				   const gchar *name,
				   gboolean required,
				   gchar **out,
				   GError **error);

G_END_DECLS
