/*
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The libguestfs provisioner backend. The guest tree is packed into a sparse scratch ext4 image
 * with mkfs.ext4 -d (no mount on the host), the image is the only disk of the libguestfs
 * appliance, file provisioners are uploaded into it, shell provisioners run with
 * guestfs_command (the guest's own /bin/sh, chrooted by the appliance into the guest tree), and
 * the tree comes back with tar_out into a fresh directory that replaces the old one. The guest's
 * scripts and symlinks act inside a VM, never on the host. Nothing of the LUKS layer goes
 * through libguestfs (it formats LUKS2, which QEMU's driver and GRUB cannot use here).
 *
 * On hosts without working KVM libguestfs needs LIBGUESTFS_BACKEND_SETTINGS=force_tcg in the
 * environment; libguestfs reads its own LIBGUESTFS_* variables, nothing else is passed on.
 */

#include "config.h"

#include "ac-builder-guestfs.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <glib/gstdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ac-builder-run.h"
#include "ac-error.h"
#include "ac-file.h"

#if HAVE_LIBGUESTFS
#include <guestfs.h>
#endif

/* free space given to the provisioners in the scratch image, beyond twice the tree's size */
#define AC_GUESTFS_EXTRA_BYTES (1024ull * 1024 * 1024)
/* the end of a failed script's output kept in the error */
#define AC_GUESTFS_ERROR_TAIL 1500

struct _AcGuestfs {
	gchar *root;
	gchar *image;
	gchar *tarball;
	gboolean had_lost_found;
	gdouble launch_seconds;
#if HAVE_LIBGUESTFS
	guestfs_h *g;
#endif
};

gdouble
ac_guestfs_get_launch_seconds (AcGuestfs *self)
{
	return self->launch_seconds;
}

void
ac_guestfs_free (AcGuestfs *self)
{
	if (self == NULL)
		return;
#if HAVE_LIBGUESTFS
	if (self->g != NULL)
		guestfs_close (self->g); /* kills the appliance */
#endif
	if (self->image != NULL)
		g_unlink (self->image);
	if (self->tarball != NULL)
		g_unlink (self->tarball);
	g_free (self->root);
	g_free (self->image);
	g_free (self->tarball);
	g_free (self);
}

#if HAVE_LIBGUESTFS

static gboolean
ac_guestfs_fail (AcGuestfs *self, GError **error, const gchar *what)
{
	const gchar *msg = guestfs_last_error (self->g);
	gsize len = msg != NULL ? strlen (msg) : 0;
	g_set_error (error, AC_ERROR, AC_ERROR_IO, "libguestfs: %s: %s%s", what,
		     len > AC_GUESTFS_ERROR_TAIL ? "…" : "",
		     msg == NULL ? "unknown error"
				 : (len > AC_GUESTFS_ERROR_TAIL ? msg + len - AC_GUESTFS_ERROR_TAIL : msg));
	return FALSE;
}

static gboolean
ac_guestfs_check_cancel (GCancellable *cancellable, const gchar *what, GError **error)
{
	if (!g_cancellable_is_cancelled (cancellable))
		return TRUE;
	g_set_error (error, AC_ERROR, AC_ERROR_CANCELLED, "interrupted before %s", what);
	return FALSE;
}

static guint64 ac_guestfs_tree_bytes;

static int
ac_guestfs_count (const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)path;
	(void)flag;
	(void)ftw;
	/* allocated blocks plus an inode's worth per entry */
	ac_guestfs_tree_bytes += (guint64)st->st_blocks * 512 + 4096;
	return 0;
}

/* Asks the tree's size (physical, without following links or crossing mounts). */
static gboolean
ac_guestfs_tree_size (const gchar *root, guint64 *bytes, GError **error)
{
	G_LOCK_DEFINE_STATIC (count);
	int rc;
	G_LOCK (count);
	ac_guestfs_tree_bytes = 0;
	rc = nftw (root, ac_guestfs_count, 64, FTW_PHYS | FTW_MOUNT);
	*bytes = ac_guestfs_tree_bytes;
	G_UNLOCK (count);
	if (rc != 0) {
		g_set_error (error, AC_ERROR, AC_ERROR_IO, "cannot measure the guest tree %s: %s",
			     root, g_strerror (errno));
		return FALSE;
	}
	return TRUE;
}

