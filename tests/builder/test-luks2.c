/*
 * The luks2-root layout (an SEV-SNP runtime's root image), checked by independent
 * implementations: cryptsetup reads the header (LUKS2, aes-xts-plain64, one key slot, PBKDF2,
 * 512-byte sectors) and tests the passphrase; the data segment is decrypted without our XTS
 * code (cryptsetup converts a copy's header to LUKS1 with the same volume key, QEMU's LUKS
 * driver decrypts it) and equals the filesystem image, which e2fsck accepts and debugfs reads.
 * The verify step refuses a wrong passphrase, a changed byte, a cipher_null header and a second
 * key slot; the whole build from a disk image gives such an image.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <fcntl.h>
#include <json-glib/json-glib.h>
#include <unistd.h>

#include "ac-builder-assemble.h"
#include "ac-builder-test-util.h"
#include "ac-builder-verify.h"
#include "ac-builder.h"
#include "ac-error.h"
#include "ac-snp-luks2.h"

typedef struct {
	gchar *dir;
	gchar *root;
	gchar *work;
	gchar *out;
	AcSecret *pass;
	AcAssembleSpec spec;
	AcAssembleResult result;
	AcCleanup *cleanup;
} Fixture;

static gboolean
have_tools (void)
{
	const gchar *tools[] = { "cryptsetup", "qemu-img", "mkfs.ext4", "debugfs", "e2fsck", NULL };
	for (guint i = 0; tools[i] != NULL; i++) {
		if (!ac_test_have (tools[i]))
			g_error ("%s is needed (scripts/setup.sh installs it)", tools[i]);
	}
	return TRUE;
}

static void
fixture_setup (Fixture *f, gconstpointer data)
{
	g_autoptr (GError) error = NULL;
	f->dir = ac_test_mkdtemp ();
	f->root = g_build_filename (f->dir, "root", NULL);
	f->work = g_build_filename (f->dir, "work", NULL);
	f->out = g_build_filename (f->dir, "rootfs.img", NULL);
	g_assert_cmpint (g_mkdir (f->work, 0700), ==, 0);
	g_assert_cmpint (g_mkdir (f->root, 0755), ==, 0);
	ac_test_write (f->root, "etc/hello", "hello from the SNP root\n", 0644);
	ac_test_write (f->root, "etc/secret-ish", "mode 0600\n", 0600);
	ac_test_write (f->root, "sbin/init", "#!/bin/sh\nexec /bin/sh\n", 0755);
	f->pass = ac_secret_generate_passphrase (32, &error);
	g_assert_no_error (error);
	f->spec.layout = AC_IMAGE_LAYOUT_LUKS2_ROOT;
	f->spec.disk_size = 48 * AC_MIB + 4096;
	ac_test_assemble_spec_init (&f->spec, f->root, f->work);
	f->cleanup = ac_cleanup_new ();
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
	ac_cleanup_free (f->cleanup);
	ac_assemble_result_clear (&f->result);
	ac_secret_free (f->pass);
	ac_test_rm_rf (f->dir);
	g_free (f->dir);
	g_free (f->root);
	g_free (f->work);
	g_free (f->out);
}

static void
assemble (Fixture *f)
{
	g_autoptr (GError) error = NULL;
	g_assert_true (ac_assemble (&f->spec, f->pass, NULL, f->out, f->cleanup, NULL, NULL,
	                            &f->result, &error));
	g_assert_no_error (error);
}

/*
 * The data segment of @image decrypted by QEMU: cryptsetup converts a copy's header to LUKS1
 * (same volume key, same data offset), qemu-img's LUKS driver (LUKS1 only on Debian 12)
 * decrypts it into @dec.
 */
static void
decrypt_independently (const gchar *image, const AcSecret *pass, const gchar *dir, const gchar *dec)
{
	g_autofree gchar *copy = g_build_filename (dir, "luks1-copy.img", NULL);
	g_autofree gchar *passfile = g_build_filename (dir, "passfile", NULL);
	g_autofree gchar *secret = g_strdup_printf ("secret,id=sec0,file=%s", passfile);
	g_autofree gchar *opts
	    = g_strdup_printf ("driver=luks,key-secret=sec0,file.filename=%s", copy);
	const gchar *cp[] = { "cp", "--sparse=always", image, copy, NULL };
	const gchar *conv[] = { "cryptsetup", "convert", "-q", "--type", "luks1", copy, NULL };
	const gchar *qemu[] = { "qemu-img", "convert", "--object", secret, "--image-opts",
		                opts,       "-O",      "raw",      dec,    NULL };
	g_autoptr (GError) error = NULL;

	g_file_set_contents (passfile, pass->data, (gssize)pass->len, &error);
	g_assert_no_error (error);
	g_assert_cmpint (ac_test_run (cp, NULL, NULL), ==, 0);
	g_assert_cmpint (ac_test_run (conv, NULL, NULL), ==, 0);
	g_assert_cmpint (ac_test_run (qemu, NULL, NULL), ==, 0);
	g_unlink (passfile);
	g_unlink (copy);
}

