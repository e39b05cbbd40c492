/*
 * A software SEV-SNP firmware (see ac-snp-firmware.h).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include "ac-snp-firmware.h"

#include "ac-codec.h"
#include "ac-error.h"
#include "ac-file.h"
#include "ac-sev-cert.h"
#include "ac-keyfile.h"
#include "ac-sev-ossl-private.h"
#include "ac-snp-chain-private.h"
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
ac_snp_firmware_new_with_ca (AcSnpSoftCa *ca, const AcSnpTcb *tcb, GError **error)
{
	g_autoptr (AcSnpFirmware) self = g_new0 (AcSnpFirmware, 1);

	g_return_val_if_fail (ca != NULL && tcb != NULL, NULL);

	self->ca = ca;
	self->product = ac_snp_soft_ca_get_product (ca);
	if (ac_snp_cert_get_role (ac_snp_soft_ca_get_intermediate (ca)) != AC_SNP_CERT_ASK) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "software SNP firmware: its CA must issue VCEKs (an ASK), not '%s'",
		             ac_snp_cert_get_common_name (ac_snp_soft_ca_get_intermediate (ca)));
		return NULL;
	}
	self->tcb = *tcb;
	if (self->product != AC_SNP_PRODUCT_TURIN)
		self->tcb.fmc = 0; /* no such component before Turin */
	if (!snp_fw_new_chip (self->product, self->chip_id, error))
		return NULL;
	self->vcek = snp_fw_issue_vcek (self, self->chip_id, &self->vcek_key, error);
	if (self->vcek == NULL)
		return NULL;
	return g_steal_pointer (&self);
}

