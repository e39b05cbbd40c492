/*
 * A software SEV-SNP CA for a devnet / software SNP firmware: ARK and ASK (or ASVK) with
 * RSA-4096 keys signing RSASSA-PSS SHA-384 salt 48, VCEKs/VLEKs with the AMD KDS extensions,
 * and an ARK-signed CRL. Its root says it is not AMD and is trusted only through
 * ac_snp_roots_add_trusted().
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <errno.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>
#include <glib/gstdio.h>
#include <string.h>

#include "ac-error.h"
#include "ac-file.h"
#include "ac-sev-cert.h"
#include "ac-sev-ossl-private.h"
#include "ac-snp-chain-private.h"

#define SOFT_ORGANIZATION "aleph-confidential software SNP (not AMD)"

struct _AcSnpSoftCa {
	AcSnpProduct product;
	gboolean vlek;
	EVP_PKEY *ark_key;
	EVP_PKEY *mid_key;
	AcSnpCert *ark;
	AcSnpCert *mid;
};

static gboolean
soft_fail (GError **error, const gchar *what)
{
	return ac_sev_openssl_error (error, AC_ERROR_INTERNAL, what);
}

static X509_NAME *
soft_name (const gchar *cn)
{
	X509_NAME *n = X509_NAME_new ();
	X509_NAME_add_entry_by_txt (n, "OU", MBSTRING_ASC, (const guchar *)"Engineering", -1, -1,
	                            0);
	X509_NAME_add_entry_by_txt (n, "O", MBSTRING_ASC, (const guchar *)SOFT_ORGANIZATION, -1, -1,
	                            0);
	X509_NAME_add_entry_by_txt (n, "CN", MBSTRING_ASC, (const guchar *)cn, -1, -1, 0);
	return n;
}

/* sign @x (a certificate) or @crl with @key: RSASSA-PSS SHA-384, MGF1-SHA-384, @salt */
static gboolean
soft_sign (X509 *x, X509_CRL *crl, EVP_PKEY *key, gint salt, GError **error)
{
	g_autoptr(EVP_MD_CTX) md = EVP_MD_CTX_new ();
	EVP_PKEY_CTX *pctx = NULL;
	if (EVP_DigestSignInit (md, &pctx, EVP_sha384 (), NULL, key) != 1
	    || EVP_PKEY_CTX_set_rsa_padding (pctx, RSA_PKCS1_PSS_PADDING) != 1
	    || EVP_PKEY_CTX_set_rsa_pss_saltlen (pctx, salt) != 1
	    || EVP_PKEY_CTX_set_rsa_mgf1_md (pctx, EVP_sha384 ()) != 1)
		return soft_fail (error, "setting up RSASSA-PSS signing");
	if (x != NULL ? X509_sign_ctx (x, md) <= 0 : X509_CRL_sign_ctx (crl, md) <= 0)
		return soft_fail (error, "signing with RSASSA-PSS");
	return TRUE;
}

