/*
 * virt-aleph status: the tag of a domain and the status virt-alephd recorded for it, once or
 * followed (--follow) until a final state.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <json-glib/json-glib.h>
#include <stdio.h>
#include <string.h>

#include "ac-cli.h"
#include "ac-domain.h"
#include "ac-json.h"
#include "ac-sev-policy.h"
#include "ac-snp-policy.h"
#include "ac-status.h"
#include "ac-tag.h"
#include "ac-virt.h"
#include "cli-tag.h"

static gboolean
status_is_final (const AcStatus *st, gboolean published)
{
	const gchar *finals[]
	    = { "running", "failed", "invalid", "erased", "stopped", "forgotten", NULL };
	if (st == NULL)
		return FALSE;
	if (!published && g_strcmp0 (st->state, "ready") == 0)
		return TRUE;
	return g_strv_contains (finals, st->state);
}

/* A final state that is a failure: its recorded error class, as an error (object). */
static int
status_follow_failed (AcCliGlobal *global, virDomainPtr dom, const AcStatus *st)
{
	AcError code
	    = g_strcmp0 (st->state, "invalid") == 0 ? AC_ERROR_INVALID_INPUT : AC_ERROR_INTERNAL;
	g_autoptr (JsonObject) extra = json_object_new ();
	GError *error;

	ac_cli_error_from_string (st->error_code, &code);
	error = g_error_new (AC_ERROR, code, "domain '%s' is %s%s%s%s%s", virDomainGetName (dom),
	                     st->state, st->error_step != NULL ? " at step " : "",
	                     st->error_step != NULL ? st->error_step : "",
	                     st->error_message != NULL ? ": " : "",
	                     st->error_message != NULL ? st->error_message : "");
	if (!global->json) {
		/* the status line above already said it */
		int rc = (int)ac_error_to_exit_code (error);
		g_error_free (error);
		return rc;
	}
	json_object_set_string_member (extra, "domain", virDomainGetName (dom));
	json_object_set_string_member (extra, "state", st->state);
	return ac_cli_fail_with (global, error, extra);
}

/* The error when the domain carries no tag: virt-alephd has nothing to do for it. */
static int
status_untagged (AcCliGlobal *global, virDomainPtr dom)
{
	const gchar *name = virDomainGetName (dom);
	g_autoptr (JsonObject) extra = json_object_new ();
	json_object_set_string_member (extra, "domain", name);
	json_object_set_string_member (extra, "reason", "untagged");
	return ac_cli_fail_with (
	    global,
	    g_error_new (AC_ERROR, AC_ERROR_NOT_FOUND,
	                 "domain '%s' is not tagged (no <aleph:confidential> element): "
	                 "virt-alephd has nothing to do for it; tag it with 'virt-aleph tag %s' "
	                 "(--publish to deploy it to Aleph)",
	                 name, name),
	    extra);
}

/* The error when nothing shows that virt-alephd works on the domain. */
static int
status_service_silent (AcCliGlobal *global,
                       virDomainPtr dom,
                       const AcStatus *st,
                       gboolean tag_changed,
                       guint waited_s)
{
	const gchar *name = virDomainGetName (dom);
	g_autoptr (JsonObject) extra = json_object_new ();
	GError *error;

	json_object_set_string_member (extra, "domain", name);
	json_object_set_string_member (extra, "reason", "service-silent");
	if (st == NULL)
		error = g_error_new (
		    AC_ERROR, AC_ERROR_NOT_FOUND,
		    "virt-alephd wrote no status for domain '%s' in %u s: is virt-alephd "
		    "running, connected to %s? ('virt-aleph doctor %s')",
		    name, waited_s, ac_cli_get_uri (global), name);
	else if (tag_changed)
		error = g_error_new (
		    AC_ERROR, AC_ERROR_NOT_FOUND,
		    "the tag of domain '%s' changed, and virt-alephd has not taken it up in "
		    "%u s (the status is still the earlier tag's: %s at step %s): is "
		    "virt-alephd running, connected to %s? ('virt-aleph doctor %s')",
		    name, waited_s, st->state, st->step != NULL ? st->step : "-",
		    ac_cli_get_uri (global), name);
	else if (g_strcmp0 (st->state, "interrupted") == 0)
		error = g_error_new (
		    AC_ERROR, AC_ERROR_NOT_FOUND,
		    "the run of domain '%s' was interrupted at step %s (%s), and virt-alephd "
		    "has not resumed it: is virt-alephd running, connected to %s? "
		    "('virt-aleph doctor %s')",
		    name, st->error_step != NULL ? st->error_step : "-",
		    st->updated != NULL ? st->updated : "?", ac_cli_get_uri (global), name);
	else
		error = g_error_new (
		    AC_ERROR, AC_ERROR_NOT_FOUND,
		    "virt-alephd has not updated the status of domain '%s' since %s, "
		    "although it is %s at step %s (it does every %u s while it works): "
		    "is virt-alephd running, connected to %s? ('virt-aleph doctor %s')",
		    name, st->updated != NULL ? st->updated : "?", st->state,
		    st->step != NULL ? st->step : "-", AC_STATUS_HEARTBEAT_S,
		    ac_cli_get_uri (global), name);
	return ac_cli_fail_with (global, error, extra);
}

