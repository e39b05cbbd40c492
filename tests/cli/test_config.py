#!/usr/bin/python3
"""Configuration files are copy-paste safe and strict.

- Every ```ini block of README.md and docs/*.md, and the installed samples
  (virt-alephd.conf.example, aleph-confidential.conf.example: as they are and with every
  commented-out key enabled), parse with the project's own loaders: virt-alephd --check-config
  (the [daemon], [pipeline] and [localsev] loaders) and virt-aleph doctor (the pipeline's and
  the hook's loaders).
- A configuration error is an error: an unknown group or key, a malformed value, a value with a
  stray '#' (a key file keeps an inline "# comment" as part of the value) make virt-alephd
  refuse to start with the invalid-input exit code and a message naming the file, the group/key
  and what is accepted; virt-aleph doctor reports it as a failed check. (The hook's refusals:
  tests/hooks/test-hook.c.)

Run by meson (suite 'cli'):  test_config.py BUILDDIR
"""
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

from clitest import BUILD, EXIT, HERE, SRC, VIRT_ALEPH  # noqa: E402,F401
VIRT_ALEPHD = os.path.join(BUILD, "plugin", "daemon", "virt-alephd")
EXAMPLES = [os.path.join(BUILD, "plugin", "daemon", "virt-alephd.conf.example"),
            os.path.join(BUILD, "hooks", "aleph-confidential.conf.example")]
URI = "test:///default"



def ini_blocks():
    """[(where, text)] for every ```ini block of README.md and docs/*.md."""
    blocks = []
    for path in [os.path.join(SRC, "README.md")] + sorted(glob.glob(os.path.join(SRC, "docs", "*.md"))):
        with open(path) as f:
            lines = f.read().split("\n")
        i = 0
        while i < len(lines):
            if lines[i].strip() == "```ini":
                start = i + 1
                j = start
                while j < len(lines) and lines[j].strip() != "```":
                    j += 1
                blocks.append((f"{os.path.relpath(path, SRC)}:{start}", "\n".join(lines[start:j]) + "\n"))
                i = j
            i += 1
    return blocks


def groups(text):
    return set(re.findall(r"^\[([^\]]+)\]", text, re.M))


def uncommented(text):
    """The sample with every commented-out key=value line enabled."""
    return re.sub(r"^#([a-z-]+=)", r"\1", text, flags=re.M)


class ConfigTest(unittest.TestCase):
    n = 0

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="ac-config-")
        cls.env = dict(os.environ)
        for var in ("VIRT_ALEPH_DEFAULT_URI", "LIBVIRT_DEFAULT_URI", "G_MESSAGES_DEBUG",
                    "ALEPH_CONFIDENTIAL_HOOK_CONF"):
            cls.env.pop(var, None)
        cls.env["HOME"] = cls.dir

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def write(self, text):
        ConfigTest.n += 1
        path = os.path.join(self.dir, f"conf-{self.n}.conf")
        with open(path, "w") as f:
            f.write(text)
        return path

    def check_config(self, path):
        return subprocess.run([VIRT_ALEPHD, "--connect", URI, "--config", path, "--check-config"],
                              capture_output=True, text=True, env=self.env, timeout=30)

    def doctor(self, service_conf, hook_conf=None):
        """{check: (result, detail)} and the exit code of virt-aleph doctor --json."""
        env = dict(self.env)
        if hook_conf is not None:
            env["ALEPH_CONFIDENTIAL_HOOK_CONF"] = hook_conf
        r = subprocess.run([VIRT_ALEPH, "--connect", URI, "--json", "doctor", "--no-probe",
                            "--config", service_conf], capture_output=True, text=True, env=env, timeout=60)
        doc = json.loads(r.stdout)
        checks = doc if isinstance(doc, list) else doc["checks"]
        return {c["check"]: (c["result"], c["detail"]) for c in checks}, r.returncode

    def assert_service_conf_valid(self, where, path):
        r = self.check_config(path)
        self.assertEqual(r.returncode, 0, f"{where}: {r.stderr}")
        checks, _ = self.doctor(path)
        self.assertEqual(checks["config"][0], "ok", f"{where}: {checks['config']}")

    def assert_hook_conf_valid(self, where, path):
        checks, _ = self.doctor(os.path.join(self.dir, "none.conf"), hook_conf=path)
        self.assertIn("hook-config", checks)
        self.assertNotEqual(checks["hook-config"][0], "failed", f"{where}: {checks['hook-config']}")


