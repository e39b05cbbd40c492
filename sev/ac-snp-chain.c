/*
 * SEV-SNP chain verification: the built-in AMD roots per product, explicitly trusted roots,
 * and ARK → ASK/ASVK → VCEK/VLEK checked link by link against the report's TCB and chip id.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/core_names.h>
#include <openssl/x509v3.h>
#include <string.h>

#include "ac-codec.h"
#include "ac-error.h"
#include "ac-snp-builtin-private.h"
#include "ac-snp-chain-private.h"

#define AMD_ORGANIZATION "Advanced Micro Devices"

/* ------------------------------------------------------------------------------------------ */
/* built-in roots                                                                             */

static const AcSnpBuiltinRoot *
snp_builtin_find (AcSnpProduct product, GError **error)
{
	const gchar *name = ac_snp_product_to_string (product);
	for (guint i = 0; product != AC_SNP_PRODUCT_UNKNOWN && ac_snp_builtin_roots[i].product;
	     i++) {
		if (g_str_equal (ac_snp_builtin_roots[i].product, name))
			return &ac_snp_builtin_roots[i];
	}
	g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
	             "no built-in AMD SEV-SNP root for product %s, expected Milan, Genoa or Turin",
	             name);
	return NULL;
}

AcSnpCert *
ac_snp_builtin_get_ark (AcSnpProduct product, GError **error)
{
	const AcSnpBuiltinRoot *r = snp_builtin_find (product, error);
	return r != NULL ? ac_snp_cert_parse (r->ark, r->ark_len, "built-in ARK", error) : NULL;
}

AcSnpCert *
ac_snp_builtin_get_ask (AcSnpProduct product, GError **error)
{
	const AcSnpBuiltinRoot *r = snp_builtin_find (product, error);
	return r != NULL ? ac_snp_cert_parse (r->ask, r->ask_len, "built-in ASK", error) : NULL;
}

const gchar *
ac_snp_builtin_ark_pin (AcSnpProduct product)
{
	const AcSnpBuiltinRoot *r = snp_builtin_find (product, NULL);
	return r != NULL ? r->ark_spki_sha384 : NULL;
}

/* ------------------------------------------------------------------------------------------ */
/* trusted roots                                                                              */

typedef struct {
	AcSnpProduct product;
	AcSnpCert *ark; /* a built-in one is parsed when first used (from @table) */
	const AcSnpBuiltinRoot *table;
	gchar *spki_sha384;
	gboolean builtin;
} SnpRoot;

struct _AcSnpRoots {
	gint refcount;
	GMutex lock; /* for the built-in ARKs parsed when first used */
	GPtrArray *roots; /* of SnpRoot */
};

static void
snp_root_free (SnpRoot *r)
{
	g_clear_pointer (&r->ark, ac_snp_cert_unref);
	g_free (r->spki_sha384);
	g_free (r);
}

/* the root's ARK: a built-in one is parsed on first use (a process verifying a Milan report
 * need not parse the Genoa and Turin roots) and must carry its pin, as the build checked */
static AcSnpCert *
snp_root_ark (AcSnpRoots *self, SnpRoot *r)
{
	g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&self->lock);
	if (r->ark == NULL) {
		g_autoptr(GError) error = NULL;
		g_autofree gchar *spki = NULL;
		r->ark = ac_snp_cert_parse (r->table->ark, r->table->ark_len, "built-in ARK", &error);
		g_assert_no_error (error); /* checked at build time */
		spki = ac_snp_cert_spki_sha384 (r->ark);
		g_assert_cmpstr (spki, ==, r->spki_sha384);
		g_assert_cmpint (ac_snp_cert_get_product (r->ark), ==, r->product);
	}
	return r->ark;
}

AcSnpRoots *
ac_snp_roots_new (void)
{
	AcSnpRoots *self = g_new0 (AcSnpRoots, 1);
	self->refcount = 1;
	g_mutex_init (&self->lock);
	self->roots = g_ptr_array_new_with_free_func ((GDestroyNotify)snp_root_free);
	return self;
}

