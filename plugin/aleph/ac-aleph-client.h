/*
 * aleph-confidential: the CCN (pyaleph API), CRN (aleph-vm) and Kubo clients over AcHttpClient.
 * All answers go through the parsers of ac-aleph-responses.h.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>
#include <glib.h>

#include "ac-aleph-message.h"
#include "ac-aleph-responses.h"
#include "ac-crn-auth.h"
#include "ac-eth-account.h"
#include "ac-http.h"
#include "ac-progress.h"

G_BEGIN_DECLS

#define AC_ALEPH_DEFAULT_API "https://api2.aleph.im"
#define AC_ALEPH_DEFAULT_CRN_LIST "https://crns-list.aleph.sh/crns.json"

/* ---- CCN ---- */
typedef struct _AcCcnClient AcCcnClient;
AcCcnClient *ac_ccn_client_new (const gchar *api_url, AcHttpClient *http, GError **error);
void ac_ccn_client_free (AcCcnClient *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AcCcnClient, ac_ccn_client_free)
/* payment.type of the STOREs ac_ccn_upload_file() signs: "credit" (the default) or "hold" */
gboolean ac_ccn_client_set_store_payment (AcCcnClient *self, const gchar *payment, GError **error);
/* polling: first delay, cap (both jittered) */
void ac_ccn_client_set_poll (AcCcnClient *self, guint first_ms, guint max_ms);

gboolean ac_ccn_post_message (AcCcnClient *self,
			      const AcAlephMessage *msg,
			      gboolean sync,
			      AcPostResult *result,
			      GError **error);
AcMessageInfo *ac_ccn_get_message (AcCcnClient *self, const gchar *item_hash, GError **error);
AcMessageInfo *ac_ccn_get_message_status (AcCcnClient *self, const gchar *item_hash, GError **error);
/* polls until processed; a rejection fails with its error code in words */
AcMessageInfo *ac_ccn_wait_processed (AcCcnClient *self,
				      const gchar *item_hash,
				      guint timeout_ms,
				      AcProgress *progress,
				      GError **error);
/* The file a STORE holds, checked end to end: @hash names a STORE message (the hash of its
 * inline content checked) whose content.item_hash names the file (its SHA-256 for storage, its
 * CIDv0 rebuilt for ipfs), or, when no message has that hash, a storage file itself (its
 * SHA-256). Files larger than @max are refused before they are read whole. @sender (nullable)
 * gets the STORE's sender, NULL for a bare file. @what names the object in errors. */
GBytes *ac_ccn_fetch_stored (AcCcnClient *self,
			     const gchar *what,
			     const gchar *hash,
			     guint64 max,
			     gchar **sender,
			     GError **error);
/*
 * Parts of a STORE's file, read with HTTP Range requests: for a check of a few header bytes
 * of an image of GiBs. The STORE's hash is one of the whole file, so a part cannot be checked
 * against it: what is read is the server's word, good for a usability check (is this the
 * passphrase of that image?), never for a decision of trust. A server that ignores Range
 * answers with the whole file: it is then read whole, at most @max_whole bytes (a larger one
 * is refused), its hash checked (ac_ccn_stored_file_is_whole()), and every read comes from it.
 * ac_ccn_stored_open() reads the first @head bytes; reads that follow them extend them.
 */
#define AC_CCN_STORED_MAX_READ (64u * 1024 * 1024) /* the largest read at once */
typedef struct _AcCcnStoredFile AcCcnStoredFile;
AcCcnStoredFile *
ac_ccn_stored_open (AcCcnClient *self,
                    const gchar *what,
                    const gchar *hash,
                    gsize head,
                    guint64 max_whole,
                    GError **error);
guint64
ac_ccn_stored_file_get_size (AcCcnStoredFile *f);
gboolean
ac_ccn_stored_file_is_whole (AcCcnStoredFile *f);
/* bytes [@offset, @offset + @len) of the file, at most AC_CCN_STORED_MAX_READ past those read */
gboolean
ac_ccn_stored_file_read (AcCcnStoredFile *f,
                         guint64 offset,
                         guint8 *buf,
                         gsize len,
                         GError **error);
void
ac_ccn_stored_file_free (AcCcnStoredFile *f);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AcCcnStoredFile, ac_ccn_stored_file_free)

