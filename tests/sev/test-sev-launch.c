/*
 * Session, measurement and secret vectors (vectors/sev/{session,measurement,secret} and the
 * synthetic platform's end-to-end values), byte for byte.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <json-glib/json-glib.h>
#include <glib/gstdio.h>
#include <openssl/core_names.h>
#include <openssl/pem.h>

#include "ac-error.h"
#include "ac-sev-cert.h"
#include "ac-sev-guid.h"
#include "ac-sev-measure.h"
#include "ac-sev-ossl-private.h"
#include "ac-sev-policy.h"
#include "ac-sev-secret-private.h"
#include "ac-sev-session.h"
#include "test-sev-common.h"
#include "../test-util.h"

static JsonParser *
load_json (const gchar *rel)
{
	g_autofree gchar *path = sev_test_path (rel);
	g_autoptr(GError) error = NULL;
	JsonParser *parser = json_parser_new ();
	g_assert_true (json_parser_load_from_file (parser, path, &error));
	return parser;
}

static JsonObject *
root_obj (JsonParser *p)
{
	return json_node_get_object (json_parser_get_root (p));
}

static void
unhex16 (const gchar *hex, guint8 out[16])
{
	gsize len = 0;
	g_autofree guint8 *b = sev_test_unhex (hex, &len);
	g_assert_cmpuint (len, ==, 16);
	memcpy (out, b, 16);
}

/* ---- session ---- */

static void
test_kdf_zero (void)
{
	g_autoptr(JsonParser) p = load_json ("session/vectors.json");
	JsonObject *v = json_array_get_object_element (
	    json_object_get_array_member (root_obj (p), "vectors"), 0);
	JsonObject *exp = json_object_get_object_member (v, "expected");
	guint8 zero[16] = { 0 };
	guint8 master[16], kek[16], kik[16];
	guint8 blob[AC_SEV_SESSION_SIZE];
	g_autoptr(GError) error = NULL;

	g_assert_true (ac_sev_kdf (zero, 16, "sev-master-secret", zero, 16, master, &error));
	sev_assert_hex (master, 16, json_object_get_string_member (exp, "master_secret"));
	g_assert_true (ac_sev_kdf (master, 16, "sev-kek", NULL, 0, kek, &error));
	sev_assert_hex (kek, 16, json_object_get_string_member (exp, "kek"));
	g_assert_true (ac_sev_kdf (master, 16, "sev-kik", NULL, 0, kik, &error));
	sev_assert_hex (kik, 16, json_object_get_string_member (exp, "kik"));
	g_assert_true (ac_sev_session_blob_build (zero, 16, zero, zero, zero, zero, 0, blob, &error));
	g_assert_no_error (error);
	sev_assert_hex (blob, sizeof (blob), json_object_get_string_member (exp, "session_blob"));
	sev_assert_hex (blob + 0x10, 32, json_object_get_string_member (exp, "wrap_tk"));
	sev_assert_hex (blob + 0x40, 32, json_object_get_string_member (exp, "wrap_mac"));
	sev_assert_hex (blob + 0x60, 32, json_object_get_string_member (exp, "policy_mac"));
}

static void
test_session_rome (void)
{
	g_autoptr(JsonParser) p = load_json ("session/vectors.json");
	JsonObject *v = json_array_get_object_element (
	    json_object_get_array_member (root_obj (p), "vectors"), 1);
	JsonObject *in = json_object_get_object_member (v, "inputs");
	JsonObject *exp = json_object_get_object_member (v, "expected");
	g_autofree gchar *pdh_path = sev_test_path ("real-chains/rome/pdh.cert");
	g_autoptr(GError) error = NULL;
	g_autoptr(AcSevCert) pdh = ac_sev_cert_parse_file (pdh_path, &error);
	gsize dlen = 0;
	g_autofree guint8 *d =
	    sev_test_unhex (json_object_get_string_member (in, "godh_private_scalar_be"), &dlen);
	g_autoptr(EVP_PKEY) godh = ac_sev_ec_key_from_private (d, dlen, &error);
	AcSevSessionParams params;
	g_autoptr(AcSevSession) s = NULL;
	g_autoptr(GBytes) godh_file = sev_test_load ("session/synthetic_rome_godh.cert");
	g_autofree gchar *godh_b64 = sev_test_load_text ("session/synthetic_rome_godh.b64");
	g_autofree gchar *blob_b64 = sev_test_load_text ("session/synthetic_rome_session.b64");
	g_autofree gchar *got_godh_b64 = NULL;
	g_autofree gchar *got_blob_b64 = NULL;

	g_assert_no_error (error);
	unhex16 (json_object_get_string_member (in, "nonce"), params.nonce);
	unhex16 (json_object_get_string_member (in, "wrap_iv"), params.wrap_iv);
	unhex16 (json_object_get_string_member (in, "tek"), params.tek);
	unhex16 (json_object_get_string_member (in, "tik"), params.tik);
	s = ac_sev_session_new_full (pdh, 3, godh, &params, &error);
	g_assert_no_error (error);
	sev_assert_hex (ac_sev_session_get_blob (s),
			AC_SEV_SESSION_SIZE,
			json_object_get_string_member (exp, "session_blob"));
	g_assert_cmpmem (ac_sev_cert_get_data (ac_sev_session_get_godh_cert (s)),
			 AC_SEV_CERT_SIZE,
			 g_bytes_get_data (godh_file, NULL),
			 g_bytes_get_size (godh_file));
	got_godh_b64 = ac_sev_session_get_godh_b64 (s);
	got_blob_b64 = ac_sev_session_get_blob_b64 (s);
	g_assert_cmpstr (got_godh_b64, ==, godh_b64);
	g_assert_cmpstr (got_blob_b64, ==, blob_b64);
	g_assert_cmpstr (got_blob_b64, ==, json_object_get_string_member (exp, "session_blob_b64"));
}

