/*
 * aleph-confidential devnet: the SQLite store.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <sqlite3.h>

#include "ac-devnet-store.h"
#include "ac-error.h"

struct _AcDevnetStore {
	sqlite3 *db;
};

static const gchar *schema
    = "PRAGMA journal_mode=WAL;"
      "PRAGMA synchronous=OFF;"
      "CREATE TABLE IF NOT EXISTS messages ("
      " item_hash TEXT PRIMARY KEY, type TEXT NOT NULL, sender TEXT NOT NULL, chain TEXT NOT NULL,"
      " channel TEXT, time REAL NOT NULL, item_type TEXT NOT NULL, signature TEXT,"
      " item_content TEXT, status TEXT NOT NULL, error_code INTEGER, details TEXT,"
      " reception_time REAL NOT NULL, process_at REAL NOT NULL, owner TEXT, ref TEXT,"
      " forgotten_by TEXT);"
      "CREATE INDEX IF NOT EXISTS messages_status ON messages (status, process_at);"
      "CREATE TABLE IF NOT EXISTS files ("
      " hash TEXT PRIMARY KEY, kind TEXT NOT NULL, size INTEGER NOT NULL, path TEXT NOT NULL);"
      "CREATE TABLE IF NOT EXISTS vms ("
      " crn INTEGER NOT NULL, vm_hash TEXT NOT NULL, state TEXT NOT NULL, owner TEXT,"
      " launches INTEGER NOT NULL, measurements INTEGER NOT NULL, inject_attempts INTEGER NOT NULL,"
      " secrets_released INTEGER NOT NULL, passphrase_checks INTEGER NOT NULL,"
      " passphrase_ok INTEGER NOT NULL, last_error TEXT, updated REAL NOT NULL,"
      " agent_handshakes INTEGER NOT NULL DEFAULT 0, agent_bytes INTEGER NOT NULL DEFAULT 0,"
      " fresh_reports INTEGER NOT NULL DEFAULT 0,"
      " PRIMARY KEY (crn, vm_hash));";

/* the columns later versions added to a table an earlier one made */
static const gchar *const vm_columns_added[]
    = { "agent_handshakes", "agent_bytes", "fresh_reports", NULL };

static gboolean
store_fail (AcDevnetStore *self, const gchar *what, GError **error)
{
	g_set_error (error, AC_ERROR, AC_ERROR_IO, "devnet store: %s: %s", what,
	             sqlite3_errmsg (self->db));
	return FALSE;
}

/* @sql prepared into *@st, or FALSE naming @what */
static gboolean
store_prepare (AcDevnetStore *self,
               const gchar *sql,
               const gchar *what,
               sqlite3_stmt **st,
               GError **error)
{
	if (sqlite3_prepare_v2 (self->db, sql, -1, st, NULL) != SQLITE_OK)
		return store_fail (self, what, error);
	return TRUE;
}

/* runs @st, a statement without rows, and finalizes it */
static gboolean
store_step_done (AcDevnetStore *self, sqlite3_stmt *st, const gchar *what, GError **error)
{
	int rc = sqlite3_step (st);
	sqlite3_finalize (st);
	if (rc != SQLITE_DONE)
		return store_fail (self, what, error);
	return TRUE;
}

void
ac_devnet_store_free (AcDevnetStore *self)
{
	if (self == NULL)
		return;
	if (self->db != NULL)
		sqlite3_close_v2 (self->db);
	g_free (self);
}