/* cryptsetup's view of @image: LUKS2, aes-xts-plain64, one PBKDF2 key slot, 512-byte sectors,
 * the data at @data_offset; the passphrase opens it, another one does not */
static void
check_cryptsetup (const gchar *image, const AcSecret *pass, const gchar *uuid, guint64 data_offset)
{
	const gchar *dump[] = { "cryptsetup", "luksDump", image, NULL };
	const gchar *test[]
	    = { "cryptsetup", "open", "--test-passphrase", "--key-file", "-", image, NULL };
	const gchar *test0[]
	    = { "cryptsetup", "open", "--test-passphrase", "--key-slot", "0", "--key-file", "-",
		image,        NULL };
	g_autofree gchar *want_uuid = g_strdup_printf ("UUID:          \t%s\n", uuid);
	g_autofree gchar *want_offset
	    = g_strdup_printf ("offset: %" G_GUINT64_FORMAT " [bytes]", data_offset);
	g_autofree gchar *out = NULL;

	g_assert_cmpint (ac_test_run (dump, NULL, &out), ==, 0);
	g_assert_nonnull (strstr (out, "Version:       \t2\n"));
	g_assert_nonnull (strstr (out, want_uuid));
	g_assert_nonnull (strstr (out, "  0: crypt\n"));
	g_assert_nonnull (strstr (out, want_offset));
	g_assert_nonnull (strstr (out, "length: (whole device)"));
	g_assert_nonnull (strstr (out, "cipher: aes-xts-plain64\n"));
	g_assert_nonnull (strstr (out, "sector: 512 [bytes]"));
	g_assert_nonnull (strstr (out, "  0: luks2\n"));
	g_assert_null (strstr (out, "  1: luks2\n"));
	g_assert_nonnull (strstr (out, "Key:        512 bits"));
	g_assert_nonnull (strstr (out, "Cipher:     aes-xts-plain64\n"));
	g_assert_nonnull (strstr (out, "PBKDF:      pbkdf2\n"));
	g_assert_nonnull (strstr (out, "Hash:       sha256\n"));
	g_assert_null (strstr (out, "cipher_null"));
	g_assert_cmpint (ac_test_run (test, pass->data, NULL), ==, 0);
	g_assert_cmpint (ac_test_run (test0, pass->data, NULL), ==, 0);
	g_assert_cmpint (ac_test_run (test, "another passphrase", NULL), !=, 0);
}

/* e2fsprogs on the decrypted filesystem: clean, with the tree's files */
static void
check_filesystem (const gchar *dec, const gchar *path, const gchar *content)
{
	g_autofree gchar *cmd = g_strdup_printf ("cat %s", path);
	const gchar *fsck[] = { "e2fsck", "-fn", dec, NULL };
	const gchar *cat[] = { "debugfs", "-R", cmd, dec, NULL };
	g_autofree gchar *out = NULL;
	g_assert_cmpint (ac_test_run (fsck, NULL, NULL), ==, 0);
	g_assert_cmpint (ac_test_run (cat, NULL, &out), ==, 0);
	g_assert_cmpstr (out, ==, content);
}