AcSnpRoots *
ac_snp_roots_new_builtin (void)
{
	AcSnpRoots *self = ac_snp_roots_new ();
	for (guint i = 0; ac_snp_builtin_roots[i].product != NULL; i++) {
		const AcSnpBuiltinRoot *b = &ac_snp_builtin_roots[i];
		SnpRoot *r = g_new0 (SnpRoot, 1);
		gboolean known = ac_snp_product_from_string (b->product, "built-in root",
		                                             &r->product, NULL);
		g_assert_true (known); /* the generator only writes Milan, Genoa and Turin */
		r->table = b;
		r->spki_sha384 = g_strdup (b->ark_spki_sha384);
		r->builtin = TRUE;
		g_ptr_array_add (self->roots, r);
	}
	return self;
}

AcSnpRoots *
ac_snp_roots_ref (AcSnpRoots *self)
{
	g_atomic_int_inc (&self->refcount);
	return self;
}

void
ac_snp_roots_unref (AcSnpRoots *self)
{
	if (self == NULL || !g_atomic_int_dec_and_test (&self->refcount))
		return;
	g_ptr_array_unref (self->roots);
	g_mutex_clear (&self->lock);
	g_free (self);
}

static gboolean
snp_check_ark_self (AcSnpCert *ark, AcSnpProduct product, gint64 at, GError **error);

gboolean
ac_snp_roots_add_trusted (AcSnpRoots *self, AcSnpProduct product, AcSnpCert *ark, GError **error)
{
	SnpRoot *r;
	if (product == AC_SNP_PRODUCT_UNKNOWN) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		                     "a trusted SNP root needs a known product");
		return FALSE;
	}
	/* self-signed and well-formed now; validity is checked again at each verification */
	if (!snp_check_ark_self (ark, product, G_MININT64, error))
		return FALSE;
	r = g_new0 (SnpRoot, 1);
	r->product = product;
	r->ark = ac_snp_cert_ref (ark);
	r->spki_sha384 = ac_snp_cert_spki_sha384 (ark);
	r->builtin = FALSE;
	g_ptr_array_add (self->roots, r);
	return TRUE;
}

/* the trusted root of @product whose key is @spki (or the first of @product when NULL) */
static SnpRoot *
snp_roots_find (AcSnpRoots *self, AcSnpProduct product, const gchar *spki)
{
	for (guint i = 0; i < self->roots->len; i++) {
		SnpRoot *r = g_ptr_array_index (self->roots, i);
		if (r->product == product && (spki == NULL || g_str_equal (spki, r->spki_sha384)))
			return r;
	}
	return NULL;
}

/* ------------------------------------------------------------------------------------------ */
/* one link                                                                                   */

static gboolean
untrusted (GError **error, const gchar *link, const gchar *format, ...) G_GNUC_PRINTF (3, 4);

static gboolean
untrusted (GError **error, const gchar *link, const gchar *format, ...)
{
	va_list ap;
	g_autofree gchar *msg = NULL;
	va_start (ap, format);
	msg = g_strdup_vprintf (format, ap);
	va_end (ap);
	g_set_error (error, AC_ERROR, AC_ERROR_UNTRUSTED, "certificate chain link %s: %s", link,
	             msg);
	return FALSE;
}

static gchar *
time_text (gint64 t)
{
	g_autoptr(GDateTime) dt = g_date_time_new_from_unix_utc (t);
	return dt != NULL ? g_date_time_format_iso8601 (dt)
	                  : g_strdup_printf ("%" G_GINT64_FORMAT, t);
}

static gboolean
snp_check_validity (AcSnpCert *c, const gchar *link, gint64 at, GError **error)
{
	gint64 nb = ac_snp_cert_get_not_before (c), na = ac_snp_cert_get_not_after (c);
	g_autofree gchar *t = NULL, *b = NULL, *a = NULL;
	if (at == G_MININT64)
		return TRUE;
	if (nb != G_MININT64 && na != G_MININT64 && nb <= at && at <= na)
		return TRUE;
	t = time_text (at);
	b = time_text (nb);
	a = time_text (na);
	return untrusted (error, link, "%s is valid from %s to %s, not at %s",
	                  ac_snp_cert_get_common_name (c), b, a, t);
}

