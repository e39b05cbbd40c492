/*
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The LUKS2 on-disk format (cryptsetup's "LUKS2 On-Disk Format Specification"): two copies of
 * a header at the start of the device, the primary at 0 and the secondary at hdr_size; each is
 * a 4096-byte binary header (big-endian) followed by a NUL-terminated JSON area, the whole
 * copy covered by a SHA-256 checksum. The header comes from the node operator: every length
 * is bounded before use, and a header that two readers could read in two ways (two copies
 * that differ, a JSON object with two members of one name) is refused.
 *
 * cipher_null is the attack this guards against: a key slot "encrypted" with it stores the
 * volume key in clear (any passphrase opens it), a segment with it stores the data in clear.
 */
#include "config.h"

#include "ac-snp-luks2.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "ac-error.h"
#include "ac-file.h"
#include "ac-json.h"

/* offsets in the binary header */
#define HDR_MAGIC 0
#define HDR_VERSION 6
#define HDR_SIZE 8
#define HDR_SEQID 16
#define HDR_CSUM_ALG 72
#define HDR_CSUM_ALG_LEN 32
#define HDR_UUID 168
#define HDR_UUID_LEN 40
#define HDR_OFFSET 256
#define HDR_CSUM 448
#define HDR_CSUM_LEN 64

#define AC_LUKS2_MAX_SLOTS 32 /* keyslots and segments: cryptsetup's LUKS2_KEYSLOTS_MAX */

void
ac_luks2_header_free (AcLuks2Header *header)
{
	if (header == NULL)
		return;
	g_free (header->uuid);
	g_free (header);
}

static guint64
be64 (const guint8 *p)
{
	guint64 v = 0;
	for (guint i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return v;
}

static gboolean
hdr_size_allowed (guint64 size)
{
	for (guint64 s = AC_LUKS2_MIN_HDR_SIZE; s <= AC_LUKS2_MAX_HDR_SIZE; s *= 2) {
		if (size == s)
			return TRUE;
	}
	return FALSE;
}

/**
 * ac_luks2_header_area_size:
 *
 * What to read before checking: the primary header's magic and version, and its hdr_size one
 * of the sizes LUKS2 allows (16 KiB to 4 MiB, powers of two).
 */
gboolean
ac_luks2_header_area_size (const guint8 *data, gsize len, gsize *needed, GError **error)
{
	guint64 size;

	if (len < AC_LUKS2_BINARY_HEADER) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "LUKS2 header: %" G_GSIZE_FORMAT " bytes, expected at least %u", len,
		             AC_LUKS2_BINARY_HEADER);
		return FALSE;
	}
	if (memcmp (data + HDR_MAGIC, "LUKS\xba\xbe", 6) != 0) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		                     "no LUKS header: expected the LUKS magic at offset 0");
		return FALSE;
	}
	if (data[HDR_VERSION] != 0 || data[HDR_VERSION + 1] != 2) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "LUKS header version %u: expected 2 (LUKS2)",
		             (guint)data[HDR_VERSION] << 8 | data[HDR_VERSION + 1]);
		return FALSE;
	}
	size = be64 (data + HDR_SIZE);
	if (!hdr_size_allowed (size)) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "LUKS2 header size %" G_GUINT64_FORMAT
		             ": expected a power of two from 16 KiB to 4 MiB",
		             size);
		return FALSE;
	}
	*needed = (gsize)size * 2;
	return TRUE;
}

