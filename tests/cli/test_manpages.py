#!/usr/bin/python3
"""The man pages are complete: each has NAME, SYNOPSIS, DESCRIPTION, OPTIONS, FILES,
ENVIRONMENT, EXIT STATUS and EXAMPLES and renders without a groff warning; every option each
binary's --help lists is documented (for virt-aleph: every verb it lists, in that verb's own
subsection, with every option of the verb and of its subcommands); virt-alephd.8 documents every
key of virt-alephd.conf and of the hook's configuration (the tables of lib/ac-keyfile.c);
every exit code of docs/exit-codes.md and every environment variable the programs read is in
the pages; --version prints the project's version.

Run by meson (suite 'cli'):  test_manpages.py BUILDDIR
"""
import os
import re
import subprocess
import unittest

from clitest import BUILD, EXIT, SRC, VIRT_ALEPH

VIRT_ALEPHD = os.path.join(BUILD, "plugin", "daemon", "virt-alephd")
ALEPH_DEVNET = os.path.join(BUILD, "devnet", "aleph-devnet")
PAGES = {
    "virt-aleph": os.path.join(SRC, "docs", "virt-aleph.1"),
    "virt-alephd": os.path.join(SRC, "docs", "virt-alephd.8"),
    "aleph-devnet": os.path.join(SRC, "docs", "aleph-devnet.1"),
}
REQUIRED = ["NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "FILES", "ENVIRONMENT",
            "EXIT STATUS", "EXAMPLES"]
# what virt-aleph's option context adds to every verb: documented once, under OPTIONS
GLOBAL = {"-h", "--help", "-c", "--connect", "--json", "-q", "--quiet", "--debug", "--timeout",
          "--password-file"}


def plain(roff):
    """roff source → searchable text: escapes for '-' and fonts gone, quotes of macros kept."""
    text = roff.replace("\\-", "-").replace("\\(em", "—").replace("\\&", "")
    text = re.sub(r"\\f[BIRP]|\\f\(..|\\fB|\\e", "", text)
    return text


def sections(roff, macro):
    """{title: text} of the .SH (or .SS) sections of roff source."""
    out = {}
    title = None
    for line in roff.splitlines():
        m = re.match(r"^\.%s\s+(.*)$" % macro, line)
        if m:
            title = m.group(1).strip().strip('"')
            out[title] = ""
            continue
        if macro == "SS" and line.startswith(".SH"):
            title = None
        if title is not None:
            out[title] += line + "\n"
    return out


def help_text(argv):
    r = subprocess.run(argv + ["--help"], capture_output=True, text=True, timeout=60,
                       env=dict(os.environ, LC_ALL="C"))
    assert r.returncode == 0, (argv, r.stderr)
    return r.stdout


def options(help_out):
    """the options a GLib --help lists: {'-c', '--connect', …}"""
    opts = set()
    for line in help_out.splitlines():
        m = re.match(r"^\s+(-\S.*?)(?:\s{2,}|$)", line)
        if not m:
            continue
        for alt in m.group(1).split(", "):
            opts.add(alt.split("=")[0])
    return opts


def verbs(help_out):
    m = re.search(r"^Commands:\n(.*?)\n\n", help_out, re.M | re.S)
    return [line.split()[0] for line in m.group(1).splitlines()]


def subcommands(help_out):
    """the subcommand paths a verb's help lists as two-space indented synopses, before its
    options: ['secret build', 'measure', …] (leading lowercase words)"""
    paths = []
    for line in help_out.split("Options:")[0].splitlines():
        if not re.match(r"^  [a-z]", line) or "[OPTION" in line:
            continue
        words = []
        for w in re.split(r"\s{2,}", line.strip())[0].split():
            if not re.match(r"^[a-z][a-z0-9-]*$", w):
                break
            words.append(w)
        paths.append(words)
    return paths


def mentions(text, option):
    return re.search(r"(?<![\w-])%s(?![\w-])" % re.escape(option), text) is not None


