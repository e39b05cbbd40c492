/*
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Nothing is published before it is verified: the image is assembled under a temporary name
 * beside the output, verified (GPT, LUKS slot 0 opens with the passphrase, payload equals the
 * filesystem image; with the luks2-root layout, the SEV-SNP guest's header check instead of
 * the GPT), described in the manifest, and only then renamed into place.
 */

#include "config.h"

#include "ac-builder.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <glib/gstdio.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ac-builder-luks1.h"
#include "ac-builder-guestfs.h"
#include "ac-builder-provision.h"
#include "ac-builder-source.h"
#include "ac-error.h"
#include "ac-file.h"
#include "ac-secret.h"

void
ac_build_result_clear (AcBuildResult *r)
{
	g_free (r->image_path);
	g_free (r->manifest_path);
	g_free (r->manifest_json);
	g_free (r->image_sha256);
	g_free (r->luks_uuid);
	ac_secret_free (r->passphrase);
	g_free (r->kept_workdir);
	memset (r, 0, sizeof (*r));
}

static AcSecret *
ac_build_get_passphrase (const AcTemplate *tpl, const AcBuildOptions *opts, GError **error)
{
	g_autoptr(AcSecret) pass = NULL;
	if (opts->passphrase != NULL) {
		pass = ac_secret_dup (opts->passphrase);
	} else {
		switch (tpl->passphrase_source) {
		case AC_PASSPHRASE_GENERATE:
			return ac_secret_generate_passphrase (tpl->passphrase_length, error);
		case AC_PASSPHRASE_FILE:
			return ac_secret_read_passphrase_file (tpl->passphrase_file,
			                                       "passphrase.file", error);
		case AC_PASSPHRASE_ENV: {
			const gchar *v = g_getenv (tpl->passphrase_env);
			if (v == NULL) {
				g_set_error (error, AC_ERROR, AC_ERROR_NOT_FOUND,
					     "passphrase.env: the environment variable %s is not set",
					     tpl->passphrase_env);
				return NULL;
			}
			pass = ac_secret_new (v, strlen (v));
			/* consumed: no tool, appliance or child of this process inherits it */
			g_unsetenv (tpl->passphrase_env);
			break;
		}
		case AC_PASSPHRASE_CALLER:
		default:
			g_set_error_literal (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
					     "passphrase.from_caller: no passphrase was given (virt-aleph "
					     "build reads it from standard input with --passphrase-stdin)");
			return NULL;
		}
	}
	if (!ac_secret_check_ascii (pass, error))
		return NULL;
	return g_steal_pointer (&pass);
}

static gint64 clamp_epoch;

static int
ac_build_clamp_one (const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	if (st->st_mtime > clamp_epoch || st->st_atime > clamp_epoch) {
		struct timespec ts[2] = { { clamp_epoch, 0 }, { clamp_epoch, 0 } };
		(void)utimensat (AT_FDCWD, path, ts, AT_SYMLINK_NOFOLLOW);
	}
	return 0;
}

/* reproducible: no timestamp later than SOURCE_DATE_EPOCH (reproducible-builds.org "clamp") */
static void
ac_build_clamp_tree (const gchar *dir, gint64 epoch)
{
	clamp_epoch = epoch;
	(void)nftw (dir, ac_build_clamp_one, 32, FTW_PHYS | FTW_MOUNT);
}

static gboolean
ac_build_write_atomic (const gchar *path, const gchar *data, gsize len, GError **error)
{
	g_autoptr(GError) local = NULL;
	if (!g_file_set_contents_full (path, data, (gssize)len,
				       G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE,
				       0644, &local)) {
		g_set_error (error, AC_ERROR, AC_ERROR_IO, "cannot write %s: %s", path, local->message);
		return FALSE;
	}
	return TRUE;
}

/* the state the build's phases hand on to each other */
typedef struct {
	const AcTemplate *tpl;
	const AcBuildOptions *opts;
	AcProgress *progress;
	GCancellable *cancellable;
	AcCleanup *cleanup;
	const gchar *workdir;
	AcBuildResult *result;
	gchar *root;
	gchar *esp;
	gchar *partial;
	gchar *luks_uuid;
	gchar *fs_uuid;
	gchar *volume_id;
	AcSecret *pass;
	AcSecret *keyfile;
	AcDrbg *drbg;
	AcVerifyReport *report;
	AcAssembleResult assembled;
	gint64 t;
} AcBuildState;

