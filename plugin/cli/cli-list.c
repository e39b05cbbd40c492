/*
 * virt-aleph list: every tagged domain of the connection, one line each; and what `list` and
 * `status` share to describe a domain (its mode, the ssh hint, a status left from an earlier tag).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <json-glib/json-glib.h>
#include <libvirt/libvirt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ac-cli.h"
#include "ac-domain.h"
#include "ac-hosts.h"
#include "ac-json.h"
#include "ac-status.h"
#include "ac-tag.h"
#include "ac-virt.h"

/**
 * ac_cli_tag_mode:
 * @tag: (nullable): the parsed tag; %NULL for a tag that does not parse
 * @json: the machine name (aleph, local-sev, local-test, local-deny, invalid) rather than the
 *   human one
 */
const gchar *
ac_cli_tag_mode (const AcTag *tag, gboolean json)
{
	if (tag == NULL)
		return json ? "invalid" : "invalid tag";
	if (tag->publish != NULL)
		return json ? "aleph" : "Aleph";
	switch (tag->local_mode) {
	case AC_LOCAL_MODE_TEST:
		return json ? "local-test" : "local test";
	case AC_LOCAL_MODE_DENY:
		return json ? "local-deny" : "local deny";
	case AC_LOCAL_MODE_UNSET:
	case AC_LOCAL_MODE_SEV:
	default:
		return json ? "local-sev" : "local SEV";
	}
}

/**
 * ac_cli_ssh_hint:
 *
 * `ssh root@IPV6` for an instance that runs on Aleph with an address its CRN reported, else
 * %NULL.
 */
gchar *
ac_cli_ssh_hint (const AcStatus *st)
{
	if (st == NULL || st->ipv6 == NULL || st->instance_hash == NULL
	    || g_strcmp0 (st->state, "running") != 0)
		return NULL;
	return g_strdup_printf ("ssh root@%s", st->ipv6);
}

/**
 * ac_cli_status_tag_changed:
 * @domain: (nullable): the domain's model now (ac_domain_parse())
 *
 * Whether @st was written for another tag than the domain has now: it is not the domain's
 * status any more, only what virt-alephd last said before the change.
 */
gboolean
ac_cli_status_tag_changed (const AcStatus *st, const AcDomain *domain)
{
	g_autofree gchar *now = NULL;
	if (st == NULL || st->tag == NULL || domain == NULL)
		return FALSE;
	now = ac_domain_get_tag_fingerprint (domain);
	return now != NULL && g_strcmp0 (now, st->tag) != 0;
}

/**
 * ac_cli_status_instance_kept:
 *
 * Whether @st is that of an instance running on Aleph: virt-alephd leaves a published
 * instance as it is when the tag changes (it is ended with `virt-aleph erase` first), so such
 * a status stays the domain's current one after a change of the tag.
 */
gboolean
ac_cli_status_instance_kept (const AcStatus *st)
{
	return st != NULL && g_strcmp0 (st->state, "running") == 0 && st->instance_hash != NULL;
}

/**
 * ac_cli_format_bytes:
 *
 * 1536 → "1.5 KiB", in binary units.
 */
gchar *
ac_cli_format_bytes (guint64 bytes)
{
	const gchar *units[] = { "KiB", "MiB", "GiB", "TiB" };
	gdouble v = (gdouble)bytes;
	guint u = 0;
	if (bytes < 1024)
		return g_strdup_printf ("%" G_GUINT64_FORMAT " B", bytes);
	v /= 1024;
	while (v >= 1024 && u + 1 < G_N_ELEMENTS (units)) {
		v /= 1024;
		u++;
	}
	return g_strdup_printf ("%.1f %s", v, units[u]);
}

typedef struct {
	const gchar *host; /* nullable: one host, not named */
	gchar *name;
	gchar *uuid;
	gchar *mode_text;
	const gchar *mode_json;
	AcStatus *st;         /* nullable */
	gboolean tag_changed; /* the status was written for another tag */
	gboolean stale;       /* … and is not the domain's current state any more */
	gchar *ssh;
} ListRow;

