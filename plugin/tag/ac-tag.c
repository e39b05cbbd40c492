/*
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Parser and formatter of <aleph:confidential>. The element comes from domain XML that any
 * user with write access to a domain controls, and reaches the hook before every start: it is
 * parsed strictly (unknown elements or attributes are errors, never ignored) and without
 * network access or entity expansion.
 *
 * This file: the tag model, its cross-field rules and its canonical form; the element is read
 * in ac-tag-element.c (<aleph:publish> in ac-tag-publish.c).
 */
#include "config.h"

#include "ac-tag.h"
#include "ac-tag-private.h"

#include <string.h>

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
