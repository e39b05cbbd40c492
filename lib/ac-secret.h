/*
 * aleph-confidential: secrets in locked, never-dumped memory, cleansed when freed (passphrases,
 * keyfiles, keys).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/*
 * AcSecret: a byte string that is locked in memory where possible and cleansed when freed.
 * @data is always NUL-terminated (the NUL is not counted in @len). Never log it.
 */
typedef struct {
	gchar *data;
	gsize len;
} AcSecret;

AcSecret *ac_secret_new (const gchar *data, gsize len);
AcSecret *ac_secret_new_random_bytes (gsize len, GError **error);
AcSecret *ac_secret_generate_passphrase (guint nchars, GError **error);
AcSecret *ac_secret_generate_keyfile (GError **error);
AcSecret *ac_secret_dup (const AcSecret *secret);
gboolean ac_secret_check_ascii (const AcSecret *secret, GError **error);

/* the longest password ac_secret_read_password() takes */
#define AC_SECRET_PASSWORD_MAX 1024

/*
 * A password for @what (a file name, "keystore /root/k.json"): the first line of @file (a
 * regular file, its trailing newline dropped) when @file is not NULL, else asked on the
 * controlling terminal without echo. No terminal and no @file is an error that names
 * @option (the option that gives the file, "--password-file").
 */
AcSecret *ac_secret_read_password (const gchar *what,
				   const gchar *file,
				   const gchar *option,
				   GError **error);

/*
 * A disk passphrase kept in a file (or "-": standard input), as every command reads one: one
 * line of 1 to 512 printable ASCII characters; one final \n or \r\n is the file's. Errors name
 * @what (the option or field that gives the file, "--passphrase-file", "passphrase.file").
 */
AcSecret *
ac_secret_read_passphrase_file (const gchar *path, const gchar *what, GError **error);
void ac_secret_free (AcSecret *secret);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (AcSecret, ac_secret_free)

/*
 * Raw key material outside an AcSecret (TEK/TIK arrays, derived keys, decoded bytes): the one
 * way to wipe it, which the compiler may not optimise away.
 */
void ac_secret_wipe (gpointer data, gsize len);
void ac_secret_wipe_free (gpointer data, gsize len);
/* a GBytes that owns @data (g_malloc'ed) and wipes it when the last reference goes */
GBytes *ac_secret_bytes_new_take (gpointer data, gsize len);

/*
 * A small key on the stack that is wiped when it goes out of scope:
 * `g_auto (AcSecretBuf) tek = { 0 };` then `tek.data`, up to 64 bytes.
 */
typedef struct {
	guint8 data[64];
} AcSecretBuf;

void ac_secret_buf_clear (AcSecretBuf *buf);

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (AcSecretBuf, ac_secret_buf_clear)

G_END_DECLS
