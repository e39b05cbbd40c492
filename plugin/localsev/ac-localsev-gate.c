/*
 * The gatekeeper's check: a domain about to start against the record of what was prepared.
 * Pure, no I/O.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "ac-localsev.h"
#include "ac-localsev-private.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ac-error.h"
#include "ac-localsev-domain.h"
#include "ac-sev-policy.h"

/* ------------------------------------------------------------------------------------------ */
/* the gatekeeper's comparison                                                                */

static gboolean
ac_localsev_gate_parse_small (const gchar *text, guint *out)
{
	guint64 v = 0;
	if (text == NULL || !g_ascii_string_to_unsigned (text, 10, 0, 63, &v, NULL))
		return FALSE;
	*out = (guint)v;
	return TRUE;
}

/* longer values are shown by where they part (base64), or by their length (markup) */
#define DIFF_SHOW_MAX 128
#define DIFF_SHOW_MAX_MARKUP 1024

gboolean
ac_localsev_gate_differs (GError **error,
                          const gchar *domain,
                          const gchar *input,
                          const gchar *prepared,
                          const gchar *found)
{
	g_autofree gchar *detail = NULL;
	/* the canonical texts of elements are read whole; base64 is not */
	gsize max = (prepared != NULL && strchr (prepared, '<') != NULL)
	                    || (found != NULL && strchr (found, '<') != NULL)
	                ? DIFF_SHOW_MAX_MARKUP
	                : DIFF_SHOW_MAX;

	if (prepared != NULL && found != NULL
	    && (strlen (prepared) > max || strlen (found) > max)) {
		gsize i = 0;
		while (prepared[i] != '\0' && prepared[i] == found[i])
			i++;
		detail = g_strdup_printf ("prepared %" G_GSIZE_FORMAT " characters, the domain's "
		                          "%" G_GSIZE_FORMAT
		                          " characters differ from character %" G_GSIZE_FORMAT,
		                          strlen (prepared), strlen (found), i + 1);
	} else {
		g_autofree gchar *p
		    = prepared == NULL ? g_strdup ("nothing")
		      : strlen (prepared) > max
		          ? g_strdup_printf ("%" G_GSIZE_FORMAT " characters", strlen (prepared))
		          : g_strdup_printf ("'%s'", prepared);
		g_autofree gchar *f
		    = found == NULL ? g_strdup ("none")
		      : strlen (found) > max
		          ? g_strdup_printf ("%" G_GSIZE_FORMAT " characters", strlen (found))
		          : g_strdup_printf ("'%s'", found);
		detail = g_strdup_printf ("prepared %s, the domain has %s", p, f);
	}
	g_set_error (
	    error, AC_ERROR, AC_ERROR_REFUSED,
	    "domain '%s': %s differs from what was prepared (%s); prepare the launch again", domain,
	    input, detail);
	return FALSE;
}

/* <launchSecurity type='@type'> as prepared; without it the guest runs @without */
gboolean
ac_localsev_gate_compare_type (const AcLocalsevRecord *r,
                               const AcDomain *dom,
                               const gchar *type,
                               const gchar *without,
                               GError **error)
{
	if (dom->has_launch_security && g_strcmp0 (dom->ls_type, type) == 0)
		return TRUE;
	g_set_error (error, AC_ERROR, AC_ERROR_REFUSED,
	             "domain '%s': launchSecurity: the domain has %s, but a "
	             "<launchSecurity type='%s'> was prepared; without it the guest runs %s",
	             r->domain,
	             dom->has_launch_security ? "another <launchSecurity> type"
	                                      : "no <launchSecurity>",
	             type, without);
	return FALSE;
}