/* one copy at @data (hdr_size bytes): binary fields and checksum */
static gboolean
check_copy (const guint8 *data,
            guint64 hdr_size,
            gboolean secondary,
            const gchar *name,
            GError **error)
{
	const gchar *magic = secondary ? "SKUL\xba\xbe" : "LUKS\xba\xbe";
	g_autoptr (GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);
	static const guint8 zero[HDR_CSUM_LEN] = { 0 };
	guint8 digest[32];
	gsize digest_len = sizeof (digest);
	guint64 offset;

	if (memcmp (data + HDR_MAGIC, magic, 6) != 0) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "LUKS2 %s header: no %s magic at offset %" G_GUINT64_FORMAT, name,
		             secondary ? "secondary" : "primary", secondary ? hdr_size : 0);
		return FALSE;
	}
	if (data[HDR_VERSION] != 0 || data[HDR_VERSION + 1] != 2) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "LUKS2 %s header: version %u, expected 2", name,
		             (guint)data[HDR_VERSION] << 8 | data[HDR_VERSION + 1]);
		return FALSE;
	}
	if (be64 (data + HDR_SIZE) != hdr_size) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "LUKS2 %s header: size %" G_GUINT64_FORMAT
		             ", expected %" G_GUINT64_FORMAT " as the primary's",
		             name, be64 (data + HDR_SIZE), hdr_size);
		return FALSE;
	}
	offset = be64 (data + HDR_OFFSET);
	if (offset != (secondary ? hdr_size : 0)) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "LUKS2 %s header: hdr_offset %" G_GUINT64_FORMAT
		             ", expected %" G_GUINT64_FORMAT,
		             name, offset, secondary ? hdr_size : 0);
		return FALSE;
	}
	if (memchr (data + HDR_CSUM_ALG, '\0', HDR_CSUM_ALG_LEN) == NULL
	    || strcmp ((const gchar *)data + HDR_CSUM_ALG, "sha256") != 0) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "LUKS2 %s header: checksum algorithm is not sha256 (what cryptsetup "
		             "writes)",
		             name);
		return FALSE;
	}
	/* SHA-256 of the whole copy with the checksum field zeroed */
	g_checksum_update (sum, data, HDR_CSUM);
	g_checksum_update (sum, zero, HDR_CSUM_LEN);
	g_checksum_update (sum, data + HDR_CSUM + HDR_CSUM_LEN,
	                   (gssize)(hdr_size - HDR_CSUM - HDR_CSUM_LEN));
	g_checksum_get_digest (sum, digest, &digest_len);
	if (memcmp (digest, data + HDR_CSUM, sizeof (digest)) != 0) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "LUKS2 %s header: its SHA-256 checksum does not match", name);
		return FALSE;
	}
	return TRUE;
}

/* "0".."31" without leading zeros */
static gboolean
slot_name (const gchar *name, guint *out)
{
	guint64 v = 0;
	if (!g_ascii_string_to_unsigned (name, 10, 0, AC_LUKS2_MAX_SLOTS - 1, &v, NULL)
	    || (name[0] == '0' && name[1] != '\0'))
		return FALSE;
	*out = (guint)v;
	return TRUE;
}

/* a LUKS2 uint64 as JSON: a string of decimal digits */
static gboolean
json_u64 (JsonObject *o, const gchar *member, guint64 *out)
{
	JsonNode *n = json_object_get_member (o, member);
	const gchar *s;
	if (n == NULL || !JSON_NODE_HOLDS_VALUE (n)
	    || json_node_get_value_type (n) != G_TYPE_STRING)
		return FALSE;
	s = json_node_get_string (n);
	if (s[0] == '\0' || strspn (s, "0123456789") != strlen (s))
		return FALSE;
	return g_ascii_string_to_unsigned (s, 10, 0, G_MAXINT64, out, NULL);
}

/* the "encryption" member of @o must be aes-xts-plain64 */
static gboolean
check_encryption (JsonObject *o, const gchar *what, GError **error)
{
	JsonNode *n = o != NULL ? json_object_get_member (o, "encryption") : NULL;
	const gchar *enc;
	g_autofree gchar *shown = NULL;

	if (n == NULL || !JSON_NODE_HOLDS_VALUE (n)
	    || json_node_get_value_type (n) != G_TYPE_STRING) {
		g_set_error (error, AC_ERROR, AC_ERROR_REFUSED,
		             "LUKS2 header: %s has no encryption: expected " AC_LUKS2_CIPHER, what);
		return FALSE;
	}
	enc = json_node_get_string (n);
	if (strcmp (enc, AC_LUKS2_CIPHER) != 0) {
		shown = g_strescape (enc, NULL);
		if (strlen (shown) > 64)
			shown[64] = '\0';
		g_set_error (error, AC_ERROR, AC_ERROR_REFUSED,
		             "LUKS2 header: %s is encrypted with '%s': expected " AC_LUKS2_CIPHER,
		             what, shown);
		return FALSE;
	}
	return TRUE;
}

static JsonObject *
member_object (JsonObject *o, const gchar *name, gboolean required, GError **error)
{
	JsonNode *n = json_object_get_member (o, name);
	if (n == NULL && !required)
		return NULL;
	if (n == NULL || !JSON_NODE_HOLDS_OBJECT (n)) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "LUKS2 header: JSON member '%s' is %s: expected an object", name,
		             n == NULL ? "missing" : ac_json_type_name (n));
		return NULL;
	}
	return json_node_get_object (n);
}

/* the member @name (@n) of "keyslots" or "segments", a @noun ("key slot", "segment"): its
 * number, its name for messages ("key slot 0") and its object */
static JsonObject *
numbered_object (const gchar *name,
                 JsonNode *n,
                 const gchar *noun,
                 guint *number,
                 gchar **what,
                 GError **error)
{
	if (!slot_name (name, number)) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "LUKS2 header: a %s is not named by a number from 0 to %u", noun,
		             AC_LUKS2_MAX_SLOTS - 1);
		return NULL;
	}
	*what = g_strdup_printf ("%s %u", noun, *number);
	if (!JSON_NODE_HOLDS_OBJECT (n)) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "LUKS2 header: %s is %s: expected an object", *what,
		             ac_json_type_name (n));
		return NULL;
	}
	return json_node_get_object (n);
}

