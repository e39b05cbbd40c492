/*
 * virt-aleph build, as a user runs it: exit codes and messages that name the template field,
 * the passphrase handed in and out, a libvirt domain's disk as the source (libvirt's test
 * driver: no daemon), and SIGTERM in the middle of a build (exit 130, nothing left behind).
 * argv[1] is the virt-aleph binary. Needs root for the chroot.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <json-glib/json-glib.h>
#include <glib/gstdio.h>
#include <pty.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
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

static JsonObject *
parse_json_object (const gchar *text)
{
	g_autoptr (JsonParser) p = json_parser_new ();
	g_autoptr (GError) error = NULL;
	g_assert_true (json_parser_load_from_data (p, text, -1, &error));
	g_assert_no_error (error);
	g_assert_true (JSON_NODE_HOLDS_OBJECT (json_parser_get_root (p)));
	return json_object_ref (json_node_get_object (json_parser_get_root (p)));
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
	/* a template in Packer's own shape: one message saying what the format is, for build and
	 * validate alike */
	ac_test_write (dir, "t.json",
		       "{ \"builders\": [ { \"type\": \"qemu\", \"iso_url\": \"{{user `iso`}}\" } ],"
		       "  \"post-processors\": [ { \"type\": \"manifest\" } ] }", 0644);
	for (guint i = 0; i < 2; i++) {
		const gchar *verb[] = { "build", "validate" };
		const gchar *argv_build[] = { "build", tpl, NULL };
		const gchar *argv_validate[] = { "build", "validate", tpl, NULL };
		g_test_message ("%s", verb[i]);
		g_assert_cmpint (run_cli (i == 0 ? argv_build : argv_validate, NULL, &out, &err), ==, 2);
		g_assert_nonnull (strstr (err, "a Packer template (top-level 'builders', "
					       "'post-processors', '{{user ...}}')"));
		g_assert_nonnull (strstr (err, "Packer-style templates, not Packer-compatible"));
		g_assert_nonnull (strstr (err, "docs/builder.md"));
		g_assert_null (strstr (err, "unknown member"));
	}
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
	/* one line, as every passphrase file: a second one is refused before anything is built */
	g_assert_cmpint (
	    run_cli ((const gchar *const[]){ "build", "--passphrase-stdin", "--force",
	                                     "--passphrase-out", pfile, "--no-cid", tpl, NULL },
	             "typed passphrase\nsecond line\n", &out, &err),
	    ==, 2);
	g_assert_nonnull (
	    strstr (err, "--passphrase-stdin: standard input holds more than one line"));
	g_assert_null (strstr (err, "typed"));
	g_clear_pointer (&got, g_free);
	g_assert_true (g_file_get_contents (pfile, &got, NULL, NULL));
	g_assert_cmpstr (got, ==, "typed passphrase");
	/* handed back on stdout: alone on its line, or as the --json document's last member,
	 * escaped (a quote and a backslash are printable ASCII) */
	g_assert_cmpint (
	    run_cli ((const gchar *const[]){ "--quiet", "build", "--passphrase-stdin", "--force",
	                                     "--passphrase-out", "-", "--no-cid", tpl, NULL },
	             "a \"quoted\" \\ one\n", &out, &err),
	    ==, 0);
	g_assert_cmpstr (out, ==, "a \"quoted\" \\ one\n");
	g_assert_cmpint (
	    run_cli ((const gchar *const[]){ "--json", "--quiet", "build", "--passphrase-stdin",
	                                     "--force", "--passphrase-out", "-", "--no-cid", tpl,
	                                     NULL },
	             "a \"quoted\" \\ one\n", &out, &err),
	    ==, 0);
	g_assert_true (g_str_has_suffix (out, ",\"passphrase\":\"a \\\"quoted\\\" \\\\ one\"}\n"));
	{
		g_autoptr (JsonObject) o = parse_json_object (out);
		g_assert_cmpstr (json_object_get_string_member (o, "passphrase"), ==,
		                 "a \"quoted\" \\ one");
		g_assert_true (
		    g_str_has_suffix (json_object_get_string_member (o, "image"), "/out/d.img"));
	}
	/* without --passphrase-stdin a from_caller template is refused */
	g_assert_cmpint (run_cli ((const gchar *const[]){ "build", "--force", tpl, NULL }, NULL, &out, &err), ==, 2);
	g_assert_nonnull (strstr (err, "passphrase.from_caller"));
	ac_test_rm_rf (dir);
}

