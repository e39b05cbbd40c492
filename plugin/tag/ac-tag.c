/*
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Parser and formatter of <aleph:confidential>. The element comes from domain XML that any
 * user with write access to a domain controls, and reaches the hook before every start: it is
 * parsed strictly (unknown elements or attributes are errors, never ignored) and without
 * network access or entity expansion.
 */
#include "config.h"

#include "ac-tag.h"
#include "ac-tag-private.h"

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <string.h>

#include "ac-codec.h"
#include "ac-error.h"
#include "ac-sev-policy.h"
#include "ac-snp-policy.h"
#include "ac-size.h"


AcTag *
ac_tag_new (void)
{
	AcTag *tag = g_new0 (AcTag, 1);
	tag->tee = AC_TEE_SEV;
	tag->policy = AC_SEV_POLICY_DEFAULT;
	tag->snp_policy = AC_SNP_POLICY_DEFAULT;
	tag->firmware_sha256 = g_strdup (AC_TAG_DEFAULT_FIRMWARE_SHA256);
	tag->firmware_ref = g_strdup (AC_TAG_DEFAULT_FIRMWARE_REF);
	tag->local_mode = AC_LOCAL_MODE_UNSET;
	return tag;
}

static void
ac_tag_publish_free (AcTagPublish *pub)
{
	if (pub == NULL)
		return;
	g_free (pub->api);
	g_free (pub->crn);
	g_free (pub->rootfs);
	g_free (pub->name);
	g_free (pub->ssh_key);
	if (pub->ports != NULL)
		g_array_unref (pub->ports);
	g_free (pub);
}

void
ac_tag_free (AcTag *tag)
{
	if (tag == NULL)
		return;
	g_free (tag->disk_dev);
	g_free (tag->firmware_sha256);
	g_free (tag->firmware_ref);
	g_free (tag->firmware_file);
	g_free (tag->snp_runtime);
	ac_tag_publish_free (tag->publish);
	g_free (tag);
}

void
ac_tag_domain_free (AcTagDomain *dom)
{
	if (dom == NULL)
		return;
	g_free (dom->name);
	g_free (dom->uuid);
	g_free (dom->type);
	g_free (dom->launch_security_type);
	g_free (dom->launch_security_policy);
	g_free (dom->qemu_element);
	if (dom->disks != NULL)
		g_ptr_array_unref (dom->disks);
	g_free (dom);
}

const gchar *
ac_local_mode_to_string (AcLocalMode mode)
{
	switch (mode) {
	case AC_LOCAL_MODE_SEV:
		return "sev";
	case AC_LOCAL_MODE_TEST:
		return "test";
	case AC_LOCAL_MODE_DENY:
		return "deny";
	case AC_LOCAL_MODE_UNSET:
	default:
		return "default";
	}
}

const gchar *
ac_payment_to_string (AcPayment payment)
{
	switch (payment) {
	case AC_PAYMENT_SUPERFLUID:
		return "superfluid";
	case AC_PAYMENT_CREDIT:
		return "credit";
	case AC_PAYMENT_HOLD:
	default:
		return "hold";
	}
}

const gchar *
ac_tee_type_to_string (AcTeeType tee)
{
	return tee == AC_TEE_SNP ? "snp" : "sev";
}

const gchar *
ac_tag_get_tee_name (const AcTag *tag)
{
	if (tag->tee == AC_TEE_SNP)
		return "SEV-SNP";
	return (tag->policy & AC_SEV_POLICY_ES) ? "SEV-ES" : "SEV";
}

/**
 * ac_tag_get_effective_local_mode:
 *
 * The local mode after defaults: an unset mode is `sev` on a host with SEV and `deny`
 * elsewhere, so a tagged domain never starts unprotected unless the user asked for `test`.
 */
AcLocalMode
ac_tag_get_effective_local_mode (const AcTag *tag, gboolean host_has_sev)
{
	if (tag->local_mode != AC_LOCAL_MODE_UNSET)
		return tag->local_mode;
	return host_has_sev ? AC_LOCAL_MODE_SEV : AC_LOCAL_MODE_DENY;
}

