/*
 * aleph-confidential: helpers of the devnet tests — spawn aleph-devnet from a configuration,
 * read its ready line, talk to its admin endpoint, build a GPT + LUKS1 test image.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include "ac-aleph-client.h"

typedef struct {
	gchar *dir;
	GPid pid;
	gint stdout_fd;
	gint64 startup_us;
	JsonNode *ready;
	const gchar *ccn;
	const gchar *admin;
	const gchar *crn_list;
	const gchar *ark;
	const gchar *ask;
	const gchar *fw_item_hash;
	const gchar *fw_sha256;
	guint n_crns;
	const gchar *crn_url[8];
	const gchar *crn_hash[8];
	AcHttpClient *http;
} TestDevnet;

/* @config_members: extra JSON members of the configuration ("" for none) */
TestDevnet *
test_devnet_start (const gchar *config_members, guint n_crns, GError **error);
/* the same in an existing directory (a restart on the same state) */
TestDevnet *
test_devnet_start_in (const gchar *dir, const gchar *config_members, guint n_crns, GError **error);
/* SIGTERM, then waits; returns the exit status (-1 when it did not exit in 5 s) */
gint
test_devnet_stop (TestDevnet *d);
void
test_devnet_free (TestDevnet *d);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TestDevnet, test_devnet_free)

JsonNode *
test_devnet_admin (TestDevnet *d,
                   const gchar *method,
                   const gchar *path,
                   const gchar *body,
                   guint *status);
gint64
test_devnet_vm_counter (TestDevnet *d, const gchar *vm_hash, const gchar *field);
gint64
test_devnet_stat (TestDevnet *d, const gchar *endpoint, const gchar *field);
/* @method @url, whatever its status: the body, the status in *@status */
GBytes *
test_devnet_http (TestDevnet *d, const gchar *method, const gchar *url, guint *status);

/* a raw disk image: GPT (sfdisk), ESP p1, LUKS1 (cryptsetup, 1000 PBKDF2 iterations) on p2 */
gchar *
test_make_image (const gchar *dir, const gchar *name, const gchar *passphrase, guint size_mib);

/* @msg signed by @account, posted to @ccn and processed within @timeout_ms */
gboolean
test_devnet_publish (AcCcnClient *ccn,
                     AcEthAccount *account,
                     AcAlephMessage *msg,
                     guint timeout_ms,
                     GError **error);
const gchar *
test_shared_dir (void);
