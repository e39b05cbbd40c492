/*
 * The local flow for SEV-SNP on a fake host: the host's versions and domain capabilities
 * (libvirt >= 10.5, QEMU >= 9.1, sev-snp), the local runtime (manifest, bundle, members), the
 * prepared domain (checked against libvirt's grammar for <launchSecurity type='sev-snp'> and
 * the installed domain.rng, and against the shape of the spec's example), the expected
 * measurement in the record (sev-snp-measure's case C6), and the gatekeeper refusing every
 * edit of what was prepared.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <glib/gstdio.h>
#include <libxml/parser.h>
#include <libxml/relaxng.h>
#include <libxml/tree.h>
#include <string.h>

#include "ac-codec.h"
#include "ac-error.h"
#include "ac-localsev.h"
#include "ac-localsev-private.h"
#include "ac-sev-host-fake.h"
#include "../test-util.h"
#include "test-localsev-util.h"

#define UUID "6a0d2d0b-2c8e-4f55-9f34-4e8b4b1f0c21"
/* the owner of tests/data/snp/aleph-runtime's expected digests (any case) */
#define OWNER "0x9319AD3B7A8E0EE24F2E639C40D8ED124C5520BA"
#define OWNER_LOWER "0x9319ad3b7a8e0ee24f2e639c40d8ed124c5520ba"
#define LIBVIRT_DOMAIN_RNG "/usr/share/libvirt/schemas/domain.rng"

typedef struct {
	gchar *tmp;
	gchar *runtime; /* the local runtime directory */
	gchar *manifest_sha256;
	gchar *disk;
	AcSevHostFake *fake;
	AcLocalsevOptions *opts;
} Fixture;

static gchar *
snp_data (const gchar *rel)
{
	return g_test_build_filename (G_TEST_DIST, "data", "snp", rel, NULL);
}

static gchar *
local_data (const gchar *rel)
{
	return g_test_build_filename (G_TEST_DIST, "data", "localsev", "snp", rel, NULL);
}

/* the host's facts: a host new enough (10.5, 9.1, sev-snp) unless told otherwise */
static void
set_host (Fixture *f, gulong libvirt, gulong qemu, const gchar *domcaps_file)
{
	g_autofree gchar *path = domcaps_file != NULL ? local_data (domcaps_file) : NULL;
	g_autofree gchar *caps = path != NULL ? test_util_read (path, NULL) : NULL;
	ac_sev_host_fake_set_snp_facts (f->fake, libvirt, qemu, caps);
}

static void
fixture_setup (Fixture *f, gconstpointer data)
{
	f->tmp = test_util_mkdtemp ("localsnp-XXXXXX");
	f->runtime = g_build_filename (f->tmp, "runtime", NULL);
	f->manifest_sha256 = test_localsev_snp_runtime (f->runtime);
	f->disk = g_build_filename (f->tmp, "snp-vm.img", NULL);
	g_assert_true (g_file_set_contents (f->disk, "not really a disk", -1, NULL));
	f->fake = ac_sev_host_fake_new (NULL, 51, 1);
	set_host (f, 10005000, 9001000, "domcaps-snp.xml");
	f->opts = ac_localsev_options_new (f->tmp);
	f->opts->snp_runtime = g_strdup (f->runtime);
	f->opts->snp_owner = g_strdup (OWNER);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
	test_util_rm_rf (f->tmp);
	g_free (f->tmp);
	g_free (f->runtime);
	g_free (f->manifest_sha256);
	g_free (f->disk);
	g_object_unref (f->fake);
	ac_localsev_options_free (f->opts);
}

static gchar *
domain_xml_full (Fixture *f, guint vcpus, const gchar *runtime, const gchar *cpu)
{
	g_autofree gchar *path = local_data ("domain.xml.in");
	g_autofree gchar *tmpl = test_util_read (path, NULL);
	g_autoptr (GString) s = g_string_new (tmpl);
	g_autofree gchar *v = g_strdup_printf ("%u", vcpus);

	g_string_replace (s, "@RUNTIME@", runtime, 0);
	g_string_replace (s, "@DISK@", f->disk, 0);
	g_string_replace (s, "@VCPUS@", v, 0);
	if (cpu != NULL)
		g_string_replace (s, "<cpu mode='host-passthrough'/>", cpu, 0);
	return g_string_free (g_steal_pointer (&s), FALSE);
}

static gchar *
domain_xml (Fixture *f)
{
	return domain_xml_full (f, 2, f->manifest_sha256, NULL);
}

static AcTag *
tag_of (const gchar *xml)
{
	g_autoptr (GError) error = NULL;
	AcTag *tag = ac_tag_parse (xml, -1, NULL, &error);
	g_assert_no_error (error);
	g_assert_cmpint (tag->tee, ==, AC_TEE_SNP);
	return tag;
}

static AcLocalsevPrepared *
try_prepare (Fixture *f, const gchar *xml, GError **error)
{
	g_autoptr (AcTag) tag = tag_of (xml);
	return ac_localsev_prepare (AC_SEV_HOST (f->fake), f->opts, tag, xml, NULL, error);
}

