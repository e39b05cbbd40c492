/* Safe local files: bounded reads of user-named inputs, and outputs written to an exclusive
 * temporary file beside the destination, then renamed over it. GLib only. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* the default bound for a file the CLI reads into memory (keys, JSON, certificates, chains) */
#define AC_FILE_MAX_DEFAULT (16 * 1024 * 1024)

typedef enum {
	AC_FILE_READ_DEFAULT = 0,
	AC_FILE_READ_PRIVATE = 1 << 0, /* refuse a file group or others may access (secrets) */
} AcFileReadFlags;

int ac_file_open_regular (const gchar *path, gsize max, guint64 *size, GError **error);
int ac_file_open_regular_full (const gchar *path,
			       gsize max,
			       AcFileReadFlags flags,
			       guint64 *size,
			       GError **error);
gboolean ac_file_read_bounded (const gchar *path,
			       gsize max,
			       gchar **data,
			       gsize *len,
			       GError **error);
gboolean ac_file_read_bounded_full (const gchar *path,
				    gsize max,
				    AcFileReadFlags flags,
				    gchar **data,
				    gsize *len,
				    GError **error);
GBytes *ac_file_read_bytes (const gchar *path, gsize max, GError **error);
GBytes *ac_file_map_bytes (const gchar *path, gsize max, GError **error);
/* "@format…: <@file_error's message>", not-found when the file does not exist, else I/O */
void ac_file_set_read_error (GError **error, const GError *file_error, const gchar *format, ...)
    G_GNUC_PRINTF (3, 4);

int ac_file_create_temp (const gchar *dest, guint mode, gchar **tmp_path, GError **error);

typedef enum {
	AC_FILE_DEST_NEW,       /* nothing there: create it */
	AC_FILE_DEST_REPLACE,   /* a regular file, and --force: replace it */
	AC_FILE_DEST_IN_PLACE,  /* a character device (/dev/null, a terminal): write into it */
	AC_FILE_DEST_STDOUT,    /* "-" */
} AcFileDest;

gboolean ac_file_check_destination (const gchar *dest,
				    gboolean force,
				    AcFileDest *kind,
				    GError **error);

typedef struct _AcFileOut AcFileOut;

AcFileOut *ac_file_out_open (const gchar *dest, gboolean force, guint mode, GError **error);
int ac_file_out_get_fd (AcFileOut *self);
const gchar *ac_file_out_get_path (AcFileOut *self);
gboolean ac_file_out_commit (AcFileOut *self, GError **error);
void ac_file_out_free (AcFileOut *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AcFileOut, ac_file_out_free)

gboolean ac_file_write_all (int fd, const gchar *what, const void *data, gsize len, GError **error);
gboolean ac_file_replace_contents (const gchar *dest,
				   const void *data,
				   gsize len,
				   gboolean force,
				   guint mode,
				   GError **error);
/* the same for a file @name (@mode) in @dir, replacing what is there (state directories) */
gboolean ac_file_replace_contents_in (const gchar *dir,
				      const gchar *name,
				      guint mode,
				      const void *data,
				      gsize len,
				      GError **error);

G_END_DECLS
