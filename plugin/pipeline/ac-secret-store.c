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
 * Whether @uri reaches a libvirtd on this machine (no host part, or a unix socket).
 */
gboolean
ac_secret_store_uri_is_local (const gchar *uri)
{
	g_autoptr(GUri) u = g_uri_parse (uri, G_URI_FLAGS_NON_DNS | G_URI_FLAGS_ENCODED_QUERY, NULL);
	const gchar *host;
	const gchar *scheme;
	if (u == NULL)
		return FALSE;
	host = g_uri_get_host (u);
	scheme = g_uri_get_scheme (u);
	if (strchr (scheme, '+') != NULL && !g_str_has_suffix (scheme, "+unix"))
		return FALSE;
	return host == NULL || host[0] == '\0';
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
