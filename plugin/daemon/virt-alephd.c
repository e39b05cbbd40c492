/*
 * virt-alephd: follows libvirt's events and reconciles every tagged domain.
 *
 * Hosts: one libvirt connection by default ([daemon] connect), or a fleet: one more per
 * [host NAME] group (ac-daemon-host.c), each connected, reconnected and reconciled on its own,
 * its domains kept apart from the other hosts' (a cloned domain keeps its UUID), its state in
 * its own directory. The hosts share the main loop, the worker pool and the build slots.
 *
 * Threads: libvirt's default event implementation (since libvirt 6) runs on GLib's default
 * main context, so the main loop below delivers domain events, keepalives and the close
 * callback; every callback only queues work for the main loop, where all decisions happen one
 * at a time. The slow work runs in a bounded pool of worker threads ([daemon] max-flows),
 * first come first served, one flow per domain at a time: the Aleph pipelines, and the local
 * SEV flow (which may build a disk image for minutes). Image builds, bound by CPU and disk,
 * take one of fewer slots ([daemon] max-builds) while the network steps and waits of the other
 * flows go on. The workers call libvirt (its connections are thread-safe) for their own domain
 * only, and write its status through the domain's AcStatusWriter, which serializes its writes
 * with the heartbeat on the main loop.
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
#include "ac-daemon-host.h"
#include "ac-hosts.h"
#include "ac-keyfile.h"
#include "ac-log.h"
#include "ac-process.h"
#include "ac-localsev-owner.h"
#include "ac-domain.h"
#include "ac-localsev-service.h"
#include "ac-sev-host-libvirt.h"
#include "ac-pipeline.h"
#include "ac-status-writer.h"
#include "ac-reconcile.h"
#include "ac-slots.h"
#include "ac-secret-store.h"
#include "ac-status-queue.h"
#include "ac-status.h"
#include "ac-tag.h"
#include "ac-virt.h"

typedef struct {
	GMainLoop *loop;
	GPtrArray *hosts;          /* of AcDaemonHost, the [daemon] connect one first */
	AcPipelineConfig *pconfig; /* [pipeline], with the state dir of the [daemon] connect host */
	virConnectPtr secrets_conn; /* pconfig's secrets-uri; NULL = conn when it is local */
	gchar *localsev_pool;       /* [localsev] pool: images through the storage API, into it */
	guint monitor_s;
	guint monitor_id;
	guint max_flows;       /* [daemon] max-flows: flows running at once (the thread pool) */
	guint max_builds;      /* [daemon] max-builds: image builds at once */
	GThreadPool *pool;     /* of GTasks of AcWorkers, first in first out */
	AcSlots *build_slots;  /* taken by a flow while it builds an image */
	AcStatusQueue *statuses; /* the reconcile's status writes, off the main loop */
	gint running_localsev; /* atomic: local SEV flows in a thread now (their cleanup waited for)
	                        */
} AcDaemon;

/* ---- reconcile (main thread) ------------------------------------------------------------- */

/* ---- pipeline workers (one thread per domain at a time) --------------------------------- */

typedef enum {
	AC_WORKER_PIPELINE, /* the Aleph flow */
	AC_WORKER_MONITOR,  /* check a running instance on Aleph */
	AC_WORKER_LOCALSEV, /* the local SEV flow: image, prepare, attest */
} AcWorkerKind;

typedef struct {
	AcDaemon *daemon;
	AcDaemonHost *host; /* the domain's: its UUID is unique there only */
	gchar *uuid;
	gchar *tag; /* canonical tag the run started from (local SEV: and the disk) */
	AcWorkerKind kind;
	virConnectPtr conn;
	virDomainPtr dom;
	AcSevHost *sev_host;        /* local SEV flow: the host side of conn */
	virConnectPtr secrets_conn; /* local SEV flow: nullable */
	guint64 generation;
	GError *error;
	gboolean remember_failure; /* a non-transient failure waits for a change of w->tag */
	AcStatusWriter *writer;    /* its statuses, with the fingerprint of the tag it runs for */
	guint heartbeat_id;        /* the writer's heartbeat, on the main loop */
	GCancellable *cancellable; /* the run's, also while it waits for a build slot */
	gboolean building;         /* holds one of the daemon's build slots */
	GThread *thread;           /* the pool's thread that runs it (slots taken there only) */
	gboolean queued;           /* its status says "queued" until its slot is taken */
	AcStatus *before_queue;    /* the status that said before (nullable), written back then */
} AcWorker;

static void
ac_worker_free (AcWorker *w)
{
	g_free (w->uuid);
	g_free (w->tag);
	if (w->dom != NULL)
		virDomainFree (w->dom);
	if (w->conn != NULL)
		virConnectClose (w->conn);
	g_clear_object (&w->sev_host);
	if (w->secrets_conn != NULL)
		virConnectClose (w->secrets_conn);
	g_clear_error (&w->error);
	g_clear_object (&w->cancellable);
	if (w->heartbeat_id != 0)
		g_source_remove (w->heartbeat_id);
	ac_status_writer_free (w->writer);
	ac_status_free (w->before_queue);
	g_free (w);
}

