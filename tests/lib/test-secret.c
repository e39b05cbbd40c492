/*
 * The one way to wipe raw key bytes (ac_secret_wipe, AcSecretBuf, ac_secret_bytes_new_take).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "ac-secret.h"

static void
test_wipe (void)
{
	guint8 key[16];
	g_auto (AcSecretBuf) buf = { 0 };

	memset (key, 0xa5, sizeof (key));
	ac_secret_wipe (key, sizeof (key));
	for (guint i = 0; i < sizeof (key); i++)
		g_assert_cmpuint (key[i], ==, 0);
	ac_secret_wipe (NULL, 4);
	memset (buf.data, 0x5a, sizeof (buf.data));
	ac_secret_buf_clear (&buf);
	for (guint i = 0; i < sizeof (buf.data); i++)
		g_assert_cmpuint (buf.data[i], ==, 0);
	ac_secret_wipe_free (g_memdup2 (key, sizeof (key)), sizeof (key));
}

static void
test_bytes (void)
{
	guint8 *data = g_malloc (8);
	GBytes *b;

	memcpy (data, "k3y-b1ts", 8);
	b = ac_secret_bytes_new_take (data, 8);
	g_assert_true (g_bytes_get_data (b, NULL) == (gconstpointer)data);
	g_assert_cmpmem (g_bytes_get_data (b, NULL), g_bytes_get_size (b), "k3y-b1ts", 8);
	g_bytes_unref (b);
}

int
main (int argc, char **argv)
{
	g_test_init (&argc, &argv, NULL);
	g_test_add_func ("/secret/wipe", test_wipe);
	g_test_add_func ("/secret/bytes", test_bytes);
	return g_test_run ();
}
