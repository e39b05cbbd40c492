/*
 * Helpers shared by the SEV-SNP test programs of every layer (header-only; tests/aleph and
 * tests/localsev include it as "../sev/test-snp-common.h"): the vectors of tests/data/snp (and
 * sev-snp-measure's cases: their command lines and the launch digests it printed), a
 * guest's launch inputs (the AmdSev OVMF fixture, a kernel, an initrd) with the launch digest
 * the owner computes on its side, a software SEV-SNP chip and the roots that trust it, the
 * owner's launch against it, and a boot of a guest as its agent shows it (an RA-TLS key and a
 * certificate carrying a report).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "ac-codec.h"
#include "ac-snp-chain.h"
#include "ac-snp-firmware.h"
#include "ac-snp-measure.h"
#include "ac-snp-owner.h"
#include "ac-snp-policy.h"
#include "ac-snp-ratls.h"
#include "ac-snp-report.h"
#include "../test-util.h"

/* tests/data/snp/@dir/@name (@name may be NULL, @dir may hold slashes) */
static inline GBytes *
snp_test_load (const gchar *dir, const gchar *name)
{
	g_autofree gchar *path
	    = g_test_build_filename (G_TEST_DIST, "data", "snp", dir, name, NULL);
	g_autoptr (GError) error = NULL;
	gchar *data = NULL;
	gsize len = 0;

	g_assert_true (g_file_get_contents (path, &data, &len, &error));
	g_assert_no_error (error);
	return g_bytes_new_take (data, len);
}

/* the root object of the JSON file tests/data/snp/@dir/@name, read by @parser (which keeps
 * it); the test fails without it */
static inline JsonObject *
snp_test_json (JsonParser *parser, const gchar *dir, const gchar *name)
{
	g_autoptr (GBytes) b = snp_test_load (dir, name);
	g_autoptr (GError) error = NULL;

	g_assert_true (json_parser_load_from_data (parser, g_bytes_get_data (b, NULL),
	                                           (gssize)g_bytes_get_size (b), &error));
	g_assert_no_error (error);
	return json_node_get_object (json_parser_get_root (parser));
}

static inline AcSnpCert *
snp_test_cert (const gchar *dir, const gchar *name)
{
	g_autoptr (GBytes) b = snp_test_load (dir, name);
	g_autoptr (GError) error = NULL;
	AcSnpCert *c
	    = ac_snp_cert_parse (g_bytes_get_data (b, NULL), g_bytes_get_size (b), name, &error);
	g_assert_no_error (error);
	g_assert_nonnull (c);
	return c;
}

/* the launch digest sev-snp-measure printed for case @name ("C6") of
 * tests/data/snp/sev-snp-measure/cases_output.txt; the test fails without it */
static inline void
snp_test_vector_digest (const gchar *name, guint8 out[AC_SNP_MEASUREMENT_SIZE])
{
	static const gchar prefix[] = "  sev-snp-measure: ";
	g_autoptr (GBytes) b = snp_test_load ("sev-snp-measure", "cases_output.txt");
	g_autofree gchar *text = g_strndup (g_bytes_get_data (b, NULL), g_bytes_get_size (b));
	g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
	gboolean in_case = FALSE;

	for (guint i = 0; lines[i] != NULL; i++) {
		const gchar *l = lines[i];

		if (l[0] == 'C')
			in_case = g_str_has_prefix (l, name) && l[strlen (name)] == ' ';
		if (in_case && g_str_has_prefix (l, prefix)) {
			g_autoptr (GError) error = NULL;

			g_assert_true (ac_codec_hex_decode_fixed (name, l + strlen (prefix),
			                                          AC_CODEC_HEX_LOWER, out,
			                                          AC_SNP_MEASUREMENT_SIZE, &error));
			g_assert_no_error (error);
			return;
		}
	}
	g_error ("case %s not in cases_output.txt", name);
}

/* a case of sev-snp-measure's cases_output.txt: its name ("C6"), sev-snp-measure's command line
 * and what it printed */
typedef struct {
	gchar *name;
	gchar **argv;
	gchar *expected;
} SnpTestCase;

static inline void
snp_test_case_free (gpointer p)
{
	SnpTestCase *c = p;

	g_free (c->name);
	g_strfreev (c->argv);
	g_free (c->expected);
	g_free (c);
}

/* every case of tests/data/snp/sev-snp-measure/cases_output.txt, in the file's order (of
 * SnpTestCase); each command line runs sev-snp-measure */