/* A flow that waits in line for a slot says so: status "queued" at @step ("flow" or "build"),
 * refreshed by the heartbeat while it waits. Never a check of a running instance. */
static void
ac_worker_queue (AcWorker *w, const gchar *step)
{
	g_autofree gchar *xml = NULL;
	g_autoptr (AcStatus) current = NULL;
	g_autoptr (AcStatus) queued = NULL;
	g_autoptr (AcStatus) written = NULL;

	if (w->kind == AC_WORKER_MONITOR)
		return;
	xml = ac_virt_get_xml (w->dom, NULL);
	current = xml != NULL ? ac_status_parse (xml, -1, NULL) : NULL;
	queued = ac_reconcile_queued_status (current, step);
	if (!w->queued) {
		ac_status_free (w->before_queue);
		w->before_queue = g_steal_pointer (&current);
	}
	w->queued = TRUE;
	written = ac_status_writer_write (w->writer, queued);
}

static void
ac_worker_queue_build_cb (gpointer user_data)
{
	ac_worker_queue (user_data, "build");
}

/* its slot taken: "queued" gives way to what it said before, then the flow's own steps */
static void
ac_worker_dequeue (AcWorker *w)
{
	g_autoptr (AcStatus) back = NULL;
	g_autoptr (AcStatus) written = NULL;

	if (!w->queued)
		return;
	w->queued = FALSE;
	back = ac_reconcile_dequeued_status (w->before_queue);
	written = ac_status_writer_write (w->writer, back);
}

/* An Aleph flow that reaches its build ("building", reported from its own thread before the
 * build starts) takes a build slot first, waiting for one in line; it gives it back at its
 * next state (or at its end). Cancelled while waiting (stopping), it goes on without, and
 * without saying "building": the flow stops before its build, which never starts. The build's
 * progress, reported from the builder's threads, is left alone. Returns whether @status is
 * to be written. */
static gboolean
ac_worker_build_slot (AcWorker *w, const AcStatus *status)
{
	gboolean building = g_strcmp0 (status->state, "building") == 0;
	gboolean waited = FALSE;

	if (w->kind != AC_WORKER_PIPELINE || w->thread != g_thread_self ())
		return TRUE;
	if (building && !w->building) {
		/* "queued" at build while it waits; the "building" written next replaces it */
		w->building = ac_slots_acquire_full (w->daemon->build_slots, w->cancellable,
		                                     ac_worker_queue_build_cb, w, &waited);
		w->queued = FALSE;
		if (!w->building)
			return FALSE;
		if (waited)
			g_message ("domain %s: waited for a build slot (%u at once)", w->uuid,
			           w->daemon->max_builds);
	} else if (!building && w->building) {
		ac_slots_release (w->daemon->build_slots);
		w->building = FALSE;
	}
	return TRUE;
}

static void
ac_worker_status (const AcStatus *status, gpointer user_data)
{
	AcWorker *w = user_data;
	g_autoptr (AcStatus) written = NULL;
	if (!ac_worker_build_slot (w, status))
		return;
	written = ac_status_writer_write (w->writer, status);
}

/* the local SEV flow of one domain: statuses as it goes, the final one written here */
static gboolean
ac_worker_localsev (AcWorker *w, GCancellable *cancellable)
{
	g_autofree gchar *xml = ac_virt_get_xml (w->dom, NULL);
	g_autoptr (AcStatus) current = xml != NULL ? ac_status_parse (xml, -1, NULL) : NULL;
	g_autoptr (AcStatus) st = NULL;
	AcLocalsevServiceRun run = { 0 };
	gboolean ok;

	run.pool = w->daemon->localsev_pool;
	run.status_func = ac_worker_status;
	run.user_data = w;
	run.cancellable = cancellable;
	ok = ac_localsev_service_reconcile_full (w->sev_host, w->host->lopts, &run, w->secrets_conn,
	                                         w->dom, current, &st, &w->error);
	if (!ok)
		g_message ("domain '%s': local SEV flow: %s", virDomainGetName (w->dom),
		           w->error->message);
	/* an interrupted build is no failure of the domain: it resumes at the next start */
	if (st != NULL && !g_error_matches (w->error, AC_ERROR, AC_ERROR_CANCELLED)) {
		g_autoptr (AcStatus) written = ac_status_writer_write (w->writer, st);
	}
	/* a disk that cannot be built into an image fails again until the tag or disk changes */
	w->remember_failure = !ok && st != NULL && g_strcmp0 (st->error_step, "build") == 0;
	return ok;
}

