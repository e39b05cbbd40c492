/*
 * AMD KDS for SEV-SNP: URLs, and a client with a persistent cache. Certificates are immutable
 * (a VCEK is named by chip and TCB), so a cached one is served without asking KDS again; it is
 * still checked to be what was asked for. The CRL changes: a cached one is used until its
 * nextUpdate.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <string.h>

#include "ac-codec.h"
#include "ac-error.h"
#include "ac-file.h"
#include "ac-snp-chain-private.h"
#include "ac-snp-kds.h"

struct _AcSnpKds {
	gchar *base;
	gchar *cache; /* {cache_dir}/{first 16 hex of SHA-256(base)}, or NULL */
	AcSevKdsFetchFunc fetch;
	gpointer user_data;
	gboolean offline;
};

/* ------------------------------------------------------------------------------------------ */
/* URLs                                                                                       */

static gchar *
kds_base (const gchar *base)
{
	gchar *b = g_strdup (base != NULL ? base : AC_SNP_KDS_URL);
	gsize n = strlen (b);
	while (n > 0 && b[n - 1] == '/')
		b[--n] = '\0';
	return b;
}

static gboolean
kds_check_product (AcSnpProduct product, GError **error)
{
	if (product == AC_SNP_PRODUCT_MILAN || product == AC_SNP_PRODUCT_GENOA
	    || product == AC_SNP_PRODUCT_TURIN)
		return TRUE;
	g_set_error_literal (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
	                     "AMD KDS: the product must be Milan, Genoa or Turin");
	return FALSE;
}

static gchar *
kds_spl_query (AcSnpProduct product, const AcSnpTcb *tcb)
{
	g_autofree gchar *fmc = product == AC_SNP_PRODUCT_TURIN
	                            ? g_strdup_printf ("fmcSPL=%02u&", tcb->fmc)
	                            : g_strdup ("");
	return g_strdup_printf ("%sblSPL=%02u&teeSPL=%02u&snpSPL=%02u&ucodeSPL=%02u", fmc,
	                        tcb->bootloader, tcb->tee, tcb->snp, tcb->microcode);
}

gchar *
ac_snp_kds_vcek_url (const gchar *base,
                     AcSnpProduct product,
                     const guint8 *chip_id,
                     gsize chip_id_len,
                     const AcSnpTcb *tcb,
                     GError **error)
{
	g_autofree gchar *b = kds_base (base);
	g_autofree gchar *hex = NULL;
	g_autofree gchar *q = NULL;

	if (!kds_check_product (product, error))
		return NULL;
	if (chip_id == NULL || chip_id_len != 64) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "AMD KDS: chip id has %" G_GSIZE_FORMAT " bytes, expected 64",
		             chip_id_len);
		return NULL;
	}
	hex = ac_codec_hex_encode (chip_id, product == AC_SNP_PRODUCT_TURIN ? 8 : 64);
	q = kds_spl_query (product, tcb);
	return g_strdup_printf ("%s/vcek/v1/%s/%s?%s", b, ac_snp_product_to_string (product), hex,
	                        q);
}

gchar *
ac_snp_kds_vlek_url (const gchar *base, AcSnpProduct product, const AcSnpTcb *tcb, GError **error)
{
	g_autofree gchar *b = kds_base (base);
	g_autofree gchar *q = NULL;
	if (!kds_check_product (product, error))
		return NULL;
	q = kds_spl_query (product, tcb);
	return g_strdup_printf ("%s/vlek/v1/%s/cert?%s", b, ac_snp_product_to_string (product), q);
}

static gchar *
kds_product_url (const gchar *base,
                 AcSnpProduct product,
                 gboolean vlek,
                 const gchar *what,
                 GError **error)
{
	g_autofree gchar *b = kds_base (base);
	if (!kds_check_product (product, error))
		return NULL;
	return g_strdup_printf ("%s/%s/v1/%s/%s", b, vlek ? "vlek" : "vcek",
	                        ac_snp_product_to_string (product), what);
}

gchar *
ac_snp_kds_cert_chain_url (const gchar *base, AcSnpProduct product, gboolean vlek, GError **error)
{
	return kds_product_url (base, product, vlek, "cert_chain", error);
}

gchar *
ac_snp_kds_crl_url (const gchar *base, AcSnpProduct product, gboolean vlek, GError **error)
{
	return kds_product_url (base, product, vlek, "crl", error);
}

