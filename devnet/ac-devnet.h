/*
 * aleph-confidential devnet: a local Aleph network on loopback — a CCN (messages, files, CRN
 * list), one or more CRNs each with its own software SEV PSP, an admin endpoint for the tests,
 * a SQLite store in a state directory, fault knobs and attacks.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

typedef struct _AcDevnet AcDevnet;

/* Reads the JSON configuration (see devnet/README.md); relative paths are relative to the
 * configuration file's directory. */
AcDevnet *
ac_devnet_new_from_file (const gchar *config_path, GError **error);
AcDevnet *
ac_devnet_new_from_json (const gchar *json, const gchar *base_dir, GError **error);
void
ac_devnet_free (AcDevnet *self);

/* Creates the state directory, the identities and the store, binds every listener on
 * 127.0.0.1 (port 0 = ephemeral) in the thread-default main context. */
gboolean
ac_devnet_start (AcDevnet *self, GError **error);
/* Stops listening and closes the store. Idempotent. */
void
ac_devnet_stop (AcDevnet *self);

/* The bound URLs and the trust inputs as one compact JSON line (no newline). */
gchar *
ac_devnet_get_ready_line (AcDevnet *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (AcDevnet, ac_devnet_free)

G_END_DECLS
