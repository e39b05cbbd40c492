/*
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "ac-localsev-domain.h"

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <string.h>

#include "ac-error.h"

#define XML_OPTS (XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_NOCDATA)

typedef xmlDoc AcXmlDoc;
static void
ac_xml_doc_free (AcXmlDoc *doc)
{
	xmlFreeDoc (doc);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AcXmlDoc, ac_xml_doc_free)

static void
ac_localsev_disk_free (AcLocalsevDisk *disk)
{
	g_free (disk->dev);
	g_free (disk->source);
	g_free (disk->type);
	g_free (disk->driver);
	g_free (disk->source_xml);
	g_free (disk->backing);
	g_free (disk);
}

void
ac_localsev_domain_free (AcLocalsevDomain *self)
{
	if (self == NULL)
		return;
	g_free (self->name);
	g_free (self->uuid);
	g_free (self->loader);
	g_free (self->firmware);
	if (self->disks != NULL)
		g_ptr_array_unref (self->disks);
	g_free (self->ls_type);
	g_free (self->ls_kernel_hashes);
	g_free (self->ls_policy);
	g_free (self->ls_cbitpos);
	g_free (self->ls_reduced_phys_bits);
	g_free (self->ls_dh_cert);
	g_free (self->ls_session);
	g_free (self->launch_record);
	g_free (self->launch_signer);
	g_free (self->launch_signature);
	g_free (self);
}

static gboolean
is_elem (xmlNode *n, const gchar *name)
{
	return n->type == XML_ELEMENT_NODE && n->ns == NULL &&
	       g_strcmp0 ((const gchar *)n->name, name) == 0;
}

/* <launch> in AC_LAUNCH_NS, whatever its prefix */
static gboolean
is_launch_record (xmlNode *n)
{
	return n->type == XML_ELEMENT_NODE && n->ns != NULL &&
	       g_strcmp0 ((const gchar *)n->ns->href, AC_LAUNCH_NS) == 0 &&
	       g_strcmp0 ((const gchar *)n->name, "launch") == 0;
}

static xmlNode *
first_child (xmlNode *parent, const gchar *name)
{
	for (xmlNode *n = parent->children; n != NULL; n = n->next) {
		if (is_elem (n, name))
			return n;
	}
	return NULL;
}

static gchar *
node_text (xmlNode *n)
{
	xmlChar *c = xmlNodeGetContent (n);
	gchar *s = g_strdup (c != NULL ? (const gchar *)c : "");
	xmlFree (c);
	return g_strstrip (s);
}

static gchar *
child_text (xmlNode *parent, const gchar *name)
{
	xmlNode *n = first_child (parent, name);
	return n != NULL ? node_text (n) : NULL;
}

static gchar *
prop (xmlNode *n, const gchar *name)
{
	xmlChar *c = xmlGetNoNsProp (n, (const xmlChar *)name);
	gchar *s = c != NULL ? g_strdup ((const gchar *)c) : NULL;
	xmlFree (c);
	return s;
}

/* base64 text as libvirt stores it: whitespace between lines is not part of the value */
static gchar *
strip_space (gchar *s)
{
	gchar *w = s;
	if (s == NULL)
		return NULL;
	for (gchar *r = s; *r != '\0'; r++) {
		if (!g_ascii_isspace (*r))
			*w++ = *r;
	}
	*w = '\0';
	return s;
}

static gint
attr_cmp (gconstpointer a, gconstpointer b)
{
	xmlAttr *x = *(xmlAttr *const *)a;
	xmlAttr *y = *(xmlAttr *const *)b;
	return g_strcmp0 ((const gchar *)x->name, (const gchar *)y->name);
}

/*
 * @n as canonical text: <name a="…" b="…">text<child…/></name> with the attributes sorted
 * by name (but those named in @skip), the text trimmed, comments and whitespace dropped and
 * every value escaped. Two definitions that libvirt reads the same way give the same text
 * unless they differ in something libvirt would act on.
 */
