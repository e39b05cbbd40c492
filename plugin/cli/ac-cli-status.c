/*
 * virt-aleph: a domain's status element as JSON, for status, list and the flows (in their
 * modules: the front links no libxml2).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <json-glib/json-glib.h>

#include "ac-cli.h"
#include "ac-status.h"

static void
json_opt_string (JsonBuilder *b, const gchar *name, const gchar *value)
{
	if (value == NULL)
		return;
	json_builder_set_member_name (b, name);
	json_builder_add_string_value (b, value);
}

/**
 * ac_cli_json_add_status:
 *
 * The members of a status element that scripts use, in an object being built; the names
 * of `virt-aleph status --json` (errorMessage for its error, so that an event is never
 * mistaken for an error object).
 */
void
ac_cli_json_add_status (JsonBuilder *b, const AcStatus *st)
{
	json_opt_string (b, "state", st->state);
	json_builder_set_member_name (b, "step");
	json_builder_add_string_value (b, st->step != NULL ? st->step : "");
	json_builder_set_member_name (b, "progress");
	json_builder_add_int_value (b, st->progress);
	if (st->total > 0) {
		json_builder_set_member_name (b, "done");
		json_builder_add_int_value (b, (gint64)st->done);
		json_builder_set_member_name (b, "total");
		json_builder_add_int_value (b, (gint64)st->total);
	}
	json_opt_string (b, "since", st->since);
	json_opt_string (b, "imageSha256", st->image_sha256);
	json_opt_string (b, "imageCid", st->image_cid);
	json_opt_string (b, "store", st->store_hash);
	json_opt_string (b, "instance", st->instance_hash);
	json_opt_string (b, "crn", st->crn);
	json_opt_string (b, "crnUrl", st->crn_url);
	json_opt_string (b, "ipv6", st->ipv6);
	json_opt_string (b, "measurement", st->attest_measurement);
	json_opt_string (b, "errorCode", st->error_code);
	json_opt_string (b, "errorStep", st->error_step);
	json_opt_string (b, "errorMessage", st->error_message);
}

/**
 * ac_cli_status_event_to_string:
 *
 * One NDJSON line (without the newline) for a status change:
 * {"event":"status","domain":…,"state":…,"step":…,"progress":…,…}.
 */
gchar *
ac_cli_status_event_to_string (const gchar *domain, const AcStatus *st)
{
	g_autoptr (JsonBuilder) b = json_builder_new ();
	g_autoptr (JsonNode) root = NULL;
	json_builder_begin_object (b);
	json_builder_set_member_name (b, "event");
	json_builder_add_string_value (b, "status");
	json_opt_string (b, "domain", domain);
	ac_cli_json_add_status (b, st);
	json_builder_end_object (b);
	root = json_builder_get_root (b);
	return json_to_string (root, FALSE);
}
