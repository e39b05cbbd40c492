/*
 * Internals of the local SEV service (ac-localsev-service*.c, and the image it builds,
 * ac-localsev-image.c): what its files share. Not for other users.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <libvirt/libvirt.h>

#include "ac-localsev-image.h"
#include "ac-localsev-service.h"
#include "ac-localsev.h"
#include "ac-status.h"

G_BEGIN_DECLS

/* ---- ac-localsev-service-status.c: the status it writes ---- */

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

/* ---- ac-localsev-service.c ---- */

/* the domain model of @xml, read once for the whole run, and a refusal for a domain this
 * flow does not run (no valid tag, published, or a local mode other than sev) */
AcDomain *
ac_localsev_service_domain (const gchar *name, const gchar *xml, GError **error);
/* the UUID of @dom, lower case */
gboolean
ac_localsev_service_uuid (virDomainPtr dom, gchar **uuid_out, GError **error);

/* ---- ac-localsev-service-secret.c: where the passphrase lives ---- */

/* fail closed when the disk @source has no passphrase secret, before anything is prepared */
gboolean
ac_localsev_service_secret_check (virConnectPtr secrets_conn,
                                  virDomainPtr dom,
                                  const gchar *source,
                                  GError **error);
/* the passphrase of the prepared launch's disk (fail closed without one), as a C string in
 * OPENSSL_malloc'd memory of *@len + 1 bytes, for OPENSSL_clear_free() */
gchar *
ac_localsev_service_secret_read (virConnectPtr secrets_conn,
                                 const AcLocalsevOptions *opts,
                                 virDomainPtr dom,
                                 const AcLocalsevRecord *record,
                                 gsize *len,
                                 GError **error);

/* ---- ac-localsev-service-prepare.c: a shut off domain ---- */

/* ac_localsev_service_prepare() with @run's statuses, pool and cancellation */
gboolean
ac_localsev_service_prepare_run (AcSevHost *host,
                                 const AcLocalsevOptions *opts,
                                 const AcLocalsevServiceRun *run,
                                 virConnectPtr secrets_conn,
                                 virDomainPtr dom,
                                 const AcStatus *current,
                                 gboolean *redefined,
                                 AcStatus **status,
                                 GError **error);

/* ---- ac-localsev-service-started.c: a started domain ---- */

/* ac_localsev_service_started(); @again: attest an SEV-SNP guest even when attested before */
gboolean
ac_localsev_service_started_run (AcSevHost *host,
                                 const AcLocalsevOptions *opts,
                                 virConnectPtr secrets_conn,
                                 virDomainPtr dom,
                                 gboolean again,
                                 GCancellable *cancellable,
                                 const AcStatus *current,
                                 AcStatus **status,
                                 GError **error);
/* the attest step of a started SEV-SNP domain @dom whose live definition is @domain, prepared
 * as @record; @again: attest even when @record says attested */
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
