/*
 * aleph-confidential: the devnet's SEV-SNP instances end to end, the CRN side against the real
 * client — aleph-devnet spawned; the owner reads the devnet's default runtime (the ready
 * line's snp.runtime) from the CCN as a client does, computes the expected launch digests
 * (ac_snp_runtime_expected_measurements), publishes a LUKS2 rootfs and an INSTANCE in
 * sev_snp mode, notifies the CRN, finds the guest's agent in the executions list and unlocks
 * it with ac_aleph_snp_attest_unlock() (the devnet's ARK and KDS trusted explicitly): the
 * passphrase reaches the guest and opens the image. A wrong passphrase is counted and the
 * guest waits; a reboot is a new boot. Then every snp-* attack of a VM's boot: the client
 * refuses, and the admin counters show that no secret reached the node.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <gio/gio.h>
#include <string.h>

#include "ac-aleph-client.h"
#include "ac-aleph-message.h"
#include "ac-aleph-util.h"
#include "ac-aleph-snp-attest.h"
#include "ac-aleph-snp-inject.h"
#include "ac-aleph-tee.h"
#include "ac-error.h"
#include "ac-snp-owner.h"
#include "ac-snp-policy.h"
#include "ac-snp-runtime.h"
#include "test-devnet-common.h"

#define PASSPHRASE "correct horse battery staple"
#define VCPUS 2
#define TIMEOUT_MS 15000

typedef struct {
	TestDevnet *d;
	AcEthAccount *account;
	AcCcnClient *ccn;
	AcCrnClient *crnc;
	gchar *vm_hash;
	/* what the owner computed from the runtime */
	gchar *runtime_file; /* the hash of the manifest's file (no message has it) */
	AcSnpRuntime *runtime;
	AcSnpRuntimeMeasurement *ms;
	guint n_ms;
	/* the devnet's SNP trust, given explicitly */
	AcSnpRoots *roots;
	AcSnpCert *ark;
	AcSnpCert *ask;
	AcSnpKds *kds;
} Fixture;

/* GET @url, 200 expected: the body */
static GBytes *
http_get (TestDevnet *d, const gchar *url)
{
	guint status = 0;
	GBytes *body = test_devnet_http (d, "GET", url, &status);
	g_assert_cmpuint (status, ==, 200);
	return body;
}

static JsonNode *
parse_json (GBytes *body)
{
	g_autofree gchar *text = g_strndup (g_bytes_get_data (body, NULL), g_bytes_get_size (body));
	g_autoptr (GError) error = NULL;
	JsonNode *root = json_from_string (text, &error);
	g_assert_no_error (error);
	return root;
}

/* the file a hash names, as the CRN and the client resolve it: a STORE message's file, else
 * a file of that hash */
static GBytes *
fetch_ref (TestDevnet *d, const gchar *hash)
{
	g_autofree gchar *url = g_strdup_printf ("%s/api/v0/messages/%s", d->ccn, hash);
	g_autofree gchar *raw = NULL;
	g_autoptr (GBytes) body = http_get (d, url);
	g_autoptr (JsonNode) root = NULL;
	g_autoptr (JsonNode) content = NULL;
	g_autoptr (GError) error = NULL;
	JsonObject *m;

	root = parse_json (body);
	m = json_object_get_object_member (json_node_get_object (root), "message");
	g_assert_cmpstr (json_object_get_string_member (m, "type"), ==, "STORE");
	content = json_from_string (json_object_get_string_member (m, "item_content"), &error);
	g_assert_no_error (error);
	raw = g_strdup_printf (
	    "%s/api/v0/storage/raw/%s", d->ccn,
	    json_object_get_string_member (json_node_get_object (content), "item_hash"));
	return http_get (d, raw);
}

