/*
 * AMD Key Distribution Service for SEV-SNP: the URLs of a VCEK, a VLEK, the ASK/ASVK + ARK
 * chain and the ARK's CRL, and a client with a persistent on-disk cache and an offline mode.
 * sev/ has no HTTP library: the GET goes through the caller's AcSevKdsFetchFunc (plugin/aleph's
 * ac_aleph_kds_fetch over libcurl, or a test's fake).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

#include "ac-sev-chain.h"
#include "ac-snp-chain.h"

G_BEGIN_DECLS

#define AC_SNP_KDS_URL "https://kdsintf.amd.com"

/* {base}/vcek/v1/{Product}/{hex hwID}?blSPL=..&teeSPL=..&snpSPL=..&ucodeSPL=.. — Turin: the
 * hwID is CHIP_ID[0:8] and fmcSPL comes first; SPLs in decimal, two digits at least.
 * @base: NULL = AC_SNP_KDS_URL (a trailing '/' is ignored); @chip_id: 64 bytes */
gchar *
ac_snp_kds_vcek_url (const gchar *base,
                     AcSnpProduct product,
                     const guint8 *chip_id,
                     gsize chip_id_len,
                     const AcSnpTcb *tcb,
                     GError **error);
/* {base}/vlek/v1/{Product}/cert?…SPL… (KDS needs the CSP's secret header for it) */
gchar *
ac_snp_kds_vlek_url (const gchar *base, AcSnpProduct product, const AcSnpTcb *tcb, GError **error);
/* {base}/{vcek|vlek}/v1/{Product}/cert_chain: PEM, ASK (or ASVK) then ARK */
gchar *
ac_snp_kds_cert_chain_url (const gchar *base, AcSnpProduct product, gboolean vlek, GError **error);
/* {base}/{vcek|vlek}/v1/{Product}/crl: DER, signed by the ARK */
gchar *
ac_snp_kds_crl_url (const gchar *base, AcSnpProduct product, gboolean vlek, GError **error);

typedef struct _AcSnpKds AcSnpKds;

/**
 * ac_snp_kds_new:
 * @base_url: (nullable): NULL = AC_SNP_KDS_URL
 * @cache_dir: (nullable): where answers are kept (created 0700; one subdirectory per base URL,
 *   files replaced atomically); NULL = no cache
 * @fetch: (nullable): the HTTP GET; NULL = offline (cache only)
 */
AcSnpKds *
ac_snp_kds_new (const gchar *base_url,
                const gchar *cache_dir,
                AcSevKdsFetchFunc fetch,
                gpointer user_data);
void
ac_snp_kds_free (AcSnpKds *self);
/* offline: never calls the fetcher; a missing cache entry is AC_ERROR_NOT_FOUND */
void
ac_snp_kds_set_offline (AcSnpKds *self, gboolean offline);
const gchar *
ac_snp_kds_get_base_url (AcSnpKds *self);

/* the VCEK of @chip_id at @tcb: from the cache, else fetched; the certificate must be a VCEK
 * of @product whose hwID and TCB are the ones asked for (AC_ERROR_REMOTE otherwise). Its chain
 * is not verified here: that is ac_snp_chain_verify()'s job. */
AcSnpCert *
ac_snp_kds_get_vcek (AcSnpKds *self,
                     AcSnpProduct product,
                     const guint8 *chip_id,
                     gsize chip_id_len,
                     const AcSnpTcb *tcb,
                     GCancellable *cancellable,
                     GError **error);
/* cert_chain: exactly an ASK (ASVK when @vlek) and an ARK of @product */
gboolean
ac_snp_kds_get_cert_chain (AcSnpKds *self,
                           AcSnpProduct product,
                           gboolean vlek,
                           AcSnpCert **intermediate,
                           AcSnpCert **ark,
                           GCancellable *cancellable,
                           GError **error);
/* the CRL, verified with @ark (signature, current at @at; NULL = now) before it is returned or
 * cached; a cached CRL past its nextUpdate is fetched again (offline: refused as stale) */
AcSnpCrl *
ac_snp_kds_get_crl (AcSnpKds *self,
                    AcSnpProduct product,
                    gboolean vlek,
                    AcSnpCert *ark,
                    GDateTime *at,
                    GCancellable *cancellable,
                    GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (AcSnpKds, ac_snp_kds_free)

G_END_DECLS
