/*
 * aleph-confidential: the software PSP's launch state machine, LAUNCH_START to LAUNCH_FINISH
 * (moved from ac-sev-psp.c, which keeps the platform side).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <string.h>

#include "ac-error.h"
#include "ac-secret.h"
#include "ac-sev-measure.h"
#include "ac-sev-ossl-private.h"
#include "ac-sev-policy.h"
#include "ac-sev-psp-private.h"
#include "ac-sev-secret.h"
#include "ac-sev-session.h"

/* the GODH: version 1, curve P-384, a point on the curve; usage, algorithm and signatures
 * are ignored as by real firmware */
static EVP_PKEY *
ac_sev_psp_launch_parse_godh (const guint8 *dh)
{
	g_autoptr (GError) error = NULL;
	if (ac_sev_le32 (dh) != 1 || ac_sev_le32 (dh + 0x10) != 2)
		return NULL;
	return ac_sev_ec_pubkey_from_le (dh + 0x14, dh + 0x5c, &error);
}

static AcSevStatus
ac_sev_psp_launch_start_locked (AcSevPsp *self,
                                guint32 *handle,
                                guint32 policy,
                                const guint8 *dh,
                                guint32 dh_len,
                                const guint8 *session,
                                guint32 session_len)
{
	g_autoptr (EVP_PKEY) godh = NULL;
	AcSevPspGuest *g;
	guint8 z[48], master[16], kek[16], kik[16], mac[32], tk[32], pol[4];
	guint32 pol_api = policy >> 16;
	guint32 fw_api = ((guint32)self->api_minor << 8) | self->api_major;
	gboolean ok;

	if (self->state == 0)
		return ac_sev_psp_fail (self, AC_SEV_STATUS_INVALID_PLATFORM_STATE,
		                        "platform not initialized");
	if ((policy & AC_SEV_POLICY_ES) && !self->es)
		return ac_sev_psp_fail (
		    self, AC_SEV_STATUS_POLICY_FAILURE,
		    "policy 0x%x asks for SEV-ES, the platform was initialized without it", policy);
	if (policy & AC_SEV_POLICY_RESERVED_MASK)
		return ac_sev_psp_fail (self, AC_SEV_STATUS_POLICY_FAILURE,
		                        "policy 0x%x sets reserved bits", policy);
	/* API_MAJOR (bits 16-23) and API_MINOR (24-31) are minimums */
	if ((pol_api & 0xff) > self->api_major
	    || ((pol_api & 0xff) == self->api_major && (pol_api >> 8) > self->api_minor)) {
		return ac_sev_psp_fail (
		    self, AC_SEV_STATUS_POLICY_FAILURE,
		    "policy 0x%x needs firmware API %u.%u, platform has %u.%u (0x%x)", policy,
		    pol_api & 0xff, pol_api >> 8, self->api_major, self->api_minor, fw_api);
	}
	if (g_hash_table_size (self->guests) >= AC_SEV_PSP_MAX_GUESTS)
		return ac_sev_psp_fail (self, AC_SEV_STATUS_RESOURCE_LIMIT, "too many guests");
	if (*handle != 0)
		return ac_sev_psp_fail (self, AC_SEV_STATUS_INVALID_GUEST,
		                        "handle %u: LAUNCH_START needs handle 0", *handle);

	g = g_new0 (AcSevPspGuest, 1);
	g->regions = g_array_new (FALSE, TRUE, sizeof (AcSevPspRegion));
	g_array_set_clear_func (g->regions, ac_sev_psp_region_clear);
	g->policy = policy;

	if (dh_len == 0 && session_len == 0) {
		/* unattested launch: keys nobody outside knows */
		if (!ac_sev_random (g->tek, 16, NULL) || !ac_sev_random (g->tik, 16, NULL)) {
			ac_sev_psp_guest_free (g);
			return ac_sev_psp_fail (self, AC_SEV_STATUS_HWERROR_PLATFORM,
			                        "no randomness");
		}
	} else {
		if (dh == NULL || session == NULL || dh_len != AC_SEV_CERT_SIZE
		    || session_len != AC_SEV_SESSION_SIZE) {
			ac_sev_psp_guest_free (g);
			return ac_sev_psp_fail (
			    self, AC_SEV_STATUS_INVALID_LENGTH,
			    "GODH %u bytes (expected 2084), session %u bytes (expected 128)",
			    dh_len, session_len);
		}
		godh = ac_sev_psp_launch_parse_godh (dh);
		if (godh == NULL) {
			ac_sev_psp_guest_free (g);
			return ac_sev_psp_fail (self, AC_SEV_STATUS_INVALID_CERTIFICATE,
			                        "GODH certificate is invalid");
		}
		ok = ac_sev_ecdh_x (self->pdh_key, godh, z, NULL)
		     && ac_sev_kdf (z, 48, "sev-master-secret", session, 16, master, NULL)
		     && ac_sev_kdf (master, 16, "sev-kek", NULL, 0, kek, NULL)
		     && ac_sev_kdf (master, 16, "sev-kik", NULL, 0, kik, NULL)
		     && ac_sev_hmac_sha256 (kik, 16, session + 0x10, 32, mac, NULL);
		ac_secret_wipe (z, sizeof (z));
		ac_secret_wipe (master, sizeof (master));
		ac_secret_wipe (kik, sizeof (kik));
		if (!ok) {
			ac_secret_wipe (kek, sizeof (kek));
			ac_sev_psp_guest_free (g);
			return ac_sev_psp_fail (self, AC_SEV_STATUS_HWERROR_PLATFORM,
			                        "key derivation failed");
		}
		if (CRYPTO_memcmp (mac, session + 0x40, 32) != 0) {
			ac_secret_wipe (kek, sizeof (kek));
			ac_sev_psp_guest_free (g);
			return ac_sev_psp_fail (
			    self, AC_SEV_STATUS_BAD_SIGNATURE,
			    "session wrap MAC does not verify (session made for another PDH?)");
		}
		ok = ac_sev_aes128_ctr (kek, session + 0x30, session + 0x10, 32, tk, NULL);
		ac_secret_wipe (kek, sizeof (kek));
		if (!ok) {
			ac_sev_psp_guest_free (g);
			return ac_sev_psp_fail (self, AC_SEV_STATUS_HWERROR_PLATFORM,
			                        "unwrap failed");
		}
		memcpy (g->tek, tk, 16);
		memcpy (g->tik, tk + 16, 16);
		ac_secret_wipe (tk, sizeof (tk));
		ac_sev_put_le32 (pol, policy);
		if (!ac_sev_hmac_sha256 (g->tik, 16, pol, 4, mac, NULL)
		    || CRYPTO_memcmp (mac, session + 0x60, 32) != 0) {
			ac_sev_psp_guest_free (g);
			return ac_sev_psp_fail (self, AC_SEV_STATUS_POLICY_FAILURE,
			                        "policy MAC does not verify for policy 0x%x",
			                        policy);
		}
	}
	g->handle = self->next_handle++;
	g->state = AC_SEV_GUEST_STATE_LUPDATE;
	g->ld = EVP_MD_CTX_new ();
	if (g->ld == NULL || EVP_DigestInit_ex (g->ld, EVP_sha256 (), NULL) != 1) {
		ac_sev_psp_guest_free (g);
		return ac_sev_psp_fail (self, AC_SEV_STATUS_HWERROR_PLATFORM, "SHA-256 failed");
	}
	g_hash_table_insert (self->guests, GUINT_TO_POINTER (g->handle), g);
	self->state = 2;
	*handle = g->handle;
	return AC_SEV_STATUS_SUCCESS;
}