static gboolean
soft_add_ext (X509 *x, X509 *issuer, int nid, const gchar *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	gboolean ok;
	X509V3_set_ctx (&ctx, issuer, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid (NULL, &ctx, nid, value);
	ok = ext != NULL && X509_add_ext (x, ext, -1) == 1;
	X509_EXTENSION_free (ext);
	return ok;
}

/* a certificate body: random positive serial, names, validity, key */
static X509 *
soft_cert_new (const gchar *cn, X509 *issuer, EVP_PKEY *pub, GDateTime *not_before, guint days)
{
	X509 *x = X509_new ();
	g_autoptr(BIGNUM) serial = BN_new ();
	X509_NAME *name = soft_name (cn);
	gint64 nb = not_before != NULL ? g_date_time_to_unix (not_before)
	                               : g_get_real_time () / G_USEC_PER_SEC - 86400;

	X509_set_version (x, X509_VERSION_3);
	BN_rand (serial, 63, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ANY);
	BN_to_ASN1_INTEGER (serial, X509_get_serialNumber (x));
	X509_set_subject_name (x, name);
	X509_set_issuer_name (x, issuer != NULL ? X509_get_subject_name (issuer) : name);
	X509_NAME_free (name);
	ASN1_TIME_set (X509_getm_notBefore (x), (time_t)nb);
	ASN1_TIME_set (X509_getm_notAfter (x), (time_t)(nb + (gint64)days * 86400));
	X509_set_pubkey (x, pub);
	return x;
}

/* a CA certificate of the software chain (@issuer NULL: the self-signed ARK), valid 25 years,
 * with @constraints and @usage, signed by @ark_key; @what names it in the errors */
static X509 *
soft_ca_cert_new (const gchar *cn,
                  X509 *issuer,
                  EVP_PKEY *key,
                  EVP_PKEY *ark_key,
                  const gchar *constraints,
                  const gchar *usage,
                  const gchar *what,
                  GError **error)
{
	g_autoptr(X509) x = soft_cert_new (cn, issuer, key, NULL, 25 * 365);
	X509 *ext_issuer = issuer != NULL ? issuer : x;

	if (!soft_add_ext (x, ext_issuer, NID_basic_constraints, constraints)
	    || !soft_add_ext (x, ext_issuer, NID_key_usage, usage)
	    || !soft_add_ext (x, ext_issuer, NID_subject_key_identifier, "hash")) {
		g_autofree gchar *msg = g_strdup_printf ("adding the %s's extensions", what);
		soft_fail (error, msg);
		return NULL;
	}
	if (!soft_sign (x, NULL, ark_key, AC_SNP_PSS_SALT_LEN, error))
		return NULL;
	return g_steal_pointer (&x);
}

void
ac_snp_soft_ca_free (AcSnpSoftCa *self)
{
	if (self == NULL)
		return;
	EVP_PKEY_free (self->ark_key);
	EVP_PKEY_free (self->mid_key);
	ac_snp_cert_unref (self->ark);
	ac_snp_cert_unref (self->mid);
	g_free (self);
}

AcSnpSoftCa *
ac_snp_soft_ca_new (AcSnpProduct product, gboolean vlek, GError **error)
{
	g_autoptr(AcSnpSoftCa) self = g_new0 (AcSnpSoftCa, 1);
	const gchar *pname = ac_snp_product_to_string (product);
	g_autofree gchar *ark_cn = g_strdup_printf ("ARK-%s", pname);
	g_autofree gchar *mid_cn = g_strdup_printf ("SEV-%s%s", vlek ? "VLEK-" : "", pname);
	g_autoptr(X509) ark = NULL;
	g_autoptr(X509) mid = NULL;

	if (product == AC_SNP_PRODUCT_UNKNOWN) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		                     "a software SNP CA needs a known product");
		return NULL;
	}
	self->product = product;
	self->vlek = vlek;
	self->ark_key = ac_sev_rsa_generate (4096, error);
	if (self->ark_key == NULL)
		return NULL;
	self->mid_key = ac_sev_rsa_generate (4096, error);
	if (self->mid_key == NULL)
		return NULL;

	ark = soft_ca_cert_new (ark_cn, NULL, self->ark_key, self->ark_key, "critical,CA:TRUE",
	                        "critical,keyCertSign,cRLSign", "ARK", error);
	if (ark == NULL)
		return NULL;
	mid = soft_ca_cert_new (mid_cn, ark, self->mid_key, self->ark_key,
	                        "critical,CA:TRUE,pathlen:0", "critical,keyCertSign", "ASK", error);
	if (mid == NULL)
		return NULL;
	self->ark = ac_snp_cert_new_from_x509 (ark, "software ARK", error);
	if (self->ark == NULL)
		return NULL;
	self->mid = ac_snp_cert_new_from_x509 (mid, "software ASK", error);
	if (self->mid == NULL)
		return NULL;
	return g_steal_pointer (&self);
}

AcSnpCert *
ac_snp_soft_ca_get_ark (AcSnpSoftCa *self)
{
	return self->ark;
}

AcSnpCert *
ac_snp_soft_ca_get_intermediate (AcSnpSoftCa *self)
{
	return self->mid;
}

AcSnpProduct
ac_snp_soft_ca_get_product (AcSnpSoftCa *self)
{
	return self->product;
}

/* a KDS extension whose extnValue holds @der (@len bytes) */
static gboolean
soft_add_kds (X509 *x, const gchar *oid, const guint8 *der, gsize len)
{
	ASN1_OBJECT *obj = OBJ_txt2obj (oid, 1);
	ASN1_OCTET_STRING *val = ASN1_OCTET_STRING_new ();
	X509_EXTENSION *ext = NULL;
	gboolean ok = obj != NULL && val != NULL && ASN1_OCTET_STRING_set (val, der, (int)len) == 1
	              && (ext = X509_EXTENSION_create_by_OBJ (NULL, obj, 0, val)) != NULL
	              && X509_add_ext (x, ext, -1) == 1;
	X509_EXTENSION_free (ext);
	ASN1_OCTET_STRING_free (val);
	ASN1_OBJECT_free (obj);
	return ok;
}