static void
list_row_free (gpointer data)
{
	ListRow *r = data;
	g_free (r->name);
	g_free (r->uuid);
	g_free (r->mode_text);
	ac_status_free (r->st);
	g_free (r->ssh);
	g_free (r);
}

static gint
list_row_cmp (gconstpointer a, gconstpointer b)
{
	const ListRow *x = *(ListRow *const *)a;
	const ListRow *y = *(ListRow *const *)b;
	gint c = g_strcmp0 (x->name, y->name);
	return c != 0 ? c : g_strcmp0 (x->host, y->host);
}

/* "building build 42%", "failed at attest", "tag changed; waiting for virt-alephd" … */
static gchar *
list_state_text (const ListRow *r)
{
	const AcStatus *st = r->st;
	if (st == NULL)
		return g_strdup ("no status yet");
	if (r->stale)
		return g_strdup ("tag changed; waiting for virt-alephd");
	if (r->tag_changed)
		return g_strdup ("running (tag changed: erase to apply it)");
	if (st->error_step != NULL)
		return g_strdup_printf ("%s at %s", st->state, st->error_step);
	if (ac_status_is_work_in_progress (st))
		return g_strdup_printf ("%s %s %u%%", st->state, st->step != NULL ? st->step : "-",
		                        st->progress);
	if (st->step != NULL && g_strcmp0 (st->step, st->state) != 0)
		return g_strdup_printf ("%s (%s)", st->state, st->step);
	return g_strdup (st->state);
}

/* Adds the rows of every tagged domain of @conn to @rows, naming @host (nullable); FALSE on
 * a libvirt error. */
static gboolean
list_collect_rows (virConnectPtr conn,
                   const gchar *uri,
                   const gchar *host,
                   GPtrArray *rows,
                   GError **error)
{
	virDomainPtr *domains = NULL;
	int n;

	n = virConnectListAllDomains (conn, &domains, 0);
	if (n < 0) {
		ac_virt_set_error (error, "listing the domains of %s", uri);
		return FALSE;
	}
	for (int i = 0; i < n; i++) {
		g_autofree gchar *xml = ac_virt_get_xml (domains[i], NULL);
		char uuid[VIR_UUID_STRING_BUFLEN] = "";
		g_autoptr (AcDomain) model = NULL;
		const AcTag *tag;
		ListRow *r;
		/* a domain undefined meanwhile, or untagged, is not listed */
		if (xml != NULL && ac_tag_xml_has_tag (xml, strlen (xml))) {
			model = ac_domain_parse (xml, -1, NULL);
			tag = model != NULL ? model->tag : NULL;
			r = g_new0 (ListRow, 1);
			r->host = host;
			r->name = g_strdup (virDomainGetName (domains[i]));
			if (virDomainGetUUIDString (domains[i], uuid) == 0)
				r->uuid = g_strdup (uuid);
			r->mode_text = g_strdup (ac_cli_tag_mode (tag, FALSE));
			r->mode_json = ac_cli_tag_mode (tag, TRUE);
			r->st = ac_status_parse (xml, -1, NULL);
			r->tag_changed = ac_cli_status_tag_changed (r->st, model);
			r->stale = r->tag_changed && !ac_cli_status_instance_kept (r->st);
			r->ssh = r->stale ? NULL : ac_cli_ssh_hint (r->st);
			g_ptr_array_add (rows, r);
		}
		virDomainFree (domains[i]);
	}
	free (domains);
	return TRUE;
}

