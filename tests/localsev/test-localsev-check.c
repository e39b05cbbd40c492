/*
 * ac_localsev_gate_check_prepared() — the gatekeeper's comparison — on domain XML fixtures:
 * tests/data/localsev/check/<case>.xml against record.json (record-es.json for es-*), with
 * the verdict in <case>.expected ("allowed") or <case>.err (error code and message).
 * Cases named ok* / es-ok* must be allowed, every other case refused.
 * AC_TEST_REGENERATE=1 rewrites the expected files (review the diff).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>
#include <sys/stat.h>

#include "ac-error.h"
#include "ac-localsev.h"
#include "ac-localsev-pin.h"
#include "ac-localsev-private.h"
#include "../test-util.h"

static gchar *
data_path (const gchar *rel)
{
	return g_test_build_filename (G_TEST_DIST, "data", "localsev", rel, NULL);
}

static AcLocalsevRecord *
load_record (const gchar *rel)
{
	g_autofree gchar *path = data_path (rel);
	g_autofree gchar *json = NULL;
	g_autoptr(GError) error = NULL;
	AcLocalsevRecord *r;

	if (!g_file_get_contents (path, &json, NULL, &error))
		g_error ("%s", error->message);
	r = ac_localsev_record_from_json (json, -1, &error);
	g_assert_no_error (error);
	return r;
}

static void
compare_or_regenerate (const gchar *path, const gchar *actual)
{
	g_autofree gchar *expected = NULL;
	g_autoptr(GError) error = NULL;

	if (g_getenv ("AC_TEST_REGENERATE") != NULL) {
		g_assert_true (g_file_set_contents (path, actual, -1, &error));
		return;
	}
	if (!g_file_get_contents (path, &expected, NULL, &error))
		g_error ("%s: %s", path, error->message);
	g_assert_cmpstr (actual, ==, expected);
}

static void
test_fixture (gconstpointer data)
{
	const gchar *xml_path = data;
	g_autofree gchar *base = g_strndup (xml_path, strlen (xml_path) - 4);
	g_autofree gchar *name = g_path_get_basename (base);
	g_autofree gchar *expected_path = g_strconcat (base, ".expected", NULL);
	g_autofree gchar *err_path = g_strconcat (base, ".err", NULL);
	g_autoptr(AcLocalsevRecord) record = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *xml = NULL;
	gboolean should_allow = g_str_has_prefix (name, "ok") || g_str_has_prefix (name, "es-ok");
	gsize len = 0;
	gboolean ok;

	record = load_record (g_str_has_prefix (name, "es-") ? "check/record-es.json" : "check/record.json");
	g_assert_true (g_file_get_contents (xml_path, &xml, &len, NULL));
	ok = ac_localsev_gate_check_prepared (record, xml, len, &error);
	if (should_allow) {
		g_assert_no_error (error);
		g_assert_true (ok);
		compare_or_regenerate (expected_path, "allowed\n");
		g_assert_false (g_file_test (err_path, G_FILE_TEST_EXISTS));
	} else {
		g_autofree gchar *msg = NULL;
		g_assert_false (ok);
		g_assert_nonnull (error);
		g_assert_true (error->domain == AC_ERROR);
		/* the gatekeeper refuses: never a softer class */
		g_assert_cmpint (error->code, ==, AC_ERROR_REFUSED);
		msg = g_strdup_printf ("%s: %s\n", ac_error_code_to_string (error->code), error->message);
		compare_or_regenerate (err_path, msg);
		g_assert_false (g_file_test (expected_path, G_FILE_TEST_EXISTS));
	}
}

/* a used session is refused before anything else is looked at */
static void
test_stale (void)
{
	g_autoptr(AcLocalsevRecord) record = load_record ("check/record.json");
	g_autofree gchar *path = data_path ("check/ok.xml");
	g_autofree gchar *xml = NULL;
	g_autoptr(GError) error = NULL;
	gsize len = 0;
	AcLocalsevState states[] = { AC_LOCALSEV_STATE_LAUNCHED,
				     AC_LOCALSEV_STATE_CONSUMED,
				     AC_LOCALSEV_STATE_ATTESTED };

	g_assert_true (g_file_get_contents (path, &xml, &len, NULL));
	g_assert_true (ac_localsev_gate_check_prepared (record, xml, len, &error));
	g_assert_no_error (error);
	for (guint i = 0; i < G_N_ELEMENTS (states); i++) {
		record->state = states[i];
		g_assert_false (ac_localsev_gate_check_prepared (record, xml, len, &error));
		g_assert_error (error, AC_ERROR, AC_ERROR_REFUSED);
		g_assert_nonnull (strstr (error->message, "stale session"));
		g_assert_nonnull (strstr (error->message, ac_localsev_record_state_to_string (states[i])));
		g_clear_error (&error);
	}
}

