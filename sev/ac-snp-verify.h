/*
 * The guest owner's verification of an SEV-SNP attestation report, in the one order every
 * caller uses (virt-aleph snp verify-report, the Aleph flow, a local SNP host): the report
 * parsed strictly → the VCEK (or VLEK) found → its chain verified up to a trusted ARK, its KDS
 * extensions equal to the report's CHIP_ID and REPORTED_TCB → not revoked (when a CRL is
 * given or fetched) → the report's signature verified with it → the verifier's policy (TCB
 * floor, debug, migration agent, VMPL, …) → the launch digest one of the expected ones → the
 * REPORT_DATA the expected one. Each step fails closed and nothing after a failed step runs.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

#include "ac-snp-chain.h"
#include "ac-snp-kds.h"
#include "ac-snp-policy.h"
#include "ac-snp-report.h"

G_BEGIN_DECLS

/* where the certificates come from; every member is nullable */
typedef struct {
	AcSnpCert *leaf;         /* the VCEK or VLEK; NULL: fetched from @kds */
	AcSnpCert *intermediate; /* the ASK or ASVK; NULL: the built-in ASK, else from @kds */
	AcSnpCert *ark;          /* NULL: the trusted root of the product */
	AcSnpCrl *crl;           /* the ARK's CRL, given; checked when present */
	AcSnpKds *kds;           /* for what is not given (and the CRL when @check_crl) */
	gboolean check_crl;      /* fetch the CRL from @kds when none is given */
} AcSnpCertSource;

typedef struct {
	AcSnpVerifyPolicy policy;
	/* the report's MEASUREMENT must equal one of these (48 bytes each); none: not checked,
	 * and the result says so */
	const guint8 (*measurements)[AC_SNP_MEASUREMENT_SIZE];
	guint n_measurements;
	/* the report's REPORT_DATA must equal this (64 bytes); NULL: not checked */
	const guint8 *report_data;
	/* the time the validity periods must cover; NULL: now */
	GDateTime *at;
} AcSnpVerifyExpect;

typedef struct {
	AcSnpReport report;
	AcSnpChainVerdict *chain;
	gboolean crl_checked;
	gboolean measurement_checked;
	guint measurement_index; /* which of the expected measurements matched */
	gboolean report_data_checked;
} AcSnpVerifyResult;

void
ac_snp_verify_result_free (AcSnpVerifyResult *result);

/*
 * Verifies the @len bytes of a report. The first failing step decides the error:
 * AC_ERROR_INVALID_INPUT (a malformed report, or a version 2 report with no product given),
 * AC_ERROR_NOT_FOUND (a certificate neither given nor in an offline cache), AC_ERROR_NETWORK /
 * AC_ERROR_REMOTE (KDS), AC_ERROR_UNTRUSTED (the chain, a revoked certificate, the signature,
 * a report signed by another kind of key than the certificate), AC_ERROR_MISMATCH (chip id or
 * TCB of the VCEK, product, measurement, report data), AC_ERROR_REFUSED (the policy).
 * @result (optional) is only set on success.
 */
gboolean
ac_snp_verify_report (const guint8 *data,
                      gsize len,
                      AcSnpRoots *roots,
                      const AcSnpCertSource *certs,
                      const AcSnpVerifyExpect *expect,
                      AcSnpVerifyResult **result,
                      GCancellable *cancellable,
                      GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (AcSnpVerifyResult, ac_snp_verify_result_free)

/*
 * For a short-lived process whose first OpenSSL work is verifying (virt-aleph snp
 * verify-report): call before any other OpenSSL call. It weakens nothing and only changes
 * what OpenSSL's first use costs:
 *  - no OPENSSL_cleanup() at exit (OPENSSL_INIT_NO_ATEXIT): the kernel reclaims the memory,
 *    which holds no secret of a verifier, and core dumps are off (ac_process_harden);
 *  - the DRBG that the EC arithmetic's blinding instantiates is HASH-DRBG with SHA2-256 (NIST
 *    SP 800-90A, strength 256 like the default CTR-DRBG with AES-256-CTR), whose digest is
 *    already fetched for SHA-384, instead of a first cipher fetch that builds OpenSSL's whole
 *    cipher table. It is set before openssl.cnf is loaded, so a [random] section of the
 *    configuration still decides; the configuration is loaded as always (providers, default
 *    properties such as fips=yes apply to the DRBG too).
 * Hence first: called after openssl.cnf was loaded, it would override a [random] section (after
 * the DRBG's instantiation it changes nothing, and its error is cleared).
 */
void
ac_snp_verify_process_init (void);

G_END_DECLS
