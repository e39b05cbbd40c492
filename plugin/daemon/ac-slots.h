/*
 * A bounded number of slots handed out first come, first served, to threads that may wait
 * for one (virt-alephd's image builds: limited by CPU and disk while the flows around them
 * run concurrently). A waiter stops waiting when its cancellable is cancelled.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct _AcSlots AcSlots;

/* called once, in the caller's thread and outside the slots' lock, when a slot is not free at
 * once and the caller is about to wait in line (virt-alephd: the domain's status "queued") */
typedef void (*AcSlotsWaitFunc) (gpointer user_data);

AcSlots *
ac_slots_new (guint max);
void
ac_slots_free (AcSlots *slots);
gboolean
ac_slots_acquire (AcSlots *slots, GCancellable *cancellable, gboolean *waited);
gboolean
ac_slots_acquire_full (AcSlots *slots,
                       GCancellable *cancellable,
                       AcSlotsWaitFunc wait_func,
                       gpointer user_data,
                       gboolean *waited);
void
ac_slots_release (AcSlots *slots);
guint
ac_slots_get_in_use (AcSlots *slots);
guint
ac_slots_get_waiting (AcSlots *slots);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AcSlots, ac_slots_free)

/* the daemon's defaults: builds one per CPU (at least 1), flows four times as many (at
 * least 8): the flows' network steps and waits use no CPU */
guint
ac_slots_default_builds (void);
guint
ac_slots_default_flows (guint builds);

G_END_DECLS
