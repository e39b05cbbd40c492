/*
 * virt-aleph tag | untag | validate (status: cli-status.c)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <json-glib/json-glib.h>
#include <stdio.h>
#include <string.h>

#include "ac-cli.h"
#include "ac-domain.h"
#include "ac-file.h"
#include "ac-json.h"
#include "ac-localsev-pin.h"
#include "ac-pipeline.h"
#include "ac-secret-store.h"
#include "ac-sev-policy.h"
#include "ac-size.h"
#include "ac-snp-policy.h"
#include "ac-status.h"
#include "ac-tag.h"
#include "ac-virt.h"
#include "cli-tag.h"

virDomainPtr
cli_tag_open_domain (AcCliGlobal *global,
                     const gchar *name,
                     virConnectPtr *conn_out,
                     GError **error)
{
	virConnectPtr conn;
	virDomainPtr dom;

	ac_virt_init ();
	conn = ac_virt_connect (ac_cli_get_uri (global), error);
	if (conn == NULL)
		return NULL;
	dom = ac_virt_lookup_domain (conn, name, error);
	if (dom == NULL) {
		virConnectClose (conn);
		return NULL;
	}
	*conn_out = conn;
	return dom;
}

/* Appends an attribute to an element being built as text. */
static void
tag_attr (GString *s, const gchar *name, const gchar *value)
{
	g_autofree gchar *e = NULL;
	if (value == NULL)
		return;
	e = g_markup_escape_text (value, -1);
	g_string_append_printf (s, " %s=\"%s\"", name, e);
}

/* The options of `virt-aleph tag` the element is built from. */
typedef struct {
	gchar *disk, *sev_type, *snp_runtime, *policy, *local, *fw_sha, *fw_ref, *fw_file, *api,
	    *crn, *payment, *store_payment, *rootfs, *memory, *name, *ssh_key, *ports;
	gchar *from_file;       /* --file: the element as it is, instead of the options */
	gchar *ssh_key_file;    /* --ssh-key-file: read into ssh_key */
	gchar *rootfs_ref;      /* --rootfs: an existing image's STORE */
	gchar *passphrase_file; /* --passphrase-file: that image's passphrase */
	gchar *config_path;     /* --config: virt-alephd's, for its state-dir */
	gint vcpus;
	gboolean es, publish;
	gboolean dry_run, approve;
} TagOptions;

