/*
 * aleph-confidential: the Aleph flow's steps below the root-only integration suite — the
 * pre-flight, the image's STORE, the CRN and the INSTANCE driven against an in-process devnet
 * (devnet/ac-devnet.h, served by a thread) through the HTTP client, without libvirt and
 * without root; the attest step's refusals before any session or secret; and the CRN
 * client's class for a launch that runs already.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>

#include "ac-aleph-client.h"
#include "ac-devnet.h"
#include "ac-error.h"
#include "ac-tar.h"
#include "ac-snp-runtime.h"
#include "ac-codec.h"
#include "ac-pipeline-private.h"
#include "ac-sev-chain.h"
#include "ac-sev-session.h"

#define UUID "3c5ee1d6-5a38-4d2f-8b5b-2f0c1b3f8d11"

/* ---- the devnet, served by its own thread ---- */

typedef struct {
	gchar *dir;
	AcDevnet *devnet;
	GThread *thread;
	GMainLoop *loop;
	GMutex lock;
	GCond cond;
	gboolean started;
	GError *error;
	JsonNode *ready;
	const gchar *ccn;
	const gchar *crn_url;
	const gchar *crn_hash;
	const gchar *fw_ref;
	const gchar *fw_sha256;
	const gchar *ark;
	const gchar *sev_only_hash; /* the second CRN: no SEV-SNP */
	const gchar *snp_runtime;   /* the devnet's SEV-SNP runtime (its manifest's STORE) */
	AcEthAccount *poor;         /* no credit */
} Net;

static Net net;

/* The devnet's timers use the global default context: this thread runs it, the tests never. */
static gpointer
devnet_thread (gpointer data)
{
	Net *n = data;
	gboolean ok = ac_devnet_start (n->devnet, &n->error);

	g_mutex_lock (&n->lock);
	n->started = TRUE;
	g_cond_signal (&n->cond);
	g_mutex_unlock (&n->lock);
	if (ok)
		g_main_loop_run (n->loop);
	ac_devnet_stop (n->devnet);
	return NULL;
}

static void
net_start (void)
{
	g_autoptr (GError) error = NULL;
	g_autofree gchar *config = NULL;
	g_autofree gchar *line = NULL;
	JsonObject *o, *crn;

	net.dir = g_dir_make_tmp ("test-pipeline-XXXXXX", &error);
	g_assert_no_error (error);
	net.poor = ac_eth_account_generate (&error);
	g_assert_no_error (error);
	config = g_strdup_printf ("{\"state_dir\": \"devnet\", \"crns\": [{}, {\"snp\": false}], "
	                          "\"credits\": {\"%s\": 0}}",
	                          ac_eth_account_get_address (net.poor));
	net.devnet = ac_devnet_new_from_json (config, net.dir, &error);
	g_assert_no_error (error);
	net.loop = g_main_loop_new (NULL, FALSE);
	g_mutex_init (&net.lock);
	g_cond_init (&net.cond);
	net.thread = g_thread_new ("devnet", devnet_thread, &net);
	g_mutex_lock (&net.lock);
	while (!net.started)
		g_cond_wait (&net.cond, &net.lock);
	g_mutex_unlock (&net.lock);
	g_assert_no_error (net.error);

	line = ac_devnet_get_ready_line (net.devnet);
	net.ready = json_from_string (line, &error);
	g_assert_no_error (error);
	o = json_node_get_object (net.ready);
	net.ccn = json_object_get_string_member (o, "ccn");
	crn = json_array_get_object_element (json_object_get_array_member (o, "crns"), 0);
	net.crn_url = json_object_get_string_member (crn, "url");
	net.crn_hash = json_object_get_string_member (crn, "hash");
	net.sev_only_hash = json_object_get_string_member (
	    json_array_get_object_element (json_object_get_array_member (o, "crns"), 1), "hash");
	net.snp_runtime
	    = json_object_get_string_member (json_object_get_object_member (o, "snp"), "runtime");
	net.ark = json_object_get_string_member (json_object_get_object_member (o, "trust_root"),
	                                         "ark");
	net.fw_ref = json_object_get_string_member (json_object_get_object_member (o, "firmware"),
	                                            "item_hash");
	net.fw_sha256 = json_object_get_string_member (
	    json_object_get_object_member (o, "firmware"), "sha256");
}

static gboolean
remove_tree (const gchar *path)
{
	g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
	const gchar *name;
	while (dir != NULL && (name = g_dir_read_name (dir)) != NULL) {
		g_autofree gchar *child = g_build_filename (path, name, NULL);
		if (g_file_test (child, G_FILE_TEST_IS_DIR)
		    && !g_file_test (child, G_FILE_TEST_IS_SYMLINK))
			remove_tree (child);
		else
			(void)g_unlink (child);
	}
	return g_rmdir (path) == 0;
}

static void
net_stop (void)
{
	g_main_loop_quit (net.loop);
	g_thread_join (net.thread);
	g_main_loop_unref (net.loop);
	ac_devnet_free (net.devnet);
	json_node_unref (net.ready);
	ac_eth_account_free (net.poor);
	remove_tree (net.dir);
	g_free (net.dir);
}

/* ---- one domain's flow, with a context as ac_pipeline_run makes it (no libvirt) ---- */

typedef struct {
	AcPipelineConfig *config;
	AcPipeline p;
	gchar *dir;
} Flow;

/* @account: NULL for a new one (with the devnet's default balance); @publish: the attributes
 * of <aleph:publish> besides api and crn */
