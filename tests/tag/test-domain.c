/*
 * The domain model (plugin/tag/ac-domain.c): every field read from a domain XML, the one rule
 * for the tagged disk among disks and CD-ROMs, and the XML it refuses (too large, malformed,
 * not a domain, an element repeated) with an error that says why.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "ac-domain.h"
#include "ac-error.h"

#define TAG_OPEN "<aleph:confidential xmlns:aleph='" AC_TAG_NS "'>"

static const gchar *full_xml
    = "<domain type='kvm'>\n"
      "  <name>web</name>\n"
      "  <uuid>B5A1C1D4-8F3E-4C2A-9D7E-1F2A3B4C5D6E</uuid>\n"
      "  <metadata>\n"
      "    " TAG_OPEN "<aleph:disk dev='vdb'/><aleph:sev policy='0x3'/></aleph:confidential>\n"
      "    <l:launch xmlns:l='" AC_LAUNCH_NS "' signer='0xab' signature='0xcd'>\n"
      "      AAAA\n      BBBB\n    </l:launch>\n"
      "  </metadata>\n"
      "  <memory unit='GiB'>2</memory>\n"
      "  <vcpu placement='static'>4</vcpu>\n"
      "  <os firmware='efi'>\n"
      "    <type arch='x86_64'>hvm</type>\n"
      "    <loader type='rom' readonly='yes'>/fw/OVMF.fd</loader>\n"
      "    <nvram template='/fw/VARS.fd'>/var/nvram/web.fd</nvram>\n"
      "    <kernel>/boot/vmlinuz</kernel>\n"
      "  </os>\n"
      "  <devices>\n"
      "    <disk type='file' device='cdrom'>\n"
      "      <source file='/iso/install.iso'/><target dev='sda' bus='sata'/>\n"
      "    </disk>\n"
      "    <disk type='file' device='disk'>\n"
      "      <driver name='qemu' type='qcow2' cache='none'/>\n"
      "      <source file='/img/a.qcow2' index='2'/>\n"
      "      <backingStore type='file'><format type='raw'/><source file='/img/base.raw'/>"
      "</backingStore>\n"
      "      <target dev='vda' bus='virtio'/>\n"
      "    </disk>\n"
      "    <disk type='block'>\n"
      "      <driver name='qemu' type='raw'/>\n"
      "      <source dev='/dev/vg/b'/>\n"
      "      <backingStore/>\n"
      "      <target dev='vdb' bus='virtio'/>\n"
      "    </disk>\n"
      "  </devices>\n"
      "  <launchSecurity type='sev' kernelHashes='yes'>\n"
      "    <cbitpos>51</cbitpos><reducedPhysBits>1</reducedPhysBits><policy>0x0003</policy>\n"
      "    <dhCert>AA\n BB</dhCert><session>CC DD</session>\n"
      "  </launchSecurity>\n"
      "</domain>\n";

static AcDomain *
parse_ok (const gchar *xml)
{
	g_autoptr (GError) error = NULL;
	AcDomain *dom = ac_domain_parse (xml, -1, &error);
	g_assert_no_error (error);
	g_assert_nonnull (dom);
	return dom;
}

static void
test_fields (void)
{
	g_autoptr (AcDomain) dom = parse_ok (full_xml);

	g_assert_cmpstr (dom->name, ==, "web");
	g_assert_cmpstr (dom->uuid, ==, "b5a1c1d4-8f3e-4c2a-9d7e-1f2a3b4c5d6e");
	g_assert_cmpstr (dom->type, ==, "kvm");
	g_assert_cmpuint (dom->memory, ==, 2ull << 30);
	g_assert_cmpuint (dom->vcpus, ==, 4);
	g_assert_cmpstr (dom->loader, ==, "/fw/OVMF.fd");
	g_assert_cmpstr (dom->firmware, ==,
	                 "<os firmware=\"efi\"/>"
	                 "<loader readonly=\"yes\" type=\"rom\">/fw/OVMF.fd</loader>"
	                 "<nvram template=\"/fw/VARS.fd\">/var/nvram/web.fd</nvram>");
	g_assert_true (dom->has_kernel);
	g_assert_true (dom->has_launch_security);
	g_assert_cmpstr (dom->ls_type, ==, "sev");
	g_assert_cmpstr (dom->ls_kernel_hashes, ==, "yes");
	g_assert_cmpstr (dom->ls_policy, ==, "0x0003");
	g_assert_cmpstr (dom->ls_cbitpos, ==, "51");
	g_assert_cmpstr (dom->ls_reduced_phys_bits, ==, "1");
	g_assert_cmpstr (dom->ls_dh_cert, ==, "AABB");
	g_assert_cmpstr (dom->ls_session, ==, "CCDD");
	g_assert_true (dom->has_launch_record);
	g_assert_cmpstr (dom->launch_record, ==, "AAAABBBB");
	g_assert_cmpstr (dom->launch_signer, ==, "0xab");
	g_assert_cmpstr (dom->launch_signature, ==, "0xcd");
	/* the tag, parsed and validated against this domain */
	g_assert_true (ac_domain_is_tagged (dom));
	g_assert_no_error (dom->tag_error);
	g_assert_nonnull (dom->tag);
	g_assert_cmpstr (dom->tag->disk_dev, ==, "vdb");
	g_assert_cmpuint (dom->tag->policy, ==, 0x3);
}