AcDevnetStore *
ac_devnet_store_open (const gchar *path, GError **error)
{
	g_autoptr (AcDevnetStore) self = g_new0 (AcDevnetStore, 1);
	char *errmsg = NULL;
	int rc = sqlite3_open_v2 (path, &self->db,
	                          SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
	                          NULL);
	if (rc != SQLITE_OK) {
		g_set_error (error, AC_ERROR, AC_ERROR_IO, "devnet store %s: %s", path,
		             self->db != NULL ? sqlite3_errmsg (self->db) : sqlite3_errstr (rc));
		return NULL;
	}
	sqlite3_busy_timeout (self->db, 2000);
	if (sqlite3_exec (self->db, schema, NULL, NULL, &errmsg) != SQLITE_OK) {
		g_set_error (error, AC_ERROR, AC_ERROR_IO, "devnet store %s: schema: %s", path,
		             errmsg);
		sqlite3_free (errmsg);
		return NULL;
	}
	for (guint i = 0; vm_columns_added[i] != NULL; i++) {
		g_autofree gchar *sql
		    = g_strdup_printf ("ALTER TABLE vms ADD COLUMN %s INTEGER NOT NULL DEFAULT 0",
		                       vm_columns_added[i]);
		/* "duplicate column name" when the table has it already */
		if (sqlite3_exec (self->db, sql, NULL, NULL, &errmsg) != SQLITE_OK) {
			gboolean dup
			    = errmsg != NULL && strstr (errmsg, "duplicate column") != NULL;
			if (!dup)
				g_set_error (error, AC_ERROR, AC_ERROR_IO,
				             "devnet store %s: adding column %s: %s", path,
				             vm_columns_added[i], errmsg);
			sqlite3_free (errmsg);
			errmsg = NULL;
			if (!dup)
				return NULL;
		}
	}
	return g_steal_pointer (&self);
}

static void
bind_text (sqlite3_stmt *st, int idx, const gchar *s)
{
	if (s == NULL)
		sqlite3_bind_null (st, idx);
	else
		sqlite3_bind_text (st, idx, s, -1, SQLITE_TRANSIENT);
}

static gchar *
col_text (sqlite3_stmt *st, int idx)
{
	const unsigned char *t = sqlite3_column_text (st, idx);
	return t != NULL ? g_strdup ((const gchar *)t) : NULL;
}

/* ---- messages ---- */

void
ac_devnet_store_message_row_free (AcDevnetMessageRow *row)
{
	if (row == NULL)
		return;
	ac_aleph_message_free (row->msg);
	g_free (row->status);
	g_free (row->details);
	g_free (row->owner);
	g_free (row->ref);
	g_free (row->forgotten_by);
	g_free (row);
}

gboolean
ac_devnet_store_insert_message (AcDevnetStore *self,
                                const AcAlephMessage *msg,
                                gdouble reception_time,
                                gdouble process_at,
                                const gchar *owner,
                                const gchar *ref,
                                GError **error)
{
	sqlite3_stmt *st = NULL;
	int rc;
	if (!store_prepare (
	        self,
	        "INSERT INTO messages (item_hash, type, sender, chain, channel, time, item_type,"
	        " signature, item_content, status, reception_time, process_at, owner, ref)"
	        " VALUES (?,?,?,?,?,?,?,?,?,'pending',?,?,?,?)"
	        /* like pyaleph, a new copy of a rejected message is pending again */
	        " ON CONFLICT (item_hash) DO UPDATE SET type = excluded.type,"
	        " sender = excluded.sender, chain = excluded.chain, channel = excluded.channel,"
	        " time = excluded.time, item_type = excluded.item_type,"
	        " signature = excluded.signature, item_content = excluded.item_content,"
	        " status = 'pending', error_code = NULL, details = NULL,"
	        " reception_time = excluded.reception_time, process_at = excluded.process_at,"
	        " owner = excluded.owner, ref = excluded.ref, forgotten_by = NULL"
	        " WHERE messages.status = 'rejected'",
	        "insert message", &st, error))
		return FALSE;
	bind_text (st, 1, msg->item_hash);
	bind_text (st, 2, msg->type);
	bind_text (st, 3, msg->sender);
	bind_text (st, 4, msg->chain);
	bind_text (st, 5, msg->channel);
	sqlite3_bind_double (st, 6, msg->time);
	bind_text (st, 7, msg->item_type);
	bind_text (st, 8, msg->signature);
	bind_text (st, 9, msg->item_content);
	sqlite3_bind_double (st, 10, reception_time);
	sqlite3_bind_double (st, 11, process_at);
	bind_text (st, 12, owner);
	bind_text (st, 13, ref);
	rc = sqlite3_step (st);
	sqlite3_finalize (st);
	if (rc == SQLITE_CONSTRAINT || (rc == SQLITE_DONE && sqlite3_changes (self->db) == 0)) {
		g_set_error (error, AC_ERROR, AC_ERROR_EXISTS, "message %s is already known",
		             msg->item_hash);
		return FALSE;
	}
	if (rc != SQLITE_DONE)
		return store_fail (self, "insert message", error);
	return TRUE;
}

