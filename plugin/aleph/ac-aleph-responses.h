/*
 * aleph-confidential: parsers of CCN (pyaleph), CRN (aleph-vm) and Kubo JSON responses. Every
 * byte is hostile: sizes and types are checked, strings are bounded, nothing is trusted beyond
 * what is parsed here. Pure (no I/O): fuzzed by tests/fuzz/fuzz-aleph-responses.c.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include "ac-aleph-message.h"

G_BEGIN_DECLS

typedef enum {
	AC_MESSAGE_STATUS_UNKNOWN,
	AC_MESSAGE_STATUS_PENDING,
	AC_MESSAGE_STATUS_PROCESSED,
	AC_MESSAGE_STATUS_REJECTED,
	AC_MESSAGE_STATUS_FORGOTTEN,
	AC_MESSAGE_STATUS_REMOVING,
	AC_MESSAGE_STATUS_REMOVED,
} AcMessageStatus;

const gchar *ac_message_status_to_string (AcMessageStatus status);
AcMessageStatus ac_message_status_from_string (const gchar *s);
const gchar *ac_message_error_code_to_string (gint64 code);

/* POST /api/v0/messages */
typedef struct {
	AcMessageStatus message_status;
	gchar *publication_status; /* success | warning | error */
	gchar *failed;             /* protocols that failed, comma-separated, or NULL */
} AcPostResult;
void ac_post_result_clear (AcPostResult *r);
gboolean ac_ccn_parse_post_response (guint http_status,
				     const gchar *body,
				     gsize len,
				     AcPostResult *out,
				     GError **error);

/* GET /api/v0/messages/{hash} */
typedef struct {
	AcMessageStatus status;
	gchar *item_hash;
	gchar *reception_time;
	gint64 error_code;
	gboolean has_error_code;
	gchar *details; /* compact JSON of "details", bounded */
	gchar *reason;
	AcAlephMessage *message; /* the message when the CCN returned it */
} AcMessageInfo;
void ac_message_info_free (AcMessageInfo *info);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AcMessageInfo, ac_message_info_free)
AcMessageInfo *ac_ccn_parse_message_info (const gchar *body, gsize len, GError **error);
gchar *ac_message_info_describe_rejection (const AcMessageInfo *info);

/* GET /api/v0/messages.json */
GPtrArray *ac_ccn_parse_messages_page (const gchar *body, gsize len, guint *total, GError **error);

/* storage/add_file, ipfs/add_file, ipfs/add_car: {"status":"success","hash":…} */
gchar *ac_ccn_parse_upload (const gchar *body, gsize len, GError **error);

/* Kubo /api/v0/add: one JSON object per line; the last one names the file */
gchar *ac_ipfs_parse_add (const gchar *body, gsize len, guint64 *size_out, GError **error);

/* crns.json */
typedef struct {
	gchar *hash;
	gchar *name;
	gchar *address; /* base URL */
	gchar *version;
	gchar *payment_receiver_address;
	gchar *terms_and_conditions;
	gboolean confidential_support;
	gboolean qemu_support;
	gboolean gpu_support;
	gboolean sev;
	gboolean sev_es;
	gboolean sev_snp;
} AcCrnInfo;
void ac_crn_info_free (AcCrnInfo *crn);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AcCrnInfo, ac_crn_info_free)

typedef enum {
	AC_CRN_FILTER_NONE = 0,
	AC_CRN_FILTER_CONFIDENTIAL = 1 << 0, /* confidential_support and qemu_support */
	AC_CRN_FILTER_QEMU = 1 << 1,
	AC_CRN_FILTER_GPU = 1 << 2,
	AC_CRN_FILTER_SNP = 1 << 3, /* confidential, qemu and "sev_snp" in cpu.features */
} AcCrnFilter;
GPtrArray *ac_crn_parse_list (const gchar *body, gsize len, AcCrnFilter filter, GError **error);

/* /control/machine/{ref}/confidential/measurement */
typedef struct {
	gboolean enabled;
	guint8 api_major;
	guint8 api_minor;
	guint8 build_id;
	guint32 policy;
	gchar *state;
	gint64 handle;
	guint8 launch_measure[48]; /* MEASURE[32] || MNONCE[16] */
} AcCrnMeasurement;
void ac_crn_measurement_free (AcCrnMeasurement *m);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AcCrnMeasurement, ac_crn_measurement_free)
AcCrnMeasurement *ac_crn_parse_measurement (const gchar *body, gsize len, GError **error);

/* /about/executions/list */
typedef struct {
	gchar *vm_hash;
	gchar *ipv4;
	gchar *ipv6;
	gchar *host_ipv4;     /* the CRN's address its mapped ports listen on (aleph-vm 2.0) */
	GArray *mapped_tcp;   /* of AcCrnMappedPort: the guest's TCP ports the CRN forwards */
	gboolean awaiting_confidential_init;
	gboolean running;
} AcCrnExecution;
typedef struct {
	guint16 guest;
	guint16 host;
} AcCrnMappedPort;
void ac_crn_execution_free (AcCrnExecution *e);
/* the host port forwarded to the guest's TCP port @guest, or 0 */
guint16 ac_crn_execution_mapped_port (const AcCrnExecution *e, guint16 guest);
GPtrArray *ac_crn_parse_executions (const gchar *body, gsize len, GError **error);

/* GET /control/machine/{ref}/logs (aleph-vm's JSON logs): the VM's console, oldest first */
#define AC_CRN_LOGS_MAX_LINES 100000
typedef struct {
	gchar *stream;  /* "stdout", "stderr" or what the CRN said, sanitized */
	gchar *time;    /* nullable: the CRN's time stamp as text */
	gchar *message; /* one line, control characters escaped (\x1b…): safe on a terminal */
} AcCrnLogLine;
void ac_crn_log_line_free (AcCrnLogLine *l);
GPtrArray *ac_crn_parse_logs (const gchar *body, gsize len, GError **error);

/* /control/allocation/notify */
gboolean ac_crn_parse_notify (guint http_status, const gchar *body, gsize len, GError **error);

/* the "error"/"message"/"detail" text of an error body, sanitized and bounded */
gchar *ac_http_error_text (const gchar *body, gsize len);
/* A Content-Range header "bytes START-END/SIZE" (RFC 9110), START <= END < SIZE; an unknown
 * SIZE ("*") or any other form is AC_ERROR_REMOTE. */
gboolean
ac_http_parse_content_range (const gchar *value,
                             guint64 *start,
                             guint64 *end,
                             guint64 *total,
                             GError **error);

G_END_DECLS
