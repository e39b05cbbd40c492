/*
 * aleph-confidential: the log writer of the services. GLib's structured messages go to
 * stderr, to the systemd journal (its native protocol, every field kept, so
 * `journalctl DOMAIN_NAME=web` finds what concerns a domain) or to syslog (RFC 3164 over its
 * datagram socket, as syslog(3) sends it). A thread working for one domain names it once
 * (ac_log_set_thread_domain) and every message it logs carries DOMAIN_NAME and DOMAIN_UUID.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "ac-log.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "ac-error.h"

typedef struct {
	gchar *name;
	gchar *uuid;
} AcLogDomain;

static void
ac_log_domain_free (gpointer data)
{
	AcLogDomain *d = data;
	if (d == NULL)
		return;
	g_free (d->name);
	g_free (d->uuid);
	g_free (d);
}

static GPrivate thread_domain = G_PRIVATE_INIT (ac_log_domain_free);
static GPrivate thread_host = G_PRIVATE_INIT (g_free);
static gchar *log_ident;
static AcLogTarget log_target = AC_LOG_STDERR;
static int log_fd = -1;

static const struct {
	const gchar *name;
	AcLogTarget target;
} targets[] = {
	{ "auto", AC_LOG_AUTO },
	{ "stderr", AC_LOG_STDERR },
	{ "journal", AC_LOG_JOURNAL },
	{ "syslog", AC_LOG_SYSLOG },
};

/**
 * ac_log_target_parse:
 *
 * "auto", "stderr", "journal" or "syslog".
 */
gboolean
ac_log_target_parse (const gchar *text, AcLogTarget *target, GError **error)
{
	for (guint i = 0; i < G_N_ELEMENTS (targets); i++) {
		if (g_strcmp0 (text, targets[i].name) == 0) {
			*target = targets[i].target;
			return TRUE;
		}
	}
	g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
	             "--log '%s': expected auto, stderr, journal or syslog",
	             text != NULL ? text : "");
	return FALSE;
}

const gchar *
ac_log_target_name (AcLogTarget target)
{
	for (guint i = 0; i < G_N_ELEMENTS (targets); i++)
		if (targets[i].target == target)
			return targets[i].name;
	return "?";
}

static const gchar *
socket_from_env (const gchar *var, const gchar *fallback)
{
	const gchar *env = g_getenv (var);
	return env != NULL && env[0] != '\0' ? env : fallback;
}

const gchar *
ac_log_journal_socket (void)
{
	return socket_from_env ("VIRT_ALEPH_JOURNAL_SOCKET", AC_LOG_JOURNAL_SOCKET);
}

const gchar *
ac_log_syslog_socket (void)
{
	return socket_from_env ("VIRT_ALEPH_SYSLOG_SOCKET", AC_LOG_SYSLOG_SOCKET);
}

static gboolean
is_socket (const gchar *path)
{
	struct stat st;
	return stat (path, &st) == 0 && S_ISSOCK (st.st_mode);
}

/**
 * ac_log_resolve:
 * @foreground: whether the service stays attached to its terminal (or its supervisor's pipe)
 *
 * What "auto" means here and now: the journal when stderr is already connected to it (a
 * systemd service), stderr in the foreground otherwise; a detached service logs to the
 * journal when one runs, else to syslog. Any other @target is returned as it is.
 */
AcLogTarget
ac_log_resolve (AcLogTarget target, gboolean foreground)
{
	if (target != AC_LOG_AUTO)
		return target;
	if (g_log_writer_is_journald (STDERR_FILENO) && is_socket (ac_log_journal_socket ()))
		return AC_LOG_JOURNAL;
	if (foreground)
		return AC_LOG_STDERR;
	return is_socket (ac_log_journal_socket ()) ? AC_LOG_JOURNAL : AC_LOG_SYSLOG;
}

/**
 * ac_log_set_thread_domain:
 * @name: (nullable): the domain's name; %NULL with @uuid %NULL: no domain any more
 * @uuid: (nullable): its UUID
 *
 * From now on, every message this thread logs concerns that domain: the journal gets
 * DOMAIN_NAME and DOMAIN_UUID fields (unless the message names them itself).
 */
void
ac_log_set_thread_domain (const gchar *name, const gchar *uuid)
{
	AcLogDomain *d = NULL;
	if (name != NULL || uuid != NULL) {
		d = g_new0 (AcLogDomain, 1);
		d->name = g_strdup (name);
		d->uuid = g_strdup (uuid);
	}
	g_private_replace (&thread_domain, d);
}

/**
 * ac_log_set_thread_host:
 * @host: (nullable): the name of the host (of a fleet) this thread works for; %NULL: none
 *
 * From now on, every message this thread logs says which host it concerns: its text starts
 * with "host NAME: " (unless it does already) and the journal gets an ALEPH_HOST field. Only a
 * service that follows several hosts sets it: a domain UUID may then be on two of them.
 */
void
ac_log_set_thread_host (const gchar *host)
{
	g_private_replace (&thread_host, g_strdup (host));
}