static Flow *
flow_new_tee (AcEthAccount *account, const gchar *tee, const gchar *publish)
{
	Flow *f = g_new0 (Flow, 1);
	g_autoptr (GError) error = NULL;
	g_autoptr (AcEthAccount) fresh = account == NULL ? ac_eth_account_generate (&error) : NULL;
	g_autofree gchar *image = NULL;
	g_autofree gchar *data = NULL;

	f->dir = g_build_filename (net.dir, "flow-XXXXXX", NULL);
	g_assert_nonnull (g_mkdtemp (f->dir));
	f->config = ac_pipeline_config_new ();
	g_free (f->config->state_dir);
	f->config->state_dir = g_build_filename (f->dir, "state", NULL);
	f->config->key_file = g_build_filename (f->dir, "ethereum.key", NULL);
	f->config->poll_first_ms = 20;
	f->config->poll_max_ms = 200;
	f->config->timeout_s = 30;
	g_assert_no_error (error);
	g_assert_true (ac_eth_account_save_key_file (account != NULL ? account : fresh,
	                                             f->config->key_file, &error));
	g_assert_no_error (error);

	f->p.config = f->config;
	f->p.name = g_strdup ("web");
	f->p.uuid = g_strdup (UUID);
	f->p.xml = g_strdup_printf (
	    "<domain type='qemu'><name>web</name><uuid>" UUID "</uuid><metadata>"
	    "<aleph:confidential xmlns:aleph='https://aleph.cloud/ns/libvirt/confidential/1'>"
	    "<aleph:disk dev='vdb'/>%s"
	    "<aleph:publish api='%s' crn='%s' %s/>"
	    "</aleph:confidential></metadata>"
	    "<memory unit='KiB'>1048576</memory><vcpu>2</vcpu>"
	    "<os><type arch='x86_64'>hvm</type></os><devices>"
	    "<disk type='file' device='disk'><source file='/nonexistent/data.img'/>"
	    "<target dev='vdb' bus='virtio'/></disk></devices></domain>",
	    tee, net.ccn, net.crn_hash, publish);
	f->p.domain = ac_domain_parse (f->p.xml, -1, &error);
	g_assert_no_error (error);
	f->p.tag = f->p.domain->tag;
	g_assert_nonnull (f->p.tag);
	f->p.state = ac_state_load (f->config->state_dir, UUID, &error);
	g_assert_no_error (error);
	f->p.status = ac_status_new ();

	/* what the build step leaves: the image, its size */
	image = g_build_filename (f->dir, "web.img", NULL);
	data = g_strnfill (300 * 1024, 'x');
	memcpy (data, f->dir, strlen (f->dir)); /* an image of its own per flow */
	g_assert_true (g_file_set_contents (image, data, 300 * 1024, NULL));
	ac_state_set_string (f->p.state, "build", "image", image);
	ac_state_set_int (f->p.state, "build", "size", 300 * 1024);
	ac_state_mark_done (f->p.state, "build");
	return f;
}

static Flow *
flow_new (AcEthAccount *account, const gchar *publish)
{
	g_autofree gchar *tee
	    = g_strdup_printf ("<aleph:sev policy='0x1'/><aleph:firmware sha256='%s' ref='%s'/>",
	                       net.fw_sha256, net.fw_ref);
	return flow_new_tee (account, tee, publish);
}

static void
flow_free (Flow *f)
{
	ac_pipeline_clear (&f->p);
	ac_pipeline_config_free (f->config);
	g_free (f->dir);
	g_free (f);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Flow, flow_free)

/* The same domain's state as a restarted service finds it on disk. */
static void
flow_reload_state (Flow *f)
{
	g_autoptr (GError) error = NULL;
	ac_state_free (f->p.state);
	f->p.state = ac_state_load (f->config->state_dir, UUID, &error);
	g_assert_no_error (error);
}

/* The messages of @type the CCN holds from the flow's account. */
static guint
count_messages (Flow *f, const gchar *type)
{
	const gchar *addresses[] = { ac_eth_account_get_address (f->p.account), NULL };
	g_autoptr (GError) error = NULL;
	g_autoptr (GPtrArray) msgs = NULL;
	guint total = 0;
	msgs
	    = ac_ccn_query_messages (f->p.ccn, NULL, type, addresses, NULL, 1, 200, &total, &error);
	g_assert_no_error (error);
	return msgs->len;
}

/* ---- pre-flight ---- */

static void
test_preflight_ok (void)
{
	g_autoptr (Flow) f = flow_new (NULL, "payment='credit'");
	g_autoptr (GError) error = NULL;

	g_assert_true (ac_pipeline_preflight_step (&f->p, &error));
	g_assert_no_error (error);
	/* the CRN of the tag is chosen, recorded for the resume and shown in the status */
	g_assert_true (ac_state_step_done (f->p.state, "crn"));
	g_assert_cmpstr (ac_state_get_string (f->p.state, "crn", "hash"), ==, net.crn_hash);
	g_assert_cmpstr (ac_state_get_string (f->p.state, "crn", "url"), ==, net.crn_url);
	g_assert_cmpstr (f->p.status->crn, ==, net.crn_hash);
	flow_reload_state (f);
	g_assert_cmpstr (ac_state_get_string (f->p.state, "crn", "hash"), ==, net.crn_hash);
	/* nothing is published by the pre-flight */
	g_assert_cmpuint (count_messages (f, "STORE"), ==, 0);
	g_assert_cmpuint (count_messages (f, "INSTANCE"), ==, 0);
}

