/*
 * aleph-confidential devnet: a CRN's SEV-SNP instances (see ac-devnet-snp-vm.h).
 *
 * The guest's agent serves TLS in a thread of its own; what it needs of the devnet (a report
 * signed by the chip, the counters of the VM's row) is done on the devnet's main context, the
 * agent's thread waiting for it (a bridge), so the state has one thread and the counters are
 * written before the agent answers. Stopping a boot closes the bridge first: a call waiting
 * for the main context gives up, and one queued there is not run.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <openssl/evp.h>
#include <string.h>

#include "ac-aleph-util.h"
#include "ac-luks-disk.h"
#include "ac-devnet-json.h"
#include "ac-devnet-messages.h"
#include "ac-devnet-snp-agent.h"
#include "ac-devnet-snp-vm.h"
#include "ac-devnet-snp.h"
#include "ac-error.h"
#include "ac-snp-policy.h"
#include "ac-snp-runtime.h"

G_DEFINE_AUTOPTR_CLEANUP_FUNC (EVP_PKEY, EVP_PKEY_free)

/* what the snp-wrong-runtime attack adds to the measured command line */
#define WRONG_RUNTIME_CMDLINE " init=/bin/sh"
/* what the snp-early-ask attack's agent sends right after its handshake */
#define EARLY_ASK_BODY "{\"error\":\"send the luks_passphrase first\"}"

/* ---- the bridge: calls from the agent's thread run on the main context ---- */

typedef struct {
	GMutex lock;
	GCond cond;
	gboolean closed;
	GMainContext *context;
} Bridge;

typedef struct {
	Bridge *bridge; /* a reference */
	void (*fn) (gpointer data);
	gpointer data;
	gboolean done;
} BridgeCall;

static void
bridge_clear (gpointer p)
{
	Bridge *b = p;
	g_mutex_clear (&b->lock);
	g_cond_clear (&b->cond);
	g_main_context_unref (b->context);
}

static Bridge *
bridge_new (void)
{
	Bridge *b = g_atomic_rc_box_new0 (Bridge);
	g_mutex_init (&b->lock);
	g_cond_init (&b->cond);
	b->context = g_main_context_ref_thread_default ();
	return b;
}

static void
bridge_unref (Bridge *b)
{
	g_atomic_rc_box_release_full (b, bridge_clear);
}

/* no call runs on the main context any more; a call waiting gives up */
static void
bridge_close (Bridge *b)
{
	g_mutex_lock (&b->lock);
	b->closed = TRUE;
	g_cond_broadcast (&b->cond);
	g_mutex_unlock (&b->lock);
}

static void
bridge_call_clear (gpointer p)
{
	BridgeCall *c = p;
	bridge_unref (c->bridge);
}

static void
bridge_call_unref (gpointer p)
{
	g_atomic_rc_box_release_full (p, bridge_call_clear);
}

/* on the main context */
static gboolean
bridge_dispatch (gpointer p)
{
	BridgeCall *c = p;
	Bridge *b = c->bridge;
	gboolean closed;

	g_mutex_lock (&b->lock);
	closed = b->closed;
	g_mutex_unlock (&b->lock);
	/* closed: only the main context closes a bridge, so nothing it runs is freed while @fn
	 * runs; a closed bridge's data may be gone */
	if (!closed)
		c->fn (c->data);
	g_mutex_lock (&b->lock);
	c->done = TRUE;
	g_cond_broadcast (&b->cond);
	g_mutex_unlock (&b->lock);
	return G_SOURCE_REMOVE;
}

/* from the agent's thread: runs @fn (@data) on the main context and waits; FALSE when the
 * bridge closed first (@fn did not run, or its effects do not matter any more) */
