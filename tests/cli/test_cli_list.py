#!/usr/bin/python3
"""virt-aleph list, and what status shows and follows, on libvirt's test driver (test:///FILE:
no daemon, no root): the tagged domains with their mode, state, CRN, IPv6 and ssh hint; status
--follow's heartbeat, its immediate errors for an untagged domain and a silent virt-alephd, and
a failure of an earlier tag never shown as the current one.

Run by meson (suite 'cli'):  test_cli_list.py BUILDDIR
"""
import datetime
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest

import clitest  # noqa: E402
from clitest import BUILD, EXIT, VIRT_ALEPH  # noqa: E402

ALEPH_DEVNET = os.path.join(BUILD, "devnet", "aleph-devnet")

TAG_NS = "https://aleph.cloud/ns/libvirt/confidential/1"
STATUS_NS = "https://aleph.cloud/ns/libvirt/confidential-status/1"
CRN = "2" * 64
CRN_URL = "https://crn.example.org"
IPV6 = "2a01:4f8:1c1c:abcd::1"

PUBLISH_TAG = (f'<aleph:confidential xmlns:aleph="{TAG_NS}">'
               '<aleph:publish api="http://127.0.0.1:1" crn="auto"/></aleph:confidential>')
LOCAL_TAG = (f'<aleph:confidential xmlns:aleph="{TAG_NS}">'
             '<aleph:local mode="test"/></aleph:confidential>')
LIST_KEYS = {"domain", "uuid", "mode", "state", "step", "progress", "updated", "tagChanged", "crn",
             "crnUrl", "ipv6", "ssh", "errorCode", "error"}


def rfc3339(seconds_ago=0):
    t = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=seconds_ago)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def status(state, step, progress=0, attrs="", children=""):
    return (f'<alephst:status xmlns:alephst="{STATUS_NS}" state="{state}" step="{step}" '
            f'progress="{progress}" {attrs}>{children}</alephst:status>')


def domain(name, n, metadata=""):
    return clitest.domain(name, f"1f0c8a7e-8d55-4d6e-9a53-6b0a1c1d2e{n:02d}", metadata)


class ListStatusTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="ac-cli-list-")
        cls.env = dict(os.environ)
        for var in ("VIRT_ALEPH_DEFAULT_URI", "LIBVIRT_DEFAULT_URI", "G_MESSAGES_DEBUG"):
            cls.env.pop(var, None)
        cls.env["HOME"] = cls.dir
        # the fingerprint virt-alephd records: SHA-256 of the tag's canonical form
        r = subprocess.run([VIRT_ALEPH, "validate", "-"], input=PUBLISH_TAG, capture_output=True,
                           text=True, env=cls.env)
        assert r.returncode == 0, r.stderr
        cls.fp = hashlib.sha256(r.stdout.encode()).hexdigest()[:16]
        cls.empty = cls.node("empty.xml", domain("plain", 1))

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    @classmethod
    def node(cls, name, *domains):
        path = os.path.join(cls.dir, name)
        with open(path, "w") as f:
            f.write("<node>\n" + "".join(domains) + "</node>\n")
        return "test://" + path

    def run_cli(self, uri, *args, timeout=60):
        return subprocess.run([VIRT_ALEPH, "--connect", uri] + list(args), capture_output=True,
                              text=True, env=self.env, timeout=timeout)

    def describe(self, r):
        return f"{r.args[3:]}: exit {r.returncode}\nstdout: {r.stdout!r}\nstderr: {r.stderr!r}"

    def fleet(self):
        running = status("running", "running", 100, f'tag="{self.fp}"',
                         f'<alephst:aleph instance="{"1" * 64}" crn="{CRN}" crnUrl="{CRN_URL}" '
                         f'ipv6="{IPV6}"/>')
        building = status("building", "build", 20, f'tag="{self.fp}" done="1048576" total="4194304" '
                          f'updated="{rfc3339()}" since="{rfc3339(40)}"')
        # a failure recorded for another tag than the domain has now
        stale = status("failed", "attest", 75, 'tag="0000000000000000"',
                       '<alephst:error code="untrusted" step="attest">the chain does not lead to '
                       'a trusted root</alephst:error>')
        failed = status("failed", "attest", 75, f'tag="{self.fp}"',
                        '<alephst:error code="untrusted" step="attest">the chain does not lead to '
                        'a trusted root</alephst:error>')
        return self.node("fleet.xml",
                         domain("web", 1, PUBLISH_TAG + running),
                         domain("plain", 2),
                         domain("builder", 3, PUBLISH_TAG + building),
                         domain("local", 4, LOCAL_TAG),
                         domain("fixed", 5, PUBLISH_TAG + stale),
                         domain("failed", 6, PUBLISH_TAG + failed),
                         domain("gone", 7, PUBLISH_TAG + status("publishing", "publish/store", 40,
                                                                f'tag="{self.fp}" updated="2020-01-01T00:00:00Z"')),
                         domain("kept", 10, PUBLISH_TAG + status(
                             "running", "running", 100, 'tag="0000000000000000"',
                             f'<alephst:aleph instance="{"1" * 64}" crn="{CRN}" ipv6="{IPV6}"/>')),
                         domain("stopped", 8, PUBLISH_TAG + status(
                             "interrupted", "build", 5, f'tag="{self.fp}" updated="{rfc3339()}"',
                             '<alephst:error code="cancelled" step="build">interrupted</alephst:error>')))

    # ---- list ------------------------------------------------------------------------------

    def test_list_text(self):
        r = self.run_cli(self.fleet(), "list")
        self.assertEqual(r.returncode, 0, self.describe(r))
        lines = r.stdout.splitlines()
        self.assertEqual(lines[0].split(), ["NAME", "MODE", "STATE", "CRN", "IPV6", "SSH"])
        rows = {line.split()[0]: line for line in lines[1:]}
        # tagged domains only, sorted by name
        self.assertEqual(list(rows), ["builder", "failed", "fixed", "gone", "kept", "local", "stopped", "web"])
        self.assertIn("Aleph", rows["web"])
        self.assertIn(CRN_URL, rows["web"])
        self.assertIn(IPV6, rows["web"])
        self.assertTrue(rows["web"].rstrip().endswith(f"ssh root@{IPV6}"), rows["web"])
        self.assertIn("building build 20%", rows["builder"])
        self.assertIn("local test", rows["local"])
        self.assertIn("no status yet", rows["local"])
        self.assertIn("failed at attest", rows["failed"])
        self.assertIn("tag changed; waiting for virt-alephd", rows["fixed"])
        # an instance running from an earlier tag still runs (virt-alephd leaves it): its address
        self.assertIn("running (tag changed: erase to apply it)", rows["kept"])
        self.assertIn(f"ssh root@{IPV6}", rows["kept"])
        # aligned: every column starts at the header's offset
        start = lines[0].index("STATE")
        for line in lines[1:]:
            self.assertNotEqual(line[start - 2:start], "", line)
            self.assertEqual(line[start - 2:start], "  ", line)

    def test_list_json(self):
        r = self.run_cli(self.fleet(), "list", "--json")
        self.assertEqual(r.returncode, 0, self.describe(r))
        doc = json.loads(r.stdout)
        self.assertIsInstance(doc, list)
        by_name = {o["domain"]: o for o in doc}
        self.assertEqual(sorted(by_name), ["builder", "failed", "fixed", "gone", "kept", "local", "stopped", "web"])
        for o in doc:
            self.assertEqual(set(o), LIST_KEYS, o)  # stable keys, null when unknown
        web = by_name["web"]
        self.assertEqual((web["mode"], web["state"], web["crn"], web["crnUrl"], web["ipv6"], web["ssh"]),
                         ("aleph", "running", CRN, CRN_URL, IPV6, f"ssh root@{IPV6}"))
        self.assertEqual(by_name["local"]["mode"], "local-test")
        self.assertIsNone(by_name["local"]["state"])
        self.assertIsNone(by_name["builder"]["ssh"])
        self.assertIs(by_name["fixed"]["tagChanged"], True)
        self.assertIs(by_name["failed"]["tagChanged"], False)
        self.assertEqual(by_name["failed"]["errorCode"], "untrusted")

    def test_list_empty(self):
        r = self.run_cli(self.empty, "list")
        self.assertEqual(r.returncode, 0, self.describe(r))
        self.assertIn("virt-aleph tag", r.stdout)
        r = self.run_cli(self.empty, "list", "--json")
        self.assertEqual(r.returncode, 0, self.describe(r))
        self.assertEqual(json.loads(r.stdout), [])

    def test_list_usage(self):
        r = self.run_cli(self.empty, "list", "web")
        self.assertEqual(r.returncode, EXIT["invalid-input"], self.describe(r))
        r = self.run_cli(self.empty, "list", "--help")
        self.assertEqual(r.returncode, 0, self.describe(r))
        self.assertIn("--json", r.stdout)
        r = subprocess.run([VIRT_ALEPH, "--help"], capture_output=True, text=True, env=self.env)
        self.assertRegex(r.stdout, r"\n  list +list the tagged domains")

    def test_fleet_silent_host(self):
        # a fleet whose host c accepts connections and never answers (an ssh handshake that never
        # ends): list and status wait --timeout for it, then show the other host, naming c
        silent = socket.socket()
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        self.addCleanup(silent.close)
        uri_c = (f"qemu+ssh://root@127.0.0.1:{silent.getsockname()[1]}/system"
                 "?no_verify=1&no_tty=1")
        conf = os.path.join(self.dir, "fleet-silent.conf")
        with open(conf, "w") as f:
            f.write(f"[pipeline]\nstate-dir={self.dir}/state\n[host c]\nconnect={uri_c}\n")
        uri = self.fleet()
        for args in (["list"], ["list", "--json"], ["status", "web"], ["status", "nowhere"]):
            with self.subTest(args=args):
                t0 = time.monotonic()
                r = self.run_cli(uri, *args, "--config", conf, "--timeout", "2")
                self.assertLess(time.monotonic() - t0, 15, self.describe(r))
                if args[0] == "list":
                    # the host that answered is listed; the exit code is the silent host's
                    self.assertIn(f"host c: cannot connect to {uri_c}: no answer after 2 s",
                                  r.stderr)
                    self.assertEqual(r.returncode, EXIT["libvirt"], self.describe(r))
                    self.assertIn("web", r.stdout)
                elif args[1] == "web":
                    # status finds web on the host that answered
                    self.assertEqual(r.returncode, 0, self.describe(r))
                    self.assertIn(f"CRN:         {CRN_URL}", r.stdout)
                else:
                    self.assertEqual(r.returncode, EXIT["not-found"], self.describe(r))
                    self.assertIn("no domain 'nowhere' on the 2 hosts of the configuration; "
                                  "not reachable: c", r.stderr)

    # ---- status ----------------------------------------------------------------------------

    def test_status_fields(self):
        uri = self.fleet()
        r = self.run_cli(uri, "status", "web")
        self.assertEqual(r.returncode, 0, self.describe(r))
        self.assertIn(f"CRN:         {CRN_URL} (node {CRN})", r.stdout)
        self.assertIn(f"IPv6:        {IPV6}", r.stdout)
        self.assertIn(f"SSH:         ssh root@{IPV6}", r.stdout)
        r = self.run_cli(uri, "status", "web", "--json")
        st = json.loads(r.stdout)["status"]
        self.assertEqual((st["crnUrl"], st["ipv6"], st["ssh"], st["tagChanged"]),
                         (CRN_URL, IPV6, f"ssh root@{IPV6}", False))
        r = self.run_cli(uri, "status", "builder")
        self.assertIn("Progress:    1.0 MiB of 4.0 MiB", r.stdout)
        r = self.run_cli(uri, "status", "builder", "--json")
        st = json.loads(r.stdout)["status"]
        self.assertEqual((st["done"], st["total"]), (1048576, 4194304))
        # a status of an earlier tag is said to be one
        r = self.run_cli(uri, "status", "fixed")
        self.assertIn("tag changed since; waiting for virt-alephd", r.stdout)
        self.assertIn("Was:         failed", r.stdout)

    def test_follow_untagged(self):
        t0 = time.monotonic()
        r = self.run_cli(self.fleet(), "status", "plain", "--follow")
        self.assertLess(time.monotonic() - t0, 10)
        self.assertEqual(r.returncode, EXIT["not-found"], self.describe(r))
        self.assertIn("'plain' is not tagged", r.stderr)
        self.assertIn("virt-aleph tag plain", r.stderr)
        r = self.run_cli(self.fleet(), "status", "plain", "--follow", "--json")
        doc = json.loads(r.stdout)
        self.assertEqual((doc["error"]["code"], doc["reason"]), ("not-found", "untagged"))

    def test_follow_heartbeat_then_silent_service(self):
        # work in progress, freshly updated: heartbeats (elapsed from the step's start), then
        # the service is declared silent when the status stops changing for --wait
        r = self.run_cli(self.fleet(), "status", "builder", "--follow", "--heartbeat", "1", "--wait", "4")
        self.assertEqual(r.returncode, EXIT["not-found"], self.describe(r))
        lines = r.stdout.splitlines()
        self.assertRegex(lines[0], r"building +build +20%  1\.0 MiB of 4\.0 MiB")
        beats = [line for line in lines if line.startswith("still at step build (building, elapsed ")]
        self.assertGreaterEqual(len(beats), 2, self.describe(r))
        elapsed = int(beats[0].split("elapsed ")[1].rstrip("s)"))
        self.assertGreaterEqual(elapsed, 40)  # since the recorded start, not since we looked
        self.assertIn("virt-alephd has not updated the status of domain 'builder'", r.stderr)
        self.assertIn("is virt-alephd running", r.stderr)

        r = self.run_cli(self.fleet(), "status", "builder", "--follow", "--json", "--heartbeat", "1",
                         "--wait", "3")
        events = [json.loads(line) for line in r.stdout.splitlines()]
        self.assertEqual(events[0]["event"], "status")
        self.assertEqual((events[0]["done"], events[0]["total"]), (1048576, 4194304))
        self.assertIn("heartbeat", [e.get("event") for e in events])
        self.assertEqual(events[-1]["error"]["code"], "not-found")
        self.assertEqual(events[-1]["reason"], "service-silent")

    def test_follow_service_gone(self):
        # work in progress last refreshed long ago: virt-alephd is not running, said at once
        t0 = time.monotonic()
        r = self.run_cli(self.fleet(), "status", "gone", "--follow", "--wait", "30")
        self.assertLess(time.monotonic() - t0, 10)
        self.assertEqual(r.returncode, EXIT["not-found"], self.describe(r))
        self.assertIn("since 2020-01-01T00:00:00Z", r.stderr)

    def test_follow_interrupted(self):
        # a run interrupted (virt-alephd stopped) and not resumed: said after --wait
        r = self.run_cli(self.fleet(), "status", "stopped", "--follow", "--heartbeat", "1", "--wait", "2")
        self.assertEqual(r.returncode, EXIT["not-found"], self.describe(r))
        self.assertIn("interrupted at step build", r.stderr)
        self.assertIn("has not resumed it", r.stderr)

    def test_follow_no_status(self):
        r = self.run_cli(self.fleet(), "status", "local", "--follow", "--heartbeat", "1", "--wait", "3")
        self.assertEqual(r.returncode, EXIT["not-found"], self.describe(r))
        self.assertIn("still waiting for virt-alephd", r.stdout)
        self.assertIn("virt-alephd wrote no status for domain 'local'", r.stderr)

    def test_follow_stale_failure(self):
        # the failure is the earlier tag's: not reported as the domain's (untrusted, exit 4)
        r = self.run_cli(self.fleet(), "status", "fixed", "--follow", "--heartbeat", "1", "--wait", "3")
        self.assertEqual(r.returncode, EXIT["not-found"], self.describe(r))
        self.assertIn("tag changed since; waiting for virt-alephd", r.stdout)
        self.assertIn("the tag of domain 'fixed' changed", r.stderr)
        r = self.run_cli(self.fleet(), "status", "fixed", "--follow", "--json", "--wait", "2")
        events = [json.loads(line) for line in r.stdout.splitlines()]
        self.assertIs(events[0]["tagChanged"], True)
        # an instance that runs from an earlier tag: running, with what to do to apply the new one
        r = self.run_cli(self.fleet(), "status", "kept", "--follow", "--wait", "2")
        self.assertEqual(r.returncode, 0, self.describe(r))
        self.assertIn("virt-aleph erase kept", r.stdout)
        r = self.run_cli(self.fleet(), "status", "kept")
        self.assertIn("State:       running", r.stdout)
        self.assertIn(f"SSH:         ssh root@{IPV6}", r.stdout)
        self.assertIn("Note:        the tag changed after the instance was published", r.stdout)
        # the same failure for the tag the domain has: the failure, with its class
        r = self.run_cli(self.fleet(), "status", "failed", "--follow", "--wait", "2")
        self.assertEqual(r.returncode, EXIT["untrusted"], self.describe(r))

    def test_follow_options(self):
        for opt in ("--heartbeat", "--wait"):
            r = self.run_cli(self.fleet(), "status", "web", "--follow", opt, "0")
            self.assertEqual(r.returncode, EXIT["invalid-input"], self.describe(r))
            self.assertIn(opt, r.stderr)

    # ---- the pre-flight's check of the CCN's version, through apply ------------------------

    def test_preflight_ccn_version(self):
        if not os.access(ALEPH_DEVNET, os.X_OK):
            self.skipTest("aleph-devnet is not built (needs libsoup-3.0 and sqlite3)")
        key = os.path.join(self.dir, "ethereum.key")
        if not os.path.exists(key):
            r = subprocess.run([VIRT_ALEPH, "account", "create", "--key-file", key],
                               capture_output=True, text=True, env=self.env)
            self.assertEqual(r.returncode, 0, r.stderr)
        p = subprocess.Popen([VIRT_ALEPH, "devnet", "--state-dir", os.path.join(self.dir, "devnet")],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=self.env)
        try:
            ready = json.loads(p.stdout.readline())
            tag = (f'<aleph:confidential xmlns:aleph="{TAG_NS}">'
                   f'<aleph:publish api="{ready["ccn"]}" crn="auto"/></aleph:confidential>')
            uri = self.node("preflight.xml", domain("pre", 9, tag))
            for name, minimum in (("old", "99.0"), ("ok", "0.5")):
                state = os.path.join(self.dir, "state-" + name)
                os.makedirs(state, mode=0o700, exist_ok=True)
                config = os.path.join(self.dir, name + ".conf")
                with open(config, "w") as f:
                    f.write(f"[pipeline]\nstate-dir={state}\nkey-file={key}\nmin-ccn-version={minimum}\n")
                t0 = time.monotonic()
                r = self.run_cli(uri, "apply", "pre", "--config", config, "--json")
                events = [json.loads(line) for line in r.stdout.splitlines()]
                if name == "old":
                    # refused in seconds, before any build, naming both versions
                    self.assertLess(time.monotonic() - t0, 10)
                    self.assertEqual(r.returncode, EXIT["refused"], self.describe(r))
                    msg = events[-1]["error"]["message"]
                    self.assertIn("min-ccn-version=99.0", msg)
                    self.assertRegex(msg, r"runs version 0\.5\.0\+devnet\.\S+, older than 99\.0")
                    self.assertNotIn("building", [e.get("state") for e in events])
                else:
                    # past the pre-flight: the build starts (and stops: the test domain runs)
                    self.assertIn("building", [e.get("state") for e in events], self.describe(r))
                    with open(os.path.join(state, "domains", "1f0c8a7e-8d55-4d6e-9a53-6b0a1c1d2e09", "log")) as f:
                        self.assertIn("pre-flight: the CCN at", f.read())
        finally:
            p.send_signal(signal.SIGTERM)
            try:
                p.communicate(timeout=60)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


if __name__ == "__main__":
    import sys
    unittest.main(argv=[sys.argv[0]], verbosity=2)
