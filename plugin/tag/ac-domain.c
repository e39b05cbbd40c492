/*
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "ac-domain.h"

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <string.h>

#include "ac-error.h"
#include "ac-domain-private.h"
#include "ac-tag-private.h"

void
ac_domain_xml_doc_free (AcDomainXmlDoc *doc)
{
	xmlFreeDoc (doc);
}

static void
ac_domain_disk_free (AcDomainDisk *disk)
{
	g_free (disk->dev);
	g_free (disk->device);
	g_free (disk->source);
	g_free (disk->source_file);
	g_free (disk->source_dev);
	g_free (disk->format);
	g_free (disk->type);
	g_free (disk->driver);
	g_free (disk->source_xml);
	g_free (disk->backing);
	g_free (disk);
}

void
ac_domain_free (AcDomain *self)
{
	if (self == NULL)
		return;
	g_free (self->name);
	g_free (self->uuid);
	g_free (self->type);
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
	g_free (self->ls_author_key);
	g_free (self->ls_vcek);
	g_free (self->ls_other);
	g_free (self->os_kernel);
	g_free (self->os_initrd);
	g_free (self->os_cmdline);
	g_free (self->os_dtb);
	g_free (self->cpu_mode);
	g_free (self->cpu_model);
	g_free (self->launch_record);
	g_free (self->launch_signer);
	g_free (self->launch_signature);
	ac_tag_free (self->tag);
	g_clear_error (&self->tag_error);
	g_free (self->tag_xml);
	g_free (self->qemu_element);
	g_free (self);
}

/* an element @name in no namespace */
gboolean
ac_domain_xml_is_elem (xmlNode *n, const gchar *name)
{
	return n->type == XML_ELEMENT_NODE && n->ns == NULL
	       && g_strcmp0 ((const gchar *)n->name, name) == 0;
}

/* <launch> in AC_LAUNCH_NS, whatever its prefix */
gboolean
ac_domain_xml_is_launch_record (xmlNode *n)
{
	return n->type == XML_ELEMENT_NODE && n->ns != NULL
	       && g_strcmp0 ((const gchar *)n->ns->href, AC_LAUNCH_NS) == 0
	       && g_strcmp0 ((const gchar *)n->name, "launch") == 0;
}

/* @parent's first child element @name in no namespace, or %NULL */
xmlNode *
ac_domain_xml_first_child (xmlNode *parent, const gchar *name)
{
	for (xmlNode *n = parent->children; n != NULL; n = n->next) {
		if (ac_domain_xml_is_elem (n, name))
			return n;
	}
	return NULL;
}

/* @n's text content without the white space around it (never %NULL) */
gchar *
ac_domain_xml_text (xmlNode *n)
{
	xmlChar *c = xmlNodeGetContent (n);
	gchar *s = g_strdup (c != NULL ? (const gchar *)c : "");
	xmlFree (c);
	return g_strstrip (s);
}

static gchar *
child_text (xmlNode *parent, const gchar *name)
{
	xmlNode *n = ac_domain_xml_first_child (parent, name);
	return n != NULL ? ac_domain_xml_text (n) : NULL;
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
	g_autoptr (GPtrArray) attrs = g_ptr_array_new ();
	g_autoptr (GString) text = g_string_new (NULL);
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
		g_autofree gchar *esc
		    = g_markup_escape_text (v != NULL ? (const gchar *)v : "", -1);
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
	xmlNode *driver = ac_domain_xml_first_child (disk, "driver");
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
			xmlNode *c = ac_domain_xml_first_child (os, children[i]);
			if (c != NULL)
				canonical_append (out, c, NULL);
		}
	}
	return g_string_free (out, FALSE);
}

/**
 * ac_domain_read_xml:
 *
 * Reads @xml (at most AC_DOMAIN_MAX_XML bytes: a larger one is refused, never truncated)
 * without network access or entity expansion.
 *
 * Returns: (transfer full): the document, whose root is <domain>, or %NULL with
 * %AC_ERROR_INVALID_INPUT.
 */