static gboolean
bridge_call (Bridge *b, void (*fn) (gpointer), gpointer data)
{
	BridgeCall *c = g_atomic_rc_box_new0 (BridgeCall);
	gboolean done;

	c->bridge = g_atomic_rc_box_acquire (b);
	c->fn = fn;
	c->data = data;
	g_mutex_lock (&b->lock);
	if (b->closed) {
		g_mutex_unlock (&b->lock);
		bridge_call_unref (c);
		return FALSE;
	}
	g_main_context_invoke_full (b->context, G_PRIORITY_DEFAULT, bridge_dispatch,
	                            g_atomic_rc_box_acquire (c), bridge_call_unref);
	while (!c->done && !b->closed)
		g_cond_wait (&b->cond, &b->lock);
	done = c->done && !b->closed;
	g_mutex_unlock (&b->lock);
	bridge_call_unref (c);
	return done;
}

/* ---- a VM and its boots ---- */

typedef struct {
	AcDevnetSnpVm *snp; /* the VM it boots (outlives the boot) */
	Bridge *bridge;
	AcSnpGuest *guest;
	EVP_PKEY *key; /* the guest's TLS key */
	guint8 pk_raw[AC_SNP_RATLS_PK_RAW_SIZE];
	GBytes *cert;
	EVP_PKEY *relay_key; /* snp-relay: the key the relay does the TLS with */
	GBytes *relay_cert;
	gchar *hello;
	gchar *rootfs_path; /* a copy, for the agent's thread */
	AcDevnetSnpAgent *agent;
} Boot;

struct _AcDevnetSnpVm {
	AcDevnetCrn *crn;
	AcDevnetVm *vm;
	/* the launch every boot makes */
	GBytes *ovmf;
	GBytes *kernel;
	GBytes *initrd;
	gchar *cmdline;
	guint vcpus;
	gchar *vcpu_type;
	guint32 policy;
	gchar *owner; /* the sender, lower-cased */
	guint16 guest_port;
	gchar *rootfs_path;
	Boot *boot; /* NULL while stopped */
};

static void
boot_free (Boot *boot)
{
	if (boot == NULL)
		return;
	/* the bridge first: the agent's thread, maybe waiting for the main context, goes on */
	if (boot->bridge != NULL)
		bridge_close (boot->bridge);
	g_clear_pointer (&boot->agent, ac_devnet_snp_agent_free);
	g_clear_pointer (&boot->bridge, bridge_unref);
	g_clear_pointer (&boot->guest, ac_snp_guest_free);
	g_clear_pointer (&boot->key, EVP_PKEY_free);
	g_clear_pointer (&boot->cert, g_bytes_unref);
	g_clear_pointer (&boot->relay_key, EVP_PKEY_free);
	g_clear_pointer (&boot->relay_cert, g_bytes_unref);
	g_free (boot->hello);
	g_free (boot->rootfs_path);
	g_free (boot);
}

void
ac_devnet_snp_vm_shutdown (AcDevnetSnpVm *snp)
{
	if (snp == NULL)
		return;
	g_clear_pointer (&snp->boot, boot_free);
}

void
ac_devnet_snp_vm_free (AcDevnetSnpVm *snp)
{
	if (snp == NULL)
		return;
	ac_devnet_snp_vm_shutdown (snp);
	g_clear_pointer (&snp->ovmf, g_bytes_unref);
	g_clear_pointer (&snp->kernel, g_bytes_unref);
	g_clear_pointer (&snp->initrd, g_bytes_unref);
	g_free (snp->cmdline);
	g_free (snp->vcpu_type);
	g_free (snp->owner);
	g_free (snp->rootfs_path);
	g_free (snp);
}

gboolean
ac_devnet_snp_vm_is_snp (JsonObject *content)
{
	JsonObject *env = ac_devnet_json_object_member (content, "environment");
	JsonObject *te = ac_devnet_json_object_member (env, "trusted_execution");
	return te != NULL
	       && g_strcmp0 (json_object_get_string_member_with_default (te, "mode", NULL),
	                     "sev_snp")
	              == 0;
}

/* a report of the boot's guest, signed by the chip as the knobs have it now */
static GBytes *
boot_report (Boot *boot, const guint8 *report_data, GError **error)
{
	AcDevnetSnpVm *snp = boot->snp;
	GBytes *report;

	ac_devnet_snp_sync (snp->crn->devnet);
	/* an agent asks at VMPL 1 (the guest kernel's SVSM-less default for Aleph) */
	report = ac_snp_guest_get_report (boot->guest, report_data, 1, error);
	if (report != NULL)
		snp->vm->row->measurements++;
	return report;
}