/* One line (or NDJSON event) for a status. */
static gchar *
status_follow_line (AcCliGlobal *global, virDomainPtr dom, const AcStatus *st, gboolean tag_changed)
{
	g_autofree gchar *bytes = NULL;
	if (global->json) {
		g_autoptr (JsonParser) parser = json_parser_new ();
		g_autofree gchar *event
		    = ac_cli_status_event_to_string (virDomainGetName (dom), st);
		JsonObject *o;
		if (!tag_changed || !json_parser_load_from_data (parser, event, -1, NULL))
			return g_steal_pointer (&event);
		o = json_node_get_object (json_parser_get_root (parser));
		json_object_set_boolean_member (o, "tagChanged", TRUE);
		return json_to_string (json_parser_get_root (parser), FALSE);
	}
	if (tag_changed)
		return g_strdup_printf ("%s %-12s %-20s tag changed since; waiting for virt-alephd "
		                        "(was: %s%s%s)",
		                        st->updated != NULL ? st->updated : "", "-", "-", st->state,
		                        st->error_message != NULL ? ": " : "",
		                        st->error_message != NULL ? st->error_message : "");
	if (st->total > 0) {
		g_autofree gchar *done = ac_cli_format_bytes (st->done);
		g_autofree gchar *total = ac_cli_format_bytes (st->total);
		bytes = g_strdup_printf ("  %s of %s", done, total);
	}
	return g_strdup_printf ("%s %-12s %-20s %3u%%%s%s%s",
	                        st->updated != NULL ? st->updated : "", st->state,
	                        st->step != NULL ? st->step : "-", st->progress,
	                        bytes != NULL ? bytes : "", st->error_message != NULL ? "  " : "",
	                        st->error_message != NULL ? st->error_message : "");
}

/* "still at step X (elapsed Ys)": nothing changed for a while, but the follow is alive. */
static void
status_follow_heartbeat (AcCliGlobal *global,
                         virDomainPtr dom,
                         const AcStatus *st,
                         gint64 elapsed_s)
{
	if (global->json) {
		g_autoptr (JsonBuilder) b = json_builder_new ();
		json_builder_begin_object (b);
		ac_json_builder_add_string (b, "event", "heartbeat");
		ac_json_builder_add_string (b, "domain", virDomainGetName (dom));
		if (st != NULL) {
			ac_json_builder_add_string (b, "state", st->state != NULL ? st->state : "");
			ac_json_builder_add_string (b, "step", st->step != NULL ? st->step : "");
		}
		ac_json_builder_add_int (b, "elapsed", elapsed_s);
		json_builder_end_object (b);
		ac_cli_print_json_builder (b);
		return;
	}
	if (st == NULL)
		printf ("still waiting for virt-alephd to write the status of '%s' (elapsed "
		        "%" G_GINT64_FORMAT "s)\n",
		        virDomainGetName (dom), elapsed_s);
	else
		printf ("still at step %s (%s, elapsed %" G_GINT64_FORMAT "s)\n",
		        st->step != NULL ? st->step : "-", st->state, elapsed_s);
	fflush (stdout);
}

/*
 * Prints every change of the status until it reaches a final state; a heartbeat line when
 * nothing changed for @heartbeat_s; an error when the domain is not tagged, or when for @wait_s
 * nothing shows virt-alephd at work (no status, a status of an earlier tag, or work in
 * progress whose heartbeat stopped).
 */
