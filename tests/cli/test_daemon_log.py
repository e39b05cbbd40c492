#!/usr/bin/python3
"""Where virt-alephd's log goes, as a sysadmin finds it: detached, in the journal (native
protocol) with DOMAIN_NAME, DOMAIN_UUID, MESSAGE_ID and the state as fields, else in syslog;
in the foreground on stderr; --log picks one. The journal and syslog sockets are datagram
sockets this test binds ($VIRT_ALEPH_JOURNAL_SOCKET, $VIRT_ALEPH_SYSLOG_SOCKET), libvirt's test
driver stands in for libvirtd.

Run by meson (suite 'cli'):  test_daemon_log.py BUILDDIR
"""
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import threading
import time
import unittest

from clitest import BUILD

VIRT_ALEPHD = os.path.join(BUILD, "plugin", "daemon", "virt-alephd")
TAG_NS = "https://aleph.cloud/ns/libvirt/confidential/1"
STATUS_NS = "https://aleph.cloud/ns/libvirt/confidential-status/1"
UUID_WEB = "6a1e5c3b-2f4d-4b8e-9c1a-0d2e3f405161"
UUID_OLD = "6a1e5c3b-2f4d-4b8e-9c1a-0d2e3f405162"
STATUS_ID = "5d0a6c3e9f2b4e1a8c7d3b6f1e2a9c40"


def domain(name, uuid, metadata):
    return f"""  <domain type='test'>
    <name>{name}</name><uuid>{uuid}</uuid>
    <memory unit='MiB'>512</memory><vcpu>1</vcpu>
    <os><type arch='x86_64'>hvm</type></os>
    <metadata>{metadata}</metadata>
    <devices><disk type='file' device='disk'><source file='/var/lib/{name}.img'/>
      <target dev='vda' bus='virtio'/></disk></devices>
  </domain>
"""


def parse_journal(data):
    """The journal's native protocol: KEY=value lines, or KEY, a 64-bit length and bytes."""
    fields = {}
    i = 0
    while i < len(data):
        nl = data.index(b"\n", i)
        line = data[i:nl]
        if b"=" in line:
            key, value = line.split(b"=", 1)
            i = nl + 1
        else:
            key = line
            (n,) = struct.unpack("<Q", data[nl + 1:nl + 9])
            value = data[nl + 9:nl + 9 + n]
            assert data[nl + 9 + n:nl + 10 + n] == b"\n", data
            i = nl + 10 + n
        fields[key.decode()] = value.decode()
    return fields


class DaemonLogTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="ac-daemon-log-")
        node = os.path.join(self.dir, "node.xml")
        tag = (f'<aleph:confidential xmlns:aleph="{TAG_NS}"><aleph:local mode="test"/>'
               '</aleph:confidential>')
        stale = (f'<alephst:status xmlns:alephst="{STATUS_NS}" state="ready" step="validate" '
                 'progress="100"/>')
        with open(node, "w") as f:
            f.write("<node>\n" + domain("web", UUID_WEB, tag) + domain("old", UUID_OLD, stale)
                    + "</node>\n")
        self.uri = "test://" + node
        self.conf = os.path.join(self.dir, "virt-alephd.conf")
        with open(self.conf, "w") as f:
            f.write(f"[pipeline]\nstate-dir={self.dir}/state\n")
        self.pidfile = os.path.join(self.dir, "pid")
        self.env = dict(os.environ)
        for var in ("JOURNAL_STREAM", "G_MESSAGES_DEBUG", "LIBVIRT_DEFAULT_URI"):
            self.env.pop(var, None)
        self.env["VIRT_ALEPH_JOURNAL_SOCKET"] = os.path.join(self.dir, "no-journal")
        self.env["VIRT_ALEPH_SYSLOG_SOCKET"] = os.path.join(self.dir, "no-syslog")
        self.sockets = []
        self.pid = None

    def tearDown(self):
        if self.pid is not None:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for s in self.sockets:
            s.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def bind(self, name, var):
        path = os.path.join(self.dir, name)
        s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        s.bind(path)
        s.settimeout(20)
        self.sockets.append(s)
        self.env[var] = path
        return s

    def argv(self, *extra):
        return [VIRT_ALEPHD, "--connect", self.uri, "--config", self.conf,
                "--pidfile", self.pidfile] + list(extra)

    def start_detached(self, *extra):
        r = subprocess.run(self.argv(*extra), capture_output=True, text=True, env=self.env,
                           timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stderr, "")
        for _ in range(600):
            if os.path.exists(self.pidfile) and open(self.pidfile).read().strip():
                break
            time.sleep(0.05)
        self.pid = int(open(self.pidfile).read())

    def stop_detached(self):
        os.kill(self.pid, signal.SIGTERM)
        for _ in range(400):
            try:
                os.kill(self.pid, 0)
            except ProcessLookupError:
                self.pid = None
                return
            time.sleep(0.05)
        self.fail("virt-alephd did not stop on SIGTERM")

    def receive_until(self, sock, pred, parse):
        seen = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                data = sock.recv(65536)
            except socket.timeout:
                break
            entry = parse(data)
            seen.append(entry)
            if pred(entry):
                return entry, seen
        self.fail(f"no such message; received {seen!r}")

    def check_status_entry(self, e, pid):
        self.assertEqual(e["MESSAGE"], "domain 'web': ready at step validate")
        self.assertEqual(e["DOMAIN_NAME"], "web")
        self.assertEqual(e["DOMAIN_UUID"], UUID_WEB)
        self.assertEqual(e["MESSAGE_ID"], STATUS_ID)
        self.assertEqual(e["ALEPH_STATE"], "ready")
        self.assertEqual(e["ALEPH_STEP"], "validate")
        self.assertEqual(e["PRIORITY"], "5")
        self.assertEqual(e["SYSLOG_IDENTIFIER"], "virt-alephd")
        self.assertEqual(e["GLIB_DOMAIN"], "AcDaemon")

    def test_detached_logs_to_the_journal_with_domain_fields(self):
        journal = self.bind("journal.sock", "VIRT_ALEPH_JOURNAL_SOCKET")
        syslog = self.bind("syslog.sock", "VIRT_ALEPH_SYSLOG_SOCKET")
        self.start_detached()
        first, _ = self.receive_until(journal, lambda e: "starting" in e.get("MESSAGE", ""),
                                      parse_journal)
        self.assertNotIn("DOMAIN_NAME", first)  # not about a domain
        # web's status (written by a thread of its own) and old's untagging, in either order
        def status_entry(e):
            return e.get("DOMAIN_NAME") == "web" and e.get("MESSAGE_ID") == STATUS_ID

        def untagged_entry(e):
            return "no longer tagged" in e.get("MESSAGE", "")

        seen = []
        while not (any(map(status_entry, seen)) and any(map(untagged_entry, seen))):
            _, more = self.receive_until(journal, lambda e: status_entry(e) or untagged_entry(e),
                                         parse_journal)
            seen += more
        self.check_status_entry(next(filter(status_entry, seen)), self.pid)
        # a message logged while the service works on a domain carries its fields too
        e = next(filter(untagged_entry, seen))
        self.assertEqual((e["DOMAIN_NAME"], e["DOMAIN_UUID"]), ("old", UUID_OLD))
        self.assertNotIn("MESSAGE_ID", e)
        self.stop_detached()
        self.receive_until(journal, lambda e: e.get("MESSAGE") == "stopping", parse_journal)
        syslog.settimeout(0.2)
        with self.assertRaises(socket.timeout):
            syslog.recv(65536)  # nothing went to syslog while the journal was there

    def test_detached_without_journal_logs_to_syslog(self):
        syslog = self.bind("syslog.sock", "VIRT_ALEPH_SYSLOG_SOCKET")
        self.start_detached()
        line, _ = self.receive_until(syslog, lambda s: "ready at step validate" in s,
                                     lambda d: d.decode())
        # RFC 3164 as syslog(3) writes it: facility daemon (3), severity notice (5)
        self.assertRegex(line, r"^<29>[A-Z][a-z]{2} [ 0-9]\d \d\d:\d\d:\d\d virt-alephd\[" +
                         str(self.pid) + r"\]: domain 'web': ready at step validate$")
        self.stop_detached()
        self.receive_until(syslog, lambda s: s.endswith(": stopping"), lambda d: d.decode())

    def test_foreground_logs_to_stderr_unless_told(self):
        journal = self.bind("journal.sock", "VIRT_ALEPH_JOURNAL_SOCKET")
        p = subprocess.Popen(self.argv("--foreground"), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=self.env)
        self.pid = p.pid
        watchdog = threading.Timer(60, p.kill)  # a hung service fails the test, not the run
        watchdog.start()
        err = ""
        try:
            for line in p.stderr:
                err += line
                if "domain 'web': ready at step validate" in line:
                    break
            p.send_signal(signal.SIGTERM)
            err += p.communicate(timeout=30)[1]
        finally:
            watchdog.cancel()
        self.pid = None
        self.assertEqual(p.returncode, 0, err)
        self.assertIn("domain 'web': ready at step validate", err)
        self.assertIn("stopping", err)
        journal.settimeout(0.2)
        with self.assertRaises(socket.timeout):
            journal.recv(65536)

        # --log=journal in the foreground: the journal, and nothing on stderr
        p = subprocess.Popen(self.argv("--foreground", "--log=journal"), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=self.env)
        self.pid = p.pid
        journal.settimeout(20)
        e, _ = self.receive_until(journal, lambda e: e.get("DOMAIN_NAME") == "web" and
                                  e.get("MESSAGE_ID") == STATUS_ID, parse_journal)
        self.check_status_entry(e, p.pid)
        p.send_signal(signal.SIGTERM)
        out, err = p.communicate(timeout=30)
        self.pid = None
        self.assertEqual((p.returncode, err), (0, ""))

    def test_bad_log_option(self):
        r = subprocess.run(self.argv("--foreground", "--log=journald"), capture_output=True,
                           text=True, env=self.env, timeout=60)
        self.assertEqual(r.returncode, 2)
        self.assertIn("--log 'journald': expected auto, stderr, journal or syslog", r.stderr)
        # asked for by name, the journal must be there
        r = subprocess.run(self.argv("--foreground", "--log=journal"), capture_output=True,
                           text=True, env=self.env, timeout=60)
        self.assertEqual(r.returncode, 12, r.stderr)
        self.assertIn("no journal socket at " + self.env["VIRT_ALEPH_JOURNAL_SOCKET"], r.stderr)


if __name__ == "__main__":
    import sys
    unittest.main(argv=sys.argv[:1], verbosity=2)