static void
list_print_json (GPtrArray *rows)
{
	g_autoptr (JsonBuilder) b = json_builder_new ();
	json_builder_begin_array (b);
	for (guint i = 0; i < rows->len; i++) {
		ListRow *r = g_ptr_array_index (rows, i);
		const AcStatus *st = r->st;
		json_builder_begin_object (b);
		if (r->host != NULL)
			ac_json_builder_add_string_or_null (b, "host", r->host);
		ac_json_builder_add_string_or_null (b, "domain", r->name);
		ac_json_builder_add_string_or_null (b, "uuid", r->uuid);
		ac_json_builder_add_string_or_null (b, "mode", r->mode_json);
		ac_json_builder_add_string_or_null (b, "state", st != NULL ? st->state : NULL);
		ac_json_builder_add_string_or_null (b, "step", st != NULL ? st->step : NULL);
		json_builder_set_member_name (b, "progress");
		if (st != NULL)
			json_builder_add_int_value (b, st->progress);
		else
			json_builder_add_null_value (b);
		ac_json_builder_add_string_or_null (b, "updated", st != NULL ? st->updated : NULL);
		ac_json_builder_add_boolean (b, "tagChanged", r->tag_changed);
		ac_json_builder_add_string_or_null (b, "crn", st != NULL ? st->crn : NULL);
		ac_json_builder_add_string_or_null (b, "crnUrl", st != NULL ? st->crn_url : NULL);
		ac_json_builder_add_string_or_null (b, "ipv6", st != NULL ? st->ipv6 : NULL);
		ac_json_builder_add_string_or_null (b, "ssh", r->ssh);
		ac_json_builder_add_string_or_null (b, "errorCode",
		                                    st != NULL ? st->error_code : NULL);
		ac_json_builder_add_string_or_null (b, "error",
		                                    st != NULL ? st->error_message : NULL);
		json_builder_end_object (b);
	}
	json_builder_end_array (b);
	ac_cli_print_json_builder (b);
}

/* aligned columns: the widest cell of each, the last one free */
static void
list_print_table (GPtrArray *rows, gboolean hosts)
{
	const gchar *heads[] = { "HOST", "NAME", "MODE", "STATE", "CRN", "IPV6", "SSH" };
	g_autoptr (GPtrArray) cells = g_ptr_array_new_with_free_func (g_free);
	gsize width[G_N_ELEMENTS (heads)];
	guint first = hosts ? 0 : 1; /* the HOST column for a fleet only */
	for (guint c = 0; c < G_N_ELEMENTS (heads); c++)
		width[c] = strlen (heads[c]);
	for (guint i = 0; i < rows->len; i++) {
		ListRow *r = g_ptr_array_index (rows, i);
		const AcStatus *st = r->st;
		const gchar *crn
		    = st != NULL ? (st->crn_url != NULL ? st->crn_url : st->crn) : NULL;
		gchar *row[G_N_ELEMENTS (heads)] = {
			g_strdup (r->host != NULL ? r->host : "-"),
			g_strdup (r->name),
			g_strdup (r->mode_text),
			list_state_text (r),
			g_strdup (crn != NULL ? crn : "-"),
			g_strdup (st != NULL && st->ipv6 != NULL && !r->stale ? st->ipv6 : "-"),
			g_strdup (r->ssh != NULL ? r->ssh : "-"),
		};
		for (guint c = 0; c < G_N_ELEMENTS (heads); c++) {
			width[c] = MAX (width[c], strlen (row[c]));
			g_ptr_array_add (cells, row[c]);
		}
	}
	for (guint c = first; c + 1 < G_N_ELEMENTS (heads); c++)
		printf ("%-*s  ", (int)width[c], heads[c]);
	printf ("%s\n", heads[G_N_ELEMENTS (heads) - 1]);
	for (guint i = 0; i < rows->len; i++) {
		for (guint c = first; c < G_N_ELEMENTS (heads); c++) {
			const gchar *cell = g_ptr_array_index (cells, i * G_N_ELEMENTS (heads) + c);
			if (c + 1 < G_N_ELEMENTS (heads))
				printf ("%-*s  ", (int)width[c], cell);
			else
				printf ("%s\n", cell);
		}
	}
}

static void
host_conn_free (gpointer data)
{
	AcCliHostConn *hc = data;
	if (hc->conn != NULL)
		virConnectClose (hc->conn);
	g_clear_error (&hc->error);
	g_free (hc);
}