AcSnpFirmware *
ac_snp_firmware_new (AcSnpProduct product, const AcSnpTcb *tcb, GError **error)
{
	AcSnpSoftCa *ca;

	g_return_val_if_fail (tcb != NULL, NULL);

	ca = ac_snp_soft_ca_new (product, FALSE, error);
	if (ca == NULL)
		return NULL;
	return ac_snp_firmware_new_with_ca (ca, tcb, error);
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

void
ac_snp_firmware_set_ask_revoked (AcSnpFirmware *self, gboolean revoked)
{
	self->ask_revoked = revoked;
}

gboolean
ac_snp_firmware_get_ask_revoked (AcSnpFirmware *self)
{
	return self->ask_revoked;
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

/* ------------------------------------------------------------------------------------------ */
/* save / load                                                                                */

#define SNP_FW_STATE "firmware.ini"
#define SNP_FW_STATE_MAX 4096
#define SNP_FW_GROUP "firmware"

static const AcKeyFileKey snp_fw_state_keys[] = {
	{ SNP_FW_GROUP, "product", AC_KEY_NONEMPTY, "Milan, Genoa or Turin" },
	{ SNP_FW_GROUP, "chip_id", AC_KEY_NONEMPTY, "128 hex digits" },
	{ SNP_FW_GROUP, "fmc", AC_KEY_TEXT, "0 to 255 (0 before Turin)" },
	{ SNP_FW_GROUP, "bootloader", AC_KEY_TEXT, "0 to 255" },
	{ SNP_FW_GROUP, "tee", AC_KEY_TEXT, "0 to 255" },
	{ SNP_FW_GROUP, "snp", AC_KEY_TEXT, "0 to 255" },
	{ SNP_FW_GROUP, "microcode", AC_KEY_TEXT, "0 to 255" },
	{ SNP_FW_GROUP, "ask_revoked", AC_KEY_NONEMPTY, "true or false" },
	{ NULL },
};

/* @path is ours and not a link: a directory closed to others (@dir), or a regular file others
 * cannot write (a key: cannot read either) */
static gboolean
snp_fw_check_path (const gchar *path, gboolean dir, gboolean key, GError **error)
{
	GStatBuf st;
	guint closed = dir || key ? 077 : 022;

	if (g_lstat (path, &st) != 0) {
		int errsv = errno;
		g_set_error (error, AC_ERROR, errsv == ENOENT ? AC_ERROR_NOT_FOUND : AC_ERROR_IO,
		             "software SNP firmware state %s: %s", path, g_strerror (errsv));
		return FALSE;
	}
	if (S_ISLNK (st.st_mode) || (dir ? !S_ISDIR (st.st_mode) : !S_ISREG (st.st_mode))) {
		g_set_error (error, AC_ERROR, AC_ERROR_PERMISSION,
		             "software SNP firmware state %s: %s, expected a %s", path,
		             S_ISLNK (st.st_mode) ? "a symbolic link" : "of another type",
		             dir ? "directory" : "regular file");
		return FALSE;
	}
	if (st.st_uid != geteuid () || (st.st_mode & closed) != 0) {
		g_set_error (
		    error, AC_ERROR, AC_ERROR_PERMISSION,
		    "software SNP firmware state %s: owner %u and mode %04o, expected owner "
		    "%u and no %s for others",
		    path, (guint)st.st_uid, (guint)(st.st_mode & 07777), (guint)geteuid (),
		    closed == 077 ? "access" : "write access");
		return FALSE;
	}
	return TRUE;
}

/* @path made (0700) if missing, then checked: a directory of ours that others cannot reach */
static gboolean
snp_fw_make_dir (const gchar *path, GError **error)
{
	if (g_mkdir_with_parents (path, 0700) != 0) {
		g_set_error (error, AC_ERROR, AC_ERROR_IO, "cannot create %s: %s", path,
		             g_strerror (errno));
		return FALSE;
	}
	return snp_fw_check_path (path, TRUE, FALSE, error);
}

gboolean
ac_snp_firmware_save (AcSnpFirmware *self, const gchar *dir, GError **error)
{
	g_autoptr (GKeyFile) kf = g_key_file_new ();
	g_autofree gchar *ca_dir = g_build_filename (dir, "ca", NULL);
	g_autofree gchar *chip = ac_codec_hex_encode (self->chip_id, AC_SNP_CHIP_ID_SIZE);
	g_autofree gchar *vcek = ac_snp_cert_to_pem (self->vcek);
	g_autofree gchar *ini = NULL;
	g_autoptr (AcSecret) vcek_key = NULL;

	/* never write keys where others can reach them */
	if (!snp_fw_make_dir (dir, error) || !snp_fw_make_dir (ca_dir, error)
	    || !ac_snp_soft_ca_save (self->ca, ca_dir, error)
	    || !ac_file_replace_contents_in (dir, "vcek.pem", 0644, vcek, strlen (vcek), error))
		return FALSE;
	vcek_key = ac_sev_private_key_to_pem (self->vcek_key);
	if (vcek_key == NULL)
		return ac_sev_openssl_error (error, AC_ERROR_INTERNAL, "encoding the VCEK key");
	if (!ac_file_replace_contents_in (dir, "vcek.key", 0600, vcek_key->data, vcek_key->len,
	                                  error))
		return FALSE;

	g_key_file_set_string (kf, SNP_FW_GROUP, "product",
	                       ac_snp_product_to_string (self->product));
	g_key_file_set_string (kf, SNP_FW_GROUP, "chip_id", chip);
	g_key_file_set_integer (kf, SNP_FW_GROUP, "fmc", self->tcb.fmc);
	g_key_file_set_integer (kf, SNP_FW_GROUP, "bootloader", self->tcb.bootloader);
	g_key_file_set_integer (kf, SNP_FW_GROUP, "tee", self->tcb.tee);
	g_key_file_set_integer (kf, SNP_FW_GROUP, "snp", self->tcb.snp);
	g_key_file_set_integer (kf, SNP_FW_GROUP, "microcode", self->tcb.microcode);
	g_key_file_set_boolean (kf, SNP_FW_GROUP, "ask_revoked", self->ask_revoked);
	ini = g_key_file_to_data (kf, NULL, NULL);
	return ac_file_replace_contents_in (dir, SNP_FW_STATE, 0644, ini, strlen (ini), error);
}

/* an integer 0..255, written by us in decimal */
static gboolean
snp_fw_state_u8 (GKeyFile *kf, const gchar *path, const gchar *key, guint8 *out, GError **error)
{
	g_autofree gchar *v = g_key_file_get_string (kf, SNP_FW_GROUP, key, NULL);
	guint64 n = 0;

	if (v == NULL || !g_ascii_string_to_unsigned (v, 10, 0, 255, &n, NULL)) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "%s: [%s] %s is '%s', expected 0 to 255", path, SNP_FW_GROUP, key,
		             v != NULL ? v : "(missing)");
		return FALSE;
	}
	*out = (guint8)n;
	return TRUE;
}

