/*
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The passphrase of an image built here goes from the builder straight into the local secret
 * store (ac_image_build()); it is read back only to re-key the secret onto an uploaded volume's
 * path, from and into OPENSSL_malloc'd memory that is cleansed. The plaintext copy of a remote
 * disk lives only in a 0700 work directory under <state_dir>/images and is removed after the
 * build (or by the next build, when the service was killed meanwhile).
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
#include "ac-time.h"
#include "ac-process.h"
#include "ac-image-build.h"
#include "ac-localsev-domain.h"
#include "ac-localsev-private.h"
#include "ac-localsev-service-private.h"
#include "ac-localsev-store.h"
#include "ac-localsev.h"
#include "ac-progress.h"
#include "ac-secret-store.h"
#include "ac-virt.h"

/* ---- libvirt helpers ------------------------------------------------------------------------ */

static gchar *
conn_uri (virConnectPtr conn)
{
	char *u = virConnectGetURI (conn);
	gchar *copy = g_strdup (u != NULL ? u : "(unknown URI)");
	free (u);
	return copy;
}

/* the secret whose usage is @path: TRUE with *found, or FALSE when the store cannot be asked */
static gboolean
has_secret (const AcLocalsevImageContext *ctx,
            const gchar *domain,
            const gchar *path,
            gboolean *found,
            GError **error)
{
	g_autoptr (GError) error_local = NULL;
	g_autofree gchar *uuid
	    = ac_secret_store_lookup_volume (ctx->secrets_conn, path, &error_local);
	*found = uuid != NULL;
	if (uuid != NULL || g_error_matches (error_local, AC_ERROR, AC_ERROR_NOT_FOUND))
		return TRUE;
	g_propagate_prefixed_error (error, g_steal_pointer (&error_local), "domain '%s': ", domain);
	return FALSE;
}

static gboolean
check_cancelled (GCancellable *cancellable, const gchar *what, GError **error)
{
	if (!g_cancellable_is_cancelled (cancellable))
		return TRUE;
	g_set_error (error, AC_ERROR, AC_ERROR_CANCELLED, "interrupted %s", what);
	return FALSE;
}

/* ---- build ---------------------------------------------------------------------------------- */

typedef struct {
	const AcLocalsevImageContext *ctx;
	guint last;
} AcProgressRelay;

static void
on_progress_changed (AcProgress *progress, gdouble fraction, const gchar *step, gpointer data)
{
	AcProgressRelay *relay = data;
	guint percent = (guint)CLAMP (fraction * 100.0, 0.0, 100.0);
	/* a status write per 5 % (and the end): each one is a metadata change libvirt saves */
	if (relay->ctx->progress_func == NULL
	    || (percent < relay->last + 5 && (percent < 100 || relay->last == 100)))
		return;
	relay->last = percent;
	relay->ctx->progress_func (percent, relay->ctx->user_data);
}

typedef struct {
	const AcLocalsevImageContext *ctx;
	virDomainPtr dom;
	const gchar *name;
	const gchar *uuid;
	const AcDomain *domain; /* the domain model, read once by the caller */
	const AcDomainDisk *disk;
	AcProgress *progress;
	gboolean storage;
} AcImageJob;

static AcLocalsevImageState *
state_from_built (AcImageJob *job, const AcImageBuilt *built)
{
	AcLocalsevImageState *s = g_new0 (AcLocalsevImageState, 1);
	s->domain = g_strdup (job->name);
	s->disk_dev = g_strdup (built->disk_dev);
	s->original = g_strdup (built->source);
	s->original_format = g_strdup (built->format);
	s->image = g_strdup (built->image_path);
	s->sha256 = g_strdup (built->image_sha256);
	s->luks_uuid = g_strdup (built->luks_uuid);
	s->size = built->image_size;
	s->secret = g_strdup (built->secret_uuid);
	s->phase = AC_LOCALSEV_IMAGE_BUILT;
	s->built = ac_time_now_utc ();
	return s;
}

/* the encrypted image of the job's disk written to @output, from @source (nullable: the disk's
 * own source) */
