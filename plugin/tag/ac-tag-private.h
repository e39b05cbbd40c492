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
/* for ac_tag_parse() (ac-tag-parse.c) on a document that is not a domain */
AcTag *
ac_tag_parse_element (xmlNode *root, GError **error);

/* ac-tag-element.c: what each element's reader uses */
/* the attribute @name of @node without a namespace, or NULL */
gchar *
ac_tag_xml_prop (xmlNode *node, const gchar *name);
/* @node has only attributes in @allowed (NULL-terminated) and no child element or text */
gboolean
ac_tag_check_leaf (xmlNode *node, const gchar *const *allowed, GError **error);
/* "<aleph:ELEM ATTR='VALUE'>: invalid value; expected EXPECTED" */
void
ac_tag_attr_error (GError **error,
                   const gchar *elem,
                   const gchar *attr,
                   const gchar *value,
                   const gchar *expected);
/* "<aleph:ELEM ATTR=…>: " before @error's message */
void
ac_tag_attr_prefix_error (GError **error, const gchar *elem, const gchar *attr);
/* @value of <aleph:ELEM ATTR> (nullable: nothing to do), 64 hexadecimal digits, lowercased into
 * *@out (replacing it); ac_tag_attr_error() with @expected otherwise */
gboolean
ac_tag_hex64_attr (const gchar *elem,
                   const gchar *attr,
                   const gchar *value,
                   const gchar *expected,
                   gchar **out,
                   GError **error);

/* ac-tag-publish.c: <aleph:publish> into @tag->publish */
gboolean
ac_tag_publish_parse (AcTag *tag, xmlNode *node, GError **error);

G_END_DECLS
