/*
 * aleph-confidential devnet: the CCN's file uploads (storage, IPFS file, CAR, JSON), the raw file
 * GET, and the firmware STORE published at startup.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <math.h>

#include "ac-aleph-util.h"
#include "ac-devnet-car.h"
#include "ac-devnet-messages.h"
#include "ac-devnet-process.h"
#include "ac-devnet-reply.h"
#include "ac-devnet-request.h"
#include "ac-devnet-upload.h"
#include "ac-error.h"
#include "ac-file.h"
#include "ac-json.h"
#include "ac-time.h"
#include "ac-unixfs.h"

typedef struct {
	GBytes *file;
	gchar *filename;
	GBytes *metadata;
} AcDevnetUploadParts;

static void
upload_parts_clear (AcDevnetUploadParts *p)
{
	g_clear_pointer (&p->file, g_bytes_unref);
	g_clear_pointer (&p->metadata, g_bytes_unref);
	g_clear_pointer (&p->filename, g_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (AcDevnetUploadParts, upload_parts_clear)

static gboolean
upload_parse (SoupServerMessage *msg,
              gboolean allow_raw,
              AcDevnetUploadParts *parts,
              GError **error)
{
	SoupMessageHeaders *h = soup_server_message_get_request_headers (msg);
	g_autoptr (GBytes) body = ac_devnet_request_body (msg);
	const gchar *ctype = soup_message_headers_get_content_type (h, NULL);
	SoupMultipart *mp;

	if (ctype == NULL || g_ascii_strcasecmp (ctype, "multipart/form-data") != 0) {
		if (!allow_raw) {
			g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			             "expected multipart/form-data with a \"file\" part, got %s",
			             ctype != NULL ? ctype : "no Content-Type");
			return FALSE;
		}
		parts->file = g_bytes_ref (body);
		return TRUE;
	}
	mp = soup_multipart_new_from_message (h, body);
	if (mp == NULL) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		                     "the multipart body is malformed");
		return FALSE;
	}
	for (int i = 0; i < soup_multipart_get_length (mp); i++) {
		SoupMessageHeaders *ph = NULL;
		GBytes *pb = NULL;
		g_autofree gchar *disposition = NULL;
		GHashTable *params = NULL;
		const gchar *name;
		if (!soup_multipart_get_part (mp, i, &ph, &pb))
			continue;
		if (!soup_message_headers_get_content_disposition (ph, &disposition, &params))
			continue;
		name = g_hash_table_lookup (params, "name");
		if (g_strcmp0 (name, "file") == 0 && parts->file == NULL) {
			parts->file = g_bytes_ref (pb);
			parts->filename = g_strdup (g_hash_table_lookup (params, "filename"));
		} else if (g_strcmp0 (name, "metadata") == 0 && parts->metadata == NULL) {
			parts->metadata = g_bytes_ref (pb);
		}
		g_hash_table_unref (params);
	}
	soup_multipart_free (mp);
	if (parts->file == NULL) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		                     "the multipart body has no \"file\" part");
		return FALSE;
	}
	return TRUE;
}

/* the STORE message in a metadata part: {"message": {...}, "sync": bool} */
static AcAlephMessage *
upload_metadata (GBytes *metadata,
                 const gchar *item_type,
                 const gchar *file_hash,
                 gboolean *sync,
                 GError **error)
{
	gsize len = 0;
	const gchar *data = g_bytes_get_data (metadata, &len);
	g_autoptr (JsonNode) root = ac_json_parse_untrusted ("metadata", data, len, error);
	g_autoptr (AcAlephMessage) m = NULL;
	g_autoptr (JsonNode) content = NULL;
	JsonNode *syncn;
	JsonObject *co;
	if (root == NULL)
		return NULL;
	if (!JSON_NODE_HOLDS_OBJECT (root)
	    || !json_object_has_member (json_node_get_object (root), "message")) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		                     "metadata: no \"message\" object");
		return NULL;
	}
	syncn = json_object_get_member (json_node_get_object (root), "sync");
	if (syncn != NULL && JSON_NODE_HOLDS_VALUE (syncn)
	    && json_node_get_value_type (syncn) == G_TYPE_BOOLEAN)
		*sync = json_node_get_boolean (syncn);
	m = ac_aleph_message_from_json (
	    json_object_get_member (json_node_get_object (root), "message"), error);
	if (m == NULL)
		return NULL;
	if (g_strcmp0 (m->type, "STORE") != 0) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "metadata: message type %s, expected STORE", m->type);
		return NULL;
	}
	content = ac_aleph_message_get_content (m, error);
	if (content == NULL)
		return NULL;
	if (!JSON_NODE_HOLDS_OBJECT (content)) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		                     "metadata: STORE content is not an object");
		return NULL;
	}
	co = json_node_get_object (content);
	if (g_strcmp0 (json_object_get_string_member_with_default (co, "item_hash", NULL),
	               file_hash)
	    != 0) {
		g_set_error (error, AC_ERROR, AC_ERROR_MISMATCH,
		             "metadata: STORE item_hash %s differs from the uploaded file's %s",
		             json_object_get_string_member_with_default (co, "item_hash", "(none)"),
		             file_hash);
		return NULL;
	}
	if (g_strcmp0 (json_object_get_string_member_with_default (co, "item_type", NULL),
	               item_type)
	    != 0) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "metadata: STORE item_type %s, expected %s",
		             json_object_get_string_member_with_default (co, "item_type", "(none)"),
		             item_type);
		return NULL;
	}
	return g_steal_pointer (&m);
}

