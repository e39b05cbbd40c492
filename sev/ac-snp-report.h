/*
 * AMD SEV-SNP attestation report (1184 bytes, versions 2 to 5): strict parser, signature check
 * (ECDSA P-384 / SHA-384 over the first 672 bytes), constant-time checks of MEASUREMENT and
 * REPORT_DATA, JSON and text renderings, and the builder and signer a software SNP firmware
 * uses. docs/snp.md#the-attestation-report describes the layout and the checks.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>
#include <openssl/evp.h>

#include "ac-snp-types.h"

G_BEGIN_DECLS

#define AC_SNP_REPORT_SIZE 0x4a0        /* 1184 */
#define AC_SNP_REPORT_SIGNED_SIZE 0x2a0 /* 672: what the signature covers */
#define AC_SNP_REPORT_VERSION_MIN 2
#define AC_SNP_REPORT_VERSION_MAX 5
#define AC_SNP_REPORT_VMPL_MAX 3
#define AC_SNP_SIG_ALGO_ECDSA_P384_SHA384 1

#define AC_SNP_REPORT_DATA_SIZE 64
#define AC_SNP_MEASUREMENT_SIZE 48
#define AC_SNP_HOST_DATA_SIZE 32
#define AC_SNP_CHIP_ID_SIZE 64

/* KEY_INFO bits 4:2 */
typedef enum {
	AC_SNP_SIGNING_KEY_VCEK = 0,
	AC_SNP_SIGNING_KEY_VLEK = 1,
	AC_SNP_SIGNING_KEY_NONE = 7, /* the report is not signed */
} AcSnpSigningKey;

/* "VCEK", "VLEK", "none" */
const gchar *
ac_snp_signing_key_to_string (AcSnpSigningKey key);

/* PLATFORM_INFO bits */
#define AC_SNP_PLATFORM_SMT_EN (G_GUINT64_CONSTANT (1) << 0)
#define AC_SNP_PLATFORM_TSME_EN (G_GUINT64_CONSTANT (1) << 1)
#define AC_SNP_PLATFORM_ECC_EN (G_GUINT64_CONSTANT (1) << 2)
#define AC_SNP_PLATFORM_RAPL_DIS (G_GUINT64_CONSTANT (1) << 3)
#define AC_SNP_PLATFORM_CIPHERTEXT_HIDING_EN (G_GUINT64_CONSTANT (1) << 4)
#define AC_SNP_PLATFORM_ALIAS_CHECK_COMPLETE (G_GUINT64_CONSTANT (1) << 5)
#define AC_SNP_PLATFORM_TIO_EN (G_GUINT64_CONSTANT (1) << 7)
#define AC_SNP_PLATFORM_KNOWN_MASK G_GUINT64_CONSTANT (0xbf)

/* the names of the set bits of @platform_info, comma-separated ("SMT_EN,ECC_EN"), unknown bits
 * as "bit8"; "none" for 0 */
gchar *
ac_snp_platform_info_to_names (guint64 platform_info);
/* the bit of a PLATFORM_INFO name (case-insensitive, "smt_en" or "smt-en"); 0 if unknown */
guint64
ac_snp_platform_info_from_name (const gchar *name);

/* which of the report's four TCB versions */
typedef enum {
	AC_SNP_TCB_CURRENT,
	AC_SNP_TCB_REPORTED,
	AC_SNP_TCB_COMMITTED,
	AC_SNP_TCB_LAUNCH,
	AC_SNP_TCB_N_KINDS,
} AcSnpTcbKind;

/* "current_tcb", "reported_tcb", "committed_tcb", "launch_tcb" */
const gchar *
ac_snp_tcb_kind_to_string (AcSnpTcbKind kind);

/*
 * Every field of a report. Multi-byte integers are host order (the report stores them
 * little-endian); byte arrays are as in the report. @raw holds the 1184 bytes the fields came
 * from (ac_snp_report_parse) or were written to (ac_snp_report_build / _sign): the signature
 * check and the constant-time checks read @raw, never the fields.
 */
typedef struct {
	guint32 version;
	guint32 guest_svn;
	guint64 policy;
	guint8 family_id[16];
	guint8 image_id[16];
	guint32 vmpl;
	guint32 signature_algo;
	guint64 tcb[AC_SNP_TCB_N_KINDS]; /* the raw TCB versions, by AcSnpTcbKind */
	guint64 platform_info;
	guint32 key_info;
	/* KEY_INFO, decoded */
	gboolean author_key_en;
	gboolean mask_chip_key;
	AcSnpSigningKey signing_key;
	guint8 report_data[AC_SNP_REPORT_DATA_SIZE];
	guint8 measurement[AC_SNP_MEASUREMENT_SIZE];
	guint8 host_data[AC_SNP_HOST_DATA_SIZE];
	guint8 id_key_digest[48];
	guint8 author_key_digest[48];
	guint8 report_id[32];
	guint8 report_id_ma[32];
	/* version 3 and later; 0 in version 2 */
	guint8 cpuid_fam_id;
	guint8 cpuid_mod_id;
	guint8 cpuid_step;
	guint8 chip_id[AC_SNP_CHIP_ID_SIZE];
	guint8 current_build, current_minor, current_major;
	guint8 committed_build, committed_minor, committed_major;
	/* version 5 and later; 0 before */
	guint64 launch_mit_vector;
	guint64 current_mit_vector;
	/* the signature's R and S, 72 bytes little-endian each (48 significant) */
	guint8 signature_r[72];
	guint8 signature_s[72];

	/* derived: the product from the CPUID fields (version 3 and later), else
	 * AC_SNP_PRODUCT_UNKNOWN (a version 2 report does not say; never guessed) */
	AcSnpProduct product;

	guint8 raw[AC_SNP_REPORT_SIZE];
} AcSnpReport;

