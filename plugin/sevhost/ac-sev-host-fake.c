/*
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "ac-sev-host-fake.h"

#include <openssl/crypto.h>
#include <string.h>

#include "ac-domain.h"
#include "ac-error.h"
#include "ac-sev-policy.h"

#define FAKE_MAX_FIRMWARE (64 * 1024 * 1024)

typedef struct {
	gchar *uuid;
	gchar *name;
	AcSevDomainState state;
	AcSevPsp *psp; /* the platform it runs on */
	guint32 handle;
	guint32 policy;
	gchar *measurement;
	gchar *reported_measurement;
	gboolean has_reported_policy;
	guint32 reported_policy;
	gboolean has_secret_area;
	guint32 secret_base;
	GBytes *secret;
	guint secret_count;
} AcSevHostFakeDomain;

struct _AcSevHostFake {
	GObject parent_instance;
	AcSevPsp *psp;
	guint cbitpos;
	guint reduced_phys_bits;
	guint cpu_family;
	guint cpu_model;
	guint cpu_stepping;
	AcSevVmsaVariant vmsa_variant;
	gboolean ignore_session;
	gchar *host_id; /* NULL: this machine's host name */
	AcSevHostSnpFacts *snp_facts; /* NULL: get_snp_facts fails (unsupported) */
	guint set_state_calls;
	GHashTable *domains; /* uuid → AcSevHostFakeDomain */
};

static void ac_sev_host_fake_iface_init (AcSevHostInterface *iface);

G_DEFINE_TYPE_WITH_CODE (AcSevHostFake,
			 ac_sev_host_fake,
			 G_TYPE_OBJECT,
			 G_IMPLEMENT_INTERFACE (AC_TYPE_SEV_HOST, ac_sev_host_fake_iface_init))

static void
ac_sev_host_fake_domain_free (AcSevHostFakeDomain *d)
{
	g_free (d->uuid);
	g_free (d->name);
	g_free (d->measurement);
	g_free (d->reported_measurement);
	if (d->secret != NULL)
		g_bytes_unref (d->secret);
	g_free (d);
}

static AcSevHostFakeDomain *
ac_sev_host_fake_lookup (AcSevHostFake *self, const gchar *domain)
{
	GHashTableIter iter;
	AcSevHostFakeDomain *d;
	g_autofree gchar *lower = NULL;

	if (domain == NULL)
		return NULL;
	lower = g_ascii_strdown (domain, -1);
	d = g_hash_table_lookup (self->domains, lower);
	if (d != NULL)
		return d;
	g_hash_table_iter_init (&iter, self->domains);
	while (g_hash_table_iter_next (&iter, NULL, (gpointer *)&d)) {
		if (g_strcmp0 (d->name, domain) == 0)
			return d;
	}
	return NULL;
}

static AcSevHostFakeDomain *
ac_sev_host_fake_require (AcSevHostFake *self, const gchar *domain, GError **error)
{
	AcSevHostFakeDomain *d = ac_sev_host_fake_lookup (self, domain);
	if (d == NULL)
		g_set_error (error,
			     AC_ERROR,
			     AC_ERROR_NOT_FOUND,
			     "domain '%s': Domain not found (fake host)",
			     domain);
	return d;
}

static gboolean
ac_sev_host_fake_psp_error (AcSevPsp *psp, AcSevStatus st, const gchar *cmd, GError **error)
{
	const gchar *msg = ac_sev_psp_get_last_message (psp);
	g_set_error (error,
		     AC_ERROR,
		     AC_ERROR_LIBVIRT,
		     "internal error: SEV %s failed: %s (0x%02x)%s%s",
		     cmd,
		     ac_sev_status_to_string (st),
		     st,
		     msg != NULL ? ": " : "",
		     msg != NULL ? msg : "");
	return FALSE;
}

static const gchar *
ac_sev_host_fake_get_name (AcSevHost *host)
{
	return "fake SEV host (software PSP)";
}

static gchar *
ac_sev_host_fake_get_host_id (AcSevHost *host, GError **error)
{
	AcSevHostFake *self = AC_SEV_HOST_FAKE (host);
	return g_strdup (self->host_id != NULL ? self->host_id : g_get_host_name ());
}

