/*
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The aleph-instance-runtime/1 manifest (ac-snp-runtime.h): a strict reader of an untrusted
 * document, and the expected launch digests of the runtime it describes.
 */
#include "config.h"

#include "ac-snp-runtime.h"

#include <json-glib/json-glib.h>
#include <string.h>

#include "ac-codec.h"
#include "ac-error.h"
#include "ac-json.h"
#include "ac-tar.h"

#define OWNER_PLACEHOLDER "{owner}"

static const AcJsonScope scope = { "runtime manifest", AC_ERROR_INVALID_INPUT };

void
ac_snp_runtime_free (AcSnpRuntime *runtime)
{
	if (runtime == NULL)
		return;
	g_free (runtime->name);
	g_free (runtime->version);
	g_free (runtime->bundle_ref);
	g_free (runtime->member_ovmf);
	g_free (runtime->member_kernel);
	g_free (runtime->member_initrd);
	g_strfreev (runtime->cpu_models);
	g_free (runtime->cmdline_template);
	g_free (runtime->source_repo);
	g_free (runtime->source_rev);
	g_free (runtime->source_build);
	g_free (runtime);
}

/* a required string member equal to @want */
static gboolean
read_constant (JsonObject *o,
               const gchar *path,
               const gchar *name,
               const gchar *want,
               GError **error)
{
	g_autofree gchar *v = NULL;
	g_autofree gchar *field = ac_json_field_path (path, name);
	if (!ac_json_read_string (&scope, o, path, name, TRUE, 256, &v, error))
		return FALSE;
	if (g_strcmp0 (v, want) != 0)
		return ac_json_fail (&scope, error, field, "'%s': expected \"%s\"", v, want);
	return TRUE;
}

/* a required member of 64 lowercase hex digits */
static gboolean
read_hex64 (JsonObject *o,
            const gchar *path,
            const gchar *name,
            const gchar *what,
            gchar **out,
            GError **error)
{
	g_autofree gchar *v = NULL;
	g_autofree gchar *field = ac_json_field_path (path, name);
	if (!ac_json_read_string (&scope, o, path, name, TRUE, 256, &v, error))
		return FALSE;
	if (!ac_codec_hex_is_valid (v, 64, AC_CODEC_HEX_LOWER))
		return ac_json_fail (&scope, error, field,
		                     "'%s': expected %s (64 lowercase hex digits)", v, what);
	*out = g_steal_pointer (&v);
	return TRUE;
}

/* a path inside the bundle: relative, components of [A-Za-z0-9._+-], none empty, "." or ".." */
static gboolean
read_member_path (JsonObject *o, const gchar *path, const gchar *name, gchar **out, GError **error)
{
	g_autofree gchar *v = NULL;
	g_autofree gchar *field = ac_json_field_path (path, name);
	g_auto (GStrv) parts = NULL;

	if (!ac_json_read_string (&scope, o, path, name, TRUE, 255, &v, error))
		return FALSE;
	parts = g_strsplit (v, "/", -1);
	for (guint i = 0; parts[i] != NULL; i++) {
		const gchar *p = parts[i];
		if (p[0] == '\0' || g_strcmp0 (p, ".") == 0 || g_strcmp0 (p, "..") == 0
		    || strspn (p,
		               "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._+-")
		           != strlen (p))
			return ac_json_fail (
			    &scope, error, field,
			    "'%s': expected a relative path inside the bundle (no "
			    "leading '/', no empty, '.' or '..' component; letters, "
			    "digits and ._+- only)",
			    v);
	}
	*out = g_steal_pointer (&v);
	return TRUE;
}

