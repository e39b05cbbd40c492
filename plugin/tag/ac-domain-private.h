/*
 * The domain model built from a document already read, for ac_tag_parse() that reads a
 * domain with its own reader. Not for other callers: they take ac-domain.h.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <libxml/tree.h>

#include "ac-domain.h"

G_BEGIN_DECLS

AcDomain *ac_domain_new_from_root (xmlNode *root, GError **error);

G_END_DECLS
