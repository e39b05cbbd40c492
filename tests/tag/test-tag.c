/*
 * Tag model tests: fixtures tests/data/tag/<case>.xml → <case>.expected (canonical form) or
 * <case>.err (the exact error message), round trips, and RelaxNG validation of every fixture
 * against schemas/confidential.rng. Cases named sem-* are errors the schema cannot see
 * (cross-field and value rules): their tag must be schema-valid and still refused; every other
 * refused case must be schema-invalid too, so the parser and the schema agree.
 *
 * Set AC_TEST_REGENERATE=1 to (re)write the expected files from the current output.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <libxml/relaxng.h>
#include <libxml/tree.h>
#include <string.h>

#include "ac-error.h"
#include "ac-sev-policy.h"
#include "ac-size.h"
#include "ac-status.h"
#include "ac-tag.h"
#include "../test-util.h"

static xmlRelaxNGPtr tag_schema;
static xmlRelaxNGPtr status_schema;

static xmlRelaxNGPtr
load_schema (const gchar *name)
{
	g_autofree gchar *path = g_test_build_filename (G_TEST_DIST, "..", "schemas", name, NULL);
	xmlRelaxNGParserCtxtPtr pctxt = xmlRelaxNGNewParserCtxt (path);
	xmlRelaxNGPtr schema = xmlRelaxNGParse (pctxt);
	xmlRelaxNGFreeParserCtxt (pctxt);
	g_assert_nonnull (schema);
	return schema;
}

static void
silent_error (void *ctx, const char *msg, ...)
{
}

/* Returns TRUE if the tag element in @xml (alone or inside a domain) is schema-valid;
 * sets *found to FALSE when there is no element to validate. */
