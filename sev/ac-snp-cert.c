/*
 * SEV-SNP X.509 certificates and the CRL: parsing (PEM or DER), roles by subject CN, the AMD
 * KDS extensions of a VCEK/VLEK, and the RSASSA-PSS parameter check every AMD signature gets.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>
#include <string.h>

#include "ac-codec.h"
#include "ac-error.h"
#include "ac-snp-chain-private.h"

struct _AcSnpCert {
	gint refcount;
	X509 *x509;
	AcSnpCertRole role;
	AcSnpProduct product;
	gchar *cn;
	AcSnpKdsExtensions *kds; /* VCEK, VLEK */
};

struct _AcSnpCrl {
	gint refcount;
	X509_CRL *crl;
};

#define KDS_OID_PREFIX "1.3.6.1.4.1.3704.1."

const gchar *
ac_snp_cert_role_to_string (AcSnpCertRole role)
{
	switch (role) {
	case AC_SNP_CERT_ARK:
		return "ARK";
	case AC_SNP_CERT_ASK:
		return "ASK";
	case AC_SNP_CERT_ASVK:
		return "ASVK";
	case AC_SNP_CERT_VCEK:
		return "VCEK";
	case AC_SNP_CERT_VLEK:
		return "VLEK";
	case AC_SNP_CERT_UNKNOWN:
	default:
		return "unknown";
	}
}

gint64
ac_snp_asn1_time_to_unix (const ASN1_TIME *t)
{
	struct tm tm = { 0 };
	g_autoptr(GDateTime) dt = NULL;
	if (t == NULL || ASN1_TIME_to_tm (t, &tm) != 1)
		return G_MININT64;
	dt = g_date_time_new_utc (tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	                          tm.tm_min, tm.tm_sec);
	return dt != NULL ? g_date_time_to_unix (dt) : G_MININT64;
}

/* ------------------------------------------------------------------------------------------ */
/* RSASSA-PSS parameters                                                                      */

/* MGF1 whose parameter is the AlgorithmIdentifier of SHA-384 */
static gboolean
pss_mgf1_is_sha384 (const X509_ALGOR *mgf)
{
	const ASN1_OBJECT *oid = NULL;
	const void *pval = NULL;
	const unsigned char *p;
	X509_ALGOR *hash;
	int ptype = 0, len;
	gboolean ok;

	if (mgf == NULL)
		return FALSE;
	X509_ALGOR_get0 (&oid, &ptype, &pval, mgf);
	if (OBJ_obj2nid (oid) != NID_mgf1 || ptype != V_ASN1_SEQUENCE || pval == NULL)
		return FALSE;
	p = ASN1_STRING_get0_data (pval);
	len = ASN1_STRING_length (pval);
	hash = d2i_X509_ALGOR (NULL, &p, len);
	ok = hash != NULL && p == ASN1_STRING_get0_data (pval) + len
	     && OBJ_obj2nid (hash->algorithm) == NID_sha384;
	X509_ALGOR_free (hash);
	return ok;
}

