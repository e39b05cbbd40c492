/*
 * The hook's gatekeeper for local SEV launches, end to end through the hook executable: a
 * launch prepared by the local SEV flow (fake host played by the software PSP) starts once;
 * the same session a second time, a changed session, policy, disk or firmware are refused
 * with the input named.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <gio/gio.h>
#include <libxml/relaxng.h>
#include <string.h>

#include "ac-localsev-domain.h"
#include "ac-localsev-pin.h"
#include "ac-localsev.h"
#if HAVE_SECP256K1
#include "ac-eth-account.h"
#include "ac-localsev-owner.h"
#endif
#include "ac-sev-host-fake.h"
#include "ac-sev-psp.h"
#include "ac-error.h"
#include "ac-tag.h"
#include "../test-util.h"

static gchar *tmpdir;
static AcSevPsp *psp;
static const gchar *fake_host_id; /* the host the fake says it is; NULL: this machine */

static gchar *
data_path (const gchar *rel)
{
	return g_test_build_filename (G_TEST_DIST, "data", "localsev", rel, NULL);
}

/* the hook with @extra (lines of its [hook] group, nullable) in its configuration */
static gint
run_hook_conf (const gchar *state_dir, const gchar *extra, const gchar *xml, gchar **err)
{
	g_autofree gchar *hook = g_test_build_filename (G_TEST_BUILT, "..", "hooks", "aleph-hook", NULL);
	g_autofree gchar *module = g_test_build_filename (G_TEST_BUILT, "..", "plugin", "module",
							  "libaleph-confidential.so", NULL);
	g_autofree gchar *conf_path = g_build_filename (tmpdir, "hook.conf", NULL);
	g_autofree gchar *conf = g_strdup_printf ("[hook]\nmodule=%s\nhost-sev=yes\nstate-dir=%s\n%s", module,
						  state_dir, extra != NULL ? extra : "");
	g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDIN_PIPE |
									      G_SUBPROCESS_FLAGS_STDOUT_SILENCE |
									      G_SUBPROCESS_FLAGS_STDERR_PIPE);
	g_autoptr(GSubprocess) proc = NULL;
	g_autoptr(GError) error = NULL;

	g_assert_true (g_file_set_contents (conf_path, conf, -1, NULL));
	g_subprocess_launcher_set_environ (launcher, NULL);
	g_subprocess_launcher_setenv (launcher, "ALEPH_CONFIDENTIAL_HOOK_CONF", conf_path, TRUE);
	proc = g_subprocess_launcher_spawn (launcher, &error, hook, "conf-vm", "prepare", "begin", "-", NULL);
	g_assert_no_error (error);
	g_assert_true (g_subprocess_communicate_utf8 (proc, xml, NULL, NULL, err, &error));
	g_assert_no_error (error);
	return g_subprocess_get_exit_status (proc);
}

static gint
run_hook_owners (const gchar *state_dir, const gchar *owners, const gchar *xml, gchar **err)
{
	g_autofree gchar *extra = owners != NULL ? g_strdup_printf ("owners=%s\n", owners) : NULL;
	return run_hook_conf (state_dir, extra, xml, err);
}

static gint
run_hook (const gchar *state_dir, const gchar *xml, gchar **err)
{
	return run_hook_owners (state_dir, NULL, xml, err);
}

/* A prepared launch: returns the domain XML the service would define; @key (nullable) is
 * the owner's key file that signs the record shipped in the metadata. */
