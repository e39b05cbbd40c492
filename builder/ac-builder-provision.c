/*
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The guest tree is untrusted (a tarball or image may hold symlinks such as etc → /etc of the
 * host): every write into it goes through openat2(RESOLVE_IN_ROOT), which resolves ".." and
 * symlinks as if the tree were "/", and every mount point is checked to be a real directory.
 * Shell provisioners run with a clean environment in a chroot whose /dev is a private tmpfs with
 * a handful of device nodes (no host disks), with /proc, /sys, /run, a resolv.conf for apt and a
 * policy-rc.d that keeps services from starting; all of it is undone before the tree becomes a
 * filesystem.
 */

#include "config.h"

#include "ac-builder-provision.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <linux/openat2.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "ac-builder-xts.h"
#include "ac-error.h"
#include "ac-file.h"

static int
ac_openat2 (int dirfd, const char *path, guint64 flags, guint64 mode, guint64 resolve)
{
	struct open_how how = { .flags = flags, .mode = mode, .resolve = resolve };
	return (int)syscall (SYS_openat2, dirfd, path, &how, sizeof (how));
}

static int
ac_guest_open_root (const gchar *root, GError **error)
{
	int fd = open (root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		g_set_error (error, AC_ERROR, AC_ERROR_IO, "cannot open the guest tree %s: %s", root,
			     g_strerror (errno));
	return fd;
}

/* the parent directory of @guest_path, created (0755) as needed, resolved inside the root */
static int
ac_guest_open_parent (int rootfd, const gchar *guest_path, gchar **basename, GError **error)
{
	g_auto(GStrv) parts = g_strsplit (guest_path, "/", -1);
	g_autoptr(GPtrArray) comps = g_ptr_array_new ();
	int dfd;
	for (guint i = 0; parts[i] != NULL; i++) {
		if (parts[i][0] == '\0' || g_strcmp0 (parts[i], ".") == 0)
			continue;
		if (g_strcmp0 (parts[i], "..") == 0) {
			g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
				     "guest path '%s': '..' is not allowed", guest_path);
			return -1;
		}
		g_ptr_array_add (comps, parts[i]);
	}
	if (comps->len == 0) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT, "guest path '%s' names no file",
			     guest_path);
		return -1;
	}
	dfd = fcntl (rootfd, F_DUPFD_CLOEXEC, 0);
	for (guint i = 0; i + 1 < comps->len; i++) {
		const gchar *c = g_ptr_array_index (comps, i);
		int next = ac_openat2 (dfd, c, O_PATH | O_DIRECTORY | O_CLOEXEC, 0, RESOLVE_IN_ROOT);
		if (next < 0 && errno == ENOENT) {
			if (mkdirat (dfd, c, 0755) != 0 && errno != EEXIST) {
				g_set_error (error, AC_ERROR, AC_ERROR_IO, "cannot create '%s' in the guest: %s",
					     guest_path, g_strerror (errno));
				close (dfd);
				return -1;
			}
			next = ac_openat2 (dfd, c, O_PATH | O_DIRECTORY | O_CLOEXEC, 0, RESOLVE_IN_ROOT);
		}
		if (next < 0) {
			g_set_error (error, AC_ERROR, AC_ERROR_IO, "guest path '%s': component '%s': %s",
				     guest_path, c, g_strerror (errno));
			close (dfd);
			return -1;
		}
		close (dfd);
		dfd = next;
	}
	/* openat2 resolves relative to dfd but RESOLVE_IN_ROOT keeps it under dfd only; the parent
	 * chain above was resolved one component at a time, each inside the previous one, which is
	 * inside the root */
	*basename = g_strdup (g_ptr_array_index (comps, comps->len - 1));
	return dfd;
}

/**
 * ac_guest_write_file:
 * @mode: permission bits of a new file; an existing file keeps its owner but gets @mode
 *
 * Writes @data to @guest_path inside @root, never outside it whatever symlinks the tree holds.
 * A symlink in the last component is replaced by the file.
 */
gboolean
ac_guest_write_file (const gchar *root,
		     const gchar *guest_path,
		     const gchar *data,
		     gsize len,
		     guint mode,
		     GError **error)
{
	g_autofree gchar *base = NULL;
	g_autofree gchar *tmp = NULL;
	int rootfd = ac_guest_open_root (root, error);
	int dfd, fd;
	gboolean ok;
	if (rootfd < 0)
		return FALSE;
	dfd = ac_guest_open_parent (rootfd, guest_path, &base, error);
	close (rootfd);
	if (dfd < 0)
		return FALSE;
	tmp = g_strdup_printf (".%s.ac-tmp", base);
	(void)unlinkat (dfd, tmp, 0);
	fd = ac_openat2 (dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode & 07777,
			 RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS);
	if (fd < 0) {
		g_set_error (error, AC_ERROR, AC_ERROR_IO, "cannot write '%s' in the guest: %s",
			     guest_path, g_strerror (errno));
		close (dfd);
		return FALSE;
	}
	ok = ac_pwrite_full (fd, (const guint8 *)data, len, 0, error);
	if (ok && (fchmod (fd, mode & 07777) != 0 || fchown (fd, 0, 0) != 0) && geteuid () == 0) {
		g_set_error (error, AC_ERROR, AC_ERROR_IO, "cannot set the mode of '%s': %s",
			     guest_path, g_strerror (errno));
		ok = FALSE;
	}
	close (fd);
	if (ok && renameat (dfd, tmp, dfd, base) != 0) {
		g_set_error (error, AC_ERROR, AC_ERROR_IO, "cannot put '%s' in place: %s", guest_path,
			     g_strerror (errno));
		ok = FALSE;
	}
	if (!ok)
		(void)unlinkat (dfd, tmp, 0);
	close (dfd);
	return ok;
}