gboolean
ac_snp_check_pss (const X509_ALGOR *alg, const gchar *what, GError **error)
{
	const ASN1_OBJECT *oid = NULL;
	const void *pval = NULL;
	const ASN1_STRING *seq;
	const unsigned char *p;
	RSA_PSS_PARAMS *pss = NULL;
	const gchar *bad = NULL;
	long salt = -1;
	int ptype = 0;

	X509_ALGOR_get0 (&oid, &ptype, &pval, alg);
	if (oid == NULL || OBJ_obj2nid (oid) != NID_rsassaPss) {
		gchar name[80] = "none";
		if (oid != NULL)
			OBJ_obj2txt (name, sizeof (name), oid, 0);
		g_set_error (
		    error, AC_ERROR, AC_ERROR_UNTRUSTED,
		    "%s: signature algorithm %s, expected RSASSA-PSS (1.2.840.113549.1.1.10)", what,
		    name);
		return FALSE;
	}
	if (ptype != V_ASN1_SEQUENCE || pval == NULL) {
		g_set_error (
		    error, AC_ERROR, AC_ERROR_UNTRUSTED,
		    "%s: RSASSA-PSS without parameters, expected SHA-384/MGF1-SHA-384/salt 48",
		    what);
		return FALSE;
	}
	seq = pval;
	p = ASN1_STRING_get0_data (seq);
	pss = d2i_RSA_PSS_PARAMS (NULL, &p, ASN1_STRING_length (seq));
	if (pss == NULL || p != ASN1_STRING_get0_data (seq) + ASN1_STRING_length (seq))
		bad = "malformed parameters";
	else if (pss->hashAlgorithm == NULL
	         || OBJ_obj2nid (pss->hashAlgorithm->algorithm) != NID_sha384)
		bad = "hash is not SHA-384";
	else if (!pss_mgf1_is_sha384 (pss->maskGenAlgorithm))
		bad = "mask generation is not MGF1 with SHA-384";
	else if (pss->saltLength == NULL
	         || (salt = ASN1_INTEGER_get (pss->saltLength)) != AC_SNP_PSS_SALT_LEN)
		bad = "salt length";
	else if (pss->trailerField != NULL && ASN1_INTEGER_get (pss->trailerField) != 1)
		bad = "trailer field is not 1";
	RSA_PSS_PARAMS_free (pss);
	ERR_clear_error ();
	if (bad != NULL) {
		if (salt >= 0 && salt != AC_SNP_PSS_SALT_LEN)
			g_set_error (error, AC_ERROR, AC_ERROR_UNTRUSTED,
			             "%s: RSASSA-PSS salt length %ld, expected %d", what, salt,
			             AC_SNP_PSS_SALT_LEN);
		else
			g_set_error (error, AC_ERROR, AC_ERROR_UNTRUSTED,
			             "%s: RSASSA-PSS parameters refused (%s), expected "
			             "SHA-384/MGF1-SHA-384/salt 48/trailer 1",
			             what, bad);
		return FALSE;
	}
	return TRUE;
}

/* ------------------------------------------------------------------------------------------ */
/* KDS extensions                                                                             */

static void
ac_snp_kds_free (AcSnpKdsExtensions *kds)
{
	if (kds == NULL)
		return;
	g_free (kds->product_name);
	g_free (kds->csp_id);
	g_free (kds);
}

/* a DER value that must fill @len exactly */
static gboolean
kds_int (const guint8 *data, gsize len, const gchar *name, guint max, gint *out, GError **error)
{
	const unsigned char *p = data;
	ASN1_INTEGER *i = d2i_ASN1_INTEGER (NULL, &p, (long)len);
	int64_t v = -1;
	gboolean ok = i != NULL && p == data + len && ASN1_INTEGER_get_int64 (&v, i) == 1 && v >= 0
	              && v <= max;
	ASN1_INTEGER_free (i);
	ERR_clear_error ();
	if (!ok) {
		g_autofree gchar *hex = ac_codec_hex_encode (data, MIN (len, 16));
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "KDS extension %s is %s, expected a DER INTEGER 0 to %u", name, hex,
		             max);
		return FALSE;
	}
	*out = (gint)v;
	return TRUE;
}

static gchar *
kds_ia5 (const guint8 *data, gsize len, const gchar *name, GError **error)
{
	const unsigned char *p = data;
	ASN1_IA5STRING *s = d2i_ASN1_IA5STRING (NULL, &p, (long)len);
	gchar *out = NULL;
	if (s != NULL && p == data + len && ASN1_STRING_length (s) > 0
	    && ASN1_STRING_length (s) <= 64) {
		const guint8 *c = ASN1_STRING_get0_data (s);
		gboolean printable = TRUE;
		for (int i = 0; i < ASN1_STRING_length (s); i++)
			printable = printable && c[i] >= 0x20 && c[i] < 0x7f;
		if (printable)
			out = g_strndup ((const gchar *)c, ASN1_STRING_length (s));
	}
	ASN1_IA5STRING_free (s);
	ERR_clear_error ();
	if (out == NULL)
		g_set_error (
		    error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		    "KDS extension %s is not a DER IA5String of 1 to 64 printable characters",
		    name);
	return out;
}

