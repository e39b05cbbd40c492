/*
 * A software SEV-SNP firmware (see ac-snp-firmware.h).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "ac-snp-firmware.h"

#include "ac-error.h"
#include "ac-sev-ossl-private.h"
#include "ac-snp-kds.h"
#include "ac-snp-policy.h"

/* what the firmware reports about itself */
#define SNP_FW_MAJOR 1
#define SNP_FW_MINOR 55
#define SNP_FW_BUILD 22
#define SNP_FW_PLATFORM_INFO (AC_SNP_PLATFORM_SMT_EN | AC_SNP_PLATFORM_TSME_EN)
#define SNP_FW_REPORT_VERSION 3
#define SNP_FW_CERT_DAYS 365

struct _AcSnpFirmware {
	AcSnpProduct product;
	AcSnpTcb tcb;
	guint8 chip_id[AC_SNP_CHIP_ID_SIZE];
	AcSnpSoftCa *ca;
	EVP_PKEY *vcek_key;
	AcSnpCert *vcek;
	gboolean ask_revoked;
	AcSnpFirmwareAttack attacks;
	/* the OTHER_CHIP attack's chip, made when first needed */
	guint8 other_chip_id[AC_SNP_CHIP_ID_SIZE];
	EVP_PKEY *other_key;
	AcSnpCert *other_vcek;
};

struct _AcSnpGuest {
	AcSnpFirmware *firmware;
	guint64 policy;
	guint8 measurement[AC_SNP_MEASUREMENT_SIZE];
	guint8 host_data[AC_SNP_HOST_DATA_SIZE];
	guint8 report_id[32];
	GBytes *last_report;
};

/* CPUID family, model and stepping of a part of each product, for version 3 reports */
static void
snp_fw_cpuid (AcSnpProduct product, guint8 *family, guint8 *model, guint8 *stepping)
{
	switch (product) {
	case AC_SNP_PRODUCT_GENOA:
		*family = 0x19, *model = 0x11, *stepping = 0x01;
		break;
	case AC_SNP_PRODUCT_TURIN:
		*family = 0x1a, *model = 0x02, *stepping = 0x00;
		break;
	case AC_SNP_PRODUCT_MILAN:
	default:
		*family = 0x19, *model = 0x01, *stepping = 0x01;
		break;
	}
}

/* a fresh CHIP_ID: Turin's hwID has 8 bytes and the rest of its CHIP_ID is zero */
static gboolean
snp_fw_new_chip (AcSnpProduct product, guint8 chip_id[AC_SNP_CHIP_ID_SIZE], GError **error)
{
	gsize n = product == AC_SNP_PRODUCT_TURIN ? 8 : AC_SNP_CHIP_ID_SIZE;

	memset (chip_id, 0, AC_SNP_CHIP_ID_SIZE);
	if (RAND_bytes (chip_id, (int)n) != 1) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_INTERNAL,
		                     "software SNP firmware: no random bytes for a chip id");
		return FALSE;
	}
	chip_id[0] |= 1; /* never all zero: that is a masked CHIP_ID */
	return TRUE;
}

static AcSnpCert *
snp_fw_issue_vcek (AcSnpFirmware *self, const guint8 *chip_id, EVP_PKEY **key, GError **error)
{
	g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
	g_autoptr (GDateTime) not_before = g_date_time_add_days (now, -1);

	*key = EVP_EC_gen ("P-384");
	if (*key == NULL) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_INTERNAL,
		                     "software SNP firmware: cannot generate a P-384 key");
		return NULL;
	}
	return ac_snp_soft_ca_issue_vcek (self->ca, chip_id, AC_SNP_CHIP_ID_SIZE, &self->tcb, *key,
	                                  not_before, SNP_FW_CERT_DAYS, error);
}

AcSnpFirmware *
ac_snp_firmware_new (AcSnpProduct product, const AcSnpTcb *tcb, GError **error)
{
	g_autoptr (AcSnpFirmware) self = g_new0 (AcSnpFirmware, 1);

	g_return_val_if_fail (tcb != NULL, NULL);

	self->product = product;
	self->tcb = *tcb;
	if (product != AC_SNP_PRODUCT_TURIN)
		self->tcb.fmc = 0; /* no such component before Turin */
	self->ca = ac_snp_soft_ca_new (product, FALSE, error);
	if (self->ca == NULL)
		return NULL;
	if (!snp_fw_new_chip (product, self->chip_id, error))
		return NULL;
	self->vcek = snp_fw_issue_vcek (self, self->chip_id, &self->vcek_key, error);
	if (self->vcek == NULL)
		return NULL;
	return g_steal_pointer (&self);
}

