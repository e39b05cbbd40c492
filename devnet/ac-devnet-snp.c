/*
 * aleph-confidential devnet: SEV-SNP — the CRNs' software SNP firmwares, their KDS, the ARK
 * to trust and the signed reports of the admin endpoint.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <errno.h>

#include "ac-codec.h"
#include "ac-devnet-identity.h"
#include "ac-devnet-reply.h"
#include "ac-devnet-snp.h"
#include "ac-error.h"
#include "ac-file.h"
#include "ac-json.h"
#include "ac-snp-policy.h"

/* the TCB of the devnet's chips: the built-in floor of the product plus one in every
 * component (a platform kept up to date) */
static void
snp_tcb_current (AcSnpTcb *tcb)
{
	ac_snp_verify_policy_builtin_floor (AC_DEVNET_SNP_PRODUCT, -1, tcb);
	tcb->bootloader++, tcb->tee++, tcb->snp++, tcb->microcode++;
}

/* snp-tcb-below-floor: the same but an SNP firmware one below the floor */
static void
snp_tcb_old (AcSnpTcb *tcb)
{
	ac_snp_verify_policy_builtin_floor (AC_DEVNET_SNP_PRODUCT, -1, tcb);
	tcb->bootloader++, tcb->tee++, tcb->microcode++;
	tcb->snp = tcb->snp > 0 ? tcb->snp - 1 : 0;
}

gboolean
ac_devnet_snp_start (AcDevnet *self, GError **error)
{
	g_autoptr (AcSnpSoftCa) ca = NULL;
	g_autofree gchar *trust_dir = g_path_get_dirname (self->trust_root);
	g_autofree gchar *pem = NULL;

	self->snp_ca_dir = g_build_filename (self->root_dir, "snp-ca", NULL);
	self->snp_ark_path = g_build_filename (trust_dir, "snp-ark.pem", NULL);
	ca = ac_devnet_identity_snp_ca (self->snp_ca_dir, error);
	if (ca == NULL) {
		g_prefix_error (error, "devnet SNP CA %s: ", self->snp_ca_dir);
		return FALSE;
	}
	self->snp_ark = ac_snp_cert_ref (ac_snp_soft_ca_get_ark (ca));
	pem = ac_snp_cert_to_pem (self->snp_ark);
	if (g_mkdir_with_parents (trust_dir, 0755) != 0) {
		g_set_error (error, AC_ERROR, AC_ERROR_IO, "creating %s: %s", trust_dir,
		             g_strerror (errno));
		return FALSE;
	}
	return ac_file_replace_contents (self->snp_ark_path, pem, strlen (pem), TRUE, 0644, error);
}

gboolean
ac_devnet_snp_crn_new (AcDevnetCrn *crn, GError **error)
{
	AcDevnet *self = crn->devnet;
	g_autofree gchar *dir = g_build_filename (crn->dir, "snp", NULL);
	g_autoptr (GBytes) a = NULL;
	g_autoptr (GBytes) b = NULL;
	AcSnpTcb tcb;

	snp_tcb_current (&tcb);
	crn->snp = ac_devnet_identity_snp_firmware (dir, self->snp_ca_dir, &tcb, TRUE, error);
	if (crn->snp == NULL) {
		g_prefix_error (error, "%s: SNP firmware %s: ", crn->name, dir);
		return FALSE;
	}
	/* a state directory kept with another root directory: its chip is not the KDS's */
	a = ac_snp_cert_get_der (ac_snp_firmware_get_ark (crn->snp));
	b = ac_snp_cert_get_der (self->snp_ark);
	if (!g_bytes_equal (a, b)) {
		g_set_error (error, AC_ERROR, AC_ERROR_MISMATCH,
		             "%s: the SNP chip in %s was made on another SNP CA than %s (remove it "
		             "or use its root_dir)",
		             crn->name, dir, self->snp_ca_dir);
		return FALSE;
	}
	return TRUE;
}

void
ac_devnet_snp_crn_free (AcDevnetCrn *crn)
{
	g_clear_pointer (&crn->snp_guest, ac_snp_guest_free);
	g_clear_pointer (&crn->snp_old_guest, ac_snp_guest_free);
	g_clear_pointer (&crn->snp, ac_snp_firmware_free);
	g_clear_pointer (&crn->snp_old, ac_snp_firmware_free);
}

gboolean
ac_devnet_snp_prepare_attack (AcDevnetCrn *crn, AcDevnetAttack attack, GError **error)
{
	AcSnpTcb tcb;

	if (attack != AC_DEVNET_ATTACK_SNP_TCB_BELOW_FLOOR || crn->snp_old != NULL)
		return TRUE;
	snp_tcb_old (&tcb);
	crn->snp_old
	    = ac_devnet_identity_snp_firmware (NULL, crn->devnet->snp_ca_dir, &tcb, FALSE, error);
	return crn->snp_old != NULL;
}

