/*
 * SEV-SNP launch digest for QEMU + OVMF.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ac-digest.h"
#include "ac-error.h"
#include "ac-sev-ossl-private.h"
#include "ac-snp-measure.h"

#define PAGE_INFO_SIZE 0x70
#define FOUR_GIB G_GUINT64_CONSTANT (0x100000000)

/* SEV metadata header: "ASEV", u32 size (header + descriptors), u32 version, u32 count */
#define SEV_METADATA_HEADER 16
#define SEV_METADATA_DESC 12

const gchar *
ac_snp_page_type_to_string (AcSnpPageType type)
{
	switch (type) {
	case AC_SNP_PAGE_NORMAL:
		return "NORMAL";
	case AC_SNP_PAGE_VMSA:
		return "VMSA";
	case AC_SNP_PAGE_ZERO:
		return "ZERO";
	case AC_SNP_PAGE_UNMEASURED:
		return "UNMEASURED";
	case AC_SNP_PAGE_SECRETS:
		return "SECRETS";
	case AC_SNP_PAGE_CPUID:
		return "CPUID";
	default:
		return "unknown";
	}
}

const gchar *
ac_snp_section_type_to_string (AcSnpSectionType type)
{
	switch (type) {
	case AC_SNP_SECTION_SNP_SEC_MEM:
		return "SNP_SEC_MEM";
	case AC_SNP_SECTION_SNP_SECRETS:
		return "SNP_SECRETS";
	case AC_SNP_SECTION_CPUID:
		return "CPUID";
	case AC_SNP_SECTION_SVSM_CAA:
		return "SVSM_CAA";
	case AC_SNP_SECTION_SNP_KERNEL_HASHES:
		return "SNP_KERNEL_HASHES";
	default:
		return NULL;
	}
}

/* ------------------------------------------------------------------------------------------ */
/* the PAGE_INFO chain                                                                        */

void
ac_snp_page_info_digest (const guint8 ld[AC_SNP_LD_SIZE],
                         AcSnpPageType type,
                         guint64 gpa,
                         const guint8 *contents,
                         guint8 out[AC_SNP_LD_SIZE])
{
	guint8 info[PAGE_INFO_SIZE] = { 0 };

	memcpy (info, ld, AC_SNP_LD_SIZE);
	if (contents != NULL)
		memcpy (info + 0x30, contents, AC_SNP_LD_SIZE);
	ac_sev_put_le16 (info + 0x60, PAGE_INFO_SIZE);
	info[0x62] = (guint8)type;
	/* IMI_PAGE, VMPL3/2/1 permissions and the reserved byte stay 0 */
	ac_sev_put_le32 (info + 0x68, (guint32)gpa);
	ac_sev_put_le32 (info + 0x6c, (guint32)(gpa >> 32));
	ac_sha384 (info, sizeof (info), out);
}

/* below this much, a thread (or a prefault) costs more than it saves */
#define AC_SNP_HASH_THREAD_MIN (1024 * 1024)

/* @data's pages mapped in one call before they are hashed, rather than a page fault every few
 * pages: firmware, kernel and initrd are usually files mapped from the page cache (advice
 * only: ignored where unsupported, and for small inputs) */
static void
ac_snp_prefault (const guint8 *data, gsize len)
{
#ifdef MADV_POPULATE_READ
	gsize page = (gsize)sysconf (_SC_PAGESIZE);
	guintptr start;

	if (data == NULL || len < AC_SNP_HASH_THREAD_MIN)
		return;
	start = (guintptr)data & ~(guintptr)(page - 1);
	(void)madvise ((gpointer)start, (guintptr)data + len - start, MADV_POPULATE_READ);
#endif
}

/* the running digest and where the pages come from, for the trace */
typedef struct {
	guint8 ld[AC_SNP_LD_SIZE];
	AcSnpTraceFunc trace;
	gpointer trace_data;
	AcSnpStage stage;
	guint index;
	AcSnpSectionType section_type;
} AcSnpGctx;