static AcImageBuilt *
build_image (AcImageJob *job, const gchar *source, const gchar *output, GError **error)
{
	const AcLocalsevImageContext *ctx = job->ctx;
	AcImageBuildSpec spec = { 0 };
	AcImageBuilt *built;

	spec.state_dir = ctx->state_dir;
	spec.name = job->name;
	spec.uuid = job->uuid;
	spec.domain = job->domain;
	spec.disk_dev = job->disk->dev;
	spec.source = source;
	spec.output = output;
	spec.keep_existing = TRUE;
	spec.secrets_conn = ctx->secrets_conn;
	spec.layout = ctx->layout;
	built = ac_image_build (&spec, ac_progress_get_child (job->progress), ctx->cancellable,
	                        error);
	if (built == NULL)
		g_prefix_error (
		    error, "domain '%s': building the encrypted image of disk %s (%s): ", job->name,
		    job->disk->dev, job->disk->source);
	return built;
}

static AcLocalsevImageState *
build_local (AcImageJob *job, GError **error)
{
	const AcLocalsevImageContext *ctx = job->ctx;
	g_autofree gchar *output = ac_image_build_unused_output (ctx->state_dir, job->uuid);
	g_autoptr (AcImageBuilt) built = NULL;
	g_autoptr (AcLocalsevImageState) s = NULL;

	g_message ("domain '%s': building the encrypted image %s from disk %s (%s, only read)",
	           job->name, output, job->disk->dev, job->disk->source);
	built = build_image (job, NULL, output, error);
	if (built == NULL)
		return NULL;
	ac_progress_step_done (job->progress);
	s = state_from_built (job, built);
	s->target = g_strdup (s->image);
	if (!ac_localsev_image_state_save (ctx->state_dir, job->uuid, s, error))
		return NULL;
	return g_steal_pointer (&s);
}

/* the disk's volume, or a refusal that says what to do */
static virStorageVolPtr
storage_source (AcImageJob *job, GError **error)
{
	virConnectPtr conn = virDomainGetConnect (job->dom);
	g_autoptr (GError) error_local = NULL;
	g_autofree gchar *uri = NULL;
	g_autofree gchar *dir = NULL;
	virStorageVolPtr vol
	    = ac_localsev_image_storage_lookup_path (conn, job->disk->source, &error_local);

	if (vol != NULL)
		return vol;
	if (!g_error_matches (error_local, AC_ERROR, AC_ERROR_NOT_FOUND)) {
		g_propagate_prefixed_error (error, g_steal_pointer (&error_local),
		                            "domain '%s': disk %s: ", job->name, job->disk->dev);
		return NULL;
	}
	uri = conn_uri (conn);
	dir = g_path_get_dirname (job->disk->source);
	g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
	             "domain '%s': disk %s (%s) is not a volume of a storage pool of %s. Its "
	             "encrypted image is built on this machine from a copy read through "
	             "libvirt's storage API, so the disk must be in a pool there: e.g. 'virsh -c "
	             "%s pool-define-as images dir --target %s', 'virsh -c %s pool-start "
	             "images', or point the disk at a volume of a pool; nothing was built or "
	             "changed",
	             job->name, job->disk->dev, job->disk->source, uri, uri, dir, uri);
	return NULL;
}

