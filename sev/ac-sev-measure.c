/*
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <openssl/crypto.h>
#include <string.h>

#include "ac-digest.h"
#include "ac-error.h"
#include "ac-secret.h"
#include "ac-sev-guid.h"
#include "ac-sev-measure.h"
#include "ac-sev-ossl-private.h"
#include "ac-sev-policy.h"

/* ------------------------------------------------------------------------------------------ */
/* GUIDs                                                                                      */

static gboolean
ac_sev_guid_parse_be (const gchar *str, guint8 be[16])
{
	guint n = 0;
	static const guint dashes[] = { 8, 13, 18, 23 };

	if (str == NULL || strlen (str) != 36)
		return FALSE;
	for (guint i = 0; i < 36; i++) {
		gboolean dash_pos = FALSE;
		for (guint j = 0; j < G_N_ELEMENTS (dashes); j++)
			dash_pos |= dashes[j] == i;
		if (dash_pos) {
			if (str[i] != '-')
				return FALSE;
			continue;
		}
		if (g_ascii_xdigit_value (str[i]) < 0 || g_ascii_xdigit_value (str[i + 1]) < 0)
			return FALSE;
		be[n++] = (guint8)(g_ascii_xdigit_value (str[i]) << 4 |
				   g_ascii_xdigit_value (str[i + 1]));
		i++;
	}
	return n == 16;
}

gboolean
ac_sev_guid_from_string (const gchar *str, guint8 out[16], GError **error)
{
	guint8 be[16];

	if (!ac_sev_guid_parse_be (str, be)) {
		g_set_error (error,
			     AC_ERROR,
			     AC_ERROR_INVALID_INPUT,
			     "invalid GUID '%s', expected the form 736869e5-84f0-4973-92ec-06879ce3da0b",
			     str != NULL ? str : "");
		return FALSE;
	}
	out[0] = be[3];
	out[1] = be[2];
	out[2] = be[1];
	out[3] = be[0];
	out[4] = be[5];
	out[5] = be[4];
	out[6] = be[7];
	out[7] = be[6];
	memcpy (out + 8, be + 8, 8);
	return TRUE;
}

gchar *
ac_sev_guid_to_string (const guint8 g[16])
{
	return g_strdup_printf ("%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
				g[3], g[2], g[1], g[0], g[5], g[4], g[7], g[6], g[8], g[9], g[10],
				g[11], g[12], g[13], g[14], g[15]);
}

/* ------------------------------------------------------------------------------------------ */
/* measurement                                                                                */

gboolean
ac_sev_measurement_compute (const guint8 tik[16],
			    guint8 api_major,
			    guint8 api_minor,
			    guint8 build_id,
			    guint32 policy,
			    const guint8 ld[32],
			    const guint8 mnonce[16],
			    guint8 out[32],
			    GError **error)
{
	guint8 msg[56];
	gsize off = 0;
	gboolean legacy = api_major == 0 && api_minor < 17;

	if (!legacy) {
		msg[0] = 0x04;
		msg[1] = api_major;
		msg[2] = api_minor;
		msg[3] = build_id;
		off = 4;
	}
	ac_sev_put_le32 (msg + off, policy);
	memcpy (msg + off + 4, ld, 32);
	memcpy (msg + off + 36, mnonce, 16);
	return ac_sev_hmac_sha256 (tik, 16, msg, off + 52, out, error);
}

/**
 * ac_sev_measurement_verify:
 * @blob: LAUNCH_MEASURE output: MEASURE (32) ‖ MNONCE (16)
 *
 * Recomputes MEASURE from the expected launch digest and compares in constant time.
 * A difference is AC_ERROR_MISMATCH.
 */
