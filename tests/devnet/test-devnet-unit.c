/*
 * aleph-confidential: devnet server parts in-process — knobs (fixtures: patch → expected knobs
 * or error), the GPT reader against sfdisk's layout, the LUKS1 passphrase check against
 * cryptsetup's header, the CAR reader against plugin/aleph's CAR writer.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <gio/gio.h>
#include <unistd.h>
#include <glib/gstdio.h>

#include "ac-car.h"
#include "ac-devnet-car.h"
#include "ac-luks-disk.h"
#include "ac-devnet-identity.h"
#include "ac-devnet-knobs.h"
#include "ac-devnet-store.h"
#include "ac-error.h"
#include "../test-util.h"

static gchar *tmpdir = NULL;

/* ---- knobs ---- */

static void
test_knobs_fixtures(void)
{
	g_autofree gchar *dir = g_build_filename(TEST_DATA_DIR, "knobs", NULL);
	g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
	const gchar *name;
	guint n = 0;

	g_assert_nonnull(d);
	while ((name = g_dir_read_name(d)) != NULL) {
		g_autofree gchar *path = NULL;
		g_autofree gchar *base = NULL;
		g_autofree gchar *input = NULL;
		g_autofree gchar *expected = NULL;
		g_autofree gchar *err_path = NULL;
		g_autofree gchar *exp_path = NULL;
		g_autoptr(GError) error = NULL;
		AcDevnetKnobs k;
		gsize len = 0;
		gboolean ok;

		if (!g_str_has_suffix(name, ".json"))
			continue;
		path = g_build_filename(dir, name, NULL);
		base = g_strndup(path, strlen(path) - 5);
		err_path = g_strdup_printf("%s.err", base);
		exp_path = g_strdup_printf("%s.expected", base);
		g_assert_true(g_file_get_contents(path, &input, &len, NULL));
		ac_devnet_knobs_init(&k, 2);
		ok = ac_devnet_knobs_apply_data(&k, input, len, &error);
		if (g_file_get_contents(err_path, &expected, NULL, NULL)) {
			g_strstrip(expected);
			g_assert_false(ok);
			g_assert_error(error, AC_ERROR, AC_ERROR_INVALID_INPUT);
			if (!g_str_has_prefix(error->message, expected))
				g_error("%s: error '%s' does not start with '%s'", name,
				        error->message, expected);
		} else {
			g_autoptr(JsonNode) out = NULL;
			g_autofree gchar *text = NULL;
			g_assert_no_error(error);
			g_assert_true(ok);
			out = ac_devnet_knobs_to_json(&k);
			text = json_to_string(out, FALSE);
			if (g_getenv("AC_TEST_REGEN") != NULL) {
				g_autofree gchar *line = g_strdup_printf("%s\n", text);
				g_assert_true(g_file_set_contents(exp_path, line, -1, NULL));
			}
			g_assert_true(g_file_get_contents(exp_path, &expected, NULL, NULL));
			g_strstrip(expected);
			g_assert_cmpstr(text, ==, expected);
		}
		n++;
	}
	g_assert_cmpuint(n, >=, 8);
}