static gboolean
save_file (AcDevnet *self,
           const gchar *hash,
           const gchar *kind,
           GBytes *data,
           const gchar *tmp_path,
           GError **error)
{
	g_autofree gchar *path = g_build_filename (self->files_dir, hash, NULL);
	gsize len = 0;
	const gchar *p = data != NULL ? g_bytes_get_data (data, &len) : NULL;
	if (tmp_path != NULL) {
		struct stat st;
		if (g_rename (tmp_path, path) != 0 || g_stat (path, &st) != 0) {
			g_set_error (error, AC_ERROR, AC_ERROR_IO, "storing %s: %s", path,
			             g_strerror (errno));
			return FALSE;
		}
		len = (gsize)st.st_size;
	} else if (!ac_file_replace_contents (path, p != NULL ? p : "", len, TRUE, 0600, error)) {
		return FALSE;
	}
	return ac_devnet_store_put_file (self->store, hash, kind, len, path, error);
}

static JsonNode *
upload_result (const gchar *hash, const gchar *name, gint64 size)
{
	g_autoptr (JsonBuilder) b = json_builder_new ();
	json_builder_begin_object (b);
	ac_json_builder_add_string (b, "status", "success");
	ac_json_builder_add_string (b, "hash", hash);
	if (name != NULL) {
		ac_json_builder_add_string (b, "name", name);
	}
	if (size >= 0) {
		ac_json_builder_add_int (b, "size", size);
	}
	json_builder_end_object (b);
	return json_builder_get_root (b);
}

static gchar *
unixfs_cid (GBytes *data, GError **error)
{
	g_autoptr (AcUnixfsBuilder) ub = ac_unixfs_builder_new (NULL, NULL);
	guint8 root[AC_CID_V0_LEN];
	gsize len = 0;
	const guint8 *p = g_bytes_get_data (data, &len);
	if (!ac_unixfs_builder_update (ub, p, len, error)
	    || !ac_unixfs_builder_finish (ub, root, NULL, error))
		return NULL;
	return ac_cid_v0_to_string (root);
}

