/*
 * The whole builder: template → source → provisioners → image → verify → manifest, checked from
 * the outside (qemu-img decrypts, debugfs reads the files, cryptsetup opens both slots,
 * sha256sum agrees with the manifest), and its failure paths: a failing provisioner, an
 * interrupt, --on-error=abort, an existing output, a hostile symlink in the guest tree. The
 * guest tree is a static busybox, enough for a chroot. Needs root (chroot, mounts).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <fcntl.h>
#include <sys/stat.h>
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
		g_test_skip ("needs root (chroot and mounts)");
		return FALSE;
	}
	if (!g_file_test ("/bin/busybox", G_FILE_TEST_IS_EXECUTABLE) || !ac_test_have ("qemu-img") ||
	    !ac_test_have ("mcopy") || !ac_test_have ("cryptsetup")) {
		g_test_skip ("busybox-static, qemu-utils, mtools or cryptsetup missing");
		return FALSE;
	}
	return TRUE;
}

static void
fixture_setup (Fixture *f, gconstpointer data)
{
	if (!ac_test_build_fixture_setup (
		    f, (const gchar *const[]){ "cat", "echo", "sleep", "ls", "env", "id", "mkdir", NULL }))
		return;
	ac_test_write (f->tree, "boot/vmlinuz-6.10.0-test", "not a kernel either", 0644);
}

static AcTemplate *
load (Fixture *f, const gchar *json, GHashTable *vars)
{
	g_autoptr(GError) error = NULL;
	AcTemplate *t = ac_template_new_from_data (json, strlen (json), f->dir, vars, &error);
	g_assert_no_error (error);
	return t;
}

static gchar *
guest_cat (const gchar *fsimg, const gchar *path)
{
	g_autofree gchar *cmd = g_strdup_printf ("cat %s", path);
	const gchar *argv[] = { "debugfs", "-R", cmd, fsimg, NULL };
	gchar *out = NULL;
	g_assert_cmpint (ac_test_run (argv, NULL, &out), ==, 0);
	return out;
}

static const gchar *base_tpl =
	"{ \"name\": \"t\", \"variables\": { \"greeting\": \"hello\" },"
	"  \"source\": { \"type\": \"directory\", \"path\": \"tree\" },"
	"  \"provisioners\": ["
	"    { \"type\": \"file\", \"source\": \"motd\", \"destination\": \"/etc/motd\", \"mode\": \"0600\" },"
	"    { \"type\": \"shell\", \"inline\": [\"echo \\\"${var.greeting} $$WHO\\\" > /etc/marker\","
	"        \"id -u >> /etc/marker\", \"env | grep -c AC_TEST_SECRET_ENV >> /etc/marker || true\"],"
	"      \"environment\": { \"WHO\": \"world\" } },"
	"    { \"type\": \"aleph\", \"install_packages\": false, \"update_initramfs\": false,"
	"      \"install_grub\": false, \"kernel_cmdline\": \"console=ttyS0\" }"
	"  ],"
	"  \"disk\": { \"size\": \"96MiB\", \"esp_size\": \"8MiB\", \"luks\": { \"pbkdf_iterations\": 1000 } },"
	"  \"output\": { \"path\": \"out/disk.img\" } }";

static void
test_build_directory (Fixture *f, gconstpointer data)
{
	g_autoptr(GHashTable) vars = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
	g_autoptr(AcTemplate) t = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(AcProgress) progress = ac_progress_new ("build");
	g_auto(AcBuildResult) r = { 0 };
	g_autofree gchar *fsimg = g_build_filename (f->dir, "fs.img", NULL);
	g_autofree gchar *out = NULL;
	g_autofree gchar *keyname = NULL;
	g_autofree gchar *keyfile = NULL;
	g_autofree gchar *hdr = g_build_filename (f->dir, "hdr", NULL);
	g_autofree gchar *outdir = g_path_get_dirname (f->out);
	gint64 started;
	gdouble elapsed;
	gdouble steps = 0.0;

	if (!can_run ())
		return;
	ac_test_write (f->dir, "motd", "welcome\n", 0644);
	g_hash_table_insert (vars, g_strdup ("greeting"), g_strdup ("hi"));
	t = load (f, base_tpl, vars);
	g_setenv ("AC_TEST_SECRET_ENV", "must-not-reach-the-guest", TRUE);
	started = g_get_monotonic_time ();
	g_assert_true (ac_build_run (t, NULL, progress, NULL, &r, &error));
	elapsed = (gdouble)(g_get_monotonic_time () - started) / G_USEC_PER_SEC;
	g_unsetenv ("AC_TEST_SECRET_ENV");
	g_assert_no_error (error);
	g_assert_cmpfloat (ac_progress_get_fraction (progress), >=, 0.999);
	/* the five phases' seconds split the build's time between them */
	for (guint i = 0; i < G_N_ELEMENTS (r.step_seconds); i++) {
		g_assert_cmpfloat (r.step_seconds[i], >=, 0.0);
		steps += r.step_seconds[i];
	}
	g_assert_cmpfloat (r.step_seconds[2], >, 0.0); /* assembling is never instant */
	g_assert_cmpfloat (steps, <=, elapsed);
	g_assert_cmpstr (r.image_path, ==, f->out);
	g_assert_nonnull (r.passphrase);
	g_assert_cmpuint (r.passphrase->len, ==, 32);
	/* only the image and its manifest are left beside it */
	ac_test_assert_only (outdir, (const gchar *const[]){ "disk.img", "disk.img.manifest.json", NULL });
	ac_test_assert_no_mounts_under (f->dir);
	/* the manifest's digest is the file's */
	{
		const gchar *argv[] = { "sha256sum", f->out, NULL };
		g_autofree gchar *man = NULL;
		g_assert_cmpint (ac_test_run (argv, NULL, &out), ==, 0);
		g_assert_true (g_str_has_prefix (out, r.image_sha256));
		g_assert_true (g_file_get_contents (r.manifest_path, &man, NULL, NULL));
		g_assert_nonnull (strstr (man, r.image_sha256));
		g_assert_null (strstr (man, r.passphrase->data));
		g_clear_pointer (&out, g_free);
	}
	/* the guest files, read from the decrypted payload */
	ac_test_decrypt_root (f->out, r.passphrase, f->dir, fsimg);
	out = guest_cat (fsimg, "/etc/marker");
	g_assert_cmpstr (out, ==, "hi world\n0\n0\n"); /* var, template env, root, no caller env */
	g_clear_pointer (&out, g_free);
	out = guest_cat (fsimg, "/etc/motd");
	g_assert_cmpstr (out, ==, "welcome\n");
	g_clear_pointer (&out, g_free);
	out = guest_cat (fsimg, "/etc/crypttab");
	keyname = g_strdup_printf ("/etc/cryptsetup-keys.d/luks-%s.key", r.luks_uuid);
	{
		g_autofree gchar *want = g_strdup_printf (
			"# <target name> <source device> <key file> <options>\n"
			"cr_root UUID=%s %s luks,discard,initramfs\n", r.luks_uuid, keyname);
		g_assert_cmpstr (out, ==, want);
	}
	g_clear_pointer (&out, g_free);
	out = guest_cat (fsimg, "/etc/fstab");
	g_assert_nonnull (strstr (out, "/dev/mapper/cr_root / ext4 rw,discard,errors=remount-ro 0 1\n"));
	g_assert_nonnull (strstr (out, " /boot/efi vfat "));
	g_clear_pointer (&out, g_free);
	out = guest_cat (fsimg, "/etc/default/grub");
	g_assert_nonnull (strstr (out, "GRUB_ENABLE_CRYPTODISK=y\n"));
	g_assert_nonnull (strstr (out, "GRUB_PRELOAD_MODULES=\"luks cryptodisk lvm ext2\"\n"));
	g_assert_nonnull (strstr (out, "root=/dev/mapper/cr_root console=ttyS0\"\n"));
	g_clear_pointer (&out, g_free);
	out = guest_cat (fsimg, "/boot/grub/grub.cfg");
	/* newest kernel first, version order (6.10 > 6.1) */
	g_assert_nonnull (strstr (out, "linux /boot/vmlinuz-6.10.0-test cryptdevice=UUID="));
	g_assert_true (strstr (out, "vmlinuz-6.10.0-test") < strstr (out, "vmlinuz-6.1.0-test"));
	g_clear_pointer (&out, g_free);
	out = guest_cat (fsimg, "/etc/cryptsetup-initramfs/conf-hook");
	g_assert_cmpstr (out, ==, "KEYFILE_PATTERN=\"/etc/cryptsetup-keys.d/*\"\n");
	g_clear_pointer (&out, g_free);
	{
		g_autofree gchar *cmd = g_strdup_printf ("stat %s", keyname);
		const gchar *argv[] = { "debugfs", "-R", cmd, fsimg, NULL };
		g_assert_cmpint (ac_test_run (argv, NULL, &out), ==, 0);
		g_assert_nonnull (strstr (out, "Mode:  0600"));
		g_clear_pointer (&out, g_free);
	}
	/* the guest's keyfile opens LUKS slot 1; the passphrase slot 0 */
	keyfile = guest_cat (fsimg, keyname);
	g_assert_cmpuint (strlen (keyfile), ==, 44);
	{
		const gchar *dd[] = { "sh", "-c", NULL, NULL };
		g_autofree gchar *cmd = g_strdup_printf (
			"dd if='%s' of='%s' bs=1M skip=9 count=4 status=none", f->out, hdr);
		const gchar *slot1[] = { "cryptsetup", "open", "--test-passphrase", "--key-slot", "1",
					 "--key-file", "-", hdr, NULL };
		const gchar *slot0[] = { "cryptsetup", "open", "--test-passphrase", "--key-slot", "0",
					 "--key-file", "-", hdr, NULL };
		dd[2] = cmd;
		g_assert_cmpint (ac_test_run (dd, NULL, NULL), ==, 0);
		g_assert_cmpint (ac_test_run (slot1, keyfile, NULL), ==, 0);
		g_assert_cmpint (ac_test_run (slot0, r.passphrase->data, NULL), ==, 0);
	}
	/* the source was not touched */
	{
		g_autofree gchar *marker = g_build_filename (f->tree, "etc", "marker", NULL);
		g_autofree gchar *crypttab = g_build_filename (f->tree, "etc", "crypttab", NULL);
		g_assert_false (g_file_test (marker, G_FILE_TEST_EXISTS));
		g_assert_false (g_file_test (crypttab, G_FILE_TEST_EXISTS));
	}
	/* again: refused without --force, replaced with it */
	{
		AcBuildOptions opts = { 0 };
		g_auto(AcBuildResult) r2 = { 0 };
		g_autoptr(AcSecret) given = ac_secret_new ("given passphrase", 16);
		g_assert_false (ac_build_run (t, &opts, NULL, NULL, &r2, &error));
		g_assert_error (error, AC_ERROR, AC_ERROR_EXISTS);
		g_clear_error (&error);
		opts.force = TRUE;
		opts.passphrase = given;
		g_assert_true (ac_build_run (t, &opts, NULL, NULL, &r2, &error));
		g_assert_no_error (error);
		g_assert_cmpstr (r2.passphrase->data, ==, "given passphrase");
		g_assert_cmpstr (r2.image_sha256, !=, r.image_sha256);
		ac_test_assert_only (outdir, (const gchar *const[]){ "disk.img", "disk.img.manifest.json", NULL });
	}
}