/* a raw LUKS2 container (header at offset 0), as the image builder makes an SNP rootfs */
static gchar *
make_luks2 (const gchar *dir, const gchar *name, const gchar *cipher)
{
	g_autofree gchar *path = g_build_filename (dir, name, NULL);
	g_autofree gchar *pw = g_build_filename (dir, "pw.txt", NULL);
	g_autoptr (GError) error = NULL;
	gint status = 0;
	const gchar *argv[] = { "cryptsetup",
		                "luksFormat",
		                "--type",
		                "luks2",
		                "--pbkdf",
		                "pbkdf2",
		                "--pbkdf-force-iterations",
		                "1000",
		                "--batch-mode",
		                "--key-file",
		                pw,
		                "--cipher",
		                cipher,
		                path,
		                NULL };
	g_assert_true (g_file_set_contents (pw, PASSPHRASE, -1, &error));
	{
		g_autoptr (GFile) f = g_file_new_for_path (path);
		g_autoptr (GFileOutputStream) out
		    = g_file_replace (f, NULL, FALSE, G_FILE_CREATE_NONE, NULL, &error);
		g_assert_no_error (error);
		g_assert_true (
		    g_seekable_truncate (G_SEEKABLE (out), 20 * 1024 * 1024, NULL, &error));
		g_assert_true (g_output_stream_close (G_OUTPUT_STREAM (out), NULL, &error));
	}
	g_assert_true (g_spawn_sync (NULL, (gchar **)argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL,
	                             NULL, NULL, &status, &error));
	g_assert_no_error (error);
	g_assert_true (g_spawn_check_wait_status (status, &error));
	return g_steal_pointer (&path);
}

/* the STORE of @image then an INSTANCE in sev_snp mode on CRN 0 with the expected digests */
static gchar *
publish (Fixture *f, const gchar *image, const gchar *runtime, guint64 policy)
{
	g_autoptr (GError) error = NULL;
	g_autoptr (AcAlephMessage) store = NULL;
	g_autoptr (AcAlephMessage) inst = NULL;
	g_autoptr (AcMessageInfo) info = NULL;
	g_autoptr (JsonBuilder) b = json_builder_new ();
	g_autoptr (JsonNode) node = NULL;
	g_autofree gchar *cid = NULL;
	g_autofree AcAlephSnpMeasurement *ms = g_new0 (AcAlephSnpMeasurement, f->n_ms);
	gdouble now = (gdouble)(g_get_real_time () / G_USEC_PER_SEC);

	cid = ac_ccn_upload_file (f->ccn, AC_CCN_UPLOAD_STORAGE, image, f->account,
	                          AC_ALEPH_DEFAULT_CHANNEL, &store, NULL, &error);
	g_assert_no_error (error);
	info = ac_ccn_wait_processed (f->ccn, store->item_hash, 10000, NULL, &error);
	g_assert_no_error (error);
	g_clear_pointer (&info, ac_message_info_free);
	for (guint i = 0; i < f->n_ms; i++) {
		ms[i].vcpu_type = f->ms[i].vcpu_type;
		memcpy (ms[i].launch, f->ms[i].launch, sizeof ms[i].launch);
	}
	json_builder_begin_object (b);
	json_builder_set_member_name (b, "address");
	json_builder_add_string_value (b, ac_eth_account_get_address (f->account));
	json_builder_set_member_name (b, "time");
	json_builder_add_double_value (b, now);
	json_builder_set_member_name (b, "allow_amend");
	json_builder_add_boolean_value (b, FALSE);
	json_builder_set_member_name (b, "metadata");
	json_builder_begin_object (b);
	json_builder_set_member_name (b, "name");
	json_builder_add_string_value (b, "devnet-snp-test");
	json_builder_end_object (b);
	json_builder_set_member_name (b, "environment");
	json_builder_begin_object (b);
	json_builder_set_member_name (b, "internet");
	json_builder_add_boolean_value (b, TRUE);
	json_builder_set_member_name (b, "aleph_api");
	json_builder_add_boolean_value (b, TRUE);
	json_builder_set_member_name (b, "hypervisor");
	json_builder_add_string_value (b, "qemu");
	g_assert_true (ac_aleph_tee_add_snp (b, policy, runtime, ms, f->n_ms, &error));
	json_builder_end_object (b);
	json_builder_set_member_name (b, "resources");
	json_builder_begin_object (b);
	json_builder_set_member_name (b, "vcpus");
	json_builder_add_int_value (b, VCPUS);
	json_builder_set_member_name (b, "memory");
	json_builder_add_int_value (b, 2048);
	json_builder_set_member_name (b, "seconds");
	json_builder_add_int_value (b, 30);
	json_builder_end_object (b);
	json_builder_set_member_name (b, "payment");
	json_builder_begin_object (b);
	json_builder_set_member_name (b, "chain");
	json_builder_add_string_value (b, "ETH");
	json_builder_set_member_name (b, "type");
	json_builder_add_string_value (b, "credit");
	json_builder_end_object (b);
	json_builder_set_member_name (b, "requirements");
	json_builder_begin_object (b);
	json_builder_set_member_name (b, "node");
	json_builder_begin_object (b);
	json_builder_set_member_name (b, "node_hash");
	json_builder_add_string_value (b, f->d->crn_hash[0]);
	json_builder_end_object (b);
	json_builder_end_object (b);
	json_builder_set_member_name (b, "rootfs");
	json_builder_begin_object (b);
	json_builder_set_member_name (b, "parent");
	json_builder_begin_object (b);
	json_builder_set_member_name (b, "ref");
	json_builder_add_string_value (b, store->item_hash);
	json_builder_set_member_name (b, "use_latest");
	json_builder_add_boolean_value (b, TRUE);
	json_builder_end_object (b);
	json_builder_set_member_name (b, "persistence");
	json_builder_add_string_value (b, "host");
	json_builder_set_member_name (b, "size_mib");
	json_builder_add_int_value (b, 32);
	json_builder_end_object (b);
	json_builder_end_object (b);
	node = json_builder_get_root (b);
	inst = ac_aleph_message_build ("INSTANCE", node, ac_eth_account_get_address (f->account),
	                               AC_ALEPH_DEFAULT_CHANNEL, now, &error);
	g_assert_no_error (error);
	g_assert_true (test_devnet_publish (f->ccn, f->account, inst, 10000, &error));
	g_assert_no_error (error);
	return g_strdup (inst->item_hash);
}

