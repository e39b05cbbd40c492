/*
 * The libguestfs provisioner backend: a busybox tree provisioned through the libguestfs
 * appliance (a file, a directory, an inline shell run with the guest's own /bin/sh), then the
 * aleph provisioner in the chroot on the tree libguestfs gave back, then a shell script in a
 * second appliance on the tree the chroot left (its mounts gone); the guest
 * files are read from the built image (QEMU's LUKS driver decrypts, debugfs reads). A failing
 * script fails the build with its output and leaves nothing behind. Without libguestfs in the
 * build, the template is refused with UNSUPPORTED naming the field. Needs root.
 *
 * This host's KVM cannot run guests: LIBGUESTFS_BACKEND_SETTINGS=force_tcg is set unless the
 * caller set it (launch about 20-30 s here).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <fcntl.h>
#include <json-glib/json-glib.h>
#include <unistd.h>

#include "ac-builder-test-util.h"
#include "ac-builder.h"
#include "ac-error.h"

typedef AcTestBuildFixture Fixture;

static gboolean
can_run (void)
{
	if (geteuid () != 0) {
		g_test_skip ("needs root (chroot, mounts, the libguestfs appliance)");
		return FALSE;
	}
	if (!g_file_test ("/bin/busybox", G_FILE_TEST_IS_EXECUTABLE) || !ac_test_have ("qemu-img") ||
	    !ac_test_have ("mcopy") || !ac_test_have ("cryptsetup") || !ac_test_have ("debugfs")) {
		g_test_skip ("busybox-static, qemu-utils, mtools, e2fsprogs or cryptsetup missing");
		return FALSE;
	}
	return TRUE;
}

static void
fixture_setup (Fixture *f, gconstpointer data)
{
	if (!ac_test_build_fixture_setup (
		    f, (const gchar *const[]){ "cat", "echo", "ls", "env", "id", "mkdir", "wc", "grep", NULL }))
		return;
	/* the appliance needs to be told to use TCG here (see the header) */
	g_setenv ("LIBGUESTFS_BACKEND_SETTINGS", "force_tcg", FALSE);
	g_setenv ("LIBGUESTFS_BACKEND", "direct", FALSE);
}

static gchar *
debugfs (const gchar *fsimg, const gchar *verb, const gchar *path)
{
	g_autofree gchar *cmd = g_strdup_printf ("%s %s", verb, path);
	const gchar *argv[] = { "debugfs", "-R", cmd, fsimg, NULL };
	gchar *out = NULL;
	g_assert_cmpint (ac_test_run (argv, NULL, &out), ==, 0);
	return out;
}

static const gchar *guestfs_tpl =
	"{ \"name\": \"t\", \"variables\": { \"greeting\": \"hello\" },"
	"  \"source\": { \"type\": \"directory\", \"path\": \"tree\" },"
	"  \"provision_backend\": \"libguestfs\","
	"  \"provisioners\": ["
	"    { \"type\": \"file\", \"source\": \"motd\", \"destination\": \"/etc/motd\", \"mode\": \"0600\" },"
	"    { \"type\": \"file\", \"source\": \"app\", \"destination\": \"/opt/app\" },"
	"    { \"type\": \"shell\", \"inline\": [\"echo \\\"${var.greeting} $$WHO\\\" > /etc/marker\","
	"        \"id -u >> /etc/marker\", \"env | grep -c AC_TEST_SECRET_ENV >> /etc/marker || true\","
	"        \"cat /opt/app/conf/app.conf >> /etc/marker\", \"cat /proc/cmdline > /etc/kernel-cmdline\"],"
	"      \"environment\": { \"WHO\": \"world's\" } },"
	"    { \"type\": \"aleph\", \"install_packages\": false, \"update_initramfs\": false,"
	"      \"install_grub\": false },"
	"    { \"type\": \"shell\", \"script\": \"provision.sh\" }"
	"  ],"
	"  \"disk\": { \"size\": \"96MiB\", \"esp_size\": \"8MiB\", \"luks\": { \"pbkdf_iterations\": 1000 } },"
	"  \"output\": { \"path\": \"out/disk.img\" } }";