static AcLocalsevPrepared *
prepare (Fixture *f, const gchar *xml)
{
	g_autoptr (GError) error = NULL;
	AcLocalsevPrepared *p = try_prepare (f, xml, &error);
	g_assert_no_error (error);
	g_assert_nonnull (p);
	return p;
}

/* the launch digest of case @name of sev-snp-measure's cases_output.txt, as hex */
static gchar *
vector_hex (const gchar *name)
{
	guint8 digest[AC_SNP_MEASUREMENT_SIZE];

	snp_test_vector_digest (name, digest);
	return ac_codec_hex_encode (digest, sizeof digest);
}

static gboolean
record_exists (Fixture *f)
{
	g_autofree gchar *path = g_build_filename (f->tmp, "localsev", UUID, "prepared.json", NULL);
	return g_file_test (path, G_FILE_TEST_EXISTS);
}

static void
assert_error (GError *error, gint code, const gchar *const *names)
{
	g_assert_nonnull (error);
	if (error->domain != AC_ERROR || error->code != code)
		g_error ("expected %s, got %s: %s", ac_error_code_to_string (code),
		         error->domain == AC_ERROR ? ac_error_code_to_string (error->code) : "?",
		         error->message);
	for (guint i = 0; names != NULL && names[i] != NULL; i++) {
		if (strstr (error->message, names[i]) == NULL)
			g_error ("the error does not name '%s': %s", names[i], error->message);
	}
	g_test_message ("refused: %s", error->message);
}

/* ---- the host ---- */

/* Debian 12's libvirt 9.0 and QEMU 7.2: refused with what is needed and what was found, and
 * nothing is prepared */
static void
test_host_too_old (Fixture *f, gconstpointer data)
{
	g_autofree gchar *xml = domain_xml (f);
	g_autoptr (GError) error = NULL;
	g_autoptr (AcLocalsevPrepared) p = NULL;
	const gchar *names[]
	    = { "libvirt >= 10.5.0",
		"QEMU >= 9.1.0",
		"'sev-snp'",
		"found libvirt 9.0.0, QEMU 7.2.0",
		"no sev-snp in its domain capabilities (launchSecurity types: none)",
		NULL };

	set_host (f, 9000000, 7002000, "domcaps-sev.xml");
	p = try_prepare (f, xml, &error);
	g_assert_null (p);
	assert_error (error, AC_ERROR_UNSUPPORTED, names);
	g_assert_false (record_exists (f));
}

/* each shortfall alone is named; a host without domain capabilities says why */
static void
test_host_shortfalls (Fixture *f, gconstpointer data)
{
	const struct {
		gulong libvirt, qemu;
		const gchar *caps;
		const gchar *names[3];
	} cases[] = {
		{ 10004000,
		  9001000,
		  "domcaps-snp.xml",
		  { "found libvirt 10.4.0, QEMU 9.1.0: libvirt 10.4.0", NULL } },
		{ 10005000, 9000000, "domcaps-snp.xml", { "QEMU 9.0.0", NULL } },
		{ 10005000,
		  9001000,
		  "domcaps-sev.xml",
		  { "no sev-snp in its domain capabilities", NULL } },
		{ 10005000,
		  9001000,
		  NULL,
		  { "no domain capabilities: no domain capabilities (fake host)", NULL } },
	};
	for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
		g_autofree gchar *xml = domain_xml (f);
		g_autoptr (GError) error = NULL;
		g_autoptr (AcLocalsevPrepared) p = NULL;
		set_host (f, cases[i].libvirt, cases[i].qemu, cases[i].caps);
		p = try_prepare (f, xml, &error);
		g_assert_null (p);
		assert_error (error, AC_ERROR_UNSUPPORTED, cases[i].names);
		g_assert_false (record_exists (f));
	}
}

