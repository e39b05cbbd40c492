/*
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Block order follows ipfs-unixfs-importer's balanced builder: leaves, each level-1 parent right
 * after its leaves, then the higher levels once all leaves are known. Level-1 links are kept in
 * memory (40 bytes per 44.6 MiB of file), leaves never are.
 */
#include "config.h"

#include <string.h>

#include <openssl/evp.h>

#include "ac-error.h"
#include "ac-unixfs.h"

typedef struct {
	guint8 cid[AC_CID_V0_LEN];
	guint64 tsize;    /* cumulative block bytes under the link */
	guint64 filesize; /* file bytes under the link */
} AcLink;

struct _AcUnixfsBuilder {
	AcBlockFunc func;
	gpointer user_data;
	guint8 *chunk;
	gsize chunk_len;
	guint64 total;
	guint n_leaves;
	GArray *level1;  /* AcLink of finished level-1 parents */
	GArray *pending; /* AcLink of leaves waiting for their parent */
	gboolean first_leaf_held;
	AcLink first_leaf;
	EVP_MD_CTX *md;
	gboolean finished;
};

gsize
ac_varint_encode (guint64 v, guint8 out[10])
{
	gsize n = 0;
	do {
		guint8 b = v & 0x7f;
		v >>= 7;
		out[n++] = b | (v ? 0x80 : 0);
	} while (v);
	return n;
}

gboolean
ac_varint_decode (const guint8 *data, gsize len, gsize *pos, guint64 *out)
{
	guint64 v = 0;
	guint shift = 0;

	while (*pos < len) {
		guint8 b = data[(*pos)++];
		if (shift == 63 && (b & 0x7e) != 0)
			return FALSE;
		v |= (guint64)(b & 0x7f) << shift;
		if ((b & 0x80) == 0) {
			/* minimal encoding only (no trailing zero groups) */
			if (b == 0 && shift > 0)
				return FALSE;
			*out = v;
			return TRUE;
		}
		shift += 7;
		if (shift > 63)
			return FALSE;
	}
	return FALSE;
}

static const gchar b58_alphabet[] = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

gchar *
ac_base58btc_encode (const guint8 *data, gsize len)
{
	gsize zeros = 0;
	gsize size;
	g_autofree guint8 *b58 = NULL;
	gsize high;
	GString *out;

	while (zeros < len && data[zeros] == 0)
		zeros++;
	size = (len - zeros) * 138 / 100 + 1;
	b58 = g_malloc0 (size);
	high = size - 1;
	for (gsize i = zeros; i < len; i++) {
		guint carry = data[i];
		gsize j;
		for (j = size - 1; j > high || carry != 0; j--) {
			carry += 256u * b58[j];
			b58[j] = (guint8)(carry % 58);
			carry /= 58;
			if (j == 0)
				break;
		}
		high = j;
	}
	out = g_string_new (NULL);
	for (gsize i = 0; i < zeros; i++)
		g_string_append_c (out, '1');
	{
		gsize i = 0;
		while (i < size && b58[i] == 0)
			i++;
		for (; i < size; i++)
			g_string_append_c (out, b58_alphabet[b58[i]]);
	}
	return g_string_free (out, FALSE);
}

GByteArray *
ac_base58btc_decode (const gchar *text, GError **error)
{
	gsize len = strlen (text);
	gsize zeros = 0;
	gsize size;
	g_autofree guint8 *bin = NULL;
	GByteArray *out;

	if (len > 1024) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			     "base58 string of %" G_GSIZE_FORMAT " characters is too long", len);
		return NULL;
	}
	while (zeros < len && text[zeros] == '1')
		zeros++;
	size = len * 733 / 1000 + 1;
	bin = g_malloc0 (size);
	for (gsize i = zeros; i < len; i++) {
		const gchar *p = strchr (b58_alphabet, text[i]);
		guint carry;
		if (p == NULL || text[i] == '\0') {
			g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
				     "invalid base58 character '%c' at offset %" G_GSIZE_FORMAT,
				     g_ascii_isprint (text[i]) ? text[i] : '?', i);
			return NULL;
		}
		carry = (guint)(p - b58_alphabet);
		for (gsize j = size; j-- > 0;) {
			carry += 58u * bin[j];
			bin[j] = (guint8)(carry & 0xff);
			carry >>= 8;
		}
	}
	out = g_byte_array_new ();
	for (gsize i = 0; i < zeros; i++) {
		guint8 z = 0;
		g_byte_array_append (out, &z, 1);
	}
	{
		gsize i = 0;
		while (i < size && bin[i] == 0)
			i++;
		g_byte_array_append (out, bin + i, (guint)(size - i));
	}
	return out;
}

