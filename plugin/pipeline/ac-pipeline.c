/*
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Steps and what makes each resumable:
 *   build     image written to a temporary name by the builder, renamed when verified; the
 *             passphrase goes straight into libvirt's secret store. Done = image + secret.
 *   store     the CID is computed locally first; a STORE of that CID already signed by us is
 *             found on the CCN and reused, so a crash mid-upload never yields a second STORE.
 *   crn       the configured node, or the first confidential CRN of the list.
 *   instance  the signed INSTANCE is saved in the state BEFORE it is posted; a resume posts
 *             the same bytes again (same item_hash), so there is only ever one INSTANCE.
 *   notify    idempotent on the CRN.
 *   attest    session files saved before initialize; measurement verified against the pinned
 *             firmware with the session's TIK; only then the passphrase is sent.
 */
#include "config.h"

#include "ac-json.h"
#include "ac-pipeline-private.h"

#include <glib/gstdio.h>

#include "ac-error.h"
#include "ac-image-build.h"
#include "ac-secret-store.h"
#include "ac-secret.h"
#include "ac-time.h"

#define DEFAULT_CHANNEL "ALEPH-CLOUDSOLUTIONS"

void
ac_pipeline_clear (AcPipeline *p)
{
	g_free (p->name);
	g_free (p->uuid);
	g_free (p->xml);
	ac_domain_free (p->domain);
	ac_state_free (p->state);
	ac_status_free (p->status);
	if (p->account != NULL)
		ac_eth_account_free (p->account);
	if (p->ccn != NULL)
		ac_ccn_client_free (p->ccn);
	if (p->http != NULL)
		ac_http_client_free (p->http);
}

void
ac_pipeline_report (AcPipeline *p, const gchar *state, const gchar *step, guint progress)
{
	g_free (p->status->state);
	g_free (p->status->step);
	p->status->state = g_strdup (state);
	p->status->step = g_strdup (step);
	p->status->progress = progress;
	p->status->done = 0;
	p->status->total = 0;
	p->range_lo = progress;
	p->range_hi = progress;
	ac_status_set_error (p->status, NULL, NULL);
	ac_state_log (p->state, "%s: %s (%u%%)", step, state, progress);
	if (p->status_func != NULL)
		p->status_func (p->status, p->user_data);
}

void
ac_pipeline_report_failure (AcPipeline *p,
                            const gchar *state,
                            const gchar *step,
                            const GError *error)
{
	g_free (p->status->state);
	p->status->state = g_strdup (state);
	p->status->done = 0;
	p->status->total = 0;
	p->range_hi = p->range_lo;
	ac_status_set_error (p->status, step, error);
	if (p->state != NULL)
		ac_state_log (p->state, "%s: %s: %s", step, state,
		              error != NULL ? error->message : "?");
	if (p->status_func != NULL)
		p->status_func (p->status, p->user_data);
}

gboolean
ac_pipeline_save (AcPipeline *p, GError **error)
{
	return ac_state_save (p->state, error);
}

static gboolean
check_cancelled (AcPipeline *p, GError **error)
{
	if (g_cancellable_is_cancelled (p->cancellable)) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_CANCELLED, "interrupted");
		return FALSE;
	}
	return TRUE;
}

/* ---- build ------------------------------------------------------------------------------ */

