/*
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Reading <aleph:publish>: where and how a domain is published to Aleph (API, CRN, payment,
 * an existing image, the VM's size, name, SSH key and ports), each attribute checked against
 * what the network accepts.
 */
#include "config.h"

#include "ac-tag.h"
#include "ac-tag-private.h"

#include <string.h>

#include "ac-codec.h"
#include "ac-error.h"
#include "ac-size.h"

static gboolean
url_host_is_loopback (const gchar *host)
{
	return g_strcmp0 (host, "localhost") == 0 || g_str_has_prefix (host, "127.")
	       || g_strcmp0 (host, "[::1]") == 0 || g_strcmp0 (host, "::1") == 0;
}

static gboolean
parse_api_url (const gchar *api, GError **error)
{
	g_autoptr (GUri) uri = g_uri_parse (api, G_URI_FLAGS_NONE, NULL);
	const gchar *scheme;
	const gchar *host;

	if (uri == NULL || g_uri_get_host (uri) == NULL || g_uri_get_host (uri)[0] == '\0') {
		ac_tag_attr_error (error, "publish", "api", api,
		                   "an https:// URL such as " AC_TAG_DEFAULT_API);
		return FALSE;
	}
	scheme = g_uri_get_scheme (uri);
	host = g_uri_get_host (uri);
	if (g_strcmp0 (scheme, "https") == 0)
		return TRUE;
	if (g_strcmp0 (scheme, "http") == 0 && url_host_is_loopback (host))
		return TRUE;
	ac_tag_attr_error (error, "publish", "api", api,
	                   "an https:// URL (plain http:// only for a loopback devnet)");
	return FALSE;
}

static gboolean
parse_ports (AcTagPublish *pub, const gchar *text, GError **error)
{
	g_auto (GStrv) items = g_strsplit (text, ",", -1);
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
				ac_tag_attr_error (
				    error, "publish", "ports", text,
				    "a list of PORT[/tcp|/udp] such as 22,80/tcp,53/udp");
				return FALSE;
			}
		}
		if (!g_ascii_string_to_unsigned (item, 10, 1, 65535, &num, NULL)) {
			ac_tag_attr_error (
			    error, "publish", "ports", text,
			    "a list of PORT[/tcp|/udp] with ports 1-65535, such as 22,80/tcp");
			return FALSE;
		}
		port.port = (guint16)num;
		for (guint j = 0; j < pub->ports->len; j++) {
			AcTagPort *p = &g_array_index (pub->ports, AcTagPort, j);
			if (p->port == port.port && p->udp == port.udp) {
				g_set_error (
				    error, AC_ERROR, AC_ERROR_INVALID_INPUT,
				    "<aleph:publish ports='%s'>: port %u/%s is listed twice", text,
				    port.port, port.udp ? "udp" : "tcp");
				return FALSE;
			}
		}
		g_array_append_val (pub->ports, port);
	}
	return TRUE;
}

/* payment (credit, the default, hold or superfluid) and storePayment (credit or hold) */
static gboolean
parse_payments (AcTagPublish *pub, const gchar *payment, const gchar *store_payment, GError **error)
{
	/* credit is what the network accepts today; hold/superfluid stay choosable, and the
	 * client refuses them before signing where the network's rules refuse them */
	if (payment == NULL || g_strcmp0 (payment, "credit") == 0)
		pub->payment = AC_PAYMENT_CREDIT;
	else if (g_strcmp0 (payment, "hold") == 0)
		pub->payment = AC_PAYMENT_HOLD;
	else if (g_strcmp0 (payment, "superfluid") == 0)
		pub->payment = AC_PAYMENT_SUPERFLUID;
	else {
		ac_tag_attr_error (error, "publish", "payment", payment,
		                   "credit, hold or superfluid");
		return FALSE;
	}
	if (store_payment == NULL || g_strcmp0 (store_payment, "credit") == 0)
		pub->store_payment = AC_PAYMENT_CREDIT;
	else if (g_strcmp0 (store_payment, "hold") == 0)
		pub->store_payment = AC_PAYMENT_HOLD;
	else {
		ac_tag_attr_error (error, "publish", "storePayment", store_payment,
		                   "credit or hold");
		return FALSE;
	}
	return TRUE;
}

