/*
 * The encrypted image of a domain's disk, as both flows make it: the disk a tag names (default:
 * the first) read from the domain XML, a builder/ template made in memory, the image built
 * under <state_dir>/images/ (a temporary name, renamed when verified: the builder's rule) and
 * its generated passphrase put straight into a LOCAL libvirt's secret store (usage: the image
 * as a volume). The source disk is only ever read.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>
#include <libvirt/libvirt.h>

#include "ac-builder-template.h"
#include "ac-domain.h"
#include "ac-progress.h"

G_BEGIN_DECLS

typedef struct {
	const gchar *state_dir; /* images go to <state_dir>/images/ (0700) */
	const gchar *name;      /* the domain's name: the template's and the secret's */
	const gchar *uuid;      /* the default image is <state_dir>/images/<uuid>.img */
	const AcDomain *domain; /* the disk to encrypt is found in this domain model … */
	const gchar *disk_dev;  /* … by target dev; NULL = the first disk */
	const gchar *source;    /* nullable: read this file instead (a copy of that disk) … */
	const gchar *format; /* … in this format (raw | qcow2; NULL = the disk's driver type) */
	const gchar *output; /* nullable: the image path; NULL = the default, replaced if there */
	gboolean keep_existing;     /* refuse (%AC_ERROR_EXISTS) to replace an existing image */
	virConnectPtr secrets_conn; /* a libvirt on this machine (ac_secret_store_connect()) */
	AcImageLayout layout;       /* GRUB_LUKS1 (0, the default: SEV) or LUKS2_ROOT (SEV-SNP:
	                             * only the root filesystem, in a LUKS2 container) */
} AcImageBuildSpec;

typedef struct {
	gchar *disk_dev; /* the disk's target dev */
	gchar *source;   /* the disk's source as the domain names it */
	gchar *format;   /* its format (raw | qcow2) */
	gchar *image_path;
	gchar *image_sha256;
	gchar *luks_uuid;
	guint64 image_size;
	gchar *manifest_path;
	gchar *secret_uuid; /* the passphrase's secret: usage volume = image_path */
} AcImageBuilt;

void
ac_image_built_free (AcImageBuilt *built);

/* the file-backed disk @dev (NULL: the first disk) of @domain: its <source file>, target dev
 * and driver type (default raw); %AC_ERROR_UNSUPPORTED when it is not file-backed,
 * %AC_ERROR_NOT_FOUND when there is no such disk */
gboolean
ac_image_disk_source (const AcDomain *domain,
                      const gchar *dev,
                      gchar **source,
                      gchar **format,
                      gchar **target_dev,
                      GError **error);

/* <state_dir>/images/<uuid>.img, or <uuid>-N.img when an image (or its manifest) is there
 * already: a name no build has used, so nothing is ever replaced */
gchar *
ac_image_build_unused_output (const gchar *state_dir, const gchar *uuid);

/* Work directories under @images (a build killed with SIGKILL leaves its own) are removed by
 * the first build that finds no other at work, in any process; a caller working there on its
 * own (e.g. downloading a source) holds this lock. Returns a descriptor for close(). */
gint
ac_image_build_lock (const gchar *images, GError **error);

AcImageBuilt *
ac_image_build (const AcImageBuildSpec *spec,
                AcProgress *progress,
                GCancellable *cancellable,
                GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (AcImageBuilt, ac_image_built_free)

G_END_DECLS
