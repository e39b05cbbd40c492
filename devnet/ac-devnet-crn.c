/*
 * aleph-confidential devnet: a CRN (aleph-vm) with a software SEV PSP — its server and
 * attacks, request classification and dispatch, certificates, notify, the executions list and
 * status/config. The launch and the VM operations are in ac-devnet-crn-launch.c, the VM
 * records and the request auth (exactly as aleph-vm checks it) in ac-devnet-crn-vm.c.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "ac-aleph-util.h"
#include "ac-devnet-crn-launch.h"
#include "ac-devnet-crn-vm.h"
#include "ac-devnet-crn.h"
#include "ac-devnet-identity.h"
#include "ac-devnet-json.h"
#include "ac-devnet-ledger.h"
#include "ac-devnet-messages.h"
#include "ac-devnet-process.h"
#include "ac-devnet-reply.h"
#include "ac-devnet-request.h"
#include "ac-devnet-snp-vm.h"
#include "ac-devnet-snp.h"
#include "ac-json.h"
#include "ac-sev-cert.h"
#include "ac-sev-chain.h"
#include "ac-sev-measure.h"

AcDevnetCrn *
ac_devnet_crn_new (AcDevnet *self, guint index, GError **error)
{
	AcDevnetCrn *crn = g_new0 (AcDevnetCrn, 1);
	g_autofree gchar *pspdir = NULL;
	g_autofree gchar *replay = NULL;
	gchar *data = NULL;
	gsize len = 0;

	crn->devnet = self;
	crn->index = index;
	crn->name = g_strdup_printf ("devnet-crn-%u", index);
	crn->dir = g_build_filename (self->state_dir, crn->name, NULL);
	crn->vms = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
	                                  (GDestroyNotify)ac_devnet_crn_vm_free);
	pspdir = g_build_filename (crn->dir, "psp", NULL);
	crn->psp = ac_devnet_identity_platform (pspdir, self->root_dir, error);
	if (crn->psp == NULL) {
		ac_devnet_crn_free (crn);
		return NULL;
	}
	ac_sev_psp_set_firmware (crn->psp, self->api_major, self->api_minor, self->build_id);
	if (!ac_devnet_snp_crn_new (crn, error)) {
		ac_devnet_crn_free (crn);
		return NULL;
	}
	/* the node hash: stable for the state directory (sha256 of the genuine PDH) */
	crn->hash = ac_aleph_sha256_hex (
	    ac_sev_cert_get_data (ac_sev_chain_get_pdh (ac_sev_psp_get_chain (crn->psp))),
	    AC_SEV_CERT_SIZE);
	replay = g_build_filename (crn->dir, "replay-measurement.bin", NULL);
	if (g_file_get_contents (replay, &data, &len, NULL) && len == AC_SEV_MEASURE_BLOB_SIZE)
		crn->replay = g_bytes_new_take (data, len);
	else
		g_free (data);
	return crn;
}

void
ac_devnet_crn_free (AcDevnetCrn *crn)
{
	if (crn == NULL)
		return;
	if (crn->server != NULL) {
		soup_server_disconnect (crn->server);
		g_object_unref (crn->server);
	}
	g_hash_table_unref (crn->vms);
	ac_devnet_snp_crn_free (crn);
	if (crn->psp != NULL)
		ac_sev_psp_free (crn->psp);
	if (crn->psp_self != NULL)
		ac_sev_psp_free (crn->psp_self);
	if (crn->psp_alt != NULL)
		ac_sev_psp_free (crn->psp_alt);
	if (crn->replay != NULL)
		g_bytes_unref (crn->replay);
	g_free (crn->name);
	g_free (crn->hash);
	g_free (crn->url);
	g_free (crn->dir);
	g_free (crn);
}

gboolean
ac_devnet_crn_prepare_attack (AcDevnetCrn *crn, AcDevnetAttack attack, GError **error)
{
	AcDevnet *self = crn->devnet;
	if (attack == AC_DEVNET_ATTACK_SELF_SIGNED_CHAIN && crn->psp_self == NULL) {
		g_autofree gchar *dir = g_build_filename (crn->dir, "psp-self-signed", NULL);
		crn->psp_self = ac_devnet_identity_root (dir, self->rsa_bits, error);
		if (crn->psp_self == NULL)
			return FALSE;
		ac_sev_psp_set_firmware (crn->psp_self, self->api_major, self->api_minor,
		                         self->build_id);
	}
	if (attack == AC_DEVNET_ATTACK_SWAP_PDH && crn->psp_alt == NULL) {
		g_autofree gchar *dir = g_build_filename (crn->dir, "psp-swapped-pdh", NULL);
		crn->psp_alt = ac_devnet_identity_platform (dir, self->root_dir, error);
		if (crn->psp_alt == NULL)
			return FALSE;
		ac_sev_psp_set_firmware (crn->psp_alt, self->api_major, self->api_minor,
		                         self->build_id);
	}
	return ac_devnet_snp_prepare_attack (crn, attack, error);
}