static void
test_knobs_semantics(void)
{
	AcDevnetKnobs k;
	g_autoptr(GError) error = NULL;
	const gchar *patch = "{\"latency_ms\": 7, \"faults\": {\"crn.measurement\": "
	                     "{\"fail_next\": 2, \"status\": 500, \"latency_ms\": 0},"
	                     " \"ipfs.add_car\": {\"drop_after\": 100, \"drop_next\": 1}, "
	                     "\"messages.get\": {\"rate\": 0.5}}}";
	ac_devnet_knobs_init(&k, 1);
	g_assert_true(ac_devnet_knobs_apply_data(&k, patch, strlen(patch), &error));
	g_assert_no_error(error);
	/* fail_next first, whatever the roll */
	g_assert_cmpuint(ac_devnet_knobs_take_fault(&k, AC_DEVNET_EP_CRN_MEASUREMENT, 0.99), ==,
	                 500);
	g_assert_cmpuint(ac_devnet_knobs_take_fault(&k, AC_DEVNET_EP_CRN_MEASUREMENT, 0.99), ==,
	                 500);
	g_assert_cmpuint(ac_devnet_knobs_take_fault(&k, AC_DEVNET_EP_CRN_MEASUREMENT, 0.0), ==, 0);
	/* rate: the roll decides */
	g_assert_cmpuint(ac_devnet_knobs_take_fault(&k, AC_DEVNET_EP_MESSAGES_GET, 0.49), ==, 503);
	g_assert_cmpuint(ac_devnet_knobs_take_fault(&k, AC_DEVNET_EP_MESSAGES_GET, 0.5), ==, 0);
	/* latency: per endpoint overrides the global one */
	g_assert_cmpuint(ac_devnet_knobs_get_latency(&k, AC_DEVNET_EP_CRN_MEASUREMENT), ==, 0);
	g_assert_cmpuint(ac_devnet_knobs_get_latency(&k, AC_DEVNET_EP_CRN_NOTIFY), ==, 7);
	/* drop once */
	g_assert_cmpuint(ac_devnet_knobs_take_drop(&k, AC_DEVNET_EP_IPFS_ADD_CAR), ==, 100);
	g_assert_cmpuint(ac_devnet_knobs_take_drop(&k, AC_DEVNET_EP_IPFS_ADD_CAR), ==, 0);
	/* a failed patch leaves the knobs unchanged */
	g_assert_false(
	    ac_devnet_knobs_apply_data(&k, "{\"latency_ms\": 1, \"bad\": 1}", 27, &error));
	g_assert_error(error, AC_ERROR, AC_ERROR_INVALID_INPUT);
	g_assert_cmpuint(k.latency_ms, ==, 7);
}

/* ---- GPT and LUKS ---- */

static void
run_ok(const gchar *const *argv, const gchar *stdin_text, gchar **out)
{
	g_autoptr(GSubprocess) p
	    = g_subprocess_newv(argv,
	                        G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE
	                            | G_SUBPROCESS_FLAGS_STDERR_PIPE,
	                        NULL);
	g_autoptr(GError) error = NULL;
	g_autofree gchar *err = NULL;
	g_assert_nonnull(p);
	g_assert_true(g_subprocess_communicate_utf8(p, stdin_text, NULL, out, &err, &error));
	g_assert_no_error(error);
	if (!g_subprocess_get_successful(p))
		g_error("%s: %s", argv[0], err);
}

static gchar *
make_image(const gchar *name, const gchar *passphrase)
{
	g_autofree gchar *img = g_build_filename(tmpdir, name, NULL);
	g_autofree gchar *p2 = g_strdup_printf("%s.p2", img);
	g_autofree gchar *key = g_strdup_printf("%s.key", img);
	g_autofree gchar *iff = g_strdup_printf("if=%s", p2);
	g_autofree gchar *off = g_strdup_printf("of=%s", img);
	const gchar *t1[] = { "truncate", "-s", "7M", img, NULL };
	const gchar *t2[] = { "truncate", "-s", "3M", p2, NULL };
	const gchar *sf[] = { "sfdisk", "-q", img, NULL };
	const gchar *lk[] = { "cryptsetup", "luksFormat", "--batch-mode",
		              "--type",     "luks1",      "--pbkdf-force-iterations",
		              "1000",       "--key-file", key,
		              p2,           NULL };
	const gchar *dd[]
	    = { "dd", "status=none", "bs=512", "seek=5000", "conv=notrunc", iff, off, NULL };

	run_ok(t1, NULL, NULL);
	/* an unusual layout on purpose: p2 at sector 5000 */
	run_ok(sf, "label: gpt\nstart=2048, size=2048, type=U\nstart=5000, type=L\n", NULL);
	run_ok(t2, NULL, NULL);
	g_assert_true(
	    g_file_set_contents_full(key, passphrase, -1, G_FILE_SET_CONTENTS_NONE, 0600, NULL));
	run_ok(lk, NULL, NULL);
	g_unlink(key);
	run_ok(dd, NULL, NULL);
	g_unlink(p2);
	return g_steal_pointer(&img);
}