/* a template's passphrase.file: read by the rule of every passphrase file, refused when group
 * or others may read it (checked on the file opened) */
static void
test_cli_passphrase_file (void)
{
	g_autofree gchar *dir = NULL;
	g_autofree gchar *tree = NULL;
	g_autofree gchar *tpl = NULL;
	g_autofree gchar *pfile = NULL;
	g_autofree gchar *out = NULL;
	g_autofree gchar *err = NULL;

	if (!can_run ())
		return;
	dir = ac_test_mkdtemp ();
	tree = make_tree (dir);
	tpl = g_build_filename (dir, "t.json", NULL);
	pfile = g_build_filename (dir, "disk.pass", NULL);
	ac_test_write (dir, "t.json",
	               "{ \"source\": { \"type\": \"directory\", \"path\": \"tree\" },"
	               "  \"disk\": { \"size\": \"96MiB\", \"esp_size\": \"8MiB\", \"luks\": { "
	               "\"pbkdf_iterations\": 1000 } },"
	               "  \"passphrase\": { \"file\": \"disk.pass\" },"
	               "  \"output\": { \"path\": \"out/d.img\" } }",
	               0644);
	ac_test_write (dir, "disk.pass", "from the file\n", 0644);
	g_assert_cmpint (run_cli ((const gchar *const[]){ "build", "--passphrase-out", "-",
	                                                  "--no-cid", tpl, NULL },
	                          NULL, &out, &err),
	                 ==, 9);
	g_assert_nonnull (strstr (err, "passphrase.file: "));
	g_assert_nonnull (strstr (err, "disk.pass has mode 0644: expected no access for group "
	                               "and others (chmod 600 "));
	g_assert_null (strstr (err, "from the file"));
	g_assert_cmpstr (out, ==, "");
	{
		g_autofree gchar *img = g_build_filename (dir, "out", "d.img", NULL);
		g_assert_false (g_file_test (img, G_FILE_TEST_EXISTS));
	}
	g_assert_cmpint (g_chmod (pfile, 0600), ==, 0);
	g_assert_cmpint (run_cli ((const gchar *const[]){ "--quiet", "build", "--passphrase-out",
	                                                  "-", "--no-cid", tpl, NULL },
	                          NULL, &out, &err),
	                 ==, 0);
	g_assert_cmpstr (out, ==, "from the file\n");
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

static const gchar check_template[]
    = "{ \"name\": \"check\", \"variables\": { \"size\": \"1GiB\", \"tree\": \"tree\", \"spare\": "
      "\"x\" },"
      "  \"source\": { \"type\": \"directory\", \"path\": \"${var.tree}\" },"
      "  \"provisioners\": [ { \"type\": \"file\", \"source\": \"motd\", \"destination\": "
      "\"/etc/motd\" },"
      "                      { \"type\": \"shell\", \"script\": \"setup.sh\" },"
      "                      { \"type\": \"aleph\" } ],"
      "  \"disk\": { \"size\": \"${var.size}\" },"
      "  \"passphrase\": { \"file\": \"pass.txt\" },"
      "  \"output\": { \"path\": \"out/c.img\" },"
      "  \"publish\": { \"account\": \"key.hex\" } }";

/* a template on standard input ("-"), its relative paths from the current directory; standard
 * input read once: the template, a --var-file and --passphrase-stdin cannot share it */
static void
test_cli_stdin (void)
{
	g_autofree gchar *dir = ac_test_mkdtemp ();
	g_autofree gchar *tree = make_tree (dir);
	g_autofree gchar *tpl
	    = g_strdup_printf ("{ \"variables\": { \"size\": \"96MiB\" },"
	                       "  \"source\": { \"type\": \"directory\", \"path\": \"%s\" },"
	                       "  \"disk\": { \"size\": \"${var.size}\", \"esp_size\": \"8MiB\" },"
	                       "  \"output\": { \"path\": \"%s/d.img\" } }",
	                       tree, dir);
	g_autofree gchar *vf = g_build_filename (dir, "v", NULL);
	g_autofree gchar *out = NULL;
	g_autofree gchar *err = NULL;
	g_autoptr (JsonObject) o = NULL;

	g_assert_cmpint (
	    run_cli ((const gchar *const[]){ "--json", "build", "validate", "-", NULL }, tpl, &out,
	             &err),
	    ==, 0);
	o = parse_json_object (out);
	g_assert_true (json_object_get_boolean_member (o, "valid"));
	g_assert_cmpstr (json_object_get_string_member (o, "template"), ==, "-");
	/* a --var-file on standard input, the template from a file */
	ac_test_write (dir, "t.json", tpl, 0644);
	g_clear_pointer (&vf, g_free);
	vf = g_build_filename (dir, "t.json", NULL);
	g_assert_cmpint (run_cli ((const gchar *const[]){ "--json", "build", "inspect",
	                                                  "--var-file", "-", vf, NULL },
	                          "size=1GiB\n", &out, &err),
	                 ==, 0);
	g_clear_pointer (&o, json_object_unref);
	o = parse_json_object (out);
	g_assert_cmpint (
	    json_object_get_int_member (json_object_get_object_member (o, "disk"), "size"), ==,
	    1073741824);
	/* two readers of standard input: refused before anything is read or built */
	g_assert_cmpint (
	    run_cli ((const gchar *const[]){ "build", "validate", "--var-file", "-", "-", NULL },
	             tpl, &out, &err),
	    ==, 2);
	g_assert_cmpstr (err, ==,
	                 "virt-aleph: the template (-) and --var-file - both read standard input: "
	                 "give one of them a file\n");
	g_assert_cmpint (run_cli ((const gchar *const[]){ "build", "--passphrase-stdin",
	                                                  "--passphrase-out", "-", "-", NULL },
	                          tpl, &out, &err),
	                 ==, 2);
	g_assert_cmpstr (err, ==,
	                 "virt-aleph: the template (-) and --passphrase-stdin both read standard "
	                 "input: give one of them a file\n");
	{
		g_autofree gchar *img = g_build_filename (dir, "d.img", NULL);
		g_assert_false (g_file_test (img, G_FILE_TEST_EXISTS));
	}
	ac_test_rm_rf (dir);
}

/* validate: every file reference is checked (all problems named, not the first only), nothing
 * is built; syntax and schema errors are exit 2, missing files exit 10 */
static void
test_cli_validate (void)
{
	g_autofree gchar *dir = ac_test_mkdtemp ();
	g_autofree gchar *tpl = g_build_filename (dir, "t.json", NULL);
	g_autofree gchar *bad = g_build_filename (dir, "bad.json", NULL);
	g_autofree gchar *outdir = g_build_filename (dir, "out", NULL);
	g_autofree gchar *tree = g_build_filename (dir, "tree", NULL);
	g_autofree gchar *out = NULL;
	g_autofree gchar *err = NULL;
	g_autoptr (JsonObject) o = NULL;
	JsonArray *a;

	ac_test_write (dir, "t.json", check_template, 0644);
	g_assert_cmpint (
	    run_cli ((const gchar *const[]){ "build", "validate", tpl, NULL }, NULL, &out, &err),
	    ==, 10);
	g_assert_cmpstr (out, ==, "");
	g_assert_nonnull (strstr (err, "5 missing or unusable file references"));
	g_assert_nonnull (strstr (err, "source.path '"));
	g_assert_nonnull (strstr (err, "provisioners[0].source '"));
	g_assert_nonnull (strstr (err, "provisioners[1].script '"));
	g_assert_nonnull (strstr (err, "passphrase.file '"));
	g_assert_nonnull (strstr (err, "publish.account '"));
	g_assert_cmpint (
	    run_cli ((const gchar *const[]){ "--json", "build", "validate", tpl, NULL }, NULL, &out,
	             &err),
	    ==, 10);
	o = parse_json_object (out);
	g_assert_false (json_object_get_boolean_member (o, "valid"));
	g_assert_cmpuint (json_array_get_length (json_object_get_array_member (o, "problems")), ==,
	                  5);
	g_clear_pointer (&o, json_object_unref);

	/* the files in place: valid; the unused variable is a warning */
	g_assert_cmpint (g_mkdir (tree, 0755), ==, 0);
	ac_test_write (dir, "motd", "hi\n", 0644);
	ac_test_write (dir, "setup.sh", "true\n", 0755);
	ac_test_write (dir, "pass.txt", "a passphrase of some length", 0600);
	ac_test_write (dir, "key.hex", "00", 0600);
	g_assert_cmpint (
	    run_cli ((const gchar *const[]){ "build", "validate", tpl, NULL }, NULL, &out, &err),
	    ==, 0);
	g_assert_true (g_str_has_prefix (out, tpl));
	g_assert_nonnull (strstr (out, ": valid (sha256 "));
	g_assert_nonnull (
	    strstr (err, "warning: variables.spare is declared but no string uses ${var.spare}"));
	g_assert_cmpint (
	    run_cli ((const gchar *const[]){ "--json", "build", "validate", tpl, NULL }, NULL, &out,
	             &err),
	    ==, 0);
	o = parse_json_object (out);
	g_assert_true (json_object_get_boolean_member (o, "valid"));
	g_assert_cmpuint (strlen (json_object_get_string_member (o, "sha256")), ==, 64);
	a = json_object_get_array_member (o, "warnings");
	g_assert_cmpuint (json_array_get_length (a), ==, 1);
	g_clear_pointer (&o, json_object_unref);
	/* nothing built, not even the output's folder */
	g_assert_false (g_file_test (outdir, G_FILE_TEST_EXISTS));
	/* a variable that points the source elsewhere is checked after substitution */
	g_assert_cmpint (run_cli ((const gchar *const[]){ "build", "validate", "--var",
	                                                  "tree=elsewhere", tpl, NULL },
	                          NULL, &out, &err),
	                 ==, 10);
	g_assert_nonnull (strstr (err, "1 missing or unusable file reference: source.path '"));
	g_assert_nonnull (strstr (err, "elsewhere': no such file or directory"));
	/* a value the schema refuses, after substitution */
	g_assert_cmpint (run_cli ((const gchar *const[]){ "--json", "build", "validate", "--var",
	                                                  "size=1 parsec", tpl, NULL },
	                          NULL, &out, &err),
	                 ==, 2);
	o = parse_json_object (out);
	g_assert_false (json_object_get_boolean_member (o, "valid"));
	g_assert_nonnull (strstr (
	    json_object_get_string_member (json_object_get_object_member (o, "error"), "message"),
	    "template field 'disk.size'"));
	g_clear_pointer (&o, json_object_unref);
	/* syntax */
	ac_test_write (dir, "bad.json", "{ \"source\": ", 0644);
	g_assert_cmpint (
	    run_cli ((const gchar *const[]){ "build", "validate", bad, NULL }, NULL, &out, &err),
	    ==, 2);
	g_assert_nonnull (strstr (err, "template is not valid JSON"));
	/* a member the schema does not have */
	ac_test_write (dir, "bad.json",
	               "{ \"source\": { \"type\": \"directory\", \"path\": \"tree\" }, \"disk\": { "
	               "\"size\": \"1GiB\" },"
	               "  \"output\": { \"path\": \"o.img\" }, \"publish\": { \"pin\": true } }",
	               0644);
	g_assert_cmpint (
	    run_cli ((const gchar *const[]){ "build", "validate", bad, NULL }, NULL, &out, &err),
	    ==, 2);
	g_assert_nonnull (strstr (err, "template field 'publish.pin': unknown member"));
	/* an output that exists: build would need --force */
	g_assert_cmpint (g_mkdir (outdir, 0755), ==, 0);
	ac_test_write (outdir, "c.img", "", 0644);
	g_assert_cmpint (
	    run_cli ((const gchar *const[]){ "build", "validate", tpl, NULL }, NULL, &out, &err),
	    ==, 0);
	g_assert_nonnull (
	    strstr (err, "c.img' exists: build refuses to replace it without --force"));
	ac_test_rm_rf (dir);
}

/* inspect: variables with their defaults, values and where each value comes from, the source,
 * the provisioners and the outputs, after substitution */
static void
test_cli_inspect (void)
{
	g_autofree gchar *dir = ac_test_mkdtemp ();
	g_autofree gchar *tpl = g_build_filename (dir, "t.json", NULL);
	g_autofree gchar *vf = g_build_filename (dir, "vars.txt", NULL);
	g_autofree gchar *tree = g_build_filename (dir, "tree", NULL);
	g_autofree gchar *img = g_build_filename (dir, "out", "c.img", NULL);
	g_autofree gchar *out = NULL;
	g_autofree gchar *err = NULL;
	g_autoptr (JsonObject) o = NULL;
	JsonArray *vars, *provs;
	JsonObject *v, *outputs;

	ac_test_write (dir, "t.json", check_template, 0644);
	ac_test_write (dir, "vars.txt", "# sizes\nsize=2GiB\n", 0644);
	/* inspect does not need the files */
	g_assert_cmpint (
	    run_cli ((const gchar *const[]){ "--json", "build", "inspect", "--var-file", vf,
	                                     "--var", "spare=y", tpl, NULL },
	             NULL, &out, &err),
	    ==, 0);
	o = parse_json_object (out);
	g_assert_cmpstr (json_object_get_string_member (o, "name"), ==, "check");
	vars = json_object_get_array_member (o, "variables");
	g_assert_cmpuint (json_array_get_length (vars), ==, 3);
	v = json_array_get_object_element (vars, 0);
	g_assert_cmpstr (json_object_get_string_member (v, "name"), ==, "size");
	g_assert_cmpstr (json_object_get_string_member (v, "default"), ==, "1GiB");
	g_assert_cmpstr (json_object_get_string_member (v, "value"), ==, "2GiB");
	g_assert_true (
	    g_str_has_suffix (json_object_get_string_member (v, "from"), "vars.txt line 2"));
	v = json_array_get_object_element (vars, 1);
	g_assert_cmpstr (json_object_get_string_member (v, "from"), ==, "default");
	g_assert_true (json_object_get_boolean_member (v, "used"));
	v = json_array_get_object_element (vars, 2);
	g_assert_cmpstr (json_object_get_string_member (v, "value"), ==, "y");
	g_assert_cmpstr (json_object_get_string_member (v, "from"), ==, "--var");
	g_assert_false (json_object_get_boolean_member (v, "used"));
	g_assert_cmpstr (
	    json_object_get_string_member (json_object_get_object_member (o, "source"), "type"), ==,
	    "directory");
	g_assert_cmpstr (
	    json_object_get_string_member (json_object_get_object_member (o, "source"), "path"), ==,
	    tree);
	provs = json_object_get_array_member (o, "provisioners");
	g_assert_cmpuint (json_array_get_length (provs), ==, 3);
	g_assert_cmpstr (
	    json_object_get_string_member (json_array_get_object_element (provs, 0), "destination"),
	    ==, "/etc/motd");
	g_assert_cmpstr (
	    json_object_get_string_member (json_array_get_object_element (provs, 1), "type"), ==,
	    "shell");
	/* published for Aleph's SEV firmware: the aleph provisioner is required */
	g_assert_cmpstr (
	    json_object_get_string_member (json_array_get_object_element (provs, 2), "type"), ==,
	    "aleph");
	g_assert_cmpint (
	    json_object_get_int_member (json_object_get_object_member (o, "disk"), "size"), ==,
	    2LL << 30);
	outputs = json_object_get_object_member (o, "outputs");
	g_assert_cmpstr (json_object_get_string_member (outputs, "image"), ==, img);
	g_assert_true (g_str_has_suffix (json_object_get_string_member (outputs, "manifest"),
	                                 "c.img.manifest.json"));
	g_assert_true (json_object_has_member (outputs, "publish"));
	/* text */
	g_assert_cmpint (
	    run_cli ((const gchar *const[]){ "build", "inspect", tpl, NULL }, NULL, &out, &err), ==,
	    0);
	g_assert_nonnull (strstr (out, "  size = \"1GiB\" (default \"1GiB\"; from default)\n"));
	g_assert_nonnull (strstr (out, "  spare = \"x\" (default \"x\"; from default; unused)\n"));
	g_assert_nonnull (strstr (out, "  1. file "));
	g_assert_nonnull (strstr (out, "  2. shell script "));
	g_assert_nonnull (strstr (out, img));
	g_assert_nonnull (strstr (out, "bytes, ESP "));
	g_clear_pointer (&out, g_free);
	g_clear_pointer (&err, g_free);
	/* the SEV-SNP layout: named, and no ESP */
	ac_test_write (dir, "snp.json",
	               "{ \"source\": { \"type\": \"directory\", \"path\": \"tree\" },"
	               "  \"disk\": { \"layout\": \"luks2-root\", \"size\": \"1GiB\" },"
	               "  \"output\": { \"path\": \"snp.img\" } }",
	               0644);
	{
		g_autofree gchar *snp = g_build_filename (dir, "snp.json", NULL);
		g_autoptr (JsonObject) so = NULL;
		JsonObject *disk;
		g_assert_cmpint (run_cli ((const gchar *const[]){ "--json", "build", "inspect", snp,
		                                                  NULL },
		                          NULL, &out, &err),
		                 ==, 0);
		so = parse_json_object (out);
		disk = json_object_get_object_member (so, "disk");
		g_assert_cmpstr (json_object_get_string_member (disk, "layout"), ==, "luks2-root");
		g_assert_false (json_object_has_member (disk, "esp_size"));
		g_clear_pointer (&out, g_free);
		g_clear_pointer (&err, g_free);
		g_assert_cmpint (
		    run_cli ((const gchar *const[]){ "build", "inspect", snp, NULL }, NULL, &out, &err),
		    ==, 0);
		g_assert_nonnull (strstr (out, "bytes, luks2-root (no ESP): ext4 in LUKS2 aes-xts-plain64"));
	}
	ac_test_rm_rf (dir);
}

/* --var-file: JSON or NAME=VALUE lines; every mistake names the file and the line */
static void
test_cli_var_file (void)
{
	g_autofree gchar *dir = ac_test_mkdtemp ();
	g_autofree gchar *tpl = g_build_filename (dir, "t.json", NULL);
	g_autofree gchar *vf = g_build_filename (dir, "v", NULL);
	g_autofree gchar *vf2 = g_build_filename (dir, "v2", NULL);
	g_autofree gchar *out = NULL;
	g_autofree gchar *err = NULL;
	g_autofree gchar *expect = NULL;
	static const struct {
		const gchar *content;
		const gchar *message; /* after "virt-aleph: FILE" */
	} bad[] = {
		{ "size=2G\nnope=1\n", " line 2: variable 'nope': the template declares no such "
		                       "variable in 'variables'" },
		{ "# ok\n\nsize 2G\n", " line 3: expected NAME=VALUE (or a '#' comment)" },
		{ "=2G\n", " line 1: expected NAME=VALUE (or a '#' comment)" },
		{ "size=2G\r\ntree=a\r\nsize=3G\r\n",
		  " line 3: variable 'size' is set again (first by " },
		{ "9x=1\n", " line 1: '9x': expected a variable name" },
		{ "{\n  \"size\": \"2G\",\n  \"size\": \"3G\"\n}\n",
		  " line 3: member 'size' is set again (first on line 2)" },
		{ "{\n  \"size\": 4\n}\n",
		  " line 2: variable 'size': an integer: expected a string" },
		{ "{\n  \"size\": \"2G\",\n  \"nope\": \"1\"\n}",
		  " line 3: variable 'nope': the template declares no such variable" },
		{ "{ \"size\": ", ": not valid JSON" },
		{ "  {}  x", ": not valid JSON" },
		{ "size=\xff\n", ": not UTF-8 text" },
	};
	g_autoptr (JsonObject) o = NULL;

	ac_test_write (dir, "t.json", check_template, 0644);
	for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
		ac_test_write (dir, "v", bad[i].content, 0644);
		g_assert_cmpint (run_cli ((const gchar *const[]){ "build", "inspect", "--var-file",
		                                                  vf, tpl, NULL },
		                          NULL, &out, &err),
		                 ==, 2);
		g_free (expect);
		expect = g_strdup_printf ("virt-aleph: %s%s", vf, bad[i].message);
		if (!g_str_has_prefix (err, expect))
			g_error ("case %u: got %s, expected %s…", i, err, expect);
	}
	/* JSON and lines give the same values; --var overrides a file's value */
	ac_test_write (dir, "v", "{ \"size\": \"3GiB\", \"tree\": \"t=2\" }", 0644);
	ac_test_write (dir, "v2", "spare=a b=c\n", 0644);
	g_assert_cmpint (
	    run_cli ((const gchar *const[]){ "--json", "build", "inspect", "--var-file", vf,
	                                     "--var-file", vf2, "--var", "size=4GiB", tpl, NULL },
	             NULL, &out, &err),
	    ==, 0);
	o = parse_json_object (out);
	g_assert_cmpint (
	    json_object_get_int_member (json_object_get_object_member (o, "disk"), "size"), ==,
	    4LL << 30);
	g_assert_true (g_str_has_suffix (
	    json_object_get_string_member (json_object_get_object_member (o, "source"), "path"),
	    "/t=2"));
	g_assert_cmpstr (
	    json_object_get_string_member (
	        json_array_get_object_element (json_object_get_array_member (o, "variables"), 2),
	        "value"),
	    ==, "a b=c");
	/* a name in two files */
	ac_test_write (dir, "v2", "size=1G\n", 0644);
	g_assert_cmpint (run_cli ((const gchar *const[]){ "build", "--var-file", vf, "--var-file",
	                                                  vf2, tpl, NULL },
	                          NULL, &out, &err),
	                 ==, 2);
	g_free (expect);
	expect = g_strdup_printf (
	    "virt-aleph: %s line 1: variable 'size' is set again (first by %s line 1)\n", vf2, vf);
	g_assert_cmpstr (err, ==, expect);
	g_assert_cmpint (run_cli ((const gchar *const[]){ "build", "validate", "--var-file",
	                                                  "/nonexistent/v", tpl, NULL },
	                          NULL, &out, &err),
	                 ==, 10);
	ac_test_rm_rf (dir);
}

