/*
 * virt-aleph's modules: the commands that need json-glib or GIO live in the main module, and
 * those that need libvirt, the builder or HTTP in a loadable module per area (ac-cli.h lists
 * them), so that a command loads only the libraries it uses. A module is found beside the program
 * in the build tree, else in the module directory under the root the program is installed in: /
 * normally, a DESTDIR or an unpacked package when run from there.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <dlfcn.h>
#include <string.h>

#include "ac-cli.h"

static gchar *module_area;
static void *module_handle;

/* where the module of @area is looked for, in order */
static GPtrArray *
ac_cli_module_candidates (const gchar *area)
{
	GPtrArray *paths = g_ptr_array_new_with_free_func (g_free);
	g_autofree gchar *name = g_strdup_printf ("cli-%s.so", area);
	g_autofree gchar *self = g_file_read_link ("/proc/self/exe", NULL);
	g_autofree gchar *dir = self != NULL ? g_path_get_dirname (self) : NULL;

	if (dir != NULL && g_str_has_suffix (dir, AC_BINDIR)) {
		/* installed: the module directory under the same root (AC_BINDIR starts with /) */
		g_autofree gchar *root = g_strndup (dir, strlen (dir) - strlen (AC_BINDIR));
		g_ptr_array_add (paths, g_build_filename (root[0] != '\0' ? root : "/",
		                                          AC_CLI_MODULEDIR, name, NULL));
	} else if (dir != NULL) {
		/* the build tree: the modules are built beside the program */
		g_ptr_array_add (paths, g_build_filename (dir, name, NULL));
	}
	g_ptr_array_add (paths, g_build_filename (AC_CLI_MODULEDIR, name, NULL));
	return paths;
}

/**
 * ac_cli_module_path:
 *
 * The file of the module of @area this program loads (the first candidate that exists, or the
 * first candidate).
 */
gchar *
ac_cli_module_path (const gchar *area)
{
	g_autoptr (GPtrArray) paths = ac_cli_module_candidates (area);
	for (guint i = 0; i < paths->len; i++) {
		if (g_file_test (paths->pdata[i], G_FILE_TEST_EXISTS))
			return g_strdup (paths->pdata[i]);
	}
	return g_strdup (paths->pdata[0]);
}

/* the main module, opened once and globally: the other modules bind to its symbols */
static void *
ac_cli_module_main (GError **error)
{
	static void *main_handle;

	if (main_handle == NULL) {
		g_autofree gchar *path = ac_cli_module_path ("main");
		/* RTLD_LAZY, unlike the area modules: binding every function of json-glib, GIO and
		 * the libraries they bring up front cost sev, ipfs cid and the like 5 % of their
		 * time, which the front's libraries used to bind lazily. A main module that does
		 * not match still fails here on a missing variable, and on a missing function when
		 * it is first called (the loader's error, exit 127), never silently */
		main_handle = dlopen (path, RTLD_LAZY | RTLD_GLOBAL);
		if (main_handle == NULL) {
			const gchar *why = dlerror ();
			g_set_error (error, AC_ERROR, AC_ERROR_UNSUPPORTED,
			             "cannot load the module of the main commands, %s: %s", path,
			             why != NULL ? why : "unknown error");
			return NULL;
		}
	}
	return main_handle;
}

/**
 * ac_cli_module_symbol:
 *
 * The function @symbol of the module of @area, loaded on first use (after the main module,
 * which every other one needs). Fails with AC_ERROR_UNSUPPORTED when the module cannot be
 * loaded or lacks @symbol.
 */
gpointer
ac_cli_module_symbol (const gchar *area, const gchar *symbol, GError **error)
{
	void *handle = ac_cli_module_main (error);
	gpointer func;

	if (handle == NULL)
		return NULL;
	if (g_strcmp0 (area, "main") == 0) {
		/* the main module's own symbol */
	} else if (module_handle == NULL) {
		g_autofree gchar *path = ac_cli_module_path (area);
		module_handle = dlopen (path, RTLD_NOW | RTLD_LOCAL);
		if (module_handle == NULL) {
			const gchar *why = dlerror ();
			g_set_error (error, AC_ERROR, AC_ERROR_UNSUPPORTED,
			             "cannot load the module of the %s commands, %s: %s", area,
			             path, why != NULL ? why : "unknown error");
			return NULL;
		}
		module_area = g_strdup (area);
		handle = module_handle;
	} else if (g_strcmp0 (module_area, area) != 0) {
		/* two modules share static libraries: their copies must never meet in a process */
		g_set_error (error, AC_ERROR, AC_ERROR_INTERNAL,
		             "the module of the %s commands is loaded: cannot load the one of the "
		             "%s commands too",
		             module_area, area);
		return NULL;
	} else {
		handle = module_handle;
	}
	func = dlsym (handle, symbol);
	if (func == NULL)
		g_set_error (
		    error, AC_ERROR, AC_ERROR_UNSUPPORTED,
		    "the module of the %s commands lacks %s: it does not match this virt-aleph",
		    area, symbol);
	return func;
}
