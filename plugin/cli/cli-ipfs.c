/*
 * virt-aleph ipfs: the CID and the CAR of a file, computed by the front itself (GLib and OpenSSL
 * only: no module opened, so `ipfs cid` costs little more than the hash); add and upload need
 * the network and run in the module "aleph" (cli-aleph.c).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <stdio.h>

#include "ac-aleph-client.h"
#include "ac-car.h"
#include "ac-cli.h"
#include "ac-cli-progress.h"
#include "ac-json-write.h"
#include "ac-unixfs.h"

static AcCliProgressView *
cli_progress (AcCliGlobal *global, const gchar *id)
{
	return ac_cli_progress_view_new (
	    id, ac_cli_progress_output_pick (global->json, global->quiet, stderr), stderr);
}

/* an AcCarProgressFunc drawing as an AcProgress leaf would (ac_progress_set_fraction) */
static void
cli_progress_cb (guint64 done, guint64 total, gpointer user_data)
{
	gdouble fraction = total == 0 ? 1.0 : CLAMP ((gdouble)done / (gdouble)total, 0.0, 1.0);
	ac_cli_progress_view_draw (user_data, fraction, "");
}

static int
print_cid (AcCliGlobal *global, const gchar *cid, const gchar *file, const gchar *car)
{
	if (global->json) {
		/* as json_to_string (node, TRUE) wrote it before the command left json-glib */
		g_auto (AcJsonWriter) w = { 0 };
		ac_json_writer_init_pretty (&w);
		ac_json_writer_begin_object (&w, NULL);
		ac_json_writer_string (&w, "cid", cid);
		ac_json_writer_string (&w, "file", file);
		if (car != NULL)
			ac_json_writer_string (&w, "car", car);
		ac_json_writer_end_object (&w);
		printf ("%s\n", ac_json_writer_get_text (&w));
	} else if (global->quiet) {
		printf ("%s\n", cid);
	} else {
		/* like `ipfs add --only-hash` */
		g_autofree gchar *base = g_path_get_basename (file);
		printf ("added %s %s\n", cid, base);
	}
	return AC_EXIT_OK;
}

