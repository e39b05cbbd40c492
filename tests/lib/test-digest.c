/*
 * SHA-256 and SHA-384 (ac-digest): FIPS 180-2's examples, every length around the block
 * boundaries against OpenSSL's EVP, the empty input as a NULL pointer, and threads at once.
 * Built twice: on OpenSSL's block functions (the default) and with AC_DIGEST_EVP (what an
 * OpenSSL without the deprecated API gets).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <openssl/evp.h>
#include <string.h>

#include "ac-codec.h"
#include "ac-digest.h"

static void
assert_hex (const guint8 *md, gsize len, const gchar *expected)
{
	g_autofree gchar *hex = ac_codec_hex_encode (md, len);
	g_assert_cmpstr (hex, ==, expected);
}

/* FIPS 180-2, appendices B and D, and the empty message */
static void
test_known (void)
{
	const gchar *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	guint8 a[AC_SHA256_SIZE], b[AC_SHA384_SIZE];

	ac_sha256 ("abc", 3, a);
	assert_hex (a, sizeof (a),
	            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	ac_sha256 (two, strlen (two), a);
	assert_hex (a, sizeof (a),
	            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	ac_sha256 (NULL, 0, a);
	assert_hex (a, sizeof (a),
	            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	ac_sha384 ("abc", 3, b);
	assert_hex (b, sizeof (b),
	            "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed"
	            "8086072ba1e7cc2358baeca134c825a7");
	ac_sha384 (NULL, 0, b);
	assert_hex (b, sizeof (b),
	            "38b060a751ac96384cd9327eb1b1e36a21fdb71114be07434c0cc7bf63f6e1da"
	            "274edebfe76f65fbd51ad2f14898b95b");
}

static guint8 *
pseudo_random (gsize len)
{
	guint8 *p = g_malloc (len + 1);
	guint32 x = 2463534242u;
	for (gsize i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = (guint8)x;
	}
	return p;
}

static void
assert_like_evp (const guint8 *data, gsize len)
{
	guint8 ours[AC_SHA384_SIZE], theirs[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	ac_sha256 (data, len, ours);
	g_assert_cmpint (EVP_Digest (data, len, theirs, &n, EVP_sha256 (), NULL), ==, 1);
	g_assert_cmpmem (ours, AC_SHA256_SIZE, theirs, n);
	ac_sha384 (data, len, ours);
	g_assert_cmpint (EVP_Digest (data, len, theirs, &n, EVP_sha384 (), NULL), ==, 1);
	g_assert_cmpmem (ours, AC_SHA384_SIZE, theirs, n);
}

/* every length up to three SHA-512 blocks, a page, and a large odd one */
static void
test_like_evp (void)
{
	const gsize big = (1 << 20) + 3;
	g_autofree guint8 *data = pseudo_random (big);

	for (gsize len = 0; len <= 3 * 128 + 1; len++)
		assert_like_evp (data, len);
	/* unaligned starts */
	for (gsize off = 1; off < 8; off++)
		assert_like_evp (data + off, 4096);
	assert_like_evp (data, big);
}

static gpointer
hash_many (gpointer data)
{
	const guint8 *p = data;
	guint8 first[AC_SHA384_SIZE], again[AC_SHA384_SIZE];

	ac_sha384 (p, 65536, first);
	for (guint i = 0; i < 200; i++) {
		ac_sha384 (p, 65536, again);
		g_assert_cmpmem (first, sizeof (first), again, sizeof (again));
		ac_sha256 (p, 4096, again);
	}
	return NULL;
}

/* the launch digest hashes from several threads at once */
static void
test_threads (void)
{
	g_autofree guint8 *data = pseudo_random (65536);
	GThread *t[4];

	for (guint i = 0; i < G_N_ELEMENTS (t); i++)
		t[i] = g_thread_new ("digest", hash_many, data);
	for (guint i = 0; i < G_N_ELEMENTS (t); i++)
		g_thread_join (t[i]);
	assert_like_evp (data, 65536);
}

int
main (int argc, char **argv)
{
	g_test_init (&argc, &argv, NULL);
	g_test_add_func ("/digest/known", test_known);
	g_test_add_func ("/digest/like-evp", test_like_evp);
	g_test_add_func ("/digest/threads", test_threads);
	return g_test_run ();
}