/* the name the fake host gives as its host id (NULL: this machine's) */
void
ac_sev_host_fake_set_host_id (AcSevHostFake *self, const gchar *host_id)
{
	g_return_if_fail (AC_IS_SEV_HOST_FAKE (self));
	g_free (self->host_id);
	self->host_id = g_strdup (host_id);
}

/* what get_snp_facts answers: NULL = AC_ERROR_UNSUPPORTED; @domcaps NULL = no domain
 * capabilities */
void
ac_sev_host_fake_set_snp_facts (AcSevHostFake *self,
                                gulong libvirt_version,
                                gulong qemu_version,
                                const gchar *domcaps)
{
	g_return_if_fail (AC_IS_SEV_HOST_FAKE (self));
	ac_sev_host_snp_facts_free (self->snp_facts);
	self->snp_facts = ac_sev_host_snp_facts_new ();
	self->snp_facts->libvirt_version = libvirt_version;
	self->snp_facts->qemu_version = qemu_version;
	self->snp_facts->domcaps = g_strdup (domcaps);
	if (domcaps == NULL)
		self->snp_facts->domcaps_error = g_strdup ("no domain capabilities (fake host)");
}

static AcSevHostSnpFacts *
ac_sev_host_fake_get_snp_facts (AcSevHost *host, GError **error)
{
	AcSevHostFake *self = AC_SEV_HOST_FAKE (host);
	AcSevHostSnpFacts *copy;

	if (self->snp_facts == NULL) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_UNSUPPORTED,
		                     "the fake host tells nothing about SEV-SNP");
		return NULL;
	}
	copy = ac_sev_host_snp_facts_new ();
	copy->libvirt_version = self->snp_facts->libvirt_version;
	copy->qemu_version = self->snp_facts->qemu_version;
	copy->domcaps = g_strdup (self->snp_facts->domcaps);
	copy->domcaps_error = g_strdup (self->snp_facts->domcaps_error);
	return copy;
}

static AcSevHostInfo *
ac_sev_host_fake_get_sev_info (AcSevHost *host, GError **error)
{
	AcSevHostFake *self = AC_SEV_HOST_FAKE (host);
	g_autoptr(AcSevHostInfo) info = ac_sev_host_info_new ();
	guint8 pdh[AC_SEV_CERT_SIZE];
	guint8 certs[3 * AC_SEV_CERT_SIZE];
	guint8 id[2 * AC_SEV_ID_SIZE];
	guint32 pdh_len = sizeof (pdh), certs_len = sizeof (certs), id_len = sizeof (id);
	AcSevStatus st;

	st = ac_sev_psp_pdh_cert_export (self->psp, pdh, &pdh_len, certs, &certs_len);
	if (st != AC_SEV_STATUS_SUCCESS) {
		ac_sev_host_fake_psp_error (self->psp, st, "PDH_CERT_EXPORT", error);
		return NULL;
	}
	st = ac_sev_psp_get_id (self->psp, id, &id_len);
	if (st != AC_SEV_STATUS_SUCCESS) {
		ac_sev_host_fake_psp_error (self->psp, st, "GET_ID", error);
		return NULL;
	}
	info->pdh = g_base64_encode (pdh, pdh_len);
	info->cert_chain = g_base64_encode (certs, certs_len);
	info->cpu0_id = g_base64_encode (id, MIN (id_len, AC_SEV_ID_SIZE));
	info->cbitpos = self->cbitpos;
	info->reduced_phys_bits = self->reduced_phys_bits;
	info->max_guests = 15;
	info->max_es_guests = 15;
	return g_steal_pointer (&info);
}

static gboolean
ac_sev_host_fake_get_domain_state (AcSevHost *host,
				   const gchar *domain,
				   AcSevDomainState *state,
				   GError **error)
{
	AcSevHostFakeDomain *d = ac_sev_host_fake_require (AC_SEV_HOST_FAKE (host), domain, error);
	if (d == NULL)
		return FALSE;
	*state = d->state;
	return TRUE;
}

