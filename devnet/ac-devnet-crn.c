/*
 * aleph-confidential devnet: a CRN (aleph-vm) with a software SEV PSP — auth exactly as
 * aleph-vm checks it, notify, certificates, confidential initialize / measurement /
 * inject_secret with real LAUNCH_* commands and the LUKS passphrase check, reboot, stop, erase,
 * and the attacks.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <openssl/crypto.h>

#include "ac-aleph-util.h"
#include "ac-crn-auth.h"
#include "ac-devnet-crn.h"
#include "ac-devnet-disk.h"
#include "ac-devnet-identity.h"
#include "ac-devnet-json.h"
#include "ac-devnet-ledger.h"
#include "ac-devnet-messages.h"
#include "ac-devnet-process.h"
#include "ac-devnet-reply.h"
#include "ac-devnet-request.h"
#include "ac-devnet-time.h"
#include "ac-error.h"
#include "ac-sev-cert.h"
#include "ac-sev-chain.h"
#include "ac-sev-guid.h"
#include "ac-sev-measure.h"
#include "ac-sev-secret.h"
#include "ac-sev-session.h"

/* a VM on one CRN: launch context (in memory) + the audit row (in the store) */
typedef struct {
	AcDevnetVmRow *row;
	guint32 policy;
	gchar *rootfs_path;
	gchar *firmware_path;
	GBytes *session;      /* 128 bytes */
	GBytes *godh;         /* 2084 bytes */
	AcSevPsp *launch_psp; /* borrowed: the PSP the VM was launched on */
	guint32 handle;
	guint8 measure[48];
	gboolean measured;
	guint64 secret_gpa;
} AcDevnetVm;

static void
vm_free(AcDevnetVm *vm)
{
	ac_devnet_store_vm_row_free(vm->row);
	g_free(vm->rootfs_path);
	g_free(vm->firmware_path);
	if (vm->session != NULL)
		g_bytes_unref(vm->session);
	if (vm->godh != NULL)
		g_bytes_unref(vm->godh);
	g_free(vm);
}

AcDevnetCrn *
ac_devnet_crn_new(AcDevnet *self, guint index, GError **error)
{
	AcDevnetCrn *crn = g_new0(AcDevnetCrn, 1);
	g_autofree gchar *pspdir = NULL;
	g_autofree gchar *replay = NULL;
	gchar *data = NULL;
	gsize len = 0;

	crn->devnet = self;
	crn->index = index;
	crn->name = g_strdup_printf("devnet-crn-%u", index);
	crn->dir = g_build_filename(self->state_dir, crn->name, NULL);
	crn->vms = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)vm_free);
	pspdir = g_build_filename(crn->dir, "psp", NULL);
	crn->psp = ac_devnet_identity_platform(pspdir, self->root_dir, error);
	if (crn->psp == NULL) {
		ac_devnet_crn_free(crn);
		return NULL;
	}
	ac_sev_psp_set_firmware(crn->psp, self->api_major, self->api_minor, self->build_id);
	/* the node hash: stable for the state directory (sha256 of the genuine PDH) */
	crn->hash = ac_aleph_sha256_hex(
	    ac_sev_cert_get_data(ac_sev_chain_get_pdh(ac_sev_psp_get_chain(crn->psp))),
	    AC_SEV_CERT_SIZE);
	replay = g_build_filename(crn->dir, "replay-measurement.bin", NULL);
	if (g_file_get_contents(replay, &data, &len, NULL) && len == AC_SEV_MEASURE_BLOB_SIZE)
		crn->replay = g_bytes_new_take(data, len);
	else
		g_free(data);
	return crn;
}

void
ac_devnet_crn_free(AcDevnetCrn *crn)
{
	if (crn == NULL)
		return;
	if (crn->server != NULL) {
		soup_server_disconnect(crn->server);
		g_object_unref(crn->server);
	}
	g_hash_table_unref(crn->vms);
	if (crn->psp != NULL)
		ac_sev_psp_free(crn->psp);
	if (crn->psp_self != NULL)
		ac_sev_psp_free(crn->psp_self);
	if (crn->psp_alt != NULL)
		ac_sev_psp_free(crn->psp_alt);
	if (crn->replay != NULL)
		g_bytes_unref(crn->replay);
	g_free(crn->name);
	g_free(crn->hash);
	g_free(crn->url);
	g_free(crn->dir);
	g_free(crn);
}

gboolean
ac_devnet_crn_prepare_attack(AcDevnetCrn *crn, AcDevnetAttack attack, GError **error)
{
	AcDevnet *self = crn->devnet;
	if (attack == AC_DEVNET_ATTACK_SELF_SIGNED_CHAIN && crn->psp_self == NULL) {
		g_autofree gchar *dir = g_build_filename(crn->dir, "psp-self-signed", NULL);
		crn->psp_self = ac_devnet_identity_root(dir, self->rsa_bits, error);
		if (crn->psp_self == NULL)
			return FALSE;
		ac_sev_psp_set_firmware(crn->psp_self, self->api_major, self->api_minor,
		                        self->build_id);
	}
	if (attack == AC_DEVNET_ATTACK_SWAP_PDH && crn->psp_alt == NULL) {
		g_autofree gchar *dir = g_build_filename(crn->dir, "psp-swapped-pdh", NULL);
		crn->psp_alt = ac_devnet_identity_platform(dir, self->root_dir, error);
		if (crn->psp_alt == NULL)
			return FALSE;
		ac_sev_psp_set_firmware(crn->psp_alt, self->api_major, self->api_minor,
		                        self->build_id);
	}
	return TRUE;
}