/* the domain capabilities reader: fail closed on anything it cannot read for sure */
static void
test_domcaps (void)
{
	g_autofree gchar *path = local_data ("domcaps-snp.xml");
	g_autofree gchar *good = test_util_read (path, NULL);
	g_auto (AcLocalsevSnpDomcaps) caps = { 0 };
	g_autoptr (GError) error = NULL;
	const gchar *bad[] = {
		"not xml",
		"<capabilities/>",
		/* two <sev>: which one would libvirt mean? */
		"<domainCapabilities><features><sev supported='yes'><cbitpos>51</cbitpos>"
		"<reducedPhysBits>1</reducedPhysBits></sev><sev "
		"supported='yes'><cbitpos>47</cbitpos>"
		"<reducedPhysBits>1</reducedPhysBits></sev></features></domainCapabilities>",
		"<domainCapabilities><features><sev supported='yes'><cbitpos>64</cbitpos>"
		"<reducedPhysBits>1</reducedPhysBits></sev></features></domainCapabilities>",
		"<domainCapabilities><features><sev supported='yes'><cbitpos>x</cbitpos>"
		"<reducedPhysBits>1</reducedPhysBits></sev></features></domainCapabilities>",
		"<domainCapabilities><features><sev "
		"supported='yes'><reducedPhysBits>1</reducedPhysBits>"
		"</sev></features></domainCapabilities>",
	};

	g_assert_true (ac_localsev_snp_parse_domcaps (good, strlen (good), &caps, &error));
	g_assert_no_error (error);
	g_assert_true (caps.sev && caps.sev_snp);
	g_assert_cmpuint (caps.cbitpos, ==, 51);
	g_assert_cmpuint (caps.reduced_phys_bits, ==, 1);
	g_assert_cmpstr (caps.sectypes, ==, "sev, sev-snp");
	for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
		g_auto (AcLocalsevSnpDomcaps) c = { 0 };
		g_assert_false (
		    ac_localsev_snp_parse_domcaps (bad[i], strlen (bad[i]), &c, &error));
		g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
		g_clear_error (&error);
	}
	/* sev-snp listed where libvirt does not put it, or not supported: not SNP */
	{
		const gchar *not_snp[] = {
			"<domainCapabilities><launchSecurity supported='yes'><enum name='sectype'>"
			"<value>sev-snp</value></enum></launchSecurity></domainCapabilities>",
			"<domainCapabilities><features><launchSecurity supported='no'><enum "
			"name='sectype'><value>sev-snp</value></enum></launchSecurity></features>"
			"</domainCapabilities>",
			"<domainCapabilities><features><launchSecurity supported='yes'><enum "
			"name='other'><value>sev-snp</value></enum></launchSecurity></features>"
			"</domainCapabilities>",
		};
		for (guint i = 0; i < G_N_ELEMENTS (not_snp); i++) {
			g_auto (AcLocalsevSnpDomcaps) c = { 0 };
			g_assert_true (ac_localsev_snp_parse_domcaps (
			    not_snp[i], strlen (not_snp[i]), &c, &error));
			g_assert_false (c.sev_snp);
		}
	}
	/* too large: refused, not truncated */
	{
		g_autoptr (GString) big = g_string_new (good);
		g_auto (AcLocalsevSnpDomcaps) c = { 0 };
		g_string_insert (big, strlen ("<domainCapabilities>"), "<!--");
		while (big->len <= AC_LOCALSEV_SNP_MAX_DOMCAPS)
			g_string_insert (
			    big, strlen ("<domainCapabilities><!--"),
			    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
		g_string_insert (big, strlen ("<domainCapabilities><!--"), "-->");
		g_assert_false (ac_localsev_snp_parse_domcaps (big->str, big->len, &c, &error));
		g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
		g_clear_error (&error);
	}
}

/* ---- prepare ---- */

static xmlDoc *
read_doc (const gchar *xml)
{
	xmlDoc *doc = xmlReadMemory (xml, (int)strlen (xml), "domain.xml", NULL, XML_PARSE_NONET);
	g_assert_nonnull (doc);
	return doc;
}

static xmlNode *
child (xmlNode *parent, const gchar *name)
{
	for (xmlNode *n = parent->children; n != NULL; n = n->next) {
		if (n->type == XML_ELEMENT_NODE && g_strcmp0 ((const gchar *)n->name, name) == 0)
			return n;
	}
	return NULL;
}

static gchar *
attr_of (xmlNode *n, const gchar *name)
{
	xmlChar *c = xmlGetProp (n, (const xmlChar *)name);
	gchar *s = g_strdup ((const gchar *)c);
	xmlFree (c);
	return s;
}

/* the element names of @n's children, in order, joined by ' ' (the boot order aside: the
 * example has none) */
static gchar *
children_of (xmlNode *n)
{
	g_autoptr (GString) s = g_string_new (NULL);
	for (xmlNode *c = n->children; c != NULL; c = c->next) {
		if (c->type == XML_ELEMENT_NODE && g_strcmp0 ((const gchar *)c->name, "boot") != 0)
			g_string_append_printf (s, "%s%s", s->len > 0 ? " " : "",
			                        (const gchar *)c->name);
	}
	return g_string_free (g_steal_pointer (&s), FALSE);
}

static gint
attr_name_cmp (gconstpointer a, gconstpointer b)
{
	return g_strcmp0 (*(const gchar *const *)a, *(const gchar *const *)b);
}

/* the names of @n's attributes, sorted, joined by ' ' */
static gchar *
attrs_of (xmlNode *n)
{
	g_autoptr (GPtrArray) names = g_ptr_array_new ();
	for (xmlAttr *a = n->properties; a != NULL; a = a->next)
		g_ptr_array_add (names, (gpointer)a->name);
	g_ptr_array_sort (names, attr_name_cmp);
	{
		g_autoptr (GString) s = g_string_new (NULL);
		for (guint i = 0; i < names->len; i++)
			g_string_append_printf (s, "%s%s", i > 0 ? " " : "",
			                        (const gchar *)g_ptr_array_index (names, i));
		return g_string_free (g_steal_pointer (&s), FALSE);
	}
}

/* the validator's messages for what is meant to fail are not the test's output */
static void
rng_quiet (void *ctx, const char *msg, ...)
{
}

