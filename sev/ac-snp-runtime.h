/*
 * The Aleph SEV-SNP instance runtime: the `aleph-instance-runtime/1` manifest an SNP INSTANCE
 * names in trusted_execution.runtime (a STORE object), the bundle it describes (OVMF, kernel,
 * initrd in a tar.gz STORE object), and the launch digests a guest booted from it must show:
 * one per CPU model the manifest lists, with the owner's address rendered into the measured
 * kernel command line. The manifest and the bundle come from the network: untrusted.
 * docs/snp.md, "Aleph: INSTANCE and runtime".
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

#include "ac-snp-measure.h"

G_BEGIN_DECLS

#define AC_SNP_RUNTIME_FORMAT "aleph-instance-runtime"
#define AC_SNP_RUNTIME_FORMAT_VERSION 1
/* the largest manifest read */
#define AC_SNP_RUNTIME_MAX_SIZE (64 * 1024)
/* the most CPU models a manifest may list (one measurement each; aleph-message's limit) */
#define AC_SNP_RUNTIME_MAX_CPU_MODELS 16
/* the longest command line template, in bytes */
#define AC_SNP_RUNTIME_MAX_CMDLINE 2048
/* the largest bundle accepted (bytes) */
#define AC_SNP_RUNTIME_MAX_BUNDLE (G_GUINT64_CONSTANT (4) << 30)

typedef struct {
	gchar *name;    /* nullable: informational */
	gchar *version; /* nullable: informational */
	/* bundle */
	gchar *bundle_ref; /* STORE item hash, 64 lowercase hex */
	guint8 bundle_sha256[32];
	guint64 bundle_size;
	gchar *member_ovmf; /* paths inside the bundle: relative, no "..", distinct */
	gchar *member_kernel;
	gchar *member_initrd;
	/* boot (method qemu-direct-kernel, kernel_hashes true) */
	gchar **cpu_models;      /* 1 to AC_SNP_RUNTIME_MAX_CPU_MODELS distinct QEMU -cpu models */
	gchar *cmdline_template; /* printable ASCII with exactly one "{owner}" */
	/* attestation: the aleph.ra-tls 1 endpoint over TCP */
	guint16 attestation_port;
	/* source (nullable: provenance only) */
	gchar *source_repo;
	gchar *source_rev;
	gchar *source_build;
} AcSnpRuntime;

/*
 * Parses a manifest strictly: at most AC_SNP_RUNTIME_MAX_SIZE bytes, one JSON object with only
 * the members of the format (format, format_version, name, version, platform, bundle, boot,
 * attestation, source), each of its type and within its limits; format
 * "aleph-instance-runtime", format_version 1, platform "sev_snp", boot.method
 * "qemu-direct-kernel", boot.kernel_hashes true, every CPU model known to
 * ac_snp_vcpu_sig_from_type(), one attestation entry {protocol "aleph.ra-tls", version "1",
 * transport {type "tcp", port}}. AC_ERROR_INVALID_INPUT naming the field otherwise.
 */
AcSnpRuntime *
ac_snp_runtime_parse (const gchar *data, gsize len, GError **error);
void
ac_snp_runtime_free (AcSnpRuntime *runtime);

/* the manifest as canonical JSON (every object's members in byte order, compact; the optional
 * members only when set): what ac_snp_runtime_parse() reads back into the same runtime */
gchar *
ac_snp_runtime_to_json (const AcSnpRuntime *runtime);

/* @bundle (the STORE object bundle_ref names) has the manifest's size and SHA-256; size first,
 * so nothing is hashed of a bundle of another size. AC_ERROR_MISMATCH naming both values */
gboolean
ac_snp_runtime_check_bundle (const AcSnpRuntime *runtime, GBytes *bundle, GError **error);

/* "0x" and 40 hex digits, any case: the owner lower-cased ("0x9319ad…"), or NULL with
 * AC_ERROR_INVALID_INPUT */
gchar *
ac_snp_runtime_owner_canonical (const gchar *owner, GError **error);

/* the measured kernel command line: the template with "{owner}" replaced by the owner
 * lower-cased (ac_snp_runtime_owner_canonical); the owner is the address that signs the
 * INSTANCE message (its sender), not content.address when they differ */
gchar *
ac_snp_runtime_render_cmdline (const AcSnpRuntime *runtime, const gchar *owner, GError **error);

/* the bundle's members, read by the caller from the checked bundle */
typedef struct {
	GBytes *ovmf;
	GBytes *kernel;
	GBytes *initrd;
} AcSnpRuntimeFiles;

/* the largest member extracted from a bundle, and the most bytes a bundle may decompress to */
#define AC_SNP_RUNTIME_MAX_MEMBER (G_GUINT64_CONSTANT (1) << 30)
#define AC_SNP_RUNTIME_MAX_EXTRACTED (G_GUINT64_CONSTANT (8) << 30)

/*
 * The manifest's three members out of @bundle, a gzip-compressed tar archive the caller has
 * checked with ac_snp_runtime_check_bundle() first: each must be in it exactly once, as a
 * regular file of at most AC_SNP_RUNTIME_MAX_MEMBER bytes (lib/ac-tar.h; nothing is written to
 * disk). AC_ERROR_INVALID_INPUT naming the bundle and the member otherwise. Clear @files with
 * ac_snp_runtime_files_clear().
 */
gboolean
ac_snp_runtime_extract (const AcSnpRuntime *runtime,
                        GBytes *bundle,
                        AcSnpRuntimeFiles *files,
                        GError **error);
void
ac_snp_runtime_files_clear (AcSnpRuntimeFiles *files);

typedef struct {
	const gchar *vcpu_type; /* the manifest's string */
	guint8 launch[AC_SNP_LD_SIZE];
} AcSnpRuntimeMeasurement;

/*
 * The launch digest of a guest booted from @files with the command line rendered for @owner,
 * @vcpus vCPUs (the INSTANCE's resources.vcpus), guest features 0x1 and QEMU, for every CPU
 * model of the manifest in its order: @out gets g_strv_length (cpu_models) entries (free with
 * g_free; the vcpu_type strings belong to @runtime). Errors of the measurement (an OVMF without
 * SNP metadata, a kernel hashes page missing …) are AC_ERROR_INVALID_INPUT.
 */
gboolean
ac_snp_runtime_expected_measurements (const AcSnpRuntime *runtime,
                                      const AcSnpRuntimeFiles *files,
                                      const gchar *owner,
                                      guint vcpus,
                                      AcSnpRuntimeMeasurement **out,
                                      guint *n_out,
                                      GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (AcSnpRuntime, ac_snp_runtime_free)

G_END_DECLS