static void
test_assemble_independent (Fixture *f, gconstpointer data)
{
	g_autoptr (GError) error = NULL;
	g_autoptr (AcVerifyReport) report = NULL;
	g_autoptr (AcLuks2Header) checked = NULL;
	g_autofree gchar *dec = g_build_filename (f->dir, "decrypted.img", NULL);
	g_autofree gchar *out = NULL;
	g_autofree gchar *json = NULL;
	g_autofree gchar *sha = NULL;
	g_autoptr (JsonParser) parser = json_parser_new ();
	AcManifest m = { 0 };

	have_tools ();
	f->spec.luks.uuid = "01234567-89ab-cdef-0123-456789abcdef";
	assemble (f);
	/* cryptsetup's default LUKS2 layout: the data after 16 MiB of header and key slots */
	g_assert_cmpuint (f->result.root_offset, ==, 0);
	g_assert_cmpuint (f->result.payload_offset, ==, 16 * AC_MIB);
	g_assert_cmpuint (f->result.payload_size, ==, 32 * AC_MIB + 4096);
	g_assert_cmpuint (f->result.esp_size, ==, 0);
	g_assert_cmpuint (f->result.encrypt_stats.bytes, ==, f->result.payload_size);
	{
		GStatBuf st;
		g_assert_cmpint (g_stat (f->out, &st), ==, 0);
		g_assert_cmpuint ((guint64)st.st_size, ==, f->spec.disk_size);
	}

	/* the guest's check */
	checked = ac_luks2_check_file (f->out, &error);
	g_assert_no_error (error);
	g_assert_cmpstr (checked->uuid, ==, "01234567-89ab-cdef-0123-456789abcdef");
	g_assert_cmpuint (checked->keyslots, ==, 1);
	g_assert_cmpuint (checked->data_offset, ==, 16 * AC_MIB);

	report
	    = ac_verify_luks2_image (f->out, f->pass, f->result.fs_image, NULL, NULL, NULL, &error);
	g_assert_no_error (error);
	g_assert_true (report->payload_compared);
	g_assert_cmpint (report->layout, ==, AC_IMAGE_LAYOUT_LUKS2_ROOT);
	g_assert_cmpuint (report->luks->version, ==, 2);
	g_assert_cmpint (report->luks->keyslot, ==, 0);
	g_assert_cmpuint (report->luks->key_bytes, ==, 64);
	g_assert_cmpstr (report->luks->pbkdf, ==, "pbkdf2");
	g_assert_cmpuint (report->luks->iterations, ==, 1000);
	g_assert_cmpuint (report->luks->sector_size, ==, 512);
	g_assert_cmpuint (report->payload_offset, ==, f->result.payload_offset);
	g_assert_cmpuint (report->payload_size, ==, f->result.payload_size);

	check_cryptsetup (f->out, f->pass, "01234567-89ab-cdef-0123-456789abcdef", 16 * AC_MIB);
	decrypt_independently (f->out, f->pass, f->dir, dec);
	{
		const gchar *cmp[] = { "cmp", dec, f->result.fs_image, NULL };
		g_assert_cmpint (ac_test_run (cmp, NULL, NULL), ==, 0);
	}
	check_filesystem (dec, "/etc/hello", "hello from the SNP root\n");
	{
		const gchar *stat[] = { "debugfs", "-R", "stat /sbin/init", dec, NULL };
		g_assert_cmpint (ac_test_run (stat, NULL, &out), ==, 0);
		g_assert_nonnull (strstr (out, "Mode:  0755"));
		g_clear_pointer (&out, g_free);
	}

	/* the manifest: the luks2-root layout, never the passphrase */
	sha = ac_sha256_file (f->out, NULL, &error);
	g_assert_no_error (error);
	m.image_path = f->out;
	m.image_size = f->spec.disk_size;
	m.image_sha256 = sha;
	m.source_date_epoch = -1;
	m.report = report;
	json = ac_manifest_to_json (&m);
	g_assert_null (strstr (json, f->pass->data));
	g_assert_true (json_parser_load_from_data (parser, json, -1, &error));
	{
		JsonObject *o = json_node_get_object (json_parser_get_root (parser));
		JsonObject *layout = json_object_get_object_member (o, "layout");
		JsonObject *luks = json_object_get_object_member (layout, "luks");
		JsonObject *verified = json_object_get_object_member (o, "verified");
		g_assert_cmpstr (json_object_get_string_member (layout, "type"), ==, "luks2-root");
		g_assert_false (json_object_has_member (layout, "esp"));
		g_assert_cmpint (json_object_get_int_member (luks, "version"), ==, 2);
		g_assert_cmpstr (json_object_get_string_member (luks, "uuid"), ==,
		                 "01234567-89ab-cdef-0123-456789abcdef");
		g_assert_cmpstr (json_object_get_string_member (luks, "pbkdf"), ==, "pbkdf2");
		g_assert_cmpint (json_object_get_int_member (luks, "payload_offset"), ==,
		                 16 * AC_MIB);
		g_assert_true (json_object_get_boolean_member (verified, "luks2_guest_check"));
		g_assert_true (
		    json_object_get_boolean_member (verified, "payload_equals_filesystem"));
	}
}

