/*
 * aleph-confidential devnet: a CRN's VM records: the launch context a VM holds in memory, its audit
 * row in the store, and the signed request that names one.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "ac-devnet-state.h"

G_BEGIN_DECLS

/* an SEV-SNP instance's launch and boot (ac-devnet-snp-vm.c) */
typedef struct _AcDevnetSnpVm AcDevnetSnpVm;

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
	AcDevnetSnpVm *snp; /* an SEV-SNP instance: its launch and boot, else NULL */
	GPtrArray *console; /* AcDevnetConsoleLine: what the VM printed (GET …/logs), newest last */
} AcDevnetVm;

/* one line of a VM's console, as aleph-vm keeps them in the journal */
typedef struct {
	gint64 time_us;
	gchar *stream; /* stdout or stderr */
	gchar *message;
} AcDevnetConsoleLine;

/* the most console lines a VM keeps (the oldest go first) */
#define AC_DEVNET_CONSOLE_MAX 1000

void
ac_devnet_crn_vm_console (AcDevnetVm *vm, const gchar *stream, const gchar *format, ...)
    G_GNUC_PRINTF (3, 4);

/* GET /control/machine/{ref}/logs: the console as aleph-vm's JSON logs endpoint answers it */
void
ac_devnet_crn_vm_logs (AcDevnetCrn *crn, SoupServerMessage *msg, const gchar *path);

void
ac_devnet_crn_vm_free (AcDevnetVm *vm);

/* the attack this CRN plays on the launches it makes (a knob) */
AcDevnetAttack
ac_devnet_crn_vm_attack (AcDevnetCrn *crn);

gboolean
ac_devnet_crn_vm_save (AcDevnetCrn *crn, AcDevnetVm *vm);

void
ac_devnet_crn_vm_set_state (AcDevnetCrn *crn, AcDevnetVm *vm, const gchar *state);

void
ac_devnet_crn_vm_set_error (AcDevnetCrn *crn, AcDevnetVm *vm, const gchar *text);

void
ac_devnet_crn_vm_release_launch (AcDevnetVm *vm);

/* the VM at /control/machine/{ref}/…; replies and returns NULL on failure */
AcDevnetVm *
ac_devnet_crn_vm_authorize (AcDevnetCrn *crn,
                            SoupServerMessage *msg,
                            const gchar *path,
                            gchar **ref_out);

G_END_DECLS
