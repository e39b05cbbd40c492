/*
 * Fuzz target: the hook's reader of the domain XML (hooks/hook-reader.h), the only code that
 * decides whether a domain is left unchecked. Built with tiny limits so that inputs of a few
 * hundred bytes reach what a real hook does above 64 MiB: keep the first HOOK_MAX_XML bytes,
 * drain the rest in HOOK_DRAIN_CHUNK reads. Properties: the namespace is found wherever it
 * is (in the kept part, straddling its end, across drained reads), the kept bytes are the
 * input's first bytes, and dropped bytes are reported.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define HOOK_FIRST_CAP 16u
#define HOOK_MAX_XML 256u
#define HOOK_DRAIN_CHUNK 7u
#include "hook-reader.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
	int fd = memfd_create ("fuzz-hook-reader", MFD_CLOEXEC);
	size_t len = 0, kept = size < HOOK_MAX_XML ? size : HOOK_MAX_XML;
	int tagged = 0, truncated = 0;
	char *buf;

	if (fd < 0)
		abort ();
	if (size > 0 && write (fd, data, size) != (ssize_t)size)
		abort ();
	if (lseek (fd, 0, SEEK_SET) != 0)
		abort ();
	buf = hook_read_all (fd, &len, &tagged, &truncated);
	close (fd);
	if (buf == NULL)
		abort ();
	if (len != kept || memcmp (buf, data, kept) != 0 || buf[len] != '\0')
		abort ();
	if (truncated != (size > HOOK_MAX_XML))
		abort ();
	if (tagged != (memmem (data, size, TAG_NS, TAG_NS_LEN) != NULL))
		abort ();
	free (buf);
	return 0;
}
