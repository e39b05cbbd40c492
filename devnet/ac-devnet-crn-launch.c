/*
 * aleph-confidential devnet: a CRN's confidential launch — initialize (LAUNCH_START,
 * LAUNCH_UPDATE_DATA, LAUNCH_MEASURE), measurement, inject_secret (LAUNCH_SECRET and the LUKS
 * passphrase check) and the VM operations (reboot, stop, erase), with the attacks.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "ac-aleph-util.h"
#include "ac-devnet-crn-launch.h"
#include "ac-devnet-crn-vm.h"
#include "ac-json.h"
#include "ac-luks-disk.h"
#include "ac-devnet-reply.h"
#include "ac-devnet-request.h"
#include "ac-devnet-snp-vm.h"
#include "ac-error.h"
#include "ac-secret.h"
#include "ac-sev-measure.h"
#include "ac-sev-secret.h"

static GBytes *
other_firmware (GBytes *fw)
{
	gsize len = 0;
	const guint8 *p = g_bytes_get_data (fw, &len);
	guint8 *copy = g_memdup2 (p, len);
	/* another build: same size, different code bytes in the middle */
	for (gsize i = len / 2; i < len / 2 + 16 && i < len; i++)
		copy[i] ^= 0xa5;
	return g_bytes_new_take (copy, len);
}

static AcSevPsp *
crn_launch_psp (AcDevnetCrn *crn)
{
	switch (ac_devnet_crn_vm_attack (crn)) {
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
crn_launch (AcDevnetCrn *crn, AcDevnetVm *vm, GError **error)
{
	AcSevPsp *psp = crn_launch_psp (crn);
	g_autoptr (GMappedFile) mf = NULL;
	g_autoptr (GBytes) fw = NULL;
	g_autoptr (AcSevOvmf) ovmf = NULL;
	guint32 handle = 0;
	guint32 base = 0, size = 0;
	guint32 mlen = AC_SEV_MEASURE_BLOB_SIZE;
	AcSevStatus st;
	gsize fwlen = 0;
	const guint8 *fwp;

	ac_devnet_crn_vm_release_launch (vm);
	mf = g_mapped_file_new (vm->firmware_path, FALSE, error);
	if (mf == NULL)
		return FALSE;
	fw = g_mapped_file_get_bytes (mf);
	if (ac_devnet_crn_vm_attack (crn) == AC_DEVNET_ATTACK_OTHER_FIRMWARE) {
		GBytes *other = other_firmware (fw);
		g_bytes_unref (fw);
		fw = other;
	}
	fwp = g_bytes_get_data (fw, &fwlen);
	if (fwlen == 0 || fwlen % 16 != 0 || fwlen > G_MAXUINT32) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "firmware of %" G_GSIZE_FORMAT " bytes is not a multiple of 16",
		             fwlen);
		return FALSE;
	}
	st = ac_sev_psp_launch_start (psp, &handle, vm->policy, g_bytes_get_data (vm->godh, NULL),
	                              (guint32)g_bytes_get_size (vm->godh),
	                              g_bytes_get_data (vm->session, NULL),
	                              (guint32)g_bytes_get_size (vm->session));
	if (st != AC_SEV_STATUS_SUCCESS) {
		g_set_error (error, AC_ERROR, AC_ERROR_REFUSED,
		             "sev_launch_start: LAUNCH_START fw_error=%u %s (%s)", st,
		             ac_sev_status_to_string (st),
		             ac_sev_psp_get_last_message (psp) != NULL
		                 ? ac_sev_psp_get_last_message (psp)
		                 : "");
		return FALSE;
	}
	vm->launch_psp = psp;
	vm->handle = handle;
	/* pflash unit 0 below 4 GiB, as QEMU maps it */
	st = ac_sev_psp_launch_update_data (psp, handle, G_GUINT64_CONSTANT (0x100000000) - fwlen,
	                                    fwp, (guint32)fwlen);
	if (st == AC_SEV_STATUS_SUCCESS)
		st = ac_sev_psp_launch_measure (psp, handle, vm->measure, &mlen);
	if (st != AC_SEV_STATUS_SUCCESS) {
		g_set_error (error, AC_ERROR, AC_ERROR_INTERNAL, "software PSP: %s (%s)",
		             ac_sev_status_to_string (st),
		             ac_sev_psp_get_last_message (psp) != NULL
		                 ? ac_sev_psp_get_last_message (psp)
		                 : "");
		ac_devnet_crn_vm_release_launch (vm);
		return FALSE;
	}
	vm->measured = TRUE;
	/* where the secret goes: the OVMF's SEV secret area, else a fixed page */
	vm->secret_gpa = AC_DEVNET_SECRET_GPA_FALLBACK;
	ovmf = ac_sev_ovmf_parse (fwp, fwlen, NULL);
	if (ovmf != NULL && ac_sev_ovmf_get_secret_area (ovmf, &base, &size, NULL) && base != 0
	    && size >= 4096 && base % 16 == 0)
		vm->secret_gpa = base;
	if (ac_devnet_crn_vm_attack (crn) == AC_DEVNET_ATTACK_REPLAY_MEASUREMENT) {
		if (crn->replay != NULL) {
			memcpy (vm->measure, g_bytes_get_data (crn->replay, NULL),
			        AC_SEV_MEASURE_BLOB_SIZE);
		} else {
			g_autofree gchar *path
			    = g_build_filename (crn->dir, "replay-measurement.bin", NULL);
			crn->replay = g_bytes_new (vm->measure, AC_SEV_MEASURE_BLOB_SIZE);
			g_file_set_contents (path, (const gchar *)vm->measure,
			                     AC_SEV_MEASURE_BLOB_SIZE, NULL);
		}
	}
	vm->row->launches++;
	return TRUE;
}