AcDevnetEndpoint
ac_devnet_crn_classify (const gchar *method, const gchar *path)
{
	if (g_strcmp0 (path, "/about/certificates") == 0)
		return AC_DEVNET_EP_CRN_CERTIFICATES;
	if (g_strcmp0 (path, "/control/allocation/notify") == 0)
		return AC_DEVNET_EP_CRN_NOTIFY;
	if (g_str_has_prefix (path, "/control/machine/")) {
		if (g_str_has_suffix (path, "/confidential/initialize"))
			return AC_DEVNET_EP_CRN_INITIALIZE;
		if (g_str_has_suffix (path, "/confidential/measurement"))
			return AC_DEVNET_EP_CRN_MEASUREMENT;
		if (g_str_has_suffix (path, "/confidential/inject_secret"))
			return AC_DEVNET_EP_CRN_INJECT_SECRET;
		return AC_DEVNET_EP_CRN_OPERATE;
	}
	return AC_DEVNET_EP_CRN_OTHER;
}

/* ---- certificates ---- */

static void
crn_certificates (AcDevnetCrn *crn, SoupServerMessage *msg, const gchar *path)
{
	AcDevnetAttack attack = ac_devnet_crn_vm_attack (crn);
	g_autoptr (GBytes) chain = NULL;
	if (attack == AC_DEVNET_ATTACK_SELF_SIGNED_CHAIN && crn->psp_self != NULL) {
		chain = ac_sev_chain_to_bytes (ac_sev_psp_get_chain (crn->psp_self), FALSE);
	} else if (attack == AC_DEVNET_ATTACK_SWAP_PDH && crn->psp_alt != NULL) {
		/* the genuine PEK, OCA and CEK behind another platform's PDH */
		AcSevChain *own = ac_sev_psp_get_chain (crn->psp);
		AcSevChain *alt = ac_sev_psp_get_chain (crn->psp_alt);
		g_autoptr (AcSevChain) spliced = ac_sev_chain_new (
		    ac_sev_chain_get_pdh (alt), ac_sev_chain_get_pek (own),
		    ac_sev_chain_get_oca (own), ac_sev_chain_get_cek (own), NULL, NULL);
		chain = ac_sev_chain_to_bytes (spliced, FALSE);
	} else {
		chain = ac_sev_chain_to_bytes (ac_sev_psp_get_chain (crn->psp), FALSE);
	}
	soup_server_message_set_status (msg, 200, NULL);
	soup_message_headers_replace (soup_server_message_get_response_headers (msg),
	                              "Content-Type", "application/pkix-cert");
	soup_message_body_append_bytes (soup_server_message_get_response_body (msg), chain);
}

/* ---- notify ---- */

static void
notify_reply (SoupServerMessage *msg, guint status, const gchar *hash, const gchar *error_text)
{
	g_autoptr (JsonBuilder) b = json_builder_new ();
	g_autoptr (JsonNode) node = NULL;
	json_builder_begin_object (b);
	ac_json_builder_add_boolean (b, "success", error_text == NULL);
	ac_json_builder_add_boolean (b, "successful", error_text == NULL);
	json_builder_set_member_name (b, "failing");
	json_builder_begin_array (b);
	if (error_text != NULL)
		json_builder_add_string_value (b, hash);
	json_builder_end_array (b);
	json_builder_set_member_name (b, "errors");
	json_builder_begin_object (b);
	if (error_text != NULL) {
		ac_json_builder_add_string (b, hash, error_text);
	}
	json_builder_end_object (b);
	json_builder_end_object (b);
	node = json_builder_get_root (b);
	ac_devnet_reply_json (msg, status, node);
}