/* POST /api/v0/price/estimate with a dummy signature; returns the answer as JSON text */
gchar *ac_ccn_price_estimate (AcCcnClient *self, const AcAlephMessage *msg, GError **error);
/* GET /api/v0/version: pyaleph's {"version": "…"} */
gchar *ac_ccn_get_version (AcCcnClient *self, GError **error);
gboolean ac_ccn_check_version (AcCcnClient *self, const gchar *min_version, gchar **version, GError **error);
/* GET /api/v0/addresses/{address}/balance: "credit_balance"; NOT_FOUND when the CCN has none */
gboolean ac_ccn_get_credit_balance (AcCcnClient *self,
				    const gchar *address,
				    gdouble *credits,
				    GError **error);
/* GET /api/v0/messages.json */
GPtrArray *ac_ccn_query_messages (AcCcnClient *self,
				  const gchar *const *hashes,
				  const gchar *msg_type,
				  const gchar *const *addresses,
				  const gchar *const *refs,
				  guint page,
				  guint per_page,
				  guint *total,
				  GError **error);

typedef enum {
	AC_CCN_UPLOAD_STORAGE, /* /api/v0/storage/add_file: sha256 */
	AC_CCN_UPLOAD_IPFS,    /* /api/v0/ipfs/add_file: CIDv0 */
	AC_CCN_UPLOAD_CAR,     /* /api/v0/ipfs/add_car: the CAR of the file, root CIDv0 */
} AcCcnUploadKind;

/* Streams the file (never whole in memory). With @account, a signed STORE message goes in the
 * "metadata" part (authenticated upload); the returned hash is checked against ours. */
gchar *ac_ccn_upload_file (AcCcnClient *self,
			   AcCcnUploadKind kind,
			   const gchar *path,
			   AcEthAccount *account,
			   const gchar *channel,
			   AcAlephMessage **store_out,
			   AcProgress *progress,
			   GError **error);

GPtrArray *ac_crn_list_fetch (AcHttpClient *http,
			      const gchar *list_url,
			      AcCrnFilter filter,
			      GError **error);

/* ---- CRN ---- */
typedef struct _AcCrnClient AcCrnClient;
AcCrnClient *ac_crn_client_new (const gchar *crn_url,
				AcEthAccount *account,
				AcHttpClient *http,
				GError **error);
void ac_crn_client_free (AcCrnClient *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AcCrnClient, ac_crn_client_free)
void ac_crn_client_set_poll (AcCrnClient *self, guint first_ms, guint max_ms);

GBytes *ac_crn_get_certificates (AcCrnClient *self, GError **error);
gboolean ac_crn_notify_allocation (AcCrnClient *self, const gchar *vm_hash, GError **error);
/* AC_ERROR_EXISTS when the CRN already runs the launch (aleph-vm's 400 vm_running) */
gboolean ac_crn_confidential_initialize (AcCrnClient *self,
					 const gchar *vm_hash,
					 GBytes *session_b64,
					 GBytes *godh_b64,
					 GError **error);
/* polls while QEMU/QMP is not ready yet (5xx, "not running") up to @timeout_ms */
AcCrnMeasurement *ac_crn_confidential_measurement (AcCrnClient *self,
						   const gchar *vm_hash,
						   guint timeout_ms,
						   GError **error);
gboolean ac_crn_confidential_inject_secret (AcCrnClient *self,
					    const gchar *vm_hash,
					    const gchar *packet_header_b64,
					    const gchar *secret_b64,
					    GError **error);
/* @operation: "stop", "reboot" or "erase" */
gboolean ac_crn_operate (AcCrnClient *self, const gchar *vm_hash, const gchar *operation, GError **error);
GPtrArray *ac_crn_list_executions (AcCrnClient *self, GError **error);
/* the VM's console (AcCrnLogLine) from aleph-vm's JSON logs endpoint, a signed GET */
GPtrArray *ac_crn_get_logs (AcCrnClient *self, const gchar *vm_hash, GError **error);

/* ---- Kubo ---- */
/* POST {api}/api/v0/add (kubo defaults): the CID it returns must equal ours */
gchar *ac_ipfs_node_add (AcHttpClient *http,
			 const gchar *api_url,
			 const gchar *path,
			 AcProgress *progress,
			 GError **error);

/* ---- AMD KDS ---- */
/* An AcSevKdsFetchFunc (sev/ac-sev-chain.h) over libcurl: one GET, idempotent retries, body
 * ≤ 64 KiB. @user_data: an AcHttpClient, or NULL for a default one. */
GBytes *ac_aleph_kds_fetch (const gchar *url,
			    gpointer user_data,
			    GCancellable *cancellable,
			    GError **error);

G_END_DECLS