static gboolean
schema_valid (xmlRelaxNGPtr schema, const gchar *ns, const gchar *xml, gboolean *found)
{
	xmlDocPtr doc = xmlReadMemory (xml, (int)strlen (xml), "x.xml", NULL,
				       XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	xmlNode *root;
	xmlNode *elem = NULL;
	gboolean ok;

	*found = TRUE;
	if (doc == NULL)
		return FALSE; /* malformed: not valid by any schema */
	root = xmlDocGetRootElement (doc);
	if (g_strcmp0 ((const gchar *)root->name, "domain") == 0 && root->ns == NULL) {
		for (xmlNode *c = root->children; c != NULL; c = c->next) {
			if (c->type != XML_ELEMENT_NODE || g_strcmp0 ((const gchar *)c->name, "metadata") != 0)
				continue;
			for (xmlNode *m = c->children; m != NULL; m = m->next) {
				if (m->type == XML_ELEMENT_NODE && m->ns != NULL &&
				    g_strcmp0 ((const gchar *)m->ns->href, ns) == 0)
					elem = m;
			}
		}
		if (elem == NULL) {
			*found = FALSE;
			xmlFreeDoc (doc);
			return FALSE;
		}
		/* validate the element alone, as libvirt stores it */
		{
			xmlDocPtr sub = xmlNewDoc ((const xmlChar *)"1.0");
			xmlNode *copy = xmlDocCopyNode (elem, sub, 1);
			xmlDocSetRootElement (sub, copy);
			xmlReconciliateNs (sub, copy);
			xmlFreeDoc (doc);
			doc = sub;
		}
	}
	{
		xmlRelaxNGValidCtxtPtr vctxt = xmlRelaxNGNewValidCtxt (schema);
		xmlRelaxNGSetValidErrors (vctxt, silent_error, silent_error, NULL);
		ok = xmlRelaxNGValidateDoc (vctxt, doc) == 0;
		xmlRelaxNGFreeValidCtxt (vctxt);
	}
	xmlFreeDoc (doc);
	return ok;
}

static void
test_fixture (gconstpointer data)
{
	const gchar *xml_path = data;
	g_autofree gchar *base = g_strndup (xml_path, strlen (xml_path) - 4);
	g_autofree gchar *expected_path = g_strconcat (base, ".expected", NULL);
	g_autofree gchar *err_path = g_strconcat (base, ".err", NULL);
	g_autofree gchar *name = g_path_get_basename (base);
	g_autofree gchar *xml = NULL;
	g_autoptr(AcTag) tag = NULL;
	g_autoptr(GError) error = NULL;
	gboolean expect_error = g_file_test (err_path, G_FILE_TEST_EXISTS) ||
				(g_getenv ("AC_TEST_REGENERATE") != NULL &&
				 !g_file_test (expected_path, G_FILE_TEST_EXISTS) &&
				 (g_str_has_prefix (name, "sem-") || g_str_has_prefix (name, "bad-")));
	gboolean found = TRUE;
	gboolean valid;

	g_assert_true (g_file_get_contents (xml_path, &xml, NULL, NULL));
	tag = ac_tag_parse (xml, -1, NULL, &error);
	valid = schema_valid (tag_schema, AC_TAG_NS, xml, &found);

	if (tag == NULL && (expect_error || g_file_test (err_path, G_FILE_TEST_EXISTS) ||
			    g_getenv ("AC_TEST_REGENERATE") != NULL)) {
		g_autofree gchar *msg = g_strconcat (error->message, "\n", NULL);
		g_assert_true (error->domain == AC_ERROR);
		test_util_compare_or_regenerate (err_path, msg);
		if (found) {
			if (g_str_has_prefix (name, "sem-"))
				g_assert_true (valid); /* the schema cannot see this rule */
			else
				g_assert_false (valid); /* parser and schema both refuse */
		}
		return;
	}
	if (tag == NULL)
		g_error ("%s: unexpected error: %s", xml_path, error->message);
	g_assert_false (g_file_test (err_path, G_FILE_TEST_EXISTS));
	g_assert_true (valid);
	{
		g_autofree gchar *formatted = ac_tag_format (tag);
		g_autoptr(AcTag) again = NULL;
		g_autofree gchar *formatted2 = NULL;
		gboolean found2;

		test_util_compare_or_regenerate (expected_path, formatted);
		/* round trip: the canonical form parses to an equal tag and formats identically */
		again = ac_tag_parse (formatted, -1, NULL, &error);
		g_assert_no_error (error);
		g_assert_true (ac_tag_equal (tag, again));
		formatted2 = ac_tag_format (again);
		g_assert_cmpstr (formatted, ==, formatted2);
		g_assert_true (schema_valid (tag_schema, AC_TAG_NS, formatted, &found2));
	}
}

static void
test_size (void)
{
	struct {
		const gchar *text;
		guint64 bytes;
		const gchar *canonical;
	} ok[] = {
		{ "20GiB", 20ull << 30, "20GiB" }, { "20G", 20ull << 30, "20GiB" },
		{ "4GB", 4000000000ull, "3906250KiB" }, { "512 MiB", 512ull << 20, "512MiB" },
		{ "1536M", 1536ull << 20, "1536MiB" }, { "17B", 17, "17B" },
		{ "2TiB", 2ull << 40, "2TiB" }, { "1024TiB", 1024ull << 40, "1024TiB" },
	};
	const gchar *bad[] = { "", "20", "GiB", "-1GiB", "1.5GiB", "20 gib", "99999999999999999999B",
			       "20000000TiB", "20GiB ", "0x10MiB" };
	for (guint i = 0; i < G_N_ELEMENTS (ok); i++) {
		guint64 v = 0;
		g_autoptr(GError) error = NULL;
		g_autofree gchar *s = NULL;
		g_assert_true (ac_size_parse (ok[i].text, AC_SIZE_UNIT_REQUIRED, &v, &error));
		g_assert_no_error (error);
		g_assert_cmpuint (v, ==, ok[i].bytes);
		s = ac_size_format (v);
		g_assert_cmpstr (s, ==, ok[i].canonical);
	}
	for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
		guint64 v = 0;
		g_autoptr(GError) error = NULL;
		g_assert_false (ac_size_parse (bad[i], AC_SIZE_UNIT_REQUIRED, &v, &error));
		g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
		g_assert_nonnull (strstr (error->message, bad[i]));
	}
}

