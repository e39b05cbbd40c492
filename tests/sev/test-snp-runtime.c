/*
 * The aleph-instance-runtime/1 manifest (sev/ac-snp-runtime.h): the synthetic runtime of
 * tests/data/snp/aleph-runtime (its bundle holds the OVMF, kernel and initrd of the
 * sev-snp-measure vectors), its expected launch digests against cases C6-C10 of
 * tests/data/snp/sev-snp-measure/cases_output.txt, the bundle checks, the owner rendering, and
 * hostile manifests, each refused naming its field.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <json-glib/json-glib.h>
#include <string.h>

#include "ac-codec.h"
#include "ac-error.h"
#include "ac-snp-runtime.h"
#include "test-snp-common.h"

/* the owner of cases C6-C10, written here in mixed case: the rendering lower-cases it */
#define OWNER_MIXED "0x9319AD3B7a8E0ee24f2e639c40d8ed124c5520bA"
#define OWNER_LOWER "0x9319ad3b7a8e0ee24f2e639c40d8ed124c5520ba"

static gchar *
manifest_text (void)
{
	g_autoptr (GBytes) b = snp_test_load ("aleph-runtime", "manifest.json");
	return g_strndup (g_bytes_get_data (b, NULL), g_bytes_get_size (b));
}

static AcSnpRuntime *
manifest (void)
{
	g_autofree gchar *text = manifest_text ();
	g_autoptr (GError) error = NULL;
	AcSnpRuntime *rt = ac_snp_runtime_parse (text, strlen (text), &error);
	g_assert_no_error (error);
	g_assert_nonnull (rt);
	return rt;
}

static void
files_load (AcSnpRuntimeFiles *f)
{
	f->ovmf = snp_test_load ("sev-snp-measure", "fixtures/ovmf_AmdSev_suffix.bin");
	f->kernel = snp_test_load ("sev-snp-measure", "inputs/kernel.bin");
	f->initrd = snp_test_load ("sev-snp-measure", "inputs/initrd.bin");
}

static void
files_clear (AcSnpRuntimeFiles *f)
{
	g_bytes_unref (f->ovmf);
	g_bytes_unref (f->kernel);
	g_bytes_unref (f->initrd);
}

static void
test_parse (void)
{
	g_autoptr (AcSnpRuntime) rt = manifest ();
	g_autoptr (GBytes) bundle = snp_test_load ("aleph-runtime", "bundle.tar.gz");
	g_autoptr (GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);

	g_assert_cmpstr (rt->name, ==, "synthetic-instance-runtime");
	g_assert_cmpstr (rt->member_ovmf, ==, "ovmf/OVMF.fd");
	g_assert_cmpstr (rt->member_kernel, ==, "boot/vmlinuz");
	g_assert_cmpstr (rt->member_initrd, ==, "boot/initrd.img");
	g_assert_cmpuint (g_strv_length (rt->cpu_models), ==, 3);
	g_assert_cmpstr (rt->cpu_models[1], ==, "EPYC-Genoa");
	g_assert_cmpstr (rt->cmdline_template, ==, "console=ttyS0 luks=1 owner={owner}");
	g_assert_cmpuint (rt->attestation_port, ==, 8443);
	g_assert_cmpuint (rt->bundle_size, ==, g_bytes_get_size (bundle));
	g_checksum_update (sum, g_bytes_get_data (bundle, NULL), g_bytes_get_size (bundle));
	g_assert_cmpstr (rt->bundle_ref, ==, g_checksum_get_string (sum));
}

/* the canonical form, written back: byte for byte the manifest file (made with Python's
 * json.dumps(sort_keys=True, separators=(",", ":"))) */
static void
test_to_json (void)
{
	g_autoptr (AcSnpRuntime) rt = manifest ();
	g_autofree gchar *text = manifest_text ();
	g_autofree gchar *json = ac_snp_runtime_to_json (rt);
	g_autoptr (GError) error = NULL;
	g_autoptr (AcSnpRuntime) again = NULL;

	g_assert_cmpstr (json, ==, text);
	/* without the optional members, it still reads back */
	g_clear_pointer (&rt->name, g_free);
	g_clear_pointer (&rt->version, g_free);
	g_clear_pointer (&rt->source_repo, g_free);
	g_clear_pointer (&rt->source_rev, g_free);
	g_clear_pointer (&rt->source_build, g_free);
	g_free (json);
	json = ac_snp_runtime_to_json (rt);
	again = ac_snp_runtime_parse (json, strlen (json), &error);
	g_assert_no_error (error);
	g_assert_null (again->name);
	g_assert_null (strstr (json, "\"source\""));
	g_assert_cmpmem (again->bundle_sha256, 32, rt->bundle_sha256, 32);
}

