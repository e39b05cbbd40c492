/*
 * aleph-confidential devnet: a CRN's SEV-SNP instances (INSTANCE with trusted_execution.mode
 * "sev_snp") — what aleph-vm does on notify: the runtime manifest and its bundle fetched
 * (size and SHA-256 checked before anything is extracted), the command line rendered for the
 * message's sender, the guest "launched" on the CRN's software SNP chip (its launch digest
 * computed from the bundle's OVMF, kernel, initrd and that command line), and the guest's
 * attest-agent started (ac-devnet-snp-agent.h) on a host port that the executions list maps
 * to the runtime's attestation port. What reaches the agent is counted in the VM's row; an
 * injected luks_passphrase is checked against the published LUKS2 rootfs as the guest's
 * initrd would. The snp-* attacks of a VM's boot are applied here.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "ac-devnet-crn-vm.h"
#include "ac-devnet-state.h"

G_BEGIN_DECLS

/* the content's environment.trusted_execution.mode is "sev_snp" */
gboolean
ac_devnet_snp_vm_is_snp (JsonObject *content);

/*
 * Notify of @msg (a processed INSTANCE in sev_snp mode, @content its content, @rootfs_path
 * the file of its rootfs STORE) for @vm: fetches and checks the runtime, boots the guest and
 * starts its agent; vm->snp is set and the VM runs. On error (AC_ERROR_*, the text for
 * notify's "errors") nothing runs.
 */
gboolean
ac_devnet_snp_vm_allocate (AcDevnetCrn *crn,
                           AcDevnetVm *vm,
                           const AcAlephMessage *msg,
                           JsonObject *content,
                           const gchar *rootfs_path,
                           GError **error);

/* a reboot: a new boot of the same launch (a new guest, agent key, report and port) */
gboolean
ac_devnet_snp_vm_reboot (AcDevnetCrn *crn, AcDevnetVm *vm, GError **error);

/* stop/erase: the agent stopped, the guest gone (the launch inputs kept for a later notify) */
void
ac_devnet_snp_vm_shutdown (AcDevnetSnpVm *snp);

void
ac_devnet_snp_vm_free (AcDevnetSnpVm *snp);

/* the executions list's networking of a running SNP VM: host_ipv4 and mapped_ports */
void
ac_devnet_snp_vm_networking (AcDevnetSnpVm *snp, JsonObject *net);

G_END_DECLS
