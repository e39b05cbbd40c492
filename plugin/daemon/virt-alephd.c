/*
 * virt-alephd: follows libvirt's events and reconciles every tagged domain.
 *
 * Threads: libvirt's default event loop runs on its own thread (it delivers domain events,
 * keepalives and the close callback); every callback only hands a message to the GLib main
 * loop, where all decisions and libvirt calls happen, one at a time.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <errno.h>
#include <glib-unix.h>
#include <glib/gstdio.h>
#include <libvirt/libvirt.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ac-error.h"
#include "ac-reconcile.h"
#include "ac-status.h"
#include "ac-tag.h"
#include "ac-virt.h"

#define BACKOFF_MIN_MS 500
#define BACKOFF_MAX_MS 30000

typedef struct {
	gchar *uri;
	GMainLoop *loop;
	virConnectPtr conn;
	int cb_lifecycle;
	int cb_metadata;
	GHashTable *pending; /* UUID strings to reconcile */
	guint reconcile_id;
	guint reconnect_id;
	guint backoff_ms;
	guint64 generation; /* bumped on every (re)connection; stale messages are dropped */
} AcDaemon;

typedef enum {
	MSG_DOMAIN,	/* something happened to a domain: reconcile it */
	MSG_UNDEFINED,	/* a domain is gone */
	MSG_CLOSED,	/* the connection went away */
} AcDaemonMsgKind;

typedef struct {
	AcDaemon *daemon;
	AcDaemonMsgKind kind;
	gchar *uuid;
	guint64 generation;
} AcDaemonMsg;

static void ac_daemon_schedule_reconnect (AcDaemon *self);

static void
ac_daemon_msg_free (gpointer data)
{
	AcDaemonMsg *msg = data;
	g_free (msg->uuid);
	g_free (msg);
}

/* ---- reconcile (main thread) ------------------------------------------------------------- */

static void
ac_daemon_reconcile_domain (AcDaemon *self, const gchar *uuid)
{
	g_autoptr(virDomain) dom = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(AcStatus) current = NULL;
	g_autoptr(AcStatus) desired = NULL;
	g_autofree gchar *xml = NULL;
	g_autofree gchar *status_xml = NULL;
	const gchar *name;

	dom = virDomainLookupByUUIDString (self->conn, uuid);
	if (dom == NULL)
		return; /* undefined meanwhile */
	name = virDomainGetName (dom);
	xml = ac_virt_get_xml (dom, &error);
	if (xml == NULL) {
		g_warning ("%s", error->message);
		return;
	}
	current = ac_status_parse (xml, -1, NULL);
	desired = ac_reconcile_desired_status (xml, current);
	if (desired == NULL) {
		/* untagged: a status left from an earlier tag is stale */
		if (current != NULL) {
			g_message ("domain '%s' is no longer tagged: removing its status", name);
			if (!ac_virt_set_metadata (dom, AC_STATUS_PREFIX, AC_STATUS_NS, NULL, &error))
				g_warning ("%s", error->message);
		}
		return;
	}
	if (current != NULL && ac_status_equal_ignoring_time (current, desired)) {
		g_debug ("domain '%s': status unchanged (%s)", name, desired->state);
		return;
	}
	ac_status_touch (desired);
	status_xml = ac_status_format (desired);
	if (desired->error_message != NULL)
		g_message ("domain '%s': %s at step %s: %s", name, desired->state, desired->step,
			   desired->error_message);
	else
		g_message ("domain '%s': %s at step %s", name, desired->state, desired->step);
	if (!ac_virt_set_metadata (dom, AC_STATUS_PREFIX, AC_STATUS_NS, status_xml, &error))
		g_warning ("%s", error->message);
}

static gboolean
ac_daemon_reconcile_pending (gpointer user_data)
{
	AcDaemon *self = user_data;
	g_autoptr(GPtrArray) uuids = g_ptr_array_new_with_free_func (g_free);
	GHashTableIter iter;
	gpointer key;

	self->reconcile_id = 0;
	if (self->conn == NULL)
		return G_SOURCE_REMOVE; /* kept pending until reconnected */
	g_hash_table_iter_init (&iter, self->pending);
	while (g_hash_table_iter_next (&iter, &key, NULL)) {
		g_ptr_array_add (uuids, g_strdup (key));
		g_hash_table_iter_steal (&iter);
		g_free (key);
	}
	for (guint i = 0; i < uuids->len && self->conn != NULL; i++)
		ac_daemon_reconcile_domain (self, g_ptr_array_index (uuids, i));
	return G_SOURCE_REMOVE;
}