static void
ac_worker_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
	AcWorker *w = data;
	gboolean ok;
	/* counted before the check below: the shutdown, which cancels first, waits for it */
	if (w->kind == AC_WORKER_LOCALSEV)
		g_atomic_int_inc (&w->daemon->running_localsev);
	/* stopping while it waited in line: it never starts, its state untouched */
	if (g_cancellable_is_cancelled (cancellable)) {
		if (w->kind == AC_WORKER_LOCALSEV)
			g_atomic_int_dec_and_test (&w->daemon->running_localsev);
		g_task_return_new_error (task, AC_ERROR, AC_ERROR_CANCELLED,
		                         "domain %s: stopped before its flow started", w->uuid);
		return;
	}
	w->thread = g_thread_self ();
	/* whatever the pipeline logs concerns this domain (journal fields DOMAIN_NAME/UUID) */
	ac_daemon_host_log_context (w->host, virDomainGetName (w->dom), w->uuid);
	ac_worker_dequeue (w);
	if (w->kind == AC_WORKER_LOCALSEV) {
		/* the local SEV flow is local work (build, launch, attestation on this libvirt):
		 * it holds a build slot all along */
		w->building = ac_slots_acquire_full (w->daemon->build_slots, cancellable,
		                                     ac_worker_queue_build_cb, w, NULL);
		/* taken, or stopping while it waited: "queued" gives way to what it said before */
		ac_worker_dequeue (w);
		if (w->building) {
			ok = ac_worker_localsev (w, cancellable);
		} else {
			ok = FALSE;
			g_set_error (&w->error, AC_ERROR, AC_ERROR_CANCELLED,
			             "domain %s: stopped while waiting for a build slot", w->uuid);
		}
		g_atomic_int_dec_and_test (&w->daemon->running_localsev);
	} else if (w->kind == AC_WORKER_MONITOR) {
		AcPipelineRunning outcome;
		ok = ac_pipeline_check_running (w->host->pconfig, w->conn, w->dom, ac_worker_status,
		                                w, &outcome, &w->error);
		if (!ok && outcome == AC_PIPELINE_RUNNING_UNREACHABLE) {
			/* a reboot in progress, or the network: the next check tries again */
			g_info ("domain %s: %s", w->uuid, w->error->message);
			g_clear_error (&w->error);
			ok = TRUE;
		}
	} else {
		g_autoptr (AcProgress) progress = ac_progress_new (w->uuid);
		ok = ac_pipeline_run (w->host->pconfig, w->conn, w->dom, ac_worker_status, w,
		                      progress, cancellable, &w->error);
	}
	if (w->building) {
		ac_slots_release (w->daemon->build_slots);
		w->building = FALSE;
	}
	ac_daemon_host_log_context (w->host, NULL, NULL);
	g_task_return_boolean (task, ok);
}

/* a thread of the daemon's pool runs the next flow in line */
static void
ac_worker_pool_func (gpointer data, gpointer user_data)
{
	g_autoptr (GTask) task = data;
	ac_worker_thread (task, NULL, g_task_get_task_data (task), g_task_get_cancellable (task));
}

static gboolean
ac_error_is_transient (const GError *error)
{
	return error != NULL && error->domain == AC_ERROR
	       && (error->code == AC_ERROR_NETWORK || error->code == AC_ERROR_REMOTE
	           || error->code == AC_ERROR_LIBVIRT || error->code == AC_ERROR_CANCELLED);
}

static void
ac_worker_done_domain (AcWorker *w);

static void
ac_worker_done (GObject *source, GAsyncResult *res, gpointer data)
{
	AcWorker *w = g_task_get_task_data (G_TASK (res));
	AcDaemonHost *host = w->host; /* w may go with the task */
	GError *error = NULL;
	/* the error of a flow that never started (stopping) */
	if (!g_task_propagate_boolean (G_TASK (res), &error) && w->error == NULL)
		w->error = error;
	else
		g_clear_error (&error);
	ac_daemon_host_log_context (host, virDomainGetName (w->dom), w->uuid);
	ac_worker_done_domain (w);
	ac_daemon_host_log_context (host, NULL, NULL);
}

static void
ac_worker_done_domain (AcWorker *w)
{
	AcDaemonHost *self = w->host;
	gboolean running = g_main_loop_is_running (w->daemon->loop);

	if (w->heartbeat_id != 0)
		g_source_remove (w->heartbeat_id);
	w->heartbeat_id = 0;
	g_hash_table_remove (self->workers, w->uuid);
	/* an event came while it ran: the run may not have seen what it says */
	if (g_hash_table_remove (self->dirty, w->uuid) && running)
		ac_daemon_host_queue (self, w->uuid);
	if (w->error != NULL && w->generation != self->generation) {
		/* the connection was lost while it ran: whatever failed may be that; start again */
		g_message ("domain %s: the run overlapped a reconnection (%s); running again",
		           w->uuid, w->error->message);
		ac_daemon_host_queue (self, w->uuid);
		return;
	}
	if (w->error == NULL) {
		g_hash_table_remove (self->retries, w->uuid);
		g_hash_table_remove (self->failed, w->uuid);
		return;
	}
	if (g_error_matches (w->error, AC_ERROR, AC_ERROR_CANCELLED) && !running)
		return;
	if (ac_error_is_transient (w->error)) {
		guint n = GPOINTER_TO_UINT (g_hash_table_lookup (self->retries, w->uuid)) + 1;
		guint delay = MIN (1u << MIN (n, 5u), 30u);
		g_hash_table_insert (self->retries, g_strdup (w->uuid), GUINT_TO_POINTER (n));
		g_message ("domain %s: transient failure (%s); retrying in %u s", w->uuid,
		           w->error->message, delay);
		ac_daemon_host_requeue_later (self, w->uuid, delay);
		return;
	}
	/* a refusal (untrusted chain, mismatch, invalid input …) waits for the owner to act; the
	 * local SEV flow's other refusals are looked at again on the next event */
	if (w->kind != AC_WORKER_LOCALSEV || w->remember_failure)
		g_hash_table_insert (self->failed, g_strdup (w->uuid), g_strdup (w->tag));
}

