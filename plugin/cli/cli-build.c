/*
 * virt-aleph build TEMPLATE: the encrypted image builder (builder/) from the command line.
 * The builder knows nothing of libvirt or IPFS: a libvirt-domain source is resolved here to
 * the domain's disk image, and the image's CID is computed here for the manifest.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <json-glib/json-glib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ac-builder-run.h"
#include "ac-aleph-client.h"
#include "ac-builder.h"
#include "ac-car.h"
#include "ac-cli.h"
#include "ac-cli-progress.h"
#include "ac-domain.h"
#include "ac-file.h"
#include "ac-json.h"
#include "ac-json-write.h"
#include "ac-pipeline.h"
#include "ac-secret.h"
#include "ac-secret-store.h"
#include "ac-virt.h"
#include "cli-build.h"

/*
 * The domain's disk as an image source: the domain must be shut off (its disk must not change
 * while it is read), the disk must be a local file or block device in raw or qcow2 format.
 * The disk is source.disk, or the first disk by the domain model's rule
 * (docs/tag.md#the-tagged-disk).
 */
static gboolean
resolve_from_domain (virDomainPtr dom, AcTemplate *tpl, GError **error)
{
	g_autofree gchar *xml = NULL;
	g_autoptr(AcDomain) model = NULL;
	g_autoptr(GError) local_error = NULL;
	const AcDomainDisk *disk;
	int state = 0, reason = 0;

	if (virDomainGetState (dom, &state, &reason, 0) < 0) {
		ac_virt_set_error (error, "cannot get the state of domain %s", tpl->source.domain);
		return FALSE;
	}
	if (state != VIR_DOMAIN_SHUTOFF) {
		g_set_error (error, AC_ERROR, AC_ERROR_REFUSED,
			     "source.domain '%s' is not shut off: its disk could change while it is "
			     "read (virsh shutdown %s)",
			     tpl->source.domain, tpl->source.domain);
		return FALSE;
	}
	/* no GError from it: libvirt's reason is still there for this command's own wording */
	xml = ac_virt_get_xml_flags (dom, VIR_DOMAIN_XML_INACTIVE, NULL);
	if (xml == NULL) {
		ac_virt_set_error (error, "cannot get the XML of domain %s", tpl->source.domain);
		return FALSE;
	}
	model = ac_domain_parse (xml, -1, &local_error);
	if (model == NULL) {
		g_set_error (error, AC_ERROR, AC_ERROR_LIBVIRT, "domain %s: unreadable XML: %s",
			     tpl->source.domain, local_error->message);
		return FALSE;
	}
	disk = ac_domain_find_disk (model, tpl->source.disk);
	if (disk == NULL) {
		g_set_error (error, AC_ERROR, AC_ERROR_NOT_FOUND,
			     "domain %s has no %s%s disk with a source", tpl->source.domain,
			     tpl->source.disk != NULL ? "disk " : "",
			     tpl->source.disk != NULL ? tpl->source.disk : "local");
		return FALSE;
	}
	if (g_strcmp0 (disk->type, "file") != 0 && g_strcmp0 (disk->type, "block") != 0) {
		g_set_error (error, AC_ERROR, AC_ERROR_UNSUPPORTED,
			     "source.disk '%s' of domain %s is a %s disk: expected a local "
			     "file or block device", disk->dev, tpl->source.domain,
			     disk->type != NULL ? disk->type : "(untyped)");
		return FALSE;
	}
	if (disk->format != NULL && g_strcmp0 (disk->format, "raw") != 0 &&
	    g_strcmp0 (disk->format, "qcow2") != 0) {
		g_set_error (error, AC_ERROR, AC_ERROR_UNSUPPORTED,
			     "source.disk '%s' of domain %s is %s: expected raw or qcow2",
			     disk->dev, tpl->source.domain, disk->format);
		return FALSE;
	}
	if (disk->source_file == NULL && disk->source_dev == NULL) {
		g_set_error (error, AC_ERROR, AC_ERROR_NOT_FOUND,
			     "domain %s has no %s%s disk with a source", tpl->source.domain,
			     tpl->source.disk != NULL ? "disk " : "",
			     tpl->source.disk != NULL ? tpl->source.disk : "local");
		return FALSE;
	}
	g_free (tpl->source.path);
	tpl->source.path = g_strdup (disk->source_file != NULL ? disk->source_file : disk->source_dev);
	g_free (tpl->source.format);
	tpl->source.format = g_strdup (disk->format != NULL ? disk->format : "auto");
	g_free (tpl->source.partition);
	tpl->source.partition = g_strdup ("auto");
	tpl->source.type = AC_SOURCE_IMAGE;
	g_debug ("source: domain %s disk %s is %s (%s)", tpl->source.domain, disk->dev,
		 tpl->source.path, tpl->source.format);
	return TRUE;
}

