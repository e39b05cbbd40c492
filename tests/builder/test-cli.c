/*
 * virt-aleph build, as a user runs it: exit codes and messages that name the template field,
 * the passphrase handed in and out, a libvirt domain's disk as the source (libvirt's test
 * driver: no daemon), and SIGTERM in the middle of a build (exit 130, nothing left behind).
 * argv[1] is the virt-aleph binary. Needs root for the chroot.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ac-builder-test-util.h"

static const gchar *virt_aleph;

static gint
run_cli (const gchar *const *args, const gchar *input, gchar **out, gchar **err)
{
	g_autoptr(GPtrArray) argv = g_ptr_array_new ();
	g_autoptr(GSubprocess) proc = NULL;
	g_autoptr(GError) error = NULL;
	/* what an earlier run printed goes */
	g_clear_pointer (out, g_free);
	g_clear_pointer (err, g_free);
	g_ptr_array_add (argv, (gpointer)virt_aleph);
	for (guint i = 0; args[i] != NULL; i++)
		g_ptr_array_add (argv, (gpointer)args[i]);
	g_ptr_array_add (argv, NULL);
	proc = g_subprocess_newv ((const gchar *const *)argv->pdata,
				  G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE |
					  G_SUBPROCESS_FLAGS_STDERR_PIPE,
				  &error);
	g_assert_no_error (error);
	g_assert_true (g_subprocess_communicate_utf8 (proc, input, NULL, out, err, &error));
	g_assert_true (g_subprocess_get_if_exited (proc));
	return g_subprocess_get_exit_status (proc);
}

static gchar *
make_tree (const gchar *dir)
{
	gchar *tree = g_build_filename (dir, "tree", NULL);
	ac_test_busybox_tree (tree, (const gchar *const[]){ "sleep", NULL });
	ac_test_write (tree, "etc/hostname", "cli-guest\n", 0644);
	return tree;
}

static gboolean
can_run (void)
{
	if (geteuid () != 0 || !g_file_test ("/bin/busybox", G_FILE_TEST_IS_EXECUTABLE)) {
		g_test_skip ("needs root and busybox-static");
		return FALSE;
	}
	return TRUE;
}

static void
test_cli_errors (void)
{
	g_autofree gchar *dir = ac_test_mkdtemp ();
	g_autofree gchar *tpl = g_build_filename (dir, "t.json", NULL);
	g_autofree gchar *out = NULL;
	g_autofree gchar *err = NULL;

	ac_test_write (dir, "t.json",
		       "{ \"source\": { \"type\": \"directory\", \"path\": \"tree\" },"
		       "  \"disk\": { \"size\": \"1GiB\", \"luks\": { \"key_size\": 384 } },"
		       "  \"output\": { \"path\": \"o.img\" } }", 0644);
	g_assert_cmpint (run_cli ((const gchar *const[]){ "build", tpl, NULL }, NULL, &out, &err), ==, 2);
	g_assert_cmpstr (err, ==, "virt-aleph: template field 'disk.luks.key_size': 384: expected 256 "
				  "or 512 (bits of the XTS key)\n");
	g_assert_cmpint (run_cli ((const gchar *const[]){ "--json", "build", tpl, NULL }, NULL, &out, &err), ==, 2);
	g_assert_nonnull (strstr (out, "\"code\":\"invalid-input\""));
	g_assert_nonnull (strstr (out, "disk.luks.key_size"));
	g_assert_cmpint (run_cli ((const gchar *const[]){ "build", "--var", "nope", tpl, NULL }, NULL, &out, &err), ==, 2);
	g_assert_nonnull (strstr (err, "--var 'nope': expected NAME=VALUE"));
	g_assert_cmpint (run_cli ((const gchar *const[]){ "build", "--on-error=maybe", tpl, NULL }, NULL, &out, &err), ==, 2);
	g_assert_cmpint (run_cli ((const gchar *const[]){ "build", "/nonexistent/t.json", NULL }, NULL, &out, &err), ==, 10);
	ac_test_rm_rf (dir);
}