/* the flows of every host in the pool, running or in line (the pool is shared) */
static guint
ac_daemon_count_flows (AcDaemon *self)
{
	guint n = 0;
	for (guint i = 0; i < self->hosts->len; i++)
		n += g_hash_table_size (
		    ((AcDaemonHost *)g_ptr_array_index (self->hosts, i))->workers);
	return n;
}

static void
ac_daemon_start_worker (AcDaemonHost *host,
                        virDomainPtr dom,
                        const AcDomain *model,
                        const gchar *uuid,
                        const gchar *tag,
                        AcWorkerKind kind)
{
	AcDaemon *self = host->daemon;
	g_autoptr (GTask) task = NULL;
	GCancellable *cancellable;
	AcWorker *w;

	/* stopping: the running ones are cancelled, no new one starts */
	if (g_hash_table_contains (host->workers, uuid) || !g_main_loop_is_running (self->loop))
		return;
	w = g_new0 (AcWorker, 1);
	w->daemon = self;
	w->host = host;
	w->uuid = g_strdup (uuid);
	w->tag = g_strdup (tag);
	w->kind = kind;
	if (kind == AC_WORKER_LOCALSEV) {
		w->sev_host = g_object_ref (host->sev_host);
		if (self->secrets_conn != NULL) {
			virConnectRef (self->secrets_conn);
			w->secrets_conn = self->secrets_conn;
		}
	}
	virConnectRef (host->conn);
	w->conn = host->conn;
	w->generation = host->generation;
	virDomainRef (dom);
	w->dom = dom;
	{
		/* the tag the status is about, from the model the caller read */
		g_autofree gchar *fingerprint = ac_domain_get_tag_fingerprint (model);
		w->writer = ac_status_writer_new (dom, fingerprint);
		ac_status_writer_set_log (w->writer, TRUE);
		/* a status of work in progress is written at least every AC_STATUS_HEARTBEAT_S */
		w->heartbeat_id = ac_status_writer_add_heartbeat (w->writer);
	}
	/* every thread busy (or about to be): it waits in line, and says so before it is pushed
	 * (the thread that takes it writes next) */
	if (ac_daemon_count_flows (self) >= self->max_flows)
		ac_worker_queue (w, "flow");
	cancellable = g_cancellable_new ();
	w->cancellable = g_object_ref (cancellable);
	/* in the table while it waits in line too: one flow per domain */
	g_hash_table_insert (host->workers, g_strdup (uuid), cancellable);
	task = g_task_new (NULL, cancellable, ac_worker_done, NULL);
	/* a flow cancelled at its end still reports how it ended, not the cancellation */
	g_task_set_check_cancellable (task, FALSE);
	g_task_set_task_data (task, w, (GDestroyNotify)ac_worker_free);
	/* first in, first out: a domain retried after its backoff queues behind the others */
	g_thread_pool_push (self->pool, g_steal_pointer (&task), NULL);
}

/* ---- reconcile (main thread) ------------------------------------------------------------- */

static void
ac_daemon_reconcile_dom (AcDaemonHost *self, virDomainPtr dom, const gchar *uuid)
{
	g_autoptr (GError) error = NULL;
	g_autoptr (AcStatus) current = NULL;
	g_autoptr (AcStatus) desired = NULL;
	g_autoptr (AcDomain) model = NULL;
	const AcTag *tag;
	g_autofree gchar *xml = NULL;
	g_autofree gchar *canonical = NULL;
	const gchar *name;

	name = virDomainGetName (dom);
	xml = ac_virt_get_xml (dom, &error);
	if (xml == NULL) {
		g_warning ("%s", error->message);
		return;
	}
	current = ac_status_parse (xml, -1, NULL);
	/* the domain XML read once: everything below takes the model */
	model = ac_domain_parse (xml, -1, &error);
	desired = ac_reconcile_desired_status (xml, model, error, current);
	g_clear_error (&error);
	if (desired == NULL) {
		/* untagged: a status left from an earlier tag is stale */
		if (current != NULL) {
			g_message ("domain '%s' is no longer tagged: removing its status", name);
			if (!ac_virt_set_metadata (dom, AC_STATUS_PREFIX, AC_STATUS_NS, NULL,
			                           &error))
				g_warning ("%s", error->message);
		}
		return;
	}
	tag = model != NULL ? model->tag : NULL;
	/* not published, local mode sev: its image built and a launch prepared while shut off,
	 * attested when started paused; in a worker (a build takes minutes) */
	if (tag != NULL && tag->publish == NULL
	    && ac_localsev_service_applies (self->sev_host, tag)) {
		AcDomainDisk *disk = ac_domain_get_tagged_disk (model);
		g_autofree gchar *key = NULL;
		if (g_hash_table_contains (self->workers, uuid)) {
			g_hash_table_add (self->dirty, g_strdup (uuid));
			return;
		}
		canonical = ac_tag_format (tag);
		key = g_strdup_printf ("%s\n%s", canonical,
		                       disk != NULL && disk->source != NULL ? disk->source : "");
		if (g_strcmp0 (g_hash_table_lookup (self->failed, uuid), key) == 0) {
			g_debug ("domain '%s': its disk could not be built into an image; waiting "
			         "for a change",
			         name);
			return;
		}
		ac_daemon_start_worker (self, dom, model, uuid, key, AC_WORKER_LOCALSEV);
		return;
	}
	if (tag == NULL || tag->publish == NULL) {
		ac_status_queue_push (((AcDaemon *)self->daemon)->statuses, self->name, self->named,
		                      dom, xml, g_steal_pointer (&desired));
		return;
	}

	/* published to Aleph: the pipeline owns the status from here */
	canonical = ac_tag_format (tag);
	if (g_hash_table_contains (self->workers, uuid))
		return;
	if (g_strcmp0 (g_hash_table_lookup (self->failed, uuid), canonical) == 0) {
		g_debug ("domain '%s': failed for this tag; waiting for a change", name);
		return;
	}
	if (current != NULL && g_strcmp0 (current->state, "running") == 0) {
		g_debug ("domain '%s': running on Aleph", name);
		return;
	}
	g_message ("domain '%s': running the Aleph flow", name);
	ac_daemon_start_worker (self, dom, model, uuid, canonical, AC_WORKER_PIPELINE);
}