static void
test_gpt(void)
{
	g_autofree gchar *img = make_image("gpt.img", "x");
	g_autofree gchar *json = NULL;
	g_autofree gchar *data = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonNode) node = NULL;
	const gchar *sfj[] = { "sfdisk", "--json", img, NULL };
	JsonArray *parts;
	gsize len = 0;
	guint64 off = 0, size = 0;

	/* sfdisk's view of partition 2 */
	run_ok(sfj, NULL, &json);
	node = json_from_string(json, &error);
	g_assert_no_error(error);
	parts = json_object_get_array_member(
	    json_object_get_object_member(json_node_get_object(node), "partitiontable"),
	    "partitions");
	g_assert_true(g_file_get_contents(img, &data, &len, NULL));
	g_assert_true(ac_luks_disk_gpt_find_partition(
	    (const guint8 *)data, MIN(len, AC_LUKS_DISK_GPT_SCAN_SIZE), len, 2, &off, &size, &error));
	g_assert_no_error(error);
	g_assert_cmpuint(
	    off, ==,
	    (guint64)json_object_get_int_member(json_array_get_object_element(parts, 1), "start")
	        * 512);
	g_assert_cmpuint(
	    size, ==,
	    (guint64)json_object_get_int_member(json_array_get_object_element(parts, 1), "size")
	        * 512);
	/* partition 3 does not exist (unused entry) */
	g_assert_false(ac_luks_disk_gpt_find_partition(
	    (const guint8 *)data, MIN(len, AC_LUKS_DISK_GPT_SCAN_SIZE), len, 3, &off, &size, &error));
	g_assert_error(error, AC_ERROR, AC_ERROR_INVALID_INPUT);
	g_clear_error(&error);
	/* one flipped byte in the entries: CRC mismatch */
	data[1024 + 128 + 32] ^= 1;
	g_assert_false(ac_luks_disk_gpt_find_partition(
	    (const guint8 *)data, MIN(len, AC_LUKS_DISK_GPT_SCAN_SIZE), len, 2, &off, &size, &error));
	g_assert_nonnull(strstr(error->message, "CRC32"));
	g_clear_error(&error);
	/* no protective MBR */
	data[1024 + 128 + 32] ^= 1;
	data[510] = 0;
	g_assert_false(ac_luks_disk_gpt_find_partition(
	    (const guint8 *)data, MIN(len, AC_LUKS_DISK_GPT_SCAN_SIZE), len, 2, &off, &size, &error));
	g_assert_nonnull(strstr(error->message, "MBR"));
}

static void
test_luks(void)
{
	const gchar *pass = "correct horse battery staple";
	g_autofree gchar *img = make_image("luks.img", pass);
	g_autoptr(GError) error = NULL;
	gint slot = -1;

	g_assert_true(ac_luks_disk_luks_check_passphrase(img, tmpdir, (const guint8 *)pass,
	                                              strlen(pass), &slot, &error));
	g_assert_no_error(error);
	g_assert_cmpint(slot, ==, 0);
	g_assert_false(ac_luks_disk_luks_check_passphrase(img, tmpdir, (const guint8 *)"wrong", 5,
	                                               &slot, &error));
	g_assert_error(error, AC_ERROR, AC_ERROR_MISMATCH);
	g_assert_cmpstr(error->message, ==,
	                "the passphrase opens no key slot of the image's LUKS1 header");
	g_clear_error(&error);
	/* a prefix of the passphrase (the NUL of Aleph's table must be cut, nothing more) */
	g_assert_false(ac_luks_disk_luks_check_passphrase(img, tmpdir, (const guint8 *)pass,
	                                               strlen(pass) - 1, &slot, &error));
	g_assert_error(error, AC_ERROR, AC_ERROR_MISMATCH);
}

/* a file that claims to be @size bytes; remembers the end of the furthest read */
typedef struct {
	int fd;
	guint64 max_end;
} CountingReader;

