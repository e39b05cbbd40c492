/*
 * aleph-confidential devnet: a CRN's VM records — their audit rows in the store, the launch a
 * VM holds on its PSP, and the signed request that names one (auth as aleph-vm checks it).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "ac-aleph-util.h"
#include "ac-crn-auth.h"
#include "ac-devnet-crn-vm.h"
#include "ac-devnet-messages.h"
#include "ac-devnet-reply.h"
#include "ac-devnet-snp-vm.h"
#include "ac-json.h"
#include "ac-time.h"

void
ac_devnet_crn_vm_free (AcDevnetVm *vm)
{
	/* first: the agent's thread may still report to the row */
	ac_devnet_snp_vm_free (vm->snp);
	ac_devnet_store_vm_row_free (vm->row);
	g_free (vm->rootfs_path);
	g_free (vm->firmware_path);
	if (vm->session != NULL)
		g_bytes_unref (vm->session);
	if (vm->godh != NULL)
		g_bytes_unref (vm->godh);
	if (vm->console != NULL)
		g_ptr_array_unref (vm->console);
	g_free (vm);
}

static void
console_line_free (AcDevnetConsoleLine *l)
{
	g_free (l->stream);
	g_free (l->message);
	g_free (l);
}

void
ac_devnet_crn_vm_console (AcDevnetVm *vm, const gchar *stream, const gchar *format, ...)
{
	AcDevnetConsoleLine *l = g_new0 (AcDevnetConsoleLine, 1);
	va_list ap;

	if (vm->console == NULL)
		vm->console = g_ptr_array_new_with_free_func ((GDestroyNotify)console_line_free);
	if (vm->console->len >= AC_DEVNET_CONSOLE_MAX)
		g_ptr_array_remove_index (vm->console, 0);
	l->time_us = g_get_real_time ();
	l->stream = g_strdup (stream);
	va_start (ap, format);
	l->message = g_strdup_vprintf (format, ap);
	va_end (ap);
	g_ptr_array_add (vm->console, l);
}

/* what a VM prints as it goes through the states of its life on the CRN: the devnet's stand-in
 * for QEMU's serial console and aleph-vm's own lines in the VM's journal */
static void
console_state (AcDevnetCrn *crn, AcDevnetVm *vm, const gchar *old, const gchar *state)
{
	if (g_strcmp0 (state, "awaiting_init") == 0) {
		if (g_strcmp0 (old, "erased") == 0 && vm->console != NULL)
			g_ptr_array_set_size (vm->console, 0);
		ac_devnet_crn_vm_console (vm, "stdout",
					  "aleph-vm: instance %s allocated on %s; waiting for the "
					  "confidential session",
					  vm->row->vm_hash, crn->name);
	} else if (g_strcmp0 (state, "paused") == 0) {
		ac_devnet_crn_vm_console (vm, "stdout",
					  "qemu: SEV launch started (policy 0x%x); the guest waits for "
					  "its secret",
					  vm->policy);
	} else if (g_strcmp0 (state, "running") == 0) {
		ac_devnet_crn_vm_console (vm, "stdout", "qemu: launch secret injected, guest resumed");
		ac_devnet_crn_vm_console (vm, "stdout",
					  "[    0.000000] Linux version 6.1.0 (devnet guest of %s)",
					  crn->name);
		ac_devnet_crn_vm_console (vm, "stdout",
					  "cryptsetup: opening the root disk with the injected key");
		ac_devnet_crn_vm_console (vm, "stdout", "devnet-guest login: ");
	} else if (g_strcmp0 (state, "stopped") == 0) {
		ac_devnet_crn_vm_console (vm, "stderr", "qemu: terminating on signal 15");
	} else if (g_strcmp0 (state, "erased") == 0) {
		ac_devnet_crn_vm_console (vm, "stdout", "aleph-vm: instance erased");
	}
}

/* the attack this CRN plays on the launches it makes (a knob) */
AcDevnetAttack
ac_devnet_crn_vm_attack (AcDevnetCrn *crn)
{
	return crn->devnet->knobs.attacks[crn->index];
}

gboolean
ac_devnet_crn_vm_save (AcDevnetCrn *crn, AcDevnetVm *vm)
{
	g_autoptr (GError) error = NULL;
	vm->row->updated = ac_time_now_unix ();
	if (!ac_devnet_store_put_vm (crn->devnet->store, vm->row, &error)) {
		g_warning ("%s", error->message);
		return FALSE;
	}
	return TRUE;
}

void
ac_devnet_crn_vm_set_state (AcDevnetCrn *crn, AcDevnetVm *vm, const gchar *state)
{
	if (g_strcmp0 (vm->row->state, state) != 0)
		console_state (crn, vm, vm->row->state, state);
	g_free (vm->row->state);
	vm->row->state = g_strdup (state);
	ac_devnet_crn_vm_save (crn, vm);
}