/* the VM @hash names on this CRN, made when it has none */
static AcDevnetVm *
crn_vm_lookup (AcDevnetCrn *crn, const gchar *hash)
{
	AcDevnetVm *vm = g_hash_table_lookup (crn->vms, hash);
	if (vm == NULL) {
		/* a VM known only from the store (the devnet restarted: its launch is gone) starts
		 * over as a new allocation; its counters are kept */
		g_autoptr (AcDevnetVmRow) old
		    = ac_devnet_store_get_vm (crn->devnet->store, crn->index, hash, NULL);
		if (old != NULL)
			g_clear_pointer (&old->state, g_free);
		vm = g_new0 (AcDevnetVm, 1);
		vm->row = old != NULL ? g_steal_pointer (&old) : g_new0 (AcDevnetVmRow, 1);
		vm->row->crn = crn->index;
		g_free (vm->row->vm_hash);
		vm->row->vm_hash = g_strdup (hash);
		g_hash_table_insert (crn->vms, g_strdup (hash), vm);
	}
	return vm;
}

/* the item hash of @co's rootfs.parent.ref, or %NULL */
static const gchar *
crn_rootfs_ref (JsonObject *co)
{
	JsonObject *rfs = ac_devnet_json_object_member (co, "rootfs");
	JsonObject *parent = ac_devnet_json_object_member (rfs, "parent");
	return parent != NULL ? json_object_get_string_member_with_default (parent, "ref", NULL)
	                      : NULL;
}

/* the stored file of @ref, the @what of the instance (firmware, rootfs); %NULL after a 503
 * reply naming it */
static gchar *
crn_notify_file (AcDevnetCrn *crn,
                 SoupServerMessage *msg,
                 const gchar *hash,
                 const gchar *what,
                 const gchar *ref)
{
	g_autoptr (GError) error = NULL;
	gchar *path = NULL;

	if (ref != NULL)
		path = ac_devnet_messages_store_file (crn->devnet, ref, NULL, &error);
	if (path == NULL) {
		g_autofree gchar *text
		    = g_strdup_printf ("%s %s: %s", what, ref != NULL ? ref : "(none)",
		                       error != NULL ? error->message : "missing");
		notify_reply (msg, 503, hash, text);
	}
	return path;
}

/* an SEV-SNP instance: the runtime fetched and checked, the guest booted, its agent started */
static void
crn_notify_snp (AcDevnetCrn *crn,
                SoupServerMessage *msg,
                const AcDevnetMessageRow *row,
                JsonObject *co,
                const gchar *hash)
{
	g_autoptr (GError) error = NULL;
	g_autofree gchar *rootfs = crn_notify_file (crn, msg, hash, "rootfs", crn_rootfs_ref (co));
	AcDevnetVm *vm;

	if (rootfs == NULL)
		return;
	vm = crn_vm_lookup (crn, hash);
	if (vm->row->state != NULL && g_strcmp0 (vm->row->state, "stopped") != 0
	    && g_strcmp0 (vm->row->state, "erased") != 0) {
		/* already running: aleph-vm answers success again */
		notify_reply (msg, 200, hash, NULL);
		return;
	}
	g_free (vm->row->owner);
	vm->row->owner = g_strdup (json_object_get_string_member_with_default (co, "address", ""));
	g_free (vm->rootfs_path);
	vm->rootfs_path = g_strdup (rootfs);
	if (!ac_devnet_snp_vm_allocate (crn, vm, row->msg, co, rootfs, &error)) {
		g_autofree gchar *text = g_strdup_printf ("SEV-SNP instance: %s", error->message);
		ac_devnet_crn_vm_set_error (crn, vm, text);
		if (vm->row->state == NULL)
			ac_devnet_crn_vm_set_state (crn, vm, "stopped");
		notify_reply (msg, 503, hash, text);
		return;
	}
	g_free (vm->row->last_error);
	vm->row->last_error = NULL;
	ac_devnet_crn_vm_set_state (crn, vm, "running");
	notify_reply (msg, 200, hash, NULL);
}

