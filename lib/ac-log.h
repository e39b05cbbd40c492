/*
 * aleph-confidential: where a service's GLib log messages go — stderr, the systemd journal
 * (with structured fields: DOMAIN_NAME, DOMAIN_UUID …) or syslog.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
	AC_LOG_AUTO, /* the journal when stderr is connected to it or when detached (if the
	                journal runs), else syslog; stderr in the foreground */
	AC_LOG_STDERR,
	AC_LOG_JOURNAL,
	AC_LOG_SYSLOG,
} AcLogTarget;

/* the journal's native socket; $VIRT_ALEPH_JOURNAL_SOCKET overrides it */
#define AC_LOG_JOURNAL_SOCKET "/run/systemd/journal/socket"
/* the syslog daemon's socket; $VIRT_ALEPH_SYSLOG_SOCKET overrides it */
#define AC_LOG_SYSLOG_SOCKET "/dev/log"

/* MESSAGE_ID of "a domain's status changed" (journalctl MESSAGE_ID=…) */
#define AC_LOG_MESSAGE_ID_STATUS "5d0a6c3e9f2b4e1a8c7d3b6f1e2a9c40"

gboolean
ac_log_target_parse (const gchar *text, AcLogTarget *target, GError **error);
const gchar *
ac_log_target_name (AcLogTarget target);
const gchar *
ac_log_journal_socket (void);
const gchar *
ac_log_syslog_socket (void);
AcLogTarget
ac_log_resolve (AcLogTarget target, gboolean foreground);
gboolean
ac_log_setup (const gchar *ident, AcLogTarget target, GError **error);
void
ac_log_set_thread_domain (const gchar *name, const gchar *uuid);
void
ac_log_set_thread_host (const gchar *host);
gchar *
ac_log_where (const gchar *ident, const gchar *domain_uuid);

G_END_DECLS
