/*
 * Agreement with an independent implementation: libvirt's virt-qemu-sev-validate (Debian's
 * libvirt-clients-qemu, offline mode) on inputs generated at random per run (the GTest seed
 * reproduces a run). The software PSP launches a guest with random firmware, kernel, initrd,
 * cmdline, vCPU model and count, policy and firmware version; then
 *  - the peer, `virt-aleph sev measure` and the library give the same verdict on the genuine
 *    measurement (accept) and on corrupted ones (refuse);
 *  - secret packets the peer builds (--inject-secret) are accepted by the software PSP and
 *    opened to the same table as our libvirt-format builder makes; ours are accepted by the
 *    PSP too (the peer has no interface that accepts a packet).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <glib/gstdio.h>

#include "ac-error.h"
#include "ac-sev-measure.h"
#include "ac-sev-policy.h"
#include "ac-sev-psp.h"
#include "ac-sev-secret-private.h"
#include "ac-sev-session.h"
#include "test-sev-common.h"
#include "../test-util.h"

#define PEER "/usr/bin/virt-qemu-sev-validate"

static AcSevPsp *psp = NULL;
static gchar *tmpdir = NULL;

static gchar *
write_tmp (const gchar *name, const guint8 *data, gsize len)
{
	gchar *path = g_build_filename (tmpdir, name, NULL);
	g_assert_true (g_file_set_contents (path, (const gchar *)data, (gssize)len, NULL));
	return path;
}

static GBytes *
rand_bytes (gsize len)
{
	guint8 *b = g_malloc (len + 1);
	for (gsize i = 0; i < len; i++)
		b[i] = (guint8)g_test_rand_int_range (0, 256);
	return g_bytes_new_take (b, len);
}

static gchar *
rand_cmdline (void)
{
	static const gchar alphabet[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 =/.,_:-";
	guint len = g_test_rand_int_range (1, 80);
	gchar *s = g_malloc (len + 1);
	for (guint i = 0; i < len; i++)
		s[i] = alphabet[g_test_rand_int_range (0, sizeof (alphabet) - 1)];
	s[0] = 'c'; /* never starts like an option */
	s[len] = '\0';
	return s;
}

/* runs argv; returns the exit status */
static gint
run (GPtrArray *argv, gchar **out)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *err = NULL;
	gint status = 0;
	g_ptr_array_add (argv, NULL);
	g_assert_true (g_spawn_sync (NULL, (gchar **)argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL,
				     out, &err, &status, &error));
	g_assert_no_error (error);
	if (!g_spawn_check_wait_status (status, NULL) && g_test_verbose ())
		g_test_message ("%s: %s", (gchar *)argv->pdata[0], err);
	g_ptr_array_remove_index (argv, argv->len - 1);
	return WIFEXITED (status) ? WEXITSTATUS (status) : -1;
}

typedef struct {
	guint32 policy;
	guint8 maj, min, build;
	GBytes *fw;
	GBytes *kernel;
	GBytes *initrd;
	gchar *cmdline;
	guint ncpus, family, model, stepping;
	gchar *fw_path, *kernel_path, *initrd_path, *tik_path, *tek_path;
	gchar *vmsa0_path, *vmsa1_path; /* SEV-ES: when set, given as files instead of the model */
	guint8 blob[48];
	AcSevSession *session;
	guint32 handle;
} Launch;

static void
launch_clear (Launch *l)
{
	g_clear_pointer (&l->fw, g_bytes_unref);
	g_clear_pointer (&l->kernel, g_bytes_unref);
	g_clear_pointer (&l->initrd, g_bytes_unref);
	g_clear_pointer (&l->session, ac_sev_session_free);
	g_free (l->cmdline);
	g_free (l->fw_path);
	g_free (l->kernel_path);
	g_free (l->initrd_path);
	g_free (l->tik_path);
	g_free (l->tek_path);
	g_free (l->vmsa0_path);
	g_free (l->vmsa1_path);
	if (l->handle != 0)
		ac_sev_psp_decommission (psp, l->handle);
}

