/*
 * The guest's LUKS2 header check (sev/ac-snp-luks2.h) on headers cryptsetup makes: an
 * aes-xts-plain64 one passes; a key slot of another cipher, no key slot, a cipher_null segment
 * or key slot (the host's rewrite of the JSON with the checksums made again, which cryptsetup
 * itself loads), two copies that differ, a member given twice, a broken checksum, a LUKS1
 * header and a short read are refused.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <glib/gstdio.h>
#include <string.h>

#include "ac-error.h"
#include "ac-snp-luks2.h"
#include "../test-util.h"

#define PASSPHRASE "correct horse battery staple"

typedef struct {
	gchar *dir;
	gchar *keyfile;
} Fixture;

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
	g_autoptr (GError) error = NULL;
	f->dir = test_util_mkdtemp ("test-luks2-XXXXXX");
	f->keyfile = g_build_filename (f->dir, "passphrase", NULL);
	g_assert_true (g_file_set_contents (f->keyfile, PASSPHRASE, -1, NULL));
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
	g_autoptr (GDir) d = g_dir_open (f->dir, 0, NULL);
	const gchar *name;
	while (d != NULL && (name = g_dir_read_name (d)) != NULL) {
		g_autofree gchar *p = g_build_filename (f->dir, name, NULL);
		g_unlink (p);
	}
	g_rmdir (f->dir);
	g_free (f->keyfile);
	g_free (f->dir);
}

/* runs cryptsetup; its output */
static gchar *
cryptsetup (const gchar *const *args, gboolean must_succeed)
{
	g_autoptr (GPtrArray) argv = g_ptr_array_new ();
	g_autoptr (GError) error = NULL;
	g_autofree gchar *err = NULL;
	gchar *out = NULL;
	gint status = 0;

	g_ptr_array_add (argv, (gpointer) "cryptsetup");
	for (guint i = 0; args[i] != NULL; i++)
		g_ptr_array_add (argv, (gpointer)args[i]);
	g_ptr_array_add (argv, NULL);
	g_spawn_sync (NULL, (gchar **)argv->pdata, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &out,
	              &err, &status, &error);
	g_assert_no_error (error);
	if (must_succeed && !g_spawn_check_wait_status (status, NULL))
		g_error ("cryptsetup %s failed: %s", args[0], err);
	return out;
}

/* a 20 MiB file with a LUKS2 header cryptsetup formats (@extra: more options) */
static gchar *
format (Fixture *f, const gchar *name, const gchar *const *extra)
{
	gchar *path = g_build_filename (f->dir, name, NULL);
	g_autoptr (GPtrArray) args = g_ptr_array_new ();
	const gchar *base[] = { "luksFormat",
		                "-q",
		                "--type",
		                "luks2",
		                "--pbkdf",
		                "pbkdf2",
		                "--pbkdf-force-iterations",
		                "1000",
		                "--hash",
		                "sha256",
		                "--key-size",
		                "512",
		                "--sector-size",
		                "512",
		                "--key-file",
		                f->keyfile,
		                NULL };
	g_autofree gchar *out = NULL;
	FILE *fp = fopen (path, "w");

	g_assert_nonnull (fp);
	g_assert_cmpint (ftruncate (fileno (fp), 20 * 1024 * 1024), ==, 0);
	fclose (fp);
	for (guint i = 0; base[i] != NULL; i++)
		g_ptr_array_add (args, (gpointer)base[i]);
	for (guint i = 0; extra != NULL && extra[i] != NULL; i++)
		g_ptr_array_add (args, (gpointer)extra[i]);
	g_ptr_array_add (args, path);
	g_ptr_array_add (args, NULL);
	out = cryptsetup ((const gchar *const *)args->pdata, TRUE);
	return path;
}

/* both header copies of @path (cryptsetup's default: 2 × 16 KiB) */
static GByteArray *
read_header (const gchar *path)
{
	g_autofree gchar *data = NULL;
	gsize len = 0;
	GByteArray *a = g_byte_array_new ();
	g_assert_true (g_file_get_contents (path, &data, &len, NULL));
	g_assert_cmpuint (len, >=, 32768);
	g_byte_array_append (a, (const guint8 *)data, 32768);
	return a;
}

