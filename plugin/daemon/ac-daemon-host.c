/*
 * One libvirt host of virt-alephd (see ac-daemon-host.h).
 *
 * libvirt's callbacks run on its event thread: they only post a message to the main loop,
 * stamped with the host's connection generation, and a message of an older connection is
 * dropped. A host that cannot connect, or loses its connection, retries on its own timer with
 * its own backoff: the other hosts go on meanwhile.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <stdlib.h>

#include "ac-daemon-host.h"
#include "ac-error.h"
#include "ac-log.h"
#include "ac-sev-host-libvirt.h"
#include "ac-virt.h"

#define BACKOFF_MIN_MS 500
#define BACKOFF_MAX_MS 30000

typedef enum {
	MSG_DOMAIN,    /* something happened to a domain: reconcile it */
	MSG_UNDEFINED, /* a domain is gone */
	MSG_CLOSED,    /* the connection went away */
} AcDaemonHostMsgKind;

/* an event of a libvirt callback for the main loop (dropped when the connection it came
 * from is gone), or a retry's requeue (ac_daemon_host_requeue_later: kept across connections) */
typedef struct {
	AcDaemonHost *host;
	AcDaemonHostMsgKind kind;
	gchar *uuid;
	guint64 generation;
} AcDaemonHostMsg;

typedef struct {
	AcDaemonHost *host;
	guint64 generation;
} AcDaemonHostCbData;

static void
ac_daemon_host_schedule_reconnect (AcDaemonHost *self);

static void
ac_daemon_host_domain_free (gpointer dom)
{
	virDomainFree (dom);
}

/**
 * ac_daemon_host_new:
 * @config: the host's name, URI and state directory
 * @pconfig: (transfer full): the pipeline's configuration for it
 *
 * A host, not connected yet (ac_daemon_host_start()). Hosts live as long as the process:
 * a worker that outlives the main loop may still read them.
 */
AcDaemonHost *
ac_daemon_host_new (const AcHost *config,
                    AcPipelineConfig *pconfig,
                    const AcDaemonHostFuncs *funcs,
                    gpointer daemon)
{
	AcDaemonHost *self = g_new0 (AcDaemonHost, 1);
	self->name = g_strdup (config->name);
	self->uri = g_strdup (config->uri);
	self->pconfig = pconfig;
	self->funcs = funcs;
	self->daemon = daemon;
	self->cb_lifecycle = self->cb_metadata = -1;
	self->backoff_ms = BACKOFF_MIN_MS;
	self->pending = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
	self->listed
	    = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, ac_daemon_host_domain_free);
	self->workers = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_object_unref);
	self->failed = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
	self->retries = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
	self->dirty = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
	return self;
}

/* ---- reconcile --------------------------------------------------------------------------- */

/**
 * ac_daemon_host_log_context:
 * @name: (nullable): the domain's name; %NULL with @uuid %NULL: no domain any more
 *
 * What this thread logs from now on concerns that domain of @self: the log says which (and,
 * in a fleet, which host: a UUID may be on two).
 */
void
ac_daemon_host_log_context (AcDaemonHost *self, const gchar *name, const gchar *uuid)
{
	gboolean any = name != NULL || uuid != NULL;
	ac_log_set_thread_domain (name, uuid);
	ac_log_set_thread_host (any && self->named ? self->name : NULL);
}

static void
ac_daemon_host_reconcile_domain (AcDaemonHost *self, const gchar *uuid)
{
	g_autoptr (virDomain) dom = NULL;
	gpointer key = NULL;
	/* the domains listed at connection come with their handle: one call less each */
	if (g_hash_table_steal_extended (self->listed, uuid, &key, (gpointer *)&dom))
		g_free (key);
	else
		dom = virDomainLookupByUUIDString (self->conn, uuid);
	if (dom == NULL)
		return; /* undefined meanwhile */
	ac_daemon_host_log_context (self, virDomainGetName (dom), uuid);
	self->funcs->reconcile (self, dom, uuid);
	ac_daemon_host_log_context (self, NULL, NULL);
}

