/*
 * The assembler and the verify step, checked by independent implementations: sfdisk reads the
 * GPT, mtools the ESP, cryptsetup opens the LUKS1 header with the passphrase (slot 0) and the
 * keyfile (slot 1), QEMU's LUKS driver decrypts partition 2 at its offset and the result equals
 * the filesystem image, which e2fsck accepts and GRUB can read (no orphan_file,
 * metadata_csum_seed).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <fcntl.h>
#include <json-glib/json-glib.h>
#include <unistd.h>

#include "ac-builder-assemble.h"
#include "ac-builder-gpt.h"
#include "ac-builder-test-util.h"
#include "ac-builder-verify.h"
#include "ac-error.h"

typedef struct {
	gchar *dir;
	gchar *root;
	gchar *esp;
	gchar *work;
	gchar *out;
	AcSecret *pass;
	AcSecret *keyfile;
	AcAssembleSpec spec;
	AcAssembleResult result;
	AcCleanup *cleanup;
	AcDrbg *drbg;
} Fixture;

static void
make_trees (Fixture *f)
{
	ac_test_write (f->root, "etc/hello", "hello from the encrypted root\n", 0644);
	ac_test_write (f->root, "etc/secret-ish", "mode 0600\n", 0600);
	ac_test_write (f->root, "usr/bin/tool", "#!/bin/sh\necho tool\n", 0755);
	ac_test_write (f->root, "boot/grub/grub.cfg", "set timeout=0\n", 0644);
	{
		g_autofree gchar *link = g_build_filename (f->root, "vmlinuz", NULL);
		g_assert_cmpint (symlink ("boot/vmlinuz-6.1", link), ==, 0);
	}
	ac_test_write (f->esp, "EFI/BOOT/BOOTX64.EFI", "not really an EFI binary", 0644);
}

static void
fixture_setup (Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	f->dir = ac_test_mkdtemp ();
	f->root = g_build_filename (f->dir, "root", NULL);
	f->esp = g_build_filename (f->dir, "esp", NULL);
	f->work = g_build_filename (f->dir, "work", NULL);
	f->out = g_build_filename (f->dir, "disk.img", NULL);
	g_assert_cmpint (g_mkdir (f->work, 0700), ==, 0);
	g_assert_cmpint (g_mkdir (f->root, 0755), ==, 0);
	make_trees (f);
	if (data != NULL) {
		/* reproducible: fixed secrets, a seed and a date */
		f->pass = ac_secret_new ("correct horse battery staple", 28);
		f->keyfile = ac_secret_new ("MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWZn", 44);
		f->drbg = ac_drbg_new (f->pass, data, 1000, &error);
		g_assert_no_error (error);
	} else {
		f->pass = ac_secret_generate_passphrase (32, &error);
		g_assert_no_error (error);
		f->keyfile = ac_secret_generate_keyfile (&error);
		g_assert_no_error (error);
	}
	f->spec.disk_size = 72 * AC_MIB + 4096;
	f->spec.esp_size = 16 * AC_MIB;
	f->spec.esp_dir = f->esp;
	ac_test_assemble_spec_init (&f->spec, f->root, f->work);
	if (f->drbg != NULL) {
		f->spec.drbg = f->drbg;
		f->spec.source_date_epoch = 1700000000;
	}
	f->cleanup = ac_cleanup_new ();
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
	ac_cleanup_free (f->cleanup);
	ac_drbg_free (f->drbg);
	ac_assemble_result_clear (&f->result);
	ac_secret_free (f->pass);
	ac_secret_free (f->keyfile);
	ac_test_rm_rf (f->dir);
	g_free (f->dir);
	g_free (f->root);
	g_free (f->esp);
	g_free (f->work);
	g_free (f->out);
}

static void
extract (const gchar *image, guint64 off, gsize len, const gchar *dest)
{
	g_autofree guint8 *buf = g_malloc (len);
	g_autoptr(GError) error = NULL;
	int fd = open (image, O_RDONLY);
	g_assert_true (ac_pread_full (fd, buf, len, off, &error));
	close (fd);
	g_file_set_contents (dest, (const gchar *)buf, (gssize)len, &error);
	g_assert_no_error (error);
}