/* the guest's agent as the executions list maps it */
static guint16
agent_port (Fixture *f, const gchar *vm_hash)
{
	g_autofree gchar *url = g_strdup_printf ("%s/v2/about/executions/list", f->d->crn_url[0]);
	g_autoptr (GBytes) body = http_get (f->d, url);
	g_autoptr (JsonNode) root = NULL;
	g_autoptr (GError) error = NULL;
	JsonObject *e, *net, *ports, *p;
	gint64 host;

	root = parse_json (body);
	e = json_object_get_object_member (json_node_get_object (root), vm_hash);
	g_assert_nonnull (e);
	net = json_object_get_object_member (e, "networking");
	g_assert_cmpstr (json_object_get_string_member (net, "host_ipv4"), ==, "127.0.0.1");
	ports = json_object_get_object_member (net, "mapped_ports");
	g_assert_nonnull (ports);
	p = json_object_get_object_member (ports, "8443");
	g_assert_nonnull (p);
	g_assert_true (json_object_get_boolean_member (p, "tcp"));
	g_assert_false (json_object_get_boolean_member (p, "udp"));
	host = json_object_get_int_member (p, "host");
	g_assert_cmpint (host, >, 0);
	g_assert_cmpint (host, <, 65536);
	return (guint16)host;
}

/* a launch of the owner: the devnet's ARK and ASK, VCEKs from its KDS, the message's policy
 * and the digests computed from the runtime */
static AcSnpOwnerLaunch *
owner_launch (Fixture *f)
{
	g_autoptr (GError) error = NULL;
	g_autofree guint8 *digests = g_malloc0 ((gsize)f->n_ms * AC_SNP_MEASUREMENT_SIZE);
	AcSnpCertSource certs = { .intermediate = f->ask, .ark = f->ark, .kds = f->kds };
	AcSnpVerifyExpect e = { 0 };
	AcSnpOwnerLaunch *l;

	for (guint i = 0; i < f->n_ms; i++)
		memcpy (digests + (gsize)i * AC_SNP_MEASUREMENT_SIZE, f->ms[i].launch,
		        AC_SNP_MEASUREMENT_SIZE);
	ac_snp_verify_policy_init (&e.policy);
	e.policy.have_expected_policy = TRUE;
	e.policy.expected_policy = AC_SNP_POLICY_DEFAULT;
	e.measurements = (const guint8 (*)[AC_SNP_MEASUREMENT_SIZE])digests;
	e.n_measurements = f->n_ms;
	l = ac_snp_owner_launch_new (f->roots, &certs, &e, ac_aleph_snp_inject_sign, f->account,
	                             &error);
	g_assert_no_error (error);
	return l;
}

