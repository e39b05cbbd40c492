/* Safe local files.
 *
 * Inputs: a file the user names is opened O_RDONLY|O_NONBLOCK|O_CLOEXEC|O_NOCTTY (a FIFO does
 * not block the open), must be a regular file (fstat; "-" is standard input, explicitly), and
 * is read with its size bound checked while reading (/dev/zero-like files cannot grow memory).
 *
 * Outputs: written to a temporary file created O_EXCL|O_NOFOLLOW|O_CLOEXEC with a random name
 * in the destination's folder, then renamed over the destination. An existing regular
 * destination is replaced only when the caller says so (--force); a character device
 * (/dev/null, a terminal, /dev/stdout) is written in place; anything else (a directory, a
 * FIFO, a socket, a block device) is refused; "-" is standard output. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "ac-error.h"
#include "ac-file.h"
#include "ac-secret.h"

static gint
error_code_from_errno (int errsv)
{
	switch (errsv) {
	case ENOENT:
	case ENOTDIR:
		return AC_ERROR_NOT_FOUND;
	case EACCES:
	case EPERM:
		return AC_ERROR_PERMISSION;
	default:
		return AC_ERROR_IO;
	}
}

static const gchar *
file_type_name (mode_t mode)
{
	if (S_ISDIR (mode))
		return "a directory";
	if (S_ISFIFO (mode))
		return "a FIFO";
	if (S_ISSOCK (mode))
		return "a socket";
	if (S_ISCHR (mode))
		return "a character device";
	if (S_ISBLK (mode))
		return "a block device";
	if (S_ISLNK (mode))
		return "a symbolic link";
	return "not a file";
}

/**
 * ac_file_open_regular:
 * @max: the largest size accepted, in bytes
 * @size: (out) (optional): the file's size
 *
 * Opens a file the user named for reading: O_RDONLY|O_NONBLOCK|O_CLOEXEC|O_NOCTTY (a FIFO
 * does not block the open), then refuses anything but a regular file of at most @max bytes.
 * The descriptor returned is blocking again; -1 on error.
 */
int
ac_file_open_regular (const gchar *path, gsize max, guint64 *size, GError **error)
{
	return ac_file_open_regular_full (path, max, AC_FILE_READ_DEFAULT, size, error);
}

/**
 * ac_file_open_regular_full:
 * @flags: %AC_FILE_READ_PRIVATE: a file that grants group or others any access is refused
 *   (%AC_ERROR_PERMISSION), checked on the descriptor opened, not on the name
 *
 * ac_file_open_regular() with @flags.
 */
int
ac_file_open_regular_full (const gchar *path,
                           gsize max,
                           AcFileReadFlags flags,
                           guint64 *size,
                           GError **error)
{
	g_autofree gchar *display = g_filename_display_name (path);
	struct stat st;
	int fl;
	int fd = open (path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);

	if (fd < 0) {
		int errsv = errno;
		g_set_error (error, AC_ERROR, error_code_from_errno (errsv), "cannot open %s: %s",
		             display, g_strerror (errsv));
		return -1;
	}
	if (fstat (fd, &st) != 0) {
		int errsv = errno;
		close (fd);
		g_set_error (error, AC_ERROR, AC_ERROR_IO, "cannot stat %s: %s", display,
		             g_strerror (errsv));
		return -1;
	}
	if (!S_ISREG (st.st_mode)) {
		close (fd);
		g_set_error (
		    error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		    "%s is not a regular file (it is %s): expected a file, or - for standard "
		    "input where the command accepts it",
		    display, file_type_name (st.st_mode));
		return -1;
	}
	if ((flags & AC_FILE_READ_PRIVATE) != 0 && (st.st_mode & 0077) != 0) {
		close (fd);
		g_set_error (error, AC_ERROR, AC_ERROR_PERMISSION,
		             "%s has mode %04o: expected no access for group and others "
		             "(chmod 600 %s)",
		             display, (guint)(st.st_mode & 07777), display);
		return -1;
	}
	if ((guint64)st.st_size > (guint64)max) {
		close (fd);
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "%s is too large: %" G_GUINT64_FORMAT
		             " bytes, the limit is %" G_GSIZE_FORMAT,
		             display, (guint64)st.st_size, max);
		return -1;
	}
	/* a regular file: blocking reads from here on */
	fl = fcntl (fd, F_GETFL);
	if (fl >= 0)
		(void)fcntl (fd, F_SETFL, fl & ~O_NONBLOCK);
	if (size != NULL)
		*size = (guint64)st.st_size;
	return fd;
}