static AcLocalsevImageState *
build_storage (AcImageJob *job, GError **error)
{
	const AcLocalsevImageContext *ctx = job->ctx;
	virConnectPtr conn = virDomainGetConnect (job->dom);
	g_autoptr (virStorageVol) vol = NULL;
	g_autoptr (virStoragePool) pool = NULL;
	g_autofree gchar *images = g_build_filename (ctx->state_dir, "images", NULL);
	g_autofree gchar *workdir = NULL;
	g_autofree gchar *copy = NULL;
	g_autofree gchar *output = NULL;
	g_autoptr (AcImageBuilt) built = NULL;
	g_autoptr (AcLocalsevImageState) s = NULL;
	g_autofree gchar *what = NULL;
	AcLocalsevImageStreamIo io = { 0 };
	virStorageVolInfo info;
	gboolean ok;
	int lock;

	vol = storage_source (job, error);
	if (vol == NULL)
		return NULL;
	pool = ctx->pool != NULL ? virStoragePoolLookupByName (conn, ctx->pool)
	                         : virStoragePoolLookupByVolume (vol);
	if (pool == NULL) {
		ac_virt_set_error (error, "domain '%s': the storage pool %s%s%s", job->name,
		                   ctx->pool != NULL ? "'" : "of ",
		                   ctx->pool != NULL ? ctx->pool : job->disk->source,
		                   ctx->pool != NULL ? "' ([localsev] pool)" : "");
		return NULL;
	}
	if (virStorageVolGetInfo (vol, &info) < 0) {
		ac_virt_set_error (error, "domain '%s': storage volume %s", job->name,
		                   job->disk->source);
		return NULL;
	}

	/* the plaintext copy: a 0700 work directory the builds' cleanup knows (ac-build-*) */
	lock = ac_image_build_lock (images, error);
	if (lock < 0)
		return NULL;
	workdir = g_build_filename (images, "ac-build-source-XXXXXX", NULL);
	if (g_mkdtemp_full (workdir, 0700) == NULL) {
		g_set_error (error, AC_ERROR, AC_ERROR_IO,
		             "cannot create a work directory in %s: %s", images,
		             g_strerror (errno));
		close (lock);
		return NULL;
	}
	copy = g_build_filename (workdir, "disk", NULL);
	io.fd = open (copy, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	io.cancellable = ctx->cancellable;
	io.progress = ac_progress_get_child (job->progress);
	io.total = info.capacity;
	what = g_strdup_printf ("downloading disk %s (%s) of domain '%s'", job->disk->dev,
	                        job->disk->source, job->name);
	g_message ("domain '%s': %s through libvirt's storage API", job->name, what);
	if (io.fd < 0) {
		g_set_error (error, AC_ERROR, AC_ERROR_IO, "cannot create %s: %s", copy,
		             g_strerror (errno));
		ok = FALSE;
	} else {
		ok = ac_localsev_image_storage_download (vol, &io, TRUE, what, error);
		if (ok) {
			off_t end = lseek (io.fd, 0, SEEK_CUR);
			if (end < 0 || ftruncate (io.fd, end) != 0) {
				g_set_error (error, AC_ERROR, AC_ERROR_IO, "%s: %s", copy,
				             g_strerror (errno));
				ok = FALSE;
			}
		}
		if (close (io.fd) != 0 && ok) {
			g_set_error (error, AC_ERROR, AC_ERROR_IO, "%s: %s", copy,
			             g_strerror (errno));
			ok = FALSE;
		}
	}
	if (ok) {
		ac_progress_step_done (job->progress);
		output = ac_image_build_unused_output (ctx->state_dir, job->uuid);
		g_message ("domain '%s': building the encrypted image %s from the copy of disk %s",
		           job->name, output, job->disk->dev);
		built = build_image (job, copy, output, error);
	}
	/* the plaintext copy goes, whatever happened */
	{
		const gchar *argv[] = { "rm", "-rf", "--one-file-system", workdir, NULL };
		g_auto (GStrv) envp = ac_process_tool_environ (NULL);
		(void)g_spawn_sync (NULL, (gchar **)argv, envp, G_SPAWN_SEARCH_PATH, NULL, NULL,
		                    NULL, NULL, NULL, NULL);
	}
	close (lock);
	if (built == NULL)
		return NULL;
	ac_progress_step_done (job->progress);
	s = state_from_built (job, built);
	s->pool = g_strdup (virStoragePoolGetName (pool));
	if (!ac_localsev_image_state_save (ctx->state_dir, job->uuid, s, error))
		return NULL;
	return g_steal_pointer (&s);
}

/* an upload that was interrupted: the volume is ours and never used, written afresh */
static gboolean
upload_remove_partial (AcImageJob *job,
                       virStoragePoolPtr pool,
                       const AcLocalsevImageState *s,
                       GError **error)
{
	if (s->phase == AC_LOCALSEV_IMAGE_UPLOADING && s->volume != NULL) {
		virStorageVolPtr partial = virStorageVolLookupByName (pool, s->volume);
		if (partial != NULL) {
			g_message ("domain '%s': removing the volume %s of an interrupted upload",
			           job->name, s->volume);
			if (virStorageVolDelete (partial, 0) < 0) {
				ac_virt_set_error (error, "domain '%s': cannot remove volume %s",
				                   job->name, s->volume);
				virStorageVolFree (partial);
				return FALSE;
			}
			virStorageVolFree (partial);
		} else {
			virResetLastError ();
		}
	}
	return TRUE;
}

/* the secret follows the image onto the volume's @path (this machine's store still) */
static gboolean
upload_move_secret (AcImageJob *job, AcLocalsevImageState *s, const gchar *path, GError **error)
{
	const AcLocalsevImageContext *ctx = job->ctx;
	g_autofree gchar *secret = NULL;
	guint8 *value;
	gsize len = 0;

	value = ac_secret_store_get (ctx->secrets_conn, ctx->state_dir, s->secret, &len, error);
	if (value == NULL) {
		g_prefix_error (error, "domain '%s': ", job->name);
		return FALSE;
	}
	secret = ac_secret_store_put (ctx->secrets_conn, ctx->state_dir, job->name, path, value,
	                              len, error);
	OPENSSL_clear_free (value, len + 1);
	if (secret == NULL)
		return FALSE;
	if (g_strcmp0 (secret, s->secret) != 0
	    && !ac_secret_store_remove (ctx->secrets_conn, ctx->state_dir, s->secret, error))
		return FALSE;
	g_free (s->secret);
	s->secret = g_steal_pointer (&secret);
	return TRUE;
}

/* the built image as a new volume of the state's pool, read back and compared; the secret
 * then names the volume's path */
static gboolean
upload (AcImageJob *job, AcLocalsevImageState *s, GError **error)
{
	const AcLocalsevImageContext *ctx = job->ctx;
	virConnectPtr conn = virDomainGetConnect (job->dom);
	g_autoptr (virStoragePool) pool = virStoragePoolLookupByName (conn, s->pool);
	g_autoptr (virStorageVol) vol = NULL;
	g_autofree gchar *name = NULL;
	g_autofree gchar *vol_xml = NULL;
	g_autofree gchar *what = NULL;
	g_autofree gchar *path = NULL;
	g_autoptr (GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);
	AcLocalsevImageStreamIo io = { 0 };
	char *p;
	gboolean ok;

	if (pool == NULL) {
		ac_virt_set_error (error, "domain '%s': storage pool '%s'", job->name, s->pool);
		return FALSE;
	}
	if (!upload_remove_partial (job, pool, s, error))
		return FALSE;
	name = ac_localsev_image_storage_unused_name (pool, job->uuid, error);
	if (name == NULL)
		return FALSE;
	g_free (s->volume);
	s->volume = g_strdup (name);
	s->phase = AC_LOCALSEV_IMAGE_UPLOADING;
	if (!ac_localsev_image_state_save (ctx->state_dir, job->uuid, s, error))
		return FALSE;
	vol_xml = g_markup_printf_escaped ("<volume><name>%s</name>"
	                                   "<capacity unit='bytes'>%" G_GUINT64_FORMAT "</capacity>"
	                                   "<allocation unit='bytes'>0</allocation></volume>",
	                                   name, s->size);
	vol = virStorageVolCreateXML (pool, vol_xml, 0);
	if (vol == NULL) {
		ac_virt_set_error (error, "domain '%s': cannot create volume %s in pool '%s'",
		                   job->name, name, s->pool);
		return FALSE;
	}
	p = virStorageVolGetPath (vol);
	path = g_strdup (p);
	free (p);
	if (path == NULL) {
		ac_virt_set_error (error, "domain '%s': volume %s has no path", job->name, name);
		return FALSE;
	}
	what = g_strdup_printf ("uploading the encrypted image of domain '%s' to %s", job->name,
	                        path);
	g_message ("domain '%s': %s", job->name, what);
	io.fd = open (s->image, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (io.fd < 0) {
		g_set_error (error, AC_ERROR, AC_ERROR_IO, "cannot open %s: %s", s->image,
		             g_strerror (errno));
		return FALSE;
	}
	io.cancellable = ctx->cancellable;
	io.progress = ac_progress_get_child (job->progress);
	io.total = s->size;
	ok = ac_localsev_image_storage_upload (vol, &io, what, error);
	close (io.fd);
	if (!ok)
		return FALSE;

	/* verified as it is on the host: the same bytes */
	memset (&io, 0, sizeof io);
	io.fd = -1;
	io.sum = sum;
	io.cancellable = ctx->cancellable;
	g_free (what);
	what = g_strdup_printf ("reading back the uploaded image %s", path);
	if (!ac_localsev_image_storage_download (vol, &io, FALSE, what, error))
		return FALSE;
	if (io.done != s->size || g_strcmp0 (g_checksum_get_string (sum), s->sha256) != 0) {
		g_set_error (error, AC_ERROR, AC_ERROR_MISMATCH,
		             "domain '%s': the uploaded volume %s reads back as %" G_GUINT64_FORMAT
		             " bytes with sha256 %s, not the image's %" G_GUINT64_FORMAT
		             " bytes with sha256 %s; it is uploaded again next time",
		             job->name, path, io.done, g_checksum_get_string (sum), s->size,
		             s->sha256);
		return FALSE;
	}

	if (!upload_move_secret (job, s, path, error))
		return FALSE;
	g_free (s->target);
	s->target = g_steal_pointer (&path);
	s->phase = AC_LOCALSEV_IMAGE_UPLOADED;
	if (!ac_localsev_image_state_save (ctx->state_dir, job->uuid, s, error))
		return FALSE;
	/* this machine's copy is no longer needed: the host holds the verified image */
	if (g_unlink (s->image) != 0 && errno != ENOENT)
		g_warning ("cannot remove %s: %s", s->image, g_strerror (errno));
	ac_progress_step_done (job->progress);
	return TRUE;
}

/* whether the state's work can be taken up again: its files and secret are still there */
static gboolean
resumable (AcImageJob *job, const AcLocalsevImageState *s, gboolean *ok, GError **error)
{
	gboolean found = FALSE;

	*ok = FALSE;
	if (job->storage != (s->pool != NULL))
		return TRUE; /* built the other way (the configuration changed) */
	switch (s->phase) {
	case AC_LOCALSEV_IMAGE_BUILT:
	case AC_LOCALSEV_IMAGE_UPLOADING:
		if (s->image == NULL || !g_file_test (s->image, G_FILE_TEST_IS_REGULAR))
			return TRUE;
		if (!has_secret (job->ctx, job->name, s->image, &found, error))
			return FALSE;
		*ok = found;
		return TRUE;
	case AC_LOCALSEV_IMAGE_UPLOADED:
		if (!ac_localsev_image_storage_volume_exists (virDomainGetConnect (job->dom),
		                                              s->target, &found, error))
			return FALSE;
		if (!found)
			return TRUE;
		if (!has_secret (job->ctx, job->name, s->target, &found, error))
			return FALSE;
		*ok = found;
		return TRUE;
	case AC_LOCALSEV_IMAGE_SWITCHED:
	default:
		return TRUE;
	}
}

static gboolean
target_exists (AcImageJob *job, const AcLocalsevImageState *s, gboolean *exists, GError **error)
{
	if (s->pool != NULL)
		return ac_localsev_image_storage_volume_exists (virDomainGetConnect (job->dom),
		                                                s->target, exists, error);
	*exists = g_file_test (s->target, G_FILE_TEST_EXISTS);
	return TRUE;
}

/* the domain redefined onto the image, from its definition as it is NOW (the build took
 * minutes: the owner may have edited it meanwhile) */
static gboolean
switch_domain (AcImageJob *job,
               const AcTag *tag,
               AcLocalsevImageState *s,
               gboolean *redefined,
               GError **error)
{
	const AcLocalsevImageContext *ctx = job->ctx;
	virConnectPtr conn = virDomainGetConnect (job->dom);
	g_autofree gchar *xml = NULL;
	g_autofree gchar *switched = NULL;
	g_autofree gchar *uri = conn_uri (conn);
	g_autoptr (AcDomain) parsed = NULL;
	AcDomainDisk *disk;
	const gchar *loader = NULL;
	virDomainPtr defined;

	if (!check_cancelled (ctx->cancellable, "before the domain was redefined onto its image",
	                      error))
		return FALSE;
	/* SECURE: a redefinition must keep what only the secure XML carries (VNC passwords …) */
	xml = ac_virt_get_xml_flags (job->dom, VIR_DOMAIN_XML_INACTIVE | VIR_DOMAIN_XML_SECURE,
	                             error);
	if (xml == NULL)
		return FALSE;
	parsed = ac_domain_parse (xml, -1, error);
	if (parsed == NULL)
		return FALSE;
	disk = ac_domain_find_disk (parsed, s->disk_dev);
	if (disk == NULL || g_strcmp0 (disk->source, s->original) != 0) {
		g_set_error (error, AC_ERROR, AC_ERROR_LIBVIRT,
		             "domain '%s': its disk %s changed while its image was built; looking "
		             "again",
		             job->name, s->disk_dev);
		return FALSE;
	}
	if (virDomainIsActive (job->dom) == 1) {
		g_set_error (error, AC_ERROR, AC_ERROR_REFUSED,
		             "domain '%s' was started while its image was built; it is switched to "
		             "the image %s once it is shut off",
		             job->name, s->target);
		return FALSE;
	}
	/* the firmware file of the tag is a file of THIS machine: a remote host's loader is the
	 * owner's to set */
	if (tag->firmware_file != NULL && ac_secret_store_uri_is_local (uri))
		loader = tag->firmware_file;
	switched = ac_localsev_domain_switch_disk (xml, s->disk_dev, s->target, loader, error);
	if (switched == NULL) {
		g_prefix_error (error, "domain '%s': ", job->name);
		return FALSE;
	}
	defined = virDomainDefineXML (conn, switched);
	if (defined == NULL) {
		ac_virt_set_error (error,
		                   "domain '%s': cannot redefine it onto the encrypted image %s",
		                   job->name, s->target);
		return FALSE;
	}
	virDomainFree (defined);
	*redefined = TRUE;
	g_message ("domain '%s': disk %s now uses the encrypted image %s (sha256 %s); the "
	           "original %s is kept, untouched",
	           job->name, s->disk_dev, s->target, s->sha256, s->original);
	s->phase = AC_LOCALSEV_IMAGE_SWITCHED;
	g_free (s->switched);
	s->switched = ac_time_now_utc ();
	return ac_localsev_image_state_save (ctx->state_dir, job->uuid, s, error);
}

/**
 * ac_localsev_image_ensure:
 *
 * Errors: %AC_ERROR_NOT_FOUND when the image this flow built lost its passphrase secret;
 * %AC_ERROR_REFUSED for a running domain, or one switched back to its original after its image
 * was in use; %AC_ERROR_INVALID_INPUT for a disk that is no pool volume (storage API); the
 * builder's; %AC_ERROR_CANCELLED; %AC_ERROR_LIBVIRT.
 */
/* the image this flow built, in place: its secret must still be there */
static gboolean
ensure_in_place (const AcLocalsevImageContext *ctx,
                 const gchar *name,
                 const gchar *uuid,
                 const AcDomainDisk *disk,
                 AcLocalsevImageState *state,
                 AcLocalsevImageState **state_out,
                 GError **error)
{
	g_autoptr (AcLocalsevImageState) s = state;
	gboolean found = FALSE;

	if (!has_secret (ctx, name, s->target, &found, error))
		return FALSE;
	if (!found) {
		g_set_error (
		    error, AC_ERROR, AC_ERROR_NOT_FOUND,
		    "domain '%s': disk %s is the encrypted image %s built from %s, but its "
		    "passphrase is gone from libvirt's secret store (no secret with <usage "
		    "type='volume'><volume>%s</volume></usage>): the image cannot be "
		    "opened "
		    "without it, and nothing is built over it. Point the disk back at %s "
		    "and move %s away to have a new image built; nothing was prepared or "
		    "injected",
		    name, disk->dev, s->target, s->original, s->target, s->original, s->target);
		return FALSE;
	}
	if (s->phase != AC_LOCALSEV_IMAGE_SWITCHED) {
		/* redefined just before the service stopped */
		s->phase = AC_LOCALSEV_IMAGE_SWITCHED;
		s->switched = ac_time_now_utc ();
		if (!ac_localsev_image_state_save (ctx->state_dir, uuid, s, error))
			return FALSE;
	}
	if (state_out != NULL)
		*state_out = g_steal_pointer (&s);
	return TRUE;
}

/* what an earlier run left: *state is cleared when it cannot be taken up */
static gboolean
ensure_earlier_run (AcImageJob *job, AcLocalsevImageState **state, GError **error)
{
	const gchar *name = job->name;
	const AcDomainDisk *disk = job->disk;

	if (*state != NULL && g_strcmp0 ((*state)->original, disk->source) != 0) {
		g_debug ("domain '%s': the image %s was built from %s, not from the disk's %s now",
		         name, (*state)->target != NULL ? (*state)->target : (*state)->image,
		         (*state)->original, disk->source);
		g_clear_pointer (state, ac_localsev_image_state_free);
	}
	if (*state != NULL && (*state)->phase == AC_LOCALSEV_IMAGE_SWITCHED) {
		gboolean exists = FALSE;
		if (!target_exists (job, *state, &exists, error))
			return FALSE;
		if (exists) {
			g_set_error (
			    error, AC_ERROR, AC_ERROR_REFUSED,
			    "domain '%s': disk %s is back on its original %s, but the encrypted "
			    "image %s made from it was in use since %s and may hold newer data of "
			    "the guest: it is neither built over nor switched to silently. Point "
			    "the "
			    "disk at %s again ('virsh edit %s'), or move %s away to have a fresh "
			    "image built from %s",
			    name, disk->dev, disk->source, (*state)->target,
			    (*state)->switched != NULL ? (*state)->switched : "?", (*state)->target,
			    name, (*state)->target, disk->source);
			return FALSE;
		}
		g_clear_pointer (state, ac_localsev_image_state_free);
	}
	if (*state != NULL) {
		gboolean ok_resume = FALSE;
		if (!resumable (job, *state, &ok_resume, error))
			return FALSE;
		if (ok_resume)
			g_message ("domain '%s': resuming with the image %s built at %s (%s)", name,
			           (*state)->target != NULL ? (*state)->target : (*state)->image,
			           (*state)->built,
			           ac_localsev_image_state_phase_to_string ((*state)->phase));
		else
			g_clear_pointer (state, ac_localsev_image_state_free);
	}

	return TRUE;
}

/* builds (and uploads) what is missing of the image, then switches the domain onto it */
static gboolean
ensure_build (AcImageJob *job,
              const AcTag *tag,
              AcLocalsevImageState **state,
              gboolean *switched,
              GError **error)
{
	const AcLocalsevImageContext *ctx = job->ctx;
	g_autoptr (AcProgress) progress = NULL;
	AcProgressRelay relay = { ctx, 0 };
	gulong handler;
	gboolean ok;

	progress = ac_progress_new ("build");
	if (job->storage) {
		ac_progress_add_step (progress, "download", 20);
		ac_progress_add_step (progress, "build", 60);
		ac_progress_add_step (progress, "upload", 20);
	} else {
		ac_progress_add_step (progress, "build", 100);
	}
	job->progress = progress;
	handler = g_signal_connect (progress, "changed", G_CALLBACK (on_progress_changed), &relay);
	if (*state == NULL) {
		if (ctx->progress_func != NULL)
			ctx->progress_func (0, ctx->user_data);
		*state = job->storage ? build_storage (job, error) : build_local (job, error);
	} else if (job->storage) {
		/* taken up after the build: downloaded and built already */
		ac_progress_step_done (progress);
		ac_progress_step_done (progress);
	}
	ok = *state != NULL;
	if (ok && job->storage && (*state)->phase != AC_LOCALSEV_IMAGE_UPLOADED)
		ok = upload (job, *state, error);
	g_signal_handler_disconnect (progress, handler);
	if (ok)
		ok = switch_domain (job, tag, *state, switched, error);
	return ok;
}

gboolean
ac_localsev_image_ensure (const AcLocalsevImageContext *ctx,
                          virDomainPtr dom,
                          const AcDomain *domain,
                          gboolean *redefined,
                          AcLocalsevImageState **state_out,
                          GError **error)
{
	const gchar *name;
	char uuid_buf[VIR_UUID_STRING_BUFLEN];
	g_autofree gchar *uuid = NULL;
	g_autofree gchar *uri = NULL;
	const AcTag *tag;
	g_autoptr (AcLocalsevImageState) s = NULL;
	g_autoptr (GError) error_local = NULL;
	AcDomainDisk *disk;
	AcImageJob job = { 0 };
	gboolean found = FALSE;
	gboolean switched = FALSE;
	gboolean ok;

	g_return_val_if_fail (ctx != NULL && ctx->secrets_conn != NULL, FALSE);
	g_return_val_if_fail (dom != NULL && domain != NULL && domain->tag != NULL, FALSE);

	if (redefined != NULL)
		*redefined = FALSE;
	if (state_out != NULL)
		*state_out = NULL;
	name = virDomainGetName (dom);
	if (virDomainGetUUIDString (dom, uuid_buf) < 0) {
		ac_virt_set_error (error, "cannot read the UUID of domain '%s'", name);
		return FALSE;
	}
	uuid = g_ascii_strdown (uuid_buf, -1);
	tag = domain->tag;
	disk = ac_domain_get_tagged_disk (domain);
	if (disk == NULL || disk->source == NULL) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "domain '%s': %s%s%s; the local SEV flow needs a disk with a source",
		             name, disk == NULL ? "no disk" : "disk ",
		             disk == NULL
		                 ? (tag->disk_dev != NULL ? " with target dev " : " at all")
		                 : disk->dev,
		             disk == NULL ? (tag->disk_dev != NULL ? tag->disk_dev : "")
		                          : " has no <source>");
		return FALSE;
	}
	s = ac_localsev_image_state_load (ctx->state_dir, uuid, &error_local);
	if (s == NULL && !g_error_matches (error_local, AC_ERROR, AC_ERROR_NOT_FOUND)) {
		g_propagate_prefixed_error (error, g_steal_pointer (&error_local),
		                            "domain '%s': ", name);
		return FALSE;
	}
	g_clear_error (&error_local);
	if (s != NULL && g_strcmp0 (s->disk_dev, disk->dev) != 0)
		g_clear_pointer (&s, ac_localsev_image_state_free); /* another disk's */

	/* the image this flow built, in place */
	if (s != NULL && s->target != NULL && g_strcmp0 (disk->source, s->target) == 0) {
		return ensure_in_place (ctx, name, uuid, disk, g_steal_pointer (&s), state_out,
		                        error);
	}

	/* an encrypted image with its passphrase secret (the owner's own): used as is */
	if (!has_secret (ctx, name, disk->source, &found, error))
		return FALSE;
	if (found) {
		g_debug ("domain '%s': disk %s (%s) has its passphrase secret: used as it is", name,
		         disk->dev, disk->source);
		return TRUE;
	}

	if (virDomainIsActive (dom) == 1) {
		g_set_error (error, AC_ERROR, AC_ERROR_REFUSED,
		             "domain '%s' is running; its disk %s is encrypted from a consistent "
		             "copy only when it is shut off: 'virsh shutdown %s'",
		             name, disk->dev, name);
		return FALSE;
	}
	uri = conn_uri (virDomainGetConnect (dom));
	job.ctx = ctx;
	job.dom = dom;
	job.name = name;
	job.uuid = uuid;
	job.domain = domain;
	job.disk = disk;
	job.storage = ctx->pool != NULL || !ac_secret_store_uri_is_local (uri);

	/* what an earlier run left */
	if (!ensure_earlier_run (&job, &s, error))
		return FALSE;

	ok = ensure_build (&job, tag, &s, &switched, error);
	if (redefined != NULL)
		*redefined = switched;
	if (!ok)
		return FALSE;
	if (state_out != NULL)
		*state_out = g_steal_pointer (&s);
	return TRUE;
}