static gboolean
step_build (AcPipeline *p, AcProgress *progress, GError **error)
{
	g_autoptr (AcImageBuilt) built = NULL;
	AcImageBuildSpec spec = { 0 };
	virConnectPtr sconn;
	const gchar *image = ac_state_get_string (p->state, "build", "image");
	/* SEV boots GRUB from the image; an SNP runtime's initrd opens a LUKS2 root directly */
	AcImageLayout layout
	    = p->tag->tee == AC_TEE_SNP ? AC_IMAGE_LAYOUT_LUKS2_ROOT : AC_IMAGE_LAYOUT_GRUB_LUKS1;
	const gchar *built_layout = ac_state_get_string (p->state, "build", "layout");

	/* an existing image (<aleph:publish rootfs>): the pre-flight checked and recorded it */
	if (p->tag->publish->rootfs != NULL) {
		if (ac_state_step_done (p->state, "build")
		    && g_strcmp0 (ac_state_get_string (p->state, "build", "rootfs"),
		                  p->tag->publish->rootfs)
		           == 0)
			return TRUE;
		g_set_error (error, AC_ERROR, AC_ERROR_INTERNAL,
		             "<aleph:publish rootfs='%s'>: the image was not checked",
		             p->tag->publish->rootfs);
		return FALSE;
	}
	/* an image of the other layout (the tag's TEE changed before publishing) is built anew */
	if (ac_state_step_done (p->state, "build") && image != NULL
	    && g_file_test (image, G_FILE_TEST_EXISTS)
	    && g_strcmp0 (built_layout != NULL
	                      ? built_layout
	                      : ac_image_layout_to_string (AC_IMAGE_LAYOUT_GRUB_LUKS1),
	                  ac_image_layout_to_string (layout))
	           == 0)
		return TRUE;
	ac_pipeline_report (p, "building", "build", 5);
	/* stopped while it waited for its turn to build (virt-alephd's build slots): no build */
	if (!check_cancelled (p, error))
		return FALSE;
	p->range_hi = 40; /* the build's bytes move the status from 5 to 40 % */
	if (virDomainIsActive (p->dom) == 1) {
		g_set_error (error, AC_ERROR, AC_ERROR_REFUSED,
		             "domain '%s' is running; its disk is encrypted from a consistent copy "
		             "only when it is shut off: 'virsh shutdown %s'",
		             p->name, p->name);
		return FALSE;
	}
	/* the passphrase goes into a local libvirt's secret store, and nowhere else */
	sconn = ac_secret_store_connect (p->conn, p->config->secrets_uri, error);
	if (sconn == NULL)
		return FALSE;
	spec.state_dir = p->config->state_dir;
	spec.name = p->name;
	spec.uuid = p->uuid;
	spec.domain = p->domain;
	spec.disk_dev = p->tag->disk_dev;
	spec.secrets_conn = sconn;
	spec.layout = layout;
	built = ac_image_build (&spec, progress, p->cancellable, error);
	virConnectClose (sconn);
	if (built == NULL)
		return FALSE;
	ac_state_reset_step (p->state, "build");
	ac_state_set_string (p->state, "build", "image", built->image_path);
	ac_state_set_string (p->state, "build", "sha256", built->image_sha256);
	ac_state_set_string (p->state, "build", "luksUuid", built->luks_uuid);
	ac_state_set_int (p->state, "build", "size", (gint64)built->image_size);
	ac_state_set_string (p->state, "build", "secret", built->secret_uuid);
	ac_state_set_string (p->state, "build", "manifest", built->manifest_path);
	ac_state_set_string (p->state, "build", "layout", ac_image_layout_to_string (layout));
	ac_state_mark_done (p->state, "build");
	g_free (p->status->image_path);
	p->status->image_path = g_strdup (built->image_path);
	g_free (p->status->image_sha256);
	p->status->image_sha256 = g_strdup (built->image_sha256);
	g_free (p->status->image_luks_uuid);
	p->status->image_luks_uuid = g_strdup (built->luks_uuid);
	/* a new image makes everything after it stale */
	ac_state_reset_step (p->state, "store");
	ac_state_reset_step (p->state, "instance");
	ac_state_reset_step (p->state, "notify");
	ac_state_reset_step (p->state, "attest");
	return ac_pipeline_save (p, error);
}

guint8 *
ac_pipeline_passphrase_get (AcPipeline *p, gsize *len, GError **error)
{
	virConnectPtr sconn = ac_secret_store_connect (p->conn, p->config->secrets_uri, error);
	guint8 *passphrase;

	if (sconn == NULL)
		return NULL;
	passphrase
	    = ac_secret_store_get (sconn, p->config->state_dir,
	                           ac_state_get_string (p->state, "build", "secret"), len, error);
	virConnectClose (sconn);
	return passphrase;
}

/* ---- clients -------------------------------------------------------------------------- */

