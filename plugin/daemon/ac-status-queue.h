/*
 * virt-alephd: the reconcile's status writes, off the main loop (ac-status-queue.c).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>
#include <libvirt/libvirt.h>

#include "ac-status.h"

G_BEGIN_DECLS

typedef struct _AcStatusQueue AcStatusQueue;

AcStatusQueue *
ac_status_queue_new (guint threads);
void
ac_status_queue_push (AcStatusQueue *q,
                      const gchar *host,
                      gboolean named,
                      virDomainPtr dom,
                      const gchar *xml,
                      AcStatus *desired);
void
ac_status_queue_free (AcStatusQueue *q);

G_END_DECLS