static void
tag_options_clear (TagOptions *o)
{
	g_free (o->disk);
	g_free (o->sev_type);
	g_free (o->snp_runtime);
	g_free (o->policy);
	g_free (o->local);
	g_free (o->fw_sha);
	g_free (o->fw_ref);
	g_free (o->fw_file);
	g_free (o->api);
	g_free (o->crn);
	g_free (o->payment);
	g_free (o->store_payment);
	g_free (o->rootfs);
	g_free (o->memory);
	g_free (o->name);
	g_free (o->ssh_key);
	g_free (o->ports);
	g_free (o->from_file);
	g_free (o->ssh_key_file);
	g_free (o->rootfs_ref);
	g_free (o->passphrase_file);
	g_free (o->config_path);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (TagOptions, tag_options_clear)

/* Whether any option that describes the element was given (--approve takes none). */
static gboolean
tag_options_any (const TagOptions *o)
{
	return o->disk != NULL || o->sev_type != NULL || o->snp_runtime != NULL || o->policy != NULL
	       || o->es || o->local != NULL || o->fw_sha != NULL || o->fw_ref != NULL
	       || o->fw_file != NULL || o->publish || o->api != NULL || o->crn != NULL
	       || o->payment != NULL || o->store_payment != NULL || o->rootfs != NULL
	       || o->vcpus != 0 || o->memory != NULL || o->name != NULL || o->ssh_key != NULL
	       || o->ssh_key_file != NULL || o->ports != NULL || o->rootfs_ref != NULL
	       || o->passphrase_file != NULL;
}

/* --memory and --rootfs-size: a bare number is MiB, as aleph-client's options; the attribute
 * gets the size with its unit (the tag refuses a bare number) */
static gboolean
tag_option_size (const gchar *option, gchar **value, GError **error)
{
	guint64 bytes = 0;
	if (*value == NULL)
		return TRUE;
	if (!ac_size_parse (*value, AC_SIZE_BARE_MIB, &bytes, error)) {
		g_prefix_error (error, "%s: ", option);
		return FALSE;
	}
	g_free (*value);
	*value = ac_size_format (bytes);
	return TRUE;
}

/* --ssh-key-file: the first key line of an OpenSSH public key file (~/.ssh/id_ed25519.pub) */
static gboolean
tag_option_ssh_key_file (TagOptions *o, GError **error)
{
	g_autofree gchar *data = NULL;
	g_auto (GStrv) lines = NULL;

	if (o->ssh_key_file == NULL)
		return TRUE;
	if (o->ssh_key != NULL) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		                     "give --ssh-key or --ssh-key-file, not both");
		return FALSE;
	}
	if (!ac_file_read_bounded (o->ssh_key_file, 64 * 1024, &data, NULL, error)) {
		g_prefix_error (error, "--ssh-key-file: ");
		return FALSE;
	}
	lines = g_strsplit (data, "\n", -1);
	for (guint i = 0; lines[i] != NULL; i++) {
		g_strstrip (lines[i]);
		if (lines[i][0] == '\0' || lines[i][0] == '#')
			continue;
		o->ssh_key = g_strdup (lines[i]);
		return TRUE;
	}
	g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
	             "--ssh-key-file %s holds no key line; expected an OpenSSH public key such as "
	             "~/.ssh/id_ed25519.pub",
	             o->ssh_key_file);
	return FALSE;
}

/* The element the options describe, as text (validated by the caller); not --file. */
static gchar *
tag_options_format (TagOptions *o)
{
	g_autoptr (GString) el = g_string_new (NULL);
	g_autofree gchar *vcpus_str = o->vcpus != 0 ? g_strdup_printf ("%d", o->vcpus) : NULL;
	o->publish = o->publish || o->api != NULL || o->crn != NULL || o->payment != NULL
	             || o->store_payment != NULL || o->rootfs != NULL || o->memory != NULL
	             || o->vcpus != 0 || o->name != NULL || o->ssh_key != NULL || o->ports != NULL
	             || o->rootfs_ref != NULL;
	g_string_append (el, "<aleph:confidential xmlns:aleph=\"" AC_TAG_NS "\">");
	if (o->disk != NULL) {
		g_string_append (el, "<aleph:disk");
		tag_attr (el, "dev", o->disk);
		g_string_append (el, "/>");
	}
	if (o->sev_type != NULL || o->snp_runtime != NULL || o->policy != NULL || o->es) {
		g_string_append (el, "<aleph:sev");
		tag_attr (el, "type", o->sev_type);
		tag_attr (el, "policy", o->policy);
		tag_attr (el, "runtime", o->snp_runtime);
		tag_attr (el, "es", o->es ? "yes" : NULL);
		g_string_append (el, "/>");
	}
	if (o->fw_sha != NULL || o->fw_ref != NULL || o->fw_file != NULL) {
		g_string_append (el, "<aleph:firmware");
		tag_attr (el, "sha256", o->fw_sha);
		tag_attr (el, "ref", o->fw_ref);
		tag_attr (el, "file", o->fw_file);
		g_string_append (el, "/>");
	}
	if (o->local != NULL) {
		g_string_append (el, "<aleph:local");
		tag_attr (el, "mode", o->local);
		g_string_append (el, "/>");
	}
	if (o->publish) {
		g_string_append (el, "<aleph:publish");
		tag_attr (el, "api", o->api);
		tag_attr (el, "crn", o->crn);
		tag_attr (el, "payment", o->payment);
		tag_attr (el, "storePayment", o->store_payment);
		tag_attr (el, "rootfs", o->rootfs_ref);
		tag_attr (el, "rootfsSize", o->rootfs);
		tag_attr (el, "vcpus", vcpus_str);
		tag_attr (el, "memory", o->memory);
		tag_attr (el, "name", o->name);
		tag_attr (el, "sshKey", o->ssh_key);
		tag_attr (el, "ports", o->ports);
		g_string_append (el, "/>");
	}
	g_string_append (el, "</aleph:confidential>");
	return g_strdup (el->str);
}

