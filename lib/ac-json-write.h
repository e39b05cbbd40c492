/*
 * aleph-confidential: a small JSON writer on GLib alone, for the code that must not link
 * json-glib (virt-aleph's front: `snp verify-report --json`, its errors). It writes what
 * json-glib's json_to_string (node, FALSE) writes for the same object, byte for byte
 * (tests/lib/test-json-write.c compares them): compact, members in the order added, strings
 * escaped as json-glib escapes them; or, initialized with ac_json_writer_init_pretty(), what
 * json_to_string (node, TRUE) writes (two spaces a level, " : " after a name).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define AC_JSON_WRITER_MAX_DEPTH 32

typedef struct {
	GString *out;
	guint depth;
	gboolean need_comma[AC_JSON_WRITER_MAX_DEPTH + 1];
	gboolean pretty;
} AcJsonWriter;

/* @w starts an empty document; a member's @name is %NULL for the root value only */
void
ac_json_writer_init (AcJsonWriter *w);
void
ac_json_writer_init_pretty (AcJsonWriter *w);
void
ac_json_writer_clear (AcJsonWriter *w);
void
ac_json_writer_begin_object (AcJsonWriter *w, const gchar *name);
void
ac_json_writer_end_object (AcJsonWriter *w);
/* a %NULL @value is written as null, as json_object_set_string_member() does */
void
ac_json_writer_string (AcJsonWriter *w, const gchar *name, const gchar *value);
void
ac_json_writer_int (AcJsonWriter *w, const gchar *name, gint64 value);
void
ac_json_writer_boolean (AcJsonWriter *w, const gchar *name, gboolean value);
/* @json, a JSON value's text (json_to_string's of a node, say), written as is */
void
ac_json_writer_raw (AcJsonWriter *w, const gchar *name, const gchar *json);
/* the text written so far (the document, once every object is ended) */
const gchar *
ac_json_writer_get_text (AcJsonWriter *w);
/* how a string's characters are escaped; all escape '"', '\\' and \b \f \n \r \t alike */
typedef enum {
	/* json-glib 1.6's generator: 0x01 to 0x1e and 0x7f as \u00xx; 0x1f and the bytes of
	 * UTF-8 sequences as they are */
	AC_JSON_ESCAPE_GLIB,
	/* ECMAScript's JSON.stringify: every byte below 0x20 (NUL too) as \u00xx; the rest
	 * as is */
	AC_JSON_ESCAPE_ECMA,
	/* Python's json.dumps (ensure_ascii): all but 0x20 to 0x7e as \uXXXX, a character above
	 * U+FFFF as a UTF-16 surrogate pair */
	AC_JSON_ESCAPE_ASCII,
} AcJsonEscape;

/* the @len bytes of @s quoted and escaped in @style, appended to @out */
void
ac_json_append_escaped (GString *out, const gchar *s, gsize len, AcJsonEscape style);
/* @s quoted and escaped as json-glib does, appended to @out */
void
ac_json_append_string (GString *out, const gchar *s);

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (AcJsonWriter, ac_json_writer_clear)

G_END_DECLS
