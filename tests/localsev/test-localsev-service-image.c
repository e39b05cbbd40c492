/*
 * The local SEV service's disk image: a plain disk built into an encrypted image, attested;
 * idempotence, resumption after an interrupted build, the state file, the storage API.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "test-localsev-service-common.h"
#include "test-localsev-util.h"

/* the tools the grub-luks1 layout's build runs */
static const gchar *const build_tools[] = { "mkfs.ext4", "mcopy", "blkid", "qemu-img", NULL };

static gchar *
file_sha256 (const gchar *path)
{
	g_autoptr (GError) error = NULL;
	g_autoptr (GMappedFile) map = g_mapped_file_new (path, FALSE, &error);
	g_assert_no_error (error);
	return g_compute_checksum_for_data (G_CHECKSUM_SHA256,
	                                    (const guchar *)g_mapped_file_get_contents (map),
	                                    g_mapped_file_get_length (map));
}

static void
run_ok (const gchar *const *argv)
{
	g_autoptr (GError) error = NULL;
	gint status = 0;
	g_autofree gchar *err = NULL;
	g_spawn_sync (NULL, (gchar **)argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL,
	              NULL, NULL, NULL, &err, &status, &error);
	g_assert_no_error (error);
	if (!g_spawn_check_wait_status (status, NULL))
		g_error ("%s failed: %s", argv[0], err);
}

/*
 * The domain on a plain disk (a real, tiny ext4 root filesystem, no secret), its tag naming
 * the firmware file and its loader another one. Returns the disk's sha256.
 */
static gchar *
use_plain_disk (Fixture *f)
{
	g_autofree gchar *tree = g_build_filename (f->tmp, "tree", NULL);
	g_autofree gchar *etc = g_build_filename (tree, "etc", NULL);
	g_autofree gchar *bin = g_build_filename (tree, "usr", "bin", NULL);
	g_autofree gchar *hostname = g_build_filename (etc, "hostname", NULL);
	g_autofree gchar *xml = NULL;
	g_autofree gchar *old_tag = NULL;
	g_autofree gchar *new_tag = NULL;
	g_autofree gchar *old_loader = NULL;
	g_autoptr (GString) s = NULL;

	g_assert_cmpint (g_mkdir_with_parents (etc, 0755), ==, 0);
	g_assert_cmpint (g_mkdir_with_parents (bin, 0755), ==, 0);
	g_assert_true (g_file_set_contents (hostname, "conf-vm\n", -1, NULL));
	g_free (f->disk);
	f->disk = g_build_filename (f->tmp, "conf-vm-plain.img", NULL);
	{
		const gchar *argv[]
		    = { "mkfs.ext4", "-q", "-F", "-L", "rootfs", "-d", tree, f->disk, "32M", NULL };
		run_ok (argv);
	}
	xml = domain_xml (f, "0x1");
	s = g_string_new (xml);
	old_tag = g_strdup_printf ("<aleph:firmware sha256=\"%s\"/>", f->sha256);
	new_tag = g_strdup_printf ("<aleph:firmware sha256=\"%s\" file=\"%s\"/>", f->sha256,
	                           f->firmware);
	g_assert_cmpuint (g_string_replace (s, old_tag, new_tag, 0), ==, 1);
	old_loader = g_strdup_printf ("'pflash'>%s</loader>", f->firmware);
	g_assert_cmpuint (
	    g_string_replace (s, old_loader, "'pflash'>/nonexistent/OVMF.fd</loader>", 0), ==, 1);
	if (f->dom != NULL)
		virDomainFree (f->dom);
	f->dom = virDomainDefineXML (f->conn, s->str);
	g_assert_nonnull (f->dom);
	return file_sha256 (f->disk);
}

static gchar *
image_path (Fixture *f)
{
	return g_strdup_printf ("%s/images/%s.img", f->tmp, UUID);
}