static void
assert_rng_valid (const gchar *rng, xmlDoc *doc, const gchar *what)
{
	xmlRelaxNGParserCtxtPtr pctx = xmlRelaxNGNewParserCtxt (rng);
	xmlRelaxNGPtr schema = xmlRelaxNGParse (pctx);
	xmlRelaxNGValidCtxtPtr vctx;
	int rc;

	g_assert_nonnull (schema);
	vctx = xmlRelaxNGNewValidCtxt (schema);
	rc = xmlRelaxNGValidateDoc (vctx, doc);
	if (rc != 0) {
		xmlChar *dump = NULL;
		int len = 0;
		xmlDocDumpMemory (doc, &dump, &len);
		g_error ("%s rejects %s:\n%s", rng, what, (const gchar *)dump);
	}
	xmlRelaxNGFreeValidCtxt (vctx);
	xmlRelaxNGFree (schema);
	xmlRelaxNGFreeParserCtxt (pctx);
}

/* the prepared domain: libvirt's grammar for the element (ours, from its documentation) and the
 * installed domain.rng for everything else */
static void
assert_schema_valid (const gchar *xml)
{
	g_autofree gchar *rng = g_test_build_filename (G_TEST_DIST, "data", "libvirt-rng",
	                                               "launch-security-sev-snp.rng", NULL);
	xmlDoc *doc = read_doc (xml);
	xmlNode *ls = child (xmlDocGetRootElement (doc), "launchSecurity");
	xmlDoc *ls_doc = xmlNewDoc ((const xmlChar *)"1.0");

	g_assert_nonnull (ls);
	xmlDocSetRootElement (ls_doc, xmlDocCopyNode (ls, ls_doc, 1));
	assert_rng_valid (rng, ls_doc, "the prepared <launchSecurity>");
	xmlFreeDoc (ls_doc);
	/* the rest: libvirt 9.0's schema knows everything there but sev-snp */
	xmlUnlinkNode (ls);
	xmlFreeNode (ls);
	if (g_file_test (LIBVIRT_DOMAIN_RNG, G_FILE_TEST_EXISTS))
		assert_rng_valid (LIBVIRT_DOMAIN_RNG, doc, "the prepared domain");
	else
		g_test_message ("libvirt's domain.rng is not installed: the rest not checked");
	xmlFreeDoc (doc);

	/* the grammar is not a blank check: what it must refuse, it refuses */
	{
		const gchar *bad[] = {
			"<launchSecurity type='sev'><policy>0x1</policy></launchSecurity>",
			"<launchSecurity type='sev-snp'><cbitpos>51</cbitpos></launchSecurity>",
			"<launchSecurity type='sev-snp' "
			"kernelHashes='maybe'><policy>0x30000</policy>"
			"</launchSecurity>",
			"<launchSecurity "
			"type='sev-snp'><policy>0x30000</policy><dhCert>AA==</dhCert>"
			"</launchSecurity>",
			"<launchSecurity type='sev-snp'><policy>zz</policy></launchSecurity>",
		};
		xmlRelaxNGParserCtxtPtr pctx = xmlRelaxNGNewParserCtxt (rng);
		xmlRelaxNGPtr schema = xmlRelaxNGParse (pctx);
		for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
			xmlRelaxNGValidCtxtPtr vctx = xmlRelaxNGNewValidCtxt (schema);
			xmlDoc *d = read_doc (bad[i]);
			xmlRelaxNGSetValidErrors (vctx, rng_quiet, rng_quiet, NULL);
			g_assert_cmpint (xmlRelaxNGValidateDoc (vctx, d), !=, 0);
			xmlFreeDoc (d);
			xmlRelaxNGFreeValidCtxt (vctx);
		}
		xmlRelaxNGFree (schema);
		xmlRelaxNGFreeParserCtxt (pctx);
	}
}

/* the prepared domain has the shape of the spec's example of a local SNP domain
 * (tests/data/localsev/snp/spec-example.xml): the same elements and attributes, in <os> and
 * <launchSecurity>, and the <cpu> */
static void
assert_spec_shape (const gchar *xml)
{
	g_autofree gchar *path = local_data ("spec-example.xml");
	g_autofree gchar *example = test_util_read (path, NULL);
	xmlDoc *want = read_doc (example);
	xmlDoc *have = read_doc (xml);
	const gchar *elems[] = { "os", "launchSecurity", "cpu" };

	for (guint i = 0; i < G_N_ELEMENTS (elems); i++) {
		xmlNode *w = child (xmlDocGetRootElement (want), elems[i]);
		xmlNode *h = child (xmlDocGetRootElement (have), elems[i]);
		g_autofree gchar *wc = NULL, *hc = NULL, *wa = NULL, *ha = NULL;
		g_assert_nonnull (w);
		g_assert_nonnull (h);
		wc = children_of (w);
		hc = children_of (h);
		g_assert_cmpstr (hc, ==, wc);
		wa = attrs_of (w);
		ha = attrs_of (h);
		/* the example's <os firmware='efi'> lets libvirt pick the firmware; ours is the
		 * runtime's, named */
		if (g_strcmp0 (elems[i], "os") != 0)
			g_assert_cmpstr (ha, ==, wa);
	}
	/* <loader> as stateless as the example's, and more: read-only pflash of a file */
	{
		xmlNode *wl = child (child (xmlDocGetRootElement (want), "os"), "loader");
		xmlNode *hl = child (child (xmlDocGetRootElement (have), "os"), "loader");
		g_autofree gchar *ws = attr_of (wl, "stateless");
		g_autofree gchar *hs = attr_of (hl, "stateless");
		g_assert_cmpstr (hs, ==, ws);
	}
	xmlFreeDoc (want);
	xmlFreeDoc (have);
}

