/*
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <openssl/crypto.h>
#include <string.h>

#include "ac-error.h"
#include "ac-secret.h"
#include "ac-sev-guid.h"
#include "ac-sev-ossl-private.h"
#include "ac-sev-secret-private.h"

typedef struct {
	guint8 guid[16];
	GBytes *data; /* secure bytes */
} AcSevSecretEntry;

struct _AcSevSecretTable {
	GArray *entries;
};

static void
ac_sev_secret_entry_clear (gpointer p)
{
	AcSevSecretEntry *e = p;
	g_clear_pointer (&e->data, g_bytes_unref);
}

gboolean
ac_sev_secret_table_format_from_string (const gchar *str,
					AcSevSecretTableFormat *format,
					GError **error)
{
	if (g_strcmp0 (str, "aleph") == 0)
		*format = AC_SEV_SECRET_TABLE_ALEPH;
	else if (g_strcmp0 (str, "libvirt") == 0)
		*format = AC_SEV_SECRET_TABLE_LIBVIRT;
	else if (g_strcmp0 (str, "sevctl") == 0)
		*format = AC_SEV_SECRET_TABLE_SEVCTL;
	else {
		g_set_error (error,
			     AC_ERROR,
			     AC_ERROR_INVALID_INPUT,
			     "unknown secret table format '%s', expected aleph, libvirt or sevctl",
			     str != NULL ? str : "");
		return FALSE;
	}
	return TRUE;
}

AcSevSecretTable *
ac_sev_secret_table_new (void)
{
	AcSevSecretTable *self = g_new0 (AcSevSecretTable, 1);
	self->entries = g_array_new (FALSE, TRUE, sizeof (AcSevSecretEntry));
	g_array_set_clear_func (self->entries, ac_sev_secret_entry_clear);
	return self;
}

void
ac_sev_secret_table_free (AcSevSecretTable *self)
{
	if (self == NULL)
		return;
	g_array_unref (self->entries);
	g_free (self);
}

static gboolean
ac_sev_secret_resolve_guid (const gchar *guid_or_alias, guint8 guid[16], GError **error)
{
	/* libvirt's alias for GRUB_EFI_DISKPASSWD_GUID */
	if (g_strcmp0 (guid_or_alias, "luks-key") == 0 ||
	    g_strcmp0 (guid_or_alias, "disk-password") == 0)
		guid_or_alias = AC_SEV_SECRET_GUID_DISK_PASSWORD;
	return ac_sev_guid_from_string (guid_or_alias, guid, error);
}

gboolean
ac_sev_secret_table_add (AcSevSecretTable *self,
			 const gchar *guid_or_alias,
			 const guint8 *data,
			 gsize len,
			 GError **error)
{
	AcSevSecretEntry e = { 0 };
	if (!ac_sev_secret_resolve_guid (guid_or_alias, e.guid, error))
		return FALSE;
	if (len > AC_SEV_SECRET_MAX_PAYLOAD) {
		g_set_error (error,
			     AC_ERROR,
			     AC_ERROR_INVALID_INPUT,
			     "secret %s has %" G_GSIZE_FORMAT " bytes, more than the %d allowed",
			     guid_or_alias,
			     len,
			     AC_SEV_SECRET_MAX_PAYLOAD);
		return FALSE;
	}
	e.data = ac_secret_bytes_new_take (g_memdup2 (data != NULL ? data : (const guint8 *)"", len), len);
	g_array_append_val (self->entries, e);
	return TRUE;
}

guint
ac_sev_secret_table_get_size (AcSevSecretTable *self)
{
	return self->entries->len;
}

const guint8 *
ac_sev_secret_table_get_guid (AcSevSecretTable *self, guint idx)
{
	g_return_val_if_fail (idx < self->entries->len, NULL);
	return g_array_index (self->entries, AcSevSecretEntry, idx).guid;
}

GBytes *
ac_sev_secret_table_get_data (AcSevSecretTable *self, guint idx)
{
	g_return_val_if_fail (idx < self->entries->len, NULL);
	return g_bytes_ref (g_array_index (self->entries, AcSevSecretEntry, idx).data);
}

