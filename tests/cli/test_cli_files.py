#!/usr/bin/python3
"""virt-aleph and the files it is given (lib/ac-file.c).

Outputs (ipfs car OUT, message build|sign -o, sev secret build --header-out/--payload-out):
written to an exclusive temporary file beside OUT and renamed over it, so a symlink planted
at the old OUT.tmp name is never followed; a FIFO or directory OUT is refused, an existing
regular OUT is replaced only with --force, a character device (a null device) is written in place
and stays a device, - is standard output.

Inputs (message files, SEV chains and certificates, keys, secrets, files to add): regular
files only, opened without blocking, read with a bound: /dev/zero and a FIFO fail at once
with an error naming the file and "not a regular file", a file above the limit is refused.

Run by meson (suite 'cli'):  test_cli_files.py BUILDDIR
"""
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import unittest

from clitest import BUILD, EXIT, HERE, SRC, VIRT_ALEPH  # noqa: E402,F401
DATA = os.path.join(SRC, "tests", "data")
SEV = os.path.join(DATA, "sev")


def launch_args(tik=None):
    """The launch `sev secret build` verifies before it seals: the one virt-qemu-sev-validate
    verified and answered (sev/secret/vectors.json "libvirt-luks-key")."""
    m = os.path.join(SEV, "measurement")
    return ["--measurement", "oMDewIouJSpbpNRHj7Mk3p08H2dPZQdsZMU14qIymBnDE/q1EcIWsVBbGy6pkDxA",
            "--api-major", "1", "--api-minor", "40", "--build-id", "40", "--policy", "3",
            "--firmware", os.path.join(m, "sevctl_OVMF.amdsev.fd_trimmed.bin"),
            "--tik", tik or os.path.join(m, "sevctl_tik1.bin")]
CONTENT = os.path.join(DATA, "aleph", "content", "instance-worked.json")
TIMEOUT = 20  # a FIFO that blocks open() would hang forever: the test fails instead



class FilesTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="ac-cli-files-")
        self.env = dict(os.environ)
        self.env["HOME"] = self.dir
        self.env.pop("G_MESSAGES_DEBUG", None)
        self.key = os.path.join(self.dir, "ethereum.key")
        self.fifo = os.path.join(self.dir, "fifo")
        os.mkfifo(self.fifo)
        self.input = self.path("input.bin")
        with open(self.input, "wb") as f:
            f.write(b"some bytes to add\n" * 100)

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def path(self, name):
        return os.path.join(self.dir, name)

    def run_cli(self, *args, binary=False):
        return subprocess.run([VIRT_ALEPH] + [str(a) for a in args], capture_output=True,
                              env=self.env, timeout=TIMEOUT, cwd=self.dir, text=not binary)

    def describe(self, r):
        return f"{r.args[1:]}: exit {r.returncode}\nstdout: {r.stdout!r:.400}\nstderr: {r.stderr!r:.2000}"

    def ok(self, *args, **kw):
        r = self.run_cli(*args, **kw)
        self.assertEqual(r.returncode, 0, self.describe(r))
        return r

    def fails(self, cls, *args, **kw):
        r = self.run_cli(*args, **kw)
        self.assertEqual(r.returncode, EXIT[cls], self.describe(r))
        return r

    def leftovers(self):
        """temporary files left in the folder"""
        return [n for n in os.listdir(self.dir) if n.startswith(".") or n.endswith(".tmp")]

    def passphrase(self):
        """a one-line passphrase file"""
        path = self.path("pass.txt")
        with open(path, "w") as f:
            f.write("MY-LUKS-PASSPHRASE\n")
        os.chmod(path, 0o600)
        return path

    def account(self):
        if not os.path.exists(self.key):
            self.ok("account", "create", "--key-file", self.key)
        return self.key