static AcSevLaunchInfo *
ac_sev_host_fake_get_launch_security_info (AcSevHost *host, const gchar *domain, GError **error)
{
	AcSevHostFakeDomain *d = ac_sev_host_fake_require (AC_SEV_HOST_FAKE (host), domain, error);
	g_autoptr(AcSevLaunchInfo) info = NULL;
	guint8 major = 0, minor = 0, build = 0;

	if (d == NULL)
		return NULL;
	if (d->state != AC_SEV_DOMAIN_STATE_PAUSED && d->state != AC_SEV_DOMAIN_STATE_RUNNING) {
		g_set_error (error,
			     AC_ERROR,
			     AC_ERROR_LIBVIRT,
			     "Requested operation is not valid: domain '%s' is not running",
			     domain);
		return NULL;
	}
	ac_sev_psp_get_firmware (d->psp, &major, &minor, &build);
	info = ac_sev_launch_info_new ();
	info->measurement = g_strdup (d->reported_measurement != NULL ? d->reported_measurement
								      : d->measurement);
	info->api_major = major;
	info->api_minor = minor;
	info->build_id = build;
	info->policy = d->has_reported_policy ? d->reported_policy : d->policy;
	return g_steal_pointer (&info);
}

static gboolean
ac_sev_host_fake_set_launch_security_state (AcSevHost *host,
					    const gchar *domain,
					    const gchar *secret_header,
					    const gchar *secret,
					    gboolean has_address,
					    guint64 address,
					    GError **error)
{
	AcSevHostFake *self = AC_SEV_HOST_FAKE (host);
	AcSevHostFakeDomain *d;
	g_autofree guint8 *hdr = NULL;
	g_autofree guint8 *trans = NULL;
	gsize hdr_len = 0, trans_len = 0;
	guint64 gpa;
	AcSevStatus st;

	self->set_state_calls++;
	d = ac_sev_host_fake_require (self, domain, error);
	if (d == NULL)
		return FALSE;
	/* QEMU: "SEV: LAUNCH_SECRET is only valid before the guest runs" */
	if (d->state != AC_SEV_DOMAIN_STATE_PAUSED) {
		g_set_error (error,
			     AC_ERROR,
			     AC_ERROR_LIBVIRT,
			     "Requested operation is not valid: domain '%s' is %s, not paused",
			     domain,
			     ac_sev_domain_state_to_string (d->state));
		return FALSE;
	}
	hdr = g_base64_decode (secret_header, &hdr_len);
	trans = g_base64_decode (secret, &trans_len);
	if (hdr_len > G_MAXUINT32 || trans_len > G_MAXUINT32 || trans_len == 0) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_LIBVIRT, "invalid launch secret");
		return FALSE;
	}
	if (has_address)
		gpa = address;
	else if (d->has_secret_area)
		gpa = d->secret_base;
	else {
		g_set_error_literal (error,
				     AC_ERROR,
				     AC_ERROR_LIBVIRT,
				     "SEV: no secret area in the firmware and no address given");
		return FALSE;
	}
	st = ac_sev_psp_launch_secret (d->psp,
				       d->handle,
				       hdr,
				       (guint32)hdr_len,
				       gpa,
				       (guint32)trans_len,
				       trans,
				       (guint32)trans_len);
	if (st != AC_SEV_STATUS_SUCCESS)
		return ac_sev_host_fake_psp_error (d->psp, st, "LAUNCH_SECRET", error);
	if (d->secret != NULL)
		g_bytes_unref (d->secret);
	d->secret = ac_sev_psp_guest_read (d->psp, d->handle, gpa, trans_len);
	d->secret_count++;
	return TRUE;
}

static gboolean
ac_sev_host_fake_resume (AcSevHost *host, const gchar *domain, GError **error)
{
	AcSevHostFakeDomain *d = ac_sev_host_fake_require (AC_SEV_HOST_FAKE (host), domain, error);
	AcSevStatus st;

	if (d == NULL)
		return FALSE;
	if (d->state != AC_SEV_DOMAIN_STATE_PAUSED) {
		g_set_error (error,
			     AC_ERROR,
			     AC_ERROR_LIBVIRT,
			     "Requested operation is not valid: domain '%s' is not paused",
			     domain);
		return FALSE;
	}
	st = ac_sev_psp_launch_finish (d->psp, d->handle);
	if (st != AC_SEV_STATUS_SUCCESS)
		return ac_sev_host_fake_psp_error (d->psp, st, "LAUNCH_FINISH", error);
	d->state = AC_SEV_DOMAIN_STATE_RUNNING;
	return TRUE;
}

