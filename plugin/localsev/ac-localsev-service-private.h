/*
 * Internals of the local SEV service (ac-localsev-service*.c): the status it writes
 * (ac-localsev-service-status.c). Not for other users.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <libvirt/libvirt.h>

#include "ac-localsev-image.h"
#include "ac-localsev.h"
#include "ac-status.h"

G_BEGIN_DECLS

/* a status keeping what earlier steps recorded in @current */
AcStatus *
ac_localsev_service_status_new (const AcStatus *current, const gchar *state, const gchar *step);
/* *status = failed at @step with @failure, which goes to @error: returns FALSE */
gboolean
ac_localsev_service_status_fail (const AcStatus *current,
                                 const gchar *step,
                                 AcStatus **status,
                                 GError **error,
                                 GError *failure);
/* *status = refused at @step with @failure (the host cannot run it): returns FALSE */
gboolean
ac_localsev_service_status_refuse (const AcStatus *current,
                                   const gchar *step,
                                   AcStatus **status,
                                   GError **error,
                                   GError *failure);
void
ac_localsev_service_status_set_attestation (AcStatus *st,
                                            const gchar *time,
                                            const gchar *verdict,
                                            const gchar *measurement,
                                            const gchar *generation);
/* @current with the image this flow built for the domain */
AcStatus *
ac_localsev_service_status_with_image (const AcStatus *current, const AcLocalsevImageState *image);
/* running, attested as @record says */
AcStatus *
ac_localsev_service_status_running (const AcStatus *current, const AcLocalsevRecord *record);
/* a copy of @current (or the initial status): nothing to say yet */
AcStatus *
ac_localsev_service_status_unchanged (const AcStatus *current);

/* the attest step of a started SEV-SNP domain @dom whose live definition is @domain, prepared
 * as @record (ac-localsev-service.c); @again: attest even when @record says attested */
gboolean
ac_localsev_service_started_snp (const AcLocalsevOptions *opts,
                                 virConnectPtr secrets_conn,
                                 virDomainPtr dom,
                                 const AcDomain *domain,
                                 const AcLocalsevRecord *record,
                                 gboolean again,
                                 GCancellable *cancellable,
                                 const AcStatus *current,
                                 AcStatus **status,
                                 GError **error);

G_END_DECLS
