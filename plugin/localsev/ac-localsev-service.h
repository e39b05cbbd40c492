/*
 * The service side of the local SEV flow: what virt-alephd does for a tagged domain that has
 * no <aleph:publish> and whose effective local mode is `sev`.
 *
 *   shut off  → the disk the tag names must be an encrypted image: when it is not one yet, it
 *               is built and the domain redefined onto it (ac-localsev-image.h: status
 *               "building", step "build", with progress, then the image's path, sha256 and
 *               LUKS UUID); then make sure a usable launch is prepared: when there is no
 *               record, or its session was launched, consumed or attested, or the tag/definition
 *               no longer matches it, prepare a fresh session (chain verified first) and write
 *               <launchSecurity> with virDomainDefineXML. Status "prepared", step "prepare".
 *   paused    → (started with 'virsh start --paused'; the hook's gatekeeper let it through and
 *               marked the record launched) attest: launch measurement → verified → the disk
 *               passphrase injected → resumed. Status "running", step "attest", attestation
 *               fields filled (verdict "ok").
 *   running   → attested: status "running". Not attested (started without --paused, so the
 *               CPUs ran before a secret could be injected): status "failed" with an
 *               AC_ERROR_REFUSED error that says to destroy it and start it with
 *               'virsh start --paused DOMAIN'.
 *
 * Design decisions:
 *
 *  - The disk passphrase. The local flow injects the passphrase of the encrypted image the
 *    tag's disk IS by then: taken from a libvirt secret whose usage is
 *    <usage type='volume'><volume>PATH</volume></usage> with PATH the disk's source (the
 *    convention of ac_secret_store_put()), read from @secrets_conn, which must be a libvirt on
 *    THIS machine: a remote host (qemu+ssh://) is the adversary SEV protects against and never
 *    holds the passphrase (ac_secret_store_connect() applies that rule, for both flows). A
 *    disk with such a secret is used as it is (e.g. built with 'virt-aleph build --secret');
 *    any other disk gets an image built by the flow, whose generated passphrase goes straight
 *    into that store. A passphrase is never typed in, logged or written to a file.
 *  - The build takes minutes and the functions below run it synchronously: virt-alephd calls
 *    them from a worker thread per domain (AcLocalsevServiceRun: progress as statuses,
 *    cancellation at shutdown).
 *  - Trusted roots and minimum API: the daemon's [pipeline] configuration (AcPipelineConfig's
 *    state_dir, trusted_roots, min_api_major/minor) is reused as is through
 *    ac_localsev_service_options_new(): the built-in AMD roots plus each trusted-roots ARK
 *    file (with the ASK named like it, 'ark' → 'ask', when present). The records live under
 *    <state_dir>/localsev/<uuid>/, which is where the hook's gatekeeper looks when it runs
 *    with the same state directory.
 *  - Host SEV support is what the host reports through virNodeGetSEVInfo (AcSevHost), not
 *    /dev/sev of this machine: the service may drive a remote host.
 *  - The functions call libvirt and the host synchronously: one call per domain at a time.
 *  - Idempotent: a prepared, unused launch is kept (no redefinition, so no event loop); an
 *    image is built once (its state says so, see ac-localsev-image.h); a failure writes
 *    nothing but the status (and what a build finished), so calling again on every event is
 *    safe.
 *
 * Limits: for a remote host the hook's gatekeeper runs on that host and reads ITS state
 * directory, where this service (on the trusted machine) writes no record; until records are
 * shipped there, such starts are refused by the hook. The attestation itself does not rely
 * on the hook (a launch the hook did not mark is taken as used all the same).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <libvirt/libvirt.h>

#include "ac-localsev.h"
#include "ac-status.h"

G_BEGIN_DECLS

/* the options from the service's configuration (AcPipelineConfig fields); @trusted_roots is
 * NULL-terminated and nullable */
AcLocalsevOptions *ac_localsev_service_options_new (const gchar *state_dir,
						    gchar **trusted_roots,
						    guint8 min_api_major,
						    guint8 min_api_minor,
						    GError **error);

/* [localsev] snp-runtime (an absolute directory) and snp-agent (HOST:PORT) of the
 * configuration @path into @opts; a missing file is fine unless @required */
