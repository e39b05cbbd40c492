/*
 * The Aleph flow for one tagged domain: build → publish → CRN → attest → running, each step
 * recorded (ac-state.h) so it resumes where it stopped, never repeating an upload or a message.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>
#include <libvirt/libvirt.h>

#include "ac-progress.h"
#include "ac-status.h"
#include "ac-tag.h"

G_BEGIN_DECLS

/* the oldest CCN version the pre-flight accepts by default ([pipeline] min-ccn-version) */
#define AC_PIPELINE_DEFAULT_MIN_CCN_VERSION "0.5.0"

typedef struct {
	gchar *state_dir;      /* per-domain state, images, session keys (0700) */
	gchar *key_password_file; /* a JSON keystore's password (one line); NULL = ask on a terminal */
	gchar *key_file;       /* Ethereum key (aleph-client's); NULL = ac_eth_default_key_path () */
	gchar *channel;        /* NULL = ALEPH-CLOUDSOLUTIONS */
	gchar *crn_list_url;   /* NULL = Aleph's list, or <api>/crns.json for a loopback API */
	gchar **trusted_roots; /* ARK (and ASK) files of roots trusted besides AMD's, e.g. the devnet's */
	gchar *secrets_uri;    /* local libvirt for the passphrase; NULL = the domain's if local */
	guint8 min_api_major;  /* minimum SEV firmware API the platform must report */
	guint8 min_api_minor;
	gchar *min_ccn_version; /* oldest CCN (pyaleph) version the pre-flight accepts: MAJOR.MINOR[.PATCH] */
	guint poll_first_ms;   /* CCN/CRN polling */
	guint poll_max_ms;
	guint timeout_s;       /* per waiting step */
	guint instance_seconds;/* resources.seconds of the INSTANCE */
	/* SEV-SNP */
	gchar *snp_runtime;       /* default runtime manifest (STORE item hash) of SNP tags */
	gchar **snp_trusted_arks; /* SNP ARK files (PEM) trusted besides AMD's, e.g. the devnet's */
	gchar *snp_kds;           /* AMD KDS base URL; NULL = AMD's */
	gchar *snp_min_tcb;       /* a TCB floor above the built-in one ("bl=4,tee=0,…") */
} AcPipelineConfig;

AcPipelineConfig *ac_pipeline_config_new (void);
AcPipelineConfig *ac_pipeline_config_load (const gchar *path, GError **error);
void ac_pipeline_config_free (AcPipelineConfig *config);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AcPipelineConfig, ac_pipeline_config_free)

/* Called after every step with the status to record in the domain's metadata. */
typedef void (*AcPipelineStatusFunc) (const AcStatus *status, gpointer user_data);

gboolean ac_pipeline_run (const AcPipelineConfig *config,
			  virConnectPtr conn,
			  virDomainPtr dom,
			  AcPipelineStatusFunc status_func,
			  gpointer user_data,
			  AcProgress *progress,
			  GCancellable *cancellable,
			  GError **error);

/* what ac_pipeline_check_running found */
typedef enum {
	AC_PIPELINE_RUNNING_NOTHING,	  /* runs: nothing waits for a secret */
	AC_PIPELINE_RUNNING_NOT_ATTESTED, /* the flow has not attested it yet: its own step will */
	AC_PIPELINE_RUNNING_UNREACHABLE,  /* the CRN or the guest agent did not answer (FALSE) */
	AC_PIPELINE_RUNNING_ATTESTED,	  /* a launch waited: verified, and the secret sent */
} AcPipelineRunning;

/* Re-attests when the CRN restarted the VM (SEV: a new measurement waits for a secret; SEV-SNP:
 * the agent serves another boot's key). An unreachable CRN or agent returns FALSE with
 * *outcome = AC_PIPELINE_RUNNING_UNREACHABLE and the network error (a monitor tries again
 * later; a user asked to attest learns why nothing happened); any other failure is reported in
 * the status. */