static AcDevnetAttack
crn_attack(AcDevnetCrn *crn)
{
	return crn->devnet->knobs.attacks[crn->index];
}

AcDevnetEndpoint
ac_devnet_crn_classify(const gchar *method, const gchar *path)
{
	if (g_strcmp0(path, "/about/certificates") == 0)
		return AC_DEVNET_EP_CRN_CERTIFICATES;
	if (g_strcmp0(path, "/control/allocation/notify") == 0)
		return AC_DEVNET_EP_CRN_NOTIFY;
	if (g_str_has_prefix(path, "/control/machine/")) {
		if (g_str_has_suffix(path, "/confidential/initialize"))
			return AC_DEVNET_EP_CRN_INITIALIZE;
		if (g_str_has_suffix(path, "/confidential/measurement"))
			return AC_DEVNET_EP_CRN_MEASUREMENT;
		if (g_str_has_suffix(path, "/confidential/inject_secret"))
			return AC_DEVNET_EP_CRN_INJECT_SECRET;
		return AC_DEVNET_EP_CRN_OPERATE;
	}
	return AC_DEVNET_EP_CRN_OTHER;
}

/* ---- VM records ---- */

static gboolean
vm_save(AcDevnetCrn *crn, AcDevnetVm *vm)
{
	g_autoptr(GError) error = NULL;
	vm->row->updated = ac_devnet_time_now();
	if (!ac_devnet_store_put_vm(crn->devnet->store, vm->row, &error)) {
		g_warning("%s", error->message);
		return FALSE;
	}
	return TRUE;
}

static void
vm_set_state(AcDevnetCrn *crn, AcDevnetVm *vm, const gchar *state)
{
	g_free(vm->row->state);
	vm->row->state = g_strdup(state);
	vm_save(crn, vm);
}

static void
vm_set_error(AcDevnetCrn *crn, AcDevnetVm *vm, const gchar *text)
{
	g_free(vm->row->last_error);
	vm->row->last_error = g_strdup(text);
	vm_save(crn, vm);
}

static void
vm_release_launch(AcDevnetVm *vm)
{
	if (vm->launch_psp != NULL && vm->handle != 0)
		ac_sev_psp_decommission(vm->launch_psp, vm->handle);
	vm->launch_psp = NULL;
	vm->handle = 0;
	vm->measured = FALSE;
}

/* ---- authentication and authorization ---- */

/* the VM at /control/machine/{ref}/…; replies and returns NULL on failure */
static AcDevnetVm *
crn_authorize(AcDevnetCrn *crn, SoupServerMessage *msg, const gchar *path, gchar **ref_out)
{
	SoupMessageHeaders *h = soup_server_message_get_request_headers(msg);
	const gchar *method = soup_server_message_get_method(msg);
	const gchar *rest = path + strlen("/control/machine/");
	const gchar *slash = strchr(rest, '/');
	g_autofree gchar *ref
	    = slash != NULL ? g_strndup(rest, (gsize)(slash - rest)) : g_strdup(rest);
	g_autoptr(GDateTime) now = g_date_time_new_now_utc();
	g_autoptr(GDateTime) skewed
	    = g_date_time_add_seconds(now, (gdouble)crn->devnet->knobs.clock_skew_s);
	g_autoptr(GError) error = NULL;
	g_autofree gchar *sender = NULL;
	guint status = 400;
	AcDevnetVm *vm;

	if (!ac_item_hash_is_valid(ref) || strlen(ref) != 64) {
		ac_devnet_reply_text(msg, 400, "Invalid ref");
		return NULL;
	}
	if (!ac_crn_auth_verify_request(soup_message_headers_get_one(h, "X-SignedPubKey"),
	                                soup_message_headers_get_one(h, "X-SignedOperation"),
	                                AC_DEVNET_HOST, method, path, skewed, &sender, &status,
	                                &error)) {
		ac_devnet_reply_error(msg, status, "%s", error->message);
		return NULL;
	}
	vm = g_hash_table_lookup(crn->vms, ref);
	if (vm == NULL || g_strcmp0(vm->row->state, "erased") == 0) {
		g_autofree gchar *text = g_strdup_printf("No virtual machine with ref %s", ref);
		ac_devnet_reply_text(msg, 404, text);
		return NULL;
	}
	if (!ac_eth_address_equal(sender, vm->row->owner)
	    && !ac_devnet_messages_is_delegate(crn->devnet, vm->row->owner, sender, "INSTANCE")) {
		ac_devnet_reply_text(msg, 403, "Unauthorized sender");
		return NULL;
	}
	if (ref_out != NULL)
		*ref_out = g_steal_pointer(&ref);
	return vm;
}

/* ---- certificates ---- */

