/*
 * qemu.d/50-aleph-confidential: libvirt's hook for every QEMU domain on the host.
 *
 * Called as `50-aleph-confidential DOMAIN OP SUBOP EXTRA` with the domain XML on stdin, under
 * the domain lock and with no timeout. For a domain without our namespace it drains stdin and
 * exits 0, having loaded nothing but libc: that is the common case and it must cost next to
 * nothing. For a domain with the namespace anywhere in its XML it loads the module and lets
 * it decide (prepare is a fail-closed gatekeeper, and tells a real <aleph:confidential> from
 * the mere string); if the module cannot be loaded, or the XML is too large to hand it
 * whole, such a domain is refused.
 *
 * Links libc only: no GLib here.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ac-module.h"

#include "hook-reader.h"

/* "module = PATH" from the [hook] section of the config file, if present. */
static char *
config_module_path (const char *config_path)
{
	FILE *f = fopen (config_path, "re");
	char line[4096];
	int in_hook = 0;
	char *result = NULL;

	if (f == NULL)
		return NULL;
	while (fgets (line, sizeof line, f) != NULL) {
		char *p = line, *end, *value;
		while (*p == ' ' || *p == '\t')
			p++;
		end = p + strlen (p);
		while (end > p && (end[-1] == '\n' || end[-1] == '\r' || end[-1] == ' ' || end[-1] == '\t'))
			*--end = '\0';
		if (*p == '#' || *p == ';' || *p == '\0')
			continue;
		if (*p == '[') {
			in_hook = strcmp (p, "[hook]") == 0;
			continue;
		}
		if (!in_hook || strncmp (p, "module", 6) != 0)
			continue;
		value = p + 6;
		while (*value == ' ' || *value == '\t')
			value++;
		if (*value != '=')
			continue;
		value++;
		while (*value == ' ' || *value == '\t')
			value++;
		free (result);
		result = strdup (value);
	}
	fclose (f);
	return result;
}

/*
 * The config lives beside libvirt's hook directory: <hooks>/qemu.d/50-aleph-confidential reads
 * <hooks>/aleph-confidential.conf, so a private libvirtd with its own /etc/libvirt (the tests)
 * gets its own config. Falls back to the configured path.
 */
static const char *
config_beside_hook_dir (char *buf, size_t size)
{
	ssize_t n = readlink ("/proc/self/exe", buf, size - 1);
	char *slash;
	if (n <= 0 || (size_t)n >= size - 1)
		return AC_HOOK_CONF;
	buf[n] = '\0';
	for (int i = 0; i < 2; i++) {
		slash = strrchr (buf, '/');
		if (slash == NULL || slash == buf)
			return AC_HOOK_CONF;
		*slash = '\0';
	}
	if ((size_t)(slash - buf) + sizeof "/aleph-confidential.conf" > size)
		return AC_HOOK_CONF;
	strcat (buf, "/aleph-confidential.conf");
	return buf;
}

static int
is_start_op (const char *op)
{
	return strcmp (op, "prepare") == 0 || strcmp (op, "start") == 0 || strcmp (op, "started") == 0;
}

int
main (int argc, char **argv)
{
	size_t len = 0;
	char *xml;
	const char *domain, *op, *subop, *config_path;
	char *module_path;
	void *handle;
	AcModuleHookFunc func;
	char message[4096];
	char config_buf[4096];
	int rc;
	int tagged = 0, truncated = 0;

	xml = hook_read_all (STDIN_FILENO, &len, &tagged, &truncated);
	if (xml == NULL) {
		/* Out of memory: we cannot tell whether the domain is tagged. Fail closed. */
		fprintf (stderr, "aleph-confidential: out of memory reading the domain XML\n");
		return 1;
	}
	if (!tagged) {
		free (xml);
		return 0; /* not ours: the fast path */
	}

	if (argc < 4) {
		fprintf (stderr, "aleph-confidential: usage: %s DOMAIN OP SUBOP [EXTRA] < domain.xml\n",
			 argv[0]);
		free (xml);
		return 2;
	}
	domain = argv[1];
	op = argv[2];
	subop = argv[3];

	if (truncated) {
		/* the module cannot see the whole XML, so it cannot tell whether the domain is
		 * confidential: fail closed */
		free (xml);
		if (!is_start_op (op))
			return 0;
		fprintf (stderr,
			 "aleph-confidential: refusing to start domain '%s': its XML is larger than "
			 "%u MiB and carries the aleph-confidential namespace, so it is too large to "
			 "check; shrink its <metadata> or <description>\n",
			 domain, HOOK_MAX_XML / (1024u * 1024u));
		return 3;
	}

	/* libvirt passes a minimal environment; this variable exists for tests only. */
	config_path = getenv ("ALEPH_CONFIDENTIAL_HOOK_CONF");
	if (config_path == NULL || config_path[0] == '\0')
		config_path = config_beside_hook_dir (config_buf, sizeof config_buf);
	module_path = config_module_path (config_path);
	if (module_path != NULL && strchr (module_path, '#') != NULL) {
		/* GKeyFile (and this reader) keep an inline "# comment" as part of the value */
		free (xml);
		if (!is_start_op (op)) {
			free (module_path);
			return 0;
		}
		fprintf (stderr,
			 "aleph-confidential: refusing to start domain '%s': %s: [hook] module='%s': a '#' "
			 "is not a comment after a value; put comments on their own lines (expected the "
			 "path of " AC_MODULE_NAME ")\n",
			 domain, config_path, module_path);
		free (module_path);
		return 2; /* invalid input (docs/exit-codes.md) */
	}

	handle = dlopen (module_path != NULL ? module_path : AC_MODULEDIR "/" AC_MODULE_NAME,
			 RTLD_NOW | RTLD_LOCAL);
	if (handle == NULL) {
		free (xml);
		if (!is_start_op (op)) {
			free (module_path);
			return 0; /* stopped/release: nothing to protect, and libvirt ignores it */
		}
		fprintf (stderr,
			 "aleph-confidential: refusing to start domain '%s': cannot load the "
			 "aleph-confidential module (%s); reinstall aleph-confidential or fix "
			 "'module' in %s\n",
			 domain, dlerror (), config_path);
		free (module_path);
		return 3;
	}
	free (module_path);
	func = (AcModuleHookFunc)(void (*) (void))dlsym (handle, AC_MODULE_HOOK_SYMBOL);
	if (func == NULL) {
		free (xml);
		if (!is_start_op (op))
			return 0;
		fprintf (stderr,
			 "aleph-confidential: refusing to start domain '%s': the module has no "
			 "entry point %s (version mismatch?)\n",
			 domain, AC_MODULE_HOOK_SYMBOL);
		return 3;
	}
	rc = func (config_path, domain, op, subop, xml, len, message, sizeof message);
	if (rc != 0 && message[0] != '\0')
		fprintf (stderr, "%s\n", message);
	free (xml);
	return rc;
}
