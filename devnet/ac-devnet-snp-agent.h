/*
 * aleph-confidential devnet: a software Aleph attest-agent, the one an SEV-SNP guest runs on
 * port 8443 (its answers as the real agent gives them): HTTPS with OpenSSL on 127.0.0.1 (an
 * ephemeral port), one connection at a time in a thread of its own, serving the RA-TLS
 * certificate it is given, GET /.well-known/attestation?nonce= (a fresh report bound to the
 * agent's key and the nonce, from its host) and POST /confidential/inject-secret in owner mode
 * (the owner's EIP-191 signature checked against the agent's key with
 * ac_aleph_snp_inject_check(); re-injection allowed). Every other request gets the agent's 503
 * (no workload behind it). The devnet's CRNs run one per SEV-SNP VM; the client tests run it
 * with the hostile knobs.
 *
 * Everything that reaches the agent is reported to its host (handshakes, application bytes,
 * fresh requests, injection bodies) before the agent answers, so a host's counters are up to
 * date when the client reads the answer.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>
#include <openssl/evp.h>

#include "ac-snp-inject.h"
#include "ac-snp-ratls.h"

G_BEGIN_DECLS

/* the most of a request's head the agent reads */
#define AC_DEVNET_SNP_AGENT_HEAD_MAX 16384
/* the longest nonce (bytes) a fresh request may carry */
#define AC_DEVNET_SNP_AGENT_NONCE_MAX AC_SNP_RATLS_NONCE_MAX

typedef struct _AcDevnetSnpAgent AcDevnetSnpAgent;

typedef enum {
	AC_DEVNET_SNP_AGENT_EVENT_HANDSHAKE,        /* a TLS handshake completed */
	AC_DEVNET_SNP_AGENT_EVENT_HANDSHAKE_FAILED, /* a handshake the client aborted */
	AC_DEVNET_SNP_AGENT_EVENT_RECEIVED,         /* @n application bytes arrived */
	AC_DEVNET_SNP_AGENT_EVENT_FRESH,            /* a fresh report request (before the report) */
	AC_DEVNET_SNP_AGENT_EVENT_INJECTION,        /* an injection whose body (@n bytes) arrived */
} AcDevnetSnpAgentEventType;

typedef struct {
	AcDevnetSnpAgentEventType type;
	gsize n;
	/* INJECTION: the secrets when the owner's signature checked (borrowed), else NULL */
	AcSnpSecrets *secrets;
} AcDevnetSnpAgentEvent;

/* the guest's SNP_GET_REPORT for @report_data (64 bytes): called from the agent's thread */
typedef GBytes *(*AcDevnetSnpAgentReportFunc) (gpointer user_data,
                                               const guint8 *report_data,
                                               GError **error);
/* what reached the agent: called from the agent's thread, before it answers */
typedef void (*AcDevnetSnpAgentEventFunc) (gpointer user_data, const AcDevnetSnpAgentEvent *event);

typedef struct {
	/* what the first connection serves: the certificate (DER) and its private key */
	GBytes *cert;
	EVP_PKEY *key;
	/* what later connections serve (NULL: the same) — a relay to another guest */
	GBytes *later_cert;
	EVP_PKEY *later_key;
	/* the guest's key (97 bytes): what fresh reports and the owner's signature are bound to */
	guint8 pk_raw[AC_SNP_RATLS_PK_RAW_SIZE];
	/* the owner the agent accepts (--owner), any case */
	const gchar *owner;
	AcDevnetSnpAgentReportFunc report;
	AcDevnetSnpAgentEventFunc event; /* nullable */
	gpointer user_data;
	/* hostile knobs */
	const guint8 *stale_nonce;  /* AC_SNP_RATLS_NONCE_SIZE bytes fresh reports bind instead */
	const gchar *fresh_answer;  /* sent verbatim (a whole HTTP answer) to the fresh request */
	const gchar *inject_answer; /* sent verbatim to an injection whose signature checked */
	const gchar *hello;         /* sent verbatim right after the handshake, before reading */
	gboolean silent;            /* reads a request and never answers */
} AcDevnetSnpAgentConfig;

