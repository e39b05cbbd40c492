#!/usr/bin/env python3
"""The layer check (scripts/check-layers.py): the tree keeps its layers, and the check does
catch an include that points up, an unplaced folder and an ambiguous header."""
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

ROOT = os.environ.get("AC_SOURCE_ROOT", os.path.join(os.path.dirname(__file__), "..", ".."))
CHECK = os.path.join(ROOT, "scripts", "check-layers.py")


def run(root):
    p = subprocess.run([sys.executable, CHECK, root], capture_output=True, text=True)
    return p.returncode, p.stdout


class Layers(unittest.TestCase):
    def test_tree_keeps_its_layers(self):
        rc, out = run(ROOT)
        self.assertEqual(rc, 0, out)
        self.assertIn(" 0 layer violations", out)

    def make_tree(self, files):
        d = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, d)
        os.makedirs(os.path.join(d, "docs"))
        shutil.copy(os.path.join(ROOT, "docs", "architecture.md"), os.path.join(d, "docs"))
        for path, text in files.items():
            os.makedirs(os.path.join(d, os.path.dirname(path)), exist_ok=True)
            with open(os.path.join(d, path), "w") as f:
                f.write(text)
        return d

    def test_include_pointing_up_fails(self):
        d = self.make_tree({
            "lib/ac-error.h": "#pragma once\n",
            "plugin/tag/ac-tag.h": "#pragma once\n",
            "sev/ac-sev-x.c": '#include "config.h"\n#include "ac-error.h"\n#include "ac-tag.h"\n',
        })
        rc, out = run(d)
        self.assertEqual(rc, 1)
        self.assertIn('sev/ac-sev-x.c:3: includes "ac-tag.h" of plugin/tag/', out)
        self.assertNotIn("ac-error.h", out)

    def test_include_pointing_down_passes(self):
        d = self.make_tree({
            "lib/ac-error.h": "#pragma once\n",
            "plugin/cli/cli-x.c": '#include "ac-error.h"\n',
        })
        self.assertEqual(run(d)[0], 0)

    def test_unplaced_folder_fails(self):
        d = self.make_tree({"plugin/newthing/ac-new.c": "int x;\n"})
        rc, out = run(d)
        self.assertEqual(rc, 1)
        self.assertIn("plugin/newthing/: not placed", out)

    def test_ambiguous_and_unknown_headers_fail(self):
        d = self.make_tree({
            "lib/ac-dup.h": "",
            "sev/ac-dup.h": "",
            "sev/ac-sev-y.c": '#include "ac-nowhere.h"\n',
        })
        rc, out = run(d)
        self.assertEqual(rc, 1)
        self.assertIn("header name also defined in", out)
        self.assertIn('sev/ac-sev-y.c:1: includes "ac-nowhere.h", which no source folder defines',
                      out)


if __name__ == "__main__":
    unittest.main()
