/*
 * The hook executable as libvirt runs it: argv DOMAIN OP SUBOP -, the domain XML on stdin,
 * stderr becoming libvirt's error message. Checks the fast path (untagged domains never load
 * the module), the gatekeeper's verdicts and messages, fail-closed behaviour when the module is
 * missing, and the recorded decision.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <gio/gio.h>
#include <json-glib/json-glib.h>
#include <string.h>

#include "../test-util.h"

typedef struct {
	const gchar *name;
	const gchar *fixture;  /* tests/data/hook/<fixture>.xml */
	const gchar *host_sev; /* yes | no, optionally followed by "\nhost-snp=yes|no" */
	const gchar *op;
	const gchar *subop;
	gboolean module_ok;    /* FALSE: the config points to a missing module */
	gint exit_status;
	const gchar *stderr_has; /* NULL: stderr must be empty */
	const gchar *stderr_lacks; /* NULL: no constraint */
} HookCase;

static const HookCase cases[] = {
	{ "untagged", "untagged", "no", "prepare", "begin", TRUE, 0, NULL },
	/* the fast path never loads the module: a broken install does not affect other domains */
	{ "untagged-no-module", "untagged", "no", "prepare", "begin", FALSE, 0, NULL },
	{ "status-only-no-module", "status-only", "no", "prepare", "begin", FALSE, 0, NULL },
	{ "default-no-sev", "default", "no", "prepare", "begin", TRUE, 3,
	  "refusing to start domain 'web': this host has no AMD SEV" },
	{ "default-sev-no-launchsec", "default", "yes", "prepare", "begin", TRUE, 3,
	  "has no <launchSecurity type='sev'>" },
	{ "deny", "deny", "yes", "prepare", "begin", TRUE, 3, "<aleph:local mode='deny'/> forbids" },
	{ "test", "test", "no", "prepare", "begin", TRUE, 0, NULL },
	{ "sev-no-sev", "sev", "no", "prepare", "begin", TRUE, 3, "needs AMD SEV, which this host lacks" },
	/* launchSecurity written by hand, not prepared by the service (tests/hooks/test-hook-localsev.c
	 * covers prepared launches) */
	{ "sev-launchsec-unprepared", "sev-launchsec", "yes", "prepare", "begin", TRUE, 3,
	  "virt-alephd has not prepared this launch" },
	/* libvirt's QEMU namespace could replace the SEV launch: refused, naming the element */
	{ "sev-qemu-commandline", "sev-qemu-commandline", "yes", "prepare", "begin", TRUE, 3,
	  "<qemu:commandline> (libvirt's QEMU namespace" },
	{ "sev-qemu-override", "sev-qemu-override", "yes", "prepare", "begin", TRUE, 3, "<q:override>" },
	{ "sev-qemu-in-metadata", "sev-qemu-in-metadata", "yes", "prepare", "begin", TRUE, 3,
	  "virt-alephd has not prepared this launch", "QEMU namespace" },
	{ "sev-launchsec-policy", "sev-launchsec-policy", "yes", "prepare", "begin", TRUE, 3,
	  "<launchSecurity> policy '0x0003' differs from the tag's policy 0x1" },
	{ "invalid", "invalid", "yes", "prepare", "begin", TRUE, 2,
	  "invalid <aleph:confidential>: <aleph:sev policy=…>: invalid SEV policy '0xZZ'" },
	/* only prepare gates; the other calls of a start or stop go through */
	{ "deny-started", "deny", "no", "started", "begin", TRUE, 0, NULL },
	{ "deny-release", "deny", "no", "release", "end", TRUE, 0, NULL },
	/* fail closed: a tagged domain never starts without the module deciding */
	{ "tagged-no-module", "test", "no", "prepare", "begin", FALSE, 3, "cannot load the aleph-confidential module" },
	{ "tagged-no-module-start", "test", "no", "start", "begin", FALSE, 3, "cannot load" },
	{ "tagged-no-module-release", "test", "no", "release", "end", FALSE, 0, NULL },
	/* the namespace string alone does not tag a domain: only an <X:confidential> element of
	 * the namespace in <metadata> does */
	{ "untagged-description", "untagged-description", "no", "prepare", "begin", TRUE, 0, NULL },
	{ "untagged-comment", "untagged-comment", "no", "prepare", "begin", TRUE, 0, NULL },
	{ "untagged-cdata", "untagged-cdata", "no", "prepare", "begin", TRUE, 0, NULL },
	{ "untagged-lookalike-slash", "untagged-lookalike-slash", "no", "prepare", "begin", TRUE, 0, NULL },
	{ "untagged-lookalike-10", "untagged-lookalike-10", "no", "prepare", "begin", TRUE, 0, NULL },
	{ "deny-default-ns", "deny-default-ns", "yes", "prepare", "begin", TRUE, 3, "<aleph:local mode='deny'/> forbids" },
	{ "deny-other-prefix", "deny-other-prefix", "yes", "prepare", "begin", TRUE, 3, "<aleph:local mode='deny'/> forbids" },
	/* XML that cannot be read: untag (which needs a readable tag) is not suggested */
	{ "malformed", "malformed", "yes", "prepare", "begin", TRUE, 2, "cannot be checked: malformed XML", "untag" },
	/* a published domain runs on Aleph: the refusal says so and does not ask to publish it */
	{ "published-no-sev", "published", "no", "prepare", "begin", TRUE, 3,
	  "virt-alephd runs it on an Aleph node, not on this host: check it with 'virt-aleph status web'",
	  "add <aleph:publish/>" },
	{ "published-deny", "published-deny", "yes", "prepare", "begin", TRUE, 3,
	  "remove <aleph:publish>", "add <aleph:publish/>" },
	{ "published-sev-unprepared", "published", "yes", "prepare", "begin", TRUE, 3,
	  "'virt-aleph apply web'", "add <aleph:publish/>" },
	/* SEV-SNP: never downgraded to an SEV launch, whatever the host has */
	{ "snp-default-sev-host", "snp-default", "yes\nhost-snp=no", "prepare", "begin", TRUE, 3,
	  "its tag asks for AMD SEV-SNP (<aleph:sev type='snp'>), which this host lacks",
	  "launchSecurity" },
	/* an SNP host: only the SEV-SNP launch the service prepared */
	{ "snp-default-snp-host", "snp-default", "yes\nhost-snp=yes", "prepare", "begin", TRUE, 3,
	  "the domain has no <launchSecurity type='sev-snp'>, so it would run without SEV-SNP (an "
	  "SNP domain never starts as an SEV guest)" },
	{ "snp-sev-sev-host", "snp-sev", "yes\nhost-snp=no", "prepare", "begin", TRUE, 3,
	  "<aleph:local mode='sev'/> with <aleph:sev type='snp'> needs AMD SEV-SNP, which this host lacks" },
	{ "snp-sev-snp-host", "snp-sev", "no\nhost-snp=yes", "prepare", "begin", TRUE, 3,
	  "the domain has no <launchSecurity type='sev-snp'>" },
	{ "snp-test", "snp-test", "no\nhost-snp=no", "prepare", "begin", TRUE, 0, NULL },
	{ "snp-published-sev-host", "snp-published", "yes\nhost-snp=no", "prepare", "begin", TRUE, 3,
	  "virt-alephd runs it on an Aleph node, not on this host" },
	{ "snp-published-snp-host", "snp-published", "no\nhost-snp=yes", "prepare", "begin", TRUE, 3,
	  "virt-alephd runs it on an Aleph node, not on this host", "add <aleph:publish/>" },
};