static void
crn_certificates(AcDevnetCrn *crn, SoupServerMessage *msg)
{
	AcDevnetAttack attack = crn_attack(crn);
	g_autoptr(GBytes) chain = NULL;
	if (attack == AC_DEVNET_ATTACK_SELF_SIGNED_CHAIN && crn->psp_self != NULL) {
		chain = ac_sev_chain_to_bytes(ac_sev_psp_get_chain(crn->psp_self), FALSE);
	} else if (attack == AC_DEVNET_ATTACK_SWAP_PDH && crn->psp_alt != NULL) {
		/* the genuine PEK, OCA and CEK behind another platform's PDH */
		AcSevChain *own = ac_sev_psp_get_chain(crn->psp);
		AcSevChain *alt = ac_sev_psp_get_chain(crn->psp_alt);
		g_autoptr(AcSevChain) spliced = ac_sev_chain_new(
		    ac_sev_chain_get_pdh(alt), ac_sev_chain_get_pek(own), ac_sev_chain_get_oca(own),
		    ac_sev_chain_get_cek(own), NULL, NULL);
		chain = ac_sev_chain_to_bytes(spliced, FALSE);
	} else {
		chain = ac_sev_chain_to_bytes(ac_sev_psp_get_chain(crn->psp), FALSE);
	}
	soup_server_message_set_status(msg, 200, NULL);
	soup_message_headers_replace(soup_server_message_get_response_headers(msg), "Content-Type",
	                             "application/pkix-cert");
	soup_message_body_append_bytes(soup_server_message_get_response_body(msg), chain);
}

/* ---- notify ---- */

static void
notify_reply(SoupServerMessage *msg, guint status, const gchar *hash, const gchar *error_text)
{
	g_autoptr(JsonBuilder) b = json_builder_new();
	g_autoptr(JsonNode) node = NULL;
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "success");
	json_builder_add_boolean_value(b, error_text == NULL);
	json_builder_set_member_name(b, "successful");
	json_builder_add_boolean_value(b, error_text == NULL);
	json_builder_set_member_name(b, "failing");
	json_builder_begin_array(b);
	if (error_text != NULL)
		json_builder_add_string_value(b, hash);
	json_builder_end_array(b);
	json_builder_set_member_name(b, "errors");
	json_builder_begin_object(b);
	if (error_text != NULL) {
		json_builder_set_member_name(b, hash);
		json_builder_add_string_value(b, error_text);
	}
	json_builder_end_object(b);
	json_builder_end_object(b);
	node = json_builder_get_root(b);
	ac_devnet_reply_json(msg, status, node);
}

