/*
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "ac-localsev-domain.h"

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <string.h>

#include "ac-error.h"

static xmlDoc *
ac_localsev_domain_read (const gchar *xml, gssize len, GError **error)
{
	return ac_domain_read_xml (xml, len, error);
}

/* @n and the indentation before it removed */
static void
remove_with_indent (xmlNode *n)
{
	if (n->prev != NULL && n->prev->type == XML_TEXT_NODE && xmlIsBlankNode (n->prev)) {
		xmlNode *ws = n->prev;
		xmlUnlinkNode (ws);
		xmlFreeNode (ws);
	}
	xmlUnlinkNode (n);
	xmlFreeNode (n);
}

/* @parent's children matching @match removed (with the indentation before each), @fragment's
 * root appended indented as libvirt lays it out */
static gboolean
replace_children (xmlDoc *doc,
                  xmlNode *parent,
                  gboolean (*match) (xmlNode *n),
                  xmlNode *fragment,
                  const gchar *indent,
                  GError **error)
{
	xmlNode *next, *copy, *last;

	for (xmlNode *n = parent->children; n != NULL; n = next) {
		next = n->next;
		if (match (n))
			remove_with_indent (n);
	}
	copy = xmlDocCopyNode (fragment, doc, 1);
	if (copy == NULL) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_INTERNAL, "out of memory");
		return FALSE;
	}
	last = parent->last;
	if (last != NULL && last->type == XML_TEXT_NODE && xmlIsBlankNode (last)) {
		/* on its own line before the parent's closing tag */
		xmlAddPrevSibling (last, copy);
		xmlAddPrevSibling (copy, xmlNewDocText (doc, (const xmlChar *)indent));
	} else {
		xmlAddChild (parent, copy);
	}
	return TRUE;
}

static gchar *
dump_root (xmlDoc *doc)
{
	xmlBuffer *buf = xmlBufferCreate ();
	gchar *result;

	xmlNodeDump (buf, doc, xmlDocGetRootElement (doc), 0, 0);
	result = g_strdup ((const gchar *)xmlBufferContent (buf));
	xmlBufferFree (buf);
	return result;
}

static gboolean
is_launch_security (xmlNode *n)
{
	return ac_domain_xml_is_elem (n, "launchSecurity");
}

/**
 * ac_localsev_domain_set_launch_security:
 *
 * Returns: the domain XML with its <launchSecurity> elements replaced by @launch_security
 * (appended at the end of <domain>, where libvirt writes it).
 */
gchar *
ac_localsev_domain_set_launch_security (const gchar *xml,
                                        const gchar *launch_security,
                                        GError **error)
{
	g_autoptr (AcDomainXmlDoc) doc = ac_localsev_domain_read (xml, -1, error);
	g_autoptr (AcDomainXmlDoc) frag = NULL;

	if (doc == NULL)
		return NULL;
	frag = xmlReadMemory (launch_security, (int)strlen (launch_security), "launchSecurity.xml",
	                      NULL, AC_DOMAIN_XML_OPTS);
	if (frag == NULL || xmlDocGetRootElement (frag) == NULL
	    || !is_launch_security (xmlDocGetRootElement (frag))) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_INTERNAL,
		                     "malformed <launchSecurity> element");
		return NULL;
	}
	if (!replace_children (doc, xmlDocGetRootElement (doc), is_launch_security,
	                       xmlDocGetRootElement (frag), "\n  ", error))
		return NULL;
	return dump_root (doc);
}

/**
 * ac_localsev_domain_set_launch_record:
 *
 * Returns: the domain XML with @launch (a <launch> element in AC_LAUNCH_NS) as the only
 * launch record in its <metadata>.
 */
gchar *
ac_localsev_domain_set_launch_record (const gchar *xml, const gchar *launch, GError **error)
{
	g_autoptr (AcDomainXmlDoc) doc = ac_localsev_domain_read (xml, -1, error);
	g_autoptr (AcDomainXmlDoc) frag = NULL;
	xmlNode *root, *metadata;

	if (doc == NULL)
		return NULL;
	frag = xmlReadMemory (launch, (int)strlen (launch), "launch.xml", NULL, AC_DOMAIN_XML_OPTS);
	if (frag == NULL || xmlDocGetRootElement (frag) == NULL
	    || !ac_domain_xml_is_launch_record (xmlDocGetRootElement (frag))) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_INTERNAL,
		                     "malformed <launch> record");
		return NULL;
	}
	root = xmlDocGetRootElement (doc);
	metadata = ac_domain_xml_first_child (root, "metadata");
	if (metadata == NULL) {
		metadata = xmlNewDocNode (doc, NULL, (const xmlChar *)"metadata", NULL);
		xmlAddChild (metadata, xmlNewDocText (doc, (const xmlChar *)"\n  "));
		if (root->children != NULL)
			xmlAddPrevSibling (root->children, metadata);
		else
			xmlAddChild (root, metadata);
	}
	if (!replace_children (doc, metadata, ac_domain_xml_is_launch_record,
	                       xmlDocGetRootElement (frag), "\n    ", error))
		return NULL;
	return dump_root (doc);
}