static gchar *tmpdir;

/* the module as built (the hook's configuration names it) */
static gchar *
module_built_path (void)
{
	return g_test_build_filename (G_TEST_BUILT, "..", "plugin", "module", "libaleph-confidential.so",
				      NULL);
}

/* starts the built hook as libvirt does, for domain 'web' with the XML on stdin ("-"): libvirt
 * gives hooks a minimal environment; ours carries only @env (NAME, VALUE, ..., NULL) and the
 * test configuration @conf_path */
static GSubprocess *
hook_spawn (const gchar *conf_path, const gchar *const *env, const gchar *op, const gchar *subop)
{
	g_autofree gchar *hook = g_test_build_filename (G_TEST_BUILT, "..", "hooks", "aleph-hook", NULL);
	g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDIN_PIPE |
									      G_SUBPROCESS_FLAGS_STDOUT_PIPE |
									      G_SUBPROCESS_FLAGS_STDERR_PIPE);
	g_autoptr(GError) error = NULL;
	GSubprocess *proc;

	g_subprocess_launcher_set_environ (launcher, NULL);
	for (; env != NULL && env[0] != NULL; env += 2)
		g_subprocess_launcher_setenv (launcher, env[0], env[1], TRUE);
	g_subprocess_launcher_setenv (launcher, "ALEPH_CONFIDENTIAL_HOOK_CONF", conf_path, TRUE);
	proc = g_subprocess_launcher_spawn (launcher, &error, hook, "web", op, subop, "-", NULL);
	g_assert_no_error (error);
	return proc;
}

