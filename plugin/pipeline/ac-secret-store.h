/*
 * The disk passphrase of a domain's encrypted image, kept in libvirt's secret store as a
 * private secret (nobody reads it back through libvirt's API), with the one copy the
 * service reads in its state directory: <state_dir>/secrets/<secret uuid>, 0600 in a 0700
 * directory. The libvirt secret decides whether the passphrase exists: a copy whose
 * secret is gone is wiped when next asked for.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>
#include <libvirt/libvirt.h>

G_BEGIN_DECLS

gboolean ac_secret_store_uri_is_local (const gchar *uri);
virConnectPtr ac_secret_store_connect (virConnectPtr conn, const gchar *secrets_uri, GError **error);
gchar *ac_secret_store_lookup_volume (virConnectPtr conn, const gchar *path, GError **error);
gchar *ac_secret_store_put (virConnectPtr conn,
			    const gchar *state_dir,
			    const gchar *domain,
			    const gchar *image_path,
			    const guint8 *value,
			    gsize len,
			    GError **error);
guint8 *ac_secret_store_get (virConnectPtr conn,
			     const gchar *state_dir,
			     const gchar *uuid,
			     gsize *len,
			     GError **error);
gboolean ac_secret_store_remove (virConnectPtr conn,
				 const gchar *state_dir,
				 const gchar *uuid,
				 GError **error);
gchar *ac_secret_store_copy_path (const gchar *state_dir, const gchar *uuid);

G_END_DECLS