/*
 * Parses @len bytes strictly: exactly 1184 bytes, VERSION 2 to 5, SIGNATURE_ALGO 1, VMPL at
 * most 3, KEY_INFO bits 31:5 zero and SIGNING_KEY 0, 1 or 7, every reserved range zero (0x04C,
 * 0x18B-0x19F, 0x1EB, 0x1EF, 0x208-0x29F, the signature's 0x330-0x49F and the upper 24 bytes of
 * R and S), the CPUID bytes zero in version 2, the mitigation vectors zero before version 5,
 * the guest policy well formed (bit 17 set, bits 63:26 zero), AUTHOR_KEY_DIGEST zero unless
 * AUTHOR_KEY_EN; for a known product (version 3+) the four TCB versions decode (reserved bytes
 * zero) and a Turin CHIP_ID has bytes 8-63 zero. The signature is NOT checked here. FALSE with
 * AC_ERROR_INVALID_INPUT naming the field (and its offset), the value and the rule.
 */
gboolean
ac_snp_report_parse (const guint8 *data, gsize len, AcSnpReport *out, GError **error);

/*
 * The TCB version @kind of @report, decoded in the layout of @product; @product
 * AC_SNP_PRODUCT_UNKNOWN means the report's own. AC_ERROR_INVALID_INPUT when neither is known or a
 * reserved byte is set; AC_ERROR_MISMATCH when @product differs from the report's CPUID product.
 */
gboolean
ac_snp_report_get_tcb (const AcSnpReport *report,
                       AcSnpTcbKind kind,
                       AcSnpProduct product,
                       AcSnpTcb *out,
                       GError **error);

/* TRUE when the 64-byte CHIP_ID is all zero (the host masked it: no VCEK can be fetched) */
gboolean
ac_snp_report_chip_id_is_zero (const AcSnpReport *report);

/*
 * Checks the report's signature with @vcek_pub (the VCEK's or VLEK's public key: must be EC
 * P-384): ECDSA with SHA-384 over raw[0:0x2A0], R and S read little-endian. Refuses an unsigned
 * report (SIGNING_KEY 7) and any SIGNATURE_ALGO other than 1. AC_ERROR_UNTRUSTED when the
 * signature does not verify; AC_ERROR_INVALID_INPUT for a key that is not P-384.
 * Does not check which key it is: the chain (sev/ac-snp-chain.h) does that.
 */
gboolean
ac_snp_report_verify_signature (const AcSnpReport *report, EVP_PKEY *vcek_pub, GError **error);

/* constant-time comparisons of MEASUREMENT (48 bytes) and REPORT_DATA (64 bytes) with the
 * expected value; AC_ERROR_MISMATCH naming the field and both values otherwise */
gboolean
ac_snp_report_check_measurement (const AcSnpReport *report,
                                 const guint8 expected[AC_SNP_MEASUREMENT_SIZE],
                                 GError **error);
gboolean
ac_snp_report_check_report_data (const AcSnpReport *report,
                                 const guint8 expected[AC_SNP_REPORT_DATA_SIZE],
                                 GError **error);

/* every field as a JSON object (pretty-printed, no trailing newline): integers below 2^32 as
 * numbers, 64-bit values as "0x…" strings, byte arrays as lowercase hex; TCB versions with
 * their components when the product is known (the report's, or @product if not
 * AC_SNP_PRODUCT_UNKNOWN) */
gchar *
ac_snp_report_to_json (const AcSnpReport *report, AcSnpProduct product);
/* every field, one per line, for people ("measurement        7a1e…") */
gchar *
ac_snp_report_to_text (const AcSnpReport *report, AcSnpProduct product);

/*
 * Builder (for a software SNP firmware and tests): fill an AcSnpReport's fields (zero the
 * struct first, then set what you need; signature fields are ignored), then
 * ac_snp_report_build() checks them with the same rules as the parser and writes @raw (the
 * signature area zero) and @product; ac_snp_report_sign() then signs raw[0:0x2A0] with
 * @key (an EC P-384 private key) and fills the signature fields and bytes. A built and signed
 * report parses back to the same fields. AC_ERROR_INVALID_INPUT for fields a parser would
 * refuse, AC_ERROR_INTERNAL for a signing failure.
 */
gboolean
ac_snp_report_build (AcSnpReport *report, GError **error);
gboolean
ac_snp_report_sign (AcSnpReport *report, EVP_PKEY *key, GError **error);

G_END_DECLS
