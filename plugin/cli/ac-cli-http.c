/*
 * virt-aleph: the HTTP client of the commands that use the network (in their modules: the
 * front links no HTTP library).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "ac-cli.h"
#include "ac-http.h"

/**
 * ac_cli_http_client_new:
 *
 * The HTTP client of a command: the client's defaults, with --timeout as the bound of one
 * whole call (every attempt and retry together).
 */
AcHttpClient *
ac_cli_http_client_new (AcCliGlobal *global)
{
	AcHttpClient *h = ac_http_client_new ();
	if (global->timeout_s > 0) {
		guint ms = global->timeout_s * 1000;
		ac_http_client_set_call_timeout (h, ms);
		/* one attempt may then take the whole bound, when it is longer than the default */
		ac_http_client_set_timeouts (h, 10000, MAX (ms, 120000u));
	}
	return h;
}
