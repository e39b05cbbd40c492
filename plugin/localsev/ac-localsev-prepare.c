/*
 * Prepare: the host's chain, the firmware, a fresh launch session and <launchSecurity>.
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
#include "ac-file.h"
#include "ac-time.h"
#include "ac-codec.h"
#include "ac-localsev-domain.h"
#include "ac-localsev-pin.h"
#include "ac-localsev-store.h"
#include "ac-sev-cert.h"
#include "ac-sev-policy.h"
#include "ac-sev-psp.h"
#include "ac-sev-secret.h"
#include "ac-sev-owner.h"
#include "ac-sev-session.h"

void
ac_localsev_prepared_free (AcLocalsevPrepared *prepared)
{
	if (prepared == NULL)
		return;
	ac_localsev_record_free (prepared->record);
	g_free (prepared->launch_security);
	g_free (prepared->domain_xml);
	g_free (prepared);
}

/* ------------------------------------------------------------------------------------------ */
/* firmware                                                                                   */

/* the firmware bytes and their SHA-256; the pinned hash must match */
GBytes *
ac_localsev_prepare_firmware_load (const gchar *path,
                                   const gchar *pinned_sha256,
                                   gchar **sha256_out,
                                   GError **error)
{
	g_autoptr (GBytes) fw = NULL;
	g_autofree gchar *sha = NULL;
	gsize len;

	/* a regular file: a FIFO named by the tag or the domain must not stall the flow */
	fw = ac_file_read_bytes (path, AC_LOCALSEV_MAX_FIRMWARE, error);
	if (fw == NULL) {
		g_prefix_error (error, "firmware: ");
		return NULL;
	}
	len = g_bytes_get_size (fw);
	if (len == 0 || len > AC_LOCALSEV_MAX_FIRMWARE || len % 16 != 0) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "firmware %s has %" G_GSIZE_FORMAT " bytes, expected a non-empty "
		             "multiple of 16 up to %d (an OVMF image for SEV)",
		             path, len, AC_LOCALSEV_MAX_FIRMWARE);
		return NULL;
	}
	sha = g_compute_checksum_for_data (G_CHECKSUM_SHA256, g_bytes_get_data (fw, NULL), len);
	if (pinned_sha256 == NULL || g_ascii_strcasecmp (sha, pinned_sha256) != 0) {
		g_set_error (error, AC_ERROR, AC_ERROR_MISMATCH,
		             "firmware hash: %s has sha256 %s, but the tag pins %s", path, sha,
		             pinned_sha256 != NULL ? pinned_sha256 : "(none)");
		return NULL;
	}
	if (sha256_out != NULL)
		*sha256_out = g_steal_pointer (&sha);
	return g_steal_pointer (&fw);
}

/* ------------------------------------------------------------------------------------------ */
/* the host's chain                                                                           */

