/*
 * The guest owner's verification of an SEV-SNP attestation report (see ac-snp-verify.h).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/rand.h>

#include "ac-snp-verify.h"

#include "ac-codec.h"
#include "ac-error.h"
#include "ac-sev-ossl-private.h"

void
ac_snp_verify_process_init (void)
{
	/* first: OPENSSL_init_crypto() registers its atexit handler on its first call */
	if (OPENSSL_init_crypto (OPENSSL_INIT_NO_ATEXIT, NULL) != 1
	    || RAND_set_DRBG_type (NULL, "HASH-DRBG", NULL, NULL, "SHA2-256") != 1)
		ERR_clear_error ();
}

void
ac_snp_verify_result_free (AcSnpVerifyResult *result)
{
	if (result == NULL)
		return;
	ac_snp_chain_verdict_free (result->chain);
	g_free (result);
}

/* the product the report is verified as: the verifier's, the report's (version 3+) or the
 * given VCEK's; two that differ are a mismatch; none is an error (never guessed) */
static gboolean
snp_verify_product (const AcSnpReport *report,
                    const AcSnpVerifyPolicy *policy,
                    AcSnpCert *leaf,
                    AcSnpProduct *out,
                    GError **error)
{
	AcSnpProduct sources[]
	    = { policy->product, report->product,
		leaf != NULL ? ac_snp_cert_get_product (leaf) : AC_SNP_PRODUCT_UNKNOWN };
	const gchar *names[]
	    = { "the product given", "the report's CPUID product", "the VCEK's product" };
	AcSnpProduct product = AC_SNP_PRODUCT_UNKNOWN;
	guint from = 0;

	for (guint i = 0; i < G_N_ELEMENTS (sources); i++) {
		if (sources[i] == AC_SNP_PRODUCT_UNKNOWN)
			continue;
		if (product == AC_SNP_PRODUCT_UNKNOWN) {
			product = sources[i];
			from = i;
			continue;
		}
		if (sources[i] != product) {
			g_set_error (error, AC_ERROR, AC_ERROR_MISMATCH,
			             "SNP report: %s is %s but %s is %s", names[from],
			             ac_snp_product_to_string (product), names[i],
			             ac_snp_product_to_string (sources[i]));
			return FALSE;
		}
	}
	if (product == AC_SNP_PRODUCT_UNKNOWN) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "SNP report version %u does not name its product (no CPUID fields): "
		             "give the product (milan, genoa or turin) or the VCEK",
		             report->version);
		return FALSE;
	}
	*out = product;
	return TRUE;
}

static gboolean
snp_verify_measurement (const AcSnpReport *report,
                        const AcSnpVerifyExpect *expect,
                        guint *index,
                        GError **error)
{
	gboolean found = FALSE;
	g_autofree gchar *got = NULL;

	/* every expected digest is compared, in constant time, whatever matched before */
	for (guint i = 0; i < expect->n_measurements; i++) {
		if (CRYPTO_memcmp (report->measurement, expect->measurements[i],
		                   AC_SNP_MEASUREMENT_SIZE)
		        == 0
		    && !found) {
			found = TRUE;
			*index = i;
		}
	}
	if (found)
		return TRUE;
	got = ac_codec_hex_encode (report->measurement, AC_SNP_MEASUREMENT_SIZE);
	if (expect->n_measurements == 1) {
		g_autofree gchar *want
		    = ac_codec_hex_encode (expect->measurements[0], AC_SNP_MEASUREMENT_SIZE);
		g_set_error (error, AC_ERROR, AC_ERROR_MISMATCH,
		             "SNP report: MEASUREMENT %s is not the expected launch digest %s", got,
		             want);
	} else {
		g_set_error (error, AC_ERROR, AC_ERROR_MISMATCH,
		             "SNP report: MEASUREMENT %s is none of the %u expected launch digests",
		             got, expect->n_measurements);
	}
	return FALSE;
}

/* the ASK/ASVK and ARK when not given: from the KDS (the ARK is checked against the trusted
 * roots by the chain, so nothing fetched is trusted by being fetched), else the built-in ones */
