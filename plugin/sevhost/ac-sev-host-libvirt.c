/*
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "ac-sev-host-libvirt.h"

#include <libvirt/virterror.h>
#include <string.h>

#include "ac-error.h"
#include "ac-virt.h"

struct _AcSevHostLibvirt {
	GObject parent_instance;
	virConnectPtr conn;
	gchar *name;
};

static void ac_sev_host_libvirt_iface_init (AcSevHostInterface *iface);

G_DEFINE_TYPE_WITH_CODE (AcSevHostLibvirt,
			 ac_sev_host_libvirt,
			 G_TYPE_OBJECT,
			 G_IMPLEMENT_INTERFACE (AC_TYPE_SEV_HOST, ac_sev_host_libvirt_iface_init))

typedef struct {
	virTypedParameterPtr params;
	int nparams;
} AcTypedParams;

static void
ac_typed_params_clear (AcTypedParams *p)
{
	if (p->params != NULL)
		virTypedParamsFree (p->params, p->nparams);
	p->params = NULL;
	p->nparams = 0;
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (AcTypedParams, ac_typed_params_clear)

static const gchar *
ac_sev_host_libvirt_get_name (AcSevHost *host)
{
	AcSevHostLibvirt *self = AC_SEV_HOST_LIBVIRT (host);
	return self->name;
}

/* libvirt's host name of the connection's machine: gethostname(), or its canonical (DNS) name
 * when that has no dot */
static gchar *
ac_sev_host_libvirt_get_host_id (AcSevHost *host, GError **error)
{
	AcSevHostLibvirt *self = AC_SEV_HOST_LIBVIRT (host);
	char *name = virConnectGetHostname (self->conn);
	gchar *id;

	if (name == NULL) {
		ac_virt_set_error (error, "cannot read the host name of %s", self->name);
		return NULL;
	}
	id = g_strdup (name);
	free (name);
	return id;
}

/* the versions and the domain capabilities of an x86_64 q35 KVM guest; a host whose libvirt
 * cannot give domain capabilities (no KVM, an old driver) gives none, with the reason */
static AcSevHostSnpFacts *
ac_sev_host_libvirt_get_snp_facts (AcSevHost *host, GError **error)
{
	AcSevHostLibvirt *self = AC_SEV_HOST_LIBVIRT (host);
	g_autoptr (AcSevHostSnpFacts) facts = ac_sev_host_snp_facts_new ();
	unsigned long lib = 0, hv = 0;
	char *caps;

	if (virConnectGetLibVersion (self->conn, &lib) < 0) {
		ac_virt_set_error (error, "cannot read the libvirt version of %s", self->name);
		return NULL;
	}
	if (virConnectGetVersion (self->conn, &hv) < 0) {
		ac_virt_set_error (error, "cannot read the hypervisor version of %s", self->name);
		return NULL;
	}
	facts->libvirt_version = lib;
	facts->qemu_version = hv;
	caps = virConnectGetDomainCapabilities (self->conn, NULL, "x86_64", "q35", "kvm", 0);
	if (caps == NULL) {
		const gchar *msg = virGetLastErrorMessage ();
		facts->domcaps_error = g_strdup (msg != NULL ? msg : "unknown error");
		virResetLastError ();
	} else {
		facts->domcaps = g_strdup (caps);
		free (caps);
	}
	return g_steal_pointer (&facts);
}

/* after a virTypedParamsGet*() that returned @rc: FALSE (with @error) when it failed or a
 * @required @field is absent (@present FALSE) */
static gboolean
ac_typed_check (int rc,
                gboolean present,
                const gchar *what,
                const gchar *field,
                gboolean required,
                GError **error)
{
	if (rc < 0) {
		ac_virt_set_error (error, "%s: parameter '%s'", what, field);
		return FALSE;
	}
	if (!present && required) {
		g_set_error (error, AC_ERROR, AC_ERROR_LIBVIRT, "%s did not report '%s'", what,
		             field);
		return FALSE;
	}
	return TRUE;
}

