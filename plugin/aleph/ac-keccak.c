/*
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Keccak-f[1600] with rate 1088 bits and the Keccak padding (0x01 … 0x80), as Ethereum uses it.
 */
#include "config.h"

#include <string.h>

#include "ac-keccak.h"

#define ROTL64(x, n) (((x) << (n)) | ((x) >> (64 - (n))))

static const guint64 keccak_rc[24] = {
	0x0000000000000001ULL, 0x0000000000008082ULL, 0x800000000000808aULL, 0x8000000080008000ULL,
	0x000000000000808bULL, 0x0000000080000001ULL, 0x8000000080008081ULL, 0x8000000000008009ULL,
	0x000000000000008aULL, 0x0000000000000088ULL, 0x0000000080008009ULL, 0x000000008000000aULL,
	0x000000008000808bULL, 0x800000000000008bULL, 0x8000000000008089ULL, 0x8000000000008003ULL,
	0x8000000000008002ULL, 0x8000000000000080ULL, 0x000000000000800aULL, 0x800000008000000aULL,
	0x8000000080008081ULL, 0x8000000000008080ULL, 0x0000000080000001ULL, 0x8000000080008008ULL,
};

/* rotation offsets and lane permutation (pi) in the order of the rho-pi walk */
static const guint keccak_rotc[24] = { 1,  3,  6,  10, 15, 21, 28, 36, 45, 55, 2,  14,
				       27, 41, 56, 8,  25, 43, 62, 18, 39, 61, 20, 44 };
static const guint keccak_piln[24] = { 10, 7,  11, 17, 18, 3, 5,  16, 8,  21, 24, 4,
				       15, 23, 19, 13, 12, 2, 20, 14, 22, 9,  6,  1 };

static void
keccak_f1600 (guint64 st[25])
{
	guint64 bc[5];
	guint64 t;

	for (guint round = 0; round < 24; round++) {
		/* theta */
		for (guint i = 0; i < 5; i++)
			bc[i] = st[i] ^ st[i + 5] ^ st[i + 10] ^ st[i + 15] ^ st[i + 20];
		for (guint i = 0; i < 5; i++) {
			t = bc[(i + 4) % 5] ^ ROTL64 (bc[(i + 1) % 5], 1);
			for (guint j = 0; j < 25; j += 5)
				st[j + i] ^= t;
		}
		/* rho and pi */
		t = st[1];
		for (guint i = 0; i < 24; i++) {
			guint j = keccak_piln[i];
			bc[0] = st[j];
			st[j] = ROTL64 (t, keccak_rotc[i]);
			t = bc[0];
		}
		/* chi */
		for (guint j = 0; j < 25; j += 5) {
			for (guint i = 0; i < 5; i++)
				bc[i] = st[j + i];
			for (guint i = 0; i < 5; i++)
				st[j + i] ^= (~bc[(i + 1) % 5]) & bc[(i + 2) % 5];
		}
		/* iota */
		st[0] ^= keccak_rc[round];
	}
}

static void
keccak_absorb_block (AcKeccak256 *ctx, const guint8 *block)
{
	for (guint i = 0; i < sizeof (ctx->buf) / 8; i++) {
		guint64 lane = 0;
		for (guint b = 0; b < 8; b++)
			lane |= (guint64)block[i * 8 + b] << (8 * b);
		ctx->state[i] ^= lane;
	}
	keccak_f1600 (ctx->state);
}

void
ac_keccak256_init (AcKeccak256 *ctx)
{
	memset (ctx, 0, sizeof (*ctx));
}

void
ac_keccak256_update (AcKeccak256 *ctx, const guint8 *data, gsize len)
{
	const gsize rate = sizeof (ctx->buf);

	if (ctx->buf_len > 0) {
		gsize take = MIN (rate - ctx->buf_len, len);
		memcpy (ctx->buf + ctx->buf_len, data, take);
		ctx->buf_len += take;
		data += take;
		len -= take;
		if (ctx->buf_len < rate)
			return;
		keccak_absorb_block (ctx, ctx->buf);
		ctx->buf_len = 0;
	}
	while (len >= rate) {
		keccak_absorb_block (ctx, data);
		data += rate;
		len -= rate;
	}
	if (len > 0) {
		memcpy (ctx->buf, data, len);
		ctx->buf_len = len;
	}
}

void
ac_keccak256_final (AcKeccak256 *ctx, guint8 out[AC_KECCAK256_LEN])
{
	const gsize rate = sizeof (ctx->buf);

	memset (ctx->buf + ctx->buf_len, 0, rate - ctx->buf_len);
	ctx->buf[ctx->buf_len] ^= 0x01;
	ctx->buf[rate - 1] ^= 0x80;
	keccak_absorb_block (ctx, ctx->buf);
	for (guint i = 0; i < AC_KECCAK256_LEN; i++)
		out[i] = (guint8)(ctx->state[i / 8] >> (8 * (i % 8)));
	memset (ctx, 0, sizeof (*ctx));
}

void
ac_keccak256 (const guint8 *data, gsize len, guint8 out[AC_KECCAK256_LEN])
{
	AcKeccak256 ctx;
	ac_keccak256_init (&ctx);
	ac_keccak256_update (&ctx, data, len);
	ac_keccak256_final (&ctx, out);
}