static AcSnpProduct
kds_product_from_name (const gchar *name)
{
	static const AcSnpProduct all[]
	    = { AC_SNP_PRODUCT_MILAN, AC_SNP_PRODUCT_GENOA, AC_SNP_PRODUCT_TURIN };
	g_autofree gchar *base = g_strdup (name);
	gchar *dash = strchr (base, '-');
	if (dash != NULL)
		*dash = '\0';
	for (guint i = 0; i < G_N_ELEMENTS (all); i++) {
		if (g_strcmp0 (base, ac_snp_product_to_string (all[i])) == 0)
			return all[i];
	}
	return AC_SNP_PRODUCT_UNKNOWN;
}

/* hwID: the chip id, 64 or 8 raw bytes; an inner OCTET STRING is accepted too */
static gboolean
kds_hwid (AcSnpKdsExtensions *kds, const guint8 *data, gsize len, const gchar *what, GError **error)
{
	const unsigned char *p = data;
	ASN1_OCTET_STRING *o;
	gboolean ok = FALSE;

	if (len == 64 || len == 8) {
		memcpy (kds->hwid, data, len);
		kds->hwid_len = len;
		return TRUE;
	}
	o = d2i_ASN1_OCTET_STRING (NULL, &p, (long)len);
	if (o != NULL && p == data + len
	    && (ASN1_STRING_length (o) == 64 || ASN1_STRING_length (o) == 8)) {
		kds->hwid_len = ASN1_STRING_length (o);
		memcpy (kds->hwid, ASN1_STRING_get0_data (o), kds->hwid_len);
		ok = TRUE;
	} else {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "%s: KDS extension hwID (1.3.6.1.4.1.3704.1.4) has %" G_GSIZE_FORMAT
		             " bytes, expected 64 or 8",
		             what, len);
	}
	ASN1_OCTET_STRING_free (o);
	ERR_clear_error ();
	return ok;
}

/* the mandatory extensions present (@missing_spl: the first TCB one that is not, or NULL),
 * and those of the other role absent: a VCEK names its chip, a VLEK its CSP */
static gboolean
kds_check_role (const AcSnpKdsExtensions *kds,
                AcSnpCertRole role,
                const gchar *missing_spl,
                const gchar *what,
                GError **error)
{
	const gchar *missing = NULL;

	if (kds->product_name == NULL)
		missing = "productName1 (1.3.6.1.4.1.3704.1.2)";
	else if (missing_spl != NULL)
		missing = missing_spl;
	else if (role == AC_SNP_CERT_VCEK && kds->hwid_len == 0)
		missing = "hwID (1.3.6.1.4.1.3704.1.4)";
	else if (role == AC_SNP_CERT_VLEK && kds->csp_id == NULL)
		missing = "cspID (1.3.6.1.4.1.3704.1.5)";
	if (missing != NULL) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "%s: the %s has no KDS extension %s", what,
		             ac_snp_cert_role_to_string (role), missing);
		return FALSE;
	}
	if (role == AC_SNP_CERT_VCEK && kds->csp_id != NULL) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "%s: a VCEK with a cspID extension (a VLEK's)", what);
		return FALSE;
	}
	if (role == AC_SNP_CERT_VLEK && kds->hwid_len != 0) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "%s: a VLEK with a hwID extension (a VCEK's)", what);
		return FALSE;
	}
	return TRUE;
}

