/*
 * aleph-confidential: the devnet end to end, driven by plugin/aleph's clients (libcurl) and the
 * guest-owner side of sev/ — publish an image as a CAR with a signed STORE, the INSTANCE,
 * notify, certificates verified against the explicitly trusted devnet root, session,
 * initialize, measurement verified, secret injected, passphrase check on the CRN; reboot,
 * stop, erase; every attack refused by the client with no secret released; the fault knobs.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <gio/gio.h>
#include <openssl/evp.h>
#include <signal.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include "ac-aleph-client.h"
#include "ac-aleph-payment.h"
#include "ac-aleph-util.h"
#include "ac-codec.h"
#include "ac-error.h"
#include "ac-sev-chain.h"
#include "ac-sev-measure.h"
#include "ac-sev-owner.h"
#include "ac-sev-secret.h"
#include "test-devnet-common.h"

#define PASSPHRASE "correct horse battery staple"
#define POLICY 1

/* ---- the guest owner ---- */

typedef struct {
	TestDevnet *d;
	AcEthAccount *account;
	AcCcnClient *ccn;
	gchar *image;
	gchar *store_hash;
	gchar *vm_hash;
	guint crn;
	const gchar *payment; /* the INSTANCE's payment.type; default credit */
	AcCrnClient *crnc;
	AcSevOwnerLaunch *launch;
	AcCrnMeasurement *m;
} Owner;

static void
owner_free (Owner *o)
{
	if (o->m != NULL)
		ac_crn_measurement_free (o->m);
	if (o->launch != NULL)
		ac_sev_owner_launch_free (o->launch);
	if (o->crnc != NULL)
		ac_crn_client_free (o->crnc);
	if (o->ccn != NULL)
		ac_ccn_client_free (o->ccn);
	if (o->account != NULL)
		ac_eth_account_free (o->account);
	g_free (o->image);
	g_free (o->store_hash);
	g_free (o->vm_hash);
	g_free (o);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Owner, owner_free)

static Owner *
owner_new (TestDevnet *d, guint crn)
{
	Owner *o = g_new0 (Owner, 1);
	g_autoptr (GError) error = NULL;
	o->d = d;
	o->crn = crn;
	o->payment = "credit";
	o->account = ac_eth_account_generate (&error);
	g_assert_no_error (error);
	o->ccn = ac_ccn_client_new (d->ccn, d->http, &error);
	g_assert_no_error (error);
	ac_ccn_client_set_poll (o->ccn, 20, 100);
	o->crnc = ac_crn_client_new (d->crn_url[crn], o->account, d->http, &error);
	g_assert_no_error (error);
	ac_crn_client_set_poll (o->crnc, 20, 100);
	return o;
}

/* the image as a CAR with a signed STORE, then the INSTANCE; returns the INSTANCE hash */
static gboolean
owner_publish (Owner *o, guint size_mib, GError **error)
{
	g_autoptr (AcAlephMessage) store = NULL;
	g_autoptr (AcMessageInfo) info = NULL;
	g_autofree gchar *cid = NULL;
	g_autofree gchar *content = NULL;
	g_autoptr (JsonNode) node = NULL;
	g_autoptr (AcAlephMessage) inst = NULL;

	if (o->image == NULL)
		o->image = test_make_image (o->d->dir, "disk.img", PASSPHRASE, 8);
	cid = ac_ccn_upload_file (o->ccn, AC_CCN_UPLOAD_CAR, o->image, o->account,
	                          AC_ALEPH_DEFAULT_CHANNEL, &store, NULL, error);
	if (cid == NULL)
		return FALSE;
	info = ac_ccn_wait_processed (o->ccn, store->item_hash, 10000, NULL, error);
	if (info == NULL)
		return FALSE;
	g_clear_pointer (&o->store_hash, g_free);
	o->store_hash = g_strdup (store->item_hash);
	content = g_strdup_printf (
	    "{\"address\": \"%s\", \"time\": %.1f, \"allow_amend\": false,"
	    " \"metadata\": {\"name\": \"devnet-test\"},"
	    " \"environment\": {\"internet\": true, \"aleph_api\": true, \"hypervisor\": \"qemu\","
	    "  \"trusted_execution\": {\"firmware\": \"%s\", \"policy\": %d}},"
	    " \"resources\": {\"vcpus\": 1, \"memory\": 2048, \"seconds\": 30},"
	    " \"payment\": {\"chain\": \"ETH\", \"type\": \"%s\"},"
	    " \"requirements\": {\"node\": {\"node_hash\": \"%s\"}},"
	    " \"rootfs\": {\"parent\": {\"ref\": \"%s\", \"use_latest\": true},"
	    "  \"persistence\": \"host\", \"size_mib\": %u}}",
	    ac_eth_account_get_address (o->account), (gdouble)(g_get_real_time () / G_USEC_PER_SEC),
	    o->d->fw_item_hash, POLICY, o->payment, o->d->crn_hash[o->crn], store->item_hash,
	    size_mib);
	node = json_from_string (content, error);
	if (node == NULL)
		return FALSE;
	inst = ac_aleph_message_build ("INSTANCE", node, ac_eth_account_get_address (o->account),
	                               AC_ALEPH_DEFAULT_CHANNEL,
	                               (gdouble)g_get_real_time () / G_USEC_PER_SEC, error);
	if (inst == NULL || !test_devnet_publish (o->ccn, o->account, inst, 10000, error))
		return FALSE;
	g_clear_pointer (&o->vm_hash, g_free);
	o->vm_hash = g_strdup (inst->item_hash);
	return TRUE;
}

/* what the pipeline's attest step does: chain, session, initialize, measurement, check */
static gboolean
owner_attest (Owner *o, gboolean trust_devnet_root, GError **error)
{
	g_autoptr (GBytes) certs = NULL;
	g_autoptr (AcSevChain) chain = NULL;
	g_autoptr (AcSevRoots) roots = NULL;
	g_autofree gchar *godh = NULL;
	g_autofree gchar *blob = NULL;
	g_autoptr (GBytes) godh_b = NULL;
	g_autoptr (GBytes) blob_b = NULL;

	certs = ac_crn_get_certificates (o->crnc, error);
	if (certs == NULL)
		return FALSE;
	chain
	    = ac_sev_chain_parse (g_bytes_get_data (certs, NULL), g_bytes_get_size (certs), error);
	if (chain == NULL)
		return FALSE;
	if (trust_devnet_root) {
		g_autoptr (AcAmdCert) ark = ac_amd_cert_parse_file (o->d->ark, error);
		g_autoptr (AcAmdCert) ask
		    = ark != NULL ? ac_amd_cert_parse_file (o->d->ask, error) : NULL;
		if (ask == NULL)
			return FALSE;
		roots = ac_sev_roots_new ();
		if (!ac_sev_roots_add (roots, "devnet", ark, ask, error))
			return FALSE;
	} else {
		roots = ac_sev_roots_new_builtin ();
	}
	g_clear_pointer (&o->launch, ac_sev_owner_launch_free);
	o->launch = ac_sev_owner_launch_new (POLICY);
	if (!ac_sev_owner_launch_verify_chain (o->launch, chain, roots, NULL, error)
	    || !ac_sev_owner_launch_start_session (o->launch, error))
		return FALSE;
	godh = ac_sev_owner_launch_get_godh_b64 (o->launch);
	blob = ac_sev_owner_launch_get_session_b64 (o->launch);
	godh_b = g_bytes_new (godh, strlen (godh));
	blob_b = g_bytes_new (blob, strlen (blob));
	return ac_crn_confidential_initialize (o->crnc, o->vm_hash, blob_b, godh_b, error);
}

