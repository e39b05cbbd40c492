/*
 * GPT partition lookup and the LUKS passphrase checks of a published image (ac-luks-disk.h).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#if HAVE_CRYPTSETUP
#include <libcryptsetup.h>
#endif
#include <glib/gstdio.h>

#include "ac-luks-disk.h"
#include "ac-error.h"
#include "ac-json.h"
#include "ac-snp-luks2.h"

guint32
ac_luks_disk_crc32 (guint32 crc, const guint8 *data, gsize len)
{
	crc = ~crc;
	for (gsize i = 0; i < len; i++) {
		crc ^= data[i];
		for (guint k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
	}
	return ~crc;
}

static guint32
le32 (const guint8 *p)
{
	return (guint32)p[0] | ((guint32)p[1] << 8) | ((guint32)p[2] << 16) | ((guint32)p[3] << 24);
}

static guint64
le64 (const guint8 *p)
{
	return (guint64)le32 (p) | ((guint64)le32 (p + 4) << 32);
}

static guint32
be32 (const guint8 *p)
{
	return ((guint32)p[0] << 24) | ((guint32)p[1] << 16) | ((guint32)p[2] << 8) | (guint32)p[3];
}

/* the image is whole sectors, large enough for a GPT, with a protective MBR */
static gboolean
gpt_check_disk (const guint8 *data, gsize len, guint64 disk_size, GError **error)
{
	if (data == NULL || len < 2 * AC_LUKS_DISK_SECTOR || disk_size < 2 * AC_LUKS_DISK_SECTOR) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "disk image: %" G_GUINT64_FORMAT
		             " bytes is too small for a GPT, expected at least 1024",
		             disk_size);
		return FALSE;
	}
	if (disk_size % AC_LUKS_DISK_SECTOR != 0) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "disk image: size %" G_GUINT64_FORMAT " is not a multiple of 512",
		             disk_size);
		return FALSE;
	}
	/* protective MBR: signature and a 0xEE partition */
	if (data[510] != 0x55 || data[511] != 0xaa || data[446 + 4] != 0xee) {
		g_set_error_literal (
		    error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		    "disk image: no protective MBR (expected 0x55aa and a type 0xEE partition)");
		return FALSE;
	}
	return TRUE;
}