/* a tarball and a qcow2 image (GPT, root found automatically) give the same guest files */
static void
test_build_tarball_and_image (Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *tar = g_build_filename (f->dir, "tree.tar.gz", NULL);
	g_autofree gchar *raw = g_build_filename (f->dir, "src.raw", NULL);
	g_autofree gchar *qcow = g_build_filename (f->dir, "src.qcow2", NULL);
	g_autofree gchar *fs = g_build_filename (f->dir, "src-fs.img", NULL);
	g_autofree gchar *fsimg = g_build_filename (f->dir, "fs.img", NULL);
	g_autofree gchar *sum_before = NULL;
	g_autofree gchar *sum_after = NULL;
	const gchar *sources[] = {
		"{ \"type\": \"tarball\", \"path\": \"tree.tar.gz\" }",
		"{ \"type\": \"image\", \"path\": \"src.qcow2\" }",
		"{ \"type\": \"image\", \"path\": \"src.raw\", \"format\": \"raw\", \"partition\": \"2\" }",
	};

	if (!can_run ())
		return;
	ac_test_write (f->tree, "srv/data.txt", "from the source\n", 0640);
	{
		const gchar *t[] = { "tar", "-C", f->tree, "-czf", tar, ".", NULL };
		const gchar *mk[] = { "mkfs.ext4", "-q", "-d", f->tree, fs, "24M", NULL };
		const gchar *trunc[] = { "truncate", "-s", "40M", raw, NULL };
		const gchar *part[] = { "sfdisk", "-q", raw, NULL };
		g_autofree gchar *dd = g_strdup_printf ("dd if='%s' of='%s' bs=1M seek=10 conv=notrunc status=none", fs, raw);
		const gchar *ddv[] = { "sh", "-c", dd, NULL };
		const gchar *conv[] = { "qemu-img", "convert", "-O", "qcow2", raw, qcow, NULL };
		const gchar *sum[] = { "sha256sum", raw, qcow, NULL };
		g_assert_cmpint (ac_test_run (t, NULL, NULL), ==, 0);
		g_assert_cmpint (ac_test_run (mk, NULL, NULL), ==, 0);
		g_assert_cmpint (ac_test_run (trunc, NULL, NULL), ==, 0);
		/* p1: a small vfat-less partition; p2: the root filesystem at 10 MiB */
		g_assert_cmpint (ac_test_run (part, "label: gpt\nstart=2048, size=8192, type=L\nstart=20480, size=49152, type=L\n", NULL), ==, 0);
		g_assert_cmpint (ac_test_run (ddv, NULL, NULL), ==, 0);
		g_assert_cmpint (ac_test_run (conv, NULL, NULL), ==, 0);
		g_assert_cmpint (ac_test_run (sum, NULL, &sum_before), ==, 0);
	}
	for (guint i = 0; i < G_N_ELEMENTS (sources); i++) {
		g_autofree gchar *json = g_strdup_printf (
			"{ \"source\": %s, \"disk\": { \"size\": \"80MiB\", \"esp_size\": \"4MiB\","
			" \"luks\": { \"pbkdf_iterations\": 1000, \"key_size\": 256 } },"
			" \"output\": { \"path\": \"out/disk.img\" } }", sources[i]);
		g_autoptr(AcTemplate) t = load (f, json, NULL);
		g_auto(AcBuildResult) r = { 0 };
		g_autofree gchar *out = NULL;
		AcBuildOptions opts = { .force = TRUE };
		ac_build_run (t, &opts, NULL, NULL, &r, &error);
		g_assert_no_error (error);
		g_unlink (fsimg);
		ac_test_decrypt_root (f->out, r.passphrase, f->dir, fsimg);
		out = guest_cat (fsimg, "/srv/data.txt");
		g_assert_cmpstr (out, ==, "from the source\n");
		g_clear_pointer (&out, g_free);
		out = guest_cat (fsimg, "/etc/hostname");
		g_assert_cmpstr (out, ==, "guest\n");
		ac_test_assert_no_mounts_under (f->dir);
	}
	/* a block device (a libvirt disk of type 'block'): the raw image on a read-only loop */
	{
		const gchar *losetup[] = { "losetup", "--find", "--show", "--read-only", raw, NULL };
		g_autofree gchar *loop = NULL;
		g_autofree gchar *json = NULL;
		g_autoptr(AcTemplate) t = NULL;
		g_auto(AcBuildResult) r = { 0 };
		g_autofree gchar *out = NULL;
		AcBuildOptions opts = { .force = TRUE };
		if (ac_test_run (losetup, NULL, &loop) == 0 && loop != NULL) {
			const gchar *detach[] = { "losetup", "--detach", g_strstrip (loop), NULL };
			json = g_strdup_printf (
				"{ \"source\": { \"type\": \"image\", \"path\": \"%s\", \"format\": \"raw\" },"
				" \"disk\": { \"size\": \"80MiB\", \"esp_size\": \"4MiB\","
				" \"luks\": { \"pbkdf_iterations\": 1000 } },"
				" \"output\": { \"path\": \"out/disk.img\" } }", loop);
			t = load (f, json, NULL);
			ac_build_run (t, &opts, NULL, NULL, &r, &error);
			ac_test_run (detach, NULL, NULL);
			g_assert_no_error (error);
			g_unlink (fsimg);
			ac_test_decrypt_root (f->out, r.passphrase, f->dir, fsimg);
			out = guest_cat (fsimg, "/srv/data.txt");
			g_assert_cmpstr (out, ==, "from the source\n");
		} else {
			g_test_message ("no loop device: block-device source not checked");
		}
	}
	{
		const gchar *sum[] = { "sha256sum", raw, qcow, NULL };
		g_assert_cmpint (ac_test_run (sum, NULL, &sum_after), ==, 0);
		g_assert_cmpstr (sum_before, ==, sum_after); /* the sources were only read */
	}
	/* a source image without a Linux filesystem */
	{
		g_autoptr(AcTemplate) t = load (f, "{ \"source\": { \"type\": \"image\", \"path\": \"tree.tar.gz\", \"format\": \"raw\" },"
					     " \"disk\": { \"size\": \"80MiB\", \"esp_size\": \"4MiB\" }, \"output\": { \"path\": \"out/x.img\" } }", NULL);
		g_auto(AcBuildResult) r = { 0 };
		g_assert_false (ac_build_run (t, NULL, NULL, NULL, &r, &error));
		g_assert_error (error, AC_ERROR, AC_ERROR_NOT_FOUND);
		g_assert_nonnull (strstr (error->message, "no Linux root filesystem"));
	}
}