/* A configuration error is an error: the hook refuses tagged domains with the invalid-input
 * exit code and a message naming the file, the group/key and what is accepted. */
typedef struct {
	const gchar *name;
	const gchar *conf; /* @MODULE@: the module's path */
	const gchar *stderr_has;
} ConfigCase;

static const ConfigCase config_cases[] = {
	{ "module-inline-comment", "[hook]\nmodule=@MODULE@   # the module\nhost-sev=no\n",
	  "[hook] module='" },
	{ "host-sev-inline-comment", "[hook]\nmodule=@MODULE@\nhost-sev=no   # no SEV here\n",
	  "[hook] host-sev='no   # no SEV here': a '#' is not a comment after a value; put comments on "
	  "their own lines (expected auto, yes or no)" },
	{ "unknown-key", "[hook]\nmodule=@MODULE@\nhots-sev=no\n",
	  "[hook] unknown key 'hots-sev'; expected one of module, host-sev, host-snp, state-dir, owners" },
	{ "unknown-group", "[hook]\nmodule=@MODULE@\n[pipeline]\nstate-dir=/tmp\n",
	  "unknown group [pipeline]; expected [hook]" },
	{ "malformed-host-sev", "[hook]\nmodule=@MODULE@\nhost-sev=maybe\n", "[hook] host-sev='maybe': expected auto, yes or no" },
	{ "malformed-host-snp", "[hook]\nmodule=@MODULE@\nhost-snp=sev\n", "[hook] host-snp='sev': expected auto, yes or no" },
};

static void
test_config_case (gconstpointer data)
{
	const ConfigCase *c = data;
	g_autofree gchar *module = module_built_path ();
	g_autofree gchar *fixture = g_test_build_filename (G_TEST_DIST, "data", "hook", "test.xml", NULL);
	g_autofree gchar *conf_path = g_build_filename (tmpdir, "bad-hook.conf", NULL);
	g_autoptr(GString) conf = g_string_new (c->conf);
	g_autofree gchar *xml = NULL;
	g_autoptr(GSubprocess) proc = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *out = NULL;
	g_autofree gchar *err = NULL;

	g_assert_true (g_file_get_contents (fixture, &xml, NULL, NULL));
	g_string_replace (conf, "@MODULE@", module, 0);
	g_assert_true (g_file_set_contents (conf_path, conf->str, -1, NULL));
	proc = hook_spawn (conf_path, (const gchar *const[]){ "LC_ALL", "C", NULL }, "prepare", "begin");
	g_assert_true (g_subprocess_communicate_utf8 (proc, xml, NULL, &out, &err, &error));
	g_assert_no_error (error);
	g_test_message ("stderr: %s", err);
	g_assert_cmpint (g_subprocess_get_exit_status (proc), ==, 2);
	g_assert_cmpstr (out, ==, "");
	g_assert_true (g_str_has_prefix (err, "aleph-confidential: refusing to start domain 'web': "));
	g_assert_nonnull (strstr (err, conf_path));
	g_assert_nonnull (strstr (err, c->stderr_has));
}

