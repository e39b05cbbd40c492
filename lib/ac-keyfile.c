/*
 * aleph-confidential: strict key files (see ac-keyfile.h).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "ac-keyfile.h"

#include <string.h>

#include "ac-error.h"
#include "ac-file.h"

/* a configuration file is a few KiB: a larger one is not one */
#define AC_KEY_FILE_MAX (1024 * 1024)

const AcKeyFileKey ac_service_config_keys[] = {
	{ "daemon", "connect", AC_KEY_NONEMPTY,
	  "a libvirt URI such as qemu:///system or qemu+ssh://host/system" },
	{ "daemon", "monitor-interval", AC_KEY_POSITIVE, "seconds > 0" },
	{ "daemon", "max-flows", AC_KEY_POSITIVE, "a number of flows > 0" },
	{ "daemon", "max-builds", AC_KEY_POSITIVE, "a number of image builds > 0" },
	{ "pipeline", "state-dir", AC_KEY_NONEMPTY, "a directory" },
	{ "pipeline", "key-file", AC_KEY_TEXT, "an Ethereum key file" },
	{ "pipeline", "key-password-file", AC_KEY_TEXT, "a file holding the password of key-file" },
	{ "pipeline", "channel", AC_KEY_TEXT, "an Aleph channel name" },
	{ "pipeline", "crn-list", AC_KEY_TEXT, "a URL" },
	{ "pipeline", "trusted-roots", AC_KEY_TEXT, "ARK certificate files separated by ';'" },
	{ "pipeline", "secrets-uri", AC_KEY_TEXT, "a libvirt URI" },
	{ "pipeline", "min-api", AC_KEY_TEXT, "MAJOR.MINOR such as 0.17" },
	{ "pipeline", "min-ccn-version", AC_KEY_NONEMPTY, "MAJOR.MINOR[.PATCH] such as 0.5.0" },
	{ "pipeline", "poll-first-ms", AC_KEY_POSITIVE, "milliseconds > 0" },
	{ "pipeline", "poll-max-ms", AC_KEY_POSITIVE, "milliseconds > 0" },
	{ "pipeline", "timeout", AC_KEY_POSITIVE, "seconds > 0" },
	{ "pipeline", "instance-seconds", AC_KEY_POSITIVE, "seconds > 0" },
	{ "pipeline", "snp-runtime", AC_KEY_NONEMPTY,
	  "the STORE item hash (64 hex digits) of an aleph-instance-runtime/1 manifest" },
	{ "pipeline", "snp-trusted-arks", AC_KEY_TEXT,
	  "SEV-SNP ARK certificate files (PEM) separated by ';'" },
	{ "pipeline", "snp-kds", AC_KEY_NONEMPTY, "the AMD KDS base URL such as https://kdsintf.amd.com" },
	{ "pipeline", "snp-min-tcb", AC_KEY_NONEMPTY,
	  "a TCB floor such as bl=4,tee=0,snp=22,ucode=213 (raises the built-in floor only)" },
	{ "localsev", "pool", AC_KEY_NONEMPTY, "the name of a libvirt storage pool" },
	{ "localsev", "snp-runtime", AC_KEY_NONEMPTY,
	  "the absolute path of a local SEV-SNP runtime directory (manifest.json and its files)" },
	{ "localsev", "snp-agent", AC_KEY_NONEMPTY,
	  "HOST:PORT where the SEV-SNP guest's agent port 8443 is forwarded, such as 127.0.0.1:8443" },
	/* one group per further host of a fleet, [host NAME] (ac-hosts.h) */
	{ "host *", "connect", AC_KEY_NONEMPTY,
	  "the libvirt URI of host NAME such as qemu+ssh://root@node1/system" },
	{ NULL, NULL, AC_KEY_TEXT, NULL },
};

