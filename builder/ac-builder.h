/*
 * aleph-confidential: the image builder — template → source → provisioners → assemble →
 * verify → manifest, with every temporary undone on failure or interrupt.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

#include "ac-builder-assemble.h"
#include "ac-secret.h"
#include "ac-builder-template.h"
#include "ac-builder-verify.h"
#include "ac-progress.h"

G_BEGIN_DECLS

typedef enum {
	AC_ON_ERROR_CLEANUP, /* remove every temporary (default) */
	AC_ON_ERROR_ABORT,   /* unmount, but leave the work directory for inspection */
	AC_ON_ERROR_ASK,     /* AcBuildOptions.ask picks one of the two (cleanup without it) */
} AcOnError;

/* with %AC_ON_ERROR_ASK: the build failed (@error) with its temporaries in @workdir, mounts
 * still in place; returns %AC_ON_ERROR_CLEANUP or %AC_ON_ERROR_ABORT. Not called when the
 * build was cancelled (an interrupt cleans up). */
typedef AcOnError (*AcBuildAskFunc) (const GError *error, const gchar *workdir, gpointer data);

typedef struct {
	gboolean force;              /* replace an existing output and manifest */
	AcOnError on_error;
	AcBuildAskFunc ask;
	gpointer ask_data;
	const AcSecret *passphrase;  /* the caller's, for passphrase.from_caller (or to override) */
	const gchar *workdir_parent; /* default: the output's folder */
	AcXtsOptions xts;
} AcBuildOptions;

typedef struct {
	gchar *image_path;
	gchar *manifest_path;
	gchar *manifest_json;
	gchar *image_sha256;
	gchar *luks_uuid;
	guint64 image_size;
	AcSecret *passphrase; /* handed back: the caller keeps it (a libvirt secret); never logged */
	gchar *kept_workdir;  /* on-error=abort after a failure */
	AcXtsStats encrypt_stats;
	gdouble step_seconds[5]; /* source, provision, assemble, verify, manifest */
} AcBuildResult;

void ac_build_result_clear (AcBuildResult *result);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (AcBuildResult, ac_build_result_clear)

gboolean ac_build_run (const AcTemplate *tpl,
		       const AcBuildOptions *options,
		       AcProgress *progress,
		       GCancellable *cancellable,
		       AcBuildResult *result,
		       GError **error);

gboolean ac_build_manifest_set_cid (const gchar *manifest_path, const gchar *cid, GError **error);

G_END_DECLS
