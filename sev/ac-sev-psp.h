/*
 * A software AMD Secure Processor: the platform side of SEV/SEV-ES launch for tests and the
 * devnet. It owns a generated (or loaded) identity ARK/ASK/CEK/OCA/PEK/PDH, keeps plaintext
 * guest memory, and reproduces every externally visible byte of PDH_CERT_EXPORT, GET_ID,
 * PLATFORM_STATUS, LAUNCH_START, LAUNCH_UPDATE_DATA/VMSA, LAUNCH_MEASURE, LAUNCH_SECRET and
 * LAUNCH_FINISH with the firmware's status codes (docs/protocols.md#the-software-psp).
 *
 * Its ARK is *not* an AMD root: a verifier trusts a software PSP's chain only when its ARK is
 * given explicitly (ac_sev_roots_add()).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

#include "ac-sev-chain.h"

G_BEGIN_DECLS

/* SEV API status codes (sevapi.h "Chapter 4.4") */
typedef enum {
	AC_SEV_STATUS_SUCCESS = 0x00,
	AC_SEV_STATUS_INVALID_PLATFORM_STATE = 0x01,
	AC_SEV_STATUS_INVALID_GUEST_STATE = 0x02,
	AC_SEV_STATUS_INVALID_CONFIG = 0x03,
	AC_SEV_STATUS_INVALID_LENGTH = 0x04,
	AC_SEV_STATUS_ALREADY_OWNED = 0x05,
	AC_SEV_STATUS_INVALID_CERTIFICATE = 0x06,
	AC_SEV_STATUS_POLICY_FAILURE = 0x07,
	AC_SEV_STATUS_INACTIVE = 0x08,
	AC_SEV_STATUS_INVALID_ADDRESS = 0x09,
	AC_SEV_STATUS_BAD_SIGNATURE = 0x0a,
	AC_SEV_STATUS_BAD_MEASUREMENT = 0x0b,
	AC_SEV_STATUS_ASID_OWNED = 0x0c,
	AC_SEV_STATUS_INVALID_ASID = 0x0d,
	AC_SEV_STATUS_WBINVD_REQUIRED = 0x0e,
	AC_SEV_STATUS_DF_FLUSH_REQUIRED = 0x0f,
	AC_SEV_STATUS_INVALID_GUEST = 0x10,
	AC_SEV_STATUS_INVALID_COMMAND = 0x11,
	AC_SEV_STATUS_ACTIVE = 0x12,
	AC_SEV_STATUS_HWERROR_PLATFORM = 0x13,
	AC_SEV_STATUS_HWERROR_UNSAFE = 0x14,
	AC_SEV_STATUS_UNSUPPORTED = 0x15,
	AC_SEV_STATUS_INVALID_PARAM = 0x16,
	AC_SEV_STATUS_RESOURCE_LIMIT = 0x17,
	AC_SEV_STATUS_SECURE_DATA_INVALID = 0x18,
} AcSevStatus;

typedef enum {
	AC_SEV_GUEST_STATE_UNINIT = 0,
	AC_SEV_GUEST_STATE_LUPDATE = 1,
	AC_SEV_GUEST_STATE_LSECRET = 2,
	AC_SEV_GUEST_STATE_RUNNING = 3,
} AcSevGuestState;

#define AC_SEV_PLATFORM_STATUS_SIZE 12
#define AC_SEV_ID_SIZE		    64

const gchar *ac_sev_status_to_string (AcSevStatus status);

typedef struct _AcSevPsp AcSevPsp;

AcSevPsp *ac_sev_psp_new (guint rsa_bits, GError **error);
/* the platform half of the software PSP's chain for the EC keys of the CEK, OCA, PEK and PDH
 * (@keys, in that order), certificates in @certs in the same order (the caller's to free); all
 * or nothing: on failure @certs holds NULLs */
gboolean ac_sev_psp_platform_certs (AcAmdCert *ask,
                                    EVP_PKEY *ask_key,
                                    guint8 api_major,
                                    guint8 api_minor,
                                    EVP_PKEY *const keys[4],
                                    AcSevCert *certs[4],
                                    GError **error);
