/*
 * libvirt's storage API for the local SEV flow's image: streams to and from volumes.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "ac-localsev-image.h"
#include "ac-localsev-image-private.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <libvirt/virterror.h>
#include <openssl/crypto.h>
#include <string.h>
#include <unistd.h>

#include "ac-error.h"
#include "ac-process.h"
#include "ac-image-build.h"
#include "ac-localsev-domain.h"
#include "ac-localsev-private.h"
#include "ac-localsev-store.h"
#include "ac-localsev.h"
#include "ac-progress.h"
#include "ac-secret-store.h"
#include "ac-virt.h"

#define STREAM_CHUNK (1024 * 1024)

/* ---- storage API ---------------------------------------------------------------------------- */

static void
stream_io_progress (AcLocalsevImageStreamIo *io)
{
	if (io->progress != NULL && io->total > 0)
		ac_progress_set_fraction (io->progress, MIN (io->done, io->total), io->total);
}

static int
stream_sink (virStreamPtr st, const char *bytes, size_t nbytes, void *opaque)
{
	AcLocalsevImageStreamIo *io = opaque;
	size_t off = 0;

	if (g_cancellable_is_cancelled (io->cancellable)) {
		io->cancelled = TRUE;
		return -1;
	}
	while (io->fd >= 0 && off < nbytes) {
		ssize_t w = write (io->fd, bytes + off, nbytes - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			io->saved_errno = w < 0 ? errno : EIO;
			return -1;
		}
		off += (size_t)w;
	}
	if (io->sum != NULL)
		g_checksum_update (io->sum, (const guchar *)bytes, (gssize)nbytes);
	io->done += nbytes;
	stream_io_progress (io);
	return (int)nbytes;
}

static int
stream_hole (virStreamPtr st, long long length, void *opaque)
{
	AcLocalsevImageStreamIo *io = opaque;
	if (g_cancellable_is_cancelled (io->cancellable)) {
		io->cancelled = TRUE;
		return -1;
	}
	if (length < 0 || lseek (io->fd, (off_t)length, SEEK_CUR) < 0) {
		io->saved_errno = length < 0 ? EINVAL : errno;
		return -1;
	}
	io->done += (guint64)length;
	stream_io_progress (io);
	return 0;
}

static int
stream_source (virStreamPtr st, char *data, size_t nbytes, void *opaque)
{
	AcLocalsevImageStreamIo *io = opaque;
	ssize_t r;

	if (g_cancellable_is_cancelled (io->cancellable)) {
		io->cancelled = TRUE;
		return -1;
	}
	do
		r = read (io->fd, data, MIN (nbytes, (size_t)STREAM_CHUNK));
	while (r < 0 && errno == EINTR);
	if (r < 0) {
		io->saved_errno = errno;
		return -1;
	}
	io->done += (guint64)r;
	stream_io_progress (io);
	return (int)r;
}

static void
stream_io_error (AcLocalsevImageStreamIo *io, GError **error, const gchar *what)
{
	if (io->cancelled)
		g_set_error (error, AC_ERROR, AC_ERROR_CANCELLED, "interrupted while %s", what);
	else if (io->saved_errno != 0)
		g_set_error (error, AC_ERROR, AC_ERROR_IO, "%s: %s", what,
		             g_strerror (io->saved_errno));
	else
		ac_virt_set_error (error, "%s", what);
}

/* the end of a transfer whose send or receive loop returned @rc */
static gboolean
stream_finish (virStreamPtr st,
               AcLocalsevImageStreamIo *io,
               int rc,
               const gchar *what,
               GError **error)
{
	if (rc < 0) {
		stream_io_error (io, error, what);
		return FALSE;
	}
	if (virStreamFinish (st) < 0) {
		ac_virt_set_error (error, "%s", what);
		return FALSE;
	}
	return TRUE;
}