static gboolean
check_keyslots (JsonObject *keyslots, AcLuks2Header *h, GError **error)
{
	g_autoptr (GList) names = json_object_get_members (keyslots);

	for (GList *l = names; l != NULL; l = l->next) {
		g_autofree gchar *what = NULL;
		guint slot;
		JsonObject *ks
		    = numbered_object (l->data, json_object_get_member (keyslots, l->data),
		                       "key slot", &slot, &what, error);
		JsonNode *n;
		if (ks == NULL)
			return FALSE;
		n = json_object_get_member (ks, "area");
		if (!check_encryption (
		        n != NULL && JSON_NODE_HOLDS_OBJECT (n) ? json_node_get_object (n) : NULL,
		        what, error))
			return FALSE;
		h->keyslots++;
	}
	if (h->keyslots == 0) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_REFUSED,
		                     "LUKS2 header: no key slot: expected one a passphrase opens");
		return FALSE;
	}
	return TRUE;
}

static gboolean
check_segments (JsonObject *segments, AcLuks2Header *h, GError **error)
{
	g_autoptr (GList) names = json_object_get_members (segments);
	guint first = G_MAXUINT;

	for (GList *l = names; l != NULL; l = l->next) {
		JsonNode *n = json_object_get_member (segments, l->data);
		g_autofree gchar *what = NULL;
		JsonObject *seg;
		const gchar *type;
		guint number;
		guint64 offset = 0;
		gint64 sector;
		seg = numbered_object (l->data, n, "segment", &number, &what, error);
		if (seg == NULL || !check_encryption (seg, what, error))
			return FALSE;
		h->segments++;
		n = json_object_get_member (seg, "type");
		type = n != NULL && JSON_NODE_HOLDS_VALUE (n)
		               && json_node_get_value_type (n) == G_TYPE_STRING
		           ? json_node_get_string (n)
		           : "";
		if (strcmp (type, "crypt") != 0)
			continue;
		if (!json_u64 (seg, "offset", &offset) || offset % 512 != 0
		    || offset < 2 * h->hdr_size) {
			g_set_error (
			    error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			    "LUKS2 header: %s: its offset is not a multiple of 512 bytes after "
			    "both header copies (%" G_GUINT64_FORMAT " bytes)",
			    what, 2 * h->hdr_size);
			return FALSE;
		}
		n = json_object_get_member (seg, "sector_size");
		sector = n != NULL && JSON_NODE_HOLDS_VALUE (n)
		                 && json_node_get_value_type (n) == G_TYPE_INT64
		             ? json_node_get_int (n)
		             : 0;
		if (sector != 512 && sector != 1024 && sector != 2048 && sector != 4096) {
			g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			             "LUKS2 header: %s: sector_size is not 512, 1024, 2048 or 4096",
			             what);
			return FALSE;
		}
		h->crypt_segments++;
		if (number < first) {
			first = number;
			h->data_offset = offset;
			h->sector_size = (guint32)sector;
		}
	}
	if (h->crypt_segments == 0) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_REFUSED,
		                     "LUKS2 header: no crypt segment: expected the data encrypted "
		                     "with " AC_LUKS2_CIPHER);
		return FALSE;
	}
	return TRUE;
}

static gboolean
check_json (const guint8 *area, gsize area_len, AcLuks2Header *h, GError **error)
{
	const guint8 *nul = memchr (area, '\0', area_len);
	g_autoptr (JsonNode) root = NULL;
	JsonObject *o, *keyslots, *segments;

	if (nul == NULL || nul == area) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		                     nul == NULL
		                         ? "LUKS2 header: the JSON area has no terminating NUL"
		                         : "LUKS2 header: the JSON area is empty");
		return FALSE;
	}
	/* cryptsetup zero-fills the area after the text: anything else is hidden from a reader */
	for (const guint8 *p = nul; p < area + area_len; p++) {
		if (*p != 0) {
			g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			             "LUKS2 header: byte %" G_GSIZE_FORMAT
			             " of the JSON area, after its text, is not zero",
			             (gsize)(p - area));
			return FALSE;
		}
	}
	root = ac_json_parse_bounded_unique ("LUKS2 header JSON", (const gchar *)area,
	                                     (gsize)(nul - area), area_len, AC_ERROR_INVALID_INPUT,
	                                     error);
	if (root == NULL)
		return FALSE;
	if (!JSON_NODE_HOLDS_OBJECT (root)) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		                     "LUKS2 header: the JSON area is not an object");
		return FALSE;
	}
	o = json_node_get_object (root);
	if ((keyslots = member_object (o, "keyslots", TRUE, error)) == NULL
	    || (segments = member_object (o, "segments", TRUE, error)) == NULL
	    || member_object (o, "digests", TRUE, error) == NULL
	    || member_object (o, "config", TRUE, error) == NULL)
		return FALSE;
	if (json_object_has_member (o, "tokens")
	    && member_object (o, "tokens", TRUE, error) == NULL)
		return FALSE;
	return check_keyslots (keyslots, h, error) && check_segments (segments, h, error);
}