static void
test_prepare (Fixture *f, gconstpointer data)
{
	g_autofree gchar *xml = domain_xml (f);
	g_autoptr (AcLocalsevPrepared) p = prepare (f, xml);
	g_autoptr (AcDomain) dom = NULL;
	g_autoptr (AcLocalsevRecord) loaded = NULL;
	g_autoptr (GError) error = NULL;
	g_autofree gchar *c6 = vector_hex ("C6");
	g_autofree gchar *ovmf = g_build_filename (f->runtime, "ovmf", "OVMF.fd", NULL);
	g_autofree gchar *kernel = g_build_filename (f->runtime, "boot", "vmlinuz", NULL);
	g_autofree gchar *initrd = g_build_filename (f->runtime, "boot", "initrd.img", NULL);
	const AcLocalsevRecord *r = p->record;

	g_test_message ("prepared:\n%s", p->domain_xml);
	/* the record: the expected measurement of 2 vCPUs of EPYC-v4 with the owner lower-cased */
	g_assert_cmpint (r->tee, ==, AC_TEE_SNP);
	g_assert_cmpstr (r->expected_measurement, ==, c6);
	g_assert_cmpstr (r->owner, ==, OWNER_LOWER);
	g_assert_cmpstr (r->cmdline, ==, "console=ttyS0 luks=1 owner=" OWNER_LOWER);
	g_assert_cmpstr (r->cpu_model, ==, "EPYC-v4");
	g_assert_cmpuint (r->vcpus, ==, 2);
	g_assert_cmpuint (r->cbitpos, ==, 51);
	g_assert_cmpuint (r->reduced_phys_bits, ==, 1);
	g_assert_cmphex (r->snp_policy, ==, 0x30000);
	g_assert_cmpstr (r->runtime_sha256, ==, f->manifest_sha256);
	g_assert_cmpuint (r->agent_port, ==, 8443);
	g_assert_null (r->dh_cert);
	g_assert_null (r->session);

	/* the domain */
	dom = ac_domain_parse (p->domain_xml, -1, &error);
	g_assert_no_error (error);
	g_assert_cmpstr (dom->ls_type, ==, "sev-snp");
	g_assert_cmpstr (dom->ls_kernel_hashes, ==, "yes");
	g_assert_cmpstr (dom->ls_policy, ==, "0x00030000");
	g_assert_cmpstr (dom->ls_cbitpos, ==, "51");
	g_assert_cmpstr (dom->ls_reduced_phys_bits, ==, "1");
	g_assert_null (dom->ls_other);
	g_assert_cmpstr (dom->loader, ==, ovmf);
	g_assert_cmpstr (dom->os_kernel, ==, kernel);
	g_assert_cmpstr (dom->os_initrd, ==, initrd);
	g_assert_cmpstr (dom->os_cmdline, ==, r->cmdline);
	g_assert_cmpstr (dom->cpu_mode, ==, "custom");
	g_assert_cmpstr (dom->cpu_model, ==, "EPYC-v4");
	/* stateless: no NVRAM, no firmware auto-selection */
	g_assert_null (strstr (dom->firmware, "nvram"));
	g_assert_null (strstr (dom->firmware, "os firmware"));
	g_assert_nonnull (strstr (dom->firmware, "stateless=\"yes\""));
	g_assert_cmpstr (dom->tag->snp_runtime, ==, f->manifest_sha256);

	assert_schema_valid (p->domain_xml);
	assert_spec_shape (p->domain_xml);

	/* the record is where the SEV flow keeps its own, and reads back the same */
	loaded = ac_localsev_record_load (f->tmp, UUID, &error);
	g_assert_no_error (error);
	g_assert_cmpint (loaded->tee, ==, AC_TEE_SNP);
	g_assert_cmpstr (loaded->expected_measurement, ==, c6);
	g_assert_cmpstr (loaded->cmdline, ==, r->cmdline);
	g_assert_cmphex (loaded->snp_policy, ==, r->snp_policy);

	/* and the gatekeeper admits exactly it */
	g_assert_true (ac_localsev_gate_check_prepared (loaded, p->domain_xml,
	                                                strlen (p->domain_xml), &error));
	g_assert_no_error (error);
}

