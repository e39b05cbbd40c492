/*
 * aleph-confidential: strict key files. A configuration error is an error: an unknown group
 * or key, or a value with a stray '#' (GKeyFile keeps an inline "# comment" as part of the
 * value), is refused with a message naming the file, the group/key and what is accepted.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/**
 * AcKeyFileKind:
 * @AC_KEY_TEXT: any value (without '#')
 * @AC_KEY_NONEMPTY: a value that is not empty
 * @AC_KEY_POSITIVE: a number > 0
 *
 * What ac_key_file_check() verifies of a value; finer rules (a choice, a format) stay in the
 * loader that reads the key, with the row's @expected in its message.
 */
typedef enum {
	AC_KEY_TEXT,
	AC_KEY_NONEMPTY,
	AC_KEY_POSITIVE,
} AcKeyFileKind;

/**
 * AcKeyFileKey:
 * @group: the group, without brackets
 * @key: the key
 * @kind: what every loader checks of the value
 * @expected: what the key accepts, for messages ("seconds > 0", "auto, yes or no")
 *
 * One row of a table of known keys, ended by a row whose @group is %NULL.
 */
typedef struct {
	const gchar *group;
	const gchar *key;
	AcKeyFileKind kind;
	const gchar *expected;
} AcKeyFileKey;

/* the ONE table of each configuration file: add a key here and every loader accepts it */
extern const AcKeyFileKey
    ac_service_config_keys[]; /* virt-alephd.conf: [daemon] [host NAME] [pipeline] [localsev] */
extern const AcKeyFileKey ac_hook_config_keys[]; /* aleph-confidential.conf: [hook] */

const gchar *
ac_key_file_expected (const AcKeyFileKey *known, const gchar *group, const gchar *key);
gboolean
ac_key_file_check (GKeyFile *kf, const gchar *path, const AcKeyFileKey *known, GError **error);
gboolean
ac_key_file_load_strict (GKeyFile *kf,
                         const gchar *path,
                         const AcKeyFileKey *known,
                         GError **error);
gboolean
ac_key_file_get_positive (GKeyFile *kf,
                          const gchar *path,
                          const AcKeyFileKey *known,
                          const gchar *group,
                          const gchar *key,
                          guint *value,
                          GError **error);

G_END_DECLS