void
ac_snp_firmware_free (AcSnpFirmware *self)
{
	if (self == NULL)
		return;
	ac_snp_soft_ca_free (self->ca);
	EVP_PKEY_free (self->vcek_key);
	if (self->vcek != NULL)
		ac_snp_cert_unref (self->vcek);
	EVP_PKEY_free (self->other_key);
	if (self->other_vcek != NULL)
		ac_snp_cert_unref (self->other_vcek);
	g_free (self);
}

AcSnpProduct
ac_snp_firmware_get_product (AcSnpFirmware *self)
{
	return self->product;
}

void
ac_snp_firmware_get_tcb (AcSnpFirmware *self, AcSnpTcb *out)
{
	*out = self->tcb;
}

const guint8 *
ac_snp_firmware_get_chip_id (AcSnpFirmware *self)
{
	return self->chip_id;
}

AcSnpCert *
ac_snp_firmware_get_ark (AcSnpFirmware *self)
{
	return ac_snp_soft_ca_get_ark (self->ca);
}

AcSnpCert *
ac_snp_firmware_get_ask (AcSnpFirmware *self)
{
	return ac_snp_soft_ca_get_intermediate (self->ca);
}

AcSnpCert *
ac_snp_firmware_get_vcek (AcSnpFirmware *self)
{
	return self->vcek;
}

void
ac_snp_firmware_revoke_ask (AcSnpFirmware *self)
{
	self->ask_revoked = TRUE;
}

AcSnpCrl *
ac_snp_firmware_get_crl (AcSnpFirmware *self, GError **error)
{
	g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
	g_autoptr (GDateTime) this_update = g_date_time_add_hours (now, -1);
	AcSnpCert *revoked[] = { ac_snp_firmware_get_ask (self) };

	return ac_snp_soft_ca_issue_crl (self->ca, revoked, self->ask_revoked ? 1 : 0, this_update,
	                                 30, error);
}

void
ac_snp_firmware_set_attacks (AcSnpFirmware *self, AcSnpFirmwareAttack attacks)
{
	self->attacks = attacks;
}

AcSnpCert *
ac_snp_firmware_get_other_vcek (AcSnpFirmware *self, GError **error)
{
	if (self->other_vcek == NULL) {
		if (!snp_fw_new_chip (self->product, self->other_chip_id, error))
			return NULL;
		self->other_vcek
		    = snp_fw_issue_vcek (self, self->other_chip_id, &self->other_key, error);
	}
	return self->other_vcek;
}

/* "/vcek/v1/Milan/…": the answers about this chip, byte-equal paths only */
GBytes *
ac_snp_firmware_kds_answer (AcSnpFirmware *self, const gchar *path, GError **error)
{
	g_autofree gchar *vcek_path = NULL;
	g_autofree gchar *chain_path = NULL;
	g_autofree gchar *crl_path = NULL;

	vcek_path = ac_snp_kds_vcek_url ("", self->product, self->chip_id, AC_SNP_CHIP_ID_SIZE,
	                                 &self->tcb, error);
	chain_path = ac_snp_kds_cert_chain_url ("", self->product, FALSE, error);
	crl_path = ac_snp_kds_crl_url ("", self->product, FALSE, error);
	if (vcek_path == NULL || chain_path == NULL || crl_path == NULL)
		return NULL;
	if (g_strcmp0 (path, vcek_path) == 0)
		return ac_snp_cert_get_der (self->vcek);
	if (g_strcmp0 (path, chain_path) == 0) {
		g_autofree gchar *ask = ac_snp_cert_to_pem (ac_snp_firmware_get_ask (self));
		g_autofree gchar *ark = ac_snp_cert_to_pem (ac_snp_firmware_get_ark (self));
		gchar *pem = g_strconcat (ask, ark, NULL);
		return g_bytes_new_take (pem, strlen (pem));
	}
	if (g_strcmp0 (path, crl_path) == 0) {
		g_autoptr (AcSnpCrl) crl = ac_snp_firmware_get_crl (self, error);
		return crl != NULL ? ac_snp_crl_get_der (crl) : NULL;
	}
	g_set_error (error, AC_ERROR, AC_ERROR_NOT_FOUND, "software KDS: nothing at %s", path);
	return NULL;
}

