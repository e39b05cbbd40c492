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
	g_free (vm);
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
