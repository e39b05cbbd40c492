/*
 * aleph-confidential devnet: state shared by the CCN, CRN and admin handlers.
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

G_BEGIN_DECLS

#define AC_DEVNET_HOST "127.0.0.1"
/* what GET /api/v0/version answers: the pyaleph API level the devnet's CCN speaks, and the
 * devnet's own version as build metadata */
#define AC_DEVNET_CCN_VERSION "0.5.0+devnet." PACKAGE_VERSION
#define AC_DEVNET_SYNC_TIMEOUT_MS 30000
#define AC_DEVNET_SECRET_GPA_FALLBACK G_GUINT64_CONSTANT(0x800000)

typedef struct _AcDevnetCrn AcDevnetCrn;

/* a VM on one CRN: launch context (in memory) + the audit row (in the store) */
typedef struct {
	AcDevnetVmRow *row;
	guint32 policy;
	gchar *rootfs_path;
	gchar *firmware_path;
	GBytes *session;      /* 128 bytes */
	GBytes *godh;         /* 2084 bytes */
	AcSevPsp *launch_psp; /* borrowed: the PSP the VM was launched on */
	guint32 handle;
	guint8 measure[48];
	gboolean measured;
	guint64 secret_gpa;
} AcDevnetVm;

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

	SoupServer *ccn;
	SoupServer *admin;
	gchar *ccn_url;
	gchar *admin_url;
	AcDevnetCrn *crns[AC_DEVNET_MAX_CRNS];
	guint crn_ports[AC_DEVNET_MAX_CRNS];

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

/* responses */
void
ac_devnet_reply_json(SoupServerMessage *msg, guint status, JsonNode *node);
void
ac_devnet_reply_text(SoupServerMessage *msg, guint status, const gchar *text);
void
ac_devnet_reply_error(SoupServerMessage *msg, guint status, const gchar *fmt, ...)
    G_GNUC_PRINTF(3, 4);
GBytes *
ac_devnet_request_body(SoupServerMessage *msg);
gdouble
ac_devnet_now(void);
/* the CCN's clock for the payment rules: now + knobs.clock_offset_s */
gdouble
ac_devnet_ccn_clock(AcDevnet *self);
/* credits (devnet ledger, ac-devnet-ccn.c) */
#define AC_DEVNET_CREDITS_PER_VCPU_HOUR 10
gint64
ac_devnet_credits_get(AcDevnet *self, const gchar *address);
void
ac_devnet_credits_set(AcDevnet *self, const gchar *address, gint64 credits);
/* the credits one hour of an INSTANCE content costs */
gint64
ac_devnet_instance_hourly_cost(JsonObject *content);
gchar *
ac_devnet_iso8601(gdouble t);

/* ccn */
AcDevnetEndpoint
ac_devnet_ccn_classify(const gchar *method, const gchar *path);
/* returns FALSE when it took the message over (paused: sync wait) */
gboolean
ac_devnet_ccn_handle(AcDevnet *self,
                     AcDevnetEndpoint ep,
                     SoupServerMessage *msg,
                     const gchar *path,
                     GHashTable *query);
void
ac_devnet_ccn_process_due(AcDevnet *self);
void
ac_devnet_ccn_schedule(AcDevnet *self);
void
ac_devnet_ccn_cancel_waiters(AcDevnet *self);
JsonNode *
ac_devnet_message_to_api_json(AcDevnet *self, const AcDevnetMessageRow *row);
/* the content of a message: item_content, or the JSON file uploaded under its item_hash */
JsonNode *
ac_devnet_message_content(AcDevnet *self, const AcAlephMessage *msg, GError **error);
gboolean
ac_devnet_publish_firmware(AcDevnet *self, GError **error);
/* the file behind a processed STORE message */
gchar *
ac_devnet_store_message_file(AcDevnet *self,
                             const gchar *store_hash,
                             guint64 *size,
                             GError **error);
JsonNode *
ac_devnet_crn_list_json(AcDevnet *self);
/* the merged AGGREGATE contents of @address (keys NULL = all), or NULL when it has none */
JsonObject *
ac_devnet_aggregates(AcDevnet *self, const gchar *address, gchar **keys);
/* @sender may act for @owner on messages/VMs of @type per the owner's "security" aggregate */
gboolean
ac_devnet_is_delegate(AcDevnet *self, const gchar *owner, const gchar *sender, const gchar *type);

/* crn */
AcDevnetCrn *
ac_devnet_crn_new(AcDevnet *self, guint index, GError **error);
void
ac_devnet_crn_free(AcDevnetCrn *crn);
AcDevnetEndpoint
ac_devnet_crn_classify(const gchar *method, const gchar *path);
gboolean
ac_devnet_crn_handle(AcDevnetCrn *crn,
                     AcDevnetEndpoint ep,
                     SoupServerMessage *msg,
                     const gchar *path);
gboolean
ac_devnet_crn_prepare_attack(AcDevnetCrn *crn, AcDevnetAttack attack, GError **error);

G_END_DECLS