static int
status_follow (AcCliGlobal *global, virDomainPtr dom, guint heartbeat_s, guint wait_s)
{
	g_autofree gchar *last = NULL;
	g_autofree gchar *last_updated = NULL;
	g_autofree gchar *last_step = NULL;
	gint64 printed_at = g_get_monotonic_time (); /* the last line printed */
	gint64 changed_at = printed_at;              /* the last change of what virt-alephd wrote */
	gint64 step_seen_at = printed_at;            /* when this follow saw the step begin */
	gboolean first = TRUE;

	for (;;) {
		g_autoptr (GError) error = NULL;
		g_autofree gchar *xml = ac_virt_get_xml (dom, &error);
		g_autoptr (AcStatus) st = NULL;
		g_autoptr (AcDomain) model = NULL;
		const AcTag *tag;
		g_autofree gchar *line = NULL;
		g_autoptr (GDateTime) now_utc = g_date_time_new_now_utc ();
		gint64 now = g_get_monotonic_time ();
		gboolean tag_changed, waiting_for_service, silent, kept;
		gint64 age;

		if (xml == NULL)
			return ac_cli_fail (global, g_steal_pointer (&error));
		if (!ac_tag_xml_has_tag (xml, strlen (xml)))
			return status_untagged (global, dom);
		st = ac_status_parse (xml, -1, NULL);
		model = ac_domain_parse (xml, -1, NULL);
		tag = model != NULL ? model->tag : NULL;
		/* a status of an earlier tag is not the domain's, but for an instance that runs on:
		 * virt-alephd leaves it as it is */
		kept = ac_cli_status_instance_kept (st);
		tag_changed = ac_cli_status_tag_changed (st, model) && !kept;
		if (first || g_strcmp0 (st != NULL ? st->updated : NULL, last_updated) != 0) {
			changed_at = now;
			g_free (last_updated);
			last_updated = g_strdup (st != NULL ? st->updated : NULL);
		}
		if (first || g_strcmp0 (st != NULL ? st->step : NULL, last_step) != 0) {
			step_seen_at = now;
			g_free (last_step);
			last_step = g_strdup (st != NULL ? st->step : NULL);
		}
		first = FALSE;
		if (st != NULL) {
			line = status_follow_line (global, dom, st, tag_changed);
			if (g_strcmp0 (line, last) != 0) {
				printf ("%s\n", line);
				fflush (stdout);
				g_free (last);
				last = g_steal_pointer (&line);
				printed_at = now;
			}
			if (kept && ac_cli_status_tag_changed (st, model) && !global->json
			    && !global->quiet && printed_at == now)
				printf ("note: the tag changed after the instance was published; "
				        "virt-alephd "
				        "leaves the running instance as it is ('virt-aleph erase "
				        "%s', then the new "
				        "tag is deployed)\n",
				        virDomainGetName (dom));
			/* a failure of an earlier tag is not the domain's: wait for the new run */
			if (!tag_changed
			    && status_is_final (st, tag != NULL && tag->publish != NULL))
				return g_strcmp0 (st->state, "failed") == 0
				               || g_strcmp0 (st->state, "invalid") == 0
				           ? status_follow_failed (global, dom, st)
				           : AC_EXIT_OK;
		}

		/* virt-alephd writes a status at once for a new tag, and refreshes one of work in
		 * progress every AC_STATUS_HEARTBEAT_S: silence for wait_s means it is not there.
		 * The time recorded counts too, beyond what clocks of two machines may differ by.
		 */
		/* an interrupted run is resumed as soon as virt-alephd runs again */
		waiting_for_service = st == NULL || tag_changed
		                      || ac_status_is_work_in_progress (st)
		                      || g_strcmp0 (st->state, "interrupted") == 0;
		age = st != NULL ? ac_status_age_s (st->updated, now_utc) : -1;
		silent = (now - changed_at) / G_USEC_PER_SEC >= wait_s
		         || (st != NULL && !tag_changed && age > (gint64)wait_s + 120);
		if (waiting_for_service && silent)
			return status_service_silent (global, dom, st, tag_changed,
			                              (guint)((now - changed_at) / G_USEC_PER_SEC));

		if ((now - printed_at) / G_USEC_PER_SEC >= heartbeat_s) {
			/* the step's own start when the service recorded it, else when we saw it */
			gint64 elapsed = st != NULL ? ac_status_age_s (st->since, now_utc) : -1;
			if (elapsed < 0)
				elapsed = (now - step_seen_at) / G_USEC_PER_SEC;
			status_follow_heartbeat (global, dom, tag_changed ? NULL : st, elapsed);
			printed_at = now;
		}
		g_usleep (250 * 1000);
	}
}