/* a random launch on the software PSP */
static void
launch_random (Launch *l, guint round)
{
	static const guint32 policies[] = { 0x1, 0x3, 0x5, 0x7, 0x0, 0x4, 0x33, 0x37 };
	static const guint cpus[][3] = { { 23, 1, 2 }, { 23, 49, 0 }, { 25, 1, 1 }, { 25, 17, 0 } };
	g_autoptr(GBytes) suffix = sev_test_load ("measurement/ovmf_AmdSev_suffix.bin");
	g_autoptr(GByteArray) fw = g_byte_array_new ();
	g_autoptr(GBytes) prefix = rand_bytes (16 * g_test_rand_int_range (0, 512));
	g_autoptr(GError) error = NULL;
	g_autoptr(AcSevOvmf) ovmf = NULL;
	guint32 blob_len = 48, hbase = 0, hsize = 0, reset = 0;
	const guint *cpu = cpus[g_test_rand_int_range (0, G_N_ELEMENTS (cpus))];
	g_autofree gchar *name = NULL;

	l->policy = policies[g_test_rand_int_range (0, G_N_ELEMENTS (policies))];
	l->maj = g_test_rand_bit () ? 0 : 1;
	l->min = g_test_rand_int_range (l->maj == 0 ? 17 : 0, 256);
	l->build = g_test_rand_int_range (0, 256);
	ac_sev_psp_set_firmware (psp, l->maj, l->min, l->build);

	g_byte_array_append (fw, g_bytes_get_data (prefix, NULL), g_bytes_get_size (prefix));
	g_byte_array_append (fw, g_bytes_get_data (suffix, NULL), g_bytes_get_size (suffix));
	l->fw = g_byte_array_free_to_bytes (g_steal_pointer (&fw));
	name = g_strdup_printf ("fw-%u.fd", round);
	l->fw_path = write_tmp (name, g_bytes_get_data (l->fw, NULL), g_bytes_get_size (l->fw));
	if (g_test_rand_int_range (0, 3) != 0) {
		g_autofree gchar *kn = g_strdup_printf ("kernel-%u", round);
		l->kernel = rand_bytes (g_test_rand_int_range (0, 20000));
		l->kernel_path = write_tmp (kn, g_bytes_get_data (l->kernel, NULL), g_bytes_get_size (l->kernel));
		if (g_test_rand_bit ()) {
			g_autofree gchar *in = g_strdup_printf ("initrd-%u", round);
			l->initrd = rand_bytes (g_test_rand_int_range (0, 20000));
			l->initrd_path = write_tmp (in, g_bytes_get_data (l->initrd, NULL), g_bytes_get_size (l->initrd));
		}
		if (g_test_rand_bit ())
			l->cmdline = rand_cmdline ();
	}
	if (l->policy & AC_SEV_POLICY_ES) {
		l->ncpus = g_test_rand_int_range (1, 9);
		l->family = cpu[0];
		l->model = cpu[1];
		l->stepping = cpu[2];
	}

	/* guest owner's session (fresh random TEK/TIK) against the PSP's PDH */
	l->session = ac_sev_session_new (ac_sev_chain_get_pdh (ac_sev_psp_get_chain (psp)), l->policy, &error);
	g_assert_no_error (error);
	{
		g_autofree gchar *a = g_strdup_printf ("tik-%u.bin", round);
		g_autofree gchar *b = g_strdup_printf ("tek-%u.bin", round);
		l->tik_path = write_tmp (a, ac_sev_session_get_tik (l->session), 16);
		l->tek_path = write_tmp (b, ac_sev_session_get_tek (l->session), 16);
	}

	/* the host side, in QEMU's order */
	g_assert_cmpint (ac_sev_psp_launch_start (psp, &l->handle, l->policy,
						  ac_sev_cert_get_data (ac_sev_session_get_godh_cert (l->session)), 2084,
						  ac_sev_session_get_blob (l->session), 128), ==, AC_SEV_STATUS_SUCCESS);
	g_assert_cmpint (ac_sev_psp_launch_update_data (psp, l->handle,
							G_GUINT64_CONSTANT (0x100000000) - g_bytes_get_size (l->fw),
							g_bytes_get_data (l->fw, NULL), g_bytes_get_size (l->fw)),
			 ==, AC_SEV_STATUS_SUCCESS);
	ovmf = ac_sev_ovmf_parse (g_bytes_get_data (l->fw, NULL), g_bytes_get_size (l->fw), &error);
	g_assert_no_error (error);
	g_assert_true (ac_sev_ovmf_get_hash_table (ovmf, &hbase, &hsize, NULL));
	g_assert_true (ac_sev_ovmf_get_es_reset_addr (ovmf, &reset, NULL));
	if (l->kernel != NULL) {
		guint8 table[AC_SEV_KERNEL_HASHES_TABLE_SIZE];
		g_assert_true (ac_sev_kernel_hashes_table (g_bytes_get_data (l->kernel, NULL), g_bytes_get_size (l->kernel),
							   l->initrd ? g_bytes_get_data (l->initrd, NULL) : NULL,
							   l->initrd ? g_bytes_get_size (l->initrd) : 0, l->cmdline, table, NULL));
		g_assert_cmpint (ac_sev_psp_launch_update_data (psp, l->handle, hbase, table, sizeof (table)), ==, AC_SEV_STATUS_SUCCESS);
	}
	if (l->ncpus > 0 && g_test_rand_bit ()) {
		guint8 v[AC_SEV_VMSA_SIZE];
		g_autofree gchar *n0 = g_strdup_printf ("vmsa0-%u.bin", round);
		g_autofree gchar *n1 = g_strdup_printf ("vmsa1-%u.bin", round);
		guint32 sig = ac_sev_cpu_signature (l->family, l->model, l->stepping);
		ac_sev_vmsa_build (TRUE, reset, sig, AC_SEV_VMSA_LEGACY, v);
		l->vmsa0_path = write_tmp (n0, v, sizeof (v));
		ac_sev_vmsa_build (FALSE, reset, sig, AC_SEV_VMSA_LEGACY, v);
		l->vmsa1_path = write_tmp (n1, v, sizeof (v));
	}
	for (guint c = 0; c < l->ncpus; c++) {
		guint8 vmsa[AC_SEV_VMSA_SIZE];
		ac_sev_vmsa_build (c == 0, reset, ac_sev_cpu_signature (l->family, l->model, l->stepping), AC_SEV_VMSA_LEGACY, vmsa);
		g_assert_cmpint (ac_sev_psp_launch_update_vmsa (psp, l->handle, vmsa, sizeof (vmsa)), ==, AC_SEV_STATUS_SUCCESS);
	}
	g_assert_cmpint (ac_sev_psp_launch_measure (psp, l->handle, l->blob, &blob_len), ==, AC_SEV_STATUS_SUCCESS);
}