/* a string parameter; @required decides whether absence is an error */
static gboolean
ac_typed_get_string (AcTypedParams *p,
		     const gchar *what,
		     const gchar *field,
		     gboolean required,
		     gchar **out,
		     GError **error)
{
	const char *value = NULL;
	int rc = virTypedParamsGetString (p->params, p->nparams, field, &value);
	gboolean present = rc > 0 && value != NULL;

	if (!ac_typed_check (rc, present, what, field, required, error))
		return FALSE;
	if (present)
		*out = g_strdup (value);
	return TRUE;
}

static gboolean
ac_typed_get_uint (AcTypedParams *p,
		   const gchar *what,
		   const gchar *field,
		   gboolean required,
		   guint *out,
		   GError **error)
{
	unsigned int value = 0;
	int rc = virTypedParamsGetUInt (p->params, p->nparams, field, &value);

	if (!ac_typed_check (rc, rc > 0, what, field, required, error))
		return FALSE;
	if (rc > 0)
		*out = value;
	return TRUE;
}

typedef struct {
	const gchar *field;
	gboolean required;
	guint *out;
} AcTypedUint;

/* the unsigned parameters of @fields (up to its { NULL } row), in their order */
static gboolean
ac_typed_get_uints (AcTypedParams *p, const gchar *what, const AcTypedUint *fields, GError **error)
{
	for (const AcTypedUint *f = fields; f->field != NULL; f++) {
		if (!ac_typed_get_uint (p, what, f->field, f->required, f->out, error))
			return FALSE;
	}
	return TRUE;
}

static AcSevHostInfo *
ac_sev_host_libvirt_get_sev_info (AcSevHost *host, GError **error)
{
	AcSevHostLibvirt *self = AC_SEV_HOST_LIBVIRT (host);
	g_auto(AcTypedParams) p = { 0 };
	g_autoptr(AcSevHostInfo) info = ac_sev_host_info_new ();
	g_autofree gchar *what = g_strdup_printf ("virNodeGetSEVInfo on %s", self->name);

	if (virNodeGetSEVInfo (self->conn, &p.params, &p.nparams, 0) < 0) {
		/* libvirt says "... SEV is not supported" on hosts without it */
		g_autoptr(GError) error_local = NULL;
		virErrorPtr err = virGetLastError ();
		gboolean unsupported = err != NULL && (err->code == VIR_ERR_OPERATION_UNSUPPORTED ||
						       err->code == VIR_ERR_NO_SUPPORT);
		ac_virt_set_error (&error_local, "%s", what);
		g_set_error_literal (error,
				     AC_ERROR,
				     unsupported ? AC_ERROR_UNSUPPORTED : error_local->code,
				     error_local->message);
		return NULL;
	}
	if (!ac_typed_get_string (&p, what, VIR_NODE_SEV_PDH, TRUE, &info->pdh, error))
		return NULL;
	if (!ac_typed_get_string (&p, what, VIR_NODE_SEV_CERT_CHAIN, TRUE, &info->cert_chain, error))
		return NULL;
	if (!ac_typed_get_string (&p, what, VIR_NODE_SEV_CPU0_ID, FALSE, &info->cpu0_id, error))
		return NULL;
	{
		const AcTypedUint uints[] = {
			{ VIR_NODE_SEV_CBITPOS, TRUE, &info->cbitpos },
			{ VIR_NODE_SEV_REDUCED_PHYS_BITS, TRUE, &info->reduced_phys_bits },
			{ VIR_NODE_SEV_MAX_GUESTS, FALSE, &info->max_guests },
			{ VIR_NODE_SEV_MAX_ES_GUESTS, FALSE, &info->max_es_guests },
			{ NULL },
		};
		if (!ac_typed_get_uints (&p, what, uints, error))
			return NULL;
	}
	return g_steal_pointer (&info);
}

/* a UUID is looked up as a UUID only: a domain *named* like another one's UUID must not
 * stand in for it */