/* ------------------------------------------------------------------------------------------ */
/* the client and its cache                                                                   */

AcSnpKds *
ac_snp_kds_new (const gchar *base_url,
                const gchar *cache_dir,
                AcSevKdsFetchFunc fetch,
                gpointer user_data)
{
	AcSnpKds *self = g_new0 (AcSnpKds, 1);
	self->base = kds_base (base_url);
	if (cache_dir != NULL) {
		g_autofree gchar *sum
		    = g_compute_checksum_for_string (G_CHECKSUM_SHA256, self->base, -1);
		sum[16] = '\0';
		self->cache = g_build_filename (cache_dir, sum, NULL);
	}
	self->fetch = fetch;
	self->user_data = user_data;
	self->offline = fetch == NULL;
	return self;
}

void
ac_snp_kds_free (AcSnpKds *self)
{
	if (self == NULL)
		return;
	g_free (self->base);
	g_free (self->cache);
	g_free (self);
}

void
ac_snp_kds_set_offline (AcSnpKds *self, gboolean offline)
{
	self->offline = offline || self->fetch == NULL;
}

const gchar *
ac_snp_kds_get_base_url (AcSnpKds *self)
{
	return self->base;
}

static gchar *
kds_cache_path (AcSnpKds *self, AcSnpProduct product, const gchar *name)
{
	if (self->cache == NULL)
		return NULL;
	return g_build_filename (self->cache, ac_snp_product_to_string (product), name, NULL);
}

static GBytes *
kds_cache_read (const gchar *path)
{
	g_autoptr(GError) error = NULL;
	GBytes *b;
	if (path == NULL)
		return NULL;
	b = ac_file_read_bytes (path, 8 * AC_SNP_CERT_MAX, &error);
	if (b == NULL && !g_error_matches (error, AC_ERROR, AC_ERROR_NOT_FOUND))
		g_debug ("KDS cache: %s", error->message);
	return b;
}

/* best effort: a cache that cannot be written only costs a later fetch */
static void
kds_cache_write (const gchar *path, GBytes *data)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *dir = NULL;
	if (path == NULL)
		return;
	dir = g_path_get_dirname (path);
	if (g_mkdir_with_parents (dir, 0700) != 0) {
		g_warning ("cannot create the KDS cache %s: %s", dir, g_strerror (errno));
		return;
	}
	if (!ac_file_replace_contents (path, g_bytes_get_data (data, NULL), g_bytes_get_size (data),
	                               TRUE, 0644, &error))
		g_warning ("cannot write the KDS cache %s: %s", path, error->message);
}

/* one GET: refuses an offline client, and answers larger than a certificate */
static GBytes *
kds_fetch (AcSnpKds *self,
           const gchar *url,
           const gchar *what,
           GCancellable *cancellable,
           GError **error)
{
	GBytes *body;
	if (self->offline) {
		g_set_error (error, AC_ERROR, AC_ERROR_NOT_FOUND,
		             "AMD KDS: no cached %s and offline (%s)", what, url);
		return NULL;
	}
	body = self->fetch (url, self->user_data, cancellable, error);
	if (body == NULL)
		return NULL;
	if (g_bytes_get_size (body) == 0 || g_bytes_get_size (body) > AC_SNP_CERT_MAX) {
		g_set_error (error, AC_ERROR, AC_ERROR_REMOTE,
		             "AMD KDS answer for %s: %" G_GSIZE_FORMAT
		             " bytes, expected 1 to %d (a %s)",
		             url, g_bytes_get_size (body), AC_SNP_CERT_MAX, what);
		g_bytes_unref (body);
		return NULL;
	}
	return body;
}