GBytes *
ac_sev_secret_table_lookup (AcSevSecretTable *self, const gchar *guid)
{
	guint8 g[16];
	if (!ac_sev_secret_resolve_guid (guid, g, NULL))
		return NULL;
	for (guint i = 0; i < self->entries->len; i++) {
		AcSevSecretEntry *e = &g_array_index (self->entries, AcSevSecretEntry, i);
		if (memcmp (e->guid, g, 16) == 0)
			return g_bytes_ref (e->data);
	}
	return NULL;
}

/**
 * ac_sev_secret_table_build:
 *
 * Serializes the table in @format (see #AcSevSecretTableFormat); the result is cleansed
 * when released.
 */
GBytes *
ac_sev_secret_table_build (AcSevSecretTable *self, AcSevSecretTableFormat format, GError **error)
{
	gsize len = 20;
	gsize padded;
	guint8 *buf;
	gsize off = 20;
	gboolean nul = format == AC_SEV_SECRET_TABLE_ALEPH;

	if (self->entries->len == 0) {
		g_set_error_literal (error,
				     AC_ERROR,
				     AC_ERROR_INVALID_INPUT,
				     "secret table has no entries");
		return NULL;
	}
	for (guint i = 0; i < self->entries->len; i++) {
		AcSevSecretEntry *e = &g_array_index (self->entries, AcSevSecretEntry, i);
		len += 20 + g_bytes_get_size (e->data) + (nul ? 1 : 0);
	}
	if (format == AC_SEV_SECRET_TABLE_LIBVIRT)
		padded = len + (16 - len % 16);
	else
		padded = (len + 15) & ~(gsize)15;
	if (padded > G_MAXUINT32) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_INVALID_INPUT, "secret table too large");
		return NULL;
	}
	buf = g_malloc0 (padded);
	ac_sev_guid_from_string (AC_SEV_SECRET_GUID_TABLE, buf, NULL);
	ac_sev_put_le32 (buf + 16, (guint32)(format == AC_SEV_SECRET_TABLE_ALEPH ? padded : len));
	for (guint i = 0; i < self->entries->len; i++) {
		AcSevSecretEntry *e = &g_array_index (self->entries, AcSevSecretEntry, i);
		gsize dlen = 0;
		const guint8 *d = g_bytes_get_data (e->data, &dlen);
		memcpy (buf + off, e->guid, 16);
		ac_sev_put_le32 (buf + off + 16, (guint32)(20 + dlen + (nul ? 1 : 0)));
		if (dlen > 0)
			memcpy (buf + off + 20, d, dlen);
		off += 20 + dlen + (nul ? 1 : 0); /* the NUL is already there (zeroed buffer) */
	}
	return ac_secret_bytes_new_take (buf, padded);
}

/**
 * ac_sev_secret_table_build_aleph_passphrase:
 *
 * The table Aleph's client sends: one disk-password entry with the passphrase and its NUL.
 * Only printable ASCII is accepted (Aleph's client mis-sizes multi-byte characters and GRUB
 * stops at a NUL).
 */
GBytes *
ac_sev_secret_table_build_aleph_passphrase (const gchar *passphrase, GError **error)
{
	g_autoptr(AcSevSecretTable) t = ac_sev_secret_table_new ();
	gsize len = passphrase != NULL ? strlen (passphrase) : 0;

	if (len == 0) {
		g_set_error_literal (error,
				     AC_ERROR,
				     AC_ERROR_INVALID_INPUT,
				     "disk passphrase is empty");
		return NULL;
	}
	for (gsize i = 0; i < len; i++) {
		if (passphrase[i] < 0x20 || passphrase[i] > 0x7e) {
			g_set_error (error,
				     AC_ERROR,
				     AC_ERROR_INVALID_INPUT,
				     "disk passphrase has a non-printable or non-ASCII byte at "
				     "offset %" G_GSIZE_FORMAT " (Aleph's table needs printable ASCII)",
				     i);
			return NULL;
		}
	}
	if (!ac_sev_secret_table_add (t,
				      AC_SEV_SECRET_GUID_DISK_PASSWORD,
				      (const guint8 *)passphrase,
				      len,
				      error))
		return NULL;
	return ac_sev_secret_table_build (t, AC_SEV_SECRET_TABLE_ALEPH, error);
}

/**
 * ac_sev_secret_table_parse:
 *
 * Parses a table in any of the three formats: the length field may be padded or not; entries
 * follow back to back until the length or only zero padding is left.
 */