static void
ac_snp_gctx_page (AcSnpGctx *g, AcSnpPageType type, guint64 gpa, const guint8 *contents)
{
	static const guint8 zeros[AC_SNP_LD_SIZE] = { 0 };

	ac_snp_page_info_digest (g->ld, type, gpa, contents, g->ld);
	if (g->trace != NULL) {
		AcSnpPageTrace t = {
			.stage = g->stage,
			.index = g->index,
			.section_type = g->section_type,
			.gpa = gpa,
			.type = type,
			.contents = contents != NULL ? contents : zeros,
			.ld = g->ld,
		};
		g->trace (&t, g->trace_data);
	}
}

/* @data (a multiple of the page size) as NORMAL pages from @gpa */
static void
ac_snp_gctx_normal_pages (AcSnpGctx *g, guint64 gpa, const guint8 *data, gsize len)
{
	for (gsize off = 0; off < len; off += AC_SNP_PAGE_SIZE) {
		guint8 h[AC_SNP_LD_SIZE];
		ac_sha384 (data + off, AC_SNP_PAGE_SIZE, h);
		ac_snp_gctx_page (g, AC_SNP_PAGE_NORMAL, gpa + off, h);
	}
}

/* pages of @type with no contents over [gpa, gpa + size) */
static void
ac_snp_gctx_empty_pages (AcSnpGctx *g, AcSnpPageType type, guint64 gpa, guint64 size)
{
	for (guint64 off = 0; off < size; off += AC_SNP_PAGE_SIZE)
		ac_snp_gctx_page (g, type, gpa + off, NULL);
}

static gboolean
ac_snp_check_firmware_size (GBytes *firmware, GError **error)
{
	gsize len = firmware != NULL ? g_bytes_get_size (firmware) : 0;

	if (len == 0 || len % AC_SNP_PAGE_SIZE != 0 || (guint64)len > FOUR_GIB) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "OVMF image has %" G_GSIZE_FORMAT
		             " bytes, expected a non-zero multiple of 4096 of at most 4 GiB (SNP "
		             "measures whole pages, the image ends at 4 GiB)",
		             len);
		return FALSE;
	}
	return TRUE;
}

static gboolean
ac_snp_gctx_firmware (AcSnpGctx *g, GBytes *firmware, GError **error)
{
	gsize len = 0;
	const guint8 *fw;

	if (!ac_snp_check_firmware_size (firmware, error))
		return FALSE;
	fw = g_bytes_get_data (firmware, &len);
	ac_snp_prefault (fw, len);
	g->stage = AC_SNP_STAGE_FIRMWARE;
	g->index = 0;
	ac_snp_gctx_normal_pages (g, FOUR_GIB - len, fw, len);
	return TRUE;
}

/**
 * ac_snp_ovmf_hash:
 *
 * The launch digest after the firmware's pages only. It does not depend on the kernel, the
 * vCPUs or the OVMF metadata, so it can be computed once per firmware and given to
 * ac_snp_launch_digest() as #AcSnpLaunchInputs.ovmf_hash.
 */
gboolean
ac_snp_ovmf_hash (GBytes *firmware, guint8 out[AC_SNP_LD_SIZE], GError **error)
{
	AcSnpGctx g = { { 0 } };

	if (!ac_snp_gctx_firmware (&g, firmware, error))
		return FALSE;
	memcpy (out, g.ld, AC_SNP_LD_SIZE);
	return TRUE;
}

/* ------------------------------------------------------------------------------------------ */
/* OVMF                                                                                       */

struct _AcSnpOvmf {
	GBytes *firmware;
	guint64 gpa;
	GArray *sections; /* AcSnpSection */
	guint32 ap_eip;
	gboolean has_hashes;
	guint32 hashes_gpa;
};

void
ac_snp_ovmf_free (AcSnpOvmf *self)
{
	if (self == NULL)
		return;
	if (self->sections != NULL)
		g_array_unref (self->sections);
	if (self->firmware != NULL)
		g_bytes_unref (self->firmware);
	g_free (self);
}