/* Reads a guest file (symlinks resolved inside the root); NULL with NOT_FOUND if absent. */
gchar *
ac_guest_read_file (const gchar *root, const gchar *guest_path, GError **error)
{
	int rootfd = ac_guest_open_root (root, error);
	g_autoptr(GString) s = g_string_new (NULL);
	gchar buf[4096];
	int fd;
	if (rootfd < 0)
		return NULL;
	fd = ac_openat2 (rootfd, guest_path[0] == '/' ? guest_path + 1 : guest_path,
			 O_RDONLY | O_CLOEXEC, 0, RESOLVE_IN_ROOT);
	close (rootfd);
	if (fd < 0) {
		g_set_error (error, AC_ERROR, errno == ENOENT ? AC_ERROR_NOT_FOUND : AC_ERROR_IO,
			     "cannot read '%s' in the guest: %s", guest_path, g_strerror (errno));
		return NULL;
	}
	while (TRUE) {
		ssize_t n = read (fd, buf, sizeof (buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			g_set_error (error, AC_ERROR, AC_ERROR_IO, "cannot read '%s' in the guest: %s",
				     guest_path, g_strerror (errno));
			close (fd);
			return NULL;
		}
		if (n == 0)
			break;
		g_string_append_len (s, buf, n);
		if (s->len > 16 * 1024 * 1024) {
			g_set_error (error, AC_ERROR, AC_ERROR_IO, "'%s' in the guest is larger than 16 MiB",
				     guest_path);
			close (fd);
			return NULL;
		}
	}
	close (fd);
	return g_string_free (g_steal_pointer (&s), FALSE);
}

/**
 * ac_guest_copy:
 * @mode: 0 = the source's permission bits
 *
 * Copies a host file, or a directory tree, to @guest_path (created or replaced); owned by root.
 */
gboolean
ac_guest_copy (const gchar *root, const gchar *host_path, const gchar *guest_path, guint mode,
	       GError **error)
{
	struct stat st;
	if (lstat (host_path, &st) != 0) {
		g_set_error (error, AC_ERROR, AC_ERROR_NOT_FOUND, "cannot read '%s': %s", host_path,
			     g_strerror (errno));
		return FALSE;
	}
	if (S_ISDIR (st.st_mode)) {
		g_autoptr(GDir) dir = g_dir_open (host_path, 0, NULL);
		g_autofree gchar *base = NULL;
		const gchar *name;
		int rootfd, dfd;
		if (dir == NULL) {
			g_set_error (error, AC_ERROR, AC_ERROR_IO, "cannot list '%s'", host_path);
			return FALSE;
		}
		rootfd = ac_guest_open_root (root, error);
		if (rootfd < 0)
			return FALSE;
		dfd = ac_guest_open_parent (rootfd, guest_path, &base, error);
		close (rootfd);
		if (dfd < 0)
			return FALSE;
		if (mkdirat (dfd, base, (mode != 0 ? mode : st.st_mode) & 07777) != 0 && errno != EEXIST) {
			g_set_error (error, AC_ERROR, AC_ERROR_IO, "cannot create '%s' in the guest: %s",
				     guest_path, g_strerror (errno));
			close (dfd);
			return FALSE;
		}
		close (dfd);
		while ((name = g_dir_read_name (dir)) != NULL) {
			g_autofree gchar *h = g_build_filename (host_path, name, NULL);
			g_autofree gchar *g = g_build_filename (guest_path, name, NULL);
			if (!ac_guest_copy (root, h, g, 0, error))
				return FALSE;
		}
		return TRUE;
	}
	if (S_ISLNK (st.st_mode)) {
		g_autofree gchar *target = g_file_read_link (host_path, NULL);
		g_autofree gchar *base = NULL;
		int rootfd = ac_guest_open_root (root, error);
		int dfd;
		if (rootfd < 0 || target == NULL)
			return FALSE;
		dfd = ac_guest_open_parent (rootfd, guest_path, &base, error);
		close (rootfd);
		if (dfd < 0)
			return FALSE;
		(void)unlinkat (dfd, base, 0);
		if (symlinkat (target, dfd, base) != 0) {
			g_set_error (error, AC_ERROR, AC_ERROR_IO, "cannot create the link '%s': %s",
				     guest_path, g_strerror (errno));
			close (dfd);
			return FALSE;
		}
		close (dfd);
		return TRUE;
	}
	if (!S_ISREG (st.st_mode)) {
		g_set_error (error, AC_ERROR, AC_ERROR_UNSUPPORTED,
			     "'%s' is neither a file, a directory nor a symlink", host_path);
		return FALSE;
	}
	{
		g_autofree gchar *data = NULL;
		gsize len = 0;
		g_autoptr(GError) local = NULL;
		if (!g_file_get_contents (host_path, &data, &len, &local)) {
			g_set_error (error, AC_ERROR, AC_ERROR_IO, "cannot read '%s': %s", host_path,
				     local->message);
			return FALSE;
		}
		return ac_guest_write_file (root, guest_path, data, len,
					    mode != 0 ? mode : st.st_mode & 07777, error);
	}
}

/**
 * ac_config_set_var:
 *
 * Sets KEY=value in a shell-style configuration text: the first line assigning KEY (possibly
 * commented out) is replaced, further assignments are removed, or a line is appended.
 */
gchar *
ac_config_set_var (const gchar *text, const gchar *key, const gchar *value)
{
	g_auto(GStrv) lines = g_strsplit (text != NULL ? text : "", "\n", -1);
	g_autoptr(GString) out = g_string_new (NULL);
	g_autofree gchar *prefix = g_strconcat (key, "=", NULL);
	gboolean done = FALSE;
	guint n = g_strv_length (lines);
	for (guint i = 0; i < n; i++) {
		const gchar *l = lines[i];
		const gchar *t = l;
		if (i == n - 1 && l[0] == '\0')
			break; /* the text's final newline */
		while (*t == ' ' || *t == '\t' || *t == '#')
			t++;
		if (g_str_has_prefix (t, prefix)) {
			if (!done)
				g_string_append_printf (out, "%s%s\n", prefix, value);
			done = TRUE;
			continue;
		}
		g_string_append_printf (out, "%s\n", l);
	}
	if (!done)
		g_string_append_printf (out, "%s%s\n", prefix, value);
	return g_string_free (g_steal_pointer (&out), FALSE);
}

static gboolean
ac_guest_set_vars (const gchar *root, const gchar *path, const gchar *const *kv, guint mode,
		   GError **error)
{
	g_autoptr(GError) local = NULL;
	g_autofree gchar *text = ac_guest_read_file (root, path, &local);
	if (text == NULL && !g_error_matches (local, AC_ERROR, AC_ERROR_NOT_FOUND)) {
		g_propagate_error (error, g_steal_pointer (&local));
		return FALSE;
	}
	for (guint i = 0; kv[i] != NULL; i += 2) {
		gchar *next = ac_config_set_var (text, kv[i], kv[i + 1]);
		g_free (text);
		text = next;
	}
	return ac_guest_write_file (root, path, text, strlen (text), mode, error);
}

/* ---- the chroot ---- */

struct _AcChroot {
	gchar *root;
	AcCleanup *cleanup; /* not owned: the build's stack */
	GPtrArray *mounts;  /* ours, in mount order */
	gboolean resolv_saved;
	gboolean resolv_written;
	gboolean policy_written;
};

static gboolean
ac_chroot_mkdir (const gchar *root, const gchar *rel, GError **error)
{
	g_autofree gchar *path = g_build_filename (root, rel, NULL);
	struct stat st;
	if (lstat (path, &st) == 0) {
		if (!S_ISDIR (st.st_mode)) {
			g_set_error (error, AC_ERROR, AC_ERROR_REFUSED,
				     "the guest's /%s is not a directory (a symlink?): refusing to mount "
				     "on it", rel);
			return FALSE;
		}
		return TRUE;
	}
	if (mkdir (path, 0755) != 0) {
		g_set_error (error, AC_ERROR, AC_ERROR_IO, "cannot create %s: %s", path,
			     g_strerror (errno));
		return FALSE;
	}
	return TRUE;
}

static gboolean
ac_chroot_mount (AcChroot *self, const gchar *src, const gchar *rel, const gchar *type,
		 unsigned long flags, const gchar *data, GError **error)
{
	g_autofree gchar *path = g_build_filename (self->root, rel, NULL);
	if (mount (src, path, type, flags, data) != 0) {
		g_set_error (error, AC_ERROR, errno == EPERM ? AC_ERROR_PERMISSION : AC_ERROR_IO,
			     "cannot mount %s on %s: %s", type != NULL ? type : src, path,
			     g_strerror (errno));
		return FALSE;
	}
	ac_cleanup_add_mount (self->cleanup, path);
	g_ptr_array_add (self->mounts, g_steal_pointer (&path));
	return TRUE;
}

void
ac_chroot_free (AcChroot *self)
{
	if (self == NULL)
		return;
	g_free (self->root);
	g_ptr_array_unref (self->mounts);
	g_free (self);
}

/**
 * ac_chroot_enter:
 *
 * Prepares @root for running commands with chroot(8). Every mount is registered in @cleanup
 * (so an interrupt unmounts it) and undone by ac_chroot_leave().
 */
AcChroot *
ac_chroot_enter (const gchar *root, AcCleanup *cleanup, GError **error)
{
	static const gchar *nodes[] = { "null", "zero", "full", "random", "urandom", "tty", NULL };
	g_autoptr(AcChroot) self = g_new0 (AcChroot, 1);
	g_autofree gchar *resolv = NULL;

	if (geteuid () != 0) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_PERMISSION,
				     "shell and aleph provisioners need root (chroot and mounts)");
		return NULL;
	}
	self->root = g_strdup (root);
	self->cleanup = cleanup;
	self->mounts = g_ptr_array_new_with_free_func (g_free);
	if (!ac_chroot_mkdir (root, "proc", error) || !ac_chroot_mkdir (root, "sys", error) ||
	    !ac_chroot_mkdir (root, "dev", error) || !ac_chroot_mkdir (root, "run", error) ||
	    !ac_chroot_mkdir (root, "tmp", error))
		return NULL;
	if (!ac_chroot_mount (self, "proc", "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL,
			      error) ||
	    !ac_chroot_mount (self, "sysfs", "sys", "sysfs",
			      MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY, NULL, error) ||
	    !ac_chroot_mount (self, "tmpfs", "run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755", error) ||
	    !ac_chroot_mount (self, "tmpfs", "dev", "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755", error))
		return NULL;
	for (guint i = 0; nodes[i] != NULL; i++) {
		g_autofree gchar *host = g_build_filename ("/dev", nodes[i], NULL);
		g_autofree gchar *rel = g_build_filename ("dev", nodes[i], NULL);
		g_autofree gchar *path = g_build_filename (root, rel, NULL);
		if (!g_file_set_contents (path, "", 0, NULL)) {
			g_set_error (error, AC_ERROR, AC_ERROR_IO, "cannot create %s", path);
			return NULL;
		}
		if (!ac_chroot_mount (self, host, rel, NULL, MS_BIND, NULL, error))
			return NULL;
	}
	{
		g_autofree gchar *pts = g_build_filename (root, "dev", "pts", NULL);
		g_autofree gchar *ptmx = g_build_filename (root, "dev", "ptmx", NULL);
		g_autofree gchar *shm = g_build_filename (root, "dev", "shm", NULL);
		if (mkdir (pts, 0755) != 0 || mkdir (shm, 01777) != 0 || symlink ("pts/ptmx", ptmx) != 0) {
			g_set_error (error, AC_ERROR, AC_ERROR_IO, "cannot populate the guest's /dev");
			return NULL;
		}
		if (!ac_chroot_mount (self, "devpts", "dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
				      "newinstance,ptmxmode=0666,mode=0620", error) ||
		    !ac_chroot_mount (self, "tmpfs", "dev/shm", "tmpfs", MS_NOSUID | MS_NODEV,
				      "mode=1777", error))
			return NULL;
	}
	/* name resolution for apt: the host's resolv.conf while provisioning */
	if (g_file_get_contents ("/etc/resolv.conf", &resolv, NULL, NULL)) {
		g_autofree gchar *cur = g_build_filename (root, "etc", "resolv.conf", NULL);
		g_autofree gchar *saved = g_build_filename (root, "etc", "resolv.conf.ac-saved", NULL);
		g_autofree gchar *etc = g_build_filename (root, "etc", NULL);
		struct stat st;
		if (lstat (etc, &st) == 0 && S_ISDIR (st.st_mode)) {
			if (lstat (cur, &st) == 0) {
				if (rename (cur, saved) != 0) {
					g_set_error (error, AC_ERROR, AC_ERROR_IO, "cannot move %s aside", cur);
					return NULL;
				}
				self->resolv_saved = TRUE;
			}
			if (!ac_guest_write_file (root, "/etc/resolv.conf", resolv, strlen (resolv), 0644,
						  error))
				return NULL;
			self->resolv_written = TRUE;
		}
	}
	{
		g_autofree gchar *policy = g_build_filename (root, "usr", "sbin", "policy-rc.d", NULL);
		g_autofree gchar *sbin = g_build_filename (root, "usr", "sbin", NULL);
		if (g_file_test (sbin, G_FILE_TEST_IS_DIR) && !g_file_test (policy, G_FILE_TEST_EXISTS)) {
			const gchar *deny = "#!/bin/sh\n# aleph-confidential: no services while provisioning\nexit 101\n";
			if (!ac_guest_write_file (root, "/usr/sbin/policy-rc.d", deny, strlen (deny), 0755,
						  error))
				return NULL;
			self->policy_written = TRUE;
		}
	}
	return g_steal_pointer (&self);
}