/* RSA-4096, e = 65537 */
static gboolean
snp_check_rsa4096 (AcSnpCert *c, const gchar *link, GError **error)
{
	EVP_PKEY *k = ac_snp_cert_get_public_key (c);
	BIGNUM *e = NULL;
	gboolean ok = EVP_PKEY_get_base_id (k) == EVP_PKEY_RSA && EVP_PKEY_get_bits (k) == 4096
	              && EVP_PKEY_get_bn_param (k, OSSL_PKEY_PARAM_RSA_E, &e) == 1
	              && BN_is_word (e, 65537);
	BN_free (e);
	ERR_clear_error ();
	if (!ok)
		return untrusted (error, link, "%s's key is %s-%d, expected RSA-4096 with e 65537",
		                  ac_snp_cert_get_common_name (c), EVP_PKEY_get0_type_name (k),
		                  EVP_PKEY_get_bits (k));
	return TRUE;
}

/* a CA (ARK, ASK, ASVK): basicConstraints CA:TRUE and keyUsage keyCertSign, both present */
static gboolean
snp_check_ca (AcSnpCert *c, const gchar *link, GError **error)
{
	X509 *x = ac_snp_cert_get_x509 (c);
	guint32 flags = X509_get_extension_flags (x);
	if (flags & (EXFLAG_INVALID | EXFLAG_CRITICAL))
		return untrusted (error, link, "%s has malformed or unknown critical extensions",
		                  ac_snp_cert_get_common_name (c));
	if (!(flags & EXFLAG_BCONS) || !(flags & EXFLAG_CA))
		return untrusted (error, link, "%s is not a CA (basicConstraints CA:TRUE missing)",
		                  ac_snp_cert_get_common_name (c));
	if (!(flags & EXFLAG_KUSAGE) || !(X509_get_key_usage (x) & KU_KEY_CERT_SIGN))
		return untrusted (error, link, "%s's keyUsage lacks keyCertSign",
		                  ac_snp_cert_get_common_name (c));
	return TRUE;
}

/* @child's issuer is @parent's subject, PSS parameters are AMD's, the signature verifies */
static gboolean
snp_check_signed_by (AcSnpCert *child, AcSnpCert *parent, const gchar *link, GError **error)
{
	X509 *x = ac_snp_cert_get_x509 (child);
	const X509_ALGOR *alg = NULL;
	g_autofree gchar *what = g_strdup_printf ("certificate chain link %s", link);

	if (X509_NAME_cmp (X509_get_issuer_name (x),
	                   X509_get_subject_name (ac_snp_cert_get_x509 (parent)))
	    != 0)
		return untrusted (error, link, "%s's issuer is not the subject of %s",
		                  ac_snp_cert_get_common_name (child),
		                  ac_snp_cert_get_common_name (parent));
	if (X509_get_version (x) != X509_VERSION_3)
		return untrusted (error, link, "%s is not an X.509 v3 certificate",
		                  ac_snp_cert_get_common_name (child));
	X509_get0_signature (NULL, &alg, x);
	if (!ac_snp_check_pss (alg, what, error))
		return FALSE;
	if (X509_verify (x, ac_snp_cert_get_public_key (parent)) != 1) {
		ERR_clear_error ();
		return untrusted (error, link, "%s's signature does not verify with %s's key",
		                  ac_snp_cert_get_common_name (child),
		                  ac_snp_cert_get_common_name (parent));
	}
	return TRUE;
}

/* the ARK on its own: CN=ARK-{product}, self-issued, self-signed, RSA-4096, CA */
static gboolean
snp_check_ark_self (AcSnpCert *ark, AcSnpProduct product, gint64 at, GError **error)
{
	X509 *x = ac_snp_cert_get_x509 (ark);
	if (ac_snp_cert_get_role (ark) != AC_SNP_CERT_ARK)
		return untrusted (error, "ARK", "subject CN '%s' is not ARK-{Milan,Genoa,Turin}",
		                  ac_snp_cert_get_common_name (ark));
	if (ac_snp_cert_get_product (ark) != product)
		return untrusted (error, "ARK", "%s is not the root of product %s",
		                  ac_snp_cert_get_common_name (ark),
		                  ac_snp_product_to_string (product));
	if (X509_NAME_cmp (X509_get_issuer_name (x), X509_get_subject_name (x)) != 0)
		return untrusted (error, "ARK", "%s is not self-issued",
		                  ac_snp_cert_get_common_name (ark));
	return snp_check_rsa4096 (ark, "ARK", error) && snp_check_ca (ark, "ARK", error)
	       && snp_check_signed_by (ark, ark, "ARK (self-signature)", error)
	       && snp_check_validity (ark, "ARK", at, error);
}