/* the record round-trips through JSON, and malformed records are refused with the field */
static void
test_record_json (void)
{
	g_autoptr(AcLocalsevRecord) record = load_record ("check/record.json");
	g_autofree gchar *json = ac_localsev_record_to_json (record);
	g_autoptr(AcLocalsevRecord) again = ac_localsev_record_from_json (json, -1, NULL);
	g_autofree gchar *json2 = NULL;
	struct {
		const gchar *from;
		const gchar *to;
		const gchar *message;
	} bad[] = {
		{ "\"version\" : 2", "\"version\" : 1", "version 1" },
		{ "\"state\" : \"prepared\"", "\"state\" : \"whatever\"", "state 'whatever'" },
		{ "\"cbitpos\" : 51", "\"cbitpos\" : 64", "'cbitpos' is 64" },
		{ "\"policy\" : 3", "\"policy\" : \"3\"", "'policy' is missing or not an integer" },
		{ "\"session-id\" : \"00112233445566778899aabbccddeeff\"", "\"session-id\" : \"../../etc/passwd\"", "session-id" },
		{ "\"uuid\" : \"b5a1c1d4-8f3e-4c2a-9d7e-1f2a3b4c5d6e\"", "\"uuid\" : \"x\"", "UUID 'x'" },
		{ "\"dh-cert\" : \"", "\"dh-cert\" : 7, \"x\" : \"", "'dh-cert' is not a string" },
		/* the whole launch input and the record's bounds are required */
		{ "\"firmware\" : ", "\"firmware-was\" : ", "'firmware' is missing" },
		{ "\"disk-driver\" : ", "\"disk-driver-was\" : ", "'disk-driver' is missing" },
		{ "\"expires\" : \"2026-12-02T12:00:00Z\"", "\"expires\" : \"next week\"", "expires 'next week'" },
	};

	g_assert_nonnull (again);
	/* what the file holds: every member, an absent string as null, numbers as numbers */
	g_assert_nonnull (strstr (json, "\"disk-backing\" : null"));
	g_assert_nonnull (strstr (json, "\"measurement\" : null"));
	g_assert_nonnull (strstr (json, "\"vcpus\" : 2"));
	json2 = ac_localsev_record_to_json (again);
	g_assert_cmpstr (json, ==, json2);
	for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
		g_autoptr(GError) error = NULL;
		g_autoptr(GString) s = g_string_new (json);
		g_autoptr(AcLocalsevRecord) r = NULL;
		g_assert_cmpuint (g_string_replace (s, bad[i].from, bad[i].to, 1), ==, 1);
		r = ac_localsev_record_from_json (s->str, -1, &error);
		g_assert_null (r);
		g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
		if (strstr (error->message, bad[i].message) == NULL)
			g_error ("case %u: '%s' does not name '%s'", i, error->message, bad[i].message);
	}
}

static GDateTime *
utc (const gchar *iso)
{
	GDateTime *t = g_date_time_new_from_iso8601 (iso, NULL);
	g_assert_nonnull (t);
	return t;
}

/* a shipped record serves its own host until it expires (2026-12-02T12:00:00Z), and is
 * prepared again once half of its life (from 2026-11-25T12:00:00Z) has passed */