static void
test_effective_mode (void)
{
	g_autoptr(AcTag) tag = ac_tag_new ();
	g_assert_cmpint (ac_tag_get_effective_local_mode (tag, TRUE), ==, AC_LOCAL_MODE_SEV);
	g_assert_cmpint (ac_tag_get_effective_local_mode (tag, FALSE), ==, AC_LOCAL_MODE_DENY);
	tag->local_mode = AC_LOCAL_MODE_TEST;
	g_assert_cmpint (ac_tag_get_effective_local_mode (tag, FALSE), ==, AC_LOCAL_MODE_TEST);
	tag->local_mode = AC_LOCAL_MODE_DENY;
	g_assert_cmpint (ac_tag_get_effective_local_mode (tag, TRUE), ==, AC_LOCAL_MODE_DENY);
	/* SEV-SNP: the TEE name, and the same defaulting (the caller passes whether the host has
	 * SNP, ac_host_has_snp(), for an SNP tag) */
	{
		g_autoptr (GError) e = NULL;
		g_autoptr (AcTag) snp = ac_tag_parse ("<aleph:confidential xmlns:aleph=\"" AC_TAG_NS "\">"
						      "<aleph:sev type='snp'/></aleph:confidential>",
						      -1, NULL, &e);
		g_autoptr (AcTag) es = ac_tag_parse ("<aleph:confidential xmlns:aleph=\"" AC_TAG_NS "\">"
						     "<aleph:sev type='sev-es'/></aleph:confidential>",
						     -1, NULL, &e);
		g_assert_no_error (e);
		g_assert_cmpint (snp->tee, ==, AC_TEE_SNP);
		g_assert_cmpstr (ac_tag_get_tee_name (snp), ==, "SEV-SNP");
		g_assert_cmphex (snp->snp_policy, ==, 0x30000);
		g_assert_cmpint (ac_tag_get_effective_local_mode (snp, FALSE), ==, AC_LOCAL_MODE_DENY);
		g_assert_cmpint (es->tee, ==, AC_TEE_SEV);
		g_assert_cmpstr (ac_tag_get_tee_name (es), ==, "SEV-ES");
		g_assert_cmpstr (ac_tag_get_tee_name (tag), ==, "SEV");
		g_assert_false (ac_tag_equal (snp, es));
	}
}

static void
test_domain_info (void)
{
	g_autofree gchar *path = g_test_build_filename (G_TEST_DIST, "data", "tag", "domain.xml", NULL);
	g_autofree gchar *xml = NULL;
	g_autoptr(AcTagDomain) dom = NULL;
	g_autoptr(AcTag) tag = NULL;
	g_autoptr(GError) error = NULL;

	g_assert_true (g_file_get_contents (path, &xml, NULL, NULL));
	g_assert_true (ac_tag_xml_has_tag (xml, strlen (xml)));
	tag = ac_tag_parse (xml, -1, &dom, &error);
	g_assert_no_error (error);
	g_assert_cmpstr (dom->name, ==, "web");
	g_assert_cmpstr (dom->uuid, ==, "3c5ee1d6-5a38-4d2f-8b5b-2f0c1b3f8d11");
	g_assert_cmpstr (dom->type, ==, "qemu");
	/* the cdrom is not a disk to encrypt */
	g_assert_cmpuint (dom->disks->len, ==, 2);
	g_assert_cmpstr (g_ptr_array_index (dom->disks, 0), ==, "vda");
	g_assert_false (dom->has_launch_security);
	g_assert_cmpint (tag->local_mode, ==, AC_LOCAL_MODE_DENY);
}

static void
test_no_entity_expansion (void)
{
	/* An external entity must neither be fetched nor expanded into the tag. */
	const gchar *xml =
		"<?xml version='1.0'?>\n"
		"<!DOCTYPE c [<!ENTITY x SYSTEM 'file:///etc/hostname'>]>\n"
		"<aleph:confidential xmlns:aleph='" AC_TAG_NS "'>"
		"<aleph:publish name='&x;'/></aleph:confidential>";
	g_autoptr(GError) error = NULL;
	g_autoptr(AcTag) tag = ac_tag_parse (xml, -1, NULL, &error);
	if (tag != NULL) {
		g_autofree gchar *hostname = NULL;
		g_assert_nonnull (tag->publish);
		if (g_file_get_contents ("/etc/hostname", &hostname, NULL, NULL) && hostname[0] != '\0')
			g_assert_null (strstr (tag->publish->name != NULL ? tag->publish->name : "",
					       g_strstrip (hostname)));
	}
}