/* launchSecurity's <cbitpos> and <reducedPhysBits> as prepared (SEV and SEV-SNP alike) */
gboolean
ac_localsev_gate_compare_cbits (const AcLocalsevRecord *r, const AcDomain *dom, GError **error)
{
	guint v = 0;

	if (!ac_localsev_gate_parse_small (dom->ls_cbitpos, &v) || v != r->cbitpos) {
		g_autofree gchar *want = g_strdup_printf ("%u", r->cbitpos);
		return ac_localsev_gate_differs (error, r->domain, "launchSecurity <cbitpos>",
		                                 want, dom->ls_cbitpos);
	}
	if (!ac_localsev_gate_parse_small (dom->ls_reduced_phys_bits, &v)
	    || v != r->reduced_phys_bits) {
		g_autofree gchar *want = g_strdup_printf ("%u", r->reduced_phys_bits);
		return ac_localsev_gate_differs (error, r->domain,
		                                 "launchSecurity <reducedPhysBits>", want,
		                                 dom->ls_reduced_phys_bits);
	}
	return TRUE;
}

/* the firmware as prepared: its <loader>, and <os firmware>, <loader>, <nvram> together */
gboolean
ac_localsev_gate_compare_firmware (const AcLocalsevRecord *r,
                                   const AcDomain *dom,
                                   GError **error)
{
	if (g_strcmp0 (dom->loader, r->loader) != 0)
		return ac_localsev_gate_differs (error, r->domain, "the firmware <loader>",
		                                 r->loader, dom->loader);
	if (g_strcmp0 (dom->firmware, r->firmware) != 0)
		return ac_localsev_gate_differs (error, r->domain,
		                                 "the firmware (<os firmware>, <loader>, <nvram>)",
		                                 r->firmware, dom->firmware);
	return TRUE;
}

/* the launch inputs of @dom against @r; the session state is not looked at */
gboolean
ac_localsev_gate_compare (const AcLocalsevRecord *r, const AcDomain *dom, GError **error)
{
	const gchar *name = r->domain;
	guint32 policy = 0;

	if (g_strcmp0 (dom->uuid, r->uuid) != 0)
		return ac_localsev_gate_differs (error, name, "the domain UUID", r->uuid,
		                                 dom->uuid);
	if (r->tee == AC_TEE_SNP)
		return ac_localsev_gate_compare_snp (r, dom, error);
	if (!ac_localsev_gate_compare_type (r, dom, "sev", "unencrypted", error))
		return FALSE;
	if (dom->ls_policy == NULL || !ac_sev_policy_parse (dom->ls_policy, &policy, NULL)
	    || policy != r->policy) {
		g_autofree gchar *want = g_strdup_printf ("0x%04x", r->policy);
		return ac_localsev_gate_differs (error, name, "launchSecurity <policy>", want,
		                                 dom->ls_policy);
	}
	if (!ac_localsev_gate_compare_cbits (r, dom, error))
		return FALSE;
	if (g_strcmp0 (dom->ls_dh_cert, r->dh_cert) != 0)
		return ac_localsev_gate_differs (error, name, "launchSecurity <dhCert>", r->dh_cert,
		                                 dom->ls_dh_cert);
	if (g_strcmp0 (dom->ls_session, r->session) != 0)
		return ac_localsev_gate_differs (error, name, "launchSecurity <session>",
		                                 r->session, dom->ls_session);
	if (g_strcmp0 (dom->ls_kernel_hashes, "yes") == 0 || dom->has_kernel)
		return ac_localsev_gate_differs (error, name, "the boot method", "firmware boot",
		                                 "direct kernel boot (kernelHashes)");
	if (!ac_localsev_gate_compare_firmware (r, dom, error))
		return FALSE;
	if ((r->policy & AC_SEV_POLICY_ES) && MAX (dom->vcpus, 1) != r->vcpus) {
		g_autofree gchar *want = g_strdup_printf ("%u", r->vcpus);
		g_autofree gchar *have = g_strdup_printf ("%u", MAX (dom->vcpus, 1));
		return ac_localsev_gate_differs (error, name, "<vcpu> (measured in SEV-ES VMSAs)",
		                                 want, have);
	}
	return ac_localsev_gate_compare_disk (r, dom, error);
}