/**
 * ac_chroot_leave:
 *
 * Unmounts everything (newest first) and restores resolv.conf and policy-rc.d. Must succeed
 * before the tree becomes a filesystem image.
 */
gboolean
ac_chroot_leave (AcChroot *self, GError **error)
{
	for (guint i = self->mounts->len; i > 0; i--) {
		const gchar *m = g_ptr_array_index (self->mounts, i - 1);
		if (umount2 (m, 0) != 0 && umount2 (m, MNT_DETACH) != 0) {
			g_set_error (error, AC_ERROR, AC_ERROR_IO, "cannot unmount %s: %s", m,
				     g_strerror (errno));
			return FALSE;
		}
		ac_cleanup_forget (self->cleanup, m);
	}
	g_ptr_array_set_size (self->mounts, 0);
	/* the device files and directories made on the /dev tmpfs went with it */
	if (self->resolv_written) {
		g_autofree gchar *cur = g_build_filename (self->root, "etc", "resolv.conf", NULL);
		g_unlink (cur);
		self->resolv_written = FALSE;
	}
	if (self->resolv_saved) {
		g_autofree gchar *cur = g_build_filename (self->root, "etc", "resolv.conf", NULL);
		g_autofree gchar *saved = g_build_filename (self->root, "etc", "resolv.conf.ac-saved", NULL);
		if (rename (saved, cur) != 0) {
			g_set_error (error, AC_ERROR, AC_ERROR_IO, "cannot restore %s: %s", cur,
				     g_strerror (errno));
			return FALSE;
		}
		self->resolv_saved = FALSE;
	}
	if (self->policy_written) {
		g_autofree gchar *policy = g_build_filename (self->root, "usr", "sbin", "policy-rc.d", NULL);
		g_unlink (policy);
		self->policy_written = FALSE;
	}
	return TRUE;
}