gboolean
ac_sev_measurement_verify (const guint8 *blob,
			   gsize blob_len,
			   const guint8 tik[16],
			   guint8 api_major,
			   guint8 api_minor,
			   guint8 build_id,
			   guint32 policy,
			   const guint8 ld[32],
			   GError **error)
{
	guint8 expected[32];
	gboolean same;

	if (blob == NULL || blob_len != AC_SEV_MEASURE_BLOB_SIZE) {
		g_set_error (error,
			     AC_ERROR,
			     AC_ERROR_INVALID_INPUT,
			     "launch measurement has %" G_GSIZE_FORMAT
			     " bytes, expected 48 (MEASURE ‖ MNONCE)",
			     blob == NULL ? 0 : blob_len);
		return FALSE;
	}
	if (!ac_sev_measurement_compute (tik,
					 api_major,
					 api_minor,
					 build_id,
					 policy,
					 ld,
					 blob + 32,
					 expected,
					 error))
		return FALSE;
	same = CRYPTO_memcmp (expected, blob, 32) == 0;
	ac_secret_wipe (expected, sizeof (expected));
	if (!same) {
		g_set_error_literal (error,
				     AC_ERROR,
				     AC_ERROR_MISMATCH,
				     "launch measurement does not match the expected launch digest "
				     "(firmware, kernel hashes, VMSAs, policy, API version or TIK differ)");
		return FALSE;
	}
	return TRUE;
}

/**
 * ac_sev_attestation_report_verify:
 * @pek: the platform's PEK public key, from a verified chain
 *
 * Checks an ATTESTATION report: its ECDSA-SHA256 signature by the PEK (AC_ERROR_UNTRUSTED),
 * then the nonce, launch digest and policy it carries (AC_ERROR_MISMATCH, constant time).
 */
gboolean
ac_sev_attestation_report_verify (const guint8 *report,
				  gsize len,
				  EVP_PKEY *pek,
				  const guint8 mnonce[16],
				  const guint8 ld[32],
				  guint32 policy,
				  GError **error)
{
	guint8 want[0x34];

	if (report == NULL || len != AC_SEV_ATTESTATION_REPORT_SIZE) {
		g_set_error (error,
			     AC_ERROR,
			     AC_ERROR_INVALID_INPUT,
			     "attestation report has %" G_GSIZE_FORMAT " bytes, expected %d",
			     report == NULL ? 0 : len,
			     AC_SEV_ATTESTATION_REPORT_SIZE);
		return FALSE;
	}
	if (ac_sev_le32 (report + 0x34) != 0x1002 || ac_sev_le32 (report + 0x38) != 0x2) {
		g_set_error (error,
			     AC_ERROR,
			     AC_ERROR_INVALID_INPUT,
			     "attestation report signature usage 0x%x / algorithm 0x%x, expected PEK "
			     "(0x1002) / ECDSA-SHA256 (0x2)",
			     ac_sev_le32 (report + 0x34),
			     ac_sev_le32 (report + 0x38));
		return FALSE;
	}
	if (!ac_sev_ecdsa_verify_le (pek, "SHA256", report, 0x34, report + 0x40)) {
		g_set_error_literal (error,
				     AC_ERROR,
				     AC_ERROR_UNTRUSTED,
				     "attestation report signature does not verify with the PEK");
		return FALSE;
	}
	memcpy (want, mnonce, 16);
	memcpy (want + 16, ld, 32);
	ac_sev_put_le32 (want + 48, policy);
	if (CRYPTO_memcmp (want, report, sizeof (want)) != 0) {
		g_set_error_literal (error,
				     AC_ERROR,
				     AC_ERROR_MISMATCH,
				     "attestation report does not match the expected nonce, launch "
				     "digest and policy");
		return FALSE;
	}
	return TRUE;
}

/**
 * ac_sev_launch_check_platform:
 *
 * The policy the platform reports must be the one requested, and its firmware API version at
 * least @min_api_major.@min_api_minor.
 */