/* a failing provisioner: nothing left behind, not even with the mounts it had */
static void
test_build_failure_cleans_up (Fixture *f, gconstpointer data)
{
	const gchar *json =
		"{ \"source\": { \"type\": \"directory\", \"path\": \"tree\" },"
		"  \"provisioners\": [ { \"type\": \"shell\", \"inline\": [\"echo about to fail\", \"exit 3\"] } ],"
		"  \"disk\": { \"size\": \"96MiB\", \"esp_size\": \"8MiB\" }, \"output\": { \"path\": \"out/disk.img\" } }";
	g_autoptr(AcTemplate) t = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *outdir = g_path_get_dirname (f->out);
	AcBuildOptions opts = { 0 };

	if (!can_run ())
		return;
	t = load (f, json, NULL);
	{
		g_auto(AcBuildResult) r = { 0 };
		g_assert_false (ac_build_run (t, &opts, NULL, NULL, &r, &error));
		g_assert_error (error, AC_ERROR, AC_ERROR_IO);
		g_assert_nonnull (strstr (error->message, "provisioners[0]"));
		g_assert_nonnull (strstr (error->message, "exit status 3"));
		g_assert_nonnull (strstr (error->message, "about to fail"));
		g_clear_error (&error);
		ac_test_assert_only (outdir, (const gchar *const[]){ NULL });
		ac_test_assert_no_mounts_under (f->dir);
		g_assert_null (r.kept_workdir);
	}
	/* --on-error=abort: the work directory stays for inspection, the mounts do not */
	opts.on_error = AC_ON_ERROR_ABORT;
	{
		g_auto(AcBuildResult) r = { 0 };
		g_autofree gchar *root = NULL;
		g_assert_false (ac_build_run (t, &opts, NULL, NULL, &r, &error));
		g_clear_error (&error);
		g_assert_nonnull (r.kept_workdir);
		root = g_build_filename (r.kept_workdir, "root", "etc", "hostname", NULL);
		g_assert_true (g_file_test (root, G_FILE_TEST_EXISTS));
		ac_test_assert_no_mounts_under (f->dir);
	}
}