static gboolean
snp_organization_is_amd (AcSnpCert *c)
{
	const X509_NAME *name = X509_get_subject_name (ac_snp_cert_get_x509 (c));
	gchar buf[64] = "";
	int idx = X509_NAME_get_index_by_NID (name, NID_organizationName, -1);
	if (idx < 0 || X509_NAME_get_index_by_NID (name, NID_organizationName, idx) >= 0)
		return FALSE;
	if (X509_NAME_get_text_by_NID ((X509_NAME *)name, NID_organizationName, buf, sizeof (buf))
	    <= 0)
		return FALSE;
	return g_str_equal (buf, AMD_ORGANIZATION);
}

/* ------------------------------------------------------------------------------------------ */
/* the chain                                                                                  */

void
ac_snp_chain_verdict_free (AcSnpChainVerdict *verdict)
{
	if (verdict == NULL)
		return;
	g_free (verdict->product_name);
	g_free (verdict->csp_id);
	g_free (verdict->ark_spki_sha384);
	g_free (verdict);
}

static gboolean
snp_check_leaf (AcSnpCert *leaf, AcSnpProduct product, gint64 at, GError **error)
{
	const AcSnpKdsExtensions *kds = ac_snp_cert_get_kds (leaf);
	const gchar *link = ac_snp_cert_get_role (leaf) == AC_SNP_CERT_VCEK ? "VCEK" : "VLEK";
	X509 *x = ac_snp_cert_get_x509 (leaf);
	EVP_PKEY *k = ac_snp_cert_get_public_key (leaf);
	guint32 flags = X509_get_extension_flags (x);
	gchar group[32] = "";
	gsize hwid_want = product == AC_SNP_PRODUCT_TURIN ? 8 : 64;

	if (EVP_PKEY_get_base_id (k) != EVP_PKEY_EC
	    || EVP_PKEY_get_utf8_string_param (k, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof (group),
	                                       NULL)
	           != 1
	    || !g_str_equal (group, "secp384r1")) {
		ERR_clear_error ();
		return untrusted (error, link, "the key is %s %s, expected EC P-384 (secp384r1)",
		                  EVP_PKEY_get0_type_name (k), group[0] ? group : "(no curve)");
	}
	if (flags & (EXFLAG_INVALID | EXFLAG_CRITICAL))
		return untrusted (error, link, "malformed or unknown critical extensions");
	if ((flags & EXFLAG_CA) != 0)
		return untrusted (error, link, "a %s must not be a CA (basicConstraints CA:TRUE)",
		                  link);
	if ((flags & EXFLAG_KUSAGE) && !(X509_get_key_usage (x) & KU_DIGITAL_SIGNATURE))
		return untrusted (error, link, "keyUsage present without digitalSignature");
	if (product == AC_SNP_PRODUCT_TURIN && !kds->has_fmc)
		return untrusted (error, link, "a Turin %s without the fmcSPL extension", link);
	if (product != AC_SNP_PRODUCT_TURIN && kds->has_fmc)
		return untrusted (error, link, "a %s %s with an fmcSPL extension (Turin only)",
		                  ac_snp_product_to_string (product), link);
	if (kds->hwid_len != 0 && kds->hwid_len != hwid_want)
		return untrusted (error, link,
		                  "hwID has %" G_GSIZE_FORMAT " bytes, a %s's has %" G_GSIZE_FORMAT,
		                  kds->hwid_len, ac_snp_product_to_string (product), hwid_want);
	return snp_check_validity (leaf, link, at, error);
}