gboolean
ac_sev_launch_check_platform (guint32 requested_policy,
			      guint32 reported_policy,
			      guint8 api_major,
			      guint8 api_minor,
			      guint8 min_api_major,
			      guint8 min_api_minor,
			      GError **error)
{
	if (reported_policy != requested_policy) {
		g_autofree gchar *want = ac_sev_policy_to_names (requested_policy);
		g_autofree gchar *have = ac_sev_policy_to_names (reported_policy);
		g_set_error (error,
			     AC_ERROR,
			     AC_ERROR_MISMATCH,
			     "platform reports SEV policy 0x%x (%s), expected the requested 0x%x (%s)",
			     reported_policy,
			     have,
			     requested_policy,
			     want);
		return FALSE;
	}
	if (api_major < min_api_major || (api_major == min_api_major && api_minor < min_api_minor)) {
		g_set_error (error,
			     AC_ERROR,
			     AC_ERROR_REFUSED,
			     "platform firmware API %u.%u is older than the required minimum %u.%u",
			     api_major,
			     api_minor,
			     min_api_major,
			     min_api_minor);
		return FALSE;
	}
	return TRUE;
}

/* ------------------------------------------------------------------------------------------ */
/* OVMF footer table                                                                          */

typedef struct {
	guint8 guid[16];
	const guint8 *data;
	gsize len;
} AcSevOvmfEntry;

struct _AcSevOvmf {
	guint8 *copy; /* the table bytes */
	GArray *entries;
	gboolean has_table;
};

void
ac_sev_ovmf_free (AcSevOvmf *self)
{
	if (self == NULL)
		return;
	g_array_unref (self->entries);
	g_free (self->copy);
	g_free (self);
}

/**
 * ac_sev_ovmf_parse:
 *
 * Reads the GUIDed table that ends 32 bytes before the end of an OVMF image. An image without
 * the footer GUID has no table (not an error); a malformed table is.
 */
AcSevOvmf *
ac_sev_ovmf_parse (const guint8 *fw, gsize len, GError **error)
{
	g_autoptr(AcSevOvmf) self = g_new0 (AcSevOvmf, 1);
	guint8 footer[16];
	guint16 total;
	gsize start, end;

	self->entries = g_array_new (FALSE, TRUE, sizeof (AcSevOvmfEntry));
	if (fw == NULL || len < 50)
		return g_steal_pointer (&self);
	ac_sev_guid_from_string (AC_SEV_OVMF_GUID_FOOTER, footer, NULL);
	if (memcmp (fw + len - 48, footer, 16) != 0)
		return g_steal_pointer (&self);
	total = ac_sev_le16 (fw + len - 50);
	if (total < 18 || (gsize)total + 32 > len) {
		g_set_error (error,
			     AC_ERROR,
			     AC_ERROR_INVALID_INPUT,
			     "OVMF footer table length %u is invalid for a %" G_GSIZE_FORMAT
			     "-byte image (expected 18 to %" G_GSIZE_FORMAT ")",
			     total,
			     len,
			     len - 32);
		return NULL;
	}
	self->has_table = TRUE;
	/* copy the table (without the footer entry) so entries outlive the image */
	self->copy = g_memdup2 (fw + len - 32 - total, total - 18);
	start = 0;
	end = total - 18;
	while (end > start) {
		AcSevOvmfEntry e = { 0 };
		guint16 elen;
		if (end - start < 18) {
			g_set_error (error,
				     AC_ERROR,
				     AC_ERROR_INVALID_INPUT,
				     "OVMF footer table has %" G_GSIZE_FORMAT
				     " trailing bytes, too few for an entry (18)",
				     end - start);
			return NULL;
		}
		memcpy (e.guid, self->copy + end - 16, 16);
		elen = ac_sev_le16 (self->copy + end - 18);
		if (elen < 18 || elen > end - start) {
			g_autofree gchar *g = ac_sev_guid_to_string (e.guid);
			g_set_error (error,
				     AC_ERROR,
				     AC_ERROR_INVALID_INPUT,
				     "OVMF footer table entry %s has length %u, expected 18 to %" G_GSIZE_FORMAT,
				     g,
				     elen,
				     end - start);
			return NULL;
		}
		e.data = self->copy + end - elen;
		e.len = elen - 18;
		g_array_append_val (self->entries, e);
		end -= elen;
	}
	return g_steal_pointer (&self);
}