gboolean
ac_devnet_upload_handle (AcDevnet *self, AcDevnetEndpoint ep, SoupServerMessage *msg)
{
	g_auto (AcDevnetUploadParts) parts = { 0 };
	g_autoptr (GError) error = NULL;
	g_autofree gchar *hash = NULL;
	g_autofree gchar *tmp_path = NULL;
	g_autoptr (AcAlephMessage) store = NULL;
	g_autofree gchar *status = NULL;
	g_autoptr (JsonNode) result = NULL;
	const gchar *kind = ep == AC_DEVNET_EP_STORAGE_ADD_FILE ? "storage" : "ipfs";
	gboolean sync = FALSE;
	guint64 size = 0;

	if (!upload_parse (msg, ep == AC_DEVNET_EP_STORAGE_ADD_FILE, &parts, &error)) {
		ac_devnet_reply_error (msg, 422, "%s", error->message);
		return TRUE;
	}
	size = g_bytes_get_size (parts.file);
	if (ep != AC_DEVNET_EP_IPFS_ADD_CAR && size > self->max_upload) {
		ac_devnet_reply_error (msg, 413,
		                       "file of %" G_GUINT64_FORMAT
		                       " bytes is larger than the %" G_GUINT64_FORMAT "-byte limit",
		                       size, self->max_upload);
		return TRUE;
	}
	if (ep == AC_DEVNET_EP_STORAGE_ADD_FILE) {
		gsize len = 0;
		const guint8 *p = g_bytes_get_data (parts.file, &len);
		hash = ac_aleph_sha256_hex (p, len);
	} else if (ep == AC_DEVNET_EP_IPFS_ADD_FILE) {
		hash = unixfs_cid (parts.file, &error);
	} else {
		/* the CAR's file goes to a temporary, renamed once the root is accepted */
		g_autoptr (GFileOutputStream) out = NULL;
		g_autoptr (GFile) f = NULL;
		gsize len = 0;
		const guint8 *p = g_bytes_get_data (parts.file, &len);
		int fd;
		tmp_path = g_build_filename (self->work_dir, "car-XXXXXX", NULL);
		fd = g_mkstemp_full (tmp_path, O_RDWR | O_CLOEXEC, 0600);
		if (fd < 0) {
			ac_devnet_reply_error (msg, 500, "creating %s: %s", tmp_path,
			                       g_strerror (errno));
			return TRUE;
		}
		close (fd);
		f = g_file_new_for_path (tmp_path);
		out = g_file_replace (f, NULL, FALSE, G_FILE_CREATE_PRIVATE, NULL, &error);
		if (out != NULL)
			hash = ac_devnet_car_extract (p, len, self->max_upload,
			                              G_OUTPUT_STREAM (out), &size, &error);
		if (out != NULL
		    && !g_output_stream_close (G_OUTPUT_STREAM (out), NULL,
		                               hash != NULL ? &error : NULL))
			g_clear_pointer (&hash, g_free);
	}
	if (hash == NULL) {
		if (tmp_path != NULL)
			g_unlink (tmp_path);
		ac_devnet_reply_error (msg, 422, "%s", error->message);
		return TRUE;
	}
	if (parts.metadata != NULL) {
		store = upload_metadata (parts.metadata, kind, hash, &sync, &error);
		if (store == NULL) {
			if (tmp_path != NULL)
				g_unlink (tmp_path);
			ac_devnet_reply_error (msg, 422, "%s", error->message);
			return TRUE;
		}
	}
	if (!save_file (self, hash, kind, tmp_path == NULL ? parts.file : NULL, tmp_path, &error)) {
		if (tmp_path != NULL)
			g_unlink (tmp_path);
		ac_devnet_reply_error (msg, 500, "%s", error->message);
		return TRUE;
	}
	result = upload_result (hash,
	                        ep == AC_DEVNET_EP_STORAGE_ADD_FILE
	                            ? NULL
	                            : (parts.filename != NULL ? parts.filename : hash),
	                        ep == AC_DEVNET_EP_STORAGE_ADD_FILE ? -1 : (gint64)size);
	if (store == NULL) {
		ac_devnet_reply_json (msg, 200, result);
		return TRUE;
	}
	if (!ac_devnet_process_accept (self, store, &status, &error)) {
		ac_devnet_reply_text (msg, 422, "InvalidMessageFormat");
		return TRUE;
	}
	if (g_strcmp0 (status, "rejected") == 0) {
		g_autoptr (AcDevnetMessageRow) row
		    = ac_devnet_store_get_message (self->store, store->item_hash, NULL);
		ac_devnet_reply_error (msg, 422, "STORE message rejected: %s",
		                       row != NULL && row->details != NULL ? row->details : "?");
		return TRUE;
	}
	/* pyaleph answers with the upload result and the broadcast's status code */
	ac_devnet_reply_json (msg, ac_devnet_process_status_to_http (status), result);
	return TRUE;
}