/* measurement fetched and verified against the firmware we pinned */
static gboolean
owner_measure (Owner *o, GError **error)
{
	g_autofree gchar *url
	    = g_strdup_printf ("%s/api/v0/storage/raw/%s", o->d->ccn, o->d->fw_sha256);
	g_autoptr (AcHttpResponse) r = NULL;
	g_autofree gchar *got = NULL;
	g_autoptr (GBytes) fw_b = NULL;
	AcSevLaunchInputs expected = { 0 };
	AcSevOwnerEvidence ev = { 0 };
	const gchar *fw;
	gsize fwlen;

	g_clear_pointer (&o->m, ac_crn_measurement_free);
	o->m = ac_crn_confidential_measurement (o->crnc, o->vm_hash, 10000, error);
	if (o->m == NULL)
		return FALSE;
	r = ac_http_request (o->d->http, "GET", url, NULL, NULL, NULL, AC_HTTP_IDEMPOTENT, error);
	if (r == NULL)
		return FALSE;
	fw = ac_http_response_get_data (r, &fwlen);
	got = ac_aleph_sha256_hex ((const guint8 *)fw, fwlen);
	if (g_strcmp0 (got, o->d->fw_sha256) != 0) {
		g_set_error (error, AC_ERROR, AC_ERROR_MISMATCH, "firmware sha256 %s, pinned %s",
		             got, o->d->fw_sha256);
		return FALSE;
	}
	fw_b = g_bytes_new (fw, fwlen);
	expected.policy = POLICY;
	expected.firmware = fw_b;
	ev.blob = o->m->launch_measure;
	ev.blob_len = sizeof (o->m->launch_measure);
	ev.api_major = o->m->api_major;
	ev.api_minor = o->m->api_minor;
	ev.build_id = o->m->build_id;
	ev.policy = o->m->policy;
	return ac_sev_owner_launch_verify (o->launch, &ev, &expected, 0, 17, error);
}

static gboolean
owner_inject (Owner *o, const gchar *passphrase, GError **error)
{
	g_autoptr (GBytes) table = ac_sev_secret_table_build_aleph_passphrase (passphrase, error);
	g_autoptr (AcTeeSealedSecret) sealed = NULL;
	g_autofree gchar *h64 = NULL;
	g_autofree gchar *p64 = NULL;
	if (table == NULL)
		return FALSE;
	if (!ac_sev_owner_launch_seal (o->launch, table, NULL, &sealed, error))
		return FALSE;
	h64 = g_base64_encode (g_bytes_get_data (sealed->header, NULL),
	                       g_bytes_get_size (sealed->header));
	p64 = g_base64_encode (g_bytes_get_data (sealed->payload, NULL),
	                       g_bytes_get_size (sealed->payload));
	return ac_crn_confidential_inject_secret (o->crnc, o->vm_hash, h64, p64, error);
}

static gboolean
owner_full_flow (Owner *o, GError **error)
{
	return owner_publish (o, 20, error) && ac_crn_notify_allocation (o->crnc, o->vm_hash, error)
	       && owner_attest (o, TRUE, error) && owner_measure (o, error)
	       && owner_inject (o, PASSPHRASE, error);
}

/* ---- tests ---- */

/* posts @m, which the CCN may refuse with an error (a rejection is still recorded), and
 * asserts what the CCN then says of it: @status and, unless -1, @error_code */
static void
post_expect (Owner *o, AcAlephMessage *m, AcMessageStatus status, gint64 error_code)
{
	g_autoptr (GError) error = NULL;
	g_autoptr (AcMessageInfo) info = NULL;
	AcPostResult res = { 0 };

	g_assert_true (ac_ccn_post_message (o->ccn, m, TRUE, &res, &error) || error != NULL);
	g_clear_error (&error);
	ac_post_result_clear (&res);
	info = ac_ccn_get_message (o->ccn, m->item_hash, &error);
	g_assert_no_error (error);
	g_assert_cmpint (info->status, ==, status);
	if (error_code != -1)
		g_assert_cmpint (info->error_code, ==, error_code);
}

static gboolean
port_open (const gchar *url)
{
	const gchar *colon = strrchr (url, ':');
	struct sockaddr_in sa = { .sin_family = AF_INET };
	int fd = socket (AF_INET, SOCK_STREAM, 0);
	gboolean ok;
	sa.sin_port = htons ((guint16)atoi (colon + 1));
	inet_pton (AF_INET, "127.0.0.1", &sa.sin_addr);
	ok = connect (fd, (struct sockaddr *)&sa, sizeof (sa)) == 0;
	close (fd);
	return ok;
}

static void
test_devnet_start_stop (void)
{
	g_autoptr (GError) error = NULL;
	g_autoptr (TestDevnet) a = NULL;
	g_autoptr (TestDevnet) b = NULL;
	g_autoptr (AcCcnClient) ccn = NULL;
	g_autoptr (GPtrArray) crns = NULL;
	g_autoptr (AcMessageInfo) fw = NULL;
	gint64 fastest;

	/* the first start of the test process creates the shared root; time the next ones */
	a = test_devnet_start ("", 2, &error);
	g_assert_no_error (error);
	b = test_devnet_start ("", 3, &error);
	g_assert_no_error (error);
	fastest = b->startup_us;
	/* the fastest of three: one start can meet a busy moment (the suite runs tests side by
	 * side on two cores), a slow devnet is slow every time */
	for (guint i = 0; i < 2 && fastest >= 1000 * 1000; i++) {
		g_autoptr (TestDevnet) c = test_devnet_start ("", 3, &error);
		g_assert_no_error (error);
		fastest = MIN (fastest, c->startup_us);
	}
	g_test_message ("startup: %" G_GINT64_FORMAT " ms, then %" G_GINT64_FORMAT " ms at best",
	                a->startup_us / 1000, fastest / 1000);
	/* "well under a second" (sanitizers slow everything down ~5x) */
#if defined(__SANITIZE_ADDRESS__)
	g_assert_cmpint (fastest, <, 5000 * 1000);
#else
	g_assert_cmpint (fastest, <, 1000 * 1000);
#endif
	g_assert_cmpuint (a->n_crns, ==, 2);
	g_assert_cmpuint (b->n_crns, ==, 3);
	g_assert_cmpstr (a->ccn, !=, b->ccn);
	g_assert_cmpstr (a->crn_hash[0], !=, a->crn_hash[1]);

	/* both serve: the CRN list, the firmware STORE */
	crns = ac_crn_list_fetch (b->http, b->crn_list, AC_CRN_FILTER_CONFIDENTIAL, &error);
	g_assert_no_error (error);
	g_assert_cmpuint (crns->len, ==, 3);
	g_assert_cmpstr (((AcCrnInfo *)g_ptr_array_index (crns, 2))->address, ==, b->crn_url[2]);
	g_assert_true (((AcCrnInfo *)g_ptr_array_index (crns, 0))->sev);
	ccn = ac_ccn_client_new (a->ccn, a->http, &error);
	g_assert_no_error (error);
	fw = ac_ccn_get_message (ccn, a->fw_item_hash, &error);
	g_assert_no_error (error);
	g_assert_cmpint (fw->status, ==, AC_MESSAGE_STATUS_PROCESSED);
	g_assert_cmpstr (fw->message->type, ==, "STORE");

	/* clean stop: exit 0, ports closed */
	g_assert_cmpint (test_devnet_stop (a), ==, 0);
	g_assert_false (port_open (a->ccn));
	g_assert_false (port_open (a->crn_url[0]));
	g_assert_true (port_open (b->ccn));
	g_assert_cmpint (test_devnet_stop (b), ==, 0);
}

