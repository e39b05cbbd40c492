/*
 * virt-aleph tag | untag | status | validate
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
#include "ac-localsev-pin.h"
#include "ac-pipeline.h"
#include "ac-secret-store.h"
#include "ac-sev-policy.h"
#include "ac-size.h"
#include "ac-snp-policy.h"
#include "ac-status.h"
#include "ac-tag.h"
#include "ac-virt.h"

static virDomainPtr
open_domain (AcCliGlobal *global, const gchar *name, virConnectPtr *conn_out, GError **error)
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

static void
print_json (JsonBuilder *b)
{
	g_autoptr(JsonNode) root = json_builder_get_root (b);
	g_autofree gchar *text = json_to_string (root, TRUE);
	printf ("%s\n", text);
}

/* Appends an attribute to an element being built as text. */
static void
attr (GString *s, const gchar *name, const gchar *value)
{
	g_autofree gchar *e = NULL;
	if (value == NULL)
		return;
	e = g_markup_escape_text (value, -1);
	g_string_append_printf (s, " %s=\"%s\"", name, e);
}

/* The options of `virt-aleph tag` the element is built from. */
typedef struct {
	gchar *disk, *sev_type, *snp_runtime, *policy, *local, *fw_sha, *fw_ref, *fw_file, *api, *crn, *payment,
	    *store_payment, *rootfs, *memory, *name, *ssh_key, *ports;
	gchar *from_file; /* --file: the element as it is, instead of the options */
	gchar *ssh_key_file; /* --ssh-key-file: read into ssh_key */
	gchar *rootfs_ref;   /* --rootfs: an existing image's STORE */
	gchar *passphrase_file; /* --passphrase-file: that image's passphrase */
	gint vcpus;
	gboolean es, publish;
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
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (TagOptions, tag_options_clear)

/* Whether any option that describes the element was given (--approve takes none). */
static gboolean
tag_options_any (const TagOptions *o)
{
	return o->disk != NULL || o->sev_type != NULL || o->snp_runtime != NULL
	       || o->policy != NULL || o->es || o->local != NULL
	       || o->fw_sha != NULL || o->fw_ref != NULL || o->fw_file != NULL || o->publish
	       || o->api != NULL || o->crn != NULL || o->payment != NULL || o->store_payment != NULL
	       || o->rootfs != NULL || o->vcpus != 0 || o->memory != NULL || o->name != NULL
	       || o->ssh_key != NULL || o->ssh_key_file != NULL || o->ports != NULL
	       || o->rootfs_ref != NULL || o->passphrase_file != NULL;
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
		attr (el, "dev", o->disk);
		g_string_append (el, "/>");
	}
	if (o->sev_type != NULL || o->snp_runtime != NULL || o->policy != NULL || o->es) {
		g_string_append (el, "<aleph:sev");
		attr (el, "type", o->sev_type);
		attr (el, "policy", o->policy);
		attr (el, "runtime", o->snp_runtime);
		attr (el, "es", o->es ? "yes" : NULL);
		g_string_append (el, "/>");
	}
	if (o->fw_sha != NULL || o->fw_ref != NULL || o->fw_file != NULL) {
		g_string_append (el, "<aleph:firmware");
		attr (el, "sha256", o->fw_sha);
		attr (el, "ref", o->fw_ref);
		attr (el, "file", o->fw_file);
		g_string_append (el, "/>");
	}
	if (o->local != NULL) {
		g_string_append (el, "<aleph:local");
		attr (el, "mode", o->local);
		g_string_append (el, "/>");
	}
	if (o->publish) {
		g_string_append (el, "<aleph:publish");
		attr (el, "api", o->api);
		attr (el, "crn", o->crn);
		attr (el, "payment", o->payment);
		attr (el, "storePayment", o->store_payment);
		attr (el, "rootfs", o->rootfs_ref);
		attr (el, "rootfsSize", o->rootfs);
		attr (el, "vcpus", vcpus_str);
		attr (el, "memory", o->memory);
		attr (el, "name", o->name);
		attr (el, "sshKey", o->ssh_key);
		attr (el, "ports", o->ports);
		g_string_append (el, "/>");
	}
	g_string_append (el, "</aleph:confidential>");
	return g_strdup (el->str);
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
	g_autofree gchar *domain_xml = NULL;
	g_autoptr (AcDomain) model = NULL;

	*dom = open_domain (global, name, conn, error);
	if (*dom == NULL)
		return NULL;
	domain_xml = ac_virt_get_xml (*dom, error);
	if (domain_xml == NULL)
		return NULL;
	model = ac_domain_parse (domain_xml, -1, error);
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
		json_builder_set_member_name (b, "domain");
		json_builder_add_string_value (b, dom_name);
		json_builder_set_member_name (b, "tag");
		json_builder_add_string_value (b, element);
		json_builder_set_member_name (b, "dryRun");
		json_builder_add_boolean_value (b, TRUE);
		json_builder_end_object (b);
		print_json (b);
	} else {
		printf ("%s", element);
	}
}

