/*
 * virt-alephd's build slots (plugin/daemon/ac-slots.c): never more in use than the bound,
 * handed out in the order they were asked for, a cancelled waiter leaves the line without a
 * slot and without blocking those behind it; a waiter is told once, before it waits, that it
 * waits (virt-alephd's "queued" status), and never when a slot is free.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "ac-slots.h"

typedef struct {
	AcSlots *slots;
	GMutex lock;
	guint running;
	guint peak;
	GArray *order; /* the ids in the order they got a slot */
} Shared;

typedef struct {
	Shared *shared;
	guint id;
	GCancellable *cancellable;
	gboolean got;
} Waiter;

static gpointer
waiter_thread (gpointer data)
{
	Waiter *w = data;
	Shared *s = w->shared;
	w->got = ac_slots_acquire (s->slots, w->cancellable, NULL);
	if (!w->got)
		return NULL;
	g_mutex_lock (&s->lock);
	g_array_append_val (s->order, w->id);
	s->running++;
	s->peak = MAX (s->peak, s->running);
	g_mutex_unlock (&s->lock);
	g_usleep (20000);
	g_mutex_lock (&s->lock);
	s->running--;
	g_mutex_unlock (&s->lock);
	ac_slots_release (s->slots);
	return NULL;
}

/* waits until @n threads stand in line */
static void
wait_waiting (AcSlots *slots, guint n)
{
	gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
	while (ac_slots_get_waiting (slots) != n) {
		g_assert_cmpint (g_get_monotonic_time (), <, deadline);
		g_usleep (1000);
	}
}

/* twelve threads queue behind @max slots held by the test, then run */
static void
run_queue (guint max)
{
	Shared s = { 0 };
	Waiter w[12];
	GThread *t[12];
	gboolean waited = FALSE;

	s.slots = ac_slots_new (max);
	s.order = g_array_new (FALSE, FALSE, sizeof (guint));
	g_mutex_init (&s.lock);
	/* all taken: the twelve queue, one after the other */
	for (guint i = 0; i < max; i++) {
		g_assert_true (ac_slots_acquire (s.slots, NULL, &waited));
		g_assert_false (waited);
	}
	g_assert_cmpuint (ac_slots_get_in_use (s.slots), ==, max);
	for (guint i = 0; i < G_N_ELEMENTS (w); i++) {
		w[i] = (Waiter){ &s, i, NULL, FALSE };
		t[i] = g_thread_new ("waiter", waiter_thread, &w[i]);
		wait_waiting (s.slots, i + 1);
	}
	for (guint i = 0; i < max; i++)
		ac_slots_release (s.slots);
	for (guint i = 0; i < G_N_ELEMENTS (w); i++) {
		g_thread_join (t[i]);
		g_assert_true (w[i].got);
	}
	g_assert_cmpuint (s.peak, <=, max);
	g_assert_cmpuint (s.order->len, ==, G_N_ELEMENTS (w));
	/* first come, first served: one slot goes to the head of the line each time (with more
	 * slots, two served at once may record themselves in either order) */
	if (max == 1) {
		for (guint i = 0; i < s.order->len; i++)
			g_assert_cmpuint (g_array_index (s.order, guint, i), ==, i);
	} else {
		g_assert_cmpuint (s.peak, >=, 2);
	}
	g_assert_cmpuint (ac_slots_get_in_use (s.slots), ==, 0);
	g_array_unref (s.order);
	g_mutex_clear (&s.lock);
	ac_slots_free (s.slots);
}

static void
test_order (void)
{
	run_queue (1);
}

static void
test_bound (void)
{
	run_queue (3);
}

static void
test_cancel (void)
{
	Shared s = { 0 };
	Waiter first, second;
	GThread *t1, *t2;
	g_autoptr (GCancellable) cancel = g_cancellable_new ();
	g_autoptr (GCancellable) already = g_cancellable_new ();

	s.slots = ac_slots_new (1);
	s.order = g_array_new (FALSE, FALSE, sizeof (guint));
	g_mutex_init (&s.lock);
	g_assert_true (ac_slots_acquire (s.slots, NULL, NULL));
	/* the head of the line is cancelled: it leaves, the one behind it is served */
	first = (Waiter){ &s, 1, cancel, FALSE };
	second = (Waiter){ &s, 2, NULL, FALSE };
	t1 = g_thread_new ("first", waiter_thread, &first);
	wait_waiting (s.slots, 1);
	t2 = g_thread_new ("second", waiter_thread, &second);
	wait_waiting (s.slots, 2);
	g_cancellable_cancel (cancel);
	g_thread_join (t1);
	g_assert_false (first.got);
	wait_waiting (s.slots, 1);
	ac_slots_release (s.slots);
	g_thread_join (t2);
	g_assert_true (second.got);
	g_assert_cmpuint (s.order->len, ==, 1);
	g_assert_cmpuint (g_array_index (s.order, guint, 0), ==, 2);
	/* cancelled beforehand: no slot, even a free one is not taken */
	g_cancellable_cancel (already);
	g_assert_false (ac_slots_acquire (s.slots, already, NULL));
	g_assert_cmpuint (ac_slots_get_in_use (s.slots), ==, 0);
	g_array_unref (s.order);
	g_mutex_clear (&s.lock);
	ac_slots_free (s.slots);
}