/* the passphrase of @image as the local store holds it */
static GBytes *
stored_passphrase (Fixture *f, const gchar *image, gchar **secret_uuid)
{
	g_autoptr (virSecret) secret
	    = virSecretLookupByUsage (secrets, VIR_SECRET_USAGE_TYPE_VOLUME, image);
	char uuid[VIR_UUID_STRING_BUFLEN];
	unsigned char *value;
	size_t len = 0;
	GBytes *bytes;
	char *desc;

	g_assert_nonnull (secret);
	desc = virSecretGetXMLDesc (secret, 0);
	g_assert_nonnull (desc);
	g_assert_nonnull (strstr (desc, "<usage type='volume'>"));
	g_assert_nonnull (strstr (desc, image));
	/* private: nobody who can open the libvirt connection reads it back */
	g_assert_nonnull (strstr (desc, "private='yes'"));
	free (desc);
	value = virSecretGetValue (secret, &len, 0);
	g_assert_null (value);
	virResetLastError ();
	/* the service's copy: 0600 in its 0700 directory */
	g_assert_cmpint (virSecretGetUUIDString (secret, uuid), ==, 0);
	{
		g_autofree gchar *dir = g_build_filename (f->tmp, "secrets", NULL);
		g_autofree gchar *copy = g_build_filename (dir, uuid, NULL);
		gchar *data = NULL;
		struct stat st;
		g_assert_cmpint (stat (dir, &st), ==, 0);
		g_assert_cmpint (st.st_mode & 0777, ==, 0700);
		g_assert_cmpint (stat (copy, &st), ==, 0);
		g_assert_cmpint (st.st_mode & 0777, ==, 0600);
		g_assert_true (g_file_get_contents (copy, &data, &len, NULL));
		g_assert_cmpuint (len, >=, 16);
		bytes = g_bytes_new_take (data, len);
	}
	if (secret_uuid != NULL)
		*secret_uuid = g_strdup (uuid);
	return bytes;
}

static gboolean
contains_bytes (const gchar *text, GBytes *needle)
{
	g_autofree gchar *s
	    = g_strndup (g_bytes_get_data (needle, NULL), g_bytes_get_size (needle));
	return text != NULL && strstr (text, s) != NULL;
}

static guint
count_images (Fixture *f)
{
	g_autofree gchar *dir = g_build_filename (f->tmp, "images", NULL);
	g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
	const gchar *e;
	guint n = 0;
	while (d != NULL && (e = g_dir_read_name (d)) != NULL) {
		if (g_str_has_suffix (e, ".img") || g_str_has_prefix (e, "ac-build-"))
			n++;
	}
	return n;
}

