/*
 * ac_image_build() with the SEV-SNP layout: a domain whose disk is a small ext4 (no partition
 * table) gives a LUKS2 container over the whole image holding that filesystem, checked from the
 * outside (the guest's header check, cryptsetup, QEMU decrypting a LUKS1 copy, debugfs), with
 * its UUID, SHA-256 and size in AcImageBuilt and its passphrase in the secret store's copy.
 * Needs root (the source disk's read-only loop mount).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <glib/gstdio.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <string.h>
#include <unistd.h>

#include "ac-domain.h"
#include "ac-error.h"
#include "ac-image-build.h"
#include "ac-secret.h"
#include "ac-snp-luks2.h"
#include "ac-virt.h"

#define UUID "8c1e4f53-93a2-4d6e-b1c4-6f0d2a7e9b10"

static gint
run (const gchar *const *argv, const gchar *input, gchar **out)
{
	g_autoptr (GSubprocess) proc = NULL;
	g_autoptr (GError) error = NULL;
	g_autofree gchar *o = NULL;
	g_autofree gchar *e = NULL;

	proc = g_subprocess_newv (argv,
	                          G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE
	                              | G_SUBPROCESS_FLAGS_STDERR_PIPE,
	                          &error);
	g_assert_no_error (error);
	g_assert_true (
	    g_subprocess_communicate_utf8 (proc, input != NULL ? input : "", NULL, &o, &e, &error));
	g_assert_no_error (error);
	if (g_subprocess_get_exit_status (proc) != 0)
		g_test_message ("%s exited %d: %s", argv[0], g_subprocess_get_exit_status (proc),
		                e);
	if (out != NULL)
		*out = g_steal_pointer (&o);
	return g_subprocess_get_exit_status (proc);
}

static void
rm_rf (const gchar *path)
{
	const gchar *argv[] = { "rm", "-rf", "--one-file-system", path, NULL };
	run (argv, NULL, NULL);
}

/* the only file in <state>/secrets: the service's copy of the passphrase */
static gchar *
stored_passphrase (const gchar *state, const gchar *secret_uuid, gsize *len)
{
	g_autofree gchar *path = g_build_filename (state, "secrets", secret_uuid, NULL);
	gchar *data = NULL;
	g_assert_true (g_file_get_contents (path, &data, len, NULL));
	return data;
}

