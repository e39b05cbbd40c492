/*
 * The software Aleph attest-agent for the tests of the owner's attested TLS: the devnet's
 * (devnet/ac-devnet-snp-agent.h: OpenSSL's TLS, a thread of its own, one connection at a time
 * on 127.0.0.1) with its reports from a software guest. It serves an RA-TLS certificate,
 * answers GET /.well-known/attestation?nonce= with a report of its guest bound to its key and
 * the nonce, checks POST /confidential/inject-secret with ac_aleph_snp_inject_check(), and
 * COUNTS what reached it. Knobs make it hostile.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>
#include <openssl/evp.h>
#include <string.h>

#include "ac-snp-firmware.h"
#include "ac-snp-ratls.h"
#include "../sev/test-snp-common.h"

typedef struct _TestSnpAgent TestSnpAgent;

typedef struct {
	/* what the first connection serves: the certificate (DER) and its key */
	GBytes *cert;
	EVP_PKEY *key;
	/* what later connections serve (NULL: the same) — a relay to another guest */
	GBytes *later_cert;
	EVP_PKEY *later_key;
	/* fresh reports come from this guest, bound to this key (97 bytes) */
	AcSnpGuest *guest;
	guint8 pk_raw[AC_SNP_RATLS_PK_RAW_SIZE];
	/* the owner the agent accepts (--owner) */
	const gchar *owner;
	/* hostile knobs */
	const guint8 *stale_nonce;  /* 32 bytes: fresh reports bind this, not the request's */
	const gchar *fresh_answer;  /* sent verbatim (a whole HTTP answer) to the fresh request */
	const gchar *inject_answer; /* sent verbatim to an injection that checked */
	const gchar *hello;         /* sent verbatim right after the handshake, before reading */
	gboolean silent;            /* reads a request and never answers */
} TestSnpAgentConfig;

/* an honest agent's configuration: it serves the boot @b (its certificate, key and guest) and
 * accepts the owner @owner */
static inline TestSnpAgentConfig
test_snp_agent_config (const SnpTestBoot *b, const gchar *owner)
{
	TestSnpAgentConfig c = { 0 };

	c.cert = b->cert;
	c.key = b->key;
	c.guest = b->guest;
	memcpy (c.pk_raw, b->pk_raw, sizeof c.pk_raw);
	c.owner = owner;
	return c;
}

/* what reached the agent (read after test_snp_agent_stop) */
typedef struct {
	guint handshakes;       /* TLS handshakes completed */
	guint failed;           /* handshakes the client aborted */
	gsize bytes;            /* application bytes received, all connections */
	guint fresh;            /* fresh report requests */
	guint injections;       /* injection requests (bodies received) */
	guint injections_ok;    /* of which the owner signature checked */
	gchar *luks_passphrase; /* the last checked "luks_passphrase" */
} TestSnpAgentSeen;

/* starts the agent on 127.0.0.1 (a free port); @config is copied (its pointers borrowed) */
TestSnpAgent *
test_snp_agent_start (const TestSnpAgentConfig *config);
guint16
test_snp_agent_get_port (TestSnpAgent *self);
/* application bytes received so far (for a check made while the client runs) */
gsize
test_snp_agent_peek_bytes (TestSnpAgent *self);
/* stops the agent (joins its thread) and returns what it saw (owned by the agent) */
const TestSnpAgentSeen *
test_snp_agent_stop (TestSnpAgent *self);
void
test_snp_agent_free (TestSnpAgent *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TestSnpAgent, test_snp_agent_free)
