#!/usr/bin/python3
"""Every way to tag a domain that docs/tagging.md shows, run as the doc writes it.

Run by meson (suite 'integration') as root:  test_tagging.py SRCDIR BUILDDIR

The commands are taken from the markdown (the ```sh block after each <!-- test: NAME [FLAGS] -->
comment), so the doc cannot drift from what works. Each runs with bash in a directory holding
web.img, against a private libvirtd (tests/integration/libvirtd.sh) named by LIBVIRT_DEFAULT_URI,
with virt-aleph of BUILDDIR first in PATH and EDITOR a script that inserts the doc's
<!-- virsh-edit-insert --> block. Before each, a shut-off domain 'web' without metadata is
defined (none with the flag 'fresh': the commands create it). After each, the doc's
<!-- test-check --> commands must succeed and show the tag (with the flag 'dropped': libvirt
must have dropped it), and its <!-- test-untag --> commands must remove it.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", ".."))
BUILD = os.path.abspath(sys.argv[2] if len(sys.argv) > 2 else os.path.join(SRC, "build"))
DOC = os.path.join(SRC, "docs", "tagging.md")
HARNESS = os.path.join(HERE, "libvirtd.sh")
TAG_NS = "https://aleph.cloud/ns/libvirt/confidential/1"
# the ways docs/tagging.md must show, each tested (virt-manager's XML tab cannot be driven here)
EXPECTED = {"virt-aleph-tag", "virsh-metadata", "virsh-edit", "virt-xml", "virt-xml-no-namespace",
            "virt-install"}

BASE_DOMAIN = """<domain type='qemu'>
  <name>web</name>
  <uuid>7d3c0a52-1c39-4f35-9b8e-5a3f0e6b2d11</uuid>
  <memory unit='MiB'>256</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices>
    <disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='{disk}'/><target dev='vda' bus='virtio'/></disk>
  </devices>
</domain>
"""

# EDITOR for `virsh edit`: inserts the doc's block after <uuid>, as a person would
FAKE_EDITOR = """#!/usr/bin/python3
import sys
block = open(sys.argv[0] + ".insert").read()
path = sys.argv[1]
xml = open(path).read()
if "<metadata>" in xml or "<metadata/>" in xml:
    sys.exit("fake editor: the domain already has <metadata>; the test expects none")