gboolean
ac_pipeline_ensure_clients (AcPipeline *p, GError **error)
{
	g_autofree gchar *key = NULL;
	if (p->ccn != NULL)
		return TRUE;
	key = p->config->key_file != NULL ? g_strdup (p->config->key_file)
	                                  : ac_eth_default_key_path ();
	p->account = ac_eth_account_load_key_file_full (key, p->config->key_password_file, error);
	if (p->account == NULL)
		return FALSE;
	p->http = ac_http_client_new ();
	p->ccn = ac_ccn_client_new (p->tag->publish->api, p->http, error);
	if (p->ccn == NULL)
		return FALSE;
	ac_ccn_client_set_poll (p->ccn, p->config->poll_first_ms, p->config->poll_max_ms);
	return ac_ccn_client_set_store_payment (
	    p->ccn, ac_payment_to_string (p->tag->publish->store_payment), error);
}

const gchar *
ac_pipeline_channel (AcPipeline *p)
{
	return p->config->channel != NULL ? p->config->channel : DEFAULT_CHANNEL;
}

/* a client of the domain's CRN, signed by the account (set up first when it is not yet) */
AcCrnClient *
ac_pipeline_crn_client (AcPipeline *p, GError **error)
{
	AcCrnClient *crn;

	if (!ac_pipeline_ensure_clients (p, error))
		return NULL;
	crn = ac_crn_client_new (ac_state_get_string (p->state, "crn", "url"), p->account, p->http,
	                         error);
	if (crn != NULL)
		ac_crn_client_set_poll (crn, p->config->poll_first_ms, p->config->poll_max_ms);
	return crn;
}

/* ---- driver ----------------------------------------------------------------------------- */

static void
restore_status (AcPipeline *p)
{
	p->status->image_path = g_strdup (ac_state_get_string (p->state, "build", "image"));
	p->status->image_sha256 = g_strdup (ac_state_get_string (p->state, "build", "sha256"));
	p->status->image_luks_uuid = g_strdup (ac_state_get_string (p->state, "build", "luksUuid"));
	p->status->image_cid = g_strdup (ac_state_get_string (p->state, "store", "cid"));
	p->status->store_hash = g_strdup (ac_state_get_string (p->state, "store", "hash"));
	p->status->instance_hash = g_strdup (ac_state_get_string (p->state, "instance", "hash"));
	p->status->crn = g_strdup (ac_state_get_string (p->state, "crn", "hash"));
	p->status->crn_url = g_strdup (ac_state_get_string (p->state, "crn", "url"));
	p->status->ipv6 = g_strdup (ac_state_get_string (p->state, "attest", "ipv6"));
	p->status->attest_time = g_strdup (ac_state_get_string (p->state, "attest", "time"));
	p->status->attest_measurement
	    = g_strdup (ac_state_get_string (p->state, "attest", "measurement"));
	p->status->attest_generation
	    = g_strdup (ac_state_get_string (p->state, "attest", "generation"));
	if (p->status->attest_time != NULL)
		p->status->attest_tee = g_strdup (ac_tag_get_tee_name (p->tag));
	if (ac_state_step_done (p->state, "attest"))
		p->status->attest_verdict = g_strdup ("ok");
}