xmlDoc *
ac_domain_read_xml (const gchar *xml, gssize len, GError **error)
{
	xmlDoc *doc;
	xmlNode *root;
	gsize n = len < 0 ? strlen (xml) : (gsize)len;

	if (n > AC_DOMAIN_MAX_XML) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "domain XML has %" G_GSIZE_FORMAT " bytes, more than the %d accepted",
		             n, AC_DOMAIN_MAX_XML);
		return NULL;
	}
	doc = xmlReadMemory (xml, (int)n, "domain.xml", NULL, AC_DOMAIN_XML_OPTS);
	if (doc == NULL) {
		const xmlError *e = xmlGetLastError ();
		g_set_error (
		    error, AC_ERROR, AC_ERROR_INVALID_INPUT, "domain XML is not well-formed: %s",
		    e != NULL && e->message != NULL ? g_strstrip (e->message) : "parse error");
		return NULL;
	}
	root = xmlDocGetRootElement (doc);
	if (root == NULL || !ac_domain_xml_is_elem (root, "domain")) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		                     "domain XML: the root element is not <domain>");
		xmlFreeDoc (doc);
		return NULL;
	}
	return doc;
}

/* libvirt's units of <memory unit>: KiB when none is given */
static gboolean
parse_memory (xmlNode *root, guint64 *bytes, GError **error)
{
	static const struct {
		const gchar *unit;
		guint64 factor;
	} units[] = {
		{ "b", 1 },          { "bytes", 1 },        { "KB", 1000ull },
		{ "k", 1ull << 10 }, { "KiB", 1ull << 10 }, { "MB", 1000000ull },
		{ "M", 1ull << 20 }, { "MiB", 1ull << 20 }, { "GB", 1000000000ull },
		{ "G", 1ull << 30 }, { "GiB", 1ull << 30 }, { "TB", 1000000000000ull },
		{ "T", 1ull << 40 }, { "TiB", 1ull << 40 },
	};
	xmlNode *memory = ac_domain_xml_first_child (root, "memory");
	g_autofree gchar *text = NULL;
	g_autofree gchar *unit = NULL;
	guint64 value = 0;

	*bytes = 0;
	if (memory == NULL)
		return TRUE;
	text = ac_domain_xml_text (memory);
	unit = prop (memory, "unit");
	if (!g_ascii_string_to_unsigned (text, 10, 0, G_MAXUINT64, &value, NULL)) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "domain XML: <memory> is '%s', expected a whole number", text);
		return FALSE;
	}
	for (guint i = 0; i < G_N_ELEMENTS (units); i++) {
		if (g_strcmp0 (unit != NULL ? unit : "KiB", units[i].unit) != 0)
			continue;
		if (value != 0 && units[i].factor > G_MAXUINT64 / value)
			break;
		*bytes = value * units[i].factor;
		return TRUE;
	}
	g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
	             "domain XML: <memory unit='%s'>%s</memory> is not a size; expected a unit of "
	             "b, KB, KiB, MB, MiB, GB, GiB, TB, TiB and at most 16 EiB",
	             unit != NULL ? unit : "KiB", text);
	return FALSE;
}

static gboolean
parse_vcpus (xmlNode *root, guint *vcpus, GError **error)
{
	g_autofree gchar *vcpu = child_text (root, "vcpu");
	guint64 v = 0;

	*vcpus = 0;
	if (vcpu == NULL)
		return TRUE;
	if (!g_ascii_string_to_unsigned (vcpu, 10, 1, 4096, &v, NULL)) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "domain XML: <vcpu> is '%s', expected a number from 1 to 4096", vcpu);
		return FALSE;
	}
	*vcpus = (guint)v;
	return TRUE;
}

static AcDomainDisk *
parse_disk (xmlNode *n)
{
	AcDomainDisk *disk = g_new0 (AcDomainDisk, 1);
	xmlNode *target = ac_domain_xml_first_child (n, "target");
	xmlNode *source = ac_domain_xml_first_child (n, "source");
	xmlNode *driver = ac_domain_xml_first_child (n, "driver");
	xmlNode *backing = ac_domain_xml_first_child (n, "backingStore");

	disk->device = prop (n, "device");
	if (disk->device == NULL)
		disk->device = g_strdup ("disk");
	disk->dev = target != NULL ? prop (target, "dev") : NULL;
	disk->type = prop (n, "type");
	disk->format = driver != NULL ? prop (driver, "type") : NULL;
	disk->driver = canonical_driver (n);
	if (source != NULL) {
		/* 'index' numbers the chain in libvirt's live XML and is no input */
		const gchar *const skip[] = { "index", NULL };
		const gchar *attrs[] = { "file", "dev", "volume", "name" };
		for (guint i = 0; i < G_N_ELEMENTS (attrs) && disk->source == NULL; i++)
			disk->source = prop (source, attrs[i]);
		disk->source_file = prop (source, "file");
		disk->source_dev = prop (source, "dev");
		disk->source_xml = canonical (source, skip);
	}
	/* <backingStore/> says "none"; one with anything in it is a chain */
	if (backing != NULL) {
		disk->backing = canonical (backing, NULL);
		if (g_strcmp0 (disk->backing, "<backingStore/>") == 0)
			g_clear_pointer (&disk->backing, g_free);
	}
	return disk;
}