/**
 * ac_sev_psp_launch_start:
 * @handle: (inout): 0 on input; the new guest's handle on success
 * @dh_cert: (nullable): the guest owner's GODH certificate (2084 bytes) or none
 * @session: (nullable): the 128-byte session blob or none (unattested launch)
 */
AcSevStatus
ac_sev_psp_launch_start (AcSevPsp *self,
                         guint32 *handle,
                         guint32 policy,
                         const guint8 *dh_cert,
                         guint32 dh_len,
                         const guint8 *session,
                         guint32 session_len)
{
	g_autoptr (GMutexLocker) locker = g_mutex_locker_new (&self->mutex);
	return ac_sev_psp_launch_start_locked (self, handle, policy, dh_cert, dh_len, session,
	                                       session_len);
}

static void
ac_sev_psp_launch_store (AcSevPspGuest *g, guint64 gpa, const guint8 *data, gsize len)
{
	AcSevPspRegion r = { gpa, g_bytes_new (data, len) };
	g_array_append_val (g->regions, r);
}

static AcSevStatus
ac_sev_psp_launch_update_data_locked (AcSevPsp *self,
                                      guint32 handle,
                                      guint64 gpa,
                                      const guint8 *data,
                                      guint32 len)
{
	AcSevStatus st = AC_SEV_STATUS_SUCCESS;
	AcSevPspGuest *g = ac_sev_psp_lookup_in_state (self, handle, AC_SEV_GUEST_STATE_LUPDATE,
	                                               &st, "LAUNCH_UPDATE_DATA");

	if (g == NULL)
		return st;
	if (data == NULL || len == 0 || len % 16 != 0)
		return ac_sev_psp_fail (
		    self, AC_SEV_STATUS_INVALID_LENGTH,
		    "LAUNCH_UPDATE_DATA length %u is not a non-zero multiple of 16", len);
	if (gpa % 16 != 0 || gpa + len > AC_SEV_GPA_LIMIT)
		return ac_sev_psp_fail (self, AC_SEV_STATUS_INVALID_ADDRESS,
		                        "LAUNCH_UPDATE_DATA address 0x%" G_GINT64_MODIFIER
		                        "x is unaligned "
		                        "or outside guest memory",
		                        gpa);
	if (EVP_DigestUpdate (g->ld, data, len) != 1)
		return ac_sev_psp_fail (self, AC_SEV_STATUS_HWERROR_PLATFORM, "SHA-256 failed");
	ac_sev_psp_launch_store (g, gpa, data, len);
	return AC_SEV_STATUS_SUCCESS;
}

