/*
 * The guest owner's launch session (LAUNCH_START inputs): GODH key and certificate, ECDH with
 * the platform's PDH, the little-endian SP 800-108 KDF, TEK/TIK wrap, wrap and policy MACs,
 * the 128-byte session blob, and the files `sevctl session` writes.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>
#include <openssl/evp.h>

#include "ac-sev-cert.h"

G_BEGIN_DECLS

#define AC_SEV_SESSION_SIZE 128
#define AC_SEV_KEY_SIZE	    16

gboolean ac_sev_kdf (const guint8 *key,
		     gsize keylen,
		     const gchar *label,
		     const guint8 *context,
		     gsize contextlen,
		     guint8 out[16],
		     GError **error);

/* the pieces of a session blob; z (48 bytes) is the ECDH x-coordinate */
gboolean ac_sev_session_blob_build (const guint8 *z,
				    gsize zlen,
				    const guint8 nonce[16],
				    const guint8 wrap_iv[16],
				    const guint8 tek[16],
				    const guint8 tik[16],
				    guint32 policy,
				    guint8 blob[AC_SEV_SESSION_SIZE],
				    GError **error);

/* fixed inputs for reproducible sessions (tests); normally all random */
typedef struct {
	guint8 nonce[16];
	guint8 wrap_iv[16];
	guint8 tek[16];
	guint8 tik[16];
} AcSevSessionParams;

typedef struct _AcSevSession AcSevSession;

AcSevSession *ac_sev_session_new (AcSevCert *pdh, guint32 policy, GError **error);
AcSevSession *ac_sev_session_new_full (AcSevCert *pdh,
				       guint32 policy,
				       EVP_PKEY *godh_priv,
				       const AcSevSessionParams *params,
				       GError **error);
void ac_sev_session_free (AcSevSession *self);

guint32 ac_sev_session_get_policy (AcSevSession *self);
const guint8 *ac_sev_session_get_blob (AcSevSession *self); /* 128 bytes */
const guint8 *ac_sev_session_get_nonce (AcSevSession *self);
AcSevCert *ac_sev_session_get_godh_cert (AcSevSession *self);
const guint8 *ac_sev_session_get_tek (AcSevSession *self);
const guint8 *ac_sev_session_get_tik (AcSevSession *self);
gchar *ac_sev_session_get_godh_b64 (AcSevSession *self);
gchar *ac_sev_session_get_blob_b64 (AcSevSession *self);
gboolean ac_sev_session_write_files (AcSevSession *self,
				     const gchar *dir,
				     const gchar *name,
				     GError **error);

/* 16-byte key files (sevctl `N_tek.bin`, `N_tik.bin`; virt-qemu-sev-validate `--tk` = TEK‖TIK) */
gboolean ac_sev_key_file_read (const gchar *path,
			       guint8 *out,
			       gsize len,
			       const gchar *what,
			       GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (AcSevSession, ac_sev_session_free)

G_END_DECLS