AcGuestfs *
ac_guestfs_open (const gchar *root, const gchar *workdir, GCancellable *cancellable,
		 GError **error)
{
	g_autoptr(AcGuestfs) self = g_new0 (AcGuestfs, 1);
	g_autofree gchar *lf = g_build_filename (root, "lost+found", NULL);
	guint64 bytes = 0, size;
	gint64 t0;
	int fd;

	self->root = g_strdup (root);
	self->had_lost_found = g_file_test (lf, G_FILE_TEST_EXISTS);
	self->image = g_strdup_printf ("%s/guestfs-%08x.img", workdir, g_random_int ());
	self->tarball = g_strdup_printf ("%s/guestfs-%08x.tar", workdir, g_random_int ());
	if (!ac_guestfs_tree_size (root, &bytes, error))
		return NULL;
	size = bytes * 2 + AC_GUESTFS_EXTRA_BYTES;
	size = (size + 0xfffff) & ~(guint64)0xfffff;
	fd = g_open (self->image, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || ftruncate (fd, (off_t)size) != 0) {
		g_set_error (error, AC_ERROR, AC_ERROR_IO, "cannot create the scratch image %s: %s",
			     self->image, g_strerror (errno));
		if (fd >= 0)
			close (fd);
		return NULL;
	}
	close (fd);
	{
		const gchar *argv[] = { "mkfs.ext4", "-q", "-F", "-b", "4096", "-d", root,
					self->image, NULL };
		if (!ac_run_tool (argv, NULL, cancellable, NULL, error)) {
			g_prefix_error (error, "the scratch image for libguestfs: ");
			return NULL;
		}
	}
	if (!ac_guestfs_check_cancel (cancellable, "starting libguestfs", error))
		return NULL;
	self->g = guestfs_create ();
	if (self->g == NULL) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_UNSUPPORTED,
				     "libguestfs: cannot create a handle");
		return NULL;
	}
	guestfs_set_error_handler (self->g, NULL, NULL); /* errors go to GError, not stderr */
	if (guestfs_add_drive_opts (self->g, self->image, GUESTFS_ADD_DRIVE_OPTS_FORMAT, "raw",
				    -1) != 0)
		return ac_guestfs_fail (self, error, "adding the scratch image"), NULL;
	t0 = g_get_monotonic_time ();
	if (guestfs_launch (self->g) != 0) {
		ac_guestfs_fail (self, error, "launching the appliance");
		g_prefix_error (error, "(LIBGUESTFS_BACKEND_SETTINGS=force_tcg helps on hosts without "
				       "working KVM) ");
		return NULL;
	}
	self->launch_seconds = (gdouble)(g_get_monotonic_time () - t0) / G_USEC_PER_SEC;
	g_debug ("libguestfs appliance up in %.1f s", self->launch_seconds);
	if (guestfs_mount (self->g, "/dev/sda", "/") != 0)
		return ac_guestfs_fail (self, error, "mounting the guest tree"), NULL;
	return g_steal_pointer (&self);
}

static gboolean
ac_guestfs_copy (AcGuestfs *self, const AcTemplateProvisioner *p, GCancellable *cancellable,
		 GError **error)
{
	g_autofree gchar *parent = g_path_get_dirname (p->destination);
	guint mode = p->mode & 07777;
	gboolean mode_set = (p->mode & 0x80000000u) != 0 || mode != 0;
	struct stat st;
	int is_dir;

	if (lstat (p->source, &st) != 0) {
		g_set_error (error, AC_ERROR, AC_ERROR_NOT_FOUND, "cannot read '%s': %s", p->source,
			     g_strerror (errno));
		return FALSE;
	}
	if (guestfs_mkdir_p (self->g, parent) != 0)
		return ac_guestfs_fail (self, error, p->destination);
	/* like the chroot backend: a link in the last component is replaced, not followed */
	if (!S_ISDIR (st.st_mode) && guestfs_is_symlink (self->g, p->destination) == 1 &&
	    guestfs_rm (self->g, p->destination) != 0)
		return ac_guestfs_fail (self, error, p->destination);
	if (S_ISREG (st.st_mode)) {
		if (guestfs_upload (self->g, p->source, p->destination) != 0 ||
		    guestfs_chown (self->g, 0, 0, p->destination) != 0 ||
		    guestfs_chmod (self->g, (int)(mode_set ? mode : st.st_mode & 07777),
				   p->destination) != 0)
			return ac_guestfs_fail (self, error, p->destination);
		return TRUE;
	}
	if (S_ISLNK (st.st_mode)) {
		g_autofree gchar *target = g_file_read_link (p->source, NULL);
		if (target == NULL) {
			g_set_error (error, AC_ERROR, AC_ERROR_IO, "cannot read the link '%s'",
				     p->source);
			return FALSE;
		}
		if (guestfs_ln_sf (self->g, target, p->destination) != 0)
			return ac_guestfs_fail (self, error, p->destination);
		return TRUE;
	}
	if (!S_ISDIR (st.st_mode)) {
		g_set_error (error, AC_ERROR, AC_ERROR_UNSUPPORTED,
			     "'%s' is neither a file, a directory nor a symlink", p->source);
		return FALSE;
	}
	/* a directory: its contents as one tarball, owned by root */
	{
		const gchar *argv[] = { "tar", "-C", p->source, "--numeric-owner", "--owner=0",
					"--group=0", "-cf", self->tarball, ".", NULL };
		if (!ac_run_tool (argv, NULL, cancellable, NULL, error))
			return FALSE;
	}
	is_dir = guestfs_is_dir (self->g, p->destination);
	if (is_dir == 0 && guestfs_exists (self->g, p->destination) == 1) {
		g_set_error (error, AC_ERROR, AC_ERROR_EXISTS,
			     "'%s' exists in the guest and is not a directory", p->destination);
		g_unlink (self->tarball);
		return FALSE;
	}
	if (guestfs_mkdir_p (self->g, p->destination) != 0 ||
	    guestfs_tar_in (self->g, self->tarball, p->destination) != 0) {
		g_unlink (self->tarball);
		return ac_guestfs_fail (self, error, p->destination);
	}
	g_unlink (self->tarball);
	if (guestfs_chown (self->g, 0, 0, p->destination) != 0 ||
	    guestfs_chmod (self->g, (int)(mode_set ? mode : st.st_mode & 07777), p->destination) != 0)
		return ac_guestfs_fail (self, error, p->destination);
	return TRUE;
}