static void
test_case (gconstpointer data)
{
	const HookCase *c = data;
	g_autofree gchar *module = module_built_path ();
	g_autofree gchar *fixture_name = g_strconcat (c->fixture, ".xml", NULL);
	g_autofree gchar *fixture = g_test_build_filename (G_TEST_DIST, "data", "hook", fixture_name, NULL);
	g_autofree gchar *conf_path = g_build_filename (tmpdir, "hook.conf", NULL);
	g_autofree gchar *state_dir = g_build_filename (tmpdir, c->name, NULL);
	g_autofree gchar *conf = g_strdup_printf ("[hook]\nmodule=%s\nhost-sev=%s\nstate-dir=%s\n",
						  c->module_ok ? module : "/nonexistent/module.so",
						  c->host_sev, state_dir);
	g_autofree gchar *xml = NULL;
	g_autoptr(GSubprocess) proc = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *out = NULL;
	g_autofree gchar *err = NULL;
	g_autoptr(GBytes) stdin_bytes = NULL;

	g_assert_true (g_file_get_contents (fixture, &xml, NULL, NULL));
	g_assert_true (g_file_set_contents (conf_path, conf, -1, NULL));
	proc = hook_spawn (conf_path,
			   (const gchar *const[]){ "LC_ALL", "C", "PATH", "/usr/sbin:/usr/bin:/sbin:/bin", NULL },
			   c->op, c->subop);
	g_assert_true (g_subprocess_communicate_utf8 (proc, xml, NULL, &out, &err, &error));
	g_assert_no_error (error);
	g_assert_cmpint (g_subprocess_get_exit_status (proc), ==, c->exit_status);
	/* a hook's stdout may be read by libvirt as XML: never print there */
	g_assert_cmpstr (out, ==, "");
	if (c->stderr_has == NULL) {
		g_assert_cmpstr (err, ==, "");
	} else {
		g_assert_nonnull (strstr (err, c->stderr_has));
		/* one clear line, starting with our name */
		g_assert_true (g_str_has_prefix (err, "aleph-confidential: refusing to start domain 'web': "));
		g_assert_cmpint (strchr (err, '\n') - err, ==, (gint)strlen (err) - 1);
	}
	if (c->stderr_lacks != NULL)
		g_assert_null (strstr (err, c->stderr_lacks));

	/* prepare decisions are recorded for virt-aleph status and the service */
	if (c->module_ok && g_strcmp0 (c->op, "prepare") == 0 && !g_str_has_prefix (c->fixture, "untagged")) {
		g_autofree gchar *rec_path = g_build_filename (state_dir, "hook", "web.json", NULL);
		g_autoptr(JsonParser) parser = json_parser_new ();
		JsonObject *obj;
		g_assert_true (json_parser_load_from_file (parser, rec_path, &error));
		g_assert_no_error (error);
		obj = json_node_get_object (json_parser_get_root (parser));
		g_assert_cmpstr (json_object_get_string_member (obj, "verdict"), ==,
				 c->exit_status == 0 ? "allowed" : "refused");
		g_assert_cmpstr (json_object_get_string_member (obj, "op"), ==, "prepare");
	} else if (g_str_has_prefix (c->fixture, "untagged")) {
		/* not ours: no decision recorded */
		g_autofree gchar *rec_path = g_build_filename (state_dir, "hook", "web.json", NULL);
		g_assert_false (g_file_test (rec_path, G_FILE_TEST_EXISTS));
	}
}

/*
 * A domain XML above the hook's 64 MiB buffer, with the tag after the first 64 MiB: the hook
 * must still see the namespace (here straddling the buffer's end when @ns_at is set, since
 * the tail is scanned through a window over the drained reads) and refuse to start a domain
 * it cannot check.
 */
typedef struct {
	const gchar *name;
	gsize ns_at;          /* the namespace's offset; 0: at the end of 80 MiB */
	gboolean tagged;
	const gchar *op;
	gint exit_status;
} BigCase;

#define HOOK_MAX_XML (64u * 1024u * 1024u)

static const BigCase big_cases[] = {
	{ "tagged-at-end", 0, TRUE, "prepare", 3 },
	{ "tagged-straddling", HOOK_MAX_XML - 20, TRUE, "prepare", 3 },
	{ "tagged-at-end-start", 0, TRUE, "start", 3 },
	{ "tagged-at-end-release", 0, TRUE, "release", 0 },
	{ "untagged", 0, FALSE, "prepare", 0 },
};