static void
test_disks (void)
{
	g_autoptr (AcDomain) dom = parse_ok (full_xml);
	AcDomainDisk *cdrom, *a, *b;

	g_assert_cmpuint (dom->disks->len, ==, 3);
	cdrom = g_ptr_array_index (dom->disks, 0);
	a = g_ptr_array_index (dom->disks, 1);
	b = g_ptr_array_index (dom->disks, 2);

	g_assert_cmpstr (cdrom->device, ==, "cdrom");
	g_assert_cmpstr (cdrom->dev, ==, "sda");
	g_assert_cmpstr (cdrom->source, ==, "/iso/install.iso");

	g_assert_cmpstr (a->device, ==, "disk");
	g_assert_cmpstr (a->dev, ==, "vda");
	g_assert_cmpstr (a->type, ==, "file");
	g_assert_cmpstr (a->format, ==, "qcow2");
	g_assert_cmpstr (a->driver, ==, "<driver name=\"qemu\" type=\"qcow2\"/>");
	g_assert_cmpstr (a->source, ==, "/img/a.qcow2");
	g_assert_cmpstr (a->source_file, ==, "/img/a.qcow2");
	g_assert_null (a->source_dev);
	/* 'index' is libvirt's numbering, not an input */
	g_assert_cmpstr (a->source_xml, ==, "<source file=\"/img/a.qcow2\"/>");
	g_assert_cmpstr (a->backing, ==,
	                 "<backingStore type=\"file\"><format type=\"raw\"/>"
	                 "<source file=\"/img/base.raw\"/></backingStore>");

	/* no device attribute: a disk, as libvirt reads it */
	g_assert_cmpstr (b->device, ==, "disk");
	g_assert_cmpstr (b->type, ==, "block");
	g_assert_cmpstr (b->source, ==, "/dev/vg/b");
	g_assert_cmpstr (b->source_dev, ==, "/dev/vg/b");
	g_assert_null (b->source_file);
	g_assert_cmpstr (b->format, ==, "raw");
	g_assert_null (b->backing); /* the empty <backingStore/> says "none" */

	g_assert_true (ac_domain_get_tagged_disk (dom) == b);
	g_assert_true (ac_domain_find_disk (dom, NULL) == a);
	g_assert_true (ac_domain_find_disk (dom, "vda") == a);
	g_assert_null (ac_domain_find_disk (dom, "sda")); /* a CD-ROM is never the disk */
	g_assert_null (ac_domain_find_disk (dom, "vdz"));
}

static gchar *
domain_with (const gchar *tag, const gchar *devices)
{
	return g_strdup_printf ("<domain type='kvm'><name>d</name><metadata>%s</metadata>"
	                        "<devices>%s</devices></domain>",
	                        tag, devices);
}