static void
crn_notify(AcDevnetCrn *crn, SoupServerMessage *msg)
{
	AcDevnet *self = crn->devnet;
	g_autoptr(GBytes) body = ac_devnet_request_body(msg);
	g_autoptr(GError) error = NULL;
	g_autoptr(AcDevnetMessageRow) row = NULL;
	g_autoptr(JsonNode) content = NULL;
	g_autofree gchar *rootfs = NULL;
	g_autofree gchar *firmware = NULL;
	g_autofree gchar *hash = NULL;
	JsonObject *co, *env, *te, *req, *node, *rfs, *parent;
	const gchar *node_hash, *fw_ref, *rootfs_ref;
	AcDevnetVm *vm;
	gsize len = 0;
	const gchar *data = g_bytes_get_data(body, &len);

	hash = ac_devnet_request_parse_notify(data, len, &error);
	if (hash == NULL) {
		ac_devnet_reply_error(msg, 400, "%s", error->message);
		return;
	}
	ac_devnet_process_due(self);
	row = ac_devnet_store_get_message(self->store, hash, NULL);
	if (row == NULL || g_strcmp0(row->status, "processed") != 0) {
		ac_devnet_reply_text(msg, 404, "Hash not found");
		return;
	}
	if (g_strcmp0(row->msg->type, "INSTANCE") != 0) {
		ac_devnet_reply_text(msg, 400, "Message is not an instance");
		return;
	}
	content = ac_devnet_messages_content(self, row->msg, NULL);
	co = content != NULL && JSON_NODE_HOLDS_OBJECT(content) ? json_node_get_object(content)
	                                                        : NULL;
	req = ac_devnet_json_object_member(co, "requirements");
	node = ac_devnet_json_object_member(req, "node");
	node_hash = node != NULL
	                ? json_object_get_string_member_with_default(node, "node_hash", NULL)
	                : NULL;
	if (node_hash != NULL && g_strcmp0(node_hash, crn->hash) != 0) {
		ac_devnet_reply_text(msg, 400, "Instance is allocated to a different node");
		return;
	}
	/* aleph-vm's payment check: a credit instance needs one hour of credit */
	{
		JsonObject *payment = ac_devnet_json_object_member(co, "payment");
		const gchar *ptype = payment != NULL ? json_object_get_string_member_with_default(
		                                           payment, "type", "hold")
		                                     : "hold";
		const gchar *owner = json_object_get_string_member_with_default(co, "address", "");
		if (g_strcmp0(ptype, "credit") == 0
		    && ac_devnet_ledger_credits_get(self, owner) < ac_devnet_ledger_instance_hourly_cost(co)) {
			ac_devnet_reply_text(msg, 402, "Insufficient credits");
			return;
		}
	}
	env = ac_devnet_json_object_member(co, "environment");
	te = ac_devnet_json_object_member(env, "trusted_execution");
	if (te == NULL) {
		notify_reply(msg, 503, hash,
		             "devnet CRNs run confidential instances only (no trusted_execution)");
		return;
	}
	fw_ref = json_object_get_string_member_with_default(te, "firmware", NULL);
	rfs = ac_devnet_json_object_member(co, "rootfs");
	parent = ac_devnet_json_object_member(rfs, "parent");
	rootfs_ref = parent != NULL
	                 ? json_object_get_string_member_with_default(parent, "ref", NULL)
	                 : NULL;
	if (fw_ref == NULL
	    || (firmware = ac_devnet_messages_store_file(self, fw_ref, NULL, &error)) == NULL) {
		g_autofree gchar *text
		    = g_strdup_printf("firmware %s: %s", fw_ref != NULL ? fw_ref : "(none)",
		                      error != NULL ? error->message : "missing");
		notify_reply(msg, 503, hash, text);
		return;
	}
	if (rootfs_ref == NULL
	    || (rootfs = ac_devnet_messages_store_file(self, rootfs_ref, NULL, &error)) == NULL) {
		g_autofree gchar *text
		    = g_strdup_printf("rootfs %s: %s", rootfs_ref != NULL ? rootfs_ref : "(none)",
		                      error != NULL ? error->message : "missing");
		notify_reply(msg, 503, hash, text);
		return;
	}
	vm = g_hash_table_lookup(crn->vms, hash);
	if (vm == NULL) {
		/* a VM known only from the store (the devnet restarted: its launch is gone) starts
		 * over as a new allocation; its counters are kept */
		g_autoptr(AcDevnetVmRow) old
		    = ac_devnet_store_get_vm(self->store, crn->index, hash, NULL);
		if (old != NULL)
			g_clear_pointer(&old->state, g_free);
		vm = g_new0(AcDevnetVm, 1);
		vm->row = old != NULL ? g_steal_pointer(&old) : g_new0(AcDevnetVmRow, 1);
		vm->row->crn = crn->index;
		g_free(vm->row->vm_hash);
		vm->row->vm_hash = g_strdup(hash);
		g_hash_table_insert(crn->vms, g_strdup(hash), vm);
	}
	if (vm->row->state == NULL || g_strcmp0(vm->row->state, "stopped") == 0
	    || g_strcmp0(vm->row->state, "erased") == 0) {
		g_free(vm->row->owner);
		vm->row->owner
		    = g_strdup(json_object_get_string_member_with_default(co, "address", ""));
		g_free(vm->firmware_path);
		vm->firmware_path = g_steal_pointer(&firmware);
		g_free(vm->rootfs_path);
		vm->rootfs_path = g_steal_pointer(&rootfs);
		vm->policy = (guint32)json_object_get_int_member_with_default(te, "policy", 1);
		vm_set_state(crn, vm, "awaiting_init");
	}
	notify_reply(msg, 200, hash, NULL);
}

/* ---- launch ---- */

static GBytes *
other_firmware(GBytes *fw)
{
	gsize len = 0;
	const guint8 *p = g_bytes_get_data(fw, &len);
	guint8 *copy = g_memdup2(p, len);
	/* another build: same size, different code bytes in the middle */
	for (gsize i = len / 2; i < len / 2 + 16 && i < len; i++)
		copy[i] ^= 0xa5;
	return g_bytes_new_take(copy, len);
}

static AcSevPsp *
crn_launch_psp(AcDevnetCrn *crn)
{
	switch (crn_attack(crn)) {
	case AC_DEVNET_ATTACK_SELF_SIGNED_CHAIN:
		return crn->psp_self != NULL ? crn->psp_self : crn->psp;
	case AC_DEVNET_ATTACK_SWAP_PDH:
		return crn->psp_alt != NULL ? crn->psp_alt : crn->psp;
	default:
		return crn->psp;
	}
}