/* Validates @tag against the domain (the disk must exist). */
static gboolean
tag_validate_on_domain (virDomainPtr dom, const AcTag *tag, GError **error)
{
	g_autofree gchar *domain_xml = NULL;
	g_autoptr (AcDomain) model = NULL;
	g_autoptr (AcTagDomain) info = NULL;

	domain_xml = ac_virt_get_xml (dom, error);
	if (domain_xml == NULL)
		return FALSE;
	model = ac_domain_parse (domain_xml, -1, error);
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
		json_builder_set_member_name (b, "domain");
		json_builder_add_string_value (b, virDomainGetName (dom));
		json_builder_set_member_name (b, "tag");
		json_builder_add_string_value (b, element);
		json_builder_set_member_name (b, "approved");
		json_builder_add_boolean_value (b, pin);
		json_builder_end_object (b);
		print_json (b);
	} else if (!global->quiet) {
		printf ("%s domain '%s':\n%s", approve ? "Approved the tag of" : "Tagged",
		        virDomainGetName (dom), element);
	}
}

int
ac_cli_cmd_tag (AcCliGlobal *global, int argc, char **argv)
{
	g_auto (TagOptions) o = { 0 };
	g_autofree gchar *config_path = NULL;
	gboolean dry_run = FALSE, approve = FALSE;
	g_autoptr(GOptionContext) ctx = ac_cli_option_context_new (global, "DOMAIN",
		"Add (or replace) the <aleph:confidential> element of DOMAIN. The element is "
		"validated against the domain before it is set; nothing is changed on error.\n\n"
		"Over a remote connection (qemu+ssh://) the tag written here is also the one the "
		"owner approves: virt-alephd acts only on it, and refuses a tag the host changed "
		"until it is approved with --approve (run on this, the trusted, machine).");
	const GOptionEntry entries[] = {
		{ "disk", 0, 0, G_OPTION_ARG_STRING, &o.disk,
		  "target dev of the disk to encrypt (default: first disk)", "DEV" },
		{ "sev-type", 0, 0, G_OPTION_ARG_STRING, &o.sev_type,
		  "sev (default), sev-es or snp (SEV-SNP; never downgraded to SEV)", "TYPE" },
		{ "policy", 0, 0, G_OPTION_ARG_STRING, &o.policy,
		  "guest policy: SEV (default 0x1) or, with --sev-type snp, SEV-SNP (default 0x30000)",
		  "POLICY" },
		{ "snp-runtime", 0, 0, G_OPTION_ARG_STRING, &o.snp_runtime,
		  "with --sev-type snp: STORE item hash of the aleph-instance-runtime/1 manifest",
		  "HASH" },
		{ "es", 0, 0, G_OPTION_ARG_NONE, &o.es, "require SEV-ES", NULL },
		{ "local", 0, 0, G_OPTION_ARG_STRING, &o.local,
		  "local start mode: sev, test or deny", "MODE" },
		{ "firmware-sha256", 0, 0, G_OPTION_ARG_STRING, &o.fw_sha,
		  "SHA-256 of the OVMF firmware", "HEX" },
		{ "firmware-ref", 0, 0, G_OPTION_ARG_STRING, &o.fw_ref,
		  "STORE item hash of the firmware", "HASH" },
		{ "firmware-file", 0, 0, G_OPTION_ARG_FILENAME, &o.fw_file,
		  "local copy of the firmware", "PATH" },
		{ "publish", 0, 0, G_OPTION_ARG_NONE, &o.publish, "deploy the domain to Aleph",
		  NULL },
		{ "api", 0, 0, G_OPTION_ARG_STRING, &o.api, "Aleph API URL (implies --publish)",
		  "URL" },
		{ "crn", 0, 0, G_OPTION_ARG_STRING, &o.crn,
		  "CRN node hash or auto (implies --publish)", "HASH" },
		{ "payment", 0, 0, G_OPTION_ARG_STRING, &o.payment,
		  "the INSTANCE's payment: credit (default; hold and superfluid are refused by the "
		  "network since 2026-03-11) (implies --publish)",
		  "TYPE" },
		{ "store-payment", 0, 0, G_OPTION_ARG_STRING, &o.store_payment,
		  "the image STORE's payment: credit (default) or hold (refused from 2027-01-01) "
		  "(implies --publish)",
		  "TYPE" },
		{ "rootfs", 0, 0, G_OPTION_ARG_STRING, &o.rootfs_ref,
		  "boot an existing encrypted image: the item hash of its STORE (aleph-client's "
		  "--rootfs); nothing is built (implies --publish)", "HASH" },
		{ "passphrase-file", 0, 0, G_OPTION_ARG_FILENAME, &o.passphrase_file,
		  "with --rootfs: the image's passphrase (first line of FILE), checked against its "
		  "LUKS header and kept in libvirt's secret store", "FILE" },
		{ "rootfs-size", 0, 0, G_OPTION_ARG_STRING, &o.rootfs,
		  "root filesystem size on Aleph, e.g. 20GiB; a bare number is MiB, as "
		  "aleph-client's (20480)", "SIZE" },
		{ "vcpus", 0, 0, G_OPTION_ARG_INT, &o.vcpus,
		  "vCPUs on Aleph (default: the domain's)", "N" },
		{ "memory", 0, 0, G_OPTION_ARG_STRING, &o.memory,
		  "memory on Aleph, e.g. 4GiB; a bare number is MiB, as aleph-client's (4096) "
		  "(default: the domain's)", "SIZE" },
		{ "name", 0, 0, G_OPTION_ARG_STRING, &o.name,
		  "instance name on Aleph (default: the domain's)", "NAME" },
		{ "ssh-key", 0, 0, G_OPTION_ARG_STRING, &o.ssh_key,
		  "OpenSSH public key line for the instance (default: ~/.ssh/id_ed25519.pub, "
		  "id_ecdsa.pub or id_rsa.pub when the flow runs)", "KEY" },
		{ "ssh-key-file", 0, 0, G_OPTION_ARG_FILENAME, &o.ssh_key_file,
		  "the instance's OpenSSH public key, from FILE (aleph-client's --ssh-pubkey-file)",
		  "PATH" },
		{ "ports", 0, 0, G_OPTION_ARG_STRING, &o.ports, "published ports, e.g. 22,80/tcp",
		  "LIST" },
		{ "file", 0, 0, G_OPTION_ARG_FILENAME, &o.from_file,
		  "take the element from FILE instead of options", "FILE" },
		{ "dry-run", 0, 0, G_OPTION_ARG_NONE, &dry_run, "print the element, change nothing",
		  NULL },
		{ "approve", 0, 0, G_OPTION_ARG_NONE, &approve,
		  "approve the tag DOMAIN has now (changed on a remote host) for virt-alephd",
		  NULL },
		{ "config", 0, 0, G_OPTION_ARG_FILENAME, &config_path,
		  "virt-alephd's configuration, for its state-dir (default " AC_DAEMON_CONF ")",
		  "FILE" },
		{ NULL },
	};
	g_autoptr(GError) error = NULL;
	g_autoptr(virConnect) conn = NULL;
	g_autoptr (virDomain) dom = NULL;
	g_autofree gchar *element = NULL;
	g_autoptr (AcTag) tag = NULL;
	gboolean pin = FALSE;

	g_option_context_add_main_entries (ctx, entries, NULL);
	if (!ac_cli_parse (ctx, &argc, &argv, &error))
		return ac_cli_fail (global, g_steal_pointer (&error));
	if (argc != 2)
		return ac_cli_fail (global, g_error_new (AC_ERROR, AC_ERROR_INVALID_INPUT,
							 "tag: expected one DOMAIN, got %d arguments", argc - 1));

	if (approve && (o.from_file != NULL || tag_options_any (&o) || dry_run))
		return ac_cli_fail (
		    global, g_error_new_literal (
		                AC_ERROR, AC_ERROR_INVALID_INPUT,
		                "tag --approve: approves the tag DOMAIN has now and takes no other "
		                "tag option; to change the tag, tag it again without --approve"));
	if (!tag_option_size ("--memory", &o.memory, &error) ||
	    !tag_option_size ("--rootfs-size", &o.rootfs, &error) ||
	    !tag_option_ssh_key_file (&o, &error))
		return ac_cli_fail (global, g_steal_pointer (&error));
	element = tag_read_element (global, argv[1], &o, approve, &conn, &dom, &error);
	if (element == NULL)
		return ac_cli_fail (global, g_steal_pointer (&error));

	/* Validate alone first (clear errors without a libvirt round trip), then against the
	 * domain (the disk must exist), and set the canonical form. */
	tag = ac_tag_parse (element, -1, NULL, &error);
	if (tag == NULL)
		return ac_cli_fail (global, g_steal_pointer (&error));
	g_free (element);
	element = ac_tag_format (tag);
	if (dry_run) {
		tag_print_dry_run (global, argv[1], element);
		return AC_EXIT_OK;
	}
	if (dom == NULL)
		dom = open_domain (global, argv[1], &conn, &error);
	if (dom == NULL)
		return ac_cli_fail (global, g_steal_pointer (&error));
	if (!tag_validate_on_domain (dom, tag, &error))
		return ac_cli_fail (global, g_steal_pointer (&error));
	if (!tag_pin (global, conn, dom, tag, approve, config_path, &pin, &error))
		return ac_cli_fail (global, g_steal_pointer (&error));
	if (o.passphrase_file != NULL && (tag->publish == NULL || tag->publish->rootfs == NULL))
		return ac_cli_fail (global, g_error_new_literal (
		                                AC_ERROR, AC_ERROR_INVALID_INPUT,
		                                "tag --passphrase-file: only with --rootfs (an "
		                                "existing image); a built image has a passphrase "
		                                "of its own"));
	if (!ac_virt_set_metadata (dom, AC_TAG_PREFIX, AC_TAG_NS, element, &error))
		return ac_cli_fail (global, g_steal_pointer (&error));
	if (o.passphrase_file != NULL) {
		/* the flow module has the pipeline: this one stays without the network's libraries */
		AcCliStoreRootfsPassphraseFunc store = ac_cli_module_symbol (
		    "flow", "ac_cli_store_rootfs_passphrase", &error);
		if (store == NULL
		    || !store (global, config_path, conn, dom, o.passphrase_file, &error)) {
			g_prefix_error (&error, "domain '%s' is tagged, but its image's passphrase "
			                        "was not stored: ",
			                virDomainGetName (dom));
			return ac_cli_fail (global, g_steal_pointer (&error));
		}
	}
	tag_print_result (global, dom, element, approve, pin);
	return AC_EXIT_OK;
}

