/*
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Reading <aleph:confidential>: the element comes from domain XML that any user with write
 * access to a domain controls, and reaches the hook before every start: it is read strictly
 * (unknown elements or attributes are errors, never ignored). Each child element has its
 * reader; <aleph:publish>'s is in ac-tag-publish.c.
 */
#include "config.h"

#include "ac-tag.h"
#include "ac-tag-private.h"
#include "ac-domain.h"

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <string.h>

#include "ac-codec.h"
#include "ac-error.h"
#include "ac-sev-policy.h"
#include "ac-snp-policy.h"

gchar *
ac_tag_xml_prop (xmlNode *node, const gchar *name)
{
	xmlChar *v = xmlGetNoNsProp (node, (const xmlChar *)name);
	gchar *r = v != NULL ? g_strdup ((const gchar *)v) : NULL;
	xmlFree (v);
	return r;
}

static gboolean
xml_node_in_ns (xmlNode *node, const gchar *uri)
{
	return node->ns != NULL && node->ns->href != NULL &&
	       g_strcmp0 ((const gchar *)node->ns->href, uri) == 0;
}

void
ac_tag_attr_error (GError **error,
		const gchar *elem,
		const gchar *attr,
		const gchar *value,
		const gchar *expected)
{
	g_set_error (error,
		     AC_ERROR,
		     AC_ERROR_INVALID_INPUT,
		     "<aleph:%s %s='%s'>: invalid value; expected %s",
		     elem,
		     attr,
		     value,
		     expected);
}

void
ac_tag_attr_prefix_error (GError **error, const gchar *elem, const gchar *attr)
{
	g_prefix_error (error, "<aleph:%s %s=…>: ", elem, attr);
}

gboolean
ac_tag_hex64_attr (const gchar *elem,
                   const gchar *attr,
                   const gchar *value,
                   const gchar *expected,
                   gchar **out,
                   GError **error)
{
	if (value == NULL)
		return TRUE;
	if (!ac_codec_hex_is_valid (value, 64, AC_CODEC_HEX_DEFAULT)) {
		ac_tag_attr_error (error, elem, attr, value, expected);
		return FALSE;
	}
	g_free (*out);
	*out = g_ascii_strdown (value, -1);
	return TRUE;
}

/* the text of @c when it is a text or CDATA node with more than white space, else %NULL */
static gchar *
xml_stray_text (xmlNode *c)
{
	g_autofree gchar *s = NULL;

	if (c->type != XML_TEXT_NODE && c->type != XML_CDATA_SECTION_NODE)
		return NULL;
	s = ac_domain_xml_text (c);
	return s[0] != '\0' ? g_steal_pointer (&s) : NULL;
}

/* Checks that @node has only attributes in @allowed (NULL-terminated) and no child element
 * or text, so a misspelt attribute is an error and not a silently ignored setting. */
gboolean
ac_tag_check_leaf (xmlNode *node, const gchar *const *allowed, GError **error)
{
	const gchar *elem = (const gchar *)node->name;
	for (xmlAttr *a = node->properties; a != NULL; a = a->next) {
		gboolean ok = FALSE;
		if (a->ns != NULL) {
			g_set_error (error,
				     AC_ERROR,
				     AC_ERROR_INVALID_INPUT,
				     "<aleph:%s>: unexpected namespaced attribute '%s:%s'",
				     elem,
				     (const gchar *)a->ns->prefix,
				     (const gchar *)a->name);
			return FALSE;
		}
		for (guint i = 0; allowed[i] != NULL; i++) {
			if (g_strcmp0 ((const gchar *)a->name, allowed[i]) == 0)
				ok = TRUE;
		}
		if (!ok) {
			g_autofree gchar *list = g_strjoinv (", ", (gchar **)allowed);
			g_set_error (error,
				     AC_ERROR,
				     AC_ERROR_INVALID_INPUT,
				     "<aleph:%s>: unknown attribute '%s'; expected %s%s",
				     elem,
				     (const gchar *)a->name,
				     allowed[0] != NULL ? "one of " : "no attributes",
				     list);
			return FALSE;
		}
	}
	for (xmlNode *c = node->children; c != NULL; c = c->next) {
		g_autofree gchar *text = xml_stray_text (c);

		if (c->type == XML_ELEMENT_NODE) {
			g_set_error (error,
				     AC_ERROR,
				     AC_ERROR_INVALID_INPUT,
				     "<aleph:%s>: unexpected child element <%s>; this element takes "
				     "attributes only",
				     elem,
				     (const gchar *)c->name);
			return FALSE;
		}
		if (text != NULL) {
			g_set_error (
			    error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			    "<aleph:%s>: unexpected text '%s'; this element takes attributes "
			    "only",
			    elem, text);
			return FALSE;
		}
	}
	return TRUE;
}