static void
code_reply (SoupServerMessage *msg, guint status, const gchar *code, const gchar *description)
{
	g_autoptr (JsonBuilder) b = json_builder_new ();
	g_autoptr (JsonNode) node = NULL;
	json_builder_begin_object (b);
	ac_json_builder_add_string (b, "code", code);
	ac_json_builder_add_string (b, "description", description);
	json_builder_end_object (b);
	node = json_builder_get_root (b);
	ac_devnet_reply_json (msg, status, node);
}

static void
vm_running_reply (SoupServerMessage *msg)
{
	code_reply (msg, 400, "vm_running", "Operation not allowed, instance already running");
}

void
ac_devnet_crn_launch_initialize (AcDevnetCrn *crn, SoupServerMessage *msg, const gchar *path)
{
	g_autofree gchar *ref = NULL;
	AcDevnetVm *vm = ac_devnet_crn_vm_authorize (crn, msg, path, &ref);
	SoupMessageHeaders *h = soup_server_message_get_request_headers (msg);
	g_autoptr (GBytes) body = NULL;
	g_autoptr (GBytes) session = NULL;
	g_autoptr (GBytes) godh = NULL;
	g_autoptr (GError) error = NULL;
	g_autofree gchar *started = NULL;
	const gchar *code = NULL;

	if (vm == NULL)
		return;
	if (g_strcmp0 (vm->row->state, "paused") == 0
	    || g_strcmp0 (vm->row->state, "running") == 0) {
		vm_running_reply (msg);
		return;
	}
	if (g_strcmp0 (vm->row->state, "awaiting_init") != 0) {
		g_autofree gchar *text = g_strdup_printf ("No virtual machine with ref %s", ref);
		ac_devnet_reply_text (msg, 404, text);
		return;
	}
	body = ac_devnet_request_body (msg);
	if (!ac_devnet_request_parse_initialize (soup_message_headers_get_one (h, "Content-Type"),
	                                         body, &session, &godh, &code, &error)) {
		code_reply (msg, 400, code, error->message);
		return;
	}
	g_clear_pointer (&vm->session, g_bytes_unref);
	g_clear_pointer (&vm->godh, g_bytes_unref);
	vm->session = g_steal_pointer (&session);
	vm->godh = g_steal_pointer (&godh);
	if (!crn_launch (crn, vm, &error)) {
		/* QEMU would exit; the VM stays awaiting its owner */
		ac_devnet_crn_vm_set_error (crn, vm, error->message);
		code_reply (msg, 400, "launch_failed", error->message);
		return;
	}
	g_free (vm->row->last_error);
	vm->row->last_error = NULL;
	ac_devnet_crn_vm_set_state (crn, vm, "paused");
	started = g_strdup_printf ("Started VM with ref %s", ref);
	ac_devnet_reply_text (msg, 200, started);
}