typedef struct {
	Boot *boot;
	const guint8 *report_data;
	GBytes *report;
	GError *error;
} ReportCall;

static void
report_main (gpointer data)
{
	ReportCall *c = data;
	c->report = boot_report (c->boot, c->report_data, &c->error);
	ac_devnet_crn_vm_save (c->boot->snp->crn, c->boot->snp->vm);
}

/* the agent's thread */
static GBytes *
agent_report (gpointer user_data, const guint8 *report_data, GError **error)
{
	ReportCall c = { user_data, report_data, NULL, NULL };
	if (!bridge_call (((Boot *)user_data)->bridge, report_main, &c)) {
		g_clear_error (&c.error);
		g_clear_pointer (&c.report, g_bytes_unref);
		g_set_error_literal (error, AC_ERROR, AC_ERROR_CANCELLED, "the guest is stopping");
		return NULL;
	}
	if (c.report == NULL)
		g_propagate_error (error, c.error);
	return c.report;
}

typedef struct {
	Boot *boot;
	AcDevnetSnpAgentEventType type;
	gsize n;
	gboolean checked_owner; /* an injection whose owner signature checked */
	gboolean checked;       /* a luks_passphrase was checked */
	gboolean ok;
	gchar *error;
} EventCall;

static void
event_main (gpointer data)
{
	EventCall *c = data;
	AcDevnetSnpVm *snp = c->boot->snp;
	AcDevnetVmRow *row = snp->vm->row;

	switch (c->type) {
	case AC_DEVNET_SNP_AGENT_EVENT_HANDSHAKE:
		row->agent_handshakes++;
		break;
	case AC_DEVNET_SNP_AGENT_EVENT_HANDSHAKE_FAILED:
		break;
	case AC_DEVNET_SNP_AGENT_EVENT_RECEIVED:
		row->agent_bytes += c->n;
		break;
	case AC_DEVNET_SNP_AGENT_EVENT_FRESH:
		row->fresh_reports++;
		break;
	case AC_DEVNET_SNP_AGENT_EVENT_INJECTION:
		row->inject_attempts++;
		/* whatever it carries has reached the node's guest: counted before any check */
		if (c->n > 0)
			row->secrets_released++;
		if (!c->checked_owner) {
			g_free (row->last_error);
			row->last_error = g_strdup ("the agent refused an injection (malformed, or "
			                            "not signed by the owner for its key)");
		} else if (c->checked) {
			row->passphrase_checks++;
			g_free (row->last_error);
			row->last_error = NULL;
			if (c->ok)
				row->passphrase_ok++;
			else
				row->last_error = g_strdup_printf (
				    "passphrase check: %s (the guest waits for another)", c->error);
		}
		break;
	}
	if (c->type != AC_DEVNET_SNP_AGENT_EVENT_HANDSHAKE_FAILED)
		ac_devnet_crn_vm_save (snp->crn, snp->vm);
}

/* the agent's thread: the passphrase is checked here (libcryptsetup may take a while), its
 * result counted on the main context */
static void
agent_event (gpointer user_data, const AcDevnetSnpAgentEvent *event)
{
	Boot *boot = user_data;
	EventCall c = { boot, event->type, event->n, FALSE, FALSE, FALSE, NULL };

	if (event->type == AC_DEVNET_SNP_AGENT_EVENT_INJECTION && event->secrets != NULL) {
		gsize len = 0;
		const gchar *pass
		    = ac_snp_secrets_lookup (event->secrets, AC_SNP_INJECT_LUKS_KEY, &len);
		c.checked_owner = TRUE;
		if (pass != NULL) {
			g_autoptr (GError) error = NULL;
			gint slot = -1;
			/* as the guest's initrd: the header validated, then the passphrase */
			c.checked = TRUE;
			c.ok = ac_luks_disk_luks2_check_passphrase (
			    boot->rootfs_path, (const guint8 *)pass, len, &slot, &error);
			if (!c.ok)
				c.error = g_strdup (error->message);
		}
	}
	bridge_call (boot->bridge, event_main, &c);
	g_free (c.error);
}