static void
test_snp_layout (void)
{
	g_autoptr (GError) error = NULL;
	g_autofree gchar *tmp = g_dir_make_tmp ("image-build-XXXXXX", &error);
	g_autofree gchar *tree = g_build_filename (tmp, "tree", NULL);
	g_autofree gchar *disk = g_build_filename (tmp, "snp-vm.img", NULL);
	g_autofree gchar *state = g_build_filename (tmp, "state", NULL);
	g_autofree gchar *secrets_root = g_build_filename (tmp, "secrets-driver", NULL);
	g_autofree gchar *uri = g_strdup_printf ("secret:///embed?root=%s", secrets_root);
	g_autofree gchar *xml = NULL;
	g_autofree gchar *disk_sum_before = NULL;
	g_autofree gchar *disk_sum_after = NULL;
	g_autofree gchar *out = NULL;
	g_autofree gchar *pass = NULL;
	g_autofree gchar *sha = NULL;
	g_autoptr (AcDomain) domain = NULL;
	g_autoptr (AcImageBuilt) built = NULL;
	g_autoptr (AcLuks2Header) h = NULL;
	virConnectPtr secrets;
	gsize pass_len = 0;
	AcImageBuildSpec spec = { 0 };
	GStatBuf st;

	if (geteuid () != 0) {
		g_test_skip ("needs root (the source disk's read-only loop mount)");
		return;
	}
	g_assert_no_error (error);
	g_assert_cmpint (g_mkdir_with_parents (tree, 0755), ==, 0);
	{
		g_autofree gchar *etc = g_build_filename (tree, "etc", NULL);
		g_autofree gchar *hostname = g_build_filename (etc, "hostname", NULL);
		g_autofree gchar *sbin = g_build_filename (tree, "sbin", NULL);
		g_autofree gchar *init = g_build_filename (sbin, "init", NULL);
		const gchar *mk[]
		    = { "mkfs.ext4", "-q", "-F", "-L", "rootfs", "-d", tree, disk, "32M", NULL };
		const gchar *sum[] = { "sha256sum", disk, NULL };
		g_assert_cmpint (g_mkdir_with_parents (etc, 0755), ==, 0);
		g_assert_cmpint (g_mkdir_with_parents (sbin, 0755), ==, 0);
		g_assert_true (g_file_set_contents (hostname, "snp-vm\n", -1, NULL));
		g_assert_true (g_file_set_contents (init, "#!/bin/sh\n", -1, NULL));
		g_assert_cmpint (run (mk, NULL, NULL), ==, 0);
		g_assert_cmpint (run (sum, NULL, &disk_sum_before), ==, 0);
	}
	xml = g_markup_printf_escaped (
	    "<domain type='kvm'><name>snp-vm</name><uuid>%s</uuid><memory>1048576</memory>"
	    "<os><type arch='x86_64' machine='q35'>hvm</type></os><devices>"
	    "<disk type='file' device='disk'><driver name='qemu' type='raw'/>"
	    "<source file='%s'/><target dev='vda' bus='virtio'/></disk></devices></domain>",
	    UUID, disk);
	domain = ac_domain_parse (xml, -1, &error);
	g_assert_no_error (error);

	g_assert_cmpint (virEventRegisterDefaultImpl (), ==, 0);
	secrets = virConnectOpen (uri);
	if (secrets == NULL)
		g_error ("cannot open %s: %s", uri, virGetLastErrorMessage ());

	spec.state_dir = state;
	spec.name = "snp-vm";
	spec.uuid = UUID;
	spec.domain = domain;
	spec.secrets_conn = secrets;
	spec.layout = AC_IMAGE_LAYOUT_LUKS2_ROOT;
	built = ac_image_build (&spec, NULL, NULL, &error);
	g_assert_no_error (error);
	g_assert_nonnull (built);
	g_assert_cmpstr (built->disk_dev, ==, "vda");
	g_assert_cmpstr (built->source, ==, disk);

	/* what AcImageBuilt says is the file's */
	g_assert_cmpint (g_stat (built->image_path, &st), ==, 0);
	g_assert_cmpuint (built->image_size, ==, (guint64)st.st_size);
	/* 32 MiB + 25 % + the 16 MiB header, at least the template's 64 MiB */
	g_assert_cmpuint (built->image_size, ==, 64 * 1024 * 1024);
	{
		const gchar *sum[] = { "sha256sum", built->image_path, NULL };
		g_assert_cmpint (run (sum, NULL, &sha), ==, 0);
		g_assert_true (g_str_has_prefix (sha, built->image_sha256));
	}
	/* the header at offset 0, as the SNP guest checks it */
	h = ac_luks2_check_file (built->image_path, &error);
	g_assert_no_error (error);
	g_assert_cmpstr (h->uuid, ==, built->luks_uuid);
	g_assert_cmpuint (h->keyslots, ==, 1);

	/* cryptsetup: LUKS2, aes-xts-plain64, one slot, opened by the stored passphrase only */
	pass = stored_passphrase (state, built->secret_uuid, &pass_len);
	g_assert_cmpuint (pass_len, >=, 16);
	{
		const gchar *dump[] = { "cryptsetup", "luksDump", built->image_path, NULL };
		const gchar *test[]
		    = { "cryptsetup",      "open", "--test-passphrase", "--key-file", "-",
			built->image_path, NULL };
		g_assert_cmpint (run (dump, NULL, &out), ==, 0);
		g_assert_nonnull (strstr (out, "Version:       \t2\n"));
		g_assert_nonnull (strstr (out, "cipher: aes-xts-plain64\n"));
		g_assert_nonnull (strstr (out, "  0: luks2\n"));
		g_assert_null (strstr (out, "  1: luks2\n"));
		g_clear_pointer (&out, g_free);
		g_assert_cmpint (run (test, pass, NULL), ==, 0);
		g_assert_cmpint (run (test, "not the passphrase", NULL), !=, 0);
	}
	/* the data decrypted by QEMU (a LUKS1 copy of the header, same volume key): the disk's
	 * root filesystem, alone */
	{
		g_autofree gchar *copy = g_build_filename (tmp, "copy.img", NULL);
		g_autofree gchar *dec = g_build_filename (tmp, "dec.img", NULL);
		g_autofree gchar *passfile = g_build_filename (tmp, "passfile", NULL);
		g_autofree gchar *secret = g_strdup_printf ("secret,id=sec0,file=%s", passfile);
		g_autofree gchar *opts
		    = g_strdup_printf ("driver=luks,key-secret=sec0,file.filename=%s", copy);
		const gchar *cp[] = { "cp", "--sparse=always", built->image_path, copy, NULL };
		const gchar *conv[]
		    = { "cryptsetup", "convert", "-q", "--type", "luks1", copy, NULL };
		const gchar *qemu[] = { "qemu-img", "convert", "--object", secret, "--image-opts",
			                opts,       "-O",      "raw",      dec,    NULL };
		const gchar *fsck[] = { "e2fsck", "-fn", dec, NULL };
		const gchar *cat[] = { "debugfs", "-R", "cat /etc/hostname", dec, NULL };
		const gchar *ls[] = { "debugfs", "-R", "ls -l /sbin", dec, NULL };
		g_assert_true (g_file_set_contents (passfile, pass, (gssize)pass_len, NULL));
		g_assert_cmpint (run (cp, NULL, NULL), ==, 0);
		g_assert_cmpint (run (conv, NULL, NULL), ==, 0);
		g_assert_cmpint (run (qemu, NULL, NULL), ==, 0);
		g_assert_cmpint (run (fsck, NULL, NULL), ==, 0);
		g_assert_cmpint (run (cat, NULL, &out), ==, 0);
		g_assert_cmpstr (out, ==, "snp-vm\n");
		g_clear_pointer (&out, g_free);
		g_assert_cmpint (run (ls, NULL, &out), ==, 0);
		g_assert_nonnull (strstr (out, "init"));
		g_clear_pointer (&out, g_free);
	}
	/* the manifest beside it says so; the source disk was only read */
	{
		g_autofree gchar *man = NULL;
		const gchar *sum[] = { "sha256sum", disk, NULL };
		g_assert_true (g_file_get_contents (built->manifest_path, &man, NULL, NULL));
		g_assert_nonnull (strstr (man, "\"type\" : \"luks2-root\""));
		g_assert_null (strstr (man, pass));
		g_assert_cmpint (run (sum, NULL, &disk_sum_after), ==, 0);
		g_assert_cmpstr (disk_sum_before, ==, disk_sum_after);
	}
	ac_secret_wipe (pass, pass_len);
	virConnectClose (secrets);
	rm_rf (tmp);
}

int
main (int argc, char **argv)
{
	g_test_init (&argc, &argv, NULL);
	ac_virt_init ();
	g_test_add_func ("/image-build/snp-layout", test_snp_layout);
	return g_test_run ();
}