gboolean
ac_sev_ovmf_has_table (AcSevOvmf *self)
{
	return self->has_table;
}

const guint8 *
ac_sev_ovmf_get_entry (AcSevOvmf *self, const gchar *guid, gsize *len)
{
	guint8 g[16];
	if (!ac_sev_guid_from_string (guid, g, NULL))
		return NULL;
	for (guint i = 0; i < self->entries->len; i++) {
		AcSevOvmfEntry *e = &g_array_index (self->entries, AcSevOvmfEntry, i);
		if (memcmp (e->guid, g, 16) == 0) {
			if (len != NULL)
				*len = e->len;
			return e->data;
		}
	}
	return NULL;
}

static gboolean
ac_sev_ovmf_get_u32s (AcSevOvmf *self,
		      const gchar *guid,
		      const gchar *what,
		      guint32 *a,
		      guint32 *b,
		      GError **error)
{
	gsize len = 0;
	const guint8 *d = ac_sev_ovmf_get_entry (self, guid, &len);
	gsize need = b != NULL ? 8 : 4;
	if (d == NULL || len < need) {
		g_set_error (error,
			     AC_ERROR,
			     AC_ERROR_INVALID_INPUT,
			     "firmware has no %s entry (GUID %s) in its OVMF footer table%s",
			     what,
			     guid,
			     self->has_table ? "" : " (no table at all: not an SEV OVMF build?)");
		return FALSE;
	}
	*a = ac_sev_le32 (d);
	if (b != NULL)
		*b = ac_sev_le32 (d + 4);
	return TRUE;
}

gboolean
ac_sev_ovmf_get_es_reset_addr (AcSevOvmf *self, guint32 *addr, GError **error)
{
	return ac_sev_ovmf_get_u32s (self, AC_SEV_OVMF_GUID_ES_RESET, "SEV-ES reset block", addr, NULL, error);
}

gboolean
ac_sev_ovmf_get_hash_table (AcSevOvmf *self, guint32 *base, guint32 *size, GError **error)
{
	return ac_sev_ovmf_get_u32s (self, AC_SEV_OVMF_GUID_HASH_TABLE, "SEV hash table", base, size, error);
}

gboolean
ac_sev_ovmf_get_secret_area (AcSevOvmf *self, guint32 *base, guint32 *size, GError **error)
{
	return ac_sev_ovmf_get_u32s (self, AC_SEV_OVMF_GUID_SECRET_AREA, "SEV secret area", base, size, error);
}

gboolean
ac_sev_ovmf_check_unique (AcSevOvmf *self, GError **error)
{
	for (guint i = 0; i < self->entries->len; i++) {
		AcSevOvmfEntry *a = &g_array_index (self->entries, AcSevOvmfEntry, i);
		for (guint j = i + 1; j < self->entries->len; j++) {
			AcSevOvmfEntry *b = &g_array_index (self->entries, AcSevOvmfEntry, j);
			if (memcmp (a->guid, b->guid, 16) == 0) {
				g_autofree gchar *g = ac_sev_guid_to_string (a->guid);
				g_set_error (error,
					     AC_ERROR,
					     AC_ERROR_INVALID_INPUT,
					     "OVMF footer table has the entry %s twice, expected each "
					     "GUID once",
					     g);
				return FALSE;
			}
		}
	}
	return TRUE;
}

/* ------------------------------------------------------------------------------------------ */
/* kernel hashes table                                                                        */

#define GUID_HASH_TABLE "9438d606-4f22-4cc9-b479-a793d411fd21"
#define GUID_CMDLINE	"97d02dd8-bd20-4c94-aa78-e7714d36ab2a"
#define GUID_INITRD	"44baf731-3a2f-4bd7-9af1-41e29169781d"
#define GUID_KERNEL	"4de79437-abd2-427f-b835-d5b172d2045b"

