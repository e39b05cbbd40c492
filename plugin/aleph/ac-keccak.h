/*
 * aleph-confidential: Keccak-256 (the original Keccak padding used by Ethereum, not SHA3-256).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define AC_KECCAK256_LEN 32

typedef struct {
	guint64 state[25];
	guint8 buf[136];
	gsize buf_len;
} AcKeccak256;

void ac_keccak256_init (AcKeccak256 *ctx);
void ac_keccak256_update (AcKeccak256 *ctx, const guint8 *data, gsize len);
void ac_keccak256_final (AcKeccak256 *ctx, guint8 out[AC_KECCAK256_LEN]);
void ac_keccak256 (const guint8 *data, gsize len, guint8 out[AC_KECCAK256_LEN]);

G_END_DECLS