gboolean
ac_cid_v0_is_valid (const gchar *cid)
{
	g_autoptr(GByteArray) bin = NULL;
	gsize len;

	if (cid == NULL)
		return FALSE;
	len = strlen (cid);
	if (len != 46 || cid[0] != 'Q' || cid[1] != 'm')
		return FALSE;
	bin = ac_base58btc_decode (cid, NULL);
	return bin != NULL && bin->len == 34 && bin->data[0] == 0x12 && bin->data[1] == 0x20;
}

gchar *
ac_cid_v0_to_string (const guint8 cid[AC_CID_V0_LEN])
{
	return ac_base58btc_encode (cid, AC_CID_V0_LEN);
}

gboolean
ac_cid_v0_from_string (const gchar *text, guint8 cid[AC_CID_V0_LEN], GError **error)
{
	g_autoptr(GByteArray) bin = NULL;

	if (!ac_cid_v0_is_valid (text)) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			     "'%s' is not a CIDv0 (Qm… with 46 base58 characters)", text);
		return FALSE;
	}
	bin = ac_base58btc_decode (text, error);
	if (bin == NULL)
		return FALSE;
	memcpy (cid, bin->data, AC_CID_V0_LEN);
	return TRUE;
}

AcUnixfsBuilder *
ac_unixfs_builder_new (AcBlockFunc func, gpointer user_data)
{
	AcUnixfsBuilder *self = g_new0 (AcUnixfsBuilder, 1);
	self->func = func;
	self->user_data = user_data;
	self->chunk = g_malloc (AC_UNIXFS_CHUNK_SIZE);
	self->level1 = g_array_new (FALSE, FALSE, sizeof (AcLink));
	self->pending = g_array_sized_new (FALSE, FALSE, sizeof (AcLink), AC_UNIXFS_MAX_LINKS);
	self->md = EVP_MD_CTX_new ();
	return self;
}

void
ac_unixfs_builder_free (AcUnixfsBuilder *self)
{
	if (self == NULL)
		return;
	g_free (self->chunk);
	g_array_unref (self->level1);
	g_array_unref (self->pending);
	EVP_MD_CTX_free (self->md);
	g_free (self);
}

guint64
ac_unixfs_builder_get_bytes (AcUnixfsBuilder *self)
{
	return self->total;
}

/*
 * A block up to this size is hashed with GLib's SHA-256, a larger one with OpenSSL's. OpenSSL 3
 * spends about 0.8 ms on its first digest of a process (the first fetch builds the name map of
 * every algorithm it knows), as long as GLib takes to hash 256 KiB: with this split the CID of a
 * small file costs no OpenSSL start-up, and a large file's leaves (256 KiB each) still get
 * OpenSSL's SHA extensions. Both are SHA-256: the CIDs are the same (tests/aleph, every size).
 */
#define AC_UNIXFS_GLIB_SHA256_MAX (64 * 1024)