/* the prepared disk: the same source, type, format, <source> and <backingStore> */
gboolean
ac_localsev_gate_compare_disk (const AcLocalsevRecord *r, const AcDomain *dom, GError **error)
{
	const gchar *name = r->domain;
	AcDomainDisk *disk;

	disk = ac_domain_find_disk (dom, r->disk_dev);
	if (disk == NULL) {
		g_set_error (
		    error, AC_ERROR, AC_ERROR_REFUSED,
		    "domain '%s': disk: the domain has no disk '%s', the one prepared (source "
		    "'%s'); prepare the launch again",
		    name, r->disk_dev != NULL ? r->disk_dev : "(first)",
		    r->disk_source != NULL ? r->disk_source : "none");
		return FALSE;
	}
	if (g_strcmp0 (disk->source, r->disk_source) != 0) {
		g_autofree gchar *what
		    = g_strdup_printf ("disk: the source of disk %s", r->disk_dev);
		return ac_localsev_gate_differs (error, name, what, r->disk_source, disk->source);
	}
	/* the same name can be another disk: a block device, a network or pool volume, another
	 * format, or a chain whose top is the prepared file */
	{
		const struct {
			const gchar *what;
			const gchar *prepared;
			const gchar *found;
		} parts[] = {
			{ "type (<disk type>)", r->disk_type, disk->type },
			{ "format (<driver>)", r->disk_driver, disk->driver },
			{ "<source>", r->disk_source_xml, disk->source_xml },
			{ "<backingStore>", r->disk_backing, disk->backing },
		};
		for (guint i = 0; i < G_N_ELEMENTS (parts); i++) {
			g_autofree gchar *what = NULL;
			if (g_strcmp0 (parts[i].prepared, parts[i].found) == 0)
				continue;
			what = g_strdup_printf ("disk: the %s of disk %s", parts[i].what,
			                        r->disk_dev);
			return ac_localsev_gate_differs (error, name, what, parts[i].prepared,
			                                 parts[i].found);
		}
	}
	return TRUE;
}

/**
 * ac_localsev_gate_check_prepared:
 * @record: what the service prepared for the domain
 * @domain_xml: the domain about to start (the hook's stdin)
 *
 * The gatekeeper's decision, without any I/O: the start is allowed only when the domain's
 * <launchSecurity> (policy, cbitpos, reducedPhysBits, dhCert, session), firmware loader, disk
 * and vCPUs (SEV-ES) are the prepared ones and the session was not used yet.
 *
 * Returns: %FALSE with %AC_ERROR_REFUSED naming the input that differs.
 */
gboolean
ac_localsev_gate_check_prepared (const AcLocalsevRecord *record,
                                 const gchar *domain_xml,
                                 gsize len,
                                 GError **error)
{
	g_autoptr (AcDomain) dom = NULL;
	g_autoptr (GError) error_local = NULL;

	g_return_val_if_fail (record != NULL, FALSE);
	g_return_val_if_fail (domain_xml != NULL, FALSE);

	dom = ac_domain_parse (domain_xml, (gssize)len, &error_local);
	if (dom == NULL) {
		g_set_error (error, AC_ERROR, AC_ERROR_REFUSED, "domain '%s': %s", record->domain,
		             error_local->message);
		return FALSE;
	}
	if (record->state != AC_LOCALSEV_STATE_PREPARED) {
		g_set_error (
		    error, AC_ERROR, AC_ERROR_REFUSED,
		    "domain '%s': stale session: session %s was already %s (%s); a "
		    "session serves one launch only, so the service must prepare a fresh one",
		    record->domain, record->session_id,
		    ac_localsev_record_state_to_string (record->state),
		    record->state_time != NULL ? record->state_time : "time unknown");
		return FALSE;
	}
	return ac_localsev_gate_compare (record, dom, error);
}