AcSevChain *
ac_localsev_prepare_host_chain (const gchar *name,
                                const AcSevHostInfo *info,
                                const AcLocalsevOptions *opts,
                                gchar **pdh_sha256,
                                GCancellable *cancellable,
                                GError **error)
{
	g_autofree guint8 *pdh = NULL;
	g_autofree guint8 *certs = NULL;
	g_autofree gchar *what_pdh = g_strdup_printf ("chain: host %s's pdh", name);
	g_autofree gchar *what_chain = g_strdup_printf ("chain: host %s's cert-chain", name);
	g_autoptr (AcSevChain) chain = NULL;
	g_autoptr (GError) error_local = NULL;
	gsize pdh_len = 0, certs_len = 0;

	pdh = ac_codec_base64_decode (what_pdh, info->pdh, AC_SEV_CERT_SIZE, AC_SEV_CERT_SIZE,
	                                   AC_ERROR_UNTRUSTED, &pdh_len, error);
	if (pdh == NULL)
		return NULL;
	certs = ac_codec_base64_decode (what_chain, info->cert_chain, 3 * AC_SEV_CERT_SIZE,
	                                     AC_SEV_CHAIN_EXPORT_SIZE + 2 * AC_AMD_CERT_SIZE_4096,
	                                     AC_ERROR_UNTRUSTED, &certs_len, error);
	if (certs == NULL)
		return NULL;
	if (certs_len == 3 * AC_SEV_CERT_SIZE) {
		/* what QEMU/libvirt report: PEK ‖ OCA ‖ CEK */
		chain
		    = ac_sev_chain_parse_pdh_export (pdh, pdh_len, certs, certs_len, &error_local);
	} else {
		/* a sevctl export (PDH ‖ PEK ‖ OCA ‖ CEK [‖ ASK ‖ ARK]) */
		chain = ac_sev_chain_parse (certs, certs_len, &error_local);
		if (chain != NULL
		    && memcmp (ac_sev_cert_get_data (ac_sev_chain_get_pdh (chain)), pdh,
		               AC_SEV_CERT_SIZE)
		           != 0) {
			g_set_error (
			    error, AC_ERROR, AC_ERROR_UNTRUSTED,
			    "chain: host %s reports a pdh that differs from the PDH in its "
			    "cert-chain",
			    name);
			return NULL;
		}
	}
	if (chain == NULL) {
		g_set_error (error, AC_ERROR, AC_ERROR_UNTRUSTED,
		             "chain: host %s's SEV certificates are malformed: %s", name,
		             error_local->message);
		return NULL;
	}

	/* real firmware exports the CEK unsigned: take AMD's signed one by chip id */
	if ((opts->kds_fetch != NULL || opts->kds_cache_dir != NULL) && info->cpu0_id != NULL) {
		g_autofree gchar *what_id = g_strdup_printf ("chain: host %s's cpu0-id", name);
		g_autofree guint8 *id = NULL;
		g_autoptr (AcSevCert) cek = NULL;
		gsize id_len = 0;

		id = ac_codec_base64_decode (what_id, info->cpu0_id, AC_SEV_ID_SIZE,
		                                  AC_SEV_ID_SIZE, AC_ERROR_UNTRUSTED, &id_len,
		                                  error);
		if (id == NULL)
			return NULL;
		cek = ac_sev_kds_get_cek (id, id_len, opts->kds_cache_dir, opts->kds_fetch,
		                          opts->kds_user_data, cancellable, &error_local);
		if (cek == NULL) {
			g_set_error (error, AC_ERROR, error_local->code,
			             "chain: the CEK of host %s from AMD KDS: %s", name,
			             error_local->message);
			return NULL;
		}
		ac_sev_chain_set_cek (chain, cek);
	}
	if (pdh_sha256 != NULL)
		*pdh_sha256 = g_compute_checksum_for_data (G_CHECKSUM_SHA256, pdh, pdh_len);
	return g_steal_pointer (&chain);
}

/* ------------------------------------------------------------------------------------------ */
/* prepare                                                                                    */

static gchar *
ac_localsev_prepare_launch_security_xml (const AcLocalsevRecord *r)
{
	return g_strdup_printf ("<launchSecurity type='sev'>\n"
	                        "    <cbitpos>%u</cbitpos>\n"
	                        "    <reducedPhysBits>%u</reducedPhysBits>\n"
	                        "    <policy>0x%04x</policy>\n"
	                        "    <dhCert>%s</dhCert>\n"
	                        "    <session>%s</session>\n"
	                        "  </launchSecurity>",
	                        r->cbitpos, r->reduced_phys_bits, r->policy, r->dh_cert,
	                        r->session);
}

/**
 * ac_localsev_prepare:
 * @tag: the owner's intent (policy, firmware hash, disk)
 * @domain_xml: the domain as it will be defined (with its disk and loader in place)
 *
 * Verifies the host's SEV chain, makes a fresh launch session, keeps TEK/TIK in the domain's
 * private state directory and records what was prepared. Any earlier session of the domain is
 * erased. The caller defines `prepared->domain_xml` with libvirt.
 */
