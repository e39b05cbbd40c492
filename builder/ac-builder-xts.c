/*
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The LUKS1 payload as dm-crypt would write it: AES-XTS per 512-byte sector, IV = the sector
 * number relative to the payload start, 64-bit little-endian, zero-padded to 16 bytes
 * ("plain64").
 *
 * Pipeline: the calling thread reads chunks (skipping the reads of holes: SEEK_DATA), a pool of
 * worker threads encrypts them in place and writes each at its own offset with pwrite(), so
 * reading, encrypting and writing overlap and completion order does not matter. A fixed set of
 * chunk buffers circulates between the queues: memory use is depth * chunk_size whatever the
 * image size.
 */

#include "config.h"

#include "ac-builder-xts.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ac-error.h"
#include "ac-secret.h"

gboolean
ac_pread_full (int fd, guint8 *buf, gsize len, guint64 off, GError **error)
{
	while (len > 0) {
		ssize_t n = pread (fd, buf, len, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			g_set_error (error, AC_ERROR, AC_ERROR_IO, "read at offset %" G_GUINT64_FORMAT
				     " failed: %s", off, g_strerror (errno));
			return FALSE;
		}
		if (n == 0) {
			g_set_error (error, AC_ERROR, AC_ERROR_IO,
				     "unexpected end of file at offset %" G_GUINT64_FORMAT
				     ": %" G_GSIZE_FORMAT " more bytes expected", off, len);
			return FALSE;
		}
		buf += n;
		len -= (gsize)n;
		off += (guint64)n;
	}
	return TRUE;
}

gboolean
ac_pwrite_full (int fd, const guint8 *buf, gsize len, guint64 off, GError **error)
{
	while (len > 0) {
		ssize_t n = pwrite (fd, buf, len, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			g_set_error (error, AC_ERROR, AC_ERROR_IO, "write at offset %" G_GUINT64_FORMAT
				     " failed: %s", off, n < 0 ? g_strerror (errno) : "no progress");
			return FALSE;
		}
		buf += n;
		len -= (gsize)n;
		off += (guint64)n;
	}
	return TRUE;
}

static const EVP_CIPHER *
ac_xts_cipher (gsize key_len, GError **error)
{
	if (key_len == 32)
		return EVP_aes_128_xts ();
	if (key_len == 64)
		return EVP_aes_256_xts ();
	g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		     "AES-XTS key of %" G_GSIZE_FORMAT " bytes: expected 32 (256 bits) or 64 (512 bits)",
		     key_len);
	return NULL;
}

static EVP_CIPHER_CTX *
ac_xts_ctx_new (const guint8 *key, gsize key_len, gboolean encrypt, GError **error)
{
	const EVP_CIPHER *cipher = ac_xts_cipher (key_len, error);
	EVP_CIPHER_CTX *ctx;
	if (cipher == NULL)
		return NULL;
	ctx = EVP_CIPHER_CTX_new ();
	if (ctx == NULL || EVP_CipherInit_ex (ctx, cipher, NULL, key, NULL, encrypt ? 1 : 0) != 1) {
		EVP_CIPHER_CTX_free (ctx);
		/* OpenSSL refuses XTS keys whose two halves are equal */
		g_set_error_literal (error, AC_ERROR, AC_ERROR_INTERNAL,
				     "AES-XTS key setup failed (identical key halves?)");
		return NULL;
	}
	return ctx;
}

static gboolean
ac_xts_ctx_crypt (EVP_CIPHER_CTX *ctx, guint64 first_sector, guint8 *buf, gsize len)
{
	for (gsize off = 0; off < len; off += AC_XTS_SECTOR) {
		guint8 iv[16] = { 0 };
		guint64 sector = first_sector + off / AC_XTS_SECTOR;
		int outl = 0;
		for (guint i = 0; i < 8; i++)
			iv[i] = (guint8)(sector >> (8 * i));
		if (EVP_CipherInit_ex (ctx, NULL, NULL, NULL, iv, -1) != 1)
			return FALSE;
		if (EVP_CipherUpdate (ctx, buf + off, &outl, buf + off, AC_XTS_SECTOR) != 1 ||
		    outl != AC_XTS_SECTOR)
			return FALSE;
	}
	return TRUE;
}