static const gchar failing_template[]
    = "{ \"source\": { \"type\": \"directory\", \"path\": \"nosuch\" },"
      "  \"disk\": { \"size\": \"96MiB\", \"esp_size\": \"8MiB\" },"
      "  \"passphrase\": { \"generate\": 16 },"
      "  \"output\": { \"path\": \"out/f.img\" } }";

static guint
count_entries (const gchar *dir)
{
	g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
	guint n = 0;
	g_assert_nonnull (d);
	while (g_dir_read_name (d) != NULL)
		n++;
	return n;
}

/* the build fails in its source step, with its work directory under wd/ */
static gint
run_failing_build_on_pty (const gchar *tpl, const gchar *wd, const gchar *answer, gchar **screen)
{
	g_autoptr (GString) seen = g_string_new (NULL);
	int master = -1, status = 0;
	gboolean answered = FALSE;
	pid_t pid = forkpty (&master, NULL, NULL, NULL);
	g_assert_cmpint (pid, >=, 0);
	if (pid == 0) {
		execl (virt_aleph, virt_aleph, "--quiet", "build", "--on-error=ask", "--workdir",
		       wd, "--passphrase-out", "-", tpl, (char *)NULL);
		_exit (127);
	}
	for (;;) {
		gchar buf[512];
		ssize_t n = read (master, buf, sizeof (buf));
		if (n <= 0)
			break; /* EIO once the child is gone */
		g_string_append_len (seen, buf, n);
		if (!answered && strstr (seen->str, "Choice [c/a]? ") != NULL) {
			/* no answer: an interrupt while it asks */
			if (answer == NULL)
				g_assert_cmpint (kill (pid, SIGINT), ==, 0);
			else
				g_assert_cmpint (write (master, answer, strlen (answer)), ==,
				                 (ssize_t)strlen (answer));
			answered = TRUE;
		}
	}
	close (master);
	g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
	g_assert_true (answered);
	*screen = g_string_free (g_steal_pointer (&seen), FALSE);
	return WIFEXITED (status) ? WEXITSTATUS (status) : -1;
}