/* The model of @dom's XML now. */
static AcDomain *
tag_domain_model (virDomainPtr dom, GError **error)
{
	g_autofree gchar *domain_xml = ac_virt_get_xml (dom, error);

	if (domain_xml == NULL)
		return NULL;
	return ac_domain_parse (domain_xml, -1, error);
}

/* The element DOMAIN carries now, written back as is (the service sees the event); @dom and
 * @conn are left open for the rest of the command. */
static gchar *
tag_read_current (AcCliGlobal *global,
                  const gchar *name,
                  virConnectPtr *conn,
                  virDomainPtr *dom,
                  GError **error)
{
	g_autoptr (AcDomain) model = NULL;

	*dom = cli_tag_open_domain (global, name, conn, error);
	if (*dom == NULL)
		return NULL;
	model = tag_domain_model (*dom, error);
	if (model == NULL)
		return NULL;
	if (model->tag == NULL) {
		g_propagate_error (error, g_error_copy (model->tag_error));
		return NULL;
	}
	return ac_tag_format (model->tag);
}

/* The element to set: the one DOMAIN has now (--approve, which opens @dom and @conn), the
 * one of --file, or the one the options describe. */
static gchar *
tag_read_element (AcCliGlobal *global,
                  const gchar *name,
                  TagOptions *o,
                  gboolean approve,
                  virConnectPtr *conn,
                  virDomainPtr *dom,
                  GError **error)
{
	g_autofree gchar *element = NULL;

	if (approve)
		return tag_read_current (global, name, conn, dom, error);
	if (o->from_file != NULL) {
		/* a regular file (or - for stdin) of at most 1 MiB */
		if (!ac_file_read_bounded (o->from_file, 1024 * 1024, &element, NULL, error))
			return NULL;
		return g_steal_pointer (&element);
	}
	return tag_options_format (o);
}

static void
tag_print_dry_run (AcCliGlobal *global, const gchar *name, const gchar *element)
{
	if (global->json) {
		g_autoptr (JsonBuilder) b = json_builder_new ();
		g_autofree gchar *dom_name = g_utf8_make_valid (name, -1);
		json_builder_begin_object (b);
		ac_json_builder_add_string (b, "domain", dom_name);
		ac_json_builder_add_string (b, "tag", element);
		ac_json_builder_add_boolean (b, "dryRun", TRUE);
		json_builder_end_object (b);
		ac_cli_print_json_builder_pretty (b);
	} else {
		printf ("%s", element);
	}
}

/* Validates @tag against the domain (the disk must exist). */
static gboolean
tag_validate_on_domain (virDomainPtr dom, const AcTag *tag, GError **error)
{
	g_autoptr (AcDomain) model = tag_domain_model (dom, error);
	g_autoptr (AcTagDomain) info = NULL;

	if (model == NULL)
		return FALSE;
	info = ac_domain_get_tag_info (model);
	return ac_tag_validate (tag, info, error);
}

/* What the owner says here is what virt-alephd may act on for a remote host: pinned before
 * the tag is set, so a failure changes nothing. Sets @pinned to whether it was pinned. */