static gboolean
counting_read(gpointer user_data, guint64 offset, guint8 *buf, gsize len, GError **error)
{
	CountingReader *r = user_data;
	gsize done = 0;
	r->max_end = MAX(r->max_end, offset + len);
	while (done < len) {
		ssize_t n = pread(r->fd, buf + done, len - done, (off_t)(offset + done));
		if (n <= 0) {
			g_set_error(error, AC_ERROR, AC_ERROR_IO, "read at %" G_GUINT64_FORMAT,
			            offset + done);
			return FALSE;
		}
		done += (gsize)n;
	}
	return TRUE;
}

/* the check of a 5 GiB image reads its header's bytes, nothing more */
static void
test_luks_read_bounded(void)
{
	const gchar *pass = "correct horse battery staple";
	const guint64 claimed = (guint64)5 << 30;
	g_autofree gchar *img = make_image("luks-read.img", pass);
	g_autofree gchar *img2 = g_build_filename(tmpdir, "luks2-read.img", NULL);
	g_autofree gchar *key = g_build_filename(tmpdir, "luks2-read.key", NULL);
	const gchar *t[] = { "truncate", "-s", "20M", img2, NULL };
	const gchar *lk[] = { "cryptsetup", "luksFormat", "--batch-mode", "--type", "luks2",
		              "--cipher", "aes-xts-plain64", "--pbkdf", "pbkdf2",
		              "--pbkdf-force-iterations", "1000", "--key-file", key, img2, NULL };
	g_autoptr(GError) error = NULL;
	CountingReader r = { -1, 0 };

	/* LUKS1 on GPT partition 2 (at sector 5000): the first MiB, then its header area */
	r.fd = open(img, O_RDONLY);
	g_assert_cmpint(r.fd, >=, 0);
	g_assert_true(ac_luks_disk_check_passphrase_read(counting_read, &r, claimed, FALSE, tmpdir,
	                                                 (const guint8 *)pass, strlen(pass), NULL,
	                                                 &error));
	g_assert_no_error(error);
	g_assert_cmpuint(r.max_end, <=, 5000 * 512 + 4 * 1024 * 1024);
	r.max_end = 0;
	g_assert_false(ac_luks_disk_check_passphrase_read(counting_read, &r, claimed, FALSE, tmpdir,
	                                                  (const guint8 *)"wrong", 5, NULL, &error));
	g_assert_error(error, AC_ERROR, AC_ERROR_MISMATCH);
	g_clear_error(&error);
	/* not a LUKS2 container at 0 */
	g_assert_false(ac_luks_disk_check_passphrase_read(counting_read, &r, claimed, TRUE, tmpdir,
	                                                  (const guint8 *)pass, strlen(pass), NULL,
	                                                  &error));
	g_assert_error(error, AC_ERROR, AC_ERROR_INVALID_INPUT);
	g_clear_error(&error);
	close(r.fd);

	/* LUKS2 at 0: both header copies, then up to the data segment (16 MiB), no further */
	run_ok(t, NULL, NULL);
	g_assert_true(g_file_set_contents_full(key, pass, -1, G_FILE_SET_CONTENTS_NONE, 0600, NULL));
	run_ok(lk, NULL, NULL);
	g_unlink(key);
	r.fd = open(img2, O_RDONLY);
	r.max_end = 0;
	g_assert_true(ac_luks_disk_check_passphrase_read(counting_read, &r, claimed, TRUE, tmpdir,
	                                                 (const guint8 *)pass, strlen(pass), NULL,
	                                                 &error));
	g_assert_no_error(error);
	g_assert_cmpuint(r.max_end, ==, 16 * 1024 * 1024);
	g_assert_false(ac_luks_disk_check_passphrase_read(counting_read, &r, claimed, TRUE, tmpdir,
	                                                  (const guint8 *)"wrong", 5, NULL, &error));
	g_assert_error(error, AC_ERROR, AC_ERROR_MISMATCH);
	g_assert_cmpstr(error->message, ==,
	                "the passphrase opens no key slot of the image's LUKS2 header");
	g_clear_error(&error);
	/* a disk that claims less than its data offset */
	g_assert_false(ac_luks_disk_check_passphrase_read(counting_read, &r, 8 * 1024 * 1024, TRUE,
	                                                  tmpdir, (const guint8 *)pass,
	                                                  strlen(pass), NULL, &error));
	g_assert_error(error, AC_ERROR, AC_ERROR_INVALID_INPUT);
	close(r.fd);
}

