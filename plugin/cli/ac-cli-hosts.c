/*
 * virt-aleph: virt-alephd's hosts as the commands see them (ac-hosts.h). In the main module:
 * the front's commands need none of it.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "ac-cli.h"
#include "ac-hosts.h"

/**
 * ac_cli_config_hosts:
 * @config_path: (nullable): --config; %NULL = the default file, absent = the default URI
 * @state_dir: (nullable): its [pipeline] state-dir, for the hosts' (%NULL: not needed)
 *
 * The hosts virt-alephd's configuration follows ([daemon] connect, replaced by --connect, and
 * the [host NAME] groups), an array of AcHost; %NULL with the configuration's error.
 */
GPtrArray *
ac_cli_config_hosts (AcCliGlobal *global,
                     const gchar *config_path,
                     const gchar *state_dir,
                     GError **error)
{
	return ac_hosts_load (config_path != NULL ? config_path : AC_DAEMON_CONF,
	                      config_path != NULL, global->connect_uri, ac_cli_get_uri (global),
	                      state_dir != NULL ? state_dir : AC_STATEDIR, error);
}

/**
 * ac_cli_scope_state_dir:
 * @state_dir: (inout): [pipeline] state-dir of @config_path
 *
 * virt-alephd keeps the state of a host of a [host NAME] group apart, in
 * <state-dir>/hosts/NAME/: a command talking to that host (--connect, its URI) reads and writes
 * there too. Any other URI keeps @state_dir.
 */
void
ac_cli_scope_state_dir (AcCliGlobal *global, const gchar *config_path, gchar **state_dir)
{
	const gchar *uri = ac_cli_get_uri (global);
	g_autoptr (GPtrArray) hosts = ac_hosts_load (
	    config_path != NULL ? config_path : AC_DAEMON_CONF, FALSE, NULL, uri, *state_dir, NULL);
	const AcHost *h = ac_hosts_find_uri (hosts, uri);
	if (h != NULL && g_strcmp0 (h->state_dir, *state_dir) != 0) {
		g_free (*state_dir);
		*state_dir = g_strdup (h->state_dir);
	}
}
