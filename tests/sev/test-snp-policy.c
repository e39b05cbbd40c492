/*
 * SEV-SNP guest policy (parse, names, explain) and the verifier's policy: every rule with the
 * two real Milan reports and with modified copies of them (the rules read parsed fields; the
 * signature is test-snp-report's concern).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include <json-glib/json-glib.h>

#include "ac-error.h"
#include "ac-snp-policy.h"
#include "test-snp-common.h"

#define VIRTEE "virtee-sev-milan/report_milan.bin"
#define GOSEV "go-sev-guest-milan/attestation.bin"

static guint8 *
load_raw (const gchar *rel)
{
	g_autoptr (GBytes) b = snp_test_load (rel, NULL);
	g_assert_cmpuint (g_bytes_get_size (b), ==, AC_SNP_REPORT_SIZE);
	return g_memdup2 (g_bytes_get_data (b, NULL), AC_SNP_REPORT_SIZE);
}

static void
parse_raw (const guint8 *raw, AcSnpReport *r)
{
	g_autoptr (GError) error = NULL;
	g_assert_true (ac_snp_report_parse (raw, AC_SNP_REPORT_SIZE, r, &error));
	g_assert_no_error (error);
}

static void
load_report (const gchar *rel, AcSnpReport *r)
{
	g_autofree guint8 *raw = load_raw (rel);
	parse_raw (raw, r);
}

static void
put32 (guint8 *p, guint32 v)
{
	for (guint i = 0; i < 4; i++)
		p[i] = (guint8)(v >> (8 * i));
}

static void
put64 (guint8 *p, guint64 v)
{
	for (guint i = 0; i < 8; i++)
		p[i] = (guint8)(v >> (8 * i));
}

/* the virtee report with @n bytes at @off replaced */
static void
modified (gsize off, const guint8 *bytes, gsize n, AcSnpReport *r)
{
	g_autofree guint8 *raw = load_raw (VIRTEE);
	memcpy (raw + off, bytes, n);
	parse_raw (raw, r);
}

/* Milan, with the floor lowered to the real reports' own TCB, so that one rule at a time can be
 * tested */
static void
permissive (AcSnpVerifyPolicy *p, const AcSnpTcb *floor)
{
	ac_snp_verify_policy_init (p);
	p->product = AC_SNP_PRODUCT_MILAN;
	p->have_min_tcb = TRUE;
	p->allow_tcb_below_default = TRUE;
	p->min_tcb = *floor;
}

static const AcSnpTcb virtee_tcb = { .bootloader = 3, .tee = 0, .snp = 8, .microcode = 115 };
static const AcSnpTcb gosev_tcb = { .bootloader = 2, .tee = 0, .snp = 5, .microcode = 68 };

