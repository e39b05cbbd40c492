/*
 * The state directory of the local SEV flow (ac-localsev-store.c): <state_dir>/localsev/<uuid>/,
 * private (0700, ours), with the record and the session files of each prepared launch. Used by
 * the flow, the tag pins (ac-localsev-pin.c) and the image state (ac-localsev-image.c); it does
 * not depend on the flow's header.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

#include "ac-sev-session.h"

G_BEGIN_DECLS

/* <state_dir>/localsev/<uuid>/, created private when missing */
gchar *
ac_localsev_store_domain_dir (const gchar *state_dir, const gchar *uuid, GError **error);

/* the same; @create = FALSE: checks it without creating it */
gchar *
ac_localsev_store_domain_dir_full (const gchar *state_dir,
                                   const gchar *uuid,
                                   gboolean create,
                                   GError **error);
gboolean
ac_localsev_store_check_uuid (const gchar *uuid, GError **error);

/* @contents written to @path (0600, through a temporary file renamed over it, @flags added
 * to G_FILE_SET_CONTENTS_CONSISTENT); AC_ERROR_IO "cannot @what: …" on failure */
gboolean
ac_localsev_store_write (const gchar *path,
                         const gchar *contents,
                         GFileSetContentsFlags flags,
                         const gchar *what,
                         GError **error);

/* overwrite with zeros, then unlink; a missing file is fine */
gboolean
ac_localsev_store_shred (const gchar *path, GError **error);

/* the files of a session, by suffix of its id: TEK, TIK, GODH, session blob, claim marker */
extern const gchar *ac_localsev_store_session_suffixes[5];
gboolean
ac_localsev_store_shred_session (const gchar *dir, const gchar *session_id, GError **error);

/* the session keys themselves are read by sev/ac-sev-owner.h (into locked memory) */

G_END_DECLS
