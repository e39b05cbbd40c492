/*
 * virt-aleph account | message, and ipfs add | upload (called by cli-ipfs.c) — the Aleph client
 * from the command line. Built into the module "aleph" (libcurl, libsecp256k1).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>


#include "ac-aleph-client.h"
#include "ac-aleph-message.h"
#include "ac-aleph-schema.h"
#include "ac-aleph-util.h"
#include "ac-car.h"
#include "ac-cli.h"
#include "ac-cli-progress.h"
#include "ac-codec.h"
#include "ac-eth-account.h"
#include "ac-file.h"
#include "ac-secret.h"
#include "ac-time.h"
#include "ac-unixfs.h"

/* --key-file of account and message */
/* clang-format off */
#define KEY_FILE_ENTRY(key_file)                                                                   \
	{ "key-file", 'k', 0, G_OPTION_ARG_FILENAME, (key_file),                                   \
	  "key file (default $ALEPH_PRIVATE_KEY_FILE, else ~/.aleph-im/private-keys/default.key "  \
	  "if it exists, else ~/.aleph-im/private-keys/ethereum.key)", "PATH" }
/* clang-format on */

static gchar *
key_path (const gchar *opt)
{
	return opt != NULL ? g_strdup (opt) : ac_eth_default_key_path ();
}

static AcProgress *
cli_progress (AcCliGlobal *global, const gchar *id)
{
	AcProgress *p = ac_progress_new (id);
	ac_cli_progress_attach (p, ac_cli_progress_output_pick (global->json, global->quiet, stderr),
				stderr);
	return p;
}

/* --debug: every input of a signature, on stderr */
static void
debug_message (AcCliGlobal *global, const AcAlephMessage *msg)
{
	g_autofree gchar *buf = NULL;
	g_autofree gchar *digest_hex = NULL;
	guint8 digest[32];

	if (!global->debug)
		return;
	buf = ac_aleph_message_get_verification_buffer (msg);
	ac_eth_personal_digest ((const guint8 *)buf, strlen (buf), digest);
	digest_hex = ac_codec_hex_encode (digest, sizeof (digest));
	fprintf (stderr, "debug: item_type %s, item_content %" G_GSIZE_FORMAT " bytes\n",
		 msg->item_type, msg->item_content != NULL ? strlen (msg->item_content) : 0);
	fprintf (stderr, "debug: item_hash %s\n", msg->item_hash);
	{
		g_autofree gchar *esc = g_strescape (buf, NULL);
		fprintf (stderr, "debug: verification buffer \"%s\"\n", esc);
	}
	fprintf (stderr, "debug: EIP-191 digest %s\n", digest_hex);
	if (msg->signature != NULL)
		fprintf (stderr, "debug: signature %s\n", msg->signature);
}

/* ---- account ---- */

static int
account_print (AcCliGlobal *global, AcEthAccount *account, const gchar *path, gboolean created)
{
	if (global->json) {
		g_autoptr(JsonObject) o = json_object_new ();
		g_autoptr(JsonNode) n = NULL;
		json_object_set_string_member (o, "address", ac_eth_account_get_address (account));
		json_object_set_string_member (o, "chain", "ETH");
		json_object_set_string_member (o, "key_file", path);
		json_object_set_boolean_member (o, "created", created);
		n = json_node_init_object (json_node_alloc (), o);
		ac_cli_print_json_pretty (n);
	} else {
		printf ("%s\n", ac_eth_account_get_address (account));
		if (created && !global->quiet)
			fprintf (stderr, "virt-aleph: key written to %s (mode 0600)\n", path);
	}
	return AC_EXIT_OK;
}