gchar *
ac_devnet_snp_crn_chip_id (AcDevnetCrn *crn)
{
	return ac_codec_hex_encode (ac_snp_firmware_get_chip_id (crn->snp), AC_SNP_CHIP_ID_SIZE);
}

/* the knobs applied to the firmwares: the CRL lists the ASK while any CRN has
 * snp-revoked-ask (the CA is the devnet's, shared) */
void
ac_devnet_snp_sync (AcDevnet *self)
{
	gboolean revoked = FALSE;

	for (guint i = 0; i < self->n_crns; i++)
		revoked |= self->knobs.attacks[i] == AC_DEVNET_ATTACK_SNP_REVOKED_ASK;
	for (guint i = 0; i < self->n_crns; i++) {
		AcDevnetCrn *crn = self->crns[i];
		AcSnpFirmwareAttack a = AC_SNP_FIRMWARE_ATTACK_NONE;
		if (crn == NULL || crn->snp == NULL)
			continue;
		switch (self->knobs.attacks[i]) {
		case AC_DEVNET_ATTACK_SNP_OTHER_CHIP:
			a = AC_SNP_FIRMWARE_ATTACK_OTHER_CHIP;
			break;
		case AC_DEVNET_ATTACK_SNP_REPLAY:
			a = AC_SNP_FIRMWARE_ATTACK_REPLAY;
			break;
		case AC_DEVNET_ATTACK_SNP_WRONG_MEASUREMENT:
			a = AC_SNP_FIRMWARE_ATTACK_WRONG_MEASUREMENT;
			break;
		default:
			break;
		}
		ac_snp_firmware_set_attacks (crn->snp, a);
		ac_snp_firmware_set_ask_revoked (crn->snp, revoked);
		if (crn->snp_old != NULL)
			ac_snp_firmware_set_ask_revoked (crn->snp_old, revoked);
	}
}

/* GET /kds/<KDS path>: what AMD's KDS answers about the devnet's chips (byte-equal paths, as
 * virt-aleph and ac-snp-kds.h build them); 404 for anything else */
static void
snp_kds (AcDevnet *self, SoupServerMessage *msg, const gchar *path)
{
	GUri *uri = soup_server_message_get_uri (msg);
	const gchar *q = uri != NULL ? g_uri_get_query (uri) : NULL;
	g_autofree gchar *full = g_strconcat (path, q != NULL ? "?" : "", q, NULL);
	const gchar *type = g_str_has_suffix (path, "/cert_chain") ? "application/x-pem-file"
	                    : g_str_has_suffix (path, "/crl")      ? "application/pkix-crl"
	                                                           : "application/pkix-cert";

	ac_devnet_snp_sync (self);
	for (guint i = 0; i < self->n_crns; i++) {
		AcSnpFirmware *fws[] = { self->crns[i]->snp, self->crns[i]->snp_old };
		for (guint j = 0; j < G_N_ELEMENTS (fws); j++) {
			g_autoptr (GError) error = NULL;
			g_autoptr (GBytes) answer = NULL;
			if (fws[j] == NULL)
				continue;
			answer = ac_snp_firmware_kds_answer (fws[j], full, &error);
			if (answer != NULL) {
				soup_server_message_set_status (msg, 200, NULL);
				soup_message_headers_replace (
				    soup_server_message_get_response_headers (msg), "Content-Type",
				    type);
				soup_message_body_append_bytes (
				    soup_server_message_get_response_body (msg), answer);
				return;
			}
			if (!g_error_matches (error, AC_ERROR, AC_ERROR_NOT_FOUND)) {
				ac_devnet_reply_error (msg, 500, "KDS %s: %s", full,
				                       error->message);
				return;
			}
		}
	}
	ac_devnet_reply_error (msg, 404, "KDS: nothing at %s (no chip of this devnet)", full);
}

/* the guest the report endpoint speaks for: launched once per chip from the devnet's
 * firmware file, 1 vCPU EPYC-Milan, default guest features, guest policy 0x30000 */
static AcSnpGuest *
snp_guest (AcDevnet *self, AcSnpFirmware *fw, AcSnpGuest **slot, GError **error)
{
	g_autoptr (GMappedFile) mf = NULL;
	g_autoptr (GBytes) ovmf = NULL;
	AcSnpLaunchInputs inputs = { 0 };

	if (*slot != NULL)
		return *slot;
	mf = g_mapped_file_new (self->firmware_path, FALSE, NULL);
	if (mf == NULL) {
		g_set_error (error, AC_ERROR, AC_ERROR_IO, "reading the firmware %s",
		             self->firmware_path);
		return NULL;
	}
	ovmf = g_mapped_file_get_bytes (mf);
	inputs.firmware = ovmf;
	inputs.vcpus = 1;
	inputs.guest_features = AC_SNP_GUEST_FEATURES_DEFAULT;
	if (!ac_snp_vcpu_sig_from_type ("EPYC-Milan", &inputs.vcpu_sig, error))
		return NULL;
	*slot = ac_snp_firmware_launch (fw, &inputs, AC_SNP_POLICY_DEFAULT, NULL, error);
	return *slot;
}