static void
canonical_append (GString *out, xmlNode *n, const gchar *const *skip)
{
	g_autoptr(GPtrArray) attrs = g_ptr_array_new ();
	g_autoptr(GString) text = g_string_new (NULL);
	gboolean has_children = FALSE;

	for (xmlAttr *a = n->properties; a != NULL; a = a->next) {
		if (skip == NULL || !g_strv_contains (skip, (const gchar *)a->name))
			g_ptr_array_add (attrs, a);
	}
	g_ptr_array_sort (attrs, attr_cmp);
	g_string_append_printf (out, "<%s", (const gchar *)n->name);
	for (guint i = 0; i < attrs->len; i++) {
		xmlAttr *a = g_ptr_array_index (attrs, i);
		xmlChar *v = xmlNodeGetContent ((xmlNode *)a);
		g_autofree gchar *esc = g_markup_escape_text (v != NULL ? (const gchar *)v : "", -1);
		g_string_append_printf (out, " %s=\"%s\"", (const gchar *)a->name, esc);
		xmlFree (v);
	}
	for (xmlNode *c = n->children; c != NULL; c = c->next) {
		if (c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE)
			g_string_append (text, (const gchar *)c->content);
		else if (c->type == XML_ELEMENT_NODE)
			has_children = TRUE;
	}
	g_strstrip (text->str);
	if (text->str[0] == '\0' && !has_children) {
		g_string_append (out, "/>");
		return;
	}
	g_string_append_c (out, '>');
	{
		g_autofree gchar *esc = g_markup_escape_text (text->str, -1);
		g_string_append (out, esc);
	}
	for (xmlNode *c = n->children; c != NULL; c = c->next) {
		if (c->type == XML_ELEMENT_NODE)
			canonical_append (out, c, NULL);
	}
	g_string_append_printf (out, "</%s>", (const gchar *)n->name);
}

static gchar *
canonical (xmlNode *n, const gchar *const *skip)
{
	GString *out = g_string_new (NULL);
	if (n != NULL)
		canonical_append (out, n, skip);
	return g_string_free (out, FALSE);
}

/* the disk's <driver> as far as it decides how the bytes are read: its name and format */
static gchar *
canonical_driver (xmlNode *disk)
{
	xmlNode *driver = first_child (disk, "driver");
	g_autofree gchar *name = driver != NULL ? prop (driver, "name") : NULL;
	g_autofree gchar *type = driver != NULL ? prop (driver, "type") : NULL;
	g_autofree gchar *n = g_markup_escape_text (name != NULL ? name : "", -1);
	g_autofree gchar *t = g_markup_escape_text (type != NULL ? type : "", -1);
	return g_strdup_printf ("<driver name=\"%s\" type=\"%s\"/>", n, t);
}

/* <os firmware>, <loader>, <nvram> and <os><firmware>, in that order */
static gchar *
canonical_firmware (xmlNode *os)
{
	GString *out = g_string_new (NULL);
	if (os != NULL) {
		g_autofree gchar *auto_fw = prop (os, "firmware");
		const gchar *children[] = { "loader", "nvram", "firmware" };
		if (auto_fw != NULL) {
			g_autofree gchar *esc = g_markup_escape_text (auto_fw, -1);
			g_string_append_printf (out, "<os firmware=\"%s\"/>", esc);
		}
		for (guint i = 0; i < G_N_ELEMENTS (children); i++) {
			xmlNode *c = first_child (os, children[i]);
			if (c != NULL)
				canonical_append (out, c, NULL);
		}
	}
	return g_string_free (out, FALSE);
}

