/*
 * Fuzz target: the devnet CRN's reading of a published disk image — the GPT (protective MBR,
 * header, CRCs, entries) and the LUKS1 header size of partition 2. Property: a partition it
 * returns lies inside the disk.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <stdint.h>
#include <stdlib.h>

#include "ac-luks-disk.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* the first MiB of a 1 GiB disk */
	const guint64 disk = G_GUINT64_CONSTANT(1) << 30;
	guint64 off = 0, len = 0, hsize = 0;
	if (size > AC_LUKS_DISK_GPT_SCAN_SIZE)
		size = AC_LUKS_DISK_GPT_SCAN_SIZE;
	if (ac_luks_disk_gpt_find_partition(data, size, disk, 2, &off, &len, NULL)) {
		if (off < 1024 || len == 0 || off > disk || len > disk - off)
			abort();
		if (off < size)
			ac_luks_disk_luks1_header_size(data + off, size - off, len, &hsize, NULL);
	}
	if (ac_luks_disk_luks1_header_size(data, size, disk, &hsize, NULL)
	    && (hsize == 0 || hsize > AC_LUKS_DISK_LUKS_MAX_HEADER))
		abort();
	return 0;
}