void
ac_devnet_crn_vm_set_error (AcDevnetCrn *crn, AcDevnetVm *vm, const gchar *text)
{
	g_free (vm->row->last_error);
	vm->row->last_error = g_strdup (text);
	ac_devnet_crn_vm_save (crn, vm);
}

void
ac_devnet_crn_vm_release_launch (AcDevnetVm *vm)
{
	if (vm->launch_psp != NULL && vm->handle != 0)
		ac_sev_psp_decommission (vm->launch_psp, vm->handle);
	vm->launch_psp = NULL;
	vm->handle = 0;
	vm->measured = FALSE;
}

/* the VM at /control/machine/{ref}/…; replies and returns NULL on failure */
AcDevnetVm *
ac_devnet_crn_vm_authorize (AcDevnetCrn *crn,
                            SoupServerMessage *msg,
                            const gchar *path,
                            gchar **ref_out)
{
	SoupMessageHeaders *h = soup_server_message_get_request_headers (msg);
	const gchar *method = soup_server_message_get_method (msg);
	const gchar *rest = path + strlen ("/control/machine/");
	const gchar *slash = strchr (rest, '/');
	g_autofree gchar *ref
	    = slash != NULL ? g_strndup (rest, (gsize)(slash - rest)) : g_strdup (rest);
	g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
	g_autoptr (GDateTime) skewed
	    = g_date_time_add_seconds (now, (gdouble)crn->devnet->knobs.clock_skew_s);
	g_autoptr (GError) error = NULL;
	g_autofree gchar *sender = NULL;
	guint status = 400;
	AcDevnetVm *vm;

	if (!ac_item_hash_is_valid (ref) || strlen (ref) != 64) {
		ac_devnet_reply_text (msg, 400, "Invalid ref");
		return NULL;
	}
	if (!ac_crn_auth_verify_request (soup_message_headers_get_one (h, "X-SignedPubKey"),
	                                 soup_message_headers_get_one (h, "X-SignedOperation"),
	                                 AC_DEVNET_HOST, method, path, skewed, &sender, &status,
	                                 &error)) {
		ac_devnet_reply_error (msg, status, "%s", error->message);
		return NULL;
	}
	vm = g_hash_table_lookup (crn->vms, ref);
	if (vm == NULL || g_strcmp0 (vm->row->state, "erased") == 0) {
		g_autofree gchar *text = g_strdup_printf ("No virtual machine with ref %s", ref);
		ac_devnet_reply_text (msg, 404, text);
		return NULL;
	}
	if (!ac_eth_address_equal (sender, vm->row->owner)
	    && !ac_devnet_messages_is_delegate (crn->devnet, vm->row->owner, sender, "INSTANCE")) {
		ac_devnet_reply_text (msg, 403, "Unauthorized sender");
		return NULL;
	}
	if (ref_out != NULL)
		*ref_out = g_steal_pointer (&ref);
	return vm;
}

/* aleph-vm's operate_logs_json: a JSON array of journal entries, oldest first */
void
ac_devnet_crn_vm_logs (AcDevnetCrn *crn, SoupServerMessage *msg, const gchar *path)
{
	g_autofree gchar *ref = NULL;
	g_autoptr (JsonBuilder) b = json_builder_new ();
	g_autoptr (JsonNode) node = NULL;
	AcDevnetVm *vm;

	if (g_strcmp0 (soup_server_message_get_method (msg), "GET") != 0) {
		ac_devnet_reply_error (msg, 405, "%s: expected GET", path);
		return;
	}
	vm = ac_devnet_crn_vm_authorize (crn, msg, path, &ref);
	if (vm == NULL)
		return;
	json_builder_begin_array (b);
	for (guint i = 0; vm->console != NULL && i < vm->console->len; i++) {
		AcDevnetConsoleLine *l = g_ptr_array_index (vm->console, i);
		g_autofree gchar *ident = g_strdup_printf ("vm-%s-%s", ref, l->stream);
		g_autofree gchar *when = ac_time_format_isoformat ((gdouble)l->time_us / G_USEC_PER_SEC);
		json_builder_begin_object (b);
		ac_json_builder_add_string (b, "SYSLOG_IDENTIFIER", ident);
		ac_json_builder_add_string (b, "MESSAGE", l->message);
		ac_json_builder_add_string (b, "file", l->stream);
		ac_json_builder_add_string (b, "__REALTIME_TIMESTAMP", when);
		json_builder_end_object (b);
	}
	json_builder_end_array (b);
	node = json_builder_get_root (b);
	ac_devnet_reply_json (msg, 200, node);
}