/**
 * ac_chroot_run:
 * @script: shell text run by /bin/sh -e inside the chroot
 * @env: (nullable): "NAME=value" added to a clean environment
 *
 * The environment is rebuilt from scratch: nothing of the caller's (where a passphrase may
 * live) reaches the guest's scripts.
 */
gboolean
ac_chroot_run (AcChroot *self,
	       const gchar *script,
	       const gchar *const *env,
	       GCancellable *cancellable,
	       gchar **output,
	       GError **error)
{
	g_autofree gchar *name = g_strdup_printf ("/tmp/ac-provision-%08x.sh", g_random_int ());
	g_autofree gchar *host = g_build_filename (self->root, name, NULL);
	g_autoptr(GSubprocessLauncher) launcher = NULL;
	g_autoptr(GSubprocess) proc = NULL;
	g_autoptr(GError) local = NULL;
	g_autofree gchar *out = NULL;
	const gchar *clean[] = { "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
				 "HOME=/root", "LC_ALL=C", "LANG=C", "DEBIAN_FRONTEND=noninteractive",
				 "DEBCONF_NONINTERACTIVE_SEEN=true", "TERM=dumb", NULL };
	g_autoptr(GStrvBuilder) eb = g_strv_builder_new ();
	g_auto(GStrv) envv = NULL;
	gboolean ok;

	if (!ac_guest_write_file (self->root, name, script, strlen (script), 0700, error))
		return FALSE;
	g_strv_builder_addv (eb, clean);
	if (env != NULL)
		g_strv_builder_addv (eb, (const gchar **)env);
	envv = g_strv_builder_end (eb);
	launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE |
					      G_SUBPROCESS_FLAGS_STDERR_MERGE |
					      G_SUBPROCESS_FLAGS_STDIN_PIPE);
	g_subprocess_launcher_set_environ (launcher, envv);
	proc = g_subprocess_launcher_spawn (launcher, &local, "/usr/sbin/chroot", self->root,
					    "/bin/sh", "-e", name, NULL);
	if (proc == NULL) {
		g_set_error (error, AC_ERROR, AC_ERROR_IO, "cannot run chroot: %s", local->message);
		g_unlink (host);
		return FALSE;
	}
	ok = g_subprocess_communicate_utf8 (proc, "", cancellable, &out, NULL, &local);
	if (!ok) {
		g_subprocess_force_exit (proc);
		g_subprocess_wait (proc, NULL, NULL);
		g_unlink (host);
		g_set_error (error, AC_ERROR,
			     g_error_matches (local, G_IO_ERROR, G_IO_ERROR_CANCELLED) ? AC_ERROR_CANCELLED
											: AC_ERROR_IO,
			     "provisioning script: %s", local->message);
		return FALSE;
	}
	g_unlink (host);
	if (out != NULL && out[0] != '\0')
		g_debug ("provisioner output:\n%s", out);
	if (!g_subprocess_get_if_exited (proc) || g_subprocess_get_exit_status (proc) != 0) {
		gsize len = out != NULL ? strlen (out) : 0;
		g_set_error (error, AC_ERROR, AC_ERROR_IO,
			     "the script failed in the guest (exit status %d): %s%s",
			     g_subprocess_get_if_exited (proc) ? g_subprocess_get_exit_status (proc) : -1,
			     len > 1500 ? "…" : "", len > 1500 ? out + len - 1500 : (out != NULL ? out : ""));
		return FALSE;
	}
	if (output != NULL)
		*output = g_steal_pointer (&out);
	return TRUE;
}