/*
 * The domain's disk as an image source: the domain must be shut off (its disk must not change
 * while it is read), the disk must be a local file or block device in raw or qcow2 format.
 */
static gboolean
resolve_domain_source (AcCliGlobal *global, AcTemplate *tpl, GError **error)
{
	virConnectPtr conn;
	virDomainPtr dom;
	gboolean ok;

	ac_virt_init ();
	conn = ac_virt_connect (ac_cli_get_uri (global), error);
	if (conn == NULL)
		return FALSE;
	dom = ac_virt_lookup_domain (conn, tpl->source.domain, error);
	if (dom == NULL) {
		virConnectClose (conn);
		return FALSE;
	}
	ok = resolve_from_domain (dom, tpl, error);
	virDomainFree (dom);
	virConnectClose (conn);
	return ok;
}

static gboolean
write_passphrase (const gchar *path, const AcSecret *pass, gboolean force, GError **error)
{
	int fd;
	gboolean ok;
	if (g_strcmp0 (path, "-") == 0)
		return TRUE; /* printed with the result */
	if (force)
		(void)unlink (path);
	fd = open (path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		g_set_error (error, AC_ERROR, errno == EEXIST ? AC_ERROR_EXISTS : AC_ERROR_IO,
			     "--passphrase-out %s: %s", path, g_strerror (errno));
		return FALSE;
	}
	ok = write (fd, pass->data, pass->len) == (ssize_t)pass->len;
	if (close (fd) != 0 || !ok) {
		g_set_error (error, AC_ERROR, AC_ERROR_IO, "--passphrase-out %s: write failed", path);
		return FALSE;
	}
	return TRUE;
}

/*
 * --secret: the libvirt of --connect, which must be on this machine (the rule of the flows'
 * secret store: a remote host is the very host SEV protects the guest from). Connected before
 * the build, so that a refusal costs no build.
 */
static virConnectPtr
secret_store_open (AcCliGlobal *global, const gchar *image, gboolean force, GError **error)
{
	const gchar *uri = ac_cli_get_uri (global);
	g_autoptr (GError) error_local = NULL;
	g_autofree gchar *existing = NULL;
	virConnectPtr conn;

	if (!ac_secret_store_uri_is_local (uri)) {
		g_set_error (error, AC_ERROR, AC_ERROR_REFUSED,
		             "--secret: %s is not a libvirt on this machine; the passphrase is "
		             "kept only in a local libvirt's secret store, never on another host "
		             "(the very host SEV protects the guest from). Build with --connect "
		             "qemu:///system (the local flow reads it there), or use "
		             "--passphrase-out",
		             uri);
		return NULL;
	}
	ac_virt_init ();
	conn = ac_virt_connect (uri, error);
	if (conn == NULL)
		return NULL;
	existing = ac_secret_store_lookup_volume (conn, image, &error_local);
	if (existing == NULL && !g_error_matches (error_local, AC_ERROR, AC_ERROR_NOT_FOUND)) {
		g_propagate_prefixed_error (error, g_steal_pointer (&error_local), "--secret: ");
		virConnectClose (conn);
		return NULL;
	}
	if (existing != NULL && !force) {
		g_set_error (error, AC_ERROR, AC_ERROR_EXISTS,
		             "--secret: libvirt's secret store holds a passphrase (secret %s) for "
		             "%s already: use --force to replace it with the new image's",
		             existing, image);
		virConnectClose (conn);
		return NULL;
	}
	return conn;
}

/*
 * The template's "publish": upload the image to the Aleph API with a signed STORE (a CAR for
 * "ipfs", the default; the file for "storage"). Returns the STORE's item hash.
 */
