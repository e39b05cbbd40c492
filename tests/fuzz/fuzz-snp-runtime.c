/*
 * Fuzz the aleph-instance-runtime/1 manifest parser (sev/ac-snp-runtime.h) and what reads a
 * parsed manifest: the owner rendering of the command line and the bundle check.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "ac-snp-runtime.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
	static const gchar owner[] = "0x9319AD3B7a8E0ee24f2e639c40d8ed124c5520bA";
	g_autoptr (AcSnpRuntime) rt = ac_snp_runtime_parse ((const gchar *)data, size, NULL);
	g_autofree gchar *cmdline = NULL;
	g_autoptr (GBytes) bundle = NULL;
	guint32 sig;

	if (rt == NULL)
		return 0;
	/* what the parser promises */
	g_assert_nonnull (rt->bundle_ref);
	g_assert_true (rt->bundle_size > 0 && rt->bundle_size <= AC_SNP_RUNTIME_MAX_BUNDLE);
	g_assert_nonnull (rt->cpu_models);
	g_assert_cmpuint (g_strv_length (rt->cpu_models), >=, 1);
	g_assert_cmpuint (g_strv_length (rt->cpu_models), <=, AC_SNP_RUNTIME_MAX_CPU_MODELS);
	for (guint i = 0; rt->cpu_models[i] != NULL; i++)
		g_assert_true (ac_snp_vcpu_sig_from_type (rt->cpu_models[i], &sig, NULL));
	{
		/* member paths stay inside the bundle: relative, no "." or ".." component ("..mf"
		 * is a name) */
		const gchar *paths[] = { rt->member_ovmf, rt->member_kernel, rt->member_initrd };
		for (guint i = 0; i < G_N_ELEMENTS (paths); i++) {
			g_auto (GStrv) parts = g_strsplit (paths[i], "/", -1);
			g_assert_true (paths[i][0] != '/');
			for (guint j = 0; parts[j] != NULL; j++) {
				g_assert_cmpstr (parts[j], !=, "..");
				g_assert_cmpstr (parts[j], !=, ".");
				g_assert_cmpstr (parts[j], !=, "");
			}
		}
	}
	g_assert_cmpuint (rt->attestation_port, >=, 1);
	cmdline = ac_snp_runtime_render_cmdline (rt, owner, NULL);
	g_assert_nonnull (cmdline);
	/* the owner, lower-cased, in place of the one placeholder; no brace left */
	g_assert_nonnull (strstr (cmdline, "0x9319ad3b7a8e0ee24f2e639c40d8ed124c5520ba"));
	g_assert_null (strchr (cmdline, '{'));
	g_assert_null (strchr (cmdline, '}'));
	bundle = g_bytes_new_static (data, size);
	(void)ac_snp_runtime_check_bundle (rt, bundle, NULL);
	return 0;
}