static gboolean
snp_verify_issuers (const AcSnpCertSource *certs,
                    AcSnpProduct product,
                    gboolean vlek,
                    AcSnpCert **intermediate,
                    AcSnpCert **ark,
                    GCancellable *cancellable,
                    GError **error)
{
	g_autoptr (AcSnpCert) kds_intermediate = NULL;
	g_autoptr (AcSnpCert) kds_ark = NULL;

	if (certs->intermediate == NULL && certs->kds != NULL) {
		if (!ac_snp_kds_get_cert_chain (certs->kds, product, vlek, &kds_intermediate,
		                                &kds_ark, cancellable, error))
			return FALSE;
	}
	if (certs->intermediate != NULL)
		*intermediate = ac_snp_cert_ref (certs->intermediate);
	else if (kds_intermediate != NULL)
		*intermediate = g_steal_pointer (&kds_intermediate);
	else if (vlek) {
		g_set_error (error, AC_ERROR, AC_ERROR_NOT_FOUND,
		             "SNP report signed by a VLEK: its ASVK was neither given nor fetched "
		             "(no KDS)");
		return FALSE;
	} else if ((*intermediate = ac_snp_builtin_get_ask (product, error)) == NULL)
		return FALSE;

	if (certs->ark != NULL)
		*ark = ac_snp_cert_ref (certs->ark);
	else if (kds_ark != NULL)
		*ark = g_steal_pointer (&kds_ark);
	else if ((*ark = ac_snp_builtin_get_ark (product, error)) == NULL)
		return FALSE;
	return TRUE;
}

static gboolean
snp_verify_crl (const AcSnpCertSource *certs,
                AcSnpProduct product,
                gboolean vlek,
                AcSnpCert *const chain[3],
                GDateTime *at,
                gboolean *checked,
                GCancellable *cancellable,
                GError **error)
{
	g_autoptr (AcSnpCrl) crl = NULL;
	AcSnpCert *ark = chain[2];

	if (certs->crl != NULL) {
		if (!ac_snp_crl_verify (certs->crl, ark, at, error))
			return FALSE;
		crl = ac_snp_crl_ref (certs->crl);
	} else if (certs->check_crl && certs->kds != NULL) {
		crl = ac_snp_kds_get_crl (certs->kds, product, vlek, ark, at, cancellable, error);
		if (crl == NULL)
			return FALSE;
	} else if (certs->check_crl) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_NOT_FOUND,
		                     "SNP report: a CRL check was asked for but no CRL was given "
		                     "and no KDS is configured");
		return FALSE;
	} else {
		*checked = FALSE;
		return TRUE;
	}
	/* the ARK's CRL lists what the ARK issued: the ASK or ASVK */
	if (!ac_snp_crl_check (crl, chain[1], error))
		return FALSE;
	*checked = TRUE;
	return TRUE;
}

