/*
 * The owner's EIP-191 signature of an SEV-SNP secret injection, the request body, and the
 * agent's check.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "ac-aleph-snp-inject.h"
#include "ac-codec.h"
#include "ac-error.h"

gboolean
ac_aleph_snp_inject_sign (const gchar *payload,
                          gsize len,
                          guint8 signature[AC_SNP_INJECT_SIGNATURE_LEN],
                          gpointer account,
                          GError **error)
{
	G_STATIC_ASSERT (AC_SNP_INJECT_SIGNATURE_LEN == AC_ETH_SIGNATURE_LEN);
	if (account == NULL) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		                     "injection: no owner account to sign with");
		return FALSE;
	}
	return ac_eth_account_sign_personal (account, (const guint8 *)payload, len, signature,
	                                     error);
}

GBytes *
ac_aleph_snp_inject_body (AcEthAccount *account,
                          const guint8 *pk_raw,
                          gsize pk_len,
                          AcSnpSecrets *secrets,
                          GError **error)
{
	gchar payload[AC_SNP_INJECT_PAYLOAD_LEN + 1];
	guint8 sig[AC_SNP_INJECT_SIGNATURE_LEN];

	if (!ac_snp_inject_payload (pk_raw, pk_len, secrets, payload, error)
	    || !ac_aleph_snp_inject_sign (payload, AC_SNP_INJECT_PAYLOAD_LEN, sig, account, error))
		return NULL;
	return ac_snp_inject_body (secrets, sig, error);
}

gboolean
ac_aleph_snp_inject_check (const gchar *body,
                           gsize len,
                           const guint8 *pk_raw,
                           gsize pk_len,
                           const gchar *owner_address,
                           AcSnpSecrets **secrets,
                           GError **error)
{
	g_autoptr (AcSnpSecrets) parsed = NULL;
	g_autoptr (GError) local = NULL;
	g_autofree gchar *sig_hex = NULL;
	g_autofree gchar *signer = NULL;
	gchar payload[AC_SNP_INJECT_PAYLOAD_LEN + 1];
	guint8 sig[AC_SNP_INJECT_SIGNATURE_LEN];

	if (!ac_snp_inject_body_parse (body, len, &parsed, sig, error)
	    || !ac_snp_inject_payload (pk_raw, pk_len, parsed, payload, error))
		return FALSE;
	if (sig[64] < 27)
		sig[64] += 27;
	sig_hex = ac_codec_hex_encode (sig, sizeof sig);
	if (!ac_eth_recover_personal ((const guint8 *)payload, AC_SNP_INJECT_PAYLOAD_LEN, sig_hex,
	                              &signer, &local)) {
		g_set_error (error, AC_ERROR, AC_ERROR_REFUSED,
		             "injection: owner signature verification failed (%s)", local->message);
		return FALSE;
	}
	if (!ac_eth_address_equal (signer, owner_address)) {
		g_set_error (
		    error, AC_ERROR, AC_ERROR_REFUSED,
		    "injection: owner signature verification failed (signed by %s over this "
		    "agent's key and these secrets, expected %s)",
		    signer, owner_address);
		return FALSE;
	}
	*secrets = g_steal_pointer (&parsed);
	return TRUE;
}
