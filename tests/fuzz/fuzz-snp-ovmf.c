/*
 * Fuzz the SEV-SNP reading of an OVMF image: the footer GUID table, the SEV metadata ("ASEV")
 * and its sections, the kernel hashes table location (ac_snp_ovmf_parse), then the launch
 * digest of what parses. The input is taken as it is and also padded in front to a whole
 * number of pages, so the footer at its end is reached whatever its size.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "ac-snp-measure.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static void
fuzz_one (GBytes *fw)
{
	g_autoptr(AcSnpOvmf) ovmf = ac_snp_ovmf_parse (fw, NULL);
	const AcSnpSection *s;
	guint n = 0;
	guint64 pages = 0;
	guint32 hgpa = 0;

	if (ovmf == NULL)
		return;
	s = ac_snp_ovmf_get_sections (ovmf, &n);
	g_assert_cmpuint (n, >, 0);
	for (guint i = 0; i < n; i++) {
		g_assert_cmpuint (s[i].size % AC_SNP_PAGE_SIZE, ==, 0);
		g_assert_cmpuint ((guint64)s[i].gpa + s[i].size, <=, ac_snp_ovmf_get_gpa (ovmf));
		pages += s[i].size / AC_SNP_PAGE_SIZE;
	}
	if (ac_snp_ovmf_get_hashes_table_gpa (ovmf, &hgpa))
		g_assert_cmpuint ((hgpa & 0xfff) + AC_SEV_KERNEL_HASHES_TABLE_SIZE, <=,
		                  AC_SNP_PAGE_SIZE);
	/* the digest walks every section page: only for images that declare few */
	if (pages <= 1024) {
		static const guint8 kernel[] = "kernel";
		g_autoptr(GBytes) k = g_bytes_new_static (kernel, sizeof (kernel));
		guint8 seed[AC_SNP_LD_SIZE] = { 0 }, ld[AC_SNP_LD_SIZE];
		AcSnpLaunchInputs in = {
			.firmware = fw,
			.ovmf_hash = seed,
			.kernel = ac_snp_ovmf_get_hashes_table_gpa (ovmf, NULL) ? k : NULL,
			.cmdline
			= ac_snp_ovmf_get_hashes_table_gpa (ovmf, NULL) ? "console=ttyS0" : NULL,
			.vcpus = 2,
			.vcpu_sig = 0x800f12,
			.guest_features = 1,
		};
		g_assert_true (ac_snp_launch_digest (&in, ld, NULL));
	}
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
	g_autoptr(GBytes) raw = g_bytes_new (data, size);
	gsize pad = (AC_SNP_PAGE_SIZE - size % AC_SNP_PAGE_SIZE) % AC_SNP_PAGE_SIZE;

	if (size > 1 << 20)
		return 0;
	fuzz_one (raw);
	if (pad != 0 || size == 0) {
		gsize total = size + (size == 0 ? AC_SNP_PAGE_SIZE : pad);
		guint8 *b = g_malloc0 (total);
		g_autoptr(GBytes) padded = NULL;
		memcpy (b + (total - size), data, size);
		padded = g_bytes_new_take (b, total);
		fuzz_one (padded);
	}
	return 0;
}