/* the key to import: 32 raw bytes (aleph-client's file) or 64 hex digits, from a file or stdin */
static AcEthAccount *
read_import_key (const gchar *source, GError **error)
{
	g_autofree gchar *data = NULL;
	gsize len = 0;
	AcEthAccount *account = NULL;

	/* a file or - for stdin: a key is 32 bytes or 64 hex digits, 4 KiB is plenty */
	if (!ac_file_read_bounded (source, 4096, &data, &len, error))
		return NULL;
	if (len == AC_ETH_PRIVATE_KEY_LEN) {
		account = ac_eth_account_new_from_private_key ((const guint8 *)data, len, error);
	} else {
		guint8 key[AC_ETH_PRIVATE_KEY_LEN];
		g_autofree gchar *text = g_strndup (data, len);
		g_strstrip (text);
		if (ac_codec_hex_decode_fixed ("imported key", text, AC_CODEC_HEX_ALLOW_0X, key, sizeof (key), NULL)) {
			account = ac_eth_account_new_from_private_key (key, sizeof (key), error);
		} else {
			g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
				     "%s holds %" G_GSIZE_FORMAT " bytes: expected 32 raw bytes "
				     "(aleph-client's ethereum.key) or 64 hex digits",
				     source, len);
		}
		ac_secret_wipe (key, sizeof (key));
		ac_secret_wipe (text, strlen (text));
	}
	ac_secret_wipe (data, len);
	return account;
}

int
ac_cli_cmd_account (AcCliGlobal *global, int argc, char **argv)
{
	g_autofree gchar *key_file = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(AcEthAccount) account = NULL;
	g_autofree gchar *path = NULL;
	g_autoptr(GOptionContext) ctx = ac_cli_option_context_new (global, "show|create|import [SOURCE]",
		"Manage the Ethereum account that signs Aleph messages. The key file is aleph-client's\n"
		"(32 raw bytes) or the newer SDK's Ethereum V3 JSON keystore, whose password is asked on\n"
		"the terminal or read from --password-file. Default: $ALEPH_PRIVATE_KEY_FILE, else\n"
		"~/.aleph-im/private-keys/default.key if it exists, else .../ethereum.key.\n"
		"  show            print the address of the key\n"
		"  create          write a new random key (mode 0600; never overwrites)\n"
		"  import SOURCE   copy a key from SOURCE (a file or - for stdin; 32 raw bytes or hex)");
	const GOptionEntry entries[] = {
		KEY_FILE_ENTRY (&key_file),
		{ NULL },
	};
	g_option_context_add_main_entries (ctx, entries, NULL);
	if (!ac_cli_parse (ctx, &argc, &argv, &error))
		return ac_cli_fail (global, g_steal_pointer (&error));
	if (argc < 2)
		return ac_cli_usage_error (global, ctx, "account: expected show, create or import");
	path = key_path (key_file);
	if (g_strcmp0 (argv[1], "show") == 0 && argc == 2) {
		account = ac_eth_account_load_key_file_full (path, global->password_file, &error);
		if (account == NULL)
			return ac_cli_fail (global, g_steal_pointer (&error));
		return account_print (global, account, path, FALSE);
	}
	if (g_strcmp0 (argv[1], "create") == 0 && argc == 2) {
		if (g_file_test (path, G_FILE_TEST_EXISTS))
			return ac_cli_fail (global, g_error_new (AC_ERROR, AC_ERROR_EXISTS,
				"key file %s exists: refusing to overwrite it", path));
		account = ac_eth_account_generate (&error);
		if (account == NULL || !ac_eth_account_save_key_file (account, path, &error))
			return ac_cli_fail (global, g_steal_pointer (&error));
		return account_print (global, account, path, TRUE);
	}
	if (g_strcmp0 (argv[1], "import") == 0 && argc == 3) {
		account = read_import_key (argv[2], &error);
		if (account == NULL || !ac_eth_account_save_key_file (account, path, &error))
			return ac_cli_fail (global, g_steal_pointer (&error));
		return account_print (global, account, path, TRUE);
	}
	return ac_cli_usage_error (global, ctx, "account: expected show, create or import SOURCE");
}

/* ---- message ---- */

static JsonNode *
load_json_file (const gchar *path, GError **error)
{
	g_autofree gchar *data = NULL;
	gsize len = 0;
	JsonNode *node;

	/* a regular file or - for stdin, bounded while read */
	if (!ac_file_read_bounded (path, AC_FILE_MAX_DEFAULT, &data, &len, error))
		return NULL;
	node = ac_json_parse_untrusted (path, data, len, error);
	if (node == NULL && error != NULL && *error != NULL)
		(*error)->code = AC_ERROR_INVALID_INPUT;
	return node;
}

