/*
 * aleph-confidential: the software PSP's state, shared by its platform side (ac-sev-psp.c:
 * keys, certificates, platform commands, guest bookkeeping) and its launch state machine
 * (ac-sev-psp-launch.c: LAUNCH_START … LAUNCH_FINISH). Private to sev/.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <openssl/evp.h>

#include "ac-sev-psp.h"

G_BEGIN_DECLS

#define AC_SEV_PSP_MAX_GUESTS 64
#define AC_SEV_GPA_LIMIT G_GUINT64_CONSTANT (0x100000000) /* 32-bit guest physical space */

typedef struct {
	guint64 gpa;
	GBytes *data;
} AcSevPspRegion;

typedef struct {
	guint32 handle;
	AcSevGuestState state;
	guint32 policy;
	guint8 tek[16];
	guint8 tik[16];
	EVP_MD_CTX *ld;
	guint8 measure[32];
	guint8 ld_final[32];
	GArray *regions; /* AcSevPspRegion, later writes shadow earlier ones */
} AcSevPspGuest;

struct _AcSevPsp {
	GMutex mutex;
	guint8 api_major;
	guint8 api_minor;
	guint8 build_id;
	gboolean es;
	gboolean unsigned_cek;
	guint8 state; /* 0 UNINIT, 1 INIT, 2 WORKING */
	guint8 id[AC_SEV_ID_SIZE];
	gboolean next_mnonce_set;
	guint8 next_mnonce[16];
	guint32 next_handle;
	AcSevChain *chain;
	EVP_PKEY *ark_key;
	EVP_PKEY *ask_key;
	EVP_PKEY *cek_key;
	EVP_PKEY *oca_key;
	EVP_PKEY *pek_key;
	EVP_PKEY *pdh_key;
	GHashTable *guests; /* handle → AcSevPspGuest */
	gchar *last_message;
};

void
ac_sev_psp_region_clear (gpointer p);
void
ac_sev_psp_guest_free (AcSevPspGuest *g);
AcSevStatus
ac_sev_psp_fail (AcSevPsp *self, AcSevStatus status, const gchar *fmt, ...) G_GNUC_PRINTF (3, 4);
AcSevPspGuest *
ac_sev_psp_lookup (AcSevPsp *self, guint32 handle, AcSevStatus *st, const gchar *cmd);
/* the guest @handle when it is in state @want; NULL with *@st the command's failure */
AcSevPspGuest *
ac_sev_psp_lookup_in_state (AcSevPsp *self,
                            guint32 handle,
                            AcSevGuestState want,
                            AcSevStatus *st,
                            const gchar *cmd);

G_END_DECLS