gboolean
ac_snp_verify_report (const guint8 *data,
                      gsize len,
                      AcSnpRoots *roots,
                      const AcSnpCertSource *certs,
                      const AcSnpVerifyExpect *expect,
                      AcSnpVerifyResult **result,
                      GCancellable *cancellable,
                      GError **error)
{
	g_autoptr (AcSnpVerifyResult) res = g_new0 (AcSnpVerifyResult, 1);
	AcSnpReport *report = &res->report;
	AcSnpVerifyPolicy policy = expect->policy;
	AcSnpChainExpect chain_expect = { 0 };
	g_autoptr (AcSnpCert) leaf = NULL;
	g_autoptr (AcSnpCert) intermediate = NULL;
	g_autoptr (AcSnpCert) ark = NULL;
	g_autoptr (EVP_PKEY) key = NULL;
	AcSnpProduct product = AC_SNP_PRODUCT_UNKNOWN;
	gboolean vlek;

	g_return_val_if_fail (data != NULL || len == 0, FALSE);
	g_return_val_if_fail (roots != NULL && certs != NULL && expect != NULL, FALSE);

	if (!ac_snp_report_parse (data, len, report, error))
		return FALSE;
	if (report->signing_key == AC_SNP_SIGNING_KEY_NONE) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_UNTRUSTED,
		                     "SNP report is not signed (KEY_INFO.SIGNING_KEY = none)");
		return FALSE;
	}
	vlek = report->signing_key == AC_SNP_SIGNING_KEY_VLEK;
	if (vlek && !policy.allow_vlek) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_REFUSED,
		                     "SNP report: KEY_INFO.SIGNING_KEY is VLEK, but only reports "
		                     "signed by a VCEK are accepted (allow VLEK explicitly)");
		return FALSE;
	}
	if (!snp_verify_product (report, &policy, certs->leaf, &product, error))
		return FALSE;
	policy.product = product;

	/* the leaf: given, or the VCEK of this chip at the reported TCB from the KDS */
	if (certs->leaf != NULL) {
		leaf = ac_snp_cert_ref (certs->leaf);
	} else if (vlek) {
		g_set_error_literal (
		    error, AC_ERROR, AC_ERROR_NOT_FOUND,
		    "SNP report signed by a VLEK: give the VLEK (the KDS serves it "
		    "only to its cloud provider)");
		return FALSE;
	} else if (certs->kds == NULL) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_NOT_FOUND,
		                     "SNP report: no VCEK given and no KDS to fetch it from");
		return FALSE;
	} else {
		AcSnpTcb reported;
		if (ac_snp_report_chip_id_is_zero (report)) {
			g_set_error_literal (
			    error, AC_ERROR, AC_ERROR_REFUSED,
			    "SNP report: CHIP_ID is masked (all zero): no VCEK can "
			    "be matched to it");
			return FALSE;
		}
		if (!ac_snp_report_get_tcb (report, AC_SNP_TCB_REPORTED, product, &reported, error))
			return FALSE;
		leaf = ac_snp_kds_get_vcek (certs->kds, product, report->chip_id,
		                            AC_SNP_CHIP_ID_SIZE, &reported, cancellable, error);
		if (leaf == NULL)
			return FALSE;
	}
	if (!snp_verify_issuers (certs, product, vlek, &intermediate, &ark, cancellable, error))
		return FALSE;

	/* the chain, and the leaf's KDS extensions against this report */
	chain_expect.product = product;
	if (!vlek) {
		chain_expect.chip_id = report->chip_id;
		chain_expect.chip_id_len = AC_SNP_CHIP_ID_SIZE;
	}
	chain_expect.has_tcb_raw = TRUE;
	chain_expect.tcb_raw = report->tcb[AC_SNP_TCB_REPORTED];
	if (!ac_snp_chain_verify (roots, leaf, intermediate, ark, &chain_expect, expect->at, &key,
	                          &res->chain, error))
		return FALSE;
	if ((res->chain->signer == AC_SNP_CERT_VLEK) != vlek) {
		g_set_error (error, AC_ERROR, AC_ERROR_UNTRUSTED,
		             "SNP report: KEY_INFO.SIGNING_KEY is %s but the certificate is a %s",
		             ac_snp_signing_key_to_string (report->signing_key),
		             ac_snp_cert_role_to_string (res->chain->signer));
		return FALSE;
	}
	{
		AcSnpCert *const chain[3] = { leaf, intermediate, ark };
		if (!snp_verify_crl (certs, product, vlek, chain, expect->at, &res->crl_checked,
		                     cancellable, error))
			return FALSE;
	}

	/* the report itself: signed by that key, then what it says */
	if (!ac_snp_report_verify_signature (report, key, error))
		return FALSE;
	if (!ac_snp_verify_policy_check (&policy, report, error))
		return FALSE;
	if (expect->n_measurements > 0) {
		if (!snp_verify_measurement (report, expect, &res->measurement_index, error))
			return FALSE;
		res->measurement_checked = TRUE;
	}
	if (expect->report_data != NULL) {
		if (!ac_snp_report_check_report_data (report, expect->report_data, error))
			return FALSE;
		res->report_data_checked = TRUE;
	}
	if (result != NULL)
		*result = g_steal_pointer (&res);
	return TRUE;
}
