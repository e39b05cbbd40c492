/*
 * Fuzz the message envelope parser, verification, content normalization and the server-side
 * CRN header check (input split on the first NUL: X-SignedPubKey, then X-SignedOperation).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <stdint.h>
#include <string.h>

#include "ac-aleph-message.h"
#include "ac-aleph-schema.h"
#include "ac-aleph-util.h"
#include "ac-crn-auth.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
	const gchar *text = (const gchar *)data;
	const guint8 *nul;
	AcAlephMessage *m;
	JsonNode *node;

	if (size > 256 * 1024)
		return 0;
	nul = memchr (data, 0, size);
	if (nul != NULL) {
		g_autofree gchar *pk = g_strndup (text, nul - data);
		g_autofree gchar *op = g_strndup ((const gchar *)nul + 1, size - (nul - data) - 1);
		GDateTime *now = g_date_time_new_utc (2030, 1, 1, 0, 0, 30);
		gchar *sender = NULL;
		guint status;
		(void)ac_crn_auth_verify_request (pk, op, "crn.example.org", "GET", "/", now, &sender,
						  &status, NULL);
		g_free (sender);
		g_date_time_unref (now);
		return 0;
	}
	m = ac_aleph_message_from_data (text, size, NULL);
	if (m != NULL) {
		gchar *signer = NULL;
		gchar *s = ac_aleph_message_to_string (m);
		(void)ac_aleph_message_verify (m, &signer, NULL);
		g_free (signer);
		g_free (s);
		ac_aleph_message_free (m);
	}
	node = ac_json_parse_untrusted ("fuzz", text, size, NULL);
	if (node != NULL) {
		const gchar *types[] = { "INSTANCE", "STORE", "FORGET" };
		for (guint i = 0; i < G_N_ELEMENTS (types); i++) {
			JsonNode *n = ac_aleph_content_normalize (types[i], node, NULL);
			if (n != NULL) {
				g_free (ac_json_to_python_compact (n));
				json_node_unref (n);
			}
		}
		json_node_unref (node);
	}
	return 0;
}