static gchar *
prepare_pinned (const gchar *state_dir, const gchar *key, const gchar *policy, gboolean pin_tags, GError **error_out)
{
	g_autofree gchar *tmpl = NULL;
	g_autofree gchar *fw_src = data_path ("ovmf-amdsev.fd");
	g_autofree gchar *firmware = g_build_filename (state_dir, "AMDSEV.fd", NULL);
	g_autofree gchar *disk = g_build_filename (state_dir, "disk.img", NULL);
	g_autofree gchar *in = data_path ("domain.xml.in");
	g_autofree gchar *fw = NULL;
	g_autofree gchar *sha = NULL;
	gsize len = 0;
	g_autoptr(GString) s = NULL;
	g_autoptr(AcTag) tag = NULL;
	g_autoptr(AcSevHostFake) fake = ac_sev_host_fake_new (psp, 51, 1);
	g_autoptr(AcLocalsevOptions) opts = ac_localsev_options_new (state_dir);
	g_autoptr(AcLocalsevPrepared) prepared = NULL;
	g_autoptr(GError) error = NULL;

	g_assert_true (g_file_get_contents (fw_src, &fw, &len, NULL));
	g_assert_true (g_file_set_contents (firmware, fw, (gssize)len, NULL));
	g_assert_true (g_file_set_contents (disk, "disk", -1, NULL));
	sha = g_compute_checksum_for_data (G_CHECKSUM_SHA256, (const guchar *)fw, len);
	g_assert_true (g_file_get_contents (in, &tmpl, NULL, NULL));
	s = g_string_new (tmpl);
	g_string_replace (s, "@POLICY@", policy, 0);
	g_string_replace (s, "@SHA256@", sha, 0);
	g_string_replace (s, "@FIRMWARE@", firmware, 0);
	g_string_replace (s, "@DISK@", disk, 0);
	g_string_replace (s, "@VCPUS@", "1", 0);
	tag = ac_tag_parse (s->str, -1, NULL, &error);
	g_assert_no_error (error);
	opts->roots = ac_sev_roots_new ();
	g_assert_true (ac_sev_roots_add (opts->roots, "test-platform", ac_sev_psp_get_ark (psp),
					 ac_sev_psp_get_ask (psp), &error));
#if HAVE_SECP256K1
	if (key != NULL) {
		g_assert_true (ac_localsev_options_set_owner_key (opts, key, NULL, TRUE, NULL, &error));
		g_assert_no_error (error);
	}
#else
	g_assert_null (key);
#endif
	opts->pin_tags = pin_tags;
	ac_sev_host_fake_set_host_id (fake, fake_host_id);
	prepared = ac_localsev_prepare (AC_SEV_HOST (fake), opts, tag, s->str, NULL, error_out != NULL ? error_out : &error);
	g_assert_no_error (error);
	return prepared != NULL ? g_strdup (prepared->domain_xml) : NULL;
}

static gchar *
prepare_full (const gchar *state_dir, const gchar *key)
{
	return prepare_pinned (state_dir, key, "0x1", FALSE, NULL);
}

static gchar *
prepare (const gchar *state_dir)
{
	return prepare_full (state_dir, NULL);
}

static void
test_prepared_starts_once (void)
{
	g_autofree gchar *state = g_build_filename (tmpdir, "once", NULL);
	g_autofree gchar *xml = NULL;
	g_autofree gchar *err = NULL;
	g_autofree gchar *err2 = NULL;

	g_assert_cmpint (g_mkdir_with_parents (state, 0700), ==, 0);
	xml = prepare (state);
	g_assert_cmpint (run_hook (state, xml, &err), ==, 0);
	g_assert_cmpstr (err, ==, "");
	/* a session is good for one launch */
	g_assert_cmpint (run_hook (state, xml, &err2), ==, 3);
	g_assert_nonnull (strstr (err2, "refusing to start domain 'conf-vm'"));
}

/* concurrent starts of one prepared session: all hooks wait on stdin, then get the XML at
 * once; exactly one is let through */
static void
test_prepared_starts_once_concurrent (void)
{
	enum { N = 12 };
	g_autofree gchar *state = g_build_filename (tmpdir, "once-concurrent", NULL);
	g_autofree gchar *hook = g_test_build_filename (G_TEST_BUILT, "..", "hooks", "aleph-hook", NULL);
	g_autofree gchar *module = g_test_build_filename (G_TEST_BUILT, "..", "plugin", "module",
							  "libaleph-confidential.so", NULL);
	g_autofree gchar *conf_path = g_build_filename (tmpdir, "hook-concurrent.conf", NULL);
	g_autofree gchar *conf = NULL;
	g_autofree gchar *xml = NULL;
	g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDIN_PIPE |
									      G_SUBPROCESS_FLAGS_STDOUT_SILENCE |
									      G_SUBPROCESS_FLAGS_STDERR_SILENCE);
	GSubprocess *procs[N];
	guint admitted = 0;

	g_assert_cmpint (g_mkdir_with_parents (state, 0700), ==, 0);
	xml = prepare (state);
	conf = g_strdup_printf ("[hook]\nmodule=%s\nhost-sev=yes\nstate-dir=%s\n", module, state);
	g_assert_true (g_file_set_contents (conf_path, conf, -1, NULL));
	g_subprocess_launcher_set_environ (launcher, NULL);
	g_subprocess_launcher_setenv (launcher, "ALEPH_CONFIDENTIAL_HOOK_CONF", conf_path, TRUE);
	for (guint i = 0; i < N; i++) {
		g_autoptr(GError) error = NULL;
		procs[i] = g_subprocess_launcher_spawn (launcher, &error, hook, "conf-vm", "prepare",
							"begin", "-", NULL);
		g_assert_no_error (error);
	}
	for (guint i = 0; i < N; i++) {
		g_autoptr(GError) error = NULL;
		GOutputStream *in = g_subprocess_get_stdin_pipe (procs[i]);
		g_assert_true (g_output_stream_write_all (in, xml, strlen (xml), NULL, NULL, &error));
		g_assert_no_error (error);
		g_assert_true (g_output_stream_close (in, NULL, &error));
	}
	for (guint i = 0; i < N; i++) {
		g_autoptr(GError) error = NULL;
		g_assert_true (g_subprocess_wait (procs[i], NULL, &error));
		g_assert_no_error (error);
		if (g_subprocess_get_exit_status (procs[i]) == 0)
			admitted++;
		else
			g_assert_cmpint (g_subprocess_get_exit_status (procs[i]), ==, 3);
		g_object_unref (procs[i]);
	}
	g_assert_cmpuint (admitted, ==, 1);
}

