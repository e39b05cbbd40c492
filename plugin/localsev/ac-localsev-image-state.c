/*
 * The local SEV flow's image state: <state_dir>/localsev/<uuid>/image.json.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "ac-localsev-image.h"
#include "ac-localsev-image-private.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <libvirt/virterror.h>
#include <openssl/crypto.h>
#include <string.h>
#include <unistd.h>

#include "ac-error.h"
#include "ac-json.h"
#include "ac-process.h"
#include "ac-image-build.h"
#include "ac-localsev-domain.h"
#include "ac-localsev-private.h"
#include "ac-localsev-store.h"
#include "ac-localsev.h"
#include "ac-progress.h"
#include "ac-secret-store.h"
#include "ac-virt.h"

#define STATE_VERSION 1
#define STATE_FILE "image.json"
#define MAX_STATE_BYTES (64 * 1024)

/* ---- state ---------------------------------------------------------------------------------- */

static const gchar *const phase_names[] = { "built", "uploading", "uploaded", "switched" };

const gchar *
ac_localsev_image_state_phase_to_string (AcLocalsevImagePhase phase)
{
	if ((guint)phase >= G_N_ELEMENTS (phase_names))
		return "unknown";
	return phase_names[phase];
}

void
ac_localsev_image_state_free (AcLocalsevImageState *s)
{
	if (s == NULL)
		return;
	g_free (s->domain);
	g_free (s->disk_dev);
	g_free (s->original);
	g_free (s->original_format);
	g_free (s->image);
	g_free (s->target);
	g_free (s->pool);
	g_free (s->volume);
	g_free (s->sha256);
	g_free (s->luks_uuid);
	g_free (s->secret);
	g_free (s->built);
	g_free (s->switched);
	g_free (s);
}

gchar *
ac_localsev_image_state_to_json (const AcLocalsevImageState *s)
{
	g_autoptr (JsonBuilder) b = json_builder_new ();
	g_autoptr (JsonNode) root = NULL;

	json_builder_begin_object (b);
	ac_json_builder_add_int (b, "version", STATE_VERSION);
	ac_json_builder_add_string_opt (b, "domain", s->domain);
	ac_json_builder_add_string_opt (b, "disk-dev", s->disk_dev);
	ac_json_builder_add_string_opt (b, "original", s->original);
	ac_json_builder_add_string_opt (b, "original-format", s->original_format);
	ac_json_builder_add_string_opt (b, "image", s->image);
	ac_json_builder_add_string_opt (b, "target", s->target);
	ac_json_builder_add_string_opt (b, "pool", s->pool);
	ac_json_builder_add_string_opt (b, "volume", s->volume);
	ac_json_builder_add_string_opt (b, "sha256", s->sha256);
	ac_json_builder_add_string_opt (b, "luks-uuid", s->luks_uuid);
	ac_json_builder_add_int (b, "size", (gint64)s->size);
	ac_json_builder_add_string_opt (b, "secret", s->secret);
	ac_json_builder_add_string_opt (b, "phase",
	                                ac_localsev_image_state_phase_to_string (s->phase));
	ac_json_builder_add_string_opt (b, "built", s->built);
	ac_json_builder_add_string_opt (b, "switched", s->switched);
	json_builder_end_object (b);
	root = json_builder_get_root (b);
	return json_to_string (root, TRUE);
}

static gboolean
get_str (JsonObject *o, const gchar *key, gboolean required, gchar **out, GError **error)
{
	return ac_localsev_record_json_get_str (o, "image state", key, required, out, error);
}

