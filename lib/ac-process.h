/*
 * aleph-confidential: process hygiene for code that holds secrets — no core dumps, no secret
 * in the memory a dump would contain, and no secret in the environment of spawned tools.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

void ac_process_harden (void);
void ac_process_protect_memory (gpointer addr, gsize len);
gchar **ac_process_tool_environ (const gchar *const *extra);

G_END_DECLS