at = xml.index("</uuid>") + len("</uuid>")
open(path, "w").write(xml[:at] + "\\n" + block + xml[at:])
"""


def parse_doc():
    with open(DOC, encoding="utf-8") as f:
        text = f.read()
    tests = {}
    for m in re.finditer(r"<!-- test: (\S+)((?: [a-z]+)*) -->\s*```sh\n(.*?)```", text, re.S):
        tests[m.group(1)] = (set(m.group(2).split()), m.group(3))

    def one(marker, lang):
        found = re.findall(r"<!-- " + marker + r" -->\s*```" + lang + r"\n(.*?)```", text, re.S)
        if len(found) != 1:
            raise AssertionError(f"{DOC}: expected one <!-- {marker} --> ```{lang} block, found {len(found)}")
        return found[0]

    return tests, one("test-check", "sh"), one("test-untag", "sh"), one("virsh-edit-insert", "xml")


def run(args, check=True, **kw):
    return subprocess.run(args, check=check, capture_output=True, text=True, **kw)


class TaggingDoc(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tests, cls.check_cmds, cls.untag_cmds, cls.insert = parse_doc()
        cls.dir = tempfile.mkdtemp(prefix="actg", dir="/tmp")
        run([HARNESS, "start", cls.dir])
        cls.uri = run([HARNESS, "uri", cls.dir]).stdout.strip()
        cls.work = os.path.join(cls.dir, "work")
        os.mkdir(cls.work)
        with open(os.path.join(cls.work, "web.img"), "wb") as f:
            f.truncate(64 << 20)
        editor = os.path.join(cls.dir, "editor")
        with open(editor, "w") as f:
            f.write(FAKE_EDITOR)
        os.chmod(editor, 0o755)
        with open(editor + ".insert", "w") as f:
            f.write(cls.insert)
        cls.env = dict(os.environ)
        cls.env.update({
            "LIBVIRT_DEFAULT_URI": cls.uri,
            "PATH": os.path.join(BUILD, "plugin", "cli") + os.pathsep + os.environ.get("PATH", ""),
            "EDITOR": editor,
            "VISUAL": editor,
            "HOME": cls.dir,  # virt-install and virt-xml keep logs under ~/.cache
        })

    @classmethod
    def tearDownClass(cls):
        run([HARNESS, "stop", cls.dir], check=False)
        if not os.environ.get("AC_TEST_KEEP"):
            shutil.rmtree(cls.dir, ignore_errors=True)

    def sh(self, script):
        return run(["bash", "-euo", "pipefail", "-c", script], check=False, cwd=self.work,
                   env=self.env, timeout=180)

    def virsh(self, *args, check=True):
        return run(["virsh", "-q", "-c", self.uri, *args], check=check)

    def fresh(self, define):
        if self.virsh("domstate", "web", check=False).returncode == 0:
            self.virsh("undefine", "web")
        for name in ("web.xml", "web-now.xml"):
            if os.path.exists(os.path.join(self.work, name)):
                os.unlink(os.path.join(self.work, name))
        if define:
            path = os.path.join(self.dir, "base.xml")
            with open(path, "w") as f:
                f.write(BASE_DOMAIN.format(disk=os.path.join(self.work, "web.img")))
            self.virsh("define", path)

    def tagged(self):
        return self.virsh("metadata", "web", TAG_NS, check=False).returncode == 0

    def test_doc_shows_every_way(self):
        self.assertEqual(set(self.tests), EXPECTED,
                         f"{DOC}: the tested blocks are not the expected ways to tag")
        with open(DOC, encoding="utf-8") as f:
            text = f.read()
        # the one way no test drives says so
        self.assertIn("## virt-manager", text)
        self.assertRegex(text, r"no test drives it")

    def test_tools_installed(self):
        for tool in ("virsh", "virt-xml", "virt-install"):
            self.assertIsNotNone(shutil.which(tool), f"{tool} is missing: run scripts/setup.sh "
                                 "(virt-xml and virt-install come from the virtinst package)")

    def run_way(self, name):
        flags, script = self.tests[name]
        self.fresh(define="fresh" not in flags)
        r = self.sh(script)
        self.assertEqual(r.returncode, 0, f"{name}: the doc's commands failed:\n{script}\n"
                         f"stdout: {r.stdout}\nstderr: {r.stderr}")
        self.assertEqual(self.virsh("domstate", "web").stdout.strip(), "shut off")
        if "dropped" in flags:
            self.assertFalse(self.tagged(), f"{name}: libvirt kept the tag the doc says it drops")
            xml = self.virsh("dumpxml", "web").stdout
            self.assertNotIn(TAG_NS, xml)
            self.assertNotIn("<confidential", xml)
            return
        c = self.sh(self.check_cmds)
        self.assertEqual(c.returncode, 0, f"{name}: the doc's check failed:\n{c.stdout}\n{c.stderr}")
        # virsh metadata printed what libvirt stored; validate printed the normalized tag
        self.assertRegex(c.stdout, r'<(\w+:)?confidential[ >]')
        self.assertIn('<aleph:disk dev="vda"/>', c.stdout)
        self.assertIn('<aleph:local mode="sev"/>', c.stdout)
        self.assertIn('<aleph:sev policy="0x1"/>', c.stdout)  # validate's defaults
        u = self.sh(self.untag_cmds)
        self.assertEqual(u.returncode, 0, f"{name}: the doc's untag failed: {u.stderr}")
        self.assertFalse(self.tagged(), f"{name}: the tag is still there after untag")

    def test_virt_aleph_tag(self):
        self.run_way("virt-aleph-tag")

    def test_virsh_metadata(self):
        self.run_way("virsh-metadata")

    def test_virsh_edit(self):
        self.run_way("virsh-edit")

    def test_virt_xml(self):
        self.run_way("virt-xml")

    def test_virt_xml_without_namespace_is_dropped(self):
        self.run_way("virt-xml-no-namespace")

    def test_virt_install(self):
        self.run_way("virt-install")
        # the domain is the one virt-install generated, with the doc's disk
        xml = self.virsh("dumpxml", "web").stdout
        self.assertIn(os.path.join(self.work, "web.img"), xml)


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0], "-v"])
