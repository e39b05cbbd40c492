/*
 * The hosts of virt-alephd's configuration (lib/ac-hosts.c): one URI as always, [host NAME]
 * groups for a fleet, names derived from URIs, duplicates refused naming both.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <glib.h>
#include <glib/gstdio.h>

#include "ac-error.h"
#include "ac-file.h"
#include "ac-hosts.h"
#include "ac-keyfile.h"

static GPtrArray *
hosts_of (const gchar *text, const gchar *connect_uri, GError **error)
{
	g_autoptr (GKeyFile) kf = g_key_file_new ();
	g_assert_true (g_key_file_load_from_data (kf, text, -1, G_KEY_FILE_NONE, NULL));
	if (!ac_key_file_check (kf, "/etc/v.conf", ac_service_config_keys, error))
		return NULL;
	return ac_hosts_from_key_file (kf, "/etc/v.conf", connect_uri, "qemu:///system",
	                               "/var/lib/ac", error);
}

static const AcHost *
host_at (GPtrArray *hosts, guint i)
{
	return g_ptr_array_index (hosts, i);
}

static void
test_names (void)
{
	const struct {
		const gchar *uri;
		const gchar *name;
	} cases[] = {
		{ "qemu:///system", "localhost" },
		{ "qemu:///system?socket=/run/x.sock", "localhost" },
		{ "qemu+ssh://root@Node1.example:2222/system", "node1.example" },
		{ "qemu+tcp://10.0.0.7/system", "10.0.0.7" },
		{ "qemu+ssh://[fe80::1]:22/system", "fe80--1" },
		{ "test:///default", "localhost" },
		{ "qemu+ssh://-x/system", "h-x" },
		{ "not a uri", "localhost" },
	};
	for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
		g_autofree gchar *name = ac_hosts_name_from_uri (cases[i].uri);
		g_assert_cmpstr (name, ==, cases[i].name);
		g_assert_true (ac_hosts_name_is_valid (name));
	}
	g_assert_false (ac_hosts_name_is_valid (""));
	g_assert_false (ac_hosts_name_is_valid ("../x"));
	g_assert_false (ac_hosts_name_is_valid (".x"));
	g_assert_false (ac_hosts_name_is_valid ("a/b"));
	g_assert_true (ac_hosts_name_is_valid ("node-1.b_2"));
}

/* one URI: unchanged, state in the state directory itself */
static void
test_single (void)
{
	g_autoptr (GError) error = NULL;
	g_autoptr (GPtrArray) hosts
	    = hosts_of ("[daemon]\nconnect=qemu+ssh://root@a/system\n", NULL, &error);
	g_assert_no_error (error);
	g_assert_cmpuint (hosts->len, ==, 1);
	g_assert_cmpstr (host_at (hosts, 0)->uri, ==, "qemu+ssh://root@a/system");
	g_assert_cmpstr (host_at (hosts, 0)->name, ==, "a");
	g_assert_cmpstr (host_at (hosts, 0)->state_dir, ==, "/var/lib/ac");
	g_clear_pointer (&hosts, g_ptr_array_unref);

	/* nothing: the default URI; --connect replaces [daemon] connect */
	hosts = hosts_of ("", NULL, &error);
	g_assert_no_error (error);
	g_assert_cmpuint (hosts->len, ==, 1);
	g_assert_cmpstr (host_at (hosts, 0)->uri, ==, "qemu:///system");
	g_clear_pointer (&hosts, g_ptr_array_unref);
	hosts = hosts_of ("[daemon]\nconnect=qemu:///system\n", "test:///default", &error);
	g_assert_no_error (error);
	g_assert_cmpuint (hosts->len, ==, 1);
	g_assert_cmpstr (host_at (hosts, 0)->uri, ==, "test:///default");
	g_assert_cmpstr (host_at (hosts, 0)->state_dir, ==, "/var/lib/ac");
}

static void
test_groups (void)
{
	g_autoptr (GError) error = NULL;
	g_autoptr (GPtrArray) hosts
	    = hosts_of ("[daemon]\nconnect=qemu:///system\nmax-flows=2\n"
	                "[host b]\nconnect=qemu+ssh://root@10.0.0.2/system\n"
	                "[host c.lab]\nconnect=qemu+ssh://root@c/system\n",
	                NULL, &error);
	g_assert_no_error (error);
	g_assert_cmpuint (hosts->len, ==, 3);
	g_assert_cmpstr (host_at (hosts, 0)->name, ==, "localhost");
	g_assert_cmpstr (host_at (hosts, 0)->state_dir, ==, "/var/lib/ac");
	g_assert_cmpstr (host_at (hosts, 1)->name, ==, "b");
	g_assert_cmpstr (host_at (hosts, 1)->uri, ==, "qemu+ssh://root@10.0.0.2/system");
	g_assert_cmpstr (host_at (hosts, 1)->state_dir, ==, "/var/lib/ac/hosts/b");
	g_assert_cmpstr (host_at (hosts, 2)->name, ==, "c.lab");
	g_assert_cmpstr (host_at (hosts, 2)->state_dir, ==, "/var/lib/ac/hosts/c.lab");
	g_assert_true (ac_hosts_find_uri (hosts, "qemu+ssh://root@c/system") == host_at (hosts, 2));
	g_assert_null (ac_hosts_find_uri (hosts, "qemu+ssh://root@d/system"));
	g_clear_pointer (&hosts, g_ptr_array_unref);

	/* [host] groups only: no default host beside them */
	hosts = hosts_of (
	    "[host a]\nconnect=qemu+ssh://a/system\n[host b]\nconnect=qemu+ssh://b/system\n", NULL,
	    &error);
	g_assert_no_error (error);
	g_assert_cmpuint (hosts->len, ==, 2);
	g_assert_cmpstr (host_at (hosts, 0)->name, ==, "a");
	g_assert_cmpstr (host_at (hosts, 1)->name, ==, "b");
}

