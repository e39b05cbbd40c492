#!/usr/bin/python3
"""A fleet from one trusted machine: one virt-alephd following two hosts on the devnet.

Run by meson (suite 'slow') as root:  test_fleet.py BUILDDIR
Two private libvirtds at once: host "localhost" ([daemon] connect, its local socket) and host
"b" ([host b], reached over a real qemu+ssh:// connection through a private sshd). A tagged
domain on each reaches "running" on the devnet, the status and list naming its host; the two
domains share one UUID (a clone) and their flows and state stay apart; host b stopped holds up
nothing on the other host, and is followed again once it is back. virt-alephd also follows a
host "c" that accepts connections and never answers (an ssh handshake that never ends): it
holds up nobody either.
"""
import json
import os
import socket
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_aleph_flow as flow  # noqa: E402
from test_integration import BUILD, HARNESS, VIRT_ALEPH, Env, run, tag, wait_for  # noqa: E402
from test_remote import SshHost  # noqa: E402

SHARED_UUID = "6d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6"


class FleetTests(flow.DevnetFlowCase):
    ATTACKS = ["none"]

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env_b = cls.ssh = cls.silent = None
        try:
            cls.set_up_hosts()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def set_up_hosts(cls):
        cls.env_b = Env()
        cls.ssh = SshHost(cls.env_b.dir)
        cls.uri_b = cls.ssh.uri(cls.env_b.uri)
        with open(cls.config) as f:
            conf = f.read()
        # host a is this machine's libvirt ([daemon] connect); host b a remote one, whose
        # passphrases stay in the trusted machine's secret store
        conf = conf.replace("[daemon]\n", f"[daemon]\nconnect={cls.env.uri}\n", 1)
        conf = conf.replace("[pipeline]\n", f"[pipeline]\nsecrets-uri={cls.env.uri}\n", 1)
        conf += f"[host b]\nconnect={cls.uri_b}\n"
        with open(cls.config, "w") as f:
            f.write(conf)
        # the daemon's configuration also names host c, which accepts and never speaks
        cls.silent = socket.socket()
        cls.silent.bind(("127.0.0.1", 0))
        cls.silent.listen(8)
        uri_c = (f"qemu+ssh://root@127.0.0.1:{cls.silent.getsockname()[1]}/system"
                 f"?keyfile={cls.ssh.dir}/id&no_verify=1&no_tty=1")
        cls.daemon_config = os.path.join(cls.env.dir, "virt-alephd-daemon.conf")
        with open(cls.daemon_config, "w") as f:
            f.write(conf + f"[host c]\nconnect={uri_c}\n")

    @classmethod
    def tearDownClass(cls):
        cls.env.stop_daemon()
        for part in (cls.silent, cls.ssh, cls.env_b):
            if part is not None:
                part.close()
        super().tearDownClass()

    def tag(self):
        return flow.AlephFlow.tag(self)

    def start_daemon(self):
        env = self.env
        with open(env.daemon_log, "a") as log:
            env.daemon = subprocess.Popen([flow.VIRT_ALEPHD, "--foreground", "--verbose", "--config",
                                           self.daemon_config], stdout=log, stderr=subprocess.STDOUT)

    def define(self, env, name, uuid=None):
        xml = env.domain_xml(name, self.tag())
        if uuid is not None:
            xml = xml.replace(f"<name>{name}</name>", f"<name>{name}</name><uuid>{uuid}</uuid>", 1)
        path = os.path.join(env.dir, name + ".xml")
        with open(path, "w") as f:
            f.write(xml)
        env.virsh("define", path)

    def fleet(self, *args):
        return run(VIRT_ALEPH, *args, "--config", self.config, "--json", check=False)

    def status(self, name):
        r = self.fleet("status", name)
        return json.loads(r.stdout) if r.returncode == 0 else None

    def wait_running(self, name, timeout=300):
        def done():
            s = self.status(name)
            st = (s or {}).get("status") or {}
            return s if st.get("state") in ("running", "failed") else None
        try:
            s = wait_for(done, timeout, f"{name} to reach running")
        except AssertionError as e:
            raise AssertionError("%s\n--- virt-alephd log ---\n%s" % (e, self.env.daemon_output()[-8000:]))
        self.assertEqual(s["status"]["state"], "running", s)
        return s

    def test_fleet(self):
        env, env_b = self.env, self.env_b
        # host b really is reached through ssh
        self.assertTrue(run("virsh", "-c", self.uri_b, "uri").stdout.strip().startswith("qemu+ssh://"))
        r = run(flow.VIRT_ALEPHD, "--config", self.config, "--check-config")
        self.assertIn("host b: " + self.uri_b, r.stdout)

        # one domain per host, one UUID for both (a clone)
        self.define(env, "alpha", SHARED_UUID)
        self.define(env_b, "beta", SHARED_UUID)
        self.start_daemon()
        alpha = self.wait_running("alpha")
        beta = self.wait_running("beta")
        self.assertEqual(alpha["host"], "localhost")
        self.assertEqual(beta["host"], "b")
        # two flows, two instances, two states: the shared UUID mixed nothing
        self.assertNotEqual(alpha["status"]["instance"], beta["status"]["instance"])
        states = [os.path.join(self.state, "domains", SHARED_UUID, "state.json"),
                  os.path.join(self.state, "hosts", "b", "domains", SHARED_UUID, "state.json")]
        for path, mine, other in ((states[0], alpha, beta), (states[1], beta, alpha)):
            with open(path) as f:
                text = f.read()
            self.assertIn(mine["status"]["instance"], text)
            self.assertNotIn(other["status"]["instance"], text)
        self.assertTrue(beta["status"]["imagePath"].startswith(os.path.join(self.state, "hosts", "b")))
        self.assertFalse(alpha["status"]["imagePath"].startswith(os.path.join(self.state, "hosts")))
        r = run(VIRT_ALEPH, "status", "beta", "--config", self.config)
        self.assertIn("Host:        b (" + self.uri_b, r.stdout)
        # the daemon's log says which host a domain's lines are about (the UUID is on both)
        self.assertRegex(env.daemon_output(), r"host b: domain 'beta': \w+ at step")
        self.assertRegex(env.daemon_output(), r"host localhost: domain 'alpha': \w+ at step")

        # list names each domain's host: a HOST column, a host member
        listed = {(d["host"], d["domain"]): d for d in json.loads(self.fleet("list").stdout)}
        self.assertEqual(set(listed), {("localhost", "alpha"), ("b", "beta")})
        self.assertTrue(all(d["uuid"] == SHARED_UUID for d in listed.values()))
        r = run(VIRT_ALEPH, "list", "--config", self.config)
        self.assertTrue(r.stdout.startswith("HOST"), r.stdout)
        # doctor: one line per host
        checks = self.fleet("doctor", "--no-probe").stdout
        self.assertIn('"host b"', checks)
        self.assertIn('"host localhost"', checks)

        # host b goes down: host a's new domain still gets its flow
        run(HARNESS, "stop-daemon", env_b.dir)
        wait_for(lambda: "host b: lost the connection" in env.daemon_output(), 60, "host b's loss noticed")
        self.define(env, "gamma")
        self.wait_running("gamma")
        self.assertIn("host b: cannot connect", env.daemon_output())
        # list reports host b, naming it, and lists host a
        r = run(VIRT_ALEPH, "list", "--config", self.config, check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("host b: ", r.stderr)
        self.assertIn("gamma", r.stdout)
        checks = self.fleet("doctor", "--no-probe").stdout
        self.assertIn("host b: cannot connect", checks)

        # host b is back: followed again, its domains reconciled
        run(HARNESS, "start", env_b.dir, BUILD)
        wait_for(lambda: env.daemon_output().count("host b: connected to") >= 2, 120, "host b's reconnection")
        env_b.define("delta", tag(body='<aleph:local mode="test"/>'))
        wait_for(lambda: ((self.status("delta") or {}).get("status") or {}).get("state") == "ready",
                 60, "host b's new domain reconciled")
        self.assertEqual(self.status("beta")["status"]["state"], "running")
        self.assertIsNone(env.daemon.poll(), "virt-alephd exited")
        # host c never answered, and held up nobody; it still stops at once
        self.assertNotIn("host c: connected", env.daemon_output())
        env.daemon.terminate()
        env.daemon.wait(15)
        env.daemon = None


if __name__ == "__main__":
    argv = [sys.argv[0]] + sys.argv[2:]
    unittest.main(argv=argv, verbosity=2)
