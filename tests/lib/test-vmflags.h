/*
 * aleph-confidential tests: the VmFlags of a mapping of this process (/proc/self/smaps), to
 * see that secret pages are left out of core dumps ("dd").
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>
#include <stdio.h>
#include <string.h>

/* the VmFlags of the mapping that holds @addr */
static gchar *
vm_flags_of (gconstpointer addr)
{
	g_autofree gchar *smaps = NULL;
	g_auto(GStrv) lines = NULL;
	gboolean inside = FALSE;
	g_assert_true (g_file_get_contents ("/proc/self/smaps", &smaps, NULL, NULL));
	lines = g_strsplit (smaps, "\n", -1);
	for (guint i = 0; lines[i] != NULL; i++) {
		guint64 lo, hi;
		if (sscanf (lines[i], "%" G_GINT64_MODIFIER "x-%" G_GINT64_MODIFIER "x ", &lo, &hi) == 2 &&
		    strchr (lines[i], ':') != NULL && !g_str_has_prefix (lines[i], "VmFlags")) {
			inside = (guintptr)addr >= lo && (guintptr)addr < hi;
			continue;
		}
		if (inside && g_str_has_prefix (lines[i], "VmFlags:"))
			return g_strconcat (lines[i] + strlen ("VmFlags:"), " ", NULL);
	}
	return NULL;
}