static void
test_guestfs_build (Fixture *f, gconstpointer data)
{
	g_autoptr(GHashTable) vars = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
	g_autoptr(AcTemplate) t = NULL;
	g_autoptr(GError) error = NULL;
	g_auto(AcBuildResult) r = { 0 };
	g_autofree gchar *fsimg = g_build_filename (f->dir, "fs.img", NULL);
	g_autofree gchar *outdir = g_path_get_dirname (f->out);
	g_autofree gchar *out = NULL;
	g_autofree gchar *host_cmdline = NULL;
	gint64 t0;
	gboolean ok;

	if (!can_run ())
		return;
	ac_test_write (f->dir, "motd", "welcome\n", 0644);
	ac_test_write (f->dir, "app/conf/app.conf", "port=8080\n", 0640);
	ac_test_write (f->dir, "app/run", "#!/bin/sh\necho run\n", 0755);
	ac_test_write (f->dir, "provision.sh",
		       "grep -c . /etc/marker > /etc/lines\nmkdir -p /var/lib/app\n"
		       "grep -c cr_root /etc/crypttab > /etc/crypttab-lines\n"
		       "echo from-script > /var/lib/app/state\n", 0644);
	g_hash_table_insert (vars, g_strdup ("greeting"), g_strdup ("hi"));
	t = ac_template_new_from_data (guestfs_tpl, strlen (guestfs_tpl), f->dir, vars, &error);
	g_assert_no_error (error);
	g_assert_cmpint (t->provision_backend, ==, AC_PROVISION_BACKEND_LIBGUESTFS);
	g_setenv ("AC_TEST_SECRET_ENV", "must-not-reach-the-guest", TRUE);
	t0 = g_get_monotonic_time ();
	ok = ac_build_run (t, NULL, NULL, NULL, &r, &error);
	g_test_message ("build through libguestfs: %.1f s",
			(gdouble)(g_get_monotonic_time () - t0) / G_USEC_PER_SEC);
	g_unsetenv ("AC_TEST_SECRET_ENV");
	g_assert_no_error (error);
	g_assert_true (ok);
	ac_test_assert_only (outdir, (const gchar *const[]){ "disk.img", "disk.img.manifest.json", NULL });
	ac_test_assert_no_mounts_under (f->dir);

	ac_test_decrypt_root (f->out, r.passphrase, f->dir, fsimg);
	/* var, template env (quoted), root, no caller env, the copied directory */
	out = debugfs (fsimg, "cat", "/etc/marker");
	g_assert_cmpstr (out, ==, "hi world's\n0\n0\nport=8080\n");
	g_clear_pointer (&out, g_free);
	/* the script ran in a second appliance after the aleph provisioner's chroot, on its
	 * output */
	out = debugfs (fsimg, "cat", "/etc/crypttab-lines");
	g_assert_cmpstr (out, ==, "1\n");
	g_clear_pointer (&out, g_free);
	out = debugfs (fsimg, "cat", "/etc/lines");
	g_assert_cmpstr (out, ==, "4\n");
	g_clear_pointer (&out, g_free);
	out = debugfs (fsimg, "cat", "/var/lib/app/state");
	g_assert_cmpstr (out, ==, "from-script\n");
	g_clear_pointer (&out, g_free);
	/* the scripts ran under the appliance's kernel, not in a chroot on this host */
	g_assert_true (g_file_get_contents ("/proc/cmdline", &host_cmdline, NULL, NULL));
	out = debugfs (fsimg, "cat", "/etc/kernel-cmdline");
	g_assert_cmpstr (out, !=, "");
	g_assert_cmpstr (out, !=, host_cmdline);
	g_clear_pointer (&out, g_free);
	out = debugfs (fsimg, "cat", "/etc/motd");
	g_assert_cmpstr (out, ==, "welcome\n");
	g_clear_pointer (&out, g_free);
	out = debugfs (fsimg, "stat", "/etc/motd");
	g_assert_nonnull (strstr (out, "Mode:  0600"));
	g_assert_nonnull (strstr (out, "User:     0   Group:     0"));
	g_clear_pointer (&out, g_free);
	out = debugfs (fsimg, "stat", "/opt/app/conf/app.conf");
	g_assert_nonnull (strstr (out, "Mode:  0640"));
	g_assert_nonnull (strstr (out, "User:     0   Group:     0"));
	g_clear_pointer (&out, g_free);
	out = debugfs (fsimg, "stat", "/opt/app/run");
	g_assert_nonnull (strstr (out, "Mode:  0755"));
	g_clear_pointer (&out, g_free);
	/* the tree's links survived the round trip; no script and no lost+found of ours left */
	out = debugfs (fsimg, "stat", "/bin/sh");
	g_assert_nonnull (strstr (out, "Type: symlink"));
	g_assert_nonnull (strstr (out, "Fast link dest: \"busybox\""));
	g_clear_pointer (&out, g_free);
	out = debugfs (fsimg, "ls", "/tmp");
	g_assert_null (strstr (out, "ac-provision"));
	g_clear_pointer (&out, g_free);
	/* the aleph provisioner ran in the chroot on the tree libguestfs gave back */
	out = debugfs (fsimg, "cat", "/etc/crypttab");
	{
		g_autofree gchar *want = g_strdup_printf ("cr_root UUID=%s ", r.luks_uuid);
		g_assert_nonnull (strstr (out, want));
	}
	g_clear_pointer (&out, g_free);
	/* the source tree was not touched */
	{
		g_autofree gchar *marker = g_build_filename (f->tree, "etc", "marker", NULL);
		g_assert_false (g_file_test (marker, G_FILE_TEST_EXISTS));
	}
}