static void
test_status_round_trip (void)
{
	g_autoptr(AcStatus) st = ac_status_new ();
	g_autoptr(AcStatus) back = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(GError) failure = g_error_new (AC_ERROR, AC_ERROR_INVALID_INPUT,
						 "<aleph:sev policy='0xZZ'>: invalid & \"bad\"");
	g_autofree gchar *xml = NULL;
	g_autofree gchar *domain_xml = NULL;
	gboolean found;

	st->state = g_strdup ("invalid");
	st->step = g_strdup ("validate");
	st->progress = 7;
	st->image_sha256 = g_strdup ("00ff");
	st->store_hash = g_strdup ("abcd");
	st->crn = g_strdup ("ef01");
	st->crn_url = g_strdup ("https://crn.example.org");
	st->ipv6 = g_strdup ("2a01:4f8::1");
	st->tag = g_strdup ("0123456789abcdef");
	st->since = g_strdup ("2026-01-02T03:04:05Z");
	st->done = 1024;
	st->total = 4096;
	ac_status_touch (st);
	ac_status_set_error (st, "validate", failure);
	xml = ac_status_format (st);
	g_assert_true (schema_valid (status_schema, AC_STATUS_NS, xml, &found));
	back = ac_status_parse (xml, -1, &error);
	g_assert_no_error (error);
	g_assert_true (ac_status_equal_ignoring_time (st, back));
	g_assert_cmpstr (back->updated, ==, st->updated);
	g_assert_cmpstr (back->error_message, ==, failure->message);
	g_assert_cmpstr (back->error_code, ==, "invalid-input");
	g_assert_cmpstr (back->ipv6, ==, "2a01:4f8::1");
	g_assert_cmpstr (back->crn_url, ==, "https://crn.example.org");
	g_assert_cmpstr (back->tag, ==, "0123456789abcdef");
	g_assert_cmpstr (back->since, ==, "2026-01-02T03:04:05Z");
	g_assert_cmpuint (back->done, ==, 1024);
	g_assert_cmpuint (back->total, ==, 4096);
	/* the results survive a new run's status; the run's own progress, and the address of
	 * the instance while it runs, do not */
	{
		g_autoptr(AcStatus) kept = ac_status_new_keeping_results (back);
		g_assert_null (kept->ipv6);
		g_assert_cmpstr (kept->crn_url, ==, "https://crn.example.org");
		g_assert_cmpuint (kept->total, ==, 0);
		g_assert_null (kept->since);
	}

	/* inside a domain */
	domain_xml = g_strdup_printf ("<domain><name>d</name><metadata>%s</metadata></domain>", xml);
	g_clear_pointer (&back, ac_status_free);
	back = ac_status_parse (domain_xml, -1, &error);
	g_assert_no_error (error);
	g_assert_cmpstr (back->state, ==, "invalid");

	/* a change of time alone is no change; a change of state is */
	g_free (back->updated);
	back->updated = g_strdup ("2000-01-01T00:00:00Z");
	g_assert_true (ac_status_equal_ignoring_time (st, back));
	back->done = 2048;
	g_assert_false (ac_status_equal_ignoring_time (st, back));
	back->done = 1024;
	g_free (back->state);
	back->state = g_strdup ("ready");
	g_assert_false (ac_status_equal_ignoring_time (st, back));

	/* done beyond total, or without total, is no byte count */
	g_clear_pointer (&back, ac_status_free);
	back = ac_status_parse ("<s:status xmlns:s='" AC_STATUS_NS "' state='building' done='9' total='8'/>", -1,
				&error);
	g_assert_no_error (error);
	g_assert_cmpuint (back->total, ==, 0);
	g_clear_pointer (&back, ac_status_free);
	back = ac_status_parse ("<s:status xmlns:s='" AC_STATUS_NS "' state='building' done='9'/>", -1, &error);
	g_assert_no_error (error);
	g_assert_cmpuint (back->done, ==, 0);

	g_clear_pointer (&back, ac_status_free);
	back = ac_status_parse ("<domain><metadata/></domain>", -1, &error);
	g_assert_null (back);
	g_assert_error (error, AC_ERROR, AC_ERROR_NOT_FOUND);
}

#define FP_TAG_NS "https://aleph.cloud/ns/libvirt/confidential/1"
#define FP_DOMAIN(meta)                                                                            \
	"<domain type='kvm'><name>d</name><metadata>" meta "</metadata><devices><disk type='file' "      \
	"device='disk'><source file='/d.img'/><target dev='vda'/></disk></devices></domain>"

/* The fingerprint tells the tag a status is about: the same for the same tag however written,
 * another for another tag, one for an invalid tag too, none without a tag. */
