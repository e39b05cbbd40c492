/*
 * The service's validate step (ac_reconcile_desired_status()) on the domain model the event
 * handler reads once: untagged domains get no status, a valid tag "ready", an invalid tag or a
 * tagged domain whose XML the model refuses "invalid" with the error, and results of later
 * steps are kept; the "queued" status of a domain waiting for a slot, and what replaces it
 * when the slot is taken.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "ac-domain.h"
#include "ac-error.h"
#include "ac-reconcile.h"

#define TAG_OPEN "<aleph:confidential xmlns:aleph='" AC_TAG_NS "'>"
#define DISK "<devices><disk><source file='/a.img'/><target dev='vda'/></disk></devices>"

/* the status the daemon would want for @xml, read as the event handler reads it */
static AcStatus *
desired (const gchar *xml, const AcStatus *current)
{
	g_autoptr (GError) error = NULL;
	g_autoptr (AcDomain) domain = ac_domain_parse (xml, -1, &error);

	g_assert_true ((domain == NULL) == (error != NULL));
	return ac_reconcile_desired_status (xml, domain, error, current);
}

static void
test_untagged (void)
{
	g_autoptr (AcStatus) plain = desired ("<domain><name>d</name>" DISK "</domain>", NULL);
	/* the namespace in a description is no tag */
	g_autoptr (AcStatus) lookalike = desired ("<domain><name>d</name><description>" AC_TAG_NS
	                                          "</description>" DISK "</domain>",
	                                          NULL);

	g_assert_null (plain);
	g_assert_null (lookalike);
}

static void
test_valid (void)
{
	g_autoptr (AcStatus) st = desired ("<domain><name>d</name><metadata>" TAG_OPEN
	                                   "</aleph:confidential></metadata>" DISK "</domain>",
	                                   NULL);

	g_assert_nonnull (st);
	g_assert_cmpstr (st->state, ==, "ready");
	g_assert_cmpstr (st->step, ==, "validate");
	g_assert_cmpuint (st->progress, ==, 100);
	g_assert_null (st->error_message);
}

static void
test_invalid_tag (void)
{
	g_autoptr (AcStatus) current = ac_status_new ();
	g_autoptr (AcStatus) st = NULL;

	current->image_path = g_strdup ("/images/d.img");
	st = desired ("<domain><name>d</name><metadata>" TAG_OPEN
	              "<aleph:disk dev='vdz'/></aleph:confidential></metadata>" DISK "</domain>",
	              current);
	g_assert_nonnull (st);
	g_assert_cmpstr (st->state, ==, "invalid");
	g_assert_cmpstr (st->step, ==, "validate");
	g_assert_cmpuint (st->progress, ==, 0);
	g_assert_cmpstr (st->error_step, ==, "validate");
	g_assert_cmpstr (st->error_code, ==, ac_error_code_to_string (AC_ERROR_INVALID_INPUT));
	g_assert_cmpstr (st->error_message, ==,
	                 "<aleph:disk dev='vdz'>: domain 'd' has no such disk; its disks are vda");
	/* what a later step recorded is kept */
	g_assert_cmpstr (st->image_path, ==, "/images/d.img");
}

/* a tagged domain the model refuses (an element libvirt takes once, twice) is invalid with
 * the model's error, never unchecked */
static void
test_unreadable (void)
{
	g_autoptr (AcStatus) st = desired ("<domain><name>d</name><name>e</name><metadata>" TAG_OPEN
	                                   "</aleph:confidential></metadata>" DISK "</domain>",
	                                   NULL);

	g_assert_nonnull (st);
	g_assert_cmpstr (st->state, ==, "invalid");
	g_assert_cmpstr (st->error_message, ==,
	                 "domain XML has 2 <name> elements, expected at most one");
}

static void
test_queued (void)
{
	g_autoptr (AcStatus) failed = ac_status_new ();
	g_autoptr (AcStatus) queued = NULL;
	g_autoptr (AcStatus) back = NULL;
	g_autoptr (AcStatus) fresh = NULL;
	g_autoptr (AcStatus) again = NULL;
	g_autoptr (GError) error = NULL;

	/* a failure retried: queued for a flow, its results kept, the error gone */
	failed->state = g_strdup ("failed");
	failed->step = g_strdup ("publish");
	failed->progress = 40;
	failed->image_cid = g_strdup ("QmImage");
	error = g_error_new_literal (AC_ERROR, AC_ERROR_NETWORK, "connection refused");
	ac_status_set_error (failed, "publish", error);
	queued = ac_reconcile_queued_status (failed, "flow");
	g_assert_cmpstr (queued->state, ==, "queued");
	g_assert_cmpstr (queued->step, ==, "flow");
	g_assert_cmpuint (queued->progress, ==, 0);
	g_assert_cmpstr (queued->image_cid, ==, "QmImage");
	g_assert_null (queued->error_message);
	/* refreshed while it waits: the heartbeat's work in progress */
	g_assert_true (ac_status_is_work_in_progress (queued));

	/* its slot taken: the failure this run replaces is not shown again; ready, results kept */
	back = ac_reconcile_dequeued_status (failed);
	g_assert_cmpstr (back->state, ==, "ready");
	g_assert_cmpstr (back->step, ==, "validate");
	g_assert_null (back->error_message);
	g_assert_cmpstr (back->image_cid, ==, "QmImage");
	/* any other status comes back as it was (a local launch prepared, refreshed) */
	g_free (failed->state);
	failed->state = g_strdup ("prepared");
	g_clear_pointer (&back, ac_status_free);
	back = ac_reconcile_dequeued_status (failed);
	g_assert_cmpstr (back->state, ==, "prepared");
	g_assert_cmpstr (back->step, ==, "publish");
	g_assert_cmpuint (back->progress, ==, 40);
	g_assert_cmpstr (back->error_message, ==, "connection refused");
	g_assert_cmpstr (back->image_cid, ==, "QmImage");

	/* none before (a new domain), or a "queued" left by a service that stopped: ready */
	fresh = ac_reconcile_dequeued_status (NULL);
	g_assert_cmpstr (fresh->state, ==, "ready");
	g_assert_cmpstr (fresh->step, ==, "validate");
	again = ac_reconcile_dequeued_status (queued);
	g_assert_cmpstr (again->state, ==, "ready");
	g_assert_cmpstr (again->step, ==, "validate");
	g_assert_cmpstr (again->image_cid, ==, "QmImage");
}

int
main (int argc, char **argv)
{
	g_test_init (&argc, &argv, NULL);
	g_test_add_func ("/reconcile/untagged", test_untagged);
	g_test_add_func ("/reconcile/valid", test_valid);
	g_test_add_func ("/reconcile/invalid-tag", test_invalid_tag);
	g_test_add_func ("/reconcile/unreadable", test_unreadable);
	g_test_add_func ("/reconcile/queued", test_queued);
	return g_test_run ();
}
