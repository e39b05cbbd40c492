#!/usr/bin/python3
"""Integration tests against a private libvirtd with our hook installed, and virt-alephd.

Run by meson (suite 'integration') as root:  test_integration.py BUILDDIR
Each test class starts its own libvirtd (tests/integration/libvirtd.sh) in a short temp dir
and tears everything down by PID.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
BUILD = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "..", "build"))
HARNESS = os.path.join(HERE, "libvirtd.sh")
VIRT_ALEPH = os.path.join(BUILD, "plugin", "cli", "virt-aleph")
VIRT_ALEPHD = os.path.join(BUILD, "plugin", "daemon", "virt-alephd")
TAG_NS = "https://aleph.cloud/ns/libvirt/confidential/1"
STATUS_NS = "https://aleph.cloud/ns/libvirt/confidential-status/1"


def run(*args, check=True, **kw):
    return subprocess.run(args, check=check, capture_output=True, text=True, **kw)


def wait_for(pred, timeout=30.0, what="condition"):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(0.2)
    raise AssertionError("timed out waiting for " + what)


def stop_process(proc):
    """SIGTERM, then SIGKILL when it has not exited within 10 s."""
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


class Env:
    """A private libvirtd, a tiny guest, and optionally virt-alephd."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="acit", dir="/tmp")
        self.guest = os.path.join(self.dir, "guest")
        run(os.path.join(HERE, "make-guest.sh"), self.guest)
        run(HARNESS, "start", self.dir, BUILD)
        self.uri = run(HARNESS, "uri", self.dir).stdout.strip()
        self.daemon = None
        self.daemon_log = os.path.join(self.dir, "virt-alephd.log")

    def virsh(self, *args, check=True):
        return run("virsh", "-q", "-c", self.uri, *args, check=check)

    def aleph(self, *args, check=False):
        return run(VIRT_ALEPH, "-c", self.uri, *args, check=check)

    def domain_xml(self, name, tag=None, hold=False):
        console = os.path.join(self.dir, name + ".log")
        disk = os.path.join(self.dir, name + ".img")
        # each domain gets its own copy of the guest's disk (a real, tiny root filesystem)
        shutil.copyfile(os.path.join(self.guest, "disk.img"), disk)
        metadata = "<metadata>%s</metadata>" % tag if tag is not None else ""
        return f"""<domain type='qemu'>
  <name>{name}</name>
  {metadata}
  <memory unit='MiB'>192</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type>
    <kernel>{self.guest}/vmlinuz</kernel><initrd>{self.guest}/initrd.img</initrd>
    <cmdline>console=ttyS0 quiet panic=-1{' aleph.hold=1' if hold else ''}</cmdline></os>
  <devices>
    <disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='{disk}'/><target dev='vda' bus='virtio'/></disk>
    <serial type='file'><source path='{console}'/><target port='0'/></serial>
    <console type='file'><source path='{console}'/><target type='serial' port='0'/></console>
  </devices>
</domain>"""

    def define(self, name, tag=None, **kw):
        path = os.path.join(self.dir, name + ".xml")
        with open(path, "w") as f:
            f.write(self.domain_xml(name, tag, **kw))
        self.virsh("define", path)

    def console(self, name):
        try:
            with open(os.path.join(self.dir, name + ".log"), errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def status(self, name):
        r = self.aleph("status", name, "--json")
        if r.returncode != 0:
            return None
        return json.loads(r.stdout).get("status")

    def start_daemon(self):
        with open(self.daemon_log, "a") as log:
            self.daemon = subprocess.Popen(
                [VIRT_ALEPHD, "--foreground", "--verbose", "--connect", self.uri],
                stdout=log, stderr=subprocess.STDOUT)

    def stop_daemon(self):
        if self.daemon is not None:
            stop_process(self.daemon)
            self.daemon = None

    def daemon_output(self):
        with open(self.daemon_log) as f:
            return f.read()

    def close(self):
        self.stop_daemon()
        run(HARNESS, "stop", self.dir, check=False)
        if not os.environ.get("AC_TEST_KEEP"):
            shutil.rmtree(self.dir, ignore_errors=True)


def tag(body=""):
    return f'<aleph:confidential xmlns:aleph="{TAG_NS}">{body}</aleph:confidential>'


class EnvTestCase(unittest.TestCase):
    """A test class with a private libvirtd of its own (cls.env) for all its tests."""

    @classmethod
    def setUpClass(cls):
        cls.env = Env()

    @classmethod
    def tearDownClass(cls):
        cls.env.close()


class HookTests(EnvTestCase):
    def test_untagged_domain_starts_and_hook_leaves_no_trace(self):
        env = self.env
        env.define("plain")
        before = env.virsh("dumpxml", "--inactive", "plain").stdout
        env.virsh("start", "plain")
        wait_for(lambda: "ALEPH-TEST-GUEST-UP" in env.console("plain"), 60, "the guest's marker")
        env.virsh("destroy", "plain")
        after = env.virsh("dumpxml", "--inactive", "plain").stdout
        self.assertEqual(before, after)
        self.assertNotIn("aleph", after)
        # the fast path records nothing
        self.assertFalse(os.path.exists(os.path.join(env.dir, "state", "hook", "plain.json")))

    def test_invalid_tag_is_refused_with_our_message(self):
        env = self.env
        env.define("badtag", tag(body='<aleph:sev policy="0xZZ"/><aleph:local mode="test"/>'))
        r = env.virsh("start", "badtag", check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("Hook script execution failed", r.stderr)
        self.assertIn("aleph-confidential: refusing to start domain 'badtag': invalid <aleph:confidential>", r.stderr)
        self.assertIn("invalid SEV policy '0xZZ'", r.stderr)
        self.assertEqual(env.virsh("domstate", "badtag").stdout.strip(), "shut off")

    def test_deny_is_refused(self):
        env = self.env
        env.define("denied", tag(body='<aleph:local mode="deny"/>'))
        r = env.virsh("start", "denied", check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("refusing to start domain 'denied': <aleph:local mode='deny'/> forbids", r.stderr)
        with open(os.path.join(env.dir, "state", "hook", "denied.json")) as f:
            rec = json.load(f)
        self.assertEqual(rec["verdict"], "refused")
        self.assertEqual(rec["code"], "refused")

    def test_default_mode_without_sev_is_refused(self):
        env = self.env
        env.define("nosev", tag())
        r = env.virsh("start", "nosev", check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("this host has no AMD SEV", r.stderr)

    def test_test_mode_starts(self):
        env = self.env
        env.define("testmode", tag(body='<aleph:local mode="test"/>'))
        env.virsh("start", "testmode")
        wait_for(lambda: "ALEPH-TEST-GUEST-UP" in env.console("testmode"), 60, "the guest's marker")
        env.virsh("destroy", "testmode")


class ServiceTests(EnvTestCase):
    def test_service(self):
        try:
            self.check_service()
        except AssertionError as e:
            raise AssertionError("%s\n--- virt-alephd log ---\n%s" % (e, self.env.daemon_output()))

    def check_service(self):
        env = self.env
        # tagged before the service starts
        env.define("early", tag(body='<aleph:local mode="test"/>'))
        env.define("untagged")
        env.start_daemon()
        st = wait_for(lambda: env.status("early"), 20, "status of 'early'")
        self.assertEqual(st["state"], "ready")
        self.assertEqual(st["step"], "validate")
        self.assertEqual(env.status("untagged"), None)

        # tagged after: with virsh define, and with virt-aleph tag
        env.define("late", tag(body='<aleph:disk dev="vda"/>'))
        st = wait_for(lambda: env.status("late"), 20, "status of 'late'")
        self.assertEqual(st["state"], "ready")
        r = env.aleph("tag", "untagged", "--local", "test")
        self.assertEqual(r.returncode, 0, r.stderr)
        wait_for(lambda: env.status("untagged"), 20, "status after virt-aleph tag")

        # an invalid tag set with virsh metadata: status says why, naming the attribute
        env.virsh("metadata", "late", TAG_NS, "--key", "aleph", "--config",
                  "--set", '<confidential><disk dev="vdq"/></confidential>')
        st = wait_for(lambda: (s := env.status("late")) and s["state"] == "invalid" and s, 20, "invalid status")
        self.assertEqual(st["errorCode"], "invalid-input")
        self.assertIn("<aleph:disk dev='vdq'>", st["error"])
        # fixed again
        env.virsh("metadata", "late", TAG_NS, "--key", "aleph", "--config",
                  "--set", '<confidential><disk dev="vda"/></confidential>')
        wait_for(lambda: (s := env.status("late")) and s["state"] == "ready", 20, "ready again")

        # untag removes the status too
        r = env.aleph("untag", "late")
        self.assertEqual(r.returncode, 0, r.stderr)
        wait_for(lambda: env.status("late") is None, 20, "status removed")

        # its own status writes do not wake it up: 'early' was written exactly once
        time.sleep(1.0)
        out = env.daemon_output()
        self.assertEqual(out.count("domain 'early': ready"), 1, out)

        # libvirtd goes away and comes back: the service reconnects and goes on
        run(HARNESS, "restart", env.dir, BUILD)
        wait_for(lambda: "lost the connection" in env.daemon_output(), 30, "the service noticing")
        wait_for(lambda: env.daemon_output().count("connected to") >= 2, 60, "the reconnection")
        env.define("afterrestart", tag(body='<aleph:local mode="test"/>'))
        st = wait_for(lambda: env.status("afterrestart"), 30, "status after restart")
        self.assertEqual(st["state"], "ready")
        self.assertIsNone(env.daemon.poll(), "virt-alephd exited")


class CliTests(EnvTestCase):
    def test_tag_status_untag(self):
        env = self.env
        env.define("cli")
        r = env.aleph("status", "cli", "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertFalse(json.loads(r.stdout)["tagged"])

        # refused input changes nothing, with the documented exit code
        r = env.aleph("tag", "cli", "--policy", "0x40")
        self.assertEqual(r.returncode, 2)
        self.assertIn("reserved bits", r.stderr)
        r = env.aleph("tag", "cli", "--disk", "vdz")
        self.assertEqual(r.returncode, 2)
        self.assertIn("has no such disk", r.stderr)
        self.assertNotIn("aleph", env.virsh("dumpxml", "--inactive", "cli").stdout)

        r = env.aleph("tag", "cli", "--policy", "nodbg,noks", "--local", "test")
        self.assertEqual(r.returncode, 0, r.stderr)
        meta = env.virsh("metadata", "cli", TAG_NS, "--config").stdout
        self.assertIn('<sev policy="0x3"/>', meta)
        self.assertIn('<local mode="test"/>', meta)
        r = env.aleph("status", "cli", "--json")
        js = json.loads(r.stdout)
        self.assertTrue(js["tagged"])
        self.assertEqual(js["policy"], "0x3")

        r = env.aleph("untag", "cli")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertNotIn("aleph", env.virsh("dumpxml", "--inactive", "cli").stdout)
        r = env.aleph("untag", "cli")
        self.assertEqual(r.returncode, 10)  # nothing to remove: not found

        r = env.aleph("status", "no-such-domain")
        self.assertEqual(r.returncode, 10)
        self.assertIn("no-such-domain", r.stderr)
        r = env.aleph("status", "no-such-domain", "--json")
        self.assertEqual(json.loads(r.stdout)["error"]["code"], "not-found")


if __name__ == "__main__":
    if os.geteuid() != 0:
        print("integration tests need root (a private libvirtd)", file=sys.stderr)
        sys.exit(1)
    unittest.main(argv=[sys.argv[0], "-v"] + sys.argv[2:])
