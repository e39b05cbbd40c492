/*
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A shut off domain: its encrypted image first (used as it is, or built and the domain
 * redefined onto it), then a launch prepared earlier that can still serve, or a fresh one
 * defined with the domain and checked the way the hook will check it.
 */
#include "config.h"

#include "ac-localsev-service.h"

#include <string.h>

#include "ac-codec.h"
#include "ac-error.h"
#include "ac-localsev-domain.h"
#include "ac-localsev-image.h"
#include "ac-localsev-pin.h"
#include "ac-localsev-private.h"
#include "ac-localsev-service-private.h"
#include "ac-sev-cert.h"
#include "ac-virt.h"

/* sha256 (hex) of the PDH the host reports now, or NULL when it reports none usable */
static gchar *
ac_localsev_service_host_pdh_sha256 (AcSevHost *host, GError **error)
{
	g_autoptr (AcSevHostInfo) info = ac_sev_host_get_sev_info (host, error);
	g_autofree guint8 *pdh = NULL;
	g_autofree gchar *what = NULL;
	gsize len = 0;

	if (info == NULL)
		return NULL;
	what = g_strdup_printf ("chain: host %s's pdh", ac_sev_host_get_name (host));
	pdh = ac_codec_base64_decode (what, info->pdh, AC_SEV_CERT_SIZE, AC_SEV_CERT_SIZE,
	                              AC_ERROR_UNTRUSTED, &len, error);
	if (pdh == NULL)
		return NULL;
	return g_compute_checksum_for_data (G_CHECKSUM_SHA256, pdh, len);
}

/* @record's @noun ("session" for SEV, "launch" for SEV-SNP) still unused and not expired */
static gboolean
ac_localsev_service_record_unused (const AcLocalsevRecord *record, const gchar *noun, gchar **why)
{
	gchar *reason = NULL;

	if (record->state != AC_LOCALSEV_STATE_PREPARED)
		reason = g_strdup_printf ("%s %s was %s", noun, record->session_id,
		                          ac_localsev_record_state_to_string (record->state));
	else if (ac_localsev_record_needs_refresh (record, NULL))
		reason = g_strdup_printf ("%s %s, prepared %s, expires %s", noun,
		                          record->session_id, record->prepared, record->expires);
	if (reason == NULL)
		return TRUE;
	*why = reason;
	return FALSE;
}

/*
 * Whether @record can still serve the next start of the domain as defined now: its session
 * unused, made for the platform the host reports now, for the tag's policy, firmware and disk,
 * and the definition carries exactly its <launchSecurity> (the gatekeeper's own check).
 */
static gboolean
ac_localsev_service_record_usable (AcSevHost *host,
                                   const AcLocalsevRecord *record,
                                   const AcDomain *dom,
                                   const gchar *xml,
                                   gchar **why)
{
	g_autoptr (GError) error = NULL;
	g_autofree gchar *pdh_sha256 = NULL;
	const gchar *fw_path;
	const AcTag *tag = dom->tag;

	if (!ac_localsev_service_record_unused (record, "session", why))
		return FALSE;
	if (record->policy != tag->policy) {
		*why = g_strdup_printf ("the tag's policy is now 0x%x, the session's 0x%x",
		                        tag->policy, record->policy);
		return FALSE;
	}
	if (tag->firmware_sha256 == NULL || record->firmware_sha256 == NULL
	    || g_ascii_strcasecmp (tag->firmware_sha256, record->firmware_sha256) != 0) {
		*why = g_strdup ("the tag pins another firmware");
		return FALSE;
	}
	if (tag->disk_dev != NULL && g_strcmp0 (tag->disk_dev, record->disk_dev) != 0) {
		*why = g_strdup_printf ("the tag names disk %s, the session was made for %s",
		                        tag->disk_dev, record->disk_dev);
		return FALSE;
	}
	fw_path = tag->firmware_file != NULL ? tag->firmware_file : dom->loader;
	if (g_strcmp0 (fw_path, record->firmware_path) != 0) {
		*why = g_strdup_printf ("the firmware is now %s",
		                        fw_path != NULL ? fw_path : "(none)");
		return FALSE;
	}
	if (!ac_localsev_gate_check_prepared (record, xml, strlen (xml), &error)) {
		*why = g_strdup (error->message);
		return FALSE;
	}
	pdh_sha256 = ac_localsev_service_host_pdh_sha256 (host, &error);
	if (pdh_sha256 == NULL) {
		*why = g_strdup (error->message);
		return FALSE;
	}
	if (g_strcmp0 (pdh_sha256, record->pdh_sha256) != 0) {
		*why = g_strdup_printf ("the host's PDH changed (sha256 now %s)", pdh_sha256);
		return FALSE;
	}
	return TRUE;
}