/* a plain disk all the way to an attested launch: built, switched, prepared, attested */
static void
test_image_plain_to_attested (Fixture *f, gconstpointer data)
{
	g_autoptr (GError) error = NULL;
	g_autofree gchar *sum0 = NULL;
	g_autofree gchar *sum1 = NULL;
	g_autofree gchar *image = image_path (f);
	g_autofree gchar *xml = NULL;
	g_autofree gchar *source = NULL;
	g_autofree gchar *format = NULL;
	g_autofree gchar *secret_uuid = NULL;
	g_autofree gchar *text = NULL;
	g_autofree gchar *state_json = NULL;
	g_autoptr (GBytes) passphrase = NULL;
	g_autoptr (AcDomain) dom = NULL;
	g_autoptr (AcLocalsevRecord) r = NULL;
	g_autoptr (AcLocalsevImageState) state = NULL;
	AcStatus *first, *last;
	struct stat st0, st1;

	if (!can_build (build_tools))
		return;
	sum0 = use_plain_disk (f);
	g_assert_cmpint (stat (f->disk, &st0), ==, 0);

	g_assert_true (reconcile_run (f, &error));
	g_assert_no_error (error);

	/* the statuses: building from 0 with progress, then the image, then prepared */
	g_assert_cmpuint (building_statuses (f), >=, 2);
	first = g_ptr_array_index (f->statuses, 0);
	g_assert_cmpstr (first->state, ==, "building");
	g_assert_cmpstr (first->step, ==, "build");
	g_assert_cmpuint (first->progress, ==, 0);
	last = g_ptr_array_index (f->statuses, f->statuses->len - 1);
	g_assert_cmpstr (last->state, ==, "building");
	g_assert_cmpuint (last->progress, ==, 100);
	g_assert_cmpstr (last->image_path, ==, image);
	g_assert_cmpstr (f->status->state, ==, "prepared");
	g_assert_cmpstr (f->status->step, ==, "prepare");
	g_assert_null (f->status->error_message);
	g_assert_cmpstr (f->status->image_path, ==, image);
	sum1 = file_sha256 (image);
	g_assert_cmpstr (f->status->image_sha256, ==, sum1);
	g_assert_true (g_uuid_string_is_valid (f->status->image_luks_uuid));
	g_clear_pointer (&sum1, g_free);

	/* redefined onto the image: raw, the tag's firmware as loader, everything else kept */
	xml = inactive_xml (f);
	dom = ac_domain_parse (xml, -1, &error);
	g_assert_no_error (error);
	g_assert_true (ac_image_disk_source (dom, "vda", &source, &format, NULL, &error));
	g_assert_no_error (error);
	g_assert_cmpstr (source, ==, image);
	g_assert_cmpstr (format, ==, "raw");
	g_assert_cmpstr (dom->loader, ==, f->firmware);
	/* one disk (the model lists CD-ROMs too: only disks count) */
	{
		guint disks = 0;
		for (guint i = 0; i < dom->disks->len; i++) {
			AcDomainDisk *d = g_ptr_array_index (dom->disks, i);
			disks += g_strcmp0 (d->device, "disk") == 0 ? 1 : 0;
		}
		g_assert_cmpuint (disks, ==, 1);
	}
	g_assert_true (dom->has_launch_security);
	g_assert_nonnull (strstr (xml, "<memory unit='KiB'>1048576</memory>"));
	g_assert_nonnull (strstr (xml, "<target dev='sda' bus='sata'/>"));
	g_assert_nonnull (strstr (xml, "<aleph:confidential"));

	/* the original disk: byte for byte, not even touched */
	sum1 = file_sha256 (f->disk);
	g_assert_cmpstr (sum1, ==, sum0);
	g_assert_cmpint (stat (f->disk, &st1), ==, 0);
	g_assert_cmpint (st1.st_mtime, ==, st0.st_mtime);
	g_assert_cmpint (st1.st_ino, ==, st0.st_ino);

	/* the passphrase: in the local secret store, for the image; in no status, state or log */
	passphrase = stored_passphrase (f, image, &secret_uuid);
	state = ac_localsev_image_state_load (f->tmp, UUID, &error);
	g_assert_no_error (error);
	g_assert_cmpint (state->phase, ==, AC_LOCALSEV_IMAGE_SWITCHED);
	g_assert_cmpstr (state->original, ==, f->disk);
	g_assert_cmpstr (state->target, ==, image);
	g_assert_cmpstr (state->secret, ==, secret_uuid);
	g_assert_cmpstr (state->sha256, ==, f->status->image_sha256);
	state_json = ac_localsev_image_state_to_json (state);
	g_assert_false (contains_bytes (state_json, passphrase));
	text = ac_status_format (f->status);
	g_assert_false (contains_bytes (text, passphrase));
	g_assert_false (contains_bytes (logged->str, passphrase));
	g_assert_nonnull (strstr (logged->str, "the original"));

	/* prepared for the image; started paused; attested with that very passphrase */
	r = record (f);
	g_assert_cmpstr (r->disk_source, ==, image);
	g_assert_cmpstr (r->loader, ==, f->firmware);
	start (f, TRUE);
	g_assert_true (reconcile (f, &error));
	g_assert_no_error (error);
	g_assert_cmpstr (f->status->state, ==, "running");
	g_assert_cmpstr (f->status->attest_verdict, ==, "ok");
	g_assert_cmpstr (f->status->image_path, ==, image);
	test_localsev_check_injected (f->fake, UUID, g_bytes_get_data (passphrase, NULL),
	                              g_bytes_get_size (passphrase));
	g_assert_false (contains_bytes (logged->str, passphrase));
}