static void
test_session_synthetic (void)
{
	g_autoptr(JsonParser) p = load_json ("synthetic-platform/e2e.json");
	JsonObject *e2e = root_obj (p);
	g_autofree gchar *pdh_path = sev_test_path ("synthetic-platform/pdh.cert");
	g_autoptr(GError) error = NULL;
	g_autoptr(AcSevCert) pdh = ac_sev_cert_parse_file (pdh_path, &error);
	g_autoptr(EVP_PKEY) godh = sev_test_load_key ("synthetic-platform/godh_key.pem");
	g_autoptr(GBytes) godh_file = sev_test_load ("synthetic-platform/godh.cert");
	AcSevSessionParams params;
	const gchar *cases[][2] = { { "sev", "synthetic-platform/session_sev.bin" },
				    { "sev_es", "synthetic-platform/session_sev_es.bin" } };

	g_assert_no_error (error);
	unhex16 (json_object_get_string_member (e2e, "nonce"), params.nonce);
	unhex16 (json_object_get_string_member (e2e, "wrap_iv"), params.wrap_iv);
	unhex16 (json_object_get_string_member (e2e, "tek"), params.tek);
	unhex16 (json_object_get_string_member (e2e, "tik"), params.tik);
	for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
		JsonObject *l = json_object_get_object_member (
		    json_object_get_object_member (e2e, "launches"), cases[i][0]);
		g_autoptr(GBytes) want = sev_test_load (cases[i][1]);
		g_autoptr(AcSevSession) s = ac_sev_session_new_full (
		    pdh, (guint32)json_object_get_int_member (l, "policy"), godh, &params, &error);
		g_assert_no_error (error);
		g_assert_cmpmem (ac_sev_session_get_blob (s), AC_SEV_SESSION_SIZE,
				 g_bytes_get_data (want, NULL), g_bytes_get_size (want));
		g_assert_cmpmem (ac_sev_cert_get_data (ac_sev_session_get_godh_cert (s)),
				 AC_SEV_CERT_SIZE,
				 g_bytes_get_data (godh_file, NULL),
				 g_bytes_get_size (godh_file));
	}
}