/* the measurement arguments common to the peer and `virt-aleph sev measure` */
static void
add_measure_args (GPtrArray *a, Launch *l, const guint8 *blob, guint32 policy, const gchar *cmdline)
{
	g_autofree gchar *b64 = g_base64_encode (blob, 48);
	g_ptr_array_add (a, g_strdup_printf ("--measurement=%s", b64));
	g_ptr_array_add (a, g_strdup_printf ("--api-major=%u", l->maj));
	g_ptr_array_add (a, g_strdup_printf ("--api-minor=%u", l->min));
	g_ptr_array_add (a, g_strdup_printf ("--build-id=%u", l->build));
	g_ptr_array_add (a, g_strdup_printf ("--policy=%u", policy));
	g_ptr_array_add (a, g_strdup_printf ("--firmware=%s", l->fw_path));
	if (l->kernel_path != NULL)
		g_ptr_array_add (a, g_strdup_printf ("--kernel=%s", l->kernel_path));
	if (l->initrd_path != NULL)
		g_ptr_array_add (a, g_strdup_printf ("--initrd=%s", l->initrd_path));
	if (cmdline != NULL)
		g_ptr_array_add (a, g_strdup_printf ("--cmdline=%s", cmdline));
	if (policy & AC_SEV_POLICY_ES) {
		g_ptr_array_add (a, g_strdup_printf ("--num-cpus=%u", l->ncpus));
		if (l->vmsa0_path != NULL) {
			g_ptr_array_add (a, g_strdup_printf ("--vmsa-cpu0=%s", l->vmsa0_path));
			g_ptr_array_add (a, g_strdup_printf ("--vmsa-cpu1=%s", l->vmsa1_path));
		} else {
			g_ptr_array_add (a, g_strdup_printf ("--cpu-family=%u", l->family));
			g_ptr_array_add (a, g_strdup_printf ("--cpu-model=%u", l->model));
			g_ptr_array_add (a, g_strdup_printf ("--cpu-stepping=%u", l->stepping));
		}
	}
	g_ptr_array_add (a, g_strdup_printf ("--tik=%s", l->tik_path));
	g_ptr_array_add (a, g_strdup_printf ("--tek=%s", l->tek_path));
}