static gboolean
parse_bundle (AcSnpRuntime *rt, JsonObject *root, GError **error)
{
	static const gchar *const allowed[] = { "ref", "sha256", "size", "members", NULL };
	static const gchar *const member_names[] = { "ovmf", "kernel", "initrd", NULL };
	JsonObject *b = NULL, *m = NULL;
	g_autofree gchar *sha = NULL;

	if (!ac_json_read_object (&scope, root, NULL, "bundle", TRUE, &b, error)
	    || !ac_json_check_members (&scope, b, "bundle", allowed, error)
	    || !read_hex64 (b, "bundle", "ref", "the STORE item hash of the bundle",
	                    &rt->bundle_ref, error)
	    || !read_hex64 (b, "bundle", "sha256", "the SHA-256 of the bundle", &sha, error)
	    || !ac_json_read_uint64 (&scope, b, "bundle", "size", TRUE, &rt->bundle_size, error))
		return FALSE;
	if (rt->bundle_size == 0 || rt->bundle_size > AC_SNP_RUNTIME_MAX_BUNDLE)
		return ac_json_fail (&scope, error, "bundle.size",
		                     "%" G_GUINT64_FORMAT ": expected 1 to %" G_GUINT64_FORMAT
		                     " bytes",
		                     rt->bundle_size, AC_SNP_RUNTIME_MAX_BUNDLE);
	if (!ac_codec_hex_decode_fixed ("bundle.sha256", sha, AC_CODEC_HEX_LOWER, rt->bundle_sha256,
	                                sizeof (rt->bundle_sha256), error))
		return FALSE;
	if (!ac_json_read_object (&scope, b, "bundle", "members", TRUE, &m, error)
	    || !ac_json_check_members (&scope, m, "bundle.members", member_names, error)
	    || !read_member_path (m, "bundle.members", "ovmf", &rt->member_ovmf, error)
	    || !read_member_path (m, "bundle.members", "kernel", &rt->member_kernel, error)
	    || !read_member_path (m, "bundle.members", "initrd", &rt->member_initrd, error))
		return FALSE;
	if (g_strcmp0 (rt->member_ovmf, rt->member_kernel) == 0
	    || g_strcmp0 (rt->member_ovmf, rt->member_initrd) == 0
	    || g_strcmp0 (rt->member_kernel, rt->member_initrd) == 0)
		return ac_json_fail (
		    &scope, error, "bundle.members",
		    "ovmf '%s', kernel '%s', initrd '%s': expected three different "
		    "files",
		    rt->member_ovmf, rt->member_kernel, rt->member_initrd);
	return TRUE;
}

/* printable ASCII, exactly one {owner}, no other brace (the placeholder set is closed) */
static gboolean
check_cmdline_template (const gchar *t, GError **error)
{
	const gchar *at = strstr (t, OWNER_PLACEHOLDER);
	for (const gchar *p = t; *p != '\0'; p++) {
		if (*p < 0x20 || *p > 0x7e)
			return ac_json_fail (&scope, error, "boot.cmdline_template",
			                     "byte 0x%02x at offset %td: expected printable ASCII",
			                     (guchar)*p, p - t);
	}
	if (at == NULL || strstr (at + 1, OWNER_PLACEHOLDER) != NULL)
		return ac_json_fail (&scope, error, "boot.cmdline_template",
		                     "'%s': expected exactly one " OWNER_PLACEHOLDER
		                     " (the owner the guest's agent obeys is measured through it)",
		                     t);
	for (const gchar *p = t; *p != '\0'; p++) {
		if ((*p == '{' || *p == '}') && !(p >= at && p < at + strlen (OWNER_PLACEHOLDER)))
			return ac_json_fail (
			    &scope, error, "boot.cmdline_template",
			    "'%s': '%c' at offset %td: the only placeholder is " OWNER_PLACEHOLDER,
			    t, *p, p - t);
	}
	return TRUE;
}

