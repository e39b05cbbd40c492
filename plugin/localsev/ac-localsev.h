/*
 * The local SEV flow, for hosts with SEV and remote hosts over qemu+ssh://:
 *
 *   prepare:  verify the host's chain (virNodeGetSEVInfo) up to AMD's roots or an explicitly
 *             trusted root, make a fresh launch session (TEK/TIK kept in a 0700 directory per
 *             domain), produce <launchSecurity type='sev'> and a record of what was prepared;
 *   check:    ac_localsev_gate_check_prepared() — the hook's gatekeeper compares a domain about to
 *             start with the record and names the input that differs;
 *   attest:   for a domain started paused: launch measurement → policy, API version, firmware
 *             hash and measurement checked → the disk passphrase in Aleph's secret table,
 *             injected with virDomainSetLaunchSecurityState → resume. A session is used once.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

#include "ac-domain.h"
#include "ac-progress.h"
#include "ac-sev-chain.h"
#include "ac-sev-host.h"
#include "ac-sev-measure.h"
#include "ac-snp-inject.h"
#include "ac-snp-verify.h"
#include "ac-tag.h"

G_BEGIN_DECLS

#define AC_LOCALSEV_DEFAULT_MIN_API_MAJOR 0
#define AC_LOCALSEV_DEFAULT_MIN_API_MINOR 17
#define AC_LOCALSEV_MAX_FIRMWARE	  (64 * 1024 * 1024)

/* Signs @msg (a launch record's JSON) with the owner's key: returns the signature as 0x-hex
 * and sets *signer to the 0x address a verifier recovers from it. */
typedef gchar *(*AcLocalsevSignFunc) (const guint8 *msg,
				      gsize len,
				      gchar **signer,
				      gpointer user_data,
				      GError **error);

typedef struct {
	gchar *state_dir;	/* base directory; the flow uses <state_dir>/localsev/<uuid>/ */
	AcSevRoots *roots;	/* trusted roots; NULL = the built-in AMD roots */
	gchar *generation;	/* nullable: require this root (e.g. "milan") */
	guint8 min_api_major;	/* the firmware API version attest requires at least */
	guint8 min_api_minor;
	/* optional: fetch the ASK-signed CEK from AMD KDS by the host's cpu0-id (real hosts
	 * export an unsigned CEK); kds_cache_dir alone = cached CEKs only */
	AcSevKdsFetchFunc kds_fetch;
	gpointer kds_user_data;
	gchar *kds_cache_dir;
	/* SEV-ES: the guest vCPU model QEMU puts in the VMSAs, and the KVM init variant */
	guint cpu_family;
	guint cpu_model;
	guint cpu_stepping;
	AcSevVmsaVariant vmsa_variant;
	/* optional: prepare ships the record, signed, in the domain's <metadata> so that the
	 * hook of a host that does not share the state directory (qemu+ssh://) can check the
	 * start against it (see ac_localsev_record_launch_read) */
	AcLocalsevSignFunc sign;
	gpointer sign_data;
	GDestroyNotify sign_data_free;
	/* the tag comes from a host that is not trusted (qemu+ssh://): prepare acts only on the
	 * tag the owner approved on this machine (ac-localsev-pin.h) */
	gboolean pin_tags;
	/* how long a prepared launch serves: a shipped record expires then, and the service
	 * prepares a fresh one when half of it has passed */
	guint lifetime_s;
	/* SEV-SNP (<aleph:sev type='snp'>): the local runtime directory (manifest.json and the
	 * bundle's members under their manifest paths, docs/snp.md#local-snp-hosts), the owner's
	 * 0x address rendered into the measured command line, and (for attest) the signer of the
	 * injection, which must be that owner's key */
	gchar *snp_runtime;
	gchar *snp_owner;
	AcSnpInjectSignFunc snp_sign;
	gpointer snp_sign_data;
	/* where the guest's agent is reached: a forward of the guest's attestation port
	 * (the record's agent_port) to this address; NULL = not configured */
	gchar *snp_agent_host;
	guint16 snp_agent_port;
	/* the trusted ARKs (NULL = AMD's built-in roots) and, optionally, where the VCEK and its
	 * chain come from (borrowed; NULL = AMD KDS through kds_fetch and kds_cache_dir) */
	AcSnpRoots *snp_roots;
	const AcSnpCertSource *snp_certs;
} AcLocalsevOptions;

#define AC_LOCALSEV_DEFAULT_LIFETIME_S (7 * 24 * 3600)

AcLocalsevOptions *ac_localsev_options_new (const gchar *state_dir);
void ac_localsev_options_free (AcLocalsevOptions *opts);

/* ---- the record of a prepared launch (<state_dir>/localsev/<uuid>/prepared.json) ---- */

typedef enum {
	AC_LOCALSEV_STATE_PREPARED, /* session made, not used yet */
	AC_LOCALSEV_STATE_LAUNCHED, /* the hook let a start with it through */
	AC_LOCALSEV_STATE_CONSUMED, /* attest read its measurement: never again */
	AC_LOCALSEV_STATE_ATTESTED, /* verified, secret injected, resumed */
} AcLocalsevState;