static gboolean
soft_add_kds_int (X509 *x, const gchar *oid, guint value)
{
	ASN1_INTEGER *i = ASN1_INTEGER_new ();
	unsigned char *der = NULL;
	int len;
	gboolean ok;
	ASN1_INTEGER_set (i, value);
	len = i2d_ASN1_INTEGER (i, &der);
	ok = len > 0 && soft_add_kds (x, oid, der, len);
	OPENSSL_free (der);
	ASN1_INTEGER_free (i);
	return ok;
}

static gboolean
soft_add_kds_ia5 (X509 *x, const gchar *oid, const gchar *value)
{
	ASN1_IA5STRING *s = ASN1_IA5STRING_new ();
	unsigned char *der = NULL;
	int len;
	gboolean ok;
	ASN1_STRING_set (s, value, -1);
	len = i2d_ASN1_IA5STRING (s, &der);
	ok = len > 0 && soft_add_kds (x, oid, der, len);
	OPENSSL_free (der);
	ASN1_IA5STRING_free (s);
	return ok;
}

AcSnpCert *
ac_snp_soft_ca_issue_leaf (AcSnpSoftCa *self, const AcSnpSoftLeafSpec *spec, GError **error)
{
	g_autoptr(X509) x = NULL;
	const gchar *pname = spec->product_name;
	gboolean turin = self->product == AC_SNP_PRODUCT_TURIN;
	gboolean ok;

	if ((spec->role == AC_SNP_CERT_VLEK) != self->vlek) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT, "a %s CA cannot issue a %s",
		             self->vlek ? "VLEK (ASVK)" : "VCEK (ASK)",
		             ac_snp_cert_role_to_string (spec->role));
		return NULL;
	}
	if (spec->key == NULL || spec->tcb == NULL) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		                     "a software VCEK/VLEK needs a key and a TCB");
		return NULL;
	}
	if (pname == NULL)
		pname = self->product == AC_SNP_PRODUCT_MILAN
		            ? "Milan-B0"
		            : ac_snp_product_to_string (self->product);
	x = soft_cert_new (spec->role == AC_SNP_CERT_VLEK ? "SEV-VLEK" : "SEV-VCEK",
	                   ac_snp_cert_get_x509 (self->mid), spec->key, spec->not_before,
	                   spec->days > 0 ? spec->days : 7 * 365);
	ok = soft_add_kds_int (x, "1.3.6.1.4.1.3704.1.1", turin ? 1 : 0)
	     && soft_add_kds_ia5 (x, "1.3.6.1.4.1.3704.1.2", pname);
	if (ok && ((turin && !spec->omit_fmc) || (!turin && spec->add_fmc)))
		ok = soft_add_kds_int (x, "1.3.6.1.4.1.3704.1.3.9", spec->tcb->fmc);
	ok = ok && soft_add_kds_int (x, "1.3.6.1.4.1.3704.1.3.1", spec->tcb->bootloader)
	     && soft_add_kds_int (x, "1.3.6.1.4.1.3704.1.3.2", spec->tcb->tee)
	     && soft_add_kds_int (x, "1.3.6.1.4.1.3704.1.3.3", spec->tcb->snp)
	     && soft_add_kds_int (x, "1.3.6.1.4.1.3704.1.3.8", spec->tcb->microcode);
	if (ok && spec->hwid != NULL)
		ok = soft_add_kds (x, "1.3.6.1.4.1.3704.1.4", spec->hwid, spec->hwid_len);
	if (ok && spec->csp_id != NULL)
		ok = soft_add_kds_ia5 (x, "1.3.6.1.4.1.3704.1.5", spec->csp_id);
	if (!ok) {
		soft_fail (error, "adding the KDS extensions");
		return NULL;
	}
	if (!soft_sign (x, NULL, self->mid_key,
	                spec->salt_len > 0 ? spec->salt_len : AC_SNP_PSS_SALT_LEN, error))
		return NULL;
	return ac_snp_cert_new_from_x509 (x, "software VCEK", error);
}