static gboolean
ac_daemon_host_reconcile_pending (gpointer user_data)
{
	AcDaemonHost *self = user_data;
	g_autoptr (GPtrArray) uuids = g_ptr_array_new_with_free_func (g_free);
	GHashTableIter iter;
	gpointer key;

	self->reconcile_scheduled = FALSE;
	if (self->conn == NULL || self->stopped)
		return G_SOURCE_REMOVE; /* kept pending until reconnected */
	g_hash_table_iter_init (&iter, self->pending);
	while (g_hash_table_iter_next (&iter, &key, NULL)) {
		g_ptr_array_add (uuids, g_strdup (key));
		g_hash_table_iter_steal (&iter);
		g_free (key);
	}
	for (guint i = 0; i < uuids->len && self->conn != NULL; i++)
		ac_daemon_host_reconcile_domain (self, g_ptr_array_index (uuids, i));
	return G_SOURCE_REMOVE;
}

/**
 * ac_daemon_host_queue:
 *
 * Reconciles the domain @uuid of this host soon, on the main loop (at once when connected,
 * else after the next connection).
 */
void
ac_daemon_host_queue (AcDaemonHost *self, const gchar *uuid)
{
	g_hash_table_add (self->pending, g_strdup (uuid));
	if (!self->reconcile_scheduled) {
		/* flag first, then attach: the source may run before g_idle_add() would return */
		GSource *source = g_idle_source_new ();
		self->reconcile_scheduled = TRUE;
		g_source_set_priority (source, G_PRIORITY_DEFAULT);
		g_source_set_callback (source, ac_daemon_host_reconcile_pending, self, NULL);
		g_source_attach (source, NULL);
		g_source_unref (source);
	}
}

static void
ac_daemon_host_msg_free (gpointer data)
{
	AcDaemonHostMsg *msg = data;
	g_free (msg->uuid);
	g_free (msg);
}

/* a retry's: whatever the connection's generation now */
static gboolean
ac_daemon_host_requeue (gpointer data)
{
	AcDaemonHostMsg *r = data;
	if (!r->host->stopped)
		ac_daemon_host_queue (r->host, r->uuid);
	return G_SOURCE_REMOVE;
}

/**
 * ac_daemon_host_requeue_later:
 *
 * Reconciles the domain @uuid of this host again in @seconds (a retry's backoff).
 */
void
ac_daemon_host_requeue_later (AcDaemonHost *self, const gchar *uuid, guint seconds)
{
	AcDaemonHostMsg *r = g_new0 (AcDaemonHostMsg, 1);
	r->host = self;
	r->kind = MSG_DOMAIN;
	r->uuid = g_strdup (uuid);
	g_timeout_add_seconds_full (G_PRIORITY_DEFAULT, seconds, ac_daemon_host_requeue, r,
	                            ac_daemon_host_msg_free);
}

/* ---- connection -------------------------------------------------------------------------- */

static void
ac_daemon_host_drop_connection (AcDaemonHost *self)
{
	if (self->conn == NULL)
		return;
	if (self->cb_lifecycle >= 0)
		virConnectDomainEventDeregisterAny (self->conn, self->cb_lifecycle);
	if (self->cb_metadata >= 0)
		virConnectDomainEventDeregisterAny (self->conn, self->cb_metadata);
	self->cb_lifecycle = self->cb_metadata = -1;
	g_hash_table_remove_all (self->listed);
	virConnectClose (self->conn);
	self->conn = NULL;
	g_clear_object (&self->sev_host);
	self->generation++;
}

static gboolean
ac_daemon_host_dispatch (gpointer data)
{
	AcDaemonHostMsg *msg = data;
	AcDaemonHost *self = msg->host;

	if (msg->generation != self->generation || self->stopped)
		return G_SOURCE_REMOVE;
	switch (msg->kind) {
	case MSG_DOMAIN:
		ac_daemon_host_queue (self, msg->uuid);
		break;
	case MSG_UNDEFINED:
		g_hash_table_remove (self->pending, msg->uuid);
		g_hash_table_remove (self->listed, msg->uuid);
		self->funcs->undefined (self, msg->uuid);
		break;
	case MSG_CLOSED:
		g_warning ("host %s: lost the connection to %s; reconnecting", self->name,
		           self->uri);
		ac_daemon_host_drop_connection (self);
		ac_daemon_host_schedule_reconnect (self);
		break;
	default:
		break;
	}
	return G_SOURCE_REMOVE;
}

