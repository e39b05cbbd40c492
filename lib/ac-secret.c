/*
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Secrets are allocated with one spare byte for a NUL, on pages of their own that are kept out of
 * core dumps (MADV_DONTDUMP) and mlock()ed (best effort: an unprivileged caller may be over
 * RLIMIT_MEMLOCK), and wiped with OPENSSL_cleanse() before they are freed.
 */

#include "config.h"

#include "ac-secret.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <termios.h>
#include <unistd.h>

#include "ac-error.h"
#include "ac-file.h"
#include "ac-process.h"

/* page-aligned and a whole number of pages: MADV_DONTDUMP hides exactly the secret's pages */
static gsize
ac_secret_alloc_size (gsize len)
{
	gsize page = (gsize)sysconf (_SC_PAGESIZE);
	return (len + 1 + page - 1) / page * page;
}

static AcSecret *
ac_secret_alloc (gsize len)
{
	AcSecret *secret = g_new0 (AcSecret, 1);
	gsize size = ac_secret_alloc_size (len);
	secret->data = g_aligned_alloc0 (1, size, (gsize)sysconf (_SC_PAGESIZE));
	secret->len = len;
	ac_process_protect_memory (secret->data, size);
	return secret;
}

/**
 * ac_secret_wipe:
 *
 * Overwrites @len bytes at @data with zeros in a way the compiler keeps (OPENSSL_cleanse).
 * NULL or 0 is a no-op.
 */
void
ac_secret_wipe (gpointer data, gsize len)
{
	if (data != NULL && len > 0)
		OPENSSL_cleanse (data, len);
}

/**
 * ac_secret_wipe_free:
 *
 * ac_secret_wipe() then g_free().
 */
void
ac_secret_wipe_free (gpointer data, gsize len)
{
	ac_secret_wipe (data, len);
	g_free (data);
}

typedef struct {
	gpointer data;
	gsize len;
} AcSecretBytesData;

static void
ac_secret_bytes_free (gpointer user_data)
{
	AcSecretBytesData *b = user_data;
	ac_secret_wipe_free (b->data, b->len);
	g_free (b);
}

/**
 * ac_secret_bytes_new_take:
 *
 * A GBytes that owns @data (g_malloc'ed) and wipes it when the last reference goes: decoded
 * keys, decrypted tables, passphrases read from a file.
 */
GBytes *
ac_secret_bytes_new_take (gpointer data, gsize len)
{
	AcSecretBytesData *b = g_new0 (AcSecretBytesData, 1);
	b->data = data;
	b->len = len;
	return g_bytes_new_with_free_func (data, len, ac_secret_bytes_free, b);
}

void
ac_secret_buf_clear (AcSecretBuf *buf)
{
	ac_secret_wipe (buf, sizeof (*buf));
}

void
ac_secret_free (AcSecret *secret)
{
	gsize size;
	if (secret == NULL)
		return;
	size = ac_secret_alloc_size (secret->len);
	ac_secret_wipe (secret->data, size);
	(void)munlock (secret->data, size);
#ifdef MADV_DODUMP
	(void)madvise (secret->data, size, MADV_DODUMP);
#endif
	g_aligned_free (secret->data);
	g_free (secret);
}

AcSecret *
ac_secret_new (const gchar *data, gsize len)
{
	AcSecret *secret = ac_secret_alloc (len);
	if (len > 0)
		memcpy (secret->data, data, len);
	return secret;
}

AcSecret *
ac_secret_dup (const AcSecret *secret)
{
	return ac_secret_new (secret->data, secret->len);
}

AcSecret *
ac_secret_new_random_bytes (gsize len, GError **error)
{
	g_autoptr(AcSecret) secret = ac_secret_alloc (len);
	if (len > G_MAXINT || RAND_bytes ((guint8 *)secret->data, (int)len) != 1) {
		g_set_error (error, AC_ERROR, AC_ERROR_INTERNAL,
			     "random generator failed for a %" G_GSIZE_FORMAT "-byte secret", len);
		return NULL;
	}
	return g_steal_pointer (&secret);
}

/**
 * ac_secret_generate_passphrase:
 * @nchars: length; 32 characters of this alphabet carry about 190 bits
 *
 * A passphrase of letters and digits only: ASCII is required by Aleph's secret table (docs/protocols.md#launch-secret) and
 * the characters survive being typed at GRUB's prompt on any keyboard layout. Uniform by
 * rejection sampling.
 */