/**
 * ac_tag_xml_has_tag:
 *
 * Cheap test for the tag's namespace in a domain XML (what the hook's fast path does).
 */
gboolean
ac_tag_xml_has_tag (const gchar *xml, gsize len)
{
	return memmem (xml, len, AC_TAG_NS, strlen (AC_TAG_NS)) != NULL;
}

/* ---- parsing ---------------------------------------------------------------------------- */

static gchar *
xml_prop (xmlNode *node, const gchar *name)
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

static void
set_attr_error (GError **error,
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

static void
prefix_attr_error (GError **error, const gchar *elem, const gchar *attr)
{
	g_prefix_error (error, "<aleph:%s %s=…>: ", elem, attr);
}

/* Checks that @node has only attributes in @allowed (NULL-terminated) and no child element
 * or text, so a misspelt attribute is an error and not a silently ignored setting. */
static gboolean
check_leaf_element (xmlNode *node, const gchar *const *allowed, GError **error)
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
		if (c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) {
			xmlChar *t = xmlNodeGetContent (c);
			g_autofree gchar *s = g_strstrip (g_strdup ((const gchar *)t));
			xmlFree (t);
			if (s[0] != '\0') {
				g_set_error (error,
					     AC_ERROR,
					     AC_ERROR_INVALID_INPUT,
					     "<aleph:%s>: unexpected text '%s'; this element takes "
					     "attributes only",
					     elem,
					     s);
				return FALSE;
			}
		}
	}
	return TRUE;
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
	set_attr_error (error, elem, attr, v, "yes or no");
	return FALSE;
}