static void
ac_daemon_queue (AcDaemon *self, const gchar *uuid)
{
	g_hash_table_add (self->pending, g_strdup (uuid));
	if (self->reconcile_id == 0)
		self->reconcile_id = g_idle_add (ac_daemon_reconcile_pending, self);
}

/* ---- connection (main thread) ------------------------------------------------------------ */

static void
ac_daemon_drop_connection (AcDaemon *self)
{
	if (self->conn == NULL)
		return;
	if (self->cb_lifecycle >= 0)
		virConnectDomainEventDeregisterAny (self->conn, self->cb_lifecycle);
	if (self->cb_metadata >= 0)
		virConnectDomainEventDeregisterAny (self->conn, self->cb_metadata);
	self->cb_lifecycle = self->cb_metadata = -1;
	virConnectClose (self->conn);
	self->conn = NULL;
	self->generation++;
}

static gboolean
ac_daemon_dispatch (gpointer data)
{
	AcDaemonMsg *msg = data;
	AcDaemon *self = msg->daemon;

	if (msg->generation != self->generation)
		return G_SOURCE_REMOVE;
	switch (msg->kind) {
	case MSG_DOMAIN:
		ac_daemon_queue (self, msg->uuid);
		break;
	case MSG_UNDEFINED:
		g_hash_table_remove (self->pending, msg->uuid);
		break;
	case MSG_CLOSED:
		g_warning ("lost the connection to %s; reconnecting", self->uri);
		ac_daemon_drop_connection (self);
		ac_daemon_schedule_reconnect (self);
		break;
	default:
		break;
	}
	return G_SOURCE_REMOVE;
}

/* Called on the libvirt event thread: hand over to the main loop. */
static void
ac_daemon_post (AcDaemon *self, AcDaemonMsgKind kind, virDomainPtr dom, guint64 generation)
{
	AcDaemonMsg *msg = g_new0 (AcDaemonMsg, 1);
	char uuid[VIR_UUID_STRING_BUFLEN] = "";
	if (dom != NULL)
		virDomainGetUUIDString (dom, uuid);
	msg->daemon = self;
	msg->kind = kind;
	msg->uuid = g_strdup (uuid);
	msg->generation = generation;
	g_main_context_invoke_full (NULL, G_PRIORITY_DEFAULT, ac_daemon_dispatch, msg, ac_daemon_msg_free);
}

typedef struct {
	AcDaemon *daemon;
	guint64 generation;
} AcDaemonCbData;

static int
ac_daemon_on_lifecycle (virConnectPtr conn, virDomainPtr dom, int event, int detail, void *opaque)
{
	AcDaemonCbData *cb = opaque;
	g_debug ("domain %s: lifecycle event %d/%d", virDomainGetName (dom), event, detail);
	ac_daemon_post (cb->daemon, event == VIR_DOMAIN_EVENT_UNDEFINED ? MSG_UNDEFINED : MSG_DOMAIN,
			dom, cb->generation);
	return 0;
}

static void
ac_daemon_on_metadata (virConnectPtr conn, virDomainPtr dom, int type, const char *nsuri, void *opaque)
{
	AcDaemonCbData *cb = opaque;
	/* Our own status writes come back as events: ignore them, or we would loop. */
	if (type == VIR_DOMAIN_METADATA_ELEMENT && g_strcmp0 (nsuri, AC_STATUS_NS) == 0)
		return;
	g_debug ("domain %s: metadata changed (%s)", virDomainGetName (dom), nsuri != NULL ? nsuri : "-");
	ac_daemon_post (cb->daemon, MSG_DOMAIN, dom, cb->generation);
}

static void
ac_daemon_on_close (virConnectPtr conn, int reason, void *opaque)
{
	AcDaemonCbData *cb = opaque;
	ac_daemon_post (cb->daemon, MSG_CLOSED, NULL, cb->generation);
}

