/*
 * SEV-SNP launch digest: every case of tests/data/snp/sev-snp-measure/cases_output.txt (the
 * command line of sev-snp-measure 0.0.13 and its output), the VMSA dumps and the page trace of
 * case C6, and hostile OVMF images.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "ac-error.h"
#include "ac-sev-guid.h"
#include "ac-snp-measure.h"
#include "test-sev-common.h"
#include "test-snp-common.h"

static gchar *
snp_path (const gchar *rel)
{
	/* the Debian OVMF of the full-size case: the path meson passes (the ovmf package) */
	if (g_strcmp0 (rel, "/usr/share/ovmf/OVMF.fd") == 0) {
		const gchar *p = g_getenv ("SNP_DEBIAN_OVMF");
		g_assert_nonnull (p);
		return g_strdup (p);
	}
	return g_test_build_filename (G_TEST_DIST, "data", "snp", "sev-snp-measure", rel, NULL);
}

static GBytes *
snp_load (const gchar *rel)
{
	g_autofree gchar *path = NULL;
	g_autoptr (GError) error = NULL;
	gchar *buf = NULL;
	gsize len = 0;

	if (g_strcmp0 (rel, "/dev/null") == 0)
		return g_bytes_new (NULL, 0);
	path = snp_path (rel);
	/* a missing file (the Debian OVMF too) fails the test: never a skip */
	if (!g_file_get_contents (path, &buf, &len, &error))
		g_error ("%s", error->message);
	return g_bytes_new_take (buf, len);
}

/* ---- the cases of cases_output.txt ---- */

typedef struct {
	AcSnpLaunchInputs in;
	gboolean ovmf_hash_mode;
	GBytes *fw, *kernel, *initrd;
	gchar *cmdline;
} SnpArgs;

static void
snp_args_clear (SnpArgs *a)
{
	g_clear_pointer (&a->fw, g_bytes_unref);
	g_clear_pointer (&a->kernel, g_bytes_unref);
	g_clear_pointer (&a->initrd, g_bytes_unref);
	g_clear_pointer (&a->cmdline, g_free);
}

static guint64
snp_uint (const gchar *s)
{
	gchar *end = NULL;
	guint64 v = g_ascii_strtoull (s, &end, 0);
	g_assert_true (end != NULL && *end == '\0' && end != s);
	return v;
}

/* sev-snp-measure's options to the library's inputs (its defaults: QEMU, features 0x1) */
static void
snp_args_parse (gchar **argv, SnpArgs *a)
{
	g_autoptr (GError) error = NULL;

	memset (a, 0, sizeof (*a));
	a->in.guest_features = AC_SNP_GUEST_FEATURES_DEFAULT;
	a->in.vmm_type = AC_SNP_VMM_QEMU;
	for (guint i = 1; argv[i] != NULL; i += 2) {
		const gchar *o = argv[i], *v = argv[i + 1];
		g_assert_nonnull (v);
		if (strcmp (o, "--mode") == 0) {
			g_assert_true (strcmp (v, "snp") == 0 || strcmp (v, "snp:ovmf-hash") == 0);
			a->ovmf_hash_mode = strcmp (v, "snp:ovmf-hash") == 0;
		} else if (strcmp (o, "--vmm-type") == 0) {
			g_assert_true (ac_snp_vmm_type_from_string (v, &a->in.vmm_type, &error));
		} else if (strcmp (o, "--vcpus") == 0) {
			a->in.vcpus = (guint)snp_uint (v);
		} else if (strcmp (o, "--vcpu-type") == 0) {
			g_assert_true (ac_snp_vcpu_sig_from_type (v, &a->in.vcpu_sig, &error));
		} else if (strcmp (o, "--vcpu-sig") == 0) {
			a->in.vcpu_sig = (guint32)snp_uint (v);
		} else if (strcmp (o, "--ovmf") == 0) {
			a->fw = snp_load (v);
		} else if (strcmp (o, "--kernel") == 0) {
			a->kernel = snp_load (v);
		} else if (strcmp (o, "--initrd") == 0) {
			a->initrd = snp_load (v);
		} else if (strcmp (o, "--append") == 0) {
			a->cmdline = g_strdup (v);
		} else if (strcmp (o, "--guest-features") == 0) {
			a->in.guest_features = snp_uint (v);
		} else {
			g_error ("option %s of the vectors is not handled", o);
		}
	}
	a->in.firmware = a->fw;
	a->in.kernel = a->kernel;
	a->in.initrd = a->initrd;
	a->in.cmdline = a->cmdline;
}

