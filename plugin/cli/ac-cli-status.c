/*
 * virt-aleph: a domain's status element as JSON, for status, list and the flows (in their
 * modules: the front links no libxml2).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <json-glib/json-glib.h>

#include "ac-cli.h"
#include "ac-json.h"
#include "ac-status.h"

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
	ac_json_builder_add_string_opt (b, "state", st->state);
	ac_json_builder_add_string (b, "step", st->step != NULL ? st->step : "");
	ac_json_builder_add_int (b, "progress", st->progress);
	if (st->total > 0) {
		ac_json_builder_add_int (b, "done", (gint64)st->done);
		ac_json_builder_add_int (b, "total", (gint64)st->total);
	}
	ac_json_builder_add_string_opt (b, "since", st->since);
	ac_json_builder_add_string_opt (b, "imageSha256", st->image_sha256);
	ac_json_builder_add_string_opt (b, "imageCid", st->image_cid);
	ac_json_builder_add_string_opt (b, "store", st->store_hash);
	ac_json_builder_add_string_opt (b, "instance", st->instance_hash);
	ac_json_builder_add_string_opt (b, "crn", st->crn);
	ac_json_builder_add_string_opt (b, "crnUrl", st->crn_url);
	ac_json_builder_add_string_opt (b, "ipv6", st->ipv6);
	ac_json_builder_add_string_opt (b, "measurement", st->attest_measurement);
	ac_json_builder_add_string_opt (b, "errorCode", st->error_code);
	ac_json_builder_add_string_opt (b, "errorStep", st->error_step);
	ac_json_builder_add_string_opt (b, "errorMessage", st->error_message);
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
	ac_json_builder_add_string (b, "event", "status");
	ac_json_builder_add_string_opt (b, "domain", domain);
	ac_cli_json_add_status (b, st);
	json_builder_end_object (b);
	root = json_builder_get_root (b);
	return json_to_string (root, FALSE);
}
