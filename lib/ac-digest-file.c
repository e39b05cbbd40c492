/*
 * aleph-confidential: the SHA-256 of a whole file, streamed.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "ac-digest-file.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <unistd.h>

#include "ac-codec.h"
#include "ac-digest.h"
#include "ac-error.h"

#define AC_DIGEST_FILE_CHUNK (1024 * 1024)

/**
 * ac_sha256_fd_hex:
 * @fd: an open file, read with pread() from its start to its end (its offset is left alone)
 * @what: names the file in errors
 * @cancellable: (nullable): checked between chunks
 *
 * Returns: the SHA-256 of the file's bytes in lowercase hex, or %NULL with %AC_ERROR_IO (a
 * read failed) or %AC_ERROR_CANCELLED.
 */
gchar *
ac_sha256_fd_hex (int fd, const gchar *what, GCancellable *cancellable, GError **error)
{
	g_autofree guint8 *buf = g_malloc (AC_DIGEST_FILE_CHUNK);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new ();
	guint8 md[AC_SHA256_SIZE];
	guint64 off = 0;

	(void)posix_fadvise (fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	EVP_DigestInit_ex (ctx, EVP_sha256 (), NULL);
	while (TRUE) {
		ssize_t n = pread (fd, buf, AC_DIGEST_FILE_CHUNK, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int errsv = errno;
			g_set_error (error, AC_ERROR, AC_ERROR_IO, "cannot read %s: %s", what,
			             g_strerror (errsv));
			EVP_MD_CTX_free (ctx);
			return NULL;
		}
		if (n == 0)
			break;
		if (g_cancellable_is_cancelled (cancellable)) {
			g_set_error (error, AC_ERROR, AC_ERROR_CANCELLED,
			             "interrupted while hashing %s", what);
			EVP_MD_CTX_free (ctx);
			return NULL;
		}
		EVP_DigestUpdate (ctx, buf, (size_t)n);
		off += (guint64)n;
	}
	EVP_DigestFinal_ex (ctx, md, NULL);
	EVP_MD_CTX_free (ctx);
	return ac_codec_hex_encode (md, sizeof (md));
}
