/*
 * UnixFS CIDv0 and CARv1: known kubo CIDs, the chunk and fan-out boundaries, reading our CARs
 * back (every block hash checked, the file reassembled from the DAG), stream == file writer.
 * The byte-for-byte comparison with ipfs-unixfs-importer / @ipld/car is in npm-peers.sh.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include <glib/gstdio.h>

#include "ac-car.h"
#include "ac-error.h"
#include "ac-unixfs.h"

static gchar *tmpdir;

static gchar *
write_file (const gchar *name, const guint8 *data, gsize len)
{
	gchar *path = g_build_filename (tmpdir, name, NULL);
	g_autoptr(GError) error = NULL;
	g_file_set_contents (path, (const gchar *)data, (gssize)len, &error);
	g_assert_no_error (error);
	return path;
}

static void
test_known_cids (void)
{
	struct {
		const gchar *content;
		const gchar *cid;
	} v[] = {
		/* `ipfs add --only-hash` (kubo defaults) */
		{ "", "QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH" },
		{ "hello world", "Qmf412jQZiuVUtdgnB36FXFX7xg5V6KEbSJ4dpQuhkLyfD" },
		{ "hello world\n", "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o" },
	};
	for (guint i = 0; i < G_N_ELEMENTS (v); i++) {
		g_autofree gchar *path = write_file ("known", (const guint8 *)v[i].content,
						     strlen (v[i].content));
		g_autoptr(GError) error = NULL;
		g_autofree gchar *cid = ac_ipfs_file_cid_string (path, NULL, NULL, &error);
		g_assert_no_error (error);
		g_assert_cmpstr (cid, ==, v[i].cid);
		g_unlink (path);
	}
}

typedef struct {
	GHashTable *blocks; /* base58 CID → GBytes */
	guint n_blocks;
} Store;

static gboolean
store_block (const guint8 *cid, gsize cid_len, const guint8 *data, gsize data_len,
	     gpointer user_data, GError **error)
{
	Store *s = user_data;
	g_autofree gchar *key = ac_cid_v0_to_string (cid);
	g_assert_cmpuint (cid_len, ==, AC_CID_V0_LEN);
	/* our writer never repeats a block */
	g_assert_false (g_hash_table_contains (s->blocks, key));
	g_hash_table_insert (s->blocks, g_steal_pointer (&key), g_bytes_new (data, data_len));
	s->n_blocks++;
	return TRUE;
}

/* reassemble the file from the DAG, checking blocksizes and filesizes on the way */
static guint64
export_node (Store *s, const gchar *cid, GByteArray *out, guint depth)
{
	GBytes *b = g_hash_table_lookup (s->blocks, cid);
	g_autoptr(AcDagPbNode) node = NULL;
	g_autoptr(GError) error = NULL;
	AcUnixfsData u;
	guint64 total = 0;
	gsize len;
	const guint8 *d;

	g_assert_nonnull (b);
	g_assert_cmpuint (depth, <, 8);
	d = g_bytes_get_data (b, &len);
	node = ac_dagpb_decode (d, len, &error);
	g_assert_no_error (error);
	g_assert_nonnull (node->data);
	g_assert_true (ac_unixfs_data_decode (node->data->data, node->data->len, &u, &error));
	g_assert_cmpuint (u.type, ==, 2);
	g_assert_true (u.has_filesize);
	if (node->links->len == 0) {
		g_assert_cmpuint (u.data_len, ==, u.filesize);
		g_byte_array_append (out, u.data, (guint)u.data_len);
		total = u.data_len;
	} else {
		g_assert_cmpuint (node->links->len, <=, AC_UNIXFS_MAX_LINKS);
		g_assert_cmpuint (u.blocksizes->len, ==, node->links->len);
		for (guint i = 0; i < node->links->len; i++) {
			AcDagPbLink *l = g_ptr_array_index (node->links, i);
			g_autofree gchar *child = NULL;
			guint64 n;
			g_assert_cmpuint (l->hash->len, ==, AC_CID_V0_LEN);
			g_assert_cmpstr (l->name, ==, "");
			child = ac_cid_v0_to_string (l->hash->data);
			n = export_node (s, child, out, depth + 1);
			g_assert_cmpuint (n, ==, g_array_index (u.blocksizes, guint64, i));
			total += n;
		}
		g_assert_false (u.has_data);
	}
	g_assert_cmpuint (total, ==, u.filesize);
	ac_unixfs_data_clear (&u);
	return total;
}