static gboolean
ac_guestfs_shell (AcGuestfs *self, const AcTemplateProvisioner *p, GError **error)
{
	/* the same clean environment as the chroot backend, set by the script itself */
	const gchar *clean[] = { "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
				 "HOME=/root", "LC_ALL=C", "LANG=C", "DEBIAN_FRONTEND=noninteractive",
				 "DEBCONF_NONINTERACTIVE_SEEN=true", "TERM=dumb", NULL };
	g_autofree gchar *name = g_strdup_printf ("/tmp/ac-provision-%08x.sh", g_random_int ());
	g_autoptr(GString) text = g_string_new (NULL);
	g_autofree gchar *body = NULL;
	gchar *out;
	const gchar *argv[] = { "/bin/sh", "-e", name, NULL };

	if (p->script != NULL) {
		if (!ac_file_read_bounded (p->script, AC_FILE_MAX_DEFAULT, &body, NULL, error)) {
			g_prefix_error (error, "%s.script: ", p->field);
			return FALSE;
		}
	} else {
		body = g_strjoinv ("\n", p->inline_cmds);
	}
	for (guint pass = 0; pass < 2; pass++) {
		const gchar *const *env = pass == 0 ? clean : (const gchar *const *)p->environment;
		for (guint i = 0; env != NULL && env[i] != NULL; i++) {
			const gchar *eq = strchr (env[i], '=');
			g_autofree gchar *key = NULL;
			g_autofree gchar *quoted = NULL;
			if (eq == NULL)
				continue;
			key = g_strndup (env[i], eq - env[i]);
			quoted = g_shell_quote (eq + 1);
			g_string_append_printf (text, "export %s=%s\n", key, quoted);
		}
	}
	/* stdout joins stderr: libguestfs reports stderr when a command fails, and a failing
	 * script's output is what explains it */
	g_string_append (text, "exec 1>&2\n");
	g_string_append (text, body);
	g_string_append_c (text, '\n');
	/* as in the chroot: the appliance bind-mounts /dev, /proc and /sys only where they exist */
	if (guestfs_mkdir_p (self->g, "/dev") != 0 || guestfs_mkdir_p (self->g, "/proc") != 0 ||
	    guestfs_mkdir_p (self->g, "/sys") != 0 || guestfs_mkdir_p (self->g, "/tmp") != 0 ||
	    guestfs_write (self->g, name, text->str, text->len) != 0 ||
	    guestfs_chmod (self->g, 0700, name) != 0)
		return ac_guestfs_fail (self, error, "writing the script into the guest");
	out = guestfs_command (self->g, (char **)argv);
	if (out == NULL) {
		ac_guestfs_fail (self, error, "the script failed in the guest");
		(void)guestfs_rm_f (self->g, name);
		return FALSE;
	}
	if (out[0] != '\0')
		g_debug ("provisioner output:\n%s", out);
	free (out);
	if (guestfs_rm_f (self->g, name) != 0)
		return ac_guestfs_fail (self, error, "removing the script from the guest");
	return TRUE;
}

