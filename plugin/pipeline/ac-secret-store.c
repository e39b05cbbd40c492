/*
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The passphrase never leaves this machine through us: it goes into the secret store of a
 * local libvirtd (never a remote one, which may be the very host SEV protects against), is
 * read back only to build the SEV launch secret, and every buffer holding it is cleansed.
 */
#include "config.h"

#include "ac-secret-store.h"

#include <libvirt/virterror.h>
#include <openssl/crypto.h>
#include <string.h>

#include "ac-error.h"
#include "ac-virt.h"

/**
 * ac_secret_store_uri_is_local:
 *
 * Whether @uri reaches a libvirtd on this machine: no host part, and no remote transport but
 * unix. The one rule for where a disk passphrase may be kept.
 */
gboolean
ac_secret_store_uri_is_local (const gchar *uri)
{
	g_autoptr (GUri) u = NULL;
	const gchar *host;
	const gchar *scheme;

	if (uri == NULL)
		return FALSE;
	u = g_uri_parse (uri, G_URI_FLAGS_NON_DNS | G_URI_FLAGS_ENCODED_QUERY, NULL);
	if (u == NULL)
		return FALSE;
	host = g_uri_get_host (u);
	scheme = g_uri_get_scheme (u);
	if (scheme == NULL)
		return FALSE;
	if (strchr (scheme, '+') != NULL && !g_str_has_suffix (scheme, "+unix"))
		return FALSE;
	return host == NULL || host[0] == '\0';
}

/**
 * ac_secret_store_connect:
 * @conn: (nullable): the connection domains are managed through; used (and then required)
 *   when @secrets_uri is NULL
 * @secrets_uri: (nullable): the configured libvirt for passphrases ([pipeline] secrets-uri)
 *
 * The libvirt whose secret store keeps disk passphrases: @secrets_uri when set, else @conn
 * itself; either must be a libvirt on this machine (ac_secret_store_uri_is_local()). A remote
 * host (qemu+ssh://) is the very host SEV protects the guest from: %AC_ERROR_REFUSED.
 *
 * Returns: (transfer full): a connection for virConnectClose().
 */
virConnectPtr
ac_secret_store_connect (virConnectPtr conn, const gchar *secrets_uri, GError **error)
{
	g_return_val_if_fail (conn != NULL || secrets_uri != NULL, NULL);

	if (secrets_uri == NULL) {
		char *u = virConnectGetURI (conn);
		g_autofree gchar *own = g_strdup (u);
		free (u);
		if (!ac_secret_store_uri_is_local (own)) {
			g_set_error (
			    error, AC_ERROR, AC_ERROR_REFUSED,
			    "refusing to keep the disk passphrase in the secret store of %s, a "
			    "remote host (the very host SEV protects the guest from); set "
			    "secrets-uri in the [pipeline] configuration to a local libvirt "
			    "(qemu:///system)",
			    own != NULL ? own : "(unknown URI)");
			return NULL;
		}
		virConnectRef (conn);
		return conn;
	}
	if (!ac_secret_store_uri_is_local (secrets_uri)) {
		g_set_error (
		    error, AC_ERROR, AC_ERROR_REFUSED,
		    "secrets-uri %s is not a local libvirt; the passphrase never goes to another "
		    "host",
		    secrets_uri);
		return NULL;
	}
	return ac_virt_connect (secrets_uri, error);
}

/**
 * ac_secret_store_lookup_volume:
 * @path: the volume (image file) the secret is for
 *
 * The UUID of the secret whose usage is <usage type='volume'><volume>@path</volume></usage>.
 * %AC_ERROR_NOT_FOUND when there is none; %AC_ERROR_LIBVIRT when the store cannot be asked (a
 * driver without secrets, a lost connection): that is not an answer about the secret.
 */