static void
test_tampered (gconstpointer data)
{
	const gchar *what = data;
	g_autofree gchar *state = g_build_filename (tmpdir, what, NULL);
	g_autofree gchar *xml = NULL;
	g_autofree gchar *err = NULL;
	g_autoptr(GString) s = NULL;

	g_assert_cmpint (g_mkdir_with_parents (state, 0700), ==, 0);
	xml = prepare (state);
	s = g_string_new (xml);
	if (g_strcmp0 (what, "session") == 0) {
		/* flip one base64 character of the session blob */
		gchar *p = strstr (s->str, "<session>");
		g_assert_nonnull (p);
		p += strlen ("<session>") + 10;
		*p = *p == 'A' ? 'B' : 'A';
	} else if (g_strcmp0 (what, "disk") == 0) {
		g_assert_cmpuint (g_string_replace (s, "disk.img", "other.img", 0), ==, 1);
	} else if (g_strcmp0 (what, "firmware") == 0) {
		g_assert_cmpuint (g_string_replace (s, "AMDSEV.fd</loader>", "OVMF.fd</loader>", 0), ==, 1);
	}
	g_assert_cmpint (run_hook (state, s->str, &err), ==, 3);
	g_assert_nonnull (strstr (err, "refusing to start domain 'conf-vm'"));
	g_test_message ("%s: %s", what, err);
	g_assert_nonnull (strstr (err, what));
}

#if HAVE_SECP256K1
/* an owner key file; returns its address */
static gchar *
owner_key (const gchar *dir, const gchar *name, gchar **address)
{
	g_autoptr(AcEthAccount) account = ac_eth_account_generate (NULL);
	g_autoptr(GError) error = NULL;
	gchar *path = g_build_filename (dir, name, NULL);

	g_assert_nonnull (account);
	g_assert_true (ac_eth_account_save_key_file (account, path, &error));
	g_assert_no_error (error);
	*address = g_strdup (ac_eth_account_get_address (account));
	return path;
}

/* @xml (or its first element in @ns) is valid against the RelaxNG schema at @rng */
static void
assert_schema_valid (const gchar *rng, const gchar *xml, const gchar *ns)
{
	xmlRelaxNGParserCtxtPtr pctx = xmlRelaxNGNewParserCtxt (rng);
	xmlRelaxNGPtr schema = xmlRelaxNGParse (pctx);
	xmlRelaxNGValidCtxtPtr vctx;
	xmlDocPtr doc = xmlReadMemory (xml, (int)strlen (xml), "domain.xml", NULL, XML_PARSE_NONET);
	xmlDocPtr sub = NULL;

	g_assert_nonnull (schema);
	g_assert_nonnull (doc);
	if (ns != NULL) {
		/* the element alone, as its own document */
		xmlNode *found = NULL;
		xmlNode *metadata = xmlDocGetRootElement (doc)->children;
		while (metadata != NULL && g_strcmp0 ((const gchar *)metadata->name, "metadata") != 0)
			metadata = metadata->next;
		g_assert_nonnull (metadata);
		for (xmlNode *n = metadata->children; n != NULL && found == NULL; n = n->next) {
			if (n->type == XML_ELEMENT_NODE && n->ns != NULL &&
			    g_strcmp0 ((const gchar *)n->ns->href, ns) == 0)
				found = n;
		}
		g_assert_nonnull (found);
		sub = xmlNewDoc ((const xmlChar *)"1.0");
		xmlDocSetRootElement (sub, xmlDocCopyNode (found, sub, 1));
	}
	vctx = xmlRelaxNGNewValidCtxt (schema);
	if (xmlRelaxNGValidateDoc (vctx, sub != NULL ? sub : doc) != 0)
		g_error ("%s rejects:\n%s", rng, xml);
	xmlRelaxNGFreeValidCtxt (vctx);
	xmlRelaxNGFree (schema);
	xmlRelaxNGFreeParserCtxt (pctx);
	if (sub != NULL)
		xmlFreeDoc (sub);
	xmlFreeDoc (doc);
}