static xmlNode *
find_disk (xmlNode *devices, const gchar *dev)
{
	for (xmlNode *n = devices->children; n != NULL; n = n->next) {
		xmlChar *device;
		xmlNode *target;
		xmlChar *tdev;
		gboolean match;
		if (!ac_domain_xml_is_elem (n, "disk"))
			continue;
		device = xmlGetNoNsProp (n, (const xmlChar *)"device");
		match = device == NULL || g_strcmp0 ((const gchar *)device, "disk") == 0;
		xmlFree (device);
		target = ac_domain_xml_first_child (n, "target");
		if (!match || target == NULL)
			continue;
		tdev = xmlGetNoNsProp (target, (const xmlChar *)"dev");
		match = g_strcmp0 ((const gchar *)tdev, dev) == 0;
		xmlFree (tdev);
		if (match)
			return n;
	}
	return NULL;
}

/**
 * ac_localsev_domain_switch_disk:
 *
 * The disk keeps everything but its type (file), its <source> (a new <source file>, in the
 * same place), its driver's type (raw) and any <backingStore> (an image has none); <os><loader>
 * gets @loader as its text (its attributes kept), or is added as a read-only ROM after <type>.
 */
gchar *
ac_localsev_domain_switch_disk (const gchar *xml,
                                const gchar *dev,
                                const gchar *path,
                                const gchar *loader,
                                GError **error)
{
	g_autoptr (AcDomainXmlDoc) doc = NULL;
	xmlNode *root, *devices, *disk, *source, *driver, *next, *os;

	g_return_val_if_fail (xml != NULL && dev != NULL && path != NULL, NULL);

	doc = ac_localsev_domain_read (xml, -1, error);
	if (doc == NULL)
		return NULL;
	root = xmlDocGetRootElement (doc);
	devices = ac_domain_xml_first_child (root, "devices");
	disk = devices != NULL ? find_disk (devices, dev) : NULL;
	if (disk == NULL) {
		g_set_error (error, AC_ERROR, AC_ERROR_NOT_FOUND, "the domain has no disk %s", dev);
		return NULL;
	}
	xmlSetProp (disk, (const xmlChar *)"type", (const xmlChar *)"file");
	source = xmlNewDocNode (doc, NULL, (const xmlChar *)"source", NULL);
	xmlSetProp (source, (const xmlChar *)"file", (const xmlChar *)path);
	driver = ac_domain_xml_first_child (disk, "driver");
	if (driver == NULL) {
		driver = xmlNewDocNode (doc, NULL, (const xmlChar *)"driver", NULL);
		xmlSetProp (driver, (const xmlChar *)"name", (const xmlChar *)"qemu");
		if (disk->children != NULL)
			xmlAddPrevSibling (disk->children, driver);
		else
			xmlAddChild (disk, driver);
	}
	xmlSetProp (driver, (const xmlChar *)"type", (const xmlChar *)"raw");
	{
		xmlNode *old = ac_domain_xml_first_child (disk, "source");
		if (old != NULL) {
			xmlReplaceNode (old, source);
			xmlFreeNode (old);
		} else {
			xmlAddNextSibling (driver, source);
		}
	}
	for (xmlNode *n = disk->children; n != NULL; n = next) {
		next = n->next;
		if (ac_domain_xml_is_elem (n, "backingStore")
		    || (ac_domain_xml_is_elem (n, "source") && n != source)) {
			xmlUnlinkNode (n);
			xmlFreeNode (n);
		}
	}

	os = ac_domain_xml_first_child (root, "os");
	if (loader != NULL && os != NULL) {
		xmlNode *l = ac_domain_xml_first_child (os, "loader");
		if (l == NULL) {
			xmlNode *type = ac_domain_xml_first_child (os, "type");
			l = xmlNewDocNode (doc, NULL, (const xmlChar *)"loader", NULL);
			xmlSetProp (l, (const xmlChar *)"readonly", (const xmlChar *)"yes");
			xmlSetProp (l, (const xmlChar *)"type", (const xmlChar *)"rom");
			if (type != NULL)
				xmlAddNextSibling (type, l);
			else
				xmlAddChild (os, l);
		}
		xmlNodeSetContent (l, NULL);
		xmlNodeAddContent (l, (const xmlChar *)loader);
	}

	return dump_root (doc);
}