/* ---- CAR ---- */

static void
car_roundtrip(gsize size)
{
	g_autofree gchar *file = g_build_filename(tmpdir, "car-in.bin", NULL);
	g_autofree gchar *car = g_build_filename(tmpdir, "car.car", NULL);
	g_autofree guint8 *data = g_malloc(MAX(size, 1));
	g_autofree gchar *cardata = NULL;
	g_autofree gchar *expect_cid = NULL;
	g_autofree gchar *cid = NULL;
	g_autoptr(GOutputStream) out = g_memory_output_stream_new_resizable();
	g_autoptr(GError) error = NULL;
	guint8 root[34];
	gsize carlen = 0;
	guint64 fsize = 0;

	for (gsize i = 0; i < size; i++)
		data[i] = (guint8)(i * 31 + (i >> 9));
	g_assert_true(g_file_set_contents(file, (const gchar *)data, (gssize)size, NULL));
	g_assert_true(ac_ipfs_file_write_car(file, car, TRUE, root, NULL, NULL, &error));
	g_assert_no_error(error);
	expect_cid = ac_ipfs_file_cid_string(file, NULL, NULL, &error);
	g_assert_true(g_file_get_contents(car, &cardata, &carlen, NULL));
	cid = ac_devnet_car_extract((const guint8 *)cardata, carlen, G_MAXUINT64, out, &fsize,
	                            &error);
	g_assert_no_error(error);
	g_assert_cmpstr(cid, ==, expect_cid);
	g_assert_cmpuint(fsize, ==, size);
	g_output_stream_close(out, NULL, NULL);
	g_assert_cmpuint(g_memory_output_stream_get_data_size(G_MEMORY_OUTPUT_STREAM(out)), ==,
	                 size);
	g_assert_true(
	    size == 0
	    || memcmp(g_memory_output_stream_get_data(G_MEMORY_OUTPUT_STREAM(out)), data, size)
	           == 0);
	/* the size limit is enforced */
	if (size > 1) {
		g_assert_null(ac_devnet_car_extract((const guint8 *)cardata, carlen, size - 1, NULL,
		                                    NULL, &error));
		g_assert_error(error, AC_ERROR, AC_ERROR_REFUSED);
		g_clear_error(&error);
	}
	/* a missing block (the CAR cut before its end) */
	if (carlen > 200) {
		g_autofree gchar *cut = NULL;
		g_assert_null(ac_devnet_car_extract((const guint8 *)cardata, carlen - 100,
		                                    G_MAXUINT64, NULL, NULL, &error));
		g_assert_nonnull(error);
		cut = g_strdup(error->message);
		g_test_message("cut CAR: %s", cut);
	}
}

static void
test_car(void)
{
	car_roundtrip(0);
	car_roundtrip(1000);
	car_roundtrip(262144);
	car_roundtrip(262144 * 3 + 17);
	car_roundtrip(262144 * 180); /* two levels: 174 links per node */
}