static gboolean
emit_block (AcUnixfsBuilder *self, AcBlock *block, GError **error)
{
	guint8 digest[32];
	unsigned int dlen = sizeof (digest);

	block->size = 0;
	for (guint i = 0; i < 3; i++)
		block->size += block->lens[i];
	if (block->size <= AC_UNIXFS_GLIB_SHA256_MAX) {
		GChecksum *sum = g_checksum_new (G_CHECKSUM_SHA256);
		gsize glen = sizeof (digest);
		for (guint i = 0; i < 3; i++) {
			if (block->lens[i] > 0)
				g_checksum_update (sum, block->parts[i], (gssize)block->lens[i]);
		}
		g_checksum_get_digest (sum, digest, &glen);
		g_checksum_free (sum);
	} else {
		if (EVP_DigestInit_ex (self->md, EVP_sha256 (), NULL) != 1) {
			g_set_error_literal (error, AC_ERROR, AC_ERROR_INTERNAL,
					     "OpenSSL SHA-256 init failed");
			return FALSE;
		}
		for (guint i = 0; i < 3; i++) {
			if (block->lens[i] > 0)
				EVP_DigestUpdate (self->md, block->parts[i], block->lens[i]);
		}
		EVP_DigestFinal_ex (self->md, digest, &dlen);
	}
	block->cid[0] = 0x12;
	block->cid[1] = 0x20;
	memcpy (block->cid + 2, digest, 32);
	if (self->func != NULL)
		return self->func (block, self->user_data, error);
	return TRUE;
}

/* a leaf: PBNode{Data: UnixFS{Type: File, Data: chunk, filesize}} */
static gboolean
emit_leaf (AcUnixfsBuilder *self, AcLink *link, GError **error)
{
	guint8 prefix[32];
	guint8 suffix[12];
	guint8 unixfs_head[16];
	gsize uh = 0, p = 0, s = 0;
	gsize unixfs_len;
	AcBlock block = { 0 };
	guint64 n = self->chunk_len;

	unixfs_head[uh++] = 0x08;
	unixfs_head[uh++] = 0x02;
	if (n > 0) {
		unixfs_head[uh++] = 0x12;
		uh += ac_varint_encode (n, unixfs_head + uh);
	}
	suffix[s++] = 0x18;
	s += ac_varint_encode (n, suffix + s);
	unixfs_len = uh + n + s;
	prefix[p++] = 0x0a;
	p += ac_varint_encode (unixfs_len, prefix + p);
	memcpy (prefix + p, unixfs_head, uh);
	p += uh;

	block.parts[0] = prefix;
	block.lens[0] = p;
	block.parts[1] = self->chunk;
	block.lens[1] = n;
	block.parts[2] = suffix;
	block.lens[2] = s;
	if (!emit_block (self, &block, error))
		return FALSE;
	memcpy (link->cid, block.cid, AC_CID_V0_LEN);
	link->tsize = block.size;
	link->filesize = n;
	return TRUE;
}

/* a parent: PBNode{Links: [...], Data: UnixFS{Type: File, filesize, blocksizes}} */
static gboolean
emit_parent (AcUnixfsBuilder *self, const AcLink *links, guint n_links, AcLink *out, GError **error)
{
	g_autoptr(GByteArray) node = g_byte_array_sized_new (n_links * 48 + 64);
	g_autoptr(GByteArray) unixfs = g_byte_array_sized_new (n_links * 10 + 16);
	guint8 v[11];
	gsize vn;
	guint64 filesize = 0, tsize = 0;
	AcBlock block = { 0 };
	static const guint8 file_type[] = { 0x08, 0x02 };

	for (guint i = 0; i < n_links; i++) {
		guint8 hdr[2] = { 0x0a, AC_CID_V0_LEN };
		static const guint8 name[] = { 0x12, 0x00 };
		guint8 link_buf[64];
		gsize ln = 0;
		memcpy (link_buf + ln, hdr, 2);
		ln += 2;
		memcpy (link_buf + ln, links[i].cid, AC_CID_V0_LEN);
		ln += AC_CID_V0_LEN;
		memcpy (link_buf + ln, name, 2);
		ln += 2;
		link_buf[ln++] = 0x18;
		ln += ac_varint_encode (links[i].tsize, link_buf + ln);
		v[0] = 0x12;
		g_byte_array_append (node, v, 1);
		vn = ac_varint_encode (ln, v);
		g_byte_array_append (node, v, (guint)vn);
		g_byte_array_append (node, link_buf, (guint)ln);
		filesize += links[i].filesize;
		tsize += links[i].tsize;
	}
	g_byte_array_append (unixfs, file_type, 2);
	v[0] = 0x18;
	vn = 1 + ac_varint_encode (filesize, v + 1);
	g_byte_array_append (unixfs, v, (guint)vn);
	for (guint i = 0; i < n_links; i++) {
		v[0] = 0x20;
		vn = 1 + ac_varint_encode (links[i].filesize, v + 1);
		g_byte_array_append (unixfs, v, (guint)vn);
	}
	v[0] = 0x0a;
	vn = 1 + ac_varint_encode (unixfs->len, v + 1);
	g_byte_array_append (node, v, (guint)vn);
	g_byte_array_append (node, unixfs->data, unixfs->len);

	block.parts[0] = node->data;
	block.lens[0] = node->len;
	if (!emit_block (self, &block, error))
		return FALSE;
	memcpy (out->cid, block.cid, AC_CID_V0_LEN);
	out->tsize = block.size + tsize;
	out->filesize = filesize;
	return TRUE;
}

