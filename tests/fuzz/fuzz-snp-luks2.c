/*
 * Fuzz the guest's LUKS2 header check (sev/ac-snp-luks2.h). Each input is checked as it is,
 * then as one header copy: zero-padded to its hdr_size, written twice (the secondary with its
 * own magic and offset) and both checksums made, so mutations reach the JSON checks rather
 * than stopping at the checksum.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "ac-snp-luks2.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static void
reseal (guint8 *copy, gsize hdr_size)
{
	g_autoptr (GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);
	gsize len = 32;
	memset (copy + 448, 0, 64);
	g_checksum_update (sum, copy, hdr_size);
	g_checksum_get_digest (sum, copy + 448, &len);
}

static void
check_promises (const AcLuks2Header *h)
{
	g_assert_true (g_uuid_string_is_valid (h->uuid));
	g_assert_cmpuint (h->keyslots, >=, 1);
	g_assert_cmpuint (h->crypt_segments, >=, 1);
	g_assert_cmpuint (h->crypt_segments, <=, h->segments);
	g_assert_cmpuint (h->data_offset, >=, 2 * h->hdr_size);
	g_assert_cmpuint (h->data_offset % 512, ==, 0);
	g_assert_true (h->sector_size == 512 || h->sector_size == 1024 || h->sector_size == 2048
	               || h->sector_size == 4096);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
	g_autoptr (AcLuks2Header) raw = ac_luks2_check_header (data, size, NULL);
	g_autoptr (AcLuks2Header) sealed = NULL;
	g_autofree guint8 *buf = NULL;
	gsize needed = 0;
	gsize hdr_size;

	if (raw != NULL)
		check_promises (raw);
	if (!ac_luks2_header_area_size (data, size, &needed, NULL))
		return 0;
	hdr_size = needed / 2;
	buf = g_malloc0 (needed);
	memcpy (buf, data, MIN (size, hdr_size));
	memcpy (buf + hdr_size, buf, hdr_size);
	memcpy (buf + hdr_size, "SKUL\xba\xbe", 6);
	for (guint i = 0; i < 8; i++) {
		buf[256 + i] = 0;
		buf[hdr_size + 256 + i] = (guint8)(hdr_size >> (56 - 8 * i));
	}
	reseal (buf, hdr_size);
	reseal (buf + hdr_size, hdr_size);
	sealed = ac_luks2_check_header (buf, needed, NULL);
	if (sealed != NULL) {
		check_promises (sealed);
		g_assert_cmpuint (sealed->hdr_size, ==, hdr_size);
	}
	return 0;
}
