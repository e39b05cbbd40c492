/*
 * The members of an Aleph SEV-SNP runtime bundle (the tar.gz a manifest's bundle.ref names):
 * its OVMF, kernel and initrd read out of the archive in memory, nothing written to disk. The
 * bundle must already be the manifest's (ac_snp_runtime_check_bundle); its content is read
 * strictly all the same: gzip, then plain ustar headers (checksum verified), each of the
 * manifest's three members exactly once as a regular file. What the reader does not model is
 * refused rather than guessed: pax and GNU extension headers (they can rename a member for
 * another reader), base-256 sizes, a member larger than AC_SNP_BUNDLE_MAX_MEMBER.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

#include "ac-snp-runtime.h"

G_BEGIN_DECLS

/* the largest member read into memory */
#define AC_SNP_BUNDLE_MAX_MEMBER (G_GUINT64_CONSTANT (512) * 1024 * 1024)

/*
 * @files gets the bundle's members named by @runtime (free them with g_bytes_unref). Other
 * members are skipped. AC_ERROR_INVALID_INPUT naming the problem (not gzip, a malformed or
 * unsupported header, a member missing, repeated or not a regular file, the archive cut short).
 */
gboolean
ac_snp_bundle_read_members (const AcSnpRuntime *runtime,
                            GBytes *bundle,
                            AcSnpRuntimeFiles *files,
                            GError **error);

G_END_DECLS