/* ---- provisioners ---- */

static gboolean
ac_provision_shell (const AcTemplateProvisioner *p, AcChroot *chroot, GCancellable *cancellable,
		    GError **error)
{
	g_autofree gchar *script = NULL;
	if (p->script != NULL) {
		if (!ac_file_read_bounded (p->script, AC_FILE_MAX_DEFAULT, &script, NULL, error)) {
			g_prefix_error (error, "%s.script: ", p->field);
			return FALSE;
		}
	} else {
		g_autofree gchar *body = g_strjoinv ("\n", p->inline_cmds);
		script = g_strdup_printf ("%s\n", body);
	}
	if (!ac_chroot_run (chroot, script, (const gchar *const *)p->environment, cancellable, NULL,
			    error)) {
		g_prefix_error (error, "%s: ", p->field);
		return FALSE;
	}
	return TRUE;
}

static gchar *
ac_guest_os_id (const gchar *root)
{
	g_autofree gchar *text = ac_guest_read_file (root, "/etc/os-release", NULL);
	g_auto(GStrv) lines = NULL;
	if (text == NULL)
		return g_strdup ("unknown");
	lines = g_strsplit (text, "\n", -1);
	for (guint i = 0; lines[i] != NULL; i++) {
		if (g_str_has_prefix (lines[i], "ID="))
			return g_strdup (g_strstrip (g_strdelimit (lines[i] + 3, "\"'", ' ')));
	}
	return g_strdup ("unknown");
}

