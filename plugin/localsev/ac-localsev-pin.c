/*
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "ac-localsev-pin.h"

#include <string.h>

#include "ac-error.h"
#include "ac-file.h"
#include "ac-localsev-store.h"

#define PIN_FILE "tag.xml"

static gchar *
ac_localsev_pin_path (const gchar *state_dir, const gchar *uuid, GError **error)
{
	g_autofree gchar *dir = ac_localsev_store_domain_dir (state_dir, uuid, error);
	if (dir == NULL)
		return NULL;
	return g_build_filename (dir, PIN_FILE, NULL);
}

gboolean
ac_localsev_pin_write (const gchar *state_dir, const gchar *uuid, const AcTag *tag, GError **error)
{
	g_autofree gchar *path = ac_localsev_pin_path (state_dir, uuid, error);
	g_autofree gchar *xml = NULL;

	if (path == NULL)
		return FALSE;
	xml = ac_tag_format (tag);
	return ac_localsev_store_write (path, xml, G_FILE_SET_CONTENTS_NONE, "pin the approved tag",
	                                error);
}

AcTag *
ac_localsev_pin_read (const gchar *state_dir, const gchar *uuid, GError **error)
{
	g_autofree gchar *path = ac_localsev_pin_path (state_dir, uuid, error);
	g_autofree gchar *xml = NULL;
	g_autoptr (GError) error_local = NULL;
	AcTag *tag;

	if (path == NULL)
		return NULL;
	if (!g_file_get_contents (path, &xml, NULL, &error_local)) {
		ac_file_set_read_error (error, error_local, "approved tag");
		return NULL;
	}
	tag = ac_tag_parse (xml, -1, NULL, &error_local);
	if (tag == NULL) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT, "approved tag %s: %s", path,
		             error_local->message);
		return NULL;
	}
	return tag;
}

static void
differ (GString *out, const gchar *what, const gchar *approved, const gchar *now)
{
	if (g_strcmp0 (approved, now) == 0)
		return;
	g_string_append_printf (out, "%s%s %s → %s", out->len > 0 ? ", " : "", what,
	                        approved != NULL ? approved : "(none)",
	                        now != NULL ? now : "(none)");
}

/* what a reader needs to see of the change, field by field */
static gchar *
ac_localsev_pin_diff (const AcTag *approved, const AcTag *now)
{
	g_autoptr (GString) out = g_string_new (NULL);
	g_autofree gchar *pa = g_strdup_printf ("0x%x", approved->policy);
	g_autofree gchar *pn = g_strdup_printf ("0x%x", now->policy);

	differ (out, "policy", pa, pn);
	differ (out, "firmware sha256", approved->firmware_sha256, now->firmware_sha256);
	differ (out, "firmware ref", approved->firmware_ref, now->firmware_ref);
	differ (out, "firmware file", approved->firmware_file, now->firmware_file);
	differ (out, "disk", approved->disk_dev, now->disk_dev);
	differ (out, "local mode", ac_local_mode_to_string (approved->local_mode),
	        ac_local_mode_to_string (now->local_mode));
	differ (out, "publish", approved->publish != NULL ? "yes" : "no",
	        now->publish != NULL ? "yes" : "no");
	if (out->len == 0)
		g_string_append (out, "the <aleph:publish> settings");
	return g_string_free (g_steal_pointer (&out), FALSE);
}

gboolean
ac_localsev_pin_check (const gchar *state_dir,
                       const gchar *uuid,
                       const gchar *domain,
                       const AcTag *tag,
                       gboolean *pinned_now,
                       GError **error)
{
	g_autoptr (GError) error_local = NULL;
	g_autoptr (AcTag) approved = NULL;
	g_autofree gchar *diff = NULL;

	if (pinned_now != NULL)
		*pinned_now = FALSE;
	approved = ac_localsev_pin_read (state_dir, uuid, &error_local);
	if (approved == NULL) {
		if (!g_error_matches (error_local, AC_ERROR, AC_ERROR_NOT_FOUND)) {
			g_propagate_error (error, g_steal_pointer (&error_local));
			return FALSE;
		}
		if (!ac_localsev_pin_write (state_dir, uuid, tag, error))
			return FALSE;
		if (pinned_now != NULL)
			*pinned_now = TRUE;
		return TRUE;
	}
	if (ac_tag_equal (approved, tag))
		return TRUE;
	diff = ac_localsev_pin_diff (approved, tag);
	g_set_error (
	    error, AC_ERROR, AC_ERROR_REFUSED,
	    "domain '%s': its tag on the host differs from the one the owner approved on "
	    "this machine (%s); a host may not change what protects the guest. If you made "
	    "the change, approve it here with 'virt-aleph tag %s --approve'",
	    domain, diff, domain);
	return FALSE;
}