static void
write_header (const gchar *path, const GByteArray *hdr)
{
	FILE *fp = fopen (path, "r+");
	g_assert_nonnull (fp);
	g_assert_cmpuint (fwrite (hdr->data, 1, hdr->len, fp), ==, hdr->len);
	fclose (fp);
}

/* the SHA-256 of one copy with its checksum field zeroed, written into it */
static void
reseal (guint8 *copy, gsize hdr_size)
{
	g_autoptr (GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);
	gsize len = 32;
	memset (copy + 448, 0, 64);
	g_checksum_update (sum, copy, hdr_size);
	g_checksum_get_digest (sum, copy + 448, &len);
}

/*
 * The host's rewrite: in the JSON of @copies (1 = primary, 2 = secondary, 3 = both), the first
 * @old after @after becomes @new, the area zero-filled after the text, the checksums made
 * again.
 */
static void
rewrite (GByteArray *hdr, guint copies, const gchar *after, const gchar *old, const gchar *new)
{
	for (guint c = 0; c < 2; c++) {
		guint8 *copy = hdr->data + c * 16384;
		gchar *json = (gchar *)copy + 4096;
		g_autoptr (GString) s = g_string_new (json);
		const gchar *from = strstr (s->str, after);
		const gchar *at;
		gsize pos;
		if ((copies & (1u << c)) == 0)
			continue;
		g_assert_nonnull (from);
		at = strstr (from, old);
		g_assert_nonnull (at);
		pos = (gsize)(at - s->str);
		g_string_erase (s, (gssize)pos, (gssize)strlen (old));
		g_string_insert (s, (gssize)pos, new);
		g_assert_cmpuint (s->len, <, 16384 - 4096);
		memset (json, 0, 16384 - 4096);
		memcpy (json, s->str, s->len);
		reseal (copy, 16384);
	}
}

static AcLuks2Header *
check (const GByteArray *hdr, GError **error)
{
	return ac_luks2_check_header (hdr->data, hdr->len, error);
}

static void
expect_refused (const GByteArray *hdr, gint code, const gchar *message)
{
	g_autoptr (GError) error = NULL;
	g_autoptr (AcLuks2Header) h = check (hdr, &error);
	g_assert_null (h);
	g_assert_error (error, AC_ERROR, code);
	if (strstr (error->message, message) == NULL)
		g_error ("expected '%s' in '%s'", message, error->message);
}

static void
test_accepts (Fixture *f, gconstpointer data)
{
	g_autofree gchar *path = format (f, "good.img", NULL);
	const gchar *uuid_args[] = { "luksUUID", path, NULL };
	g_autofree gchar *uuid = g_strstrip (cryptsetup (uuid_args, TRUE));
	g_autoptr (GByteArray) hdr = read_header (path);
	g_autoptr (GError) error = NULL;
	g_autoptr (AcLuks2Header) h = check (hdr, &error);
	g_autoptr (AcLuks2Header) from_file = NULL;
	gsize needed = 0;

	g_assert_no_error (error);
	g_assert_cmpstr (h->uuid, ==, uuid);
	g_assert_cmpuint (h->hdr_size, ==, 16384);
	g_assert_cmpuint (h->keyslots, ==, 1);
	g_assert_cmpuint (h->segments, ==, 1);
	g_assert_cmpuint (h->crypt_segments, ==, 1);
	g_assert_cmpuint (h->data_offset, ==, 16 * 1024 * 1024);
	g_assert_cmpuint (h->sector_size, ==, 512);
	g_assert_true (ac_luks2_header_area_size (hdr->data, 4096, &needed, &error));
	g_assert_cmpuint (needed, ==, 32768);

	from_file = ac_luks2_check_file (path, &error);
	g_assert_no_error (error);
	g_assert_cmpstr (from_file->uuid, ==, uuid);

	/* a second key slot of the same cipher */
	{
		g_autofree gchar *second = g_build_filename (f->dir, "second", NULL);
		const gchar *add[] = { "luksAddKey",
			               "-q",
			               "--pbkdf",
			               "pbkdf2",
			               "--pbkdf-force-iterations",
			               "1000",
			               "--key-file",
			               f->keyfile,
			               path,
			               second,
			               NULL };
		g_autofree gchar *out = NULL;
		g_autoptr (AcLuks2Header) h2 = NULL;
		g_assert_true (g_file_set_contents (second, "another one", -1, NULL));
		out = cryptsetup (add, TRUE);
		h2 = ac_luks2_check_file (path, &error);
		g_assert_no_error (error);
		g_assert_cmpuint (h2->keyslots, ==, 2);
		g_assert_cmpuint (h2->seqid, >, h->seqid);
	}
}