/* GET /admin/snp/report?report_data=<128 hex>[&crn=N][&vmpl=N]: a report signed by the CRN's
 * chip (the raw 1184 bytes) */
static void
snp_report (AcDevnet *self, SoupServerMessage *msg, GHashTable *query)
{
	const gchar *rd = query != NULL ? g_hash_table_lookup (query, "report_data") : NULL;
	const gchar *crn_s = query != NULL ? g_hash_table_lookup (query, "crn") : NULL;
	const gchar *vmpl_s = query != NULL ? g_hash_table_lookup (query, "vmpl") : NULL;
	guint8 report_data[AC_SNP_REPORT_DATA_SIZE];
	guint64 index = 0, vmpl = 0;
	g_autoptr (GError) error = NULL;
	g_autoptr (GBytes) report = NULL;
	AcDevnetCrn *crn;
	AcSnpFirmware *fw;
	AcSnpGuest **slot;
	AcSnpGuest *guest;

	if (rd == NULL
	    || !ac_codec_hex_decode_fixed ("report_data", rd, AC_CODEC_HEX_DEFAULT, report_data,
	                                   sizeof report_data, &error)) {
		ac_devnet_reply_error (msg, 400, "%s",
		                       error != NULL ? error->message
		                                     : "report_data is missing, expected 128 hex "
		                                       "digits");
		return;
	}
	if (self->n_crns == 0) {
		ac_devnet_reply_error (msg, 404, "this devnet has no CRN");
		return;
	}
	if (crn_s != NULL
	    && !g_ascii_string_to_unsigned (crn_s, 10, 0, self->n_crns - 1, &index, NULL)) {
		ac_devnet_reply_error (msg, 404, "crn '%s': no such CRN, expected 0 to %u", crn_s,
		                       self->n_crns - 1);
		return;
	}
	if (vmpl_s != NULL && !g_ascii_string_to_unsigned (vmpl_s, 10, 0, 3, &vmpl, NULL)) {
		ac_devnet_reply_error (msg, 400, "vmpl '%s': expected 0 to 3", vmpl_s);
		return;
	}
	ac_devnet_snp_sync (self);
	crn = self->crns[index];
	fw = crn->snp;
	slot = &crn->snp_guest;
	if (self->knobs.attacks[index] == AC_DEVNET_ATTACK_SNP_TCB_BELOW_FLOOR
	    && crn->snp_old != NULL) {
		fw = crn->snp_old;
		slot = &crn->snp_old_guest;
	}
	guest = snp_guest (self, fw, slot, &error);
	if (guest != NULL)
		report = ac_snp_guest_get_report (guest, report_data, (guint)vmpl, &error);
	if (report == NULL) {
		ac_devnet_reply_error (msg, 500, "%s: SNP report: %s", crn->name, error->message);
		return;
	}
	ac_devnet_reply_bytes (msg, report);
}

gboolean
ac_devnet_snp_admin_handle (AcDevnet *self,
                            SoupServerMessage *msg,
                            const gchar *path,
                            GHashTable *query)
{
	const gchar *method = soup_server_message_get_method (msg);

	if (!g_str_has_prefix (path, "/kds/") && !g_str_has_prefix (path, "/admin/snp/"))
		return FALSE;
	if (g_strcmp0 (method, "GET") != 0) {
		ac_devnet_reply_error (msg, 405, "%s %s: expected GET", method, path);
		return TRUE;
	}
	if (g_str_has_prefix (path, "/kds/")) {
		snp_kds (self, msg, path + strlen ("/kds"));
	} else if (g_strcmp0 (path, "/admin/snp/ark.pem") == 0) {
		g_autofree gchar *pem = ac_snp_cert_to_pem (self->snp_ark);
		soup_server_message_set_status (msg, 200, NULL);
		soup_server_message_set_response (msg, "application/x-pem-file", SOUP_MEMORY_COPY,
		                                  pem, strlen (pem));
	} else if (g_strcmp0 (path, "/admin/snp/report") == 0) {
		snp_report (self, msg, query);
	} else {
		ac_devnet_reply_error (msg, 404, "no admin endpoint %s", path);
	}
	return TRUE;
}

void
ac_devnet_snp_ready (AcDevnet *self, JsonBuilder *b)
{
	g_autofree gchar *kds = g_strdup_printf ("%s/kds", self->admin_url);

	json_builder_set_member_name (b, "snp");
	json_builder_begin_object (b);
	ac_json_builder_add_string (b, "product", ac_snp_product_to_string (AC_DEVNET_SNP_PRODUCT));
	ac_json_builder_add_string (b, "kds", kds);
	ac_json_builder_add_string (b, "ark", self->snp_ark_path);
	ac_json_builder_add_string (b, "runtime", self->snp_runtime_item_hash);
	json_builder_end_object (b);
}