gboolean
ac_guestfs_provision (AcGuestfs *self,
		      const AcTemplateProvisioner *p,
		      GCancellable *cancellable,
		      GError **error)
{
	gboolean ok;
	if (!ac_guestfs_check_cancel (cancellable, p->field, error))
		return FALSE;
	switch (p->type) {
	case AC_PROVISIONER_FILE:
		ok = ac_guestfs_copy (self, p, cancellable, error);
		break;
	case AC_PROVISIONER_SHELL:
		ok = ac_guestfs_shell (self, p, error);
		break;
	default:
		g_set_error (error, AC_ERROR, AC_ERROR_UNSUPPORTED,
			     "only file and shell provisioners run through libguestfs");
		ok = FALSE;
		break;
	}
	if (!ok)
		g_prefix_error (error, "%s: ", p->field);
	return ok;
}

/**
 * ac_guestfs_close:
 *
 * Reads the provisioned tree back from the appliance into a fresh directory that replaces
 * @root, and shuts the appliance down.
 */
gboolean
ac_guestfs_close (AcGuestfs *self, GCancellable *cancellable, GError **error)
{
	g_autofree gchar *fresh = g_strconcat (self->root, ".ac-guestfs-new", NULL);
	g_autofree gchar *old = g_strconcat (self->root, ".ac-guestfs-old", NULL);
	char *excludes[] = { (char *)"./lost+found", NULL };

	if (!ac_guestfs_check_cancel (cancellable, "reading the tree back from libguestfs", error))
		return FALSE;
	if (guestfs_sync (self->g) != 0 ||
	    guestfs_tar_out_opts (self->g, "/", self->tarball, GUESTFS_TAR_OUT_OPTS_NUMERICOWNER, 1,
				  GUESTFS_TAR_OUT_OPTS_XATTRS, 1, GUESTFS_TAR_OUT_OPTS_EXCLUDES,
				  self->had_lost_found ? (char **)&excludes[1] : excludes,
				  -1) != 0)
		return ac_guestfs_fail (self, error, "reading the tree back");
	if (guestfs_umount_all (self->g) != 0 || guestfs_shutdown (self->g) != 0)
		return ac_guestfs_fail (self, error, "shutting the appliance down");
	guestfs_close (self->g);
	self->g = NULL;
	g_unlink (self->image);

	if (!ac_remove_tree (fresh, error) || !ac_remove_tree (old, error))
		return FALSE;
	if (g_mkdir (fresh, 0755) != 0) {
		g_set_error (error, AC_ERROR, AC_ERROR_IO, "cannot create %s: %s", fresh,
			     g_strerror (errno));
		return FALSE;
	}
	{
		const gchar *argv[] = { "tar", "-C", fresh, "--numeric-owner", "--xattrs",
					"--xattrs-include=*", "-xpf", self->tarball, NULL };
		if (!ac_run_tool (argv, NULL, cancellable, NULL, error)) {
			g_prefix_error (error, "unpacking the tree from libguestfs: ");
			(void)ac_remove_tree (fresh, NULL);
			return FALSE;
		}
	}
	g_unlink (self->tarball);
	if (g_rename (self->root, old) != 0 || g_rename (fresh, self->root) != 0) {
		g_set_error (error, AC_ERROR, AC_ERROR_IO, "cannot put the provisioned tree in place "
			     "at %s: %s", self->root, g_strerror (errno));
		return FALSE;
	}
	return ac_remove_tree (old, error);
}

#else /* !HAVE_LIBGUESTFS */

static gboolean
ac_guestfs_unsupported (GError **error)
{
	g_set_error_literal (error, AC_ERROR, AC_ERROR_UNSUPPORTED,
			     "provision_backend 'libguestfs': this build has no libguestfs "
			     "(meson option -Dlibguestfs=enabled, package libguestfs-dev)");
	return FALSE;
}

AcGuestfs *
ac_guestfs_open (const gchar *root, const gchar *workdir, GCancellable *cancellable,
		 GError **error)
{
	ac_guestfs_unsupported (error);
	return NULL;
}

gboolean
ac_guestfs_provision (AcGuestfs *self,
		      const AcTemplateProvisioner *p,
		      GCancellable *cancellable,
		      GError **error)
{
	return ac_guestfs_unsupported (error);
}

gboolean
ac_guestfs_close (AcGuestfs *self, GCancellable *cancellable, GError **error)
{
	return ac_guestfs_unsupported (error);
}

#endif