/* the SEV-SNP counterpart: the launch unused, for the tag's policy and disk, the runtime and
 * owner configured now, and the definition exactly as prepared (the gatekeeper's check) */
static gboolean
ac_localsev_service_snp_record_usable (const AcLocalsevOptions *opts,
                                       const AcLocalsevRecord *record,
                                       const AcDomain *dom,
                                       const gchar *xml,
                                       gchar **why)
{
	g_autoptr (GError) error = NULL;
	g_autofree gchar *manifest = NULL;
	g_autofree gchar *text = NULL;
	g_autofree gchar *sha256 = NULL;
	gsize len = 0;
	const AcTag *tag = dom->tag;

	if (record->tee != AC_TEE_SNP) {
		*why = g_strdup ("the prepared launch is an SEV one");
		return FALSE;
	}
	if (!ac_localsev_service_record_unused (record, "launch", why))
		return FALSE;
	if (record->snp_policy != tag->snp_policy) {
		*why = g_strdup_printf ("the tag's SNP policy is now 0x%" G_GINT64_MODIFIER
		                        "x, the launch's 0x%" G_GINT64_MODIFIER "x",
		                        tag->snp_policy, record->snp_policy);
		return FALSE;
	}
	if (tag->disk_dev != NULL && g_strcmp0 (tag->disk_dev, record->disk_dev) != 0) {
		*why = g_strdup_printf ("the tag names disk %s, the launch was made for %s",
		                        tag->disk_dev, record->disk_dev);
		return FALSE;
	}
	if (opts->snp_owner == NULL || record->owner == NULL
	    || g_ascii_strcasecmp (opts->snp_owner, record->owner) != 0) {
		*why = g_strdup ("the owner's key changed");
		return FALSE;
	}
	if (opts->snp_runtime == NULL) {
		*why = g_strdup ("no local SEV-SNP runtime is configured");
		return FALSE;
	}
	manifest = g_build_filename (opts->snp_runtime, "manifest.json", NULL);
	if (!g_file_get_contents (manifest, &text, &len, &error)) {
		*why = g_strdup (error->message);
		return FALSE;
	}
	sha256 = g_compute_checksum_for_data (G_CHECKSUM_SHA256, (const guchar *)text, len);
	if (g_strcmp0 (sha256, record->runtime_sha256) != 0) {
		*why = g_strdup_printf ("the runtime's manifest changed (sha256 now %s)", sha256);
		return FALSE;
	}
	if (!ac_localsev_gate_check_prepared (record, xml, strlen (xml), &error)) {
		*why = g_strdup (error->message);
		return FALSE;
	}
	return TRUE;
}

/* ---- shut off: the image, then prepare ------------------------------------------------- */

typedef struct {
	const AcStatus *current;
	const AcLocalsevServiceRun *run;
} AcLocalsevServiceReport;

static void
ac_localsev_service_on_build_progress (guint percent, gpointer user_data)
{
	AcLocalsevServiceReport *report = user_data;
	g_autoptr (AcStatus) st = NULL;

	if (report->run == NULL || report->run->status_func == NULL)
		return;
	st = ac_localsev_service_status_new (report->current, "building", "build");
	st->progress = percent;
	report->run->status_func (st, report->run->user_data);
}

/* a launch prepared earlier that can still serve the next start: nothing to write */
static gboolean
ac_localsev_service_record_serves (AcSevHost *host,
                                   const AcLocalsevOptions *opts,
                                   const gchar *uuid,
                                   const gchar *name,
                                   const AcDomain *domain,
                                   const gchar *xml)
{
	g_autoptr (AcLocalsevRecord) record = NULL;
	g_autoptr (GError) error_local = NULL;
	g_autofree gchar *why = NULL;

	record = ac_localsev_record_load (opts->state_dir, uuid, &error_local);
	if (record != NULL
	    && (domain->tag->tee == AC_TEE_SNP
	            ? ac_localsev_service_snp_record_usable (opts, record, domain, xml, &why)
	            : ac_localsev_service_record_usable (host, record, domain, xml, &why))) {
		g_debug ("domain '%s': session %s prepared at %s still serves the next start", name,
		         record->session_id, record->prepared);
		return TRUE;
	}
	if (record != NULL)
		g_debug ("domain '%s': preparing a fresh launch: %s", name, why);
	else
		g_debug ("domain '%s': preparing a launch: %s", name, error_local->message);
	return FALSE;
}

