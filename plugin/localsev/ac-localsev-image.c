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

#define STATE_VERSION 1
#define STATE_FILE "image.json"
#define STREAM_CHUNK (1024 * 1024)
#define MAX_STATE_BYTES (64 * 1024)

G_DEFINE_AUTOPTR_CLEANUP_FUNC (virStorageVol, virStorageVolFree)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (virStoragePool, virStoragePoolFree)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (virStream, virStreamFree)

/* ---- state ---------------------------------------------------------------------------------- */

static const gchar *const phase_names[] = { "built", "uploading", "uploaded", "switched" };

const gchar *
ac_localsev_image_phase_to_string (AcLocalsevImagePhase phase)
{
	if ((guint)phase >= G_N_ELEMENTS (phase_names))
		return "unknown";
	return phase_names[phase];
}

void
ac_localsev_image_state_free (AcLocalsevImageState *s)
{
	if (s == NULL)
		return;
	g_free (s->domain);
	g_free (s->disk_dev);
	g_free (s->original);
	g_free (s->original_format);
	g_free (s->image);
	g_free (s->target);
	g_free (s->pool);
	g_free (s->volume);
	g_free (s->sha256);
	g_free (s->luks_uuid);
	g_free (s->secret);
	g_free (s->built);
	g_free (s->switched);
	g_free (s);
}

static gchar *
now_utc (void)
{
	g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
	return g_date_time_format (now, "%Y-%m-%dT%H:%M:%SZ");
}

static void
add_str (JsonBuilder *b, const gchar *key, const gchar *value)
{
	if (value == NULL)
		return;
	json_builder_set_member_name (b, key);
	json_builder_add_string_value (b, value);
}

gchar *
ac_localsev_image_state_to_json (const AcLocalsevImageState *s)
{
	g_autoptr (JsonBuilder) b = json_builder_new ();
	g_autoptr (JsonNode) root = NULL;

	json_builder_begin_object (b);
	json_builder_set_member_name (b, "version");
	json_builder_add_int_value (b, STATE_VERSION);
	add_str (b, "domain", s->domain);
	add_str (b, "disk-dev", s->disk_dev);
	add_str (b, "original", s->original);
	add_str (b, "original-format", s->original_format);
	add_str (b, "image", s->image);
	add_str (b, "target", s->target);
	add_str (b, "pool", s->pool);
	add_str (b, "volume", s->volume);
	add_str (b, "sha256", s->sha256);
	add_str (b, "luks-uuid", s->luks_uuid);
	json_builder_set_member_name (b, "size");
	json_builder_add_int_value (b, (gint64)s->size);
	add_str (b, "secret", s->secret);
	add_str (b, "phase", ac_localsev_image_phase_to_string (s->phase));
	add_str (b, "built", s->built);
	add_str (b, "switched", s->switched);
	json_builder_end_object (b);
	root = json_builder_get_root (b);
	return json_to_string (root, TRUE);
}

static gboolean
get_str (JsonObject *o, const gchar *key, gboolean required, gchar **out, GError **error)
{
	return ac_localsev_record_json_get_str (o, "image state", key, required, out, error);
}

