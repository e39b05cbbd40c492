/*
 * The AMD SEV-SNP certificate chain ARK → ASK → VCEK (or ARK → ASVK → VLEK): X.509 certificates
 * (RSA-4096 RSASSA-PSS SHA-384 for the AMD keys, ECDSA P-384 for the VCEK/VLEK), the AMD KDS
 * extensions of the VCEK/VLEK (product name, TCB components, hwID or CSP id), the built-in AMD
 * roots per product, verification against a reported TCB and chip id, the ARK-signed CRL, and a
 * software CA that issues a chain for a devnet/software SNP firmware (never trusted unless the
 * caller adds its root explicitly).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>
#include <openssl/evp.h>

#include "ac-snp-types.h"

G_BEGIN_DECLS

/* ---- one certificate ---- */

typedef enum {
	AC_SNP_CERT_UNKNOWN = 0,
	AC_SNP_CERT_ARK,  /* CN=ARK-{Product} */
	AC_SNP_CERT_ASK,  /* CN=SEV-{Product}: signs VCEKs */
	AC_SNP_CERT_ASVK, /* CN=SEV-VLEK-{Product}: signs VLEKs */
	AC_SNP_CERT_VCEK, /* CN=SEV-VCEK */
	AC_SNP_CERT_VLEK, /* CN=SEV-VLEK */
} AcSnpCertRole;

const gchar *
ac_snp_cert_role_to_string (AcSnpCertRole role); /* "ARK", … */

/* the AMD KDS extensions (OIDs 1.3.6.1.4.1.3704.1.x) of a VCEK or VLEK */
typedef struct {
	gint struct_version;  /* 1.1; -1 when absent */
	gchar *product_name;  /* 1.2: "Milan-B0", "Genoa", "Turin" */
	AcSnpProduct product; /* the product named by product_name (the part before '-') */
	AcSnpTcb tcb;         /* 1.3.1 bl, .2 tee, .3 snp, .8 ucode, .9 fmc */
	gboolean has_fmc;     /* 1.3.9 present (Turin) */
	guint8 hwid[64];      /* 1.4 (VCEK): 64 bytes (Milan, Genoa) or 8 (Turin) */
	gsize hwid_len;       /* 0 when absent (VLEK) */
	gchar *csp_id;        /* 1.5 (VLEK) */
} AcSnpKdsExtensions;

typedef struct _AcSnpCert AcSnpCert;

/* one certificate, PEM or DER (exactly one; AC_ERROR_INVALID_INPUT naming @what otherwise).
 * A VCEK/VLEK's KDS extensions are decoded here: a malformed one fails the parse. */
AcSnpCert *
ac_snp_cert_parse (const guint8 *data, gsize len, const gchar *what, GError **error);
/* every certificate of a PEM bundle (KDS cert_chain: ASK then ARK), or one DER certificate; at
 * most 8 */
GPtrArray *
ac_snp_cert_parse_all (const guint8 *data, gsize len, const gchar *what, GError **error);
AcSnpCert *
ac_snp_cert_ref (AcSnpCert *self);
void
ac_snp_cert_unref (AcSnpCert *self);
AcSnpCertRole
ac_snp_cert_get_role (AcSnpCert *self);
/* ARK/ASK/ASVK: from the CN; VCEK/VLEK: from the productName1 extension; never guessed */
AcSnpProduct
ac_snp_cert_get_product (AcSnpCert *self);
const gchar *
ac_snp_cert_get_common_name (AcSnpCert *self);
/* the VCEK/VLEK's KDS extensions; NULL for the AMD keys */
const AcSnpKdsExtensions *
ac_snp_cert_get_kds (AcSnpCert *self);
EVP_PKEY *
ac_snp_cert_get_public_key (AcSnpCert *self); /* borrowed */
GBytes *
ac_snp_cert_get_der (AcSnpCert *self);
gchar *
ac_snp_cert_to_pem (AcSnpCert *self);
/* lowercase hex SHA-384 of the DER SubjectPublicKeyInfo (what the ARK pins are) */
gchar *
ac_snp_cert_spki_sha384 (AcSnpCert *self);
gint64
ac_snp_cert_get_not_before (AcSnpCert *self); /* Unix time */
gint64
ac_snp_cert_get_not_after (AcSnpCert *self);
/* the serial number as lowercase hex without leading zeros ("0" for a VCEK) */
gchar *
ac_snp_cert_get_serial_hex (AcSnpCert *self);