#define MESSAGE_COLUMNS                                                                            \
	"item_hash, type, sender, chain, channel, time, item_type, signature, item_content, "      \
	"status,"                                                                                  \
	" error_code, details, reception_time, process_at, owner, ref, forgotten_by"

static AcDevnetMessageRow *
message_row_from_stmt (sqlite3_stmt *st)
{
	AcDevnetMessageRow *row = g_new0 (AcDevnetMessageRow, 1);
	row->msg = g_new0 (AcAlephMessage, 1);
	row->msg->item_hash = col_text (st, 0);
	row->msg->type = col_text (st, 1);
	row->msg->sender = col_text (st, 2);
	row->msg->chain = col_text (st, 3);
	row->msg->channel = col_text (st, 4);
	row->msg->time = sqlite3_column_double (st, 5);
	row->msg->item_type = col_text (st, 6);
	row->msg->signature = col_text (st, 7);
	row->msg->item_content = col_text (st, 8);
	row->status = col_text (st, 9);
	row->has_error_code = sqlite3_column_type (st, 10) != SQLITE_NULL;
	row->error_code = sqlite3_column_int64 (st, 10);
	row->details = col_text (st, 11);
	row->reception_time = sqlite3_column_double (st, 12);
	row->process_at = sqlite3_column_double (st, 13);
	row->owner = col_text (st, 14);
	row->ref = col_text (st, 15);
	row->forgotten_by = col_text (st, 16);
	return row;
}

AcDevnetMessageRow *
ac_devnet_store_get_message (AcDevnetStore *self, const gchar *item_hash, GError **error)
{
	sqlite3_stmt *st = NULL;
	AcDevnetMessageRow *row = NULL;
	int rc;
	if (!store_prepare (self, "SELECT " MESSAGE_COLUMNS " FROM messages WHERE item_hash = ?",
	                    "get message", &st, error))
		return NULL;
	bind_text (st, 1, item_hash);
	rc = sqlite3_step (st);
	if (rc == SQLITE_ROW)
		row = message_row_from_stmt (st);
	else if (rc == SQLITE_DONE)
		g_set_error (error, AC_ERROR, AC_ERROR_NOT_FOUND, "message %s is unknown",
		             item_hash);
	else
		store_fail (self, "get message", error);
	sqlite3_finalize (st);
	return row;
}

gboolean
ac_devnet_store_set_status (AcDevnetStore *self,
                            const gchar *item_hash,
                            const gchar *status,
                            gint64 error_code,
                            const gchar *details,
                            GError **error)
{
	sqlite3_stmt *st = NULL;
	if (!store_prepare (
	        self,
	        "UPDATE messages SET status = ?, error_code = ?, details = ? WHERE item_hash = ?",
	        "set status", &st, error))
		return FALSE;
	bind_text (st, 1, status);
	if (error_code < -1000)
		sqlite3_bind_null (st, 2);
	else
		sqlite3_bind_int64 (st, 2, error_code);
	bind_text (st, 3, details);
	bind_text (st, 4, item_hash);
	return store_step_done (self, st, "set status", error);
}

gboolean
ac_devnet_store_set_forgotten (AcDevnetStore *self,
                               const gchar *item_hash,
                               const gchar *by,
                               GError **error)
{
	sqlite3_stmt *st = NULL;
	g_autofree gchar *arr = g_strdup_printf ("[\"%s\"]", by);
	if (!store_prepare (self,
	                    "UPDATE messages SET status = 'forgotten', forgotten_by = ?"
	                    " WHERE item_hash = ? AND status = 'processed'",
	                    "forget", &st, error))
		return FALSE;
	bind_text (st, 1, arr);
	bind_text (st, 2, item_hash);
	return store_step_done (self, st, "forget", error);
}