static gboolean
snp_check_expect (AcSnpCert *leaf,
                  AcSnpProduct product,
                  const AcSnpChainExpect *expect,
                  AcSnpChainVerdict *v,
                  GError **error)
{
	const AcSnpKdsExtensions *kds = ac_snp_cert_get_kds (leaf);
	AcSnpTcb want;

	if (expect == NULL)
		return TRUE;
	if (expect->chip_id != NULL && ac_snp_cert_get_role (leaf) == AC_SNP_CERT_VCEK) {
		if (expect->chip_id_len != 64) {
			g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			             "chip id has %" G_GSIZE_FORMAT " bytes, expected 64",
			             expect->chip_id_len);
			return FALSE;
		}
		if (CRYPTO_memcmp (kds->hwid, expect->chip_id, kds->hwid_len) != 0) {
			g_autofree gchar *h = ac_codec_hex_encode (kds->hwid, kds->hwid_len);
			g_autofree gchar *c = ac_codec_hex_encode (expect->chip_id, kds->hwid_len);
			g_set_error (error, AC_ERROR, AC_ERROR_MISMATCH,
			             "VCEK hwID %s is not the report's CHIP_ID %s%s (a VCEK of "
			             "another chip)",
			             h, c, kds->hwid_len < 64 ? " (first 8 bytes)" : "");
			return FALSE;
		}
		v->chip_id_checked = TRUE;
	}
	if (expect->has_tcb) {
		want = expect->tcb;
	} else if (expect->has_tcb_raw) {
		if (!ac_snp_tcb_decode (expect->tcb_raw, product, "reported TCB", &want, error))
			return FALSE;
	} else {
		return TRUE;
	}
	if (product != AC_SNP_PRODUCT_TURIN)
		want.fmc = 0;
	if (!ac_snp_tcb_equal (&want, &kds->tcb)) {
		g_autofree gchar *a = ac_snp_tcb_to_string (&kds->tcb, product);
		g_autofree gchar *b = ac_snp_tcb_to_string (&want, product);
		g_set_error (error, AC_ERROR, AC_ERROR_MISMATCH,
		             "%s TCB (%s) is not the reported TCB (%s)",
		             ac_snp_cert_role_to_string (ac_snp_cert_get_role (leaf)), a, b);
		return FALSE;
	}
	v->tcb_checked = TRUE;
	return TRUE;
}