/**
 * ac_file_read_bounded:
 * @path: the file, or "-" for standard input
 * @max: the largest size accepted, in bytes
 * @data: (out): the contents, NUL-terminated (one byte more than @len)
 * @len: (out) (optional): their length
 *
 * Reads a regular file (or standard input) of at most @max bytes. Fails at once, without
 * blocking, on a FIFO, a device or a directory, and stops reading as soon as the input
 * exceeds @max.
 */
gboolean
ac_file_read_bounded (const gchar *path, gsize max, gchar **data, gsize *len, GError **error)
{
	return ac_file_read_bounded_full (path, max, AC_FILE_READ_DEFAULT, data, len, error);
}

/**
 * ac_file_read_bounded_full:
 * @flags: as for ac_file_open_regular_full() (standard input has no mode to check)
 *
 * ac_file_read_bounded() with @flags.
 */
gboolean
ac_file_read_bounded_full (const gchar *path,
                           gsize max,
                           AcFileReadFlags flags,
                           gchar **data,
                           gsize *len,
                           GError **error)
{
	g_autofree gchar *display = g_filename_display_name (path);
	gchar *buf = NULL;
	gboolean is_stdin = g_strcmp0 (path, "-") == 0;
	gsize cap, got = 0;
	int fd;

	g_return_val_if_fail (path != NULL && data != NULL, FALSE);

	if (is_stdin) {
		fd = STDIN_FILENO;
		cap = 65536;
	} else {
		guint64 size = 0;
		fd = ac_file_open_regular_full (path, max, flags, &size, error);
		if (fd < 0)
			return FALSE;
		cap = (gsize)size + 1;
	}
	cap = MIN (MAX (cap, 4096), max + 1);
	buf = g_malloc (cap + 1);
	for (;;) {
		ssize_t n;
		if (got == cap) {
			if (got > max)
				break;
			/* the contents may be a key: the old buffer is wiped, never left to realloc
			 */
			gchar *bigger = g_malloc (MIN (cap * 2, max + 1) + 1);
			memcpy (bigger, buf, got);
			ac_secret_wipe_free (buf, cap + 1);
			buf = bigger;
			cap = MIN (cap * 2, max + 1);
		}
		n = read (fd, buf + got, cap - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int errsv = errno;
			if (!is_stdin)
				close (fd);
			g_set_error (error, AC_ERROR, AC_ERROR_IO, "cannot read %s: %s",
			             is_stdin ? "standard input" : display, g_strerror (errsv));
			ac_secret_wipe_free (buf, cap + 1);
			return FALSE;
		}
		if (n == 0)
			break;
		got += (gsize)n;
	}
	if (!is_stdin)
		close (fd);
	if (got > max) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "%s is too large: more than the limit of %" G_GSIZE_FORMAT " bytes",
		             is_stdin ? "standard input" : display, max);
		ac_secret_wipe_free (buf, cap + 1);
		return FALSE;
	}
	buf[got] = '\0';
	if (len != NULL)
		*len = got;
	*data = buf;
	return TRUE;
}

/**
 * ac_file_map_bytes:
 *
 * A regular file of at most @max bytes (opened as ac_file_open_regular() does: a FIFO or a
 * device is refused at once), mapped rather than copied: firmware, kernels, bundles.
 */
GBytes *
ac_file_map_bytes (const gchar *path, gsize max, GError **error)
{
	g_autoptr (GError) error_local = NULL;
	g_autoptr (GMappedFile) map = NULL;
	int fd = ac_file_open_regular (path, max, NULL, error);

	if (fd < 0)
		return NULL;
	map = g_mapped_file_new_from_fd (fd, FALSE, &error_local);
	close (fd);
	if (map == NULL) {
		ac_file_set_read_error (error, error_local, "%s", path);
		return NULL;
	}
	return g_mapped_file_get_bytes (map);
}

/* the same, as bytes */
GBytes *
ac_file_read_bytes (const gchar *path, gsize max, GError **error)
{
	gchar *data = NULL;
	gsize len = 0;
	if (!ac_file_read_bounded (path, max, &data, &len, error))
		return NULL;
	return g_bytes_new_take (data, len);
}

/**
 * ac_file_set_read_error:
 * @file_error: why a file could not be read: a #G_FILE_ERROR (g_file_get_contents(),
 *   g_mapped_file_new())
 * @format: what was being read, the message's start
 *
 * Sets @error to "CONTEXT: <@file_error's message>": %AC_ERROR_NOT_FOUND when the file does
 * not exist, %AC_ERROR_IO for any other failure.
 */
