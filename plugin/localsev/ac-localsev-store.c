/*
 * The state directory of the local SEV flow: <state_dir>/localsev/<uuid>/ (0700), its
 * session files and their removal.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "ac-localsev-store.h"
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
#include "ac-sev-secret.h"
#include "ac-sev-session.h"

/* ------------------------------------------------------------------------------------------ */
/* the private state directory                                                                */

static gboolean
ac_localsev_store_private_dir (const gchar *path, gboolean create, GError **error)
{
	struct stat st;

	if (!create && lstat (path, &st) != 0 && errno == ENOENT) {
		g_set_error (error, AC_ERROR, AC_ERROR_NOT_FOUND,
		             "state directory %s does not exist: nothing was prepared", path);
		return FALSE;
	}
	if (create && mkdir (path, 0700) != 0 && errno != EEXIST) {
		g_set_error (error, AC_ERROR, AC_ERROR_IO, "cannot create state directory %s: %s",
		             path, g_strerror (errno));
		return FALSE;
	}
	if (lstat (path, &st) != 0) {
		g_set_error (error, AC_ERROR, AC_ERROR_IO, "cannot read state directory %s: %s",
		             path, g_strerror (errno));
		return FALSE;
	}
	if (!S_ISDIR (st.st_mode)) {
		g_set_error (error, AC_ERROR, AC_ERROR_PERMISSION,
		             "state directory %s is not a directory (a symlink?): refusing to keep "
		             "session keys there",
		             path);
		return FALSE;
	}
	if (st.st_uid != geteuid () || (st.st_mode & 077) != 0) {
		g_set_error (error, AC_ERROR, AC_ERROR_PERMISSION,
		             "state directory %s has mode %04o and owner %u, expected 0700 and "
		             "owner %u: refusing to keep session keys there",
		             path, (guint)(st.st_mode & 07777), (guint)st.st_uid,
		             (guint)geteuid ());
		return FALSE;
	}
	return TRUE;
}

gboolean
ac_localsev_store_check_uuid (const gchar *uuid, GError **error)
{
	if (uuid == NULL || !g_uuid_string_is_valid (uuid)) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "domain UUID '%s' is not a UUID", uuid != NULL ? uuid : "(none)");
		return FALSE;
	}
	return TRUE;
}

gchar *
ac_localsev_store_domain_dir_full (const gchar *state_dir,
                                   const gchar *uuid,
                                   gboolean create,
                                   GError **error)
{
	g_autofree gchar *lower = NULL;
	g_autofree gchar *base = NULL;
	g_autofree gchar *dir = NULL;

	if (!ac_localsev_store_check_uuid (uuid, error))
		return NULL;
	if (state_dir == NULL || state_dir[0] == '\0') {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		                     "no state directory configured");
		return NULL;
	}
	if (create && g_mkdir_with_parents (state_dir, 0700) != 0) {
		g_set_error (error, AC_ERROR, AC_ERROR_IO, "cannot create state directory %s: %s",
		             state_dir, g_strerror (errno));
		return NULL;
	}
	lower = g_ascii_strdown (uuid, -1);
	base = g_build_filename (state_dir, "localsev", NULL);
	if (!ac_localsev_store_private_dir (base, create, error))
		return NULL;
	dir = g_build_filename (base, lower, NULL);
	if (!ac_localsev_store_private_dir (dir, create, error))
		return NULL;
	return g_steal_pointer (&dir);
}

/**
 * ac_localsev_store_domain_dir:
 *
 * Returns: `<state_dir>/localsev/<uuid>`, created with mode 0700 if missing and checked to be
 * a private directory of ours.
 */
gchar *
ac_localsev_store_domain_dir (const gchar *state_dir, const gchar *uuid, GError **error)
{
	return ac_localsev_store_domain_dir_full (state_dir, uuid, TRUE, error);
}

gboolean
ac_localsev_store_write (const gchar *path,
                         const gchar *contents,
                         GFileSetContentsFlags flags,
                         const gchar *what,
                         GError **error)
{
	g_autoptr (GError) error_local = NULL;

	if (!g_file_set_contents_full (path, contents, -1, G_FILE_SET_CONTENTS_CONSISTENT | flags,
	                               0600, &error_local)) {
		g_set_error (error, AC_ERROR, AC_ERROR_IO, "cannot %s: %s", what,
		             error_local->message);
		return FALSE;
	}
	return TRUE;
}

/* overwrite with zeros, then unlink; a missing file is fine */
gboolean
ac_localsev_store_shred (const gchar *path, GError **error)
{
	int fd = open (path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;

	if (fd < 0) {
		if (errno == ENOENT)
			return TRUE;
		if (errno != ELOOP) {
			g_set_error (error, AC_ERROR, AC_ERROR_IO, "cannot open %s to erase it: %s",
			             path, g_strerror (errno));
			return FALSE;
		}
	} else {
		if (fstat (fd, &st) == 0 && S_ISREG (st.st_mode)) {
			guint8 zeros[4096] = { 0 };
			off_t left = st.st_size;
			while (left > 0) {
				ssize_t w = write (fd, zeros, MIN ((off_t)sizeof (zeros), left));
				if (w <= 0)
					break;
				left -= w;
			}
			(void)fsync (fd);
		}
		close (fd);
	}
	if (unlink (path) != 0 && errno != ENOENT) {
		g_set_error (error, AC_ERROR, AC_ERROR_IO, "cannot remove %s: %s", path,
		             g_strerror (errno));
		return FALSE;
	}
	return TRUE;
}

const gchar *ac_localsev_store_session_suffixes[]
    = { "_tek.bin", "_tik.bin", "_godh.b64", "_session.b64", ".claimed" };

gboolean
ac_localsev_store_shred_session (const gchar *dir, const gchar *session_id, GError **error)
{
	gboolean ok = TRUE;
	if (session_id == NULL)
		return TRUE;
	for (guint i = 0; i < G_N_ELEMENTS (ac_localsev_store_session_suffixes); i++) {
		g_autofree gchar *base
		    = g_strconcat (session_id, ac_localsev_store_session_suffixes[i], NULL);
		g_autofree gchar *path = g_build_filename (dir, base, NULL);
		g_autoptr (GError) error_local = NULL;
		if (!ac_localsev_store_shred (path, &error_local)) {
			if (ok)
				g_propagate_error (error, g_steal_pointer (&error_local));
			ok = FALSE;
		}
	}
	return ok;
}
