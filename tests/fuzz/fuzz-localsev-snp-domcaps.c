/*
 * Fuzz target: a host's domain capabilities as the local SEV-SNP flow reads them (the SEV
 * parameters and the launchSecurity types, virConnectGetDomainCapabilities: the host's word).
 * Properties: no crash; what parses is within its bounds, and the host check agrees with it.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ac-localsev-private.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
	g_auto (AcLocalsevSnpDomcaps) caps = { 0 };
	g_autofree gchar *text = g_strndup ((const gchar *)data, size);
	AcSevHostSnpFacts facts = { 10005000, 9001000, text, NULL };
	guint cbitpos = 0, rpb = 0;
	gboolean ok;

	if (!ac_localsev_snp_parse_domcaps ((const gchar *)data, size, &caps, NULL))
		return 0;
	if (caps.sectypes == NULL)
		abort ();
	if (caps.sev && (caps.cbitpos < 1 || caps.cbitpos > 63 || caps.reduced_phys_bits > 63))
		abort ();
	/* a NUL inside the input: the check reads the text up to it, another document */
	if (strlen (text) != size)
		return 0;
	ok = ac_localsev_snp_check_host ("fuzz", &facts, &cbitpos, &rpb, NULL);
	if (ok != (caps.sev && caps.sev_snp))
		abort ();
	if (ok && (cbitpos != caps.cbitpos || rpb != caps.reduced_phys_bits))
		abort ();
	return 0;
}