static gboolean
tag_pin (AcCliGlobal *global,
         virConnectPtr conn,
         virDomainPtr dom,
         const AcTag *tag,
         gboolean approve,
         const gchar *config_path,
         gboolean *pinned,
         GError **error)
{
	g_autoptr (AcPipelineConfig) config = NULL;
	char uuid[VIR_UUID_STRING_BUFLEN];
	char *uri = virConnectGetURI (conn);

	*pinned = approve || uri == NULL || !ac_secret_store_uri_is_local (uri);
	free (uri);
	if (!*pinned)
		return TRUE;
	config
	    = ac_pipeline_config_load (config_path != NULL ? config_path : AC_DAEMON_CONF, error);
	if (config == NULL)
		return FALSE;
	/* a fleet's host keeps its pins apart: <state-dir>/hosts/NAME */
	ac_cli_scope_state_dir (global, config_path, &config->state_dir);
	if (virDomainGetUUIDString (dom, uuid) < 0) {
		ac_virt_set_error (error, "cannot read the UUID of domain '%s'",
		                   virDomainGetName (dom));
		return FALSE;
	}
	return ac_localsev_pin_write (config->state_dir, uuid, tag, error);
}

/* --passphrase-file with --rootfs: checked against the image's LUKS header and stored before
 * anything else is written (the pin, the tag), so that a wrong passphrase or an image that
 * cannot be fetched leaves the domain as it was, and the flow, which virt-alephd starts as
 * soon as the tag is set, finds the passphrase there. */
static gboolean
tag_store_passphrase (AcCliGlobal *global,
                      const gchar *config_path,
                      virConnectPtr conn,
                      virDomainPtr dom,
                      const AcTag *tag,
                      const gchar *passphrase_file,
                      GError **error)
{
	AcCliStoreRootfsPassphraseFunc store;

	if (passphrase_file == NULL)
		return TRUE;
	if (tag->publish == NULL || tag->publish->rootfs == NULL) {
		g_set_error_literal (
		    error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		    "tag --passphrase-file: only with --rootfs (an existing image); "
		    "a built image has a passphrase of its own");
		return FALSE;
	}
	/* the flow module has the pipeline: this one stays without the network's libraries */
	store = ac_cli_module_symbol ("flow", "ac_cli_store_rootfs_passphrase", error);
	return store != NULL && store (global, config_path, conn, dom, tag, passphrase_file, error);
}

static void
tag_print_result (AcCliGlobal *global,
                  virDomainPtr dom,
                  const gchar *element,
                  gboolean approve,
                  gboolean pin)
{
	if (global->json) {
		g_autoptr (JsonBuilder) b = json_builder_new ();
		json_builder_begin_object (b);
		ac_json_builder_add_string (b, "domain", virDomainGetName (dom));
		ac_json_builder_add_string (b, "tag", element);
		ac_json_builder_add_boolean (b, "approved", pin);
		json_builder_end_object (b);
		ac_cli_print_json_builder_pretty (b);
	} else if (!global->quiet) {
		printf ("%s domain '%s':\n%s", approve ? "Approved the tag of" : "Tagged",
		        virDomainGetName (dom), element);
	}
}