static gboolean
ac_sev_host_fake_launch (AcSevHostFake *self,
			 AcSevHostFakeDomain *d,
			 AcDomain *dom,
			 GBytes *fw,
			 GError **error)
{
	g_autofree guint8 *dh = NULL;
	g_autofree guint8 *session = NULL;
	gsize dh_len = 0, session_len = 0;
	g_autoptr(AcSevOvmf) ovmf = NULL;
	guint8 blob[AC_SEV_MEASURE_BLOB_SIZE];
	guint32 blob_len = sizeof (blob);
	gsize fw_len = g_bytes_get_size (fw);
	AcSevStatus st;
	guint32 base = 0, size = 0;

	if (!ac_sev_policy_parse (dom->ls_policy, &d->policy, error))
		return FALSE;
	if (!self->ignore_session) {
		if (dom->ls_dh_cert == NULL || dom->ls_session == NULL) {
			g_set_error_literal (error,
					     AC_ERROR,
					     AC_ERROR_LIBVIRT,
					     "fake host: <launchSecurity> lacks dhCert or session");
			return FALSE;
		}
		dh = g_base64_decode (dom->ls_dh_cert, &dh_len);
		session = g_base64_decode (dom->ls_session, &session_len);
	}
	st = ac_sev_psp_launch_start (d->psp,
				      &d->handle,
				      d->policy,
				      dh,
				      (guint32)MIN (dh_len, G_MAXUINT32),
				      session,
				      (guint32)MIN (session_len, G_MAXUINT32));
	if (st != AC_SEV_STATUS_SUCCESS)
		return ac_sev_host_fake_psp_error (d->psp, st, "LAUNCH_START", error);
	st = ac_sev_psp_launch_update_data (d->psp,
					    d->handle,
					    G_GUINT64_CONSTANT (0x100000000) - fw_len,
					    g_bytes_get_data (fw, NULL),
					    (guint32)fw_len);
	if (st != AC_SEV_STATUS_SUCCESS)
		return ac_sev_host_fake_psp_error (d->psp, st, "LAUNCH_UPDATE_DATA", error);
	ovmf = ac_sev_ovmf_parse (g_bytes_get_data (fw, NULL), fw_len, error);
	if (ovmf == NULL)
		return FALSE;
	if (ac_sev_ovmf_get_secret_area (ovmf, &base, &size, NULL) && size > 0) {
		d->has_secret_area = TRUE;
		d->secret_base = base;
	}
	if (d->policy & AC_SEV_POLICY_ES) {
		guint32 reset = 0;
		guint8 vmsa[AC_SEV_VMSA_SIZE];
		if (!ac_sev_ovmf_get_es_reset_addr (ovmf, &reset, error))
			return FALSE;
		for (guint c = 0; c < MAX (dom->vcpus, 1); c++) {
			ac_sev_vmsa_build (c == 0,
					   reset,
					   ac_sev_cpu_signature (self->cpu_family,
								 self->cpu_model,
								 self->cpu_stepping),
					   self->vmsa_variant,
					   vmsa);
			st = ac_sev_psp_launch_update_vmsa (d->psp, d->handle, vmsa, sizeof (vmsa));
			if (st != AC_SEV_STATUS_SUCCESS)
				return ac_sev_host_fake_psp_error (d->psp,
								   st,
								   "LAUNCH_UPDATE_VMSA",
								   error);
		}
	}
	st = ac_sev_psp_launch_measure (d->psp, d->handle, blob, &blob_len);
	if (st != AC_SEV_STATUS_SUCCESS)
		return ac_sev_host_fake_psp_error (d->psp, st, "LAUNCH_MEASURE", error);
	g_free (d->measurement);
	d->measurement = g_base64_encode (blob, blob_len);
	return TRUE;
}