/**
 * ac_luks2_check_header:
 * @data: the start of the device: at least both header copies (2 × hdr_size bytes)
 *
 * The guest's check of its root filesystem's header before it asks for the passphrase
 * (Aleph's measured initrd does the same), stricter where cryptsetup would have a choice: the
 * two copies must both be valid and carry the same sequence number, UUID and JSON, so the
 * header checked is the one cryptsetup uses. Then every key slot's area and every segment is
 * aes-xts-plain64, at least one key slot and one crypt segment exist, the first crypt
 * segment's data starts after both copies.
 */
AcLuks2Header *
ac_luks2_check_header (const guint8 *data, gsize len, GError **error)
{
	g_autoptr (AcLuks2Header) h = g_new0 (AcLuks2Header, 1);
	gsize needed = 0;
	const guint8 *second;
	const gchar *uuid;

	if (!ac_luks2_header_area_size (data, len, &needed, error))
		return NULL;
	if (len < needed) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "LUKS2 header: %" G_GSIZE_FORMAT
		             " bytes, expected both copies (%" G_GSIZE_FORMAT " bytes)",
		             len, needed);
		return NULL;
	}
	h->hdr_size = needed / 2;
	second = data + h->hdr_size;
	if (!check_copy (data, h->hdr_size, FALSE, "primary", error)
	    || !check_copy (second, h->hdr_size, TRUE, "secondary", error))
		return NULL;
	h->seqid = be64 (data + HDR_SEQID);
	if (be64 (second + HDR_SEQID) != h->seqid
	    || memcmp (data + HDR_UUID, second + HDR_UUID, HDR_UUID_LEN) != 0
	    || memcmp (data + AC_LUKS2_BINARY_HEADER, second + AC_LUKS2_BINARY_HEADER,
	               h->hdr_size - AC_LUKS2_BINARY_HEADER)
	           != 0) {
		g_set_error_literal (
		    error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		    "LUKS2 header: the two copies differ (sequence number, UUID or "
		    "JSON): expected the same header twice");
		return NULL;
	}
	uuid = (const gchar *)data + HDR_UUID;
	if (memchr (uuid, '\0', HDR_UUID_LEN) == NULL || !g_uuid_string_is_valid (uuid)) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		                     "LUKS2 header: its UUID is not a UUID string");
		return NULL;
	}
	h->uuid = g_ascii_strdown (uuid, -1);
	if (!check_json (data + AC_LUKS2_BINARY_HEADER, h->hdr_size - AC_LUKS2_BINARY_HEADER, h,
	                 error))
		return NULL;
	return g_steal_pointer (&h);
}

static gboolean
pread_all (int fd, guint8 *buf, gsize len, const gchar *path, GError **error)
{
	gsize done = 0;
	while (done < len) {
		ssize_t n = pread (fd, buf + done, len - done, (off_t)done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			g_set_error (error, AC_ERROR, n < 0 ? AC_ERROR_IO : AC_ERROR_INVALID_INPUT,
			             "%s: %s", path,
			             n < 0 ? g_strerror (errno) : "too short for its LUKS2 header");
			return FALSE;
		}
		done += (gsize)n;
	}
	return TRUE;
}

/**
 * ac_luks2_check_file:
 *
 * Reads the header copies from the start of @path (a regular file) and checks them.
 */
AcLuks2Header *
ac_luks2_check_file (const gchar *path, GError **error)
{
	g_autofree guint8 *buf = NULL;
	guint8 first[AC_LUKS2_BINARY_HEADER];
	AcLuks2Header *h = NULL;
	guint64 size = 0;
	gsize needed = 0;
	int fd = ac_file_open_regular (path, G_MAXSIZE, &size, error);

	if (fd < 0)
		return NULL;
	if (!pread_all (fd, first, sizeof (first), path, error)
	    || !ac_luks2_header_area_size (first, sizeof (first), &needed, error)) {
		close (fd);
		g_prefix_error (error, "%s: ", path);
		return NULL;
	}
	buf = g_malloc (needed);
	if (pread_all (fd, buf, needed, path, error)) {
		h = ac_luks2_check_header (buf, needed, error);
		if (h == NULL)
			g_prefix_error (error, "%s: ", path);
	}
	close (fd);
	return h;
}