static void
crn_notify (AcDevnetCrn *crn, SoupServerMessage *msg, const gchar *path)
{
	AcDevnet *self = crn->devnet;
	g_autoptr (GBytes) body = ac_devnet_request_body (msg);
	g_autoptr (GError) error = NULL;
	g_autoptr (AcDevnetMessageRow) row = NULL;
	g_autoptr (JsonNode) content = NULL;
	g_autofree gchar *rootfs = NULL;
	g_autofree gchar *firmware = NULL;
	g_autofree gchar *hash = NULL;
	JsonObject *co, *env, *te, *req, *node;
	const gchar *node_hash;
	AcDevnetVm *vm;
	gsize len = 0;
	const gchar *data = g_bytes_get_data (body, &len);

	hash = ac_devnet_request_parse_notify (data, len, &error);
	if (hash == NULL) {
		ac_devnet_reply_error (msg, 400, "%s", error->message);
		return;
	}
	ac_devnet_process_due (self);
	row = ac_devnet_store_get_message (self->store, hash, NULL);
	if (row == NULL || g_strcmp0 (row->status, "processed") != 0) {
		ac_devnet_reply_text (msg, 404, "Hash not found");
		return;
	}
	if (g_strcmp0 (row->msg->type, "INSTANCE") != 0) {
		ac_devnet_reply_text (msg, 400, "Message is not an instance");
		return;
	}
	content = ac_devnet_messages_content (self, row->msg, NULL);
	co = content != NULL && JSON_NODE_HOLDS_OBJECT (content) ? json_node_get_object (content)
	                                                         : NULL;
	req = ac_devnet_json_object_member (co, "requirements");
	node = ac_devnet_json_object_member (req, "node");
	node_hash = node != NULL
	                ? json_object_get_string_member_with_default (node, "node_hash", NULL)
	                : NULL;
	if (node_hash != NULL && g_strcmp0 (node_hash, crn->hash) != 0) {
		ac_devnet_reply_text (msg, 400, "Instance is allocated to a different node");
		return;
	}
	/* aleph-vm's payment check: a credit instance needs one hour of credit */
	{
		JsonObject *payment = ac_devnet_json_object_member (co, "payment");
		const gchar *ptype
		    = payment != NULL
		          ? json_object_get_string_member_with_default (payment, "type", "hold")
		          : "hold";
		const gchar *owner = json_object_get_string_member_with_default (co, "address", "");
		if (g_strcmp0 (ptype, "credit") == 0
		    && ac_devnet_ledger_credits_get (self, owner)
		           < ac_devnet_ledger_instance_hourly_cost (co)) {
			ac_devnet_reply_text (msg, 402, "Insufficient credits");
			return;
		}
	}
	env = ac_devnet_json_object_member (co, "environment");
	te = ac_devnet_json_object_member (env, "trusted_execution");
	if (te == NULL) {
		notify_reply (msg, 503, hash,
		              "devnet CRNs run confidential instances only (no trusted_execution)");
		return;
	}
	if (ac_devnet_snp_vm_is_snp (co)) {
		if (self->crn_no_snp[crn->index]) {
			notify_reply (msg, 503, hash,
			              "this node has no SEV-SNP (crns[].snp = false)");
			return;
		}
		crn_notify_snp (crn, msg, row, co, hash);
		return;
	}
	firmware
	    = crn_notify_file (crn, msg, hash, "firmware",
	                       json_object_get_string_member_with_default (te, "firmware", NULL));
	if (firmware == NULL)
		return;
	rootfs = crn_notify_file (crn, msg, hash, "rootfs", crn_rootfs_ref (co));
	if (rootfs == NULL)
		return;
	vm = crn_vm_lookup (crn, hash);
	if (vm->row->state == NULL || g_strcmp0 (vm->row->state, "stopped") == 0
	    || g_strcmp0 (vm->row->state, "erased") == 0) {
		g_free (vm->row->owner);
		vm->row->owner
		    = g_strdup (json_object_get_string_member_with_default (co, "address", ""));
		g_free (vm->firmware_path);
		vm->firmware_path = g_steal_pointer (&firmware);
		g_free (vm->rootfs_path);
		vm->rootfs_path = g_steal_pointer (&rootfs);
		vm->policy = (guint32)json_object_get_int_member_with_default (te, "policy", 1);
		ac_devnet_crn_vm_set_state (crn, vm, "awaiting_init");
	}
	notify_reply (msg, 200, hash, NULL);
}

static void
crn_executions (AcDevnetCrn *crn, SoupServerMessage *msg, gboolean v2)
{
	g_autoptr (JsonNode) node = json_node_new (JSON_NODE_OBJECT);
	JsonObject *o = json_object_new ();
	GHashTableIter it;
	gpointer key, value;
	json_node_take_object (node, o);
	g_hash_table_iter_init (&it, crn->vms);
	while (g_hash_table_iter_next (&it, &key, &value)) {
		AcDevnetVm *vm = value;
		JsonObject *e;
		JsonObject *net;
		gboolean awaiting = g_strcmp0 (vm->row->state, "awaiting_init") == 0;
		gboolean running = g_strcmp0 (vm->row->state, "running") == 0
		                   || g_strcmp0 (vm->row->state, "paused") == 0;
		if (!awaiting && !running)
			continue;
		e = json_object_new ();
		net = json_object_new ();
		json_object_set_null_member (net, "ipv4");
		/* aleph-vm gives each VM an address of the CRN's IPv6 range: here a ULA one, per
		 * CRN, from the VM's hash */
		{
			const gchar *h = key;
			g_autofree gchar *ipv6 = g_strdup_printf ("fd61:6c65:7068:%x::%.4s:%.4s",
			                                          crn->index, h, h + 4);
			json_object_set_string_member (net, "ipv6", ipv6);
		}
		/* an SEV-SNP instance: its agent's port, mapped on the host's loopback */
		ac_devnet_snp_vm_networking (vm->snp, net);
		json_object_set_object_member (e, "networking", net);
		json_object_set_string_member (e, "vm_type", "instance");
		json_object_set_boolean_member (e, "awaiting_confidential_init", awaiting);
		if (v2)
			json_object_set_boolean_member (e, "running", running);
		json_object_set_object_member (o, key, e);
	}
	ac_devnet_reply_json (msg, 200, node);
}