/* the KDS extensions of a VCEK/VLEK; each at most once, the mandatory ones present */
static AcSnpKdsExtensions *
kds_decode (X509 *x509, AcSnpCertRole role, const gchar *what, GError **error)
{
	g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
	AcSnpKdsExtensions *kds = g_new0 (AcSnpKdsExtensions, 1);
	gint bl = -1, tee = -1, snp = -1, ucode = -1, fmc = -1, spare = 0;
	const gchar *missing_spl;

	kds->struct_version = -1;
	for (int i = 0; i < X509_get_ext_count (x509); i++) {
		X509_EXTENSION *ext = X509_get_ext (x509, i);
		const ASN1_OCTET_STRING *val = X509_EXTENSION_get_data (ext);
		const guint8 *data = ASN1_STRING_get0_data (val);
		gsize len = (gsize)ASN1_STRING_length (val);
		gchar oid[128];
		const gchar *sub;
		gboolean ok = TRUE;

		if (OBJ_obj2txt (oid, sizeof (oid), X509_EXTENSION_get_object (ext), 1) <= 0
		    || !g_str_has_prefix (oid, KDS_OID_PREFIX))
			continue;
		if (!g_hash_table_add (seen, g_strdup (oid))) {
			g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			             "%s: KDS extension %s appears twice", what, oid);
			goto fail;
		}
		sub = oid + strlen (KDS_OID_PREFIX);
		if (g_str_equal (sub, "1"))
			ok = kds_int (data, len, "structVersion (1.3.6.1.4.1.3704.1.1)", 255,
			              &kds->struct_version, error);
		else if (g_str_equal (sub, "2"))
			ok = (kds->product_name
			      = kds_ia5 (data, len, "productName1 (1.3.6.1.4.1.3704.1.2)", error))
			     != NULL;
		else if (g_str_equal (sub, "3.1"))
			ok = kds_int (data, len, "blSPL (1.3.6.1.4.1.3704.1.3.1)", 255, &bl, error);
		else if (g_str_equal (sub, "3.2"))
			ok = kds_int (data, len, "teeSPL (1.3.6.1.4.1.3704.1.3.2)", 255, &tee,
			              error);
		else if (g_str_equal (sub, "3.3"))
			ok = kds_int (data, len, "snpSPL (1.3.6.1.4.1.3704.1.3.3)", 255, &snp,
			              error);
		else if (g_str_equal (sub, "3.4") || g_str_equal (sub, "3.5")
		         || g_str_equal (sub, "3.6") || g_str_equal (sub, "3.7"))
			ok = kds_int (data, len, "spl_4..7 (1.3.6.1.4.1.3704.1.3.4-7)", 255, &spare,
			              error);
		else if (g_str_equal (sub, "3.8"))
			ok = kds_int (data, len, "ucodeSPL (1.3.6.1.4.1.3704.1.3.8)", 255, &ucode,
			              error);
		else if (g_str_equal (sub, "3.9"))
			ok = kds_int (data, len, "fmcSPL (1.3.6.1.4.1.3704.1.3.9)", 255, &fmc,
			              error);
		else if (g_str_equal (sub, "4"))
			ok = kds_hwid (kds, data, len, what, error);
		else if (g_str_equal (sub, "5"))
			ok = (kds->csp_id
			      = kds_ia5 (data, len, "cspID (1.3.6.1.4.1.3704.1.5)", error))
			     != NULL;
		if (!ok) {
			g_prefix_error (error, "%s: ", what);
			goto fail;
		}
	}
	missing_spl = bl < 0      ? "blSPL (1.3.6.1.4.1.3704.1.3.1)"
	              : tee < 0   ? "teeSPL (1.3.6.1.4.1.3704.1.3.2)"
	              : snp < 0   ? "snpSPL (1.3.6.1.4.1.3704.1.3.3)"
	              : ucode < 0 ? "ucodeSPL (1.3.6.1.4.1.3704.1.3.8)"
	                          : NULL;
	if (!kds_check_role (kds, role, missing_spl, what, error))
		goto fail;
	kds->product = kds_product_from_name (kds->product_name);
	kds->tcb.bootloader = bl;
	kds->tcb.tee = tee;
	kds->tcb.snp = snp;
	kds->tcb.microcode = ucode;
	kds->has_fmc = fmc >= 0;
	kds->tcb.fmc = fmc >= 0 ? fmc : 0;
	return kds;