/* the leaf @node's only attribute, @attr, which it must have: "<aleph:ELEM>: missing attribute
 * 'ATTR'" and @hint (what the attribute is or takes) otherwise */
static gchar *
leaf_sole_attr (xmlNode *node, const gchar *attr, const gchar *hint, GError **error)
{
	const gchar *const allowed[] = { attr, NULL };
	gchar *v;

	if (!ac_tag_check_leaf (node, allowed, error))
		return NULL;
	v = ac_tag_xml_prop (node, attr);
	if (v == NULL)
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "<aleph:%s>: missing attribute '%s'%s", (const gchar *)node->name,
		             attr, hint);
	return v;
}

static gboolean
parse_bool_attr (const gchar *elem, const gchar *attr, const gchar *v, gboolean *out, GError **error)
{
	if (g_strcmp0 (v, "yes") == 0) {
		*out = TRUE;
		return TRUE;
	}
	if (g_strcmp0 (v, "no") == 0) {
		*out = FALSE;
		return TRUE;
	}
	ac_tag_attr_error (error, elem, attr, v, "yes or no");
	return FALSE;
}

static gboolean
parse_disk (AcTag *tag, xmlNode *node, GError **error)
{
	g_autofree gchar *dev = leaf_sole_attr (node, "dev",
	                                        " (the target dev of the disk to encrypt, such as "
	                                        "vda); omit the element to use the first disk",
	                                        error);

	if (dev == NULL)
		return FALSE;
	if (!g_regex_match_simple ("^[a-z][a-z0-9]{0,31}$", dev, 0, 0)) {
		ac_tag_attr_error (error, "disk", "dev", dev, "a disk target name such as vda or sdb");
		return FALSE;
	}
	tag->disk_dev = g_steal_pointer (&dev);
	return TRUE;
}

/* type='snp': the SNP guest policy (names or number, ac_snp_policy_parse) and the runtime */
static gboolean
parse_sev_snp (AcTag *tag, const gchar *policy, const gchar *es, const gchar *runtime, GError **error)
{
	tag->tee = AC_TEE_SNP;
	if (es != NULL) {
		g_set_error (error,
			     AC_ERROR,
			     AC_ERROR_INVALID_INPUT,
			     "<aleph:sev type='snp' es='%s'>: attribute 'es' is for type='sev' only (an "
			     "SNP guest's state is always encrypted); remove it",
			     es);
		return FALSE;
	}
	if (policy != NULL && !ac_snp_policy_parse (policy, &tag->snp_policy, error)) {
		ac_tag_attr_prefix_error (error, "sev", "policy");
		return FALSE;
	}
	return ac_tag_hex64_attr ("sev", "runtime", runtime,
	                          "64 hexadecimal digits (the STORE item hash of an "
	                          "aleph-instance-runtime/1 manifest)",
	                          &tag->snp_runtime, error);
}

