/*
 * AcSevHostLibvirt against libvirt's test driver (test:///default, in-process): domain state
 * mapping, resume, lookups by name and UUID, and the errors of a host without SEV. (No SEV
 * host exists here; the SEV calls themselves are covered through the fake in test-localsev.)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "ac-error.h"
#include "ac-sev-host-libvirt.h"
#include "ac-virt.h"

static void
test_libvirt_host (void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(virConnect) conn = NULL;
	g_autoptr(virDomain) dom = NULL;
	g_autoptr(AcSevHost) host = NULL;
	g_autoptr(AcSevHostInfo) info = NULL;
	g_autoptr(AcSevLaunchInfo) launch = NULL;
	AcSevDomainState state = AC_SEV_DOMAIN_STATE_OTHER;
	char uuid[VIR_UUID_STRING_BUFLEN];

	ac_virt_init ();
	conn = ac_virt_connect ("test:///default", &error);
	g_assert_no_error (error);
	host = ac_sev_host_libvirt_new (conn);
	g_assert_cmpstr (ac_sev_host_get_name (host), ==, "test:///default");

	/* no SEV here */
	info = ac_sev_host_get_sev_info (host, &error);
	g_assert_null (info);
	g_assert_error (error, AC_ERROR, AC_ERROR_UNSUPPORTED);
	g_assert_nonnull (strstr (error->message, "virNodeGetSEVInfo"));
	g_clear_error (&error);

	/* the test driver's "test" domain runs */
	g_assert_true (ac_sev_host_get_domain_state (host, "test", &state, &error));
	g_assert_no_error (error);
	g_assert_cmpint (state, ==, AC_SEV_DOMAIN_STATE_RUNNING);
	g_assert_false (ac_sev_host_resume (host, "test", &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_LIBVIRT);
	g_assert_nonnull (strstr (error->message, "cannot resume domain 'test'"));
	g_clear_error (&error);

	/* paused, by UUID; resumed */
	dom = ac_virt_lookup_domain (conn, "test", &error);
	g_assert_no_error (error);
	g_assert_cmpint (virDomainGetUUIDString (dom, uuid), ==, 0);
	g_assert_cmpint (virDomainSuspend (dom), ==, 0);
	g_assert_true (ac_sev_host_get_domain_state (host, uuid, &state, &error));
	g_assert_cmpint (state, ==, AC_SEV_DOMAIN_STATE_PAUSED);
	g_assert_true (ac_sev_host_resume (host, uuid, &error));
	g_assert_no_error (error);
	g_assert_true (ac_sev_host_get_domain_state (host, "test", &state, &error));
	g_assert_cmpint (state, ==, AC_SEV_DOMAIN_STATE_RUNNING);

	/* no launch security on a non-SEV domain: refused by libvirt, reported as such */
	launch = ac_sev_host_get_launch_security_info (host, "test", &error);
	g_assert_null (launch);
	g_assert_error (error, AC_ERROR, AC_ERROR_LIBVIRT);
	g_assert_nonnull (strstr (error->message, "virDomainGetLaunchSecurityInfo"));
	g_clear_error (&error);
	g_assert_false (ac_sev_host_set_launch_security_state (host, "test", "AAAA", "AAAA", TRUE, 0x810000, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_LIBVIRT);
	g_clear_error (&error);

	/* a domain named like another one's UUID does not stand in for it */
	{
		g_autofree gchar *xml = g_strdup_printf ("<domain type='test'><name>%s</name>"
							 "<memory>1024</memory><os><type>hvm</type></os>"
							 "</domain>",
							 "6a0d2d0b-2c8e-4f55-9f34-4e8b4b1f0c21");
		g_autoptr(virDomain) impostor = virDomainDefineXML (conn, xml);
		g_assert_nonnull (impostor);
		g_assert_cmpint (virDomainCreate (impostor), ==, 0);
		g_assert_false (ac_sev_host_get_domain_state (host, "6a0d2d0b-2c8e-4f55-9f34-4e8b4b1f0c21", &state, &error));
		g_assert_error (error, AC_ERROR, AC_ERROR_NOT_FOUND);
		g_clear_error (&error);
		g_assert_cmpint (virDomainDestroy (impostor), ==, 0);
	}

	/* shut off */
	g_assert_cmpint (virDomainDestroy (dom), ==, 0);
	g_assert_true (ac_sev_host_get_domain_state (host, "test", &state, &error));
	g_assert_cmpint (state, ==, AC_SEV_DOMAIN_STATE_SHUTOFF);

	/* unknown domains are NOT_FOUND */
	g_assert_false (ac_sev_host_get_domain_state (host, "no-such-domain", &state, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_NOT_FOUND);
	g_clear_error (&error);
	g_assert_false (ac_sev_host_resume (host, "6a0d2d0b-2c8e-4f55-9f34-4e8b4b1f0c22", &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_NOT_FOUND);
}

int
main (int argc, char **argv)
{
	g_test_init (&argc, &argv, NULL);
	g_test_add_func ("/localsev/libvirt-host", test_libvirt_host);
	return g_test_run ();
}
