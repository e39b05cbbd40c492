/*
 * What tests of the local flow in different executables share: the SEV domain of
 * tests/data/localsev, an error's class and what it names, the passphrase an SEV guest was given,
 * the SEV-SNP local runtime made of the vectors in tests/data/snp, and a software SEV-SNP chip that
 * boots a domain. Header-only.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>
#include <openssl/evp.h>
#include <string.h>

#include "ac-domain.h"
#include "ac-error.h"
#include "ac-sev-host-fake.h"
#include "ac-sev-secret.h"
#include "ac-snp-chain.h"
#include "ac-snp-firmware.h"
#include "ac-snp-measure.h"
#include "ac-snp-policy.h"
#include "ac-snp-ratls.h"
#include "ac-snp-report.h"
#include "../test-util.h"

/* tests/data/localsev/domain.xml.in for the tag's @policy, the firmware @firmware of SHA-256
 * @sha256, the disk @disk and @vcpus vCPUs */
static inline gchar *
test_localsev_domain_xml (const gchar *policy,
                          const gchar *sha256,
                          const gchar *firmware,
                          const gchar *disk,
                          guint vcpus)
{
	g_autofree gchar *path
	    = g_test_build_filename (G_TEST_DIST, "data", "localsev", "domain.xml.in", NULL);
	g_autofree gchar *tmpl = test_util_read (path, NULL);
	g_autoptr (GString) s = g_string_new (tmpl);
	g_autofree gchar *vcpu_str = g_strdup_printf ("%u", vcpus);

	g_string_replace (s, "@POLICY@", policy, 0);
	g_string_replace (s, "@SHA256@", sha256, 0);
	g_string_replace (s, "@FIRMWARE@", firmware, 0);
	g_string_replace (s, "@DISK@", disk, 0);
	g_string_replace (s, "@VCPUS@", vcpu_str, 0);
	return g_string_free (g_steal_pointer (&s), FALSE);
}

/* @error is AC_ERROR's @code and its message names @names; the test fails saying both otherwise */
static inline void
test_localsev_assert_error (const GError *error, gint code, const gchar *names)
{
	g_assert_nonnull (error);
	if (error->domain != AC_ERROR || error->code != code
	    || strstr (error->message, names) == NULL)
		g_error ("expected %s naming '%s', got %s: %s", ac_error_code_to_string (code),
		         names,
		         error->domain == AC_ERROR ? ac_error_code_to_string (error->code) : "?",
		         error->message);
}

/* the secret @fake injected into the guest @uuid is a table of one entry, the disk password:
 * the @len bytes of @passphrase and a NUL, which GRUB requires (Aleph's format) */
static inline void
test_localsev_check_injected (AcSevHostFake *fake,
                              const gchar *uuid,
                              gconstpointer passphrase,
                              gsize len)
{
	g_autoptr (GBytes) secret = ac_sev_host_fake_get_secret (fake, uuid);
	g_autoptr (AcSevSecretTable) table = NULL;
	g_autoptr (GBytes) pw = NULL;
	g_autoptr (GError) error = NULL;
	const guint8 *data;

	g_assert_nonnull (secret);
	table = ac_sev_secret_table_parse (g_bytes_get_data (secret, NULL),
	                                   g_bytes_get_size (secret), &error);
	g_assert_no_error (error);
	g_assert_cmpuint (ac_sev_secret_table_get_size (table), ==, 1);
	pw = ac_sev_secret_table_lookup (table, AC_SEV_SECRET_GUID_DISK_PASSWORD);
	g_assert_nonnull (pw);
	data = g_bytes_get_data (pw, NULL);
	g_assert_cmpuint (g_bytes_get_size (pw), ==, len + 1);
	g_assert_cmpmem (data, len, passphrase, len);
	g_assert_cmpuint (data[len], ==, 0);
}

/* tests/data/snp's runtime in @dir, as `tar -xzf bundle.tar.gz -C DIR` leaves it (its manifest,
 * OVMF, kernel and initrd); returns the manifest's SHA-256 (hex), which a tag pins */
