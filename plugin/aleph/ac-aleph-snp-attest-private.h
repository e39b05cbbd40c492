/*
 * The parsers of the agent's answers in ac-aleph-snp-attest.c, for the fuzz target. Errors are
 * AC_ERROR_REMOTE naming @peer (AC_ERROR_MISMATCH for an injection answer that lists other
 * secrets than those sent).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

#include "ac-snp-inject.h"
#include "ac-snp-report.h"

G_BEGIN_DECLS

/* the header section @head (NUL-terminated, without the blank line; modified): the status and
 * the Content-Length (-1 without one) */
gboolean
ac_aleph_snp_attest_parse_head (const gchar *peer,
                                const gchar *what,
                                gchar *head,
                                guint *status,
                                gint64 *content_length,
                                GError **error);

/* the fresh report's answer body: the report bytes (not verified) */
gboolean
ac_aleph_snp_attest_parse_fresh (const gchar *peer,
                                 GBytes *body,
                                 guint8 report[AC_SNP_REPORT_SIZE],
                                 GError **error);

/* the injection's answer body: the names, exactly those of @sent */
gchar **
ac_aleph_snp_attest_parse_injected (const gchar *peer,
                                    GBytes *body,
                                    AcSnpSecrets *sent,
                                    GError **error);

G_END_DECLS
