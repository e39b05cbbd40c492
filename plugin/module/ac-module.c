/*
 * The loadable module: the one entry point the hook executable calls for a tagged domain.
 * The hook links only libc; everything else (GLib, libxml2, the tag model) lives here.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "ac-error.h"
#include "ac-hook-gate.h"
#include "ac-module.h"

int
ac_module_hook (const char *config_path,
		const char *domain,
		const char *op,
		const char *subop,
		const char *xml,
		size_t xml_len,
		char *message,
		size_t message_size)
{
	g_autoptr(AcHookConfig) config = NULL;
	g_autoptr(GError) error = NULL;

	if (message_size > 0)
		message[0] = '\0';
	config = ac_hook_config_load (config_path, &error);
	if (config == NULL) {
		/* a configuration error refuses every tagged domain, with the file's mistake named */
		if (message_size > 0)
			g_snprintf (message, message_size, "aleph-confidential: refusing to start domain '%s': %s",
				    domain, error->message);
		return (int)ac_error_to_exit_code (error);
	}
	if (!ac_hook_gate (config, domain, op, subop, xml, xml_len, &error)) {
		if (message_size > 0)
			g_strlcpy (message, error->message, message_size);
		return (int)ac_error_to_exit_code (error);
	}
	return 0;
}