static gboolean
cancel_cb (gpointer data)
{
	g_cancellable_cancel (data);
	return G_SOURCE_REMOVE;
}

static gpointer
cancel_thread (gpointer data)
{
	g_usleep (1500 * 1000);
	cancel_cb (data);
	return NULL;
}

/* an interrupt during a long provisioner: quick, reported as cancelled, nothing left */
static void
test_build_cancel (Fixture *f, gconstpointer data)
{
	const gchar *json =
		"{ \"source\": { \"type\": \"directory\", \"path\": \"tree\" },"
		"  \"provisioners\": [ { \"type\": \"shell\", \"inline\": [\"sleep 60\"] } ],"
		"  \"disk\": { \"size\": \"96MiB\", \"esp_size\": \"8MiB\" }, \"output\": { \"path\": \"out/disk.img\" } }";
	g_autoptr(AcTemplate) t = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(GCancellable) cancellable = g_cancellable_new ();
	g_autofree gchar *outdir = g_path_get_dirname (f->out);
	g_auto(AcBuildResult) r = { 0 };
	GThread *th;
	gint64 start;

	if (!can_run ())
		return;
	t = load (f, json, NULL);
	th = g_thread_new ("cancel", cancel_thread, cancellable);
	start = g_get_monotonic_time ();
	g_assert_false (ac_build_run (t, NULL, NULL, cancellable, &r, &error));
	g_thread_join (th);
	g_assert_error (error, AC_ERROR, AC_ERROR_CANCELLED);
	g_assert_cmpint (g_get_monotonic_time () - start, <, 20 * G_USEC_PER_SEC);
	ac_test_assert_only (outdir, (const gchar *const[]){ NULL });
	ac_test_assert_no_mounts_under (f->dir);
}