AcSevSecretTable *
ac_sev_secret_table_parse (const guint8 *data, gsize len, GError **error)
{
	g_autoptr(AcSevSecretTable) self = ac_sev_secret_table_new ();
	guint8 hdr[16];
	guint32 total;
	gsize off = 20;

	if (data == NULL || len < 20) {
		g_set_error (error,
			     AC_ERROR,
			     AC_ERROR_INVALID_INPUT,
			     "secret table has %" G_GSIZE_FORMAT " bytes, expected at least 20",
			     data == NULL ? 0 : len);
		return NULL;
	}
	ac_sev_guid_from_string (AC_SEV_SECRET_GUID_TABLE, hdr, NULL);
	if (memcmp (data, hdr, 16) != 0) {
		g_autofree gchar *g = ac_sev_guid_to_string (data);
		g_set_error (error,
			     AC_ERROR,
			     AC_ERROR_INVALID_INPUT,
			     "secret table starts with GUID %s, expected %s",
			     g,
			     AC_SEV_SECRET_GUID_TABLE);
		return NULL;
	}
	total = ac_sev_le32 (data + 16);
	if (total < 20 || total > len) {
		g_set_error (error,
			     AC_ERROR,
			     AC_ERROR_INVALID_INPUT,
			     "secret table length field is %u, expected 20 to %" G_GSIZE_FORMAT,
			     total,
			     len);
		return NULL;
	}
	while (total - off >= 20 && !ac_sev_all_zero (data + off, total - off)) {
		g_autofree gchar *guid = NULL;
		guint32 elen = ac_sev_le32 (data + off + 16);
		if (elen < 20 || elen > total - off) {
			g_set_error (error,
				     AC_ERROR,
				     AC_ERROR_INVALID_INPUT,
				     "secret table entry at offset %" G_GSIZE_FORMAT
				     " has length %u, expected 20 to %" G_GSIZE_FORMAT,
				     off,
				     elen,
				     total - off);
			return NULL;
		}
		guid = ac_sev_guid_to_string (data + off);
		if (!ac_sev_secret_table_add (self, guid, data + off + 20, elen - 20, error))
			return NULL;
		off += elen;
	}
	if (!ac_sev_all_zero (data + off, len - off)) {
		g_set_error (error,
			     AC_ERROR,
			     AC_ERROR_INVALID_INPUT,
			     "secret table has non-zero bytes after its entries (offset %" G_GSIZE_FORMAT
			     ")",
			     off);
		return NULL;
	}
	return g_steal_pointer (&self);
}

/* ------------------------------------------------------------------------------------------ */
/* packet                                                                                     */

/* HMAC(TIK, 0x01 ‖ LE32(flags) ‖ IV ‖ LE32(len) ‖ LE32(len) ‖ C ‖ MEASURE) */
static gboolean
ac_sev_secret_mac (const guint8 tik[16],
		   const guint8 measure[32],
		   gboolean legacy,
		   guint32 flags,
		   const guint8 iv[16],
		   const guint8 *c,
		   gsize clen,
		   guint8 out[32],
		   GError **error)
{
	gsize mlen = 1 + 4 + 16 + 4 + 4 + clen + (legacy ? 0 : 32);
	g_autofree guint8 *msg = g_malloc (mlen);
	msg[0] = 0x01;
	ac_sev_put_le32 (msg + 1, flags);
	memcpy (msg + 5, iv, 16);
	ac_sev_put_le32 (msg + 21, (guint32)clen);
	ac_sev_put_le32 (msg + 25, (guint32)clen);
	memcpy (msg + 29, c, clen);
	if (!legacy)
		memcpy (msg + 29 + clen, measure, 32);
	return ac_sev_hmac_sha256 (tik, 16, msg, mlen, out, error);
}

static gboolean
ac_sev_secret_check_len (gsize len, GError **error)
{
	if (len == 0 || len % 16 != 0 || len > AC_SEV_SECRET_MAX_PAYLOAD) {
		g_set_error (error,
			     AC_ERROR,
			     AC_ERROR_INVALID_INPUT,
			     "secret payload has %" G_GSIZE_FORMAT
			     " bytes, expected a non-zero multiple of 16 up to %d",
			     len,
			     AC_SEV_SECRET_MAX_PAYLOAD);
		return FALSE;
	}
	return TRUE;
}