/* the plain disk the image was built from still has the SHA-256 @sum0 */
static void
assert_disk_unchanged (Fixture *f, const gchar *sum0)
{
	g_autofree gchar *sum1 = file_sha256 (f->disk);
	g_assert_cmpstr (sum1, ==, sum0);
}

/* the image at @image is the only one and still the one built (@st0: neither rebuilt nor
 * rewritten), its passphrase still @p0 under the LUKS UUID @uuid0 in the secret store */
static void
assert_image_kept (Fixture *f,
                   const gchar *image,
                   const struct stat *st0,
                   const gchar *uuid0,
                   GBytes *p0)
{
	g_autofree gchar *uuid = NULL;
	g_autoptr (GBytes) p = NULL;
	struct stat st;

	g_assert_cmpint (stat (image, &st), ==, 0);
	g_assert_cmpint (st.st_ino, ==, st0->st_ino);
	g_assert_cmpint (st.st_mtime, ==, st0->st_mtime);
	g_assert_cmpuint (count_images (f), ==, 1);
	p = stored_passphrase (f, image, &uuid);
	g_assert_cmpstr (uuid, ==, uuid0);
	g_assert_true (g_bytes_equal (p, p0));
}

/* built once: the next reconciles build nothing; switched back to the original by its owner,
 * the image (maybe with newer data) is neither built over nor switched to */
static void
test_image_idempotent (Fixture *f, gconstpointer data)
{
	g_autoptr (GError) error = NULL;
	g_autofree gchar *sum0 = NULL;
	g_autofree gchar *image = image_path (f);
	g_autofree gchar *uuid1 = NULL;
	g_autofree gchar *plain_xml = NULL;
	g_autofree gchar *xml = NULL;
	g_autoptr (GBytes) p1 = NULL;
	virDomainPtr back;
	struct stat st0, st1;

	if (!can_build (build_tools))
		return;
	sum0 = use_plain_disk (f);
	plain_xml = inactive_xml (f);
	g_assert_true (reconcile_run (f, &error));
	g_assert_no_error (error);
	g_assert_cmpint (stat (image, &st0), ==, 0);
	p1 = stored_passphrase (f, image, &uuid1);

	g_assert_true (reconcile_run (f, &error));
	g_assert_no_error (error);
	g_assert_cmpuint (building_statuses (f), ==, 0);
	g_assert_cmpuint (f->statuses->len, ==, 0);
	g_assert_cmpstr (f->status->state, ==, "prepared");
	g_assert_cmpstr (f->status->image_path, ==, image);
	assert_image_kept (f, image, &st0, uuid1, p1);

	/* the owner points the disk back at the original */
	back = virDomainDefineXML (f->conn, plain_xml);
	g_assert_nonnull (back);
	virDomainFree (back);
	g_assert_false (reconcile_run (f, &error));
	assert_error (error, AC_ERROR_REFUSED, image);
	g_assert_nonnull (strstr (error->message, "in use since"));
	g_assert_nonnull (strstr (error->message, f->disk));
	assert_failed_status (f, "build", AC_ERROR_REFUSED);
	g_assert_cmpuint (building_statuses (f), ==, 0);
	g_assert_cmpint (stat (image, &st1), ==, 0);
	g_assert_cmpint (st1.st_mtime, ==, st0.st_mtime);
	g_assert_cmpuint (count_images (f), ==, 1);
	xml = inactive_xml (f);
	g_assert_nonnull (strstr (xml, f->disk));
	g_assert_null (strstr (xml, image));
	assert_disk_unchanged (f, sum0);
}

