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
	g_autoptr(AcStatus) st = ac_status_new_keeping_results (current);
	g_autoptr(AcTag) tag = NULL;
	g_autoptr(GError) error = NULL;
	gsize len = strlen (domain_xml);

	if (!ac_tag_xml_has_tag (domain_xml, len))
		return NULL;
	tag = ac_tag_parse (domain_xml, (gssize)len, NULL, &error);
	if (tag == NULL && g_error_matches (error, AC_ERROR, AC_ERROR_NOT_FOUND))
		return NULL; /* the namespace appears, but not as our element in <metadata> */

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