/**
 * ac_sev_kernel_hashes_table_fill:
 *
 * The table of ac_sev_kernel_hashes_table() from the three digests it holds.
 */
void
ac_sev_kernel_hashes_table_fill (const guint8 cmdline_sha256[32],
				 const guint8 initrd_sha256[32],
				 const guint8 kernel_sha256[32],
				 guint8 out[AC_SEV_KERNEL_HASHES_TABLE_SIZE])
{
	const gchar *guids[] = { GUID_CMDLINE, GUID_INITRD, GUID_KERNEL };
	const guint8 *digests[] = { cmdline_sha256, initrd_sha256, kernel_sha256 };
	guint8 *p = out + 18;

	memset (out, 0, AC_SEV_KERNEL_HASHES_TABLE_SIZE);
	ac_sev_guid_from_string (GUID_HASH_TABLE, out, NULL);
	ac_sev_put_le16 (out + 16, 168);
	for (guint i = 0; i < G_N_ELEMENTS (guids); i++) {
		ac_sev_guid_from_string (guids[i], p, NULL);
		ac_sev_put_le16 (p + 16, 50);
		memcpy (p + 18, digests[i], 32);
		p += 18 + 32;
	}
}

/**
 * ac_sev_kernel_hashes_table:
 * @initrd: (nullable): no initrd hashes as the empty file
 * @cmdline: (nullable): hashed with its terminating NUL, exactly as given (not trimmed); %NULL
 *   is the empty command line
 *
 * The 176-byte padded table QEMU measures for direct kernel boot with kernel-hashes=on.
 */
gboolean
ac_sev_kernel_hashes_table (const guint8 *kernel,
			    gsize kernel_len,
			    const guint8 *initrd,
			    gsize initrd_len,
			    const gchar *cmdline,
			    guint8 out[AC_SEV_KERNEL_HASHES_TABLE_SIZE],
			    GError **error)
{
	const gchar *c = cmdline != NULL ? cmdline : "";
	guint8 hc[32], hi[32], hk[32];

	if (kernel == NULL && kernel_len > 0) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_INVALID_INPUT, "kernel is missing");
		return FALSE;
	}
	ac_sha256 (c, strlen (c) + 1, hc);
	ac_sha256 (initrd, initrd != NULL ? initrd_len : 0, hi);
	ac_sha256 (kernel, kernel_len, hk);
	ac_sev_kernel_hashes_table_fill (hc, hi, hk, out);
	return TRUE;
}

/* ------------------------------------------------------------------------------------------ */
/* VMSA                                                                                       */

guint32
ac_sev_cpu_signature (guint family, guint model, guint stepping)
{
	guint32 sig = (stepping & 0xf) | ((model & 0xf) << 4) | (((model >> 4) & 0xf) << 16);
	if (family > 0xf)
		sig |= 0xf00 | (((family - 0xf) & 0xff) << 20);
	else
		sig |= family << 8;
	return sig;
}

static void
ac_sev_vmsa_seg (guint8 *p, guint16 selector, guint16 attrib, guint32 limit, guint64 base)
{
	ac_sev_put_le16 (p, selector);
	ac_sev_put_le16 (p + 2, attrib);
	ac_sev_put_le32 (p + 4, limit);
	ac_sev_put_le32 (p + 8, (guint32)base);
	ac_sev_put_le32 (p + 12, (guint32)(base >> 32));
}

static void
ac_sev_put_le64 (guint8 *p, guint64 v)
{
	ac_sev_put_le32 (p, (guint32)v);
	ac_sev_put_le32 (p + 4, (guint32)(v >> 32));
}

/**
 * ac_sev_vmsa_build:
 * @bsp: cpu0 (architectural reset vector) or an AP (the firmware's SEV-ES reset address)
 *
 * The 4096-byte initial VMSA QEMU/KVM measures for one vCPU (docs/protocols.md#launch-measurement).
 */