static gboolean
flush_pending (AcUnixfsBuilder *self, GError **error)
{
	AcLink parent;
	if (self->pending->len == 0)
		return TRUE;
	if (!emit_parent (self, (AcLink *)self->pending->data, self->pending->len, &parent, error))
		return FALSE;
	g_array_append_val (self->level1, parent);
	g_array_set_size (self->pending, 0);
	return TRUE;
}

static gboolean
finish_chunk (AcUnixfsBuilder *self, GError **error)
{
	AcLink leaf;

	if (!emit_leaf (self, &leaf, error))
		return FALSE;
	self->chunk_len = 0;
	self->n_leaves++;
	/* the first leaf is held: it is the root when the file has a single chunk */
	if (self->n_leaves == 1) {
		self->first_leaf = leaf;
		self->first_leaf_held = TRUE;
		return TRUE;
	}
	if (self->first_leaf_held) {
		g_array_append_val (self->pending, self->first_leaf);
		self->first_leaf_held = FALSE;
	}
	g_array_append_val (self->pending, leaf);
	if (self->pending->len == AC_UNIXFS_MAX_LINKS)
		return flush_pending (self, error);
	return TRUE;
}

guint8 *
ac_unixfs_builder_get_buffer (AcUnixfsBuilder *self, gsize *room)
{
	*room = AC_UNIXFS_CHUNK_SIZE - self->chunk_len;
	return self->chunk + self->chunk_len;
}

gboolean
ac_unixfs_builder_commit (AcUnixfsBuilder *self, gsize len, GError **error)
{
	g_return_val_if_fail (len <= AC_UNIXFS_CHUNK_SIZE - self->chunk_len, FALSE);
	self->chunk_len += len;
	self->total += len;
	if (self->chunk_len == AC_UNIXFS_CHUNK_SIZE)
		return finish_chunk (self, error);
	return TRUE;
}

gboolean
ac_unixfs_builder_update (AcUnixfsBuilder *self, const guint8 *data, gsize len, GError **error)
{
	while (len > 0) {
		gsize room;
		guint8 *buf = ac_unixfs_builder_get_buffer (self, &room);
		gsize take = MIN (room, len);
		memcpy (buf, data, take);
		if (!ac_unixfs_builder_commit (self, take, error))
			return FALSE;
		data += take;
		len -= take;
	}
	return TRUE;
}