/* the VCEK is the one asked for; its message names what differs */
static gboolean
kds_vcek_matches (AcSnpCert *c,
                  AcSnpProduct product,
                  const guint8 *chip_id,
                  const AcSnpTcb *tcb,
                  GError **error)
{
	const AcSnpKdsExtensions *kds = ac_snp_cert_get_kds (c);
	gsize hwid_len = product == AC_SNP_PRODUCT_TURIN ? 8 : 64;
	AcSnpTcb want = *tcb;
	if (product != AC_SNP_PRODUCT_TURIN)
		want.fmc = 0;
	if (ac_snp_cert_get_role (c) != AC_SNP_CERT_VCEK || kds == NULL) {
		g_set_error (error, AC_ERROR, AC_ERROR_REMOTE, "not a VCEK (CN '%s')",
		             ac_snp_cert_get_common_name (c));
		return FALSE;
	}
	if (kds->product != product) {
		g_set_error (error, AC_ERROR, AC_ERROR_REMOTE, "a VCEK of '%s', expected %s",
		             kds->product_name, ac_snp_product_to_string (product));
		return FALSE;
	}
	if (kds->hwid_len != hwid_len || memcmp (kds->hwid, chip_id, hwid_len) != 0) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_REMOTE,
		                     "a VCEK of another chip (hwID differs)");
		return FALSE;
	}
	if (!ac_snp_tcb_equal (&kds->tcb, &want)) {
		g_autofree gchar *a = ac_snp_tcb_to_string (&kds->tcb, product);
		g_autofree gchar *b = ac_snp_tcb_to_string (&want, product);
		g_set_error (error, AC_ERROR, AC_ERROR_REMOTE, "a VCEK for TCB %s, expected %s", a,
		             b);
		return FALSE;
	}
	return TRUE;
}

AcSnpCert *
ac_snp_kds_get_vcek (AcSnpKds *self,
                     AcSnpProduct product,
                     const guint8 *chip_id,
                     gsize chip_id_len,
                     const AcSnpTcb *tcb,
                     GCancellable *cancellable,
                     GError **error)
{
	g_autofree gchar *url
	    = ac_snp_kds_vcek_url (self->base, product, chip_id, chip_id_len, tcb, error);
	g_autofree gchar *hex = NULL;
	g_autofree gchar *name = NULL;
	g_autofree gchar *path = NULL;
	g_autoptr(GBytes) body = NULL;
	g_autoptr(AcSnpCert) c = NULL;
	g_autoptr(GError) error_local = NULL;

	if (url == NULL)
		return NULL;
	hex = ac_codec_hex_encode (chip_id, product == AC_SNP_PRODUCT_TURIN ? 8 : 64);
	name = g_strdup_printf ("vcek-%s-%u-%u-%u-%u-%u.der", hex, tcb->fmc, tcb->bootloader,
	                        tcb->tee, tcb->snp, tcb->microcode);
	path = kds_cache_path (self, product, name);
	body = kds_cache_read (path);
	if (body != NULL) {
		c = ac_snp_cert_parse (g_bytes_get_data (body, NULL), g_bytes_get_size (body), path,
		                       &error_local);
		if (c != NULL && kds_vcek_matches (c, product, chip_id, tcb, &error_local))
			return g_steal_pointer (&c);
		g_debug ("ignoring the cached VCEK %s: %s", path, error_local->message);
		g_clear_pointer (&c, ac_snp_cert_unref);
		g_clear_pointer (&body, g_bytes_unref);
		g_clear_error (&error_local);
	}
	body = kds_fetch (self, url, "VCEK", cancellable, error);
	if (body == NULL)
		return NULL;
	c = ac_snp_cert_parse (g_bytes_get_data (body, NULL), g_bytes_get_size (body), "KDS VCEK",
	                       &error_local);
	if (c == NULL || !kds_vcek_matches (c, product, chip_id, tcb, &error_local)) {
		g_set_error (error, AC_ERROR, AC_ERROR_REMOTE, "AMD KDS answer for %s: %s", url,
		             error_local->message);
		return NULL;
	}
	kds_cache_write (path, body);
	return g_steal_pointer (&c);
}

/* exactly [ASK or ASVK, ARK] of @product */
static gboolean
kds_chain_split (GBytes *body,
                 AcSnpProduct product,
                 gboolean vlek,
                 const gchar *what,
                 AcSnpCert **intermediate,
                 AcSnpCert **ark,
                 GError **error)
{
	g_autoptr(GPtrArray) all = ac_snp_cert_parse_all (g_bytes_get_data (body, NULL),
	                                                   g_bytes_get_size (body), what, error);
	AcSnpCertRole mid_role = vlek ? AC_SNP_CERT_ASVK : AC_SNP_CERT_ASK;
	AcSnpCert *m, *a;
	if (all == NULL)
		return FALSE;
	if (all->len != 2) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "%s: %u certificates, expected 2 (%s then ARK)", what, all->len,
		             vlek ? "ASVK" : "ASK");
		return FALSE;
	}
	m = g_ptr_array_index (all, 0);
	a = g_ptr_array_index (all, 1);
	if (ac_snp_cert_get_role (m) != mid_role || ac_snp_cert_get_product (m) != product
	    || ac_snp_cert_get_role (a) != AC_SNP_CERT_ARK
	    || ac_snp_cert_get_product (a) != product) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "%s: certificates '%s', '%s', expected SEV-%s%s and ARK-%s", what,
		             ac_snp_cert_get_common_name (m), ac_snp_cert_get_common_name (a),
		             vlek ? "VLEK-" : "", ac_snp_product_to_string (product),
		             ac_snp_product_to_string (product));
		return FALSE;
	}
	*intermediate = ac_snp_cert_ref (m);
	*ark = ac_snp_cert_ref (a);
	return TRUE;
}