/**
 * ac_cli_connect_hosts:
 * @hosts: the hosts of a configuration (ac_cli_config_hosts())
 *
 * Opens a connection to every host at once, each in a thread: a host that accepts and never
 * answers (an ssh handshake that never ends) would block virConnectOpen() for ever. Of a fleet,
 * every host is waited for --timeout seconds at most (default %AC_CLI_HOST_WAIT_S); a single
 * host, for --timeout when given, else as long as it takes, as virsh does. A host not open by
 * then has its error named after it; the others are used.
 */
GPtrArray *
ac_cli_connect_hosts (AcCliGlobal *global, GPtrArray *hosts)
{
	g_autoptr (GPtrArray) result = g_ptr_array_new_with_free_func (host_conn_free);
	g_autofree AcVirtOpening **ops = g_new0 (AcVirtOpening *, hosts->len);
	guint seconds = global->timeout_s != 0 ? global->timeout_s
	                : hosts->len > 1       ? AC_CLI_HOST_WAIT_S
	                                       : 0;
	gint64 deadline = seconds != 0 ? g_get_monotonic_time () + seconds * G_USEC_PER_SEC
	                               : G_MAXINT64;

	for (guint i = 0; i < hosts->len; i++)
		ops[i] = ac_virt_connect_begin (((const AcHost *)g_ptr_array_index (hosts, i))->uri);
	for (guint i = 0; i < hosts->len; i++) {
		AcCliHostConn *hc = g_new0 (AcCliHostConn, 1);
		hc->conn = ac_virt_connect_end (ops[i], deadline, &hc->error);
		if (hc->conn == NULL && hosts->len > 1)
			g_prefix_error (&hc->error, "host %s: ",
			                ((const AcHost *)g_ptr_array_index (hosts, i))->name);
		g_ptr_array_add (result, hc);
	}
	return g_steal_pointer (&result);
}

/**
 * ac_cli_hosts_done:
 *
 * The end of a command that used ac_cli_connect_hosts(): when a host it gave up on is still
 * being connected to, its thread is inside libvirt, and the libraries' destructors run at exit
 * would pull the ground from under it; the process ends at once instead, its output flushed.
 */
int
ac_cli_hosts_done (int exit_code)
{
	if (ac_virt_connect_pending ()) {
		fflush (stdout);
		fflush (stderr);
		_exit (exit_code);
	}
	return exit_code;
}

/**
 * ac_cli_find_domain_host:
 * @hosts: the hosts of a configuration (ac_cli_config_hosts())
 *
 * The host of @hosts that holds the domain @name (a name or UUID). A domain of that name on
 * several hosts (a clone) is refused, naming them: --connect picks one.
 */
const AcHost *
ac_cli_find_domain_host (AcCliGlobal *global, GPtrArray *hosts, const gchar *name, GError **error)
{
	const AcHost *found = NULL;
	g_autoptr (GString) down = g_string_new (NULL);
	g_autoptr (GPtrArray) conns = ac_cli_connect_hosts (global, hosts);
	for (guint i = 0; i < hosts->len; i++) {
		const AcHost *h = g_ptr_array_index (hosts, i);
		AcCliHostConn *hc = g_ptr_array_index (conns, i);
		g_autoptr (virDomain) dom
		    = hc->conn != NULL ? ac_virt_lookup_domain (hc->conn, name, NULL) : NULL;
		if (hc->conn == NULL)
			g_string_append_printf (down, "%s%s", down->len > 0 ? ", " : "", h->name);
		if (dom == NULL)
			continue;
		if (found != NULL) {
			g_set_error (
			    error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			    "domain '%s' is on host %s and host %s: expected --connect with "
			    "the URI of one of them",
			    name, found->name, h->name);
			return NULL;
		}
		found = h;
	}
	if (found == NULL)
		g_set_error (error, AC_ERROR, AC_ERROR_NOT_FOUND,
		             "no domain '%s' on the %u hosts of the configuration%s%s", name,
		             hosts->len, down->len > 0 ? "; not reachable: " : "", down->str);
	return found;
}

/* the rows of every host of the configuration (a fleet: named); a host that cannot be listed
 * is reported and the others listed, its error in *error */