/* The options of `virt-aleph tag` into @o (the context copies the entries). */
static void
tag_add_options (GOptionContext *ctx, TagOptions *o)
{
	const GOptionEntry entries[] = {
		{ "disk", 0, 0, G_OPTION_ARG_STRING, &o->disk,
		  "target dev of the disk to encrypt (default: first disk)", "DEV" },
		{ "sev-type", 0, 0, G_OPTION_ARG_STRING, &o->sev_type,
		  "sev (default), sev-es or snp (SEV-SNP; never downgraded to SEV)", "TYPE" },
		{ "policy", 0, 0, G_OPTION_ARG_STRING, &o->policy,
		  "guest policy: SEV (default 0x1) or, with --sev-type snp, SEV-SNP (default "
		  "0x30000)",
		  "POLICY" },
		{ "snp-runtime", 0, 0, G_OPTION_ARG_STRING, &o->snp_runtime,
		  "with --sev-type snp: STORE item hash of the aleph-instance-runtime/1 manifest",
		  "HASH" },
		{ "es", 0, 0, G_OPTION_ARG_NONE, &o->es, "require SEV-ES", NULL },
		{ "local", 0, 0, G_OPTION_ARG_STRING, &o->local,
		  "local start mode: sev, test or deny", "MODE" },
		{ "firmware-sha256", 0, 0, G_OPTION_ARG_STRING, &o->fw_sha,
		  "SHA-256 of the OVMF firmware", "HEX" },
		{ "firmware-ref", 0, 0, G_OPTION_ARG_STRING, &o->fw_ref,
		  "STORE item hash of the firmware", "HASH" },
		{ "firmware-file", 0, 0, G_OPTION_ARG_FILENAME, &o->fw_file,
		  "local copy of the firmware", "PATH" },
		{ "publish", 0, 0, G_OPTION_ARG_NONE, &o->publish, "deploy the domain to Aleph",
		  NULL },
		{ "api", 0, 0, G_OPTION_ARG_STRING, &o->api, "Aleph API URL (implies --publish)",
		  "URL" },
		{ "crn", 0, 0, G_OPTION_ARG_STRING, &o->crn,
		  "CRN node hash or auto (implies --publish)", "HASH" },
		{ "payment", 0, 0, G_OPTION_ARG_STRING, &o->payment,
		  "the INSTANCE's payment: credit (default; hold and superfluid are refused by the "
		  "network since 2026-03-11) (implies --publish)",
		  "TYPE" },
		{ "store-payment", 0, 0, G_OPTION_ARG_STRING, &o->store_payment,
		  "the image STORE's payment: credit (default) or hold (refused from 2027-01-01) "
		  "(implies --publish)",
		  "TYPE" },
		{ "rootfs", 0, 0, G_OPTION_ARG_STRING, &o->rootfs_ref,
		  "boot an existing encrypted image: the item hash of its STORE (aleph-client's "
		  "--rootfs); nothing is built (implies --publish)",
		  "HASH" },
		{ "passphrase-file", 0, 0, G_OPTION_ARG_FILENAME, &o->passphrase_file,
		  "with --rootfs: the image's passphrase (alone on one line of FILE), checked "
		  "against its "
		  "LUKS header and kept in libvirt's secret store",
		  "FILE" },
		{ "rootfs-size", 0, 0, G_OPTION_ARG_STRING, &o->rootfs,
		  "root filesystem size on Aleph, e.g. 20GiB; a bare number is MiB, as "
		  "aleph-client's (20480)",
		  "SIZE" },
		{ "vcpus", 0, 0, G_OPTION_ARG_INT, &o->vcpus,
		  "vCPUs on Aleph (default: the domain's)", "N" },
		{ "memory", 0, 0, G_OPTION_ARG_STRING, &o->memory,
		  "memory on Aleph, e.g. 4GiB; a bare number is MiB, as aleph-client's (4096) "
		  "(default: the domain's)",
		  "SIZE" },
		{ "name", 0, 0, G_OPTION_ARG_STRING, &o->name,
		  "instance name on Aleph (default: the domain's)", "NAME" },
		{ "ssh-key", 0, 0, G_OPTION_ARG_STRING, &o->ssh_key,
		  "OpenSSH public key line for the instance (default: ~/.ssh/id_ed25519.pub, "
		  "id_ecdsa.pub or id_rsa.pub when the flow runs)",
		  "KEY" },
		{ "ssh-key-file", 0, 0, G_OPTION_ARG_FILENAME, &o->ssh_key_file,
		  "the instance's OpenSSH public key, from FILE (aleph-client's --ssh-pubkey-file)",
		  "PATH" },
		{ "ports", 0, 0, G_OPTION_ARG_STRING, &o->ports, "published ports, e.g. 22,80/tcp",
		  "LIST" },
		{ "file", 0, 0, G_OPTION_ARG_FILENAME, &o->from_file,
		  "take the element from FILE instead of options", "FILE" },
		{ "dry-run", 0, 0, G_OPTION_ARG_NONE, &o->dry_run,
		  "print the element, change nothing", NULL },
		{ "approve", 0, 0, G_OPTION_ARG_NONE, &o->approve,
		  "approve the tag DOMAIN has now (changed on a remote host) for virt-alephd",
		  NULL },
		{ "config", 0, 0, G_OPTION_ARG_FILENAME, &o->config_path,
		  "virt-alephd's configuration, for its state-dir (default " AC_DAEMON_CONF ")",
		  "FILE" },
		{ NULL },
	};
	g_option_context_add_main_entries (ctx, entries, NULL);
}

