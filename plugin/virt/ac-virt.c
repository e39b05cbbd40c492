/*
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "ac-virt.h"

#include <libvirt/virterror.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

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

/* the threads of ac_virt_connect_begin() still inside virConnectOpen() */
static gint openings_running;

/* A connection being opened in a thread of its own (ac_virt_connect_begin()). */
struct _AcVirtOpening {
	gint ref;
	GMutex lock;
	GCond cond;
	gboolean done;
	gchar *uri;
	gint64 started;
	virConnectPtr conn;
	GError *error;
};

static void
ac_virt_opening_unref (AcVirtOpening *op)
{
	if (!g_atomic_int_dec_and_test (&op->ref))
		return;
	if (op->conn != NULL)
		virConnectClose (op->conn);
	g_clear_error (&op->error);
	g_free (op->uri);
	g_mutex_clear (&op->lock);
	g_cond_clear (&op->cond);
	g_free (op);
}

static gpointer
ac_virt_opening_thread (gpointer data)
{
	AcVirtOpening *op = data;
	GError *error = NULL;
	virConnectPtr conn = ac_virt_connect (op->uri, &error);

	g_mutex_lock (&op->lock);
	op->conn = conn;
	op->error = error;
	op->done = TRUE;
	g_cond_signal (&op->cond);
	g_mutex_unlock (&op->lock);
	ac_virt_opening_unref (op);
	g_atomic_int_dec_and_test (&openings_running);
	return NULL;
}

/**
 * ac_virt_connect_begin:
 *
 * Starts opening @uri in a thread: an ssh connection to a host that accepts and never answers
 * blocks virConnectOpen() for ever, so a caller that talks to several hosts opens them all at
 * once and waits for each with ac_virt_connect_end() and one deadline.
 */
AcVirtOpening *
ac_virt_connect_begin (const gchar *uri)
{
	AcVirtOpening *op = g_new0 (AcVirtOpening, 1);
	op->ref = 2;
	op->uri = g_strdup (uri);
	op->started = g_get_monotonic_time ();
	g_mutex_init (&op->lock);
	g_cond_init (&op->cond);
	g_atomic_int_inc (&openings_running);
	g_thread_unref (g_thread_new ("ac-virt-connect", ac_virt_opening_thread, op));
	return op;
}

/**
 * ac_virt_connect_end:
 * @op: (transfer full): from ac_virt_connect_begin()
 * @deadline: a g_get_monotonic_time() value
 *
 * The connection, once opened; %NULL with its error, or with %AC_ERROR_LIBVIRT when it is not
 * open by @deadline (the thread then closes it whenever it opens, and nothing waits for it).
 */
virConnectPtr
ac_virt_connect_end (AcVirtOpening *op, gint64 deadline, GError **error)
{
	virConnectPtr conn = NULL;

	g_mutex_lock (&op->lock);
	while (!op->done && g_cond_wait_until (&op->cond, &op->lock, deadline))
		;
	if (!op->done) {
		gint64 waited = (deadline - op->started + G_USEC_PER_SEC / 2) / G_USEC_PER_SEC;
		g_set_error (error, AC_ERROR, AC_ERROR_LIBVIRT,
			     "cannot connect to %s: no answer after %" G_GINT64_FORMAT " s", op->uri,
			     MAX (waited, 0));
	} else if (op->conn == NULL) {
		g_propagate_error (error, g_steal_pointer (&op->error));
	} else {
		conn = g_steal_pointer (&op->conn);
	}
	g_mutex_unlock (&op->lock);
	ac_virt_opening_unref (op);
	return conn;
}

/**
 * ac_virt_connect_pending:
 *
 * Whether a connection given up by ac_virt_connect_end() is still being opened: its thread is
 * inside libvirt, and a process that ends must not run the libraries' destructors under it.
 */
