/*
 * The built-in AMD ARK/ASK pairs, generated at build time from sev/data (see
 * gen-sev-builtin.py, which checks them against sev/data/builtin.pins).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

typedef struct {
	const gchar *generation;
	const guint8 *ark;
	gsize ark_len;
	const guint8 *ask;
	gsize ask_len;
} AcSevBuiltinRoot;

/* terminated by an entry whose generation is NULL; order: Naples, Rome, Milan, Genoa, Turin */
extern const AcSevBuiltinRoot ac_sev_builtin_roots[];