/* stopped after the build, before the redefinition: the next run only redefines */
static void
test_image_resume_after_build (Fixture *f, gconstpointer data)
{
	g_autoptr (GError) error = NULL;
	g_autoptr (GError) error_load = NULL;
	g_autofree gchar *sum0 = NULL;
	g_autofree gchar *image = image_path (f);
	g_autofree gchar *xml = NULL;
	g_autofree gchar *uuid1 = NULL;
	g_autoptr (GBytes) p1 = NULL;
	g_autoptr (AcLocalsevImageState) state = NULL;
	struct stat st0;

	if (!can_build (build_tools))
		return;
	sum0 = use_plain_disk (f);
	f->cancel_at = 100; /* the build finished: interrupted before the redefinition */
	g_assert_false (reconcile_run (f, &error));
	assert_error (error, AC_ERROR_CANCELLED, "before the domain was redefined");
	g_clear_error (&error);
	xml = inactive_xml (f);
	g_assert_nonnull (strstr (xml, f->disk));
	g_assert_null (strstr (xml, "<launchSecurity"));
	g_assert_null (ac_localsev_record_load (f->tmp, UUID, &error_load));
	state = ac_localsev_image_state_load (f->tmp, UUID, &error);
	g_assert_no_error (error);
	g_assert_cmpint (state->phase, ==, AC_LOCALSEV_IMAGE_BUILT);
	g_assert_cmpint (stat (image, &st0), ==, 0);
	p1 = stored_passphrase (f, image, &uuid1);

	f->cancel_at = 0;
	g_cancellable_reset (f->cancellable);
	g_assert_true (reconcile_run (f, &error));
	g_assert_no_error (error);
	g_assert_cmpuint (building_statuses (f), ==, 0);
	g_assert_cmpstr (f->status->state, ==, "prepared");
	assert_image_kept (f, image, &st0, uuid1, p1);
	g_clear_pointer (&xml, g_free);
	xml = inactive_xml (f);
	g_assert_nonnull (strstr (xml, image));
	g_assert_nonnull (strstr (xml, "<launchSecurity"));
	assert_disk_unchanged (f, sum0);
}

/* stopped mid-build: nothing left behind, the next run builds afresh; the work directory a
 * SIGKILL leaves is removed by the next build */
static void
test_image_resume_mid_build (Fixture *f, gconstpointer data)
{
	g_autoptr (GError) error = NULL;
	g_autoptr (GError) error_state = NULL;
	g_autofree gchar *sum0 = NULL;
	g_autofree gchar *image = image_path (f);
	g_autofree gchar *stale = NULL;
	g_autofree gchar *stale_file = NULL;
	g_autofree gchar *xml = NULL;

	if (!can_build (build_tools))
		return;
	sum0 = use_plain_disk (f);
	f->cancel_at = 5;
	g_assert_false (reconcile_run (f, &error));
	assert_error (error, AC_ERROR_CANCELLED, "");
	g_clear_error (&error);
	g_assert_cmpuint (count_images (f), ==, 0);
	g_assert_null (ac_localsev_image_state_load (f->tmp, UUID, &error_state));
	g_assert_error (error_state, AC_ERROR, AC_ERROR_NOT_FOUND);
	xml = inactive_xml (f);
	g_assert_nonnull (strstr (xml, f->disk));

	stale = g_build_filename (f->tmp, "images", "ac-build-K1LL3D", NULL);
	stale_file = g_build_filename (stale, "rootfs.img", NULL);
	g_assert_cmpint (g_mkdir_with_parents (stale, 0700), ==, 0);
	g_assert_true (g_file_set_contents (stale_file, "half a build", -1, NULL));
	f->cancel_at = 0;
	g_cancellable_reset (f->cancellable);
	g_assert_true (reconcile_run (f, &error));
	g_assert_no_error (error);
	g_assert_cmpuint (building_statuses (f), >, 0);
	g_assert_false (g_file_test (stale, G_FILE_TEST_EXISTS));
	g_assert_true (g_file_test (image, G_FILE_TEST_IS_REGULAR));
	g_assert_cmpuint (count_images (f), ==, 1);
	g_assert_cmpstr (f->status->state, ==, "prepared");
	assert_disk_unchanged (f, sum0);
}

/* a state the flow cannot read is not "nothing built": refused, nothing built over */
static void
test_image_state_unreadable (Fixture *f, gconstpointer data)
{
	g_autoptr (GError) error = NULL;
	g_autofree gchar *dir = NULL;
	g_autofree gchar *path = NULL;

	dir = ac_localsev_store_domain_dir (f->tmp, UUID, &error);
	g_assert_no_error (error);
	path = g_build_filename (dir, "image.json", NULL);
	g_assert_true (
	    g_file_set_contents (path, "{ \"version\": 1, \"phase\": \"switched\"", -1, NULL));
	g_assert_false (reconcile (f, &error));
	assert_error (error, AC_ERROR_INVALID_INPUT, "image.json");
	assert_failed_status (f, "build", AC_ERROR_INVALID_INPUT);
	g_assert_cmpuint (count_images (f), ==, 0);
}

