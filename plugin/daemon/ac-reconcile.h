/*
 * What the service wants a tagged domain's status to be, from its domain model alone; the
 * status of a domain that waits in line for one of the service's slots ("queued").
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

#include "ac-domain.h"
#include "ac-status.h"

G_BEGIN_DECLS

AcStatus *ac_reconcile_desired_status (const gchar *domain_xml,
				       const AcDomain *domain,
				       const GError *domain_error,
				       const AcStatus *current);

AcStatus *ac_reconcile_queued_status (const AcStatus *current, const gchar *step);
AcStatus *ac_reconcile_dequeued_status (const AcStatus *before);

G_END_DECLS