/* @vol's bytes into @fd (sparse when the driver can: holes stay holes) or into @sum */
gboolean
ac_localsev_image_storage_download (virStorageVolPtr vol,
                                    AcLocalsevImageStreamIo *io,
                                    gboolean sparse,
                                    const gchar *what,
                                    GError **error)
{
	virConnectPtr conn = virStorageVolGetConnect (vol);
	g_autoptr (virStream) st = virStreamNew (conn, 0);
	int rc;

	if (st == NULL) {
		ac_virt_set_error (error, "%s: cannot open a stream", what);
		return FALSE;
	}
	if (sparse
	    && virStorageVolDownload (vol, st, 0, 0, VIR_STORAGE_VOL_DOWNLOAD_SPARSE_STREAM) < 0) {
		/* a driver without sparse streams: every byte then */
		g_debug ("%s: no sparse download (%s); reading every byte", what,
		         virGetLastErrorMessage ());
		virResetLastError ();
		g_clear_pointer (&st, virStreamFree);
		st = virStreamNew (conn, 0);
		sparse = FALSE;
		if (st == NULL) {
			ac_virt_set_error (error, "%s: cannot open a stream", what);
			return FALSE;
		}
	}
	if (sparse) {
		rc = virStreamSparseRecvAll (st, stream_sink, stream_hole, io);
	} else {
		if (virStorageVolDownload (vol, st, 0, 0, 0) < 0) {
			ac_virt_set_error (error, "%s", what);
			return FALSE;
		}
		rc = virStreamRecvAll (st, stream_sink, io);
	}
	return stream_finish (st, io, rc, what, error);
}

gboolean
ac_localsev_image_storage_upload (virStorageVolPtr vol,
                                  AcLocalsevImageStreamIo *io,
                                  const gchar *what,
                                  GError **error)
{
	g_autoptr (virStream) st = virStreamNew (virStorageVolGetConnect (vol), 0);

	if (st == NULL || virStorageVolUpload (vol, st, 0, io->total, 0) < 0) {
		ac_virt_set_error (error, "%s", what);
		return FALSE;
	}
	return stream_finish (st, io, virStreamSendAll (st, stream_source, io), what, error);
}

/* the volume at @path; refreshes the active pools once when none has it (a file copied into a
 * pool's directory after the pool was started) */
virStorageVolPtr
ac_localsev_image_storage_lookup_path (virConnectPtr conn, const gchar *path, GError **error)
{
	virStorageVolPtr vol = virStorageVolLookupByPath (conn, path);
	virStoragePoolPtr *pools = NULL;
	int n;

	if (vol != NULL)
		return vol;
	if (virGetLastErrorCode () != VIR_ERR_NO_STORAGE_VOL) {
		ac_virt_set_error (error, "cannot look up the storage volume %s", path);
		return NULL;
	}
	n = virConnectListAllStoragePools (conn, &pools, VIR_CONNECT_LIST_STORAGE_POOLS_ACTIVE);
	for (int i = 0; i < n; i++) {
		if (virStoragePoolRefresh (pools[i], 0) < 0)
			virResetLastError ();
		virStoragePoolFree (pools[i]);
	}
	free (pools);
	vol = virStorageVolLookupByPath (conn, path);
	if (vol != NULL)
		return vol;
	if (virGetLastErrorCode () == VIR_ERR_NO_STORAGE_VOL) {
		virResetLastError ();
		g_set_error (error, AC_ERROR, AC_ERROR_NOT_FOUND, "no storage volume %s", path);
		return NULL;
	}
	ac_virt_set_error (error, "cannot look up the storage volume %s", path);
	return NULL;
}

gboolean
ac_localsev_image_storage_volume_exists (virConnectPtr conn,
                                         const gchar *path,
                                         gboolean *exists,
                                         GError **error)
{
	g_autoptr (GError) error_local = NULL;
	g_autoptr (virStorageVol) vol
	    = ac_localsev_image_storage_lookup_path (conn, path, &error_local);
	*exists = vol != NULL;
	if (vol != NULL || g_error_matches (error_local, AC_ERROR, AC_ERROR_NOT_FOUND))
		return TRUE;
	g_propagate_error (error, g_steal_pointer (&error_local));
	return FALSE;
}

/* a volume name no build used in @pool: <uuid>.img, <uuid>-2.img, … */
gchar *
ac_localsev_image_storage_unused_name (virStoragePoolPtr pool, const gchar *uuid, GError **error)
{
	for (guint n = 1; n < 1000; n++) {
		g_autofree gchar *name = n == 1 ? g_strdup_printf ("%s.img", uuid)
		                                : g_strdup_printf ("%s-%u.img", uuid, n);
		virStorageVolPtr vol = virStorageVolLookupByName (pool, name);
		if (vol != NULL) {
			virStorageVolFree (vol);
			continue;
		}
		if (virGetLastErrorCode () != VIR_ERR_NO_STORAGE_VOL) {
			ac_virt_set_error (error, "cannot list the volumes of pool '%s'",
			                   virStoragePoolGetName (pool));
			return NULL;
		}
		virResetLastError ();
		return g_steal_pointer (&name);
	}
	g_set_error (error, AC_ERROR, AC_ERROR_EXISTS,
	             "pool '%s' holds 999 images of domain %s already",
	             virStoragePoolGetName (pool), uuid);
	return NULL;
}