GPtrArray *
ac_devnet_store_due_messages (AcDevnetStore *self, gdouble now, GError **error)
{
	sqlite3_stmt *st = NULL;
	g_autoptr (GPtrArray) out = g_ptr_array_new_with_free_func (g_free);
	int rc;
	if (!store_prepare (
	        self,
	        "SELECT item_hash FROM messages WHERE status = 'pending' AND process_at <= ?"
	        " ORDER BY process_at, reception_time",
	        "due messages", &st, error))
		return NULL;
	sqlite3_bind_double (st, 1, now);
	while ((rc = sqlite3_step (st)) == SQLITE_ROW)
		g_ptr_array_add (out, col_text (st, 0));
	sqlite3_finalize (st);
	if (rc != SQLITE_DONE) {
		store_fail (self, "due messages", error);
		return NULL;
	}
	return g_steal_pointer (&out);
}

gdouble
ac_devnet_store_next_due (AcDevnetStore *self)
{
	sqlite3_stmt *st = NULL;
	gdouble t = -1;
	if (sqlite3_prepare_v2 (self->db,
	                        "SELECT MIN(process_at) FROM messages WHERE status = 'pending'", -1,
	                        &st, NULL)
	    != SQLITE_OK)
		return -1;
	if (sqlite3_step (st) == SQLITE_ROW && sqlite3_column_type (st, 0) != SQLITE_NULL)
		t = sqlite3_column_double (st, 0);
	sqlite3_finalize (st);
	return t;
}

static void
append_in (GString *sql, const gchar *column, gchar **values, gboolean lower)
{
	guint n = values != NULL ? g_strv_length (values) : 0;
	if (n == 0)
		return;
	g_string_append_printf (sql, " AND %s%s%s IN (", lower ? "lower(" : "", column,
	                        lower ? ")" : "");
	for (guint i = 0; i < n; i++)
		g_string_append_printf (sql, "%s%s", i ? "," : "", lower ? "lower(?)" : "?");
	g_string_append (sql, ")");
}

static int
bind_in (sqlite3_stmt *st, int idx, gchar **values)
{
	for (guint i = 0; values != NULL && values[i] != NULL; i++)
		bind_text (st, idx++, values[i]);
	return idx;
}

GPtrArray *
ac_devnet_store_query (AcDevnetStore *self, const AcDevnetQuery *q, guint *total, GError **error)
{
	g_autoptr (GString) where = g_string_new (" WHERE status = 'processed'");
	g_autoptr (GPtrArray) out
	    = g_ptr_array_new_with_free_func ((GDestroyNotify)ac_devnet_store_message_row_free);
	g_autofree gchar *count_sql = NULL;
	g_autofree gchar *sql = NULL;
	guint per_page = q->per_page > 0 ? MIN (q->per_page, 10000) : 20;
	guint page = MAX (q->page, 1);
	sqlite3_stmt *st = NULL;
	int idx, rc;

	append_in (where, "item_hash", q->hashes, FALSE);
	append_in (where, "type", q->types, FALSE);
	append_in (where, "ref", q->refs, FALSE);
	append_in (where, "channel", q->channels, FALSE);
	if (q->addresses != NULL && q->addresses[0] != NULL) {
		guint n = g_strv_length (q->addresses);
		g_string_append (where, " AND (lower(sender) IN (");
		for (guint i = 0; i < n; i++)
			g_string_append_printf (where, "%slower(?)", i ? "," : "");
		g_string_append (where, ") OR lower(owner) IN (");
		for (guint i = 0; i < n; i++)
			g_string_append_printf (where, "%slower(?)", i ? "," : "");
		g_string_append (where, "))");
	}

	count_sql = g_strdup_printf ("SELECT COUNT(*) FROM messages%s", where->str);
	sql = g_strdup_printf (
	    "SELECT " MESSAGE_COLUMNS " FROM messages%s ORDER BY time %s LIMIT %u OFFSET %u",
	    where->str, q->ascending ? "ASC" : "DESC", per_page, (page - 1) * per_page);
	for (guint pass = 0; pass < 2; pass++) {
		if (!store_prepare (self, pass == 0 ? count_sql : sql, "query messages", &st,
		                    error))
			return NULL;
		idx = 1;
		idx = bind_in (st, idx, q->hashes);
		idx = bind_in (st, idx, q->types);
		idx = bind_in (st, idx, q->refs);
		idx = bind_in (st, idx, q->channels);
		idx = bind_in (st, idx, q->addresses);
		idx = bind_in (st, idx, q->addresses);
		if (pass == 0) {
			rc = sqlite3_step (st);
			if (total != NULL)
				*total = rc == SQLITE_ROW ? (guint)sqlite3_column_int64 (st, 0) : 0;
		} else {
			while ((rc = sqlite3_step (st)) == SQLITE_ROW)
				g_ptr_array_add (out, message_row_from_stmt (st));
		}
		sqlite3_finalize (st);
		if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
			store_fail (self, "query messages", error);
			return NULL;
		}
	}
	return g_steal_pointer (&out);
}