static GPtrArray *
list_collect_hosts (AcCliGlobal *global, GPtrArray *hosts, GError **error)
{
	g_autoptr (GPtrArray) rows = g_ptr_array_new_with_free_func (list_row_free);
	g_autoptr (GPtrArray) conns = ac_cli_connect_hosts (global, hosts);
	for (guint i = 0; i < hosts->len; i++) {
		const AcHost *h = g_ptr_array_index (hosts, i);
		AcCliHostConn *hc = g_ptr_array_index (conns, i);
		g_autoptr (GError) local_error = g_steal_pointer (&hc->error);
		if (hc->conn == NULL
		    || !list_collect_rows (hc->conn, h->uri, hosts->len > 1 ? h->name : NULL, rows,
		                           &local_error)) {
			if (hosts->len > 1) {
				if (hc->conn != NULL)
					g_prefix_error (&local_error, "host %s: ", h->name);
				if (!global->quiet)
					g_printerr ("virt-aleph: %s\n", local_error->message);
			}
			if (error != NULL && *error == NULL)
				g_propagate_error (error, g_steal_pointer (&local_error));
		}
	}
	g_ptr_array_sort (rows, list_row_cmp);
	return g_steal_pointer (&rows);
}

static int
list_run (AcCliGlobal *global, int argc, char **argv)
{
	g_autoptr (GOptionContext) ctx = ac_cli_option_context_new (
	    global, NULL,
	    "List every domain of the connection that carries an <aleph:confidential> tag: its "
	    "mode (Aleph or local), the state and step virt-alephd recorded, its CRN, and the "
	    "IPv6 of a running instance with an ssh hint. --json prints an array of objects. With "
	    "--config, every host virt-alephd's configuration follows ([daemon] connect and each "
	    "[host NAME]), the host of each domain named.");
	g_autofree gchar *config_path = NULL;
	const GOptionEntry entries[] = {
		{ "config", 0, 0, G_OPTION_ARG_FILENAME, &config_path,
		  "list the hosts of this virt-alephd configuration", "FILE" },
		{ NULL },
	};
	g_autoptr (GError) error = NULL;
	g_autoptr (GPtrArray) hosts = NULL;
	g_autoptr (GPtrArray) rows = NULL;
	gboolean named;

	g_option_context_add_main_entries (ctx, entries, NULL);
	if (!ac_cli_parse_args (ctx, &argc, &argv, 0, "list: expected no argument", &error))
		return ac_cli_fail (global, g_steal_pointer (&error));
	if (config_path != NULL) {
		hosts = ac_cli_config_hosts (global, config_path, NULL, &error);
		if (hosts == NULL)
			return ac_cli_fail (global, g_steal_pointer (&error));
	} else {
		/* the connection only, as always */
		AcHost *h = g_new0 (AcHost, 1);
		h->uri = g_strdup (ac_cli_get_uri (global));
		h->name = ac_hosts_name_from_uri (h->uri);
		hosts = g_ptr_array_new_with_free_func ((GDestroyNotify)ac_host_free);
		g_ptr_array_add (hosts, h);
	}
	named = hosts->len > 1;
	ac_virt_init ();
	rows = list_collect_hosts (global, hosts, &error);
	/* one host: its error is the command's */
	if (error != NULL && !named)
		return ac_cli_fail (global, g_steal_pointer (&error));
	if (global->json)
		list_print_json (rows);
	else if (rows->len == 0 && !global->quiet)
		printf ("No tagged domain on %s; tag one with 'virt-aleph tag DOMAIN' "
		        "(--publish to deploy it to Aleph).\n",
		        named ? "the hosts" : ac_cli_get_uri (global));
	else if (rows->len > 0)
		list_print_table (rows, named);
	/* a fleet: the hosts that answered listed, the first failure's exit code */
	return error != NULL ? (int)ac_error_to_exit_code (error) : AC_EXIT_OK;
}

int
ac_cli_cmd_list (AcCliGlobal *global, int argc, char **argv)
{
	return ac_cli_hosts_done (list_run (global, argc, argv));
}