static inline GPtrArray *
snp_test_cases_load (void)
{
	g_autoptr (GBytes) b = snp_test_load ("sev-snp-measure", "cases_output.txt");
	g_autofree gchar *text = g_strndup (g_bytes_get_data (b, NULL), g_bytes_get_size (b));
	g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
	g_autoptr (GError) error = NULL;
	GPtrArray *cases = g_ptr_array_new_with_free_func (snp_test_case_free);
	SnpTestCase *cur = NULL;

	for (guint i = 0; lines[i] != NULL; i++) {
		const gchar *l = lines[i];

		if (l[0] == 'C' && g_ascii_isdigit (l[1])) {
			cur = g_new0 (SnpTestCase, 1);
			cur->name = g_strndup (l, strcspn (l, " "));
			g_ptr_array_add (cases, cur);
		} else if (cur != NULL && g_str_has_prefix (l, "  cmd: ")) {
			g_assert_true (g_shell_parse_argv (l + 7, NULL, &cur->argv, &error));
			g_assert_cmpstr (cur->argv[0], ==, "sev-snp-measure");
		} else if (cur != NULL && g_str_has_prefix (l, "  sev-snp-measure: ")) {
			cur->expected = g_strstrip (g_strdup (l + 19));
		}
	}
	return cases;
}

/* the case @name of @cases (snp_test_cases_load()); the test fails without it */
static inline const SnpTestCase *
snp_test_case_find (const GPtrArray *cases, const gchar *name)
{
	for (guint i = 0; i < cases->len; i++) {
		const SnpTestCase *c = g_ptr_array_index ((GPtrArray *)cases, i);

		if (strcmp (c->name, name) == 0)
			return c;
	}
	g_error ("no case %s", name);
}

/* a guest booted with kernel hashes: the inputs point into the struct's own bytes */
typedef struct {
	GBytes *ovmf, *kernel, *initrd;
	AcSnpLaunchInputs inputs;
	guint8 measurement[AC_SNP_MEASUREMENT_SIZE]; /* what the owner computes */
} SnpTestGuest;

static inline void
snp_test_guest_init (SnpTestGuest *g, const gchar *cmdline, guint vcpus, const gchar *vcpu_type)
{
	g_autoptr (GError) error = NULL;

	g->ovmf = snp_test_load ("sev-snp-measure", "fixtures/ovmf_AmdSev_suffix.bin");
	g->kernel = snp_test_load ("sev-snp-measure", "inputs/kernel.bin");
	g->initrd = snp_test_load ("sev-snp-measure", "inputs/initrd.bin");
	memset (&g->inputs, 0, sizeof g->inputs);
	g->inputs.firmware = g->ovmf;
	g->inputs.kernel = g->kernel;
	g->inputs.initrd = g->initrd;
	g->inputs.cmdline = cmdline;
	g->inputs.vcpus = vcpus;
	g_assert_true (ac_snp_vcpu_sig_from_type (vcpu_type, &g->inputs.vcpu_sig, &error));
	g->inputs.guest_features = AC_SNP_GUEST_FEATURES_DEFAULT;
	g_assert_true (ac_snp_launch_digest (&g->inputs, g->measurement, &error));
	g_assert_no_error (error);
}