/* the rule of docs/tag.md#the-tagged-disk, over several disks and CD-ROMs */
static void
test_tagged_disk_rule (void)
{
	const gchar *devices
	    = "<disk type='file' device='cdrom'><source file='/iso/a.iso'/><target "
	      "dev='hda'/></disk>"
	      "<disk type='file' device='floppy'><source file='/f.img'/><target dev='fda'/></disk>"
	      "<disk type='file' device='disk'><source file='/no-target.img'/></disk>"
	      "<disk type='file' device='disk'><source file='/first.img'/><target "
	      "dev='vdc'/></disk>"
	      "<disk type='file' device='cdrom'><target dev='hdb'/></disk>"
	      "<disk type='file'><source file='/second.img'/><target dev='vdd'/></disk>";
	struct {
		const gchar *tag;
		const gchar *expected; /* source of the tagged disk; NULL: the tag is refused */
	} cases[] = {
		{ TAG_OPEN "</aleph:confidential>", "/first.img" },
		{ TAG_OPEN "<aleph:disk dev='vdd'/></aleph:confidential>", "/second.img" },
		{ TAG_OPEN "<aleph:disk dev='vdc'/></aleph:confidential>", "/first.img" },
		{ TAG_OPEN "<aleph:disk dev='hda'/></aleph:confidential>", NULL },
		{ TAG_OPEN "<aleph:disk dev='fda'/></aleph:confidential>", NULL },
		{ "", "/first.img" }, /* untagged: the first disk */
	};

	for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
		g_autofree gchar *xml = domain_with (cases[i].tag, devices);
		g_autoptr (AcDomain) dom = parse_ok (xml);
		AcDomainDisk *disk = ac_domain_get_tagged_disk (dom);
		g_autoptr (AcTagDomain) info = ac_domain_get_tag_info (dom);

		g_assert_cmpuint (info->disks->len, ==, 2);
		g_assert_cmpstr (g_ptr_array_index (info->disks, 0), ==, "vdc");
		g_assert_cmpstr (g_ptr_array_index (info->disks, 1), ==, "vdd");
		if (cases[i].expected == NULL) {
			g_assert_null (dom->tag);
			g_assert_error (dom->tag_error, AC_ERROR, AC_ERROR_INVALID_INPUT);
			g_assert_nonnull (strstr (dom->tag_error->message,
			                          "has no such disk; its disks are vdc, vdd"));
			g_assert_true (ac_domain_is_tagged (dom));
			continue;
		}
		g_assert_nonnull (disk);
		g_assert_cmpstr (disk->source, ==, cases[i].expected);
		g_assert_true (ac_domain_is_tagged (dom) == (cases[i].tag[0] != '\0'));
	}
}

static void
test_no_disk (void)
{
	g_autofree gchar *xml = domain_with (
	    TAG_OPEN "</aleph:confidential>",
	    "<disk type='file' device='cdrom'><source file='/a.iso'/><target dev='hda'/></disk>");
	g_autoptr (AcDomain) dom = parse_ok (xml);

	g_assert_null (ac_domain_get_tagged_disk (dom));
	g_assert_null (dom->tag);
	g_assert_error (dom->tag_error, AC_ERROR, AC_ERROR_INVALID_INPUT);
	g_assert_cmpstr (dom->tag_error->message, ==,
	                 "domain 'd' has no <disk device='disk'> to encrypt");
}

static void
test_untagged (void)
{
	g_autoptr (AcDomain) dom = parse_ok ("<domain><name>plain</name></domain>");

	g_assert_false (ac_domain_is_tagged (dom));
	g_assert_null (dom->tag);
	g_assert_error (dom->tag_error, AC_ERROR, AC_ERROR_NOT_FOUND);
	g_assert_null (dom->type);
	g_assert_null (dom->uuid);
	g_assert_cmpuint (dom->memory, ==, 0);
	g_assert_cmpuint (dom->vcpus, ==, 0);
	g_assert_cmpstr (dom->firmware, ==, "");
	g_assert_null (dom->loader);
	g_assert_false (dom->has_launch_security);
	g_assert_false (dom->has_launch_record);
	g_assert_null (dom->qemu_element);
	g_assert_cmpuint (dom->disks->len, ==, 0);
}