/* what reached the agent so far */
typedef struct {
	guint handshakes;    /* TLS handshakes completed */
	guint failed;        /* handshakes the client aborted */
	guint64 bytes;       /* application bytes received, all connections */
	guint fresh;         /* fresh report requests */
	guint injections;    /* injection requests whose body arrived */
	guint injections_ok; /* of which the owner's signature checked */
} AcDevnetSnpAgentSeen;

/* starts the agent on 127.0.0.1, an ephemeral port; @config is copied (the certificates and
 * keys referenced, the strings and the nonce copied) */
AcDevnetSnpAgent *
ac_devnet_snp_agent_start (const AcDevnetSnpAgentConfig *config, GError **error);
guint16
ac_devnet_snp_agent_get_port (AcDevnetSnpAgent *self);
void
ac_devnet_snp_agent_get_seen (AcDevnetSnpAgent *self, AcDevnetSnpAgentSeen *out);
/* stops the agent: closes its socket and joins its thread (a connection being served ends at
 * its next read); no callback runs after it returns */
void
ac_devnet_snp_agent_stop (AcDevnetSnpAgent *self);
void
ac_devnet_snp_agent_free (AcDevnetSnpAgent *self);

/* ---- the request parser (pure; fuzzed) ---- */

typedef enum {
	AC_DEVNET_SNP_AGENT_PARSE_MORE,  /* a request not complete yet: read more */
	AC_DEVNET_SNP_AGENT_PARSE_DONE,  /* a complete request */
	AC_DEVNET_SNP_AGENT_PARSE_ERROR, /* a request refused with @status */
} AcDevnetSnpAgentParse;

typedef struct {
	gchar *method;
	gchar *path;  /* the target before '?' */
	gchar *query; /* after '?' (nullable) */
	gsize body_offset;
	gsize body_len;
	guint status; /* ERROR: 400, 413, 431 or 501 */
} AcDevnetSnpAgentRequest;

void
ac_devnet_snp_agent_request_clear (AcDevnetSnpAgentRequest *req);

/*
 * Parses the bytes of one HTTP/1.x request received so far: the request line (a method of
 * upper-case letters, a target starting with '/' of visible ASCII, HTTP/1.0 or HTTP/1.1), the
 * header lines ("Name: value", a token name, visible ASCII and tabs in the value) ending with
 * an empty line within AC_DEVNET_SNP_AGENT_HEAD_MAX bytes, at most one Content-Length
 * (decimal digits, at most AC_SNP_INJECT_BODY_MAX), no Transfer-Encoding, then the body.
 * MORE while a part is missing; ERROR with the status to answer (and @error) otherwise.
 */
AcDevnetSnpAgentParse
ac_devnet_snp_agent_parse_request (const guint8 *data,
                                   gsize len,
                                   AcDevnetSnpAgentRequest *req,
                                   GError **error);

/*
 * The agent's answer to a request (pure, but for the owner's check and the report): @status
 * and the JSON body; @secrets gets the checked secrets of an injection. The exact bodies of
 * the Aleph agent: {"tee_type":"sev-snp","data":"<hex>"}, {"injected":[…]},
 * {"error":"invalid hex nonce: …"}, {"error":"expected envelope body: …"},
 * {"error":"owner signature verification failed"}, the validation texts.
 */
gchar *
ac_devnet_snp_agent_answer (const AcDevnetSnpAgentConfig *config,
                            const AcDevnetSnpAgentRequest *req,
                            const guint8 *data,
                            guint *status,
                            AcSnpSecrets **secrets);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (AcDevnetSnpAgent, ac_devnet_snp_agent_free)

G_END_DECLS