void
ac_file_set_read_error (GError **error, const GError *file_error, const gchar *format, ...)
{
	g_autofree gchar *context = NULL;
	va_list args;

	va_start (args, format);
	context = g_strdup_vprintf (format, args);
	va_end (args);
	g_set_error (error, AC_ERROR,
	             g_error_matches (file_error, G_FILE_ERROR, G_FILE_ERROR_NOENT)
	                 ? AC_ERROR_NOT_FOUND
	                 : AC_ERROR_IO,
	             "%s: %s", context, file_error->message);
}

/**
 * ac_file_create_temp:
 * @dest: the file the temporary one will replace
 * @tmp_path: (out): the temporary file's name
 *
 * Creates a new, empty file with a random name beside @dest (same folder, so that a rename is
 * atomic), O_EXCL|O_NOFOLLOW|O_CLOEXEC: a planted file or symlink is never followed or
 * reused. Returns its descriptor, open for writing, or -1.
 */
int
ac_file_create_temp (const gchar *dest, guint mode, gchar **tmp_path, GError **error)
{
	g_autofree gchar *dir = g_path_get_dirname (dest);
	g_autofree gchar *base = g_path_get_basename (dest);
	g_autofree gchar *name = g_strdup_printf (".%s.XXXXXX", base);
	g_autofree gchar *tmpl = g_build_filename (dir, name, NULL);
	int fd = g_mkstemp_full (tmpl, O_WRONLY | O_NOFOLLOW | O_CLOEXEC, (int)mode);

	if (fd < 0) {
		int errsv = errno;
		g_autofree gchar *display = g_filename_display_name (dest);
		g_set_error (error, AC_ERROR, error_code_from_errno (errsv),
		             "cannot create a temporary file for %s in %s: %s", display, dir,
		             g_strerror (errsv));
		return -1;
	}
	*tmp_path = g_steal_pointer (&tmpl);
	return fd;
}

/**
 * ac_file_check_destination:
 * @force: an existing regular file may be replaced
 * @kind: (out): how to write it
 *
 * Whether @dest may be written, and how. Refuses a directory, FIFO, socket or block device,
 * and an existing regular file without @force (AC_ERROR_EXISTS).
 */
gboolean
ac_file_check_destination (const gchar *dest, gboolean force, AcFileDest *kind, GError **error)
{
	g_autofree gchar *display = NULL;
	struct stat st;

	/* /dev/stdout may be a pipe: it is standard output, whatever it is */
	if (g_strcmp0 (dest, "-") == 0 || g_strcmp0 (dest, "/dev/stdout") == 0) {
		*kind = AC_FILE_DEST_STDOUT;
		return TRUE;
	}
	display = g_filename_display_name (dest);
	if (stat (dest, &st) != 0) {
		int errsv = errno;
		if (errsv == ENOENT && lstat (dest, &st) != 0) {
			*kind = AC_FILE_DEST_NEW;
			return TRUE;
		}
		if (errsv == ENOENT) {
			g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			             "%s is a dangling symbolic link: refusing to write through it",
			             display);
			return FALSE;
		}
		g_set_error (error, AC_ERROR, error_code_from_errno (errsv), "cannot stat %s: %s",
		             display, g_strerror (errsv));
		return FALSE;
	}
	if (S_ISCHR (st.st_mode)) {
		*kind = AC_FILE_DEST_IN_PLACE;
		return TRUE;
	}
	if (!S_ISREG (st.st_mode)) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "%s exists and is not a regular file (it is %s): expected a new or "
		             "regular file, a character device, or - for standard output",
		             display, file_type_name (st.st_mode));
		return FALSE;
	}
	if (!force) {
		g_set_error (error, AC_ERROR, AC_ERROR_EXISTS,
		             "%s exists: refusing to overwrite it without --force", display);
		return FALSE;
	}
	*kind = AC_FILE_DEST_REPLACE;
	return TRUE;
}

struct _AcFileOut {
	gchar *dest;
	gchar *tmp; /* NULL when written in place or to stdout */
	AcFileDest kind;
	int fd;
};

/**
 * ac_file_out_open:
 *
 * An output to @dest (see ac_file_check_destination()): write to ac_file_out_get_fd(), then
 * ac_file_out_commit(). Freed uncommitted, the temporary file is removed and @dest unchanged.
 */
