/*
 * The local SEV flow's encrypted disk. A domain whose disk (the tag's <aleph:disk>, default
 * the first) is not an encrypted image yet gets one built from it (ac_image_build(), as the
 * Aleph flow's build step), and is redefined onto it: the disk's <source file> switched to the
 * image, <driver type='raw'>, and <os><loader> set to the tag's <aleph:firmware file> for a
 * domain on this machine. Nothing else of the definition changes; the original disk file is
 * never modified, moved or deleted (its path stays in the state below and in the service log).
 *
 *  - Durable state, <state_dir>/localsev/<uuid>/image.json (0600 in the flow's 0700 directory):
 *    the original disk, the image, its sha256 / LUKS UUID / size, the passphrase's secret UUID
 *    and the phase reached: built → (uploading → uploaded) → switched. Each phase is saved
 *    before the next begins, so a service killed at any point resumes: mid-build, the
 *    builder's work directory is removed by the next build and the image built again; after
 *    the build, the image is reused (never built twice); mid-upload, our own partial volume
 *    is deleted and uploaded again; after the redefinition, nothing is left to do.
 *  - "Already encrypted": the disk's source is the image this flow built (its secret present),
 *    or any disk whose passphrase is in the local secret store under
 *    <usage type='volume'><volume>SOURCE</volume></usage> (e.g. made with
 *    'virt-aleph build --secret'): used as is, nothing built. The secret is the owner's word
 *    that the disk is an encrypted image; its content is not inspected (a remote host's file
 *    cannot be).
 *  - Nothing is built over: a new image always gets a name no earlier build used
 *    (ac_image_build_unused_output()), and a disk switched back by its owner to the original
 *    after the image was in use is refused (the image may hold newer data), not rebuilt.
 *  - Remote hosts (a connection that is not local, ac_secret_store_uri_is_local()), or any
 *    host when the configuration names a pool ([localsev] pool=NAME): the disk must be a
 *    volume of a storage pool there. It is downloaded through libvirt's storage API
 *    (virStorageVolDownload, sparse) into a work directory under <state_dir>/images on this
 *    machine, built here, the plaintext copy removed, and the image uploaded as a new volume
 *    of the same pool (or of the named pool), verified by reading it back (sha256); the disk
 *    then points at that volume's path. The passphrase stays in THIS machine's store (usage:
 *    the volume's path on the host). A disk that is not a pool volume is refused with what
 *    to do. The loader is left alone there: the tag's firmware file is this machine's copy.
 *
 * Runs synchronously for minutes: virt-alephd calls it from a worker thread.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>
#include <libvirt/libvirt.h>

#include "ac-builder-template.h"
#include "ac-domain.h"
#include "ac-tag.h"

G_BEGIN_DECLS

typedef enum {
	AC_LOCALSEV_IMAGE_BUILT,     /* image and secret made on this machine */
	AC_LOCALSEV_IMAGE_UPLOADING, /* storage API: the volume is being written */
	AC_LOCALSEV_IMAGE_UPLOADED,  /* storage API: the volume verified, the secret names it */
	AC_LOCALSEV_IMAGE_SWITCHED,  /* the domain was redefined onto it */
} AcLocalsevImagePhase;

const gchar *ac_localsev_image_state_phase_to_string (AcLocalsevImagePhase phase);

typedef struct {
	gchar *domain;
	gchar *disk_dev;	/* the disk's target dev */
	gchar *original;	/* the disk it was built from: never modified */
	gchar *original_format; /* raw | qcow2 */
	gchar *image;		/* the image built on this machine (gone after an upload) */
	gchar *target;		/* what the disk points at: @image, or the uploaded volume's path */
	gchar *pool;		/* storage API: the pool and volume uploaded to */
	gchar *volume;
	gchar *sha256;
	gchar *luks_uuid;
	guint64 size;
	gchar *secret; /* UUID of the passphrase's secret (local store) */
	AcLocalsevImagePhase phase;
	gchar *built;	 /* ISO 8601 UTC */
	gchar *switched; /* ISO 8601 UTC, once switched */
} AcLocalsevImageState;

void ac_localsev_image_state_free (AcLocalsevImageState *state);
gchar *ac_localsev_image_state_to_json (const AcLocalsevImageState *state);
AcLocalsevImageState *ac_localsev_image_state_from_json (const gchar *json,
							 gssize len,
							 GError **error);
/* %AC_ERROR_NOT_FOUND when the flow built nothing for the domain */
AcLocalsevImageState *ac_localsev_image_state_load (const gchar *state_dir,
						    const gchar *uuid,
						    GError **error);
gboolean ac_localsev_image_state_save (const gchar *state_dir,
				       const gchar *uuid,
				       const AcLocalsevImageState *state,
				       GError **error);

/* progress of a build (0..100), from the thread that runs it */
typedef void (*AcLocalsevImageProgressFunc) (guint percent, gpointer user_data);

typedef struct {
	const gchar *state_dir;	    /* images under <state_dir>/images, state per domain */
	const gchar *pool;	    /* nullable: the storage API path, uploading to this pool */
	virConnectPtr secrets_conn; /* the local libvirt keeping passphrases */
	AcLocalsevImageProgressFunc progress_func; /* nullable */
	gpointer user_data;
	GCancellable *cancellable; /* nullable; also checked just before the redefinition */
	AcImageLayout layout;	   /* the image's layout: GRUB_LUKS1 (SEV) or LUKS2_ROOT (SNP) */
} AcLocalsevImageContext;

/*
 * For a shut-off domain, read into @domain (its model, with a valid tag): when this returns
 * TRUE the tag's disk (ac_domain_get_tagged_disk()) is an encrypted image whose
 * passphrase is in @ctx->secrets_conn's store. *redefined says whether the definition was
 * written; *state_out (nullable) is the flow's image state, NULL for an image it did not build.
 */
gboolean ac_localsev_image_ensure (const AcLocalsevImageContext *ctx,
				   virDomainPtr dom,
				   const AcDomain *domain,
				   gboolean *redefined,
				   AcLocalsevImageState **state_out,
				   GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (AcLocalsevImageState, ac_localsev_image_state_free)

G_END_DECLS