static void
test_keyslot_cipher (Fixture *f, gconstpointer data)
{
	const gchar *extra[]
	    = { "--keyslot-cipher", "aes-cbc-essiv:sha256", "--keyslot-key-size", "256", NULL };
	g_autofree gchar *path = format (f, "cbc-slot.img", extra);
	g_autoptr (GByteArray) hdr = read_header (path);
	g_autoptr (GError) error = NULL;

	expect_refused (hdr, AC_ERROR_REFUSED,
	                "key slot 0 is encrypted with 'aes-cbc-essiv:sha256': expected "
	                "aes-xts-plain64");
	g_assert_null (ac_luks2_check_file (path, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_REFUSED);
	g_assert_true (g_str_has_prefix (error->message, path));
}

static void
test_no_keyslot (Fixture *f, gconstpointer data)
{
	g_autofree gchar *path = format (f, "empty.img", NULL);
	const gchar *kill[] = { "luksKillSlot", "-q", path, "0", NULL };
	g_autofree gchar *out = cryptsetup (kill, TRUE);
	g_autoptr (GByteArray) hdr = read_header (path);

	expect_refused (hdr, AC_ERROR_REFUSED, "no key slot");
}

static void
test_cipher_null (Fixture *f, gconstpointer data)
{
	g_autofree gchar *path = format (f, "null.img", NULL);
	g_autoptr (GByteArray) orig = read_header (path);

	/* the data segment in clear: cryptsetup loads the rewritten header and shows it */
	{
		g_autoptr (GByteArray) hdr = g_byte_array_new ();
		const gchar *dump[] = { "luksDump", path, NULL };
		g_autofree gchar *out = NULL;
		g_byte_array_append (hdr, orig->data, orig->len);
		rewrite (hdr, 3, "\"segments\"", "aes-xts-plain64", "cipher_null-ecb");
		write_header (path, hdr);
		out = cryptsetup (dump, TRUE);
		g_assert_nonnull (strstr (out, "cipher: cipher_null-ecb"));
		expect_refused (hdr, AC_ERROR_REFUSED,
		                "segment 0 is encrypted with 'cipher_null-ecb': expected "
		                "aes-xts-plain64");
	}
	/* the key slot in clear: the volume key readable by anyone */
	{
		g_autoptr (GByteArray) hdr = g_byte_array_new ();
		g_byte_array_append (hdr, orig->data, orig->len);
		rewrite (hdr, 3, "\"keyslots\"", "aes-xts-plain64", "cipher_null");
		expect_refused (
		    hdr, AC_ERROR_REFUSED,
		    "key slot 0 is encrypted with 'cipher_null': expected aes-xts-plain64");
	}
	/* a segment without encryption (linear), then the only crypt segment made linear */
	{
		g_autoptr (GByteArray) hdr = g_byte_array_new ();
		g_byte_array_append (hdr, orig->data, orig->len);
		rewrite (hdr, 3, "\"segments\"", "\"encryption\":\"aes-xts-plain64\",", "");
		expect_refused (hdr, AC_ERROR_REFUSED, "segment 0 has no encryption");
	}
	{
		g_autoptr (GByteArray) hdr = g_byte_array_new ();
		g_byte_array_append (hdr, orig->data, orig->len);
		rewrite (hdr, 3, "\"segments\"", "\"crypt\"", "\"linear\"");
		expect_refused (hdr, AC_ERROR_REFUSED, "no crypt segment");
	}
	/* cipher_null behind a first member of the same name: json-c keeps the last */
	{
		g_autoptr (GByteArray) hdr = g_byte_array_new ();
		g_byte_array_append (hdr, orig->data, orig->len);
		rewrite (hdr, 3, "\"segments\"", "\"encryption\":\"aes-xts-plain64\"",
		         "\"encryption\":\"aes-xts-plain64\",\"encryption\":\"cipher_null-ecb\"");
		expect_refused (hdr, AC_ERROR_INVALID_INPUT, "two members of the same name");
	}
}

static void
test_malformed (Fixture *f, gconstpointer data)
{
	g_autofree gchar *path = format (f, "bad.img", NULL);
	g_autoptr (GByteArray) orig = read_header (path);

	/* only the secondary copy rewritten (its checksum right): cryptsetup would pick one */
	{
		g_autoptr (GByteArray) hdr = g_byte_array_new ();
		g_byte_array_append (hdr, orig->data, orig->len);
		rewrite (hdr, 2, "\"segments\"", "aes-xts-plain64", "cipher_null-ecb");
		expect_refused (hdr, AC_ERROR_INVALID_INPUT, "the two copies differ");
	}
	/* a byte of the JSON changed, the checksum not */
	{
		g_autoptr (GByteArray) hdr = g_byte_array_new ();
		g_byte_array_append (hdr, orig->data, orig->len);
		hdr->data[4096 + 2] ^= 0x01;
		expect_refused (hdr, AC_ERROR_INVALID_INPUT,
		                "primary header: its SHA-256 checksum does not match");
		hdr->data[4096 + 2] ^= 0x01;
		hdr->data[16384 + 4096 + 2] ^= 0x01;
		expect_refused (hdr, AC_ERROR_INVALID_INPUT,
		                "secondary header: its SHA-256 checksum does not match");
	}
	/* text hidden after the JSON's NUL */
	{
		g_autoptr (GByteArray) hdr = g_byte_array_new ();
		g_byte_array_append (hdr, orig->data, orig->len);
		for (guint c = 0; c < 2; c++) {
			hdr->data[c * 16384 + 16000] = 'x';
			reseal (hdr->data + c * 16384, 16384);
		}
		expect_refused (hdr, AC_ERROR_INVALID_INPUT, "after its text, is not zero");
	}
	/* key slots and segments are objects named by numbers */
	{
		g_autoptr (GByteArray) hdr = g_byte_array_new ();
		g_byte_array_append (hdr, orig->data, orig->len);
		rewrite (hdr, 3, "\"keyslots\"", "\"0\":{", "\"x\":{");
		expect_refused (hdr, AC_ERROR_INVALID_INPUT,
		                "LUKS2 header: a key slot is not named by a number from 0 to 31");
	}
	{
		g_autoptr (GByteArray) hdr = g_byte_array_new ();
		g_byte_array_append (hdr, orig->data, orig->len);
		rewrite (hdr, 3, "\"segments\"", "\"0\":{", "\"00\":{");
		expect_refused (hdr, AC_ERROR_INVALID_INPUT,
		                "LUKS2 header: a segment is not named by a number from 0 to 31");
	}
	{
		g_autoptr (GByteArray) hdr = g_byte_array_new ();
		g_byte_array_append (hdr, orig->data, orig->len);
		rewrite (hdr, 3, "\"keyslots\"", "\"0\":{", "\"7\":[],\"0\":{");
		expect_refused (hdr, AC_ERROR_INVALID_INPUT,
		                "LUKS2 header: key slot 7 is an array: expected an object");
	}
	{
		g_autoptr (GByteArray) hdr = g_byte_array_new ();
		g_byte_array_append (hdr, orig->data, orig->len);
		rewrite (hdr, 3, "\"segments\"", "\"0\":{", "\"3\":\"s\",\"0\":{");
		expect_refused (hdr, AC_ERROR_INVALID_INPUT,
		                "LUKS2 header: segment 3 is a string: expected an object");
	}
	/* short reads, another size, no magic */
	{
		g_autoptr (GByteArray) hdr = g_byte_array_new ();
		g_byte_array_append (hdr, orig->data, orig->len);
		g_byte_array_set_size (hdr, 20000);
		expect_refused (hdr, AC_ERROR_INVALID_INPUT, "expected both copies (32768 bytes)");
		g_byte_array_set_size (hdr, 100);
		expect_refused (hdr, AC_ERROR_INVALID_INPUT, "expected at least 4096");
	}
	{
		g_autoptr (GByteArray) hdr = g_byte_array_new ();
		g_byte_array_append (hdr, orig->data, orig->len);
		hdr->data[8 + 6] = 0x50; /* hdr_size 20480 */
		expect_refused (hdr, AC_ERROR_INVALID_INPUT, "LUKS2 header size 20480");
		hdr->data[8 + 6] = 0x40;
		hdr->data[0] = 'X';
		expect_refused (hdr, AC_ERROR_INVALID_INPUT, "no LUKS header");
	}
	/* LUKS1, as cryptsetup makes it */
	{
		g_autofree gchar *luks1 = g_build_filename (f->dir, "luks1.img", NULL);
		const gchar *fmt[]
		    = { "luksFormat", "-q",         "--type",   "luks1", "--pbkdf-force-iterations",
			"1000",       "--key-file", f->keyfile, luks1,   NULL };
		g_autofree gchar *out = NULL;
		g_autoptr (GByteArray) hdr = NULL;
		g_autoptr (GError) error = NULL;
		FILE *fp = fopen (luks1, "w");
		g_assert_cmpint (ftruncate (fileno (fp), 8 * 1024 * 1024), ==, 0);
		fclose (fp);
		out = cryptsetup (fmt, TRUE);
		hdr = read_header (luks1);
		expect_refused (hdr, AC_ERROR_INVALID_INPUT, "LUKS header version 1: expected 2");
		g_assert_null (ac_luks2_check_file (luks1, &error));
		g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
	}
	/* not a regular file, a file shorter than its header */
	{
		g_autoptr (GError) error = NULL;
		g_autofree gchar *shortf = g_build_filename (f->dir, "short.img", NULL);
		g_assert_null (ac_luks2_check_file (f->dir, &error));
		g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
		g_clear_error (&error);
		g_assert_true (
		    g_file_set_contents (shortf, (const gchar *)orig->data, 20000, NULL));
		g_assert_null (ac_luks2_check_file (shortf, &error));
		g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
		g_assert_nonnull (strstr (error->message, "too short for its LUKS2 header"));
	}
}

int
main (int argc, char **argv)
{
	g_autofree gchar *cs = NULL;

	g_test_init (&argc, &argv, NULL);
	cs = g_find_program_in_path ("cryptsetup");
	if (cs == NULL)
		g_error ("cryptsetup (package cryptsetup-bin) is needed: the headers are its");
	g_test_add ("/luks2/accepts-cryptsetup", Fixture, NULL, fixture_set_up, test_accepts,
	            fixture_tear_down);
	g_test_add ("/luks2/keyslot-cipher", Fixture, NULL, fixture_set_up, test_keyslot_cipher,
	            fixture_tear_down);
	g_test_add ("/luks2/no-keyslot", Fixture, NULL, fixture_set_up, test_no_keyslot,
	            fixture_tear_down);
	g_test_add ("/luks2/cipher-null", Fixture, NULL, fixture_set_up, test_cipher_null,
	            fixture_tear_down);
	g_test_add ("/luks2/malformed", Fixture, NULL, fixture_set_up, test_malformed,
	            fixture_tear_down);
	return g_test_run ();
}