/* the service prepares on the trusted machine (state dir "trusted"); the hook runs on the
 * SEV host with its own state dir ("host"), which holds no record */
typedef struct {
	gchar *trusted;
	gchar *host;
	gchar *key;
	gchar *address;
	gchar *xml;
} Remote;

static void
remote_init (Remote *r, const gchar *name)
{
	g_autofree gchar *base = g_build_filename (tmpdir, name, NULL);
	r->trusted = g_build_filename (base, "trusted", NULL);
	r->host = g_build_filename (base, "host", NULL);
	g_assert_cmpint (g_mkdir_with_parents (r->trusted, 0700), ==, 0);
	g_assert_cmpint (g_mkdir_with_parents (r->host, 0700), ==, 0);
	r->key = owner_key (base, "owner.key", &r->address);
	r->xml = prepare_full (r->trusted, r->key);
	g_assert_nonnull (strstr (r->xml, AC_LAUNCH_NS));
	{
		/* the launch record is what its schema says; libvirt accepts the domain with it */
		g_autofree gchar *rng = g_test_build_filename (G_TEST_DIST, "..", "schemas",
							       "confidential-launch.rng", NULL);
		assert_schema_valid (rng, r->xml, AC_LAUNCH_NS);
		if (g_file_test ("/usr/share/libvirt/schemas/domain.rng", G_FILE_TEST_EXISTS))
			assert_schema_valid ("/usr/share/libvirt/schemas/domain.rng", r->xml, NULL);
	}
}

static void
remote_clear (Remote *r)
{
	g_free (r->trusted);
	g_free (r->host);
	g_free (r->key);
	g_free (r->address);
	g_free (r->xml);
}

static void
test_remote_starts_once (void)
{
	Remote r = { 0 };
	g_autofree gchar *err = NULL;
	g_autofree gchar *err2 = NULL;
	g_autofree gchar *err3 = NULL;

	remote_init (&r, "remote-once");
	/* without an owner the host trusts, the shipped record counts for nothing */
	g_assert_cmpint (run_hook (r.host, r.xml, &err3), ==, 3);
	g_assert_nonnull (strstr (err3, "[hook] owners"));
	g_assert_nonnull (strstr (err3, r.address));
	g_assert_cmpint (run_hook_owners (r.host, r.address, r.xml, &err), ==, 0);
	g_assert_cmpstr (err, ==, "");
	/* one start per session, on the host too */
	g_assert_cmpint (run_hook_owners (r.host, r.address, r.xml, &err2), ==, 3);
	g_assert_nonnull (strstr (err2, "already used"));
	remote_clear (&r);
}

static void
test_remote_other_owner (void)
{
	Remote r = { 0 };
	g_autofree gchar *err = NULL;
	g_autofree gchar *other = NULL;
	g_autofree gchar *other_key = NULL;
	g_autofree gchar *owners = NULL;

	remote_init (&r, "remote-other");
	other_key = owner_key (r.host, "other.key", &other);
	g_assert_cmpint (run_hook_owners (r.host, other, r.xml, &err), ==, 3);
	g_assert_nonnull (strstr (err, "not among the owners"));
	g_clear_pointer (&err, g_free);
	/* a list: any of them */
	owners = g_strdup_printf ("%s;%s", other, r.address);
	g_assert_cmpint (run_hook_owners (r.host, owners, r.xml, &err), ==, 0);
	remote_clear (&r);
}

