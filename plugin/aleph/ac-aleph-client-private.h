/*
 * aleph-confidential: what the CCN, CRN and Kubo clients share and nobody else uses.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

#include "ac-http.h"

G_BEGIN_DECLS

/* jittered exponential delay for the @attempt-th poll: never a fixed sleep */
guint
ac_aleph_client_poll_delay (guint first_ms, guint max_ms, guint attempt);

/* the CCN client (ac-ccn.c, ac-ccn-stored.c) */
struct _AcCcnClient {
	gchar *api;
	AcHttpClient *http;   /* borrowed */
	gchar *store_payment; /* payment.type of the STOREs we sign */
	guint poll_first_ms;
	guint poll_max_ms;
};

/* a plain file streamed as a multipart part (AcHttpPart's read and rewind) */
typedef struct {
	int fd;
	gchar *path;
	guint64 size;
} AcAlephFileSource;

gssize
ac_aleph_client_file_source_read (gpointer user_data, guint8 *buf, gsize len, GError **error);
gboolean
ac_aleph_client_file_source_rewind (gpointer user_data, GError **error);

G_END_DECLS