/* the vCPU count and the CPU model decide the digest: 4 vCPUs is C10, EPYC-Milan is C8 */
static void
test_prepare_vcpus_cpu (Fixture *f, gconstpointer data)
{
	g_autofree gchar *c10 = vector_hex ("C10");
	g_autofree gchar *c8 = vector_hex ("C8");
	{
		g_autofree gchar *xml = domain_xml_full (f, 4, f->manifest_sha256, NULL);
		g_autoptr (AcLocalsevPrepared) p = prepare (f, xml);
		g_assert_cmpstr (p->record->expected_measurement, ==, c10);
		g_assert_cmpuint (p->record->vcpus, ==, 4);
	}
	{
		g_autofree gchar *xml = domain_xml_full (
		    f, 2, f->manifest_sha256,
		    "<cpu mode='custom' match='exact'><model>EPYC-Milan</model></cpu>");
		g_autoptr (AcLocalsevPrepared) p = prepare (f, xml);
		g_assert_cmpstr (p->record->expected_measurement, ==, c8);
		g_assert_cmpstr (p->record->cpu_model, ==, "EPYC-Milan");
	}
	/* a model the runtime is not measured for: refused, naming those it is */
	{
		g_autofree gchar *xml = domain_xml_full (
		    f, 2, f->manifest_sha256,
		    "<cpu mode='custom' match='exact'><model>EPYC-Rome</model></cpu>");
		g_autoptr (GError) error = NULL;
		g_autoptr (AcLocalsevPrepared) p = try_prepare (f, xml, &error);
		const gchar *names[] = { "EPYC-Rome", "EPYC-v4, EPYC-Genoa, EPYC-Milan", NULL };
		g_assert_null (p);
		assert_error (error, AC_ERROR_INVALID_INPUT, names);
	}
}

/* the runtime: pinned by the tag, its bundle (when there) the manifest's, its files present */
static void
test_prepare_runtime (Fixture *f, gconstpointer data)
{
	g_autofree gchar *bundle_src = snp_data ("aleph-runtime/bundle.tar.gz");
	g_autofree gchar *bundle = g_build_filename (f->runtime, "bundle.tar.gz", NULL);
	g_autofree gchar *session = NULL;
	g_autoptr (GError) error = NULL;

	/* another manifest than the tag's */
	{
		g_autofree gchar *xml = domain_xml_full (
		    f, 2, "0000000000000000000000000000000000000000000000000000000000000000", NULL);
		g_autoptr (AcLocalsevPrepared) p = try_prepare (f, xml, &error);
		const gchar *names[]
		    = { "manifest.json has sha256", "but the tag's runtime is", NULL };
		g_assert_null (p);
		assert_error (error, AC_ERROR_MISMATCH, names);
		g_clear_error (&error);
	}
	/* the bundle beside it is the manifest's: accepted */
	test_util_copy_to (bundle_src, f->runtime, "bundle.tar.gz");
	{
		g_autofree gchar *xml = domain_xml (f);
		g_autoptr (AcLocalsevPrepared) p = prepare (f, xml);
		session = g_strdup (p->record->session_id);
	}
	/* a file that is not the bundle's member: refused, naming it */
	{
		g_autofree gchar *kernel = g_build_filename (f->runtime, "boot", "vmlinuz", NULL);
		g_autofree gchar *orig = NULL;
		gsize orig_len = 0;
		g_autofree gchar *xml = domain_xml (f);
		g_autoptr (AcLocalsevPrepared) p = NULL;
		const gchar *names[] = { "the kernel", "is not the bundle's", NULL };
		g_assert_true (g_file_get_contents (kernel, &orig, &orig_len, NULL));
		g_assert_true (g_file_set_contents (kernel, "another kernel", -1, NULL));
		p = try_prepare (f, xml, &error);
		g_assert_null (p);
		assert_error (error, AC_ERROR_MISMATCH, names);
		g_clear_error (&error);
		g_assert_true (g_file_set_contents (kernel, orig, (gssize)orig_len, NULL));
	}
	/* another bundle: refused */
	g_assert_true (g_file_set_contents (bundle, "another bundle", -1, NULL));
	{
		g_autofree gchar *xml = domain_xml (f);
		g_autoptr (AcLocalsevPrepared) p = try_prepare (f, xml, &error);
		const gchar *names[] = { "bundle.tar.gz", NULL };
		g_assert_null (p);
		assert_error (error, AC_ERROR_MISMATCH, names);
		g_clear_error (&error);
	}
	g_assert_cmpint (g_unlink (bundle), ==, 0);
	/* a member missing */
	{
		g_autofree gchar *initrd
		    = g_build_filename (f->runtime, "boot", "initrd.img", NULL);
		g_autofree gchar *xml = domain_xml (f);
		g_autoptr (AcLocalsevPrepared) p = NULL;
		const gchar *names[] = { "initrd", "boot/initrd.img", NULL };
		g_assert_cmpint (g_unlink (initrd), ==, 0);
		p = try_prepare (f, xml, &error);
		g_assert_null (p);
		assert_error (error, AC_ERROR_NOT_FOUND, names);
		g_clear_error (&error);
	}
	/* no runtime or no owner configured */
	{
		g_autofree gchar *xml = domain_xml (f);
		g_autoptr (AcLocalsevPrepared) p = NULL;
		const gchar *names[] = { "snp-runtime", NULL };
		g_clear_pointer (&f->opts->snp_runtime, g_free);
		p = try_prepare (f, xml, &error);
		g_assert_null (p);
		assert_error (error, AC_ERROR_INVALID_INPUT, names);
		g_clear_error (&error);
	}
	{
		g_autofree gchar *xml = domain_xml (f);
		g_autoptr (AcLocalsevPrepared) p = NULL;
		const gchar *names[] = { "owner's key", NULL };
		f->opts->snp_runtime = g_strdup (f->runtime);
		g_clear_pointer (&f->opts->snp_owner, g_free);
		p = try_prepare (f, xml, &error);
		g_assert_null (p);
		assert_error (error, AC_ERROR_INVALID_INPUT, names);
		g_clear_error (&error);
	}
	/* the refusals wrote nothing: the record is the accepted prepare's */
	{
		g_autoptr (AcLocalsevRecord) r = ac_localsev_record_load (f->tmp, UUID, &error);
		g_assert_no_error (error);
		g_assert_cmpstr (r->session_id, ==, session);
	}
}