static void
ac_build_state_clear (AcBuildState *s)
{
	ac_assemble_result_clear (&s->assembled);
	g_clear_pointer (&s->report, ac_verify_report_free);
	g_clear_pointer (&s->drbg, ac_drbg_free);
	g_clear_pointer (&s->keyfile, ac_secret_free);
	g_clear_pointer (&s->pass, ac_secret_free);
	g_free (s->volume_id);
	g_free (s->fs_uuid);
	g_free (s->luks_uuid);
	g_free (s->partial);
	g_free (s->esp);
	g_free (s->root);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (AcBuildState, ac_build_state_clear)

/* the end of phase @step: its seconds into the result, its progress step done */
static gboolean
ac_build_step_done (AcBuildState *s, guint step)
{
	gint64 now = g_get_monotonic_time ();

	s->result->step_seconds[step] = (gdouble)(now - s->t) / G_USEC_PER_SEC;
	s->t = now;
	ac_progress_step_done (s->progress);
	return TRUE;
}

/* identifiers first: the provisioners write them into the guest */
static gboolean
ac_build_identifiers (AcBuildState *s, GError **error)
{
	const AcTemplate *tpl = s->tpl;
	gboolean need_keyfile = FALSE;

	for (guint i = 0; i < tpl->provisioners->len; i++) {
		AcTemplateProvisioner *p = g_ptr_array_index (tpl->provisioners, i);
		if (p->type == AC_PROVISIONER_ALEPH)
			need_keyfile = TRUE;
	}
	if (tpl->reproducible) {
		guint8 v[4];
		s->drbg = ac_drbg_new (s->pass, tpl->seed, tpl->iterations, error);
		if (s->drbg == NULL)
			return FALSE;
		s->luks_uuid = tpl->luks_uuid != NULL ? g_strdup (tpl->luks_uuid)
						      : ac_drbg_uuid (s->drbg, "uuid/luks");
		s->fs_uuid = tpl->fs_uuid != NULL ? g_strdup (tpl->fs_uuid)
						  : ac_drbg_uuid (s->drbg, "uuid/filesystem");
		ac_drbg_generate (s->drbg, "id/esp-volume", v, sizeof (v));
		s->volume_id = g_strdup_printf ("%02X%02X%02X%02X", v[0], v[1], v[2], v[3]);
		if (need_keyfile) {
			g_autoptr(AcSecret) raw = ac_secret_new_random_bytes (33, error);
			if (raw == NULL)
				return FALSE;
			ac_drbg_generate (s->drbg, "keyfile", (guint8 *)raw->data, raw->len);
			s->keyfile = ac_secret_new_random_bytes (44, error);
			if (s->keyfile == NULL)
				return FALSE;
			EVP_EncodeBlock ((guint8 *)s->keyfile->data, (const guint8 *)raw->data, 33);
		}
	} else {
		s->luks_uuid = tpl->luks_uuid != NULL ? g_strdup (tpl->luks_uuid)
						      : g_uuid_string_random ();
		s->fs_uuid = g_uuid_string_random ();
		s->volume_id = g_strdup_printf ("%08X", g_random_int ());
		if (need_keyfile) {
			s->keyfile = ac_secret_generate_keyfile (error);
			if (s->keyfile == NULL)
				return FALSE;
		}
	}
	return TRUE;
}

/* source */
static gboolean
ac_build_source (AcBuildState *s, GError **error)
{
	if (g_mkdir (s->root, 0755) != 0 || g_mkdir (s->esp, 0755) != 0) {
		g_set_error (error, AC_ERROR, AC_ERROR_IO, "cannot create the trees in %s: %s",
			     s->workdir, g_strerror (errno));
		return FALSE;
	}
	if (!ac_source_prepare (&s->tpl->source, s->root, s->workdir, s->cleanup, s->cancellable,
				error))
		return FALSE;
	return ac_build_step_done (s, 0);
}

/* provisioners */
static gboolean
ac_build_provision (AcBuildState *s, GError **error)
{
	const AcTemplate *tpl = s->tpl;
	g_autoptr(AcChroot) chroot = NULL;
	g_autoptr(AcGuestfs) guestfs = NULL;
	AcProvisionContext ctx = {
		.root = s->root,
		.esp_dir = s->esp,
		.luks_uuid = s->luks_uuid,
		.fs_uuid = s->fs_uuid,
		.keyfile = s->keyfile,
	};
	g_autofree gchar *volid = g_strdup_printf ("%.4s-%.4s", s->volume_id, s->volume_id + 4);
	AcProgress *child = ac_progress_get_child (s->progress);

	ctx.esp_volume_id = volid;
	for (guint i = 0; i < tpl->provisioners->len; i++) {
		g_autofree gchar *id = g_strdup_printf ("provisioners[%u]", i);
		ac_progress_add_step (child, id, 1);
	}
	for (guint i = 0; i < tpl->provisioners->len; i++) {
		AcTemplateProvisioner *p = g_ptr_array_index (tpl->provisioners, i);
		if (tpl->provision_backend == AC_PROVISION_BACKEND_LIBGUESTFS &&
		    p->type != AC_PROVISIONER_ALEPH) {
			/* the tree is packed with nothing of the chroot's mounted in it */
			if (chroot != NULL) {
				if (!ac_chroot_leave (chroot, error))
					return FALSE;
				g_clear_pointer (&chroot, ac_chroot_free);
			}
			if (guestfs == NULL) {
				guestfs = ac_guestfs_open (s->root, s->workdir, s->cancellable, error);
				if (guestfs == NULL)
					return FALSE;
			}
			if (!ac_guestfs_provision (guestfs, p, s->cancellable, error))
				return FALSE;
		} else {
			/* the aleph provisioner always runs in the chroot, on the tree as
			 * the earlier provisioners left it */
			if (guestfs != NULL) {
				if (!ac_guestfs_close (guestfs, s->cancellable, error))
					return FALSE;
				g_clear_pointer (&guestfs, ac_guestfs_free);
			}
			if (!ac_provision_run (p, &ctx, &chroot, s->cleanup, s->cancellable, error))
				return FALSE;
		}
		ac_progress_step_done (child);
	}
	if (guestfs != NULL) {
		if (!ac_guestfs_close (guestfs, s->cancellable, error))
			return FALSE;
		g_clear_pointer (&guestfs, ac_guestfs_free);
	}
	if (chroot != NULL && !ac_chroot_leave (chroot, error))
		return FALSE;
	if (tpl->reproducible) {
		ac_build_clamp_tree (s->root, tpl->source_date_epoch);
		ac_build_clamp_tree (s->esp, tpl->source_date_epoch);
	}
	return ac_build_step_done (s, 1);
}

/* assemble under a temporary name beside the output */
static gboolean
ac_build_assemble (AcBuildState *s, GError **error)
{
	const AcTemplate *tpl = s->tpl;
	g_autofree gchar *outdir = g_path_get_dirname (tpl->output_path);
	g_autofree gchar *outbase = g_path_get_basename (tpl->output_path);
	AcAssembleSpec spec = { 0 };

	s->partial = g_strdup_printf ("%s/.%s.partial-%08x", outdir, outbase, g_random_int ());
	spec.layout = tpl->layout;
	spec.disk_size = tpl->disk_size;
	spec.esp_size = tpl->esp_size;
	spec.esp_dir = s->esp;
	spec.root_dir = s->root;
	spec.fs_label = tpl->fs_label != NULL ? tpl->fs_label : "rootfs";
	spec.luks.cipher = tpl->cipher;
	spec.luks.cipher_mode = tpl->cipher_mode;
	spec.luks.key_bytes = tpl->key_bits / 8;
	spec.luks.hash = tpl->hash;
	spec.luks.iterations = tpl->iterations;
	spec.luks.uuid = s->luks_uuid;
	spec.source_date_epoch = tpl->reproducible ? tpl->source_date_epoch : -1;
	spec.disk_guid = tpl->disk_guid;
	spec.fs_uuid = s->fs_uuid;
	spec.esp_volume_id = s->volume_id;
	spec.drbg = s->drbg;
	spec.workdir = s->workdir;
	spec.xts = s->opts->xts;
	if (!ac_assemble (&spec, s->pass, s->keyfile, s->partial, s->cleanup,
			  ac_progress_get_child (s->progress), s->cancellable, &s->assembled, error))
		return FALSE;
	s->result->encrypt_stats = s->assembled.encrypt_stats;
	return ac_build_step_done (s, 2);
}

/* verify */
static gboolean
ac_build_verify (AcBuildState *s, GError **error)
{
	if (s->tpl->layout == AC_IMAGE_LAYOUT_LUKS2_ROOT)
		s->report = ac_verify_luks2_image (s->partial, s->pass, s->assembled.fs_image,
						   &s->opts->xts, ac_progress_get_child (s->progress),
						   s->cancellable, error);
	else
		s->report = ac_verify_image (s->partial, s->pass, s->assembled.fs_image, s->workdir,
					     &s->opts->xts, ac_progress_get_child (s->progress),
					     s->cancellable, error);
	if (s->report == NULL) {
		g_prefix_error (error, "verification of the built image failed: ");
		return FALSE;
	}
	if (g_strcmp0 (s->report->luks->uuid, s->luks_uuid) != 0) {
		g_set_error (error, AC_ERROR, AC_ERROR_MISMATCH,
			     "the image's LUKS UUID %s differs from the %s written into the guest",
			     s->report->luks->uuid, s->luks_uuid);
		return FALSE;
	}
	/* slot 1 opens with the keyfile the guest carries */
	if (s->keyfile != NULL &&
	    !ac_verify_keyslot (s->partial, s->report, s->keyfile, 1, s->workdir, error)) {
		g_prefix_error (error, "verification of the initramfs keyfile slot: ");
		return FALSE;
	}
	return ac_build_step_done (s, 3);
}

/* manifest, then publish by renaming */
static gboolean
ac_build_publish (AcBuildState *s, GError **error)
{
	const AcTemplate *tpl = s->tpl;
	AcBuildResult *result = s->result;
	AcManifest m = { 0 };

	result->image_sha256 = ac_sha256_file (s->partial, s->cancellable, error);
	if (result->image_sha256 == NULL)
		return FALSE;
	m.image_path = tpl->output_path;
	m.image_size = tpl->disk_size;
	m.image_sha256 = result->image_sha256;
	m.esp_volume_id = s->assembled.esp_volume_id;
	m.fs_uuid = s->fs_uuid;
	m.template_sha256 = tpl->sha256;
	m.template_name = tpl->name;
	m.reproducible = tpl->reproducible;
	m.source_date_epoch = tpl->reproducible ? tpl->source_date_epoch : -1;
	m.report = s->report;
	result->manifest_json = ac_manifest_to_json (&m);
	if (!ac_build_write_atomic (tpl->manifest_path, result->manifest_json,
				    strlen (result->manifest_json), error))
		return FALSE;
	if (chmod (s->partial, 0644) != 0 || rename (s->partial, tpl->output_path) != 0) {
		g_set_error (error, AC_ERROR, AC_ERROR_IO, "cannot move the image to %s: %s",
			     tpl->output_path, g_strerror (errno));
		g_unlink (tpl->manifest_path);
		return FALSE;
	}
	ac_cleanup_forget (s->cleanup, s->partial);
	result->image_path = g_strdup (tpl->output_path);
	result->manifest_path = g_strdup (tpl->manifest_path);
	result->luks_uuid = g_strdup (s->luks_uuid);
	result->image_size = tpl->disk_size;
	result->passphrase = g_steal_pointer (&s->pass);
	return ac_build_step_done (s, 4);
}

static gboolean
ac_build_steps (const AcTemplate *tpl,
		const AcBuildOptions *opts,
		AcProgress *progress,
		GCancellable *cancellable,
		AcCleanup *cleanup,
		const gchar *workdir,
		AcBuildResult *result,
		GError **error)
{
	g_auto(AcBuildState) s = {
		.tpl = tpl,
		.opts = opts,
		.progress = progress,
		.cancellable = cancellable,
		.cleanup = cleanup,
		.workdir = workdir,
		.result = result,
		.root = g_build_filename (workdir, "root", NULL),
		.esp = g_build_filename (workdir, "esp", NULL),
		.t = g_get_monotonic_time (),
	};

	s.pass = ac_build_get_passphrase (tpl, opts, error);
	if (s.pass == NULL)
		return FALSE;
	if (!ac_build_identifiers (&s, error))
		return FALSE;

	ac_progress_add_step (progress, "source", 15);
	ac_progress_add_step (progress, "provision", 25);
	ac_progress_add_step (progress, "assemble", 45);
	ac_progress_add_step (progress, "verify", 13);
	ac_progress_add_step (progress, "manifest", 2);

	return ac_build_source (&s, error) && ac_build_provision (&s, error) &&
	       ac_build_assemble (&s, error) && ac_build_verify (&s, error) &&
	       ac_build_publish (&s, error);
}

/**
 * ac_build_run:
 *
 * Builds the image a template describes. On success the image and its manifest are in place
 * and @result holds the passphrase for the caller to store. On failure or cancellation every
 * temporary is undone in reverse order (with %AC_ON_ERROR_ABORT the work directory is kept,
 * mounts are still undone); the source is only ever read.
 */
gboolean
ac_build_run (const AcTemplate *tpl,
	      const AcBuildOptions *opts,
	      AcProgress *progress,
	      GCancellable *cancellable,
	      AcBuildResult *result,
	      GError **error)
{
	g_autoptr(AcCleanup) cleanup = ac_cleanup_new ();
	g_autoptr(AcProgress) own_progress = NULL;
	g_autofree gchar *outdir = g_path_get_dirname (tpl->output_path);
	g_autofree gchar *workdir = NULL;
	g_autoptr(GError) local = NULL;
	AcBuildOptions defaults = { 0 };
	AcOnError on_error;

	if (opts == NULL)
		opts = &defaults;
	if (progress == NULL)
		progress = own_progress = ac_progress_new ("build");
	if (!opts->force) {
		if (g_file_test (tpl->output_path, G_FILE_TEST_EXISTS)) {
			g_set_error (error, AC_ERROR, AC_ERROR_EXISTS,
				     "output.path '%s' exists: use --force to replace it", tpl->output_path);
			return FALSE;
		}
		if (g_file_test (tpl->manifest_path, G_FILE_TEST_EXISTS)) {
			g_set_error (error, AC_ERROR, AC_ERROR_EXISTS,
				     "output.manifest '%s' exists: use --force to replace it",
				     tpl->manifest_path);
			return FALSE;
		}
	}
	if (g_file_test (tpl->output_path, G_FILE_TEST_IS_DIR)) {
		g_set_error (error, AC_ERROR, AC_ERROR_EXISTS, "output.path '%s' is a directory",
			     tpl->output_path);
		return FALSE;
	}
	if (g_mkdir_with_parents (outdir, 0755) != 0) {
		g_set_error (error, AC_ERROR, AC_ERROR_IO, "cannot create the output folder %s: %s",
			     outdir, g_strerror (errno));
		return FALSE;
	}
	workdir = ac_make_workdir (opts->workdir_parent != NULL ? opts->workdir_parent : outdir, error);
	if (workdir == NULL)
		return FALSE;
	ac_cleanup_add_path (cleanup, workdir);
	if (ac_build_steps (tpl, opts, progress, cancellable, cleanup, workdir, result, &local)) {
		if (!ac_cleanup_run (cleanup, error)) {
			g_prefix_error (error, "the image is built but cleaning up failed: ");
			return FALSE;
		}
		return TRUE;
	}
	on_error = opts->on_error;
	if (on_error == AC_ON_ERROR_ASK)
		on_error = opts->ask != NULL && !g_cancellable_is_cancelled (cancellable)
		               ? opts->ask (local, workdir, opts->ask_data)
		               : AC_ON_ERROR_CLEANUP;
	/* interrupted during the build or while asking */
	if (g_cancellable_is_cancelled (cancellable) && local->code != AC_ERROR_CANCELLED) {
		g_autofree gchar *msg = g_strdup (local->message);
		g_clear_error (&local);
		local = g_error_new (AC_ERROR, AC_ERROR_CANCELLED, "interrupted: %s", msg);
	}
	if (on_error == AC_ON_ERROR_ABORT) {
		g_autoptr(GError) cerr = NULL;
		if (!ac_cleanup_run_mounts (cleanup, &cerr))
			g_warning ("cleanup: %s", cerr->message);
		result->kept_workdir = g_strdup (workdir);
	} else {
		g_autoptr(GError) cerr = NULL;
		if (!ac_cleanup_run (cleanup, &cerr))
			g_warning ("cleanup after the failure: %s", cerr->message);
	}
	g_propagate_error (error, g_steal_pointer (&local));
	return FALSE;
}

/**
 * ac_build_manifest_set_cid:
 *
 * Fills image.cid of a manifest once the caller (which has the IPFS code) computed it.
 */
gboolean
ac_build_manifest_set_cid (const gchar *manifest_path, const gchar *cid, GError **error)
{
	g_autoptr(JsonParser) parser = json_parser_new ();
	g_autoptr(JsonGenerator) gen = json_generator_new ();
	g_autoptr(GError) local = NULL;
	g_autofree gchar *data = NULL;
	JsonObject *img;
	if (!json_parser_load_from_file (parser, manifest_path, &local) ||
	    !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser))) {
		g_set_error (error, AC_ERROR, AC_ERROR_IO, "cannot read the manifest %s: %s",
			     manifest_path, local != NULL ? local->message : "not an object");
		return FALSE;
	}
	img = json_object_get_object_member (json_node_get_object (json_parser_get_root (parser)),
					     "image");
	if (img == NULL) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT, "%s has no 'image' member",
			     manifest_path);
		return FALSE;
	}
	json_object_set_string_member (img, "cid", cid);
	json_generator_set_root (gen, json_parser_get_root (parser));
	json_generator_set_pretty (gen, TRUE);
	data = json_generator_to_data (gen, NULL);
	return ac_build_write_atomic (manifest_path, data, strlen (data), error);
}
