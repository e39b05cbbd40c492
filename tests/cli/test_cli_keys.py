#!/usr/bin/python3
"""The keys aleph-client users have (plugin/aleph/ac-eth-account.c, ac-eth-keystore.c).

- the default key: $ALEPH_PRIVATE_KEY_FILE, else ~/.aleph-im/private-keys/default.key (the
  SDK's link to the chosen key) when it exists, else .../ethereum.key; --key-file wins
- Ethereum V3 JSON keystores (ethers v5 and v6 scrypt, pbkdf2; tests/data/aleph/keystore):
  the password from --password-file (before or after the command) or asked on the terminal
  without echo; a wrong password is a `mismatch` naming the file; no terminal and no
  --password-file is an error saying what to give; the password never reaches the output
- a keystore whose address is not its key's, an unknown KDF, scrypt beyond the bounds: refused
  before any key derivation, naming the field

Run by meson (suite 'cli'):  test_cli_keys.py BUILDDIR
"""
import json
import os
import pty
import select
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

from clitest import BUILD, EXIT, SRC, VIRT_ALEPH  # noqa: E402,F401

KEYSTORES = os.path.join(SRC, "tests", "data", "aleph", "keystore")
TIMEOUT = 60


def read(path):
    with open(path) as f:
        return f.read()


class KeysTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="ac-cli-keys-")
        os.chmod(self.dir, 0o700)
        self.env = dict(os.environ)
        self.env["HOME"] = self.dir
        self.env.pop("XDG_DATA_HOME", None)
        self.env.pop("ALEPH_PRIVATE_KEY_FILE", None)
        self.keys = os.path.join(self.dir, ".aleph-im", "private-keys")
        os.makedirs(self.keys)
        self.address = read(os.path.join(KEYSTORES, "address")).strip()
        self.password = read(os.path.join(KEYSTORES, "password")).rstrip("\n")
        self.pwfile = self.copy("password")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def copy(self, name, dest=None):
        dest = dest or os.path.join(self.dir, name)
        shutil.copyfile(os.path.join(KEYSTORES, name), dest)
        os.chmod(dest, 0o600)
        return dest

    def run_cli(self, *args, env=None):
        return subprocess.run([VIRT_ALEPH] + list(args), capture_output=True, text=True,
                              env=env or self.env, timeout=TIMEOUT, stdin=subprocess.DEVNULL)

    def create(self, path):
        r = self.run_cli("account", "create", "--key-file", path)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout.strip()

    def show(self, *args, env=None):
        return self.run_cli("account", "show", *args, env=env)

    # ---- where the key is ----

    def test_default_is_ethereum_key(self):
        addr = self.create(os.path.join(self.keys, "ethereum.key"))
        r = self.show()
        self.assertEqual((r.returncode, r.stdout.strip()), (0, addr), r.stderr)

    def test_default_key_link_is_preferred(self):
        self.create(os.path.join(self.keys, "ethereum.key"))
        chosen = self.create(os.path.join(self.keys, "work.key"))
        os.symlink(os.path.join(self.keys, "work.key"), os.path.join(self.keys, "default.key"))
        r = self.run_cli("--json", "account", "show")
        self.assertEqual(r.returncode, 0, r.stderr)
        doc = json.loads(r.stdout)
        self.assertEqual(doc["address"], chosen)
        self.assertEqual(doc["key_file"], os.path.join(self.keys, "default.key"))

    def test_dangling_default_key_is_named(self):
        self.create(os.path.join(self.keys, "ethereum.key"))
        os.symlink(os.path.join(self.keys, "gone.key"), os.path.join(self.keys, "default.key"))
        r = self.show()
        self.assertEqual(r.returncode, EXIT["not-found"], r.stderr)
        self.assertIn("default.key", r.stderr)

    def test_environment_variable(self):
        self.create(os.path.join(self.keys, "ethereum.key"))
        other = self.create(os.path.join(self.dir, "elsewhere.key"))
        env = dict(self.env, ALEPH_PRIVATE_KEY_FILE=os.path.join(self.dir, "elsewhere.key"))
        r = self.show(env=env)
        self.assertEqual((r.returncode, r.stdout.strip()), (0, other), r.stderr)
        # --key-file wins over the variable
        first = self.show("--key-file", os.path.join(self.keys, "ethereum.key"), env=env)
        self.assertNotEqual(first.stdout.strip(), other)
        self.assertEqual(first.returncode, 0, first.stderr)

    def test_keystore_as_default_key(self):
        self.copy("pbkdf2.json", os.path.join(self.keys, "me.json"))
        os.symlink("me.json", os.path.join(self.keys, "default.key"))
        r = self.run_cli("--password-file", self.pwfile, "account", "show")
        self.assertEqual((r.returncode, r.stdout.strip()), (0, self.address), r.stderr)

    # ---- keystores ----

    def test_keystores_of_ethers(self):
        for name in ("ethers5-scrypt.json", "ethers6-scrypt.json", "pbkdf2.json"):
            with self.subTest(name):
                ks = self.copy(name)
                # --password-file after the command and before it
                for args in (("account", "show", "--key-file", ks, "--password-file", self.pwfile),
                             ("--password-file", self.pwfile, "account", "show", "--key-file", ks)):
                    r = self.run_cli(*args)
                    self.assertEqual((r.returncode, r.stdout.strip()), (0, self.address), r.stderr)
                    self.assertNotIn(self.password, r.stdout + r.stderr)

    def test_password_file_crlf(self):
        ks = self.copy("pbkdf2.json")
        pw = os.path.join(self.dir, "crlf")
        with open(pw, "w") as f:
            f.write(self.password + "\r\nsecond line\n")
        r = self.show("--key-file", ks, "--password-file", pw)
        self.assertEqual((r.returncode, r.stdout.strip()), (0, self.address), r.stderr)

    def test_wrong_password(self):
        ks = self.copy("ethers5-scrypt.json")
        pw = os.path.join(self.dir, "wrong")
        with open(pw, "w") as f:
            f.write("Tr0ub4dor&3\n")
        r = self.show("--key-file", ks, "--password-file", pw)
        self.assertEqual(r.returncode, EXIT["mismatch"], r.stderr)
        self.assertIn("wrong password", r.stderr)
        self.assertIn(ks, r.stderr)
        self.assertNotIn("Tr0ub4dor", r.stdout + r.stderr)

    def test_empty_password_file(self):
        ks = self.copy("pbkdf2.json")
        pw = os.path.join(self.dir, "empty")
        open(pw, "w").close()
        r = self.show("--key-file", ks, "--password-file", pw)
        self.assertEqual(r.returncode, EXIT["invalid-input"], r.stderr)
        self.assertIn("empty", r.stderr)

    def test_no_terminal(self):
        ks = self.copy("pbkdf2.json")
        # a new session: no controlling terminal, /dev/tty cannot be opened
        r = subprocess.run([VIRT_ALEPH, "account", "show", "--key-file", ks], capture_output=True,
                           text=True, env=self.env, timeout=TIMEOUT, stdin=subprocess.DEVNULL,
                           start_new_session=True)
        self.assertEqual(r.returncode, EXIT["invalid-input"], r.stderr)
        self.assertIn("no terminal", r.stderr)
        self.assertIn("--password-file", r.stderr)
        self.assertIn(ks, r.stderr)

    def terminal(self, ks, typed):
        """virt-aleph account show on a pseudo-terminal, @typed once it asks."""
        pid, fd = pty.fork()
        if pid == 0:
            os.execve(VIRT_ALEPH, [VIRT_ALEPH, "account", "show", "--key-file", ks], self.env)
        out = b""
        sent = False
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 0.5)
            if not ready:
                continue
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
            if not sent and b"Password of keystore" in out:
                os.write(fd, typed.encode() + b"\n")
                sent = True
        else:
            os.kill(pid, 9)
        _, status = os.waitpid(pid, 0)
        os.close(fd)
        return os.waitstatus_to_exitcode(status), out.decode(errors="replace")

    def test_terminal_prompt(self):
        ks = self.copy("ethers5-scrypt.json")
        rc, out = self.terminal(ks, self.password)
        self.assertEqual(rc, 0, out)
        self.assertIn("Password of keystore " + ks, out)
        self.assertIn(self.address, out)
        # not echoed
        self.assertNotIn(self.password, out)
        rc, out = self.terminal(ks, "not it")
        self.assertEqual(rc, EXIT["mismatch"], out)
        self.assertIn("wrong password", out)
        self.assertNotIn("not it", out)

    def edited(self, name, change):
        doc = json.loads(read(os.path.join(KEYSTORES, name)))
        change(doc)
        path = os.path.join(self.dir, "edited.json")
        with open(path, "w") as f:
            json.dump(doc, f)
        os.chmod(path, 0o600)
        return path

    def test_refused_keystores(self):
        def crypto(doc):
            return doc.get("crypto") or doc["Crypto"]
        cases = [
            ("address", lambda d: d.update(address="00" * 20), EXIT["mismatch"], "the file says address"),
            ("kdf", lambda d: crypto(d).update(kdf="argon2"), EXIT["invalid-input"], "crypto.kdf"),
            ("cipher", lambda d: crypto(d).update(cipher="aes-128-cbc"), EXIT["invalid-input"], "crypto.cipher"),
            ("n", lambda d: crypto(d)["kdfparams"].update(n=1000), EXIT["invalid-input"], "power of 2"),
            ("memory", lambda d: crypto(d)["kdfparams"].update(n=1 << 24), EXIT["invalid-input"], "memory"),
            ("work", lambda d: crypto(d)["kdfparams"].update(p=16, n=1 << 20), EXIT["invalid-input"], "work"),
            ("dklen", lambda d: crypto(d)["kdfparams"].update(dklen=16), EXIT["invalid-input"], "dklen"),
            ("no r", lambda d: crypto(d)["kdfparams"].pop("r"), EXIT["invalid-input"],
             "field 'crypto.kdfparams.r': missing: an integer from 1 to 64 is required"),
            ("iv", lambda d: crypto(d)["cipherparams"].update(iv="00"), EXIT["invalid-input"], "cipherparams.iv"),
            ("mac", lambda d: crypto(d).update(mac="00" * 32), EXIT["mismatch"], "wrong password"),
            ("version", lambda d: d.update(version=1), EXIT["invalid-input"], "version"),
        ]
        for what, change, code, text in cases:
            with self.subTest(what):
                start = time.monotonic()
                ks = self.edited("ethers5-scrypt.json", change)
                r = self.show("--key-file", ks, "--password-file", self.pwfile)
                self.assertEqual(r.returncode, code, r.stderr)
                self.assertIn(text, r.stderr)
                self.assertIn(ks, r.stderr)
                self.assertLess(time.monotonic() - start, 20)

    def test_group_readable_keystore_refused(self):
        ks = self.copy("pbkdf2.json")
        os.chmod(ks, 0o640)
        r = self.show("--key-file", ks, "--password-file", self.pwfile)
        self.assertEqual(r.returncode, EXIT["permission"], r.stderr)


if __name__ == "__main__":
    if not os.access(VIRT_ALEPH, os.X_OK):
        print(f"{VIRT_ALEPH} is not built", file=sys.stderr)
        sys.exit(1)
    unittest.main(argv=[sys.argv[0], "-v"] + sys.argv[2:])