int
ac_cli_cmd_ipfs (AcCliGlobal *global, int argc, char **argv)
{
	g_autoptr (GError) error = NULL;
	g_autoptr (AcCliProgressView) progress = NULL;
	g_autofree gchar *ipfs_api = NULL, *api = NULL, *key_file = NULL, *engine = NULL,
	                 *channel = NULL;
	gboolean unauthenticated = FALSE, force = FALSE;
	g_autoptr (GOptionContext) ctx = ac_cli_option_context_new (
	    global, "cid FILE | car FILE OUT | add FILE | upload FILE",
	    "UnixFS CIDv0 of a file exactly as `ipfs add` computes it with kubo's defaults\n"
	    "(256 KiB chunks, balanced DAG of 174 links, dag-pb leaves), and its CARv1.\n"
	    "  cid FILE       print the CID (like `ipfs add --only-hash`)\n"
	    "  car FILE OUT   write the CAR of FILE to OUT (- for stdout, an existing file only\n"
	    "                 with --force) and print the CID\n"
	    "  add FILE       add FILE to your IPFS node (--ipfs-api); its CID must equal ours\n"
	    "  upload FILE    upload FILE to the CCN (storage, ipfs or car engine, streamed) with\n"
	    "                 a signed STORE message; prints the hash and the STORE item hash");
	const GOptionEntry entries[] = {
		{ "ipfs-api", 0, 0, G_OPTION_ARG_STRING, &ipfs_api,
		  "Kubo RPC API (default http://127.0.0.1:5001)", "URL" },
		{ "api", 0, 0, G_OPTION_ARG_STRING, &api,
		  "Aleph API (default " AC_ALEPH_DEFAULT_API ")", "URL" },
		{ "engine", 0, 0, G_OPTION_ARG_STRING, &engine,
		  "upload: storage, ipfs or car (default car)", "E" },
		{ "key-file", 'k', 0, G_OPTION_ARG_FILENAME, &key_file,
		  "key file for the STORE message", "PATH" },
		{ "channel", 0, 0, G_OPTION_ARG_STRING, &channel, "channel of the STORE message",
		  "NAME" },
		{ "unauthenticated", 0, 0, G_OPTION_ARG_NONE, &unauthenticated,
		  "upload without a STORE message (garbage-collected after 24 h)", NULL },
		{ "force", 'f', 0, G_OPTION_ARG_NONE, &force, "car: replace an existing OUT file",
		  NULL },
		{ NULL },
	};
	g_option_context_add_main_entries (ctx, entries, NULL);
	if (!ac_cli_parse (ctx, &argc, &argv, &error))
		return ac_cli_fail (global, g_steal_pointer (&error));
	if (argc == 3 && g_strcmp0 (argv[1], "add") == 0) {
		AcCliIpfsAddFunc add = ac_cli_module_symbol ("aleph", "ac_cli_ipfs_add", &error);
		g_autofree gchar *cid
		    = add != NULL ? add (global, ipfs_api, argv[2], &error) : NULL;
		if (cid == NULL)
			return ac_cli_fail (global, g_steal_pointer (&error));
		return print_cid (global, cid, argv[2], NULL);
	}
	if (argc == 3 && g_strcmp0 (argv[1], "upload") == 0) {
		AcCliIpfsUploadFunc upload;
		AcCcnUploadKind kind = AC_CCN_UPLOAD_CAR;
		if (g_strcmp0 (engine, "storage") == 0)
			kind = AC_CCN_UPLOAD_STORAGE;
		else if (g_strcmp0 (engine, "ipfs") == 0)
			kind = AC_CCN_UPLOAD_IPFS;
		else if (engine != NULL && g_strcmp0 (engine, "car") != 0)
			return ac_cli_usage_error (global, ctx,
			                           "ipfs upload: --engine is storage, ipfs or car");
		upload = ac_cli_module_symbol ("aleph", "ac_cli_ipfs_upload", &error);
		if (upload == NULL)
			return ac_cli_fail (global, g_steal_pointer (&error));
		return upload (global, api, kind, key_file, channel, unauthenticated, argv[2]);
	}
	if (argc == 3 && g_strcmp0 (argv[1], "cid") == 0) {
		g_autofree gchar *cid = NULL;
		progress = cli_progress (global, "ipfs-cid");
		cid = ac_ipfs_file_cid_string (argv[2], cli_progress_cb, progress, &error);
		if (cid == NULL)
			return ac_cli_fail (global, g_steal_pointer (&error));
		ac_cli_progress_view_draw (progress, 1.0, "");
		return print_cid (global, cid, argv[2], NULL);
	}
	if (argc == 4 && g_strcmp0 (argv[1], "car") == 0) {
		guint8 root[AC_CID_V0_LEN];
		g_autofree gchar *cid = NULL;
		progress = cli_progress (global, "ipfs-car");
		if (!ac_ipfs_file_write_car (argv[2], argv[3], force, root, cli_progress_cb,
		                             progress, &error))
			return ac_cli_fail (global, g_steal_pointer (&error));
		ac_cli_progress_view_draw (progress, 1.0, "");
		cid = ac_cid_v0_to_string (root);
		if (g_strcmp0 (argv[3], "-") == 0 || g_strcmp0 (argv[3], "/dev/stdout") == 0) {
			/* the CAR went to stdout: the CID goes to stderr */
			if (!global->quiet)
				fprintf (stderr, "virt-aleph: added %s %s\n", cid, argv[2]);
			return AC_EXIT_OK;
		}
		return print_cid (global, cid, argv[2], argv[3]);
	}
	return ac_cli_usage_error (
	    global, ctx, "ipfs: expected cid FILE, car FILE OUT, add FILE or upload FILE");
}