/* a failing script: the build fails naming the provisioner, with the script's output */
static void
test_guestfs_failure (Fixture *f, gconstpointer data)
{
	const gchar *json =
		"{ \"source\": { \"type\": \"directory\", \"path\": \"tree\" },"
		"  \"provision_backend\": \"libguestfs\","
		"  \"provisioners\": [ { \"type\": \"shell\", \"inline\": [\"echo about to fail\", \"exit 3\"] } ],"
		"  \"disk\": { \"size\": \"96MiB\", \"esp_size\": \"8MiB\" }, \"output\": { \"path\": \"out/disk.img\" } }";
	g_autoptr(AcTemplate) t = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *outdir = g_path_get_dirname (f->out);
	g_auto(AcBuildResult) r = { 0 };

	if (!can_run ())
		return;
	t = ac_template_new_from_data (json, strlen (json), f->dir, NULL, &error);
	g_assert_no_error (error);
	g_assert_false (ac_build_run (t, NULL, NULL, NULL, &r, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_IO);
	g_test_message ("%s", error->message);
	g_assert_nonnull (strstr (error->message, "provisioners[0]"));
	g_assert_nonnull (strstr (error->message, "about to fail"));
	ac_test_assert_only (outdir, (const gchar *const[]){ NULL });
	ac_test_assert_no_mounts_under (f->dir);
	g_assert_null (r.kept_workdir);
}

/* without libguestfs in the build the template names the field and the meson option */
static void
test_guestfs_unsupported (void)
{
	const gchar *json =
		"{ \"source\": { \"type\": \"directory\", \"path\": \"tree\" },"
		"  \"provision_backend\": \"libguestfs\","
		"  \"disk\": { \"size\": \"96MiB\" }, \"output\": { \"path\": \"out/disk.img\" } }";
	g_autoptr(GError) error = NULL;
	g_autoptr(AcTemplate) t = ac_template_new_from_data (json, strlen (json), "/base", NULL, &error);
	g_assert_null (t);
	g_assert_error (error, AC_ERROR, AC_ERROR_UNSUPPORTED);
	g_assert_nonnull (strstr (error->message, "'provision_backend'"));
	g_assert_nonnull (strstr (error->message, "-Dlibguestfs=enabled"));
}

int
main (int argc, char **argv)
{
	g_test_init (&argc, &argv, NULL);
	if (HAVE_LIBGUESTFS) {
		g_test_add ("/builder/guestfs/build", Fixture, NULL, fixture_setup, test_guestfs_build,
			    ac_test_build_fixture_teardown);
		g_test_add ("/builder/guestfs/failure", Fixture, NULL, fixture_setup,
			    test_guestfs_failure, ac_test_build_fixture_teardown);
	} else {
		g_test_add_func ("/builder/guestfs/unsupported", test_guestfs_unsupported);
	}
	return g_test_run ();
}