/* the bundle: its size, then its SHA-256 */
static void
test_bundle (void)
{
	g_autoptr (AcSnpRuntime) rt = manifest ();
	g_autoptr (GBytes) bundle = snp_test_load ("aleph-runtime", "bundle.tar.gz");
	gsize len = g_bytes_get_size (bundle);
	g_autofree guint8 *copy = g_memdup2 (g_bytes_get_data (bundle, NULL), len);
	g_autoptr (GError) error = NULL;

	g_assert_true (ac_snp_runtime_check_bundle (rt, bundle, &error));
	g_assert_no_error (error);
	{
		g_autoptr (GBytes) shorter = g_bytes_new (copy, len - 1);
		g_assert_false (ac_snp_runtime_check_bundle (rt, shorter, &error));
		g_assert_error (error, AC_ERROR, AC_ERROR_MISMATCH);
		g_assert_nonnull (strstr (error->message, "1827 bytes, the manifest says 1828"));
		g_clear_error (&error);
	}
	for (gsize at = 0; at < len; at += len / 7) {
		g_autoptr (GBytes) tampered = NULL;
		copy[at] ^= 0x01;
		tampered = g_bytes_new (copy, len);
		copy[at] ^= 0x01;
		g_assert_false (ac_snp_runtime_check_bundle (rt, tampered, &error));
		g_assert_error (error, AC_ERROR, AC_ERROR_MISMATCH);
		g_assert_nonnull (strstr (error->message, "SHA-256"));
		g_clear_error (&error);
	}
}