/* libvirt takes one of each; a second one is an attempt to confuse a reader */
static gboolean
check_once (xmlNode *root, xmlNode *os, GError **error)
{
	const gchar *once[] = { "name", "uuid",   "os",       "devices", "launchSecurity",
		                "vcpu", "memory", "metadata", "cpu" };
	const gchar *once_os[] = { "loader", "kernel", "initrd", "cmdline", "dtb" };
	guint count;

	for (guint i = 0; i < G_N_ELEMENTS (once); i++) {
		count = 0;
		for (xmlNode *n = root->children; n != NULL; n = n->next)
			count += ac_domain_xml_is_elem (n, once[i]) ? 1 : 0;
		if (count > 1) {
			g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			             "domain XML has %u <%s> elements, expected at most one", count,
			             once[i]);
			return FALSE;
		}
	}
	for (guint i = 0; i < G_N_ELEMENTS (once_os); i++) {
		count = 0;
		for (xmlNode *n = os != NULL ? os->children : NULL; n != NULL; n = n->next)
			count += ac_domain_xml_is_elem (n, once_os[i]) ? 1 : 0;
		if (count > 1) {
			g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			             "domain XML has %u <os><%s> elements, expected at most one",
			             count, once_os[i]);
			return FALSE;
		}
	}
	return TRUE;
}

static gboolean
parse_launch_record (AcDomain *self, xmlNode *root, GError **error)
{
	xmlNode *metadata = ac_domain_xml_first_child (root, "metadata");

	for (xmlNode *n = metadata != NULL ? metadata->children : NULL; n != NULL; n = n->next) {
		if (!ac_domain_xml_is_launch_record (n))
			continue;
		if (self->has_launch_record) {
			g_set_error_literal (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			                     "domain XML has more than one <launch> record in "
			                     "<metadata>, expected at most one");
			return FALSE;
		}
		self->has_launch_record = TRUE;
		self->launch_record = strip_space (ac_domain_xml_text (n));
		self->launch_signer = prop (n, "signer");
		self->launch_signature = prop (n, "signature");
	}
	return TRUE;
}

static void
parse_launch_security (AcDomain *self, xmlNode *root)
{
	xmlNode *ls = ac_domain_xml_first_child (root, "launchSecurity");

	if (ls == NULL)
		return;
	self->has_launch_security = TRUE;
	self->ls_type = prop (ls, "type");
	self->ls_kernel_hashes = prop (ls, "kernelHashes");
	self->ls_policy = child_text (ls, "policy");
	self->ls_cbitpos = child_text (ls, "cbitpos");
	self->ls_reduced_phys_bits = child_text (ls, "reducedPhysBits");
	self->ls_dh_cert = strip_space (child_text (ls, "dhCert"));
	self->ls_session = strip_space (child_text (ls, "session"));
	self->ls_author_key = prop (ls, "authorKey");
	self->ls_vcek = prop (ls, "vcek");
	for (xmlNode *c = ls->children; c != NULL && self->ls_other == NULL; c = c->next) {
		const gchar *known[]
		    = { "cbitpos", "reducedPhysBits", "policy", "dhCert", "session", NULL };
		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (c->ns != NULL || !g_strv_contains (known, (const gchar *)c->name))
			self->ls_other = g_strdup ((const gchar *)c->name);
	}
}

/* the text of @parent's child @name as written (not trimmed), or NULL */
static gchar *
child_text_raw (xmlNode *parent, const gchar *name)
{
	xmlNode *n = ac_domain_xml_first_child (parent, name);
	xmlChar *c;
	gchar *s;

	if (n == NULL)
		return NULL;
	c = xmlNodeGetContent (n);
	s = g_strdup (c != NULL ? (const gchar *)c : "");
	xmlFree (c);
	return s;
}

/* libvirt passes the elements of its QEMU namespace to QEMU as they are (arguments appended
 * after its own, properties overridden): the first one found, outside <metadata> */