guint64
ac_snp_ovmf_get_gpa (AcSnpOvmf *self)
{
	return self->gpa;
}

const AcSnpSection *
ac_snp_ovmf_get_sections (AcSnpOvmf *self, guint *n_sections)
{
	if (n_sections != NULL)
		*n_sections = self->sections->len;
	return (const AcSnpSection *)(gconstpointer)self->sections->data;
}

guint32
ac_snp_ovmf_get_ap_eip (AcSnpOvmf *self)
{
	return self->ap_eip;
}

gboolean
ac_snp_ovmf_get_hashes_table_gpa (AcSnpOvmf *self, guint32 *gpa)
{
	if (self->has_hashes && gpa != NULL)
		*gpa = self->hashes_gpa;
	return self->has_hashes;
}

/* the SEV metadata header at len - offset: where its descriptors are and how many */
static gboolean
ac_snp_ovmf_metadata (const guint8 *fw,
                      gsize len,
                      AcSevOvmf *table,
                      const guint8 **descs,
                      guint32 *count,
                      GError **error)
{
	gsize elen = 0;
	const guint8 *e = ac_sev_ovmf_get_entry (table, AC_SEV_OVMF_GUID_SEV_METADATA, &elen);
	guint32 offset, size, version;
	gsize start;

	if (e == NULL || elen < 4) {
		g_set_error (
		    error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		    "OVMF image has no SEV metadata entry (GUID %s) of 4 bytes in its footer "
		    "table%s: not an SEV-SNP capable build",
		    AC_SEV_OVMF_GUID_SEV_METADATA, e == NULL ? "" : " (entry too short)");
		return FALSE;
	}
	offset = ac_sev_le32 (e);
	if (offset < SEV_METADATA_HEADER || offset > len) {
		g_set_error (
		    error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		    "OVMF SEV metadata offset 0x%x (from the end) is outside the %" G_GSIZE_FORMAT
		    "-byte image, expected 16 to the image size",
		    offset, len);
		return FALSE;
	}
	start = len - offset;
	if (memcmp (fw + start, "ASEV", 4) != 0) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "OVMF SEV metadata at offset 0x%" G_GSIZE_FORMAT
		             " has signature %02x%02x%02x%02x, expected \"ASEV\"",
		             start, fw[start], fw[start + 1], fw[start + 2], fw[start + 3]);
		return FALSE;
	}
	size = ac_sev_le32 (fw + start + 4);
	version = ac_sev_le32 (fw + start + 8);
	*count = ac_sev_le32 (fw + start + 12);
	if (version != 1) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "OVMF SEV metadata version %u, expected 1", version);
		return FALSE;
	}
	if (*count == 0 || size > offset || size < SEV_METADATA_HEADER
	    || (size - SEV_METADATA_HEADER) / SEV_METADATA_DESC != *count
	    || (size - SEV_METADATA_HEADER) % SEV_METADATA_DESC != 0) {
		g_set_error (
		    error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		    "OVMF SEV metadata has size %u and %u sections, expected a size of 16 + "
		    "12 per section (at least one), within the %u bytes up to the image's end",
		    size, *count, offset);
		return FALSE;
	}
	*descs = fw + start + SEV_METADATA_HEADER;
	return TRUE;
}

/* one descriptor: known type, page-aligned, below the firmware, no overlap with the earlier
 * ones, single pages where one page is what QEMU and sev-snp-measure agree on */