static gboolean
parse_boot (AcSnpRuntime *rt, JsonObject *root, GError **error)
{
	static const gchar *const allowed[]
	    = { "method", "kernel_hashes", "cpu_models", "cmdline_template", NULL };
	JsonObject *b = NULL;
	gboolean kernel_hashes = FALSE;
	guint n;

	if (!ac_json_read_object (&scope, root, NULL, "boot", TRUE, &b, error)
	    || !ac_json_check_members (&scope, b, "boot", allowed, error)
	    || !read_constant (b, "boot", "method", "qemu-direct-kernel", error)
	    || !ac_json_read_bool (&scope, b, "boot", "kernel_hashes", TRUE, &kernel_hashes, error))
		return FALSE;
	if (!kernel_hashes)
		return ac_json_fail (
		    &scope, error, "boot.kernel_hashes",
		    "false: expected true (without kernel hashes the kernel, initrd "
		    "and command line are not measured)");
	if (!json_object_has_member (b, "cpu_models"))
		return ac_json_fail (&scope, error, "boot.cpu_models",
		                     "missing: an array is required");
	if (!ac_json_read_strv (&scope, b, "boot", "cpu_models", AC_SNP_RUNTIME_MAX_CPU_MODELS,
	                        &rt->cpu_models, error))
		return FALSE;
	n = rt->cpu_models != NULL ? g_strv_length (rt->cpu_models) : 0;
	if (n == 0)
		return ac_json_fail (&scope, error, "boot.cpu_models",
		                     "empty: expected 1 to %d QEMU CPU models such as EPYC-v4",
		                     AC_SNP_RUNTIME_MAX_CPU_MODELS);
	for (guint i = 0; i < n; i++) {
		g_autofree gchar *field = g_strdup_printf ("boot.cpu_models[%u]", i);
		g_autoptr (GError) local = NULL;
		guint32 sig;
		if (!ac_snp_vcpu_sig_from_type (rt->cpu_models[i], &sig, &local))
			return ac_json_fail (&scope, error, field, "%s", local->message);
		for (guint j = 0; j < i; j++) {
			if (g_strcmp0 (rt->cpu_models[i], rt->cpu_models[j]) == 0)
				return ac_json_fail (&scope, error, field,
				                     "'%s': already listed at [%u]",
				                     rt->cpu_models[i], j);
		}
	}
	if (!ac_json_read_string (&scope, b, "boot", "cmdline_template", TRUE,
	                          AC_SNP_RUNTIME_MAX_CMDLINE, &rt->cmdline_template, error))
		return FALSE;
	return check_cmdline_template (rt->cmdline_template, error);
}

static gboolean
parse_attestation (AcSnpRuntime *rt, JsonObject *root, GError **error)
{
	static const gchar *const allowed[] = { "protocol", "version", "transport", NULL };
	static const gchar *const transport_allowed[] = { "type", "port", NULL };
	JsonArray *a = NULL;
	JsonObject *e, *t = NULL;
	JsonNode *n;
	gint64 port = 0;

	if (!ac_json_read_array (&scope, root, NULL, "attestation", TRUE, 1, &a, error))
		return FALSE;
	if (json_array_get_length (a) != 1)
		return ac_json_fail (&scope, error, "attestation",
		                     "empty: expected one aleph.ra-tls endpoint");
	n = json_array_get_element (a, 0);
	if (!JSON_NODE_HOLDS_OBJECT (n))
		return ac_json_fail (&scope, error, "attestation[0]", "%s: expected an object",
		                     ac_json_type_name (n));
	e = json_node_get_object (n);
	if (!ac_json_check_members (&scope, e, "attestation[0]", allowed, error)
	    || !read_constant (e, "attestation[0]", "protocol", "aleph.ra-tls", error)
	    || !read_constant (e, "attestation[0]", "version", "1", error)
	    || !ac_json_read_object (&scope, e, "attestation[0]", "transport", TRUE, &t, error)
	    || !ac_json_check_members (&scope, t, "attestation[0].transport", transport_allowed,
	                               error)
	    || !read_constant (t, "attestation[0].transport", "type", "tcp", error)
	    || !ac_json_read_int (&scope, t, "attestation[0].transport", "port", TRUE, 1, 65535,
	                          &port, NULL, error))
		return FALSE;
	rt->attestation_port = (guint16)port;
	return TRUE;
}

static gboolean
parse_source (AcSnpRuntime *rt, JsonObject *root, GError **error)
{
	static const gchar *const allowed[] = { "repo", "rev", "build", NULL };
	JsonObject *s = NULL;
	if (!ac_json_read_object (&scope, root, NULL, "source", FALSE, &s, error))
		return FALSE;
	if (s == NULL)
		return TRUE;
	return ac_json_check_members (&scope, s, "source", allowed, error)
	       && ac_json_read_string (&scope, s, "source", "repo", FALSE, 1024, &rt->source_repo,
	                               error)
	       && ac_json_read_string (&scope, s, "source", "rev", FALSE, 1024, &rt->source_rev,
	                               error)
	       && ac_json_read_string (&scope, s, "source", "build", FALSE, 1024, &rt->source_build,
	                               error);
}