/* LAUNCH_START with the stored session, LAUNCH_UPDATE_DATA of the firmware, LAUNCH_MEASURE */
static gboolean
crn_launch(AcDevnetCrn *crn, AcDevnetVm *vm, GError **error)
{
	AcSevPsp *psp = crn_launch_psp(crn);
	g_autoptr(GMappedFile) mf = NULL;
	g_autoptr(GBytes) fw = NULL;
	g_autoptr(AcSevOvmf) ovmf = NULL;
	guint32 handle = 0;
	guint32 base = 0, size = 0;
	guint32 mlen = AC_SEV_MEASURE_BLOB_SIZE;
	AcSevStatus st;
	gsize fwlen = 0;
	const guint8 *fwp;

	vm_release_launch(vm);
	mf = g_mapped_file_new(vm->firmware_path, FALSE, error);
	if (mf == NULL)
		return FALSE;
	fw = g_mapped_file_get_bytes(mf);
	if (crn_attack(crn) == AC_DEVNET_ATTACK_OTHER_FIRMWARE) {
		GBytes *other = other_firmware(fw);
		g_bytes_unref(fw);
		fw = other;
	}
	fwp = g_bytes_get_data(fw, &fwlen);
	if (fwlen == 0 || fwlen % 16 != 0 || fwlen > G_MAXUINT32) {
		g_set_error(error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		            "firmware of %" G_GSIZE_FORMAT " bytes is not a multiple of 16", fwlen);
		return FALSE;
	}
	st = ac_sev_psp_launch_start(psp, &handle, vm->policy, g_bytes_get_data(vm->godh, NULL),
	                             (guint32)g_bytes_get_size(vm->godh),
	                             g_bytes_get_data(vm->session, NULL),
	                             (guint32)g_bytes_get_size(vm->session));
	if (st != AC_SEV_STATUS_SUCCESS) {
		g_set_error(error, AC_ERROR, AC_ERROR_REFUSED,
		            "sev_launch_start: LAUNCH_START fw_error=%u %s (%s)", st,
		            ac_sev_status_to_string(st),
		            ac_sev_psp_get_last_message(psp) != NULL
		                ? ac_sev_psp_get_last_message(psp)
		                : "");
		return FALSE;
	}
	vm->launch_psp = psp;
	vm->handle = handle;
	/* pflash unit 0 below 4 GiB, as QEMU maps it */
	st = ac_sev_psp_launch_update_data(psp, handle, G_GUINT64_CONSTANT(0x100000000) - fwlen,
	                                   fwp, (guint32)fwlen);
	if (st == AC_SEV_STATUS_SUCCESS)
		st = ac_sev_psp_launch_measure(psp, handle, vm->measure, &mlen);
	if (st != AC_SEV_STATUS_SUCCESS) {
		g_set_error(error, AC_ERROR, AC_ERROR_INTERNAL, "software PSP: %s (%s)",
		            ac_sev_status_to_string(st),
		            ac_sev_psp_get_last_message(psp) != NULL
		                ? ac_sev_psp_get_last_message(psp)
		                : "");
		vm_release_launch(vm);
		return FALSE;
	}
	vm->measured = TRUE;
	/* where the secret goes: the OVMF's SEV secret area, else a fixed page */
	vm->secret_gpa = AC_DEVNET_SECRET_GPA_FALLBACK;
	ovmf = ac_sev_ovmf_parse(fwp, fwlen, NULL);
	if (ovmf != NULL && ac_sev_ovmf_get_secret_area(ovmf, &base, &size, NULL) && base != 0
	    && size >= 4096 && base % 16 == 0)
		vm->secret_gpa = base;
	if (crn_attack(crn) == AC_DEVNET_ATTACK_REPLAY_MEASUREMENT) {
		if (crn->replay != NULL) {
			memcpy(vm->measure, g_bytes_get_data(crn->replay, NULL),
			       AC_SEV_MEASURE_BLOB_SIZE);
		} else {
			g_autofree gchar *path
			    = g_build_filename(crn->dir, "replay-measurement.bin", NULL);
			crn->replay = g_bytes_new(vm->measure, AC_SEV_MEASURE_BLOB_SIZE);
			g_file_set_contents(path, (const gchar *)vm->measure,
			                    AC_SEV_MEASURE_BLOB_SIZE, NULL);
		}
	}
	vm->row->launches++;
	return TRUE;
}

static void
code_reply(SoupServerMessage *msg, guint status, const gchar *code, const gchar *description)
{
	g_autoptr(JsonBuilder) b = json_builder_new();
	g_autoptr(JsonNode) node = NULL;
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "code");
	json_builder_add_string_value(b, code);
	json_builder_set_member_name(b, "description");
	json_builder_add_string_value(b, description);
	json_builder_end_object(b);
	node = json_builder_get_root(b);
	ac_devnet_reply_json(msg, status, node);
}

static void
vm_running_reply(SoupServerMessage *msg)
{
	code_reply(msg, 400, "vm_running", "Operation not allowed, instance already running");
}

static void
crn_initialize(AcDevnetCrn *crn, SoupServerMessage *msg, const gchar *path)
{
	g_autofree gchar *ref = NULL;
	AcDevnetVm *vm = crn_authorize(crn, msg, path, &ref);
	SoupMessageHeaders *h = soup_server_message_get_request_headers(msg);
	g_autoptr(GBytes) body = NULL;
	g_autoptr(GBytes) session = NULL;
	g_autoptr(GBytes) godh = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *started = NULL;
	const gchar *code = NULL;

	if (vm == NULL)
		return;
	if (g_strcmp0(vm->row->state, "paused") == 0 || g_strcmp0(vm->row->state, "running") == 0) {
		vm_running_reply(msg);
		return;
	}
	if (g_strcmp0(vm->row->state, "awaiting_init") != 0) {
		g_autofree gchar *text = g_strdup_printf("No virtual machine with ref %s", ref);
		ac_devnet_reply_text(msg, 404, text);
		return;
	}
	body = ac_devnet_request_body(msg);
	if (!ac_devnet_request_parse_initialize(soup_message_headers_get_one(h, "Content-Type"), body,
	                                &session, &godh, &code, &error)) {
		code_reply(msg, 400, code, error->message);
		return;
	}
	g_clear_pointer(&vm->session, g_bytes_unref);
	g_clear_pointer(&vm->godh, g_bytes_unref);
	vm->session = g_steal_pointer(&session);
	vm->godh = g_steal_pointer(&godh);
	if (!crn_launch(crn, vm, &error)) {
		/* QEMU would exit; the VM stays awaiting its owner */
		vm_set_error(crn, vm, error->message);
		code_reply(msg, 400, "launch_failed", error->message);
		return;
	}
	g_free(vm->row->last_error);
	vm->row->last_error = NULL;
	vm_set_state(crn, vm, "paused");
	started = g_strdup_printf("Started VM with ref %s", ref);
	ac_devnet_reply_text(msg, 200, started);
}