static int
print_message (AcCliGlobal *global, const AcAlephMessage *msg, const gchar *out_path,
	       gboolean force)
{
	g_autofree gchar *text = ac_aleph_message_to_string (msg);
	g_autoptr(GError) error = NULL;

	if (out_path != NULL && g_strcmp0 (out_path, "-") != 0 &&
	    g_strcmp0 (out_path, "/dev/stdout") != 0) {
		if (!ac_file_replace_contents (out_path, text, strlen (text), force, 0644, &error))
			return ac_cli_fail (global, g_steal_pointer (&error));
		if (!global->quiet && !global->json)
			fprintf (stderr, "virt-aleph: %s message %s written to %s\n", msg->type,
				 msg->item_hash, out_path);
		if (global->json) {
			g_autoptr (JsonObject) o = json_object_new ();
			g_autoptr (JsonNode) n = NULL;
			g_autofree gchar *file = g_filename_display_name (out_path);
			json_object_set_string_member (o, "item_hash", msg->item_hash);
			json_object_set_string_member (o, "file", file);
			n = json_node_init_object (json_node_alloc (), o);
			ac_cli_print_json (n);
		}
		return AC_EXIT_OK;
	}
	printf ("%s\n", text);
	return AC_EXIT_OK;
}

/* the latest --time accepted: 9999-12-31T23:59:59Z */
#define MESSAGE_TIME_MAX 253402300799.0

/* --time: UNIX seconds, finite, after 1970 and before year 10000; NULL = now */
static gboolean
parse_message_time (const gchar *text, gdouble *time, GError **error)
{
	gchar *end = NULL;
	gdouble t;

	if (text == NULL) {
		*time = ac_time_now_unix ();
		return TRUE;
	}
	t = g_ascii_strtod (text, &end);
	if (text[0] == '\0' || end == NULL || *end != '\0' || g_ascii_isspace (text[0]) ||
	    !isfinite (t) || t <= 0 || t > MESSAGE_TIME_MAX) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			     "--time '%s': expected UNIX seconds, a number greater than 0 and at most "
			     "%.0f (the end of year 9999)", text, MESSAGE_TIME_MAX);
		return FALSE;
	}
	*time = t;
	return TRUE;
}

/* --sender: an Ethereum address, when given */
static gboolean
check_sender (const gchar *sender, GError **error)
{
	guint8 addr[AC_ETH_ADDRESS_LEN];
	if (sender != NULL && !ac_eth_address_parse (sender, addr, error)) {
		g_prefix_error (error, "--sender: ");
		return FALSE;
	}
	return TRUE;
}

static int
message_build (AcCliGlobal *global, int argc, char **argv, const gchar *key_file,
	       const gchar *channel, const gchar *time_text, const gchar *sender,
	       gboolean unsigned_, const gchar *out_path, gboolean force)
{
	gdouble time = 0;
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonNode) content = NULL;
	g_autoptr(AcEthAccount) account = NULL;
	g_autoptr(AcAlephMessage) msg = NULL;
	g_autofree gchar *type = NULL;
	g_autofree gchar *path = key_path (key_file);

	if (!parse_message_time (time_text, &time, &error) || !check_sender (sender, &error))
		return ac_cli_fail (global, g_steal_pointer (&error));
	type = g_ascii_strup (argv[2], -1);
	content = load_json_file (argv[3], &error);
	if (content == NULL)
		return ac_cli_fail (global, g_steal_pointer (&error));
	if (!unsigned_ || sender == NULL) {
		account = ac_eth_account_load_key_file_full (path, global->password_file, &error);
		if (account == NULL)
			return ac_cli_fail (global, g_steal_pointer (&error));
		if (sender != NULL && !ac_eth_address_equal (sender, ac_eth_account_get_address (account)))
			return ac_cli_fail (global, g_error_new (AC_ERROR, AC_ERROR_INVALID_INPUT,
				"--sender %s is not the address %s of the key file %s: give --unsigned "
				"to build for another sender", sender, ac_eth_account_get_address (account),
				path));
		sender = ac_eth_account_get_address (account);
	}
	msg = ac_aleph_message_build (type, content, sender, channel, time, &error);
	if (msg == NULL)
		return ac_cli_fail (global, g_steal_pointer (&error));
	if (!unsigned_ && !ac_aleph_message_sign (msg, account, &error))
		return ac_cli_fail (global, g_steal_pointer (&error));
	debug_message (global, msg);
	return print_message (global, msg, out_path, force);
}