static void
check_size (gsize size, gboolean repeat)
{
	g_autofree guint8 *data = g_malloc (MAX (size, 1));
	g_autofree gchar *path = NULL;
	g_autofree gchar *car = NULL;
	g_autofree gchar *car_data = NULL;
	g_autofree gchar *cid = NULL;
	g_autoptr(GPtrArray) roots = NULL;
	g_autoptr(GByteArray) back = g_byte_array_new ();
	g_autoptr(GError) error = NULL;
	g_autoptr(AcCarStream) stream = NULL;
	g_autoptr(GByteArray) streamed = g_byte_array_new ();
	guint8 root[AC_CID_V0_LEN], root2[AC_CID_V0_LEN];
	guint64 fsize = 0, car_size = 0;
	gsize car_len = 0;
	Store s = { 0 };
	guint8 buf[70000];
	gssize n;

	/* random, or a repeating pattern so identical chunks exercise deduplication */
	for (gsize i = 0; i < size; i++)
		data[i] = repeat ? (guint8)(i % 251 == 0) : (guint8)g_random_int ();
	if (repeat)
		memset (data, 0x5a, size);
	path = write_file ("in.bin", data, size);
	car = g_build_filename (tmpdir, "out.car", NULL);

	g_assert_true (ac_ipfs_file_cid (path, root, &fsize, &car_size, NULL, NULL, &error));
	g_assert_no_error (error);
	g_assert_cmpuint (fsize, ==, size);
	g_assert_true (ac_ipfs_file_write_car (path, car, FALSE, root2, NULL, NULL, &error));
	g_assert_no_error (error);
	g_assert_cmpmem (root, AC_CID_V0_LEN, root2, AC_CID_V0_LEN);
	g_assert_false (g_file_test (car, G_FILE_TEST_EXISTS) == FALSE);
	g_assert_true (g_file_get_contents (car, &car_data, &car_len, NULL));
	g_assert_cmpuint (car_len, ==, car_size);

	s.blocks = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify)g_bytes_unref);
	g_assert_true (ac_car_parse ((const guint8 *)car_data, car_len, &roots, store_block, &s, &error));
	g_assert_no_error (error);
	g_assert_cmpuint (roots->len, ==, 1);
	g_assert_cmpmem (((GByteArray *)roots->pdata[0])->data, ((GByteArray *)roots->pdata[0])->len,
			 root, AC_CID_V0_LEN);
	cid = ac_cid_v0_to_string (root);
	g_assert_cmpuint (export_node (&s, cid, back, 0), ==, size);
	g_assert_cmpmem (back->data, back->len, data, size);

	/* the upload stream yields the same bytes, in odd-sized reads */
	stream = ac_car_stream_new (path, NULL, NULL, &error);
	g_assert_no_error (error);
	g_assert_cmpuint (ac_car_stream_get_size (stream), ==, car_len);
	while ((n = ac_car_stream_read (stream, buf, 1 + g_random_int_range (0, sizeof (buf) - 1),
					&error)) > 0)
		g_byte_array_append (streamed, buf, (guint)n);
	g_assert_no_error (error);
	g_assert_cmpint (n, ==, 0);
	g_assert_cmpmem (streamed->data, streamed->len, car_data, car_len);
	/* and again after a rewind (a retried upload) */
	g_assert_true (ac_car_stream_rewind (stream, &error));
	g_byte_array_set_size (streamed, 0);
	while ((n = ac_car_stream_read (stream, buf, sizeof (buf), &error)) > 0)
		g_byte_array_append (streamed, buf, (guint)n);
	g_assert_cmpmem (streamed->data, streamed->len, car_data, car_len);

	g_test_message ("%" G_GSIZE_FORMAT " bytes%s → %s, %u blocks, CAR %" G_GSIZE_FORMAT, size,
			repeat ? " (repeating)" : "", cid, s.n_blocks, car_len);
	g_hash_table_unref (s.blocks);
	g_unlink (path);
	g_unlink (car);
}