fail:
	ac_snp_kds_free (kds);
	return NULL;
}

/* ------------------------------------------------------------------------------------------ */
/* certificates                                                                               */

static AcSnpCertRole
cert_role_from_cn (const gchar *cn, AcSnpProduct *product)
{
	static const AcSnpProduct all[]
	    = { AC_SNP_PRODUCT_MILAN, AC_SNP_PRODUCT_GENOA, AC_SNP_PRODUCT_TURIN };
	*product = AC_SNP_PRODUCT_UNKNOWN;
	if (cn == NULL)
		return AC_SNP_CERT_UNKNOWN;
	if (g_strcmp0 (cn, "SEV-VCEK") == 0)
		return AC_SNP_CERT_VCEK;
	if (g_strcmp0 (cn, "SEV-VLEK") == 0)
		return AC_SNP_CERT_VLEK;
	for (guint i = 0; i < G_N_ELEMENTS (all); i++) {
		const gchar *name = ac_snp_product_to_string (all[i]);
		*product = all[i];
		if (g_str_has_prefix (cn, "ARK-") && g_str_equal (cn + 4, name))
			return AC_SNP_CERT_ARK;
		if (g_str_has_prefix (cn, "SEV-VLEK-") && g_str_equal (cn + 9, name))
			return AC_SNP_CERT_ASVK;
		if (g_str_has_prefix (cn, "SEV-") && g_str_equal (cn + 4, name))
			return AC_SNP_CERT_ASK;
	}
	*product = AC_SNP_PRODUCT_UNKNOWN;
	return AC_SNP_CERT_UNKNOWN;
}

static gchar *
cert_subject_cn (X509 *x509)
{
	const X509_NAME *name = X509_get_subject_name (x509);
	int idx = X509_NAME_get_index_by_NID (name, NID_commonName, -1);
	unsigned char *utf8 = NULL;
	gchar *cn = NULL;
	int len;

	if (idx < 0 || X509_NAME_get_index_by_NID (name, NID_commonName, idx) >= 0)
		return NULL; /* none, or more than one */
	len = ASN1_STRING_to_UTF8 (&utf8,
	                           X509_NAME_ENTRY_get_data (X509_NAME_get_entry (name, idx)));
	if (len > 0 && len <= 64 && memchr (utf8, '\0', len) == NULL)
		cn = g_strndup ((const gchar *)utf8, len);
	OPENSSL_free (utf8);
	return cn;
}

AcSnpCert *
ac_snp_cert_new_from_x509 (X509 *x509, const gchar *what, GError **error)
{
	g_autoptr(AcSnpCert) self = g_new0 (AcSnpCert, 1);

	self->refcount = 1;
	self->x509 = x509;
	X509_up_ref (x509);
	if (X509_get0_pubkey (x509) == NULL) {
		ERR_clear_error ();
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "%s: the certificate's public key cannot be loaded", what);
		return NULL;
	}
	self->cn = cert_subject_cn (x509);
	self->role = cert_role_from_cn (self->cn, &self->product);
	if (self->role == AC_SNP_CERT_VCEK || self->role == AC_SNP_CERT_VLEK) {
		self->kds = kds_decode (x509, self->role, what, error);
		if (self->kds == NULL)
			return NULL;
		self->product = self->kds->product;
	}
	return g_steal_pointer (&self);
}

static gboolean
looks_like_pem (const guint8 *data, gsize len)
{
	gsize i = 0;
	while (i < len && g_ascii_isspace (data[i]))
		i++;
	return len - i >= 11 && memcmp (data + i, "-----BEGIN ", 11) == 0;
}

static gboolean
cert_check_len (gsize len, const gchar *what, GError **error)
{
	if (len == 0 || len > 8 * AC_SNP_CERT_MAX) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "%s: %" G_GSIZE_FORMAT " bytes, expected 1 to %d", what, len,
		             8 * AC_SNP_CERT_MAX);
		return FALSE;
	}
	return TRUE;
}