static void
assert_refused (const AcSnpVerifyPolicy *p, const AcSnpReport *r, const gchar *needle)
{
	g_autoptr (GError) error = NULL;
	g_assert_false (ac_snp_verify_policy_check (p, r, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_REFUSED);
	g_test_message ("%s", error->message);
	g_assert_nonnull (strstr (error->message, needle));
}

static void
assert_accepted (const AcSnpVerifyPolicy *p, const AcSnpReport *r)
{
	g_autoptr (GError) error = NULL;
	g_assert_true (ac_snp_verify_policy_check (p, r, &error));
	g_assert_no_error (error);
}

/* ---- guest policy ---- */

static void
test_parse (void)
{
	static const struct {
		const gchar *text;
		guint64 value;
	} good[] = {
		{ "0x30000", 0x30000 },
		{ "196608", 0x30000 },
		{ "smt", 0x30000 },
		{ "SMT, debug", 0xb0000 },
		{ "none", 0x20000 },
		{ "abi=1.51,smt", 0x30133 },
		{ "single-socket,migrate-ma", 0x160000 },
		{ "cxl-allow,mem-aes-256-xts,rapl-dis,ciphertext-hiding,page-swap-disable",
		  0x3e20000 },
		{ "0x3ff0000", 0x3ff0000 },
	};
	static const struct {
		const gchar *text;
		const gchar *needle;
	} bad[] = {
		{ "0x10000", "bit 17" },
		{ "65536", "bit 17" },
		{ "0x4030000", "63:26" },
		{ "0x8000000000030000", "63:26" },
		{ "frobnicate", "frobnicate" },
		{ "", "empty" },
		{ "abi=256.0", "abi=256.0" },
		{ "abi=1.2,abi=1.3", "abi=1.3" },
		{ "abi=1", "abi=1" },
		{ "0x", "0x" },
		{ "18446744073709551616", "64-bit" },
		{ "smt,,debug", "''" },
	};

	for (guint i = 0; i < G_N_ELEMENTS (good); i++) {
		g_autoptr (GError) error = NULL;
		g_autofree gchar *names = NULL;
		guint64 v = 0, back = 0;
		g_assert_true (ac_snp_policy_parse (good[i].text, &v, &error));
		g_assert_no_error (error);
		g_assert_cmphex (v, ==, good[i].value);
		/* the names form parses back to the same value */
		names = ac_snp_policy_to_names (v);
		g_assert_true (ac_snp_policy_parse (names, &back, &error));
		g_assert_cmphex (back, ==, v);
	}
	for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
		g_autoptr (GError) error = NULL;
		guint64 v = 42;
		g_assert_false (ac_snp_policy_parse (bad[i].text, &v, &error));
		g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
		g_test_message ("%s", error->message);
		g_assert_nonnull (strstr (error->message, bad[i].needle));
		g_assert_cmpuint (v, ==, 42);
	}
}

static void
test_names_explain (void)
{
	g_autofree gchar *a = ac_snp_policy_to_names (0x30000);
	g_autofree gchar *b = ac_snp_policy_to_names (0xb0000);
	g_autofree gchar *c = ac_snp_policy_to_names (0x10000);
	g_autofree gchar *e = ac_snp_policy_explain (0xb0133);
	g_autofree gchar *f = ac_snp_policy_explain (0x30000);
	static const gchar *const labels[]
	    = { "ABI_MINOR",     "ABI_MAJOR",         "SMT",
		"RESERVED_MBO",  "MIGRATE_MA",        "DEBUG",
		"SINGLE_SOCKET", "CXL_ALLOW",         "MEM_AES_256_XTS",
		"RAPL_DIS",      "CIPHERTEXT_HIDING", "PAGE_SWAP_DISABLE",
		"63:26" };

	g_assert_cmpstr (a, ==, "smt");
	g_assert_cmpstr (b, ==, "smt,debug");
	g_assert_nonnull (strstr (c, "INVALID"));
	for (guint i = 0; i < G_N_ELEMENTS (labels); i++)
		g_assert_nonnull (strstr (e, labels[i]));
	g_assert_nonnull (strstr (e, "policy 0xb0133"));
	g_assert_nonnull (strstr (e, "DEBUG ALLOWED"));
	g_assert_nonnull (strstr (e, "ABI 1.51"));
	g_assert_null (strstr (f, "DEBUG ALLOWED"));
	g_assert_nonnull (strstr (f, "debugging is forbidden"));
}