static gboolean
ac_pipeline_init (AcPipeline *p,
                  const AcPipelineConfig *config,
                  virConnectPtr conn,
                  virDomainPtr dom,
                  AcPipelineStatusFunc status_func,
                  gpointer user_data,
                  GError **error)
{
	char uuid[VIR_UUID_STRING_BUFLEN];
	const gchar *recorded_tag;
	g_autofree gchar *canonical = NULL;

	p->config = config;
	p->conn = conn;
	p->dom = dom;
	p->status_func = status_func;
	p->user_data = user_data;
	p->name = g_strdup (virDomainGetName (dom));
	if (virDomainGetUUIDString (dom, uuid) < 0) {
		ac_virt_set_error (error, "domain '%s'", p->name);
		return FALSE;
	}
	p->uuid = g_strdup (uuid);
	p->xml = ac_virt_get_xml (dom, error);
	if (p->xml == NULL)
		return FALSE;
	p->domain = ac_domain_parse (p->xml, -1, error);
	if (p->domain == NULL)
		return FALSE;
	if (p->domain->tag == NULL) {
		g_propagate_error (error, g_error_copy (p->domain->tag_error));
		return FALSE;
	}
	p->tag = p->domain->tag;
	if (p->tag->publish == NULL) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "domain '%s' has no <aleph:publish>: it is not deployed to Aleph",
		             p->name);
		return FALSE;
	}
	p->state = ac_state_load (config->state_dir, p->uuid, error);
	if (p->state == NULL)
		return FALSE;
	p->status = ac_status_new ();
	restore_status (p);

	/* the tag the published instance was made from: a change after publishing is not
	 * silently applied to a running instance */
	canonical = ac_tag_format (p->tag);
	recorded_tag = ac_state_get_string (p->state, "tag", "canonical");
	if (recorded_tag == NULL) {
		ac_state_set_string (p->state, "tag", "canonical", canonical);
		if (!ac_pipeline_save (p, error))
			return FALSE;
	} else if (g_strcmp0 (recorded_tag, canonical) != 0
	           && ac_state_get_bool (p->state, "instance", "posted")) {
		g_set_error (
		    error, AC_ERROR, AC_ERROR_REFUSED,
		    "the tag of domain '%s' changed after its INSTANCE %s was published; end "
		    "that instance first ('virt-aleph erase %s'), then the new tag is deployed",
		    p->name, ac_state_get_string (p->state, "instance", "hash"), p->name);
		return FALSE;
	} else if (g_strcmp0 (recorded_tag, canonical) != 0) {
		ac_state_set_string (p->state, "tag", "canonical", canonical);
		ac_state_reset_step (p->state, "crn");
		ac_state_reset_step (p->state, "runtime");
		if (!ac_pipeline_save (p, error))
			return FALSE;
	}
	return TRUE;
}

/*
 * The bytes of the build and of the upload, into the status as they go: the percentage within
 * the step's range, and done/total, written at most once a second (each write is a change of
 * the domain's metadata).
 */
static void
progress_changed_cb (AcProgress *progress, gdouble fraction, const gchar *path, gpointer user_data)
{
	AcPipeline *p = user_data;
	AcProgress *step = ac_progress_peek_child (progress);
	guint64 done = 0, total = 0;
	gint64 now = g_get_monotonic_time ();
	gdouble local;

	if (p->status == NULL || p->range_hi <= p->range_lo || step == NULL
	    || !ac_progress_get_units (progress, &done, &total))
		return;
	if (done < total && now - p->progress_written < G_USEC_PER_SEC)
		return;
	local = ac_progress_get_fraction (step);
	p->status->progress = p->range_lo + (guint)(local * (p->range_hi - p->range_lo));
	p->status->done = done;
	p->status->total = total;
	p->progress_written = now;
	if (p->status_func != NULL)
		p->status_func (p->status, p->user_data);
}

/**
 * ac_pipeline_run:
 *
 * Runs (or resumes) the Aleph flow of @dom to the running state. On failure the status
 * carries the error and the step; calling it again resumes.
 */
