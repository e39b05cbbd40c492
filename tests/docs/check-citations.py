#!/usr/bin/python3
"""The repository stands on its own: what it cites, it carries.

  check-citations.py SRCDIR

Fails on a citation of documents that are not in the repository (DESIGN.md, the spec files
shared/spec/*.md and their sections), and on a link to docs/*.md (with or without #anchor)
whose file or heading does not exist.
"""
import os
import re
import sys

SRC = os.path.abspath(sys.argv[1])
SELF = os.path.abspath(__file__)
SKIP_DIRS = {".git", "corpus", "node_modules", "subprojects"}
FOREIGN = re.compile(r"DESIGN\.md|\.\./shared/|shared/(?:spec|vectors)|\.\./\.\./spec/|(?<!RFC 6979 )§|"
                     r"\b(?:aleph|sev|snp)-protocol(?:\.md)?\s*§|host-environment\.md")
LINK = re.compile(r"docs/([a-z0-9-]+\.md)(?:#([a-z0-9-]+))?")


def anchors(md):
    """GitHub-style heading anchors of a markdown file"""
    out = set()
    with open(md, encoding="utf-8") as f:
        for line in f:
            m = re.match(r"#+\s+(.*)", line)
            if m:
                a = m.group(1).strip().lower()
                a = re.sub(r"[^\w\- ]", "", a).replace(" ", "-")
                out.add(a)
    return out


failures = []
links = 0
cache = {}
for root, dirs, files in os.walk(SRC):
    dirs[:] = [d for d in dirs if d not in SKIP_DIRS and
               not os.path.exists(os.path.join(root, d, "meson-private"))]
    for name in files:
        path = os.path.join(root, name)
        if os.path.abspath(path) == SELF:
            continue
        try:
            with open(path, encoding="utf-8") as f:
                text = f.read()
        except (UnicodeDecodeError, OSError):
            continue
        rel = os.path.relpath(path, SRC)
        for n, line in enumerate(text.splitlines(), 1):
            if FOREIGN.search(line):
                failures.append(f"{rel}:{n}: cites a document the repository does not carry: {line.strip()}")
            for m in LINK.finditer(line):
                links += 1
                target = os.path.join(SRC, "docs", m.group(1))
                if not os.path.exists(target):
                    failures.append(f"{rel}:{n}: docs/{m.group(1)} does not exist")
                elif m.group(2):
                    if target not in cache:
                        cache[target] = anchors(target)
                    if m.group(2) not in cache[target]:
                        failures.append(f"{rel}:{n}: docs/{m.group(1)} has no heading #{m.group(2)}")
for f in failures:
    print("FAIL: " + f)
if failures:
    sys.exit(1)
print(f"no foreign citation; {links} links into docs/ resolve")