/* the guest tree's symlinks cannot send a write outside it */
static void
test_build_hostile_symlink (Fixture *f, gconstpointer data)
{
	g_autofree gchar *victim = g_build_filename (f->dir, "host-etc", NULL);
	g_autofree gchar *etc = g_build_filename (f->tree, "etc", NULL);
	g_autofree gchar *motd = g_build_filename (f->tree, "etc", "motd", NULL);
	g_autofree gchar *fsimg = g_build_filename (f->dir, "fs.img", NULL);
	g_autofree gchar *outdir = g_path_get_dirname (f->out);
	g_autofree gchar *out = NULL;
	g_autoptr(AcTemplate) t = NULL;
	g_autoptr(GError) error = NULL;
	const gchar *json =
		"{ \"source\": { \"type\": \"directory\", \"path\": \"tree\" },"
		"  \"provisioners\": [ { \"type\": \"file\", \"source\": \"motd\", \"destination\": \"/etc/motd\" } ],"
		"  \"disk\": { \"size\": \"96MiB\", \"esp_size\": \"8MiB\" }, \"output\": { \"path\": \"out/disk.img\" } }";

	if (!can_run ())
		return;
	ac_test_write (f->dir, "motd", "inside\n", 0644);
	t = load (f, json, NULL);

	/* the tree's /etc is a link to an absolute host path: resolved inside the tree it leads
	 * nowhere, so the build fails, and the host directory stays empty */
	{
		g_auto(AcBuildResult) r = { 0 };
		g_autofree gchar *saved = g_build_filename (f->tree, "etc.real", NULL);
		g_assert_cmpint (g_rename (etc, saved), ==, 0);
		g_assert_cmpint (g_mkdir (victim, 0755), ==, 0);
		g_assert_cmpint (symlink (victim, etc), ==, 0);
		g_assert_false (ac_build_run (t, NULL, NULL, NULL, &r, &error));
		g_assert_error (error, AC_ERROR, AC_ERROR_IO);
		g_assert_nonnull (strstr (error->message, "provisioners[0]"));
		g_clear_error (&error);
		ac_test_assert_only (victim, (const gchar *const[]){ NULL });
		ac_test_assert_only (outdir, (const gchar *const[]){ NULL });
		g_assert_cmpint (g_unlink (etc), ==, 0);
		g_assert_cmpint (g_rename (saved, etc), ==, 0);
	}
	/* /etc/motd is a Debian-style absolute link (to /run/motd.dynamic): the file replaces it */
	{
		g_auto(AcBuildResult) r = { 0 };
		g_autofree gchar *run = g_build_filename (f->dir, "run", NULL);
		g_assert_cmpint (symlink ("/run/motd.dynamic", motd), ==, 0);
		ac_build_run (t, NULL, NULL, NULL, &r, &error);
		g_assert_no_error (error);
		ac_test_decrypt_root (f->out, r.passphrase, f->dir, fsimg);
		out = guest_cat (fsimg, "/etc/motd");
		g_assert_cmpstr (out, ==, "inside\n");
		g_assert_true (g_file_test (motd, G_FILE_TEST_IS_SYMLINK)); /* the source kept its link */
	}
}