gboolean
ac_pipeline_run (const AcPipelineConfig *config,
                 virConnectPtr conn,
                 virDomainPtr dom,
                 AcPipelineStatusFunc status_func,
                 gpointer user_data,
                 AcProgress *progress,
                 GCancellable *cancellable,
                 GError **error)
{
	AcPipeline p = { 0 };
	g_autoptr (GError) local_error = NULL;
	gboolean ok;
	const gchar *step = "validate";
	gulong handler;

	p.cancellable = cancellable;
	ac_progress_add_step (progress, "build", 50);
	ac_progress_add_step (progress, "publish", 35);
	ac_progress_add_step (progress, "attest", 15);
	ok = ac_pipeline_init (&p, config, conn, dom, status_func, user_data, &local_error);
	handler = g_signal_connect (progress, "changed", G_CALLBACK (progress_changed_cb), &p);
	if (ok)
		ok = ac_pipeline_preflight_step (&p, &local_error);
	if (ok) {
		step = "build";
		ok = step_build (&p, ac_progress_get_child (progress), &local_error);
	}
	if (ok) {
		ac_progress_step_done (progress);
		step = "publish";
		ok = check_cancelled (&p, &local_error)
		     && ac_pipeline_publish_step_store (&p, ac_progress_get_child (progress),
		                                        &local_error)
		     && ac_pipeline_publish_step_crn (&p, &local_error)
		     && ac_pipeline_instance_step (&p, NULL, &local_error)
		     && ac_pipeline_publish_step_ports (&p, &local_error)
		     && ac_pipeline_publish_step_notify (&p, &local_error);
	}
	if (ok) {
		ac_progress_step_done (progress);
		step = "attest";
		ok = check_cancelled (&p, &local_error)
		     && ac_pipeline_attest_step (&p, &local_error);
	}
	if (ok) {
		ac_progress_step_done (progress);
		ac_pipeline_report (&p, "running", "running", 100);
	} else if (p.status != NULL) {
		ac_pipeline_report_failure (
		    &p,
		    g_error_matches (local_error, AC_ERROR, AC_ERROR_CANCELLED) ? "interrupted"
		                                                                : "failed",
		    step, local_error);
	}
	g_signal_handler_disconnect (progress, handler);
	ac_pipeline_clear (&p);
	if (!ok) {
		g_propagate_error (error, g_steal_pointer (&local_error));
		return FALSE;
	}
	return TRUE;
}

/**
 * ac_pipeline_check_running:
 *
 * For a running instance: when the CRN rebooted the VM, QEMU waits paused with a new
 * measurement (new mnonce) for a new secret. Verify and inject again, with the same session.
 */
gboolean
ac_pipeline_check_running (const AcPipelineConfig *config,
                           virConnectPtr conn,
                           virDomainPtr dom,
                           AcPipelineStatusFunc status_func,
                           gpointer user_data,
                           AcPipelineRunning *outcome,
                           GError **error)
{
	AcPipeline p = { 0 };
	gboolean ok;

	*outcome = AC_PIPELINE_RUNNING_NOTHING;
	ok = ac_pipeline_init (&p, config, conn, dom, status_func, user_data, error);
	/* an adopted INSTANCE (virt-aleph adopt) waits for its first attestation */
	if (ok && ac_state_get_bool (p.state, "instance", "adopted")
	    && !ac_state_step_done (p.state, "attest")) {
		g_autoptr (GError) local_error = NULL;
		ok = ac_pipeline_attest_step (&p, &local_error);
		if (ok) {
			*outcome = AC_PIPELINE_RUNNING_ATTESTED;
			ac_pipeline_report (&p, "running", "running", 100);
		} else {
			ac_pipeline_report_failure (&p, "failed", "attest", local_error);
			g_propagate_error (error, g_steal_pointer (&local_error));
		}
		ac_pipeline_clear (&p);
		return ok;
	}
	ok = ok && ac_pipeline_attest_check_running (&p, outcome, error);
	ac_pipeline_clear (&p);
	return ok;
}

/* The session keys live until the instance ends (erase, forget), then go. */
static void
forget_session (AcPipeline *p)
{
	const gchar *files[] = { SESSION_NAME "_tek.bin", SESSION_NAME "_tik.bin",
		                 SESSION_NAME "_godh.b64", SESSION_NAME "_session.b64" };
	for (guint i = 0; i < G_N_ELEMENTS (files); i++) {
		g_autofree gchar *path = ac_state_get_path (p->state, files[i]);
		(void)g_unlink (path);
	}
}

/**
 * ac_pipeline_operate:
 * @operation: stop, reboot or erase
 *
 * A signed operation on the instance's CRN. After erase the VM is gone from the CRN: the
 * next run notifies it again and attests a new launch.
 */
