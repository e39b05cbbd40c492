/*
 * Fuzz the parsers of CCN, CRN and Kubo answers (every byte from the network is hostile).
 * The first byte picks the parser; the rest is the body.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <stdint.h>
#include <string.h>

#include "ac-aleph-responses.h"
#include "ac-aleph-util.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
	const gchar *body;
	gsize len;
	guint8 which;

	if (size < 1 || size > 256 * 1024)
		return 0;
	which = data[0];
	body = (const gchar *)data + 1;
	len = size - 1;
	switch (which % 10) {
	case 0: {
		AcPostResult r;
		if (ac_ccn_parse_post_response (200 + (which / 10) % 300, body, len, &r, NULL))
			ac_post_result_clear (&r);
		break;
	}
	case 1: {
		AcMessageInfo *info = ac_ccn_parse_message_info (body, len, NULL);
		if (info != NULL) {
			g_free (ac_message_info_describe_rejection (info));
			if (info->message != NULL)
				(void)ac_aleph_message_verify (info->message, NULL, NULL);
		}
		ac_message_info_free (info);
		break;
	}
	case 2: {
		guint total;
		GPtrArray *a = ac_ccn_parse_messages_page (body, len, &total, NULL);
		if (a != NULL)
			g_ptr_array_unref (a);
		break;
	}
	case 3:
		g_free (ac_ccn_parse_upload (body, len, NULL));
		break;
	case 4: {
		guint64 s;
		g_free (ac_ipfs_parse_add (body, len, &s, NULL));
		break;
	}
	case 5: {
		GPtrArray *a = ac_crn_parse_list (body, len, (AcCrnFilter)(which / 10 % 8), NULL);
		if (a != NULL)
			g_ptr_array_unref (a);
		break;
	}
	case 6:
		ac_crn_measurement_free (ac_crn_parse_measurement (body, len, NULL));
		break;
	case 7: {
		GPtrArray *a = ac_crn_parse_executions (body, len, NULL);
		if (a != NULL)
			g_ptr_array_unref (a);
		break;
	}
	case 8:
		(void)ac_crn_parse_notify (200 + (which / 10) % 400, body, len, NULL);
		break;
	case 9:
		if (which >= 128) {
			GPtrArray *a = ac_crn_parse_logs (body, len, NULL);
			if (a != NULL)
				g_ptr_array_unref (a);
			break;
		}
		if (which >= 64) {
			g_autofree gchar *value = g_strndup (body, len);
			guint64 start, end, total;
			if (ac_http_parse_content_range (value, &start, &end, &total, NULL))
				g_assert (start <= end && end < total);
			break;
		}
		g_free (ac_http_error_text (body, len));
		break;
	default:
		g_free (ac_http_error_text (body, len));
		break;
	}
	return 0;
}