static const gchar *
field_value (const GLogField *fields, gsize n_fields, const gchar *key, gssize *length)
{
	for (gsize i = 0; i < n_fields; i++) {
		if (g_strcmp0 (fields[i].key, key) != 0)
			continue;
		if (length != NULL)
			*length = fields[i].length < 0 ? (gssize)strlen (fields[i].value)
			                               : fields[i].length;
		return fields[i].value;
	}
	return NULL;
}

static gboolean
field_name_valid (const gchar *key)
{
	/* the journal's rule: A-Z, 0-9 and _, not starting with _ (those are trusted fields) */
	if (key == NULL || key[0] == '\0' || key[0] == '_' || strlen (key) > 64)
		return FALSE;
	for (const gchar *p = key; *p != '\0'; p++)
		if (!g_ascii_isupper (*p) && !g_ascii_isdigit (*p) && *p != '_')
			return FALSE;
	return TRUE;
}

static int
level_priority (GLogLevelFlags level)
{
	if (level & G_LOG_LEVEL_ERROR)
		return 3;
	if (level & (G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING))
		return 4;
	if (level & G_LOG_LEVEL_MESSAGE)
		return 5;
	if (level & G_LOG_LEVEL_INFO)
		return 6;
	return 7;
}

static gboolean
send_datagram (const gchar *path, const void *data, gsize len)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	if (log_fd < 0 || strlen (path) >= sizeof (addr.sun_path))
		return FALSE;
	memcpy (addr.sun_path, path, strlen (path) + 1);
	return sendto (log_fd, data, len, MSG_NOSIGNAL, (struct sockaddr *)&addr, sizeof (addr))
	       == (ssize_t)len;
}

/* the journal's native protocol: KEY=value lines, or KEY, a little-endian 64-bit length and
 * the bytes for a value that holds a newline */
static gboolean
write_journal (const GLogField *fields, gsize n_fields)
{
	g_autoptr (GString) d = g_string_new (NULL);
	for (gsize i = 0; i < n_fields; i++) {
		gssize len
		    = fields[i].length < 0 ? (gssize)strlen (fields[i].value) : fields[i].length;
		if (!field_name_valid (fields[i].key))
			continue;
		g_string_append (d, fields[i].key);
		if (memchr (fields[i].value, '\n', len) == NULL) {
			g_string_append_c (d, '=');
		} else {
			guint64 le = GUINT64_TO_LE ((guint64)len);
			g_string_append_c (d, '\n');
			g_string_append_len (d, (const gchar *)&le, sizeof (le));
		}
		g_string_append_len (d, fields[i].value, len);
		g_string_append_c (d, '\n');
	}
	return send_datagram (ac_log_journal_socket (), d->str, d->len);
}

/* RFC 3164 as syslog(3) sends it: <facility*8+severity>Mmm dd hh:mm:ss ident[pid]: message */
static gboolean
write_syslog (GLogLevelFlags level, const GLogField *fields, gsize n_fields)
{
	const gchar *message = field_value (fields, n_fields, "MESSAGE", NULL);
	const gchar *name = field_value (fields, n_fields, "DOMAIN_NAME", NULL);
	const gchar *host = field_value (fields, n_fields, "ALEPH_HOST", NULL);
	g_autoptr (GString) d = g_string_new (NULL);
	g_autofree gchar *host_prefix = host != NULL ? g_strdup_printf ("host %s: ", host) : NULL;
	gsize skip = 0;
	char stamp[32] = "";
	time_t now = time (NULL);
	struct tm tm;

	if (message == NULL)
		message = "";
	if (localtime_r (&now, &tm) != NULL)
		strftime (stamp, sizeof (stamp), "%b %e %H:%M:%S", &tm);
	g_string_printf (d, "<%d>%s %s[%d]: ", 3 * 8 + level_priority (level), stamp,
	                 log_ident != NULL ? log_ident : g_get_prgname (), (int)getpid ());
	/* syslog has no fields: the domain goes into the text when the text does not name it,
	 * after the host the text starts with */
	if (host_prefix != NULL && g_str_has_prefix (message, host_prefix))
		skip = strlen (host_prefix);
	g_string_append_len (d, message, (gssize)skip);
	if (name != NULL && strstr (message, name) == NULL)
		g_string_append_printf (d, "domain '%s': ", name);
	g_string_append (d, message + skip);
	return send_datagram (ac_log_syslog_socket (), d->str, d->len);
}