gboolean
ac_pipeline_operate (const AcPipelineConfig *config,
                     virConnectPtr conn,
                     virDomainPtr dom,
                     const gchar *operation,
                     AcPipelineStatusFunc status_func,
                     gpointer user_data,
                     GError **error)
{
	AcPipeline p = { 0 };
	g_autoptr (AcCrnClient) crn = NULL;
	gboolean ok = ac_pipeline_init (&p, config, conn, dom, status_func, user_data, error);

	if (ok && !ac_state_step_done (p.state, "notify")) {
		g_set_error (error, AC_ERROR, AC_ERROR_NOT_FOUND,
		             "domain '%s' has no instance on a CRN yet", p.name);
		ok = FALSE;
	}
	ok = ok && (crn = ac_pipeline_crn_client (&p, error)) != NULL
	     && ac_crn_operate (crn, ac_state_get_string (p.state, "instance", "hash"), operation,
	                        error);
	if (ok) {
		ac_state_log (p.state, "%s: done on CRN %s", operation,
		              ac_state_get_string (p.state, "crn", "hash"));
		if (g_strcmp0 (operation, "erase") == 0) {
			forget_session (&p);
			ac_state_reset_step (p.state, "notify");
			ac_state_reset_step (p.state, "attest");
			/* the VM and its address are gone with it */
			g_clear_pointer (&p.status->ipv6, g_free);
			ok = ac_pipeline_save (&p, error);
			ac_pipeline_report (&p, "erased", "erase", 0);
		} else if (g_strcmp0 (operation, "stop") == 0) {
			ac_pipeline_report (&p, "stopped", "stop", 0);
		} else {
			/* rebooted: the VM waits for a new attestation; the monitor does it */
			ac_pipeline_report (&p, "running", "reboot", 100);
		}
	}
	ac_pipeline_clear (&p);
	return ok;
}

/**
 * ac_pipeline_console:
 *
 * What `aleph instance logs` shows: the VM's own console from its CRN (a signed GET of
 * aleph-vm's JSON logs endpoint), not the pipeline's log.
 */
gboolean
ac_pipeline_console (const AcPipelineConfig *config,
                     virConnectPtr conn,
                     virDomainPtr dom,
                     guint follow_ms,
                     AcPipelineConsoleFunc func,
                     gpointer user_data,
                     GError **error)
{
	AcPipeline p = { 0 };
	g_autoptr (AcCrnClient) crn = NULL;
	const gchar *instance = NULL;
	gboolean ok = ac_pipeline_init (&p, config, conn, dom, NULL, NULL, error);

	if (ok) {
		instance = ac_state_get_string (p.state, "instance", "hash");
		if (instance == NULL || ac_state_get_string (p.state, "crn", "url") == NULL) {
			g_set_error (error, AC_ERROR, AC_ERROR_NOT_FOUND,
			             "domain '%s' has no instance on a CRN yet: no console to show",
			             p.name);
			ok = FALSE;
		}
	}
	ok = ok && (crn = ac_pipeline_crn_client (&p, error)) != NULL;
	while (ok) {
		g_autoptr (GPtrArray) lines = ac_crn_get_logs (crn, instance, error);
		if (lines == NULL) {
			ok = FALSE;
			break;
		}
		if (!func (lines, instance, ac_state_get_string (p.state, "crn", "url"), user_data)
		    || follow_ms == 0)
			break;
		ok = ac_http_client_sleep (p.http, follow_ms, error);
	}
	ac_pipeline_clear (&p);
	return ok;
}

void
ac_pipeline_json_add_forget_hashes (JsonBuilder *b,
                                    const gchar *name,
                                    const gchar *instance,
                                    const gchar *store,
                                    gboolean image)
{
	json_builder_set_member_name (b, name);
	json_builder_begin_array (b);
	if (instance != NULL)
		json_builder_add_string_value (b, instance);
	if (image && store != NULL)
		json_builder_add_string_value (b, store);
	json_builder_end_array (b);
}

/**
 * ac_pipeline_forget:
 *
 * Posts a FORGET of the INSTANCE (and, with @image, of the image's STORE), then clears them
 * from the state: the next run publishes anew.
 */
