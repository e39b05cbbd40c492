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

/**
 * ac_reconcile_queued_status:
 * @current: (nullable): the status the domain carries now
 * @step: what the domain waits for: "flow" (one of the flows virt-alephd runs at once,
 *   [daemon] max-flows) or "build" (one of its image builds, [daemon] max-builds)
 *
 * The status of a domain waiting in line: state "queued" at @step, the results recorded in
 * @current kept. It is work in progress (ac_status_is_work_in_progress()): refreshed while
 * it waits, so a reader tells a long line from a service that is gone.
 */
AcStatus *
ac_reconcile_queued_status (const AcStatus *current, const gchar *step)
{
	AcStatus *st = ac_status_new_keeping_results (current);

	g_return_val_if_fail (step != NULL, NULL);
	st->state = g_strdup ("queued");
	st->step = g_strdup (step);
	st->progress = 0;
	return st;
}

/**
 * ac_reconcile_dequeued_status:
 * @before: (nullable): the status the domain carried before it was queued
 *
 * What replaces "queued" when the domain's slot is taken, before its flow reports its own
 * steps: the status it had before, as it was; but "ready" at validate (its tag was valid when
 * its flow was started), with the results recorded, when it had none, or the end of an
 * earlier attempt that this run replaces (failed, interrupted: never shown again as the
 * outcome of the run that starts), or a "queued" left by a service that stopped.
 */
AcStatus *
ac_reconcile_dequeued_status (const AcStatus *before)
{
	const gchar *replaced[] = { "queued", "failed", "interrupted", NULL };
	AcStatus *st;

	if (before != NULL && before->state != NULL && !g_strv_contains (replaced, before->state)) {
		g_autofree gchar *xml = ac_status_format (before);
		st = ac_status_parse (xml, -1, NULL);
		if (st != NULL)
			return st;
	}
	st = ac_status_new_keeping_results (before);
	st->state = g_strdup ("ready");
	st->step = g_strdup ("validate");
	st->progress = 100;
	return st;
}
