/* ac-log: the services' log writer — journal (native protocol, domain fields), syslog
 * (RFC 3164), stderr — on datagram sockets the test binds in place of the real ones. */
#include "config.h"

#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "ac-error.h"
#include "ac-log.h"

static gchar *dir;
static gchar *journal_path;
static gchar *syslog_path;

static int
bind_socket (const gchar *path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = 10 };
	int fd = socket (AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	g_assert_cmpint (fd, >=, 0);
	g_assert_cmpuint (strlen (path), <, sizeof (addr.sun_path));
	strcpy (addr.sun_path, path);
	g_assert_cmpint (bind (fd, (struct sockaddr *)&addr, sizeof (addr)), ==, 0);
	g_assert_cmpint (setsockopt (fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof (tv)), ==, 0);
	return fd;
}

static GBytes *
receive (int fd)
{
	gchar buf[65536];
	ssize_t n = recv (fd, buf, sizeof (buf), 0);
	g_assert_cmpint (n, >, 0);
	return g_bytes_new (buf, n);
}

static gboolean
nothing_waiting (int fd)
{
	gchar c;
	return recv (fd, &c, 1, MSG_DONTWAIT) < 0;
}

/* KEY=value\n, or KEY\n + little-endian 64-bit length + bytes + \n */
static GHashTable *
parse_journal (GBytes *bytes)
{
	GHashTable *fields = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
	gsize len;
	const gchar *p = g_bytes_get_data (bytes, &len);
	const gchar *end = p + len;
	while (p < end) {
		const gchar *nl = memchr (p, '\n', end - p);
		const gchar *eq = memchr (p, '=', end - p);
		g_assert_nonnull (nl);
		if (eq != NULL && eq < nl) {
			g_assert_false (g_hash_table_contains (fields, p)); /* each field once */
			g_hash_table_insert (fields, g_strndup (p, eq - p),
			                     g_strndup (eq + 1, nl - eq - 1));
			p = nl + 1;
		} else {
			guint64 n;
			g_assert_cmpint (end - nl, >=, 9);
			memcpy (&n, nl + 1, 8);
			n = GUINT64_FROM_LE (n);
			g_assert_cmpint ((gint64)(end - (nl + 9)), >, (gint64)n);
			g_assert_cmpint (nl[9 + n], ==, '\n');
			g_hash_table_insert (fields, g_strndup (p, nl - p), g_strndup (nl + 9, n));
			p = nl + 10 + n;
		}
	}
	return fields;
}

static GHashTable *
receive_journal (int fd)
{
	g_autoptr (GBytes) b = receive (fd);
	return parse_journal (b);
}