class ManPages(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.roff = {}
        for name, path in PAGES.items():
            with open(path, encoding="utf-8") as f:
                cls.roff[name] = f.read()

    def section(self, page, title):
        secs = sections(self.roff[page], "SH")
        self.assertTrue(title in secs, f"{PAGES[page]}: no {title} section")
        return plain(secs[title])

    def test_sections_and_rendering(self):
        for page, path in PAGES.items():
            with self.subTest(page=page):
                found = list(sections(self.roff[page], "SH"))
                for title in REQUIRED:
                    self.assertIn(title, found, f"{path}: no .SH {title}")
                self.assertEqual(self.section(page, "NAME").split()[0], page)
                r = subprocess.run(["groff", "-man", "-Tutf8", "-ww", "-z", path],
                                   capture_output=True, text=True)
                self.assertEqual((r.returncode, r.stderr), (0, ""), path)

    def test_binary_options(self):
        for page, argv in (("virt-alephd", [VIRT_ALEPHD]), ("aleph-devnet", [ALEPH_DEVNET])):
            text = self.section(page, "OPTIONS")
            for opt in sorted(options(help_text(argv))):
                with self.subTest(page=page, option=opt):
                    self.assertTrue(mentions(text, opt), f"{PAGES[page]}: OPTIONS lacks {opt}")

    def test_virt_aleph_verbs_and_their_options(self):
        top = help_text([VIRT_ALEPH])
        opts_text = self.section("virt-aleph", "OPTIONS")
        for opt in sorted(GLOBAL | set(re.findall(r"\[(--[a-z-]+)", top)) | {"-V", "--version"}):
            self.assertTrue(mentions(opts_text, opt), f"virt-aleph.1: OPTIONS lacks {opt}")
        subsections = {k: plain(v) for k, v in sections(self.roff["virt-aleph"], "SS").items()}
        listed = verbs(top)
        self.assertIn("tag", listed)
        for verb in listed:
            with self.subTest(verb=verb):
                title = f"virt-aleph {verb}"
                self.assertTrue(title in subsections, f"virt-aleph.1: no .SS \"{title}\"")
                text = subsections[title]
                verb_help = help_text([VIRT_ALEPH, verb])
                opts = options(verb_help)
                for sub in subcommands(verb_help):
                    self.assertTrue(mentions(text, " ".join(sub)),
                                    f"virt-aleph.1 {title}: subcommand {' '.join(sub)} missing")
                    opts |= options(help_text([VIRT_ALEPH, verb] + sub))
                for opt in sorted(opts - GLOBAL):
                    self.assertTrue(mentions(text, opt), f"virt-aleph.1 {title}: {opt} missing")

    def test_configuration_keys(self):
        with open(os.path.join(SRC, "lib", "ac-keyfile.c")) as f:
            source = f.read()
        text = plain(self.roff["virt-alephd"])
        subs = {k: plain(v) for k, v in sections(self.roff["virt-alephd"], "SS").items()}
        for table in ("ac_service_config_keys", "ac_hook_config_keys"):
            body = re.search(table + r"\[\] = \{(.*?)\n\};", source, re.S).group(1)
            keys = re.findall(r'\{\s*"([a-z-]+)",\s*"([a-z-]+)"', body)
            self.assertGreater(len(keys), 2, table)
            for group, key in keys:
                with self.subTest(table=table, group=group, key=key):
                    title = [t for t in subs if f"[{group}]" in t]
                    self.assertTrue(title, f"virt-alephd.8: no .SS for [{group}]")
                    # a tagged paragraph of its own: .TP, then .B KEY
                    self.assertRegex("".join(subs[t] for t in title),
                                     r"(?m)^\.TP\n\.B %s$" % re.escape(key),
                                     f"virt-alephd.8: [{group}] {key} not documented")
        self.assertIn("virt-alephd.conf", text)

    def test_exit_status(self):
        self.assertIn(130, EXIT.values())
        for page in PAGES:
            text = self.section(page, "EXIT STATUS")
            for name, code in EXIT.items():
                with self.subTest(page=page, code=code):
                    self.assertRegex(text, r"(?m)^\.?(TP\n)?%d\b|^%d\t|\b%d\b" % (code, code, code))

    def test_environment(self):
        found = set()
        for top in ("plugin", "builder", "devnet", "sev"):
            for root, _, files in os.walk(os.path.join(SRC, top)):
                for name in files:
                    if name.endswith(".c"):
                        with open(os.path.join(root, name), encoding="utf-8") as f:
                            src = f.read()
                        found |= set(re.findall(r'getenv \("([A-Z][A-Z0-9_]*)"\)', src))
                        found |= set(re.findall(r'socket_from_env \("([A-Z][A-Z0-9_]*)"', src))
        self.assertIn("VIRT_ALEPH_DEFAULT_URI", found)
        env = "".join(self.section(p, "ENVIRONMENT") for p in PAGES)
        for var in sorted(found):
            with self.subTest(var=var):
                self.assertTrue(mentions(env, var), f"no man page's ENVIRONMENT names {var}")

    def test_version(self):
        with open(os.path.join(SRC, "meson.build")) as f:
            version = re.search(r"version\s*:\s*'([^']+)'", f.read()).group(1)
        for name, argv in (("virt-aleph", VIRT_ALEPH), ("virt-alephd", VIRT_ALEPHD),
                           ("aleph-devnet", ALEPH_DEVNET)):
            for flag in ("--version", "-V"):
                r = subprocess.run([argv, flag], capture_output=True, text=True, timeout=60)
                self.assertEqual((r.returncode, r.stdout), (0, f"{name} {version}\n"), flag)


if __name__ == "__main__":
    import sys
    unittest.main(argv=sys.argv[:1], verbosity=2)
