/*
 * The status element as virt-alephd and `virt-aleph apply` write it (ac-status-writer.h), on
 * libvirt's test driver: only real changes, the step's start kept while it lasts, the tag it
 * is about, and the heartbeat that shows the service at work (never bringing back a status
 * someone removed).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "ac-error.h"
#include "ac-status-writer.h"
#include "ac-status.h"
#include "ac-tag.h"
#include "ac-virt.h"

#define TAG                                                                                        \
	"<aleph:confidential xmlns:aleph='" AC_TAG_NS                                              \
	"'><aleph:publish api='http://127.0.0.1:1'/></aleph:confidential>"

static const gchar *domain_xml
    = "<domain type='test'><name>writer</name><memory unit='MiB'>64</memory>"
      "<os><type arch='x86_64'>hvm</type></os><metadata>" TAG "</metadata>"
      "<devices><disk type='file' device='disk'><source file='/tmp/w.img'/>"
      "<target dev='vda'/></disk></devices></domain>";

static AcStatus *
recorded (virDomainPtr dom)
{
	g_autofree gchar *xml = ac_virt_get_xml (dom, NULL);
	g_assert_nonnull (xml);
	return ac_status_parse (xml, -1, NULL);
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

static gboolean
quit_cb (gpointer loop)
{
	g_main_loop_quit (loop);
	return G_SOURCE_REMOVE;
}

static void
test_writes (void)
{
	g_autoptr (GError) error = NULL;
	g_autoptr (virConnect) conn = ac_virt_connect ("test:///default", &error);
	g_autoptr (virDomain) dom = NULL;
	g_autoptr (AcStatus) st = NULL;
	g_autoptr (AcStatus) got = NULL;
	g_autoptr (AcStatus) again = NULL;
	g_autofree gchar *xml = NULL;
	g_autofree gchar *fp = NULL;
	g_autofree gchar *first_since = NULL;
	gboolean written = FALSE;

	g_assert_no_error (error);
	dom = virDomainDefineXML (conn, domain_xml);
	g_assert_nonnull (dom);
	xml = ac_virt_get_xml (dom, &error);
	fp = ac_status_tag_fingerprint (xml);
	g_assert_nonnull (fp);

	/* first write: the domain's tag, since = updated */
	st = status ("building", "build", 5);
	g_assert_true (ac_status_write (dom, st, NULL, FALSE, &written, &error));
	g_assert_no_error (error);
	g_assert_true (written);
	got = recorded (dom);
	g_assert_cmpstr (got->tag, ==, fp);
	g_assert_cmpstr (got->since, ==, got->updated);
	first_since = g_strdup (got->since);

	/* the same again: nothing written */
	g_clear_pointer (&st, ac_status_free);
	st = status ("building", "build", 5);
	g_assert_true (ac_status_write (dom, st, NULL, FALSE, &written, &error));
	g_assert_false (written);

	/* a heartbeat writes it again (a later time), keeping the step's start */
	g_usleep (1100 * 1000);
	g_clear_pointer (&st, ac_status_free);
	st = status ("building", "build", 5);
	g_assert_true (ac_status_write (dom, st, NULL, TRUE, &written, &error));
	g_assert_true (written);
	g_clear_pointer (&got, ac_status_free);
	got = recorded (dom);
	g_assert_cmpstr (got->since, ==, first_since);
	g_assert_cmpstr (got->updated, !=, first_since);

	/* bytes of the same step: written, the start kept */
	g_clear_pointer (&st, ac_status_free);
	st = status ("building", "build", 20);
	st->done = 10;
	st->total = 100;
	g_assert_true (ac_status_write (dom, st, NULL, FALSE, &written, &error));
	g_assert_true (written);
	g_clear_pointer (&got, ac_status_free);
	got = recorded (dom);
	g_assert_cmpstr (got->since, ==, first_since);
	g_assert_cmpuint (got->done, ==, 10);

	/* another step: a new start */
	g_clear_pointer (&st, ac_status_free);
	st = status ("publishing", "publish/store", 40);
	g_assert_true (ac_status_write (dom, st, "00000000000000aa", FALSE, &written, &error));
	g_clear_pointer (&got, ac_status_free);
	got = recorded (dom);
	g_assert_cmpstr (got->since, !=, first_since);
	g_assert_cmpstr (got->since, ==, got->updated);
	g_assert_cmpstr (got->tag, ==, "00000000000000aa");
	g_assert_cmpuint (got->total, ==, 0);

	/* the writer: a copy with its tag; no heartbeat due right after a write, nor for a
	 * status that is no work in progress */
	{
		g_autoptr (AcStatusWriter) w = ac_status_writer_new (dom, fp);
		g_autoptr (AcStatus) s1 = status ("attesting", "attest/measurement", 85);
		g_autoptr (AcStatus) c1 = ac_status_writer_write (w, s1);
		g_autoptr (AcStatus) s2 = status ("running", "running", 100);
		g_autoptr (AcStatus) c2 = NULL;
		g_assert_cmpstr (c1->tag, ==, fp);
		g_assert_null (s1->tag); /* the caller's status is not changed */
		g_assert_false (ac_status_writer_heartbeat (w));
		c2 = ac_status_writer_write (w, s2);
		g_assert_cmpstr (c2->state, ==, "running");
		g_assert_false (ac_status_writer_heartbeat (w));
	}

	/* the heartbeat of work in progress: written again once the interval is over, the
	 * step's start kept; the main loop's timer does it every second */
	{
		g_autoptr (AcStatusWriter) w = ac_status_writer_new (dom, fp);
		g_autoptr (AcStatus) s1 = status ("publishing", "publish/wait", 65);
		g_autoptr (AcStatus) c1 = NULL;
		g_autoptr (GMainLoop) loop = g_main_loop_new (NULL, FALSE);
		guint timer;
		ac_status_writer_set_interval (w, 2);
		c1 = ac_status_writer_write (w, s1);
		g_assert_false (ac_status_writer_heartbeat (w));
		g_usleep (1100 * 1000);
		g_assert_true (ac_status_writer_heartbeat (w));
		g_clear_pointer (&got, ac_status_free);
		got = recorded (dom);
		g_assert_cmpstr (got->state, ==, "publishing");
		g_assert_cmpstr (got->since, ==, c1->since);
		g_assert_cmpstr (got->updated, !=, c1->updated);
		g_assert_false (ac_status_writer_heartbeat (w));
		/* from the timer: beats while the loop runs */
		timer = ac_status_writer_add_heartbeat (w);
		g_timeout_add_seconds (3, quit_cb, loop);
		{
			g_autofree gchar *before = g_strdup (got->updated);
			g_main_loop_run (loop);
			g_clear_pointer (&got, ac_status_free);
			got = recorded (dom);
			g_assert_cmpstr (got->updated, !=, before);
		}
		g_source_remove (timer);
	}

	/* removed meanwhile (untag): a heartbeat does not bring it back */
	g_assert_true (ac_virt_set_metadata (dom, AC_STATUS_PREFIX, AC_STATUS_NS, NULL, &error));
	g_clear_pointer (&st, ac_status_free);
	st = status ("building", "build", 5);
	g_assert_true (ac_status_write (dom, st, NULL, TRUE, &written, &error));
	g_assert_false (written);
	g_clear_pointer (&again, ac_status_free);
	again = recorded (dom);
	g_assert_null (again);
	virDomainUndefine (dom);
}

int
main (int argc, char **argv)
{
	g_test_init (&argc, &argv, NULL);
	ac_virt_init ();
	g_test_add_func ("/status-writer/writes", test_writes);
	return g_test_run ();
}