static void
test_vector_case (gconstpointer data)
{
	const SnpTestCase *c = data;
	g_autoptr (GError) error = NULL;
	g_autofree gchar *hex = NULL;
	guint8 ld[AC_SNP_LD_SIZE];
	SnpArgs a;

	snp_args_parse (c->argv, &a);
	if (a.ovmf_hash_mode)
		g_assert_true (ac_snp_ovmf_hash (a.fw, ld, &error));
	else
		g_assert_true (ac_snp_launch_digest (&a.in, ld, &error));
	g_assert_no_error (error);
	hex = sev_test_hex (ld, sizeof (ld));
	g_assert_cmpstr (hex, ==, c->expected);
	snp_args_clear (&a);
}

static void
test_vector_count (gconstpointer data)
{
	const GPtrArray *cases = data;
	/* every case of the file is run (a parse that lost some would be a silent gap) */
	g_assert_cmpuint (cases->len, ==, 15);
	for (guint i = 0; i < cases->len; i++) {
		const SnpTestCase *c = g_ptr_array_index ((GPtrArray *)cases, i);
		g_assert_nonnull (c->argv);
		g_assert_cmpuint (strlen (c->expected), ==, 96);
	}
}

/* ---- C6: VMSA dumps and the page trace ---- */

static void
test_vmsa_c6 (gconstpointer data)
{
	const SnpTestCase *c6 = snp_test_case_find (data, "C6");
	g_autoptr (GError) error = NULL;
	g_autoptr (AcSnpOvmf) ovmf = NULL;
	SnpArgs a;

	snp_args_parse (c6->argv, &a);
	ovmf = ac_snp_ovmf_parse (a.fw, &error);
	g_assert_no_error (error);
	for (guint i = 0; i < 2; i++) {
		g_autofree gchar *rel = g_strdup_printf ("vmsa_C6/vmsa%u.bin", i);
		g_autoptr (GBytes) want = snp_load (rel);
		guint8 page[AC_SEV_VMSA_SIZE];

		ac_snp_vmsa_build (i == 0, ac_snp_ovmf_get_ap_eip (ovmf), a.in.vcpu_sig,
		                   a.in.guest_features, page);
		g_assert_cmpuint (g_bytes_get_size (want), ==, sizeof (page));
		g_assert_cmpmem (page, sizeof (page), g_bytes_get_data (want, NULL), sizeof (page));
	}
	snp_args_clear (&a);
}

typedef struct {
	GArray *pages; /* SnpTracePage */
} SnpTrace;

typedef struct {
	AcSnpStage stage;
	guint index;
	AcSnpSectionType section_type;
	guint64 gpa;
	AcSnpPageType type;
	guint8 contents[AC_SNP_LD_SIZE];
	guint8 ld[AC_SNP_LD_SIZE];
} SnpTracePage;

static void
snp_trace_cb (const AcSnpPageTrace *p, gpointer user_data)
{
	SnpTrace *t = user_data;
	SnpTracePage r = {
		.stage = p->stage,
		.index = p->index,
		.section_type = p->section_type,
		.gpa = p->gpa,
		.type = p->type,
	};
	memcpy (r.contents, p->contents, AC_SNP_LD_SIZE);
	memcpy (r.ld, p->ld, AC_SNP_LD_SIZE);
	g_array_append_val (t->pages, r);
}

