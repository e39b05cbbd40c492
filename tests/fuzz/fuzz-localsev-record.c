/*
 * Fuzz target: the local SEV launch record (prepared.json in the domain's state directory).
 * Property: whatever parses formats to JSON that parses to the same record.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <stdint.h>
#include <stdlib.h>

#include "ac-localsev.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
	g_autoptr(AcLocalsevRecord) r = NULL;
	g_autoptr(AcLocalsevRecord) again = NULL;
	g_autofree gchar *json = NULL;
	g_autofree gchar *json2 = NULL;

	r = ac_localsev_record_from_json ((const gchar *)data, (gssize)size, NULL);
	if (r == NULL)
		return 0;
	json = ac_localsev_record_to_json (r);
	again = ac_localsev_record_from_json (json, -1, NULL);
	if (again == NULL)
		abort ();
	json2 = ac_localsev_record_to_json (again);
	if (g_strcmp0 (json, json2) != 0)
		abort ();
	return 0;
}