/* the SHA-256 of one header copy (16 KiB) with its checksum field zeroed, written into it */
static void
reseal (guint8 *copy)
{
	g_autoptr (GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);
	gsize len = 32;
	memset (copy + 448, 0, 64);
	g_checksum_update (sum, copy, 16384);
	g_checksum_get_digest (sum, copy + 448, &len);
}

/* the host's rewrite of both header copies: the segment's cipher becomes cipher_null */
static void
rewrite_cipher_null (const gchar *image)
{
	int fd = open (image, O_RDWR);
	g_autofree guint8 *hdr = g_malloc (32768);
	g_autoptr (GError) error = NULL;

	g_assert_cmpint (fd, >=, 0);
	g_assert_true (ac_pread_full (fd, hdr, 32768, 0, &error));
	for (guint c = 0; c < 2; c++) {
		guint8 *copy = hdr + c * 16384;
		gchar *seg = strstr ((gchar *)copy + 4096, "\"segments\"");
		gchar *enc;
		g_assert_nonnull (seg);
		enc = strstr (seg, "aes-xts-plain64");
		g_assert_nonnull (enc);
		memcpy (enc, "cipher_null-ecb", 15);
		reseal (copy);
	}
	g_assert_true (ac_pwrite_full (fd, hdr, 32768, 0, &error));
	close (fd);
}

static void
flip_byte (const gchar *path, guint64 off)
{
	int fd = open (path, O_RDWR);
	guint8 b = 0;
	g_autoptr (GError) error = NULL;
	g_assert_true (ac_pread_full (fd, &b, 1, off, &error));
	b ^= 0x01;
	g_assert_true (ac_pwrite_full (fd, &b, 1, off, &error));
	close (fd);
}