/* a CAR written by an independent implementation (ipfs-unixfs-importer + @ipld/car, npm) */
static void
test_car_npm(void)
{
	const gchar *npm = g_getenv("AC_NPM_DIR");
	g_autofree gchar *node = g_find_program_in_path("node");
	g_autofree gchar *script = NULL;
	g_autofree gchar *file = g_build_filename(tmpdir, "npm-in.bin", NULL);
	g_autofree gchar *car = g_build_filename(tmpdir, "npm.car", NULL);
	g_autofree gchar *out = NULL;
	g_autofree gchar *cardata = NULL;
	g_autofree gchar *cid = NULL;
	g_autoptr(JsonNode) peer = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(GOutputStream) os = g_memory_output_stream_new_resizable();
	gsize size = 262144 * 2 + 4097, carlen = 0;
	g_autofree guint8 *data = g_malloc(size);
	guint64 fsize = 0;

	if (node == NULL || npm == NULL) {
		g_test_skip("node or the npm peers are not available");
		return;
	}
	script = g_build_filename(npm, "ipfs-peer.mjs", NULL);
	if (!g_file_test(script, G_FILE_TEST_EXISTS) || !g_file_test(npm, G_FILE_TEST_IS_DIR)) {
		g_test_skip("tests/npm/ipfs-peer.mjs is missing");
		return;
	}
	{
		g_autofree gchar *modules
		    = g_build_filename(npm, "node_modules", "@ipld", "car", NULL);
		if (!g_file_test(modules, G_FILE_TEST_IS_DIR)) {
			g_test_skip("npm peers not installed (scripts/setup-npm.sh)");
			return;
		}
	}
	for (gsize i = 0; i < size; i++)
		data[i] = (guint8)(i * 7 + (i >> 11));
	g_assert_true(g_file_set_contents(file, (const gchar *)data, (gssize)size, NULL));
	{
		const gchar *argv[] = { node, script, file, car, NULL };
		run_ok(argv, NULL, &out);
	}
	peer = json_from_string(out, &error);
	g_assert_no_error(error);
	g_assert_true(g_file_get_contents(car, &cardata, &carlen, NULL));
	cid = ac_devnet_car_extract((const guint8 *)cardata, carlen, G_MAXUINT64, os, &fsize,
	                            &error);
	g_assert_no_error(error);
	g_assert_cmpstr(cid, ==, json_object_get_string_member(json_node_get_object(peer), "cid"));
	g_assert_cmpuint(fsize, ==, size);
	g_output_stream_close(os, NULL, NULL);
	g_assert_true(
	    memcmp(g_memory_output_stream_get_data(G_MEMORY_OUTPUT_STREAM(os)), data, size) == 0);
}

/* the devnet root's files a platform identity reads are bounded (AC_SEV_KEY_FILE_MAX): above,
 * an error naming the file and the limit; a missing one, not-found */
static void
test_identity_read_bounded (void)
{
	g_autofree gchar *root_dir = g_build_filename (tmpdir, "identity-root", NULL);
	g_autofree gchar *dir = g_build_filename (tmpdir, "identity-platform", NULL);
	g_autofree gchar *ask_key = g_build_filename (root_dir, "ask_key.pem", NULL);
	g_autofree gchar *ark_key = g_build_filename (root_dir, "ark_key.pem", NULL);
	g_autofree gchar *limit = g_strdup_printf ("%u", AC_SEV_KEY_FILE_MAX);
	g_autofree gchar *ask_pem = NULL;
	g_autofree gchar *ark_pem = NULL;
	g_autoptr (AcSevPsp) root = NULL;
	g_autoptr (AcSevPsp) platform = NULL;
	g_autoptr (GError) error = NULL;

	root = ac_devnet_identity_root (root_dir, 2048, &error);
	g_assert_no_error (error);
	g_assert_true (g_file_get_contents (ask_key, &ask_pem, NULL, NULL));
	g_assert_true (g_file_get_contents (ark_key, &ark_pem, NULL, NULL));

	/* the ASK key, read by read_key() */
	test_util_write_padded (ask_key, ask_pem, AC_SEV_KEY_FILE_MAX + 1);
	platform = ac_devnet_identity_platform (dir, root_dir, &error);
	g_assert_null (platform);
	g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
	g_assert_true (g_str_has_prefix (error->message, "devnet root key: "));
	g_assert_nonnull (strstr (error->message, ask_key));
	g_assert_nonnull (strstr (error->message, limit));
	g_clear_error (&error);
	g_assert_true (g_file_set_contents (ask_key, ask_pem, -1, NULL));

	/* the ARK key, copied by copy_file() */
	test_util_write_padded (ark_key, ark_pem, AC_SEV_KEY_FILE_MAX + 1);
	platform = ac_devnet_identity_platform (dir, root_dir, &error);
	g_assert_null (platform);
	g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
	g_assert_true (g_str_has_prefix (error->message, "devnet root file: "));
	g_assert_nonnull (strstr (error->message, ark_key));
	g_assert_nonnull (strstr (error->message, limit));
	g_clear_error (&error);
	g_assert_cmpint (g_unlink (ark_key), ==, 0);
	platform = ac_devnet_identity_platform (dir, root_dir, &error);
	g_assert_null (platform);
	g_assert_error (error, AC_ERROR, AC_ERROR_NOT_FOUND);
	g_assert_nonnull (strstr (error->message, "is missing"));
	g_clear_error (&error);
	/* a failed save leaves no temporary identity beside the one it was for */
	{
		g_autoptr (GDir) d = g_dir_open (tmpdir, 0, NULL);
		const gchar *name;
		g_assert_nonnull (d);
		while ((name = g_dir_read_name (d)) != NULL)
			g_assert_false (g_str_has_prefix (name, ".identity-platform-"));
	}

	/* at the limit: read, copied, loaded */
	test_util_write_padded (ark_key, ark_pem, AC_SEV_KEY_FILE_MAX);
	g_assert_false (g_file_test (dir, G_FILE_TEST_EXISTS));
	platform = ac_devnet_identity_platform (dir, root_dir, &error);
	g_assert_no_error (error);
	g_assert_nonnull (platform);
}