static GLogWriterOutput
ac_log_writer (GLogLevelFlags level, const GLogField *fields, gsize n_fields, gpointer user_data)
{
	const gchar *log_domain = field_value (fields, n_fields, "GLIB_DOMAIN", NULL);
	AcLogDomain *d = g_private_get (&thread_domain);
	const gchar *host = g_private_get (&thread_host);
	g_autoptr (GArray) all = NULL;
	g_autofree gchar *priority = NULL;
	g_autofree gchar *host_message = NULL;
	GLogField f;

	if (g_log_writer_default_would_drop (level, log_domain))
		return G_LOG_WRITER_HANDLED;
	all = g_array_sized_new (FALSE, FALSE, sizeof (GLogField), n_fields + 5);
	g_array_append_vals (all, fields, n_fields);
	if (host != NULL) {
		g_autofree gchar *prefix = g_strdup_printf ("host %s: ", host);
		for (guint i = 0; i < all->len; i++) {
			GLogField *m = &g_array_index (all, GLogField, i);
			g_autofree gchar *text = NULL;
			if (g_strcmp0 (m->key, "MESSAGE") != 0)
				continue;
			text = m->length < 0 ? g_strdup (m->value)
			                     : g_strndup (m->value, (gsize)m->length);
			if (!g_str_has_prefix (text, prefix)) {
				host_message = g_strconcat (prefix, text, NULL);
				m->value = host_message;
				m->length = -1;
			}
			break;
		}
		if (field_value (fields, n_fields, "ALEPH_HOST", NULL) == NULL) {
			f = (GLogField){ "ALEPH_HOST", host, -1 };
			g_array_append_val (all, f);
		}
	}
	if (field_value (fields, n_fields, "PRIORITY", NULL) == NULL) {
		priority = g_strdup_printf ("%d", level_priority (level));
		f = (GLogField){ "PRIORITY", priority, -1 };
		g_array_append_val (all, f);
	}
	if (field_value (fields, n_fields, "SYSLOG_IDENTIFIER", NULL) == NULL
	    && log_ident != NULL) {
		f = (GLogField){ "SYSLOG_IDENTIFIER", log_ident, -1 };
		g_array_append_val (all, f);
	}
	if (d != NULL && d->name != NULL
	    && field_value (fields, n_fields, "DOMAIN_NAME", NULL) == NULL) {
		f = (GLogField){ "DOMAIN_NAME", d->name, -1 };
		g_array_append_val (all, f);
	}
	if (d != NULL && d->uuid != NULL
	    && field_value (fields, n_fields, "DOMAIN_UUID", NULL) == NULL) {
		f = (GLogField){ "DOMAIN_UUID", d->uuid, -1 };
		g_array_append_val (all, f);
	}

	switch (log_target) {
	case AC_LOG_JOURNAL:
		if (write_journal ((const GLogField *)all->data, all->len))
			return G_LOG_WRITER_HANDLED;
		/* the journal went away, or the message is too large for a datagram */
		if (write_syslog (level, (const GLogField *)all->data, all->len))
			return G_LOG_WRITER_HANDLED;
		break;
	case AC_LOG_SYSLOG:
		if (write_syslog (level, (const GLogField *)all->data, all->len))
			return G_LOG_WRITER_HANDLED;
		break;
	default:
		break;
	}
	return g_log_writer_standard_streams (level, (const GLogField *)all->data, all->len,
	                                      user_data);
}

/**
 * ac_log_setup:
 * @ident: the program's name in the log (SYSLOG_IDENTIFIER)
 * @target: where messages go (resolved with ac_log_resolve(); "auto" is stderr here)
 *
 * Installs the log writer; call once, before the first message. The journal must be there
 * when it is asked for by name; syslog is used as long as its socket takes messages (stderr
 * after that).
 */
gboolean
ac_log_setup (const gchar *ident, AcLogTarget target, GError **error)
{
	if (target == AC_LOG_JOURNAL && !is_socket (ac_log_journal_socket ())) {
		g_set_error (
		    error, AC_ERROR, AC_ERROR_UNSUPPORTED,
		    "--log journal: no journal socket at %s (is systemd-journald running?)",
		    ac_log_journal_socket ());
		return FALSE;
	}
	g_free (log_ident);
	log_ident = g_strdup (ident);
	log_target = target == AC_LOG_AUTO ? AC_LOG_STDERR : target;
	if (log_target != AC_LOG_STDERR && log_fd < 0) {
		log_fd = socket (AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (log_fd < 0) {
			g_set_error (error, AC_ERROR, AC_ERROR_IO,
			             "cannot open a socket for the log: %s", g_strerror (errno));
			return FALSE;
		}
	}
	g_log_set_writer_func (ac_log_writer, NULL, NULL);
	return TRUE;
}

/**
 * ac_log_where:
 * @ident: the service's name
 * @domain_uuid: (nullable): the domain whose messages are wanted
 *
 * Where the service's own log is on this machine, for a person: a journalctl command when a
 * journal runs, else syslog.
 */
gchar *
ac_log_where (const gchar *ident, const gchar *domain_uuid)
{
	if (is_socket (ac_log_journal_socket ()))
		return g_strdup_printf ("journalctl -t %s%s%s", ident,
		                        domain_uuid != NULL ? " DOMAIN_UUID=" : "",
		                        domain_uuid != NULL ? domain_uuid : "");
	return g_strdup_printf (
	    "syslog, lines tagged %s (/var/log/syslog or /var/log/daemon.log), or its "
	    "stderr when it runs with --foreground",
	    ident);
}
