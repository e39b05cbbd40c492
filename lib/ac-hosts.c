/*
 * aleph-confidential: the libvirt hosts of virt-alephd's configuration (see ac-hosts.h).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "ac-hosts.h"

#include <string.h>

#include "ac-error.h"
#include "ac-keyfile.h"

#define AC_HOSTS_GROUP_PREFIX "host "

void
ac_host_free (AcHost *host)
{
	if (host == NULL)
		return;
	g_free (host->name);
	g_free (host->uri);
	g_free (host->state_dir);
	g_free (host->origin);
	g_free (host);
}

/**
 * ac_hosts_name_is_valid:
 *
 * A host name is a letter or digit, then letters, digits, '.', '_' or '-', at most
 * %AC_HOST_NAME_MAX characters: it names a directory and a column, nothing else.
 */
gboolean
ac_hosts_name_is_valid (const gchar *name)
{
	gsize n = name != NULL ? strlen (name) : 0;
	if (n == 0 || n > AC_HOST_NAME_MAX || !g_ascii_isalnum (name[0]))
		return FALSE;
	for (gsize i = 0; i < n; i++)
		if (!g_ascii_isalnum (name[i]) && name[i] != '.' && name[i] != '_'
		    && name[i] != '-')
			return FALSE;
	return TRUE;
}

/**
 * ac_hosts_name_from_uri:
 *
 * The short name of the host of @uri: its host part without user, port or brackets
 * ("qemu+ssh://root@node1:2222/system" → "node1"), "localhost" for a URI without one
 * ("qemu:///system"), characters a name does not take replaced with '-'.
 */
gchar *
ac_hosts_name_from_uri (const gchar *uri)
{
	const gchar *p = uri != NULL ? strstr (uri, "://") : NULL;
	const gchar *end;
	g_autoptr (GString) name = g_string_new (NULL);

	if (p == NULL)
		return g_strdup ("localhost");
	p += 3;
	end = p + strcspn (p, "/?#");
	/* user@ */
	for (const gchar *at = p; at < end; at++)
		if (*at == '@')
			p = at + 1;
	if (p < end && *p == '[') {
		/* [IPv6]:port */
		const gchar *close = memchr (p, ']', (gsize)(end - p));
		p++;
		end = close != NULL ? close : end;
	} else {
		const gchar *colon = memchr (p, ':', (gsize)(end - p));
		end = colon != NULL ? colon : end;
	}
	for (; p < end && name->len < AC_HOST_NAME_MAX; p++)
		g_string_append_c (name, g_ascii_isalnum (*p) || *p == '.' || *p == '_'
		                             ? g_ascii_tolower (*p)
		                             : '-');
	if (name->len == 0 || !g_ascii_isalnum (name->str[0]))
		g_string_prepend (name, name->len == 0 ? "localhost" : "h");
	g_string_truncate (name, AC_HOST_NAME_MAX);
	return g_string_free (g_steal_pointer (&name), FALSE);
}

static AcHost *
ac_hosts_new (const gchar *name, const gchar *uri, const gchar *state_dir, const gchar *origin)
{
	AcHost *h = g_new0 (AcHost, 1);
	h->name = g_strdup (name);
	h->uri = g_strdup (uri);
	h->state_dir = g_strdup (state_dir);
	h->origin = g_strdup (origin);
	return h;
}

/* a name or a URI given twice: refused, naming both places */
static gboolean
ac_hosts_check_unique (GPtrArray *hosts, const AcHost *h, const gchar *path, GError **error)
{
	for (guint i = 0; i < hosts->len; i++) {
		const AcHost *o = g_ptr_array_index (hosts, i);
		if (g_ascii_strcasecmp (o->name, h->name) == 0) {
			g_set_error (
			    error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			    "%s: %s (%s) and %s (%s) are both named '%s': expected one name "
			    "per host (name one with a [host NAME] group)",
			    path, o->origin, o->uri, h->origin, h->uri, h->name);
			return FALSE;
		}
		if (g_strcmp0 (o->uri, h->uri) == 0) {
			g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			             "%s: %s and %s both connect to %s: expected each host once",
			             path, o->origin, h->origin, h->uri);
			return FALSE;
		}
	}
	return TRUE;
}