gboolean ac_localsev_service_options_load_config (AcLocalsevOptions *opts,
						  const gchar *path,
						  gboolean required,
						  GError **error);
/* an snp-agent value: HOST:PORT, an IPv6 host in brackets */
gboolean ac_localsev_service_parse_agent (const gchar *text,
					  gchar **host,
					  guint16 *port,
					  GError **error);

/* whether the host can launch the flow's SEV-SNP guests (libvirt >= 10.5, QEMU >= 9.1,
 * sev-snp in its domain capabilities); %AC_ERROR_UNSUPPORTED naming needed and found */
gboolean ac_localsev_service_snp_check_host (AcSevHost *host, GError **error);
gboolean ac_localsev_service_host_has_snp (AcSevHost *host);

/* whether the host reports SEV (virNodeGetSEVInfo answers) */
gboolean ac_localsev_service_host_has_sev (AcSevHost *host);

/* whether this flow owns the tagged domain: no <aleph:publish>, effective local mode sev */
gboolean ac_localsev_service_applies (AcSevHost *host, const AcTag *tag);

/* @secrets_uri NULL: @conn itself when it is a local libvirt (a remote one is refused); else
 * a connection to @secrets_uri when it is local (@conn may then be NULL) */
virConnectPtr ac_localsev_service_secrets_connect (virConnectPtr conn,
						   const gchar *secrets_uri,
						   GError **error);

/* statuses while the flow works (building, with progress), from the calling thread */
typedef void (*AcLocalsevServiceStatusFunc) (const AcStatus *status, gpointer user_data);

/* how a call runs; NULL = no intermediate statuses, not cancellable, a local image */
typedef struct {
	const gchar *pool; /* nullable: build through libvirt's storage API, uploading the image
			    * to this pool (remote hosts always use that API: the disk's own pool) */
	AcLocalsevServiceStatusFunc status_func; /* nullable */
	gpointer user_data;
	GCancellable *cancellable; /* nullable */
} AcLocalsevServiceRun;

/*
 * Each sets *status (never NULL: the status to record, with the error fields on failure,
 * results of earlier steps kept from @current) and returns FALSE with @error set on failure.
 * @current is the domain's status element now (nullable). @secrets_conn (nullable) is the
 * local libvirt holding the passphrase (see ac_localsev_service_secrets_connect()); NULL =
 * the domain's own connection when it is local, refused (AC_ERROR_REFUSED) when remote.
 */

/* any state: dispatches to _prepare (shut off) or _started (paused / running) */
gboolean ac_localsev_service_reconcile (AcSevHost *host,
					const AcLocalsevOptions *opts,
					virConnectPtr secrets_conn,
					virDomainPtr dom,
					const AcStatus *current,
					AcStatus **status,
					GError **error);
/* the same, as @run says (nullable) */
gboolean ac_localsev_service_reconcile_full (AcSevHost *host,
					     const AcLocalsevOptions *opts,
					     const AcLocalsevServiceRun *run,
					     virConnectPtr secrets_conn,
					     virDomainPtr dom,
					     const AcStatus *current,
					     AcStatus **status,
					     GError **error);

/* an inactive domain: its encrypted image (built when missing), then a usable prepared
 * launch, or a fresh one written with virDomainDefineXML; *redefined says whether the
 * definition was written */
gboolean ac_localsev_service_prepare (AcSevHost *host,
				      const AcLocalsevOptions *opts,
				      virConnectPtr secrets_conn,
				      virDomainPtr dom,
				      const AcStatus *current,
				      gboolean *redefined,
				      AcStatus **status,
				      GError **error);

/* a started domain: paused → attested and resumed; running unpaused → the precise error */
gboolean ac_localsev_service_started (AcSevHost *host,
				      const AcLocalsevOptions *opts,
				      virConnectPtr secrets_conn,
				      virDomainPtr dom,
				      const AcStatus *current,
				      AcStatus **status,
				      GError **error);

/* 'virt-aleph attest': as _started, but a running SEV-SNP guest is attested afresh */
gboolean ac_localsev_service_attest_now (AcSevHost *host,
					 const AcLocalsevOptions *opts,
					 virConnectPtr secrets_conn,
					 virDomainPtr dom,
					 GCancellable *cancellable,
					 const AcStatus *current,
					 AcStatus **status,
					 GError **error);

G_END_DECLS