static gboolean
peer_accepts (Launch *l, const guint8 *blob, guint32 policy, const gchar *cmdline)
{
	g_autoptr(GPtrArray) a = g_ptr_array_new_with_free_func (g_free);
	gint rc;
	g_ptr_array_add (a, g_strdup ("/usr/bin/python3"));
	g_ptr_array_add (a, g_strdup (PEER));
	g_ptr_array_add (a, g_strdup ("--quiet"));
	add_measure_args (a, l, blob, policy, cmdline);
	rc = run (a, NULL);
	g_assert_true (rc == 0 || rc == 1); /* anything else is a usage problem of this test */
	return rc == 0;
}

static gboolean
cli_accepts (Launch *l, const guint8 *blob, guint32 policy, const gchar *cmdline)
{
	g_autoptr(GPtrArray) a = g_ptr_array_new_with_free_func (g_free);
	gint rc;
	g_ptr_array_add (a, g_strdup (g_getenv ("VIRT_ALEPH")));
	g_ptr_array_add (a, g_strdup ("sev"));
	g_ptr_array_add (a, g_strdup ("measure"));
	g_ptr_array_add (a, g_strdup ("--quiet"));
	add_measure_args (a, l, blob, policy, cmdline);
	rc = run (a, NULL);
	g_assert_true (rc == AC_EXIT_OK || rc == AC_EXIT_MISMATCH);
	return rc == AC_EXIT_OK;
}

static gboolean
lib_accepts (Launch *l, const guint8 *blob, guint32 policy, const gchar *cmdline)
{
	AcSevLaunchInputs in = { 0 };
	guint8 ld[32];
	g_autoptr(GError) error = NULL;
	in.policy = policy;
	in.firmware = l->fw;
	in.kernel = l->kernel;
	in.initrd = l->initrd;
	in.cmdline = cmdline;
	in.num_cpus = l->ncpus;
	in.cpu_family = l->family;
	in.cpu_model = l->model;
	in.cpu_stepping = l->stepping;
	g_assert_true (ac_sev_launch_digest (&in, ld, &error));
	return ac_sev_measurement_verify (blob, 48, ac_sev_session_get_tik (l->session), l->maj, l->min,
					  l->build, policy, ld, NULL);
}