static inline gchar *
test_localsev_snp_runtime (const gchar *dir)
{
	static const struct {
		const gchar *from; /* below tests/data/snp */
		const gchar *to;   /* below @dir */
	} files[] = {
		{ "aleph-runtime/manifest.json", "manifest.json" },
		{ "sev-snp-measure/fixtures/ovmf_AmdSev_suffix.bin", "ovmf/OVMF.fd" },
		{ "sev-snp-measure/inputs/kernel.bin", "boot/vmlinuz" },
		{ "sev-snp-measure/inputs/initrd.bin", "boot/initrd.img" },
	};
	g_autofree gchar *manifest = g_build_filename (dir, "manifest.json", NULL);
	g_autofree gchar *text = NULL;
	gsize len = 0;

	for (gsize i = 0; i < G_N_ELEMENTS (files); i++) {
		g_autofree gchar *from
		    = g_test_build_filename (G_TEST_DIST, "data", "snp", files[i].from, NULL);
		test_util_copy_to (from, dir, files[i].to);
	}
	text = test_util_read (manifest, &len);
	return g_compute_checksum_for_data (G_CHECKSUM_SHA256, (const guchar *)text, len);
}

/* a software SEV-SNP chip (Milan) with a TCB above AMD's floor, and in *@roots roots that trust
 * its ARK; making its ARK and ASK takes seconds */
static inline AcSnpFirmware *
test_localsev_snp_chip (AcSnpRoots **roots)
{
	g_autoptr (GError) error = NULL;
	AcSnpFirmware *fw;
	AcSnpTcb tcb;

	g_assert_true (ac_snp_verify_policy_builtin_floor (AC_SNP_PRODUCT_MILAN, 1, &tcb));
	tcb.bootloader++, tcb.microcode++, tcb.snp++;
	fw = ac_snp_firmware_new (AC_SNP_PRODUCT_MILAN, &tcb, &error);
	g_assert_no_error (error);
	*roots = ac_snp_roots_new ();
	g_assert_true (ac_snp_roots_add_trusted (*roots, AC_SNP_PRODUCT_MILAN,
	                                         ac_snp_firmware_get_ark (fw), &error));
	return fw;
}

/* the chip @fw launches @dom from the files, command line, vCPU count and CPU model it names,
 * with @policy; the guest's agent gets a fresh RA-TLS key (*@key, @pk_raw its raw public key)
 * and a certificate carrying a report bound to it (*@cert) */
static inline AcSnpGuest *
test_localsev_snp_boot (AcSnpFirmware *fw,
                        const AcDomain *dom,
                        guint64 policy,
                        EVP_PKEY **key,
                        guint8 pk_raw[AC_SNP_RATLS_PK_RAW_SIZE],
                        GBytes **cert)
{
	g_autoptr (GError) error = NULL;
	g_autoptr (GBytes) ovmf = test_util_read_bytes (dom->loader);
	g_autoptr (GBytes) kernel = test_util_read_bytes (dom->os_kernel);
	g_autoptr (GBytes) initrd = test_util_read_bytes (dom->os_initrd);
	g_autoptr (GBytes) report = NULL;
	AcSnpLaunchInputs in = { 0 };
	AcSnpGuest *guest;
	guint8 rd[AC_SNP_REPORT_DATA_SIZE];

	in.firmware = ovmf;
	in.kernel = kernel;
	in.initrd = initrd;
	in.cmdline = dom->os_cmdline;
	in.vcpus = MAX (dom->vcpus, 1);
	g_assert_true (ac_snp_vcpu_sig_from_type (dom->cpu_model, &in.vcpu_sig, &error));
	in.guest_features = AC_SNP_GUEST_FEATURES_DEFAULT;
	guest = ac_snp_firmware_launch (fw, &in, policy, NULL, &error);
	g_assert_no_error (error);
	*key = ac_snp_ratls_key_generate (&error);
	g_assert_no_error (error);
	g_assert_true (ac_snp_ratls_pk_raw_from_key (*key, pk_raw, &error));
	g_assert_true (ac_snp_ratls_key_binding (pk_raw, AC_SNP_RATLS_PK_RAW_SIZE, rd, &error));
	report = ac_snp_guest_get_report (guest, rd, 1, &error);
	g_assert_no_error (error);
	*cert = ac_snp_ratls_cert_build (*key, g_bytes_get_data (report, NULL),
	                                 g_bytes_get_size (report), &error);
	g_assert_no_error (error);
	return guest;
}
