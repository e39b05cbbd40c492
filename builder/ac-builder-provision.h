/*
 * aleph-confidential: provisioners run on the guest tree — file copies, shell in a chroot, and
 * the Aleph provisioner (cryptsetup-initramfs, keyfile slot, crypttab, fstab, GRUB cryptodisk,
 * initramfs).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

#include "ac-builder-run.h"
#include "ac-secret.h"
#include "ac-builder-template.h"

G_BEGIN_DECLS

typedef struct {
	const gchar *root;          /* the guest tree */
	const gchar *esp_dir;       /* the ESP tree */
	const gchar *luks_uuid;
	const gchar *fs_uuid;
	const gchar *esp_volume_id; /* XXXX-XXXX */
	const AcSecret *keyfile;    /* the initramfs keyfile (LUKS slot 1) */
} AcProvisionContext;

typedef struct _AcChroot AcChroot;

AcChroot *ac_chroot_enter (const gchar *root, AcCleanup *cleanup, GError **error);
gboolean ac_chroot_leave (AcChroot *self, GError **error);
gboolean ac_chroot_run (AcChroot *self,
			const gchar *script,
			const gchar *const *env,
			GCancellable *cancellable,
			gchar **output,
			GError **error);
void ac_chroot_free (AcChroot *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AcChroot, ac_chroot_free)

gboolean ac_guest_write_file (const gchar *root,
			      const gchar *guest_path,
			      const gchar *data,
			      gsize len,
			      guint mode,
			      GError **error);
gchar *ac_guest_read_file (const gchar *root, const gchar *guest_path, GError **error);
gboolean ac_guest_copy (const gchar *root,
			const gchar *host_path,
			const gchar *guest_path,
			guint mode,
			GError **error);
gchar *ac_config_set_var (const gchar *text, const gchar *key, const gchar *value);

gboolean ac_provision_run (const AcTemplateProvisioner *p,
			   const AcProvisionContext *ctx,
			   AcChroot **chroot,
			   AcCleanup *cleanup,
			   GCancellable *cancellable,
			   GError **error);

G_END_DECLS