/* What `virt-aleph status` shows of a domain, borrowed from the command's locals. */
typedef struct {
	const gchar *host; /* nullable: one host, not named */
	const gchar *name;
	gboolean tagged;
	const AcTag *tag;        /* nullable: untagged or invalid */
	const GError *tag_error; /* nullable: why the tag is invalid */
	const AcStatus *st;      /* nullable: no status yet */
	gboolean tag_changed;    /* the status was written for another tag */
	gboolean stale;          /* … and is not the domain's current state any more */
	const gchar *ssh;        /* nullable */
} StatusView;

static void
status_print_json (const StatusView *v)
{
	const AcTag *tag = v->tag;
	const AcStatus *st = v->st;
	g_autoptr (JsonBuilder) b = json_builder_new ();
	json_builder_begin_object (b);
	if (v->host != NULL)
		ac_json_builder_add_string_opt (b, "host", v->host);
	ac_json_builder_add_string_opt (b, "domain", v->name);
	ac_json_builder_add_boolean (b, "tagged", v->tagged);
	if (v->tag_error != NULL)
		ac_json_builder_add_string_opt (b, "tagError", v->tag_error->message);
	if (tag != NULL) {
		g_autofree gchar *policy
		    = tag->tee == AC_TEE_SNP
		          ? g_strdup_printf ("0x%" G_GINT64_MODIFIER "x", tag->snp_policy)
		          : g_strdup_printf ("0x%x", tag->policy);
		ac_json_builder_add_string_opt (b, "tee", ac_tag_get_tee_name (tag));
		ac_json_builder_add_string_opt (b, "policy", policy);
		ac_json_builder_add_string_opt (b, "runtime", tag->snp_runtime);
		ac_json_builder_add_string_opt (b, "localMode",
		                                ac_local_mode_to_string (tag->local_mode));
		ac_json_builder_add_boolean (b, "publish", tag->publish != NULL);
	}
	if (st != NULL) {
		json_builder_set_member_name (b, "status");
		json_builder_begin_object (b);
		ac_json_builder_add_string_opt (b, "state", st->state);
		ac_json_builder_add_string_opt (b, "step", st->step);
		ac_json_builder_add_int (b, "progress", st->progress);
		ac_json_builder_add_string_opt (b, "updated", st->updated);
		ac_json_builder_add_string_opt (b, "since", st->since);
		if (st->total > 0) {
			ac_json_builder_add_int (b, "done", (gint64)st->done);
			ac_json_builder_add_int (b, "total", (gint64)st->total);
		}
		ac_json_builder_add_boolean (b, "tagChanged", v->tag_changed);
		ac_json_builder_add_string_opt (b, "imagePath", st->image_path);
		ac_json_builder_add_string_opt (b, "imageSha256", st->image_sha256);
		ac_json_builder_add_string_opt (b, "imageCid", st->image_cid);
		ac_json_builder_add_string_opt (b, "luksUuid", st->image_luks_uuid);
		ac_json_builder_add_string_opt (b, "store", st->store_hash);
		ac_json_builder_add_string_opt (b, "instance", st->instance_hash);
		ac_json_builder_add_string_opt (b, "crn", st->crn);
		ac_json_builder_add_string_opt (b, "crnUrl", st->crn_url);
		ac_json_builder_add_string_opt (b, "ipv6", st->ipv6);
		ac_json_builder_add_string_opt (b, "ssh", v->ssh);
		ac_json_builder_add_string_opt (b, "attestationTime", st->attest_time);
		ac_json_builder_add_string_opt (b, "attestationVerdict", st->attest_verdict);
		ac_json_builder_add_string_opt (b, "measurement", st->attest_measurement);
		ac_json_builder_add_string_opt (b, "generation", st->attest_generation);
		ac_json_builder_add_string_opt (b, "tee", st->attest_tee);
		ac_json_builder_add_string_opt (b, "errorCode", st->error_code);
		ac_json_builder_add_string_opt (b, "errorStep", st->error_step);
		ac_json_builder_add_string_opt (b, "error", st->error_message);
		json_builder_end_object (b);
	}
	json_builder_end_object (b);
	ac_cli_print_json_builder_pretty (b);
}

