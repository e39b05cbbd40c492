#!/usr/bin/env python3
"""The layers, enforced: no source file includes a header of a layer above its own.

The rule is the table "What may include what" of docs/architecture.md: one row per folder,
listing the folders whose headers it may include. Every quoted #include of every .c and .h
under the listed folders is resolved to the folder that holds the header; an include the row
does not allow fails, as does a source folder the table does not place, a header that two
folders define (the include would be ambiguous), or a quoted header nobody defines.
tests/ and bench/ may include anything.

usage: check-layers.py [SOURCE_ROOT]
"""
import os
import re
import sys

TOP_FOLDERS = ("lib", "sev", "builder", "plugin", "hooks", "devnet")
GENERATED = {"config.h"}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')


def read_table(root):
    path = os.path.join(root, "docs", "architecture.md")
    text = open(path, encoding="utf-8").read()
    m = re.search(r"^### What may include what\n(.*?)(?=^#)", text, re.S | re.M)
    if m is None:
        sys.exit(f"{path}: no section '### What may include what'")
    table = {}
    for line in m.group(1).splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 2 or not cells[0].startswith("`"):
            continue
        folder = cells[0].strip("`")
        allowed = set(re.findall(r"`([^`]+)`", cells[1]))
        table[folder] = allowed
    if not table:
        sys.exit(f"{path}: the table of '### What may include what' has no rows")
    return table


def source_files(root):
    for top in TOP_FOLDERS:
        for dirpath, dirnames, filenames in os.walk(os.path.join(root, top)):
            dirnames[:] = sorted(d for d in dirnames if d != "data")
            for name in sorted(filenames):
                if name.endswith((".c", ".h")):
                    yield os.path.relpath(os.path.join(dirpath, name), root)


def main():
    root = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else ".")
    table = read_table(root)
    files = list(source_files(root))
    owner = {}
    problems = []
    for f in files:
        if f.endswith(".h"):
            name, folder = os.path.basename(f), os.path.dirname(f)
            if name in owner and owner[name] != folder:
                problems.append(f"{f}: header name also defined in {owner[name]}/")
            owner.setdefault(name, folder)
    for folder in sorted({os.path.dirname(f) for f in files}):
        if folder not in table:
            problems.append(f"{folder}/: not placed in docs/architecture.md's table "
                            "'What may include what'")
    for f in files:
        folder = os.path.dirname(f)
        allowed = table.get(folder, set()) | {folder}
        with open(os.path.join(root, f), encoding="utf-8", errors="replace") as fp:
            for lineno, line in enumerate(fp, 1):
                m = INCLUDE.match(line)
                if m is None:
                    continue
                name = os.path.basename(m.group(1))
                if name in GENERATED:
                    continue
                target = owner.get(name)
                if target is None:
                    problems.append(f"{f}:{lineno}: includes \"{m.group(1)}\", which no "
                                    "source folder defines")
                elif target not in allowed:
                    problems.append(f"{f}:{lineno}: includes \"{m.group(1)}\" of {target}/, "
                                    f"a layer {folder}/ may not use (allowed: "
                                    f"{', '.join(sorted(allowed - {folder})) or 'none'})")
    for p in problems:
        print(p)
    print(f"{len(files)} files, {len(problems)} layer violations")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