void
ac_devnet_upload_add_json (AcDevnet *self, SoupServerMessage *msg, gboolean ipfs)
{
	g_autoptr (GBytes) body = ac_devnet_request_body (msg);
	g_autoptr (GError) error = NULL;
	g_autoptr (JsonNode) node = NULL;
	g_autoptr (JsonNode) result = NULL;
	g_autofree gchar *hash = NULL;
	gsize len = 0;
	const gchar *data = g_bytes_get_data (body, &len);

	if (len > AC_DEVNET_MESSAGES_MAX_JSON_CONTENT) {
		ac_devnet_reply_error (msg, 413,
		                       "JSON of %" G_GSIZE_FORMAT " bytes is larger than %u", len,
		                       AC_DEVNET_MESSAGES_MAX_JSON_CONTENT);
		return;
	}
	node = ac_json_parse_untrusted ("add_json", data, len, &error);
	if (node == NULL) {
		ac_devnet_reply_error (msg, 422, "%s", error->message);
		return;
	}
	hash = ipfs ? unixfs_cid (body, &error) : ac_aleph_sha256_hex ((const guint8 *)data, len);
	if (hash == NULL
	    || !save_file (self, hash, ipfs ? "ipfs" : "storage", body, NULL, &error)) {
		ac_devnet_reply_error (msg, 500, "%s", error->message);
		return;
	}
	result = upload_result (hash, NULL, -1);
	ac_devnet_reply_json (msg, 200, result);
}

void
ac_devnet_upload_raw (AcDevnet *self, SoupServerMessage *msg, const gchar *path)
{
	const gchar *hash = g_str_has_prefix (path, "/ipfs/")
	                        ? path + strlen ("/ipfs/")
	                        : path + strlen ("/api/v0/storage/raw/");
	g_autofree gchar *file = NULL;
	g_autoptr (GMappedFile) mf = NULL;
	g_autoptr (GBytes) bytes = NULL;
	g_autoptr (GError) error = NULL;

	if (!ac_item_hash_is_valid (hash)) {
		ac_devnet_reply_error (msg, 422, "'%s' is not a file hash", hash);
		return;
	}
	file = ac_devnet_store_get_file (self->store, hash, NULL, NULL, NULL);
	if (file == NULL) {
		ac_devnet_reply_error (msg, 404, "File not found");
		return;
	}
	mf = g_mapped_file_new (file, FALSE, &error);
	if (mf == NULL) {
		ac_devnet_reply_error (msg, 500, "%s", error->message);
		return;
	}
	bytes = g_mapped_file_get_bytes (mf);
	/* libsoup answers a Range request of a complete 200 answer with its 206 (a single range,
	 * or multipart/byteranges), as pyaleph's server does; the knob ignore_range plays a server
	 * that does not, and sends the whole file */
	if (self->knobs.ignore_range)
		soup_message_headers_remove (soup_server_message_get_request_headers (msg),
		                             "Range");
	ac_devnet_reply_bytes (msg, bytes);
}