/* the unlock, as a client does it after discovering the agent */
static gchar **
unlock (Fixture *f, const gchar *passphrase, GError **error)
{
	g_autoptr (AcSnpOwnerLaunch) l = owner_launch (f);
	g_autofree gchar *json = g_strdup_printf ("{\"luks_passphrase\":\"%s\"}", passphrase);
	g_autoptr (GBytes) secrets = g_bytes_new (json, strlen (json));
	return ac_aleph_snp_attest_unlock ("127.0.0.1", agent_port (f, f->vm_hash), l, secrets,
	                                   TIMEOUT_MS, NULL, error);
}

typedef struct {
	gint64 launches, measurements, handshakes, bytes, fresh, inject, released, checks, ok;
} Counters;

static Counters
counters (Fixture *f)
{
	Counters c;
	c.launches = test_devnet_vm_counter (f->d, f->vm_hash, "launches");
	c.measurements = test_devnet_vm_counter (f->d, f->vm_hash, "measurements");
	c.handshakes = test_devnet_vm_counter (f->d, f->vm_hash, "agent_handshakes");
	c.bytes = test_devnet_vm_counter (f->d, f->vm_hash, "agent_bytes");
	c.fresh = test_devnet_vm_counter (f->d, f->vm_hash, "fresh_reports");
	c.inject = test_devnet_vm_counter (f->d, f->vm_hash, "inject_attempts");
	c.released = test_devnet_vm_counter (f->d, f->vm_hash, "secrets_released");
	c.checks = test_devnet_vm_counter (f->d, f->vm_hash, "passphrase_checks");
	c.ok = test_devnet_vm_counter (f->d, f->vm_hash, "passphrase_ok");
	return c;
}

static void
set_attack (Fixture *f, const gchar *attack)
{
	g_autofree gchar *body = g_strdup_printf ("{\"attacks\": {\"0\": \"%s\"}}", attack);
	guint status = 0;
	g_autoptr (JsonNode) n = test_devnet_admin (f->d, "POST", "/admin/knobs", body, &status);
	g_assert_cmpuint (status, ==, 200);
}

static void
reboot (Fixture *f)
{
	g_autoptr (GError) error = NULL;
	g_assert_true (ac_crn_operate (f->crnc, f->vm_hash, "reboot", &error));
	g_assert_no_error (error);
}

static void
fixture_start (Fixture *f)
{
	g_autoptr (GError) error = NULL;
	g_autoptr (GBytes) manifest = NULL;
	g_autoptr (GBytes) bundle = NULL;
	g_autoptr (GBytes) chain = NULL;
	g_autoptr (GBytes) ark_pem = NULL;
	g_autoptr (GPtrArray) certs = NULL;
	g_autoptr (AcSnpRuntime) runtime = NULL;
	g_autofree gchar *chain_url = NULL;
	AcSnpRuntimeFiles files = { 0 };
	JsonObject *snp;
	const gchar *runtime_ref, *kds_url;
	gchar *pem = NULL;
	gsize pem_len = 0;

	f->d = test_devnet_start ("", 1, &error);
	g_assert_no_error (error);
	snp = json_object_get_object_member (json_node_get_object (f->d->ready), "snp");
	runtime_ref = json_object_get_string_member (snp, "runtime");
	kds_url = json_object_get_string_member (snp, "kds");
	g_assert_true (ac_item_hash_is_valid (runtime_ref));

	/* the owner's side: the runtime as the CCN serves it, the digests it implies */
	f->account = ac_eth_account_generate (&error);
	g_assert_no_error (error);
	manifest = fetch_ref (f->d, runtime_ref);
	f->runtime_file
	    = ac_aleph_sha256_hex (g_bytes_get_data (manifest, NULL), g_bytes_get_size (manifest));
	runtime = ac_snp_runtime_parse (g_bytes_get_data (manifest, NULL),
	                                g_bytes_get_size (manifest), &error);
	g_assert_no_error (error);
	g_assert_cmpstr (runtime->cpu_models[0], ==, "EPYC-v4");
	g_assert_cmpuint (runtime->attestation_port, ==, 8443);
	bundle = fetch_ref (f->d, runtime->bundle_ref);
	g_assert_true (ac_snp_runtime_check_bundle (runtime, bundle, &error));
	g_assert_true (ac_snp_runtime_extract (runtime, bundle, &files, &error));
	g_assert_no_error (error);
	g_assert_true (ac_snp_runtime_expected_measurements (
	    runtime, &files, ac_eth_account_get_address (f->account), VCPUS, &f->ms, &f->n_ms,
	    &error));
	g_assert_no_error (error);
	g_assert_cmpuint (f->n_ms, ==, 3);
	ac_snp_runtime_files_clear (&files);

	/* the devnet's SNP trust: its ARK (given), its ASK (from its KDS), VCEKs from its KDS */
	g_assert_true (g_file_get_contents (json_object_get_string_member (snp, "ark"), &pem,
	                                    &pem_len, &error));
	f->ark = ac_snp_cert_parse ((const guint8 *)pem, pem_len, "devnet ARK", &error);
	g_free (pem);
	g_assert_no_error (error);
	chain_url = g_strdup_printf ("%s/vcek/v1/Milan/cert_chain", kds_url);
	chain = http_get (f->d, chain_url);
	certs = ac_snp_cert_parse_all (g_bytes_get_data (chain, NULL), g_bytes_get_size (chain),
	                               "devnet cert_chain", &error);
	g_assert_no_error (error);
	g_assert_cmpuint (certs->len, ==, 2);
	f->ask = ac_snp_cert_ref (g_ptr_array_index (certs, 0));
	f->roots = ac_snp_roots_new ();
	g_assert_true (ac_snp_roots_add_trusted (f->roots, AC_SNP_PRODUCT_MILAN, f->ark, &error));
	f->kds = ac_snp_kds_new (kds_url, NULL, ac_aleph_kds_fetch, f->d->http);

	f->ccn = ac_ccn_client_new (f->d->ccn, f->d->http, &error);
	g_assert_no_error (error);
	ac_ccn_client_set_poll (f->ccn, 20, 100);
	f->crnc = ac_crn_client_new (f->d->crn_url[0], f->account, f->d->http, &error);
	g_assert_no_error (error);
	ac_crn_client_set_poll (f->crnc, 20, 100);
	/* the measurements' vcpu_type point into the runtime: kept */
	f->runtime = g_steal_pointer (&runtime);
}