static void
test_shipped (void)
{
	g_autoptr(AcLocalsevRecord) record = load_record ("check/record.json");
	g_autoptr(GDateTime) before = utc ("2026-12-02T11:59:59Z");
	g_autoptr(GDateTime) at = utc ("2026-12-02T12:00:00Z");
	g_autoptr(GDateTime) early = utc ("2026-11-28T23:59:59Z");
	g_autoptr(GDateTime) half = utc ("2026-11-29T00:00:00Z");
	g_autoptr(GError) error = NULL;
	const gchar *same[] = { "sev-host-1", "SEV-HOST-1" };
	const gchar *other[] = { "sev-host-2", "sev-host", "sev-host-10", "sev-host-1.example.org" };

	for (guint i = 0; i < G_N_ELEMENTS (same); i++) {
		g_assert_true (ac_localsev_record_check_shipped (record, same[i], before, &error));
		g_assert_no_error (error);
	}
	for (guint i = 0; i < G_N_ELEMENTS (other); i++) {
		g_assert_false (ac_localsev_record_check_shipped (record, other[i], before, &error));
		g_assert_error (error, AC_ERROR, AC_ERROR_REFUSED);
		g_assert_nonnull (strstr (error->message, "prepared for host 'sev-host-1'"));
		g_clear_error (&error);
	}
	/* a record for the fully qualified name serves the host configured by its short name */
	g_free (record->host);
	record->host = g_strdup ("sev-host-1.example.org");
	g_assert_true (ac_localsev_record_check_shipped (record, "sev-host-1", before, &error));
	g_assert_no_error (error);
	g_assert_false (ac_localsev_record_check_shipped (record, "sev-host-1.example", before, &error));
	g_clear_error (&error);
	/* no host named: refused */
	g_clear_pointer (&record->host, g_free);
	g_assert_false (ac_localsev_record_check_shipped (record, "sev-host-1", before, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_REFUSED);
	g_clear_error (&error);
	record->host = g_strdup ("sev-host-1");
	/* expired at its second */
	g_assert_false (ac_localsev_record_check_shipped (record, "sev-host-1", at, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_REFUSED);
	g_assert_nonnull (strstr (error->message, "expired at 2026-12-02T12:00:00Z"));
	g_clear_error (&error);
	g_assert_false (ac_localsev_record_needs_refresh (record, early));
	g_assert_true (ac_localsev_record_needs_refresh (record, half));
}

static gint
cmp_names (gconstpointer a, gconstpointer b)
{
	return g_strcmp0 (*(const gchar *const *)a, *(const gchar *const *)b);
}

/* the approved tag and the firmware unreadable: not-found when missing, I/O otherwise */
static void
test_unreadable_files (void)
{
	g_autofree gchar *state = test_util_mkdtemp ("ac-localsev-check-XXXXXX");
	g_autoptr (GError) error = NULL;
	g_autoptr (AcTag) tag = NULL;
	g_autoptr (GBytes) fw = NULL;
	g_autofree gchar *sha = NULL;

	tag = ac_localsev_pin_read (state, "6a0d2d0b-2c8e-4f55-9f34-4e8b4b1f0c21", &error);
	g_assert_null (tag);
	g_assert_error (error, AC_ERROR, AC_ERROR_NOT_FOUND);
	g_assert_true (g_str_has_prefix (error->message, "approved tag: "));
	g_clear_error (&error);

	fw = ac_localsev_prepare_firmware_load ("/nonexistent/OVMF.fd", "00", &sha, &error);
	g_assert_null (fw);
	g_assert_error (error, AC_ERROR, AC_ERROR_NOT_FOUND);
	g_assert_true (g_str_has_prefix (error->message, "firmware: "));
	g_assert_nonnull (strstr (error->message, "/nonexistent/OVMF.fd"));
	g_clear_error (&error);
	/* a directory, a device, a FIFO: refused at once, never read from or waited on */
	{
		g_autofree gchar *fifo = g_build_filename (state, "fifo", NULL);
		const gchar *paths[] = { state, "/dev/zero", fifo };
		g_assert_cmpint (mkfifo (fifo, 0600), ==, 0);
		for (guint i = 0; i < G_N_ELEMENTS (paths); i++) {
			fw = ac_localsev_prepare_firmware_load (paths[i], "00", &sha, &error);
			g_assert_null (fw);
			g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
			g_assert_true (g_str_has_prefix (error->message, "firmware: "));
			g_assert_nonnull (strstr (error->message, "is not a regular file"));
			g_clear_error (&error);
		}
	}
	test_util_rm_rf (state);
}

int
main (int argc, char **argv)
{
	g_autofree gchar *dir = NULL;
	g_autoptr(GDir) d = NULL;
	g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
	const gchar *entry;

	g_test_init (&argc, &argv, NULL);
	dir = data_path ("check");
	d = g_dir_open (dir, 0, NULL);
	g_assert_nonnull (d);
	while ((entry = g_dir_read_name (d)) != NULL) {
		if (g_str_has_suffix (entry, ".xml"))
			g_ptr_array_add (names, g_strdup (entry));
	}
	g_ptr_array_sort (names, cmp_names);
	g_assert_cmpuint (names->len, >=, 20);
	for (guint i = 0; i < names->len; i++) {
		const gchar *n = g_ptr_array_index (names, i);
		g_autofree gchar *stem = g_strndup (n, strlen (n) - 4);
		g_autofree gchar *test = g_strdup_printf ("/localsev/check/%s", stem);
		g_test_add_data_func_full (test,
					   g_build_filename (dir, n, NULL),
					   test_fixture,
					   g_free);
	}
	g_test_add_func ("/localsev/check-stale", test_stale);
	g_test_add_func ("/localsev/record-json", test_record_json);
	g_test_add_func ("/localsev/record-shipped", test_shipped);
	g_test_add_func ("/localsev/unreadable-files", test_unreadable_files);
	return g_test_run ();
}
