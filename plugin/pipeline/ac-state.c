/*
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "ac-state.h"

#include <fcntl.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <unistd.h>
#include <string.h>

#include "ac-error.h"
#include "ac-time.h"

struct _AcState {
	gchar *dir;  /* <state_dir>/domains/<uuid>/ (0700) */
	gchar *path; /* <dir>/state.json */
	JsonObject *root;
};

void
ac_state_free (AcState *self)
{
	if (self == NULL)
		return;
	g_free (self->dir);
	g_free (self->path);
	if (self->root != NULL)
		json_object_unref (self->root);
	g_free (self);
}

/**
 * ac_state_load:
 * @uuid: the domain UUID (checked: it becomes a path component)
 *
 * Loads the state of a domain, or an empty one. The directories are created 0700, and an
 * existing directory with looser permissions is refused: it holds session keys later.
 */
static AcState *
state_open (const gchar *state_dir, const gchar *uuid, gboolean create, GError **error)
{
	g_autoptr(AcState) self = g_new0 (AcState, 1);
	g_autofree gchar *domains = g_build_filename (state_dir, "domains", NULL);
	GStatBuf st;

	if (!g_uuid_string_is_valid (uuid)) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT, "invalid domain UUID '%s'", uuid);
		return NULL;
	}
	self->dir = g_build_filename (domains, uuid, NULL);
	self->path = g_build_filename (self->dir, "state.json", NULL);
	if (!create && !g_file_test (self->path, G_FILE_TEST_EXISTS)) {
		g_set_error (error, AC_ERROR, AC_ERROR_NOT_FOUND, "%s: no saved state", self->path);
		return NULL;
	}
	if (create && g_mkdir_with_parents (self->dir, 0700) != 0) {
		g_set_error (error, AC_ERROR, AC_ERROR_IO, "cannot create %s: %s", self->dir, g_strerror (errno));
		return NULL;
	}
	if (g_stat (self->dir, &st) != 0 || (st.st_mode & 0077) != 0) {
		g_set_error (error, AC_ERROR, AC_ERROR_PERMISSION,
			     "%s is accessible to other users (mode %o); it holds session keys: "
			     "run 'chmod 700 %s'",
			     self->dir, (guint)(st.st_mode & 07777), self->dir);
		return NULL;
	}
	if (g_file_test (self->path, G_FILE_TEST_EXISTS)) {
		g_autoptr(JsonParser) parser = json_parser_new ();
		JsonNode *root;
		if (!json_parser_load_from_file (parser, self->path, error)) {
			g_prefix_error (error, "%s: ", self->path);
			return NULL;
		}
		root = json_parser_get_root (parser);
		if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root)) {
			g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT, "%s: not a JSON object", self->path);
			return NULL;
		}
		self->root = json_object_ref (json_node_get_object (root));
	} else {
		self->root = json_object_new ();
	}
	return g_steal_pointer (&self);
}

/* the state of a domain's Aleph flow, created (0700) when it has none */
AcState *
ac_state_load (const gchar *state_dir, const gchar *uuid, GError **error)
{
	return state_open (state_dir, uuid, TRUE, error);
}

/* the saved state only: AC_ERROR_NOT_FOUND when there is none, and nothing is created */
AcState *
ac_state_peek (const gchar *state_dir, const gchar *uuid, GError **error)
{
	return state_open (state_dir, uuid, FALSE, error);
}

gboolean
ac_state_save (AcState *self, GError **error)
{
	g_autoptr(JsonNode) node = json_node_new (JSON_NODE_OBJECT);
	g_autofree gchar *text = NULL;

	json_node_set_object (node, self->root);
	text = json_to_string (node, TRUE);
	if (!g_file_set_contents_full (self->path, text, -1,
				       G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE,
				       0600, error)) {
		g_prefix_error (error, "cannot save the pipeline state: ");
		return FALSE;
	}
	return TRUE;
}

const gchar *
ac_state_get_dir (AcState *self)
{
	return self->dir;
}

gchar *
ac_state_get_path (AcState *self, const gchar *file)
{
	return g_build_filename (self->dir, file, NULL);
}

JsonObject *
ac_state_get_step (AcState *self, const gchar *step)
{
	JsonNode *n = json_object_get_member (self->root, step);
	if (n == NULL || !JSON_NODE_HOLDS_OBJECT (n))
		return NULL;
	return json_node_get_object (n);
}

JsonObject *
ac_state_ensure_step (AcState *self, const gchar *step)
{
	JsonObject *o = ac_state_get_step (self, step);
	if (o == NULL) {
		o = json_object_new ();
		json_object_set_object_member (self->root, step, o);
	}
	return o;
}

gboolean
ac_state_step_done (AcState *self, const gchar *step)
{
	return ac_state_get_bool (self, step, "done");
}

void
ac_state_mark_done (AcState *self, const gchar *step)
{
	ac_state_set_bool (self, step, "done", TRUE);
}

void
ac_state_reset_step (AcState *self, const gchar *step)
{
	json_object_remove_member (self->root, step);
}

const gchar *
ac_state_get_string (AcState *self, const gchar *step, const gchar *key)
{
	JsonObject *o = ac_state_get_step (self, step);
	JsonNode *n = o != NULL ? json_object_get_member (o, key) : NULL;
	if (n == NULL || json_node_get_value_type (n) != G_TYPE_STRING)
		return NULL;
	return json_node_get_string (n);
}

void
ac_state_set_string (AcState *self, const gchar *step, const gchar *key, const gchar *value)
{
	JsonObject *o = ac_state_ensure_step (self, step);
	if (value == NULL)
		json_object_remove_member (o, key);
	else
		json_object_set_string_member (o, key, value);
}

gboolean
ac_state_get_bool (AcState *self, const gchar *step, const gchar *key)
{
	JsonObject *o = ac_state_get_step (self, step);
	JsonNode *n = o != NULL ? json_object_get_member (o, key) : NULL;
	return n != NULL && json_node_get_value_type (n) == G_TYPE_BOOLEAN && json_node_get_boolean (n);
}

void
ac_state_set_bool (AcState *self, const gchar *step, const gchar *key, gboolean value)
{
	json_object_set_boolean_member (ac_state_ensure_step (self, step), key, value);
}

gint64
ac_state_get_int (AcState *self, const gchar *step, const gchar *key)
{
	JsonObject *o = ac_state_get_step (self, step);
	JsonNode *n = o != NULL ? json_object_get_member (o, key) : NULL;
	if (n == NULL || json_node_get_value_type (n) != G_TYPE_INT64)
		return 0;
	return json_node_get_int (n);
}

void
ac_state_set_int (AcState *self, const gchar *step, const gchar *key, gint64 value)
{
	json_object_set_int_member (ac_state_ensure_step (self, step), key, value);
}

/**
 * ac_state_log:
 *
 * Appends a timestamped line to the domain's event log (`virt-aleph logs`). Callers never
 * pass secrets; the file is 0600 in the 0700 state directory.
 */
void
ac_state_log (AcState *self, const gchar *format, ...)
{
	va_list args;
	g_autofree gchar *line = NULL;
	g_autofree gchar *path = g_build_filename (self->dir, "log", NULL);
	g_autofree gchar *when = ac_time_now_utc ();
	FILE *f;
	int fd;

	va_start (args, format);
	line = g_strdup_vprintf (format, args);
	va_end (args);
	fd = g_open (path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	f = fdopen (fd, "a");
	if (f == NULL) {
		close (fd);
		return;
	}
	fprintf (f, "%s %s\n", when, line);
	fclose (f);
}