int
ac_cli_cmd_tag (AcCliGlobal *global, int argc, char **argv)
{
	g_auto (TagOptions) o = { 0 };
	g_autoptr (GOptionContext) ctx = ac_cli_option_context_new (
	    global, "DOMAIN",
	    "Add (or replace) the <aleph:confidential> element of DOMAIN. The element is "
	    "validated against the domain before it is set; nothing is changed on error.\n\n"
	    "Over a remote connection (qemu+ssh://) the tag written here is also the one the "
	    "owner approves: virt-alephd acts only on it, and refuses a tag the host changed "
	    "until it is approved with --approve (run on this, the trusted, machine).");
	g_autoptr (GError) error = NULL;
	g_autoptr (virConnect) conn = NULL;
	g_autoptr (virDomain) dom = NULL;
	g_autofree gchar *element = NULL;
	g_autoptr (AcTag) tag = NULL;
	gboolean pin = FALSE;

	tag_add_options (ctx, &o);
	if (!ac_cli_parse_args (ctx, &argc, &argv, 1, "tag: expected one DOMAIN", &error))
		return ac_cli_fail (global, g_steal_pointer (&error));

	if (o.approve && (o.from_file != NULL || tag_options_any (&o) || o.dry_run))
		return ac_cli_fail (
		    global, g_error_new_literal (
		                AC_ERROR, AC_ERROR_INVALID_INPUT,
		                "tag --approve: approves the tag DOMAIN has now and takes no other "
		                "tag option; to change the tag, tag it again without --approve"));
	if (!tag_option_size ("--memory", &o.memory, &error)
	    || !tag_option_size ("--rootfs-size", &o.rootfs, &error)
	    || !tag_option_ssh_key_file (&o, &error))
		return ac_cli_fail (global, g_steal_pointer (&error));
	element = tag_read_element (global, argv[1], &o, o.approve, &conn, &dom, &error);
	if (element == NULL)
		return ac_cli_fail (global, g_steal_pointer (&error));

	/* Validate alone first (clear errors without a libvirt round trip), then against the
	 * domain (the disk must exist), and set the canonical form. */
	tag = ac_tag_parse (element, -1, NULL, &error);
	if (tag == NULL)
		return ac_cli_fail (global, g_steal_pointer (&error));
	g_free (element);
	element = ac_tag_format (tag);
	if (o.dry_run) {
		tag_print_dry_run (global, argv[1], element);
		return AC_EXIT_OK;
	}
	if (dom == NULL)
		dom = cli_tag_open_domain (global, argv[1], &conn, &error);
	if (dom == NULL)
		return ac_cli_fail (global, g_steal_pointer (&error));
	if (!tag_validate_on_domain (dom, tag, &error))
		return ac_cli_fail (global, g_steal_pointer (&error));
	if (!tag_store_passphrase (global, o.config_path, conn, dom, tag, o.passphrase_file, &error)
	    || !tag_pin (global, conn, dom, tag, o.approve, o.config_path, &pin, &error)
	    || !ac_virt_set_metadata (dom, AC_TAG_PREFIX, AC_TAG_NS, element, &error))
		return ac_cli_fail (global, g_steal_pointer (&error));
	tag_print_result (global, dom, element, o.approve, pin);
	return AC_EXIT_OK;
}