AcSnpCert *
ac_snp_soft_ca_issue_vcek (AcSnpSoftCa *self,
                           const guint8 *chip_id,
                           gsize chip_id_len,
                           const AcSnpTcb *tcb,
                           EVP_PKEY *leaf_key,
                           GDateTime *not_before,
                           guint days,
                           GError **error)
{
	AcSnpSoftLeafSpec spec = { .role = AC_SNP_CERT_VCEK,
		                   .tcb = tcb,
		                   .key = leaf_key,
		                   .not_before = not_before,
		                   .days = days };
	if (chip_id == NULL || chip_id_len != 64) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "chip id has %" G_GSIZE_FORMAT " bytes, expected 64", chip_id_len);
		return NULL;
	}
	spec.hwid = chip_id;
	spec.hwid_len = self->product == AC_SNP_PRODUCT_TURIN ? 8 : 64;
	return ac_snp_soft_ca_issue_leaf (self, &spec, error);
}

AcSnpCert *
ac_snp_soft_ca_issue_vlek (AcSnpSoftCa *self,
                           const gchar *csp_id,
                           const AcSnpTcb *tcb,
                           EVP_PKEY *leaf_key,
                           GDateTime *not_before,
                           guint days,
                           GError **error)
{
	AcSnpSoftLeafSpec spec = { .role = AC_SNP_CERT_VLEK,
		                   .csp_id = csp_id,
		                   .tcb = tcb,
		                   .key = leaf_key,
		                   .not_before = not_before,
		                   .days = days };
	if (csp_id == NULL || *csp_id == '\0') {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		                     "a VLEK needs a CSP id");
		return NULL;
	}
	return ac_snp_soft_ca_issue_leaf (self, &spec, error);
}

AcSnpCrl *
ac_snp_soft_ca_issue_crl (AcSnpSoftCa *self,
                          AcSnpCert *const *revoked,
                          guint n_revoked,
                          GDateTime *this_update,
                          guint days,
                          GError **error)
{
	g_autoptr(X509_CRL) crl = X509_CRL_new ();
	gint64 t = this_update != NULL ? g_date_time_to_unix (this_update)
	                               : g_get_real_time () / G_USEC_PER_SEC - 3600;
	ASN1_TIME *last = ASN1_TIME_set (NULL, (time_t)t);
	ASN1_TIME *next = ASN1_TIME_set (NULL, (time_t)(t + (gint64)days * 86400));
	unsigned char *der = NULL;
	int len;
	AcSnpCrl *out;

	X509_CRL_set_version (crl, X509_CRL_VERSION_2);
	X509_CRL_set_issuer_name (crl, X509_get_subject_name (ac_snp_cert_get_x509 (self->ark)));
	X509_CRL_set1_lastUpdate (crl, last);
	X509_CRL_set1_nextUpdate (crl, next);
	for (guint i = 0; i < n_revoked; i++) {
		X509_REVOKED *r = X509_REVOKED_new ();
		X509_REVOKED_set_serialNumber (
		    r, (ASN1_INTEGER *)X509_get0_serialNumber (ac_snp_cert_get_x509 (revoked[i])));
		X509_REVOKED_set_revocationDate (r, last);
		X509_CRL_add0_revoked (crl, r);
	}
	ASN1_TIME_free (last);
	ASN1_TIME_free (next);
	X509_CRL_sort (crl);
	if (!soft_sign (NULL, crl, self->ark_key, AC_SNP_PSS_SALT_LEN, error))
		return NULL;
	len = i2d_X509_CRL (crl, &der);
	if (len <= 0) {
		soft_fail (error, "encoding the CRL");
		return NULL;
	}
	out = ac_snp_crl_parse (der, len, "software CRL", error);
	OPENSSL_free (der);
	return out;
}

/* ------------------------------------------------------------------------------------------ */
/* save / load                                                                                */

static gboolean
soft_write_key (const gchar *dir, const gchar *name, EVP_PKEY *key, GError **error)
{
	g_autoptr (AcSecret) pem = ac_sev_private_key_to_pem (key);
	if (pem == NULL)
		return soft_fail (error, "encoding a private key");
	return ac_file_replace_contents_in (dir, name, 0600, pem->data, pem->len, error);
}