static void
test_invalid_tag (void)
{
	g_autofree gchar *xml
	    = domain_with (TAG_OPEN "<aleph:sev polcy='0x1'/></aleph:confidential>",
	                   "<disk><source file='/a.img'/><target dev='vda'/></disk>");
	g_autoptr (AcDomain) dom = parse_ok (xml);

	/* the domain is read; its tag is refused with the parser's error */
	g_assert_true (ac_domain_is_tagged (dom));
	g_assert_null (dom->tag);
	g_assert_error (dom->tag_error, AC_ERROR, AC_ERROR_INVALID_INPUT);
	g_assert_nonnull (strstr (dom->tag_error->message, "unknown attribute 'polcy'"));
	g_assert_cmpstr (ac_domain_get_tagged_disk (dom)->dev, ==, "vda");
}

/* libvirt hands its QEMU namespace to QEMU unchecked: the model names the first such element
 * outside <metadata> (the hook refuses a confidential domain carrying one) */
static void
test_qemu_element (void)
{
	const gchar *ns = "xmlns:q='" AC_LIBVIRT_QEMU_NS "'";
	g_autofree gchar *in_metadata
	    = g_strdup_printf ("<domain %s><metadata><q:commandline/></metadata></domain>", ns);
	g_autofree gchar *in_devices = g_strdup_printf (
	    "<domain %s><metadata><q:x/></metadata><devices><disk><q:override/></disk></devices>"
	    "<q:commandline/></domain>",
	    ns);
	g_autoptr (AcDomain) quiet = parse_ok (in_metadata);
	g_autoptr (AcDomain) loud = parse_ok (in_devices);
	g_autoptr (AcTagDomain) info = ac_domain_get_tag_info (loud);

	g_assert_null (quiet->qemu_element);
	g_assert_cmpstr (loud->qemu_element, ==, "q:override");
	g_assert_cmpstr (info->qemu_element, ==, "q:override");
}

static void
test_memory_units (void)
{
	struct {
		const gchar *memory;
		guint64 bytes;
	} cases[] = {
		{ "<memory>1048576</memory>", 1ull << 30 },
		{ "<memory unit='KiB'>1048576</memory>", 1ull << 30 },
		{ "<memory unit='k'>2048</memory>", 2ull << 20 },
		{ "<memory unit='MiB'>512</memory>", 512ull << 20 },
		{ "<memory unit='M'>512</memory>", 512ull << 20 },
		{ "<memory unit='G'>3</memory>", 3ull << 30 },
		{ "<memory unit='GB'>1</memory>", 1000000000ull },
		{ "<memory unit='bytes'>4096</memory>", 4096 },
		{ "<memory unit='b'>17</memory>", 17 },
		{ "<memory unit='TiB'>1</memory>", 1ull << 40 },
	};

	for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
		g_autofree gchar *xml = g_strdup_printf ("<domain>%s</domain>", cases[i].memory);
		g_autoptr (AcDomain) dom = parse_ok (xml);
		g_assert_cmpuint (dom->memory, ==, cases[i].bytes);
	}
}

static void
expect_refused (const gchar *xml, gssize len, const gchar *message)
{
	g_autoptr (GError) error = NULL;
	g_autoptr (AcDomain) dom = ac_domain_parse (xml, len, &error);

	g_assert_null (dom);
	g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
	if (strstr (error->message, message) == NULL)
		g_error ("expected an error with '%s', got '%s'", message, error->message);
}