static gboolean
ac_daemon_connect (AcDaemon *self, GError **error)
{
	virDomainPtr *domains = NULL;
	int n;
	AcDaemonCbData *cb;

	self->conn = ac_virt_connect (self->uri, error);
	if (self->conn == NULL)
		return FALSE;
	if (virConnectSetKeepAlive (self->conn, 5, 3) < 0)
		g_debug ("keepalive not supported by %s", self->uri);

	cb = g_new0 (AcDaemonCbData, 1);
	cb->daemon = self;
	cb->generation = self->generation;
	if (virConnectRegisterCloseCallback (self->conn, ac_daemon_on_close, cb, g_free) < 0) {
		g_free (cb);
		ac_virt_set_error (error, "cannot watch the connection to %s", self->uri);
		ac_daemon_drop_connection (self);
		return FALSE;
	}
	cb = g_new0 (AcDaemonCbData, 1);
	cb->daemon = self;
	cb->generation = self->generation;
	self->cb_lifecycle = virConnectDomainEventRegisterAny (self->conn, NULL, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
							       VIR_DOMAIN_EVENT_CALLBACK (ac_daemon_on_lifecycle),
							       cb, g_free);
	cb = g_new0 (AcDaemonCbData, 1);
	cb->daemon = self;
	cb->generation = self->generation;
	self->cb_metadata = virConnectDomainEventRegisterAny (self->conn, NULL, VIR_DOMAIN_EVENT_ID_METADATA_CHANGE,
							      VIR_DOMAIN_EVENT_CALLBACK (ac_daemon_on_metadata),
							      cb, g_free);
	if (self->cb_lifecycle < 0 || self->cb_metadata < 0) {
		ac_virt_set_error (error, "cannot follow the domain events of %s", self->uri);
		ac_daemon_drop_connection (self);
		return FALSE;
	}

	/* Domains tagged before we started (or while we were away) */
	n = virConnectListAllDomains (self->conn, &domains, 0);
	if (n < 0) {
		ac_virt_set_error (error, "cannot list the domains of %s", self->uri);
		ac_daemon_drop_connection (self);
		return FALSE;
	}
	for (int i = 0; i < n; i++) {
		char uuid[VIR_UUID_STRING_BUFLEN];
		if (virDomainGetUUIDString (domains[i], uuid) == 0)
			ac_daemon_queue (self, uuid);
		virDomainFree (domains[i]);
	}
	free (domains);
	g_message ("connected to %s; %d domains to check", self->uri, n);
	self->backoff_ms = BACKOFF_MIN_MS;
	return TRUE;
}

static gboolean
ac_daemon_try_reconnect (gpointer user_data)
{
	AcDaemon *self = user_data;
	g_autoptr(GError) error = NULL;

	self->reconnect_id = 0;
	if (ac_daemon_connect (self, &error))
		return G_SOURCE_REMOVE;
	g_message ("%s; retrying in %.1f s", error->message, self->backoff_ms / 1000.0);
	ac_daemon_schedule_reconnect (self);
	return G_SOURCE_REMOVE;
}

static void
ac_daemon_schedule_reconnect (AcDaemon *self)
{
	guint delay;
	if (self->reconnect_id != 0)
		return;
	/* exponential backoff with ±25 % jitter, so many services do not reconnect in step */
	delay = self->backoff_ms + g_random_int_range (0, (gint32)(self->backoff_ms / 2 + 1)) - self->backoff_ms / 4;
	self->reconnect_id = g_timeout_add (delay, ac_daemon_try_reconnect, self);
	self->backoff_ms = MIN (self->backoff_ms * 2, BACKOFF_MAX_MS);
}

/* ---- process ---------------------------------------------------------------------------- */

static gpointer
ac_daemon_event_thread (gpointer data)
{
	for (;;) {
		if (virEventRunDefaultImpl () < 0)
			g_usleep (100000);
	}
	return NULL;
}

static gboolean
ac_daemon_on_signal (gpointer user_data)
{
	AcDaemon *self = user_data;
	g_message ("stopping");
	g_main_loop_quit (self->loop);
	return G_SOURCE_REMOVE;
}

static gboolean
ac_daemon_load_config (const gchar *path, gboolean explicit, gchar **uri, GError **error)
{
	g_autoptr(GKeyFile) kf = g_key_file_new ();
	g_autoptr(GError) local_error = NULL;
	if (!g_key_file_load_from_file (kf, path, G_KEY_FILE_NONE, &local_error)) {
		if (!explicit && g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
			return TRUE;
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT, "config %s: %s", path, local_error->message);
		return FALSE;
	}
	if (*uri == NULL)
		*uri = g_key_file_get_string (kf, "daemon", "connect", NULL);
	return TRUE;
}