gboolean
ac_unixfs_builder_finish (AcUnixfsBuilder *self,
			  guint8 root[AC_CID_V0_LEN],
			  guint64 *cumulative_size,
			  GError **error)
{
	g_autoptr(GArray) level = NULL;

	g_return_val_if_fail (!self->finished, FALSE);
	self->finished = TRUE;
	/* the last partial chunk; an empty file is one empty leaf */
	if (self->chunk_len > 0 || self->n_leaves == 0) {
		if (!finish_chunk (self, error))
			return FALSE;
	}
	if (self->first_leaf_held) {
		memcpy (root, self->first_leaf.cid, AC_CID_V0_LEN);
		if (cumulative_size != NULL)
			*cumulative_size = self->first_leaf.tsize;
		return TRUE;
	}
	if (!flush_pending (self, error))
		return FALSE;
	level = g_array_ref (self->level1);
	while (level->len > 1) {
		g_autoptr(GArray) next = g_array_new (FALSE, FALSE, sizeof (AcLink));
		for (guint i = 0; i < level->len; i += AC_UNIXFS_MAX_LINKS) {
			AcLink parent;
			guint n = MIN (AC_UNIXFS_MAX_LINKS, level->len - i);
			if (!emit_parent (self, &g_array_index (level, AcLink, i), n, &parent, error))
				return FALSE;
			g_array_append_val (next, parent);
		}
		g_array_unref (level);
		level = g_steal_pointer (&next);
	}
	memcpy (root, g_array_index (level, AcLink, 0).cid, AC_CID_V0_LEN);
	if (cumulative_size != NULL)
		*cumulative_size = g_array_index (level, AcLink, 0).tsize;
	return TRUE;
}

/* ---- decoding ---- */

void
ac_dagpb_node_free (AcDagPbNode *node)
{
	if (node == NULL)
		return;
	if (node->links != NULL)
		g_ptr_array_unref (node->links);
	if (node->data != NULL)
		g_byte_array_unref (node->data);
	g_free (node);
}

static void
dagpb_link_free (gpointer p)
{
	AcDagPbLink *l = p;
	if (l->hash != NULL)
		g_byte_array_unref (l->hash);
	g_free (l->name);
	g_free (l);
}

static gboolean
read_bytes_field (const guint8 *data, gsize len, gsize *pos, const guint8 **out, gsize *out_len)
{
	guint64 n;
	if (!ac_varint_decode (data, len, pos, &n) || n > len - *pos)
		return FALSE;
	*out = data + *pos;
	*out_len = (gsize)n;
	*pos += (gsize)n;
	return TRUE;
}

static AcDagPbLink *
dagpb_link_decode (const guint8 *data, gsize len, GError **error)
{
	g_autoptr(GPtrArray) holder = g_ptr_array_new_with_free_func (dagpb_link_free);
	AcDagPbLink *link = g_new0 (AcDagPbLink, 1);
	gsize pos = 0;
	guint last_field = 0;

	g_ptr_array_add (holder, link);
	while (pos < len) {
		guint64 key;
		guint field, wire;
		if (!ac_varint_decode (data, len, &pos, &key)) {
			g_set_error_literal (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
					     "dag-pb link: truncated field key");
			return NULL;
		}
		field = (guint)(key >> 3);
		wire = (guint)(key & 7);
		if (field <= last_field || field > 3) {
			g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
				     "dag-pb link: field %u out of order or unknown", field);
			return NULL;
		}
		last_field = field;
		if (field == 1 || field == 2) {
			const guint8 *b;
			gsize bl;
			if (wire != 2 || !read_bytes_field (data, len, &pos, &b, &bl)) {
				g_set_error_literal (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
						     "dag-pb link: bad length-delimited field");
				return NULL;
			}
			if (field == 1) {
				link->hash = g_byte_array_sized_new ((guint)bl);
				g_byte_array_append (link->hash, b, (guint)bl);
			} else {
				if (!g_utf8_validate ((const gchar *)b, (gssize)bl, NULL)) {
					g_set_error_literal (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
							     "dag-pb link: name is not UTF-8");
					return NULL;
				}
				link->name = g_strndup ((const gchar *)b, bl);
			}
		} else {
			if (wire != 0 || !ac_varint_decode (data, len, &pos, &link->tsize)) {
				g_set_error_literal (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
						     "dag-pb link: bad Tsize");
				return NULL;
			}
			link->has_tsize = TRUE;
		}
	}
	if (link->hash == NULL) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
				     "dag-pb link: no Hash");
		return NULL;
	}
	return g_ptr_array_steal_index (holder, 0);
}

