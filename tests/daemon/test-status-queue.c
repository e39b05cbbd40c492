/*
 * virt-alephd's reconcile status writes (ac-status-queue.c), on libvirt's test driver: every
 * status pushed is written by the time the queue is freed, several domains at once, and of the
 * statuses pushed for one domain in a row the last one is what the domain says.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "ac-status-queue.h"
#include "ac-status.h"
#include "ac-tag.h"
#include "ac-virt.h"

#define N_DOMAINS 40

static virDomainPtr
define (virConnectPtr conn, guint i)
{
	g_autofree gchar *xml = g_strdup_printf (
	    "<domain type='test'><name>q%02u</name><memory unit='MiB'>64</memory>"
	    "<os><type arch='x86_64'>hvm</type></os><metadata><aleph:confidential "
	    "xmlns:aleph='" AC_TAG_NS "'><aleph:local mode='test'/></aleph:confidential>"
	    "</metadata></domain>",
	    i);
	virDomainPtr dom = virDomainDefineXML (conn, xml);
	g_assert_nonnull (dom);
	return dom;
}

static AcStatus *
status (const gchar *state, const gchar *step, guint progress)
{
	AcStatus *st = ac_status_new ();
	st->state = g_strdup (state);
	st->step = g_strdup (step);
	st->progress = progress;
	return st;
}

static AcStatus *
recorded (virDomainPtr dom)
{
	g_autofree gchar *xml = ac_virt_get_xml (dom, NULL);
	g_assert_nonnull (xml);
	return ac_status_parse (xml, -1, NULL);
}

static void
test_queue (void)
{
	g_autoptr (GError) error = NULL;
	g_autoptr (virConnect) conn = ac_virt_connect ("test:///default", &error);
	virDomainPtr doms[N_DOMAINS];
	AcStatusQueue *q = ac_status_queue_new (4);

	g_assert_no_error (error);
	for (guint i = 0; i < N_DOMAINS; i++)
		doms[i] = define (conn, i);
	/* each domain: three statuses in a row, decided from the XML before any was written */
	for (guint round = 0; round < 3; round++) {
		for (guint i = 0; i < N_DOMAINS; i++) {
			g_autofree gchar *xml = ac_virt_get_xml (doms[i], &error);
			g_assert_no_error (error);
			ac_status_queue_push (q, "localhost", FALSE, doms[i], xml,
			                      status (round < 2 ? "validating" : "ready",
			                              round < 2 ? "validate" : "ready",
			                              round * 10));
		}
	}
	ac_status_queue_free (q);
	for (guint i = 0; i < N_DOMAINS; i++) {
		g_autoptr (AcStatus) got = recorded (doms[i]);
		g_assert_nonnull (got);
		g_assert_cmpstr (got->state, ==, "ready");
		g_assert_cmpstr (got->step, ==, "ready");
		g_assert_cmpuint (got->progress, ==, 20);
		virDomainFree (doms[i]);
	}
}

/* a status that the domain already has is not written again (no event, no flush) */
static void
test_unchanged (void)
{
	g_autoptr (GError) error = NULL;
	g_autoptr (virConnect) conn = ac_virt_connect ("test:///default", &error);
	g_autoptr (virDomain) dom = define (conn, 99);
	g_autofree gchar *before = NULL;
	g_autofree gchar *after = NULL;
	AcStatusQueue *q = ac_status_queue_new (2);
	g_autofree gchar *xml = ac_virt_get_xml (dom, &error);

	ac_status_queue_push (q, "localhost", FALSE, dom, xml, status ("ready", "validate", 0));
	ac_status_queue_free (q);
	before = ac_virt_get_xml (dom, &error);
	q = ac_status_queue_new (2);
	ac_status_queue_push (q, "localhost", FALSE, dom, before, status ("ready", "validate", 0));
	ac_status_queue_free (q);
	after = ac_virt_get_xml (dom, &error);
	/* the same status, its time stamps untouched */
	g_assert_cmpstr (before, ==, after);
}

int
main (int argc, char **argv)
{
	g_test_init (&argc, &argv, NULL);
	ac_virt_init ();
	g_test_add_func ("/daemon/status-queue/order", test_queue);
	g_test_add_func ("/daemon/status-queue/unchanged", test_unchanged);
	return g_test_run ();
}
