/*
 * virt-aleph sev: what cli-sev.c (the commands) and cli-sev-launch.c (the launch `measure` and
 * `secret build` verify) share.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

#include "ac-cli.h"
#include "ac-secret.h"
#include "ac-sev-measure.h"
#include "ac-sev-owner.h"

G_BEGIN_DECLS

/* the bounds of the files mapped: certificates, chains, VMSAs, base64 values; firmware, kernel
 * and initrd images */
#define SEV_SMALL_FILE_MAX ((gsize)1 << 20)
#define SEV_IMAGE_FILE_MAX ((gsize)1 << 30)

/* ---- cli-sev-common.c (the front): readers and --debug output; cli-sev.c: base64 ---- */

void
cli_sev_debug_hex (AcCliGlobal *global, const gchar *what, const guint8 *p, gsize len);
void
cli_sev_debug_sha256 (AcCliGlobal *global, const gchar *what, GBytes *b);
GBytes *
cli_sev_read_file (const gchar *path, const gchar *what, gsize max, GError **error);
gboolean
cli_sev_parse_uint (const gchar *text,
                    const gchar *what,
                    guint64 max,
                    guint64 *out,
                    GError **error);
GBytes *
cli_sev_read_b64_arg (const gchar *value, gsize want, const gchar *what, GError **error);

/* ---- cli-sev-launch.c: the launch to verify ---- */

/* the options, as virt-qemu-sev-validate names them */
typedef struct {
	gchar *measurement, *api_major, *api_minor, *build_id, *policy, *expected_policy, *min_api;
	gchar *firmware, *kernel, *initrd, *cmdline, *num_cpus, *vmsa0, *vmsa1, *variant;
	gchar *family, *model, *stepping, *tik, *tek, *tk;
} CliSevLaunchArgs;

/* parsed: what the host reports, what the owner expects, the session's keys */
typedef struct {
	AcSevOwnerEvidence ev;
	AcSevLaunchInputs in;
	guint32 launch_policy; /* --expected-policy, else the reported one */
	guint8 min_major, min_minor;
	GBytes *blob, *fw, *k, *r, *v0, *v1;
	AcSecret *tik, *tek;
} CliSevLaunch;

void
cli_sev_launch_args_clear (CliSevLaunchArgs *a);
void
cli_sev_launch_clear (CliSevLaunch *l);
void
cli_sev_launch_add_entries (GOptionContext *ctx, CliSevLaunchArgs *a);
gboolean
cli_sev_launch_parse (const CliSevLaunchArgs *a,
                      gboolean need_tek,
                      CliSevLaunch *l,
                      GError **error);
/* the owner's launch, resumed from the session's keys and verified (%NULL and @error if not) */
AcSevOwnerLaunch *
cli_sev_launch_verify (AcCliGlobal *global, const CliSevLaunch *l, GError **error);

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (CliSevLaunchArgs, cli_sev_launch_args_clear)
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (CliSevLaunch, cli_sev_launch_clear)

G_END_DECLS
