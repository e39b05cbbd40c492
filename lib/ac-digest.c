/*
 * aleph-confidential: SHA-256 and SHA-384 of a buffer.
 *
 * OpenSSL's block functions (SHA256_Init and friends, the same assembly EVP uses) rather than
 * EVP: a process's first EVP digest builds OpenSSL's table of every algorithm name (about 2 ms
 * here, under a lock every thread waits on), which `virt-aleph snp measure` would pay before
 * its first page. A digest takes no key, no randomness and no provider choice, so nothing is
 * lost by going under EVP. An OpenSSL built without the deprecated 3.0 API (or a build with
 * AC_DIGEST_EVP, which the unit test uses) gets EVP.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "ac-digest.h"

#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/evp.h>
#include <openssl/sha.h>

#if defined(OPENSSL_NO_DEPRECATED_3_0) && !defined(AC_DIGEST_EVP)
#define AC_DIGEST_EVP 1
#endif

#ifdef AC_DIGEST_EVP
static void
ac_digest_evp (const EVP_MD *md, const void *data, gsize len, guint8 *out, guint size)
{
	static const guint8 empty = 0;
	unsigned int olen = 0;

	/* fails only without memory, which GLib's allocator already treats as fatal */
	if (EVP_Digest (len > 0 ? data : &empty, len, out, &olen, md, NULL) != 1 || olen != size)
		g_error ("OpenSSL: cannot compute a digest");
}
#endif

void
ac_sha256 (const void *data, gsize len, guint8 out[AC_SHA256_SIZE])
{
#ifdef AC_DIGEST_EVP
	ac_digest_evp (EVP_sha256 (), data, len, out, AC_SHA256_SIZE);
#else
	SHA256_CTX c;

	SHA256_Init (&c);
	if (len > 0)
		SHA256_Update (&c, data, len);
	SHA256_Final (out, &c);
#endif
}

void
ac_sha384 (const void *data, gsize len, guint8 out[AC_SHA384_SIZE])
{
#ifdef AC_DIGEST_EVP
	ac_digest_evp (EVP_sha384 (), data, len, out, AC_SHA384_SIZE);
#else
	SHA512_CTX c;

	SHA384_Init (&c);
	if (len > 0)
		SHA384_Update (&c, data, len);
	SHA384_Final (out, &c);
#endif
}