static gchar *
publish_image (AcCliGlobal *global,
               const AcTemplate *tpl,
               const gchar *image,
               AcProgress *progress,
               gchar **content_out,
               GError **error)
{
	JsonObject *o = json_node_get_object (tpl->publish);
	const gchar *api = json_object_get_string_member_with_default (o, "api", AC_ALEPH_DEFAULT_API);
	const gchar *storage = json_object_get_string_member_with_default (o, "storage", "ipfs");
	const gchar *channel = json_object_get_string_member_with_default (o, "channel", "ALEPH-CLOUDSOLUTIONS");
	const gchar *account_path = json_object_get_string_member_with_default (o, "account", NULL);
	/* relative to the template's folder, as every path of a template */
	g_autofree gchar *key = account_path == NULL ? ac_eth_default_key_path ()
	                        : g_path_is_absolute (account_path) || tpl->base_dir == NULL
	                            ? g_strdup (account_path)
	                            : g_build_filename (tpl->base_dir, account_path, NULL);
	g_autoptr(AcEthAccount) account = NULL;
	g_autoptr(AcHttpClient) http = NULL;
	g_autoptr(AcCcnClient) ccn = NULL;
	g_autoptr(AcAlephMessage) store = NULL;
	g_autofree gchar *hash = NULL;

	account = ac_eth_account_load_key_file_full (key, global->password_file, error);
	if (account == NULL)
		return NULL;
	http = ac_cli_http_client_new (global);
	ccn = ac_ccn_client_new (api, http, error);
	if (ccn == NULL ||
	    !ac_ccn_client_set_store_payment (ccn, json_object_get_string_member_with_default (o, "payment", "credit"),
					      error))
		return NULL;
	hash = ac_ccn_upload_file (ccn, g_strcmp0 (storage, "storage") == 0 ? AC_CCN_UPLOAD_STORAGE : AC_CCN_UPLOAD_CAR,
				   image, account, channel, &store, progress, error);
	if (hash == NULL) {
		g_prefix_error (error, "publishing %s to %s: ", image, api);
		return NULL;
	}
	*content_out = g_steal_pointer (&hash);
	return g_strdup (store->item_hash);
}

/* --on-error=ask: the build failed; the user picks on the terminal (EOF: cleanup). An interrupt
 * while it asks (@data, the build's cancellable) cleans up, as it does during the build. */
static AcOnError
build_ask (const GError *error, const gchar *workdir, gpointer data)
{
	GCancellable *cancellable = data;
	for (;;) {
		gchar line[64];
		struct pollfd pfd = { .fd = STDIN_FILENO, .events = POLLIN };
		int ready = 0;
		fprintf (stderr,
		         "virt-aleph: the build failed: %s\n"
		         "Its temporaries are in %s.\n"
		         "[c] clean up: remove them and exit  [a] abort: keep them for inspection\n"
		         "Choice [c/a]? ",
		         error->message, workdir);
		fflush (stderr);
		while (ready == 0) {
			if (g_cancellable_is_cancelled (cancellable))
				return AC_ON_ERROR_CLEANUP;
			ready = poll (&pfd, 1, 200);
			if (ready < 0 && errno == EINTR)
				ready = 0;
		}
		if (ready < 0 || fgets (line, sizeof (line), stdin) == NULL)
			return AC_ON_ERROR_CLEANUP;
		g_strstrip (line);
		if (line[0] == '\0' || g_ascii_strcasecmp (line, "c") == 0
		    || g_ascii_strcasecmp (line, "cleanup") == 0)
			return AC_ON_ERROR_CLEANUP;
		if (g_ascii_strcasecmp (line, "a") == 0 || g_ascii_strcasecmp (line, "abort") == 0)
			return AC_ON_ERROR_ABORT;
	}
}

/*
 * --on-error, with Packer's meanings: cleanup (the default) removes what the failed build made
 * (its work directory: the copy of the tree, the plaintext filesystem, the partial image; never
 * the source, the template's files or an existing output), abort leaves them for inspection and
 * says where, ask prompts on the terminal. ask without a terminal is refused: nobody would
 * answer.
 */
