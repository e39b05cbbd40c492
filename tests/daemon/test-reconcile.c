/*
 * The service's validate step (ac_reconcile_desired_status()) on the domain model the event
 * handler reads once: untagged domains get no status, a valid tag "ready", an invalid tag or a
 * tagged domain whose XML the model refuses "invalid" with the error, and results of later
 * steps are kept.
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

int
main (int argc, char **argv)
{
	g_test_init (&argc, &argv, NULL);
	g_test_add_func ("/reconcile/untagged", test_untagged);
	g_test_add_func ("/reconcile/valid", test_valid);
	g_test_add_func ("/reconcile/invalid-tag", test_invalid_tag);
	g_test_add_func ("/reconcile/unreadable", test_unreadable);
	return g_test_run ();
}