static void
status_print_text (AcCliGlobal *global, const StatusView *v)
{
	const AcTag *tag = v->tag;
	const AcStatus *st = v->st;
	if (v->host != NULL)
		printf ("Host:        %s (%s)\n", v->host, ac_cli_get_uri (global));
	printf ("Domain:      %s\n", v->name);
	if (!v->tagged) {
		printf ("Tag:         none (not a confidential domain; see 'virt-aleph tag')\n");
	} else if (tag == NULL) {
		printf ("Tag:         INVALID: %s\n", v->tag_error->message);
	} else {
		g_autofree gchar *names = tag->tee == AC_TEE_SNP
		                              ? ac_snp_policy_to_names (tag->snp_policy)
		                              : ac_sev_policy_to_names (tag->policy);
		g_autofree gchar *policy
		    = tag->tee == AC_TEE_SNP
		          ? g_strdup_printf ("0x%" G_GINT64_MODIFIER "x", tag->snp_policy)
		          : g_strdup_printf ("0x%x", tag->policy);
		printf ("Tag:         %s policy %s (%s), local mode %s, %s\n",
		        ac_tag_get_tee_name (tag), policy, names,
		        ac_local_mode_to_string (tag->local_mode),
		        tag->publish != NULL ? "published to Aleph" : "not published");
	}
	if (st == NULL) {
		printf ("Status:      none yet (is virt-alephd running for %s?)\n",
		        ac_cli_get_uri (global));
	} else {
		if (v->stale)
			printf ("State:       tag changed since; waiting for virt-alephd (the "
			        "status below is the earlier tag's)\n");
		printf ("%s %s (step %s, %u%%)\n",
		        v->stale ? "Was:        " : "State:      ", st->state,
		        st->step != NULL ? st->step : "-", st->progress);
		if (st->total > 0) {
			g_autofree gchar *done = ac_cli_format_bytes (st->done);
			g_autofree gchar *total = ac_cli_format_bytes (st->total);
			printf ("Progress:    %s of %s\n", done, total);
		}
		if (st->since != NULL)
			printf ("Since:       %s\n", st->since);
		if (st->updated != NULL)
			printf ("Updated:     %s\n", st->updated);
		if (st->image_path != NULL)
			printf ("Image:       %s\n", st->image_path);
		if (st->image_sha256 != NULL)
			printf ("Image hash:  sha256 %s%s%s\n", st->image_sha256,
			        st->image_cid != NULL ? ", CID " : "",
			        st->image_cid != NULL ? st->image_cid : "");
		if (st->store_hash != NULL)
			printf ("STORE:       %s\n", st->store_hash);
		if (st->instance_hash != NULL)
			printf ("INSTANCE:    %s\n", st->instance_hash);
		if (st->crn != NULL)
			printf ("CRN:         %s%s%s%s\n",
			        st->crn_url != NULL ? st->crn_url : st->crn,
			        st->crn_url != NULL ? " (node " : "",
			        st->crn_url != NULL ? st->crn : "", st->crn_url != NULL ? ")" : "");
		if (st->ipv6 != NULL)
			printf ("IPv6:        %s\n", st->ipv6);
		if (v->ssh != NULL)
			printf ("SSH:         %s\n", v->ssh);
		if (st->attest_time != NULL)
			printf ("Attested:    %s: %s (%s%smeasurement %s, %s)\n", st->attest_time,
			        st->attest_verdict != NULL ? st->attest_verdict : "?",
			        st->attest_tee != NULL ? st->attest_tee : "",
			        st->attest_tee != NULL ? " " : "",
			        st->attest_measurement != NULL ? st->attest_measurement : "?",
			        st->attest_generation != NULL ? st->attest_generation : "?");
		if (st->error_message != NULL)
			printf ("Error:       [%s at %s] %s\n", st->error_code, st->error_step,
			        st->error_message);
		if (v->tag_changed && !v->stale)
			printf ("Note:        the tag changed after the instance was published; "
			        "virt-alephd leaves the running instance as it is ('virt-aleph "
			        "erase %s', then the new tag is deployed)\n",
			        v->name);
	}
}

