/*
 * Fuzz the secret parsers: the EFI secret table (any of the three formats) and the
 * LAUNCH_SECRET packet (52-byte header ‖ payload) as the platform opens it. Input: one byte
 * selecting the case, then the bytes.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <stdint.h>

#include "ac-sev-secret.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
	static const guint8 tek[16] = { 1, 2, 3 };
	static const guint8 tik[16] = { 4, 5, 6 };
	static const guint8 measure[32] = { 7, 8, 9 };

	if (size < 1)
		return 0;
	if (data[0] & 1) {
		g_autoptr(AcSevSecretTable) t = ac_sev_secret_table_parse (data + 1, size - 1, NULL);
		if (t != NULL) {
			for (guint f = 0; f < 3 && ac_sev_secret_table_get_size (t) > 0; f++) {
				g_autoptr(GBytes) again = ac_sev_secret_table_build (t, f, NULL);
				g_autoptr(AcSevSecretTable) t2 = NULL;
				g_assert_nonnull (again);
				t2 = ac_sev_secret_table_parse (g_bytes_get_data (again, NULL),
								g_bytes_get_size (again),
								NULL);
				g_assert_nonnull (t2);
			}
		}
	} else {
		g_autoptr(GBytes) plain = NULL;
		gsize hlen = MIN (size - 1, (gsize)52);
		(void)ac_sev_secret_packet_open (tek, tik, measure, (data[0] >> 1) & 1, 17,
						 data + 1, hlen, data + 1 + hlen, size - 1 - hlen,
						 &plain, NULL);
	}
	return 0;
}