static void
test_session_random_and_files (void)
{
	g_autofree gchar *pdh_path = sev_test_path ("real-chains/naples/pdh.cert");
	g_autoptr(GError) error = NULL;
	g_autoptr(AcSevCert) pdh = ac_sev_cert_parse_file (pdh_path, &error);
	g_autoptr(AcSevSession) a = ac_sev_session_new (pdh, 1, &error);
	g_autoptr(AcSevSession) b = ac_sev_session_new (pdh, 1, &error);
	g_autofree gchar *dir = g_dir_make_tmp ("ac-sev-session-XXXXXX", NULL);
	g_autofree gchar *tek_path = g_build_filename (dir, "vm_tek.bin", NULL);
	g_autofree gchar *godh_path = g_build_filename (dir, "vm_godh.b64", NULL);
	g_autofree gchar *godh_text = NULL;
	guint8 tek[16];
	GStatBuf st;

	g_assert_no_error (error);
	/* two sessions never share keys, nonce or GODH */
	g_assert_true (memcmp (ac_sev_session_get_tek (a), ac_sev_session_get_tek (b), 16) != 0);
	g_assert_true (memcmp (ac_sev_session_get_blob (a), ac_sev_session_get_blob (b), 128) != 0);
	g_assert_true (memcmp (ac_sev_cert_get_data (ac_sev_session_get_godh_cert (a)),
			       ac_sev_cert_get_data (ac_sev_session_get_godh_cert (b)),
			       AC_SEV_CERT_SIZE) != 0);
	/* a PEK is not a PDH */
	{
		g_autofree gchar *pek_path = sev_test_path ("real-chains/naples/pek.cert");
		g_autoptr(AcSevCert) pek = ac_sev_cert_parse_file (pek_path, NULL);
		g_assert_null (ac_sev_session_new (pek, 1, &error));
		g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
		g_clear_error (&error);
	}
	g_assert_true (ac_sev_session_write_files (a, dir, "vm", &error));
	g_assert_no_error (error);
	g_assert_cmpint (g_stat (tek_path, &st), ==, 0);
	g_assert_cmpint (st.st_mode & 0777, ==, 0600);
	g_assert_true (ac_sev_key_file_read (tek_path, tek, 16, "TEK", &error));
	g_assert_cmpmem (tek, 16, ac_sev_session_get_tek (a), 16);
	g_assert_true (g_file_get_contents (godh_path, &godh_text, NULL, NULL));
	{
		g_autofree gchar *want = ac_sev_session_get_godh_b64 (a);
		g_assert_cmpstr (godh_text, ==, want); /* no newline, as sevctl */
	}
	/* never overwritten */
	g_assert_false (ac_sev_session_write_files (b, dir, "vm", &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_EXISTS);
	g_clear_error (&error);
	g_assert_false (ac_sev_session_write_files (b, dir, "../x", &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
	test_util_rm_rf (dir);
}

/* ---- measurement ---- */

static GBytes *
b64_bytes (const gchar *b64)
{
	gsize len = 0;
	guint8 *d = g_base64_decode (b64, &len);
	return g_bytes_new_take (d, len);
}

static void
load_tik (const gchar *rel, guint8 tik[16])
{
	g_autoptr(GBytes) b = sev_test_load (rel);
	g_assert_cmpuint (g_bytes_get_size (b), ==, 16);
	memcpy (tik, g_bytes_get_data (b, NULL), 16);
}

static void
test_measurement_vectors (void)
{
	g_autoptr(JsonParser) p = load_json ("measurement/vectors.json");
	JsonArray *arr = json_object_get_array_member (root_obj (p), "launch_measurement");

	for (guint i = 0; i < json_array_get_length (arr); i++) {
		JsonObject *v = json_array_get_object_element (arr, i);
		const gchar *name = json_object_get_string_member (v, "name");
		guint8 tik[16], ld[32], mnonce[16], meas[32];
		guint8 maj = json_object_get_int_member (v, "api_major");
		guint8 min = json_object_get_int_member (v, "api_minor");
		guint8 build = json_object_get_int_member (v, "build_id");
		guint32 policy = json_object_get_int_member (v, "policy");
		g_autoptr(GError) error = NULL;
		AcSevLaunchInputs in = { 0 };
		g_autoptr(GBytes) fw = NULL;
		g_autoptr(GBytes) kernel = NULL;
		g_autoptr(GBytes) initrd = NULL;
		g_autoptr(GBytes) v0 = NULL;
		g_autoptr(GBytes) v1 = NULL;
		g_autoptr(GBytes) blob = NULL;

		g_test_message ("vector %s", name);
		if (json_object_has_member (v, "tik")) {
			g_autofree gchar *rel = g_strdup_printf ("measurement/%s", json_object_get_string_member (v, "tik"));
			load_tik (rel, tik);
		} else {
			unhex16 (json_object_get_string_member (v, "tik_hex"), tik);
		}
		if (json_object_has_member (v, "launch_digest_b64")) {
			g_autoptr(GBytes) d = b64_bytes (json_object_get_string_member (v, "launch_digest_b64"));
			memcpy (ld, g_bytes_get_data (d, NULL), 32);
		} else if (json_object_has_member (v, "measured_data")) {
			in.policy = policy;
			fw = sev_test_load ("measurement/sevctl_OVMF.amdsev.fd_trimmed.bin");
			in.firmware = fw;
			if (json_object_has_member (v, "kernel")) {
				g_autofree gchar *k = g_strdup_printf ("measurement/%s", json_object_get_string_member (v, "kernel"));
				g_autofree gchar *r = g_strdup_printf ("measurement/%s", json_object_get_string_member (v, "initrd"));
				kernel = sev_test_load (k);
				initrd = sev_test_load (r);
				in.kernel = kernel;
				in.initrd = initrd;
				in.cmdline = json_object_get_string_member (v, "cmdline");
			}
			if (json_object_has_member (v, "num_cpus")) {
				v0 = sev_test_load ("measurement/sevctl_vmsa0.bin");
				v1 = sev_test_load ("measurement/sevctl_vmsa1.bin");
				in.num_cpus = json_object_get_int_member (v, "num_cpus");
				in.vmsa_cpu0 = v0;
				in.vmsa_cpu1 = v1;
			}
			g_assert_true (ac_sev_launch_digest (&in, ld, &error));
			g_assert_no_error (error);
			sev_assert_hex (ld, 32, json_object_get_string_member (v, "launch_digest_hex"));
			/* SEV-ES: the same digest from VMSAs built from the vCPU model (legacy) */
			if (in.num_cpus > 0) {
				guint8 ld2[32];
				in.vmsa_cpu0 = NULL;
				in.vmsa_cpu1 = NULL;
				in.cpu_family = 25;
				in.cpu_model = 1;
				in.cpu_stepping = 1;
				in.vmsa_variant = AC_SEV_VMSA_LEGACY;
				g_assert_true (ac_sev_launch_digest (&in, ld2, &error));
				g_assert_cmpmem (ld, 32, ld2, 32);
			}
		} else {
			gsize n = 0;
			g_autofree guint8 *d = sev_test_unhex (json_object_get_string_member (v, "launch_digest_hex"), &n);
			memcpy (ld, d, 32);
		}
		if (json_object_has_member (v, "mnonce_b64")) {
			g_autoptr(GBytes) n = b64_bytes (json_object_get_string_member (v, "mnonce_b64"));
			memcpy (mnonce, g_bytes_get_data (n, NULL), 16);
		} else if (json_object_has_member (v, "mnonce_hex")) {
			unhex16 (json_object_get_string_member (v, "mnonce_hex"), mnonce);
		} else {
			blob = b64_bytes (json_object_get_string_member (v, "launch_measure_blob_b64"));
			memcpy (mnonce, (const guint8 *)g_bytes_get_data (blob, NULL) + 32, 16);
		}
		g_assert_true (ac_sev_measurement_compute (tik, maj, min, build, policy, ld, mnonce, meas, &error));
		g_assert_no_error (error);
		if (json_object_has_member (v, "expected_measurement_hex")) {
			sev_assert_hex (meas, 32, json_object_get_string_member (v, "expected_measurement_hex"));
			continue;
		}
		if (blob == NULL) {
			blob = b64_bytes (json_object_get_string_member (v, "expected_launch_measure_b64"));
			g_assert_cmpmem (meas, 32, g_bytes_get_data (blob, NULL), 32);
			g_assert_cmpmem (mnonce, 16, (const guint8 *)g_bytes_get_data (blob, NULL) + 32, 16);
		}
		/* verification accepts it, and refuses any change of input */
		g_assert_true (ac_sev_measurement_verify (g_bytes_get_data (blob, NULL), 48, tik, maj, min, build, policy, ld, &error));
		g_assert_no_error (error);
		g_assert_false (ac_sev_measurement_verify (g_bytes_get_data (blob, NULL), 48, tik, maj, min, build, policy ^ 1, ld, &error));
		g_assert_error (error, AC_ERROR, AC_ERROR_MISMATCH);
		g_clear_error (&error);
		ld[5] ^= 0x40;
		g_assert_false (ac_sev_measurement_verify (g_bytes_get_data (blob, NULL), 48, tik, maj, min, build, policy, ld, &error));
		g_assert_error (error, AC_ERROR, AC_ERROR_MISMATCH);
		g_clear_error (&error);
		g_assert_false (ac_sev_measurement_verify (g_bytes_get_data (blob, NULL), 47, tik, maj, min, build, policy, ld, &error));
		g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
	}
}

static void
test_launch_digest_virtee (void)
{
	g_autoptr(JsonParser) p = load_json ("measurement/vectors.json");
	JsonArray *arr = json_object_get_array_member (root_obj (p), "launch_digest");
	g_autoptr(GBytes) empty = g_bytes_new (NULL, 0);

	for (guint i = 0; i < json_array_get_length (arr); i++) {
		JsonObject *v = json_array_get_object_element (arr, i);
		g_autofree gchar *fw_rel = g_strdup_printf ("measurement/%s", json_object_get_string_member (v, "ovmf"));
		g_autoptr(GBytes) fw = sev_test_load (fw_rel);
		AcSevLaunchInputs in = { 0 };
		guint8 ld[32];
		g_autoptr(GError) error = NULL;
		const gchar *initrd = json_object_get_string_member_with_default (v, "initrd", NULL);
		const gchar *cmdline = json_object_get_string_member_with_default (v, "cmdline", "absent");

		g_test_message ("vector %s", json_object_get_string_member (v, "name"));
		in.firmware = fw;
		if (json_object_has_member (v, "kernel"))
			in.kernel = empty;
		if (initrd != NULL && g_str_equal (initrd, "empty file"))
			in.initrd = empty;
		if (!g_str_has_prefix (cmdline, "absent"))
			in.cmdline = cmdline;
		if (json_object_has_member (v, "vcpus")) {
			in.policy = AC_SEV_POLICY_ES;
			in.num_cpus = json_object_get_int_member (v, "vcpus");
			in.cpu_family = 23;
			in.cpu_model = 1;
			in.cpu_stepping = 2;
			in.vmsa_variant = AC_SEV_VMSA_INIT2;
		}
		g_assert_true (ac_sev_launch_digest (&in, ld, &error));
		g_assert_no_error (error);
		sev_assert_hex (ld, 32, json_object_get_string_member (v, "expected_ld_hex"));
	}
}

static void
test_vmsa_files (void)
{
	struct {
		const gchar *file;
		const gchar *fw;
		gboolean bsp;
		guint fam, model, step;
		AcSevVmsaVariant variant;
	} cases[] = {
		{ "measurement/sevctl_vmsa0.bin", "measurement/sevctl_OVMF.amdsev.fd_trimmed.bin", TRUE, 25, 1, 1, AC_SEV_VMSA_LEGACY },
		{ "measurement/sevctl_vmsa1.bin", "measurement/sevctl_OVMF.amdsev.fd_trimmed.bin", FALSE, 25, 1, 1, AC_SEV_VMSA_LEGACY },
		{ "measurement/virtee_epycv4_bsp_vmsa_fpu.bin", "measurement/ovmf_AmdSev_suffix.bin", TRUE, 23, 1, 2, AC_SEV_VMSA_INIT2 },
		{ "measurement/virtee_epycv4_ap_vmsa_fpu.bin", "measurement/ovmf_AmdSev_suffix.bin", FALSE, 23, 1, 2, AC_SEV_VMSA_INIT2 },
	};
	g_assert_cmphex (ac_sev_cpu_signature (23, 1, 2), ==, 0x00800f12);
	g_assert_cmphex (ac_sev_cpu_signature (23, 49, 0), ==, 0x00830f10);
	g_assert_cmphex (ac_sev_cpu_signature (25, 1, 1), ==, 0x00a00f11);
	g_assert_cmphex (ac_sev_cpu_signature (25, 17, 0), ==, 0x00a10f10);
	for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
		g_autoptr(GBytes) want = sev_test_load (cases[i].file);
		g_autoptr(GBytes) fw = sev_test_load (cases[i].fw);
		g_autoptr(GError) error = NULL;
		g_autoptr(AcSevOvmf) ovmf = ac_sev_ovmf_parse (g_bytes_get_data (fw, NULL), g_bytes_get_size (fw), &error);
		guint32 reset = 0;
		guint8 vmsa[AC_SEV_VMSA_SIZE];
		g_assert_no_error (error);
		g_assert_true (ac_sev_ovmf_get_es_reset_addr (ovmf, &reset, &error));
		g_assert_cmphex (reset, ==, 0x0080b004);
		ac_sev_vmsa_build (cases[i].bsp, reset, ac_sev_cpu_signature (cases[i].fam, cases[i].model, cases[i].step), cases[i].variant, vmsa);
		g_assert_cmpmem (vmsa, sizeof (vmsa), g_bytes_get_data (want, NULL), g_bytes_get_size (want));
	}
}

static void
test_ovmf_tables (void)
{
	g_autoptr(JsonParser) p = load_json ("measurement/vectors.json");
	JsonObject *tables = json_object_get_object_member (root_obj (p), "ovmf_footer_tables");
	g_autoptr(GList) files = json_object_get_members (tables);

	for (GList *l = files; l != NULL; l = l->next) {
		g_autofree gchar *rel = g_strdup_printf ("measurement/%s", (const gchar *)l->data);
		g_autoptr(GBytes) fw = sev_test_load (rel);
		JsonObject *entries = json_object_get_object_member (tables, l->data);
		g_autoptr(GList) guids = json_object_get_members (entries);
		g_autoptr(GError) error = NULL;
		g_autoptr(AcSevOvmf) ovmf = ac_sev_ovmf_parse (g_bytes_get_data (fw, NULL), g_bytes_get_size (fw), &error);
		g_assert_no_error (error);
		g_assert_true (ac_sev_ovmf_has_table (ovmf));
		for (GList *g = guids; g != NULL; g = g->next) {
			gsize len = 0;
			const guint8 *d = ac_sev_ovmf_get_entry (ovmf, g->data, &len);
			g_assert_nonnull (d);
			sev_assert_hex (d, len, json_object_get_string_member (entries, g->data));
		}
	}
	/* a corrupted table length is refused; no footer = no table */
	{
		g_autoptr(GBytes) fw = sev_test_load ("measurement/ovmf_AmdSev_suffix.bin");
		g_autofree guint8 *b = g_memdup2 (g_bytes_get_data (fw, NULL), 4096);
		g_autoptr(GError) error = NULL;
		g_autoptr(AcSevOvmf) none = NULL;
		b[4096 - 50] = 0xff;
		b[4096 - 49] = 0xff;
		g_assert_null (ac_sev_ovmf_parse (b, 4096, &error));
		g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
		g_clear_error (&error);
		b[4096 - 48] ^= 1;
		none = ac_sev_ovmf_parse (b, 4096, &error);
		g_assert_no_error (error);
		g_assert_false (ac_sev_ovmf_has_table (none));
	}
}

static void
test_kernel_hashes_table (void)
{
	g_autoptr(GBytes) kernel = sev_test_load ("measurement/sevctl_vmlinuz-fake");
	g_autoptr(GBytes) initrd = sev_test_load ("measurement/sevctl_initrd-fake");
	g_autoptr(GBytes) want = sev_test_load ("measurement/sevctl_kernel_hashes_table.bin");
	g_autoptr(JsonParser) p = load_json ("measurement/vectors.json");
	JsonObject *tables = json_object_get_object_member (root_obj (p), "kernel_hashes_tables");
	guint8 t[AC_SEV_KERNEL_HASHES_TABLE_SIZE];

	g_assert_true (ac_sev_kernel_hashes_table (g_bytes_get_data (kernel, NULL), g_bytes_get_size (kernel),
						   g_bytes_get_data (initrd, NULL), g_bytes_get_size (initrd),
						   "foo bar baz fake kernel=cmdline", t, NULL));
	g_assert_cmpmem (t, sizeof (t), g_bytes_get_data (want, NULL), g_bytes_get_size (want));
	g_assert_true (ac_sev_kernel_hashes_table (NULL, 0, NULL, 0, "console=ttyS0 loglevel=7", t, NULL));
	sev_assert_hex (t, sizeof (t), json_object_get_string_member (tables, "virtee test_sev table"));
	g_assert_true (ac_sev_kernel_hashes_table (NULL, 0, NULL, 0, NULL, t, NULL));
	sev_assert_hex (t, sizeof (t), json_object_get_string_member (tables, "virtee no-initrd/no-cmdline table"));
}

static void
test_platform_checks (void)
{
	g_autoptr(GError) error = NULL;
	g_assert_true (ac_sev_launch_check_platform (1, 1, 1, 55, 0, 17, &error));
	g_assert_false (ac_sev_launch_check_platform (1, 3, 1, 55, 0, 17, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_MISMATCH);
	g_clear_error (&error);
	g_assert_false (ac_sev_launch_check_platform (1, 1, 0, 16, 0, 17, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_REFUSED);
	g_clear_error (&error);
	g_assert_true (ac_sev_launch_check_platform (5, 5, 1, 0, 0, 24, &error));
}

/* ---- secret ---- */

static void
run_secret_vector (JsonObject *v, AcSevSecretTableFormat fmt)
{
	const gchar *name = json_object_get_string_member (v, "name");
	JsonArray *secrets = json_object_get_array_member (v, "secrets");
	g_autoptr(AcSevSecretTable) t = ac_sev_secret_table_new ();
	g_autoptr(GBytes) table = NULL;
	g_autoptr(GBytes) payload = NULL;
	g_autoptr(GBytes) blob = b64_bytes (json_object_get_string_member (v, "launch_measure_blob_b64"));
	g_autoptr(GBytes) iv = b64_bytes (json_object_get_string_member (v, "iv_b64"));
	g_autoptr(GError) error = NULL;
	g_autoptr(AcSevSecretTable) parsed = NULL;
	g_autoptr(GBytes) opened = NULL;
	guint8 tik[16], tek[16], hdr[AC_SEV_SECRET_HEADER_SIZE];
	g_autofree gchar *tik_rel = g_strdup_printf ("secret/%s", json_object_get_string_member (v, "tik"));
	g_autofree gchar *tek_rel = g_strdup_printf ("secret/%s", json_object_get_string_member (v, "tek"));
	g_autofree gchar *hdr_b64 = NULL;
	g_autofree gchar *pay_b64 = NULL;

	g_test_message ("secret vector %s", name);
	load_tik (tik_rel, tik);
	load_tik (tek_rel, tek);
	for (guint i = 0; i < json_array_get_length (secrets); i++) {
		JsonArray *e = json_array_get_array_element (secrets, i);
		g_autofree gchar *guid = g_strndup (json_array_get_string_element (e, 0), 36);
		g_autofree gchar *rel = g_strdup_printf ("secret/%s", json_array_get_string_element (e, 1));
		g_autoptr(GBytes) d = sev_test_load (rel);
		g_assert_true (ac_sev_secret_table_add (t, guid, g_bytes_get_data (d, NULL), g_bytes_get_size (d), &error));
	}
	table = ac_sev_secret_table_build (t, fmt, &error);
	g_assert_no_error (error);
	sev_assert_hex (g_bytes_get_data (table, NULL), g_bytes_get_size (table),
			json_object_get_string_member (v, "plaintext_table_hex"));
	g_assert_true (ac_sev_secret_packet_build (tek, tik, g_bytes_get_data (blob, NULL), 1, 40,
						   g_bytes_get_data (iv, NULL), table, hdr, &payload, &error));
	g_assert_no_error (error);
	hdr_b64 = g_base64_encode (hdr, sizeof (hdr));
	pay_b64 = g_base64_encode (g_bytes_get_data (payload, NULL), g_bytes_get_size (payload));
	if (json_object_has_member (v, "expected_header_b64")) {
		g_assert_cmpstr (hdr_b64, ==, json_object_get_string_member (v, "expected_header_b64"));
		g_assert_cmpstr (pay_b64, ==, json_object_get_string_member (v, "expected_payload_b64"));
	} else {
		g_autofree gchar *h_rel = g_strdup_printf ("secret/%s", json_object_get_string_member (v, "header_file"));
		g_autofree gchar *p_rel = g_strdup_printf ("secret/%s", json_object_get_string_member (v, "payload_file"));
		g_autofree gchar *want_h = sev_test_load_text (h_rel);
		g_autofree gchar *want_p = sev_test_load_text (p_rel);
		g_assert_cmpstr (hdr_b64, ==, want_h);
		g_assert_cmpstr (pay_b64, ==, want_p);
	}
	/* the PSP side opens it and the table parses back to the same entries */
	g_assert_true (ac_sev_secret_packet_open (tek, tik, g_bytes_get_data (blob, NULL), 1, 40, hdr, sizeof (hdr),
						  g_bytes_get_data (payload, NULL), g_bytes_get_size (payload), &opened, &error));
	g_assert_no_error (error);
	g_assert_true (g_bytes_equal (opened, table));
	parsed = ac_sev_secret_table_parse (g_bytes_get_data (opened, NULL), g_bytes_get_size (opened), &error);
	g_assert_no_error (error);
	g_assert_cmpuint (ac_sev_secret_table_get_size (parsed), ==, ac_sev_secret_table_get_size (t));
	for (guint i = 0; i < ac_sev_secret_table_get_size (t); i++) {
		g_autoptr(GBytes) a = ac_sev_secret_table_get_data (t, i);
		g_autoptr(GBytes) b = ac_sev_secret_table_get_data (parsed, i);
		g_assert_true (g_bytes_equal (a, b));
		g_assert_cmpmem (ac_sev_secret_table_get_guid (t, i), 16, ac_sev_secret_table_get_guid (parsed, i), 16);
	}
	/* a wrong measurement, TIK or a flipped payload bit is refused */
	{
		g_autofree guint8 *bad = g_memdup2 (g_bytes_get_data (payload, NULL), g_bytes_get_size (payload));
		guint8 m2[32];
		g_autoptr(GBytes) x = NULL;
		memcpy (m2, g_bytes_get_data (blob, NULL), 32);
		m2[0] ^= 1;
		g_assert_false (ac_sev_secret_packet_open (tek, tik, m2, 1, 40, hdr, sizeof (hdr), bad, g_bytes_get_size (payload), &x, &error));
		g_assert_error (error, AC_ERROR, AC_ERROR_MISMATCH);
		g_clear_error (&error);
		bad[3] ^= 0x10;
		g_assert_false (ac_sev_secret_packet_open (tek, tik, g_bytes_get_data (blob, NULL), 1, 40, hdr, sizeof (hdr), bad, g_bytes_get_size (payload), &x, &error));
		g_assert_error (error, AC_ERROR, AC_ERROR_MISMATCH);
		g_clear_error (&error);
		g_assert_false (ac_sev_secret_packet_open (tek, tik, g_bytes_get_data (blob, NULL), 1, 40, hdr, 51, bad, g_bytes_get_size (payload), &x, &error));
		g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
	}
}

static void
test_secret_vectors (void)
{
	g_autoptr(JsonParser) p = load_json ("secret/vectors.json");
	JsonArray *arr = json_object_get_array_member (root_obj (p), "vectors");
	for (guint i = 0; i < json_array_get_length (arr); i++) {
		JsonObject *v = json_array_get_object_element (arr, i);
		const gchar *name = json_object_get_string_member (v, "name");
		if (g_str_equal (name, "sevctl-max-size")) {
			const gchar *files[] = { "secret/sevctl_secret3.txt", "secret/sevctl_secret4.txt" };
			for (guint f = 0; f < 2; f++) {
				g_autoptr(AcSevSecretTable) t = ac_sev_secret_table_new ();
				g_autoptr(GBytes) d = sev_test_load (files[f]);
				g_autoptr(GBytes) table = NULL;
				g_assert_true (ac_sev_secret_table_add (t, "23058844-597b-42fb-8259-a0f5d9d495af",
									g_bytes_get_data (d, NULL), g_bytes_get_size (d), NULL));
				table = ac_sev_secret_table_build (t, AC_SEV_SECRET_TABLE_SEVCTL, NULL);
				g_assert_cmpuint (g_bytes_get_size (table), ==, 16384);
			}
			continue;
		}
		run_secret_vector (v, g_str_has_prefix (name, "libvirt") ? AC_SEV_SECRET_TABLE_LIBVIRT
									 : AC_SEV_SECRET_TABLE_SEVCTL);
	}
}

/* Aleph's table format (docs/protocols.md#launch-secret-tables): (b) sevctl's inputs, which
 * make a 64-byte table (59 bytes + 5 of padding), (c) an end-to-end mock set. */
static void
test_secret_aleph (void)
{
	g_autoptr(GBytes) tik_b = sev_test_load ("secret/sevctl_tik1.bin");
	g_autoptr(GBytes) tek_b = sev_test_load ("secret/sevctl_tek1.bin");
	g_autoptr(GError) error = NULL;
	g_autoptr(GBytes) table = ac_sev_secret_table_build_aleph_passphrase ("MY-LUKS-PASSPHRASE", &error);
	g_autoptr(GBytes) blob = b64_bytes ("TLeA7607lZQntLjRY1/i+sbtdSZ+75zxpz4Px9hzpBLwItF5Q2o4prA++3ZZv9ZS");
	g_autoptr(GBytes) iv = b64_bytes ("rFR07U3TLH2YnsUj2SVZ7A==");
	g_autoptr(GBytes) payload = NULL;
	guint8 hdr[AC_SEV_SECRET_HEADER_SIZE];
	g_autofree gchar *s = NULL;

	g_assert_no_error (error);
	sev_assert_hex (g_bytes_get_data (table, NULL), g_bytes_get_size (table),
			"42f5741edd71664d963eef4287ff173b40000000e5696873f084734992ec06879ce3da0b27000000"
			"4d592d4c554b532d50415353504852415345" "00" "0000000000");
	g_assert_true (ac_sev_secret_packet_build (g_bytes_get_data (tek_b, NULL), g_bytes_get_data (tik_b, NULL),
						   g_bytes_get_data (blob, NULL), 1, 40, g_bytes_get_data (iv, NULL),
						   table, hdr, &payload, &error));
	s = g_base64_encode (g_bytes_get_data (payload, NULL), g_bytes_get_size (payload));
	g_assert_cmpstr (s, ==, "0U3e5PcXv0UW+H4tSBFKOaqYfKE1+j38Bc2fuO16mYiyI+sWxrINfn+lgYj56GL12yyinDa+lVfCCwD/2w5cPA==");
	g_free (s);
	s = g_base64_encode (hdr, sizeof (hdr));
	g_assert_cmpstr (s, ==, "AAAAAKxUdO1N0yx9mJ7FI9klWexiNrnxshBPeCBifBDn5+WdE4rNOxS/K8T6CbLNNkhVLg==");

	/* (c): end-to-end mock set */
	{
		g_autoptr(GBytes) t2 = ac_sev_secret_table_build_aleph_passphrase ("correct horse battery staple", &error);
		g_autofree guint8 *meas = sev_test_unhex ("476c10b617f7cb364afdef4831a3ad38456dc5c9d67bbf5375f60eaec619f6c9", NULL);
		g_autofree guint8 *iv2 = sev_test_unhex ("000102030405060708090a0b0c0d0e0f", NULL);
		g_autoptr(GBytes) p2 = NULL;
		g_autofree gchar *h = NULL;
		g_autofree gchar *c = NULL;
		sev_assert_hex (g_bytes_get_data (t2, NULL), g_bytes_get_size (t2),
				"42f5741edd71664d963eef4287ff173b50000000e5696873f084734992ec06879ce3da0b31000000"
				"636f727265637420686f727365206261747465727920737461706c65000000000000000000000000");
		g_assert_true (ac_sev_secret_packet_build (g_bytes_get_data (tek_b, NULL), g_bytes_get_data (tik_b, NULL),
							   meas, 1, 55, iv2, t2, hdr, &p2, &error));
		h = g_base64_encode (hdr, sizeof (hdr));
		c = g_base64_encode (g_bytes_get_data (p2, NULL), g_bytes_get_size (p2));
		g_assert_cmpstr (h, ==, "AAAAAAABAgMEBQYHCAkKCwwNDg95PCIW1uesdq8qdttPTReEEj9BIwXFZGfRdy1Esbuf0w==");
		g_assert_cmpstr (c, ==, "tA+VsfsN/vwkZJP+e6xOiyRqXxdv/k0o29YVqHYFixtepi1wBvxel2cqE6yQXfYZY1xKF0OTXPLeXTagrubJqp5Iana49TUlWVsdv9v2CVw=");
	}
	/* non-ASCII and empty passphrases are refused */
	g_assert_null (ac_sev_secret_table_build_aleph_passphrase ("p\xc3\xa4ss", &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
	g_clear_error (&error);
	g_assert_null (ac_sev_secret_table_build_aleph_passphrase ("", &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
}

static void
test_secret_table_parse_bad (void)
{
	guint8 buf[64] = { 0 };
	g_autoptr(GError) error = NULL;
	ac_sev_guid_from_string (AC_SEV_SECRET_GUID_TABLE, buf, NULL);
	/* length field beyond the buffer */
	ac_sev_put_le32 (buf + 16, 65);
	g_assert_null (ac_sev_secret_table_parse (buf, sizeof (buf), &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
	g_clear_error (&error);
	/* entry length past the table */
	ac_sev_put_le32 (buf + 16, 64);
	buf[20] = 1;
	ac_sev_put_le32 (buf + 36, 45);
	g_assert_null (ac_sev_secret_table_parse (buf, sizeof (buf), &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
	g_clear_error (&error);
	/* wrong header GUID */
	buf[0] ^= 1;
	g_assert_null (ac_sev_secret_table_parse (buf, sizeof (buf), &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
}

static void
test_guid (void)
{
	guint8 g[16];
	g_autofree gchar *s = NULL;
	g_autoptr(GError) error = NULL;
	g_assert_true (ac_sev_guid_from_string (AC_SEV_SECRET_GUID_DISK_PASSWORD, g, NULL));
	sev_assert_hex (g, 16, "e5696873f084734992ec06879ce3da0b");
	s = ac_sev_guid_to_string (g);
	g_assert_cmpstr (s, ==, AC_SEV_SECRET_GUID_DISK_PASSWORD);
	g_assert_false (ac_sev_guid_from_string ("736869e5-84f0-4973-92ec-06879ce3da0", g, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
	g_clear_error (&error);
	g_assert_false (ac_sev_guid_from_string ("736869e5x84f0-4973-92ec-06879ce3da0b", g, &error));
	g_clear_error (&error);
	g_assert_false (ac_sev_guid_from_string ("736869e5-84f0-4973-92ec-06879ce3da0g", g, &error));
}

/* keys from their fields (the parameters OpenSSL builds them from): what was taken apart comes
 * back equal; a private scalar out of range and a point off the curve are refused */
static void
test_keys_from_fields (void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(EVP_PKEY) ec = ac_sev_ec_generate (&error);
	g_autoptr(EVP_PKEY) ec_back = NULL;
	g_autoptr(EVP_PKEY) rsa = ac_sev_rsa_generate (2048, &error);
	g_autoptr(EVP_PKEY) rsa_back = NULL;
	g_autoptr(EVP_PKEY) one = NULL;
	g_autoptr(BIGNUM) n = NULL;
	g_autoptr(BIGNUM) e = NULL;
	guint8 qx[72], qy[72], n_le[256], e_le[4];
	guint8 d[48] = { 0 };

	g_assert_no_error (error);
	g_assert_true (ac_sev_ec_pubkey_to_le (ec, qx, qy, &error));
	ec_back = ac_sev_ec_pubkey_from_le (qx, qy, &error);
	g_assert_no_error (error);
	g_assert_cmpint (EVP_PKEY_eq (ec, ec_back), ==, 1);

	g_assert_true (EVP_PKEY_get_bn_param (rsa, OSSL_PKEY_PARAM_RSA_N, &n));
	g_assert_true (EVP_PKEY_get_bn_param (rsa, OSSL_PKEY_PARAM_RSA_E, &e));
	g_assert_cmpint (BN_bn2lebinpad (n, n_le, sizeof (n_le)), ==, sizeof (n_le));
	g_assert_cmpint (BN_bn2lebinpad (e, e_le, sizeof (e_le)), ==, sizeof (e_le));
	rsa_back = ac_sev_rsa_pubkey_from_le (n_le, sizeof (n_le), e_le, sizeof (e_le), &error);
	g_assert_no_error (error);
	g_assert_cmpint (EVP_PKEY_eq (rsa, rsa_back), ==, 1);

	/* d = 1: the key pair of the generator */
	d[47] = 1;
	one = ac_sev_ec_key_from_private (d, sizeof (d), &error);
	g_assert_no_error (error);
	g_assert_nonnull (one);
	{
		guint8 sig[144];
		g_assert_true (ac_sev_ecdsa_sign_le (one, "SHA384", d, sizeof (d), sig, &error));
		g_assert_no_error (error);
		g_assert_true (ac_sev_ecdsa_verify_le (one, "SHA384", d, sizeof (d), sig));
	}
	d[47] = 0;
	g_assert_null (ac_sev_ec_key_from_private (d, sizeof (d), &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
	g_assert_true (g_str_has_prefix (error->message, "loading the P-384 private key failed: "));
	g_clear_error (&error);

	/* (x, y + 1) is not on the curve */
	qy[0] ^= 1;
	g_assert_null (ac_sev_ec_pubkey_from_le (qx, qy, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
	g_assert_true (g_str_has_prefix (error->message, "loading the P-384 public key") ||
	               g_str_has_prefix (error->message, "checking the P-384 public key"));
}

int
main (int argc, char **argv)
{
	g_test_init (&argc, &argv, NULL);
	g_test_add_func ("/sev/session/kdf-zero", test_kdf_zero);
	g_test_add_func ("/sev/session/rome-pdh", test_session_rome);
	g_test_add_func ("/sev/session/synthetic", test_session_synthetic);
	g_test_add_func ("/sev/session/random-and-files", test_session_random_and_files);
	g_test_add_func ("/sev/measure/vectors", test_measurement_vectors);
	g_test_add_func ("/sev/measure/launch-digest-virtee", test_launch_digest_virtee);
	g_test_add_func ("/sev/measure/vmsa-files", test_vmsa_files);
	g_test_add_func ("/sev/measure/ovmf-tables", test_ovmf_tables);
	g_test_add_func ("/sev/measure/kernel-hashes-table", test_kernel_hashes_table);
	g_test_add_func ("/sev/measure/platform-checks", test_platform_checks);
	g_test_add_func ("/sev/secret/vectors", test_secret_vectors);
	g_test_add_func ("/sev/secret/aleph", test_secret_aleph);
	g_test_add_func ("/sev/secret/table-parse-bad", test_secret_table_parse_bad);
	g_test_add_func ("/sev/secret/guid", test_guid);
	g_test_add_func ("/sev/crypto/keys-from-fields", test_keys_from_fields);
	return g_test_run ();
}