static void
crn_measurement(AcDevnetCrn *crn, SoupServerMessage *msg, const gchar *path)
{
	AcDevnetVm *vm = crn_authorize(crn, msg, path, NULL);
	g_autoptr(JsonBuilder) b = NULL;
	g_autoptr(JsonNode) node = NULL;
	g_autofree gchar *b64 = NULL;
	guint8 major = 0, minor = 0, build = 0;
	gboolean running;

	if (vm == NULL)
		return;
	/* as QMP answers: the launch measurement stays readable once the guest runs */
	running = g_strcmp0(vm->row->state, "running") == 0;
	if ((g_strcmp0(vm->row->state, "paused") != 0 && !running) || !vm->measured ||
	    vm->launch_psp == NULL) {
		ac_devnet_reply_text(msg, 403, "Operation not running");
		return;
	}
	ac_sev_psp_get_firmware(vm->launch_psp, &major, &minor, &build);
	b64 = g_base64_encode(vm->measure, AC_SEV_MEASURE_BLOB_SIZE);
	b = json_builder_new();
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "sev_info");
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "enabled");
	json_builder_add_boolean_value(b, TRUE);
	json_builder_set_member_name(b, "api_major");
	json_builder_add_int_value(b, major);
	json_builder_set_member_name(b, "api_minor");
	json_builder_add_int_value(b, minor);
	json_builder_set_member_name(b, "build_id");
	json_builder_add_int_value(b, build);
	json_builder_set_member_name(b, "policy");
	json_builder_add_int_value(b, vm->policy);
	json_builder_set_member_name(b, "state");
	json_builder_add_string_value(b, running ? "running" : "launch-secret");
	json_builder_set_member_name(b, "handle");
	json_builder_add_int_value(b, vm->handle);
	json_builder_end_object(b);
	json_builder_set_member_name(b, "launch_measure");
	json_builder_add_string_value(b, b64);
	json_builder_end_object(b);
	node = json_builder_get_root(b);
	vm->row->measurements++;
	vm_save(crn, vm);
	ac_devnet_reply_json(msg, 200, node);
}

/* the passphrase in the decrypted secret table, checked against the image's LUKS header */
static void
crn_check_passphrase(AcDevnetCrn *crn, AcDevnetVm *vm, GBytes *table_bytes)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(AcSevSecretTable) table = NULL;
	g_autoptr(GBytes) value = NULL;
	gsize len = 0;
	const guint8 *p;
	gint slot = -1;

	vm->row->passphrase_checks++;
	p = g_bytes_get_data(table_bytes, &len);
	table = ac_sev_secret_table_parse(p, len, &error);
	if (table != NULL)
		value = ac_sev_secret_table_lookup(table, AC_SEV_SECRET_GUID_DISK_PASSWORD);
	if (value == NULL) {
		g_autofree gchar *text = g_strdup_printf(
		    "the injected secret table has no disk passphrase entry%s%s",
		    error != NULL ? ": " : "", error != NULL ? error->message : "");
		vm_set_error(crn, vm, text);
		return;
	}
	p = g_bytes_get_data(value, &len);
	/* Aleph's table format terminates the value with a NUL */
	if (len > 0 && p[len - 1] == '\0')
		len--;
	if (!ac_devnet_luks_check_passphrase(vm->rootfs_path, crn->devnet->work_dir, p, len, &slot,
	                                     &error)) {
		g_autofree gchar *text = g_strdup_printf("passphrase check: %s", error->message);
		vm_set_error(crn, vm, text);
		return;
	}
	g_debug("VM %s: the injected passphrase opens LUKS key slot %d", vm->row->vm_hash, slot);
	vm->row->passphrase_ok++;
	g_free(vm->row->last_error);
	vm->row->last_error = NULL;
	vm_save(crn, vm);
}