static void
test_refused (void)
{
	expect_refused ("<domain><name>a", -1, "domain XML is not well-formed");
	expect_refused ("", -1, "domain XML is not well-formed");
	expect_refused ("<network><name>a</name></network>", -1,
	                "the root element is not <domain>");
	expect_refused ("<q:domain xmlns:q='urn:x'/>", -1, "the root element is not <domain>");
	expect_refused ("<domain><name>a</name><name>b</name></domain>", -1,
	                "domain XML has 2 <name> elements, expected at most one");
	expect_refused ("<domain><devices/><devices/></domain>", -1,
	                "domain XML has 2 <devices> elements, expected at most one");
	expect_refused ("<domain><memory>1</memory><memory>2</memory></domain>", -1,
	                "domain XML has 2 <memory> elements, expected at most one");
	expect_refused ("<domain><os><loader>/a</loader><loader>/b</loader></os></domain>", -1,
	                "domain XML has 2 <os><loader> elements, expected at most one");
	expect_refused ("<domain><vcpu>0</vcpu></domain>", -1,
	                "<vcpu> is '0', expected a number from 1 to 4096");
	expect_refused ("<domain><vcpu>two</vcpu></domain>", -1,
	                "<vcpu> is 'two', expected a number from 1 to 4096");
	expect_refused ("<domain><memory>-1</memory></domain>", -1,
	                "<memory> is '-1', expected a whole number");
	expect_refused ("<domain><memory unit='parsec'>1</memory></domain>", -1,
	                "<memory unit='parsec'>1</memory> is not a size");
	expect_refused ("<domain><memory unit='TiB'>99999999999</memory></domain>", -1,
	                "is not a size");
	expect_refused ("<domain><metadata><l:launch xmlns:l='" AC_LAUNCH_NS "'>A</l:launch>"
	                "<l:launch xmlns:l='" AC_LAUNCH_NS "'>B</l:launch></metadata></domain>",
	                -1, "more than one <launch> record");
	/* entities are not expanded: no file is read into the model */
	{
		g_autoptr (AcDomain) dom
		    = ac_domain_parse ("<!DOCTYPE domain [<!ENTITY x SYSTEM 'file:///etc/passwd'>]>"
		                       "<domain><name>&x;</name></domain>",
		                       -1, NULL);
		g_assert_true (dom == NULL || dom->name == NULL
		               || strstr (dom->name, "root:") == NULL);
	}
}

/* larger than AC_DOMAIN_MAX_XML: refused before it is read, never truncated */
static void
test_oversized (void)
{
	gsize n = AC_DOMAIN_MAX_XML + 1;
	g_autofree gchar *xml = g_malloc (n + 1);
	g_autofree gchar *message = g_strdup_printf ("domain XML has %" G_GSIZE_FORMAT
	                                             " bytes, more than the %d accepted",
	                                             n, AC_DOMAIN_MAX_XML);
	const gchar *head = "<domain><name>big</name><description>";
	const gchar *tail = "</description></domain>";

	memset (xml, 'x', n);
	memcpy (xml, head, strlen (head));
	memcpy (xml + n - strlen (tail), tail, strlen (tail));
	xml[n] = '\0';
	expect_refused (xml, -1, message);
	expect_refused (xml, (gssize)n, message);
	/* the same document one byte under the limit is read */
	memcpy (xml + 1, head, strlen (head));
	{
		g_autoptr (AcDomain) dom = parse_ok (xml + 1);
		g_assert_cmpstr (dom->name, ==, "big");
	}
}

int
main (int argc, char **argv)
{
	g_test_init (&argc, &argv, NULL);
	g_test_add_func ("/domain/fields", test_fields);
	g_test_add_func ("/domain/disks", test_disks);
	g_test_add_func ("/domain/tagged-disk-rule", test_tagged_disk_rule);
	g_test_add_func ("/domain/no-disk", test_no_disk);
	g_test_add_func ("/domain/untagged", test_untagged);
	g_test_add_func ("/domain/invalid-tag", test_invalid_tag);
	g_test_add_func ("/domain/qemu-element", test_qemu_element);
	g_test_add_func ("/domain/memory-units", test_memory_units);
	g_test_add_func ("/domain/refused", test_refused);
	g_test_add_func ("/domain/oversized", test_oversized);
	return g_test_run ();
}
