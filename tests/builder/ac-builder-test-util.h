/*
 * Helpers shared by the builder tests: running the independent tools (qemu-img, cryptsetup,
 * sfdisk, mtools, e2fsprogs) and making small trees.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>
#include <unistd.h>

#include "ac-builder-assemble.h"
#include "ac-secret.h"

/* Runs @argv with @input on stdin; returns the exit status (-1: could not run). */
static inline gint
ac_test_run (const gchar *const *argv, const gchar *input, gchar **out)
{
	g_autoptr(GSubprocess) proc = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *o = NULL;
	g_autofree gchar *e = NULL;
	proc = g_subprocess_newv (argv, G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE |
					G_SUBPROCESS_FLAGS_STDERR_PIPE, &error);
	if (proc == NULL) {
		g_test_message ("cannot run %s: %s", argv[0], error->message);
		return -1;
	}
	if (!g_subprocess_communicate_utf8 (proc, input != NULL ? input : "", NULL, &o, &e, &error)) {
		g_test_message ("%s: %s", argv[0], error->message);
		return -1;
	}
	if (!g_subprocess_get_if_exited (proc))
		return -1;
	if (g_subprocess_get_exit_status (proc) != 0)
		g_test_message ("%s exited %d: %s%s", argv[0], g_subprocess_get_exit_status (proc),
				o != NULL ? o : "", e != NULL ? e : "");
	if (out != NULL)
		*out = g_steal_pointer (&o);
	return g_subprocess_get_exit_status (proc);
}

static inline gboolean
ac_test_have (const gchar *tool)
{
	g_autofree gchar *p = g_find_program_in_path (tool);
	return p != NULL;
}

static inline void
ac_test_write (const gchar *dir, const gchar *rel, const gchar *content, guint mode)
{
	g_autofree gchar *path = g_build_filename (dir, rel, NULL);
	g_autofree gchar *parent = g_path_get_dirname (path);
	g_autoptr(GError) error = NULL;
	g_assert_cmpint (g_mkdir_with_parents (parent, 0755), ==, 0);
	g_file_set_contents (path, content, -1, &error);
	g_assert_no_error (error);
	g_assert_cmpint (g_chmod (path, mode), ==, 0);
}

static inline gchar *
ac_test_mkdtemp (void)
{
	g_autoptr(GError) error = NULL;
	gchar *dir = g_dir_make_tmp ("ac-builder-test-XXXXXX", &error);
	g_assert_no_error (error);
	return dir;
}

static inline void
ac_test_rm_rf (const gchar *path)
{
	const gchar *argv[] = { "rm", "-rf", "--one-file-system", path, NULL };
	if (path != NULL)
		ac_test_run (argv, NULL, NULL);
}

/* nothing is mounted below @dir any more */
static inline void
ac_test_assert_no_mounts_under (const gchar *dir)
{
	g_autofree gchar *mi = NULL;
	g_assert_true (g_file_get_contents ("/proc/self/mountinfo", &mi, NULL, NULL));
	g_assert_null (strstr (mi, dir));
}

/* @dir holds exactly @names (a missing @dir holds nothing) */
static inline void
ac_test_assert_only (const gchar *dir, const gchar *const *names)
{
	g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
	const gchar *name;
	guint n = 0;
	while (d != NULL && (name = g_dir_read_name (d)) != NULL) {
		if (!g_strv_contains (names, name))
			g_error ("unexpected leftover %s/%s", dir, name);
		n++;
	}
	g_assert_cmpuint (n, ==, g_strv_length ((gchar **)names));
}

/* a busybox tree in @tree: /bin/busybox, /bin/sh and a link for each of @tools */
static inline void
ac_test_busybox_tree (const gchar *tree, const gchar *const *tools)
{
	g_autofree gchar *bin = g_build_filename (tree, "bin", NULL);
	g_autofree gchar *bb = g_build_filename (bin, "busybox", NULL);
	g_autofree gchar *sh = g_build_filename (bin, "sh", NULL);
	const gchar *cp[] = { "cp", "/bin/busybox", bb, NULL };
	g_assert_cmpint (g_mkdir_with_parents (bin, 0755), ==, 0);
	g_assert_cmpint (ac_test_run (cp, NULL, NULL), ==, 0);
	g_assert_cmpint (symlink ("busybox", sh), ==, 0);
	for (const gchar *const *t = tools; *t != NULL; t++) {
		g_autofree gchar *l = g_build_filename (bin, *t, NULL);
		g_assert_cmpint (symlink ("busybox", l), ==, 0);
	}
}

