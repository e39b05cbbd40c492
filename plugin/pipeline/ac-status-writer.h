/*
 * Writing the status element of a domain: only real changes (the writes come back as libvirt
 * events), with the time its state and step began, the fingerprint of the tag it is about, and
 * a heartbeat while work is in progress so readers can tell a busy service from a gone one.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <libvirt/libvirt.h>

#include "ac-status.h"

G_BEGIN_DECLS

gboolean
ac_status_write (virDomainPtr dom,
                 AcStatus *desired,
                 const gchar *tag_fingerprint,
                 gboolean heartbeat,
                 gboolean *written,
                 GError **error);
/* the same, the domain's XML (%NULL: unreadable) already read by the caller */
gboolean
ac_status_write_with_xml (virDomainPtr dom,
                          const gchar *xml,
                          AcStatus *desired,
                          const gchar *tag_fingerprint,
                          gboolean heartbeat,
                          gboolean *written,
                          GError **error);

/* One domain's writer, shared by the thread that runs its flow and a heartbeat timer. */
typedef struct _AcStatusWriter AcStatusWriter;

AcStatusWriter *
ac_status_writer_new (virDomainPtr dom, const gchar *tag_fingerprint);
void
ac_status_writer_free (AcStatusWriter *w);
void
ac_status_writer_set_log (AcStatusWriter *w, gboolean log);
void
ac_status_writer_set_interval (AcStatusWriter *w, guint seconds);
AcStatus *
ac_status_writer_write (AcStatusWriter *w, const AcStatus *status);
gboolean
ac_status_writer_heartbeat (AcStatusWriter *w);
guint
ac_status_writer_add_heartbeat (AcStatusWriter *w);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (AcStatusWriter, ac_status_writer_free)

G_END_DECLS