/* A local SEV launch prepared long ago gets a fresh one before its record expires. */
static gboolean
ac_daemon_launch_needs_refresh (AcDaemonHost *self,
                                const AcStatus *st,
                                const AcTag *tag,
                                const gchar *uuid)
{
	g_autoptr (AcLocalsevRecord) record = NULL;

	if (st == NULL || g_strcmp0 (st->state, "prepared") != 0 || tag->publish != NULL)
		return FALSE;
	record = ac_localsev_record_load (self->lopts->state_dir, uuid, NULL);
	return record != NULL && record->state == AC_LOCALSEV_STATE_PREPARED
	       && ac_localsev_record_needs_refresh (record, NULL);
}

/* Every monitor interval: instances that run on Aleph are checked for a CRN restart, and
 * local launches are prepared again when their records near expiry. */
static void
ac_daemon_monitor_host (AcDaemonHost *self)
{
	virDomainPtr *domains = NULL;
	int n;

	if (self->conn == NULL)
		return;
	n = virConnectListAllDomains (self->conn, &domains, 0);
	for (int i = 0; i < n; i++) {
		g_autofree gchar *xml = ac_virt_get_xml (domains[i], NULL);
		g_autoptr (AcStatus) st = xml != NULL ? ac_status_parse (xml, -1, NULL) : NULL;
		g_autoptr (AcDomain) model = xml != NULL ? ac_domain_parse (xml, -1, NULL) : NULL;
		const AcTag *tag = model != NULL ? model->tag : NULL;
		char uuid[VIR_UUID_STRING_BUFLEN];
		/* only instances on Aleph: a local SEV domain's "running" has no CRN to ask */
		if (tag == NULL || virDomainGetUUIDString (domains[i], uuid) != 0) {
			virDomainFree (domains[i]);
			continue;
		}
		if (st != NULL && g_strcmp0 (st->state, "running") == 0 && tag->publish != NULL)
			ac_daemon_start_worker (self, domains[i], model, uuid, NULL,
			                        AC_WORKER_MONITOR);
		else if (ac_daemon_launch_needs_refresh (self, st, tag, uuid))
			ac_daemon_host_queue (self, uuid);
		/* a local SEV-SNP guest that runs unattested: its agent is asked again */
		else if (tag->publish == NULL && tag->tee == AC_TEE_SNP
		         && virDomainIsActive (domains[i]) == 1
		         && (st == NULL || g_strcmp0 (st->state, "running") != 0)
		         && ac_localsev_service_applies (self->sev_host, tag))
			ac_daemon_host_queue (self, uuid);
		virDomainFree (domains[i]);
	}
	free (domains);
}

static gboolean
ac_daemon_monitor (gpointer data)
{
	AcDaemon *self = data;
	for (guint i = 0; i < self->hosts->len; i++)
		ac_daemon_monitor_host (g_ptr_array_index (self->hosts, i));
	return G_SOURCE_CONTINUE;
}

/* a domain of @host undefined: a launch prepared for it never starts, its session keys go
 * (a running worker's domain is left to the worker; the built image is kept) */
static void
ac_daemon_undefined (AcDaemonHost *host, const gchar *uuid)
{
	g_autoptr (GError) error = NULL;
	if (g_hash_table_contains (host->workers, uuid))
		return;
	ac_daemon_host_log_context (host, NULL, uuid);
	if (ac_localsev_forget (host->lopts->state_dir, uuid, &error))
		g_message ("domain %s is undefined: removed its local SEV session keys and records",
		           uuid);
	else if (!g_error_matches (error, AC_ERROR, AC_ERROR_NOT_FOUND))
		g_warning ("domain %s is undefined: %s", uuid, error->message);
	ac_daemon_host_log_context (host, NULL, NULL);
}