AcLocalsevImageState *
ac_localsev_image_state_from_json (const gchar *json, gssize len, GError **error)
{
	g_autoptr (JsonParser) parser = json_parser_new ();
	g_autoptr (AcLocalsevImageState) s = g_new0 (AcLocalsevImageState, 1);
	g_autofree gchar *phase = NULL;
	g_autoptr (GError) error_local = NULL;
	JsonObject *o;
	gint64 size;
	guint i;

	if (!json_parser_load_from_data (parser, json, len, &error_local)) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT, "image state: %s",
		             error_local->message);
		return NULL;
	}
	if (!JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser))) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		                     "image state: not a JSON object");
		return NULL;
	}
	o = json_node_get_object (json_parser_get_root (parser));
	if (json_object_get_int_member_with_default (o, "version", 0) != STATE_VERSION) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "image state: version %" G_GINT64_FORMAT ", expected %d",
		             json_object_get_int_member_with_default (o, "version", 0),
		             STATE_VERSION);
		return NULL;
	}
	if (!get_str (o, "domain", FALSE, &s->domain, error)
	    || !get_str (o, "disk-dev", FALSE, &s->disk_dev, error)
	    || !get_str (o, "original", TRUE, &s->original, error)
	    || !get_str (o, "original-format", FALSE, &s->original_format, error)
	    || !get_str (o, "image", FALSE, &s->image, error)
	    || !get_str (o, "target", FALSE, &s->target, error)
	    || !get_str (o, "pool", FALSE, &s->pool, error)
	    || !get_str (o, "volume", FALSE, &s->volume, error)
	    || !get_str (o, "sha256", FALSE, &s->sha256, error)
	    || !get_str (o, "luks-uuid", FALSE, &s->luks_uuid, error)
	    || !get_str (o, "secret", TRUE, &s->secret, error)
	    || !get_str (o, "phase", TRUE, &phase, error)
	    || !get_str (o, "built", FALSE, &s->built, error)
	    || !get_str (o, "switched", FALSE, &s->switched, error))
		return NULL;
	size = json_object_get_int_member_with_default (o, "size", 0);
	if (size < 0) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		                     "image state: negative size");
		return NULL;
	}
	s->size = (guint64)size;
	for (i = 0; i < G_N_ELEMENTS (phase_names); i++) {
		if (g_strcmp0 (phase, phase_names[i]) == 0)
			break;
	}
	if (i == G_N_ELEMENTS (phase_names)) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "image state: unknown phase '%s'", phase);
		return NULL;
	}
	s->phase = (AcLocalsevImagePhase)i;
	if (s->phase != AC_LOCALSEV_IMAGE_UPLOADING && s->phase != AC_LOCALSEV_IMAGE_BUILT
	    && s->target == NULL) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "image state: phase '%s' without a target", phase);
		return NULL;
	}
	return g_steal_pointer (&s);
}

static gchar *
state_path (const gchar *state_dir, const gchar *uuid)
{
	g_autofree gchar *lower = g_ascii_strdown (uuid, -1);
	return g_build_filename (state_dir, "localsev", lower, STATE_FILE, NULL);
}

/**
 * ac_localsev_image_state_load:
 *
 * Reads the state without creating directories (a lookup). %AC_ERROR_NOT_FOUND when there is
 * none; a state that cannot be read is an error, never "nothing built" (the flow must not build
 * over what it recorded).
 */
AcLocalsevImageState *
ac_localsev_image_state_load (const gchar *state_dir, const gchar *uuid, GError **error)
{
	g_autofree gchar *path = NULL;
	g_autofree gchar *data = NULL;
	g_autoptr (GError) error_local = NULL;
	AcLocalsevImageState *s;
	gsize len = 0;

	if (state_dir == NULL || uuid == NULL || !g_uuid_string_is_valid (uuid)) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "image state: no state directory or an invalid UUID");
		return NULL;
	}
	path = state_path (state_dir, uuid);
	if (!g_file_get_contents (path, &data, &len, &error_local)) {
		if (g_error_matches (error_local, G_FILE_ERROR, G_FILE_ERROR_NOENT)) {
			g_set_error (error, AC_ERROR, AC_ERROR_NOT_FOUND,
			             "no image built for domain %s", uuid);
			return NULL;
		}
		g_set_error (error, AC_ERROR, AC_ERROR_IO, "cannot read %s: %s", path,
		             error_local->message);
		return NULL;
	}
	if (len > MAX_STATE_BYTES) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT, "%s: larger than %d bytes",
		             path, MAX_STATE_BYTES);
		return NULL;
	}
	s = ac_localsev_image_state_from_json (data, (gssize)len, error);
	if (s == NULL)
		g_prefix_error (error, "%s: ", path);
	return s;
}

gboolean
ac_localsev_image_state_save (const gchar *state_dir,
                              const gchar *uuid,
                              const AcLocalsevImageState *state,
                              GError **error)
{
	g_autofree gchar *dir = ac_localsev_store_domain_dir (state_dir, uuid, error);
	g_autofree gchar *path = NULL;
	g_autofree gchar *json = NULL;
	g_autofree gchar *what = NULL;

	if (dir == NULL)
		return FALSE;
	path = g_build_filename (dir, STATE_FILE, NULL);
	json = ac_localsev_image_state_to_json (state);
	what = g_strdup_printf ("write %s", path);
	return ac_localsev_store_write (path, json, G_FILE_SET_CONTENTS_DURABLE, what, error);
}