AcSnpRuntime *
ac_snp_runtime_parse (const gchar *data, gsize len, GError **error)
{
	static const gchar *const allowed[]
	    = { "format", "format_version", "name",        "version", "platform",
		"bundle", "boot",           "attestation", "source",  NULL };
	g_autoptr (AcSnpRuntime) rt = g_new0 (AcSnpRuntime, 1);
	g_autoptr (JsonNode) node = NULL;
	JsonObject *root;
	gint64 format_version = 0;
	gboolean present = FALSE;

	node = ac_json_parse_bounded ("runtime manifest", data, len, AC_SNP_RUNTIME_MAX_SIZE,
	                              AC_ERROR_INVALID_INPUT, error);
	if (node == NULL)
		return NULL;
	if (!JSON_NODE_HOLDS_OBJECT (node)) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "runtime manifest: %s, expected a JSON object",
		             ac_json_type_name (node));
		return NULL;
	}
	root = json_node_get_object (node);
	if (!ac_json_check_members (&scope, root, NULL, allowed, error)
	    || !read_constant (root, NULL, "format", AC_SNP_RUNTIME_FORMAT, error)
	    || !ac_json_read_int (&scope, root, NULL, "format_version", FALSE,
	                          AC_SNP_RUNTIME_FORMAT_VERSION, AC_SNP_RUNTIME_FORMAT_VERSION,
	                          &format_version, &present, error))
		return NULL;
	if (!present) {
		ac_json_fail (&scope, error, "format_version", "missing: expected 1");
		return NULL;
	}
	if (!read_constant (root, NULL, "platform", "sev_snp", error)
	    || !ac_json_read_string (&scope, root, NULL, "name", FALSE, 256, &rt->name, error)
	    || !ac_json_read_string (&scope, root, NULL, "version", FALSE, 256, &rt->version, error)
	    || !parse_bundle (rt, root, error) || !parse_boot (rt, root, error)
	    || !parse_attestation (rt, root, error) || !parse_source (rt, root, error))
		return NULL;
	return g_steal_pointer (&rt);
}

static void
add_string (JsonBuilder *b, const gchar *name, const gchar *value)
{
	if (value == NULL)
		return;
	json_builder_set_member_name (b, name);
	json_builder_add_string_value (b, value);
}