/**
 * ac_xts_crypt_sectors:
 *
 * Encrypts or decrypts @len bytes (a multiple of 512) in place, single-threaded; the first
 * sector has number @first_sector.
 */
gboolean
ac_xts_crypt_sectors (const guint8 *key,
		      gsize key_len,
		      gboolean encrypt,
		      guint64 first_sector,
		      guint8 *buf,
		      gsize len,
		      GError **error)
{
	EVP_CIPHER_CTX *ctx;
	gboolean ok;
	if (len % AC_XTS_SECTOR != 0) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			     "length %" G_GSIZE_FORMAT " is not a multiple of 512", len);
		return FALSE;
	}
	ctx = ac_xts_ctx_new (key, key_len, encrypt, error);
	if (ctx == NULL)
		return FALSE;
	ok = ac_xts_ctx_crypt (ctx, first_sector, buf, len);
	EVP_CIPHER_CTX_free (ctx);
	if (!ok) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_INTERNAL, "AES-XTS failed");
		return FALSE;
	}
	return TRUE;
}

typedef struct {
	guint8 *buf;
	guint8 *scratch; /* verify: the plaintext read back */
	gsize len;
	guint64 rel;
	gboolean hole;
	gboolean end;
} AcXtsChunk;

typedef struct {
	gboolean encrypt; /* TRUE: encrypt in_fd → out_fd; FALSE: decrypt in_fd, compare with ref */
	const guint8 *key;
	gsize key_len;
	int in_fd;
	guint64 in_off;
	int out_fd; /* encrypt: destination; verify: the plaintext reference */
	guint64 out_off;
	gboolean skip_holes;
	GAsyncQueue *work;
	GAsyncQueue *free;
	gint failed;
	GMutex lock;
	GError *error;
} AcXtsJob;

static void
ac_xts_job_fail (AcXtsJob *job, GError *error)
{
	g_mutex_lock (&job->lock);
	if (job->error == NULL)
		job->error = error;
	else
		g_error_free (error);
	g_mutex_unlock (&job->lock);
	g_atomic_int_set (&job->failed, 1);
}

static gboolean
ac_xts_process (AcXtsJob *job, EVP_CIPHER_CTX *ctx, AcXtsChunk *chunk, GError **error)
{
	if (chunk->hole && job->skip_holes)
		return TRUE;
	if (job->encrypt) {
		if (!ac_xts_ctx_crypt (ctx, chunk->rel / AC_XTS_SECTOR, chunk->buf, chunk->len)) {
			g_set_error_literal (error, AC_ERROR, AC_ERROR_INTERNAL, "AES-XTS failed");
			return FALSE;
		}
		return ac_pwrite_full (job->out_fd, chunk->buf, chunk->len,
				       job->out_off + chunk->rel, error);
	}
	if (!ac_xts_ctx_crypt (ctx, chunk->rel / AC_XTS_SECTOR, chunk->buf, chunk->len)) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_INTERNAL, "AES-XTS failed");
		return FALSE;
	}
	if (chunk->hole) {
		memset (chunk->scratch, 0, chunk->len);
	} else if (!ac_pread_full (job->out_fd, chunk->scratch, chunk->len,
				   job->out_off + chunk->rel, error)) {
		return FALSE;
	}
	if (memcmp (chunk->buf, chunk->scratch, chunk->len) != 0) {
		gsize i = 0;
		while (i < chunk->len && chunk->buf[i] == chunk->scratch[i])
			i++;
		g_set_error (error, AC_ERROR, AC_ERROR_MISMATCH,
			     "decrypted payload differs from the filesystem image at byte %" G_GUINT64_FORMAT
			     " (sector %" G_GUINT64_FORMAT ")",
			     chunk->rel + i, (chunk->rel + i) / AC_XTS_SECTOR);
		return FALSE;
	}
	return TRUE;
}

