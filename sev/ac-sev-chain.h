/*
 * The SEV platform certificate chain ARK → ASK → CEK → PEK (signed by OCA and CEK) → PDH:
 * trusted roots (the built-in AMD ones, or explicitly given ones such as a software PSP's),
 * the `sevctl export` / `export --full` layouts, verification, and the AMD KDS CEK fetcher
 * interface with its on-disk cache (the HTTP part lives in plugin/).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

#include "ac-sev-cert.h"

G_BEGIN_DECLS

/* ---- trusted roots ---- */

typedef struct _AcSevRoots AcSevRoots;

AcSevRoots *ac_sev_roots_new (void);
AcSevRoots *ac_sev_roots_new_builtin (void);
AcSevRoots *ac_sev_roots_ref (AcSevRoots *self);
void ac_sev_roots_unref (AcSevRoots *self);
gboolean ac_sev_roots_add (AcSevRoots *self,
			   const gchar *name,
			   AcAmdCert *ark,
			   AcAmdCert *ask,
			   GError **error);
gboolean ac_sev_roots_add_builtin (AcSevRoots *self, const gchar *generation, GError **error);
guint ac_sev_roots_get_size (AcSevRoots *self);
const gchar *ac_sev_roots_get_name (AcSevRoots *self, guint idx);
AcAmdCert *ac_sev_roots_get_ark (AcSevRoots *self, const gchar *name);
AcAmdCert *ac_sev_roots_get_ask (AcSevRoots *self, const gchar *name);
gchar *ac_sev_roots_to_string (AcSevRoots *self);

/* the built-in AMD generations, oldest first */
const gchar *const *ac_sev_builtin_generations (void);
AcAmdCert *ac_sev_builtin_get_ark (const gchar *generation, GError **error);
AcAmdCert *ac_sev_builtin_get_ask (const gchar *generation, GError **error);

/* ---- the chain ---- */

#define AC_SEV_CHAIN_EXPORT_SIZE (4 * AC_SEV_CERT_SIZE)

typedef struct _AcSevChain AcSevChain;

AcSevChain *ac_sev_chain_new (AcSevCert *pdh,
			      AcSevCert *pek,
			      AcSevCert *oca,
			      AcSevCert *cek,
			      AcAmdCert *ask,
			      AcAmdCert *ark);
AcSevChain *ac_sev_chain_parse (const guint8 *data, gsize len, GError **error);
AcSevChain *ac_sev_chain_parse_file (const gchar *path, GError **error);
AcSevChain *ac_sev_chain_parse_pdh_export (const guint8 *pdh,
					   gsize pdh_len,
					   const guint8 *certs,
					   gsize certs_len,
					   GError **error);
AcSevChain *ac_sev_chain_ref (AcSevChain *self);
void ac_sev_chain_unref (AcSevChain *self);
AcSevCert *ac_sev_chain_get_pdh (AcSevChain *self);
AcSevCert *ac_sev_chain_get_pek (AcSevChain *self);
AcSevCert *ac_sev_chain_get_oca (AcSevChain *self);
AcSevCert *ac_sev_chain_get_cek (AcSevChain *self);
AcAmdCert *ac_sev_chain_get_ask (AcSevChain *self); /* nullable */
AcAmdCert *ac_sev_chain_get_ark (AcSevChain *self); /* nullable */
void ac_sev_chain_set_cek (AcSevChain *self, AcSevCert *cek);
GBytes *ac_sev_chain_to_bytes (AcSevChain *self, gboolean full);

typedef struct {
	gchar *generation; /* name of the trusted root the chain leads to */
	gchar *ark_key_id;
	gchar *ask_key_id;
	guint cek_slot;
	guint oca_slot;
	guint pek_oca_slot;
	guint pek_cek_slot;
	guint pdh_slot;
} AcSevChainVerdict;

void ac_sev_chain_verdict_free (AcSevChainVerdict *verdict);

gboolean ac_sev_chain_verify (AcSevChain *self,
			      AcSevRoots *roots,
			      const gchar *generation,
			      AcSevChainVerdict **verdict,
			      GError **error);

/* ---- AMD KDS: the ASK-signed CEK by chip id (GET_ID), with an on-disk cache ---- */

#define AC_SEV_KDS_URL "https://kdsintf.amd.com"

/* Performs one HTTP GET of @url and returns the body; implemented in plugin/ (libcurl). */
typedef GBytes *(*AcSevKdsFetchFunc) (const gchar *url,
				      gpointer user_data,
				      GCancellable *cancellable,
				      GError **error);

gchar *ac_sev_kds_cek_url (const guint8 *chip_id, gsize chip_id_len);
AcSevCert *ac_sev_kds_get_cek (const guint8 *chip_id,
			       gsize chip_id_len,
			       const gchar *cache_dir,
			       AcSevKdsFetchFunc fetch,
			       gpointer user_data,
			       GCancellable *cancellable,
			       GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (AcSevRoots, ac_sev_roots_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AcSevChain, ac_sev_chain_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AcSevChainVerdict, ac_sev_chain_verdict_free)

G_END_DECLS