/* ---- the gatekeeper ---- */

typedef struct {
	const gchar *what;
	const gchar *from; /* replaced in the prepared domain XML by @to */
	const gchar *to;
	const gchar *names;
} Edit;

static void
test_gate_edits (Fixture *f, gconstpointer data)
{
	g_autofree gchar *xml = domain_xml (f);
	g_autoptr (AcLocalsevPrepared) p = prepare (f, xml);
	g_autofree gchar *kernel = g_build_filename (f->runtime, "boot", "vmlinuz", NULL);
	g_autofree gchar *initrd = g_build_filename (f->runtime, "boot", "initrd.img", NULL);
	g_autofree gchar *ovmf = g_build_filename (f->runtime, "ovmf", "OVMF.fd", NULL);
	g_autofree gchar *kernel_el = g_strdup_printf ("<kernel>%s</kernel>", kernel);
	g_autofree gchar *initrd_el = g_strdup_printf ("<initrd>%s</initrd>", initrd);
	g_autofree gchar *loader_path = g_strdup_printf (">%s</loader>", ovmf);
	const Edit edits[] = {
		{ "policy", "<policy>0x00030000</policy>", "<policy>0x00070000</policy>",
		  "launchSecurity <policy>" },
		{ "policy debug", "<policy>0x00030000</policy>", "<policy>0x000b0000</policy>",
		  "launchSecurity <policy>" },
		{ "cbitpos", "<cbitpos>51</cbitpos>", "<cbitpos>47</cbitpos>", "<cbitpos>" },
		{ "kernel hashes off", "kernelHashes=\"yes\"", "kernelHashes=\"no\"",
		  "kernelHashes" },
		{ "author key", "authorKey=\"no\"", "authorKey=\"yes\"", "authorKey" },
		{ "VLEK only", "vcek=\"yes\"", "vcek=\"no\"", "vcek" },
		{ "host data", "<policy>0x00030000</policy>",
		  "<policy>0x00030000</"
		  "policy><hostData>bGlidmlydGxpYnZpcnRsaWJ2aXJ0bGlidmlydGxpYnY=</hostData>",
		  "<hostData>" },
		{ "ID block", "<policy>0x00030000</policy>",
		  "<policy>0x00030000</policy><idBlock>AAAA</idBlock>", "<idBlock>" },
		{ "as SEV", "type=\"sev-snp\"", "type=\"sev\"", "launchSecurity" },
		{ "kernel", kernel_el, "<kernel>/tmp/other-vmlinuz</kernel>", "<os><kernel>" },
		{ "initrd", initrd_el, "<initrd>/tmp/other-initrd</initrd>", "<os><initrd>" },
		{ "cmdline", "luks=1 owner=", "luks=1 init=/bin/sh owner=", "<cmdline>" },
		{ "cmdline trailing space", "</cmdline>", " </cmdline>", "<cmdline>" },
		{ "device tree", "</cmdline>", "</cmdline><dtb>/tmp/dtb</dtb>", "<os><dtb>" },
		{ "loader", loader_path, ">/usr/share/OVMF/OVMF_CODE.fd</loader>", "<loader>" },
		{ "stateful", "</cmdline>", "</cmdline><nvram>/tmp/vars.fd</nvram>", "<nvram>" },
		{ "cpu model", "EPYC-v4", "EPYC-Milan", "<cpu><model>" },
		{ "cpu passthrough", "mode=\"custom\"", "mode=\"host-passthrough\"", "<cpu mode>" },
		{ "vcpus", ">2</vcpu>", ">4</vcpu>", "<vcpu>" },
		{ "disk", "snp-vm.img", "other.img", "disk" },
	};

	for (guint i = 0; i < G_N_ELEMENTS (edits); i++) {
		g_autoptr (GString) s = g_string_new (p->domain_xml);
		g_autoptr (GError) error = NULL;
		const gchar *names[] = { edits[i].names, "differs from what was prepared", NULL };
		g_test_message ("edit: %s", edits[i].what);
		g_assert_cmpuint (g_string_replace (s, edits[i].from, edits[i].to, 1), ==, 1);
		g_assert_false (
		    ac_localsev_gate_check_prepared (p->record, s->str, s->len, &error));
		if (g_strcmp0 (edits[i].what, "as SEV") == 0)
			names[1] = "was prepared";
		assert_error (error, AC_ERROR_REFUSED, names);
	}
	/* the launchSecurity removed */
	{
		g_autoptr (GString) s = g_string_new (p->domain_xml);
		g_autoptr (GError) error = NULL;
		const gchar *names[] = { "no <launchSecurity>", NULL };
		gchar *a = strstr (s->str, "<launchSecurity");
		gchar *b = strstr (s->str, "</launchSecurity>");
		g_string_erase (s, a - s->str, b + strlen ("</launchSecurity>") - a);
		g_assert_false (
		    ac_localsev_gate_check_prepared (p->record, s->str, s->len, &error));
		assert_error (error, AC_ERROR_REFUSED, names);
	}
	/* a second <cmdline> or <cpu>: refused, never one of them picked */
	{
		const gchar *dups[][2] = { { "</cmdline>", "</cmdline><cmdline>x</cmdline>" },
			                   { "</cpu>", "</cpu><cpu mode=\"host-passthrough\"/>" } };
		for (guint i = 0; i < G_N_ELEMENTS (dups); i++) {
			g_autoptr (GString) s = g_string_new (p->domain_xml);
			g_autoptr (GError) error = NULL;
			const gchar *names[] = { "expected at most one", NULL };
			g_string_replace (s, dups[i][0], dups[i][1], 1);
			g_assert_false (
			    ac_localsev_gate_check_prepared (p->record, s->str, s->len, &error));
			assert_error (error, AC_ERROR_REFUSED, names);
		}
	}
	/* very large XML: refused, not truncated */
	{
		g_autoptr (GString) s = g_string_new (p->domain_xml);
		g_autoptr (GError) error = NULL;
		const gchar *names[] = { "more than the", NULL };
		g_autofree gchar *pad = g_strnfill (AC_DOMAIN_MAX_XML, ' ');
		g_string_append (s, pad);
		g_assert_false (
		    ac_localsev_gate_check_prepared (p->record, s->str, s->len, &error));
		assert_error (error, AC_ERROR_REFUSED, names);
	}
	/* and a launch already let through is stale */
	{
		g_autoptr (GError) error = NULL;
		const gchar *names[] = { "stale session", NULL };
		g_assert_true (ac_localsev_record_mark_launched (f->tmp, UUID, &error));
		g_assert_no_error (error);
		{
			g_autoptr (AcLocalsevRecord) r
			    = ac_localsev_record_load (f->tmp, UUID, &error);
			g_assert_no_error (error);
			g_assert_false (ac_localsev_gate_check_prepared (
			    r, p->domain_xml, strlen (p->domain_xml), &error));
			assert_error (error, AC_ERROR_REFUSED, names);
		}
	}
}