static gboolean
parse_disk (AcTag *tag, xmlNode *node, GError **error)
{
	static const gchar *const allowed[] = { "dev", NULL };
	g_autofree gchar *dev = NULL;

	if (!check_leaf_element (node, allowed, error))
		return FALSE;
	dev = xml_prop (node, "dev");
	if (dev == NULL) {
		g_set_error_literal (error,
				     AC_ERROR,
				     AC_ERROR_INVALID_INPUT,
				     "<aleph:disk>: missing attribute 'dev' (the target dev of the "
				     "disk to encrypt, such as vda); omit the element to use the "
				     "first disk");
		return FALSE;
	}
	if (!g_regex_match_simple ("^[a-z][a-z0-9]{0,31}$", dev, 0, 0)) {
		set_attr_error (error, "disk", "dev", dev, "a disk target name such as vda or sdb");
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
		prefix_attr_error (error, "sev", "policy");
		return FALSE;
	}
	if (runtime != NULL) {
		if (!ac_codec_hex_is_valid (runtime, 64, AC_CODEC_HEX_DEFAULT)) {
			set_attr_error (error, "sev", "runtime", runtime,
					"64 hexadecimal digits (the STORE item hash of an "
					"aleph-instance-runtime/1 manifest)");
			return FALSE;
		}
		tag->snp_runtime = g_ascii_strdown (runtime, -1);
	}
	return TRUE;
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

	if (!check_leaf_element (node, allowed, error))
		return FALSE;
	type = xml_prop (node, "type");
	policy = xml_prop (node, "policy");
	es = xml_prop (node, "es");
	runtime = xml_prop (node, "runtime");
	if (type != NULL && g_strcmp0 (type, "sev") != 0 && g_strcmp0 (type, "sev-es") != 0 &&
	    g_strcmp0 (type, "snp") != 0) {
		set_attr_error (error, "sev", "type", type, "sev, sev-es or snp");
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
			prefix_attr_error (error, "sev", "policy");
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

	if (!check_leaf_element (node, allowed, error))
		return FALSE;
	sha = xml_prop (node, "sha256");
	ref = xml_prop (node, "ref");
	file = xml_prop (node, "file");
	if (sha != NULL) {
		if (!ac_codec_hex_is_valid (sha, 64, AC_CODEC_HEX_DEFAULT)) {
			set_attr_error (error, "firmware", "sha256", sha,
					"64 hexadecimal digits (the SHA-256 of the OVMF file)");
			return FALSE;
		}
		g_free (tag->firmware_sha256);
		tag->firmware_sha256 = g_ascii_strdown (sha, -1);
	}
	if (ref != NULL) {
		if (!ac_codec_hex_is_valid (ref, 64, AC_CODEC_HEX_DEFAULT)) {
			set_attr_error (error, "firmware", "ref", ref,
					"64 hexadecimal digits (the STORE item hash of the firmware)");
			return FALSE;
		}
		g_free (tag->firmware_ref);
		tag->firmware_ref = g_ascii_strdown (ref, -1);
	}
	if (file != NULL) {
		if (!g_path_is_absolute (file)) {
			set_attr_error (error, "firmware", "file", file, "an absolute path");
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
	static const gchar *const allowed[] = { "mode", NULL };
	g_autofree gchar *mode = NULL;

	if (!check_leaf_element (node, allowed, error))
		return FALSE;
	mode = xml_prop (node, "mode");
	if (mode == NULL) {
		g_set_error_literal (error,
				     AC_ERROR,
				     AC_ERROR_INVALID_INPUT,
				     "<aleph:local>: missing attribute 'mode'; expected sev, test or "
				     "deny");
		return FALSE;
	}
	if (g_strcmp0 (mode, "sev") == 0)
		tag->local_mode = AC_LOCAL_MODE_SEV;
	else if (g_strcmp0 (mode, "test") == 0)
		tag->local_mode = AC_LOCAL_MODE_TEST;
	else if (g_strcmp0 (mode, "deny") == 0)
		tag->local_mode = AC_LOCAL_MODE_DENY;
	else {
		set_attr_error (error, "local", "mode", mode, "sev, test or deny");
		return FALSE;
	}
	return TRUE;
}

static gboolean
url_host_is_loopback (const gchar *host)
{
	return g_strcmp0 (host, "localhost") == 0 || g_str_has_prefix (host, "127.") ||
	       g_strcmp0 (host, "[::1]") == 0 || g_strcmp0 (host, "::1") == 0;
}

static gboolean
parse_api_url (const gchar *api, GError **error)
{
	g_autoptr(GUri) uri = g_uri_parse (api, G_URI_FLAGS_NONE, NULL);
	const gchar *scheme;
	const gchar *host;

	if (uri == NULL || g_uri_get_host (uri) == NULL || g_uri_get_host (uri)[0] == '\0') {
		set_attr_error (error, "publish", "api", api, "an https:// URL such as " AC_TAG_DEFAULT_API);
		return FALSE;
	}
	scheme = g_uri_get_scheme (uri);
	host = g_uri_get_host (uri);
	if (g_strcmp0 (scheme, "https") == 0)
		return TRUE;
	if (g_strcmp0 (scheme, "http") == 0 && url_host_is_loopback (host))
		return TRUE;
	set_attr_error (error, "publish", "api", api,
			"an https:// URL (plain http:// only for a loopback devnet)");
	return FALSE;
}

static gboolean
parse_ports (AcTagPublish *pub, const gchar *text, GError **error)
{
	g_auto(GStrv) items = g_strsplit (text, ",", -1);
	pub->ports = g_array_new (FALSE, TRUE, sizeof (AcTagPort));
	for (guint i = 0; items[i] != NULL; i++) {
		AcTagPort port = { 0 };
		guint64 num = 0;
		gchar *item = g_strstrip (items[i]);
		gchar *slash = strchr (item, '/');
		if (slash != NULL) {
			*slash = '\0';
			if (g_strcmp0 (slash + 1, "udp") == 0)
				port.udp = TRUE;
			else if (g_strcmp0 (slash + 1, "tcp") != 0) {
				set_attr_error (error, "publish", "ports", text,
						"a list of PORT[/tcp|/udp] such as 22,80/tcp,53/udp");
				return FALSE;
			}
		}
		if (!g_ascii_string_to_unsigned (item, 10, 1, 65535, &num, NULL)) {
			set_attr_error (error, "publish", "ports", text,
					"a list of PORT[/tcp|/udp] with ports 1-65535, such as 22,80/tcp");
			return FALSE;
		}
		port.port = (guint16)num;
		for (guint j = 0; j < pub->ports->len; j++) {
			AcTagPort *p = &g_array_index (pub->ports, AcTagPort, j);
			if (p->port == port.port && p->udp == port.udp) {
				g_set_error (error,
					     AC_ERROR,
					     AC_ERROR_INVALID_INPUT,
					     "<aleph:publish ports='%s'>: port %u/%s is listed twice",
					     text,
					     port.port,
					     port.udp ? "udp" : "tcp");
				return FALSE;
			}
		}
		g_array_append_val (pub->ports, port);
	}
	return TRUE;
}

static gboolean
parse_publish (AcTag *tag, xmlNode *node, GError **error)
{
	static const gchar *const allowed[] = { "api",    "crn",  "payment", "storePayment",
						"rootfs", "rootfsSize", "vcpus", "memory", "name",
						"sshKey", "ports",  NULL };
	g_autofree gchar *api = xml_prop (node, "api");
	g_autofree gchar *crn = xml_prop (node, "crn");
	g_autofree gchar *payment = xml_prop (node, "payment");
	g_autofree gchar *store_payment = xml_prop (node, "storePayment");
	g_autofree gchar *rootfs = xml_prop (node, "rootfsSize");
	g_autofree gchar *rootfs_ref = xml_prop (node, "rootfs");
	g_autofree gchar *vcpus = xml_prop (node, "vcpus");
	g_autofree gchar *memory = xml_prop (node, "memory");
	g_autofree gchar *name = xml_prop (node, "name");
	g_autofree gchar *ssh = xml_prop (node, "sshKey");
	g_autofree gchar *ports = xml_prop (node, "ports");
	AcTagPublish *pub;

	if (!check_leaf_element (node, allowed, error))
		return FALSE;
	pub = tag->publish = g_new0 (AcTagPublish, 1);
	pub->payment = AC_PAYMENT_CREDIT;
	pub->store_payment = AC_PAYMENT_CREDIT;

	if (api != NULL && !parse_api_url (api, error))
		return FALSE;
	pub->api = api != NULL ? g_steal_pointer (&api) : g_strdup (AC_TAG_DEFAULT_API);

	if (crn == NULL || g_strcmp0 (crn, "auto") == 0) {
		pub->crn = g_strdup ("auto");
	} else if (ac_codec_hex_is_valid (crn, 64, AC_CODEC_HEX_DEFAULT)) {
		pub->crn = g_ascii_strdown (crn, -1);
	} else {
		set_attr_error (error, "publish", "crn", crn,
				"auto or a CRN node hash (64 hexadecimal digits)");
		return FALSE;
	}

	/* credit is what the network accepts today; hold/superfluid stay choosable, and the
	 * client refuses them before signing where the network's rules refuse them */
	if (payment == NULL || g_strcmp0 (payment, "credit") == 0)
		pub->payment = AC_PAYMENT_CREDIT;
	else if (g_strcmp0 (payment, "hold") == 0)
		pub->payment = AC_PAYMENT_HOLD;
	else if (g_strcmp0 (payment, "superfluid") == 0)
		pub->payment = AC_PAYMENT_SUPERFLUID;
	else {
		set_attr_error (error, "publish", "payment", payment, "credit, hold or superfluid");
		return FALSE;
	}
	if (store_payment == NULL || g_strcmp0 (store_payment, "credit") == 0)
		pub->store_payment = AC_PAYMENT_CREDIT;
	else if (g_strcmp0 (store_payment, "hold") == 0)
		pub->store_payment = AC_PAYMENT_HOLD;
	else {
		set_attr_error (error, "publish", "storePayment", store_payment, "credit or hold");
		return FALSE;
	}

	/* an existing encrypted image, published by a STORE: used as it is, never rebuilt */
	if (rootfs_ref != NULL) {
		if (!ac_codec_hex_is_valid (rootfs_ref, 64, AC_CODEC_HEX_DEFAULT)) {
			set_attr_error (error, "publish", "rootfs", rootfs_ref,
					"the item hash of the image's STORE message (64 hexadecimal "
					"digits)");
			return FALSE;
		}
		pub->rootfs = g_ascii_strdown (rootfs_ref, -1);
	}
	if (rootfs != NULL) {
		if (!ac_size_parse (rootfs, AC_SIZE_UNIT_REQUIRED, &pub->rootfs_size, error)) {
			prefix_attr_error (error, "publish", "rootfsSize");
			return FALSE;
		}
		/* aleph-message: 0 < size_mib <= 1953125 */
		if (pub->rootfs_size < (1ull << 20) || pub->rootfs_size > 1953125ull * (1ull << 20)) {
			set_attr_error (error, "publish", "rootfsSize", rootfs,
					"a size from 1MiB to 1953125MiB (Aleph's limit)");
			return FALSE;
		}
	}
	if (vcpus != NULL) {
		guint64 n = 0;
		if (!g_ascii_string_to_unsigned (vcpus, 10, 1, 256, &n, NULL)) {
			set_attr_error (error, "publish", "vcpus", vcpus, "a whole number from 1 to 256");
			return FALSE;
		}
		pub->vcpus = (guint)n;
	}
	if (memory != NULL) {
		if (!ac_size_parse (memory, AC_SIZE_UNIT_REQUIRED, &pub->memory, error)) {
			prefix_attr_error (error, "publish", "memory");
			return FALSE;
		}
		if (pub->memory % (1ull << 20) != 0 || pub->memory < (1ull << 20) ||
		    pub->memory > 1048576ull * (1ull << 20)) {
			set_attr_error (error, "publish", "memory", memory,
					"a whole number of MiB from 1MiB to 1TiB (Aleph's limit), such "
					"as 4GiB");
			return FALSE;
		}
	}
	if (name != NULL) {
		if (name[0] == '\0' || g_utf8_strlen (name, -1) > 64 || !g_utf8_validate (name, -1, NULL)) {
			set_attr_error (error, "publish", "name", name, "1 to 64 characters");
			return FALSE;
		}
		pub->name = g_steal_pointer (&name);
	}
	if (ssh != NULL) {
		if (strlen (ssh) > 8192 ||
		    !g_regex_match_simple ("^(ssh-[a-z0-9-]+|ecdsa-sha2-[a-z0-9-]+|sk-[a-z0-9@.-]+) "
					   "[A-Za-z0-9+/]+={0,3}( .*)?$",
					   ssh, 0, 0)) {
			g_set_error (error,
				     AC_ERROR,
				     AC_ERROR_INVALID_INPUT,
				     "<aleph:publish sshKey=…>: invalid value '%.40s…'; expected one "
				     "OpenSSH public key line such as 'ssh-ed25519 AAAA… user@host'",
				     ssh);
			return FALSE;
		}
		pub->ssh_key = g_steal_pointer (&ssh);
	}
	if (ports != NULL && !parse_ports (pub, ports, error))
		return FALSE;
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
		{ "publish", parse_publish, FALSE },
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
		gboolean known = FALSE;
		if (c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) {
			xmlChar *t = xmlNodeGetContent (c);
			g_autofree gchar *s = g_strstrip (g_strdup ((const gchar *)t));
			xmlFree (t);
			if (s[0] != '\0') {
				g_set_error (error,
					     AC_ERROR,
					     AC_ERROR_INVALID_INPUT,
					     "<aleph:confidential>: unexpected text '%s'",
					     s);
				return FALSE;
			}
			continue;
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

/**
 * ac_tag_validate:
 * @domain: (nullable): the enclosing domain, for checks against its devices
 *
 * Cross-field rules: the disk must exist, and a domain published to Aleph must use what
 * Aleph's CRNs can attest (policy 0x1: they launch every VM with it, docs/protocols.md#guest-policy).
 */
static gboolean
validate_snp (const AcTag *tag, GError **error)
{
	g_autofree gchar *names = NULL;
	const gchar *why = NULL;

	if (!ac_snp_policy_validate (tag->snp_policy, error)) {
		g_prefix_error (error, "<aleph:sev type='snp' policy=…>: ");
		return FALSE;
	}
	/* the verifier refuses reports with these bits (docs/snp.md#policy): such a guest could
	 * never be attested, and with debug the host reads its memory */
	if (tag->snp_policy & AC_SNP_POLICY_DEBUG)
		why = "the DEBUG bit (19) lets the host read and write the guest's memory";
	else if (tag->snp_policy & AC_SNP_POLICY_MIGRATE_MA)
		why = "the MIGRATE_MA bit (18) lets a migration agent export the guest";
	if (why != NULL) {
		names = ac_snp_policy_to_names (tag->snp_policy);
		g_set_error (error,
			     AC_ERROR,
			     AC_ERROR_INVALID_INPUT,
			     "<aleph:sev type='snp' policy='0x%" G_GINT64_MODIFIER "x'> (%s): %s, and "
			     "the attestation refuses it; drop that bit (default 0x30000)",
			     tag->snp_policy,
			     names,
			     why);
		return FALSE;
	}
	return TRUE;
}

gboolean
ac_tag_validate (const AcTag *tag, const AcTagDomain *domain, GError **error)
{
	if (tag->tee == AC_TEE_SNP) {
		if (!validate_snp (tag, error))
			return FALSE;
	} else if (!ac_sev_policy_validate (tag->policy, error)) {
		g_prefix_error (error, "<aleph:sev policy=…>: ");
		return FALSE;
	}
	if (tag->tee == AC_TEE_SEV && tag->publish != NULL && tag->policy != AC_SEV_POLICY_DEFAULT) {
		g_autofree gchar *names = ac_sev_policy_to_names (tag->policy);
		g_set_error (error,
			     AC_ERROR,
			     AC_ERROR_INVALID_INPUT,
			     "<aleph:sev policy='0x%x'> (%s) cannot be used with <aleph:publish>: "
			     "Aleph's CRNs launch every VM with policy 0x1 (nodbg), so any other "
			     "policy fails attestation; use policy='0x1' or drop <aleph:publish>",
			     tag->policy,
			     names);
		return FALSE;
	}
	if (domain != NULL) {
		if (domain->disks->len == 0) {
			g_set_error (error,
				     AC_ERROR,
				     AC_ERROR_INVALID_INPUT,
				     "domain '%s' has no <disk device='disk'> to encrypt",
				     domain->name != NULL ? domain->name : "?");
			return FALSE;
		}
		if (tag->disk_dev != NULL) {
			gboolean found = FALSE;
			for (guint i = 0; i < domain->disks->len; i++) {
				if (g_strcmp0 (g_ptr_array_index (domain->disks, i), tag->disk_dev) == 0)
					found = TRUE;
			}
			if (!found) {
				g_autoptr(GString) list = g_string_new (NULL);
				for (guint i = 0; i < domain->disks->len; i++)
					g_string_append_printf (list, "%s%s", i ? ", " : "",
								(const gchar *)g_ptr_array_index (domain->disks, i));
				g_set_error (error,
					     AC_ERROR,
					     AC_ERROR_INVALID_INPUT,
					     "<aleph:disk dev='%s'>: domain '%s' has no such disk; its "
					     "disks are %s",
					     tag->disk_dev,
					     domain->name != NULL ? domain->name : "?",
					     list->str);
				return FALSE;
			}
		}
	}
	return TRUE;
}

/* ---- formatting ------------------------------------------------------------------------- */

static void
append_attr (GString *str, const gchar *name, const gchar *value)
{
	g_autofree gchar *escaped = g_markup_escape_text (value, -1);
	g_string_append_printf (str, " %s=\"%s\"", name, escaped);
}

/**
 * ac_tag_format:
 *
 * The canonical element, with defaults filled in (except those that depend on the host or
 * the domain: disk, local mode, sizes). Parsing the result gives an equal tag.
 */
gchar *
ac_tag_format (const AcTag *tag)
{
	GString *str = g_string_new ("<" AC_TAG_PREFIX ":confidential xmlns:" AC_TAG_PREFIX "=\"" AC_TAG_NS "\">\n");
	g_autofree gchar *policy = tag->tee == AC_TEE_SNP
					   ? g_strdup_printf ("0x%" G_GINT64_MODIFIER "x", tag->snp_policy)
					   : g_strdup_printf ("0x%x", tag->policy);

	if (tag->disk_dev != NULL) {
		g_string_append (str, "  <aleph:disk");
		append_attr (str, "dev", tag->disk_dev);
		g_string_append (str, "/>\n");
	}
	g_string_append (str, "  <aleph:sev");
	if (tag->tee == AC_TEE_SNP)
		append_attr (str, "type", "snp");
	append_attr (str, "policy", policy);
	if (tag->snp_runtime != NULL)
		append_attr (str, "runtime", tag->snp_runtime);
	g_string_append (str, "/>\n");
	if (tag->tee != AC_TEE_SNP) {
		g_string_append (str, "  <aleph:firmware");
		append_attr (str, "sha256", tag->firmware_sha256);
		append_attr (str, "ref", tag->firmware_ref);
		if (tag->firmware_file != NULL)
			append_attr (str, "file", tag->firmware_file);
		g_string_append (str, "/>\n");
	}
	if (tag->local_mode != AC_LOCAL_MODE_UNSET) {
		g_string_append (str, "  <aleph:local");
		append_attr (str, "mode", ac_local_mode_to_string (tag->local_mode));
		g_string_append (str, "/>\n");
	}
	if (tag->publish != NULL) {
		const AcTagPublish *pub = tag->publish;
		g_string_append (str, "  <aleph:publish");
		append_attr (str, "api", pub->api);
		append_attr (str, "crn", pub->crn);
		append_attr (str, "payment", ac_payment_to_string (pub->payment));
		append_attr (str, "storePayment", ac_payment_to_string (pub->store_payment));
		if (pub->rootfs != NULL)
			append_attr (str, "rootfs", pub->rootfs);
		if (pub->rootfs_size != 0) {
			g_autofree gchar *s = ac_size_format (pub->rootfs_size);
			append_attr (str, "rootfsSize", s);
		}
		if (pub->vcpus != 0) {
			g_autofree gchar *s = g_strdup_printf ("%u", pub->vcpus);
			append_attr (str, "vcpus", s);
		}
		if (pub->memory != 0) {
			g_autofree gchar *s = ac_size_format (pub->memory);
			append_attr (str, "memory", s);
		}
		if (pub->name != NULL)
			append_attr (str, "name", pub->name);
		if (pub->ssh_key != NULL)
			append_attr (str, "sshKey", pub->ssh_key);
		if (pub->ports != NULL && pub->ports->len > 0) {
			g_autoptr(GString) ports = g_string_new (NULL);
			for (guint i = 0; i < pub->ports->len; i++) {
				AcTagPort *p = &g_array_index (pub->ports, AcTagPort, i);
				g_string_append_printf (ports, "%s%u/%s", i ? "," : "", p->port,
							p->udp ? "udp" : "tcp");
			}
			append_attr (str, "ports", ports->str);
		}
		g_string_append (str, "/>\n");
	}
	g_string_append (str, "</" AC_TAG_PREFIX ":confidential>\n");
	return g_string_free (str, FALSE);
}

gboolean
ac_tag_equal (const AcTag *a, const AcTag *b)
{
	g_autofree gchar *fa = ac_tag_format (a);
	g_autofree gchar *fb = ac_tag_format (b);
	return g_strcmp0 (fa, fb) == 0;
}