gchar *
ac_snp_runtime_to_json (const AcSnpRuntime *rt)
{
	g_autoptr (JsonBuilder) b = json_builder_new ();
	g_autoptr (JsonGenerator) gen = json_generator_new ();
	g_autoptr (JsonNode) root = NULL;
	g_autofree gchar *sha = ac_codec_hex_encode (rt->bundle_sha256, sizeof rt->bundle_sha256);

	/* members in byte order at every level: the canonical form */
	json_builder_begin_object (b);
	json_builder_set_member_name (b, "attestation");
	json_builder_begin_array (b);
	json_builder_begin_object (b);
	add_string (b, "protocol", "aleph.ra-tls");
	ac_json_builder_begin_member_object (b, "transport");
	ac_json_builder_add_int (b, "port", rt->attestation_port);
	add_string (b, "type", "tcp");
	json_builder_end_object (b);
	add_string (b, "version", "1");
	json_builder_end_object (b);
	json_builder_end_array (b);
	ac_json_builder_begin_member_object (b, "boot");
	add_string (b, "cmdline_template", rt->cmdline_template);
	json_builder_set_member_name (b, "cpu_models");
	json_builder_begin_array (b);
	for (guint i = 0; rt->cpu_models != NULL && rt->cpu_models[i] != NULL; i++)
		json_builder_add_string_value (b, rt->cpu_models[i]);
	json_builder_end_array (b);
	ac_json_builder_add_boolean (b, "kernel_hashes", TRUE);
	add_string (b, "method", "qemu-direct-kernel");
	json_builder_end_object (b);
	ac_json_builder_begin_member_object (b, "bundle");
	ac_json_builder_begin_member_object (b, "members");
	add_string (b, "initrd", rt->member_initrd);
	add_string (b, "kernel", rt->member_kernel);
	add_string (b, "ovmf", rt->member_ovmf);
	json_builder_end_object (b);
	add_string (b, "ref", rt->bundle_ref);
	add_string (b, "sha256", sha);
	ac_json_builder_add_int (b, "size", (gint64)rt->bundle_size);
	json_builder_end_object (b);
	add_string (b, "format", AC_SNP_RUNTIME_FORMAT);
	ac_json_builder_add_int (b, "format_version", AC_SNP_RUNTIME_FORMAT_VERSION);
	add_string (b, "name", rt->name);
	add_string (b, "platform", "sev_snp");
	if (rt->source_repo != NULL || rt->source_rev != NULL || rt->source_build != NULL) {
		ac_json_builder_begin_member_object (b, "source");
		add_string (b, "build", rt->source_build);
		add_string (b, "repo", rt->source_repo);
		add_string (b, "rev", rt->source_rev);
		json_builder_end_object (b);
	}
	add_string (b, "version", rt->version);
	json_builder_end_object (b);
	root = json_builder_get_root (b);
	json_generator_set_root (gen, root);
	json_generator_set_pretty (gen, FALSE);
	return json_generator_to_data (gen, NULL);
}

gboolean
ac_snp_runtime_check_bundle (const AcSnpRuntime *runtime, GBytes *bundle, GError **error)
{
	g_autoptr (GChecksum) sum = NULL;
	guint8 digest[32];
	gsize digest_len = sizeof (digest);
	gsize size;
	const guint8 *data;

	g_return_val_if_fail (runtime != NULL && bundle != NULL, FALSE);
	data = g_bytes_get_data (bundle, &size);
	if ((guint64)size != runtime->bundle_size) {
		g_set_error (error, AC_ERROR, AC_ERROR_MISMATCH,
		             "runtime bundle %s: %" G_GSIZE_FORMAT
		             " bytes, the manifest says %" G_GUINT64_FORMAT,
		             runtime->bundle_ref, size, runtime->bundle_size);
		return FALSE;
	}
	sum = g_checksum_new (G_CHECKSUM_SHA256);
	g_checksum_update (sum, data, size);
	g_checksum_get_digest (sum, digest, &digest_len);
	if (memcmp (digest, runtime->bundle_sha256, sizeof (digest)) != 0) {
		g_autofree gchar *got = ac_codec_hex_encode (digest, sizeof (digest));
		g_autofree gchar *want
		    = ac_codec_hex_encode (runtime->bundle_sha256, sizeof (runtime->bundle_sha256));
		g_set_error (error, AC_ERROR, AC_ERROR_MISMATCH,
		             "runtime bundle %s: SHA-256 %s, the manifest says %s",
		             runtime->bundle_ref, got, want);
		return FALSE;
	}
	return TRUE;
}

gboolean
ac_snp_runtime_extract (const AcSnpRuntime *runtime,
                        GBytes *bundle,
                        AcSnpRuntimeFiles *files,
                        GError **error)
{
	const gchar *names[] = { runtime->member_ovmf, runtime->member_kernel,
		                 runtime->member_initrd, NULL };
	GBytes *out[3] = { NULL };
	g_autofree gchar *what = g_strdup_printf ("runtime bundle %s", runtime->bundle_ref);

	g_return_val_if_fail (runtime != NULL && bundle != NULL && files != NULL, FALSE);
	if (!ac_tar_gz_extract (what, bundle, names, AC_SNP_RUNTIME_MAX_MEMBER,
	                        AC_SNP_RUNTIME_MAX_EXTRACTED, out, error))
		return FALSE;
	files->ovmf = out[0];
	files->kernel = out[1];
	files->initrd = out[2];
	return TRUE;
}

