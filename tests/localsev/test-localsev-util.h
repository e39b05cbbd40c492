/*
 * What tests of the local flow in different executables share: the SEV domain of
 * tests/data/localsev, an error's class and what it names, the passphrase an SEV guest was given,
 * the SEV-SNP local runtime made of the vectors in tests/data/snp, and a domain booted by a
 * software SEV-SNP chip (the chip, its roots and the boot: ../sev/test-snp-common.h). Header-only.
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
#include "../sev/test-snp-common.h"
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

/* the chip @fw (snp_test_firmware_new()) launches @dom from the files, command line, vCPU count
 * and CPU model it names, with @policy, into @b: the guest's agent gets a fresh RA-TLS key and a
 * certificate carrying a report bound to it */
static inline void
test_localsev_snp_boot (SnpTestBoot *b, AcSnpFirmware *fw, const AcDomain *dom, guint64 policy)
{
	g_autoptr (GError) error = NULL;
	g_autoptr (GBytes) ovmf = test_util_read_bytes (dom->loader);
	g_autoptr (GBytes) kernel = test_util_read_bytes (dom->os_kernel);
	g_autoptr (GBytes) initrd = test_util_read_bytes (dom->os_initrd);
	AcSnpLaunchInputs in = { 0 };

	in.firmware = ovmf;
	in.kernel = kernel;
	in.initrd = initrd;
	in.cmdline = dom->os_cmdline;
	in.vcpus = MAX (dom->vcpus, 1);
	g_assert_true (ac_snp_vcpu_sig_from_type (dom->cpu_model, &in.vcpu_sig, &error));
	in.guest_features = AC_SNP_GUEST_FEATURES_DEFAULT;
	snp_test_boot (b, fw, &in, policy);
}
