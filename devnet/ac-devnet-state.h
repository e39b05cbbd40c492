/*
 * aleph-confidential devnet: the interface shared by the dispatcher (ac-devnet.c), the CCN
 * (ac-devnet-ccn.c and the files it serves from), the CRNs (ac-devnet-crn.c) and the admin
 * endpoint: the devnet's state and the constants of the network it fakes. It declares no
 * function: each part has its own header, and the CCN and the CRN do not include each other's.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <libsoup/soup.h>

#include "ac-devnet-knobs.h"
#include "ac-devnet-store.h"
#include "ac-devnet.h"
#include "ac-eth-account.h"
#include "ac-sev-psp.h"
#include "ac-snp-firmware.h"

G_BEGIN_DECLS

#define AC_DEVNET_HOST "127.0.0.1"
/* what GET /api/v0/version answers: the pyaleph API level the devnet's CCN speaks, and the
 * devnet's own version as build metadata */
#define AC_DEVNET_CCN_VERSION "0.5.0+devnet." PACKAGE_VERSION
#define AC_DEVNET_SYNC_TIMEOUT_MS 30000
#define AC_DEVNET_SECRET_GPA_FALLBACK G_GUINT64_CONSTANT (0x800000)

typedef struct _AcDevnetCrn AcDevnetCrn;

struct _AcDevnetCrn {
	AcDevnet *devnet;
	guint index;
	guint port;
	gchar *name;
	gchar *hash;
	gchar *url;
	gchar *dir;
	SoupServer *server;
	AcSevPsp *psp;      /* genuine, rooted in the devnet root */
	AcSevPsp *psp_self; /* self-signed-chain attack: its own root (lazy) */
	AcSevPsp *psp_alt;  /* swap-pdh attack: the platform whose PDH is spliced in (lazy) */
	GHashTable *vms;    /* vm_hash → AcDevnetVm */
	GBytes *replay;     /* replay-measurement attack: the first measurement made */

	/* SEV-SNP (ac-devnet-snp.c): its chip, on the devnet's SNP CA, kept in dir/snp; the guest
	 * /admin/snp/report speaks for (lazy); for the snp-tcb-below-floor attack, a chip at an
	 * old TCB and its guest (lazy) */
	AcSnpFirmware *snp;
	AcSnpGuest *snp_guest;
	AcSnpFirmware *snp_old;
	AcSnpGuest *snp_old_guest;
};

struct _AcDevnet {
	gchar *base_dir;
	gchar *state_dir;
	gchar *root_dir;
	gchar *trust_root;
	gchar *trust_root_ask;
	gchar *firmware_src;
	guint ccn_port;
	guint admin_port;
	guint rsa_bits;
	guint64 max_upload;
	guint8 api_major, api_minor, build_id;
	guint n_crns;
	AcDevnetKnobs knobs;
	GRand *rand;

	AcDevnetStore *store;
	AcEthAccount *account;
	AcSevPsp *root;
	gchar *files_dir;
	gchar *work_dir;
	gchar *firmware_path;
	gchar *firmware_sha256;
	gchar *firmware_item_hash;
	gchar *snp_ca_dir;   /* the devnet's software SNP ARK/ASK: <root_dir>/snp-ca */
	gchar *snp_ark_path; /* that ARK (PEM), for --trust-ark: <trust dir>/snp-ark.pem */
	AcSnpCert *snp_ark;
	gchar *snp_runtime_dir; /* the default SNP instance runtime's files (ac-devnet-runtime.c) */
	gchar *snp_runtime_item_hash; /* the STORE of its manifest */

	SoupServer *ccn;
	SoupServer *admin;
	gchar *ccn_url;
	gchar *admin_url;
	AcDevnetCrn *crns[AC_DEVNET_MAX_CRNS];
	guint crn_ports[AC_DEVNET_MAX_CRNS];
	gboolean crn_no_snp[AC_DEVNET_MAX_CRNS]; /* crns[i].snp = false: an SEV-only node */

	guint process_source;
	GHashTable *deferred; /* source id → AcDevnetDeferred: requests held by a latency knob */
	GHashTable *waiters;  /* item_hash → GPtrArray of AcDevnetWaiter */
	GHashTable *credits;  /* lower-case address → gint64* credit balance (not persisted) */
	gint64 default_credits; /* the balance of an account never seeded */
	guint64 stat_requests[AC_DEVNET_EP_LAST];
	guint64 stat_injected[AC_DEVNET_EP_LAST];
	guint64 stat_dropped[AC_DEVNET_EP_LAST];
	gboolean started;
};

/* pyaleph's message error codes (aleph/types/message_status.py) */
#define AC_DEVNET_ERR_INVALID_FORMAT 0
#define AC_DEVNET_ERR_INVALID_SIGNATURE 1
#define AC_DEVNET_ERR_PERMISSION_DENIED 2
#define AC_DEVNET_ERR_CONTENT_UNAVAILABLE 3
#define AC_DEVNET_ERR_FILE_UNAVAILABLE 4
#define AC_DEVNET_ERR_CREDIT_INSUFFICIENT 6
#define AC_DEVNET_ERR_VM_VOLUME_NOT_FOUND 301
#define AC_DEVNET_ERR_VM_VOLUME_TOO_SMALL 304
#define AC_DEVNET_ERR_FORGET_NOT_ALLOWED 503

G_END_DECLS