/* two builds of a reproducible template give the same bytes and manifest */
static void
test_build_reproducible (Fixture *f, gconstpointer data)
{
	const gchar *json =
		"{ \"source\": { \"type\": \"directory\", \"path\": \"tree\" },"
		"  \"provisioners\": [ { \"type\": \"shell\", \"inline\": [\"echo built > /etc/built\"] },"
		"    { \"type\": \"aleph\", \"install_packages\": false, \"update_initramfs\": false, \"install_grub\": false } ],"
		"  \"disk\": { \"size\": \"96MiB\", \"esp_size\": \"8MiB\", \"luks\": { \"pbkdf_iterations\": 1000 } },"
		"  \"passphrase\": { \"env\": \"AC_TEST_PASSPHRASE\" },"
		"  \"output\": { \"path\": \"out/${var.n}.img\" },"
		"  \"variables\": { \"n\": \"a\" },"
		"  \"reproducible\": { \"source_date_epoch\": 1700000000, \"seed\": \"test\" } }";
	g_autoptr(GError) error = NULL;
	gchar *sums[2] = { NULL, NULL };
	gchar *manifests[2] = { NULL, NULL };

	if (!can_run ())
		return;
	for (guint i = 0; i < 2; i++) {
		g_autoptr(GHashTable) vars = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
		g_autoptr(AcTemplate) t = NULL;
		g_auto(AcBuildResult) r = { 0 };
		/* each build consumes (unsets) the variable */
		g_setenv ("AC_TEST_PASSPHRASE", "reproducible passphrase", TRUE);
		g_hash_table_insert (vars, g_strdup ("n"), g_strdup (i == 0 ? "a" : "b"));
		t = load (f, json, vars);
		ac_build_run (t, NULL, NULL, NULL, &r, &error);
		g_assert_no_error (error);
		sums[i] = g_strdup (r.image_sha256);
		manifests[i] = g_strdup (r.manifest_json);
	}
	g_unsetenv ("AC_TEST_PASSPHRASE");
	g_assert_cmpstr (sums[0], ==, sums[1]);
	/* the manifests differ only in the file name and the template digest (the variable) */
	g_assert_nonnull (strstr (manifests[0], "\"a.img\""));
	g_assert_nonnull (strstr (manifests[1], "\"b.img\""));
	g_assert_nonnull (strstr (manifests[0], "\"created\" : \"2023-11-14T22:13:20Z\""));
	for (guint i = 0; i < 2; i++) {
		g_free (sums[i]);
		g_free (manifests[i]);
	}
}