static xmlDoc *
ac_localsev_domain_read (const gchar *xml, gssize len, GError **error)
{
	xmlDoc *doc;
	xmlNode *root;
	gsize n = len < 0 ? strlen (xml) : (gsize)len;

	if (n > AC_LOCALSEV_DOMAIN_MAX_XML) {
		g_set_error (error,
			     AC_ERROR,
			     AC_ERROR_INVALID_INPUT,
			     "domain XML has %" G_GSIZE_FORMAT " bytes, more than the %d accepted",
			     n,
			     AC_LOCALSEV_DOMAIN_MAX_XML);
		return NULL;
	}
	doc = xmlReadMemory (xml, (int)n, "domain.xml", NULL, XML_OPTS);
	if (doc == NULL) {
		const xmlError *e = xmlGetLastError ();
		g_set_error (error,
			     AC_ERROR,
			     AC_ERROR_INVALID_INPUT,
			     "domain XML is not well-formed: %s",
			     e != NULL && e->message != NULL ? g_strstrip (e->message) : "parse error");
		return NULL;
	}
	root = xmlDocGetRootElement (doc);
	if (root == NULL || !is_elem (root, "domain")) {
		g_set_error_literal (error,
				     AC_ERROR,
				     AC_ERROR_INVALID_INPUT,
				     "domain XML: the root element is not <domain>");
		xmlFreeDoc (doc);
		return NULL;
	}
	return doc;
}

/**
 * ac_localsev_domain_parse:
 *
 * Returns: the fields of @xml the flow needs, or %NULL with %AC_ERROR_INVALID_INPUT.
 */