/* a remote host's tag must be the one the owner approved (pinned when first seen) */
static gboolean
ac_localsev_service_pin_check (AcSevHost *host,
                               const AcLocalsevOptions *opts,
                               const gchar *uuid,
                               const gchar *name,
                               const AcTag *tag,
                               GError **error)
{
	gboolean pinned_now = FALSE;

	if (!opts->pin_tags)
		return TRUE;
	if (!ac_localsev_pin_check (opts->state_dir, uuid, name, tag, &pinned_now, error))
		return FALSE;
	if (pinned_now)
		g_message ("domain '%s': the tag on host %s, seen for the first time, is now "
		           "the approved one; changes made on that host will be refused until "
		           "approved with 'virt-aleph tag %s --approve'",
		           name, ac_sev_host_get_name (host), name);
	return TRUE;
}

/* the tagged disk of @domain has a source whose passphrase is in @secrets_conn's store */
static gboolean
ac_localsev_service_check_disk (virConnectPtr secrets_conn,
                                virDomainPtr dom,
                                const gchar *name,
                                const AcDomain *domain,
                                GError **error)
{
	const AcTag *tag = domain->tag;
	AcDomainDisk *disk = ac_domain_get_tagged_disk (domain);

	if (disk == NULL || disk->source == NULL) {
		g_set_error (
		    error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		    "domain '%s': %s%s%s; the local SEV flow needs the encrypted image as a "
		    "file or block device source",
		    name, disk == NULL ? "no disk" : "disk ",
		    disk == NULL ? (tag->disk_dev != NULL ? " with target dev " : " at all")
		                 : disk->dev,
		    disk == NULL ? (tag->disk_dev != NULL ? tag->disk_dev : "")
		                 : " has no <source>");
		return FALSE;
	}
	if (!ac_localsev_service_secret_check (secrets_conn, dom, disk->source, error))
		return FALSE;
	return TRUE;
}

/* prepares the launch and defines the domain with it; what libvirt kept must pass the gate */
static gboolean
ac_localsev_service_define_prepared (AcSevHost *host,
                                     const AcLocalsevOptions *opts,
                                     const AcTag *tag,
                                     virDomainPtr dom,
                                     const gchar *name,
                                     const gchar *xml,
                                     const AcDomain *domain,
                                     gboolean *redefined,
                                     GError **error)
{
	g_autoptr (AcLocalsevPrepared) prepared = NULL;
	g_autoptr (GError) error_local = NULL;
	g_autofree gchar *back = NULL;
	virDomainPtr defined;

	prepared = ac_localsev_prepare_domain (host, opts, tag, xml, domain, NULL, error);
	if (prepared == NULL)
		return FALSE;
	defined = virDomainDefineXML (virDomainGetConnect (dom), prepared->domain_xml);
	if (defined == NULL) {
		ac_virt_set_error (
		    error, "domain '%s': cannot define it with the prepared <launchSecurity>",
		    name);
		return FALSE;
	}
	if (redefined != NULL)
		*redefined = TRUE;
	/* what libvirt kept is what the hook will see: it must pass the gatekeeper */
	back = ac_virt_get_xml_flags (defined, VIR_DOMAIN_XML_INACTIVE, error);
	virDomainFree (defined);
	if (back == NULL)
		return FALSE;
	if (!ac_localsev_gate_check_prepared (prepared->record, back, strlen (back),
	                                      &error_local)) {
		g_set_error (error, AC_ERROR, AC_ERROR_LIBVIRT,
		             "domain '%s': the definition libvirt kept differs from the prepared "
		             "launch: %s",
		             name, error_local->message);
		return FALSE;
	}
	if (prepared->record->tee == AC_TEE_SNP)
		g_message ("domain '%s': prepared SEV-SNP launch %s (policy 0x%" G_GINT64_MODIFIER
		           "x, expected measurement %s); start it with 'virsh start %s': its "
		           "agent is attested and unlocked through %s:%u",
		           name, prepared->record->session_id, prepared->record->snp_policy,
		           prepared->record->expected_measurement, name,
		           opts->snp_agent_host != NULL ? opts->snp_agent_host
		                                        : "(snp-agent unset)",
		           opts->snp_agent_port);
	else
		g_message ("domain '%s': prepared SEV session %s (policy 0x%x, chain to '%s'); "
		           "start it with 'virsh start --paused %s'",
		           name, prepared->record->session_id, prepared->record->policy,
		           prepared->record->chain_generation, name);
	return TRUE;
}