const AcKeyFileKey ac_hook_config_keys[] = {
	{ "hook", "module", AC_KEY_NONEMPTY, "the path of libaleph-confidential.so" },
	{ "hook", "host-sev", AC_KEY_TEXT, "auto, yes or no" },
	{ "hook", "host-snp", AC_KEY_TEXT, "auto, yes or no" },
	{ "hook", "state-dir", AC_KEY_NONEMPTY, "a directory" },
	{ "hook", "owners", AC_KEY_TEXT,
	  "Ethereum addresses (0x and 40 hex digits) separated by ';'" },
	{ "hook", "host-id", AC_KEY_NONEMPTY,
	  "this host's name as virt-alephd's connection reports it (default: the host name)" },
	{ NULL, NULL, AC_KEY_TEXT, NULL },
};

/* A table's group "NAME *" stands for every group "NAME WORD" ([host node1]). */
static gboolean
group_matches (const gchar *row, const gchar *group)
{
	gsize n;
	if (row == NULL || group == NULL)
		return FALSE;
	n = strlen (row);
	if (n >= 2 && row[n - 1] == '*' && row[n - 2] == ' ')
		return strncmp (row, group, n - 1) == 0 && group[n - 1] != '\0' &&
		       strchr (group + n - 1, ' ') == NULL;
	return strcmp (row, group) == 0;
}

/**
 * ac_key_file_expected:
 *
 * What @group/@key accepts, or %NULL when the table does not know it.
 */
const gchar *
ac_key_file_expected (const AcKeyFileKey *known, const gchar *group, const gchar *key)
{
	for (const AcKeyFileKey *k = known; k->group != NULL; k++)
		if (group_matches (k->group, group) && g_strcmp0 (k->key, key) == 0)
			return k->expected;
	return NULL;
}

static gchar *
known_groups (const AcKeyFileKey *known)
{
	g_autoptr (GString) s = g_string_new (NULL);
	for (const AcKeyFileKey *k = known; k->group != NULL; k++) {
		/* a pattern "host *" is shown as [host NAME] */
		g_autofree gchar *name = g_str_has_suffix (k->group, " *")
		                             ? g_strdup_printf ("[%.*s NAME]", (int)strlen (k->group) - 2, k->group)
		                             : g_strdup_printf ("[%s]", k->group);
		if (strstr (s->str, name) != NULL)
			continue;
		g_string_append_printf (s, "%s%s", s->len > 0 ? ", " : "", name);
	}
	return g_string_free (g_steal_pointer (&s), FALSE);
}

static gchar *
known_keys (const AcKeyFileKey *known, const gchar *group)
{
	g_autoptr (GString) s = g_string_new (NULL);
	for (const AcKeyFileKey *k = known; k->group != NULL; k++)
		if (group_matches (k->group, group))
			g_string_append_printf (s, "%s%s", s->len > 0 ? ", " : "", k->key);
	return g_string_free (g_steal_pointer (&s), FALSE);
}

static gboolean
group_known (const AcKeyFileKey *known, const gchar *group)
{
	for (const AcKeyFileKey *k = known; k->group != NULL; k++)
		if (group_matches (k->group, group))
			return TRUE;
	return FALSE;
}

static gboolean
check_kind (GKeyFile *kf,
            const gchar *path,
            const AcKeyFileKey *known,
            const gchar *group,
            const gchar *key,
            const gchar *raw,
            GError **error)
{
	const AcKeyFileKey *row = NULL;
	guint unused = 0;

	for (const AcKeyFileKey *k = known; k->group != NULL && row == NULL; k++)
		if (group_matches (k->group, group) && g_strcmp0 (k->key, key) == 0)
			row = k;
	if (row == NULL)
		return TRUE;
	switch (row->kind) {
	case AC_KEY_NONEMPTY:
		if (raw == NULL || raw[0] == '\0') {
			g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			             "%s: [%s] %s is empty: expected %s", path, group, key,
			             row->expected);
			return FALSE;
		}
		return TRUE;
	case AC_KEY_POSITIVE:
		return ac_key_file_get_positive (kf, path, known, group, key, &unused, error);
	case AC_KEY_TEXT:
	default:
		return TRUE;
	}
}

