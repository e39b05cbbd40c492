/*
 * Launch secrets: the EFI secret table (Aleph's format, the one Aleph's GRUB unlocks; libvirt's;
 * sevctl's), the 52-byte LAUNCH_SECRET packet header and the AES-128-CTR payload. Buffers that
 * hold secrets are cleansed when released.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define AC_SEV_SECRET_HEADER_SIZE	 52
#define AC_SEV_SECRET_GUID_TABLE	 "1e74f542-71dd-4d66-963e-ef4287ff173b"
#define AC_SEV_SECRET_GUID_DISK_PASSWORD "736869e5-84f0-4973-92ec-06879ce3da0b"
#define AC_SEV_SECRET_MAX_PAYLOAD	 (1024 * 1024)

typedef enum {
	/* Aleph's client (utils.py make_secret_table): value ‖ NUL, table length = padded
	 * length, zero padding to 16 — what Aleph's OVMF/GRUB unlocks */
	AC_SEV_SECRET_TABLE_ALEPH,
	/* virt-qemu-sev-validate: value verbatim, unpadded length, 1-16 bytes of padding */
	AC_SEV_SECRET_TABLE_LIBVIRT,
	/* sevctl secret build: value verbatim, unpadded length, 0-15 bytes of padding */
	AC_SEV_SECRET_TABLE_SEVCTL,
} AcSevSecretTableFormat;

gboolean ac_sev_secret_table_format_from_string (const gchar *str,
						 AcSevSecretTableFormat *format,
						 GError **error);

typedef struct _AcSevSecretTable AcSevSecretTable;

AcSevSecretTable *ac_sev_secret_table_new (void);
void ac_sev_secret_table_free (AcSevSecretTable *self);
gboolean ac_sev_secret_table_add (AcSevSecretTable *self,
				  const gchar *guid_or_alias,
				  const guint8 *data,
				  gsize len,
				  GError **error);
guint ac_sev_secret_table_get_size (AcSevSecretTable *self);
const guint8 *ac_sev_secret_table_get_guid (AcSevSecretTable *self, guint idx);
GBytes *ac_sev_secret_table_get_data (AcSevSecretTable *self, guint idx);
GBytes *ac_sev_secret_table_lookup (AcSevSecretTable *self, const gchar *guid);
GBytes *ac_sev_secret_table_build (AcSevSecretTable *self,
				   AcSevSecretTableFormat format,
				   GError **error);
AcSevSecretTable *ac_sev_secret_table_parse (const guint8 *data, gsize len, GError **error);

/* the disk passphrase in Aleph's format (ASCII only, as Aleph's client requires) */
GBytes *ac_sev_secret_table_build_aleph_passphrase (const gchar *passphrase, GError **error);

/* ---- LAUNCH_SECRET packet ---- */

/* the builder that takes raw keys is private to sev/ (ac-sev-secret-private.h): a secret is
 * sealed only for a verified launch, through ac-sev-owner.h */
gboolean ac_sev_secret_packet_open (const guint8 tek[16],
				    const guint8 tik[16],
				    const guint8 measure[32],
				    guint8 api_major,
				    guint8 api_minor,
				    const guint8 *header,
				    gsize header_len,
				    const guint8 *payload,
				    gsize payload_len,
				    GBytes **plaintext,
				    GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (AcSevSecretTable, ac_sev_secret_table_free)

G_END_DECLS