void
ac_sev_vmsa_build (gboolean bsp,
		   guint32 ap_reset_addr,
		   guint32 cpu_signature,
		   AcSevVmsaVariant variant,
		   guint8 out[AC_SEV_VMSA_SIZE])
{
	guint64 cs_base = bsp ? 0xffff0000u : (ap_reset_addr & 0xffff0000u);
	guint64 rip = bsp ? 0xfff0u : (ap_reset_addr & 0xffffu);

	memset (out, 0, AC_SEV_VMSA_SIZE);
	ac_sev_vmsa_seg (out + 0x000, 0, 0x93, 0xffff, 0);	      /* es */
	ac_sev_vmsa_seg (out + 0x010, 0xf000, 0x9b, 0xffff, cs_base); /* cs */
	ac_sev_vmsa_seg (out + 0x020, 0, 0x93, 0xffff, 0);	      /* ss */
	ac_sev_vmsa_seg (out + 0x030, 0, 0x93, 0xffff, 0);	      /* ds */
	ac_sev_vmsa_seg (out + 0x040, 0, 0x93, 0xffff, 0);	      /* fs */
	ac_sev_vmsa_seg (out + 0x050, 0, 0x93, 0xffff, 0);	      /* gs */
	ac_sev_vmsa_seg (out + 0x060, 0, 0, 0xffff, 0);		      /* gdtr */
	ac_sev_vmsa_seg (out + 0x070, 0, 0x82, 0xffff, 0);	      /* ldtr */
	ac_sev_vmsa_seg (out + 0x080, 0, 0, 0xffff, 0);		      /* idtr */
	ac_sev_vmsa_seg (out + 0x090, 0, 0x8b, 0xffff, 0);	      /* tr */
	ac_sev_put_le64 (out + 0x0d0, 0x1000);			      /* efer: SVME */
	ac_sev_put_le64 (out + 0x148, 0x40);			      /* cr4: MCE */
	ac_sev_put_le64 (out + 0x158, 0x10);			      /* cr0 */
	ac_sev_put_le64 (out + 0x160, 0x400);			      /* dr7 */
	ac_sev_put_le64 (out + 0x168, 0xffff0ff0);		      /* dr6 */
	ac_sev_put_le64 (out + 0x170, 0x2);			      /* rflags */
	ac_sev_put_le64 (out + 0x178, rip);
	ac_sev_put_le64 (out + 0x268, G_GUINT64_CONSTANT (0x0007040600070406)); /* g_pat */
	ac_sev_put_le64 (out + 0x310, cpu_signature);				/* rdx */
	ac_sev_put_le64 (out + 0x3b0, 0);					/* sev_features */
	ac_sev_put_le64 (out + 0x3e8, 0x1);					/* xcr0 */
	if (variant == AC_SEV_VMSA_INIT2) {
		ac_sev_put_le32 (out + 0x408, 0x1f80); /* mxcsr */
		ac_sev_put_le16 (out + 0x410, 0x37f);  /* x87 fcw */
	}
}

/* ------------------------------------------------------------------------------------------ */
/* launch digest                                                                              */

static gboolean
ac_sev_check_vmsa (GBytes *vmsa, const gchar *what, GError **error)
{
	if (g_bytes_get_size (vmsa) != AC_SEV_VMSA_SIZE) {
		g_set_error (error,
			     AC_ERROR,
			     AC_ERROR_INVALID_INPUT,
			     "%s has %" G_GSIZE_FORMAT " bytes, expected %d",
			     what,
			     g_bytes_get_size (vmsa),
			     AC_SEV_VMSA_SIZE);
		return FALSE;
	}
	return TRUE;
}

