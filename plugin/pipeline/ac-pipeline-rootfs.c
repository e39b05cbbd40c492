/*
 * The Aleph flow with an existing encrypted image (<aleph:publish rootfs='STORE hash'>): no
 * build and no STORE; the image's passphrase comes from libvirt's secret store and is checked
 * against the image's LUKS header, fetched from the network, before anything is posted.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "ac-pipeline-private.h"

#include <glib/gstdio.h>
#include <openssl/crypto.h>
#include <unistd.h>

#include "ac-error.h"
#include "ac-file.h"
#include "ac-luks-disk.h"
#include "ac-secret-store.h"

gchar *
ac_pipeline_rootfs_secret_usage (const gchar *store_hash)
{
	return g_strconcat (AC_PIPELINE_ROOTFS_USAGE_PREFIX, store_hash, NULL);
}

/* @data written to a new 0600 file in @dir; its path, or NULL with @error */
static gchar *
write_temp (const gchar *dir, GBytes *data, GError **error)
{
	g_autofree gchar *dest = g_build_filename (dir, "rootfs-check", NULL);
	gchar *tmp = NULL;
	int fd;

	if (g_mkdir_with_parents (dir, 0700) != 0) {
		g_set_error (error, AC_ERROR, AC_ERROR_IO, "cannot create %s: %s", dir,
		             g_strerror (errno));
		return NULL;
	}
	fd = ac_file_create_temp (dest, 0600, &tmp, error);
	if (fd < 0)
		return NULL;
	if (!ac_file_write_all (fd, tmp, g_bytes_get_data (data, NULL), g_bytes_get_size (data),
	                        error)) {
		close (fd);
		g_unlink (tmp);
		g_free (tmp);
		return NULL;
	}
	close (fd);
	return tmp;
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
	g_autoptr (GBytes) file = NULL;
	g_autofree gchar *what = g_strdup_printf ("<aleph:publish rootfs='%s'>", hash);
	g_autofree gchar *tmp = NULL;
	g_autofree gchar *workdir = NULL;
	g_autoptr (GError) local_error = NULL;
	gboolean ok;

	if (!ac_pipeline_ensure_clients (p, error))
		return FALSE;
	/* the STORE's file, its hash checked end to end; bounded: it is held in memory */
	file = ac_ccn_fetch_stored (p->ccn, what, hash, AC_PIPELINE_MAX_ROOTFS_CHECK, NULL, error);
	if (file == NULL)
		return FALSE;
	workdir = g_build_filename (p->config->state_dir, "domains", p->uuid, NULL);
	tmp = write_temp (workdir, file, error);
	if (tmp == NULL)
		return FALSE;
	/* SEV: GRUB's LUKS1 on GPT partition 2; SEV-SNP: a LUKS2 container from offset 0 */
	ok = snp ? ac_luks_disk_luks2_check_passphrase (tmp, passphrase, passphrase_len, NULL,
	                                                &local_error)
	         : ac_luks_disk_luks_check_passphrase (tmp, workdir, passphrase, passphrase_len,
	                                               NULL, &local_error);
	g_unlink (tmp);
	if (!ok) {
		if (g_error_matches (local_error, AC_ERROR, AC_ERROR_MISMATCH))
			g_set_error (
			    error, AC_ERROR, AC_ERROR_MISMATCH,
			    "%s: the passphrase opens no key slot of the image's %s header; "
			    "nothing was posted (give the right one with 'virt-aleph apply "
			    "%s --passphrase-file FILE')",
			    what, snp ? "LUKS2" : "LUKS1", p->name);
		else
			g_set_error (error, AC_ERROR, local_error->code,
			             "%s: the image is not a %s one (%s): %s", what,
			             snp ? "SEV-SNP" : "SEV",
			             snp ? "a LUKS2 container from its first byte"
			                 : "a GPT disk with a LUKS1 partition 2",
			             local_error->message);
		return FALSE;
	}

	/* what the build and the STORE would have recorded; the image stays the network's */
	ac_state_reset_step (p->state, "build");
	ac_state_set_string (p->state, "build", "rootfs", hash);
	ac_state_set_int (p->state, "build", "size", (gint64)g_bytes_get_size (file));
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