/* firmware.ini: every key known and present, each value in its range */
static gboolean
snp_fw_read_state (AcSnpFirmware *self, const gchar *dir, GError **error)
{
	g_autofree gchar *path = g_build_filename (dir, SNP_FW_STATE, NULL);
	g_autoptr (GKeyFile) kf = g_key_file_new ();
	g_autoptr (GError) error_local = NULL;
	g_autofree gchar *data = NULL;
	g_autofree gchar *product = NULL;
	g_autofree gchar *chip = NULL;
	g_autofree gchar *revoked = NULL;
	gsize len = 0;

	if (!snp_fw_check_path (path, FALSE, FALSE, error)
	    || !ac_file_read_bounded (path, SNP_FW_STATE_MAX, &data, &len, error))
		return FALSE;
	if (!g_key_file_load_from_data (kf, data, len, G_KEY_FILE_NONE, &error_local)) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT, "%s: %s", path,
		             error_local->message);
		return FALSE;
	}
	if (!ac_key_file_check (kf, path, snp_fw_state_keys, error))
		return FALSE;
	for (guint i = 0; snp_fw_state_keys[i].group != NULL; i++) {
		if (!g_key_file_has_key (kf, SNP_FW_GROUP, snp_fw_state_keys[i].key, NULL)) {
			g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			             "%s: [%s] %s is missing, expected %s", path, SNP_FW_GROUP,
			             snp_fw_state_keys[i].key, snp_fw_state_keys[i].expected);
			return FALSE;
		}
	}
	product = g_key_file_get_string (kf, SNP_FW_GROUP, "product", NULL);
	if (!ac_snp_product_from_string (product, "[firmware] product", &self->product, error)) {
		g_prefix_error (error, "%s: ", path);
		return FALSE;
	}
	chip = g_key_file_get_string (kf, SNP_FW_GROUP, "chip_id", NULL);
	if (!ac_codec_hex_decode_fixed ("[firmware] chip_id", chip, AC_CODEC_HEX_LOWER,
	                                self->chip_id, AC_SNP_CHIP_ID_SIZE, error)) {
		g_prefix_error (error, "%s: ", path);
		return FALSE;
	}
	if (!snp_fw_state_u8 (kf, path, "fmc", &self->tcb.fmc, error)
	    || !snp_fw_state_u8 (kf, path, "bootloader", &self->tcb.bootloader, error)
	    || !snp_fw_state_u8 (kf, path, "tee", &self->tcb.tee, error)
	    || !snp_fw_state_u8 (kf, path, "snp", &self->tcb.snp, error)
	    || !snp_fw_state_u8 (kf, path, "microcode", &self->tcb.microcode, error))
		return FALSE;
	if (self->product != AC_SNP_PRODUCT_TURIN && self->tcb.fmc != 0) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "%s: [firmware] fmc is %u, expected 0 (%s has no FMC)", path,
		             self->tcb.fmc, ac_snp_product_to_string (self->product));
		return FALSE;
	}
	revoked = g_key_file_get_string (kf, SNP_FW_GROUP, "ask_revoked", NULL);
	if (g_strcmp0 (revoked, "true") != 0 && g_strcmp0 (revoked, "false") != 0) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "%s: [firmware] ask_revoked is '%s', expected true or false", path,
		             revoked);
		return FALSE;
	}
	self->ask_revoked = g_strcmp0 (revoked, "true") == 0;
	return TRUE;
}