static int
message_sign (AcCliGlobal *global, const gchar *file, const gchar *key_file, const gchar *out_path,
	      gboolean force)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonNode) node = load_json_file (file, &error);
	g_autoptr(AcAlephMessage) msg = NULL;
	g_autoptr(AcEthAccount) account = NULL;
	g_autofree gchar *path = key_path (key_file);

	if (node == NULL)
		return ac_cli_fail (global, g_steal_pointer (&error));
	msg = ac_aleph_message_from_json (node, &error);
	if (msg == NULL)
		return ac_cli_fail (global, g_steal_pointer (&error));
	if (g_strcmp0 (msg->item_type, "inline") == 0) {
		g_autofree gchar *h = ac_aleph_sha256_hex ((const guint8 *)msg->item_content,
							   strlen (msg->item_content));
		if (g_strcmp0 (h, msg->item_hash) != 0)
			return ac_cli_fail (global, g_error_new (AC_ERROR, AC_ERROR_MISMATCH,
				"%s: item_hash %s differs from sha256(item_content) %s", file,
				msg->item_hash, h));
	}
	account = ac_eth_account_load_key_file_full (path, global->password_file, &error);
	if (account == NULL || !ac_aleph_message_sign (msg, account, &error))
		return ac_cli_fail (global, g_steal_pointer (&error));
	return print_message (global, msg, out_path, force);
}

static int
message_verify (AcCliGlobal *global, const gchar *file)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonNode) node = load_json_file (file, &error);
	g_autoptr(AcAlephMessage) msg = NULL;
	g_autofree gchar *signer = NULL;
	g_autoptr(JsonNode) content = NULL;
	const gchar *content_address = NULL;

	if (node == NULL)
		return ac_cli_fail (global, g_steal_pointer (&error));
	msg = ac_aleph_message_from_json (node, &error);
	if (msg == NULL)
		return ac_cli_fail (global, g_steal_pointer (&error));
	debug_message (global, msg);
	if (g_strcmp0 (msg->chain, "ETH") != 0)
		return ac_cli_fail (global, g_error_new (AC_ERROR, AC_ERROR_UNSUPPORTED,
			"%s: chain %s is not supported, only EVM signatures (ETH)", file, msg->chain));
	if (!ac_aleph_message_verify (msg, &signer, &error)) {
		g_prefix_error (&error, "%s: ", file);
		return ac_cli_fail (global, g_steal_pointer (&error));
	}
	if (msg->item_content != NULL) {
		content = ac_aleph_message_get_content (msg, NULL);
		if (content != NULL && JSON_NODE_HOLDS_OBJECT (content) &&
		    json_object_has_member (json_node_get_object (content), "address"))
			content_address = json_object_get_string_member_with_default (
			    json_node_get_object (content), "address", NULL);
	}
	if (global->json) {
		g_autoptr(JsonObject) o = json_object_new ();
		g_autoptr(JsonNode) n = NULL;
		json_object_set_boolean_member (o, "valid", TRUE);
		json_object_set_string_member (o, "signer", signer);
		json_object_set_string_member (o, "type", msg->type);
		json_object_set_string_member (o, "item_hash", msg->item_hash);
		json_object_set_string_member (o, "item_type", msg->item_type);
		if (content_address != NULL)
			json_object_set_boolean_member (o, "sender_is_owner",
							ac_eth_address_equal (content_address, signer));
		n = json_node_init_object (json_node_alloc (), o);
		ac_cli_print_json_pretty (n);
	} else {
		printf ("valid: %s %s signed by %s\n", msg->type, msg->item_hash, signer);
		if (content_address != NULL && !ac_eth_address_equal (content_address, signer))
			printf ("note: content.address %s is not the signer (a delegation the CCN "
				"checks against the owner's security aggregate)\n",
				content_address);
	}
	return AC_EXIT_OK;
}


static AcHttpClient *
cli_http (AcCliGlobal *global)
{
	return ac_cli_http_client_new (global);
}