/* passphrase in on stdin, out to a 0600 file; the image opens with it */
static void
test_cli_passphrase (void)
{
	g_autofree gchar *dir = NULL;
	g_autofree gchar *tree = NULL;
	g_autofree gchar *tpl = NULL;
	g_autofree gchar *pfile = NULL;
	g_autofree gchar *got = NULL;
	g_autofree gchar *out = NULL;
	g_autofree gchar *err = NULL;
	struct stat st;

	if (!can_run ())
		return;
	dir = ac_test_mkdtemp ();
	tree = make_tree (dir);
	tpl = g_build_filename (dir, "t.json", NULL);
	pfile = g_build_filename (dir, "pass.out", NULL);
	ac_test_write (dir, "t.json",
		       "{ \"source\": { \"type\": \"directory\", \"path\": \"tree\" },"
		       "  \"disk\": { \"size\": \"96MiB\", \"esp_size\": \"8MiB\", \"luks\": { \"pbkdf_iterations\": 1000 } },"
		       "  \"passphrase\": { \"from_caller\": true },"
		       "  \"output\": { \"path\": \"out/d.img\" } }", 0644);
	g_assert_cmpint (run_cli ((const gchar *const[]){ "--quiet", "build", "--passphrase-stdin",
							  "--passphrase-out", pfile, "--no-cid", tpl, NULL },
				  "typed passphrase\n", &out, &err), ==, 0);
	g_assert_cmpint (stat (pfile, &st), ==, 0);
	g_assert_cmpint (st.st_mode & 0777, ==, 0600);
	g_assert_true (g_file_get_contents (pfile, &got, NULL, NULL));
	g_assert_cmpstr (got, ==, "typed passphrase");
	g_assert_cmpstr (out, ==, "");
	/* without --passphrase-stdin a from_caller template is refused */
	g_assert_cmpint (run_cli ((const gchar *const[]){ "build", "--force", tpl, NULL }, NULL, &out, &err), ==, 2);
	g_assert_nonnull (strstr (err, "passphrase.from_caller"));
	ac_test_rm_rf (dir);
}

/* a libvirt domain's disk, through libvirt's test driver */
static void
test_cli_libvirt_domain (void)
{
	g_autofree gchar *dir = NULL;
	g_autofree gchar *tree = NULL;
	g_autofree gchar *fs = NULL;
	g_autofree gchar *qcow = NULL;
	g_autofree gchar *node = NULL;
	g_autofree gchar *uri = NULL;
	g_autofree gchar *tpl = NULL;
	g_autofree gchar *out = NULL;
	g_autofree gchar *err = NULL;
	g_autofree gchar *xml = NULL;

	if (!can_run ())
		return;
	dir = ac_test_mkdtemp ();
	tree = make_tree (dir);
	fs = g_build_filename (dir, "fs.img", NULL);
	qcow = g_build_filename (dir, "src.qcow2", NULL);
	{
		const gchar *mk[] = { "mkfs.ext4", "-q", "-d", tree, fs, "16M", NULL };
		const gchar *conv[] = { "qemu-img", "convert", "-O", "qcow2", fs, qcow, NULL };
		g_assert_cmpint (ac_test_run (mk, NULL, NULL), ==, 0);
		g_assert_cmpint (ac_test_run (conv, NULL, NULL), ==, 0);
	}
	xml = g_strdup_printf (
		"<node>\n"
		"<domain type='test' xmlns:test='http://libvirt.org/schemas/domain/test/1.0'>"
		"<name>off1</name><memory>65536</memory><os><type>hvm</type></os><devices>"
		"<disk type='file' device='cdrom'><source file='/nonexistent.iso'/><target dev='hdc'/></disk>"
		"<disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='%s'/><target dev='vda'/></disk>"
		"</devices><test:runstate>5</test:runstate></domain>\n"
		"<domain type='test'><name>on1</name><memory>65536</memory><os><type>hvm</type></os><devices>"
		"<disk type='file' device='disk'><source file='%s'/><target dev='vda'/></disk>"
		"</devices></domain>\n</node>\n", qcow, qcow);
	ac_test_write (dir, "node.xml", xml, 0644);
	node = g_build_filename (dir, "node.xml", NULL);
	uri = g_strdup_printf ("test://%s", node);
	tpl = g_build_filename (dir, "t.json", NULL);
	ac_test_write (dir, "t.json",
		       "{ \"variables\": { \"dom\": \"off1\" },"
		       "  \"source\": { \"type\": \"libvirt-domain\", \"domain\": \"${var.dom}\", \"disk\": \"vda\" },"
		       "  \"disk\": { \"size\": \"96MiB\", \"esp_size\": \"8MiB\", \"luks\": { \"pbkdf_iterations\": 1000 } },"
		       "  \"output\": { \"path\": \"out/${var.dom}.img\" } }", 0644);
	g_assert_cmpint (run_cli ((const gchar *const[]){ "--connect", uri, "--json", "--quiet", "build",
							  "--passphrase-out", "-", "--no-cid", tpl, NULL },
				  NULL, &out, &err), ==, 0);
	g_assert_nonnull (strstr (out, "\"image\":\""));
	g_assert_nonnull (strstr (out, "/out/off1.img\""));
	g_assert_nonnull (strstr (out, "\"passphrase\":\""));
	/* a running domain is refused (exit 3); an unknown one is not found (exit 10) */
	g_assert_cmpint (run_cli ((const gchar *const[]){ "--connect", uri, "build", "--var", "dom=on1",
							  "--passphrase-out", "-", tpl, NULL },
				  NULL, &out, &err), ==, 3);
	g_assert_nonnull (strstr (err, "source.domain 'on1' is not shut off"));
	g_assert_cmpint (run_cli ((const gchar *const[]){ "--connect", uri, "build", "--var", "dom=nosuch",
							  "--passphrase-out", "-", tpl, NULL },
				  NULL, &out, &err), !=, 0);
	ac_test_rm_rf (dir);
}