/* ---- trusted roots ---- */

typedef struct _AcSnpRoots AcSnpRoots;

/* the AMD ARK (and ASK) of Milan, Genoa and Turin, each checked against its SPKI pin */
AcSnpRoots *
ac_snp_roots_new_builtin (void);
/* no roots at all: only ac_snp_roots_add_trusted() ones */
AcSnpRoots *
ac_snp_roots_new (void);
AcSnpRoots *
ac_snp_roots_ref (AcSnpRoots *self);
void
ac_snp_roots_unref (AcSnpRoots *self);
/* trusts @ark (self-signed, CN=ARK-{product}, CA) for @product explicitly — a devnet's software
 * root; never call this with anything a remote party sent */
gboolean
ac_snp_roots_add_trusted (AcSnpRoots *self, AcSnpProduct product, AcSnpCert *ark, GError **error);

/* the built-in AMD certificates of @product (AC_ERROR_INVALID_INPUT for an unknown product) */
AcSnpCert *
ac_snp_builtin_get_ark (AcSnpProduct product, GError **error);
AcSnpCert *
ac_snp_builtin_get_ask (AcSnpProduct product, GError **error);
const gchar *
ac_snp_builtin_ark_pin (AcSnpProduct product); /* SPKI SHA-384 hex, or NULL */

/* ---- verification ---- */

/* what the chain must match; from the attestation report (REPORTED_TCB, CHIP_ID) */
typedef struct {
	/* AC_SNP_PRODUCT_UNKNOWN: learned from the leaf's productName1 (or the ARK), never
	 * guessed; otherwise the chain's product must be this one (AC_ERROR_MISMATCH) */
	AcSnpProduct product;
	/* the report's CHIP_ID (64 bytes; Turin compares the first 8 with the 8-byte hwID);
	 * NULL: not checked (the verdict says so); not compared for a VLEK (no hwID) */
	const guint8 *chip_id;
	gsize chip_id_len;
	/* the report's REPORTED_TCB: @has_tcb with @tcb decoded, or @has_tcb_raw with the raw u64
	 * (decoded in the chain's product layout); neither: not checked */
	gboolean has_tcb;
	AcSnpTcb tcb;
	gboolean has_tcb_raw;
	guint64 tcb_raw;
} AcSnpChainExpect;

typedef struct {
	AcSnpProduct product;
	AcSnpCertRole signer;  /* AC_SNP_CERT_VCEK or AC_SNP_CERT_VLEK */
	AcSnpTcb tcb;          /* from the leaf's extensions */
	gchar *product_name;   /* "Milan-B0" */
	gchar *csp_id;         /* VLEK only */
	gboolean builtin_root; /* FALSE: an ac_snp_roots_add_trusted() root */
	gchar *ark_spki_sha384;
	gboolean chip_id_checked;
	gboolean tcb_checked;
	gint64 leaf_not_after; /* Unix time */
} AcSnpChainVerdict;

void
ac_snp_chain_verdict_free (AcSnpChainVerdict *verdict);

/**
 * ac_snp_chain_verify:
 * @leaf: the VCEK or VLEK
 * @intermediate: (nullable): the ASK (VCEK) or ASVK (VLEK); %NULL = the built-in ASK of a
 *   built-in product (a VLEK needs its ASVK)
 * @ark: (nullable): the ARK; %NULL = the trusted root of the product. A given ARK must be the
 *   pinned AMD ARK of the product or a root added with ac_snp_roots_add_trusted().
 * @at: (nullable): the time the validity periods must cover; %NULL = now
 * @key: (out) (optional): the verified P-384 public key of @leaf (for the report signature)
 *
 * Each link fails closed: AC_ERROR_UNTRUSTED naming the link ("ARK", "ASK ← ARK",
 * "VCEK ← ASK") for a signature, PSS parameter, key, name, validity, extension or trust
 * failure; AC_ERROR_MISMATCH for a product, TCB or chip id that differs from @expect.
 */
gboolean
ac_snp_chain_verify (AcSnpRoots *roots,
                     AcSnpCert *leaf,
                     AcSnpCert *intermediate,
                     AcSnpCert *ark,
                     const AcSnpChainExpect *expect,
                     GDateTime *at,
                     EVP_PKEY **key,
                     AcSnpChainVerdict **verdict,
                     GError **error);

/* ---- the ARK-signed CRL ---- */

typedef struct _AcSnpCrl AcSnpCrl;

