/*
 * The Aleph flow with an existing encrypted image (<aleph:publish rootfs='STORE hash'>): no
 * build and no STORE; the image's passphrase comes from libvirt's secret store and is checked
 * against the image's LUKS header, its bytes fetched from the network (HTTP Range requests),
 * before anything is posted.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "ac-pipeline-private.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <openssl/crypto.h>

#include "ac-error.h"
#include "ac-luks-disk.h"
#include "ac-secret-store.h"

gchar *
ac_pipeline_rootfs_secret_usage (const gchar *store_hash)
{
	return g_strconcat (AC_PIPELINE_ROOTFS_USAGE_PREFIX, store_hash, NULL);
}

static gboolean
stored_read (gpointer user_data, guint64 offset, guint8 *buf, gsize len, GError **error)
{
	return ac_ccn_stored_file_read (user_data, offset, buf, len, error);
}

/*
 * Only the bytes the check needs are fetched, with HTTP Range requests: the GPT and partition
 * 2's LUKS1 header area (SEV), or the LUKS2 header copies and key slot area (SEV-SNP), a few
 * MiB of an image of GiBs. The STORE's hash covers the whole file, so those bytes cannot be
 * checked against it: the server could answer with the header of another image. That is
 * acceptable because this check decides nothing about trust. It catches a wrong passphrase
 * before anything is posted (a usability check); the passphrase itself goes only to a launch
 * whose attestation was verified, and the CRN boots the image the INSTANCE names, fetched and
 * checked by its hash. A server that ignores Range sends the whole file: it is then read whole,
 * bounded by AC_PIPELINE_MAX_ROOTFS_CHECK, and its hash checked.
 */
gboolean
ac_pipeline_rootfs_verify (AcPipeline *p,
                           const guint8 *passphrase,
                           gsize passphrase_len,
                           guint64 *size,
                           GError **error)
{
	const gchar *hash = p->tag->publish->rootfs;
	gboolean snp = p->tag->tee == AC_TEE_SNP;
	g_autoptr (AcCcnStoredFile) file = NULL;
	g_autofree gchar *what = g_strdup_printf ("<aleph:publish rootfs='%s'>", hash);
	g_autofree gchar *workdir = NULL;
	g_autoptr (GError) local_error = NULL;
	gboolean ok;

	if (!ac_pipeline_ensure_clients (p, error))
		return FALSE;
	file = ac_ccn_stored_open (p->ccn, what, hash, AC_LUKS_DISK_GPT_SCAN_SIZE,
	                           AC_PIPELINE_MAX_ROOTFS_CHECK, error);
	if (file == NULL)
		return FALSE;
	workdir = g_build_filename (p->config->state_dir, "domains", p->uuid, NULL);
	if (g_mkdir_with_parents (workdir, 0700) != 0) {
		g_set_error (error, AC_ERROR, AC_ERROR_IO, "cannot create %s: %s", workdir,
		             g_strerror (errno));
		return FALSE;
	}
	/* SEV: GRUB's LUKS1 on GPT partition 2; SEV-SNP: a LUKS2 container from offset 0 */
	ok = ac_luks_disk_check_passphrase_read (stored_read, file,
	                                         ac_ccn_stored_file_get_size (file), snp, workdir,
	                                         passphrase, passphrase_len, NULL, &local_error);
	if (!ok) {
		if (g_error_matches (local_error, AC_ERROR, AC_ERROR_MISMATCH))
			g_set_error (
			    error, AC_ERROR, AC_ERROR_MISMATCH,
			    "%s: the passphrase opens no key slot of the image's %s header", what,
			    snp ? "LUKS2" : "LUKS1");
		else if (local_error->domain == AC_ERROR
		         && (local_error->code == AC_ERROR_NETWORK
		             || local_error->code == AC_ERROR_REMOTE))
			g_propagate_error (error, g_steal_pointer (&local_error));
		else
			g_set_error (error, AC_ERROR, local_error->code,
			             "%s: the image is not a %s one (%s): %s", what,
			             snp ? "SEV-SNP" : "SEV",
			             snp ? "a LUKS2 container from its first byte"
			                 : "a GPT disk with a LUKS1 partition 2",
			             local_error->message);
		return FALSE;
	}
	if (size != NULL)
		*size = ac_ccn_stored_file_get_size (file);
	return TRUE;
}

