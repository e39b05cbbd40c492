/*
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The passphrase never leaves this machine through us: it goes into the secret store of a
 * local libvirtd (never a remote one, which may be the very host SEV protects against), is
 * read back only to build the SEV launch secret, and every buffer holding it is cleansed.
 */
#include "config.h"

#include "ac-secret-store.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <libvirt/virterror.h>
#include <openssl/crypto.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ac-error.h"
#include "ac-file.h"
#include "ac-secret.h"
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

#define AC_SECRET_MAX (64 * 1024)

/* <state_dir>/secrets/<uuid>: libvirt's UUID string only, never a path of someone else's */
gchar *
ac_secret_store_copy_path (const gchar *state_dir, const gchar *uuid)
{
	if (uuid == NULL || strlen (uuid) != 36 || strspn (uuid, "0123456789abcdef-") != 36)
		return NULL;
	return g_build_filename (state_dir, "secrets", uuid, NULL);
}

/* overwrite, then unlink: a copy of a passphrase leaves no bytes behind in its file */
static gboolean
ac_secret_store_wipe_copy (const gchar *path, GError **error)
{
	int fd = g_open (path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0);
	struct stat st;

	if (fd < 0 && errno == ENOENT)
		return TRUE;
	if (fd >= 0 && fstat (fd, &st) == 0 && S_ISREG (st.st_mode) && st.st_size > 0) {
		g_autofree guint8 *zeros = g_malloc0 ((gsize)st.st_size);
		(void)ac_file_write_all (fd, path, zeros, (gsize)st.st_size, NULL);
		(void)fsync (fd);
	}
	if (fd >= 0)
		g_close (fd, NULL);
	if (g_unlink (path) != 0 && errno != ENOENT) {
		g_set_error (error, AC_ERROR, AC_ERROR_IO, "cannot remove the passphrase copy %s: %s",
			     path, g_strerror (errno));
		return FALSE;
	}
	return TRUE;
}

/* <state_dir>/secrets exists, is ours and is closed to everyone else */
static gboolean
ac_secret_store_copies_ready (const gchar *state_dir, GError **error)
{
	g_autofree gchar *dir = g_build_filename (state_dir, "secrets", NULL);
	struct stat st;

	if (g_mkdir_with_parents (dir, 0700) != 0 || lstat (dir, &st) != 0) {
		g_set_error (error, AC_ERROR, AC_ERROR_IO, "cannot create %s: %s", dir, g_strerror (errno));
		return FALSE;
	}
	/* the directory is the service's alone: a looser or foreign one is not used */
	if (!S_ISDIR (st.st_mode) || st.st_uid != geteuid () || (st.st_mode & 0077) != 0) {
		g_set_error (error, AC_ERROR, AC_ERROR_REFUSED,
			     "%s must be a directory owned by uid %u with mode 0700 (it is %s, uid "
			     "%u, mode %04o): the disk passphrases are kept there",
			     dir, (guint)geteuid (), S_ISDIR (st.st_mode) ? "a directory" : "no directory",
			     (guint)st.st_uid, (guint)(st.st_mode & 07777));
		return FALSE;
	}
	return TRUE;
}

/**
 * ac_secret_store_put:
 * @state_dir: where the service keeps its copy (see the header)
 *
 * Defines a new private secret (usage: the encrypted image as a volume), sets its value and
 * writes the service's copy.
 *
 * Returns: the secret's UUID.
 */
gchar *
ac_secret_store_put (virConnectPtr conn,
		     const gchar *state_dir,
		     const gchar *domain,
		     const gchar *image_path,
		     const guint8 *value,
		     gsize len,
		     GError **error)
{
	g_autofree gchar *desc = g_markup_printf_escaped ("aleph-confidential: LUKS passphrase of the encrypted image of domain %s", domain);
	g_autofree gchar *path = g_markup_escape_text (image_path, -1);
	g_autofree gchar *xml = NULL;
	virSecretPtr secret;
	char uuid[VIR_UUID_STRING_BUFLEN];
	g_autofree gchar *new_uuid = g_uuid_string_random ();
	g_autofree gchar *copy_path = ac_secret_store_copy_path (state_dir, new_uuid);

	g_return_val_if_fail (state_dir != NULL, NULL);

	/* where the copy goes is checked before libvirt is touched */
	if (!ac_secret_store_copies_ready (state_dir, error)) {
		g_prefix_error (error, "domain '%s': ", domain);
		return NULL;
	}

	/* a secret left for the same image by an interrupted run is replaced */
	secret = virSecretLookupByUsage (conn, VIR_SECRET_USAGE_TYPE_VOLUME, image_path);
	if (secret != NULL) {
		g_autofree gchar *old = NULL;
		if (virSecretGetUUIDString (secret, uuid) == 0 &&
		    (old = ac_secret_store_copy_path (state_dir, uuid)) != NULL)
			(void)ac_secret_store_wipe_copy (old, NULL);
		virSecretUndefine (secret);
		virSecretFree (secret);
	}
	/* our UUID: the copy's name is known before the secret exists */
	xml = g_strdup_printf ("<secret ephemeral='no' private='yes'><uuid>%s</uuid>"
			       "<description>%s</description>"
			       "<usage type='volume'><volume>%s</volume></usage>"
			       "</secret>",
			       new_uuid, desc, path);
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
	if (!ac_file_replace_contents (copy_path, value, len, TRUE, 0600, error)) {
		g_prefix_error (error, "domain '%s': ", domain);
		virSecretUndefine (secret);
		virSecretFree (secret);
		return NULL;
	}
	virSecretFree (secret);
	return g_steal_pointer (&new_uuid);
}