int
ac_cli_cmd_untag (AcCliGlobal *global, int argc, char **argv)
{
	g_autoptr(GOptionContext) ctx = ac_cli_option_context_new (global, "DOMAIN",
		"Remove the <aleph:confidential> element of DOMAIN (and the status the service "
		"wrote). Images, secrets and Aleph instances are left alone.");
	g_autoptr(GError) error = NULL;
	g_autoptr(virConnect) conn = NULL;
	g_autoptr(virDomain) dom = NULL;
	g_autofree gchar *current = NULL;
	gboolean status_removed = FALSE;

	if (!ac_cli_parse (ctx, &argc, &argv, &error))
		return ac_cli_fail (global, g_steal_pointer (&error));
	if (argc != 2)
		return ac_cli_fail (global, g_error_new (AC_ERROR, AC_ERROR_INVALID_INPUT,
							 "untag: expected one DOMAIN, got %d arguments", argc - 1));
	dom = open_domain (global, argv[1], &conn, &error);
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
	if (current != NULL && !ac_virt_set_metadata (dom, AC_STATUS_PREFIX, AC_STATUS_NS, NULL, &error))
		return ac_cli_fail (global, g_steal_pointer (&error));
	status_removed = current != NULL;
	if (global->json) {
		g_autoptr (JsonBuilder) b = json_builder_new ();
		json_builder_begin_object (b);
		json_builder_set_member_name (b, "domain");
		json_builder_add_string_value (b, virDomainGetName (dom));
		json_builder_set_member_name (b, "removed");
		json_builder_add_boolean_value (b, TRUE);
		json_builder_set_member_name (b, "statusRemoved");
		json_builder_add_boolean_value (b, status_removed);
		json_builder_end_object (b);
		print_json (b);
	} else if (!global->quiet) {
		printf ("Untagged domain '%s'\n", virDomainGetName (dom));
	}
	return AC_EXIT_OK;
}