/* the kernel hashes table, when a kernel is given, into @c */
static gboolean
ac_sev_measure_kernel_hashes (const AcSevLaunchInputs *in,
			      AcSevOvmf *ovmf,
			      EVP_MD_CTX *c,
			      GError **error)
{
	if (in->kernel != NULL) {
		guint8 table[AC_SEV_KERNEL_HASHES_TABLE_SIZE];
		guint32 base = 0, size = 0;
		if (!ac_sev_ovmf_get_hash_table (ovmf, &base, &size, error))
			return FALSE;
		if (size < AC_SEV_KERNEL_HASHES_TABLE_SIZE) {
			g_set_error (error,
				     AC_ERROR,
				     AC_ERROR_INVALID_INPUT,
				     "firmware's SEV hash table area is %u bytes, expected at least "
				     "%d (this firmware does not support kernel hashes)",
				     size,
				     AC_SEV_KERNEL_HASHES_TABLE_SIZE);
			return FALSE;
		}
		if (!ac_sev_kernel_hashes_table (g_bytes_get_data (in->kernel, NULL),
						 g_bytes_get_size (in->kernel),
						 in->initrd != NULL ? g_bytes_get_data (in->initrd, NULL)
								    : NULL,
						 in->initrd != NULL ? g_bytes_get_size (in->initrd) : 0,
						 in->cmdline,
						 table,
						 error))
			return FALSE;
		if (EVP_DigestUpdate (c, table, sizeof (table)) != 1)
			return ac_sev_openssl_error (error, AC_ERROR_INTERNAL, "SHA-256");
	} else if (in->initrd != NULL || in->cmdline != NULL) {
		g_set_error_literal (error,
				     AC_ERROR,
				     AC_ERROR_INVALID_INPUT,
				     "an initrd or a kernel command line needs a kernel");
		return FALSE;
	}
	return TRUE;
}

/* the VMSAs of cpu0 and of the other vCPUs: the files given, or built for the vCPU model */
static gboolean
ac_sev_measure_vmsas (const AcSevLaunchInputs *in,
		      AcSevOvmf *ovmf,
		      GBytes **v0,
		      GBytes **v1,
		      GError **error)
{
	if (in->vmsa_cpu0 != NULL) {
		if (!ac_sev_check_vmsa (in->vmsa_cpu0, "VMSA of cpu0", error))
			return FALSE;
		*v0 = g_bytes_ref (in->vmsa_cpu0);
		if (in->num_cpus > 1) {
			if (in->vmsa_cpu1 == NULL) {
				g_set_error (error,
					     AC_ERROR,
					     AC_ERROR_INVALID_INPUT,
					     "%u vCPUs need the VMSA of cpu1 too",
					     in->num_cpus);
				return FALSE;
			}
			if (!ac_sev_check_vmsa (in->vmsa_cpu1, "VMSA of cpu1", error))
				return FALSE;
			*v1 = g_bytes_ref (in->vmsa_cpu1);
		}
	} else {
		guint8 *b0, *b1;
		guint32 reset = 0;
		guint32 sig;
		if (in->cpu_family == 0) {
			g_set_error_literal (error,
					     AC_ERROR,
					     AC_ERROR_INVALID_INPUT,
					     "SEV-ES needs either the VMSA files or the vCPU "
					     "family, model and stepping");
			return FALSE;
		}
		if (!ac_sev_ovmf_get_es_reset_addr (ovmf, &reset, error))
			return FALSE;
		sig = ac_sev_cpu_signature (in->cpu_family, in->cpu_model, in->cpu_stepping);
		b0 = g_malloc (AC_SEV_VMSA_SIZE);
		b1 = g_malloc (AC_SEV_VMSA_SIZE);
		ac_sev_vmsa_build (TRUE, reset, sig, in->vmsa_variant, b0);
		ac_sev_vmsa_build (FALSE, reset, sig, in->vmsa_variant, b1);
		*v0 = g_bytes_new_take (b0, AC_SEV_VMSA_SIZE);
		*v1 = g_bytes_new_take (b1, AC_SEV_VMSA_SIZE);
	}
	return TRUE;
}