/**
 * ac_secret_store_get:
 *
 * The passphrase of secret @uuid: the service's copy while the libvirt secret exists, else
 * (a secret the user defined private='no', or one from before copies were kept) the value
 * libvirt gives back.
 *
 * Returns: (transfer full): the value, NUL-terminated; the caller cleanses it
 * (OPENSSL_clear_free (value, len + 1)).
 */
guint8 *
ac_secret_store_get (virConnectPtr conn,
		     const gchar *state_dir,
		     const gchar *uuid,
		     gsize *len,
		     GError **error)
{
	virSecretPtr secret = virSecretLookupByUUIDString (conn, uuid);
	g_autofree gchar *copy_path = ac_secret_store_copy_path (state_dir, uuid);
	unsigned char *value;
	size_t n = 0;
	guint64 size = 0;
	guint8 *copy;
	int fd;

	if (secret == NULL) {
		virErrorPtr err = virGetLastError ();
		if (err == NULL || err->code != VIR_ERR_NO_SECRET) {
			/* not an answer about the secret: libvirt could not be asked */
			ac_virt_set_error (error, "cannot look up the passphrase secret %s", uuid);
			return NULL;
		}
		/* the secret was undefined: the passphrase is gone, its copy with it */
		if (copy_path != NULL)
			(void)ac_secret_store_wipe_copy (copy_path, NULL);
		g_set_error (error, AC_ERROR, AC_ERROR_NOT_FOUND,
			     "the passphrase secret %s is missing from libvirt's secret store", uuid);
		return NULL;
	}
	fd = copy_path != NULL ? ac_file_open_regular (copy_path, AC_SECRET_MAX, &size, NULL) : -1;
	if (fd >= 0) {
		gsize got = 0;
		copy = OPENSSL_malloc ((gsize)size + 1);
		while (copy != NULL && got < (gsize)size) {
			gssize r = read (fd, copy + got, (gsize)size - got);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0)
				break;
			got += (gsize)r;
		}
		g_close (fd, NULL);
		virSecretFree (secret);
		if (copy == NULL || got != (gsize)size) {
			OPENSSL_clear_free (copy, (gsize)size + 1);
			g_set_error (error, AC_ERROR, AC_ERROR_IO, "cannot read the passphrase copy %s",
				     copy_path);
			return NULL;
		}
		copy[got] = 0;
		*len = got;
		return copy;
	}
	value = virSecretGetValue (secret, &n, 0);
	if (value == NULL) {
		/* libvirt says "secret is private" (or, embedded, that there is no identity) */
		virErrorPtr saved = virSaveLastError ();
		char *desc = virSecretGetXMLDesc (secret, 0);
		gboolean private = desc != NULL && strstr (desc, "private='yes'") != NULL;
		free (desc);
		if (private)
			g_set_error (error, AC_ERROR, AC_ERROR_NOT_FOUND,
				     "the passphrase secret %s is private and this machine keeps no "
				     "copy of it (%s): define it with private='no', or build the image "
				     "again", uuid, copy_path != NULL ? copy_path : "no valid path");
		else
			g_set_error (error, AC_ERROR, AC_ERROR_LIBVIRT,
				     "cannot read the passphrase secret %s: %s", uuid,
				     saved != NULL && saved->message != NULL ? saved->message : "unknown error");
		virFreeError (saved);
		virSecretFree (secret);
		return NULL;
	}
	virSecretFree (secret);
	copy = OPENSSL_malloc (n + 1);
	if (copy == NULL) {
		ac_secret_wipe (value, n);
		free (value);
		g_set_error_literal (error, AC_ERROR, AC_ERROR_INTERNAL, "out of memory");
		return NULL;
	}
	memcpy (copy, value, n);
	copy[n] = 0;
	ac_secret_wipe (value, n);
	free (value);
	*len = n;
	return copy;
}

gboolean
ac_secret_store_remove (virConnectPtr conn, const gchar *state_dir, const gchar *uuid, GError **error)
{
	virSecretPtr secret = virSecretLookupByUUIDString (conn, uuid);
	g_autofree gchar *copy_path = ac_secret_store_copy_path (state_dir, uuid);

	if (secret != NULL && virSecretUndefine (secret) < 0) {
		ac_virt_set_error (error, "cannot remove the passphrase secret %s", uuid);
		virSecretFree (secret);
		return FALSE;
	}
	if (secret != NULL)
		virSecretFree (secret);
	return copy_path == NULL || ac_secret_store_wipe_copy (copy_path, error);
}