gboolean
ac_snp_chain_verify (AcSnpRoots *roots,
                     AcSnpCert *leaf,
                     AcSnpCert *intermediate,
                     AcSnpCert *ark,
                     const AcSnpChainExpect *expect,
                     GDateTime *at,
                     EVP_PKEY **key,
                     AcSnpChainVerdict **verdict,
                     GError **error)
{
	g_autoptr(AcSnpChainVerdict) v = g_new0 (AcSnpChainVerdict, 1);
	g_autoptr(AcSnpCert) builtin_ask = NULL;
	g_autofree gchar *spki = NULL;
	const AcSnpKdsExtensions *kds = ac_snp_cert_get_kds (leaf);
	AcSnpCertRole role = ac_snp_cert_get_role (leaf);
	AcSnpCertRole mid_role = role == AC_SNP_CERT_VLEK ? AC_SNP_CERT_ASVK : AC_SNP_CERT_ASK;
	const gchar *leaf_name = role == AC_SNP_CERT_VLEK ? "VLEK" : "VCEK";
	const gchar *mid_name = role == AC_SNP_CERT_VLEK ? "ASVK" : "ASK";
	g_autofree gchar *mid_link = g_strdup_printf ("%s ← ARK", mid_name);
	g_autofree gchar *leaf_link = g_strdup_printf ("%s ← %s", leaf_name, mid_name);
	gint64 now = at != NULL ? g_date_time_to_unix (at) : g_get_real_time () / G_USEC_PER_SEC;
	AcSnpProduct product;
	SnpRoot *root;

	/* the product: the leaf's productName1, which a given product must match */
	if (kds == NULL)
		return untrusted (
		    error, "VCEK", "the leaf is %s (CN '%s'), expected a VCEK or VLEK",
		    ac_snp_cert_role_to_string (role), ac_snp_cert_get_common_name (leaf));
	product = kds->product;
	if (product == AC_SNP_PRODUCT_UNKNOWN)
		return untrusted (error, leaf_name,
		                  "productName1 '%s' is not Milan, Genoa or Turin",
		                  kds->product_name);
	if (expect != NULL && expect->product != AC_SNP_PRODUCT_UNKNOWN
	    && expect->product != product) {
		g_set_error (error, AC_ERROR, AC_ERROR_MISMATCH,
		             "the %s is for product %s ('%s'), expected %s", leaf_name,
		             ac_snp_product_to_string (product), kds->product_name,
		             ac_snp_product_to_string (expect->product));
		return FALSE;
	}

	/* ARK: the given one must be a trusted root of the product; else the trusted root */
	if (ark != NULL) {
		if (!snp_check_ark_self (ark, product, now, error))
			return FALSE;
		spki = ac_snp_cert_spki_sha384 (ark);
		root = snp_roots_find (roots, product, spki);
		if (root == NULL) {
			const gchar *pin = ac_snp_builtin_ark_pin (product);
			return untrusted (error, "ARK",
			                  "%s has SPKI SHA-384 %s: neither AMD's pinned %s root "
			                  "(%s) nor an explicitly trusted root",
			                  ac_snp_cert_get_common_name (ark), spki,
			                  ac_snp_product_to_string (product), pin ? pin : "none");
		}
	} else {
		root = snp_roots_find (roots, product, NULL);
		if (root == NULL)
			return untrusted (error, "ARK", "no trusted root for product %s",
			                  ac_snp_product_to_string (product));
		ark = snp_root_ark (roots, root);
		if (!snp_check_ark_self (ark, product, now, error))
			return FALSE;
		spki = g_strdup (root->spki_sha384);
	}
	if (root->builtin && !snp_organization_is_amd (ark))
		return untrusted (error, "ARK", "organisation is not '" AMD_ORGANIZATION "'");

	/* ASK / ASVK */
	if (intermediate == NULL) {
		if (!root->builtin || role != AC_SNP_CERT_VCEK)
			return untrusted (error, mid_link,
			                  "no %s given (only the ASK of a built-in "
			                  "AMD root is built in)",
			                  mid_name);
		builtin_ask = ac_snp_builtin_get_ask (product, error);
		if (builtin_ask == NULL)
			return FALSE;
		intermediate = builtin_ask;
	}
	if (ac_snp_cert_get_role (intermediate) != mid_role
	    || ac_snp_cert_get_product (intermediate) != product)
		return untrusted (error, mid_link, "subject CN '%s', expected %s%s",
		                  ac_snp_cert_get_common_name (intermediate),
		                  mid_role == AC_SNP_CERT_ASVK ? "SEV-VLEK-" : "SEV-",
		                  ac_snp_product_to_string (product));
	if (!snp_check_signed_by (intermediate, ark, mid_link, error)
	    || !snp_check_rsa4096 (intermediate, mid_link, error)
	    || !snp_check_ca (intermediate, mid_link, error)
	    || !snp_check_validity (intermediate, mid_link, now, error))
		return FALSE;

	/* VCEK / VLEK */
	if (!snp_check_signed_by (leaf, intermediate, leaf_link, error)
	    || !snp_check_leaf (leaf, product, now, error))
		return FALSE;
	if (!snp_check_expect (leaf, product, expect, v, error))
		return FALSE;

	v->product = product;
	v->signer = role;
	v->tcb = kds->tcb;
	v->product_name = g_strdup (kds->product_name);
	v->csp_id = g_strdup (kds->csp_id);
	v->builtin_root = root->builtin;
	v->ark_spki_sha384 = g_steal_pointer (&spki);
	v->leaf_not_after = ac_snp_cert_get_not_after (leaf);
	if (key != NULL) {
		*key = ac_snp_cert_get_public_key (leaf);
		EVP_PKEY_up_ref (*key);
	}
	if (verdict != NULL)
		*verdict = g_steal_pointer (&v);
	return TRUE;
}