static void
crn_inject_secret(AcDevnetCrn *crn, SoupServerMessage *msg, const gchar *path)
{
	AcDevnetVm *vm = crn_authorize(crn, msg, path, NULL);
	g_autoptr(GBytes) body = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(GBytes) header = NULL;
	g_autoptr(GBytes) secret = NULL;
	g_autoptr(GBytes) plain = NULL;
	g_autoptr(JsonNode) status = NULL;
	gboolean json_ok = FALSE;
	gboolean parsed;
	AcSevStatus st;
	gsize len = 0;
	const gchar *data;

	if (vm == NULL)
		return;
	body = ac_devnet_request_body(msg);
	data = g_bytes_get_data(body, &len);
	parsed = ac_devnet_request_parse_inject(data, len, &json_ok, &header, &secret, &error);
	if (!json_ok) {
		ac_devnet_reply_text(msg, 400, error->message);
		return;
	}
	/* the secret has left the owner: record it whatever happens next */
	vm->row->inject_attempts++;
	vm_save(crn, vm);
	if (g_strcmp0(vm->row->state, "running") == 0) {
		/* aleph-vm issue #668: QMP fails on a running VM */
		ac_devnet_reply_text(msg, 500, "500: Internal Server Error");
		return;
	}
	if (g_strcmp0(vm->row->state, "paused") != 0 || !vm->measured) {
		ac_devnet_reply_text(msg, 403, "Operation not running");
		return;
	}
	if (!parsed) {
		ac_devnet_reply_error(msg, 400, "%s", error->message);
		return;
	}
	st = ac_sev_psp_launch_secret(
	    vm->launch_psp, vm->handle, g_bytes_get_data(header, NULL), AC_SEV_SECRET_HEADER_SIZE,
	    vm->secret_gpa, (guint32)g_bytes_get_size(secret), g_bytes_get_data(secret, NULL),
	    (guint32)g_bytes_get_size(secret));
	if (st != AC_SEV_STATUS_SUCCESS) {
		g_autofree gchar *text
		    = g_strdup_printf("sev-inject-launch-secret: LAUNCH_SECRET fw_error=%u %s (%s)",
		                      st, ac_sev_status_to_string(st),
		                      ac_sev_psp_get_last_message(vm->launch_psp) != NULL
		                          ? ac_sev_psp_get_last_message(vm->launch_psp)
		                          : "");
		vm_set_error(crn, vm, text);
		ac_devnet_reply_text(msg, 500, text);
		return;
	}
	vm->row->secrets_released++;
	plain = ac_sev_psp_guest_read(vm->launch_psp, vm->handle, vm->secret_gpa,
	                              g_bytes_get_size(secret));
	if (plain != NULL) {
		gsize n = 0;
		guint8 *d;
		crn_check_passphrase(crn, vm, plain);
		/* our copy of the decrypted table holds the passphrase: wipe it */
		d = g_bytes_unref_to_data(g_steal_pointer(&plain), &n);
		OPENSSL_cleanse(d, n);
		g_free(d);
	} else {
		vm_set_error(crn, vm, "the secret area is empty after LAUNCH_SECRET");
	}
	ac_sev_psp_launch_finish(vm->launch_psp, vm->handle);
	vm_set_state(crn, vm, "running");
	{
		static const gchar reply[]
		    = "{\"status\":{\"status\":\"running\",\"singlestep\":false,\"running\":true}}";
		status = ac_json_parse_untrusted("reply", reply, strlen(reply), NULL);
		ac_devnet_reply_json(msg, 200, status);
	}
}

static void
crn_operate(AcDevnetCrn *crn, SoupServerMessage *msg, const gchar *path)
{
	g_autofree gchar *ref = NULL;
	AcDevnetVm *vm;
	const gchar *op = strrchr(path, '/');
	g_autoptr(GError) error = NULL;
	g_autofree gchar *text = NULL;

	if (g_strcmp0(soup_server_message_get_method(msg), "POST") != 0) {
		ac_devnet_reply_error(msg, 405, "%s: expected POST", path);
		return;
	}
	op = op != NULL ? op + 1 : "";
	if (g_strcmp0(op, "stop") != 0 && g_strcmp0(op, "reboot") != 0
	    && g_strcmp0(op, "erase") != 0) {
		ac_devnet_reply_error(msg, 404, "no devnet CRN operation %s", path);
		return;
	}
	vm = crn_authorize(crn, msg, path, &ref);
	if (vm == NULL)
		return;
	if (g_strcmp0(op, "reboot") == 0) {
		if (g_strcmp0(vm->row->state, "paused") != 0
		    && g_strcmp0(vm->row->state, "running") != 0) {
			ac_devnet_reply_text(msg, 400, "Operation not running");
			return;
		}
		/* QEMU restarts paused with the same session files: new measurement, new secret */
		if (!crn_launch(crn, vm, &error)) {
			vm_set_error(crn, vm, error->message);
			vm_set_state(crn, vm, "awaiting_init");
			ac_devnet_reply_text(msg, 500, error->message);
			return;
		}
		vm_set_state(crn, vm, "paused");
		text = g_strdup_printf("Rebooted VM with ref %s", ref);
	} else if (g_strcmp0(op, "stop") == 0) {
		vm_release_launch(vm);
		vm_set_state(crn, vm, "stopped");
		text = g_strdup_printf("Stopped VM with ref %s", ref);
	} else {
		vm_release_launch(vm);
		g_clear_pointer(&vm->session, g_bytes_unref);
		g_clear_pointer(&vm->godh, g_bytes_unref);
		vm_set_state(crn, vm, "erased");
		text = g_strdup_printf("Erased VM with ref %s", ref);
	}
	ac_devnet_reply_text(msg, 200, text);
}