gboolean
ac_snp_kds_get_cert_chain (AcSnpKds *self,
                           AcSnpProduct product,
                           gboolean vlek,
                           AcSnpCert **intermediate,
                           AcSnpCert **ark,
                           GCancellable *cancellable,
                           GError **error)
{
	g_autofree gchar *url = ac_snp_kds_cert_chain_url (self->base, product, vlek, error);
	g_autofree gchar *path = NULL;
	g_autoptr(GBytes) body = NULL;
	g_autoptr(GError) error_local = NULL;

	if (url == NULL)
		return FALSE;
	path = kds_cache_path (self, product, vlek ? "vlek_cert_chain.pem" : "cert_chain.pem");
	body = kds_cache_read (path);
	if (body != NULL) {
		if (kds_chain_split (body, product, vlek, path, intermediate, ark, &error_local))
			return TRUE;
		g_debug ("ignoring the cached chain %s: %s", path, error_local->message);
		g_clear_pointer (&body, g_bytes_unref);
		g_clear_error (&error_local);
	}
	body = kds_fetch (self, url, "certificate chain", cancellable, error);
	if (body == NULL)
		return FALSE;
	if (!kds_chain_split (body, product, vlek, "KDS cert_chain", intermediate, ark,
	                      &error_local)) {
		g_set_error (error, AC_ERROR, AC_ERROR_REMOTE, "AMD KDS answer for %s: %s", url,
		             error_local->message);
		return FALSE;
	}
	kds_cache_write (path, body);
	return TRUE;
}

AcSnpCrl *
ac_snp_kds_get_crl (AcSnpKds *self,
                    AcSnpProduct product,
                    gboolean vlek,
                    AcSnpCert *ark,
                    GDateTime *at,
                    GCancellable *cancellable,
                    GError **error)
{
	g_autofree gchar *url = ac_snp_kds_crl_url (self->base, product, vlek, error);
	g_autofree gchar *path = NULL;
	g_autoptr(GBytes) body = NULL;
	g_autoptr(AcSnpCrl) crl = NULL;
	g_autoptr(GError) error_local = NULL;

	if (url == NULL)
		return NULL;
	path = kds_cache_path (self, product, vlek ? "vlek_crl.der" : "crl.der");
	body = kds_cache_read (path);
	if (body != NULL) {
		crl = ac_snp_crl_parse (g_bytes_get_data (body, NULL), g_bytes_get_size (body),
		                        path, &error_local);
		if (crl != NULL && ac_snp_crl_verify (crl, ark, at, &error_local))
			return g_steal_pointer (&crl);
		if (self->offline) {
			g_propagate_prefixed_error (error, g_steal_pointer (&error_local),
			                            "offline, the cached CRL %s: ", path);
			return NULL;
		}
		g_debug ("fetching the CRL again: %s", error_local->message);
		g_clear_pointer (&crl, ac_snp_crl_unref);
		g_clear_pointer (&body, g_bytes_unref);
		g_clear_error (&error_local);
	}
	body = kds_fetch (self, url, "CRL", cancellable, error);
	if (body == NULL)
		return NULL;
	crl = ac_snp_crl_parse (g_bytes_get_data (body, NULL), g_bytes_get_size (body), "KDS CRL",
	                        &error_local);
	if (crl == NULL) {
		g_set_error (error, AC_ERROR, AC_ERROR_REMOTE, "AMD KDS answer for %s: %s", url,
		             error_local->message);
		return NULL;
	}
	if (!ac_snp_crl_verify (crl, ark, at, error))
		return NULL;
	kds_cache_write (path, body);
	return g_steal_pointer (&crl);
}