/* a new element @name with the text @text (as it is: the tree escapes it when written) */
static xmlNode *
new_text_elem (xmlDoc *doc, const gchar *name, const gchar *text)
{
	xmlNode *n = xmlNewDocNode (doc, NULL, (const xmlChar *)name, NULL);
	if (text != NULL)
		xmlNodeAddContent (n, (const xmlChar *)text);
	return n;
}

/* @n placed after @anchor (or first in @parent), on its own line with @indent */
static void
insert_after (xmlNode *parent, xmlNode *anchor, xmlNode *n, const gchar *indent)
{
	xmlDoc *doc = parent->doc;
	if (anchor != NULL) {
		xmlAddNextSibling (anchor, n);
	} else if (parent->children != NULL) {
		xmlAddPrevSibling (parent->children, n);
	} else {
		xmlAddChild (parent, n);
	}
	xmlAddPrevSibling (n, xmlNewDocText (doc, (const xmlChar *)indent));
}

gchar *
ac_localsev_domain_set_snp_boot (const gchar *xml,
                                 const gchar *loader,
                                 const gchar *kernel,
                                 const gchar *initrd,
                                 const gchar *cmdline,
                                 const gchar *cpu_model,
                                 GError **error)
{
	g_autoptr (AcDomainXmlDoc) doc = NULL;
	const gchar *drop[]
	    = { "loader", "nvram", "firmware", "kernel", "initrd", "cmdline", "dtb" };
	xmlNode *root, *os, *next, *anchor, *l, *cpu, *model;

	g_return_val_if_fail (xml != NULL && loader != NULL && kernel != NULL && initrd != NULL
	                          && cmdline != NULL && cpu_model != NULL,
	                      NULL);
	doc = ac_localsev_domain_read (xml, -1, error);
	if (doc == NULL)
		return NULL;
	root = xmlDocGetRootElement (doc);
	os = ac_domain_xml_first_child (root, "os");
	if (os == NULL) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		                     "the domain has no <os>");
		return NULL;
	}
	xmlUnsetProp (os, (const xmlChar *)"firmware");
	for (xmlNode *n = os->children; n != NULL; n = next) {
		next = n->next;
		for (guint i = 0; i < G_N_ELEMENTS (drop); i++) {
			if (ac_domain_xml_is_elem (n, drop[i])) {
				remove_with_indent (n);
				break;
			}
		}
	}
	anchor = ac_domain_xml_first_child (os, "type");
	l = new_text_elem (doc, "loader", loader);
	xmlSetProp (l, (const xmlChar *)"readonly", (const xmlChar *)"yes");
	xmlSetProp (l, (const xmlChar *)"type", (const xmlChar *)"pflash");
	xmlSetProp (l, (const xmlChar *)"stateless", (const xmlChar *)"yes");
	insert_after (os, anchor, l, "\n    ");
	anchor = l;
	{
		const gchar *names[] = { "kernel", "initrd", "cmdline" };
		const gchar *texts[] = { kernel, initrd, cmdline };
		for (guint i = 0; i < G_N_ELEMENTS (names); i++) {
			xmlNode *n = new_text_elem (doc, names[i], texts[i]);
			insert_after (os, anchor, n, "\n    ");
			anchor = n;
		}
	}

	/* the vCPU model QEMU puts in the VMSAs: the one measured */
	for (xmlNode *n = root->children; n != NULL; n = next) {
		next = n->next;
		if (ac_domain_xml_is_elem (n, "cpu"))
			remove_with_indent (n);
	}
	cpu = xmlNewDocNode (doc, NULL, (const xmlChar *)"cpu", NULL);
	xmlSetProp (cpu, (const xmlChar *)"mode", (const xmlChar *)"custom");
	xmlSetProp (cpu, (const xmlChar *)"match", (const xmlChar *)"exact");
	model = new_text_elem (doc, "model", cpu_model);
	xmlSetProp (model, (const xmlChar *)"fallback", (const xmlChar *)"forbid");
	xmlAddChild (cpu, model);
	anchor = ac_domain_xml_first_child (root, "features");
	insert_after (root, anchor != NULL ? anchor : os, cpu, "\n  ");
	return dump_root (doc);
}
