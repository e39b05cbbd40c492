/*
 * Fuzz target: the devnet's knob patches (configuration file and admin endpoint bodies).
 * Property: a patch that applies gives knobs whose JSON applies again to the same knobs.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ac-devnet-knobs.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	AcDevnetKnobs k, again;
	g_autoptr(JsonNode) out = NULL;
	g_autofree gchar *text = NULL;

	ac_devnet_knobs_init(&k, 3);
	if (!ac_devnet_knobs_apply_data(&k, (const gchar *)data, size, NULL))
		return 0;
	out = ac_devnet_knobs_to_json(&k);
	text = json_to_string(out, FALSE);
	ac_devnet_knobs_init(&again, 3);
	if (!ac_devnet_knobs_apply_data(&again, text, strlen(text), NULL))
		abort();
	for (guint i = 0; i < AC_DEVNET_EP_LAST; i++) {
		if (k.faults[i].fail_next != again.faults[i].fail_next
		    || k.faults[i].status != again.faults[i].status
		    || k.faults[i].drop_after != again.faults[i].drop_after
		    || k.faults[i].drop_next != again.faults[i].drop_next
		    || k.faults[i].latency_ms != again.faults[i].latency_ms)
			abort();
	}
	if (k.latency_ms != again.latency_ms || k.clock_skew_s != again.clock_skew_s
	    || memcmp(k.attacks, again.attacks, sizeof(k.attacks)) != 0)
		abort();
	return 0;
}
