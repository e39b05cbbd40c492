/*
 * aleph-confidential: SHA-256 and SHA-384 of a buffer, for measurements and content addresses.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define AC_SHA256_SIZE 32
#define AC_SHA384_SIZE 48

/* @data may be %NULL when @len is 0; neither can fail */
void
ac_sha256 (const void *data, gsize len, guint8 out[AC_SHA256_SIZE]);
void
ac_sha384 (const void *data, gsize len, guint8 out[AC_SHA384_SIZE]);

G_END_DECLS