static void
crn_executions(AcDevnetCrn *crn, SoupServerMessage *msg, gboolean v2)
{
	g_autoptr(JsonNode) node = json_node_new(JSON_NODE_OBJECT);
	JsonObject *o = json_object_new();
	GHashTableIter it;
	gpointer key, value;
	json_node_take_object(node, o);
	g_hash_table_iter_init(&it, crn->vms);
	while (g_hash_table_iter_next(&it, &key, &value)) {
		AcDevnetVm *vm = value;
		JsonObject *e;
		JsonObject *net;
		gboolean awaiting = g_strcmp0(vm->row->state, "awaiting_init") == 0;
		gboolean running = g_strcmp0(vm->row->state, "running") == 0
		                   || g_strcmp0(vm->row->state, "paused") == 0;
		if (!awaiting && !running)
			continue;
		e = json_object_new();
		net = json_object_new();
		json_object_set_null_member(net, "ipv4");
		/* aleph-vm gives each VM an address of the CRN's IPv6 range: here a ULA one, per
		 * CRN, from the VM's hash */
		{
			const gchar *h = key;
			g_autofree gchar *ipv6 = g_strdup_printf("fd61:6c65:7068:%x::%.4s:%.4s",
			                                         crn->index, h, h + 4);
			json_object_set_string_member(net, "ipv6", ipv6);
		}
		json_object_set_object_member(e, "networking", net);
		json_object_set_string_member(e, "vm_type", "instance");
		json_object_set_boolean_member(e, "awaiting_confidential_init", awaiting);
		if (v2)
			json_object_set_boolean_member(e, "running", running);
		json_object_set_object_member(o, key, e);
	}
	ac_devnet_reply_json(msg, 200, node);
}

static void
crn_status_config(AcDevnetCrn *crn, SoupServerMessage *msg)
{
	g_autoptr(JsonBuilder) b = json_builder_new();
	g_autoptr(JsonNode) node = NULL;
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "DOMAIN_NAME");
	json_builder_add_string_value(b, AC_DEVNET_HOST);
	json_builder_set_member_name(b, "node_hash");
	json_builder_add_string_value(b, crn->hash);
	json_builder_set_member_name(b, "version");
	json_builder_add_string_value(b, "devnet-" PACKAGE_VERSION);
	json_builder_set_member_name(b, "computing");
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "ENABLE_QEMU_SUPPORT");
	json_builder_add_boolean_value(b, TRUE);
	json_builder_set_member_name(b, "INSTANCE_DEFAULT_HYPERVISOR");
	json_builder_add_string_value(b, "qemu");
	json_builder_set_member_name(b, "ENABLE_CONFIDENTIAL_COMPUTING");
	json_builder_add_boolean_value(b, TRUE);
	json_builder_set_member_name(b, "ENABLE_GPU_SUPPORT");
	json_builder_add_boolean_value(b, FALSE);
	json_builder_end_object(b);
	json_builder_end_object(b);
	node = json_builder_get_root(b);
	ac_devnet_reply_json(msg, 200, node);
}

gboolean
ac_devnet_crn_handle(AcDevnetCrn *crn,
                     AcDevnetEndpoint ep,
                     SoupServerMessage *msg,
                     const gchar *path)
{
	const gchar *method = soup_server_message_get_method(msg);
	gboolean get = g_strcmp0(method, "GET") == 0 || g_strcmp0(method, "HEAD") == 0;
	gboolean post = g_strcmp0(method, "POST") == 0;

	if (g_strcmp0(method, "OPTIONS") == 0) {
		ac_devnet_reply_cors_preflight(msg);
		return TRUE;
	}
	switch (ep) {
	case AC_DEVNET_EP_CRN_CERTIFICATES:
		if (get) {
			crn_certificates(crn, msg);
			return TRUE;
		}
		break;
	case AC_DEVNET_EP_CRN_NOTIFY:
		if (post) {
			crn_notify(crn, msg);
			return TRUE;
		}
		break;
	case AC_DEVNET_EP_CRN_INITIALIZE:
		if (post) {
			crn_initialize(crn, msg, path);
			return TRUE;
		}
		break;
	case AC_DEVNET_EP_CRN_MEASUREMENT:
		if (get) {
			crn_measurement(crn, msg, path);
			return TRUE;
		}
		break;
	case AC_DEVNET_EP_CRN_INJECT_SECRET:
		if (post) {
			crn_inject_secret(crn, msg, path);
			return TRUE;
		}
		break;
	case AC_DEVNET_EP_CRN_OPERATE:
		crn_operate(crn, msg, path);
		return TRUE;
	default:
		if (get && g_strcmp0(path, "/status/config") == 0) {
			crn_status_config(crn, msg);
			return TRUE;
		}
		if (get
		    && (g_strcmp0(path, "/about/executions/list") == 0
		        || g_strcmp0(path, "/v2/about/executions/list") == 0)) {
			crn_executions(crn, msg, g_str_has_prefix(path, "/v2/"));
			return TRUE;
		}
		ac_devnet_reply_error(msg, 404, "no devnet CRN endpoint %s %s", method, path);
		return TRUE;
	}
	ac_devnet_reply_error(msg, 405, "%s is not allowed on %s", method, path);
	return TRUE;
}