/* one boot: the guest launched on the chip, its key, the certificate, the agent */
static gboolean
snp_boot (AcDevnetSnpVm *snp, GError **error)
{
	AcDevnetCrn *crn = snp->crn;
	AcDevnetAttack attack = ac_devnet_crn_vm_attack (crn);
	g_autofree gchar *cmdline = NULL;
	g_autoptr (GBytes) report = NULL;
	AcSnpLaunchInputs inputs = { 0 };
	AcDevnetSnpAgentConfig config = { 0 };
	AcSnpFirmware *fw = crn->snp;
	guint8 rd[AC_SNP_REPORT_DATA_SIZE];
	guint8 stale[AC_SNP_RATLS_NONCE_SIZE];
	guint64 policy = snp->policy;
	Boot *boot;

	ac_devnet_snp_vm_shutdown (snp);
	/* the guest's initrd validates the rootfs header before it starts the agent */
	if (!ac_luks_disk_luks2_validate (snp->rootfs_path, error)) {
		g_prefix_error (error, "the guest's initrd refuses the rootfs: ");
		return FALSE;
	}
	cmdline = attack == AC_DEVNET_ATTACK_SNP_WRONG_RUNTIME
	              ? g_strconcat (snp->cmdline, WRONG_RUNTIME_CMDLINE, NULL)
	              : g_strdup (snp->cmdline);
	if (attack == AC_DEVNET_ATTACK_SNP_DEBUG_POLICY)
		policy |= AC_SNP_POLICY_DEBUG;
	if (attack == AC_DEVNET_ATTACK_SNP_TCB_BELOW_FLOOR && crn->snp_old != NULL)
		fw = crn->snp_old;
	inputs.firmware = snp->ovmf;
	inputs.kernel = snp->kernel;
	inputs.initrd = snp->initrd;
	inputs.cmdline = cmdline;
	inputs.vcpus = snp->vcpus;
	inputs.guest_features = AC_SNP_GUEST_FEATURES_DEFAULT;
	if (!ac_snp_vcpu_sig_from_type (snp->vcpu_type, &inputs.vcpu_sig, error))
		return FALSE;

	boot = g_new0 (Boot, 1);
	boot->snp = snp;
	boot->rootfs_path = g_strdup (snp->rootfs_path);
	ac_devnet_snp_sync (crn->devnet);
	boot->guest = ac_snp_firmware_launch (fw, &inputs, policy, NULL, error);
	if (boot->guest == NULL) {
		boot_free (boot);
		return FALSE;
	}
	snp->vm->row->launches++;
	boot->key = ac_snp_ratls_key_generate (error);
	if (boot->key == NULL || !ac_snp_ratls_pk_raw_from_key (boot->key, boot->pk_raw, error)
	    || !ac_snp_ratls_key_binding (boot->pk_raw, sizeof boot->pk_raw, rd, error)
	    || (report = boot_report (boot, rd, error)) == NULL
	    || (boot->cert = ac_snp_ratls_cert_build (boot->key, g_bytes_get_data (report, NULL),
	                                              g_bytes_get_size (report), error))
	           == NULL) {
		boot_free (boot);
		return FALSE;
	}
	config.cert = boot->cert;
	config.key = boot->key;
	if (attack == AC_DEVNET_ATTACK_SNP_RELAY) {
		/* the genuine report, bound to the guest's key, in the relay's certificate */
		boot->relay_key = ac_snp_ratls_key_generate (error);
		if (boot->relay_key == NULL
		    || (boot->relay_cert
		        = ac_snp_ratls_cert_build (boot->relay_key, g_bytes_get_data (report, NULL),
		                                   g_bytes_get_size (report), error))
		           == NULL) {
			boot_free (boot);
			return FALSE;
		}
		config.cert = boot->relay_cert;
		config.key = boot->relay_key;
	}
	memcpy (config.pk_raw, boot->pk_raw, sizeof config.pk_raw);
	config.owner = snp->owner;
	config.report = agent_report;
	config.event = agent_event;
	config.user_data = boot;
	if (attack == AC_DEVNET_ATTACK_SNP_STALE_NONCE) {
		/* a nonce of an earlier challenge */
		memset (stale, 0x5a, sizeof stale);
		config.stale_nonce = stale;
	}
	if (attack == AC_DEVNET_ATTACK_SNP_EARLY_ASK) {
		boot->hello = g_strdup_printf (
		    "HTTP/1.1 401 Unauthorized\r\nContent-Type: "
		    "application/json\r\nContent-Length: %" G_GSIZE_FORMAT "\r\n\r\n%s",
		    strlen (EARLY_ASK_BODY), EARLY_ASK_BODY);
		config.hello = boot->hello;
	}
	boot->bridge = bridge_new ();
	boot->agent = ac_devnet_snp_agent_start (&config, error);
	if (boot->agent == NULL) {
		boot_free (boot);
		return FALSE;
	}
	snp->boot = boot;
	g_debug ("%s: SEV-SNP VM %s booted (%s), its agent on 127.0.0.1:%u", crn->name,
	         snp->vm->row->vm_hash, ac_devnet_knobs_attack_to_string (attack),
	         ac_devnet_snp_agent_get_port (boot->agent));
	return TRUE;
}