gboolean
ac_sev_host_fake_start (AcSevHostFake *self,
			const gchar *domain_xml,
			const gchar *firmware,
			gboolean paused,
			GError **error)
{
	g_autoptr(AcDomain) dom = NULL;
	g_autoptr(GBytes) fw = NULL;
	g_autoptr(GError) error_local = NULL;
	g_autoptr(GMappedFile) map = NULL;
	AcSevHostFakeDomain *d;
	const gchar *path;

	g_return_val_if_fail (AC_IS_SEV_HOST_FAKE (self), FALSE);
	dom = ac_domain_parse (domain_xml, -1, error);
	if (dom == NULL)
		return FALSE;
	if (dom->uuid == NULL || dom->name == NULL) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_LIBVIRT, "fake host: no name or uuid");
		return FALSE;
	}
	d = ac_sev_host_fake_lookup (self, dom->uuid);
	if (d != NULL && d->state != AC_SEV_DOMAIN_STATE_SHUTOFF) {
		g_set_error (error,
			     AC_ERROR,
			     AC_ERROR_LIBVIRT,
			     "Requested operation is not valid: domain '%s' is already active",
			     dom->name);
		return FALSE;
	}
	if (!dom->has_launch_security || g_strcmp0 (dom->ls_type, "sev") != 0) {
		g_set_error_literal (error,
				     AC_ERROR,
				     AC_ERROR_LIBVIRT,
				     "fake host: the domain has no <launchSecurity type='sev'>");
		return FALSE;
	}
	path = firmware != NULL ? firmware : dom->loader;
	if (path == NULL) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_LIBVIRT, "fake host: no firmware");
		return FALSE;
	}
	map = g_mapped_file_new (path, FALSE, &error_local);
	if (map == NULL) {
		g_set_error (error, AC_ERROR, AC_ERROR_LIBVIRT, "fake host: %s", error_local->message);
		return FALSE;
	}
	fw = g_mapped_file_get_bytes (map);
	if (g_bytes_get_size (fw) == 0 || g_bytes_get_size (fw) % 16 != 0 ||
	    g_bytes_get_size (fw) > FAKE_MAX_FIRMWARE) {
		g_set_error (error,
			     AC_ERROR,
			     AC_ERROR_LIBVIRT,
			     "fake host: firmware %s has an unusable size",
			     path);
		return FALSE;
	}
	if (d == NULL) {
		d = g_new0 (AcSevHostFakeDomain, 1);
		d->uuid = g_strdup (dom->uuid);
		g_hash_table_insert (self->domains, d->uuid, d);
	}
	g_free (d->name);
	d->name = g_strdup (dom->name);
	g_clear_pointer (&d->measurement, g_free);
	g_clear_pointer (&d->reported_measurement, g_free);
	g_clear_pointer (&d->secret, g_bytes_unref);
	d->has_reported_policy = FALSE;
	d->secret_count = 0;
	d->has_secret_area = FALSE;
	d->psp = self->psp;
	d->handle = 0;
	if (!ac_sev_host_fake_launch (self, d, dom, fw, error)) {
		if (d->handle != 0)
			(void)ac_sev_psp_decommission (d->psp, d->handle);
		d->handle = 0;
		d->state = AC_SEV_DOMAIN_STATE_SHUTOFF;
		return FALSE;
	}
	if (paused) {
		d->state = AC_SEV_DOMAIN_STATE_PAUSED;
		return TRUE;
	}
	/* not paused: QEMU finishes the launch and runs the guest */
	{
		AcSevStatus st = ac_sev_psp_launch_finish (d->psp, d->handle);
		if (st != AC_SEV_STATUS_SUCCESS)
			return ac_sev_host_fake_psp_error (d->psp, st, "LAUNCH_FINISH", error);
	}
	d->state = AC_SEV_DOMAIN_STATE_RUNNING;
	return TRUE;
}

gboolean
ac_sev_host_fake_destroy (AcSevHostFake *self, const gchar *domain, GError **error)
{
	AcSevHostFakeDomain *d = ac_sev_host_fake_require (self, domain, error);
	if (d == NULL)
		return FALSE;
	if (d->state == AC_SEV_DOMAIN_STATE_SHUTOFF) {
		g_set_error (error,
			     AC_ERROR,
			     AC_ERROR_LIBVIRT,
			     "Requested operation is not valid: domain '%s' is not running",
			     domain);
		return FALSE;
	}
	(void)ac_sev_psp_decommission (d->psp, d->handle);
	d->handle = 0;
	d->state = AC_SEV_DOMAIN_STATE_SHUTOFF;
	return TRUE;
}

void
ac_sev_host_fake_set_psp (AcSevHostFake *self, AcSevPsp *psp)
{
	g_return_if_fail (AC_IS_SEV_HOST_FAKE (self));
	self->psp = psp;
}

void
ac_sev_host_fake_set_cpu (AcSevHostFake *self,
			  guint family,
			  guint model,
			  guint stepping,
			  AcSevVmsaVariant variant)
{
	self->cpu_family = family;
	self->cpu_model = model;
	self->cpu_stepping = stepping;
	self->vmsa_variant = variant;
}

