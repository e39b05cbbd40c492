/*
 * The built-in AMD SEV-SNP ARK/ASK pairs per product, generated at build time from
 * sev/data/snp (see gen-snp-builtin.py, which checks them against sev/data/snp/builtin.pins).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

typedef struct {
	const gchar *product; /* "Milan", "Genoa", "Turin" */
	const guint8 *ark;    /* DER */
	gsize ark_len;
	const guint8 *ask; /* DER */
	gsize ask_len;
	const gchar *ark_spki_sha384; /* lowercase hex: the pin checked at run time as well */
} AcSnpBuiltinRoot;

/* terminated by an entry whose product is NULL; order: Milan, Genoa, Turin */
extern const AcSnpBuiltinRoot ac_snp_builtin_roots[];
