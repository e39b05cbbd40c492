/*
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "ac-reconcile.h"

#include <string.h>

#include "ac-error.h"
#include "ac-tag.h"

/**
 * ac_reconcile_desired_status:
 * @domain_xml: the domain's XML as libvirt gives it
 * @current: (nullable): the status element the domain carries now
 *
 * The validate step: an invalid tag gives state "invalid" with the error; a valid one
 * "ready". Results of later steps recorded in @current (image, Aleph hashes, attestation)
 * are kept, so a re-validation never forgets what was done.
 *
 * Returns: the desired status, or %NULL when the domain is not tagged.
 */
AcStatus *
ac_reconcile_desired_status (const gchar *domain_xml, const AcStatus *current)
{
	g_autoptr(AcStatus) st = ac_status_new ();
	g_autoptr(AcTag) tag = NULL;
	g_autoptr(GError) error = NULL;
	gsize len = strlen (domain_xml);

	if (!ac_tag_xml_has_tag (domain_xml, len))
		return NULL;
	tag = ac_tag_parse (domain_xml, (gssize)len, NULL, &error);
	if (tag == NULL && g_error_matches (error, AC_ERROR, AC_ERROR_NOT_FOUND))
		return NULL; /* the namespace appears, but not as our element in <metadata> */

	if (current != NULL) {
		st->image_path = g_strdup (current->image_path);
		st->image_sha256 = g_strdup (current->image_sha256);
		st->image_cid = g_strdup (current->image_cid);
		st->image_luks_uuid = g_strdup (current->image_luks_uuid);
		st->store_hash = g_strdup (current->store_hash);
		st->instance_hash = g_strdup (current->instance_hash);
		st->crn = g_strdup (current->crn);
		st->attest_time = g_strdup (current->attest_time);
		st->attest_verdict = g_strdup (current->attest_verdict);
		st->attest_measurement = g_strdup (current->attest_measurement);
		st->attest_generation = g_strdup (current->attest_generation);
		st->updated = g_strdup (current->updated);
	}
	st->step = g_strdup ("validate");
	if (tag == NULL) {
		st->state = g_strdup ("invalid");
		st->progress = 0;
		ac_status_set_error (st, "validate", error);
	} else {
		st->state = g_strdup ("ready");
		st->progress = 100;
	}
	return g_steal_pointer (&st);
}
