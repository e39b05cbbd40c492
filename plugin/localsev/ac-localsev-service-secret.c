/*
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Where the passphrase lives: the local libvirt's secret store, keyed by the disk's source. It
 * is read only to build the launch secret; every copy is cleansed, and it never reaches a
 * message, a status or the record.
 */
#include "config.h"

#include "ac-localsev-service.h"

#include <libvirt/virterror.h>
#include <openssl/crypto.h>
#include <string.h>

#include "ac-error.h"
#include "ac-localsev-service-private.h"
#include "ac-secret-store.h"
#include "ac-virt.h"

G_DEFINE_AUTOPTR_CLEANUP_FUNC (virSecret, virSecretFree)

/* ---- where the passphrase lives ------------------------------------------------------------ */

/**
 * ac_localsev_service_secrets_connect:
 * @conn: (nullable): the connection the service manages domains through; only used (and
 *   then required) when @secrets_uri is NULL
 * @secrets_uri: (nullable): the configured local libvirt for the passphrase
 *
 * The rule of ac_secret_store_connect(), the one place that says which libvirt may keep a
 * passphrase.
 *
 * Returns: (transfer full): a connection to a libvirt on this machine, never a remote host's.
 */
virConnectPtr
ac_localsev_service_secrets_connect (virConnectPtr conn, const gchar *secrets_uri, GError **error)
{
	g_return_val_if_fail (conn != NULL || secrets_uri != NULL, NULL);
	return ac_secret_store_connect (conn, secrets_uri, error);
}

static void
ac_localsev_service_secret_none (GError **error, const gchar *domain, const gchar *source)
{
	g_set_error (
	    error, AC_ERROR, AC_ERROR_NOT_FOUND,
	    "domain '%s': no disk passphrase in libvirt's secret store for the disk %s "
	    "(a secret with <usage type='volume'><volume>%s</volume></usage>). The local "
	    "SEV flow injects the passphrase of an encrypted image: virt-alephd builds one "
	    "from the disk while the domain is shut off, or build it yourself with "
	    "'virt-aleph build --secret' and point the domain's disk at it; nothing was "
	    "prepared or injected",
	    domain, source, source);
}

/* the secret whose usage is the disk: NOT_FOUND when there is none, LIBVIRT when the store
 * cannot be asked (a driver without secrets, a lost connection) */
static virSecretPtr
ac_localsev_service_secret_lookup (virConnectPtr secrets_conn,
                                   virDomainPtr dom,
                                   const gchar *source,
                                   GError **error)
{
	g_autoptr (virConnect) own = NULL;
	const gchar *domain = virDomainGetName (dom);
	virSecretPtr secret;

	/* none given: the domain's own libvirt, when it is on this machine */
	if (secrets_conn == NULL) {
		own = ac_localsev_service_secrets_connect (virDomainGetConnect (dom), NULL, error);
		if (own == NULL)
			return NULL;
		secrets_conn = own;
	}
	secret = virSecretLookupByUsage (secrets_conn, VIR_SECRET_USAGE_TYPE_VOLUME, source);
	if (secret != NULL)
		return secret;
	if (virGetLastErrorCode () == VIR_ERR_NO_SECRET) {
		virResetLastError ();
		ac_localsev_service_secret_none (error, domain, source);
		return NULL;
	}
	ac_virt_set_error (
	    error,
	    "domain '%s': cannot look up the disk passphrase of %s in libvirt's secret "
	    "store",
	    domain, source);
	return NULL;
}

/* fail closed when the disk has no passphrase secret, before anything is prepared */
gboolean
ac_localsev_service_secret_check (virConnectPtr secrets_conn,
                                virDomainPtr dom,
                                const gchar *source,
                                GError **error)
{
	g_autoptr (virSecret) secret = NULL;

	secret = ac_localsev_service_secret_lookup (secrets_conn, dom, source, error);
	return secret != NULL;
}

/* Returns: (transfer full): the passphrase as a C string in OPENSSL_malloc'd memory, for
 * OPENSSL_clear_free() */
static gchar *
ac_localsev_service_secret_read_source (virConnectPtr secrets_conn,
                                     const gchar *state_dir,
                                     virDomainPtr dom,
                                     const gchar *source,
                                     gsize *len_out,
                                     GError **error)
{
	g_autoptr (virSecret) secret = NULL;
	const gchar *domain = virDomainGetName (dom);
	char uuid[VIR_UUID_STRING_BUFLEN];
	guint8 *value;
	gsize n = 0;

	secret = ac_localsev_service_secret_lookup (secrets_conn, dom, source, error);
	if (secret == NULL)
		return NULL;
	if (virSecretGetUUIDString (secret, uuid) < 0) {
		ac_virt_set_error (
		    error, "domain '%s': cannot read the UUID of the passphrase secret of %s",
		    domain, source);
		return NULL;
	}
	value = ac_secret_store_get (virSecretGetConnect (secret), state_dir, uuid, &n, error);
	if (value == NULL) {
		g_prefix_error (error, "domain '%s': disk %s: ", domain, source);
		return NULL;
	}
	if (n == 0 || memchr (value, '\0', n) != NULL) {
		OPENSSL_clear_free (value, n + 1);
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "domain '%s': the passphrase secret of disk %s is %s; expected a "
		             "non-empty passphrase without NUL bytes",
		             domain, source, n == 0 ? "empty" : "binary (it holds a NUL byte)");
		return NULL;
	}
	*len_out = n;
	return (gchar *)value;
}

/* the passphrase of the prepared launch's disk (fail closed without one) */
gchar *
ac_localsev_service_secret_read (virConnectPtr secrets_conn,
                                const AcLocalsevOptions *opts,
                                virDomainPtr dom,
                                const AcLocalsevRecord *record,
                                gsize *len,
                                GError **error)
{
	const gchar *name = virDomainGetName (dom);

	if (record->disk_source == NULL) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "domain '%s': the prepared launch names no disk source for disk %s",
		             name, record->disk_dev != NULL ? record->disk_dev : "(none)");
		return NULL;
	}
	return ac_localsev_service_secret_read_source (secrets_conn, opts->state_dir, dom,
	                                            record->disk_source, len, error);
}