static virDomainPtr
ac_sev_host_libvirt_lookup (AcSevHostLibvirt *self, const gchar *domain, GError **error)
{
	virDomainPtr dom;

	if (!g_uuid_string_is_valid (domain))
		return ac_virt_lookup_domain (self->conn, domain, error);
	dom = virDomainLookupByUUIDString (self->conn, domain);
	if (dom == NULL)
		ac_virt_set_error (error, "domain '%s'", domain);
	return dom;
}

static gboolean
ac_sev_host_libvirt_get_domain_state (AcSevHost *host,
				      const gchar *domain,
				      AcSevDomainState *state,
				      GError **error)
{
	AcSevHostLibvirt *self = AC_SEV_HOST_LIBVIRT (host);
	g_autoptr(virDomain) dom = ac_sev_host_libvirt_lookup (self, domain, error);
	int st = 0, reason = 0;

	if (dom == NULL)
		return FALSE;
	if (virDomainGetState (dom, &st, &reason, 0) < 0) {
		ac_virt_set_error (error, "cannot read the state of domain '%s'", domain);
		return FALSE;
	}
	switch (st) {
	case VIR_DOMAIN_SHUTOFF:
	case VIR_DOMAIN_CRASHED:
	case VIR_DOMAIN_NOSTATE:
		*state = AC_SEV_DOMAIN_STATE_SHUTOFF;
		break;
	case VIR_DOMAIN_PAUSED:
		*state = AC_SEV_DOMAIN_STATE_PAUSED;
		break;
	case VIR_DOMAIN_RUNNING:
		*state = AC_SEV_DOMAIN_STATE_RUNNING;
		break;
	default:
		*state = AC_SEV_DOMAIN_STATE_OTHER;
		break;
	}
	return TRUE;
}

static AcSevLaunchInfo *
ac_sev_host_libvirt_get_launch_security_info (AcSevHost *host,
					      const gchar *domain,
					      GError **error)
{
	AcSevHostLibvirt *self = AC_SEV_HOST_LIBVIRT (host);
	g_autoptr(virDomain) dom = ac_sev_host_libvirt_lookup (self, domain, error);
	g_auto(AcTypedParams) p = { 0 };
	g_autoptr(AcSevLaunchInfo) info = ac_sev_launch_info_new ();
	g_autofree gchar *what = NULL;

	if (dom == NULL)
		return NULL;
	what = g_strdup_printf ("virDomainGetLaunchSecurityInfo of domain '%s'", domain);
	if (virDomainGetLaunchSecurityInfo (dom, &p.params, &p.nparams, 0) < 0) {
		ac_virt_set_error (error, "%s", what);
		return NULL;
	}
	if (!ac_typed_get_string (&p,
				  what,
				  VIR_DOMAIN_LAUNCH_SECURITY_SEV_MEASUREMENT,
				  TRUE,
				  &info->measurement,
				  error))
		return NULL;
	{
		const AcTypedUint uints[] = {
			{ VIR_DOMAIN_LAUNCH_SECURITY_SEV_API_MAJOR, TRUE, &info->api_major },
			{ VIR_DOMAIN_LAUNCH_SECURITY_SEV_API_MINOR, TRUE, &info->api_minor },
			{ VIR_DOMAIN_LAUNCH_SECURITY_SEV_BUILD_ID, TRUE, &info->build_id },
			{ VIR_DOMAIN_LAUNCH_SECURITY_SEV_POLICY, TRUE, &info->policy },
			{ NULL },
		};
		if (!ac_typed_get_uints (&p, what, uints, error))
			return NULL;
	}
	return g_steal_pointer (&info);
}

