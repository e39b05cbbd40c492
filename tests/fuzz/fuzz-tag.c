/*
 * Fuzz target: the <aleph:confidential> parser (domain XML is controlled by whoever can edit
 * a domain, and reaches the hook before every start). Property: anything that parses
 * formats to a tag that parses again to an equal tag.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <stdint.h>
#include <stdlib.h>

#include "ac-tag.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
	g_autoptr(AcTag) tag = NULL;
	g_autoptr(AcTag) again = NULL;
	g_autofree gchar *text = NULL;

	tag = ac_tag_parse ((const gchar *)data, (gssize)size, NULL, NULL);
	if (tag == NULL)
		return 0;
	text = ac_tag_format (tag);
	again = ac_tag_parse (text, -1, NULL, NULL);
	if (again == NULL || !ac_tag_equal (tag, again))
		abort ();
	return 0;
}