static gboolean
ac_snp_ovmf_check_section (AcSnpOvmf *self, guint i, const AcSnpSection *s, GError **error)
{
	const gchar *name = ac_snp_section_type_to_string (s->type);
	guint64 end = (guint64)s->gpa + s->size;

	if (name == NULL) {
		g_set_error (
		    error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		    "OVMF SEV metadata section %u has type 0x%x, expected SNP_SEC_MEM (1), "
		    "SNP_SECRETS (2), CPUID (3), SVSM_CAA (4) or SNP_KERNEL_HASHES (0x10)",
		    i, (guint)s->type);
		return FALSE;
	}
	if (s->size == 0 || s->gpa % AC_SNP_PAGE_SIZE != 0 || s->size % AC_SNP_PAGE_SIZE != 0
	    || end > self->gpa) {
		g_set_error (
		    error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		    "OVMF SEV metadata section %u (%s) at gpa 0x%x size 0x%x, expected a "
		    "non-empty page-aligned range below the firmware (0x%" G_GINT64_MODIFIER "x)",
		    i, name, s->gpa, s->size, self->gpa);
		return FALSE;
	}
	if ((s->type == AC_SNP_SECTION_SNP_SECRETS || s->type == AC_SNP_SECTION_CPUID
	     || s->type == AC_SNP_SECTION_SNP_KERNEL_HASHES)
	    && s->size != AC_SNP_PAGE_SIZE) {
		g_set_error (
		    error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		    "OVMF SEV metadata section %u (%s) has size 0x%x, expected one page (0x1000)",
		    i, name, s->size);
		return FALSE;
	}
	for (guint j = 0; j < self->sections->len; j++) {
		const AcSnpSection *o = &g_array_index (self->sections, AcSnpSection, j);
		if (s->gpa < (guint64)o->gpa + o->size && o->gpa < end) {
			g_set_error (
			    error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			    "OVMF SEV metadata section %u (%s, gpa 0x%x size 0x%x) overlaps "
			    "section %u (gpa 0x%x size 0x%x), expected disjoint sections",
			    i, name, s->gpa, s->size, j, o->gpa, o->size);
			return FALSE;
		}
		if (o->type == s->type && s->type != AC_SNP_SECTION_SNP_SEC_MEM) {
			g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			             "OVMF SEV metadata has a second %s section (%u, after %u), "
			             "expected at most one",
			             name, i, j);
			return FALSE;
		}
	}
	return TRUE;
}

/* the kernel hashes table (footer entry) must lie inside the SNP_KERNEL_HASHES page */
static gboolean
ac_snp_ovmf_hashes_table (AcSnpOvmf *self, AcSevOvmf *table, const AcSnpSection *s, GError **error)
{
	guint32 base = 0, size = 0;

	if (!ac_sev_ovmf_get_hash_table (table, &base, &size, error)) {
		g_prefix_error (error, "OVMF SEV metadata has a SNP_KERNEL_HASHES section: ");
		return FALSE;
	}
	if (size < AC_SEV_KERNEL_HASHES_TABLE_SIZE || base < s->gpa
	    || (guint64)base + AC_SEV_KERNEL_HASHES_TABLE_SIZE > (guint64)s->gpa + s->size) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "OVMF kernel hashes table at gpa 0x%x size 0x%x, expected at least %d "
		             "bytes inside the SNP_KERNEL_HASHES page at gpa 0x%x",
		             base, size, AC_SEV_KERNEL_HASHES_TABLE_SIZE, s->gpa);
		return FALSE;
	}
	self->has_hashes = TRUE;
	self->hashes_gpa = base;
	return TRUE;
}

/**
 * ac_snp_ovmf_parse:
 * @firmware: an untrusted OVMF image
 *
 * Everything the launch digest reads from the image, checked (see the header).
 */
