/*
 * Per-domain pipeline state: what each step finished, persisted so a killed service resumes
 * without repeating uploads or messages. One JSON file per domain UUID in a 0700 directory,
 * written atomically (0600). Never holds a passphrase or session key.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

typedef struct _AcState AcState;

AcState *ac_state_load (const gchar *state_dir, const gchar *uuid, GError **error);
AcState *ac_state_peek (const gchar *state_dir, const gchar *uuid, GError **error);
gboolean ac_state_save (AcState *self, GError **error);
void ac_state_free (AcState *self);
const gchar *ac_state_get_dir (AcState *self);
gchar *ac_state_get_path (AcState *self, const gchar *file);

/* A step's record: NULL if the step never recorded anything. */
JsonObject *ac_state_get_step (AcState *self, const gchar *step);
JsonObject *ac_state_ensure_step (AcState *self, const gchar *step);
gboolean ac_state_step_done (AcState *self, const gchar *step);
void ac_state_mark_done (AcState *self, const gchar *step);
void ac_state_reset_step (AcState *self, const gchar *step);

const gchar *ac_state_get_string (AcState *self, const gchar *step, const gchar *key);
void ac_state_set_string (AcState *self, const gchar *step, const gchar *key, const gchar *value);
gboolean ac_state_get_bool (AcState *self, const gchar *step, const gchar *key);
void ac_state_set_bool (AcState *self, const gchar *step, const gchar *key, gboolean value);
gint64 ac_state_get_int (AcState *self, const gchar *step, const gchar *key);
void ac_state_set_int (AcState *self, const gchar *step, const gchar *key, gint64 value);

void ac_state_log (AcState *self, const gchar *format, ...) G_GNUC_PRINTF (2, 3);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (AcState, ac_state_free)

G_END_DECLS