gboolean
ac_luks_disk_gpt_find_partition (const guint8 *data,
                                   gsize len,
                                   guint64 disk_size,
                                   guint partno,
                                   guint64 *offset,
                                   guint64 *size,
                                   GError **error)
{
	const guint8 *h;
	guint8 hdr[512];
	guint32 hsize, hcrc, nent, esize, ecrc;
	guint64 my_lba, first_usable, last_usable, ent_lba, ent_off, ent_bytes, disk_sectors;
	const guint8 *e;
	guint64 first, last;
	static const guint8 zero[16] = { 0 };

	if (!gpt_check_disk (data, len, disk_size, error))
		return FALSE;
	disk_sectors = disk_size / AC_LUKS_DISK_SECTOR;
	h = data + AC_LUKS_DISK_SECTOR;
	if (memcmp (h, "EFI PART", 8) != 0) {
		g_set_error_literal (
		    error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		    "disk image: no GPT header at LBA 1 (signature is not \"EFI PART\")");
		return FALSE;
	}
	hsize = le32 (h + 12);
	if (hsize < 92 || hsize > AC_LUKS_DISK_SECTOR) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "disk image: GPT header size %u is invalid, expected 92..512", hsize);
		return FALSE;
	}
	memcpy (hdr, h, hsize);
	hcrc = le32 (h + 16);
	memset (hdr + 16, 0, 4);
	if (ac_luks_disk_crc32 (0, hdr, hsize) != hcrc) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		                     "disk image: GPT header CRC32 does not match");
		return FALSE;
	}
	my_lba = le64 (h + 24);
	first_usable = le64 (h + 40);
	last_usable = le64 (h + 48);
	ent_lba = le64 (h + 72);
	nent = le32 (h + 80);
	esize = le32 (h + 84);
	ecrc = le32 (h + 88);
	if (my_lba != 1 || first_usable > last_usable || last_usable >= disk_sectors) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "disk image: GPT header geometry is invalid (my LBA %" G_GUINT64_FORMAT
		             ", usable %" G_GUINT64_FORMAT "..%" G_GUINT64_FORMAT
		             " of %" G_GUINT64_FORMAT " sectors)",
		             my_lba, first_usable, last_usable, disk_sectors);
		return FALSE;
	}
	if (esize < 128 || esize > 4096 || esize % 8 != 0 || nent == 0 || nent > 4096 || partno == 0
	    || partno > nent) {
		g_set_error (
		    error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		    "disk image: GPT has %u entries of %u bytes, expected 128..4096-byte entries "
		    "and at least %u of them",
		    nent, esize, partno);
		return FALSE;
	}
	if (ent_lba < 2 || ent_lba > G_MAXUINT64 / AC_LUKS_DISK_SECTOR) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "disk image: GPT entries at LBA %" G_GUINT64_FORMAT " is invalid",
		             ent_lba);
		return FALSE;
	}
	ent_off = ent_lba * AC_LUKS_DISK_SECTOR;
	ent_bytes = (guint64)nent * esize;
	if (ent_off > len || ent_bytes > len - ent_off) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "disk image: GPT entries (%" G_GUINT64_FORMAT
		             " bytes at %" G_GUINT64_FORMAT
		             ") lie beyond the first %" G_GSIZE_FORMAT " bytes",
		             ent_bytes, ent_off, len);
		return FALSE;
	}
	if (ac_luks_disk_crc32 (0, data + ent_off, (gsize)ent_bytes) != ecrc) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		                     "disk image: GPT partition entries CRC32 does not match");
		return FALSE;
	}
	e = data + ent_off + (guint64)(partno - 1) * esize;
	if (memcmp (e, zero, 16) == 0) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "disk image: GPT partition %u is unused", partno);
		return FALSE;
	}
	first = le64 (e + 32);
	last = le64 (e + 40);
	if (first < first_usable || last > last_usable || first > last) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "disk image: GPT partition %u spans LBA %" G_GUINT64_FORMAT
		             "..%" G_GUINT64_FORMAT ", outside the usable %" G_GUINT64_FORMAT
		             "..%" G_GUINT64_FORMAT,
		             partno, first, last, first_usable, last_usable);
		return FALSE;
	}
	*offset = first * AC_LUKS_DISK_SECTOR;
	*size = (last - first + 1) * AC_LUKS_DISK_SECTOR;
	return TRUE;
}

gboolean
ac_luks_disk_luks1_header_size (const guint8 *phdr,
                                  gsize len,
                                  guint64 partition_size,
                                  guint64 *size,
                                  GError **error)
{
	guint32 payload;
	if (phdr == NULL || len < AC_LUKS_DISK_LUKS1_PHDR_SIZE) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "LUKS header: %" G_GSIZE_FORMAT " bytes, expected at least %u", len,
		             AC_LUKS_DISK_LUKS1_PHDR_SIZE);
		return FALSE;
	}
	if (memcmp (phdr, "LUKS\xba\xbe", 6) != 0) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		                     "partition 2 is not LUKS (no LUKS magic at its start)");
		return FALSE;
	}
	if (phdr[6] != 0 || phdr[7] != 1) {
		g_set_error (
		    error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		    "partition 2 is LUKS version %u, expected LUKS1 (what the OVMF's GRUB opens)",
		    ((guint)phdr[6] << 8) | phdr[7]);
		return FALSE;
	}
	payload = be32 (phdr + 104);
	if (payload == 0 || (guint64)payload * AC_LUKS_DISK_SECTOR > AC_LUKS_DISK_LUKS_MAX_HEADER
	    || (guint64)payload * AC_LUKS_DISK_SECTOR > partition_size) {
		g_set_error (
		    error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		    "LUKS1 payload offset %u sectors is invalid, expected 1..%u and inside the "
		    "%" G_GUINT64_FORMAT "-byte partition",
		    payload, AC_LUKS_DISK_LUKS_MAX_HEADER / AC_LUKS_DISK_SECTOR, partition_size);
		return FALSE;
	}
	*size = (guint64)payload * AC_LUKS_DISK_SECTOR;
	return TRUE;
}