static void
check_verdicts (Launch *l, const guint8 *blob, guint32 policy, const gchar *cmdline, gboolean expect)
{
	gboolean peer = peer_accepts (l, blob, policy, cmdline);
	gboolean cli = cli_accepts (l, blob, policy, cmdline);
	gboolean lib = lib_accepts (l, blob, policy, cmdline);
	if (peer != expect || cli != expect || lib != expect)
		g_error ("verdicts differ (expected %d): virt-qemu-sev-validate %d, virt-aleph %d, "
			 "library %d; policy 0x%x API %u.%u build %u, kernel %s, cpus %u",
			 expect, peer, cli, lib, policy, l->maj, l->min, l->build,
			 l->kernel_path ? "yes" : "no", l->ncpus);
}

static void
test_measure_agreement (void)
{
	guint rounds = g_test_slow () ? 24 : 8;
	for (guint r = 0; r < rounds; r++) {
		Launch l = { 0 };
		guint8 bad[48];
		launch_random (&l, r);
		g_test_message ("round %u: policy 0x%x API %u.%u build %u fw %" G_GSIZE_FORMAT
				" bytes kernel %s initrd %s cmdline %s cpus %u%s",
				r, l.policy, l.maj, l.min, l.build, g_bytes_get_size (l.fw),
				l.kernel ? "yes" : "no", l.initrd ? "yes" : "no",
				l.cmdline ? l.cmdline : "-", l.ncpus, l.vmsa0_path ? " (VMSA files)" : "");
		/* genuine: all accept */
		check_verdicts (&l, l.blob, l.policy, l.cmdline, TRUE);
		/* one random bit of MEASURE flipped: all refuse */
		memcpy (bad, l.blob, 48);
		bad[g_test_rand_int_range (0, 32)] ^= 1 << g_test_rand_int_range (0, 8);
		check_verdicts (&l, bad, l.policy, l.cmdline, FALSE);
		/* a different reported policy: all refuse */
		check_verdicts (&l, l.blob, l.policy ^ AC_SEV_POLICY_NOKS, l.cmdline, FALSE);
		/* a different cmdline than the one measured */
		if (l.kernel != NULL) {
			g_autofree gchar *other = g_strdup_printf ("%s x", l.cmdline ? l.cmdline : "c");
			check_verdicts (&l, l.blob, l.policy, other, FALSE);
		}
		launch_clear (&l);
	}
}

