/*
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "ac-virt.h"

#include <libvirt/virterror.h>

#include "ac-error.h"

static void
ac_virt_silent_error (void *opaque, virErrorPtr err)
{
	/* errors are reported through GError, not printed by libvirt */
}

/**
 * ac_virt_init:
 *
 * Call once before any libvirt call: stops libvirt printing errors itself.
 */
void
ac_virt_init (void)
{
	virSetErrorFunc (NULL, ac_virt_silent_error);
}

/**
 * ac_virt_set_error:
 *
 * Sets @error from libvirt's last error, prefixed with the formatted context. A missing
 * domain maps to %AC_ERROR_NOT_FOUND, everything else to %AC_ERROR_LIBVIRT.
 */
void
ac_virt_set_error (GError **error, const gchar *format, ...)
{
	va_list args;
	g_autofree gchar *context = NULL;
	virErrorPtr err = virGetLastError ();
	AcError code = AC_ERROR_LIBVIRT;

	va_start (args, format);
	context = g_strdup_vprintf (format, args);
	va_end (args);
	if (err != NULL && err->code == VIR_ERR_NO_DOMAIN)
		code = AC_ERROR_NOT_FOUND;
	g_set_error (error, AC_ERROR, code, "%s: %s", context,
		     err != NULL && err->message != NULL ? err->message : "unknown libvirt error");
}

virConnectPtr
ac_virt_connect (const gchar *uri, GError **error)
{
	virConnectPtr conn = virConnectOpen (uri);
	if (conn == NULL) {
		ac_virt_set_error (error, "cannot connect to %s", uri);
		return NULL;
	}
	return conn;
}

/**
 * ac_virt_lookup_domain:
 * @name: a domain name or UUID, as virsh takes them
 */
virDomainPtr
ac_virt_lookup_domain (virConnectPtr conn, const gchar *name, GError **error)
{
	virDomainPtr dom = virDomainLookupByName (conn, name);
	if (dom == NULL && g_uuid_string_is_valid (name))
		dom = virDomainLookupByUUIDString (conn, name);
	if (dom == NULL) {
		ac_virt_set_error (error, "domain '%s'", name);
		return NULL;
	}
	return dom;
}

gchar *
ac_virt_get_xml (virDomainPtr dom, GError **error)
{
	char *xml = virDomainGetXMLDesc (dom, 0);
	gchar *result;
	if (xml == NULL) {
		ac_virt_set_error (error, "cannot read the XML of domain '%s'", virDomainGetName (dom));
		return NULL;
	}
	result = g_strdup (xml);
	free (xml);
	return result;
}

/* Live and persistent definitions both, when both exist. */
static unsigned int
metadata_flags (virDomainPtr dom)
{
	unsigned int flags = 0;
	if (virDomainIsActive (dom) == 1)
		flags |= VIR_DOMAIN_AFFECT_LIVE;
	if (virDomainIsPersistent (dom) == 1)
		flags |= VIR_DOMAIN_AFFECT_CONFIG;
	return flags != 0 ? flags : VIR_DOMAIN_AFFECT_CURRENT;
}

/**
 * ac_virt_set_metadata:
 * @element: (nullable): the element (with its namespace declared for @prefix), or %NULL
 *   to remove the element of @ns
 */
gboolean
ac_virt_set_metadata (virDomainPtr dom,
		      const gchar *prefix,
		      const gchar *ns,
		      const gchar *element,
		      GError **error)
{
	if (virDomainSetMetadata (dom, VIR_DOMAIN_METADATA_ELEMENT, element,
				  element != NULL ? prefix : NULL, ns, metadata_flags (dom)) < 0) {
		ac_virt_set_error (error, "cannot %s the metadata %s of domain '%s'",
				   element != NULL ? "set" : "remove", ns, virDomainGetName (dom));
		return FALSE;
	}
	return TRUE;
}

/**
 * ac_virt_get_metadata:
 *
 * The element of namespace @ns from the domain's current definition, or %NULL with
 * %AC_ERROR_NOT_FOUND when there is none.
 */
gchar *
ac_virt_get_metadata (virDomainPtr dom, const gchar *ns, GError **error)
{
	char *xml = virDomainGetMetadata (dom, VIR_DOMAIN_METADATA_ELEMENT, ns, VIR_DOMAIN_AFFECT_CURRENT);
	gchar *result;
	if (xml == NULL) {
		virErrorPtr err = virGetLastError ();
		if (err != NULL && err->code == VIR_ERR_NO_DOMAIN_METADATA) {
			g_set_error (error, AC_ERROR, AC_ERROR_NOT_FOUND,
				     "domain '%s' has no metadata of namespace %s",
				     virDomainGetName (dom), ns);
			return NULL;
		}
		ac_virt_set_error (error, "cannot read the metadata of domain '%s'", virDomainGetName (dom));
		return NULL;
	}
	result = g_strdup (xml);
	free (xml);
	return result;
}
