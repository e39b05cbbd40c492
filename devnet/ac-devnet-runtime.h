/*
 * aleph-confidential devnet: the default SEV-SNP instance runtime the devnet publishes at
 * startup, signed by its own account — the bundle (a deterministic tar.gz of OVMF, kernel and
 * initrd) and its aleph-instance-runtime/1 manifest, each a STORE; the ready line names the
 * manifest's STORE. The files are synthetic stand-ins (the devnet boots nothing): only their
 * bytes are measured.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "ac-devnet-state.h"

G_BEGIN_DECLS

/* the files of a runtime directory, and where they go in the bundle (the manifest's members) */
#define AC_DEVNET_RUNTIME_OVMF "OVMF.fd"
#define AC_DEVNET_RUNTIME_KERNEL "vmlinuz"
#define AC_DEVNET_RUNTIME_INITRD "initrd.img"
#define AC_DEVNET_RUNTIME_MEMBER_OVMF "ovmf/OVMF.fd"
#define AC_DEVNET_RUNTIME_MEMBER_KERNEL "boot/vmlinuz"
#define AC_DEVNET_RUNTIME_MEMBER_INITRD "boot/initrd.img"
#define AC_DEVNET_RUNTIME_CMDLINE "console=ttyS0 luks=1 owner={owner}"
#define AC_DEVNET_RUNTIME_PORT 8443
/* the largest runtime file read */
#define AC_DEVNET_RUNTIME_MAX_FILE (256 * 1024 * 1024)

/* the canonical JSON (sorted keys, compact) of the manifest of a bundle STORE @bundle_ref
 * whose tar.gz has @sha256 (hex) and @size bytes */
gchar *
ac_devnet_runtime_manifest (const gchar *bundle_ref, const gchar *sha256, guint64 size);

/* reads the runtime directory (self->snp_runtime_dir), publishes the bundle and the manifest;
 * sets self->snp_runtime_item_hash (the manifest's STORE) */
gboolean
ac_devnet_runtime_publish (AcDevnet *self, GError **error);

G_END_DECLS