/* kernel versions with a /boot/vmlinuz-VERSION, newest first */
static GPtrArray *
ac_guest_kernels (const gchar *root)
{
	g_autofree gchar *boot = g_build_filename (root, "boot", NULL);
	g_autoptr(GDir) d = g_dir_open (boot, 0, NULL);
	GPtrArray *versions = g_ptr_array_new_with_free_func (g_free);
	const gchar *name;
	while (d != NULL && (name = g_dir_read_name (d)) != NULL) {
		if (g_str_has_prefix (name, "vmlinuz-"))
			g_ptr_array_add (versions, g_strdup (name + 8));
	}
	{
		/* newest first, by version order; kernels are few */
		for (guint i = 0; i < versions->len; i++) {
			for (guint j = i + 1; j < versions->len; j++) {
				gchar *a = g_ptr_array_index (versions, i);
				gchar *b = g_ptr_array_index (versions, j);
				if (strverscmp (a, b) < 0) {
					versions->pdata[i] = b;
					versions->pdata[j] = a;
				}
			}
		}
	}
	return versions;
}

static gchar *
ac_uuid_nodash (const gchar *uuid)
{
	g_autoptr(GString) s = g_string_new (NULL);
	for (const gchar *p = uuid; *p != '\0'; p++) {
		if (*p != '-')
			g_string_append_c (s, g_ascii_tolower (*p));
	}
	return g_string_free (g_steal_pointer (&s), FALSE);
}

/* 1. packages: cryptsetup in the initramfs, GRUB's EFI modules, a kernel if none */
static gboolean
ac_provision_aleph_packages (const AcTemplateProvisioner *p,
			     const AcProvisionContext *ctx,
			     AcChroot *chroot,
			     const gchar *os,
			     GCancellable *cancellable,
			     GError **error)
{
	g_autoptr(GPtrArray) have = ac_guest_kernels (ctx->root);
	g_autofree gchar *script = NULL;
	const gchar *kernel = "";
	if (have->len == 0)
		kernel = g_strcmp0 (os, "ubuntu") == 0 ? " linux-image-virtual" : " linux-image-amd64";
	script = g_strdup_printf ("apt-get update -q\n"
				  "apt-get install -y -q --no-install-recommends cryptsetup "
				  "cryptsetup-initramfs initramfs-tools grub-efi-amd64-bin%s\n"
				  "apt-get clean\n",
				  kernel);
	if (!ac_chroot_run (chroot, script, NULL, cancellable, NULL, error)) {
		g_prefix_error (error, "%s: installing cryptsetup-initramfs and GRUB: ", p->field);
		return FALSE;
	}
	return TRUE;
}

/* 2. the keyfile of LUKS slot 1, read by the initramfs: no second prompt */
static gboolean
ac_provision_aleph_keyfile (const AcProvisionContext *ctx, const gchar *keyname, GError **error)
{
	if (!ac_guest_write_file (ctx->root, keyname, ctx->keyfile->data, ctx->keyfile->len, 0600,
				  error))
		return FALSE;
	{
		g_autofree gchar *dir = g_build_filename (ctx->root, "etc", "cryptsetup-keys.d", NULL);
		struct stat st;
		if (lstat (dir, &st) == 0 && S_ISDIR (st.st_mode))
			(void)chmod (dir, 0700);
	}
	{
		const gchar *hook[] = { "KEYFILE_PATTERN", "\"/etc/cryptsetup-keys.d/*\"", NULL };
		const gchar *umask[] = { "UMASK", "0077", NULL };
		if (!ac_guest_set_vars (ctx->root, "/etc/cryptsetup-initramfs/conf-hook", hook, 0644,
					error) ||
		    !ac_guest_set_vars (ctx->root, "/etc/initramfs-tools/initramfs.conf", umask, 0644,
					error))
			return FALSE;
	}
	return TRUE;
}

/* 3. crypttab and fstab; "initramfs" makes the hook include the root volume although the
 * chroot cannot show it as mounted */
static gboolean
ac_provision_aleph_tabs (const AcTemplateProvisioner *p,
			 const AcProvisionContext *ctx,
			 const gchar *keyname,
			 GError **error)
{
	const gchar *mapper = p->mapper_name;
	g_autofree gchar *crypttab = NULL;
	g_autofree gchar *fstab = NULL;

	crypttab = g_strdup_printf ("# <target name> <source device> <key file> <options>\n"
				    "%s UUID=%s %s luks,discard,initramfs\n",
				    mapper, ctx->luks_uuid, keyname);
	fstab = g_strdup_printf ("# <file system> <mount point> <type> <options> <dump> <pass>\n"
				 "/dev/mapper/%s / ext4 rw,discard,errors=remount-ro 0 1\n"
				 "UUID=%s /boot/efi vfat defaults,nofail 0 0\n",
				 mapper, ctx->esp_volume_id);
	if (!ac_guest_write_file (ctx->root, "/etc/crypttab", crypttab, strlen (crypttab), 0644,
				  error) ||
	    !ac_guest_write_file (ctx->root, "/etc/fstab", fstab, strlen (fstab), 0644, error))
		return FALSE;
	{
		g_autofree gchar *efi = g_build_filename (ctx->root, "boot", "efi", NULL);
		g_mkdir_with_parents (efi, 0755);
	}
	return TRUE;
}