static void
test_big (gconstpointer data)
{
	const BigCase *c = data;
	g_autofree gchar *module = module_built_path ();
	g_autofree gchar *conf_path = g_build_filename (tmpdir, "hook-big.conf", NULL);
	g_autofree gchar *state_dir = g_build_filename (tmpdir, "big", NULL);
	g_autofree gchar *conf = g_strdup_printf ("[hook]\nmodule=%s\nhost-sev=no\nstate-dir=%s\n",
						  module, state_dir);
	const gchar *head = "<domain type='qemu'><name>web</name><description>";
	const gchar *tag = c->tagged ? "</description><metadata><aleph:confidential "
				       "xmlns:aleph=\"https://aleph.cloud/ns/libvirt/confidential/1\">"
				       "<aleph:local mode=\"test\"/></aleph:confidential></metadata>"
				     : "</description><metadata></metadata>";
	const gchar *tail = "<memory unit='KiB'>262144</memory><os><type arch='x86_64'>hvm</type>"
			    "</os></domain>\n";
	/* the namespace sits 57 bytes into @tag */
	gsize filler = (c->ns_at != 0 ? c->ns_at - 57 : 80u * 1024u * 1024u) - strlen (head);
	g_autoptr(GString) xml = g_string_sized_new (strlen (head) + filler + 512);
	g_autoptr(GSubprocess) proc = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(GBytes) in = NULL;
	g_autoptr(GBytes) out = NULL;
	g_autoptr(GBytes) err = NULL;
	g_autofree gchar *err_text = NULL;

	g_string_append (xml, head);
	g_string_set_size (xml, strlen (head) + filler);
	memset (xml->str + strlen (head), 'x', filler);
	g_string_append (xml, tag);
	g_string_append (xml, tail);
	g_assert_cmpuint (xml->len, >, HOOK_MAX_XML);
	if (c->ns_at != 0)
		g_assert_cmpint (strncmp (xml->str + c->ns_at, "https://aleph.cloud/", 20), ==, 0);
	{
		gsize n = xml->len;
		in = g_bytes_new_take (g_string_free (g_steal_pointer (&xml), FALSE), n);
	}

	g_assert_true (g_file_set_contents (conf_path, conf, -1, NULL));
	proc = hook_spawn (conf_path, NULL, c->op, "begin");
	g_assert_true (g_subprocess_communicate (proc, in, NULL, &out, &err, &error));
	g_assert_no_error (error);
	g_assert_cmpint (g_subprocess_get_exit_status (proc), ==, c->exit_status);
	g_assert_cmpuint (g_bytes_get_size (out), ==, 0);
	err_text = g_strndup (g_bytes_get_size (err) > 0 ? g_bytes_get_data (err, NULL) : "",
			      g_bytes_get_size (err));
	if (c->exit_status == 0) {
		g_assert_cmpstr (err_text, ==, "");
	} else {
		g_assert_true (g_str_has_prefix (err_text, "aleph-confidential: refusing to start domain 'web': "));
		g_assert_nonnull (strstr (err_text, "too large to check"));
		g_assert_null (strstr (err_text, "untag"));
	}
}

int
main (int argc, char **argv)
{
	int rc;
	g_test_init (&argc, &argv, NULL);
	tmpdir = test_util_mkdtemp ("ac-test-hook-XXXXXX");
	for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
		g_autofree gchar *path = g_strdup_printf ("/hook/%s", cases[i].name);
		g_test_add_data_func (path, &cases[i], test_case);
	}
	for (guint i = 0; i < G_N_ELEMENTS (big_cases); i++) {
		g_autofree gchar *path = g_strdup_printf ("/hook/big/%s", big_cases[i].name);
		g_test_add_data_func (path, &big_cases[i], test_big);
	}
	for (guint i = 0; i < G_N_ELEMENTS (config_cases); i++) {
		g_autofree gchar *path = g_strdup_printf ("/hook/config/%s", config_cases[i].name);
		g_test_add_data_func (path, &config_cases[i], test_config_case);
	}
	rc = g_test_run ();
	test_util_rm_rf (tmpdir);
	g_free (tmpdir);
	return rc;
}