/* the storage API path wants the disk in a pool: refused with what to do, nothing built */
static void
test_image_storage_not_a_volume (Fixture *f, gconstpointer data)
{
	g_autoptr (GError) error = NULL;
	AcLocalsevServiceRun run = { "default-pool", on_status, f, f->cancellable };
	AcStatus *st = NULL;

	g_assert_false (ac_localsev_service_reconcile_full (AC_SEV_HOST (f->host), f->opts, &run,
	                                                    secrets, f->dom, NULL, &st, &error));
	assert_error (error, AC_ERROR_INVALID_INPUT, "is not a volume of a storage pool");
	g_assert_nonnull (strstr (error->message, f->disk));
	g_assert_nonnull (strstr (error->message, "disk vda"));
	g_assert_nonnull (strstr (error->message, "pool-define-as"));
	g_assert_cmpstr (st->state, ==, "failed");
	g_assert_cmpstr (st->error_step, ==, "build");
	ac_status_free (st);
	g_assert_cmpuint (count_images (f), ==, 0);
}

static void
test_image_switch_disk (Fixture *f, gconstpointer data)
{
	g_autoptr (GError) error = NULL;
	const gchar *xml
	    = "<domain type='kvm'><name>x</name><os><type>hvm</type></os><devices>"
	      "<disk type='block' device='disk'><source dev='/dev/vg/x'><seclabel "
	      "model='dac' relabel='no'/></source><backingStore type='file'><format "
	      "type='qcow2'/><source file='/b.qcow2'/></backingStore><target dev='vda' "
	      "bus='virtio'/><boot order='1'/></disk>"
	      "<disk type='file' device='disk'><driver name='qemu' type='qcow2' cache='none'/>"
	      "<source file='/other.qcow2'/><target dev='vdb'/></disk></devices></domain>";
	g_autofree gchar *out = NULL;
	g_autofree gchar *out2 = NULL;
	g_autofree gchar *source = NULL;
	g_autofree gchar *format = NULL;
	g_autoptr (AcDomain) dom = NULL;
	g_autoptr (AcDomain) dom2 = NULL;

	out = ac_localsev_domain_switch_disk (xml, "vda", "/img/a&b.img", "/fw/OVMF.fd", &error);
	g_assert_no_error (error);
	dom = ac_domain_parse (out, -1, &error);
	g_assert_no_error (error);
	g_assert_true (ac_image_disk_source (dom, "vda", &source, &format, NULL, &error));
	g_assert_cmpstr (source, ==, "/img/a&b.img");
	g_assert_cmpstr (format, ==, "raw");
	g_clear_pointer (&source, g_free);
	g_clear_pointer (&format, g_free);
	g_assert_true (ac_image_disk_source (dom, "vdb", &source, &format, NULL, &error));
	g_assert_cmpstr (source, ==, "/other.qcow2"); /* the other disk untouched */
	g_assert_cmpstr (format, ==, "qcow2");
	g_assert_null (strstr (out, "backingStore"));
	g_assert_null (strstr (out, "/dev/vg/x"));
	g_assert_nonnull (strstr (out, "<boot order=\"1\"/>"));
	g_assert_nonnull (strstr (out, "<disk type=\"file\" device=\"disk\">"));
	g_assert_nonnull (
	    strstr (out, "<loader readonly=\"yes\" type=\"rom\">/fw/OVMF.fd</loader>"));
	g_assert_cmpstr (dom->loader, ==, "/fw/OVMF.fd");

	/* an existing loader keeps its attributes; no loader asked: the loader is left alone */
	out2 = ac_localsev_domain_switch_disk (out, "vda", "/img/c.img", "/fw/AMDSEV.fd", &error);
	g_assert_no_error (error);
	g_assert_nonnull (
	    strstr (out2, "<loader readonly=\"yes\" type=\"rom\">/fw/AMDSEV.fd</loader>"));
	g_clear_pointer (&out, g_free);
	out = ac_localsev_domain_switch_disk (out2, "vda", "/img/d.img", NULL, &error);
	g_assert_no_error (error);
	dom2 = ac_domain_parse (out, -1, &error);
	g_assert_cmpstr (dom2->loader, ==, "/fw/AMDSEV.fd");
	g_clear_pointer (&out2, g_free);
	out2 = ac_localsev_domain_switch_disk (xml, "vdz", "/img/x.img", NULL, &error);
	g_assert_null (out2);
	g_assert_error (error, AC_ERROR, AC_ERROR_NOT_FOUND);
}