AcSevStatus
ac_sev_psp_launch_update_data (AcSevPsp *self,
                               guint32 handle,
                               guint64 gpa,
                               const guint8 *data,
                               guint32 len)
{
	g_autoptr (GMutexLocker) locker = g_mutex_locker_new (&self->mutex);
	return ac_sev_psp_launch_update_data_locked (self, handle, gpa, data, len);
}

static AcSevStatus
ac_sev_psp_launch_update_vmsa_locked (AcSevPsp *self,
                                      guint32 handle,
                                      const guint8 *vmsa,
                                      guint32 len)
{
	AcSevStatus st = AC_SEV_STATUS_SUCCESS;
	AcSevPspGuest *g = ac_sev_psp_lookup_in_state (self, handle, AC_SEV_GUEST_STATE_LUPDATE,
	                                               &st, "LAUNCH_UPDATE_VMSA");

	if (g == NULL)
		return st;
	if ((g->policy & AC_SEV_POLICY_ES) == 0)
		return ac_sev_psp_fail (
		    self, AC_SEV_STATUS_POLICY_FAILURE,
		    "LAUNCH_UPDATE_VMSA for guest %u whose policy 0x%x lacks SEV-ES", handle,
		    g->policy);
	if (vmsa == NULL || len != AC_SEV_VMSA_SIZE)
		return ac_sev_psp_fail (self, AC_SEV_STATUS_INVALID_LENGTH,
		                        "LAUNCH_UPDATE_VMSA length %u, expected 4096", len);
	if (EVP_DigestUpdate (g->ld, vmsa, len) != 1)
		return ac_sev_psp_fail (self, AC_SEV_STATUS_HWERROR_PLATFORM, "SHA-256 failed");
	return AC_SEV_STATUS_SUCCESS;
}

AcSevStatus
ac_sev_psp_launch_update_vmsa (AcSevPsp *self, guint32 handle, const guint8 *vmsa, guint32 len)
{
	g_autoptr (GMutexLocker) locker = g_mutex_locker_new (&self->mutex);
	return ac_sev_psp_launch_update_vmsa_locked (self, handle, vmsa, len);
}

static AcSevStatus
ac_sev_psp_launch_measure_locked (AcSevPsp *self, guint32 handle, guint8 *out, guint32 *len)
{
	AcSevStatus st = AC_SEV_STATUS_SUCCESS;
	AcSevPspGuest *g = ac_sev_psp_lookup_in_state (self, handle, AC_SEV_GUEST_STATE_LUPDATE,
	                                               &st, "LAUNCH_MEASURE");
	guint8 ld[32], mnonce[16];
	unsigned int ldlen = sizeof (ld);

	if (g == NULL)
		return st;
	if (out == NULL || *len < AC_SEV_MEASURE_BLOB_SIZE) {
		*len = AC_SEV_MEASURE_BLOB_SIZE;
		return ac_sev_psp_fail (self, AC_SEV_STATUS_INVALID_LENGTH,
		                        "LAUNCH_MEASURE buffer too small");
	}
	if (self->next_mnonce_set) {
		memcpy (mnonce, self->next_mnonce, 16);
		self->next_mnonce_set = FALSE;
	} else if (!ac_sev_random (mnonce, 16, NULL)) {
		return ac_sev_psp_fail (self, AC_SEV_STATUS_HWERROR_PLATFORM, "no randomness");
	}
	if (EVP_DigestFinal_ex (g->ld, ld, &ldlen) != 1)
		return ac_sev_psp_fail (self, AC_SEV_STATUS_HWERROR_PLATFORM, "SHA-256 failed");
	if (!ac_sev_measurement_compute (g->tik, self->api_major, self->api_minor, self->build_id,
	                                 g->policy, ld, mnonce, g->measure, NULL))
		return ac_sev_psp_fail (self, AC_SEV_STATUS_HWERROR_PLATFORM, "HMAC failed");
	memcpy (g->ld_final, ld, 32);
	memcpy (out, g->measure, 32);
	memcpy (out + 32, mnonce, 16);
	*len = AC_SEV_MEASURE_BLOB_SIZE;
	g->state = AC_SEV_GUEST_STATE_LSECRET;
	return AC_SEV_STATUS_SUCCESS;
}

