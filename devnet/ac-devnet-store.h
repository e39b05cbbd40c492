/*
 * aleph-confidential devnet: the SQLite store — messages with their status, uploaded files,
 * and the per-VM audit record the tests assert on (was a secret released, did the passphrase
 * check pass). One connection, used from the main thread only.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

#include "ac-aleph-message.h"

G_BEGIN_DECLS

typedef struct _AcDevnetStore AcDevnetStore;

AcDevnetStore *
ac_devnet_store_open (const gchar *path, GError **error);
void
ac_devnet_store_free (AcDevnetStore *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AcDevnetStore, ac_devnet_store_free)

/* ---- messages ---- */

typedef struct {
	AcAlephMessage *msg;
	gchar *status; /* pending, processed, rejected, forgotten */
	gint64 error_code;
	gboolean has_error_code;
	gchar *details; /* JSON text or NULL */
	gdouble reception_time;
	gdouble process_at;
	gchar *owner;        /* content.address */
	gchar *ref;          /* content.ref */
	gchar *forgotten_by; /* JSON array text or NULL */
} AcDevnetMessageRow;

void
ac_devnet_store_message_row_free (AcDevnetMessageRow *row);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AcDevnetMessageRow, ac_devnet_store_message_row_free)

/* FALSE with AC_ERROR_EXISTS when the hash is known, unless its message was rejected: then
 * the row is replaced by this copy, pending again (as pyaleph does) */
gboolean
ac_devnet_store_insert_message (AcDevnetStore *self,
                                const AcAlephMessage *msg,
                                gdouble reception_time,
                                gdouble process_at,
                                const gchar *owner,
                                const gchar *ref,
                                GError **error);
AcDevnetMessageRow *
ac_devnet_store_get_message (AcDevnetStore *self, const gchar *item_hash, GError **error);
gboolean
ac_devnet_store_set_status (AcDevnetStore *self,
                            const gchar *item_hash,
                            const gchar *status,
                            gint64 error_code, /* < -1000: none */
                            const gchar *details,
                            GError **error);
gboolean
ac_devnet_store_set_forgotten (AcDevnetStore *self,
                               const gchar *item_hash,
                               const gchar *by,
                               GError **error);
/* item hashes of pending messages due at @now, oldest first */
GPtrArray *
ac_devnet_store_due_messages (AcDevnetStore *self, gdouble now, GError **error);
/* the earliest process_at of a pending message, or < 0 */
gdouble
ac_devnet_store_next_due (AcDevnetStore *self);

typedef struct {
	gchar **hashes;
	gchar **types;
	gchar **addresses; /* sender or owner */
	gchar **refs;
	gchar **channels;
	gboolean ascending;
	guint page;     /* 1-based */
	guint per_page; /* 0 = 20 */
} AcDevnetQuery;

/* processed messages matching every given filter */
GPtrArray *
ac_devnet_store_query (AcDevnetStore *self, const AcDevnetQuery *q, guint *total, GError **error);

/* ---- files ---- */

gboolean
ac_devnet_store_put_file (AcDevnetStore *self,
                          const gchar *hash,
                          const gchar *kind, /* storage | ipfs */
                          guint64 size,
                          const gchar *path,
                          GError **error);
/* the path of a stored file, NULL (no error) when unknown */
gchar *
ac_devnet_store_get_file (AcDevnetStore *self,
                          const gchar *hash,
                          guint64 *size,
                          gchar **kind,
                          GError **error);

/* ---- VMs (per CRN) ---- */

typedef struct {
	guint crn;
	gchar *vm_hash;
	gchar *state; /* awaiting_init, paused, running, stopped, erased */
	gchar *owner;
	guint launches;
	guint measurements;     /* SEV: LAUNCH_MEASURE read; SEV-SNP: reports the chip signed */
	guint inject_attempts;  /* SEV-SNP: injection requests whose body reached the agent */
	guint secrets_released; /* SEV: LAUNCH_SECRET accepted: the node's PSP decrypted a secret;
	                         * SEV-SNP: non-empty injection bodies that reached the agent */
	guint passphrase_checks;
	guint passphrase_ok; /* checks where the passphrase opened the image's LUKS header */
	gchar *last_error;
	gdouble updated;
	/* SEV-SNP VMs: what reached the guest's attest-agent */
	guint agent_handshakes; /* TLS handshakes completed */
	guint64 agent_bytes;    /* application bytes received */
	guint fresh_reports;    /* fresh report requests */
} AcDevnetVmRow;

void
ac_devnet_store_vm_row_free (AcDevnetVmRow *row);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AcDevnetVmRow, ac_devnet_store_vm_row_free)

gboolean
ac_devnet_store_put_vm (AcDevnetStore *self, const AcDevnetVmRow *row, GError **error);
AcDevnetVmRow *
ac_devnet_store_get_vm (AcDevnetStore *self, guint crn, const gchar *vm_hash, GError **error);
GPtrArray *
ac_devnet_store_list_vms (AcDevnetStore *self, GError **error);

G_END_DECLS