static void
check_independent (Fixture *f, const AcVerifyReport *report)
{
	g_autofree gchar *out = NULL;
	g_autofree gchar *hdr = g_build_filename (f->dir, "hdr.img", NULL);
	g_autofree gchar *dec = g_build_filename (f->dir, "decrypted.img", NULL);
	g_autofree gchar *passfile = g_build_filename (f->dir, "pass", NULL);
	g_autoptr(GError) error = NULL;

	/* sfdisk: GPT with the ESP at 1 MiB and the Linux partition after it */
	{
		const gchar *argv[] = { "sfdisk", "--json", f->out, NULL };
		g_autoptr(JsonParser) parser = json_parser_new ();
		JsonObject *pt;
		JsonArray *parts;
		g_assert_cmpint (ac_test_run (argv, NULL, &out), ==, 0);
		g_assert_true (json_parser_load_from_data (parser, out, -1, &error));
		pt = json_object_get_object_member (json_node_get_object (json_parser_get_root (parser)),
						    "partitiontable");
		g_assert_cmpstr (json_object_get_string_member (pt, "label"), ==, "gpt");
		parts = json_object_get_array_member (pt, "partitions");
		g_assert_cmpuint (json_array_get_length (parts), ==, 2);
		g_assert_cmpint (json_object_get_int_member (json_array_get_object_element (parts, 0),
							     "start"), ==, 2048);
		g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (parts, 0),
								"type"), ==, AC_GPT_TYPE_ESP);
		g_assert_cmpint (json_object_get_int_member (json_array_get_object_element (parts, 1),
							     "start"), ==, (gint64)(f->result.root_offset / 512));
		g_assert_cmpint (json_object_get_int_member (json_array_get_object_element (parts, 1),
							     "size"), ==, (gint64)(f->result.root_size / 512));
		g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (parts, 1),
								"type"), ==, AC_GPT_TYPE_LINUX);
		g_clear_pointer (&out, g_free);
	}
	/* sgdisk: both GPT headers and their CRCs are fine */
	if (ac_test_have ("sgdisk")) {
		const gchar *argv[] = { "sgdisk", "--verify", f->out, NULL };
		g_assert_cmpint (ac_test_run (argv, NULL, &out), ==, 0);
		g_assert_nonnull (strstr (out, "No problems found"));
		g_clear_pointer (&out, g_free);
	}
	/* mtools: the ESP tree is there */
	{
		g_autofree gchar *img = g_strdup_printf ("%s@@%" G_GUINT64_FORMAT, f->out,
							 f->result.esp_offset);
		const gchar *argv[] = { "mtype", "-i", img, "::/EFI/BOOT/BOOTX64.EFI", NULL };
		g_setenv ("MTOOLS_SKIP_CHECK", "1", TRUE);
		g_assert_cmpint (ac_test_run (argv, NULL, &out), ==, 0);
		g_assert_cmpstr (out, ==, "not really an EFI binary");
		g_clear_pointer (&out, g_free);
	}
	/* cryptsetup: the header opens with the passphrase (slot 0) and the keyfile (slot 1) */
	extract (f->out, f->result.root_offset, 4 * 1024 * 1024, hdr);
	{
		const gchar *dump[] = { "cryptsetup", "luksDump", hdr, NULL };
		const gchar *open0[] = { "cryptsetup", "open", "--test-passphrase", "--key-slot", "0",
					 "--key-file", "-", hdr, NULL };
		const gchar *open1[] = { "cryptsetup", "open", "--test-passphrase", "--key-slot", "1",
					 "--key-file", "-", hdr, NULL };
		g_autofree gchar *want_uuid = g_strdup_printf ("UUID:          \t%s", report->luks->uuid);
		g_assert_cmpint (ac_test_run (dump, NULL, &out), ==, 0);
		g_assert_nonnull (strstr (out, "Version:       \t1"));
		g_assert_nonnull (strstr (out, "Cipher name:   \taes"));
		g_assert_nonnull (strstr (out, "Cipher mode:   \txts-plain64"));
		g_assert_nonnull (strstr (out, "Hash spec:     \tsha256"));
		g_assert_nonnull (strstr (out, "MK bits:       \t512"));
		g_assert_nonnull (strstr (out, want_uuid));
		g_clear_pointer (&out, g_free);
		g_assert_cmpint (ac_test_run (open0, f->pass->data, NULL), ==, 0);
		g_assert_cmpint (ac_test_run (open1, f->keyfile->data, NULL), ==, 0);
		g_assert_cmpint (ac_test_run (open0, "wrong passphrase", NULL), !=, 0);
		g_assert_cmpint (ac_test_run (open0, f->keyfile->data, NULL), !=, 0);
	}
	/* QEMU's LUKS driver decrypts partition 2 at its offset: equal to the filesystem image */
	g_file_set_contents (passfile, f->pass->data, (gssize)f->pass->len, &error);
	g_assert_no_error (error);
	{
		g_autofree gchar *secret = g_strdup_printf ("secret,id=sec0,file=%s", passfile);
		g_autofree gchar *opts = g_strdup_printf (
			"driver=luks,key-secret=sec0,file.driver=raw,file.offset=%" G_GUINT64_FORMAT
			",file.size=%" G_GUINT64_FORMAT ",file.file.driver=file,file.file.filename=%s",
			f->result.root_offset, f->result.root_size, f->out);
		const gchar *argv[] = { "qemu-img", "convert", "--object", secret, "--image-opts",
					opts, "-O", "raw", dec, NULL };
		const gchar *cmp[] = { "cmp", dec, f->result.fs_image, NULL };
		g_assert_cmpint (ac_test_run (argv, NULL, NULL), ==, 0);
		g_assert_cmpint (ac_test_run (cmp, NULL, NULL), ==, 0);
	}
	/* e2fsprogs: a clean ext4 with our files, without the features GRUB cannot read */
	{
		const gchar *fsck[] = { "e2fsck", "-fn", dec, NULL };
		const gchar *cat[] = { "debugfs", "-R", "cat /etc/hello", dec, NULL };
		const gchar *stat[] = { "debugfs", "-R", "stat /etc/secret-ish", dec, NULL };
		const gchar *dump[] = { "dumpe2fs", "-h", dec, NULL };
		g_assert_cmpint (ac_test_run (fsck, NULL, NULL), ==, 0);
		g_assert_cmpint (ac_test_run (cat, NULL, &out), ==, 0);
		g_assert_cmpstr (out, ==, "hello from the encrypted root\n");
		g_clear_pointer (&out, g_free);
		g_assert_cmpint (ac_test_run (stat, NULL, &out), ==, 0);
		g_assert_nonnull (strstr (out, "Mode:  0600"));
		g_assert_nonnull (strstr (out, "User:     0   Group:     0"));
		g_clear_pointer (&out, g_free);
		g_assert_cmpint (ac_test_run (dump, NULL, &out), ==, 0);
		g_assert_nonnull (strstr (out, "Filesystem volume name:   rootfs"));
		g_assert_null (strstr (out, "orphan_file"));
		g_assert_null (strstr (out, "metadata_csum_seed"));
		g_assert_nonnull (strstr (out, "extent"));
	}
}

