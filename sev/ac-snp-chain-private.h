/*
 * Private to sev/: what ac-snp-cert.c, ac-snp-chain.c, ac-snp-issue.c and ac-snp-kds.c share,
 * and the software issuer's knobs the sev/ tests use to build certificates a real KDS would
 * never issue (other salt lengths, other curves, missing extensions).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <openssl/x509.h>

#include "ac-snp-chain.h"

G_BEGIN_DECLS

G_DEFINE_AUTOPTR_CLEANUP_FUNC (X509, X509_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (X509_CRL, X509_CRL_free)

/* the RSASSA-PSS salt length AMD signs with (SHA-384 digest size) */
#define AC_SNP_PSS_SALT_LEN 48
/* the largest certificate or CRL accepted */
#define AC_SNP_CERT_MAX (64 * 1024)

X509 *
ac_snp_cert_get_x509 (AcSnpCert *self); /* borrowed */
X509_CRL *
ac_snp_crl_get_x509_crl (AcSnpCrl *self); /* borrowed */
AcSnpCert *
ac_snp_cert_new_from_x509 (X509 *x509, const gchar *what, GError **error);

/* @alg is RSASSA-PSS with SHA-384, MGF1-SHA-384, salt 48, trailer 1; AC_ERROR_UNTRUSTED
 * naming @what otherwise */
gboolean
ac_snp_check_pss (const X509_ALGOR *alg, const gchar *what, GError **error);
gint64
ac_snp_asn1_time_to_unix (const ASN1_TIME *t);

typedef struct {
	AcSnpCertRole role;        /* VCEK or VLEK */
	const gchar *product_name; /* NULL: the CA's product ("Milan-B0", "Genoa", "Turin") */
	const guint8 *hwid;        /* VCEK */
	gsize hwid_len;
	const gchar *csp_id; /* VLEK */
	const AcSnpTcb *tcb;
	gboolean omit_fmc; /* Turin: leave fmcSPL out */
	gboolean add_fmc;  /* Milan/Genoa: put fmcSPL in */
	EVP_PKEY *key;
	GDateTime *not_before;
	guint days;
	gint salt_len; /* 0: 48 */
} AcSnpSoftLeafSpec;

AcSnpCert *
ac_snp_soft_ca_issue_leaf (AcSnpSoftCa *self, const AcSnpSoftLeafSpec *spec, GError **error);

G_END_DECLS
