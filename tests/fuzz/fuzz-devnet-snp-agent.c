/*
 * Fuzz target: the devnet's SEV-SNP attest-agent — its HTTP request parser on the bytes a
 * client sends, and its answer to a complete request (the nonce decoder, the injection's
 * envelope, the secrets' validation, the owner's signature check). Properties: a request it
 * accepts lies inside the input; an error names a status; an answer is JSON with a status of
 * the agent's set, and secrets come only with a 200.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ac-devnet-snp-agent.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static GBytes *
fake_report (gpointer user_data, const guint8 *report_data, GError **error)
{
	return g_bytes_new_static ("\xaa", 1);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
	AcDevnetSnpAgentRequest req = { 0 };
	AcDevnetSnpAgentConfig c = { 0 };
	AcSnpSecrets *secrets = NULL;
	AcDevnetSnpAgentParse r;
	gchar *body;
	guint status = 0;

	r = ac_devnet_snp_agent_parse_request (data, size, &req, NULL);
	if (r == AC_DEVNET_SNP_AGENT_PARSE_ERROR) {
		if (req.status != 400 && req.status != 413 && req.status != 431
		    && req.status != 501)
			abort ();
		ac_devnet_snp_agent_request_clear (&req);
		return 0;
	}
	if (r == AC_DEVNET_SNP_AGENT_PARSE_MORE) {
		ac_devnet_snp_agent_request_clear (&req);
		return 0;
	}
	if (req.method == NULL || req.path == NULL || req.path[0] != '/' || req.body_offset > size
	    || req.body_len > size - req.body_offset)
		abort ();
	c.pk_raw[0] = 0x04;
	c.owner = "0x17c5185167401ed00cf5f5b2fc97d9bbfdb7d025";
	c.report = fake_report;
	body = ac_devnet_snp_agent_answer (&c, &req, data, &status, &secrets);
	if (body == NULL || body[0] != '{')
		abort ();
	if (status != 200 && status != 400 && status != 403 && status != 405 && status != 500
	    && status != 503)
		abort ();
	if (secrets != NULL && status != 200)
		abort ();
	g_free (body);
	if (secrets != NULL)
		ac_snp_secrets_free (secrets);
	ac_devnet_snp_agent_request_clear (&req);
	return 0;
}