/* the host edits the shipped record (its own disk, say) and the domain to match it */
static void
test_remote_altered_record (void)
{
	Remote r = { 0 };
	g_autofree gchar *err = NULL;
	g_autoptr(GString) s = NULL;
	g_autoptr(AcLocalsevRecord) record = NULL;
	g_autoptr(GBytes) payload = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *b64 = NULL;
	g_autofree gchar *b64_new = NULL;
	g_autoptr(GString) json = NULL;

	remote_init (&r, "remote-altered");
	record = ac_localsev_record_launch_read (r.xml, strlen (r.xml), &payload, NULL, NULL, &error);
	g_assert_no_error (error);
	b64 = g_base64_encode (g_bytes_get_data (payload, NULL), g_bytes_get_size (payload));
	json = g_string_new_len (g_bytes_get_data (payload, NULL), (gssize)g_bytes_get_size (payload));
	/* the path, and the path in the canonical <source> */
	g_assert_cmpuint (g_string_replace (json, "disk.img", "evil.img", 0), ==, 2);
	b64_new = g_base64_encode ((const guchar *)json->str, json->len);
	s = g_string_new (r.xml);
	g_assert_cmpuint (g_string_replace (s, b64, b64_new, 0), ==, 1);
	g_assert_cmpuint (g_string_replace (s, "disk.img\"", "evil.img\"", 0), ==, 1);
	g_assert_cmpint (run_hook_owners (r.host, r.address, s->str, &err), ==, 3);
	g_test_message ("%s", err);
	g_assert_nonnull (strstr (err, "does not verify"));
	remote_clear (&r);
}

/* a record signed by the owner for another SEV host is refused here, whatever its owner */
static void
test_remote_other_host (void)
{
	Remote r = { 0 };
	g_autofree gchar *err = NULL;
	g_autofree gchar *extra = NULL;

	fake_host_id = "sev-host-2.example.org";
	remote_init (&r, "remote-other-host");
	fake_host_id = NULL;
	g_assert_cmpint (run_hook_owners (r.host, r.address, r.xml, &err), ==, 3);
	g_test_message ("%s", err);
	g_assert_nonnull (strstr (err, "prepared for host 'sev-host-2.example.org'"));
	g_assert_nonnull (strstr (err, g_get_host_name ()));
	g_clear_pointer (&err, g_free);
	/* the host that is named so in its configuration, by its short name: admitted once */
	extra = g_strdup_printf ("owners=%s\nhost-id=sev-host-2\n", r.address);
	g_assert_cmpint (run_hook_conf (r.host, extra, r.xml, &err), ==, 0);
	g_assert_cmpstr (err, ==, "");
	remote_clear (&r);
}

/* a signed record, but the domain's inputs differ from it */
static void
test_remote_tampered (gconstpointer data)
{
	const gchar *what = data;
	Remote r = { 0 };
	g_autofree gchar *name = g_strdup_printf ("remote-%s", what);
	g_autofree gchar *err = NULL;
	g_autoptr(GString) s = NULL;

	remote_init (&r, name);
	s = g_string_new (r.xml);
	if (g_strcmp0 (what, "session") == 0) {
		gchar *p = strstr (s->str, "<session>");
		g_assert_nonnull (p);
		p += strlen ("<session>") + 10;
		*p = *p == 'A' ? 'B' : 'A';
	} else if (g_strcmp0 (what, "disk") == 0) {
		g_assert_cmpuint (g_string_replace (s, "disk.img\"", "other.img\"", 0), ==, 1);
	} else if (g_strcmp0 (what, "UUID") == 0) {
		/* another domain of the host presents this domain's record */
		g_assert_cmpuint (g_string_replace (s, "6A0D2D0B-2C8E-4F55-9F34-4E8B4B1F0C21",
						    "0b3f1c2a-7d4e-4c1b-9a55-2f6e8d9c0a11", 0), ==, 1);
	} else if (g_strcmp0 (what, "signed") == 0) {
		g_assert_cmpuint (g_string_replace (s, " signature=\"0x", " signature=\"", 0), ==, 1);
	}
	g_assert_cmpint (run_hook_owners (r.host, r.address, s->str, &err), ==, 3);
	g_test_message ("%s: %s", what, err);
	g_assert_nonnull (strstr (err, "refusing to start domain 'conf-vm'"));
	g_assert_nonnull (strstr (err, what));
	remote_clear (&r);
}
#endif