/* the build tests' fixture: a scratch directory, the source "tree" in it, the image "out/disk.img" */
typedef struct {
	gchar *dir;
	gchar *tree;
	gchar *out;
} AcTestBuildFixture;

/* makes the scratch directory and, with root and busybox, a busybox tree of @tools with an
 * os-release, a hostname and a kernel; returns whether the tree was made */
static inline gboolean
ac_test_build_fixture_setup (AcTestBuildFixture *f, const gchar *const *tools)
{
	f->dir = ac_test_mkdtemp ();
	f->tree = g_build_filename (f->dir, "tree", NULL);
	f->out = g_build_filename (f->dir, "out", "disk.img", NULL);
	if (geteuid () != 0 || !g_file_test ("/bin/busybox", G_FILE_TEST_IS_EXECUTABLE))
		return FALSE;
	ac_test_busybox_tree (f->tree, tools);
	ac_test_write (f->tree, "etc/os-release", "ID=busybox\n", 0644);
	ac_test_write (f->tree, "etc/hostname", "guest\n", 0644);
	ac_test_write (f->tree, "boot/vmlinuz-6.1.0-test", "not a kernel", 0644);
	return TRUE;
}

static inline void
ac_test_build_fixture_teardown (AcTestBuildFixture *f, gconstpointer data)
{
	ac_test_rm_rf (f->dir);
	g_free (f->dir);
	g_free (f->tree);
	g_free (f->out);
}

/* decrypts partition 2 (the root) of @image with QEMU's LUKS driver into @dest */
static inline void
ac_test_decrypt_root (const gchar *image, const AcSecret *pass, const gchar *dir, const gchar *dest)
{
	g_autofree gchar *passfile = g_build_filename (dir, "pass", NULL);
	g_autofree gchar *json = NULL;
	g_autoptr(JsonParser) parser = json_parser_new ();
	g_autoptr(GError) error = NULL;
	const gchar *sfdisk[] = { "sfdisk", "--json", image, NULL };
	JsonObject *p2;
	g_assert_cmpint (ac_test_run (sfdisk, NULL, &json), ==, 0);
	g_assert_true (json_parser_load_from_data (parser, json, -1, &error));
	p2 = json_array_get_object_element (
		json_object_get_array_member (
			json_object_get_object_member (json_node_get_object (json_parser_get_root (parser)),
						       "partitiontable"),
			"partitions"),
		1);
	g_file_set_contents (passfile, pass->data, (gssize)pass->len, &error);
	g_assert_no_error (error);
	{
		g_autofree gchar *secret = g_strdup_printf ("secret,id=s0,file=%s", passfile);
		g_autofree gchar *opts = g_strdup_printf (
			"driver=luks,key-secret=s0,file.driver=raw,file.offset=%" G_GINT64_FORMAT
			",file.size=%" G_GINT64_FORMAT ",file.file.driver=file,file.file.filename=%s",
			json_object_get_int_member (p2, "start") * 512,
			json_object_get_int_member (p2, "size") * 512, image);
		const gchar *argv[] = { "qemu-img", "convert", "--object", secret, "--image-opts",
					opts, "-O", "raw", dest, NULL };
		g_assert_cmpint (ac_test_run (argv, NULL, NULL), ==, 0);
	}
	g_unlink (passfile);
}

/* what the assembler tests build with: the ext4 of @root labelled "rootfs", AES-256-XTS with
 * SHA-256 and the PBKDF2 minimum, no fixed date, temporaries in @work */
static inline void
ac_test_assemble_spec_init (AcAssembleSpec *spec, const gchar *root, const gchar *work)
{
	spec->root_dir = root;
	spec->fs_label = "rootfs";
	spec->luks.cipher = "aes";
	spec->luks.cipher_mode = "xts-plain64";
	spec->luks.key_bytes = 64;
	spec->luks.hash = "sha256";
	spec->luks.iterations = 1000;
	spec->source_date_epoch = -1;
	spec->workdir = work;
}