static gboolean
build_parse_on_error (const gchar *on_error, AcBuildOptions *opts, GError **error)
{
	if (on_error == NULL || g_strcmp0 (on_error, "cleanup") == 0) {
		opts->on_error = AC_ON_ERROR_CLEANUP;
	} else if (g_strcmp0 (on_error, "abort") == 0) {
		opts->on_error = AC_ON_ERROR_ABORT;
	} else if (g_strcmp0 (on_error, "ask") == 0) {
		if (!isatty (STDIN_FILENO) || !isatty (STDERR_FILENO)) {
			g_set_error_literal (
			    error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			    "--on-error=ask: standard input and standard error are not "
			    "both a terminal, so nobody could answer the question: use "
			    "--on-error=cleanup or --on-error=abort");
			return FALSE;
		}
		opts->on_error = AC_ON_ERROR_ASK;
		opts->ask = build_ask;
	} else {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "--on-error '%s': expected cleanup, abort or ask", on_error);
		return FALSE;
	}
	return TRUE;
}

/**
 * cli_build_check_stdin:
 *
 * Standard input can be read once: the template given as "-", a --var-file "-" and
 * --passphrase-stdin cannot share it (the second would read nothing).
 */
gboolean
cli_build_check_stdin (const gchar *template_path,
                       gchar **var_files,
                       gboolean pass_stdin,
                       GError **error)
{
	const gchar *readers[3] = { NULL };
	guint n = 0;

	if (g_strcmp0 (template_path, "-") == 0)
		readers[n++] = "the template (-)";
	if (var_files != NULL && g_strv_contains ((const gchar *const *)var_files, "-"))
		readers[n++] = "--var-file -";
	if (pass_stdin)
		readers[n++] = "--passphrase-stdin";
	if (n < 2)
		return TRUE;
	g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
	             "%s and %s both read standard input: give one of them a file", readers[0],
	             readers[1]);
	return FALSE;
}

/*
 * The variables: each --var-file in order (a name in two files is an error naming both), then
 * --var, which overrides a file's value. @origins: name → where its value comes from.
 */
gboolean
cli_build_load_vars (gchar **vars_kv,
                     gchar **var_files,
                     GHashTable *vars,
                     GHashTable *origins,
                     GError **error)
{
	for (guint i = 0; var_files != NULL && var_files[i] != NULL; i++) {
		if (!ac_template_read_var_file (var_files[i], vars, origins, error))
			return FALSE;
	}
	for (guint i = 0; vars_kv != NULL && vars_kv[i] != NULL; i++) {
		const gchar *eq = strchr (vars_kv[i], '=');
		if (!ac_template_parse_var (vars, vars_kv[i], error))
			return FALSE;
		g_hash_table_insert (origins, g_strndup (vars_kv[i], (gsize)(eq - vars_kv[i])),
		                     g_strdup ("--var"));
	}
	return TRUE;
}

/* What `virt-aleph build` reports once the image is in place. */
typedef struct {
	const AcBuildResult *result;
	const gchar *image;    /* the image's absolute path: the secret's usage */
	const gchar *pass_out; /* nullable: --passphrase-out */
	gchar *secret_uuid;    /* nullable: no --secret */
	gchar *cid;            /* nullable: --no-cid */
	gchar *store_hash;     /* nullable: not published */
	gchar *store_content;  /* nullable: the STORE's item_hash, the image's CID or sha256 */
	gchar *store_api;      /* nullable: where it was published */
} BuildReport;