const gchar *ac_localsev_record_state_to_string (AcLocalsevState state);

typedef struct {
	gchar *domain;
	gchar *uuid;
	gchar *session_id; /* 32 hex: names the session files */
	gchar *prepared;   /* ISO 8601 UTC */
	AcLocalsevState state;
	gchar *state_time;
	guint32 policy;
	guint cbitpos;
	guint reduced_phys_bits;
	gchar *dh_cert; /* base64, as in <dhCert> */
	gchar *session; /* base64, as in <session> */
	gchar *pdh_sha256; /* of the host's 2084-byte PDH the session was made for */
	gchar *chain_generation; /* the trusted root the chain led to */
	gchar *firmware_path;
	gchar *firmware_sha256;
	gchar *loader; /* the domain's <os><loader> at prepare, or NULL */
	guint vcpus;   /* SEV-ES: the VMSAs measured */
	gchar *disk_dev;
	gchar *disk_source;
	/* the whole launch input, as canonical text (AcDomain, AcDomainDisk) */
	gchar *firmware;       /* <os firmware>, <loader>, <nvram>, <os><firmware> */
	gchar *disk_type;      /* <disk type>, nullable */
	gchar *disk_driver;    /* <driver>'s name and type */
	gchar *disk_source_xml; /* the whole <source>, nullable */
	gchar *disk_backing;   /* a non-empty <backingStore>, nullable */
	gchar *expires; /* ISO 8601 UTC: a hook on another machine refuses the record after it */
	gchar *host;	/* the host it was prepared for (its host id); nullable */
	gchar *measurement; /* set when attested */
	/* what the launch is: AC_TEE_SEV (no "tee" in the JSON) or AC_TEE_SNP, whose launch has
	 * no session keys (dh_cert, session, pdh_sha256, chain_generation are NULL) and these: */
	AcTeeType tee;
	guint64 snp_policy;
	gchar *kernel;	  /* <os><kernel>, <initrd>, <cmdline> as prepared */
	gchar *initrd;
	gchar *cmdline;
	gchar *cpu_model; /* <cpu><model>: the vCPU type measured */
	gchar *owner;	  /* the 0x address rendered into the command line */
	gchar *runtime_sha256; /* of the runtime's manifest.json */
	gchar *expected_measurement; /* 96 lowercase hex: the launch digest the report must show */
	guint agent_port; /* the runtime's attestation port in the guest */
} AcLocalsevRecord;

void ac_localsev_record_free (AcLocalsevRecord *record);
gchar *ac_localsev_record_to_json (const AcLocalsevRecord *record);
AcLocalsevRecord *ac_localsev_record_from_json (const gchar *json, gssize len, GError **error);
AcLocalsevRecord *ac_localsev_record_load (const gchar *state_dir,
					   const gchar *uuid,
					   GError **error);
/* for the hook, once ac_localsev_gate_check_prepared() let a start through; exactly one of
 * concurrent calls for a session succeeds (it creates the session's marker, as
 * ac_localsev_record_session_mark_used() does) */
gboolean ac_localsev_record_mark_launched (const gchar *state_dir,
					   const gchar *uuid,
					   GError **error);

/* ---- the record shipped in the domain's metadata, for a hook on another machine ---- */

/* The record in @domain_xml's <metadata><launch>, NOT verified: the caller checks that
 * *signature over *payload (the record's JSON bytes) recovers to *signer and that the signer
 * is trusted. %AC_ERROR_NOT_FOUND when the domain carries none. */
AcLocalsevRecord *ac_localsev_record_launch_read (const gchar *domain_xml,
						  gsize len,
						  GBytes **payload,
						  gchar **signer,
						  gchar **signature,
						  GError **error);

/* for the service: half of the record's lifetime has passed at @now (NULL = now) */
gboolean ac_localsev_record_needs_refresh (const AcLocalsevRecord *record, GDateTime *now);

/* For that hook: the record was made for @host_id and has not expired at @now (NULL = now) */
gboolean ac_localsev_record_check_shipped (const AcLocalsevRecord *record,
					   const gchar *host_id,
					   GDateTime *now,
					   GError **error);

/* For that hook: a shipped session serves one start. Creates
 * <state_dir>/hook/sessions/<session_id>; %AC_ERROR_REFUSED when it exists. */
gboolean ac_localsev_record_session_mark_used (const gchar *state_dir,
					const gchar *session_id,
					GError **error);

/* ---- prepare ---- */

typedef struct {
	AcLocalsevRecord *record;
	gchar *launch_security; /* the <launchSecurity type='sev'> element */
	gchar *domain_xml;	/* the input domain XML with it in place, for virDomainDefineXML */
} AcLocalsevPrepared;

void ac_localsev_prepared_free (AcLocalsevPrepared *prepared);

AcLocalsevPrepared *ac_localsev_prepare (AcSevHost *host,
					 const AcLocalsevOptions *opts,
					 const AcTag *tag,
					 const gchar *domain_xml,
					 GCancellable *cancellable,
					 GError **error);