gboolean
ac_pipeline_forget (const AcPipelineConfig *config,
                    virConnectPtr conn,
                    virDomainPtr dom,
                    gboolean image,
                    const gchar *reason,
                    AcPipelineStatusFunc status_func,
                    gpointer user_data,
                    GError **error)
{
	AcPipeline p = { 0 };
	g_autoptr (JsonBuilder) b = json_builder_new ();
	g_autoptr (JsonNode) content = NULL;
	g_autoptr (AcAlephMessage) msg = NULL;
	AcPostResult result = { 0 };
	const gchar *instance;
	const gchar *store;
	gboolean ok = ac_pipeline_init (&p, config, conn, dom, status_func, user_data, error);

	instance = ok ? ac_state_get_string (p.state, "instance", "hash") : NULL;
	store = ok ? ac_state_get_string (p.state, "store", "hash") : NULL;
	/* an image the user brought (<aleph:publish rootfs>, adopt) is theirs: never forgotten */
	if (store != NULL && ac_state_get_bool (p.state, "store", "adopted"))
		store = NULL;
	if (ok && instance == NULL && (!image || store == NULL)) {
		g_set_error (error, AC_ERROR, AC_ERROR_NOT_FOUND,
		             "domain '%s' has nothing published to forget", p.name);
		ok = FALSE;
	}
	if (ok)
		ok = ac_pipeline_ensure_clients (&p, error);
	if (ok) {
		json_builder_begin_object (b);
		ac_json_builder_add_string (b, "address", ac_eth_account_get_address (p.account));
		json_builder_set_member_name (b, "time");
		json_builder_add_double_value (b, ac_time_now_unix ());
		ac_pipeline_json_add_forget_hashes (b, "hashes", instance, store, image);
		json_builder_set_member_name (b, "reason");
		json_builder_add_string_value (b, reason != NULL ? reason
		                                                 : "forgotten with virt-aleph");
		json_builder_end_object (b);
		content = json_builder_get_root (b);
		msg = ac_aleph_message_build ("FORGET", content,
		                              ac_eth_account_get_address (p.account),
		                              ac_pipeline_channel (&p), ac_time_now_unix (), error);
		ok = msg != NULL && ac_aleph_message_sign (msg, p.account, error)
		     && ac_ccn_post_message (p.ccn, msg, TRUE, &result, error);
		ac_post_result_clear (&result);
	}
	if (ok) {
		ac_state_log (p.state, "forget: FORGET %s posted", msg->item_hash);
		forget_session (&p);
		ac_state_reset_step (p.state, "instance");
		ac_state_reset_step (p.state, "notify");
		ac_state_reset_step (p.state, "attest");
		ac_state_reset_step (p.state, "crn");
		if (image && store != NULL)
			ac_state_reset_step (p.state, "store");
		ok = ac_pipeline_save (&p, error);
		g_clear_pointer (&p.status->instance_hash, g_free);
		g_clear_pointer (&p.status->crn, g_free);
		g_clear_pointer (&p.status->crn_url, g_free);
		g_clear_pointer (&p.status->ipv6, g_free);
		if (image && store != NULL)
			g_clear_pointer (&p.status->store_hash, g_free);
		ac_pipeline_report (&p, "forgotten", "forget", 0);
	}
	ac_pipeline_clear (&p);
	return ok;
}

/**
 * ac_pipeline_log_path:
 *
 * The event log of a domain (`virt-aleph logs`).
 */
gchar *
ac_pipeline_log_path (const AcPipelineConfig *config, const gchar *uuid)
{
	return g_build_filename (config->state_dir, "domains", uuid, "log", NULL);
}

/* @pass kept in the secret store for the image of @p's tag; the secret's UUID */
static gchar *
put_rootfs_passphrase (AcPipeline *p, const AcSecret *pass, GError **error)
{
	g_autofree gchar *usage = ac_pipeline_rootfs_secret_usage (p->tag->publish->rootfs);
	virConnectPtr sconn = ac_secret_store_connect (p->conn, p->config->secrets_uri, error);
	gchar *uuid;

	if (sconn == NULL)
		return NULL;
	uuid = ac_secret_store_put (sconn, p->config->state_dir, p->name, usage,
	                            (const guint8 *)pass->data, pass->len, error);
	virConnectClose (sconn);
	return uuid;
}