typedef struct {
	AcXtsJob *job;
	EVP_CIPHER_CTX *ctx;
} AcXtsWorker;

static gpointer
ac_xts_worker (gpointer data)
{
	AcXtsWorker *w = data;
	AcXtsJob *job = w->job;
	while (TRUE) {
		AcXtsChunk *chunk = g_async_queue_pop (job->work);
		if (chunk->end)
			break;
		if (!g_atomic_int_get (&job->failed)) {
			GError *error = NULL;
			if (!ac_xts_process (job, w->ctx, chunk, &error))
				ac_xts_job_fail (job, error);
		}
		ac_secret_wipe (chunk->buf, chunk->len);
		g_async_queue_push (job->free, chunk);
	}
	return NULL;
}

/* Is [pos, pos + len) of @fd a hole? Caches the last SEEK_DATA answer in @next_data. */
static gboolean
ac_xts_range_is_hole (int fd, guint64 pos, guint64 len, gint64 *next_data, guint64 *asked_at)
{
	if (*next_data < 0 || pos < *asked_at || (guint64)*next_data < pos) {
		off_t d = lseek (fd, (off_t)pos, SEEK_DATA);
		*asked_at = pos;
		if (d < 0)
			*next_data = errno == ENXIO ? G_MAXINT64 : (gint64)pos;
		else
			*next_data = d;
	}
	return (guint64)*next_data >= pos + len;
}

/* holes read as zeros, but so would the space after the end: refuse ranges past it */
static gboolean
ac_xts_check_size (int fd, guint64 off, guint64 length, GError **error)
{
	struct stat st;
	if (fstat (fd, &st) != 0) {
		g_set_error (error, AC_ERROR, AC_ERROR_IO, "cannot stat an input: %s",
			     g_strerror (errno));
		return FALSE;
	}
	if (S_ISREG (st.st_mode) && (guint64)st.st_size < off + length) {
		g_set_error (error, AC_ERROR, AC_ERROR_IO,
			     "input of %" G_GUINT64_FORMAT " bytes is shorter than the range %" G_GUINT64_FORMAT
			     "+%" G_GUINT64_FORMAT,
			     (guint64)st.st_size, off, length);
		return FALSE;
	}
	return TRUE;
}

/* @options with its defaults filled in, checked */
static gboolean
ac_xts_resolve_options (const AcXtsOptions *options, AcXtsOptions *opts, GError **error)
{
	if (options != NULL)
		*opts = *options;
	if (opts->chunk_size == 0)
		opts->chunk_size = 1024 * 1024;
	if (opts->workers == 0)
		opts->workers = CLAMP (g_get_num_processors (), 1, 8);
	if (opts->depth == 0)
		opts->depth = 2 * opts->workers + 2;
	if (opts->chunk_size % AC_XTS_SECTOR != 0 || opts->chunk_size > 64 * 1024 * 1024 ||
	    opts->depth < opts->workers) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			     "pipeline chunk size %" G_GSIZE_FORMAT " / depth %u: expected a multiple "
			     "of 512 up to 64 MiB and a depth of at least the %u workers",
			     opts->chunk_size, opts->depth, opts->workers);
		return FALSE;
	}
	return TRUE;
}

/* the buffers in flight and the threads that crypt them */
typedef struct {
	AcXtsChunk *chunks;
	AcXtsChunk *ends;
	AcXtsWorker *workers;
	GThread **threads;
} AcXtsPool;