/* the domain parsed and checked against what the flow supports; the tag pinned (remote hosts) */
static gboolean
ac_localsev_prepare_check_domain (AcSevHost *host,
                                  const AcLocalsevOptions *opts,
                                  const AcTag *tag,
                                  const AcDomain *dom,
                                  GError **error)
{
	if (dom->name == NULL || !ac_localsev_store_check_uuid (dom->uuid, error)) {
		if (dom->name == NULL)
			g_set_error_literal (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			                     "domain XML has no <name>");
		return FALSE;
	}
	if (opts->pin_tags) {
		gboolean pinned_now = FALSE;
		if (!ac_localsev_pin_check (opts->state_dir, dom->uuid, dom->name, tag,
		                                &pinned_now, error))
			return FALSE;
		if (pinned_now)
			g_message (
			    "domain '%s': the tag on host %s, seen for the first time, is now the "
			    "approved one; changes made on that host will be refused until "
			    "approved "
			    "with 'virt-aleph tag %s --approve'",
			    dom->name, ac_sev_host_get_name (host), dom->name);
	}
	/* SEV-SNP: its policy and boot are checked by ac_localsev_snp_prepare() */
	if (tag->tee == AC_TEE_SNP)
		return TRUE;
	if (!ac_sev_policy_validate (tag->policy, error))
		return FALSE;
	if (dom->has_kernel) {
		g_set_error (
		    error, AC_ERROR, AC_ERROR_UNSUPPORTED,
		    "domain '%s' boots a kernel directly (<os><kernel>); the local SEV flow "
		    "measures firmware-only launches (the firmware boots the encrypted disk)",
		    dom->name);
		return FALSE;
	}
	return TRUE;
}

/* the host's SEV parameters and its chain, verified up to a trusted root: the owner's launch
 * for @policy (sev/ac-sev-owner.h) */
static AcSevOwnerLaunch *
ac_localsev_prepare_verify_host (AcSevHost *host,
                                 const AcLocalsevOptions *opts,
                                 guint32 policy,
                                 AcSevHostInfo **info_out,
                                 gchar **pdh_sha256,
                                 GCancellable *cancellable,
                                 GError **error)
{
	g_autoptr (AcSevHostInfo) info = NULL;
	g_autoptr (AcSevChain) chain = NULL;
	g_autoptr (AcSevRoots) roots = NULL;
	g_autoptr (AcSevOwnerLaunch) launch = ac_sev_owner_launch_new (policy);
	const AcSevChainVerdict *verdict;
	g_autoptr (GError) error_local = NULL;

	info = ac_sev_host_get_sev_info (host, error);
	if (info == NULL)
		return NULL;
	if (info->cbitpos == 0 || info->cbitpos > 63 || info->reduced_phys_bits > 63) {
		g_set_error (error, AC_ERROR, AC_ERROR_UNTRUSTED,
		             "host %s reports cbitpos %u and reduced-phys-bits %u, expected 1-63 "
		             "and 0-63",
		             ac_sev_host_get_name (host), info->cbitpos, info->reduced_phys_bits);
		return NULL;
	}
	chain = ac_localsev_prepare_host_chain (ac_sev_host_get_name (host), info, opts, pdh_sha256,
	                                        cancellable, error);
	if (chain == NULL)
		return NULL;
	roots = opts->roots != NULL ? ac_sev_roots_ref (opts->roots) : ac_sev_roots_new_builtin ();
	if (!ac_sev_owner_launch_verify_chain (launch, chain, roots, opts->generation,
	                                       &error_local)) {
		g_set_error (error, AC_ERROR, error_local->code,
		             "chain: the SEV certificate chain of host %s does not verify: %s",
		             ac_sev_host_get_name (host), error_local->message);
		return NULL;
	}
	verdict = ac_sev_owner_launch_get_verdict (launch);
	g_debug ("host %s: chain verified to root '%s' (ARK %s, ASK %s), PDH sha256 %s",
	         ac_sev_host_get_name (host), verdict->generation, verdict->ark_key_id,
	         verdict->ask_key_id, *pdh_sha256);
	*info_out = g_steal_pointer (&info);
	return g_steal_pointer (&launch);
}

/**
 * ac_localsev_prepare_record_new:
 *
 * The part of a launch record that SEV and SEV-SNP share: a fresh session id, the domain,
 * prepared now and expiring after opts->lifetime_s (at least a minute).
 */