gboolean ac_pipeline_check_running (const AcPipelineConfig *config,
				    virConnectPtr conn,
				    virDomainPtr dom,
				    AcPipelineStatusFunc status_func,
				    gpointer user_data,
				    AcPipelineRunning *outcome,
				    GError **error);

gboolean ac_pipeline_operate (const AcPipelineConfig *config,
			      virConnectPtr conn,
			      virDomainPtr dom,
			      const gchar *operation,
			      AcPipelineStatusFunc status_func,
			      gpointer user_data,
			      GError **error);
/* the member @name: the array of the hashes a FORGET names, @instance and, with @image, @store
 * (either %NULL: left out) */
void
ac_pipeline_json_add_forget_hashes (JsonBuilder *b,
                                    const gchar *name,
                                    const gchar *instance,
                                    const gchar *store,
                                    gboolean image);
gboolean ac_pipeline_forget (const AcPipelineConfig *config,
			     virConnectPtr conn,
			     virDomainPtr dom,
			     gboolean image,
			     const gchar *reason,
			     AcPipelineStatusFunc status_func,
			     gpointer user_data,
			     GError **error);
/*
 * The passphrase of the existing image of DOMAIN's tag (<aleph:publish rootfs>): the first
 * line of @passphrase_file, checked against the image's LUKS header (fetched from the
 * network), then kept in libvirt's secret store under the usage volume
 * "aleph-rootfs:<STORE hash>" for the flow. Nothing is stored when it opens no key slot.
 */
gboolean ac_pipeline_set_rootfs_passphrase (const AcPipelineConfig *config,
					    virConnectPtr conn,
					    virDomainPtr dom,
					    const gchar *passphrase_file,
					    GError **error);
/*
 * `virt-aleph tag DOMAIN --rootfs HASH --passphrase-file FILE`, before the tag is set: the
 * passphrase in @passphrase_file (ac_secret_read_passphrase_file()) checked against the LUKS header
 * of the image @tag names, then kept in libvirt's secret store (usage volume "aleph-rootfs:<STORE
 * hash>"), where the flow finds it as soon as the tag is set. Nothing is written (no secret, no
 * state of the domain) when it opens no key slot or the image cannot be fetched.
 */
gboolean
ac_pipeline_store_rootfs_passphrase (const AcPipelineConfig *config,
                                     virConnectPtr conn,
                                     virDomainPtr dom,
                                     const AcTag *tag,
                                     const gchar *passphrase_file,
                                     GError **error);
/*
 * Attaches the INSTANCE @instance_hash (made with aleph-client) to DOMAIN: it must be signed
 * by the configured key, processed, confidential and the one DOMAIN's tag describes (its
 * rootfs, TEE, firmware or runtime, policy); its image's passphrase must open the image's LUKS
 * header. Records what the flow would have (image, STORE, CRN, INSTANCE, notified); nothing is
 * posted. The next run of the flow attests it.
 */
gboolean ac_pipeline_adopt (const AcPipelineConfig *config,
			    virConnectPtr conn,
			    virDomainPtr dom,
			    const gchar *instance_hash,
			    AcPipelineStatusFunc status_func,
			    gpointer user_data,
			    GError **error);
gchar *ac_pipeline_log_path (const AcPipelineConfig *config, const gchar *uuid);

/*
 * The instance's console lines (AcCrnLogLine of ac-aleph-responses.h), handed to @func with
 * the instance and CRN they came from; with @follow_ms, fetched again every @follow_ms until
 * @func returns FALSE or an error (the CRN's whole log each time: @func gets it all).
 */
typedef gboolean (*AcPipelineConsoleFunc) (GPtrArray *lines,
					   const gchar *instance,
					   const gchar *crn_url,
					   gpointer user_data);
gboolean ac_pipeline_console (const AcPipelineConfig *config,
			      virConnectPtr conn,
			      virDomainPtr dom,
			      guint follow_ms,
			      AcPipelineConsoleFunc func,
			      gpointer user_data,
			      GError **error);

G_END_DECLS