static void
json_member (JsonBuilder *b, const gchar *name, const gchar *value)
{
	if (value == NULL)
		return;
	json_builder_set_member_name (b, name);
	json_builder_add_string_value (b, value);
}

static gboolean
status_is_final (const AcStatus *st, gboolean published)
{
	const gchar *finals[] = { "running", "failed", "invalid", "erased", "stopped", "forgotten", NULL };
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
	return ac_cli_fail_with (global,
				 g_error_new (AC_ERROR, AC_ERROR_NOT_FOUND,
					      "domain '%s' is not tagged (no <aleph:confidential> element): "
					      "virt-alephd has nothing to do for it; tag it with 'virt-aleph tag %s' "
					      "(--publish to deploy it to Aleph)",
					      name, name),
				 extra);
}

/* The error when nothing shows that virt-alephd works on the domain. */
static int
status_service_silent (AcCliGlobal *global, virDomainPtr dom, const AcStatus *st, gboolean tag_changed,
		       guint waited_s)
{
	const gchar *name = virDomainGetName (dom);
	g_autoptr (JsonObject) extra = json_object_new ();
	GError *error;

	json_object_set_string_member (extra, "domain", name);
	json_object_set_string_member (extra, "reason", "service-silent");
	if (st == NULL)
		error = g_error_new (AC_ERROR, AC_ERROR_NOT_FOUND,
				     "virt-alephd wrote no status for domain '%s' in %u s: is virt-alephd "
				     "running, connected to %s? ('virt-aleph doctor %s')",
				     name, waited_s, ac_cli_get_uri (global), name);
	else if (tag_changed)
		error = g_error_new (AC_ERROR, AC_ERROR_NOT_FOUND,
				     "the tag of domain '%s' changed, and virt-alephd has not taken it up in "
				     "%u s (the status is still the earlier tag's: %s at step %s): is "
				     "virt-alephd running, connected to %s? ('virt-aleph doctor %s')",
				     name, waited_s, st->state, st->step != NULL ? st->step : "-",
				     ac_cli_get_uri (global), name);
	else if (g_strcmp0 (st->state, "interrupted") == 0)
		error = g_error_new (AC_ERROR, AC_ERROR_NOT_FOUND,
				     "the run of domain '%s' was interrupted at step %s (%s), and virt-alephd "
				     "has not resumed it: is virt-alephd running, connected to %s? "
				     "('virt-aleph doctor %s')",
				     name, st->error_step != NULL ? st->error_step : "-",
				     st->updated != NULL ? st->updated : "?", ac_cli_get_uri (global), name);
	else
		error = g_error_new (AC_ERROR, AC_ERROR_NOT_FOUND,
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
		g_autofree gchar *event = ac_cli_status_event_to_string (virDomainGetName (dom), st);
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
	return g_strdup_printf ("%s %-12s %-20s %3u%%%s%s%s", st->updated != NULL ? st->updated : "",
				st->state, st->step != NULL ? st->step : "-", st->progress,
				bytes != NULL ? bytes : "",
				st->error_message != NULL ? "  " : "",
				st->error_message != NULL ? st->error_message : "");
}

/* "still at step X (elapsed Ys)": nothing changed for a while, but the follow is alive. */
static void
status_follow_heartbeat (AcCliGlobal *global, virDomainPtr dom, const AcStatus *st, gint64 elapsed_s)
{
	if (global->json) {
		g_autoptr (JsonBuilder) b = json_builder_new ();
		json_builder_begin_object (b);
		json_builder_set_member_name (b, "event");
		json_builder_add_string_value (b, "heartbeat");
		json_builder_set_member_name (b, "domain");
		json_builder_add_string_value (b, virDomainGetName (dom));
		if (st != NULL) {
			json_builder_set_member_name (b, "state");
			json_builder_add_string_value (b, st->state != NULL ? st->state : "");
			json_builder_set_member_name (b, "step");
			json_builder_add_string_value (b, st->step != NULL ? st->step : "");
		}
		json_builder_set_member_name (b, "elapsed");
		json_builder_add_int_value (b, elapsed_s);
		json_builder_end_object (b);
		ac_cli_print_json_builder (b);
		return;
	}
	if (st == NULL)
		printf ("still waiting for virt-alephd to write the status of '%s' (elapsed %" G_GINT64_FORMAT "s)\n",
			virDomainGetName (dom), elapsed_s);
	else
		printf ("still at step %s (%s, elapsed %" G_GINT64_FORMAT "s)\n", st->step != NULL ? st->step : "-",
			st->state, elapsed_s);
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
	gint64 printed_at = g_get_monotonic_time ();   /* the last line printed */
	gint64 changed_at = printed_at;                /* the last change of what virt-alephd wrote */
	gint64 step_seen_at = printed_at;              /* when this follow saw the step begin */
	gboolean first = TRUE;

	for (;;) {
		g_autoptr(GError) error = NULL;
		g_autofree gchar *xml = ac_virt_get_xml (dom, &error);
		g_autoptr(AcStatus) st = NULL;
		g_autoptr(AcDomain) model = NULL;
		const AcTag *tag;
		g_autofree gchar *line = NULL;
		g_autoptr(GDateTime) now_utc = g_date_time_new_now_utc ();
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
			if (kept && ac_cli_status_tag_changed (st, model) && !global->json && !global->quiet &&
			    printed_at == now)
				printf ("note: the tag changed after the instance was published; virt-alephd "
					"leaves the running instance as it is ('virt-aleph erase %s', then the new "
					"tag is deployed)\n",
					virDomainGetName (dom));
			/* a failure of an earlier tag is not the domain's: wait for the new run */
			if (!tag_changed && status_is_final (st, tag != NULL && tag->publish != NULL))
				return g_strcmp0 (st->state, "failed") == 0
				               || g_strcmp0 (st->state, "invalid") == 0
				           ? status_follow_failed (global, dom, st)
				           : AC_EXIT_OK;
		}

		/* virt-alephd writes a status at once for a new tag, and refreshes one of work in
		 * progress every AC_STATUS_HEARTBEAT_S: silence for wait_s means it is not there.
		 * The time recorded counts too, beyond what clocks of two machines may differ by. */
		/* an interrupted run is resumed as soon as virt-alephd runs again */
		waiting_for_service = st == NULL || tag_changed || ac_status_is_work_in_progress (st) ||
				      g_strcmp0 (st->state, "interrupted") == 0;
		age = st != NULL ? ac_status_age_s (st->updated, now_utc) : -1;
		silent = (now - changed_at) / G_USEC_PER_SEC >= wait_s ||
			 (st != NULL && !tag_changed && age > (gint64)wait_s + 120);
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
		json_member (b, "host", v->host);
	json_member (b, "domain", v->name);
	json_builder_set_member_name (b, "tagged");
	json_builder_add_boolean_value (b, v->tagged);
	if (v->tag_error != NULL)
		json_member (b, "tagError", v->tag_error->message);
	if (tag != NULL) {
		g_autofree gchar *policy
		    = tag->tee == AC_TEE_SNP
		          ? g_strdup_printf ("0x%" G_GINT64_MODIFIER "x", tag->snp_policy)
		          : g_strdup_printf ("0x%x", tag->policy);
		json_member (b, "tee", ac_tag_get_tee_name (tag));
		json_member (b, "policy", policy);
		json_member (b, "runtime", tag->snp_runtime);
		json_member (b, "localMode", ac_local_mode_to_string (tag->local_mode));
		json_builder_set_member_name (b, "publish");
		json_builder_add_boolean_value (b, tag->publish != NULL);
	}
	if (st != NULL) {
		json_builder_set_member_name (b, "status");
		json_builder_begin_object (b);
		json_member (b, "state", st->state);
		json_member (b, "step", st->step);
		json_builder_set_member_name (b, "progress");
		json_builder_add_int_value (b, st->progress);
		json_member (b, "updated", st->updated);
		json_member (b, "since", st->since);
		if (st->total > 0) {
			json_builder_set_member_name (b, "done");
			json_builder_add_int_value (b, (gint64)st->done);
			json_builder_set_member_name (b, "total");
			json_builder_add_int_value (b, (gint64)st->total);
		}
		json_builder_set_member_name (b, "tagChanged");
		json_builder_add_boolean_value (b, v->tag_changed);
		json_member (b, "imagePath", st->image_path);
		json_member (b, "imageSha256", st->image_sha256);
		json_member (b, "imageCid", st->image_cid);
		json_member (b, "luksUuid", st->image_luks_uuid);
		json_member (b, "store", st->store_hash);
		json_member (b, "instance", st->instance_hash);
		json_member (b, "crn", st->crn);
		json_member (b, "crnUrl", st->crn_url);
		json_member (b, "ipv6", st->ipv6);
		json_member (b, "ssh", v->ssh);
		json_member (b, "attestationTime", st->attest_time);
		json_member (b, "attestationVerdict", st->attest_verdict);
		json_member (b, "measurement", st->attest_measurement);
		json_member (b, "generation", st->attest_generation);
		json_member (b, "tee", st->attest_tee);
		json_member (b, "errorCode", st->error_code);
		json_member (b, "errorStep", st->error_step);
		json_member (b, "error", st->error_message);
		json_builder_end_object (b);
	}
	json_builder_end_object (b);
	print_json (b);
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

int
ac_cli_cmd_status (AcCliGlobal *global, int argc, char **argv)
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
	g_autoptr(GOptionContext) ctx = ac_cli_option_context_new (global, "DOMAIN",
		"Show the tag of DOMAIN and the status virt-alephd recorded for it.");
	g_autoptr(GError) error = NULL;
	g_autoptr(GError) parse_error = NULL;
	const GError *tag_error = NULL;
	g_autoptr(virConnect) conn = NULL;
	g_autoptr(virDomain) dom = NULL;
	g_autofree gchar *xml = NULL;
	g_autoptr(AcDomain) model = NULL;
	const AcTag *tag = NULL;
	g_autoptr(AcStatus) st = NULL;
	g_autofree gchar *ssh = NULL;
	gboolean tagged, tag_changed, stale;

	g_option_context_add_main_entries (ctx, entries, NULL);
	if (!ac_cli_parse (ctx, &argc, &argv, &error))
		return ac_cli_fail (global, g_steal_pointer (&error));
	if ((heartbeat_text != NULL && !ac_cli_parse_timeout ("--heartbeat", heartbeat_text, &heartbeat_s, &error)) ||
	    (wait_text != NULL && !ac_cli_parse_timeout ("--wait", wait_text, &wait_s, &error)))
		return ac_cli_fail (global, g_steal_pointer (&error));
	if (argc != 2)
		return ac_cli_fail (global, g_error_new (AC_ERROR, AC_ERROR_INVALID_INPUT,
							 "status: expected one DOMAIN, got %d arguments", argc - 1));
	/* a fleet: the host that holds DOMAIN, named */
	if (config_path != NULL) {
		const AcHost *h;
		ac_virt_init ();
		hosts = ac_cli_config_hosts (global, config_path, NULL, &error);
		h = hosts != NULL ? ac_cli_find_domain_host (hosts, argv[1], &error) : NULL;
		if (h == NULL)
			return ac_cli_fail (global, g_steal_pointer (&error));
		g_free (global->connect_uri);
		global->connect_uri = g_strdup (h->uri);
		host = hosts->len > 1 ? h->name : NULL;
	}
	dom = open_domain (global, argv[1], &conn, &error);
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
ac_cli_cmd_validate (AcCliGlobal *global, int argc, char **argv)
{
	g_autoptr(GOptionContext) ctx = ac_cli_option_context_new (global, "FILE",
		"Check the <aleph:confidential> element in FILE (a domain XML, or the element "
		"alone; - for standard input) and print its canonical form.");
	g_autoptr(GError) error = NULL;
	g_autofree gchar *xml = NULL;
	gsize len = 0;
	g_autoptr(AcTag) tag = NULL;
	g_autofree gchar *formatted = NULL;

	if (!ac_cli_parse (ctx, &argc, &argv, &error))
		return ac_cli_fail (global, g_steal_pointer (&error));
	if (argc != 2)
		return ac_cli_fail (global, g_error_new (AC_ERROR, AC_ERROR_INVALID_INPUT,
							 "validate: expected one FILE, got %d arguments", argc - 1));
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
		json_builder_set_member_name (b, "file");
		json_builder_add_string_value (b, file);
		json_builder_set_member_name (b, "valid");
		json_builder_add_boolean_value (b, TRUE);
		json_builder_set_member_name (b, "tag");
		json_builder_add_string_value (b, formatted);
		json_builder_end_object (b);
		print_json (b);
	} else if (!global->quiet) {
		printf ("%s", formatted);
	}
	return AC_EXIT_OK;
}