AcLocalsevRecord *
ac_localsev_prepare_record_new (const AcLocalsevOptions *opts, const AcDomain *dom, GError **error)
{
	g_autoptr (AcLocalsevRecord) r = g_new0 (AcLocalsevRecord, 1);
	g_autoptr (GDateTime) now = NULL;
	g_autoptr (GDateTime) expires = NULL;
	guint8 id[16];

	if (RAND_bytes (id, sizeof (id)) != 1) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_INTERNAL, "RAND_bytes failed");
		return NULL;
	}
	r->session_id = ac_codec_hex_encode (id, sizeof (id));
	r->domain = g_strdup (dom->name);
	r->uuid = g_strdup (dom->uuid);
	r->prepared = ac_time_now_utc ();
	r->state = AC_LOCALSEV_STATE_PREPARED;
	r->state_time = g_strdup (r->prepared);
	now = g_date_time_new_now_utc ();
	expires = g_date_time_add_seconds (now, MAX (opts->lifetime_s, 60));
	r->expires = ac_time_format_utc (expires);
	return g_steal_pointer (&r);
}

/* what the gate compares of the disk, from @disk */
void
ac_localsev_prepare_record_set_disk (AcLocalsevRecord *r, const AcDomainDisk *disk)
{
	r->disk_dev = g_strdup (disk->dev);
	r->disk_source = g_strdup (disk->source);
	r->disk_type = g_strdup (disk->type);
	r->disk_driver = g_strdup (disk->driver);
	r->disk_source_xml = g_strdup (disk->source_xml);
	r->disk_backing = g_strdup (disk->backing);
}

/* the disk the tag names (or the first), or NULL with AC_ERROR_INVALID_INPUT */
AcDomainDisk *
ac_localsev_prepare_find_disk (const AcDomain *dom, const AcTag *tag, GError **error)
{
	AcDomainDisk *disk = ac_domain_find_disk (dom, tag->disk_dev);

	if (disk == NULL)
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "domain '%s' has no disk %s%s%s", dom->name,
		             tag->disk_dev != NULL ? "with target dev '" : "",
		             tag->disk_dev != NULL ? tag->disk_dev : "at all",
		             tag->disk_dev != NULL ? "'" : "");
	return disk;
}

/* the host the record is for: a hook on another machine checks it is its own; a signed record
 * must name it, an unsigned one may go without (*@host_id NULL) */
gboolean
ac_localsev_prepare_host_id (AcSevHost *host,
                             const AcLocalsevOptions *opts,
                             const AcDomain *dom,
                             gchar **host_id,
                             GError **error)
{
	g_autoptr (GError) error_local = NULL;

	*host_id = ac_sev_host_get_host_id (host, &error_local);
	if (*host_id == NULL && opts->sign != NULL) {
		g_propagate_prefixed_error (
		    error, g_steal_pointer (&error_local),
		    "domain '%s': the launch record must name its host: ", dom->name);
		return FALSE;
	}
	return TRUE;
}

/* AC_ERROR_CANCELLED when @cancellable is: the last point before anything is written */
gboolean
ac_localsev_prepare_check_cancelled (GCancellable *cancellable, GError **error)
{
	g_autoptr (GError) error_local = NULL;

	if (g_cancellable_set_error_if_cancelled (cancellable, &error_local)) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_CANCELLED, error_local->message);
		return FALSE;
	}
	return TRUE;
}

