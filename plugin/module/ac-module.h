/*
 * ABI between hooks/aleph-hook (libc only) and the module. Keep it C-only and stable.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <stddef.h>

#define AC_MODULE_HOOK_SYMBOL "ac_module_hook"

/*
 * Returns 0 to let libvirt go on, or a non-zero exit code with a one-line reason in @message
 * (NUL-terminated, truncated to @message_size).
 */
typedef int (*AcModuleHookFunc) (const char *config_path,
				 const char *domain,
				 const char *op,
				 const char *subop,
				 const char *xml,
				 size_t xml_len,
				 char *message,
				 size_t message_size);

int ac_module_hook (const char *config_path,
		    const char *domain,
		    const char *op,
		    const char *subop,
		    const char *xml,
		    size_t xml_len,
		    char *message,
		    size_t message_size) __attribute__ ((visibility ("default")));