AcSecret *
ac_secret_generate_passphrase (guint nchars, GError **error)
{
	static const gchar alphabet[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
	const guint n = sizeof (alphabet) - 1; /* 62 */
	const guint limit = 256 - (256 % n);   /* 248: bytes >= limit are rejected */
	g_autoptr(AcSecret) secret = ac_secret_alloc (nchars);
	guint8 pool[64];
	gsize pool_len = 0, pool_pos = 0;

	if (nchars < 16 || nchars > 512) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			     "passphrase length %u: expected 16 to 512 characters", nchars);
		return NULL;
	}
	for (guint i = 0; i < nchars;) {
		guint8 b;
		if (pool_pos == pool_len) {
			if (RAND_bytes (pool, sizeof (pool)) != 1) {
				ac_secret_wipe (pool, sizeof (pool));
				g_set_error_literal (error, AC_ERROR, AC_ERROR_INTERNAL,
						     "random generator failed for the passphrase");
				return NULL;
			}
			pool_len = sizeof (pool);
			pool_pos = 0;
		}
		b = pool[pool_pos++];
		if (b >= limit)
			continue;
		secret->data[i++] = alphabet[b % n];
	}
	ac_secret_wipe (pool, sizeof (pool));
	return g_steal_pointer (&secret);
}

/**
 * ac_secret_generate_keyfile:
 *
 * The initramfs keyfile of Aleph's reference image (docs/protocols.md#disk-image-layout): base64 of 33 random bytes, 44
 * characters, no newline.
 */
AcSecret *
ac_secret_generate_keyfile (GError **error)
{
	g_autoptr(AcSecret) raw = ac_secret_new_random_bytes (33, error);
	g_autoptr(AcSecret) b64 = NULL;
	if (raw == NULL)
		return NULL;
	b64 = ac_secret_alloc (44);
	if (EVP_EncodeBlock ((guint8 *)b64->data, (const guint8 *)raw->data, 33) != 44) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_INTERNAL, "base64 encoding failed");
		return NULL;
	}
	return g_steal_pointer (&b64);
}

/**
 * ac_secret_check_ascii:
 *
 * A passphrase given by the user must be printable ASCII (Aleph's secret table counts
 * characters, not bytes) and not empty. The message never quotes the secret.
 */
gboolean
ac_secret_check_ascii (const AcSecret *secret, GError **error)
{
	if (secret->len == 0 || secret->len > 512) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			     "passphrase has %" G_GSIZE_FORMAT " characters: expected 1 to 512",
			     secret->len);
		return FALSE;
	}
	for (gsize i = 0; i < secret->len; i++) {
		guchar c = (guchar)secret->data[i];
		if (c < 0x20 || c > 0x7e) {
			g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
				     "passphrase character %" G_GSIZE_FORMAT
				     " is not printable ASCII: expected 0x20 to 0x7e",
				     i + 1);
			return FALSE;
		}
	}
	return TRUE;
}

/* a passphrase is at most 512 characters; a larger file is read far enough to say so */
#define AC_SECRET_PASSPHRASE_FILE_MAX (64 * 1024)

/**
 * ac_secret_read_passphrase_file:
 * @path: the file, or "-" for standard input
 * @what: how the user named it, for errors ("--passphrase-file", "passphrase.file")
 *
 * Reads a disk passphrase the way every command of the project does, so that the passphrase
 * a build encrypts with is the one a flow later injects from the same file: a regular file
 * (a FIFO or a device is refused at once, never waited on) that grants group and others no
 * access (%AC_ERROR_PERMISSION otherwise: a passphrase others can read has leaked), of one
 * line, whose final \n or \r\n is dropped; the rest must pass ac_secret_check_ascii(). A
 * second line is refused, not dropped: which of two lines is meant is the user's to say. What
 * was read is wiped.
 *
 * Returns: (transfer full): the passphrase, or NULL with @error set (%AC_ERROR_INVALID_INPUT
 * for the contents, the file's own error otherwise)
 */
AcSecret *
ac_secret_read_passphrase_file (const gchar *path, const gchar *what, GError **error)
{
	g_autofree gchar *display = NULL;
	g_autoptr (AcSecret) pass = NULL;
	g_autoptr (GError) error_local = NULL;
	gchar *data = NULL;
	gsize len = 0, line;

	g_return_val_if_fail (path != NULL && what != NULL, NULL);
	if (!ac_file_read_bounded_full (path, AC_SECRET_PASSPHRASE_FILE_MAX, AC_FILE_READ_PRIVATE,
	                                &data, &len, error)) {
		g_prefix_error (error, "%s: ", what);
		return NULL;
	}
	display = g_strcmp0 (path, "-") == 0 ? g_strdup ("standard input")
	                                     : g_filename_display_name (path);
	line = len;
	if (line > 0 && data[line - 1] == '\n')
		line--;
	if (line > 0 && data[line - 1] == '\r' && line < len)
		line--;
	if (memchr (data, '\n', line) != NULL) {
		ac_secret_wipe_free (data, len);
		g_set_error (
		    error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		    "%s: %s holds more than one line: expected the passphrase alone on one "
		    "line",
		    what, display);
		return NULL;
	}
	pass = ac_secret_new (data, line);
	ac_secret_wipe_free (data, len);
	if (!ac_secret_check_ascii (pass, &error_local)) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT, "%s: %s: %s", what, display,
		             error_local->message);
		return NULL;
	}
	return g_steal_pointer (&pass);
}