static void
test_verify_rejects (Fixture *f, gconstpointer data)
{
	g_autofree gchar *copy = g_build_filename (f->dir, "copy.img", NULL);
	const gchar *cp[] = { "cp", "--sparse=always", f->out, copy, NULL };
	g_autoptr (GError) error = NULL;
	g_autoptr (AcSecret) wrong = ac_secret_new ("not the passphrase", 18);

	have_tools ();
	assemble (f);
	g_assert_cmpint (ac_test_run (cp, NULL, NULL), ==, 0);

	/* a passphrase that opens nothing */
	g_assert_null (ac_verify_luks2_image (f->out, wrong, NULL, NULL, NULL, NULL, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_MISMATCH);
	g_clear_error (&error);

	/* one byte of the encrypted filesystem changed */
	flip_byte (f->out, f->result.payload_offset + 5 * AC_MIB + 3);
	g_assert_null (
	    ac_verify_luks2_image (f->out, f->pass, f->result.fs_image, NULL, NULL, NULL, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_MISMATCH);
	g_clear_error (&error);
	flip_byte (f->out, f->result.payload_offset + 5 * AC_MIB + 3);
	{
		g_autoptr (AcVerifyReport) ok = ac_verify_luks2_image (
		    f->out, f->pass, f->result.fs_image, NULL, NULL, NULL, &error);
		g_assert_no_error (error);
		g_assert_nonnull (ok);
	}

	/* the segment rewritten to cipher_null, checksums made again: cryptsetup loads it */
	rewrite_cipher_null (f->out);
	{
		const gchar *dump[] = { "cryptsetup", "luksDump", f->out, NULL };
		g_autofree gchar *out = NULL;
		g_assert_cmpint (ac_test_run (dump, NULL, &out), ==, 0);
		g_assert_nonnull (strstr (out, "cipher: cipher_null-ecb"));
	}
	g_assert_null (ac_verify_luks2_image (f->out, f->pass, NULL, NULL, NULL, NULL, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_REFUSED);
	g_assert_nonnull (strstr (error->message, "segment 0 is encrypted with 'cipher_null-ecb'"));
	g_clear_error (&error);

	/* a second key slot (cryptsetup's, the same cipher): not the image the builder makes */
	{
		g_autofree gchar *passfile = g_build_filename (f->dir, "pass", NULL);
		g_autofree gchar *newfile = g_build_filename (f->dir, "new", NULL);
		const gchar *add[] = { "cryptsetup", "luksAddKey", "-q",
			               "--pbkdf",    "pbkdf2",     "--pbkdf-force-iterations",
			               "1000",       "--key-file", passfile,
			               copy,         newfile,      NULL };
		g_file_set_contents (passfile, f->pass->data, (gssize)f->pass->len, &error);
		g_assert_no_error (error);
		g_file_set_contents (newfile, "another passphrase", -1, &error);
		g_assert_no_error (error);
		g_assert_cmpint (ac_test_run (add, NULL, NULL), ==, 0);
		g_assert_null (
		    ac_verify_luks2_image (copy, f->pass, NULL, NULL, NULL, NULL, &error));
		g_assert_error (error, AC_ERROR, AC_ERROR_MISMATCH);
		g_assert_nonnull (strstr (error->message, "expected slot 0, the only one"));
		g_clear_error (&error);
	}
	/* a GPT image is not this layout */
	{
		g_autofree gchar *plain = g_build_filename (f->dir, "plain.img", NULL);
		const gchar *mk[] = { "truncate", "-s", "20M", plain, NULL };
		g_assert_cmpint (ac_test_run (mk, NULL, NULL), ==, 0);
		g_assert_null (
		    ac_verify_luks2_image (plain, f->pass, NULL, NULL, NULL, NULL, &error));
		g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
		g_assert_nonnull (strstr (error->message, "no LUKS header"));
	}
}

static void
test_refusals (Fixture *f, gconstpointer data)
{
	g_autoptr (GError) error = NULL;
	g_autoptr (AcSecret) keyfile = ac_secret_new ("a keyfile", 9);
	g_autofree gchar *out2 = g_build_filename (f->dir, "second.img", NULL);

	have_tools ();
	/* one key slot: no keyfile */
	g_assert_false (ac_assemble (&f->spec, f->pass, keyfile, f->out, f->cleanup, NULL, NULL,
	                             &f->result, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
	g_clear_error (&error);
	g_assert_false (g_file_test (f->out, G_FILE_TEST_EXISTS));
	/* too small for the 16 MiB header and 8 MiB of filesystem */
	f->spec.disk_size = 20 * AC_MIB;
	g_assert_false (ac_assemble (&f->spec, f->pass, NULL, out2, f->cleanup, NULL, NULL,
	                             &f->result, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
	g_assert_nonnull (strstr (error->message, "too small for a LUKS2 header"));
	g_clear_error (&error);
	g_assert_false (g_file_test (out2, G_FILE_TEST_EXISTS));
	g_assert_false (
	    ac_assemble_luks2_layout (64 * AC_MIB + 100, 16 * AC_MIB, &f->result, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
}

/*
 * The whole build, as the pipeline makes it for an SNP tag: a disk image (GPT, the root
 * filesystem in partition 2, converted to qcow2) → luks2-root image with only the root
 * filesystem, the manifest describing it. Needs root (the source's read-only loop mount).
 */
static void
test_build_from_image (Fixture *f, gconstpointer data)
{
	g_autofree gchar *raw = g_build_filename (f->dir, "src.raw", NULL);
	g_autofree gchar *qcow = g_build_filename (f->dir, "src.qcow2", NULL);
	g_autofree gchar *fs = g_build_filename (f->dir, "src-fs.img", NULL);
	g_autofree gchar *dec = g_build_filename (f->dir, "dec.img", NULL);
	g_autofree gchar *outdir = g_build_filename (f->dir, "out", NULL);
	g_autofree gchar *json = NULL;
	g_autofree gchar *man = NULL;
	g_autoptr (AcTemplate) t = NULL;
	g_autoptr (GError) error = NULL;
	g_autoptr (JsonParser) parser = json_parser_new ();
	g_auto (AcBuildResult) r = { 0 };

	have_tools ();
	if (geteuid () != 0) {
		g_test_skip ("needs root (the source image's read-only loop mount)");
		return;
	}
	if (!g_file_test ("/bin/busybox", G_FILE_TEST_IS_EXECUTABLE))
		g_error ("busybox-static is needed for the shell provisioner's chroot");
	/* the source disk: a GPT, the root filesystem (with a static busybox for the shell
	 * provisioner's chroot) in partition 2, converted to qcow2 */
	{
		g_autofree gchar *bin = g_build_filename (f->root, "bin", NULL);
		g_autofree gchar *sh = g_build_filename (bin, "sh", NULL);
		g_autofree gchar *echo = g_build_filename (bin, "echo", NULL);
		const gchar *cpb[] = { "cp", "/bin/busybox", bin, NULL };
		const gchar *mk[] = { "mkfs.ext4", "-q", "-d", f->root, fs, "24M", NULL };
		const gchar *trunc[] = { "truncate", "-s", "40M", raw, NULL };
		const gchar *part[] = { "sfdisk", "-q", raw, NULL };
		g_autofree gchar *dd = g_strdup_printf (
		    "dd if='%s' of='%s' bs=1M seek=10 conv=notrunc status=none", fs, raw);
		const gchar *ddv[] = { "sh", "-c", dd, NULL };
		const gchar *conv[] = { "qemu-img", "convert", "-O", "qcow2", raw, qcow, NULL };
		g_assert_cmpint (g_mkdir_with_parents (bin, 0755), ==, 0);
		g_assert_cmpint (ac_test_run (cpb, NULL, NULL), ==, 0);
		g_assert_cmpint (symlink ("busybox", sh), ==, 0);
		g_assert_cmpint (symlink ("busybox", echo), ==, 0);
		g_assert_cmpint (ac_test_run (mk, NULL, NULL), ==, 0);
		g_assert_cmpint (ac_test_run (trunc, NULL, NULL), ==, 0);
		g_assert_cmpint (ac_test_run (part,
		                              "label: gpt\nstart=2048, size=8192, type=U\n"
		                              "start=20480, size=49152, type=L\n",
		                              NULL),
		                 ==, 0);
		g_assert_cmpint (ac_test_run (ddv, NULL, NULL), ==, 0);
		g_assert_cmpint (ac_test_run (conv, NULL, NULL), ==, 0);
	}
	json = g_strdup_printf ("{ \"source\": { \"type\": \"image\", \"path\": \"src.qcow2\" },"
	                        "  \"provisioners\": [ { \"type\": \"shell\", \"inline\": [ \"echo "
	                        "snp > /etc/role\" ] } ],"
	                        "  \"disk\": { \"layout\": \"luks2-root\", \"size\": \"64MiB\","
	                        "    \"luks\": { \"pbkdf_iterations\": 1000 } },"
	                        "  \"output\": { \"path\": \"out/snp.img\" } }");
	t = ac_template_new_from_data (json, strlen (json), f->dir, NULL, &error);
	g_assert_no_error (error);
	g_assert_true (ac_build_run (t, NULL, NULL, NULL, &r, &error));
	g_assert_no_error (error);
	g_assert_cmpuint (r.image_size, ==, 64 * AC_MIB);
	ac_test_assert_only (outdir,
	                     (const gchar *const[]){ "snp.img", "snp.img.manifest.json", NULL });
	check_cryptsetup (r.image_path, r.passphrase, r.luks_uuid, 16 * AC_MIB);
	decrypt_independently (r.image_path, r.passphrase, f->dir, dec);
	check_filesystem (dec, "/etc/hello", "hello from the SNP root\n");
	check_filesystem (dec, "/etc/role", "snp\n");
	g_assert_true (g_file_get_contents (r.manifest_path, &man, NULL, NULL));
	g_assert_null (strstr (man, r.passphrase->data));
	g_assert_true (json_parser_load_from_data (parser, man, -1, &error));
	{
		JsonObject *o = json_node_get_object (json_parser_get_root (parser));
		JsonObject *layout = json_object_get_object_member (o, "layout");
		g_assert_cmpstr (json_object_get_string_member (layout, "type"), ==, "luks2-root");
		g_assert_cmpstr (json_object_get_string_member (
		                     json_object_get_object_member (layout, "luks"), "uuid"),
		                 ==, r.luks_uuid);
		g_assert_cmpstr (json_object_get_string_member (
		                     json_object_get_object_member (o, "image"), "sha256"),
		                 ==, r.image_sha256);
	}
}

int
main (int argc, char **argv)
{
	g_test_init (&argc, &argv, NULL);
	g_test_add ("/builder/luks2/assemble-independent", Fixture, NULL, fixture_setup,
	            test_assemble_independent, fixture_teardown);
	g_test_add ("/builder/luks2/verify-rejects", Fixture, NULL, fixture_setup,
	            test_verify_rejects, fixture_teardown);
	g_test_add ("/builder/luks2/refusals", Fixture, NULL, fixture_setup, test_refusals,
	            fixture_teardown);
	g_test_add ("/builder/luks2/build-from-image", Fixture, NULL, fixture_setup,
	            test_build_from_image, fixture_teardown);
	return g_test_run ();
}