int
main (int argc, char **argv)
{
	gboolean foreground = FALSE;
	gboolean verbose = FALSE;
	gboolean version = FALSE;
	g_autofree gchar *uri = NULL;
	g_autofree gchar *config = NULL;
	g_autofree gchar *pidfile = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(GOptionContext) context = NULL;
	AcDaemon self = { 0 };
	const GOptionEntry entries[] = {
		{ "connect", 'c', 0, G_OPTION_ARG_STRING, &uri, "libvirt URI (default: qemu:///system)", "URI" },
		{ "config", 0, 0, G_OPTION_ARG_FILENAME, &config, "configuration file (default: " AC_DAEMON_CONF ")", "FILE" },
		{ "foreground", 'f', 0, G_OPTION_ARG_NONE, &foreground, "stay in the foreground", NULL },
		{ "pidfile", 0, 0, G_OPTION_ARG_FILENAME, &pidfile, "write the process ID to FILE", "FILE" },
		{ "verbose", 'v', 0, G_OPTION_ARG_NONE, &verbose, "log debug messages", NULL },
		{ "version", 'V', 0, G_OPTION_ARG_NONE, &version, "print the version and exit", NULL },
		{ NULL },
	};

	setlocale (LC_ALL, "");
	context = g_option_context_new (NULL);
	g_option_context_set_summary (context,
				      "Follows libvirt's domain events and turns every domain tagged with "
				      "<aleph:confidential> into an Aleph confidential VM.");
	g_option_context_add_main_entries (context, entries, NULL);
	if (!g_option_context_parse (context, &argc, &argv, &error)) {
		fprintf (stderr, "virt-alephd: %s\n", error->message);
		return AC_EXIT_USAGE;
	}
	if (version) {
		printf ("virt-alephd %s\n", PACKAGE_VERSION);
		return AC_EXIT_OK;
	}
	if (verbose)
		g_setenv ("G_MESSAGES_DEBUG", "all", TRUE);
	if (!ac_daemon_load_config (config != NULL ? config : AC_DAEMON_CONF, config != NULL, &uri, &error)) {
		fprintf (stderr, "virt-alephd: %s\n", error->message);
		return AC_EXIT_USAGE;
	}
	if (uri == NULL)
		uri = g_strdup (g_getenv ("LIBVIRT_DEFAULT_URI") != NULL ? g_getenv ("LIBVIRT_DEFAULT_URI")
									 : "qemu:///system");
	if (!foreground && daemon (0, 0) < 0) {
		fprintf (stderr, "virt-alephd: cannot daemonize: %s\n", g_strerror (errno));
		return AC_EXIT_FAILURE;
	}
	if (pidfile != NULL) {
		g_autofree gchar *pid = g_strdup_printf ("%d\n", (int)getpid ());
		if (!g_file_set_contents (pidfile, pid, -1, &error)) {
			g_printerr ("virt-alephd: %s\n", error->message);
			return AC_EXIT_IO;
		}
	}

	ac_virt_init ();
	if (virEventRegisterDefaultImpl () < 0) {
		g_printerr ("virt-alephd: cannot start libvirt's event loop\n");
		return AC_EXIT_LIBVIRT;
	}
	g_thread_unref (g_thread_new ("libvirt-events", ac_daemon_event_thread, NULL));

	self.uri = uri;
	self.loop = g_main_loop_new (NULL, FALSE);
	self.pending = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
	self.cb_lifecycle = self.cb_metadata = -1;
	self.backoff_ms = BACKOFF_MIN_MS;
	g_unix_signal_add (SIGTERM, ac_daemon_on_signal, &self);
	g_unix_signal_add (SIGINT, ac_daemon_on_signal, &self);

	g_message ("virt-alephd %s starting; libvirt %s", PACKAGE_VERSION, uri);
	if (!ac_daemon_connect (&self, &error)) {
		g_message ("%s; retrying", error->message);
		ac_daemon_schedule_reconnect (&self);
	}
	g_main_loop_run (self.loop);

	ac_daemon_drop_connection (&self);
	g_hash_table_unref (self.pending);
	g_main_loop_unref (self.loop);
	if (pidfile != NULL)
		(void)g_unlink (pidfile);
	return AC_EXIT_OK;
}
