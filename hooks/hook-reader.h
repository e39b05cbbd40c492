/*
 * The hook's reader of the domain XML, shared with its fuzz target (tests/fuzz/fuzz-hook-reader.c
 * shrinks the limits to reach the drain path with small inputs). Libc only.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TAG_NS "https://aleph.cloud/ns/libvirt/confidential/1"
#define TAG_NS_LEN (sizeof TAG_NS - 1)

/* what is kept of the XML for the module: HOOK_FIRST_CAP times a power of two */
#ifndef HOOK_MAX_XML
#define HOOK_MAX_XML (64u * 1024u * 1024u)
#endif
#ifndef HOOK_FIRST_CAP
#define HOOK_FIRST_CAP (64u * 1024u)
#endif
/* one read of the drained excess */
#ifndef HOOK_DRAIN_CHUNK
#define HOOK_DRAIN_CHUNK 65536u
#endif

/*
 * Reads all of @fd. Keeps the first HOOK_MAX_XML bytes in the returned buffer and drains the rest,
 * but looks for the namespace in every byte: *tagged_out says whether it occurs anywhere
 * (across read boundaries too), *truncated_out whether bytes were dropped.
 */
static char *
hook_read_all (int fd, size_t *len_out, int *tagged_out, int *truncated_out)
{
	size_t cap = HOOK_FIRST_CAP, len = 0;
	char *buf = malloc (cap + 1);

	*tagged_out = 0;
	*truncated_out = 0;
	if (buf == NULL)
		return NULL;
	for (;;) {
		ssize_t n;
		if (len == cap) {
			char *nbuf;
			if (cap >= HOOK_MAX_XML)
				break;
			nbuf = realloc (buf, cap * 2 + 1);
			if (nbuf == NULL) {
				free (buf);
				return NULL;
			}
			buf = nbuf;
			cap *= 2;
		}
		n = read (fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	*tagged_out = memmem (buf, len, TAG_NS, TAG_NS_LEN) != NULL;
	if (len == cap && cap >= HOOK_MAX_XML) {
		/* Too big to be a domain XML: drain the excess through a window that keeps the last
		 * TAG_NS_LEN - 1 bytes seen, so a namespace split across reads is still found. */
		char window[TAG_NS_LEN - 1 + HOOK_DRAIN_CHUNK];
		const size_t keep = TAG_NS_LEN - 1;
		memcpy (window, buf + len - keep, keep);
		for (;;) {
			ssize_t n = read (fd, window + keep, sizeof window - keep);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			*truncated_out = 1;
			if (!*tagged_out && memmem (window, keep + (size_t)n, TAG_NS, TAG_NS_LEN) != NULL)
				*tagged_out = 1;
			memmove (window, window + n, keep);
		}
	}
	buf[len] = '\0';
	*len_out = len;
	return buf;
}