/* aleph-vm's canonical_policy: the policy as a u32, 0x30000 for anything else */
static guint32
parse_policy (JsonObject *te)
{
	JsonNode *n = json_object_get_member (te, "policy");
	gint64 v;
	if (n == NULL || !JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_INT64)
		return (guint32)AC_SNP_POLICY_DEFAULT;
	v = json_node_get_int (n);
	if (v < 0 || v > (gint64)G_MAXUINT32)
		return (guint32)AC_SNP_POLICY_DEFAULT;
	return (guint32)v;
}

/* the file a runtime or bundle reference names, at most @max bytes */
static GBytes *
fetch (AcDevnet *self, const gchar *what, const gchar *ref, guint64 max, GError **error)
{
	g_autofree gchar *path = NULL;
	g_autoptr (GMappedFile) mf = NULL;
	guint64 size = 0;

	if (ref == NULL || !ac_item_hash_is_valid (ref)) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT, "%s %s: not an item hash",
		             what, ref != NULL ? ref : "(none)");
		return NULL;
	}
	path = ac_devnet_messages_resolve_file (self, ref, &size, error);
	if (path == NULL) {
		g_prefix_error (error, "%s %s: ", what, ref);
		return NULL;
	}
	if (size > max) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "%s %s: %" G_GUINT64_FORMAT " bytes, at most %" G_GUINT64_FORMAT, what,
		             ref, size, max);
		return NULL;
	}
	mf = g_mapped_file_new (path, FALSE, error);
	if (mf == NULL) {
		g_prefix_error (error, "%s %s: ", what, ref);
		return NULL;
	}
	return g_mapped_file_get_bytes (mf);
}

