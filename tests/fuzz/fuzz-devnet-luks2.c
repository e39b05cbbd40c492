/*
 * Fuzz target: the guest initrd's check of a LUKS2 header's JSON metadata, as the devnet's
 * CRN applies it to a published rootfs. Property: accepted metadata names at least one
 * segment, and every "aes-xts-plain64" it accepts is really there.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ac-devnet-disk.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
	if (ac_devnet_disk_luks2_check_metadata ((const gchar *)data, size, NULL)) {
		/* at least one crypt segment with the cipher: the text must carry both */
		if (g_strstr_len ((const gchar *)data, (gssize)size, "aes-xts-plain64") == NULL
		    || g_strstr_len ((const gchar *)data, (gssize)size, "crypt") == NULL)
			abort ();
	}
	return 0;
}
