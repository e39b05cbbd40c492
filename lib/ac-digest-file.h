/*
 * aleph-confidential: the SHA-256 of a whole file, streamed (images of gigabytes).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

gchar *
ac_sha256_fd_hex (int fd, const gchar *what, GCancellable *cancellable, GError **error);

G_END_DECLS