static void
test_tag_fingerprint (void)
{
	g_autofree gchar *a = ac_status_tag_fingerprint (
	    FP_DOMAIN ("<aleph:confidential xmlns:aleph='" FP_TAG_NS "'><aleph:publish/></aleph:confidential>"));
	g_autofree gchar *a2 = ac_status_tag_fingerprint (
	    FP_DOMAIN ("<x:confidential xmlns:x='" FP_TAG_NS "'>\n  <x:publish crn='auto'/>\n</x:confidential>"));
	g_autofree gchar *b = ac_status_tag_fingerprint (
	    FP_DOMAIN ("<aleph:confidential xmlns:aleph='" FP_TAG_NS "'><aleph:local mode='test'/></aleph:confidential>"));
	g_autofree gchar *bad1 = ac_status_tag_fingerprint (
	    FP_DOMAIN ("<aleph:confidential xmlns:aleph='" FP_TAG_NS "'><aleph:sev policy='0xZZ'/></aleph:confidential>"));
	g_autofree gchar *bad2 = ac_status_tag_fingerprint (
	    FP_DOMAIN ("<aleph:confidential xmlns:aleph='" FP_TAG_NS "'><aleph:sev policy='0xYY'/></aleph:confidential>"));
	g_autofree gchar *none = ac_status_tag_fingerprint (FP_DOMAIN (""));

	g_assert_nonnull (a);
	g_assert_cmpuint (strlen (a), ==, 16);
	g_assert_cmpstr (a, ==, a2);
	g_assert_cmpstr (a, !=, b);
	g_assert_nonnull (bad1);
	g_assert_nonnull (bad2);
	g_assert_cmpstr (bad1, !=, bad2);
	g_assert_cmpstr (bad1, !=, a);
	g_assert_null (none);
}

static void
test_status_times (void)
{
	g_autoptr(GDateTime) now = g_date_time_new_from_iso8601 ("2026-01-02T03:05:05Z", NULL);
	g_autoptr(AcStatus) st = ac_status_new ();

	g_assert_cmpint (ac_status_age_s ("2026-01-02T03:04:05Z", now), ==, 60);
	g_assert_cmpint (ac_status_age_s ("not a time", now), ==, -1);
	g_assert_cmpint (ac_status_age_s (NULL, now), ==, -1);
	/* work in progress is what virt-alephd refreshes; final states and waits are not */
	g_assert_false (ac_status_is_work_in_progress (NULL));
	st->state = g_strdup ("building");
	g_assert_true (ac_status_is_work_in_progress (st));
	g_free (st->state);
	st->state = g_strdup ("failed");
	g_assert_false (ac_status_is_work_in_progress (st));
	g_free (st->state);
	st->state = g_strdup ("prepared");
	g_assert_false (ac_status_is_work_in_progress (st));
}

static void
test_policy (void)
{
	guint32 p = 0;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *names = NULL;
	g_autofree gchar *explain = NULL;

	g_assert_true (ac_sev_policy_parse ("nodbg,noks,es", &p, &error));
	g_assert_cmphex (p, ==, 0x7);
	g_assert_true (ac_sev_policy_parse ("0x00010037", &p, &error));
	g_assert_cmphex (p, ==, 0x10037);
	names = ac_sev_policy_to_names (p);
	g_assert_cmpstr (names, ==, "nodbg,noks,es,domain,sev,api>=1.0");
	explain = ac_sev_policy_explain (0x41);
	g_assert_nonnull (strstr (explain, "INVALID"));
	g_assert_false (ac_sev_policy_parse ("0x100000000", &p, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
}

int
main (int argc, char **argv)
{
	g_autofree gchar *dir = NULL;
	g_autoptr(GDir) d = NULL;
	g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
	const gchar *n;

	g_test_init (&argc, &argv, NULL);
	tag_schema = load_schema ("confidential.rng");
	status_schema = load_schema ("confidential-status.rng");

	dir = g_test_build_filename (G_TEST_DIST, "data", "tag", NULL);
	d = g_dir_open (dir, 0, NULL);
	g_assert_nonnull (d);
	while ((n = g_dir_read_name (d)) != NULL) {
		if (g_str_has_suffix (n, ".xml"))
			g_ptr_array_add (names, g_strdup (n));
	}
	g_ptr_array_sort (names, (GCompareFunc)g_strcmp0);
	g_assert_cmpuint (names->len, >, 20);
	for (guint i = 0; i < names->len; i++) {
		const gchar *file = g_ptr_array_index (names, i);
		g_autofree gchar *testname = g_strdup_printf ("/tag/fixture/%.*s", (int)strlen (file) - 4, file);
		g_test_add_data_func_full (testname, g_build_filename (dir, file, NULL), test_fixture, g_free);
	}
	g_test_add_func ("/tag/size", test_size);
	g_test_add_func ("/tag/effective-mode", test_effective_mode);
	g_test_add_func ("/tag/domain-info", test_domain_info);
	g_test_add_func ("/tag/no-entity-expansion", test_no_entity_expansion);
	g_test_add_func ("/tag/status-round-trip", test_status_round_trip);
	g_test_add_func ("/tag/status-tag-fingerprint", test_tag_fingerprint);
	g_test_add_func ("/tag/status-times", test_status_times);
	g_test_add_func ("/tag/policy", test_policy);
	return g_test_run ();
}
