/*
 * aleph-confidential: Ethereum (secp256k1) accounts as aleph-client uses them — EIP-55 addresses,
 * EIP-191 personal_sign with RFC 6979 low-s signatures and recovery, the 32-byte raw key file.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define AC_ETH_SIGNATURE_LEN 65
#define AC_ETH_ADDRESS_LEN 20
#define AC_ETH_PRIVATE_KEY_LEN 32

typedef struct _AcEthAccount AcEthAccount;

AcEthAccount *ac_eth_account_new_from_private_key (const guint8 *key, gsize key_len, GError **error);
AcEthAccount *ac_eth_account_generate (GError **error);
AcEthAccount *ac_eth_account_load_key_file (const gchar *path, GError **error);
AcEthAccount *ac_eth_account_load_key_file_full (const gchar *path,
						 const gchar *password_file,
						 GError **error);
gboolean ac_eth_account_save_key_file (AcEthAccount *self, const gchar *path, GError **error);
void ac_eth_account_free (AcEthAccount *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AcEthAccount, ac_eth_account_free)

const gchar *ac_eth_account_get_address (AcEthAccount *self);
const guint8 *ac_eth_account_get_public_key (AcEthAccount *self); /* 64 bytes X||Y */

/* EIP-191 personal_sign over @msg: r||s||v with v = 27 + recovery id */
gboolean ac_eth_account_sign_personal (AcEthAccount *self,
				       const guint8 *msg,
				       gsize msg_len,
				       guint8 sig[AC_ETH_SIGNATURE_LEN],
				       GError **error);
gchar *ac_eth_account_sign_personal_hex (AcEthAccount *self,
					 const guint8 *msg,
					 gsize msg_len,
					 GError **error);

void ac_eth_personal_digest (const guint8 *msg, gsize msg_len, guint8 digest[32]);
gboolean ac_eth_recover_personal (const guint8 *msg,
				  gsize msg_len,
				  const gchar *signature_hex,
				  gchar **address_out,
				  GError **error);

gchar *ac_eth_address_from_public_key (const guint8 pub[64]);
gchar *ac_eth_address_checksum (const guint8 addr[AC_ETH_ADDRESS_LEN]);
gboolean ac_eth_address_parse (const gchar *text, guint8 addr[AC_ETH_ADDRESS_LEN], GError **error);
gboolean ac_eth_address_equal (const gchar *a, const gchar *b);

gchar *ac_eth_default_key_path (void);

G_END_DECLS