AcLocalsevDomain *
ac_localsev_domain_parse (const gchar *xml, gssize len, GError **error)
{
	g_autoptr(AcXmlDoc) doc = NULL;
	g_autoptr(AcLocalsevDomain) self = NULL;
	g_autofree gchar *vcpu = NULL;
	xmlNode *root, *os, *devices, *ls, *metadata;

	g_return_val_if_fail (xml != NULL, NULL);
	doc = ac_localsev_domain_read (xml, len, error);
	if (doc == NULL)
		return NULL;
	root = xmlDocGetRootElement (doc);
	self = g_new0 (AcLocalsevDomain, 1);
	self->disks = g_ptr_array_new_with_free_func ((GDestroyNotify)ac_localsev_disk_free);
	self->name = child_text (root, "name");
	self->uuid = child_text (root, "uuid");
	if (self->uuid != NULL) {
		gchar *lower = g_ascii_strdown (self->uuid, -1);
		g_free (self->uuid);
		self->uuid = lower;
	}
	vcpu = child_text (root, "vcpu");
	if (vcpu != NULL) {
		guint64 v = 0;
		if (!g_ascii_string_to_unsigned (vcpu, 10, 1, 4096, &v, NULL)) {
			g_set_error (error,
				     AC_ERROR,
				     AC_ERROR_INVALID_INPUT,
				     "domain XML: <vcpu> is '%s', expected a number from 1 to 4096",
				     vcpu);
			return NULL;
		}
		self->vcpus = (guint)v;
	}
	os = first_child (root, "os");
	self->firmware = canonical_firmware (os);
	if (os != NULL) {
		self->loader = child_text (os, "loader");
		self->has_kernel = first_child (os, "kernel") != NULL;
	}
	devices = first_child (root, "devices");
	for (xmlNode *n = devices != NULL ? devices->children : NULL; n != NULL; n = n->next) {
		g_autofree gchar *device = NULL;
		xmlNode *target, *source;
		AcLocalsevDisk *disk;

		if (!is_elem (n, "disk"))
			continue;
		device = prop (n, "device");
		if (device != NULL && g_strcmp0 (device, "disk") != 0)
			continue;
		target = first_child (n, "target");
		if (target == NULL)
			continue;
		disk = g_new0 (AcLocalsevDisk, 1);
		disk->dev = prop (target, "dev");
		disk->type = prop (n, "type");
		disk->driver = canonical_driver (n);
		source = first_child (n, "source");
		if (source != NULL) {
			/* 'index' numbers the chain in libvirt's live XML and is no input */
			const gchar *const skip[] = { "index", NULL };
			const gchar *attrs[] = { "file", "dev", "volume", "name" };
			for (guint i = 0; i < G_N_ELEMENTS (attrs) && disk->source == NULL; i++)
				disk->source = prop (source, attrs[i]);
			disk->source_xml = canonical (source, skip);
		}
		{
			/* <backingStore/> says "none"; one with anything in it is a chain */
			xmlNode *backing = first_child (n, "backingStore");
			if (backing != NULL) {
				disk->backing = canonical (backing, NULL);
				if (g_strcmp0 (disk->backing, "<backingStore/>") == 0)
					g_clear_pointer (&disk->backing, g_free);
			}
		}
		g_ptr_array_add (self->disks, disk);
	}
	/* libvirt takes one of each; a second one is an attempt to confuse a reader */
	{
		const gchar *once[] = { "name", "uuid", "os", "devices", "launchSecurity", "vcpu",
					"metadata" };
		for (guint i = 0; i < G_N_ELEMENTS (once); i++) {
			guint count = 0;
			for (xmlNode *n = root->children; n != NULL; n = n->next)
				count += is_elem (n, once[i]) ? 1 : 0;
			if (count > 1) {
				g_set_error (error,
					     AC_ERROR,
					     AC_ERROR_INVALID_INPUT,
					     "domain XML has %u <%s> elements, expected at most one",
					     count,
					     once[i]);
				return NULL;
			}
		}
		if (os != NULL) {
			guint count = 0;
			for (xmlNode *n = os->children; n != NULL; n = n->next)
				count += is_elem (n, "loader") ? 1 : 0;
			if (count > 1) {
				g_set_error (error,
					     AC_ERROR,
					     AC_ERROR_INVALID_INPUT,
					     "domain XML has %u <os><loader> elements, expected at most one",
					     count);
				return NULL;
			}
		}
	}
	metadata = first_child (root, "metadata");
	for (xmlNode *n = metadata != NULL ? metadata->children : NULL; n != NULL; n = n->next) {
		if (!is_launch_record (n))
			continue;
		if (self->has_launch_record) {
			g_set_error_literal (error,
					     AC_ERROR,
					     AC_ERROR_INVALID_INPUT,
					     "domain XML has more than one <launch> record in "
					     "<metadata>, expected at most one");
			return NULL;
		}
		self->has_launch_record = TRUE;
		self->launch_record = strip_space (node_text (n));
		self->launch_signer = prop (n, "signer");
		self->launch_signature = prop (n, "signature");
	}
	ls = first_child (root, "launchSecurity");
	if (ls != NULL) {
		self->has_launch_security = TRUE;
		self->ls_type = prop (ls, "type");
		self->ls_kernel_hashes = prop (ls, "kernelHashes");
		self->ls_policy = child_text (ls, "policy");
		self->ls_cbitpos = child_text (ls, "cbitpos");
		self->ls_reduced_phys_bits = child_text (ls, "reducedPhysBits");
		self->ls_dh_cert = strip_space (child_text (ls, "dhCert"));
		self->ls_session = strip_space (child_text (ls, "session"));
	}
	return g_steal_pointer (&self);
}