/* ---- store ---- */

/* each write lands (what the reads give back), and a write the database refuses names itself */
static void
test_store (void)
{
	g_autofree gchar *path = g_build_filename (tmpdir, "store.sqlite", NULL);
	g_autoptr (GError) error = NULL;
	g_autoptr (AcDevnetStore) store = ac_devnet_store_open (path, &error);
	AcAlephMessage msg = { .sender = (gchar *)"0xabc",
		               .chain = (gchar *)"ETH",
		               .type = (gchar *)"STORE",
		               .item_hash = (gchar *)"h1",
		               .item_type = (gchar *)"inline",
		               .item_content = (gchar *)"{}",
		               .time = 5.0,
		               .channel = (gchar *)"TEST" };
	AcDevnetVmRow vm = { .crn = 1,
		             .vm_hash = (gchar *)"vm1",
		             .state = (gchar *)"running",
		             .launches = 2,
		             .agent_bytes = 7,
		             .updated = 3.0 };
	g_autoptr (AcDevnetMessageRow) row = NULL;
	g_autoptr (AcDevnetVmRow) vm_got = NULL;
	g_autoptr (GPtrArray) due = NULL;
	g_autoptr (GPtrArray) vms = NULL;
	g_autofree gchar *file = NULL;
	g_autofree gchar *kind = NULL;
	guint64 size = 0;
	sqlite3 *other = NULL;

	g_assert_no_error (error);
	g_assert_true (
	    ac_devnet_store_insert_message (store, &msg, 1.0, 2.0, "0xabc", NULL, &error));
	g_assert_no_error (error);
	g_assert_false (ac_devnet_store_insert_message (store, &msg, 1.0, 2.0, NULL, NULL, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_EXISTS);
	g_clear_error (&error);
	due = ac_devnet_store_due_messages (store, 2.0, &error);
	g_assert_no_error (error);
	g_assert_cmpuint (due->len, ==, 1);
	g_assert_cmpstr (g_ptr_array_index (due, 0), ==, "h1");

	/* a pending message is not forgotten; a processed one is */
	g_assert_true (ac_devnet_store_set_forgotten (store, "h1", "f1", &error));
	row = ac_devnet_store_get_message (store, "h1", &error);
	g_assert_no_error (error);
	g_assert_cmpstr (row->status, ==, "pending");
	g_clear_pointer (&row, ac_devnet_store_message_row_free);
	g_assert_true (
	    ac_devnet_store_set_status (store, "h1", "processed", 0, "{\"x\":1}", &error));
	row = ac_devnet_store_get_message (store, "h1", &error);
	g_assert_cmpstr (row->status, ==, "processed");
	g_assert_true (row->has_error_code);
	g_assert_cmpstr (row->details, ==, "{\"x\":1}");
	g_clear_pointer (&row, ac_devnet_store_message_row_free);
	{
		gchar *hashes[] = { (gchar *)"h1", NULL };
		AcDevnetQuery q = { .hashes = hashes };
		guint total = 0;
		g_autoptr (GPtrArray) found = ac_devnet_store_query (store, &q, &total, &error);
		g_assert_no_error (error);
		g_assert_cmpuint (total, ==, 1);
		g_assert_cmpuint (found->len, ==, 1);
	}
	g_assert_true (ac_devnet_store_set_forgotten (store, "h1", "f1", &error));
	row = ac_devnet_store_get_message (store, "h1", &error);
	g_assert_no_error (error);
	g_assert_cmpstr (row->status, ==, "forgotten");
	g_assert_cmpstr (row->forgotten_by, ==, "[\"f1\"]");

	g_assert_true (ac_devnet_store_put_file (store, "fh", "storage", 12, "/x/fh", &error));
	file = ac_devnet_store_get_file (store, "fh", &size, &kind, &error);
	g_assert_no_error (error);
	g_assert_cmpstr (file, ==, "/x/fh");
	g_assert_cmpstr (kind, ==, "storage");
	g_assert_cmpuint (size, ==, 12);

	g_assert_true (ac_devnet_store_put_vm (store, &vm, &error));
	g_assert_no_error (error);
	vm_got = ac_devnet_store_get_vm (store, 1, "vm1", &error);
	g_assert_no_error (error);
	g_assert_cmpstr (vm_got->state, ==, "running");
	g_assert_cmpuint (vm_got->launches, ==, 2);
	g_assert_cmpuint (vm_got->agent_bytes, ==, 7);
	vms = ac_devnet_store_list_vms (store, &error);
	g_assert_no_error (error);
	g_assert_cmpuint (vms->len, ==, 1);
	g_assert_null (ac_devnet_store_get_vm (store, 2, "vm1", &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_NOT_FOUND);
	g_clear_error (&error);

	/* another connection holds the write lock: refused once the store's busy wait ends */
	g_assert_cmpint (sqlite3_open (path, &other), ==, SQLITE_OK);
	g_assert_cmpint (sqlite3_exec (other, "BEGIN EXCLUSIVE", NULL, NULL, NULL), ==, SQLITE_OK);
	g_assert_false (ac_devnet_store_put_file (store, "fh2", "ipfs", 1, "/x/fh2", &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_IO);
	g_assert_cmpstr (error->message, ==, "devnet store: put file: database is locked");
	g_clear_error (&error);
	sqlite3_exec (other, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_close (other);
	g_assert_true (ac_devnet_store_put_file (store, "fh2", "ipfs", 1, "/x/fh2", &error));
	g_assert_no_error (error);
}

int
main(int argc, char **argv)
{
	int rc;
	g_test_init(&argc, &argv, NULL);
	tmpdir = test_util_mkdtemp("ac-devnet-unit-XXXXXX");
	g_test_add_func("/devnet/knobs/fixtures", test_knobs_fixtures);
	g_test_add_func("/devnet/knobs/semantics", test_knobs_semantics);
	g_test_add_func("/devnet/gpt", test_gpt);
	g_test_add_func("/devnet/luks", test_luks);
	g_test_add_func("/devnet/luks-read-bounded", test_luks_read_bounded);
	g_test_add_func("/devnet/car", test_car);
	g_test_add_func("/devnet/car-npm", test_car_npm);
	g_test_add_func ("/devnet/identity-read-bounded", test_identity_read_bounded);
	g_test_add_func ("/devnet/store", test_store);
	rc = g_test_run();
	test_util_rm_rf(tmpdir);
	g_free(tmpdir);
	return rc;
}