gboolean
ac_pipeline_set_rootfs_passphrase (const AcPipelineConfig *config,
                                   virConnectPtr conn,
                                   virDomainPtr dom,
                                   const gchar *passphrase_file,
                                   GError **error)
{
	AcPipeline p = { 0 };
	g_autoptr (AcSecret) pass = NULL;
	g_autofree gchar *uuid = NULL;
	gboolean ok = ac_pipeline_init (&p, config, conn, dom, NULL, NULL, error);

	if (ok && p.tag->publish->rootfs == NULL) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "--passphrase-file: the tag of domain '%s' names no existing image "
		             "(<aleph:publish rootfs='STORE hash'>): its image is built, with a "
		             "passphrase of its own",
		             p.name);
		ok = FALSE;
	}
	if (ok) {
		pass = ac_secret_read_passphrase_file (passphrase_file, "--passphrase-file", error);
		ok = pass != NULL;
	}
	/* checked against the image first: a wrong one is never stored */
	ok = ok
	     && ac_pipeline_rootfs_check (&p, (const guint8 *)pass->data, pass->len, NULL, error);
	if (ok) {
		uuid = put_rootfs_passphrase (&p, pass, error);
		ok = uuid != NULL;
	}
	if (ok) {
		ac_state_set_string (p.state, "build", "secret", uuid);
		ok = ac_pipeline_save (&p, error);
	}
	ac_pipeline_clear (&p);
	return ok;
}

gboolean
ac_pipeline_store_rootfs_passphrase (const AcPipelineConfig *config,
                                     virConnectPtr conn,
                                     virDomainPtr dom,
                                     const AcTag *tag,
                                     const gchar *passphrase_file,
                                     GError **error)
{
	AcPipeline p = { 0 };
	char uuid[VIR_UUID_STRING_BUFLEN];
	g_autoptr (AcSecret) pass = NULL;
	g_autoptr (GError) local_error = NULL;
	g_autofree gchar *secret = NULL;
	gboolean ok;

	if (tag->publish == NULL || tag->publish->rootfs == NULL) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		                     "--passphrase-file: only with an existing image (--rootfs "
		                     "HASH); a built image has a passphrase of its own");
		return FALSE;
	}
	if (virDomainGetUUIDString (dom, uuid) < 0) {
		ac_virt_set_error (error, "domain '%s'", virDomainGetName (dom));
		return FALSE;
	}
	/* no state and no status: nothing of the domain's is written before the check passed */
	p.config = config;
	p.conn = conn;
	p.dom = dom;
	p.name = g_strdup (virDomainGetName (dom));
	p.uuid = g_strdup (uuid);
	p.tag = (AcTag *)tag;
	pass = ac_secret_read_passphrase_file (passphrase_file, "--passphrase-file", error);
	ok = pass != NULL;
	if (ok
	    && !ac_pipeline_rootfs_verify (&p, (const guint8 *)pass->data, pass->len, NULL,
	                                   &local_error)) {
		g_set_error (error, AC_ERROR, local_error->code,
		             "--passphrase-file %s, image STORE %s: %s; domain '%s' was not tagged "
		             "and nothing was stored",
		             passphrase_file, tag->publish->rootfs, local_error->message, p.name);
		ok = FALSE;
	}
	if (ok) {
		secret = put_rootfs_passphrase (&p, pass, error);
		ok = secret != NULL;
	}
	ac_pipeline_clear (&p);
	return ok;
}

gboolean
ac_pipeline_adopt (const AcPipelineConfig *config,
                   virConnectPtr conn,
                   virDomainPtr dom,
                   const gchar *instance_hash,
                   AcPipelineStatusFunc status_func,
                   gpointer user_data,
                   GError **error)
{
	AcPipeline p = { 0 };
	gboolean ok = ac_pipeline_init (&p, config, conn, dom, status_func, user_data, error);

	ok = ok && ac_pipeline_adopt_step (&p, instance_hash, error);
	if (ok)
		ac_pipeline_report (&p, "adopted", "adopt", 90);
	ac_pipeline_clear (&p);
	return ok;
}