AcDagPbNode *
ac_dagpb_decode (const guint8 *data, gsize len, GError **error)
{
	g_autoptr(AcDagPbNode) node = g_new0 (AcDagPbNode, 1);
	gsize pos = 0;
	gboolean seen_data = FALSE;

	node->links = g_ptr_array_new_with_free_func (dagpb_link_free);
	while (pos < len) {
		guint64 key;
		const guint8 *b;
		gsize bl;
		if (!ac_varint_decode (data, len, &pos, &key)) {
			g_set_error_literal (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
					     "dag-pb: truncated field key");
			return NULL;
		}
		if ((key & 7) != 2 || !read_bytes_field (data, len, &pos, &b, &bl)) {
			g_set_error_literal (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
					     "dag-pb: bad length-delimited field");
			return NULL;
		}
		if ((key >> 3) == 2) {
			AcDagPbLink *link;
			if (seen_data) {
				g_set_error_literal (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
						     "dag-pb: link after Data");
				return NULL;
			}
			link = dagpb_link_decode (b, bl, error);
			if (link == NULL)
				return NULL;
			g_ptr_array_add (node->links, link);
		} else if ((key >> 3) == 1) {
			if (seen_data) {
				g_set_error_literal (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
						     "dag-pb: two Data fields");
				return NULL;
			}
			seen_data = TRUE;
			node->data = g_byte_array_sized_new ((guint)bl);
			g_byte_array_append (node->data, b, (guint)bl);
		} else {
			g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
				     "dag-pb: unknown field %" G_GUINT64_FORMAT, key >> 3);
			return NULL;
		}
	}
	return g_steal_pointer (&node);
}

void
ac_unixfs_data_clear (AcUnixfsData *d)
{
	if (d->blocksizes != NULL)
		g_array_unref (d->blocksizes);
	memset (d, 0, sizeof (*d));
}

static gboolean
unixfs_data_parse (const guint8 *data, gsize len, AcUnixfsData *out)
{
	gsize pos = 0;
	gboolean has_type = FALSE;

	while (pos < len) {
		guint64 key, v;
		guint field, wire;
		if (!ac_varint_decode (data, len, &pos, &key))
			return FALSE;
		field = (guint)(key >> 3);
		wire = (guint)(key & 7);
		if (wire == 0) {
			if (!ac_varint_decode (data, len, &pos, &v))
				return FALSE;
			if (field == 1) {
				out->type = v;
				has_type = TRUE;
			} else if (field == 3) {
				out->filesize = v;
				out->has_filesize = TRUE;
			} else if (field == 4) {
				g_array_append_val (out->blocksizes, v);
			}
			/* other varint fields (hashType, fanout, mode) are ignored */
		} else if (wire == 2) {
			const guint8 *b;
			gsize bl;
			if (!read_bytes_field (data, len, &pos, &b, &bl))
				return FALSE;
			if (field == 2) {
				out->data = b;
				out->data_len = bl;
				out->has_data = TRUE;
			}
		} else if (wire == 5) {
			if (len - pos < 4)
				return FALSE;
			pos += 4;
		} else if (wire == 1) {
			if (len - pos < 8)
				return FALSE;
			pos += 8;
		} else {
			return FALSE;
		}
	}
	return has_type;
}

gboolean
ac_unixfs_data_decode (const guint8 *data, gsize len, AcUnixfsData *out, GError **error)
{
	memset (out, 0, sizeof (*out));
	out->blocksizes = g_array_new (FALSE, FALSE, sizeof (guint64));
	if (!unixfs_data_parse (data, len, out)) {
		ac_unixfs_data_clear (out);
		g_set_error_literal (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
				     "UnixFS: malformed protobuf or no Type");
		return FALSE;
	}
	return TRUE;
}