static gboolean
parse_sev (AcTag *tag, xmlNode *node, GError **error)
{
	static const gchar *const allowed[] = { "type", "policy", "es", "runtime", NULL };
	g_autofree gchar *type = NULL;
	g_autofree gchar *policy = NULL;
	g_autofree gchar *es = NULL;
	g_autofree gchar *runtime = NULL;
	gboolean es_value = FALSE;

	if (!ac_tag_check_leaf (node, allowed, error))
		return FALSE;
	type = ac_tag_xml_prop (node, "type");
	policy = ac_tag_xml_prop (node, "policy");
	es = ac_tag_xml_prop (node, "es");
	runtime = ac_tag_xml_prop (node, "runtime");
	if (type != NULL && g_strcmp0 (type, "sev") != 0 && g_strcmp0 (type, "sev-es") != 0 &&
	    g_strcmp0 (type, "snp") != 0) {
		ac_tag_attr_error (error, "sev", "type", type, "sev, sev-es or snp");
		return FALSE;
	}
	if (g_strcmp0 (type, "snp") == 0)
		return parse_sev_snp (tag, policy, es, runtime, error);
	if (runtime != NULL) {
		g_set_error (error,
			     AC_ERROR,
			     AC_ERROR_INVALID_INPUT,
			     "<aleph:sev runtime='%s'>: attribute 'runtime' needs type='snp' (an "
			     "SEV guest boots the firmware of <aleph:firmware>)",
			     runtime);
		return FALSE;
	}
	if (policy != NULL) {
		if (!ac_sev_policy_parse (policy, &tag->policy, error)) {
			ac_tag_attr_prefix_error (error, "sev", "policy");
			return FALSE;
		}
	}
	if (es != NULL) {
		if (!parse_bool_attr ("sev", "es", es, &es_value, error))
			return FALSE;
		if (es_value) {
			tag->policy |= AC_SEV_POLICY_ES;
		} else if (tag->policy & AC_SEV_POLICY_ES) {
			g_set_error (error,
				     AC_ERROR,
				     AC_ERROR_INVALID_INPUT,
				     "<aleph:sev policy='%s' es='no'>: the policy sets the ES bit "
				     "(0x4) but es='no'; remove one of them",
				     policy);
			return FALSE;
		}
	}
	if (g_strcmp0 (type, "sev-es") == 0) {
		if (es != NULL && !es_value) {
			g_set_error_literal (error,
					     AC_ERROR,
					     AC_ERROR_INVALID_INPUT,
					     "<aleph:sev type='sev-es' es='no'>: type sev-es is SEV-ES; "
					     "remove es='no' or use type='sev'");
			return FALSE;
		}
		tag->policy |= AC_SEV_POLICY_ES;
	} else if (g_strcmp0 (type, "sev") == 0 && (tag->policy & AC_SEV_POLICY_ES)) {
		g_set_error (error,
			     AC_ERROR,
			     AC_ERROR_INVALID_INPUT,
			     "<aleph:sev type='sev' policy='%s'%s>: the policy sets the ES bit (0x4), "
			     "which is SEV-ES; use type='sev-es'",
			     policy != NULL ? policy : "",
			     es_value ? " es='yes'" : "");
		return FALSE;
	}
	return TRUE;
}

static gboolean
parse_firmware (AcTag *tag, xmlNode *node, GError **error)
{
	static const gchar *const allowed[] = { "sha256", "ref", "file", NULL };
	g_autofree gchar *sha = NULL;
	g_autofree gchar *ref = NULL;
	g_autofree gchar *file = NULL;

	if (!ac_tag_check_leaf (node, allowed, error))
		return FALSE;
	sha = ac_tag_xml_prop (node, "sha256");
	ref = ac_tag_xml_prop (node, "ref");
	file = ac_tag_xml_prop (node, "file");
	if (!ac_tag_hex64_attr ("firmware", "sha256", sha,
	                        "64 hexadecimal digits (the SHA-256 of the OVMF file)",
	                        &tag->firmware_sha256, error)
	    || !ac_tag_hex64_attr ("firmware", "ref", ref,
	                           "64 hexadecimal digits (the STORE item hash of the firmware)",
	                           &tag->firmware_ref, error))
		return FALSE;
	if (file != NULL) {
		if (!g_path_is_absolute (file)) {
			ac_tag_attr_error (error, "firmware", "file", file, "an absolute path");
			return FALSE;
		}
		tag->firmware_file = g_steal_pointer (&file);
	}
	/* A custom firmware must come with its own hash: the default hash would never match. */
	if ((ref != NULL || file != NULL) && sha == NULL &&
	    g_strcmp0 (tag->firmware_ref, AC_TAG_DEFAULT_FIRMWARE_REF) != 0) {
		g_set_error_literal (error,
				     AC_ERROR,
				     AC_ERROR_INVALID_INPUT,
				     "<aleph:firmware>: a firmware other than Aleph's default needs "
				     "its sha256 attribute (the SHA-256 of the OVMF file), which the "
				     "launch measurement is checked against");
		return FALSE;
	}
	return TRUE;
}