static int
message_send (AcCliGlobal *global, const gchar *file, const gchar *api, gboolean no_wait)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonNode) node = load_json_file (file, &error);
	g_autoptr(AcAlephMessage) msg = NULL;
	g_autoptr(AcHttpClient) http = cli_http (global);
	g_autoptr(AcCcnClient) ccn = NULL;
	g_autoptr(AcMessageInfo) info = NULL;
	g_autoptr(AcProgress) progress = NULL;
	/* --timeout: also the wait for processing */
	guint wait_s = global->timeout_s > 0 ? global->timeout_s : 600;
	AcPostResult res = { 0 };
	AcMessageStatus status;

	if (node == NULL)
		return ac_cli_fail (global, g_steal_pointer (&error));
	msg = ac_aleph_message_from_json (node, &error);
	/* never send what we would not accept ourselves */
	if (msg == NULL || !ac_aleph_message_verify (msg, NULL, &error))
		return ac_cli_fail (global, g_steal_pointer (&error));
	/* our schema limits before the network sees it (the bytes sent stay as signed) */
	if (ac_aleph_content_type_is_supported (msg->type) && msg->item_content != NULL) {
		g_autoptr(JsonNode) content = ac_aleph_message_get_content (msg, &error);
		g_autoptr(JsonNode) norm = NULL;
		if (content != NULL)
			norm = ac_aleph_content_normalize (msg->type, content, &error);
		if (norm == NULL) {
			if (error->code == AC_ERROR_REMOTE)
				error->code = AC_ERROR_INVALID_INPUT;
			g_prefix_error (&error, "%s: ", file);
			return ac_cli_fail (global, g_steal_pointer (&error));
		}
	}
	ccn = ac_ccn_client_new (api, http, &error);
	if (ccn == NULL || !ac_ccn_post_message (ccn, msg, TRUE, &res, &error))
		return ac_cli_fail (global, g_steal_pointer (&error));
	status = res.message_status;
	ac_post_result_clear (&res);
	if (status == AC_MESSAGE_STATUS_PENDING && !no_wait) {
		progress = cli_progress (global, "message-wait");
		info = ac_ccn_wait_processed (ccn, msg->item_hash, wait_s * 1000,
					      progress, &error);
		if (info == NULL)
			return ac_cli_fail (global, g_steal_pointer (&error));
		status = info->status;
	} else if (status == AC_MESSAGE_STATUS_REJECTED) {
		g_autoptr(AcMessageInfo) why = ac_ccn_get_message (ccn, msg->item_hash, NULL);
		g_autofree gchar *text = why != NULL ? ac_message_info_describe_rejection (why)
						     : g_strdup ("rejected");
		return ac_cli_fail (global, g_error_new (AC_ERROR, AC_ERROR_REMOTE,
			"message %s was %s", msg->item_hash, text));
	}
	if (global->json) {
		g_autoptr (JsonObject) o = json_object_new ();
		g_autoptr (JsonNode) n = NULL;
		json_object_set_string_member (o, "item_hash", msg->item_hash);
		json_object_set_string_member (o, "status", ac_message_status_to_string (status));
		n = json_node_init_object (json_node_alloc (), o);
		ac_cli_print_json (n);
	} else
		printf ("%s %s\n", msg->item_hash, ac_message_status_to_string (status));
	return AC_EXIT_OK;
}

static int
message_status (AcCliGlobal *global, const gchar *hash, const gchar *api)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(AcHttpClient) http = cli_http (global);
	g_autoptr(AcCcnClient) ccn = ac_ccn_client_new (api, http, &error);
	g_autoptr(AcMessageInfo) info = NULL;
	g_autofree gchar *why = NULL;

	if (ccn == NULL)
		return ac_cli_fail (global, g_steal_pointer (&error));
	info = ac_ccn_get_message (ccn, hash, &error);
	if (info == NULL)
		return ac_cli_fail (global, g_steal_pointer (&error));
	if (info->status == AC_MESSAGE_STATUS_REJECTED)
		why = ac_message_info_describe_rejection (info);
	if (global->json && why != NULL) {
		/* a rejection is a failure (exit 7): the error object, with the CCN's facts */
		g_autoptr (JsonObject) extra = json_object_new ();
		json_object_set_string_member (extra, "item_hash", hash);
		json_object_set_string_member (extra, "status",
		                               ac_message_status_to_string (info->status));
		if (info->has_error_code)
			json_object_set_int_member (extra, "error_code", info->error_code);
		return ac_cli_fail_with (
		    global, g_error_new (AC_ERROR, AC_ERROR_REMOTE, "message %s was %s", hash, why),
		    extra);
	}
	if (global->json) {
		g_autoptr(JsonObject) o = json_object_new ();
		g_autoptr(JsonNode) n = NULL;
		json_object_set_string_member (o, "item_hash", hash);
		json_object_set_string_member (o, "status", ac_message_status_to_string (info->status));
		if (info->has_error_code)
			json_object_set_int_member (o, "error_code", info->error_code);
		n = json_node_init_object (json_node_alloc (), o);
		ac_cli_print_json_pretty (n);
	} else {
		printf ("%s %s%s%s\n", hash, ac_message_status_to_string (info->status),
			why != NULL ? ": " : "", why != NULL ? why : "");
	}
	return info->status == AC_MESSAGE_STATUS_REJECTED ? AC_EXIT_REMOTE : AC_EXIT_OK;
}