/* SIGTERM during a provisioner: exit 130, no image, no work directory, no mounts */
static void
test_cli_sigterm (void)
{
	g_autofree gchar *dir = NULL;
	g_autofree gchar *tree = NULL;
	g_autofree gchar *tpl = NULL;
	g_autofree gchar *outdir = NULL;
	g_autoptr(GSubprocess) proc = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(GDir) d = NULL;
	gint64 start;

	if (!can_run ())
		return;
	dir = ac_test_mkdtemp ();
	tree = make_tree (dir);
	tpl = g_build_filename (dir, "t.json", NULL);
	outdir = g_build_filename (dir, "out", NULL);
	ac_test_write (dir, "t.json",
		       "{ \"source\": { \"type\": \"directory\", \"path\": \"tree\" },"
		       "  \"provisioners\": [ { \"type\": \"shell\", \"inline\": [\"touch /tmp/started\", \"sleep 120\"] } ],"
		       "  \"disk\": { \"size\": \"96MiB\", \"esp_size\": \"8MiB\" },"
		       "  \"output\": { \"path\": \"out/d.img\" } }", 0644);
	proc = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_SILENCE,
				 &error, virt_aleph, "--quiet", "build", "--passphrase-out", "-", tpl, NULL);
	g_assert_no_error (error);
	/* wait until the provisioner runs (the chroot is mounted then) */
	start = g_get_monotonic_time ();
	while (g_get_monotonic_time () - start < 30 * G_USEC_PER_SEC) {
		g_autofree gchar *m = NULL;
		g_file_get_contents ("/proc/self/mountinfo", &m, NULL, NULL);
		if (m != NULL && strstr (m, dir) != NULL && strstr (m, "/dev/pts") != NULL)
			break;
		g_usleep (100 * 1000);
	}
	g_usleep (500 * 1000);
	g_subprocess_send_signal (proc, SIGTERM);
	start = g_get_monotonic_time ();
	g_assert_true (g_subprocess_wait (proc, NULL, &error));
	g_assert_cmpint (g_get_monotonic_time () - start, <, 20 * G_USEC_PER_SEC);
	g_assert_true (g_subprocess_get_if_exited (proc));
	g_assert_cmpint (g_subprocess_get_exit_status (proc), ==, 130);
	ac_test_assert_no_mounts_under (dir);
	d = g_dir_open (outdir, 0, NULL);
	g_assert_nonnull (d);
	g_assert_null (g_dir_read_name (d)); /* no image, no partial file, no work directory */
	ac_test_rm_rf (dir);
}

int
main (int argc, char **argv)
{
	g_test_init (&argc, &argv, NULL);
	if (argc < 2) {
		g_printerr ("usage: %s VIRT-ALEPH\n", argv[0]);
		return 1;
	}
	virt_aleph = argv[1];
	g_test_add_func ("/builder/cli/errors", test_cli_errors);
	g_test_add_func ("/builder/cli/passphrase", test_cli_passphrase);
	g_test_add_func ("/builder/cli/libvirt-domain", test_cli_libvirt_domain);
	g_test_add_func ("/builder/cli/sigterm", test_cli_sigterm);
	return g_test_run ();
}
