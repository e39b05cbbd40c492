/*
 * The tag parser on a domain document already read, for the domain model (ac-domain.c) that
 * reads the domain XML once for every user. Not for other callers: they take ac-tag.h.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <libxml/tree.h>

#include "ac-tag.h"

G_BEGIN_DECLS

AcTag *
ac_tag_parse_in_domain (xmlNode *root, const AcTagDomain *info, GError **error);

G_END_DECLS
