#!/usr/bin/python3
"""virt-alephd driving a host over qemu+ssh:// — the setup SEV's threat model asks for.

Run by meson (suite 'integration') as root:  test_remote.py BUILDDIR
The "remote host" is the private libvirtd of the other integration tests, reached through a
private sshd on 127.0.0.1 (its own host key, a key pair made for the test), so the service's
connection is a real qemu+ssh:// one. The host has no SEV, so a local SEV launch stops at the
chain; what is checked is what the trusted machine does with a host it does not trust: it needs
the owner's key to sign what it ships, acts only on the tag the owner approved, and never reads
the passphrase from the host.
"""
import json
import os
import socket
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_integration import BUILD, TAG_NS, VIRT_ALEPH, VIRT_ALEPHD, Env, run, stop_process, tag, wait_for  # noqa: E402


class SshHost:
    """A private sshd on 127.0.0.1 that lets a test key in as root."""

    def __init__(self, base):
        self.dir = os.path.join(base, "ssh")
        os.makedirs(self.dir)
        for name in ("hostkey", "id"):
            run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", os.path.join(self.dir, name))
        with open(os.path.join(self.dir, "id.pub")) as src, \
                open(os.path.join(self.dir, "authorized_keys"), "w") as dst:
            dst.write(src.read())
        os.chmod(os.path.join(self.dir, "authorized_keys"), 0o600)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        conf = os.path.join(self.dir, "sshd_config")
        with open(conf, "w") as f:
            f.write(f"""Port {self.port}
ListenAddress 127.0.0.1
HostKey {self.dir}/hostkey
AuthorizedKeysFile {self.dir}/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PidFile {self.dir}/sshd.pid
""")
        os.makedirs("/run/sshd", exist_ok=True)
        with open(os.path.join(self.dir, "sshd.log"), "w") as log:
            self.proc = subprocess.Popen(["/usr/sbin/sshd", "-D", "-e", "-f", conf],
                                         stdout=subprocess.DEVNULL, stderr=log)
        wait_for(lambda: self._listening(), 10, "sshd on port %d" % self.port)

    def _listening(self):
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                return True
        except OSError:
            return False

    def uri(self, local_uri):
        sock = local_uri.split("socket=", 1)[1]
        return (f"qemu+ssh://root@127.0.0.1:{self.port}/system?socket={sock}"
                f"&keyfile={self.dir}/id&no_verify=1&no_tty=1")

    def close(self):
        stop_process(self.proc)


class RemoteHostTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.env = Env()
        cls.ssh = SshHost(cls.env.dir)
        cls.remote = cls.ssh.uri(cls.env.uri)
        cls.state = os.path.join(cls.env.dir, "trusted-state")
        cls.key = os.path.join(cls.env.dir, "owner.key")
        cls.conf = os.path.join(cls.env.dir, "virt-alephd.conf")
        cls.log = os.path.join(cls.env.dir, "remote-daemon.log")
        cls.daemon = None

    @classmethod
    def tearDownClass(cls):
        cls.stop_daemon()
        cls.ssh.close()
        cls.env.close()

    @classmethod
    def write_conf(cls, key):
        with open(cls.conf, "w") as f:
            f.write(f"""[daemon]
connect={cls.remote}
monitor-interval=3600
[pipeline]
state-dir={cls.state}
key-file={key}
secrets-uri={cls.env.uri}
""")

    @classmethod
    def start_daemon(cls):
        with open(cls.log, "a") as log:
            cls.daemon = subprocess.Popen([VIRT_ALEPHD, "--foreground", "--verbose", "--config", cls.conf],
                                          stdout=log, stderr=subprocess.STDOUT)

    @classmethod
    def stop_daemon(cls):
        if cls.daemon is not None:
            stop_process(cls.daemon)
            cls.daemon = None

    def output(self):
        with open(self.log) as f:
            return f.read()

    def remote_aleph(self, *args):
        return run(VIRT_ALEPH, "-c", self.remote, *args, check=False)

    def status(self, name):
        r = self.remote_aleph("status", name, "--json")
        return json.loads(r.stdout).get("status") if r.returncode == 0 else None

    def test_remote_host(self):
        try:
            self.check_remote_host()
        except AssertionError as e:
            raise AssertionError("%s\n--- virt-alephd log ---\n%s" % (e, self.output()))

    def check_remote_host(self):
        env = self.env
        # the connection really goes through ssh
        r = run("virsh", "-c", self.remote, "uri")
        self.assertTrue(r.stdout.strip().startswith("qemu+ssh://"), r.stdout)

        # without the owner's key nothing could sign what goes to the host's hook: refused
        self.write_conf(self.key)
        self.start_daemon()
        rc = self.daemon.wait(30)
        self.__class__.daemon = None
        self.assertEqual(rc, 10, self.output())  # not-found
        self.assertIn("no owner key at " + self.key, self.output())

        r = run(VIRT_ALEPH, "account", "create", "--key-file", self.key, check=False)
        self.assertEqual(r.returncode, 0, r.stderr)

        # a domain of the host, tagged for a local SEV launch; its disk already has its
        # passphrase in the trusted machine's secret store, so there is nothing to build
        env.define("far", tag(body='<aleph:sev policy="0x1"/><aleph:local mode="sev"/>'))
        disk = os.path.join(env.dir, "far.img")
        secret = os.path.join(env.dir, "far-secret.xml")
        with open(secret, "w") as f:
            f.write("<secret ephemeral='no' private='yes'><uuid>5f0c6c7e-2b1a-4f7e-9d3c-0e6a1b2c3d4e</uuid>"
                    f"<usage type='volume'><volume>{disk}</volume></usage></secret>")
        env.virsh("secret-define", secret)
        env.virsh("secret-set-value", "5f0c6c7e-2b1a-4f7e-9d3c-0e6a1b2c3d4e", "--base64", "Y29ycmVjdCBob3JzZQ==")
        uuid_dom = env.virsh("domuuid", "far").stdout.strip()

        self.start_daemon()
        # the host has no SEV: the launch stops at the chain, and says so
        st = wait_for(lambda: (s := self.status("far")) and s["state"] == "failed" and s, 60,
                      "the failure on a host without SEV")
        self.assertEqual(st["errorStep"], "prepare")
        self.assertNotIn("approved", st["error"])
        # the tag it acted on is pinned on the trusted machine
        pin = os.path.join(self.state, "localsev", uuid_dom, "tag.xml")
        wait_for(lambda: os.path.exists(pin), 10, "the pinned tag")
        with open(pin) as f:
            self.assertIn('policy="0x1"', f.read())
        self.assertIn("seen for the first time", self.output())

        # the host lowers the policy (0x0 lets it debug the guest): refused, naming the change
        env.virsh("metadata", "far", TAG_NS, "--key", "aleph", "--config", "--set",
                  '<confidential><sev policy="0x0"/><local mode="sev"/></confidential>')
        st = wait_for(lambda: (s := self.status("far")) and "approved" in (s.get("error") or "") and s,
                      60, "the refusal of the changed tag")
        self.assertEqual(st["errorCode"], "refused")
        self.assertIn("policy 0x1 → 0x0", st["error"])
        self.assertIn("virt-aleph tag far --approve", st["error"])

        # the owner approves it on the trusted machine: the pin follows, the flow goes on
        r = self.remote_aleph("tag", "far", "--approve", "--config", self.conf, "--json")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(json.loads(r.stdout)["approved"], True)
        with open(pin) as f:
            self.assertIn('policy="0x0"', f.read())
        st = wait_for(lambda: (s := self.status("far")) and s["state"] == "failed"
                      and "approved" not in s["error"] and s, 60, "the flow going on after the approval")
        self.assertEqual(st["errorStep"], "prepare")
        self.assertIsNone(self.daemon.poll(), "virt-alephd exited")

        # doctor says what the host's hook needs: the owner's address in its [hook] owners
        r = self.remote_aleph("doctor", "--no-probe", "--config", self.conf, "--json")
        doc = json.loads(r.stdout)
        checks = doc if isinstance(doc, list) else doc["checks"]
        hook = [c for c in checks if c["check"] == "hook-config"][0]
        address = run(VIRT_ALEPH, "account", "show", "--key-file", self.key).stdout.strip()
        self.assertIn("owners=" + address, hook["detail"])

        # undefined on the host: what the trusted machine kept for it goes
        env.virsh("undefine", "far")
        wait_for(lambda: not os.path.exists(os.path.dirname(pin)), 30, "its records removed")

        # the passphrase never came from (or went to) anything but the local secret store
        self.assertNotIn("correct horse", self.output())


if __name__ == "__main__":
    argv = [sys.argv[0]] + sys.argv[2:]
    unittest.main(argv=argv, verbosity=2)
