/*
 * aleph-confidential: libguestfs as an optional backend for the file and shell provisioners.
 *
 * The guest tree becomes a scratch ext4 image (mkfs.ext4 -d), libguestfs runs the provisioners
 * inside it with the guest's own /bin/sh in its appliance VM, and the tree is read back with
 * tar_out. libguestfs never touches the LUKS layer.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

#include "ac-builder-template.h"

G_BEGIN_DECLS

typedef struct _AcGuestfs AcGuestfs;

AcGuestfs *ac_guestfs_open (const gchar *root,
			    const gchar *workdir,
			    GCancellable *cancellable,
			    GError **error);
gboolean ac_guestfs_provision (AcGuestfs *self,
			       const AcTemplateProvisioner *p,
			       GCancellable *cancellable,
			       GError **error);
gboolean ac_guestfs_close (AcGuestfs *self, GCancellable *cancellable, GError **error);
gdouble ac_guestfs_get_launch_seconds (AcGuestfs *self);
void ac_guestfs_free (AcGuestfs *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AcGuestfs, ac_guestfs_free)

G_END_DECLS