/**
 * ac_key_file_check:
 * @path: the file's name, for messages
 * @known: the file's table of keys
 *
 * Refuses (%AC_ERROR_INVALID_INPUT) a group or key the table does not know, and a value with
 * a '#': GKeyFile takes "# comment" after a value as part of it, so "connect=qemu:///system
 * # note" would be a URI nothing can parse.
 */
gboolean
ac_key_file_check (GKeyFile *kf, const gchar *path, const AcKeyFileKey *known, GError **error)
{
	g_auto (GStrv) groups = g_key_file_get_groups (kf, NULL);

	for (guint i = 0; groups[i] != NULL; i++) {
		g_auto (GStrv) keys = NULL;
		if (!group_known (known, groups[i])) {
			g_autofree gchar *accepted = known_groups (known);
			g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			             "%s: unknown group [%s]; expected %s", path, groups[i],
			             accepted);
			return FALSE;
		}
		keys = g_key_file_get_keys (kf, groups[i], NULL, NULL);
		for (guint j = 0; keys != NULL && keys[j] != NULL; j++) {
			const gchar *expected = ac_key_file_expected (known, groups[i], keys[j]);
			g_autofree gchar *raw = NULL;
			if (expected == NULL) {
				g_autofree gchar *accepted = known_keys (known, groups[i]);
				g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
				             "%s: [%s] unknown key '%s'; expected one of %s", path,
				             groups[i], keys[j], accepted);
				return FALSE;
			}
			raw = g_key_file_get_value (kf, groups[i], keys[j], NULL);
			if (raw != NULL && strchr (raw, '#') != NULL) {
				g_set_error (
				    error, AC_ERROR, AC_ERROR_INVALID_INPUT,
				    "%s: [%s] %s='%s': a '#' is not a comment after a value; put "
				    "comments on their own lines (expected %s)",
				    path, groups[i], keys[j], raw, expected);
				return FALSE;
			}
			if (!check_kind (kf, path, known, groups[i], keys[j], raw, error))
				return FALSE;
		}
	}
	return TRUE;
}

/**
 * ac_key_file_load_strict:
 *
 * Loads @path into @kf and checks it (ac_key_file_check()). A file that does not exist is
 * %AC_ERROR_NOT_FOUND (callers that have defaults test for it); one that is not a regular file
 * (a FIFO, a device: refused at once) or is over 1 MiB, and every parse failure, is
 * %AC_ERROR_INVALID_INPUT; %AC_ERROR_IO / %AC_ERROR_PERMISSION when it cannot be read.
 */
gboolean
ac_key_file_load_strict (GKeyFile *kf, const gchar *path, const AcKeyFileKey *known, GError **error)
{
	g_autoptr (GError) local_error = NULL;
	g_autofree gchar *data = NULL;
	gsize len = 0;

	if (!ac_file_read_bounded (path, AC_KEY_FILE_MAX, &data, &len, error))
		return FALSE;
	if (!g_key_file_load_from_data (kf, data, len, G_KEY_FILE_NONE, &local_error)) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT, "%s: %s", path,
		             local_error->message);
		return FALSE;
	}
	return ac_key_file_check (kf, path, known, error);
}

/**
 * ac_key_file_get_positive:
 *
 * @group/@key as a number > 0 into @value; left alone when the key is absent. Anything
 * else is refused with what the table says the key expects.
 */
gboolean
ac_key_file_get_positive (GKeyFile *kf,
                          const gchar *path,
                          const AcKeyFileKey *known,
                          const gchar *group,
                          const gchar *key,
                          guint *value,
                          GError **error)
{
	g_autofree gchar *raw = NULL;
	g_autoptr (GError) local_error = NULL;
	gint v;

	if (!g_key_file_has_key (kf, group, key, NULL))
		return TRUE;
	raw = g_key_file_get_value (kf, group, key, NULL);
	v = g_key_file_get_integer (kf, group, key, &local_error);
	if (local_error != NULL || v <= 0) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "%s: [%s] %s='%s': expected %s", path, group, key,
		             raw != NULL ? raw : "", ac_key_file_expected (known, group, key));
		return FALSE;
	}
	*value = (guint)v;
	return TRUE;
}