AcSnpCrl *
ac_snp_crl_parse (const guint8 *data, gsize len, const gchar *what, GError **error);
AcSnpCrl *
ac_snp_crl_ref (AcSnpCrl *self);
void
ac_snp_crl_unref (AcSnpCrl *self);
GBytes *
ac_snp_crl_get_der (AcSnpCrl *self);
gint64
ac_snp_crl_get_next_update (AcSnpCrl *self); /* Unix time; 0 when absent */
/* the CRL is issued and signed (RSASSA-PSS SHA-384, salt 48) by @ark and current at @at
 * (thisUpdate ≤ @at ≤ nextUpdate); AC_ERROR_UNTRUSTED otherwise */
gboolean
ac_snp_crl_verify (AcSnpCrl *self, AcSnpCert *ark, GDateTime *at, GError **error);
/* @cert (an ASK or ASVK, issued by the CRL's issuer) is not on the list; AC_ERROR_UNTRUSTED
 * naming its serial if it is, AC_ERROR_INVALID_INPUT when @cert is not issued by the CRL's
 * issuer */
gboolean
ac_snp_crl_check (AcSnpCrl *self, AcSnpCert *cert, GError **error);

/* ---- software chain issuance (devnet / software SNP firmware) ---- */

typedef struct _AcSnpSoftCa AcSnpSoftCa;

/* a fresh ARK and ASK (or ASVK when @vlek) with RSA-4096 keys, RSASSA-PSS SHA-384 salt 48,
 * named ARK-{Product}/SEV-{Product} under an organisation that says it is not AMD. Slow (two
 * RSA-4096 key generations). */
AcSnpSoftCa *
ac_snp_soft_ca_new (AcSnpProduct product, gboolean vlek, GError **error);
void
ac_snp_soft_ca_free (AcSnpSoftCa *self);
AcSnpCert *
ac_snp_soft_ca_get_ark (AcSnpSoftCa *self); /* borrowed */
AcSnpCert *
ac_snp_soft_ca_get_intermediate (AcSnpSoftCa *self); /* ASK or ASVK, borrowed */
AcSnpProduct
ac_snp_soft_ca_get_product (AcSnpSoftCa *self);
/* writes @dir (created 0700): ark.pem, ask.pem (asvk.pem for a VLEK CA), cert_chain.pem (ASK or
 * ASVK then ARK, as KDS serves it) and the private keys ark.key, ask.key/asvk.key (PKCS#8 PEM,
 * 0600) */
gboolean
ac_snp_soft_ca_save (AcSnpSoftCa *self, const gchar *dir, GError **error);
/* the CA saved in @dir; its keys must be private (AC_ERROR_PERMISSION otherwise) and match its
 * certificates, and the ASK/ASVK must be signed by the ARK */
AcSnpSoftCa *
ac_snp_soft_ca_load (const gchar *dir, GError **error);
/* a VCEK for @chip_id (64 bytes; Turin: hwID = its first 8) at @tcb, for the P-384 @leaf_key
 * (public or private), valid from @not_before (NULL = now - 1 day) for @days days */
AcSnpCert *
ac_snp_soft_ca_issue_vcek (AcSnpSoftCa *self,
                           const guint8 *chip_id,
                           gsize chip_id_len,
                           const AcSnpTcb *tcb,
                           EVP_PKEY *leaf_key,
                           GDateTime *not_before,
                           guint days,
                           GError **error);
/* a VLEK for @csp_id (only from an ASVK CA) */
AcSnpCert *
ac_snp_soft_ca_issue_vlek (AcSnpSoftCa *self,
                           const gchar *csp_id,
                           const AcSnpTcb *tcb,
                           EVP_PKEY *leaf_key,
                           GDateTime *not_before,
                           guint days,
                           GError **error);
/* a CRL signed by the ARK listing @revoked (certificates the ARK issued), valid @days days */
AcSnpCrl *
ac_snp_soft_ca_issue_crl (AcSnpSoftCa *self,
                          AcSnpCert *const *revoked,
                          guint n_revoked,
                          GDateTime *this_update,
                          guint days,
                          GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (AcSnpCert, ac_snp_cert_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AcSnpRoots, ac_snp_roots_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AcSnpChainVerdict, ac_snp_chain_verdict_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AcSnpCrl, ac_snp_crl_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AcSnpSoftCa, ac_snp_soft_ca_free)

G_END_DECLS
