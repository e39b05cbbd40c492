/*
 * aleph-confidential: reading a tag from a document — a whole domain (through the domain
 * model, whose facts the tag is checked against) or the <aleph:confidential> element alone.
 * Above both ac-tag.c (the element) and ac-domain.c (the model), so neither needs the other's
 * reader.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <string.h>

#include "ac-domain-private.h"
#include "ac-error.h"
#include "ac-tag-private.h"
#include "ac-tag.h"

#define TAG_MAX_XML (16 * 1024 * 1024)

/**
 * ac_tag_parse:
 * @xml: a whole domain XML (<domain>) or the <aleph:confidential> element alone
 * @len: length of @xml, or -1 if NUL-terminated
 * @domain_out: (out) (optional): facts about the enclosing domain, when @xml is a domain
 *
 * Parses, applies defaults and validates (ac_tag_validate()) the tag.
 *
 * Returns: the tag, or %NULL with @error set: %AC_ERROR_NOT_FOUND when a domain has no tag,
 * %AC_ERROR_INVALID_INPUT for anything malformed, naming the element, attribute and value.
 */
AcTag *
ac_tag_parse (const gchar *xml, gssize len, AcTagDomain **domain_out, GError **error)
{
	g_autoptr(AcTag) tag = NULL;
	xmlParserCtxtPtr ctxt;
	xmlDocPtr doc;
	xmlNode *root;

	g_return_val_if_fail (xml != NULL, NULL);
	if (len < 0)
		len = (gssize)strlen (xml);
	if (len > TAG_MAX_XML) {
		g_set_error (error,
			     AC_ERROR,
			     AC_ERROR_INVALID_INPUT,
			     "domain XML is %" G_GSSIZE_FORMAT " bytes; at most %d are accepted",
			     len,
			     TAG_MAX_XML);
		return NULL;
	}

	ctxt = xmlNewParserCtxt ();
	if (ctxt == NULL) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_INTERNAL, "out of memory");
		return NULL;
	}
	/* No network, no entity substitution, no DTD loading: the input is untrusted. */
	doc = xmlCtxtReadMemory (ctxt, xml, (int)len, "domain.xml", NULL,
				 XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (doc == NULL) {
		const xmlError *e = xmlCtxtGetLastError (ctxt);
		g_autofree gchar *msg = g_strstrip (g_strdup (e != NULL && e->message != NULL ? e->message
										: "unknown error"));
		g_set_error (error,
			     AC_ERROR,
			     AC_ERROR_INVALID_INPUT,
			     "malformed XML at line %d: %s",
			     e != NULL ? e->line : 0,
			     msg);
		xmlFreeParserCtxt (ctxt);
		return NULL;
	}
	xmlFreeParserCtxt (ctxt);
	root = xmlDocGetRootElement (doc);

	if (root != NULL && root->ns == NULL && g_strcmp0 ((const gchar *)root->name, "domain") == 0) {
		/* the domain model, on this document: its facts and its one rule for the disk */
		g_autoptr(AcDomain) model = ac_domain_new_from_root (root, error);
		xmlFreeDoc (doc);
		if (model == NULL || model->tag == NULL) {
			if (model != NULL)
				g_propagate_error (error, g_steal_pointer (&model->tag_error));
			return NULL;
		}
		if (domain_out != NULL)
			*domain_out = ac_domain_get_tag_info (model);
		return g_steal_pointer (&model->tag);
	}
	tag = ac_tag_parse_element (root, error);
	xmlFreeDoc (doc);
	return g_steal_pointer (&tag);
}

/**
 * ac_tag_domain_parse:
 *
 * The facts about a domain that the tag is checked against (name, disks, launchSecurity),
 * whether or not it is tagged: those of its model (ac_domain_parse(), with its bound and its
 * rule for the disks).
 */
AcTagDomain *
ac_tag_domain_parse (const gchar *xml, gssize len, GError **error)
{
	g_autoptr(AcDomain) model = ac_domain_parse (xml, len, error);
	return model != NULL ? ac_domain_get_tag_info (model) : NULL;
}