/* ---- the record ---- */

static void
test_record_json (Fixture *f, gconstpointer data)
{
	g_autofree gchar *xml = domain_xml (f);
	g_autoptr (AcLocalsevPrepared) p = prepare (f, xml);
	g_autofree gchar *json = ac_localsev_record_to_json (p->record);
	g_autoptr (GError) error = NULL;
	const gchar *edits[][2] = {
		/* an SNP record with an SEV session */
		{ "\"tee\" : \"snp\"", "\"tee\" : \"snp\", \"dh-cert\" : \"AA==\"" },
		{ "\"tee\" : \"snp\"", "\"tee\" : \"tdx\"" },
		{ "\"expected-measurement\" : \"", "\"expected-measurement\" : \"zz" },
		{ "\"snp-policy\" : \"0x30000\"", "\"snp-policy\" : \"196608\"" },
	};

	g_assert_nonnull (strstr (json, "\"tee\" : \"snp\""));
	for (guint i = 0; i < G_N_ELEMENTS (edits); i++) {
		g_autoptr (GString) s = g_string_new (json);
		g_autoptr (AcLocalsevRecord) r = NULL;
		g_assert_cmpuint (g_string_replace (s, edits[i][0], edits[i][1], 1), ==, 1);
		r = ac_localsev_record_from_json (s->str, -1, &error);
		g_assert_null (r);
		g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
		g_clear_error (&error);
	}
	/* a member left out */
	{
		const gchar *required[] = { "kernel",        "initrd", "cmdline",
			                    "cpu-model",     "owner",  "expected-measurement",
			                    "runtime-sha256" };
		for (guint i = 0; i < G_N_ELEMENTS (required); i++) {
			g_autoptr (GString) s = g_string_new (json);
			g_autofree gchar *member = g_strdup_printf ("\"%s\" :", required[i]);
			g_autofree gchar *renamed = g_strdup_printf ("\"x-%s\" :", required[i]);
			g_autoptr (AcLocalsevRecord) r = NULL;
			g_assert_cmpuint (g_string_replace (s, member, renamed, 1), ==, 1);
			r = ac_localsev_record_from_json (s->str, -1, &error);
			g_assert_null (r);
			g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
			g_clear_error (&error);
		}
	}
}

int
main (int argc, char **argv)
{
	g_test_init (&argc, &argv, NULL);
	g_test_add_func ("/localsnp/domcaps", test_domcaps);
#define ADD(path, fn)                                                                              \
	g_test_add ("/localsnp/" path, Fixture, NULL, fixture_setup, fn, fixture_teardown)
	ADD ("host/too-old", test_host_too_old);
	ADD ("host/shortfalls", test_host_shortfalls);
	ADD ("prepare", test_prepare);
	ADD ("prepare/vcpus-cpu", test_prepare_vcpus_cpu);
	ADD ("prepare/runtime", test_prepare_runtime);
	ADD ("gate/edits", test_gate_edits);
	ADD ("record/json", test_record_json);
#undef ADD
	return g_test_run ();
}