AcLocalsevImageState *
ac_localsev_image_state_from_json (const gchar *json, gssize len, GError **error)
{
	g_autoptr (JsonParser) parser = json_parser_new ();
	g_autoptr (AcLocalsevImageState) s = g_new0 (AcLocalsevImageState, 1);
	g_autofree gchar *phase = NULL;
	g_autoptr (GError) error_local = NULL;
	JsonObject *o;
	gint64 size;
	guint i;

	if (!json_parser_load_from_data (parser, json, len, &error_local)) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT, "image state: %s",
		             error_local->message);
		return NULL;
	}
	if (!JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser))) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		                     "image state: not a JSON object");
		return NULL;
	}
	o = json_node_get_object (json_parser_get_root (parser));
	if (json_object_get_int_member_with_default (o, "version", 0) != STATE_VERSION) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "image state: version %" G_GINT64_FORMAT ", expected %d",
		             json_object_get_int_member_with_default (o, "version", 0),
		             STATE_VERSION);
		return NULL;
	}
	if (!get_str (o, "domain", FALSE, &s->domain, error)
	    || !get_str (o, "disk-dev", FALSE, &s->disk_dev, error)
	    || !get_str (o, "original", TRUE, &s->original, error)
	    || !get_str (o, "original-format", FALSE, &s->original_format, error)
	    || !get_str (o, "image", FALSE, &s->image, error)
	    || !get_str (o, "target", FALSE, &s->target, error)
	    || !get_str (o, "pool", FALSE, &s->pool, error)
	    || !get_str (o, "volume", FALSE, &s->volume, error)
	    || !get_str (o, "sha256", FALSE, &s->sha256, error)
	    || !get_str (o, "luks-uuid", FALSE, &s->luks_uuid, error)
	    || !get_str (o, "secret", TRUE, &s->secret, error)
	    || !get_str (o, "phase", TRUE, &phase, error)
	    || !get_str (o, "built", FALSE, &s->built, error)
	    || !get_str (o, "switched", FALSE, &s->switched, error))
		return NULL;
	size = json_object_get_int_member_with_default (o, "size", 0);
	if (size < 0) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		                     "image state: negative size");
		return NULL;
	}
	s->size = (guint64)size;
	for (i = 0; i < G_N_ELEMENTS (phase_names); i++) {
		if (g_strcmp0 (phase, phase_names[i]) == 0)
			break;
	}
	if (i == G_N_ELEMENTS (phase_names)) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "image state: unknown phase '%s'", phase);
		return NULL;
	}
	s->phase = (AcLocalsevImagePhase)i;
	if (s->phase != AC_LOCALSEV_IMAGE_UPLOADING && s->phase != AC_LOCALSEV_IMAGE_BUILT
	    && s->target == NULL) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "image state: phase '%s' without a target", phase);
		return NULL;
	}
	return g_steal_pointer (&s);
}

static gchar *
state_path (const gchar *state_dir, const gchar *uuid)
{
	g_autofree gchar *lower = g_ascii_strdown (uuid, -1);
	return g_build_filename (state_dir, "localsev", lower, STATE_FILE, NULL);
}

/**
 * ac_localsev_image_state_load:
 *
 * Reads the state without creating directories (a lookup). %AC_ERROR_NOT_FOUND when there is
 * none; a state that cannot be read is an error, never "nothing built" (the flow must not build
 * over what it recorded).
 */
AcLocalsevImageState *
ac_localsev_image_state_load (const gchar *state_dir, const gchar *uuid, GError **error)
{
	g_autofree gchar *path = NULL;
	g_autofree gchar *data = NULL;
	g_autoptr (GError) error_local = NULL;
	AcLocalsevImageState *s;
	gsize len = 0;

	if (state_dir == NULL || uuid == NULL || !g_uuid_string_is_valid (uuid)) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "image state: no state directory or an invalid UUID");
		return NULL;
	}
	path = state_path (state_dir, uuid);
	if (!g_file_get_contents (path, &data, &len, &error_local)) {
		if (g_error_matches (error_local, G_FILE_ERROR, G_FILE_ERROR_NOENT)) {
			g_set_error (error, AC_ERROR, AC_ERROR_NOT_FOUND,
			             "no image built for domain %s", uuid);
			return NULL;
		}
		g_set_error (error, AC_ERROR, AC_ERROR_IO, "cannot read %s: %s", path,
		             error_local->message);
		return NULL;
	}
	if (len > MAX_STATE_BYTES) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT, "%s: larger than %d bytes",
		             path, MAX_STATE_BYTES);
		return NULL;
	}
	s = ac_localsev_image_state_from_json (data, (gssize)len, error);
	if (s == NULL)
		g_prefix_error (error, "%s: ", path);
	return s;
}

gboolean
ac_localsev_image_state_save (const gchar *state_dir,
                              const gchar *uuid,
                              const AcLocalsevImageState *state,
                              GError **error)
{
	g_autofree gchar *dir = ac_localsev_store_domain_dir (state_dir, uuid, error);
	g_autofree gchar *path = NULL;
	g_autofree gchar *json = NULL;
	g_autoptr (GError) error_local = NULL;

	if (dir == NULL)
		return FALSE;
	path = g_build_filename (dir, STATE_FILE, NULL);
	json = ac_localsev_image_state_to_json (state);
	if (!g_file_set_contents_full (path, json, -1,
	                               G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE,
	                               0600, &error_local)) {
		g_set_error (error, AC_ERROR, AC_ERROR_IO, "cannot write %s: %s", path,
		             error_local->message);
		return FALSE;
	}
	return TRUE;
}

