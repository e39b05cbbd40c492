/*
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "ac-status-writer.h"

#include "ac-error.h"
#include "ac-virt.h"

/**
 * ac_status_write:
 * @desired: the status to record; its `updated`, `since` and `tag` are set here
 * @tag_fingerprint: (nullable): the tag it is about; %NULL: the domain's tag as it is now
 * @heartbeat: write even when nothing changed but the time (the `updated` heartbeat)
 * @written: (out) (optional): whether anything was written
 *
 * Writes @desired unless the domain already says the same. `since` is kept while the state
 * and step stay those of the recorded status, and is now when they change.
 */
gboolean
ac_status_write (virDomainPtr dom,
                 AcStatus *desired,
                 const gchar *tag_fingerprint,
                 gboolean heartbeat,
                 gboolean *written,
                 GError **error)
{
	g_autofree gchar *xml = ac_virt_get_xml (dom, NULL);
	return ac_status_write_with_xml (dom, xml, desired, tag_fingerprint, heartbeat, written,
	                                 error);
}

/**
 * ac_status_write_with_xml:
 * @xml: (nullable): the domain's XML as the caller just read it (one read less: virt-alephd
 *   reconciles thousands of domains at start-up)
 *
 * ac_status_write() on @xml.
 */
gboolean
ac_status_write_with_xml (virDomainPtr dom,
                          const gchar *xml,
                          AcStatus *desired,
                          const gchar *tag_fingerprint,
                          gboolean heartbeat,
                          gboolean *written,
                          GError **error)
{
	g_autoptr (AcStatus) current = xml != NULL ? ac_status_parse (xml, -1, NULL) : NULL;
	g_autofree gchar *status_xml = NULL;

	if (written != NULL)
		*written = FALSE;
	/* a heartbeat never brings back a status someone removed (untag) meanwhile */
	if (heartbeat && current == NULL)
		return TRUE;
	g_free (desired->tag);
	desired->tag = tag_fingerprint != NULL ? g_strdup (tag_fingerprint)
	                                       : ac_status_tag_fingerprint (xml);
	g_free (desired->since);
	desired->since = NULL;
	if (current != NULL && current->since != NULL
	    && g_strcmp0 (current->state, desired->state) == 0
	    && g_strcmp0 (current->step, desired->step) == 0)
		desired->since = g_strdup (current->since);
	if (current != NULL && ac_status_equal_ignoring_time (current, desired) && !heartbeat)
		return TRUE;
	ac_status_touch (desired);
	if (desired->since == NULL)
		desired->since = g_strdup (desired->updated);
	status_xml = ac_status_format (desired);
	if (!ac_virt_set_metadata (dom, AC_STATUS_PREFIX, AC_STATUS_NS, status_xml, error))
		return FALSE;
	if (written != NULL)
		*written = TRUE;
	return TRUE;
}

struct _AcStatusWriter {
	GMutex lock;
	virDomainPtr dom;
	gchar *tag;
	AcStatus *last;    /* what was written last */
	gint64 last_write; /* monotonic µs */
	gboolean log;      /* a g_message for each new state or step (the service's journal) */
	guint interval_s;  /* the heartbeat: AC_STATUS_HEARTBEAT_S */
};

/**
 * ac_status_writer_set_log:
 *
 * Logs each new state and step (and error) with g_message(): for the service's journal.
 */
void
ac_status_writer_set_log (AcStatusWriter *w, gboolean log)
{
	w->log = log;
}

/**
 * ac_status_writer_new:
 * @tag_fingerprint: (nullable): the tag the flow runs for (ac_status_tag_fingerprint())
 */
AcStatusWriter *
ac_status_writer_new (virDomainPtr dom, const gchar *tag_fingerprint)
{
	AcStatusWriter *w = g_new0 (AcStatusWriter, 1);
	g_mutex_init (&w->lock);
	virDomainRef (dom);
	w->dom = dom;
	w->tag = g_strdup (tag_fingerprint);
	w->interval_s = AC_STATUS_HEARTBEAT_S;
	return w;
}