static void
test_trace_c6 (gconstpointer data)
{
	const SnpTestCase *c6 = snp_test_case_find (data, "C6");
	g_autoptr (GError) error = NULL;
	g_autoptr (AcSnpOvmf) ovmf = NULL;
	g_autoptr (GBytes) tb = snp_load ("trace_C6.txt");
	g_autofree gchar *text = g_strndup (g_bytes_get_data (tb, NULL), g_bytes_get_size (tb));
	g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
	g_autoptr (GPtrArray) after = g_ptr_array_new_with_free_func (g_free);
	g_autoptr (GPtrArray) sect = g_ptr_array_new_with_free_func (g_free);
	SnpTrace t = { g_array_new (FALSE, TRUE, sizeof (SnpTracePage)) };
	guint8 ld[AC_SNP_LD_SIZE], prev[AC_SNP_LD_SIZE] = { 0 };
	const AcSnpSection *sections;
	guint n = 0, groups = 0;
	guint32 hgpa = 0;
	SnpArgs a;

	/* the trace: the digest after each step, the sections, the parameters, the table */
	for (guint i = 0; lines[i] != NULL; i++) {
		gchar *l = lines[i];
		if (g_str_has_prefix (l, "  after ")) {
			gchar *sp = strrchr (g_strchomp (l), ' ');
			g_ptr_array_add (after, g_strdup (sp + 1));
		} else if (g_str_has_prefix (l, "  section ")) {
			g_ptr_array_add (sect, g_strdup (l + 2));
		}
	}
	g_assert_cmpuint (after->len, ==, 10);
	snp_args_parse (c6->argv, &a);
	ovmf = ac_snp_ovmf_parse (a.fw, &error);
	g_assert_no_error (error);
	sections = ac_snp_ovmf_get_sections (ovmf, &n);
	g_assert_cmpuint (n, ==, sect->len);
	for (guint i = 0; i < n; i++) {
		g_autofree gchar *s
		    = g_strdup_printf ("section gpa=0x%x size=0x%x type=0x%x", sections[i].gpa,
		                       sections[i].size, sections[i].type);
		g_assert_cmpstr (s, ==, g_ptr_array_index (sect, i));
	}
	{
		g_autofree gchar *params = g_strdup_printf (
		    "vcpu_sig=0x%x ovmf_gpa=0x%" G_GINT64_MODIFIER "x ap_eip=0x%x", a.in.vcpu_sig,
		    ac_snp_ovmf_get_gpa (ovmf), ac_snp_ovmf_get_ap_eip (ovmf));
		g_assert_true (g_strv_contains ((const gchar *const *)lines, params));
	}
	/* the kernel hashes table written into the SNP_KERNEL_HASHES page */
	g_assert_true (ac_snp_ovmf_get_hashes_table_gpa (ovmf, &hgpa));
	{
		guint8 table[AC_SEV_KERNEL_HASHES_TABLE_SIZE];
		g_autofree gchar *h = NULL, *line = NULL;
		g_assert_true (ac_sev_kernel_hashes_table (
		    g_bytes_get_data (a.kernel, NULL), g_bytes_get_size (a.kernel),
		    g_bytes_get_data (a.initrd, NULL), g_bytes_get_size (a.initrd), a.cmdline,
		    table, &error));
		h = sev_test_hex (table, sizeof (table));
		line = g_strdup_printf ("  hashes_table=%s", h);
		g_assert_true (g_strv_contains ((const gchar *const *)lines, line));
	}

	a.in.trace = snp_trace_cb;
	a.in.trace_data = &t;
	g_assert_true (ac_snp_launch_digest (&a.in, ld, &error));
	g_assert_no_error (error);
	/* 1 firmware page, 9 + 3 + 1 + 1 + 1 + 1 + 15 section pages, 2 VMSAs */
	g_assert_cmpuint (t.pages->len, ==, 34);
	for (guint i = 0; i < t.pages->len; i++) {
		SnpTracePage *p = &g_array_index (t.pages, SnpTracePage, i);
		SnpTracePage *next = i + 1 < t.pages->len ? p + 1 : NULL;
		guint8 re[AC_SNP_LD_SIZE];
		/* each page's contribution chains: LD = SHA-384(PAGE_INFO(previous LD, page)) */
		ac_snp_page_info_digest (prev, p->type, p->gpa, p->contents, re);
		g_assert_cmpmem (re, sizeof (re), p->ld, sizeof (p->ld));
		memcpy (prev, p->ld, sizeof (prev));
		if (p->stage == AC_SNP_STAGE_VMSA) {
			g_assert_cmpuint (p->type, ==, AC_SNP_PAGE_VMSA);
			g_assert_cmpuint (p->gpa, ==, AC_SNP_VMSA_GPA);
		}
		if (p->stage == AC_SNP_STAGE_SECTION) {
			g_assert_cmpuint (p->section_type, ==, sections[p->index].type);
			g_assert_cmpuint (p->gpa, >=, sections[p->index].gpa);
			g_assert_cmpuint (
			    p->gpa, <, (guint64)sections[p->index].gpa + sections[p->index].size);
		}
		/* the last page of a step: the digest the trace prints after it */
		if (next == NULL || next->stage != p->stage || next->index != p->index) {
			g_autofree gchar *h = sev_test_hex (p->ld, sizeof (p->ld));
			g_assert_cmpuint (groups, <, after->len);
			g_assert_cmpstr (h, ==, g_ptr_array_index (after, groups));
			groups++;
		}
	}
	g_assert_cmpuint (groups, ==, after->len);
	g_assert_cmpmem (ld, sizeof (ld), prev, sizeof (prev));
	{
		g_autofree gchar *h = sev_test_hex (ld, sizeof (ld));
		g_assert_cmpstr (h, ==, c6->expected);
	}
	g_array_unref (t.pages);
	snp_args_clear (&a);
}

