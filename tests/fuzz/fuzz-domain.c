/*
 * Fuzz target: the domain model (ac_domain_parse()), which reads every domain XML the tools
 * act on. Properties: a model comes exactly when there is no error, and every error is
 * INVALID_INPUT; a model has a tag or says why not (and a fingerprint exactly when it has a
 * tag element); the tagged disk follows the one rule (a <disk device='disk'> with a target,
 * the one the tag names) and the tag is checked against the same disks.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ac-domain.h"
#include "ac-error.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static void
check_disks (const AcDomain *dom)
{
	g_autoptr (AcTagDomain) info = ac_domain_get_tag_info (dom);
	const AcDomainDisk *disk = ac_domain_get_tagged_disk (dom);
	guint candidates = 0;

	for (guint i = 0; i < dom->disks->len; i++) {
		const AcDomainDisk *d = g_ptr_array_index (dom->disks, i);
		if (d->device == NULL)
			abort ();
		if (g_strcmp0 (d->device, "disk") != 0 || d->dev == NULL)
			continue;
		if (g_strcmp0 (g_ptr_array_index (info->disks, candidates), d->dev) != 0)
			abort ();
		candidates++;
	}
	if (candidates != info->disks->len)
		abort ();
	if (disk != NULL && (g_strcmp0 (disk->device, "disk") != 0 || disk->dev == NULL))
		abort ();
	if ((disk == NULL) != (candidates == 0) && (dom->tag == NULL || dom->tag->disk_dev == NULL))
		abort ();
	if (dom->tag != NULL
	    && (disk == NULL
	        || (dom->tag->disk_dev != NULL && g_strcmp0 (disk->dev, dom->tag->disk_dev) != 0)))
		abort ();
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
	g_autoptr (GError) error = NULL;
	g_autoptr (AcDomain) dom = ac_domain_parse ((const gchar *)data, (gssize)size, &error);
	g_autofree gchar *fingerprint = NULL;

	if ((dom == NULL) == (error == NULL))
		abort ();
	if (dom == NULL) {
		if (error->domain != AC_ERROR || error->code != AC_ERROR_INVALID_INPUT)
			abort ();
		return 0;
	}
	if ((dom->tag == NULL) == (dom->tag_error == NULL))
		abort ();
	if (dom->tag_error != NULL && dom->tag_error->domain != AC_ERROR)
		abort ();
	if (ac_domain_is_tagged (dom) && dom->tag_xml == NULL && dom->tag != NULL)
		abort ();
	fingerprint = ac_domain_get_tag_fingerprint (dom);
	if ((fingerprint != NULL) != (dom->tag != NULL || dom->tag_xml != NULL))
		abort ();
	check_disks (dom);
	return 0;
}