AcSnpOvmf *
ac_snp_ovmf_parse (GBytes *firmware, GError **error)
{
	g_autoptr (AcSnpOvmf) self = NULL;
	g_autoptr (AcSevOvmf) table = NULL;
	const guint8 *fw, *descs = NULL;
	gsize len = 0;
	guint32 count = 0;

	if (!ac_snp_check_firmware_size (firmware, error))
		return NULL;
	fw = g_bytes_get_data (firmware, &len);
	table = ac_sev_ovmf_parse (fw, len, error);
	if (table == NULL) {
		g_prefix_error (error, "OVMF image: ");
		return NULL;
	}
	if (!ac_sev_ovmf_has_table (table)) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		                     "OVMF image has no footer table (GUID " AC_SEV_OVMF_GUID_FOOTER
		                     " at 48 bytes before its end): not an SEV build");
		return NULL;
	}
	if (!ac_sev_ovmf_check_unique (table, error))
		return NULL;

	self = g_new0 (AcSnpOvmf, 1);
	self->firmware = g_bytes_ref (firmware);
	self->gpa = FOUR_GIB - len;
	self->sections = g_array_new (FALSE, TRUE, sizeof (AcSnpSection));
	if (!ac_sev_ovmf_get_es_reset_addr (table, &self->ap_eip, error))
		return NULL;
	if (self->ap_eip == 0) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		                     "OVMF SEV-ES reset block gives AP EIP 0, expected an address");
		return NULL;
	}
	if (!ac_snp_ovmf_metadata (fw, len, table, &descs, &count, error))
		return NULL;
	for (guint32 i = 0; i < count; i++) {
		const guint8 *d = descs + (gsize)i * SEV_METADATA_DESC;
		AcSnpSection s = {
			.gpa = ac_sev_le32 (d),
			.size = ac_sev_le32 (d + 4),
			.type = (AcSnpSectionType)ac_sev_le32 (d + 8),
		};
		if (!ac_snp_ovmf_check_section (self, i, &s, error))
			return NULL;
		if (s.type == AC_SNP_SECTION_SNP_KERNEL_HASHES
		    && !ac_snp_ovmf_hashes_table (self, table, &s, error))
			return NULL;
		g_array_append_val (self->sections, s);
	}
	return g_steal_pointer (&self);
}

/* ------------------------------------------------------------------------------------------ */
/* vCPUs                                                                                      */

typedef struct {
	const gchar *name;
	guint family, model, stepping;
} AcSnpVcpuType;

/* QEMU's builtin x86 models, as sev-snp-measure lists them */
static const AcSnpVcpuType vcpu_types[] = {
	{ "EPYC", 23, 1, 2 },           { "EPYC-v1", 23, 1, 2 },
	{ "EPYC-v2", 23, 1, 2 },        { "EPYC-IBPB", 23, 1, 2 },
	{ "EPYC-v3", 23, 1, 2 },        { "EPYC-v4", 23, 1, 2 },
	{ "EPYC-Rome", 23, 49, 0 },     { "EPYC-Rome-v1", 23, 49, 0 },
	{ "EPYC-Rome-v2", 23, 49, 0 },  { "EPYC-Rome-v3", 23, 49, 0 },
	{ "EPYC-Milan", 25, 1, 1 },     { "EPYC-Milan-v1", 25, 1, 1 },
	{ "EPYC-Milan-v2", 25, 1, 1 },  { "EPYC-Genoa", 25, 17, 0 },
	{ "EPYC-Genoa-v1", 25, 17, 0 }, { "EPYC-Turin", 26, 0, 0 },
	{ "EPYC-Turin-v1", 26, 0, 0 },
};

const gchar *const *
ac_snp_vcpu_types (void)
{
	static const gchar *names[G_N_ELEMENTS (vcpu_types) + 1];
	if (names[0] == NULL) {
		for (guint i = 0; i < G_N_ELEMENTS (vcpu_types); i++)
			names[i] = vcpu_types[i].name;
	}
	return names;
}

gboolean
ac_snp_vcpu_sig_from_type (const gchar *type, guint32 *sig, GError **error)
{
	g_autofree gchar *known = NULL;

	for (guint i = 0; type != NULL && i < G_N_ELEMENTS (vcpu_types); i++) {
		if (strcmp (type, vcpu_types[i].name) == 0) {
			*sig = ac_sev_cpu_signature (vcpu_types[i].family, vcpu_types[i].model,
			                             vcpu_types[i].stepping);
			return TRUE;
		}
	}
	known = g_strjoinv (", ", (gchar **)ac_snp_vcpu_types ());
	g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
	             "vCPU type '%s' is unknown, expected one of: %s", type != NULL ? type : "",
	             known);
	return FALSE;
}