AcSevPsp *ac_sev_psp_load (const gchar *dir, GError **error);
gboolean ac_sev_psp_save (AcSevPsp *self, const gchar *dir, GError **error);
void ac_sev_psp_free (AcSevPsp *self);

void ac_sev_psp_set_firmware (AcSevPsp *self, guint8 api_major, guint8 api_minor, guint8 build_id);
void ac_sev_psp_set_es (AcSevPsp *self, gboolean es);
void ac_sev_psp_set_next_mnonce (AcSevPsp *self, const guint8 mnonce[16]);
void ac_sev_psp_get_firmware (AcSevPsp *self, guint8 *api_major, guint8 *api_minor, guint8 *build_id);
AcSevChain *ac_sev_psp_get_chain (AcSevPsp *self); /* full: with ASK and ARK; borrowed */
/* like real firmware, export the CEK unsigned; the signed one is then what a (fake) AMD KDS
 * serves for ac_sev_psp_get_id() (ac_sev_kds_get_cek()) */
void ac_sev_psp_set_export_unsigned_cek (AcSevPsp *self, gboolean unsigned_cek);
AcAmdCert *ac_sev_psp_get_ark (AcSevPsp *self);
AcAmdCert *ac_sev_psp_get_ask (AcSevPsp *self);
const gchar *ac_sev_psp_get_last_message (AcSevPsp *self);

/* platform commands */
AcSevStatus ac_sev_psp_platform_status (AcSevPsp *self, guint8 out[AC_SEV_PLATFORM_STATUS_SIZE]);
AcSevStatus ac_sev_psp_pdh_cert_export (AcSevPsp *self,
					guint8 *pdh,
					guint32 *pdh_len,
					guint8 *certs,
					guint32 *certs_len);
AcSevStatus ac_sev_psp_get_id (AcSevPsp *self, guint8 *buf, guint32 *len);

/* guest commands */
AcSevStatus ac_sev_psp_launch_start (AcSevPsp *self,
				     guint32 *handle,
				     guint32 policy,
				     const guint8 *dh_cert,
				     guint32 dh_len,
				     const guint8 *session,
				     guint32 session_len);
AcSevStatus ac_sev_psp_launch_update_data (AcSevPsp *self,
					   guint32 handle,
					   guint64 gpa,
					   const guint8 *data,
					   guint32 len);
AcSevStatus ac_sev_psp_launch_update_vmsa (AcSevPsp *self,
					   guint32 handle,
					   const guint8 *vmsa,
					   guint32 len);
AcSevStatus ac_sev_psp_launch_measure (AcSevPsp *self, guint32 handle, guint8 *out, guint32 *len);
AcSevStatus ac_sev_psp_launch_secret (AcSevPsp *self,
				      guint32 handle,
				      const guint8 *hdr,
				      guint32 hdr_len,
				      guint64 guest_gpa,
				      guint32 guest_len,
				      const guint8 *trans,
				      guint32 trans_len);
AcSevStatus ac_sev_psp_launch_finish (AcSevPsp *self, guint32 handle);
/* ATTESTATION (0x36): the launch digest and policy with the guest owner's @mnonce, signed by
 * the PEK (AC_SEV_ATTESTATION_REPORT_SIZE bytes; check with ac_sev_attestation_report_verify) */
AcSevStatus ac_sev_psp_attestation (AcSevPsp *self,
				    guint32 handle,
				    const guint8 mnonce[16],
				    guint8 *out,
				    guint32 *len);
AcSevStatus ac_sev_psp_decommission (AcSevPsp *self, guint32 handle);
AcSevStatus ac_sev_psp_guest_status (AcSevPsp *self,
				     guint32 handle,
				     guint32 *policy,
				     AcSevGuestState *state);

/* test/devnet helper: the plaintext guest memory at @gpa, or NULL when never written */
GBytes *ac_sev_psp_guest_read (AcSevPsp *self, guint32 handle, guint64 gpa, gsize len);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (AcSevPsp, ac_sev_psp_free)

G_END_DECLS