static void
crn_status_config (AcDevnetCrn *crn, SoupServerMessage *msg)
{
	g_autoptr (JsonBuilder) b = json_builder_new ();
	g_autoptr (JsonNode) node = NULL;
	json_builder_begin_object (b);
	ac_json_builder_add_string (b, "DOMAIN_NAME", AC_DEVNET_HOST);
	ac_json_builder_add_string (b, "node_hash", crn->hash);
	ac_json_builder_add_string (b, "version", "devnet-" PACKAGE_VERSION);
	json_builder_set_member_name (b, "computing");
	json_builder_begin_object (b);
	ac_json_builder_add_boolean (b, "ENABLE_QEMU_SUPPORT", TRUE);
	ac_json_builder_add_string (b, "INSTANCE_DEFAULT_HYPERVISOR", "qemu");
	ac_json_builder_add_boolean (b, "ENABLE_CONFIDENTIAL_COMPUTING", TRUE);
	ac_json_builder_add_boolean (b, "ENABLE_GPU_SUPPORT", FALSE);
	json_builder_end_object (b);
	json_builder_end_object (b);
	node = json_builder_get_root (b);
	ac_devnet_reply_json (msg, 200, node);
}

/* the endpoints of one method: GET (or HEAD), else POST */
static const struct {
	AcDevnetEndpoint ep;
	gboolean post;
	void (*handle) (AcDevnetCrn *crn, SoupServerMessage *msg, const gchar *path);
} crn_routes[] = {
	{ AC_DEVNET_EP_CRN_CERTIFICATES, FALSE, crn_certificates },
	{ AC_DEVNET_EP_CRN_NOTIFY, TRUE, crn_notify },
	{ AC_DEVNET_EP_CRN_INITIALIZE, TRUE, ac_devnet_crn_launch_initialize },
	{ AC_DEVNET_EP_CRN_MEASUREMENT, FALSE, ac_devnet_crn_launch_measurement },
	{ AC_DEVNET_EP_CRN_INJECT_SECRET, TRUE, ac_devnet_crn_launch_inject_secret },
};

gboolean
ac_devnet_crn_handle (AcDevnetCrn *crn,
                      AcDevnetEndpoint ep,
                      SoupServerMessage *msg,
                      const gchar *path)
{
	const gchar *method = soup_server_message_get_method (msg);
	gboolean get = g_strcmp0 (method, "GET") == 0 || g_strcmp0 (method, "HEAD") == 0;
	gboolean post = g_strcmp0 (method, "POST") == 0;

	if (g_strcmp0 (method, "OPTIONS") == 0) {
		ac_devnet_reply_cors_preflight (msg);
		return TRUE;
	}
	for (gsize i = 0; i < G_N_ELEMENTS (crn_routes); i++) {
		if (crn_routes[i].ep != ep)
			continue;
		if (crn_routes[i].post ? post : get)
			crn_routes[i].handle (crn, msg, path);
		else
			ac_devnet_reply_error (msg, 405, "%s is not allowed on %s", method, path);
		return TRUE;
	}
	if (ep == AC_DEVNET_EP_CRN_OPERATE) {
		if (g_str_has_suffix (path, "/logs"))
			ac_devnet_crn_vm_logs (crn, msg, path);
		else
			ac_devnet_crn_launch_operate (crn, msg, path);
		return TRUE;
	}
	if (get && g_strcmp0 (path, "/status/config") == 0) {
		crn_status_config (crn, msg);
		return TRUE;
	}
	if (get
	    && (g_strcmp0 (path, "/about/executions/list") == 0
	        || g_strcmp0 (path, "/v2/about/executions/list") == 0)) {
		crn_executions (crn, msg, g_str_has_prefix (path, "/v2/"));
		return TRUE;
	}
	ac_devnet_reply_error (msg, 404, "no devnet CRN endpoint %s %s", method, path);
	return TRUE;
}
