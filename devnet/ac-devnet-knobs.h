/*
 * aleph-confidential devnet: fault knobs (latency, error rates and counts per endpoint,
 * connections dropped mid-upload, processing delay, clock skew) and per-CRN attacks, with the
 * JSON form shared by the configuration file and the admin endpoint. Pure: no I/O.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include "ac-aleph-payment.h"

G_BEGIN_DECLS

typedef enum {
	AC_DEVNET_EP_MESSAGES_POST, /* POST /api/v0/messages */
	AC_DEVNET_EP_MESSAGES_GET,  /* GET /api/v0/messages/{hash}[/status] */
	AC_DEVNET_EP_MESSAGES_JSON, /* GET /api/v0/messages.json */
	AC_DEVNET_EP_STORAGE_ADD_FILE,
	AC_DEVNET_EP_IPFS_ADD_FILE,
	AC_DEVNET_EP_IPFS_ADD_CAR,
	AC_DEVNET_EP_STORAGE_RAW, /* GET /api/v0/storage/raw/{hash} and /ipfs/{cid} */
	AC_DEVNET_EP_CRNS_LIST,   /* GET /crns.json */
	AC_DEVNET_EP_CCN_OTHER,   /* the rest of the CCN API */
	AC_DEVNET_EP_CRN_CERTIFICATES,
	AC_DEVNET_EP_CRN_NOTIFY,
	AC_DEVNET_EP_CRN_INITIALIZE,
	AC_DEVNET_EP_CRN_MEASUREMENT,
	AC_DEVNET_EP_CRN_INJECT_SECRET,
	AC_DEVNET_EP_CRN_OPERATE, /* stop, reboot, erase; GET logs */
	AC_DEVNET_EP_CRN_OTHER,   /* status/config, executions list */
	AC_DEVNET_EP_LAST
} AcDevnetEndpoint;

const gchar *
ac_devnet_knobs_endpoint_to_string (AcDevnetEndpoint ep);
gboolean
ac_devnet_knobs_endpoint_from_string (const gchar *name, AcDevnetEndpoint *ep);

typedef enum {
	AC_DEVNET_ATTACK_NONE,
	AC_DEVNET_ATTACK_SELF_SIGNED_CHAIN,  /* identity rooted in its own ARK, not the devnet root
	                                      */
	AC_DEVNET_ATTACK_SWAP_PDH,           /* an attacker PDH spliced into the genuine chain */
	AC_DEVNET_ATTACK_OTHER_FIRMWARE,     /* launches and measures another firmware */
	AC_DEVNET_ATTACK_REPLAY_MEASUREMENT, /* answers with the first measurement it ever made */
	/* SEV-SNP (the CRN's software SNP firmware, ac-snp-firmware.h) */
	AC_DEVNET_ATTACK_SNP_OTHER_CHIP,        /* reports signed by another chip's VCEK */
	AC_DEVNET_ATTACK_SNP_REPLAY,            /* every report is the previous one */
	AC_DEVNET_ATTACK_SNP_WRONG_MEASUREMENT, /* reports carry another launch digest */
	AC_DEVNET_ATTACK_SNP_TCB_BELOW_FLOOR,   /* reports from a chip at a TCB below the floor */
	AC_DEVNET_ATTACK_SNP_REVOKED_ASK,       /* the devnet's SNP ASK is on the KDS CRL */
	/* SEV-SNP instances (a VM's boot and its attest-agent) */
	AC_DEVNET_ATTACK_SNP_WRONG_RUNTIME, /* boots another command line: another measurement */
	AC_DEVNET_ATTACK_SNP_DEBUG_POLICY,  /* launches with the DEBUG policy bit */
	AC_DEVNET_ATTACK_SNP_RELAY,       /* the agent's TLS key is not the one its report binds */
	AC_DEVNET_ATTACK_SNP_STALE_NONCE, /* fresh reports bind an old nonce */
	AC_DEVNET_ATTACK_SNP_EARLY_ASK,   /* the agent asks for the secret right after the handshake
	                                   */
	AC_DEVNET_ATTACK_LAST
} AcDevnetAttack;

const gchar *
ac_devnet_knobs_attack_to_string (AcDevnetAttack attack);
gboolean
ac_devnet_knobs_attack_from_string (const gchar *name, AcDevnetAttack *attack, GError **error);

#define AC_DEVNET_MAX_CRNS 16
#define AC_DEVNET_MAX_LATENCY_MS 60000

typedef struct {
	gdouble rate;       /* probability of an injected error, 0..1 */
	guint status;       /* HTTP status of an injected error (default 503) */
	guint fail_next;    /* the next N requests fail whatever the rate */
	gint latency_ms;    /* -1: the global latency */
	guint64 drop_after; /* close the connection once this many body bytes arrived; 0 = off */
	gint drop_next;     /* how many uploads to drop; -1 = every one */
} AcDevnetFault;

typedef struct {
	guint latency_ms;
	guint processing_delay_ms; /* pending → processed */
	gint64 clock_skew_s;       /* added to the CRNs' clock for the ±2 min check */
	gint64 clock_offset_s;     /* added to the CCN's clock for the payment rules' dates */
	AcPaymentCutoffs payment_cutoffs; /* default: the network's (ac-aleph-payment.c) */
	gboolean ignore_range; /* storage.raw answers a Range request with the whole file (200) */
	AcDevnetFault faults[AC_DEVNET_EP_LAST];
	guint n_crns;
	AcDevnetAttack attacks[AC_DEVNET_MAX_CRNS];
} AcDevnetKnobs;

void
ac_devnet_knobs_init (AcDevnetKnobs *knobs, guint n_crns);
/* Applies a JSON patch (only the members present change); on error @knobs is unchanged.
 * { "latency_ms": N, "processing_delay_ms": N, "clock_skew_s": N, "clock_offset_s": N,
 *   "payment_cutoffs": { "instance_hold": "YYYY-MM-DD"|"never", "instance_superfluid": …,
 *                        "store_hold": … },
 *   "ignore_range": true|false,
 *   "faults": { "<endpoint>": { "rate": R, "status": S, "fail_next": N, "latency_ms": N,
 *                               "drop_after": BYTES, "drop_next": N } },
 *   "attacks": { "<crn index>": "none|self-signed-chain|swap-pdh|other-firmware|replay-measurement|
 *                 snp-other-chip|snp-replay|snp-wrong-measurement|snp-tcb-below-floor|
 *                 snp-revoked-ask|snp-wrong-runtime|snp-debug-policy|snp-relay|snp-stale-nonce|
 *                 snp-early-ask" } } */
gboolean
ac_devnet_knobs_apply (AcDevnetKnobs *knobs, JsonNode *patch, GError **error);
gboolean
ac_devnet_knobs_apply_data (AcDevnetKnobs *knobs, const gchar *data, gsize len, GError **error);
JsonNode *
ac_devnet_knobs_to_json (const AcDevnetKnobs *knobs);

/* Decides the fate of one request: 0 = serve it, else the HTTP status of an injected error.
 * @roll is a uniform random number in [0, 1). Consumes fail_next. */
guint
ac_devnet_knobs_take_fault (AcDevnetKnobs *knobs, AcDevnetEndpoint ep, gdouble roll);
guint
ac_devnet_knobs_get_latency (const AcDevnetKnobs *knobs, AcDevnetEndpoint ep);
/* 0 = do not drop this upload, else the byte count after which to drop it. Consumes drop_next. */
guint64
ac_devnet_knobs_take_drop (AcDevnetKnobs *knobs, AcDevnetEndpoint ep);

G_END_DECLS
