/*
 * The owner's approved tag of a domain on a remote host.
 *
 * For a host driven over qemu+ssh:// the tag lives in that host's domain XML, which the host's
 * operator — the adversary SEV protects against — can rewrite: a policy that allows debugging,
 * another firmware, another disk. The service on the trusted machine therefore acts only on the
 * tag the owner approved there: <state_dir>/localsev/<uuid>/tag.xml. `virt-aleph tag` writes
 * it on the trusted machine; a tag first seen by the service is pinned as seen (trust on first
 * use, logged); any later difference is refused, naming what changed, until the owner approves
 * the new tag with `virt-aleph tag DOMAIN --approve`.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "ac-tag.h"

G_BEGIN_DECLS

/* writes @tag as the approved one */
gboolean
ac_localsev_pin_write (const gchar *state_dir, const gchar *uuid, const AcTag *tag, GError **error);

/* the approved tag, or NULL with %AC_ERROR_NOT_FOUND when none was pinned */
AcTag *
ac_localsev_pin_read (const gchar *state_dir, const gchar *uuid, GError **error);

/*
 * Whether @tag is the approved one. No pin yet: @tag is pinned (*pinned_now = TRUE) and
 * accepted. A different tag: %FALSE with %AC_ERROR_REFUSED naming each difference and how to
 * approve it.
 */
gboolean
ac_localsev_pin_check (const gchar *state_dir,
                       const gchar *uuid,
                       const gchar *domain,
                       const AcTag *tag,
                       gboolean *pinned_now,
                       GError **error);

G_END_DECLS