static void
test_validate (void)
{
	g_autoptr (GError) error = NULL;
	g_assert_true (ac_snp_policy_validate (AC_SNP_POLICY_DEFAULT, &error));
	g_assert_false (ac_snp_policy_validate (0, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
}

/* ---- TCB floors ---- */

static void
test_floors (void)
{
	g_autoptr (GError) error = NULL;
	AcSnpVerifyPolicy p;
	AcSnpTcb t, want;

	g_assert_true (ac_snp_verify_policy_builtin_floor (AC_SNP_PRODUCT_MILAN, -1, &t));
	want = (AcSnpTcb){ .bootloader = 4, .snp = 22, .microcode = 213 };
	g_assert_true (ac_snp_tcb_equal (&t, &want));
	g_assert_true (ac_snp_verify_policy_builtin_floor (AC_SNP_PRODUCT_GENOA, 0x11, &t));
	want = (AcSnpTcb){ .bootloader = 9, .snp = 21, .microcode = 84 };
	g_assert_true (ac_snp_tcb_equal (&t, &want));
	g_assert_true (ac_snp_verify_policy_builtin_floor (AC_SNP_PRODUCT_GENOA, -1, &t));
	g_assert_true (ac_snp_tcb_equal (&t, &want));
	g_assert_true (ac_snp_verify_policy_builtin_floor (AC_SNP_PRODUCT_GENOA, 0xa0, &t));
	g_assert_cmpuint (t.microcode, ==, 28);
	g_assert_true (ac_snp_verify_policy_builtin_floor (AC_SNP_PRODUCT_TURIN, -1, &t));
	want = (AcSnpTcb){ .fmc = 3, .bootloader = 4, .snp = 8, .microcode = 12 };
	g_assert_true (ac_snp_tcb_equal (&t, &want));
	g_assert_false (ac_snp_verify_policy_builtin_floor (AC_SNP_PRODUCT_UNKNOWN, -1, &t));

	/* configuration raises the floor component by component... */
	ac_snp_verify_policy_init (&p);
	p.have_min_tcb = TRUE;
	p.min_tcb = (AcSnpTcb){ .bootloader = 5, .snp = 1, .microcode = 0 };
	g_assert_true (ac_snp_verify_policy_effective_floor (&p, AC_SNP_PRODUCT_MILAN, -1, &t));
	want = (AcSnpTcb){ .bootloader = 5, .snp = 22, .microcode = 213 };
	g_assert_true (ac_snp_tcb_equal (&t, &want));
	/* ...and lowers it only with the explicit flag */
	p.allow_tcb_below_default = TRUE;
	g_assert_true (ac_snp_verify_policy_effective_floor (&p, AC_SNP_PRODUCT_MILAN, -1, &t));
	g_assert_true (ac_snp_tcb_equal (&t, &p.min_tcb));

	g_assert_true (ac_snp_verify_policy_parse_tcb ("bl=4,tee=0,snp=22,ucode=213", "--min-tcb",
	                                               &t, &error));
	want = (AcSnpTcb){ .bootloader = 4, .snp = 22, .microcode = 213 };
	g_assert_true (ac_snp_tcb_equal (&t, &want));
	g_assert_true (ac_snp_verify_policy_parse_tcb ("fmc=3 bl=4 tee=0 snp=8 ucode=12",
	                                               "--min-tcb", &t, &error));
	g_assert_cmpuint (t.fmc, ==, 3);
	g_assert_no_error (error);
	{
		static const gchar *const bad[]
		    = { "bl=256", "bl=1,bl=2", "x=1", "", "bl", "bl=-1", "ucode=0x10" };
		for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
			g_assert_false (
			    ac_snp_verify_policy_parse_tcb (bad[i], "--min-tcb", &t, &error));
			g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
			g_assert_nonnull (strstr (error->message, "--min-tcb"));
			g_clear_error (&error);
		}
	}
}

/* the real reports are below Aleph's Milan floor: every failing component, as the independent
 * verifier lists them (expected_reports.json) */
static void
test_real_tcb_floor (void)
{
	static const struct {
		const gchar *name, *file;
	} reports[] = { { "virtee-sev-milan", VIRTEE }, { "go-sev-guest-milan", GOSEV } };
	g_autoptr (JsonParser) parser = json_parser_new ();
	g_autoptr (GError) error = NULL;
	JsonObject *root = snp_test_json (parser, "expected_reports.json", NULL);

	for (guint i = 0; i < G_N_ELEMENTS (reports); i++) {
		JsonObject *e = json_object_get_object_member (
		    json_object_get_object_member (root, reports[i].name), "aleph_tcb_floor");
		JsonArray *failures = json_object_get_array_member (e, "failures");
		g_autoptr (GString) list = g_string_new (NULL);
		AcSnpVerifyPolicy p;
		AcSnpReport r;

		g_assert_false (json_object_get_boolean_member (e, "passes"));
		for (guint j = 0; j < json_array_get_length (failures); j++)
			g_string_append_printf (list, "%s%s", j ? ", " : "",
			                        json_array_get_string_element (failures, j));
		load_report (reports[i].file, &r);
		ac_snp_verify_policy_init (&p);
		p.product = AC_SNP_PRODUCT_MILAN;
		p.allow_debug = TRUE; /* the go-sev-guest report is a DEBUG guest */
		assert_refused (&p, &r, list->str);
		assert_refused (&p, &r, "Milan floor bl=4 tee=0 snp=22 ucode=213 (built-in)");
		/* a configured floor below the built-in one changes nothing without the flag */
		p.have_min_tcb = TRUE;
		p.min_tcb = i == 0 ? virtee_tcb : gosev_tcb;
		assert_refused (&p, &r, list->str);
		/* with it, the report's own TCB is enough... */
		p.allow_tcb_below_default = TRUE;
		assert_accepted (&p, &r);
		/* ...and one component above it is not, on all four TCB versions */
		p.min_tcb.snp++;
		{
			g_autofree gchar *want = g_strdup_printf (
			    "launch_tcb.snp=%u < %u, reported_tcb.snp=%u < %u, current_tcb.snp=%u "
			    "< "
			    "%u, committed_tcb.snp=%u < %u",
			    p.min_tcb.snp - 1, p.min_tcb.snp, p.min_tcb.snp - 1, p.min_tcb.snp,
			    p.min_tcb.snp - 1, p.min_tcb.snp, p.min_tcb.snp - 1, p.min_tcb.snp);
			assert_refused (&p, &r, want);
		}
	}
}

static void
test_product (void)
{
	AcSnpVerifyPolicy p;
	AcSnpReport r;
	guint8 v3[4];

	/* version 2: the product must be configured */
	load_report (VIRTEE, &r);
	permissive (&p, &virtee_tcb);
	p.product = AC_SNP_PRODUCT_UNKNOWN;
	assert_refused (&p, &r, "product is unknown");
	/* version 3 Genoa (CPUID family 0x19 model 0x11) against a Milan configuration */
	{
		g_autofree guint8 *raw = load_raw (VIRTEE);
		put32 (v3, 3);
		memcpy (raw, v3, 4);
		raw[0x188] = 0x19;
		raw[0x189] = 0x11;
		parse_raw (raw, &r);
		permissive (&p, &virtee_tcb);
		assert_refused (&p, &r, "is Genoa, expected Milan");
		p.product = AC_SNP_PRODUCT_GENOA;
		assert_accepted (&p, &r);
		/* the product comes from the report when not configured */
		p.product = AC_SNP_PRODUCT_UNKNOWN;
		assert_accepted (&p, &r);
		/* Genoa's built-in floor, and its Zen 4c variant (ucode 28, models 0xA0-0xAF) */
		ac_snp_verify_policy_init (&p);
		assert_refused (&p, &r, "Genoa floor bl=9 tee=0 snp=21 ucode=84");
		raw[0x189] = 0xa0;
		parse_raw (raw, &r);
		assert_refused (&p, &r, "Genoa floor bl=9 tee=0 snp=21 ucode=28");
	}
}

static void
test_turin_fmc (void)
{
	g_autoptr (GError) error = NULL;
	AcSnpTcb low = { .fmc = 2, .bootloader = 4, .tee = 0, .snp = 8, .microcode = 12 };
	AcSnpVerifyPolicy p;
	AcSnpReport b;

	memset (&b, 0, sizeof b);
	b.version = 3;
	b.policy = 0x30000;
	b.signature_algo = 1;
	b.cpuid_fam_id = 0x1a;
	b.cpuid_mod_id = 0x02;
	b.chip_id[0] = 0x1e;
	for (guint k = 0; k < AC_SNP_TCB_N_KINDS; k++)
		b.tcb[k] = ac_snp_tcb_encode (&low, AC_SNP_PRODUCT_TURIN);
	g_assert_true (ac_snp_report_build (&b, &error));
	g_assert_no_error (error);
	ac_snp_verify_policy_init (&p);
	assert_refused (&p, &b, "launch_tcb.fmc=2 < 3");
	assert_refused (&p, &b, "Turin floor fmc=3 bl=4 tee=0 snp=8 ucode=12");
	b.tcb[AC_SNP_TCB_LAUNCH] = b.tcb[AC_SNP_TCB_REPORTED] = b.tcb[AC_SNP_TCB_CURRENT]
	    = b.tcb[AC_SNP_TCB_COMMITTED] = ac_snp_tcb_encode (
	        &(AcSnpTcb){ .fmc = 3, .bootloader = 4, .snp = 8, .microcode = 12 },
	        AC_SNP_PRODUCT_TURIN);
	g_assert_true (ac_snp_report_build (&b, &error));
	assert_accepted (&p, &b);
}

static void
test_debug_and_expected_policy (void)
{
	AcSnpVerifyPolicy p;
	AcSnpReport r;

	/* go-sev-guest's report is a DEBUG guest: refused by default */
	load_report (GOSEV, &r);
	permissive (&p, &gosev_tcb);
	assert_refused (&p, &r, "POLICY 0xb0000 sets DEBUG (bit 19)");
	p.allow_debug = TRUE;
	assert_accepted (&p, &r);
	/* the policy pin */
	p.have_expected_policy = TRUE;
	p.expected_policy = 0x30000;
	assert_refused (&p, &r, "POLICY is 0xb0000, expected 0x30000");

	load_report (VIRTEE, &r);
	permissive (&p, &virtee_tcb);
	p.have_expected_policy = TRUE;
	p.expected_policy = 0x30000;
	assert_accepted (&p, &r);
	p.expected_policy = 0x20000;
	assert_refused (&p, &r, "POLICY is 0x30000, expected 0x20000");
}

static void
test_policy_bits (void)
{
	AcSnpVerifyPolicy p;
	AcSnpReport r;
	guint8 pol[8];

	permissive (&p, &virtee_tcb);
	/* migration agent */
	put64 (pol, 0x70000);
	modified (0x008, pol, 8, &r);
	assert_refused (&p, &r, "MIGRATE_MA (bit 18)");
	p.allow_migrate_ma = TRUE;
	assert_accepted (&p, &r);

	/* single socket, when required */
	load_report (VIRTEE, &r);
	permissive (&p, &virtee_tcb);
	assert_accepted (&p, &r);
	p.require_single_socket = TRUE;
	assert_refused (&p, &r, "POLICY 0x30000 does not set SINGLE_SOCKET (bit 20)");
	put64 (pol, 0x130000);
	modified (0x008, pol, 8, &r);
	assert_accepted (&p, &r);

	/* SMT, when forbidden */
	load_report (VIRTEE, &r);
	permissive (&p, &virtee_tcb);
	p.require_no_smt = TRUE;
	assert_refused (&p, &r, "POLICY 0x30000 sets SMT (bit 16)");
	put64 (pol, 0x20000);
	modified (0x008, pol, 8, &r);
	assert_accepted (&p, &r);
}

static void
test_vmpl (void)
{
	AcSnpVerifyPolicy p;
	AcSnpReport r;
	guint8 v[4];

	permissive (&p, &virtee_tcb);
	put32 (v, 1); /* what Aleph's agent requests */
	modified (0x030, v, 4, &r);
	assert_accepted (&p, &r);
	put32 (v, 2);
	modified (0x030, v, 4, &r);
	assert_refused (&p, &r, "VMPL is 2, expected at most 1");
	p.vmpl_max = 2;
	assert_accepted (&p, &r);
	p.vmpl_max = 0;
	load_report (VIRTEE, &r);
	assert_accepted (&p, &r);
	put32 (v, 1);
	modified (0x030, v, 4, &r);
	assert_refused (&p, &r, "VMPL is 1, expected at most 0");
}

static void
test_abi (void)
{
	AcSnpVerifyPolicy p;
	AcSnpReport r;
	guint8 old = 49;

	load_report (VIRTEE, &r); /* firmware 1.52.4 */
	permissive (&p, &virtee_tcb);
	p.min_abi_major = 1;
	p.min_abi_minor = 52;
	assert_accepted (&p, &r);
	p.min_abi_minor = 53;
	assert_refused (&p, &r, "CURRENT firmware is 1.52.4, expected at least ABI 1.53");
	p.min_abi_major = 2;
	p.min_abi_minor = 0;
	assert_refused (&p, &r, "expected at least ABI 2.0");
	/* the committed version counts too */
	p.min_abi_major = 1;
	p.min_abi_minor = 50;
	modified (0x1ed, &old, 1, &r);
	assert_refused (&p, &r, "COMMITTED firmware is 1.49.");
}

static void
test_platform_info (void)
{
	AcSnpVerifyPolicy p;
	AcSnpReport r;
	guint8 pi[8];

	load_report (VIRTEE, &r); /* PLATFORM_INFO 0x1: SMT_EN */
	permissive (&p, &virtee_tcb);
	p.platform_required = AC_SNP_PLATFORM_ALIAS_CHECK_COMPLETE;
	assert_refused (&p, &r, "PLATFORM_INFO 0x1 lacks ALIAS_CHECK_COMPLETE");
	put64 (pi, 0x25);
	modified (0x040, pi, 8, &r);
	assert_accepted (&p, &r);
	p.platform_forbidden = AC_SNP_PLATFORM_SMT_EN;
	assert_refused (&p, &r, "PLATFORM_INFO 0x25 sets SMT_EN, which is forbidden");
	g_assert_cmpuint (ac_snp_platform_info_from_name ("alias-check-complete"), ==,
	                  AC_SNP_PLATFORM_ALIAS_CHECK_COMPLETE);
	g_assert_cmpuint (ac_snp_platform_info_from_name ("nope"), ==, 0);
}

static void
test_signer_and_chip_id (void)
{
	AcSnpVerifyPolicy p;
	AcSnpReport r;
	guint8 ki[4];
	guint8 zero[64] = { 0 };

	permissive (&p, &virtee_tcb);
	put32 (ki, 1u << 2); /* VLEK */
	modified (0x048, ki, 4, &r);
	assert_refused (&p, &r, "SIGNING_KEY is VLEK, expected VCEK");
	p.allow_vlek = TRUE;
	assert_accepted (&p, &r);
	put32 (ki, 7u << 2); /* not signed */
	modified (0x048, ki, 4, &r);
	assert_refused (&p, &r, "not signed");

	permissive (&p, &virtee_tcb);
	modified (0x1a0, zero, 64, &r);
	assert_refused (&p, &r, "CHIP_ID is all zero");
}

int
main (int argc, char **argv)
{
	g_test_init (&argc, &argv, NULL);
	g_test_add_func ("/snp/policy/parse", test_parse);
	g_test_add_func ("/snp/policy/names-explain", test_names_explain);
	g_test_add_func ("/snp/policy/validate", test_validate);
	g_test_add_func ("/snp/verify-policy/floors", test_floors);
	g_test_add_func ("/snp/verify-policy/real-tcb-floor", test_real_tcb_floor);
	g_test_add_func ("/snp/verify-policy/product", test_product);
	g_test_add_func ("/snp/verify-policy/turin-fmc", test_turin_fmc);
	g_test_add_func ("/snp/verify-policy/debug-expected-policy",
	                 test_debug_and_expected_policy);
	g_test_add_func ("/snp/verify-policy/policy-bits", test_policy_bits);
	g_test_add_func ("/snp/verify-policy/vmpl", test_vmpl);
	g_test_add_func ("/snp/verify-policy/abi", test_abi);
	g_test_add_func ("/snp/verify-policy/platform-info", test_platform_info);
	g_test_add_func ("/snp/verify-policy/signer-chip-id", test_signer_and_chip_id);
	return g_test_run ();
}