class TestOutputs(FilesTest):
    """Every command that writes an output file, through one table of writers."""

    def writers(self):
        """(name, argv building OUT, whether --force exists)"""
        s = os.path.join(SEV, "secret")
        key = self.account()
        secret = ["sev", "secret", "build", *launch_args(), "--tek", os.path.join(s, "sevctl_tek1.bin"),
                  "--passphrase-file", self.passphrase()]
        return [
            ("ipfs car", lambda out: ["ipfs", "car", self.input, out]),
            ("message build", lambda out: ["message", "build", "INSTANCE", CONTENT,
                                           "--key-file", key, "--time", "1700000000", "-o", out]),
            ("sev secret build --header-out", lambda out: secret + ["--header-out", out]),
            ("sev secret build --payload-out", lambda out: secret + ["--payload-out", out]),
        ]

    def test_planted_symlink_not_followed(self):
        for name, argv in self.writers():
            with self.subTest(name):
                out = self.path("out-" + name.replace(" ", "_"))
                victim = self.path("victim")
                os.symlink(victim, out + ".tmp")
                self.ok(*argv(out))
                self.assertFalse(os.path.lexists(victim), f"{name} followed {out}.tmp")
                self.assertTrue(os.path.islink(out + ".tmp"))
                st = os.lstat(out)
                self.assertTrue(stat.S_ISREG(st.st_mode))
                self.assertGreater(st.st_size, 0)
                os.unlink(out + ".tmp")
                self.assertEqual(self.leftovers(), [])

    def test_fifo_and_directory_refused(self):
        d = self.path("a-dir")
        os.mkdir(d)
        for name, argv in self.writers():
            for dest in (self.fifo, d):
                with self.subTest(name, dest=dest):
                    r = self.fails("invalid-input", *argv(dest))
                    self.assertIn("not a regular file", r.stderr)
                    self.assertIn(os.path.basename(dest), r.stderr)
                    self.assertTrue(stat.S_ISFIFO(os.lstat(self.fifo).st_mode))
                    self.assertTrue(os.path.isdir(d))
                    self.assertEqual(self.leftovers(), [])

    def test_existing_needs_force(self):
        for name, argv in self.writers():
            with self.subTest(name):
                out = self.path("existing")
                with open(out, "w") as f:
                    f.write("keep me")
                r = self.fails("exists", *argv(out))
                self.assertIn("--force", r.stderr)
                with open(out) as f:
                    self.assertEqual(f.read(), "keep me")
                self.ok(*argv(out), "--force")
                with open(out, "rb") as f:
                    self.assertNotEqual(f.read(), b"keep me")
                self.assertEqual(self.leftovers(), [])
                os.unlink(out)

    def null_device(self):
        """A character device to write to. As root, never the system's /dev/null: a build with
        the bug would replace it with a regular file; a null device made in the temp dir."""
        if os.geteuid() != 0:
            return "/dev/null"  # /dev is not ours to replace
        dev = self.path("null")
        try:
            os.mknod(dev, stat.S_IFCHR | 0o666, os.makedev(1, 3))
        except OSError as e:
            self.skipTest(f"cannot make a character device as root: {e}")
        return dev

    def test_character_device_written_in_place(self):
        dev = self.null_device()
        for name, argv in self.writers():
            with self.subTest(name):
                self.ok(*argv(dev))
                self.assertTrue(stat.S_ISCHR(os.lstat(dev).st_mode), f"{name} replaced {dev}")

    def test_dash_is_stdout(self):
        r = self.ok("ipfs", "car", self.input, "-", binary=True)
        cid = self.ok("ipfs", "cid", self.input).stdout.split()[1]
        self.assertTrue(r.stdout.startswith(b"\x38\xa2eroots"), r.stdout[:16])
        self.assertIn(cid, r.stderr.decode())
        self.ok("ipfs", "car", self.input, self.path("a.car"))
        with open(self.path("a.car"), "rb") as f:
            self.assertEqual(f.read(), r.stdout)
        for dash in ("-", "/dev/stdout"):  # /dev/stdout is a pipe here: not refused as a FIFO
            r = self.ok("message", "build", "INSTANCE", CONTENT, "--key-file", self.account(),
                        "-o", dash)
            self.assertEqual(json.loads(r.stdout)["type"], "INSTANCE")


class TestInputs(FilesTest):
    """Every kind of file input refuses devices and FIFOs at once, and oversized files."""

    def readers(self):
        """(name, argv reading FILE)"""
        s = os.path.join(SEV, "secret")
        key = self.account()
        secret = ["sev", "secret", "build", *launch_args(), "--tek", os.path.join(s, "sevctl_tek1.bin")]
        chain = os.path.join(SEV, "real-chains/rome/chain_sev.bin")
        return [
            ("message verify", lambda f: ["message", "verify", f]),
            ("message sign", lambda f: ["message", "sign", f, "--key-file", key]),
            ("message build", lambda f: ["message", "build", "INSTANCE", f, "--key-file", key]),
            ("account import", lambda f: ["account", "import", "--key-file", self.path("k2"), f]),
            ("sev verify-chain", lambda f: ["sev", "verify-chain", f]),
            ("sev verify-chain --ca", lambda f: ["sev", "verify-chain", "--ca", f, chain]),
            ("sev session", lambda f: ["sev", "session", f, "3", "--no-verify", "--dir", self.path("s")]),
            ("sev secret build --passphrase-file", lambda f: secret + ["--passphrase-file", f]),
            ("sev secret build --tik", lambda f: ["sev", "secret", "build", *launch_args(tik=f),
                                                 "--tek", os.path.join(s, "sevctl_tek1.bin"),
                                                 "--passphrase-file", self.passphrase()]),
            ("validate", lambda f: ["validate", f]),
            ("ipfs cid", lambda f: ["ipfs", "cid", f]),
            ("ipfs car", lambda f: ["ipfs", "car", f, self.path("x.car")]),
        ]

    def test_dev_zero_and_fifo_fail_fast(self):
        for name, argv in self.readers():
            for special in ("/dev/zero", self.fifo):
                with self.subTest(name, file=special):
                    r = self.fails("invalid-input", *argv(special))
                    self.assertIn(special if special == "/dev/zero" else "fifo", r.stderr)
                    self.assertIn("not a regular file", r.stderr)

    def test_oversized_refused(self):
        big = self.path("big")
        with open(big, "wb") as f:
            f.truncate(64 * 1024 * 1024 + 1)  # sparse: above every in-memory limit
        os.chmod(big, 0o600)  # it stands for a passphrase file too
        for name, argv in self.readers():
            if name.startswith("ipfs"):
                continue  # streamed, no limit
            with self.subTest(name):
                r = self.fails("invalid-input", *argv(big))
                self.assertIn("too large", r.stderr)
                self.assertIn("big", r.stderr)

    def test_stdin_bounded(self):
        r = subprocess.run([VIRT_ALEPH, "message", "verify", "-"], input=b" " * (17 << 20),
                           capture_output=True, env=self.env, timeout=TIMEOUT)
        self.assertEqual(r.returncode, EXIT["invalid-input"], r.stderr)
        self.assertIn(b"too large", r.stderr)


if __name__ == "__main__":
    if not os.access(VIRT_ALEPH, os.X_OK):
        print(f"{VIRT_ALEPH} is not built", file=sys.stderr)
        sys.exit(1)
    unittest.main(argv=[sys.argv[0], "-v"] + sys.argv[2:])
