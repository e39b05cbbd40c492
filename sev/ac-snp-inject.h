/*
 * Aleph's owner-authenticated secret injection into an SEV-SNP guest (POST
 * /confidential/inject-secret to the guest's agent), the parts that need no secp256k1: the
 * secrets map with the agent's limits, its canonical JSON, the exact text the owner signs
 * (bound to the agent's TLS key), and the request body. The EIP-191 signature over that text is
 * made by the caller's signer (plugin/aleph: ac-aleph-snp-inject.h, with the account that signs
 * the INSTANCE message). docs/snp.md#aleph-attested-tls-and-the-secret-injection.
 *
 *   canonical = the secrets as a JSON object, keys sorted by byte, no white space, only '"',
 *               '\' and control characters escaped (\b \t \n \f \r, others \u00xx), non-ASCII
 *               as raw UTF-8; "{}" when empty
 *   payload   = "aleph-snp-inject-secret-v1|" hex(SHA-384(pk_raw)) "|" hex(SHA-256(canonical))
 *               (188 ASCII characters, lowercase hex)
 *   body      = {"secrets":<canonical>,"signature":"0x<r ‖ s ‖ v, 130 lowercase hex>"}
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define AC_SNP_INJECT_DOMAIN "aleph-snp-inject-secret-v1"
#define AC_SNP_INJECT_PAYLOAD_LEN 188
/* the agent's limits */
#define AC_SNP_INJECT_MAX_SECRETS 16
#define AC_SNP_INJECT_KEY_MAX 64
#define AC_SNP_INJECT_VALUE_MAX 65536
#define AC_SNP_INJECT_BODY_MAX (2 * 1024 * 1024)
/* r(32) ‖ s(32) ‖ v */
#define AC_SNP_INJECT_SIGNATURE_LEN 65
/* the secret the Aleph guest's initrd waits for */
#define AC_SNP_INJECT_LUKS_KEY "luks_passphrase"

/* secrets by name; the values are wiped when freed and never logged */
typedef struct _AcSnpSecrets AcSnpSecrets;

AcSnpSecrets *
ac_snp_secrets_new (void);
void
ac_snp_secrets_free (AcSnpSecrets *self);
guint
ac_snp_secrets_get_size (AcSnpSecrets *self);
/* the value of @key (borrowed, NUL-terminated), NULL if absent */
const gchar *
ac_snp_secrets_lookup (AcSnpSecrets *self, const gchar *key, gsize *len);

/*
 * Adds a secret with the agent's rules: @key 1 to 64 characters of [A-Za-z0-9_-]; @value
 * valid UTF-8 without NUL, at most 65536 bytes; at most 16 secrets; a key already present is
 * refused. AC_ERROR_INVALID_INPUT naming the key (never the value).
 */
gboolean
ac_snp_secrets_add (AcSnpSecrets *self,
                    const gchar *key,
                    const gchar *value,
                    gsize value_len,
                    GError **error);

/*
 * Parses a JSON object of string members (at most AC_SNP_INJECT_BODY_MAX bytes) with the
 * rules of ac_snp_secrets_add(); an empty object gives an empty map.
 */
AcSnpSecrets *
ac_snp_secrets_parse_json (const gchar *json, gsize len, GError **error);

/* the canonical JSON (a GBytes wiped when freed; not NUL-terminated) */
GBytes *
ac_snp_secrets_to_canonical (AcSnpSecrets *self);

/*
 * The text the owner signs, AC_SNP_INJECT_PAYLOAD_LEN characters and a NUL in @out, for the
 * agent's TLS key @pk_raw (the 97-byte point its certificate carries; any non-empty bytes are
 * hashed, as the agent does) and @secrets (possibly empty).
 */
gboolean
ac_snp_inject_payload (const guint8 *pk_raw,
                       gsize pk_len,
                       AcSnpSecrets *secrets,
                       gchar out[AC_SNP_INJECT_PAYLOAD_LEN + 1],
                       GError **error);

/*
 * The request body for @secrets (1 to 16) and @signature (v 27 or 28). A GBytes wiped when
 * freed. AC_ERROR_INVALID_INPUT for an empty map or another v.
 */
GBytes *
ac_snp_inject_body (AcSnpSecrets *secrets,
                    const guint8 signature[AC_SNP_INJECT_SIGNATURE_LEN],
                    GError **error);

/*
 * The agent's side: parses a request body strictly — one JSON object of at most
 * AC_SNP_INJECT_BODY_MAX bytes with exactly "secrets" (1 to 16 secrets, the rules of
 * ac_snp_secrets_add()) and "signature" ("0x" + 130 hex digits, v 0, 1, 27 or 28).
 * AC_ERROR_INVALID_INPUT otherwise. The signature is not checked here.
 */
gboolean
ac_snp_inject_body_parse (const gchar *body,
                          gsize len,
                          AcSnpSecrets **secrets,
                          guint8 signature[AC_SNP_INJECT_SIGNATURE_LEN],
                          GError **error);

/*
 * An owner's signer: the EIP-191 personal_sign signature (r ‖ s ‖ v, v 27 or 28, low s) of
 * @payload by the account that unlocks the instance. plugin/aleph provides one
 * (ac_aleph_snp_inject_sign, @user_data an AcEthAccount).
 */
typedef gboolean (*AcSnpInjectSignFunc) (const gchar *payload,
                                         gsize len,
                                         guint8 signature[AC_SNP_INJECT_SIGNATURE_LEN],
                                         gpointer user_data,
                                         GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (AcSnpSecrets, ac_snp_secrets_free)

G_END_DECLS
