/*
 * aleph-confidential: streaming, pipelined AES-XTS (plain64 IVs) over file ranges.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

#include "ac-progress.h"

G_BEGIN_DECLS

#define AC_XTS_SECTOR 512

typedef struct {
	gsize chunk_size;    /* bytes per chunk, multiple of 512; 0 = 1 MiB */
	guint workers;       /* encrypting threads; 0 = number of CPUs (at most 8) */
	guint depth;         /* chunks in flight; 0 = 2 * workers + 2 */
	gboolean skip_holes; /* leave the plaintext's holes unwritten (reveals the allocation map) */
} AcXtsOptions;

typedef struct {
	guint64 bytes;      /* bytes processed */
	guint64 hole_bytes; /* of which were holes of the plaintext (not read from disk) */
	guint64 elapsed_us;
} AcXtsStats;

gboolean ac_xts_encrypt_file_range (const guint8 *key,
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
				    GError **error);

gboolean ac_xts_verify_file_range (const guint8 *key,
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
				   GError **error);

gboolean ac_xts_crypt_sectors (const guint8 *key,
			       gsize key_len,
			       gboolean encrypt,
			       guint64 first_sector,
			       guint8 *buf,
			       gsize len,
			       GError **error);

gboolean ac_pread_full (int fd, guint8 *buf, gsize len, guint64 off, GError **error);
gboolean ac_pwrite_full (int fd, const guint8 *buf, gsize len, guint64 off, GError **error);

G_END_DECLS