gboolean
ac_virt_connect_pending (void)
{
	return g_atomic_int_get (&openings_running) > 0;
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

/**
 * ac_virt_get_xml_flags:
 * @flags: libvirt's virDomainXMLFlags (%VIR_DOMAIN_XML_INACTIVE, %VIR_DOMAIN_XML_SECURE…)
 *
 * The domain's XML as virDomainGetXMLDesc() gives it with @flags, in GLib memory; on failure
 * "cannot read the XML of domain 'NAME': <libvirt's reason>". With @error %NULL, libvirt's
 * last error is left as it is, for a caller that words the failure itself
 * (ac_virt_set_error()).
 */
gchar *
ac_virt_get_xml_flags (virDomainPtr dom, guint flags, GError **error)
{
	/* every public libvirt call resets the last error: the name before the call that may
	 * fail */
	const gchar *name = virDomainGetName (dom);
	char *xml = virDomainGetXMLDesc (dom, flags);
	gchar *result;
	if (xml == NULL) {
		ac_virt_set_error (error, "cannot read the XML of domain '%s'", name);
		return NULL;
	}
	result = g_strdup (xml);
	free (xml);
	return result;
}

/* the live XML (flags 0) */
gchar *
ac_virt_get_xml (virDomainPtr dom, GError **error)
{
	return ac_virt_get_xml_flags (dom, 0, error);
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

static void
strip_ns (xmlNode *node)
{
	for (; node != NULL; node = node->next) {
		if (node->type != XML_ELEMENT_NODE)
			continue;
		node->ns = NULL;
		if (node->nsDef != NULL) {
			xmlFreeNsList (node->nsDef);
			node->nsDef = NULL;
		}
		strip_ns (node->children);
	}
}

/*
 * libvirt takes a metadata element without namespace and puts every element of it into the
 * namespace it is given (and fails if the element declares the prefix itself).
 */
static gchar *
ac_virt_bare_element (const gchar *element, GError **error)
{
	xmlDocPtr doc = xmlReadMemory (element, (int)strlen (element), "metadata.xml", NULL,
				       XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	xmlBufferPtr buf;
	gchar *result;

	if (doc == NULL || xmlDocGetRootElement (doc) == NULL) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_INTERNAL, "malformed metadata element");
		if (doc != NULL)
			xmlFreeDoc (doc);
		return NULL;
	}
	strip_ns (xmlDocGetRootElement (doc));
	buf = xmlBufferCreate ();
	xmlNodeDump (buf, doc, xmlDocGetRootElement (doc), 0, 0);
	result = g_strdup ((const gchar *)xmlBufferContent (buf));
	xmlBufferFree (buf);
	xmlFreeDoc (doc);
	return result;
}

/**
 * ac_virt_set_metadata:
 * @element: (nullable): the element (in namespace @ns, as our formatters write it), or
 *   %NULL to remove the element of @ns
 */
gboolean
ac_virt_set_metadata (virDomainPtr dom,
		      const gchar *prefix,
		      const gchar *ns,
		      const gchar *element,
		      GError **error)
{
	const gchar *name = virDomainGetName (dom);
	unsigned int flags = metadata_flags (dom);
	g_autofree gchar *bare = NULL;

	if (element != NULL) {
		bare = ac_virt_bare_element (element, error);
		if (bare == NULL)
			return FALSE;
	}
	if (virDomainSetMetadata (dom, VIR_DOMAIN_METADATA_ELEMENT, bare,
				  element != NULL ? prefix : NULL, ns, flags) < 0) {
		ac_virt_set_error (error, "cannot %s the metadata %s of domain '%s'",
				   element != NULL ? "set" : "remove", ns, name);
		return FALSE;
	}
	return TRUE;
}

/**
 * ac_virt_get_metadata:
 *
 * The element of namespace @ns from the domain's current definition, as libvirt gives it
 * (without namespace), or %NULL with %AC_ERROR_NOT_FOUND when there is none.
 */
gchar *
ac_virt_get_metadata (virDomainPtr dom, const gchar *ns, GError **error)
{
	const gchar *name = virDomainGetName (dom);
	char *xml = virDomainGetMetadata (dom, VIR_DOMAIN_METADATA_ELEMENT, ns, VIR_DOMAIN_AFFECT_CURRENT);
	gchar *result;
	if (xml == NULL) {
		virErrorPtr err = virGetLastError ();
		if (err != NULL && err->code == VIR_ERR_NO_DOMAIN_METADATA) {
			g_set_error (error, AC_ERROR, AC_ERROR_NOT_FOUND,
				     "domain '%s' has no metadata of namespace %s", name, ns);
			return NULL;
		}
		ac_virt_set_error (error, "cannot read the metadata of domain '%s'", name);
		return NULL;
	}
	result = g_strdup (xml);
	free (xml);
	return result;
}