AcLocalsevDisk *
ac_localsev_domain_find_disk (AcLocalsevDomain *self, const gchar *dev)
{
	for (guint i = 0; i < self->disks->len; i++) {
		AcLocalsevDisk *disk = g_ptr_array_index (self->disks, i);
		if (dev == NULL || g_strcmp0 (disk->dev, dev) == 0)
			return disk;
	}
	return NULL;
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
		if (!match (n))
			continue;
		if (n->prev != NULL && n->prev->type == XML_TEXT_NODE && xmlIsBlankNode (n->prev)) {
			xmlNode *ws = n->prev;
			xmlUnlinkNode (ws);
			xmlFreeNode (ws);
		}
		xmlUnlinkNode (n);
		xmlFreeNode (n);
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
	return is_elem (n, "launchSecurity");
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
	g_autoptr(AcXmlDoc) doc = ac_localsev_domain_read (xml, -1, error);
	g_autoptr(AcXmlDoc) frag = NULL;

	if (doc == NULL)
		return NULL;
	frag = xmlReadMemory (launch_security,
			      (int)strlen (launch_security),
			      "launchSecurity.xml",
			      NULL,
			      XML_OPTS);
	if (frag == NULL || xmlDocGetRootElement (frag) == NULL ||
	    !is_launch_security (xmlDocGetRootElement (frag))) {
		g_set_error_literal (error,
				     AC_ERROR,
				     AC_ERROR_INTERNAL,
				     "malformed <launchSecurity> element");
		return NULL;
	}
	if (!replace_children (doc,
			       xmlDocGetRootElement (doc),
			       is_launch_security,
			       xmlDocGetRootElement (frag),
			       "\n  ",
			       error))
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
	g_autoptr(AcXmlDoc) doc = ac_localsev_domain_read (xml, -1, error);
	g_autoptr(AcXmlDoc) frag = NULL;
	xmlNode *root, *metadata;

	if (doc == NULL)
		return NULL;
	frag = xmlReadMemory (launch, (int)strlen (launch), "launch.xml", NULL, XML_OPTS);
	if (frag == NULL || xmlDocGetRootElement (frag) == NULL ||
	    !is_launch_record (xmlDocGetRootElement (frag))) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_INTERNAL, "malformed <launch> record");
		return NULL;
	}
	root = xmlDocGetRootElement (doc);
	metadata = first_child (root, "metadata");
	if (metadata == NULL) {
		metadata = xmlNewDocNode (doc, NULL, (const xmlChar *)"metadata", NULL);
		xmlAddChild (metadata, xmlNewDocText (doc, (const xmlChar *)"\n  "));
		if (root->children != NULL)
			xmlAddPrevSibling (root->children, metadata);
		else
			xmlAddChild (root, metadata);
	}
	if (!replace_children (doc, metadata, is_launch_record, xmlDocGetRootElement (frag), "\n    ", error))
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
		if (!is_elem (n, "disk"))
			continue;
		device = xmlGetNoNsProp (n, (const xmlChar *)"device");
		match = device == NULL || g_strcmp0 ((const gchar *)device, "disk") == 0;
		xmlFree (device);
		target = first_child (n, "target");
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
	g_autoptr(AcXmlDoc) doc = NULL;
	xmlNode *root, *devices, *disk, *source, *driver, *next, *os;

	g_return_val_if_fail (xml != NULL && dev != NULL && path != NULL, NULL);

	doc = ac_localsev_domain_read (xml, -1, error);
	if (doc == NULL)
		return NULL;
	root = xmlDocGetRootElement (doc);
	devices = first_child (root, "devices");
	disk = devices != NULL ? find_disk (devices, dev) : NULL;
	if (disk == NULL) {
		g_set_error (error, AC_ERROR, AC_ERROR_NOT_FOUND, "the domain has no disk %s", dev);
		return NULL;
	}
	xmlSetProp (disk, (const xmlChar *)"type", (const xmlChar *)"file");
	source = xmlNewDocNode (doc, NULL, (const xmlChar *)"source", NULL);
	xmlSetProp (source, (const xmlChar *)"file", (const xmlChar *)path);
	driver = first_child (disk, "driver");
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
		xmlNode *old = first_child (disk, "source");
		if (old != NULL) {
			xmlReplaceNode (old, source);
			xmlFreeNode (old);
		} else {
			xmlAddNextSibling (driver, source);
		}
	}
	for (xmlNode *n = disk->children; n != NULL; n = next) {
		next = n->next;
		if (is_elem (n, "backingStore") || (is_elem (n, "source") && n != source)) {
			xmlUnlinkNode (n);
			xmlFreeNode (n);
		}
	}

	os = first_child (root, "os");
	if (loader != NULL && os != NULL) {
		xmlNode *l = first_child (os, "loader");
		if (l == NULL) {
			xmlNode *type = first_child (os, "type");
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
