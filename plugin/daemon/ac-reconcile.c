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
 * @domain: (nullable): its model, read once by the caller (ac_domain_parse()); %NULL when
 *   it could not be read, with @domain_error saying why
 * @current: (nullable): the status element the domain carries now
 *
 * The validate step: an invalid tag (or a tagged domain whose XML cannot be read) gives
 * state "invalid" with the error; a valid one "ready". Results of later steps recorded in
 * @current (image, Aleph hashes, attestation) are kept, so a re-validation never forgets
 * what was done.
 *
 * Returns: the desired status, or %NULL when the domain is not tagged.
 */
AcStatus *
ac_reconcile_desired_status (const gchar *domain_xml,
			     const AcDomain *domain,
			     const GError *domain_error,
			     const AcStatus *current)
{
	g_autoptr(AcStatus) st = NULL;
	const GError *error = domain != NULL ? domain->tag_error : domain_error;

	if (!ac_tag_xml_has_tag (domain_xml, strlen (domain_xml)))
		return NULL;
	if (domain != NULL && !ac_domain_is_tagged (domain))
		return NULL; /* the namespace appears, but not as our element in <metadata> */

	st = ac_status_new_keeping_results (current);
	st->step = g_strdup ("validate");
	if (domain == NULL || domain->tag == NULL) {
		st->state = g_strdup ("invalid");
		st->progress = 0;
		ac_status_set_error (st, "validate", error);
	} else {
		st->state = g_strdup ("ready");
		st->progress = 100;
	}
	return g_steal_pointer (&st);
}
