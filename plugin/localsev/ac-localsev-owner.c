/*
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "ac-localsev-owner.h"

#include "ac-error.h"
#include "ac-aleph-snp-inject.h"
#include "ac-eth-account.h"

static gchar *
ac_localsev_owner_sign (const guint8 *msg, gsize len, gchar **signer, gpointer user_data, GError **error)
{
	AcEthAccount *account = user_data;
	gchar *signature = ac_eth_account_sign_personal_hex (account, msg, len, error);

	if (signature == NULL)
		return NULL;
	*signer = g_strdup (ac_eth_account_get_address (account));
	return signature;
}

gboolean
ac_localsev_options_set_owner_key (AcLocalsevOptions *opts,
				   const gchar *key_file,
				   const gchar *password_file,
				   gboolean required,
				   gchar **address,
				   GError **error)
{
	g_autofree gchar *path = key_file != NULL ? g_strdup (key_file) : ac_eth_default_key_path ();
	AcEthAccount *account;

	g_return_val_if_fail (opts != NULL, FALSE);

	if (address != NULL)
		*address = NULL;
	if (!g_file_test (path, G_FILE_TEST_EXISTS)) {
		if (!required)
			return TRUE;
		g_set_error (error,
			     AC_ERROR,
			     AC_ERROR_NOT_FOUND,
			     "no owner key at %s: the launch records shipped to a remote host's hook "
			     "are signed with it (create one with 'virt-aleph account create', or set "
			     "key-file in the [pipeline] configuration)",
			     path);
		return FALSE;
	}
	account = ac_eth_account_load_key_file_full (path, password_file, error);
	if (account == NULL) {
		g_prefix_error (error, "owner key %s: ", path);
		return FALSE;
	}
	if (opts->sign_data_free != NULL)
		opts->sign_data_free (opts->sign_data);
	opts->sign = ac_localsev_owner_sign;
	opts->sign_data = account;
	opts->sign_data_free = (GDestroyNotify)ac_eth_account_free;
	/* SEV-SNP: the address measured in the command line and the signer of the injection the
	 * guest's agent checks against it (the account lives as long as opts->sign_data) */
	g_free (opts->snp_owner);
	opts->snp_owner = g_strdup (ac_eth_account_get_address (account));
	opts->snp_sign = ac_aleph_snp_inject_sign;
	opts->snp_sign_data = account;
	if (address != NULL)
		*address = g_strdup (ac_eth_account_get_address (account));
	return TRUE;
}