/* the grub.cfg written now: one menu entry per kernel, newest first */
static gboolean
ac_provision_aleph_grub_cfg (const AcProvisionContext *ctx,
			     const gchar *os,
			     GPtrArray *kernels,
			     const gchar *cmdline,
			     GError **error)
{
	g_autoptr(GString) cfg = g_string_new (NULL);

	g_string_append_printf (cfg,
				"# Written by aleph-confidential's builder: grub-mkconfig cannot probe an\n"
				"# encrypted root from a chroot. update-grub inside the VM replaces it.\n"
				"set default=0\nset timeout=1\n"
				"insmod part_gpt\ninsmod cryptodisk\ninsmod luks\ninsmod gcry_rijndael\n"
				"insmod gcry_sha256\ninsmod ext2\n");
	for (guint i = 0; i < kernels->len; i++) {
		const gchar *v = g_ptr_array_index (kernels, i);
		g_string_append_printf (cfg,
					"menuentry '%s %s (encrypted root)' {\n"
					"\tsearch --no-floppy --fs-uuid --set=root %s\n"
					"\tlinux /boot/vmlinuz-%s %s ro\n"
					"\tinitrd /boot/initrd.img-%s\n"
					"}\n",
					os, v, ctx->fs_uuid, v, cmdline, v);
	}
	return ac_guest_write_file (ctx->root, "/boot/grub/grub.cfg", cfg->str, cfg->len, 0644,
				    error);
}

/* 5. the ESP: a GRUB for local boots that asks for the passphrase (Aleph's firmware has
 * its own GRUB, which unlocks with the injected secret and reads /boot/grub/grub.cfg) */
static gboolean
ac_provision_aleph_esp_grub (const AcTemplateProvisioner *p,
			     const AcProvisionContext *ctx,
			     AcChroot *chroot,
			     const gchar *nodash,
			     GCancellable *cancellable,
			     GError **error)
{
	g_autofree gchar *early = g_strdup_printf (
		"cryptomount -u %s\n"
		"search --no-floppy --fs-uuid --set=root %s\n"
		"set prefix=($root)/boot/grub\n"
		"configfile ($root)/boot/grub/grub.cfg\n",
		nodash, ctx->fs_uuid);
	g_autofree gchar *efi = g_build_filename (ctx->esp_dir, "EFI", "BOOT", "BOOTX64.EFI", NULL);
	g_autofree gchar *efi_dir = g_path_get_dirname (efi);
	g_autofree gchar *built = g_build_filename (ctx->root, "tmp", "ac-BOOTX64.EFI", NULL);
	g_autofree gchar *data = NULL;
	gsize len = 0;
	if (!ac_guest_write_file (ctx->root, "/tmp/ac-grub-early.cfg", early, strlen (early),
				  0644, error))
		return FALSE;
	if (!ac_chroot_run (chroot,
			    "grub-mkimage -O x86_64-efi -o /tmp/ac-BOOTX64.EFI "
			    "-c /tmp/ac-grub-early.cfg -p /EFI/BOOT part_gpt part_msdos "
			    "cryptodisk luks gcry_rijndael gcry_sha256 gcry_sha512 ext2 fat "
			    "search search_fs_uuid configfile normal linux echo test all_video "
			    "efi_gop serial terminal\n"
			    "rm -f /tmp/ac-grub-early.cfg\n",
			    NULL, cancellable, NULL, error)) {
		g_prefix_error (error, "%s: making the ESP's GRUB: ", p->field);
		return FALSE;
	}
	if (!g_file_get_contents (built, &data, &len, NULL)) {
		g_set_error (error, AC_ERROR, AC_ERROR_IO, "%s: grub-mkimage wrote no image",
			     p->field);
		return FALSE;
	}
	g_unlink (built);
	if (g_mkdir_with_parents (efi_dir, 0755) != 0 ||
	    !g_file_set_contents (efi, data, (gssize)len, NULL)) {
		g_set_error (error, AC_ERROR, AC_ERROR_IO, "cannot write %s", efi);
		return FALSE;
	}
	return TRUE;
}