typedef struct {
	AcSlots *slots;
	GCancellable *cancellable; /* cancelled by the wait func, when set */
	gboolean release;          /* the wait func frees the slot the test holds */
	guint told;                /* calls of the wait func */
	guint in_use_when_told;
} Told;

static void
told_cb (gpointer user_data)
{
	Told *t = user_data;
	t->told++;
	/* without the lock held: the slots can be looked at, and given back */
	t->in_use_when_told = ac_slots_get_in_use (t->slots);
	g_assert_cmpuint (ac_slots_get_waiting (t->slots), ==, 1);
	if (t->release)
		ac_slots_release (t->slots);
	if (t->cancellable != NULL)
		g_cancellable_cancel (t->cancellable);
}

static gpointer
told_thread (gpointer data)
{
	Told *t = data;
	gboolean waited = FALSE;
	gboolean got = ac_slots_acquire_full (t->slots, t->cancellable, told_cb, t, &waited);
	g_assert_true (waited);
	return GINT_TO_POINTER (got);
}

static void
test_wait_func (void)
{
	g_autoptr (AcSlots) slots = ac_slots_new (1);
	g_autoptr (GCancellable) cancel = g_cancellable_new ();
	Told t = { slots, NULL, FALSE, 0, 0 };
	gboolean waited = TRUE;
	GThread *thread;

	/* a free slot: taken at once, nobody told */
	g_assert_true (ac_slots_acquire_full (slots, NULL, told_cb, &t, &waited));
	g_assert_false (waited);
	g_assert_cmpuint (t.told, ==, 0);

	/* none free: told once, then it waits until the slot comes back */
	thread = g_thread_new ("told", told_thread, &t);
	wait_waiting (slots, 1);
	g_assert_cmpuint (ac_slots_get_in_use (slots), ==, 1);
	ac_slots_release (slots);
	g_assert_true (GPOINTER_TO_INT (g_thread_join (thread)));
	g_assert_cmpuint (t.told, ==, 1);
	g_assert_cmpuint (t.in_use_when_told, ==, 1);

	/* the slot freed while it is told (the status written): not missed, taken */
	t = (Told){ slots, NULL, TRUE, 0, 0 };
	g_assert_true (ac_slots_acquire_full (slots, NULL, told_cb, &t, &waited));
	g_assert_true (waited);
	g_assert_cmpuint (t.told, ==, 1);
	g_assert_cmpuint (ac_slots_get_in_use (slots), ==, 1);
	g_assert_cmpuint (ac_slots_get_waiting (slots), ==, 0);

	/* cancelled while told (virt-alephd stopping): no slot, told once */
	t = (Told){ slots, cancel, FALSE, 0, 0 };
	g_assert_false (ac_slots_acquire_full (slots, cancel, told_cb, &t, &waited));
	g_assert_true (waited);
	g_assert_cmpuint (t.told, ==, 1);
	g_assert_cmpuint (ac_slots_get_in_use (slots), ==, 1);
	g_assert_cmpuint (ac_slots_get_waiting (slots), ==, 0);
	ac_slots_release (slots);
}

static void
test_defaults (void)
{
	g_autoptr (AcSlots) zero = ac_slots_new (0);
	g_assert_cmpuint (ac_slots_default_builds (), >=, 1);
	g_assert_cmpuint (ac_slots_default_builds (), ==, MAX (g_get_num_processors (), 1u));
	g_assert_cmpuint (ac_slots_default_flows (1), ==, 8);
	g_assert_cmpuint (ac_slots_default_flows (16), ==, 64);
	/* a bound of 0 is one slot, never none */
	g_assert_true (ac_slots_acquire (zero, NULL, NULL));
	ac_slots_release (zero);
}

int
main (int argc, char **argv)
{
	g_test_init (&argc, &argv, NULL);
	g_test_add_func ("/slots/order", test_order);
	g_test_add_func ("/slots/bound", test_bound);
	g_test_add_func ("/slots/cancel", test_cancel);
	g_test_add_func ("/slots/wait-func", test_wait_func);
	g_test_add_func ("/slots/defaults", test_defaults);
	return g_test_run ();
}