static gboolean
pread_all (int fd, guint8 *buf, gsize len, guint64 off, const gchar *path, GError **error)
{
	gsize done = 0;
	while (done < len) {
		ssize_t n = pread (fd, buf + done, len - done, (off_t)(off + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			g_set_error (error, AC_ERROR, AC_ERROR_IO,
			             "reading %s at %" G_GUINT64_FORMAT ": %s", path, off + done,
			             n < 0 ? g_strerror (errno) : "unexpected end of file");
			return FALSE;
		}
		done += (gsize)n;
	}
	return TRUE;
}

#if HAVE_CRYPTSETUP
static void
ac_luks_disk_crypt_log (int level, const char *msg, void *usrptr)
{
	/* libcryptsetup's messages name the device and the slot, never the passphrase */
	g_debug ("cryptsetup: %s", msg);
}
#endif

/* a file read with pread(): the AcLuksDiskReadFunc of the checks of a local image */
typedef struct {
	int fd;
	const gchar *path;
} FileReader;

static gboolean
file_read (gpointer user_data, guint64 offset, guint8 *buf, gsize len, GError **error)
{
	FileReader *f = user_data;
	return pread_all (f->fd, buf, len, offset, f->path, error);
}

#if HAVE_CRYPTSETUP
/* @len bytes of @data into a new 0600 file in @workdir; its path */
static gchar *
write_header_copy (const gchar *workdir, const guint8 *data, gsize len, GError **error)
{
	g_autofree gchar *tmp = g_build_filename (workdir, "luks-header-XXXXXX", NULL);
	int tfd = g_mkstemp_full (tmp, O_RDWR | O_CLOEXEC, 0600);
	gsize done = 0;

	if (tfd < 0) {
		g_set_error (error, AC_ERROR, AC_ERROR_IO, "creating %s: %s", tmp,
		             g_strerror (errno));
		return NULL;
	}
	while (done < len) {
		ssize_t n = write (tfd, data + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			g_set_error (error, AC_ERROR, AC_ERROR_IO, "writing %s: %s", tmp,
			             g_strerror (errno));
			close (tfd);
			g_unlink (tmp);
			return NULL;
		}
		done += (gsize)n;
	}
	close (tfd);
	return g_steal_pointer (&tmp);
}

/* the LUKS1 header area of partition 2 of a disk of @disk_size bytes: GPT, phdr, key slots */
static guint8 *
luks1_area_read (AcLuksDiskReadFunc read,
                 gpointer user_data,
                 guint64 disk_size,
                 gsize *area_len,
                 GError **error)
{
	gsize head_len = (gsize)MIN (disk_size, (guint64)AC_LUKS_DISK_GPT_SCAN_SIZE);
	g_autofree guint8 *head = g_malloc (MAX (head_len, 1));
	guint8 phdr[AC_LUKS_DISK_LUKS1_PHDR_SIZE];
	guint64 poff = 0, psize = 0, hsize = 0;
	g_autofree guint8 *area = NULL;

	if (!read (user_data, 0, head, head_len, error)
	    || !ac_luks_disk_gpt_find_partition (head, head_len, disk_size, 2, &poff, &psize, error)
	    || !read (user_data, poff, phdr, sizeof (phdr), error)
	    || !ac_luks_disk_luks1_header_size (phdr, sizeof (phdr), psize, &hsize, error))
		return NULL;
	area = g_malloc ((gsize)hsize);
	if (!read (user_data, poff, area, (gsize)hsize, error))
		return NULL;
	*area_len = (gsize)hsize;
	return g_steal_pointer (&area);
}

/* the LUKS2 header copies and key slot area at the start of a disk of @disk_size bytes: up to
 * its first data segment (the key slots lie before it), at most AC_LUKS_DISK_LUKS_MAX_HEADER */
static guint8 *
luks2_area_read (AcLuksDiskReadFunc read,
                 gpointer user_data,
                 guint64 disk_size,
                 gsize *area_len,
                 GError **error)
{
	guint8 bin[AC_LUKS2_BINARY_HEADER];
	gsize needed = 0;
	g_autofree guint8 *area = NULL;
	g_autoptr (AcLuks2Header) header = NULL;
	guint64 end;

	if (disk_size < sizeof (bin)) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "%" G_GUINT64_FORMAT " bytes: too small for a LUKS2 header",
		             disk_size);
		return NULL;
	}
	if (!read (user_data, 0, bin, sizeof (bin), error)
	    || !ac_luks2_header_area_size (bin, sizeof (bin), &needed, error))
		return NULL;
	if (needed > disk_size) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "the LUKS2 header copies (%" G_GSIZE_FORMAT
		             " bytes) do not fit in its "
		             "%" G_GUINT64_FORMAT " bytes",
		             needed, disk_size);
		return NULL;
	}
	area = g_malloc (needed);
	if (!read (user_data, 0, area, needed, error))
		return NULL;
	/* the guest's rule first, on both copies, before anything else is read */
	header = ac_luks2_check_header (area, needed, error);
	if (header == NULL)
		return NULL;
	end = header->data_offset;
	if (end < needed || end > disk_size || end > AC_LUKS_DISK_LUKS_MAX_HEADER) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "the LUKS2 data segment starts at %" G_GUINT64_FORMAT
		             ", not after its headers (%" G_GSIZE_FORMAT " bytes) within %u bytes "
		             "and the image",
		             end, needed, AC_LUKS_DISK_LUKS_MAX_HEADER);
		return NULL;
	}
	area = g_realloc (area, (gsize)end);
	if (!read (user_data, needed, area + needed, (gsize)end - needed, error))
		return NULL;
	*area_len = (gsize)end;
	return g_steal_pointer (&area);
}