void
ac_devnet_crn_launch_measurement (AcDevnetCrn *crn, SoupServerMessage *msg, const gchar *path)
{
	AcDevnetVm *vm = ac_devnet_crn_vm_authorize (crn, msg, path, NULL);
	g_autoptr (JsonBuilder) b = NULL;
	g_autoptr (JsonNode) node = NULL;
	g_autofree gchar *b64 = NULL;
	guint8 major = 0, minor = 0, build = 0;
	gboolean running;

	if (vm == NULL)
		return;
	/* as QMP answers: the launch measurement stays readable once the guest runs */
	running = g_strcmp0 (vm->row->state, "running") == 0;
	if ((g_strcmp0 (vm->row->state, "paused") != 0 && !running) || !vm->measured
	    || vm->launch_psp == NULL) {
		ac_devnet_reply_text (msg, 403, "Operation not running");
		return;
	}
	ac_sev_psp_get_firmware (vm->launch_psp, &major, &minor, &build);
	b64 = g_base64_encode (vm->measure, AC_SEV_MEASURE_BLOB_SIZE);
	b = json_builder_new ();
	json_builder_begin_object (b);
	json_builder_set_member_name (b, "sev_info");
	json_builder_begin_object (b);
	ac_json_builder_add_boolean (b, "enabled", TRUE);
	ac_json_builder_add_int (b, "api_major", major);
	ac_json_builder_add_int (b, "api_minor", minor);
	ac_json_builder_add_int (b, "build_id", build);
	ac_json_builder_add_int (b, "policy", vm->policy);
	ac_json_builder_add_string (b, "state", running ? "running" : "launch-secret");
	ac_json_builder_add_int (b, "handle", vm->handle);
	json_builder_end_object (b);
	ac_json_builder_add_string (b, "launch_measure", b64);
	json_builder_end_object (b);
	node = json_builder_get_root (b);
	vm->row->measurements++;
	ac_devnet_crn_vm_save (crn, vm);
	ac_devnet_reply_json (msg, 200, node);
}

/* the passphrase in the decrypted secret table, checked against the image's LUKS header */
static void
crn_check_passphrase (AcDevnetCrn *crn, AcDevnetVm *vm, GBytes *table_bytes)
{
	g_autoptr (GError) error = NULL;
	g_autoptr (AcSevSecretTable) table = NULL;
	g_autoptr (GBytes) value = NULL;
	gsize len = 0;
	const guint8 *p;
	gint slot = -1;

	vm->row->passphrase_checks++;
	p = g_bytes_get_data (table_bytes, &len);
	table = ac_sev_secret_table_parse (p, len, &error);
	if (table != NULL)
		value = ac_sev_secret_table_lookup (table, AC_SEV_SECRET_GUID_DISK_PASSWORD);
	if (value == NULL) {
		g_autofree gchar *text = g_strdup_printf (
		    "the injected secret table has no disk passphrase entry%s%s",
		    error != NULL ? ": " : "", error != NULL ? error->message : "");
		ac_devnet_crn_vm_set_error (crn, vm, text);
		return;
	}
	p = g_bytes_get_data (value, &len);
	/* Aleph's table format terminates the value with a NUL */
	if (len > 0 && p[len - 1] == '\0')
		len--;
	if (!ac_luks_disk_luks_check_passphrase (vm->rootfs_path, crn->devnet->work_dir, p, len,
	                                           &slot, &error)) {
		g_autofree gchar *text = g_strdup_printf ("passphrase check: %s", error->message);
		ac_devnet_crn_vm_set_error (crn, vm, text);
		return;
	}
	g_debug ("VM %s: the injected passphrase opens LUKS key slot %d", vm->row->vm_hash, slot);
	vm->row->passphrase_ok++;
	g_free (vm->row->last_error);
	vm->row->last_error = NULL;
	ac_devnet_crn_vm_save (crn, vm);
}