static void
test_target_parse (void)
{
	g_autoptr (GError) error = NULL;
	AcLogTarget t = AC_LOG_AUTO;
	g_assert_true (ac_log_target_parse ("journal", &t, NULL));
	g_assert_cmpint (t, ==, AC_LOG_JOURNAL);
	g_assert_true (ac_log_target_parse ("syslog", &t, NULL));
	g_assert_cmpint (t, ==, AC_LOG_SYSLOG);
	g_assert_true (ac_log_target_parse ("stderr", &t, NULL));
	g_assert_cmpint (t, ==, AC_LOG_STDERR);
	g_assert_true (ac_log_target_parse ("auto", &t, NULL));
	g_assert_cmpint (t, ==, AC_LOG_AUTO);
	g_assert_false (ac_log_target_parse ("journald", &t, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
	g_assert_cmpstr (error->message, ==,
	                 "--log 'journald': expected auto, stderr, journal or syslog");
	g_assert_cmpstr (ac_log_target_name (AC_LOG_SYSLOG), ==, "syslog");
}

static void
test_resolve_and_where (void)
{
	g_autofree gchar *missing = g_build_filename (dir, "missing", NULL);
	g_autofree gchar *where = NULL;
	int fd = bind_socket (journal_path);

	g_unsetenv ("JOURNAL_STREAM"); /* stderr is not the journal here */
	g_setenv ("VIRT_ALEPH_JOURNAL_SOCKET", journal_path, TRUE);
	g_assert_cmpint (ac_log_resolve (AC_LOG_AUTO, FALSE), ==, AC_LOG_JOURNAL);
	g_assert_cmpint (ac_log_resolve (AC_LOG_AUTO, TRUE), ==, AC_LOG_STDERR);
	g_assert_cmpint (ac_log_resolve (AC_LOG_SYSLOG, FALSE), ==, AC_LOG_SYSLOG);
	where = ac_log_where ("virt-alephd", "6a1e5c3b-2f4d-4b8e-9c1a-0d2e3f405161");
	g_assert_cmpstr (
	    where, ==,
	    "journalctl -t virt-alephd DOMAIN_UUID=6a1e5c3b-2f4d-4b8e-9c1a-0d2e3f405161");
	g_clear_pointer (&where, g_free);

	/* no journal: detached means syslog */
	g_setenv ("VIRT_ALEPH_JOURNAL_SOCKET", missing, TRUE);
	g_assert_cmpint (ac_log_resolve (AC_LOG_AUTO, FALSE), ==, AC_LOG_SYSLOG);
	g_assert_cmpint (ac_log_resolve (AC_LOG_AUTO, TRUE), ==, AC_LOG_STDERR);
	g_assert_cmpint (ac_log_resolve (AC_LOG_JOURNAL, FALSE), ==, AC_LOG_JOURNAL);
	where = ac_log_where ("virt-alephd", NULL);
	g_assert_true (g_str_has_prefix (where, "syslog, lines tagged virt-alephd"));
	g_setenv ("VIRT_ALEPH_JOURNAL_SOCKET", journal_path, TRUE);
	close (fd);
	g_assert_cmpint (g_unlink (journal_path), ==, 0);
}

static void
test_journal_missing (void)
{
	g_autoptr (GError) error = NULL;
	g_autofree gchar *missing = g_build_filename (dir, "missing", NULL);
	g_setenv ("VIRT_ALEPH_JOURNAL_SOCKET", missing, TRUE);
	g_assert_false (ac_log_setup ("test-log", AC_LOG_JOURNAL, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_UNSUPPORTED);
	g_assert_nonnull (strstr (error->message, missing));
	g_setenv ("VIRT_ALEPH_JOURNAL_SOCKET", journal_path, TRUE);
}

static gpointer
domain_thread (gpointer data)
{
	ac_log_set_thread_domain ("web", "6a1e5c3b-2f4d-4b8e-9c1a-0d2e3f405161");
	g_message ("line one\nline two");
	/* fields given by the message itself win */
	g_log_structured ("Test", G_LOG_LEVEL_WARNING, "DOMAIN_NAME", "other", "MESSAGE", "%s",
	                  "about another one");
	ac_log_set_thread_domain (NULL, NULL);
	g_message ("no domain any more");
	/* a fleet's host: named in the text once, and in a field */
	ac_log_set_thread_domain ("web", NULL);
	ac_log_set_thread_host ("node2");
	g_message ("attested");
	g_message ("host node2: said already");
	ac_log_set_thread_host (NULL);
	ac_log_set_thread_domain (NULL, NULL);
	g_message ("no host any more");
	return NULL;
}

static void
test_journal_then_syslog (void)
{
	g_autoptr (GError) error = NULL;
	g_autoptr (GHashTable) f = NULL;
	g_autoptr (GBytes) line = NULL;
	g_autofree gchar *text = NULL;
	g_autofree gchar *pid = g_strdup_printf ("[%d]: ", (int)getpid ());
	g_autofree gchar *expected = NULL;
	int journal = bind_socket (journal_path);
	int syslog = bind_socket (syslog_path);
	GThread *thread;

	g_setenv ("VIRT_ALEPH_JOURNAL_SOCKET", journal_path, TRUE);
	g_setenv ("VIRT_ALEPH_SYSLOG_SOCKET", syslog_path, TRUE);
	g_unsetenv ("G_MESSAGES_DEBUG");
	g_assert_true (ac_log_setup ("test-log", AC_LOG_JOURNAL, &error));
	g_assert_no_error (error);

	g_message ("plain %d", 42);
	f = receive_journal (journal);
	g_assert_cmpstr (g_hash_table_lookup (f, "MESSAGE"), ==, "plain 42");
	g_assert_cmpstr (g_hash_table_lookup (f, "PRIORITY"), ==, "5");
	g_assert_cmpstr (g_hash_table_lookup (f, "SYSLOG_IDENTIFIER"), ==, "test-log");
	g_assert_cmpstr (g_hash_table_lookup (f, "GLIB_DOMAIN"), ==, "AcTest");
	g_assert_false (g_hash_table_contains (f, "DOMAIN_NAME"));
	g_clear_pointer (&f, g_hash_table_unref);

	/* debug messages only with G_MESSAGES_DEBUG */
	g_debug ("hidden");
	g_message ("after the debug message");
	f = receive_journal (journal);
	g_assert_cmpstr (g_hash_table_lookup (f, "MESSAGE"), ==, "after the debug message");
	g_clear_pointer (&f, g_hash_table_unref);

	/* a thread working for a domain: its messages carry it, the newline kept (binary form) */
	thread = g_thread_new ("domain", domain_thread, NULL);
	g_thread_join (thread);
	f = receive_journal (journal);
	g_assert_cmpstr (g_hash_table_lookup (f, "MESSAGE"), ==, "line one\nline two");
	g_assert_cmpstr (g_hash_table_lookup (f, "DOMAIN_NAME"), ==, "web");
	g_assert_cmpstr (g_hash_table_lookup (f, "DOMAIN_UUID"), ==,
	                 "6a1e5c3b-2f4d-4b8e-9c1a-0d2e3f405161");
	g_clear_pointer (&f, g_hash_table_unref);
	f = receive_journal (journal);
	g_assert_cmpstr (g_hash_table_lookup (f, "MESSAGE"), ==, "about another one");
	g_assert_cmpstr (g_hash_table_lookup (f, "DOMAIN_NAME"), ==, "other");
	g_assert_cmpstr (g_hash_table_lookup (f, "PRIORITY"), ==, "4");
	g_clear_pointer (&f, g_hash_table_unref);
	f = receive_journal (journal);
	g_assert_cmpstr (g_hash_table_lookup (f, "MESSAGE"), ==, "no domain any more");
	g_assert_false (g_hash_table_contains (f, "DOMAIN_NAME"));
	g_clear_pointer (&f, g_hash_table_unref);
	f = receive_journal (journal);
	g_assert_cmpstr (g_hash_table_lookup (f, "MESSAGE"), ==, "host node2: attested");
	g_assert_cmpstr (g_hash_table_lookup (f, "ALEPH_HOST"), ==, "node2");
	g_assert_cmpstr (g_hash_table_lookup (f, "DOMAIN_NAME"), ==, "web");
	g_clear_pointer (&f, g_hash_table_unref);
	f = receive_journal (journal);
	g_assert_cmpstr (g_hash_table_lookup (f, "MESSAGE"), ==, "host node2: said already");
	g_clear_pointer (&f, g_hash_table_unref);
	f = receive_journal (journal);
	g_assert_cmpstr (g_hash_table_lookup (f, "MESSAGE"), ==, "no host any more");
	g_assert_false (g_hash_table_contains (f, "ALEPH_HOST"));
	g_clear_pointer (&f, g_hash_table_unref);
	/* the context is the thread's: this one never had a domain */
	g_message ("main thread");
	f = receive_journal (journal);
	g_assert_false (g_hash_table_contains (f, "DOMAIN_UUID"));
	g_clear_pointer (&f, g_hash_table_unref);
	g_assert_true (nothing_waiting (syslog));

	/* the journal goes away: syslog takes the messages, naming the domain in the text */
	close (journal);
	g_assert_cmpint (g_unlink (journal_path), ==, 0);
	ac_log_set_thread_domain ("web", NULL);
	g_message ("the journal is gone");
	line = receive (syslog);
	text = g_strndup (g_bytes_get_data (line, NULL), g_bytes_get_size (line));
	g_assert_true (g_str_has_prefix (text, "<29>"));
	g_assert_nonnull (strstr (text, " test-log"));
	expected = g_strconcat (pid, "domain 'web': the journal is gone", NULL);
	g_assert_true (g_str_has_suffix (text, expected));
	g_clear_pointer (&line, g_bytes_unref);
	g_clear_pointer (&text, g_free);
	g_clear_pointer (&expected, g_free);
	/* the host first, then the domain */
	ac_log_set_thread_host ("node2");
	g_message ("still syslog");
	ac_log_set_thread_host (NULL);
	ac_log_set_thread_domain (NULL, NULL);
	line = receive (syslog);
	text = g_strndup (g_bytes_get_data (line, NULL), g_bytes_get_size (line));
	expected = g_strconcat (pid, "host node2: domain 'web': still syslog", NULL);
	g_assert_true (g_str_has_suffix (text, expected));
	close (syslog);
}

int
main (int argc, char **argv)
{
	int rc;
	g_test_init (&argc, &argv, NULL);
	dir = g_dir_make_tmp ("ac-log-XXXXXX", NULL);
	g_assert_nonnull (dir);
	journal_path = g_build_filename (dir, "journal", NULL);
	syslog_path = g_build_filename (dir, "syslog", NULL);
	g_test_add_func ("/log/target-parse", test_target_parse);
	g_test_add_func ("/log/resolve-and-where", test_resolve_and_where);
	g_test_add_func ("/log/journal-missing", test_journal_missing);
	/* the writer is installed once per process: last */
	g_test_add_func ("/log/journal-then-syslog", test_journal_then_syslog);
	rc = g_test_run ();
	(void)g_unlink (journal_path);
	(void)g_unlink (syslog_path);
	(void)g_rmdir (dir);
	return rc;
}