gboolean
ac_pipeline_rootfs_check (AcPipeline *p,
                          const guint8 *passphrase,
                          gsize passphrase_len,
                          const gchar *secret_uuid,
                          GError **error)
{
	const gchar *hash = p->tag->publish->rootfs;
	gboolean snp = p->tag->tee == AC_TEE_SNP;
	guint64 size = 0;
	g_autoptr (GError) local_error = NULL;

	if (!ac_pipeline_rootfs_verify (p, passphrase, passphrase_len, &size, &local_error)) {
		g_autofree gchar *hint
		    = g_error_matches (local_error, AC_ERROR, AC_ERROR_MISMATCH)
		          ? g_strdup_printf (" (give the right one with 'virt-aleph apply %s "
		                             "--passphrase-file FILE')",
		                             p->name)
		          : NULL;
		g_set_error (error, AC_ERROR, local_error->code, "%s; nothing was posted%s",
		             local_error->message, hint != NULL ? hint : "");
		return FALSE;
	}

	/* what the build and the STORE would have recorded; the image stays the network's */
	ac_state_reset_step (p->state, "build");
	ac_state_set_string (p->state, "build", "rootfs", hash);
	ac_state_set_int (p->state, "build", "size", (gint64)size);
	if (secret_uuid != NULL)
		ac_state_set_string (p->state, "build", "secret", secret_uuid);
	ac_state_set_string (p->state, "build", "layout", snp ? "luks2-root" : "grub-luks1");
	ac_state_mark_done (p->state, "build");
	ac_state_reset_step (p->state, "store");
	ac_state_set_string (p->state, "store", "hash", hash);
	ac_state_set_bool (p->state, "store", "adopted", TRUE);
	ac_state_mark_done (p->state, "store");
	g_free (p->status->store_hash);
	p->status->store_hash = g_strdup (hash);
	ac_state_log (p->state, "pre-flight: the passphrase opens the %s header of the image %s",
	              snp ? "LUKS2" : "LUKS1", hash);
	return ac_pipeline_save (p, error);
}

gboolean
ac_pipeline_rootfs_step (AcPipeline *p, GError **error)
{
	const gchar *hash = p->tag->publish->rootfs;
	g_autofree gchar *usage = NULL;
	g_autofree gchar *uuid = NULL;
	g_autoptr (GError) local_error = NULL;
	virConnectPtr sconn;
	guint8 *passphrase;
	gsize len = 0;
	gboolean ok;

	if (ac_state_step_done (p->state, "build")
	    && g_strcmp0 (ac_state_get_string (p->state, "build", "rootfs"), hash) == 0)
		return TRUE;
	ac_pipeline_report (p, "validating", "preflight/rootfs", 2);
	usage = ac_pipeline_rootfs_secret_usage (hash);
	sconn = ac_secret_store_connect (p->conn, p->config->secrets_uri, error);
	if (sconn == NULL)
		return FALSE;
	uuid = ac_secret_store_lookup_volume (sconn, usage, &local_error);
	if (uuid == NULL) {
		virConnectClose (sconn);
		if (g_error_matches (local_error, AC_ERROR, AC_ERROR_NOT_FOUND)) {
			g_set_error (
			    error, AC_ERROR, AC_ERROR_NOT_FOUND,
			    "<aleph:publish rootfs='%s'>: no passphrase for this image in "
			    "libvirt's secret store (a secret of usage volume '%s'); give it "
			    "with 'virt-aleph apply %s --passphrase-file FILE'",
			    hash, usage, p->name);
			return FALSE;
		}
		g_propagate_error (error, g_steal_pointer (&local_error));
		return FALSE;
	}
	passphrase = ac_secret_store_get (sconn, p->config->state_dir, uuid, &len, error);
	virConnectClose (sconn);
	if (passphrase == NULL)
		return FALSE;
	ok = ac_pipeline_rootfs_check (p, passphrase, len, uuid, error);
	OPENSSL_clear_free (passphrase, len + 1);
	return ok;
}
