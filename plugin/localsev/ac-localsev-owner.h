/*
 * The owner's signature on launch records: prepare ships each record, signed with the owner's
 * Ethereum key (aleph-client's key file, the one that signs Aleph messages), in the domain's
 * metadata, so that the hook of a host the service drives over qemu+ssh:// — which does not
 * share the service's state directory — accepts exactly the launch the owner prepared
 * ([hook] owners= on that host names the address).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "ac-localsev.h"

G_BEGIN_DECLS

/*
 * Sets opts->sign to sign with the key in @key_file (NULL = aleph-client's default path; a JSON
 * keystore is opened with the first line of @password_file, else a password asked on a terminal).
 * A missing key file is fine unless @required (then %AC_ERROR_NOT_FOUND naming the file);
 * an unreadable or malformed one is an error. *address (nullable) gets the signer's address,
 * or NULL when no key was loaded. The same key is the SEV-SNP owner: opts->snp_owner (its
 * address, measured in the command line) and opts->snp_sign (the injection's signature).
 */
gboolean ac_localsev_options_set_owner_key (AcLocalsevOptions *opts,
					    const gchar *key_file,
					    const gchar *password_file,
					    gboolean required,
					    gchar **address,
					    GError **error);

G_END_DECLS