static void
test_secret_agreement (void)
{
	guint rounds = g_test_slow () ? 12 : 4;
	for (guint r = 0; r < rounds; r++) {
		Launch l = { 0 };
		g_autoptr(GPtrArray) a = g_ptr_array_new_with_free_func (g_free);
		g_autoptr(GBytes) value = rand_bytes (g_test_rand_int_range (1, 300));
		g_autofree gchar *value_name = g_strdup_printf ("secret-%u.bin", 100 + r);
		g_autofree gchar *value_path = write_tmp (value_name, g_bytes_get_data (value, NULL), g_bytes_get_size (value));
		g_autofree gchar *hdr_path = g_build_filename (tmpdir, "hdr.b64", NULL);
		g_autofree gchar *pay_path = g_build_filename (tmpdir, "pay.b64", NULL);
		g_autofree gchar *hdr_b64 = NULL;
		g_autofree gchar *pay_b64 = NULL;
		g_autofree guint8 *hdr = NULL;
		g_autofree guint8 *pay = NULL;
		gsize hdr_len = 0, pay_len = 0;
		g_autoptr(GBytes) got = NULL;
		g_autoptr(AcSevSecretTable) ours = ac_sev_secret_table_new ();
		g_autoptr(GBytes) ours_table = NULL;
		guint32 sbase = 0x80c000 + 16 * g_test_rand_int_range (0, 64);

		launch_random (&l, 100 + r);
		g_unlink (hdr_path);
		g_unlink (pay_path);
		g_ptr_array_add (a, g_strdup ("/usr/bin/python3"));
		g_ptr_array_add (a, g_strdup (PEER));
		g_ptr_array_add (a, g_strdup ("--quiet"));
		add_measure_args (a, &l, l.blob, l.policy, l.cmdline);
		g_ptr_array_add (a, g_strdup_printf ("--inject-secret=luks-key:%s", value_path));
		g_ptr_array_add (a, g_strdup_printf ("--secret-header=%s", hdr_path));
		g_ptr_array_add (a, g_strdup_printf ("--secret-payload=%s", pay_path));
		g_assert_cmpint (run (a, NULL), ==, 0);
		g_assert_true (g_file_get_contents (hdr_path, &hdr_b64, NULL, NULL));
		g_assert_true (g_file_get_contents (pay_path, &pay_b64, NULL, NULL));
		hdr = g_base64_decode (g_strstrip (hdr_b64), &hdr_len);
		pay = g_base64_decode (g_strstrip (pay_b64), &pay_len);

		/* the PSP accepts the peer's packet; the guest sees our libvirt-format table */
		g_assert_cmpint (ac_sev_psp_launch_secret (psp, l.handle, hdr, hdr_len, sbase, pay_len, pay, pay_len), ==,
				 AC_SEV_STATUS_SUCCESS);
		got = ac_sev_psp_guest_read (psp, l.handle, sbase, pay_len);
		g_assert_nonnull (got);
		g_assert_true (ac_sev_secret_table_add (ours, "luks-key", g_bytes_get_data (value, NULL), g_bytes_get_size (value), NULL));
		ours_table = ac_sev_secret_table_build (ours, AC_SEV_SECRET_TABLE_LIBVIRT, NULL);
		g_assert_true (g_bytes_equal (got, ours_table));
		/* a packet of the peer bound to another measurement is refused */
		hdr[20] ^= 0x80;
		g_assert_cmpint (ac_sev_psp_launch_secret (psp, l.handle, hdr, hdr_len, sbase, pay_len, pay, pay_len), ==,
				 AC_SEV_STATUS_BAD_MEASUREMENT);
		/* and ours, in each table format, are accepted by the same PSP */
		for (guint f = 0; f < 3; f++) {
			g_autoptr(GBytes) t = ac_sev_secret_table_build (ours, f, NULL);
			g_autoptr(GBytes) p = NULL;
			g_autoptr(GBytes) back = NULL;
			guint8 h[52];
			g_assert_true (ac_sev_secret_packet_build (ac_sev_session_get_tek (l.session),
								   ac_sev_session_get_tik (l.session), l.blob, l.maj, l.min,
								   NULL, t, h, &p, NULL));
			g_assert_cmpint (ac_sev_psp_launch_secret (psp, l.handle, h, 52, sbase, g_bytes_get_size (p),
								   g_bytes_get_data (p, NULL), g_bytes_get_size (p)), ==,
					 AC_SEV_STATUS_SUCCESS);
			back = ac_sev_psp_guest_read (psp, l.handle, sbase, g_bytes_get_size (t));
			g_assert_true (g_bytes_equal (back, t));
		}
		launch_clear (&l);
	}
}

int
main (int argc, char **argv)
{
	g_autoptr(GError) error = NULL;
	int rc;
	g_test_init (&argc, &argv, NULL);
	if (!g_file_test (PEER, G_FILE_TEST_IS_EXECUTABLE))
		g_error ("%s is missing: install libvirt-clients-qemu (scripts/setup.sh)", PEER);
	if (g_getenv ("VIRT_ALEPH") == NULL)
		g_error ("VIRT_ALEPH (the virt-aleph executable) is not set");
	tmpdir = test_util_mkdtemp ("ac-sev-peer-XXXXXX");
	psp = ac_sev_psp_new (2048, &error);
	g_assert_no_error (error);
	g_test_add_func ("/sev/peer/measure-agreement", test_measure_agreement);
	g_test_add_func ("/sev/peer/secret-agreement", test_secret_agreement);
	rc = g_test_run ();
	ac_sev_psp_free (psp);
	test_util_rm_rf (tmpdir);
	g_free (tmpdir);
	return rc;
}