static gchar *
find_qemu_element (xmlNode *node)
{
	for (xmlNode *n = node->children; n != NULL; n = n->next) {
		gchar *found;
		if (n->type != XML_ELEMENT_NODE)
			continue;
		if (n->ns != NULL
		    && g_strcmp0 ((const gchar *)n->ns->href, AC_LIBVIRT_QEMU_NS) == 0)
			return g_strdup_printf (
			    "%s%s%s", n->ns->prefix != NULL ? (const gchar *)n->ns->prefix : "",
			    n->ns->prefix != NULL ? ":" : "", (const gchar *)n->name);
		if (n->ns == NULL && g_strcmp0 ((const gchar *)n->name, "metadata") == 0
		    && node->parent != NULL && node->parent->type == XML_DOCUMENT_NODE)
			continue;
		found = find_qemu_element (n);
		if (found != NULL)
			return found;
	}
	return NULL;
}

/* the first element of the tag's namespace in <metadata>, as written */
static gchar *
dump_tag_element (xmlDoc *doc, xmlNode *root)
{
	xmlNode *metadata = ac_domain_xml_first_child (root, "metadata");

	for (xmlNode *m = metadata != NULL ? metadata->children : NULL; m != NULL; m = m->next) {
		if (m->type == XML_ELEMENT_NODE && m->ns != NULL
		    && g_strcmp0 ((const gchar *)m->ns->href, AC_TAG_NS) == 0) {
			xmlBuffer *buf = xmlBufferCreate ();
			gchar *text;
			xmlNodeDump (buf, doc, m, 0, 0);
			text = g_strdup ((const gchar *)xmlBufferContent (buf));
			xmlBufferFree (buf);
			return text;
		}
	}
	return NULL;
}

/**
 * ac_domain_new_from_root:
 * @root: the <domain> element of a document read with a bounded reader
 *
 * The model of a domain already read (ac_domain_parse() reads it; ac_tag_parse() with its own
 * reader): see ac_domain_parse().
 */
AcDomain *
ac_domain_new_from_root (xmlNode *root, GError **error)
{
	g_autoptr (AcDomain) self = NULL;
	g_autoptr (AcTagDomain) info = NULL;
	xmlNode *os = ac_domain_xml_first_child (root, "os");
	xmlNode *devices;

	if (!check_once (root, os, error))
		return NULL;
	self = g_new0 (AcDomain, 1);
	self->disks = g_ptr_array_new_with_free_func ((GDestroyNotify)ac_domain_disk_free);
	self->name = child_text (root, "name");
	self->uuid = child_text (root, "uuid");
	if (self->uuid != NULL) {
		gchar *lower = g_ascii_strdown (self->uuid, -1);
		g_free (self->uuid);
		self->uuid = lower;
	}
	self->type = prop (root, "type");
	if (!parse_vcpus (root, &self->vcpus, error) || !parse_memory (root, &self->memory, error))
		return NULL;
	self->firmware = canonical_firmware (os);
	if (os != NULL) {
		self->loader = child_text (os, "loader");
		self->has_kernel = ac_domain_xml_first_child (os, "kernel") != NULL;
		self->os_kernel = child_text_raw (os, "kernel");
		self->os_initrd = child_text_raw (os, "initrd");
		self->os_cmdline = child_text_raw (os, "cmdline");
		self->os_dtb = child_text_raw (os, "dtb");
	}
	{
		xmlNode *cpu = ac_domain_xml_first_child (root, "cpu");
		if (cpu != NULL) {
			self->has_cpu = TRUE;
			self->cpu_mode = prop (cpu, "mode");
			self->cpu_model = child_text (cpu, "model");
		}
	}
	devices = ac_domain_xml_first_child (root, "devices");
	for (xmlNode *n = devices != NULL ? devices->children : NULL; n != NULL; n = n->next) {
		if (ac_domain_xml_is_elem (n, "disk"))
			g_ptr_array_add (self->disks, parse_disk (n));
	}
	if (!parse_launch_record (self, root, error))
		return NULL;
	parse_launch_security (self, root);
	self->qemu_element = find_qemu_element (root);
	info = ac_domain_get_tag_info (self);
	self->tag = ac_tag_parse_in_domain (root, info, &self->tag_error);
	self->tag_xml = dump_tag_element (root->doc, root);
	return g_steal_pointer (&self);
}

/**
 * ac_domain_parse:
 * @xml: a whole domain XML, as libvirt gives it or as a hook reads it
 * @len: length of @xml, or -1 if NUL-terminated
 *
 * Reads @xml once (ac_domain_read_xml()) into the model. A missing or invalid tag is no
 * error here: it is in the model's tag_error, for the users that act on it.
 *
 * Returns: the model, or %NULL with %AC_ERROR_INVALID_INPUT when @xml is too large, not
 * well-formed, not a <domain>, repeats an element libvirt takes once, or has a <vcpu> or a
 * <memory> that is not a number of its kind.
 */
