/*
 * aleph-confidential: the libvirt hosts virt-alephd follows, from its configuration.
 *
 * One host is named by [daemon] connect (or `--connect`), as always: its state stays in the
 * state directory itself, where this machine's hook looks. A fleet adds one group per further
 * host, [host NAME] with connect=URI: its state goes to <state-dir>/hosts/NAME/, so a domain
 * UUID two hosts share (a clone) never mixes their flows. Without any [host] group, a missing
 * [daemon] connect means the default URI; with [host] groups, only the hosts named are followed.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* the longest host name */
#define AC_HOST_NAME_MAX 63

typedef struct {
	gchar *name;      /* [host NAME], or the host part of [daemon] connect's URI */
	gchar *uri;       /* the libvirt URI */
	gchar *state_dir; /* its state: <state-dir>, or <state-dir>/hosts/NAME for [host NAME] */
	gchar *origin;    /* where it is configured, for messages: "[host b]", "[daemon] connect" */
} AcHost;

void
ac_host_free (AcHost *host);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AcHost, ac_host_free)

gchar *
ac_hosts_name_from_uri (const gchar *uri);
gboolean
ac_hosts_name_is_valid (const gchar *name);
GPtrArray *
ac_hosts_from_key_file (GKeyFile *kf,
                        const gchar *path,
                        const gchar *connect_uri,
                        const gchar *default_uri,
                        const gchar *state_dir,
                        GError **error);
GPtrArray *
ac_hosts_load (const gchar *path,
               gboolean explicit,
               const gchar *connect_uri,
               const gchar *default_uri,
               const gchar *state_dir,
               GError **error);
const AcHost *
ac_hosts_find_uri (GPtrArray *hosts, const gchar *uri);

G_END_DECLS
