/*
 * Fuzz the owner's parsers of an SEV-SNP agent's answers (ac-aleph-snp-attest-private.h): the
 * input is a whole HTTP answer, its header section parsed, its body parsed as a fresh report's
 * answer and as an injection's answer. Whatever parses keeps the promised shape.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "ac-aleph-snp-attest-private.h"
#include "ac-aleph-snp-attest.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
	static const gchar sent_json[] = "{\"luks_passphrase\":\"x\",\"other\":\"y\"}";
	g_autoptr (AcSnpSecrets) sent
	    = ac_snp_secrets_parse_json (sent_json, strlen (sent_json), NULL);
	const guint8 *end = size >= 4 ? memmem (data, size, "\r\n\r\n", 4) : NULL;
	gsize head_len = end != NULL ? (gsize)(end - data) : size;
	g_autofree gchar *head = NULL;
	g_autoptr (GBytes) body = NULL;
	g_auto (GStrv) names = NULL;
	guint8 report[AC_SNP_REPORT_SIZE];
	guint status = 0;
	gint64 content_length = 0;

	g_assert_nonnull (sent);
	if (head_len <= AC_ALEPH_SNP_ATTEST_HEADERS_MAX && memchr (data, '\0', head_len) == NULL) {
		head = g_strndup ((const gchar *)data, head_len);
		if (ac_aleph_snp_attest_parse_head ("fuzz", "answer", head, &status,
		                                    &content_length, NULL)) {
			g_assert_cmpuint (status, >=, 100);
			g_assert_cmpuint (status, <=, 599);
			g_assert_cmpint (content_length, >=, -1);
		}
	}
	body = end != NULL ? g_bytes_new (end + 4, size - head_len - 4) : g_bytes_new (data, size);
	if (ac_aleph_snp_attest_parse_fresh ("fuzz", body, report, NULL))
		g_assert_cmpuint (g_bytes_get_size (body), >=, 2 * AC_SNP_REPORT_SIZE);
	names = ac_aleph_snp_attest_parse_injected ("fuzz", body, sent, NULL);
	if (names != NULL) {
		g_assert_cmpuint (g_strv_length (names), ==, 2);
		g_assert_cmpstr (names[0], !=, names[1]);
		for (guint i = 0; i < 2; i++)
			g_assert_nonnull (ac_snp_secrets_lookup (sent, names[i], NULL));
	}
	return 0;
}