/* the members out of the checked bundle are the files its README names, byte for byte */
static void
test_extract (void)
{
	g_autoptr (AcSnpRuntime) rt = manifest ();
	g_autoptr (GBytes) bundle = snp_test_load ("aleph-runtime", "bundle.tar.gz");
	g_autoptr (GError) error = NULL;
	AcSnpRuntimeFiles got = { 0 }, want = { 0 };

	g_assert_true (ac_snp_runtime_extract (rt, bundle, &got, &error));
	g_assert_no_error (error);
	files_load (&want);
	g_assert_true (g_bytes_equal (got.ovmf, want.ovmf));
	g_assert_true (g_bytes_equal (got.kernel, want.kernel));
	g_assert_true (g_bytes_equal (got.initrd, want.initrd));
	files_clear (&want);
	ac_snp_runtime_files_clear (&got);
	g_assert_null (got.ovmf);

	/* a manifest naming a member the bundle lacks */
	g_free (rt->member_initrd);
	rt->member_initrd = g_strdup ("boot/initrd.zst");
	g_assert_false (ac_snp_runtime_extract (rt, bundle, &got, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
	g_assert_nonnull (strstr (error->message, "runtime bundle f9a8f18e"));
	g_assert_nonnull (strstr (error->message, "no member 'boot/initrd.zst'"));
	g_assert_null (got.ovmf);
}

/* {owner} becomes the signer's address lower-cased; anything but an address is refused */
static void
test_cmdline (void)
{
	g_autoptr (AcSnpRuntime) rt = manifest ();
	g_autoptr (GError) error = NULL;
	g_autofree gchar *c = ac_snp_runtime_render_cmdline (rt, OWNER_MIXED, &error);
	const gchar *bad[] = { NULL,
		               "",
		               "9319ad3b7a8e0ee24f2e639c40d8ed124c5520ba",
		               "0X9319ad3b7a8e0ee24f2e639c40d8ed124c5520ba",
		               "0x9319ad3b7a8e0ee24f2e639c40d8ed124c5520b",
		               "0x9319ad3b7a8e0ee24f2e639c40d8ed124c5520bab",
		               "0x9319ad3b7a8e0ee24f2e639c40d8ed124c5520bg",
		               "0x9319ad3b7a8e0ee24f2e639c40d8ed124c5520b ",
		               "0x9319ad3b7a8e0ee24f2e639c40d8ed124c5520ba luks=0" };

	g_assert_no_error (error);
	g_assert_cmpstr (c, ==, "console=ttyS0 luks=1 owner=" OWNER_LOWER);
	for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
		g_autofree gchar *r = ac_snp_runtime_render_cmdline (rt, bad[i], &error);
		g_assert_null (r);
		g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
		g_assert_nonnull (strstr (error->message, "expected an Ethereum address"));
		g_clear_error (&error);
	}
}

/* one digest per CPU model, in the manifest's order: C6 (EPYC-v4), C7 (EPYC-Genoa), C8
 * (EPYC-Milan) with 2 vCPUs; C10 with 4; the upper-cased owner of C9 is never measured */
static void
test_measurements (void)
{
	g_autoptr (AcSnpRuntime) rt = manifest ();
	g_autoptr (GError) error = NULL;
	g_autofree AcSnpRuntimeMeasurement *m = NULL;
	g_autofree AcSnpRuntimeMeasurement *m4 = NULL;
	g_autofree AcSnpRuntimeMeasurement *other = NULL;
	AcSnpRuntimeFiles files = { 0 };
	guint8 c6[AC_SNP_LD_SIZE], c7[AC_SNP_LD_SIZE], c8[AC_SNP_LD_SIZE], c9[AC_SNP_LD_SIZE],
	    c10[AC_SNP_LD_SIZE];
	guint n = 0;

	snp_test_vector_digest ("C6", c6);
	snp_test_vector_digest ("C7", c7);
	snp_test_vector_digest ("C8", c8);
	snp_test_vector_digest ("C9", c9);
	snp_test_vector_digest ("C10", c10);
	files_load (&files);
	g_assert_true (
	    ac_snp_runtime_expected_measurements (rt, &files, OWNER_MIXED, 2, &m, &n, &error));
	g_assert_no_error (error);
	g_assert_cmpuint (n, ==, 3);
	g_assert_cmpstr (m[0].vcpu_type, ==, "EPYC-v4");
	g_assert_cmpmem (m[0].launch, AC_SNP_LD_SIZE, c6, AC_SNP_LD_SIZE);
	g_assert_cmpstr (m[1].vcpu_type, ==, "EPYC-Genoa");
	g_assert_cmpmem (m[1].launch, AC_SNP_LD_SIZE, c7, AC_SNP_LD_SIZE);
	g_assert_cmpstr (m[2].vcpu_type, ==, "EPYC-Milan");
	g_assert_cmpmem (m[2].launch, AC_SNP_LD_SIZE, c8, AC_SNP_LD_SIZE);
	g_assert_true (memcmp (m[0].launch, c9, AC_SNP_LD_SIZE) != 0);

	g_assert_true (
	    ac_snp_runtime_expected_measurements (rt, &files, OWNER_LOWER, 4, &m4, &n, &error));
	g_assert_cmpmem (m4[0].launch, AC_SNP_LD_SIZE, c10, AC_SNP_LD_SIZE);

	/* another signer (a delegate, not content.address): another digest */
	g_assert_true (ac_snp_runtime_expected_measurements (
	    rt, &files, "0x17c5185167401ed00cf5f5b2fc97d9bbfdb7d025", 2, &other, &n, &error));
	g_assert_true (memcmp (other[0].launch, c6, AC_SNP_LD_SIZE) != 0);

	/* refusals */
	{
		g_autofree AcSnpRuntimeMeasurement *none = NULL;
		AcSnpRuntimeFiles partial = files;
		g_assert_false (ac_snp_runtime_expected_measurements (rt, &files, OWNER_LOWER, 0,
		                                                      &none, &n, &error));
		g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
		g_clear_error (&error);
		g_assert_false (ac_snp_runtime_expected_measurements (rt, &files, "owner", 2, &none,
		                                                      &n, &error));
		g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
		g_clear_error (&error);
		partial.initrd = NULL;
		g_assert_false (ac_snp_runtime_expected_measurements (rt, &partial, OWNER_LOWER, 2,
		                                                      &none, &n, &error));
		g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
		g_clear_error (&error);
		/* the kernel in place of the OVMF: not a firmware image */
		partial = files;
		partial.ovmf = files.kernel;
		g_assert_false (ac_snp_runtime_expected_measurements (rt, &partial, OWNER_LOWER, 2,
		                                                      &none, &n, &error));
		g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
		g_assert_nonnull (strstr (error->message, "runtime OVMF 'ovmf/OVMF.fd'"));
		g_assert_null (none);
	}
	files_clear (&files);
}

/* ---- hostile manifests: one change to the good one each ---- */

typedef struct {
	const gchar *path;  /* "boot.cpu_models"; "" = the root */
	const gchar *value; /* JSON literal; NULL removes the member */
	const gchar *error; /* a part of the message */
} Mutation;

static const Mutation mutations[] = {
	{ "extra", "1", "field 'extra': unknown member" },
	{ "format", "\"aleph-program-runtime\"", "field 'format': 'aleph-program-runtime'" },
	{ "format", NULL, "field 'format': missing" },
	{ "format_version", "2", "field 'format_version': 2: expected an integer from 1 to 1" },
	{ "format_version", "\"1\"", "field 'format_version': a string" },
	{ "format_version", NULL, "field 'format_version': missing" },
	{ "platform", "\"sev\"", "field 'platform': 'sev': expected \"sev_snp\"" },
	{ "platform", "\"tdx\"", "field 'platform'" },
	{ "name", "7", "field 'name'" },
	{ "bundle", NULL, "field 'bundle': missing" },
	{ "bundle", "[]", "field 'bundle': an array: expected an object" },
	{ "bundle.url", "\"https://x\"", "field 'bundle.url': unknown member" },
	{ "bundle.ref", "\"F9A8F18EB603DFDE16954014DBCFA12D51040EDFF02C017FDAF6021A63D92205\"",
	  "field 'bundle.ref'" },
	{ "bundle.ref", "\"QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH\"",
	  "field 'bundle.ref'" },
	{ "bundle.sha256", "\"f9a8f18e\"", "field 'bundle.sha256'" },
	{ "bundle.sha256", NULL, "field 'bundle.sha256': missing" },
	{ "bundle.size", "0", "field 'bundle.size': 0: expected 1 to" },
	{ "bundle.size", "-1", "field 'bundle.size': a negative integer" },
	{ "bundle.size", "1828.0", "field 'bundle.size'" },
	{ "bundle.size", "\"1828\"", "field 'bundle.size'" },
	{ "bundle.size", "9999999999999", "field 'bundle.size': 9999999999999: expected 1 to" },
	{ "bundle.members.ovmf", "\"../OVMF.fd\"", "field 'bundle.members.ovmf': '../OVMF.fd'" },
	{ "bundle.members.ovmf", "\"/usr/share/ovmf/OVMF.fd\"", "field 'bundle.members.ovmf'" },
	{ "bundle.members.kernel", "\"boot//vmlinuz\"", "field 'bundle.members.kernel'" },
	{ "bundle.members.kernel", "\"boot/./vmlinuz\"", "field 'bundle.members.kernel'" },
	{ "bundle.members.kernel", "\"boot\\\\vmlinuz\"", "field 'bundle.members.kernel'" },
	{ "bundle.members.kernel", "\"\"", "field 'bundle.members.kernel': empty" },
	{ "bundle.members.initrd", NULL, "field 'bundle.members.initrd': missing" },
	{ "bundle.members.initrd", "\"boot/vmlinuz\"", "expected three different files" },
	{ "bundle.members.cmdline", "\"cmdline.txt\"", "field 'bundle.members.cmdline': unknown" },
	{ "boot.method", "\"qemu-uefi\"", "field 'boot.method': 'qemu-uefi'" },
	{ "boot.kernel_hashes", "false", "field 'boot.kernel_hashes': false: expected true" },
	{ "boot.kernel_hashes", "1", "field 'boot.kernel_hashes'" },
	{ "boot.cpu_models", NULL, "field 'boot.cpu_models': missing" },
	{ "boot.cpu_models", "[]", "field 'boot.cpu_models': empty" },
	{ "boot.cpu_models", "\"EPYC-v4\"", "field 'boot.cpu_models'" },
	{ "boot.cpu_models", "[\"EPYC-v4\", \"EPYC-v5\"]", "field 'boot.cpu_models[1]'" },
	{ "boot.cpu_models", "[\"epyc-v4\"]", "field 'boot.cpu_models[0]'" },
	{ "boot.cpu_models", "[\"EPYC-v4\", 4]", "field 'boot.cpu_models" },
	{ "boot.cpu_models", "[\"EPYC-v4\", \"EPYC-Milan\", \"EPYC-v4\"]",
	  "field 'boot.cpu_models[2]': 'EPYC-v4': already listed at [0]" },
	{ "boot.cpu_models",
	  "[\"EPYC\",\"EPYC-v1\",\"EPYC-v2\",\"EPYC-IBPB\",\"EPYC-v3\",\"EPYC-v4\",\"EPYC-Rome\","
	  "\"EPYC-Rome-v1\",\"EPYC-Rome-v2\",\"EPYC-Rome-v3\",\"EPYC-Milan\",\"EPYC-Milan-v1\","
	  "\"EPYC-Milan-v2\",\"EPYC-Genoa\",\"EPYC-Genoa-v1\",\"EPYC-Turin\",\"EPYC-Turin-v1\"]",
	  "field 'boot.cpu_models'" },
	{ "boot.cmdline_template", "\"console=ttyS0 luks=1\"",
	  "field 'boot.cmdline_template': 'console=ttyS0 luks=1': expected exactly one {owner}" },
	{ "boot.cmdline_template", "\"owner={owner} owner={owner}\"",
	  "expected exactly one {owner}" },
	{ "boot.cmdline_template", "\"owner={owner} node={node}\"",
	  "'{' at offset 19: the only placeholder is {owner}" },
	{ "boot.cmdline_template", "\"owner={OWNER}\"", "expected exactly one {owner}" },
	{ "boot.cmdline_template", "\"owner={owner}}\"", "the only placeholder is {owner}" },
	{ "boot.cmdline_template", "\"owner={owner}\\ninit=/bin/sh\"",
	  "byte 0x0a at offset 13: expected printable ASCII" },
	{ "boot.cmdline_template", "\"owner={owner} \\u00e9\"", "expected printable ASCII" },
	{ "boot.cmdline_template", NULL, "field 'boot.cmdline_template': missing" },
	{ "boot.append", "\"x\"", "field 'boot.append': unknown member" },
	{ "attestation", "[]", "field 'attestation': empty" },
	{ "attestation", NULL, "field 'attestation': missing" },
	{ "attestation", "{}", "field 'attestation': an object: expected an array" },
	{ "attestation",
	  "[{\"protocol\":\"aleph.ra-tls\",\"version\":\"1\",\"transport\":{\"type\":\"tcp\","
	  "\"port\":8443}},{\"protocol\":\"aleph.ra-tls\",\"version\":\"1\",\"transport\":{"
	  "\"type\":\"tcp\",\"port\":8444}}]",
	  "field 'attestation': 2 entries: expected at most 1" },
	{ "attestation", "[7]", "field 'attestation[0]': an integer: expected an object" },
	{ "attestation",
	  "[{\"protocol\":\"tdx-quote\",\"version\":\"1\",\"transport\":{\"type\":"
	  "\"tcp\",\"port\":8443}}]",
	  "field 'attestation[0].protocol': 'tdx-quote'" },
	{ "attestation",
	  "[{\"protocol\":\"aleph.ra-tls\",\"version\":1,\"transport\":{\"type\":"
	  "\"tcp\",\"port\":8443}}]",
	  "field 'attestation[0].version'" },
	{ "attestation",
	  "[{\"protocol\":\"aleph.ra-tls\",\"version\":\"1\",\"transport\":{"
	  "\"type\":\"udp\",\"port\":8443}}]",
	  "field 'attestation[0].transport.type': 'udp'" },
	{ "attestation",
	  "[{\"protocol\":\"aleph.ra-tls\",\"version\":\"1\",\"transport\":{"
	  "\"type\":\"tcp\",\"port\":0}}]",
	  "field 'attestation[0].transport.port': 0" },
	{ "attestation",
	  "[{\"protocol\":\"aleph.ra-tls\",\"version\":\"1\",\"transport\":{"
	  "\"type\":\"tcp\"}}]",
	  "field 'attestation[0].transport.port': missing: an integer from 1 to 65535 is "
	  "required" },
	{ "attestation",
	  "[{\"protocol\":\"aleph.ra-tls\",\"version\":\"1\",\"transport\":{"
	  "\"type\":\"tcp\",\"port\":8443,\"host\":\"1.2.3.4\"}}]",
	  "field 'attestation[0].transport.host': unknown member" },
	{ "source.signature", "\"x\"", "field 'source.signature': unknown member" },
	{ "source.rev", "null", "field 'source.rev': null" },
};

/* the good manifest with @m applied, as text */
static gchar *
mutated (const Mutation *m)
{
	g_autofree gchar *text = manifest_text ();
	g_autoptr (JsonNode) root = json_from_string (text, NULL);
	g_auto (GStrv) parts = g_strsplit (m->path, ".", -1);
	JsonObject *o = json_node_get_object (root);
	guint n = g_strv_length (parts);

	for (guint i = 0; i + 1 < n; i++)
		o = json_object_get_object_member (o, parts[i]);
	if (m->value == NULL) {
		json_object_remove_member (o, parts[n - 1]);
	} else {
		g_autoptr (GError) error = NULL;
		JsonNode *v = json_from_string (m->value, &error);
		g_assert_no_error (error);
		json_object_set_member (o, parts[n - 1], v);
	}
	return json_to_string (root, FALSE);
}

static void
test_hostile (void)
{
	const gchar *raw[][2] = {
		{ "[]", "an array, expected a JSON object" },
		{ "", "empty body" },
		{ "{\"format\":\"aleph-instance-runtime\"}{}", "trailing data" },
		{ "{\"format\":\"aleph-instance-runtime\"", "runtime manifest" },
	};
	for (guint i = 0; i < G_N_ELEMENTS (mutations); i++) {
		g_autofree gchar *text = mutated (&mutations[i]);
		g_autoptr (GError) error = NULL;
		g_autoptr (AcSnpRuntime) rt = ac_snp_runtime_parse (text, strlen (text), &error);
		if (rt != NULL)
			g_error ("%s=%s: accepted", mutations[i].path,
			         mutations[i].value != NULL ? mutations[i].value : "(removed)");
		g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
		if (strstr (error->message, mutations[i].error) == NULL)
			g_error ("%s: '%s' does not contain '%s'", mutations[i].path,
			         error->message, mutations[i].error);
	}
	for (guint i = 0; i < G_N_ELEMENTS (raw); i++) {
		g_autoptr (GError) error = NULL;
		g_autoptr (AcSnpRuntime) rt
		    = ac_snp_runtime_parse (raw[i][0], strlen (raw[i][0]), &error);
		g_assert_null (rt);
		g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
		g_assert_nonnull (strstr (error->message, raw[i][1]));
	}
	/* over the size limit, nested too deep, a NUL byte */
	{
		g_autofree gchar *text = manifest_text ();
		g_autoptr (GString) big = g_string_new (text);
		g_autoptr (GString) deep = g_string_new (NULL);
		g_autoptr (GError) error = NULL;
		g_autoptr (AcSnpRuntime) r1 = NULL, r2 = NULL, r3 = NULL;
		g_string_truncate (big, big->len - 1);
		g_string_append (big, ",\"name\":\"");
		while (big->len <= AC_SNP_RUNTIME_MAX_SIZE)
			g_string_append (big, "xxxxxxxxxxxxxxxx");
		g_string_append (big, "\"}");
		r1 = ac_snp_runtime_parse (big->str, big->len, &error);
		g_assert_null (r1);
		g_assert_nonnull (strstr (error->message, "exceeds the limit of 65536"));
		g_clear_error (&error);
		for (guint i = 0; i < 100; i++)
			g_string_append_c (deep, '[');
		r2 = ac_snp_runtime_parse (deep->str, deep->len, &error);
		g_assert_null (r2);
		g_assert_nonnull (strstr (error->message, "nested deeper"));
		g_clear_error (&error);
		text[10] = '\0';
		r3 = ac_snp_runtime_parse (text, strlen (text) + 20, &error);
		g_assert_null (r3);
		g_assert_nonnull (strstr (error->message, "NUL"));
	}
}

int
main (int argc, char **argv)
{
	g_test_init (&argc, &argv, NULL);
	g_test_add_func ("/snp/runtime/parse", test_parse);
	g_test_add_func ("/snp/runtime/bundle", test_bundle);
	g_test_add_func ("/snp/runtime/extract", test_extract);
	g_test_add_func ("/snp/runtime/to-json", test_to_json);
	g_test_add_func ("/snp/runtime/cmdline", test_cmdline);
	g_test_add_func ("/snp/runtime/measurements", test_measurements);
	g_test_add_func ("/snp/runtime/hostile", test_hostile);
	return g_test_run ();
}