static const AcDaemonHostFuncs ac_daemon_host_funcs = {
	.reconcile = ac_daemon_reconcile_dom,
	.undefined = ac_daemon_undefined,
};

/* ---- process ---------------------------------------------------------------------------- */

static gboolean
ac_daemon_on_signal (gpointer user_data)
{
	AcDaemon *self = user_data;
	g_message ("stopping");
	g_main_loop_quit (self->loop);
	return G_SOURCE_REMOVE;
}

/* wakes the main context while the workers stop */
static gboolean
ac_daemon_tick (gpointer user_data)
{
	return G_SOURCE_CONTINUE;
}

/* [daemon] and [localsev] pool; *hosts: the hosts to follow ([daemon] connect or @uri, and
 * the [host NAME] groups) */
static gboolean
ac_daemon_load_config (const gchar *path,
                       gboolean explicit,
                       const gchar *uri,
                       AcDaemon *self,
                       GPtrArray **hosts,
                       GError **error)
{
	g_autoptr (GKeyFile) kf = g_key_file_new ();
	g_autoptr (GError) local_error = NULL;
	const gchar *env = g_getenv ("LIBVIRT_DEFAULT_URI");
	const gchar *default_uri = env != NULL && env[0] != '\0' ? env : "qemu:///system";
	if (!ac_key_file_load_strict (kf, path, ac_service_config_keys, &local_error)) {
		if (explicit || !g_error_matches (local_error, AC_ERROR, AC_ERROR_NOT_FOUND)) {
			g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT, "config %s",
			             local_error->message);
			return FALSE;
		}
	}
	*hosts = ac_hosts_from_key_file (kf, path, uri, default_uri, self->pconfig->state_dir,
	                                 &local_error);
	if (*hosts == NULL) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT, "config %s",
		             local_error->message);
		return FALSE;
	}
	if (!ac_key_file_get_positive (kf, path, ac_service_config_keys, "daemon",
	                               "monitor-interval", &self->monitor_s, error))
		return FALSE;
	/* flows at once (network steps and waits), of which image builds (CPU and disk) */
	if (!ac_key_file_get_positive (kf, path, ac_service_config_keys, "daemon", "max-builds",
	                               &self->max_builds, error))
		return FALSE;
	if (!g_key_file_has_key (kf, "daemon", "max-flows", NULL))
		self->max_flows = ac_slots_default_flows (self->max_builds);
	if (!ac_key_file_get_positive (kf, path, ac_service_config_keys, "daemon", "max-flows",
	                               &self->max_flows, error))
		return FALSE;
	/* the local SEV flow builds images through libvirt's storage API, into this pool (remote
	 * hosts always do, into the disk's own pool) */
	if (g_key_file_has_key (kf, "localsev", "pool", NULL)) {
		gchar **pool = &self->localsev_pool;
		g_free (*pool);
		*pool = g_key_file_get_string (kf, "localsev", "pool", NULL);
		if (*pool == NULL || (*pool)[0] == '\0') {
			g_set_error (
			    error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			    "config %s: [localsev] pool: expected the name of a storage pool",
			    path);
			return FALSE;
		}
	}
	return TRUE;
}

/* detached unless --foreground, the process ID written to --pidfile; an exit code */
static int
ac_daemon_detach (gboolean foreground, const gchar *pidfile)
{
	g_autoptr (GError) error = NULL;
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
	return AC_EXIT_OK;
}

/* --check-config: what the daemon would not check before it starts; a fleet's hosts listed */
static int
ac_daemon_check_config (const gchar *path, gboolean explicit, GPtrArray *hosts)
{
	g_autoptr (GError) error = NULL;
	g_autoptr (AcLocalsevOptions) lo = ac_localsev_options_new (NULL);
	if (!ac_localsev_service_options_load_config (lo, path, explicit, &error)) {
		fprintf (stderr, "virt-alephd: %s\n", error->message);
		return AC_EXIT_USAGE;
	}
	printf ("virt-alephd: %s: configuration valid\n", path);
	for (guint i = 0; hosts->len > 1 && i < hosts->len; i++) {
		const AcHost *h = g_ptr_array_index (hosts, i);
		printf ("virt-alephd: host %s: %s (state %s)\n", h->name, h->uri, h->state_dir);
	}
	return AC_EXIT_OK;
}

/* One host: its pipeline configuration and the local SEV flow's options, with its state dir,
 * and the owner's key; an exit code, the error printed. */
