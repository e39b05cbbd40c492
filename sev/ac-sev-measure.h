/*
 * Launch digest (GCTX.LD) and launch measurement: the firmware, the optional kernel-hashes
 * table (kernel, initrd, cmdline), SEV-ES VMSAs for N vCPUs (legacy KVM_SEV_ES_INIT and
 * KVM_SEV_INIT2 layouts), the OVMF footer GUID table, and the constant-time check of the
 * 48-byte LAUNCH_MEASURE blob together with the reported policy and firmware version.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>
#include <openssl/evp.h>

G_BEGIN_DECLS

#define AC_SEV_MEASURE_BLOB_SIZE	   48
#define AC_SEV_KERNEL_HASHES_TABLE_SIZE 176
#define AC_SEV_VMSA_SIZE		   4096

#define AC_SEV_OVMF_GUID_FOOTER	     "96b582de-1fb2-45f7-baea-a366c55a082d"
#define AC_SEV_OVMF_GUID_ES_RESET    "00f771de-1a7e-4fcb-890e-68c77e2fb44e"
#define AC_SEV_OVMF_GUID_HASH_TABLE  "7255371f-3a3b-4b04-927b-1da6efa8d454"
#define AC_SEV_OVMF_GUID_SECRET_AREA "4c2eb361-7d9b-4cc3-8081-127c90d3d294"

/* MEASURE = HMAC(TIK, 0x04 ‖ major ‖ minor ‖ build ‖ LE32(policy) ‖ LD ‖ MNONCE); API < 0.17
 * omits the first four bytes */
gboolean ac_sev_measurement_compute (const guint8 tik[16],
				     guint8 api_major,
				     guint8 api_minor,
				     guint8 build_id,
				     guint32 policy,
				     const guint8 ld[32],
				     const guint8 mnonce[16],
				     guint8 out[32],
				     GError **error);

/* ---- OVMF footer table ---- */

typedef struct _AcSevOvmf AcSevOvmf;

AcSevOvmf *ac_sev_ovmf_parse (const guint8 *firmware, gsize len, GError **error);
void ac_sev_ovmf_free (AcSevOvmf *self);
gboolean ac_sev_ovmf_has_table (AcSevOvmf *self);
const guint8 *ac_sev_ovmf_get_entry (AcSevOvmf *self, const gchar *guid, gsize *len);
gboolean ac_sev_ovmf_get_es_reset_addr (AcSevOvmf *self, guint32 *addr, GError **error);
gboolean ac_sev_ovmf_get_hash_table (AcSevOvmf *self, guint32 *base, guint32 *size, GError **error);
gboolean ac_sev_ovmf_get_secret_area (AcSevOvmf *self, guint32 *base, guint32 *size, GError **error);
/* FALSE (AC_ERROR_INVALID_INPUT naming the GUID) when a GUID appears twice in the table: readers
 * disagree on which one counts (the SNP launch digest refuses such an image) */
gboolean ac_sev_ovmf_check_unique (AcSevOvmf *self, GError **error);

/* ---- kernel hashes table (QEMU PaddedSevHashTable) ---- */

gboolean ac_sev_kernel_hashes_table (const guint8 *kernel,
				     gsize kernel_len,
				     const guint8 *initrd,
				     gsize initrd_len,
				     const gchar *cmdline,
				     guint8 out[AC_SEV_KERNEL_HASHES_TABLE_SIZE],
				     GError **error);
/* the same table of the SHA-256 digests already computed (of the command line with its NUL,
 * of the initrd, of the kernel): for a caller that hashes the files at the same time */
void ac_sev_kernel_hashes_table_fill (const guint8 cmdline_sha256[32],
				      const guint8 initrd_sha256[32],
				      const guint8 kernel_sha256[32],
				      guint8 out[AC_SEV_KERNEL_HASHES_TABLE_SIZE]);

/* ---- SEV-ES VMSA ---- */

typedef enum {
	AC_SEV_VMSA_LEGACY, /* KVM_SEV_ES_INIT: mxcsr = x87 fcw = 0 (libvirt, sevctl) */
	AC_SEV_VMSA_INIT2,  /* KVM_SEV_INIT2: mxcsr = 0x1f80, fcw = 0x37f (virtee) */
} AcSevVmsaVariant;

guint32 ac_sev_cpu_signature (guint family, guint model, guint stepping);
void ac_sev_vmsa_build (gboolean bsp,
			guint32 ap_reset_addr,
			guint32 cpu_signature,
			AcSevVmsaVariant variant,
			guint8 out[AC_SEV_VMSA_SIZE]);

/* ---- launch digest ---- */

typedef struct {
	guint32 policy;	 /* ES bit decides whether VMSAs are measured */
	GBytes *firmware; /* the whole pflash unit 0 image */
	GBytes *kernel;	 /* nullable: direct kernel boot with kernel-hashes=on */
	GBytes *initrd;	 /* nullable */
	const gchar *cmdline; /* nullable */
	guint num_cpus;	 /* SEV-ES */
	GBytes *vmsa_cpu0; /* SEV-ES: given VMSA pages, or NULL to build them from ... */
	GBytes *vmsa_cpu1;
	guint cpu_family; /* ... the vCPU model and the firmware's AP reset address */
	guint cpu_model;
	guint cpu_stepping;
	AcSevVmsaVariant vmsa_variant;
} AcSevLaunchInputs;

gboolean ac_sev_launch_digest (const AcSevLaunchInputs *in, guint8 ld[32], GError **error);

/* ---- verification ---- */

gboolean ac_sev_measurement_verify (const guint8 *blob,
				    gsize blob_len,
				    const guint8 tik[16],
				    guint8 api_major,
				    guint8 api_minor,
				    guint8 build_id,
				    guint32 policy,
				    const guint8 ld[32],
				    GError **error);
/* ATTESTATION report: mnonce(16) ‖ LD(32) ‖ LE32 policy ‖ LE32 sig usage (PEK) ‖ LE32 sig algo
 * (ECDSA-SHA256) ‖ reserved(4) ‖ r(72) ‖ s(72); signed over the first 0x34 bytes */
#define AC_SEV_ATTESTATION_REPORT_SIZE 0xd0

gboolean ac_sev_attestation_report_verify (const guint8 *report,
					   gsize len,
					   EVP_PKEY *pek,
					   const guint8 mnonce[16],
					   const guint8 ld[32],
					   guint32 policy,
					   GError **error);
gboolean ac_sev_launch_check_platform (guint32 requested_policy,
				       guint32 reported_policy,
				       guint8 api_major,
				       guint8 api_minor,
				       guint8 min_api_major,
				       guint8 min_api_minor,
				       GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (AcSevOvmf, ac_sev_ovmf_free)

G_END_DECLS