void
ac_sev_host_fake_set_ignore_session (AcSevHostFake *self, gboolean ignore)
{
	self->ignore_session = ignore;
}

gboolean
ac_sev_host_fake_set_reported_measurement (AcSevHostFake *self,
					   const gchar *domain,
					   const gchar *measurement)
{
	AcSevHostFakeDomain *d = ac_sev_host_fake_lookup (self, domain);
	if (d == NULL)
		return FALSE;
	g_free (d->reported_measurement);
	d->reported_measurement = g_strdup (measurement);
	return TRUE;
}

gboolean
ac_sev_host_fake_set_reported_policy (AcSevHostFake *self, const gchar *domain, guint32 policy)
{
	AcSevHostFakeDomain *d = ac_sev_host_fake_lookup (self, domain);
	if (d == NULL)
		return FALSE;
	d->has_reported_policy = TRUE;
	d->reported_policy = policy;
	return TRUE;
}

const gchar *
ac_sev_host_fake_get_measurement (AcSevHostFake *self, const gchar *domain)
{
	AcSevHostFakeDomain *d = ac_sev_host_fake_lookup (self, domain);
	return d != NULL ? d->measurement : NULL;
}

guint
ac_sev_host_fake_get_secret_count (AcSevHostFake *self, const gchar *domain)
{
	AcSevHostFakeDomain *d = ac_sev_host_fake_lookup (self, domain);
	return d != NULL ? d->secret_count : 0;
}

GBytes *
ac_sev_host_fake_get_secret (AcSevHostFake *self, const gchar *domain)
{
	AcSevHostFakeDomain *d = ac_sev_host_fake_lookup (self, domain);
	return d != NULL && d->secret != NULL ? g_bytes_ref (d->secret) : NULL;
}

AcSevDomainState
ac_sev_host_fake_get_state (AcSevHostFake *self, const gchar *domain)
{
	AcSevHostFakeDomain *d = ac_sev_host_fake_lookup (self, domain);
	return d != NULL ? d->state : AC_SEV_DOMAIN_STATE_SHUTOFF;
}

guint
ac_sev_host_fake_get_set_state_calls (AcSevHostFake *self)
{
	return self->set_state_calls;
}

static void
ac_sev_host_fake_iface_init (AcSevHostInterface *iface)
{
	iface->get_name = ac_sev_host_fake_get_name;
	iface->get_host_id = ac_sev_host_fake_get_host_id;
	iface->get_sev_info = ac_sev_host_fake_get_sev_info;
	iface->get_domain_state = ac_sev_host_fake_get_domain_state;
	iface->get_launch_security_info = ac_sev_host_fake_get_launch_security_info;
	iface->set_launch_security_state = ac_sev_host_fake_set_launch_security_state;
	iface->resume = ac_sev_host_fake_resume;
	iface->get_snp_facts = ac_sev_host_fake_get_snp_facts;
}

static void
ac_sev_host_fake_finalize (GObject *object)
{
	AcSevHostFake *self = AC_SEV_HOST_FAKE (object);
	g_hash_table_unref (self->domains);
	g_free (self->host_id);
	ac_sev_host_snp_facts_free (self->snp_facts);
	G_OBJECT_CLASS (ac_sev_host_fake_parent_class)->finalize (object);
}

static void
ac_sev_host_fake_class_init (AcSevHostFakeClass *klass)
{
	GObjectClass *object_class = G_OBJECT_CLASS (klass);
	object_class->finalize = ac_sev_host_fake_finalize;
}

static void
ac_sev_host_fake_init (AcSevHostFake *self)
{
	self->domains = g_hash_table_new_full (g_str_hash,
					       g_str_equal,
					       NULL,
					       (GDestroyNotify)ac_sev_host_fake_domain_free);
	/* EPYC (family 23, model 1, stepping 2), QEMU's default SEV-ES model */
	self->cpu_family = 23;
	self->cpu_model = 1;
	self->cpu_stepping = 2;
	self->vmsa_variant = AC_SEV_VMSA_LEGACY;
}

AcSevHostFake *
ac_sev_host_fake_new (AcSevPsp *psp, guint cbitpos, guint reduced_phys_bits)
{
	AcSevHostFake *self = g_object_new (AC_TYPE_SEV_HOST_FAKE, NULL);
	self->psp = psp;
	self->cbitpos = cbitpos;
	self->reduced_phys_bits = reduced_phys_bits;
	return self;
}