static inline void
snp_test_guest_clear (SnpTestGuest *g)
{
	g_clear_pointer (&g->ovmf, g_bytes_unref);
	g_clear_pointer (&g->kernel, g_bytes_unref);
	g_clear_pointer (&g->initrd, g_bytes_unref);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (SnpTestGuest, snp_test_guest_clear)

/* removes the CAs snp_test_firmware_new saved, at the program's exit */
static gchar *snp_test_ca_dirs[AC_SNP_PRODUCT_TURIN + 1];

static inline void
snp_test_ca_dirs_remove (void)
{
	for (guint i = 0; i < G_N_ELEMENTS (snp_test_ca_dirs); i++) {
		if (snp_test_ca_dirs[i] == NULL)
			continue;
		test_util_rm_rf (snp_test_ca_dirs[i]);
		g_clear_pointer (&snp_test_ca_dirs[i], g_free);
	}
}

/* the built-in TCB floor of @product for the CPUID model of the tests' chips (Milan 0x01,
 * Genoa 0x11, Turin 0x02) */
static inline void
snp_test_tcb_floor (AcSnpProduct product, AcSnpTcb *tcb)
{
	gint model = product == AC_SNP_PRODUCT_GENOA   ? 0x11
	             : product == AC_SNP_PRODUCT_TURIN ? 0x02
	                                               : 0x01;

	g_assert_true (ac_snp_verify_policy_builtin_floor (product, model, tcb));
}

/*
 * A software SNP firmware (its own chip and VCEK) of @product at @tcb — NULL: the floor plus
 * one in the bootloader, microcode and SNP components, a platform up to date — under the CA of
 * @product made once per test program: a CA is two RSA-4096 key generations, which dominated
 * the suites' time when every fixture made its own. Each firmware gets a fresh copy loaded
 * from disk. With @roots, *@roots are new roots that trust its ARK (and nothing else).
 */
static inline AcSnpFirmware *
snp_test_firmware_new (AcSnpProduct product, const AcSnpTcb *tcb, AcSnpRoots **roots)
{
	g_autoptr (GError) error = NULL;
	AcSnpSoftCa *ca;
	AcSnpFirmware *fw;
	AcSnpTcb up_to_date;

	g_assert_true (product > AC_SNP_PRODUCT_UNKNOWN && product <= AC_SNP_PRODUCT_TURIN);
	if (tcb == NULL) {
		snp_test_tcb_floor (product, &up_to_date);
		up_to_date.bootloader++, up_to_date.microcode++, up_to_date.snp++;
		tcb = &up_to_date;
	}
	if (snp_test_ca_dirs[product] == NULL) {
		gboolean first = TRUE;

		for (guint i = 0; i < G_N_ELEMENTS (snp_test_ca_dirs); i++)
			first = first && snp_test_ca_dirs[i] == NULL;
		ca = ac_snp_soft_ca_new (product, FALSE, &error);
		g_assert_no_error (error);
		snp_test_ca_dirs[product] = test_util_mkdtemp ("snp-test-ca-XXXXXX");
		g_assert_true (ac_snp_soft_ca_save (ca, snp_test_ca_dirs[product], &error));
		g_assert_no_error (error);
		ac_snp_soft_ca_free (ca);
		if (first)
			atexit (snp_test_ca_dirs_remove);
	}
	ca = ac_snp_soft_ca_load (snp_test_ca_dirs[product], &error);
	g_assert_no_error (error);
	fw = ac_snp_firmware_new_with_ca (ca, tcb, &error);
	g_assert_no_error (error);
	g_assert_nonnull (fw);
	if (roots != NULL) {
		*roots = ac_snp_roots_new ();
		g_assert_true (ac_snp_roots_add_trusted (*roots, product,
		                                         ac_snp_firmware_get_ark (fw), &error));
		g_assert_no_error (error);
	}
	return fw;
}

/* the certificates of @fw's chip (VCEK, ASK, ARK; borrowed) as its host serves them */
static inline AcSnpCertSource
snp_test_cert_source (AcSnpFirmware *fw)
{
	AcSnpCertSource certs = { .leaf = ac_snp_firmware_get_vcek (fw),
		                  .intermediate = ac_snp_firmware_get_ask (fw),
		                  .ark = ac_snp_firmware_get_ark (fw) };
	return certs;
}

/* the owner's launch of a guest of launch digest @measurement with the default policy, on
 * @fw's chip (its certificates, trusting @roots), sealing with @sign and @sign_data */
static inline AcSnpOwnerLaunch *
snp_test_owner_launch (AcSnpFirmware *fw,
                       AcSnpRoots *roots,
                       const guint8 measurement[AC_SNP_MEASUREMENT_SIZE],
                       AcSnpInjectSignFunc sign,
                       gpointer sign_data)
{
	g_autoptr (GError) error = NULL;
	AcSnpCertSource certs = snp_test_cert_source (fw);
	AcSnpVerifyExpect e = { 0 };
	AcSnpOwnerLaunch *l;

	ac_snp_verify_policy_init (&e.policy);
	e.policy.have_expected_policy = TRUE;
	e.policy.expected_policy = AC_SNP_POLICY_DEFAULT;
	e.measurements = (const guint8 (*)[AC_SNP_MEASUREMENT_SIZE])measurement;
	e.n_measurements = 1;
	l = ac_snp_owner_launch_new (roots, &certs, &e, sign, sign_data, &error);
	g_assert_no_error (error);
	g_assert_nonnull (l);
	return l;
}

/* one boot of a guest as its agent shows it: the firmware's guest, a fresh RA-TLS key (and its
 * raw public key), the certificate carrying a report bound to that key */
typedef struct {
	AcSnpGuest *guest;
	EVP_PKEY *key;
	guint8 pk_raw[AC_SNP_RATLS_PK_RAW_SIZE];
	GBytes *cert;
} SnpTestBoot;

/* @fw launches a guest of @inputs with @policy into @b (cleared), whose agent makes its key
 * and certificate */
static inline void
snp_test_boot (SnpTestBoot *b, AcSnpFirmware *fw, const AcSnpLaunchInputs *inputs, guint64 policy)
{
	g_autoptr (GError) error = NULL;
	g_autoptr (GBytes) report = NULL;
	guint8 rd[AC_SNP_REPORT_DATA_SIZE];

	b->guest = ac_snp_firmware_launch (fw, inputs, policy, NULL, &error);
	g_assert_no_error (error);
	b->key = ac_snp_ratls_key_generate (&error);
	g_assert_no_error (error);
	g_assert_true (ac_snp_ratls_pk_raw_from_key (b->key, b->pk_raw, &error));
	g_assert_true (ac_snp_ratls_key_binding (b->pk_raw, sizeof b->pk_raw, rd, &error));
	report = ac_snp_guest_get_report (b->guest, rd, 1, &error);
	g_assert_no_error (error);
	b->cert = ac_snp_ratls_cert_build (b->key, g_bytes_get_data (report, NULL),
	                                   g_bytes_get_size (report), &error);
	g_assert_no_error (error);
}

static inline void
snp_test_boot_clear (SnpTestBoot *b)
{
	g_clear_pointer (&b->guest, ac_snp_guest_free);
	g_clear_pointer (&b->key, EVP_PKEY_free);
	g_clear_pointer (&b->cert, g_bytes_unref);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (SnpTestBoot, snp_test_boot_clear)