/* ---- files ---- */

gboolean
ac_devnet_store_put_file (AcDevnetStore *self,
                          const gchar *hash,
                          const gchar *kind,
                          guint64 size,
                          const gchar *path,
                          GError **error)
{
	sqlite3_stmt *st = NULL;
	if (!store_prepare (
	        self, "INSERT OR REPLACE INTO files (hash, kind, size, path) VALUES (?,?,?,?)",
	        "put file", &st, error))
		return FALSE;
	bind_text (st, 1, hash);
	bind_text (st, 2, kind);
	sqlite3_bind_int64 (st, 3, (sqlite3_int64)size);
	bind_text (st, 4, path);
	return store_step_done (self, st, "put file", error);
}

gchar *
ac_devnet_store_get_file (AcDevnetStore *self,
                          const gchar *hash,
                          guint64 *size,
                          gchar **kind,
                          GError **error)
{
	sqlite3_stmt *st = NULL;
	gchar *path = NULL;
	int rc;
	if (!store_prepare (self, "SELECT path, size, kind FROM files WHERE hash = ?", "get file",
	                    &st, error))
		return NULL;
	bind_text (st, 1, hash);
	rc = sqlite3_step (st);
	if (rc == SQLITE_ROW) {
		path = col_text (st, 0);
		if (size != NULL)
			*size = (guint64)sqlite3_column_int64 (st, 1);
		if (kind != NULL)
			*kind = col_text (st, 2);
	}
	sqlite3_finalize (st);
	return path;
}

/* ---- VMs ---- */

void
ac_devnet_store_vm_row_free (AcDevnetVmRow *row)
{
	if (row == NULL)
		return;
	g_free (row->vm_hash);
	g_free (row->state);
	g_free (row->owner);
	g_free (row->last_error);
	g_free (row);
}

gboolean
ac_devnet_store_put_vm (AcDevnetStore *self, const AcDevnetVmRow *row, GError **error)
{
	sqlite3_stmt *st = NULL;
	if (!store_prepare (
	        self,
	        "INSERT OR REPLACE INTO vms (crn, vm_hash, state, owner, launches, measurements,"
	        " inject_attempts, secrets_released, passphrase_checks, passphrase_ok, last_error,"
	        " updated, agent_handshakes, agent_bytes, fresh_reports)"
	        " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
	        "put vm", &st, error))
		return FALSE;
	sqlite3_bind_int (st, 1, (int)row->crn);
	bind_text (st, 2, row->vm_hash);
	bind_text (st, 3, row->state);
	bind_text (st, 4, row->owner);
	sqlite3_bind_int (st, 5, (int)row->launches);
	sqlite3_bind_int (st, 6, (int)row->measurements);
	sqlite3_bind_int (st, 7, (int)row->inject_attempts);
	sqlite3_bind_int (st, 8, (int)row->secrets_released);
	sqlite3_bind_int (st, 9, (int)row->passphrase_checks);
	sqlite3_bind_int (st, 10, (int)row->passphrase_ok);
	bind_text (st, 11, row->last_error);
	sqlite3_bind_double (st, 12, row->updated);
	sqlite3_bind_int64 (st, 13, (sqlite3_int64)row->agent_handshakes);
	sqlite3_bind_int64 (st, 14, (sqlite3_int64)row->agent_bytes);
	sqlite3_bind_int64 (st, 15, (sqlite3_int64)row->fresh_reports);
	return store_step_done (self, st, "put vm", error);
}