/* the precomputed firmware digest (--snp-ovmf-hash) replaces the firmware pages */
static void
test_ovmf_hash_seed (gconstpointer data)
{
	const SnpTestCase *c6 = snp_test_case_find (data, "C6");
	const SnpTestCase *c0 = snp_test_case_find (data, "C0");
	g_autoptr (GError) error = NULL;
	guint8 h[AC_SNP_LD_SIZE], ld[AC_SNP_LD_SIZE];
	g_autofree gchar *hex = NULL;
	SnpArgs a;

	snp_args_parse (c6->argv, &a);
	g_assert_true (ac_snp_ovmf_hash (a.fw, h, &error));
	hex = sev_test_hex (h, sizeof (h));
	g_assert_cmpstr (hex, ==, c0->expected);
	a.in.ovmf_hash = h;
	g_assert_true (ac_snp_launch_digest (&a.in, ld, &error));
	g_clear_pointer (&hex, g_free);
	hex = sev_test_hex (ld, sizeof (ld));
	g_assert_cmpstr (hex, ==, c6->expected);
	/* another seed, another digest */
	h[0] ^= 1;
	g_assert_true (ac_snp_launch_digest (&a.in, ld, &error));
	g_clear_pointer (&hex, g_free);
	hex = sev_test_hex (ld, sizeof (ld));
	g_assert_cmpstr (hex, !=, c6->expected);
	snp_args_clear (&a);
}

/* @x's digest with @kernel and @initrd hashed beside the firmware pages (each large one in a
 * thread) equals the digest with them hashed after (what a precomputed firmware digest does) */
static void
large_kernel_check (SnpArgs *x, GBytes *kernel, GBytes *initrd, guint8 out[AC_SNP_LD_SIZE])
{
	g_autoptr (GError) error = NULL;
	guint8 seed[AC_SNP_LD_SIZE], b[AC_SNP_LD_SIZE];

	x->in.kernel = kernel;
	x->in.initrd = initrd;
	x->in.ovmf_hash = NULL;
	g_assert_true (ac_snp_launch_digest (&x->in, out, &error));
	g_assert_no_error (error);
	g_assert_true (ac_snp_ovmf_hash (x->fw, seed, &error));
	x->in.ovmf_hash = seed;
	g_assert_true (ac_snp_launch_digest (&x->in, b, &error));
	x->in.ovmf_hash = NULL;
	g_assert_cmpmem (out, AC_SNP_LD_SIZE, b, sizeof (b));
}

/* a kernel and initrd large enough to be hashed beside the firmware pages (in a thread): the
 * same digest as hashed after them (what a precomputed firmware digest does) */
static void
test_large_kernel (gconstpointer data)
{
	const SnpTestCase *c6 = snp_test_case_find (data, "C6");
	g_autoptr (GError) error = NULL;
	g_autoptr (GBytes) big = NULL, big_initrd = NULL;
	guint8 seed[AC_SNP_LD_SIZE], a[AC_SNP_LD_SIZE], b[AC_SNP_LD_SIZE], c[AC_SNP_LD_SIZE];
	guint8 *k = g_malloc (3 << 20);
	SnpArgs x;

	for (gsize i = 0; i < (3 << 20); i++)
		k[i] = (guint8)(i * 2654435761u >> 24);
	big = g_bytes_new_take (k, 3 << 20);
	big_initrd = g_bytes_new_from_bytes (big, 1, 2 << 20);
	snp_args_parse (c6->argv, &x);
	large_kernel_check (&x, big, big_initrd, a);
	/* one of them large, the other small or none: one thread */
	large_kernel_check (&x, big, x.initrd, b);
	g_assert_cmpint (memcmp (a, b, sizeof (a)), !=, 0);
	large_kernel_check (&x, big, NULL, seed);
	g_assert_cmpint (memcmp (b, seed, sizeof (b)), !=, 0);
	large_kernel_check (&x, x.kernel, big_initrd, b);
	g_assert_cmpint (memcmp (a, b, sizeof (a)), !=, 0);
	/* and it is not C6's: the kernel is hashed */
	x.in.kernel = x.kernel;
	x.in.initrd = x.initrd;
	g_assert_true (ac_snp_launch_digest (&x.in, c, &error));
	g_assert_cmpint (memcmp (a, c, sizeof (a)), !=, 0);
	snp_args_clear (&x);
}