/* @passphrase against the key slots of the header loaded in @cd (a @version header, "LUKS1" or
 * "LUKS2"): no name, nothing is activated; AC_ERROR_MISMATCH when it opens none, else the slot
 * it opens in @keyslot */
static gboolean
check_passphrase (struct crypt_device *cd,
                  const guint8 *passphrase,
                  gsize passphrase_len,
                  gint *keyslot,
                  const gchar *version,
                  GError **error)
{
	int rc = crypt_activate_by_passphrase (cd, NULL, CRYPT_ANY_SLOT, (const char *)passphrase,
	                                       passphrase_len, 0);

	if (rc == -EPERM) {
		g_set_error (error, AC_ERROR, AC_ERROR_MISMATCH,
		             "the passphrase opens no key slot of the image's %s header", version);
		return FALSE;
	}
	if (rc < 0) {
		g_set_error (error, AC_ERROR, AC_ERROR_INTERNAL,
		             "checking the passphrase against the %s header: %s", version,
		             g_strerror (-rc));
		return FALSE;
	}
	if (keyslot != NULL)
		*keyslot = rc;
	return TRUE;
}

/* @passphrase against the LUKS1 header copy @path */
static gboolean
luks1_check_copy (const gchar *path,
                  const guint8 *passphrase,
                  gsize passphrase_len,
                  gint *keyslot,
                  GError **error)
{
	struct crypt_device *cd = NULL;
	gboolean ok = FALSE;
	int rc = crypt_init (&cd, path);

	if (rc < 0) {
		g_set_error (error, AC_ERROR, AC_ERROR_INTERNAL, "crypt_init: %s",
		             g_strerror (-rc));
		return FALSE;
	}
	crypt_set_log_callback (cd, ac_luks_disk_crypt_log, NULL);
	rc = crypt_load (cd, CRYPT_LUKS1, NULL);
	if (rc < 0) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "partition 2: libcryptsetup cannot load the LUKS1 header: %s",
		             g_strerror (-rc));
	} else {
		ok = check_passphrase (cd, passphrase, passphrase_len, keyslot, "LUKS1", error);
	}
	crypt_free (cd);
	return ok;
}
#endif

gboolean
ac_luks_disk_check_passphrase_read (AcLuksDiskReadFunc read,
                                    gpointer user_data,
                                    guint64 disk_size,
                                    gboolean luks2,
                                    const gchar *workdir,
                                    const guint8 *passphrase,
                                    gsize passphrase_len,
                                    gint *keyslot,
                                    GError **error)
{
#if HAVE_CRYPTSETUP
	g_autofree guint8 *area = NULL;
	g_autofree gchar *tmp = NULL;
	gsize area_len = 0;
	gboolean ok;

	area = luks2 ? luks2_area_read (read, user_data, disk_size, &area_len, error)
	             : luks1_area_read (read, user_data, disk_size, &area_len, error);
	if (area == NULL)
		return FALSE;
	tmp = write_header_copy (workdir, area, area_len, error);
	if (tmp == NULL)
		return FALSE;
	ok = luks2 ? ac_luks_disk_luks2_check_passphrase (tmp, passphrase, passphrase_len, keyslot,
	                                                  error)
	           : luks1_check_copy (tmp, passphrase, passphrase_len, keyslot, error);
	g_unlink (tmp);
	return ok;
#else
	g_set_error_literal (
	    error, AC_ERROR, AC_ERROR_UNSUPPORTED,
	    "built without libcryptsetup: cannot check a passphrase against a LUKS header");
	return FALSE;
#endif
}