/* vcek.pem: issued by the CA for this chip and TCB; vcek.key: its key */
static gboolean
snp_fw_read_vcek (AcSnpFirmware *self, const gchar *dir, GError **error)
{
	g_autofree gchar *cert_path = g_build_filename (dir, "vcek.pem", NULL);
	g_autofree gchar *key_path = g_build_filename (dir, "vcek.key", NULL);
	g_autoptr (AcSnpRoots) roots = ac_snp_roots_new ();
	g_autoptr (GBytes) cert = NULL;
	g_autofree gchar *key = NULL;
	AcSnpChainExpect expect = { 0 };
	gsize len = 0;

	if (!snp_fw_check_path (cert_path, FALSE, FALSE, error)
	    || (cert = ac_file_read_bytes (cert_path, AC_SNP_CERT_MAX, error)) == NULL)
		return FALSE;
	self->vcek = ac_snp_cert_parse (g_bytes_get_data (cert, NULL), g_bytes_get_size (cert),
	                                cert_path, error);
	if (self->vcek == NULL)
		return FALSE;
	expect.product = self->product;
	expect.chip_id = self->chip_id;
	expect.chip_id_len = AC_SNP_CHIP_ID_SIZE;
	expect.has_tcb = TRUE;
	expect.tcb = self->tcb;
	if (!ac_snp_roots_add_trusted (roots, self->product, ac_snp_firmware_get_ark (self), error)
	    || !ac_snp_chain_verify (roots, self->vcek, ac_snp_firmware_get_ask (self),
	                             ac_snp_firmware_get_ark (self), &expect, NULL, NULL, NULL,
	                             error)) {
		g_prefix_error (error, "software SNP firmware state %s: ", cert_path);
		return FALSE;
	}
	if (!snp_fw_check_path (key_path, FALSE, TRUE, error)
	    || !ac_file_read_bounded (key_path, AC_SNP_CERT_MAX, &key, &len, error))
		return FALSE;
	self->vcek_key = ac_sev_private_key_from_pem (key, len);
	OPENSSL_cleanse (key, len);
	ERR_clear_error ();
	if (self->vcek_key == NULL
	    || EVP_PKEY_eq (self->vcek_key, ac_snp_cert_get_public_key (self->vcek)) != 1) {
		ERR_clear_error ();
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "software SNP firmware state %s: not the private key of %s", key_path,
		             cert_path);
		return FALSE;
	}
	return TRUE;
}

AcSnpFirmware *
ac_snp_firmware_load (const gchar *dir, GError **error)
{
	g_autoptr (AcSnpFirmware) self = g_new0 (AcSnpFirmware, 1);
	g_autofree gchar *ca_dir = g_build_filename (dir, "ca", NULL);
	static const gchar *const ca_files[] = { "ark.pem", "ask.pem", "ark.key", "ask.key" };

	if (!snp_fw_check_path (dir, TRUE, FALSE, error) || !snp_fw_read_state (self, dir, error))
		return NULL;
	if (!snp_fw_check_path (ca_dir, TRUE, FALSE, error))
		return NULL;
	for (guint i = 0; i < G_N_ELEMENTS (ca_files); i++) {
		g_autofree gchar *path = g_build_filename (ca_dir, ca_files[i], NULL);
		if (!snp_fw_check_path (path, FALSE, g_str_has_suffix (ca_files[i], ".key"), error))
			return NULL;
	}
	self->ca = ac_snp_soft_ca_load (ca_dir, error);
	if (self->ca == NULL)
		return NULL;
	if (ac_snp_soft_ca_get_product (self->ca) != self->product
	    || ac_snp_cert_get_role (ac_snp_soft_ca_get_intermediate (self->ca))
	           != AC_SNP_CERT_ASK) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "software SNP firmware state %s: the CA is '%s' ← '%s', expected the "
		             "ARK and ASK of %s",
		             ca_dir, ac_snp_cert_get_common_name (ac_snp_firmware_get_ark (self)),
		             ac_snp_cert_get_common_name (ac_snp_firmware_get_ask (self)),
		             ac_snp_product_to_string (self->product));
		return NULL;
	}
	if (!snp_fw_read_vcek (self, dir, error))
		return NULL;
	return g_steal_pointer (&self);
}