/* Called on the libvirt event thread: hand over to the main loop. */
static void
ac_daemon_host_post (AcDaemonHost *self,
                     AcDaemonHostMsgKind kind,
                     virDomainPtr dom,
                     guint64 generation)
{
	AcDaemonHostMsg *msg = g_new0 (AcDaemonHostMsg, 1);
	char uuid[VIR_UUID_STRING_BUFLEN] = "";
	if (dom != NULL)
		virDomainGetUUIDString (dom, uuid);
	msg->host = self;
	msg->kind = kind;
	msg->uuid = g_strdup (uuid);
	msg->generation = generation;
	g_main_context_invoke_full (NULL, G_PRIORITY_DEFAULT, ac_daemon_host_dispatch, msg,
	                            ac_daemon_host_msg_free);
}

static int
ac_daemon_host_on_lifecycle (virConnectPtr conn,
                             virDomainPtr dom,
                             int event,
                             int detail,
                             void *opaque)
{
	AcDaemonHostCbData *cb = opaque;
	g_debug ("domain %s: lifecycle event %d/%d", virDomainGetName (dom), event, detail);
	ac_daemon_host_post (cb->host,
	                     event == VIR_DOMAIN_EVENT_UNDEFINED ? MSG_UNDEFINED : MSG_DOMAIN, dom,
	                     cb->generation);
	return 0;
}

static void
ac_daemon_host_on_metadata (virConnectPtr conn,
                            virDomainPtr dom,
                            int type,
                            const char *nsuri,
                            void *opaque)
{
	AcDaemonHostCbData *cb = opaque;
	/* Our own status writes come back as events: ignore them, or we would loop. */
	if (type == VIR_DOMAIN_METADATA_ELEMENT && g_strcmp0 (nsuri, AC_STATUS_NS) == 0)
		return;
	g_debug ("domain %s: metadata changed (%s)", virDomainGetName (dom),
	         nsuri != NULL ? nsuri : "-");
	ac_daemon_host_post (cb->host, MSG_DOMAIN, dom, cb->generation);
}

static void
ac_daemon_host_on_close (virConnectPtr conn, int reason, void *opaque)
{
	AcDaemonHostCbData *cb = opaque;
	ac_daemon_host_post (cb->host, MSG_CLOSED, NULL, cb->generation);
}

static AcDaemonHostCbData *
ac_daemon_host_cb_data (AcDaemonHost *self)
{
	AcDaemonHostCbData *cb = g_new0 (AcDaemonHostCbData, 1);
	cb->host = self;
	cb->generation = self->generation;
	return cb;
}

/* the close callback and the domain events of the new connection */
static gboolean
ac_daemon_host_watch (AcDaemonHost *self, GError **error)
{
	AcDaemonHostCbData *cb = ac_daemon_host_cb_data (self);
	if (virConnectRegisterCloseCallback (self->conn, ac_daemon_host_on_close, cb, g_free) < 0) {
		g_free (cb);
		ac_virt_set_error (error, "host %s: cannot watch the connection to %s", self->name,
		                   self->uri);
		return FALSE;
	}
	self->cb_lifecycle = virConnectDomainEventRegisterAny (
	    self->conn, NULL, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
	    VIR_DOMAIN_EVENT_CALLBACK (ac_daemon_host_on_lifecycle), ac_daemon_host_cb_data (self),
	    g_free);
	self->cb_metadata = virConnectDomainEventRegisterAny (
	    self->conn, NULL, VIR_DOMAIN_EVENT_ID_METADATA_CHANGE,
	    VIR_DOMAIN_EVENT_CALLBACK (ac_daemon_host_on_metadata), ac_daemon_host_cb_data (self),
	    g_free);
	if (self->cb_lifecycle < 0 || self->cb_metadata < 0) {
		ac_virt_set_error (error, "host %s: cannot follow the domain events of %s",
		                   self->name, self->uri);
		return FALSE;
	}
	return TRUE;
}

