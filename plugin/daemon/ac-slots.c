/*
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "ac-slots.h"

struct _AcSlots {
	GMutex lock;
	GCond cond;
	guint max;
	guint in_use;
	GQueue waiters; /* of tickets (the waiters' stack addresses), first come first */
};

/**
 * ac_slots_new:
 * @max: how many slots at most are in use at once (0 is taken as 1)
 */
AcSlots *
ac_slots_new (guint max)
{
	AcSlots *slots = g_new0 (AcSlots, 1);
	g_mutex_init (&slots->lock);
	g_cond_init (&slots->cond);
	slots->max = MAX (max, 1u);
	g_queue_init (&slots->waiters);
	return slots;
}

void
ac_slots_free (AcSlots *slots)
{
	if (slots == NULL)
		return;
	g_warn_if_fail (slots->waiters.length == 0);
	g_queue_clear (&slots->waiters);
	g_cond_clear (&slots->cond);
	g_mutex_clear (&slots->lock);
	g_free (slots);
}

static void
ac_slots_cancelled_cb (GCancellable *cancellable, AcSlots *slots)
{
	g_mutex_lock (&slots->lock);
	g_cond_broadcast (&slots->cond);
	g_mutex_unlock (&slots->lock);
}

/**
 * ac_slots_acquire:
 * @waited: (out) (optional): whether a slot was not free at once
 *
 * Takes a slot, waiting behind those who asked first. Returns %FALSE, without a slot, when
 * @cancellable is (or gets) cancelled.
 */
gboolean
ac_slots_acquire (AcSlots *slots, GCancellable *cancellable, gboolean *waited)
{
	return ac_slots_acquire_full (slots, cancellable, NULL, NULL, waited);
}

/**
 * ac_slots_acquire_full:
 * @wait_func: (nullable): called once, before the first wait, when no slot is free at once
 * @waited: (out) (optional): whether a slot was not free at once
 *
 * ac_slots_acquire(), telling @wait_func when the caller waits in line. @wait_func runs
 * without the lock held (it may take its time, a status write): the caller keeps its place
 * in line meanwhile, and a slot freed then is not missed.
 */
gboolean
ac_slots_acquire_full (AcSlots *slots,
                       GCancellable *cancellable,
                       AcSlotsWaitFunc wait_func,
                       gpointer user_data,
                       gboolean *waited)
{
	gint ticket = 0;
	gulong handler = 0;
	gboolean ok = TRUE;
	gboolean told = FALSE;

	if (waited != NULL)
		*waited = FALSE;
	if (cancellable != NULL)
		handler = g_cancellable_connect (cancellable, G_CALLBACK (ac_slots_cancelled_cb),
		                                 slots, NULL);
	g_mutex_lock (&slots->lock);
	g_queue_push_tail (&slots->waiters, &ticket);
	for (;;) {
		/* cancelled: no slot, even a free one */
		if (g_cancellable_is_cancelled (cancellable)) {
			ok = FALSE;
			break;
		}
		if (g_queue_peek_head (&slots->waiters) == &ticket && slots->in_use < slots->max)
			break;
		if (waited != NULL)
			*waited = TRUE;
		if (wait_func != NULL && !told) {
			/* in line still: the conditions are checked again after it */
			told = TRUE;
			g_mutex_unlock (&slots->lock);
			wait_func (user_data);
			g_mutex_lock (&slots->lock);
			continue;
		}
		g_cond_wait (&slots->cond, &slots->lock);
	}
	g_queue_remove (&slots->waiters, &ticket);
	if (ok)
		slots->in_use++;
	/* the next in line may take a slot that is still free (or was waiting behind us) */
	g_cond_broadcast (&slots->cond);
	g_mutex_unlock (&slots->lock);
	/* after the lock: the handler may run (and take the lock) until disconnected */
	if (handler != 0)
		g_cancellable_disconnect (cancellable, handler);
	return ok;
}

void
ac_slots_release (AcSlots *slots)
{
	g_mutex_lock (&slots->lock);
	if (slots->in_use == 0) {
		g_mutex_unlock (&slots->lock);
		g_critical ("ac_slots_release: no slot in use");
		return;
	}
	slots->in_use--;
	g_cond_broadcast (&slots->cond);
	g_mutex_unlock (&slots->lock);
}

guint
ac_slots_get_in_use (AcSlots *slots)
{
	guint n;
	g_mutex_lock (&slots->lock);
	n = slots->in_use;
	g_mutex_unlock (&slots->lock);
	return n;
}

guint
ac_slots_get_waiting (AcSlots *slots)
{
	guint n;
	g_mutex_lock (&slots->lock);
	n = slots->waiters.length;
	g_mutex_unlock (&slots->lock);
	return n;
}

guint
ac_slots_default_builds (void)
{
	return MAX (g_get_num_processors (), 1u);
}

guint
ac_slots_default_flows (guint builds)
{
	return MAX (4 * builds, 8u);
}