static AcSecret *
ac_secret_password_from_file (const gchar *what, const gchar *file, const gchar *option,
			      GError **error)
{
	gchar *data = NULL;
	gsize len = 0;
	gsize line = 0;
	AcSecret *secret;

	/* a bit more than a password: the file may hold its newline (or \r\n) */
	if (!ac_file_read_bounded (file, AC_SECRET_PASSWORD_MAX + 2, &data, &len, error)) {
		g_prefix_error (error, "%s %s (the password of %s): ", option, file, what);
		return NULL;
	}
	while (line < len && data[line] != '\n' && data[line] != '\0')
		line++;
	if (line < len && data[line] == '\0') {
		ac_secret_wipe_free (data, len);
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			     "%s %s (the password of %s) contains a NUL byte", option, file, what);
		return NULL;
	}
	if (line > 0 && data[line - 1] == '\r')
		line--;
	if (line == 0 || line > AC_SECRET_PASSWORD_MAX) {
		ac_secret_wipe_free (data, len);
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			     "%s %s (the password of %s) is %s; expected one line of 1 to %u bytes",
			     option, file, what, line == 0 ? "empty" : "too long",
			     AC_SECRET_PASSWORD_MAX);
		return NULL;
	}
	secret = ac_secret_new (data, line);
	ac_secret_wipe_free (data, len);
	return secret;
}

static AcSecret *
ac_secret_password_from_tty (const gchar *what, const gchar *option, GError **error)
{
	struct termios old, quiet;
	g_autofree gchar *prompt = g_strdup_printf ("Password of %s: ", what);
	gchar buf[AC_SECRET_PASSWORD_MAX + 1];
	gsize len = 0;
	gboolean too_long = FALSE, done = FALSE;
	AcSecret *secret = NULL;
	int fd = open ("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);

	if (fd < 0 || tcgetattr (fd, &old) != 0) {
		if (fd >= 0)
			close (fd);
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			     "%s is encrypted and there is no terminal to ask for its password: "
			     "give it with %s FILE",
			     what, option);
		return NULL;
	}
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
	quiet.c_lflag |= ICANON;
	/* echo off before the prompt: what is typed after it is never shown, nor flushed */
	if (tcsetattr (fd, TCSAFLUSH, &quiet) != 0 || write (fd, prompt, strlen (prompt)) < 0) {
		(void)tcsetattr (fd, TCSAFLUSH, &old);
		close (fd);
		g_set_error (error, AC_ERROR, AC_ERROR_IO, "cannot ask for the password of %s on the "
			     "terminal: %s", what, g_strerror (errno));
		return NULL;
	}
	while (!done) {
		gchar c;
		ssize_t n = read (fd, &c, 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || c == '\n' || c == '\r') {
			done = TRUE;
		} else if (len < AC_SECRET_PASSWORD_MAX) {
			buf[len++] = c;
		} else {
			too_long = TRUE;
		}
	}
	(void)tcsetattr (fd, TCSAFLUSH, &old);
	if (write (fd, "\n", 1) < 0) {
		/* the newline the user typed was not echoed; nothing else to do */
	}
	close (fd);
	if (len == 0 || too_long) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			     "the password of %s is %s; expected 1 to %u bytes", what,
			     len == 0 ? "empty" : "too long", AC_SECRET_PASSWORD_MAX);
	} else {
		secret = ac_secret_new (buf, len);
	}
	ac_secret_wipe (buf, sizeof (buf));
	return secret;
}

/**
 * ac_secret_read_password:
 * @what: what the password opens, for the prompt and errors
 * @file: (nullable): a file whose first line is the password
 * @option: the option that names @file, for errors ("--password-file")
 *
 * Returns: (transfer full): the password, or NULL with @error set
 */
AcSecret *
ac_secret_read_password (const gchar *what, const gchar *file, const gchar *option,
			 GError **error)
{
	if (file != NULL)
		return ac_secret_password_from_file (what, file, option, error);
	return ac_secret_password_from_tty (what, option, error);
}