GPtrArray *
ac_snp_cert_parse_all (const guint8 *data, gsize len, const gchar *what, GError **error)
{
	g_autoptr(GPtrArray) out
	    = g_ptr_array_new_with_free_func ((GDestroyNotify)ac_snp_cert_unref);

	if (!cert_check_len (len, what, error))
		return NULL;
	if (looks_like_pem (data, len)) {
		BIO *bio = BIO_new_mem_buf (data, (int)len);
		for (;;) {
			g_autoptr(X509) x = PEM_read_bio_X509 (bio, NULL, NULL, NULL);
			g_autofree gchar *w = NULL;
			AcSnpCert *c;
			if (x == NULL)
				break;
			if (out->len >= 8) {
				BIO_free (bio);
				g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
				             "%s: more than 8 certificates", what);
				return NULL;
			}
			w = g_strdup_printf ("%s (certificate %u)", what, out->len + 1);
			c = ac_snp_cert_new_from_x509 (x, w, error);
			if (c == NULL) {
				BIO_free (bio);
				return NULL;
			}
			g_ptr_array_add (out, c);
		}
		BIO_free (bio);
		ERR_clear_error ();
	} else {
		const unsigned char *p = data;
		g_autoptr(X509) x = NULL;
		AcSnpCert *c;
		if (len > AC_SNP_CERT_MAX) {
			g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			             "%s: %" G_GSIZE_FORMAT " bytes, more than a certificate (%d)",
			             what, len, AC_SNP_CERT_MAX);
			return NULL;
		}
		x = d2i_X509 (NULL, &p, (long)len);
		ERR_clear_error ();
		if (x == NULL || p != data + len) {
			g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			             "%s: not a DER X.509 certificate%s", what,
			             x != NULL ? " (trailing bytes)" : "");
			return NULL;
		}
		c = ac_snp_cert_new_from_x509 (x, what, error);
		if (c == NULL)
			return NULL;
		g_ptr_array_add (out, c);
	}
	if (out->len == 0) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "%s: no PEM certificate found", what);
		return NULL;
	}
	return g_steal_pointer (&out);
}

AcSnpCert *
ac_snp_cert_parse (const guint8 *data, gsize len, const gchar *what, GError **error)
{
	g_autoptr(GPtrArray) all = ac_snp_cert_parse_all (data, len, what, error);
	if (all == NULL)
		return NULL;
	if (all->len != 1) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "%s: %u certificates, expected one", what, all->len);
		return NULL;
	}
	return ac_snp_cert_ref (g_ptr_array_index (all, 0));
}

AcSnpCert *
ac_snp_cert_ref (AcSnpCert *self)
{
	g_atomic_int_inc (&self->refcount);
	return self;
}

void
ac_snp_cert_unref (AcSnpCert *self)
{
	if (self == NULL || !g_atomic_int_dec_and_test (&self->refcount))
		return;
	X509_free (self->x509);
	g_free (self->cn);
	ac_snp_kds_free (self->kds);
	g_free (self);
}

AcSnpCertRole
ac_snp_cert_get_role (AcSnpCert *self)
{
	return self->role;
}

AcSnpProduct
ac_snp_cert_get_product (AcSnpCert *self)
{
	return self->product;
}

const gchar *
ac_snp_cert_get_common_name (AcSnpCert *self)
{
	return self->cn != NULL ? self->cn : "(no single CN)";
}

const AcSnpKdsExtensions *
ac_snp_cert_get_kds (AcSnpCert *self)
{
	return self->kds;
}

EVP_PKEY *
ac_snp_cert_get_public_key (AcSnpCert *self)
{
	return X509_get0_pubkey (self->x509);
}

X509 *
ac_snp_cert_get_x509 (AcSnpCert *self)
{
	return self->x509;
}