/* the record of the SEV launch being prepared; steals *pdh_sha256, *fw_sha256 and *host_id */
static AcLocalsevRecord *
ac_localsev_prepare_new_record (const AcLocalsevOptions *opts,
                                const AcTag *tag,
                                const AcDomain *dom,
                                AcDomainDisk *disk,
                                const AcSevHostInfo *info,
                                AcSevOwnerLaunch *launch,
                                const gchar *fw_path,
                                gchar **fw_sha256,
                                gchar **pdh_sha256,
                                gchar **host_id,
                                GError **error)
{
	g_autoptr (AcLocalsevRecord) r = ac_localsev_prepare_record_new (opts, dom, error);

	if (r == NULL)
		return NULL;
	r->policy = tag->policy;
	r->cbitpos = info->cbitpos;
	r->reduced_phys_bits = info->reduced_phys_bits;
	r->dh_cert = ac_sev_owner_launch_get_godh_b64 (launch);
	r->session = ac_sev_owner_launch_get_session_b64 (launch);
	r->pdh_sha256 = g_steal_pointer (pdh_sha256);
	r->chain_generation = g_strdup (ac_sev_owner_launch_get_verdict (launch)->generation);
	r->firmware_path = g_strdup (fw_path);
	r->firmware_sha256 = g_steal_pointer (fw_sha256);
	r->loader = g_strdup (dom->loader);
	r->vcpus = (tag->policy & AC_SEV_POLICY_ES) ? MAX (dom->vcpus, 1) : dom->vcpus;
	r->firmware = g_strdup (dom->firmware);
	ac_localsev_prepare_record_set_disk (r, disk);
	r->host = g_steal_pointer (host_id);
	return g_steal_pointer (&r);
}

/* <launchSecurity> for @r (SEV or SEV-SNP) and the domain XML with it (and, signed, the
 * record) in place */
AcLocalsevPrepared *
ac_localsev_prepare_domain_xml (const AcLocalsevOptions *opts,
                                const AcLocalsevRecord *r,
                                const gchar *domain_xml,
                                GError **error)
{
	g_autoptr (AcLocalsevPrepared) prepared = g_new0 (AcLocalsevPrepared, 1);

	prepared->launch_security = r->tee == AC_TEE_SNP
	                                ? ac_localsev_snp_launch_security_xml (r)
	                                : ac_localsev_prepare_launch_security_xml (r);
	prepared->domain_xml
	    = ac_localsev_domain_set_launch_security (domain_xml, prepared->launch_security, error);
	if (prepared->domain_xml == NULL)
		return NULL;
	if (opts->sign != NULL) {
		g_autofree gchar *element = ac_localsev_record_launch_element (opts, r, error);
		g_autofree gchar *with_record = NULL;
		if (element == NULL)
			return NULL;
		with_record
		    = ac_localsev_domain_set_launch_record (prepared->domain_xml, element, error);
		if (with_record == NULL)
			return NULL;
		g_free (prepared->domain_xml);
		prepared->domain_xml = g_steal_pointer (&with_record);
	}
	return g_steal_pointer (&prepared);
}

/* keys first, then the record that points at them, then the old session goes */
static gboolean
ac_localsev_prepare_save (const gchar *dir,
                          AcSevOwnerLaunch *launch,
                          const AcLocalsevRecord *r,
                          const AcLocalsevRecord *old,
                          GError **error)
{
	g_autoptr (GError) error_local = NULL;

	if (!ac_sev_owner_launch_write_session (launch, dir, r->session_id, error))
		return FALSE;
	if (!ac_localsev_record_save (dir, r, error)) {
		(void)ac_localsev_store_shred_session (dir, r->session_id, NULL);
		return FALSE;
	}
	if (old != NULL && g_strcmp0 (old->session_id, r->session_id) != 0
	    && !ac_localsev_store_shred_session (dir, old->session_id, &error_local)) {
		g_warning ("domain '%s': %s", r->domain, error_local->message);
		g_clear_error (&error_local);
	}
	return TRUE;
}

AcLocalsevPrepared *
ac_localsev_prepare (AcSevHost *host,
                     const AcLocalsevOptions *opts,
                     const AcTag *tag,
                     const gchar *domain_xml,
                     GCancellable *cancellable,
                     GError **error)
{
	g_autoptr (AcDomain) dom = NULL;

	g_return_val_if_fail (domain_xml != NULL, NULL);
	dom = ac_domain_parse (domain_xml, -1, error);
	if (dom == NULL)
		return NULL;
	return ac_localsev_prepare_domain (host, opts, tag, domain_xml, dom, cancellable, error);
}

/**
 * ac_localsev_prepare_domain:
 * @domain_xml: the domain's XML, which the prepared one is derived from
 * @dom: its model, already read (ac_domain_parse() of @domain_xml)
 *
 * ac_localsev_prepare() for a caller that holds the domain's model.
 */