/* the domain redefined onto its image: its XML and model read again, once */
static gboolean
ac_localsev_service_reread (virDomainPtr dom,
                            const gchar *name,
                            gchar **xml,
                            AcDomain **domain,
                            GError **error)
{
	g_clear_pointer (xml, g_free);
	g_clear_pointer (domain, ac_domain_free);
	*xml = ac_virt_get_xml_flags (dom, VIR_DOMAIN_XML_INACTIVE | VIR_DOMAIN_XML_SECURE, error);
	if (*xml != NULL)
		*domain = ac_localsev_service_domain (name, *xml, error);
	return *domain != NULL;
}

/* how the image of a domain tagged @tag is built for this run: its statuses go through
 * @report */
static void
ac_localsev_service_image_context (const AcLocalsevOptions *opts,
                                   const AcLocalsevServiceRun *run,
                                   virConnectPtr secrets_conn,
                                   const AcTag *tag,
                                   AcLocalsevServiceReport *report,
                                   AcLocalsevImageContext *ictx)
{
	ictx->state_dir = opts->state_dir;
	ictx->pool = run != NULL ? run->pool : NULL;
	ictx->secrets_conn = secrets_conn;
	ictx->progress_func = ac_localsev_service_on_build_progress;
	ictx->user_data = report;
	ictx->cancellable = run != NULL ? run->cancellable : NULL;
	/* an SEV-SNP runtime's initrd opens a LUKS2 root filesystem; SEV's firmware a LUKS1 disk */
	ictx->layout
	    = tag->tee == AC_TEE_SNP ? AC_IMAGE_LAYOUT_LUKS2_ROOT : AC_IMAGE_LAYOUT_GRUB_LUKS1;
}

static void
ac_localsev_service_report_built (const AcLocalsevServiceRun *run, const AcStatus *current)
{
	g_autoptr (AcStatus) built = ac_localsev_service_status_new (current, "building", "build");
	built->progress = 100;
	run->status_func (built, run->user_data);
}