gboolean
ac_snp_soft_ca_save (AcSnpSoftCa *self, const gchar *dir, GError **error)
{
	const gchar *mid = self->vlek ? "asvk" : "ask";
	g_autofree gchar *ark_pem = ac_snp_cert_to_pem (self->ark);
	g_autofree gchar *mid_pem = ac_snp_cert_to_pem (self->mid);
	g_autofree gchar *chain = g_strconcat (mid_pem, ark_pem, NULL);
	g_autofree gchar *mid_cert = g_strdup_printf ("%s.pem", mid);
	g_autofree gchar *mid_key = g_strdup_printf ("%s.key", mid);

	if (g_mkdir_with_parents (dir, 0700) != 0) {
		g_set_error (error, AC_ERROR, AC_ERROR_IO, "cannot create %s: %s", dir,
		             g_strerror (errno));
		return FALSE;
	}
	return ac_file_replace_contents_in (dir, "ark.pem", 0644, ark_pem, strlen (ark_pem), error)
	       && ac_file_replace_contents_in (dir, mid_cert, 0644, mid_pem, strlen (mid_pem),
	                                       error)
	       && ac_file_replace_contents_in (dir, "cert_chain.pem", 0644, chain, strlen (chain),
	                                       error)
	       && soft_write_key (dir, "ark.key", self->ark_key, error)
	       && soft_write_key (dir, mid_key, self->mid_key, error);
}

static AcSnpCert *
soft_read_cert (const gchar *dir, const gchar *name, GError **error)
{
	g_autofree gchar *path = g_build_filename (dir, name, NULL);
	g_autoptr(GBytes) b = ac_file_read_bytes (path, AC_SNP_CERT_MAX, error);
	if (b == NULL)
		return NULL;
	return ac_snp_cert_parse (g_bytes_get_data (b, NULL), g_bytes_get_size (b), path, error);
}

static EVP_PKEY *
soft_read_key (const gchar *dir, const gchar *name, AcSnpCert *cert, GError **error)
{
	g_autofree gchar *path = g_build_filename (dir, name, NULL);
	g_autofree gchar *data = NULL;
	gsize len = 0;
	GStatBuf st;
	EVP_PKEY *key;

	if (g_stat (path, &st) == 0 && (st.st_mode & 077) != 0) {
		g_set_error (error, AC_ERROR, AC_ERROR_PERMISSION,
		             "%s: mode %03o, a private key must not be readable by others", path,
		             (guint)(st.st_mode & 0777));
		return NULL;
	}
	if (!ac_file_read_bounded (path, AC_SNP_CERT_MAX, &data, &len, error))
		return NULL;
	key = ac_sev_private_key_from_pem (data, len);
	OPENSSL_cleanse (data, len);
	ERR_clear_error ();
	if (key == NULL) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT, "%s: not a PEM private key",
		             path);
		return NULL;
	}
	if (EVP_PKEY_eq (key, ac_snp_cert_get_public_key (cert)) != 1) {
		EVP_PKEY_free (key);
		ERR_clear_error ();
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT, "%s is not the key of %s",
		             path, ac_snp_cert_get_common_name (cert));
		return NULL;
	}
	return key;
}

AcSnpSoftCa *
ac_snp_soft_ca_load (const gchar *dir, GError **error)
{
	g_autoptr(AcSnpSoftCa) self = g_new0 (AcSnpSoftCa, 1);
	g_autofree gchar *asvk = g_build_filename (dir, "asvk.pem", NULL);
	g_autoptr(AcSnpRoots) roots = ac_snp_roots_new ();

	self->vlek = g_file_test (asvk, G_FILE_TEST_EXISTS);
	self->ark = soft_read_cert (dir, "ark.pem", error);
	if (self->ark == NULL)
		return NULL;
	self->product = ac_snp_cert_get_product (self->ark);
	/* self-signed, named ARK-{product}, a CA */
	if (!ac_snp_roots_add_trusted (roots, self->product, self->ark, error))
		return NULL;
	self->mid = soft_read_cert (dir, self->vlek ? "asvk.pem" : "ask.pem", error);
	if (self->mid == NULL)
		return NULL;
	if (ac_snp_cert_get_role (self->mid) != (self->vlek ? AC_SNP_CERT_ASVK : AC_SNP_CERT_ASK)
	    || ac_snp_cert_get_product (self->mid) != self->product
	    || X509_verify (ac_snp_cert_get_x509 (self->mid),
	                    ac_snp_cert_get_public_key (self->ark))
	           != 1) {
		ERR_clear_error ();
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "%s: '%s' is not the %s of %s", dir,
		             ac_snp_cert_get_common_name (self->mid), self->vlek ? "ASVK" : "ASK",
		             ac_snp_cert_get_common_name (self->ark));
		return NULL;
	}
	self->ark_key = soft_read_key (dir, "ark.key", self->ark, error);
	if (self->ark_key == NULL)
		return NULL;
	self->mid_key = soft_read_key (dir, self->vlek ? "asvk.key" : "ask.key", self->mid, error);
	if (self->mid_key == NULL)
		return NULL;
	return g_steal_pointer (&self);
}