gchar *
ac_secret_store_lookup_volume (virConnectPtr conn, const gchar *path, GError **error)
{
	virSecretPtr secret = virSecretLookupByUsage (conn, VIR_SECRET_USAGE_TYPE_VOLUME, path);
	char uuid[VIR_UUID_STRING_BUFLEN];
	int rc;

	if (secret == NULL) {
		if (virGetLastErrorCode () == VIR_ERR_NO_SECRET) {
			virResetLastError ();
			g_set_error (error, AC_ERROR, AC_ERROR_NOT_FOUND,
			             "no passphrase secret in libvirt's secret store for %s", path);
			return NULL;
		}
		ac_virt_set_error (error,
		                   "cannot look up the disk passphrase of %s in libvirt's secret "
		                   "store",
		                   path);
		return NULL;
	}
	rc = virSecretGetUUIDString (secret, uuid);
	virSecretFree (secret);
	if (rc < 0) {
		ac_virt_set_error (error, "cannot read the UUID of the passphrase secret of %s", path);
		return NULL;
	}
	return g_strdup (uuid);
}

/**
 * ac_secret_store_put:
 *
 * Defines a new secret (usage: the encrypted image as a volume) and sets its value.
 *
 * Returns: the secret's UUID.
 */
gchar *
ac_secret_store_put (virConnectPtr conn,
		     const gchar *domain,
		     const gchar *image_path,
		     const guint8 *value,
		     gsize len,
		     GError **error)
{
	g_autofree gchar *desc = g_markup_printf_escaped ("aleph-confidential: LUKS passphrase of the encrypted image of domain %s", domain);
	g_autofree gchar *path = g_markup_escape_text (image_path, -1);
	g_autofree gchar *xml = g_strdup_printf ("<secret ephemeral='no' private='no'>"
						 "<description>%s</description>"
						 "<usage type='volume'><volume>%s</volume></usage>"
						 "</secret>",
						 desc, path);
	virSecretPtr secret;
	char uuid[VIR_UUID_STRING_BUFLEN];

	/* a secret left for the same image by an interrupted run is replaced */
	secret = virSecretLookupByUsage (conn, VIR_SECRET_USAGE_TYPE_VOLUME, image_path);
	if (secret != NULL) {
		virSecretUndefine (secret);
		virSecretFree (secret);
	}
	secret = virSecretDefineXML (conn, xml, 0);
	if (secret == NULL) {
		ac_virt_set_error (error, "cannot define a libvirt secret for the passphrase of '%s'", domain);
		return NULL;
	}
	if (virSecretSetValue (secret, value, len, 0) < 0) {
		ac_virt_set_error (error, "cannot store the passphrase of '%s' in libvirt's secret store", domain);
		virSecretUndefine (secret);
		virSecretFree (secret);
		return NULL;
	}
	virSecretGetUUIDString (secret, uuid);
	virSecretFree (secret);
	return g_strdup (uuid);
}

/**
 * ac_secret_store_get:
 *
 * Returns: (transfer full): the value; the caller cleanses it (OPENSSL_clear_free).
 */
guint8 *
ac_secret_store_get (virConnectPtr conn, const gchar *uuid, gsize *len, GError **error)
{
	virSecretPtr secret = virSecretLookupByUUIDString (conn, uuid);
	unsigned char *value;
	size_t n = 0;
	guint8 *copy;

	if (secret == NULL) {
		virErrorPtr err = virGetLastError ();
		if (err == NULL || err->code != VIR_ERR_NO_SECRET) {
			/* not an answer about the secret: libvirt could not be asked */
			ac_virt_set_error (error, "cannot look up the passphrase secret %s", uuid);
			return NULL;
		}
		g_set_error (error, AC_ERROR, AC_ERROR_NOT_FOUND,
			     "the passphrase secret %s is missing from libvirt's secret store", uuid);
		return NULL;
	}
	value = virSecretGetValue (secret, &n, 0);
	virSecretFree (secret);
	if (value == NULL) {
		ac_virt_set_error (error, "cannot read the passphrase secret %s", uuid);
		return NULL;
	}
	copy = OPENSSL_malloc (n + 1);
	memcpy (copy, value, n);
	copy[n] = 0;
	OPENSSL_cleanse (value, n);
	free (value);
	*len = n;
	return copy;
}

gboolean
ac_secret_store_remove (virConnectPtr conn, const gchar *uuid, GError **error)
{
	virSecretPtr secret = virSecretLookupByUUIDString (conn, uuid);
	if (secret == NULL)
		return TRUE;
	if (virSecretUndefine (secret) < 0) {
		ac_virt_set_error (error, "cannot remove the passphrase secret %s", uuid);
		virSecretFree (secret);
		return FALSE;
	}
	virSecretFree (secret);
	return TRUE;
}