gboolean
ac_localsev_service_prepare_run (AcSevHost *host,
                                 const AcLocalsevOptions *opts,
                                 const AcLocalsevServiceRun *run,
                                 virConnectPtr secrets_conn,
                                 virDomainPtr dom,
                                 const AcStatus *current,
                                 gboolean *redefined,
                                 AcStatus **status,
                                 GError **error)
{
	const gchar *name;
	g_autoptr (GError) failure = NULL;
	g_autofree gchar *xml = NULL;
	g_autofree gchar *uuid = NULL;
	g_autoptr (AcDomain) domain = NULL;
	const AcTag *tag;
	g_autoptr (virConnect) own_secrets = NULL;
	g_autoptr (AcLocalsevImageState) image = NULL;
	g_autoptr (AcStatus) with_image = NULL;
	AcLocalsevImageContext ictx = { 0 };
	AcLocalsevServiceReport report = { current, run };
	gboolean switched = FALSE;

	g_return_val_if_fail (AC_IS_SEV_HOST (host), FALSE);
	g_return_val_if_fail (opts != NULL, FALSE);
	g_return_val_if_fail (dom != NULL, FALSE);
	g_return_val_if_fail (status != NULL, FALSE);

	if (redefined != NULL)
		*redefined = FALSE;
	name = virDomainGetName (dom);
	/* SECURE: a redefinition must keep what only the secure XML carries (e.g. VNC passwords) */
	xml = ac_virt_get_xml_flags (dom, VIR_DOMAIN_XML_INACTIVE | VIR_DOMAIN_XML_SECURE,
	                             &failure);
	if (xml == NULL)
		return ac_localsev_service_status_fail (current, "prepare", status, error,
		                                        g_steal_pointer (&failure));
	domain = ac_localsev_service_domain (name, xml, &failure);
	if (domain == NULL)
		return ac_localsev_service_status_fail (current, "prepare", status, error,
		                                        g_steal_pointer (&failure));
	tag = domain->tag;
	if (!ac_localsev_service_uuid (dom, &uuid, &failure))
		return ac_localsev_service_status_fail (current, "prepare", status, error,
		                                        g_steal_pointer (&failure));

	/* a remote host's copy of the tag is not the owner's word: nothing is built for a tag
	 * the owner did not approve (ac-localsev-pin.h; prepare checks it again) */
	if (!ac_localsev_service_pin_check (host, opts, uuid, name, tag, &failure))
		return ac_localsev_service_status_fail (current, "prepare", status, error,
		                                        g_steal_pointer (&failure));

	/* SEV-SNP: the host first; one that cannot launch it gets nothing built or defined */
	if (tag->tee == AC_TEE_SNP && !ac_localsev_service_snp_check_host (host, &failure)) {
		g_prefix_error (&failure, "domain '%s': ", name);
		return ac_localsev_service_status_refuse (current, "prepare", status, error,
		                                          g_steal_pointer (&failure));
	}

	/* the disk must be an encrypted image whose passphrase is in the local store before a
	 * launch is prepared that would wait for it: used as it is, or built now */
	if (secrets_conn == NULL) {
		own_secrets = ac_localsev_service_secrets_connect (virDomainGetConnect (dom), NULL,
		                                                   &failure);
		if (own_secrets == NULL)
			return ac_localsev_service_status_fail (current, "prepare", status, error,
			                                        g_steal_pointer (&failure));
		secrets_conn = own_secrets;
	}
	ac_localsev_service_image_context (opts, run, secrets_conn, tag, &report, &ictx);
	if (!ac_localsev_image_ensure (&ictx, dom, domain, &switched, &image, &failure)) {
		if (switched && redefined != NULL)
			*redefined = TRUE;
		return ac_localsev_service_status_fail (current, "build", status, error,
		                                        g_steal_pointer (&failure));
	}
	if (image != NULL) {
		with_image = ac_localsev_service_status_with_image (current, image);
		current = with_image;
	}
	if (switched) {
		if (redefined != NULL)
			*redefined = TRUE;
		/* built: say so (with the image) before the launch is prepared */
		if (run != NULL && run->status_func != NULL)
			ac_localsev_service_report_built (run, current);
		if (!ac_localsev_service_reread (dom, name, &xml, &domain, &failure))
			return ac_localsev_service_status_fail (current, "prepare", status, error,
			                                        g_steal_pointer (&failure));
		tag = domain->tag;
	}

	if (!ac_localsev_service_check_disk (secrets_conn, dom, name, domain, &failure))
		return ac_localsev_service_status_fail (current, "prepare", status, error,
		                                        g_steal_pointer (&failure));

	/* a launch prepared earlier that can still serve: nothing to write */
	if (!ac_localsev_service_record_serves (host, opts, uuid, name, domain, xml)
	    && !ac_localsev_service_define_prepared (host, opts, tag, dom, name, xml, domain,
	                                             redefined, &failure))
		return ac_localsev_service_status_fail (current, "prepare", status, error,
		                                        g_steal_pointer (&failure));
	*status = ac_localsev_service_status_new (current, "prepared", "prepare");
	(*status)->progress = 100;
	return TRUE;
}

/**
 * ac_localsev_service_prepare:
 *
 * For an inactive domain. First its encrypted image: a disk with a passphrase secret is used
 * as it is, any other is built into one and the domain redefined onto it
 * (ac_localsev_image_ensure()). Then keeps a prepared launch that can still serve (no write at
 * all), or prepares a fresh one — host chain verified, new session — and defines the domain
 * with its <launchSecurity>; the definition libvirt keeps is checked against the record the
 * way the hook will check it.
 *
 * Errors: at step "build", those of ac_localsev_image_ensure() (the builder's, a disk that
 * cannot be read, %AC_ERROR_NOT_FOUND for an image of ours that lost its secret, …); at step
 * "prepare", those of ac_localsev_prepare() (%AC_ERROR_UNTRUSTED for the chain,
 * %AC_ERROR_UNSUPPORTED for a host without SEV, …); %AC_ERROR_LIBVIRT when the definition
 * cannot be written; %AC_ERROR_REFUSED when the passphrase would be on a remote host.
 */
gboolean
ac_localsev_service_prepare (AcSevHost *host,
                             const AcLocalsevOptions *opts,
                             virConnectPtr secrets_conn,
                             virDomainPtr dom,
                             const AcStatus *current,
                             gboolean *redefined,
                             AcStatus **status,
                             GError **error)
{
	return ac_localsev_service_prepare_run (host, opts, NULL, secrets_conn, dom, current,
	                                        redefined, status, error);
}