void
ac_status_writer_free (AcStatusWriter *w)
{
	if (w == NULL)
		return;
	virDomainFree (w->dom);
	g_free (w->tag);
	ac_status_free (w->last);
	g_mutex_clear (&w->lock);
	g_free (w);
}

/**
 * ac_status_writer_write:
 *
 * Writes a copy of @status (from any thread); a failure to write is logged.
 *
 * Returns: (transfer full): the copy, as written (with its times and tag)
 */
AcStatus *
ac_status_writer_write (AcStatusWriter *w, const AcStatus *status)
{
	g_autofree gchar *text = ac_status_format (status);
	/* a copy: the times set here must not change the caller's own */
	g_autoptr (AcStatus) copy = ac_status_parse (text, -1, NULL);
	g_autoptr (GError) error = NULL;
	gboolean written = FALSE;

	if (copy == NULL)
		return NULL;
	g_mutex_lock (&w->lock);
	if (!ac_status_write (w->dom, copy, w->tag, FALSE, &written, &error))
		g_warning ("%s", error->message);
	if (written && w->log && g_strcmp0 (copy->since, copy->updated) == 0) {
		if (copy->error_message != NULL)
			g_message ("domain '%s': %s at step %s: %s", virDomainGetName (w->dom),
			           copy->state, copy->step, copy->error_message);
		else
			g_message ("domain '%s': %s at step %s", virDomainGetName (w->dom),
			           copy->state, copy->step);
	}
	if (written)
		w->last_write = g_get_monotonic_time ();
	ac_status_free (w->last);
	w->last = ac_status_parse (text, -1, NULL);
	if (w->last != NULL) {
		g_free (w->last->since);
		w->last->since = g_strdup (copy->since);
	}
	g_mutex_unlock (&w->lock);
	return g_steal_pointer (&copy);
}

/**
 * ac_status_writer_set_interval:
 * @seconds: 2 or more; default AC_STATUS_HEARTBEAT_S (what readers expect: a test's knob)
 *
 * The longest time between two writes of work in progress.
 */
void
ac_status_writer_set_interval (AcStatusWriter *w, guint seconds)
{
	w->interval_s = MAX (seconds, 2u);
}

/**
 * ac_status_writer_heartbeat:
 *
 * While the last status is work in progress, writes it again with the time of now when the
 * next tick of the timer (every second) would be past the interval since the last write.
 * Returns whether it wrote.
 */
gboolean
ac_status_writer_heartbeat (AcStatusWriter *w)
{
	g_autoptr (GError) error = NULL;
	gboolean written = FALSE;

	/* a write under way is a beat already: never block the caller's main loop on it */
	if (!g_mutex_trylock (&w->lock))
		return FALSE;
	if (w->last != NULL && ac_status_is_work_in_progress (w->last)
	    && g_get_monotonic_time () - w->last_write
	           >= (gint64)(w->interval_s - 1) * G_USEC_PER_SEC) {
		if (!ac_status_write (w->dom, w->last, w->tag, TRUE, &written, &error))
			g_debug ("heartbeat of '%s': %s", virDomainGetName (w->dom),
			         error->message);
		if (written)
			w->last_write = g_get_monotonic_time ();
	}
	g_mutex_unlock (&w->lock);
	return written;
}

static gboolean
ac_status_writer_heartbeat_cb (gpointer data)
{
	ac_status_writer_heartbeat (data);
	return G_SOURCE_CONTINUE;
}

/**
 * ac_status_writer_add_heartbeat:
 *
 * A timer of the thread-default main context that beats every second; remove it
 * (g_source_remove()) before freeing @w.
 */
guint
ac_status_writer_add_heartbeat (AcStatusWriter *w)
{
	return g_timeout_add_seconds (1, ac_status_writer_heartbeat_cb, w);
}