gboolean
ac_luks_disk_luks_check_passphrase (const gchar *image_path,
                                    const gchar *workdir,
                                    const guint8 *passphrase,
                                    gsize passphrase_len,
                                    gint *keyslot,
                                    GError **error)
{
	FileReader f = { -1, image_path };
	struct stat st;
	gboolean ok;

	f.fd = open (image_path, O_RDONLY | O_CLOEXEC);
	if (f.fd < 0) {
		g_set_error (error, AC_ERROR, AC_ERROR_IO, "opening %s: %s", image_path,
		             g_strerror (errno));
		return FALSE;
	}
	if (fstat (f.fd, &st) != 0 || st.st_size < 0) {
		g_set_error (error, AC_ERROR, AC_ERROR_IO, "stat %s: %s", image_path,
		             g_strerror (errno));
		close (f.fd);
		return FALSE;
	}
	ok = ac_luks_disk_check_passphrase_read (file_read, &f, (guint64)st.st_size, FALSE, workdir,
	                                         passphrase, passphrase_len, keyslot, error);
	close (f.fd);
	return ok;
}

/* ---- LUKS2, the whole image (SEV-SNP instances) ---- */

#if HAVE_CRYPTSETUP
/* loads the image's LUKS2 header (at offset 0) and validates it; NULL with @error */
static struct crypt_device *
luks2_load (const gchar *image_path, GError **error)
{
	struct crypt_device *cd = NULL;
	g_autoptr (AcLuks2Header) header = NULL;
	int rc;

	/* the guest's rule first, on the raw header (both copies), before libcryptsetup reads it */
	header = ac_luks2_check_file (image_path, error);
	if (header == NULL)
		return NULL;
	rc = crypt_init (&cd, image_path);
	if (rc < 0) {
		g_set_error (error, AC_ERROR, AC_ERROR_IO, "crypt_init %s: %s", image_path,
		             g_strerror (-rc));
		return NULL;
	}
	crypt_set_log_callback (cd, ac_luks_disk_crypt_log, NULL);
	rc = crypt_load (cd, CRYPT_LUKS2, NULL);
	if (rc < 0) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "%s: libcryptsetup cannot load a LUKS2 header at its start: %s",
		             image_path, g_strerror (-rc));
		crypt_free (cd);
		return NULL;
	}
	return cd;
}
#endif

gboolean
ac_luks_disk_luks2_validate (const gchar *image_path, GError **error)
{
#if HAVE_CRYPTSETUP
	struct crypt_device *cd = luks2_load (image_path, error);
	if (cd == NULL)
		return FALSE;
	crypt_free (cd);
	return TRUE;
#else
	g_set_error_literal (error, AC_ERROR, AC_ERROR_UNSUPPORTED,
	                     "built without libcryptsetup: cannot read a LUKS2 header");
	return FALSE;
#endif
}

gboolean
ac_luks_disk_luks2_check_passphrase (const gchar *image_path,
                                       const guint8 *passphrase,
                                       gsize passphrase_len,
                                       gint *keyslot,
                                       GError **error)
{
#if HAVE_CRYPTSETUP
	struct crypt_device *cd = luks2_load (image_path, error);
	gboolean ok;

	if (cd == NULL)
		return FALSE;
	ok = check_passphrase (cd, passphrase, passphrase_len, keyslot, "LUKS2", error);
	crypt_free (cd);
	return ok;
#else
	g_set_error_literal (
	    error, AC_ERROR, AC_ERROR_UNSUPPORTED,
	    "built without libcryptsetup: cannot check a passphrase against a LUKS header");
	return FALSE;
#endif
}
