#!/usr/bin/python3
"""docs/migrating-from-aleph-client.md: every virt-aleph command its tables map an aleph-client
option to is run here, or shown to be run by the test that needs a network for it.

- `virt-aleph tag DOMAIN OPTIONS`: on libvirt's test driver with --dry-run; the element each
  option produces is checked (OPTION_ATTRS: an option of the doc missing there fails)
- the key rows (account show|create|import, --key-file, --password-file, ALEPH_PRIVATE_KEY_FILE,
  default.key): run with a private HOME and the keystores of tests/data/aleph/keystore
- list and status: run on the test driver
- apply, attest, console, delete, stop, reboot, message status: every option the doc gives is
  one the command's --help lists, and the test that runs the command against the devnet (or a
  server) does run it with those options (NETWORK)
A row whose command none of these handles fails the test.

Run by meson (suite 'cli'):  test_migration_doc.py BUILDDIR
"""
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import unittest

from clitest import SRC, VIRT_ALEPH  # noqa: E402

DOC = os.path.join(SRC, "docs", "migrating-from-aleph-client.md")
KEYSTORES = os.path.join(SRC, "tests", "data", "aleph", "keystore")
HASH = "2c3d" + "0" * 56 + "beef"
HEX = "ab" * 32
SSH = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMigrationDocTestKey me@laptop"
# what each tag option of the doc must put in the element (after the placeholders are filled)
OPTION_ATTRS = {
    "--publish": ["<aleph:publish"],
    "--name": ['name="web-1"'],
    "--rootfs-size": ['rootfsSize="20GiB"'],
    "--vcpus": ['vcpus="2"'],
    "--memory": ['memory="4GiB"'],
    "--ssh-key-file": [f'sshKey="{SSH}"'],
    "--crn": [f'crn="{HASH}"'],
    "--payment": ['payment="credit"'],
    "--firmware-ref": [f'ref="{HASH}"'],
    "--firmware-sha256": [f'sha256="{HEX}"'],
    "--firmware-file": ['file="/'],
    "--policy": ['policy="0x1"'],
    "--rootfs": [f'rootfs="{HASH}"'],
    "--passphrase-file": ["<aleph:publish"],
}
# commands that need a network: the test that runs them, and the words it must call them with
NETWORK = {
    "apply": ("tests/cli/test_cli_list.py", ['"apply"']),
    "attest": ("tests/integration/test_aleph_flow.py", ['"attest"']),
    "console": ("tests/integration/test_aleph_flow.py", ['"console"', '"--follow"']),
    "delete": ("tests/integration/test_aleph_flow.py", ['"delete"', '"--reason"', '"--image"']),
    "stop": ("tests/integration/test_aleph_flow.py", ['"stop"']),
    "reboot": ("tests/integration/test_aleph_flow.py", ['"reboot"']),
    "message": ("tests/aleph/test-aleph-http.c", ['"message", "status"']),
    "adopt": ("tests/integration/test_adopt.py", ['"adopt"', '"--passphrase-file"']),
}


def doc_commands():
    """(row text, virt-aleph command) for every table row's second cell."""
    out = []
    with open(DOC) as f:
        for line in f:
            if not line.startswith("|") or line.startswith("|---"):
                continue
            cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
            if len(cells) < 2 or cells[0] == "aleph-client":
                continue
            for cmd in re.findall(r"`([^`]*virt-aleph [^`]*)`", cells[1]):
                out.append((line.strip(), cmd))
    return out


class MigrationDocTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="ac-migration-doc-")
        os.chmod(self.dir, 0o700)
        self.env = dict(os.environ, HOME=self.dir)
        for v in ("XDG_DATA_HOME", "ALEPH_PRIVATE_KEY_FILE", "VIRT_ALEPH_DEFAULT_URI", "LIBVIRT_DEFAULT_URI"):
            self.env.pop(v, None)
        self.keys = os.path.join(self.dir, ".aleph-im", "private-keys")
        os.makedirs(self.keys)
        self.pub = os.path.join(self.dir, "id_ed25519.pub")
        with open(self.pub, "w") as f:
            f.write(SSH + "\n")
        self.firmware = os.path.join(self.dir, "OVMF.fd")
        open(self.firmware, "wb").close()

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def run_cli(self, args, env=None, stdin=None):
        return subprocess.run([VIRT_ALEPH] + args, capture_output=True, text=True, timeout=60,
                              env=env or self.env, input=stdin)

    def fill(self, words, path):
        return [{"DOMAIN": "test", "HASH": HASH, "HEX": HEX, "NAME": "web-1", "TEXT": "moving",
                 "PATH": path}.get(w, w) for w in words]

    def check_tag(self, words):
        options = [w for w in words if w.startswith("--")]
        args = self.fill(words[2:], self.firmware if "--firmware-file" in options else self.pub)
        r = self.run_cli(["-c", "test:///default", "tag"] + args + ["--dry-run"])
        self.assertEqual(r.returncode, 0, f"{words}: {r.stderr}")
        for opt in options:
            self.assertIn(opt, OPTION_ATTRS, f"the doc maps to tag {opt}: add what it must produce")
            for want in OPTION_ATTRS[opt]:
                self.assertIn(want, r.stdout, f"{words}")

    def make_key(self, path):
        if os.path.lexists(path):
            os.unlink(path)
        r = self.run_cli(["account", "create", "--key-file", path])
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout.strip()

    def check_account(self, words, env_assign):
        env = dict(self.env)
        want = None
        args = words[1:]
        if "--password-file" in args:
            ks = os.path.join(self.dir, "keystore.json")
            shutil.copyfile(os.path.join(KEYSTORES, "pbkdf2.json"), ks)
            os.chmod(ks, 0o600)
            args = [{"PASSWORD": os.path.join(KEYSTORES, "password"), "KEYSTORE.json": ks}.get(a, a)
                    for a in args]
            with open(os.path.join(KEYSTORES, "address")) as f:
                want = f.read().strip()
        elif "--key-file" in args:
            path = os.path.join(self.dir, "named.key")
            want = self.make_key(path)
            args = [path if a == "PATH" else a for a in args]
        elif env_assign:
            path = os.path.join(self.dir, "env.key")
            want = self.make_key(path)
            env["ALEPH_PRIVATE_KEY_FILE"] = path
        elif args == ["account", "show"]:
            chosen = os.path.join(self.keys, "chosen.key")
            want = self.make_key(chosen)
            link = os.path.join(self.keys, "default.key")
            if os.path.lexists(link):
                os.unlink(link)
            os.symlink(chosen, link)
        elif args == ["account", "create"]:
            for name in ("default.key", "ethereum.key"):
                if os.path.lexists(os.path.join(self.keys, name)):
                    os.unlink(os.path.join(self.keys, name))
            r = self.run_cli(args, env=env)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertTrue(os.path.exists(os.path.join(self.keys, "ethereum.key")))
            return
        elif args == ["account", "import", "-"]:
            for name in ("default.key", "ethereum.key"):
                if os.path.lexists(os.path.join(self.keys, name)):
                    os.unlink(os.path.join(self.keys, name))
            r = self.run_cli(args, env=env, stdin="11" * 32 + "\n")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(os.path.getsize(os.path.join(self.keys, "ethereum.key")), 32)
            return
        else:
            self.fail(f"no way to run {words} here")
        r = self.run_cli(args, env=env)
        self.assertEqual((r.returncode, r.stdout.strip()), (0, want), f"{words}: {r.stderr}")

    def check_network(self, words):
        cmd = next(w for w in words[1:] if not w.startswith("-"))
        self.assertIn(cmd, NETWORK, f"{words}: no test named for it")
        path, needles = NETWORK[cmd]
        sub = words[words.index(cmd):]
        help_args = [cmd, "status"] if cmd == "message" else [cmd]
        r = self.run_cli(help_args + ["--help"])
        self.assertEqual(r.returncode, 0, r.stderr)
        for opt in (w for w in sub if w.startswith("--")):
            self.assertRegex(r.stdout, r"\s" + re.escape(opt) + r"\b", f"{words}: {opt} unknown")
        with open(os.path.join(SRC, path)) as f:
            text = f.read()
        for needle in needles:
            self.assertIn(needle, text, f"{path} does not run {cmd} with {needle}")
        for opt in (w for w in sub if w.startswith("--")):
            self.assertIn(f'"{opt}"', text, f"{path} does not run {cmd} {opt}")

    def test_every_mapped_command(self):
        rows = doc_commands()
        self.assertGreater(len(rows), 30, rows)
        seen_options = set()
        for row, cmd in rows:
            with self.subTest(cmd):
                words = shlex.split(cmd)
                env_assign = False
                while "=" in words[0] and not words[0].startswith("-"):
                    env_assign = True
                    words = words[1:]
                self.assertEqual(words[0], "virt-aleph", row)
                globals_ = [w for w in words[1:] if w in ("--json", "--debug", "--quiet")]
                rest = [w for w in words if w not in globals_]
                verb = next((w for w in rest[1:] if not w.startswith("-")), None)
                if "--password-file" in rest:
                    i = rest.index("--password-file")
                    verb = next(w for w in rest[i + 2:] if not w.startswith("-"))
                if verb == "tag":
                    self.check_tag(rest)
                    seen_options.update(w for w in rest if w.startswith("--"))
                elif verb == "account":
                    self.check_account(rest, env_assign)
                elif verb in ("list", "status"):
                    r = self.run_cli(["-c", "test:///default"] + globals_ + self.fill(rest[1:], ""))
                    self.assertEqual(r.returncode, 0, f"{cmd}: {r.stderr}")
                    if "--json" in globals_:
                        self.assertTrue(r.stdout.lstrip().startswith("{"), r.stdout)
                else:
                    self.check_network(rest)
        # every tag option the doc names was run
        self.assertEqual(seen_options, set(OPTION_ATTRS), "OPTION_ATTRS has options the doc no longer maps")

    def test_version_is_named(self):
        with open(DOC) as f:
            text = f.read()
        self.assertRegex(text, r"aleph-client 1\.x")
        for flag in ("--confidential", "--rootfs-size", "--memory", "--vcpus", "--ssh-pubkey-file",
                     "--crn-hash", "--crn-url", "--payment-type", "--payment-chain", "--private-key",
                     "--private-key-file", "--channel", "--confidential-firmware", "--firmware-hash",
                     "--firmware-file", "--timeout-seconds", "--name", "--rootfs", "--policy",
                     "--keep-session", "--vm-secret", "confidential-init-session", "confidential-start",
                     "aleph instance list", "aleph instance logs", "aleph instance delete"):
            self.assertIn(f"`{flag}" if flag.startswith("--") else flag, text, flag)


if __name__ == "__main__":
    if not os.access(VIRT_ALEPH, os.X_OK):
        print(f"{VIRT_ALEPH} is not built", file=sys.stderr)
        sys.exit(1)
    unittest.main(argv=[sys.argv[0], "-v"] + sys.argv[2:])
