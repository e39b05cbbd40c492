/*
 * SEV-SNP launch digest (the report's MEASUREMENT) for QEMU + OVMF, as sev-snp-measure
 * computes it: the PAGE_INFO SHA-384 chain over the firmware pages, the sections the OVMF SEV
 * metadata ("ASEV") declares, the kernel hashes page and one VMSA page per vCPU.
 *
 * The OVMF footer table and the kernel hashes table are those of SEV (ac-sev-measure.h).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

#include "ac-sev-measure.h"

G_BEGIN_DECLS

#define AC_SNP_LD_SIZE 48
#define AC_SNP_PAGE_SIZE 4096
/* VMSA pages are measured at this GPA, not at their real address */
#define AC_SNP_VMSA_GPA G_GUINT64_CONSTANT (0x0000FFFFFFFFF000)
/* the most vCPUs accepted (as for SEV-ES) */
#define AC_SNP_MAX_VCPUS 512

#define AC_SEV_OVMF_GUID_SEV_METADATA "dc886566-984a-4798-a75e-5585a7bf67cc"

/* PAGE_INFO.PAGE_TYPE */
typedef enum {
	AC_SNP_PAGE_NORMAL = 1,
	AC_SNP_PAGE_VMSA = 2,
	AC_SNP_PAGE_ZERO = 3,
	AC_SNP_PAGE_UNMEASURED = 4,
	AC_SNP_PAGE_SECRETS = 5,
	AC_SNP_PAGE_CPUID = 6,
} AcSnpPageType;

/* "NORMAL", "VMSA", "ZERO", "UNMEASURED", "SECRETS", "CPUID" */
const gchar *
ac_snp_page_type_to_string (AcSnpPageType type);

/* OVMF SEV metadata section types */
typedef enum {
	AC_SNP_SECTION_SNP_SEC_MEM = 1,
	AC_SNP_SECTION_SNP_SECRETS = 2,
	AC_SNP_SECTION_CPUID = 3,
	AC_SNP_SECTION_SVSM_CAA = 4,
	AC_SNP_SECTION_SNP_KERNEL_HASHES = 0x10,
} AcSnpSectionType;

/* "SNP_SEC_MEM", "SNP_SECRETS", "CPUID", "SVSM_CAA", "SNP_KERNEL_HASHES", or NULL */
const gchar *
ac_snp_section_type_to_string (AcSnpSectionType type);

typedef struct {
	guint32 gpa;
	guint32 size;
	AcSnpSectionType type;
} AcSnpSection;

/* ---- the PAGE_INFO chain ---- */

/* @out = SHA-384(PAGE_INFO{@ld, @contents, 0x70, @type, 0, 0, 0, 0, 0, @gpa}); @contents
 * (nullable: 48 zero bytes) is SHA-384 of the page for NORMAL and VMSA pages. @out may be @ld */
void
ac_snp_page_info_digest (const guint8 ld[AC_SNP_LD_SIZE],
                         AcSnpPageType type,
                         guint64 gpa,
                         const guint8 *contents,
                         guint8 out[AC_SNP_LD_SIZE]);

/* the launch digest after the firmware pages alone (sev-snp-measure --mode snp:ovmf-hash): the
 * image as NORMAL pages ending at 4 GiB; its size must be a non-zero multiple of 4096 */
gboolean
ac_snp_ovmf_hash (GBytes *firmware, guint8 out[AC_SNP_LD_SIZE], GError **error);

/* ---- the OVMF image, for SNP ---- */

typedef struct _AcSnpOvmf AcSnpOvmf;

/* parses the footer table and the SEV metadata of an untrusted image; every offset, size, GPA
 * and section is checked (AC_ERROR_INVALID_INPUT naming what is wrong). Needs the SEV metadata
 * and the SEV-ES reset block; refuses a GUID twice in the footer table, unknown or overlapping
 * sections, sections not page-aligned or overlapping the firmware, SNP_SECRETS, CPUID and
 * SNP_KERNEL_HASHES that are not one page or appear twice, and a kernel hashes table that is
 * not inside the SNP_KERNEL_HASHES page. @firmware is referenced, not copied */
