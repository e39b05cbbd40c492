#!/usr/bin/python3
"""virt-aleph cannot dump core: while it waits for a key on standard input (`account import -`),
its core file size limit is 0 (/proc/PID/limits) and, seen from a non-root observer, its /proc
entries belong to root (the kernel's mark of a non-dumpable process).

Run by meson (suite 'cli'):  test_cli_harden.py BUILDDIR
"""
import os
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.abspath(os.path.join(HERE, "..", ".."))
BUILD = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(SRC, "build"))
VIRT_ALEPH = os.path.join(BUILD, "plugin", "cli", "virt-aleph")


class Harden(unittest.TestCase):
    def test_no_core_while_reading_a_key(self):
        with tempfile.TemporaryDirectory() as tmp:
            env = dict(os.environ, XDG_DATA_HOME=tmp, HOME=tmp)
            proc = subprocess.Popen([VIRT_ALEPH, "account", "import", "-"], stdin=subprocess.PIPE,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
            try:
                line = None
                # the limit is set first thing in main(): give the process time to get there
                for _ in range(100):
                    with open(f"/proc/{proc.pid}/limits") as f:
                        line = [l for l in f.read().splitlines()
                                if l.startswith("Max core file size")][0]
                    if proc.poll() is None and line.split()[4:6] == ["0", "0"]:
                        break
                    time.sleep(0.05)
                self.assertIsNone(proc.poll(), "virt-aleph should wait for the key on stdin")
                # soft and hard limits: children cannot raise them again
                self.assertEqual(line.split()[4:6], ["0", "0"], line)
                if os.geteuid() != 0:
                    self.assertEqual(os.stat(f"/proc/{proc.pid}/environ").st_uid, 0)
            finally:
                proc.stdin.close()
                proc.kill()
                proc.wait()


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1], verbosity=2)