/**
 * ac_sev_secret_packet_build:
 * @measure: MEASURE from LAUNCH_MEASURE (the first 32 bytes of the blob)
 * @iv: (nullable): 16 bytes; %NULL draws a random IV (always, except in tests)
 * @payload: (out): AES-128-CTR(TEK, IV, table)
 */
gboolean
ac_sev_secret_packet_build (const guint8 tek[16],
			    const guint8 tik[16],
			    const guint8 measure[32],
			    guint8 api_major,
			    guint8 api_minor,
			    const guint8 *iv,
			    GBytes *table,
			    guint8 header[AC_SEV_SECRET_HEADER_SIZE],
			    GBytes **payload,
			    GError **error)
{
	gsize len = 0;
	const guint8 *t = g_bytes_get_data (table, &len);
	g_autofree guint8 *c = NULL;

	if (!ac_sev_secret_check_len (len, error))
		return FALSE;
	memset (header, 0, AC_SEV_SECRET_HEADER_SIZE);
	if (iv != NULL)
		memcpy (header + 4, iv, 16);
	else if (!ac_sev_random (header + 4, 16, error))
		return FALSE;
	c = g_malloc (len);
	if (!ac_sev_aes128_ctr (tek, header + 4, t, len, c, error))
		return FALSE;
	if (!ac_sev_secret_mac (tik,
				measure,
				api_major == 0 && api_minor < 17,
				0,
				header + 4,
				c,
				len,
				header + 20,
				error))
		return FALSE;
	*payload = g_bytes_new_take (g_steal_pointer (&c), len);
	return TRUE;
}

/**
 * ac_sev_secret_packet_open:
 * @plaintext: (out): the decrypted table (cleansed when released)
 *
 * What the PSP does at LAUNCH_SECRET: checks the header (52 bytes, flags 0), the payload
 * length and the MAC in constant time (AC_ERROR_MISMATCH), then decrypts.
 */
gboolean
ac_sev_secret_packet_open (const guint8 tek[16],
			   const guint8 tik[16],
			   const guint8 measure[32],
			   guint8 api_major,
			   guint8 api_minor,
			   const guint8 *header,
			   gsize header_len,
			   const guint8 *payload,
			   gsize payload_len,
			   GBytes **plaintext,
			   GError **error)
{
	guint8 mac[32];
	guint32 flags;
	guint8 *p;

	if (header == NULL || header_len != AC_SEV_SECRET_HEADER_SIZE) {
		g_set_error (error,
			     AC_ERROR,
			     AC_ERROR_INVALID_INPUT,
			     "secret header has %" G_GSIZE_FORMAT " bytes, expected %d",
			     header == NULL ? 0 : header_len,
			     AC_SEV_SECRET_HEADER_SIZE);
		return FALSE;
	}
	flags = ac_sev_le32 (header);
	if (flags != 0) {
		g_set_error (error,
			     AC_ERROR,
			     AC_ERROR_UNSUPPORTED,
			     "secret header flags are 0x%x, expected 0 (compression is not supported)",
			     flags);
		return FALSE;
	}
	if (payload == NULL || !ac_sev_secret_check_len (payload_len, error)) {
		if (payload == NULL)
			g_set_error_literal (error, AC_ERROR, AC_ERROR_INVALID_INPUT, "secret payload is missing");
		return FALSE;
	}
	if (!ac_sev_secret_mac (tik,
				measure,
				api_major == 0 && api_minor < 17,
				flags,
				header + 4,
				payload,
				payload_len,
				mac,
				error))
		return FALSE;
	if (CRYPTO_memcmp (mac, header + 20, 32) != 0) {
		g_set_error_literal (error,
				     AC_ERROR,
				     AC_ERROR_MISMATCH,
				     "secret packet MAC does not verify (wrong TIK or measurement, or "
				     "the packet was altered)");
		return FALSE;
	}
	p = g_malloc (payload_len);
	if (!ac_sev_aes128_ctr (tek, header + 4, payload, payload_len, p, error)) {
		ac_secret_wipe (p, payload_len);
		g_free (p);
		return FALSE;
	}
	*plaintext = ac_secret_bytes_new_take (p, payload_len);
	return TRUE;
}