/* --on-error: cleanup removes the failed build's work directory, abort keeps it and says
 * where, ask asks on a terminal and is refused without one */
static void
test_cli_on_error (void)
{
	g_autofree gchar *dir = ac_test_mkdtemp ();
	g_autofree gchar *tpl = g_build_filename (dir, "f.json", NULL);
	g_autofree gchar *wd = g_build_filename (dir, "wd", NULL);
	g_autofree gchar *out = NULL;
	g_autofree gchar *err = NULL;
	g_autofree gchar *screen = NULL;
	g_autoptr (JsonObject) o = NULL;
	const gchar *kept;

	ac_test_write (dir, "f.json", failing_template, 0644);
	g_assert_cmpint (g_mkdir (wd, 0755), ==, 0);
	ac_test_write (dir, "wd/mine", "the user's file", 0644);
	/* cleanup (the default): nothing of the build stays, the user's file does */
	g_assert_cmpint (run_cli ((const gchar *const[]){ "build", "--workdir", wd,
	                                                  "--passphrase-out", "-", tpl, NULL },
	                          NULL, &out, &err),
	                 ==, 10);
	g_assert_cmpuint (count_entries (wd), ==, 1);
	g_assert_cmpint (
	    run_cli ((const gchar *const[]){ "build", "--on-error=cleanup", "--workdir", wd,
	                                     "--passphrase-out", "-", tpl, NULL },
	             NULL, &out, &err),
	    ==, 10);
	g_assert_cmpuint (count_entries (wd), ==, 1);
	/* abort: kept, and the message and the JSON say where */
	g_assert_cmpint (
	    run_cli ((const gchar *const[]){ "--json", "build", "--on-error=abort", "--workdir", wd,
	                                     "--passphrase-out", "-", tpl, NULL },
	             NULL, &out, &err),
	    ==, 10);
	o = parse_json_object (out);
	kept = json_object_get_string_member (o, "kept");
	g_assert_true (g_str_has_prefix (kept, wd));
	g_assert_true (g_file_test (kept, G_FILE_TEST_IS_DIR));
	g_assert_nonnull (strstr (
	    json_object_get_string_member (json_object_get_object_member (o, "error"), "message"),
	    "kept for inspection in "));
	g_assert_cmpuint (count_entries (wd), ==, 2);
	ac_test_rm_rf (kept);
	/* ask without a terminal (the test's pipes): refused before anything is built */
	g_assert_cmpint (run_cli ((const gchar *const[]){ "build", "--on-error=ask", "--workdir",
	                                                  wd, "--passphrase-out", "-", tpl, NULL },
	                          NULL, &out, &err),
	                 ==, 2);
	g_assert_cmpstr (
	    err, ==,
	    "virt-aleph: --on-error=ask: standard input and standard error are not both a "
	    "terminal, so nobody could answer the question: use --on-error=cleanup or "
	    "--on-error=abort\n");
	g_assert_cmpuint (count_entries (wd), ==, 1);
	/* ask on a terminal: "a" keeps, "c" removes */
	g_assert_cmpint (run_failing_build_on_pty (tpl, wd, "a\n", &screen), ==, 10);
	g_assert_nonnull (strstr (screen, "the build failed: source.path '"));
	g_assert_nonnull (strstr (screen, "kept for inspection in "));
	g_assert_cmpuint (count_entries (wd), ==, 2);
	g_clear_pointer (&screen, g_free);
	g_assert_cmpint (run_failing_build_on_pty (tpl, wd, "c\n", &screen), ==, 10);
	g_assert_null (strstr (screen, "kept for inspection"));
	g_assert_cmpuint (count_entries (wd), ==, 2); /* the kept one of before, no new one */
	g_clear_pointer (&screen, g_free);
	/* an interrupt while it asks: cleaned up, exit 130 */
	g_assert_cmpint (run_failing_build_on_pty (tpl, wd, NULL, &screen), ==, 130);
	g_assert_cmpuint (count_entries (wd), ==, 2);
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
	g_test_add_func ("/builder/cli/passphrase-file", test_cli_passphrase_file);
	g_test_add_func ("/builder/cli/libvirt-domain", test_cli_libvirt_domain);
	g_test_add_func ("/builder/cli/sigterm", test_cli_sigterm);
	g_test_add_func ("/builder/cli/validate", test_cli_validate);
	g_test_add_func ("/builder/cli/stdin", test_cli_stdin);
	g_test_add_func ("/builder/cli/inspect", test_cli_inspect);
	g_test_add_func ("/builder/cli/var-file", test_cli_var_file);
	g_test_add_func ("/builder/cli/on-error", test_cli_on_error);
	return g_test_run ();
}
