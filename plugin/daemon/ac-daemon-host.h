/*
 * One libvirt host of virt-alephd (ac-daemon-host.c): its connection, followed, reconnected
 * with its own backoff and reconciled on its own, and its per-domain tables, keyed by UUID
 * within the host (two hosts may hold one UUID: a cloned domain). All on the main loop.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>
#include <libvirt/libvirt.h>

#include "ac-hosts.h"
#include "ac-localsev.h"
#include "ac-pipeline.h"
#include "ac-sev-host.h"

G_BEGIN_DECLS

typedef struct _AcDaemonHost AcDaemonHost;

/* what the daemon does with a host's domains, on the main loop */
typedef struct {
	/* reconcile @dom (its UUID @uuid), listed or looked up on @host's connection */
	void (*reconcile) (AcDaemonHost *host, virDomainPtr dom, const gchar *uuid);
	/* a domain of @host was undefined */
	void (*undefined) (AcDaemonHost *host, const gchar *uuid);
} AcDaemonHostFuncs;

struct _AcDaemonHost {
	gchar *name; /* [host NAME], or from the URI: in messages and the status */
	gchar *uri;
	AcPipelineConfig *pconfig; /* the daemon's, with this host's state dir */
	AcLocalsevOptions *lopts;  /* local SEV flow: the same state dir, tags pinned when remote */
	gpointer daemon;           /* the daemon the host belongs to */
	const AcDaemonHostFuncs *funcs;
	gboolean named; /* the daemon follows several hosts: messages name this one */

	virConnectPtr conn;  /* NULL while disconnected */
	AcSevHost *sev_host; /* SEV side of conn: virNodeGetSEVInfo, launch security */
	guint64 generation;  /* bumped on every (re)connection; stale messages are dropped */

	GHashTable *workers; /* UUID → GCancellable of the flow running for it */
	GHashTable *failed;  /* UUID → canonical tag whose flow failed for good */
	GHashTable *dirty;   /* UUIDs with events while their worker ran: looked at again */
	GHashTable *retries; /* UUID → number of retries of a transient failure */

	/* private to ac-daemon-host.c */
	int cb_lifecycle;
	int cb_metadata;
	GHashTable *pending; /* UUID strings to reconcile */
	GHashTable *listed;  /* UUID → virDomainPtr listed at connection, not looked up again */
	gboolean reconcile_scheduled;
	guint reconnect_id;
	guint backoff_ms;
	gboolean connecting; /* a thread opens the connection */
	gboolean stopped;
};

AcDaemonHost *
ac_daemon_host_new (const AcHost *config,
                    AcPipelineConfig *pconfig,
                    const AcDaemonHostFuncs *funcs,
                    gpointer daemon);
void
ac_daemon_host_start (AcDaemonHost *self);
void
ac_daemon_host_log_context (AcDaemonHost *self, const gchar *name, const gchar *uuid);
void
ac_daemon_host_queue (AcDaemonHost *self, const gchar *uuid);
void
ac_daemon_host_stop (AcDaemonHost *self);
void
ac_daemon_host_requeue_later (AcDaemonHost *self, const gchar *uuid, guint seconds);

G_END_DECLS
