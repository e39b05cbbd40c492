/*
 * The slow suite: a real Debian bookworm root filesystem made with debootstrap from the
 * mirror, built into an encrypted image by the Aleph provisioner, booted under TCG with QEMU
 * and OVMF from the ESP's GRUB. The passphrase is typed at GRUB's prompt over the serial
 * console; the initramfs must then reopen the root with the keyfile (no second prompt) and run
 * the marker script from the encrypted root as PID 1. Prints how long each part takes.
 * Needs root, debootstrap, network access to the mirror, qemu-system-x86_64 and OVMF.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <gio/gio.h>
#include <unistd.h>

#include "ac-builder-test-util.h"
#include "ac-builder.h"

#define PASSPHRASE "Slow test passphrase 42"

static const gchar *
find_ovmf (void)
{
	static const gchar *candidates[] = { "/usr/share/ovmf/OVMF.fd", "/usr/share/OVMF/OVMF.fd",
					     "/usr/share/qemu/OVMF.fd", NULL };
	for (guint i = 0; candidates[i] != NULL; i++) {
		if (g_file_test (candidates[i], G_FILE_TEST_EXISTS))
			return candidates[i];
	}
	return NULL;
}

static void
test_slow_boot (void)
{
	g_autofree gchar *dir = NULL;
	g_autofree gchar *data = g_test_build_filename (G_TEST_DIST, "data", "builder", "slow", NULL);
	g_autofree gchar *tpl_path = NULL;
	g_autofree gchar *img = NULL;
	g_autofree gchar *drive = NULL;
	g_autoptr(GHashTable) vars = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
	g_autoptr(AcTemplate) tpl = NULL;
	g_autoptr(AcSecret) pass = ac_secret_new (PASSPHRASE, strlen (PASSPHRASE));
	g_autoptr(GError) error = NULL;
	g_autoptr(GSubprocess) qemu = NULL;
	g_autoptr(GString) serial = g_string_new (NULL);
	g_auto(AcBuildResult) r = { 0 };
	AcBuildOptions opts = { .passphrase = pass };
	GInputStream *out;
	GOutputStream *in;
	const gchar *ovmf = find_ovmf ();
	gboolean typed = FALSE;
	gint64 t0, t_prompt = 0, t_marker = 0;
	gdouble build_s;

	if (geteuid () != 0 || !ac_test_have ("debootstrap") || !ac_test_have ("qemu-system-x86_64") ||
	    ovmf == NULL) {
		g_test_skip ("needs root, debootstrap, qemu-system-x86_64 and OVMF");
		return;
	}
	/* the mirror must answer: without it there is nothing to build (not a builder failure) */
	{
		const gchar *mirror = g_getenv ("AC_DEBIAN_MIRROR") != NULL ? g_getenv ("AC_DEBIAN_MIRROR")
									  : "http://deb.debian.org/debian";
		g_autofree gchar *url = g_strdup_printf ("%s/dists/bookworm/Release", mirror);
		const gchar *curl[] = { "curl", "-fsS", "-o", "/dev/null", "--max-time", "30", url, NULL };
		if (ac_test_have ("curl") && ac_test_run (curl, NULL, NULL) != 0) {
			g_test_skip_printf ("the Debian mirror %s does not answer", mirror);
			return;
		}
	}
	dir = ac_test_mkdtemp ();
	img = g_build_filename (dir, "disk.img", NULL);
	g_hash_table_insert (vars, g_strdup ("out"), g_strdup (img));
	if (g_getenv ("AC_DEBIAN_MIRROR") != NULL)
		g_hash_table_insert (vars, g_strdup ("mirror"), g_strdup (g_getenv ("AC_DEBIAN_MIRROR")));
	tpl_path = g_build_filename (data, "bookworm.json", NULL);
	tpl = ac_template_new_from_file (tpl_path, vars, &error);
	g_assert_no_error (error);

	t0 = g_get_monotonic_time ();
	ac_build_run (tpl, &opts, NULL, NULL, &r, &error);
	g_assert_no_error (error);
	build_s = (gdouble)(g_get_monotonic_time () - t0) / G_USEC_PER_SEC;
	g_test_message ("build: %.0f s (source %.0f, provision %.0f, assemble %.0f, verify %.0f); "
			"encryption %.0f MiB/s",
			build_s, r.step_seconds[0], r.step_seconds[1], r.step_seconds[2],
			r.step_seconds[3],
			r.encrypt_stats.elapsed_us > 0
				? (gdouble)r.encrypt_stats.bytes / r.encrypt_stats.elapsed_us * 1e6 / 1048576.0
				: 0.0);

	/* boot: OVMF → ESP GRUB → passphrase → grub.cfg on the encrypted root → kernel → initramfs */
	drive = g_strdup_printf ("file=%s,format=raw,if=virtio,snapshot=on", img);
	qemu = g_subprocess_new (G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE |
					 G_SUBPROCESS_FLAGS_STDERR_MERGE,
				 &error, "qemu-system-x86_64", "-accel", "tcg", "-machine", "q35", "-m",
				 "1024", "-smp", "1", "-bios", ovmf, "-drive", drive, "-display", "none",
				 "-serial", "stdio", "-monitor", "none", "-no-reboot", "-net", "none",
				 NULL);
	g_assert_no_error (error);
	out = g_subprocess_get_stdout_pipe (qemu);
	in = g_subprocess_get_stdin_pipe (qemu);
	t0 = g_get_monotonic_time ();
	while (g_get_monotonic_time () - t0 < 900 * G_USEC_PER_SEC) {
		gchar buf[4096];
		gssize n = g_pollable_input_stream_read_nonblocking (G_POLLABLE_INPUT_STREAM (out), buf,
								     sizeof (buf), NULL, NULL);
		if (n == 0)
			break;
		if (n < 0) {
			/* nothing to read yet (QEMU's exit closes the pipe: n == 0 above) */
			g_usleep (100 * 1000);
			continue;
		}
		g_string_append_len (serial, buf, n);
		if (!typed && strstr (serial->str, "Enter passphrase for") != NULL) {
			/* type it as a person would, one key at a time */
			g_usleep (500 * 1000);
			for (const gchar *c = PASSPHRASE; *c != '\0'; c++) {
				g_assert_true (g_output_stream_write_all (in, c, 1, NULL, NULL, &error));
				g_output_stream_flush (in, NULL, NULL);
				g_usleep (30 * 1000);
			}
			g_assert_true (g_output_stream_write_all (in, "\r", 1, NULL, NULL, &error));
			g_output_stream_flush (in, NULL, NULL);
			typed = TRUE;
			t_prompt = g_get_monotonic_time ();
		}
		if (strstr (serial->str, "AC-BOOT-MARKER root=") != NULL &&
		    strchr (strstr (serial->str, "AC-BOOT-MARKER root="), '\n') != NULL) {
			t_marker = g_get_monotonic_time ();
			break;
		}
	}
	g_subprocess_force_exit (qemu);
	g_subprocess_wait (qemu, NULL, NULL);
	if (t_marker == 0) {
		gsize len = serial->len;
		g_test_message ("serial console (tail):\n%s", len > 4000 ? serial->str + len - 4000 : serial->str);
	}
	g_assert_true (typed);
	g_assert_cmpint (t_marker, >, 0);
	/* the root is the unlocked LUKS volume, opened by the initramfs without asking again */
	g_assert_nonnull (strstr (serial->str, "AC-BOOT-MARKER root=/dev/mapper/cr_root"));
	g_assert_nonnull (strstr (serial->str, "cryptsetup: cr_root: set up successfully"));
	g_assert_null (strstr (serial->str, "Please unlock disk"));
	g_test_message ("boot under TCG: passphrase prompt after %.0f s, marker after %.0f s",
			(gdouble)(t_prompt - t0) / G_USEC_PER_SEC, (gdouble)(t_marker - t0) / G_USEC_PER_SEC);
	ac_test_rm_rf (dir);
}

int
main (int argc, char **argv)
{
	g_test_init (&argc, &argv, NULL);
	g_test_add_func ("/builder/slow/debootstrap-build-boot", test_slow_boot);
	return g_test_run ();
}