gboolean
ac_snp_vcpu_sig_from_fms (guint64 family,
                          guint64 model,
                          guint64 stepping,
                          guint32 *sig,
                          GError **error)
{
	if (family == 0 || family > 0xf + 0xff || model > 0xff || stepping > 0xf) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "vCPU family %" G_GUINT64_FORMAT " model %" G_GUINT64_FORMAT
		             " stepping %" G_GUINT64_FORMAT
		             " do not fit a CPUID signature, expected family 1 to 270, model 0 to "
		             "255, stepping 0 to 15",
		             family, model, stepping);
		return FALSE;
	}
	*sig = ac_sev_cpu_signature ((guint)family, (guint)model, (guint)stepping);
	return TRUE;
}

gboolean
ac_snp_guest_features_check (guint64 features, GError **error)
{
	if ((features & 0x1) == 0 || (features & ~AC_SNP_GUEST_FEATURES_DEFINED) != 0) {
		g_set_error (
		    error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		    "guest features 0x%" G_GINT64_MODIFIER
		    "x are invalid: expected bit 0 (SNPActive) set and only the defined bits "
		    "(mask 0x%" G_GINT64_MODIFIER "x)",
		    features, AC_SNP_GUEST_FEATURES_DEFINED);
		return FALSE;
	}
	return TRUE;
}

gboolean
ac_snp_vmm_type_from_string (const gchar *text, AcSnpVmmType *out, GError **error)
{
	if (text != NULL && g_ascii_strcasecmp (text, "QEMU") == 0) {
		*out = AC_SNP_VMM_QEMU;
		return TRUE;
	}
	if (text != NULL
	    && (g_ascii_strcasecmp (text, "ec2") == 0 || g_ascii_strcasecmp (text, "gce") == 0)) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "VMM type '%s' is not supported (no test vectors), expected QEMU",
		             text);
		return FALSE;
	}
	g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
	             "VMM type '%s' is unknown, expected QEMU", text != NULL ? text : "");
	return FALSE;
}

void
ac_snp_vmsa_build (gboolean bsp,
                   guint32 ap_eip,
                   guint32 vcpu_sig,
                   guint64 guest_features,
                   guint8 out[AC_SEV_VMSA_SIZE])
{
	ac_sev_vmsa_build (bsp, ap_eip, vcpu_sig, AC_SEV_VMSA_INIT2, out);
	ac_sev_put_le32 (out + 0x3b0, (guint32)guest_features); /* sev_features */
	ac_sev_put_le32 (out + 0x3b4, (guint32)(guest_features >> 32));
}

/* ------------------------------------------------------------------------------------------ */
/* launch digest                                                                              */

static gboolean
ac_snp_check_inputs (const AcSnpLaunchInputs *in, GError **error)
{
	if (in->vcpus == 0 || in->vcpus > AC_SNP_MAX_VCPUS) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "number of vCPUs %u is invalid, expected 1 to %d", in->vcpus,
		             AC_SNP_MAX_VCPUS);
		return FALSE;
	}
	if (in->kernel == NULL && (in->initrd != NULL || in->cmdline != NULL)) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		                     "an initrd or a kernel command line needs a kernel");
		return FALSE;
	}
	if (in->vmm_type != AC_SNP_VMM_QEMU) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "VMM type %d is not supported, expected QEMU", (gint)in->vmm_type);
		return FALSE;
	}
	return ac_snp_guest_features_check (in->guest_features, error);
}

/* the SHA-256 of a file of the kernel hashes table (kernel, initrd), computed beside the
 * firmware pages: the three hash megabytes (SHA-256 of the kernel and of the initrd, SHA-384
 * of the firmware) independently, so each large one gets a thread of its own */