static void
build_report_clear (BuildReport *r)
{
	g_free (r->secret_uuid);
	g_free (r->cid);
	g_free (r->store_hash);
	g_free (r->store_content);
	g_free (r->store_api);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (BuildReport, build_report_clear)

/* Hands the built image's passphrase over (--passphrase-out, --secret), adds its CID to the
 * manifest and publishes it, as the options and the template ask. */
static gboolean
build_deliver (AcCliGlobal *global,
               const AcTemplate *tpl,
               virConnectPtr secrets,
               const AcPipelineConfig *config,
               gboolean force,
               gboolean no_cid,
               BuildReport *r,
               GError **error)
{
	if (!write_passphrase (r->pass_out != NULL ? r->pass_out : "-", r->result->passphrase,
	                       force, error))
		return FALSE;
	if (secrets != NULL) {
		r->secret_uuid = ac_secret_store_put (
		    secrets, config->state_dir, tpl->name != NULL ? tpl->name : r->image, r->image,
		    (const guint8 *)r->result->passphrase->data, r->result->passphrase->len, error);
		if (r->secret_uuid == NULL) {
			/* nobody else got the passphrase: an image nobody can open goes */
			if (r->pass_out == NULL) {
				(void)unlink (r->result->image_path);
				(void)unlink (r->result->manifest_path);
			}
			return FALSE;
		}
	}
	if (!no_cid) {
		r->cid = ac_ipfs_file_cid_string (r->result->image_path, NULL, NULL, error);
		if (r->cid == NULL
		    || !ac_build_manifest_set_cid (r->result->manifest_path, r->cid, error))
			return FALSE;
	}
	if (tpl->publish != NULL) {
		r->store_hash = publish_image (global, tpl, r->result->image_path, NULL,
		                               &r->store_content, error);
		if (r->store_hash == NULL)
			return FALSE;
		r->store_api = g_strdup (json_object_get_string_member_with_default (
		    json_node_get_object (tpl->publish), "api", AC_ALEPH_DEFAULT_API));
	}
	return TRUE;
}

/*
 * What to do with a published image: the tag line that boots an instance from the STORE, and
 * a sentence for people: the tag line that deploys the published image as it is
 * (<aleph:publish rootfs='HASH'/>, docs/tag.md) and the command that writes it.
 */
static gchar *
build_publish_usage (const BuildReport *r, AcImageLayout layout, gchar **tag_out)
{
	*tag_out = g_strdup_printf ("<aleph:publish rootfs='%s'/>", r->store_hash);
	return g_strdup_printf (
	    "the image is the STORE %s: a domain tagged %s%s boots it as its rootfs on Aleph "
	    "(AMD %s), nothing built again: virt-aleph tag DOMAIN --rootfs %s%s "
	    "--passphrase-file FILE (the passphrase is checked against the image's LUKS header "
	    "first); with aleph-client: aleph instance create --confidential --rootfs %s",
	    r->store_hash, *tag_out,
	    layout == AC_IMAGE_LAYOUT_LUKS2_ROOT ? " and <aleph:sev type='snp'/>" : "",
	    layout == AC_IMAGE_LAYOUT_LUKS2_ROOT ? "SEV-SNP" : "SEV", r->store_hash,
	    layout == AC_IMAGE_LAYOUT_LUKS2_ROOT ? " --sev-type snp" : "", r->store_hash);
}

/* @head, then the passphrase (as a JSON string member closing the object @head opens, or alone
 * on its line) on stdout. Not through stdio or json-glib: their buffers are freed unwiped; this
 * one is sized once (no reallocation leaves a copy behind) and wiped. */
static void
build_print_passphrase (const gchar *head, const AcSecret *pass, gboolean json)
{
	GString *out = g_string_sized_new (strlen (head) + 6 * pass->len + 32);

	g_string_append (out, head);
	if (json) {
		g_string_append (out, ",\"passphrase\":");
		ac_json_append_escaped (out, pass->data, pass->len, AC_JSON_ESCAPE_GLIB);
		g_string_append_c (out, '}');
	} else {
		g_string_append_len (out, pass->data, pass->len);
	}
	g_string_append_c (out, '\n');
	fflush (stdout);
	(void)ac_file_write_all (STDOUT_FILENO, "standard output", out->str, out->len, NULL);
	ac_secret_wipe (out->str, out->allocated_len);
	g_string_free (out, TRUE);
}

static void
build_print_json (const BuildReport *r, AcImageLayout layout)
{
	g_autoptr (JsonBuilder) b = json_builder_new ();
	g_autoptr (JsonNode) root = NULL;
	g_autofree gchar *text = NULL;
	json_builder_begin_object (b);
	ac_json_builder_add_string (b, "image", r->result->image_path);
	ac_json_builder_add_string (b, "manifest", r->result->manifest_path);
	ac_json_builder_add_int (b, "size", (gint64)r->result->image_size);
	ac_json_builder_add_string (b, "sha256", r->result->image_sha256);
	json_builder_set_member_name (b, "cid");
	if (r->cid != NULL)
		json_builder_add_string_value (b, r->cid);
	else
		json_builder_add_null_value (b);
	ac_json_builder_add_string (b, "luks_uuid", r->result->luks_uuid);
	if (r->store_hash != NULL) {
		g_autofree gchar *tag = NULL;
		g_autofree gchar *usage = build_publish_usage (r, layout, &tag);
		ac_json_builder_add_string (b, "store", r->store_hash);
		json_builder_set_member_name (b, "publish");
		json_builder_begin_object (b);
		ac_json_builder_add_string (b, "store", r->store_hash);
		ac_json_builder_add_string (b, "item_hash", r->store_content);
		ac_json_builder_add_string (b, "api", r->store_api);
		ac_json_builder_add_string (b, "layout", ac_image_layout_to_string (layout));
		json_builder_set_member_name (b, "tag");
		if (tag != NULL)
			json_builder_add_string_value (b, tag);
		else
			json_builder_add_null_value (b);
		ac_json_builder_add_string (b, "usage", usage);
		json_builder_end_object (b);
	}
	if (r->secret_uuid != NULL) {
		ac_json_builder_add_string (b, "secret", r->secret_uuid);
		ac_json_builder_add_string (b, "secret_usage", r->image);
	}
	json_builder_set_member_name (b, "encrypt_mib_per_s");
	json_builder_add_double_value (b, r->result->encrypt_stats.elapsed_us > 0
	                                      ? (gdouble)r->result->encrypt_stats.bytes
	                                            / r->result->encrypt_stats.elapsed_us * 1e6
	                                            / 1048576.0
	                                      : 0.0);
	json_builder_set_member_name (b, "seconds");
	json_builder_begin_object (b);
	{
		static const gchar *steps[]
		    = { "source", "provision", "assemble", "verify", "manifest" };
		for (guint i = 0; i < G_N_ELEMENTS (steps); i++) {
			json_builder_set_member_name (b, steps[i]);
			json_builder_add_double_value (b, r->result->step_seconds[i]);
		}
	}
	json_builder_end_object (b);
	json_builder_end_object (b);
	root = json_builder_get_root (b);
	text = json_to_string (root, FALSE);
	if (g_strcmp0 (r->pass_out, "-") == 0) {
		text[strlen (text) - 1] = '\0'; /* the object's '}': the passphrase closes it */
		build_print_passphrase (text, r->result->passphrase, TRUE);
	} else {
		printf ("%s\n", text);
	}
}

static void
build_print_text (AcCliGlobal *global, const BuildReport *r, AcImageLayout layout)
{
	if (g_strcmp0 (r->pass_out, "-") == 0)
		build_print_passphrase ("", r->result->passphrase, FALSE);
	if (r->secret_uuid != NULL) {
		printf ("%s\n", r->secret_uuid);
		if (!global->quiet)
			fprintf (stderr,
			         "passphrase kept in libvirt's secret store: secret %s, usage "
			         "volume %s\n",
			         r->secret_uuid, r->image);
	}
	if (!global->quiet)
		fprintf (stderr,
		         "built %s (%" G_GUINT64_FORMAT " bytes, sha256 %s, LUKS %s%s%s)\n"
		         "manifest %s\n",
		         r->result->image_path, r->result->image_size, r->result->image_sha256,
		         r->result->luks_uuid, r->cid != NULL ? ", CID " : "",
		         r->cid != NULL ? r->cid : "", r->result->manifest_path);
	if (r->store_hash != NULL && !global->quiet) {
		g_autofree gchar *tag = NULL;
		g_autofree gchar *usage = build_publish_usage (r, layout, &tag);
		fprintf (stderr, "published with STORE %s (item_hash %s) to %s\n", r->store_hash,
		         r->store_content, r->store_api);
		if (tag != NULL)
			fprintf (stderr, "tag: %s\n", tag);
		fprintf (stderr, "%s\n", usage);
	}
}

/* where the passphrase goes: a passphrase nobody receives is a disk nobody can open, and an
 * existing --passphrase-out is replaced only with --force */
static gboolean
build_check_passphrase_route (const AcTemplate *tpl,
                              const gchar *pass_out,
                              gboolean secret,
                              gboolean given,
                              gboolean force,
                              GError **error)
{
	if (pass_out == NULL && !secret && !given
	    && tpl->passphrase_source == AC_PASSPHRASE_GENERATE) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		                     "the template generates the passphrase: say where it goes with "
		                     "--secret (libvirt's secret store) or --passphrase-out FILE (or "
		                     "- for standard output)");
		return FALSE;
	}
	if (pass_out != NULL && g_strcmp0 (pass_out, "-") != 0 && !force
	    && g_file_test (pass_out, G_FILE_TEST_EXISTS)) {
		g_set_error (error, AC_ERROR, AC_ERROR_EXISTS,
		             "--passphrase-out %s exists: use --force", pass_out);
		return FALSE;
	}
	return TRUE;
}