static gboolean
parse_local (AcTag *tag, xmlNode *node, GError **error)
{
	g_autofree gchar *mode
	    = leaf_sole_attr (node, "mode", "; expected sev, test or deny", error);

	if (mode == NULL)
		return FALSE;
	if (g_strcmp0 (mode, "sev") == 0)
		tag->local_mode = AC_LOCAL_MODE_SEV;
	else if (g_strcmp0 (mode, "test") == 0)
		tag->local_mode = AC_LOCAL_MODE_TEST;
	else if (g_strcmp0 (mode, "deny") == 0)
		tag->local_mode = AC_LOCAL_MODE_DENY;
	else {
		ac_tag_attr_error (error, "local", "mode", mode, "sev, test or deny");
		return FALSE;
	}
	return TRUE;
}

static gboolean
parse_confidential (AcTag *tag, xmlNode *root, GError **error)
{
	struct {
		const gchar *name;
		gboolean (*func) (AcTag *, xmlNode *, GError **);
		gboolean seen;
	} children[] = {
		{ "disk", parse_disk, FALSE },	     { "sev", parse_sev, FALSE },
		{ "firmware", parse_firmware, FALSE }, { "local", parse_local, FALSE },
		{ "publish", ac_tag_publish_parse, FALSE },
	};

	for (xmlAttr *a = root->properties; a != NULL; a = a->next) {
		g_set_error (error,
			     AC_ERROR,
			     AC_ERROR_INVALID_INPUT,
			     "<aleph:confidential>: unexpected attribute '%s'; settings go in child "
			     "elements (disk, sev, firmware, local, publish)",
			     (const gchar *)a->name);
		return FALSE;
	}
	for (xmlNode *c = root->children; c != NULL; c = c->next) {
		g_autofree gchar *text = xml_stray_text (c);
		gboolean known = FALSE;
		if (text != NULL) {
			g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			             "<aleph:confidential>: unexpected text '%s'", text);
			return FALSE;
		}
		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (!xml_node_in_ns (c, AC_TAG_NS)) {
			g_set_error (error,
				     AC_ERROR,
				     AC_ERROR_INVALID_INPUT,
				     "<aleph:confidential>: unexpected element <%s>%s%s%s; expected "
				     "elements of namespace %s (disk, sev, firmware, local, publish)",
				     (const gchar *)c->name,
				     c->ns != NULL ? " of namespace '" : "",
				     c->ns != NULL ? (const gchar *)c->ns->href : "",
				     c->ns != NULL ? "'" : "",
				     AC_TAG_NS);
			return FALSE;
		}
		for (guint i = 0; i < G_N_ELEMENTS (children); i++) {
			if (g_strcmp0 ((const gchar *)c->name, children[i].name) != 0)
				continue;
			known = TRUE;
			if (children[i].seen) {
				g_set_error (error,
					     AC_ERROR,
					     AC_ERROR_INVALID_INPUT,
					     "<aleph:confidential>: element <aleph:%s> appears more "
					     "than once",
					     children[i].name);
				return FALSE;
			}
			children[i].seen = TRUE;
			if (!children[i].func (tag, c, error))
				return FALSE;
		}
		if (!known) {
			g_set_error (error,
				     AC_ERROR,
				     AC_ERROR_INVALID_INPUT,
				     "<aleph:confidential>: unknown element <aleph:%s>; expected disk, "
				     "sev, firmware, local or publish",
				     (const gchar *)c->name);
			return FALSE;
		}
	}
	/* children[2] is firmware: an SNP guest's OVMF is the runtime bundle's, measured with
	 * its kernel; a firmware element would be silently unused */
	if (tag->tee == AC_TEE_SNP && children[2].seen) {
		g_set_error_literal (error,
				     AC_ERROR,
				     AC_ERROR_INVALID_INPUT,
				     "<aleph:firmware> cannot be used with <aleph:sev type='snp'>: an "
				     "SEV-SNP guest boots the OVMF of its runtime bundle (<aleph:sev "
				     "runtime=…>); remove <aleph:firmware>");
		return FALSE;
	}
	return TRUE;
}