/* the @len bytes of @der that an i2d_*() call allocated, freed; NULL when it failed */
static GBytes *
der_to_bytes (unsigned char *der, int len)
{
	GBytes *b;
	if (len <= 0)
		return NULL;
	b = g_bytes_new (der, len);
	OPENSSL_free (der);
	return b;
}

GBytes *
ac_snp_cert_get_der (AcSnpCert *self)
{
	unsigned char *der = NULL;
	int len = i2d_X509 (self->x509, &der);
	return der_to_bytes (der, len);
}

gchar *
ac_snp_cert_to_pem (AcSnpCert *self)
{
	BIO *bio = BIO_new (BIO_s_mem ());
	char *p = NULL;
	long n;
	gchar *out = NULL;
	if (PEM_write_bio_X509 (bio, self->x509) == 1) {
		n = BIO_get_mem_data (bio, &p);
		out = g_strndup (p, n);
	}
	BIO_free (bio);
	return out;
}

gchar *
ac_snp_cert_spki_sha384 (AcSnpCert *self)
{
	unsigned char *der = NULL;
	int len = i2d_X509_PUBKEY (X509_get_X509_PUBKEY (self->x509), &der);
	g_autoptr(GChecksum) sum = NULL;
	gchar *hex;
	if (len <= 0)
		return NULL;
	sum = g_checksum_new (G_CHECKSUM_SHA384);
	g_checksum_update (sum, der, len);
	OPENSSL_free (der);
	hex = g_strdup (g_checksum_get_string (sum));
	return hex;
}

gint64
ac_snp_cert_get_not_before (AcSnpCert *self)
{
	return ac_snp_asn1_time_to_unix (X509_get0_notBefore (self->x509));
}

gint64
ac_snp_cert_get_not_after (AcSnpCert *self)
{
	return ac_snp_asn1_time_to_unix (X509_get0_notAfter (self->x509));
}

static gchar *
serial_hex (const ASN1_INTEGER *serial)
{
	BIGNUM *bn = ASN1_INTEGER_to_BN (serial, NULL);
	char *hex = bn != NULL ? BN_bn2hex (bn) : NULL;
	gchar *out = g_ascii_strdown (hex != NULL ? hex : "?", -1);
	OPENSSL_free (hex);
	BN_free (bn);
	return out;
}

gchar *
ac_snp_cert_get_serial_hex (AcSnpCert *self)
{
	return serial_hex (X509_get0_serialNumber (self->x509));
}

/* ------------------------------------------------------------------------------------------ */
/* CRL                                                                                        */

AcSnpCrl *
ac_snp_crl_parse (const guint8 *data, gsize len, const gchar *what, GError **error)
{
	g_autoptr(X509_CRL) crl = NULL;
	AcSnpCrl *self;

	if (len == 0 || len > AC_SNP_CERT_MAX) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "%s: %" G_GSIZE_FORMAT " bytes, expected 1 to %d", what, len,
		             AC_SNP_CERT_MAX);
		return NULL;
	}
	if (looks_like_pem (data, len)) {
		BIO *bio = BIO_new_mem_buf (data, (int)len);
		crl = PEM_read_bio_X509_CRL (bio, NULL, NULL, NULL);
		BIO_free (bio);
	} else {
		const unsigned char *p = data;
		crl = d2i_X509_CRL (NULL, &p, (long)len);
		if (crl != NULL && p != data + len)
			g_clear_pointer (&crl, X509_CRL_free);
	}
	ERR_clear_error ();
	if (crl == NULL) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "%s: not a DER or PEM X.509 CRL", what);
		return NULL;
	}
	self = g_new0 (AcSnpCrl, 1);
	self->refcount = 1;
	self->crl = g_steal_pointer (&crl);
	return self;
}

AcSnpCrl *
ac_snp_crl_ref (AcSnpCrl *self)
{
	g_atomic_int_inc (&self->refcount);
	return self;
}

void
ac_snp_crl_unref (AcSnpCrl *self)
{
	if (self == NULL || !g_atomic_int_dec_and_test (&self->refcount))
		return;
	X509_CRL_free (self->crl);
	g_free (self);
}