/* ---- vCPU types, features, VMM types ---- */

static void
test_vcpu (void)
{
	g_autoptr (GError) error = NULL;
	guint32 sig = 0, sig2 = 0;

	g_assert_true (ac_snp_vcpu_sig_from_type ("EPYC-v4", &sig, &error));
	g_assert_cmphex (sig, ==, 0x800f12);
	g_assert_true (ac_snp_vcpu_sig_from_fms (23, 1, 2, &sig2, &error));
	g_assert_cmphex (sig2, ==, sig);
	g_assert_true (ac_snp_vcpu_sig_from_type ("EPYC-Rome", &sig, &error));
	g_assert_cmphex (sig, ==, 0x830f10);
	g_assert_true (ac_snp_vcpu_sig_from_type ("EPYC-Milan-v2", &sig, &error));
	g_assert_cmphex (sig, ==, 0xa00f11);
	g_assert_true (ac_snp_vcpu_sig_from_type ("EPYC-Genoa", &sig, &error));
	g_assert_cmphex (sig, ==, 0xa10f10);
	g_assert_true (ac_snp_vcpu_sig_from_type ("EPYC-Turin", &sig, &error));
	g_assert_cmphex (sig, ==, 0xb00f00);
	g_assert_cmpuint (g_strv_length ((gchar **)ac_snp_vcpu_types ()), ==, 17);

	g_assert_false (ac_snp_vcpu_sig_from_type ("epyc-v4", &sig, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
	g_assert_nonnull (strstr (error->message, "EPYC-Genoa"));
	g_clear_error (&error);
	g_assert_false (ac_snp_vcpu_sig_from_fms (23, 256, 2, &sig, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
	g_clear_error (&error);
	g_assert_false (ac_snp_vcpu_sig_from_fms (23, 1, 16, &sig, &error));
	g_clear_error (&error);
	g_assert_false (ac_snp_vcpu_sig_from_fms (0x10f, 1, 1, &sig, &error));
	g_clear_error (&error);

	g_assert_true (ac_snp_guest_features_check (0x1, &error));
	g_assert_true (ac_snp_guest_features_check (0x21, &error));
	g_assert_false (ac_snp_guest_features_check (0x20, &error)); /* no SNPActive */
	g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
	g_clear_error (&error);
	g_assert_false (ac_snp_guest_features_check (0x801, &error)); /* bit 11 undefined */
	g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
	g_clear_error (&error);
	g_assert_false (
	    ac_snp_guest_features_check (G_GUINT64_CONSTANT (0x8000000000000001), &error));
	g_clear_error (&error);

	{
		AcSnpVmmType v = 1;
		g_assert_true (ac_snp_vmm_type_from_string ("QEMU", &v, &error));
		g_assert_cmpint (v, ==, AC_SNP_VMM_QEMU);
		g_assert_false (ac_snp_vmm_type_from_string ("ec2", &v, &error));
		g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
		g_assert_nonnull (strstr (error->message, "not supported"));
		g_clear_error (&error);
		g_assert_false (ac_snp_vmm_type_from_string ("xen", &v, &error));
		g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
	}
}

/* ---- hostile OVMF images ---- */

/* where the data of footer entry @guid starts in @fw (the entry: data ‖ u16 len ‖ GUID) */
static gsize
snp_entry_data (const guint8 *fw, gsize len, const gchar *guid, gsize data_len)
{
	guint8 g[16];
	g_assert_true (ac_sev_guid_from_string (guid, g, NULL));
	for (gsize i = len - 48; i > 18 + data_len; i--) {
		if (memcmp (fw + i, g, 16) == 0)
			return i - 2 - data_len;
	}
	g_error ("no entry %s", guid);
}

static guint8 *
snp_fixture (gsize *len)
{
	g_autoptr (GBytes) b = snp_load ("fixtures/ovmf_AmdSev_suffix.bin");
	*len = g_bytes_get_size (b);
	return g_memdup2 (g_bytes_get_data (b, NULL), *len);
}

static void
snp_put32 (guint8 *p, guint32 v)
{
	p[0] = v & 0xff;
	p[1] = (v >> 8) & 0xff;
	p[2] = (v >> 16) & 0xff;
	p[3] = (v >> 24) & 0xff;
}

static guint32
snp_get32 (const guint8 *p)
{
	return p[0] | (p[1] << 8) | (p[2] << 16) | ((guint32)p[3] << 24);
}

typedef enum {
	T_NO_FOOTER,
	T_TABLE_LEN,
	T_DUP_GUID,
	T_NO_METADATA,
	T_META_OFFSET,
	T_META_SMALL_OFFSET,
	T_SIGNATURE,
	T_VERSION,
	T_SIZE_COUNT,
	T_ZERO_COUNT,
	T_TYPE,
	T_UNALIGNED,
	T_EMPTY,
	T_OVERLAP,
	T_IN_FIRMWARE,
	T_WRAP,
	T_SECRETS_SIZE,
	T_CPUID_TWICE,
	T_HASHES_OUTSIDE,
	T_HASHES_SMALL,
	T_NO_AP_EIP,
	T_NO_RESET_BLOCK,
	T_NO_HASH_ENTRY,
	T_ODD_SIZE,
} Tamper;

static const struct {
	Tamper t;
	const gchar *name;
	const gchar *needle; /* in the error message */
} tampers[] = {
	{ T_NO_FOOTER, "no-footer", "no footer table" },
	{ T_TABLE_LEN, "table-length", "footer table length" },
	{ T_DUP_GUID, "duplicate-guid", "twice" },
	{ T_NO_METADATA, "no-metadata", "no SEV metadata" },
	{ T_META_OFFSET, "metadata-offset", "outside" },
	{ T_META_SMALL_OFFSET, "metadata-offset-small", "outside" },
	{ T_SIGNATURE, "signature", "\"ASEV\"" },
	{ T_VERSION, "version", "version 2" },
	{ T_SIZE_COUNT, "size-count", "16 + 12 per section" },
	{ T_ZERO_COUNT, "zero-sections", "at least one" },
	{ T_TYPE, "section-type", "type 0x7" },
	{ T_UNALIGNED, "section-unaligned", "page-aligned" },
	{ T_EMPTY, "section-empty", "non-empty" },
	{ T_OVERLAP, "section-overlap", "overlaps section 0" },
	{ T_IN_FIRMWARE, "section-in-firmware", "below the firmware" },
	{ T_WRAP, "section-past-4g", "below the firmware" },
	{ T_SECRETS_SIZE, "secrets-size", "expected one page" },
	{ T_CPUID_TWICE, "cpuid-twice", "second CPUID" },
	{ T_HASHES_OUTSIDE, "hashes-outside", "inside the SNP_KERNEL_HASHES page" },
	{ T_HASHES_SMALL, "hashes-small", "at least 176" },
	{ T_NO_AP_EIP, "ap-eip-zero", "AP EIP 0" },
	{ T_NO_RESET_BLOCK, "no-reset-block", "no SEV-ES reset block entry" },
	{ T_NO_HASH_ENTRY, "no-hash-table-entry", "no SEV hash table entry" },
	{ T_ODD_SIZE, "image-size", "multiple of 4096" },
};

static void
test_hostile (gconstpointer data)
{
	Tamper t = GPOINTER_TO_UINT (data);
	const gchar *needle = NULL;
	g_autoptr (GError) error = NULL;
	g_autoptr (GBytes) fwb = NULL;
	g_autoptr (AcSnpOvmf) ovmf = NULL;
	gsize len = 0, meta_e, meta, desc;
	guint8 *fw = snp_fixture (&len);

	for (guint i = 0; i < G_N_ELEMENTS (tampers); i++) {
		if (tampers[i].t == t)
			needle = tampers[i].needle;
	}
	meta_e = snp_entry_data (fw, len, AC_SEV_OVMF_GUID_SEV_METADATA, 4);
	meta = len - snp_get32 (fw + meta_e);
	desc = meta + 16; /* section i at desc + 12 i: gpa, size, type */
	switch (t) {
	case T_NO_FOOTER:
		fw[len - 48] ^= 0xff;
		break;
	case T_TABLE_LEN:
		fw[len - 50] = 0xff;
		fw[len - 49] = 0xff;
		break;
	case T_DUP_GUID: {
		/* the TDX metadata entry renamed to the SEV metadata GUID */
		gsize tdx = snp_entry_data (fw, len, "e47a6535-984a-4798-865e-4685a7bf8ec2", 4);
		g_assert_true (
		    ac_sev_guid_from_string (AC_SEV_OVMF_GUID_SEV_METADATA, fw + tdx + 6, NULL));
		break;
	}
	case T_NO_METADATA:
		fw[meta_e + 4 + 2 + 15] ^= 0xff; /* its GUID's last byte */
		break;
	case T_META_OFFSET:
		snp_put32 (fw + meta_e, (guint32)len + 1);
		break;
	case T_META_SMALL_OFFSET:
		snp_put32 (fw + meta_e, 15);
		break;
	case T_SIGNATURE:
		fw[meta] = 'X';
		break;
	case T_VERSION:
		snp_put32 (fw + meta + 8, 2);
		break;
	case T_SIZE_COUNT:
		snp_put32 (fw + meta + 12, 8); /* 8 sections in 100 bytes */
		break;
	case T_ZERO_COUNT:
		snp_put32 (fw + meta + 4, 16);
		snp_put32 (fw + meta + 12, 0);
		break;
	case T_TYPE:
		snp_put32 (fw + desc + 8, 7);
		break;
	case T_UNALIGNED:
		snp_put32 (fw + desc, 0x800800);
		break;
	case T_EMPTY:
		snp_put32 (fw + desc + 4, 0);
		break;
	case T_OVERLAP:
		snp_put32 (fw + desc + 12, 0x808000); /* section 1 into section 0 */
		break;
	case T_IN_FIRMWARE:
		snp_put32 (fw + desc + 12 * 6, 0xfffff000);
		snp_put32 (fw + desc + 12 * 6 + 4, 0x1000);
		break;
	case T_WRAP:
		snp_put32 (fw + desc + 12 * 6 + 4, 0xfffff000); /* gpa + size past 4 GiB */
		break;
	case T_SECRETS_SIZE:
		snp_put32 (fw + desc + 12 * 2 + 4, 0x2000);
		break;
	case T_CPUID_TWICE:
		snp_put32 (fw + desc + 12 * 4 + 8, 3); /* SVSM_CAA becomes a second CPUID */
		break;
	case T_HASHES_OUTSIDE: {
		gsize h = snp_entry_data (fw, len, AC_SEV_OVMF_GUID_HASH_TABLE, 8);
		snp_put32 (fw + h, 0x811c00);
		break;
	}
	case T_HASHES_SMALL: {
		gsize h = snp_entry_data (fw, len, AC_SEV_OVMF_GUID_HASH_TABLE, 8);
		snp_put32 (fw + h + 4, 0xa0);
		break;
	}
	case T_NO_AP_EIP: {
		gsize e = snp_entry_data (fw, len, AC_SEV_OVMF_GUID_ES_RESET, 4);
		snp_put32 (fw + e, 0);
		break;
	}
	case T_NO_RESET_BLOCK: {
		gsize e = snp_entry_data (fw, len, AC_SEV_OVMF_GUID_ES_RESET, 4);
		fw[e + 4 + 2 + 15] ^= 0xff;
		break;
	}
	case T_NO_HASH_ENTRY: {
		gsize h = snp_entry_data (fw, len, AC_SEV_OVMF_GUID_HASH_TABLE, 8);
		fw[h + 8 + 2 + 15] ^= 0xff;
		break;
	}
	case T_ODD_SIZE: {
		/* 16 bytes more in front: the footer table still parses, the size does not */
		guint8 *b = g_malloc0 (len + 16);
		memcpy (b + 16, fw, len);
		g_free (fw);
		fw = b;
		len += 16;
		break;
	}
	}
	fwb = g_bytes_new_take (fw, len);
	ovmf = ac_snp_ovmf_parse (fwb, &error);
	g_assert_null (ovmf);
	g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
	if (strstr (error->message, needle) == NULL)
		g_error ("'%s' does not say '%s'", error->message, needle);
	/* the launch digest refuses the same image the same way */
	g_clear_error (&error);
	{
		AcSnpLaunchInputs in = { .firmware = fwb, .vcpus = 1, .guest_features = 1 };
		guint8 ld[AC_SNP_LD_SIZE];
		g_assert_false (ac_snp_launch_digest (&in, ld, &error));
		g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
		g_assert_nonnull (strstr (error->message, needle));
	}
}

/* the untampered fixture parses: the tampers above are what breaks it */
static void
test_fixture_ok (void)
{
	g_autoptr (GError) error = NULL;
	g_autoptr (GBytes) fwb = NULL;
	g_autoptr (AcSnpOvmf) ovmf = NULL;
	gsize len = 0;
	guint8 *fw = snp_fixture (&len);
	guint n = 0;

	fwb = g_bytes_new_take (fw, len);
	ovmf = ac_snp_ovmf_parse (fwb, &error);
	g_assert_no_error (error);
	ac_snp_ovmf_get_sections (ovmf, &n);
	g_assert_cmpuint (n, ==, 7);
	g_assert_cmphex (ac_snp_ovmf_get_gpa (ovmf), ==, 0x100000000 - len);
	g_assert_cmphex (ac_snp_ovmf_get_ap_eip (ovmf), ==, 0x80b004);
}

static void
test_inputs_refused (gconstpointer data)
{
	const SnpTestCase *c6 = snp_test_case_find (data, "C6");
	const SnpTestCase *c5 = snp_test_case_find (data, "C5");
	g_autoptr (GError) error = NULL;
	guint8 ld[AC_SNP_LD_SIZE];
	SnpArgs a, x;

	snp_args_parse (c6->argv, &a);
	/* vCPUs */
	a.in.vcpus = 0;
	g_assert_false (ac_snp_launch_digest (&a.in, ld, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
	g_clear_error (&error);
	a.in.vcpus = AC_SNP_MAX_VCPUS + 1;
	g_assert_false (ac_snp_launch_digest (&a.in, ld, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
	g_clear_error (&error);
	a.in.vcpus = 2;
	/* features */
	a.in.guest_features = 0;
	g_assert_false (ac_snp_launch_digest (&a.in, ld, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
	g_assert_nonnull (strstr (error->message, "SNPActive"));
	g_clear_error (&error);
	a.in.guest_features = 1;
	/* an initrd without a kernel */
	a.in.kernel = NULL;
	g_assert_false (ac_snp_launch_digest (&a.in, ld, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
	g_assert_nonnull (strstr (error->message, "needs a kernel"));
	g_clear_error (&error);
	/* a kernel with the OvmfX64 build (no SNP_KERNEL_HASHES section) */
	snp_args_parse (c5->argv, &x);
	x.in.kernel = a.kernel;
	g_assert_false (ac_snp_launch_digest (&x.in, ld, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
	g_assert_nonnull (strstr (error->message, "SNP_KERNEL_HASHES"));
	g_clear_error (&error);
	/* no firmware */
	x.in.firmware = NULL;
	g_assert_false (ac_snp_ovmf_hash (NULL, ld, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
	g_clear_error (&error);
	snp_args_clear (&x);
	snp_args_clear (&a);
}

int
main (int argc, char **argv)
{
	g_autoptr (GPtrArray) cases = NULL;

	g_test_init (&argc, &argv, NULL);
	cases = snp_test_cases_load ();
	g_test_add_data_func ("/snp/measure/vectors/count", cases, test_vector_count);
	for (guint i = 0; i < cases->len; i++) {
		const SnpTestCase *c = g_ptr_array_index (cases, i);
		g_autofree gchar *name = g_strdup_printf ("/snp/measure/vectors/%s", c->name);
		g_test_add_data_func (name, c, test_vector_case);
	}
	g_test_add_data_func ("/snp/measure/vmsa-c6", cases, test_vmsa_c6);
	g_test_add_data_func ("/snp/measure/trace-c6", cases, test_trace_c6);
	g_test_add_data_func ("/snp/measure/ovmf-hash-seed", cases, test_ovmf_hash_seed);
	g_test_add_data_func ("/snp/measure/inputs-refused", cases, test_inputs_refused);
	g_test_add_data_func ("/snp/measure/large-kernel", cases, test_large_kernel);
	g_test_add_func ("/snp/measure/vcpu", test_vcpu);
	g_test_add_func ("/snp/measure/fixture-ok", test_fixture_ok);
	for (guint i = 0; i < G_N_ELEMENTS (tampers); i++) {
		g_autofree gchar *name
		    = g_strdup_printf ("/snp/measure/hostile/%s", tampers[i].name);
		g_test_add_data_func (name, GUINT_TO_POINTER (tampers[i].t), test_hostile);
	}
	return g_test_run ();
}