static void
test_refused (void)
{
	const struct {
		const gchar *text;
		const gchar *message;
	} cases[] = {
		{ "[daemon]\nconnect=qemu+ssh://root@b/system\n[host "
		  "b]\nconnect=qemu+ssh://b2/system\n",
		  "/etc/v.conf: [host b] (qemu+ssh://b2/system) and [daemon] connect "
		  "(qemu+ssh://root@b/system) are both named 'b': expected one name per host (name "
		  "one "
		  "with a [host NAME] group)" },
		{ "[host B]\nconnect=qemu+ssh://x/system\n[host b]\nconnect=qemu+ssh://y/system\n",
		  "/etc/v.conf: [host B] (qemu+ssh://x/system) and [host b] (qemu+ssh://y/system) "
		  "are "
		  "both named 'b': expected one name per host (name one with a [host NAME] "
		  "group)" },
		{ "[host a]\nconnect=qemu+ssh://x/system\n[host b]\nconnect=qemu+ssh://x/system\n",
		  "/etc/v.conf: [host a] and [host b] both connect to qemu+ssh://x/system: "
		  "expected "
		  "each host once" },
		{ "[host ../x]\nconnect=qemu+ssh://x/system\n",
		  "/etc/v.conf: [host ../x]: expected a host name of letters, digits, '.', '_' and "
		  "'-' "
		  "(at most 63, first a letter or digit)" },
		{ "[host a]\nmax-flows=2\n",
		  "/etc/v.conf: [host a] unknown key 'max-flows'; expected one of connect" },
		{ "[host a]\nconnect=\n", "/etc/v.conf: [host a] connect is empty: expected the "
		                          "libvirt URI of host NAME such "
		                          "as qemu+ssh://root@node1/system" },
		{ "[hosts]\nconnect=qemu:///system\n", NULL },
		{ "[host a b]\nconnect=qemu:///system\n", NULL },
	};
	for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
		g_autoptr (GError) error = NULL;
		g_autoptr (GPtrArray) hosts = hosts_of (cases[i].text, NULL, &error);
		g_assert_null (hosts);
		g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
		if (cases[i].message != NULL)
			g_assert_cmpstr (error->message, ==, cases[i].message);
		else
			g_assert_true (
			    g_str_has_prefix (error->message, "/etc/v.conf: unknown group"));
	}
}

static void
test_load (void)
{
	g_autoptr (GError) error = NULL;
	g_autofree gchar *dir = g_dir_make_tmp ("ac-hosts-XXXXXX", NULL);
	g_autofree gchar *path = g_build_filename (dir, "v.conf", NULL);
	g_autoptr (GPtrArray) hosts = NULL;

	/* an absent default file: the default URI; an absent named one: an error */
	hosts = ac_hosts_load (path, FALSE, NULL, "qemu:///system", "/s", &error);
	g_assert_no_error (error);
	g_assert_cmpuint (hosts->len, ==, 1);
	g_clear_pointer (&hosts, g_ptr_array_unref);
	hosts = ac_hosts_load (path, TRUE, NULL, "qemu:///system", "/s", &error);
	g_assert_error (error, AC_ERROR, AC_ERROR_NOT_FOUND);
	g_assert_null (hosts);
	g_clear_error (&error);
	g_assert_true (
	    g_file_set_contents (path, "[host a]\nconnect=qemu+ssh://a/system\n", -1, NULL));
	hosts = ac_hosts_load (path, TRUE, NULL, "qemu:///system", "/s", &error);
	g_assert_no_error (error);
	g_assert_cmpuint (hosts->len, ==, 1);
	g_assert_cmpstr (host_at (hosts, 0)->state_dir, ==, "/s/hosts/a");
	g_unlink (path);
	g_rmdir (dir);
}

int
main (int argc, char **argv)
{
	g_test_init (&argc, &argv, NULL);
	g_test_add_func ("/hosts/names", test_names);
	g_test_add_func ("/hosts/single", test_single);
	g_test_add_func ("/hosts/groups", test_groups);
	g_test_add_func ("/hosts/refused", test_refused);
	g_test_add_func ("/hosts/load", test_load);
	return g_test_run ();
}
