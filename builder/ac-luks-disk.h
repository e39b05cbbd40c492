/*
 * A published image's LUKS header and a passphrase: find partition 2 of an SEV (GPT) image,
 * take its LUKS1 header area and check a passphrase against it with libcryptsetup (no
 * device-mapper), or do the same with the LUKS2 header at the start of an SEV-SNP rootfs.
 * The devnet's CRN uses it as its proof that the right key arrived; the flow uses it to check
 * the passphrase of an existing image (<aleph:publish rootfs>) before anything is posted.
 * The GPT and LUKS bytes come from the network: every field is bounded before use.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define AC_LUKS_DISK_SECTOR 512
#define AC_LUKS_DISK_GPT_SCAN_SIZE                                                                    \
	(1024 * 1024) /* the GPT (header + entries) must lie in the first MiB */
#define AC_LUKS_DISK_LUKS1_PHDR_SIZE 592
#define AC_LUKS_DISK_LUKS_MAX_HEADER (32 * 1024 * 1024)

guint32
ac_luks_disk_crc32 (guint32 crc, const guint8 *data, gsize len);

/* The byte range of partition @partno (1-based) from the first bytes of a disk (@data, at most
 * AC_LUKS_DISK_GPT_SCAN_SIZE) of total size @disk_size. Checks the protective MBR, both CRCs, the
 * entry geometry and that the partition lies inside the disk. */
gboolean
ac_luks_disk_gpt_find_partition (const guint8 *data,
                                   gsize len,
                                   guint64 disk_size,
                                   guint partno,
                                   guint64 *offset,
                                   guint64 *size,
                                   GError **error);

/* The LUKS1 header area size (payloadOffset) from a phdr of at least AC_LUKS_DISK_LUKS1_PHDR_SIZE
 * bytes, bounded by @partition_size and AC_LUKS_DISK_LUKS_MAX_HEADER. */
gboolean
ac_luks_disk_luks1_header_size (const guint8 *phdr,
                                  gsize len,
                                  guint64 partition_size,
                                  guint64 *size,
                                  GError **error);

/* TRUE when @passphrase opens a key slot of the LUKS1 header on partition 2 of @image_path;
 * AC_ERROR_MISMATCH when it opens none. @workdir holds the temporary header copy (0600). */
gboolean
ac_luks_disk_luks_check_passphrase (const gchar *image_path,
                                      const gchar *workdir,
                                      const guint8 *passphrase,
                                      gsize passphrase_len,
                                      gint *keyslot,
                                      GError **error);

/* SEV-SNP instances: the rootfs is a raw LUKS2 container, its header at offset 0 */

/* Reads bytes [@offset, @offset + @len) of a disk into @buf (from a file, or from the network
 * in parts); FALSE with @error. */
typedef gboolean (*AcLuksDiskReadFunc) (gpointer user_data,
                                        guint64 offset,
                                        guint8 *buf,
                                        gsize len,
                                        GError **error);

/* @passphrase against the LUKS header of a disk of @disk_size bytes read through @read: LUKS1
 * on GPT partition 2 (the first AC_LUKS_DISK_GPT_SCAN_SIZE bytes, then the phdr and its key
 * material up to payloadOffset) or, with @luks2, the LUKS2 container at offset 0 (both header
 * copies, checked as the guest checks them, then up to the first data segment: the key slot
 * area). Nothing else of the disk is read; each header area is bounded by
 * AC_LUKS_DISK_LUKS_MAX_HEADER. @workdir holds a temporary 0600 copy of it. AC_ERROR_MISMATCH
 * when the passphrase opens no key slot. */
gboolean
ac_luks_disk_check_passphrase_read (AcLuksDiskReadFunc read,
                                    gpointer user_data,
                                    guint64 disk_size,
                                    gboolean luks2,
                                    const gchar *workdir,
                                    const guint8 *passphrase,
                                    gsize passphrase_len,
                                    gint *keyslot,
                                    GError **error);

/* the LUKS2 header at the start of @image_path checked as the guest's initrd checks it
 * (sev/ac-snp-luks2.h: aes-xts-plain64 everywhere, both copies), then loaded by libcryptsetup */
gboolean
ac_luks_disk_luks2_validate (const gchar *image_path, GError **error);

/* the header validated, then TRUE when @passphrase opens one of its key slots (checked with
 * libcryptsetup, nothing activated: no device-mapper needed); AC_ERROR_MISMATCH when it opens
 * none */
gboolean
ac_luks_disk_luks2_check_passphrase (const gchar *image_path,
                                       const guint8 *passphrase,
                                       gsize passphrase_len,
                                       gint *keyslot,
                                       GError **error);

G_END_DECLS
