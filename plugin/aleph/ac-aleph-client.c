/*
 * aleph-confidential: what the network clients share (polling), the Kubo IPFS node client and
 * the AMD KDS fetcher. The CCN client is ac-ccn.c, the CRN client ac-crn.c.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "ac-aleph-client.h"
#include "ac-aleph-client-private.h"
#include "ac-aleph-payment.h"
#include "ac-aleph-util.h"
#include "ac-car.h"
#include "ac-error.h"
#include "ac-file.h"

/* jittered exponential delay for polling: never a fixed sleep */
guint
ac_aleph_client_poll_delay (guint first_ms, guint max_ms, guint attempt)
{
	guint64 step = (guint64)first_ms << MIN (attempt, 16u);
	step = MIN (step, (guint64)max_ms);
	return (guint)(step / 2 + g_random_int_range (0, (gint32)MAX (step / 2, 1u) + 1));
}

gssize
ac_aleph_client_file_source_read (gpointer user_data, guint8 *buf, gsize len, GError **error)
{
	AcAlephFileSource *s = user_data;
	ssize_t n;
	do {
		n = read (s->fd, buf, len);
	} while (n < 0 && errno == EINTR);
	if (n < 0) {
		int errsv = errno;
		g_set_error (error, AC_ERROR, AC_ERROR_IO, "cannot read %s: %s", s->path,
		             g_strerror (errsv));
		return -1;
	}
	return n;
}

gboolean
ac_aleph_client_file_source_rewind (gpointer user_data, GError **error)
{
	AcAlephFileSource *s = user_data;
	if (lseek (s->fd, 0, SEEK_SET) != 0) {
		int errsv = errno;
		g_set_error (error, AC_ERROR, AC_ERROR_IO, "cannot rewind %s: %s", s->path,
		             g_strerror (errsv));
		return FALSE;
	}
	return TRUE;
}

/* ---- Kubo ---- */

gchar *
ac_ipfs_node_add (AcHttpClient *http,
                  const gchar *api_url,
                  const gchar *path,
                  AcProgress *progress,
                  GError **error)
{
	g_autofree gchar *base = ac_http_sanitize_base_url (api_url, error);
	g_autofree gchar *url = NULL;
	g_autofree gchar *ours = NULL;
	g_autofree gchar *theirs = NULL;
	g_autofree gchar *basename = g_path_get_basename (path);
	g_autoptr (AcHttpResponse) r = NULL;
	AcAlephFileSource src = { -1, (gchar *)path, 0 };
	AcHttpPart part;
	const gchar *data;
	gsize len;

	if (base == NULL)
		return NULL;
	ours = ac_ipfs_file_cid_string (path, NULL, NULL, error);
	if (ours == NULL)
		return NULL;
	src.fd = ac_file_open_regular (path, G_MAXSIZE, &src.size, error);
	if (src.fd < 0)
		return NULL;
	/* kubo's defaults, spelled out so a node configured otherwise still matches us */
	url = g_strdup_printf ("%s/api/v0/add?cid-version=0&chunker=size-262144&raw-leaves=false"
	                       "&pin=true&progress=false",
	                       base);
	memset (&part, 0, sizeof (part));
	part.name = "file";
	part.filename = basename;
	part.content_type = "application/octet-stream";
	part.read = ac_aleph_client_file_source_read;
	part.rewind = ac_aleph_client_file_source_rewind;
	part.user_data = &src;
	part.size = src.size;
	r = ac_http_post_multipart (http, url, NULL, &part, 1, AC_HTTP_IDEMPOTENT, progress, error);
	close (src.fd);
	if (r == NULL)
		return NULL;
	data = ac_http_response_get_data (r, &len);
	theirs = ac_ipfs_parse_add (data, len, NULL, error);
	if (theirs == NULL) {
		g_prefix_error (error, "POST %s: ", url);
		return NULL;
	}
	if (g_strcmp0 (theirs, ours) != 0) {
		g_set_error (error, AC_ERROR, AC_ERROR_MISMATCH,
		             "the IPFS node at %s returned CID %s for %s, we computed %s", base,
		             theirs, path, ours);
		return NULL;
	}
	return g_steal_pointer (&theirs);
}

/* ---- AMD KDS ---- */

GBytes *
ac_aleph_kds_fetch (const gchar *url, gpointer user_data, GCancellable *cancellable, GError **error)
{
	g_autoptr (AcHttpClient) own = NULL;
	AcHttpClient *http = user_data;
	g_autoptr (AcHttpResponse) r = NULL;

	if (g_cancellable_set_error_if_cancelled (cancellable, error))
		return NULL;
	if (!g_str_has_prefix (url, "https://") && !g_str_has_prefix (url, "http://")) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT, "KDS URL '%s' is not http(s)",
		             url);
		return NULL;
	}
	if (http == NULL) {
		own = ac_http_client_new ();
		ac_http_client_set_max_body (own, 64 * 1024);
		http = own;
	}
	r = ac_http_request (http, "GET", url, NULL, NULL, NULL, AC_HTTP_IDEMPOTENT, error);
	if (r == NULL)
		return NULL;
	if (g_bytes_get_size (r->body) > 64 * 1024) {
		g_set_error (error, AC_ERROR, AC_ERROR_REMOTE,
		             "GET %s: %" G_GSIZE_FORMAT " bytes, more than a KDS certificate", url,
		             g_bytes_get_size (r->body));
		return NULL;
	}
	return g_bytes_ref (r->body);
}
