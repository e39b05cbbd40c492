/*
 * Fuzz the Ethereum V3 keystore reader (a key file the user names is untrusted input): the
 * parser on every input, the key derivation and MAC check when the KDF is cheap enough to
 * run per input (scrypt n*r*p or pbkdf2 c up to 64).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <stdint.h>
#include <string.h>

#include "ac-eth-keystore.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
	g_autoptr (AcEthKeystore) ks = NULL;
	g_autoptr (AcSecret) password = NULL;
	g_autoptr (AcSecret) key = NULL;

	if (size > AC_ETH_KEYSTORE_MAX_SIZE + 16)
		return 0;
	(void)ac_eth_keystore_is_json (data, size);
	ks = ac_eth_keystore_parse ("fuzz", (const gchar *)data, size, NULL);
	if (ks == NULL)
		return 0;
	if ((ks->kdf == AC_ETH_KEYSTORE_KDF_SCRYPT && ks->n * ks->r * ks->p > 64)
	    || (ks->kdf == AC_ETH_KEYSTORE_KDF_PBKDF2 && ks->c > 64))
		return 0;
	password = ac_secret_new ("fuzz", 4);
	key = ac_eth_keystore_decrypt ("fuzz", ks, password, NULL);
	return 0;
}
