/*
 * aleph-confidential: the LUKS2 header check an Aleph SEV-SNP guest makes before it opens its
 * root filesystem (docs/snp.md#the-rootfs-image): both header copies well formed, every key
 * slot and every segment aes-xts-plain64, at least one crypt segment. The builder runs it on
 * the image it made; it is the check for the devnet where it plays the guest's initrd.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define AC_LUKS2_BINARY_HEADER 4096       /* the binary part of one header */
#define AC_LUKS2_MIN_HDR_SIZE (16 * 1024) /* binary header + JSON area */
#define AC_LUKS2_MAX_HDR_SIZE (4 * 1024 * 1024)
#define AC_LUKS2_MAX_AREA (2 * AC_LUKS2_MAX_HDR_SIZE) /* both copies */
#define AC_LUKS2_CIPHER "aes-xts-plain64"

typedef struct {
	gchar *uuid;
	guint64 hdr_size; /* one copy: binary header and JSON area */
	guint64 seqid;
	guint keyslots;
	guint segments;
	guint crypt_segments;
	guint64 data_offset; /* bytes: the crypt segment with the lowest number */
	guint32 sector_size; /* of that segment */
} AcLuks2Header;

void
ac_luks2_header_free (AcLuks2Header *header);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AcLuks2Header, ac_luks2_header_free)

/* From the first AC_LUKS2_BINARY_HEADER bytes of a device: how many bytes from its start
 * ac_luks2_check_header() needs (both copies, 2 × hdr_size). %AC_ERROR_INVALID_INPUT when it
 * is not a LUKS2 primary header or its size is not one LUKS2 allows. */
gboolean
ac_luks2_header_area_size (const guint8 *data, gsize len, gsize *needed, GError **error);

/* Checks the two header copies at the start of @data (at least 2 × hdr_size bytes; more is
 * ignored). %AC_ERROR_INVALID_INPUT: not a well-formed LUKS2 header (magic, version, size,
 * offsets, SHA-256 checksums, JSON, two copies that differ); %AC_ERROR_REFUSED: a key slot or
 * segment that is not aes-xts-plain64, no crypt segment, no key slot. */
AcLuks2Header *
ac_luks2_check_header (const guint8 *data, gsize len, GError **error);

/* ac_luks2_check_header() on the start of the file @path (a LUKS2 container at offset 0). */
AcLuks2Header *
ac_luks2_check_file (const gchar *path, GError **error);

G_END_DECLS