static gboolean
ac_sev_host_libvirt_set_launch_security_state (AcSevHost *host,
					       const gchar *domain,
					       const gchar *secret_header,
					       const gchar *secret,
					       gboolean has_address,
					       guint64 address,
					       GError **error)
{
	AcSevHostLibvirt *self = AC_SEV_HOST_LIBVIRT (host);
	g_autoptr(virDomain) dom = ac_sev_host_libvirt_lookup (self, domain, error);
	g_auto(AcTypedParams) p = { 0 };
	int maxparams = 0;

	if (dom == NULL)
		return FALSE;
	if (virTypedParamsAddString (&p.params,
				     &p.nparams,
				     &maxparams,
				     VIR_DOMAIN_LAUNCH_SECURITY_SEV_SECRET_HEADER,
				     secret_header) < 0 ||
	    virTypedParamsAddString (&p.params,
				     &p.nparams,
				     &maxparams,
				     VIR_DOMAIN_LAUNCH_SECURITY_SEV_SECRET,
				     secret) < 0) {
		ac_virt_set_error (error, "cannot build the launch secret parameters");
		return FALSE;
	}
	if (has_address &&
	    virTypedParamsAddULLong (&p.params,
				     &p.nparams,
				     &maxparams,
				     VIR_DOMAIN_LAUNCH_SECURITY_SEV_SECRET_SET_ADDRESS,
				     address) < 0) {
		ac_virt_set_error (error, "cannot build the launch secret parameters");
		return FALSE;
	}
	if (virDomainSetLaunchSecurityState (dom, p.params, p.nparams, 0) < 0) {
		ac_virt_set_error (error,
				   "virDomainSetLaunchSecurityState of domain '%s'",
				   domain);
		return FALSE;
	}
	return TRUE;
}

static gboolean
ac_sev_host_libvirt_resume (AcSevHost *host, const gchar *domain, GError **error)
{
	AcSevHostLibvirt *self = AC_SEV_HOST_LIBVIRT (host);
	g_autoptr(virDomain) dom = ac_sev_host_libvirt_lookup (self, domain, error);

	if (dom == NULL)
		return FALSE;
	if (virDomainResume (dom) < 0) {
		ac_virt_set_error (error, "cannot resume domain '%s'", domain);
		return FALSE;
	}
	return TRUE;
}

static void
ac_sev_host_libvirt_iface_init (AcSevHostInterface *iface)
{
	iface->get_name = ac_sev_host_libvirt_get_name;
	iface->get_host_id = ac_sev_host_libvirt_get_host_id;
	iface->get_sev_info = ac_sev_host_libvirt_get_sev_info;
	iface->get_domain_state = ac_sev_host_libvirt_get_domain_state;
	iface->get_launch_security_info = ac_sev_host_libvirt_get_launch_security_info;
	iface->set_launch_security_state = ac_sev_host_libvirt_set_launch_security_state;
	iface->resume = ac_sev_host_libvirt_resume;
	iface->get_snp_facts = ac_sev_host_libvirt_get_snp_facts;
}

static void
ac_sev_host_libvirt_finalize (GObject *object)
{
	AcSevHostLibvirt *self = AC_SEV_HOST_LIBVIRT (object);
	if (self->conn != NULL)
		virConnectClose (self->conn);
	g_free (self->name);
	G_OBJECT_CLASS (ac_sev_host_libvirt_parent_class)->finalize (object);
}

static void
ac_sev_host_libvirt_class_init (AcSevHostLibvirtClass *klass)
{
	GObjectClass *object_class = G_OBJECT_CLASS (klass);
	object_class->finalize = ac_sev_host_libvirt_finalize;
}

static void
ac_sev_host_libvirt_init (AcSevHostLibvirt *self)
{
}

AcSevHost *
ac_sev_host_libvirt_new (virConnectPtr conn)
{
	AcSevHostLibvirt *self;
	char *uri;

	g_return_val_if_fail (conn != NULL, NULL);
	self = g_object_new (AC_TYPE_SEV_HOST_LIBVIRT, NULL);
	virConnectRef (conn);
	self->conn = conn;
	uri = virConnectGetURI (conn);
	self->name = g_strdup (uri != NULL ? uri : "libvirt");
	free (uri);
	{
		/* a remote host is named by its URI without the transport's options (keyfile=,
		 * no_verify=, …): messages name the host, not how ssh reaches it */
		const gchar *sep = strstr (self->name, "://");
		gchar *query = strchr (self->name, '?');
		if (sep != NULL && sep[3] != '/' && sep[3] != '\0' && query != NULL)
			*query = '\0';
	}
	return AC_SEV_HOST (self);
}
