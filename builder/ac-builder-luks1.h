/*
 * aleph-confidential: a deterministic LUKS1 header writer for reproducible builds, and the
 * deterministic random stream that feeds it.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

#include "ac-builder-luks.h"
#include "ac-secret.h"

G_BEGIN_DECLS

typedef struct _AcDrbg AcDrbg;

AcDrbg *ac_drbg_new (const AcSecret *passphrase, const gchar *seed, guint32 iterations, GError **error);
void ac_drbg_generate (AcDrbg *self, const gchar *label, guint8 *out, gsize len);
gchar *ac_drbg_uuid (AcDrbg *self, const gchar *label);
void ac_drbg_free (AcDrbg *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AcDrbg, ac_drbg_free)

gboolean ac_luks1_write (const gchar *header_path,
			 const AcLuksParams *params,
			 const AcSecret *passphrase,
			 const AcSecret *keyfile,
			 AcDrbg *drbg,
			 guint64 *data_offset,
			 AcSecret **volume_key,
			 GError **error);

G_END_DECLS
