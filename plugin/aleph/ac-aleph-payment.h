/*
 * aleph-confidential: which payment types Aleph's network accepts, for which message type, on
 * which date. One table (ac-aleph-payment.c) says it, with its source; the client refuses a
 * combination before signing, and the devnet enforces the same rules. Pure: no I/O.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The error code a CCN gives a message whose payment type is no longer accepted. */
#define AC_ALEPH_ERROR_PAYMENT_REFUSED 202

/* Cutoff dates (Unix seconds): a message dated at or after a cutoff is refused. */
typedef struct {
	gint64 instance_hold;       /* INSTANCE with payment hold */
	gint64 instance_superfluid; /* INSTANCE with payment superfluid */
	gint64 store_hold;          /* STORE with payment hold */
} AcPaymentCutoffs;

/* The network's cutoffs (see the table's comment for the source). */
void ac_payment_cutoffs_init_default (AcPaymentCutoffs *cutoffs);

/* "hold", "superfluid" or "credit"; @msg_type "INSTANCE" or "STORE". */
gboolean ac_payment_type_is_known (const gchar *msg_type, const gchar *payment);

/*
 * Whether a @msg_type message paid by @payment and dated @time (Unix seconds, the message's own
 * time) is accepted under @cutoffs (NULL = the network's). The error names the message type,
 * the payment, the cutoff date and what to use instead.
 */
gboolean ac_payment_check (const AcPaymentCutoffs *cutoffs,
			   const gchar *msg_type,
			   const gchar *payment,
			   gdouble time,
			   GError **error);

/* The default payment type for @msg_type on the network's current rules: "credit". */
const gchar *ac_payment_default (const gchar *msg_type);

/* "2026-03-11" for a cutoff; newly allocated. */
gchar *ac_payment_cutoff_to_string (gint64 cutoff);

/* Parses "YYYY-MM-DD" or an ISO 8601 date-time (UTC when no zone is given), or "never". */
gboolean ac_payment_cutoff_parse (const gchar *text, gint64 *out, GError **error);

G_END_DECLS