class TestSamples(ConfigTest):
    def check_sample(self, where, text):
        g = groups(text)
        self.assertTrue(g, f"{where}: no group")
        path = self.write(text)
        if g == {"hook"}:
            self.assert_hook_conf_valid(where, path)
        else:
            self.assertFalse("hook" in g, f"{where}: [hook] belongs in the hook's own file")
            self.assert_service_conf_valid(where, path)

    def test_doc_blocks(self):
        blocks = ini_blocks()
        self.assertGreaterEqual(len(blocks), 2)
        for where, text in blocks:
            with self.subTest(block=where):
                self.check_sample(where, text)

    def test_installed_examples(self):
        for path in EXAMPLES:
            with open(path) as f:
                text = f.read()
            for variant, body in (("as installed", text), ("every key enabled", uncommented(text))):
                with self.subTest(example=os.path.basename(path), variant=variant):
                    self.check_sample(f"{path} ({variant})", body)
            self.assertNotEqual(text, uncommented(text), f"{path}: no commented-out key")


class TestStrict(ConfigTest):
    # (file, what the message names)
    BAD = [
        ("[daemon]\nconnect=qemu:///system   # any libvirt URI\n",
         "[daemon] connect='qemu:///system   # any libvirt URI': a '#' is not a comment after a value"),
        ("[localsev]\npool=images # optional\n", "[localsev] pool='images # optional'"),
        ("[daemon]\nconect=qemu:///system\n",
         "[daemon] unknown key 'conect'; expected one of connect, monitor-interval"),
        ("[pipeline]\nstore-payment=hold\n", "[pipeline] unknown key 'store-payment'; expected one of state-dir"),
        ("[deamon]\nconnect=qemu:///system\n",
         "unknown group [deamon]; expected [daemon], [pipeline], [localsev]"),
        ("[daemon]\nmonitor-interval=30s\n", "[daemon] monitor-interval='30s': expected seconds > 0"),
        ("[pipeline]\npoll-first-ms=0\n", "[pipeline] poll-first-ms='0': expected milliseconds > 0"),
        ("[pipeline]\nmin-api=soon\n", "[pipeline] min-api='soon': expected MAJOR.MINOR"),
        # a fleet: one name or one URI twice is refused, naming both
        ("[host a]\nconnect=test:///x\n[host b]\nconnect=test:///x\n",
         "[host a] and [host b] both connect to test:///x: expected each host once"),
        ("[host localhost]\nconnect=test:///x\n",
         "[host localhost] (test:///x) and --connect (test:///default) are both named 'localhost'"),
        ("[host ../etc]\nconnect=test:///x\n", "[host ../etc]: expected a host name of letters"),
    ]

    def test_virt_alephd_refuses(self):
        for text, message in self.BAD:
            with self.subTest(conf=text):
                path = self.write(text)
                for extra in (["--check-config"], ["--foreground"]):
                    r = subprocess.run([VIRT_ALEPHD, "--connect", URI, "--config", path] + extra,
                                       capture_output=True, text=True, env=self.env, timeout=30)
                    self.assertEqual(r.returncode, EXIT["invalid-input"], r.stderr)
                    self.assertIn(path, r.stderr)
                    self.assertIn(message, r.stderr)

    def test_doctor_reports(self):
        for text, message in self.BAD:
            with self.subTest(conf=text):
                checks, rc = self.doctor(self.write(text))
                self.assertEqual(checks["config"][0], "failed")
                self.assertIn(message, checks["config"][1])
                self.assertEqual(rc, EXIT["invalid-input"])
                # the other checks still ran
                self.assertIn("libvirt", checks)
        # the hook's file too
        checks, rc = self.doctor(os.path.join(self.dir, "none.conf"),
                                 hook_conf=self.write("[hook]\nhost-sev=no # not here\n"))
        self.assertEqual(checks["hook-config"][0], "failed")
        self.assertIn("[hook] host-sev='no # not here'", checks["hook-config"][1])
        self.assertEqual(rc, EXIT["invalid-input"])

    def test_doctor_absent_config(self):
        checks, _ = self.doctor(os.path.join(self.dir, "none.conf"))
        self.assertEqual(checks["config"], ("ok", os.path.join(self.dir, "none.conf") + " (absent: the defaults)"))

    def test_valid_minimal(self):
        path = self.write("# comments on their own lines\n[daemon]\n# the URI\nconnect=qemu:///system\n")
        r = self.check_config(path)
        self.assertEqual(r.returncode, 0, r.stderr)


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0], "-v"])
