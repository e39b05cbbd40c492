/*
 * aleph-confidential devnet: SEV platform identities. One devnet root (ARK + ASK, RSA) signs the
 * CEK of every CRN's software PSP; a client trusts them only when given that root explicitly.
 * Identities live in the state directory (ac_sev_psp_save() layout) and are reused on restart.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

#include "ac-sev-psp.h"

G_BEGIN_DECLS

/* Loads the identity saved in @dir, or generates one with its own ARK/ASK of @rsa_bits and
 * saves it there (atomically: concurrent creators end up with the same identity). */
AcSevPsp *
ac_devnet_identity_root (const gchar *dir, guint rsa_bits, GError **error);

/* Loads the identity in @dir, or makes one whose CEK is signed by the ASK of the root in
 * @root_dir (fresh P-384 CEK, OCA, PEK, PDH) and saves it there. */
AcSevPsp *
ac_devnet_identity_platform (const gchar *dir, const gchar *root_dir, GError **error);

G_END_DECLS