/*
 * passphrase.env: the variable is read, then removed from the environment, and no external
 * tool the builder runs (cp, mkfs.*, mcopy, qemu-img… each wrapped here by a script first on
 * PATH that logs its environment) ever sees it, even when the caller keeps it set.
 */
static void
test_build_env_secret_not_inherited (Fixture *f, gconstpointer data)
{
	const gchar *json =
		"{ \"source\": { \"type\": \"directory\", \"path\": \"tree\" },"
		"  \"provisioners\": [ { \"type\": \"shell\", \"inline\": [\"echo built > /etc/built\"] },"
		"    { \"type\": \"aleph\", \"install_packages\": false, \"update_initramfs\": false, \"install_grub\": false } ],"
		"  \"disk\": { \"size\": \"96MiB\", \"esp_size\": \"8MiB\", \"luks\": { \"pbkdf_iterations\": 1000 } },"
		"  \"passphrase\": { \"env\": \"AC_TEST_ENV_PASSPHRASE\" },"
		"  \"output\": { \"path\": \"out/disk.img\" } }";
	const gchar *secret = "env-secret-Zq7xK2pW9";
	const gchar *tools[] = { "cp", "tar", "mke2fs", "mkfs.ext4", "mkfs.vfat", "mcopy", "qemu-img",
				 "cryptsetup", "sfdisk", "debootstrap", "umount", "mount", NULL };
	g_autofree gchar *bin = g_build_filename (f->dir, "fakebin", NULL);
	g_autofree gchar *log = g_build_filename (f->dir, "tool-env.log", NULL);
	g_autofree gchar *old_path = g_strdup (g_getenv ("PATH"));
	g_autofree gchar *path = NULL;
	g_autofree gchar *logged = NULL;
	g_autoptr(GHashTable) vars = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
	g_autoptr(AcTemplate) t = NULL;
	g_autoptr(GError) error = NULL;
	g_auto(AcBuildResult) r = { 0 };
	guint wrapped = 0;

	if (!can_run ())
		return;
	g_assert_cmpint (g_mkdir_with_parents (bin, 0755), ==, 0);
	for (guint i = 0; tools[i] != NULL; i++) {
		g_autofree gchar *real = g_find_program_in_path (tools[i]);
		g_autofree gchar *script = NULL;
		g_autofree gchar *name = NULL;
		if (real == NULL)
			continue;
		script = g_strdup_printf ("#!/bin/sh\necho \"== %s\" >> '%s'\nenv >> '%s'\n"
					  "exec '%s' \"$@\"\n",
					  tools[i], log, log, real);
		name = g_build_filename ("fakebin", tools[i], NULL);
		ac_test_write (f->dir, name, script, 0755);
		wrapped++;
	}
	g_assert_cmpuint (wrapped, >, 0);
	path = g_strconcat (bin, ":", old_path, NULL);
	g_setenv ("PATH", path, TRUE);
	g_setenv ("AC_TEST_ENV_PASSPHRASE", secret, TRUE);
	t = load (f, json, vars);
	ac_build_run (t, NULL, NULL, NULL, &r, &error);
	g_setenv ("PATH", old_path, TRUE);
	g_assert_no_error (error);
	g_assert_nonnull (r.passphrase);
	g_assert_cmpstr (r.passphrase->data, ==, secret);
	/* consumed: the variable is gone from the builder's own environment */
	g_assert_null (g_getenv ("AC_TEST_ENV_PASSPHRASE"));
	/* and the tools ran (the wrappers logged) without it */
	g_assert_true (g_file_get_contents (log, &logged, NULL, NULL));
	g_assert_nonnull (strstr (logged, "== "));
	g_assert_null (strstr (logged, "AC_TEST_ENV_PASSPHRASE"));
	g_assert_null (strstr (logged, secret));
}