AcFileOut *
ac_file_out_open (const gchar *dest, gboolean force, guint mode, GError **error)
{
	g_autofree gchar *display = g_filename_display_name (dest);
	AcFileOut *self;
	AcFileDest kind;
	int fd;
	gchar *tmp = NULL;

	if (!ac_file_check_destination (dest, force, &kind, error))
		return NULL;
	if (kind == AC_FILE_DEST_STDOUT) {
		fd = STDOUT_FILENO;
	} else if (kind == AC_FILE_DEST_IN_PLACE) {
		struct stat st;
		fd = open (dest, O_WRONLY | O_CLOEXEC | O_NOCTTY);
		if (fd < 0) {
			int errsv = errno;
			g_set_error (error, AC_ERROR, error_code_from_errno (errsv),
			             "cannot open %s: %s", display, g_strerror (errsv));
			return NULL;
		}
		/* what was checked is what was opened */
		if (fstat (fd, &st) != 0 || !S_ISCHR (st.st_mode)) {
			close (fd);
			g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			             "%s changed while it was opened: refusing to write it",
			             display);
			return NULL;
		}
	} else {
		fd = ac_file_create_temp (dest, mode, &tmp, error);
		if (fd < 0)
			return NULL;
	}
	self = g_new0 (AcFileOut, 1);
	self->dest = g_strdup (dest);
	self->tmp = tmp;
	self->kind = kind;
	self->fd = fd;
	return self;
}

int
ac_file_out_get_fd (AcFileOut *self)
{
	return self->fd;
}

/* the file being written: the temporary one, or the destination itself */
const gchar *
ac_file_out_get_path (AcFileOut *self)
{
	if (self->tmp != NULL)
		return self->tmp;
	return self->kind == AC_FILE_DEST_STDOUT ? "standard output" : self->dest;
}

/* flushed to disk and renamed over the destination (atomically) */
gboolean
ac_file_out_commit (AcFileOut *self, GError **error)
{
	g_autofree gchar *display = g_filename_display_name (self->dest);
	int fd = self->fd;

	self->fd = -1;
	if (self->kind == AC_FILE_DEST_STDOUT)
		return TRUE;
	if (self->kind == AC_FILE_DEST_IN_PLACE) {
		if (close (fd) != 0) {
			int errsv = errno;
			g_set_error (error, AC_ERROR, AC_ERROR_IO, "cannot write %s: %s", display,
			             g_strerror (errsv));
			return FALSE;
		}
		return TRUE;
	}
	if (fsync (fd) != 0 || close (fd) != 0) {
		int errsv = errno;
		g_set_error (error, AC_ERROR, AC_ERROR_IO, "cannot write %s: %s", self->tmp,
		             g_strerror (errsv));
		return FALSE;
	}
	if (g_rename (self->tmp, self->dest) != 0) {
		int errsv = errno;
		g_set_error (error, AC_ERROR, error_code_from_errno (errsv),
		             "cannot rename %s to %s: %s", self->tmp, display, g_strerror (errsv));
		return FALSE;
	}
	g_clear_pointer (&self->tmp, g_free);
	return TRUE;
}

void
ac_file_out_free (AcFileOut *self)
{
	if (self == NULL)
		return;
	if (self->fd >= 0 && self->kind != AC_FILE_DEST_STDOUT)
		close (self->fd);
	if (self->tmp != NULL)
		(void)g_unlink (self->tmp);
	g_free (self->tmp);
	g_free (self->dest);
	g_free (self);
}

gboolean
ac_file_write_all (int fd, const gchar *what, const void *data, gsize len, GError **error)
{
	const guint8 *p = data;
	while (len > 0) {
		ssize_t n = write (fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int errsv = errno;
			g_set_error (error, AC_ERROR, AC_ERROR_IO, "cannot write %s: %s", what,
			             n < 0 ? g_strerror (errsv) : "short write");
			return FALSE;
		}
		p += n;
		len -= (gsize)n;
	}
	return TRUE;
}

/* @data written to @dest through ac_file_out_open() */
gboolean
ac_file_replace_contents (const gchar *dest,
                          const void *data,
                          gsize len,
                          gboolean force,
                          guint mode,
                          GError **error)
{
	g_autoptr (AcFileOut) out = ac_file_out_open (dest, force, mode, error);
	if (out == NULL)
		return FALSE;
	return ac_file_write_all (out->fd, ac_file_out_get_path (out), data, len, error)
	       && ac_file_out_commit (out, error);
}

gboolean
ac_file_replace_contents_in (const gchar *dir,
                             const gchar *name,
                             guint mode,
                             const void *data,
                             gsize len,
                             GError **error)
{
	g_autofree gchar *path = g_build_filename (dir, name, NULL);
	return ac_file_replace_contents (path, data, len, TRUE, mode, error);
}