/* 6. the initramfs, then a check that it carries cryptsetup and the keyfile */
static gboolean
ac_provision_aleph_initramfs (const AcTemplateProvisioner *p,
			      AcChroot *chroot,
			      GPtrArray *kernels,
			      GCancellable *cancellable,
			      GError **error)
{
	g_autoptr(GString) script = g_string_new (NULL);
	g_autofree gchar *listing = NULL;
	for (guint i = 0; i < kernels->len; i++) {
		const gchar *v = g_ptr_array_index (kernels, i);
		g_string_append_printf (script,
					"if [ -e /boot/initrd.img-%s ]; then update-initramfs -u -k %s; "
					"else update-initramfs -c -k %s; fi\n",
					v, v, v);
	}
	g_string_append_printf (script, "lsinitramfs /boot/initrd.img-%s\n",
				(const gchar *)g_ptr_array_index (kernels, 0));
	if (!ac_chroot_run (chroot, script->str, NULL, cancellable, &listing, error)) {
		g_prefix_error (error, "%s: update-initramfs: ", p->field);
		return FALSE;
	}
	if (strstr (listing, "sbin/cryptsetup") == NULL ||
	    strstr (listing, "cryptroot/keyfiles/") == NULL) {
		g_set_error (error, AC_ERROR, AC_ERROR_MISMATCH,
			     "%s: the initramfs lacks %s: the guest would not unlock its root "
			     "without a second passphrase prompt",
			     p->field, strstr (listing, "sbin/cryptsetup") == NULL
					       ? "cryptsetup (is cryptsetup-initramfs installed?)"
					       : "the keyfile (cryptroot/keyfiles/)");
		return FALSE;
	}
	return TRUE;
}

static gboolean
ac_provision_aleph (const AcTemplateProvisioner *p,
		    const AcProvisionContext *ctx,
		    AcChroot **chroot,
		    AcCleanup *cleanup,
		    GCancellable *cancellable,
		    GError **error)
{
	const gchar *mapper = p->mapper_name;
	g_autofree gchar *keyname = g_strdup_printf ("/etc/cryptsetup-keys.d/luks-%s.key", ctx->luks_uuid);
	g_autofree gchar *os = ac_guest_os_id (ctx->root);
	g_autofree gchar *cmdline = NULL;
	g_autofree gchar *nodash = ac_uuid_nodash (ctx->luks_uuid);
	g_autoptr(GPtrArray) kernels = NULL;

	if (*chroot == NULL && (p->install_packages || p->update_initramfs || p->install_grub)) {
		*chroot = ac_chroot_enter (ctx->root, cleanup, error);
		if (*chroot == NULL)
			return FALSE;
	}
	if (p->install_packages &&
	    !ac_provision_aleph_packages (p, ctx, *chroot, os, cancellable, error))
		return FALSE;
	if (!ac_provision_aleph_keyfile (ctx, keyname, error) ||
	    !ac_provision_aleph_tabs (p, ctx, keyname, error))
		return FALSE;
	/* 4. GRUB: cryptodisk settings for update-grub inside the VM, and a grub.cfg now (grub-mkconfig
	 * cannot probe the encrypted root from a chroot) */
	cmdline = g_strdup_printf ("cryptdevice=UUID=%s:%s root=/dev/mapper/%s%s%s", ctx->luks_uuid,
				   mapper, mapper, p->kernel_cmdline != NULL ? " " : "",
				   p->kernel_cmdline != NULL ? p->kernel_cmdline : "");
	{
		g_autofree gchar *quoted = g_strdup_printf ("\"%s\"", cmdline);
		const gchar *grub[] = { "GRUB_ENABLE_CRYPTODISK", "y", "GRUB_PRELOAD_MODULES",
					"\"luks cryptodisk lvm ext2\"", "GRUB_CMDLINE_LINUX", quoted,
					NULL };
		if (!ac_guest_set_vars (ctx->root, "/etc/default/grub", grub, 0644, error))
			return FALSE;
	}
	kernels = ac_guest_kernels (ctx->root);
	if (kernels->len == 0) {
		g_set_error (error, AC_ERROR, AC_ERROR_NOT_FOUND,
			     "%s: the guest has no kernel in /boot: install one (e.g. linux-image-amd64) "
			     "or leave install_packages on", p->field);
		return FALSE;
	}
	if (!ac_provision_aleph_grub_cfg (ctx, os, kernels, cmdline, error))
		return FALSE;
	if (p->install_grub &&
	    !ac_provision_aleph_esp_grub (p, ctx, *chroot, nodash, cancellable, error))
		return FALSE;
	if (p->update_initramfs &&
	    !ac_provision_aleph_initramfs (p, *chroot, kernels, cancellable, error))
		return FALSE;
	return TRUE;
}

/**
 * ac_provision_run:
 * @chroot: (inout): the chroot, entered on first need and kept for the next provisioners
 */
gboolean
ac_provision_run (const AcTemplateProvisioner *p,
		  const AcProvisionContext *ctx,
		  AcChroot **chroot,
		  AcCleanup *cleanup,
		  GCancellable *cancellable,
		  GError **error)
{
	if (g_cancellable_is_cancelled (cancellable)) {
		g_set_error (error, AC_ERROR, AC_ERROR_CANCELLED, "interrupted before %s", p->field);
		return FALSE;
	}
	switch (p->type) {
	case AC_PROVISIONER_FILE:
		if (!ac_guest_copy (ctx->root, p->source, p->destination, p->mode & 07777, error)) {
			g_prefix_error (error, "%s: ", p->field);
			return FALSE;
		}
		return TRUE;
	case AC_PROVISIONER_SHELL:
		if (*chroot == NULL) {
			*chroot = ac_chroot_enter (ctx->root, cleanup, error);
			if (*chroot == NULL)
				return FALSE;
		}
		return ac_provision_shell (p, *chroot, cancellable, error);
	case AC_PROVISIONER_ALEPH:
		return ac_provision_aleph (p, ctx, chroot, cleanup, cancellable, error);
	default:
		g_assert_not_reached ();
	}
}