/**
 * ac_sev_psp_launch_measure:
 * @out: (out caller-allocates): MEASURE ‖ MNONCE (48 bytes)
 * @len: (inout): the size of @out; 48 on return
 */
AcSevStatus
ac_sev_psp_launch_measure (AcSevPsp *self, guint32 handle, guint8 *out, guint32 *len)
{
	g_autoptr (GMutexLocker) locker = g_mutex_locker_new (&self->mutex);
	return ac_sev_psp_launch_measure_locked (self, handle, out, len);
}

static AcSevStatus
ac_sev_psp_launch_secret_locked (AcSevPsp *self,
                                 guint32 handle,
                                 const guint8 *hdr,
                                 guint32 hdr_len,
                                 guint64 gpa,
                                 guint32 guest_len,
                                 const guint8 *trans,
                                 guint32 trans_len)
{
	AcSevStatus st = AC_SEV_STATUS_SUCCESS;
	AcSevPspGuest *g = ac_sev_psp_lookup_in_state (self, handle, AC_SEV_GUEST_STATE_LSECRET,
	                                               &st, "LAUNCH_SECRET");
	g_autoptr (GBytes) plain = NULL;
	g_autoptr (GError) error = NULL;
	guint32 flags;

	if (g == NULL)
		return st;
	if (hdr == NULL || hdr_len != AC_SEV_SECRET_HEADER_SIZE)
		return ac_sev_psp_fail (self, AC_SEV_STATUS_INVALID_LENGTH,
		                        "LAUNCH_SECRET header has %u bytes, expected 52", hdr_len);
	flags = ac_sev_le32 (hdr);
	if (flags & 1)
		return ac_sev_psp_fail (self, AC_SEV_STATUS_UNSUPPORTED,
		                        "compressed secrets are not supported");
	if (flags != 0)
		return ac_sev_psp_fail (self, AC_SEV_STATUS_INVALID_PARAM,
		                        "LAUNCH_SECRET flags 0x%x", flags);
	if (trans == NULL || trans_len == 0 || guest_len != trans_len || trans_len % 16 != 0
	    || trans_len > AC_SEV_SECRET_MAX_PAYLOAD)
		return ac_sev_psp_fail (
		    self, AC_SEV_STATUS_INVALID_LENGTH,
		    "LAUNCH_SECRET guest length %u, transport length %u (expected equal "
		    "non-zero multiples of 16)",
		    guest_len, trans_len);
	if (gpa % 16 != 0 || gpa + guest_len > AC_SEV_GPA_LIMIT)
		return ac_sev_psp_fail (self, AC_SEV_STATUS_INVALID_ADDRESS,
		                        "LAUNCH_SECRET address 0x%" G_GINT64_MODIFIER "x", gpa);
	if (!ac_sev_secret_packet_open (g->tek, g->tik, g->measure, self->api_major,
	                                self->api_minor, hdr, hdr_len, trans, trans_len, &plain,
	                                &error)) {
		return ac_sev_psp_fail (self,
		                        g_error_matches (error, AC_ERROR, AC_ERROR_MISMATCH)
		                            ? AC_SEV_STATUS_BAD_MEASUREMENT
		                            : AC_SEV_STATUS_INVALID_PARAM,
		                        "LAUNCH_SECRET: %s", error->message);
	}
	{
		AcSevPspRegion r = { gpa, g_bytes_ref (plain) };
		g_array_append_val (g->regions, r);
	}
	return AC_SEV_STATUS_SUCCESS;
}

AcSevStatus
ac_sev_psp_launch_secret (AcSevPsp *self,
                          guint32 handle,
                          const guint8 *hdr,
                          guint32 hdr_len,
                          guint64 guest_gpa,
                          guint32 guest_len,
                          const guint8 *trans,
                          guint32 trans_len)
{
	g_autoptr (GMutexLocker) locker = g_mutex_locker_new (&self->mutex);
	return ac_sev_psp_launch_secret_locked (self, handle, hdr, hdr_len, guest_gpa, guest_len,
	                                        trans, trans_len);
}

AcSevStatus
ac_sev_psp_launch_finish (AcSevPsp *self, guint32 handle)
{
	AcSevStatus st = AC_SEV_STATUS_SUCCESS;
	AcSevPspGuest *g;
	g_mutex_lock (&self->mutex);
	g = ac_sev_psp_lookup_in_state (self, handle, AC_SEV_GUEST_STATE_LSECRET, &st,
	                                "LAUNCH_FINISH");
	if (g != NULL) {
		g->state = AC_SEV_GUEST_STATE_RUNNING;
		ac_secret_wipe (g->tek, sizeof (g->tek));
		ac_secret_wipe (g->tik, sizeof (g->tik));
	}
	g_mutex_unlock (&self->mutex);
	return st;
}