/* the build's failure (takes @error); with its temporaries kept (on-error=abort), where */
static int
build_fail (AcCliGlobal *global, GError *error, const AcBuildResult *result)
{
	g_autoptr (JsonObject) extra = json_object_new ();

	if (result->kept_workdir != NULL) {
		g_autofree gchar *kept = g_canonicalize_filename (result->kept_workdir, NULL);
		GError *e = g_error_new (error->domain, error->code,
		                         "%s; the build's temporaries are kept for inspection in %s "
		                         "(on-error=abort: remove it when done)",
		                         error->message, kept);
		g_error_free (error);
		error = e;
		json_object_set_string_member (extra, "kept", kept);
	}
	return ac_cli_fail_with (global, error, extra);
}

int
ac_cli_cmd_build (AcCliGlobal *global, int argc, char **argv)
{
	g_auto(GStrv) vars_kv = NULL;
	g_auto (GStrv) var_files = NULL;
	g_autofree gchar *on_error = NULL;
	g_autofree gchar *pass_out = NULL;
	g_autofree gchar *workdir = NULL;
	g_autofree gchar *image = NULL;
	g_autofree gchar *config_path = NULL;
	g_autoptr (AcPipelineConfig) config = NULL;
	gboolean force = FALSE, pass_stdin = FALSE, no_cid = FALSE, secret = FALSE;
	g_autoptr (virConnect) secrets = NULL;
	g_autoptr (GOptionContext) ctx = ac_cli_option_context_new (
	    global, "TEMPLATE",
	    "Build the encrypted disk image a template describes: GPT with an ESP and a LUKS1 root "
	    "(the layout Aleph's SEV firmware boots), verified before it is put in place, with a "
	    "JSON manifest beside it. SIGINT/SIGTERM undo every temporary.\n\n"
	    "  validate TEMPLATE   check a template without building (syntax, schema, variables, "
	    "files)\n"
	    "  inspect TEMPLATE    show its variables, source, provisioners and outputs");
	const GOptionEntry entries[]
	    = { CLI_BUILD_VAR_ENTRIES (&vars_kv, &var_files),
		{ "force", 0, 0, G_OPTION_ARG_NONE, &force,
		  "replace an existing image and manifest", NULL },
		{ "on-error", 0, 0, G_OPTION_ARG_STRING, &on_error,
		  "when the build fails: cleanup (default: remove its temporaries), abort (keep "
		  "them for inspection and say where) or ask (on a terminal)",
		  "MODE" },
		{ "passphrase-stdin", 0, 0, G_OPTION_ARG_NONE, &pass_stdin,
		  "read the passphrase from standard input", NULL },
		{ "passphrase-out", 0, 0, G_OPTION_ARG_FILENAME, &pass_out,
		  "hand the passphrase back: a new file (mode 0600) or - for standard output",
		  "FILE" },
		{ "secret", 0, 0, G_OPTION_ARG_NONE, &secret,
		  "keep the passphrase in the secret store of the (local) libvirt of --connect, "
		  "usage volume = the image's path, and print the secret's UUID: the local SEV "
		  "flow uses such an image as it is",
		  NULL },
		{ "config", 0, 0, G_OPTION_ARG_FILENAME, &config_path,
		  "with --secret: the service's configuration, whose state-dir keeps the service's "
		  "copy of the passphrase (default " AC_DAEMON_CONF ")",
		  "FILE" },
		{ "workdir", 0, 0, G_OPTION_ARG_FILENAME, &workdir,
		  "where the temporaries go (default: the output's folder)", "DIR" },
		{ "no-cid", 0, 0, G_OPTION_ARG_NONE, &no_cid,
		  "do not compute the image's IPFS CID for the manifest", NULL },
		{ NULL } };
	g_autoptr(GError) error = NULL;
	g_autoptr(GHashTable) vars = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
	g_autoptr (GHashTable) origins
	    = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
	g_autoptr(AcTemplate) tpl = NULL;
	g_autoptr(AcSecret) given = NULL;
	g_autoptr(AcProgress) progress = NULL;
	g_autoptr(GCancellable) cancellable = g_cancellable_new ();
	g_autoptr(AcSignalGuard) guard = NULL;
	g_auto(AcBuildResult) result = { 0 };
	g_auto (BuildReport) report = { 0 };
	AcBuildOptions opts = { 0 };
	int word = cli_build_check_word (argc, argv);

	if (word > 0)
		return cli_build_check_run (global, word, argc, argv);
	g_option_context_add_main_entries (ctx, entries, NULL);
	if (!ac_cli_parse_args (ctx, &argc, &argv, 1, "expected one TEMPLATE", &error)
	    || !cli_build_check_stdin (argv[1], var_files, pass_stdin, &error))
		return ac_cli_fail (global, g_steal_pointer (&error));
	/* --debug: every tool run, its arguments (never a secret) and the provisioners' output */
	if (global->debug)
		g_log_set_debug_enabled (TRUE);
	if (!cli_build_load_vars (vars_kv, var_files, vars, origins, &error))
		return ac_cli_fail (global, g_steal_pointer (&error));
	if (!build_parse_on_error (on_error, &opts, &error))
		return ac_cli_fail (global, g_steal_pointer (&error));
	tpl = ac_template_new_from_file_full (argv[1], vars, origins, &error);
	if (tpl == NULL)
		return ac_cli_fail (global, g_steal_pointer (&error));
	if (pass_stdin) {
		given = ac_secret_read_passphrase_file ("-", "--passphrase-stdin", &error);
		if (given == NULL)
			return ac_cli_fail (global, g_steal_pointer (&error));
		opts.passphrase = given;
	}
	if (!build_check_passphrase_route (tpl, pass_out, secret, given != NULL, force, &error))
		return ac_cli_fail (global, g_steal_pointer (&error));
	if (tpl->source.type == AC_SOURCE_LIBVIRT_DOMAIN && !resolve_domain_source (global, tpl, &error))
		return ac_cli_fail (global, g_steal_pointer (&error));
	/* the secret's usage is the image as a domain's <source file> names it: an absolute path */
	image = g_canonicalize_filename (tpl->output_path, NULL);
	if (secret) {
		/* the secret is private to libvirt: the service reads its copy in its state dir */
		config = ac_pipeline_config_load (config_path != NULL ? config_path : AC_DAEMON_CONF, &error);
		if (config == NULL)
			return ac_cli_fail (global, g_steal_pointer (&error));
		ac_cli_scope_state_dir (global, config_path, &config->state_dir);
		secrets = secret_store_open (global, image, force, &error);
		if (secrets == NULL)
			return ac_cli_fail (global, g_steal_pointer (&error));
	}

	opts.force = force;
	opts.workdir_parent = workdir;
	progress = ac_progress_new ("build");
	ac_cli_progress_attach (progress, ac_cli_progress_output_pick (global->json, global->quiet, stderr),
				stderr);
	opts.ask_data = cancellable;
	guard = ac_signal_guard_new (cancellable);
	if (!ac_build_run (tpl, &opts, progress, cancellable, &result, &error))
		return build_fail (global, g_steal_pointer (&error), &result);
	report.result = &result;
	report.image = image;
	report.pass_out = pass_out;
	if (!build_deliver (global, tpl, secrets, config, force, no_cid, &report, &error))
		return ac_cli_fail (global, g_steal_pointer (&error));
	if (global->json)
		build_print_json (&report, tpl->layout);
	else
		build_print_text (global, &report, tpl->layout);
	return AC_EXIT_OK;
}