/* ---- libvirt helpers ------------------------------------------------------------------------ */

static gchar *
get_xml (virDomainPtr dom, GError **error)
{
	/* SECURE: a redefinition must keep what only the secure XML carries (VNC passwords …) */
	char *xml = virDomainGetXMLDesc (dom, VIR_DOMAIN_XML_INACTIVE | VIR_DOMAIN_XML_SECURE);
	gchar *copy;
	if (xml == NULL) {
		ac_virt_set_error (error, "cannot read the XML of domain '%s'",
		                   virDomainGetName (dom));
		return NULL;
	}
	copy = g_strdup (xml);
	free (xml);
	return copy;
}

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

/* ---- storage API ---------------------------------------------------------------------------- */

typedef struct {
	int fd;         /* the file read or written; -1: into @sum only */
	GChecksum *sum; /* nullable */
	GCancellable *cancellable;
	AcProgress *progress;
	guint64 done;
	guint64 total;
	gboolean cancelled;
	int saved_errno;
} AcStreamIo;

static void
stream_io_progress (AcStreamIo *io)
{
	if (io->progress != NULL && io->total > 0)
		ac_progress_set_fraction (io->progress, MIN (io->done, io->total), io->total);
}

static int
stream_sink (virStreamPtr st, const char *bytes, size_t nbytes, void *opaque)
{
	AcStreamIo *io = opaque;
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
	AcStreamIo *io = opaque;
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
	AcStreamIo *io = opaque;
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
stream_io_error (AcStreamIo *io, GError **error, const gchar *what)
{
	if (io->cancelled)
		g_set_error (error, AC_ERROR, AC_ERROR_CANCELLED, "interrupted while %s", what);
	else if (io->saved_errno != 0)
		g_set_error (error, AC_ERROR, AC_ERROR_IO, "%s: %s", what,
		             g_strerror (io->saved_errno));
	else
		ac_virt_set_error (error, "%s", what);
}

/* @vol's bytes into @fd (sparse when the driver can: holes stay holes) or into @sum */
static gboolean
storage_download (virStorageVolPtr vol,
                  AcStreamIo *io,
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

static gboolean
storage_upload (virStorageVolPtr vol, AcStreamIo *io, const gchar *what, GError **error)
{
	g_autoptr (virStream) st = virStreamNew (virStorageVolGetConnect (vol), 0);

	if (st == NULL || virStorageVolUpload (vol, st, 0, io->total, 0) < 0) {
		ac_virt_set_error (error, "%s", what);
		return FALSE;
	}
	if (virStreamSendAll (st, stream_source, io) < 0) {
		stream_io_error (io, error, what);
		return FALSE;
	}
	if (virStreamFinish (st) < 0) {
		ac_virt_set_error (error, "%s", what);
		return FALSE;
	}
	return TRUE;
}

/* the volume at @path; refreshes the active pools once when none has it (a file copied into a
 * pool's directory after the pool was started) */
static virStorageVolPtr
storage_lookup_path (virConnectPtr conn, const gchar *path, GError **error)
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

static gboolean
storage_volume_exists (virConnectPtr conn, const gchar *path, gboolean *exists, GError **error)
{
	g_autoptr (GError) error_local = NULL;
	g_autoptr (virStorageVol) vol = storage_lookup_path (conn, path, &error_local);
	*exists = vol != NULL;
	if (vol != NULL || g_error_matches (error_local, AC_ERROR, AC_ERROR_NOT_FOUND))
		return TRUE;
	g_propagate_error (error, g_steal_pointer (&error_local));
	return FALSE;
}

/* a volume name no build used in @pool: <uuid>.img, <uuid>-2.img, … */
static gchar *
storage_unused_name (virStoragePoolPtr pool, const gchar *uuid, GError **error)
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
	const gchar *xml;
	const AcLocalsevDisk *disk;
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
	s->built = now_utc ();
	return s;
}

static AcLocalsevImageState *
build_local (AcImageJob *job, GError **error)
{
	const AcLocalsevImageContext *ctx = job->ctx;
	g_autofree gchar *output = ac_image_build_unused_output (ctx->state_dir, job->uuid);
	g_autoptr (AcImageBuilt) built = NULL;
	g_autoptr (AcLocalsevImageState) s = NULL;
	AcImageBuildSpec spec = { 0 };

	g_message ("domain '%s': building the encrypted image %s from disk %s (%s, only read)",
	           job->name, output, job->disk->dev, job->disk->source);
	spec.state_dir = ctx->state_dir;
	spec.name = job->name;
	spec.uuid = job->uuid;
	spec.domain_xml = job->xml;
	spec.disk_dev = job->disk->dev;
	spec.output = output;
	spec.keep_existing = TRUE;
	spec.secrets_conn = ctx->secrets_conn;
	built = ac_image_build (&spec, ac_progress_get_child (job->progress), ctx->cancellable,
	                        error);
	if (built == NULL) {
		g_prefix_error (
		    error, "domain '%s': building the encrypted image of disk %s (%s): ", job->name,
		    job->disk->dev, job->disk->source);
		return NULL;
	}
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
	virStorageVolPtr vol = storage_lookup_path (conn, job->disk->source, &error_local);

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
	AcImageBuildSpec spec = { 0 };
	AcStreamIo io = { 0 };
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
		ok = storage_download (vol, &io, TRUE, what, error);
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
		spec.state_dir = ctx->state_dir;
		spec.name = job->name;
		spec.uuid = job->uuid;
		spec.domain_xml = job->xml;
		spec.disk_dev = job->disk->dev;
		spec.source = copy;
		spec.output = output;
		spec.keep_existing = TRUE;
		spec.secrets_conn = ctx->secrets_conn;
		built = ac_image_build (&spec, ac_progress_get_child (job->progress),
		                        ctx->cancellable, error);
		if (built == NULL)
			g_prefix_error (
			    error, "domain '%s': building the encrypted image of disk %s (%s): ",
			    job->name, job->disk->dev, job->disk->source);
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
	g_autofree gchar *secret = NULL;
	g_autoptr (GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);
	AcStreamIo io = { 0 };
	guint8 *value;
	gsize len = 0;
	char *p;
	gboolean ok;

	if (pool == NULL) {
		ac_virt_set_error (error, "domain '%s': storage pool '%s'", job->name, s->pool);
		return FALSE;
	}
	/* an upload that was interrupted: the volume is ours and never used, written afresh */
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
	name = storage_unused_name (pool, job->uuid, error);
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
	ok = storage_upload (vol, &io, what, error);
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
	if (!storage_download (vol, &io, FALSE, what, error))
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

	/* the secret follows the image onto the volume's path (this machine's store still) */
	value = ac_secret_store_get (ctx->secrets_conn, ctx->state_dir, s->secret, &len, error);
	if (value == NULL) {
		g_prefix_error (error, "domain '%s': ", job->name);
		return FALSE;
	}
	secret = ac_secret_store_put (ctx->secrets_conn, ctx->state_dir, job->name, path, value, len, error);
	OPENSSL_clear_free (value, len + 1);
	if (secret == NULL)
		return FALSE;
	if (g_strcmp0 (secret, s->secret) != 0
	    && !ac_secret_store_remove (ctx->secrets_conn, ctx->state_dir, s->secret, error))
		return FALSE;
	g_free (s->secret);
	s->secret = g_steal_pointer (&secret);
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
		if (!storage_volume_exists (virDomainGetConnect (job->dom), s->target, &found,
		                            error))
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
		return storage_volume_exists (virDomainGetConnect (job->dom), s->target, exists,
		                              error);
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
	g_autoptr (AcLocalsevDomain) parsed = NULL;
	AcLocalsevDisk *disk;
	const gchar *loader = NULL;
	virDomainPtr defined;

	if (!check_cancelled (ctx->cancellable, "before the domain was redefined onto its image",
	                      error))
		return FALSE;
	xml = get_xml (job->dom, error);
	if (xml == NULL)
		return FALSE;
	parsed = ac_localsev_domain_parse (xml, -1, error);
	if (parsed == NULL)
		return FALSE;
	disk = ac_localsev_domain_find_disk (parsed, s->disk_dev);
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
	s->switched = now_utc ();
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
gboolean
ac_localsev_image_ensure (const AcLocalsevImageContext *ctx,
                          virDomainPtr dom,
                          const AcTag *tag,
                          const gchar *xml,
                          gboolean *redefined,
                          AcLocalsevImageState **state_out,
                          GError **error)
{
	const gchar *name;
	char uuid_buf[VIR_UUID_STRING_BUFLEN];
	g_autofree gchar *uuid = NULL;
	g_autofree gchar *uri = NULL;
	g_autoptr (AcLocalsevDomain) parsed = NULL;
	g_autoptr (AcLocalsevImageState) s = NULL;
	g_autoptr (GError) error_local = NULL;
	g_autoptr (AcProgress) progress = NULL;
	AcProgressRelay relay = { ctx, 0 };
	AcLocalsevDisk *disk;
	AcImageJob job = { 0 };
	gboolean found = FALSE;
	gboolean switched = FALSE;
	gulong handler;
	gboolean ok;

	g_return_val_if_fail (ctx != NULL && ctx->secrets_conn != NULL, FALSE);
	g_return_val_if_fail (dom != NULL && tag != NULL && xml != NULL, FALSE);

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
	parsed = ac_localsev_domain_parse (xml, -1, error);
	if (parsed == NULL)
		return FALSE;
	disk = ac_localsev_domain_find_disk (parsed, tag->disk_dev);
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
			    name, disk->dev, s->target, s->original, s->target, s->original,
			    s->target);
			return FALSE;
		}
		if (s->phase != AC_LOCALSEV_IMAGE_SWITCHED) {
			/* redefined just before the service stopped */
			s->phase = AC_LOCALSEV_IMAGE_SWITCHED;
			s->switched = now_utc ();
			if (!ac_localsev_image_state_save (ctx->state_dir, uuid, s, error))
				return FALSE;
		}
		if (state_out != NULL)
			*state_out = g_steal_pointer (&s);
		return TRUE;
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
	job.xml = xml;
	job.disk = disk;
	job.storage = ctx->pool != NULL || !ac_secret_store_uri_is_local (uri);

	/* what an earlier run left */
	if (s != NULL && g_strcmp0 (s->original, disk->source) != 0) {
		g_debug ("domain '%s': the image %s was built from %s, not from the disk's %s now",
		         name, s->target != NULL ? s->target : s->image, s->original, disk->source);
		g_clear_pointer (&s, ac_localsev_image_state_free);
	}
	if (s != NULL && s->phase == AC_LOCALSEV_IMAGE_SWITCHED) {
		gboolean exists = FALSE;
		if (!target_exists (&job, s, &exists, error))
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
			    name, disk->dev, disk->source, s->target,
			    s->switched != NULL ? s->switched : "?", s->target, name, s->target,
			    disk->source);
			return FALSE;
		}
		g_clear_pointer (&s, ac_localsev_image_state_free);
	}
	if (s != NULL) {
		gboolean ok_resume = FALSE;
		if (!resumable (&job, s, &ok_resume, error))
			return FALSE;
		if (ok_resume)
			g_message ("domain '%s': resuming with the image %s built at %s (%s)", name,
			           s->target != NULL ? s->target : s->image, s->built,
			           ac_localsev_image_phase_to_string (s->phase));
		else
			g_clear_pointer (&s, ac_localsev_image_state_free);
	}

	progress = ac_progress_new ("build");
	if (job.storage) {
		ac_progress_add_step (progress, "download", 20);
		ac_progress_add_step (progress, "build", 60);
		ac_progress_add_step (progress, "upload", 20);
	} else {
		ac_progress_add_step (progress, "build", 100);
	}
	job.progress = progress;
	handler = g_signal_connect (progress, "changed", G_CALLBACK (on_progress_changed), &relay);
	if (s == NULL) {
		if (ctx->progress_func != NULL)
			ctx->progress_func (0, ctx->user_data);
		s = job.storage ? build_storage (&job, error) : build_local (&job, error);
	} else if (job.storage) {
		/* taken up after the build: downloaded and built already */
		ac_progress_step_done (progress);
		ac_progress_step_done (progress);
	}
	ok = s != NULL;
	if (ok && job.storage && s->phase != AC_LOCALSEV_IMAGE_UPLOADED)
		ok = upload (&job, s, error);
	g_signal_handler_disconnect (progress, handler);
	if (ok)
		ok = switch_domain (&job, tag, s, &switched, error);
	if (redefined != NULL)
		*redefined = switched;
	if (!ok)
		return FALSE;
	if (state_out != NULL)
		*state_out = g_steal_pointer (&s);
	return TRUE;
}