void
ac_devnet_crn_launch_inject_secret (AcDevnetCrn *crn, SoupServerMessage *msg, const gchar *path)
{
	AcDevnetVm *vm = ac_devnet_crn_vm_authorize (crn, msg, path, NULL);
	g_autoptr (GBytes) body = NULL;
	g_autoptr (GError) error = NULL;
	g_autoptr (GBytes) header = NULL;
	g_autoptr (GBytes) secret = NULL;
	g_autoptr (GBytes) plain = NULL;
	g_autoptr (JsonNode) status = NULL;
	gboolean json_ok = FALSE;
	gboolean parsed;
	AcSevStatus st;
	gsize len = 0;
	const gchar *data;

	if (vm == NULL)
		return;
	body = ac_devnet_request_body (msg);
	data = g_bytes_get_data (body, &len);
	parsed = ac_devnet_request_parse_inject (data, len, &json_ok, &header, &secret, &error);
	if (!json_ok) {
		ac_devnet_reply_text (msg, 400, error->message);
		return;
	}
	/* the secret has left the owner: record it whatever happens next */
	vm->row->inject_attempts++;
	ac_devnet_crn_vm_save (crn, vm);
	if (g_strcmp0 (vm->row->state, "running") == 0) {
		/* aleph-vm issue #668: QMP fails on a running VM */
		ac_devnet_reply_text (msg, 500, "500: Internal Server Error");
		return;
	}
	if (g_strcmp0 (vm->row->state, "paused") != 0 || !vm->measured) {
		ac_devnet_reply_text (msg, 403, "Operation not running");
		return;
	}
	if (!parsed) {
		ac_devnet_reply_error (msg, 400, "%s", error->message);
		return;
	}
	st = ac_sev_psp_launch_secret (
	    vm->launch_psp, vm->handle, g_bytes_get_data (header, NULL), AC_SEV_SECRET_HEADER_SIZE,
	    vm->secret_gpa, (guint32)g_bytes_get_size (secret), g_bytes_get_data (secret, NULL),
	    (guint32)g_bytes_get_size (secret));
	if (st != AC_SEV_STATUS_SUCCESS) {
		g_autofree gchar *text = g_strdup_printf (
		    "sev-inject-launch-secret: LAUNCH_SECRET fw_error=%u %s (%s)", st,
		    ac_sev_status_to_string (st),
		    ac_sev_psp_get_last_message (vm->launch_psp) != NULL
		        ? ac_sev_psp_get_last_message (vm->launch_psp)
		        : "");
		ac_devnet_crn_vm_set_error (crn, vm, text);
		ac_devnet_reply_text (msg, 500, text);
		return;
	}
	vm->row->secrets_released++;
	plain = ac_sev_psp_guest_read (vm->launch_psp, vm->handle, vm->secret_gpa,
	                               g_bytes_get_size (secret));
	if (plain != NULL) {
		gsize n = 0;
		guint8 *d;
		crn_check_passphrase (crn, vm, plain);
		/* our copy of the decrypted table holds the passphrase: wipe it */
		d = g_bytes_unref_to_data (g_steal_pointer (&plain), &n);
		ac_secret_wipe_free (d, n);
	} else {
		ac_devnet_crn_vm_set_error (crn, vm,
		                            "the secret area is empty after LAUNCH_SECRET");
	}
	ac_sev_psp_launch_finish (vm->launch_psp, vm->handle);
	ac_devnet_crn_vm_set_state (crn, vm, "running");
	{
		static const gchar reply[]
		    = "{\"status\":{\"status\":\"running\",\"singlestep\":false,\"running\":true}}";
		status = ac_json_parse_untrusted ("reply", reply, strlen (reply), NULL);
		ac_devnet_reply_json (msg, 200, status);
	}
}