AcLocalsevPrepared *ac_localsev_prepare_domain (AcSevHost *host,
						const AcLocalsevOptions *opts,
						const AcTag *tag,
						const gchar *domain_xml,
						const AcDomain *dom,
						GCancellable *cancellable,
						GError **error);

/* ---- the gatekeeper's check: pure, no I/O ---- */

gboolean ac_localsev_gate_check_prepared (const AcLocalsevRecord *record,
				     const gchar *domain_xml,
				     gsize len,
				     GError **error);

/* ---- attest ---- */

typedef struct {
	gchar *measurement; /* base64, as the host reported it (SEV-SNP: the report's, hex) */
	guint api_major;
	guint api_minor;
	guint build_id;
	guint32 policy;
	gchar *generation;
	gchar *session_id;
	gchar *time; /* ISO 8601 UTC */
} AcLocalsevAttestation;

void ac_localsev_attestation_free (AcLocalsevAttestation *attestation);

AcLocalsevAttestation *ac_localsev_attest (AcSevHost *host,
					   const AcLocalsevOptions *opts,
					   const AcTag *tag,
					   const gchar *domain_xml,
					   const gchar *passphrase,
					   AcProgress *progress,
					   GError **error);
AcLocalsevAttestation *ac_localsev_attest_domain (AcSevHost *host,
						  const AcLocalsevOptions *opts,
						  const AcTag *tag,
						  const AcDomain *dom,
						  const gchar *passphrase,
						  AcProgress *progress,
						  GError **error);

/* ---- SEV-SNP (ac-localsev-snp.c) ---- */

/* what a host needs to launch an SEV-SNP guest through libvirt (<launchSecurity
 * type='sev-snp'>) */
#define AC_LOCALSEV_SNP_MIN_LIBVIRT 10005000UL /* 10.5.0 */
#define AC_LOCALSEV_SNP_MIN_QEMU    9001000UL  /* 9.1.0 */
#define AC_LOCALSEV_SNP_MAX_DOMCAPS (1024 * 1024)

/* @facts (what @host_name's libvirt said) allow an SEV-SNP launch: libvirt and QEMU new
 * enough and "sev-snp" among the launchSecurity types of the domain capabilities, with the
 * SEV <cbitpos> and <reducedPhysBits> returned. %AC_ERROR_UNSUPPORTED naming what is needed and
 * what was found otherwise; %AC_ERROR_INVALID_INPUT for malformed domain capabilities. */
gboolean ac_localsev_snp_check_host (const gchar *host_name,
				     const AcSevHostSnpFacts *facts,
				     guint *cbitpos,
				     guint *reduced_phys_bits,
				     GError **error);

/* the <launchSecurity type='sev-snp'> element prepare writes for @record */
gchar *ac_localsev_snp_launch_security_xml (const AcLocalsevRecord *record);

/* For a paused-or-running SNP guest prepared with @record: the owner's attested TLS to its
 * agent at @agent_host:@agent_port (a forward to the guest's attestation port) through the
 * SEV-SNP owner launch (sev/ac-snp-owner.h): the report verified against @roots and @certs
 * with the record's policy and expected measurement, then the passphrase injected signed by
 * opts->snp_sign. Built only with secp256k1 (ac_localsev_snp_attest_dep). */
AcLocalsevAttestation *ac_localsev_snp_attest (const AcLocalsevOptions *opts,
					       const AcLocalsevRecord *record,
					       AcSnpRoots *roots,
					       const AcSnpCertSource *certs,
					       const gchar *agent_host,
					       guint16 agent_port,
					       const gchar *passphrase,
					       guint timeout_ms,
					       GCancellable *cancellable,
					       GError **error);

/* The attest step of a started SEV-SNP domain @dom (live XML): its record loaded, the domain
 * compared with it (the gatekeeper's comparison), then ac_localsev_snp_attest() with
 * opts->snp_roots (AMD's built-in roots by default), opts->snp_certs (by default the VCEK from
 * AMD KDS through opts->kds_fetch and opts->kds_cache_dir), and the agent at opts->snp_agent_host:snp_agent_port; the record is
 * marked attested with the report's measurement. A guest that booted again asks again: each
 * call verifies afresh. %AC_ERROR_NOT_FOUND when no agent address is configured. */
AcLocalsevAttestation *ac_localsev_snp_attest_domain (const AcLocalsevOptions *opts,
						      const AcDomain *dom,
						      const gchar *passphrase,
						      GCancellable *cancellable,
						      GError **error);

/* when the instance ends: cleanse and remove the session keys and the record */
gboolean ac_localsev_forget (const gchar *state_dir, const gchar *uuid, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (AcLocalsevOptions, ac_localsev_options_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AcLocalsevRecord, ac_localsev_record_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AcLocalsevPrepared, ac_localsev_prepared_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AcLocalsevAttestation, ac_localsev_attestation_free)

G_END_DECLS