static void
test_preflight_insufficient_credit (void)
{
	g_autoptr (Flow) f = flow_new (net.poor, "payment='credit'");
	g_autoptr (GError) error = NULL;

	g_assert_false (ac_pipeline_preflight_step (&f->p, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_REFUSED);
	/* both numbers and the account, so the user knows what to add */
	g_assert_nonnull (strstr (error->message, ac_eth_account_get_address (net.poor)));
	g_assert_nonnull (strstr (error->message, "has 0 credits"));
	g_assert_nonnull (strstr (error->message, "add credits"));
	g_assert_cmpuint (count_messages (f, "STORE"), ==, 0);
	g_assert_cmpuint (count_messages (f, "INSTANCE"), ==, 0);
	g_assert_null (ac_state_get_string (f->p.state, "instance", "message"));
}

static void
test_preflight_refused_payment (void)
{
	g_autoptr (Flow) f = flow_new (NULL, "payment='hold'");
	g_autoptr (GError) error = NULL;

	/* the network's rules refuse an INSTANCE paid by hold today: before any request */
	g_assert_false (ac_pipeline_preflight_step (&f->p, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
	g_assert_true (g_str_has_prefix (error->message, "<aleph:publish payment='hold'>: "));
	g_assert_null (f->p.ccn);
	g_assert_false (ac_state_step_done (f->p.state, "crn"));
}

/* An SEV-SNP tag is never published as an SEV instance: the flow stops before anything is
 * built or posted, and a named CRN without sev_snp is refused */
/* the SNP pre-flight: a runtime needed, an SEV-only CRN refused, the runtime fetched and
 * measured here, and the sev_snp INSTANCE made of it — before anything is built */
static void
test_snp_preflight (void)
{
	g_autoptr (GError) error = NULL;

	{
		/* no runtime in the tag nor in the configuration: named, before anything is built
		 */
		g_autoptr (Flow) f = flow_new_tee (NULL, "<aleph:sev type='snp' policy='0x30000'/>",
		                                   "payment='credit'");
		g_assert_cmpint (f->p.tag->tee, ==, AC_TEE_SNP);
		g_assert_false (ac_pipeline_preflight_step (&f->p, &error));
		g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
		g_assert_nonnull (strstr (error->message, "needs the runtime it boots"));
		g_assert_nonnull (strstr (error->message, "[pipeline] snp-runtime"));
		g_clear_error (&error);
	}
	{
		/* a CRN without SEV-SNP, named: refused, never an SEV instance made of the tag */
		g_autoptr (Flow) f = flow_new_tee (NULL, "<aleph:sev type='snp' policy='0x30000'/>",
		                                   "payment='credit'");
		f->config->snp_runtime = g_strdup (net.snp_runtime);
		g_free (f->p.tag->publish->crn);
		f->p.tag->publish->crn = g_strdup (net.sev_only_hash);
		g_assert_false (ac_pipeline_preflight_step (&f->p, &error));
		g_assert_error (error, AC_ERROR, AC_ERROR_REFUSED);
		g_assert_nonnull (strstr (error->message, "does not advertise SEV-SNP"));
		g_clear_error (&error);
		g_assert_false (ac_state_step_done (f->p.state, "crn"));
		g_assert_false (ac_state_step_done (f->p.state, "runtime"));
		g_assert_cmpuint (count_messages (f, "STORE"), ==, 0);
		g_assert_cmpuint (count_messages (f, "INSTANCE"), ==, 0);
	}
	{
		/* a runtime reference that is a STORE of something else (the SEV firmware, 2 MiB)
		 */
		g_autofree gchar *tee
		    = g_strdup_printf ("<aleph:sev type='snp' runtime='%s'/>", net.fw_ref);
		g_autoptr (Flow) f = flow_new_tee (NULL, tee, "payment='credit'");
		g_assert_false (ac_pipeline_preflight_step (&f->p, &error));
		/* a manifest is at most 64 KiB: the firmware is not read whole */
		g_assert_error (error, AC_ERROR, AC_ERROR_REMOTE);
		g_assert_true (g_str_has_prefix (error->message, "runtime manifest "));
		g_assert_nonnull (strstr (error->message, net.fw_ref));
		g_assert_nonnull (strstr (error->message, "exceeds 65536 bytes"));
		g_clear_error (&error);
		g_assert_false (ac_state_step_done (f->p.state, "runtime"));
	}
	{
		g_autoptr (Flow) f = flow_new_tee (NULL, "<aleph:sev type='snp' policy='0x30000'/>",
		                                   "payment='credit'");
		g_autoptr (JsonNode) content = NULL;
		g_autoptr (AcAlephMessage) msg = NULL;
		JsonObject *te, *m0;
		JsonArray *ms;
		JsonObject *rt;

		f->config->snp_runtime = g_strdup (net.snp_runtime);
		g_assert_true (ac_pipeline_preflight_step (&f->p, &error));
		g_assert_no_error (error);
		g_assert_cmpstr (ac_state_get_string (f->p.state, "crn", "hash"), ==, net.crn_hash);
		/* the runtime measured for this account and the domain's vCPUs */
		g_assert_true (ac_state_step_done (f->p.state, "runtime"));
		g_assert_cmpstr (ac_state_get_string (f->p.state, "runtime", "ref"), ==,
		                 net.snp_runtime);
		g_assert_cmpstr (ac_state_get_string (f->p.state, "runtime", "owner"), ==,
		                 ac_eth_account_get_address (f->p.account));
		g_assert_cmpint (ac_state_get_int (f->p.state, "runtime", "port"), ==, 8443);
		rt = ac_state_get_step (f->p.state, "runtime");
		g_assert_cmpuint (
		    json_array_get_length (json_object_get_array_member (rt, "measurements")), ==,
		    3);
		/* the INSTANCE: sev_snp, the runtime, the digests; validated as every message is */
		content = ac_pipeline_instance_content (&f->p, &error);
		g_assert_no_error (error);
		te = json_object_get_object_member (
		    json_object_get_object_member (json_node_get_object (content), "environment"),
		    "trusted_execution");
		g_assert_cmpstr (json_object_get_string_member (te, "mode"), ==, "sev_snp");
		g_assert_cmpint (json_object_get_int_member (te, "policy"), ==, 0x30000);
		g_assert_cmpstr (json_object_get_string_member (te, "runtime"), ==,
		                 net.snp_runtime);
		g_assert_true (!json_object_has_member (te, "firmware")
		               || json_object_get_null_member (te, "firmware"));
		ms = json_object_get_array_member (te, "measurements");
		g_assert_cmpuint (json_array_get_length (ms), ==, 3);
		m0 = json_array_get_object_element (ms, 0);
		g_assert_cmpstr (json_object_get_string_member (m0, "vcpu_type"), ==, "EPYC-v4");
		g_assert_cmpstr (json_object_get_string_member (
		                     json_object_get_object_member (m0, "registers"), "launch"),
		                 ==,
		                 json_object_get_string_member (
		                     json_array_get_object_element (
		                         json_object_get_array_member (rt, "measurements"), 0),
		                     "launch"));
		/* the image's STORE comes later: a placeholder, as the pricing uses */
		{
			JsonObject *rootfs = json_object_get_object_member (
			    json_node_get_object (content), "rootfs");
			json_object_set_string_member (
			    json_object_get_object_member (rootfs, "parent"), "ref",
			    "0000000000000000000000000000000000000000000000000000"
			    "000000000000");
			json_object_set_int_member (rootfs, "size_mib", 1);
		}
		msg = ac_aleph_message_build ("INSTANCE", content,
		                              ac_eth_account_get_address (f->p.account), "TEST",
		                              1700000000.0, &error);
		g_assert_no_error (error);
		g_assert_nonnull (msg);
		/* nothing built or published yet */
		g_assert_cmpuint (count_messages (f, "STORE"), ==, 0);
		/* the same tag and account: not fetched again */
		g_assert_true (ac_pipeline_snp_runtime_step (&f->p, &error));
		g_assert_no_error (error);
	}
}

/* a runtime the user made of their own files (virt-aleph snp make-runtime's bundle and
 * manifest: lib/ac-tar.h, ac_snp_runtime_to_json) and published as two storage STOREs runs
 * through the runtime step: the launch digests are those of the files, for this account */
static GBytes *
snp_vector (const gchar *name)
{
	g_autofree gchar *path
	    = g_test_build_filename (G_TEST_DIST, "data", "snp", "sev-snp-measure", name, NULL);
	g_autoptr (GError) error = NULL;
	gchar *data = NULL;
	gsize len = 0;
	g_assert_true (g_file_get_contents (path, &data, &len, &error));
	return g_bytes_new_take (data, len);
}

static gchar *
publish_storage (Flow *f, const gchar *name, const void *data, gsize len)
{
	g_autofree gchar *path = g_build_filename (f->dir, name, NULL);
	g_autoptr (GError) error = NULL;
	g_autoptr (AcAlephMessage) store = NULL;
	g_autoptr (AcMessageInfo) info = NULL;
	g_autofree gchar *hash = NULL;

	g_assert_true (g_file_set_contents (path, data, (gssize)len, &error));
	hash = ac_ccn_upload_file (f->p.ccn, AC_CCN_UPLOAD_STORAGE, path, f->p.account, "TEST",
	                           &store, NULL, &error);
	g_assert_no_error (error);
	g_assert_nonnull (store);
	info = ac_ccn_wait_processed (f->p.ccn, store->item_hash, 30000, NULL, &error);
	g_assert_no_error (error);
	return g_strdup (store->item_hash);
}

static void
test_snp_own_runtime (void)
{
	g_autoptr (Flow) f = flow_new_tee (NULL, "<aleph:sev type='snp'/>", "payment='credit'");
	g_autoptr (GError) error = NULL;
	GBytes *files[] = { snp_vector ("fixtures/ovmf_AmdSev_suffix.bin"),
		            snp_vector ("inputs/kernel.bin"), snp_vector ("inputs/initrd.bin") };
	const gchar *members[] = { "ovmf/OVMF.fd", "boot/vmlinuz", "boot/initrd.img" };
	gchar *models[] = { (gchar *)"EPYC-Milan", NULL };
	g_autoptr (GBytes) bundle = ac_tar_gz_write (members, files, 3, &error);
	g_autofree gchar *sha = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, bundle);
	AcSnpRuntime rt = { .bundle_ref = sha,
		            .bundle_size = g_bytes_get_size (bundle),
		            .member_ovmf = (gchar *)members[0],
		            .member_kernel = (gchar *)members[1],
		            .member_initrd = (gchar *)members[2],
		            .cpu_models = models,
		            .cmdline_template = (gchar *)"console=ttyS0 owner={owner}",
		            .attestation_port = 9443 };
	g_autofree gchar *manifest = NULL;
	g_autofree gchar *runtime = NULL;
	g_autofree gchar *want_hex = NULL;
	g_autofree AcSnpRuntimeMeasurement *want = NULL;
	AcSnpRuntimeFiles rf = { files[0], files[1], files[2] };
	JsonArray *ms;
	guint n = 0;

	g_assert_no_error (error);
	g_assert_true (ac_codec_hex_decode_fixed ("sha", sha, AC_CODEC_HEX_LOWER, rt.bundle_sha256,
	                                          32, &error));
	manifest = ac_snp_runtime_to_json (&rt);
	g_assert_true (ac_pipeline_ensure_clients (&f->p, &error));
	g_assert_no_error (error);
	g_free (publish_storage (f, "bundle.tar.gz", g_bytes_get_data (bundle, NULL),
	                         g_bytes_get_size (bundle)));
	runtime = publish_storage (f, "manifest.json", manifest, strlen (manifest));
	f->config->snp_runtime = g_strdup (runtime);

	g_assert_true (ac_pipeline_preflight_step (&f->p, &error));
	g_assert_no_error (error);
	g_assert_cmpint (ac_state_get_int (f->p.state, "runtime", "port"), ==, 9443);
	ms = json_object_get_array_member (ac_state_get_step (f->p.state, "runtime"),
	                                   "measurements");
	g_assert_cmpuint (json_array_get_length (ms), ==, 1);
	g_assert_true (ac_snp_runtime_expected_measurements (
	    &rt, &rf, ac_eth_account_get_address (f->p.account), 2, &want, &n, &error));
	want_hex = ac_codec_hex_encode (want[0].launch, AC_SNP_LD_SIZE);
	g_assert_cmpstr (
	    json_object_get_string_member (json_array_get_object_element (ms, 0), "launch"), ==,
	    want_hex);
	for (guint i = 0; i < 3; i++)
		g_bytes_unref (files[i]);
}

static void
test_preflight_old_ccn (void)
{
	g_autoptr (Flow) f = flow_new (NULL, "payment='credit'");
	g_autoptr (GError) error = NULL;

	g_free (f->config->min_ccn_version);
	f->config->min_ccn_version = g_strdup ("999.0");
	g_assert_false (ac_pipeline_preflight_step (&f->p, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_REFUSED);
	/* names the tag's API and the setting that asks for more */
	g_assert_nonnull (strstr (error->message, "[pipeline] min-ccn-version=999.0"));
	g_assert_nonnull (strstr (error->message, net.ccn));
}

/* ---- STORE, CRN, INSTANCE ---- */

static void
test_store_instance (void)
{
	g_autoptr (Flow) f = flow_new (NULL, "payment='credit' storePayment='credit'");
	g_autoptr (GError) error = NULL;
	g_autoptr (AcMessageInfo) info = NULL;
	g_autoptr (JsonNode) content = NULL;
	g_autofree gchar *store_hash = NULL;
	g_autofree gchar *instance_hash = NULL;
	g_autofree gchar *cid = NULL;
	g_autofree gchar *saved = NULL;
	JsonObject *o;

	g_assert_true (ac_pipeline_preflight_step (&f->p, &error));
	g_assert_no_error (error);
	g_assert_true (ac_pipeline_publish_step_store (&f->p, NULL, &error));
	g_assert_no_error (error);
	/* saved for the resume, and shown in the status */
	g_assert_true (ac_state_step_done (f->p.state, "store"));
	cid = g_strdup (ac_state_get_string (f->p.state, "store", "cid"));
	store_hash = g_strdup (ac_state_get_string (f->p.state, "store", "hash"));
	g_assert_nonnull (cid);
	g_assert_nonnull (store_hash);
	g_assert_cmpstr (f->p.status->image_cid, ==, cid);
	g_assert_cmpstr (f->p.status->store_hash, ==, store_hash);
	/* the STORE the CCN holds is ours, of the image's CID */
	info = ac_ccn_get_message (f->p.ccn, store_hash, &error);
	g_assert_no_error (error);
	g_assert_nonnull (info->message);
	g_assert_cmpstr (info->message->sender, ==, ac_eth_account_get_address (f->p.account));
	content = ac_aleph_message_get_content (info->message, &error);
	g_assert_no_error (error);
	g_assert_cmpstr (
	    json_object_get_string_member (json_node_get_object (content), "item_hash"), ==, cid);
	g_assert_cmpuint (count_messages (f, "STORE"), ==, 1);
	g_clear_pointer (&info, ac_message_info_free);
	g_clear_pointer (&content, json_node_unref);

	/* a run killed after the upload, before it recorded the STORE: the resume finds the
	 * STORE on the CCN and never uploads a second one */
	ac_state_reset_step (f->p.state, "store");
	ac_state_set_string (f->p.state, "store", "cid", cid);
	g_assert_true (ac_pipeline_save (&f->p, &error));
	flow_reload_state (f);
	g_assert_true (ac_pipeline_publish_step_store (&f->p, NULL, &error));
	g_assert_no_error (error);
	g_assert_cmpstr (ac_state_get_string (f->p.state, "store", "hash"), ==, store_hash);
	g_assert_cmpuint (count_messages (f, "STORE"), ==, 1);

	g_assert_true (ac_pipeline_publish_step_crn (&f->p, &error));
	g_assert_true (ac_pipeline_instance_step (&f->p, NULL, &error));
	g_assert_no_error (error);
	/* the signed INSTANCE is saved, posted, processed */
	g_assert_true (ac_state_step_done (f->p.state, "instance"));
	g_assert_true (ac_state_get_bool (f->p.state, "instance", "posted"));
	g_assert_nonnull (ac_state_get_string (f->p.state, "instance", "message"));
	instance_hash = g_strdup (ac_state_get_string (f->p.state, "instance", "hash"));
	g_assert_cmpstr (f->p.status->instance_hash, ==, instance_hash);
	info = ac_ccn_get_message (f->p.ccn, instance_hash, &error);
	g_assert_no_error (error);
	g_assert_cmpint (info->status, ==, AC_MESSAGE_STATUS_PROCESSED);
	/* what the CRN runs: the image, on the chosen node, with the domain's resources */
	content = ac_aleph_message_get_content (info->message, &error);
	g_assert_no_error (error);
	o = json_node_get_object (content);
	g_assert_cmpstr (json_object_get_string_member (
	                     json_object_get_object_member (
	                         json_object_get_object_member (o, "rootfs"), "parent"),
	                     "ref"),
	                 ==, store_hash);
	g_assert_cmpstr (json_object_get_string_member (
	                     json_object_get_object_member (
	                         json_object_get_object_member (o, "requirements"), "node"),
	                     "node_hash"),
	                 ==, net.crn_hash);
	g_assert_cmpint (
	    json_object_get_int_member (json_object_get_object_member (o, "resources"), "vcpus"),
	    ==, 2);
	g_assert_cmpint (
	    json_object_get_int_member (json_object_get_object_member (o, "resources"), "memory"),
	    ==, 1024);
	g_assert_cmpint (
	    json_object_get_int_member (
	        json_object_get_object_member (json_object_get_object_member (o, "environment"),
	                                       "trusted_execution"),
	        "policy"),
	    ==, 1);
	g_assert_cmpstr (
	    json_object_get_string_member (json_object_get_object_member (o, "payment"), "type"),
	    ==, "credit");
	g_assert_cmpuint (count_messages (f, "INSTANCE"), ==, 1);

	/* killed after posting, before the CCN processed it: the resume posts the very same
	 * INSTANCE (same item hash), never a second one */
	saved = g_strdup (ac_state_get_string (f->p.state, "instance", "message"));
	ac_state_reset_step (f->p.state, "instance");
	ac_state_set_string (f->p.state, "instance", "message", saved);
	ac_state_set_string (f->p.state, "instance", "hash", instance_hash);
	g_assert_true (ac_pipeline_save (&f->p, &error));
	flow_reload_state (f);
	g_assert_true (ac_pipeline_instance_step (&f->p, NULL, &error));
	g_assert_no_error (error);
	g_assert_cmpstr (ac_state_get_string (f->p.state, "instance", "hash"), ==, instance_hash);
	g_assert_cmpuint (count_messages (f, "INSTANCE"), ==, 1);

	/* the CRN is told, then a launch that runs already is a class of its own */
	g_assert_true (ac_pipeline_publish_step_notify (&f->p, &error));
	g_assert_no_error (error);
	g_assert_true (ac_state_step_done (f->p.state, "notify"));
	{
		g_autoptr (AcCrnClient) crn = ac_pipeline_crn_client (&f->p, &error);
		g_autoptr (GBytes) certs = NULL;
		g_autoptr (AcSevChain) chain = NULL;
		g_autoptr (AcSevSession) session = NULL;
		g_autofree gchar *godh = NULL, *blob = NULL;
		g_autoptr (GBytes) godh_b = NULL, blob_b = NULL;

		g_assert_no_error (error);
		certs = ac_crn_get_certificates (crn, &error);
		g_assert_no_error (error);
		chain = ac_sev_chain_parse (g_bytes_get_data (certs, NULL),
		                            g_bytes_get_size (certs), &error);
		g_assert_no_error (error);
		session = ac_sev_session_new (ac_sev_chain_get_pdh (chain), 1, &error);
		g_assert_no_error (error);
		godh = ac_sev_session_get_godh_b64 (session);
		blob = ac_sev_session_get_blob_b64 (session);
		godh_b = g_bytes_new (godh, strlen (godh));
		blob_b = g_bytes_new (blob, strlen (blob));
		g_assert_true (
		    ac_crn_confidential_initialize (crn, instance_hash, blob_b, godh_b, &error));
		g_assert_no_error (error);
		g_assert_false (
		    ac_crn_confidential_initialize (crn, instance_hash, blob_b, godh_b, &error));
		g_assert_error (error, AC_ERROR, AC_ERROR_EXISTS);
	}
}

/* ---- an existing image: <aleph:publish rootfs='STORE hash'> ---- */

static void
run_ok (const gchar *const *argv, const gchar *stdin_text)
{
	g_autoptr (GSubprocess) sp
	    = g_subprocess_newv (argv,
	                         G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_SILENCE
	                             | G_SUBPROCESS_FLAGS_STDERR_PIPE,
	                         NULL);
	g_autoptr (GError) error = NULL;
	g_autofree gchar *err = NULL;
	g_assert_nonnull (sp);
	g_assert_true (g_subprocess_communicate_utf8 (sp, stdin_text, NULL, NULL, &err, &error));
	g_assert_no_error (error);
	if (!g_subprocess_get_successful (sp))
		g_error ("%s: %s", argv[0], err);
}

/* An SEV image as aleph-client users have one: GPT, partition 2 LUKS1 (a small one), posted
 * by a STORE of another account; returns the STORE's item hash. */
static gchar *
post_sev_image (const gchar *passphrase)
{
	g_autofree gchar *dir = g_build_filename (net.dir, "rootfs-XXXXXX", NULL);
	g_autofree gchar *img = NULL, *p2 = NULL, *key = NULL, *iff = NULL, *off = NULL;
	g_autoptr (GError) error = NULL;
	g_autoptr (AcEthAccount) owner = ac_eth_account_generate (&error);
	g_autoptr (AcHttpClient) http = ac_http_client_new ();
	g_autoptr (AcCcnClient) ccn = NULL;
	g_autoptr (AcAlephMessage) store = NULL;
	g_autofree gchar *uploaded = NULL;

	g_assert_nonnull (g_mkdtemp (dir));
	img = g_build_filename (dir, "image.raw", NULL);
	p2 = g_build_filename (dir, "p2", NULL);
	key = g_build_filename (dir, "key", NULL);
	iff = g_strdup_printf ("if=%s", p2);
	off = g_strdup_printf ("of=%s", img);
	{
		const gchar *t1[] = { "truncate", "-s", "5M", img, NULL };
		const gchar *t2[] = { "truncate", "-s", "2M", p2, NULL };
		const gchar *sf[] = { "sfdisk", "-q", img, NULL };
		const gchar *lk[] = { "cryptsetup", "luksFormat", "--batch-mode",
			              "--type",     "luks1",      "--pbkdf-force-iterations",
			              "1000",       "--key-file", key,
			              p2,           NULL };
		const gchar *dd[] = { "dd",           "status=none", "bs=512", "seek=4096",
			              "conv=notrunc", iff,           off,      NULL };
		run_ok (t1, NULL);
		run_ok (sf, "label: gpt\nstart=2048, size=2048, type=U\nstart=4096, type=L\n");
		run_ok (t2, NULL);
		g_assert_true (g_file_set_contents_full (key, passphrase, -1,
		                                         G_FILE_SET_CONTENTS_NONE, 0600, NULL));
		run_ok (lk, NULL);
		run_ok (dd, NULL);
	}
	g_assert_no_error (error);
	ccn = ac_ccn_client_new (net.ccn, http, &error);
	g_assert_no_error (error);
	uploaded = ac_ccn_upload_file (ccn, AC_CCN_UPLOAD_STORAGE, img, owner, "TEST", &store, NULL,
	                               &error);
	g_assert_no_error (error);
	g_assert_nonnull (uploaded);
	return g_strdup (store->item_hash);
}

static void
test_rootfs (void)
{
	const gchar *pass = "an aleph-client user's passphrase";
	g_autofree gchar *hash = post_sev_image (pass);
	g_autofree gchar *attrs = g_strdup_printf ("payment='credit' rootfs='%s'", hash);
	g_autoptr (Flow) f = flow_new (NULL, attrs);
	g_autoptr (GError) error = NULL;
	g_autoptr (AcMessageInfo) info = NULL;
	g_autoptr (JsonNode) content = NULL;
	g_autofree gchar *usage = ac_pipeline_rootfs_secret_usage (hash);
	JsonObject *o;

	/* the rule for the passphrase's secret: usage volume aleph-rootfs:<STORE hash> */
	g_assert_true (g_str_has_prefix (usage, "aleph-rootfs:"));
	g_assert_cmpstr (usage + strlen ("aleph-rootfs:"), ==, hash);

	/* what a build would have left is not what is used: the flow records the STORE's */
	ac_state_reset_step (f->p.state, "build");

	/* a wrong passphrase: refused, with what to do, and nothing recorded or posted */
	g_assert_false (
	    ac_pipeline_rootfs_check (&f->p, (const guint8 *)"wrong", 5, "0000", &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_MISMATCH);
	g_assert_nonnull (strstr (error->message, hash));
	g_assert_nonnull (strstr (error->message, "LUKS1"));
	g_assert_nonnull (strstr (error->message, "nothing was posted"));
	g_assert_null (strstr (error->message, pass));
	g_clear_error (&error);
	g_assert_false (ac_state_step_done (f->p.state, "build"));
	g_assert_false (ac_state_step_done (f->p.state, "store"));
	/* a passphrase one byte short opens nothing either */
	g_assert_false (ac_pipeline_rootfs_check (&f->p, (const guint8 *)pass, strlen (pass) - 1,
	                                          "0000", &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_MISMATCH);
	g_clear_error (&error);

	/* an image of the other layout: an SEV-SNP tag wants LUKS2 from the first byte */
	f->p.tag->tee = AC_TEE_SNP;
	g_assert_false (
	    ac_pipeline_rootfs_check (&f->p, (const guint8 *)pass, strlen (pass), "0000", &error));
	g_assert_nonnull (strstr (error->message, "not a SEV-SNP one"));
	g_clear_error (&error);
	f->p.tag->tee = AC_TEE_SEV;

	/* the right one: build and store done, the STORE's hash and its file's size recorded */
	g_assert_true (ac_pipeline_rootfs_check (&f->p, (const guint8 *)pass, strlen (pass),
	                                         "3c5ee1d6-0000-4d2f-8b5b-2f0c1b3f8d11", &error));
	g_assert_no_error (error);
	flow_reload_state (f);
	g_assert_true (ac_state_step_done (f->p.state, "build"));
	g_assert_true (ac_state_step_done (f->p.state, "store"));
	g_assert_cmpstr (ac_state_get_string (f->p.state, "store", "hash"), ==, hash);
	g_assert_cmpstr (ac_state_get_string (f->p.state, "build", "secret"), ==,
	                 "3c5ee1d6-0000-4d2f-8b5b-2f0c1b3f8d11");
	g_assert_cmpint (ac_state_get_int (f->p.state, "build", "size"), ==, 5 * 1024 * 1024);
	g_assert_null (ac_state_get_string (f->p.state, "build", "image"));
	/* no temporary copy of the image is left */
	{
		g_autofree gchar *d
		    = g_build_filename (f->config->state_dir, "domains", UUID, NULL);
		g_autoptr (GDir) dir = g_dir_open (d, 0, NULL);
		const gchar *n;
		while (dir != NULL && (n = g_dir_read_name (dir)) != NULL)
			g_assert_false (g_str_has_prefix (n, "rootfs-check"));
	}

	/* no STORE of ours; the INSTANCE boots the STORE's image */
	g_assert_true (ac_pipeline_publish_step_store (&f->p, NULL, &error));
	g_assert_no_error (error);
	g_assert_cmpuint (count_messages (f, "STORE"), ==, 0);
	g_assert_true (ac_pipeline_publish_step_crn (&f->p, &error));
	g_assert_true (ac_pipeline_instance_step (&f->p, NULL, &error));
	g_assert_no_error (error);
	info = ac_ccn_get_message (f->p.ccn, ac_state_get_string (f->p.state, "instance", "hash"),
	                           &error);
	g_assert_no_error (error);
	content = ac_aleph_message_get_content (info->message, &error);
	g_assert_no_error (error);
	o = json_object_get_object_member (json_node_get_object (content), "rootfs");
	g_assert_cmpstr (
	    json_object_get_string_member (json_object_get_object_member (o, "parent"), "ref"), ==,
	    hash);
	g_assert_cmpint (json_object_get_int_member (o, "size_mib"), ==, 5);
	g_assert_cmpuint (count_messages (f, "STORE"), ==, 0);
}

/* ---- adoption: an INSTANCE made elsewhere, attached to a domain ---- */

static void
test_adopt (void)
{
	const gchar *pass = "an aleph-client user's passphrase";
	g_autofree gchar *image = post_sev_image (pass);
	g_autofree gchar *attrs = g_strdup_printf ("payment='credit' rootfs='%s'", image);
	g_autoptr (GError) error = NULL;
	g_autoptr (AcEthAccount) me = ac_eth_account_generate (&error);
	g_autoptr (AcEthAccount) other = ac_eth_account_generate (&error);
	g_autoptr (Flow) client = flow_new (me, attrs);
	g_autoptr (Flow) f = flow_new (me, attrs);
	g_autoptr (Flow) stranger = flow_new (other, attrs);
	g_autoptr (Flow) built = flow_new (me, "payment='credit'");
	g_autofree gchar *instance = NULL;
	g_autofree gchar *bad = g_strnfill (64, 'z');

	/* what aleph-client did: an INSTANCE of the image, by our account */
	ac_state_reset_step (client->p.state, "build");
	g_assert_true (ac_pipeline_rootfs_check (&client->p, (const guint8 *)pass, strlen (pass),
	                                         NULL, &error));
	g_assert_no_error (error);
	g_assert_true (ac_pipeline_publish_step_crn (&client->p, &error)
	               && ac_pipeline_instance_step (&client->p, NULL, &error));
	g_assert_no_error (error);
	instance = g_strdup (ac_state_get_string (client->p.state, "instance", "hash"));
	g_assert_cmpuint (count_messages (client, "INSTANCE"), ==, 1);

	/* not a hash; not ours */
	g_assert_false (ac_pipeline_adopt_step (&f->p, bad, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
	g_clear_error (&error);
	ac_state_reset_step (stranger->p.state, "build");
	g_assert_false (ac_pipeline_adopt_step (&stranger->p, instance, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_REFUSED);
	g_assert_nonnull (strstr (error->message, "not by this account"));
	g_clear_error (&error);
	g_assert_null (ac_state_get_string (stranger->p.state, "instance", "hash"));
	/* a tag that builds its own image does not describe it: the tag command is named */
	g_assert_false (ac_pipeline_adopt_step (&built->p, instance, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_MISMATCH);
	g_assert_nonnull (strstr (error->message, "--rootfs"));
	g_assert_nonnull (strstr (error->message, image));
	g_clear_error (&error);
	/* another firmware than the INSTANCE's */
	{
		gchar *saved = f->p.tag->firmware_ref;
		f->p.tag->firmware_ref = bad;
		g_assert_false (ac_pipeline_adopt_step (&f->p, instance, &error));
		g_assert_error (error, AC_ERROR, AC_ERROR_MISMATCH);
		g_assert_nonnull (strstr (error->message, "firmware"));
		g_clear_error (&error);
		f->p.tag->firmware_ref = saved;
	}

	/* ours and the tag's: recorded as the flow would have, nothing posted */
	ac_state_reset_step (f->p.state, "build");
	g_assert_true (
	    ac_pipeline_rootfs_check (&f->p, (const guint8 *)pass, strlen (pass), NULL, &error));
	g_assert_true (ac_pipeline_adopt_step (&f->p, instance, &error));
	g_assert_no_error (error);
	flow_reload_state (f);
	g_assert_cmpstr (ac_state_get_string (f->p.state, "instance", "hash"), ==, instance);
	g_assert_true (ac_state_get_bool (f->p.state, "instance", "posted"));
	g_assert_true (ac_state_step_done (f->p.state, "instance"));
	g_assert_true (ac_state_step_done (f->p.state, "notify"));
	g_assert_false (ac_state_step_done (f->p.state, "attest"));
	g_assert_cmpstr (ac_state_get_string (f->p.state, "crn", "hash"), ==, net.crn_hash);
	g_assert_cmpstr (ac_state_get_string (f->p.state, "crn", "url"), ==, net.crn_url);
	g_assert_cmpstr (ac_state_get_string (f->p.state, "store", "hash"), ==, image);
	g_assert_cmpuint (count_messages (f, "INSTANCE"), ==, 1);
	g_assert_cmpuint (count_messages (f, "STORE"), ==, 0);
	/* the flow's steps after it have nothing to do until the attestation */
	g_assert_true (ac_pipeline_instance_step (&f->p, NULL, &error));
	g_assert_true (ac_pipeline_publish_step_notify (&f->p, &error));
	g_assert_no_error (error);
	g_assert_cmpuint (count_messages (f, "INSTANCE"), ==, 1);
	/* again: nothing changes; another INSTANCE: refused */
	g_assert_true (ac_pipeline_adopt_step (&f->p, instance, &error));
	g_assert_no_error (error);
	g_assert_false (ac_pipeline_adopt_step (&f->p, image, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_EXISTS);
}

/* ---- attestation: what is refused before any secret leaves ---- */

static void
test_attest_refusals (void)
{
	g_autoptr (Flow) f = flow_new (NULL, "payment='credit'");
	g_autoptr (GError) error = NULL;
	g_autofree gchar *tik = NULL;
	const gchar *roots[] = { net.ark, NULL };

	g_assert_true (ac_pipeline_preflight_step (&f->p, &error)
	               && ac_pipeline_publish_step_store (&f->p, NULL, &error)
	               && ac_pipeline_publish_step_crn (&f->p, &error)
	               && ac_pipeline_instance_step (&f->p, NULL, &error)
	               && ac_pipeline_publish_step_notify (&f->p, &error));
	g_assert_no_error (error);
	tik = ac_state_get_path (f->p.state, SESSION_NAME "_tik.bin");

	/* AMD's roots only: the devnet's platform is not trusted, no session is made */
	g_assert_false (ac_pipeline_attest_step (&f->p, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_UNTRUSTED);
	g_assert_true (g_str_has_prefix (error->message, "the CRN's platform certificate chain: "));
	g_assert_false (ac_state_get_bool (f->p.state, "attest", "session"));
	g_assert_false (ac_state_step_done (f->p.state, "attest"));
	g_assert_false (g_file_test (tik, G_FILE_TEST_EXISTS));
	g_clear_error (&error);

	/* the devnet's root trusted, but the CCN's firmware is not the pinned one: refused
	 * before the session, since its measurement could not be checked */
	f->config->trusted_roots = g_strdupv ((gchar **)roots);
	g_free (f->p.tag->firmware_sha256);
	f->p.tag->firmware_sha256 = g_strnfill (64, '0');
	g_assert_false (ac_pipeline_attest_step (&f->p, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_MISMATCH);
	g_assert_nonnull (strstr (error->message, "refusing to attest against it"));
	g_assert_nonnull (f->p.status->attest_generation);
	g_assert_false (ac_state_get_bool (f->p.state, "attest", "session"));
	g_assert_false (g_file_test (tik, G_FILE_TEST_EXISTS));
	g_assert_null (f->p.status->attest_verdict);
	g_clear_error (&error);

	/* a firmware file the tag names that is a FIFO: refused at once, never waited on */
	{
		g_autofree gchar *dir = g_dir_make_tmp ("ac-pipeline-fw-XXXXXX", NULL);
		g_autofree gchar *fifo = g_build_filename (dir, "OVMF.fd", NULL);
		g_assert_cmpint (mkfifo (fifo, 0600), ==, 0);
		f->p.tag->firmware_file = g_strdup (fifo);
		g_assert_false (ac_pipeline_attest_step (&f->p, &error));
		g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
		g_assert_true (g_str_has_prefix (error->message, "firmware file: "));
		g_assert_nonnull (strstr (error->message, "is not a regular file"));
		g_assert_false (ac_state_get_bool (f->p.state, "attest", "session"));
		g_assert_false (g_file_test (tik, G_FILE_TEST_EXISTS));
		g_unlink (fifo);
		g_rmdir (dir);
	}
}

int
main (int argc, char **argv)
{
	int rc;

	g_test_init (&argc, &argv, NULL);
	net_start ();
	g_test_add_func ("/pipeline/preflight/ok", test_preflight_ok);
	g_test_add_func ("/pipeline/preflight/insufficient-credit",
	                 test_preflight_insufficient_credit);
	g_test_add_func ("/pipeline/preflight/refused-payment", test_preflight_refused_payment);
	g_test_add_func ("/pipeline/preflight/old-ccn", test_preflight_old_ccn);
	g_test_add_func ("/pipeline/preflight/snp", test_snp_preflight);
	g_test_add_func ("/pipeline/preflight/snp-own-runtime", test_snp_own_runtime);
	g_test_add_func ("/pipeline/store-instance", test_store_instance);
	g_test_add_func ("/pipeline/rootfs", test_rootfs);
	g_test_add_func ("/pipeline/adopt", test_adopt);
	g_test_add_func ("/pipeline/attest/refusals", test_attest_refusals);
	rc = g_test_run ();
	net_stop ();
	return rc;
}