static void
test_devnet_flow (void)
{
	g_autoptr (GError) error = NULL;
	g_autoptr (TestDevnet) d = test_devnet_start ("", 1, &error);
	g_autoptr (Owner) o = NULL;
	guint8 first_nonce[16];
	g_autoptr (GPtrArray) ex = NULL;

	g_assert_no_error (error);
	o = owner_new (d, 0);
	g_assert_true (owner_publish (o, 20, &error));
	g_assert_no_error (error);
	g_assert_true (ac_crn_notify_allocation (o->crnc, o->vm_hash, &error));
	g_assert_no_error (error);
	ex = ac_crn_list_executions (o->crnc, &error);
	g_assert_no_error (error);
	g_assert_cmpuint (ex->len, ==, 1);
	g_assert_true (((AcCrnExecution *)g_ptr_array_index (ex, 0))->awaiting_confidential_init);
	/* the VM's IPv6, as aleph-vm lists it in networking.ipv6 (what `virt-aleph list` shows) */
	{
		const gchar *ipv6 = ((AcCrnExecution *)g_ptr_array_index (ex, 0))->ipv6;
		g_autoptr (GInetAddress) addr
		    = ipv6 != NULL ? g_inet_address_new_from_string (ipv6) : NULL;
		g_assert_nonnull (addr);
		g_assert_cmpint (g_inet_address_get_family (addr), ==, G_SOCKET_FAMILY_IPV6);
	}

	/* trusted only when told: AMD's built-in roots refuse the devnet chain */
	g_assert_false (owner_attest (o, FALSE, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_UNTRUSTED);
	g_clear_error (&error);

	g_assert_true (owner_attest (o, TRUE, &error));
	g_assert_no_error (error);
	/* initialize again while paused: aleph-vm's 400 vm_running */
	{
		g_autofree gchar *godh = ac_sev_owner_launch_get_godh_b64 (o->launch);
		g_autofree gchar *blob = ac_sev_owner_launch_get_session_b64 (o->launch);
		g_autoptr (GBytes) gb = g_bytes_new (godh, strlen (godh));
		g_autoptr (GBytes) bb = g_bytes_new (blob, strlen (blob));
		g_assert_false (
		    ac_crn_confidential_initialize (o->crnc, o->vm_hash, bb, gb, &error));
		g_assert_nonnull (error);
		g_assert_nonnull (strstr (error->message, "already running"));
		g_clear_error (&error);
	}
	g_assert_true (owner_measure (o, &error));
	g_assert_no_error (error);
	memcpy (first_nonce, o->m->launch_measure + 32, 16);
	g_assert_cmpint (test_devnet_vm_counter (d, o->vm_hash, "secrets_released"), ==, 0);
	g_assert_true (owner_inject (o, PASSPHRASE, &error));
	g_assert_no_error (error);
	g_assert_cmpint (test_devnet_vm_counter (d, o->vm_hash, "secrets_released"), ==, 1);
	g_assert_cmpint (test_devnet_vm_counter (d, o->vm_hash, "passphrase_ok"), ==, 1);
	/* once running, the measurement is still readable, with QEMU's state */
	g_assert_true (owner_measure (o, &error));
	g_assert_no_error (error);
	g_assert_cmpstr (o->m->state, ==, "running");
	/* the VM's console (aleph-vm's JSON logs): allocated, launched, secret injected, boot */
	{
		g_autoptr (GPtrArray) lines = ac_crn_get_logs (o->crnc, o->vm_hash, &error);
		const AcCrnLogLine *last;
		g_assert_no_error (error);
		g_assert_nonnull (lines);
		g_assert_cmpuint (lines->len, >=, 4);
		g_assert_nonnull (strstr (((AcCrnLogLine *)lines->pdata[0])->message, "allocated"));
		g_assert_nonnull (
		    strstr (((AcCrnLogLine *)lines->pdata[1])->message, "SEV launch"));
		last = g_ptr_array_index (lines, lines->len - 1);
		g_assert_cmpstr (last->stream, ==, "stdout");
		g_assert_nonnull (last->time);
		g_assert_cmpstr (last->message, ==, "devnet-guest login: ");
	}

	/* reboot: paused again, a new measurement (new mnonce) and a new injection */
	g_assert_true (ac_crn_operate (o->crnc, o->vm_hash, "reboot", &error));
	g_assert_no_error (error);
	g_assert_true (owner_measure (o, &error));
	g_assert_no_error (error);
	g_assert_true (memcmp (first_nonce, o->m->launch_measure + 32, 16) != 0);
	/* a wrong passphrase is released (the PSP accepts it) but opens no LUKS slot */
	g_assert_true (owner_inject (o, "not the passphrase", &error));
	g_assert_no_error (error);
	g_assert_cmpint (test_devnet_vm_counter (d, o->vm_hash, "secrets_released"), ==, 2);
	g_assert_cmpint (test_devnet_vm_counter (d, o->vm_hash, "passphrase_checks"), ==, 2);
	g_assert_cmpint (test_devnet_vm_counter (d, o->vm_hash, "passphrase_ok"), ==, 1);
	/* a second injection into a running VM: aleph-vm's 500 (#668) */
	g_assert_false (owner_inject (o, PASSPHRASE, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_REMOTE);
	g_clear_error (&error);

	/* stop, notify again, a fresh launch with the right passphrase */
	g_assert_true (ac_crn_operate (o->crnc, o->vm_hash, "stop", &error));
	g_assert_no_error (error);
	g_assert_true (ac_crn_notify_allocation (o->crnc, o->vm_hash, &error)
	               && owner_attest (o, TRUE, &error) && owner_measure (o, &error)
	               && owner_inject (o, PASSPHRASE, &error));
	g_assert_no_error (error);
	g_assert_cmpint (test_devnet_vm_counter (d, o->vm_hash, "passphrase_ok"), ==, 2);
	g_assert_true (ac_crn_operate (o->crnc, o->vm_hash, "erase", &error));
	g_assert_no_error (error);
	g_assert_false (owner_measure (o, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_NOT_FOUND);
	g_clear_error (&error);
	g_assert_null (ac_crn_get_logs (o->crnc, o->vm_hash, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_NOT_FOUND);
	g_clear_error (&error);
	g_assert_cmpint (test_devnet_stop (d), ==, 0);
}

static void
test_devnet_auth (void)
{
	g_autoptr (GError) error = NULL;
	g_autoptr (TestDevnet) d = test_devnet_start ("", 1, &error);
	g_autoptr (Owner) o = NULL;
	g_autoptr (Owner) mallory = NULL;
	guint status = 0;
	g_autoptr (JsonNode) k = NULL;

	g_assert_no_error (error);
	o = owner_new (d, 0);
	g_assert_true (owner_publish (o, 20, &error)
	               && ac_crn_notify_allocation (o->crnc, o->vm_hash, &error));
	g_assert_no_error (error);
	/* another wallet: authenticated, but not the owner → 403 */
	mallory = owner_new (d, 0);
	g_free (mallory->vm_hash);
	mallory->vm_hash = g_strdup (o->vm_hash);
	g_assert_false (owner_attest (mallory, TRUE, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_PERMISSION);
	g_assert_nonnull (strstr (error->message, "Unauthorized sender"));
	g_clear_error (&error);
	/* nor its console */
	g_assert_null (ac_crn_get_logs (mallory->crnc, o->vm_hash, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_PERMISSION);
	g_clear_error (&error);
	/* the CRN's clock 10 min ahead: outside the ±2 min window */
	k = test_devnet_admin (d, "POST", "/admin/knobs", "{\"clock_skew_s\": 600}", &status);
	g_assert_cmpuint (status, ==, 200);
	g_assert_false (owner_attest (o, TRUE, &error));
	g_assert_nonnull (error);
	g_assert_nonnull (strstr (error->message, "X-SignedOperation"));
	g_clear_error (&error);
	g_clear_pointer (&k, json_node_unref);
	k = test_devnet_admin (d, "POST", "/admin/knobs", "{\"clock_skew_s\": 60}", &status);
	g_assert_true (owner_attest (o, TRUE, &error));
	g_assert_no_error (error);

	/* the owner delegates INSTANCE operations in its "security" aggregate
	 * (docs/protocols.md#crn-operations) */
	g_assert_true (ac_crn_operate (o->crnc, o->vm_hash, "stop", &error)
	               && ac_crn_notify_allocation (o->crnc, o->vm_hash, &error));
	g_assert_no_error (error);
	{
		g_autofree gchar *content = g_strdup_printf (
		    "{\"address\":\"%s\",\"key\":\"security\",\"content\":"
		    "{\"authorizations\":[{\"address\":\"%s\",\"types\":[\"INSTANCE\"]}]},"
		    "\"time\":%.1f}",
		    ac_eth_account_get_address (o->account),
		    ac_eth_account_get_address (mallory->account),
		    (gdouble)(g_get_real_time () / G_USEC_PER_SEC));
		g_autoptr (AcAlephMessage) agg = ac_aleph_message_new_inline (
		    "AGGREGATE", content, ac_eth_account_get_address (o->account), "ETH", "TEST",
		    (gdouble)g_get_real_time () / G_USEC_PER_SEC);
		g_autofree gchar *url
		    = g_strdup_printf ("%s/api/v0/aggregates/%s.json?keys=security", d->ccn,
		                       ac_eth_account_get_address (o->account));
		g_autoptr (AcHttpResponse) r = NULL;
		const gchar *body;
		gsize blen;
		g_assert_true (test_devnet_publish (o->ccn, o->account, agg, 5000, &error));
		g_assert_no_error (error);
		r = ac_http_request (d->http, "GET", url, NULL, NULL, NULL, AC_HTTP_IDEMPOTENT,
		                     &error);
		g_assert_no_error (error);
		body = ac_http_response_get_data (r, &blen);
		g_assert_nonnull (g_strstr_len (body, (gssize)blen,
		                                ac_eth_account_get_address (mallory->account)));
	}
	g_assert_true (owner_attest (mallory, TRUE, &error));
	g_assert_no_error (error);
	g_assert_cmpint (test_devnet_stop (d), ==, 0);
}

/* a restart on the same state directory keeps messages, files, identities and VM records */
static void
test_devnet_restart (void)
{
	g_autoptr (GError) error = NULL;
	g_autoptr (TestDevnet) d = test_devnet_start ("", 1, &error);
	g_autoptr (TestDevnet) again = NULL;
	g_autoptr (Owner) o = NULL;
	g_autoptr (AcCcnClient) ccn = NULL;
	g_autoptr (AcMessageInfo) info = NULL;
	g_autofree gchar *hash0 = NULL;
	g_autofree gchar *fw = NULL;
	g_autofree gchar *url = NULL;
	g_autoptr (AcHttpResponse) r = NULL;

	g_assert_no_error (error);
	o = owner_new (d, 0);
	g_assert_true (owner_full_flow (o, &error));
	g_assert_no_error (error);
	hash0 = g_strdup (d->crn_hash[0]);
	fw = g_strdup (d->fw_item_hash);
	g_assert_cmpint (test_devnet_stop (d), ==, 0);

	again = test_devnet_start_in (d->dir, "", 1, &error);
	g_assert_no_error (error);
	g_assert_cmpstr (again->crn_hash[0], ==, hash0);
	g_assert_cmpstr (again->fw_item_hash, ==, fw);
	ccn = ac_ccn_client_new (again->ccn, again->http, &error);
	g_assert_no_error (error);
	info = ac_ccn_get_message (ccn, o->vm_hash, &error);
	g_assert_no_error (error);
	g_assert_cmpint (info->status, ==, AC_MESSAGE_STATUS_PROCESSED);
	/* the image is still served, the audit record still says the key arrived */
	url = g_strdup_printf ("%s/api/v0/storage/raw/%s", again->ccn, again->fw_sha256);
	r = ac_http_request (again->http, "GET", url, NULL, NULL, NULL, AC_HTTP_IDEMPOTENT, &error);
	g_assert_no_error (error);
	g_assert_cmpuint (r->status, ==, 200);
	g_assert_cmpint (test_devnet_vm_counter (again, o->vm_hash, "passphrase_ok"), ==, 1);
	/* the node restarted: the VM is allocated and launched afresh */
	{
		g_autoptr (Owner) o2 = owner_new (again, 0);
		ac_eth_account_free (o2->account);
		o2->account = g_steal_pointer (&o->account);
		ac_crn_client_free (o2->crnc);
		o2->crnc = ac_crn_client_new (again->crn_url[0], o2->account, again->http, &error);
		g_assert_no_error (error);
		o2->vm_hash = g_strdup (o->vm_hash);
		g_assert_true (ac_crn_notify_allocation (o2->crnc, o2->vm_hash, &error)
		               && owner_attest (o2, TRUE, &error) && owner_measure (o2, &error)
		               && owner_inject (o2, PASSPHRASE, &error));
		g_assert_no_error (error);
		g_assert_cmpint (test_devnet_vm_counter (again, o->vm_hash, "passphrase_ok"), ==,
		                 2);
	}
	g_assert_cmpint (test_devnet_stop (again), ==, 0);
}

/* ---- attacks: refused by the client with a precise error, no secret ever sent ---- */

static void
attack_check (const gchar *attack,
              gboolean via_admin,
              GQuark domain,
              gint code,
              const gchar *needle)
{
	g_autoptr (GError) error = NULL;
	g_autofree gchar *cfg
	    = via_admin ? g_strdup ("")
	                : g_strdup_printf ("\"knobs\": {\"attacks\": {\"1\": \"%s\"}}", attack);
	g_autoptr (TestDevnet) d = test_devnet_start (cfg, 2, &error);
	g_autoptr (Owner) o = NULL;
	g_autoptr (JsonNode) all = NULL;
	gboolean ok;

	g_assert_no_error (error);
	if (via_admin) {
		g_autofree gchar *body = g_strdup_printf ("{\"attacks\": {\"1\": \"%s\"}}", attack);
		guint status = 0;
		g_autoptr (JsonNode) k
		    = test_devnet_admin (d, "POST", "/admin/knobs", body, &status);
		g_assert_cmpuint (status, ==, 200);
	}
	if (g_strcmp0 (attack, "replay-measurement") == 0) {
		/* the node keeps the measurement of a first, genuine launch ... */
		g_autoptr (Owner) first = owner_new (d, 1);
		g_assert_true (owner_full_flow (first, &error));
		g_assert_no_error (error);
	}
	o = owner_new (d, 1);
	ok = owner_full_flow (o, &error);
	g_assert_false (ok);
	g_assert_error (error, domain, code);
	g_test_message ("%s refused: %s", attack, error->message);
	if (needle != NULL && strstr (error->message, needle) == NULL)
		g_error ("'%s' is not in: %s", needle, error->message);
	g_clear_error (&error);
	/* nothing reached the node */
	g_assert_cmpint (test_devnet_vm_counter (d, o->vm_hash, "inject_attempts"), ==, 0);
	g_assert_cmpint (test_devnet_vm_counter (d, o->vm_hash, "secrets_released"), ==, 0);
	/* and the honest CRN next to it still works */
	if (g_strcmp0 (attack, "replay-measurement") != 0) {
		g_autoptr (Owner) honest = owner_new (d, 0);
		g_assert_true (owner_full_flow (honest, &error));
		g_assert_no_error (error);
		g_assert_cmpint (test_devnet_vm_counter (d, honest->vm_hash, "passphrase_ok"), ==,
		                 1);
	}
	all = test_devnet_admin (d, "GET", "/admin/vms", NULL, NULL);
	g_assert_nonnull (all);
	g_assert_cmpint (test_devnet_stop (d), ==, 0);
}

static void
test_devnet_attack_self_signed (void)
{
	attack_check ("self-signed-chain", FALSE, AC_ERROR, AC_ERROR_UNTRUSTED, NULL);
}

static void
test_devnet_attack_swap_pdh (void)
{
	attack_check ("swap-pdh", TRUE, AC_ERROR, AC_ERROR_UNTRUSTED, "PDH");
}

static void
test_devnet_attack_other_firmware (void)
{
	attack_check ("other-firmware", TRUE, AC_ERROR, AC_ERROR_MISMATCH, NULL);
}

static void
test_devnet_attack_replay (void)
{
	attack_check ("replay-measurement", FALSE, AC_ERROR, AC_ERROR_MISMATCH, NULL);
}

/* replay after a reboot: the same session (same TIK), so the old measurement still verifies
 * with sev/'s check alone; the PSP refuses the secret (its HMAC binds the new MEASURE) and no
 * secret is released. A client must also refuse a measurement nonce it has already seen. */
static void
test_devnet_attack_replay_reboot (void)
{
	g_autoptr (GError) error = NULL;
	g_autoptr (TestDevnet) d = test_devnet_start (
	    "\"knobs\": {\"attacks\": {\"0\": \"replay-measurement\"}}", 1, &error);
	g_autoptr (Owner) o = NULL;
	guint8 first[48];

	g_assert_no_error (error);
	o = owner_new (d, 0);
	g_assert_true (owner_full_flow (o, &error));
	g_assert_no_error (error);
	memcpy (first, o->m->launch_measure, 48);
	g_assert_cmpint (test_devnet_vm_counter (d, o->vm_hash, "secrets_released"), ==, 1);
	g_assert_true (ac_crn_operate (o->crnc, o->vm_hash, "reboot", &error));
	g_assert_no_error (error);
	g_assert_true (owner_measure (o, &error));
	g_assert_no_error (error);
	/* the nonce repeats: this is what a client has to catch */
	g_assert_true (memcmp (first, o->m->launch_measure, 48) == 0);
	g_assert_false (owner_inject (o, PASSPHRASE, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_REMOTE);
	g_test_message ("replayed after reboot: %s", error->message);
	g_assert_nonnull (strstr (error->message, "BAD_MEASUREMENT"));
	g_clear_error (&error);
	g_assert_cmpint (test_devnet_vm_counter (d, o->vm_hash, "secrets_released"), ==, 1);
	g_assert_cmpint (test_devnet_stop (d), ==, 0);
}

/* ---- CCN rules ---- */

/* ---- the CCN's version: the pre-flight's check ---- */

static void
test_devnet_ccn_version (void)
{
	g_autoptr (GError) error = NULL;
	g_autoptr (TestDevnet) d = test_devnet_start ("", 1, &error);
	g_autoptr (AcCcnClient) ccn = NULL;
	g_autoptr (AcCcnClient) nowhere = NULL;
	g_autofree gchar *version = NULL;
	g_autofree gchar *checked = NULL;
	guint v[3];
	gint64 t0;

	/* the versions pyaleph reports (git describe, setuptools-scm) and what is not one */
	g_assert_true (ac_version_parse ("v0.5.1", v));
	g_assert_cmpuint (v[0], ==, 0);
	g_assert_cmpuint (v[1], ==, 5);
	g_assert_cmpuint (v[2], ==, 1);
	g_assert_true (ac_version_parse ("0.10.2-3-gabcdef", v));
	g_assert_cmpuint (v[1], ==, 10);
	g_assert_true (ac_version_parse ("1.2", v));
	g_assert_cmpuint (v[2], ==, 0);
	g_assert_true (ac_version_parse ("0.5.0+devnet.1", v));
	g_assert_true (ac_version_parse ("0.7.0rc1", v));
	g_assert_false (ac_version_parse ("1", v));
	g_assert_false (ac_version_parse ("latest", v));
	g_assert_false (ac_version_parse ("1.2.3.4", v));
	g_assert_false (ac_version_parse ("", v));
	{
		guint a[3] = { 0, 10, 0 }, b[3] = { 0, 9, 9 };
		g_assert_cmpint (ac_version_compare (a, b), >, 0);
		g_assert_cmpint (ac_version_compare (b, a), <, 0);
		g_assert_cmpint (ac_version_compare (a, a), ==, 0);
	}

	g_assert_no_error (error);
	ccn = ac_ccn_client_new (d->ccn, d->http, &error);
	g_assert_no_error (error);
	/* the devnet answers as pyaleph does: {"version": "…"} */
	version = ac_ccn_get_version (ccn, &error);
	g_assert_no_error (error);
	g_assert_true (ac_version_parse (version, v));
	/* at least the pipeline's default minimum (0.5.0): the devnet flow passes the pre-flight */
	g_assert_true (ac_ccn_check_version (ccn, "0.5.0", &checked, &error));
	g_assert_no_error (error);
	g_assert_cmpstr (checked, ==, version);

	/* a minimum above it: refused in well under a second, naming both versions */
	t0 = g_get_monotonic_time ();
	g_assert_false (ac_ccn_check_version (ccn, "99.1", NULL, &error));
	g_assert_cmpint (g_get_monotonic_time () - t0, <, 5 * G_USEC_PER_SEC);
	g_assert_error (error, AC_ERROR, AC_ERROR_REFUSED);
	g_test_message ("too old: %s", error->message);
	g_assert_nonnull (strstr (error->message, version));
	g_assert_nonnull (strstr (error->message, "99.1"));
	g_clear_error (&error);

	/* a malformed minimum is the caller's input */
	g_assert_false (ac_ccn_check_version (ccn, "latest", NULL, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
	g_clear_error (&error);

	/* no API there: a network error, at once */
	nowhere = ac_ccn_client_new ("http://127.0.0.1:1", d->http, &error);
	g_assert_no_error (error);
	g_assert_false (ac_ccn_check_version (nowhere, "0.5.0", NULL, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_NETWORK);
	g_clear_error (&error);

	/* something that is not a CCN (a CRN answers 404 there): a remote error saying so */
	{
		g_autoptr (AcCcnClient) crn_as_ccn
		    = ac_ccn_client_new (d->crn_url[0], d->http, &error);
		g_assert_no_error (error);
		g_assert_false (ac_ccn_check_version (crn_as_ccn, "0.5.0", NULL, &error));
		g_assert_error (error, AC_ERROR, AC_ERROR_REMOTE);
		g_test_message ("not a CCN: %s", error->message);
		g_assert_nonnull (strstr (error->message, "/api/v0/version"));
	}
}

static void
test_devnet_ccn_rules (void)
{
	g_autoptr (GError) error = NULL;
	g_autoptr (TestDevnet) d = test_devnet_start ("", 1, &error);
	g_autoptr (Owner) o = NULL;
	g_autoptr (AcAlephMessage) forged = NULL;
	g_autoptr (AcEthAccount) other = NULL;
	AcPostResult res = { 0 };

	g_assert_no_error (error);
	o = owner_new (d, 0);
	/* 8 MiB image, 4 MiB rootfs: VM_VOLUME_TOO_SMALL (304) */
	g_assert_false (owner_publish (o, 4, &error));
	g_assert_nonnull (error);
	g_test_message ("too small: %s", error->message);
	g_assert_nonnull (strstr (error->message, "304"));
	g_clear_error (&error);
	/* signed by someone else than the sender: rejected with INVALID_SIGNATURE */
	other = ac_eth_account_generate (&error);
	{
		g_autofree gchar *content = g_strdup_printf (
		    "{\"type\":\"test\",\"address\":\"%s\",\"content\":{},\"time\":1700000000.0}",
		    ac_eth_account_get_address (o->account));
		forged = ac_aleph_message_new_inline ("POST", content,
		                                      ac_eth_account_get_address (other), "ETH",
		                                      "TEST", 1700000000.0);
		g_assert_true (ac_aleph_message_sign (forged, other, &error));
		g_assert_no_error (error);
		/* claim to be the owner with another wallet's signature */
		g_free (forged->sender);
		forged->sender = g_strdup (ac_eth_account_get_address (o->account));
	}
	post_expect (o, forged, AC_MESSAGE_STATUS_REJECTED, 1);
	/* item_hash not sha256(item_content): refused before broadcast (422 InvalidMessageFormat)
	 */
	g_free (forged->item_hash);
	forged->item_hash
	    = g_strdup ("00000000000000000000000000000000000000000000000000000000000000ff");
	g_assert_false (ac_ccn_post_message (o->ccn, forged, TRUE, &res, &error));
	g_assert_nonnull (error);
	g_assert_nonnull (strstr (error->message, "InvalidMessageFormat"));
	g_clear_error (&error);
	ac_post_result_clear (&res);

	/* the CRN's endpoints of one method: the other method is refused (405, naming both) */
	{
		static const struct {
			const gchar *method;
			const gchar *path;
			guint status;
		} v[] = {
			{ "POST", "/about/certificates", 405 },
			{ "GET", "/about/certificates", 200 },
			{ "GET", "/control/allocation/notify", 405 },
			{ "POST", "/control/allocation/notify", 400 },
			{ "GET", "/control/machine/ab/confidential/initialize", 405 },
			{ "POST", "/control/machine/ab/confidential/measurement", 405 },
			{ "GET", "/control/machine/ab/confidential/inject_secret", 405 },
			{ "GET", "/nowhere", 404 },
		};
		for (guint i = 0; i < G_N_ELEMENTS (v); i++) {
			g_autofree gchar *url = g_strconcat (d->crn_url[0], v[i].path, NULL);
			guint status = 0;
			g_autoptr (GBytes) b = test_devnet_http (d, v[i].method, url, &status);
			g_autofree gchar *body
			    = g_strndup (g_bytes_get_data (b, NULL), g_bytes_get_size (b));
			g_autofree gchar *want = NULL;

			g_test_message ("%s %s: %u %s", v[i].method, v[i].path, status, body);
			g_assert_cmpuint (status, ==, v[i].status);
			want = g_strdup_printf ("%s is not allowed on %s", v[i].method, v[i].path);
			g_assert_true ((strstr (body, want) != NULL) == (v[i].status == 405));
		}
	}

	/* ipfs/add_file and storage/add_file: the node's hash is the one the client computed */
	for (guint kind = AC_CCN_UPLOAD_STORAGE; kind <= AC_CCN_UPLOAD_IPFS; kind++) {
		g_autoptr (AcAlephMessage) store = NULL;
		g_autoptr (AcMessageInfo) info = NULL;
		g_autofree gchar *hash = ac_ccn_upload_file (o->ccn, kind, o->image, o->account,
		                                             "TEST", &store, NULL, &error);
		g_assert_no_error (error);
		g_assert_nonnull (hash);
		info = ac_ccn_wait_processed (o->ccn, store->item_hash, 5000, NULL, &error);
		g_assert_no_error (error);
	}

	/* ipfs/add_car: a STORE naming another CID than the CAR's root is refused */
	{
		g_autofree gchar *car = NULL;
		gsize carlen = 0;
		g_autoptr (JsonNode) c
		    = json_from_string ("{\"item_type\": \"ipfs\", \"item_hash\": "
		                        "\"QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH\"}",
		                        NULL);
		g_autoptr (AcAlephMessage) store = ac_aleph_message_build (
		    "STORE", c, ac_eth_account_get_address (o->account), "TEST",
		    (gdouble)g_get_real_time () / G_USEC_PER_SEC, &error);
		g_autoptr (JsonNode) msgj = NULL;
		g_autoptr (JsonObject) meta = json_object_new ();
		g_autoptr (JsonNode) metan = json_node_new (JSON_NODE_OBJECT);
		g_autofree gchar *metas = NULL;
		g_autoptr (GBytes) mb = NULL;
		g_autoptr (GBytes) cb = NULL;
		g_autoptr (AcHttpResponse) r = NULL;
		g_autofree gchar *url = g_strdup_printf ("%s/api/v0/ipfs/add_car", d->ccn);
		AcHttpPart parts[2] = { { 0 } };
		const gchar *body;
		gsize blen;

		g_assert_no_error (error);
		g_assert_true (ac_aleph_message_sign (store, o->account, &error));
		g_assert_true (
		    g_file_get_contents (TEST_DATA_DIR "/small.car", &car, &carlen, NULL));
		json_object_set_member (meta, "message", ac_aleph_message_to_json (store));
		json_object_set_boolean_member (meta, "sync", TRUE);
		json_node_set_object (metan, meta);
		metas = json_to_string (metan, FALSE);
		mb = g_bytes_new (metas, strlen (metas));
		cb = g_bytes_new (car, carlen);
		parts[0].name = "metadata";
		parts[0].data = mb;
		parts[1].name = "file";
		parts[1].filename = "small.car";
		parts[1].content_type = "application/vnd.ipld.car";
		parts[1].data = cb;
		r = ac_http_post_multipart (d->http, url, NULL, parts, 2, AC_HTTP_ACCEPT_ANY_STATUS,
		                            NULL, &error);
		g_assert_no_error (error);
		body = ac_http_response_get_data (r, &blen);
		g_test_message ("add_car with a wrong root: HTTP %u %.*s", r->status, (int)blen,
		                body);
		g_assert_cmpuint (r->status, ==, 422);
		g_assert_nonnull (g_strstr_len (body, (gssize)blen,
		                                "QmTdmCgfHdyhMZ9XMtKLmkUHpf94TU6Yk8HQfqSvpMMp1i"));
		/* and nothing of it was kept */
		g_clear_pointer (&url, g_free);
		url = g_strdup_printf ("%s/ipfs/QmTdmCgfHdyhMZ9XMtKLmkUHpf94TU6Yk8HQfqSvpMMp1i",
		                       d->ccn);
		g_clear_pointer (&r, ac_http_response_free);
		r = ac_http_request (d->http, "GET", url, NULL, NULL, NULL,
		                     AC_HTTP_ACCEPT_ANY_STATUS, &error);
		g_assert_no_error (error);
		g_assert_cmpuint (r->status, ==, 404);
	}
	g_assert_cmpint (test_devnet_stop (d), ==, 0);
}

/* ---- payment rules and credits ---- */

static gint64
balance_of (TestDevnet *d, AcCcnClient *ccn, const gchar *address)
{
	g_autoptr (GError) error = NULL;
	gdouble credits = -1;
	g_assert_true (ac_ccn_get_credit_balance (ccn, address, &credits, &error));
	g_assert_no_error (error);
	return (gint64)credits;
}

/*
 * A rejected message is not rejected for ever: like pyaleph, a CCN processes a new copy of it
 * again (rejected → pending → processed). The item_hash is the content's sha256, so a copy with
 * a corrupted signature and one with the right signature share it.
 */
static void
test_devnet_rejected_then_resent (void)
{
	g_autoptr (GError) error = NULL;
	g_autoptr (TestDevnet) d = test_devnet_start ("", 1, &error);
	g_autoptr (Owner) o = NULL;
	g_autoptr (AcAlephMessage) m = NULL;
	g_autofree gchar *good = NULL;
	g_autofree gchar *content = NULL;
	AcPostResult res = { 0 };
	gsize n;

	g_assert_no_error (error);
	o = owner_new (d, 0);
	content = g_strdup_printf (
	    "{\"type\":\"test\",\"address\":\"%s\",\"content\":{\"n\":1},\"time\":1700000000.0}",
	    ac_eth_account_get_address (o->account));
	m = ac_aleph_message_new_inline ("POST", content, ac_eth_account_get_address (o->account),
	                                 "ETH", "TEST", 1700000000.0);
	g_assert_true (ac_aleph_message_sign (m, o->account, &error));
	g_assert_no_error (error);
	good = g_strdup (m->signature);
	/* the signature corrupted (one byte of r changed): INVALID_SIGNATURE */
	n = strlen (m->signature);
	g_assert_cmpuint (n, >, 10);
	m->signature[4] = m->signature[4] == 'a' ? 'b' : 'a';
	post_expect (o, m, AC_MESSAGE_STATUS_REJECTED, 1);
	/* the same item_hash, rightly signed: processed; with `virt-aleph message send` when it is
	 * built (the client recovers: it gets "processed", not the old rejection) */
	g_free (m->signature);
	m->signature = g_strdup (good);
	if (g_getenv ("VIRT_ALEPH") != NULL) {
		g_autofree gchar *dir
		    = g_build_filename (test_shared_dir (), "rejected-then-resent", NULL);
		g_autofree gchar *file = g_build_filename (dir, "message.json", NULL);
		g_autofree gchar *expected = g_strdup_printf ("%s processed\n", m->item_hash);
		g_autoptr (JsonNode) node = ac_aleph_message_to_json (m);
		g_autofree gchar *json = json_to_string (node, FALSE);
		g_autofree gchar *out = NULL;
		g_autoptr (GSubprocess) p = NULL;
		g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
		g_assert_true (g_file_set_contents (file, json, -1, &error));
		p = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error,
		                      g_getenv ("VIRT_ALEPH"), "message", "send", "--api", d->ccn,
		                      "--timeout", "30", file, NULL);
		g_assert_no_error (error);
		g_assert_true (g_subprocess_communicate_utf8 (p, NULL, NULL, &out, NULL, &error));
		g_assert_no_error (error);
		g_assert_cmpint (g_subprocess_get_exit_status (p), ==, 0);
		g_assert_cmpstr (out, ==, expected);
	} else {
		g_assert_true (ac_ccn_post_message (o->ccn, m, TRUE, &res, &error));
		g_assert_no_error (error);
		ac_post_result_clear (&res);
	}
	{
		g_autoptr (AcMessageInfo) info = ac_ccn_get_message (o->ccn, m->item_hash, &error);
		g_assert_no_error (error);
		g_assert_cmpint (info->status, ==, AC_MESSAGE_STATUS_PROCESSED);
	}
	/* a processed message stays processed: a bad copy changes nothing */
	m->signature[4] = m->signature[4] == 'a' ? 'b' : 'a';
	post_expect (o, m, AC_MESSAGE_STATUS_PROCESSED, -1);
	g_assert_cmpint (test_devnet_stop (d), ==, 0);
}

static void
test_devnet_payment (void)
{
	g_autoptr (GError) error = NULL;
	g_autoptr (TestDevnet) d = test_devnet_start ("\"default_credits\": 500", 1, &error);
	g_autoptr (Owner) o = NULL;
	g_autofree gchar *body = NULL;
	g_autoptr (JsonNode) k = NULL;
	guint status = 0;

	g_assert_no_error (error);
	o = owner_new (d, 0);

	/* the default: a credit STORE and a credit INSTANCE, accepted; the ledger is readable */
	g_assert_cmpint (balance_of (d, o->ccn, ac_eth_account_get_address (o->account)), ==, 500);
	g_assert_true (owner_publish (o, 16, &error));
	g_assert_no_error (error);
	{
		g_autoptr (AcMessageInfo) info = ac_ccn_get_message (o->ccn, o->store_hash, &error);
		g_autoptr (JsonNode) c = NULL;
		g_assert_no_error (error);
		c = ac_aleph_message_get_content (info->message, &error);
		g_assert_no_error (error);
		g_assert_cmpstr (
		    json_object_get_string_member (
		        json_object_get_object_member (json_node_get_object (c), "payment"),
		        "type"),
		    ==, "credit");
	}

	/* a hold INSTANCE dated after 2026-03-11 is rejected with 202, naming the payment */
	o->payment = "hold";
	g_assert_false (owner_publish (o, 16, &error));
	g_assert_nonnull (error);
	g_test_message ("hold INSTANCE: %s", error->message);
	g_assert_nonnull (strstr (error->message, "202"));
	g_assert_nonnull (strstr (error->message, "PAYMENT_REFUSED"));
	g_clear_error (&error);
	/* superfluid too */
	o->payment = "superfluid";
	g_assert_false (owner_publish (o, 16, &error));
	g_assert_nonnull (strstr (error->message, "202"));
	g_clear_error (&error);

	/* the client refuses a hold INSTANCE itself, before signing */
	g_assert_false (ac_payment_check (NULL, "INSTANCE", "hold",
	                                  (gdouble)g_get_real_time () / G_USEC_PER_SEC, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
	g_assert_nonnull (strstr (error->message, "2026-03-11"));
	g_clear_error (&error);

	/* a credit INSTANCE of an account below one hour of cost: CREDIT_INSUFFICIENT (6) */
	o->payment = "credit";
	body = g_strdup_printf ("{\"%s\": 5}", ac_eth_account_get_address (o->account));
	k = test_devnet_admin (d, "POST", "/admin/credits", body, &status);
	g_assert_cmpuint (status, ==, 200);
	g_assert_cmpint (balance_of (d, o->ccn, ac_eth_account_get_address (o->account)), ==, 5);
	g_assert_false (owner_publish (o, 16, &error));
	g_test_message ("no credit: %s", error->message);
	g_assert_nonnull (strstr (error->message, "CREDIT_INSUFFICIENT"));
	g_clear_error (&error);

	/* the CRN checks one hour of credit at notify as aleph-vm does: 402 */
	{
		g_autofree gchar *enough
		    = g_strdup_printf ("{\"%s\": 100}", ac_eth_account_get_address (o->account));
		g_clear_pointer (&k, json_node_unref);
		k = test_devnet_admin (d, "POST", "/admin/credits", enough, &status);
		g_assert_true (owner_publish (o, 16, &error));
		g_assert_no_error (error);
		g_clear_pointer (&k, json_node_unref);
		k = test_devnet_admin (d, "POST", "/admin/credits", body, &status);
		g_assert_false (ac_crn_notify_allocation (o->crnc, o->vm_hash, &error));
		g_assert_nonnull (error);
		g_test_message ("notify without credit: %s", error->message);
		g_assert_nonnull (strstr (error->message, "402"));
		g_clear_error (&error);
	}

	/* the CCN's price estimate of one hour (10 credits per vCPU here) */
	{
		g_autoptr (JsonNode) c = json_from_string (
		    "{\"environment\": {\"hypervisor\": \"qemu\"}, \"resources\": {\"vcpus\": 3,"
		    " \"memory\": 128}, \"payment\": {\"type\": \"credit\"}, \"rootfs\": "
		    "{\"parent\": {\"ref\": "
		    "\"0000000000000000000000000000000000000000000000000000000000000000\"}, "
		    "\"persistence\": \"host\", \"size_mib\": 100}}",
		    NULL);
		g_autoptr (AcAlephMessage) m = ac_aleph_message_build (
		    "INSTANCE", c, ac_eth_account_get_address (o->account), "TEST",
		    (gdouble)g_get_real_time () / G_USEC_PER_SEC, &error);
		g_autofree gchar *answer = NULL;
		g_assert_no_error (error);
		answer = ac_ccn_price_estimate (o->ccn, m, &error);
		g_assert_no_error (error);
		g_assert_nonnull (strstr (answer, "\"required_credits\":30"));
	}

	/* the devnet's clock moved past 2027-01-01: a hold STORE upload is refused (422), and
	 * the client names the rejection with its code; credit still goes */
	g_clear_pointer (&k, json_node_unref);
	k = test_devnet_admin (d, "POST", "/admin/knobs",
	                       "{\"clock_offset_s\": 31536000, "
	                       "\"payment_cutoffs\": {\"store_hold\": \"2027-01-01\"}}",
	                       &status);
	g_assert_cmpuint (status, ==, 200);
	g_assert_true (ac_ccn_client_set_store_payment (o->ccn, "hold", &error));
	{
		g_autoptr (AcAlephMessage) store = NULL;
		g_autofree gchar *cid = ac_ccn_upload_file (
		    o->ccn, AC_CCN_UPLOAD_CAR, o->image, o->account, "TEST", &store, NULL, &error);
		g_assert_null (cid);
		g_assert_nonnull (error);
		g_test_message ("hold STORE after the cutoff: %s", error->message);
		g_assert_nonnull (strstr (error->message, "rejected with error 202"));
		g_assert_null (strstr (error->message, "\"status\""));
		g_clear_error (&error);
	}
	g_assert_false (ac_ccn_client_set_store_payment (o->ccn, "superfluid", &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
	g_clear_error (&error);
	g_assert_true (ac_ccn_client_set_store_payment (o->ccn, "credit", &error));
	{
		g_autoptr (AcAlephMessage) store = NULL;
		g_autofree gchar *cid = ac_ccn_upload_file (
		    o->ccn, AC_CCN_UPLOAD_CAR, o->image, o->account, "TEST", &store, NULL, &error);
		g_assert_no_error (error);
		g_assert_nonnull (cid);
	}
	/* bad knobs are refused whole */
	g_clear_pointer (&k, json_node_unref);
	k = test_devnet_admin (d, "POST", "/admin/knobs",
	                       "{\"payment_cutoffs\": {\"store_hold\": \"soon\"}}", &status);
	g_assert_cmpuint (status, ==, 400);
	g_assert_cmpint (test_devnet_stop (d), ==, 0);
}

/* ---- fault knobs ---- */

static void
test_devnet_faults (void)
{
	g_autoptr (GError) error = NULL;
	g_autoptr (TestDevnet) d
	    = test_devnet_start ("\"knobs\": {\"processing_delay_ms\": 300}", 1, &error);
	g_autoptr (Owner) o = NULL;
	g_autoptr (JsonNode) k = NULL;
	g_autoptr (GBytes) certs = NULL;
	guint status = 0;
	gint64 t0;

	g_assert_no_error (error);
	o = owner_new (d, 0);
	/* pending → processed after the processing delay; the client polls */
	t0 = g_get_monotonic_time ();
	g_assert_true (owner_publish (o, 20, &error));
	g_assert_no_error (error);
	g_assert_cmpint (g_get_monotonic_time () - t0, >=, 2 * 300 * 1000);

	/* two 503 then success: idempotent GETs are retried */
	k = test_devnet_admin (d, "POST", "/admin/knobs",
	                       "{\"faults\": {\"crn.certificates\": {\"fail_next\": 2}}}", &status);
	g_assert_cmpuint (status, ==, 200);
	certs = ac_crn_get_certificates (o->crnc, &error);
	g_assert_no_error (error);
	g_assert_cmpuint (g_bytes_get_size (certs), ==, AC_SEV_CHAIN_EXPORT_SIZE);
	g_assert_cmpint (test_devnet_stat (d, "crn.certificates", "injected"), ==, 2);
	g_assert_cmpint (test_devnet_stat (d, "crn.certificates", "requests"), ==, 3);

	/* always failing: a clear error naming the status, after the retries */
	g_clear_pointer (&k, json_node_unref);
	k = test_devnet_admin (
	    d, "POST", "/admin/knobs",
	    "{\"faults\": {\"crn.certificates\": {\"rate\": 1.0, \"status\": 502}}}", &status);
	g_clear_pointer (&certs, g_bytes_unref);
	certs = ac_crn_get_certificates (o->crnc, &error);
	g_assert_null (certs);
	g_assert_nonnull (error);
	g_test_message ("always failing: %s", error->message);
	g_assert_nonnull (strstr (error->message, "502"));
	g_clear_error (&error);
	g_clear_pointer (&k, json_node_unref);
	k = test_devnet_admin (
	    d, "POST", "/admin/knobs",
	    "{\"faults\": {\"crn.certificates\": {\"rate\": 0}}, \"processing_delay_ms\": 0}",
	    &status);

	/* the connection dropped once mid-upload: the upload is retried and succeeds */
	g_clear_pointer (&k, json_node_unref);
	k = test_devnet_admin (
	    d, "POST", "/admin/knobs",
	    "{\"faults\": {\"ipfs.add_car\": {\"drop_after\": 65536, \"drop_next\": 1}}}", &status);
	g_assert_cmpuint (status, ==, 200);
	g_assert_true (owner_publish (o, 20, &error));
	g_assert_no_error (error);
	g_assert_cmpint (test_devnet_stat (d, "ipfs.add_car", "dropped"), ==, 1);
	/* dropped every time: fails clearly */
	g_clear_pointer (&k, json_node_unref);
	k = test_devnet_admin (
	    d, "POST", "/admin/knobs",
	    "{\"faults\": {\"ipfs.add_car\": {\"drop_after\": 65536, \"drop_next\": -1}}}",
	    &status);
	g_assert_false (owner_publish (o, 20, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_NETWORK);
	g_test_message ("dropped every time: %s", error->message);
	g_clear_error (&error);
	g_clear_pointer (&k, json_node_unref);
	k = test_devnet_admin (d, "POST", "/admin/knobs",
	                       "{\"faults\": {\"ipfs.add_car\": {\"drop_after\": 0}}}", &status);

	/* latency on the measurement */
	g_assert_true (ac_crn_notify_allocation (o->crnc, o->vm_hash, &error)
	               && owner_attest (o, TRUE, &error));
	g_assert_no_error (error);
	g_clear_pointer (&k, json_node_unref);
	k = test_devnet_admin (d, "POST", "/admin/knobs",
	                       "{\"faults\": {\"crn.measurement\": {\"latency_ms\": 250}}}",
	                       &status);
	t0 = g_get_monotonic_time ();
	g_assert_true (owner_measure (o, &error));
	g_assert_no_error (error);
	g_assert_cmpint (g_get_monotonic_time () - t0, >=, 250 * 1000);

	/* admin input errors name the knob */
	g_clear_pointer (&k, json_node_unref);
	k = test_devnet_admin (d, "POST", "/admin/knobs", "{\"faults\": {\"crn.nope\": {}}}",
	                       &status);
	g_assert_cmpuint (status, ==, 400);
	g_assert_nonnull (
	    strstr (json_object_get_string_member (json_node_get_object (k), "error"), "crn.nope"));
	g_assert_cmpint (test_devnet_stop (d), ==, 0);
}

/* virt-aleph devnet hands its arguments to aleph-devnet */
static void
test_devnet_cli (void)
{
	const gchar *virt_aleph = g_getenv ("VIRT_ALEPH");
	g_autofree gchar *dir = NULL;
	g_autoptr (GSubprocess) p = NULL;
	g_autoptr (GError) error = NULL;
	g_autoptr (GDataInputStream) in = NULL;
	g_autofree gchar *line = NULL;
	g_autoptr (JsonNode) ready = NULL;

	if (virt_aleph == NULL) {
		g_test_skip ("virt-aleph is not built");
		return;
	}
	dir = g_build_filename (test_shared_dir (), "cli-devnet", NULL);
	p = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error, virt_aleph, "devnet",
	                      "--state-dir", dir, "--crns", "2", NULL);
	g_assert_no_error (error);
	in = g_data_input_stream_new (g_subprocess_get_stdout_pipe (p));
	line = g_data_input_stream_read_line_utf8 (in, NULL, NULL, &error);
	g_assert_no_error (error);
	g_assert_nonnull (line);
	ready = json_from_string (line, &error);
	g_assert_no_error (error);
	g_assert_cmpuint (json_array_get_length (
	                      json_object_get_array_member (json_node_get_object (ready), "crns")),
	                  ==, 2);
	g_subprocess_send_signal (p, SIGTERM);
	g_assert_true (g_subprocess_wait (p, NULL, &error));
	g_assert_true (g_subprocess_get_if_exited (p));
	g_assert_cmpint (g_subprocess_get_exit_status (p), ==, 0);
}

/* ---- Aleph's TypeScript SDK agrees on the wire format ---- */

static void
test_devnet_sdk (void)
{
	g_autoptr (GError) error = NULL;
	g_autoptr (TestDevnet) d = NULL;
	const gchar *npm = g_getenv ("AC_NPM_DIR");
	const gchar *script = g_getenv ("AC_DEVNET_SDK_SCRIPT");
	const gchar *setup = g_getenv ("AC_SETUP_NPM");
	g_autofree gchar *node = g_find_program_in_path ("node");
	g_autofree gchar *out = NULL;
	g_autofree gchar *err = NULL;
	g_autofree gchar *key = NULL;
	guint8 raw[32];
	gint status = 0;

	if (node == NULL) {
		g_test_skip ("node is not installed");
		return;
	}
	{
		const gchar *argv[] = { "bash", setup, NULL };
		g_assert_true (g_spawn_sync (NULL, (gchar **)argv, NULL, G_SPAWN_SEARCH_PATH, NULL,
		                             NULL, NULL, &err, &status, &error));
		g_assert_no_error (error);
		if (!g_spawn_check_wait_status (status, NULL))
			g_error ("setup-npm.sh failed: %s", err);
		g_clear_pointer (&err, g_free);
	}
	d = test_devnet_start ("", 1, &error);
	g_assert_no_error (error);
	for (guint i = 0; i < 32; i++)
		raw[i] = (guint8)g_random_int_range (1, 255);
	key = ac_codec_hex_encode (raw, sizeof (raw));
	{
		const gchar *argv[] = { node, script, npm, d->ccn, key, NULL };
		g_assert_true (g_spawn_sync (NULL, (gchar **)argv, NULL, 0, NULL, NULL, &out, &err,
		                             &status, &error));
	}
	g_assert_no_error (error);
	if (!g_spawn_check_wait_status (status, NULL))
		g_error ("the SDK round trip failed:\n%s%s", out, err);
	g_test_message ("%s", out);
	g_assert_nonnull (strstr (out, "\"ok\":true"));
	g_assert_cmpint (test_devnet_stop (d), ==, 0);
}

int
main (int argc, char **argv)
{
	g_test_init (&argc, &argv, NULL);
	signal (SIGPIPE, SIG_IGN);
	g_test_add_func ("/devnet/start-stop", test_devnet_start_stop);
	g_test_add_func ("/devnet/flow", test_devnet_flow);
	g_test_add_func ("/devnet/auth", test_devnet_auth);
	g_test_add_func ("/devnet/restart", test_devnet_restart);
	g_test_add_func ("/devnet/ccn-rules", test_devnet_ccn_rules);
	g_test_add_func ("/devnet/ccn-version", test_devnet_ccn_version);
	g_test_add_func ("/devnet/rejected-then-resent", test_devnet_rejected_then_resent);
	g_test_add_func ("/devnet/payment", test_devnet_payment);
	g_test_add_func ("/devnet/faults", test_devnet_faults);
	g_test_add_func ("/devnet/attack/self-signed-chain", test_devnet_attack_self_signed);
	g_test_add_func ("/devnet/attack/swap-pdh", test_devnet_attack_swap_pdh);
	g_test_add_func ("/devnet/attack/other-firmware", test_devnet_attack_other_firmware);
	g_test_add_func ("/devnet/attack/replay-measurement", test_devnet_attack_replay);
	g_test_add_func ("/devnet/attack/replay-after-reboot", test_devnet_attack_replay_reboot);
	g_test_add_func ("/devnet/sdk", test_devnet_sdk);
	g_test_add_func ("/devnet/cli", test_devnet_cli);
	return g_test_run ();
}