/*
 * passphrase.file: a FIFO in its place is refused at once (never waited on), a file far larger
 * than a passphrase is refused with the limit named, and neither starts a build.
 */
static void
test_build_passphrase_file_refused (Fixture *f, gconstpointer data)
{
	g_autofree gchar *fifo = g_build_filename (f->dir, "pass.fifo", NULL);
	g_autofree gchar *big = g_build_filename (f->dir, "pass.big", NULL);
	g_autofree gchar *big_data = g_strnfill (64 * 1024 + 1, 'p');
	g_autofree gchar *out = g_build_filename (f->dir, "out", "disk.img", NULL);
	const gchar *files[] = { "pass.fifo", "pass.big" };

	if (!can_run ())
		return;
	g_assert_cmpint (mkfifo (fifo, 0600), ==, 0);
	g_assert_true (g_file_set_contents (big, big_data, -1, NULL));
	g_assert_cmpint (chmod (big, 0600), ==, 0);
	for (guint i = 0; i < G_N_ELEMENTS (files); i++) {
		g_autofree gchar *json = g_strdup_printf (
		    "{ \"source\": { \"type\": \"directory\", \"path\": \"tree\" },"
		    "  \"disk\": { \"size\": \"96MiB\", \"esp_size\": \"8MiB\" },"
		    "  \"passphrase\": { \"file\": \"%s\" },"
		    "  \"output\": { \"path\": \"out/disk.img\" } }",
		    files[i]);
		g_autoptr(AcTemplate) t = load (f, json, NULL);
		g_autoptr(GError) error = NULL;
		g_auto(AcBuildResult) r = { 0 };

		g_assert_false (ac_build_run (t, NULL, NULL, NULL, &r, &error));
		g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
		g_assert_true (g_str_has_prefix (error->message, "passphrase.file: "));
		g_assert_nonnull (strstr (error->message, i == 0 ? "not a regular file"
		                                                 : "the limit is 65536"));
		g_assert_null (r.passphrase);
		g_assert_false (g_file_test (out, G_FILE_TEST_EXISTS));
	}
}

int
main (int argc, char **argv)
{
	g_test_init (&argc, &argv, NULL);
#define ADD(name, fn) g_test_add ("/builder/build/" name, Fixture, NULL, fixture_setup, fn, ac_test_build_fixture_teardown)
	ADD ("directory", test_build_directory);
	ADD ("tarball-and-image", test_build_tarball_and_image);
	ADD ("failure-cleans-up", test_build_failure_cleans_up);
	ADD ("cancel", test_build_cancel);
	ADD ("hostile-symlink", test_build_hostile_symlink);
	ADD ("reproducible", test_build_reproducible);
	ADD ("env-secret-not-inherited", test_build_env_secret_not_inherited);
	ADD ("passphrase-file-refused", test_build_passphrase_file_refused);
	return g_test_run ();
}