gboolean
ac_devnet_upload_publish_store (AcDevnet *self,
                                GBytes *bytes,
                                const gchar *name,
                                const gchar *marker_name,
                                gchar **sha256_out,
                                gchar **path_out,
                                gchar **item_hash_out,
                                GError **error)
{
	g_autoptr (JsonBuilder) b = json_builder_new ();
	g_autoptr (JsonNode) content = NULL;
	g_autoptr (AcAlephMessage) m = NULL;
	g_autofree gchar *marker = g_build_filename (self->state_dir, marker_name, NULL);
	g_autofree gchar *known = NULL;
	g_autofree gchar *sha256 = NULL;
	g_autofree gchar *path = NULL;
	gsize len = 0;
	const guint8 *p = g_bytes_get_data (bytes, &len);

	sha256 = ac_aleph_sha256_hex (p, len);
	if (!save_file (self, sha256, "storage", bytes, NULL, error))
		return FALSE;
	path = ac_devnet_store_get_file (self->store, sha256, NULL, NULL, error);
	if (path == NULL)
		return FALSE;

	/* one STORE per file and state directory */
	if (g_file_get_contents (marker, &known, NULL, NULL)) {
		g_auto (GStrv) f = g_strsplit (g_strstrip (known), " ", 2);
		if (g_strv_length (f) == 2 && g_strcmp0 (f[0], sha256) == 0
		    && ac_item_hash_is_valid (f[1])) {
			g_autoptr (AcDevnetMessageRow) row
			    = ac_devnet_store_get_message (self->store, f[1], NULL);
			if (row != NULL && g_strcmp0 (row->status, "processed") == 0) {
				*item_hash_out = g_strdup (f[1]);
				*sha256_out = g_steal_pointer (&sha256);
				if (path_out != NULL)
					*path_out = g_steal_pointer (&path);
				return TRUE;
			}
		}
	}
	json_builder_begin_object (b);
	ac_json_builder_add_string (b, "address", ac_eth_account_get_address (self->account));
	json_builder_set_member_name (b, "time");
	json_builder_add_double_value (b, floor (ac_time_now_unix ()));
	ac_json_builder_add_string (b, "item_type", "storage");
	ac_json_builder_add_string (b, "item_hash", sha256);
	json_builder_set_member_name (b, "metadata");
	json_builder_begin_object (b);
	ac_json_builder_add_string (b, "name", name);
	json_builder_end_object (b);
	json_builder_end_object (b);
	content = json_builder_get_root (b);
	m = ac_aleph_message_build ("STORE", content, ac_eth_account_get_address (self->account),
	                            AC_ALEPH_DEFAULT_CHANNEL, floor (ac_time_now_unix ()), error);
	if (m == NULL || !ac_aleph_message_sign (m, self->account, error))
		return FALSE;
	if (!ac_devnet_store_insert_message (self->store, m, ac_time_now_unix (), 0,
	                                     ac_eth_account_get_address (self->account), NULL,
	                                     error))
		return FALSE;
	ac_devnet_process_one (self, m->item_hash);
	{
		g_autoptr (AcDevnetMessageRow) row
		    = ac_devnet_store_get_message (self->store, m->item_hash, error);
		if (row == NULL)
			return FALSE;
		if (g_strcmp0 (row->status, "processed") != 0) {
			g_set_error (error, AC_ERROR, AC_ERROR_INTERNAL,
			             "the devnet's own STORE of its %s was %s: %s", name,
			             row->status, row->details != NULL ? row->details : "?");
			return FALSE;
		}
	}
	known = g_strdup_printf ("%s %s\n", sha256, m->item_hash);
	if (!ac_file_replace_contents (marker, known, strlen (known), TRUE, 0644, error))
		return FALSE;
	*item_hash_out = g_strdup (m->item_hash);
	*sha256_out = g_steal_pointer (&sha256);
	if (path_out != NULL)
		*path_out = g_steal_pointer (&path);
	return TRUE;
}

gboolean
ac_devnet_upload_publish_firmware (AcDevnet *self, GError **error)
{
	g_autoptr (GMappedFile) mf = NULL;
	g_autoptr (GError) error_local = NULL;
	g_autoptr (GBytes) bytes = NULL;
	gsize len = 0;

	mf = g_mapped_file_new (self->firmware_src, FALSE, &error_local);
	if (mf == NULL) {
		g_set_error (
		    error, AC_ERROR, AC_ERROR_NOT_FOUND,
		    "devnet firmware %s: %s (install the ovmf package or set \"firmware\")",
		    self->firmware_src, error_local->message);
		return FALSE;
	}
	bytes = g_mapped_file_get_bytes (mf);
	len = g_bytes_get_size (bytes);
	if (len == 0 || len % 16 != 0 || len > 64 * 1024 * 1024) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "devnet firmware %s: %" G_GSIZE_FORMAT
		             " bytes, expected a non-empty multiple of 16 up to 64 MiB",
		             self->firmware_src, len);
		return FALSE;
	}
	return ac_devnet_upload_publish_store (
	    self, bytes, "devnet confidential firmware", "firmware-store.txt",
	    &self->firmware_sha256, &self->firmware_path, &self->firmware_item_hash, error);
}
