/*
 * aleph-confidential: the LUKS1 header of the root partition, or the LUKS2 header of an SEV-SNP
 * root image (libcryptsetup on a plain file).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

#include "ac-secret.h"

G_BEGIN_DECLS

typedef struct {
	const gchar *cipher;      /* "aes" */
	const gchar *cipher_mode; /* "xts-plain64" */
	guint key_bytes;          /* 32 or 64 */
	const gchar *hash;        /* PBKDF2 and digest hash: "sha256" */
	guint32 iterations;       /* PBKDF2 iterations of the passphrase slot; 0 = 2 s benchmark */
	const gchar *uuid;        /* NULL = random */
} AcLuksParams;

typedef struct {
	gchar *uuid;
	gchar *cipher;
	gchar *cipher_mode;
	gchar *hash;
	guint key_bytes;
	guint64 data_offset; /* bytes from the start of the header */
	gint keyslot;        /* the slot the secret opened */
	guint version;       /* 1 or 2 */
	gchar *pbkdf;        /* of that slot: "pbkdf2", "argon2id"… */
	guint32 iterations;  /* of that slot (PBKDF2) */
	guint32 sector_size; /* bytes per encrypted sector (LUKS1: 512) */
} AcLuksInfo;

void ac_luks_info_free (AcLuksInfo *info);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AcLuksInfo, ac_luks_info_free)

gboolean ac_luks_format (const gchar *header_path,
			 const AcLuksParams *params,
			 const AcSecret *passphrase,
			 const AcSecret *keyfile,
			 guint64 *data_offset,
			 AcSecret **volume_key,
			 GError **error);

gboolean ac_luks2_format (const gchar *header_path,
			  const AcLuksParams *params,
			  const AcSecret *passphrase,
			  guint64 *data_offset,
			  AcSecret **volume_key,
			  GError **error);

AcLuksInfo *ac_luks2_open (const gchar *path,
			   const AcSecret *secret,
			   AcSecret **volume_key,
			   GError **error);

AcLuksInfo *ac_luks_open (const gchar *header_path,
			  const AcSecret *secret,
			  AcSecret **volume_key,
			  GError **error);

G_END_DECLS