/* [host NAME] groups, in the file's order */
static gboolean
ac_hosts_add_groups (GPtrArray *hosts,
                     GKeyFile *kf,
                     const gchar *path,
                     const gchar *state_dir,
                     GError **error)
{
	g_auto (GStrv) groups = g_key_file_get_groups (kf, NULL);

	for (guint i = 0; groups[i] != NULL; i++) {
		const gchar *name;
		g_autofree gchar *uri = NULL;
		g_autofree gchar *dir = NULL;
		g_autofree gchar *origin = NULL;
		AcHost *h;
		if (!g_str_has_prefix (groups[i], AC_HOSTS_GROUP_PREFIX))
			continue;
		name = groups[i] + strlen (AC_HOSTS_GROUP_PREFIX);
		if (!ac_hosts_name_is_valid (name)) {
			g_set_error (
			    error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			    "%s: [%s]: expected a host name of letters, digits, '.', '_' and '-' "
			    "(at most %d, first a letter or digit)",
			    path, groups[i], AC_HOST_NAME_MAX);
			return FALSE;
		}
		uri = g_key_file_get_string (kf, groups[i], "connect", NULL);
		if (uri == NULL || uri[0] == '\0') {
			g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			             "%s: [%s] has no connect: expected the libvirt URI of host %s",
			             path, groups[i], name);
			return FALSE;
		}
		dir = g_build_filename (state_dir, "hosts", name, NULL);
		origin = g_strdup_printf ("[%s]", groups[i]);
		h = ac_hosts_new (name, uri, dir, origin);
		if (!ac_hosts_check_unique (hosts, h, path, error)) {
			ac_host_free (h);
			return FALSE;
		}
		g_ptr_array_add (hosts, h);
	}
	return TRUE;
}

/**
 * ac_hosts_from_key_file:
 * @kf: virt-alephd's configuration, already checked (ac_key_file_check())
 * @path: its name, for messages
 * @connect_uri: (nullable): `--connect`, which replaces [daemon] connect
 * @default_uri: the URI followed when neither names a host and no [host] group does
 * @state_dir: [pipeline] state-dir
 *
 * The hosts to follow, the one of [daemon] connect first, then the [host NAME] groups in
 * order. Two hosts of one name, or one URI twice, are refused (%AC_ERROR_INVALID_INPUT) with a
 * message naming both.
 */
GPtrArray *
ac_hosts_from_key_file (GKeyFile *kf,
                        const gchar *path,
                        const gchar *connect_uri,
                        const gchar *default_uri,
                        const gchar *state_dir,
                        GError **error)
{
	g_autoptr (GPtrArray) hosts = g_ptr_array_new_with_free_func ((GDestroyNotify)ac_host_free);
	g_autofree gchar *uri = g_strdup (connect_uri);
	const gchar *origin = "--connect";

	if (!ac_hosts_add_groups (hosts, kf, path, state_dir, error))
		return NULL;
	if (uri == NULL) {
		uri = g_key_file_get_string (kf, "daemon", "connect", NULL);
		origin = "[daemon] connect";
	}
	if (uri == NULL && hosts->len == 0) {
		uri = g_strdup (default_uri);
		origin = "the default URI";
	}
	if (uri != NULL) {
		g_autofree gchar *name = ac_hosts_name_from_uri (uri);
		g_autoptr (AcHost) h = ac_hosts_new (name, uri, state_dir, origin);
		if (!ac_hosts_check_unique (hosts, h, path, error))
			return NULL;
		g_ptr_array_insert (hosts, 0, g_steal_pointer (&h));
	}
	return g_steal_pointer (&hosts);
}

/**
 * ac_hosts_load:
 * @explicit: whether @path was named; an absent default file is no error (the default URI)
 *
 * Loads and checks @path (ac_key_file_load_strict()), then ac_hosts_from_key_file().
 */
GPtrArray *
ac_hosts_load (const gchar *path,
               gboolean explicit,
               const gchar *connect_uri,
               const gchar *default_uri,
               const gchar *state_dir,
               GError **error)
{
	g_autoptr (GKeyFile) kf = g_key_file_new ();
	g_autoptr (GError) local_error = NULL;

	if (!ac_key_file_load_strict (kf, path, ac_service_config_keys, &local_error)) {
		if (explicit || !g_error_matches (local_error, AC_ERROR, AC_ERROR_NOT_FOUND)) {
			g_propagate_error (error, g_steal_pointer (&local_error));
			return NULL;
		}
	}
	return ac_hosts_from_key_file (kf, path, connect_uri, default_uri, state_dir, error);
}

/**
 * ac_hosts_find_uri:
 *
 * The host of @hosts that connects to @uri, or %NULL.
 */
const AcHost *
ac_hosts_find_uri (GPtrArray *hosts, const gchar *uri)
{
	for (guint i = 0; hosts != NULL && i < hosts->len; i++) {
		const AcHost *h = g_ptr_array_index (hosts, i);
		if (g_strcmp0 (h->uri, uri) == 0)
			return h;
	}
	return NULL;
}