static int
ac_daemon_add_host (AcDaemon *self, const AcHost *h, const gchar *config, gboolean explicit)
{
	g_autoptr (GError) error = NULL;
	g_autoptr (AcPipelineConfig) pconfig = ac_pipeline_config_load (config, &error);
	AcDaemonHost *host;
	gboolean remote;

	if (pconfig == NULL) {
		g_printerr ("virt-alephd: %s\n", error->message);
		return AC_EXIT_USAGE;
	}
	g_free (pconfig->state_dir);
	pconfig->state_dir = g_strdup (h->state_dir);
	host = ac_daemon_host_new (h, g_steal_pointer (&pconfig), &ac_daemon_host_funcs, self);
	g_ptr_array_add (self->hosts, host);
	host->lopts = ac_localsev_service_options_new (
	    host->pconfig->state_dir, host->pconfig->trusted_roots, host->pconfig->min_api_major,
	    host->pconfig->min_api_minor, &error);
	/* SEV-SNP hosts: [localsev] snp-runtime and snp-agent */
	if (host->lopts == NULL
	    || !ac_localsev_service_options_load_config (host->lopts, config, explicit, &error)) {
		g_printerr ("virt-alephd: %s\n", error->message);
		return AC_EXIT_USAGE;
	}
	/* a remote host's copy of a tag is not the owner's word: act on the approved one */
	remote = !ac_secret_store_uri_is_local (h->uri);
	host->lopts->pin_tags = remote;
#if HAVE_SECP256K1
	/* launch records go signed into the domains' metadata: a remote host's hook needs them */
	if (!ac_localsev_options_set_owner_key (host->lopts, host->pconfig->key_file,
	                                        host->pconfig->key_password_file, remote, NULL,
	                                        &error)) {
		g_printerr ("virt-alephd: %s\n", error->message);
		return ac_error_to_exit_code (error);
	}
#endif
	return AC_EXIT_OK;
}

/* The secret store and every host; an exit code, the error printed. */
static int
ac_daemon_setup_hosts (AcDaemon *self, GPtrArray *hosts, const gchar *config, gboolean explicit)
{
	g_autoptr (GError) error = NULL;

	ac_virt_init ();
	if (self->pconfig->secrets_uri != NULL
	    && (self->secrets_conn
	        = ac_localsev_service_secrets_connect (NULL, self->pconfig->secrets_uri, &error))
	           == NULL) {
		g_printerr ("virt-alephd: %s\n", error->message);
		return AC_EXIT_USAGE;
	}
	self->hosts = g_ptr_array_new ();
	for (guint i = 0; i < hosts->len; i++) {
		int rc = ac_daemon_add_host (self, g_ptr_array_index (hosts, i), config, explicit);
		if (rc != AC_EXIT_OK)
			return rc;
	}
	/* a fleet: every message of a host names it */
	for (guint i = 0; i < self->hosts->len; i++)
		((AcDaemonHost *)g_ptr_array_index (self->hosts, i))->named = self->hosts->len > 1;
	return AC_EXIT_OK;
}

/* The daemon's tables, timers and signal handlers, before it connects. */
static void
ac_daemon_init (AcDaemon *self)
{
	self->loop = g_main_loop_new (NULL, FALSE);
	/* threads made as flows come, never more than max-flows; the flows beyond wait in line */
	self->pool
	    = g_thread_pool_new (ac_worker_pool_func, self, (gint)self->max_flows, FALSE, NULL);
	self->build_slots = ac_slots_new (self->max_builds);
	/* libvirtd flushes each domain's configuration to disk: a few flushes at once */
	self->statuses = ac_status_queue_new (4);
	self->monitor_id = g_timeout_add_seconds (self->monitor_s, ac_daemon_monitor, self);
	g_unix_signal_add (SIGTERM, ac_daemon_on_signal, self);
	g_unix_signal_add (SIGINT, ac_daemon_on_signal, self);
}

/* After the main loop: the workers stopped, the connection dropped, what is left freed. */
static void
ac_daemon_shutdown (AcDaemon *self)
{
	/* stop the pipelines at their next step boundary; their state is saved, they resume */
	{
		for (guint i = 0; i < self->hosts->len; i++) {
			AcDaemonHost *host = g_ptr_array_index (self->hosts, i);
			GHashTableIter iter;
			gpointer value;
			g_hash_table_iter_init (&iter, host->workers);
			while (g_hash_table_iter_next (&iter, NULL, &value))
				g_cancellable_cancel (value);
		}
	}
	/* a cancelled image build of the local SEV flow undoes its temporaries (mounts, work
	 * directory, the plaintext copy of a remote disk): let it, a while */
	{
		gint64 deadline = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;
		guint tick = g_timeout_add (200, ac_daemon_tick, NULL);
		/* the flows still in line never start */
		g_thread_pool_free (self->pool, TRUE, FALSE);
		self->pool = NULL;
		while (g_atomic_int_get (&self->running_localsev) > 0
		       && g_get_monotonic_time () < deadline)
			g_main_context_iteration (NULL, TRUE);
		g_source_remove (tick);
	}
	/* the statuses decided are written before the connections go */
	ac_status_queue_free (self->statuses);
	self->statuses = NULL;
	/* the hosts are kept: a worker still running keeps using their options */
	for (guint i = 0; i < self->hosts->len; i++)
		ac_daemon_host_stop (g_ptr_array_index (self->hosts, i));
	if (self->secrets_conn != NULL && g_atomic_int_get (&self->running_localsev) == 0)
		virConnectClose (self->secrets_conn);
	g_main_loop_unref (self->loop);
}