/* The connection opened (on the main loop): followed, and its domains listed and queued. */
static gboolean
ac_daemon_host_connected (AcDaemonHost *self, virConnectPtr conn, GError **error)
{
	virDomainPtr *domains = NULL;
	int n;

	self->conn = conn;
	if (virConnectSetKeepAlive (self->conn, 5, 3) < 0)
		g_debug ("keepalive not supported by %s", self->uri);
	if (!ac_daemon_host_watch (self, error)) {
		ac_daemon_host_drop_connection (self);
		return FALSE;
	}
	self->sev_host = ac_sev_host_libvirt_new (self->conn);
	/* Domains tagged before we started (or while we were away) */
	n = virConnectListAllDomains (self->conn, &domains, 0);
	if (n < 0) {
		ac_virt_set_error (error, "host %s: cannot list the domains of %s", self->name,
		                   self->uri);
		ac_daemon_host_drop_connection (self);
		return FALSE;
	}
	for (int i = 0; i < n; i++) {
		char uuid[VIR_UUID_STRING_BUFLEN];
		if (virDomainGetUUIDString (domains[i], uuid) == 0) {
			ac_daemon_host_queue (self, uuid);
			g_hash_table_replace (self->listed, g_strdup (uuid), domains[i]);
		} else {
			virDomainFree (domains[i]);
		}
	}
	free (domains);
	if (self->named)
		g_message ("host %s: connected to %s; %d domains to check", self->name, self->uri,
		           n);
	else
		g_message ("connected to %s; %d domains to check", self->uri, n);
	self->backoff_ms = BACKOFF_MIN_MS;
	return TRUE;
}

/* Opening a connection blocks for as long as the host takes to answer (an ssh handshake, or
 * for ever when a host accepts and says nothing): in a thread of its own, never on the main
 * loop the other hosts share. */
static void
ac_daemon_host_conn_close (gpointer conn)
{
	virConnectClose (conn);
}

static void
ac_daemon_host_open_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
	const gchar *uri = data;
	GError *error = NULL;
	virConnectPtr conn = ac_virt_connect (uri, &error);
	if (conn == NULL)
		g_task_return_error (task, error);
	else
		g_task_return_pointer (task, conn, ac_daemon_host_conn_close);
}

static void
ac_daemon_host_opened (GObject *source, GAsyncResult *res, gpointer user_data)
{
	AcDaemonHost *self = user_data;
	g_autoptr (GError) error = NULL;
	virConnectPtr conn = g_task_propagate_pointer (G_TASK (res), &error);

	self->connecting = FALSE;
	if (self->stopped) {
		if (conn != NULL)
			virConnectClose (conn);
		return;
	}
	if (conn == NULL)
		g_prefix_error (&error, "host %s: ", self->name);
	if (conn == NULL || !ac_daemon_host_connected (self, conn, &error)) {
		g_message ("%s; retrying in %.1f s", error->message, self->backoff_ms / 1000.0);
		ac_daemon_host_schedule_reconnect (self);
	}
}

static void
ac_daemon_host_open (AcDaemonHost *self)
{
	g_autoptr (GTask) task = NULL;
	if (self->connecting || self->conn != NULL || self->stopped)
		return;
	self->connecting = TRUE;
	task = g_task_new (NULL, NULL, ac_daemon_host_opened, self);
	g_task_set_task_data (task, g_strdup (self->uri), g_free);
	g_task_run_in_thread (task, ac_daemon_host_open_thread);
}

static gboolean
ac_daemon_host_try_reconnect (gpointer user_data)
{
	AcDaemonHost *self = user_data;
	self->reconnect_id = 0;
	ac_daemon_host_open (self);
	return G_SOURCE_REMOVE;
}

static void
ac_daemon_host_schedule_reconnect (AcDaemonHost *self)
{
	guint delay;
	if (self->reconnect_id != 0 || self->connecting || self->stopped)
		return;
	/* exponential backoff with ±25 % jitter, so many services do not reconnect in step */
	delay = self->backoff_ms + g_random_int_range (0, (gint32)(self->backoff_ms / 2 + 1))
	        - self->backoff_ms / 4;
	self->reconnect_id = g_timeout_add (delay, ac_daemon_host_try_reconnect, self);
	self->backoff_ms = MIN (self->backoff_ms * 2, BACKOFF_MAX_MS);
}

/**
 * ac_daemon_host_start:
 *
 * Connects in a thread (ac_daemon_host_open_thread()), and retries later on the host's own
 * timer: a host that is down, or slow to answer, stalls no other.
 */
void
ac_daemon_host_start (AcDaemonHost *self)
{
	ac_daemon_host_open (self);
}

/**
 * ac_daemon_host_stop:
 *
 * The end of the main loop: no more reconnection or reconcile, the connection dropped. The
 * host itself is kept (a worker may still read it).
 */
void
ac_daemon_host_stop (AcDaemonHost *self)
{
	self->stopped = TRUE;
	if (self->reconnect_id != 0)
		g_source_remove (self->reconnect_id);
	self->reconnect_id = 0;
	ac_daemon_host_drop_connection (self);
	g_hash_table_remove_all (self->pending);
}