static AcDevnetVmRow *
vm_row_from_stmt (sqlite3_stmt *st)
{
	AcDevnetVmRow *row = g_new0 (AcDevnetVmRow, 1);
	row->crn = (guint)sqlite3_column_int (st, 0);
	row->vm_hash = col_text (st, 1);
	row->state = col_text (st, 2);
	row->owner = col_text (st, 3);
	row->launches = (guint)sqlite3_column_int (st, 4);
	row->measurements = (guint)sqlite3_column_int (st, 5);
	row->inject_attempts = (guint)sqlite3_column_int (st, 6);
	row->secrets_released = (guint)sqlite3_column_int (st, 7);
	row->passphrase_checks = (guint)sqlite3_column_int (st, 8);
	row->passphrase_ok = (guint)sqlite3_column_int (st, 9);
	row->last_error = col_text (st, 10);
	row->updated = sqlite3_column_double (st, 11);
	row->agent_handshakes = (guint)sqlite3_column_int64 (st, 12);
	row->agent_bytes = (guint64)sqlite3_column_int64 (st, 13);
	row->fresh_reports = (guint)sqlite3_column_int64 (st, 14);
	return row;
}

#define VM_COLUMNS                                                                                 \
	"crn, vm_hash, state, owner, launches, measurements, inject_attempts, secrets_released,"   \
	" passphrase_checks, passphrase_ok, last_error, updated, agent_handshakes, agent_bytes,"   \
	" fresh_reports"

AcDevnetVmRow *
ac_devnet_store_get_vm (AcDevnetStore *self, guint crn, const gchar *vm_hash, GError **error)
{
	sqlite3_stmt *st = NULL;
	AcDevnetVmRow *row = NULL;
	int rc;
	if (!store_prepare (self, "SELECT " VM_COLUMNS " FROM vms WHERE crn = ? AND vm_hash = ?",
	                    "get vm", &st, error))
		return NULL;
	sqlite3_bind_int (st, 1, (int)crn);
	bind_text (st, 2, vm_hash);
	rc = sqlite3_step (st);
	if (rc == SQLITE_ROW)
		row = vm_row_from_stmt (st);
	else if (rc == SQLITE_DONE)
		g_set_error (error, AC_ERROR, AC_ERROR_NOT_FOUND, "no VM %s on CRN %u", vm_hash,
		             crn);
	else
		store_fail (self, "get vm", error);
	sqlite3_finalize (st);
	return row;
}

GPtrArray *
ac_devnet_store_list_vms (AcDevnetStore *self, GError **error)
{
	sqlite3_stmt *st = NULL;
	g_autoptr (GPtrArray) out
	    = g_ptr_array_new_with_free_func ((GDestroyNotify)ac_devnet_store_vm_row_free);
	int rc;
	if (!store_prepare (self, "SELECT " VM_COLUMNS " FROM vms ORDER BY crn, vm_hash",
	                    "list vms", &st, error))
		return NULL;
	while ((rc = sqlite3_step (st)) == SQLITE_ROW)
		g_ptr_array_add (out, vm_row_from_stmt (st));
	sqlite3_finalize (st);
	if (rc != SQLITE_DONE) {
		store_fail (self, "list vms", error);
		return NULL;
	}
	return g_steal_pointer (&out);
}
