/*
 * virt-alephd: the statuses the reconcile decides (a domain of local mode test or deny, a tag
 * that does not parse), written off the main loop by a few threads. libvirtd saves a persistent
 * domain's configuration on every metadata change, with an fsync: written one after another on
 * the main loop, the start-up reconcile of a thousand domains waited a thousand flushes in a row;
 * several threads share the disk's flushes. The writes of one domain stay in order, one at a
 * time: a status decided while one is being written waits for it, and only the latest waits.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "ac-status-queue.h"

#include "ac-log.h"
#include "ac-status-writer.h"
#include "ac-virt.h"

struct _AcStatusQueue {
	GThreadPool *pool;
	GMutex lock;
	GHashTable *domains; /* "HOST/UUID" → Job waiting for the one being written, or the
	                        queue's own marker when none waits */
};

typedef struct {
	AcStatusQueue *queue;
	gchar *key;
	gchar *host;    /* its name */
	gboolean named; /* several hosts: the log names it */
	virDomainPtr dom;
	gchar *xml; /* the XML the status was decided from; %NULL: read it again first */
	AcStatus *desired;
} Job;

static void
job_free (Job *job)
{
	if (job == NULL)
		return;
	g_free (job->key);
	g_free (job->host);
	virDomainFree (job->dom);
	g_free (job->xml);
	ac_status_free (job->desired);
	g_free (job);
}

/* Writes @desired unless the domain already says the same (our writes come back as events). */
static void
job_write (Job *job)
{
	g_autoptr (GError) error = NULL;
	gboolean written = FALSE;
	const gchar *name = virDomainGetName (job->dom);
	AcStatus *desired = job->desired;
	char uuid[VIR_UUID_STRING_BUFLEN] = "";

	virDomainGetUUIDString (job->dom, uuid);
	ac_log_set_thread_domain (name, uuid);
	ac_log_set_thread_host (job->named ? job->host : NULL);
	if (job->xml == NULL)
		job->xml = ac_virt_get_xml (job->dom, &error);
	if (job->xml == NULL
	    || !ac_status_write_with_xml (job->dom, job->xml, desired, NULL, FALSE, &written,
	                                  &error)) {
		g_warning ("%s", error->message);
	} else if (!written) {
		g_debug ("domain '%s': status unchanged (%s)", name, desired->state);
	} else {
		/* one MESSAGE_ID for every change of state: journalctl MESSAGE_ID=… DOMAIN_NAME=…
		 */
		g_log_structured (G_LOG_DOMAIN, G_LOG_LEVEL_MESSAGE, "MESSAGE_ID",
		                  AC_LOG_MESSAGE_ID_STATUS, "DOMAIN_NAME", name, "DOMAIN_UUID",
		                  uuid, "ALEPH_HOST", job->host, "ALEPH_STATE",
		                  desired->state != NULL ? desired->state : "", "ALEPH_STEP",
		                  desired->step != NULL ? desired->step : "", "MESSAGE",
		                  "domain '%s': %s at step %s%s%s", name, desired->state,
		                  desired->step, desired->error_message != NULL ? ": " : "",
		                  desired->error_message != NULL ? desired->error_message : "");
	}
	ac_log_set_thread_host (NULL);
	ac_log_set_thread_domain (NULL, NULL);
}

static void
ac_status_queue_thread (gpointer data, gpointer user_data)
{
	Job *job = data;
	AcStatusQueue *q = job->queue;

	while (job != NULL) {
		Job *next = NULL;
		gpointer key = NULL;
		job_write (job);
		g_mutex_lock (&q->lock);
		/* a status decided meanwhile: written next, by this thread, so in order */
		if (g_hash_table_steal_extended (q->domains, job->key, &key, (gpointer *)&next)
		    && next != (gpointer)q)
			g_hash_table_insert (q->domains, key, q);
		else {
			next = NULL;
			g_free (key);
		}
		g_mutex_unlock (&q->lock);
		job_free (job);
		job = next;
	}
}

/**
 * ac_status_queue_new:
 * @threads: how many statuses are written at once
 */
AcStatusQueue *
ac_status_queue_new (guint threads)
{
	AcStatusQueue *q = g_new0 (AcStatusQueue, 1);
	g_mutex_init (&q->lock);
	q->domains = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
	q->pool = g_thread_pool_new (ac_status_queue_thread, q, (gint)threads, FALSE, NULL);
	return q;
}

/**
 * ac_status_queue_push:
 * @host: the name of the domain's host
 * @named: the daemon follows several hosts: the log names @host
 * @xml: the domain XML @desired was decided from
 * @desired: (transfer full): the status the domain should have
 *
 * Writes @desired in a thread of the queue; after the status of the same domain being written
 * now, if there is one, and then from the domain's XML as it is by then.
 */
void
ac_status_queue_push (AcStatusQueue *q,
                      const gchar *host,
                      gboolean named,
                      virDomainPtr dom,
                      const gchar *xml,
                      AcStatus *desired)
{
	Job *job = g_new0 (Job, 1);
	char uuid[VIR_UUID_STRING_BUFLEN] = "";
	gpointer waiting = NULL;

	virDomainGetUUIDString (dom, uuid);
	virDomainRef (dom);
	job->queue = q;
	job->key = g_strdup_printf ("%s/%s", host, uuid);
	job->host = g_strdup (host);
	job->named = named;
	job->dom = dom;
	job->desired = desired;
	g_mutex_lock (&q->lock);
	if (g_hash_table_lookup_extended (q->domains, job->key, NULL, &waiting)) {
		/* one is being written: this one waits, replacing an older one that waited */
		if (waiting != q)
			job_free (waiting);
		g_hash_table_insert (q->domains, g_strdup (job->key), job);
		g_mutex_unlock (&q->lock);
		return;
	}
	job->xml = g_strdup (xml);
	g_hash_table_insert (q->domains, g_strdup (job->key), q);
	g_mutex_unlock (&q->lock);
	g_thread_pool_push (q->pool, job, NULL);
}

/**
 * ac_status_queue_free:
 *
 * Waits for every status pushed to be written.
 */
void
ac_status_queue_free (AcStatusQueue *q)
{
	if (q == NULL)
		return;
	g_thread_pool_free (q->pool, FALSE, TRUE);
	g_hash_table_unref (q->domains);
	g_mutex_clear (&q->lock);
	g_free (q);
}
