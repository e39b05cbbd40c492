/*
 * Fuzz target: the domain XML the local SEV gatekeeper reads (the hook's stdin; on a remote
 * host the operator writes it) — ac_domain_parse(), ac_localsev_gate_check_prepared()
 * against a fixed record, ac_localsev_domain_set_launch_security(), and the launch record a
 * remote host's hook reads (ac_localsev_record_launch_read(), ac_localsev_domain_set_launch_record()).
 * Properties: a verdict always comes with an error exactly when it refuses, and only REFUSED; a
 * domain that parses takes a <launchSecurity> and a launch record and still parses, with them in
 * place; a launch record is read only from a domain that parses and refused with an error.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ac-error.h"
#include "ac-localsev-domain.h"
#include "ac-localsev.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static AcLocalsevRecord *
fuzz_record (void)
{
	AcLocalsevRecord *r = g_new0 (AcLocalsevRecord, 1);
	r->domain = g_strdup ("guarded");
	r->uuid = g_strdup ("b5a1c1d4-8f3e-4c2a-9d7e-1f2a3b4c5d6e");
	r->session_id = g_strdup ("00112233445566778899aabbccddeeff");
	r->prepared = g_strdup ("2026-11-25T12:00:00Z");
	r->state = AC_LOCALSEV_STATE_PREPARED;
	r->policy = 3;
	r->cbitpos = 51;
	r->reduced_phys_bits = 1;
	r->dh_cert = g_strdup ("AAAA");
	r->session = g_strdup ("BBBB");
	r->pdh_sha256 = g_strnfill (64, 'a');
	r->chain_generation = g_strdup ("milan");
	r->firmware_path = g_strdup ("/usr/share/ovmf/AMDSEV.fd");
	r->firmware_sha256 = g_strnfill (64, 'b');
	r->loader = g_strdup ("/usr/share/ovmf/AMDSEV.fd");
	r->vcpus = 2;
	r->disk_dev = g_strdup ("vda");
	r->disk_source = g_strdup ("/var/lib/libvirt/images/guarded-encrypted.img");
	return r;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
	static AcLocalsevRecord *record = NULL;
	const gchar *ls = "<launchSecurity type='sev'><cbitpos>51</cbitpos><reducedPhysBits>1"
			  "</reducedPhysBits><policy>0x0003</policy><dhCert>AAAA</dhCert>"
			  "<session>BBBB</session></launchSecurity>";
	g_autoptr(AcDomain) dom = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *text = NULL;
	gboolean ok;

	if (record == NULL)
		record = fuzz_record ();
	dom = ac_domain_parse ((const gchar *)data, (gssize)size, NULL);
	ok = ac_localsev_gate_check_prepared (record, (const gchar *)data, size, &error);
	if (ok != (error == NULL))
		abort ();
	if (!ok && (error->domain != AC_ERROR || error->code != AC_ERROR_REFUSED))
		abort ();
	if (ok && dom == NULL)
		abort ();
	{
		g_autoptr(GError) rec_error = NULL;
		g_autoptr(GBytes) payload = NULL;
		g_autofree gchar *signer = NULL;
		g_autofree gchar *signature = NULL;
		g_autoptr(AcLocalsevRecord) shipped = ac_localsev_record_launch_read (
		    (const gchar *)data, size, &payload, &signer, &signature, &rec_error);
		if ((shipped == NULL) == (rec_error == NULL))
			abort ();
		if (shipped != NULL && (dom == NULL || !dom->has_launch_record || payload == NULL ||
					strlen (signer) != 42 || strlen (signature) != 132 ||
					shipped->state != AC_LOCALSEV_STATE_PREPARED))
			abort ();
	}

	/* the writer takes NUL-terminated text */
	if (dom == NULL || memchr (data, 0, size) != NULL)
		return 0;
	text = g_strndup ((const gchar *)data, size);
	{
		g_autofree gchar *out = ac_localsev_domain_set_launch_security (text, ls, NULL);
		g_autoptr(AcDomain) again = NULL;
		if (out == NULL)
			return 0; /* e.g. libxml2 limits on re-serialisation */
		again = ac_domain_parse (out, -1, NULL);
		if (again == NULL || !again->has_launch_security ||
		    g_strcmp0 (again->ls_dh_cert, "AAAA") != 0 ||
		    g_strcmp0 (again->ls_session, "BBBB") != 0 ||
		    g_strcmp0 (again->uuid, dom->uuid) != 0)
			abort ();
	}
	{
		const gchar *launch = "<l:launch xmlns:l='" AC_LAUNCH_NS "' signer='0x1' signature='0x2'>"
				      "QUJD</l:launch>";
		g_autofree gchar *out = ac_localsev_domain_set_launch_record (text, launch, NULL);
		g_autoptr(AcDomain) again = NULL;
		if (out == NULL)
			return 0;
		again = ac_domain_parse (out, -1, NULL);
		if (again == NULL || !again->has_launch_record ||
		    g_strcmp0 (again->launch_record, "QUJD") != 0 ||
		    g_strcmp0 (again->launch_signer, "0x1") != 0 || g_strcmp0 (again->uuid, dom->uuid) != 0)
			abort ();
	}
	{
		/* the local flow's switch onto its image: the disk then names it */
		g_autofree gchar *out = ac_localsev_domain_switch_disk (text, "vda", "/i.img", "/fw.fd", NULL);
		g_autoptr(AcDomain) again = NULL;
		AcDomainDisk *disk;
		if (out == NULL)
			return 0;
		again = ac_domain_parse (out, -1, NULL);
		if (again == NULL)
			abort ();
		disk = ac_domain_find_disk (again, "vda");
		if (disk == NULL || g_strcmp0 (disk->source, "/i.img") != 0)
			abort ();
	}
	return 0;
}