AcSnpOvmf *
ac_snp_ovmf_parse (GBytes *firmware, GError **error);
void
ac_snp_ovmf_free (AcSnpOvmf *self);
/* where the image starts: 4 GiB minus its size */
guint64
ac_snp_ovmf_get_gpa (AcSnpOvmf *self);
/* the sections, in the metadata's order */
const AcSnpSection *
ac_snp_ovmf_get_sections (AcSnpOvmf *self, guint *n_sections);
/* the EIP the APs start at (SEV-ES reset block) */
guint32
ac_snp_ovmf_get_ap_eip (AcSnpOvmf *self);
/* FALSE when the firmware has no SNP_KERNEL_HASHES section (it cannot measure a kernel) */
gboolean
ac_snp_ovmf_get_hashes_table_gpa (AcSnpOvmf *self, guint32 *gpa);

/* ---- vCPUs ---- */

/* QEMU -cpu models sev-snp-measure knows: "EPYC", "EPYC-v1" … "EPYC-Turin-v1"; NULL-terminated */
const gchar *const *
ac_snp_vcpu_types (void);
/* CPUID(1).EAX of a QEMU -cpu model (exact name, as sev-snp-measure); AC_ERROR_INVALID_INPUT
 * listing the known ones otherwise */
gboolean
ac_snp_vcpu_sig_from_type (const gchar *type, guint32 *sig, GError **error);
/* the signature of family/model/stepping; refuses values that do not fit (family > 0x10e,
 * model > 0xff, stepping > 0xf) instead of truncating them */
gboolean
ac_snp_vcpu_sig_from_fms (guint64 family,
                          guint64 model,
                          guint64 stepping,
                          guint32 *sig,
                          GError **error);

/* VMSA sev_features bits that are defined (0-10, 12, 14, 15); bit 0 (SNPActive) is required */
#define AC_SNP_GUEST_FEATURES_DEFINED G_GUINT64_CONSTANT (0xD7FF)
#define AC_SNP_GUEST_FEATURES_DEFAULT G_GUINT64_CONSTANT (0x1)
gboolean
ac_snp_guest_features_check (guint64 features, GError **error);

typedef enum {
	AC_SNP_VMM_QEMU = 0,
} AcSnpVmmType;

/* "QEMU" (any case); "ec2" and "gce" are refused as not supported */
gboolean
ac_snp_vmm_type_from_string (const gchar *text, AcSnpVmmType *out, GError **error);

/* the initial VMSA page QEMU gives one vCPU: the SEV-ES INIT2 layout (ac_sev_vmsa_build) with
 * sev_features = @guest_features */
void
ac_snp_vmsa_build (gboolean bsp,
                   guint32 ap_eip,
                   guint32 vcpu_sig,
                   guint64 guest_features,
                   guint8 out[AC_SEV_VMSA_SIZE]);

/* ---- the launch digest ---- */

typedef enum {
	AC_SNP_STAGE_FIRMWARE,
	AC_SNP_STAGE_SECTION, /* index: the section's number in the metadata */
	AC_SNP_STAGE_VMSA,    /* index: the vCPU */
} AcSnpStage;

/* one page's contribution, for a trace */
typedef struct {
	AcSnpStage stage;
	guint index;
	AcSnpSectionType section_type; /* AC_SNP_STAGE_SECTION */
	guint64 gpa;
	AcSnpPageType type;
	const guint8 *contents; /* 48 bytes */
	const guint8 *ld;       /* 48 bytes: the launch digest after this page */
} AcSnpPageTrace;

typedef void (*AcSnpTraceFunc) (const AcSnpPageTrace *page, gpointer user_data);

typedef struct {
	GBytes *firmware;        /* the OVMF image (pflash unit 0 / -bios) */
	const guint8 *ovmf_hash; /* nullable: ac_snp_ovmf_hash() of it, precomputed (48 bytes) */
	GBytes *kernel;          /* nullable: direct kernel boot with kernel hashes */
	GBytes *initrd;          /* nullable (needs a kernel) */
	const gchar *cmdline;    /* nullable (needs a kernel); hashed exactly as given */
	guint vcpus;             /* 1 to AC_SNP_MAX_VCPUS */
	guint32 vcpu_sig;
	guint64 guest_features; /* ac_snp_guest_features_check() */
	AcSnpVmmType vmm_type;
	AcSnpTraceFunc trace; /* nullable: called for every page, in launch order, in the
	                       * calling thread */
	gpointer trace_data;
} AcSnpLaunchInputs;

gboolean
ac_snp_launch_digest (const AcSnpLaunchInputs *in, guint8 ld[AC_SNP_LD_SIZE], GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (AcSnpOvmf, ac_snp_ovmf_free)

G_END_DECLS