/* with SEV-ES, the VMSA of cpu0 then that of cpu1 once per further vCPU, into @c */
static gboolean
ac_sev_measure_es (const AcSevLaunchInputs *in, AcSevOvmf *ovmf, EVP_MD_CTX *c, GError **error)
{
	if (in->policy & AC_SEV_POLICY_ES) {
		g_autoptr(GBytes) v0 = NULL;
		g_autoptr(GBytes) v1 = NULL;
		if (in->num_cpus == 0 || in->num_cpus > 512) {
			g_set_error (error,
				     AC_ERROR,
				     AC_ERROR_INVALID_INPUT,
				     "SEV-ES policy 0x%x needs the number of vCPUs (1 to 512), got %u",
				     in->policy,
				     in->num_cpus);
			return FALSE;
		}
		if (!ac_sev_measure_vmsas (in, ovmf, &v0, &v1, error))
			return FALSE;
		if (EVP_DigestUpdate (c, g_bytes_get_data (v0, NULL), AC_SEV_VMSA_SIZE) != 1)
			return ac_sev_openssl_error (error, AC_ERROR_INTERNAL, "SHA-256");
		for (guint i = 1; i < in->num_cpus; i++) {
			if (EVP_DigestUpdate (c, g_bytes_get_data (v1, NULL), AC_SEV_VMSA_SIZE) != 1)
				return ac_sev_openssl_error (error, AC_ERROR_INTERNAL, "SHA-256");
		}
	} else if (in->vmsa_cpu0 != NULL || in->vmsa_cpu1 != NULL) {
		g_set_error (error,
			     AC_ERROR,
			     AC_ERROR_INVALID_INPUT,
			     "VMSA files given, but policy 0x%x does not set SEV-ES (bit 2)",
			     in->policy);
		return FALSE;
	}
	return TRUE;
}

/**
 * ac_sev_launch_digest:
 *
 * LD = SHA-256(firmware ‖ [kernel hashes table] ‖ [VMSA cpu0 ‖ VMSA cpu1 × (N-1)]).
 */
gboolean
ac_sev_launch_digest (const AcSevLaunchInputs *in, guint8 ld[32], GError **error)
{
	g_autoptr(EVP_MD_CTX) c = EVP_MD_CTX_new ();
	g_autoptr(AcSevOvmf) ovmf = NULL;
	const guint8 *fw;
	gsize fwlen = 0;
	unsigned int olen = 32;

	if (in->firmware == NULL || g_bytes_get_size (in->firmware) == 0) {
		g_set_error_literal (error,
				     AC_ERROR,
				     AC_ERROR_INVALID_INPUT,
				     "the firmware image is missing or empty");
		return FALSE;
	}
	fw = g_bytes_get_data (in->firmware, &fwlen);
	if (fwlen % 16 != 0) {
		g_set_error (error,
			     AC_ERROR,
			     AC_ERROR_INVALID_INPUT,
			     "firmware image has %" G_GSIZE_FORMAT
			     " bytes, expected a multiple of 16 (SEV measures 16-byte blocks)",
			     fwlen);
		return FALSE;
	}
	ovmf = ac_sev_ovmf_parse (fw, fwlen, error);
	if (ovmf == NULL)
		return FALSE;
	if (c == NULL || EVP_DigestInit_ex (c, EVP_sha256 (), NULL) != 1 ||
	    EVP_DigestUpdate (c, fw, fwlen) != 1)
		return ac_sev_openssl_error (error, AC_ERROR_INTERNAL, "SHA-256");

	if (!ac_sev_measure_kernel_hashes (in, ovmf, c, error))
		return FALSE;
	if (!ac_sev_measure_es (in, ovmf, c, error))
		return FALSE;
	if (EVP_DigestFinal_ex (c, ld, &olen) != 1 || olen != 32)
		return ac_sev_openssl_error (error, AC_ERROR_INTERNAL, "SHA-256");
	return TRUE;
}