X509_CRL *
ac_snp_crl_get_x509_crl (AcSnpCrl *self)
{
	return self->crl;
}

GBytes *
ac_snp_crl_get_der (AcSnpCrl *self)
{
	unsigned char *der = NULL;
	int len = i2d_X509_CRL (self->crl, &der);
	return der_to_bytes (der, len);
}

gint64
ac_snp_crl_get_next_update (AcSnpCrl *self)
{
	const ASN1_TIME *t = X509_CRL_get0_nextUpdate (self->crl);
	return t != NULL ? ac_snp_asn1_time_to_unix (t) : 0;
}

gboolean
ac_snp_crl_verify (AcSnpCrl *self, AcSnpCert *ark, GDateTime *at, GError **error)
{
	const X509_ALGOR *alg = NULL;
	gint64 now = at != NULL ? g_date_time_to_unix (at) : g_get_real_time () / G_USEC_PER_SEC;
	gint64 this_update = ac_snp_asn1_time_to_unix (X509_CRL_get0_lastUpdate (self->crl));
	gint64 next_update = ac_snp_crl_get_next_update (self);

	if (X509_NAME_cmp (X509_CRL_get_issuer (self->crl), X509_get_subject_name (ark->x509))
	    != 0) {
		g_set_error (error, AC_ERROR, AC_ERROR_UNTRUSTED,
		             "CRL ← ARK: the CRL is not issued by %s",
		             ac_snp_cert_get_common_name (ark));
		return FALSE;
	}
	X509_CRL_get0_signature (self->crl, NULL, &alg);
	if (!ac_snp_check_pss (alg, "CRL ← ARK", error))
		return FALSE;
	if (X509_CRL_verify (self->crl, X509_get0_pubkey (ark->x509)) != 1) {
		ERR_clear_error ();
		g_set_error (error, AC_ERROR, AC_ERROR_UNTRUSTED,
		             "CRL ← ARK: the CRL's signature does not verify with %s's key",
		             ac_snp_cert_get_common_name (ark));
		return FALSE;
	}
	if (this_update == G_MININT64 || this_update > now) {
		g_set_error (
		    error, AC_ERROR, AC_ERROR_UNTRUSTED,
		    "CRL ← ARK: thisUpdate is after the verification time %" G_GINT64_FORMAT
		    " (or unreadable)",
		    now);
		return FALSE;
	}
	if (next_update == G_MININT64 || (next_update != 0 && next_update < now)) {
		g_set_error (error, AC_ERROR, AC_ERROR_UNTRUSTED,
		             "CRL ← ARK: the CRL is stale (nextUpdate %" G_GINT64_FORMAT
		             " is before the verification time %" G_GINT64_FORMAT ")",
		             next_update, now);
		return FALSE;
	}
	return TRUE;
}

gboolean
ac_snp_crl_check (AcSnpCrl *self, AcSnpCert *cert, GError **error)
{
	X509_REVOKED *rev = NULL;

	if (X509_NAME_cmp (X509_CRL_get_issuer (self->crl), X509_get_issuer_name (cert->x509))
	    != 0) {
		g_set_error (
		    error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		    "CRL: %s is not issued by the CRL's issuer; its serial means nothing there",
		    ac_snp_cert_get_common_name (cert));
		return FALSE;
	}
	if (X509_CRL_get0_by_serial (self->crl, &rev,
	                             (ASN1_INTEGER *)X509_get0_serialNumber (cert->x509))
	    == 1) {
		g_autofree gchar *hex = ac_snp_cert_get_serial_hex (cert);
		g_set_error (error, AC_ERROR, AC_ERROR_UNTRUSTED,
		             "%s ← ARK: serial 0x%s is revoked by the ARK's CRL",
		             ac_snp_cert_get_common_name (cert), hex);
		return FALSE;
	}
	ERR_clear_error ();
	return TRUE;
}