/* rootfsSize, vcpus and memory, each within Aleph's limits */
static gboolean
parse_sizes (AcTagPublish *pub,
             const gchar *rootfs,
             const gchar *vcpus,
             const gchar *memory,
             GError **error)
{
	if (rootfs != NULL) {
		if (!ac_size_parse (rootfs, AC_SIZE_UNIT_REQUIRED, &pub->rootfs_size, error)) {
			ac_tag_attr_prefix_error (error, "publish", "rootfsSize");
			return FALSE;
		}
		/* aleph-message: 0 < size_mib <= 1953125 */
		if (pub->rootfs_size < (1ull << 20)
		    || pub->rootfs_size > 1953125ull * (1ull << 20)) {
			ac_tag_attr_error (error, "publish", "rootfsSize", rootfs,
			                   "a size from 1MiB to 1953125MiB (Aleph's limit)");
			return FALSE;
		}
	}
	if (vcpus != NULL) {
		guint64 n = 0;
		if (!g_ascii_string_to_unsigned (vcpus, 10, 1, 256, &n, NULL)) {
			ac_tag_attr_error (error, "publish", "vcpus", vcpus,
			                   "a whole number from 1 to 256");
			return FALSE;
		}
		pub->vcpus = (guint)n;
	}
	if (memory != NULL) {
		if (!ac_size_parse (memory, AC_SIZE_UNIT_REQUIRED, &pub->memory, error)) {
			ac_tag_attr_prefix_error (error, "publish", "memory");
			return FALSE;
		}
		if (pub->memory % (1ull << 20) != 0 || pub->memory < (1ull << 20)
		    || pub->memory > 1048576ull * (1ull << 20)) {
			ac_tag_attr_error (
			    error, "publish", "memory", memory,
			    "a whole number of MiB from 1MiB to 1TiB (Aleph's limit), such "
			    "as 4GiB");
			return FALSE;
		}
	}
	return TRUE;
}

/* name (1 to 64 characters) and sshKey (one OpenSSH public key line), taken when valid */
static gboolean
parse_name_and_key (AcTagPublish *pub, gchar **name, gchar **ssh, GError **error)
{
	if (*name != NULL) {
		if ((*name)[0] == '\0' || g_utf8_strlen (*name, -1) > 64
		    || !g_utf8_validate (*name, -1, NULL)) {
			ac_tag_attr_error (error, "publish", "name", *name, "1 to 64 characters");
			return FALSE;
		}
		pub->name = g_steal_pointer (name);
	}
	if (*ssh != NULL) {
		if (strlen (*ssh) > 8192
		    || !g_regex_match_simple (
		        "^(ssh-[a-z0-9-]+|ecdsa-sha2-[a-z0-9-]+|sk-[a-z0-9@.-]+) "
		        "[A-Za-z0-9+/]+={0,3}( .*)?$",
		        *ssh, 0, 0)) {
			g_set_error (
			    error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			    "<aleph:publish sshKey=…>: invalid value '%.40s…'; expected one "
			    "OpenSSH public key line such as 'ssh-ed25519 AAAA… user@host'",
			    *ssh);
			return FALSE;
		}
		pub->ssh_key = g_steal_pointer (ssh);
	}
	return TRUE;
}

gboolean
ac_tag_publish_parse (AcTag *tag, xmlNode *node, GError **error)
{
	static const gchar *const allowed[]
	    = { "api",   "crn",    "payment", "storePayment", "rootfs", "rootfsSize",
		"vcpus", "memory", "name",    "sshKey",       "ports",  NULL };
	g_autofree gchar *api = ac_tag_xml_prop (node, "api");
	g_autofree gchar *crn = ac_tag_xml_prop (node, "crn");
	g_autofree gchar *payment = ac_tag_xml_prop (node, "payment");
	g_autofree gchar *store_payment = ac_tag_xml_prop (node, "storePayment");
	g_autofree gchar *rootfs = ac_tag_xml_prop (node, "rootfsSize");
	g_autofree gchar *rootfs_ref = ac_tag_xml_prop (node, "rootfs");
	g_autofree gchar *vcpus = ac_tag_xml_prop (node, "vcpus");
	g_autofree gchar *memory = ac_tag_xml_prop (node, "memory");
	g_autofree gchar *name = ac_tag_xml_prop (node, "name");
	g_autofree gchar *ssh = ac_tag_xml_prop (node, "sshKey");
	g_autofree gchar *ports = ac_tag_xml_prop (node, "ports");
	AcTagPublish *pub;

	if (!ac_tag_check_leaf (node, allowed, error))
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
		ac_tag_attr_error (error, "publish", "crn", crn,
		                   "auto or a CRN node hash (64 hexadecimal digits)");
		return FALSE;
	}

	if (!parse_payments (pub, payment, store_payment, error))
		return FALSE;

	/* an existing encrypted image, published by a STORE: used as it is, never rebuilt */
	if (!ac_tag_hex64_attr (
	        "publish", "rootfs", rootfs_ref,
	        "the item hash of the image's STORE message (64 hexadecimal digits)", &pub->rootfs,
	        error))
		return FALSE;
	if (!parse_sizes (pub, rootfs, vcpus, memory, error))
		return FALSE;
	if (!parse_name_and_key (pub, &name, &ssh, error))
		return FALSE;
	if (ports != NULL && !parse_ports (pub, ports, error))
		return FALSE;
	return TRUE;
}