int
main (int argc, char **argv)
{
	gboolean foreground = FALSE;
	gboolean verbose = FALSE;
	gboolean version = FALSE;
	gboolean check_config = FALSE;
	g_autofree gchar *uri = NULL;
	g_autofree gchar *config = NULL;
	g_autofree gchar *pidfile = NULL;
	g_autofree gchar *log = NULL;
	AcLogTarget log_target = AC_LOG_AUTO;
	g_autoptr (GError) error = NULL;
	g_autoptr (GOptionContext) context = NULL;
	AcDaemon self = { 0 };
	g_autoptr (AcPipelineConfig) pconfig_owner = NULL;
	g_autoptr (GPtrArray) hosts = NULL;
	int rc;
	const GOptionEntry entries[] = {
		{ "connect", 'c', 0, G_OPTION_ARG_STRING, &uri,
		  "libvirt URI, instead of [daemon] connect (default: qemu:///system)", "URI" },
		{ "config", 0, 0, G_OPTION_ARG_FILENAME, &config,
		  "configuration file (default: " AC_DAEMON_CONF ")", "FILE" },
		{ "foreground", 'f', 0, G_OPTION_ARG_NONE, &foreground, "stay in the foreground",
		  NULL },
		{ "pidfile", 0, 0, G_OPTION_ARG_FILENAME, &pidfile, "write the process ID to FILE",
		  "FILE" },
		{ "log", 0, 0, G_OPTION_ARG_STRING, &log,
		  "where log messages go: auto (default: the journal, else syslog when detached; "
		  "stderr "
		  "with --foreground), journal, syslog or stderr",
		  "TARGET" },
		{ "verbose", 'v', 0, G_OPTION_ARG_NONE, &verbose, "log debug messages", NULL },
		{ "version", 'V', 0, G_OPTION_ARG_NONE, &version, "print the version and exit",
		  NULL },
		{ "check-config", 0, 0, G_OPTION_ARG_NONE, &check_config,
		  "check the configuration file and exit (2 when it is invalid)", NULL },
		{ NULL },
	};

	/* secrets (passphrases, the account key) pass through here: no core dump may hold them */
	ac_process_harden ();
	setlocale (LC_ALL, "");
	context = g_option_context_new (NULL);
	g_option_context_set_summary (
	    context, "Follows libvirt's domain events and turns every domain tagged with "
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
	if (log != NULL && !ac_log_target_parse (log, &log_target, &error)) {
		fprintf (stderr, "virt-alephd: %s\n", error->message);
		return AC_EXIT_USAGE;
	}
	if (verbose)
		g_setenv ("G_MESSAGES_DEBUG", "all", TRUE);
	self.monitor_s = 30;
	self.max_builds = ac_slots_default_builds ();
	self.max_flows = ac_slots_default_flows (self.max_builds);
	self.pconfig = pconfig_owner
	    = ac_pipeline_config_load (config != NULL ? config : AC_DAEMON_CONF, &error);
	if (self.pconfig == NULL
	    || !ac_daemon_load_config (config != NULL ? config : AC_DAEMON_CONF, config != NULL,
	                               uri, &self, &hosts, &error)) {
		fprintf (stderr, "virt-alephd: %s\n", error->message);
		return AC_EXIT_USAGE;
	}
	if (check_config)
		return ac_daemon_check_config (config != NULL ? config : AC_DAEMON_CONF,
		                               config != NULL, hosts);
	/* detached, stderr goes nowhere: the journal (fields DOMAIN_NAME, DOMAIN_UUID), else syslog
	 */
	if (!ac_log_setup ("virt-alephd", ac_log_resolve (log_target, foreground), &error)) {
		fprintf (stderr, "virt-alephd: %s\n", error->message);
		return ac_error_to_exit_code (error);
	}
	rc = ac_daemon_detach (foreground, pidfile);
	if (rc == AC_EXIT_OK)
		rc = ac_daemon_setup_hosts (&self, hosts, config != NULL ? config : AC_DAEMON_CONF,
		                            config != NULL);
	if (rc != AC_EXIT_OK)
		return rc;
	if (virEventRegisterDefaultImpl () < 0) {
		g_printerr ("virt-alephd: cannot start libvirt's event loop\n");
		return AC_EXIT_LIBVIRT;
	}

	ac_daemon_init (&self);
	for (guint i = 0; i < self.hosts->len; i++) {
		AcDaemonHost *host = g_ptr_array_index (self.hosts, i);
		if (self.hosts->len == 1)
			g_message ("virt-alephd %s starting; libvirt %s; %u flows at once, %u of "
			           "them building",
			           PACKAGE_VERSION, host->uri, self.max_flows,
			           MIN (self.max_builds, self.max_flows));
		else
			g_message ("virt-alephd %s: host %s: libvirt %s; state in %s",
			           PACKAGE_VERSION, host->name, host->uri,
			           host->pconfig->state_dir);
	}
	/* each host on its own: one that is down retries on its own timer */
	for (guint i = 0; i < self.hosts->len; i++)
		ac_daemon_host_start (g_ptr_array_index (self.hosts, i));
	g_main_loop_run (self.loop);

	ac_daemon_shutdown (&self);
	if (pidfile != NULL)
		(void)g_unlink (pidfile);
	return AC_EXIT_OK;
}