AcLocalsevPrepared *
ac_localsev_prepare_domain (AcSevHost *host,
                            const AcLocalsevOptions *opts,
                            const AcTag *tag,
                            const gchar *domain_xml,
                            const AcDomain *dom,
                            GCancellable *cancellable,
                            GError **error)
{
	g_autoptr (AcSevHostInfo) info = NULL;
	g_autoptr (AcSevOwnerLaunch) launch = NULL;
	g_autoptr (AcLocalsevRecord) r = NULL;
	g_autoptr (AcLocalsevRecord) old = NULL;
	g_autoptr (AcLocalsevPrepared) prepared = NULL;
	g_autoptr (GError) error_local = NULL;
	g_autoptr (GBytes) fw = NULL;
	g_autofree gchar *dir = NULL;
	g_autofree gchar *pdh_sha256 = NULL;
	g_autofree gchar *fw_sha256 = NULL;
	g_autofree gchar *host_id = NULL;
	AcDomainDisk *disk;
	const gchar *fw_path;

	g_return_val_if_fail (AC_IS_SEV_HOST (host), NULL);
	g_return_val_if_fail (opts != NULL, NULL);
	g_return_val_if_fail (tag != NULL, NULL);
	g_return_val_if_fail (domain_xml != NULL, NULL);

	g_return_val_if_fail (dom != NULL, NULL);
	if (!ac_localsev_prepare_check_domain (host, opts, tag, dom, error))
		return NULL;
	if (tag->tee == AC_TEE_SNP)
		return ac_localsev_snp_prepare (host, opts, tag, domain_xml, dom, cancellable, error);

	/* the firmware QEMU will measure: the tag's local copy, else the domain's loader */
	fw_path = tag->firmware_file != NULL ? tag->firmware_file : dom->loader;
	if (fw_path == NULL) {
		g_set_error (
		    error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		    "domain '%s' names no firmware: set <os><loader> to the SEV OVMF image "
		    "whose sha256 the tag pins (%s)",
		    dom->name, tag->firmware_sha256);
		return NULL;
	}
	fw = ac_localsev_prepare_firmware_load (fw_path, tag->firmware_sha256, &fw_sha256, error);
	if (fw == NULL)
		return NULL;

	if (!ac_localsev_prepare_host_id (host, opts, dom, &host_id, error))
		return NULL;
	disk = ac_localsev_prepare_find_disk (dom, tag, error);
	if (disk == NULL)
		return NULL;

	launch = ac_localsev_prepare_verify_host (host, opts, tag->policy, &info, &pdh_sha256,
	                                          cancellable, error);
	if (launch == NULL)
		return NULL;

	/* a fresh session for this launch */
	if (!ac_sev_owner_launch_start_session (launch, error)
	    || !ac_localsev_prepare_check_cancelled (cancellable, error))
		return NULL;

	dir = ac_localsev_store_domain_dir (opts->state_dir, dom->uuid, error);
	if (dir == NULL)
		return NULL;
	old = ac_localsev_record_load_from (dir, dom->name, &error_local);
	if (old == NULL) {
		if (!g_error_matches (error_local, AC_ERROR, AC_ERROR_NOT_FOUND))
			g_warning ("replacing an unreadable launch record of domain '%s': %s",
			           dom->name, error_local->message);
		g_clear_error (&error_local);
	}

	r = ac_localsev_prepare_new_record (opts, tag, dom, disk, info, launch, fw_path, &fw_sha256,
	                                    &pdh_sha256, &host_id, error);
	if (r == NULL)
		return NULL;
	prepared = ac_localsev_prepare_domain_xml (opts, r, domain_xml, error);
	if (prepared == NULL)
		return NULL;
	if (!ac_localsev_prepare_save (dir, launch, r, old, error))
		return NULL;
	g_debug ("domain '%s': prepared session %s (policy 0x%x, cbitpos %u, reducedPhysBits %u)",
	         r->domain, r->session_id, r->policy, r->cbitpos, r->reduced_phys_bits);
	prepared->record = g_steal_pointer (&r);
	return g_steal_pointer (&prepared);
}