AcSnpGuest *
ac_snp_firmware_launch (AcSnpFirmware *self,
                        const AcSnpLaunchInputs *inputs,
                        guint64 policy,
                        const guint8 *host_data,
                        GError **error)
{
	g_autoptr (AcSnpGuest) guest = g_new0 (AcSnpGuest, 1);

	if (!ac_snp_policy_validate (policy, error))
		return NULL;
	if (!ac_snp_launch_digest (inputs, guest->measurement, error))
		return NULL;
	if (RAND_bytes (guest->report_id, sizeof guest->report_id) != 1) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_INTERNAL,
		                     "software SNP firmware: no random bytes for a report id");
		return NULL;
	}
	if (host_data != NULL)
		memcpy (guest->host_data, host_data, AC_SNP_HOST_DATA_SIZE);
	guest->firmware = self;
	guest->policy = policy;
	return g_steal_pointer (&guest);
}

void
ac_snp_guest_free (AcSnpGuest *self)
{
	if (self == NULL)
		return;
	if (self->last_report != NULL)
		g_bytes_unref (self->last_report);
	g_free (self);
}

const guint8 *
ac_snp_guest_get_measurement (AcSnpGuest *self)
{
	return self->measurement;
}

GBytes *
ac_snp_guest_get_report (AcSnpGuest *self, const guint8 *report_data, guint vmpl, GError **error)
{
	AcSnpFirmware *fw = self->firmware;
	AcSnpReport report = { 0 };
	EVP_PKEY *key = fw->vcek_key;
	guint64 tcb = ac_snp_tcb_encode (&fw->tcb, fw->product);

	g_return_val_if_fail (report_data != NULL, NULL);

	if ((fw->attacks & AC_SNP_FIRMWARE_ATTACK_REPLAY) && self->last_report != NULL)
		return g_bytes_ref (self->last_report);
	if (vmpl > AC_SNP_REPORT_VMPL_MAX) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "SNP_GET_REPORT: VMPL %u is not 0 to %u", vmpl,
		             AC_SNP_REPORT_VMPL_MAX);
		return NULL;
	}
	report.version = SNP_FW_REPORT_VERSION;
	report.policy = self->policy;
	report.vmpl = vmpl;
	report.signature_algo = AC_SNP_SIG_ALGO_ECDSA_P384_SHA384;
	for (guint i = 0; i < AC_SNP_TCB_N_KINDS; i++)
		report.tcb[i] = tcb;
	report.platform_info = SNP_FW_PLATFORM_INFO;
	report.signing_key = AC_SNP_SIGNING_KEY_VCEK;
	memcpy (report.report_data, report_data, AC_SNP_REPORT_DATA_SIZE);
	memcpy (report.measurement, self->measurement, AC_SNP_MEASUREMENT_SIZE);
	if (fw->attacks & AC_SNP_FIRMWARE_ATTACK_WRONG_MEASUREMENT)
		report.measurement[0] ^= 0x01;
	memcpy (report.host_data, self->host_data, AC_SNP_HOST_DATA_SIZE);
	memcpy (report.report_id, self->report_id, sizeof report.report_id);
	snp_fw_cpuid (fw->product, &report.cpuid_fam_id, &report.cpuid_mod_id, &report.cpuid_step);
	memcpy (report.chip_id, fw->chip_id, AC_SNP_CHIP_ID_SIZE);
	report.current_major = report.committed_major = SNP_FW_MAJOR;
	report.current_minor = report.committed_minor = SNP_FW_MINOR;
	report.current_build = report.committed_build = SNP_FW_BUILD;
	if (fw->attacks & AC_SNP_FIRMWARE_ATTACK_OTHER_CHIP) {
		if (ac_snp_firmware_get_other_vcek (fw, error) == NULL)
			return NULL;
		key = fw->other_key;
	}
	if (!ac_snp_report_build (&report, error) || !ac_snp_report_sign (&report, key, error))
		return NULL;
	if (self->last_report != NULL)
		g_bytes_unref (self->last_report);
	self->last_report = g_bytes_new (report.raw, AC_SNP_REPORT_SIZE);
	return g_bytes_ref (self->last_report);
}