typedef struct {
	GBytes *file; /* nullable: the empty file */
	guint8 digest[AC_SHA256_SIZE];
	GThread *thread;
} AcSnpHashJob;

static gpointer
ac_snp_hash_job_run (gpointer data)
{
	AcSnpHashJob *job = data;
	gsize len = 0;
	const guint8 *p = job->file != NULL ? g_bytes_get_data (job->file, &len) : NULL;

	ac_snp_prefault (p, len);
	ac_sha256 (p, len, job->digest);
	return NULL;
}

/* @file's job, in a thread of its own when @thread and @file is large */
static void
ac_snp_hash_job_start (AcSnpHashJob *job, GBytes *file, gboolean thread)
{
	job->file = file;
	if (thread && file != NULL && g_bytes_get_size (file) >= AC_SNP_HASH_THREAD_MIN)
		job->thread = g_thread_try_new ("snp-hash", ac_snp_hash_job_run, job, NULL);
}

/* the job done: its thread joined, or the digest computed now when @run */
static void
ac_snp_hash_job_finish (AcSnpHashJob *job, gboolean run)
{
	if (job->thread != NULL)
		g_thread_join (g_steal_pointer (&job->thread));
	else if (run)
		ac_snp_hash_job_run (job);
}

static void
ac_snp_hash_job_clear (AcSnpHashJob *job)
{
	ac_snp_hash_job_finish (job, FALSE);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (AcSnpHashJob, ac_snp_hash_job_clear)

/* the kernel hashes table of @in from the kernel's and initrd's digests */
static void
ac_snp_hashes_table (const AcSnpLaunchInputs *in,
                     const AcSnpHashJob *kernel,
                     const AcSnpHashJob *initrd,
                     guint8 table[AC_SEV_KERNEL_HASHES_TABLE_SIZE])
{
	const gchar *c = in->cmdline != NULL ? in->cmdline : "";
	guint8 hc[AC_SHA256_SIZE];

	ac_sha256 (c, strlen (c) + 1, hc);
	ac_sev_kernel_hashes_table_fill (hc, initrd->digest, kernel->digest, table);
}

/* one page of zeros with the kernel hashes table at the offset of its GPA */
static gboolean
ac_snp_gctx_hashes_page (AcSnpGctx *g,
                         const guint8 *table,
                         guint32 table_gpa,
                         const AcSnpSection *s)
{
	g_autofree guint8 *page = g_malloc0 (AC_SNP_PAGE_SIZE);
	gsize off = table_gpa & (AC_SNP_PAGE_SIZE - 1);

	/* the parser checked that the table lies inside this page */
	g_return_val_if_fail (off + AC_SEV_KERNEL_HASHES_TABLE_SIZE <= AC_SNP_PAGE_SIZE, FALSE);
	memcpy (page + off, table, AC_SEV_KERNEL_HASHES_TABLE_SIZE);
	ac_snp_gctx_normal_pages (g, s->gpa, page, AC_SNP_PAGE_SIZE);
	return TRUE;
}

static gboolean
ac_snp_gctx_section (AcSnpGctx *g, AcSnpOvmf *ovmf, const guint8 *table, const AcSnpSection *s)
{
	switch (s->type) {
	case AC_SNP_SECTION_SNP_SEC_MEM:
	case AC_SNP_SECTION_SVSM_CAA:
		ac_snp_gctx_empty_pages (g, AC_SNP_PAGE_ZERO, s->gpa, s->size);
		return TRUE;
	case AC_SNP_SECTION_SNP_SECRETS:
		ac_snp_gctx_page (g, AC_SNP_PAGE_SECRETS, s->gpa, NULL);
		return TRUE;
	case AC_SNP_SECTION_CPUID:
		ac_snp_gctx_page (g, AC_SNP_PAGE_CPUID, s->gpa, NULL);
		return TRUE;
	case AC_SNP_SECTION_SNP_KERNEL_HASHES:
		if (table != NULL)
			return ac_snp_gctx_hashes_page (g, table, ovmf->hashes_gpa, s);
		ac_snp_gctx_empty_pages (g, AC_SNP_PAGE_ZERO, s->gpa, s->size);
		return TRUE;
	default:
		/* the parser refused it */
		g_return_val_if_reached (FALSE);
	}
}

/**
 * ac_snp_launch_digest:
 *
 * The MEASUREMENT an SNP guest launched by QEMU with this firmware, kernel, initrd, command
 * line, vCPUs and guest features reports: the firmware pages (or @in->ovmf_hash), the SEV
 * metadata sections in their order, then one VMSA page per vCPU (vCPU 0 first).
 */
gboolean
ac_snp_launch_digest (const AcSnpLaunchInputs *in, guint8 ld[AC_SNP_LD_SIZE], GError **error)
{
	g_autoptr (AcSnpOvmf) ovmf = NULL;
	AcSnpGctx g = { { 0 } };
	guint n = 0;
	const AcSnpSection *sections;
	guint8 vmsa[AC_SEV_VMSA_SIZE];
	guint8 h[AC_SNP_LD_SIZE];
	guint8 table[AC_SEV_KERNEL_HASHES_TABLE_SIZE];
	g_auto (AcSnpHashJob) kjob = { 0 };
	g_auto (AcSnpHashJob) ijob = { 0 };

	if (!ac_snp_check_inputs (in, error))
		return FALSE;
	ovmf = ac_snp_ovmf_parse (in->firmware, error);
	if (ovmf == NULL)
		return FALSE;
	if (in->kernel != NULL && !ovmf->has_hashes) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		                     "a kernel is given but the OVMF SEV metadata has no "
		                     "SNP_KERNEL_HASHES section (this firmware cannot measure a "
		                     "kernel: use an AmdSev build)");
		return FALSE;
	}
	g.trace = in->trace;
	g.trace_data = in->trace_data;

	/* 1. the firmware, and the kernel's and initrd's SHA-256 meanwhile when they are large */
	if (in->kernel != NULL) {
		ac_snp_hash_job_start (&kjob, in->kernel, in->ovmf_hash == NULL);
		ac_snp_hash_job_start (&ijob, in->initrd, in->ovmf_hash == NULL);
	}
	/* a failure returns with the threads joined (their jobs' cleanup) */
	if (in->ovmf_hash != NULL)
		memcpy (g.ld, in->ovmf_hash, AC_SNP_LD_SIZE);
	else if (!ac_snp_gctx_firmware (&g, in->firmware, error))
		return FALSE;
	if (in->kernel != NULL) {
		ac_snp_hash_job_finish (&kjob, TRUE);
		ac_snp_hash_job_finish (&ijob, TRUE);
		ac_snp_hashes_table (in, &kjob, &ijob, table);
	}

	/* 2. the SEV metadata sections, in order */
	g.stage = AC_SNP_STAGE_SECTION;
	sections = ac_snp_ovmf_get_sections (ovmf, &n);
	for (guint i = 0; i < n; i++) {
		g.index = i;
		g.section_type = sections[i].type;
		if (!ac_snp_gctx_section (&g, ovmf, in->kernel != NULL ? table : NULL,
		                          &sections[i]))
			return FALSE;
	}

	/* 3. the VMSAs, the boot CPU first */
	g.stage = AC_SNP_STAGE_VMSA;
	g.section_type = 0;
	for (guint i = 0; i < in->vcpus; i++) {
		/* vCPU 0 has its page, every AP the same one */
		if (i <= 1)
			ac_snp_vmsa_build (i == 0, ovmf->ap_eip, in->vcpu_sig, in->guest_features,
			                   vmsa);
		g.index = i;
		if (i <= 1)
			ac_sha384 (vmsa, sizeof (vmsa), h);
		ac_snp_gctx_page (&g, AC_SNP_PAGE_VMSA, AC_SNP_VMSA_GPA, h);
	}
	memcpy (ld, g.ld, AC_SNP_LD_SIZE);
	return TRUE;
}