void
ac_devnet_crn_launch_operate (AcDevnetCrn *crn, SoupServerMessage *msg, const gchar *path)
{
	g_autofree gchar *ref = NULL;
	AcDevnetVm *vm;
	const gchar *op = strrchr (path, '/');
	g_autoptr (GError) error = NULL;
	g_autofree gchar *text = NULL;

	if (g_strcmp0 (soup_server_message_get_method (msg), "POST") != 0) {
		ac_devnet_reply_error (msg, 405, "%s: expected POST", path);
		return;
	}
	op = op != NULL ? op + 1 : "";
	if (g_strcmp0 (op, "stop") != 0 && g_strcmp0 (op, "reboot") != 0
	    && g_strcmp0 (op, "erase") != 0) {
		ac_devnet_reply_error (msg, 404, "no devnet CRN operation %s", path);
		return;
	}
	vm = ac_devnet_crn_vm_authorize (crn, msg, path, &ref);
	if (vm == NULL)
		return;
	if (g_strcmp0 (op, "reboot") == 0) {
		if (g_strcmp0 (vm->row->state, "paused") != 0
		    && g_strcmp0 (vm->row->state, "running") != 0) {
			ac_devnet_reply_text (msg, 400, "Operation not running");
			return;
		}
		if (vm->snp != NULL) {
			/* SEV-SNP: a new boot, measured and unattended: a new agent key and
			 * report; the guest waits for its passphrase again */
			if (!ac_devnet_snp_vm_reboot (crn, vm, &error)) {
				ac_devnet_crn_vm_set_error (crn, vm, error->message);
				ac_devnet_crn_vm_set_state (crn, vm, "stopped");
				ac_devnet_reply_text (msg, 500, error->message);
				return;
			}
			ac_devnet_crn_vm_save (crn, vm);
			text = g_strdup_printf ("Rebooted VM with ref %s", ref);
			ac_devnet_reply_text (msg, 200, text);
			return;
		}
		/* QEMU restarts paused with the same session files: new measurement, new secret */
		if (!crn_launch (crn, vm, &error)) {
			ac_devnet_crn_vm_set_error (crn, vm, error->message);
			ac_devnet_crn_vm_set_state (crn, vm, "awaiting_init");
			ac_devnet_reply_text (msg, 500, error->message);
			return;
		}
		ac_devnet_crn_vm_set_state (crn, vm, "paused");
		text = g_strdup_printf ("Rebooted VM with ref %s", ref);
	} else if (g_strcmp0 (op, "stop") == 0) {
		ac_devnet_snp_vm_shutdown (vm->snp);
		ac_devnet_crn_vm_release_launch (vm);
		ac_devnet_crn_vm_set_state (crn, vm, "stopped");
		text = g_strdup_printf ("Stopped VM with ref %s", ref);
	} else {
		ac_devnet_snp_vm_shutdown (vm->snp);
		ac_devnet_crn_vm_release_launch (vm);
		g_clear_pointer (&vm->session, g_bytes_unref);
		g_clear_pointer (&vm->godh, g_bytes_unref);
		ac_devnet_crn_vm_set_state (crn, vm, "erased");
		text = g_strdup_printf ("Erased VM with ref %s", ref);
	}
	ac_devnet_reply_text (msg, 200, text);
}
