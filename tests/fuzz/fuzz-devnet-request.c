/*
 * Fuzz target: the devnet CRN's request bodies — notify JSON, inject_secret JSON with its
 * base64 fields, and the confidential/initialize multipart (the first input line is the
 * Content-Type, the rest the body). Property: what parses has the sizes the PSP expects.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ac-devnet-request.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	g_autofree gchar *hash = ac_devnet_request_parse_notify((const gchar *)data, size, NULL);
	g_autoptr(GBytes) header = NULL;
	g_autoptr(GBytes) secret = NULL;
	g_autoptr(GBytes) session = NULL;
	g_autoptr(GBytes) godh = NULL;
	gboolean json_ok = FALSE;
	const gchar *code = NULL;
	const uint8_t *nl = memchr(data, '\n', size);

	if (hash != NULL && strlen(hash) != 64)
		abort();
	if (ac_devnet_request_parse_inject((const gchar *)data, size, &json_ok, &header, &secret, NULL)
	    && (!json_ok || g_bytes_get_size(header) != 52 || g_bytes_get_size(secret) % 16 != 0
	        || g_bytes_get_size(secret) == 0
	        || g_bytes_get_size(secret) > AC_DEVNET_SECRET_MAX))
		abort();
	if (nl != NULL && nl - data < 512) {
		g_autofree gchar *ctype = g_strndup((const gchar *)data, (gsize)(nl - data));
		g_autoptr(GBytes) body = g_bytes_new(nl + 1, size - (gsize)(nl - data) - 1);
		if (ac_devnet_request_parse_initialize(ctype, body, &session, &godh, &code, NULL)
		    && (g_bytes_get_size(session) != 128 || g_bytes_get_size(godh) != 2084))
			abort();
	}
	return 0;
}