static void
test_image_state_json (Fixture *f, gconstpointer data)
{
	g_autoptr (GError) error = NULL;
	AcLocalsevImageState s = { 0 };
	g_autofree gchar *json = NULL;
	g_autoptr (AcLocalsevImageState) back = NULL;

	s.domain = (gchar *)"d";
	s.disk_dev = (gchar *)"vda";
	s.original = (gchar *)"/o.img";
	s.original_format = (gchar *)"qcow2";
	s.image = (gchar *)"/s/images/u.img";
	s.target = (gchar *)"/pool/u.img";
	s.pool = (gchar *)"images";
	s.volume = (gchar *)"u.img";
	s.sha256 = (gchar *)"ab";
	s.luks_uuid = (gchar *)"u";
	s.size = 268435456;
	s.secret = (gchar *)"6a0d2d0b-2c8e-4f55-9f34-4e8b4b1f0c21";
	s.phase = AC_LOCALSEV_IMAGE_UPLOADED;
	s.built = (gchar *)"2024-01-01T00:00:00Z";
	json = ac_localsev_image_state_to_json (&s);
	/* an absent string is no member at all; the size a number */
	g_assert_null (strstr (json, "\"switched\""));
	g_assert_nonnull (strstr (json, "\"size\" : 268435456"));
	back = ac_localsev_image_state_from_json (json, -1, &error);
	g_assert_no_error (error);
	g_assert_cmpstr (back->original, ==, "/o.img");
	g_assert_cmpstr (back->original_format, ==, "qcow2");
	g_assert_cmpstr (back->target, ==, "/pool/u.img");
	g_assert_cmpstr (back->pool, ==, "images");
	g_assert_cmpstr (back->volume, ==, "u.img");
	g_assert_cmpuint (back->size, ==, 268435456);
	g_assert_cmpint (back->phase, ==, AC_LOCALSEV_IMAGE_UPLOADED);
	g_assert_null (back->switched);
	g_clear_pointer (&back, ac_localsev_image_state_free);
	back = ac_localsev_image_state_from_json (
	    "{\"version\":1,\"original\":\"/o\",\"secret\":\"x\",\"phase\":\"switched\"}", -1,
	    &error);
	g_assert_null (back); /* switched to what? */
	g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
	g_clear_error (&error);
	back = ac_localsev_image_state_from_json (
	    "{\"version\":1,\"original\":\"/o\",\"secret\":\"x\",\"phase\":\"done\"}", -1, &error);
	g_assert_null (back);
	g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
}

int
main (int argc, char **argv)
{
	localsev_service_test_init (&argc, &argv);

#define T(path, fn)                                                                                \
	g_test_add ("/localsev/service/" path, Fixture, NULL, fixture_setup, fn, fixture_teardown)
	T ("image/plain-to-attested", test_image_plain_to_attested);
	T ("image/idempotent", test_image_idempotent);
	T ("image/resume-after-build", test_image_resume_after_build);
	T ("image/resume-mid-build", test_image_resume_mid_build);
	T ("image/state-unreadable", test_image_state_unreadable);
	T ("image/storage-not-a-volume", test_image_storage_not_a_volume);
	T ("image/switch-disk", test_image_switch_disk);
	T ("image/state-json", test_image_state_json);
#undef T
	return localsev_service_test_run ();
}