int
ac_cli_cmd_untag (AcCliGlobal *global, int argc, char **argv)
{
	g_autoptr (GOptionContext) ctx = ac_cli_option_context_new (
	    global, "DOMAIN",
	    "Remove the <aleph:confidential> element of DOMAIN (and the status the service "
	    "wrote). Images, secrets and Aleph instances are left alone.");
	g_autoptr (GError) error = NULL;
	g_autoptr (virConnect) conn = NULL;
	g_autoptr (virDomain) dom = NULL;
	g_autofree gchar *current = NULL;
	gboolean status_removed = FALSE;

	if (!ac_cli_parse_args (ctx, &argc, &argv, 1, "untag: expected one DOMAIN", &error))
		return ac_cli_fail (global, g_steal_pointer (&error));
	dom = cli_tag_open_domain (global, argv[1], &conn, &error);
	if (dom == NULL)
		return ac_cli_fail (global, g_steal_pointer (&error));
	current = ac_virt_get_metadata (dom, AC_TAG_NS, &error);
	if (current == NULL) {
		/* nothing to remove: still an error (not-found), with what a script needs */
		g_autoptr (JsonObject) extra = json_object_new ();
		json_object_set_string_member (extra, "domain", virDomainGetName (dom));
		json_object_set_boolean_member (extra, "removed", FALSE);
		return ac_cli_fail_with (global, g_steal_pointer (&error), extra);
	}
	if (!ac_virt_set_metadata (dom, AC_TAG_PREFIX, AC_TAG_NS, NULL, &error))
		return ac_cli_fail (global, g_steal_pointer (&error));
	g_clear_pointer (&current, g_free);
	current = ac_virt_get_metadata (dom, AC_STATUS_NS, NULL);
	if (current != NULL
	    && !ac_virt_set_metadata (dom, AC_STATUS_PREFIX, AC_STATUS_NS, NULL, &error))
		return ac_cli_fail (global, g_steal_pointer (&error));
	status_removed = current != NULL;
	if (global->json) {
		g_autoptr (JsonBuilder) b = json_builder_new ();
		json_builder_begin_object (b);
		ac_json_builder_add_string (b, "domain", virDomainGetName (dom));
		ac_json_builder_add_boolean (b, "removed", TRUE);
		ac_json_builder_add_boolean (b, "statusRemoved", status_removed);
		json_builder_end_object (b);
		ac_cli_print_json_builder_pretty (b);
	} else if (!global->quiet) {
		printf ("Untagged domain '%s'\n", virDomainGetName (dom));
	}
	return AC_EXIT_OK;
}

int
ac_cli_cmd_validate (AcCliGlobal *global, int argc, char **argv)
{
	g_autoptr (GOptionContext) ctx = ac_cli_option_context_new (
	    global, "FILE",
	    "Check the <aleph:confidential> element in FILE (a domain XML, or the element "
	    "alone; - for standard input) and print its canonical form.");
	g_autoptr (GError) error = NULL;
	g_autofree gchar *xml = NULL;
	gsize len = 0;
	g_autoptr (AcTag) tag = NULL;
	g_autofree gchar *formatted = NULL;

	if (!ac_cli_parse_args (ctx, &argc, &argv, 1, "validate: expected one FILE", &error))
		return ac_cli_fail (global, g_steal_pointer (&error));
	/* a regular file or - for stdin, at most 1 MiB (a domain's XML is a few KiB) */
	if (!ac_file_read_bounded (argv[1], 1024 * 1024, &xml, &len, &error))
		return ac_cli_fail (global, g_steal_pointer (&error));
	tag = ac_tag_parse (xml, (gssize)len, NULL, &error);
	if (tag == NULL) {
		g_prefix_error (&error, "%s: ", argv[1]);
		return ac_cli_fail (global, g_steal_pointer (&error));
	}
	formatted = ac_tag_format (tag);
	if (global->json) {
		g_autoptr (JsonBuilder) b = json_builder_new ();
		g_autofree gchar *file = g_filename_display_name (argv[1]);
		json_builder_begin_object (b);
		ac_json_builder_add_string (b, "file", file);
		ac_json_builder_add_boolean (b, "valid", TRUE);
		ac_json_builder_add_string (b, "tag", formatted);
		json_builder_end_object (b);
		ac_cli_print_json_builder_pretty (b);
	} else if (!global->quiet) {
		printf ("%s", formatted);
	}
	return AC_EXIT_OK;
}