int
ac_cli_cmd_message (AcCliGlobal *global, int argc, char **argv)
{
	g_autofree gchar *key_file = NULL, *channel = NULL, *sender = NULL, *out = NULL;
	g_autofree gchar *api = NULL;
	g_autofree gchar *time_text = NULL;
	gboolean unsigned_ = FALSE, no_wait = FALSE, force = FALSE;
	g_autoptr(GError) error = NULL;
	g_autoptr(GOptionContext) ctx = ac_cli_option_context_new (global,
		"build TYPE CONTENT.json | sign MESSAGE.json | verify MESSAGE.json | send MESSAGE.json | status HASH",
		"Build, sign and verify Aleph messages offline (files or - for stdin).\n"
		"  build TYPE CONTENT   INSTANCE, STORE or FORGET content → signed message; the content\n"
		"                       is checked against the schema limits and put in the SDK's\n"
		"                       field order (address and time are filled in when absent)\n"
		"  sign MESSAGE         (re)sign a message with the key file\n"
		"  verify MESSAGE       check item_hash and recover the signer (exit 5 on mismatch)\n"
		"  send MESSAGE         verify, POST to the CCN and wait until it is processed\n"
		"  status HASH          the CCN's status of a message (a rejection in words)");
	const GOptionEntry entries[] = {
		KEY_FILE_ENTRY (&key_file),
		{ "channel", 0, 0, G_OPTION_ARG_STRING, &channel, "channel (default ALEPH-CLOUDSOLUTIONS)", "NAME" },
		{ "time", 0, 0, G_OPTION_ARG_STRING, &time_text, "message time, UNIX seconds (default now)", "T" },
		{ "unsigned", 0, 0, G_OPTION_ARG_NONE, &unsigned_, "build without signing", NULL },
		{ "sender", 0, 0, G_OPTION_ARG_STRING, &sender, "sender address of an unsigned message", "ADDR" },
		{ "output", 'o', 0, G_OPTION_ARG_FILENAME, &out, "write the message to a file (- for stdout)", "PATH" },
		{ "force", 'f', 0, G_OPTION_ARG_NONE, &force, "replace an existing --output file", NULL },
		{ "api", 0, 0, G_OPTION_ARG_STRING, &api, "Aleph API (default " AC_ALEPH_DEFAULT_API ")", "URL" },
		{ "no-wait", 0, 0, G_OPTION_ARG_NONE, &no_wait, "send: do not wait for processing", NULL },
		{ NULL },
	};
	g_option_context_add_main_entries (ctx, entries, NULL);
	if (!ac_cli_parse (ctx, &argc, &argv, &error))
		return ac_cli_fail (global, g_steal_pointer (&error));
	/* a bad value is refused whatever the subcommand, as a bad option */
	{
		gdouble t = 0;
		if ((time_text != NULL && !parse_message_time (time_text, &t, &error)) ||
		    !check_sender (sender, &error))
			return ac_cli_fail (global, g_steal_pointer (&error));
	}
	if (argc == 3 && g_strcmp0 (argv[1], "send") == 0)
		return message_send (global, argv[2], api, no_wait);
	if (argc == 3 && g_strcmp0 (argv[1], "status") == 0)
		return message_status (global, argv[2], api);
	if (argc == 4 && g_strcmp0 (argv[1], "build") == 0)
		return message_build (global, argc, argv, key_file, channel, time_text, sender, unsigned_, out, force);
	if (argc == 3 && g_strcmp0 (argv[1], "sign") == 0)
		return message_sign (global, argv[2], key_file, out, force);
	if (argc == 3 && g_strcmp0 (argv[1], "verify") == 0)
		return message_verify (global, argv[2]);
	return ac_cli_usage_error (
	    global, ctx,
	    "message: expected build TYPE CONTENT, sign, verify or send MESSAGE, or status HASH");
}