gboolean
ac_devnet_snp_vm_allocate (AcDevnetCrn *crn,
                           AcDevnetVm *vm,
                           const AcAlephMessage *msg,
                           JsonObject *content,
                           const gchar *rootfs_path,
                           GError **error)
{
	AcDevnet *self = crn->devnet;
	JsonObject *env = ac_devnet_json_object_member (content, "environment");
	JsonObject *te = ac_devnet_json_object_member (env, "trusted_execution");
	JsonObject *res = ac_devnet_json_object_member (content, "resources");
	const gchar *runtime_ref
	    = te != NULL ? json_object_get_string_member_with_default (te, "runtime", NULL) : NULL;
	g_autoptr (GBytes) manifest = NULL;
	g_autoptr (GBytes) bundle = NULL;
	g_autoptr (AcSnpRuntime) runtime = NULL;
	g_autofree gchar *owner = NULL;
	g_autofree gchar *cmdline = NULL;
	AcSnpRuntimeFiles files = { 0 };
	AcDevnetSnpVm *snp;
	gint64 vcpus = res != NULL ? json_object_get_int_member_with_default (res, "vcpus", 1) : 1;

	/* the manifest, then the bundle: its size and SHA-256 before anything is extracted */
	manifest = fetch (self, "runtime", runtime_ref, AC_SNP_RUNTIME_MAX_SIZE, error);
	if (manifest == NULL)
		return FALSE;
	runtime = ac_snp_runtime_parse (g_bytes_get_data (manifest, NULL),
	                                g_bytes_get_size (manifest), error);
	if (runtime == NULL) {
		g_prefix_error (error, "runtime %s: ", runtime_ref);
		return FALSE;
	}
	bundle
	    = fetch (self, "runtime bundle", runtime->bundle_ref, AC_SNP_RUNTIME_MAX_BUNDLE, error);
	if (bundle == NULL || !ac_snp_runtime_check_bundle (runtime, bundle, error)
	    || !ac_snp_runtime_extract (runtime, bundle, &files, error))
		return FALSE;
	/* the unlock authority: the message's signer */
	owner = ac_snp_runtime_owner_canonical (msg->sender, error);
	if (owner == NULL
	    || (cmdline = ac_snp_runtime_render_cmdline (runtime, msg->sender, error)) == NULL) {
		g_prefix_error (error, "the sender of %s: ", msg->item_hash);
		ac_snp_runtime_files_clear (&files);
		return FALSE;
	}
	if (vcpus < 1 || vcpus > 255) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "resources.vcpus %" G_GINT64_FORMAT ": expected 1 to 255", vcpus);
		ac_snp_runtime_files_clear (&files);
		return FALSE;
	}

	snp = g_new0 (AcDevnetSnpVm, 1);
	snp->crn = crn;
	snp->vm = vm;
	snp->ovmf = g_steal_pointer (&files.ovmf);
	snp->kernel = g_steal_pointer (&files.kernel);
	snp->initrd = g_steal_pointer (&files.initrd);
	ac_snp_runtime_files_clear (&files);
	snp->cmdline = g_steal_pointer (&cmdline);
	snp->vcpus = (guint)vcpus;
	/* the first of the manifest's CPU models, as aleph-vm picks it */
	snp->vcpu_type = g_strdup (runtime->cpu_models[0]);
	snp->policy = parse_policy (te);
	snp->owner = g_steal_pointer (&owner);
	snp->guest_port = runtime->attestation_port;
	snp->rootfs_path = g_strdup (rootfs_path);
	if (!snp_boot (snp, error)) {
		ac_devnet_snp_vm_free (snp);
		return FALSE;
	}
	ac_devnet_snp_vm_free (vm->snp);
	vm->snp = snp;
	return TRUE;
}

gboolean
ac_devnet_snp_vm_reboot (AcDevnetCrn *crn, AcDevnetVm *vm, GError **error)
{
	g_return_val_if_fail (vm->snp != NULL, FALSE);
	return snp_boot (vm->snp, error);
}

void
ac_devnet_snp_vm_networking (AcDevnetSnpVm *snp, JsonObject *net)
{
	JsonObject *ports, *port;
	g_autofree gchar *guest = NULL;

	if (snp == NULL || snp->boot == NULL || snp->boot->agent == NULL)
		return;
	json_object_set_string_member (net, "host_ipv4", "127.0.0.1");
	ports = json_object_new ();
	port = json_object_new ();
	json_object_set_int_member (port, "host", ac_devnet_snp_agent_get_port (snp->boot->agent));
	json_object_set_boolean_member (port, "tcp", TRUE);
	json_object_set_boolean_member (port, "udp", FALSE);
	guest = g_strdup_printf ("%u", snp->guest_port);
	json_object_set_object_member (ports, guest, port);
	json_object_set_object_member (net, "mapped_ports", ports);
}