static void
test_snp_vm (void)
{
	Fixture f = { 0 };
	g_autoptr (GError) error = NULL;
	g_auto (GStrv) injected = NULL;
	g_autofree gchar *image = NULL;
	g_autofree gchar *null_image = NULL;
	const gchar *runtime;
	Counters a, b;
	struct {
		const gchar *attack;
		gint code;
		gboolean in_handshake; /* refused before any application byte */
	} attacks[] = {
		{ "snp-wrong-runtime", AC_ERROR_MISMATCH, TRUE },
		{ "snp-other-chip", AC_ERROR_UNTRUSTED, TRUE },
		{ "snp-tcb-below-floor", AC_ERROR_REFUSED, TRUE },
		{ "snp-debug-policy", AC_ERROR_REFUSED, TRUE },
		{ "snp-wrong-measurement", AC_ERROR_MISMATCH, TRUE },
		{ "snp-relay", AC_ERROR_MISMATCH, TRUE },
		{ "snp-stale-nonce", AC_ERROR_MISMATCH, FALSE },
		/* the fresh report is the certificate's, bound to no nonce */
		{ "snp-replay", AC_ERROR_MISMATCH, FALSE },
		{ "snp-early-ask", AC_ERROR_REMOTE, FALSE },
	};

	fixture_start (&f);
	runtime = json_object_get_string_member (
	    json_object_get_object_member (json_node_get_object (f.d->ready), "snp"), "runtime");

	/* every devnet CRN advertises SEV-SNP */
	{
		g_autoptr (GPtrArray) crns = ac_crn_list_fetch (f.d->http, f.d->crn_list,
		                                                AC_CRN_FILTER_CONFIDENTIAL, &error);
		g_assert_no_error (error);
		g_assert_cmpuint (crns->len, ==, 1);
		g_assert_true (((AcCrnInfo *)g_ptr_array_index (crns, 0))->sev_snp);
	}

	/* a rootfs whose header has another cipher (cipher_null, what a forged header would use,
	 * needs device-mapper to format; the check is the same): the guest's initrd refuses it
	 * before it starts the agent */
	null_image = make_luks2 (f.d->dir, "cbc.img", "aes-cbc-essiv:sha256");
	f.vm_hash = publish (&f, null_image, runtime, AC_SNP_POLICY_DEFAULT);
	g_assert_false (ac_crn_notify_allocation (f.crnc, f.vm_hash, &error));
	g_assert_nonnull (error);
	g_test_message ("aes-cbc rootfs: %s", error->message);
	g_assert_nonnull (strstr (error->message, "aes-xts-plain64"));
	g_clear_error (&error);
	g_free (f.vm_hash);

	/* the instance: notified, its agent found, unlocked */
	image = make_luks2 (f.d->dir, "rootfs.img", "aes-xts-plain64");
	f.vm_hash = publish (&f, image, runtime, AC_SNP_POLICY_DEFAULT);
	g_assert_true (ac_crn_notify_allocation (f.crnc, f.vm_hash, &error));
	g_assert_no_error (error);
	injected = unlock (&f, PASSPHRASE, &error);
	g_assert_no_error (error);
	g_assert_cmpuint (g_strv_length (injected), ==, 1);
	g_assert_cmpstr (injected[0], ==, "luks_passphrase");
	g_clear_pointer (&injected, g_strfreev);
	a = counters (&f);
	g_assert_cmpint (a.launches, ==, 1);
	g_assert_cmpint (a.handshakes, ==, 2);
	g_assert_cmpint (a.fresh, ==, 1);
	/* the certificate's report and the fresh one */
	g_assert_cmpint (a.measurements, ==, 2);
	g_assert_cmpint (a.inject, ==, 1);
	g_assert_cmpint (a.released, ==, 1);
	g_assert_cmpint (a.checks, ==, 1);
	g_assert_cmpint (a.ok, ==, 1);

	/* a wrong passphrase: the agent takes it (200), the guest waits; counted */
	injected = unlock (&f, "not the passphrase", &error);
	g_assert_no_error (error);
	g_clear_pointer (&injected, g_strfreev);
	b = counters (&f);
	g_assert_cmpint (b.checks, ==, a.checks + 1);
	g_assert_cmpint (b.ok, ==, a.ok);
	{
		g_autofree gchar *path = g_strdup_printf ("/admin/vms/%s", f.vm_hash);
		g_autoptr (JsonNode) n = test_devnet_admin (f.d, "GET", path, NULL, NULL);
		JsonObject *vm = json_array_get_object_element (
		    json_object_get_array_member (json_node_get_object (n), "vms"), 0);
		g_assert_nonnull (
		    strstr (json_object_get_string_member (vm, "last_error"), "opens no key slot"));
	}

	/* a reboot: a new boot, a new key; the guest waits for its passphrase again */
	{
		guint16 before = agent_port (&f, f.vm_hash);
		reboot (&f);
		g_test_message ("agent port %u, after the reboot %u", before,
		                agent_port (&f, f.vm_hash));
		injected = unlock (&f, PASSPHRASE, &error);
		g_assert_no_error (error);
		g_clear_pointer (&injected, g_strfreev);
		a = counters (&f);
		g_assert_cmpint (a.launches, ==, 2);
		g_assert_cmpint (a.ok, ==, b.ok + 1);
	}

	/* the references: a runtime named by its file's hash (no message has it) is that file;
	 * a hash of nothing, or of a message that is not a STORE, is refused */
	{
		g_autofree gchar *by_file
		    = publish (&f, image, f.runtime_file, AC_SNP_POLICY_DEFAULT);
		g_autofree gchar *nothing = publish (
		    &f, image, "0000000000000000000000000000000000000000000000000000000000000000",
		    AC_SNP_POLICY_DEFAULT);
		g_autofree gchar *not_store = publish (&f, image, f.vm_hash, AC_SNP_POLICY_DEFAULT);
		g_assert_true (ac_crn_notify_allocation (f.crnc, by_file, &error));
		g_assert_no_error (error);
		g_assert_cmpuint (agent_port (&f, by_file), !=, agent_port (&f, f.vm_hash));
		g_assert_true (ac_crn_operate (f.crnc, by_file, "stop", &error));
		g_assert_no_error (error);
		g_assert_false (ac_crn_notify_allocation (f.crnc, nothing, &error));
		g_test_message ("runtime of nothing: %s", error->message);
		g_assert_nonnull (strstr (error->message, "neither a message nor a file"));
		g_clear_error (&error);
		g_assert_false (ac_crn_notify_allocation (f.crnc, not_store, &error));
		g_test_message ("runtime an INSTANCE: %s", error->message);
		g_assert_nonnull (strstr (error->message, "expected a processed STORE"));
		g_clear_error (&error);
	}
	/* a manifest whose bundle digest is not the bundle's: refused before any extraction */
	{
		g_autoptr (GBytes) manifest = fetch_ref (f.d, runtime);
		g_autofree gchar *text
		    = g_strndup (g_bytes_get_data (manifest, NULL), g_bytes_get_size (manifest));
		g_autofree gchar *sha
		    = g_strdup_printf ("\"sha256\":\"%.64s\"", strstr (text, "\"sha256\":\"") + 10);
		g_autofree gchar *zeros
		    = g_strdup_printf ("\"sha256\":\"%s\"", "00000000000000000000000000000000"
		                                            "00000000000000000000000000000000");
		g_auto (GStrv) parts = g_strsplit (text, sha, 2);
		g_autofree gchar *forged = g_strjoinv (zeros, parts);
		g_autofree gchar *path = g_build_filename (f.d->dir, "forged-manifest.json", NULL);
		g_autofree gchar *forged_hash = NULL;
		g_autofree gchar *vm = NULL;
		g_autoptr (AcAlephMessage) store = NULL;
		g_autoptr (AcMessageInfo) info = NULL;
		g_assert_cmpuint (g_strv_length (parts), ==, 2);
		g_assert_true (g_file_set_contents (path, forged, -1, &error));
		forged_hash = ac_ccn_upload_file (f.ccn, AC_CCN_UPLOAD_STORAGE, path, f.account,
		                                  AC_ALEPH_DEFAULT_CHANNEL, &store, NULL, &error);
		g_assert_no_error (error);
		info = ac_ccn_wait_processed (f.ccn, store->item_hash, 10000, NULL, &error);
		g_assert_no_error (error);
		vm = publish (&f, image, store->item_hash, AC_SNP_POLICY_DEFAULT);
		g_assert_false (ac_crn_notify_allocation (f.crnc, vm, &error));
		g_test_message ("forged bundle digest: %s", error->message);
		g_assert_nonnull (strstr (error->message, "SHA-256"));
		g_clear_error (&error);
	}

	/* each attack on the VM's boot: the client refuses, no secret reaches the node */
	for (guint i = 0; i < G_N_ELEMENTS (attacks); i++) {
		set_attack (&f, attacks[i].attack);
		reboot (&f);
		a = counters (&f);
		injected = unlock (&f, PASSPHRASE, &error);
		g_assert_null (injected);
		g_assert_nonnull (error);
		g_test_message ("%s: refused: %s", attacks[i].attack, error->message);
		g_assert_error (error, AC_ERROR, attacks[i].code);
		g_clear_error (&error);
		b = counters (&f);
		g_assert_cmpint (b.inject, ==, a.inject);
		g_assert_cmpint (b.released, ==, a.released);
		g_assert_cmpint (b.checks, ==, a.checks);
		g_assert_cmpint (b.ok, ==, a.ok);
		if (attacks[i].in_handshake) {
			g_assert_cmpint (b.bytes, ==, a.bytes);
			g_assert_cmpint (b.handshakes, ==, a.handshakes);
		}
		set_attack (&f, "none");
	}

	/* honest again */
	reboot (&f);
	a = counters (&f);
	injected = unlock (&f, PASSPHRASE, &error);
	g_assert_no_error (error);
	g_clear_pointer (&injected, g_strfreev);
	b = counters (&f);
	g_assert_cmpint (b.ok, ==, a.ok + 1);

	g_assert_cmpint (test_devnet_stop (f.d), ==, 0);
	g_free (f.vm_hash);
	g_free (f.ms);
	g_free (f.runtime_file);
	ac_snp_runtime_free (f.runtime);
	ac_snp_kds_free (f.kds);
	ac_snp_roots_unref (f.roots);
	ac_snp_cert_unref (f.ark);
	ac_snp_cert_unref (f.ask);
	ac_crn_client_free (f.crnc);
	ac_ccn_client_free (f.ccn);
	ac_eth_account_free (f.account);
	test_devnet_free (f.d);
}

int
main (int argc, char **argv)
{
	g_test_init (&argc, &argv, NULL);
	g_test_add_func ("/devnet/snp-vm/unlock-and-attacks", test_snp_vm);
	return g_test_run ();
}