/* ---- ipfs add, ipfs upload: the network half of the front's ipfs command (cli-ipfs.c) ---- */

/**
 * ac_cli_ipfs_add:
 *
 * `ipfs add FILE`: adds @file to the Kubo node at @ipfs_api; returns its CID.
 */
gchar *
ac_cli_ipfs_add (AcCliGlobal *global, const gchar *ipfs_api, const gchar *file, GError **error)
{
	g_autoptr(AcHttpClient) http = cli_http (global);
	g_autoptr(AcProgress) progress = cli_progress (global, "ipfs-add");
	gchar *cid = ac_ipfs_node_add (http, ipfs_api != NULL ? ipfs_api : "http://127.0.0.1:5001",
				       file, progress, error);
	if (cid != NULL)
		ac_progress_finished (progress);
	return cid;
}

/**
 * ac_cli_ipfs_upload:
 *
 * `ipfs upload FILE`: uploads @file to the CCN at @api as @kind (an AcCcnUploadKind), with a
 * STORE message signed by the key of @key_file unless @unauthenticated; prints the hash and
 * the STORE item hash. Returns an exit code.
 */
int
ac_cli_ipfs_upload (AcCliGlobal *global, const gchar *api, int kind, const gchar *key_file,
		    const gchar *channel, gboolean unauthenticated, const gchar *file)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(AcProgress) progress = NULL;
	g_autoptr(AcHttpClient) http = cli_http (global);
	g_autoptr(AcCcnClient) ccn = NULL;
	g_autoptr(AcEthAccount) account = NULL;
	g_autoptr(AcAlephMessage) store = NULL;
	g_autofree gchar *hash = NULL;
	g_autofree gchar *path = key_path (key_file);

	if (!unauthenticated) {
		account = ac_eth_account_load_key_file_full (path, global->password_file, &error);
		if (account == NULL)
			return ac_cli_fail (global, g_steal_pointer (&error));
	}
	ccn = ac_ccn_client_new (api, http, &error);
	if (ccn == NULL)
		return ac_cli_fail (global, g_steal_pointer (&error));
	progress = cli_progress (global, "ipfs-upload");
	hash = ac_ccn_upload_file (ccn, (AcCcnUploadKind)kind, file, account, channel, &store, progress, &error);
	if (hash == NULL)
		return ac_cli_fail (global, g_steal_pointer (&error));
	ac_progress_finished (progress);
	if (global->json) {
		g_autoptr (JsonObject) o = json_object_new ();
		g_autoptr (JsonNode) n = NULL;
		json_object_set_string_member (o, "hash", hash);
		if (store != NULL)
			json_object_set_string_member (o, "store", store->item_hash);
		else
			json_object_set_null_member (o, "store");
		n = json_node_init_object (json_node_alloc (), o);
		ac_cli_print_json (n);
	} else
		printf ("%s%s%s\n", hash, store ? " store " : "", store ? store->item_hash : "");
	return AC_EXIT_OK;
}

/* ---- the KDS fetch of the front's snp commands (cli-snp.c) ---- */

/**
 * ac_cli_kds_fetch:
 *
 * An AcSevKdsFetchFunc for the front's `snp` commands: one GET of @url with the options of
 * @global (an AcCliGlobal: --timeout), an answer at most 64 KiB.
 */
GBytes *
ac_cli_kds_fetch (const gchar *url, gpointer global, GCancellable *cancellable, GError **error)
{
	g_autoptr(AcHttpClient) http = cli_http (global);
	ac_http_client_set_max_body (http, 64 * 1024);
	return ac_aleph_kds_fetch (url, http, cancellable, error);
}