static void
test_boundaries (void)
{
	const gsize C = AC_UNIXFS_CHUNK_SIZE;
	const gsize sizes[] = { 0, 1, C - 1, C, C + 1, 2 * C, 174 * C - 1, 174 * C, 174 * C + 1,
				175 * C + 3 };
	for (guint i = 0; i < G_N_ELEMENTS (sizes); i++)
		check_size (sizes[i], FALSE);
	/* identical chunks: the CAR stores each block once */
	check_size (3 * C + 5, TRUE);
}

/* a write that fails (a full device): the CAR's writer names the output and the cause */
static void
test_car_write_full (void)
{
	g_autofree gchar *path = g_build_filename (tmpdir, "small.bin", NULL);
	g_autoptr (GError) error = NULL;
	guint8 root[AC_CID_V0_LEN];

	g_assert_true (g_file_set_contents (path, "small enough for the write buffer", -1, NULL));
	g_assert_false (
	    ac_ipfs_file_write_car (path, "/dev/full", FALSE, root, NULL, NULL, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_IO);
	g_assert_cmpstr (error->message, ==, "cannot write /dev/full: No space left on device");
	g_unlink (path);
}

static void
test_car_refusals (void)
{
	guint8 root[AC_CID_V0_LEN] = { 0x12, 0x20 };
	guint8 hdr[AC_CAR_HEADER_V0_LEN];
	g_autoptr(GByteArray) car = g_byte_array_new ();
	g_autoptr(GError) error = NULL;
	/* a block claiming an all-zero sha256 */
	guint8 frame[] = { 35, 0x12, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
			   0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 'x' };

	ac_car_header_encode (root, hdr);
	g_byte_array_append (car, hdr, sizeof (hdr));
	g_assert_true (ac_car_parse (car->data, car->len, NULL, NULL, NULL, &error));
	g_assert_no_error (error);
	g_byte_array_append (car, frame, sizeof (frame));
	g_assert_false (ac_car_parse (car->data, car->len, NULL, NULL, NULL, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_MISMATCH);
	g_clear_error (&error);
	/* truncated */
	g_assert_false (ac_car_parse (car->data, car->len - 1, NULL, NULL, NULL, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
	g_clear_error (&error);
	/* version 2 */
	hdr[AC_CAR_HEADER_V0_LEN - 1] = 0x02;
	g_assert_false (ac_car_parse (hdr, sizeof (hdr), NULL, NULL, NULL, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
}

static void
test_dagpb_refusals (void)
{
	/* Data before Links is not canonical dag-pb */
	const guint8 bad_order[] = { 0x0a, 0x02, 0x08, 0x02, 0x12, 0x02, 0x0a, 0x00 };
	const guint8 trunc[] = { 0x12, 0x05, 0x0a };
	const guint8 ok[] = { 0x0a, 0x04, 0x08, 0x02, 0x18, 0x00 };
	g_autoptr(GError) error = NULL;
	g_autoptr(AcDagPbNode) n = NULL;

	g_assert_null (ac_dagpb_decode (bad_order, sizeof (bad_order), &error));
	g_clear_error (&error);
	g_assert_null (ac_dagpb_decode (trunc, sizeof (trunc), &error));
	g_clear_error (&error);
	n = ac_dagpb_decode (ok, sizeof (ok), &error);
	g_assert_no_error (error);
	g_assert_cmpuint (n->data->len, ==, 4);
}

int
main (int argc, char **argv)
{
	int rc;
	g_test_init (&argc, &argv, NULL);
	tmpdir = g_dir_make_tmp ("ac-ipfs-XXXXXX", NULL);
	g_test_add_func ("/aleph/ipfs/known-cids", test_known_cids);
	g_test_add_func ("/aleph/ipfs/boundaries", test_boundaries);
	g_test_add_func ("/aleph/ipfs/car-refusals", test_car_refusals);
	g_test_add_func ("/aleph/ipfs/car-write-full", test_car_write_full);
	g_test_add_func ("/aleph/ipfs/dagpb-refusals", test_dagpb_refusals);
	rc = g_test_run ();
	g_rmdir (tmpdir);
	g_free (tmpdir);
	return rc;
}