AcDomain *
ac_domain_parse (const gchar *xml, gssize len, GError **error)
{
	g_autoptr (AcDomainXmlDoc) doc = NULL;

	g_return_val_if_fail (xml != NULL, NULL);
	doc = ac_domain_read_xml (xml, len, error);
	if (doc == NULL)
		return NULL;
	return ac_domain_new_from_root (xmlDocGetRootElement (doc), error);
}

/**
 * ac_domain_is_tagged:
 *
 * Whether the domain carries an <aleph:confidential> element, valid (tag set) or not
 * (tag_error says why).
 */
gboolean
ac_domain_is_tagged (const AcDomain *self)
{
	return self->tag != NULL
	       || !g_error_matches (self->tag_error, AC_ERROR, AC_ERROR_NOT_FOUND);
}

/* a disk that can be the tagged disk: a <disk device='disk'> (or without device) with a
 * <target dev> */
static gboolean
is_candidate (const AcDomainDisk *disk)
{
	return g_strcmp0 (disk->device, "disk") == 0 && disk->dev != NULL;
}

/**
 * ac_domain_find_disk:
 * @dev: (nullable): a target dev; %NULL for the first disk
 *
 * The rule of docs/tag.md#the-tagged-disk: only a <disk device='disk'> (or without device)
 * with a <target dev> counts — never a CD-ROM, floppy or LUN; @dev names one by its target
 * dev, %NULL takes the first in document order.
 *
 * Returns: (transfer none): the disk, or %NULL when there is none.
 */
AcDomainDisk *
ac_domain_find_disk (const AcDomain *self, const gchar *dev)
{
	for (guint i = 0; i < self->disks->len; i++) {
		AcDomainDisk *disk = g_ptr_array_index (self->disks, i);
		if (is_candidate (disk) && (dev == NULL || g_strcmp0 (disk->dev, dev) == 0))
			return disk;
	}
	return NULL;
}

/**
 * ac_domain_get_tagged_disk:
 *
 * The disk the tag is about: the one its <aleph:disk dev> names, or the first disk
 * (ac_domain_find_disk()). Without a valid tag, the first disk.
 *
 * Returns: (transfer none): the disk, or %NULL when there is none.
 */
AcDomainDisk *
ac_domain_get_tagged_disk (const AcDomain *self)
{
	return ac_domain_find_disk (self, self->tag != NULL ? self->tag->disk_dev : NULL);
}

/**
 * ac_domain_get_tag_info:
 *
 * The facts a tag is validated against (ac_tag_validate()), from the model: its name, UUID,
 * type, the target devs of the disks that can be the tagged disk, <launchSecurity>, the first
 * element of libvirt's QEMU namespace.
 */
AcTagDomain *
ac_domain_get_tag_info (const AcDomain *self)
{
	AcTagDomain *info = g_new0 (AcTagDomain, 1);

	info->name = g_strdup (self->name);
	info->uuid = g_strdup (self->uuid);
	info->type = g_strdup (self->type);
	info->disks = g_ptr_array_new_with_free_func (g_free);
	for (guint i = 0; i < self->disks->len; i++) {
		AcDomainDisk *disk = g_ptr_array_index (self->disks, i);
		if (is_candidate (disk))
			g_ptr_array_add (info->disks, g_strdup (disk->dev));
	}
	info->has_launch_security = self->has_launch_security;
	info->launch_security_type = g_strdup (self->ls_type);
	info->launch_security_policy = g_strdup (self->ls_policy);
	info->qemu_element = g_strdup (self->qemu_element);
	return info;
}

/**
 * ac_domain_get_tag_fingerprint:
 *
 * What identifies the domain's tag as the service sees it: the SHA-256 (16 hex digits) of its
 * canonical form (ac_tag_format()), or of the element as written when it does not parse. The
 * status records the fingerprint of the tag it is about, so a status left from an earlier
 * tag is told from a current one.
 *
 * Returns: the fingerprint, %NULL when the domain has no tag element.
 */
gchar *
ac_domain_get_tag_fingerprint (const AcDomain *self)
{
	g_autofree gchar *text = NULL;
	g_autofree gchar *sum = NULL;

	if (self->tag != NULL)
		text = ac_tag_format (self->tag);
	else if (self->tag_xml != NULL)
		text = g_strdup (self->tag_xml);
	else
		return NULL;
	sum = g_compute_checksum_for_string (G_CHECKSUM_SHA256, text, -1);
	return g_strndup (sum, 16);
}
