/*
 * Aleph's attested TLS for SEV-SNP guests: the guest's agent serves HTTPS with a fresh P-384
 * key and a self-signed certificate that carries an attestation report in a private extension
 * (OID 1.3.6.1.4.1.60000.1.1); the report's REPORT_DATA binds the TLS key (the key-bound
 * scheme), and a report fetched for an owner's nonce binds the key and the nonce (the fresh
 * scheme). This file holds the pure parts: the two bindings, the strict parser of the agent's
 * certificate, and the builder of such a certificate for a software agent (devnet, tests).
 * Verifying the report itself is ac_snp_verify_report()'s job (ac-snp-verify.h), with the
 * binding computed here as its expected REPORT_DATA.
 * docs/snp.md#aleph-attested-tls-and-the-secret-injection.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>
#include <openssl/evp.h>

#include "ac-error.h"
#include "ac-snp-report.h"

G_BEGIN_DECLS

#define AC_SNP_RATLS_OID "1.3.6.1.4.1.60000.1.1"
/* the domain strings; the hashed prefix includes their terminating NUL */
#define AC_SNP_RATLS_DOMAIN_TLS_KEY "aleph-attest-tls-key-v1"
#define AC_SNP_RATLS_DOMAIN_FRESH "aleph-attest-fresh-v1"
/* the TLS key as it is bound: the SubjectPublicKeyInfo BIT STRING content, the uncompressed
 * P-384 point 04 ‖ X(48) ‖ Y(48) */
#define AC_SNP_RATLS_PK_RAW_SIZE 97
/* the nonce an owner sends (32 random bytes), and the most a fresh binding accepts */
#define AC_SNP_RATLS_NONCE_SIZE 32
#define AC_SNP_RATLS_NONCE_MAX 64
/* the most a certificate may weigh (the synthetic one is 2825 bytes) */
#define AC_SNP_RATLS_CERT_MAX 16384

/*
 * REPORT_DATA for the key-bound scheme: SHA-384 ("aleph-attest-tls-key-v1" ‖ 0x00 ‖ @pk_raw)
 * ‖ 16 zero bytes. @pk_raw must be a 97-byte uncompressed point (first byte 0x04), else
 * AC_ERROR_INVALID_INPUT.
 */
gboolean
ac_snp_ratls_key_binding (const guint8 *pk_raw,
                          gsize pk_len,
                          guint8 out[AC_SNP_REPORT_DATA_SIZE],
                          GError **error);

/*
 * REPORT_DATA for the fresh scheme: SHA-384 ("aleph-attest-fresh-v1" ‖ 0x00 ‖ @pk_raw ‖
 * @nonce) ‖ 16 zero bytes; @pk_raw as above, @nonce 1 to AC_SNP_RATLS_NONCE_MAX bytes.
 */
gboolean
ac_snp_ratls_fresh_binding (const guint8 *pk_raw,
                            gsize pk_len,
                            const guint8 *nonce,
                            gsize nonce_len,
                            guint8 out[AC_SNP_REPORT_DATA_SIZE],
                            GError **error);

/* the 97-byte point of an EC P-384 public key (AC_ERROR_INVALID_INPUT for any other key) */
gboolean
ac_snp_ratls_pk_raw_from_key (EVP_PKEY *key, guint8 out[AC_SNP_RATLS_PK_RAW_SIZE], GError **error);

/* what an agent's certificate carries */
typedef struct {
	guint8 pk_raw[AC_SNP_RATLS_PK_RAW_SIZE];     /* the TLS key, as bound */
	GBytes *spki_der;                            /* its SubjectPublicKeyInfo, DER */
	guint8 key_binding[AC_SNP_REPORT_DATA_SIZE]; /* ac_snp_ratls_key_binding (pk_raw) */
	guint8 report[AC_SNP_REPORT_SIZE];           /* the report bytes, not parsed nor verified */
} AcSnpRatlsCert;

void
ac_snp_ratls_cert_free (AcSnpRatlsCert *self);

/*
 * Parses an agent's certificate (DER, 1 to AC_SNP_RATLS_CERT_MAX bytes) strictly: one DER
 * certificate and nothing after it, in the canonical encoding (it re-encodes to the same
 * bytes); an EC P-384 key; self-signed (its signature verifies with its own key); the
 * extension AC_SNP_RATLS_OID exactly once, not critical, its value a DER OCTET STRING (and
 * nothing after it) holding a JSON object of at most 8 KiB with "tee_type" = "sev-snp" and
 * "data" = 2368 lowercase hex digits (the 1184-byte report). The members "report_data" and
 * "measurement" (unsigned copies an early agent added) are ignored; any other member is
 * refused. AC_ERROR_INVALID_INPUT naming what is wrong. The report is neither parsed nor
 * verified: pass it to ac_snp_verify_report() with @key_binding as the expected REPORT_DATA.
 */
AcSnpRatlsCert *
ac_snp_ratls_cert_parse (const guint8 *der, gsize len, GError **error);

/*
 * The certificate an Aleph agent serves (for a software agent and tests): self-signed with
 * @key (EC P-384, private), serial 1, subject and issuer "CN=rcgen self signed cert", valid
 * 1975-01-01 to 4096-01-01, SAN DNS:localhost, and the report extension (not critical) holding
 * {"tee_type":"sev-snp","data":"<hex of @report>"}; @report must be AC_SNP_REPORT_SIZE bytes.
 * Returns the DER.
 */
GBytes *
ac_snp_ratls_cert_build (EVP_PKEY *key, const guint8 *report, gsize report_len, GError **error);

/* the agent's report JSON (certificate extension or fresh report); see the definition */
gboolean
ac_snp_ratls_parse_report_json (const gchar *what,
                                AcError code,
                                const gchar *data_what,
                                const gchar *json,
                                gsize len,
                                gsize max,
                                guint8 report[AC_SNP_REPORT_SIZE],
                                GError **error);

/* a fresh EC P-384 key, as an agent makes per boot */
EVP_PKEY *
ac_snp_ratls_key_generate (GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (AcSnpRatlsCert, ac_snp_ratls_cert_free)

G_END_DECLS