/* every chunk onto the free queue, one cipher context and thread per worker */
static gboolean
ac_xts_pool_start (AcXtsJob *job, const AcXtsOptions *opts, AcXtsPool *pool, GError **error)
{
	pool->chunks = g_new0 (AcXtsChunk, opts->depth);
	for (guint i = 0; i < opts->depth; i++) {
		pool->chunks[i].buf = g_malloc (opts->chunk_size);
		if (!job->encrypt)
			pool->chunks[i].scratch = g_malloc (opts->chunk_size);
		g_async_queue_push (job->free, &pool->chunks[i]);
	}
	pool->workers = g_new0 (AcXtsWorker, opts->workers);
	pool->threads = g_new0 (GThread *, opts->workers);
	pool->ends = g_new0 (AcXtsChunk, opts->workers);
	for (guint i = 0; i < opts->workers; i++) {
		pool->workers[i].job = job;
		pool->workers[i].ctx = ac_xts_ctx_new (job->key, job->key_len, job->encrypt, error);
		if (pool->workers[i].ctx == NULL)
			return FALSE;
	}
	for (guint i = 0; i < opts->workers; i++)
		pool->threads[i] = g_thread_new ("ac-xts", ac_xts_worker, &pool->workers[i]);
	return TRUE;
}

/* ends the workers, then wipes and frees the buffers */
static void
ac_xts_pool_stop (const AcXtsOptions *opts, AcXtsJob *job, AcXtsPool *pool)
{
	for (guint i = 0; i < opts->workers; i++) {
		if (pool->threads[i] == NULL)
			continue;
		pool->ends[i].end = TRUE;
		g_async_queue_push (job->work, &pool->ends[i]);
	}
	for (guint i = 0; i < opts->workers; i++) {
		if (pool->threads[i] != NULL)
			g_thread_join (pool->threads[i]);
		if (pool->workers[i].ctx != NULL)
			EVP_CIPHER_CTX_free (pool->workers[i].ctx);
	}
	for (guint i = 0; i < opts->depth; i++) {
		ac_secret_wipe (pool->chunks[i].buf, opts->chunk_size);
		g_free (pool->chunks[i].buf);
		g_free (pool->chunks[i].scratch);
	}
	g_clear_pointer (&pool->chunks, g_free);
	g_clear_pointer (&pool->ends, g_free);
	g_clear_pointer (&pool->workers, g_free);
	g_clear_pointer (&pool->threads, g_free);
}

/* reads the range chunk by chunk into the work queue; a failure is the job's. Returns the
 * bytes that were holes. */
static guint64
ac_xts_feed (AcXtsJob *job,
	     const AcXtsOptions *opts,
	     guint64 length,
	     int hole_fd,
	     guint64 hole_off,
	     AcProgress *progress,
	     GCancellable *cancellable)
{
	guint64 rel = 0, hole_bytes = 0;
	gint64 next_data = -1;
	guint64 asked_at = 0;

	while (rel < length) {
		AcXtsChunk *chunk;
		GError *local = NULL;
		if (g_atomic_int_get (&job->failed))
			break;
		if (g_cancellable_set_error_if_cancelled (cancellable, &local)) {
			ac_xts_job_fail (job, g_error_new (AC_ERROR, AC_ERROR_CANCELLED,
							   "encryption interrupted: %s", local->message));
			g_error_free (local);
			break;
		}
		chunk = g_async_queue_pop (job->free);
		chunk->rel = rel;
		chunk->len = (gsize)MIN ((guint64)opts->chunk_size, length - rel);
		chunk->end = FALSE;
		chunk->hole = ac_xts_range_is_hole (hole_fd, hole_off + rel, chunk->len, &next_data,
						    &asked_at);
		if (chunk->hole)
			hole_bytes += chunk->len;
		if (job->encrypt && chunk->hole) {
			if (!job->skip_holes)
				memset (chunk->buf, 0, chunk->len);
		} else if (!(chunk->hole && job->skip_holes) &&
			   !ac_pread_full (job->in_fd, chunk->buf, chunk->len, job->in_off + rel,
					   &local)) {
			ac_xts_job_fail (job, local);
			g_async_queue_push (job->free, chunk);
			break;
		}
		g_async_queue_push (job->work, chunk);
		rel += chunk->len;
		if (progress != NULL)
			ac_progress_set_fraction (progress, rel, length);
	}
	return hole_bytes;
}