static xmlNode *
find_child (xmlNode *parent, const gchar *name)
{
	for (xmlNode *c = parent->children; c != NULL; c = c->next) {
		if (c->type == XML_ELEMENT_NODE && c->ns == NULL &&
		    g_strcmp0 ((const gchar *)c->name, name) == 0)
			return c;
	}
	return NULL;
}

/**
 * ac_tag_parse_in_domain:
 * @root: the <domain> element of a parsed domain XML
 * @info: the facts about that domain the tag is validated against
 *
 * The tag in @root's <metadata>, parsed, defaulted and validated, on a document already read
 * (by the domain model, ac-domain.c).
 *
 * Returns: the tag, or %NULL with %AC_ERROR_NOT_FOUND when the domain has no tag and
 * %AC_ERROR_INVALID_INPUT for anything malformed.
 */
AcTag *
ac_tag_parse_in_domain (xmlNode *root, const AcTagDomain *info, GError **error)
{
	g_autoptr(AcTag) tag = ac_tag_new ();
	xmlNode *metadata = find_child (root, "metadata");
	xmlNode *elem = NULL;
	guint count = 0;

	if (metadata != NULL) {
		for (xmlNode *c = metadata->children; c != NULL; c = c->next) {
			if (c->type == XML_ELEMENT_NODE && xml_node_in_ns (c, AC_TAG_NS)) {
				count++;
				elem = c;
			}
		}
	}
	if (count == 0) {
		g_set_error (error,
			     AC_ERROR,
			     AC_ERROR_NOT_FOUND,
			     "domain '%s' has no <aleph:confidential> element (namespace %s) "
			     "in its <metadata>",
			     info->name != NULL ? info->name : "?",
			     AC_TAG_NS);
		return NULL;
	}
	if (count > 1 || g_strcmp0 ((const gchar *)elem->name, "confidential") != 0) {
		g_set_error (error,
			     AC_ERROR,
			     AC_ERROR_INVALID_INPUT,
			     "<metadata> of domain '%s': expected exactly one element of "
			     "namespace %s, <aleph:confidential>; found %u, the first <%s>",
			     info->name != NULL ? info->name : "?",
			     AC_TAG_NS,
			     count,
			     (const gchar *)elem->name);
		return NULL;
	}
	if (!parse_confidential (tag, elem, error) || !ac_tag_validate (tag, info, error))
		return NULL;
	return g_steal_pointer (&tag);
}

/*
 * The tag from the root of a document that is not a <domain>: it must be the
 * <aleph:confidential> element alone; parsed, defaulted and validated without a domain.
 */
AcTag *
ac_tag_parse_element (xmlNode *root, GError **error)
{
	g_autoptr(AcTag) tag = ac_tag_new ();

	if (root == NULL || g_strcmp0 ((const gchar *)root->name, "confidential") != 0 ||
	    !xml_node_in_ns (root, AC_TAG_NS)) {
		g_set_error (error,
			     AC_ERROR,
			     AC_ERROR_INVALID_INPUT,
			     "expected a <domain> or an <aleph:confidential xmlns:aleph=\"%s\"> "
			     "element, found <%s>%s",
			     AC_TAG_NS,
			     root != NULL ? (const gchar *)root->name : "",
			     root != NULL && g_strcmp0 ((const gchar *)root->name, "confidential") == 0
				     ? " in another namespace"
				     : "");
		return NULL;
	}
	if (!parse_confidential (tag, root, error) || !ac_tag_validate (tag, NULL, error))
		return NULL;
	return g_steal_pointer (&tag);
}