static void
test_assemble_independent (Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(AcProgress) progress = ac_progress_new ("build");
	g_autoptr(AcVerifyReport) report = NULL;
	g_autofree gchar *json = NULL;
	g_autofree gchar *sha = NULL;
	g_autoptr(JsonParser) parser = json_parser_new ();
	AcManifest m = { 0 };

	if (!ac_test_have ("qemu-img") || !ac_test_have ("cryptsetup") ||
	    !ac_test_have ("mkfs.vfat") || !ac_test_have ("mcopy")) {
		g_test_skip ("qemu-img, cryptsetup or dosfstools/mtools missing");
		return;
	}
	g_assert_true (ac_assemble (&f->spec, f->pass, f->keyfile, f->out, f->cleanup, progress,
				    NULL, &f->result, &error));
	g_assert_no_error (error);
	g_assert_cmpuint (f->result.esp_offset, ==, AC_MIB);
	g_assert_cmpuint (f->result.root_offset, ==, 17 * AC_MIB);
	g_assert_cmpuint (f->result.root_size, ==, 71 * AC_MIB - 17 * AC_MIB);
	/* LUKS1 with 512-bit keys: 8 slots of 4000 stripes, aligned to 1 MiB = 2 MiB of header */
	g_assert_cmpuint (f->result.payload_offset, ==, 19 * AC_MIB);
	g_assert_cmpuint (f->result.encrypt_stats.bytes, ==, f->result.payload_size);
	g_assert_cmpuint (f->result.encrypt_stats.hole_bytes, >, 0);
	g_assert_cmpfloat (ac_progress_get_fraction (progress), >=, 0.99);

	report = ac_verify_image (f->out, f->pass, f->result.fs_image, f->work, NULL, NULL, NULL,
				  &error);
	g_assert_no_error (error);
	g_assert_nonnull (report);
	g_assert_true (report->payload_compared);
	g_assert_cmpuint (report->payload_offset, ==, f->result.payload_offset);
	g_assert_cmpuint (report->payload_size, ==, f->result.payload_size);
	g_assert_cmpint (report->luks->keyslot, ==, 0);
	g_assert_cmpuint (report->luks->key_bytes, ==, 64);
	g_assert_cmpstr (report->luks->hash, ==, "sha256");
	/* the keyfile opens slot 1 of the image's own header; the passphrase is not slot 1 */
	g_assert_true (ac_verify_keyslot (f->out, report, f->keyfile, 1, f->work, &error));
	g_assert_no_error (error);
	g_assert_false (ac_verify_keyslot (f->out, report, f->pass, 1, f->work, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_MISMATCH);
	g_clear_error (&error);

	check_independent (f, report);

	/* the manifest names what was verified and never the passphrase */
	sha = ac_sha256_file (f->out, NULL, &error);
	g_assert_no_error (error);
	m.image_path = f->out;
	m.image_size = f->spec.disk_size;
	m.image_sha256 = sha;
	m.esp_volume_id = f->result.esp_volume_id;
	m.source_date_epoch = -1;
	m.report = report;
	json = ac_manifest_to_json (&m);
	g_assert_null (strstr (json, f->pass->data));
	g_assert_null (strstr (json, f->keyfile->data));
	g_assert_true (json_parser_load_from_data (parser, json, -1, &error));
	{
		JsonObject *o = json_node_get_object (json_parser_get_root (parser));
		JsonObject *img = json_object_get_object_member (o, "image");
		JsonObject *root = json_object_get_object_member (
			json_object_get_object_member (o, "layout"), "root");
		g_assert_cmpstr (json_object_get_string_member (img, "sha256"), ==, sha);
		g_assert_true (json_object_get_null_member (img, "cid"));
		g_assert_cmpint (json_object_get_int_member (img, "size"), ==, (gint64)f->spec.disk_size);
		g_assert_cmpstr (json_object_get_string_member (
					 json_object_get_object_member (root, "luks"), "uuid"),
				 ==, report->luks->uuid);
		g_assert_true (json_object_get_boolean_member (
			json_object_get_object_member (o, "verified"), "payload_equals_filesystem"));
	}
}

/* verify rejects: a wrong passphrase, a corrupted payload byte, a damaged GPT */
static void
test_verify_rejects (Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(AcSecret) wrong = ac_secret_new ("not the passphrase", 18);
	g_autoptr(AcVerifyReport) report = NULL;
	guint8 b;
	int fd;

	if (!ac_test_have ("mkfs.vfat") || !ac_test_have ("mcopy")) {
		g_test_skip ("dosfstools/mtools missing");
		return;
	}
	g_assert_true (ac_assemble (&f->spec, f->pass, NULL, f->out, f->cleanup, NULL, NULL,
				    &f->result, &error));
	g_assert_no_error (error);

	report = ac_verify_image (f->out, wrong, f->result.fs_image, f->work, NULL, NULL, NULL, &error);
	g_assert_null (report);
	g_assert_error (error, AC_ERROR, AC_ERROR_MISMATCH);
	g_clear_error (&error);

	fd = open (f->out, O_RDWR);
	g_assert_cmpint (pread (fd, &b, 1, (off_t)(f->result.payload_offset + 5 * AC_MIB + 3)), ==, 1);
	b ^= 1;
	g_assert_cmpint (pwrite (fd, &b, 1, (off_t)(f->result.payload_offset + 5 * AC_MIB + 3)), ==, 1);
	report = ac_verify_image (f->out, f->pass, f->result.fs_image, f->work, NULL, NULL, NULL,
				  &error);
	g_assert_null (report);
	g_assert_error (error, AC_ERROR, AC_ERROR_MISMATCH);
	g_assert_nonnull (strstr (error->message, "sector 10240"));
	g_clear_error (&error);
	/* without the filesystem image only the superblock is checked: passes */
	report = ac_verify_image (f->out, f->pass, NULL, f->work, NULL, NULL, NULL, &error);
	g_assert_no_error (error);
	g_assert_false (report->payload_compared);
	g_clear_pointer (&report, ac_verify_report_free);

	/* the primary GPT header's CRC broken and the backup gone: no GPT */
	b = 0xff;
	g_assert_cmpint (pwrite (fd, &b, 1, 512 + 16), ==, 1);
	{
		guint8 zero[512] = { 0 };
		g_assert_cmpint (pwrite (fd, zero, 512, (off_t)(f->spec.disk_size - 512)), ==, 512);
	}
	close (fd);
	report = ac_verify_image (f->out, f->pass, NULL, f->work, NULL, NULL, NULL, &error);
	g_assert_null (report);
	g_assert_error (error, AC_ERROR, AC_ERROR_MISMATCH);
}

static void
test_assemble_refusals (Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	AcAssembleResult layout = { 0 };

	/* the layout arithmetic */
	g_assert_true (ac_assemble_layout (4000000000ULL, 99 * AC_MIB, 2 * AC_MIB, &layout, &error));
	g_assert_cmpuint (layout.root_offset, ==, 100 * AC_MIB);
	g_assert_cmpuint (layout.root_size, ==, 3814 * AC_MIB - 100 * AC_MIB);
	g_assert_cmpuint (layout.payload_offset, ==, 102 * AC_MIB);
	g_assert_false (ac_assemble_layout (20 * AC_MIB, 16 * AC_MIB, 2 * AC_MIB, &layout, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
	g_clear_error (&error);
	g_assert_false (ac_assemble_layout (64 * AC_MIB + 1, 16 * AC_MIB, 2 * AC_MIB, &layout, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
	g_clear_error (&error);

	/* never overwrites an existing output */
	g_file_set_contents (f->out, "precious", -1, NULL);
	g_assert_false (ac_assemble (&f->spec, f->pass, NULL, f->out, f->cleanup, NULL, NULL,
				     &f->result, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_EXISTS);
	g_clear_error (&error);
	g_assert_true (ac_cleanup_forget (f->cleanup, f->out) == FALSE);
	g_assert_true (ac_cleanup_run (f->cleanup, &error));
	{
		g_autofree gchar *c = NULL;
		g_file_get_contents (f->out, &c, NULL, NULL);
		g_assert_cmpstr (c, ==, "precious");
	}
	/* the work directory holds nothing afterwards */
	{
		g_autoptr(GDir) d = g_dir_open (f->work, 0, NULL);
		g_assert_null (g_dir_read_name (d));
	}
	ac_assemble_result_clear (&f->result);
	/* a key size GRUB and the builder do not support */
	g_unlink (f->out);
	f->spec.luks.key_bytes = 48;
	g_assert_false (ac_assemble (&f->spec, f->pass, NULL, f->out, f->cleanup, NULL, NULL,
				     &f->result, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
	g_assert_nonnull (strstr (error->message, "384 bits"));
}

/* reproducible mode: our own LUKS1 writer, checked like libcryptsetup's output above; two
 * builds from the same inputs give the same bytes, another seed gives other bytes */
static void
test_assemble_reproducible (Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(AcVerifyReport) report = NULL;
	g_autofree gchar *sha1 = NULL;
	g_autofree gchar *sha2 = NULL;
	g_autofree gchar *sha3 = NULL;
	g_autofree gchar *out2 = g_build_filename (f->dir, "disk2.img", NULL);
	g_autofree gchar *out3 = g_build_filename (f->dir, "disk3.img", NULL);
	g_autoptr(AcDrbg) other = NULL;
	AcAssembleResult r2 = { 0 };

	if (!ac_test_have ("qemu-img") || !ac_test_have ("cryptsetup") ||
	    !ac_test_have ("mkfs.vfat") || !ac_test_have ("mcopy")) {
		g_test_skip ("qemu-img, cryptsetup or dosfstools/mtools missing");
		return;
	}
	g_assert_true (ac_assemble (&f->spec, f->pass, f->keyfile, f->out, f->cleanup, NULL, NULL,
				    &f->result, &error));
	g_assert_no_error (error);
	report = ac_verify_image (f->out, f->pass, f->result.fs_image, f->work, NULL, NULL, NULL,
				  &error);
	g_assert_no_error (error);
	check_independent (f, report);
	sha1 = ac_sha256_file (f->out, NULL, &error);

	/* again, from scratch: a fresh work directory and output */
	g_assert_true (ac_cleanup_run (f->cleanup, &error));
	g_assert_true (ac_assemble (&f->spec, f->pass, f->keyfile, out2, f->cleanup, NULL, NULL,
				    &r2, &error));
	g_assert_no_error (error);
	sha2 = ac_sha256_file (out2, NULL, &error);
	g_assert_cmpstr (sha1, ==, sha2);
	ac_assemble_result_clear (&r2);

	/* another seed: another image */
	g_assert_true (ac_cleanup_run (f->cleanup, &error));
	other = ac_drbg_new (f->pass, "another seed", 1000, &error);
	f->spec.drbg = other;
	g_assert_true (ac_assemble (&f->spec, f->pass, f->keyfile, out3, f->cleanup, NULL, NULL,
				    &r2, &error));
	g_assert_no_error (error);
	sha3 = ac_sha256_file (out3, NULL, &error);
	g_assert_cmpstr (sha1, !=, sha3);
	ac_assemble_result_clear (&r2);
	f->spec.drbg = f->drbg;
}

/* ac_sha256_file(): the digest of the whole file (across the 1 MiB chunks), or an error that
 * names it */
static void
test_sha256_file (void)
{
	g_autofree gchar *dir = ac_test_mkdtemp ();
	g_autofree gchar *abc = g_build_filename (dir, "abc", NULL);
	g_autofree gchar *big = g_build_filename (dir, "big", NULL);
	g_autofree gchar *missing = g_build_filename (dir, "missing", NULL);
	g_autofree gchar *data = g_malloc (5 * 1024 * 1024 / 2 + 3);
	g_autofree gchar *want = NULL;
	g_autofree gchar *want_msg = NULL;
	g_autoptr (GCancellable) cancelled = g_cancellable_new ();
	g_autoptr (GError) error = NULL;
	gchar *sha;

	for (gsize i = 0; i < 5 * 1024 * 1024 / 2 + 3; i++)
		data[i] = (gchar)(i * 7 + i / 4099);
	g_assert_true (g_file_set_contents (abc, "abc", 3, NULL));
	g_assert_true (g_file_set_contents (big, data, 5 * 1024 * 1024 / 2 + 3, NULL));
	sha = ac_sha256_file (abc, NULL, &error);
	g_assert_no_error (error);
	g_assert_cmpstr (sha, ==,
	                 "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	g_free (sha);
	want = g_compute_checksum_for_data (G_CHECKSUM_SHA256, (const guchar *)data,
	                                    5 * 1024 * 1024 / 2 + 3);
	sha = ac_sha256_file (big, NULL, &error);
	g_assert_no_error (error);
	g_assert_cmpstr (sha, ==, want);
	g_free (sha);

	g_assert_null (ac_sha256_file (missing, NULL, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_NOT_FOUND);
	want_msg = g_strdup_printf ("cannot open %s: No such file or directory", missing);
	g_assert_cmpstr (error->message, ==, want_msg);
	g_clear_error (&error);
	g_clear_pointer (&want_msg, g_free);

	g_cancellable_cancel (cancelled);
	g_assert_null (ac_sha256_file (big, cancelled, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_CANCELLED);
	want_msg = g_strdup_printf ("interrupted while hashing %s", big);
	g_assert_cmpstr (error->message, ==, want_msg);
	ac_test_rm_rf (dir);
}

int
main (int argc, char **argv)
{
	g_test_init (&argc, &argv, NULL);
	g_test_add_func ("/builder/assemble/sha256-file", test_sha256_file);
	g_test_add ("/builder/assemble/independent", Fixture, NULL, fixture_setup,
		    test_assemble_independent, fixture_teardown);
	g_test_add ("/builder/assemble/verify-rejects", Fixture, NULL, fixture_setup,
		    test_verify_rejects, fixture_teardown);
	g_test_add ("/builder/assemble/refusals", Fixture, NULL, fixture_setup,
		    test_assemble_refusals, fixture_teardown);
	g_test_add ("/builder/assemble/reproducible", Fixture, "seed-1", fixture_setup,
		    test_assemble_reproducible, fixture_teardown);
	return g_test_run ();
}
