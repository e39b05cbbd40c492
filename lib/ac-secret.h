/*
 * aleph-confidential: secrets in locked, never-dumped memory, cleansed when freed (passphrases,
 * keyfiles, keys).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/*
 * AcSecret: a byte string that is locked in memory where possible and cleansed when freed.
 * @data is always NUL-terminated (the NUL is not counted in @len). Never log it.
 */
typedef struct {
	gchar *data;
	gsize len;
} AcSecret;

AcSecret *ac_secret_new (const gchar *data, gsize len);
AcSecret *ac_secret_new_random_bytes (gsize len, GError **error);
AcSecret *ac_secret_generate_passphrase (guint nchars, GError **error);
AcSecret *ac_secret_generate_keyfile (GError **error);
AcSecret *ac_secret_dup (const AcSecret *secret);
gboolean ac_secret_check_ascii (const AcSecret *secret, GError **error);
void ac_secret_free (AcSecret *secret);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (AcSecret, ac_secret_free)

G_END_DECLS