static int
status_run (AcCliGlobal *global, int argc, char **argv)
{
	gboolean follow = FALSE;
	g_autofree gchar *heartbeat_text = NULL;
	g_autofree gchar *wait_text = NULL;
	guint heartbeat_s = 15, wait_s = 30;
	g_autofree gchar *config_path = NULL;
	g_autoptr (GPtrArray) hosts = NULL;
	const gchar *host = NULL;
	const GOptionEntry entries[] = {
		{ "config", 0, 0, G_OPTION_ARG_FILENAME, &config_path,
		  "look for DOMAIN on every host of this virt-alephd configuration and name its "
		  "host",
		  "FILE" },
		{ "follow", 'f', 0, G_OPTION_ARG_NONE, &follow,
		  "print every change until a final state (running, failed, invalid …)", NULL },
		{ "heartbeat", 0, 0, G_OPTION_ARG_STRING, &heartbeat_text,
		  "--follow: print 'still at step …' when nothing changed for SECONDS (default 15)",
		  "SECONDS" },
		{ "wait", 0, 0, G_OPTION_ARG_STRING, &wait_text,
		  "--follow: fail when for SECONDS nothing shows virt-alephd at work on the domain "
		  "(default 30)",
		  "SECONDS" },
		{ NULL },
	};
	g_autoptr (GOptionContext) ctx = ac_cli_option_context_new (
	    global, "DOMAIN", "Show the tag of DOMAIN and the status virt-alephd recorded for it.");
	g_autoptr (GError) error = NULL;
	g_autoptr (GError) parse_error = NULL;
	const GError *tag_error = NULL;
	g_autoptr (virConnect) conn = NULL;
	g_autoptr (virDomain) dom = NULL;
	g_autofree gchar *xml = NULL;
	g_autoptr (AcDomain) model = NULL;
	const AcTag *tag = NULL;
	g_autoptr (AcStatus) st = NULL;
	g_autofree gchar *ssh = NULL;
	gboolean tagged, tag_changed, stale;

	g_option_context_add_main_entries (ctx, entries, NULL);
	if (!ac_cli_parse (ctx, &argc, &argv, &error))
		return ac_cli_fail (global, g_steal_pointer (&error));
	if ((heartbeat_text != NULL
	     && !ac_cli_parse_timeout ("--heartbeat", heartbeat_text, &heartbeat_s, &error))
	    || (wait_text != NULL && !ac_cli_parse_timeout ("--wait", wait_text, &wait_s, &error)))
		return ac_cli_fail (global, g_steal_pointer (&error));
	if (argc != 2)
		return ac_cli_fail (global,
		                    g_error_new (AC_ERROR, AC_ERROR_INVALID_INPUT,
		                                 "status: expected one DOMAIN, got %d arguments",
		                                 argc - 1));
	/* a fleet: the host that holds DOMAIN, named */
	if (config_path != NULL) {
		const AcHost *h;
		ac_virt_init ();
		hosts = ac_cli_config_hosts (global, config_path, NULL, &error);
		h = hosts != NULL ? ac_cli_find_domain_host (global, hosts, argv[1], &error) : NULL;
		if (h == NULL)
			return ac_cli_fail (global, g_steal_pointer (&error));
		g_free (global->connect_uri);
		global->connect_uri = g_strdup (h->uri);
		host = hosts->len > 1 ? h->name : NULL;
	}
	dom = cli_tag_open_domain (global, argv[1], &conn, &error);
	if (dom == NULL)
		return ac_cli_fail (global, g_steal_pointer (&error));
	if (follow)
		return status_follow (global, dom, heartbeat_s, wait_s);
	xml = ac_virt_get_xml (dom, &error);
	if (xml == NULL)
		return ac_cli_fail (global, g_steal_pointer (&error));
	tagged = ac_tag_xml_has_tag (xml, strlen (xml));
	model = ac_domain_parse (xml, -1, &parse_error);
	if (tagged) {
		tag = model != NULL ? model->tag : NULL;
		tag_error = model != NULL ? model->tag_error : parse_error;
	}
	st = ac_status_parse (xml, -1, NULL);
	tag_changed = ac_cli_status_tag_changed (st, model);
	stale = tag_changed && !ac_cli_status_instance_kept (st);
	ssh = stale ? NULL : ac_cli_ssh_hint (st);

	{
		StatusView v = {
			.host = host,
			.name = virDomainGetName (dom),
			.tagged = tagged,
			.tag = tag,
			.tag_error = tag_error,
			.st = st,
			.tag_changed = tag_changed,
			.stale = stale,
			.ssh = ssh,
		};
		if (global->json)
			status_print_json (&v);
		else
			status_print_text (global, &v);
	}
	return AC_EXIT_OK;
}

int
ac_cli_cmd_status (AcCliGlobal *global, int argc, char **argv)
{
	return ac_cli_hosts_done (status_run (global, argc, argv));
}