static gboolean
ac_xts_run (AcXtsJob *job,
	    guint64 length,
	    int hole_fd,
	    guint64 hole_off,
	    const AcXtsOptions *options,
	    AcProgress *progress,
	    GCancellable *cancellable,
	    AcXtsStats *stats,
	    GError **error)
{
	AcXtsOptions opts = { 0 };
	AcXtsPool pool = { 0 };
	guint64 hole_bytes = 0;
	gint64 start = g_get_monotonic_time ();
	gboolean ok;

	if (!ac_xts_resolve_options (options, &opts, error))
		return FALSE;
	if (length % AC_XTS_SECTOR != 0) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			     "payload length %" G_GUINT64_FORMAT " is not a multiple of 512", length);
		return FALSE;
	}
	if (!ac_xts_check_size (job->in_fd, job->in_off, length, error) ||
	    (!job->encrypt && !ac_xts_check_size (job->out_fd, job->out_off, length, error)))
		return FALSE;
	job->skip_holes = opts.skip_holes;
	job->work = g_async_queue_new ();
	job->free = g_async_queue_new ();
	g_mutex_init (&job->lock);
	(void)posix_fadvise (job->in_fd, (off_t)job->in_off, (off_t)length, POSIX_FADV_SEQUENTIAL);

	ok = ac_xts_pool_start (job, &opts, &pool, error);
	if (ok)
		hole_bytes = ac_xts_feed (job, &opts, length, hole_fd, hole_off, progress,
					  cancellable);
	ac_xts_pool_stop (&opts, job, &pool);

	g_async_queue_unref (job->work);
	g_async_queue_unref (job->free);
	g_mutex_clear (&job->lock);
	if (job->error != NULL) {
		g_propagate_error (error, job->error);
		return FALSE;
	}
	if (!ok)
		return FALSE;
	if (stats != NULL) {
		stats->bytes = length;
		stats->hole_bytes = hole_bytes;
		stats->elapsed_us = (guint64)(g_get_monotonic_time () - start);
	}
	return TRUE;
}

/**
 * ac_xts_encrypt_file_range:
 * @key: the LUKS volume key (32 or 64 bytes: AES-128- or AES-256-XTS)
 *
 * Encrypts @length bytes of @in_fd from @in_off into @out_fd at @out_off; sector 0 is the first
 * sector of the range. Holes of the input are not read; with @options->skip_holes they are not
 * written either (the output keeps a hole there, which decrypts to noise).
 */
gboolean
ac_xts_encrypt_file_range (const guint8 *key,
			   gsize key_len,
			   int in_fd,
			   guint64 in_off,
			   guint64 length,
			   int out_fd,
			   guint64 out_off,
			   const AcXtsOptions *options,
			   AcProgress *progress,
			   GCancellable *cancellable,
			   AcXtsStats *stats,
			   GError **error)
{
	AcXtsJob job = {
		.encrypt = TRUE,
		.key = key,
		.key_len = key_len,
		.in_fd = in_fd,
		.in_off = in_off,
		.out_fd = out_fd,
		.out_off = out_off,
	};
	return ac_xts_run (&job, length, in_fd, in_off, options, progress, cancellable, stats,
			   error);
}

/**
 * ac_xts_verify_file_range:
 *
 * Decrypts @length bytes of @enc_fd from @enc_off and compares them with @plain_fd from
 * @plain_off; fails with %AC_ERROR_MISMATCH naming the first differing byte. Holes of the
 * plaintext are compared with zeros (or skipped with @options->skip_holes).
 */
gboolean
ac_xts_verify_file_range (const guint8 *key,
			  gsize key_len,
			  int enc_fd,
			  guint64 enc_off,
			  guint64 length,
			  int plain_fd,
			  guint64 plain_off,
			  const AcXtsOptions *options,
			  AcProgress *progress,
			  GCancellable *cancellable,
			  AcXtsStats *stats,
			  GError **error)
{
	AcXtsJob job = {
		.encrypt = FALSE,
		.key = key,
		.key_len = key_len,
		.in_fd = enc_fd,
		.in_off = enc_off,
		.out_fd = plain_fd,
		.out_off = plain_off,
	};
	return ac_xts_run (&job, length, plain_fd, plain_off, options, progress, cancellable,
			   stats, error);
}