void
ac_snp_runtime_files_clear (AcSnpRuntimeFiles *files)
{
	g_clear_pointer (&files->ovmf, g_bytes_unref);
	g_clear_pointer (&files->kernel, g_bytes_unref);
	g_clear_pointer (&files->initrd, g_bytes_unref);
}

gchar *
ac_snp_runtime_owner_canonical (const gchar *owner, GError **error)
{
	if (owner == NULL || strlen (owner) != 42 || owner[0] != '0' || owner[1] != 'x'
	    || !ac_codec_hex_is_valid (owner + 2, 40, AC_CODEC_HEX_DEFAULT)) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "owner '%s': expected an Ethereum address, 0x and 40 hex digits (the "
		             "account that signs the INSTANCE)",
		             owner != NULL ? owner : "(none)");
		return NULL;
	}
	return g_ascii_strdown (owner, -1);
}

gchar *
ac_snp_runtime_render_cmdline (const AcSnpRuntime *runtime, const gchar *owner, GError **error)
{
	g_autofree gchar *lower = ac_snp_runtime_owner_canonical (owner, error);
	const gchar *at;

	if (lower == NULL)
		return NULL;
	at = strstr (runtime->cmdline_template, OWNER_PLACEHOLDER);
	g_return_val_if_fail (at != NULL, NULL); /* the parser requires it */
	return g_strdup_printf ("%.*s%s%s", (int)(at - runtime->cmdline_template),
	                        runtime->cmdline_template, lower, at + strlen (OWNER_PLACEHOLDER));
}

gboolean
ac_snp_runtime_expected_measurements (const AcSnpRuntime *runtime,
                                      const AcSnpRuntimeFiles *files,
                                      const gchar *owner,
                                      guint vcpus,
                                      AcSnpRuntimeMeasurement **out,
                                      guint *n_out,
                                      GError **error)
{
	g_autofree gchar *cmdline = NULL;
	g_autofree AcSnpRuntimeMeasurement *ms = NULL;
	guint8 ovmf_hash[AC_SNP_LD_SIZE];
	guint n;

	g_return_val_if_fail (runtime != NULL && files != NULL && out != NULL && n_out != NULL,
	                      FALSE);
	if (files->ovmf == NULL || files->kernel == NULL || files->initrd == NULL) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		                     "runtime: the OVMF, kernel and initrd of the bundle are all "
		                     "needed to compute its launch digests");
		return FALSE;
	}
	if (vcpus == 0 || vcpus > AC_SNP_MAX_VCPUS) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "runtime: %u vCPUs, expected 1 to %u", vcpus, AC_SNP_MAX_VCPUS);
		return FALSE;
	}
	cmdline = ac_snp_runtime_render_cmdline (runtime, owner, error);
	if (cmdline == NULL)
		return FALSE;
	if (!ac_snp_ovmf_hash (files->ovmf, ovmf_hash, error)) {
		g_prefix_error (error, "runtime OVMF '%s': ", runtime->member_ovmf);
		return FALSE;
	}
	n = g_strv_length (runtime->cpu_models);
	ms = g_new0 (AcSnpRuntimeMeasurement, n);
	for (guint i = 0; i < n; i++) {
		AcSnpLaunchInputs in = { 0 };
		in.firmware = files->ovmf;
		in.ovmf_hash = ovmf_hash;
		in.kernel = files->kernel;
		in.initrd = files->initrd;
		in.cmdline = cmdline;
		in.vcpus = vcpus;
		in.guest_features = AC_SNP_GUEST_FEATURES_DEFAULT;
		in.vmm_type = AC_SNP_VMM_QEMU;
		if (!ac_snp_vcpu_sig_from_type (runtime->cpu_models[i], &in.vcpu_sig, error)
		    || !ac_snp_launch_digest (&in, ms[i].launch, error)) {
			g_prefix_error (error, "runtime, CPU model %s: ", runtime->cpu_models[i]);
			return FALSE;
		}
		ms[i].vcpu_type = runtime->cpu_models[i];
	}
	*out = g_steal_pointer (&ms);
	*n_out = n;
	return TRUE;
}