/* the tag of a remote host's domain: pinned when first seen, a change refused until approved */
static void
test_remote_tag_pinned (void)
{
	g_autofree gchar *state = g_build_filename (tmpdir, "pinned", NULL);
	g_autofree gchar *xml = NULL;
	g_autofree gchar *xml2 = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(AcTag) approved = NULL;

	g_assert_cmpint (g_mkdir_with_parents (state, 0700), ==, 0);
	xml = prepare_pinned (state, NULL, "0x1", TRUE, &error);
	g_assert_no_error (error);
	g_assert_nonnull (xml);
	/* the host lowers the policy to one that lets it debug the guest */
	g_assert_null (prepare_pinned (state, NULL, "0x0", TRUE, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_REFUSED);
	g_test_message ("%s", error->message);
	g_assert_nonnull (strstr (error->message, "policy 0x1 → 0x0"));
	g_assert_nonnull (strstr (error->message, "virt-aleph tag conf-vm --approve"));
	g_clear_error (&error);
	/* without pinning (a local host) the tag is the owner's own */
	xml2 = prepare_pinned (state, NULL, "0x5", FALSE, &error);
	g_assert_no_error (error);
	g_clear_pointer (&xml2, g_free);
	/* the owner approves 0x5 on the trusted machine */
	{
		g_autoptr(AcTag) tag = NULL;
		tag = ac_tag_parse (xml, -1, NULL, &error);
		g_assert_no_error (error);
		tag->policy = 0x5;
		g_assert_true (ac_localsev_pin_write (state, "6a0d2d0b-2c8e-4f55-9f34-4e8b4b1f0c21", tag, &error));
		g_assert_no_error (error);
	}
	xml2 = prepare_pinned (state, NULL, "0x5", TRUE, &error);
	g_assert_no_error (error);
	g_assert_nonnull (xml2);
	approved = ac_localsev_pin_read (state, "6a0d2d0b-2c8e-4f55-9f34-4e8b4b1f0c21", &error);
	g_assert_no_error (error);
	g_assert_cmpuint (approved->policy, ==, 0x5);
}

/* ---- SEV-SNP: the launch the local flow prepared for an SNP-tagged domain ---- */

static void
snp_copy (const gchar *from_rel, const gchar *dir, const gchar *rel)
{
	g_autofree gchar *from = g_test_build_filename (G_TEST_DIST, "data", "snp", from_rel, NULL);
	g_autofree gchar *to = g_build_filename (dir, rel, NULL);
	g_autofree gchar *parent = g_path_get_dirname (to);
	g_autofree gchar *buf = NULL;
	gsize len = 0;
	g_assert_cmpint (g_mkdir_with_parents (parent, 0755), ==, 0);
	g_assert_true (g_file_get_contents (from, &buf, &len, NULL));
	g_assert_true (g_file_set_contents (to, buf, (gssize)len, NULL));
}

/* an SNP launch prepared in @state_dir on a host with libvirt 10.5 and QEMU 9.1; @key
 * (nullable) signs the record shipped in the metadata */
static gchar *
prepare_snp (const gchar *state_dir, const gchar *key)
{
	g_autofree gchar *runtime = g_build_filename (state_dir, "runtime", NULL);
	g_autofree gchar *disk = g_build_filename (state_dir, "disk.img", NULL);
	g_autofree gchar *in = data_path ("snp/domain.xml.in");
	g_autofree gchar *caps_path = data_path ("snp/domcaps-snp.xml");
	g_autofree gchar *manifest = g_build_filename (state_dir, "runtime", "manifest.json", NULL);
	g_autofree gchar *tmpl = NULL;
	g_autofree gchar *caps = NULL;
	g_autofree gchar *text = NULL;
	g_autofree gchar *sha = NULL;
	g_autoptr (GString) s = NULL;
	g_autoptr (AcTag) tag = NULL;
	g_autoptr (AcSevHostFake) fake = ac_sev_host_fake_new (psp, 51, 1);
	g_autoptr (AcLocalsevOptions) opts = ac_localsev_options_new (state_dir);
	g_autoptr (AcLocalsevPrepared) prepared = NULL;
	g_autoptr (GError) error = NULL;

	snp_copy ("aleph-runtime/manifest.json", runtime, "manifest.json");
	snp_copy ("sev-snp-measure/fixtures/ovmf_AmdSev_suffix.bin", runtime, "ovmf/OVMF.fd");
	snp_copy ("sev-snp-measure/inputs/kernel.bin", runtime, "boot/vmlinuz");
	snp_copy ("sev-snp-measure/inputs/initrd.bin", runtime, "boot/initrd.img");
	g_assert_true (g_file_get_contents (manifest, &text, NULL, NULL));
	sha = g_compute_checksum_for_string (G_CHECKSUM_SHA256, text, -1);
	g_assert_true (g_file_set_contents (disk, "disk", -1, NULL));
	g_assert_true (g_file_get_contents (in, &tmpl, NULL, NULL));
	g_assert_true (g_file_get_contents (caps_path, &caps, NULL, NULL));
	s = g_string_new (tmpl);
	g_string_replace (s, "@RUNTIME@", sha, 0);
	g_string_replace (s, "@DISK@", disk, 0);
	g_string_replace (s, "@VCPUS@", "2", 0);
	tag = ac_tag_parse (s->str, -1, NULL, &error);
	g_assert_no_error (error);
	ac_sev_host_fake_set_snp_facts (fake, 10005000, 9001000, caps);
	ac_sev_host_fake_set_host_id (fake, fake_host_id);
	opts->snp_runtime = g_strdup (runtime);
	opts->snp_owner = g_strdup ("0x9319ad3b7a8e0ee24f2e639c40d8ed124c5520ba");
#if HAVE_SECP256K1
	if (key != NULL) {
		g_assert_true (ac_localsev_options_set_owner_key (opts, key, NULL, TRUE, NULL, &error));
		g_assert_no_error (error);
	}
#else
	g_assert_null (key);
#endif
	prepared = ac_localsev_prepare (AC_SEV_HOST (fake), opts, tag, s->str, NULL, &error);
	g_assert_no_error (error);
	return g_strdup (prepared->domain_xml);
}

static void
test_snp_starts_once (void)
{
	g_autofree gchar *state = g_build_filename (tmpdir, "snp-once", NULL);
	g_autofree gchar *xml = NULL;
	g_autofree gchar *err = NULL;
	g_autofree gchar *err2 = NULL;
	g_autofree gchar *err3 = NULL;

	g_assert_cmpint (g_mkdir_with_parents (state, 0700), ==, 0);
	xml = prepare_snp (state, NULL);
	/* a host without SEV-SNP never starts it, prepared or not */
	g_assert_cmpint (run_hook_conf (state, "host-snp=no\n", xml, &err3), ==, 3);
	g_assert_nonnull (strstr (err3, "needs AMD SEV-SNP, which this host lacks"));
	g_assert_cmpint (run_hook_conf (state, "host-snp=yes\n", xml, &err), ==, 0);
	g_assert_cmpstr (err, ==, "");
	/* the launch is good for one start */
	g_assert_cmpint (run_hook_conf (state, "host-snp=yes\n", xml, &err2), ==, 3);
	g_assert_nonnull (strstr (err2, "stale session"));
}

/* the host edits what was prepared: refused, the input named */
static void
test_snp_tampered (gconstpointer data)
{
	const gchar *what = data;
	g_autofree gchar *state = g_build_filename (tmpdir, "snp-tampered", NULL);
	g_autofree gchar *xml = NULL;
	g_autofree gchar *err = NULL;
	g_autoptr (GString) s = NULL;
	const gchar *names = what;

	test_util_rm_rf (state);
	g_assert_cmpint (g_mkdir_with_parents (state, 0700), ==, 0);
	xml = prepare_snp (state, NULL);
	s = g_string_new (xml);
	if (g_strcmp0 (what, "cmdline") == 0) {
		g_assert_cmpuint (g_string_replace (s, "luks=1 ", "luks=1 init=/bin/sh ", 1), ==, 1);
	} else if (g_strcmp0 (what, "kernel") == 0) {
		g_assert_cmpuint (g_string_replace (s, "boot/vmlinuz<", "boot/vmlinuz.evil<", 1), ==, 1);
	} else if (g_strcmp0 (what, "loader") == 0) {
		g_assert_cmpuint (g_string_replace (s, "ovmf/OVMF.fd<", "ovmf/OVMF.evil<", 1), ==, 1);
	} else if (g_strcmp0 (what, "policy") == 0) {
		/* the tag's policy with it: the record still refuses */
		g_assert_cmpuint (g_string_replace (s, "0x00030000", "0x00020000", 1), ==, 1);
		g_assert_cmpuint (g_string_replace (s, "policy=\"0x30000\"", "policy=\"0x20000\"", 1), ==, 1);
	} else if (g_strcmp0 (what, "hostData") == 0) {
		g_assert_cmpuint (g_string_replace (s, "</policy>",
		                                    "</policy><hostData>AAAA</hostData>", 1), ==, 1);
	} else if (g_strcmp0 (what, "sev") == 0) {
		/* started as an SEV guest instead */
		g_assert_cmpuint (g_string_replace (s, "type=\"sev-snp\"", "type=\"sev\"", 1), ==, 1);
		names = "no <launchSecurity type='sev-snp'>";
	}
	g_assert_cmpint (run_hook_conf (state, "host-snp=yes\n", s->str, &err), ==, 3);
	g_test_message ("%s: %s", what, err);
	g_assert_nonnull (strstr (err, "refusing to start domain 'conf-vm'"));
	g_assert_nonnull (strstr (err, names));
}

#if HAVE_SECP256K1
/* prepared by a service on another machine: the signed record shipped in the metadata */
static void
test_snp_remote (void)
{
	g_autofree gchar *service = g_build_filename (tmpdir, "snp-service", NULL);
	g_autofree gchar *host = g_build_filename (tmpdir, "snp-host", NULL);
	g_autofree gchar *address = NULL;
	g_autofree gchar *key = NULL;
	g_autofree gchar *xml = NULL;
	g_autofree gchar *extra = NULL;
	g_autofree gchar *err = NULL;
	g_autofree gchar *err2 = NULL;

	g_assert_cmpint (g_mkdir_with_parents (service, 0700), ==, 0);
	g_assert_cmpint (g_mkdir_with_parents (host, 0700), ==, 0);
	key = owner_key (service, "owner.key", &address);
	xml = prepare_snp (service, key);
	/* the owner's key is the SNP owner too: its address is in the measured command line */
	g_assert_nonnull (strstr (xml, address + 2));
	extra = g_strdup_printf ("host-snp=yes\nowners=%s\n", address);
	g_assert_cmpint (run_hook_conf (host, extra, xml, &err), ==, 0);
	g_assert_cmpstr (err, ==, "");
	g_assert_cmpint (run_hook_conf (host, extra, xml, &err2), ==, 3);
	g_assert_nonnull (strstr (err2, "already used"));
}
#endif

int
main (int argc, char **argv)
{
	g_autofree gchar *platform = NULL;
	g_autoptr(GError) error = NULL;
	int rc;

	g_test_init (&argc, &argv, NULL);
	platform = data_path ("platform");
	psp = ac_sev_psp_load (platform, &error);
	g_assert_no_error (error);
	tmpdir = test_util_mkdtemp ("ac-test-hook-localsev-XXXXXX");
	g_test_add_func ("/hook/localsev/prepared-starts-once", test_prepared_starts_once);
	g_test_add_func ("/hook/localsev/prepared-starts-once-concurrent", test_prepared_starts_once_concurrent);
	g_test_add_data_func ("/hook/localsev/tampered/session", "session", test_tampered);
	g_test_add_data_func ("/hook/localsev/tampered/disk", "disk", test_tampered);
	g_test_add_data_func ("/hook/localsev/tampered/firmware", "firmware", test_tampered);
#if HAVE_SECP256K1
	g_test_add_func ("/hook/localsev/remote/starts-once", test_remote_starts_once);
	g_test_add_func ("/hook/localsev/remote/other-owner", test_remote_other_owner);
	g_test_add_func ("/hook/localsev/remote/altered-record", test_remote_altered_record);
	g_test_add_func ("/hook/localsev/remote/other-host", test_remote_other_host);
	g_test_add_data_func ("/hook/localsev/remote/tampered/session", "session", test_remote_tampered);
	g_test_add_data_func ("/hook/localsev/remote/tampered/disk", "disk", test_remote_tampered);
	g_test_add_data_func ("/hook/localsev/remote/tampered/uuid", "UUID", test_remote_tampered);
	g_test_add_data_func ("/hook/localsev/remote/tampered/signature", "signed", test_remote_tampered);
#endif
	g_test_add_func ("/hook/localsev/remote/tag-pinned", test_remote_tag_pinned);
	g_test_add_func ("/hook/localsev/snp/starts-once", test_snp_starts_once);
	g_test_add_data_func ("/hook/localsev/snp/tampered/cmdline", "cmdline", test_snp_tampered);
	g_test_add_data_func ("/hook/localsev/snp/tampered/kernel", "kernel", test_snp_tampered);
	g_test_add_data_func ("/hook/localsev/snp/tampered/loader", "loader", test_snp_tampered);
	g_test_add_data_func ("/hook/localsev/snp/tampered/policy", "policy", test_snp_tampered);
	g_test_add_data_func ("/hook/localsev/snp/tampered/hostData", "hostData", test_snp_tampered);
	g_test_add_data_func ("/hook/localsev/snp/tampered/sev", "sev", test_snp_tampered);
#if HAVE_SECP256K1
	g_test_add_func ("/hook/localsev/snp/remote", test_snp_remote);
#endif
	rc = g_test_run ();
	test_util_rm_rf (tmpdir);
	ac_sev_psp_free (psp);
	return rc;
}
